//! Admin and client-facing commands: AUTH, maxclients, protocol errors,
//! INFO, HELLO, WATCH, SLOWLOG, server commands and shutdown.

use super::*;

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
        "# CPU",
        "# Modules",
        "# Cluster",
        "# Keyspace",
    ] {
        assert!(all.contains(header), "missing {header}");
    }
    // Redis's CPU fields, in seconds; a section asked alone comes alone.
    let cpu: String = redis::cmd("INFO").arg("cpu").query(&mut c).expect("info");
    assert_eq!(
        cpu.lines().filter(|l| l.starts_with('#')).count(),
        1,
        "{cpu}"
    );
    for field in [
        "used_cpu_sys",
        "used_cpu_user",
        "used_cpu_sys_children",
        "used_cpu_user_children",
        "used_cpu_sys_main_thread",
        "used_cpu_user_main_thread",
    ] {
        let v = info_field(&cpu, field).and_then(|v| v.parse::<f64>().ok());
        assert!(v.is_some_and(|v| v >= 0.0), "{field}: {v:?}");
    }
    let user = info_field(&cpu, "used_cpu_user").and_then(|v| v.parse::<f64>().ok());
    let sys = info_field(&cpu, "used_cpu_sys").and_then(|v| v.parse::<f64>().ok());
    assert!(
        user.unwrap_or(0.0) + sys.unwrap_or(0.0) > 0.0,
        "a running node has used some CPU: {cpu}"
    );
    assert_eq!(info_field(&all, "cluster_enabled").as_deref(), Some("0"));
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
fn hello_and_command_work_for_client_libraries() {
    let m = InProc::start();
    let mut c = m.client();
    let hello: Vec<redis::Value> = redis::cmd("HELLO").arg(2).query(&mut c).expect("hello");
    assert_eq!(hello[0], redis::Value::BulkString(b"server".to_vec()));
    let e = redis::cmd("HELLO")
        .arg(4)
        .query::<redis::Value>(&mut c)
        .err()
        .map(|e| e.to_string());
    assert!(e.as_deref().is_some_and(|e| e.contains("NOPROTO")), "{e:?}");
    // HELLO 3 answers a map, and the connection speaks RESP3 from then on.
    let mut c3 = m.client();
    let hello: redis::Value = redis::cmd("HELLO").arg(3).query(&mut c3).expect("hello 3");
    let redis::Value::Map(fields) = hello else {
        panic!("HELLO 3 answered {hello:?}");
    };
    assert!(fields.contains(&(
        redis::Value::BulkString(b"proto".to_vec()),
        redis::Value::Int(3)
    )));
    let _: () = redis::cmd("HSET")
        .arg("h")
        .arg("f")
        .arg("v")
        .query(&mut c3)
        .expect("hset");
    let all: redis::Value = redis::cmd("HGETALL")
        .arg("h")
        .query(&mut c3)
        .expect("hgetall");
    assert!(matches!(all, redis::Value::Map(_)), "{all:?}");
    let n: i64 = redis::cmd("COMMAND")
        .arg("COUNT")
        .query(&mut c)
        .expect("command count");
    assert!(n > 90);
    let list: Vec<redis::Value> = redis::cmd("COMMAND").query(&mut c).expect("command");
    assert_eq!(list.len() as i64, n);
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

/// CLIENT LIST shows each client's last command (the one in flight, for
/// the client asking: `client|list`, as Redis) and how long it has been
/// idle, counted from its last batch of commands.
#[test]
fn client_list_shows_last_commands_and_idle_seconds() {
    let m = InProc::start();
    let url = format!("redis://{}/", m.addr);
    let open = || {
        redis::Client::open(url.as_str())
            .expect("client")
            .get_connection()
            .expect("connect")
    };
    let (mut quiet, mut asker) = (open(), open());
    let _: () = redis::cmd("CLIENT")
        .arg("SETNAME")
        .arg("quiet")
        .query(&mut quiet)
        .expect("setname");
    let _: () = redis::pipe()
        .set("k", "v")
        .ignore()
        .cmd("INCR")
        .arg("n")
        .ignore()
        .query(&mut quiet)
        .expect("pipeline");
    std::thread::sleep(std::time::Duration::from_millis(2100));
    let list: String = redis::cmd("CLIENT")
        .arg("LIST")
        .query(&mut asker)
        .expect("list");
    let line = |name: &str| {
        list.lines()
            .find(|l| l.contains(name))
            .unwrap_or_else(|| panic!("{name} in {list}"))
            .to_owned()
    };
    let quiet_line = line(" name=quiet ");
    assert!(quiet_line.contains(" cmd=incr "), "{quiet_line}");
    let idle: u64 = quiet_line
        .split(" idle=")
        .nth(1)
        .and_then(|s| s.split(' ').next())
        .and_then(|s| s.parse().ok())
        .expect("idle");
    assert!((2..=10).contains(&idle), "{quiet_line}");
    let asker_line = line(" cmd=client|list ");
    assert!(asker_line.contains(" idle=0 "), "{asker_line}");
}
