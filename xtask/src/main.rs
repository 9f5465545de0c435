//! `cargo xtask`: the project's tasks, in Rust so they run wherever cargo
//! does (matklad/cargo-xtask).
//!
//! - `cargo xtask run`: build the servers and run a master and a slave
//!   on the embedded defaults, until Ctrl-C; `run --ha`: a master, two
//!   slaves and three Redis Sentinels.
//! - `cargo xtask ci`: rustfmt check, clippy (warnings are errors) and the
//!   test suite, in the release profile shared with benches and binaries.
//! - `cargo xtask bench [--keyspace | --sustained] [--base BIN]`:
//!   rocksync-master beside Debian's redis-server, measured with
//!   redis-benchmark in one interleaved run (over 1 M keys; for 8 s per
//!   row, with CPU per command).
//! - `cargo xtask bench repl`: full copy, lag and catch-up (SETs, then
//!   HSETs) beside a Redis replica.
//! - `cargo xtask bench cpu [BIN ...]`: CPU per command of each build,
//!   process (and write-path thread, where a build has one; steadier than
//!   ops/s on two cores).
//! - `cargo xtask bench commands`: issue 11's list, sorted-set, MSET and
//!   MULTI/EXEC rows beside redis-server.
//! - `cargo xtask bench failover`: promotion and a sibling's re-point beside
//!   Redis replicas; `bench ha`: failover through Sentinel beside
//!   redis-server, throughput through twemproxy.
//! - `cargo xtask bench costs [--kvrocks BIN] [--only append,...]`: commands Redis does in
//!   O(1) or O(log n) on large values (SPOP, ZPOPMIN after pops, RENAME
//!   of a large hash, APPEND to a 1 MB string, …) beside redis-server,
//!   with the log bytes each call adds.
//! - `cargo xtask bench disk [--kvrocks BIN] [--keys N] [--quick]`: data
//!   larger than the block cache (10 M random 100-byte values, 64 MiB of
//!   cache): load, random GET and SET, RSS and disk, beside Kvrocks.
//! - `cargo xtask bench backup [--quick]`: BGSAVE of 1 M keys and a
//!   start from that backup (rocksync: `--restore-from`, then the node;
//!   redis-server: loading its RDB) beside redis-server.
//! - `cargo xtask bench follow [--quick]`: a replica of a live
//!   redis-server holding 1 M keys, redis-server's own beside a rocksync
//!   node: full sync, the stream under SET -P 16, CPU per command.
//! - `cargo xtask bench sync [--quick]`: SET with `sync-replicas 1` against
//!   0 on one master-slave pair, beside Redis with `WAIT 1 0` after each SET.
//! - `cargo xtask bench fanout [--quick]`: a master's throughput with eight
//!   followers against none, and its RSS over a dataset ten times
//!   rocksync's block cache, beside redis-server and its replicas.

mod backup_bench;
mod bench;
mod commands_bench;
mod costs_bench;
mod cpu_bench;
mod disk_bench;
mod failover_bench;
mod fanout_bench;
mod follow_bench;
mod ha_bench;
mod procs;
mod repl_bench;
mod sync_bench;
mod tidy;
mod tls_bench;

use std::path::PathBuf;
use std::process::Command;

use anyhow::{bail, Context, Result};

/// The test command README.md gives and CI runs.
const TEST_ARGS: &[&str] = &["test", "--release", "--workspace"];

/// The value after flag `name` in `args` (`--kvrocks BIN`).
fn flag_value<'a>(args: &'a [String], name: &str) -> Option<&'a str> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .map(String::as_str)
}

/// Run cargo with `args` in the workspace root.
pub fn cargo(args: &[&str]) -> Result<()> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    eprintln!("$ cargo {}", args.join(" "));
    let status = Command::new(&cargo)
        .args(args)
        .current_dir(tidy::workspace_root())
        .status()
        .with_context(|| format!("running {cargo}"))?;
    if !status.success() {
        bail!("cargo {} failed: {status}", args.join(" "));
    }
    Ok(())
}

/// Build the release binaries and return the directory holding them.
pub fn release_bins() -> Result<PathBuf> {
    cargo(&["build", "--release", "--workspace", "--bins"])?;
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let out = Command::new(cargo)
        .args(["metadata", "--format-version", "1", "--no-deps"])
        .current_dir(tidy::workspace_root())
        .output()
        .context("cargo metadata")?;
    let text = String::from_utf8_lossy(&out.stdout);
    let key = "\"target_directory\":\"";
    let start = text
        .find(key)
        .context("target_directory in cargo metadata")?
        + key.len();
    let end = text[start..]
        .find('"')
        .context("target_directory in cargo metadata")?;
    Ok(PathBuf::from(&text[start..start + end]).join("release"))
}

fn ci() -> Result<()> {
    cargo(&["fmt", "--all", "--", "--check"])?;
    cargo(&[
        "clippy",
        "--release",
        "--workspace",
        "--all-targets",
        "--",
        "-D",
        "warnings",
    ])?;
    cargo(TEST_ARGS)
}

/// `cargo xtask run --ha`: a master (8888), two slaves (8889, 8890) and
/// three Sentinels (26379-26381) on loopback, data in ./data.
fn run_ha() -> Result<()> {
    let bins = release_bins()?;
    let data = std::env::current_dir()?.join("data");
    std::fs::create_dir_all(&data)?;
    let mut children = Vec::new();
    let nodes = [
        ("rocksync-master", 8888, "master", None),
        ("rocksync-slave", 8889, "slave1", Some("127.0.0.1:8888")),
        ("rocksync-slave", 8890, "slave2", Some("127.0.0.1:8888")),
    ];
    for (bin, port, dir, master) in nodes {
        let mut c = Command::new(bins.join(bin));
        c.args(["--port", &port.to_string(), "--data-dir"])
            .arg(data.join(dir))
            .args(["--config"])
            .arg(data.join(format!("{dir}.toml")));
        if !data.join(format!("{dir}.toml")).exists() {
            let mut text = String::new();
            if let Some(m) = master {
                text = format!("master_addr = \"{m}\"\n");
            }
            std::fs::write(data.join(format!("{dir}.toml")), text)?;
        }
        eprintln!("starting {bin} on {port}");
        children.push(c.spawn().with_context(|| format!("starting {bin}"))?);
        std::thread::sleep(std::time::Duration::from_millis(300));
    }
    for port in 26379..26382u16 {
        let conf = data.join(format!("sentinel-{port}.conf"));
        if !conf.exists() {
            std::fs::write(&conf, rocksync_testkit::sentinel_conf(port, &data, 8888))?;
        }
        eprintln!("starting redis-sentinel on {port}");
        children.push(
            Command::new("redis-sentinel")
                .arg(&conf)
                .spawn()
                .context("redis-sentinel (apt-get install redis-sentinel)")?,
        );
    }
    eprintln!(
        "\nWatch the group:  redis-cli -p 26379 sentinel get-master-addr-by-name rocksync\n\
         Kill the master:  kill -9 $(pgrep -f 'rocksync-master --port 8888')\n\
         About 3 s later Sentinel names the promoted slave; the other follows it.\n\
         Ctrl-C stops everything.\n"
    );
    for mut c in children {
        c.wait()?;
    }
    Ok(())
}

fn run() -> Result<()> {
    let bins = release_bins()?;
    let mut children = Vec::new();
    for name in ["rocksync-master", "rocksync-slave"] {
        let path = bins.join(name);
        if !path.exists() {
            continue;
        }
        eprintln!("starting {name} (Ctrl-C stops it)");
        children.push(
            Command::new(&path)
                .spawn()
                .with_context(|| format!("starting {}", path.display()))?,
        );
        // Let the master listen before a slave dials it.
        std::thread::sleep(std::time::Duration::from_millis(300));
    }
    for mut c in children {
        c.wait()?;
    }
    Ok(())
}

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("ci") => ci(),
        Some("run") if args.get(1).map(String::as_str) == Some("--ha") => run_ha(),
        Some("run") => run(),
        Some("bench") if args.get(1).map(String::as_str) == Some("repl") => {
            let quick = args.iter().any(|a| a == "--quick");
            let (keys, behind) = if quick {
                (100_000, 100_000)
            } else {
                (1_000_000, 1_000_000)
            };
            repl_bench::run(&release_bins()?, keys, behind)
        }
        Some("bench") if args.get(1).map(String::as_str) == Some("failover") => {
            let quick = args.iter().any(|a| a == "--quick");
            failover_bench::run(&release_bins()?, if quick { 100_000 } else { 1_000_000 })
        }
        Some("bench") if args.get(1).map(String::as_str) == Some("fanout") => {
            fanout_bench::run(&release_bins()?, args.iter().any(|a| a == "--quick"))
        }
        Some("bench") if args.get(1).map(String::as_str) == Some("ha") => {
            ha_bench::run(&release_bins()?)
        }
        Some("bench") if args.get(1).map(String::as_str) == Some("cpu") => cpu_bench::run(&args[2..]),
        Some("bench") if args.get(1).map(String::as_str) == Some("tls") => {
            tls_bench::run(args.iter().any(|a| a == "--quick"))
        }
        Some("bench") if args.get(1).map(String::as_str) == Some("sync") => {
            sync_bench::run(&release_bins()?, args.iter().any(|a| a == "--quick"))
        }
        Some("bench") if args.get(1).map(String::as_str) == Some("backup") => {
            backup_bench::run(args.iter().any(|a| a == "--quick"))
        }
        Some("bench") if args.get(1).map(String::as_str) == Some("follow") => {
            follow_bench::run(args.iter().any(|a| a == "--quick"))
        }
        Some("bench") if args.get(1).map(String::as_str) == Some("costs") => {
            let only: Option<Vec<String>> = flag_value(&args, "--only")
                .map(|list| list.split(',').map(str::to_lowercase).collect());
            costs_bench::run(
                args.iter().any(|a| a == "--quick"),
                flag_value(&args, "--kvrocks"),
                only.as_deref(),
            )
        }
        Some("bench") if args.get(1).map(String::as_str) == Some("disk") => {
            let keys = flag_value(&args, "--keys")
                .map(|n| n.parse().context("--keys takes a number"))
                .transpose()?;
            disk_bench::run(
                flag_value(&args, "--kvrocks"),
                keys,
                args.iter().any(|a| a == "--quick"),
            )
        }
        Some("bench") if args.get(1).map(String::as_str) == Some("commands") => {
            let kvrocks = flag_value(&args, "--kvrocks");
            let only: Option<Vec<String>> = flag_value(&args, "--only")
                .map(|list| list.split(',').map(str::to_lowercase).collect());
            commands_bench::run(args.iter().any(|a| a == "--quick"), kvrocks, only.as_deref())
        }
        Some("bench") => bench::run(&args[1..]),
        _ => bail!("usage: cargo xtask <run [--ha] | ci | bench [--keyspace | --sustained] [--base BIN] [--kvrocks BIN] [repl | failover | fanout | ha | sync | tls | commands [--kvrocks BIN] [--only xadd,...] | costs [--kvrocks BIN] [--only append,...] | disk [--kvrocks BIN] [--keys N] | backup | follow | cpu] [--quick]>"),
    }
}
