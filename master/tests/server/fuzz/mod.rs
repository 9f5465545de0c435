//! Issue 26's fuzz: 100 000 random and mutated command streams sent to a
//! live master never panic it (not even a panic a command's guard
//! catches), never hang it, never make it close a connection that gave it
//! no cause, and afterwards it still answers PING, DBSIZE and INFO.
//!
//! There are three kinds of stream, all over a keyspace of nine keys so
//! that types collide:
//! - well-formed RESP arrays of the table's own commands, read from
//!   COMMAND (arity, key positions, subcommands), with hostile arguments;
//! - inline commands;
//! - either of those mutated at the byte level: flipped bytes, cuts,
//!   duplicates, bogus `*`/`$` lengths, lost CRLFs.
//!
//! Well-formed streams share long-lived connections. Each batch ends with
//! `RESET` and `PING <token>`, and the token must come back. Only QUIT or
//! an inline quote (a protocol error) may close such a connection. A
//! mutated stream gets a connection of its own, which the test half-closes:
//! whatever state it leaves the parser in, the server must close it.
//!
//! Commands that would change the server for everyone, or that wait by
//! design, are left out: SHUTDOWN, DEBUG, CONFIG, ACL, REPLICAOF, MONITOR,
//! SYNC140, CLIENT KILL/PAUSE/REPLY and the like. Blocking commands get
//! short timeouts.
//!
//! The bytes each thread sends depend on the seed alone. The seed is
//! printed; `FUZZ_SEED=<n>` replays a run, and `FUZZ_STREAMS=<n>` changes
//! how many streams are sent.

use std::net::{Shutdown, SocketAddr, TcpStream};
use std::sync::Mutex;

use super::*;

mod gen;
mod words;

use gen::*;

/// Streams sent in all, unless `FUZZ_STREAMS` says otherwise.
const STREAMS: usize = 100_000;
/// Client threads, each with its own connections and random sequence.
const THREADS: usize = 8;
/// The seed unless `FUZZ_SEED` gives one.
const DEFAULT_SEED: u64 = 0x2026_0026;
/// How long a stream may wait for its answer (or its close) before it
/// counts as a hang.
const HANG: Duration = Duration::from_secs(10);
/// What the server answers for a command that panicked (engine/group.rs,
/// `panicked`).
const PANIC_MARK: &[u8] = b"internal error in '";
/// Findings a thread records before it stops.
const MAX_FINDINGS: usize = 5;
/// Bytes of one batch of well-formed streams, at most (more starts a new
/// batch): neither side's socket buffer fills while the other writes.
const BATCH_BYTES: usize = 256 * 1024;

/// How an exchange ended.
#[derive(Debug, PartialEq)]
enum Outcome {
    /// The token came back.
    Answered,
    /// The server closed the connection (or reset it).
    Closed,
    /// Neither within [`HANG`].
    Hung,
}

fn connect(addr: SocketAddr) -> TcpStream {
    let mut tries = 0;
    loop {
        match TcpStream::connect_timeout(&addr, Duration::from_secs(5)) {
            Ok(s) => {
                s.set_nodelay(true).expect("nodelay");
                s.set_write_timeout(Some(HANG)).expect("write timeout");
                return s;
            }
            // (ephemeral ports run short: TIME_WAIT)
            Err(e) if tries < 50 => {
                tries += 1;
                eprintln!("fuzz: connect failed ({e}); again");
                std::thread::sleep(Duration::from_millis(100));
            }
            Err(e) => panic!("the server takes no more connections: {e}"),
        }
    }
}

/// A socket timeout (which one depends on the platform).
fn timed_out(e: &std::io::Error) -> bool {
    matches!(
        e.kind(),
        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
    )
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

/// Read from `conn` into `got` until `until(got)`, the close, or
/// `deadline`.
fn read_until(
    conn: &mut TcpStream,
    got: &mut Vec<u8>,
    deadline: Instant,
    until: impl Fn(&[u8]) -> bool,
) -> Outcome {
    let mut chunk = vec![0u8; 64 * 1024];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Outcome::Hung;
        }
        conn.set_read_timeout(Some(left)).expect("read timeout");
        match conn.read(&mut chunk) {
            Ok(0) => return Outcome::Closed,
            Ok(n) => {
                let from = got.len();
                got.extend_from_slice(&chunk[..n]);
                if until(&got[from.saturating_sub(64)..]) {
                    return Outcome::Answered;
                }
            }
            Err(e) if timed_out(&e) || e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(_) => return Outcome::Closed,
        }
    }
}

/// Send `bytes` and the sentinel on the long-lived connection (opened if
/// there is none) and read until the sentinel's token comes back; the
/// connection is dropped unless it did.
fn exchange(
    addr: SocketAddr,
    live: &mut Option<TcpStream>,
    bytes: &[u8],
    token: &[u8],
    got: &mut Vec<u8>,
) -> Outcome {
    got.clear();
    let mut conn = live.take().unwrap_or_else(|| connect(addr));
    let outcome = match conn.write_all(bytes) {
        Err(e) if timed_out(&e) => Outcome::Hung,
        Err(_) => Outcome::Closed,
        Ok(()) => read_until(&mut conn, got, Instant::now() + HANG, |g| {
            contains(g, token)
        }),
    };
    if outcome == Outcome::Answered {
        *live = Some(conn);
    }
    outcome
}

/// Send `bytes` on a connection of its own, half-close it, and read
/// until the server closes it.
fn one_shot(addr: SocketAddr, bytes: &[u8], got: &mut Vec<u8>) -> Outcome {
    got.clear();
    let mut conn = connect(addr);
    // (the server may close before it has read it all: a protocol error)
    if conn.write_all(bytes).is_err_and(|e| timed_out(&e)) {
        return Outcome::Hung;
    }
    let _ = conn.shutdown(Shutdown::Write);
    read_until(&mut conn, got, Instant::now() + HANG, |_| false)
}

/// A stream that broke a rule.
struct Finding {
    thread: usize,
    stream: usize,
    what: String,
    sent: Vec<u8>,
    got: Vec<u8>,
}

impl std::fmt::Display for Finding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let shown = |v: &[u8], max: usize| {
            let s = v[..v.len().min(max)].escape_ascii().to_string();
            if v.len() > max {
                format!("{s}... ({} bytes)", v.len())
            } else {
                s
            }
        };
        write!(
            f,
            "thread {} stream {}: {}\n  sent: b\"{}\"\n  got:  b\"{}\"",
            self.thread,
            self.stream,
            self.what,
            shown(&self.sent, 4096),
            shown(&self.got, 1024)
        )
    }
}

/// What one thread sent and found.
#[derive(Default)]
struct Report {
    resp: usize,
    inline: usize,
    mutated: usize,
    batches: usize,
    closes: usize,
    findings: Vec<Finding>,
}

/// What is wrong with an exchange's outcome, if anything.
fn judge(outcome: &Outcome, may_close: bool, got: &[u8]) -> Option<&'static str> {
    if contains(got, PANIC_MARK) {
        return Some("a command panicked");
    }
    match outcome {
        Outcome::Hung => Some("neither an answer nor a close within 10 s"),
        Outcome::Closed if !may_close => Some("the connection was closed without cause"),
        _ => None,
    }
}

/// One thread's share: `count` streams from its own sequence.
fn run(addr: SocketAddr, t: &Table, seed: u64, thread: usize, count: usize) -> Report {
    let mut rng = Rng::new(seed ^ splitmix(thread as u64 + 1));
    let mut report = Report::default();
    let mut live: Option<TcpStream> = None;
    let mut got = Vec::new();
    let mut done = 0;
    while done < count && report.findings.len() < MAX_FINDINGS {
        let first = done;
        if rng.below(100) < 45 {
            // A mutated stream, on a connection of its own.
            let mut base = Vec::new();
            let inline = rng.one_in(4);
            stream(&mut rng, t, inline, &mut base);
            let sent = mutate(&mut rng, &base);
            done += 1;
            report.mutated += 1;
            let outcome = one_shot(addr, &sent, &mut got);
            if let Some(what) = judge(&outcome, true, &got) {
                report.findings.push(Finding {
                    thread,
                    stream: first,
                    what: format!("mutated: {what}"),
                    sent,
                    got: got.clone(),
                });
            }
            continue;
        }
        // A batch of well-formed streams on the long-lived connection.
        let mut sent = Vec::new();
        let mut may_close = false;
        for _ in 0..1 + rng.below(4) {
            if done == count || sent.len() > BATCH_BYTES {
                break;
            }
            let inline = rng.below(100) < 20;
            may_close |= stream(&mut rng, t, inline, &mut sent);
            done += 1;
            if inline {
                report.inline += 1;
            } else {
                report.resp += 1;
            }
        }
        let token = format!("fz~{thread}~{first}~sentinel");
        encode_resp(&[b("RESET")], &mut sent);
        encode_resp(&[b("PING"), b(&token)], &mut sent);
        report.batches += 1;
        let outcome = exchange(addr, &mut live, &sent, token.as_bytes(), &mut got);
        if outcome == Outcome::Closed {
            report.closes += 1;
        }
        if let Some(what) = judge(&outcome, may_close, &got) {
            report.findings.push(Finding {
                thread,
                stream: first,
                what: format!("streams {first}..{done}: {what}"),
                sent,
                got: got.clone(),
            });
        }
    }
    report
}

/// Panics anywhere but in test code, as the panic hook saw them.
static PANICS: Mutex<Vec<String>> = Mutex::new(Vec::new());

/// Record every panic outside test code (the server's, caught or not)
/// in [`PANICS`], then report it as before.
fn watch_panics() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let at = info.location().map(|l| l.to_string()).unwrap_or_default();
            if !at.contains("tests/") {
                let thread = std::thread::current().name().unwrap_or("?").to_owned();
                PANICS
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .push(format!("thread '{thread}': {info}"));
            }
            previous(info);
        }));
    });
}

fn panics_seen() -> Vec<String> {
    PANICS
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .clone()
}

fn env_number(name: &str) -> Option<u64> {
    let v = std::env::var(name).ok()?;
    let v = v.trim();
    match v.strip_prefix("0x") {
        Some(hex) => u64::from_str_radix(hex, 16).ok(),
        None => v.parse().ok(),
    }
}

#[test]
fn a_hundred_thousand_random_and_mutated_command_streams_never_panic_hang_or_wrongly_close_the_server(
) {
    let seed = env_number("FUZZ_SEED").unwrap_or(DEFAULT_SEED);
    let streams = env_number("FUZZ_STREAMS").map_or(STREAMS, |n| n as usize);
    println!(
        "fuzz: seed {seed} (FUZZ_SEED={seed} replays it), {streams} streams, {THREADS} threads"
    );
    watch_panics();
    let panics_before = panics_seen().len();
    let m = InProc::start();
    let table = Table::read(&mut m.client());
    let started = Instant::now();
    let reports: Vec<Report> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..THREADS)
            .map(|i| {
                let count = streams / THREADS + usize::from(i < streams % THREADS);
                let (addr, table) = (m.addr, &table);
                std::thread::Builder::new()
                    .name(format!("fuzz-{i}"))
                    .spawn_scoped(s, move || run(addr, table, seed, i, count))
                    .expect("spawn")
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("a fuzz thread failed"))
            .collect()
    });
    let elapsed = started.elapsed();
    let sum = |f: fn(&Report) -> usize| reports.iter().map(f).sum::<usize>();
    let sent = sum(|r| r.resp + r.inline + r.mutated);
    println!(
        "fuzz: {sent} streams ({} RESP, {} inline, {} mutated) in {:.1} s, {:.0} streams/s; {} batches, {} closed by the server",
        sum(|r| r.resp),
        sum(|r| r.inline),
        sum(|r| r.mutated),
        elapsed.as_secs_f64(),
        sent as f64 / elapsed.as_secs_f64(),
        sum(|r| r.batches),
        sum(|r| r.closes),
    );

    // Afterwards: it still answers, on a fresh connection.
    let mut c = raw_connection(&m);
    c.write_all(b"PING\r\n").expect("send PING");
    let mut pong = Vec::new();
    let outcome = read_until(&mut c, &mut pong, Instant::now() + HANG, |g| {
        contains(g, b"\r\n")
    });
    assert_eq!(
        (outcome, pong.as_slice()),
        (Outcome::Answered, &b"+PONG\r\n"[..]),
        "PING after the fuzz"
    );
    let mut client = m.client();
    let _: i64 = redis::cmd("DBSIZE")
        .query(&mut client)
        .expect("DBSIZE after the fuzz");
    let text: String = redis::cmd("INFO")
        .query(&mut client)
        .expect("INFO after the fuzz");
    assert!(text.contains("# Server"), "INFO after the fuzz: {text}");

    let findings: Vec<String> = reports
        .iter()
        .flat_map(|r| &r.findings)
        .map(ToString::to_string)
        .collect();
    let panics = panics_seen().split_off(panics_before);
    assert!(
        findings.is_empty() && panics.is_empty(),
        "seed {seed}: {} findings, {} panics\n{}\npanics:\n{}",
        findings.len(),
        panics.len(),
        findings.join("\n"),
        panics.join("\n")
    );
    assert_eq!(sent, streams, "streams sent");
}
