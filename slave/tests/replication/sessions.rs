//! Sync sessions: purged or foreign binlogs full-copied, latency of a
//! lone write, atomic MSET, slow or reconnecting slaves, the shared feed,
//! the copy rate bound.

use super::*;

/// A slave whose next event was purged cannot resume: it is full-copied.
#[test]
fn a_slave_whose_binlog_was_purged_is_full_copied() {
    let tmp = TempDir::new().expect("tmp");
    let master = Node::master(&tmp.path().join("m"), 0, &["--max-binlog-size", "16384"]);
    load(&master, "a", 500, 10);
    let port = free_port();
    let slave = Node::slave(&tmp.path().join("s"), port, master.addr, &[]);
    wait_synced(&master, &slave, LONG);
    slave.kill();
    load(&master, "b", 2000, 50);
    let active = master
        .field("persistence", "binlog_active_file")
        .expect("active file");
    let removed: i64 = redis::cmd("PURGE")
        .arg("LOGS")
        .arg("TO")
        .arg(&active)
        .query(&mut master.client())
        .expect("purge");
    assert!(removed > 0);
    let slave = Node::slave(&tmp.path().join("s"), port, master.addr, &[]);
    wait_synced(&master, &slave, LONG);
    assert_eq!(master.num("stats", "sync_partial_err"), 1);
    assert_eq!(slave.num("replication", "full_copies"), 2);
    assert_eq!(digest(&slave), digest(&master));
}

/// Kvrocks #462: a slave with the same seq but another history silently
/// diverges. Here another replid means a full copy.
#[test]
fn a_slave_fed_another_masters_history_is_full_copied() {
    let tmp = TempDir::new().expect("tmp");
    let a = Node::master(&tmp.path().join("a"), 0, &[]);
    let b = Node::master(&tmp.path().join("b"), 0, &[]);
    // Same number of writes on both: same seqs, other content.
    load(&a, "from-a", 500, 10);
    load(&b, "from-b", 500, 10);
    assert_eq!(
        a.num("persistence", "binlog_last_seq"),
        b.num("persistence", "binlog_last_seq")
    );
    let port = free_port();
    let slave = Node::slave(&tmp.path().join("s"), port, a.addr, &[]);
    wait_synced(&a, &slave, LONG);
    slave.kill();
    let slave = Node::slave(&tmp.path().join("s"), port, b.addr, &[]);
    wait_synced(&b, &slave, LONG);
    assert_eq!(b.num("stats", "sync_partial_err"), 1);
    assert_eq!(slave.num("replication", "full_copies"), 2);
    assert_eq!(
        slave.field("replication", "master_replid"),
        b.field("replication", "master_replid")
    );
    assert_eq!(digest(&slave), digest(&b));
}

/// Kvrocks #346: the last write waits for the next one to push it. Here
/// the session wakes on the append itself.
#[test]
fn one_write_with_no_write_after_it_reaches_the_slave_at_once() {
    let tmp = TempDir::new().expect("tmp");
    let master = Node::master(&tmp.path().join("m"), 0, &[]);
    let slave = Node::slave(&tmp.path().join("s"), 0, master.addr, &[]);
    wait_synced(&master, &slave, LONG);
    let mut m = master.client();
    let mut s = slave.client();
    let mut worst = Duration::ZERO;
    for i in 0..20 {
        std::thread::sleep(Duration::from_millis(50));
        let _: () = m.set("lone", i).expect("set");
        let start = Instant::now();
        wait_until(
            "the lone write on the slave",
            Duration::from_secs(10),
            || s.get::<_, Option<i64>>("lone").expect("get") == Some(i),
        );
        worst = worst.max(start.elapsed());
    }
    // Far below the 1 s wait of a polling session or a heartbeat.
    assert!(worst < Duration::from_millis(500), "worst {worst:?}");
}

/// Pika #1638: a reader of the slave sees half of an MSET. Here each
/// command's events apply in one batch.
#[test]
fn an_mset_of_100_keys_is_never_seen_half_applied_on_the_slave() {
    let tmp = TempDir::new().expect("tmp");
    let master = Node::master(&tmp.path().join("m"), 0, &[]);
    let slave = Node::slave(&tmp.path().join("s"), 0, master.addr, &[]);
    wait_synced(&master, &slave, LONG);
    let keys: Vec<String> = (0..100).map(|i| format!("mset:{i}")).collect();
    let stop = Arc::new(AtomicBool::new(false));
    let reader = {
        let mut s = slave.client();
        let keys = keys.clone();
        let stop = Arc::clone(&stop);
        std::thread::spawn(move || {
            let mut reads = 0;
            while !stop.load(Ordering::Relaxed) && reads < 1_000_000 {
                let vals: Vec<Option<i64>> = s.mget(&keys).expect("mget");
                let first = vals[0];
                assert!(
                    vals.iter().all(|v| *v == first),
                    "half-applied MSET seen: {vals:?}"
                );
                reads += 1;
            }
            reads
        })
    };
    let mut m = master.client();
    for round in 0..300i64 {
        let pairs: Vec<(String, i64)> = keys.iter().map(|k| (k.clone(), round)).collect();
        let _: () = m.mset(&pairs).expect("mset");
    }
    wait_synced(&master, &slave, LONG);
    stop.store(true, Ordering::Relaxed);
    let reads = reader.join().expect("reader");
    assert!(reads > 10, "reads {reads}");
    assert_eq!(digest(&slave), digest(&master));
}

/// Kvrocks #3356: a slow or dead slave stalls the master. Here a stopped
/// slave (SIGSTOP) slows no client and its session ends after
/// slave_timeout.
#[test]
fn a_slave_that_stops_reading_neither_slows_clients_nor_keeps_its_session() {
    let tmp = TempDir::new().expect("tmp");
    let master = Node::master(&tmp.path().join("m"), 0, &["--slave-timeout", "2"]);
    let slave = Node::slave(&tmp.path().join("s"), 0, master.addr, &[]);
    wait_synced(&master, &slave, LONG);
    slave.signal("-STOP");
    let mut c = master.client();
    let big = "v".repeat(10_000);
    let start = Instant::now();
    for i in 0..3000 {
        let _: () = c
            .set(format!("big:{i}"), &big)
            .expect("set while the slave is stopped");
    }
    let took = start.elapsed();
    assert!(took < Duration::from_secs(20), "3000 writes took {took:?}");
    wait_until(
        "the stopped slave's session to end",
        Duration::from_secs(30),
        || master.num("replication", "connected_slaves") == 0,
    );
    slave.signal("-CONT");
    wait_synced(&master, &slave, LONG);
    assert_eq!(digest(&slave), digest(&master));
}

/// Slaves share one framed stream of the master's newest events (as
/// Redis's replicas share one buffer) instead of each reading and
/// re-encoding the binlog. A slave that falls behind that stream (here:
/// stopped while 40 MB are written, more than the stream's 8 MiB and the
/// sockets' buffers) reads the binlog itself, then rejoins; no slave's
/// stream restarts, and every slave ends with the master's data.
#[test]
fn slaves_share_one_feed_and_one_left_behind_it_reads_the_binlog() {
    let tmp = TempDir::new().expect("tmp");
    let master = Node::master(&tmp.path().join("m"), 0, &[]);
    let a = Node::slave(&tmp.path().join("a"), 0, master.addr, &[]);
    let b = Node::slave(&tmp.path().join("b"), 0, master.addr, &[]);
    wait_synced(&master, &a, LONG);
    wait_synced(&master, &b, LONG);
    // A gap or a repeat in what a slave receives would end its link; it
    // would resume (or copy) again, which these count.
    let starts = || {
        (
            master.num("stats", "sync_full"),
            master.num("stats", "sync_partial_ok"),
            master.num("stats", "sync_partial_err"),
        )
    };
    let started = starts();
    let events = || master.num("replication", "master_repl_offset");
    let before = events();
    load(&master, "live", 2000, 100);
    wait_synced(&master, &a, LONG);
    wait_synced(&master, &b, LONG);
    let written = events() - before;
    assert!(written >= 2000, "{written} events");
    let fed = master.num("stats", "sync_events_from_feed");
    assert!(
        fed >= 2 * written,
        "{fed} events from the feed for 2 × {written}"
    );
    assert_eq!(master.num("stats", "sync_events_from_binlog"), 0);
    assert!(master.num("stats", "sync_feed_bytes") > 0);

    b.signal("-STOP");
    let mut c = master.client();
    let big = "v".repeat(10_000);
    for chunk in (0..4000).collect::<Vec<_>>().chunks(100) {
        let mut p = redis::pipe();
        for i in chunk {
            p.cmd("SET").arg(format!("big:{i}")).arg(&big).ignore();
        }
        let _: () = p.query(&mut c).expect("40 MB of writes");
    }
    wait_synced(&master, &a, LONG);
    b.signal("-CONT");
    wait_synced(&master, &b, LONG);
    assert!(
        master.num("stats", "sync_events_from_binlog") > 0,
        "the stopped slave was never behind the feed"
    );
    assert!(master.num("stats", "sync_feed_bytes") <= 9 << 20);
    // Back on the feed once caught up: a round of writes (of at most
    // five: a loaded machine may take one to rejoin) reaches both slaves
    // from the feed alone.
    let rejoined = (0..5).any(|round| {
        let fed = master.num("stats", "sync_events_from_feed");
        load(&master, &format!("after{round}"), 500, 10);
        wait_synced(&master, &a, LONG);
        wait_synced(&master, &b, LONG);
        master.num("stats", "sync_events_from_feed") >= fed + 2 * 500
    });
    assert!(
        rejoined,
        "the slave left behind never came back to the feed"
    );
    assert_eq!(starts(), started, "a slave's stream broke and restarted");
    let want = digest(&master);
    assert_eq!(digest(&a), want);
    assert_eq!(digest(&b), want);
}

/// SSDB #1079: reconnecting slaves pile up sessions. Here a reconnect
/// replaces the old session.
#[test]
fn a_reconnecting_slave_replaces_its_session() {
    let tmp = TempDir::new().expect("tmp");
    let master = Node::master(&tmp.path().join("m"), 0, &[]);
    let port = free_port();
    for _ in 0..3 {
        let slave = Node::slave(&tmp.path().join("s"), port, master.addr, &[]);
        wait_synced(&master, &slave, LONG);
        let _: () = master.client().set("k", port).expect("set");
        slave.signal("-KILL");
        std::thread::sleep(Duration::from_millis(100));
    }
    let slave = Node::slave(&tmp.path().join("s"), port, master.addr, &[]);
    wait_synced(&master, &slave, LONG);
    wait_until("one session per slave", Duration::from_secs(10), || {
        master.num("replication", "connected_slaves") == 1
    });
    assert_eq!(digest(&slave), digest(&master));
}

/// `sync_speed` bounds the full copy's rate (SPEC §5.2).
#[test]
fn sync_speed_bounds_the_copy_rate() {
    let tmp = TempDir::new().expect("tmp");
    let master = Node::master(&tmp.path().join("m"), 0, &["--sync-speed", "1"]);
    load(&master, "k", 15_000, 200);
    let start = Instant::now();
    let slave = Node::slave(&tmp.path().join("s"), 0, master.addr, &[]);
    wait_synced(&master, &slave, LONG);
    let secs = start.elapsed().as_secs_f64();
    let info = master.info("replication");
    let bytes: f64 = field(&info, "slave0")
        .and_then(|s| {
            s.split(',')
                .find_map(|kv| kv.strip_prefix("copy_bytes=").map(str::to_owned))
        })
        .and_then(|v| v.parse().ok())
        .expect("copy_bytes");
    let mbps = bytes / 1024.0 / 1024.0 / secs;
    assert!(bytes > 2.0 * 1024.0 * 1024.0, "copied only {bytes} bytes");
    assert!(mbps <= 1.2, "copy ran at {mbps:.2} MB/s with sync_speed 1");
    assert_eq!(digest(&slave), digest(&master));
}

/// Kvrocks #1319: while a throttled copy runs, the master writes flat out
/// and purges its binlog; the slave then finds its position purged and
/// copies again, forever. Here the binlog from the snapshot's seq is
/// pinned, so the copy is followed by streaming.
#[test]
fn a_throttled_copy_under_flat_out_writes_and_purges_ends_in_streaming() {
    let tmp = TempDir::new().expect("tmp");
    let master = Node::master(
        &tmp.path().join("m"),
        0,
        &["--sync-speed", "1", "--max-binlog-size", "16384"],
    );
    load(&master, "k", 10_000, 200);
    let slave = Node::slave(&tmp.path().join("s"), 0, master.addr, &[]);
    wait_until("the copy to be under way", LONG, || {
        slave.field("persistence", "loading").as_deref() == Some("1")
    });
    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let mut c = master.client();
        let stop = Arc::clone(&stop);
        std::thread::spawn(move || {
            let mut n = 0u64;
            while !stop.load(Ordering::Relaxed) && n < 5_000_000 {
                let _: () = c.set(format!("w:{}", n % 5000), n).expect("set");
                n += 1;
            }
        })
    };
    let mut purged = 0;
    while slave
        .field("replication", "master_sync_in_progress")
        .as_deref()
        == Some("1")
    {
        let active = master
            .field("persistence", "binlog_active_file")
            .expect("active");
        purged += redis::cmd("PURGE")
            .arg("LOGS")
            .arg("TO")
            .arg(&active)
            .query::<i64>(&mut master.client())
            .expect("purge");
        std::thread::sleep(Duration::from_millis(100));
    }
    stop.store(true, Ordering::Relaxed);
    writer.join().expect("writer");
    wait_synced(&master, &slave, LONG);
    assert_eq!(master.num("stats", "sync_full"), 1, "a second full copy");
    assert_eq!(slave.num("replication", "full_copies"), 1);
    assert_eq!(digest(&slave), digest(&master));
    // The purges did run: the files before the snapshot's seq went.
    assert!(purged > 0, "nothing was purged");
}
