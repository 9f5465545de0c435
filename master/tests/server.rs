//! The master over real TCP with a real client library: command groups,
//! pipelining, expiry, AUTH, maxclients, SCAN, INFO, restart, shutdown.

mod common;

use std::collections::BTreeSet;
use std::io::{Read, Write};
use std::time::{Duration, Instant};

use common::InProc;
use redis::Commands;
use rocksync_master::Config;

fn restart(dir: tempfile::TempDir) -> InProc {
    let data_dir = dir.path().join("data");
    InProc::start_in(
        dir,
        Config {
            port: 0,
            data_dir,
            ..Config::default()
        },
    )
}

fn info(c: &mut redis::Connection, section: &str) -> String {
    redis::cmd("INFO").arg(section).query(c).expect("info")
}

/// A plain TCP connection to `m`, whose reads give up after 5 s.
fn raw_connection(m: &InProc) -> std::net::TcpStream {
    let s = std::net::TcpStream::connect(m.addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(5)))
        .expect("timeout");
    s
}

/// Wait (at most 10 s) until DBSIZE is `want`.
fn wait_for_dbsize(c: &mut redis::Connection, want: i64, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let n: i64 = redis::cmd("DBSIZE").query(c).expect("dbsize");
        if n == want {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "timed out waiting for {what}: dbsize {n}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn info_field(text: &str, key: &str) -> Option<String> {
    text.lines()
        .find_map(|l| l.strip_prefix(&format!("{key}:")).map(str::to_owned))
}

#[test]
fn every_type_survives_a_clean_restart() {
    let m = InProc::start();
    let mut c = m.client();
    let _: () = c.set("k", "v").expect("set");
    let _: i64 = c.incr("n", 5).expect("incr");
    let _: () = c
        .hset_multiple("h", &[("f", "1"), ("g", "2")])
        .expect("hset");
    let _: i64 = c.rpush("l", &["a", "b", "c"]).expect("rpush");
    let _: i64 = c.sadd("s", &["x", "y"]).expect("sadd");
    let _: i64 = c.zadd("z", "m", 1.5).expect("zadd");
    let _: bool = c.expire("k", 1000).expect("expire");
    let dir = m.stop();
    let m = restart(dir);
    let mut c = m.client();
    assert_eq!(c.get::<_, String>("k").expect("get"), "v");
    assert_eq!(c.get::<_, i64>("n").expect("get"), 5);
    assert_eq!(c.hget::<_, _, String>("h", "g").expect("hget"), "2");
    assert_eq!(
        c.lrange::<_, Vec<String>>("l", 0, -1).expect("lrange"),
        ["a", "b", "c"]
    );
    assert_eq!(
        c.smembers::<_, BTreeSet<String>>("s").expect("smembers"),
        BTreeSet::from(["x".into(), "y".into()])
    );
    assert_eq!(c.zscore::<_, _, f64>("z", "m").expect("zscore"), 1.5);
    let ttl: i64 = c.ttl("k").expect("ttl");
    assert!((990..=1000).contains(&ttl), "ttl {ttl}");
    let dbsize: i64 = redis::cmd("DBSIZE").query(&mut c).expect("dbsize");
    assert_eq!(dbsize, 6);
}

#[test]
fn pipelines_keep_order_across_reads_and_writes() {
    let m = InProc::start();
    let mut c = m.client();
    let mut p = redis::pipe();
    for i in 0..200 {
        p.cmd("SET").arg(format!("k{i}")).arg(i);
        p.cmd("GET").arg(format!("k{i}"));
        p.cmd("INCR").arg("counter");
    }
    let out: Vec<redis::Value> = p.query(&mut c).expect("pipeline");
    assert_eq!(out.len(), 600);
    for i in 0..200 {
        assert_eq!(
            out[i * 3 + 1],
            redis::Value::BulkString(i.to_string().into_bytes())
        );
        assert_eq!(out[i * 3 + 2], redis::Value::Int(i as i64 + 1));
    }
}

/// A write whose arguments do not parse is answered on its connection, in
/// its turn among pipelined writes: the writes before it are done first,
/// those after it still run, and nothing of it is written.
#[test]
fn a_write_that_does_not_parse_is_answered_in_its_turn() {
    let m = InProc::start();
    let mut s = raw_connection(&m);
    s.write_all(
        b"SET a 1\r\nSET b 2 EX x\r\nINCRBY a y\r\nINCR a\r\nSET c 3 NX XX\r\nMGET a b c\r\n",
    )
    .expect("send");
    let want = "+OK\r\n-ERR value is not an integer or out of range\r\n\
                -ERR value is not an integer or out of range\r\n:2\r\n-ERR syntax error\r\n\
                *3\r\n$1\r\n2\r\n$-1\r\n$-1\r\n";
    let mut got = Vec::new();
    let mut buf = [0u8; 256];
    while got.len() < want.len() {
        let n = std::io::Read::read(&mut s, &mut buf).expect("read");
        assert!(n > 0, "closed after {:?}", String::from_utf8_lossy(&got));
        got.extend_from_slice(&buf[..n]);
    }
    assert_eq!(String::from_utf8_lossy(&got), want);
}

/// Issue 12: a run of pipelined GETs is answered from one batched lookup;
/// each still sees the writes before it, misses, wrong types and expired
/// keys answer as single GETs do.
#[test]
fn a_run_of_pipelined_gets_answers_as_single_gets_do() {
    let m = InProc::start();
    let mut c = m.client();
    let _: () = c.set("gone", "x").expect("set");
    let _: () = redis::cmd("PEXPIRE")
        .arg(&["gone", "1"])
        .query(&mut c)
        .expect("pexpire");
    let _: () = c.hset("h", "f", "v").expect("hset");
    std::thread::sleep(Duration::from_millis(20));
    let mut raw = std::net::TcpStream::connect(m.addr).expect("connect");
    let mut req = String::new();
    for cmd in [
        vec!["SET", "a", "1"],
        vec!["GET", "a"],
        vec!["GET", "missing"],
        vec!["GET", "h"],
        vec!["GET", "gone"],
        vec!["SET", "a", "2"],
        vec!["GET", "a"],
        vec!["get", "a"],
    ] {
        req.push_str(&format!("*{}\r\n", cmd.len()));
        for a in cmd {
            req.push_str(&format!("${}\r\n{a}\r\n", a.len()));
        }
    }
    raw.write_all(req.as_bytes()).expect("send");
    let want = "+OK\r\n$1\r\n1\r\n$-1\r\n-WRONGTYPE Operation against a key holding the wrong kind of value\r\n$-1\r\n+OK\r\n$1\r\n2\r\n$1\r\n2\r\n";
    let mut got = vec![0u8; want.len()];
    raw.set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    raw.read_exact(&mut got).expect("replies");
    assert_eq!(String::from_utf8_lossy(&got), want);
}

#[test]
fn concurrent_incr_from_many_clients_counts_exactly() {
    let m = InProc::start();
    let threads: Vec<_> = (0..8)
        .map(|_| {
            let mut c = m.client();
            std::thread::spawn(move || {
                for _ in 0..250 {
                    let _: i64 = c.incr("shared", 1).expect("incr");
                }
            })
        })
        .collect();
    for t in threads {
        t.join().expect("client");
    }
    assert_eq!(m.client().get::<_, i64>("shared").expect("get"), 2000);
}

/// Pipelines of `depth` increments from 12 clients, 60 rounds each;
/// `incr(k)` names its target by `k` in 0..1024 (so that a target is
/// often read before the group that writes it, rather than skipped as
/// written by every group). Returns how many increments were sent and the
/// keys the write path took from pre-reads.
fn increments_from_many_clients(
    m: &InProc,
    incr: impl Fn(usize) -> redis::Cmd + Clone + Send + 'static,
) -> (i64, u64) {
    let (clients, rounds, depth, targets) = (12, 60, 16, 1024);
    let threads: Vec<_> = (0..clients)
        .map(|t| {
            let mut c = m.client();
            let incr = incr.clone();
            std::thread::spawn(move || {
                for round in 0..rounds {
                    let mut p = redis::pipe();
                    for i in 0..depth {
                        p.add_command(incr((t * 131 + round * 17 + i * 61) % targets))
                            .ignore();
                    }
                    p.query::<()>(&mut c).expect("pipeline");
                }
            })
        })
        .collect();
    for t in threads {
        t.join().expect("client");
    }
    let stats = info(&mut m.client(), "stats");
    let used: u64 = info_field(&stats, "write_pre_read_keys_used")
        .and_then(|v| v.parse().ok())
        .expect("write_pre_read_keys_used");
    ((clients * rounds * depth) as i64, used)
}

/// A write's connection task reads its keys' metadata before queueing it
/// (master/src/preread.rs); the write path must not use a read that a
/// group committed since has overtaken. Pipelined INCRs from many clients
/// over a thousand keys: every increment counts.
#[test]
fn pipelined_increments_over_shared_keys_from_many_clients_count_exactly() {
    let m = InProc::start();
    let (sent, used) = increments_from_many_clients(&m, |k| {
        let mut c = redis::cmd("INCR");
        c.arg(format!("k{k}"));
        c
    });
    let names: Vec<String> = (0..1024).map(|k| format!("k{k}")).collect();
    let counts: Vec<Option<i64>> = redis::cmd("MGET")
        .arg(&names)
        .query(&mut m.client())
        .expect("mget");
    assert_eq!(counts.into_iter().flatten().sum::<i64>(), sent);
    // And pre-reads were taken, so the count above tested them.
    assert!(used > 0);
}

/// Field writes pre-read their fields too, under the version of their
/// collection's metadata even when every group writes that metadata.
/// Pipelined HINCRBYs over the fields of four hashes, then ZINCRBYs over
/// the members of four sorted sets: every increment counts.
#[test]
fn pipelined_field_increments_over_shared_fields_from_many_clients_count_exactly() {
    let m = InProc::start();
    let (sent, used) = increments_from_many_clients(&m, |k| {
        let mut c = redis::cmd("HINCRBY");
        c.arg(format!("h{}", k % 4)).arg(format!("f{k}")).arg(1);
        c
    });
    let mut c = m.client();
    let mut total = 0;
    for h in 0..4 {
        let values: Vec<i64> = redis::cmd("HVALS")
            .arg(format!("h{h}"))
            .query(&mut c)
            .expect("hvals");
        total += values.iter().sum::<i64>();
    }
    assert_eq!(total, sent);
    // The four hashes are written by nearly every group: what was taken
    // is mostly fields.
    assert!(used > 0);
    let (sent, _) = increments_from_many_clients(&m, |k| {
        let mut c = redis::cmd("ZINCRBY");
        c.arg(format!("z{}", k % 4)).arg(1).arg(format!("m{k}"));
        c
    });
    let mut total = 0.0;
    for z in 0..4 {
        let scores: Vec<(String, f64)> = redis::cmd("ZRANGE")
            .arg(format!("z{z}"))
            .arg(0)
            .arg(-1)
            .arg("WITHSCORES")
            .query(&mut c)
            .expect("zrange");
        total += scores.iter().map(|(_, s)| s).sum::<f64>();
    }
    assert_eq!(total, sent as f64);
}

/// A FLUSHALL voids every pre-read made before it: a SET that read its key
/// as present before the flush would not count the key it creates after
/// it. SETs racing FLUSHALLs leave DBSIZE and INFO's count equal to the
/// keys there are.
#[test]
fn sets_racing_flushalls_leave_the_key_count_equal_to_the_keys() {
    let m = InProc::start();
    let mut c = m.client();
    // A miscount shows only when no later FLUSHALL resets the count: one
    // FLUSHALL per trial, amid the writes.
    for trial in 0..40 {
        let writers: Vec<_> = (0..6)
            .map(|t| {
                let mut w = m.client();
                std::thread::spawn(move || {
                    for round in 0..30 {
                        let mut p = redis::pipe();
                        for i in 0..16 {
                            let key = format!("k{}", (t * 7 + round + i) % 64);
                            p.cmd("SET").arg(key).arg(round).ignore();
                        }
                        p.query::<()>(&mut w).expect("pipeline");
                    }
                })
            })
            .collect();
        std::thread::sleep(std::time::Duration::from_micros(500 + 100 * trial));
        let _: () = redis::cmd("FLUSHALL").query(&mut c).expect("flushall");
        for t in writers {
            t.join().expect("writer");
        }
        let keys: Vec<String> = redis::cmd("KEYS").arg("*").query(&mut c).expect("keys");
        let dbsize: usize = redis::cmd("DBSIZE").query(&mut c).expect("dbsize");
        assert_eq!(dbsize, keys.len(), "trial {trial}");
        let keyspace = info(&mut c, "keyspace");
        let want = format!("db0:keys={},", keys.len());
        assert!(keys.is_empty() || keyspace.contains(&want), "{keyspace}");
    }
}

/// The expiry sweep drops index entries that their keys do not have,
/// instead of meeting them first on every tick: with more than one
/// sweep's worth of them (1 000), keys due behind them were never deleted.
/// Such entries need a state this node's own events did not make: here,
/// string writes whose recorded prior dropped the old expiry.
#[test]
fn expiry_index_entries_their_keys_lack_do_not_stall_the_sweep() {
    use rocksync_master::store::apply::apply_event;
    use rocksync_master::store::batch::Batch;
    use rocksync_master::store::{Store, StoreOptions};
    use rocksync_protocol::{Command, LogEvent, Prior};

    let m = InProc::start();
    let _: () = m.client().set("seed", "1").expect("set");
    let dir = m.stop();
    {
        let store = Store::open(
            &dir.path().join("data").join("db"),
            &StoreOptions::default(),
        )
        .expect("store");
        let mut b = Batch::new();
        for i in 0..1500u64 {
            let key = format!("ghost{i}");
            // Due long ago, then rewritten without expiry by an event
            // whose prior claims there was none: the entry stays.
            let due = LogEvent::data(0, Command::KSet, key.clone(), "v").with_ttl(1000 + i as i64);
            let lie = LogEvent::data(0, Command::KSet, key, "w")
                .with_prior(Prior::Present { expire_ms: 0 });
            apply_event(&store, &mut b, &due).expect("apply");
            apply_event(&store, &mut b, &lie).expect("apply");
        }
        let applied = store.applied_seq().expect("applied");
        store.write_batch(b, applied).expect("write");
        assert_eq!(store.counts().expect("counts"), (1501, 1500));
    }
    let m = restart(dir);
    let mut c = m.client();
    let _: () = c.pset_ex("gone", "v", 50).expect("psetex");
    wait_for_dbsize(&mut c, 1501, "the due key to be swept");
    // The ghosts stay (they have no expiry), and the count of keys with
    // one is right again.
    assert_eq!(c.get::<_, String>("ghost7").expect("get"), "w");
    let keyspace = info(&mut c, "keyspace");
    assert_eq!(
        info_field(&keyspace, "db0").as_deref(),
        Some("keys=1501,expires=0,avg_ttl=0")
    );
}

#[test]
fn keys_expire_lazily_and_by_the_sweep() {
    let m = InProc::start();
    let mut c = m.client();
    let _: () = redis::cmd("SET")
        .arg("gone")
        .arg("v")
        .arg("PX")
        .arg(50)
        .query(&mut c)
        .expect("set");
    let _: () = c.hset("h", "f", "v").expect("hset");
    let _: bool = c.pexpire("h", 50).expect("pexpire");
    std::thread::sleep(Duration::from_millis(80));
    // Lazily: reads answer nil at once.
    assert_eq!(c.get::<_, Option<String>>("gone").expect("get"), None);
    assert_eq!(
        c.hget::<_, _, Option<String>>("h", "f").expect("hget"),
        None
    );
    // By the sweep: the keys are deleted (DBSIZE drops) within bounded time.
    wait_for_dbsize(&mut c, 0, "expired keys to be swept");
    let stats = info(&mut c, "stats");
    assert_eq!(info_field(&stats, "expired_keys").as_deref(), Some("2"));
    // A write to an expired key starts from nothing.
    let _: () = redis::cmd("SET")
        .arg("n")
        .arg("41")
        .arg("PX")
        .arg(30)
        .query(&mut c)
        .expect("set");
    std::thread::sleep(Duration::from_millis(50));
    assert_eq!(c.incr::<_, _, i64>("n", 1).expect("incr"), 1);
}

#[test]
fn deleting_a_large_hash_is_one_metadata_write() {
    let m = InProc::start();
    let mut c = m.client();
    let mut p = redis::pipe();
    for i in 0..20_000 {
        p.cmd("HSET")
            .arg("big")
            .arg(format!("f{i}"))
            .arg(i)
            .ignore();
    }
    let _: () = p.query(&mut c).expect("fill");
    let before: String = info(&mut c, "stats");
    let events = |s: &str| {
        info_field(s, "write_events")
            .and_then(|v| v.parse::<u64>().ok())
            .expect("write_events")
    };
    let deleted: i64 = c.del("big").expect("del");
    assert_eq!(deleted, 1);
    let after = info(&mut c, "stats");
    assert_eq!(
        events(&after) - events(&before),
        1,
        "DEL of a hash logs one event"
    );
    assert_eq!(c.hlen::<_, i64>("big").expect("hlen"), 0);
    let _: () = c.hset("big", "new", "1").expect("hset");
    assert_eq!(
        c.hgetall::<_, Vec<String>>("big").expect("hgetall"),
        ["new", "1"]
    );
}

#[test]
fn scan_visits_every_key_once() {
    let m = InProc::start();
    let mut c = m.client();
    let mut p = redis::pipe();
    for i in 0..1000 {
        p.cmd("SET").arg(format!("key:{i}")).arg(i).ignore();
    }
    let _: () = p.query(&mut c).expect("fill");
    let mut seen = BTreeSet::new();
    let mut cursor = "0".to_owned();
    for _ in 0..1000 {
        let (next, keys): (String, Vec<String>) = redis::cmd("SCAN")
            .arg(&cursor)
            .arg("COUNT")
            .arg(37)
            .query(&mut c)
            .expect("scan");
        for k in keys {
            assert!(seen.insert(k), "a key was returned twice");
        }
        cursor = next;
        if cursor == "0" {
            break;
        }
    }
    assert_eq!(seen.len(), 1000);
    let matched: Vec<String> = c.keys("key:99*").expect("keys");
    assert_eq!(matched.len(), 11);
    let e = redis::cmd("SCAN")
        .arg("12345678")
        .query::<redis::Value>(&mut c)
        .err()
        .map(|e| e.to_string());
    assert!(
        e.as_deref().is_some_and(|e| e.contains("invalid cursor")),
        "{e:?}"
    );
}

#[test]
fn auth_is_required_when_a_password_is_set() {
    let m = InProc::start_with(|c| c.requirepass = "secret".into());
    let url = format!("redis://{}/", m.addr);
    let mut c = redis::Client::open(url)
        .expect("client")
        .get_connection()
        .expect("connect");
    let e = c.get::<_, Option<String>>("k").err().map(|e| e.to_string());
    assert!(
        e.as_deref()
            .is_some_and(|e| e.contains("Authentication required")),
        "{e:?}"
    );
    let e = redis::cmd("AUTH")
        .arg("wrong")
        .query::<()>(&mut c)
        .err()
        .map(|e| e.to_string());
    assert!(
        e.as_deref().is_some_and(|e| e.contains("WRONGPASS")),
        "{e:?}"
    );
    let _: () = redis::cmd("AUTH")
        .arg("secret")
        .query(&mut c)
        .expect("auth");
    let _: () = c.set("k", "v").expect("set");
    let url = format!("redis://:secret@{}/", m.addr);
    let mut c2 = redis::Client::open(url)
        .expect("client")
        .get_connection()
        .expect("connect with password");
    assert_eq!(c2.get::<_, String>("k").expect("get"), "v");
}

#[test]
fn maxclients_refuses_the_extra_connection_with_redis_error() {
    let m = InProc::start_with(|c| c.maxclients = 2);
    let _a = m.client();
    let _b = m.client();
    let mut s = raw_connection(&m);
    let _ = s.write_all(b"PING\r\n");
    let mut got = String::new();
    let _ = s.read_to_string(&mut got);
    assert_eq!(got, "-ERR max number of clients reached\r\n");
}

#[test]
fn protocol_errors_answer_then_close() {
    let m = InProc::start();
    let mut s = raw_connection(&m);
    s.write_all(b"PING\r\n*1\r\n$-5\r\n").expect("send");
    let mut got = String::new();
    s.read_to_string(&mut got).expect("read until close");
    assert_eq!(got, "+PONG\r\n-ERR Protocol error: invalid bulk length\r\n");
    // The server is fine afterwards.
    assert_eq!(
        redis::cmd("PING")
            .query::<String>(&mut m.client())
            .expect("ping"),
        "PONG"
    );
}

#[test]
fn info_reports_every_section_in_redis_format() {
    let m = InProc::start();
    let mut c = m.client();
    let _: () = c.set("a", 1).expect("set");
    let _: bool = c.expire("a", 100).expect("expire");
    let all: String = redis::cmd("INFO").query(&mut c).expect("info");
    for header in [
        "# Server",
        "# Clients",
        "# Memory",
        "# Persistence",
        "# Stats",
        "# Replication",
        "# Keyspace",
    ] {
        assert!(all.contains(header), "missing {header}");
    }
    assert_eq!(info_field(&all, "role").as_deref(), Some("master"));
    assert_eq!(
        info_field(&all, "db0").as_deref(),
        Some("keys=1,expires=1,avg_ttl=0")
    );
    assert_eq!(
        info_field(&all, "binlog_fsync").as_deref(),
        Some("everysec")
    );
    assert_eq!(info_field(&all, "binlog_last_seq").as_deref(), Some("2"));
    assert!(info_field(&all, "used_memory")
        .and_then(|v| v.parse::<u64>().ok())
        .is_some());
    let rss = info_field(&all, "used_memory_rss").and_then(|v| v.parse::<u64>().ok());
    assert!(rss.is_some_and(|r| r > 1 << 20), "{rss:?}");
    assert_eq!(
        info_field(&all, "rocksdb_block_cache_capacity").as_deref(),
        Some("268435456"),
        "the default block cache is 256 MiB"
    );
    let small = InProc::start_with(|c| c.block_cache_mb = 8);
    let small_info: String = redis::cmd("INFO")
        .arg("memory")
        .query(&mut small.client())
        .expect("info");
    assert_eq!(
        info_field(&small_info, "rocksdb_block_cache_capacity").as_deref(),
        Some("8388608"),
        "block_cache_mb sizes the cache"
    );
    let only: String = info(&mut c, "keyspace");
    assert!(only.starts_with("# Keyspace") && !only.contains("# Server"));
    let cfg: Vec<String> = redis::cmd("CONFIG")
        .arg("GET")
        .arg("maxclients")
        .query(&mut c)
        .expect("config get");
    assert_eq!(cfg, ["maxclients", "10000"]);
    let _: () = redis::cmd("CONFIG")
        .arg("SET")
        .arg("maxclients")
        .arg("5")
        .query(&mut c)
        .expect("config set");
    let cfg: Vec<String> = redis::cmd("CONFIG")
        .arg("GET")
        .arg("maxclients")
        .query(&mut c)
        .expect("config get");
    assert_eq!(cfg, ["maxclients", "5"]);
    let e = redis::cmd("CONFIG")
        .arg("SET")
        .arg("port")
        .arg("1")
        .query::<()>(&mut c)
        .err();
    assert!(e.is_some());
}

#[test]
fn hello_2_and_command_work_for_client_libraries() {
    let m = InProc::start();
    let mut c = m.client();
    let hello: Vec<redis::Value> = redis::cmd("HELLO").arg(2).query(&mut c).expect("hello");
    assert_eq!(hello[0], redis::Value::BulkString(b"server".to_vec()));
    let e = redis::cmd("HELLO")
        .arg(3)
        .query::<redis::Value>(&mut c)
        .err()
        .map(|e| e.to_string());
    assert!(e.as_deref().is_some_and(|e| e.contains("NOPROTO")), "{e:?}");
    let n: i64 = redis::cmd("COMMAND")
        .arg("COUNT")
        .query(&mut c)
        .expect("command count");
    assert!(n > 90);
    let list: Vec<redis::Value> = redis::cmd("COMMAND").query(&mut c).expect("command");
    assert_eq!(list.len() as i64, n);
}

/// The garbage sweep reads every member in the store, so it runs only
/// when a write has left members stale: live collections alone are not
/// read through again after each 10 s rest (with data larger than memory
/// that would be disk reads, forever), nor after a set emptied member by
/// member. A DEL of a hash, and a SET over one, each start a pass.
#[test]
fn the_garbage_sweep_runs_only_after_writes_that_leave_members_stale() {
    let m = InProc::start();
    let mut c = m.client();
    let passes = |c: &mut redis::Connection| -> u64 {
        info_field(&info(c, "stats"), "gc_passes")
            .and_then(|v| v.trim().parse().ok())
            .expect("gc_passes in INFO stats")
    };
    let wait_for_pass = |c: &mut redis::Connection, after: u64, what: &str| {
        let deadline = Instant::now() + Duration::from_secs(30);
        while passes(c) <= after {
            assert!(Instant::now() < deadline, "no sweep pass after {what}");
            std::thread::sleep(Duration::from_millis(50));
        }
    };
    // The pass every node makes when it starts.
    wait_for_pass(&mut c, 0, "the start");
    let mut p = redis::pipe();
    for i in 0..2000 {
        p.cmd("HSET").arg("h").arg(format!("f{i}")).arg(i).ignore();
        p.cmd("HSET").arg("g").arg(format!("f{i}")).arg(i).ignore();
    }
    let _: () = p.query(&mut c).expect("fill");
    // Emptied member by member: its members went with it, nothing stale.
    let _: i64 = c.sadd("e", &["a", "b"]).expect("sadd");
    let _: i64 = c.srem("e", &["a", "b"]).expect("srem");
    let idle = passes(&mut c);
    // Longer than a pass of 4 000 members and the 10 s rest after it.
    std::thread::sleep(Duration::from_secs(13));
    assert_eq!(passes(&mut c), idle, "a pass over live collections only");
    let _: i64 = c.del("h").expect("del");
    wait_for_pass(&mut c, idle, "DEL of a hash");
    let after_del = passes(&mut c);
    let _: () = c.set("g", "now a string").expect("set");
    wait_for_pass(&mut c, after_del, "SET over a hash");
}

/// Deleting or overwriting a collection is one metadata write; the
/// background sweep then removes its old members from disk, and never a
/// live one.
#[test]
fn stale_members_of_deleted_collections_are_swept_and_live_ones_kept() {
    let m = InProc::start();
    let mut c = m.client();
    let mut p = redis::pipe();
    for i in 0..3000 {
        p.cmd("HSET")
            .arg("doomed")
            .arg(format!("f{i}"))
            .arg(i)
            .ignore();
        p.cmd("ZADD")
            .arg("zdoomed")
            .arg(i)
            .arg(format!("m{i}"))
            .ignore();
        p.cmd("SADD").arg("kept").arg(format!("m{i}")).ignore();
    }
    let _: () = p.query(&mut c).expect("fill");
    let _: i64 = c.del(&["doomed", "zdoomed"]).expect("del");
    // Recreated under the same name: a new version, members kept.
    let _: i64 = c.hset("doomed", "new", "1").expect("hset");
    let data = m.dir.path().join("data").join("db");
    let dir = m.stop();
    let store = rocksync_master::store::Store::open(&data, &Default::default()).expect("open");
    let count = |cf| {
        let mut n = 0;
        store
            .scan(cf, &[], &[], |_, _| {
                n += 1;
                true
            })
            .expect("scan");
        n
    };
    use rocksync_master::{gc, store::Cf};
    // The master's own sweep may have started; none of it went live.
    let before = count(Cf::Sub) + count(Cf::ZScore);
    assert!(count(Cf::Sub) >= 3001);
    let mut cursor = gc::GcCursor::default();
    let mut removed = 0;
    // Two full passes over both column families.
    for _ in 0..40 {
        let (n, next) = gc::sweep(&store, &cursor, 1000).expect("sweep");
        removed += n;
        cursor = next;
    }
    assert_eq!(count(Cf::Sub), 3000 + 1);
    assert_eq!(removed, before - 3001, "every stale entry, nothing else");
    assert_eq!(count(Cf::ZScore), 0);
    drop(store);
    let m = restart(dir);
    let mut c = m.client();
    assert_eq!(c.scard::<_, i64>("kept").expect("scard"), 3000);
    assert_eq!(
        c.hgetall::<_, Vec<String>>("doomed").expect("hgetall"),
        ["new", "1"]
    );
}

/// Issue 11: two clients race an optimistic increment (WATCH, GET, MULTI,
/// SET, EXEC) 10 000 times in all; every successful EXEC counts once, so
/// the final value is the number of successes (a lost update would leave
/// it lower).
#[test]
fn watch_makes_optimistic_increments_exact() {
    let m = InProc::start();
    let _: () = m.client().set("counter", 0).expect("set");
    let racers: Vec<_> = (0..2)
        .map(|_| {
            let mut c = m.client();
            std::thread::spawn(move || {
                let mut won = 0u64;
                for _ in 0..5000 {
                    let _: () = redis::cmd("WATCH")
                        .arg("counter")
                        .query(&mut c)
                        .expect("watch");
                    let v: u64 = c.get("counter").expect("get");
                    let r: Option<(String,)> = redis::pipe()
                        .atomic()
                        .set("counter", v + 1)
                        .query(&mut c)
                        .expect("exec");
                    won += u64::from(r.is_some());
                }
                won
            })
        })
        .collect();
    let won: u64 = racers.into_iter().map(|t| t.join().expect("racer")).sum();
    let last: u64 = m.client().get("counter").expect("get");
    assert!(won > 0);
    assert_eq!(last, won, "every successful EXEC counted once");
}

/// Log commands from `micros` on, with an empty log.
fn slowlog_from(c: &mut redis::Connection, micros: &str) {
    let _: () = redis::cmd("CONFIG")
        .arg(&["SET", "slowlog-log-slower-than", micros])
        .query(c)
        .expect("config set");
    let _: () = redis::cmd("SLOWLOG").arg("RESET").query(c).expect("reset");
}

/// SLOWLOG GET -1: (id, unix time, microseconds, arguments) per entry.
fn slowlog(c: &mut redis::Connection) -> Vec<(i64, i64, i64, Vec<String>)> {
    let entries: Vec<Vec<redis::Value>> = redis::cmd("SLOWLOG")
        .arg(&["GET", "-1"])
        .query(c)
        .expect("slowlog");
    entries
        .into_iter()
        .map(|e| {
            let int = |v: &redis::Value| redis::from_redis_value::<i64>(v).expect("integer");
            let args: Vec<String> = redis::from_redis_value(&e[3]).expect("arguments");
            (int(&e[0]), int(&e[1]), int(&e[2]), args)
        })
        .collect()
}

/// Issue 11, the server commands people type: COMMAND INFO / DOCS / LIST
/// for every command of the table, SLOWLOG (writes timed on the write
/// path, reads on the connection), MEMORY USAGE growing with the value,
/// DEBUG SLEEP, and SHUTDOWN stopping the node cleanly with its data.
#[test]
fn server_commands_answer_for_every_command_and_shutdown_stops_cleanly() {
    let m = InProc::start();
    let mut c = m.client();
    let names: Vec<String> = redis::cmd("COMMAND")
        .arg("LIST")
        .query(&mut c)
        .expect("list");
    let n: usize = redis::cmd("COMMAND")
        .arg("COUNT")
        .query(&mut c)
        .expect("count");
    // LIST names subcommands too (`config|get`), as Redis 7's does; COUNT
    // counts commands.
    assert_eq!(names.iter().filter(|x| !x.contains('|')).count(), n);
    for name in [
        "blpop",
        "zrangestore",
        "bitfield",
        "sort",
        "watch",
        "shutdown",
    ] {
        assert!(names.iter().any(|x| x == name), "{name} missing");
    }
    let docs: Vec<redis::Value> = redis::cmd("COMMAND")
        .arg("DOCS")
        .query(&mut c)
        .expect("docs");
    assert_eq!(docs.len(), 2 * n, "a name and a doc per command");
    let info: Vec<Vec<redis::Value>> = redis::cmd("COMMAND")
        .arg("INFO")
        .arg(&names)
        .query(&mut c)
        .expect("info");
    assert_eq!(info.len(), names.len());
    assert!(info.iter().all(|i| i.len() == 10), "Redis 7's ten fields");

    slowlog_from(&mut c, "0");
    let _: () = c.set("slow-w", "v").expect("set");
    let _: Option<String> = c.get("slow-r").expect("get");
    let log = slowlog(&mut c);
    let logged: Vec<Vec<String>> = log.iter().map(|e| e.3.clone()).collect();
    assert!(
        logged.contains(&vec!["SET".into(), "slow-w".into(), "v".into()]),
        "{logged:?}"
    );
    assert!(
        logged.contains(&vec!["GET".into(), "slow-r".into()]),
        "{logged:?}"
    );
    assert!(log.windows(2).all(|w| w[0].0 > w[1].0), "newest first");
    slowlog_from(&mut c, "40000");
    let _: () = redis::cmd("DEBUG")
        .arg(&["SLEEP", "0.05"])
        .query(&mut c)
        .expect("sleep");
    let _: () = c.set("fast", "v").expect("set");
    let log = slowlog(&mut c);
    assert_eq!(log.len(), 1, "only the sleep is slow: {log:?}");
    assert!(log[0].2 >= 40_000 && log[0].3[0] == "DEBUG", "{log:?}");

    let _: () = c.hset("mem", "f0", "v").expect("hset");
    let small: i64 = redis::cmd("MEMORY")
        .arg(&["USAGE", "mem"])
        .query(&mut c)
        .expect("usage");
    for i in 1..100 {
        let _: () = c.hset("mem", format!("f{i}"), "value").expect("hset");
    }
    let big: i64 = redis::cmd("MEMORY")
        .arg(&["USAGE", "mem"])
        .query(&mut c)
        .expect("usage");
    assert!(big > small * 20, "{small} then {big}");
    let none: Option<i64> = redis::cmd("MEMORY")
        .arg(&["USAGE", "nokey"])
        .query(&mut c)
        .expect("usage");
    assert_eq!(none, None);

    let e = redis::cmd("DEBUG")
        .arg(&["SLEEP", "1e20"])
        .query::<()>(&mut c)
        .expect_err("too long a sleep");
    assert!(e.to_string().contains("not a valid float"), "{e}");
    let e = redis::cmd("HRANDFIELD")
        .arg(&["mem", "-1000000000000"])
        .query::<()>(&mut c)
        .expect_err("too many repeated picks");
    assert!(e.to_string().contains("out of range"), "{e}");

    let _: () = c.set("kept", "yes").expect("set");
    // SHUTDOWN answers nothing: the connection closes and the node stops.
    assert!(redis::cmd("SHUTDOWN").query::<()>(&mut c).is_err());
    let addr = m.addr;
    let deadline = Instant::now() + Duration::from_secs(30);
    while std::net::TcpStream::connect(addr).is_ok() {
        assert!(Instant::now() < deadline, "still listening after SHUTDOWN");
        std::thread::sleep(Duration::from_millis(20));
    }
    let m = restart(m.stop());
    let kept: String = m.client().get("kept").expect("get");
    assert_eq!(kept, "yes");
}

/// Consumers with timeouts of a millisecond race producers: a consumer
/// that times out just as it is served still gets the element (the serve
/// claims its wait first), so every element pushed is popped once or
/// still in the list, never lost.
/// A command a client sends while its previous one is blocked (pipelined
/// behind a BLPOP) runs once the BLPOP answers, with nothing more sent.
/// It was read ahead during the wait and then left in the buffer until
/// the client sent something else, which a client waiting for its
/// replies never does.
#[test]
fn a_command_sent_during_a_blocked_wait_runs_after_it() {
    let m = InProc::start();
    let mut raw = raw_connection(&m);
    raw.write_all(b"*3\r\n$5\r\nBLPOP\r\n$1\r\nq\r\n$3\r\n0.3\r\n")
        .expect("blpop");
    std::thread::sleep(Duration::from_millis(100));
    raw.write_all(b"*1\r\n$4\r\nPING\r\n").expect("ping");
    let want = b"*-1\r\n+PONG\r\n";
    let mut got = Vec::new();
    let mut chunk = [0u8; 64];
    while got.len() < want.len() {
        match raw.read(&mut chunk) {
            Ok(0) | Err(_) => break,
            Ok(n) => got.extend_from_slice(&chunk[..n]),
        }
    }
    assert_eq!(String::from_utf8_lossy(&got), String::from_utf8_lossy(want));
}

/// BZPOPMIN, BZPOPMAX and BZMPOP waiting on empty keys are served when
/// a later ZADD feeds one of them (the write path parses the command
/// again, narrowed to that key).
#[test]
fn blocked_sorted_set_pops_are_served_when_a_key_gets_members() {
    let m = InProc::start();
    let mut c = m.client();
    let mut b = m.client();
    let min = std::thread::spawn(move || {
        let r: Option<(String, String, String)> = redis::cmd("BZPOPMIN")
            .arg(&["bq0", "bq1", "5"])
            .query(&mut b)
            .expect("bzpopmin");
        (r, b)
    });
    std::thread::sleep(Duration::from_millis(200));
    let _: i64 = c.zadd_multiple("bq1", &[(2, "b"), (1, "a")]).expect("zadd");
    let (got, mut b) = min.join().expect("bzpopmin");
    assert_eq!(got, Some(("bq1".into(), "a".into(), "1".into())));
    let max = std::thread::spawn(move || {
        let r: Option<(String, String, String)> = redis::cmd("BZPOPMAX")
            .arg(&["bq2", "5"])
            .query(&mut b)
            .expect("bzpopmax");
        (r, b)
    });
    std::thread::sleep(Duration::from_millis(200));
    let _: i64 = c.zadd_multiple("bq2", &[(2, "b"), (1, "a")]).expect("zadd");
    let (got, mut b) = max.join().expect("bzpopmax");
    assert_eq!(got, Some(("bq2".into(), "b".into(), "2".into())));
    let mpop = std::thread::spawn(move || {
        let r: Option<(String, Vec<(String, String)>)> = redis::cmd("BZMPOP")
            .arg(&["5", "2", "bq3", "bq4", "MAX", "COUNT", "2"])
            .query(&mut b)
            .expect("bzmpop");
        r
    });
    std::thread::sleep(Duration::from_millis(200));
    let _: i64 = c
        .zadd_multiple("bq4", &[(1, "a"), (2, "b"), (3, "c")])
        .expect("zadd");
    let got = mpop.join().expect("bzmpop");
    let want = vec![("c".into(), "3".into()), ("b".into(), "2".into())];
    assert_eq!(got, Some(("bq4".into(), want)));
    let left: Vec<String> = c.zrange("bq4", 0, -1).expect("zrange");
    assert_eq!(left, ["a"]);
}

#[test]
fn blocked_consumers_timing_out_while_served_lose_nothing() {
    let m = InProc::start();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let consumers: Vec<_> = (0..4)
        .map(|_| {
            let (mut c, stop) = (m.client(), std::sync::Arc::clone(&stop));
            std::thread::spawn(move || {
                let mut got = Vec::new();
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    let r: Option<(String, String)> = redis::cmd("BLPOP")
                        .arg(&["race", "0.001"])
                        .query(&mut c)
                        .expect("blpop");
                    got.extend(r.map(|(_, v)| v));
                }
                got
            })
        })
        .collect();
    let mut c = m.client();
    for i in 0..3000 {
        let _: i64 = c.rpush("race", i).expect("rpush");
    }
    std::thread::sleep(Duration::from_millis(200));
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let mut seen: Vec<String> = consumers
        .into_iter()
        .flat_map(|t| t.join().expect("consumer"))
        .collect();
    let left: Vec<String> = c.lrange("race", 0, -1).expect("lrange");
    seen.extend(left);
    seen.sort_by_key(|v| v.parse::<u32>().expect("number"));
    let want: Vec<String> = (0..3000).map(|i: u32| i.to_string()).collect();
    assert_eq!(seen, want, "every element popped once or still there");
}

/// Issue 12: SPOP and SRANDMEMBER draw positions and read only up to the
/// last one drawn. What they return must still be distinct members that
/// SPOP removes, spread over the set, with the whole-set draw (a count
/// over half the set) agreeing.
#[test]
fn spop_and_srandmember_draw_distinct_members_without_reading_the_whole_set() {
    let m = InProc::start();
    let mut c = m.client();
    let all: BTreeSet<String> = (0..100).map(|i| format!("m{i:03}")).collect();
    let added: usize = c.sadd("s", all.iter().collect::<Vec<_>>()).expect("sadd");
    assert_eq!(added, 100);
    let mut seen = BTreeSet::new();
    for _ in 0..200 {
        let one: String = c.srandmember("s").expect("srandmember");
        assert!(all.contains(&one), "{one} is not a member");
        seen.insert(one);
    }
    assert!(seen.len() > 20, "200 draws saw only {} members", seen.len());
    for n in [3usize, 40, 80] {
        let some: Vec<String> = redis::cmd("SRANDMEMBER")
            .arg("s")
            .arg(n)
            .query(&mut c)
            .expect("srandmember n");
        let distinct: BTreeSet<&String> = some.iter().collect();
        assert_eq!((some.len(), distinct.len()), (n, n), "{n} distinct members");
        assert!(some.iter().all(|m| all.contains(m)));
    }
    let mut popped = BTreeSet::new();
    for _ in 0..10 {
        let one: String = c.spop("s").expect("spop");
        assert!(popped.insert(one), "SPOP returned a member twice");
    }
    let five: Vec<String> = redis::cmd("SPOP")
        .arg("s")
        .arg(5)
        .query(&mut c)
        .expect("spop 5");
    assert_eq!(five.len(), 5);
    // Over half of what is left: the whole-set draw.
    let many: Vec<String> = redis::cmd("SPOP")
        .arg("s")
        .arg(60)
        .query(&mut c)
        .expect("spop 60");
    assert_eq!(many.len(), 60);
    for p in five.into_iter().chain(many) {
        assert!(popped.insert(p), "SPOP returned a member twice");
    }
    let left: BTreeSet<String> = c.smembers("s").expect("smembers");
    assert_eq!(left.len(), 25);
    assert!(popped.is_subset(&all) && left.is_disjoint(&popped));
    assert_eq!(
        left.union(&popped).cloned().collect::<BTreeSet<_>>(),
        all,
        "members lost or invented"
    );
    let scard: usize = c.scard("s").expect("scard");
    assert_eq!(scard, 25);
}
