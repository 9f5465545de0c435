//! The replication link: one thread that connects to the master, sends
//! SYNC140 with what this slave persisted, applies the stream, acks, and
//! reconnects with backoff after any error or a read timeout.

use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use rocksync_binlog::BinlogWriter;
use rocksync_master::engine::now_ms;
use rocksync_master::repl::Replication;
use rocksync_master::server::Core;
use rocksync_master::store::apply::{apply_event, Batch};
use rocksync_master::store::{Cf, Store, APPLIED_SEQ_KEY};
use rocksync_master::{Error, Result};
use rocksync_protocol::{
    put_command, Command, EventCodec, EventType, LogEvent, ReplAck, Reply, SyncAnswer,
    SyncDecision, SyncRequest,
};
use tokio_util::codec::Decoder;
use tracing::{info, warn};

/// System keys the slave keeps (default column family).
pub mod sys {
    /// The last RAW key applied while a copy runs ("" otherwise).
    pub const LAST_KEY: &[u8] = b"repl_last_key";
    /// The master's replication id.
    pub const MASTER_REPLID: &[u8] = b"repl_master_replid";
    /// 1 from COPY/BEGIN to COPY/END.
    pub const COPYING: &[u8] = b"repl_copying";
    /// Full copies received.
    pub const FULL_COPIES: &[u8] = b"repl_full_copies";
    /// Copies continued from a breakpoint.
    pub const COPY_RESUMES: &[u8] = b"repl_copy_resumes";
    /// Binlog resumes.
    pub const BINLOG_RESUMES: &[u8] = b"repl_binlog_resumes";
}

/// The link's state, shared with INFO.
#[derive(Debug, Default)]
pub struct LinkState {
    /// Set to stop the link.
    pub stop: AtomicBool,
    /// Connected and past the handshake.
    pub link_up: AtomicBool,
    /// Last traffic from the master, unix ms.
    pub last_io_ms: AtomicU64,
    /// A full copy is in progress (reads are refused).
    pub copying: AtomicBool,
    /// The last seq applied.
    pub last_seq: AtomicU64,
    last_key: Mutex<Bytes>,
    master_replid: Mutex<String>,
    /// Full copies received (kept across restarts).
    pub full_copies: AtomicU64,
    /// Copies continued from a breakpoint.
    pub copy_resumes: AtomicU64,
    /// Binlog resumes.
    pub binlog_resumes: AtomicU64,
}

fn u64_of(v: Option<Vec<u8>>) -> u64 {
    v.and_then(|b| b.try_into().ok())
        .map_or(0, u64::from_be_bytes)
}

impl LinkState {
    /// Load what the slave persisted.
    ///
    /// # Errors
    /// RocksDB errors.
    pub fn load(store: &Store) -> Result<Self> {
        let s = Self::default();
        s.last_seq.store(store.applied_seq()?, Ordering::Relaxed);
        *s.last_key
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) =
            Bytes::from(store.get_sys(sys::LAST_KEY)?.unwrap_or_default());
        *s.master_replid
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) =
            String::from_utf8(store.get_sys(sys::MASTER_REPLID)?.unwrap_or_default())
                .unwrap_or_default();
        s.copying
            .store(u64_of(store.get_sys(sys::COPYING)?) == 1, Ordering::Relaxed);
        s.full_copies
            .store(u64_of(store.get_sys(sys::FULL_COPIES)?), Ordering::Relaxed);
        s.copy_resumes
            .store(u64_of(store.get_sys(sys::COPY_RESUMES)?), Ordering::Relaxed);
        s.binlog_resumes.store(
            u64_of(store.get_sys(sys::BINLOG_RESUMES)?),
            Ordering::Relaxed,
        );
        Ok(s)
    }

    /// The last RAW key applied during a copy.
    pub fn last_key(&self) -> Bytes {
        self.last_key
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    fn set_last_key(&self, k: Bytes) {
        *self
            .last_key
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = k;
    }

    /// The master's replid this data belongs to.
    pub fn master_replid(&self) -> String {
        self.master_replid
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    fn set_master_replid(&self, id: &str) {
        *self
            .master_replid
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = id.to_owned();
    }
}

/// Start the link thread.
///
/// # Errors
/// [`Error::Io`] if the thread cannot start.
pub fn spawn(
    store: Arc<Store>,
    writer: BinlogWriter,
    state: Arc<LinkState>,
    core: Arc<Core>,
    port: u16,
    repl: Arc<Replication>,
) -> Result<std::thread::JoinHandle<()>> {
    std::thread::Builder::new()
        .name("repl-link".into())
        .spawn(move || {
            let mut link = Link {
                last_copy_flush: Instant::now()
                    .checked_sub(Duration::from_secs(1))
                    .unwrap_or_else(Instant::now),
                store,
                repl,
                writer: Some(writer),
                state,
                core,
                port,
            };
            link.run();
        })
        .map_err(|source| Error::Io {
            path: "repl-link thread".into(),
            source,
        })
}

struct Link {
    last_copy_flush: Instant,
    store: Arc<Store>,
    /// Sessions of slaves following this one (their history is ours).
    repl: Arc<Replication>,
    writer: Option<BinlogWriter>,
    state: Arc<LinkState>,
    core: Arc<Core>,
    port: u16,
}

/// How often a blocked read wakes to check the stop flag and the timeout.
const LINK_POLL: Duration = Duration::from_millis(200);

/// Commit RAW pairs every this many bytes.
const COPY_BATCH_BYTES: usize = 4 << 20;

fn put_u64(b: &mut Batch, store: &Store, key: &[u8], v: u64) -> Result<()> {
    b.put(store, Cf::Default, key.to_vec(), v.to_be_bytes().to_vec())
}

impl Link {
    fn run(&mut self) {
        let mut backoff = Duration::from_millis(100);
        while !self.state.stop.load(Ordering::Relaxed) {
            let started = Instant::now();
            match self.session() {
                Ok(()) => {}
                Err(e) => warn!(error = %e, "replication link down"),
            }
            self.state.link_up.store(false, Ordering::Relaxed);
            if started.elapsed() > Duration::from_secs(5) {
                backoff = Duration::from_millis(100);
            }
            let until = Instant::now() + backoff;
            while Instant::now() < until && !self.state.stop.load(Ordering::Relaxed) {
                std::thread::sleep(Duration::from_millis(20));
            }
            backoff = (backoff * 2).min(Duration::from_secs(5));
        }
        if let Some(w) = self.writer.take() {
            if let Err(e) = w.close() {
                warn!(error = %e, "closing the slave binlog");
            }
        }
        if let Err(e) = self.store.flush() {
            warn!(error = %e, "flushing the slave store");
        }
    }

    fn writer(&mut self) -> Result<&mut BinlogWriter> {
        self.writer.as_mut().ok_or(Error::Stopped)
    }

    fn bump(&self, counter: &AtomicU64, key: &[u8]) -> Result<()> {
        let v = counter.fetch_add(1, Ordering::Relaxed) + 1;
        self.store.put_sys(key, &v.to_be_bytes())?;
        Ok(())
    }

    /// One connection, until it fails or the link stops.
    fn session(&mut self) -> std::result::Result<(), String> {
        let cfg = self.core.config();
        let timeout = Duration::from_secs(cfg.slave_timeout);
        let addr = cfg
            .master_addr
            .to_socket_addrs()
            .map_err(|e| format!("master_addr {}: {e}", cfg.master_addr))?
            .next()
            .ok_or_else(|| format!("master_addr {} resolves to nothing", cfg.master_addr))?;
        let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(5))
            .map_err(|e| format!("connect {addr}: {e}"))?;
        stream.set_nodelay(true).map_err(|e| e.to_string())?;
        stream
            .set_read_timeout(Some(LINK_POLL))
            .map_err(|e| e.to_string())?;
        stream
            .set_write_timeout(Some(timeout))
            .map_err(|e| e.to_string())?;
        let mut buf = BytesMut::with_capacity(1 << 20);
        if !cfg.masterauth.is_empty() {
            let mut out = BytesMut::new();
            put_command(&mut out, &[&b"AUTH"[..], cfg.masterauth.as_bytes()]);
            stream.write_all(&out).map_err(|e| e.to_string())?;
            if let Reply::Error(e) = read_reply(&mut stream, &mut buf)? {
                return Err(format!("AUTH refused: {e}"));
            }
        }
        let replid = self.state.master_replid();
        let req = SyncRequest {
            last_seq: self.state.last_seq.load(Ordering::Relaxed),
            last_key: self.state.last_key(),
            listening_port: self.port,
            replid: (!replid.is_empty()).then_some(replid),
        };
        let mut out = BytesMut::new();
        put_command(&mut out, &req.to_args());
        stream.write_all(&out).map_err(|e| e.to_string())?;
        let answer = SyncAnswer::from_reply(&read_reply(&mut stream, &mut buf)?)
            .map_err(|e| format!("master refused SYNC140: {e}"))?;
        info!(decision = ?answer.decision, master_seq = answer.seq, last_seq = req.last_seq, "following {addr}");
        let counted = match answer.decision {
            SyncDecision::Resume => self.bump(&self.state.binlog_resumes, sys::BINLOG_RESUMES),
            SyncDecision::CopyRecover => self.bump(&self.state.copy_resumes, sys::COPY_RESUMES),
            SyncDecision::FullCopy => Ok(()),
        };
        counted.map_err(|e| e.to_string())?;
        self.state.link_up.store(true, Ordering::Relaxed);
        self.state.last_io_ms.store(now_ms(), Ordering::Relaxed);
        self.stream(&mut stream, buf, &answer.replid)
            .map_err(|e| e.to_string())
    }

    /// Apply the event stream.
    fn stream(
        &mut self,
        stream: &mut TcpStream,
        mut buf: BytesMut,
        master_replid: &str,
    ) -> Result<()> {
        let mut codec = EventCodec::default();
        let store = Arc::clone(&self.store);
        let mut copy = Batch::new();
        let mut copy_bytes = 0usize;
        let mut copy_last: Option<Bytes> = None;
        let mut sync = Batch::new();
        let mut events: Vec<LogEvent> = Vec::new();
        let mut last_ack = Instant::now();
        let mut chunk = vec![0u8; 256 * 1024];
        loop {
            if self.state.stop.load(Ordering::Relaxed) {
                return Ok(());
            }
            let mut ack_now = false;
            loop {
                let event = match codec.decode(&mut buf) {
                    Ok(Some(e)) => e,
                    Ok(None) => break,
                    Err(e) => {
                        return Err(Error::Io {
                            path: "replication stream".into(),
                            source: std::io::Error::other(e.to_string()),
                        })
                    }
                };
                match (event.kind, event.cmd) {
                    (EventType::Copy, Command::Begin) => {
                        self.commit_sync(&mut sync, &mut events)?;
                        self.begin_copy(event.seq)?;
                        copy = Batch::new();
                        copy_bytes = 0;
                    }
                    (EventType::Copy, Command::Raw) => {
                        if let Some((cf, key)) = rocksync_snapshot::split_raw_key(&event.key) {
                            let skip = cf == "default"
                                && (key.starts_with(b"repl_") || key == APPLIED_SEQ_KEY);
                            if let (Some(cf), false) = (Cf::from_name(cf), skip) {
                                copy.put(&store, cf, key.to_vec(), event.value.to_vec())?;
                                copy_bytes += event.key.len() + event.value.len();
                            }
                        }
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
                    (_, cmd) if cmd.is_data() => {
                        apply_event(&store, &mut sync, &event)?;
                        events.push(event);
                    }
                    _ => {}
                }
            }
            if copy_last.is_some() {
                self.commit_copy(std::mem::take(&mut copy), copy_last.take())?;
                copy_bytes = 0;
            }
            // Commit whole commands only: a command's events end with one
            // whose `more` is false.
            if events.last().is_some_and(|e| !e.more) {
                self.commit_sync(&mut sync, &mut events)?;
                ack_now = true;
            }
            if ack_now || last_ack.elapsed() >= Duration::from_millis(500) {
                let mut out = BytesMut::new();
                put_command(
                    &mut out,
                    &ReplAck {
                        seq: self.state.last_seq.load(Ordering::Relaxed),
                    }
                    .to_args(),
                );
                stream
                    .write_all(&out)
                    .map_err(|e| io_err("sending ack", e))?;
                last_ack = Instant::now();
            }
            // Short read timeouts keep the stop flag and the link's own
            // timeout checked while the master is quiet.
            let n = match read_polled(stream, &mut chunk) {
                Ok(Some(n)) => n,
                Ok(None) => {
                    let silent =
                        now_ms().saturating_sub(self.state.last_io_ms.load(Ordering::Relaxed));
                    if silent > self.core.config().slave_timeout * 1000 {
                        return Err(io_err(
                            "reading from the master",
                            std::io::Error::other(format!("nothing received for {silent} ms")),
                        ));
                    }
                    continue;
                }
                Err(e) => return Err(io_err("reading from the master", e)),
            };
            if n == 0 {
                return Err(io_err(
                    "reading from the master",
                    std::io::Error::other("connection closed"),
                ));
            }
            buf.extend_from_slice(&chunk[..n]);
            self.state.last_io_ms.store(now_ms(), Ordering::Relaxed);
        }
    }

    /// COPY/BEGIN: wipe data, binlog and progress.
    fn begin_copy(&mut self, seq: u64) -> Result<()> {
        // The binlog goes first: a crash before the wipe then restarts
        // with the old data and a binlog restarted at its applied_seq (a
        // wiped database with the old binlog would replay only part of the
        // old history into it).
        self.writer()?.reset(0)?;
        let store = Arc::clone(&self.store);
        let mut b = Batch::new();
        apply_event(
            &store,
            &mut b,
            &LogEvent::data(1, Command::FlushAll, Bytes::new(), Bytes::new()),
        )?;
        b.put(&store, Cf::Default, sys::LAST_KEY.to_vec(), Vec::new())?;
        put_u64(&mut b, &store, sys::COPYING, 1)?;
        let n = self.state.full_copies.load(Ordering::Relaxed) + 1;
        put_u64(&mut b, &store, sys::FULL_COPIES, n)?;
        store.write(b.finish(&store, 0)?)?;
        store.flush()?;
        self.state.full_copies.store(n, Ordering::Relaxed);
        self.state.copying.store(true, Ordering::Relaxed);
        self.state.last_seq.store(0, Ordering::Relaxed);
        self.state.set_last_key(Bytes::new());
        info!(snapshot_seq = seq, "full copy begins: local data wiped");
        Ok(())
    }

    /// RAW pairs, with the last key, in one batch.
    fn commit_copy(&mut self, mut b: Batch, last: Option<Bytes>) -> Result<()> {
        let Some(last) = last else { return Ok(()) };
        b.put(
            &self.store,
            Cf::Default,
            sys::LAST_KEY.to_vec(),
            last.to_vec(),
        )?;
        self.store.write(b.finish(&self.store, 0)?)?;
        // Copied pairs are in no binlog: a flush (atomic over the column
        // families) at most every second makes them durable together with
        // their last key, the breakpoint a restarted slave resumes from.
        if self.last_copy_flush.elapsed() >= Duration::from_secs(1) {
            self.store.flush()?;
            self.last_copy_flush = Instant::now();
        }
        self.state.set_last_key(last);
        Ok(())
    }

    /// COPY/END(S): in sync at S.
    fn end_copy(&mut self, seq: u64, master_replid: &str) -> Result<()> {
        let store = Arc::clone(&self.store);
        let mut b = Batch::new();
        b.put(&store, Cf::Default, sys::LAST_KEY.to_vec(), Vec::new())?;
        put_u64(&mut b, &store, sys::COPYING, 0)?;
        b.put(
            &store,
            Cf::Default,
            sys::MASTER_REPLID.to_vec(),
            master_replid.as_bytes().to_vec(),
        )?;
        store.write(b.finish(&store, seq)?)?;
        store.flush()?;
        self.writer()?.reset(seq)?;
        self.state.set_master_replid(master_replid);
        self.repl.set_replid(master_replid);
        self.state.set_last_key(Bytes::new());
        self.state.last_seq.store(seq, Ordering::Relaxed);
        self.state.copying.store(false, Ordering::Relaxed);
        info!(seq, "full copy complete: in sync");
        Ok(())
    }

    /// Log and apply a group of whole commands.
    fn commit_sync(&mut self, b: &mut Batch, events: &mut Vec<LogEvent>) -> Result<()> {
        let Some(last) = events.last().map(|e| e.seq) else {
            return Ok(());
        };
        self.writer()?.append(events)?;
        let batch = std::mem::take(b);
        self.store.write(batch.finish(&self.store, last)?)?;
        events.clear();
        self.state.last_seq.store(last, Ordering::Relaxed);
        Ok(())
    }
}

fn io_err(what: &str, e: std::io::Error) -> Error {
    Error::Io {
        path: what.into(),
        source: e,
    }
}

/// One read of the socket: `Ok(None)` when its short read timeout
/// (`LINK_POLL`) passed with nothing received.
fn read_polled(stream: &mut TcpStream, chunk: &mut [u8]) -> std::io::Result<Option<usize>> {
    match stream.read(chunk) {
        Ok(n) => Ok(Some(n)),
        Err(e)
            if matches!(
                e.kind(),
                std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
            ) =>
        {
            Ok(None)
        }
        Err(e) => Err(e),
    }
}

/// Read one RESP reply (the handshake answers).
fn read_reply(stream: &mut TcpStream, buf: &mut BytesMut) -> std::result::Result<Reply, String> {
    let mut chunk = [0u8; 4096];
    let started = Instant::now();
    loop {
        if let Some((r, used)) = Reply::parse(buf).map_err(|e| e.to_string())? {
            let _ = buf.split_to(used);
            return Ok(r);
        }
        let n = match read_polled(stream, &mut chunk) {
            Ok(Some(n)) => n,
            Ok(None) if started.elapsed() > Duration::from_secs(30) => {
                return Err("no answer from the master within 30 s".into());
            }
            Ok(None) => continue,
            Err(e) => return Err(format!("reading the master's answer: {e}")),
        };
        if n == 0 {
            return Err("master closed the connection".into());
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}
