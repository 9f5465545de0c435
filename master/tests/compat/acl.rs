//! ACL as redis-server 7.0 answers it: the same steps of four clients
//! (0 an administrator, 1 and 2 authenticating as users it makes, 3 a
//! client of the default user) against both servers, every reply equal:
//! ACL SETUSER rules and their errors, GETUSER, LIST, USERS, CAT, DRYRUN,
//! AUTH and HELLO … AUTH, NOPERM for commands, subcommands, keys (read
//! and write patterns) and channels, at the top level, queued in MULTI, at
//! EXEC after the rules changed and inside scripts, ACL LOG, requirepass as
//! the default user's password, RESET.

use rocksync_protocol::Reply;

use super::common::{InProc, RedisServer};
use super::Raw;

/// How a step's replies are compared.
#[derive(Clone, Copy)]
enum Cmp {
    /// Equal.
    Same,
    /// Equal as sets (Redis lists these in its hash table's order).
    Unordered,
    /// ACL LOG: equal but for each entry's age and client line.
    Log,
    /// Bulk strings of the same length (random).
    Len,
}

use Cmp::*;

const STEPS: &[(usize, Cmp, &[&str])] = &[
    (0, Same, &["ACL", "WHOAMI"]),
    (0, Same, &["ACL", "USERS"]),
    (0, Same, &["ACL", "LIST"]),
    (0, Same, &["ACL", "GETUSER", "default"]),
    (0, Same, &["ACL", "GETUSER", "nobody"]),
    // Rules and their errors (a refused SETUSER changes nothing).
    (0, Same, &["ACL", "SETUSER", "x", "on", "+nosuch"]),
    (0, Same, &["ACL", "SETUSER", "x", "+@nosuch"]),
    (0, Same, &["ACL", "SETUSER", "x", "allkeys", "~b"]),
    (0, Same, &["ACL", "SETUSER", "x", "allchannels", "&b"]),
    (0, Same, &["ACL", "SETUSER", "x", "#abc"]),
    (0, Same, &["ACL", "SETUSER", "x", "<nope"]),
    (0, Same, &["ACL", "SETUSER", "x", "%X~a"]),
    (0, Same, &["ACL", "SETUSER", "x", "bogus"]),
    (0, Same, &["ACL", "SETUSER", "x", "+config|get|x"]),
    (0, Same, &["ACL", "SETUSER", "a b"]),
    (0, Same, &["ACL", "SETUSER", "a\tb"]),
    (0, Same, &["ACL", "SETUSER", "a\nb"]),
    (0, Same, &["ACL", "SETUSER", "x", "~a\tb"]),
    (0, Same, &["ACL", "SETUSER", "x", "&a\rb"]),
    (0, Same, &["ACL", "GETUSER", "x"]),
    (0, Same, &["ACL", "USERS"]),
    (0, Same, &["ACL", "SETUSER", "fresh"]),
    (0, Same, &["ACL", "GETUSER", "fresh"]),
    (
        0,
        Same,
        &[
            "ACL", "SETUSER", "carol", "on", ">pw1", ">pw2", "~c:*", "%W~w:*", "%R~r:*", "%R~both",
            "%W~both", "&ch:*", "-@all", "+@hash", "+get",
        ],
    ),
    (0, Same, &["ACL", "GETUSER", "carol"]),
    (0, Same, &["ACL", "SETUSER", "carol", "<pw1"]),
    (0, Same, &["ACL", "GETUSER", "carol"]),
    (
        0,
        Same,
        &[
            "ACL",
            "SETUSER",
            "alice",
            "on",
            ">alicepw",
            "~app:*",
            "%R~ro:*",
            "&news.*",
            "-@all",
            "+@read",
            "+@string",
            "+@connection",
            "+@transaction",
            "+@scripting",
            "+@pubsub",
        ],
    ),
    (0, Same, &["ACL", "LIST"]),
    (0, Same, &["ACL", "USERS"]),
    (
        0,
        Same,
        &["ACL", "SETUSER", "cmds", "+@all", "-@dangerous", "-get"],
    ),
    (0, Same, &["ACL", "GETUSER", "cmds"]),
    (
        0,
        Same,
        &[
            "ACL",
            "SETUSER",
            "cmds",
            "nocommands",
            "+config",
            "-config|set",
        ],
    ),
    (0, Same, &["ACL", "GETUSER", "cmds"]),
    (0, Same, &["ACL", "CAT"]),
    (0, Unordered, &["ACL", "CAT", "hash"]),
    (
        0,
        Same,
        &[
            "ACL",
            "SETUSER",
            "sel",
            "+select|0",
            "+select|1",
            "-select|0",
        ],
    ),
    (0, Same, &["ACL", "GETUSER", "sel"]),
    (0, Same, &["ACL", "CAT", "nosuch"]),
    (0, Len, &["ACL", "GENPASS"]),
    (0, Len, &["ACL", "GENPASS", "5"]),
    (0, Same, &["ACL", "GENPASS", "0"]),
    (0, Same, &["ACL", "DELUSER", "default", "cmds"]),
    (0, Same, &["ACL", "DELUSER", "cmds", "nobody"]),
    // alice: the keys, commands and channels she may use.
    (1, Same, &["AUTH", "alice", "wrong"]),
    (1, Same, &["AUTH", "nobody", "alicepw"]),
    (1, Same, &["AUTH", "alice", "alicepw"]),
    (1, Same, &["SET", "app:1", "v"]),
    (1, Same, &["GET", "app:1"]),
    (1, Same, &["GET", "other"]),
    (1, Same, &["GET", "ro:1"]),
    (1, Same, &["SET", "ro:1", "x"]),
    (1, Same, &["MGET", "app:1", "ro:1", "other"]),
    (1, Same, &["DEL", "app:1"]),
    (1, Same, &["CONFIG", "GET", "maxclients"]),
    (1, Same, &["ACL", "WHOAMI"]),
    (1, Same, &["PUBLISH", "news.today", "hi"]),
    (1, Same, &["PUBLISH", "sport", "hi"]),
    (
        1,
        Same,
        &["EVAL", "return redis.call('get', KEYS[1])", "1", "app:1"],
    ),
    (1, Same, &["EVAL", "return redis.call('get', 'other')", "0"]),
    (
        1,
        Same,
        &["EVAL", "return redis.pcall('set', 'ro:1', 'x')", "0"],
    ),
    (1, Same, &["EVAL", "return redis.call('del', 'app:1')", "0"]),
    (
        1,
        Same,
        &["EVAL", "return redis.call('publish', 'sport', 'x')", "0"],
    ),
    (1, Same, &["MULTI"]),
    (1, Same, &["SET", "app:2", "x"]),
    (1, Same, &["DEL", "app:2"]),
    (1, Same, &["EXEC"]),
    (1, Same, &["MULTI"]),
    (1, Same, &["SET", "app:3", "x"]),
    (1, Same, &["GET", "app:3"]),
    (0, Same, &["ACL", "SETUSER", "alice", "-set"]),
    (1, Same, &["EXEC"]),
    (1, Same, &["SET", "app:3", "x"]),
    (0, Same, &["ACL", "SETUSER", "alice", "off"]),
    (1, Same, &["GET", "app:1"]),
    (1, Same, &["AUTH", "alice", "alicepw"]),
    (0, Log, &["ACL", "LOG"]),
    (0, Log, &["ACL", "LOG", "2"]),
    (0, Same, &["ACL", "LOG", "RESET"]),
    (0, Log, &["ACL", "LOG"]),
    (0, Same, &["ACL", "DRYRUN", "alice", "get", "app:1"]),
    (0, Same, &["ACL", "DRYRUN", "alice", "get", "x"]),
    (0, Same, &["ACL", "DRYRUN", "alice", "del", "app:1"]),
    (
        0,
        Same,
        &["ACL", "DRYRUN", "alice", "config", "set", "a", "b"],
    ),
    (
        0,
        Same,
        &["ACL", "DRYRUN", "alice", "publish", "sport", "m"],
    ),
    (0, Same, &["ACL", "DRYRUN", "alice", "get"]),
    (0, Same, &["ACL", "DRYRUN", "nobody", "get", "x"]),
    (0, Same, &["ACL", "DRYRUN", "alice", "nosuch"]),
    // carol: write-only and read-only patterns.
    (2, Same, &["AUTH", "carol", "pw1"]),
    (2, Same, &["HELLO", "2", "AUTH", "carol", "pw1"]),
    (2, Same, &["HELLO", "2", "SETNAME", "named", "BOGUS"]),
    (2, Same, &["CLIENT", "GETNAME"]),
    (
        2,
        Same,
        &["HELLO", "2", "AUTH", "carol", "pw1", "SETNAME", "bad name"],
    ),
    (
        2,
        Same,
        &["HELLO", "2", "AUTH", "carol", "nope", "SETNAME", "n"],
    ),
    (2, Same, &["CLIENT", "GETNAME"]),
    (2, Same, &["AUTH", "carol", "pw2"]),
    (2, Same, &["HSET", "w:1", "f", "v"]),
    (2, Same, &["HGET", "w:1", "f"]),
    (2, Same, &["HGET", "r:1", "f"]),
    (2, Same, &["HSET", "r:1", "f", "v"]),
    (2, Same, &["HSET", "both", "f", "v"]),
    (2, Same, &["HGET", "both", "f"]),
    (2, Same, &["HGET", "c:1", "f"]),
    (2, Same, &["SET", "c:1", "v"]),
    (0, Log, &["ACL", "LOG"]),
    // requirepass is the default user's password.
    (3, Same, &["AUTH", "onlypass"]),
    (0, Same, &["CONFIG", "SET", "requirepass", "secret"]),
    (0, Same, &["ACL", "GETUSER", "default"]),
    (3, Same, &["GET", "app:1"]),
    (3, Same, &["RESET"]),
    (3, Same, &["GET", "app:1"]),
    (3, Same, &["AUTH", "nope"]),
    (3, Same, &["AUTH", "secret"]),
    (3, Same, &["ACL", "WHOAMI"]),
    (3, Same, &["AUTH", "default", "secret"]),
    (0, Same, &["CONFIG", "SET", "requirepass", ""]),
    (0, Same, &["ACL", "LIST"]),
    // SORT's BY and GET make keys from patterns: only a user who may read
    // every key may use them (Redis 7.0 refuses even GET #).
    (
        0,
        Same,
        &[
            "ACL", "SETUSER", "sorter", "on", "nopass", "+@all", "~mylist",
        ],
    ),
    (0, Same, &["RPUSH", "mylist", "3", "1", "2"]),
    (0, Same, &["SET", "v1", "9"]),
    (2, Same, &["AUTH", "sorter", "any"]),
    (2, Same, &["SORT", "mylist"]),
    (2, Same, &["SORT", "mylist", "BY", "v*"]),
    (2, Same, &["SORT", "mylist", "BY", "nosort"]),
    (2, Same, &["SORT", "mylist", "GET", "#"]),
    (2, Same, &["SORT_RO", "mylist", "GET", "v*"]),
    (2, Same, &["SORT", "mylist", "LIMIT", "0", "1", "BY", "v*"]),
    (2, Same, &["SORT", "mylist", "BOGUS", "BY", "v*"]),
    (2, Same, &["SORT", "mylist", "BY", "v*", "BOGUS"]),
    (0, Same, &["ACL", "SETUSER", "sorter", "~v*", "%W~*"]),
    (2, Same, &["SORT", "mylist", "BY", "v*"]),
    (2, Same, &["MULTI"]),
    (2, Same, &["SORT", "mylist", "BY", "v*"]),
    (2, Same, &["LLEN", "mylist"]),
    (2, Same, &["EXEC"]),
    (
        2,
        Same,
        &[
            "EVAL",
            "return redis.pcall('sort', 'mylist', 'get', 'v*')",
            "0",
        ],
    ),
    (0, Same, &["ACL", "SETUSER", "sorter", "%R~*"]),
    (2, Same, &["SORT", "mylist", "BY", "v*", "GET", "#"]),
    (
        0,
        Same,
        &["ACL", "SETUSER", "sorter", "resetkeys", "allkeys"],
    ),
    (2, Same, &["SORT_RO", "mylist", "GET", "v*"]),
    (0, Log, &["ACL", "LOG"]),
];

/// `reply` as compared under `cmp`.
fn normal(reply: Reply, cmp: Cmp) -> Reply {
    match (cmp, reply) {
        (Unordered, Reply::Array(mut items)) => {
            items.sort_by_key(|r| format!("{r:?}"));
            Reply::Array(items)
        }
        (Log, Reply::Array(entries)) => Reply::Array(
            entries
                .into_iter()
                .map(|e| match e {
                    Reply::Array(fields) => Reply::Array(
                        fields
                            .chunks(2)
                            .filter(|kv| {
                                kv[0] != Reply::bulk("age-seconds")
                                    && kv[0] != Reply::bulk("client-info")
                            })
                            .flatten()
                            .cloned()
                            .collect(),
                    ),
                    other => other,
                })
                .collect(),
        ),
        (Len, Reply::Bulk(b)) => Reply::Integer(b.len() as i64),
        (_, r) => r,
    }
}

#[test]
fn acl_matches_redis_server() {
    let redis = RedisServer::start(&[]);
    let ours = InProc::start();
    let mut theirs: Vec<Raw> = (0..4)
        .map(|_| Raw::connect(("127.0.0.1", redis.port)))
        .collect();
    let mut mine: Vec<Raw> = (0..4).map(|_| Raw::connect(ours.addr)).collect();
    let mut mismatches = Vec::new();
    for &(who, cmp, cmd) in STEPS {
        let a = normal(theirs[who].call(cmd), cmp);
        let b = normal(mine[who].call(cmd), cmp);
        if a != b {
            mismatches.push(format!(
                "client {who} {cmd:?}\n  redis:    {a:?}\n  rocksync: {b:?}"
            ));
        }
    }
    assert!(
        mismatches.is_empty(),
        "{} of {} differ:\n{}",
        mismatches.len(),
        STEPS.len(),
        mismatches.join("\n")
    );
}
