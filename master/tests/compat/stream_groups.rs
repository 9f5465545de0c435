//! Consumer groups under random pipelines: a write group that holds many
//! XREADGROUPs of one stream reads its entries, and the consumer group's
//! pending entries, ahead of them (once, not once a call), under the same
//! group's XADDs, XDELs, trims, SETIDs (entries delivered again, pending
//! already) and deletes; every reply must be redis-server's.

use super::{beside_redis, draws};

/// Random pipelines of XADD (IDs of one millisecond in a row, and gaps),
/// XREADGROUP of new entries (`>`, COUNT 1 to 3, two groups, three
/// consumers) and of history (`0`), XACK, XDEL, XTRIM, XGROUP SETID back
/// to the start (entries delivered again), DEL and the stream made
/// again, XRANGE, XPENDING and XINFO GROUPS, on two streams; short
/// pipelines and long ones (40-120 commands: one write group), sent alike
/// to redis-server and rocksync: every reply and, at the end, every
/// pending list must match.
#[test]
fn consumer_groups_match_redis_server_under_random_pipelines() {
    let (_redis, _ours, mut theirs, mut mine) = beside_redis();
    let mut next = draws(0x9e37_79b9_7f4a_7c15);
    // The last ID each stream was given (IDs are explicit: the same on
    // both servers).
    let mut last = [(1u64, 0u64); 2];
    let mut setup = redis::pipe();
    for s in ["s0", "s1"] {
        for g in ["g0", "g1"] {
            setup
                .cmd("XGROUP")
                .arg("CREATE")
                .arg(s)
                .arg(g)
                .arg("0")
                .arg("MKSTREAM");
        }
    }
    let a: redis::Value = setup.query(&mut theirs).expect("redis-server");
    let b: redis::Value = setup.query(&mut mine).expect("rocksync");
    assert_eq!(a, b, "set-up");
    let mut reads = 0;
    for step in 0..1500 {
        let mut p = redis::pipe();
        let len = if next(6) == 0 {
            40 + next(80)
        } else {
            next(10)
        };
        for _ in 0..=len {
            let k = next(2) as usize;
            let key = format!("s{k}");
            let group = format!("g{}", next(2));
            let id = |l: (u64, u64)| format!("{}-{}", l.0, l.1);
            match next(40) {
                0..=11 => {
                    // mostly the same millisecond, now and then a gap
                    last[k] = if next(5) == 0 {
                        (last[k].0 + 1 + next(3), 0)
                    } else {
                        (last[k].0, last[k].1 + 1)
                    };
                    p.cmd("XADD")
                        .arg(&key)
                        .arg(id(last[k]))
                        .arg("f")
                        .arg(next(1000));
                }
                12..=27 => {
                    reads += 1;
                    p.cmd("XREADGROUP")
                        .arg("GROUP")
                        .arg(&group)
                        .arg(format!("c{}", next(3)))
                        .arg("COUNT")
                        .arg(1 + next(3))
                        .arg("STREAMS")
                        .arg(&key)
                        .arg(">");
                }
                28 => {
                    p.cmd("XREADGROUP")
                        .arg("GROUP")
                        .arg(&group)
                        .arg(format!("c{}", next(3)))
                        .arg("COUNT")
                        .arg(2)
                        .arg("STREAMS")
                        .arg(&key)
                        .arg("0");
                }
                29 | 30 => {
                    let at = (last[k].0.saturating_sub(next(4)), next(last[k].1 + 1));
                    p.cmd("XACK").arg(&key).arg(&group).arg(id(at));
                }
                31 | 32 => {
                    let at = (last[k].0.saturating_sub(next(3)), next(last[k].1 + 1));
                    p.cmd("XDEL").arg(&key).arg(id(at));
                }
                33 => {
                    p.cmd("XTRIM").arg(&key).arg("MAXLEN").arg(next(30));
                }
                34 if next(4) == 0 => {
                    p.cmd("XGROUP").arg("SETID").arg(&key).arg(&group).arg("0");
                }
                35 if next(8) == 0 => {
                    p.cmd("DEL").arg(&key);
                    for g in ["g0", "g1"] {
                        p.cmd("XGROUP")
                            .arg("CREATE")
                            .arg(&key)
                            .arg(g)
                            .arg("0")
                            .arg("MKSTREAM");
                    }
                }
                36 => {
                    p.cmd("XRANGE")
                        .arg(&key)
                        .arg("-")
                        .arg("+")
                        .arg("COUNT")
                        .arg(5);
                }
                37 => {
                    p.cmd("XPENDING").arg(&key).arg(&group);
                }
                38 => {
                    p.cmd("XINFO").arg("GROUPS").arg(&key);
                }
                _ => {
                    p.cmd("XLEN").arg(&key);
                }
            }
        }
        let a: redis::Value = p.query(&mut theirs).expect("redis-server");
        let b: redis::Value = p.query(&mut mine).expect("rocksync");
        assert_eq!(a, b, "step {step} differs");
    }
    assert!(reads > 10_000, "only {reads} XREADGROUPs");
    for s in ["s0", "s1"] {
        for g in ["g0", "g1"] {
            let mut q = redis::cmd("XPENDING");
            q.arg(s).arg(g).arg("-").arg("+").arg(100_000);
            // (each entry's ID, consumer and deliveries: its idle time
            // is the clock's)
            type Pending = Vec<(String, String, u64, u64)>;
            let strip = |v: Pending| -> Vec<(String, String, u64)> {
                v.into_iter().map(|(id, c, _, n)| (id, c, n)).collect()
            };
            let a: Pending = q.query(&mut theirs).expect("redis-server");
            let b: Pending = q.query(&mut mine).expect("rocksync");
            assert_eq!(
                strip(a),
                strip(b),
                "{s} {g}: pending lists differ at the end"
            );
        }
    }
}
