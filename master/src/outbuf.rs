//! `client-output-buffer-limit` in Redis's syntax: `<class> <hard> <soft>
//! <seconds>` for any of the classes `normal`, `replica` (`slave`) and
//! `pubsub`, sizes in bytes or with Redis's units (`256mb`, `64kb`, `1g`).
//! A client of the class is dropped once what it holds back passes the
//! hard limit, or stays past the soft limit for the seconds given; 0
//! turns a limit off.
//!
//! For a slave, what it holds back is the binlog from its position on
//! (what purge must keep for it), so the replica limit caps the disk a
//! slow slave pins, as Redis's caps the memory. For any other client it is
//! the bytes of its replies its socket has not taken, and of the messages
//! (pub/sub, invalidations) queued for it: a [`Held`] counts them, and an
//! [`Outbox`] is the queue. The class is `pubsub` while the client holds a
//! subscription, `normal` otherwise, as in Redis.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

use rocksync_protocol::Reply;
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::clock::mono_ms;

/// One class's limits.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct OutputLimit {
    /// Bytes past which the client is dropped at once (0: none).
    pub hard: u64,
    /// Bytes past which, for `secs` seconds in a row, it is dropped.
    pub soft: u64,
    /// Seconds over the soft limit.
    pub secs: u64,
}

impl OutputLimit {
    /// True when neither limit is set.
    pub fn is_off(&self) -> bool {
        self.hard == 0 && (self.soft == 0 || self.secs == 0)
    }
}

/// The limits of every class.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct OutputLimits {
    /// Normal clients.
    pub normal: OutputLimit,
    /// Slaves' sync sessions.
    pub replica: OutputLimit,
    /// Subscribers.
    pub pubsub: OutputLimit,
}

impl Default for OutputLimits {
    /// Redis's for normal clients and subscribers (`normal 0 0 0`,
    /// `pubsub 32mb 8mb 60`); none for slaves, whose binlog is on disk.
    fn default() -> Self {
        Self {
            normal: OutputLimit::default(),
            replica: OutputLimit::default(),
            pubsub: OutputLimit {
                hard: 32 << 20,
                soft: 8 << 20,
                secs: 60,
            },
        }
    }
}

/// A size with Redis's units: `b`, `k` (1000), `kb` (1024), `m`, `mb`,
/// `g`, `gb`, any case.
fn bytes(s: &str) -> Result<u64, String> {
    let lower = s.to_ascii_lowercase();
    let split = lower
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(lower.len());
    let (digits, unit) = lower.split_at(split);
    let mul: u64 = match unit {
        "" | "b" => 1,
        "k" => 1000,
        "kb" => 1024,
        "m" => 1000 * 1000,
        "mb" => 1024 * 1024,
        "g" => 1000 * 1000 * 1000,
        "gb" => 1024 * 1024 * 1024,
        _ => return Err(format!("'{s}' is not a size")),
    };
    digits
        .parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(mul))
        .ok_or_else(|| format!("'{s}' is not a size"))
}

impl OutputLimits {
    /// Parse Redis's syntax; classes not named keep `self`'s limits.
    ///
    /// # Errors
    /// Why the text is refused.
    pub fn parse_over(&self, s: &str) -> Result<Self, String> {
        let words: Vec<&str> = s.split_whitespace().collect();
        if words.is_empty() || words.len() % 4 != 0 {
            return Err("must be <class> <hard> <soft> <seconds>, repeated".into());
        }
        let mut out = *self;
        for w in words.chunks(4) {
            let limit = OutputLimit {
                hard: bytes(w[1])?,
                soft: bytes(w[2])?,
                secs: w[3]
                    .parse()
                    .map_err(|_| format!("'{}' is not a number of seconds", w[3]))?,
            };
            let class = match w[0].to_ascii_lowercase().as_str() {
                "normal" => &mut out.normal,
                "replica" | "slave" => &mut out.replica,
                "pubsub" => &mut out.pubsub,
                other => {
                    return Err(format!(
                        "Invalid client class specified in buffer limit configuration: '{other}'"
                    ))
                }
            };
            *class = limit;
        }
        Ok(out)
    }

    /// As CONFIG GET shows it (Redis's order and names, in bytes).
    pub fn render(&self) -> String {
        let one = |l: &OutputLimit| format!("{} {} {}", l.hard, l.soft, l.secs);
        format!(
            "normal {} slave {} pubsub {}",
            one(&self.normal),
            one(&self.replica),
            one(&self.pubsub)
        )
    }
}

impl TryFrom<String> for OutputLimits {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        Self::default().parse_over(&s)
    }
}

impl From<OutputLimits> for String {
    fn from(l: OutputLimits) -> Self {
        l.render()
    }
}

/// The normal and pubsub limits in force, shared by every client's
/// [`Held`] (CONFIG SET changes them live).
#[derive(Debug, Default)]
pub struct LiveLimits {
    /// normal's and pubsub's hard, soft and seconds.
    words: [AtomicU64; 6],
}

impl LiveLimits {
    /// Take `l`'s normal and pubsub limits.
    pub fn set(&self, l: &OutputLimits) {
        let v = [
            l.normal.hard,
            l.normal.soft,
            l.normal.secs,
            l.pubsub.hard,
            l.pubsub.soft,
            l.pubsub.secs,
        ];
        for (w, v) in self.words.iter().zip(v) {
            w.store(v, Ordering::Relaxed);
        }
    }

    fn of(&self, pubsub: bool) -> OutputLimit {
        let at = if pubsub { 3 } else { 0 };
        let w = |i: usize| self.words[at + i].load(Ordering::Relaxed);
        OutputLimit {
            hard: w(0),
            soft: w(1),
            secs: w(2),
        }
    }
}

/// What one client holds back: the messages queued for it and the replies
/// its socket has not taken yet, in bytes, checked against its class's
/// limits.
#[derive(Debug)]
pub struct Held {
    queued: AtomicU64,
    unsent: AtomicU64,
    /// When it passed the soft limit (monotonic ms; 0: it is below).
    over_since: AtomicU64,
    /// It holds a subscription (the pubsub class).
    pubsub: AtomicBool,
    limits: Arc<LiveLimits>,
}

impl Held {
    /// Nothing held, under `limits`.
    pub fn new(limits: Arc<LiveLimits>) -> Self {
        Self {
            queued: AtomicU64::new(0),
            unsent: AtomicU64::new(0),
            over_since: AtomicU64::new(0),
            pubsub: AtomicBool::new(false),
            limits,
        }
    }

    /// Bytes held now (CLIENT LIST's `omem`).
    pub fn bytes(&self) -> u64 {
        self.queued.load(Ordering::Relaxed) + self.unsent.load(Ordering::Relaxed)
    }

    /// It holds a subscription or not (its class).
    pub fn set_pubsub(&self, on: bool) {
        self.pubsub.store(on, Ordering::Relaxed);
    }

    fn limit(&self) -> OutputLimit {
        self.limits.of(self.pubsub.load(Ordering::Relaxed))
    }

    /// `n` bytes of messages are joining its queue (counted before they
    /// are in it, so that taking them out never comes first).
    pub fn queue(&self, n: u64) {
        self.queued.fetch_add(n, Ordering::Relaxed);
    }

    /// `n` bytes of messages left the queue for its output.
    pub fn dequeue(&self, n: u64) {
        let _ = self
            .queued
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |q| {
                Some(q.saturating_sub(n))
            });
    }

    /// Its output holds `n` bytes its socket has not taken.
    pub fn set_unsent(&self, n: u64) {
        self.unsent.store(n, Ordering::Relaxed);
    }

    /// Within its class's limits now: under the hard limit, and not past
    /// the soft one for longer than its seconds (whose clock starts and
    /// stops here).
    pub fn within(&self) -> bool {
        let l = self.limit();
        let held = self.bytes();
        if l.hard > 0 && held >= l.hard {
            return false;
        }
        if l.soft == 0 || held < l.soft {
            self.over_since.store(0, Ordering::Relaxed);
            return true;
        }
        let now = mono_ms();
        match self
            .over_since
            .compare_exchange(0, now, Ordering::Relaxed, Ordering::Relaxed)
        {
            Ok(_) => true,
            Err(since) => now.saturating_sub(since) <= l.secs.saturating_mul(1000),
        }
    }

    /// While it stays past its soft limit, how long until it has been
    /// there too long (`None`: it is not past it).
    pub fn soft_deadline(&self) -> Option<std::time::Duration> {
        let l = self.limit();
        let since = self.over_since.load(Ordering::Relaxed);
        (l.soft > 0 && since > 0 && self.bytes() >= l.soft).then(|| {
            let end = since
                .saturating_add(l.secs.saturating_mul(1000))
                .saturating_add(1);
            std::time::Duration::from_millis(end.saturating_sub(mono_ms()))
        })
    }
}

/// A message's size as counted against a limit (its RESP encoding's, near
/// enough; the same on queuing and on taking it out).
pub fn approx_len(r: &Reply) -> u64 {
    match r {
        Reply::Bulk(b) => b.len() as u64 + 16,
        Reply::Array(v) | Reply::Push(v) | Reply::Set(v) => {
            16 + v.iter().map(approx_len).sum::<u64>()
        }
        Reply::Simple(s) | Reply::Error(s) => s.len() as u64 + 3,
        _ => 24,
    }
}

/// The sending side of a connection's queue of out-of-band messages
/// (pub/sub messages, invalidations), counted against its limits.
#[derive(Debug, Clone)]
pub struct Outbox {
    tx: mpsc::UnboundedSender<Reply>,
    held: Arc<Held>,
    /// Cancelled to close the connection (past its limits, or killed).
    pub kill: CancellationToken,
}

impl Outbox {
    /// A queue for the connection whose `held` and `kill` these are, and
    /// its receiving side.
    pub fn open(
        held: Arc<Held>,
        kill: CancellationToken,
    ) -> (Self, mpsc::UnboundedReceiver<Reply>) {
        let (tx, rx) = mpsc::unbounded_channel();
        (Self { tx, held, kill }, rx)
    }

    /// Queue `msg`; false when the connection is gone. A message that puts
    /// it past its limits is queued (and counted as received, as Redis
    /// counts it) and the connection is closed, as Redis closes a client
    /// past its output buffer limit.
    pub fn send(&self, msg: Reply) -> bool {
        let n = approx_len(&msg);
        self.held.queue(n);
        if self.tx.send(msg).is_err() {
            self.held.dequeue(n);
            return false;
        }
        if self.held.within() {
            return true;
        }
        if !self.kill.is_cancelled() {
            tracing::warn!(
                held = self.held.bytes(),
                "closing a client past its output buffer limit (it does not read)"
            );
        }
        self.kill.cancel();
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redis_syntax_and_units() {
        let l = OutputLimits::default()
            .parse_over("replica 256mb 64mb 60")
            .expect("valid");
        assert_eq!(
            l.replica,
            OutputLimit {
                hard: 256 << 20,
                soft: 64 << 20,
                secs: 60
            }
        );
        assert_eq!(
            l.render(),
            "normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60"
        );
        let again = l.parse_over("slave 1k 2KB 3").expect("valid");
        assert_eq!(
            again.replica,
            OutputLimit {
                hard: 1000,
                soft: 2048,
                secs: 3
            }
        );
        assert_eq!(OutputLimits::try_from(l.render()), Ok(l));
        let zero = l.parse_over("normal 0 0 0 pubsub 0 0 0").expect("valid");
        assert_eq!(zero.replica, l.replica, "classes not named are kept");
        for bad in [
            "",
            "replica 1 2",
            "replica x 2 3",
            "replica 1mib 2 3",
            "master 1 2 3",
            "replica 99999999999999999999gb 0 0",
        ] {
            assert!(l.parse_over(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn held_counts_what_is_queued_and_taken_and_a_client_past_its_limits_is_closed() {
        let limits = Arc::new(LiveLimits::default());
        limits.set(&OutputLimits {
            pubsub: OutputLimit {
                hard: 1000,
                soft: 0,
                secs: 0,
            },
            normal: OutputLimit {
                hard: 0,
                soft: 100,
                secs: 0,
            },
            ..OutputLimits::default()
        });
        let held = Arc::new(Held::new(Arc::clone(&limits)));
        held.set_pubsub(true);
        let kill = CancellationToken::new();
        let (outbox, mut rx) = Outbox::open(Arc::clone(&held), kill.clone());
        let msg = || Reply::Push(vec![Reply::Bulk(bytes::Bytes::from(vec![b'x'; 100]))]);
        let one = approx_len(&msg());
        assert!(outbox.send(msg()));
        assert_eq!(held.bytes(), one);
        let m = rx.try_recv().expect("queued");
        held.dequeue(approx_len(&m));
        assert_eq!(held.bytes(), 0, "what is taken out is no longer held");
        // Past the hard limit: closed; the message still counts as sent.
        let mut sent = 0;
        while !kill.is_cancelled() {
            assert!(outbox.send(msg()));
            sent += 1;
        }
        assert_eq!(sent, 1000 / one + 1);
        assert!(held.bytes() >= 1000);
        // A queue whose connection is gone takes nothing and holds nothing.
        drop(rx);
        let before = held.bytes();
        assert!(!outbox.send(msg()));
        assert_eq!(held.bytes(), before);

        // The soft limit: over it, the clock starts; over it for longer
        // than its seconds (0 here), closed; back under it, reset.
        let normal = Held::new(limits);
        normal.set_unsent(200);
        assert!(normal.within(), "the clock starts");
        assert!(normal.soft_deadline().is_some());
        std::thread::sleep(std::time::Duration::from_millis(5));
        assert!(!normal.within(), "past the soft limit too long");
        normal.set_unsent(50);
        assert!(normal.within());
        assert!(normal.soft_deadline().is_none(), "the clock stopped");
        normal.set_unsent(200);
        assert!(normal.within(), "a new clock");
    }
}
