//! HyperLogLog against redis-server: PFADD, PFCOUNT, PFMERGE and PFDEBUG
//! replies and the very bytes a GET returns, in RESP2 and RESP3, from a
//! handful of elements (sparse) to tens of thousands (dense), merges of
//! each kind, errors and corrupted values.

use super::common::{InProc, RedisServer};
use super::scripting::assert_cases;
use super::{differs, Raw};

const CASES: &[&[&str]] = &[
    &["pfadd", "h1", "a", "b", "c"],
    &["get", "h1"],
    &["pfcount", "h1"],
    &["get", "h1"],
    &["pfadd", "h1", "a"],
    &["pfadd", "h1", "d"],
    &["get", "h1"],
    &["pfadd", "h2"],
    &["get", "h2"],
    &["pfcount", "h1", "h2", "nokey"],
    &["pfmerge", "h3", "h1", "h2"],
    &["get", "h3"],
    &["pfdebug", "encoding", "h3"],
    &["pfdebug", "decode", "h3"],
    &["pfdebug", "todense", "h3"],
    &["pfdebug", "todense", "h3"],
    &["pfdebug", "encoding", "h3"],
    &["pfdebug", "decode", "h3"],
    &["get", "h3"],
    &["pfcount", "h3"],
    &["pfdebug", "nosuch", "h3"],
    &["pfdebug", "getreg", "nokey"],
    &["pfdebug", "getreg", "h1", "x"],
    &["set", "s", "hello"],
    &["pfadd", "s", "a"],
    &["pfcount", "s"],
    &["pfmerge", "s", "h1"],
    &["lpush", "l", "a"],
    &["pfadd", "l", "a"],
    &["pfcount", "l"],
    &["pfcount", "h1", "l"],
    &["pfmerge", "h4", "h1", "l"],
    &["set", "bad", "HYLL\u{0001}\u{0000}\u{0000}\u{0000}\u{0000}\u{0000}\u{0000}\u{0000}\u{0000}\u{0000}\u{0000}ÿ"],
    &["pfcount", "bad"],
    &["pfadd", "bad", "x"],
    &["expire", "h1", "1000"],
    &["pfadd", "h1", "zz"],
    &["ttl", "h1"],
    &["pfcount", "h1"],
    &["ttl", "h1"],
    &["config", "set", "hll-sparse-max-bytes", "30"],
    &["pfadd", "h5", "1", "2", "3", "4", "5", "6", "7", "8", "9", "10"],
    &["pfdebug", "encoding", "h5"],
    &["config", "set", "hll-sparse-max-bytes", "3000"],
    &["pfadd"],
    &["pfcount"],
    &["pfmerge"],
];

#[test]
fn hyperloglogs_match_redis_server_in_resp2() {
    assert_cases(CASES, "2");
}

#[test]
fn hyperloglogs_match_redis_server_in_resp3() {
    assert_cases(CASES, "3");
}

/// Growth through the sparse encoding into the dense one, repeated
/// elements, counts (and the count each PFCOUNT stores), and merges of
/// sparse and dense values: every reply and every GET equal.
#[test]
fn hyperloglog_bytes_match_redis_server_as_they_grow_and_merge() {
    let redis = RedisServer::start(&[]);
    let ours = InProc::start();
    let mut theirs = Raw::connect(("127.0.0.1", redis.port));
    let mut mine = Raw::connect(ours.addr);
    let mut mismatches = Vec::new();
    let mut both = |cmd: &[String]| {
        let args: Vec<&str> = cmd.iter().map(String::as_str).collect();
        let (a, b) = (theirs.call_bytes(&args), mine.call_bytes(&args));
        if let Some(d) = differs(&format!("{:?}", &args[..args.len().min(4)]), &a, &b) {
            mismatches.push(d);
        }
    };
    let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
    let mut n = 0u64;
    for round in 0..40u64 {
        // A batch of new elements, and some seen before.
        let batch = 1 + round * round * 3;
        let mut cmd = s(&["PFADD", "grow"]);
        for _ in 0..batch {
            cmd.push(format!("e{n}"));
            n += 1;
        }
        cmd.push(format!("e{}", n / 2));
        both(&cmd);
        both(&s(&["GET", "grow"]));
        both(&s(&["PFCOUNT", "grow"]));
        both(&s(&["GET", "grow"]));
        if round % 8 == 0 {
            both(&s(&[
                "PFADD",
                &format!("small{round}"),
                "a",
                "b",
                &format!("r{round}"),
            ]));
        }
    }
    both(&s(&["PFDEBUG", "ENCODING", "grow"]));
    both(&s(&["PFMERGE", "m1", "small0", "small8", "small16"]));
    both(&s(&["GET", "m1"]));
    both(&s(&["PFMERGE", "m2", "small0", "grow"]));
    both(&s(&["GET", "m2"]));
    both(&s(&["PFMERGE", "small24", "small32"]));
    both(&s(&["GET", "small24"]));
    both(&s(&["PFCOUNT", "grow", "small0", "m1", "nokey"]));
    both(&s(&["PFDEBUG", "GETREG", "small32"]));
    both(&s(&["GET", "small32"]));
    assert!(
        mismatches.is_empty(),
        "{} differ:\n{}",
        mismatches.len(),
        mismatches.join("\n")
    );
}
