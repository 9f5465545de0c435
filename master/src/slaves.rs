//! The slaves a node serves, as INFO, ROLE, WAIT and the write path see
//! them: each session's state, progress and acks, the sessions counted by
//! how they began, and what the replication guarantees ask of their acks
//! (`min-replicas-to-write`, `sync-replicas`).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, AtomicU8, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::clock::mono_ms;
use crate::config::Config;
use crate::lock;

/// A slave's session state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum SlaveState {
    /// Deciding.
    Init = 0,
    /// Full copy running.
    Copy = 1,
    /// Streaming the binlog.
    Sync = 2,
    /// The binlog could not be read; a full copy follows.
    OutOfSync = 3,
}

impl SlaveState {
    pub(crate) fn name(v: u8) -> &'static str {
        match v {
            1 => "copy",
            2 => "sync",
            3 => "out_of_sync",
            _ => "init",
        }
    }

    /// Redis's name for the state (what Sentinel reads): `online` once
    /// streaming.
    pub(crate) fn redis_name(v: u8) -> &'static str {
        match v {
            1 => "send_bulk",
            2 => "online",
            _ => "wait_bgsave",
        }
    }
}

/// One connected slave, as INFO shows it.
#[derive(Debug)]
pub struct SlaveInfo {
    /// `ip:listening_port`.
    pub id: String,
    /// What names the slave's session and snapshot: its node id when it
    /// sent one, else `ip:listening_port`.
    pub(crate) key: String,
    pub(crate) cancel: CancellationToken,
    pub(crate) state: AtomicU8,
    /// Last seq sent.
    pub sent_seq: AtomicU64,
    /// Last seq the slave acknowledged.
    pub acked_seq: AtomicU64,
    /// When the last ack came, ms on the monotonic clock.
    pub last_ack_ms: AtomicU64,
    pub(crate) copy_keys: AtomicU64,
    pub(crate) copy_bytes: AtomicU64,
    pub(crate) copy_total: AtomicU64,
    pub(crate) copy_start_ms: AtomicU64,
    /// Dropped for holding the binlog past its budget: its snapshot goes
    /// with it.
    pub(crate) over_budget: std::sync::atomic::AtomicBool,
    /// Since when (ms, monotonic) it holds more binlog than the replica
    /// class's soft output limit; 0 while it does not.
    pub(crate) over_soft_since_ms: AtomicU64,
}

impl SlaveInfo {
    pub(crate) fn set_state(&self, s: SlaveState) {
        self.state.store(s as u8, Ordering::Relaxed);
    }
}

/// Sessions counted by decision (INFO stats, Redis's names).
#[derive(Debug, Default)]
pub struct SyncCounters {
    /// Full copies begun.
    pub full: AtomicU64,
    /// Binlog resumes.
    pub partial_ok: AtomicU64,
    /// Resumes refused (then full copies).
    pub partial_err: AtomicU64,
    /// Copies continued from a breakpoint.
    pub copy_resumed: AtomicU64,
    /// Slaves dropped for holding the binlog past `binlog_budget`.
    pub dropped_over_budget: AtomicU64,
    /// Slaves dropped for holding more binlog than the replica class of
    /// `client-output-buffer-limit` allows.
    pub dropped_over_limit: AtomicU64,
}

/// The sessions a node serves, by key, and what their acks guarantee.
#[derive(Default)]
pub struct Slaves {
    sessions: Mutex<HashMap<String, Arc<SlaveInfo>>>,
    acked: Notify,
    /// The newest seq that `sync-replicas` slaves have all acknowledged
    /// (recomputed at every ack and session change).
    synced: AtomicU64,
    /// `min-replicas-to-write`.
    min_to_write: AtomicU64,
    /// `min-replicas-max-lag`, seconds.
    max_lag: AtomicU64,
    /// `sync-replicas`.
    sync_n: AtomicU64,
    /// `sync-replicas-timeout`, ms.
    sync_timeout_ms: AtomicU64,
    /// Writes answered NOREPLICAS because too few slaves acknowledged
    /// them in time.
    pub sync_timeouts: AtomicU64,
    /// Writes that waited for slaves' acks.
    pub sync_waits: AtomicU64,
}

/// What `min-replicas-to-write` refuses a write with (Redis's words).
pub const NOREPLICAS: &str = "NOREPLICAS Not enough good replicas to write.";

impl Slaves {
    /// Take the replication guarantees' settings from `c` (at start and
    /// at every CONFIG SET).
    pub fn configure(&self, c: &Config) {
        self.min_to_write
            .store(c.min_replicas_to_write, Ordering::Relaxed);
        self.max_lag
            .store(c.min_replicas_max_lag, Ordering::Relaxed);
        self.sync_n.store(c.sync_replicas, Ordering::Relaxed);
        self.sync_timeout_ms
            .store(c.sync_replicas_timeout, Ordering::Relaxed);
        self.recount();
    }

    /// Register a session; the one it replaces, if any.
    pub(crate) fn insert(&self, key: String, info: Arc<SlaveInfo>) -> Option<Arc<SlaveInfo>> {
        let old = lock(&self.sessions).insert(key, info);
        self.recount();
        old
    }

    /// Drop a session from the registry, unless another replaced it;
    /// whether it was still registered.
    pub(crate) fn forget(&self, key: &str, info: &Arc<SlaveInfo>) -> bool {
        let mine = {
            let mut sessions = lock(&self.sessions);
            let mine = sessions.get(key).is_some_and(|s| Arc::ptr_eq(s, info));
            if mine {
                sessions.remove(key);
            }
            mine
        };
        self.recount();
        mine
    }

    /// Every session, removed from the registry.
    pub(crate) fn drain(&self) -> Vec<Arc<SlaveInfo>> {
        let all = lock(&self.sessions).drain().map(|(_, s)| s).collect();
        self.recount();
        all
    }

    /// The sessions, by address.
    pub fn list(&self) -> Vec<Arc<SlaveInfo>> {
        let mut v: Vec<_> = lock(&self.sessions).values().cloned().collect();
        v.sort_by(|a, b| a.id.cmp(&b.id));
        v
    }

    /// A slave acknowledged `seq`.
    pub(crate) fn ack(&self, info: &SlaveInfo, seq: u64) {
        info.acked_seq.store(seq, Ordering::Relaxed);
        info.last_ack_ms.store(mono_ms(), Ordering::Relaxed);
        self.recount();
    }

    /// Recompute what `sync-replicas` slaves have acknowledged, and wake
    /// whoever waits on acks.
    pub(crate) fn recount(&self) {
        let n = self.sync_n.load(Ordering::Relaxed) as usize;
        {
            // Stored under the lock: two recounts at once (acks of two
            // slaves) cannot leave the older count.
            let sessions = lock(&self.sessions);
            let synced = if n == 0 {
                0
            } else {
                let mut acked: Vec<u64> = sessions
                    .values()
                    .map(|s| s.acked_seq.load(Ordering::Relaxed))
                    .collect();
                acked.sort_unstable_by(|a, b| b.cmp(a));
                acked.get(n - 1).copied().unwrap_or(0)
            };
            self.synced.store(synced, Ordering::Relaxed);
        }
        self.acked.notify_waiters();
    }

    /// How many slaves have acknowledged `target`.
    pub fn acked_at(&self, target: u64) -> usize {
        lock(&self.sessions)
            .values()
            .filter(|s| s.acked_seq.load(Ordering::Relaxed) >= target)
            .count()
    }

    /// `WAIT`: how many slaves acknowledged `target`, waiting up to
    /// `timeout_ms` (0: forever) for `want` of them.
    pub async fn wait(&self, target: u64, want: usize, timeout_ms: u64) -> usize {
        let deadline = (timeout_ms > 0)
            .then(|| tokio::time::Instant::now() + Duration::from_millis(timeout_ms));
        loop {
            let notified = self.acked.notified();
            let n = self.acked_at(target);
            if n >= want {
                return n;
            }
            match deadline {
                Some(d) => {
                    if tokio::time::timeout_at(d, notified).await.is_err() {
                        return n;
                    }
                }
                None => notified.await,
            }
        }
    }

    /// Slaves streaming whose last ack is at most `min-replicas-max-lag`
    /// seconds old (Redis's good replicas: whole seconds, as it counts).
    pub fn good(&self) -> usize {
        let max_lag = self.max_lag.load(Ordering::Relaxed);
        let now = mono_ms();
        lock(&self.sessions)
            .values()
            .filter(|s| {
                s.state.load(Ordering::Relaxed) == SlaveState::Sync as u8
                    && now.saturating_sub(s.last_ack_ms.load(Ordering::Relaxed)) / 1000 <= max_lag
            })
            .count()
    }

    /// `min-replicas-to-write` and `min-replicas-max-lag`, when both are
    /// set (else `None`, as Redis shows nothing).
    pub fn min_replicas(&self) -> Option<(u64, u64)> {
        let n = self.min_to_write.load(Ordering::Relaxed);
        let lag = self.max_lag.load(Ordering::Relaxed);
        (n > 0 && lag > 0).then_some((n, lag))
    }

    /// Why a write may not run now for want of good slaves (a master
    /// with `min-replicas-to-write` set), if so.
    pub fn refuse_write(&self) -> Option<&'static str> {
        let (n, _) = self.min_replicas()?;
        ((self.good() as u64) < n).then_some(NOREPLICAS)
    }

    /// `sync-replicas`: wait until that many slaves have acknowledged
    /// `seq` (a write's group); the refusal to answer instead when they
    /// have not within `sync-replicas-timeout`.
    pub async fn replicated(&self, seq: u64) -> Option<String> {
        let n = self.sync_n.load(Ordering::Relaxed);
        if n == 0 || seq == 0 {
            return None;
        }
        self.sync_waits.fetch_add(1, Ordering::Relaxed);
        let timeout_ms = self.sync_timeout_ms.load(Ordering::Relaxed);
        let deadline = tokio::time::Instant::now() + Duration::from_millis(timeout_ms);
        loop {
            let notified = self.acked.notified();
            // (turned off meanwhile: nothing to wait for)
            if self.synced.load(Ordering::Relaxed) >= seq
                || self.sync_n.load(Ordering::Relaxed) == 0
            {
                return None;
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                if self.synced.load(Ordering::Relaxed) >= seq
                    || self.sync_n.load(Ordering::Relaxed) == 0
                {
                    return None;
                }
                self.sync_timeouts.fetch_add(1, Ordering::Relaxed);
                return Some(format!(
                    "NOREPLICAS Not enough replicas acknowledged this write within {timeout_ms} ms (sync-replicas {n}): it is applied on this master, but a failover may lose it"
                ));
            }
        }
    }

    /// Whether writes wait for slaves' acks.
    pub fn waits_for_acks(&self) -> bool {
        self.sync_n.load(Ordering::Relaxed) > 0
    }
}
