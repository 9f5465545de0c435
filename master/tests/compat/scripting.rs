//! Lua scripting against redis-server: the same scripts, replies equal
//! byte for byte, in RESP2 and in RESP3 (conversions both ways, errors
//! with the script's name and line, the sandbox, the cache), and a
//! script that runs too long: BUSY for others, SCRIPT KILL.

use std::io::Write;
use std::time::Duration;

use super::common::{InProc, RedisServer};
use super::{differs, Raw};

const CASES: &[&[&str]] = &[
    &["SET", "s", "x"],
    // conversions, Lua → reply
    &[
        "EVAL",
        "return {1,2,3.7,'a',{ok='x'},false,true,nil,5}",
        "0",
    ],
    &["EVAL", "return 3.99", "0"],
    &["EVAL", "return -3.99", "0"],
    &["EVAL", "return 'str'", "0"],
    &["EVAL", "return nil", "0"],
    &["EVAL", "return false", "0"],
    &["EVAL", "return true", "0"],
    &["EVAL", "return {}", "0"],
    &["EVAL", "return {err='x'}", "0"],
    &["EVAL", "return {err='MY code'}", "0"],
    &["EVAL", "return {ok='fine'}", "0"],
    &["EVAL", "return {double=1.5}", "0"],
    &["EVAL", "return {double=0.1}", "0"],
    &["EVAL", "return {{1,{2,{3}}},'x'}", "0"],
    &["EVAL", "return redis.error_reply('E2 x')", "0"],
    &["EVAL", "return redis.status_reply('FINE')", "0"],
    &["EVAL", "return redis.sha1hex('')", "0"],
    &["EVAL", "return redis.sha1hex('abc')", "0"],
    // Redis's libraries are read-only
    &["EVAL", "return redis.foo", "0"],
    &["EVAL", "return type(string.foo)", "0"],
    &["EVAL", "redis.foo = 1", "0"],
    &["EVAL", "string.foo = 1", "0"],
    &["EVAL", "cjson.encode = nil", "0"],
    &["EVAL", "return string.upper('a') .. ('b'):upper()", "0"],
    &[
        "EVAL",
        "return KEYS[1]..ARGV[1]..#KEYS..#ARGV",
        "1",
        "k",
        "a",
        "b",
    ],
    &[
        "EVAL",
        "return {KEYS[1], ARGV[2]}",
        "2",
        "k1",
        "k2",
        "a1",
        "a2",
    ],
    // argument errors
    &["EVAL", "return 1", "2", "k"],
    &["EVAL", "return 1", "-1"],
    &["EVAL", "return 1", "x"],
    &["EVAL", "return 1"],
    // calls and their replies as Lua values
    &[
        "EVAL",
        "return redis.call('set', KEYS[1], ARGV[1])",
        "1",
        "sk",
        "v",
    ],
    &["EVAL", "return redis.call('get', KEYS[1])", "1", "sk"],
    &["EVAL", "return redis.call('get', 'nokey')", "0"],
    // a command's error keeps its code (WRONGTYPE), raised or caught
    &["EVAL", "return redis.call('lpush', KEYS[1], 'x')", "1", "s"],
    &["EVAL", "return redis.pcall('lpush', KEYS[1], 'x')", "1", "s"],
    &["EVAL", "return type(redis.call('get', 'nokey'))", "0"],
    &["EVAL", "return redis.call('incrby', 'n', 5)", "0"],
    &["EVAL", "return redis.call('incrbyfloat', 'f', 1.5)", "0"],
    &["EVAL", "return redis.call('lpush', 'l', 'a', 'b')", "0"],
    &["EVAL", "return redis.call('lrange', 'l', 0, -1)", "0"],
    &[
        "EVAL",
        "return redis.call('hset', 'h', 'a', '1', 'b', '2')",
        "0",
    ],
    &["EVAL", "return redis.call('hgetall', 'h')", "0"],
    &["EVAL", "return redis.call('hgetall', 'nokey')", "0"],
    &[
        "EVAL",
        "redis.setresp(3); return redis.call('hgetall', 'h')",
        "0",
    ],
    &[
        "EVAL",
        "redis.setresp(3); return redis.call('hgetall', 'h').map.a",
        "0",
    ],
    &[
        "EVAL",
        "return redis.call('zadd', 'z', 1.5, 'm', 2, 'n')",
        "0",
    ],
    &["EVAL", "return redis.call('zscore', 'z', 'm')", "0"],
    &[
        "EVAL",
        "redis.setresp(3); return redis.call('zscore', 'z', 'm')",
        "0",
    ],
    &[
        "EVAL",
        "redis.setresp(3); return redis.call('zscore', 'z', 'm').double * 2",
        "0",
    ],
    &[
        "EVAL",
        "return redis.call('zrange', 'z', 0, -1, 'withscores')",
        "0",
    ],
    &[
        "EVAL",
        "redis.setresp(3); return redis.call('zrange', 'z', 0, -1, 'withscores')",
        "0",
    ],
    &[
        "EVAL",
        "redis.setresp(3); return redis.call('get', 'nokey')",
        "0",
    ],
    &[
        "EVAL",
        "redis.setresp(3); return redis.call('smembers', 'nokey')",
        "0",
    ],
    &["EVAL", "redis.setresp(3); return {true, false}", "0"],
    &["EVAL", "redis.setresp(3); return true", "0"],
    &["EVAL", "redis.setresp(3); return false", "0"],
    &["EVAL", "return redis.call('ping')", "0"],
    &["EVAL", "return redis.call('echo', 'hi')", "0"],
    &["EVAL", "return #redis.call('time')", "0"],
    &["EVAL", "return redis.pcall('incr', 's')", "0"],
    &[
        "EVAL",
        "local r = redis.pcall('incr', 's'); return r.err",
        "0",
    ],
    // errors raised in the script: named by sha and line
    &["EVAL", "return redis.call('incr', 's')", "0"],
    &[
        "EVAL",
        "local a = 1\nlocal b = 2\nreturn redis.call('incr', 's')",
        "0",
    ],
    &["EVAL", "return redis.call('nosuch')", "0"],
    &["EVAL", "return redis.call('subscribe', 'x')", "0"],
    &["EVAL", "return redis.call('multi')", "0"],
    &["EVAL", "return redis.call('blpop', 'nol', '0')", "0"],
    &["EVAL", "return redis.call('eval', 'return 1', '0')", "0"],
    &["EVAL", "return redis.call('get')", "0"],
    &["EVAL", "return redis.call()", "0"],
    &["EVAL", "return redis.call({})", "0"],
    &["EVAL", "error('boom')", "0"],
    &["EVAL", "error({err='MY boom'})", "0"],
    &["EVAL", "return redis.setresp(4)", "0"],
    &["EVAL", "return 1 +", "0"],
    &["EVAL", "local t = nil; return t.x", "0"],
    // the sandbox
    &["EVAL", "return x", "0"],
    &["EVAL", "x = 1", "0"],
    &["EVAL", "redis = 1", "0"],
    &["EVAL", "return os.clock()", "0"],
    &["EVAL", "return print", "0"],
    &["EVAL", "return loadstring", "0"],
    &["EVAL", "return dofile", "0"],
    &["EVAL", "return type(string.format)", "0"],
    &["EVAL", "return string.format('%d-%s', 7, 'x')", "0"],
    &["EVAL", "return math.floor(7.9)", "0"],
    &["EVAL", "return table.concat({'a','b'}, ',')", "0"],
    &["EVAL", "return tonumber('12') + 1", "0"],
    &["EVAL", "return bit.band(7, 3)", "0"],
    &["EVAL", "return bit.tohex(255)", "0"],
    &[
        "EVAL",
        "return redis.log(redis.LOG_WARNING, 'from a test')",
        "0",
    ],
    &["EVAL", "return redis.status_reply(1)", "0"],
    &["EVAL", "return redis.call('set', 'num', 1.5)", "0"],
    &[
        "EVAL",
        "redis.call('set', 'num', 1e20); return redis.call('get', 'num')",
        "0",
    ],
    &["EVAL", "return redis.call('set', 'a', true)", "0"],
    // cjson
    &[
        "EVAL",
        "return cjson.encode({a=1,b={1,2,{c='x/y'}},d=0.1,e=1/3,f=1e20})",
        "0",
    ],
    &["EVAL", "return cjson.encode({})", "0"],
    &["EVAL", "return cjson.encode({[1]='a',[3]='c'})", "0"],
    &["EVAL", "return cjson.encode({[1]='a',x='c'})", "0"],
    &["EVAL", "return cjson.decode('{\"a\":[1,2,3]}').a[2]", "0"],
    &[
        "EVAL",
        "return cjson.encode(cjson.decode('[\"\\\\u00e9\", 1.5e300, -2, true, null]'))",
        "0",
    ],
    &["EVAL", "return cjson.decode('[1,')", "0"],
    &["EVAL", "return cjson.decode('{\"a\" 1}')", "0"],
    &["EVAL", "return cjson.decode('[1] x')", "0"],
    &["EVAL", "return cjson.decode('x')", "0"],
    &["EVAL", "return cjson.encode({[1] = 1, [20] = 2})", "0"],
    &["EVAL", "return cjson.encode(function() end)", "0"],
    &["EVAL", "return cjson.encode(0/0)", "0"],
    // read-only scripts
    &["EVAL_RO", "return redis.call('get', 'sk')", "0"],
    &["EVAL_RO", "return redis.call('set', 'a', 'b')", "0"],
    &[
        "EVALSHA_RO",
        "ffffffffffffffffffffffffffffffffffffffff",
        "0",
    ],
    // the cache
    &["SCRIPT", "LOAD", "return 'hi'"],
    &["EVALSHA", "2f31ba2bb6d6a0f42cc159d2e2dad55440778de3", "0"],
    &["EVALSHA", "2F31BA2BB6D6A0F42CC159D2E2DAD55440778DE3", "0"],
    &[
        "SCRIPT",
        "EXISTS",
        "2f31ba2bb6d6a0f42cc159d2e2dad55440778de3",
        "ffff",
    ],
    &["SCRIPT", "LOAD", "return 1 +"],
    &["SCRIPT", "FLUSH", "BOGUS"],
    &["SCRIPT", "FLUSH"],
    &[
        "SCRIPT",
        "EXISTS",
        "2f31ba2bb6d6a0f42cc159d2e2dad55440778de3",
    ],
    &["EVALSHA", "2f31ba2bb6d6a0f42cc159d2e2dad55440778de3", "0"],
    &["EVALSHA", "fff", "0"],
    &["SCRIPT", "KILL"],
    // writes before an error stay (Redis has no rollback)
    &[
        "EVAL",
        "redis.call('set', 'kept', '1'); return redis.call('incr', 's')",
        "0",
    ],
    &["GET", "kept"],
    // a script that does not compile is not cached; bytecode is refused
    &["EVAL", "return 1 +", "0"],
    &[
        "SCRIPT",
        "EXISTS",
        "2b1542794fdd1688e17864bfe9b6bd02547420a8",
    ],
    &["EVAL", "\u{1b}LuaQ\u{0}\u{1}", "0"],
    &["SCRIPT", "LOAD", "\u{1b}LuaQ"],
    // scripts and functions inside MULTI/EXEC run in their turn
    &["flushall"],
    &["script", "flush"],
    &["multi"],
    &["set", "k", "1"],
    &["eval", "return redis.call('incr',KEYS[1])", "1", "k"],
    &["evalsha", "ffffffffffffffffffffffffffffffffffffffff", "0"],
    &["eval", "return redis.call('get',KEYS[1])", "1", "k"],
    &["eval", "return redis.call('nosuch')", "0"],
    &["exec"],
    &["get", "k"],
    &["multi"],
    &["eval", "return 1", "x"],
    &["exec"],
    &["multi"],
    &["eval_ro", "return redis.call('set','a','b')", "1", "a"],
    &["fcall", "nofunc", "0"],
    &["exec"],
    &["function", "load", "replace", "#!lua name=l\nredis.register_function('f', function(k, a) return redis.call('incr', k[1]) end)"],
    &["multi"],
    &["fcall", "f", "1", "k"],
    &["fcall_ro", "f", "1", "k"],
    &["incr", "k"],
    &["exec"],
    &["watch", "k"],
    &["set", "k", "100"],
    &["multi"],
    &["eval", "return redis.call('incr',KEYS[1])", "1", "k"],
    &["exec"],
    &["get", "k"],
    &["function", "flush"],
    // an EVALSHA of the script an EVAL before it in the EXEC ran
    &["SCRIPT", "FLUSH"],
    &["MULTI"],
    &["EVAL", "return 7", "0"],
    &["EVALSHA", "59b6ab2fbe0ee4b25733de0f62e6cda4899ef8e9", "0"],
    &["EXEC"],
    // cmsgpack and struct, as Redis ships them
    &["EVAL", "local s = cmsgpack.pack({1,2,3}, {a=1}, 'x', 1.5, -1, 2^40, true, nil) return (s:gsub('.', function(c) return string.format('%02x', c:byte()) end))", "0"],
    &["EVAL", "return {cmsgpack.unpack(cmsgpack.pack({1,2,{3,'a'}}, 'q', 7))}", "0"],
    &["EVAL", "return {cmsgpack.unpack_one(cmsgpack.pack(1, 2, 3))}", "0"],
    &["EVAL", "return {cmsgpack.unpack_one(cmsgpack.pack(1, 2, 3), 2)}", "0"],
    &["EVAL", "return {cmsgpack.unpack_limit(cmsgpack.pack(1, 2, 3), 2)}", "0"],
    &["EVAL", "return cmsgpack.unpack('\\196')", "0"],
    &["EVAL", "return cmsgpack.pack()", "0"],
    &["EVAL", "return cmsgpack._VERSION", "0"],
    &["EVAL", "return struct.pack('>iHb', 1, 2, 3)", "0"],
    &["EVAL", "return {struct.unpack('>iHb', struct.pack('>iHb', 1, 2, 3))}", "0"],
    &["EVAL", "return struct.size('i4h')", "0"],
    &["EVAL", "return struct.pack('i17', 1)", "0"],
    &["EVAL", "return struct.unpack('i', 'ab')", "0"],
    &["EVAL", "return struct.pack('i', {})", "0"],
    &["EVAL", "return {struct.unpack('s c3', 'ab\\0xyz')}", "0"],
    &["EVAL", "cmsgpack.pack = nil return 1", "0"],
    &["EVAL", "return {cmsgpack.unpack_limit(cmsgpack.pack(1, 2, 3), 0, 1)}", "0"],
    &["EVAL", "return {cmsgpack.unpack_limit(cmsgpack.pack(1, 2, 3), 0)}", "0"],
    &["EVAL", "return cmsgpack.unpack_one('abc', -1)", "0"],
    &["EVAL", "local t = {} for i = 1, 20 do t = {t} end local s = cmsgpack.pack(t) return #s", "0"],
    &["EVAL", "local s = cmsgpack.pack({[1]='a', [3]='c'}, {}, {x={y={1}}}, 'a' .. string.rep('b', 40), string.rep('z', 300)) return (s:gsub('.', function(c) return string.format('%02x', c:byte()) end))", "0"],
    &["EVAL", "return cmsgpack.unpack(cmsgpack.pack(0.1, -0.5, 1e300, -2^63, 2^64))", "0"],
    &["EVAL", "return {struct.unpack('<d f l L B b h', struct.pack('<d f l L B b h', 1.25, 0.5, -3, 3, 255, -1, -2))}", "0"],
    &["EVAL", "return struct.pack('>i3 x c2 s', 70000, 'ab', 'zz')", "0"],
    &["EVAL", "return {struct.unpack('!4 b i', struct.pack('!4 b i', 1, 2))}", "0"],
    &["EVAL", "return struct.pack('q', 1)", "0"],
    &["EVAL", "return struct.size('s')", "0"],
    &["EVAL", "return struct.unpack('i', 'abcd', 0)", "0"],
    &["EVAL", "return struct.pack('i', nil)", "0"],
];

/// Each of `cases` on a fresh redis-server and rocksync in protocol
/// `proto`: every reply equal, or the test fails listing those that
/// differ.
pub(super) fn assert_cases(cases: &[&[&str]], proto: &str) {
    let m = run_cases(cases, proto);
    assert!(m.is_empty(), "{} differ:\n{}", m.len(), m.join("\n"));
}

/// Each of `cases` on a fresh redis-server and rocksync in protocol
/// `proto`: the replies that differ.
fn run_cases(cases: &[&[&str]], proto: &str) -> Vec<String> {
    let redis = RedisServer::start(&[]);
    let ours = InProc::start();
    let mut theirs = Raw::connect(("127.0.0.1", redis.port));
    let mut mine = Raw::connect(ours.addr);
    theirs.call(&["HELLO", proto]);
    mine.call(&["HELLO", proto]);
    let mut mismatches = Vec::new();
    for cmd in cases {
        let (a, b) = (theirs.call_bytes(cmd), mine.call_bytes(cmd));
        if let Some(d) = differs(&format!("RESP{proto} {cmd:?}"), &a, &b) {
            mismatches.push(d);
        }
    }
    mismatches
}

#[test]
fn scripts_match_redis_server_in_resp2() {
    assert_cases(CASES, "2");
}

#[test]
fn scripts_match_redis_server_in_resp3() {
    assert_cases(CASES, "3");
}

/// The cases sent as one pipeline, where rocksync runs the scripts as one
/// batch on the write path (each still its own unit), with an EVAL and
/// then an EVALSHA of its script, which the EVAL cached before it runs:
/// every reply equal to redis-server's, in order.
#[test]
fn pipelined_scripts_match_redis_server() {
    let redis = RedisServer::start(&[]);
    let ours = InProc::start();
    let mut theirs = Raw::connect(("127.0.0.1", redis.port));
    let mut mine = Raw::connect(ours.addr);
    let body = "return 'cached by the eval before'";
    let sha_of = |c: &mut Raw| c.call_bytes(&["EVAL", "return redis.sha1hex(ARGV[1])", "0", body]);
    let sha = sha_of(&mut theirs);
    assert_eq!(sha, sha_of(&mut mine));
    let sha = String::from_utf8_lossy(&sha)
        .lines()
        .nth(1)
        .unwrap_or_default()
        .to_owned();
    let mut cases: Vec<&[&str]> = CASES.to_vec();
    let cached: [&str; 3] = ["EVAL", body, "0"];
    let by_sha: [&str; 3] = ["EVALSHA", &sha, "0"];
    cases.extend([&cached[..], &by_sha[..]]);
    let mut batch = bytes::BytesMut::new();
    for cmd in &cases {
        rocksync_protocol::put_command(&mut batch, cmd);
    }
    theirs.stream.write_all(&batch).expect("send");
    mine.stream.write_all(&batch).expect("send");
    let mut mismatches = Vec::new();
    for cmd in &cases {
        let (a, b) = (theirs.next_bytes(), mine.next_bytes());
        if let Some(d) = differs(&format!("pipelined {cmd:?}"), &a, &b) {
            mismatches.push(d);
        }
    }
    assert!(
        mismatches.is_empty(),
        "{} differ:\n{}",
        mismatches.len(),
        mismatches.join("\n")
    );
    let last = mine.call_bytes(&["EVALSHA", &sha, "0"]);
    assert!(
        last.starts_with(b"$"),
        "the EVAL cached its script: {last:?}"
    );
}

/// rocksync alone: twenty thousand scripts in a row (one of them stray
/// globals set past the sandbox) leave the interpreter as it was: the
/// Lua stack does not grow with each run (mlua's `Table::clear` left a
/// value on it, and the 7 997th script failed).
#[test]
fn twenty_thousand_scripts_leave_the_interpreter_as_it_was() {
    let ours = InProc::start();
    let mut c = Raw::connect(ours.addr);
    c.call(&["EVAL", "rawset(_G, 'stray', 1)", "0"]);
    let mut batch = bytes::BytesMut::new();
    for _ in 0..200 {
        rocksync_protocol::put_command(
            &mut batch,
            &["EVAL", "return redis.call('INCR', KEYS[1])", "1", "runs"],
        );
    }
    for round in 0..100 {
        c.stream.write_all(&batch).expect("send");
        for i in 0..200 {
            let reply = c.next_bytes();
            let n = round * 200 + i + 1;
            assert_eq!(reply, format!(":{n}\r\n").into_bytes(), "script {n}");
        }
    }
    let stray = c.call_bytes(&["EVAL", "return rawget(_G, 'stray')", "0"]);
    assert_eq!(stray, b"$-1\r\n");
}

/// rocksync alone: what Redis's read-only tables forbid cannot leak from
/// one script to the next here either, and SCRIPT KILL stops a script that
/// catches errors with pcall, which a kill must get through.
#[test]
fn scripts_cannot_leak_state_or_outlive_script_kill() {
    let ours = InProc::start();
    let mut c = Raw::connect(ours.addr);
    // rawset past the proxy: gone before the next script
    c.call(&["EVAL", "rawset(_G, 'KEYS', {'victim'})", "0"]);
    let keys = c.call_bytes(&["EVAL", "return KEYS[1]", "1", "mine"]);
    assert_eq!(keys, b"$4\r\nmine\r\n");
    let fenv = c.call_bytes(&["EVAL", "return getfenv(0)", "0"]);
    assert!(
        fenv.starts_with(
            b"-ERR user_script:1: Script attempted to access nonexistent global variable 'getfenv'"
        ),
        "{}",
        String::from_utf8_lossy(&fenv)
    );
    // pcall catches everything but a kill
    let mut other = Raw::connect(ours.addr);
    c.send(&[
        "EVAL",
        "while true do pcall(function() while true do end end) end",
        "0",
    ]);
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(other.call_bytes(&["SCRIPT", "KILL"]), b"+OK\r\n");
    let killed = c.next_bytes();
    assert!(
        killed.starts_with(b"-ERR Script killed by user with SCRIPT KILL..."),
        "{}",
        String::from_utf8_lossy(&killed)
    );
    assert_eq!(other.call_bytes(&["PING"]), b"+PONG\r\n");
}

/// A script past busy-reply-threshold: other clients get BUSY (SCRIPT
/// KILL excepted), SCRIPT KILL stops a script that has not written and
/// its caller gets Redis's error; one that wrote cannot be killed.
#[test]
fn a_long_script_makes_others_busy_until_killed() {
    let redis = RedisServer::start(&[]);
    let ours = InProc::start();
    let mut got = Vec::new();
    for addr in [([127, 0, 0, 1], redis.port).into(), ours.addr] {
        let addr: std::net::SocketAddr = addr;
        let mut other = Raw::connect(addr);
        let mut steps = Vec::new();
        steps.push(other.call_bytes(&["CONFIG", "SET", "busy-reply-threshold", "200"]));
        let mut runner = Raw::connect(addr);
        let spin = "local i = 0 while true do i = i + 1 end";
        runner.send(&["EVAL", spin, "0"]);
        std::thread::sleep(Duration::from_millis(500));
        steps.push(other.call_bytes(&["PING"]));
        steps.push(other.call_bytes(&["GET", "x"]));
        steps.push(other.call_bytes(&["SCRIPT", "KILL"]));
        steps.push(runner.next_bytes());
        steps.push(other.call_bytes(&["PING"]));
        // A script that wrote cannot be killed.
        let writes =
            "redis.call('set', 'w', '1') local i = 0 while i < 1e8 do i = i + 1 end return i";
        runner.send(&["EVAL", writes, "0"]);
        std::thread::sleep(Duration::from_millis(400));
        steps.push(other.call_bytes(&["SCRIPT", "KILL"]));
        steps.push(runner.next_bytes());
        steps.push(other.call_bytes(&["GET", "w"]));
        got.push(steps);
    }
    let show = |s: &[Vec<u8>]| {
        s.iter()
            .map(|b| String::from_utf8_lossy(b).into_owned())
            .collect::<Vec<_>>()
    };
    assert_eq!(show(&got[0]), show(&got[1]));
}

impl Raw {
    /// Send a command without reading its reply.
    pub(super) fn send(&mut self, args: &[&str]) {
        let mut out = bytes::BytesMut::new();
        rocksync_protocol::put_command(&mut out, args);
        self.stream.write_all(&out).expect("send");
    }
}
