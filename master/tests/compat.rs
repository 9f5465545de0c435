//! Replies match redis-server's: the same script of commands, errors
//! included, sent over raw RESP to a real redis-server and to rocksync.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use bytes::BytesMut;
use common::{InProc, RedisServer};
use redis::Commands;
use rocksync_protocol::{put_command, Reply};

/// A minimal RESP client: one command, one reply.
struct Raw {
    stream: TcpStream,
    buf: Vec<u8>,
}

impl Raw {
    fn connect(addr: impl std::net::ToSocketAddrs) -> Self {
        let stream = TcpStream::connect(addr).expect("connect");
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .expect("timeout");
        Self {
            stream,
            buf: Vec::new(),
        }
    }

    fn call(&mut self, args: &[&str]) -> Reply {
        let mut out = BytesMut::new();
        put_command(&mut out, args);
        self.stream.write_all(&out).expect("send");
        self.read()
    }

    fn raw(&mut self, bytes: &[u8]) -> Reply {
        self.stream.write_all(bytes).expect("send");
        self.read()
    }

    fn read(&mut self) -> Reply {
        loop {
            if let Some((r, used)) = Reply::parse(&self.buf).expect("valid RESP") {
                self.buf.drain(..used);
                return r;
            }
            let mut chunk = [0u8; 4096];
            let n = self.stream.read(&mut chunk).expect("read");
            assert!(n > 0, "connection closed");
            self.buf.extend_from_slice(&chunk[..n]);
        }
    }
}

/// Commands whose replies must be identical. Sets and hashes are built in
/// sorted order so that order-dependent replies agree too. Left out on
/// purpose: SELECT of a database other than 0 (there is one keyspace; we
/// answer `ERR DB index is out of range`), and COPY ... DB n for the same
/// reason.
const SCRIPT: &[&[&str]] = &[
    &["PING"],
    &["PING", "hi"],
    &["ECHO", "hello"],
    &["SELECT", "0"],
    &["SET", "s", "v"],
    &["GET", "s"],
    &["GET", "missing"],
    &["SET", "s", "w", "NX"],
    &["SET", "s", "w", "XX"],
    &["SET", "s2", "x", "XX"],
    &["SET", "s", "y", "GET"],
    &["SET", "s", "z", "EX", "0"],
    &["SET", "s", "z", "EX", "abc"],
    &["SET", "s", "z", "NX", "XX"],
    &["SET", "s", "z", "EX", "100", "PX", "100"],
    &["SET", "s"],
    &["MSET", "a", "1", "b", "2"],
    &["MSET", "a", "1", "b"],
    &["MGET", "a", "b", "nope"],
    &["MSETNX", "a", "1", "zz", "2"],
    &["SETNX", "a", "9"],
    &["SETNX", "new", "9"],
    &["SETEX", "ex", "100", "v"],
    &["SETEX", "ex", "-1", "v"],
    &["TTL", "ex"],
    &["GETSET", "a", "10"],
    &["APPEND", "a", "5"],
    &["APPEND", "fresh", "abc"],
    &["STRLEN", "a"],
    &["STRLEN", "nope"],
    &["INCR", "a"],
    &["DECR", "a"],
    &["INCRBY", "a", "10"],
    &["DECRBY", "a", "3"],
    &["INCR", "s"],
    &["INCRBY", "a", "x"],
    &["SET", "big", "9223372036854775807"],
    &["INCR", "big"],
    &["INCRBYFLOAT", "f", "10.5"],
    &["INCRBYFLOAT", "f", "0.25"],
    &["INCRBYFLOAT", "f", "x"],
    &["SETBIT", "bits", "7", "1"],
    &["SETBIT", "bits", "7", "0"],
    &["SETBIT", "bits", "100", "1"],
    &["SETBIT", "bits", "1", "2"],
    &["SETBIT", "bits", "-1", "1"],
    &["GETBIT", "bits", "100"],
    &["GETBIT", "bits", "1000"],
    &["BITCOUNT", "bits"],
    &["SET", "str", "Hello World"],
    &["BITCOUNT", "str"],
    &["BITCOUNT", "str", "1", "1"],
    &["GETRANGE", "str", "0", "4"],
    &["GETRANGE", "str", "-5", "-1"],
    &["GETRANGE", "str", "5", "2"],
    &["SETRANGE", "str", "6", "Redis"],
    &["GET", "str"],
    &["SETRANGE", "str", "-1", "x"],
    &["SETRANGE", "pad", "3", "x"],
    &["GET", "pad"],
    &["DEL", "a", "b", "nope"],
    &["EXISTS", "s", "str", "nope"],
    &["TYPE", "str"],
    &["TYPE", "nope"],
    &["EXPIRE", "str", "100"],
    &["TTL", "str"],
    &["EXPIRE", "str", "100", "NX"],
    &["EXPIRE", "str", "200", "GT"],
    &["EXPIRE", "str", "50", "GT"],
    &["PEXPIRE", "str", "100000"],
    &["PERSIST", "str"],
    &["PERSIST", "str"],
    &["TTL", "str"],
    &["TTL", "nope"],
    &["PTTL", "nope"],
    &["EXPIRE", "nope", "10"],
    &["EXPIREAT", "str", "1"],
    &["EXISTS", "str"],
    &["RENAME", "nope", "x"],
    &["SET", "r1", "v"],
    &["RENAME", "r1", "r2"],
    &["GET", "r2"],
    &["RENAMENX", "r2", "s"],
    &["HSET", "h", "a", "1", "b", "2"],
    &["HSET", "h", "a", "1", "c"],
    &["HSET", "h", "b", "3", "c", "4"],
    &["HGET", "h", "b"],
    &["HGET", "h", "zz"],
    &["HMGET", "h", "a", "zz", "c"],
    &["HGETALL", "h"],
    &["HKEYS", "h"],
    &["HVALS", "h"],
    &["HLEN", "h"],
    &["HEXISTS", "h", "a"],
    &["HEXISTS", "h", "zz"],
    &["HDEL", "h", "a", "zz"],
    &["HINCRBY", "h", "c", "10"],
    &["HINCRBY", "h", "n", "x"],
    &["HINCRBYFLOAT", "h", "cf", "1.5"],
    &["HSETNX", "h", "c", "x"],
    &["HSETNX", "h", "d", "x"],
    &["HSTRLEN", "h", "d"],
    &["HGET", "s", "x"],
    &["GET", "h"],
    &["HMSET", "h2", "k", "v"],
    &["RENAME", "h", "h3"],
    &["HGETALL", "h3"],
    &["SADD", "set", "a", "b", "c"],
    &["SADD", "set", "a", "d"],
    &["SREM", "set", "d", "zz"],
    &["SISMEMBER", "set", "a"],
    &["SISMEMBER", "set", "zz"],
    &["SMISMEMBER", "set", "a", "zz"],
    &["SCARD", "set"],
    &["SCARD", "nope"],
    &["SADD", "s", "x"],
    &["SPOP", "nope"],
    &["SPOP", "set", "-1"],
    &["SPOP", "set", "x"],
    &["SPOP", "s", "-1"],
    &["SPOP", "set", "1", "2"],
    &["SRANDMEMBER", "nope"],
    &["ZADD", "z", "1", "a", "2", "b", "3", "c"],
    &["ZADD", "z", "NX", "10", "a"],
    &["ZADD", "z", "XX", "CH", "10", "a", "5", "zz"],
    &["ZADD", "z", "NX", "XX", "1", "a"],
    &["ZADD", "z", "INCR", "1", "a", "2", "b"],
    &["ZADD", "z", "INCR", "5", "b"],
    &["ZADD", "z", "x", "a"],
    &["ZADD", "z", "1"],
    &["ZSCORE", "z", "a"],
    &["ZSCORE", "z", "nope"],
    &["ZINCRBY", "z", "2.5", "c"],
    &["ZCARD", "z"],
    &["ZCOUNT", "z", "-inf", "+inf"],
    &["ZCOUNT", "z", "(5", "10"],
    &["ZCOUNT", "z", "x", "10"],
    &["ZRANGE", "z", "0", "-1"],
    &["ZRANGE", "z", "0", "-1", "WITHSCORES"],
    &["ZRANGE", "z", "1", "1"],
    &["ZREVRANGE", "z", "0", "1", "WITHSCORES"],
    &["ZRANGEBYSCORE", "z", "-inf", "(10", "WITHSCORES"],
    &["ZRANGEBYSCORE", "z", "0", "100", "LIMIT", "1", "1"],
    &["ZREVRANGEBYSCORE", "z", "+inf", "-inf"],
    &["ZRANK", "z", "c"],
    &["ZREVRANK", "z", "c"],
    &["ZRANK", "z", "nope"],
    &["ZREM", "z", "a", "nope"],
    &["ZPOPMIN", "z"],
    &["ZPOPMAX", "z", "5"],
    &["ZPOPMIN", "nope"],
    &["ZCARD", "z"],
    &["ZSCORE", "s", "x"],
    &["RPUSH", "l", "a", "b", "c"],
    &["LPUSH", "l", "z", "y"],
    &["LLEN", "l"],
    &["LRANGE", "l", "0", "-1"],
    &["LRANGE", "l", "-2", "100"],
    &["LRANGE", "l", "5", "10"],
    &["LINDEX", "l", "0"],
    &["LINDEX", "l", "-1"],
    &["LINDEX", "l", "99"],
    &["LSET", "l", "1", "Z"],
    &["LSET", "l", "99", "Z"],
    &["LSET", "nope", "0", "Z"],
    // LSET looks the key up before it reads the index
    &["LSET", "l", "x", "Z"],
    &["LSET", "nope", "x", "Z"],
    &["LSET", "s", "x", "Z"],
    &["LPOP", "l"],
    &["RPOP", "l"],
    &["LPOP", "l", "2"],
    &["LPOP", "nope"],
    &["LPOP", "l", "x"],
    &["RPOP", "s", "-1"],
    &["LPOP", "l", "1", "2"],
    &["LTRIM", "s", "x", "1"],
    &["LREM", "s", "x", "a"],
    &["LMOVE", "s", "l", "UP", "LEFT"],
    &["RPUSH", "l", "a", "b", "a", "c", "a"],
    &["LREM", "l", "2", "a"],
    &["LRANGE", "l", "0", "-1"],
    &["LREM", "l", "-1", "a"],
    &["LRANGE", "l", "0", "-1"],
    &["LTRIM", "l", "1", "-1"],
    &["LRANGE", "l", "0", "-1"],
    &["LTRIM", "l", "5", "10"],
    &["EXISTS", "l"],
    &["LPUSH", "s", "x"],
    &["LPUSHX", "nope", "x"],
    &["DBSIZE"],
    &["NOSUCHCOMMAND", "a", "b"],
    &["GET"],
    &["GET", "a", "b"],
    &["HSET", "h", "a"],
    &["CLIENT", "SETNAME", "tester"],
    &["CLIENT", "GETNAME"],
    &["CONFIG", "NOSUCH"],
    // key expiry times, TOUCH, SMOVE
    &["SET", "e1", "v"],
    &["EXPIRETIME", "e1"],
    &["PEXPIRETIME", "e1"],
    &["EXPIRETIME", "nokey"],
    &["PEXPIREAT", "e1", "4102444800123"],
    &["EXPIRETIME", "e1"],
    &["PEXPIRETIME", "e1"],
    &["TOUCH", "e1", "nokey", "e1"],
    &["TOUCH"],
    &["SADD", "src", "b", "c"],
    &["SADD", "dst", "a"],
    &["SMOVE", "src", "dst", "b"],
    &["SMOVE", "src", "dst", "zz"],
    &["SMOVE", "src", "src", "c"],
    &["SMOVE", "nosrc", "dst", "a"],
    &["SMOVE", "src", "e1", "c"],
    &["SMOVE", "e1", "dst", "c"],
    &["SMOVE", "src", "newdst", "c"],
    &["SMEMBERS", "src"],
    // (Redis 7.0 orders a small set of strings by hash: compare members)
    &["SCARD", "dst"],
    &["SMISMEMBER", "dst", "a", "b", "c"],
    &["SMEMBERS", "newdst"],
    &["EXISTS", "src"],
    &["SMOVE", "src"],
    // SINTERSTORE / SUNIONSTORE / SDIFFSTORE (integer members: Redis keeps
    // them sorted, as intsets)
    &["SADD", "n1", "1", "2", "3", "4"],
    &["SADD", "n2", "3", "4", "5"],
    &["SINTERSTORE", "n3", "n1", "n2"],
    &["SMEMBERS", "n3"],
    &["SUNIONSTORE", "n3", "n1", "n2", "nokey"],
    &["SMEMBERS", "n3"],
    &["SDIFFSTORE", "n3", "n1", "n2"],
    &["SMEMBERS", "n3"],
    &["SET", "str", "x"],
    &["SINTERSTORE", "str", "n1", "n2"],
    &["TYPE", "str"],
    &["SINTERSTORE", "n3", "n1", "nokey"],
    &["EXISTS", "n3"],
    &["SUNIONSTORE", "n3", "n1", "e1"],
    &["SDIFFSTORE", "n1", "n1", "n2"],
    &["SMEMBERS", "n1"],
    &["SINTERSTORE", "n3"],
    // LMOVE / RPOPLPUSH
    &["RPUSH", "q1", "a", "b", "c"],
    &["RPOPLPUSH", "q1", "q2"],
    &["LMOVE", "q1", "q2", "LEFT", "RIGHT"],
    &["LMOVE", "q1", "q1", "right", "left"],
    &["LRANGE", "q1", "0", "-1"],
    &["LRANGE", "q2", "0", "-1"],
    &["LMOVE", "q1", "q2", "UP", "LEFT"],
    &["LMOVE", "nolist", "q2", "LEFT", "LEFT"],
    &["LMOVE", "q1", "e1", "LEFT", "LEFT"],
    &["RPOPLPUSH", "e1", "q2"],
    &["LMOVE", "q1", "q2", "LEFT", "LEFT"],
    &["EXISTS", "q1"],
    &["LRANGE", "q2", "0", "-1"],
    &["RPOPLPUSH", "q2"],
    // GETEX
    &["SET", "gx", "v"],
    &["GETEX", "gx"],
    &["GETEX", "gx", "EX", "100"],
    &["TTL", "gx"],
    &["GETEX", "gx", "PERSIST"],
    &["TTL", "gx"],
    &["GETEX", "gx", "PX", "0"],
    &["GETEX", "gx", "EX", "x"],
    &["GETEX", "gx", "EX", "10", "PX", "10"],
    &["GETEX", "gx", "PERSIST", "EX", "10"],
    &["GETEX", "gx", "EX"],
    &["GETEX", "gx", "BOGUS"],
    &["GETEX", "nokey", "EX", "10"],
    &["GETEX", "n1", "EX", "10"],
    &["GETEX", "gx", "EXAT", "1"],
    &["EXISTS", "gx"],
    // COPY
    &["SET", "cp", "val", "EX", "1000"],
    &["COPY", "cp", "cp2"],
    &["GET", "cp2"],
    &["TTL", "cp2"],
    &["COPY", "cp", "cp2"],
    &["COPY", "n1", "cp2", "REPLACE"],
    &["SMISMEMBER", "cp2", "1", "2", "9"],
    &["COPY", "nokey", "cp3"],
    &["COPY", "cp", "cp"],
    &["COPY", "cp", "cp4", "DB", "0"],
    &["COPY", "cp", "cp4", "DB", "99"],
    &["COPY", "cp", "cp4", "DB", "x"],
    &["COPY", "cp", "cp4", "BOGUS"],
    // LCS
    &["SET", "lc1", "ohmytext"],
    &["SET", "lc2", "mynewtext"],
    &["LCS", "lc1", "lc2"],
    &["LCS", "lc1", "lc2", "LEN"],
    &["LCS", "lc1", "lc2", "IDX"],
    &["LCS", "lc1", "lc2", "IDX", "MINMATCHLEN", "4"],
    &[
        "LCS",
        "lc1",
        "lc2",
        "IDX",
        "MINMATCHLEN",
        "4",
        "WITHMATCHLEN",
    ],
    &["LCS", "lc1", "lc2", "IDX", "WITHMATCHLEN"],
    &["LCS", "lc1", "lc2", "IDX", "LEN"],
    &["LCS", "lc1", "nokey"],
    &["LCS", "lc1", "n1"],
    &["LCS", "lc1", "lc2", "BOGUS"],
    &["LCS", "lc1", "lc2", "MINMATCHLEN", "x"],
    // bits
    &["SET", "b1", "foobar"],
    &["SET", "b2", "abcdef"],
    &["BITOP", "AND", "bd", "b1", "b2"],
    &["GET", "bd"],
    &["BITOP", "OR", "bd", "b1", "b2", "nokey"],
    &["GET", "bd"],
    &["BITOP", "XOR", "bd", "b1", "b2"],
    &["GET", "bd"],
    &["BITOP", "NOT", "bd", "b1"],
    &["GET", "bd"],
    &["BITOP", "NOT", "bd", "b1", "b2"],
    &["BITOP", "NAND", "bd", "b1"],
    &["BITOP", "AND", "bd", "b1", "n1"],
    &["BITOP", "AND", "bd", "nokey"],
    &["EXISTS", "bd"],
    &["BITFIELD", "bp", "SET", "u24", "0", "16773120"],
    &["SET", "bz", "\x00\x00\x00"],
    &["BITOP", "NOT", "bo", "bz"],
    &["BITPOS", "bp", "0"],
    &["BITPOS", "bp", "1"],
    &["BITPOS", "bp", "0", "2"],
    &["BITPOS", "bp", "1", "2"],
    &["BITPOS", "bp", "1", "0", "-1", "BIT"],
    &["BITPOS", "bp", "0", "3", "12", "BIT"],
    &["BITPOS", "bp", "1", "7", "15", "BIT"],
    &["BITPOS", "bo", "0"],
    &["BITPOS", "bo", "0", "0"],
    &["BITPOS", "bo", "0", "0", "-1"],
    &["BITPOS", "bz", "1"],
    &["BITPOS", "bz", "0", "1", "1"],
    &["BITPOS", "nokey", "0"],
    &["BITPOS", "nokey", "1"],
    &["BITPOS", "bp", "2"],
    &["BITPOS", "bp", "1", "x"],
    &["BITPOS", "bp", "1", "0", "1", "WORD"],
    &["BITPOS", "bp", "1", "5", "2"],
    &["BITPOS", "n1", "1"],
    &["BITFIELD", "bf", "SET", "i8", "0", "100", "GET", "i8", "0"],
    &[
        "BITFIELD", "bf", "INCRBY", "i8", "0", "100", "GET", "u4", "0",
    ],
    &[
        "BITFIELD", "bf", "OVERFLOW", "SAT", "INCRBY", "i8", "0", "100",
    ],
    &[
        "BITFIELD", "bf", "OVERFLOW", "FAIL", "INCRBY", "i8", "0", "1",
    ],
    &[
        "BITFIELD", "bf", "OVERFLOW", "WRAP", "INCRBY", "u2", "100", "1", "INCRBY", "u2", "100",
        "1",
    ],
    &[
        "BITFIELD", "bf", "SET", "u8", "#1", "255", "GET", "u8", "8", "GET", "i8", "#1",
    ],
    &[
        "BITFIELD", "bf", "OVERFLOW", "SAT", "SET", "u8", "0", "300", "SET", "i8", "8", "-300",
    ],
    &[
        "BITFIELD", "bf", "OVERFLOW", "FAIL", "SET", "u4", "0", "16", "GET", "u4", "0",
    ],
    &["BITFIELD", "bf", "SET", "u8", "0", "-1", "GET", "u8", "0"],
    &[
        "BITFIELD", "bf", "SET", "i64", "0", "-5", "GET", "i64", "0", "GET", "u63", "1",
    ],
    &[
        "BITFIELD",
        "bf",
        "INCRBY",
        "i64",
        "0",
        "9223372036854775807",
    ],
    &["GET", "bf"],
    &["BITFIELD", "bf"],
    &["BITFIELD", "bf", "GET", "u64", "0"],
    &["BITFIELD", "bf", "GET", "i65", "0"],
    &["BITFIELD", "bf", "GET", "x8", "0"],
    &["BITFIELD", "bf", "GET", "I8", "0"],
    &["BITFIELD", "bf", "GET", "u8", "-1"],
    &["BITFIELD", "bf", "GET", "u8", "#x"],
    &["BITFIELD", "bf", "SET", "u8", "0", "x"],
    &["BITFIELD", "bf", "OVERFLOW", "BOOM"],
    &["BITFIELD", "bf", "GET", "u8"],
    &["BITFIELD", "bf", "BOGUS", "u8", "0"],
    &["BITFIELD", "n1", "GET", "u8", "0"],
    &["BITFIELD", "newbf", "GET", "u8", "0"],
    &["EXISTS", "newbf"],
    &[
        "BITFIELD", "newbf", "OVERFLOW", "FAIL", "INCRBY", "u2", "20", "10",
    ],
    &["STRLEN", "newbf"],
    &["BITFIELD_RO", "bf", "GET", "u8", "0", "GET", "i4", "4"],
    &["BITFIELD_RO", "bf", "SET", "u8", "0", "1"],
    &["BITFIELD_RO", "nokey", "GET", "u8", "0"],
    // OBJECT (plausible answers)
    &["SET", "oi", "123"],
    &["SET", "os", "short"],
    &[
        "SET",
        "ol",
        "a-string-longer-than-forty-four-bytes-xxxxxxxxxxxxx",
    ],
    &["OBJECT", "ENCODING", "oi"],
    &["OBJECT", "ENCODING", "os"],
    &["OBJECT", "ENCODING", "ol"],
    &["OBJECT", "ENCODING", "n1"],
    &["OBJECT", "ENCODING", "nokey"],
    &["RPUSH", "olist", "a"],
    &["OBJECT", "ENCODING", "olist"],
    &["HSET", "oh", "f", "v"],
    &["OBJECT", "ENCODING", "oh"],
    &["ZADD", "oz", "1", "m"],
    &["OBJECT", "ENCODING", "oz"],
    &["SADD", "osx", "abc"],
    &["OBJECT", "ENCODING", "osx"],
    &["OBJECT", "REFCOUNT", "oi"],
    &["OBJECT", "REFCOUNT", "os"],
    &["OBJECT", "IDLETIME", "os"],
    &["OBJECT", "FREQ", "os"],
    &["OBJECT", "REFCOUNT", "nokey"],
    &["OBJECT", "ENCODING"],
    &["OBJECT", "BOGUS", "x"],
    // LINSERT, LPOS
    &["RPUSH", "li", "a", "b", "c", "d", "e", "b"],
    &["LINSERT", "li", "BEFORE", "c", "X"],
    &["LINSERT", "li", "AFTER", "c", "Y"],
    &["LINSERT", "li", "BEFORE", "a", "first"],
    &["LINSERT", "li", "AFTER", "e", "Z"],
    &["LRANGE", "li", "0", "-1"],
    &["LINSERT", "li", "AFTER", "nothere", "Q"],
    &["LINSERT", "li", "MIDDLE", "a", "Q"],
    &["LINSERT", "nolist", "BEFORE", "a", "Q"],
    &["LINSERT", "str", "BEFORE", "a", "Q"],
    &["RPUSH", "li2", "x"],
    &["LINSERT", "li2", "AFTER", "x", "y"],
    &["LINSERT", "li2", "BEFORE", "x", "w"],
    &["LRANGE", "li2", "0", "-1"],
    &["LPOS", "li", "b"],
    &["LPOS", "li", "b", "RANK", "2"],
    &["LPOS", "li", "b", "RANK", "-1"],
    &["LPOS", "li", "b", "COUNT", "0"],
    &["LPOS", "li", "b", "COUNT", "1", "RANK", "-1"],
    &["LPOS", "li", "b", "MAXLEN", "2"],
    &["LPOS", "li", "b", "MAXLEN", "2", "COUNT", "0"],
    &["LPOS", "li", "nothere"],
    &["LPOS", "li", "nothere", "COUNT", "2"],
    &["LPOS", "li", "b", "RANK", "0"],
    &["LPOS", "li", "b", "RANK", "x"],
    &["LPOS", "li", "b", "COUNT", "-1"],
    &["LPOS", "li", "b", "MAXLEN", "-1"],
    &["LPOS", "li", "b", "COUNT"],
    &["LPOS", "li", "b", "BOGUS", "1"],
    &["LPOS", "nolist", "b"],
    &["LPOS", "nolist", "b", "COUNT", "1"],
    &["LPOS", "str", "b"],
    // SINTERCARD, HRANDFIELD
    &["SADD", "sc1", "a", "b", "c", "d"],
    &["SADD", "sc2", "b", "c", "d", "e"],
    &["SINTERCARD", "2", "sc1", "sc2"],
    &["SINTERCARD", "2", "sc1", "sc2", "LIMIT", "2"],
    &["SINTERCARD", "2", "sc1", "sc2", "LIMIT", "0"],
    &["SINTERCARD", "1", "nokey"],
    &["SINTERCARD", "0", "sc1"],
    &["SINTERCARD", "3", "sc1", "sc2"],
    &["SINTERCARD", "2", "sc1", "sc2", "LIMIT", "-1"],
    &["SINTERCARD", "2", "sc1", "sc2", "BOGUS"],
    &["SINTERCARD", "2", "sc1", "str"],
    &["HSET", "hr", "only", "one"],
    &["HRANDFIELD", "hr"],
    &["HRANDFIELD", "hr", "2"],
    &["HRANDFIELD", "hr", "-2", "WITHVALUES"],
    &["HRANDFIELD", "hr", "0"],
    &["HRANDFIELD", "nokey"],
    &["HRANDFIELD", "nokey", "3"],
    &["HRANDFIELD", "hr", "x"],
    &["HRANDFIELD", "hr", "1", "BOGUS"],
    &["HRANDFIELD", "str"],
    &["SRANDMEMBER", "osx", "-3"],
    // server commands (where Redis's answer does not depend on its build)
    &["SHUTDOWN", "ABORT"],
    &["SHUTDOWN", "NOSAVE", "BOGUS"],
    &["SLOWLOG", "GET", "-2"],
    &["SLOWLOG", "BOGUS"],
    &["MEMORY", "USAGE", "nokey"],
    &["MEMORY", "BOGUS"],
    &["COMMAND", "INFO", "nosuchcommand"],
    &["COMMAND", "DOCS", "nosuchcommand"],
    &["COMMAND", "COUNT", "x"],
    &["CONFIG", "GET", "slowlog-max-len"],
    // SORT and SORT_RO
    &["RPUSH", "so", "3", "1", "2", "10"],
    &["SORT", "so"],
    &["SORT", "so", "DESC"],
    &["SORT", "so", "ALPHA"],
    &["SORT", "so", "LIMIT", "1", "2"],
    &["SORT", "so", "LIMIT", "-1", "2", "DESC"],
    &["SORT", "so", "LIMIT", "10", "2"],
    &["SORT", "so", "LIMIT", "1", "-1"],
    &["MSET", "w_1", "40", "w_2", "30", "w_3", "20", "w_10", "10"],
    &["HSET", "h_1", "name", "one"],
    &["HSET", "h_2", "name", "two"],
    &["SORT", "so", "BY", "w_*"],
    &[
        "SORT",
        "so",
        "BY",
        "w_*",
        "GET",
        "#",
        "GET",
        "w_*",
        "GET",
        "h_*->name",
    ],
    &["SORT", "so", "BY", "nosort"],
    &["SORT", "so", "BY", "nosort", "DESC", "LIMIT", "1", "2"],
    &["SORT", "so", "BY", "h_*->name", "ALPHA"],
    &["SORT", "so", "GET", "nostar"],
    &["SORT", "so", "STORE", "sorted"],
    &["LRANGE", "sorted", "0", "-1"],
    &["SORT", "so", "GET", "h_*->name", "STORE", "sorted"],
    &["LRANGE", "sorted", "0", "-1"],
    &["SORT", "nokey", "STORE", "sorted"],
    &["EXISTS", "sorted"],
    &["SADD", "sos", "b", "c", "a"],
    &["SORT", "sos"],
    &["SORT", "sos", "ALPHA"],
    &["SORT", "sos", "ALPHA", "DESC"],
    &["SORT", "sos", "BY", "nosort", "STORE", "sorted"],
    &["LRANGE", "sorted", "0", "-1"],
    &["ZADD", "soz", "1", "c", "2", "a", "3", "b"],
    &["SORT", "soz", "BY", "nosort"],
    &["SORT", "soz", "BY", "nosort", "DESC"],
    &["SORT", "soz", "ALPHA"],
    &["SORT", "str"],
    &["SORT", "oh"],
    &["SORT", "so", "LIMIT", "x", "1"],
    &["SORT", "so", "BOGUS"],
    &["SORT", "so", "LIMIT", "1"],
    &["SORT_RO", "so", "DESC"],
    &["SORT_RO", "so", "STORE", "x"],
    &["RPUSH", "sof", "1", "x"],
    &["SORT", "sof"],
    &["SORT", "sof", "ALPHA"],
    // sorted-set ranges: by rank, score, member; REV; LIMIT
    &[
        "ZADD", "zr", "1", "a", "2", "b", "3", "c", "4", "d", "5", "e",
    ],
    &["ZRANGE", "zr", "0", "-1", "WITHSCORES"],
    &["ZRANGE", "zr", "1", "3", "REV"],
    &["ZRANGE", "zr", "(1", "4", "BYSCORE"],
    &["ZRANGE", "zr", "4", "(1", "BYSCORE", "REV", "WITHSCORES"],
    &["ZRANGE", "zr", "-inf", "+inf", "BYSCORE", "LIMIT", "1", "2"],
    &[
        "ZRANGE", "zr", "+inf", "-inf", "BYSCORE", "REV", "LIMIT", "0", "2",
    ],
    &["ZRANGE", "zr", "0", "-1", "LIMIT", "0", "2"],
    &["ZRANGE", "zr", "0", "-1", "LIMIT", "0", "-1"],
    &["ZRANGE", "zr", "-", "+", "BYLEX", "WITHSCORES"],
    &["ZRANGE", "zr", "x", "+", "BYLEX"],
    &["ZRANGE", "zr", "a", "b", "BYSCORE"],
    &["ZRANGE", "zr", "0", "1", "BYSCORE", "BYLEX"],
    &["ZRANGE", "zr", "0", "1", "REV", "REV"],
    &["ZRANGE", "zr", "0", "1", "LIMIT", "1"],
    &["ZRANGE", "zr", "0", "1", "BYSCORE", "LIMIT", "x", "1"],
    &["ZRANGE", "zr", "x", "1"],
    &["ZRANGE", "zr", "0", "-1", "BYSCORE", "LIMIT", "-1", "2"],
    &["ZRANGE", "nozset", "0", "-1"],
    &["ZRANGE", "str", "0", "-1"],
    &["ZREVRANGE", "zr", "0", "1", "WITHSCORES"],
    &["ZREVRANGE", "zr", "0", "1", "BYSCORE"],
    &[
        "ZRANGEBYSCORE",
        "zr",
        "2",
        "4",
        "LIMIT",
        "1",
        "5",
        "WITHSCORES",
    ],
    &["ZRANGEBYSCORE", "zr", "2", "4", "REV"],
    &["ZREVRANGEBYSCORE", "zr", "4", "2"],
    &["ZREVRANGEBYSCORE", "zr", "(4", "(2"],
    &[
        "ZADD", "zl", "0", "alpha", "0", "beta", "0", "delta", "0", "gamma",
    ],
    &["ZRANGEBYLEX", "zl", "-", "+"],
    &["ZRANGEBYLEX", "zl", "[beta", "(gamma"],
    &["ZRANGEBYLEX", "zl", "(alpha", "+", "LIMIT", "1", "1"],
    &["ZREVRANGEBYLEX", "zl", "+", "[beta"],
    &["ZREVRANGEBYLEX", "zl", "(gamma", "-", "LIMIT", "0", "2"],
    &["ZRANGEBYLEX", "zl", "beta", "+"],
    &["ZRANGEBYLEX", "zl", "-", "+", "WITHSCORES"],
    &["ZLEXCOUNT", "zl", "[b", "[e"],
    &["ZLEXCOUNT", "zl", "-", "+"],
    &["ZLEXCOUNT", "zl", "x", "+"],
    &["ZLEXCOUNT", "nozset", "-", "+"],
    &["ZRANGESTORE", "zdst", "zr", "1", "3"],
    &["ZRANGE", "zdst", "0", "-1", "WITHSCORES"],
    &[
        "ZRANGESTORE",
        "zdst",
        "zr",
        "5",
        "(2",
        "BYSCORE",
        "REV",
        "LIMIT",
        "0",
        "2",
    ],
    &["ZRANGE", "zdst", "0", "-1", "WITHSCORES"],
    &["ZRANGESTORE", "zdst", "zl", "[b", "+", "BYLEX"],
    &["ZRANGE", "zdst", "0", "-1"],
    &["ZRANGESTORE", "zdst", "zr", "0", "-1", "WITHSCORES"],
    &["ZRANGESTORE", "zdst", "nozset", "0", "-1"],
    &["EXISTS", "zdst"],
    &["ZRANGESTORE", "zdst", "str", "0", "-1"],
    &["ZREMRANGEBYRANK", "zr", "0", "0"],
    &["ZREMRANGEBYRANK", "zr", "-1", "-1"],
    &["ZREMRANGEBYRANK", "zr", "5", "10"],
    &["ZREMRANGEBYRANK", "zr", "x", "1"],
    &["ZREMRANGEBYSCORE", "zr", "(2", "3"],
    &["ZREMRANGEBYSCORE", "zr", "x", "3"],
    &["ZRANGE", "zr", "0", "-1", "WITHSCORES"],
    &["ZREMRANGEBYLEX", "zl", "[alpha", "(delta"],
    &["ZREMRANGEBYLEX", "zl", "alpha", "(delta"],
    &["ZRANGE", "zl", "0", "-1"],
    &["ZREMRANGEBYRANK", "nozset", "0", "-1"],
    &["ZREMRANGEBYSCORE", "str", "0", "1"],
    &["ZREMRANGEBYLEX", "zl", "-", "+"],
    &["EXISTS", "zl"],
    // across sorted sets (and sets, scored 1)
    &["ZADD", "za", "1", "a", "2", "b", "3", "c"],
    &["ZADD", "zb", "10", "b", "20", "c", "30", "d"],
    &["SADD", "sx", "c", "d", "e"],
    &["ZUNION", "2", "za", "zb"],
    &["ZUNION", "2", "za", "zb", "WITHSCORES"],
    &[
        "ZUNION",
        "3",
        "za",
        "zb",
        "sx",
        "WEIGHTS",
        "2",
        "0.5",
        "3",
        "WITHSCORES",
    ],
    &["ZUNION", "2", "za", "zb", "AGGREGATE", "MAX", "WITHSCORES"],
    &["ZUNION", "2", "za", "zb", "AGGREGATE", "MIN", "WITHSCORES"],
    &["ZINTER", "2", "za", "zb", "WITHSCORES"],
    &["ZINTER", "3", "za", "zb", "sx", "WITHSCORES"],
    &["ZINTER", "2", "za", "nozset"],
    &["ZDIFF", "2", "za", "zb", "WITHSCORES"],
    &["ZDIFF", "1", "za"],
    &["ZDIFF", "2", "za", "zb", "WEIGHTS", "1", "2"],
    &["ZUNION", "0", "za"],
    &["ZUNION", "x", "za"],
    &["ZUNION", "3", "za", "zb"],
    &["ZUNION", "2", "za", "str"],
    &["ZUNION", "2", "za", "zb", "WEIGHTS", "1"],
    &["ZUNION", "2", "za", "zb", "WEIGHTS", "1", "x"],
    &["ZUNION", "2", "za", "zb", "AGGREGATE", "AVG"],
    &["ZUNION", "2", "za", "zb", "BOGUS"],
    &["ZUNIONSTORE", "zu", "2", "za", "zb", "WEIGHTS", "1", "2"],
    &["ZRANGE", "zu", "0", "-1", "WITHSCORES"],
    &["ZINTERSTORE", "zu", "2", "za", "zb", "AGGREGATE", "MAX"],
    &["ZRANGE", "zu", "0", "-1", "WITHSCORES"],
    &["ZDIFFSTORE", "zu", "2", "za", "zb"],
    &["ZRANGE", "zu", "0", "-1", "WITHSCORES"],
    &["ZINTERSTORE", "zu", "2", "za", "nozset"],
    &["EXISTS", "zu"],
    &["ZUNIONSTORE", "zu", "2", "za", "zb", "WITHSCORES"],
    &["ZUNIONSTORE", "zu", "0", "za"],
    &["ZINTERCARD", "2", "za", "zb"],
    &["ZINTERCARD", "2", "za", "zb", "LIMIT", "1"],
    &["ZINTERCARD", "2", "za", "zb", "LIMIT", "-1"],
    &["ZINTERCARD", "0", "za"],
    &["ZINTERCARD", "1", "za", "WITHSCORES"],
    &["ZADD", "z1", "7", "only"],
    &["ZRANDMEMBER", "z1"],
    &["ZRANDMEMBER", "z1", "3"],
    &["ZRANDMEMBER", "z1", "-3", "WITHSCORES"],
    &["ZRANDMEMBER", "z1", "0"],
    &["ZRANDMEMBER", "nozset"],
    &["ZRANDMEMBER", "nozset", "2"],
    &["ZRANDMEMBER", "z1", "x"],
    &["ZRANDMEMBER", "z1", "1", "BOGUS"],
    &["ZRANDMEMBER", "str"],
    // LMPOP, ZMPOP and the blocking pops' answers when data is there
    &["RPUSH", "m1", "a", "b", "c"],
    &["LMPOP", "2", "m0", "m1", "LEFT"],
    &["LMPOP", "2", "m0", "m1", "RIGHT", "COUNT", "5"],
    &["LMPOP", "1", "m1", "LEFT"],
    &["LMPOP", "0", "m1", "LEFT"],
    &["LMPOP", "x", "m1", "LEFT"],
    &["LMPOP", "3", "m1", "LEFT"],
    &["LMPOP", "1", "m1", "UP"],
    &["LMPOP", "1", "m1", "LEFT", "COUNT", "0"],
    &["LMPOP", "1", "m1", "LEFT", "COUNT", "1", "COUNT", "2"],
    &["LMPOP", "1", "m1", "LEFT", "EXTRA"],
    &["LMPOP", "1", "str", "LEFT"],
    &["LMPOP", "1", "m1", "UP", "COUNT", "0"],
    &["LMPOP", "1", "m1", "LEFT", "COUNT", "x", "EXTRA"],
    &["LMPOP", "2", "str", "m1", "UP"],
    &["ZADD", "mz", "1", "a", "2", "b", "3", "c"],
    &["ZMPOP", "2", "mz0", "mz", "MIN"],
    &["ZMPOP", "1", "mz", "MAX", "COUNT", "10"],
    &["ZMPOP", "1", "mz", "MAX"],
    &["ZMPOP", "1", "mz", "MIDDLE"],
    &["ZMPOP", "1", "str", "MIN"],
    &["RPUSH", "bl", "a", "b", "c", "d"],
    &["BLPOP", "nolist", "bl", "0"],
    &["BRPOP", "bl", "0.5"],
    &["BLMOVE", "bl", "bl2", "LEFT", "LEFT", "0"],
    &["BRPOPLPUSH", "bl", "bl2", "0"],
    &["LRANGE", "bl2", "0", "-1"],
    &["BLMPOP", "0", "2", "none", "bl2", "LEFT", "COUNT", "9"],
    &["ZADD", "bz", "1", "a", "2", "b", "3", "c"],
    &["BZPOPMIN", "bz", "0"],
    &["BZPOPMAX", "nokey", "bz", "0"],
    &["BZMPOP", "1", "1", "bz", "MIN"],
    &["BLPOP", "bl", "-1"],
    &["BLPOP", "bl", "abc"],
    &["BLPOP", "str", "1"],
    &["BZPOPMIN", "str", "1"],
    &["BLMOVE", "bl", "bl2", "UP", "LEFT", "0"],
    &["BLMPOP", "-1", "1", "bl", "LEFT"],
    &["BLMPOP", "0", "0", "bl", "LEFT"],
    &["BZMPOP", "0", "1", "bz", "UP"],
    // the timeout is read after the other arguments, before the keys
    &["BLMPOP", "-1", "0", "bl", "LEFT"],
    &["BLMPOP", "abc", "1", "bl", "UP"],
    &["BLMPOP", "-1", "1", "bl", "LEFT", "COUNT", "0"],
    &["BLMPOP", "-1", "1", "str", "LEFT"],
    &["BLMOVE", "str", "bl2", "LEFT", "LEFT", "-1"],
    &["BRPOPLPUSH", "str", "bl2", "-1"],
    &["BLPOP", "str", "-1"],
    &["BLPOP", "bl"],
    &["BLPOP", "nothing", "0.01"],
    &["BZPOPMIN", "nothing", "0.01"],
    &["BLMOVE", "nothing", "bl2", "LEFT", "LEFT", "0.01"],
    &["BLMPOP", "0.01", "1", "nothing", "LEFT"],
    // errors of arguments and of data, in Redis's order (parsed on the
    // connection, some answered only after the keys' types are checked)
    &["SET", "ostr", "v"],
    &["RPUSH", "olist", "a"],
    &["ZADD", "oz2", "1", "a"],
    &["ZMPOP", "1", "oz2", "FOO", "COUNT", "0"],
    &["BZMPOP", "x", "1", "oz2", "FOO"],
    &["BZMPOP", "x", "1", "oz2", "MIN", "COUNT", "0"],
    &["BZMPOP", "x", "1", "oz2", "MIN"],
    &["BZPOPMIN", "ostr", "x"],
    &["EXPIRE", "ostr", "abc", "FOO"],
    &["EXPIRE", "ostr", "abc", "NX", "XX"],
    &["EXPIRE", "ostr", "9223372036854775807"],
    &["PEXPIRE", "nokey", "9223372036854775807"],
    &["PEXPIREAT", "nokey", "9223372036854775807"],
    &["ZUNIONSTORE", "od", "2", "ostr", "oz2", "WEIGHTS", "a", "b"],
    &["ZUNION", "2", "oz2", "ostr", "BOGUS"],
    &["ZDIFFSTORE", "od", "2", "ostr", "oz2", "WEIGHTS", "1", "2"],
    &["ZINTERCARD", "2", "ostr", "oz2", "LIMIT", "-1"],
    &["ZINTERCARD", "1", "nokey", "LIMIT", "-1"],
    &["ZINTERSTORE", "od", "2", "oz2", "nokey", "AGGREGATE", "AVG"],
    &["SETRANGE", "olist", "536870911", "xx"],
    &["SETRANGE", "nokey", "636870911", ""],
    &["SETRANGE", "ostr", "536870911", "xx"],
    &["SETBIT", "olist", "1", "2"],
    &["SETBIT", "olist", "1", "1"],
    &["ZPOPMIN", "ostr", "x"],
    &["ZPOPMIN", "ostr", "0"],
    &["ZPOPMIN", "oz2", "1", "2"],
    &["ZADD", "ostr", "x", "a"],
    &["ZADD", "ostr", "1", "a"],
    &["ZINCRBY", "ostr", "x", "a"],
    &["ZINCRBY", "oz2", "0", "a"],
    &["ZRANGESTORE", "od", "ostr", "0", "x"],
    &["ZRANGESTORE", "od", "ostr", "0", "1"],
    &["ZREMRANGEBYSCORE", "ostr", "x", "1"],
    &["SORT", "ostr", "LIMIT", "x", "1"],
    &["SORT", "ostr", "STORE", "od"],
    &["BITOP", "AND", "od", "olist", "ostr"],
    &["BITFIELD", "olist", "GET", "i8", "x"],
    &["BITFIELD", "olist", "GET", "i8", "0"],
    &["BITFIELD_RO", "olist", "SET", "i8", "0", "1"],
    &["COPY", "ostr", "ostr", "DB", "99"],
    &["COPY", "ostr", "o2", "DB", "4294967296"],
    &["RENAME", "ostr", "ostr"],
    &["FLUSHDB", "foo"],
    &["MULTI"],
    &["ZADD", "oz2", "x", "b"],
    &["EXPIRE", "ostr", "abc"],
    &["ZUNIONSTORE", "od", "2", "ostr", "oz2", "WEIGHTS", "a", "b"],
    &["ZUNIONSTORE", "od", "0", "oz2"],
    &["SETRANGE", "ostr", "-1", "x"],
    &["BITOP", "NAND", "od", "ostr"],
    &["ZADD", "oz2", "2", "b"],
    &["EXEC"],
    &["ZRANGE", "oz2", "0", "-1", "WITHSCORES"],
    // inside a transaction a blocking pop does not block
    &["MULTI"],
    &["BLPOP", "nothing", "0"],
    &["BZPOPMIN", "nothing", "0"],
    &["BRPOPLPUSH", "nothing", "x", "0"],
    &["RPUSH", "nothing", "1"],
    &["BLPOP", "nothing", "0"],
    &["EXEC"],
    // arguments that do not parse are answered in EXEC's reply, in turn
    &["MULTI"],
    &["RPUSH", "tl", "a"],
    &["LSET", "tl", "x", "Z"],
    &["LPOP", "tl", "x"],
    &["BLPOP", "tl", "-1"],
    &["LPOP", "tl"],
    &["EXEC"],
    // transactions (Sentinel sends its failover block in one)
    &["EXEC"],
    &["DISCARD"],
    &["MULTI"],
    &["SET", "tx", "1"],
    &["INCR", "tx"],
    &["GET", "tx"],
    &["EXEC"],
    &["MULTI"],
    &["MULTI"],
    &["SET", "tx", "2"],
    &["NOSUCHCOMMAND"],
    &["GET"],
    &["EXEC"],
    &["GET", "tx"],
    &["MULTI"],
    &["INCR", "s"],
    &["SET", "tx", "3"],
    &["EXEC"],
    // a transaction never blocks: WAIT answers at once
    &["MULTI"],
    &["WAIT", "1", "0"],
    &["EXEC"],
    // arguments that do not parse: queued, then answered in EXEC's reply
    // (parsed on the connection, refused in their turn)
    &["MULTI"],
    &["SET", "tx", "5", "EX", "abc"],
    &["INCRBY", "tx", "x"],
    &["SET", "tx", "6", "NX", "XX"],
    &["MSET", "tx", "7", "tx2"],
    &["SET", "tx", "8"],
    &["EXEC"],
    &["GET", "tx"],
    &["MULTI"],
    &["SET", "tx", "4"],
    &["DISCARD"],
    &["GET", "tx"],
    &["MULTI"],
    &["EXEC"],
    // scanning commands inside EXEC see the transaction's earlier writes
    &["MULTI"],
    &["HSET", "hx", "a", "1", "b", "2"],
    &["HSET", "hx", "c", "3"],
    &["RENAME", "hx", "hy"],
    &["RPUSH", "lx", "a", "b", "a", "c"],
    &["LREM", "lx", "0", "a"],
    &["ZADD", "zx", "1", "one", "2", "two"],
    &["ZPOPMIN", "zx"],
    &["EXEC"],
    &["HGETALL", "hy"],
    &["LRANGE", "lx", "0", "-1"],
    &["ZRANGE", "zx", "0", "-1"],
    // reads inside EXEC see the transaction's earlier writes
    &["MULTI"],
    &["SET", "tr", "1"],
    &["INCR", "tr"],
    &["GET", "tr"],
    &["HSET", "th", "a", "1", "b", "2"],
    &["HGETALL", "th"],
    &["DEL", "th"],
    &["EXISTS", "th"],
    &["HLEN", "th"],
    &["DBSIZE"],
    &["FLUSHALL"],
    &["DBSIZE"],
    &["SET", "after-flush", "1"],
    &["DBSIZE"],
    &["EXEC"],
    &["PUBLISH", "nobody", "hello"],
    &["FLUSHALL"],
    &["DBSIZE"],
    &["GET", "s"],
    // subscriber mode, last: the connection stays in it
    &["SUBSCRIBE", "a", "b"],
    &["PSUBSCRIBE", "n*"],
    &["GET", "s"],
    &["PING"],
    &["UNSUBSCRIBE", "a"],
    &["PUNSUBSCRIBE"],
    &["UNSUBSCRIBE"],
    &["UNSUBSCRIBE"],
];

#[test]
fn replies_match_redis_server() {
    let redis = RedisServer::start(&[]);
    let ours = InProc::start();
    let mut theirs = Raw::connect(("127.0.0.1", redis.port));
    let mut mine = Raw::connect(ours.addr);
    let mut mismatches = Vec::new();
    for cmd in SCRIPT {
        let (a, b) = (theirs.call(cmd), mine.call(cmd));
        if a != b {
            mismatches.push(format!("{cmd:?}\n  redis:    {a:?}\n  rocksync: {b:?}"));
        }
    }
    assert!(
        mismatches.is_empty(),
        "{} of {} differ:\n{}",
        mismatches.len(),
        SCRIPT.len(),
        mismatches.join("\n")
    );
}

#[test]
fn malformed_input_gets_redis_errors() {
    let redis = RedisServer::start(&[]);
    let ours = InProc::start();
    for bad in [
        &b"*1\r\n$x\r\n"[..],
        b"*x\r\n",
        b"*1\r\n:1\r\n",
        b"set a \"b\r\n",
    ] {
        let a = Raw::connect(("127.0.0.1", redis.port)).raw(bad);
        let b = Raw::connect(ours.addr).raw(bad);
        assert_eq!(a, b, "for {:?}", String::from_utf8_lossy(bad));
    }
}

/// Steps of two clients (0 and 1) interleaved; `SLEEP ms` pauses the
/// script. Each reply must equal redis-server's for the same step.
const TWO_CLIENTS: &[(usize, &[&str])] = &[
    // a touched WATCHed key makes EXEC return nil
    (0, &["SET", "w", "1"]),
    (0, &["WATCH", "w"]),
    (1, &["SET", "w", "2"]),
    (0, &["MULTI"]),
    (0, &["INCR", "w"]),
    (0, &["EXEC"]),
    (0, &["GET", "w"]),
    // untouched: it runs; EXEC ends the WATCH
    (0, &["WATCH", "w"]),
    (0, &["MULTI"]),
    (0, &["INCR", "w"]),
    (0, &["EXEC"]),
    (1, &["SET", "w", "10"]),
    (0, &["MULTI"]),
    (0, &["INCR", "w"]),
    (0, &["EXEC"]),
    // UNWATCH and DISCARD end it too
    (0, &["WATCH", "w"]),
    (0, &["UNWATCH"]),
    (1, &["INCR", "w"]),
    (0, &["MULTI"]),
    (0, &["GET", "w"]),
    (0, &["EXEC"]),
    (0, &["WATCH", "w"]),
    (0, &["MULTI"]),
    (0, &["DISCARD"]),
    (1, &["INCR", "w"]),
    (0, &["MULTI"]),
    (0, &["GET", "w"]),
    (0, &["EXEC"]),
    // a read-only transaction and an empty one fail too
    (0, &["WATCH", "w", "other"]),
    (1, &["DEL", "other"]),
    (1, &["SET", "other", "x"]),
    (0, &["MULTI"]),
    (0, &["GET", "w"]),
    (0, &["EXEC"]),
    (0, &["WATCH", "w"]),
    (1, &["EXPIRE", "w", "1000"]),
    (0, &["MULTI"]),
    (0, &["EXEC"]),
    // FLUSHALL touches every key (Redis 7.0 spares a watched key that did
    // not exist; rocksync breaks every WATCH, which is never less safe)
    (0, &["SET", "flushed", "1"]),
    (0, &["WATCH", "flushed"]),
    (1, &["FLUSHALL"]),
    (0, &["MULTI"]),
    (0, &["SET", "flushed", "2"]),
    (0, &["EXEC"]),
    (0, &["EXISTS", "flushed"]),
    // a key that expires after WATCH
    (0, &["SET", "e", "1", "PX", "100"]),
    (0, &["WATCH", "e"]),
    (0, &["SLEEP", "300"]),
    (0, &["MULTI"]),
    (0, &["SET", "e", "2"]),
    (0, &["EXEC"]),
    (0, &["GET", "e"]),
    // a key already expired when watched: its deletion changes nothing
    (0, &["SET", "e2", "1", "PX", "50"]),
    (0, &["SLEEP", "200"]),
    (0, &["WATCH", "e2"]),
    (0, &["SLEEP", "1200"]),
    (0, &["MULTI"]),
    (0, &["SET", "e2", "2"]),
    (0, &["EXEC"]),
    // errors
    (0, &["MULTI"]),
    (0, &["WATCH", "w"]),
    (0, &["EXEC"]),
    (0, &["WATCH"]),
    (0, &["UNWATCH", "x"]),
];

#[test]
fn two_clients_match_redis_server() {
    let redis = RedisServer::start(&[]);
    let ours = InProc::start();
    let mut theirs = [
        Raw::connect(("127.0.0.1", redis.port)),
        Raw::connect(("127.0.0.1", redis.port)),
    ];
    let mut mine = [Raw::connect(ours.addr), Raw::connect(ours.addr)];
    let mut mismatches = Vec::new();
    for &(who, cmd) in TWO_CLIENTS {
        if cmd[0] == "SLEEP" {
            std::thread::sleep(Duration::from_millis(cmd[1].parse().expect("ms")));
            continue;
        }
        let (a, b) = (theirs[who].call(cmd), mine[who].call(cmd));
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
        TWO_CLIENTS.len(),
        mismatches.join("\n")
    );
}

/// ZPOPMIN and ZPOPMAX seek past the entries earlier pops deleted, from
/// bounds the store keeps per sorted set; any score written outside a
/// bound must widen it. Random pipelines of ZADD (new members, moved
/// scores, ties, fractional scores, members long enough that a bound
/// keeps only their score, scores below and above everything popped so
/// far), pops with counts (ZPOPMIN, ZPOPMAX, ZMPOP, BZPOPMIN), ZREM,
/// ZINCRBY, DEL, FLUSHALL, EXEC blocks and reads, sent alike to
/// redis-server and rocksync: every reply must match.
#[test]
fn sorted_set_pops_match_redis_server_under_random_writes() {
    let redis = RedisServer::start(&[]);
    let ours = InProc::start();
    let mut theirs = redis::Client::open(format!("redis://127.0.0.1:{}/", redis.port))
        .and_then(|c| c.get_connection())
        .expect("redis-server");
    let mut mine = ours.client();
    let mut seed = 0x2545_f491_4f6c_dd1d_u64;
    let mut next = move |n: u64| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed % n
    };
    let long = "x".repeat(1500);
    for step in 0..3000 {
        let mut p = redis::pipe();
        if next(10) == 0 {
            p.atomic();
        }
        for _ in 0..=next(8) {
            let key = format!("z{}", next(3));
            let member = match next(20) {
                0 => format!("{long}{}", next(5)),
                _ => format!("m{}", next(200)),
            };
            let score = match next(4) {
                0 => (next(8) as f64) / 4.0,
                _ => next(400) as f64 - 200.0,
            };
            match next(16) {
                0..=4 => {
                    p.cmd("ZADD").arg(&key).arg(score).arg(&member);
                }
                5 | 6 => {
                    p.cmd("ZPOPMIN").arg(&key).arg(next(4));
                }
                7 | 8 => {
                    p.cmd("ZPOPMAX").arg(&key).arg(next(4));
                }
                9 => {
                    let side = if next(2) == 0 { "MIN" } else { "MAX" };
                    p.cmd("ZMPOP")
                        .arg(2)
                        .arg(&key)
                        .arg("z9")
                        .arg(side)
                        .arg("COUNT")
                        .arg(1 + next(3));
                }
                10 => {
                    p.cmd("BZPOPMIN").arg(&key).arg(0.01);
                }
                11 => {
                    p.cmd("ZREM").arg(&key).arg(&member);
                }
                12 => {
                    p.cmd("ZINCRBY").arg(&key).arg(score).arg(&member);
                }
                13 if next(10) == 0 => {
                    p.cmd("DEL").arg(&key);
                }
                14 if next(40) == 0 => {
                    p.cmd("FLUSHALL");
                }
                _ => {
                    p.cmd("ZRANGE").arg(&key).arg(0).arg(-1).arg("WITHSCORES");
                }
            }
        }
        let a: redis::Value = p.query(&mut theirs).expect("redis-server");
        let b: redis::Value = p.query(&mut mine).expect("rocksync");
        assert_eq!(a, b, "step {step} differs");
    }
    for k in ["z0", "z1", "z2"] {
        let a: Vec<(String, f64)> = theirs.zrange_withscores(k, 0, -1).expect("zrange");
        let b: Vec<(String, f64)> = mine.zrange_withscores(k, 0, -1).expect("zrange");
        assert_eq!(a, b, "{k} differs at the end");
    }
}
