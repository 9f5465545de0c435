//! Blocked clients: a command sent during a wait runs after it, blocked
//! pops are served when their keys get data, timeouts lose nothing; and
//! SPOP/SRANDMEMBER draws.

use super::*;

/// Consumers with timeouts of a millisecond race producers: a consumer
/// that times out just as it is served still gets the element (the serve
/// claims its wait first), so every element pushed is popped once or
/// still in the list, never lost.
/// A command a client sends while its previous one is blocked (pipelined
/// behind a BLPOP) runs once the BLPOP answers, with nothing more sent.
/// It was read ahead during the wait and then left in the buffer until
/// the client sent something else, which a client waiting for its
/// replies never does.
#[test]
fn a_command_sent_during_a_blocked_wait_runs_after_it() {
    let m = InProc::start();
    let mut raw = raw_connection(&m);
    raw.write_all(b"*3\r\n$5\r\nBLPOP\r\n$1\r\nq\r\n$3\r\n0.3\r\n")
        .expect("blpop");
    std::thread::sleep(Duration::from_millis(100));
    raw.write_all(b"*1\r\n$4\r\nPING\r\n").expect("ping");
    let want = b"*-1\r\n+PONG\r\n";
    let mut got = Vec::new();
    let mut chunk = [0u8; 64];
    while got.len() < want.len() {
        match raw.read(&mut chunk) {
            Ok(0) | Err(_) => break,
            Ok(n) => got.extend_from_slice(&chunk[..n]),
        }
    }
    assert_eq!(String::from_utf8_lossy(&got), String::from_utf8_lossy(want));
}

/// BZPOPMIN, BZPOPMAX and BZMPOP waiting on empty keys are served when
/// a later ZADD feeds one of them (the write path parses the command
/// again, narrowed to that key).
#[test]
fn blocked_sorted_set_pops_are_served_when_a_key_gets_members() {
    let m = InProc::start();
    let mut c = m.client();
    let mut b = m.client();
    let min = std::thread::spawn(move || {
        let r: Option<(String, String, String)> = redis::cmd("BZPOPMIN")
            .arg(&["bq0", "bq1", "5"])
            .query(&mut b)
            .expect("bzpopmin");
        (r, b)
    });
    std::thread::sleep(Duration::from_millis(200));
    let _: i64 = c.zadd_multiple("bq1", &[(2, "b"), (1, "a")]).expect("zadd");
    let (got, mut b) = min.join().expect("bzpopmin");
    assert_eq!(got, Some(("bq1".into(), "a".into(), "1".into())));
    let max = std::thread::spawn(move || {
        let r: Option<(String, String, String)> = redis::cmd("BZPOPMAX")
            .arg(&["bq2", "5"])
            .query(&mut b)
            .expect("bzpopmax");
        (r, b)
    });
    std::thread::sleep(Duration::from_millis(200));
    let _: i64 = c.zadd_multiple("bq2", &[(2, "b"), (1, "a")]).expect("zadd");
    let (got, mut b) = max.join().expect("bzpopmax");
    assert_eq!(got, Some(("bq2".into(), "b".into(), "2".into())));
    let mpop = std::thread::spawn(move || {
        let r: Option<(String, Vec<(String, String)>)> = redis::cmd("BZMPOP")
            .arg(&["5", "2", "bq3", "bq4", "MAX", "COUNT", "2"])
            .query(&mut b)
            .expect("bzmpop");
        r
    });
    std::thread::sleep(Duration::from_millis(200));
    let _: i64 = c
        .zadd_multiple("bq4", &[(1, "a"), (2, "b"), (3, "c")])
        .expect("zadd");
    let got = mpop.join().expect("bzmpop");
    let want = vec![("c".into(), "3".into()), ("b".into(), "2".into())];
    assert_eq!(got, Some(("bq4".into(), want)));
    let left: Vec<String> = c.zrange("bq4", 0, -1).expect("zrange");
    assert_eq!(left, ["a"]);
}

#[test]
fn blocked_consumers_timing_out_while_served_lose_nothing() {
    let m = InProc::start();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let consumers: Vec<_> = (0..4)
        .map(|_| {
            let (mut c, stop) = (m.client(), std::sync::Arc::clone(&stop));
            std::thread::spawn(move || {
                let mut got = Vec::new();
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    let r: Option<(String, String)> = redis::cmd("BLPOP")
                        .arg(&["race", "0.001"])
                        .query(&mut c)
                        .expect("blpop");
                    got.extend(r.map(|(_, v)| v));
                }
                got
            })
        })
        .collect();
    let mut c = m.client();
    for i in 0..3000 {
        let _: i64 = c.rpush("race", i).expect("rpush");
    }
    std::thread::sleep(Duration::from_millis(200));
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let mut seen: Vec<String> = consumers
        .into_iter()
        .flat_map(|t| t.join().expect("consumer"))
        .collect();
    let left: Vec<String> = c.lrange("race", 0, -1).expect("lrange");
    seen.extend(left);
    seen.sort_by_key(|v| v.parse::<u32>().expect("number"));
    let want: Vec<String> = (0..3000).map(|i: u32| i.to_string()).collect();
    assert_eq!(seen, want, "every element popped once or still there");
}

/// Issue 12: SPOP and SRANDMEMBER draw positions and read only up to the
/// last one drawn. What they return must still be distinct members that
/// SPOP removes, spread over the set, with the whole-set draw (a count
/// over half the set) agreeing.
#[test]
fn spop_and_srandmember_draw_distinct_members_without_reading_the_whole_set() {
    let m = InProc::start();
    let mut c = m.client();
    let all: BTreeSet<String> = (0..100).map(|i| format!("m{i:03}")).collect();
    let added: usize = c.sadd("s", all.iter().collect::<Vec<_>>()).expect("sadd");
    assert_eq!(added, 100);
    let mut seen = BTreeSet::new();
    for _ in 0..200 {
        let one: String = c.srandmember("s").expect("srandmember");
        assert!(all.contains(&one), "{one} is not a member");
        seen.insert(one);
    }
    assert!(seen.len() > 20, "200 draws saw only {} members", seen.len());
    for n in [3usize, 40, 80] {
        let some: Vec<String> = redis::cmd("SRANDMEMBER")
            .arg("s")
            .arg(n)
            .query(&mut c)
            .expect("srandmember n");
        let distinct: BTreeSet<&String> = some.iter().collect();
        assert_eq!((some.len(), distinct.len()), (n, n), "{n} distinct members");
        assert!(some.iter().all(|m| all.contains(m)));
    }
    let mut popped = BTreeSet::new();
    for _ in 0..10 {
        let one: String = c.spop("s").expect("spop");
        assert!(popped.insert(one), "SPOP returned a member twice");
    }
    let five: Vec<String> = redis::cmd("SPOP")
        .arg("s")
        .arg(5)
        .query(&mut c)
        .expect("spop 5");
    assert_eq!(five.len(), 5);
    // Over half of what is left: the whole-set draw.
    let many: Vec<String> = redis::cmd("SPOP")
        .arg("s")
        .arg(60)
        .query(&mut c)
        .expect("spop 60");
    assert_eq!(many.len(), 60);
    for p in five.into_iter().chain(many) {
        assert!(popped.insert(p), "SPOP returned a member twice");
    }
    let left: BTreeSet<String> = c.smembers("s").expect("smembers");
    assert_eq!(left.len(), 25);
    assert!(popped.is_subset(&all) && left.is_disjoint(&popped));
    assert_eq!(
        left.union(&popped).cloned().collect::<BTreeSet<_>>(),
        all,
        "members lost or invented"
    );
    let scard: usize = c.scard("s").expect("scard");
    assert_eq!(scard, 25);
}
