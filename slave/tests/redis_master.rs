//! A rocksync node as the replica of a live redis-server (`SLAVEOF` it):
//! the full sync's RDB, the command stream under load, partial resyncs
//! after a cut link and after a restart, a rocksync slave of the node
//! following along, and the promotion that ends the migration.

mod common;

use std::process::{Command, Stdio};
use std::time::Duration;

use common::*;
use redis::Commands;
use tempfile::TempDir;

/// A field of redis-server's INFO section.
fn redis_num(c: &mut redis::Connection, section: &str, key: &str) -> u64 {
    let info: String = redis::cmd("INFO").arg(section).query(c).expect("info");
    field(&info, key)
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no {key} in INFO {section}: {info}"))
}

/// The offset redis-server's replica on `port` acknowledged, once it is
/// online (past its full sync).
fn replica_offset(c: &mut redis::Connection, port: u16) -> Option<u64> {
    let info: String = redis::cmd("INFO")
        .arg("replication")
        .query(c)
        .expect("info");
    info.lines()
        .filter(|l| l.starts_with("slave"))
        .find(|l| l.contains(&format!("port={port},state=online,")))
        .and_then(|l| l.split("offset=").nth(1))
        .and_then(|v| v.split(',').next())
        .and_then(|v| v.parse().ok())
}

/// Wait until the node applied and acknowledged everything redis-server
/// wrote to its stream, its link up. (redis-server shows a replica
/// online, at offset 0, as soon as a diskless transfer ends, before the
/// replica loaded it: the node's own INFO says when it has.)
fn wait_caught_up(redis: &Redis, node: &Node) {
    let mut c = redis.client();
    wait_until(
        "the rocksync node to hold and acknowledge the master's offset",
        Duration::from_secs(60),
        || {
            let master = redis_num(&mut c, "replication", "master_repl_offset");
            node.field("replication", "master_link_status").as_deref() == Some("up")
                && node.num("replication", "slave_repl_offset") == master
                && replica_offset(&mut c, node.addr.port()) == Some(master)
        },
    );
}

/// Every type before the sync (a stream with its consumer group, TTLs, a
/// function library), then
/// redis-benchmark's writes (-P 16) with transactions, scripts, FCALL,
/// expiries and stream entries beside them while the link is cut once:
/// the node ends with redis-server's digest, and so does a rocksync
/// slave of the node. The cut and a restart of the node continue the
/// stream (PSYNC: redis-server counts partial syncs, no new full one);
/// SLAVEOF NO ONE then makes it a master that takes writes.
#[test]
fn a_rocksync_node_follows_a_live_redis_server_then_takes_over() {
    let redis = Redis::start(&[
        "--repl-backlog-size",
        "64mb",
        "--repl-diskless-sync-delay",
        "0",
    ]);
    let mut r = redis.client();
    let _: () = r.set("s", "before").expect("set");
    let _: () = r.set_ex("s:ttl", "kept", 5000).expect("setex");
    let _: () = r.rpush("l", &["a", "b", "c"]).expect("rpush");
    let _: () = r.sadd("set", &[1, 2, 3]).expect("sadd");
    let _: () = r
        .hset_multiple("h", &[("f", "v"), ("g", "w")])
        .expect("hset");
    let _: () = r
        .zadd_multiple("z", &[(1.5, "a"), (2.5, "b")])
        .expect("zadd");
    let lib = "#!lua name=lib\nredis.register_function('bump', function(keys) return redis.call('incrby', keys[1], 2) end)";
    function_load(&mut r, lib);
    stream_with_group(&mut r, "st", 300);

    let tmp = TempDir::new().expect("tmp");
    let node = Node::master(&tmp.path().join("n"), 0, &[]);
    let sub = Node::slave(&tmp.path().join("s"), 0, node.addr, &[]);
    let redis_addr: std::net::SocketAddr =
        format!("127.0.0.1:{}", redis.port).parse().expect("addr");
    assert_eq!(slaveof(&node, Some(redis_addr)), "OK");
    wait_caught_up(&redis, &node);
    let full = redis_num(&mut r, "stats", "sync_full");
    assert_eq!(
        node.client().get::<_, String>("s").expect("get"),
        "before",
        "the RDB was loaded"
    );

    let mut bench = Proc(
        Command::new("redis-benchmark")
            .args(["-p", &redis.port.to_string(), "-q", "-P", "16", "-c", "20"])
            .args(["-n", "100000", "-r", "20000"])
            .args(["-t", "set,incr,lpush,rpop,sadd,spop,hset,zadd,zpopmin"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-benchmark"),
    );
    for i in 0..200 {
        let _: () = redis::pipe()
            .atomic()
            .set(format!("tx:{i}"), i)
            .incr("tx:count", 1)
            .lpush("tx:list", i)
            .query(&mut r)
            .expect("multi/exec");
        let _: i64 = redis::cmd("EVAL")
            .arg(
                "redis.call('hset', KEYS[1], ARGV[1], ARGV[1]); return redis.call('incr', KEYS[2])",
            )
            .arg(2)
            .arg("script:h")
            .arg("script:n")
            .arg(i)
            .query(&mut r)
            .expect("eval");
        let _: i64 = redis::cmd("FCALL")
            .arg("bump")
            .arg(1)
            .arg("fn:n")
            .query(&mut r)
            .expect("fcall");
        let _: String = redis::cmd("XADD")
            .arg("events")
            .arg("*")
            .arg("n")
            .arg(i)
            .query(&mut r)
            .expect("xadd");
        let _: () = r.pexpire(format!("tx:{i}"), 600_000).expect("pexpire");
        if i % 10 == 0 {
            let _: () = r.del(format!("tx:{}", i / 2)).expect("del");
        }
        if i == 100 {
            // The link cut mid-stream: it continues from its offset.
            let _: u64 = redis::cmd("CLIENT")
                .arg("KILL")
                .arg("TYPE")
                .arg("replica")
                .query(&mut r)
                .expect("client kill");
        }
    }
    let status = bench.0.wait().expect("redis-benchmark");
    assert!(status.success(), "redis-benchmark failed");
    wait_caught_up(&redis, &node);
    // Its INFO shows the master's offset, as a Redis replica's does
    // (Sentinel compares it across the replicas).
    let acked = replica_offset(&mut r, node.addr.port()).expect("online");
    let shown = node.num("replication", "slave_repl_offset");
    let master = redis_num(&mut r, "replication", "master_repl_offset");
    assert!(
        (acked..=master).contains(&shown),
        "{acked} {shown} {master}"
    );
    let want = digest_of("redis-server", || redis.client());
    assert!(want.len() > 1000, "{} keys", want.len());
    assert_eq!(digest(&node), want, "the node differs from redis-server");
    assert!(redis_num(&mut r, "stats", "sync_partial_ok") >= 1);
    assert_eq!(
        redis_num(&mut r, "stats", "sync_full"),
        full,
        "a new full sync"
    );
    wait_synced(&node, &sub, Duration::from_secs(60));
    assert_eq!(digest(&sub), want, "the node's own slave differs");

    // A restart continues the stream too.
    let partial = redis_num(&mut r, "stats", "sync_partial_ok");
    let (data, port) = (node.data.clone(), node.addr.port());
    node.terminate(Duration::from_secs(30));
    let _: () = r.set("while-down", "yes").expect("set");
    let node = Node::master(&data, port, &[]);
    wait_caught_up(&redis, &node);
    assert_eq!(
        node.client().get::<_, String>("while-down").expect("get"),
        "yes"
    );
    assert_eq!(redis_num(&mut r, "stats", "sync_partial_ok"), partial + 1);
    assert_eq!(
        redis_num(&mut r, "stats", "sync_full"),
        full,
        "a new full sync"
    );

    // The operator promotes it: it takes writes, its slave follows.
    assert_eq!(slaveof(&node, None), "OK");
    let mut c = node.client();
    let _: () = c
        .set("after", "promoted")
        .expect("set on the promoted node");
    let _: i64 = redis::cmd("FCALL")
        .arg("bump")
        .arg(1)
        .arg("fn:n")
        .query(&mut c)
        .expect("the master's function runs here");
    wait_synced(&node, &sub, Duration::from_secs(60));
    assert_eq!(
        sub.client().get::<_, String>("after").expect("get"),
        "promoted"
    );
}

/// This node holds database 0 only: a master that writes to another
/// stops the link with an error that says so, also after the link comes
/// back, and what came before stays applied. A PUBLISH from another
/// database (Redis replicates it) is no write there and passes.
#[test]
fn a_write_to_another_database_stops_the_link_and_says_why() {
    let redis = Redis::start(&["--repl-diskless-sync-delay", "0"]);
    let tmp = TempDir::new().expect("tmp");
    let node = Node::master(&tmp.path().join("n"), 0, &[]);
    let redis_addr: std::net::SocketAddr =
        format!("127.0.0.1:{}", redis.port).parse().expect("addr");
    assert_eq!(slaveof(&node, Some(redis_addr)), "OK");
    wait_caught_up(&redis, &node);
    let mut r = redis.client();
    let _: () = r.set("zero", "0").expect("set");
    wait_until("the write to arrive", Duration::from_secs(30), || {
        node.client()
            .get::<_, Option<String>>("zero")
            .ok()
            .flatten()
            == Some("0".into())
    });
    // A subscriber of the node gets what the master publishes, as a
    // Redis replica's does.
    let (tx, sub) = std::sync::mpsc::channel::<String>();
    let mut listener = node.client();
    let _t = std::thread::spawn(move || {
        let mut pubsub = listener.as_pubsub();
        pubsub.subscribe("ch").expect("subscribe");
        let _ = tx.send(String::new());
        while let Ok(msg) = pubsub.get_message() {
            if tx.send(msg.get_payload().unwrap_or_default()).is_err() {
                break;
            }
        }
    });
    assert_eq!(
        sub.recv_timeout(Duration::from_secs(10)).ok().as_deref(),
        Some(""),
        "subscribed"
    );
    let _: () = redis::cmd("SELECT").arg(1).query(&mut r).expect("select");
    // A message from database 1 is no write to it: it passes (the
    // error below names the SET).
    let _: i64 = r.publish("ch", "hello").expect("publish");
    let _: () = r.set("one", "1").expect("set in database 1");
    let log = node.data.with_extension("rocksync-master.log");
    // It says so again after it reconnects (the stream continues in
    // database 1, where the master's last SELECT left it).
    let why = "the master runs SET in database 1; this node has one keyspace";
    wait_until(
        "the link to say why it stopped, twice",
        Duration::from_secs(30),
        || std::fs::read_to_string(&log).is_ok_and(|t| t.matches(why).count() >= 2),
    );
    // INFO says why too.
    let said = node
        .field("replication", "master_link_last_error")
        .unwrap_or_default();
    assert!(said.contains(why), "{said}");
    let mut c = node.client();
    assert_eq!(
        sub.recv_timeout(Duration::from_secs(10)).ok().as_deref(),
        Some("hello"),
        "the master's message reaches the node's subscriber"
    );
    assert_eq!(
        c.get::<_, Option<String>>("zero").expect("get"),
        Some("0".into())
    );
    assert_eq!(c.get::<_, Option<String>>("one").expect("get"), None);
}
