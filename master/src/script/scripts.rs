//! The scripts loaded and the state of the one that runs: what the
//! connections share with the interpreter (SCRIPT EXISTS, EVALSHA, SCRIPT
//! KILL, BUSY, FUNCTION STATS).

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicU8, Ordering};
use std::sync::{Mutex, PoisonError};

use bytes::Bytes;
use rocksync_protocol::Reply;

use super::sha1_hex;

/// Scripts by their SHA-1 (hex): keys come from clients, so the hash is
/// seeded per process.
pub(super) type ByName<V> = HashMap<String, V, foldhash::fast::RandomState>;

/// The scripts loaded (EVAL, SCRIPT LOAD), by SHA-1, shared by the
/// connections (SCRIPT EXISTS, EVALSHA) and the interpreter.
#[derive(Debug, Default)]
pub struct Scripts {
    pub(super) bodies: Mutex<ByName<Bytes>>,
    /// Bumped by SCRIPT FLUSH: the interpreter drops its compiled forms.
    pub(super) generation: AtomicU64,
    /// The running script's state: [`IDLE`], [`RUNNING`], [`WROTE`] or
    /// [`KILLED`], changed by compare-and-swap so that SCRIPT KILL and a
    /// first write cannot both win.
    pub(super) state: AtomicU8,
    /// Since when (ms).
    pub(super) running_since: AtomicU64,
    /// The node is shutting down: the running script stops even after
    /// writing, and its group is not committed (SHUTDOWN NOSAVE's way out).
    pub(super) abort: AtomicBool,
    /// How long each script's last run took (µs).
    pub(super) last_run_us: Mutex<ByName<u64>>,
    /// The running function (FUNCTION STATS).
    pub(super) function: Mutex<RunningFunction>,
}

/// The function that runs, if one does: its name and its command line,
/// kept in buffers reused from call to call (every FCALL sets them).
#[derive(Debug, Default)]
pub(super) struct RunningFunction {
    pub(super) running: bool,
    /// As registered.
    pub(super) name: String,
    /// `FCALL name numkeys` as the client sent them.
    pub(super) called: [Bytes; 3],
    /// KEYS, then ARGV.
    pub(super) args: Vec<Bytes>,
}

impl RunningFunction {
    /// Its name, and its command line as the client sent it, while it
    /// runs.
    fn command(&self) -> Option<(String, Vec<Bytes>)> {
        if !self.running {
            return None;
        }
        let line = self.called.iter().chain(&self.args).cloned().collect();
        Some((self.name.clone(), line))
    }
}

pub(super) const IDLE: u8 = 0;
pub(super) const RUNNING: u8 = 1;
const WROTE: u8 = 2;
const KILLED: u8 = 3;

/// The error a killed script stops with (no pcall catches it).
pub(super) const KILLED_ERR: &str = "ERR Script killed by user with SCRIPT KILL...";

/// A script whose last run took longer may take long again: it runs
/// where it cannot hold up other connections (see the write path).
const QUICK_US: u64 = 1000;

impl Scripts {
    pub(super) fn bodies(&self) -> std::sync::MutexGuard<'_, ByName<Bytes>> {
        self.bodies.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Keep `body`; its SHA-1.
    pub fn load(&self, body: Bytes) -> String {
        let sha = sha1_hex(&body);
        self.bodies().entry(sha.clone()).or_insert(body);
        sha
    }

    /// The body named `sha` (any case), if loaded. (Every EVALSHA asks,
    /// twice: lowered on the stack, not in a new string.)
    pub fn get(&self, sha: &[u8]) -> Option<Bytes> {
        let mut lower = [0u8; 40];
        if sha.len() != lower.len() {
            return None;
        }
        for (l, c) in lower.iter_mut().zip(sha) {
            *l = c.to_ascii_lowercase();
        }
        let sha = std::str::from_utf8(&lower).ok()?;
        self.bodies().get(sha).cloned()
    }

    /// Forget every script (SCRIPT FLUSH).
    pub fn flush(&self) {
        self.bodies().clear();
        self.last_run_us
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clear();
        self.generation.fetch_add(1, Ordering::AcqRel);
    }

    /// Since when (unix ms) a script has been running, if one is.
    pub fn running_since(&self) -> Option<u64> {
        (self.state.load(Ordering::Acquire) != IDLE)
            .then(|| self.running_since.load(Ordering::Acquire))
    }

    /// What runs, if anything: a function's name and command (`None` for
    /// an EVAL script), and since when (unix ms).
    #[allow(clippy::type_complexity)]
    pub fn running(&self) -> Option<(Option<(String, Vec<Bytes>)>, u64)> {
        let since = self.running_since()?;
        let f = self
            .function
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .command();
        Some((f, since))
    }

    /// SCRIPT KILL: `Err` with Redis's reason when nothing can be killed.
    ///
    /// # Errors
    /// NOTBUSY when no script runs, UNKILLABLE when it has written.
    pub fn kill(&self) -> Result<(), Reply> {
        match self
            .state
            .compare_exchange(RUNNING, KILLED, Ordering::AcqRel, Ordering::Acquire)
        {
            Ok(_) | Err(KILLED) => Ok(()),
            Err(WROTE) => Err(Reply::error("UNKILLABLE Sorry the script already executed write commands against the dataset. You can either wait the script termination or kill the server in a hard way using the SHUTDOWN NOSAVE command.")),
            Err(_) => Err(Reply::error("NOTBUSY No scripts in execution right now.")),
        }
    }

    /// The node is stopping: a running script stops at its next check,
    /// whatever it wrote (the write path drops its group).
    pub fn abort(&self) {
        self.abort.store(true, Ordering::Release);
    }

    /// True once [`Scripts::abort`] was called.
    pub fn aborted(&self) -> bool {
        self.abort.load(Ordering::Acquire)
    }

    /// Whether the running script must stop now.
    pub(super) fn must_stop(&self) -> bool {
        self.state.load(Ordering::Acquire) == KILLED || self.aborted()
    }

    /// True unless script `sha` ran before, in under a millisecond.
    pub fn may_run_long(&self, sha: &str) -> bool {
        self.last_run_us
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(sha)
            .is_none_or(|&us| us >= QUICK_US)
    }

    /// The running script is about to write: from now on SCRIPT KILL
    /// cannot stop it. False when it was killed first (it must not write).
    pub fn note_write(&self) -> bool {
        match self
            .state
            .compare_exchange(RUNNING, WROTE, Ordering::AcqRel, Ordering::Acquire)
        {
            Ok(_) | Err(WROTE) => !self.aborted(),
            Err(_) => false,
        }
    }
}
