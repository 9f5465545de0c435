//! The master over real TCP with a real client library: command groups,
//! pipelining, expiry, AUTH, maxclients, SCAN, INFO, restart, shutdown.

mod acl;
mod admin;
mod blocking;
#[path = "../common/mod.rs"]
mod common;
mod fuzz;
mod keyspace;
mod limits;

use std::collections::BTreeSet;
use std::io::{Read, Write};
use std::time::{Duration, Instant};

use common::InProc;
use redis::Commands;
use rocksync_master::Config;

fn restart(dir: tempfile::TempDir) -> InProc {
    InProc::start_on(dir)
}

fn info(c: &mut redis::Connection, section: &str) -> String {
    redis::cmd("INFO").arg(section).query(c).expect("info")
}

/// A plain TCP connection to `m`, whose reads give up after 5 s.
fn raw_connection(m: &InProc) -> std::net::TcpStream {
    let s = std::net::TcpStream::connect(m.addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(5)))
        .expect("timeout");
    s
}

/// Wait (at most 10 s) until DBSIZE is `want`.
fn wait_for_dbsize(c: &mut redis::Connection, want: i64, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let n: i64 = redis::cmd("DBSIZE").query(c).expect("dbsize");
        if n == want {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "timed out waiting for {what}: dbsize {n}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn info_field(text: &str, key: &str) -> Option<String> {
    text.lines()
        .find_map(|l| l.strip_prefix(&format!("{key}:")).map(str::to_owned))
}

#[test]
fn every_type_survives_a_clean_restart() {
    let m = InProc::start();
    let mut c = m.client();
    let _: () = c.set("k", "v").expect("set");
    let _: i64 = c.incr("n", 5).expect("incr");
    let _: () = c
        .hset_multiple("h", &[("f", "1"), ("g", "2")])
        .expect("hset");
    let _: i64 = c.rpush("l", &["a", "b", "c"]).expect("rpush");
    let _: i64 = c.sadd("s", &["x", "y"]).expect("sadd");
    let _: i64 = c.zadd("z", "m", 1.5).expect("zadd");
    let _: bool = c.expire("k", 1000).expect("expire");
    let dir = m.stop();
    let m = restart(dir);
    let mut c = m.client();
    assert_eq!(c.get::<_, String>("k").expect("get"), "v");
    assert_eq!(c.get::<_, i64>("n").expect("get"), 5);
    assert_eq!(c.hget::<_, _, String>("h", "g").expect("hget"), "2");
    assert_eq!(
        c.lrange::<_, Vec<String>>("l", 0, -1).expect("lrange"),
        ["a", "b", "c"]
    );
    assert_eq!(
        c.smembers::<_, BTreeSet<String>>("s").expect("smembers"),
        BTreeSet::from(["x".into(), "y".into()])
    );
    assert_eq!(c.zscore::<_, _, f64>("z", "m").expect("zscore"), 1.5);
    let ttl: i64 = c.ttl("k").expect("ttl");
    assert!((990..=1000).contains(&ttl), "ttl {ttl}");
    let dbsize: i64 = redis::cmd("DBSIZE").query(&mut c).expect("dbsize");
    assert_eq!(dbsize, 6);
}

#[test]
fn pipelines_keep_order_across_reads_and_writes() {
    let m = InProc::start();
    let mut c = m.client();
    let mut p = redis::pipe();
    for i in 0..200 {
        p.cmd("SET").arg(format!("k{i}")).arg(i);
        p.cmd("GET").arg(format!("k{i}"));
        p.cmd("INCR").arg("counter");
    }
    let out: Vec<redis::Value> = p.query(&mut c).expect("pipeline");
    assert_eq!(out.len(), 600);
    for i in 0..200 {
        assert_eq!(
            out[i * 3 + 1],
            redis::Value::BulkString(i.to_string().into_bytes())
        );
        assert_eq!(out[i * 3 + 2], redis::Value::Int(i as i64 + 1));
    }
}

/// A write whose arguments do not parse is answered on its connection, in
/// its turn among pipelined writes: the writes before it are done first,
/// those after it still run, and nothing of it is written.
#[test]
fn a_write_that_does_not_parse_is_answered_in_its_turn() {
    let m = InProc::start();
    let mut s = raw_connection(&m);
    s.write_all(
        b"SET a 1\r\nSET b 2 EX x\r\nINCRBY a y\r\nINCR a\r\nSET c 3 NX XX\r\nMGET a b c\r\n",
    )
    .expect("send");
    let want = "+OK\r\n-ERR value is not an integer or out of range\r\n\
                -ERR value is not an integer or out of range\r\n:2\r\n-ERR syntax error\r\n\
                *3\r\n$1\r\n2\r\n$-1\r\n$-1\r\n";
    let mut got = Vec::new();
    let mut buf = [0u8; 256];
    while got.len() < want.len() {
        let n = std::io::Read::read(&mut s, &mut buf).expect("read");
        assert!(n > 0, "closed after {:?}", String::from_utf8_lossy(&got));
        got.extend_from_slice(&buf[..n]);
    }
    assert_eq!(String::from_utf8_lossy(&got), want);
}

/// Issue 12: a run of pipelined GETs is answered from one batched lookup;
/// each still sees the writes before it, misses, wrong types and expired
/// keys answer as single GETs do.
#[test]
fn a_run_of_pipelined_gets_answers_as_single_gets_do() {
    let m = InProc::start();
    let mut c = m.client();
    let _: () = c.set("gone", "x").expect("set");
    let _: () = redis::cmd("PEXPIRE")
        .arg(&["gone", "1"])
        .query(&mut c)
        .expect("pexpire");
    let _: () = c.hset("h", "f", "v").expect("hset");
    std::thread::sleep(Duration::from_millis(20));
    let mut raw = std::net::TcpStream::connect(m.addr).expect("connect");
    let mut req = String::new();
    for cmd in [
        vec!["SET", "a", "1"],
        vec!["GET", "a"],
        vec!["GET", "missing"],
        vec!["GET", "h"],
        vec!["GET", "gone"],
        vec!["SET", "a", "2"],
        vec!["GET", "a"],
        vec!["get", "a"],
    ] {
        req.push_str(&format!("*{}\r\n", cmd.len()));
        for a in cmd {
            req.push_str(&format!("${}\r\n{a}\r\n", a.len()));
        }
    }
    raw.write_all(req.as_bytes()).expect("send");
    let want = "+OK\r\n$1\r\n1\r\n$-1\r\n-WRONGTYPE Operation against a key holding the wrong kind of value\r\n$-1\r\n+OK\r\n$1\r\n2\r\n$1\r\n2\r\n";
    let mut got = vec![0u8; want.len()];
    raw.set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    raw.read_exact(&mut got).expect("replies");
    assert_eq!(String::from_utf8_lossy(&got), want);
}

#[test]
fn concurrent_incr_from_many_clients_counts_exactly() {
    let m = InProc::start();
    let threads: Vec<_> = (0..8)
        .map(|_| {
            let mut c = m.client();
            std::thread::spawn(move || {
                for _ in 0..250 {
                    let _: i64 = c.incr("shared", 1).expect("incr");
                }
            })
        })
        .collect();
    for t in threads {
        t.join().expect("client");
    }
    assert_eq!(m.client().get::<_, i64>("shared").expect("get"), 2000);
}

/// Pipelines of `depth` increments from 12 clients, 60 rounds each;
/// `incr(k)` names its target by `k` in 0..1024 (so that a target is
/// often read before the group that writes it, rather than skipped as
/// written by every group). Returns how many increments were sent and the
/// keys the write path took from pre-reads.
fn increments_from_many_clients(
    m: &InProc,
    incr: impl Fn(usize) -> redis::Cmd + Clone + Send + 'static,
) -> (i64, u64) {
    let (clients, rounds, depth, targets) = (12, 60, 16, 1024);
    let threads: Vec<_> = (0..clients)
        .map(|t| {
            let mut c = m.client();
            let incr = incr.clone();
            std::thread::spawn(move || {
                for round in 0..rounds {
                    let mut p = redis::pipe();
                    for i in 0..depth {
                        p.add_command(incr((t * 131 + round * 17 + i * 61) % targets))
                            .ignore();
                    }
                    p.query::<()>(&mut c).expect("pipeline");
                }
            })
        })
        .collect();
    for t in threads {
        t.join().expect("client");
    }
    let stats = info(&mut m.client(), "stats");
    let used: u64 = info_field(&stats, "write_pre_read_keys_used")
        .and_then(|v| v.parse().ok())
        .expect("write_pre_read_keys_used");
    ((clients * rounds * depth) as i64, used)
}

/// A write's connection task reads its keys' metadata before queueing it
/// (master/src/preread.rs); the write path must not use a read that a
/// group committed since has overtaken. Pipelined INCRs from many clients
/// over a thousand keys: every increment counts.
#[test]
fn pipelined_increments_over_shared_keys_from_many_clients_count_exactly() {
    let m = InProc::start();
    let (sent, used) = increments_from_many_clients(&m, |k| {
        let mut c = redis::cmd("INCR");
        c.arg(format!("k{k}"));
        c
    });
    let names: Vec<String> = (0..1024).map(|k| format!("k{k}")).collect();
    let counts: Vec<Option<i64>> = redis::cmd("MGET")
        .arg(&names)
        .query(&mut m.client())
        .expect("mget");
    assert_eq!(counts.into_iter().flatten().sum::<i64>(), sent);
    // And pre-reads were taken, so the count above tested them.
    assert!(used > 0);
}

/// Field writes pre-read their fields too, under the version of their
/// collection's metadata even when every group writes that metadata.
/// Pipelined HINCRBYs over the fields of four hashes, then ZINCRBYs over
/// the members of four sorted sets: every increment counts.
#[test]
fn pipelined_field_increments_over_shared_fields_from_many_clients_count_exactly() {
    let m = InProc::start();
    let (sent, used) = increments_from_many_clients(&m, |k| {
        let mut c = redis::cmd("HINCRBY");
        c.arg(format!("h{}", k % 4)).arg(format!("f{k}")).arg(1);
        c
    });
    let mut c = m.client();
    let mut total = 0;
    for h in 0..4 {
        let values: Vec<i64> = redis::cmd("HVALS")
            .arg(format!("h{h}"))
            .query(&mut c)
            .expect("hvals");
        total += values.iter().sum::<i64>();
    }
    assert_eq!(total, sent);
    // The four hashes are written by nearly every group: what was taken
    // is mostly fields.
    assert!(used > 0);
    let (sent, _) = increments_from_many_clients(&m, |k| {
        let mut c = redis::cmd("ZINCRBY");
        c.arg(format!("z{}", k % 4)).arg(1).arg(format!("m{k}"));
        c
    });
    let mut total = 0.0;
    for z in 0..4 {
        let scores: Vec<(String, f64)> = redis::cmd("ZRANGE")
            .arg(format!("z{z}"))
            .arg(0)
            .arg(-1)
            .arg("WITHSCORES")
            .query(&mut c)
            .expect("zrange");
        total += scores.iter().map(|(_, s)| s).sum::<f64>();
    }
    assert_eq!(total, sent as f64);
}
