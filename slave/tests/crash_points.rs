//! The crash-point sweep (issue 9): the master's write path, then a
//! slave's apply, is stopped dead (abort, as kill -9 or a power cut would)
//! at each crash point of the commit step under load: before and after
//! the binlog write, after its fsync, before and after the store write,
//! after publishing, and inside a rotation. After a restart the binlog
//! verifies, nothing acknowledged is lost, no INCR counts twice, no MSET is
//! half there, and the slave's digest equals the master's.
//!
//! The binaries run with the crash points live (`rocksync-failpoint`'s
//! `failpoints` feature, on for this crate's tests).

mod common;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use common::*;
use redis::Commands;
use rocksync_failpoint::POINTS;
use tempfile::TempDir;

const LONG: Duration = Duration::from_secs(120);
const GROUP: usize = 8;

/// What the load had acknowledged when the node died.
struct Acked {
    counters: HashMap<String, i64>,
    msets: Vec<String>,
}

/// Four clients: INCR on a counter each, and MSETs of `GROUP` keys under
/// one prefix; until `stop` or the first error (the crash).
fn load_until_crash(
    addr: std::net::SocketAddr,
    stop: Arc<AtomicBool>,
) -> Vec<std::thread::JoinHandle<Acked>> {
    (0..4)
        .map(|w| {
            let stop = Arc::clone(&stop);
            std::thread::spawn(move || {
                let mut acked = Acked {
                    counters: HashMap::new(),
                    msets: Vec::new(),
                };
                let Ok(mut c) = redis::Client::open(format!("redis://{addr}/"))
                    .and_then(|c| c.get_connection_with_timeout(Duration::from_secs(5)))
                else {
                    return acked;
                };
                let _ = c.set_read_timeout(Some(Duration::from_secs(10)));
                let key = format!("counter:{w}");
                for i in 0..20_000 {
                    if stop.load(Ordering::Relaxed) {
                        break;
                    }
                    match c.incr::<_, _, i64>(&key, 1) {
                        Ok(v) => {
                            acked.counters.insert(key.clone(), v);
                        }
                        Err(_) => break,
                    }
                    let prefix = format!("g:{w}:{i}");
                    let pairs: Vec<(String, String)> = (0..GROUP)
                        .map(|j| (format!("{prefix}:{j}"), "v".repeat(40)))
                        .collect();
                    match c.mset::<_, _, ()>(&pairs) {
                        Ok(()) => acked.msets.push(prefix),
                        Err(_) => break,
                    }
                }
                acked
            })
        })
        .collect()
}

/// Load `load_at` until `victim` (started with a crash point) dies there;
/// what the load had acknowledged.
fn crash_under_load(victim: Node, load_at: std::net::SocketAddr, point: &str) -> Vec<Acked> {
    let stop = Arc::new(AtomicBool::new(false));
    let workers = load_until_crash(load_at, Arc::clone(&stop));
    let status = victim.wait_exit(LONG);
    assert!(!status.success(), "{point}: no crash ({status})");
    stop.store(true, Ordering::Relaxed);
    workers
        .into_iter()
        .map(|w| w.join().expect("worker"))
        .collect()
}

/// Every acknowledged write is there once; every MSET is whole or absent.
fn check(node: &Node, acked: &[Acked], point: &str) {
    let mut c = node.client();
    for a in acked {
        for (k, v) in &a.counters {
            let now: i64 = c.get(k).expect("get");
            assert!(
                now == *v || now == v + 1,
                "{point}: {k} acknowledged at {v}, now {now}"
            );
        }
        for p in &a.msets {
            let n: usize = (0..GROUP)
                .filter(|j| c.exists::<_, bool>(format!("{p}:{j}")).expect("exists"))
                .count();
            assert_eq!(
                n, GROUP,
                "{point}: acknowledged MSET {p} has {n} of {GROUP} keys"
            );
        }
    }
    let keys: Vec<String> = c.keys("g:*").expect("keys");
    let mut per: HashMap<String, usize> = HashMap::new();
    for k in keys {
        let prefix = k.rsplit_once(':').map_or(k.clone(), |(p, _)| p.to_owned());
        *per.entry(prefix).or_default() += 1;
    }
    for (p, n) in per {
        assert_eq!(
            n, GROUP,
            "{point}: MSET {p} is half applied ({n} of {GROUP})"
        );
    }
}

fn verify(data: &std::path::Path, point: &str) {
    let report = rocksync_binlog::verify_dir(&data.join("binlog"));
    assert!(
        report.is_ok(),
        "{point}: binlog does not verify: {:?}",
        report.error
    );
}

/// Which hit of a point to crash at: rotations are rarer than appends.
fn nth(point: &str) -> &'static str {
    if point.starts_with("binlog.rotate") {
        "2"
    } else {
        "150"
    }
}

const ARGS: [&str; 4] = ["--binlog-fsync", "always", "--max-binlog-size", "32768"];

#[test]
fn the_master_crashed_at_each_commit_point_loses_and_splits_nothing() {
    for point in POINTS {
        let tmp = TempDir::new().expect("tmp");
        let data = tmp.path().join("m");
        let port = free_port();
        let crash_at = format!("{point}@{}", nth(point));
        let m = Node::spawn_env(
            "rocksync-master",
            &data,
            port,
            &ARGS,
            &[("ROCKSYNC_CRASH_AT", &crash_at)],
        );
        let s = Node::slave(&tmp.path().join("s"), free_port(), m.addr, &[]);
        let load_at = m.addr;
        let acked = crash_under_load(m, load_at, point);
        verify(&data, point);
        let m = Node::master(&data, port, &ARGS);
        check(&m, &acked, point);
        let _: () = m
            .client()
            .set("after", point)
            .expect("writes after restart");
        wait_synced(&m, &s, LONG);
        assert_eq!(digest(&s), digest(&m), "{point}: slave differs");
    }
}

#[test]
fn a_slave_crashed_at_each_apply_point_ends_equal_to_its_master() {
    for point in POINTS {
        let tmp = TempDir::new().expect("tmp");
        let m = Node::master(&tmp.path().join("m"), 0, &ARGS);
        let data = tmp.path().join("s");
        let port = free_port();
        let crash_at = format!("{point}@{}", nth(point));
        let mut args = vec!["--master-addr".to_owned(), m.addr.to_string()];
        args.extend(ARGS.iter().map(|a| a.to_string()));
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let s = Node::spawn_env(
            "rocksync-slave",
            &data,
            port,
            &args,
            &[("ROCKSYNC_CRASH_AT", &crash_at)],
        );
        // Keep the master busy with small commands until the slave dies.
        let acked = crash_under_load(s, m.addr, point);
        verify(&data, point);
        let s = Node::spawn("rocksync-slave", &data, port, &args);
        wait_synced(&m, &s, LONG);
        check(&s, &acked, point);
        assert_eq!(digest(&s), digest(&m), "{point}: slave differs");
        assert_eq!(
            s.num("replication", "full_copies"),
            1,
            "{point}: copied again"
        );
    }
}
