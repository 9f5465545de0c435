//! The node's role and what every part may read of the node: its live
//! configuration, its role, its replication link's progress and its port
//! ([`NodeView`]).

use std::sync::atomic::{AtomicBool, AtomicU16, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use bytes::Bytes;

use crate::config::Config;
use crate::lock;
use crate::storage::CopyProgress;

/// The error a loading node answers (a slave in the middle of a full
/// copy): data commands, and a slave asking it for a sync.
pub const LOADING_ERR: &str = "LOADING rocksync is copying the dataset from its master";

/// What a node is now.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Role {
    /// Takes writes.
    Master,
    /// Follows `master_addr` (`host:port`) and refuses writes.
    Slave {
        /// The master followed.
        master_addr: String,
    },
}

impl Role {
    /// The role a `master_addr` setting names: empty or `no one` is a
    /// master.
    pub fn from_master_addr(addr: &str) -> Self {
        let a = addr.trim();
        if a.is_empty() || a.eq_ignore_ascii_case("no one") || a.eq_ignore_ascii_case("none") {
            Self::Master
        } else {
            Self::Slave {
                master_addr: a.to_owned(),
            }
        }
    }

    /// The master followed, if any.
    pub fn master_addr(&self) -> Option<&str> {
        match self {
            Self::Master => None,
            Self::Slave { master_addr } => Some(master_addr),
        }
    }
}

/// `host:port` (or `[v6]:port`) split into host and port (0 when bad).
pub fn split_addr(addr: &str) -> (String, u16) {
    match addr.rsplit_once(':') {
        Some((h, p)) => (
            h.trim_start_matches('[').trim_end_matches(']').to_owned(),
            p.parse().unwrap_or(0),
        ),
        None => (addr.to_owned(), 0),
    }
}

/// The replication link's state, shared with INFO and ROLE.
#[derive(Debug, Default)]
pub struct LinkState {
    /// Connected and past the handshake.
    pub link_up: AtomicBool,
    /// Last traffic from the master, ms since the node started.
    last_io_ms: AtomicU64,
    /// When the link went down, ms since the node started (0: never up).
    down_since_ms: AtomicU64,
    /// A full copy is in progress (reads are refused).
    pub copying: AtomicBool,
    /// The master decided a full copy that has not begun yet: the data
    /// is still whole, but the link is not in sync.
    pub copy_due: AtomicBool,
    /// The last seq applied.
    pub last_seq: AtomicU64,
    last_key: Mutex<Bytes>,
    /// Full copies received (kept across restarts).
    pub full_copies: AtomicU64,
    /// Copies continued from a breakpoint.
    pub copy_resumes: AtomicU64,
    /// Binlog resumes.
    pub binlog_resumes: AtomicU64,
    /// Following a Redis master: 1 + the offset of its stream reached
    /// (0: not following one).
    redis_offset: AtomicU64,
    /// The last start decision and its reason.
    decision: Mutex<String>,
    /// Why the link last went down ("" while it never did).
    last_error: Mutex<String>,
    epoch: Mutex<Option<Instant>>,
}

impl LinkState {
    pub(crate) fn from_progress(p: &CopyProgress, last_seq: u64) -> Self {
        let s = Self::default();
        s.copying.store(p.copying, Ordering::Relaxed);
        *lock(&s.last_key) = p.last_key.clone();
        s.last_seq.store(last_seq, Ordering::Relaxed);
        s.full_copies.store(p.full_copies, Ordering::Relaxed);
        s.copy_resumes.store(p.copy_resumes, Ordering::Relaxed);
        s.binlog_resumes.store(p.binlog_resumes, Ordering::Relaxed);
        *lock(&s.epoch) = Some(Instant::now());
        s
    }

    fn now_ms(&self) -> u64 {
        lock(&self.epoch).map_or(0, |e| e.elapsed().as_millis() as u64 + 1)
    }

    /// Record traffic from the master (monotonic clock).
    pub fn touch(&self) {
        self.last_io_ms.store(self.now_ms(), Ordering::Relaxed);
    }

    /// Milliseconds since the last traffic from the master.
    pub fn silent_ms(&self) -> u64 {
        self.now_ms()
            .saturating_sub(self.last_io_ms.load(Ordering::Relaxed))
    }

    /// The link came up or went down.
    pub fn set_up(&self, up: bool) {
        let was = self.link_up.swap(up, Ordering::Relaxed);
        if !up {
            self.copy_due.store(false, Ordering::Relaxed);
        }
        if up {
            self.touch();
        } else if was {
            self.down_since_ms.store(self.now_ms(), Ordering::Relaxed);
        }
    }

    /// A copy is decided or under way (Redis's `master_sync_in_progress`):
    /// the link is up but not in sync.
    pub fn syncing(&self) -> bool {
        self.copying.load(Ordering::Relaxed) || self.copy_due.load(Ordering::Relaxed)
    }

    /// Seconds since the link went down: 0 while up, -1 when it was
    /// never up (Redis's `master_link_down_since_seconds`).
    pub fn down_secs(&self) -> i64 {
        if self.link_up.load(Ordering::Relaxed) {
            return 0;
        }
        match self.down_since_ms.load(Ordering::Relaxed) {
            0 => -1,
            since => (self.now_ms().saturating_sub(since) / 1000) as i64,
        }
    }

    /// The last RAW key applied during a copy.
    pub fn last_key(&self) -> Bytes {
        lock(&self.last_key).clone()
    }

    /// Record the last RAW key applied.
    pub fn set_last_key(&self, k: Bytes) {
        *lock(&self.last_key) = k;
    }

    /// The offset of a Redis master's stream reached, when following one
    /// (what INFO's `slave_repl_offset` then shows, as a Redis replica's
    /// does: Sentinel compares it across the master's replicas).
    pub fn redis_offset(&self) -> Option<u64> {
        self.redis_offset.load(Ordering::Relaxed).checked_sub(1)
    }

    /// Record the offset of a Redis master's stream reached (`None`: the
    /// master followed is no Redis server).
    pub fn set_redis_offset(&self, offset: Option<u64>) {
        self.redis_offset
            .store(offset.map_or(0, |o| o.saturating_add(1)), Ordering::Relaxed);
    }

    /// The last start decision, with its reason.
    pub fn decision(&self) -> String {
        lock(&self.decision).clone()
    }

    /// Record the start decision.
    pub fn set_decision(&self, d: String) {
        *lock(&self.decision) = d;
    }

    /// Why the link last went down, if it ever did.
    pub fn last_error(&self) -> String {
        lock(&self.last_error).clone()
    }

    /// Record why the link went down.
    pub fn set_last_error(&self, e: String) {
        *lock(&self.last_error) = e;
    }
}

/// The role a node starts in: an explicit setting wins, then the role kept
/// in the data directory, then the binary's default.
pub fn start_role(config: &Config, saved: Option<Option<String>>, default: Option<Role>) -> Role {
    if let Some(addr) = &config.master_addr {
        return Role::from_master_addr(addr);
    }
    match saved {
        Some(None) => Role::Master,
        Some(Some(addr)) => Role::Slave { master_addr: addr },
        None => default.unwrap_or(Role::Master),
    }
}

/// The node's live settings, role, link progress and port, shared by the
/// parts that read them (connections, sync sessions, the link).
#[derive(Clone)]
pub struct NodeView {
    live: Arc<Mutex<Config>>,
    role: Arc<Mutex<Role>>,
    /// The replication link's state (while a slave).
    pub link: Arc<LinkState>,
    port: Arc<AtomicU16>,
    /// `replica-serve-stale-data`, read by every command.
    serve_stale: Arc<AtomicBool>,
    /// `timeout`, seconds (0: none), which every idle connection watches.
    idle_timeout: Arc<tokio::sync::watch::Sender<u64>>,
}

impl NodeView {
    /// A view of a node starting with `config`, `role` and `link`.
    pub(crate) fn new(config: Config, role: Role, link: Arc<LinkState>) -> Self {
        Self {
            port: Arc::new(AtomicU16::new(config.port)),
            serve_stale: Arc::new(AtomicBool::new(config.replica_serve_stale_data)),
            idle_timeout: Arc::new(tokio::sync::watch::Sender::new(config.timeout)),
            live: Arc::new(Mutex::new(config)),
            role: Arc::new(Mutex::new(role)),
            link,
        }
    }

    /// A copy of the configuration in force.
    pub fn config(&self) -> Config {
        lock(&self.live).clone()
    }

    /// What `f` reads of the configuration in force, without a copy of
    /// it (for checks made on every command). `f` runs under the lock: it
    /// must not read or change the configuration itself.
    pub fn with_config<R>(&self, f: impl FnOnce(&Config) -> R) -> R {
        f(&lock(&self.live))
    }

    /// Change the configuration in force: `f` edits a copy, which replaces
    /// it when `f` succeeds (all or nothing); `f` runs under the lock.
    ///
    /// # Errors
    /// What `f` returns.
    pub fn update_config<E>(
        &self,
        f: impl FnOnce(&mut Config) -> std::result::Result<(), E>,
    ) -> std::result::Result<Config, E> {
        let mut live = lock(&self.live);
        let mut next = live.clone();
        f(&mut next)?;
        self.serve_stale
            .store(next.replica_serve_stale_data, Ordering::Relaxed);
        self.idle_timeout.send_if_modified(|t| {
            let changed = *t != next.timeout;
            *t = next.timeout;
            changed
        });
        *live = next.clone();
        Ok(next)
    }

    /// `timeout` in seconds (0: none), watched: a client idle since
    /// before a change is measured against the new value.
    pub fn idle_timeout(&self) -> tokio::sync::watch::Receiver<u64> {
        self.idle_timeout.subscribe()
    }

    /// True while this node answers MASTERDOWN to commands not flagged
    /// `stale`: a slave whose link is down or copying, with
    /// `replica-serve-stale-data no`.
    pub fn refuses_stale(&self) -> bool {
        !self.serve_stale.load(Ordering::Relaxed)
            && self.is_read_only()
            && (!self.link.link_up.load(Ordering::Relaxed)
                || self.link.copying.load(Ordering::Relaxed))
    }

    /// The role now.
    pub fn role(&self) -> Role {
        lock(&self.role).clone()
    }

    pub(crate) fn set_role(&self, role: Role) {
        *lock(&self.role) = role;
    }

    /// True while this node refuses writes (a slave).
    pub fn is_read_only(&self) -> bool {
        !matches!(*lock(&self.role), Role::Master)
    }

    /// True while data reads are refused: a slave in the middle of a full
    /// copy holds partial data.
    pub fn is_loading(&self) -> bool {
        self.is_read_only() && self.link.copying.load(Ordering::Relaxed)
    }

    /// The port clients connect to.
    pub fn listening_port(&self) -> u16 {
        self.port.load(Ordering::Relaxed)
    }

    /// The port the server bound.
    pub(crate) fn set_listening_port(&self, port: u16) {
        self.port.store(port, Ordering::Relaxed);
    }
}
