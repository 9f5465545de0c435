//! The master's sync sessions (SPEC §5): one task per slave, started by
//! `SYNC140` on a client connection. The session decides how to start
//! (resume, full copy, copy recover), copies a checkpoint when it must
//! (throttled, resumable from its breakpoint), then streams the binlog,
//! woken by each append: the newest events from the [`Feed`] that every
//! session shares, older ones read by the session itself. Slaves
//! acknowledge with `REPLCONF ACK <seq>`.

use std::fmt::Write as _;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, AtomicU8, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use rocksync_binlog::{Binlog, BinlogReader};
use rocksync_protocol::{
    EventCodec, LogEvent, ReplAck, Reply, RequestDecoder, RespLimits, SyncAnswer, SyncDecision,
    SyncRequest,
};
use rocksync_snapshot::Snapshots;
use tokio_util::codec::Encoder;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::{info, info_span, warn, Instrument};

use crate::clock::mono_ms as now_ms;
use crate::conn::{Connection, FrameReader, FrameWriter};
use crate::feed::{Feed, Got};
use crate::lock;
use crate::role::{NodeView, LOADING_ERR};
pub use crate::slaves::{SlaveInfo, SlaveState, Slaves, SyncCounters};

mod copy;
use crate::storage::History;
use crate::store::Store;

/// The master's replication side.
pub struct Replication {
    store: Arc<Store>,
    binlog: Binlog,
    /// Full-copy snapshots.
    pub snapshots: Snapshots,
    history: Mutex<History>,
    last_decision: Mutex<String>,
    /// The sessions, and what their acks guarantee.
    pub slaves: Arc<Slaves>,
    /// Counters.
    pub counters: SyncCounters,
    cancel: CancellationToken,
    tracker: TaskTracker,
    /// The binlog's newest events, framed once for every session.
    feed: Arc<Feed>,
    /// Events before this seq are given up to the binlog budget (about to
    /// be purged): no session resumes before it.
    resume_floor: AtomicU64,
    /// Slaves (by key) dropped over the replica output limit: their next
    /// session is a full copy, as Redis's replica resyncs.
    full_copy_next: Mutex<std::collections::HashSet<String>>,
}

/// Binlog streaming sends when this much is pending.
const STREAM_BYTES: usize = 256 * 1024;

enum SessionEnd {
    /// Connection closed, replaced, timed out or shut down.
    Gone(String),
    /// The binlog could not be read: copy again.
    OutOfSync(String),
}

impl Replication {
    /// The replication side of a master.
    pub fn new(
        store: Arc<Store>,
        binlog: Binlog,
        snapshots: Snapshots,
        history: History,
        slaves: Arc<Slaves>,
    ) -> Arc<Self> {
        let cancel = CancellationToken::new();
        let tracker = TaskTracker::new();
        Arc::new(Self {
            store,
            feed: Feed::new(binlog.clone(), tracker.clone(), cancel.clone()),
            binlog,
            snapshots,
            history: Mutex::new(history),
            last_decision: Mutex::new(String::new()),
            slaves,
            counters: SyncCounters::default(),
            cancel,
            tracker,
            resume_floor: AtomicU64::new(0),
            full_copy_next: Mutex::default(),
        })
    }

    /// The history this node's data and binlog belong to.
    pub fn replid(&self) -> String {
        lock(&self.history).replid.clone()
    }

    /// The history, with the one this node left (replid2).
    pub fn history(&self) -> History {
        lock(&self.history).clone()
    }

    /// Serve another history (after a promotion, a full copy, or a master
    /// that moved to a new one).
    pub fn set_history(&self, h: History) {
        // (the floor named seqs of the history before)
        self.resume_floor.store(0, Ordering::Relaxed);
        *lock(&self.history) = h;
    }

    /// The slave `key`'s next session is a full copy (it was dropped over
    /// the replica output limit: resuming, it would hold as much again).
    pub(crate) fn full_copy_next(&self, key: &str) {
        lock(&self.full_copy_next).insert(key.to_owned());
    }

    /// Events before `seq` are given up to the binlog budget: no session
    /// resumes before it.
    pub(crate) fn give_up_before(&self, seq: u64) {
        self.resume_floor.fetch_max(seq, Ordering::Relaxed);
    }

    /// The last start decision, with the slave and the reason.
    pub fn last_decision(&self) -> String {
        lock(&self.last_decision).clone()
    }

    /// End every session this node serves (their slaves reconnect and are
    /// decided again).
    pub fn end_sessions(&self, why: &str) {
        for s in &self.slaves.drain() {
            info!(slave = %s.id, reason = why, "ending sync session");
            s.cancel.cancel();
        }
        self.feed.reset();
    }

    /// Drop every snapshot (the data they copy is about to be replaced).
    pub fn drop_snapshots(&self) {
        for (slave, _) in self.snapshots.list() {
            if let Err(e) = self.snapshots.release(&slave) {
                warn!(slave, error = %e, "dropping a snapshot");
            }
        }
    }

    /// Start a session on a connection that sent `SYNC140` (`args`), with
    /// what it read after it.
    /// The session stays the connection's client: `kill` (CLIENT KILL)
    /// ends it, and `client` (its place among the clients) is dropped when
    /// it ends.
    pub fn spawn_session(
        self: &Arc<Self>,
        core: &NodeView,
        args: Vec<Bytes>,
        conn: Connection,
        peer: SocketAddr,
        kill: CancellationToken,
        client: Box<dyn Send>,
    ) {
        let me = Arc::clone(self);
        let core = core.clone();
        let span = info_span!("sync", %peer);
        self.tracker.spawn(
            async move {
                me.session(core, args, conn, peer, kill).await;
                drop(client);
            }
            .instrument(span),
        );
    }

    /// End every session and wait for them.
    pub async fn shutdown(&self) {
        self.cancel.cancel();
        self.tracker.close();
        self.tracker.wait().await;
    }

    /// Drop idle, failed snapshots (the 30 s cleaner calls this).
    pub fn clean(&self, timeout_secs: u64) {
        if let Err(e) = self.snapshots.clean(timeout_secs) {
            warn!(error = %e, "snapshot cleaner");
        }
    }

    /// Connected slaves.
    pub fn slaves(&self) -> Vec<Arc<SlaveInfo>> {
        self.slaves.list()
    }

    /// `WAIT numslaves timeout`: how many slaves acknowledged everything
    /// written before the call, waiting up to `timeout_ms` (0: forever)
    /// for `want` of them.
    pub async fn wait(&self, want: usize, timeout_ms: u64) -> usize {
        self.slaves
            .wait(self.binlog.last_seq(), want, timeout_ms)
            .await
    }

    /// How many slaves have acked this node's last seq, now.
    pub fn acked_now(&self) -> usize {
        self.slaves.acked_at(self.binlog.last_seq())
    }

    /// `connected_slaves` and a `slaveN` line per session (on a master,
    /// or on a slave that others follow).
    pub fn slaves_info(&self, out: &mut String) {
        let slaves = self.slaves();
        let last = self.binlog.last_seq();
        let now = now_ms();
        let _ = write!(out, "connected_slaves:{}\r\n", slaves.len());
        if self.slaves.min_replicas().is_some() {
            let _ = write!(out, "min_slaves_good_slaves:{}\r\n", self.slaves.good());
        }
        for (i, s) in slaves.iter().enumerate() {
            let (ip, port) = s.id.rsplit_once(':').unwrap_or((&s.id, "0"));
            let acked = s.acked_seq.load(Ordering::Relaxed);
            let lag_s = now.saturating_sub(s.last_ack_ms.load(Ordering::Relaxed)) / 1000;
            let keys = s.copy_keys.load(Ordering::Relaxed);
            let bytes = s.copy_bytes.load(Ordering::Relaxed);
            let total = s.copy_total.load(Ordering::Relaxed).max(1);
            let secs = (now.saturating_sub(s.copy_start_ms.load(Ordering::Relaxed)) as f64
                / 1000.0)
                .max(0.001);
            let _ = write!(
                out,
                "slave{i}:ip={ip},port={port},state={},offset={acked},lag={lag_s},repl_state={},last_seq_sent={},acked_seq={acked},lag_events={},copy_keys={keys},copy_bytes={bytes},copy_percent={:.1},copy_rate_mbps={:.1}\r\n",
                SlaveState::redis_name(s.state.load(Ordering::Relaxed)),
                SlaveState::name(s.state.load(Ordering::Relaxed)),
                s.sent_seq.load(Ordering::Relaxed),
                last.saturating_sub(acked),
                (keys as f64 * 100.0 / total as f64).min(100.0),
                bytes as f64 / 1e6 / secs,
            );
        }
    }

    /// `INFO stats` lines.
    pub fn stats(&self, out: &mut String) {
        let c = &self.counters;
        let _ = write!(
            out,
            "sync_full:{}\r\nsync_partial_ok:{}\r\nsync_partial_err:{}\r\nsync_copy_resumed:{}\r\nsync_events_from_feed:{}\r\nsync_events_from_binlog:{}\r\nsync_feed_bytes:{}\r\n",
            c.full.load(Ordering::Relaxed),
            c.partial_ok.load(Ordering::Relaxed),
            c.partial_err.load(Ordering::Relaxed),
            c.copy_resumed.load(Ordering::Relaxed),
            self.feed.from_feed.load(Ordering::Relaxed),
            self.feed.from_binlog.load(Ordering::Relaxed),
            self.feed.bytes(),
        );
        let _ = write!(
            out,
            "sync_dropped_over_budget:{}\r\nclient_output_buffer_limit_disconnections:{}\r\nsync_replicas_waits:{}\r\nsync_replicas_timeouts:{}\r\n",
            c.dropped_over_budget.load(Ordering::Relaxed),
            c.dropped_over_limit.load(Ordering::Relaxed),
            self.slaves.sync_waits.load(Ordering::Relaxed),
            self.slaves.sync_timeouts.load(Ordering::Relaxed),
        );
    }

    /// The start decision for a request, and why.
    fn decide(
        &self,
        slave: &str,
        req: &SyncRequest,
    ) -> (SyncDecision, Option<BinlogReader>, String) {
        let c = &self.counters;
        if lock(&self.full_copy_next).remove(slave) {
            c.full.fetch_add(1, Ordering::Relaxed);
            if req.last_key.is_empty() && req.last_seq > 0 {
                c.partial_err.fetch_add(1, Ordering::Relaxed);
            }
            if let Err(e) = self.snapshots.release(slave) {
                warn!(slave, error = %e, "dropping a snapshot");
            }
            return (
                SyncDecision::FullCopy,
                None,
                "it was dropped over the replica output limit".into(),
            );
        }
        if !req.last_key.is_empty() {
            if self.snapshots.get(slave).is_some() {
                c.copy_resumed.fetch_add(1, Ordering::Relaxed);
                return (
                    SyncDecision::CopyRecover,
                    None,
                    "continuing an interrupted copy from its breakpoint".into(),
                );
            }
            c.full.fetch_add(1, Ordering::Relaxed);
            return (
                SyncDecision::FullCopy,
                None,
                "an interrupted copy whose snapshot is gone".into(),
            );
        }
        if req.last_seq == 0 {
            c.full.fetch_add(1, Ordering::Relaxed);
            return (
                SyncDecision::FullCopy,
                None,
                "the slave holds no data".into(),
            );
        }
        let floor = self.resume_floor.load(Ordering::Relaxed);
        let admitted = self
            .history()
            .admits(req.replid.as_deref(), req.last_seq)
            .and_then(|()| {
                if req.last_seq + 1 < floor {
                    return Err(format!(
                        "seq {} is given up to binlog_budget (the binlog is kept from seq {floor})",
                        req.last_seq + 1
                    ));
                }
                self.binlog
                    .reader_after(req.last_seq)
                    .map_err(|e| format!("seq {} is not in the binlog: {e}", req.last_seq))
            });
        match admitted {
            Ok(r) => {
                c.partial_ok.fetch_add(1, Ordering::Relaxed);
                (
                    SyncDecision::Resume,
                    Some(r),
                    format!(
                        "the slave's history is a prefix of ours (at seq {})",
                        req.last_seq
                    ),
                )
            }
            Err(why) => {
                c.partial_err.fetch_add(1, Ordering::Relaxed);
                c.full.fetch_add(1, Ordering::Relaxed);
                (SyncDecision::FullCopy, None, why)
            }
        }
    }

    async fn session(
        self: Arc<Self>,
        core: NodeView,
        args: Vec<Bytes>,
        mut conn: Connection,
        peer: SocketAddr,
        kill: CancellationToken,
    ) {
        let req = match SyncRequest::parse(&args) {
            Ok(r) => r,
            Err(e) => {
                conn.last_words(&Reply::error(e.to_string())).await;
                return;
            }
        };
        let ip = req
            .announce_ip
            .clone()
            .unwrap_or_else(|| peer.ip().to_string());
        let id = format!("{ip}:{}", req.listening_port);
        let key = match &req.node_id {
            Some(node) => format!("node-{node}"),
            None => id.clone(),
        };
        let info = Arc::new(SlaveInfo {
            id: id.clone(),
            key: key.clone(),
            cancel: self.cancel.child_token(),
            state: AtomicU8::new(SlaveState::Init as u8),
            sent_seq: AtomicU64::new(req.last_seq),
            // What it holds counts once the decision says it is ours (a
            // resume): a slave of another history must not count meanwhile.
            acked_seq: AtomicU64::new(0),
            last_ack_ms: AtomicU64::new(now_ms()),
            copy_keys: AtomicU64::new(0),
            copy_bytes: AtomicU64::new(0),
            copy_total: AtomicU64::new(0),
            copy_start_ms: AtomicU64::new(0),
            over_budget: Default::default(),
            over_soft_since_ms: AtomicU64::new(0),
        });
        // CLIENT KILL (TYPE replica, its ID or address) ends the session.
        let (killed, cancel) = (kill, info.cancel.clone());
        tokio::spawn(async move {
            tokio::select! {
                () = killed.cancelled() => cancel.cancel(),
                () = cancel.cancelled() => {}
            }
        });
        if let Some(old) = self.slaves.insert(key.clone(), Arc::clone(&info)) {
            info!(slave = %id, "slave reconnected: replacing its old session");
            old.cancel.cancel();
        }
        // Checked once registered: a copy that begins after this check
        // ends this session with the others (it sets loading, then ends
        // every registered session).
        if core.is_loading() {
            // Our own copy is under way (or just began): nothing to serve.
            self.slaves.forget(&key, &info);
            info.cancel.cancel();
            conn.last_words(&Reply::error(LOADING_ERR)).await;
            return;
        }
        let (decision, reader, why) = self.decide(&key, &req);
        info!(slave = %id, ?decision, reason = %why, last_seq = req.last_seq, replid = ?req.replid, "sync session");
        *lock(&self.last_decision) = format!("{id} {decision:?}: {why}");
        if decision == SyncDecision::Resume {
            info.acked_seq.store(req.last_seq, Ordering::Relaxed);
            self.slaves.recount();
        } else {
            // A slave about to be copied holds nothing WAIT may count.
            info.sent_seq.store(0, Ordering::Relaxed);
        }
        let answer = SyncAnswer {
            decision,
            replid: self.replid(),
            seq: self.binlog.last_seq(),
        };
        // Two parts under one select!: the sender (the copy, then the
        // stream) and the ack reader. The reader's end (the slave closed,
        // or sent garbage) cancels the session; the sender then ends its
        // own way (a copy records where it stopped, for a resume).
        let (rd, mut wr) = conn.split();
        answer.to_reply().encode(wr.out());
        let timeout = Duration::from_secs(core.config().slave_timeout);
        let end = match wr.flush_within(timeout).await {
            Err(e) => SessionEnd::Gone(send_failure(&e, timeout)),
            Ok(()) => {
                let acks = read_acks(rd, &info, &self.slaves);
                let sender = self.run(&core, &info, &mut wr, decision, &req, reader);
                tokio::pin!(acks, sender);
                let mut reading = true;
                loop {
                    tokio::select! {
                        end = &mut sender => break end,
                        () = &mut acks, if reading => reading = false,
                    }
                }
            }
        };
        let (SessionEnd::Gone(why) | SessionEnd::OutOfSync(why)) = end;
        info!(slave = %id, reason = %why, "sync session ended");
        self.slaves.forget(&key, &info);
        // (ends the CLIENT KILL watch)
        info.cancel.cancel();
    }

    async fn run(
        &self,
        core: &NodeView,
        info: &Arc<SlaveInfo>,
        wr: &mut FrameWriter,
        decision: SyncDecision,
        req: &SyncRequest,
        mut reader: Option<BinlogReader>,
    ) -> SessionEnd {
        let mut copy = match decision {
            SyncDecision::Resume => None,
            SyncDecision::FullCopy => Some(None),
            SyncDecision::CopyRecover => Some(Some(req.last_key.clone())),
        };
        loop {
            if let Some(after) = copy.take() {
                match self.copy(core, info, wr, after).await {
                    Ok(r) => reader = Some(r),
                    Err(e) => return e,
                }
            }
            let Some(r) = reader.take() else {
                return SessionEnd::Gone("no binlog reader".into());
            };
            match self.stream(core, info, wr, r).await {
                // An ended session copies nothing: its binlog may be the
                // one a copy of our own is resetting.
                SessionEnd::OutOfSync(why) if info.cancel.is_cancelled() => {
                    return SessionEnd::Gone(format!("ended ({why})"));
                }
                SessionEnd::OutOfSync(why) => {
                    warn!(slave = %info.id, reason = %why, "slave out of sync: full copy");
                    info.set_state(SlaveState::OutOfSync);
                    // Its data is about to be wiped: it holds nothing now.
                    info.acked_seq.store(0, Ordering::Relaxed);
                    self.slaves.recount();
                    self.counters.full.fetch_add(1, Ordering::Relaxed);
                    copy = Some(None);
                }
                gone => return gone,
            }
        }
    }

    async fn stream(
        &self,
        core: &NodeView,
        info: &Arc<SlaveInfo>,
        wr: &mut FrameWriter,
        reader: BinlogReader,
    ) -> SessionEnd {
        info.set_state(SlaveState::Sync);
        // Its silence counts from here, as Redis counts a replica put
        // online: a copy may have lasted longer than the lag or timeout.
        info.last_ack_ms.store(now_ms(), Ordering::Relaxed);
        let cfg = core.config();
        let timeout = Duration::from_secs(cfg.slave_timeout);
        let noop_every = Duration::from_secs(30).min(timeout / 2);
        let mut codec = EventCodec::default();
        let mut out = BytesMut::with_capacity(STREAM_BYTES);
        let mut idle = tokio::time::Instant::now();
        let mut next = reader.next_seq();
        // What this slave still needs stays in the binlog while it copies
        // from the feed (which holds only the newest events).
        let lease = self.binlog.pin(next);
        let mut own = Some(reader);
        let _feed = self.feed.join();
        let mut fed = self.feed.subscribe();
        let gone = || SessionEnd::Gone("replaced or shut down".into());
        // A second without sending: check the slave's acks (kept across
        // turns, so chunks that do not reach this session do not put the
        // check off).
        let mut quiet_until = tokio::time::Instant::now() + Duration::from_secs(1);
        loop {
            out.clear();
            fed.borrow_and_update();
            let step = match self.feed.copy_from(next, &mut out, STREAM_BYTES) {
                Got::Frames(last) => {
                    // On the feed: this session's own reader is not needed.
                    own = None;
                    Step::Send(last, &self.feed.from_feed)
                }
                Got::Ahead => tokio::select! {
                    biased;
                    _ = info.cancel.cancelled() => return gone(),
                    // Before the feed's news: a stream of chunks this
                    // session cannot use yet must not starve the check.
                    () = tokio::time::sleep_until(quiet_until) => Step::Idle,
                    _ = fed.changed() => Step::Again,
                },
                Got::Behind | Got::Off => {
                    // The feed goes off when sessions are ended (their
                    // binlog may be about to be reset): read nothing then.
                    if info.cancel.is_cancelled() {
                        return gone();
                    }
                    let r = match &mut own {
                        Some(r) => r,
                        None => match self.binlog.reader_after(next.saturating_sub(1)) {
                            Ok(r) => own.insert(r),
                            Err(e) => return SessionEnd::OutOfSync(e.to_string()),
                        },
                    };
                    let first = tokio::select! {
                        biased;
                        _ = info.cancel.cancelled() => return gone(),
                        r = r.next_timeout(Duration::from_secs(1)) => r,
                    };
                    match first {
                        Err(e) => return SessionEnd::OutOfSync(e.to_string()),
                        Ok(None) => Step::Idle,
                        Ok(Some(first)) => match read_frames(&mut codec, r, first, &mut out) {
                            Ok(last) => Step::Send(last, &self.feed.from_binlog),
                            Err(end) => return end,
                        },
                    }
                }
            };
            match step {
                Step::Again => {}
                Step::Idle => {
                    quiet_until = tokio::time::Instant::now() + Duration::from_secs(1);
                    let silent = now_ms().saturating_sub(info.last_ack_ms.load(Ordering::Relaxed));
                    if silent > timeout.as_millis() as u64 {
                        warn!(slave = %info.id, silent_ms = silent, "slave timed out: no ack; dropping it");
                        return SessionEnd::Gone("slave timeout".into());
                    }
                    if idle.elapsed() >= noop_every {
                        out.clear();
                        let noop = LogEvent::noop(self.binlog.last_seq());
                        if let Err(e) = codec.encode(&noop, &mut out) {
                            return SessionEnd::Gone(e.to_string());
                        }
                        if let Err(e) = send(wr, &out, timeout).await {
                            return SessionEnd::Gone(e);
                        }
                        idle = tokio::time::Instant::now();
                    }
                }
                Step::Send(last, counter) => {
                    let sent = tokio::select! {
                        biased;
                        _ = info.cancel.cancelled() => Err("replaced or shut down".into()),
                        r = send(wr, &out, timeout) => r,
                    };
                    if let Err(e) = sent {
                        return SessionEnd::Gone(e);
                    }
                    info.sent_seq.store(last, Ordering::Relaxed);
                    counter.fetch_add(last + 1 - next, Ordering::Relaxed);
                    next = last + 1;
                    lease.keep_from(next);
                    idle = tokio::time::Instant::now();
                    quiet_until = idle + Duration::from_secs(1);
                }
            }
        }
    }
}

/// What a turn of a session's stream found to do.
enum Step<'a> {
    /// Send the frames through this seq, counting them in this counter
    /// (from the feed, or read from the binlog) once sent.
    Send(u64, &'a AtomicU64),
    /// Nothing for a second: check the slave's acks, maybe send a NOOP.
    Idle,
    /// The feed moved: look again.
    Again,
}

/// Frame `first` and the events committed after it into `out`, up to
/// [`STREAM_BYTES`]; the last seq framed.
fn read_frames(
    codec: &mut EventCodec,
    reader: &mut BinlogReader,
    first: LogEvent,
    out: &mut BytesMut,
) -> Result<u64, SessionEnd> {
    let mut last = first.seq;
    codec
        .encode(&first, out)
        .map_err(|e| SessionEnd::Gone(e.to_string()))?;
    while out.len() < STREAM_BYTES {
        match reader.try_next() {
            Ok(Some(e)) => {
                last = e.seq;
                codec
                    .encode(&e, out)
                    .map_err(|err| SessionEnd::Gone(err.to_string()))?;
            }
            Ok(None) => break,
            Err(e) => return Err(SessionEnd::OutOfSync(e.to_string())),
        }
    }
    Ok(last)
}

/// Write all of `buf` within `timeout` (a slave that stops reading is
/// dropped, never waited on forever).
async fn send(wr: &mut FrameWriter, buf: &[u8], timeout: Duration) -> Result<(), String> {
    wr.send_within(buf, timeout)
        .await
        .map_err(|e| send_failure(&e, timeout))
}

/// Why a send to a slave failed, in the session's log.
fn send_failure(e: &std::io::Error, timeout: Duration) -> String {
    if e.kind() == std::io::ErrorKind::TimedOut {
        format!(
            "send timed out after {} s: slave not reading",
            timeout.as_secs()
        )
    } else {
        format!("send failed: {e}")
    }
}

/// Read `REPLCONF ACK <seq>` from the slave until the connection ends,
/// which cancels the session.
async fn read_acks(mut rd: FrameReader, info: &SlaveInfo, slaves: &Slaves) {
    let mut decoder = RequestDecoder::new(RespLimits::default());
    while let Ok(args) = rd.next(&mut decoder).await {
        if let Some(ack) = ReplAck::parse(&args) {
            slaves.ack(info, ack.seq);
        }
    }
    info.cancel.cancel();
}
