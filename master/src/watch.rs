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
        events
            .iter()
            .any(|e| e.cmd == Command::FlushAll || keys.iter().any(|k| k[..] == e.key[..]))
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
    /// WATCH); `expires_ms` is the key's expiry time when it is live with
    /// one.
    pub fn watch(&self, watch: &mut Option<Arc<Watch>>, key: Bytes, expires_ms: Option<u64>) {
        let w = watch.get_or_insert_with(|| Arc::new(Watch::new()));
        {
            let mut keys = w.keys.lock().unwrap_or_else(PoisonError::into_inner);
            if keys.contains(&key) {
                return;
            }
            keys.push(key.clone());
        }
        if let Some(t) = expires_ms {
            w.deadline.fetch_min(t, Ordering::AcqRel);
        }
        let mut map = self.by_key.lock().unwrap_or_else(PoisonError::into_inner);
        map.entry(key).or_default().push(Arc::clone(w));
        self.count.fetch_add(1, Ordering::Release);
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
            if let Some(v) = map.get(&e.key[..]) {
                v.iter()
                    .for_each(|w| w.dirty.store(true, Ordering::Release));
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
        ws.watch(&mut a, Bytes::from_static(b"x"), None);
        ws.watch(&mut b, Bytes::from_static(b"y"), None);
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
        ws.watch(&mut a, Bytes::from_static(b"x"), Some(1000));
        ws.watch(&mut a, Bytes::from_static(b"x"), Some(10));
        let w = a.clone().expect("watch");
        assert!(!w.broken(999));
        assert!(w.broken(1000));
        assert!(w.touched_by(&[ev(Command::HSet, "x")]));
        assert!(!w.touched_by(&[ev(Command::HSet, "z")]));
        ws.unwatch(&mut a);
    }
}
