//! The connected clients (CLIENT LIST / KILL) and publish/subscribe
//! (SUBSCRIBE, PSUBSCRIBE, PUBLISH): what Redis Sentinel needs of every
//! node it watches, masters and slaves alike (its hello messages go
//! through `__sentinel__:hello` on each node).

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use bytes::Bytes;
use rocksync_protocol::Reply;
use tokio_util::sync::CancellationToken;

use crate::cmd::generic::glob_match;
use crate::lock;
use crate::outbuf::{Held, LiveLimits, Outbox, OutputLimits};

/// One connection, as CLIENT LIST shows it and CLIENT KILL finds it.
#[derive(Debug)]
pub struct ClientInfo {
    /// Its id (CLIENT ID).
    pub id: u64,
    /// The peer.
    pub peer: SocketAddr,
    /// Our end.
    pub local: SocketAddr,
    /// CLIENT SETNAME.
    pub name: Mutex<Option<Bytes>>,
    /// When it connected.
    pub created: Instant,
    /// When it last sent a command, and which.
    pub last: Mutex<(Instant, String)>,
    /// Cancelled to close the connection (CLIENT KILL, a full backlog).
    pub kill: CancellationToken,
    /// Channels subscribed.
    pub subs: AtomicUsize,
    /// Patterns subscribed.
    pub psubs: AtomicUsize,
    /// Inside MULTI.
    pub in_multi: AtomicBool,
    /// A replication link to a slave (its SYNC140 session).
    pub is_replica: AtomicBool,
    /// Waiting in a blocking command.
    pub blocked: AtomicBool,
    /// The protocol version it speaks (2 or 3), shared with its mailbox.
    pub resp: Arc<AtomicU8>,
    /// The user it is authenticated as (or will be, `default`).
    pub user: Mutex<Bytes>,
    /// What it holds back (its output limits).
    pub held: Arc<Held>,
}

impl ClientInfo {
    fn flags(&self) -> &'static str {
        if self.is_replica.load(Ordering::Relaxed) {
            "S"
        } else if self.subs.load(Ordering::Relaxed) + self.psubs.load(Ordering::Relaxed) > 0 {
            "P"
        } else if self.in_multi.load(Ordering::Relaxed) {
            "x"
        } else if self.blocked.load(Ordering::Relaxed) {
            "b"
        } else {
            "N"
        }
    }

    /// Redis's client type: normal, pubsub, replica (slave).
    fn kind(&self) -> &'static str {
        match self.flags() {
            "S" => "slave",
            "P" => "pubsub",
            _ => "normal",
        }
    }

    /// Record a command, now.
    pub fn touch(&self, cmd: &[u8]) {
        self.note_time(Instant::now());
        self.note_command(cmd);
    }

    /// Record a command (its time is its batch's: [`ClientInfo::note_time`]).
    pub fn note_command(&self, cmd: &[u8]) {
        let mut last = lock(&self.last);
        // `cmd` is lowercase already; no allocation once the string has
        // room (this runs for every command).
        last.1.clear();
        last.1.push_str(std::str::from_utf8(cmd).unwrap_or("?"));
    }

    /// Record when the client's latest batch of commands came (one clock
    /// read a pipeline: CLIENT LIST's idle counts seconds).
    pub fn note_time(&self, at: Instant) {
        lock(&self.last).0 = at;
    }
}

/// What CLIENT KILL matches (all given filters must match).
#[derive(Debug, Default)]
pub struct KillFilter {
    /// `ID n`.
    pub id: Option<u64>,
    /// `ADDR ip:port`.
    pub addr: Option<String>,
    /// `LADDR ip:port`.
    pub laddr: Option<String>,
    /// `TYPE normal|master|slave|replica|pubsub`.
    pub kind: Option<String>,
    /// `SKIPME yes|no` (default yes): the calling client is spared.
    pub skip_me: Option<u64>,
    /// `USER name`: the clients authenticated as it.
    pub user: Option<Bytes>,
    /// `MAXAGE secs`: clients connected at least this long.
    pub max_age_secs: Option<u64>,
}

/// Every connected client.
#[derive(Debug, Default)]
pub struct Clients {
    map: Mutex<BTreeMap<u64, Arc<ClientInfo>>>,
    limits: Arc<LiveLimits>,
}

impl Clients {
    /// `client-output-buffer-limit`'s normal and pubsub classes, for
    /// every client from now on.
    pub fn set_output_limits(&self, l: &OutputLimits) {
        self.limits.set(l);
    }

    /// Register a new connection.
    pub fn add(&self, id: u64, peer: SocketAddr, local: SocketAddr) -> Arc<ClientInfo> {
        let now = Instant::now();
        let info = Arc::new(ClientInfo {
            id,
            peer,
            local,
            name: Mutex::new(None),
            created: now,
            last: Mutex::new((now, "NULL".into())),
            kill: CancellationToken::new(),
            subs: AtomicUsize::new(0),
            psubs: AtomicUsize::new(0),
            in_multi: AtomicBool::new(false),
            is_replica: AtomicBool::new(false),
            blocked: AtomicBool::new(false),
            resp: Arc::new(AtomicU8::new(2)),
            user: Mutex::new(Bytes::from_static(crate::acl::DEFAULT)),
            held: Arc::new(Held::new(Arc::clone(&self.limits))),
        });
        lock(&self.map).insert(id, Arc::clone(&info));
        info
    }

    /// The clients that are sync sessions.
    pub fn replicas(&self) -> usize {
        lock(&self.map)
            .values()
            .filter(|c| c.is_replica.load(Ordering::Relaxed))
            .count()
    }

    /// True while client `id` is connected.
    pub fn exists(&self, id: u64) -> bool {
        lock(&self.map).contains_key(&id)
    }

    /// Forget a closed connection.
    pub fn remove(&self, id: u64) {
        lock(&self.map).remove(&id);
    }

    /// Client `id`'s CLIENT LIST line (without its newline).
    pub fn line(&self, id: u64) -> String {
        let Some(c) = self.get(id) else {
            return String::new();
        };
        let mut out = String::new();
        describe(&c, &mut out);
        out.pop();
        out
    }

    /// The user client `id` is authenticated as.
    pub fn user_of(&self, id: u64) -> Option<Bytes> {
        self.get(id).map(|c| lock(&c.user).clone())
    }

    fn get(&self, id: u64) -> Option<Arc<ClientInfo>> {
        lock(&self.map).get(&id).cloned()
    }

    /// CLIENT LIST, one line per client (Redis 7's fields that apply).
    pub fn list(&self, only: Option<&str>) -> String {
        let mut out = String::new();
        for c in lock(&self.map).values() {
            if only.is_some_and(|k| k != c.kind()) {
                continue;
            }
            describe(c, &mut out);
        }
        out
    }

    /// Close the clients `f` matches; how many.
    pub fn kill(&self, f: &KillFilter) -> usize {
        let victims: Vec<Arc<ClientInfo>> = lock(&self.map)
            .values()
            .filter(|c| f.id.is_none_or(|id| id == c.id))
            .filter(|c| f.addr.as_deref().is_none_or(|a| a == c.peer.to_string()))
            .filter(|c| f.laddr.as_deref().is_none_or(|a| a == c.local.to_string()))
            .filter(|c| {
                f.kind.as_deref().is_none_or(|k| match k {
                    "replica" | "slave" => c.kind() == "slave",
                    "master" => false,
                    k => c.kind() == k,
                })
            })
            .filter(|c| f.skip_me != Some(c.id))
            .filter(|c| f.user.as_ref().is_none_or(|u| *u == *lock(&c.user)))
            .filter(|c| {
                f.max_age_secs
                    .is_none_or(|a| c.created.elapsed().as_secs() >= a)
            })
            .cloned()
            .collect();
        for v in &victims {
            v.kill.cancel();
        }
        victims.len()
    }
}

/// One client's CLIENT LIST line (with its newline) into `out`.
fn describe(c: &ClientInfo, out: &mut String) {
    let (last, cmd) = lock(&c.last).clone();
    let name = lock(&c.name)
        .as_deref()
        .map(String::from_utf8_lossy)
        .unwrap_or_default()
        .into_owned();
    let user = String::from_utf8_lossy(&lock(&c.user)).into_owned();
    let _ = writeln!(
        out,
        "id={} addr={} laddr={} fd=-1 name={name} age={} idle={} flags={} db=0 sub={} psub={} ssub=0 multi={} qbuf=0 qbuf-free=0 argv-mem=0 multi-mem=0 rbs=0 rbp=0 obl=0 oll=0 omem={} tot-mem=0 events=r cmd={cmd} user={user} redir=-1 resp={}",
        c.id,
        c.peer,
        c.local,
        c.created.elapsed().as_secs(),
        last.elapsed().as_secs(),
        c.flags(),
        c.subs.load(Ordering::Relaxed),
        c.psubs.load(Ordering::Relaxed),
        if c.in_multi.load(Ordering::Relaxed) { 0 } else { -1 },
        c.held.bytes(),
        c.resp.load(Ordering::Relaxed),
    );
}

/// Subscribers of channels and patterns, each with the queue of its
/// connection.
#[derive(Debug, Default)]
pub struct PubSub {
    channels: Mutex<HashMap<Bytes, HashMap<u64, Subscriber>>>,
    patterns: Mutex<HashMap<Bytes, HashMap<u64, Subscriber>>>,
}

/// A subscriber's connection: its queue.
pub type Subscriber = Outbox;

impl PubSub {
    /// Subscribe client `id` to `channel` (or to a pattern); false when
    /// it already was.
    pub fn subscribe(&self, pattern: bool, name: Bytes, id: u64, sub: Subscriber) -> bool {
        let map = if pattern {
            &self.patterns
        } else {
            &self.channels
        };
        lock(map).entry(name).or_default().insert(id, sub).is_none()
    }

    /// Every subscription: pattern or not, its channel, the client's id
    /// and its queue.
    pub fn all(&self) -> Vec<(bool, Bytes, u64, Subscriber)> {
        let mut out = Vec::new();
        for (pattern, map) in [(false, &self.channels), (true, &self.patterns)] {
            for (name, subs) in lock(map).iter() {
                for (id, s) in subs {
                    out.push((pattern, name.clone(), *id, s.clone()));
                }
            }
        }
        out
    }

    /// Unsubscribe; false when it was not subscribed.
    pub fn unsubscribe(&self, pattern: bool, name: &[u8], id: u64) -> bool {
        let map = if pattern {
            &self.patterns
        } else {
            &self.channels
        };
        let mut m = lock(map);
        let Some(subs) = m.get_mut(name) else {
            return false;
        };
        let was = subs.remove(&id).is_some();
        if subs.is_empty() {
            m.remove(name);
        }
        was
    }

    /// PUBLISH: deliver to the channel's subscribers and the matching
    /// patterns'; how many received it.
    pub fn publish(&self, channel: &Bytes, message: &Bytes) -> usize {
        let mut n = 0;
        if let Some(subs) = lock(&self.channels).get(channel) {
            for s in subs.values() {
                let msg = Reply::Push(vec![
                    Reply::Bulk(Bytes::from_static(b"message")),
                    Reply::Bulk(channel.clone()),
                    Reply::Bulk(message.clone()),
                ]);
                n += usize::from(s.send(msg));
            }
        }
        for (pattern, subs) in lock(&self.patterns).iter() {
            if !glob_match(pattern, channel) {
                continue;
            }
            for s in subs.values() {
                let msg = Reply::Push(vec![
                    Reply::Bulk(Bytes::from_static(b"pmessage")),
                    Reply::Bulk(pattern.clone()),
                    Reply::Bulk(channel.clone()),
                    Reply::Bulk(message.clone()),
                ]);
                n += usize::from(s.send(msg));
            }
        }
        n
    }
}
