//! Debian's redis-cli and redis-benchmark against the real binary.

mod common;

use std::process::Command;

use common::Node;

fn tool(name: &str) -> Command {
    assert!(
        Command::new("which")
            .arg(name)
            .output()
            .is_ok_and(|o| o.status.success()),
        "{name} is not installed (apt-get install redis-tools)"
    );
    Command::new(name)
}

#[test]
fn redis_cli_talks_to_the_master() {
    let dir = tempfile::tempdir().expect("tmp");
    let m = Node::master(&dir.path().join("data"), 0, &[]);
    let port = m.addr.port().to_string();
    let run = |args: &[&str]| {
        let out = tool("redis-cli")
            .args(["-p", &port])
            .args(args)
            .output()
            .expect("redis-cli");
        assert!(out.status.success());
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    };
    assert_eq!(run(&["PING"]), "PONG");
    assert_eq!(run(&["SET", "greeting", "hello world"]), "OK");
    assert_eq!(run(&["GET", "greeting"]), "hello world");
    assert_eq!(run(&["RPUSH", "l", "a", "b"]), "2");
    assert_eq!(run(&["LRANGE", "l", "0", "-1"]), "a\nb");
    assert!(run(&["INFO", "replication"]).contains("role:master"));
    assert_eq!(
        run(&["WRONGTYPECHECK"])
            .lines()
            .next()
            .map(|l| l.starts_with("ERR unknown command")),
        Some(true)
    );
}

#[test]
fn redis_benchmark_runs_clean() {
    let dir = tempfile::tempdir().expect("tmp");
    let m = Node::master(&dir.path().join("data"), 0, &[]);
    let port = m.addr.port().to_string();
    let out = tool("redis-benchmark")
        .args([
            "-p",
            &port,
            "-t",
            "set,get,incr,lpush,hset,zadd",
            "-n",
            "2000",
            "-c",
            "10",
            "-q",
        ])
        .output()
        .expect("redis-benchmark");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    for t in ["SET", "GET", "INCR", "LPUSH", "HSET", "ZADD"] {
        let done = text
            .split(['\n', '\r'])
            .any(|l| l.trim().starts_with(&format!("{t}: ")) && l.contains("requests per second"));
        assert!(done, "{t} missing in:\n{text}");
    }
    assert!(!text.to_lowercase().contains("error"), "{text}");
    // The data is really there.
    let mut c = m.client();
    let n: i64 = redis::cmd("DBSIZE").query(&mut c).expect("dbsize");
    assert!(n >= 5, "dbsize {n}");
}

/// maxclients against the open-file limit (issue 26), under `ulimit -n
/// 2000`: an explicit maxclients that cannot fit stops the start, naming
/// both numbers; the default is lowered to what fits, as Redis lowers it.
#[test]
fn maxclients_must_fit_the_open_file_limit() {
    let dir = tempfile::tempdir().expect("tmp");
    let bin = rocksync_testkit::bin_dir().join("rocksync-master");
    let under_limit = |args: &str| {
        let mut c = Command::new("sh");
        c.arg("-c").arg(format!(
            "ulimit -n 2000 && exec {} --data-dir {} {args}",
            bin.display(),
            dir.path().join("data").display()
        ));
        c
    };
    let out = under_limit("--port 0 --maxclients 5000")
        .output()
        .expect("run");
    assert!(!out.status.success(), "started with maxclients 5000");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("maxclients 5000") && err.contains("2000"),
        "{err}"
    );

    let port = rocksync_testkit::free_port();
    let _node = rocksync_testkit::Proc::listening(
        &mut under_limit(&format!("--port {port}")),
        port,
        std::time::Duration::from_secs(60),
    )
    .expect("the default starts");
    let got: Vec<String> = redis::cmd("CONFIG")
        .arg("GET")
        .arg("maxclients")
        .query(&mut rocksync_testkit::client(port))
        .expect("config get");
    assert_eq!(got[1], (2000 - 1056).to_string());
}

/// `redis-cli --rdb FILE` against a master: the RDB it writes is loaded
/// by a real redis-server, with the master's digest (a stream with its
/// consumer group, pending entries and consumers included: XINFO STREAM
/// FULL) and its function library; `--functions-rdb` writes the
/// library alone.
#[test]
fn redis_cli_rdb_makes_a_dump_redis_server_loads() {
    let dir = tempfile::tempdir().expect("tmp");
    let m = Node::master(&dir.path().join("data"), 0, &[]);
    common::load(&m, "k", 2_000, 50);
    let mut c = m.client();
    let long = "q".repeat(30_000);
    let _: () = redis::cmd("SET")
        .arg("long")
        .arg(&long)
        .query(&mut c)
        .expect("set");
    let _: () = redis::cmd("SET")
        .arg("ttl")
        .arg("v")
        .arg("EX")
        .arg(1000)
        .query(&mut c)
        .expect("set");
    let lib = "#!lua name=exported\nredis.register_function('hello', function() return 'hi' end)";
    common::function_load(&mut c, lib);
    common::stream_with_group(&mut c, "st", 300);
    let want = common::digest(&m);
    let rdb_dir = tempfile::tempdir().expect("tmp");
    let port = m.addr.port().to_string();
    // redis-cli writes `name` with `flag`; a redis-server started on it
    // (a later --dir wins over the test kit's own) runs the function.
    let at = rdb_dir.path().to_string_lossy().into_owned();
    let load = |flag: &str, name: &str| {
        let out = tool("redis-cli")
            .args(["-p", &port, flag])
            .arg(rdb_dir.path().join(name))
            .output()
            .expect("redis-cli");
        assert!(
            out.status.success(),
            "{flag}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let loaded = common::Redis::start(&["--dir", &at, "--dbfilename", name]);
        let hi: String = redis::cmd("FCALL")
            .arg("hello")
            .arg(0)
            .query(&mut loaded.client())
            .expect("fcall");
        assert_eq!(hi, "hi", "{flag}");
        loaded
    };
    let loaded = load("--rdb", "dump.rdb");
    let got = common::digest_of("redis-server", || loaded.client());
    assert_eq!(got.len(), want.len());
    assert_eq!(got, want);
    // `--functions-rdb`: the libraries only, no key.
    let loaded = load("--functions-rdb", "functions.rdb");
    let keys: i64 = redis::cmd("DBSIZE")
        .query(&mut loaded.client())
        .expect("dbsize");
    assert_eq!(keys, 0, "keys in a functions-only RDB");
}

/// A redis-server made a replica of rocksync (`--replicaof`) would load
/// an RDB, lose the connection, and load it again, never getting a
/// write: it is refused, and its log says why and what to do instead. A
/// tool that asks PSYNC for the RDB only (`REPLCONF rdb-only 1`) gets
/// `+FULLRESYNC` and the RDB.
#[test]
fn a_redis_server_replica_is_refused_and_a_psync_tool_gets_the_rdb() {
    use std::io::{Read, Write};
    let dir = tempfile::tempdir().expect("tmp");
    let m = Node::master(&dir.path().join("data"), 0, &[]);
    let mut c = m.client();
    let _: () = redis::cmd("SET")
        .arg("k")
        .arg("v")
        .query(&mut c)
        .expect("set");
    let log = dir.path().join("replica.log");
    let port = m.addr.port().to_string();
    let logfile = log.to_string_lossy().into_owned();
    let replica = common::Redis::start(&["--replicaof", "127.0.0.1", &port, "--logfile", &logfile]);
    common::wait_until(
        "the replica to log why it was refused",
        std::time::Duration::from_secs(30),
        || {
            std::fs::read_to_string(&log)
                .is_ok_and(|t| t.contains("does not stream its writes to a Redis replica"))
        },
    );
    let mut r = replica.client();
    let held: i64 = redis::cmd("DBSIZE").query(&mut r).expect("dbsize");
    assert_eq!(
        held, 0,
        "the replica loaded a snapshot it would never update"
    );

    let mut s = std::net::TcpStream::connect(m.addr).expect("connect");
    s.set_read_timeout(Some(std::time::Duration::from_secs(10)))
        .expect("timeout");
    s.write_all(b"*3\r\n$8\r\nREPLCONF\r\n$8\r\nrdb-only\r\n$1\r\n1\r\n*3\r\n$5\r\nPSYNC\r\n$1\r\n?\r\n$2\r\n-1\r\n")
        .expect("send");
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    while let Ok(n) = s.read(&mut buf) {
        if n == 0 {
            break;
        }
        got.extend_from_slice(&buf[..n]);
    }
    let text = String::from_utf8_lossy(&got);
    assert!(text.starts_with("+OK\r\n+FULLRESYNC "), "{text}");
    assert!(text.contains("\r\n$EOF:"), "{text}");
    assert!(got.windows(5).any(|w| w == b"REDIS"), "no RDB in {text}");
}
