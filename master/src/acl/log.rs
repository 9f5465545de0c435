//! ACL LOG: the latest denials and failed AUTHs, newest first; the same
//! denial again within a minute counts in its entry instead of adding one.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use bytes::Bytes;

/// Where the denied command ran.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Context {
    /// Sent by the client.
    Toplevel,
    /// Inside a MULTI.
    Multi,
    /// Called by a script.
    Lua,
}

impl Context {
    /// Its word in ACL LOG.
    pub fn word(self) -> &'static str {
        match self {
            Context::Toplevel => "toplevel",
            Context::Multi => "multi",
            Context::Lua => "lua",
        }
    }
}

/// One entry.
#[derive(Debug, Clone)]
pub struct LogEntry {
    /// How many times, within a minute of each other.
    pub count: u64,
    /// `command`, `key`, `channel` or `auth`.
    pub reason: &'static str,
    /// Where it ran.
    pub context: Context,
    /// The command, key or channel denied (`AUTH` for a failed AUTH).
    pub object: Bytes,
    /// The user.
    pub username: Bytes,
    /// The last time.
    pub at: Instant,
    /// The client, as CLIENT LIST shows it, the last time.
    pub client_info: String,
}

/// Entries are merged within this time of each other.
const MERGE_WITHIN: Duration = Duration::from_secs(60);

/// The log.
#[derive(Debug)]
pub struct AclLog {
    entries: Mutex<VecDeque<LogEntry>>,
    max_len: AtomicUsize,
}

impl Default for AclLog {
    fn default() -> Self {
        Self {
            entries: Mutex::default(),
            max_len: AtomicUsize::new(128),
        }
    }
}

impl AclLog {
    /// `acllog-max-len`.
    pub fn set_max_len(&self, n: u64) {
        // (as Redis: the log shrinks at its next entry)
        let n = usize::try_from(n).unwrap_or(usize::MAX);
        self.max_len.store(n, Ordering::Relaxed);
    }

    /// Log a denial (or failed AUTH).
    pub fn add(&self, mut e: LogEntry) {
        let mut entries = crate::lock(&self.entries);
        // (the newest few only, as Redis)
        let same = entries.iter().take(10).position(|o| {
            o.reason == e.reason
                && o.context == e.context
                && o.object == e.object
                && o.username == e.username
                && e.at.duration_since(o.at) <= MERGE_WITHIN
        });
        if let Some(i) = same {
            if let Some(old) = entries.remove(i) {
                e.count = old.count + 1;
            }
        }
        entries.push_front(e);
        entries.truncate(self.max_len.load(Ordering::Relaxed));
    }

    /// The newest `n` entries.
    pub fn latest(&self, n: usize) -> Vec<LogEntry> {
        crate::lock(&self.entries).iter().take(n).cloned().collect()
    }

    /// ACL LOG RESET.
    pub fn reset(&self) {
        crate::lock(&self.entries).clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(object: &'static str, at: Instant) -> LogEntry {
        LogEntry {
            count: 1,
            reason: "command",
            context: Context::Toplevel,
            object: Bytes::from_static(object.as_bytes()),
            username: Bytes::from_static(b"u"),
            at,
            client_info: String::new(),
        }
    }

    #[test]
    fn the_same_denial_counts_in_one_entry_and_the_log_is_bounded() {
        let log = AclLog::default();
        let t = Instant::now();
        log.add(entry("get", t));
        log.add(entry("set", t));
        log.add(entry("get", t + Duration::from_secs(1)));
        let l = log.latest(10);
        assert_eq!(l.len(), 2);
        assert_eq!((&l[0].object[..], l[0].count), (&b"get"[..], 2));
        log.add(entry("get", t + Duration::from_secs(120)));
        assert_eq!(log.latest(10).len(), 3, "a minute later it is a new entry");
        log.set_max_len(1);
        log.add(entry("del", t));
        assert_eq!(log.latest(10).len(), 1);
    }
}
