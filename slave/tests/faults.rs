//! Replication under faults (issue 9), with real processes on 127.0.0.1:
//! each test injects one fault and names the case it rules out.

mod common;

use std::path::Path;
use std::time::Duration;

use common::*;
use redis::Commands;
use tempfile::TempDir;

const LONG: Duration = Duration::from_secs(120);

/// Case 1: m → b → c; m loses its data and comes back in a new history;
/// b is full-copied, and c (which followed b in the old history) must not
/// keep the old keys under the new ones: it is copied again and ends equal.
#[test]
fn a_chained_slave_is_copied_again_when_its_upstream_is() {
    let tmp = TempDir::new().expect("tmp");
    let m_port = free_port();
    let m = Node::master(&tmp.path().join("m"), m_port, &[]);
    load(&m, "old", 1000, 10);
    let b = Node::slave(&tmp.path().join("b"), free_port(), m.addr, &[]);
    wait_synced(&m, &b, LONG);
    let c = Node::slave(&tmp.path().join("c"), free_port(), b.addr, &[]);
    wait_synced(&m, &c, LONG);
    assert_eq!(c.num("replication", "full_copies"), 1);
    m.kill();
    std::fs::remove_dir_all(tmp.path().join("m")).expect("lose the master's data");
    let m = Node::master(&tmp.path().join("m"), m_port, &[]);
    load(&m, "new", 500, 10);
    wait_synced(&m, &b, LONG);
    wait_synced(&m, &c, LONG);
    let want = digest(&m);
    assert!(want.keys().all(|k| !k.starts_with("old:")));
    assert_eq!(digest(&b), want);
    assert_eq!(digest(&c), want, "the chained slave kept the old history");
    assert_eq!(c.num("replication", "full_copies"), 2);
}

/// Case 5: a crash leaves the binlog holding only the first records of an
/// MSET of 1 000 keys (the database had not written it: its memtable is
/// lost with the process); the restarted master keeps none of them, never
/// half of the command.
#[test]
fn a_binlog_cut_inside_an_mset_keeps_none_of_it() {
    let tmp = TempDir::new().expect("tmp");
    let data = tmp.path().join("m");
    let m = Node::master(&data, 0, &["--binlog-fsync", "always"]);
    let _: () = m.client().set("before", "1").expect("set");
    let binlog = data.join("binlog");
    let newest = || {
        let mut files: Vec<_> = std::fs::read_dir(&binlog)
            .expect("binlog dir")
            .map(|e| e.expect("entry").path())
            .collect();
        files.sort();
        files.pop().expect("a binlog file")
    };
    let before = std::fs::metadata(newest()).expect("size").len();
    let pairs: Vec<(String, String)> = (0..1000)
        .map(|i| (format!("k{i}"), "v".repeat(50)))
        .collect();
    let _: () = m.client().mset(&pairs).expect("mset");
    m.kill();
    let file = newest();
    let after = std::fs::metadata(&file).expect("size").len();
    assert!(after > before + 50_000, "the MSET is in the newest file");
    // Keep the first half of the MSET's bytes: whole records and a torn one.
    let f = std::fs::OpenOptions::new()
        .write(true)
        .open(&file)
        .expect("open");
    f.set_len(before + (after - before) / 2).expect("cut");
    drop(f);
    let m = Node::master(&data, 0, &[]);
    let mut c = m.client();
    assert_eq!(
        c.get::<_, Option<String>>("before")
            .expect("get")
            .as_deref(),
        Some("1")
    );
    let kept: Vec<Option<String>> = redis::cmd("MGET")
        .arg(pairs.iter().map(|p| p.0.as_str()).collect::<Vec<_>>())
        .query(&mut c)
        .expect("mget");
    let n = kept.iter().filter(|v| v.is_some()).count();
    assert_eq!(n, 0, "{n} of the MSET's 1000 keys survived a cut inside it");
}

/// Cases 3 and 13: the master's disk fills up (a small tmpfs). Writes are
/// refused with MISCONF and leave nothing behind: no event is logged,
/// published to the slave or applied unless all three happen; reads and
/// the slave go on; rotation that cannot create its next file writes on in
/// the current one; once space is back, writes are taken again with no
/// restart; every acknowledged write is on the master and the slave, and
/// the master restarts on what is left (Pika #2520).
#[test]
fn a_full_disk_refuses_writes_with_misconf_and_heals_by_itself() {
    let tmp = TempDir::new().expect("tmp");
    let Some(disk) = Tmpfs::mount(&tmp.path().join("disk"), "24m") else {
        return;
    };
    let data = disk.dir.join("m");
    let args = ["--binlog-fsync", "always", "--max-binlog-size", "262144"];
    let m = Node::master(&data, 0, &args);
    let s = Node::slave(&tmp.path().join("s"), free_port(), m.addr, &[]);
    load(&m, "a", 500, 100);
    wait_synced(&m, &s, LONG);
    let filler = disk.fill("filler");
    let mut c = m.client();
    let mut acked = Vec::new();
    let mut refusals = 0;
    for i in 0..3000 {
        let key = format!("full:{i}");
        match c.set::<_, _, ()>(&key, "x".repeat(500)) {
            Ok(()) => acked.push(key),
            Err(e) => {
                assert_eq!(e.code(), Some("MISCONF"), "{e}");
                refusals += 1;
            }
        }
    }
    assert!(refusals > 0, "the disk never filled up");
    // Reads and INFO are served meanwhile.
    assert!(c.exists::<_, bool>("a:s:0").expect("read while full"));
    assert_eq!(
        m.field("persistence", "binlog_write_failed").as_deref(),
        Some("1")
    );
    std::fs::remove_file(filler).expect("free space");
    wait_until("writes to be taken again", LONG, || {
        c.set::<_, _, ()>("after", "space").is_ok()
    });
    acked.push("after".into());
    wait_synced(&m, &s, LONG);
    let want = digest(&m);
    for k in &acked {
        assert!(want.contains_key(k), "acknowledged {k} is missing");
    }
    assert_eq!(
        digest(&s),
        want,
        "the slave saw something the master did not apply"
    );
    m.kill();
    let m = Node::master(&data, 0, &args);
    assert_eq!(digest(&m), want, "restart after the full disk");
}

/// Case 2: one SETBIT with a 70 KB key at bit 4294967295 makes a 512 MiB
/// value whose event no slave could receive: it is refused before it is
/// logged, the other writes go on, and the slave stays in sync with
/// everything (it used to stay "in sync" holding a fraction of the keys).
#[test]
fn a_write_whose_event_could_not_reach_a_slave_is_refused() {
    let tmp = TempDir::new().expect("tmp");
    let m = Node::master(&tmp.path().join("m"), 0, &[]);
    let s = Node::slave(&tmp.path().join("s"), free_port(), m.addr, &[]);
    load(&m, "a", 500, 10);
    let key = "k".repeat(70_000);
    let refused = redis::cmd("SETBIT")
        .arg(&key)
        .arg(4_294_967_295u64)
        .arg(1)
        .query::<i64>(&mut m.client())
        .expect_err("an unreplicable write");
    assert!(refused.to_string().contains("limit"), "{refused}");
    assert!(!m.client().exists::<_, bool>(&key).expect("exists"));
    let _: () = m.client().set("after", "1").expect("writes go on");
    wait_synced(&m, &s, LONG);
    assert_eq!(digest(&s), digest(&m));
}

/// Case 10: WAIT counts a slave only once it acknowledges data it holds; a
/// slave that claims a high seq of another history and is about to be
/// wiped by a full copy is not counted meanwhile.
#[test]
fn wait_does_not_count_a_slave_that_is_being_copied() {
    let tmp = TempDir::new().expect("tmp");
    let m1 = Node::master(&tmp.path().join("m1"), 0, &[]);
    load(&m1, "a", 2000, 10);
    let s_port = free_port();
    let s = Node::slave(&tmp.path().join("s"), s_port, m1.addr, &[]);
    wait_synced(&m1, &s, LONG);
    assert!(s.terminate(Duration::from_secs(30)).success());
    // Another master: few events, many bytes, a slow copy.
    let m2 = Node::master(&tmp.path().join("m2"), 0, &["--sync-speed", "1"]);
    let mut c = m2.client();
    for i in 0..200 {
        let _: () = c.set(format!("big:{i}"), "x".repeat(16_000)).expect("set");
    }
    let s = Node::slave(&tmp.path().join("s"), s_port, m2.addr, &[]);
    wait_until("the copy to start", LONG, || {
        s.field("persistence", "loading").as_deref() == Some("1")
    });
    let counted: i64 = redis::cmd("WAIT")
        .arg(1)
        .arg(200)
        .query(&mut c)
        .expect("wait");
    assert_eq!(counted, 0, "a slave being wiped was counted");
    wait_synced(&m2, &s, LONG);
    let counted: i64 = redis::cmd("WAIT")
        .arg(1)
        .arg(5000)
        .query(&mut c)
        .expect("wait");
    assert_eq!(counted, 1);
}

/// Case 8: a slave serving a chained copy that is abandoned drops the
/// copy's snapshot after `snapshot_timeout`, as a master does.
#[test]
fn a_slave_drops_an_abandoned_chained_copys_snapshot() {
    let tmp = TempDir::new().expect("tmp");
    let m = Node::master(&tmp.path().join("m"), 0, &[]);
    load(&m, "a", 3000, 1000);
    let b_args = ["--sync-speed", "1", "--snapshot-timeout", "1"];
    let b = Node::slave(&tmp.path().join("b"), free_port(), m.addr, &b_args);
    wait_synced(&m, &b, LONG);
    let snapshots = tmp.path().join("b").join("snapshots");
    let checkpoints = || {
        std::fs::read_dir(&snapshots)
            .map(|d| {
                d.filter_map(Result::ok)
                    .filter(|e| e.path().is_dir())
                    .count()
            })
            .unwrap_or(0)
    };
    let c = Node::slave(&tmp.path().join("c"), free_port(), b.addr, &[]);
    wait_until("the chained copy to start", LONG, || {
        c.field("persistence", "loading").as_deref() == Some("1")
    });
    assert_eq!(checkpoints(), 1);
    c.kill();
    wait_until("the abandoned snapshot to be dropped", LONG, || {
        checkpoints() == 0
    });
}

/// Issue 25: a copy whose slave went before its last send (COPY/END) left
/// its snapshot ACTIVE, which no cleaner drops: it pinned the binlog until
/// a restart. A copy that does not finish, wherever it stops, leaves a
/// breakpoint (ABORT in the registry, dropped once idle past
/// `snapshot_timeout`, or continued by the slave when it returns).
#[test]
fn a_copy_that_stops_before_its_end_leaves_a_breakpoint() {
    let tmp = TempDir::new().expect("tmp");
    let m = Node::spawn_env(
        "rocksync-master",
        &tmp.path().join("m"),
        0,
        &[],
        &[("ROCKSYNC_PAUSE_AT", "repl.copy.before_end:3000")],
    );
    load(&m, "a", 500, 10);
    let snapshots = tmp.path().join("m").join("snapshots");
    let registry = || std::fs::read_to_string(snapshots.join("registry.toml")).unwrap_or_default();
    let port = free_port();
    let s = Node::slave(&tmp.path().join("s"), port, m.addr, &[]);
    // Every pair sent, the master paused before COPY/END: the slave goes.
    wait_until("the slave to hold the copied pairs", LONG, || {
        s.field("replication", "last_key")
            .is_some_and(|k| !k.is_empty())
    });
    assert!(registry().contains("state = \"Active\""), "{}", registry());
    s.kill();
    wait_until("the unfinished copy to be a breakpoint", LONG, || {
        registry().contains("state = \"Abort\"")
    });
    // The slave comes back (its copied pairs were not durable yet: it
    // copies again) and ends in sync; no snapshot is left behind.
    let s = Node::slave(&tmp.path().join("s"), port, m.addr, &[]);
    wait_synced(&m, &s, LONG);
    assert_eq!(digest(&s), digest(&m));
    assert!(!registry().contains("state"), "{}", registry());
}

/// Issue 26: a panic inside one command (a bug) stopped the write path
/// for every client until a restart. Now it is that command's error: what
/// it wrote half-way is taken back, the other commands of its group
/// commit, later writes go on, and a slave ends equal to the master.
#[test]
fn a_command_that_panics_half_way_fails_alone() {
    use std::io::{Read, Write};
    let tmp = TempDir::new().expect("tmp");
    // The fourth event emitted: the MSET's second key, after its first
    // (which overwrote a value the same group wrote).
    let m = Node::spawn_env(
        "rocksync-master",
        &tmp.path().join("m"),
        0,
        &[],
        &[("ROCKSYNC_PANIC_AT", "write.emit@4")],
    );
    let s = Node::slave(&tmp.path().join("s"), free_port(), m.addr, &[]);
    wait_synced(&m, &s, LONG);
    // One pipeline: one job, one group.
    let mut raw = std::net::TcpStream::connect(m.addr).expect("connect");
    raw.set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    raw.write_all(b"SET p1 1\r\nSET a 0\r\nMSET a 1 b 2 c 3\r\nSET p2 2\r\n")
        .expect("send");
    let mut got = String::new();
    let mut buf = [0u8; 1024];
    while got.matches("\r\n").count() < 4 {
        let n = raw.read(&mut buf).expect("replies");
        assert!(n > 0, "the connection closed: {got:?}");
        got.push_str(&String::from_utf8_lossy(&buf[..n]));
    }
    let replies: Vec<&str> = got.split_terminator("\r\n").collect();
    assert_eq!(replies[..2], ["+OK", "+OK"]);
    // (the point really panicked: the harness is real)
    assert_eq!(
        replies[2],
        "-ERR internal error in 'mset': failpoint write.emit: panicking"
    );
    assert_eq!(replies[3], "+OK");
    let mut c = m.client();
    let half: Vec<Option<String>> = redis::cmd("MGET")
        .arg("a")
        .arg("b")
        .arg("c")
        .query(&mut c)
        .expect("mget");
    assert_eq!(
        half,
        [Some("0".to_owned()), None, None],
        "the MSET was taken back whole, to what its group wrote before it"
    );
    let _: () = c.set("after", "1").expect("writes go on");
    assert_eq!(
        c.get::<_, Option<String>>("p2").expect("get").as_deref(),
        Some("2")
    );
    wait_synced(&m, &s, LONG);
    assert_eq!(digest(&s), digest(&m));
    let keys: i64 = redis::cmd("DBSIZE").query(&mut c).expect("dbsize");
    assert_eq!(keys, 4, "p1, a, p2 and after: the count taken back too");
    assert_eq!(digest(&m).len(), 4);
}

/// Case 9: a slave is named by its persistent node id, not its address: a
/// client that sends SYNC140 with a following slave's port neither kicks
/// that slave's session off nor takes it over.
#[test]
fn a_client_posing_as_a_slaves_address_does_not_replace_its_session() {
    use std::io::{Read, Write};
    let tmp = TempDir::new().expect("tmp");
    let m = Node::master(&tmp.path().join("m"), 0, &[]);
    load(&m, "a", 200, 10);
    let s = Node::slave(&tmp.path().join("s"), free_port(), m.addr, &[]);
    wait_synced(&m, &s, LONG);
    let resumes = s.num("replication", "binlog_resumes");
    let copies = s.num("replication", "full_copies");
    let port = s.addr.port().to_string();
    let mut impostor = std::net::TcpStream::connect(m.addr).expect("connect");
    let cmd = format!(
        "*4\r\n$7\r\nSYNC140\r\n$1\r\n0\r\n$0\r\n\r\n${}\r\n{port}\r\n",
        port.len()
    );
    impostor.write_all(cmd.as_bytes()).expect("send");
    let mut answer = [0u8; 64];
    let n = impostor.read(&mut answer).expect("answer");
    assert!(
        answer[..n].starts_with(b"+FULLCOPY"),
        "{:?}",
        String::from_utf8_lossy(&answer[..n])
    );
    wait_until("both sessions listed", LONG, || {
        m.num("replication", "connected_slaves") == 2
    });
    let _: () = m.client().set("later", "1").expect("set");
    wait_synced(&m, &s, LONG);
    assert_eq!(
        s.num("replication", "binlog_resumes"),
        resumes,
        "the slave was kicked off"
    );
    assert_eq!(s.num("replication", "full_copies"), copies);
    drop(impostor);
}

/// Case 2, second half: SETBIT logs the bit it changes, not the string:
/// 200 SETBITs on a 4 MiB string grow the binlog by kilobytes (whole
/// strings would be 800 MiB), and the slave ends with the same string.
#[test]
fn setbit_logs_the_change_not_the_whole_string() {
    let tmp = TempDir::new().expect("tmp");
    let m = Node::master(&tmp.path().join("m"), 0, &[]);
    let s = Node::slave(&tmp.path().join("s"), free_port(), m.addr, &[]);
    let mut c = m.client();
    let _: i64 = redis::cmd("SETBIT")
        .arg("bits")
        .arg(4 * 8 * 1024 * 1024 - 1)
        .arg(1)
        .query(&mut c)
        .expect("setbit");
    let before = m.num("persistence", "binlog_bytes");
    for i in 0..200u64 {
        let _: i64 = redis::cmd("SETBIT")
            .arg("bits")
            .arg(i * 997)
            .arg(1)
            .query(&mut c)
            .expect("setbit");
    }
    let grown = m.num("persistence", "binlog_bytes") - before;
    assert!(grown < 64 * 1024, "200 SETBITs logged {grown} bytes");
    wait_synced(&m, &s, LONG);
    let want: Vec<u8> = m.client().get("bits").expect("get");
    let got: Vec<u8> = s.client().get("bits").expect("get");
    assert_eq!(want.len(), 4 * 1024 * 1024);
    assert!(want == got, "the slave's string differs");
}

/// Case 13: the store write of some groups fails after their events were
/// logged (an injected error). Those writes are refused with MISCONF and
/// taken back out of the binlog: the slave never sees them, the master
/// never applies them, the writes after them succeed, and every
/// acknowledged write is on both.
#[test]
fn a_failed_store_write_is_neither_applied_nor_published() {
    let tmp = TempDir::new().expect("tmp");
    let data = tmp.path().join("m");
    let m = Node::spawn_env(
        "rocksync-master",
        &data,
        0,
        &[],
        &[("ROCKSYNC_FAIL_AT", "storage.commit.store_write@100+5")],
    );
    let s = Node::slave(&tmp.path().join("s"), free_port(), m.addr, &[]);
    let mut c = m.client();
    let (mut acked, mut refused) = (Vec::new(), Vec::new());
    for i in 0..300 {
        let key = format!("k{i}");
        match c.set::<_, _, ()>(&key, i) {
            Ok(()) => acked.push(key),
            Err(e) => {
                assert_eq!(e.code(), Some("MISCONF"), "{e}");
                refused.push(key);
            }
        }
    }
    assert_eq!(refused.len(), 5, "the injected failures");
    wait_synced(&m, &s, LONG);
    let (dm, ds) = (digest(&m), digest(&s));
    assert_eq!(ds, dm);
    assert!(acked.iter().all(|k| dm.contains_key(k)));
    assert!(
        refused.iter().all(|k| !dm.contains_key(k)),
        "a refused write was applied"
    );
    m.kill();
    verify_binlog(&data);
    let m = Node::master(&data, 0, &[]);
    assert_eq!(
        digest(&m),
        dm,
        "the refused writes came back from the binlog"
    );
}

fn verify_binlog(data: &std::path::Path) {
    let report = rocksync_binlog::verify_dir(&data.join("binlog"));
    assert!(report.is_ok(), "{:?}", report.error);
}

/// Case 12: a slave goes silent (SIGSTOP) and the master's wall clock
/// jumps two hours back (libfaketime, Debian's `faketime`). Session
/// timeouts run on the monotonic clock, so the silent slave is still
/// dropped after `slave_timeout` (on the wall clock its silence would be
/// negative, and it would hold its session forever); resumed, it follows
/// again.
#[test]
fn a_wall_clock_jump_does_not_stop_timeouts() {
    let lib = Path::new("/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1");
    if !lib.exists() {
        eprintln!("skipped: libfaketime is not installed (apt-get install faketime)");
        return;
    }
    let tmp = TempDir::new().expect("tmp");
    let clock = tmp.path().join("clock");
    std::fs::write(&clock, "+0\n").expect("clock");
    let (lib, clock_s) = (
        lib.to_string_lossy().into_owned(),
        clock.to_string_lossy().into_owned(),
    );
    let m = Node::spawn_env(
        "rocksync-master",
        &tmp.path().join("m"),
        0,
        &["--slave-timeout", "3"],
        &[
            ("LD_PRELOAD", &lib),
            ("FAKETIME_TIMESTAMP_FILE", &clock_s),
            ("FAKETIME_DONT_FAKE_MONOTONIC", "1"),
            ("FAKETIME_CACHE_DURATION", "1"),
        ],
    );
    let s = Node::slave(&tmp.path().join("s"), free_port(), m.addr, &[]);
    load(&m, "a", 200, 10);
    wait_synced(&m, &s, LONG);
    s.signal("-STOP");
    std::fs::write(&clock, "-7200\n").expect("jump back");
    wait_until(
        "the silent slave to be dropped",
        Duration::from_secs(30),
        || m.num("replication", "connected_slaves") == 0,
    );
    s.signal("-CONT");
    let _: () = m.client().set("after", "jump").expect("set");
    wait_synced(&m, &s, LONG);
    assert_eq!(digest(&s), digest(&m));
}

/// Case 6: a slave catching up on large multi-event commands (MSETs of
/// 1 000 keys) commits every whole command it has received, not only when
/// a socket read happens to end on a command boundary: its seq advances
/// step by step during the catch-up (acks, WAIT and memory stay bounded).
#[test]
fn a_catching_up_slave_commits_whole_commands_as_they_arrive() {
    let tmp = TempDir::new().expect("tmp");
    let m = Node::master(&tmp.path().join("m"), 0, &[]);
    let s = Node::slave(&tmp.path().join("s"), free_port(), m.addr, &[]);
    let _: () = m.client().set("start", 1).expect("set");
    wait_synced(&m, &s, LONG);
    let start = s.num("replication", "last_seq");
    s.signal("-STOP");
    let mut c = m.client();
    for i in 0..200 {
        let pairs: Vec<(String, String)> = (0..1000)
            .map(|j| (format!("b{i}:{j}"), "v".repeat(20)))
            .collect();
        let _: () = c.mset(&pairs).expect("mset");
    }
    let end = m.num("replication", "master_repl_offset");
    s.signal("-CONT");
    let mut seen = std::collections::BTreeSet::new();
    wait_until("the catch-up", LONG, || {
        let seq = s.num("replication", "last_seq");
        seen.insert(seq);
        seq == end
    });
    let steps = seen.iter().filter(|&&q| q > start && q < end).count();
    assert!(
        steps >= 3,
        "the slave committed in {steps} steps between {start} and {end}: {seen:?}"
    );
    assert!(
        seen.iter()
            .all(|q| *q == start || *q == end || (q - start) % 1000 == 0),
        "a commit split an MSET: {seen:?}"
    );
}

/// A master and its slave, in sync, the slave then stopped (SIGSTOP):
/// what the master writes next waits for the slave's catch-up.
fn master_and_stopped_slave(tmp: &TempDir) -> (Node, Node) {
    let m = Node::master(&tmp.path().join("m"), 0, &[]);
    let s = Node::slave(&tmp.path().join("s"), free_port(), m.addr, &[]);
    let _: () = m.client().set("start", 1).expect("set");
    wait_synced(&m, &s, LONG);
    s.signal("-STOP");
    (m, s)
}

fn dbsize(n: &Node) -> u64 {
    redis::cmd("DBSIZE").query(&mut n.client()).expect("dbsize")
}

/// A catching-up slave applies each round while the round before it
/// commits, reading through that round's writes. Commands here read what
/// the round before wrote (a hash's and a list's length, a counter, keys
/// deleted and made again, a FLUSHALL between them), over far more events
/// than one round holds: the slave must end equal to the master, key
/// counts included. Reading a round's keys from the store alone (missing
/// the round still committing) leaves lengths and counts short.
#[test]
fn a_slave_applying_over_a_round_still_committing_ends_equal() {
    let tmp = TempDir::new().expect("tmp");
    let (m, s) = master_and_stopped_slave(&tmp);
    let mut c = m.client();
    for phase in 0..3 {
        for chunk in 0..40 {
            let mut p = redis::pipe();
            for i in 0..1000 {
                let n = chunk * 1000 + i;
                p.cmd("HSET")
                    .arg(format!("h{}", n % 7))
                    .arg(format!("f{n}"))
                    .arg(n)
                    .ignore();
                p.cmd("RPUSH").arg(format!("l{}", n % 5)).arg(n).ignore();
                p.cmd("INCR").arg("counter").ignore();
                p.cmd("SADD")
                    .arg(format!("s{}", n % 3))
                    .arg(n % 5000)
                    .ignore();
                p.cmd("SET").arg(format!("k{}", n % 20_000)).arg(n).ignore();
                if n % 100 == 0 {
                    p.cmd("DEL").arg(format!("h{}", n % 7)).ignore();
                    p.cmd("EXPIRE")
                        .arg(format!("k{}", n % 20_000))
                        .arg(1000)
                        .ignore();
                }
            }
            let _: () = p.query(&mut c).expect("load");
        }
        if phase == 1 {
            let _: () = redis::cmd("FLUSHALL").query(&mut c).expect("flushall");
        }
    }
    s.signal("-CONT");
    wait_synced(&m, &s, LONG);
    assert_eq!(dbsize(&s), dbsize(&m), "key counts differ");
    let lens = |n: &Node| -> Vec<u64> {
        let mut c = n.client();
        let mut v = Vec::new();
        for i in 0..7 {
            v.push(
                redis::cmd("HLEN")
                    .arg(format!("h{i}"))
                    .query(&mut c)
                    .expect("hlen"),
            );
        }
        for i in 0..5 {
            v.push(
                redis::cmd("LLEN")
                    .arg(format!("l{i}"))
                    .query(&mut c)
                    .expect("llen"),
            );
        }
        v
    };
    assert_eq!(lens(&s), lens(&m), "hash and list lengths differ");
    assert_eq!(digest(&s), digest(&m), "the slave differs from its master");
}

/// A catching-up slave that holds a round back while the next is read,
/// and then reads a single command larger than a round (an MSET of 20 000
/// keys: 20 000 events with no command end among them yet), commits the
/// held round and goes on reading. It used to loop without reading, never
/// catching up.
#[test]
fn a_held_round_followed_by_a_command_larger_than_a_round_is_caught_up() {
    let tmp = TempDir::new().expect("tmp");
    let (m, s) = master_and_stopped_slave(&tmp);
    let mut c = m.client();
    for round in 0..12 {
        let mut p = redis::pipe();
        for i in 0..(round * 1500) {
            p.cmd("SET").arg(format!("s{round}:{i}")).arg(i).ignore();
        }
        let _: () = p.query(&mut c).expect("sets");
        let pairs: Vec<(String, u32)> = (0..20_000).map(|j| (format!("m{round}:{j}"), j)).collect();
        let _: () = c.mset(&pairs).expect("mset");
    }
    s.signal("-CONT");
    wait_synced(&m, &s, LONG);
    assert_eq!(dbsize(&s), dbsize(&m));
}

/// Case 11: a garbage sweep on a slave found members of a deleted set
/// stale and is about to delete them (held there by a pause point) when
/// the slave is full-copied from a new history that recreated the set at
/// the same version: the copy's wipe waits for the sweep, so the copied
/// members survive (they were deleted under the copy before).
#[test]
fn a_garbage_sweep_never_deletes_what_a_copy_just_wrote() {
    let tmp = TempDir::new().expect("tmp");
    let m_port = free_port();
    let commands = |m: &Node| {
        let mut c = m.client();
        let _: i64 = c.sadd("k", &["a", "b", "c"]).expect("sadd");
    };
    let m = Node::master(&tmp.path().join("m"), m_port, &[]);
    commands(&m);
    let data = tmp.path().join("s");
    let s = Node::spawn_env(
        "rocksync-slave",
        &data,
        free_port(),
        &["--master-addr", &m.addr.to_string()],
        &[("ROCKSYNC_PAUSE_AT", "gc.sweep.before_delete:8000")],
    );
    wait_synced(&m, &s, LONG);
    let _: i64 = m.client().del("k").expect("del");
    wait_synced(&m, &s, LONG);
    // The slave's sweep finds k's members stale and stops before deleting.
    let log = data.with_extension("rocksync-slave.log");
    wait_until("the sweep to hold its stale members", LONG, || {
        std::fs::read_to_string(&log).is_ok_and(|t| t.contains("gc.sweep.before_delete: pausing"))
    });
    // The master comes back as a new history that recreates k at the same
    // version; the slave is full-copied meanwhile.
    m.kill();
    std::fs::remove_dir_all(tmp.path().join("m")).expect("wipe");
    let m = Node::master(&tmp.path().join("m"), m_port, &[]);
    commands(&m);
    wait_synced(&m, &s, LONG);
    wait_until("the sweep to resume", LONG, || {
        std::fs::read_to_string(&log).is_ok_and(|t| t.contains("gc.sweep.before_delete: resuming"))
    });
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(digest(&s), digest(&m), "the sweep deleted copied members");
    assert_eq!(s.num("replication", "full_copies"), 2);
}

/// Issue 11 (review): a blocked client whose timeout fires while the
/// write path is serving it. A pause point holds the serve between
/// claiming the wait and popping; the client's 0.3 s timeout passes
/// meanwhile, yet it gets the element (the wait was claimed first) and
/// nothing is lost. Before, it got nil and the popped element was gone.
#[test]
fn a_blocked_client_timing_out_during_its_serve_still_gets_the_element() {
    let tmp = TempDir::new().expect("tmp");
    let m = Node::spawn_env(
        "rocksync-master",
        &tmp.path().join("m"),
        free_port(),
        &[],
        &[("ROCKSYNC_PAUSE_AT", "engine.serve.before_pop:1500")],
    );
    let consumer = {
        let mut c = m.client();
        std::thread::spawn(move || {
            redis::cmd("BLPOP")
                .arg(&["q", "0.3"])
                .query::<Option<(String, String)>>(&mut c)
                .expect("blpop")
        })
    };
    wait_until("the consumer to block", LONG, || {
        m.num("clients", "blocked_clients") == 1
    });
    let _: i64 = m.client().rpush("q", "x").expect("rpush");
    let got = consumer.join().expect("consumer");
    let left: Vec<String> = m.client().lrange("q", 0, -1).expect("lrange");
    assert_eq!(
        (got, left),
        (Some(("q".to_owned(), "x".to_owned())), vec![]),
        "the element reached the client"
    );
}

/// A master that sends its last events and closes at once (a shutdown, or
/// a crash after its socket buffer went out): the data and the close reach
/// the slave together, and every whole command received is committed
/// before the link reports the close. Played by a fake master on loopback
/// so that the close follows the events immediately.
#[test]
fn events_received_just_before_the_master_closes_are_kept() {
    use std::io::{Read, Write};
    use tokio_util::codec::{Decoder, Encoder};

    use rocksync_protocol::{
        Command, EventCodec, LogEvent, RequestDecoder, RespLimits, SyncAnswer, SyncDecision,
        SyncRequest,
    };

    const N: u64 = 500;
    let tmp = TempDir::new().expect("tmp");
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let master_addr = listener.local_addr().expect("addr");
    let s = Node::slave(&tmp.path().join("s"), free_port(), master_addr, &[]);
    listener.set_nonblocking(false).expect("blocking");
    let (mut conn, _) = listener.accept().expect("the slave connects");
    conn.set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    let mut decoder = RequestDecoder::new(RespLimits::default());
    let mut buf = bytes::BytesMut::new();
    let args = loop {
        if let Some(args) = decoder.decode(&mut buf).expect("a RESP request") {
            break args;
        }
        let mut chunk = [0u8; 4096];
        let n = conn.read(&mut chunk).expect("read the request");
        assert!(n > 0, "the slave closed before asking");
        buf.extend_from_slice(&chunk[..n]);
    };
    let req = SyncRequest::parse(&args).expect("SYNC140");
    let replid = req.replid.expect("the slave names its history");
    let mut out = bytes::BytesMut::new();
    SyncAnswer {
        decision: SyncDecision::Resume,
        replid,
        seq: N,
    }
    .to_reply()
    .encode(&mut out);
    let mut codec = EventCodec::default();
    for seq in 1..=N {
        let e = LogEvent::data(
            seq,
            Command::KSet,
            format!("k{seq}").into_bytes(),
            format!("v{seq}").into_bytes(),
        );
        codec.encode(&e, &mut out).expect("frame");
    }
    conn.write_all(&out).expect("send");
    drop(conn);
    drop(listener);
    wait_until("the slave to commit what it received", LONG, || {
        s.num("replication", "last_seq") == N
    });
    let mut c = s.client();
    let last: String = c.get(format!("k{N}")).expect("get");
    assert_eq!(last, format!("v{N}"));
}
