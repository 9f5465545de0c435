//! `cargo xtask bench follow [--quick]`: a replica of a live
//! redis-server, redis-server's own beside a rocksync node, one after the
//! other on the same master in one run (issue 28). The master holds 1 M
//! keys (redis-benchmark SET -r 1 M -d 100). Measured for each replica:
//! the full sync (from REPLICAOF / SLAVEOF until it holds the master's
//! offset), then the stream: redis-benchmark SET -P 16 over the keyspace
//! against the master while the replica follows, the time from the load's
//! end until the replica holds the master's offset, and the replica's CPU
//! per command streamed.

use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{bail, ensure, Context, Result};

use crate::bench::{measure_with, rocksync_cmd};
use crate::cpu_bench::{process_ticks, us_per_command};
use crate::procs::{free_port, start, Guard};
use crate::repl_bench::call;

/// An INFO field of the server on `port`, if it shows one.
fn field(port: u16, section: &str, name: &str) -> Result<Option<String>> {
    let text = call(port, &["INFO", section])?;
    Ok(text
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{name}:")))
        .map(|v| v.trim().to_owned()))
}

fn number(port: u16, section: &str, name: &str) -> Result<u64> {
    field(port, section, name)?
        .with_context(|| format!("no {name} in INFO {section} of {port}"))?
        .parse()
        .with_context(|| format!("{name} of {port}"))
}

/// Wait until the replica on `replica` holds the master's offset, with
/// its link up; the time since `since`.
fn caught_up(master: u16, replica: u16, since: Instant) -> Result<f64> {
    loop {
        let want = number(master, "replication", "master_repl_offset")?;
        let up = field(replica, "replication", "master_link_status")?.as_deref() == Some("up");
        let at =
            field(replica, "replication", "slave_repl_offset")?.and_then(|v| v.parse::<u64>().ok());
        if up && at == Some(want) {
            return Ok(since.elapsed().as_secs_f64());
        }
        if since.elapsed() > Duration::from_secs(900) {
            bail!("the replica on {replica} did not catch up in 15 minutes");
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// What one replica measured.
struct Followed {
    full_sync: f64,
    stream_rate: f64,
    catch_up: f64,
    us_per_command: f64,
}

/// Follow the master on `master` with the replica `cmd` starts on
/// `port` (`verb`: REPLICAOF or SLAVEOF), then stream `requests` SETs.
fn follow(
    master: u16,
    mut cmd: Command,
    port: u16,
    verb: &str,
    requests: u32,
    keys: u32,
) -> Result<Followed> {
    let replica: Guard = start(&mut cmd, port)?;
    let stat = std::path::PathBuf::from(format!("/proc/{}/stat", replica.id()));
    let since = Instant::now();
    let answer = call(port, &[verb, "127.0.0.1", &master.to_string()])?;
    ensure!(
        answer.trim().trim_start_matches('+') == "OK",
        "{verb}: {answer}"
    );
    let full_sync = caught_up(master, port, since)?;
    let before = process_ticks(&stat)?;
    let range = keys.to_string();
    let stream_rate = measure_with(master, "set", 16, requests, &["-r", &range, "-d", "100"])?;
    let ended = Instant::now();
    let catch_up = caught_up(master, port, ended)?;
    let ticks = process_ticks(&stat)? - before;
    let held = call(port, &["DBSIZE"])?;
    let want = call(master, &["DBSIZE"])?;
    ensure!(
        held == want,
        "the replica holds {held} keys, the master {want}"
    );
    Ok(Followed {
        full_sync,
        stream_rate,
        catch_up,
        us_per_command: us_per_command(ticks, f64::from(requests)),
    })
}

/// Run and print the table.
pub fn run(quick: bool) -> Result<()> {
    let keys: u32 = if quick { 100_000 } else { 1_000_000 };
    let requests = keys * 2;
    let bins = crate::release_bins()?;
    let tmp = std::env::temp_dir().join(format!("rocksync-follow-bench-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    for d in ["master", "redis-replica"] {
        std::fs::create_dir_all(tmp.join(d))?;
    }
    let master_port = free_port()?;
    let _master = start(
        Command::new("redis-server")
            .args(["--port", &master_port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .args([
                "--repl-backlog-size",
                "256mb",
                "--repl-diskless-sync-delay",
                "0",
            ])
            .arg("--dir")
            .arg(tmp.join("master")),
        master_port,
    )?;
    let range = keys.to_string();
    measure_with(
        master_port,
        "set",
        16,
        keys * 3,
        &["-r", &range, "-d", "100"],
    )?;
    let held = call(master_port, &["DBSIZE"])?;
    println!(
        "follow: a redis-server {} master holding {} keys (redis-benchmark -t set -n {} -r {keys} -d 100 -P 16); then {requests} more SETs -P 16 while the replica follows\n",
        crate::bench::redis_version(),
        held.trim().trim_start_matches(':'),
        keys * 3
    );
    let port = free_port()?;
    let mut redis = Command::new("redis-server");
    redis
        .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
        .args(["--save", "", "--appendonly", "no"])
        .arg("--dir")
        .arg(tmp.join("redis-replica"));
    let theirs = follow(master_port, redis, port, "REPLICAOF", requests, keys)?;
    let port = free_port()?;
    let ours_cmd = rocksync_cmd(&bins.join("rocksync-master"), port, &tmp.join("rocksync"));
    let ours = follow(master_port, ours_cmd, port, "SLAVEOF", requests, keys)?;
    let _ = std::fs::remove_dir_all(&tmp);

    println!("| step | redis-server replica | rocksync node | rocksync/redis |");
    println!("| --- | ---: | ---: | ---: |");
    println!(
        "| full sync (REPLICAOF/SLAVEOF until at the master's offset), s | {:.2} | {:.2} | {:.2} |",
        theirs.full_sync,
        ours.full_sync,
        ours.full_sync / theirs.full_sync
    );
    println!(
        "| master's SET -P 16 rate while it follows, k/s | {:.0} | {:.0} | {:.2} |",
        theirs.stream_rate / 1e3,
        ours.stream_rate / 1e3,
        ours.stream_rate / theirs.stream_rate
    );
    println!(
        "| behind when the load ends (until at the master's offset), s | {:.2} | {:.2} | |",
        theirs.catch_up, ours.catch_up
    );
    println!(
        "| replica CPU per command streamed, µs | {:.2} | {:.2} | {:.2} |",
        theirs.us_per_command,
        ours.us_per_command,
        ours.us_per_command / theirs.us_per_command
    );
    Ok(())
}
