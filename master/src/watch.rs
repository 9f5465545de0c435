//! WATCH: optimistic transactions. A client's [`Watch`] is marked dirty
//! when a write touches one of its keys; its EXEC then does nothing and
//! returns nil (Redis's check-and-set).
//!
//! Touches come from the write path, which marks watchers twice: as each
//! command runs (so an EXEC later in the same group sees it), and once the
//! group is in the store (so a WATCH registered between the two, whose
//! reads saw the old value, is marked too). An EXEC also fails when a key
//! that was live at WATCH has expired since, as in Redis 7.0.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use bytes::Bytes;
use rocksync_protocol::{Command, LogEvent};

/// One client's watched keys.
#[derive(Debug, Default)]
pub struct Watch {
    dirty: AtomicBool,
    /// The earliest expiry time (unix ms) of a key live when watched;
    /// u64::MAX when none expires.
    deadline: AtomicU64,
    keys: Mutex<Vec<Bytes>>,
    /// Keys already expired (not yet deleted) when watched: deleting them
    /// changes nothing (Redis 7.0).
    expired: Mutex<Vec<Bytes>>,
}

impl Watch {
    fn new() -> Self {
        Self {
            deadline: AtomicU64::new(u64::MAX),
            ..Self::default()
        }
    }

    /// True when EXEC must abort at `now_ms`: a watched key was touched,
    /// or one live when watched has expired.
    pub fn broken(&self, now_ms: u64) -> bool {
        self.dirty.load(Ordering::Acquire) || self.deadline.load(Ordering::Acquire) <= now_ms
    }

    /// True when one of the watched keys is in `events` (a FLUSHALL
    /// touches them all).
    pub fn touched_by(&self, events: &[LogEvent]) -> bool {
        let keys = self.keys.lock().unwrap_or_else(PoisonError::into_inner);
        let expired = self.expired.lock().unwrap_or_else(PoisonError::into_inner);
        events.iter().any(|e| {
            e.cmd == Command::FlushAll
                || (!e.cmd.is_function()
                    && keys.iter().any(|k| k[..] == e.key[..])
                    && !(e.cmd == Command::KDel && expired.iter().any(|k| k[..] == e.key[..])))
        })
    }

    /// The watched key, live, expires at `at_ms`: EXEC fails from then.
    pub fn note_expiry(&self, at_ms: u64) {
        self.deadline.fetch_min(at_ms, Ordering::AcqRel);
    }

    /// The watched key was already expired when watched.
    pub fn note_expired(&self, key: Bytes) {
        self.expired
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(key);
    }

    /// A write `e` to one of the keys: dirty, unless it deletes a key
    /// that was already expired when watched (that only forgets it).
    fn touch(&self, e: &LogEvent) {
        if e.cmd == Command::KDel {
            let mut expired = self.expired.lock().unwrap_or_else(PoisonError::into_inner);
            if let Some(i) = expired.iter().position(|k| k[..] == e.key[..]) {
                expired.swap_remove(i);
                return;
            }
        }
        self.dirty.store(true, Ordering::Release);
    }
}

/// Every client's watches, by key.
#[derive(Debug, Default)]
pub struct Watches {
    /// Keys watched (a quick check on the write path).
    count: AtomicUsize,
    by_key: Mutex<HashMap<Bytes, Vec<Arc<Watch>>>>,
}

impl Watches {
    /// Watch `key` for the client holding `watch` (created on its first
    /// WATCH): false when it was watched already. The caller reads the
    /// key's expiry after this (so no write can fall between the read and
    /// the registration) and notes it on the watch.
    pub fn watch(&self, watch: &mut Option<Arc<Watch>>, key: Bytes) -> bool {
        let w = watch.get_or_insert_with(|| Arc::new(Watch::new()));
        {
            let mut keys = w.keys.lock().unwrap_or_else(PoisonError::into_inner);
            if keys.contains(&key) {
                return false;
            }
            keys.push(key.clone());
        }
        let mut map = self.by_key.lock().unwrap_or_else(PoisonError::into_inner);
        map.entry(key).or_default().push(Arc::clone(w));
        self.count.fetch_add(1, Ordering::Release);
        true
    }

    /// Forget every key of `watch` (UNWATCH, EXEC, DISCARD, disconnect).
    pub fn unwatch(&self, watch: &mut Option<Arc<Watch>>) {
        let Some(w) = watch.take() else {
            return;
        };
        let keys = std::mem::take(&mut *w.keys.lock().unwrap_or_else(PoisonError::into_inner));
        let mut map = self.by_key.lock().unwrap_or_else(PoisonError::into_inner);
        for k in keys {
            if let Some(v) = map.get_mut(&k) {
                v.retain(|x| !Arc::ptr_eq(x, &w));
                if v.is_empty() {
                    map.remove(&k);
                }
                self.count.fetch_sub(1, Ordering::Release);
            }
        }
    }

    /// Mark the watchers of every key in `events` dirty.
    pub fn touch(&self, events: &[LogEvent]) {
        if self.count.load(Ordering::Acquire) == 0 || events.is_empty() {
            return;
        }
        let map = self.by_key.lock().unwrap_or_else(PoisonError::into_inner);
        for e in events {
            if e.cmd == Command::FlushAll {
                map.values()
                    .flatten()
                    .for_each(|w| w.dirty.store(true, Ordering::Release));
                return;
            }
            if e.cmd.is_function() {
                continue;
            }
            if let Some(v) = map.get(&e.key[..]) {
                v.iter().for_each(|w| w.touch(e));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(cmd: Command, key: &str) -> LogEvent {
        LogEvent::data(1, cmd, Bytes::from(key.to_owned()), Bytes::new())
    }

    #[test]
    fn a_touch_marks_only_the_watchers_of_that_key() {
        let ws = Watches::default();
        let (mut a, mut b) = (None, None);
        ws.watch(&mut a, Bytes::from_static(b"x"));
        ws.watch(&mut b, Bytes::from_static(b"y"));
        ws.touch(&[ev(Command::KSet, "x")]);
        assert!(a.as_ref().expect("watch").broken(0));
        assert!(!b.as_ref().expect("watch").broken(0));
        ws.touch(&[ev(Command::FlushAll, "")]);
        assert!(b.as_ref().expect("watch").broken(0));
        ws.unwatch(&mut a);
        ws.unwatch(&mut b);
        assert_eq!(ws.count.load(Ordering::Relaxed), 0);
        assert!(ws.by_key.lock().expect("watch").is_empty());
    }

    #[test]
    fn a_watched_key_that_expires_breaks_the_watch() {
        let ws = Watches::default();
        let mut a = None;
        assert!(ws.watch(&mut a, Bytes::from_static(b"x")));
        assert!(!ws.watch(&mut a, Bytes::from_static(b"x")));
        let w = a.clone().expect("watch");
        w.note_expiry(1000);
        assert!(!w.broken(999));
        assert!(w.broken(1000));
        assert!(w.touched_by(&[ev(Command::HSet, "x")]));
        assert!(!w.touched_by(&[ev(Command::HSet, "z")]));
        ws.unwatch(&mut a);
    }

    #[test]
    fn deleting_a_key_expired_when_watched_changes_nothing() {
        let ws = Watches::default();
        let mut a = None;
        ws.watch(&mut a, Bytes::from_static(b"gone"));
        let w = a.clone().expect("watch");
        w.note_expired(Bytes::from_static(b"gone"));
        assert!(!w.touched_by(&[ev(Command::KDel, "gone")]));
        ws.touch(&[ev(Command::KDel, "gone")]);
        assert!(!w.broken(0));
        // Once deleted, the key is an ordinary missing key.
        ws.touch(&[ev(Command::KSet, "gone")]);
        assert!(w.broken(0));
        ws.unwatch(&mut a);
    }
}
