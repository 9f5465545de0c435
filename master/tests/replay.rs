//! The event design's promise, as a property: whatever commands a master
//! runs, applying the events it logged to an empty store (what a slave and
//! crash recovery do) yields byte-for-byte the same data column families.

use std::sync::Arc;

use bytes::Bytes;
use proptest::prelude::*;
use rocksync_binlog::FsyncPolicy;
use rocksync_master::store::apply::apply_event;
use rocksync_master::store::batch::Batch;
use rocksync_master::store::keys::{self, Kind, Meta};
use rocksync_master::store::{Cf, Store, StoreOptions};
use rocksync_master::{data_cmd, lookup_command, start_write_path, Config, Storage, WriteCmd};
use rocksync_protocol::{Command, LogEvent, Prior};

fn op() -> impl Strategy<Value = Vec<String>> {
    let key = prop::sample::select(vec!["a", "b", "c", "d", "e"]).prop_map(str::to_owned);
    let val = "[a-z0-9]{0,6}";
    // Fields and members from a few, so that writes meet them again.
    let field = "[a-d]{0,1}";
    let num = -5i64..20;
    prop_oneof![
        (key.clone(), val).prop_map(|(k, v)| vec!["SET".into(), k, v]),
        (key.clone(), num.clone()).prop_map(|(k, n)| vec!["INCRBY".into(), k, n.to_string()]),
        key.clone().prop_map(|k| vec!["DEL".into(), k]),
        (key.clone(), field, val).prop_map(|(k, f, v)| vec!["HSET".into(), k, f, v]),
        (key.clone(), field).prop_map(|(k, f)| vec!["HDEL".into(), k, f]),
        (key.clone(), field).prop_map(|(k, m)| vec!["SADD".into(), k, m]),
        (key.clone(), field).prop_map(|(k, m)| vec!["SREM".into(), k, m]),
        (key.clone(), key.clone(), field).prop_map(|(a, b, m)| vec!["SMOVE".into(), a, b, m]),
        (key.clone(), key.clone(), key.clone()).prop_map(|(d, a, b)| vec![
            "SUNIONSTORE".into(),
            d,
            a,
            b
        ]),
        (key.clone(), key.clone(), key.clone()).prop_map(|(d, a, b)| vec![
            "SINTERSTORE".into(),
            d,
            a,
            b
        ]),
        (key.clone(), num.clone(), field).prop_map(|(k, s, m)| vec![
            "ZADD".into(),
            k,
            s.to_string(),
            m
        ]),
        (key.clone(), num.clone(), field).prop_map(|(k, s, m)| vec![
            "ZINCRBY".into(),
            k,
            s.to_string(),
            m
        ]),
        (key.clone(), field).prop_map(|(k, m)| vec!["ZREM".into(), k, m]),
        key.clone().prop_map(|k| vec!["ZPOPMIN".into(), k]),
        (key.clone(), key.clone(), key.clone(), 0u8..3).prop_map(|(d, a, b, op)| vec![
            ["ZUNIONSTORE", "ZINTERSTORE", "ZDIFFSTORE"][op as usize].into(),
            d,
            "2".into(),
            a,
            b
        ]),
        (key.clone(), key.clone(), -2i64..3).prop_map(|(d, a, n)| vec![
            "ZRANGESTORE".into(),
            d,
            a,
            n.to_string(),
            "-1".into()
        ]),
        (key.clone(), -5i64..20, 0i64..10).prop_map(|(k, lo, w)| vec![
            "ZREMRANGEBYSCORE".into(),
            k,
            lo.to_string(),
            (lo + w).to_string()
        ]),
        (key.clone(), -3i64..3).prop_map(|(k, s)| vec![
            "ZREMRANGEBYRANK".into(),
            k,
            s.to_string(),
            "-2".into()
        ]),
        (key.clone(), key.clone(), 1i64..4).prop_map(|(a, b, n)| vec![
            "ZMPOP".into(),
            "2".into(),
            a,
            b,
            "MAX".into(),
            "COUNT".into(),
            n.to_string()
        ]),
        (key.clone(), key.clone()).prop_map(|(a, b)| vec!["BZPOPMIN".into(), a, b, "0".into()]),
        (key.clone(), key.clone(), 1i64..4).prop_map(|(a, b, n)| vec![
            "LMPOP".into(),
            "2".into(),
            a,
            b,
            "RIGHT".into(),
            "COUNT".into(),
            n.to_string()
        ]),
        (key.clone(), key.clone()).prop_map(|(a, b)| vec!["BLPOP".into(), a, b, "0".into()]),
        (key.clone(), key.clone()).prop_map(|(a, b)| vec![
            "BLMOVE".into(),
            a,
            b,
            "RIGHT".into(),
            "LEFT".into(),
            "0".into()
        ]),
        (key.clone(), val).prop_map(|(k, v)| vec!["LPUSH".into(), k, v]),
        (key.clone(), val).prop_map(|(k, v)| vec!["RPUSH".into(), k, v]),
        key.clone().prop_map(|k| vec!["RPOP".into(), k]),
        (key.clone(), key.clone()).prop_map(|(a, b)| vec!["RPOPLPUSH".into(), a, b]),
        (key.clone(), 0i64..3, -3i64..3).prop_map(|(k, a, b)| vec![
            "LTRIM".into(),
            k,
            a.to_string(),
            b.to_string()
        ]),
        (key.clone(), -2i64..3, val).prop_map(|(k, n, v)| vec!["LREM".into(), k, n.to_string(), v]),
        // (long enough for LREM to index it by value)
        key.clone().prop_map(|k| {
            let mut c = vec!["RPUSH".into(), k];
            c.extend((0..130).map(|i| ["a", "b", "c", ""][i % 4].to_owned()));
            c
        }),
        (key.clone(), 0i64..3, val).prop_map(|(k, i, v)| vec!["LSET".into(), k, i.to_string(), v]),
        (key.clone(), 100i64..10_000).prop_map(|(k, s)| vec!["EXPIRE".into(), k, s.to_string()]),
        key.clone().prop_map(|k| vec!["PERSIST".into(), k]),
        (key.clone(), key.clone()).prop_map(|(a, b)| vec!["RENAME".into(), a, b]),
        (key.clone(), val, key.clone(), val).prop_map(|(a, x, b, y)| vec![
            "MSET".into(),
            a,
            x,
            b,
            y
        ]),
        (key.clone(), 0i64..64, 0u8..2).prop_map(|(k, o, b)| vec![
            "SETBIT".into(),
            k,
            o.to_string(),
            b.to_string()
        ]),
        (key.clone(), val).prop_map(|(k, v)| vec!["APPEND".into(), k, v]),
        (key.clone(), 0u8..3).prop_map(|(k, o)| match o {
            0 => vec!["GETEX".into(), k, "EX".into(), "1000".into()],
            1 => vec!["GETEX".into(), k, "PERSIST".into()],
            _ => vec!["GETEX".into(), k, "PXAT".into(), "1".into()],
        }),
        (key.clone(), key.clone()).prop_map(|(a, b)| vec!["COPY".into(), a, b, "REPLACE".into()]),
        (key.clone(), key.clone(), key.clone(), 0u8..3).prop_map(|(d, a, b, op)| vec![
            "BITOP".into(),
            ["AND", "OR", "XOR"][op as usize].into(),
            d,
            a,
            b
        ]),
        (key.clone(), 0i64..40, -300i64..300).prop_map(|(k, o, n)| vec![
            "BITFIELD".into(),
            k,
            "OVERFLOW".into(),
            "SAT".into(),
            "INCRBY".into(),
            "i8".into(),
            o.to_string(),
            n.to_string()
        ]),
        key.clone()
            .prop_map(|k| vec!["RPUSH".into(), k, "a".into(), "b".into(), "c".into()]),
        (
            key.clone(),
            prop::sample::select(vec!["a", "b", "c"]).prop_map(str::to_owned),
            val,
            any::<bool>()
        )
            .prop_map(|(k, p, v, after)| vec![
                "LINSERT".into(),
                k,
                if after { "AFTER" } else { "BEFORE" }.into(),
                p,
                v
            ]),
        Just(vec!["FLUSHALL".to_owned()]),
    ]
}

fn dump(store: &Store) -> Vec<(Cf, Vec<u8>, Vec<u8>)> {
    let mut out = Vec::new();
    for cf in Cf::DATA {
        store
            .scan(cf, &[], &[], |k, v| {
                out.push((cf, k.to_vec(), v.to_vec()));
                true
            })
            .expect("scan");
    }
    out
}

/// Apply `e` alone to `store` as one committed batch.
fn apply_one(store: &Store, seq: u64, e: &LogEvent) {
    let mut b = Batch::new();
    apply_event(store, &mut b, e).expect("apply");
    store.write_batch(b, seq).expect("write");
}

/// How many entries of `cf` start with `prefix`.
/// Every sweep slice until two whole passes are done.
fn sweep_twice(store: &Store) {
    use rocksync_master::gc::{sweep, GcCursor};
    let (mut cursor, mut passes) = (GcCursor::default(), 0);
    while passes < 2 {
        cursor = sweep(store, &cursor, 100).expect("sweep").1;
        passes += usize::from(cursor == GcCursor::default());
    }
}

fn entries(store: &Store, cf: Cf, prefix: &[u8]) -> u64 {
    let mut n = 0;
    store
        .scan(cf, prefix, &[], |_, _| {
            n += 1;
            true
        })
        .expect("scan");
    n
}

/// Every key with its metadata.
fn metas(store: &Store) -> Vec<(Vec<u8>, Meta)> {
    let mut out = Vec::new();
    store
        .scan(Cf::Meta, &[], &[], |k, v| {
            out.push((k.to_vec(), Meta::decode(v).expect("meta")));
            true
        })
        .expect("scan");
    out
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, .. ProptestConfig::default() })]

    #[test]
    fn replaying_the_logged_events_rebuilds_the_same_store(ops in prop::collection::vec(op(), 1..60)) {
        let tmp = tempfile::tempdir().expect("tmp");
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("rt");
        let config = Config { data_dir: tmp.path().join("a"), binlog_fsync: FsyncPolicy::No, ..Config::default() };
        let storage = Storage::open(&config).expect("storage");
        let (store, binlog) = (Arc::clone(storage.store()), storage.binlog());
        let engine = start_write_path(Arc::clone(&store), binlog.clone(), Some(storage), Default::default()).expect("engine");
        // Each command in its own job, some in groups: both paths of the
        // group commit are exercised.
        for chunk in ops.chunks(3) {
            let cmds: Vec<WriteCmd> = chunk
                .iter()
                .filter_map(|args| {
                    let spec = lookup_command(args[0].as_bytes())?;
                    data_cmd(spec, args.iter().map(|a| Bytes::from(a.clone())).collect())
                })
                .collect();
            rt.block_on(engine.write(cmds, false));
        }
        let replica = Store::open(&tmp.path().join("b"), &StoreOptions::default()).expect("store");
        let mut reader = binlog.reader_after(0).expect("reader");
        let mut batch = Batch::new();
        let mut last = 0;
        while let Some(e) = reader.try_next().expect("read") {
            apply_event(&replica, &mut batch, &e).expect("apply");
            last = e.seq;
        }
        replica.write_batch(batch, last).expect("write");
        prop_assert_eq!(dump(&replica), dump(&store));
        prop_assert_eq!(replica.counts().expect("counts"), store.counts().expect("counts"));
        // The counts are the keys' own, not merely equal on both sides.
        let (mut keys, mut expires) = (0, 0);
        store
            .scan(Cf::Meta, &[], &[], |_, v| {
                keys += 1;
                expires += u64::from(Meta::decode(v).is_some_and(|m| m.expire_ms != 0));
                true
            })
            .expect("scan");
        prop_assert_eq!(store.counts().expect("counts"), (keys, expires));
        // And each collection's size is its own count of elements (a write
        // that carried a wrong field prior would count on both sides),
        // before the garbage sweep and after it (it took no live member,
        // renamed values' included), on both sides alike.
        rt.block_on(engine.stop()).expect("stop");
        for swept in [false, true] {
            if swept {
                sweep_twice(&store);
                sweep_twice(&replica);
                prop_assert_eq!(dump(&replica), dump(&store));
            }
            for (key, m) in metas(&store) {
                if m.kind == Kind::String {
                    continue;
                }
                let prefix = keys::sub_prefix(m.owner(&key), m.version);
                prop_assert_eq!(m.size, entries(&store, Cf::Sub, &prefix), "{:?} swept {}", key, swept);
                if m.kind == Kind::ZSet {
                    prop_assert_eq!(m.size, entries(&store, Cf::ZScore, &prefix), "{:?} swept {}", key, swept);
                }
            }
        }
    }
}

/// A string write that carries what its key held ([`Prior`]) is applied
/// from that record, not from a read: a slave in step with its master
/// counts keys and expiries as the master did without looking the key up
/// (most of a catching-up slave's reads). Events without one still read.
#[test]
fn a_string_write_carrying_its_prior_is_applied_without_reading_the_key() {
    let tmp = tempfile::tempdir().expect("tmp");
    let store = Store::open(tmp.path(), &StoreOptions::default()).expect("store");
    const FAR: i64 = 10_000_000_000_000;
    let apply = |seq: u64, e: LogEvent| {
        apply_one(&store, seq, &e);
        store.counts().expect("counts")
    };
    // No prior: read, found absent; one key, one expiry.
    let set = |seq| LogEvent::data(seq, Command::KSet, "k", "v");
    assert_eq!(apply(1, set(1).with_ttl(FAR)), (1, 1));
    // The master saw it with that expiry; the new value has none: the
    // expiry index loses its entry, the key count stays.
    let present = Prior::Present {
        expire_ms: FAR as u64,
    };
    assert_eq!(apply(2, set(2).with_prior(present)), (1, 0));
    // An INCR keeps the expiry it was told of, as it keeps one it reads.
    assert_eq!(apply(3, set(3).with_ttl(FAR)), (1, 1));
    let incr = LogEvent::data(4, Command::KIncr, "k", "5").with_prior(present);
    assert_eq!(apply(4, incr), (1, 1));
    assert_eq!(
        store.meta(b"k").expect("meta").map(|m| m.expire_ms),
        Some(FAR as u64)
    );
    // Taken at its word: an event that says the key was absent counts a
    // new key although the store holds one. A read would have found it.
    let absent = LogEvent::data(5, Command::KSet, "k", "v").with_prior(Prior::Absent);
    assert_eq!(apply(5, absent).0, 2);
    // Without a prior the same event reads, and counts nothing new.
    assert_eq!(apply(6, set(6)).0, 2);
}

/// A write to one field or member of a collection carries whether it was
/// there, and a receiver counts from that record without reading the
/// field (most of a catching-up slave's reads under HSET or SADD). Events
/// without one still read; a new collection has no fields whatever the
/// event says.
#[test]
fn a_collection_write_carrying_its_field_prior_is_applied_without_reading_the_field() {
    let tmp = tempfile::tempdir().expect("tmp");
    let store = Store::open(tmp.path(), &StoreOptions::default()).expect("store");
    let apply = |seq: u64, e: LogEvent| {
        apply_one(&store, seq, &e);
        store.meta(b"h").expect("meta").map_or(0, |m| m.size)
    };
    let hset =
        |seq, f: &str| LogEvent::data(seq, Command::HSet, "h", keys::pack(f.as_bytes(), b"v"));
    let present = Prior::Present { expire_ms: 0 };
    // A new hash: one field, whatever the event claims.
    assert_eq!(apply(1, hset(1, "a").with_prior(present)), 1);
    // No prior: read, found there; the size stays.
    assert_eq!(apply(2, hset(2, "a")), 1);
    // Taken at its word: "absent" counts a field the store holds, and
    // "present" counts none for a field it lacks. A read would not have.
    assert_eq!(apply(3, hset(3, "a").with_prior(Prior::Absent)), 2);
    assert_eq!(apply(4, hset(4, "b").with_prior(present)), 2);
    // Deletes too: "present" removes and counts down without a read.
    let hdel = |seq, f: &'static str| LogEvent::data(seq, Command::HDel, "h", f);
    assert_eq!(apply(5, hdel(5, "zz").with_prior(present)), 1);
    assert_eq!(apply(6, hdel(6, "a").with_prior(Prior::Absent)), 1);
    assert_eq!(apply(7, hdel(7, "a")), 0);
}

/// A sorted-set write carries the score its member had, and a receiver
/// drops that score's index entry without reading the member.
#[test]
fn a_sorted_set_write_carrying_its_members_score_is_applied_without_reading_it() {
    let tmp = tempfile::tempdir().expect("tmp");
    let store = Store::open(tmp.path(), &StoreOptions::default()).expect("store");
    let apply = |seq: u64, e: LogEvent| {
        apply_one(&store, seq, &e);
        (
            store.meta(b"z").expect("meta").map_or(0, |m| m.size),
            entries(&store, Cf::ZScore, &[]),
        )
    };
    let zset = |seq, score: &str| {
        LogEvent::data(seq, Command::ZSet, "z", keys::pack(b"m", score.as_bytes()))
    };
    assert_eq!(apply(1, zset(1, "3")), (1, 1));
    // No prior: the member is read, its entry at 3 replaced by one at 5.
    assert_eq!(apply(2, zset(2, "5")), (1, 1));
    // Taken at its word: told the member scored 7 (it scores 5), the write
    // drops the entry at 7, which is not there; the one at 5 stays.
    let scored = |s: f64| Prior::Scored {
        score_bits: s.to_bits(),
    };
    assert_eq!(apply(3, zset(3, "9").with_prior(scored(7.0))), (1, 2));
    // Told right, a delete removes the member and the entry it names.
    let zdel = LogEvent::data(4, Command::ZDel, "z", "m").with_prior(scored(9.0));
    assert_eq!(apply(4, zdel), (0, 1));
}
