//! MIGRATE from a rocksync-master process to a real redis-server: a key
//! written while it is on its way is not deleted at the end.

mod common;

use std::time::Duration;

use common::*;
use redis::Commands;
use tempfile::TempDir;

/// Redis runs MIGRATE while nothing else runs; here other clients go on
/// while the keys travel. A pause point holds MIGRATE after the target
/// took the key and before the key is deleted here, and a SET lands in
/// that window: the target holds the value sent, this node keeps the
/// newer one (a plain delete would lose it); an untouched key moves.
#[test]
fn a_key_written_while_it_migrates_is_kept() {
    let tmp = TempDir::new().expect("tmp");
    let node = Node::spawn_env(
        "rocksync-master",
        &tmp.path().join("m"),
        0,
        &[],
        &[("ROCKSYNC_PAUSE_AT", "migrate.before_delete:3000")],
    );
    let target = Redis::start(&[]);
    let mut c = node.client();
    let _: () = c.set("k", "sent").expect("set");
    let _: () = c.set("other", "moves").expect("set");
    let port = target.port;
    let migrate = {
        let mut c = node.client();
        std::thread::spawn(move || {
            redis::cmd("MIGRATE")
                .arg("127.0.0.1")
                .arg(port)
                .arg("")
                .arg(0)
                .arg(10_000)
                .arg("KEYS")
                .arg("k")
                .arg("other")
                .query::<String>(&mut c)
        })
    };
    let log = tmp.path().join("m").with_extension("rocksync-master.log");
    wait_until(
        "MIGRATE to hold before its delete",
        Duration::from_secs(20),
        || {
            std::fs::read_to_string(&log)
                .is_ok_and(|t| t.contains("migrate.before_delete: pausing"))
        },
    );
    let _: () = c.set("k", "newer").expect("set while it migrates");
    assert_eq!(migrate.join().expect("migrate thread"), Ok("OK".to_owned()));
    let held = std::fs::read_to_string(&log).expect("log");
    assert!(held.contains("migrate.before_delete: resuming"), "{held}");
    let mut t = redis::Client::open(format!("redis://127.0.0.1:{port}/"))
        .expect("client")
        .get_connection_with_timeout(Duration::from_secs(10))
        .expect("connect");
    // The window was real: the target has what was sent, this node what
    // came after.
    assert_eq!(t.get::<_, String>("k").expect("get"), "sent");
    assert_eq!(c.get::<_, String>("k").expect("get"), "newer");
    assert_eq!(t.get::<_, String>("other").expect("get"), "moves");
    assert!(!c.exists::<_, bool>("other").expect("exists"));
}
