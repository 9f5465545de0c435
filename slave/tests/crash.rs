//! kill -9 under load with `binlog_fsync = always`: after restart every
//! acknowledged INCR is there exactly once (an unacknowledged one at most
//! once), the binlog verifies, and binlog and database agree.

mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use common::Node;
use redis::Commands;

#[test]
fn sigkill_during_incr_load_loses_nothing_acknowledged_and_applies_nothing_twice() {
    let dir = tempfile::tempdir().expect("tmp");
    let data = dir.path().join("data");
    let args = ["--binlog-fsync", "always", "--max-binlog-size", "65536"];
    for round in 0..3 {
        let master = Node::master(&data, 0, &args);
        let stop = Arc::new(AtomicBool::new(false));
        let workers: Vec<_> = (0..6)
            .map(|w| {
                let mut c = master.client();
                let stop = Arc::clone(&stop);
                std::thread::spawn(move || {
                    let key = format!("counter:{w}");
                    let mut acked: i64 = c.get::<_, Option<i64>>(&key).ok().flatten().unwrap_or(0);
                    let start = acked;
                    // Bounded: stops at the kill (errors) or after 100k INCRs.
                    for _ in 0..100_000 {
                        if stop.load(Ordering::Relaxed) {
                            break;
                        }
                        match c.incr::<_, _, i64>(&key, 1) {
                            Ok(v) => {
                                assert_eq!(v, acked + 1, "round {round}: INCR skipped or doubled");
                                acked = v;
                            }
                            Err(_) => break,
                        }
                    }
                    (key, start, acked)
                })
            })
            .collect();
        std::thread::sleep(Duration::from_millis(700));
        master.kill();
        stop.store(true, Ordering::Relaxed);
        let results: Vec<_> = workers
            .into_iter()
            .map(|w| w.join().expect("worker"))
            .collect();
        let total: i64 = results.iter().map(|(_, s, a)| a - s).sum();
        assert!(
            total > 100,
            "round {round}: load too small to mean anything ({total})"
        );

        let report = rocksync_binlog::verify_dir(&data.join("binlog"));
        assert!(report.is_ok(), "round {round}: {:?}", report.error);

        let master = Node::master(&data, 0, &args);
        let mut c = master.client();
        for (key, _, acked) in &results {
            let v: i64 = c.get(key).expect("get");
            assert!(
                v == *acked || v == acked + 1,
                "round {round}: {key} = {v}, acknowledged {acked}"
            );
        }
        // Binlog and database agree: the last seq applied is the last logged.
        let info: String = redis::cmd("INFO")
            .arg("persistence")
            .query(&mut c)
            .expect("info");
        let field = |k: &str| {
            info.lines()
                .find_map(|l| l.strip_prefix(&format!("{k}:")).map(str::to_owned))
        };
        assert_eq!(
            field("applied_seq"),
            field("binlog_last_seq"),
            "round {round}: {info}"
        );
        master.kill();
    }
}

#[test]
fn sigterm_writes_stop_and_restarts_without_replay() {
    let dir = tempfile::tempdir().expect("tmp");
    let data = dir.path().join("data");
    let master = Node::master(&data, 0, &[]);
    let mut c = master.client();
    for i in 0..100 {
        let _: () = c.set(format!("k{i}"), i).expect("set");
    }
    let status = master.terminate(Duration::from_secs(30));
    assert!(status.success(), "exit status {status}");
    let binlog = data.join("binlog");
    let report = rocksync_binlog::verify_dir(&binlog);
    assert!(report.is_ok(), "{:?}", report.error);
    let last = report.files.last().expect("files");
    assert_eq!(last.ended_by, Some(rocksync_protocol::Command::Stop));
    let master = Node::master(&data, 0, &[]);
    let v: i64 = master.client().get("k99").expect("get");
    assert_eq!(v, 99);
}

fn replid(m: &Node) -> String {
    let info: String = redis::cmd("INFO")
        .arg("replication")
        .query(&mut m.client())
        .expect("info");
    info.lines()
        .find_map(|l| l.strip_prefix("master_replid:").map(str::to_owned))
        .expect("master_replid")
}

fn pretend_reboot(data: &std::path::Path) {
    let store = rocksync_master::store::Store::open(&data.join("db"), &Default::default())
        .expect("open store");
    let mut b = rocksync_master::Batch::new();
    let key = rocksync_master::sys::BOOT_ID.to_vec();
    b.put(
        &store,
        rocksync_master::store::Cf::Default,
        key,
        b"another-boot".to_vec(),
    )
    .expect("put");
    let applied = store.applied_seq().expect("applied");
    store.write_batch(b, applied).expect("write");
    store.flush().expect("flush");
}

/// Slaves may hold events an OS crash took from a master whose binlog is
/// not fsynced on every append: after an unclean stop across a reboot the
/// master starts a new history, so such slaves are full-copied, never
/// silently diverged. A process crash alone keeps the history.
#[test]
fn an_unclean_stop_across_a_reboot_starts_a_new_history_unless_fsync_is_always() {
    let dir = tempfile::tempdir().expect("tmp");
    let data = dir.path().join("data");
    let m = Node::master(&data, 0, &[]);
    let _: () = m.client().set("k", 1).expect("set");
    let first = replid(&m);
    m.kill();
    // A process crash, same boot: same history.
    let m = Node::master(&data, 0, &[]);
    assert_eq!(replid(&m), first);
    m.kill();
    // An unclean stop, then a reboot: a new history.
    pretend_reboot(&data);
    let m = Node::master(&data, 0, &[]);
    let second = replid(&m);
    assert_ne!(second, first);
    assert_eq!(m.client().get::<_, i64>("k").expect("get"), 1);
    // A clean stop then a reboot keeps it.
    assert!(m.terminate(Duration::from_secs(30)).success());
    pretend_reboot(&data);
    let m = Node::master(&data, 0, &[]);
    assert_eq!(replid(&m), second);
    m.kill();
    // Under fsync=always nothing acknowledged or streamed was lost.
    pretend_reboot(&data);
    let m = Node::master(&data, 0, &["--binlog-fsync", "always"]);
    assert_eq!(replid(&m), second);
}
