//! `cargo xtask bench commands`: the list, sorted-set and multi-key
//! commands of issue 11 (`redis-benchmark -t lpush,lpop,lrange_100,zadd,
//! mset`) and a pipeline of MULTI/EXEC transactions, rocksync-master
//! beside redis-server (appendfsync everysec) in one interleaved run, on
//! one key and over a keyspace of 1 M (`-r 1000000`).

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use anyhow::{bail, Result};

use crate::bench::{measure_with, start_pair};

const TESTS: &[&str] = &["lpush", "lpop", "lrange_100", "zadd", "mset"];

/// Run the comparison and print a markdown table.
pub fn run(quick: bool) -> Result<()> {
    let requests = if quick { 20_000 } else { 200_000 };
    let pair = start_pair("commands")?;
    println!(
        "redis-benchmark -c 50 -n {requests} -d 100, {}\n",
        pair.title
    );
    println!("| test | keys | -P | redis-server ops/s | rocksync ops/s | rocksync/redis |");
    println!("| --- | --- | ---: | ---: | ---: | ---: |");
    for (keys, extra) in [("1", &[][..]), ("1 M", &["-r", "1000000"][..])] {
        for pipeline in [1, 16] {
            for test in TESTS {
                let mut args = vec!["-d", "100"];
                args.extend_from_slice(extra);
                let redis = measure_with(pair.redis_port, test, pipeline, requests, &args)?;
                let ours = measure_with(pair.ours_port, test, pipeline, requests, &args)?;
                row(test, keys, pipeline, redis, ours);
            }
            // A small script (a rate limiter's: INCR, PEXPIRE on the
            // first), by EVALSHA.
            let mut rows = Vec::new();
            for port in [pair.redis_port, pair.ours_port] {
                let sha = script_load(port, LIMITER)?;
                let key = if extra.is_empty() {
                    "rl:0"
                } else {
                    "rl:__rand_int__"
                };
                let cmd = ["EVALSHA", sha.as_str(), "1", key, "60000"];
                rows.push(crate::bench::measure_command(
                    port, pipeline, requests, extra, &cmd,
                )?);
            }
            row("evalsha", keys, pipeline, rows[0], rows[1]);
            let txs = requests / 5;
            let redis = multi_exec(pair.redis_port, txs, pipeline, extra.is_empty())?;
            let ours = multi_exec(pair.ours_port, txs, pipeline, extra.is_empty())?;
            row("multi/exec (tx/s)", keys, pipeline, redis, ours);
        }
    }
    Ok(())
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

fn row(test: &str, keys: &str, pipeline: u32, redis: f64, ours: f64) {
    println!(
        "| {} | {keys} | {pipeline} | {redis:.0} | {ours:.0} | {:.2} |",
        test.to_uppercase(),
        ours / redis
    );
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
                let mut s = TcpStream::connect(("127.0.0.1", port))?;
                s.set_read_timeout(Some(Duration::from_secs(60)))?;
                s.set_nodelay(true)?;
                let mut rng = u64::from(id).wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
                let mut buf = Vec::new();
                let mut done = 0;
                while done < per_client {
                    let batch = pipeline.min(per_client - done);
                    let mut out = String::new();
                    for _ in 0..batch {
                        rng ^= rng << 13;
                        rng ^= rng >> 7;
                        rng ^= rng << 17;
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
                    let want = 5 * batch as usize;
                    let mut got = 0;
                    while got < want {
                        match reply_len(&buf) {
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

/// Length of the first whole RESP reply in `b`, if there is one.
fn reply_len(b: &[u8]) -> Option<usize> {
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
