//! `rocksync-master --import-rdb`: a real redis-server's dump.rdb loaded
//! into a new data directory, then served with the same digest.

mod common;

use std::process::Command;

use common::*;
use redis::Commands;
use tempfile::TempDir;

/// Every type in the encodings Redis 7.0 saves (integer and LZF
/// strings, quicklists of listpacks, intsets, listpack and table hashes
/// and sorted sets, a stream with tombstones and a consumer group), TTLs,
/// and a function library: SAVEd by redis-server,
/// imported, and a node on the directory answers with redis-server's
/// digest and runs the function. A used data directory and a damaged
/// file are refused, leaving nothing.
#[test]
fn a_redis_dump_imports_with_the_same_digest() {
    let redis = Redis::start(&[]);
    let mut r = redis.client();
    let long = "z".repeat(50_000);
    let _: () = r.set("s:int", 12345).expect("set");
    let _: () = r.set("s:long", &long).expect("set");
    let _: () = r.set_ex("s:ttl", "soon gone", 5000).expect("setex");
    let _: () = r.rpush("l:small", &["a", "42", "-1"]).expect("rpush");
    let big: Vec<String> = (0..3000).map(|i| format!("item-{i:08}")).collect();
    let _: () = r.rpush("l:big", &big).expect("rpush");
    let _: () = r
        .sadd("set:ints", &[1, -5, 300, 10_000_000_000i64])
        .expect("sadd");
    let _: () = r.sadd("set:strs", &["x", "y"]).expect("sadd");
    let _: () = r
        .hset_multiple("h:small", &[("f", "v"), ("n", "7")])
        .expect("hset");
    let fields: Vec<(String, String)> = (0..300)
        .map(|i| (format!("f{i}"), format!("v{i}")))
        .collect();
    let _: () = r.hset_multiple("h:big", &fields).expect("hset");
    let _: () = r.pexpire("h:big", 900_000).expect("pexpire");
    let _: () = r
        .zadd_multiple("z:small", &[(1.5, "a"), (-2.0, "b")])
        .expect("zadd");
    let members: Vec<(f64, String)> = (0..300)
        .map(|i| (f64::from(i) / 7.0, format!("m{i}")))
        .collect();
    let _: () = r.zadd_multiple("z:big", &members).expect("zadd");
    let lib = "#!lua name=imported\nredis.register_function('hello', function() return 'hi' end)";
    function_load(&mut r, lib);
    stream_with_group(&mut r, "st", 300);
    let _: String = redis::cmd("SAVE").query(&mut r).expect("save");
    let want = digest_of("redis-server", || redis.client());
    assert_eq!(want.len(), 12);
    let dump = redis.dir.path().join("dump.rdb");
    let tmp = TempDir::new().expect("tmp");
    let data = tmp.path().join("data");
    let import = |file: &std::path::Path| {
        Command::new(bin_dir().join("rocksync-master"))
            .arg("--import-rdb")
            .arg(file)
            .arg("--data-dir")
            .arg(&data)
            .output()
            .expect("run the import")
    };
    // A damaged file first: refused, naming the problem, nothing left.
    let mut bytes = std::fs::read(&dump).expect("dump.rdb");
    let at = bytes.len() / 2;
    bytes[at] ^= 0x55;
    let damaged = tmp.path().join("damaged.rdb");
    std::fs::write(&damaged, &bytes).expect("write");
    let out = import(&damaged);
    assert!(!out.status.success(), "a damaged file imported");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("damaged.rdb"), "{err}");
    assert!(!data.join("db").exists(), "a failed import left a database");
    let out = import(&dump);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        said.contains("imported 12 keys and 1 function libraries"),
        "{said}"
    );
    let again = import(&dump);
    assert!(
        !again.status.success(),
        "a used data directory was imported into"
    );
    let node = Node::master(&data, 0, &[]);
    assert_eq!(digest(&node), want);
    let mut c = node.client();
    let ttl: i64 = c.pttl("s:ttl").expect("pttl");
    assert!(ttl > 0 && ttl <= 5_000_000, "{ttl}");
    let hi: String = redis::cmd("FCALL")
        .arg("hello")
        .arg(0)
        .query(&mut c)
        .expect("fcall");
    assert_eq!(hi, "hi");
    // It takes writes as a master would.
    let _: () = c.set("new", "write").expect("set");
    assert_eq!(c.get::<_, String>("new").expect("get"), "write");
}
