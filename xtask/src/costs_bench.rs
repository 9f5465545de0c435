//! `cargo xtask bench costs [--kvrocks BIN] [--only append,...] [--quick]`:
//! commands that are
//! cheap in Redis on large values, each beside redis-server (and Kvrocks
//! when given) in one interleaved run: SPOP and SRANDMEMBER on a 200 000
//! member set, ZPOPMIN and ZPOPMAX after 10 000 pops, LREM of one element
//! of a 10 000-element list, RENAME of a 100 000-field hash, APPEND,
//! SETRANGE and BITFIELD on a 1 MB string. Each row gives the rates, the
//! CPU per command and what one call adds to the log a replica is fed
//! from: redis-server's AOF and rocksync's binlog, in bytes per call
//! (issue 27: no command slower than its Redis cost class, its log bytes
//! proportional to what it changed). `--only` measures the rows whose
//! command is named (every row's setup still runs: later rows build on
//! earlier ones' data).

use std::io::Write;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

use crate::bench::start_pair;
use crate::commands_bench::{bench_client, read_replies, start_kvrocks, xorshift, Server};

/// RESP of one command.
fn resp(words: &[String]) -> Vec<u8> {
    let mut out = format!("*{}\r\n", words.len()).into_bytes();
    for w in words {
        out.extend_from_slice(format!("${}\r\n", w.len()).as_bytes());
        out.extend_from_slice(w.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    out
}

/// Words from `parts`.
fn words(parts: &[&str]) -> Vec<String> {
    parts.iter().map(|p| (*p).to_owned()).collect()
}

/// Send `cmds` on one connection, 64 at a time, and wait for every reply
/// (setup: not timed).
fn load(port: u16, cmds: impl IntoIterator<Item = Vec<String>>) -> Result<()> {
    crate::commands_bench::send_batched(port, 64, cmds.into_iter().map(|c| resp(&c)))
}

/// `n` commands from `clients` connections, `pipeline` per round trip;
/// `cmd(client, i)` is client `client`'s `i`th command. Each client stops
/// early past `limit` (a server that takes seconds a call): the commands
/// done and the seconds they took.
fn drive(
    port: u16,
    clients: usize,
    pipeline: usize,
    n: usize,
    limit: Duration,
    cmd: impl Fn(usize, usize) -> Vec<String> + Sync,
) -> Result<(usize, f64)> {
    let per = n / clients;
    let started = Instant::now();
    let done = std::thread::scope(|scope| -> Result<usize> {
        let workers: Vec<_> = (0..clients)
            .map(|c| {
                let cmd = &cmd;
                scope.spawn(move || -> Result<usize> {
                    let mut s = bench_client(port)?;
                    let mut buf = Vec::new();
                    let mut i = 0;
                    while i < per && started.elapsed() < limit {
                        let batch = pipeline.min(per - i);
                        let mut out = Vec::new();
                        for j in i..i + batch {
                            out.extend_from_slice(&resp(&cmd(c, j)));
                        }
                        s.write_all(&out)?;
                        read_replies(&mut s, &mut buf, batch)?;
                        i += batch;
                    }
                    Ok(i)
                })
            })
            .collect();
        let mut done = 0;
        for w in workers {
            done += w
                .join()
                .map_err(|_| anyhow::anyhow!("a client panicked"))??;
        }
        Ok(done)
    })?;
    Ok((done, started.elapsed().as_secs_f64()))
}

/// One server's row: ops/s, CPU µs a command, log bytes a command (its
/// `server` index: 0 redis-server, 1 rocksync, 2 Kvrocks).
fn measure(
    s: &Server,
    server: usize,
    row: &Row,
    pipeline: usize,
    limit: Duration,
) -> Result<(f64, f64, f64)> {
    let stat = std::path::PathBuf::from(format!("/proc/{}/stat", s.pid));
    let t0 = crate::cpu_bench::process_ticks(&stat)?;
    let before = log_bytes(s.port, server)?;
    let (done, secs) = drive(s.port, row.clients, pipeline, row.n, limit, &row.cmd)?;
    let after = log_bytes(s.port, server)?;
    let t1 = crate::cpu_bench::process_ticks(&stat)?;
    let done_f = done.max(1) as f64;
    Ok((
        done as f64 / secs,
        crate::cpu_bench::us_per_command(t1 - t0, done_f),
        after.saturating_sub(before) as f64 / done_f,
    ))
}

/// An INFO field of the server on `port`, as a number (0 when absent).
fn info_field(port: u16, field: &str) -> Result<u64> {
    let mut s = bench_client(port)?;
    s.write_all(&resp(&words(&["INFO", "everything"])))?;
    let mut buf = Vec::new();
    // read one bulk reply whole
    loop {
        if let Some(n) = crate::commands_bench::reply_len(&buf) {
            buf.truncate(n);
            break;
        }
        let mut chunk = [0u8; 65536];
        let got = std::io::Read::read(&mut s, &mut chunk)?;
        if got == 0 {
            bail!("INFO: connection closed");
        }
        buf.extend_from_slice(&chunk[..got]);
    }
    let text = String::from_utf8_lossy(&buf);
    Ok(text
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{field}:")))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0))
}

/// The bytes of the log the server on `port` feeds replicas from:
/// redis-server's AOF, rocksync's binlog (Kvrocks: none measured).
fn log_bytes(port: u16, server: usize) -> Result<u64> {
    match server {
        0 => info_field(port, "aof_current_size"),
        1 => info_field(port, "binlog_bytes"),
        _ => Ok(0),
    }
}

/// One row: its name, the setup each server gets, the timed commands
/// (client, index) and how many, and the connections that send them.
struct Row {
    name: &'static str,
    setup: Box<dyn Fn() -> Vec<Vec<String>>>,
    cmd: Box<dyn Fn(usize, usize) -> Vec<String> + Sync>,
    n: usize,
    clients: usize,
}

/// A permutation of `0..n` from `seed`.
fn shuffled(n: usize, seed: u64) -> Vec<usize> {
    let mut v: Vec<usize> = (0..n).collect();
    let mut rng = seed | 1;
    for i in (1..n).rev() {
        xorshift(&mut rng);
        v.swap(i, (rng % (i as u64 + 1)) as usize);
    }
    v
}

fn rows(quick: bool) -> Vec<Row> {
    let scale = if quick { 10 } else { 1 };
    let set_size = 200_000 / scale;
    let list_len = 10_000;
    let hash_fields = 100_000 / scale;
    let big = 1 << 20;
    let clients = 50;
    let members = move |cmd: &'static str, key: &'static str, n: usize| {
        (0..n.div_ceil(1000))
            .map(|b| {
                let mut w = words(&[cmd, key]);
                for i in b * 1000..((b + 1) * 1000).min(n) {
                    if cmd == "ZADD" {
                        w.push(i.to_string());
                    }
                    w.push(format!("m:{i}"));
                    if cmd == "HSET" {
                        w.push("v".repeat(10));
                    }
                }
                w
            })
            .collect::<Vec<_>>()
    };
    let order = shuffled(list_len, 7);
    let half = list_len / 2;
    vec![
        Row {
            name: "SPOP (200 k members)",
            setup: Box::new(move || members("SADD", "cost:set", set_size)),
            cmd: Box::new(|_, _| words(&["SPOP", "cost:set"])),
            n: 100_000 / scale,
            clients,
        },
        Row {
            name: "SRANDMEMBER (100 k members)",
            setup: Box::new(Vec::new),
            cmd: Box::new(|_, _| words(&["SRANDMEMBER", "cost:set"])),
            n: 200_000 / scale,
            clients,
        },
        Row {
            name: "ZPOPMIN (after 10 k pops)",
            setup: Box::new(move || {
                // (200 k whatever the scale: the pops leave 180 k)
                let mut c = members("ZADD", "cost:zset", 200_000);
                c.push(words(&["ZPOPMIN", "cost:zset", "10000"]));
                c.push(words(&["ZPOPMAX", "cost:zset", "10000"]));
                c
            }),
            cmd: Box::new(|_, _| words(&["ZPOPMIN", "cost:zset"])),
            n: 50_000 / scale,
            clients,
        },
        Row {
            name: "ZPOPMAX (after 10 k pops)",
            setup: Box::new(Vec::new),
            cmd: Box::new(|_, _| words(&["ZPOPMAX", "cost:zset"])),
            n: 50_000 / scale,
            clients,
        },
        Row {
            // half of the list's elements, each once, in random order
            name: "LREM (10 k elements)",
            setup: Box::new(move || {
                (0..list_len / 1000)
                    .map(|b| {
                        let mut w = words(&["RPUSH", "cost:list"]);
                        w.extend((b * 1000..(b + 1) * 1000).map(|i| format!("e:{i}")));
                        w
                    })
                    .collect()
            }),
            cmd: Box::new(move |c, i| {
                let at = order[(c * (half / clients) + i) % half];
                words(&["LREM", "cost:list", "1", &format!("e:{at}")])
            }),
            n: half,
            clients,
        },
        Row {
            // back and forth, from one client (two would race)
            name: "RENAME (100 k fields)",
            setup: Box::new(move || members("HSET", "cost:hash", hash_fields)),
            cmd: Box::new(|_, i| {
                let (a, b) = ("cost:hash", "cost:hash2");
                if i % 2 == 0 {
                    words(&["RENAME", a, b])
                } else {
                    words(&["RENAME", b, a])
                }
            }),
            // (enough calls for its CPU to show: each is O(1) now)
            n: 20_000 / scale,
            clients: 1,
        },
        Row {
            name: "APPEND 100 B (1 MB string)",
            // (100 000 calls a row: 20 000 at -P 16 took a tenth of a
            // second, too short to measure the CPU of)
            setup: Box::new(move || vec![vec!["SET".into(), "cost:str".into(), "s".repeat(big)]]),
            cmd: Box::new(|_, _| words(&["APPEND", "cost:str", &"a".repeat(100)])),
            n: 100_000 / scale,
            clients,
        },
        Row {
            name: "SETRANGE 100 B (1 MB string)",
            setup: Box::new(Vec::new),
            cmd: Box::new(move |c, i| {
                let at = (c * 7919 + i * 104_729) % big;
                words(&["SETRANGE", "cost:str", &at.to_string(), &"r".repeat(100)])
            }),
            n: 100_000 / scale,
            clients,
        },
        Row {
            name: "BITFIELD SET (1 MB string)",
            setup: Box::new(Vec::new),
            cmd: Box::new(move |c, i| {
                let at = (c * 7919 + i * 104_729) % big;
                words(&[
                    "BITFIELD",
                    "cost:str",
                    "SET",
                    "u8",
                    &format!("#{at}"),
                    "255",
                ])
            }),
            n: 100_000 / scale,
            clients,
        },
    ]
}

/// Run the rows at -P 1 and -P 16 and print a markdown table.
pub fn run(quick: bool, kvrocks: Option<&str>, only: Option<&[String]>) -> Result<()> {
    let pair = start_pair("costs")?;
    let kv = kvrocks.map(start_kvrocks).transpose()?;
    let servers = crate::commands_bench::servers(&pair, kv.as_ref());
    // Each measurement stops after this long (a row a server does at a
    // few calls a second is measured over what it did by then).
    let limit = Duration::from_secs(if quick { 5 } else { 20 });
    println!(
        "{}{}; CPU is the server process's, µs per command; log B/call: what one call adds to redis-server's AOF and to rocksync's binlog; each measurement stops after {} s\n",
        pair.title,
        if kv.is_some() { ", and Apache Kvrocks 2.10.1 (workers 2)" } else { "" },
        limit.as_secs(),
    );
    let mut head = vec![
        "command",
        "-P",
        "redis-server ops/s",
        "CPU",
        "AOF B/call",
        "rocksync ops/s",
        "CPU",
        "binlog B/call",
        "rocksync/redis",
    ];
    if kv.is_some() {
        head.extend(["kvrocks ops/s", "CPU", "rocksync/kvrocks"]);
    }
    println!("| {} |", head.join(" | "));
    println!("|{}", " --- |".repeat(head.len()));
    for pipeline in [1, 16] {
        // Each pass starts from fresh data: FLUSHALL, then every row's
        // setup in its turn.
        for s in &servers {
            load(s.port, [words(&["FLUSHALL"])])?;
        }
        for row in rows(quick) {
            let setup = (row.setup)();
            for s in &servers {
                load(s.port, setup.iter().cloned())
                    .with_context(|| format!("{} setup on {}", row.name, s.port))?;
            }
            let command = row
                .name
                .split(' ')
                .next()
                .unwrap_or_default()
                .to_lowercase();
            if only.is_some_and(|only| !only.contains(&command)) {
                continue;
            }
            let rates = servers
                .iter()
                .enumerate()
                .map(|(i, s)| match measure(s, i, &row, pipeline, limit) {
                    // A peer that fails a row is a finding: its cells say so.
                    Err(e) if i >= 2 => {
                        eprintln!("the peer on {} failed: {e:#}", s.port);
                        Ok((f64::NAN, f64::NAN, f64::NAN))
                    }
                    r => r,
                })
                .collect::<Result<Vec<_>>>()?;
            let (redis, ours) = (rates[0], rates[1]);
            let mut cells = vec![
                row.name.to_owned(),
                pipeline.to_string(),
                format!("{:.0}", redis.0),
                format!("{:.1}", redis.1),
                format!("{:.0}", redis.2),
                format!("{:.0}", ours.0),
                format!("{:.1}", ours.1),
                format!("{:.0}", ours.2),
                format!("{:.2}", ours.0 / redis.0),
            ];
            if let Some(kv) = rates.get(2) {
                cells.extend([
                    format!("{:.0}", kv.0),
                    format!("{:.1}", kv.1),
                    format!("{:.2}", ours.0 / kv.0),
                ]);
            }
            println!("| {} |", cells.join(" | "));
        }
    }
    if let Some((dir, guard, _)) = kv {
        drop(guard);
        let _ = std::fs::remove_dir_all(dir);
    }
    Ok(())
}
