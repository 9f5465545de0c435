//! `cargo xtask bench commands [--kvrocks BIN]`: the list, sorted-set and
//! multi-key commands of issue 11 (`redis-benchmark -t lpush,lpop,
//! lrange_100,zadd,mset`), issue 24's PFADD, GEOADD, XADD, XREADGROUP,
//! EVALSHA and FCALL,
//! and a pipeline of MULTI/EXEC transactions, rocksync-master beside
//! redis-server (appendfsync everysec), and Apache Kvrocks when given, in
//! one interleaved run, on one key and over a keyspace of 1 M
//! (`-r 1000000`), with each server's CPU per command.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use anyhow::{bail, Result};

use crate::bench::{measure_with, start_pair};

const TESTS: &[&str] = &["lpush", "lpop", "lrange_100", "zadd", "mset"];

/// A server measured: its port and pid (for CPU).
pub(crate) struct Server {
    pub(crate) port: u16,
    pub(crate) pid: u32,
}

/// Run the comparison and print a markdown table; `kvrocks` (a Kvrocks
/// binary) adds its column.
pub fn run(quick: bool, kvrocks: Option<&str>, only: Option<&[String]>) -> Result<()> {
    // `--only a,b`: those rows alone (by their lower-case names).
    let wanted = |name: &str| only.is_none_or(|o| o.iter().any(|n| n == name));
    let requests = if quick { 20_000 } else { 200_000 };
    let pair = start_pair("commands")?;
    let kv = kvrocks.map(start_kvrocks).transpose()?;
    let servers = servers(&pair, kv.as_ref());
    println!(
        "redis-benchmark -c 50 -n {requests} -d 100, {}{}; CPU is the server process's, µs per command\n",
        pair.title,
        if kv.is_some() { ", and Apache Kvrocks 2.10.1 (workers 2)" } else { "" },
    );
    let mut head = vec![
        "test",
        "keys",
        "-P",
        "redis-server ops/s",
        "CPU",
        "rocksync ops/s",
        "CPU",
        "rocksync/redis",
    ];
    if kv.is_some() {
        head.extend(["kvrocks ops/s", "CPU", "rocksync/kvrocks"]);
    }
    println!("| {} |", head.join(" | "));
    println!("|{}", " --- |".repeat(head.len()));
    for (keys, extra) in [("1", &[][..]), ("1 M", &["-r", "1000000"][..])] {
        for pipeline in [1, 16] {
            let one = extra.is_empty();
            for test in TESTS.iter().filter(|t| wanted(t)) {
                let mut args = vec!["-d", "100"];
                args.extend_from_slice(extra);
                let rows = each(&servers, requests, |port| {
                    measure_with(port, test, pipeline, requests, &args)
                })?;
                row(test, keys, pipeline, &rows);
            }
            // Commands of issue 24, by their words (`__rand_int__` takes
            // -r's values: elements and members are always random).
            let rand = ["-r", "1000000"];
            let key = |name: &str| {
                if one {
                    name.to_owned()
                } else {
                    format!("{name}:__rand_int__")
                }
            };
            let pf = key("hll");
            let geo = key("geo");
            for (name, cmd) in [
                ("pfadd", vec!["PFADD", pf.as_str(), "e:__rand_int__"]),
                (
                    "geoadd",
                    vec![
                        "GEOADD",
                        geo.as_str(),
                        "13.361389",
                        "38.115556",
                        "m:__rand_int__",
                    ],
                ),
            ] {
                if !wanted(name) {
                    continue;
                }
                let rows = each(&servers, requests, |port| {
                    crate::bench::measure_command(port, pipeline, requests, &rand, &cmd)
                })?;
                row(name, keys, pipeline, &rows);
            }
            // Streams: producers append (XADD, one stream or a stream per
            // key); one consumer group reads them one at a time (on the
            // one stream, with a new group per pass so there is always
            // something to read).
            let xs = key("stream");
            let cmd = ["XADD", xs.as_str(), "*", "f", "v:__rand_int__"];
            // (XREADGROUP reads what these added)
            if wanted("xadd") || wanted("xreadgroup") {
                let rows = each(&servers, requests, |port| {
                    crate::bench::measure_command(port, pipeline, requests, &rand, &cmd)
                })?;
                row("xadd", keys, pipeline, &rows);
            }
            if one && wanted("xreadgroup") {
                let g = format!("g{pipeline}");
                for s in &servers {
                    redis_cli(s.port, &["XGROUP", "CREATE", "stream", &g, "0"])?;
                }
                let cmd = [
                    "XREADGROUP",
                    "GROUP",
                    &g,
                    "c",
                    "COUNT",
                    "1",
                    "STREAMS",
                    "stream",
                    ">",
                ];
                let rows = each(&servers, requests, |port| {
                    crate::bench::measure_command(port, pipeline, requests, &[], &cmd)
                })?;
                row("xreadgroup", keys, pipeline, &rows);
            }
            // A small script (a rate limiter's: INCR, PEXPIRE on the
            // first), by EVALSHA, and the same as a function by FCALL.
            if !wanted("evalsha") && !wanted("fcall") && !wanted("multi") {
                continue;
            }
            let rl = if one { "rl:0" } else { "rl:__rand_int__" };
            let mut shas = Vec::new();
            for s in &servers {
                shas.push(script_load(s.port, LIMITER)?);
                function_load(s.port)?;
            }
            if wanted("evalsha") {
                let rows = each(&servers, requests, |port| {
                    let at = servers.iter().position(|s| s.port == port).unwrap_or(0);
                    let cmd = ["EVALSHA", shas[at].as_str(), "1", rl, "60000"];
                    crate::bench::measure_command(port, pipeline, requests, extra, &cmd)
                })?;
                row("evalsha", keys, pipeline, &rows);
            }
            if wanted("fcall") {
                let cmd = ["FCALL", "limit", "1", rl, "60000"];
                let rows = each(&servers, requests, |port| {
                    crate::bench::measure_command(port, pipeline, requests, extra, &cmd)
                })?;
                row("fcall", keys, pipeline, &rows);
            }
            if wanted("multi") {
                let txs = requests / 5;
                let rows = each(&servers, txs * 5, |port| {
                    multi_exec(port, txs, pipeline, one)
                })?;
                row("multi/exec (tx/s)", keys, pipeline, &rows);
            }
        }
    }
    if let Some((dir, guard, _)) = kv {
        drop(guard);
        let _ = std::fs::remove_dir_all(dir);
    }
    Ok(())
}

/// `measure` on each server in turn: (ops/s, CPU µs per command), CPU
/// counted over the run for `commands` commands.
pub(crate) fn each(
    servers: &[Server],
    commands: u32,
    mut measure: impl FnMut(u16) -> Result<f64>,
) -> Result<Vec<(f64, f64)>> {
    servers
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let stat = std::path::PathBuf::from(format!("/proc/{}/stat", s.pid));
            let t0 = crate::cpu_bench::process_ticks(&stat)?;
            let rate = match measure(s.port) {
                Ok(rate) => rate,
                // A peer that fails a row is a finding, not the end of
                // the table: its cells say so.
                Err(e) if i >= 2 => {
                    eprintln!("the peer on {} failed: {e:#}", s.port);
                    f64::NAN
                }
                Err(e) => return Err(e),
            };
            let t1 = crate::cpu_bench::process_ticks(&stat)?;
            Ok((
                rate,
                crate::cpu_bench::us_per_command(t1 - t0, f64::from(commands)),
            ))
        })
        .collect()
}

/// The servers measured: redis-server, rocksync, Kvrocks when started.
pub(crate) fn servers(
    pair: &crate::bench::Pair,
    kv: Option<&(std::path::PathBuf, crate::procs::Guard, u16)>,
) -> Vec<Server> {
    let mut servers = vec![
        Server {
            port: pair.redis_port,
            pid: pair.redis.id(),
        },
        Server {
            port: pair.ours_port,
            pid: pair.ours.id(),
        },
    ];
    if let Some((_, guard, port)) = kv {
        servers.push(Server {
            port: *port,
            pid: guard.id(),
        });
    }
    servers
}

/// Apache Kvrocks from `bin`, with the configuration shipped beside it
/// (`kvrocks.conf`), on a free port in a fresh directory.
pub(crate) fn start_kvrocks(bin: &str) -> Result<(std::path::PathBuf, crate::procs::Guard, u16)> {
    let bin = std::path::Path::new(bin);
    let conf = bin.with_file_name("kvrocks.conf");
    let dir =
        std::env::temp_dir().join(format!("rocksync-commands-kvrocks-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir)?;
    let port = crate::procs::free_port()?;
    let guard = crate::procs::start(
        std::process::Command::new(bin)
            .arg("-c")
            .arg(&conf)
            .args(["--port", &port.to_string()])
            .arg("--dir")
            .arg(&dir),
        port,
    )?;
    Ok((dir, guard, port))
}

/// The script EVALSHA runs: a rate limiter's window counter.
const LIMITER: &str =
    "local n = redis.call('INCR', KEYS[1]) if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end return n";

/// SCRIPT LOAD `body` on the server at `port`: its SHA-1.
fn script_load(port: u16, body: &str) -> Result<String> {
    let out = std::process::Command::new("redis-cli")
        .args(["-p", &port.to_string(), "SCRIPT", "LOAD", body])
        .output()?;
    let sha = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    if sha.len() != 40 {
        bail!("SCRIPT LOAD on {port} answered {sha:?}");
    }
    Ok(sha)
}

/// One command by redis-cli; an error answer fails.
fn redis_cli(port: u16, args: &[&str]) -> Result<()> {
    let out = std::process::Command::new("redis-cli")
        .args(["-p", &port.to_string()])
        .args(args)
        .output()?;
    let answer = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    if answer.starts_with("ERR") || !out.status.success() {
        bail!("{args:?} on {port} answered {answer:?}");
    }
    Ok(())
}

/// FUNCTION LOAD REPLACE the limiter as function `limit`.
fn function_load(port: u16) -> Result<()> {
    let code = format!(
        "#!lua name=bench\nredis.register_function('limit', function(KEYS, ARGV) {LIMITER} end)"
    );
    let out = std::process::Command::new("redis-cli")
        .args([
            "-p",
            &port.to_string(),
            "FUNCTION",
            "LOAD",
            "REPLACE",
            &code,
        ])
        .output()?;
    // (redis-server and rocksync answer the library's name, Kvrocks 2.10
    // a nil after REPLACE)
    let answer = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    if answer.starts_with("ERR") || !out.status.success() {
        bail!("FUNCTION LOAD on {port} answered {answer:?}");
    }
    Ok(())
}

/// One table row: each server's (ops/s, CPU µs/cmd), redis-server's
/// first, then rocksync's, then Kvrocks's if measured.
fn row(test: &str, keys: &str, pipeline: u32, rows: &[(f64, f64)]) {
    let (redis, ours) = (rows[0], rows[1]);
    let mut cells = vec![
        test.to_uppercase(),
        keys.to_owned(),
        pipeline.to_string(),
        format!("{:.0}", redis.0),
        format!("{:.1}", redis.1),
        format!("{:.0}", ours.0),
        format!("{:.1}", ours.1),
        format!("{:.2}", ours.0 / redis.0),
    ];
    if let Some(kv) = rows.get(2).filter(|kv| kv.0.is_nan()) {
        cells.extend(["failed".into(), "".into(), "".into()]);
        let _ = kv;
    } else if let Some(kv) = rows.get(2) {
        cells.extend([
            format!("{:.0}", kv.0),
            format!("{:.1}", kv.1),
            format!("{:.2}", ours.0 / kv.0),
        ]);
    }
    println!("| {} |", cells.join(" | "));
}

/// Transactions per second: 50 connections, each sending `pipeline`
/// transactions per round trip, `txs` in all. A transaction is MULTI,
/// INCR, SET (100 bytes), LPUSH, EXEC, on one key each or over 1 M.
fn multi_exec(port: u16, txs: u32, pipeline: u32, one_key: bool) -> Result<f64> {
    const CLIENTS: u32 = 50;
    let per_client = txs / CLIENTS;
    let value = "x".repeat(100);
    let started = Instant::now();
    let workers: Vec<_> = (0..CLIENTS)
        .map(|id| {
            let value = value.clone();
            std::thread::spawn(move || -> Result<()> {
                let mut s = bench_client(port)?;
                let mut rng = u64::from(id).wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
                let mut buf = Vec::new();
                let mut done = 0;
                while done < per_client {
                    let batch = pipeline.min(per_client - done);
                    let mut out = String::new();
                    for _ in 0..batch {
                        xorshift(&mut rng);
                        let k = if one_key { 0 } else { rng % 1_000_000 };
                        for cmd in [
                            vec!["MULTI".to_owned()],
                            vec!["INCR".into(), format!("tx:counter:{k}")],
                            vec!["SET".into(), format!("tx:key:{k}"), value.clone()],
                            vec!["LPUSH".into(), format!("tx:list:{}", k % 1000), "v".into()],
                            vec!["EXEC".into()],
                        ] {
                            out.push_str(&format!("*{}\r\n", cmd.len()));
                            for a in cmd {
                                out.push_str(&format!("${}\r\n{a}\r\n", a.len()));
                            }
                        }
                    }
                    s.write_all(out.as_bytes())?;
                    read_replies(&mut s, &mut buf, 5 * batch as usize)?;
                    done += batch;
                }
                Ok(())
            })
        })
        .collect();
    for w in workers {
        w.join().map_err(|_| anyhow::anyhow!("worker panicked"))??;
    }
    Ok(f64::from(per_client * CLIENTS) / started.elapsed().as_secs_f64())
}

/// A load generator's connection to the server on `port`: no Nagle
/// delay, 60 s reads.
///
/// # Errors
/// Connecting.
pub(crate) fn bench_client(port: u16) -> Result<TcpStream> {
    let s = TcpStream::connect(("127.0.0.1", port))?;
    s.set_read_timeout(Some(Duration::from_secs(60)))?;
    s.set_nodelay(true)?;
    Ok(s)
}

/// Send `cmds` (each one command's RESP) on one connection, `per_trip`
/// to a round trip, and wait for every reply.
///
/// # Errors
/// Connecting, an error reply, the connection failing.
pub(crate) fn send_batched(
    port: u16,
    per_trip: usize,
    cmds: impl IntoIterator<Item = Vec<u8>>,
) -> Result<()> {
    let mut s = bench_client(port)?;
    let mut buf = Vec::new();
    let mut out = Vec::new();
    let mut pending = 0;
    for c in cmds {
        out.extend_from_slice(&c);
        pending += 1;
        if pending == per_trip {
            s.write_all(&out)?;
            read_replies(&mut s, &mut buf, pending)?;
            out.clear();
            pending = 0;
        }
    }
    if pending > 0 {
        s.write_all(&out)?;
        read_replies(&mut s, &mut buf, pending)?;
    }
    Ok(())
}

/// The next of a load generator's random numbers (xorshift64).
pub(crate) fn xorshift(state: &mut u64) {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
}

/// Read `want` replies from `s` (bytes read ahead stay in `buf`).
///
/// # Errors
/// An error reply, or the connection failing or closing.
pub(crate) fn read_replies(s: &mut TcpStream, buf: &mut Vec<u8>, want: usize) -> Result<()> {
    let mut got = 0;
    while got < want {
        match reply_len(buf) {
            Some(n) => {
                if buf[0] == b'-' {
                    bail!("error reply: {}", String::from_utf8_lossy(&buf[..n]));
                }
                buf.drain(..n);
                got += 1;
            }
            None => {
                let mut chunk = [0u8; 16384];
                let n = s.read(&mut chunk)?;
                if n == 0 {
                    bail!("connection closed");
                }
                buf.extend_from_slice(&chunk[..n]);
            }
        }
    }
    Ok(())
}

/// Length of the first whole RESP reply in `b`, if there is one.
pub(crate) fn reply_len(b: &[u8]) -> Option<usize> {
    let line_end = b.windows(2).position(|w| w == b"\r\n")?;
    let head = std::str::from_utf8(&b[1..line_end]).ok()?;
    let after = line_end + 2;
    match b.first()? {
        b'+' | b'-' | b':' => Some(after),
        b'$' => {
            let n: i64 = head.parse().ok()?;
            if n < 0 {
                return Some(after);
            }
            let end = after + n as usize + 2;
            (b.len() >= end).then_some(end)
        }
        b'*' => {
            let n: i64 = head.parse().ok()?;
            let mut at = after;
            for _ in 0..n.max(0) {
                at += reply_len(&b[at..])?;
            }
            Some(at)
        }
        _ => None,
    }
}
