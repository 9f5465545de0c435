//! Sharding with twemproxy (Debian's `nutcracker`, unmodified) over three
//! rocksync master/slave groups (issue 10): redis-benchmark runs through
//! the proxy, keys spread over every group, replies through the proxy equal
//! those of redis-servers behind the same proxy configuration, and each
//! group's slave equals its master.

mod common;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use common::*;
use rocksync_testkit::Nutcracker;
use tempfile::TempDir;

const LONG: Duration = Duration::from_secs(120);

/// twemproxy named `name` in front of `backends`.
fn nutcracker(dir: &Path, name: &str, backends: &[u16]) -> Nutcracker {
    Nutcracker::start(dir, name, backends)
        .expect("nutcracker is installed (apt-get install nutcracker) and starts")
}

fn conn(port: u16) -> redis::Connection {
    let c = redis::Client::open(format!("redis://127.0.0.1:{port}/"))
        .expect("client")
        .get_connection_with_timeout(Duration::from_secs(10))
        .expect("connect");
    c.set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    c
}

/// Commands a sharded application sends, single- and multi-key.
const SCRIPT: &[&[&str]] = &[
    &["SET", "user:1", "ann"],
    &["SET", "user:2", "bob"],
    &["SET", "user:3", "cid"],
    &["GET", "user:1"],
    &["MGET", "user:1", "user:2", "user:3", "user:4"],
    &["MSET", "a", "1", "b", "2", "c", "3"],
    &["MGET", "a", "b", "c"],
    &["INCRBY", "a", "41"],
    &["EXISTS", "a", "b", "nope"],
    &["DEL", "a", "b", "nope"],
    &["EXISTS", "a"],
    &["HSET", "h", "f", "v", "g", "w"],
    &["HGETALL", "h"],
    &["RPUSH", "l", "x", "y", "z"],
    &["LRANGE", "l", "0", "-1"],
    &["SADD", "s", "m"],
    &["SISMEMBER", "s", "m"],
    &["ZADD", "z", "1", "one", "2", "two"],
    &["ZRANGE", "z", "0", "-1", "WITHSCORES"],
    &["EXPIRE", "user:3", "100"],
    &["TTL", "user:3"],
    &["TYPE", "h"],
    &["GET", "nope"],
    &["INCR", "user:1"],
];

#[test]
fn twemproxy_shards_over_three_groups_as_over_redis_servers() {
    let tmp = TempDir::new().expect("tmp");
    let mut groups = Vec::new();
    for g in 0..3 {
        let m = Node::master(&tmp.path().join(format!("m{g}")), 0, &[]);
        let s = Node::slave(&tmp.path().join(format!("s{g}")), free_port(), m.addr, &[]);
        groups.push((m, s));
    }
    let masters: Vec<u16> = groups.iter().map(|(m, _)| m.addr.port()).collect();
    let proxy = nutcracker(tmp.path(), "rocksync", &masters);
    let ours = proxy.port;
    let redis: Vec<Redis> = (0..3).map(|_| Redis::start(&[])).collect();
    let redis_ports: Vec<u16> = redis.iter().map(|r| r.port).collect();
    let proxy2 = nutcracker(tmp.path(), "redis", &redis_ports);
    let theirs = proxy2.port;

    let (mut a, mut b) = (conn(ours), conn(theirs));
    let mut differ = Vec::new();
    for cmd in SCRIPT {
        let mut q = redis::cmd(cmd[0]);
        for arg in &cmd[1..] {
            q.arg(*arg);
        }
        let x: redis::RedisResult<redis::Value> = q.query(&mut a);
        let y: redis::RedisResult<redis::Value> = q.query(&mut b);
        let show = |r: redis::RedisResult<redis::Value>| match r {
            Ok(v) => format!("{v:?}"),
            Err(e) => format!("error {:?} {:?}", e.code(), e.detail()),
        };
        let (x, y) = (show(x), show(y));
        if x != y {
            differ.push(format!("{cmd:?}: rocksync {x} / redis {y}"));
        }
    }
    assert!(
        differ.is_empty(),
        "through twemproxy:\n{}",
        differ.join("\n")
    );

    let bench = Command::new("redis-benchmark")
        .args(["-h", "127.0.0.1", "-p", &ours.to_string()])
        .args([
            "-c",
            "20",
            "-n",
            "20000",
            "-r",
            "100000",
            "-t",
            "set,get,incr,lpush",
            "-q",
        ])
        .output()
        .expect("redis-benchmark");
    assert!(
        bench.status.success(),
        "{}",
        String::from_utf8_lossy(&bench.stderr)
    );
    for (m, s) in &groups {
        let keys: u64 = redis::cmd("DBSIZE").query(&mut m.client()).expect("dbsize");
        assert!(
            keys > 1000,
            "group at {} got {keys} keys: not spread",
            m.addr
        );
        wait_synced(m, s, LONG);
        assert_eq!(digest(s), digest(m));
    }
}
