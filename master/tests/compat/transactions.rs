//! Transactions in pipelines: MULTI/EXEC blocks sent in one pipeline
//! with plain writes and reads around them join those writes on the write
//! path (one job for the run, each EXEC one unit of it, MULTI's and the
//! queued commands' replies answered in their turn). Every reply must be
//! redis-server's.

use super::common::{InProc, RedisServer};
use super::{draws, same_replies, send, Arg, Pipe, Raw};

/// Random pipelines of transactions (a sliding-window limiter's
/// ZREMRANGEBYSCORE, ZADD, ZCARD and PEXPIRE; INCR, a push onto a key of
/// another type; reads only; a command refused while queued, which
/// aborts the EXEC; a nested MULTI; DISCARD; EXEC without MULTI) among
/// plain writes and reads (reads behind writes join them on the write
/// path); then WATCH in a pipeline, broken by the
/// client's own write before MULTI and not by another key's, and an
/// EVALSHA inside a transaction of the script an EVAL before it loaded.
#[test]
fn pipelined_transactions_match_redis_server() {
    let (redis, ours) = (RedisServer::start(&[]), InProc::start());
    let mut theirs = Raw::connect(("127.0.0.1", redis.port));
    let mut mine = Raw::connect(ours.addr);
    let mut next = draws(0x5851_f42d_4c95_7f2d);
    for round in 0..40u64 {
        let mut p = Pipe::default();
        for i in 0..150u64 {
            let key = format!("k{}", next(8));
            let counter = format!("c{}", next(3));
            match next(12) {
                0..=4 => {
                    let t = round * 1000 + i;
                    p.cmd("MULTI");
                    p.cmd("ZREMRANGEBYSCORE")
                        .arg(&key)
                        .arg("-inf")
                        .arg(t.saturating_sub(40));
                    p.cmd("ZADD").arg(&key).arg(t).arg(format!("m{t}"));
                    p.cmd("ZCARD").arg(&key);
                    p.cmd("PEXPIRE").arg(&key).arg(100_000);
                    p.cmd("EXEC");
                }
                5 => {
                    p.cmd("MULTI");
                    p.cmd("INCR").arg(&counter);
                    p.cmd("LPUSH").arg(&key).arg("x");
                    p.cmd("GET").arg(&counter);
                    p.cmd("EXEC");
                }
                6 => {
                    p.cmd("MULTI");
                    p.cmd("GET").arg(&counter);
                    p.cmd("ZCARD").arg(&key);
                    p.cmd("EXEC");
                }
                7 => {
                    p.cmd("MULTI");
                    p.cmd("INCR").arg(&counter);
                    p.cmd("NOSUCHCOMMAND");
                    p.cmd("INCR").arg(&counter);
                    p.cmd("EXEC");
                }
                8 => {
                    p.cmd("MULTI");
                    p.cmd("MULTI");
                    p.cmd("INCR").arg(&counter);
                    p.cmd("EXEC");
                }
                9 => {
                    p.cmd("MULTI");
                    p.cmd("INCR").arg(&counter);
                    p.cmd("DISCARD");
                }
                10 => {
                    p.cmd("EXEC");
                }
                _ => {
                    // reads behind writes, which join them on the write path
                    p.cmd("SET").arg(format!("s{}", next(4))).arg(i);
                    p.cmd("INCR").arg(&counter);
                    p.cmd("GET").arg("s0");
                    p.cmd("ZADD").arg(&key).arg(i).arg(format!("p{i}"));
                    p.cmd("ZCARD").arg(&key);
                    p.cmd("ZSCORE").arg(&key).arg(format!("p{i}"));
                    p.cmd("EXISTS").arg(&key).arg("s1");
                    p.cmd("HGET").arg(&key).arg("f");
                    p.cmd("SCARD").arg(&key);
                    p.cmd("TYPE").arg(&key);
                    p.cmd("STRLEN").arg("s0");
                }
            }
        }
        same_replies(&mut theirs, &mut mine, &p, &format!("round {round}"));
    }
    let mut p = Pipe::default();
    p.cmd("SET").arg("w").arg(1);
    p.cmd("WATCH").arg("w");
    p.cmd("SET").arg("w").arg(2);
    p.cmd("MULTI");
    p.cmd("INCR").arg("w");
    p.cmd("EXEC");
    p.cmd("WATCH").arg("other");
    p.cmd("INCR").arg("w");
    p.cmd("MULTI");
    p.cmd("INCR").arg("w");
    p.cmd("EXEC");
    p.cmd("GET").arg("w");
    // A script the EVAL before the transaction loads, named by EVALSHA
    // inside it.
    let incr = "return redis.call('INCR', KEYS[1])";
    p.cmd("SET").arg("e").arg(1);
    p.cmd("EVAL").arg(incr).arg(1).arg("e");
    p.cmd("MULTI");
    p.cmd("EVALSHA")
        .arg("61636018f4e6b5817b89791bbed242f93fa089e3")
        .arg(1)
        .arg("e");
    p.cmd("INCR").arg("e");
    p.cmd("EXEC");
    assert_eq!(
        send(&mut theirs, &p),
        send(&mut mine, &p),
        "WATCH in a pipeline"
    );
    let mut p = Pipe::default();
    p.cmd("DBSIZE");
    p.cmd("MGET")
        .arg("c0")
        .arg("c1")
        .arg("c2")
        .arg("s0")
        .arg("w");
    assert_eq!(send(&mut theirs, &p), send(&mut mine, &p), "what is left");
}
