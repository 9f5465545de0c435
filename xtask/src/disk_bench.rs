//! `cargo xtask bench disk [--kvrocks BIN] [--keys N] [--quick]`: data
//! larger than the block cache (issue 27: why a disk store exists).
//! rocksync-master and Apache Kvrocks (when given), each with a 64 MiB
//! block cache, are loaded with N keys (10 M by default: about 1.2 GB of
//! random, barely compressible 100-byte values, some 19 times the cache),
//! then random GETs and SETs over the whole keyspace run against each in
//! turn (`redis-benchmark -r N -d 100`, -P 1 and -P 16). Each row gives
//! the rates, each server's CPU per command, and the RSS and disk use of
//! both after the load and at the end. Each measurement starts once
//! neither server uses CPU (flushes and compactions done). redis-server has no column: it
//! keeps every key in memory.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result};

use crate::bench::{measure_with, rocksync_cmd};
use crate::commands_bench::{send_batched, xorshift};
use crate::procs::{free_port, start, Guard};

/// The block cache of both servers, MiB.
const CACHE_MB: u64 = 64;

/// One server under test.
struct Server {
    name: &'static str,
    port: u16,
    guard: Guard,
    dir: PathBuf,
}

impl Server {
    fn pid(&self) -> u32 {
        self.guard.id()
    }

    /// Resident memory, MiB.
    fn rss_mb(&self) -> Result<f64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid()))?;
        let kb: f64 = status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.split_whitespace().next())
            .context("VmRSS")?
            .parse()?;
        Ok(kb / 1024.0)
    }

    /// Bytes under its data directory, MiB.
    fn disk_mb(&self) -> f64 {
        fn walk(p: &Path) -> u64 {
            std::fs::read_dir(p).map_or(0, |rd| {
                rd.flatten()
                    .map(|e| match e.metadata() {
                        Ok(m) if m.is_dir() => walk(&e.path()),
                        Ok(m) => m.len(),
                        Err(_) => 0,
                    })
                    .sum()
            })
        }
        walk(&self.dir) as f64 / (1 << 20) as f64
    }
}

/// SET `key:<12 digits>` (redis-benchmark's `-r` key names) for keys
/// `from..to`, random printable values of 100 bytes, 256 a round trip.
fn load_range(port: u16, from: u64, to: u64) -> Result<()> {
    let mut rng = from.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    let sets = (from..to).map(|i| {
        let mut out = Vec::with_capacity(160);
        out.extend_from_slice(b"*3\r\n$3\r\nSET\r\n$16\r\n");
        out.extend_from_slice(format!("key:{i:012}").as_bytes());
        out.extend_from_slice(b"\r\n$100\r\n");
        for _ in 0..100 {
            xorshift(&mut rng);
            out.push(b'!' + (rng % 94) as u8);
        }
        out.extend_from_slice(b"\r\n");
        out
    });
    send_batched(port, 256, sets)
}

/// Load `keys` keys from 4 connections; the seconds it took.
fn load(port: u16, keys: u64) -> Result<f64> {
    let started = Instant::now();
    let per = keys.div_ceil(4);
    std::thread::scope(|scope| -> Result<()> {
        let workers: Vec<_> = (0..4)
            .map(|w| scope.spawn(move || load_range(port, w * per, ((w + 1) * per).min(keys))))
            .collect();
        for w in workers {
            w.join()
                .map_err(|_| anyhow::anyhow!("a loader panicked"))??;
        }
        Ok(())
    })?;
    Ok(started.elapsed().as_secs_f64())
}

fn start_rocksync(tmp: &Path) -> Result<Server> {
    let bins = crate::release_bins()?;
    let dir = tmp.join("rocksync");
    let port = free_port()?;
    let guard = start(
        rocksync_cmd(&bins.join("rocksync-master"), port, &dir)
            .args(["--block-cache-mb", &CACHE_MB.to_string()]),
        port,
    )?;
    Ok(Server {
        name: "rocksync",
        port,
        guard,
        dir,
    })
}

fn start_kvrocks(bin: &str, tmp: &Path) -> Result<Server> {
    let bin = Path::new(bin);
    let conf = bin.with_file_name("kvrocks.conf");
    let dir = tmp.join("kvrocks");
    std::fs::create_dir_all(&dir)?;
    let port = free_port()?;
    let guard = start(
        std::process::Command::new(bin)
            .arg("-c")
            .arg(&conf)
            .args(["--port", &port.to_string()])
            .arg("--dir")
            .arg(&dir)
            .args(["--rocksdb.block_cache_size", &CACHE_MB.to_string()]),
        port,
    )?;
    Ok(Server {
        name: "kvrocks",
        port,
        guard,
        dir,
    })
}

/// Wait until no server uses CPU (a load's or a row's flushes and
/// compactions run on after it, and would run beside the next
/// measurement, of the other server too): under 5 % of a core over 2 s,
/// 5 minutes at most.
fn wait_quiet(servers: &[Server]) -> Result<()> {
    for s in servers {
        let deadline = Instant::now() + std::time::Duration::from_secs(300);
        let stat = PathBuf::from(format!("/proc/{}/stat", s.pid()));
        loop {
            let t0 = crate::cpu_bench::process_ticks(&stat)?;
            std::thread::sleep(std::time::Duration::from_secs(2));
            let t1 = crate::cpu_bench::process_ticks(&stat)?;
            if t1 - t0 < 10 {
                break;
            }
            if Instant::now() > deadline {
                eprintln!("{} is still busy after 5 minutes; measuring anyway", s.name);
                break;
            }
        }
    }
    Ok(())
}

/// A directory removed when dropped (after the servers using it: declare
/// it first).
struct Scratch(PathBuf);

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Run and print the tables.
pub fn run(kvrocks: Option<&str>, keys: Option<u64>, quick: bool) -> Result<()> {
    let keys = keys.unwrap_or(if quick { 1_000_000 } else { 10_000_000 });
    let requests: u32 = if quick { 50_000 } else { 200_000 };
    let scratch =
        Scratch(std::env::temp_dir().join(format!("rocksync-disk-{}", std::process::id())));
    let tmp = scratch.0.clone();
    let _ = std::fs::remove_dir_all(&tmp);
    std::fs::create_dir_all(&tmp)?;
    let mut servers = vec![start_rocksync(&tmp)?];
    if let Some(bin) = kvrocks {
        servers.push(start_kvrocks(bin, &tmp)?);
    }
    println!(
        "{keys} keys of 100 random printable bytes (`key:<12 digits>`), a {CACHE_MB} MiB block cache each: rocksync-master (binlog_fsync everysec){}; redis-benchmark -c 50 -n {requests} -r {keys} -d 100\n",
        if kvrocks.is_some() {
            " and Apache Kvrocks 2.10.1 (its shipped config: workers 2, WAL without fsync)"
        } else {
            ""
        }
    );
    println!("| server | load, s | keys/s | RSS after load, MiB | disk after load, MiB |");
    println!("| --- | ---: | ---: | ---: | ---: |");
    for s in &servers {
        let secs = load(s.port, keys).with_context(|| format!("loading {}", s.name))?;
        wait_quiet(std::slice::from_ref(s))?;
        println!(
            "| {} | {secs:.1} | {:.0} | {:.0} | {:.0} |",
            s.name,
            keys as f64 / secs,
            s.rss_mb()?,
            s.disk_mb()
        );
    }
    let range = keys.to_string();
    let mut head = vec!["test", "-P"];
    for s in &servers {
        head.extend([s.name, "CPU µs/cmd"]);
    }
    if servers.len() > 1 {
        head.push("rocksync/kvrocks");
    }
    println!("\n| {} |", head.join(" | "));
    println!("|{}", " --- |".repeat(head.len()));
    for (test, pipeline) in [("get", 1), ("get", 16), ("set", 1), ("set", 16)] {
        let mut cells = vec![test.to_uppercase(), pipeline.to_string()];
        let mut rates = Vec::new();
        for s in &servers {
            wait_quiet(&servers)?;
            let stat = PathBuf::from(format!("/proc/{}/stat", s.pid()));
            let t0 = crate::cpu_bench::process_ticks(&stat)?;
            let rate = measure_with(
                s.port,
                test,
                pipeline,
                requests,
                &["-r", &range, "-d", "100"],
            )?;
            let t1 = crate::cpu_bench::process_ticks(&stat)?;
            let cpu = crate::cpu_bench::us_per_command(t1 - t0, f64::from(requests));
            cells.extend([format!("{rate:.0}"), format!("{cpu:.1}")]);
            rates.push(rate);
        }
        if let [ours, kv] = rates[..] {
            cells.push(format!("{:.2}", ours / kv));
        }
        println!("| {} |", cells.join(" | "));
    }
    println!("\n| server | RSS at the end, MiB | disk at the end, MiB |");
    println!("| --- | ---: | ---: |");
    for s in &servers {
        println!("| {} | {:.0} | {:.0} |", s.name, s.rss_mb()?, s.disk_mb());
    }
    drop(servers);
    drop(scratch);
    Ok(())
}
