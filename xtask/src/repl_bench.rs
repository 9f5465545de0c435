//! `cargo xtask bench repl`: replication beside a Redis replica, in one
//! run. (a) full copy of N keys × 100 B vs a Redis replica's full resync
//! (`repl-diskless-sync-delay 0`); (b) slave lag sampled every 100 ms
//! while redis-benchmark writes flat out; (c) a slave restarted M events
//! behind, SETs and then HSETs into 100 hashes: time to catch up (a Redis
//! replica restarted does a resync).

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

use crate::procs::{free_port, start as spawn_server};

/// One RESP command, one reply, as text (bulk replies' content).
pub(crate) fn call(port: u16, args: &[&str]) -> Result<String> {
    let mut s = TcpStream::connect(("127.0.0.1", port))?;
    s.set_read_timeout(Some(Duration::from_secs(30)))?;
    let mut out = format!("*{}\r\n", args.len());
    for a in args {
        out.push_str(&format!("${}\r\n{a}\r\n", a.len()));
    }
    s.write_all(out.as_bytes())?;
    let mut buf = Vec::new();
    let mut chunk = [0u8; 65536];
    loop {
        let n = s.read(&mut chunk)?;
        if n == 0 {
            break;
        }
        buf.extend_from_slice(&chunk[..n]);
        if buf.starts_with(b"$") {
            let Some(nl) = buf.iter().position(|&b| b == b'\n') else {
                continue;
            };
            let len: i64 = std::str::from_utf8(&buf[1..nl - 1])?.parse()?;
            if len < 0 || buf.len() >= nl + 1 + len as usize + 2 {
                let body = if len < 0 {
                    Vec::new()
                } else {
                    buf[nl + 1..nl + 1 + len as usize].to_vec()
                };
                return Ok(String::from_utf8_lossy(&body).into_owned());
            }
        } else if buf.ends_with(b"\r\n") {
            return Ok(String::from_utf8_lossy(&buf[1..buf.len() - 2]).into_owned());
        }
    }
    Ok(String::from_utf8_lossy(&buf).into_owned())
}

pub(crate) fn info_field(port: u16, section: &str, key: &str) -> Option<String> {
    let text = call(port, &["INFO", section]).ok()?;
    text.lines().find_map(|l| {
        l.strip_prefix(&format!("{key}:"))
            .map(|v| v.trim().to_owned())
    })
}

pub(crate) fn num(port: u16, section: &str, key: &str) -> u64 {
    info_field(port, section, key)
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// Load `n` keys `key:%012d` (the names redis-benchmark's `-r` draws)
/// with 100-byte values through one pipelined
/// connection.
pub(crate) fn load(port: u16, n: u64, prefix: &str) -> Result<()> {
    let value = "v".repeat(100);
    load_with(port, n, |i| {
        let key = format!("{prefix}:{i:012}");
        format!(
            "*3\r\n$3\r\nSET\r\n${}\r\n{key}\r\n$100\r\n{value}\r\n",
            key.len()
        )
    })
}

/// HSET of `n` fields × 100 B, spread over 100 hashes.
fn load_fields(port: u16, n: u64, prefix: &str) -> Result<()> {
    let value = "v".repeat(100);
    load_with(port, n, |i| {
        let (key, field) = (format!("{prefix}:{:03}", i % 100), format!("f:{i:012}"));
        format!(
            "*4\r\n$4\r\nHSET\r\n${}\r\n{key}\r\n${}\r\n{field}\r\n$100\r\n{value}\r\n",
            key.len(),
            field.len()
        )
    })
}

/// Send `n` commands (`cmd(i)`, RESP text, one-line replies) pipelined.
fn load_with(port: u16, n: u64, cmd: impl Fn(u64) -> String) -> Result<()> {
    let mut s = TcpStream::connect(("127.0.0.1", port))?;
    let mut reader = s.try_clone()?;
    let expect = n;
    let drain = std::thread::spawn(move || -> Result<()> {
        let mut seen = 0u64;
        let mut chunk = vec![0u8; 1 << 16];
        while seen < expect {
            let r = reader.read(&mut chunk)?;
            if r == 0 {
                bail!("connection closed while loading");
            }
            seen += chunk[..r].iter().filter(|&&b| b == b'\n').count() as u64;
        }
        Ok(())
    });
    let mut out = Vec::with_capacity(1 << 20);
    for i in 0..n {
        out.extend_from_slice(cmd(i).as_bytes());
        if out.len() > (1 << 20) {
            s.write_all(&out)?;
            out.clear();
        }
    }
    s.write_all(&out)?;
    drain
        .join()
        .map_err(|_| anyhow::anyhow!("drain thread"))??;
    Ok(())
}

pub(crate) fn wait_for(
    what: &str,
    timeout: Duration,
    mut f: impl FnMut() -> bool,
) -> Result<Duration> {
    let start = Instant::now();
    while !f() {
        if start.elapsed() > timeout {
            bail!("timed out waiting for {what}");
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    Ok(start.elapsed())
}

pub(crate) fn rocksync_synced(master: u16, slave: u16) -> bool {
    let m = num(master, "replication", "master_repl_offset");
    info_field(slave, "replication", "master_sync_in_progress").as_deref() == Some("0")
        && info_field(slave, "replication", "master_link_status").as_deref() == Some("up")
        && num(slave, "replication", "last_seq") == m
        && m > 0
}

pub(crate) fn redis_synced(master: u16, replica: u16) -> bool {
    info_field(replica, "replication", "master_link_status").as_deref() == Some("up")
        && info_field(replica, "replication", "master_sync_in_progress").as_deref() == Some("0")
        && num(replica, "replication", "slave_repl_offset")
            >= num(master, "replication", "master_repl_offset")
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v.get(v.len() / 2).copied().unwrap_or(0.0)
}

/// Sample lag every 100 ms while redis-benchmark writes; (median, max) in
/// units and in ms (units / write rate).
fn lag_under_load(
    bench_port: u16,
    sample: impl Fn() -> (u64, u64),
) -> Result<(f64, f64, f64, f64)> {
    let mut bench = Command::new("redis-benchmark")
        .args([
            "-p",
            &bench_port.to_string(),
            "-t",
            "set",
            "-n",
            "1000000",
            "-c",
            "50",
            "-P",
            "16",
            "-r",
            "1000000",
            "-d",
            "100",
            "-q",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()?;
    let mut lags = Vec::new();
    let (first_time, first_head) = (Instant::now(), sample().0);
    while bench.try_wait()?.is_none() {
        std::thread::sleep(Duration::from_millis(100));
        let (head, tail) = sample();
        lags.push((head.saturating_sub(tail), head));
    }
    let elapsed = first_time.elapsed().as_secs_f64();
    let last_head = lags.last().map_or(first_head, |l| l.1);
    let rate = (last_head.saturating_sub(first_head)) as f64 / elapsed.max(0.001);
    let mut units: Vec<f64> = lags.iter().map(|l| l.0 as f64).collect();
    let max = units.iter().copied().fold(0.0, f64::max);
    let med = median(&mut units);
    let ms = |u: f64| if rate > 0.0 { u / rate * 1000.0 } else { 0.0 };
    Ok((med, max, ms(med), ms(max)))
}

/// Run the replication comparison and print markdown tables.
pub fn run(bins: &Path, keys: u64, behind: u64) -> Result<()> {
    let tmp = std::env::temp_dir().join(format!("rocksync-repl-bench-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    std::fs::create_dir_all(tmp.join("redis-m"))?;
    std::fs::create_dir_all(tmp.join("redis-r"))?;
    let (rm, rr, om, os) = (free_port()?, free_port()?, free_port()?, free_port()?);
    let redis_master = spawn_server(
        Command::new("redis-server")
            .args([
                "--port",
                &rm.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ])
            .args(["--repl-diskless-sync-delay", "0", "--dir"])
            .arg(tmp.join("redis-m")),
        rm,
    )
    .context("redis-server")?;
    let ours_master = spawn_server(
        Command::new(bins.join("rocksync-master"))
            .args(["--port", &om.to_string(), "--data-dir"])
            .arg(tmp.join("ours-m")),
        om,
    )?;
    eprintln!("loading {keys} keys into each master");
    load(rm, keys, "key")?;
    load(om, keys, "key")?;

    // (a) full copy
    let redis_replica_cmd = |dir: &Path| {
        let mut c = Command::new("redis-server");
        c.args([
            "--port",
            &rr.to_string(),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
        ])
        .args(["--replicaof", "127.0.0.1", &rm.to_string(), "--dir"])
        .arg(dir);
        c
    };
    let start = Instant::now();
    let redis_replica = spawn_server(&mut redis_replica_cmd(&tmp.join("redis-r")), rr)?;
    wait_for("redis replica sync", Duration::from_secs(600), || {
        redis_synced(rm, rr)
    })?;
    let redis_copy = start.elapsed();
    let slave_cmd = || {
        let mut c = Command::new(bins.join("rocksync-slave"));
        c.args([
            "--port",
            &os.to_string(),
            "--master-addr",
            &format!("127.0.0.1:{om}"),
            "--data-dir",
        ])
        .arg(tmp.join("ours-s"));
        c
    };
    let start = Instant::now();
    let slave = spawn_server(&mut slave_cmd(), os)?;
    wait_for("rocksync slave sync", Duration::from_secs(600), || {
        rocksync_synced(om, os)
    })?;
    let ours_copy = start.elapsed();
    let mb = (keys * 113) as f64 / 1e6;
    println!("### Full copy: {keys} keys × 100 B (about {mb:.0} MB of keys and values)\n");
    println!("| | time | MB/s | rocksync/redis time |");
    println!("| --- | ---: | ---: | ---: |");
    println!(
        "| Redis replica full resync | {:.2} s | {:.0} | |",
        redis_copy.as_secs_f64(),
        mb / redis_copy.as_secs_f64()
    );
    println!(
        "| rocksync full copy | {:.2} s | {:.0} | {:.2} |\n",
        ours_copy.as_secs_f64(),
        mb / ours_copy.as_secs_f64(),
        ours_copy.as_secs_f64() / redis_copy.as_secs_f64()
    );

    // (b) lag under flat-out writes
    let redis_lag = lag_under_load(rm, || {
        (
            num(rm, "replication", "master_repl_offset"),
            num(rr, "replication", "slave_repl_offset"),
        )
    })?;
    let ours_lag = lag_under_load(om, || {
        (
            num(om, "replication", "master_repl_offset"),
            num(os, "replication", "last_seq"),
        )
    })?;
    println!("### Lag while redis-benchmark writes flat out (-c 50 -P 16, SET, 100 B), sampled every 100 ms\n");
    println!("| | median | max | median ms | max ms |");
    println!("| --- | ---: | ---: | ---: | ---: |");
    println!(
        "| Redis replica (bytes of offset) | {:.0} | {:.0} | {:.1} | {:.1} |",
        redis_lag.0, redis_lag.1, redis_lag.2, redis_lag.3
    );
    println!(
        "| rocksync slave (events) | {:.0} | {:.0} | {:.1} | {:.1} |\n",
        ours_lag.0, ours_lag.1, ours_lag.2, ours_lag.3
    );

    // (c) restart behind: SETs, then HSETs into existing hashes
    drop(slave);
    drop(redis_replica);
    for (what, load) in [
        ("SET of new keys", load as fn(u16, u64, &str) -> Result<()>),
        ("HSET of new fields in 100 hashes", load_fields),
    ] {
        load(om, behind, "behind")?;
        load(rm, behind, "behind")?;
        let start = Instant::now();
        let redis_replica = spawn_server(&mut redis_replica_cmd(&tmp.join("redis-r")), rr)?;
        wait_for("redis replica catch-up", Duration::from_secs(600), || {
            redis_synced(rm, rr)
        })?;
        let redis_catch = start.elapsed();
        let start = Instant::now();
        let slave = spawn_server(&mut slave_cmd(), os)?;
        wait_for("rocksync slave catch-up", Duration::from_secs(600), || {
            rocksync_synced(om, os)
        })?;
        let ours_catch = start.elapsed();
        let resumes = num(os, "replication", "binlog_resumes");
        println!("### A slave restarted {behind} events behind: {what}\n");
        println!("| | time | events/s |");
        println!("| --- | ---: | ---: |");
        println!(
            "| Redis replica (full resync on restart) | {:.2} s | {:.0} |",
            redis_catch.as_secs_f64(),
            behind as f64 / redis_catch.as_secs_f64()
        );
        println!(
            "| rocksync slave (binlog resume, binlog_resumes={resumes}) | {:.2} s | {:.0} |\n",
            ours_catch.as_secs_f64(),
            behind as f64 / ours_catch.as_secs_f64()
        );
        drop((slave, redis_replica));
    }
    drop((ours_master, redis_master));
    let _ = std::fs::remove_dir_all(&tmp);
    Ok(())
}
