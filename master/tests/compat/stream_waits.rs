//! XREAD and XREADGROUP with BLOCK against redis-server: the same
//! scenarios of several clients run on both servers, and every reply
//! (or the absence of one while a client waits) must be the same bytes,
//! in RESP2 and RESP3: who is served by which write, with what, when a
//! waiter fails (its stream deleted or replaced, its group destroyed),
//! and what never wakes anyone.

use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use bytes::BytesMut;
use rocksync_protocol::{put_command, Reply};

use super::common::{InProc, RedisServer};

/// One step of a scenario.
enum Step {
    /// Client `n` sends a command and does not wait for its reply.
    Send(usize, &'static [&'static str]),
    /// Client `n` sends a command and reads its reply.
    Call(usize, &'static [&'static str]),
    /// Client `n`'s reply arrives (within a few seconds).
    Reply(usize),
    /// Client `n` still has no reply after a moment.
    Waits(usize),
}

use Step::{Call, Reply as Answer, Send, Waits};

struct Client {
    stream: TcpStream,
    buf: Vec<u8>,
}

impl Client {
    fn connect(addr: std::net::SocketAddr, proto: &str) -> Self {
        let stream = TcpStream::connect(addr).expect("connect");
        let mut c = Self {
            stream,
            buf: Vec::new(),
        };
        c.send(&["HELLO", proto]);
        c.reply(Duration::from_secs(5)).expect("hello");
        c
    }

    fn send(&mut self, args: &[&str]) {
        let mut out = BytesMut::new();
        put_command(&mut out, args);
        self.stream.write_all(&out).expect("send");
    }

    /// The next reply's bytes, or `None` when none came within `wait`.
    fn reply(&mut self, wait: Duration) -> Option<Vec<u8>> {
        let until = Instant::now() + wait;
        loop {
            if let Some((_, used)) = Reply::parse(&self.buf).expect("valid RESP") {
                return Some(self.buf.drain(..used).collect());
            }
            let left = until.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return None;
            }
            self.stream.set_read_timeout(Some(left)).expect("timeout");
            let mut chunk = [0u8; 65536];
            match self.stream.read(&mut chunk) {
                Ok(0) => panic!("connection closed"),
                Ok(n) => self.buf.extend_from_slice(&chunk[..n]),
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                    return None
                }
                Err(e) => panic!("read: {e}"),
            }
        }
    }
}

/// What one server answered through a scenario, step by step.
fn run(addr: std::net::SocketAddr, proto: &str, steps: &[Step]) -> Vec<String> {
    let clients = steps
        .iter()
        .map(|s| match s {
            Send(n, _) | Call(n, _) | Answer(n) | Waits(n) => *n,
        })
        .max()
        .unwrap_or(0)
        + 1;
    let mut c: Vec<Client> = (0..clients).map(|_| Client::connect(addr, proto)).collect();
    c[0].send(&["FLUSHALL"]);
    c[0].reply(Duration::from_secs(5)).expect("flushall");
    let show = |r: Option<Vec<u8>>| match r {
        Some(b) => String::from_utf8_lossy(&b).into_owned(),
        None => "(no reply)".to_owned(),
    };
    let mut out = Vec::new();
    for s in steps {
        match s {
            Send(n, args) => {
                c[*n].send(args);
                // The wait starts before the next client's command.
                std::thread::sleep(Duration::from_millis(100));
            }
            Call(n, args) => {
                c[*n].send(args);
                out.push(format!(
                    "{n} {args:?} -> {}",
                    show(c[*n].reply(Duration::from_secs(5)))
                ));
            }
            Answer(n) => out.push(format!(
                "{n} reply -> {}",
                show(c[*n].reply(Duration::from_secs(5)))
            )),
            Waits(n) => out.push(format!(
                "{n} waits -> {}",
                show(c[*n].reply(Duration::from_millis(300)))
            )),
        }
    }
    out
}

const SCENARIOS: &[&[Step]] = &[
    // `$` on a missing key; the first XADD serves it.
    &[
        Send(1, &["XREAD", "BLOCK", "0", "STREAMS", "s", "$"]),
        Call(0, &["XADD", "s", "1-0", "a", "1"]),
        Answer(1),
    ],
    // Served with only the key that was fed.
    &[
        Call(0, &["XADD", "k1", "1-0", "a", "1"]),
        Send(1, &["XREAD", "BLOCK", "0", "STREAMS", "k1", "k2", "$", "$"]),
        Call(0, &["XADD", "k2", "5-0", "b", "2"]),
        Answer(1),
    ],
    // A timeout answers nil.
    &[
        Send(1, &["XREAD", "BLOCK", "150", "STREAMS", "s", "$"]),
        Answer(1),
        Call(1, &["PING"]),
    ],
    // XADD then DEL in one transaction: XREAD keeps waiting.
    &[
        Send(1, &["XREAD", "BLOCK", "0", "STREAMS", "s", "$"]),
        Call(0, &["MULTI"]),
        Call(0, &["XADD", "s", "1-0", "a", "1"]),
        Call(0, &["DEL", "s"]),
        Call(0, &["EXEC"]),
        Waits(1),
        Call(0, &["XADD", "s", "2-0", "a", "2"]),
        Answer(1),
    ],
    // XADD then XDEL in one transaction: served with nothing (Redis).
    &[
        Call(0, &["XADD", "s", "1-0", "a", "1"]),
        Send(1, &["XREAD", "BLOCK", "0", "STREAMS", "s", "$"]),
        Call(0, &["MULTI"]),
        Call(0, &["XADD", "s", "8-0", "a", "1"]),
        Call(0, &["XDEL", "s", "8-0"]),
        Call(0, &["EXEC"]),
        Answer(1),
    ],
    // Neither XDEL, XTRIM, XSETID nor an empty MKSTREAM serve a reader.
    &[
        Send(1, &["XREAD", "BLOCK", "0", "STREAMS", "s", "$"]),
        Call(0, &["XGROUP", "CREATE", "s", "g", "$", "MKSTREAM"]),
        Waits(1),
        Call(0, &["XSETID", "s", "0-5"]),
        Call(0, &["XTRIM", "s", "MAXLEN", "0"]),
        Waits(1),
        Call(0, &["XADD", "s", "1-0", "a", "1"]),
        Answer(1),
    ],
    // 1 500 entries at once: a waiter without COUNT gets 1 000 (Redis).
    &[
        Send(1, &["XREAD", "BLOCK", "0", "STREAMS", "big", "$"]),
        Call(
            0,
            &[
                "EVAL",
                "for i = 1, 1500 do redis.call('XADD', KEYS[1], i .. '-0', 'n', i) end return 1",
                "1",
                "big",
            ],
        ),
        Answer(1),
    ],
    // Two readers of one group: the first served takes the entry, the
    // second waits for the next one; consumers exist once served.
    &[
        Call(0, &["XGROUP", "CREATE", "q", "g", "$", "MKSTREAM"]),
        Send(
            1,
            &[
                "XREADGROUP",
                "GROUP",
                "g",
                "alice",
                "BLOCK",
                "0",
                "STREAMS",
                "q",
                ">",
            ],
        ),
        Send(
            2,
            &[
                "XREADGROUP",
                "GROUP",
                "g",
                "bob",
                "COUNT",
                "5",
                "BLOCK",
                "0",
                "STREAMS",
                "q",
                ">",
            ],
        ),
        Call(0, &["XINFO", "GROUPS", "q"]),
        Call(0, &["XADD", "q", "1-0", "job", "1"]),
        Answer(1),
        Waits(2),
        Call(0, &["XADD", "q", "2-0", "job", "2"]),
        Answer(2),
        Call(0, &["XINFO", "GROUPS", "q"]),
        Call(0, &["XPENDING", "q", "g"]),
    ],
    // A waiting group reader fails when its stream goes or changes type,
    // or its group is destroyed.
    &[
        Call(0, &["XGROUP", "CREATE", "q", "g", "$", "MKSTREAM"]),
        Send(
            1,
            &[
                "XREADGROUP",
                "GROUP",
                "g",
                "c",
                "BLOCK",
                "0",
                "STREAMS",
                "q",
                ">",
            ],
        ),
        Call(0, &["DEL", "q"]),
        Answer(1),
        Call(0, &["XGROUP", "CREATE", "q", "g", "$", "MKSTREAM"]),
        Send(
            1,
            &[
                "XREADGROUP",
                "GROUP",
                "g",
                "c",
                "BLOCK",
                "0",
                "STREAMS",
                "q",
                ">",
            ],
        ),
        Call(0, &["SET", "q", "text"]),
        Answer(1),
        Call(0, &["DEL", "q"]),
        Call(0, &["XGROUP", "CREATE", "q", "g", "$", "MKSTREAM"]),
        Send(
            1,
            &[
                "XREADGROUP",
                "GROUP",
                "g",
                "c",
                "BLOCK",
                "0",
                "STREAMS",
                "q",
                ">",
            ],
        ),
        Call(0, &["XGROUP", "DESTROY", "q", "g"]),
        Answer(1),
    ],
    // FLUSHALL and expiry fail waiting group readers too; a plain reader
    // waits on through FLUSHALL.
    &[
        Call(0, &["XGROUP", "CREATE", "q", "g", "$", "MKSTREAM"]),
        Send(
            1,
            &[
                "XREADGROUP",
                "GROUP",
                "g",
                "c",
                "BLOCK",
                "0",
                "STREAMS",
                "q",
                ">",
            ],
        ),
        Send(2, &["XREAD", "BLOCK", "0", "STREAMS", "q", "$"]),
        Call(0, &["FLUSHALL"]),
        Answer(1),
        Waits(2),
        Call(0, &["XGROUP", "CREATE", "q", "g", "$", "MKSTREAM"]),
        Send(
            1,
            &[
                "XREADGROUP",
                "GROUP",
                "g",
                "c",
                "BLOCK",
                "0",
                "STREAMS",
                "q",
                ">",
            ],
        ),
        Call(0, &["PEXPIRE", "q", "100"]),
        Answer(1),
        Call(0, &["XADD", "q", "1-0", "a", "1"]),
        Answer(2),
    ],
    // A plain reader waits on through DEL and SET, and is served by the
    // stream that comes back.
    &[
        Call(0, &["XADD", "s", "1-0", "a", "1"]),
        Send(1, &["XREAD", "BLOCK", "0", "STREAMS", "s", "$"]),
        Call(0, &["DEL", "s"]),
        Call(0, &["SET", "s", "x"]),
        Waits(1),
        Call(0, &["DEL", "s"]),
        Call(0, &["XADD", "s", "1-0", "a", "2"]),
        Waits(1),
        Call(0, &["XADD", "s", "2-0", "a", "3"]),
        Answer(1),
    ],
    // A history read never waits; BLOCK in a transaction answers nil.
    &[
        Call(0, &["XGROUP", "CREATE", "q", "g", "$", "MKSTREAM"]),
        Call(
            1,
            &[
                "XREADGROUP",
                "GROUP",
                "g",
                "c",
                "BLOCK",
                "0",
                "STREAMS",
                "q",
                "0",
            ],
        ),
        Call(1, &["MULTI"]),
        Call(1, &["XREAD", "BLOCK", "0", "STREAMS", "q", "$"]),
        Call(1, &["EXEC"]),
    ],
    // Moving the group back while a reader waits: the next entry brings
    // it everything after the group's new last ID.
    &[
        Call(0, &["XADD", "q", "1-0", "a", "1"]),
        Call(0, &["XADD", "q", "2-0", "a", "2"]),
        Call(0, &["XGROUP", "CREATE", "q", "g", "$"]),
        Send(
            1,
            &[
                "XREADGROUP",
                "GROUP",
                "g",
                "c",
                "BLOCK",
                "0",
                "STREAMS",
                "q",
                ">",
            ],
        ),
        Call(0, &["XGROUP", "SETID", "q", "g", "0"]),
        Waits(1),
        Call(0, &["XADD", "q", "3-0", "a", "3"]),
        Answer(1),
        Call(0, &["XINFO", "GROUPS", "q"]),
    ],
];

fn scenarios_match(proto: &str) {
    let redis = RedisServer::start(&[]);
    let ours = InProc::start();
    let theirs_addr: std::net::SocketAddr = ([127, 0, 0, 1], redis.port).into();
    let mut differ = Vec::new();
    for (i, steps) in SCENARIOS.iter().enumerate() {
        let theirs = run(theirs_addr, proto, steps);
        let mine = run(ours.addr, proto, steps);
        if theirs != mine {
            differ.push(format!(
                "scenario {i} (RESP{proto}):\n  redis:    {theirs:?}\n  rocksync: {mine:?}"
            ));
        }
    }
    assert!(differ.is_empty(), "{}", differ.join("\n"));
}

/// Every scenario in RESP2.
#[test]
fn stream_waits_match_redis_server_in_resp2() {
    scenarios_match("2");
}

/// Every scenario in RESP3 (maps, `_` for nil).
#[test]
fn stream_waits_match_redis_server_in_resp3() {
    scenarios_match("3");
}
