//! redis-py (Debian's python3-redis), as applications use it, against
//! rocksync-master and redis-server in one run: the same script, the same
//! results. Scripting first: `Lock` (its acquire, extend and release are
//! Lua run through EVALSHA) and a rate limiter from `register_script`.

mod common;

use std::process::Command;

use common::{Node, Redis};

/// What an application does; prints one JSON object of what it saw.
const APP: &str = r#"
import json, sys
import redis

r = redis.Redis(host='127.0.0.1', port=int(sys.argv[1]), decode_responses=True)
r.flushall()
out = {}

lock = r.lock('resource', timeout=5, blocking_timeout=0.1)
out['acquired'] = lock.acquire()
rival = r.lock('resource', timeout=5, blocking_timeout=0.1)
out['rival_while_held'] = rival.acquire()
out['owned'] = lock.owned()
lock.extend(5)
out['extended'] = r.pttl('resource') > 5000
lock.release()
out['rival_after_release'] = rival.acquire()
rival.release()
out['left_behind'] = r.exists('resource')
try:
    lock.release()
    out['double_release'] = 'allowed'
except redis.exceptions.LockError as e:
    out['double_release'] = type(e).__name__

limiter = r.register_script("""
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
if n > tonumber(ARGV[1]) then return 0 end
return 1
""")
out['limited'] = [limiter(keys=['rate:user:1'], args=[3, 10000]) for _ in range(5)]
out['window_set'] = r.pttl('rate:user:1') > 0
out['cached'] = r.script_exists(limiter.sha)
out['eval'] = r.eval("return {KEYS[1], ARGV[1], redis.call('INCRBY', KEYS[1], ARGV[1])}", 1, 'counter', 5)
r.script_flush()
out['after_flush'] = r.script_exists(limiter.sha)
out['reloaded'] = limiter(keys=['rate:user:2'], args=[1, 1000])
print(json.dumps(out, sort_keys=True))
"#;

/// The JSON the app printed against `port` (keys sorted: comparable as
/// text).
fn run(port: u16) -> String {
    let out = Command::new("/usr/bin/python3")
        .args(["-c", APP, &port.to_string()])
        .output()
        .expect("python3 (apt-get install python3-redis)");
    assert!(
        out.status.success(),
        "redis-py against port {port}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

#[test]
fn redis_py_locks_and_scripts_work_as_on_redis() {
    let redis = Redis::start(&[]);
    let dir = tempfile::tempdir().expect("tmp");
    let m = Node::master(&dir.path().join("data"), 0, &[]);
    let theirs = run(redis.port);
    let ours = run(m.addr.port());
    assert_eq!(ours, theirs);
    // And what it saw is what an application counts on.
    for expected in [
        r#""acquired": true"#,
        r#""rival_while_held": false"#,
        r#""rival_after_release": true"#,
        r#""extended": true"#,
        r#""left_behind": 0"#,
        r#""double_release": "LockError""#,
        r#""limited": [1, 1, 1, 0, 0]"#,
        r#""cached": [true]"#,
        r#""after_flush": [false]"#,
        r#""eval": ["counter", "5", 5]"#,
        r#""reloaded": 1"#,
    ] {
        assert!(ours.contains(expected), "{expected} not in {ours}");
    }
}
