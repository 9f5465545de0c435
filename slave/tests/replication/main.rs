//! End-to-end replication (SPEC §5–§7) with real processes on 127.0.0.1.
//! Each test names the known failure of SSDB, Pika or Kvrocks (SPEC §5.4)
//! it rules out, and ends with the slave's digest equal to the master's.

mod chains;
#[path = "../common/mod.rs"]
mod common;
mod guarantees;
mod renames;
mod replicas;
mod scripts;
mod sessions;
mod strings;
mod types;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::*;
use redis::Commands;
use tempfile::TempDir;

const LONG: Duration = Duration::from_secs(120);

#[test]
fn an_empty_slave_full_copies_then_follows_live_writes_of_every_type() {
    let tmp = TempDir::new().expect("tmp");
    let master = Node::master(&tmp.path().join("m"), 0, &[]);
    load(&master, "pre", 5000, 20);
    let slave = Node::slave(&tmp.path().join("s"), 0, master.addr, &[]);
    wait_synced(&master, &slave, LONG);
    assert_eq!(slave.num("replication", "full_copies"), 1);
    // Live writes of every kind, expiry and whole-key operations included.
    let mut c = master.client();
    load(&master, "live", 1000, 10);
    let _: () = c.set_ex("ttl:key", "v", 1000).expect("setex");
    let _: i64 = c.incr("counter", 7).expect("incr");
    let _: () = redis::cmd("RENAME")
        .arg("pre:h:1")
        .arg("renamed")
        .query(&mut c)
        .expect("rename");
    let _: i64 = c.del("pre:s:3").expect("del");
    let _: () = redis::cmd("LTRIM")
        .arg("pre:l:2")
        .arg(1)
        .arg(5)
        .query(&mut c)
        .expect("ltrim");
    let _: Vec<String> = redis::cmd("ZPOPMIN")
        .arg("pre:z:3")
        .arg(2)
        .query(&mut c)
        .expect("zpopmin");
    let _: () = redis::cmd("SET")
        .arg("short")
        .arg("v")
        .arg("PX")
        .arg(100)
        .query(&mut c)
        .expect("set px");
    std::thread::sleep(Duration::from_millis(400));
    wait_synced(&master, &slave, LONG);
    assert_eq!(digest(&slave), digest(&master));
    // Expired on the master means deleted on the slave (a logged delete).
    let mut s = slave.client();
    assert!(!s.exists::<_, bool>("short").expect("exists"));
    // Writes are refused.
    let e = s.set::<_, _, ()>("x", 1).err().map(|e| e.to_string());
    assert!(
        e.as_deref()
            .is_some_and(|e| e.contains("read only replica")),
        "{e:?}"
    );
}

/// Writes of strings carry what their key held (a slave applies them
/// without reading): SET over keys with and without expiries, over other
/// types, INCR keeping an expiry, SETNX, GETSET, MSET, on new and existing
/// keys. The slave ends with the master's keys, expiries and counts.
#[test]
fn string_writes_over_every_prior_state_leave_the_slave_counting_as_the_master() {
    let tmp = TempDir::new().expect("tmp");
    let master = Node::master(&tmp.path().join("m"), 0, &[]);
    let slave = Node::slave(&tmp.path().join("s"), 0, master.addr, &[]);
    wait_synced(&master, &slave, LONG);
    let mut c = master.client();
    let mut p = redis::pipe();
    for i in 0..300 {
        let k = format!("k{i}");
        match i % 6 {
            0 => p.cmd("SET").arg(&k).arg(i).arg("EX").arg(1000),
            1 => p.cmd("SET").arg(&k).arg(i),
            2 => p.cmd("HSET").arg(&k).arg("f").arg(i),
            3 => p.cmd("RPUSH").arg(&k).arg(i),
            4 => p.cmd("INCRBY").arg(&k).arg(i),
            _ => p.cmd("SET").arg(&k).arg(i).arg("PX").arg(1_000_000),
        };
    }
    let _: () = p.query(&mut c).expect("first round");
    let mut p = redis::pipe();
    for i in 0..400 {
        let k = format!("k{i}");
        // INCR and GETSET only over strings (or nothing): a hash or list
        // there is WRONGTYPE, which writes nothing.
        let string = if matches!(i % 6, 2 | 3) {
            format!("new{i}")
        } else {
            k.clone()
        };
        match i % 5 {
            0 => p.cmd("SET").arg(&k).arg("new"),
            1 => p.cmd("INCR").arg(&string),
            2 => p.cmd("SETNX").arg(&k).arg("nx"),
            3 => p.cmd("GETSET").arg(&string).arg("gs"),
            _ => p
                .cmd("MSET")
                .arg(&k)
                .arg("m")
                .arg(format!("other{i}"))
                .arg(i),
        };
    }
    let _: Vec<redis::Value> = p.query(&mut c).expect("second round");
    // The same key several times in one group.
    let mut p = redis::pipe();
    for v in 0..5 {
        p.cmd("SET").arg("twice").arg(v).arg("EX").arg(100 + v);
        p.cmd("INCR").arg("n");
    }
    let _: () = p.query(&mut c).expect("third round");
    wait_synced(&master, &slave, LONG);
    assert_eq!(digest(&slave), digest(&master));
    let keyspace = |n: &Node| field(&n.info("keyspace"), "db0");
    assert!(keyspace(&master).is_some_and(|k| k.contains("expires=")));
    assert_eq!(keyspace(&slave), keyspace(&master));
    // And the counts are the keys' own: one per key, one per expiry.
    let d = digest(&master);
    let expiring = d.values().filter(|v| v.ends_with("ttl=true")).count();
    assert_eq!(
        keyspace(&master),
        Some(format!("keys={},expires={expiring},avg_ttl=0", d.len()))
    );
    let dbsize = |n: &Node| -> i64 { redis::cmd("DBSIZE").query(&mut n.client()).expect("dbsize") };
    assert_eq!(dbsize(&slave), dbsize(&master));
}

/// Writes to one field or member carry whether it was there (a slave
/// applies them without reading the field): HSET, HSETNX, HINCRBY, HDEL,
/// SADD, SREM, SMOVE, ZADD, ZINCRBY, ZREM over fields new and old, over
/// collections new, emptied, replaced by another type, and stored into.
/// Each collection's length on both sides is its own count of elements.
#[test]
fn field_writes_over_every_prior_state_leave_the_slave_counting_as_the_master() {
    let tmp = TempDir::new().expect("tmp");
    let master = Node::master(&tmp.path().join("m"), 0, &[]);
    let slave = Node::slave(&tmp.path().join("s"), 0, master.addr, &[]);
    wait_synced(&master, &slave, LONG);
    let mut c = master.client();
    for round in 0..6 {
        let mut p = redis::pipe();
        for i in 0..240 {
            // Six keys of each type, four fields: writes meet fields again.
            let (k, f) = (i % 6, format!("f{}", (i / 6 + round) % 4));
            let (h, s, z) = (format!("h{k}"), format!("s{k}"), format!("z{k}"));
            match (i + round) % 12 {
                0 => p.cmd("HSET").arg(&h).arg(&f).arg(i),
                1 => p.cmd("HSETNX").arg(&h).arg(&f).arg(i),
                2 => p.cmd("HINCRBY").arg(&h).arg(&f).arg(2),
                3 => p.cmd("HDEL").arg(&h).arg(&f).arg("f9"),
                4 => p.cmd("SADD").arg(&s).arg(&f).arg("m"),
                5 => p.cmd("SREM").arg(&s).arg(&f),
                6 => p
                    .cmd("SMOVE")
                    .arg(&s)
                    .arg(format!("s{}", (k + 1) % 6))
                    .arg(&f),
                7 => p.cmd("ZADD").arg(&z).arg(i).arg(&f),
                8 => p.cmd("ZINCRBY").arg(&z).arg(1).arg(&f),
                9 => p.cmd("ZREM").arg(&z).arg(&f),
                // Whole keys replaced under the field writes.
                10 => match i % 4 {
                    0 => p.cmd("DEL").arg(&h),
                    1 => p.cmd("SET").arg(&s).arg("string"),
                    2 => p
                        .cmd("SUNIONSTORE")
                        .arg(&s)
                        .arg(&s)
                        .arg(format!("s{}", (k + 2) % 6)),
                    _ => p
                        .cmd("ZUNIONSTORE")
                        .arg(&z)
                        .arg(2)
                        .arg(&z)
                        .arg(format!("z{}", (k + 3) % 6)),
                },
                _ => p
                    .cmd("COPY")
                    .arg(&h)
                    .arg(format!("h{}", (k + 1) % 6))
                    .arg("REPLACE"),
            };
        }
        // Sent raw: WRONGTYPE replies (a write to a key another type
        // replaced) are part of the load, not a failure of it.
        let n = 240;
        let replies =
            redis::ConnectionLike::req_packed_commands(&mut c, &p.get_packed_pipeline(), 0, n)
                .expect("round");
        assert_eq!(replies.len(), n);
    }
    wait_synced(&master, &slave, LONG);
    assert_eq!(digest(&slave), digest(&master));
    let lengths = |n: &Node| {
        let mut c = n.client();
        let mut out = Vec::new();
        for t in ["h", "s", "z"] {
            for k in 0..6 {
                let key = format!("{t}{k}");
                let kind: String = redis::cmd("TYPE").arg(&key).query(&mut c).expect("type");
                let (len, items): (i64, usize) = match kind.as_str() {
                    "hash" => (
                        c.hlen(&key).expect("hlen"),
                        c.hkeys::<_, Vec<String>>(&key).expect("hkeys").len(),
                    ),
                    "set" => (
                        c.scard(&key).expect("scard"),
                        c.smembers::<_, Vec<String>>(&key).expect("smembers").len(),
                    ),
                    "zset" => (
                        c.zcard(&key).expect("zcard"),
                        c.zrange::<_, Vec<String>>(&key, 0, -1)
                            .expect("zrange")
                            .len(),
                    ),
                    _ => continue,
                };
                assert_eq!(
                    usize::try_from(len).ok(),
                    Some(items),
                    "{key} on {}",
                    n.addr
                );
                out.push((key, len));
            }
        }
        out
    };
    let on_master = lengths(&master);
    assert!(on_master.len() >= 12, "{on_master:?}");
    assert_eq!(lengths(&slave), on_master);
}

/// SSDB/Pika: a slave killed mid-copy starts the copy over. Here it
/// continues after its last key (a copy recover, not a new copy), and
/// reads are refused until COPY/END (Pika #2433: no "in sync" look after a
/// failed copy).
#[test]
fn a_slave_killed_mid_copy_resumes_from_its_last_key() {
    let tmp = TempDir::new().expect("tmp");
    let master = Node::master(&tmp.path().join("m"), 0, &["--sync-speed", "1"]);
    load(&master, "k", 40_000, 100);
    let port = free_port();
    let slave = Node::slave(&tmp.path().join("s"), port, master.addr, &[]);
    wait_until("the copy to be under way", LONG, || {
        !slave
            .field("replication", "last_key")
            .unwrap_or_default()
            .is_empty()
    });
    let e = redis::cmd("GET")
        .arg("k:s:1")
        .query::<Option<String>>(&mut slave.client())
        .err()
        .map(|e| e.to_string());
    assert!(
        e.as_deref()
            .is_some_and(|e| e.contains("copying the dataset")),
        "reads during a copy: {e:?}"
    );
    // Let a breakpoint become durable (the slave flushes copied pairs at
    // most every second), with most of the copy still to come.
    std::thread::sleep(Duration::from_millis(1500));
    slave.kill();
    let slave = Node::slave(&tmp.path().join("s"), port, master.addr, &[]);
    let e = redis::cmd("GET")
        .arg("k:s:1")
        .query::<Option<String>>(&mut slave.client())
        .err()
        .map(|e| e.to_string());
    assert!(
        e.as_deref()
            .is_some_and(|e| e.contains("copying the dataset")),
        "reads after a failed copy: {e:?}"
    );
    wait_synced(&master, &slave, LONG);
    assert_eq!(master.num("stats", "sync_copy_resumed"), 1);
    assert_eq!(master.num("stats", "sync_full"), 1, "no second full copy");
    assert_eq!(slave.num("replication", "copy_resumes"), 1);
    assert_eq!(slave.num("replication", "full_copies"), 1);
    assert_eq!(digest(&slave), digest(&master));
}

/// Beyond the seed: the snapshot and its registry live on disk, so a copy
/// interrupted by a master restart still resumes from its breakpoint.
#[test]
fn a_copy_resumes_from_its_breakpoint_across_a_master_restart() {
    let tmp = TempDir::new().expect("tmp");
    let mport = free_port();
    let master = Node::master(&tmp.path().join("m"), mport, &["--sync-speed", "1"]);
    load(&master, "k", 40_000, 100);
    let slave = Node::slave(&tmp.path().join("s"), 0, master.addr, &[]);
    wait_until("the copy to be under way", LONG, || {
        !slave
            .field("replication", "last_key")
            .unwrap_or_default()
            .is_empty()
    });
    master.kill();
    let master = Node::master(&tmp.path().join("m"), mport, &[]);
    wait_synced(&master, &slave, LONG);
    assert_eq!(master.num("stats", "sync_copy_resumed"), 1);
    assert_eq!(master.num("stats", "sync_full"), 0);
    assert_eq!(slave.num("replication", "full_copies"), 1);
    assert_eq!(digest(&slave), digest(&master));
}

/// Pika/SSDB: a slave crash between applying and recording an INCR loses
/// or repeats it. Here event and progress are one write batch.
#[test]
fn a_slave_killed_repeatedly_during_an_incr_load_ends_with_the_masters_counter() {
    let tmp = TempDir::new().expect("tmp");
    let master = Node::master(&tmp.path().join("m"), 0, &[]);
    let port = free_port();
    let stop = Arc::new(AtomicBool::new(false));
    let done = Arc::new(AtomicU64::new(0));
    let load = {
        let mut c = master.client();
        let (stop, done) = (Arc::clone(&stop), Arc::clone(&done));
        std::thread::spawn(move || {
            for _ in 0..1_000_000 {
                if stop.load(Ordering::Relaxed) {
                    break;
                }
                let _: i64 = c.incr("counter", 1).expect("incr");
                let _: () = redis::cmd("HINCRBY")
                    .arg("h")
                    .arg("f")
                    .arg(2)
                    .query(&mut c)
                    .expect("hincrby");
                done.fetch_add(1, Ordering::Relaxed);
            }
        })
    };
    for _ in 0..4 {
        let slave = Node::slave(&tmp.path().join("s"), port, master.addr, &[]);
        std::thread::sleep(Duration::from_millis(400));
        slave.kill();
    }
    stop.store(true, Ordering::Relaxed);
    load.join().expect("load");
    assert!(done.load(Ordering::Relaxed) > 100);
    let slave = Node::slave(&tmp.path().join("s"), port, master.addr, &[]);
    wait_synced(&master, &slave, LONG);
    let m: i64 = master.client().get("counter").expect("get");
    let s: i64 = slave.client().get("counter").expect("get");
    assert_eq!(s, m);
    assert_eq!(digest(&slave), digest(&master));
}
