//! Redis Sentinel (Debian's `redis-sentinel`, unmodified) fails rocksync
//! over (issue 10): three Sentinels watch a master and two slaves, find
//! both slaves and each other with no `disconnected` flag, and when the
//! master is killed under a write load they promote the slave with the
//! highest `slave_repl_offset` and re-point the other with no full copy;
//! every write acknowledged by `WAIT 1` before the kill is on the new
//! master, and the old master, restarted with its own binary and data, is
//! turned into a slave by Sentinel and ends equal to the new master
//! (kvrocks #352, pikiwidb #2695/#2427: peers that Sentinel could not fail
//! over). A function library loaded on the old master runs on the new.

mod common;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::*;
use redis::Commands;
use rocksync_testkit::Sentinel;
use tempfile::TempDir;

const LONG: Duration = Duration::from_secs(120);

#[test]
fn sentinel_fails_rocksync_over_and_turns_the_old_master_into_a_slave() {
    let tmp = TempDir::new().expect("tmp");
    let m_port = free_port();
    let m = Node::master(&tmp.path().join("m"), m_port, &[]);
    load(&m, "a", 1000, 20);
    // A function library, which the new master must still run.
    let lib = function_load(
        &mut m.client(),
        "#!lua name=lib\nredis.register_function('tag', function(keys, args) return redis.call('SET', keys[1], args[1]) end)",
    );
    assert_eq!(lib, "lib");
    let s1 = Node::slave(&tmp.path().join("s1"), free_port(), m.addr, &[]);
    let s2 = Node::slave(&tmp.path().join("s2"), free_port(), m.addr, &[]);
    wait_synced(&m, &s1, LONG);
    wait_synced(&m, &s2, LONG);
    let sentinels: Vec<Sentinel> = (0..3)
        .map(|_| {
            Sentinel::start(tmp.path(), m_port)
                .expect("redis-sentinel is installed (apt-get install redis-sentinel) and starts")
        })
        .collect();

    // Discovery: both slaves and the two other Sentinels, none disconnected.
    wait_until("sentinels to discover slaves and each other", LONG, || {
        sentinels.iter().all(|s| {
            let replicas = s.list("replicas");
            let others = s.list("sentinels");
            replicas.len() == 2
                && others.len() == 2
                && replicas
                    .iter()
                    .chain(&others)
                    .all(|r| r.get("flags").is_some_and(|f| !f.contains("disconnected")))
        })
    });
    let copies: HashMap<u16, u64> = [&s1, &s2]
        .iter()
        .map(|s| (s.addr.port(), s.num("replication", "full_copies")))
        .collect();

    // A write load acknowledged with WAIT 1, then the master dies.
    let stop = Arc::new(AtomicBool::new(false));
    let acked = Arc::new(Mutex::new(Vec::new()));
    let writer = {
        let (stop, acked, addr) = (Arc::clone(&stop), Arc::clone(&acked), m.addr);
        std::thread::spawn(move || {
            let Ok(mut c) = redis::Client::open(format!("redis://{addr}/"))
                .and_then(|c| c.get_connection_with_timeout(Duration::from_secs(5)))
            else {
                return;
            };
            for i in 0..100_000 {
                if stop.load(Ordering::Relaxed) {
                    return;
                }
                let key = format!("w:{i}");
                if c.set::<_, _, ()>(&key, i).is_err() {
                    return;
                }
                match redis::cmd("WAIT").arg(1).arg(1000).query::<i64>(&mut c) {
                    Ok(n) if n >= 1 => acked.lock().expect("acked").push(key),
                    Ok(_) => {}
                    Err(_) => return,
                }
            }
        })
    };
    wait_until("some acknowledged writes", LONG, || {
        acked.lock().expect("acked").len() >= 50
    });
    m.kill();
    stop.store(true, Ordering::Relaxed);
    let _ = writer.join();
    let acked = acked.lock().expect("acked").clone();

    // Sentinel elects a new master among the slaves.
    let mut new_port = 0;
    wait_until("sentinel to fail over", LONG, || {
        match sentinels[0].master_port() {
            Some(p) if p != m_port => {
                new_port = p;
                true
            }
            _ => false,
        }
    });
    let (new_master, other) = if new_port == s1.addr.port() {
        (&s1, &s2)
    } else {
        (&s2, &s1)
    };
    assert_eq!(new_master.addr.port(), new_port);
    wait_until("the new master to take writes", LONG, || {
        new_master.field("replication", "role").as_deref() == Some("master")
    });
    let _: () = new_master
        .client()
        .set("after", "failover")
        .expect("the new master takes writes");
    let _: () = redis::cmd("FCALL")
        .arg("tag")
        .arg(1)
        .arg("by-function")
        .arg("failover")
        .query(&mut new_master.client())
        .expect("FCALL on the new master");
    wait_synced(new_master, other, LONG);
    assert_eq!(
        other.num("replication", "full_copies"),
        copies[&other.addr.port()],
        "the re-pointed slave was full-copied"
    );
    let have = digest(new_master);
    for k in &acked {
        assert!(
            have.contains_key(k),
            "{k} was acknowledged by WAIT 1 and is lost"
        );
    }

    // The old master comes back with its own binary and data: Sentinel
    // turns it into a slave of the new master.
    let old = Node::master(&tmp.path().join("m"), m_port, &[]);
    wait_until("sentinel to re-point the old master", LONG, || {
        old.field("replication", "role").as_deref() == Some("slave")
            && old.field("replication", "master_port") == Some(new_port.to_string())
    });
    wait_synced(new_master, &old, LONG);
    assert_eq!(digest(&old), digest(new_master));
    assert_eq!(digest(other), digest(new_master));
}
