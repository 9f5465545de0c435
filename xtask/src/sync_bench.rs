//! `cargo xtask bench sync`: what `sync-replicas 1` costs (issue 25). SET
//! at -P 1 and -P 16 from 50 connections over a keyspace of N loaded keys,
//! on a rocksync master with one slave, acknowledged once the master has
//! it (`sync-replicas 0`) and once the slave has applied it
//! (`sync-replicas 1`, set at runtime on the same pair); beside a
//! redis-server with one replica, plain and with `WAIT 1 0` after every
//! SET (the closest Redis gets). CPU per SET is the master's and its
//! slave's together.

use std::io::Write;
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{bail, Result};

use crate::bench::{redis_cmd, rocksync_cmd, settle};
use crate::commands_bench::{bench_client, read_replies, xorshift};
use crate::procs::{free_port, start};
use crate::repl_bench::{call, load, num, wait_for};

const CLIENTS: u64 = 50;

pub fn run(bins: &Path, quick: bool) -> Result<()> {
    let keys: u64 = if quick { 100_000 } else { 1_000_000 };
    let tmp = std::env::temp_dir().join(format!("rocksync-sync-bench-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    for d in ["redis", "replica"] {
        std::fs::create_dir_all(tmp.join(d))?;
    }
    let (m, s) = (free_port()?, free_port()?);
    let master = start(
        &mut rocksync_cmd(&bins.join("rocksync-master"), m, &tmp.join("m")),
        m,
    )?;
    let slave = start(
        rocksync_cmd(&bins.join("rocksync-slave"), s, &tmp.join("s"))
            .args(["--master-addr", &format!("127.0.0.1:{m}")]),
        s,
    )?;
    let (r, rr) = (free_port()?, free_port()?);
    let redis = start(&mut redis_cmd(r, &tmp.join("redis")), r)?;
    let replica = start(
        redis_cmd(rr, &tmp.join("replica")).args(["--replicaof", "127.0.0.1", &r.to_string()]),
        rr,
    )?;
    eprintln!("loading {keys} keys into each master");
    load(m, keys, "key")?;
    load(r, keys, "key")?;
    wait_for(
        "the rocksync slave to catch up",
        Duration::from_secs(600),
        || num(s, "replication", "last_seq") == num(m, "replication", "master_repl_offset"),
    )?;
    wait_for(
        "the Redis replica to catch up",
        Duration::from_secs(600),
        || call(r, &["WAIT", "1", "1000"]).is_ok_and(|n| n == "1"),
    )?;
    for port in [m, s, r, rr] {
        settle(port)?;
    }
    let pids = |a: &crate::procs::Guard, b: &crate::procs::Guard| [a.id(), b.id()];
    println!(
        "### SET under sync-replicas: 50 connections, {keys} keys loaded, -r {keys}, 100 B values; rate (SET/s) and CPU µs per SET (master + slave)\n"
    );
    println!("| -P | rocksync | rocksync, sync-replicas 1 | ratio | redis-server {} | redis-server, WAIT 1 0 after each SET | ratio | sync-replicas 1 / WAIT 1 0 |", crate::bench::redis_version());
    println!("| --- | --- | --- | --- | --- | --- | --- | --- |");
    for pipeline in [1u64, 16] {
        let sets = match (quick, pipeline) {
            (true, 1) => 50_000,
            (true, _) => 200_000,
            (false, 1) => 200_000,
            (false, _) => 1_000_000,
        };
        call(m, &["CONFIG", "SET", "sync-replicas", "0"])?;
        let ours = measure(m, pids(&master, &slave), sets, pipeline, keys, false)?;
        call(m, &["CONFIG", "SET", "sync-replicas", "1"])?;
        let ours_sync = measure(m, pids(&master, &slave), sets, pipeline, keys, false)?;
        call(m, &["CONFIG", "SET", "sync-replicas", "0"])?;
        let theirs = measure(r, pids(&redis, &replica), sets, pipeline, keys, false)?;
        let theirs_wait = measure(r, pids(&redis, &replica), sets, pipeline, keys, true)?;
        let timeouts = num(m, "stats", "sync_replicas_timeouts");
        if timeouts > 0 {
            bail!("{timeouts} writes timed out waiting for the slave");
        }
        let cell = |(rate, us): (f64, f64)| format!("{rate:.0} ({us:.1} µs)");
        println!(
            "| {pipeline} | {} | {} | {:.2} | {} | {} | {:.2} | {:.2} |",
            cell(ours),
            cell(ours_sync),
            ours_sync.0 / ours.0,
            cell(theirs),
            cell(theirs_wait),
            theirs_wait.0 / theirs.0,
            ours_sync.0 / theirs_wait.0,
        );
    }
    drop((master, slave, redis, replica));
    let _ = std::fs::remove_dir_all(&tmp);
    Ok(())
}

/// SETs per second from 50 connections sending `pipeline` SETs (each
/// followed by `WAIT 1 0` when `wait`) per round trip, `sets` in all;
/// with the CPU µs per SET of the processes `pids`.
fn measure(
    port: u16,
    pids: [u32; 2],
    sets: u64,
    pipeline: u64,
    keys: u64,
    wait: bool,
) -> Result<(f64, f64)> {
    let stats: Vec<_> = pids
        .iter()
        .map(|p| std::path::PathBuf::from(format!("/proc/{p}/stat")))
        .collect();
    let ticks = || -> Result<u64> {
        stats
            .iter()
            .map(|s| crate::cpu_bench::process_ticks(s))
            .sum()
    };
    let t0 = ticks()?;
    let per_client = sets / CLIENTS;
    let value = "v".repeat(100);
    let started = Instant::now();
    let workers: Vec<_> = (0..CLIENTS)
        .map(|id| {
            let value = value.clone();
            std::thread::spawn(move || -> Result<()> {
                let mut s = bench_client(port)?;
                let mut rng = (id + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
                let mut buf = Vec::new();
                let mut done = 0;
                while done < per_client {
                    let batch = pipeline.min(per_client - done);
                    let mut out = String::new();
                    for _ in 0..batch {
                        xorshift(&mut rng);
                        let key = format!("key:{:012}", rng % keys);
                        out.push_str(&format!(
                            "*3\r\n$3\r\nSET\r\n${}\r\n{key}\r\n${}\r\n{value}\r\n",
                            key.len(),
                            value.len()
                        ));
                        if wait {
                            out.push_str("*3\r\n$4\r\nWAIT\r\n$1\r\n1\r\n$1\r\n0\r\n");
                        }
                    }
                    s.write_all(out.as_bytes())?;
                    let want = batch * if wait { 2 } else { 1 };
                    read_replies(&mut s, &mut buf, want as usize)?;
                    done += batch;
                }
                Ok(())
            })
        })
        .collect();
    for w in workers {
        w.join().map_err(|_| anyhow::anyhow!("worker panicked"))??;
    }
    let took = started.elapsed().as_secs_f64();
    let n = (per_client * CLIENTS) as f64;
    let t1 = ticks()?;
    Ok((n / took, crate::cpu_bench::us_per_command(t1 - t0, n)))
}
