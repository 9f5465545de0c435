//! A network partition under Redis Sentinel (issue 25): a master, two
//! slaves and three unmodified redis-sentinels, the slaves and the
//! Sentinels reaching the master through a TCP proxy, while a client next
//! to the master writes to it directly. The proxy is cut; Sentinel
//! promotes a slave; the cut heals and Sentinel turns the old master into
//! a slave of the new one, which full-copies it.
//!
//! - With the defaults (Redis's behaviour) the writes the old master
//!   acknowledged after the cut are lost: the hazard is real here.
//! - With `sync-replicas` equal to the number of slaves, a write is
//!   acknowledged only once both slaves applied it: none is lost.
//! - With `min-replicas-to-write 1` and `min-replicas-max-lag 2`, the
//!   cut-off master refuses writes within 4 s of the cut.

mod common;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::*;
use redis::Commands;
use rocksync_testkit::{Proxy, Sentinel};
use tempfile::TempDir;

const LONG: Duration = Duration::from_secs(120);

/// What the client next to the master saw, and what survived.
struct Outcome {
    /// Writes the old master acknowledged.
    acked: usize,
    /// Of those, the ones the new master does not have.
    lost: usize,
    /// Acknowledged after the cut.
    acked_after_cut: usize,
    /// How long after the cut the first write was refused (NOREPLICAS).
    first_refusal: Option<Duration>,
}

/// What the writer records.
#[derive(Default)]
struct Log {
    acked: Vec<(String, Instant)>,
    refused: Vec<Instant>,
}

/// One run of the partition with the master started with `args`.
fn partition(args: &[&str]) -> Outcome {
    let tmp = TempDir::new().expect("tmp");
    let m = Node::master(&tmp.path().join("m"), 0, args);
    let proxy = Proxy::start(m.addr.port()).expect("proxy");
    let via: SocketAddr = format!("127.0.0.1:{}", proxy.port).parse().expect("addr");
    let s1 = Node::slave(&tmp.path().join("s1"), 0, via, &[]);
    let s2 = Node::slave(&tmp.path().join("s2"), 0, via, &[]);
    wait_synced(&m, &s1, LONG);
    wait_synced(&m, &s2, LONG);
    let sentinels: Vec<Sentinel> = (0..3)
        .map(|_| {
            Sentinel::start(tmp.path(), proxy.port)
                .expect("redis-sentinel is installed (apt-get install redis-sentinel) and starts")
        })
        .collect();
    wait_until("sentinels to discover slaves and each other", LONG, || {
        sentinels.iter().all(|s| {
            let replicas = s.list("replicas");
            replicas.len() == 2
                && s.list("sentinels").len() == 2
                && replicas
                    .iter()
                    .all(|r| r.get("flags").is_some_and(|f| !f.contains("disconnected")))
        })
    });

    // The client next to the master: a write every 2 ms, on its own
    // connection (no proxy), until the node stops taking writes.
    let stop = Arc::new(AtomicBool::new(false));
    let log = Arc::new(Mutex::new(Log::default()));
    let writer = {
        let (stop, log, addr) = (Arc::clone(&stop), Arc::clone(&log), m.addr);
        std::thread::spawn(move || {
            let mut c = redis::Client::open(format!("redis://{addr}/"))
                .and_then(|c| c.get_connection_with_timeout(Duration::from_secs(5)))
                .expect("client");
            c.set_read_timeout(Some(Duration::from_secs(30)))
                .expect("timeout");
            for i in 0.. {
                if stop.load(Ordering::Relaxed) {
                    return;
                }
                let key = format!("w:{i}");
                match c.set::<_, _, ()>(&key, i) {
                    Ok(()) => log.lock().expect("log").acked.push((key, Instant::now())),
                    Err(e) if e.to_string().contains("NOREPLICAS") => {
                        log.lock().expect("log").refused.push(Instant::now());
                    }
                    // READONLY: Sentinel made it a slave; or it is gone.
                    Err(_) => return,
                }
                std::thread::sleep(Duration::from_millis(2));
            }
        })
    };
    wait_until("writes acknowledged before the cut", LONG, || {
        log.lock().expect("log").acked.len() >= 200
    });

    let cut = Instant::now();
    proxy.cut();
    let mut new_port = 0;
    wait_until("sentinel to fail over", LONG, || {
        match sentinels[0].master_port() {
            Some(p) if p != proxy.port => {
                new_port = p;
                true
            }
            _ => false,
        }
    });
    let new_master = if new_port == s1.addr.port() { &s1 } else { &s2 };
    assert_eq!(new_master.addr.port(), new_port, "promoted a known slave");
    wait_until("the new master to take writes", LONG, || {
        new_master.field("replication", "role").as_deref() == Some("master")
    });
    // The old master goes on alone for a while, then the cut heals.
    std::thread::sleep(Duration::from_secs(1));
    proxy.heal();
    wait_until("sentinel to make the old master a slave", LONG, || {
        m.field("replication", "role").as_deref() == Some("slave")
            && m.field("replication", "master_port") == Some(new_port.to_string())
    });
    stop.store(true, Ordering::Relaxed);
    let _ = writer.join();
    wait_synced(new_master, &m, LONG);
    let other = if new_port == s1.addr.port() { &s2 } else { &s1 };
    wait_synced(new_master, other, LONG);

    let have = digest(new_master);
    let log = log.lock().expect("log");
    assert_eq!(digest(&m), have, "the old master ends equal to the new");
    Outcome {
        acked: log.acked.len(),
        lost: log
            .acked
            .iter()
            .filter(|(k, _)| !have.contains_key(k))
            .count(),
        acked_after_cut: log.acked.iter().filter(|(_, at)| *at > cut).count(),
        first_refusal: log
            .refused
            .iter()
            .find(|at| **at > cut)
            .map(|at| at.duration_since(cut)),
    }
}

#[test]
fn by_default_a_cut_off_master_acknowledges_writes_a_failover_loses() {
    let o = partition(&[]);
    eprintln!(
        "defaults: {} acknowledged, {} after the cut, {} lost",
        o.acked, o.acked_after_cut, o.lost
    );
    assert!(o.acked_after_cut > 0, "the cut-off master took writes");
    assert!(o.lost > 0, "the hazard: acknowledged writes are lost");
}

#[test]
fn with_sync_replicas_no_acknowledged_write_is_lost() {
    let o = partition(&["--sync-replicas", "2", "--sync-replicas-timeout", "1000"]);
    eprintln!(
        "sync-replicas 2: {} acknowledged, {} after the cut, {} lost",
        o.acked, o.acked_after_cut, o.lost
    );
    assert!(o.acked >= 200);
    assert_eq!(o.lost, 0, "an acknowledged write was lost");
    assert!(
        o.first_refusal.is_some(),
        "writes after the cut were answered NOREPLICAS"
    );
}

#[test]
fn with_min_replicas_a_cut_off_master_refuses_writes_within_4_s() {
    let o = partition(&[
        "--min-replicas-to-write",
        "1",
        "--min-replicas-max-lag",
        "2",
    ]);
    eprintln!(
        "min-replicas 1, max lag 2: {} acknowledged, {} after the cut, {} lost, first refusal after {:?}",
        o.acked, o.acked_after_cut, o.lost, o.first_refusal
    );
    let first = o.first_refusal.expect("the cut-off master refused writes");
    assert!(
        first <= Duration::from_secs(4),
        "refused only after {first:?}"
    );
}
