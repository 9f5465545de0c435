//! The replication tests' helpers, all from the test kit: rocksync nodes
//! as real processes (killed when their guards drop), digests, loaders,
//! replication waits, redis-server, a tmpfs to fill.

// Not every test uses each of them.
#[allow(unused_imports)]
pub use rocksync_testkit::{
    bin_dir, digest, digest_of, field, free_port, load, slaveof, wait_synced, wait_until, Certs,
    Node, Proc, RedisServer as Redis, Tmpfs,
};

#[allow(dead_code)]
/// A stream `key` of `n` entries (fields mostly the same, some not, some
/// deleted) with a consumer group whose two consumers hold pending
/// entries, and a third that holds none.
pub fn stream_with_group(c: &mut redis::Connection, key: &str, n: usize) {
    for i in 0..n {
        let mut cmd = redis::cmd("XADD");
        cmd.arg(key).arg("*");
        if i % 9 == 0 {
            cmd.arg("other").arg("x".repeat(i));
        } else {
            cmd.arg("a").arg(i).arg("b").arg("v");
        }
        let id: String = cmd.query(c).expect("xadd");
        if i % 50 == 7 {
            let _: i64 = redis::cmd("XDEL").arg(key).arg(&id).query(c).expect("xdel");
        }
    }
    let _: String = redis::cmd("XGROUP")
        .arg("CREATE")
        .arg(key)
        .arg("g")
        .arg("0")
        .query(c)
        .expect("xgroup create");
    for (consumer, count) in [("alice", 3), ("bob", 2)] {
        let _: redis::Value = redis::cmd("XREADGROUP")
            .arg("GROUP")
            .arg("g")
            .arg(consumer)
            .arg("COUNT")
            .arg(count)
            .arg("STREAMS")
            .arg(key)
            .arg(">")
            .query(c)
            .expect("xreadgroup");
    }
    let _: i64 = redis::cmd("XGROUP")
        .arg("CREATECONSUMER")
        .arg(key)
        .arg("g")
        .arg("idle")
        .query(c)
        .expect("createconsumer");
}

#[allow(dead_code)]
/// FUNCTION LOAD `code`: the library's name.
pub fn function_load(c: &mut redis::Connection, code: &str) -> String {
    redis::cmd("FUNCTION")
        .arg("LOAD")
        .arg(code)
        .query(c)
        .expect("function load")
}
