//! Clients blocked in BLPOP, BRPOP, BLMOVE, BRPOPLPUSH, BLMPOP,
//! BZPOPMIN, BZPOPMAX and BZMPOP, waiting for their keys to get data.
//!
//! Only the write path registers and serves waiters, so a waiter is
//! registered in the same step as the attempt that found nothing, and is
//! served (in arrival order per key) right after the command that fed its
//! key, before any other command runs. A serve is the command itself
//! narrowed to the fed key, logged as one command: slaves see exactly
//! what the client got. A client that stops waiting (timeout, disconnect)
//! takes its entry out itself; if the write path took it first, the reply
//! is already on its way.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use bytes::Bytes;
use rocksync_protocol::Reply;
use tokio::sync::oneshot;

use crate::cmd::spec::Meta;
use crate::cmd::WriteOp;

/// A blocked client's command and where its answer goes.
pub struct Waiter {
    /// What the command is.
    pub meta: &'static Meta,
    /// The keys it waits on, each with the command narrowed to it
    /// (parsed on its connection).
    pub served: Vec<(Bytes, Box<dyn WriteOp>)>,
    /// The keys it waits on.
    pub keys: Vec<Bytes>,
    /// Its answer.
    pub reply: oneshot::Sender<Reply>,
}

#[derive(Default)]
struct Inner {
    next_id: u64,
    by_key: HashMap<Bytes, VecDeque<u64>>,
    waiters: HashMap<u64, Waiter>,
}

/// What is called with the keys a slave's apply fed that someone waits
/// on: it has the write path serve them.
pub type Doorbell = Box<dyn Fn(Vec<Bytes>) + Send + Sync>;

/// Every blocked client, by key, in arrival order.
#[derive(Default)]
pub struct Blocked {
    count: AtomicUsize,
    inner: Mutex<Inner>,
    doorbell: Mutex<Option<Doorbell>>,
}

impl Blocked {
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Clients blocked now.
    pub fn len(&self) -> usize {
        self.count.load(Ordering::Acquire)
    }

    /// True when no client is blocked.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Register `w` behind those already waiting on its keys.
    pub fn add(&self, w: Waiter) -> u64 {
        let mut g = self.lock();
        g.next_id += 1;
        let id = g.next_id;
        for k in &w.keys {
            let q = g.by_key.entry(k.clone()).or_default();
            if !q.contains(&id) {
                q.push_back(id);
            }
        }
        g.waiters.insert(id, w);
        self.count.fetch_add(1, Ordering::Release);
        id
    }

    /// Take waiter `id` out (served, timed out or gone).
    pub fn remove(&self, id: u64) -> Option<Waiter> {
        let mut g = self.lock();
        let w = g.waiters.remove(&id)?;
        for k in &w.keys {
            if let Some(q) = g.by_key.get_mut(k) {
                q.retain(|&x| x != id);
                if q.is_empty() {
                    g.by_key.remove(k);
                }
            }
        }
        self.count.fetch_sub(1, Ordering::Release);
        Some(w)
    }

    /// Put back a waiter taken out but not served, where it was in line
    /// on each of its keys (ids grow with arrival).
    pub fn put_back(&self, id: u64, w: Waiter) {
        let mut g = self.lock();
        for k in &w.keys {
            let q = g.by_key.entry(k.clone()).or_default();
            if !q.contains(&id) {
                let at = q.partition_point(|&x| x < id);
                q.insert(at, id);
            }
        }
        g.waiters.insert(id, w);
        self.count.fetch_add(1, Ordering::Release);
    }

    /// Every key someone waits on.
    pub fn keys(&self) -> Vec<Bytes> {
        if self.is_empty() {
            return Vec::new();
        }
        self.lock().by_key.keys().cloned().collect()
    }

    /// True when someone waits on `key`.
    pub fn has_waiters(&self, key: &[u8]) -> bool {
        !self.is_empty() && self.lock().by_key.contains_key(key)
    }

    /// Those waiting on `key`, first come first: their ids and commands
    /// (those whose client is gone are dropped).
    pub fn waiting_on(&self, key: &[u8]) -> Vec<(u64, &'static Meta)> {
        let g = self.lock();
        let ids: Vec<u64> = g
            .by_key
            .get(key)
            .map(|q| q.iter().copied().collect())
            .unwrap_or_default();
        let gone: Vec<u64> = ids
            .iter()
            .copied()
            .filter(|id| g.waiters.get(id).is_some_and(|w| w.reply.is_closed()))
            .collect();
        drop(g);
        for id in gone {
            self.remove(id);
        }
        let g = self.lock();
        ids.into_iter()
            .filter_map(|id| g.waiters.get(&id).map(|w| (id, w.meta)))
            .collect()
    }

    /// Set what [`Blocked::fed`] rings.
    pub fn set_doorbell(&self, d: Doorbell) {
        *self.doorbell.lock().unwrap_or_else(PoisonError::into_inner) = Some(d);
    }

    /// A slave applied `events` (its master's): the keys they feed that
    /// someone waits on (an XREAD on the slave) are served.
    pub fn fed(&self, events: &[rocksync_protocol::LogEvent]) {
        if self.is_empty() {
            return;
        }
        let mut keys: Vec<Bytes> = Vec::new();
        for e in events {
            if e.cmd == rocksync_protocol::Command::FlushAll {
                for k in self.keys() {
                    if !keys.contains(&k) {
                        keys.push(k);
                    }
                }
                continue;
            }
            if !keys.contains(&e.key) && self.has_waiters(&e.key) && crate::cmd::stream::wakes(e) {
                keys.push(e.key.clone());
            }
        }
        if keys.is_empty() {
            return;
        }
        if let Some(ring) = self
            .doorbell
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .as_ref()
        {
            ring(keys);
        }
    }

    /// Take every waiter out (the node stops taking writes).
    pub fn drain(&self) -> Vec<Waiter> {
        let mut g = self.lock();
        g.by_key.clear();
        let all: Vec<Waiter> = g.waiters.drain().map(|(_, w)| w).collect();
        self.count.store(0, Ordering::Release);
        all
    }
}

/// What a blocking command got on its first attempt.
pub enum BlockStart {
    /// Answered at once (data was there, or an error).
    Done(Reply),
    /// Registered: wait for the answer.
    Waiting(Wait),
}

/// A registered wait.
pub struct Wait {
    /// Its id in [`Blocked`].
    pub id: u64,
    /// The answer, when served.
    pub rx: oneshot::Receiver<Reply>,
    /// The registry, to leave it.
    pub blocked: Arc<Blocked>,
}

impl Wait {
    /// Stop waiting: `None` when nothing was served; the answer when the
    /// write path served this wait first.
    pub async fn cancel(self) -> Option<Reply> {
        if self.blocked.remove(self.id).is_some() {
            return None;
        }
        self.rx.await.ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn waiter(keys: &[&'static str]) -> Waiter {
        let spec = crate::command::all().next().expect("a command");
        Waiter {
            meta: &spec.meta,
            served: Vec::new(),
            keys: keys
                .iter()
                .map(|k| Bytes::from_static(k.as_bytes()))
                .collect(),
            reply: oneshot::channel().0,
        }
    }

    /// A waiter taken out and put back (woken by one of its keys, not
    /// served) keeps its place behind those that came before it on its
    /// other keys: first come, first served.
    #[test]
    fn a_waiter_put_back_keeps_its_place_in_line() {
        let b = Blocked::default();
        let first = b.add(waiter(&["q2"]));
        let second = b.add(waiter(&["q1", "q2"]));
        let third = b.add(waiter(&["q2"]));
        let w = b.remove(second).expect("there");
        b.put_back(second, w);
        let order: Vec<u64> = b.lock().by_key[&Bytes::from_static(b"q2")]
            .iter()
            .copied()
            .collect();
        assert_eq!(order, vec![first, second, third]);
        assert_eq!(b.len(), 3);
    }
}
