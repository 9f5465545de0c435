//! ACL users in a running server (their replies are compared with
//! redis-server's in the compat tests): a deleted user's connections are
//! closed; users from the configuration's `user` lines and from an
//! `aclfile`, ACL SAVE and LOAD across a restart; protected mode from a
//! non-loopback address.

use std::process::Command;

use super::*;

fn query<T: redis::FromRedisValue>(
    c: &mut redis::Connection,
    args: &[&str],
) -> redis::RedisResult<T> {
    let mut cmd = redis::cmd(args[0]);
    for a in &args[1..] {
        cmd.arg(*a);
    }
    cmd.query(c)
}

fn as_user(m: &InProc, user: &str, pass: &str) -> redis::Connection {
    let url = format!("redis://{user}:{pass}@{}/", m.addr);
    let c = redis::Client::open(url)
        .expect("client")
        .get_connection_with_timeout(Duration::from_secs(10))
        .expect("connect as user");
    c.set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    c
}

#[test]
fn deleting_a_user_closes_its_connections_and_only_those() {
    let m = InProc::start();
    let mut admin = m.client();
    let _: () = query(
        &mut admin,
        &["ACL", "SETUSER", "gone", "on", ">pw", "~*", "+@all"],
    )
    .expect("setuser");
    let _: () = query(
        &mut admin,
        &["ACL", "SETUSER", "stays", "on", ">pw", "~*", "+@all"],
    )
    .expect("setuser");
    let mut a = as_user(&m, "gone", "pw");
    let mut b = as_user(&m, "gone", "pw");
    let mut other = as_user(&m, "stays", "pw");
    let _: () = a.set("k", "v").expect("set as gone");
    let list: String = query(&mut admin, &["CLIENT", "LIST"]).expect("client list");
    assert_eq!(list.matches(" user=gone ").count(), 2, "{list}");
    // The user deleting itself gets its answer, then is closed too.
    let n: i64 = query(&mut b, &["ACL", "DELUSER", "gone"]).expect("deluser");
    assert_eq!(n, 1);
    for c in [&mut a, &mut b] {
        let e = redis::cmd("PING").query::<String>(c).expect_err("closed");
        assert!(e.is_io_error() || e.is_connection_dropped(), "{e}");
    }
    assert_eq!(
        other.get::<_, String>("k").expect("the other user goes on"),
        "v"
    );
    // Permissions changed take effect at once on open connections.
    let _: () = query(&mut admin, &["ACL", "SETUSER", "stays", "-get"]).expect("setuser");
    let e = other.get::<_, String>("k").expect_err("denied");
    assert!(
        e.to_string()
            .contains("no permissions to run the 'get' command"),
        "{e}"
    );
}

#[test]
fn users_come_from_config_lines_and_from_an_aclfile_across_restarts() {
    // `user` lines, as Redis's config file has them.
    let m = InProc::start_with(|c| {
        c.user = rocksync_master::UserLines(vec![
            "user reader on >rpw ~pub:* +@read".into(),
            "user default on nopass ~* &* +@all".into(),
        ]);
    });
    let mut r = as_user(&m, "reader", "rpw");
    let _: () = m.client().set("pub:1", "x").expect("set");
    assert_eq!(r.get::<_, String>("pub:1").expect("read"), "x");
    let e = r.set::<_, _, ()>("pub:1", "y").expect_err("no writes");
    assert!(e.to_string().contains("NOPERM"), "{e}");
    let e = query::<()>(&mut m.client(), &["ACL", "SAVE"]).expect_err("no aclfile");
    assert!(
        e.to_string().contains("not configured to use an ACL file"),
        "{e}"
    );
    drop(m);

    // An aclfile: ACL SAVE writes it, a restart reads it, ACL LOAD reads
    // it again and closes the connections of the users it replaced.
    let keep = tempfile::TempDir::new().expect("tmp");
    let aclfile = keep.path().join("users.acl");
    let config = || Config {
        port: 0,
        data_dir: keep.path().join("data"),
        aclfile: aclfile.clone(),
        ..Config::default()
    };
    // A missing file stops the start, as Redis's does; an empty one is
    // the way to begin with none.
    let started = tokio::runtime::Runtime::new()
        .expect("runtime")
        .block_on(rocksync_master::Node::start(config(), Default::default()));
    let e = started.err().expect("refused: no aclfile");
    assert!(e.to_string().contains("users.acl"), "{e}");
    std::fs::write(&aclfile, "").expect("empty aclfile");
    let m = InProc::start_in(tempfile::TempDir::new().expect("tmp"), config());
    let mut admin = m.client();
    let _: () = query(
        &mut admin,
        &["ACL", "SETUSER", "app", "on", ">apw", "~app:*", "+@all"],
    )
    .expect("setuser");
    let _: () = query(&mut admin, &["ACL", "SAVE"]).expect("save");
    let saved = std::fs::read_to_string(&aclfile).expect("aclfile");
    assert!(saved.contains("user app on #"), "{saved}");
    assert!(
        !saved.contains("apw"),
        "passwords are kept as hashes: {saved}"
    );
    let mut app = as_user(&m, "app", "apw");
    std::fs::write(&aclfile, format!("{saved}user late on >lpw +ping\n")).expect("edit");
    let _: () = query(&mut admin, &["ACL", "LOAD"]).expect("load");
    assert!(
        redis::cmd("PING").query::<String>(&mut app).is_err(),
        "app's connection is closed by ACL LOAD"
    );
    let mut late = as_user(&m, "late", "lpw");
    let _: String = redis::cmd("PING").query(&mut late).expect("the new user");
    std::fs::write(
        &aclfile,
        "user late on >lpw +ping\n\nuser broken on +nosuch\n",
    )
    .expect("break");
    let e = query::<()>(&mut admin, &["ACL", "LOAD"]).expect_err("a bad line");
    assert!(
        e.to_string()
            .contains("no change to the previously active ACL rules"),
        "{e}"
    );
    assert!(
        e.to_string().contains("users.acl:3"),
        "the line as in the file: {e}"
    );
    let users: Vec<String> = query(&mut admin, &["ACL", "USERS"]).expect("users");
    assert_eq!(users, ["app", "default", "late"]);
    let _: () = query(&mut admin, &["ACL", "SAVE"]).expect("save");
    drop(m);
    let m = InProc::start_in(tempfile::TempDir::new().expect("tmp"), config());
    let mut app = as_user(&m, "app", "apw");
    let _: () = app
        .set("app:1", "back")
        .expect("the saved user after a restart");
    let e = app
        .set::<_, _, ()>("other", "x")
        .expect_err("its key patterns too");
    assert!(e.to_string().contains("NOPERM"), "{e}");
}

/// A network namespace joined to this one by a veth pair, removed when
/// dropped: a client there reaches the server from a non-loopback
/// address.
struct Netns {
    name: String,
    /// Our side's address.
    host: String,
}

impl Netns {
    fn create() -> Option<Self> {
        let ok = |args: &[&str]| {
            Command::new("ip")
                .args(args)
                .status()
                .is_ok_and(|s| s.success())
        };
        let pid = std::process::id();
        let name = format!("rs-pm-{pid}");
        let (a, b) = (format!("rspm{pid}a"), format!("rspm{pid}b"));
        let octet = pid % 200 + 20;
        let (host, peer) = (format!("10.77.{octet}.1"), format!("10.77.{octet}.2"));
        if !ok(&["netns", "add", &name]) {
            return None;
        }
        let ns = Self { name, host };
        let n = ns.name.as_str();
        let steps: [&[&str]; 7] = [
            &["link", "add", &a, "type", "veth", "peer", "name", &b],
            &["link", "set", &b, "netns", n],
            &["addr", "add", &format!("{}/30", ns.host), "dev", &a],
            &["link", "set", &a, "up"],
            &["-n", n, "addr", "add", &format!("{peer}/30"), "dev", &b],
            &["-n", n, "link", "set", &b, "up"],
            &["-n", n, "link", "set", "lo", "up"],
        ];
        steps.iter().all(|s| ok(s)).then_some(ns)
    }

    /// `redis-cli` in the namespace; its output.
    fn redis_cli(&self, port: u16, args: &[&str]) -> String {
        let out = Command::new("ip")
            .args([
                "netns",
                "exec",
                &self.name,
                "timeout",
                "10",
                "redis-cli",
                "-h",
                &self.host,
            ])
            .arg("-p")
            .arg(port.to_string())
            .args(args)
            .output()
            .expect("redis-cli in the namespace");
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        // (the veth pair goes with the namespace)
        let _ = Command::new("ip")
            .args(["netns", "del", &self.name])
            .status();
    }
}

#[test]
fn protected_mode_refuses_clients_beyond_loopback_until_a_password_is_set() {
    let Some(ns) = Netns::create() else {
        eprintln!("skipped: no network namespace here (needs root and iproute2)");
        return;
    };
    let m = InProc::start_with(|c| c.bind = "0.0.0.0".into());
    let port = m.addr.port();
    // Over loopback: served.
    let _: String = redis::cmd("PING").query(&mut m.client()).expect("loopback");
    // From the namespace: refused with Redis's words.
    let got = ns.redis_cli(port, &["PING"]);
    assert!(
        got.starts_with("DENIED Redis is running in protected mode"),
        "{got:?}"
    );
    // The harness is real: with protected mode off, the same client is
    // served.
    let _: () =
        query(&mut m.client(), &["CONFIG", "SET", "protected-mode", "no"]).expect("config set");
    assert_eq!(ns.redis_cli(port, &["PING"]), "PONG");
    // On again, a password for the default user lets it in (with AUTH).
    let _: () = query(
        &mut m.client(),
        &[
            "CONFIG",
            "SET",
            "protected-mode",
            "yes",
            "requirepass",
            "pw",
        ],
    )
    .expect("config set");
    assert!(ns.redis_cli(port, &["PING"]).contains("NOAUTH"));
    assert_eq!(
        ns.redis_cli(port, &["--no-auth-warning", "-a", "pw", "PING"]),
        "PONG"
    );
}

#[test]
fn every_store_target_of_georadius_is_checked_where_redis_checks_only_the_first() {
    let rules = [
        "ACL", "SETUSER", "geo", "on", "nopass", "+@all", "~geo", "~dst:ok",
    ];
    let store_twice: Vec<&str> = "GEORADIUS geo 13 38 200 km STORE dst:ok STORE dst:no"
        .split(' ')
        .collect();
    // The hazard, in redis-server 7.0: the key specs name the first STORE,
    // the command stores into the last, a key the user may not touch.
    let redis = common::RedisServer::start(&[]);
    let mut theirs = redis::Client::open(format!("redis://127.0.0.1:{}/", redis.port))
        .expect("client")
        .get_connection()
        .expect("connect");
    let ours = InProc::start();
    let mut mine = ours.client();
    for admin in [&mut theirs, &mut mine] {
        let _: () = query(admin, &rules).expect("setuser");
        let _: i64 = query(admin, &["GEOADD", "geo", "13.36", "38.11", "a"]).expect("geoadd");
    }
    let mut theirs_geo = redis::Client::open(format!("redis://geo:x@127.0.0.1:{}/", redis.port))
        .expect("client")
        .get_connection()
        .expect("connect as geo");
    let stored: i64 = query(&mut theirs_geo, &store_twice).expect("redis lets it through");
    assert_eq!(stored, 1);
    let written: i64 = query(&mut theirs, &["EXISTS", "dst:no"]).expect("exists");
    assert_eq!(
        written, 1,
        "redis-server wrote a key the user may not touch"
    );
    // Here every STORE and STOREDIST target is checked.
    let mut geo = as_user(&ours, "geo", "x");
    for cmd in [
        "GEORADIUS geo 13 38 200 km STORE dst:ok STORE dst:no",
        "GEORADIUS geo 13 38 200 km STORE dst:ok STOREDIST dst:no",
        "GEORADIUSBYMEMBER geo a 200 km STORE dst:ok STORE dst:no",
    ] {
        let cmd: Vec<&str> = cmd.split(' ').collect();
        let e = query::<i64>(&mut geo, &cmd).expect_err("refused");
        assert_eq!(e.code(), Some("NOPERM"), "{cmd:?}: {e}");
    }
    let written: i64 = query(&mut mine, &["EXISTS", "dst:no"]).expect("exists");
    assert_eq!(written, 0);
    let own: Vec<&str> = "GEORADIUS geo 13 38 200 km STORE dst:ok"
        .split(' ')
        .collect();
    let stored: i64 = query(&mut geo, &own).expect("its own key");
    assert_eq!(stored, 1);
}

#[test]
fn a_subscriber_whose_channels_are_taken_away_is_disconnected_and_others_stay() {
    let m = InProc::start();
    let mut admin = m.client();
    let _: () = query(
        &mut admin,
        &[
            "ACL", "SETUSER", "news", "on", ">pw", "+@all", "&news:*", "&sport",
        ],
    )
    .expect("setuser");
    let subscriber = |channel: &str| {
        let mut c = as_user(&m, "news", "pw");
        let _: () = query(&mut c, &["SUBSCRIBE", channel]).expect("subscribe");
        c
    };
    let mut on_news = subscriber("news:1");
    let mut on_sport = subscriber("sport");
    // Channels added: nobody is dropped.
    let _: () = query(&mut admin, &["ACL", "SETUSER", "news", "&weather"]).expect("setuser");
    std::thread::sleep(Duration::from_millis(200));
    let list: String = query(&mut admin, &["CLIENT", "LIST"]).expect("client list");
    assert_eq!(list.matches(" user=news ").count(), 2, "{list}");
    // `sport` taken away: its subscriber goes, the other stays.
    let _: () = query(
        &mut admin,
        &["ACL", "SETUSER", "news", "resetchannels", "&news:*"],
    )
    .expect("setuser");
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let list: String = query(&mut admin, &["CLIENT", "LIST"]).expect("client list");
        if list.matches(" user=news ").count() == 1 {
            break;
        }
        assert!(Instant::now() < deadline, "still subscribed: {list}");
        std::thread::sleep(Duration::from_millis(50));
    }
    let e = redis::cmd("PING")
        .query::<redis::Value>(&mut on_sport)
        .expect_err("closed");
    assert!(e.is_io_error() || e.is_connection_dropped(), "{e}");
    let n: i64 = query(&mut admin, &["PUBLISH", "news:1", "hello"]).expect("publish");
    assert_eq!(n, 1);
    let msg: Vec<String> =
        redis::from_redis_value(&on_news.recv_response().expect("the message")).expect("strings");
    assert_eq!(msg, ["message", "news:1", "hello"]);
}

#[test]
fn config_rewrite_keeps_users_with_hashed_passwords_and_config_get_shows_none() {
    let keep = tempfile::TempDir::new().expect("tmp");
    let file = keep.path().join("rocksync.toml");
    std::fs::write(&file, "").expect("config file");
    let config = |c: Config| Config {
        port: 0,
        data_dir: keep.path().join("data"),
        config_file: Some(file.clone()),
        ..c
    };
    let m = InProc::start_in(
        tempfile::TempDir::new().expect("tmp"),
        config(Config {
            user: rocksync_master::UserLines(vec!["user first on >first-s3cr3t +@all ~*".into()]),
            ..Config::default()
        }),
    );
    let mut admin = m.client();
    let _: () = query(
        &mut admin,
        &[
            "ACL",
            "SETUSER",
            "second",
            "on",
            ">second-s3cr3t",
            "+get",
            "~k*",
        ],
    )
    .expect("setuser");
    // CONFIG GET shows no user lines (their passwords would be in them).
    let all: Vec<String> = query(&mut admin, &["CONFIG", "GET", "*"]).expect("config get");
    assert!(!all.iter().any(|v| v.contains("s3cr3t")), "{all:?}");
    let _: () = query(&mut admin, &["CONFIG", "REWRITE"]).expect("rewrite");
    drop(m);
    let text = std::fs::read_to_string(&file).expect("rewritten");
    assert!(text.contains("user second on #"), "{text}");
    assert!(!text.contains("s3cr3t"), "a password in clear: {text}");
    let m = InProc::start_in(
        tempfile::TempDir::new().expect("tmp"),
        config(Config::from_toml(&text, Config::default()).expect("loads")),
    );
    let mut second = as_user(&m, "second", "second-s3cr3t");
    let e = query::<String>(&mut second, &["SET", "k1", "v"]).expect_err("only GET");
    assert_eq!(e.code(), Some("NOPERM"), "{e}");
    let _: String =
        query::<Option<String>>(&mut as_user(&m, "first", "first-s3cr3t"), &["GET", "k1"])
            .expect("first's rules kept")
            .unwrap_or_default();
}
