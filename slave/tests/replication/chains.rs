//! WAIT, SIGTERM and resume, chained slaves, the slave binlog budget,
//! EXEC and blocked pops as a slave sees them, WATCH on a slave.

use super::*;

/// `WAIT numslaves timeout` counts slaves that acknowledged every write
/// made before it, like Redis's.
#[test]
fn wait_counts_acknowledging_slaves() {
    let tmp = TempDir::new().expect("tmp");
    let master = Node::master(&tmp.path().join("m"), 0, &[]);
    let slave = Node::slave(&tmp.path().join("s"), 0, master.addr, &[]);
    wait_synced(&master, &slave, LONG);
    let mut c = master.client();
    for i in 0..50 {
        let _: () = c.set(format!("k{i}"), i).expect("set");
        let n: i64 = redis::cmd("WAIT")
            .arg(1)
            .arg(5000)
            .query(&mut c)
            .expect("wait");
        assert_eq!(n, 1, "after write {i}");
        let v: Option<i64> = slave.client().get(format!("k{i}")).expect("get");
        assert_eq!(v, Some(i), "acknowledged means applied");
    }
    let start = Instant::now();
    let n: i64 = redis::cmd("WAIT")
        .arg(2)
        .arg(200)
        .query(&mut c)
        .expect("wait");
    assert_eq!(n, 1);
    assert!(
        start.elapsed() >= Duration::from_millis(190),
        "returned before its timeout"
    );
}

/// A slave stops cleanly on SIGTERM while its master keeps running (its
/// link does not sit in a long read), and resumes from the binlog after.
#[test]
fn a_slave_stops_promptly_on_sigterm_and_resumes_after() {
    let tmp = TempDir::new().expect("tmp");
    let master = Node::master(&tmp.path().join("m"), 0, &[]);
    load(&master, "before", 500, 10);
    let port = free_port();
    let slave = Node::slave(&tmp.path().join("s"), port, master.addr, &[]);
    wait_synced(&master, &slave, LONG);
    let status = slave.terminate(Duration::from_secs(10));
    assert!(status.success(), "{status}");
    load(&master, "after", 500, 10);
    let slave = Node::slave(&tmp.path().join("s"), port, master.addr, &[]);
    wait_synced(&master, &slave, LONG);
    assert_eq!(slave.num("replication", "binlog_resumes"), 1);
    assert_eq!(slave.num("replication", "full_copies"), 1);
    assert_eq!(digest(&slave), digest(&master));
}

/// Chained replication (SPEC §1): a slave serves SYNC140 from its own
/// binlog, which keeps the master's seqs, so a slave of a slave ends on the
/// master's history, seq and data.
#[test]
fn a_slave_of_a_slave_follows_the_masters_history() {
    let tmp = TempDir::new().expect("tmp");
    let master = Node::master(&tmp.path().join("m"), 0, &[]);
    load(&master, "a", 1000, 10);
    let first = Node::slave(&tmp.path().join("s1"), 0, master.addr, &[]);
    wait_synced(&master, &first, LONG);
    let second = Node::slave(&tmp.path().join("s2"), free_port(), first.addr, &[]);
    wait_synced(&master, &second, LONG);
    load(&master, "b", 1000, 10);
    let _: i64 = master.client().incr("counter", 3).expect("incr");
    wait_synced(&master, &second, LONG);
    assert_eq!(digest(&second), digest(&master));
    assert_eq!(first.num("replication", "connected_slaves"), 1);
    // The chained slave resumes from the middle slave's binlog.
    let port = second.addr.port();
    second.kill();
    load(&master, "c", 500, 10);
    let second = Node::slave(&tmp.path().join("s2"), port, first.addr, &[]);
    wait_synced(&master, &second, LONG);
    assert_eq!(second.num("replication", "binlog_resumes"), 1);
    assert_eq!(second.num("replication", "full_copies"), 1);
    assert_eq!(digest(&second), digest(&master));
}

/// A slave's own binlog (which chained slaves read) is purged by the same
/// rules as a master's, so it does not grow without bound between copies.
#[test]
fn a_slaves_binlog_is_purged_to_its_budget() {
    let tmp = TempDir::new().expect("tmp");
    let master = Node::master(&tmp.path().join("m"), 0, &[]);
    let slave = Node::slave(
        &tmp.path().join("s"),
        0,
        master.addr,
        &["--max-binlog-size", "16384", "--binlog-budget", "65536"],
    );
    load(&master, "k", 500, 10);
    wait_synced(&master, &slave, LONG);
    load(&master, "more", 5000, 100);
    wait_synced(&master, &slave, LONG);
    let binlog = tmp.path().join("s").join("binlog");
    let total = || -> u64 {
        std::fs::read_dir(&binlog)
            .map(|d| {
                d.flatten()
                    .filter_map(|e| e.metadata().ok())
                    .map(|m| m.len())
                    .sum()
            })
            .unwrap_or(0)
    };
    // It wrote several files (numbered in order) of what the load wrote,
    // over 500 KB: eight times its budget...
    let active = slave
        .field("persistence", "binlog_active_file")
        .expect("active file");
    let files: u64 = active
        .trim_end_matches(".binlog")
        .parse()
        .expect("a numbered file");
    assert!(files >= 3, "the slave wrote only {files} files");
    // ... and keeps about its budget (checked at every new file).
    wait_until("the slave's binlog purge", Duration::from_secs(40), || {
        total() <= 65536 + 16384 * 2
    });
    assert_eq!(digest(&slave), digest(&master));
}

/// The writes of one EXEC are one unit on the slave too: a reader of the
/// slave polling during 300 EXECs of 10 INCRs (one per key) never sees the
/// keys at different counts.
#[test]
fn a_slave_reader_never_sees_half_of_an_exec() {
    let tmp = TempDir::new().expect("tmp");
    let master = Node::master(&tmp.path().join("m"), 0, &[]);
    let slave = Node::slave(&tmp.path().join("s"), 0, master.addr, &[]);
    let keys: Vec<String> = (0..10).map(|i| format!("tx:{i}")).collect();
    let _: () = master.client().set("start", 1).expect("set");
    wait_synced(&master, &slave, LONG);
    let done = Arc::new(AtomicBool::new(false));
    let reader = {
        let (done, keys, mut c) = (Arc::clone(&done), keys.clone(), slave.client());
        std::thread::spawn(move || {
            let mut polls = 0u64;
            while !done.load(Ordering::Relaxed) && polls < 200_000 {
                let v: Vec<Option<i64>> =
                    redis::cmd("MGET").arg(&keys).query(&mut c).expect("mget");
                let first = v[0].unwrap_or(0);
                assert!(
                    v.iter().all(|x| x.unwrap_or(0) == first),
                    "half an EXEC: {v:?}"
                );
                polls += 1;
            }
            polls
        })
    };
    let mut c = master.client();
    for _ in 0..1000 {
        let mut p = redis::pipe();
        p.atomic();
        for k in &keys {
            p.cmd("INCR").arg(k);
        }
        let _: Vec<i64> = p.query(&mut c).expect("exec");
    }
    wait_synced(&master, &slave, LONG);
    done.store(true, Ordering::Relaxed);
    let polls = reader.join().expect("the reader saw only whole EXECs");
    assert!(polls > 10, "the reader barely ran ({polls} polls)");
    let v: Vec<i64> = redis::cmd("MGET")
        .arg(&keys)
        .query(&mut slave.client())
        .expect("mget");
    assert!(v.iter().all(|x| *x == 1000), "{v:?}");
}

/// Issue 11: a queue of 3 blocked consumers is served in the order they
/// blocked, one per LPUSH from another client; a BLMOVE's push feeds a
/// consumer blocked on its destination; a timeout answers nil after its
/// time; a consumer on the slave is refused (slaves are read-only); and
/// the slave ends with what the consumers left, equal to the master.
#[test]
fn blocked_consumers_are_served_in_order_and_the_slave_sees_what_they_got() {
    let tmp = TempDir::new().expect("tmp");
    let master = Node::master(&tmp.path().join("m"), 0, &[]);
    let slave = Node::slave(&tmp.path().join("s"), 0, master.addr, &[]);
    let blocked = || master.num("clients", "blocked_clients");
    let mut consumers = Vec::new();
    for i in 0..3u64 {
        let mut c = master.client();
        consumers.push(std::thread::spawn(move || {
            redis::cmd("BLPOP")
                .arg("jobs")
                .arg(0)
                .query::<(String, String)>(&mut c)
                .expect("blpop")
        }));
        wait_until("the consumer to block", LONG, || blocked() == i + 1);
    }
    let mut c = master.client();
    for j in 0..3 {
        let _: i64 = c.lpush("jobs", format!("job{j}")).expect("lpush");
    }
    for (i, t) in consumers.into_iter().enumerate() {
        let got = t.join().expect("consumer");
        assert_eq!(got, ("jobs".to_owned(), format!("job{i}")), "consumer {i}");
    }
    assert_eq!(blocked(), 0);

    // A BLMOVE's push feeds a consumer blocked on its destination.
    let mover = {
        let mut c = master.client();
        std::thread::spawn(move || {
            redis::cmd("BLMOVE")
                .arg(&["src", "mid", "LEFT", "RIGHT", "0"])
                .query::<String>(&mut c)
                .expect("blmove")
        })
    };
    wait_until("the mover to block", LONG, || blocked() == 1);
    let taker = {
        let mut c = master.client();
        std::thread::spawn(move || {
            redis::cmd("BLPOP")
                .arg(&["mid", "0"])
                .query::<(String, String)>(&mut c)
                .expect("blpop")
        })
    };
    wait_until("the taker to block", LONG, || blocked() == 2);
    let _: i64 = c.rpush("src", &["x", "y"]).expect("rpush");
    assert_eq!(mover.join().expect("mover"), "x");
    assert_eq!(
        taker.join().expect("taker"),
        ("mid".to_owned(), "x".to_owned())
    );

    // A sorted-set consumer, and a timeout.
    let zc = {
        let mut c = master.client();
        std::thread::spawn(move || {
            redis::cmd("BZPOPMAX")
                .arg(&["z1", "z2", "0"])
                .query::<(String, String, String)>(&mut c)
                .expect("bzpopmax")
        })
    };
    wait_until("the sorted-set consumer to block", LONG, || blocked() == 1);
    let _: i64 = c
        .zadd_multiple("z2", &[(1.5, "a"), (2.5, "b")])
        .expect("zadd");
    assert_eq!(
        zc.join().expect("zc"),
        ("z2".to_owned(), "b".to_owned(), "2.5".to_owned())
    );
    let t0 = Instant::now();
    let none: Option<(String, String)> = redis::cmd("BLPOP")
        .arg(&["nothing", "0.3"])
        .query(&mut c)
        .expect("blpop");
    let waited = t0.elapsed();
    assert_eq!(none, None);
    assert!(
        waited >= Duration::from_millis(300) && waited < Duration::from_secs(10),
        "{waited:?}"
    );

    let refused = redis::cmd("BLPOP")
        .arg(&["jobs", "0"])
        .query::<Option<(String, String)>>(&mut slave.client())
        .expect_err("a slave refuses BLPOP");
    assert_eq!(refused.kind(), redis::ErrorKind::ReadOnly, "{refused}");

    wait_synced(&master, &slave, LONG);
    let left: Vec<String> = slave.client().lrange("src", 0, -1).expect("lrange");
    assert_eq!(left, ["y"]);
    let d = digest(&master);
    assert!(!d.contains_key("jobs") && !d.contains_key("mid"), "{d:?}");
    assert_eq!(d, digest(&slave));
}

/// Issue 11: a WATCH on a slave is broken by the master's write to the
/// key, which reaches it through replication (as in Redis).
#[test]
fn a_watch_on_a_slave_is_broken_by_a_replicated_write() {
    let tmp = TempDir::new().expect("tmp");
    let master = Node::master(&tmp.path().join("m"), 0, &[]);
    let slave = Node::slave(&tmp.path().join("s"), 0, master.addr, &[]);
    let _: () = master.client().set("w", 1).expect("set");
    wait_synced(&master, &slave, LONG);
    let mut c = slave.client();
    let run = |c: &mut redis::Connection| -> Option<(i64,)> {
        redis::pipe().atomic().get("w").query(c).expect("exec")
    };
    let _: () = redis::cmd("WATCH").arg("w").query(&mut c).expect("watch");
    assert_eq!(run(&mut c), Some((1,)), "untouched: the EXEC runs");
    let _: () = redis::cmd("WATCH").arg("w").query(&mut c).expect("watch");
    let _: () = master.client().set("w", 2).expect("set");
    wait_synced(&master, &slave, LONG);
    assert_eq!(run(&mut c), None, "touched by the master's write");
}
