//! `cargo xtask bench cpu [--quick] [BIN ...]`: the server's CPU per
//! command, which varies far less than throughput on a shared two-core
//! machine. Each rocksync-master build given (default: this one) runs
//! alone on fresh data with 1 M keys loaded (`-r 1000000 -d 100`), RocksDB
//! settled; per test it reports microseconds of CPU per command for the
//! whole process and, for builds that have one, for the write-path
//! thread alone (builds since the leader-based write path have none:
//! "-"), and ops/s. Builds
//! are measured one after another, so run them twice in turn (`A B A B`)
//! to see the spread.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result};

use crate::bench::{measure_with, settle};
use crate::procs::{free_port, start};

const TESTS: &[(&str, u32)] = &[
    ("set", 16),
    ("get", 16),
    ("incr", 16),
    ("hset", 16),
    ("set", 1),
    ("get", 1),
    ("incr", 1),
];

/// CPU ticks (user + system) of a process or a thread, from its `stat`.
fn ticks(stat: &Path) -> Result<u64> {
    stat_ticks(stat, &[11, 12])
}

/// CPU ticks of a process and of its children it has reaped (user +
/// system): a forked AOF rewrite's counts once it has ended.
pub(crate) fn process_ticks(stat: &Path) -> Result<u64> {
    stat_ticks(stat, &[11, 12, 13, 14])
}

/// Microseconds of CPU per command: `ticks` (/proc's USER_HZ, 100 a
/// second) over `commands`.
pub(crate) fn us_per_command(ticks: u64, commands: f64) -> f64 {
    ticks as f64 * 1e4 / commands
}

/// The sum of `stat`'s fields at `at`, counted after the command name.
fn stat_ticks(stat: &Path, at: &[usize]) -> Result<u64> {
    let text = std::fs::read_to_string(stat).with_context(|| stat.display().to_string())?;
    // Fields after the command name (which is in parentheses).
    let rest = text.rsplit_once(')').map_or("", |(_, r)| r);
    let f: Vec<&str> = rest.split_whitespace().collect();
    Ok(at
        .iter()
        .map(|&i| f.get(i).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0))
        .sum())
}

/// The write-path thread's `stat` file.
fn write_path_stat(pid: u32) -> Option<PathBuf> {
    std::fs::read_dir(format!("/proc/{pid}/task"))
        .ok()?
        .flatten()
        .map(|t| t.path())
        .find(|t| {
            std::fs::read_to_string(t.join("comm")).is_ok_and(|c| c.starts_with("write-path"))
        })
        .map(|t| t.join("stat"))
}

/// Measure each build in turn and print one table row per build and test.
pub fn run(args: &[String]) -> Result<()> {
    let quick = args.iter().any(|a| a == "--quick");
    let mut bins: Vec<PathBuf> = args
        .iter()
        .filter(|a| !a.starts_with("--"))
        .map(PathBuf::from)
        .collect();
    if bins.is_empty() {
        bins.push(crate::release_bins()?.join("rocksync-master"));
    }
    let (load, n) = if quick {
        (100_000, 50_000)
    } else {
        (1_000_000, 400_000)
    };
    let extra = ["-r", "1000000", "-d", "100"];
    // Linux's USER_HZ, which /proc's tick counts use.
    println!(
        "redis-benchmark -c 50 -n {n} -r 1000000 -d 100 after {load} SETs; CPU µs per command\n"
    );
    println!("| build | test | -P | process µs/cmd | write-path µs/cmd | ops/s |");
    println!("| --- | --- | ---: | ---: | ---: | ---: |");
    for bin in &bins {
        let dir = std::env::temp_dir().join(format!("rocksync-cpu-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let port = free_port()?;
        let guard = start(
            Command::new(bin)
                .args(["--port", &port.to_string(), "--data-dir"])
                .arg(&dir),
            port,
        )?;
        let pid = guard.0.id();
        measure_with(port, "set", 16, load, &extra)?;
        settle(port)?;
        let proc_stat = PathBuf::from(format!("/proc/{pid}/stat"));
        let wp_stat = write_path_stat(pid);
        let wp_ticks = || wp_stat.as_deref().map(ticks).transpose();
        for &(test, pipeline) in TESTS {
            let (p0, w0) = (ticks(&proc_stat)?, wp_ticks()?);
            let ops = measure_with(port, test, pipeline, n, &extra)?;
            let (p1, w1) = (ticks(&proc_stat)?, wp_ticks()?);
            let per_cmd = |t: u64| format!("{:.2}", us_per_command(t, f64::from(n)));
            println!(
                "| {} | {} | {pipeline} | {} | {} | {ops:.0} |",
                bin.file_name()
                    .map_or_else(String::new, |f| f.to_string_lossy().into_owned()),
                test.to_uppercase(),
                per_cmd(p1 - p0),
                w0.zip(w1)
                    .map_or_else(|| "-".to_owned(), |(a, b)| per_cmd(b - a)),
            );
        }
        drop(guard);
        let _ = std::fs::remove_dir_all(&dir);
    }
    Ok(())
}
