//! The newer value types on a slave: a HyperLogLog (a string in Redis's
//! encoding) and a GEO set (a sorted set of geohashes) are the same bytes
//! and scores on the slave as on its master, a stream is the same
//! entries, groups and pending entries, and the slave answers their
//! reads.

use super::*;

/// PFADDs reach the slave byte for byte; PFCOUNT runs on the slave (it
/// keeps no count there: that is a write) and gives the master's number;
/// the count the master's PFCOUNT keeps in the value reaches the slave.
#[test]
fn hyperloglogs_are_equal_on_master_and_slave() {
    let tmp = TempDir::new().expect("tmp");
    let master = Node::master(&tmp.path().join("m"), 0, &[]);
    let slave = Node::slave(&tmp.path().join("s"), 0, master.addr, &[]);
    let mut m = master.client();
    for batch in 0..20 {
        let elements: Vec<String> = (0..batch * 50).map(|i| format!("{batch}:{i}")).collect();
        let _: i64 = redis::cmd("PFADD")
            .arg("visits")
            .arg(&elements)
            .query(&mut m)
            .expect("pfadd");
    }
    wait_synced(&master, &slave, LONG);
    let mut s = slave.client();
    let raw = |c: &mut redis::Connection| -> Vec<u8> { c.get("visits").expect("get") };
    let before = raw(&mut m);
    assert_eq!(raw(&mut s), before, "the slave's HLL bytes");
    let on_slave: i64 = redis::cmd("PFCOUNT")
        .arg("visits")
        .query(&mut s)
        .expect("pfcount on the slave");
    assert_eq!(raw(&mut s), before, "a PFCOUNT on the slave wrote");
    let on_master: i64 = redis::cmd("PFCOUNT")
        .arg("visits")
        .query(&mut m)
        .expect("pfcount");
    assert_eq!(on_slave, on_master);
    let cached = raw(&mut m);
    assert_ne!(cached, before, "the master's PFCOUNT keeps its count");
    wait_synced(&master, &slave, LONG);
    assert_eq!(raw(&mut s), cached);

    // An HLL expired on the slave whose master's delete never came (the
    // master is gone): PFCOUNT reads it as gone, and writes nothing a
    // slave could not commit.
    let _: i64 = redis::cmd("PFADD")
        .arg("brief")
        .arg("x")
        .query(&mut m)
        .expect("pfadd");
    let _: i64 = redis::cmd("PEXPIRE")
        .arg("brief")
        .arg(300)
        .query(&mut m)
        .expect("pexpire");
    wait_synced(&master, &slave, LONG);
    drop(m);
    master.kill();
    std::thread::sleep(Duration::from_millis(400));
    let gone: i64 = redis::cmd("PFCOUNT")
        .arg("brief")
        .query(&mut s)
        .expect("pfcount of an expired hll on the slave");
    assert_eq!(gone, 0);
    let still: i64 = redis::cmd("PFCOUNT")
        .arg("visits")
        .query(&mut s)
        .expect("pfcount");
    assert_eq!(still, on_master);
}

/// GEOADD's scores and a GEOSEARCHSTORE's result reach the slave, which
/// answers GEOSEARCH as its master does.
#[test]
fn geo_sets_are_equal_on_master_and_slave() {
    let tmp = TempDir::new().expect("tmp");
    let master = Node::master(&tmp.path().join("m"), 0, &[]);
    let slave = Node::slave(&tmp.path().join("s"), 0, master.addr, &[]);
    let mut m = master.client();
    for i in 0..500 {
        let (lon, lat) = (
            2.0 + f64::from(i % 50) * 0.01,
            48.5 + f64::from(i / 50) * 0.05,
        );
        let _: i64 = redis::cmd("GEOADD")
            .arg("places")
            .arg(lon)
            .arg(lat)
            .arg(format!("p{i}"))
            .query(&mut m)
            .expect("geoadd");
    }
    let stored: i64 = redis::cmd("GEOSEARCHSTORE")
        .arg("near")
        .arg("places")
        .arg("FROMLONLAT")
        .arg(2.2)
        .arg(48.7)
        .arg("BYRADIUS")
        .arg(10)
        .arg("km")
        .arg("STOREDIST")
        .query(&mut m)
        .expect("geosearchstore");
    assert!(stored > 10, "{stored}");
    wait_synced(&master, &slave, LONG);
    let mut s = slave.client();
    let search = |c: &mut redis::Connection| -> redis::Value {
        redis::cmd("GEOSEARCH")
            .arg("places")
            .arg("FROMMEMBER")
            .arg("p123")
            .arg("BYBOX")
            .arg(20)
            .arg(15)
            .arg("km")
            .arg("WITHDIST")
            .arg("WITHCOORD")
            .query(c)
            .expect("geosearch")
    };
    assert_eq!(search(&mut s), search(&mut m));
    let near = |c: &mut redis::Connection| -> Vec<(String, f64)> {
        c.zrange_withscores("near", 0, -1).expect("zrange")
    };
    assert_eq!(near(&mut s), near(&mut m));
    assert_eq!(near(&mut m).len() as i64, stored);
}

/// Streams with consumer groups reach the slave whole: entries, node
/// layout (XINFO's radix-tree counts), counters, groups, pending entries
/// with their delivery times and counts, consumers with their seen times
/// (a Redis replica differs from its master in the last three). So does
/// a full copy to a slave that comes later. The slave answers stream
/// reads and refuses XREADGROUP (it writes).
#[test]
fn streams_with_consumer_groups_are_equal_on_master_and_slave() {
    let tmp = TempDir::new().expect("tmp");
    let master = Node::master(&tmp.path().join("m"), 0, &[]);
    let slave = Node::slave(&tmp.path().join("s"), 0, master.addr, &[]);
    let mut m = master.client();
    let run = |c: &mut redis::Connection, args: &[&str]| -> redis::Value {
        redis::cmd(args[0])
            .arg(&args[1..])
            .query(c)
            .unwrap_or_else(|e| panic!("{args:?}: {e}"))
    };
    for s in ["orders", "events", "audit"] {
        run(&mut m, &["XGROUP", "CREATE", s, "workers", "$", "MKSTREAM"]);
        run(&mut m, &["XGROUP", "CREATE", s, "audit", "0"]);
    }
    run(&mut m, &["XGROUP", "CREATE", "empty", "g", "$", "MKSTREAM"]);
    for i in 0..600 {
        let s = ["orders", "events", "audit"][i % 3];
        let body = "x".repeat(i % 97);
        run(
            &mut m,
            &[
                "XADD",
                s,
                "MAXLEN",
                "~",
                "150",
                "*",
                "n",
                &i.to_string(),
                "body",
                &body,
            ],
        );
        if i % 7 == 0 {
            let who = if i % 2 == 0 { "alice" } else { "bob" };
            run(
                &mut m,
                &[
                    "XREADGROUP",
                    "GROUP",
                    "workers",
                    who,
                    "COUNT",
                    "3",
                    "STREAMS",
                    s,
                    ">",
                ],
            );
        }
    }
    run(
        &mut m,
        &[
            "XREADGROUP",
            "GROUP",
            "audit",
            "carol",
            "COUNT",
            "40",
            "STREAMS",
            "orders",
            ">",
        ],
    );
    run(
        &mut m,
        &[
            "XREADGROUP",
            "GROUP",
            "audit",
            "carol",
            "NOACK",
            "COUNT",
            "5",
            "STREAMS",
            "events",
            ">",
        ],
    );
    run(
        &mut m,
        &[
            "XREADGROUP",
            "GROUP",
            "audit",
            "carol",
            "STREAMS",
            "orders",
            "0",
        ],
    );
    let first: Vec<redis::Value> = redis::cmd("XRANGE")
        .arg("orders")
        .arg("-")
        .arg("+")
        .arg("COUNT")
        .arg(10)
        .query(&mut m)
        .expect("xrange");
    let id = |v: &redis::Value| -> String {
        match v {
            redis::Value::Array(parts) => redis::from_redis_value(&parts[0]).expect("id"),
            other => panic!("{other:?}"),
        }
    };
    let (a, b) = (id(&first[0]), id(&first[5]));
    run(&mut m, &["XACK", "orders", "audit", &a]);
    run(
        &mut m,
        &[
            "XCLAIM",
            "orders",
            "audit",
            "dave",
            "0",
            &b,
            "RETRYCOUNT",
            "7",
        ],
    );
    run(
        &mut m,
        &[
            "XAUTOCLAIM",
            "orders",
            "workers",
            "erin",
            "0",
            "0",
            "COUNT",
            "4",
        ],
    );
    run(&mut m, &["XDEL", "orders", &id(&first[8])]);
    run(&mut m, &["XTRIM", "events", "MINID", &id(&first[9])]);
    run(
        &mut m,
        &["XGROUP", "DELCONSUMER", "events", "workers", "bob"],
    );
    run(
        &mut m,
        &[
            "XGROUP",
            "SETID",
            "audit",
            "workers",
            "0",
            "ENTRIESREAD",
            "0",
        ],
    );
    run(
        &mut m,
        &[
            "XSETID",
            "empty",
            "99-0",
            "ENTRIESADDED",
            "5",
            "MAXDELETEDID",
            "7-0",
        ],
    );

    wait_synced(&master, &slave, LONG);
    let want = digest(&master);
    assert_eq!(want.len(), 4);
    assert!(want["orders"].contains("dave"), "{}", want["orders"]);
    assert_eq!(digest(&slave), want);

    let mut s = slave.client();
    let len: i64 = redis::cmd("XLEN")
        .arg("orders")
        .query(&mut s)
        .expect("xlen");
    assert!((150..250).contains(&len), "{len}");
    let read: redis::Value = redis::cmd("XREAD")
        .arg("COUNT")
        .arg(2)
        .arg("STREAMS")
        .arg("orders")
        .arg("0")
        .query(&mut s)
        .expect("xread on the slave");
    assert_ne!(read, redis::Value::Nil);
    let refused: redis::RedisResult<redis::Value> = redis::cmd("XREADGROUP")
        .arg("GROUP")
        .arg("workers")
        .arg("zed")
        .arg("STREAMS")
        .arg("orders")
        .arg(">")
        .query(&mut s);
    let e = refused.expect_err("XREADGROUP writes");
    assert_eq!(e.kind(), redis::ErrorKind::ReadOnly, "{e}");

    // A full copy carries them whole too.
    let late = Node::slave(&tmp.path().join("late"), 0, master.addr, &[]);
    wait_synced(&master, &late, LONG);
    assert_eq!(digest(&late), want);
    drop((late, slave));

    // COPY and DUMP/RESTORE carry the tail node the header keeps; so
    // does the binlog replayed after SIGKILL. Each copy then trims as
    // the original does (`~` removes whole nodes: their counts decide).
    run(&mut m, &["COPY", "orders", "copied"]);
    let dumped: Vec<u8> = redis::cmd("DUMP")
        .arg("orders")
        .query(&mut m)
        .expect("dump");
    let _: () = redis::cmd("RESTORE")
        .arg("restored")
        .arg(0)
        .arg(dumped)
        .query(&mut m)
        .expect("restore");
    let (data, port) = (master.data.clone(), master.addr.port());
    master.kill();
    let master = Node::master(&data, port, &[]);
    let mut m = master.client();
    let after = digest(&master);
    assert_eq!(after["orders"], want["orders"], "orders after a crash");
    for copy in ["copied", "restored"] {
        let entries = |d: &std::collections::BTreeMap<String, String>, k: &str| {
            // (the groups differ: RESTORE keeps them, so does COPY)
            d[k].split("groups").next().map(str::to_owned)
        };
        assert_eq!(entries(&after, copy), entries(&after, "orders"), "{copy}");
    }
    for i in 0..300 {
        let mut lens = Vec::new();
        for k in ["orders", "copied", "restored"] {
            let id = format!("{}-{i}", u64::MAX / 2);
            run(&mut m, &["XADD", k, "MAXLEN", "~", "100", &id, "n", "1"]);
            let len: i64 = redis::cmd("XLEN").arg(k).query(&mut m).expect("xlen");
            lens.push(len);
        }
        assert!(lens.iter().all(|&l| l == lens[0]), "step {i}: {lens:?}");
    }
}

/// A client on a slave waiting in XREAD BLOCK is served by the entry its
/// master appends, once the slave has applied it (as a Redis replica
/// serves it); one waiting with a timeout on a stream the master leaves
/// alone gets nil when it ends.
#[test]
fn a_reader_waiting_on_a_slave_is_served_by_its_masters_appends() {
    let tmp = TempDir::new().expect("tmp");
    let master = Node::master(&tmp.path().join("m"), 0, &[]);
    let slave = Node::slave(&tmp.path().join("s"), 0, master.addr, &[]);
    let mut m = master.client();
    let _: String = redis::cmd("XADD")
        .arg("feed")
        .arg("1-0")
        .arg("a")
        .arg("1")
        .query(&mut m)
        .expect("xadd");
    wait_synced(&master, &slave, LONG);
    let mut s = slave.client();
    let reader = std::thread::spawn(move || {
        let got: redis::Value = redis::cmd("XREAD")
            .arg("BLOCK")
            .arg(20_000)
            .arg("STREAMS")
            .arg("feed")
            .arg("$")
            .query(&mut s)
            .expect("xread on the slave");
        let quiet: redis::Value = redis::cmd("XREAD")
            .arg("BLOCK")
            .arg(200)
            .arg("STREAMS")
            .arg("quiet")
            .arg("$")
            .query(&mut s)
            .expect("xread with a timeout");
        (got, quiet)
    });
    std::thread::sleep(Duration::from_millis(300));
    let started = Instant::now();
    let _: String = redis::cmd("XADD")
        .arg("feed")
        .arg("2-0")
        .arg("b")
        .arg("2")
        .query(&mut m)
        .expect("xadd");
    let (got, quiet) = reader.join().expect("reader");
    assert!(started.elapsed() < Duration::from_secs(10), "served late");
    let text = format!("{got:?}");
    assert!(text.contains("2-0") && !text.contains("1-0"), "{text}");
    assert_eq!(quiet, redis::Value::Nil);
}

/// Issue 27: a small change to a large string (APPEND, SETRANGE,
/// BITFIELD, a dense HyperLogLog's PFADD) logs and ships its bytes, not
/// the whole string; the slave's values equal the master's.
#[test]
fn small_changes_to_large_strings_ship_their_bytes_not_the_string() {
    let tmp = TempDir::new().expect("tmp");
    let master = Node::master(&tmp.path().join("m"), 0, &[]);
    let slave = Node::slave(&tmp.path().join("s"), 0, master.addr, &[]);
    let mut m = master.client();
    let chunk: Vec<u8> = (0..1024u32).map(|i| (i * 7 % 251) as u8).collect();
    let _: () = m.set("log", &chunk).expect("set");
    let _: () = m.set("bits", vec![0u8; 64 * 1024]).expect("set");
    let elements: Vec<String> = (0..5000).map(|i| format!("seed:{i}")).collect();
    let _: i64 = redis::cmd("PFADD")
        .arg("hll")
        .arg(&elements)
        .query(&mut m)
        .expect("pfadd");
    let encoding: String = redis::cmd("PFDEBUG")
        .arg("ENCODING")
        .arg("hll")
        .query(&mut m)
        .expect("pfdebug");
    assert_eq!(encoding, "dense");
    let before = master.num("persistence", "binlog_bytes");
    // 500 appends of 1 KiB: logged whole, about 125 MB of binlog.
    for _ in 0..500 {
        let _: i64 = m.append("log", &chunk).expect("append");
    }
    for i in 0..500u32 {
        let _: i64 = redis::cmd("SETRANGE")
            .arg("bits")
            .arg(i * 97)
            .arg("xy")
            .query(&mut m)
            .expect("setrange");
        let _: Vec<i64> = redis::cmd("BITFIELD")
            .arg("bits")
            .arg("SET")
            .arg("u8")
            .arg(i * 1000 + 5)
            .arg(i % 256)
            .query(&mut m)
            .expect("bitfield");
        let _: i64 = redis::cmd("PFADD")
            .arg("hll")
            .arg(format!("more:{i}"))
            .query(&mut m)
            .expect("pfadd");
    }
    let grown = master.num("persistence", "binlog_bytes") - before;
    // The changes themselves are about 0.5 MB (the appended bytes); whole
    // values would be some 125 + 2 × 32 + 6 MB.
    assert!(grown < 2 << 20, "the binlog grew {grown} bytes");
    wait_synced(&master, &slave, LONG);
    let mut s = slave.client();
    for key in ["log", "bits", "hll"] {
        let ours: Vec<u8> = m.get(key).expect("get");
        let theirs: Vec<u8> = s.get(key).expect("get on the slave");
        assert!(ours == theirs, "{key} differs on the slave");
    }
    let log: Vec<u8> = m.get("log").expect("get");
    assert_eq!(log.len(), 501 * 1024);
}

/// Issue 27: LREM takes an element out where it is and leaves a gap
/// (no other element moves, in the store or in the binlog), so a removal
/// anywhere in a long list logs a few bytes; every LREM (from the head,
/// from the tail, all matches, a middle one) leaves the slave's list
/// equal to the master's and to what Redis's LREM leaves, and the list
/// commands that go by index (LINDEX, LSET, LINSERT, LTRIM, pops at
/// either end) read through the gaps on both.
#[test]
fn lrem_leaves_gaps_and_logs_only_what_it_removed() {
    let tmp = TempDir::new().expect("tmp");
    let master = Node::master(&tmp.path().join("m"), 0, &[]);
    let slave = Node::slave(&tmp.path().join("s"), 0, master.addr, &[]);
    let mut m = master.client();
    let n = 20_000usize;
    let mut model: Vec<String> = (0..n).map(|i| format!("element:{i:08}")).collect();
    // a few repeated elements, for counts other than 1
    for i in [3, 5, 7, n - 4, n - 6, n / 2] {
        model[i] = "dup".to_owned();
    }
    for part in model.chunks(1000) {
        let _: i64 = m.rpush("list", part).expect("rpush");
    }
    let before = master.num("persistence", "binlog_bytes");
    // 200 elements from anywhere: near either end, and the middle.
    for i in 0..100usize {
        for at in [10 + i, n / 4 + i * 97] {
            let e = format!("element:{at:08}");
            let removed: i64 = m.lrem("list", 1, &e).expect("lrem");
            assert_eq!(removed, 1);
            let pos = model.iter().position(|v| *v == e).expect("in the model");
            model.remove(pos);
        }
    }
    let grown = master.num("persistence", "binlog_bytes") - before;
    // Moving the shorter side, the middle ones would log some 5 000
    // elements each (about 30 MB in all); one event each is some 50 B.
    assert!(grown < 200 * 200, "the binlog grew {grown} bytes");
    // Counts: from the tail, every match, then a middle element.
    let lrem = |m: &mut redis::Connection, model: &mut Vec<String>, count: i64, e: &str| {
        let removed: i64 = m.lrem("list", count as isize, e).expect("lrem");
        let mut left = if count == 0 {
            usize::MAX
        } else {
            count.unsigned_abs() as usize
        };
        let mut idx: Vec<usize> = (0..model.len()).filter(|&i| model[i] == e).collect();
        if count < 0 {
            idx.reverse();
        }
        let mut gone = Vec::new();
        for i in idx {
            if left == 0 {
                break;
            }
            gone.push(i);
            left -= 1;
        }
        gone.sort_unstable();
        for i in gone.iter().rev() {
            model.remove(*i);
        }
        assert_eq!(removed, gone.len() as i64, "LREM {count} {e}");
    };
    lrem(&mut m, &mut model, -2, "dup");
    lrem(&mut m, &mut model, 1, "dup");
    lrem(&mut m, &mut model, 0, "dup");
    lrem(&mut m, &mut model, 0, &format!("element:{:08}", n / 3));
    let ours: Vec<String> = m.lrange("list", 0, -1).expect("lrange");
    assert!(ours == model, "the master's list is not what LREM leaves");
    // By index, through the gaps.
    for rank in [0, 1, 9, 10, 11, n / 4, n / 2, model.len() - 1] {
        let got: String = m.lindex("list", rank as isize).expect("lindex");
        assert_eq!(got, model[rank], "LINDEX {rank}");
        let back: String = m
            .lindex("list", rank as isize - model.len() as isize)
            .expect("lindex");
        assert_eq!(back, model[rank], "LINDEX {rank} from the tail");
    }
    // (the last ones found by a walk from the tail)
    for rank in [12, n / 4 + 3, n / 3, model.len() - 40, model.len() - 2] {
        let v = format!("set:{rank}");
        let _: () = m.lset("list", rank as isize, &v).expect("lset");
        model[rank] = v;
    }
    let got: Vec<String> = m.lrange("list", 9, 14).expect("lrange");
    assert!(got == model[9..15], "LRANGE through the gaps");
    let _: () = m.ltrim("list", 2, -3).expect("ltrim");
    model = model[2..model.len() - 2].to_vec();
    let first: String = m.lpop("list", None).expect("lpop");
    let last: String = m.rpop("list", None).expect("rpop");
    assert_eq!((first, last), (model.remove(0), model.pop().expect("last")));
    let pivot = model[n / 4].clone();
    let len: i64 = redis::cmd("LINSERT")
        .arg("list")
        .arg("BEFORE")
        .arg(&pivot)
        .arg("inserted")
        .query(&mut m)
        .expect("linsert");
    model.insert(n / 4, "inserted".to_owned());
    assert_eq!(len, model.len() as i64);
    let ours: Vec<String> = m.lrange("list", 0, -1).expect("lrange");
    assert!(ours == model, "the master's list is not the model's");
    wait_synced(&master, &slave, LONG);
    let theirs: Vec<String> = slave
        .client()
        .lrange("list", 0, -1)
        .expect("lrange on the slave");
    assert!(theirs == model, "the slave's list differs");
    // Removing every element deletes the key, on both.
    let _: () = m.del("short").expect("del");
    let _: i64 = m.rpush("short", &["x", "x"]).expect("rpush");
    let _: i64 = m.lrem("short", 0, "x").expect("lrem");
    let exists: bool = m.exists("short").expect("exists");
    assert!(!exists);
}

/// Issue 27: SPOP and SRANDMEMBER draw from the set's pick index (a seek
/// to a random hash, O(log n)) instead of walking the set: members
/// popped by many pipelining clients at once are each popped exactly
/// once, draws spread over the whole set about evenly, and the slave,
/// which keeps the same index from the same events, draws from it too.
#[test]
fn spop_and_srandmember_draw_evenly_from_the_pick_index_and_never_twice() {
    let tmp = TempDir::new().expect("tmp");
    let master = Node::master(&tmp.path().join("m"), 0, &[]);
    let slave = Node::slave(&tmp.path().join("s"), 0, master.addr, &[]);
    let mut m = master.client();
    let n = 10_000usize;
    let members: Vec<String> = (0..n).map(|i| format!("{i}")).collect();
    for part in members.chunks(1000) {
        let _: i64 = m.sadd("set", part).expect("sadd");
    }
    // 200 000 draws of one member: about 20 for each member.
    let mut drawn: Vec<String> = Vec::with_capacity(200_000);
    let mut p = redis::pipe();
    for _ in 0..1000 {
        p.cmd("SRANDMEMBER").arg("set");
    }
    for _ in 0..200 {
        // (a read cut by a signal meant for another test's child, EINTR,
        // is asked again: SRANDMEMBER changes nothing)
        let round: Vec<String> = match p.query(&mut m) {
            Err(e) if e.is_io_error() => {
                m = master.client();
                p.query(&mut m).expect("srandmember")
            }
            r => r.expect("srandmember"),
        };
        drawn.extend(round);
    }
    // and some with repeats, fewer than the set holds
    let repeated: Vec<String> = redis::cmd("SRANDMEMBER")
        .arg("set")
        .arg(-5000)
        .query(&mut m)
        .expect("srandmember");
    assert_eq!(repeated.len(), 5000);
    assert!(repeated
        .iter()
        .all(|k| k.parse::<usize>().is_ok_and(|i| i < n)));
    let mut counts = std::collections::HashMap::new();
    for d in &drawn {
        *counts.entry(d.as_str()).or_insert(0u32) += 1;
    }
    assert!(counts
        .keys()
        .all(|k| k.parse::<usize>().is_ok_and(|i| i < n)));
    let mean = 20.0;
    let var = members
        .iter()
        .map(|k| {
            let c = f64::from(counts.get(k.as_str()).copied().unwrap_or(0));
            (c - mean) * (c - mean)
        })
        .sum::<f64>()
        / n as f64;
    // Uniform draws give a spread (std / mean) of 0.22; a seek to a
    // random hash alone about 1.0; the pick index's, about 0.4.
    let spread = var.sqrt() / mean;
    assert!(spread < 0.6, "draws spread {spread:.2}");
    assert!(
        counts.len() > n * 99 / 100,
        "{} members drawn",
        counts.len()
    );
    // Distinct draws.
    let some: Vec<String> = m.srandmember_multiple("set", 100).expect("srandmember");
    let unique: std::collections::BTreeSet<&String> = some.iter().collect();
    assert_eq!(unique.len(), 100);
    wait_synced(&master, &slave, LONG);
    let theirs: Vec<String> = redis::cmd("SRANDMEMBER")
        .arg("set")
        .arg(-1000)
        .query(&mut slave.client())
        .expect("srandmember on the slave");
    assert!(theirs
        .iter()
        .all(|k| k.parse::<usize>().is_ok_and(|i| i < n)));
    // Eight clients pop it empty, 16 SPOPs a round trip. A round whose
    // replies a signal cut (EINTR) is lost to the count, not popped again.
    let (popped, cut): (Vec<String>, usize) = std::thread::scope(|s| {
        let workers: Vec<_> = (0..8)
            .map(|_| {
                let mut c = master.client();
                let master = &master;
                s.spawn(move || {
                    let (mut got, mut cut) = (Vec::new(), 0);
                    loop {
                        let mut p = redis::pipe();
                        for _ in 0..16 {
                            p.cmd("SPOP").arg("set");
                        }
                        let round: Vec<Option<String>> = match p.query(&mut c) {
                            Err(e) if e.is_io_error() && cut < 3 => {
                                cut += 1;
                                c = master.client();
                                continue;
                            }
                            r => r.expect("spop"),
                        };
                        let done = round.iter().any(Option::is_none);
                        got.extend(round.into_iter().flatten());
                        if done {
                            return (got, cut);
                        }
                    }
                })
            })
            .collect();
        workers.into_iter().map(|w| w.join().expect("worker")).fold(
            (Vec::new(), 0),
            |(mut all, cuts), (got, cut)| {
                all.extend(got);
                (all, cuts + cut)
            },
        )
    });
    assert!(
        popped.len() <= n && popped.len() + 16 * cut >= n,
        "popped {} of {n} ({cut} rounds cut)",
        popped.len()
    );
    let unique: std::collections::BTreeSet<&String> = popped.iter().collect();
    assert_eq!(unique.len(), popped.len(), "a member was popped twice");
    let exists: bool = m.exists("set").expect("exists");
    assert!(!exists);
    wait_synced(&master, &slave, LONG);
    let exists: bool = slave.client().exists("set").expect("exists on the slave");
    assert!(!exists);
}
