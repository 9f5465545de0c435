//! Roles at runtime (SPEC §7, §9) with real processes on 127.0.0.1: a
//! slave promoted with `SLAVEOF NO ONE` takes writes at once in a new
//! history that remembers the old one; siblings, chained slaves and an old
//! master re-pointed with `SLAVEOF host port` resume from their binlog when
//! their history is a prefix of the new master's, and are full-copied
//! otherwise (Kvrocks #462, Pika #893/#909: never silently diverged); roles
//! survive restarts (pikiwidb #2026); `ROLE` and `INFO replication` have
//! Redis's shapes.

mod common;

use std::time::{Duration, Instant};

use common::*;
use redis::Commands;
use tempfile::TempDir;

const LONG: Duration = Duration::from_secs(120);

fn set(node: &Node, key: &str, value: &str) -> redis::RedisResult<()> {
    node.client().set(key, value)
}

/// m with slaves s1 and s2, and s3 chained under s1; m is lost; s1 is
/// promoted and s2 re-pointed to it: nobody is full-copied again, and all
/// end with s1's data while writes go on.
#[test]
fn a_promoted_slave_takes_writes_and_its_sibling_and_chained_slave_resume_without_a_copy() {
    let tmp = TempDir::new().expect("tmp");
    let m = Node::master(&tmp.path().join("m"), 0, &[]);
    load(&m, "a", 2000, 20);
    let s1 = Node::slave(&tmp.path().join("s1"), free_port(), m.addr, &[]);
    let s2 = Node::slave(&tmp.path().join("s2"), free_port(), m.addr, &[]);
    let s3 = Node::slave(&tmp.path().join("s3"), free_port(), s1.addr, &[]);
    load(&m, "b", 1000, 20);
    for s in [&s1, &s2, &s3] {
        wait_synced(&m, s, LONG);
    }
    let old_replid = m.field("replication", "master_replid").expect("replid");
    let left_at = m.num("replication", "master_repl_offset");
    let copies: Vec<u64> = [&s2, &s3]
        .iter()
        .map(|s| s.num("replication", "full_copies"))
        .collect();
    assert_eq!(copies, vec![1, 1]);
    let refused = set(&s1, "k", "v").expect_err("a slave refuses writes");
    assert_eq!(refused.code(), Some("READONLY"), "{refused}");
    assert!(
        refused
            .to_string()
            .contains("You can't write against a read only replica."),
        "{refused}"
    );
    m.kill();

    let started = Instant::now();
    assert_eq!(slaveof(&s1, None), "OK");
    set(&s1, "after", "promotion").expect("a promoted slave takes writes at once");
    let promote_ms = started.elapsed().as_millis();
    assert!(promote_ms < 10_000, "promotion took {promote_ms} ms");
    let info = s1.info("replication");
    assert_eq!(field(&info, "role").as_deref(), Some("master"));
    assert_eq!(field(&info, "master_replid2"), Some(old_replid.clone()));
    assert_eq!(
        field(&info, "second_repl_offset"),
        Some((left_at + 1).to_string())
    );
    assert_ne!(field(&info, "master_replid"), Some(old_replid));

    assert_eq!(slaveof(&s2, Some(s1.addr)), "OK");
    assert_eq!(
        slaveof(&s2, Some(s1.addr)),
        "OK Already connected to specified master"
    );
    load(&s1, "c", 1000, 20);
    for s in [&s2, &s3] {
        wait_synced(&s1, s, LONG);
    }
    let after: Vec<u64> = [&s2, &s3]
        .iter()
        .map(|s| s.num("replication", "full_copies"))
        .collect();
    assert_eq!(after, copies, "a sibling or chained slave was copied again");
    assert!(s2.num("replication", "binlog_resumes") >= 1);
    let want = digest(&s1);
    assert!(want.contains_key("after") && want.contains_key("c:s:0"));
    assert_eq!(digest(&s2), want);
    assert_eq!(digest(&s3), want);
}

/// The old master comes back with its own binary and data and is pointed
/// at the promoted slave: with a write that never replicated it is
/// full-copied (the write is gone, the new master's data is there); with
/// none it resumes from its binlog.
#[test]
fn an_old_master_is_full_copied_only_when_it_took_writes_its_slave_never_saw() {
    for diverged in [true, false] {
        let tmp = TempDir::new().expect("tmp");
        let m_port = free_port();
        let s_port = free_port();
        let m = Node::master(&tmp.path().join("m"), m_port, &[]);
        load(&m, "a", 1000, 10);
        let s = Node::slave(&tmp.path().join("s"), s_port, m.addr, &[]);
        wait_synced(&m, &s, LONG);
        // The slave stops cleanly; the master goes on alone, then dies.
        assert!(s.terminate(Duration::from_secs(30)).success());
        if diverged {
            set(&m, "lost", "never replicated").expect("set");
        }
        m.kill();
        // The slave comes back (still following the dead master), and is
        // promoted; it takes a write at the seq the old master used.
        let s = Node::spawn("rocksync-slave", &tmp.path().join("s"), s_port, &[]);
        assert_eq!(s.field("replication", "role").as_deref(), Some("slave"));
        assert_eq!(slaveof(&s, None), "OK");
        set(&s, "new", "history").expect("set");
        let m = Node::spawn("rocksync-master", &tmp.path().join("m"), m_port, &[]);
        assert_eq!(m.field("replication", "role").as_deref(), Some("master"));
        let copies_before = m.num("replication", "full_copies");
        assert_eq!(slaveof(&m, Some(s.addr)), "OK");
        wait_synced(&s, &m, LONG);
        let copies = m.num("replication", "full_copies") - copies_before;
        let resumes = m.num("replication", "binlog_resumes");
        let decision = m.field("replication", "master_sync_decision");
        if diverged {
            assert_eq!(copies, 1, "diverged old master not copied: {decision:?}");
            assert!(m
                .client()
                .get::<_, Option<String>>("lost")
                .expect("get")
                .is_none());
        } else {
            assert_eq!((copies, resumes), (0, 1), "{decision:?}");
        }
        assert_eq!(digest(&m), digest(&s));
    }
}

/// A slave in the middle of a full copy holds partial data: SLAVEOF NO ONE
/// is refused (Pika #2433: no partial dataset may look complete), the copy
/// goes on and ends equal.
#[test]
fn a_slave_is_not_promoted_while_its_copy_is_unfinished() {
    let tmp = TempDir::new().expect("tmp");
    let m = Node::master(&tmp.path().join("m"), 0, &["--sync-speed", "1"]);
    load(&m, "a", 3000, 1000);
    let s = Node::slave(&tmp.path().join("s"), free_port(), m.addr, &[]);
    wait_until("the copy to start", LONG, || {
        s.field("persistence", "loading").as_deref() == Some("1")
    });
    let refused = redis::cmd("SLAVEOF")
        .arg("NO")
        .arg("ONE")
        .query::<()>(&mut s.client())
        .expect_err("promotion of a partial copy");
    assert!(refused.to_string().contains("partial"), "{refused}");
    assert_eq!(s.field("replication", "role").as_deref(), Some("slave"));
    wait_synced(&m, &s, LONG);
    assert_eq!(s.num("replication", "full_copies"), 1);
    assert_eq!(digest(&s), digest(&m));
}

/// A promoted node restarts as a master, and a master re-pointed at
/// runtime restarts following its new master, whichever binary starts it;
/// an explicit `--master-addr` wins over the kept role.
#[test]
fn roles_set_at_runtime_survive_restarts_of_either_binary() {
    let tmp = TempDir::new().expect("tmp");
    let (a_port, b_port) = (free_port(), free_port());
    let a = Node::master(&tmp.path().join("a"), a_port, &[]);
    let b = Node::slave(&tmp.path().join("b"), b_port, a.addr, &[]);
    set(&a, "x", "1").expect("set");
    wait_synced(&a, &b, LONG);
    // Swap the roles: b promoted, a following b.
    assert_eq!(slaveof(&b, None), "OK");
    assert_eq!(slaveof(&a, Some(b.addr)), "OK");
    set(&b, "y", "2").expect("set");
    wait_synced(&b, &a, LONG);
    assert!(a.terminate(Duration::from_secs(30)).success());
    assert!(b.terminate(Duration::from_secs(30)).success());
    // Each binary started with no role flag keeps the role it had.
    let b = Node::spawn("rocksync-slave", &tmp.path().join("b"), b_port, &[]);
    let a = Node::spawn("rocksync-master", &tmp.path().join("a"), a_port, &[]);
    assert_eq!(b.field("replication", "role").as_deref(), Some("master"));
    assert_eq!(a.field("replication", "role").as_deref(), Some("slave"));
    assert_eq!(
        a.field("replication", "master_port"),
        Some(b_port.to_string())
    );
    set(&b, "z", "3").expect("the promoted node still takes writes");
    wait_synced(&b, &a, LONG);
    assert_eq!(digest(&a), digest(&b));
    assert_eq!(a.num("replication", "full_copies"), 0);
    // An explicit flag wins over the kept role.
    assert!(a.terminate(Duration::from_secs(30)).success());
    let a = Node::spawn(
        "rocksync-master",
        &tmp.path().join("a"),
        a_port,
        &["--master-addr", "no one"],
    );
    assert_eq!(a.field("replication", "role").as_deref(), Some("master"));
    set(&a, "w", "4").expect("explicitly a master");
}

/// The shape of a reply: its kinds, nested, without the values.
fn shape(v: &redis::Value) -> String {
    match v {
        redis::Value::Array(items) => {
            let inner: Vec<String> = items.iter().map(shape).collect();
            format!("[{}]", inner.join(","))
        }
        redis::Value::BulkString(_) => "bulk".into(),
        redis::Value::Int(_) => "int".into(),
        redis::Value::SimpleString(_) | redis::Value::Okay => "simple".into(),
        other => format!("{other:?}"),
    }
}

fn role(c: &mut redis::Connection) -> redis::Value {
    redis::cmd("ROLE").query(c).expect("role")
}

/// Field names of `INFO replication`, with the keys inside `slaveN:` lines.
fn fields(info: &str) -> Vec<String> {
    let mut out = Vec::new();
    for line in info.lines() {
        let Some((k, v)) = line.split_once(':') else {
            continue;
        };
        if k.starts_with("slave") && k[5..].chars().all(|c| c.is_ascii_digit()) {
            for kv in v.split(',') {
                out.push(format!("slaveN.{}", kv.split('=').next().unwrap_or("")));
            }
        } else {
            out.push(k.to_owned());
        }
    }
    out
}

fn missing(theirs: &[String], ours: &[String]) -> Vec<String> {
    theirs
        .iter()
        .filter(|f| !ours.contains(f))
        .cloned()
        .collect()
}

/// `ROLE` and `INFO replication` of a master with one replica, and of the
/// replica, beside a redis-server pair in the same test: the same reply
/// shapes and every field Redis gives.
#[test]
fn role_and_info_replication_have_redis_shapes_on_both_roles() {
    let tmp = TempDir::new().expect("tmp");
    let m = Node::master(&tmp.path().join("m"), 0, &[]);
    let s = Node::slave(&tmp.path().join("s"), free_port(), m.addr, &[]);
    set(&m, "k", "v").expect("set");
    wait_synced(&m, &s, LONG);
    let rm = Redis::start(&[]);
    let rs = Redis::start(&["--replicaof", "127.0.0.1", &rm.port.to_string()]);
    let _: () = rm.client().set("k", "v").expect("set");
    wait_until("the redis replica to be online", LONG, || {
        let info: String = redis::cmd("INFO")
            .arg("replication")
            .query(&mut rm.client())
            .expect("info");
        info.contains("state=online") && {
            let r: String = redis::cmd("INFO")
                .arg("replication")
                .query(&mut rs.client())
                .expect("info");
            r.contains("master_link_status:up")
        }
    });
    wait_until("our master to list its slave", LONG, || {
        m.info("replication").contains("state=online")
    });

    let (ours_m, theirs_m) = (role(&mut m.client()), role(&mut rm.client()));
    assert_eq!(
        shape(&ours_m),
        shape(&theirs_m),
        "{ours_m:?} vs {theirs_m:?}"
    );
    let (ours_s, theirs_s) = (role(&mut s.client()), role(&mut rs.client()));
    assert_eq!(
        shape(&ours_s),
        shape(&theirs_s),
        "{ours_s:?} vs {theirs_s:?}"
    );
    match ours_s {
        redis::Value::Array(v) => {
            assert_eq!(v[0], redis::Value::BulkString(b"slave".to_vec()));
            assert_eq!(v[2], redis::Value::Int(i64::from(m.addr.port())));
            assert_eq!(v[3], redis::Value::BulkString(b"connected".to_vec()));
            assert_eq!(
                v[4],
                redis::Value::Int(s.num("replication", "slave_repl_offset") as i64)
            );
        }
        other => panic!("ROLE on a slave: {other:?}"),
    }

    let info = |c: &mut redis::Connection| -> String {
        redis::cmd("INFO")
            .arg("replication")
            .query(c)
            .expect("info")
    };
    let gaps = missing(
        &fields(&info(&mut rm.client())),
        &fields(&m.info("replication")),
    );
    assert!(gaps.is_empty(), "master INFO replication lacks {gaps:?}");
    let gaps = missing(
        &fields(&info(&mut rs.client())),
        &fields(&s.info("replication")),
    );
    assert!(gaps.is_empty(), "slave INFO replication lacks {gaps:?}");
}

/// Sentinel's failover block, byte for byte as Sentinel 7 pipelines it
/// (kvrocks #352: a peer without `CLIENT KILL TYPE` inside MULTI could not
/// be failed over): after EXEC the slave is a master, and a second block
/// re-points it.
#[test]
fn sentinels_failover_block_in_one_pipeline_changes_the_role() {
    use std::io::{Read, Write};
    let tmp = TempDir::new().expect("tmp");
    let m = Node::master(&tmp.path().join("m"), 0, &[]);
    let s = Node::slave(&tmp.path().join("s"), free_port(), m.addr, &[]);
    set(&m, "k", "v").expect("set");
    wait_synced(&m, &s, LONG);
    let block = |target: &[&str]| {
        let mut out = Vec::new();
        let mut cmd = |args: &[&str]| {
            out.extend_from_slice(format!("*{}\r\n", args.len()).as_bytes());
            for a in args {
                out.extend_from_slice(format!("${}\r\n{a}\r\n", a.len()).as_bytes());
            }
        };
        cmd(&["MULTI"]);
        cmd(&[&["SLAVEOF"][..], target].concat());
        cmd(&["CONFIG", "REWRITE"]);
        cmd(&["CLIENT", "KILL", "TYPE", "normal"]);
        cmd(&["CLIENT", "KILL", "TYPE", "pubsub"]);
        cmd(&["EXEC"]);
        out
    };
    let mut c = std::net::TcpStream::connect(s.addr).expect("connect");
    c.set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    c.write_all(&block(&["NO", "ONE"])).expect("send");
    let mut got = Vec::new();
    let mut chunk = [0u8; 4096];
    while !got.windows(5).any(|w| w == b"*4\r\n+") {
        let n = c.read(&mut chunk).expect("read");
        assert!(n > 0, "closed: {}", String::from_utf8_lossy(&got));
        got.extend_from_slice(&chunk[..n]);
    }
    let text = String::from_utf8_lossy(&got);
    assert!(
        text.starts_with("+OK\r\n+QUEUED\r\n+QUEUED\r\n+QUEUED\r\n+QUEUED\r\n*4\r\n+OK\r\n"),
        "{text}"
    );
    assert_eq!(s.field("replication", "role").as_deref(), Some("master"));
    let port = m.addr.port().to_string();
    c.write_all(&block(&["127.0.0.1", &port])).expect("send");
    wait_until("the role to change back", LONG, || {
        s.field("replication", "role").as_deref() == Some("slave")
    });
    wait_synced(&m, &s, LONG);
}

/// Sentinel reads `slave_priority` (0: never promote this node): settable
/// at runtime as `slave-priority` / `replica-priority`, kept by CONFIG
/// REWRITE in the node's config file, which loads again at restart.
#[test]
fn slave_priority_is_settable_and_kept_by_config_rewrite() {
    let tmp = TempDir::new().expect("tmp");
    let m = Node::master(&tmp.path().join("m"), 0, &[]);
    let conf = tmp.path().join("s.toml");
    std::fs::write(&conf, "maxclients = 500\n").expect("config");
    let port = free_port();
    let conf_arg = conf.to_string_lossy().into_owned();
    let s = Node::slave(
        &tmp.path().join("s"),
        port,
        m.addr,
        &["--config", &conf_arg],
    );
    assert_eq!(s.num("replication", "slave_priority"), 100);
    let _: () = redis::cmd("CONFIG")
        .arg("SET")
        .arg("replica-priority")
        .arg(0)
        .query(&mut s.client())
        .expect("config set");
    assert_eq!(
        s.field("replication", "slave_priority").as_deref(),
        Some("0")
    );
    let _: () = redis::cmd("CONFIG")
        .arg("REWRITE")
        .query(&mut s.client())
        .expect("rewrite");
    assert!(s.terminate(Duration::from_secs(30)).success());
    let s = Node::spawn(
        "rocksync-slave",
        &tmp.path().join("s"),
        port,
        &["--config", &conf_arg],
    );
    assert_eq!(
        s.field("replication", "slave_priority").as_deref(),
        Some("0")
    );
    assert_eq!(s.field("clients", "maxclients").as_deref(), Some("500"));
    assert_eq!(
        s.field("replication", "master_port"),
        Some(m.addr.port().to_string())
    );
}

/// Issue 11: a client blocked in BLPOP on a master that becomes a slave is
/// let go with Redis's UNBLOCKED error (a slave serves no pops), and the
/// list it waited on is untouched.
#[test]
fn a_client_blocked_on_a_master_that_becomes_a_slave_is_unblocked() {
    let tmp = TempDir::new().expect("tmp");
    let a = Node::master(&tmp.path().join("a"), 0, &[]);
    let b = Node::master(&tmp.path().join("b"), 0, &[]);
    let waiter = {
        let mut c = a.client();
        std::thread::spawn(move || {
            redis::cmd("BLPOP")
                .arg(&["q", "0"])
                .query::<Option<(String, String)>>(&mut c)
        })
    };
    wait_until("the client to block", LONG, || {
        a.num("clients", "blocked_clients") == 1
    });
    assert_eq!(slaveof(&a, Some(b.addr)), "OK");
    let err = waiter
        .join()
        .expect("waiter")
        .expect_err("unblocked with an error");
    assert!(err.to_string().contains("UNBLOCKED"), "{err}");
    assert_eq!(a.num("clients", "blocked_clients"), 0);
}

/// A write whose metadata was read ahead of the write path (a pre-read)
/// while the node was a master, and that runs after the node followed
/// another master and was promoted again: the followed master's data came
/// in meanwhile, so the read is stale and must not be used. A pause point
/// holds the INCR between its read ("k" absent) and its queueing while
/// the node copies B's `k = 100` and is promoted: the INCR answers 101,
/// not 1, and the key count is the keys'.
#[test]
fn a_write_read_ahead_before_a_role_round_trip_reads_again_after_it() {
    let tmp = TempDir::new().expect("tmp");
    let a = Node::spawn_env(
        "rocksync-master",
        &tmp.path().join("a"),
        0,
        &[],
        &[("ROCKSYNC_PAUSE_AT", "engine.submit.after_pre_read:3000")],
    );
    let b = Node::master(&tmp.path().join("b"), 0, &[]);
    set(&b, "k", "100").expect("set on b");
    set(&b, "other", "x").expect("set on b");
    let incr = {
        let mut c = a.client();
        std::thread::spawn(move || c.incr::<_, _, i64>("k", 1))
    };
    let log = tmp.path().join("a").with_extension("rocksync-master.log");
    wait_until("the INCR to hold after its read", LONG, || {
        std::fs::read_to_string(&log)
            .is_ok_and(|t| t.contains("engine.submit.after_pre_read: pausing"))
    });
    assert_eq!(slaveof(&a, Some(b.addr)), "OK");
    wait_synced(&b, &a, LONG);
    assert_eq!(slaveof(&a, None), "OK");
    let held = std::fs::read_to_string(&log).expect("log");
    assert!(
        !held.contains("engine.submit.after_pre_read: resuming"),
        "the round trip outlasted the pause: {held}"
    );
    assert_eq!(incr.join().expect("incr thread"), Ok(101));
    let mut c = a.client();
    assert_eq!(c.get::<_, String>("k").expect("get"), "101");
    let dbsize: i64 = redis::cmd("DBSIZE").query(&mut c).expect("dbsize");
    assert_eq!(dbsize, 2);
}

/// The write path keeps what its recent groups wrote of keys it reads
/// again and again (a long string's metadata and chunks, changed by a
/// script, whose reads are the write path's own), and reads them there
/// instead of the store. While the node follows another master the link
/// writes the store behind it: once promoted again, its first change must
/// be to the followed master's string, not the one it kept from before.
#[test]
fn what_the_write_path_kept_is_dropped_by_a_role_round_trip() {
    let tmp = TempDir::new().expect("tmp");
    let a = Node::master(&tmp.path().join("a"), 0, &[]);
    let b = Node::master(&tmp.path().join("b"), 0, &[]);
    let len = 64 << 10;
    let mut ca = a.client();
    let mut cb = b.client();
    let _: () = ca.set("k", "a".repeat(len)).expect("set on a");
    let _: () = cb.set("k", "b".repeat(len)).expect("set on b");
    let change = |c: &mut redis::Connection, at: i64, to: &str| -> i64 {
        redis::cmd("EVAL")
            .arg("return redis.call('SETRANGE', KEYS[1], ARGV[1], ARGV[2])")
            .arg(1)
            .arg("k")
            .arg(at)
            .arg(to)
            .query(c)
            .expect("setrange by a script")
    };
    for _ in 0..10 {
        // (one group each: every one reads what the one before wrote)
        change(&mut ca, 0, "A");
    }
    change(&mut cb, 5, "B");
    assert_eq!(slaveof(&a, Some(b.addr)), "OK");
    wait_synced(&b, &a, LONG);
    assert_eq!(slaveof(&a, None), "OK");
    let mut ca = a.client();
    change(&mut ca, 1, "Z");
    let mut want = "b".repeat(len).into_bytes();
    want[5] = b'B';
    want[1] = b'Z';
    let got: Vec<u8> = ca.get("k").expect("get");
    assert!(
        got == want,
        "k after the round trip: {:?}",
        String::from_utf8_lossy(&got[..got.len().min(40)])
    );
}
