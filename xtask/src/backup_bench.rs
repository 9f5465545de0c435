//! `cargo xtask bench backup [--quick]`: a backup of 1 M keys and a
//! start from it, rocksync-master beside redis-server in one run (issue
//! 28). redis-server: BGSAVE (an RDB file), then a new redis-server
//! loading that RDB. rocksync: BGSAVE (a RocksDB checkpoint), then
//! `--restore-from` of it into a new data directory and a node started
//! on it. Each measured until the server says it is done (INFO
//! persistence) or answers with every key (DBSIZE).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{bail, ensure, Context, Result};

use crate::bench::{measure_with, settle, start_pair};
use crate::procs::{free_port, start};
use crate::repl_bench::call;

/// An INFO field of the server on `port`.
fn info(port: u16, section: &str, field: &str) -> Result<String> {
    let text = call(port, &["INFO", section])?;
    text.lines()
        .find_map(|l| l.strip_prefix(&format!("{field}:")))
        .map(|v| v.trim().to_owned())
        .with_context(|| format!("no {field} in INFO {section} of {port}"))
}

/// The number a reply like `:42` carries.
fn integer(reply: &str) -> Result<u64> {
    Ok(reply.trim().trim_start_matches(':').parse()?)
}

/// BGSAVE on `port`, waited for: its seconds.
fn bgsave(port: u16) -> Result<f64> {
    let before: u64 = info(port, "persistence", "rdb_saves")?.parse()?;
    let started = Instant::now();
    let answer = call(port, &["BGSAVE"])?;
    ensure!(
        answer.contains("Background saving started"),
        "BGSAVE on {port}: {answer}"
    );
    loop {
        let saves: u64 = info(port, "persistence", "rdb_saves")?.parse()?;
        if saves > before && info(port, "persistence", "rdb_bgsave_in_progress")? == "0" {
            break;
        }
        if started.elapsed() > Duration::from_secs(600) {
            bail!("BGSAVE on {port} did not end in 10 minutes");
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    let took = started.elapsed().as_secs_f64();
    ensure!(
        info(port, "persistence", "rdb_last_bgsave_status")? == "ok",
        "BGSAVE on {port} failed"
    );
    Ok(took)
}

/// Bytes under `path` (a file or a directory tree).
fn bytes(path: &Path) -> u64 {
    match std::fs::metadata(path) {
        Ok(m) if m.is_dir() => std::fs::read_dir(path)
            .map(|d| d.flatten().map(|e| bytes(&e.path())).sum())
            .unwrap_or(0),
        Ok(m) => m.len(),
        Err(_) => 0,
    }
}

/// Wait until the server on `port` answers DBSIZE `keys` (after loading);
/// the time since `since`.
fn ready(port: u16, keys: u64, since: Instant) -> Result<f64> {
    loop {
        if let Ok(n) = call(port, &["DBSIZE"]).and_then(|r| integer(&r)) {
            if n == keys {
                return Ok(since.elapsed().as_secs_f64());
            }
        }
        if since.elapsed() > Duration::from_secs(600) {
            bail!("the server on {port} did not come up with {keys} keys in 10 minutes");
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Run and print the table.
pub fn run(quick: bool) -> Result<()> {
    let keys: u32 = if quick { 100_000 } else { 1_000_000 };
    let pair = start_pair("backup")?;
    let load = [
        "-r".to_owned(),
        keys.to_string(),
        "-d".to_owned(),
        "100".to_owned(),
    ];
    let load: Vec<&str> = load.iter().map(String::as_str).collect();
    for port in [pair.redis_port, pair.ours_port] {
        measure_with(port, "set", 16, keys * 3, &load)?;
        settle(port)?;
    }
    let held = integer(&call(pair.redis_port, &["DBSIZE"])?)?;
    let ours_held = integer(&call(pair.ours_port, &["DBSIZE"])?)?;
    ensure!(held > 0 && ours_held > 0, "nothing loaded");
    println!(
        "{}: {held} keys in redis-server, {ours_held} in rocksync (redis-benchmark -t set -n {} -r {keys} -d 100)\n",
        pair.title,
        keys * 3
    );
    let redis_save = bgsave(pair.redis_port)?;
    let ours_save = bgsave(pair.ours_port)?;
    let tmp = std::env::temp_dir().join(format!("rocksync-backup-start-{}", std::process::id()));
    let redis_dir = tmp_dir_of(&pair, "redis")?;
    let rdb = redis_dir.join("dump.rdb");
    let ours_dir = tmp_dir_of(&pair, "rocksync")?;
    let backup: PathBuf = std::fs::read_dir(ours_dir.join("backups"))?
        .flatten()
        .map(|e| e.path())
        .find(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("backup-"))
        })
        .context("rocksync's backup")?;
    let (rdb_bytes, backup_bytes) = (bytes(&rdb), bytes(&backup));

    // redis-server started on the RDB (AOF off, so it loads the RDB).
    let _ = std::fs::remove_dir_all(&tmp);
    std::fs::create_dir_all(&tmp)?;
    std::fs::copy(&rdb, tmp.join("dump.rdb"))?;
    let port = free_port()?;
    let since = Instant::now();
    let loaded = start(
        Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .arg("--dir")
            .arg(&tmp),
        port,
    )?;
    let redis_load = ready(port, held, since)?;
    drop(loaded);

    // rocksync restored from its backup, then started on it.
    let bins = crate::release_bins()?;
    let restored = tmp.join("restored");
    let since = Instant::now();
    let out = Command::new(bins.join("rocksync-master"))
        .arg("--restore-from")
        .arg(&backup)
        .arg("--data-dir")
        .arg(&restored)
        .output()?;
    ensure!(
        out.status.success(),
        "restore: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let restore_secs = since.elapsed().as_secs_f64();
    let port = free_port()?;
    let since_start = Instant::now();
    let node = start(
        &mut crate::bench::rocksync_cmd(&bins.join("rocksync-master"), port, &restored),
        port,
    )?;
    let ours_start = ready(port, ours_held, since_start)?;
    drop(node);
    let _ = std::fs::remove_dir_all(&tmp);

    println!("| step | redis-server | rocksync | rocksync/redis |");
    println!("| --- | ---: | ---: | ---: |");
    println!(
        "| BGSAVE, s | {redis_save:.3} | {ours_save:.3} | {:.2} |",
        ours_save / redis_save
    );
    println!(
        "| backup on disk, MB | {:.1} (dump.rdb) | {:.1} (checkpoint, hard links) | {:.2} |",
        rdb_bytes as f64 / 1e6,
        backup_bytes as f64 / 1e6,
        backup_bytes as f64 / rdb_bytes as f64
    );
    println!(
        "| back up and answering, s | {redis_load:.3} (start, RDB loaded) | {:.3} (restore {restore_secs:.3} + start {ours_start:.3}) | {:.2} |",
        restore_secs + ours_start,
        (restore_secs + ours_start) / redis_load
    );
    Ok(())
}

/// The data directory `start_pair` gave `who` ("redis" or "rocksync").
fn tmp_dir_of(pair: &crate::bench::Pair, who: &str) -> Result<PathBuf> {
    Ok(pair.dir().join(who))
}
