//! Scripts and replication: a script's writes are one unit on every
//! slave, what is replicated is their effects, and a slave runs scripts
//! read-only.

use super::*;

/// Redis replicates a script's effects as MULTI/EXEC; a reader of a
/// slave that applied half of them would see a script half done. Here
/// the reader never does: 1 000 EVALs of 10 SETs each, read back by
/// MGET on the slave as they stream in.
#[test]
fn a_slave_reader_never_sees_half_of_a_script() {
    let tmp = TempDir::new().expect("tmp");
    let master = Node::master(&tmp.path().join("m"), 0, &[]);
    let slave = Node::slave(&tmp.path().join("s"), 0, master.addr, &[]);
    wait_synced(&master, &slave, LONG);
    let keys: Vec<String> = (0..10).map(|i| format!("ev:{i}")).collect();
    let stop = Arc::new(AtomicBool::new(false));
    let reader = {
        let mut s = slave.client();
        let keys = keys.clone();
        let stop = Arc::clone(&stop);
        std::thread::spawn(move || {
            let (mut reads, mut changes, mut last) = (0u64, 0u64, None);
            while !stop.load(Ordering::Relaxed) && reads < 2_000_000 {
                let vals: Vec<Option<i64>> = s.mget(&keys).expect("mget");
                let first = vals[0];
                assert!(
                    vals.iter().all(|v| *v == first),
                    "half a script seen on the slave: {vals:?}"
                );
                if first != last {
                    changes += 1;
                    last = first;
                }
                reads += 1;
            }
            (reads, changes)
        })
    };
    let mut m = master.client();
    let sha: String = redis::cmd("SCRIPT")
        .arg("LOAD")
        .arg("for i = 1, #KEYS do redis.call('SET', KEYS[i], ARGV[1]) end return #KEYS")
        .query(&mut m)
        .expect("script load");
    for round in 0..1000i64 {
        let n: i64 = redis::cmd("EVALSHA")
            .arg(&sha)
            .arg(keys.len())
            .arg(&keys)
            .arg(round)
            .query(&mut m)
            .expect("evalsha");
        assert_eq!(n, 10);
    }
    wait_synced(&master, &slave, LONG);
    stop.store(true, Ordering::Relaxed);
    let (reads, changes) = reader.join().expect("reader");
    // The reader watched the scripts land, not only the end state.
    assert!(
        reads > 100 && changes > 10,
        "reads {reads}, changes {changes}"
    );
    assert_eq!(digest(&slave), digest(&master));
    // The slave holds the effects: its value for the keys is the last
    // round's.
    let last: Option<i64> = slave.client().get("ev:9").expect("get");
    assert_eq!(last, Some(999));
}

/// On a slave a script reads (EVAL_RO, or EVAL that only reads) and any
/// write it tries is refused as READONLY, as on a Redis replica.
#[test]
fn a_slave_runs_scripts_read_only() {
    let tmp = TempDir::new().expect("tmp");
    let master = Node::master(&tmp.path().join("m"), 0, &[]);
    let slave = Node::slave(&tmp.path().join("s"), 0, master.addr, &[]);
    let _: () = master.client().set("k", "v").expect("set");
    wait_synced(&master, &slave, LONG);
    let mut s = slave.client();
    let read: String = redis::cmd("EVAL_RO")
        .arg("return redis.call('GET', KEYS[1])")
        .arg(1)
        .arg("k")
        .query(&mut s)
        .expect("eval_ro on the slave");
    assert_eq!(read, "v");
    let read: String = redis::cmd("EVAL")
        .arg("return redis.call('GET', 'k')")
        .arg(0)
        .query(&mut s)
        .expect("a reading eval on the slave");
    assert_eq!(read, "v");
    let err = redis::cmd("EVAL")
        .arg("return redis.call('SET', 'k', 'x')")
        .arg(0)
        .query::<redis::Value>(&mut s)
        .expect_err("a write from a script on the slave");
    assert!(err.to_string().contains("READONLY"), "{err}");
    let still: String = s.get("k").expect("get");
    assert_eq!(still, "v");
}
