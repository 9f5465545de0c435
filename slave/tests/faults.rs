//! Replication under faults (issue 9), with real processes on 127.0.0.1:
//! each test injects one fault and names the case it rules out.

mod common;

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
