//! Replies match redis-server's: the same script of commands, errors
//! included, sent over raw RESP to a real redis-server and to rocksync.

mod acl;
#[path = "../common/mod.rs"]
mod common;
mod dump;
mod functions;
mod geo;
mod hyperloglog;
mod latency;
mod lists;
mod replicas;
mod scripting;
mod server;
mod stream_groups;
mod stream_waits;
mod streams;
mod tracking;
mod transactions;
mod types;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use bytes::BytesMut;
use common::{InProc, RedisServer};
use redis::Commands;
use rocksync_protocol::{put_command, Reply};

/// The commands of a pipeline, built as `redis::pipe` would be.
#[derive(Default)]
struct Pipe(Vec<Vec<String>>);

impl Pipe {
    fn cmd(&mut self, name: &str) -> &mut Vec<String> {
        self.0.push(vec![name.to_owned()]);
        self.0.last_mut().expect("just pushed")
    }
}

trait Arg {
    fn arg(&mut self, a: impl ToString) -> &mut Self;
}

impl Arg for Vec<String> {
    fn arg(&mut self, a: impl ToString) -> &mut Self {
        self.push(a.to_string());
        self
    }
}

/// Send `p` in one write, then read each reply's bytes.
fn send(c: &mut Raw, p: &Pipe) -> Vec<Vec<u8>> {
    let mut out = BytesMut::new();
    for cmd in &p.0 {
        let args: Vec<&str> = cmd.iter().map(String::as_str).collect();
        put_command(&mut out, &args);
    }
    c.stream.write_all(&out).expect("send");
    p.0.iter().map(|_| c.next_bytes()).collect()
}

/// Send `p` to redis-server (`theirs`) and to rocksync (`mine`): each
/// reply's bytes must be equal.
fn same_replies(theirs: &mut Raw, mine: &mut Raw, p: &Pipe, what: &str) {
    let (a, b) = (send(theirs, p), send(mine, p));
    for ((x, y), cmd) in a.iter().zip(&b).zip(&p.0) {
        assert_eq!(
            x.escape_ascii().to_string(),
            y.escape_ascii().to_string(),
            "{what}, {cmd:?}"
        );
    }
}

/// A minimal RESP client: one command, one reply.
struct Raw {
    stream: TcpStream,
    buf: Vec<u8>,
}

impl Raw {
    fn connect(addr: impl std::net::ToSocketAddrs) -> Self {
        let stream = TcpStream::connect(addr).expect("connect");
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .expect("timeout");
        Self {
            stream,
            buf: Vec::new(),
        }
    }

    fn call(&mut self, args: &[&str]) -> Reply {
        let mut out = BytesMut::new();
        put_command(&mut out, args);
        self.stream.write_all(&out).expect("send");
        self.read()
    }

    fn raw(&mut self, bytes: &[u8]) -> Reply {
        self.stream.write_all(bytes).expect("send");
        self.read()
    }

    /// One command's reply as the bytes that came, for comparisons that
    /// see every type marker and digit.
    fn call_bytes(&mut self, args: &[&str]) -> Vec<u8> {
        let mut out = BytesMut::new();
        put_command(&mut out, args);
        self.stream.write_all(&out).expect("send");
        self.next_bytes()
    }

    /// As [`Raw::call_bytes`], for arguments that are not text.
    fn call_raw_bytes(&mut self, args: &[&[u8]]) -> Vec<u8> {
        let mut out = BytesMut::new();
        put_command(&mut out, args);
        self.stream.write_all(&out).expect("send");
        self.next_bytes()
    }

    fn read(&mut self) -> Reply {
        self.read_with(|_, r| r)
    }

    /// The next reply's bytes (a push, or the reply after one).
    fn next_bytes(&mut self) -> Vec<u8> {
        self.read_with(|bytes, _| bytes.to_vec())
    }

    fn read_with<T>(&mut self, take: impl FnOnce(&[u8], Reply) -> T) -> T {
        loop {
            if let Some((r, used)) = Reply::parse(&self.buf).expect("valid RESP") {
                let got = take(&self.buf[..used], r);
                self.buf.drain(..used);
                return got;
            }
            let mut chunk = [0u8; 4096];
            let n = self.stream.read(&mut chunk).expect("read");
            assert!(n > 0, "connection closed");
            self.buf.extend_from_slice(&chunk[..n]);
        }
    }
}

/// Commands whose replies must be identical. Sets and hashes are built in
/// sorted order so that order-dependent replies agree too. Left out on
/// purpose: SELECT of a database other than 0 (there is one keyspace; we
/// answer `ERR DB index is out of range`), and COPY ... DB n for the same
/// reason. In two parts, run in order: each type's commands, then server
/// commands, ranges, errors in order and transactions.
const SCRIPT: [&[&[&str]]; 2] = [types::SCRIPT, server::SCRIPT];

#[test]
fn replies_match_redis_server() {
    let redis = RedisServer::start(&[]);
    let ours = InProc::start();
    let mut theirs = Raw::connect(("127.0.0.1", redis.port));
    let mut mine = Raw::connect(ours.addr);
    let mut mismatches = Vec::new();
    let script = SCRIPT.concat();
    for cmd in &script {
        let (a, b) = (theirs.call(cmd), mine.call(cmd));
        if a != b {
            mismatches.push(format!("{cmd:?}\n  redis:    {a:?}\n  rocksync: {b:?}"));
        }
    }
    assert!(
        mismatches.is_empty(),
        "{} of {} differ:\n{}",
        mismatches.len(),
        script.len(),
        mismatches.join("\n")
    );
}

/// The same script over RESP3 (after `HELLO 3`): every reply's bytes
/// equal redis-server's, type markers (map, set, double, null, verbatim)
/// and number formatting included.
#[test]
fn resp3_replies_match_redis_server_byte_for_byte() {
    let redis = RedisServer::start(&[]);
    let ours = InProc::start();
    let mut theirs = Raw::connect(("127.0.0.1", redis.port));
    let mut mine = Raw::connect(ours.addr);
    // HELLO 3's map is Redis's but for the connection id and the version.
    let hello = |r: Reply| match r {
        Reply::Map(pairs) => pairs
            .into_iter()
            .filter(|(k, _)| *k != Reply::bulk("id") && *k != Reply::bulk("version"))
            .collect::<Vec<_>>(),
        other => panic!("HELLO 3 answered {other:?}"),
    };
    let (a, b) = (theirs.call(&["HELLO", "3"]), mine.call(&["HELLO", "3"]));
    assert_eq!(hello(a), hello(b));
    let mut mismatches = Vec::new();
    let script = SCRIPT.concat();
    for cmd in &script {
        let (a, b) = (theirs.call_bytes(cmd), mine.call_bytes(cmd));
        if let Some(d) = differs(&format!("{cmd:?}"), &a, &b) {
            mismatches.push(d);
        }
    }
    assert!(
        mismatches.is_empty(),
        "{} of {} differ:\n{}",
        mismatches.len(),
        script.len(),
        mismatches.join("\n")
    );
}

#[test]
fn malformed_input_gets_redis_errors() {
    let redis = RedisServer::start(&[]);
    let ours = InProc::start();
    for bad in [
        &b"*1\r\n$x\r\n"[..],
        b"*x\r\n",
        b"*1\r\n:1\r\n",
        b"set a \"b\r\n",
    ] {
        let a = Raw::connect(("127.0.0.1", redis.port)).raw(bad);
        let b = Raw::connect(ours.addr).raw(bad);
        assert_eq!(a, b, "for {:?}", String::from_utf8_lossy(bad));
    }
}

/// A mismatch's report: what `label` got from each server, as text.
fn differs(label: &str, redis: &[u8], ours: &[u8]) -> Option<String> {
    (redis != ours).then(|| {
        format!(
            "{label}\n  redis:    {:?}\n  rocksync: {:?}",
            String::from_utf8_lossy(redis),
            String::from_utf8_lossy(ours)
        )
    })
}

/// Steps of two clients (0 and 1) interleaved; `SLEEP ms` pauses the
/// script. Each reply must equal redis-server's for the same step.
const TWO_CLIENTS: &[(usize, &[&str])] = &[
    // a touched WATCHed key makes EXEC return nil
    (0, &["SET", "w", "1"]),
    (0, &["WATCH", "w"]),
    (1, &["SET", "w", "2"]),
    (0, &["MULTI"]),
    (0, &["INCR", "w"]),
    (0, &["EXEC"]),
    (0, &["GET", "w"]),
    // untouched: it runs; EXEC ends the WATCH
    (0, &["WATCH", "w"]),
    (0, &["MULTI"]),
    (0, &["INCR", "w"]),
    (0, &["EXEC"]),
    (1, &["SET", "w", "10"]),
    (0, &["MULTI"]),
    (0, &["INCR", "w"]),
    (0, &["EXEC"]),
    // UNWATCH and DISCARD end it too
    (0, &["WATCH", "w"]),
    (0, &["UNWATCH"]),
    (1, &["INCR", "w"]),
    (0, &["MULTI"]),
    (0, &["GET", "w"]),
    (0, &["EXEC"]),
    (0, &["WATCH", "w"]),
    (0, &["MULTI"]),
    (0, &["DISCARD"]),
    (1, &["INCR", "w"]),
    (0, &["MULTI"]),
    (0, &["GET", "w"]),
    (0, &["EXEC"]),
    // a read-only transaction and an empty one fail too
    (0, &["WATCH", "w", "other"]),
    (1, &["DEL", "other"]),
    (1, &["SET", "other", "x"]),
    (0, &["MULTI"]),
    (0, &["GET", "w"]),
    (0, &["EXEC"]),
    (0, &["WATCH", "w"]),
    (1, &["EXPIRE", "w", "1000"]),
    (0, &["MULTI"]),
    (0, &["EXEC"]),
    // FLUSHALL touches every key (Redis 7.0 spares a watched key that did
    // not exist; rocksync breaks every WATCH, which is never less safe)
    (0, &["SET", "flushed", "1"]),
    (0, &["WATCH", "flushed"]),
    (1, &["FLUSHALL"]),
    (0, &["MULTI"]),
    (0, &["SET", "flushed", "2"]),
    (0, &["EXEC"]),
    (0, &["EXISTS", "flushed"]),
    // a key that expires after WATCH
    (0, &["SET", "e", "1", "PX", "100"]),
    (0, &["WATCH", "e"]),
    (0, &["SLEEP", "300"]),
    (0, &["MULTI"]),
    (0, &["SET", "e", "2"]),
    (0, &["EXEC"]),
    (0, &["GET", "e"]),
    // a key already expired when watched: its deletion changes nothing
    (0, &["SET", "e2", "1", "PX", "50"]),
    (0, &["SLEEP", "200"]),
    (0, &["WATCH", "e2"]),
    (0, &["SLEEP", "1200"]),
    (0, &["MULTI"]),
    (0, &["SET", "e2", "2"]),
    (0, &["EXEC"]),
    // errors
    (0, &["MULTI"]),
    (0, &["WATCH", "w"]),
    (0, &["EXEC"]),
    (0, &["WATCH"]),
    (0, &["UNWATCH", "x"]),
];

#[test]
fn two_clients_match_redis_server() {
    let redis = RedisServer::start(&[]);
    let ours = InProc::start();
    let mut theirs = [
        Raw::connect(("127.0.0.1", redis.port)),
        Raw::connect(("127.0.0.1", redis.port)),
    ];
    let mut mine = [Raw::connect(ours.addr), Raw::connect(ours.addr)];
    let mut mismatches = Vec::new();
    for &(who, cmd) in TWO_CLIENTS {
        if cmd[0] == "SLEEP" {
            std::thread::sleep(Duration::from_millis(cmd[1].parse().expect("ms")));
            continue;
        }
        let (a, b) = (theirs[who].call(cmd), mine[who].call(cmd));
        if a != b {
            mismatches.push(format!(
                "client {who} {cmd:?}\n  redis:    {a:?}\n  rocksync: {b:?}"
            ));
        }
    }
    assert!(
        mismatches.is_empty(),
        "{} of {} differ:\n{}",
        mismatches.len(),
        TWO_CLIENTS.len(),
        mismatches.join("\n")
    );
}

/// A redis-server and a rocksync, with a connection to each (theirs,
/// ours).
fn beside_redis() -> (RedisServer, InProc, redis::Connection, redis::Connection) {
    let redis = RedisServer::start(&[]);
    let ours = InProc::start();
    let theirs = redis::Client::open(format!("redis://127.0.0.1:{}/", redis.port))
        .and_then(|c| c.get_connection())
        .expect("redis-server");
    let mine = ours.client();
    (redis, ours, theirs, mine)
}

/// Pseudo-random draws below `n` (xorshift from `seed`): the same script
/// every run.
fn draws(mut seed: u64) -> impl FnMut(u64) -> u64 {
    move |n| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed % n
    }
}

/// ZPOPMIN and ZPOPMAX seek past the entries earlier pops deleted, from
/// bounds the store keeps per sorted set; any score written outside a
/// bound must widen it. Random pipelines of ZADD (new members, moved
/// scores, ties, fractional scores, members long enough that a bound
/// keeps only their score, scores below and above everything popped so
/// far), pops with counts (ZPOPMIN, ZPOPMAX, ZMPOP, BZPOPMIN), removals
/// of ranges (ZREMRANGEBYSCORE, ZREMRANGEBYRANK), ZREM,
/// ZINCRBY, DEL, FLUSHALL, EXEC blocks and reads, in pipelines short
/// and long (one write group's pops read ahead of them), sent alike to
/// redis-server and rocksync: every reply must match.
#[test]
fn sorted_set_pops_match_redis_server_under_random_writes() {
    let (_redis, _ours, mut theirs, mut mine) = beside_redis();
    let mut next = draws(0x2545_f491_4f6c_dd1d);
    let long = "x".repeat(1500);
    for step in 0..3000 {
        let mut p = redis::pipe();
        if next(10) == 0 {
            p.atomic();
        }
        // Now and then a long pipeline: many pops in one write group,
        // which read the set's ends ahead of them.
        let len = if next(8) == 0 { 40 + next(40) } else { next(8) };
        for _ in 0..=len {
            let key = format!("z{}", next(3));
            let member = match next(20) {
                0 => format!("{long}{}", next(5)),
                _ => format!("m{}", next(200)),
            };
            let score = match next(4) {
                0 => (next(8) as f64) / 4.0,
                _ => next(400) as f64 - 200.0,
            };
            match next(18) {
                0..=4 => {
                    p.cmd("ZADD").arg(&key).arg(score).arg(&member);
                }
                15 => {
                    // a sliding window's trim: from the low end
                    let min = if next(3) == 0 { "-inf" } else { "-150" };
                    p.cmd("ZREMRANGEBYSCORE").arg(&key).arg(min).arg(score);
                }
                16 => {
                    p.cmd("ZREMRANGEBYRANK").arg(&key).arg(next(2)).arg(next(3));
                }
                5 | 6 => {
                    p.cmd("ZPOPMIN").arg(&key).arg(next(4));
                }
                7 | 8 => {
                    p.cmd("ZPOPMAX").arg(&key).arg(next(4));
                }
                9 => {
                    let side = if next(2) == 0 { "MIN" } else { "MAX" };
                    p.cmd("ZMPOP")
                        .arg(2)
                        .arg(&key)
                        .arg("z9")
                        .arg(side)
                        .arg("COUNT")
                        .arg(1 + next(3));
                }
                10 => {
                    p.cmd("BZPOPMIN").arg(&key).arg(0.01);
                }
                11 => {
                    p.cmd("ZREM").arg(&key).arg(&member);
                }
                12 => {
                    p.cmd("ZINCRBY").arg(&key).arg(score).arg(&member);
                }
                13 if next(10) == 0 => {
                    p.cmd("DEL").arg(&key);
                }
                14 if next(40) == 0 => {
                    p.cmd("FLUSHALL");
                }
                _ => {
                    p.cmd("ZRANGE").arg(&key).arg(0).arg(-1).arg("WITHSCORES");
                }
            }
        }
        let a: redis::Value = p.query(&mut theirs).expect("redis-server");
        let b: redis::Value = p.query(&mut mine).expect("rocksync");
        assert_eq!(a, b, "step {step} differs");
    }
    for k in ["z0", "z1", "z2"] {
        let a: Vec<(String, f64)> = theirs.zrange_withscores(k, 0, -1).expect("zrange");
        let b: Vec<(String, f64)> = mine.zrange_withscores(k, 0, -1).expect("zrange");
        assert_eq!(a, b, "{k} differs at the end");
    }
}

/// Pops in a write group that also adds hundreds of members to the set
/// (and to another): a pop merges the group's pending writes a bounded
/// number at a time, and must still see every one of its set's, in
/// order, from either end.
#[test]
fn sorted_set_pops_see_every_pending_add_of_their_group() {
    let (_redis, _ours, mut theirs, mut mine) = beside_redis();
    let mut next = draws(0x9e37_79b9_7f4a_7c15);
    for round in 0..12 {
        let mut p = redis::pipe();
        for i in 0..600 {
            match next(10) {
                0 => {
                    p.cmd("ZPOPMIN").arg("q").arg(next(4));
                }
                1 => {
                    p.cmd("ZPOPMAX").arg("q").arg(next(4));
                }
                2 if next(20) == 0 => {
                    p.cmd("ZRANGE").arg("q").arg(0).arg(-1).arg("WITHSCORES");
                }
                _ => {
                    // (and to a set whose entries sort after q's)
                    let key = if next(4) == 0 { "r" } else { "q" };
                    let score = next(2000) as f64 - 1000.0;
                    p.cmd("ZADD")
                        .arg(key)
                        .arg(score)
                        .arg(format!("m{round}-{i}"));
                }
            }
        }
        let a: redis::Value = p.query(&mut theirs).expect("redis-server");
        let b: redis::Value = p.query(&mut mine).expect("rocksync");
        assert_eq!(a, b, "round {round} differs");
    }
    let a: Vec<(String, f64)> = theirs.zrange_withscores("q", 0, -1).expect("zrange");
    let b: Vec<(String, f64)> = mine.zrange_withscores("q", 0, -1).expect("zrange");
    assert!(a.len() > 1000, "only {} members left", a.len());
    assert_eq!(a, b);
}

/// A range removal narrows the sorted set's known low end only when it
/// removed every member it walked: a lex range over mixed scores walks
/// past members below its minimum (here `a`, between `b` and `c` by
/// score). Those stay in sight of pops and rank removals. (Redis removes
/// `a` too there: lex ranges over mixed scores are unspecified, so this
/// checks rocksync against itself.)
#[test]
fn a_lex_removal_over_mixed_scores_hides_no_member_from_pops() {
    let ours = InProc::start();
    let mut c = ours.client();
    let _: i64 = redis::cmd("ZADD")
        .arg("z")
        .arg(&["1", "b", "2", "a", "3", "c", "4", "d"])
        .query(&mut c)
        .expect("zadd");
    let removed: i64 = redis::cmd("ZREMRANGEBYLEX")
        .arg("z")
        .arg("[b")
        .arg("[c")
        .query(&mut c)
        .expect("zremrangebylex");
    assert_eq!(removed, 2);
    let left: Vec<String> = c.zrange("z", 0, -1).expect("zrange");
    assert_eq!(left, ["a", "d"]);
    let removed: i64 = c.zremrangebyrank("z", 0, 0).expect("zremrangebyrank");
    assert_eq!(removed, 1, "the rank removal saw no first member");
    let popped: Vec<(String, f64)> = redis::cmd("ZPOPMIN")
        .arg("z")
        .query(&mut c)
        .expect("zpopmin");
    assert_eq!(popped, [("d".to_owned(), 4.0)]);
}

/// A RESP3 subscriber: confirmations and messages are pushes, and the same
/// connection runs any command between them (RESP2 refuses all but the
/// subscribe family). Each step's bytes must equal redis-server's.
#[test]
fn resp3_subscriber_gets_pushes_and_runs_commands() {
    let redis = RedisServer::start(&[]);
    let ours = InProc::start();
    let steps: &[(usize, &[&str], usize)] = &[
        // (client, command, replies to read: a push may come first)
        (0, &["HELLO", "3"], 0),
        (0, &["SUBSCRIBE", "a", "b"], 2),
        (0, &["PSUBSCRIBE", "p*"], 1),
        (1, &["SET", "k", "v"], 1),
        (0, &["GET", "k"], 1),
        (0, &["HSET", "h", "f", "v"], 1),
        (0, &["HGETALL", "h"], 1),
        (0, &["PING"], 1),
        (0, &["PING", "x"], 1),
        (1, &["PUBLISH", "a", "hello"], 1),
        (0, &["ECHO", "after"], 2),
        (1, &["PUBLISH", "pq", "world"], 1),
        (0, &["ECHO", "after"], 2),
        (0, &["UNSUBSCRIBE", "a"], 1),
        (0, &["UNSUBSCRIBE"], 1),
        (0, &["PUNSUBSCRIBE"], 1),
        (0, &["UNSUBSCRIBE"], 1),
        (0, &["RESET"], 1),
        (0, &["HGETALL", "h"], 1),
        (0, &["SUBSCRIBE", "a"], 1),
        (0, &["GET", "k"], 1),
    ];
    let mut theirs = [
        Raw::connect(("127.0.0.1", redis.port)),
        Raw::connect(("127.0.0.1", redis.port)),
    ];
    let mut mine = [Raw::connect(ours.addr), Raw::connect(ours.addr)];
    let mut mismatches = Vec::new();
    for &(who, cmd, n) in steps {
        let mut a = theirs[who].call_bytes(cmd);
        let mut b = mine[who].call_bytes(cmd);
        if n == 0 {
            continue; // HELLO: ids and versions differ
        }
        for _ in 1..n {
            a.extend(theirs[who].next_bytes());
            b.extend(mine[who].next_bytes());
        }
        if let Some(d) = differs(&format!("client {who} {cmd:?}"), &a, &b) {
            mismatches.push(d);
        }
    }
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
}

/// DEBUG PROTOCOL's sample of every reply type, in RESP2 and in RESP3
/// (attribute, push, big number, boolean and verbatim included), byte for
/// byte as redis-server sends them.
#[test]
fn every_reply_type_matches_redis_server_in_both_protocols() {
    let redis = RedisServer::start(&["--enable-debug-command", "yes"]);
    let ours = InProc::start();
    let kinds = [
        "string", "integer", "double", "bignum", "null", "array", "set", "map", "attrib", "push",
        "verbatim", "true", "false", "bogus",
    ];
    let mut mismatches = Vec::new();
    for proto in ["2", "3"] {
        let mut theirs = Raw::connect(("127.0.0.1", redis.port));
        let mut mine = Raw::connect(ours.addr);
        theirs.call(&["HELLO", proto]);
        mine.call(&["HELLO", proto]);
        for kind in kinds {
            let cmd = ["DEBUG", "PROTOCOL", kind];
            let (mut a, mut b) = (theirs.call_bytes(&cmd), mine.call_bytes(&cmd));
            if kind == "push" && proto == "3" {
                // the push, then the reply
                a.extend(theirs.next_bytes());
                b.extend(mine.next_bytes());
            }
            if let Some(d) = differs(&format!("RESP{proto} {kind}"), &a, &b) {
                mismatches.push(d);
            }
        }
    }
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
}
