//! End-to-end replication (SPEC §5–§7) with real processes on 127.0.0.1.
//! Each test names the known failure of SSDB, Pika or Kvrocks (SPEC §5.4)
//! it rules out, and ends with the slave's digest equal to the master's.

mod common;

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

/// A slave whose next event was purged cannot resume: it is full-copied.
#[test]
fn a_slave_whose_binlog_was_purged_is_full_copied() {
    let tmp = TempDir::new().expect("tmp");
    let master = Node::master(&tmp.path().join("m"), 0, &["--max-binlog-size", "16384"]);
    load(&master, "a", 500, 10);
    let port = free_port();
    let slave = Node::slave(&tmp.path().join("s"), port, master.addr, &[]);
    wait_synced(&master, &slave, LONG);
    slave.kill();
    load(&master, "b", 2000, 50);
    let active = master
        .field("persistence", "binlog_active_file")
        .expect("active file");
    let removed: i64 = redis::cmd("PURGE")
        .arg("LOGS")
        .arg("TO")
        .arg(&active)
        .query(&mut master.client())
        .expect("purge");
    assert!(removed > 0);
    let slave = Node::slave(&tmp.path().join("s"), port, master.addr, &[]);
    wait_synced(&master, &slave, LONG);
    assert_eq!(master.num("stats", "sync_partial_err"), 1);
    assert_eq!(slave.num("replication", "full_copies"), 2);
    assert_eq!(digest(&slave), digest(&master));
}

/// Kvrocks #462: a slave with the same seq but another history silently
/// diverges. Here another replid means a full copy.
#[test]
fn a_slave_fed_another_masters_history_is_full_copied() {
    let tmp = TempDir::new().expect("tmp");
    let a = Node::master(&tmp.path().join("a"), 0, &[]);
    let b = Node::master(&tmp.path().join("b"), 0, &[]);
    // Same number of writes on both: same seqs, other content.
    load(&a, "from-a", 500, 10);
    load(&b, "from-b", 500, 10);
    assert_eq!(
        a.num("persistence", "binlog_last_seq"),
        b.num("persistence", "binlog_last_seq")
    );
    let port = free_port();
    let slave = Node::slave(&tmp.path().join("s"), port, a.addr, &[]);
    wait_synced(&a, &slave, LONG);
    slave.kill();
    let slave = Node::slave(&tmp.path().join("s"), port, b.addr, &[]);
    wait_synced(&b, &slave, LONG);
    assert_eq!(b.num("stats", "sync_partial_err"), 1);
    assert_eq!(slave.num("replication", "full_copies"), 2);
    assert_eq!(
        slave.field("replication", "master_replid"),
        b.field("replication", "master_replid")
    );
    assert_eq!(digest(&slave), digest(&b));
}

/// Kvrocks #346: the last write waits for the next one to push it. Here
/// the session wakes on the append itself.
#[test]
fn one_write_with_no_write_after_it_reaches_the_slave_at_once() {
    let tmp = TempDir::new().expect("tmp");
    let master = Node::master(&tmp.path().join("m"), 0, &[]);
    let slave = Node::slave(&tmp.path().join("s"), 0, master.addr, &[]);
    wait_synced(&master, &slave, LONG);
    let mut m = master.client();
    let mut s = slave.client();
    let mut worst = Duration::ZERO;
    for i in 0..20 {
        std::thread::sleep(Duration::from_millis(50));
        let _: () = m.set("lone", i).expect("set");
        let start = Instant::now();
        wait_until(
            "the lone write on the slave",
            Duration::from_secs(10),
            || s.get::<_, Option<i64>>("lone").expect("get") == Some(i),
        );
        worst = worst.max(start.elapsed());
    }
    // Far below the 1 s wait of a polling session or a heartbeat.
    assert!(worst < Duration::from_millis(500), "worst {worst:?}");
}

/// Pika #1638: a reader of the slave sees half of an MSET. Here each
/// command's events apply in one batch.
#[test]
fn an_mset_of_100_keys_is_never_seen_half_applied_on_the_slave() {
    let tmp = TempDir::new().expect("tmp");
    let master = Node::master(&tmp.path().join("m"), 0, &[]);
    let slave = Node::slave(&tmp.path().join("s"), 0, master.addr, &[]);
    wait_synced(&master, &slave, LONG);
    let keys: Vec<String> = (0..100).map(|i| format!("mset:{i}")).collect();
    let stop = Arc::new(AtomicBool::new(false));
    let reader = {
        let mut s = slave.client();
        let keys = keys.clone();
        let stop = Arc::clone(&stop);
        std::thread::spawn(move || {
            let mut reads = 0;
            while !stop.load(Ordering::Relaxed) && reads < 1_000_000 {
                let vals: Vec<Option<i64>> = s.mget(&keys).expect("mget");
                let first = vals[0];
                assert!(
                    vals.iter().all(|v| *v == first),
                    "half-applied MSET seen: {vals:?}"
                );
                reads += 1;
            }
            reads
        })
    };
    let mut m = master.client();
    for round in 0..300i64 {
        let pairs: Vec<(String, i64)> = keys.iter().map(|k| (k.clone(), round)).collect();
        let _: () = m.mset(&pairs).expect("mset");
    }
    wait_synced(&master, &slave, LONG);
    stop.store(true, Ordering::Relaxed);
    let reads = reader.join().expect("reader");
    assert!(reads > 10, "reads {reads}");
    assert_eq!(digest(&slave), digest(&master));
}

/// Kvrocks #3356: a slow or dead slave stalls the master. Here a stopped
/// slave (SIGSTOP) slows no client and its session ends after
/// slave_timeout.
#[test]
fn a_slave_that_stops_reading_neither_slows_clients_nor_keeps_its_session() {
    let tmp = TempDir::new().expect("tmp");
    let master = Node::master(&tmp.path().join("m"), 0, &["--slave-timeout", "2"]);
    let slave = Node::slave(&tmp.path().join("s"), 0, master.addr, &[]);
    wait_synced(&master, &slave, LONG);
    slave.signal("-STOP");
    let mut c = master.client();
    let big = "v".repeat(10_000);
    let start = Instant::now();
    for i in 0..3000 {
        let _: () = c
            .set(format!("big:{i}"), &big)
            .expect("set while the slave is stopped");
    }
    let took = start.elapsed();
    assert!(took < Duration::from_secs(20), "3000 writes took {took:?}");
    wait_until(
        "the stopped slave's session to end",
        Duration::from_secs(30),
        || master.num("replication", "connected_slaves") == 0,
    );
    slave.signal("-CONT");
    wait_synced(&master, &slave, LONG);
    assert_eq!(digest(&slave), digest(&master));
}

/// Slaves share one framed stream of the master's newest events (as
/// Redis's replicas share one buffer) instead of each reading and
/// re-encoding the binlog. A slave that falls behind that stream (here:
/// stopped while 40 MB are written, more than the stream's 8 MiB and the
/// sockets' buffers) reads the binlog itself, then rejoins; no slave's
/// stream restarts, and every slave ends with the master's data.
#[test]
fn slaves_share_one_feed_and_one_left_behind_it_reads_the_binlog() {
    let tmp = TempDir::new().expect("tmp");
    let master = Node::master(&tmp.path().join("m"), 0, &[]);
    let a = Node::slave(&tmp.path().join("a"), 0, master.addr, &[]);
    let b = Node::slave(&tmp.path().join("b"), 0, master.addr, &[]);
    wait_synced(&master, &a, LONG);
    wait_synced(&master, &b, LONG);
    // A gap or a repeat in what a slave receives would end its link; it
    // would resume (or copy) again, which these count.
    let starts = || {
        (
            master.num("stats", "sync_full"),
            master.num("stats", "sync_partial_ok"),
            master.num("stats", "sync_partial_err"),
        )
    };
    let started = starts();
    let events = || master.num("replication", "master_repl_offset");
    let before = events();
    load(&master, "live", 2000, 100);
    wait_synced(&master, &a, LONG);
    wait_synced(&master, &b, LONG);
    let written = events() - before;
    assert!(written >= 2000, "{written} events");
    let fed = master.num("stats", "sync_events_from_feed");
    assert!(
        fed >= 2 * written,
        "{fed} events from the feed for 2 × {written}"
    );
    assert_eq!(master.num("stats", "sync_events_from_binlog"), 0);
    assert!(master.num("stats", "sync_feed_bytes") > 0);

    b.signal("-STOP");
    let mut c = master.client();
    let big = "v".repeat(10_000);
    for chunk in (0..4000).collect::<Vec<_>>().chunks(100) {
        let mut p = redis::pipe();
        for i in chunk {
            p.cmd("SET").arg(format!("big:{i}")).arg(&big).ignore();
        }
        let _: () = p.query(&mut c).expect("40 MB of writes");
    }
    wait_synced(&master, &a, LONG);
    b.signal("-CONT");
    wait_synced(&master, &b, LONG);
    assert!(
        master.num("stats", "sync_events_from_binlog") > 0,
        "the stopped slave was never behind the feed"
    );
    assert!(master.num("stats", "sync_feed_bytes") <= 9 << 20);
    // Back on the feed once caught up.
    let fed = master.num("stats", "sync_events_from_feed");
    load(&master, "after", 500, 10);
    wait_synced(&master, &a, LONG);
    wait_synced(&master, &b, LONG);
    assert!(master.num("stats", "sync_events_from_feed") >= fed + 2 * 500);
    assert_eq!(starts(), started, "a slave's stream broke and restarted");
    let want = digest(&master);
    assert_eq!(digest(&a), want);
    assert_eq!(digest(&b), want);
}

/// SSDB #1079: reconnecting slaves pile up sessions. Here a reconnect
/// replaces the old session.
#[test]
fn a_reconnecting_slave_replaces_its_session() {
    let tmp = TempDir::new().expect("tmp");
    let master = Node::master(&tmp.path().join("m"), 0, &[]);
    let port = free_port();
    for _ in 0..3 {
        let slave = Node::slave(&tmp.path().join("s"), port, master.addr, &[]);
        wait_synced(&master, &slave, LONG);
        let _: () = master.client().set("k", port).expect("set");
        slave.signal("-KILL");
        std::thread::sleep(Duration::from_millis(100));
    }
    let slave = Node::slave(&tmp.path().join("s"), port, master.addr, &[]);
    wait_synced(&master, &slave, LONG);
    wait_until("one session per slave", Duration::from_secs(10), || {
        master.num("replication", "connected_slaves") == 1
    });
    assert_eq!(digest(&slave), digest(&master));
}

/// `sync_speed` bounds the full copy's rate (SPEC §5.2).
#[test]
fn sync_speed_bounds_the_copy_rate() {
    let tmp = TempDir::new().expect("tmp");
    let master = Node::master(&tmp.path().join("m"), 0, &["--sync-speed", "1"]);
    load(&master, "k", 15_000, 200);
    let start = Instant::now();
    let slave = Node::slave(&tmp.path().join("s"), 0, master.addr, &[]);
    wait_synced(&master, &slave, LONG);
    let secs = start.elapsed().as_secs_f64();
    let info = master.info("replication");
    let bytes: f64 = field(&info, "slave0")
        .and_then(|s| {
            s.split(',')
                .find_map(|kv| kv.strip_prefix("copy_bytes=").map(str::to_owned))
        })
        .and_then(|v| v.parse().ok())
        .expect("copy_bytes");
    let mbps = bytes / 1024.0 / 1024.0 / secs;
    assert!(bytes > 2.0 * 1024.0 * 1024.0, "copied only {bytes} bytes");
    assert!(mbps <= 1.2, "copy ran at {mbps:.2} MB/s with sync_speed 1");
    assert_eq!(digest(&slave), digest(&master));
}

/// Kvrocks #1319: while a throttled copy runs, the master writes flat out
/// and purges its binlog; the slave then finds its position purged and
/// copies again, forever. Here the binlog from the snapshot's seq is
/// pinned, so the copy is followed by streaming.
#[test]
fn a_throttled_copy_under_flat_out_writes_and_purges_ends_in_streaming() {
    let tmp = TempDir::new().expect("tmp");
    let master = Node::master(
        &tmp.path().join("m"),
        0,
        &["--sync-speed", "1", "--max-binlog-size", "16384"],
    );
    load(&master, "k", 10_000, 200);
    let slave = Node::slave(&tmp.path().join("s"), 0, master.addr, &[]);
    wait_until("the copy to be under way", LONG, || {
        slave
            .field("replication", "master_sync_in_progress")
            .as_deref()
            == Some("1")
    });
    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let mut c = master.client();
        let stop = Arc::clone(&stop);
        std::thread::spawn(move || {
            let mut n = 0u64;
            while !stop.load(Ordering::Relaxed) && n < 5_000_000 {
                let _: () = c.set(format!("w:{}", n % 5000), n).expect("set");
                n += 1;
            }
        })
    };
    let mut purged = 0;
    while slave
        .field("replication", "master_sync_in_progress")
        .as_deref()
        == Some("1")
    {
        let active = master
            .field("persistence", "binlog_active_file")
            .expect("active");
        purged += redis::cmd("PURGE")
            .arg("LOGS")
            .arg("TO")
            .arg(&active)
            .query::<i64>(&mut master.client())
            .expect("purge");
        std::thread::sleep(Duration::from_millis(100));
    }
    stop.store(true, Ordering::Relaxed);
    writer.join().expect("writer");
    wait_synced(&master, &slave, LONG);
    assert_eq!(master.num("stats", "sync_full"), 1, "a second full copy");
    assert_eq!(slave.num("replication", "full_copies"), 1);
    assert_eq!(digest(&slave), digest(&master));
    // The purges did run: the files before the snapshot's seq went.
    assert!(purged > 0, "nothing was purged");
}

/// `WAIT numslaves timeout` counts slaves that acknowledged every write
/// made before it, like Redis's.
#[test]
fn wait_counts_acknowledging_slaves() {
    let tmp = TempDir::new().expect("tmp");
    let master = Node::master(&tmp.path().join("m"), 0, &[]);
    let slave = Node::slave(&tmp.path().join("s"), 0, master.addr, &[]);
    wait_synced(&master, &slave, LONG);
    let mut c = master.client();
    for i in 0..50 {
        let _: () = c.set(format!("k{i}"), i).expect("set");
        let n: i64 = redis::cmd("WAIT")
            .arg(1)
            .arg(5000)
            .query(&mut c)
            .expect("wait");
        assert_eq!(n, 1, "after write {i}");
        let v: Option<i64> = slave.client().get(format!("k{i}")).expect("get");
        assert_eq!(v, Some(i), "acknowledged means applied");
    }
    let start = Instant::now();
    let n: i64 = redis::cmd("WAIT")
        .arg(2)
        .arg(200)
        .query(&mut c)
        .expect("wait");
    assert_eq!(n, 1);
    assert!(
        start.elapsed() >= Duration::from_millis(190),
        "returned before its timeout"
    );
}

/// A slave stops cleanly on SIGTERM while its master keeps running (its
/// link does not sit in a long read), and resumes from the binlog after.
#[test]
fn a_slave_stops_promptly_on_sigterm_and_resumes_after() {
    let tmp = TempDir::new().expect("tmp");
    let master = Node::master(&tmp.path().join("m"), 0, &[]);
    load(&master, "before", 500, 10);
    let port = free_port();
    let slave = Node::slave(&tmp.path().join("s"), port, master.addr, &[]);
    wait_synced(&master, &slave, LONG);
    let status = slave.terminate(Duration::from_secs(10));
    assert!(status.success(), "{status}");
    load(&master, "after", 500, 10);
    let slave = Node::slave(&tmp.path().join("s"), port, master.addr, &[]);
    wait_synced(&master, &slave, LONG);
    assert_eq!(slave.num("replication", "binlog_resumes"), 1);
    assert_eq!(slave.num("replication", "full_copies"), 1);
    assert_eq!(digest(&slave), digest(&master));
}

/// Chained replication (SPEC §1): a slave serves SYNC140 from its own
/// binlog, which keeps the master's seqs, so a slave of a slave ends on the
/// master's history, seq and data.
#[test]
fn a_slave_of_a_slave_follows_the_masters_history() {
    let tmp = TempDir::new().expect("tmp");
    let master = Node::master(&tmp.path().join("m"), 0, &[]);
    load(&master, "a", 1000, 10);
    let first = Node::slave(&tmp.path().join("s1"), 0, master.addr, &[]);
    wait_synced(&master, &first, LONG);
    let second = Node::slave(&tmp.path().join("s2"), free_port(), first.addr, &[]);
    wait_synced(&master, &second, LONG);
    load(&master, "b", 1000, 10);
    let _: i64 = master.client().incr("counter", 3).expect("incr");
    wait_synced(&master, &second, LONG);
    assert_eq!(digest(&second), digest(&master));
    assert_eq!(first.num("replication", "connected_slaves"), 1);
    // The chained slave resumes from the middle slave's binlog.
    let port = second.addr.port();
    second.kill();
    load(&master, "c", 500, 10);
    let second = Node::slave(&tmp.path().join("s2"), port, first.addr, &[]);
    wait_synced(&master, &second, LONG);
    assert_eq!(second.num("replication", "binlog_resumes"), 1);
    assert_eq!(second.num("replication", "full_copies"), 1);
    assert_eq!(digest(&second), digest(&master));
}

/// A slave's own binlog (which chained slaves read) is purged by the same
/// rules as a master's, so it does not grow without bound between copies.
#[test]
fn a_slaves_binlog_is_purged_to_its_budget() {
    let tmp = TempDir::new().expect("tmp");
    let master = Node::master(&tmp.path().join("m"), 0, &[]);
    let slave = Node::slave(
        &tmp.path().join("s"),
        0,
        master.addr,
        &["--max-binlog-size", "16384", "--binlog-budget", "65536"],
    );
    load(&master, "k", 500, 10);
    wait_synced(&master, &slave, LONG);
    load(&master, "more", 5000, 100);
    wait_synced(&master, &slave, LONG);
    let binlog = tmp.path().join("s").join("binlog");
    let total = || -> u64 {
        std::fs::read_dir(&binlog)
            .map(|d| {
                d.flatten()
                    .filter_map(|e| e.metadata().ok())
                    .map(|m| m.len())
                    .sum()
            })
            .unwrap_or(0)
    };
    assert!(
        total() > 65536 * 4,
        "the slave's binlog did not grow: {}",
        total()
    );
    wait_until("the slave's binlog purge", Duration::from_secs(40), || {
        total() <= 65536 + 16384 * 2
    });
    assert_eq!(digest(&slave), digest(&master));
}

/// The writes of one EXEC are one unit on the slave too: a reader of the
/// slave polling during 300 EXECs of 10 INCRs (one per key) never sees the
/// keys at different counts.
#[test]
fn a_slave_reader_never_sees_half_of_an_exec() {
    let tmp = TempDir::new().expect("tmp");
    let master = Node::master(&tmp.path().join("m"), 0, &[]);
    let slave = Node::slave(&tmp.path().join("s"), 0, master.addr, &[]);
    let keys: Vec<String> = (0..10).map(|i| format!("tx:{i}")).collect();
    let _: () = master.client().set("start", 1).expect("set");
    wait_synced(&master, &slave, LONG);
    let done = Arc::new(AtomicBool::new(false));
    let reader = {
        let (done, keys, mut c) = (Arc::clone(&done), keys.clone(), slave.client());
        std::thread::spawn(move || {
            let mut polls = 0u64;
            while !done.load(Ordering::Relaxed) && polls < 200_000 {
                let v: Vec<Option<i64>> =
                    redis::cmd("MGET").arg(&keys).query(&mut c).expect("mget");
                let first = v[0].unwrap_or(0);
                assert!(
                    v.iter().all(|x| x.unwrap_or(0) == first),
                    "half an EXEC: {v:?}"
                );
                polls += 1;
            }
            polls
        })
    };
    let mut c = master.client();
    for _ in 0..1000 {
        let mut p = redis::pipe();
        p.atomic();
        for k in &keys {
            p.cmd("INCR").arg(k);
        }
        let _: Vec<i64> = p.query(&mut c).expect("exec");
    }
    wait_synced(&master, &slave, LONG);
    done.store(true, Ordering::Relaxed);
    let polls = reader.join().expect("the reader saw only whole EXECs");
    assert!(polls > 10, "the reader barely ran ({polls} polls)");
    let v: Vec<i64> = redis::cmd("MGET")
        .arg(&keys)
        .query(&mut slave.client())
        .expect("mget");
    assert!(v.iter().all(|x| *x == 1000), "{v:?}");
}

/// Issue 11: a queue of 3 blocked consumers is served in the order they
/// blocked, one per LPUSH from another client; a BLMOVE's push feeds a
/// consumer blocked on its destination; a timeout answers nil after its
/// time; a consumer on the slave is refused (slaves are read-only); and
/// the slave ends with what the consumers left, equal to the master.
#[test]
fn blocked_consumers_are_served_in_order_and_the_slave_sees_what_they_got() {
    let tmp = TempDir::new().expect("tmp");
    let master = Node::master(&tmp.path().join("m"), 0, &[]);
    let slave = Node::slave(&tmp.path().join("s"), 0, master.addr, &[]);
    let blocked = || master.num("clients", "blocked_clients");
    let mut consumers = Vec::new();
    for i in 0..3u64 {
        let mut c = master.client();
        consumers.push(std::thread::spawn(move || {
            redis::cmd("BLPOP")
                .arg("jobs")
                .arg(0)
                .query::<(String, String)>(&mut c)
                .expect("blpop")
        }));
        wait_until("the consumer to block", LONG, || blocked() == i + 1);
    }
    let mut c = master.client();
    for j in 0..3 {
        let _: i64 = c.lpush("jobs", format!("job{j}")).expect("lpush");
    }
    for (i, t) in consumers.into_iter().enumerate() {
        let got = t.join().expect("consumer");
        assert_eq!(got, ("jobs".to_owned(), format!("job{i}")), "consumer {i}");
    }
    assert_eq!(blocked(), 0);

    // A BLMOVE's push feeds a consumer blocked on its destination.
    let mover = {
        let mut c = master.client();
        std::thread::spawn(move || {
            redis::cmd("BLMOVE")
                .arg(&["src", "mid", "LEFT", "RIGHT", "0"])
                .query::<String>(&mut c)
                .expect("blmove")
        })
    };
    wait_until("the mover to block", LONG, || blocked() == 1);
    let taker = {
        let mut c = master.client();
        std::thread::spawn(move || {
            redis::cmd("BLPOP")
                .arg(&["mid", "0"])
                .query::<(String, String)>(&mut c)
                .expect("blpop")
        })
    };
    wait_until("the taker to block", LONG, || blocked() == 2);
    let _: i64 = c.rpush("src", &["x", "y"]).expect("rpush");
    assert_eq!(mover.join().expect("mover"), "x");
    assert_eq!(
        taker.join().expect("taker"),
        ("mid".to_owned(), "x".to_owned())
    );

    // A sorted-set consumer, and a timeout.
    let zc = {
        let mut c = master.client();
        std::thread::spawn(move || {
            redis::cmd("BZPOPMAX")
                .arg(&["z1", "z2", "0"])
                .query::<(String, String, String)>(&mut c)
                .expect("bzpopmax")
        })
    };
    wait_until("the sorted-set consumer to block", LONG, || blocked() == 1);
    let _: i64 = c
        .zadd_multiple("z2", &[(1.5, "a"), (2.5, "b")])
        .expect("zadd");
    assert_eq!(
        zc.join().expect("zc"),
        ("z2".to_owned(), "b".to_owned(), "2.5".to_owned())
    );
    let t0 = Instant::now();
    let none: Option<(String, String)> = redis::cmd("BLPOP")
        .arg(&["nothing", "0.3"])
        .query(&mut c)
        .expect("blpop");
    let waited = t0.elapsed();
    assert_eq!(none, None);
    assert!(
        waited >= Duration::from_millis(300) && waited < Duration::from_secs(10),
        "{waited:?}"
    );

    let refused = redis::cmd("BLPOP")
        .arg(&["jobs", "0"])
        .query::<Option<(String, String)>>(&mut slave.client())
        .expect_err("a slave refuses BLPOP");
    assert_eq!(refused.kind(), redis::ErrorKind::ReadOnly, "{refused}");

    wait_synced(&master, &slave, LONG);
    let left: Vec<String> = slave.client().lrange("src", 0, -1).expect("lrange");
    assert_eq!(left, ["y"]);
    let d = digest(&master);
    assert!(!d.contains_key("jobs") && !d.contains_key("mid"), "{d:?}");
    assert_eq!(d, digest(&slave));
}

/// Issue 11: a WATCH on a slave is broken by the master's write to the
/// key, which reaches it through replication (as in Redis).
#[test]
fn a_watch_on_a_slave_is_broken_by_a_replicated_write() {
    let tmp = TempDir::new().expect("tmp");
    let master = Node::master(&tmp.path().join("m"), 0, &[]);
    let slave = Node::slave(&tmp.path().join("s"), 0, master.addr, &[]);
    let _: () = master.client().set("w", 1).expect("set");
    wait_synced(&master, &slave, LONG);
    let mut c = slave.client();
    let run = |c: &mut redis::Connection| -> Option<(i64,)> {
        redis::pipe().atomic().get("w").query(c).expect("exec")
    };
    let _: () = redis::cmd("WATCH").arg("w").query(&mut c).expect("watch");
    assert_eq!(run(&mut c), Some((1,)), "untouched: the EXEC runs");
    let _: () = redis::cmd("WATCH").arg("w").query(&mut c).expect("watch");
    let _: () = master.client().set("w", 2).expect("set");
    wait_synced(&master, &slave, LONG);
    assert_eq!(run(&mut c), None, "touched by the master's write");
}
