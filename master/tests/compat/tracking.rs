//! Client-side caching: CLIENT TRACKING in its modes, the invalidation
//! pushes (RESP3) and redirected messages (RESP2), and its errors, each
//! step's bytes equal to redis-server's.

use super::common::{InProc, RedisServer};
use super::{differs, Raw};

/// (client, command, replies to read). `{ID2}` stands for client 2's id
/// on the server at hand. A push that should not come would be read in
/// place of the reply after it, so silence is checked too.
const STEPS: &[(usize, &[&str], usize)] = &[
    (0, &["HELLO", "3"], 0),
    (0, &["CLIENT", "TRACKINGINFO"], 1),
    (0, &["CLIENT", "GETREDIR"], 1),
    (0, &["CLIENT", "CACHING", "yes"], 1),
    (0, &["CLIENT", "TRACKING", "on", "PREFIX", "a"], 1),
    (0, &["CLIENT", "TRACKING", "on", "BCAST", "OPTIN"], 1),
    (0, &["CLIENT", "TRACKING", "on", "OPTIN", "OPTOUT"], 1),
    (0, &["CLIENT", "TRACKING", "on", "REDIRECT", "999999"], 1),
    (0, &["CLIENT", "TRACKING", "on", "BOGUS"], 1),
    (0, &["CLIENT", "TRACKING", "maybe"], 1),
    (
        0,
        &[
            "CLIENT", "TRACKING", "on", "BCAST", "PREFIX", "ab", "PREFIX", "a",
        ],
        1,
    ),
    // default mode: a read key is invalidated once
    (0, &["CLIENT", "TRACKING", "on"], 1),
    (0, &["CLIENT", "TRACKINGINFO"], 1),
    (0, &["CLIENT", "GETREDIR"], 1),
    (0, &["GET", "a"], 1),
    (0, &["MGET", "b", "c"], 1),
    (1, &["SET", "a", "1"], 1),
    (0, &["PING"], 2),
    (1, &["SET", "a", "2"], 1),
    (0, &["PING"], 1),
    (1, &["MSET", "b", "1", "c", "2"], 1),
    (0, &["PING"], 3),
    (0, &["GET", "a"], 1),
    (0, &["SET", "a", "own"], 2),
    (0, &["HGETALL", "h"], 1),
    (1, &["HSET", "h", "f", "v"], 1),
    (0, &["PING"], 2),
    (0, &["CLIENT", "TRACKING", "on", "BCAST"], 1),
    // NOLOOP: not told of its own writes
    (0, &["CLIENT", "TRACKING", "off"], 1),
    (0, &["CLIENT", "TRACKING", "on", "NOLOOP"], 1),
    (0, &["CLIENT", "TRACKINGINFO"], 1),
    (0, &["GET", "n"], 1),
    (0, &["SET", "n", "1"], 1),
    (0, &["PING"], 1),
    (0, &["GET", "n"], 1),
    (1, &["SET", "n", "2"], 1),
    (0, &["PING"], 2),
    // OPTIN: only what CLIENT CACHING YES precedes
    (0, &["CLIENT", "TRACKING", "off"], 1),
    (0, &["CLIENT", "TRACKING", "on", "OPTIN"], 1),
    (0, &["CLIENT", "TRACKING", "on", "OPTOUT"], 1),
    (0, &["CLIENT", "CACHING", "no"], 1),
    (0, &["GET", "o"], 1),
    (1, &["SET", "o", "1"], 1),
    (0, &["PING"], 1),
    (0, &["CLIENT", "CACHING", "yes"], 1),
    (0, &["CLIENT", "TRACKINGINFO"], 1),
    (0, &["GET", "o"], 1),
    (0, &["CLIENT", "TRACKINGINFO"], 1),
    (1, &["SET", "o", "2"], 1),
    (0, &["PING"], 2),
    // OPTOUT: everything but what CLIENT CACHING NO precedes
    (0, &["CLIENT", "TRACKING", "off"], 1),
    (0, &["CLIENT", "TRACKING", "on", "OPTOUT"], 1),
    (0, &["CLIENT", "CACHING", "no"], 1),
    (0, &["GET", "p"], 1),
    (0, &["GET", "q"], 1),
    (1, &["MSET", "p", "1", "q", "1"], 1),
    (0, &["PING"], 2),
    // BCAST: every key under a prefix, read or not
    (0, &["CLIENT", "TRACKING", "off"], 1),
    (
        0,
        &[
            "CLIENT", "TRACKING", "on", "BCAST", "PREFIX", "user:", "PREFIX", "job:",
        ],
        1,
    ),
    (
        0,
        &["CLIENT", "TRACKING", "on", "BCAST", "PREFIX", "user:1"],
        1,
    ),
    (0, &["CLIENT", "TRACKINGINFO"], 1),
    (1, &["SET", "user:1", "x"], 1),
    (1, &["SET", "other", "x"], 1),
    (1, &["DEL", "job:9"], 1),
    (1, &["SET", "job:9", "x"], 1),
    (0, &["PING"], 3),
    (1, &["MSET", "user:2", "a", "user:3", "b"], 1),
    (0, &["PING"], 2),
    (1, &["FLUSHALL"], 1),
    (0, &["PING"], 2),
    (0, &["CLIENT", "TRACKING", "off"], 1),
    (0, &["CLIENT", "TRACKINGINFO"], 1),
    // RESP2, redirected to a subscriber of __redis__:invalidate
    (2, &["SUBSCRIBE", "__redis__:invalidate"], 1),
    (3, &["CLIENT", "TRACKING", "on", "REDIRECT", "{ID2}"], 1),
    (3, &["GET", "r"], 1),
    (1, &["SET", "r", "1"], 1),
    (2, &["PING"], 2),
    (
        3,
        &[
            "CLIENT", "TRACKING", "on", "REDIRECT", "{ID2}", "REDIRECT", "{ID2}",
        ],
        1,
    ),
    (3, &["RESET"], 1),
    (3, &["CLIENT", "TRACKINGINFO"], 1),
];

#[test]
fn client_tracking_matches_redis_server() {
    let redis = RedisServer::start(&[]);
    let ours = InProc::start();
    let connect =
        |addr: std::net::SocketAddr| -> Vec<Raw> { (0..4).map(|_| Raw::connect(addr)).collect() };
    let mut theirs = connect(([127, 0, 0, 1], redis.port).into());
    let mut mine = connect(ours.addr);
    let id = |c: &mut Raw| match c.call(&["CLIENT", "ID"]) {
        rocksync_protocol::Reply::Integer(n) => n.to_string(),
        other => panic!("CLIENT ID answered {other:?}"),
    };
    let ids = [id(&mut theirs[2]), id(&mut mine[2])];
    let mut mismatches = Vec::new();
    for &(who, cmd, n) in STEPS {
        let mut got = [Vec::new(), Vec::new()];
        for (side, conns) in [&mut theirs, &mut mine].into_iter().enumerate() {
            let args: Vec<String> = cmd.iter().map(|a| a.replace("{ID2}", &ids[side])).collect();
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            got[side] = conns[who].call_bytes(&args);
            for _ in 1..n {
                got[side].extend(conns[who].next_bytes());
            }
        }
        let label = format!("client {who} {cmd:?}");
        if let Some(d) = differs(&label, &got[0], &got[1]).filter(|_| n > 0) {
            mismatches.push(d);
        }
    }
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
}
