//! Functions against redis-server: FUNCTION LOAD's checks and errors,
//! FCALL and FCALL_RO with their flags, FUNCTION LIST / STATS / DELETE /
//! FLUSH, a script's `#!lua` line, byte for byte in RESP2 and RESP3; and
//! FUNCTION DUMP payloads that restore both ways.

use super::common::{InProc, RedisServer};
use super::scripting::assert_cases;
use super::Raw;
use std::time::Duration;

const CASES: &[&[&str]] = &[
    &["function", "load", "#!lua name=mylib\nredis.register_function('myfunc', function(keys, args) return redis.call('set', keys[1], args[1]) end)"],
    &["function", "load", "#!lua name=mylib\nredis.register_function('myfunc', function(keys, args) return 1 end)"],
    &["function", "load", "#!lua name=lib2\nredis.register_function('myfunc', function(keys, args) return 1 end)"],
    &["function", "load", "#!lua name=lib3\nlocal x = string.format('%d', 1)\nredis.register_function('f3', function(keys, args) return x end)"],
    &["function", "load", "#!lua name=lib4\nredis.call('ping')"],
    &["function", "load", "#!lua name=lib5\nreturn 1"],
    &["function", "load", "#!lua name=lib6\nredis.register_function{function_name='f6', callback=function(keys, args) return {keys[1], args[1], #keys, #args} end, flags={'no-writes'}, description='desc6'}"],
    &["function", "load", "#!lua name=lib7\nredis.register_function('f7', function(keys, args) return redis.call('nosuch') end)\nredis.register_function('f8', function(keys, args) error('boom') end)\nredis.register_function('f9', function(keys, args) return redis.call('set', keys[1], 'x') end)"],
    &["function", "load", "lua name=x\n"],
    &["function", "load", "#!lua name=a b\n"],
    &["function", "load", "#!lua\n"],
    &["function", "load", "#!py name=x\n"],
    &["function", "load", "#!lua name=x-y\n"],
    &["function", "load", "#!lua name=x\nfoo("],
    &["function", "load", "#!lua name=x\nredis.register_function('a-b', function() end)"],
    &["function", "load", "#!lua name=x\nredis.register_function{function_name='a', callback=function() end, flags={'bad'}}"],
    &["function", "load", "#!lua name=x\nredis.register_function('a', function() end)\nredis.register_function('a', function() end)"],
    &["function", "load", "#!lua name=x\nx = 1"],
    &["function", "load", "#!lua name=x\nredis.register_function('xx', function() return os.clock() > -1 end)"],
    &["fcall", "myfunc", "1", "k", "v"],
    &["fcall", "f6", "2", "k1", "k2", "a1"],
    &["fcall_ro", "myfunc", "1", "k", "v"],
    &["fcall_ro", "f6", "1", "k"],
    &["fcall", "f7", "0"],
    &["fcall", "f8", "0"],
    &["fcall_ro", "f9", "1", "k"],
    &["fcall", "nosuch", "0"],
    &["fcall", "f6", "x"],
    &["fcall", "f6", "5"],
    &["fcall", "f6", "-1"],
    &["fcall", "f3", "0"],
    &["function", "list", "withcode", "libraryname", "lib6"],
    &["function", "list", "libraryname"],
    &["function", "list", "bogus"],
    &["function", "stats"],
    &["function", "delete", "nosuch"],
    &["function", "delete", "lib3"],
    &["function", "flush", "bogus"],
    &["function", "restore", "garbage"],
    &["function", "kill"],
    &["function", "load"],
    &["function", "load", "replace"],
    &["function", "load", "bogus", "x"],
    &["function", "flush"],
    &["function", "load", "#!lua name=e1\nerror('boom')"],
    &["function", "load", "#!lua name=e2\nerror({err='MYERR x'})"],
    &["function", "load", "#!lua name=e3\nlocal a = nil; a()"],
    &["function", "load", "#!lua name=e4\nredis.register_function('a')"],
    &["function", "load", "#!lua name=e5\nredis.register_function('a', 1)"],
    &["function", "load", "#!lua name=e6\nredis.register_function(1, function() end)"],
    &["function", "load", "#!lua name=e7\nredis.register_function{function_name='a'}"],
    &["function", "load", "#!lua name=e8\nredis.register_function{callback=function() end}"],
    &["function", "load", "#!lua name=e9\nredis.register_function{function_name='a', callback=function() end, bogus=1}"],
    &["function", "load", "#!lua name=e10\nredis.register_function{function_name='a', callback=function() end, flags='no-writes'}"],
    &["function", "load", "#!lua name=e11\nredis.register_function('a', function() end, 3)"],
    &["function", "load", "#!lua name=e13\nredis.register_function{function_name='a13', callback=function() return 1 end, flags={'no-writes','allow-oom','allow-stale','no-cluster','allow-cross-slot-keys'}}"],
    &["function", "load", "#!lua name=e14\nlocal t = redis.setresp"],
    &["function", "load", "#!lua name=e15\nredis.register_function('a15', function(keys, args) return KEYS end)\nredis.register_function('a16', function(keys, args) redis.register_function('zz', function() end) end)\nredis.register_function('a17', function(keys, args) redis.setresp(3); return redis.call('hgetall', keys[1]) end)\nredis.register_function('a18', function(keys, args) x = 1 end)"],
    &["function", "load", "#!LUA name=E16\nredis.register_function('a19', function() return 1 end)"],
    &["function", "load", "#!lua NAME=e17\nredis.register_function('A19', function() return 1 end)"],
    &["function", "load", "#!lua name=e18 \nredis.register_function('a20', function() return 1 end)"],
    &["function", "load", "#!lua name=e19\r\nredis.register_function('a21', function() return 1 end)"],
    &["fcall", "a15", "0"],
    &["fcall", "a16", "0"],
    &["hset", "h", "f", "v"],
    &["fcall", "a17", "1", "h"],
    &["fcall", "a18", "0"],
    &["fcall_ro", "a13", "0"],
    &["function", "list", "libraryname", "e13"],
    &["function", "list", "libraryname", "E16"],
    &["function", "delete", "E16"],
    &["function", "delete", "e16"],
    &["function", "load", "#!lua name=e20\nwhile true do end"],
    &["function", "stats"],
    &["eval", "#!lua\nreturn 1", "0"],
    &["eval", "#!lua flags=no-writes\nreturn redis.call('set','k','v')", "0"],
    &["eval", "#!lua flags=no-writes,allow-oom\nreturn 2", "0"],
    &["eval", "#!lua flags=bogus\nreturn 2", "0"],
    &["eval", "#!lua name=x\nreturn 2", "0"],
    &["eval", "#!py\nreturn 2", "0"],
    &["eval", "#!lua", "0"],
    &["eval", "#!lua flags=\nreturn 3", "0"],
    &["eval", "#!lua\nerror('x')", "0"],
    &["eval_ro", "#!lua\nreturn 1", "0"],
    &["eval_ro", "#!lua flags=no-writes\nreturn 1", "0"],
    &["script", "load", "#!lua flags=bogus\nreturn 2"],
    &["FUNCTION", "LIST", "LIBRARYNAME", "mylib", "WITHCODE"],
    &["FUNCTION", "DELETE", "mylib"],
    &["FCALL", "myfunc", "1", "k", "v"],
    &["FUNCTION", "STATS"],
    &["FUNCTION", "FLUSH", "SYNC"],
    &["FUNCTION", "STATS"],
    &["FUNCTION", "LIST"],
    &["FUNCTION", "HELP"],
];

#[test]
fn functions_match_redis_server_in_resp2() {
    assert_cases(CASES, "2");
}

#[test]
fn functions_match_redis_server_in_resp3() {
    assert_cases(CASES, "3");
}

/// A FUNCTION DUMP of redis-server restores here, ours restores there
/// (Redis compresses, we do not: both read both), and each side then
/// lists and runs the same libraries.
#[test]
fn function_dumps_restore_both_ways() {
    let redis = RedisServer::start(&[]);
    let ours = InProc::start();
    let mut theirs = Raw::connect(("127.0.0.1", redis.port));
    let mut mine = Raw::connect(ours.addr);
    // long enough that Redis compresses it
    let body = format!("return 1 -- {}", "padding ".repeat(30));
    // (one function a library: Redis lists a library's functions, and
    // the libraries, in its hash tables' order)
    let lib = format!(
        "#!lua name=dumped\nredis.register_function('d1', function(keys, args) {body}\nend)"
    );
    assert_eq!(
        theirs.call_bytes(&["FUNCTION", "LOAD", &lib]),
        b"$6\r\ndumped\r\n"
    );
    let two = "#!lua name=two\nredis.register_function{function_name='d2', callback=function() return 2 end, flags={'no-writes'}, description='two'}";
    assert_eq!(
        theirs.call_bytes(&["FUNCTION", "LOAD", two]),
        b"$3\r\ntwo\r\n"
    );
    let dump = |c: &mut Raw| match c.call(&["FUNCTION", "DUMP"]) {
        rocksync_protocol::Reply::Bulk(b) => b,
        other => panic!("FUNCTION DUMP answered {other:?}"),
    };
    let from_redis = dump(&mut theirs);
    assert_eq!(
        mine.call_raw_bytes(&[b"FUNCTION", b"RESTORE", &from_redis]),
        b"+OK\r\n"
    );
    let lists = [
        ["FUNCTION", "LIST", "WITHCODE", "LIBRARYNAME", "dumped"],
        ["FUNCTION", "LIST", "WITHCODE", "LIBRARYNAME", "two"],
    ];
    for list in &lists {
        assert_eq!(theirs.call_bytes(list), mine.call_bytes(list));
    }
    for call in [["FCALL", "d1", "0"], ["FCALL_RO", "d2", "0"]] {
        assert_eq!(theirs.call_bytes(&call), mine.call_bytes(&call));
    }
    // a second restore of the same libraries: refused unless REPLACE
    let again = mine.call_raw_bytes(&[b"FUNCTION", b"RESTORE", &from_redis]);
    let again = String::from_utf8_lossy(&again);
    assert!(
        again == "-ERR Library dumped already exists\r\n"
            || again == "-ERR Library two already exists\r\n",
        "{again}"
    );
    let replaced = mine.call_raw_bytes(&[b"FUNCTION", b"RESTORE", &from_redis, b"REPLACE"]);
    assert_eq!(replaced, b"+OK\r\n");
    // ours, into a redis-server without it
    let from_us = dump(&mut mine);
    let mut damaged = from_us.to_vec();
    damaged[5] ^= 1;
    assert_eq!(
        mine.call_raw_bytes(&[b"FUNCTION", b"RESTORE", &damaged]),
        b"-ERR DUMP payload version or checksum are wrong\r\n"
    );
    theirs.call(&["FUNCTION", "FLUSH"]);
    assert_eq!(
        theirs.call_raw_bytes(&[b"FUNCTION", b"RESTORE", &from_us]),
        b"+OK\r\n"
    );
    for list in &lists {
        assert_eq!(theirs.call_bytes(list), mine.call_bytes(list));
    }
}

/// FUNCTION STATS while a function runs names it and its command line as
/// the client sent it (each call's own: the second call's arguments replace
/// the first's), and names none once FUNCTION KILL has stopped it; as
/// redis-server.
#[test]
fn function_stats_show_the_running_call() {
    let redis = RedisServer::start(&[]);
    let ours = InProc::start();
    // (the time it has run differs: masked)
    let masked = |reply: Vec<u8>| {
        let text = String::from_utf8_lossy(&reply).into_owned();
        match text.find("duration_ms\r\n:") {
            Some(at) => {
                let from = at + "duration_ms\r\n:".len();
                let to = from + text[from..].find("\r\n").unwrap_or(0);
                format!("{}N{}", &text[..from], &text[to..])
            }
            None => text,
        }
    };
    let mut got = Vec::new();
    for addr in [([127, 0, 0, 1], redis.port).into(), ours.addr] {
        let addr: std::net::SocketAddr = addr;
        let mut other = Raw::connect(addr);
        let mut steps = Vec::new();
        // (redis-server answers others only past the threshold)
        other.call_bytes(&["CONFIG", "SET", "busy-reply-threshold", "200"]);
        let lib = "#!lua name=spinner\nredis.register_function{function_name='spin', callback=function(keys, args) local i = 0 while true do i = i + 1 end end, flags={'no-writes'}}";
        steps.push(masked(other.call_bytes(&["FUNCTION", "LOAD", lib])));
        let mut runner = Raw::connect(addr);
        for call in [
            &["FCALL", "spin", "2", "k1", "k2", "a1"][..],
            &["fcall_ro", "SPIN", "1", "k3"][..],
        ] {
            runner.send(call);
            // Until it runs (bounded: a function that never starts
            // shows as none, and the comparison fails).
            let deadline = std::time::Instant::now() + Duration::from_secs(10);
            let stats = loop {
                let stats = masked(other.call_bytes(&["FUNCTION", "STATS"]));
                if !stats.contains("running_script\r\n$-1") || std::time::Instant::now() > deadline
                {
                    break stats;
                }
                std::thread::sleep(Duration::from_millis(20));
            };
            steps.push(stats);
            steps.push(masked(other.call_bytes(&["FUNCTION", "KILL"])));
            steps.push(masked(runner.next_bytes()));
        }
        steps.push(masked(other.call_bytes(&["FUNCTION", "STATS"])));
        got.push(steps);
    }
    assert_eq!(got[0], got[1]);
    // (the calls' own command lines, the second's not after the first's)
    assert!(got[1][1].contains("$5\r\nFCALL\r\n"), "{:?}", got[1][1]);
    assert!(
        got[1][4].contains("$8\r\nfcall_ro\r\n$4\r\nSPIN\r\n$1\r\n1\r\n$2\r\nk3\r\n$11")
            && !got[1][4].contains("k1"),
        "{:?}",
        got[1][4]
    );
}
