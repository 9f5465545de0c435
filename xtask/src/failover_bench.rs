//! `cargo xtask bench failover`: a master with two followers loses the
//! master; one follower is promoted (`SLAVEOF NO ONE` / `REPLICAOF NO
//! ONE`) and the other re-pointed to it. Measured for rocksync and for
//! Redis replicas in one run: time from the promotion command to the first
//! accepted write, and time from the re-point until the sibling is in sync
//! (Redis: PSYNC continuing from the promoted replica's replid2; rocksync:
//! binlog resume through replid2).

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{ensure, Context, Result};

use crate::procs::{free_port, start as spawn_server, Guard};
use crate::repl_bench::{call, load, num, redis_synced, rocksync_synced, wait_for};

const WAIT: Duration = Duration::from_secs(600);

fn redis(port: u16, dir: &Path, master: Option<u16>) -> Result<Guard> {
    std::fs::create_dir_all(dir)?;
    let mut c = Command::new("redis-server");
    c.args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
        .args(["--save", "", "--appendonly", "no"])
        .args(["--repl-diskless-sync-delay", "0", "--dir"])
        .arg(dir);
    if let Some(m) = master {
        c.args(["--replicaof", "127.0.0.1", &m.to_string()]);
    }
    spawn_server(&mut c, port).context("redis-server")
}

fn ours(bins: &Path, port: u16, dir: &Path, master: Option<u16>) -> Result<Guard> {
    let mut c = match master {
        None => Command::new(bins.join("rocksync-master")),
        Some(m) => {
            let mut c = Command::new(bins.join("rocksync-slave"));
            c.args(["--master-addr", &format!("127.0.0.1:{m}")]);
            c
        }
    };
    c.args(["--port", &port.to_string(), "--data-dir"]).arg(dir);
    spawn_server(&mut c, port)
}

/// Promote `promoted`, write to it until a write is accepted, re-point
/// `sibling` to it, and wait until `synced(promoted, sibling)`; the two
/// durations.
fn failover(
    cmd: &str,
    promoted: u16,
    sibling: u16,
    synced: impl Fn(u16, u16) -> bool,
) -> Result<(Duration, Duration)> {
    let start = Instant::now();
    let answer = call(promoted, &[cmd, "NO", "ONE"])?;
    ensure!(answer == "OK", "{cmd} NO ONE answered {answer}");
    wait_for("the first accepted write", WAIT, || {
        call(promoted, &["SET", "after-failover", "1"]).is_ok_and(|r| r == "OK")
    })?;
    let promote = start.elapsed();
    let start = Instant::now();
    let answer = call(sibling, &[cmd, "127.0.0.1", &promoted.to_string()])?;
    ensure!(answer == "OK", "{cmd} host port answered {answer}");
    wait_for("the sibling to be in sync", WAIT, || {
        synced(promoted, sibling)
    })?;
    Ok((promote, start.elapsed()))
}

/// Run the comparison and print a markdown table.
pub fn run(bins: &Path, keys: u64) -> Result<()> {
    let tmp = std::env::temp_dir().join(format!("rocksync-failover-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    let p: Vec<u16> = (0..6).map(|_| free_port()).collect::<Result<_>>()?;
    let (rm, r1, r2, om, o1, o2) = (p[0], p[1], p[2], p[3], p[4], p[5]);

    let redis_master = redis(rm, &tmp.join("rm"), None)?;
    let ours_master = ours(bins, om, &tmp.join("om"), None)?;
    eprintln!("loading {keys} keys into each master");
    load(rm, keys, "key")?;
    load(om, keys, "key")?;
    let _redis_replicas = (
        redis(r1, &tmp.join("r1"), Some(rm))?,
        redis(r2, &tmp.join("r2"), Some(rm))?,
    );
    let _slaves = (
        ours(bins, o1, &tmp.join("o1"), Some(om))?,
        ours(bins, o2, &tmp.join("o2"), Some(om))?,
    );
    for (m, s) in [(rm, r1), (rm, r2)] {
        wait_for("redis replicas in sync", WAIT, || redis_synced(m, s))?;
    }
    for (m, s) in [(om, o1), (om, o2)] {
        wait_for("rocksync slaves in sync", WAIT, || rocksync_synced(m, s))?;
    }
    drop(redis_master);
    drop(ours_master);

    let full_before = num(o2, "replication", "full_copies");
    let psync_before = num(r1, "stats", "sync_partial_ok");
    let redis = failover("REPLICAOF", r1, r2, redis_synced)?;
    let ours = failover("SLAVEOF", o1, o2, rocksync_synced)?;
    let full_after = num(o2, "replication", "full_copies");
    let psync = num(r1, "stats", "sync_partial_ok") - psync_before;
    ensure!(
        full_after == full_before,
        "the rocksync sibling was full-copied"
    );

    println!("### Failover: {keys} keys × 100 B; master killed, one follower promoted, the other re-pointed\n");
    println!("| | promote → first accepted write | re-point → sibling in sync |");
    println!("| --- | ---: | ---: |");
    println!(
        "| Redis 7 replicas (sibling partial resyncs: {psync}) | {:.1} ms | {:.1} ms |",
        redis.0.as_secs_f64() * 1000.0,
        redis.1.as_secs_f64() * 1000.0
    );
    println!(
        "| rocksync (sibling full copies: {}) | {:.1} ms | {:.1} ms |",
        full_after - full_before,
        ours.0.as_secs_f64() * 1000.0,
        ours.1.as_secs_f64() * 1000.0
    );
    println!(
        "| rocksync / Redis | {:.2} | {:.2} |\n",
        ours.0.as_secs_f64() / redis.0.as_secs_f64(),
        ours.1.as_secs_f64() / redis.1.as_secs_f64()
    );
    let _ = std::fs::remove_dir_all(&tmp);
    Ok(())
}
