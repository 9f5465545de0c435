//! Scripts and replication: a script's writes are one unit on every
//! slave, what is replicated is their effects, and a slave runs scripts
//! read-only.

use super::*;

/// Redis replicates a script's effects as MULTI/EXEC; a reader of a
/// slave that applied half of them would see a script half done. Here
/// the reader never does: 1 000 rounds of 10 SETs each, by one EVALSHA,
/// by a MULTI holding an EVALSHA and an MSET, or by a pipeline of three
/// EVALSHAs, read back by MGET on the slave as they stream in.
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
        if round % 3 == 2 {
            // A pipeline of scripts: one job on the write path, each
            // script still a unit of its own.
            let mut pipe = redis::pipe();
            for value in [round * 1000 + 1, round * 1000 + 2, round] {
                pipe.cmd("EVALSHA")
                    .arg(&sha)
                    .arg(keys.len())
                    .arg(&keys)
                    .arg(value);
            }
            let ns: Vec<i64> = pipe.query(&mut m).expect("pipelined evalsha");
            assert_eq!(ns, [10, 10, 10]);
            continue;
        }
        if round % 3 == 1 {
            // A transaction holding a script: one unit too (the script
            // sets half the keys, an MSET the others).
            let (n, ok): (i64, String) = redis::pipe()
                .atomic()
                .cmd("EVALSHA")
                .arg(&sha)
                .arg(5)
                .arg(&keys[..5])
                .arg(round)
                .cmd("MSET")
                .arg(
                    keys[5..]
                        .iter()
                        .flat_map(|k| [k.clone(), round.to_string()])
                        .collect::<Vec<_>>(),
                )
                .query(&mut m)
                .expect("multi evalsha mset exec");
            assert_eq!((n, ok.as_str()), (5, "OK"));
            continue;
        }
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
    // In the master's binlog each script (or transaction) is one unit
    // setting all ten keys to one value: 1 000 rounds, 333 of them
    // pipelines of three.
    let mut files: Vec<_> = std::fs::read_dir(tmp.path().join("m").join("binlog"))
        .expect("binlog dir")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "binlog"))
        .collect();
    files.sort();
    let (mut units, mut unit) = (0, Vec::new());
    for file in &files {
        let events = rocksync_binlog::SegmentEvents::open(file).expect("open binlog");
        for (_, e) in events.flatten().filter(|(_, e)| e.cmd.is_data()) {
            if e.key.starts_with(b"ev:") {
                unit.push((e.key.clone(), e.value.clone()));
            }
            if !e.more && !unit.is_empty() {
                let keys: std::collections::BTreeSet<_> = unit.iter().map(|(k, _)| k).collect();
                assert!(
                    keys.len() == 10 && unit.iter().all(|(_, v)| *v == unit[0].1),
                    "a unit of the binlog holds {unit:?}"
                );
                units += 1;
                unit.clear();
            }
        }
    }
    assert_eq!(units, 1000 + 2 * 333, "units in the binlog");
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
    // (Redis's code, kept through the script, as redis-server does)
    assert_eq!(err.kind(), redis::ErrorKind::ReadOnly, "{err}");
    let still: String = s.get("k").expect("get");
    assert_eq!(still, "v");
}

/// The libraries on `node`, with their code, as FUNCTION LIST gives them.
fn libraries(node: &Node) -> redis::Value {
    redis::cmd("FUNCTION")
        .arg("LIST")
        .arg("WITHCODE")
        .query(&mut node.client())
        .expect("function list")
}

const COUNTER: &str = "#!lua name=counter\n\
    redis.register_function('bump', function(keys, args) return redis.call('INCRBY', keys[1], args[1]) end)\n\
    redis.register_function{function_name='peek', callback=function(keys) return redis.call('GET', keys[1]) end, flags={'no-writes'}}";

/// Functions are data: a library loaded before a slave exists reaches it
/// by the full copy, later ones and FUNCTION DELETE by the binlog; both
/// nodes keep them across a restart; a slave runs the `no-writes` ones
/// and refuses the others and FUNCTION's writes, as a Redis replica.
#[test]
fn function_libraries_replicate_and_survive_restarts() {
    let tmp = TempDir::new().expect("tmp");
    let master = Node::master(&tmp.path().join("m"), 0, &[]);
    let mut m = master.client();
    let loaded: String = redis::cmd("FUNCTION")
        .arg("LOAD")
        .arg(COUNTER)
        .query(&mut m)
        .expect("function load");
    assert_eq!(loaded, "counter");
    let n: i64 = redis::cmd("FCALL")
        .arg("bump")
        .arg(1)
        .arg("c")
        .arg(5)
        .query(&mut m)
        .expect("fcall");
    assert_eq!(n, 5);
    let slave_dir = tmp.path().join("s");
    let slave = Node::slave(&slave_dir, 0, master.addr, &[]);
    wait_synced(&master, &slave, LONG);
    assert_eq!(libraries(&slave), libraries(&master), "by the full copy");
    let other: String = redis::cmd("FUNCTION")
        .arg("LOAD")
        .arg("#!lua name=other\nredis.register_function{function_name='hello', callback=function() return 'hi' end, flags={'no-writes'}}")
        .query(&mut m)
        .expect("function load");
    assert_eq!(other, "other");
    let _: i64 = redis::cmd("FCALL")
        .arg("bump")
        .arg(1)
        .arg("c")
        .arg(2)
        .query(&mut m)
        .expect("fcall");
    wait_synced(&master, &slave, LONG);
    assert_eq!(libraries(&slave), libraries(&master), "by the binlog");
    let mut s = slave.client();
    let seen: String = redis::cmd("FCALL_RO")
        .arg("peek")
        .arg(1)
        .arg("c")
        .query(&mut s)
        .expect("fcall_ro on the slave");
    assert_eq!(seen, "7");
    let refused = redis::cmd("FCALL")
        .arg("bump")
        .arg(1)
        .arg("c")
        .arg(1)
        .query::<redis::Value>(&mut s)
        .expect_err("a writing function on the slave");
    assert!(
        refused.to_string().to_uppercase().contains("READONLY"),
        "{refused}"
    );
    let refused = redis::cmd("FUNCTION")
        .arg("FLUSH")
        .query::<redis::Value>(&mut s)
        .expect_err("FUNCTION FLUSH on the slave");
    assert!(
        refused.to_string().to_uppercase().contains("READONLY"),
        "{refused}"
    );
    // FLUSHALL empties the keyspace, not the libraries (as Redis).
    let _: () = redis::cmd("FLUSHALL").query(&mut m).expect("flushall");
    let _: () = redis::cmd("FUNCTION")
        .arg("DELETE")
        .arg("other")
        .query(&mut m)
        .expect("function delete");
    wait_synced(&master, &slave, LONG);
    let before = libraries(&master);
    assert_eq!(libraries(&slave), before);
    drop(s);
    drop(m);
    // Both restart: the libraries are still there, and run.
    let master_dir = tmp.path().join("m");
    let port = master.addr.port();
    drop(slave);
    drop(master);
    let master = Node::master(&master_dir, port, &[]);
    let slave = Node::slave(&slave_dir, 0, master.addr, &[]);
    assert_eq!(libraries(&master), before);
    assert_eq!(libraries(&slave), before);
    let n: i64 = redis::cmd("FCALL")
        .arg("BUMP")
        .arg(1)
        .arg("c")
        .arg(3)
        .query(&mut master.client())
        .expect("fcall after a restart");
    assert_eq!(n, 3);
    wait_synced(&master, &slave, LONG);
    let hello = redis::cmd("FCALL_RO")
        .arg("hello")
        .arg(0)
        .query::<redis::Value>(&mut slave.client())
        .expect_err("a deleted library's function");
    assert!(hello.to_string().contains("Function not found"), "{hello}");
}
