//! Replication guarantees (issue 25), each against a slave stopped with
//! SIGSTOP (alive, connected, silent): first the hazard with the defaults,
//! then the setting that removes it.
//!
//! - `sync-replicas`: a write's reply waits for slaves' acks, so what a
//!   client was told is written is on a slave; a write the slaves do not
//!   acknowledge in time answers NOREPLICAS (INFO counts it); an EXEC is
//!   one answer; CONFIG SET turns it on and off at runtime.
//! - `min-replicas-to-write`: with its slave silent past the lag, the
//!   master refuses writes, and takes them again when the slave is back.

use super::*;

fn set(c: &mut redis::Connection, k: &str, v: &str) -> Result<(), String> {
    c.set::<_, _, ()>(k, v).map_err(|e| e.to_string())
}

fn config_set(node: &Node, name: &str, value: &str) {
    let _: () = redis::cmd("CONFIG")
        .arg("SET")
        .arg(name)
        .arg(value)
        .query(&mut node.client())
        .expect("config set");
}

#[test]
fn under_sync_replicas_an_acknowledged_write_is_on_the_slave() {
    let tmp = TempDir::new().expect("tmp");
    let master = Node::master(&tmp.path().join("m"), 0, &[]);
    let slave = Node::slave(&tmp.path().join("s"), 0, master.addr, &[]);
    wait_synced(&master, &slave, LONG);
    let mut c = master.client();

    // The hazard: a silent slave, and the master acknowledges anyway.
    slave.pause();
    let started = Instant::now();
    set(&mut c, "a", "1").expect("the default acknowledges at once");
    assert!(started.elapsed() < Duration::from_secs(1));
    slave.resume();
    wait_synced(&master, &slave, LONG);

    // Turned on at runtime: every acknowledged write is readable on the
    // slave the moment its reply comes.
    config_set(&master, "sync-replicas", "1");
    config_set(&master, "sync-replicas-timeout", "1500");
    let mut s = slave.client();
    for i in 0..300 {
        let v = i.to_string();
        set(&mut c, "k", &v).expect("acknowledged");
        let got: String = s.get("k").expect("get on the slave");
        assert_eq!(got, v, "write {i} was acknowledged before the slave had it");
    }
    // A pipeline and a transaction wait as well.
    let mut p = redis::pipe();
    for i in 0..50 {
        p.cmd("SET").arg(format!("p:{i}")).arg(i).ignore();
    }
    let _: () = p.query(&mut c).expect("pipeline");
    let last: Option<i64> = s.get("p:49").expect("get");
    assert_eq!(last, Some(49));
    let _: () = redis::pipe()
        .atomic()
        .cmd("SET")
        .arg("t1")
        .arg(1)
        .ignore()
        .cmd("SET")
        .arg("t2")
        .arg(2)
        .ignore()
        .query(&mut c)
        .expect("exec");
    assert_eq!(s.get::<_, Option<i64>>("t2").expect("get"), Some(2));
    // A script's writes too.
    let _: () = redis::cmd("EVAL")
        .arg("redis.call('SET', KEYS[1], ARGV[1])")
        .arg(1)
        .arg("by-script")
        .arg("x")
        .query(&mut c)
        .expect("eval");
    assert_eq!(
        s.get::<_, Option<String>>("by-script")
            .expect("get")
            .as_deref(),
        Some("x")
    );

    // The slave goes silent: writes wait, then answer NOREPLICAS; reads
    // do not wait.
    slave.pause();
    let started = Instant::now();
    let e = set(&mut c, "late", "1").expect_err("no slave acknowledged it");
    let waited = started.elapsed();
    assert!(e.contains("NOREPLICAS"), "{e}");
    assert!(
        waited >= Duration::from_millis(1400) && waited < Duration::from_secs(10),
        "answered after {waited:?}"
    );
    let started = Instant::now();
    let _: Option<String> = c.get("late").expect("a read");
    assert!(started.elapsed() < Duration::from_secs(1), "a read waited");
    let _: () = redis::cmd("MULTI").query(&mut c).expect("multi");
    let _: () = redis::cmd("SET")
        .arg("t3")
        .arg(3)
        .query(&mut c)
        .expect("queued");
    let exec: redis::RedisResult<redis::Value> = redis::cmd("EXEC").query(&mut c);
    let e = exec.expect_err("the EXEC is not acknowledged").to_string();
    assert!(e.contains("NOREPLICAS"), "{e}");
    // What wrote nothing has nothing to wait for, even beside other
    // clients' writes that wait (in the same groups).
    let busy = Arc::new(AtomicBool::new(true));
    let writers: Vec<_> = (0..2)
        .map(|w| {
            let (busy, addr) = (Arc::clone(&busy), master.addr);
            std::thread::spawn(move || {
                let mut c = redis::Client::open(format!("redis://{addr}/"))
                    .and_then(|c| c.get_connection())
                    .expect("writer");
                while busy.load(Ordering::Relaxed) {
                    let _ = c.set::<_, _, ()>(format!("busy:{w}"), 1);
                }
            })
        })
        .collect();
    std::thread::sleep(Duration::from_millis(200));
    for _ in 0..20 {
        let started = Instant::now();
        let _: i64 = c.del("no-such-key").expect("del of nothing");
        let _: Option<String> = redis::cmd("EVAL_RO")
            .arg("return redis.call('GET', KEYS[1])")
            .arg(1)
            .arg("k")
            .query(&mut c)
            .expect("a read-only script");
        assert!(
            started.elapsed() < Duration::from_millis(1000),
            "what wrote nothing waited {:?}",
            started.elapsed()
        );
    }
    busy.store(false, Ordering::Relaxed);
    for w in writers {
        let _ = w.join();
    }
    assert!(master.num("stats", "sync_replicas_timeouts") >= 2);
    assert!(master.num("stats", "sync_replicas_waits") >= 300);

    // Back: what timed out was applied on the master and reaches the slave.
    slave.resume();
    wait_synced(&master, &slave, LONG);
    set(&mut c, "after", "1").expect("acknowledged again");
    assert_eq!(digest(&slave), digest(&master));

    // Off at runtime: the silent slave no longer holds writes back.
    config_set(&master, "sync-replicas", "0");
    slave.pause();
    let started = Instant::now();
    set(&mut c, "off", "1").expect("acknowledged");
    assert!(started.elapsed() < Duration::from_secs(1));
    slave.resume();
}

#[test]
fn under_min_replicas_a_master_whose_slave_is_silent_refuses_writes() {
    let tmp = TempDir::new().expect("tmp");
    let master = Node::master(
        &tmp.path().join("m"),
        0,
        &[
            "--min-replicas-to-write",
            "1",
            "--min-replicas-max-lag",
            "1",
        ],
    );
    let mut c = master.client();
    // No slave yet: refused, with Redis's words.
    let e = set(&mut c, "a", "1").expect_err("no good slave");
    assert_eq!(e, "NOREPLICAS: Not enough good replicas to write.");
    let slave = Node::slave(&tmp.path().join("s"), 0, master.addr, &[]);
    // (the master holds nothing yet: the slave is in sync at once, and
    // good once its session streams and has acknowledged)
    wait_synced(&master, &slave, LONG);
    wait_until("the slave to count as good", LONG, || {
        master.num("replication", "min_slaves_good_slaves") == 1
    });
    set(&mut c, "a", "1").expect("one good slave");

    slave.pause();
    let stopped = Instant::now();
    wait_until("writes to be refused", LONG, || {
        set(&mut c, "b", "1").is_err()
    });
    let after = stopped.elapsed();
    assert!(
        after >= Duration::from_secs(1) && after < Duration::from_secs(4),
        "refused after {after:?}"
    );
    assert_eq!(master.num("replication", "min_slaves_good_slaves"), 0);
    let _: Option<String> = c.get("a").expect("reads are served");
    slave.resume();
    wait_until("writes to be taken again", LONG, || {
        set(&mut c, "c", "1").is_ok()
    });
    wait_synced(&master, &slave, LONG);
    assert_eq!(digest(&slave), digest(&master));
}

/// A fresh slave of an empty master has the master's seq (0) before the
/// copy the master decided has begun. It said it was in sync then, and a
/// write just after was refused under `min-replicas-to-write` (the
/// master's session was still copying). Now the slave is syncing from the
/// decision to the copy's end, and in sync means its master counts it.
#[test]
fn a_slave_is_syncing_from_its_masters_decision_to_copy() {
    let tmp = TempDir::new().expect("tmp");
    let master = Node::spawn_env(
        "rocksync-master",
        &tmp.path().join("m"),
        0,
        &[
            "--min-replicas-to-write",
            "1",
            "--min-replicas-max-lag",
            "1",
        ],
        &[("ROCKSYNC_PAUSE_AT", "repl.copy.before_begin:2000")],
    );
    let slave = Node::slave(&tmp.path().join("s"), 0, master.addr, &[]);
    wait_until("the slave's link to be up", LONG, || {
        slave.field("replication", "master_link_status").as_deref() == Some("up")
    });
    let info = slave.info("replication");
    assert_eq!(
        field(&info, "master_sync_in_progress").as_deref(),
        Some("1"),
        "{info}"
    );
    assert_eq!(master.num("replication", "min_slaves_good_slaves"), 0);
    wait_synced(&master, &slave, LONG);
    assert_eq!(master.num("replication", "min_slaves_good_slaves"), 1);
    set(&mut master.client(), "a", "1").expect("one good slave");
}

/// A slave of `master` behind a proxy forwarding 20 KB/s (once it is in
/// sync), and the proxy.
fn slave_on_a_slow_link(tmp: &TempDir, master: &Node) -> (rocksync_testkit::Proxy, Node) {
    let proxy = rocksync_testkit::Proxy::start(master.addr.port()).expect("proxy");
    let via: std::net::SocketAddr = format!("127.0.0.1:{}", proxy.port).parse().expect("addr");
    let slave = Node::slave(&tmp.path().join("s"), 0, via, &[]);
    wait_synced(master, &slave, LONG);
    proxy.set_rate(20_000);
    (proxy, slave)
}

/// 2 000 keys `k:<i>` set to 10 KB values (`round`'s digit), through
/// pipelines of 100: 20 MB, every write taken.
fn write_20mb(c: &mut redis::Connection, round: u32) {
    let value = round.to_string().repeat(10_000);
    for chunk in 0..20 {
        let mut p = redis::pipe();
        for i in 0..100 {
            p.cmd("SET")
                .arg(format!("k:{}", chunk * 100 + i))
                .arg(&value)
                .ignore();
        }
        let _: () = p.query(c).expect("the master takes every write");
    }
}

/// The size of the files in `dir`.
fn dir_bytes(dir: &std::path::Path) -> u64 {
    std::fs::read_dir(dir)
        .map(|d| {
            d.flatten()
                .filter_map(|e| e.metadata().ok())
                .map(|m| m.len())
                .sum()
        })
        .unwrap_or(0)
}

/// A slave behind a proxy forwarding 20 KB/s while 200 MB are written:
/// its lease would keep the whole binlog (it did before issue 25: a lease
/// beat the budget, and the disk filled). It is dropped instead, the
/// master's binlog directory stays within 1.5 times its budget, every
/// write is taken, and once the link is fast the slave full-copies and
/// ends equal to the master.
#[test]
fn a_slave_on_a_slow_link_cannot_hold_the_binlog_past_its_budget() {
    const BUDGET: u64 = 32 << 20;
    let tmp = TempDir::new().expect("tmp");
    let master = Node::master(
        &tmp.path().join("m"),
        0,
        &[
            "--max-binlog-size",
            &(4u64 << 20).to_string(),
            "--binlog-budget",
            &BUDGET.to_string(),
        ],
    );
    let (proxy, slave) = slave_on_a_slow_link(&tmp, &master);

    let dir = tmp.path().join("m").join("binlog");
    let stop = Arc::new(AtomicBool::new(false));
    let sampler = {
        let (stop, dir) = (Arc::clone(&stop), dir.clone());
        std::thread::spawn(move || {
            let mut max = 0;
            while !stop.load(Ordering::Relaxed) {
                max = max.max(dir_bytes(&dir));
                std::thread::sleep(Duration::from_millis(10));
            }
            max
        })
    };
    // 2 000 keys written ten times over with 10 KB values: 200 MB.
    let mut c = master.client();
    for round in 0..10 {
        write_20mb(&mut c, round);
    }
    let written = master.num("replication", "master_repl_offset");
    // The link is really slow: the slave is far behind.
    assert!(
        slave.num("replication", "last_seq") + 10_000 < written,
        "the slave kept up over 20 KB/s"
    );
    wait_until("the slave to be dropped", LONG, || {
        master.num("stats", "sync_dropped_over_budget") >= 1
    });
    std::thread::sleep(Duration::from_millis(500));
    stop.store(true, Ordering::Relaxed);
    let max = sampler.join().expect("sampler");
    eprintln!(
        "binlog directory peaked at {:.1} MB for a {} MB budget",
        max as f64 / 1e6,
        BUDGET >> 20
    );
    assert!(
        max <= BUDGET * 3 / 2,
        "the binlog directory reached {max} bytes, over 1.5 × {BUDGET}"
    );

    proxy.set_rate(0);
    wait_synced(&master, &slave, LONG);
    assert!(
        slave.num("replication", "full_copies") >= 2,
        "the slave full-copied"
    );
    assert_eq!(digest(&slave), digest(&master));
}

/// `client-output-buffer-limit replica <hard> <soft> <secs>`, Redis's
/// syntax: a slave on a slow link whose position holds more binlog than
/// the hard limit is dropped (far within the binlog budget), and
/// full-copies when the link is fast again. Normal and pubsub limits are
/// refused until they are enforced.
#[test]
fn the_replica_output_limit_drops_a_slave_that_holds_too_much_binlog() {
    let tmp = TempDir::new().expect("tmp");
    let master = Node::master(
        &tmp.path().join("m"),
        0,
        &[
            "--max-binlog-size",
            &(1u64 << 20).to_string(),
            "--client-output-buffer-limit",
            "replica 8mb 4mb 60",
        ],
    );
    let mut c = master.client();
    let got: Vec<String> = redis::cmd("CONFIG")
        .arg("GET")
        .arg("client-output-buffer-limit")
        .query(&mut c)
        .expect("config get");
    assert_eq!(
        got,
        [
            "client-output-buffer-limit",
            "normal 0 0 0 slave 8388608 4194304 60 pubsub 33554432 8388608 60"
        ]
    );
    let e = redis::cmd("CONFIG")
        .arg("SET")
        .arg("client-output-buffer-limit")
        .arg("master 32mb 8mb 60")
        .query::<()>(&mut c)
        .expect_err("no such class")
        .to_string();
    assert!(e.contains("Invalid client class"), "{e}");

    let (proxy, slave) = slave_on_a_slow_link(&tmp, &master);
    write_20mb(&mut c, 0);
    wait_until("the slave to be dropped at the limit", LONG, || {
        master.num("stats", "client_output_buffer_limit_disconnections") >= 1
    });
    assert_eq!(master.num("stats", "sync_dropped_over_budget"), 0);
    proxy.set_rate(0);
    wait_synced(&master, &slave, LONG);
    assert!(
        slave.num("replication", "full_copies") >= 2,
        "the slave full-copied: {} {}",
        slave.info("replication"),
        std::fs::read_to_string(tmp.path().join("m.rocksync-master.log")).unwrap_or_default()
    );
    assert_eq!(digest(&slave), digest(&master));
}
