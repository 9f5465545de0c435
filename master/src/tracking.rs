//! Client-side caching (CLIENT TRACKING): which clients may hold which
//! keys, and the invalidation messages a committed write sends them.
//!
//! In the default mode a client is told about the keys it read (each
//! once: reading a key again re-arms it). In broadcasting mode (BCAST) it
//! is told about every key under its prefixes, whoever read it. Messages
//! go to the client's own connection (RESP3 push `invalidate`) or to the
//! client it redirects them to (over RESP2, as a message on the
//! `__redis__:invalidate` channel). Writes reach this table from the
//! storage's commit, so every writer counts: clients, expiry, a master's
//! stream on a slave.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::atomic::{AtomicU8, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use bytes::Bytes;
use rocksync_protocol::{Command, LogEvent, Reply};

use crate::outbuf::Outbox;

/// The channel RESP2 clients receive redirected invalidations on.
pub const INVALIDATE_CHANNEL: &str = "__redis__:invalidate";

/// Most keys remembered for default-mode clients (Redis's
/// `tracking-table-max-keys` default): past it, remembered keys are
/// invalidated early to make room, as Redis does.
pub const MAX_KEYS: usize = 1_000_000;

/// How a client tracks (CLIENT TRACKING ON's options).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Options {
    /// The client invalidations go to (0: this one).
    pub redirect: u64,
    /// Every key under `prefixes`, read or not.
    pub bcast: bool,
    /// BCAST's prefixes (none: every key).
    pub prefixes: Vec<Bytes>,
    /// Only keys read right after CLIENT CACHING YES.
    pub optin: bool,
    /// Every key read but right after CLIENT CACHING NO.
    pub optout: bool,
    /// Not about keys this client changed itself.
    pub noloop: bool,
}

/// Where a client's messages go: its connection's queue, and the protocol
/// it speaks (2 or 3, read when a message is built).
#[derive(Clone)]
pub struct Mailbox {
    /// The connection's queue of out-of-band messages (which closes it
    /// past its output limits).
    pub outbox: Outbox,
    /// Its protocol version.
    pub resp: Arc<AtomicU8>,
}

#[derive(Default)]
struct Inner {
    /// Tracking clients and their options.
    clients: HashMap<u64, Options>,
    /// Connections that can take messages.
    mailboxes: HashMap<u64, Mailbox>,
    /// Default mode: key → the clients that read it since it was last
    /// invalidated for them.
    keys: HashMap<Bytes, HashSet<u64>>,
    /// BCAST: prefix → its clients.
    prefixes: BTreeMap<Bytes, HashSet<u64>>,
    /// Clients whose redirect target has gone.
    broken: HashSet<u64>,
}

/// Every client's tracking, shared by the connections (which record reads
/// and options) and the storage (which invalidates on commit).
#[derive(Default)]
pub struct Tracking {
    /// Tracking clients (a quick check on the write path).
    count: AtomicUsize,
    inner: Mutex<Inner>,
}

impl std::fmt::Debug for Tracking {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tracking")
            .field("clients", &self.count.load(Ordering::Relaxed))
            .finish()
    }
}

impl Tracking {
    fn inner(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Client `id`'s connection takes messages at `mailbox` (from its
    /// first subscription or tracking on, until it closes).
    pub fn open_mailbox(&self, id: u64, mailbox: Mailbox) {
        self.inner().mailboxes.insert(id, mailbox);
    }

    /// Client `id` is gone: it tracks nothing more, and the clients that
    /// redirected to it are told their redirection broke.
    pub fn close(&self, id: u64) {
        self.disable(id);
        let mut inner = self.inner();
        if inner.mailboxes.remove(&id).is_none() {
            return;
        }
        let orphans: Vec<u64> = inner
            .clients
            .iter()
            .filter(|(_, o)| o.redirect == id)
            .map(|(c, _)| *c)
            .collect();
        for c in orphans {
            inner.broken.insert(c);
            if let Some(mb) = inner.mailboxes.get(&c) {
                if mb.resp.load(Ordering::Relaxed) == 3 {
                    mb.outbox.send(Reply::Push(vec![
                        Reply::bulk("tracking-redir-broken"),
                        Reply::Integer(id as i64),
                    ]));
                }
            }
        }
    }

    /// Client `id`'s connection takes no more messages (it left pub/sub
    /// and tracking, but stays connected).
    pub fn close_mailbox(&self, id: u64) {
        self.inner().mailboxes.remove(&id);
    }

    /// True when client `id` has a mailbox (the target of a redirect must).
    pub fn has_mailbox(&self, id: u64) -> bool {
        self.inner().mailboxes.contains_key(&id)
    }

    /// Turn tracking on for client `id` with `opts` (already checked).
    pub fn enable(&self, id: u64, opts: Options) {
        let mut inner = self.inner();
        inner.broken.remove(&id);
        if opts.bcast {
            let prefixes = if opts.prefixes.is_empty() {
                vec![Bytes::new()]
            } else {
                opts.prefixes.clone()
            };
            for p in prefixes {
                inner.prefixes.entry(p).or_default().insert(id);
            }
        }
        if inner.clients.insert(id, opts).is_none() {
            self.count.fetch_add(1, Ordering::Release);
        }
    }

    /// Turn tracking off for client `id`. Its remembered keys stay in the
    /// table until written (as in Redis); nothing is sent for them.
    pub fn disable(&self, id: u64) {
        let mut inner = self.inner();
        let Some(opts) = inner.clients.remove(&id) else {
            return;
        };
        self.count.fetch_sub(1, Ordering::Release);
        inner.broken.remove(&id);
        if opts.bcast {
            inner.prefixes.retain(|_, ids| {
                ids.remove(&id);
                !ids.is_empty()
            });
        }
    }

    /// Client `id`'s options, when it tracks.
    pub fn options(&self, id: u64) -> Option<Options> {
        self.inner().clients.get(&id).cloned()
    }

    /// True when client `id`'s redirect target has gone.
    pub fn broken(&self, id: u64) -> bool {
        self.inner().broken.contains(&id)
    }

    /// Clients tracking now.
    pub fn clients(&self) -> usize {
        self.count.load(Ordering::Acquire)
    }

    /// Keys remembered for default-mode clients.
    pub fn keys(&self) -> usize {
        self.inner().keys.len()
    }

    /// Prefixes broadcast to.
    pub fn prefixes(&self) -> usize {
        self.inner().prefixes.len()
    }

    /// Client `id` (default mode) read `keys`: it hears when they change.
    /// Called before the read, so a write between the two is never
    /// missed (it costs at most one needless message).
    pub fn remember<'k>(&self, id: u64, keys: impl IntoIterator<Item = &'k Bytes>) {
        let mut inner = self.inner();
        for k in keys {
            inner.keys.entry(k.clone()).or_default().insert(id);
        }
        // Over the cap: forget some keys, telling their readers (who then
        // drop them from their caches: nothing goes stale).
        while inner.keys.len() > MAX_KEYS {
            let Some(k) = inner.keys.keys().next().cloned() else {
                break;
            };
            let readers = inner.keys.remove(&k).unwrap_or_default();
            for reader in readers {
                inner.send(reader, Reply::Array(vec![Reply::Bulk(k.clone())]));
            }
        }
    }

    /// Tell the clients about the keys `events` changed; `origins` are
    /// (first event, client) of the commands that made them, in order
    /// (for NOLOOP; empty when no client did).
    pub fn invalidate(&self, events: &[LogEvent], origins: &[(usize, u64)]) {
        // Nobody tracking: nobody to tell (what the table still holds of
        // clients gone is forgotten when written, once someone tracks).
        if self.count.load(Ordering::Acquire) == 0 {
            return;
        }
        let mut inner = self.inner();
        // Per message target: its keys in order (one message per key in
        // default mode, one per prefix in BCAST).
        let mut sends: Vec<(u64, Reply)> = Vec::new();
        let mut bcast: BTreeMap<(u64, Bytes), Vec<Bytes>> = BTreeMap::new();
        let mut seen: HashSet<&[u8]> = HashSet::new();
        for (i, e) in events.iter().enumerate() {
            let origin = origin_of(origins, i);
            if e.cmd == Command::FlushAll {
                // Everyone forgets everything.
                inner.keys.clear();
                for (&id, _) in inner.clients.iter() {
                    sends.push((id, Reply::Nil));
                }
                continue;
            }
            if !e.is_data() || e.cmd.is_function() || !seen.insert(&e.key[..]) {
                continue;
            }
            if let Some(readers) = inner.keys.remove(&e.key[..]) {
                for id in readers {
                    match inner.clients.get(&id) {
                        Some(o) if o.noloop && Some(id) == origin => {}
                        Some(o) if !o.bcast => {
                            sends.push((id, Reply::Array(vec![Reply::Bulk(e.key.clone())])));
                        }
                        _ => {}
                    }
                }
            }
            // A prefix of the key sorts at or before it.
            for (prefix, ids) in inner.prefixes.range(..=e.key.clone()) {
                if !e.key.starts_with(prefix) {
                    continue;
                }
                for &id in ids {
                    let noloop = inner.clients.get(&id).is_some_and(|o| o.noloop);
                    if !(noloop && Some(id) == origin) {
                        bcast
                            .entry((id, prefix.clone()))
                            .or_default()
                            .push(e.key.clone());
                    }
                }
            }
        }
        for ((id, _), keys) in bcast {
            sends.push((
                id,
                Reply::Array(keys.into_iter().map(Reply::Bulk).collect()),
            ));
        }
        for (id, keys) in sends {
            inner.send(id, keys);
        }
    }
}

impl Inner {
    /// Tell tracking client `id` that `keys` (an array, or nil for all)
    /// changed, where its invalidations go.
    fn send(&self, id: u64, keys: Reply) {
        let Some(opts) = self.clients.get(&id) else {
            return;
        };
        let to = if opts.redirect == 0 {
            id
        } else {
            opts.redirect
        };
        let Some(mb) = self.mailboxes.get(&to) else {
            return;
        };
        let msg = if mb.resp.load(Ordering::Relaxed) == 3 {
            Reply::Push(vec![Reply::bulk("invalidate"), keys])
        } else if opts.redirect != 0 {
            Reply::Push(vec![
                Reply::bulk("message"),
                Reply::bulk(INVALIDATE_CHANNEL),
                keys,
            ])
        } else {
            // A RESP2 connection without a redirect cannot be told.
            return;
        };
        // A client past its output limits does not read: its connection
        // is cut (as a pub/sub subscriber's is) rather than its cache left
        // stale; a client that reconnects starts with an empty cache.
        mb.outbox.send(msg);
    }
}

/// The client whose command made event `i`.
fn origin_of(origins: &[(usize, u64)], i: usize) -> Option<u64> {
    let at = origins.partition_point(|&(start, _)| start <= i);
    at.checked_sub(1)
        .map(|j| origins[j].1)
        .filter(|&id| id != 0)
}

#[cfg(test)]
mod tests {
    use tokio::sync::mpsc;
    use tokio_util::sync::CancellationToken;

    use super::*;
    use crate::outbuf::{Held, LiveLimits, OutputLimits};

    fn ev(cmd: Command, key: &str) -> LogEvent {
        LogEvent::data(1, cmd, Bytes::from(key.to_owned()), Bytes::new())
    }

    fn mailbox(t: &Tracking, id: u64, resp: u8) -> mpsc::UnboundedReceiver<Reply> {
        let held = Arc::new(Held::new(Arc::default()));
        let (outbox, rx) = Outbox::open(held, CancellationToken::new());
        t.open_mailbox(
            id,
            Mailbox {
                outbox,
                resp: Arc::new(AtomicU8::new(resp)),
            },
        );
        rx
    }

    fn drain(rx: &mut mpsc::UnboundedReceiver<Reply>) -> Vec<Reply> {
        std::iter::from_fn(|| rx.try_recv().ok()).collect()
    }

    fn inv(keys: &[&str]) -> Reply {
        Reply::Push(vec![
            Reply::bulk("invalidate"),
            Reply::Array(keys.iter().map(|k| Reply::bulk(k.to_string())).collect()),
        ])
    }

    #[test]
    fn a_read_key_is_invalidated_once() {
        let t = Tracking::default();
        let mut rx = mailbox(&t, 1, 3);
        t.enable(1, Options::default());
        t.remember(1, [&Bytes::from_static(b"a")]);
        t.invalidate(&[ev(Command::KSet, "b")], &[]);
        assert!(drain(&mut rx).is_empty());
        t.invalidate(&[ev(Command::KSet, "a"), ev(Command::KSet, "a")], &[]);
        assert_eq!(drain(&mut rx), vec![inv(&["a"])]);
        // Not read again: not told again.
        t.invalidate(&[ev(Command::KSet, "a")], &[]);
        assert!(drain(&mut rx).is_empty());
    }

    #[test]
    fn noloop_skips_the_clients_own_writes() {
        let t = Tracking::default();
        let mut rx = mailbox(&t, 1, 3);
        t.enable(
            1,
            Options {
                noloop: true,
                ..Options::default()
            },
        );
        t.remember(1, [&Bytes::from_static(b"a"), &Bytes::from_static(b"b")]);
        // Event 0 by client 1 itself, event 1 by client 2.
        t.invalidate(
            &[ev(Command::KSet, "a"), ev(Command::KSet, "b")],
            &[(0, 1), (1, 2)],
        );
        assert_eq!(drain(&mut rx), vec![inv(&["b"])]);
    }

    #[test]
    fn bcast_sends_every_key_under_a_prefix_in_one_message() {
        let t = Tracking::default();
        let mut rx = mailbox(&t, 1, 3);
        t.enable(
            1,
            Options {
                bcast: true,
                prefixes: vec![Bytes::from_static(b"user:")],
                ..Options::default()
            },
        );
        t.invalidate(
            &[
                ev(Command::KSet, "user:1"),
                ev(Command::KSet, "other"),
                ev(Command::HSet, "user:2"),
            ],
            &[],
        );
        assert_eq!(drain(&mut rx), vec![inv(&["user:1", "user:2"])]);
        t.disable(1);
        t.invalidate(&[ev(Command::KSet, "user:3")], &[]);
        assert!(drain(&mut rx).is_empty());
    }

    #[test]
    fn a_resp2_redirect_gets_a_channel_message_and_flush_sends_null() {
        let t = Tracking::default();
        let mut target = mailbox(&t, 9, 2);
        t.enable(
            1,
            Options {
                redirect: 9,
                ..Options::default()
            },
        );
        t.remember(1, [&Bytes::from_static(b"k")]);
        t.invalidate(&[ev(Command::KDel, "k")], &[]);
        t.invalidate(&[ev(Command::FlushAll, "")], &[]);
        assert_eq!(
            drain(&mut target),
            vec![
                Reply::Push(vec![
                    Reply::bulk("message"),
                    Reply::bulk(INVALIDATE_CHANNEL),
                    Reply::Array(vec![Reply::bulk("k")]),
                ]),
                Reply::Push(vec![
                    Reply::bulk("message"),
                    Reply::bulk(INVALIDATE_CHANNEL),
                    Reply::Nil,
                ]),
            ]
        );
        // The target goes: the tracking client is told (RESP3), and its
        // redirection shows as broken.
        let mut own = mailbox(&t, 1, 3);
        t.close(9);
        assert!(t.broken(1));
        assert_eq!(
            drain(&mut own),
            vec![Reply::Push(vec![
                Reply::bulk("tracking-redir-broken"),
                Reply::Integer(9)
            ])]
        );
    }

    /// A client that does not read its invalidations is cut off at its
    /// output limit, never left with a stale cache.
    #[test]
    fn a_client_past_its_output_limit_is_disconnected() {
        let t = Tracking::default();
        let limits = Arc::new(LiveLimits::default());
        let mut l = OutputLimits::default();
        l.normal.hard = 100;
        limits.set(&l);
        let kill = CancellationToken::new();
        let (outbox, _rx) = Outbox::open(Arc::new(Held::new(limits)), kill.clone());
        t.open_mailbox(
            1,
            Mailbox {
                outbox,
                resp: Arc::new(AtomicU8::new(3)),
            },
        );
        t.enable(1, Options::default());
        for (key, cut) in [("a", false), ("b", true)] {
            t.remember(1, [&Bytes::from(key)]);
            t.invalidate(&[ev(Command::KSet, key)], &[]);
            // One message fits in 100 bytes; two do not.
            assert_eq!(kill.is_cancelled(), cut, "after {key}");
        }
    }
}
