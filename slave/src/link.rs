//! The replication link: a tokio task that holds the node's storage while
//! it follows a master. It connects, sends SYNC140 with what the storage
//! holds (seq, breakpoint, history), applies the stream through the
//! storage's commit step, acknowledges, and reconnects with backoff after
//! any error or a read timeout. Cancelled, it hands the storage back.

use std::time::{Duration, Instant};

use bytes::Bytes;
use rocksync_master::{sys, Batch, Connection, History, LinkCtx, ReadError, Sealed, Storage};
use rocksync_protocol::{
    put_command, Command, EventCodec, EventType, LogEvent, ReplAck, Reply, ReplyDecoder,
    SyncAnswer, SyncDecision, SyncRequest,
};
use std::sync::atomic::Ordering;
use tokio::net::TcpStream;
use tokio_util::sync::CancellationToken;
use tracing::{info, info_span, warn, Instrument};

mod redis;

/// Why a link session ended.
#[derive(Debug, thiserror::Error)]
pub enum LinkError {
    /// The master's address does not resolve or connect.
    #[error("connecting to {addr}: {source}")]
    Connect {
        /// The address.
        addr: String,
        /// The cause.
        source: std::io::Error,
    },
    /// Reading or writing the socket failed.
    #[error("{what}: {source}")]
    Io {
        /// What was being done.
        what: &'static str,
        /// The cause.
        source: std::io::Error,
    },
    /// The master answered with an error (AUTH or SYNC140 refused).
    #[error("the master refused {what}: {reply}")]
    Refused {
        /// The command refused.
        what: &'static str,
        /// The master's error.
        reply: String,
    },
    /// Nothing came from the master for too long.
    #[error("nothing received from the master for {0} ms")]
    Silent(u64),
    /// The master closed the connection.
    #[error("the master closed the connection")]
    Closed,
    /// The master sent bytes that are not what the protocol allows.
    #[error("bad stream from the master: {0}")]
    Protocol(String),
    /// The link was stopped mid-write.
    #[error("stopped")]
    Cancelled,
    /// Applying or recording what was received failed.
    #[error("storage: {0}")]
    Storage(#[from] rocksync_master::Error),
}

type LinkResult<T> = std::result::Result<T, LinkError>;

/// How often a quiet link checks its timeout.
const LINK_POLL: Duration = Duration::from_millis(200);
/// Commit RAW pairs every this many bytes.
const COPY_BATCH_BYTES: usize = 4 << 20;
/// Acknowledge at least this often while data flows.
const ACK_EVERY: Duration = Duration::from_millis(500);
/// While more of the stream is already waiting on the socket (catching
/// up), read it into the same commit, up to this many events or this long:
/// one RocksDB write and binlog append for many reads, and a memtable
/// insert whose sorted neighbours are close.
const ROUND_EVENTS: usize = 16 * 1024;
const ROUND_TIME: Duration = Duration::from_millis(10);

/// Run the link until `cancel`; hands the storage back.
pub(crate) fn spawn(
    storage: Storage,
    master_addr: String,
    ctx: LinkCtx,
    cancel: CancellationToken,
) -> tokio::task::JoinHandle<Storage> {
    let span = info_span!("link", master = %master_addr);
    tokio::spawn(
        async move {
            let mut link = Link {
                storage,
                master_addr,
                ctx,
                last_copy_flush: Instant::now(),
                redis_master: false,
            };
            link.ctx.state().set_redis_offset(None);
            link.run(&cancel).await;
            link.storage
        }
        .instrument(span),
    )
}

struct Link {
    storage: Storage,
    master_addr: String,
    ctx: LinkCtx,
    last_copy_flush: Instant,
    /// The master is a Redis server (it answered SYNC140 as an unknown
    /// command): the link speaks Redis's replication protocol to it.
    redis_master: bool,
}

/// Run blocking storage work without stalling the runtime's other tasks.
fn blocking<T>(f: impl FnOnce() -> T) -> T {
    tokio::task::block_in_place(f)
}

impl Link {
    async fn run(&mut self, cancel: &CancellationToken) {
        let mut backoff = Duration::from_millis(100);
        while !cancel.is_cancelled() {
            let started = Instant::now();
            match self.session(cancel).await {
                Ok(()) | Err(LinkError::Cancelled) => {}
                Err(e) => {
                    warn!(error = %e, "replication link down");
                    self.ctx.state().set_last_error(e.to_string());
                }
            }
            self.ctx.state().set_up(false);
            if started.elapsed() > Duration::from_secs(5) {
                backoff = Duration::from_millis(100);
            }
            tokio::select! {
                _ = tokio::time::sleep(backoff) => {}
                _ = cancel.cancelled() => break,
            }
            backoff = (backoff * 2).min(Duration::from_secs(5));
        }
    }

    /// One connection, until it fails or the link is cancelled.
    async fn session(&mut self, cancel: &CancellationToken) -> LinkResult<()> {
        let cfg = self.ctx.config();
        let connect = tokio::time::timeout(
            Duration::from_secs(5),
            TcpStream::connect(self.master_addr.as_str()),
        );
        let stream = tokio::select! {
            r = connect => match r {
                Ok(Ok(s)) => s,
                Ok(Err(source)) => return Err(LinkError::Connect { addr: self.master_addr.clone(), source }),
                Err(_) => return Err(LinkError::Connect {
                    addr: self.master_addr.clone(),
                    source: std::io::Error::new(std::io::ErrorKind::TimedOut, "no answer within 5 s"),
                }),
            },
            _ = cancel.cancelled() => return Ok(()),
        };
        let _ = stream.set_nodelay(true);
        let mut conn = if cfg.tls_replication {
            let handshake = rocksync_master::tls_client_connection(
                &cfg,
                stream,
                &self.master_addr,
                Duration::from_secs(10),
            );
            tokio::select! {
                r = handshake => r.map_err(|e| LinkError::Connect {
                    addr: self.master_addr.clone(),
                    source: std::io::Error::other(e),
                })?,
                _ = cancel.cancelled() => return Ok(()),
            }
        } else {
            Connection::new(stream)
        };
        if !cfg.masterauth.is_empty() {
            // As the `masteruser` when one is named (an ACL user the
            // master lets run SYNC140), else the default user.
            if cfg.masteruser.is_empty() {
                put_command(conn.out(), &[&b"AUTH"[..], cfg.masterauth.as_bytes()]);
            } else {
                put_command(
                    conn.out(),
                    &[
                        &b"AUTH"[..],
                        cfg.masteruser.as_bytes(),
                        cfg.masterauth.as_bytes(),
                    ],
                );
            }
            write(&mut conn, "sending AUTH", cancel).await?;
            if let Reply::Error(reply) = read_reply(&mut conn, cancel).await? {
                return Err(LinkError::Refused {
                    what: "AUTH",
                    reply,
                });
            }
        }
        if self.redis_master {
            return self.follow_redis(&mut conn, cancel).await;
        }
        let history = self.storage.history()?;
        let state = self.ctx.state();
        state
            .last_seq
            .store(self.storage.last_seq(), Ordering::Relaxed);
        // Where the master and Sentinel should reach this node, when not
        // where it connects from (NAT, containers).
        let listening_port = match cfg.replica_announce_port {
            0 => self.ctx.listening_port(),
            port => port,
        };
        let req = SyncRequest {
            last_seq: self.storage.last_seq(),
            last_key: state.last_key(),
            listening_port,
            replid: Some(history.replid.clone()),
            node_id: Some(self.storage.node_id()?),
            announce_ip: Some(cfg.replica_announce_ip.clone()).filter(|ip| !ip.is_empty()),
        };
        put_command(conn.out(), &req.to_args());
        write(&mut conn, "sending SYNC140", cancel).await?;
        let reply = read_reply(&mut conn, cancel).await?;
        if cancel.is_cancelled() {
            return Ok(());
        }
        if matches!(&reply, Reply::Error(e) if e.starts_with("ERR unknown command")) {
            info!("the master is a Redis server: following it with PSYNC");
            self.redis_master = true;
            return self.follow_redis(&mut conn, cancel).await;
        }
        let answer = SyncAnswer::from_reply(&reply).map_err(|e| LinkError::Refused {
            what: "SYNC140",
            reply: e.to_string(),
        })?;
        info!(decision = ?answer.decision, master_seq = answer.seq, last_seq = req.last_seq, replid = %history.replid, master_replid = %answer.replid, "following");
        let (counter, key) = match answer.decision {
            SyncDecision::Resume => (&state.binlog_resumes, sys::BINLOG_RESUMES),
            SyncDecision::CopyRecover => (&state.copy_resumes, sys::COPY_RESUMES),
            SyncDecision::FullCopy => (&state.full_copies, &b""[..]),
        };
        if !key.is_empty() {
            let n = counter.fetch_add(1, Ordering::Relaxed) + 1;
            self.storage.save_counter(key, n)?;
        }
        state.set_decision(format!(
            "{:?} at seq {} from {}",
            answer.decision, req.last_seq, self.master_addr
        ));
        if answer.decision == SyncDecision::Resume && answer.replid != history.replid {
            // The master went on in a new history that continues ours (it
            // was promoted, or its master was): ours becomes replid2.
            let h = blocking(|| self.storage.shift_history(&answer.replid))?;
            self.ctx.history_changed(h);
        }
        // Not in sync until the copy the master decided has ended (a
        // fresh slave of an empty master has the master's seq already).
        state
            .copy_due
            .store(answer.decision == SyncDecision::FullCopy, Ordering::Relaxed);
        state.set_up(true);
        self.stream(&mut conn, &answer.replid, cancel).await
    }

    /// Apply the event stream.
    async fn stream(
        &mut self,
        conn: &mut Connection,
        master_replid: &str,
        cancel: &CancellationToken,
    ) -> LinkResult<()> {
        let state = std::sync::Arc::clone(self.ctx.state());
        let timeout_ms = self.ctx.config().slave_timeout * 1000;
        let mut codec = EventCodec::default();
        let mut copy = Batch::new();
        let mut copy_bytes = 0usize;
        let mut copy_last: Option<Bytes> = None;
        let mut pending: Vec<LogEvent> = Vec::new();
        let mut last_ack = Instant::now();
        let mut ack_now = false;
        let mut round_start: Option<Instant> = None;
        // A round applied but not committed: it commits while the next
        // round applies (over it).
        let mut held: Option<Held> = None;
        // Why the stream ended, kept until what was received before it is
        // committed: a master that sends its last events and closes must
        // not lose them.
        let mut ended: Option<LinkError> = None;
        loop {
            loop {
                let event = match conn.reader.frame(&mut codec) {
                    Ok(Some(event)) => event,
                    Ok(None) => break,
                    Err(e) => {
                        ended = Some(LinkError::Protocol(e.to_string()));
                        break;
                    }
                };
                if event.kind == EventType::Copy {
                    self.commit_held(&mut held)?;
                }
                match (event.kind, event.cmd) {
                    (EventType::Copy, Command::Begin) => {
                        pending.clear();
                        copy = Batch::new();
                        copy_bytes = 0;
                        copy_last = None;
                        self.begin_copy(event.seq)?;
                    }
                    (EventType::Copy, Command::Raw) => {
                        copy_bytes +=
                            self.storage
                                .stage_raw(&mut copy, &event.key, &event.value)?;
                        copy_last = Some(event.key.clone());
                        if copy_bytes >= COPY_BATCH_BYTES {
                            self.commit_copy(std::mem::take(&mut copy), copy_last.take())?;
                            copy_bytes = 0;
                        }
                    }
                    (EventType::Copy, Command::End) => {
                        self.commit_copy(std::mem::take(&mut copy), copy_last.take())?;
                        copy_bytes = 0;
                        self.end_copy(event.seq, master_replid)?;
                        ack_now = true;
                    }
                    (EventType::Noop, _) => ack_now = true,
                    (_, cmd) if cmd.is_data() => pending.push(event),
                    _ => {}
                }
            }
            // What tokio already knows to be readable joins this round;
            // the round ends at the first read that would wait. Acks wait
            // for the round's commit (at most ROUND_TIME plus the commit).
            let round = *round_start.get_or_insert_with(Instant::now);
            // A round cut short by its limits has more right behind it.
            let mut full = ended.is_none();
            if ended.is_none() && pending.len() < ROUND_EVENTS && round.elapsed() < ROUND_TIME {
                match conn.reader.try_fill(64 * 1024) {
                    Ok(Some(false)) => ended = Some(LinkError::Closed),
                    Ok(Some(true)) => {
                        state.touch();
                        continue;
                    }
                    Ok(None) => full = false,
                    Err(source) => {
                        ended = Some(LinkError::Io {
                            what: "reading from the master",
                            source,
                        })
                    }
                }
            }
            round_start = None;
            if copy_last.is_some() {
                self.commit_copy(std::mem::take(&mut copy), copy_last.take())?;
                copy_bytes = 0;
            }
            // Commit every whole command received: a command's events end
            // with one whose `more` is false; the rest waits for its end.
            let mut applied = false;
            if let Some(end) = pending.iter().rposition(|e| !e.more) {
                let rest = pending.split_off(end + 1);
                let round = std::mem::replace(&mut pending, rest);
                match blocking(|| pipeline(&mut self.storage, &mut held, round, full)) {
                    Ok(Some(last)) => {
                        state.last_seq.store(last, Ordering::Relaxed);
                        ack_now = true;
                    }
                    Ok(None) => {}
                    Err(e) => {
                        // The round below may have committed before this
                        // one failed to apply.
                        state
                            .last_seq
                            .store(self.storage.last_seq(), Ordering::Relaxed);
                        return Err(e);
                    }
                }
                applied = true;
            }
            if held.is_some() && (!full || !applied) {
                // Nothing more came behind it after all, or what came is
                // no whole command yet: it commits now, and the loop waits
                // for the socket below.
                self.commit_held(&mut held)?;
                ack_now = true;
            }
            if let Some(e) = ended {
                self.commit_held(&mut held)?;
                return Err(e);
            }
            if ack_now || last_ack.elapsed() >= ACK_EVERY {
                let seq = state.last_seq.load(Ordering::Relaxed);
                put_command(conn.out(), &ReplAck { seq }.to_args());
                if let Err(e) = write(conn, "sending an ack", cancel).await {
                    // What was received whole is kept, as at the stream's end.
                    self.commit_held(&mut held)?;
                    return Err(e);
                }
                last_ack = Instant::now();
                ack_now = false;
            }
            if held.is_some() {
                // The next round is already on its way: read it at once.
                continue;
            }
            if !wait_for_master(conn, &state, timeout_ms, "reading from the master", cancel).await?
            {
                return Ok(());
            }
        }
    }

    /// Commit the round held back, if any (before a copy changes the
    /// storage, or when the stream ends).
    fn commit_held(&mut self, held: &mut Option<Held>) -> LinkResult<()> {
        if let Some(h) = held.take() {
            blocking(|| self.storage.commit_sealed(h.batch, &h.events))?;
            self.ctx.state().last_seq.store(h.last, Ordering::Relaxed);
        }
        Ok(())
    }

    /// COPY/BEGIN: refuse new sessions (loading), end those this node
    /// serves, then wipe.
    fn begin_copy(&mut self, seq: u64) -> LinkResult<()> {
        let state = self.ctx.state();
        state.copying.store(true, Ordering::Relaxed);
        state.copy_due.store(false, Ordering::Relaxed);
        self.ctx.copy_begins();
        let n = state.full_copies.load(Ordering::Relaxed) + 1;
        blocking(|| self.storage.begin_copy(n))?;
        state.full_copies.store(n, Ordering::Relaxed);
        state.last_seq.store(0, Ordering::Relaxed);
        state.set_last_key(Bytes::new());
        self.last_copy_flush = Instant::now();
        info!(snapshot_seq = seq, "full copy begins: local data wiped");
        Ok(())
    }

    /// RAW pairs, with the last key, in one batch.
    fn commit_copy(&mut self, b: Batch, last: Option<Bytes>) -> LinkResult<()> {
        let Some(last) = last else { return Ok(()) };
        blocking(|| -> LinkResult<()> {
            self.storage.commit_copy(b, &last)?;
            // Copied pairs are in no binlog: a flush (atomic over the
            // column families) at most every second makes them durable
            // with their last key, the breakpoint a restart resumes from.
            if self.last_copy_flush.elapsed() >= Duration::from_secs(1) {
                self.storage.store().flush()?;
                self.last_copy_flush = Instant::now();
            }
            Ok(())
        })?;
        self.ctx.state().set_last_key(last);
        Ok(())
    }

    /// COPY/END(S): in sync at S, in the master's history.
    fn end_copy(&mut self, seq: u64, master_replid: &str) -> LinkResult<()> {
        blocking(|| self.storage.end_copy(seq, master_replid))?;
        self.ctx.history_changed(History {
            replid: master_replid.to_owned(),
            previous: None,
        });
        let state = self.ctx.state();
        state.set_last_key(Bytes::new());
        state.last_seq.store(seq, Ordering::Relaxed);
        state.copying.store(false, Ordering::Relaxed);
        info!(seq, "full copy complete: in sync");
        Ok(())
    }
}

/// A round of whole commands applied to a batch, not yet committed.
struct Held {
    batch: Sealed,
    events: Vec<LogEvent>,
    /// Its last seq.
    last: u64,
}

/// Apply `round` (whole commands) while the round `held` back before it
/// commits on a thread of its own: a catching-up slave's RocksDB write
/// and binlog append overlap the next round's reads and batch building.
/// `more`: another round is right behind this one, so it is held back in
/// turn; otherwise it commits here. Returns the last seq committed, if
/// any.
fn pipeline(
    storage: &mut Storage,
    held: &mut Option<Held>,
    round: Vec<LogEvent>,
    more: bool,
) -> LinkResult<Option<u64>> {
    let Some(last) = round.last().map(|e| e.seq) else {
        return Ok(None);
    };
    let store = std::sync::Arc::clone(storage.store());
    let below = held.take();
    let layer = below.as_ref().map(|h| h.batch.layer());
    let (committed, applied) = std::thread::scope(|s| {
        let commit = match below {
            Some(h) => {
                let storage = &mut *storage;
                Some(s.spawn(move || storage.commit_sealed(h.batch, &h.events).map(|()| h.last)))
            }
            None => None,
        };
        let applied = Storage::apply_events(&store, layer, &round);
        let committed = commit.map(|t| t.join().unwrap_or_else(|p| std::panic::resume_unwind(p)));
        (committed, applied)
    });
    let mut done = committed.transpose()?;
    let batch = applied?;
    if more {
        *held = Some(Held {
            batch,
            events: round,
            last,
        });
    } else {
        storage.commit_sealed(batch, &round)?;
        done = Some(last);
    }
    Ok(done)
}

/// Wait for more from the master, at most [`LINK_POLL`]: false when the
/// link is cancelled.
///
/// # Errors
/// The master closed the connection, the read failed (`what` was being
/// read), or nothing came for `timeout_ms`.
async fn wait_for_master(
    conn: &mut Connection,
    state: &rocksync_master::LinkState,
    timeout_ms: u64,
    what: &'static str,
    cancel: &CancellationToken,
) -> LinkResult<bool> {
    tokio::select! {
        r = conn.reader.fill() => match r {
            Ok(false) => Err(LinkError::Closed),
            Ok(true) => {
                state.touch();
                Ok(true)
            }
            Err(source) => Err(LinkError::Io { what, source }),
        },
        _ = tokio::time::sleep(LINK_POLL) => {
            let silent = state.silent_ms();
            if silent > timeout_ms {
                return Err(LinkError::Silent(silent));
            }
            Ok(true)
        }
        _ = cancel.cancelled() => Ok(false),
    }
}

/// Send the connection's output within 30 s; a cancel ends the wait (as
/// an error: the session is over either way).
async fn write(
    conn: &mut Connection,
    what: &'static str,
    cancel: &CancellationToken,
) -> LinkResult<()> {
    tokio::select! {
        r = conn.writer.flush_within(Duration::from_secs(30)) => {
            r.map_err(|source| LinkError::Io { what, source })
        }
        _ = cancel.cancelled() => Err(LinkError::Cancelled),
    }
}

/// Read one RESP reply (the handshake's answers), within 30 s.
async fn read_reply(conn: &mut Connection, cancel: &CancellationToken) -> LinkResult<Reply> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    let mut replies = ReplyDecoder;
    tokio::select! {
        r = conn.next(&mut replies) => r.map_err(|e| match e {
            ReadError::Closed => LinkError::Closed,
            ReadError::Io(source) => LinkError::Io { what: "reading the master's answer", source },
            ReadError::Decode(e) => LinkError::Protocol(e.to_string()),
        }),
        _ = tokio::time::sleep_until(deadline) => Err(LinkError::Silent(30_000)),
        _ = cancel.cancelled() => Ok(Reply::Nil),
    }
}
