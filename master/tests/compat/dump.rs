//! DUMP and RESTORE against redis-server: every value Redis 7.0 dumps, in
//! the compact encodings it picks for small values and the plain ones for
//! large, restores here with the same value and TTL; what rocksync dumps
//! restores in redis-server; RESTORE's refusals read as Redis's.

use super::*;

fn conn(port: u16) -> redis::Connection {
    redis::Client::open(format!("redis://127.0.0.1:{port}/"))
        .expect("client")
        .get_connection_with_timeout(Duration::from_secs(10))
        .expect("connect")
}

fn run(c: &mut redis::Connection, args: &[&[u8]]) -> redis::Value {
    let mut cmd = redis::cmd(std::str::from_utf8(args[0]).expect("name"));
    for a in &args[1..] {
        cmd.arg(*a);
    }
    cmd.query(c).expect("command")
}

/// Keys of every type: strings Redis dumps as integers, raw or LZF;
/// lists as quicklists of listpacks; sets as intsets (each width) or
/// tables; hashes and sorted sets as listpacks or tables; a stream in
/// listpack nodes with its consumer group; some with TTLs.
fn fill(c: &mut redis::Connection) -> Vec<String> {
    let long: String = "a".repeat(10_000);
    let binary: Vec<u8> = (0..=255).collect();
    let mut script: Vec<Vec<Vec<u8>>> = Vec::new();
    let mut add = |words: Vec<Vec<u8>>| script.push(words);
    let w = |s: &str| s.as_bytes().to_vec();
    for (k, v) in [
        ("s:int16", "12345"),
        ("s:int8", "-7"),
        ("s:int32", "2147483647"),
        ("s:wide", "4294967296"),
        ("s:short", "hello"),
        ("s:lzf", long.as_str()),
    ] {
        add(vec![w("SET"), w(k), w(v)]);
    }
    add(vec![w("SET"), w("s:binary"), binary]);
    add(vec![w("EXPIRE"), w("s:short"), w("1000")]);
    add(vec![w("RPUSH"), w("l:small"), w("x"), w("42"), w("-1")]);
    let mut big_list = vec![w("RPUSH"), w("l:big")];
    big_list.extend((0..2000).map(|i| w(&format!("element-{i:012}"))));
    add(big_list);
    add(vec![w("SADD"), w("set:int16"), w("1"), w("-5"), w("300")]);
    add(vec![w("SADD"), w("set:int64"), w("1"), w("10000000000")]);
    add(vec![w("SADD"), w("set:strings"), w("a"), w("b"), w("c")]);
    add(vec![
        w("HSET"),
        w("h:small"),
        w("f"),
        w("v"),
        w("n"),
        w("22"),
    ]);
    add(vec![w("PEXPIRE"), w("h:small"), w("500000")]);
    let mut big_hash = vec![w("HSET"), w("h:big")];
    for i in 0..200 {
        big_hash.extend([w(&format!("field{i}")), w(&format!("value{i}"))]);
    }
    add(big_hash);
    add(vec![
        w("ZADD"),
        w("z:small"),
        w("1"),
        w("a"),
        w("2.5"),
        w("b"),
        w("-3"),
        w("c"),
        w("inf"),
        w("d"),
    ]);
    let mut big_zset = vec![w("ZADD"), w("z:big")];
    for i in 0..200 {
        big_zset.extend([w(&format!("{}", f64::from(i) * 0.37)), w(&format!("m{i}"))]);
    }
    add(big_zset);
    // A stream over several nodes, with tombstones, entries of other
    // fields, a consumer group with pending entries and an idle consumer,
    // and a TTL.
    for i in 1..=250u32 {
        let id = w(&format!("{}-{}", 1000 + i / 3, i % 3));
        if i % 11 == 0 {
            add(vec![
                w("XADD"),
                w("x"),
                id,
                w("other"),
                w(&"o".repeat(i as usize)),
            ]);
        } else {
            add(vec![
                w("XADD"),
                w("x"),
                id,
                w("a"),
                w(&i.to_string()),
                w("b"),
                w("v"),
            ]);
        }
    }
    add(vec![w("XDEL"), w("x"), w("1001-0"), w("1050-1")]);
    add(vec![w("XGROUP"), w("CREATE"), w("x"), w("g"), w("0")]);
    for (who, n) in [("alice", "3"), ("bob", "2")] {
        add(vec![
            w("XREADGROUP"),
            w("GROUP"),
            w("g"),
            w(who),
            w("COUNT"),
            w(n),
            w("STREAMS"),
            w("x"),
            w(">"),
        ]);
    }
    add(vec![
        w("XGROUP"),
        w("CREATECONSUMER"),
        w("x"),
        w("g"),
        w("idle"),
    ]);
    add(vec![w("PEXPIRE"), w("x"), w("800000")]);
    for words in &script {
        let args: Vec<&[u8]> = words.iter().map(Vec::as_slice).collect();
        run(c, &args);
    }
    [
        "s:int16",
        "s:int8",
        "s:int32",
        "s:wide",
        "s:short",
        "s:lzf",
        "s:binary",
        "l:small",
        "l:big",
        "set:int16",
        "set:int64",
        "set:strings",
        "h:small",
        "h:big",
        "z:small",
        "z:big",
        "x",
    ]
    .map(str::to_owned)
    .to_vec()
}

/// A key's type and value, in an order that does not depend on the
/// server.
fn value(c: &mut redis::Connection, key: &str) -> String {
    let kind: String = redis::cmd("TYPE").arg(key).query(c).expect("type");
    let sorted = |mut v: Vec<Vec<u8>>| {
        v.sort();
        v
    };
    let body = match kind.as_str() {
        "string" => format!("{:?}", c.get::<_, Vec<u8>>(key).expect("get")),
        "list" => format!(
            "{:?}",
            c.lrange::<_, Vec<Vec<u8>>>(key, 0, -1).expect("lrange")
        ),
        "set" => format!("{:?}", sorted(c.smembers(key).expect("smembers"))),
        "hash" => {
            let mut pairs: Vec<(Vec<u8>, Vec<u8>)> = c.hgetall(key).expect("hgetall");
            pairs.sort();
            format!("{pairs:?}")
        }
        "zset" => {
            let pairs: Vec<(String, String)> = redis::cmd("ZRANGE")
                .arg(key)
                .arg(0)
                .arg(-1)
                .arg("WITHSCORES")
                .query(c)
                .expect("zrange");
            format!("{pairs:?}")
        }
        // Everything of it: entries, nodes, counters, groups, pending
        // entries with their times and counts, consumers.
        "stream" => format!(
            "{:?}",
            redis::cmd("XINFO")
                .arg("STREAM")
                .arg(key)
                .arg("FULL")
                .query::<redis::Value>(c)
                .expect("xinfo")
        ),
        _ => String::new(),
    };
    format!("{kind} {body}")
}

#[test]
fn dump_and_restore_move_every_type_between_redis_and_rocksync() {
    let redis = RedisServer::start(&[]);
    let ours = InProc::start();
    let mut theirs = conn(redis.port);
    let mut mine = ours.client();
    for key in fill(&mut theirs) {
        let payload: Vec<u8> = redis::cmd("DUMP")
            .arg(&key)
            .query(&mut theirs)
            .expect("dump");
        let pttl: i64 = theirs.pttl(&key).expect("pttl");
        let ok: String = redis::cmd("RESTORE")
            .arg(&key)
            .arg(pttl.max(0))
            .arg(&payload)
            .query(&mut mine)
            .unwrap_or_else(|e| panic!("RESTORE of redis-server's {key}: {e}"));
        assert_eq!(ok, "OK");
        assert_eq!(value(&mut mine, &key), value(&mut theirs, &key), "{key}");
        let restored_pttl: i64 = mine.pttl(&key).expect("pttl");
        if pttl < 0 {
            assert_eq!(restored_pttl, -1, "{key}");
        } else {
            assert!(
                restored_pttl > 0 && restored_pttl <= pttl,
                "{key}: {restored_pttl} of {pttl}"
            );
        }
        // And back: rocksync's dump restores in redis-server.
        let ours_payload: Vec<u8> = redis::cmd("DUMP").arg(&key).query(&mut mine).expect("dump");
        let back = format!("back:{key}");
        let ok: String = redis::cmd("RESTORE")
            .arg(&back)
            .arg(0)
            .arg(&ours_payload)
            .query(&mut theirs)
            .unwrap_or_else(|e| panic!("redis-server's RESTORE of our {key}: {e}"));
        assert_eq!(ok, "OK");
        assert_eq!(
            value(&mut theirs, &back),
            value(&mut theirs, &key),
            "{key} back"
        );
    }
    // ABSTTL in the past, over a key that exists: the old value goes, no
    // new one comes, and the answer is OK (both servers).
    let payload: Vec<u8> = redis::cmd("DUMP")
        .arg("s:short")
        .query(&mut mine)
        .expect("dump");
    for c in [&mut theirs, &mut mine] {
        let _: () = c.set("past", "old").expect("set");
        let ok: String = redis::cmd("RESTORE")
            .arg("past")
            .arg(1000)
            .arg(&payload)
            .arg("REPLACE")
            .arg("ABSTTL")
            .query(c)
            .expect("restore in the past");
        assert_eq!(ok, "OK");
        assert!(!c.exists::<_, bool>("past").expect("exists"));
    }
}

/// A port nothing listens on (bound, then let go).
fn closed_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port()
}

/// Each of `cases` sent to both: every reply equal, byte for byte, or the
/// test fails listing those that differ.
fn assert_same_replies<'a>(
    theirs: &mut Raw,
    mine: &mut Raw,
    cases: impl Iterator<Item = &'a [&'a str]>,
) {
    let mut differ = Vec::new();
    for cmd in cases {
        let (a, b) = (theirs.call_bytes(cmd), mine.call_bytes(cmd));
        if let Some(d) = differs(&format!("{cmd:?}"), &a, &b) {
            differ.push(d);
        }
    }
    assert!(
        differ.is_empty(),
        "{} differ:\n{}",
        differ.len(),
        differ.join("\n")
    );
}

/// RESTORE's and DUMP's answers to what they refuse, byte for byte.
#[test]
fn restore_refuses_as_redis_does() {
    let redis = RedisServer::start(&[]);
    let ours = InProc::start();
    let mut theirs = Raw::connect(("127.0.0.1", redis.port));
    let mut mine = Raw::connect(ours.addr);
    let cases: &[&[&str]] = &[
        &["SET", "k", "v"],
        &["RESTORE", "k", "0", "garbage"],
        &["RESTORE", "k", "0", "garbage", "REPLACE"],
        &["RESTORE", "new", "0", "garbage"],
        &["RESTORE", "new", "-1", "garbage"],
        &["RESTORE", "new", "abc", "garbage"],
        &["RESTORE", "new", "0", "garbage", "IDLETIME", "-1"],
        &["RESTORE", "new", "0", "garbage", "FREQ", "256"],
        &[
            "RESTORE", "new", "0", "garbage", "IDLETIME", "1", "FREQ", "1",
        ],
        &["RESTORE", "new", "0", "garbage", "BOGUS"],
        &["RESTORE", "new", "0", "garbage", "IDLETIME"],
        &["RESTORE", "new", "0"],
        &["DUMP", "missing"],
        &["DUMP"],
        &["GET", "k"],
        &["EXISTS", "new"],
    ];
    assert_same_replies(&mut theirs, &mut mine, cases.iter().copied());
}

/// MIGRATE both ways: every key of `fill` from rocksync to a
/// redis-server at once (KEYS), values and TTLs kept and gone here; then
/// redis-server's own MIGRATE brings each back; COPY and REPLACE as
/// Redis's.
#[test]
fn migrate_moves_keys_between_redis_and_rocksync() {
    let redis = RedisServer::start(&[]);
    let ours = InProc::start();
    let mut theirs = conn(redis.port);
    let mut mine = ours.client();
    let keys = fill(&mut mine);
    let before: Vec<String> = keys.iter().map(|k| value(&mut mine, k)).collect();
    let mut all = redis::cmd("MIGRATE");
    all.arg("127.0.0.1")
        .arg(redis.port)
        .arg("")
        .arg(0)
        .arg(5000)
        .arg("KEYS");
    for k in &keys {
        all.arg(k);
    }
    assert_eq!(
        all.query::<String>(&mut mine)
            .expect("migrate to redis-server"),
        "OK"
    );
    for (k, v) in keys.iter().zip(&before) {
        assert_eq!(value(&mut theirs, k), *v, "{k} on redis-server");
        assert!(!mine.exists::<_, bool>(k).expect("exists"), "{k} left here");
    }
    let pttl: i64 = theirs.pttl("s:short").expect("pttl");
    assert!(pttl > 0 && pttl <= 1_000_000, "TTL carried: {pttl}");
    for k in &keys {
        let ok: String = redis::cmd("MIGRATE")
            .arg("127.0.0.1")
            .arg(ours.addr.port())
            .arg(k)
            .arg(0)
            .arg(5000)
            .query(&mut theirs)
            .unwrap_or_else(|e| panic!("redis-server's MIGRATE of {k} here: {e}"));
        assert_eq!(ok, "OK");
    }
    for (k, v) in keys.iter().zip(&before) {
        assert_eq!(value(&mut mine, k), *v, "{k} back");
    }
    let left: i64 = redis::cmd("DBSIZE").query(&mut theirs).expect("dbsize");
    assert_eq!(left, 0);
    // COPY keeps the source; a key already there is BUSYKEY without
    // REPLACE (and stays here), replaced with it.
    let migrate = |c: &mut redis::Connection, opts: &[&str]| {
        redis::cmd("MIGRATE")
            .arg("127.0.0.1")
            .arg(redis.port)
            .arg("s:short")
            .arg(0)
            .arg(5000)
            .arg(opts)
            .query::<String>(c)
    };
    assert_eq!(migrate(&mut mine, &["COPY"]).expect("copy"), "OK");
    let busy = migrate(&mut mine, &[]).expect_err("busy");
    assert!(busy.to_string().contains("BUSYKEY"), "{busy}");
    assert!(mine.exists::<_, bool>("s:short").expect("exists"));
    let _: () = mine.set("s:short", "newer").expect("set");
    assert_eq!(migrate(&mut mine, &["REPLACE"]).expect("replace"), "OK");
    assert_eq!(theirs.get::<_, String>("s:short").expect("get"), "newer");
    assert!(!mine.exists::<_, bool>("s:short").expect("exists"));
}

/// MIGRATE's answers before anything moves, byte for byte.
#[test]
fn migrate_refuses_as_redis_does() {
    let redis = RedisServer::start(&[]);
    let ours = InProc::start();
    let closed = closed_port().to_string();
    let mut theirs = Raw::connect(("127.0.0.1", redis.port));
    let mut mine = Raw::connect(ours.addr);
    let m = |rest: &[&'static str]| -> Vec<String> {
        ["MIGRATE", "127.0.0.1", closed.as_str()]
            .iter()
            .chain(rest)
            .map(|s| (*s).to_owned())
            .collect()
    };
    let cases: Vec<Vec<String>> = vec![
        vec!["SET".into(), "k".into(), "v".into()],
        m(&["k", "0", "500"]),
        m(&["absent", "0", "500"]),
        m(&["", "0", "500", "KEYS", "absent", "k"]),
        m(&["k", "0", "500", "KEYS", "k"]),
        m(&["k", "0", "500", "BOGUS"]),
        m(&["k", "0", "500", "AUTH"]),
        m(&["k", "0", "500", "AUTH2", "user"]),
        m(&["k", "x", "500"]),
        m(&["k", "0", "x"]),
        m(&["k", "0"]),
    ];
    let cases: Vec<Vec<&str>> = cases
        .iter()
        .map(|c| c.iter().map(String::as_str).collect())
        .collect();
    assert_same_replies(&mut theirs, &mut mine, cases.iter().map(Vec::as_slice));
}

/// MIGRATE's passwords never reach the SLOWLOG: the arguments it keeps
/// are redis-server's, "(redacted)" where the secrets were.
#[test]
fn migrate_passwords_stay_out_of_the_slowlog() {
    let redis = RedisServer::start(&[]);
    let ours = InProc::start();
    let closed = closed_port();
    let mut logged = Vec::new();
    for mut c in [conn(redis.port), ours.client()] {
        let _: () = redis::cmd("CONFIG")
            .arg("SET")
            .arg("slowlog-log-slower-than")
            .arg(0)
            .query(&mut c)
            .expect("config set");
        let _: () = c.set("k", "v").expect("set");
        for auth in [&["AUTH", "secret1"][..], &["AUTH2", "user", "secret2"]] {
            let _ = redis::cmd("MIGRATE")
                .arg("127.0.0.1")
                .arg(closed)
                .arg("k")
                .arg(0)
                .arg(100)
                .arg("COPY")
                .arg(auth)
                .query::<String>(&mut c);
        }
        let entries: Vec<(i64, i64, i64, Vec<String>)> = redis::cmd("SLOWLOG")
            .arg("GET")
            .arg(10)
            .query::<Vec<redis::Value>>(&mut c)
            .expect("slowlog get")
            .into_iter()
            .filter_map(|e| {
                redis::from_redis_value::<(i64, i64, i64, Vec<String>, String, String)>(&e)
                    .ok()
                    .map(|(a, b, d, args, _, _)| (a, b, d, args))
            })
            .collect();
        let migrates: Vec<Vec<String>> = entries
            .into_iter()
            .map(|(_, _, _, args)| args)
            .filter(|args| args[0].eq_ignore_ascii_case("migrate"))
            .collect();
        assert_eq!(migrates.len(), 2, "{migrates:?}");
        assert!(
            migrates.iter().flatten().all(|a| !a.contains("secret")),
            "{migrates:?}"
        );
        logged.push(migrates);
    }
    assert_eq!(logged[0], logged[1], "redis-server's slowlog, then ours");
}
