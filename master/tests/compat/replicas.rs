//! `min-replicas-to-write` on a master without slaves, as redis-server
//! answers it: writes refused with NOREPLICAS (alone, queued in MULTI, at
//! EXEC, inside a script that declared no flags, before a script or a
//! function that may write), reads, read-only scripts and functions
//! flagged `no-writes` still served, the `min-slaves-*` names, and writes
//! taken again once the setting is off.

use super::scripting::assert_cases;

const CASES: &[&[&str]] = &[
    &["SET", "k", "before"],
    &["CONFIG", "SET", "min-replicas-to-write", "1"],
    &["CONFIG", "GET", "min-replicas-to-write"],
    &["CONFIG", "GET", "min-slaves-max-lag"],
    &["SET", "k", "v"],
    &["INCR", "n"],
    &["GET", "k"],
    &["MULTI"],
    &["SET", "k", "queued"],
    &["GET", "k"],
    &["EXEC"],
    &["EVAL", "return redis.call('GET', KEYS[1])", "1", "k"],
    &["EVAL", "return redis.call('SET', KEYS[1], 'x')", "1", "k"],
    &["EVAL", "return redis.pcall('SET', KEYS[1], 'x')", "1", "k"],
    &["EVAL", "#!lua\nreturn redis.call('SET', KEYS[1], 'x')", "1", "k"],
    &["EVAL", "#!lua flags=no-writes\nreturn redis.call('GET', KEYS[1])", "1", "k"],
    &["CONFIG", "SET", "min-replicas-to-write", "0"],
    &["FUNCTION", "LOAD", "#!lua name=lib\nredis.register_function('w', function(k) return redis.call('SET', k[1], 'f') end)\nredis.register_function{function_name='r', callback=function(k) return redis.call('GET', k[1]) end, flags={'no-writes'}}"],
    &["CONFIG", "SET", "min-slaves-to-write", "2", "min-slaves-max-lag", "5"],
    &["CONFIG", "GET", "min-replicas-max-lag"],
    &["CONFIG", "GET", "min-slaves-to-write"],
    &["FCALL", "w", "1", "k"],
    &["FCALL", "r", "1", "k"],
    &["FCALL_RO", "r", "1", "k"],
    &["SET", "k", "v"],
    &["CONFIG", "SET", "min-replicas-max-lag", "0"],
    &["SET", "k", "lag zero turns the check off"],
    &["CONFIG", "SET", "min-replicas-max-lag", "10", "min-replicas-to-write", "0"],
    &["SET", "k", "after"],
    &["GET", "k"],
    &["FUNCTION", "FLUSH"],
];

#[test]
fn min_replicas_matches_redis_server_in_resp2() {
    assert_cases(CASES, "2");
}

#[test]
fn min_replicas_matches_redis_server_in_resp3() {
    assert_cases(CASES, "3");
}
