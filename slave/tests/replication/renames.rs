//! RENAME moves a value's metadata and leaves its members where they are
//! (one K_MOVE event, whatever the size): every node derives the same
//! layout from it, and each node's own garbage sweep keeps what a
//! renamed value holds.

use super::*;

/// Sweep passes the node has finished (INFO stats `gc_passes`).
fn gc_passes(node: &Node) -> u64 {
    node.num("stats", "gc_passes")
}

/// Wait until each of `nodes` has swept all of its store in a pass
/// begun after now. A pass runs when garbage was left since the last one
/// began, then rests: so leave some (through `master`), wait for the pass
/// under way to end, leave more and wait for the next.
fn wait_for_sweeps(master: &Node, nodes: &[&Node]) {
    let start: Vec<u64> = nodes.iter().map(|n| gc_passes(n)).collect();
    for round in 1..=2 {
        let mut c = master.client();
        let _: () = c.hset("gc:poke", "f", 1).expect("hset");
        let _: i64 = c.del("gc:poke").expect("del");
        wait_until("sweep passes", LONG, || {
            nodes
                .iter()
                .zip(&start)
                .all(|(n, s)| gc_passes(n) >= s + round)
        });
    }
}

/// Renames of every type (chains, back to the first name, onto another
/// value, a first name used again) leave the master, its slave, the
/// master after SIGKILL (its binlog replayed) and a slave made afterwards
/// by a full copy with the same keys and values, after each has swept.
/// A 100 000-field hash renamed back and forth logs a few bytes a call.
#[test]
fn renamed_values_are_the_same_on_every_node_after_their_sweeps() {
    let tmp = TempDir::new().expect("tmp");
    let mut master = Node::master(&tmp.path().join("m"), 0, &[]);
    let slave = Node::slave(&tmp.path().join("s"), 0, master.addr, &[]);
    let mut m = master.client();
    let mut p = redis::pipe();
    for i in 0..2000 {
        let f = format!("m{i}");
        p.cmd("HSET").arg("h").arg(&f).arg(i).ignore();
        p.cmd("ZADD").arg("z").arg(i).arg(&f).ignore();
        p.cmd("SADD").arg("s").arg(&f).ignore();
        p.cmd("RPUSH").arg("l").arg(&f).ignore();
    }
    let _: () = p.query(&mut m).expect("fill");
    common::stream_with_group(&mut m, "x", 300);
    let _: () = m.set("ls", vec![b'a'; 100_000]).expect("set");
    let _: i64 = m.append("ls", "tail").expect("append");
    let _: () = m.expire("z", 3600).expect("expire");
    let renames: &[&[&str]] = &[
        &["RENAME", "h", "h2"],
        &["HSET", "h", "f", "1"],
        &["RENAME", "h2", "h3"],
        &["HDEL", "h3", "m7"],
        &["RENAME", "z", "z2"],
        &["ZADD", "z", "1", "new"],
        &["ZPOPMAX", "z2"],
        &["RENAME", "s", "s2"],
        &["SADD", "s", "other"],
        &["DEL", "s"],
        &["RENAME", "s2", "s"],
        &["SREM", "s", "m9"],
        &["RENAME", "l", "h"],
        &["LSET", "h", "3", "set"],
        &["RENAME", "x", "x2"],
        &["XGROUP", "CREATECONSUMER", "x2", "g", "late"],
        &["RENAME", "ls", "ls2"],
        &["SETRANGE", "ls2", "5", "changed"],
        &["RENAMENX", "ls2", "z"],
        &["RENAMENX", "ls2", "ls3"],
    ];
    for cmd in renames {
        let _: redis::Value = redis::cmd(cmd[0])
            .arg(&cmd[1..])
            .query(&mut m)
            .unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    }
    // A large hash renamed back and forth: the binlog grows by the
    // events' few bytes, not by its fields.
    let mut p = redis::pipe();
    for i in 0..100_000 {
        p.cmd("HSET")
            .arg("big")
            .arg(format!("f{i}"))
            .arg(i)
            .ignore();
    }
    let _: () = p.query(&mut m).expect("fill big");
    let binlog = || master.num("persistence", "binlog_bytes");
    let before = binlog();
    for i in 0..100 {
        let (a, b) = if i % 2 == 0 {
            ("big", "big2")
        } else {
            ("big2", "big")
        };
        let _: () = m.rename(a, b).expect("rename big");
    }
    let grown = binlog() - before;
    assert!(grown < 100 * 200, "100 renames logged {grown} bytes");
    let want = digest(&master);
    assert_eq!(
        want.keys().map(String::as_str).collect::<Vec<_>>(),
        ["big", "h", "h3", "ls3", "s", "x2", "z", "z2"]
    );
    wait_synced(&master, &slave, LONG);
    wait_for_sweeps(&master, &[&master, &slave]);
    assert_eq!(digest(&master), want, "the master after its sweeps");
    assert_eq!(digest(&slave), want, "the slave after its sweeps");
    let data = master.data.clone();
    let port = master.addr.port();
    master.kill();
    master = Node::master(&data, port, &[]);
    assert_eq!(digest(&master), want, "the master after a crash");
    let copied = Node::slave(&tmp.path().join("c"), 0, master.addr, &[]);
    wait_synced(&master, &copied, LONG);
    wait_for_sweeps(&master, &[&copied]);
    assert_eq!(digest(&copied), want, "a slave made by a full copy");
}
