//! Lists with gaps: LREM takes elements out where they are, leaving gaps
//! between the others (no element moves), and every list command reads
//! through them. Every reply must be redis-server's, byte for byte, and
//! the lists must survive a restart.

use super::common::{InProc, RedisServer};
use super::{draws, same_replies, send, Arg, Pipe, Raw};

/// Random pipelines of list commands on three keys of few distinct
/// elements, half of them LREMs (from the head, from the tail, every
/// match): pushes, pops (with counts, LMPOP, LMOVE between the keys),
/// LINDEX, LSET and LRANGE by every kind of index, LTRIM, LINSERT, LPOS
/// with ranks and counts. One key is refilled past the length from
/// which LREM indexes a list by value. Then rocksync restarts and each
/// list is read whole again.
#[test]
fn lists_with_removals_match_redis_server() {
    let (redis, ours) = (RedisServer::start(&[]), InProc::start());
    let mut theirs = Raw::connect(("127.0.0.1", redis.port));
    let mut mine = Raw::connect(ours.addr);
    let mut next = draws(0x2545_f491_4f6c_dd1d);
    let keys = ["la", "lb", "lc"];
    let side = |n: u64| if n == 0 { "LEFT" } else { "RIGHT" };
    let signed = |n: u64, half: i64| n as i64 - half;
    for round in 0..40u64 {
        let mut p = Pipe::default();
        if round % 8 == 0 {
            // long enough for LREM to index it by value (and keep the
            // index through every other command after)
            let c = p.cmd("RPUSH");
            c.arg("lc");
            for i in 0..200 {
                c.arg(format!("e{}", (i * 7 + round) % 5));
            }
        }
        for _ in 0..120 {
            let key = keys[next(3) as usize];
            let el = format!("e{}", next(5));
            match next(20) {
                0..=3 => {
                    let c = p.cmd(if next(2) == 0 { "RPUSH" } else { "LPUSH" });
                    c.arg(key);
                    for _ in 0..=next(6) {
                        c.arg(format!("e{}", next(5)));
                    }
                }
                4..=9 => {
                    p.cmd("LREM").arg(key).arg(signed(next(7), 3)).arg(&el);
                }
                10 => {
                    let c = p.cmd(if next(2) == 0 { "LPOP" } else { "RPOP" });
                    c.arg(key);
                    if next(2) == 0 {
                        c.arg(1 + next(3));
                    }
                }
                11 => {
                    p.cmd("LINDEX").arg(key).arg(signed(next(21), 10));
                }
                12 => {
                    p.cmd("LSET")
                        .arg(key)
                        .arg(signed(next(13), 6))
                        .arg(format!("s{round}"));
                }
                13 => {
                    p.cmd("LRANGE")
                        .arg(key)
                        .arg(signed(next(21), 10))
                        .arg(signed(next(21), 10));
                }
                14 => {
                    p.cmd("LTRIM")
                        .arg(key)
                        .arg(signed(next(8), 6))
                        .arg(signed(next(40), 4));
                }
                15 => {
                    p.cmd("LINSERT")
                        .arg(key)
                        .arg(if next(2) == 0 { "BEFORE" } else { "AFTER" })
                        .arg(&el)
                        .arg(format!("i{round}"));
                }
                16 => {
                    p.cmd("LPOS")
                        .arg(key)
                        .arg(&el)
                        .arg("RANK")
                        .arg([1, -1, 2, -2][next(4) as usize])
                        .arg("COUNT")
                        .arg(next(4));
                }
                17 => {
                    p.cmd("LMOVE")
                        .arg(key)
                        .arg(keys[next(3) as usize])
                        .arg(side(next(2)))
                        .arg(side(next(2)));
                }
                18 => {
                    p.cmd("LMPOP")
                        .arg(2)
                        .arg(key)
                        .arg(keys[next(3) as usize])
                        .arg(side(next(2)))
                        .arg("COUNT")
                        .arg(1 + next(3));
                }
                _ => {
                    p.cmd("LLEN").arg(key);
                    p.cmd("LRANGE").arg(key).arg(0).arg(-1);
                }
            }
        }
        same_replies(&mut theirs, &mut mine, &p, &format!("round {round}"));
    }
    let mut whole = Pipe::default();
    for key in keys {
        whole.cmd("LRANGE").arg(key).arg(0).arg(-1);
        whole.cmd("LINDEX").arg(key).arg(-2);
    }
    let expected = send(&mut theirs, &whole);
    assert_eq!(send(&mut mine, &whole), expected, "before the restart");
    drop(mine);
    let ours = InProc::start_on(ours.stop());
    let mut mine = Raw::connect(ours.addr);
    assert_eq!(send(&mut mine, &whole), expected, "after the restart");
}
