//! The slaves a node serves, as INFO, ROLE and WAIT see them: each
//! session's state, progress and acks, and the sessions counted by how
//! they began.

use std::sync::atomic::{AtomicU64, AtomicU8, Ordering};

use tokio_util::sync::CancellationToken;

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
}
