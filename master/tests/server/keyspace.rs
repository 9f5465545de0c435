//! The keyspace under concurrent writes, expiry and the garbage sweep:
//! key counts, expiry index entries, SCAN, stale collection members.

use super::*;

/// A FLUSHALL voids every pre-read made before it: a SET that read its key
/// as present before the flush would not count the key it creates after
/// it. SETs racing FLUSHALLs leave DBSIZE and INFO's count equal to the
/// keys there are.
#[test]
fn sets_racing_flushalls_leave_the_key_count_equal_to_the_keys() {
    let m = InProc::start();
    let mut c = m.client();
    // A miscount shows only when no later FLUSHALL resets the count: one
    // FLUSHALL per trial, amid the writes.
    for trial in 0..40 {
        let writers: Vec<_> = (0..6)
            .map(|t| {
                let mut w = m.client();
                std::thread::spawn(move || {
                    for round in 0..30 {
                        let mut p = redis::pipe();
                        for i in 0..16 {
                            let key = format!("k{}", (t * 7 + round + i) % 64);
                            p.cmd("SET").arg(key).arg(round).ignore();
                        }
                        p.query::<()>(&mut w).expect("pipeline");
                    }
                })
            })
            .collect();
        std::thread::sleep(std::time::Duration::from_micros(500 + 100 * trial));
        let _: () = redis::cmd("FLUSHALL").query(&mut c).expect("flushall");
        for t in writers {
            t.join().expect("writer");
        }
        let keys: Vec<String> = redis::cmd("KEYS").arg("*").query(&mut c).expect("keys");
        let dbsize: usize = redis::cmd("DBSIZE").query(&mut c).expect("dbsize");
        assert_eq!(dbsize, keys.len(), "trial {trial}");
        let keyspace = info(&mut c, "keyspace");
        let want = format!("db0:keys={},", keys.len());
        assert!(keys.is_empty() || keyspace.contains(&want), "{keyspace}");
    }
}

/// The expiry sweep drops index entries that their keys do not have,
/// instead of meeting them first on every tick: with more than one
/// sweep's worth of them (1 000), keys due behind them were never deleted.
/// Such entries need a state this node's own events did not make: here,
/// string writes whose recorded prior dropped the old expiry.
#[test]
fn expiry_index_entries_their_keys_lack_do_not_stall_the_sweep() {
    use rocksync_master::store::apply::apply_event;
    use rocksync_master::store::batch::Batch;
    use rocksync_master::store::{Store, StoreOptions};
    use rocksync_protocol::{Command, LogEvent, Prior};

    let m = InProc::start();
    let _: () = m.client().set("seed", "1").expect("set");
    let dir = m.stop();
    {
        let store = Store::open(
            &dir.path().join("data").join("db"),
            &StoreOptions::default(),
        )
        .expect("store");
        let mut b = Batch::new();
        for i in 0..1500u64 {
            let key = format!("ghost{i}");
            // Due long ago, then rewritten without expiry by an event
            // whose prior claims there was none: the entry stays.
            let due = LogEvent::data(0, Command::KSet, key.clone(), "v").with_ttl(1000 + i as i64);
            let lie = LogEvent::data(0, Command::KSet, key, "w")
                .with_prior(Prior::Present { expire_ms: 0 });
            apply_event(&store, &mut b, &due).expect("apply");
            apply_event(&store, &mut b, &lie).expect("apply");
        }
        let applied = store.applied_seq().expect("applied");
        store.write_batch(b, applied).expect("write");
        assert_eq!(store.counts().expect("counts"), (1501, 1500));
    }
    let m = restart(dir);
    let mut c = m.client();
    let _: () = c.pset_ex("gone", "v", 50).expect("psetex");
    wait_for_dbsize(&mut c, 1501, "the due key to be swept");
    // The ghosts stay (they have no expiry), and the count of keys with
    // one is right again.
    assert_eq!(c.get::<_, String>("ghost7").expect("get"), "w");
    let keyspace = info(&mut c, "keyspace");
    assert_eq!(
        info_field(&keyspace, "db0").as_deref(),
        Some("keys=1501,expires=0,avg_ttl=0")
    );
}

#[test]
fn keys_expire_lazily_and_by_the_sweep() {
    let m = InProc::start();
    let mut c = m.client();
    let _: () = redis::cmd("SET")
        .arg("gone")
        .arg("v")
        .arg("PX")
        .arg(50)
        .query(&mut c)
        .expect("set");
    let _: () = c.hset("h", "f", "v").expect("hset");
    let _: bool = c.pexpire("h", 50).expect("pexpire");
    std::thread::sleep(Duration::from_millis(80));
    // Lazily: reads answer nil at once.
    assert_eq!(c.get::<_, Option<String>>("gone").expect("get"), None);
    assert_eq!(
        c.hget::<_, _, Option<String>>("h", "f").expect("hget"),
        None
    );
    // By the sweep: the keys are deleted (DBSIZE drops) within bounded time.
    wait_for_dbsize(&mut c, 0, "expired keys to be swept");
    let stats = info(&mut c, "stats");
    assert_eq!(info_field(&stats, "expired_keys").as_deref(), Some("2"));
    // A write to an expired key starts from nothing.
    let _: () = redis::cmd("SET")
        .arg("n")
        .arg("41")
        .arg("PX")
        .arg(30)
        .query(&mut c)
        .expect("set");
    std::thread::sleep(Duration::from_millis(50));
    assert_eq!(c.incr::<_, _, i64>("n", 1).expect("incr"), 1);
}

#[test]
fn deleting_a_large_hash_is_one_metadata_write() {
    let m = InProc::start();
    let mut c = m.client();
    let mut p = redis::pipe();
    for i in 0..20_000 {
        p.cmd("HSET")
            .arg("big")
            .arg(format!("f{i}"))
            .arg(i)
            .ignore();
    }
    let _: () = p.query(&mut c).expect("fill");
    let before: String = info(&mut c, "stats");
    let events = |s: &str| {
        info_field(s, "write_events")
            .and_then(|v| v.parse::<u64>().ok())
            .expect("write_events")
    };
    let deleted: i64 = c.del("big").expect("del");
    assert_eq!(deleted, 1);
    let after = info(&mut c, "stats");
    assert_eq!(
        events(&after) - events(&before),
        1,
        "DEL of a hash logs one event"
    );
    assert_eq!(c.hlen::<_, i64>("big").expect("hlen"), 0);
    let _: () = c.hset("big", "new", "1").expect("hset");
    assert_eq!(
        c.hgetall::<_, Vec<String>>("big").expect("hgetall"),
        ["new", "1"]
    );
}

#[test]
fn scan_visits_every_key_once() {
    let m = InProc::start();
    let mut c = m.client();
    let mut p = redis::pipe();
    for i in 0..1000 {
        p.cmd("SET").arg(format!("key:{i}")).arg(i).ignore();
    }
    let _: () = p.query(&mut c).expect("fill");
    let mut seen = BTreeSet::new();
    let mut cursor = "0".to_owned();
    for _ in 0..1000 {
        let (next, keys): (String, Vec<String>) = redis::cmd("SCAN")
            .arg(&cursor)
            .arg("COUNT")
            .arg(37)
            .query(&mut c)
            .expect("scan");
        for k in keys {
            assert!(seen.insert(k), "a key was returned twice");
        }
        cursor = next;
        if cursor == "0" {
            break;
        }
    }
    assert_eq!(seen.len(), 1000);
    let matched: Vec<String> = c.keys("key:99*").expect("keys");
    assert_eq!(matched.len(), 11);
    let e = redis::cmd("SCAN")
        .arg("12345678")
        .query::<redis::Value>(&mut c)
        .err()
        .map(|e| e.to_string());
    assert!(
        e.as_deref().is_some_and(|e| e.contains("invalid cursor")),
        "{e:?}"
    );
}

/// The garbage sweep reads every member in the store, so it runs only
/// when a write has left members stale: live collections alone are not
/// read through again after each 10 s rest (with data larger than memory
/// that would be disk reads, forever), nor after a set emptied member by
/// member. A DEL of a hash, and a SET over one, each start a pass.
#[test]
fn the_garbage_sweep_runs_only_after_writes_that_leave_members_stale() {
    let m = InProc::start();
    let mut c = m.client();
    let passes = |c: &mut redis::Connection| -> u64 {
        info_field(&info(c, "stats"), "gc_passes")
            .and_then(|v| v.trim().parse().ok())
            .expect("gc_passes in INFO stats")
    };
    let wait_for_pass = |c: &mut redis::Connection, after: u64, what: &str| {
        let deadline = Instant::now() + Duration::from_secs(30);
        while passes(c) <= after {
            assert!(Instant::now() < deadline, "no sweep pass after {what}");
            std::thread::sleep(Duration::from_millis(50));
        }
    };
    // The pass every node makes when it starts.
    wait_for_pass(&mut c, 0, "the start");
    let mut p = redis::pipe();
    for i in 0..2000 {
        p.cmd("HSET").arg("h").arg(format!("f{i}")).arg(i).ignore();
        p.cmd("HSET").arg("g").arg(format!("f{i}")).arg(i).ignore();
    }
    let _: () = p.query(&mut c).expect("fill");
    // Emptied member by member: its members went with it, nothing stale.
    let _: i64 = c.sadd("e", &["a", "b"]).expect("sadd");
    let _: i64 = c.srem("e", &["a", "b"]).expect("srem");
    let idle = passes(&mut c);
    // Longer than a pass of 4 000 members and the 10 s rest after it.
    std::thread::sleep(Duration::from_secs(13));
    assert_eq!(passes(&mut c), idle, "a pass over live collections only");
    let _: i64 = c.del("h").expect("del");
    wait_for_pass(&mut c, idle, "DEL of a hash");
    let after_del = passes(&mut c);
    let _: () = c.set("g", "now a string").expect("set");
    wait_for_pass(&mut c, after_del, "SET over a hash");
}

/// Deleting or overwriting a collection (or a long string, kept in
/// chunks) is one metadata write; the background sweep then removes its
/// old members (chunks) from disk, and never a live one.
#[test]
fn stale_members_of_deleted_collections_are_swept_and_live_ones_kept() {
    let m = InProc::start();
    let mut c = m.client();
    let mut p = redis::pipe();
    for i in 0..3000 {
        p.cmd("HSET")
            .arg("doomed")
            .arg(format!("f{i}"))
            .arg(i)
            .ignore();
        p.cmd("ZADD")
            .arg("zdoomed")
            .arg(i)
            .arg(format!("m{i}"))
            .ignore();
        p.cmd("SADD").arg("kept").arg(format!("m{i}")).ignore();
    }
    let _: () = p.query(&mut c).expect("fill");
    let _: i64 = c.del(&["doomed", "zdoomed"]).expect("del");
    // Recreated under the same name: a new version, members kept.
    let _: i64 = c.hset("doomed", "new", "1").expect("hset");
    // Long strings, kept in chunks once changed in part (an APPEND): one
    // deleted, one replaced by SET and changed again (its chunks under a
    // new version), one grown in place by APPEND (its chunks kept).
    let long = |b: u8, n: usize| vec![b; n];
    for key in ["ldoomed", "lreplaced", "lkept"] {
        let _: () = c.set(key, long(b'a', 100_000)).expect("set");
        let _: i64 = c.append(key, "a").expect("append");
    }
    let _: i64 = c.del("ldoomed").expect("del");
    let _: () = c.set("lreplaced", long(b'b', 60_000)).expect("set");
    let _: i64 = c.append("lreplaced", "b").expect("append");
    let _: i64 = c.append("lkept", long(b'c', 10_000)).expect("append");
    let chunk = rocksync_master::store::keys::CHUNK;
    let (replaced_chunks, kept_chunks) =
        (60_001usize.div_ceil(chunk), 110_001usize.div_ceil(chunk));
    let data = m.dir.path().join("data").join("db");
    let dir = m.stop();
    let store = rocksync_master::store::Store::open(&data, &Default::default()).expect("open");
    let count = |cf| {
        let mut n = 0;
        store
            .scan(cf, &[], &[], |_, _| {
                n += 1;
                true
            })
            .expect("scan");
        n
    };
    use rocksync_master::{gc, store::Cf};
    // The master's own sweep may have started; none of it went live.
    let before = count(Cf::Sub) + count(Cf::ZScore);
    let live_sub = 3001 + replaced_chunks + kept_chunks;
    assert!(count(Cf::Sub) >= live_sub);
    let mut cursor = gc::GcCursor::default();
    let mut removed = 0;
    // Two full passes over both column families.
    for _ in 0..40 {
        let (n, next) = gc::sweep(&store, &cursor, 1000).expect("sweep");
        removed += n;
        cursor = next;
    }
    assert_eq!(count(Cf::Sub), live_sub);
    // (the live set's pick index stays beside its members)
    assert_eq!(count(Cf::ZScore), 3000);
    assert_eq!(
        removed,
        before - live_sub - 3000,
        "every stale entry, nothing else"
    );
    drop(store);
    let m = restart(dir);
    let mut c = m.client();
    assert_eq!(c.scard::<_, i64>("kept").expect("scard"), 3000);
    assert_eq!(
        c.hgetall::<_, Vec<String>>("doomed").expect("hgetall"),
        ["new", "1"]
    );
    let got: Vec<u8> = c.get("lreplaced").expect("get");
    assert!(got == long(b'b', 60_001), "the replacing string");
    let mut want = long(b'a', 100_001);
    want.extend_from_slice(&long(b'c', 10_000));
    let got: Vec<u8> = c.get("lkept").expect("get");
    assert!(got == want, "the string grown in place");
    assert!(!c.exists::<_, bool>("ldoomed").expect("exists"));
}

/// Every sweep slice until two whole passes over both column families
/// are done.
fn sweep_twice(store: &rocksync_master::store::Store) {
    use rocksync_master::gc;
    let mut cursor = gc::GcCursor::default();
    let mut passes = 0;
    for _ in 0..10_000 {
        let (_, next) = gc::sweep(store, &cursor, 1000).expect("sweep");
        cursor = next;
        if cursor == gc::GcCursor::default() {
            passes += 1;
            if passes == 2 {
                return;
            }
        }
    }
    panic!("the sweep never finished two passes");
}

/// Entries in `cf`, and how many of them are move records.
fn entries(
    store: &rocksync_master::store::Store,
    cf: rocksync_master::store::Cf,
) -> (usize, usize) {
    let (mut n, mut moved) = (0, 0);
    store
        .scan(cf, &[], &[], |k, _| {
            n += 1;
            moved += usize::from(rocksync_master::store::keys::parse_moved(k).is_some());
            true
        })
        .expect("scan");
    (n, moved)
}

/// RENAME moves a value's metadata only: its members stay under the name
/// they were written under, with a move record naming the key that holds
/// them. The sweep keeps them however that name is used since (a new
/// value there, deleted or kept; the value renamed on, or back to it),
/// and once no key holds them removes them with their records. Without
/// the records (deleted here by hand), the sweep takes a renamed hash's
/// members: the hazard they remove.
#[test]
fn renamed_values_keep_their_members_through_the_sweep() {
    use rocksync_master::store::{keys, Cf, Store};
    let m = InProc::start();
    let mut c = m.client();
    let mut p = redis::pipe();
    for i in 0..1000 {
        let f = format!("m{i}");
        p.cmd("HSET").arg("h").arg(&f).arg(i).ignore();
        p.cmd("ZADD").arg("z").arg(i).arg(&f).ignore();
        p.cmd("SADD").arg("s").arg(&f).ignore();
        p.cmd("RPUSH").arg("l").arg(&f).ignore();
        p.cmd("HSET").arg("gone").arg(&f).arg(i).ignore();
    }
    for i in 0..200 {
        p.cmd("XADD").arg("x").arg("*").arg("i").arg(i).ignore();
    }
    p.cmd("RPUSH").arg("dst").arg(&["a", "b", "c"]).ignore();
    let _: () = p.query(&mut c).expect("fill");
    // A long string kept in chunks (changed in part).
    let _: () = c.set("ls", vec![b'a'; 100_000]).expect("set");
    let _: i64 = c.append("ls", "tail").expect("append");
    let _: () = c.expire("z", 3600).expect("expire");
    let renames: &[&[&str]] = &[
        // a chain, the first name used again and deleted meanwhile
        &["RENAME", "h", "h2"],
        &["HSET", "h", "f", "1"],
        &["DEL", "h"],
        &["RENAME", "h2", "h3"],
        &["HSET", "h3", "late", "1"],
        &["HDEL", "h3", "m7"],
        // the first name holds a new value
        &["RENAME", "z", "z2"],
        &["ZADD", "z", "1", "new"],
        &["ZPOPMIN", "z2"],
        // back to its first name, which held another set meanwhile
        &["RENAME", "s", "s2"],
        &["SADD", "s", "other"],
        &["DEL", "s"],
        &["RENAME", "s2", "s"],
        &["SPOP", "s"],
        // onto a list whose own elements go stale
        &["RENAME", "l", "dst"],
        &["LPUSH", "dst", "head"],
        &["RENAME", "x", "x2"],
        &["XADD", "x2", "*", "i", "late"],
        &["RENAME", "ls", "ls2"],
        &["APPEND", "ls2", "more"],
        // renamed, then deleted: stale with its record
        &["RENAME", "gone", "gone2"],
        &["DEL", "gone2"],
    ];
    for cmd in renames {
        let _: redis::Value = redis::cmd(cmd[0])
            .arg(&cmd[1..])
            .query(&mut c)
            .unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    }
    let want = rocksync_testkit::digest_of("the master", || m.client());
    assert_eq!(
        want.keys().map(String::as_str).collect::<Vec<_>>(),
        ["dst", "h3", "ls2", "s", "x2", "z", "z2"]
    );
    let late: Option<String> = c.hget("h3", "late").expect("hget");
    assert_eq!(
        late.as_deref(),
        Some("1"),
        "a field written after the renames"
    );
    assert_eq!(c.hlen::<_, i64>("h3").expect("hlen"), 1000);
    let data = m.dir.path().join("data").join("db");
    let dir = m.stop();
    let store = Store::open(&data, &Default::default()).expect("open");
    let (_, records) = entries(&store, Cf::Sub);
    assert!(records >= 6, "move records: {records}");
    sweep_twice(&store);
    // Only the records of values still moved stay: h3, z2, dst, x2, ls2.
    assert_eq!(entries(&store, Cf::Sub).1, 5, "the live move records");
    // The set moved back to its name holds all there is under it: no
    // entry is left of the set that name held meanwhile (a later version).
    let mut under_s = [0, 0];
    for (i, cf) in [Cf::Sub, Cf::ZScore].into_iter().enumerate() {
        let prefix = [&1u32.to_be_bytes()[..], b"s"].concat();
        store
            .scan(cf, &prefix, &prefix, |_, _| {
                under_s[i] += 1;
                true
            })
            .expect("scan");
    }
    assert_eq!(under_s, [999, 999], "members and pick index of s");
    drop(store);
    let m = restart(dir);
    assert_eq!(
        rocksync_testkit::digest_of("the master", || m.client()),
        want
    );
    // Every key deleted: the sweep leaves nothing behind.
    let mut c = m.client();
    let _: () = redis::cmd("DEL")
        .arg(want.keys().collect::<Vec<_>>())
        .query(&mut c)
        .expect("del");
    let dir = m.stop();
    let store = Store::open(&data, &Default::default()).expect("open");
    sweep_twice(&store);
    assert_eq!(entries(&store, Cf::Sub), (0, 0), "nothing left in sub");
    assert_eq!(
        entries(&store, Cf::ZScore),
        (0, 0),
        "nothing left in zscore"
    );
    drop(store);
    // The hazard: a renamed hash whose move record is gone loses its
    // members to the sweep.
    let m = restart(dir);
    let mut c = m.client();
    let mut p = redis::pipe();
    for i in 0..1000 {
        p.cmd("HSET").arg("r").arg(format!("f{i}")).arg(i).ignore();
    }
    let _: () = p.query(&mut c).expect("fill");
    let _: () = c.rename("r", "r2").expect("rename");
    let dir = m.stop();
    let store = Store::open(&data, &Default::default()).expect("open");
    let mut records = Vec::new();
    store
        .scan(Cf::Sub, &[], &[], |k, _| {
            if keys::parse_moved(k).is_some() {
                records.push(k.to_vec());
            }
            true
        })
        .expect("scan");
    assert_eq!(records.len(), 1);
    let db = store.db();
    let sub = db.cf_handle(Cf::Sub.name()).expect("sub");
    for k in records {
        db.delete_cf(sub, k).expect("delete");
    }
    sweep_twice(&store);
    drop(store);
    let m = restart(dir);
    let mut c = m.client();
    let fields: Vec<String> = c.hkeys("r2").expect("hkeys");
    assert!(
        fields.is_empty(),
        "swept without their record: {}",
        fields.len()
    );
    drop(m);
}
