//! `cargo xtask bench`: rocksync-master and Debian's redis-server
//! (appendonly yes, appendfsync everysec) side by side on loopback, and
//! Apache Kvrocks when given (`--kvrocks BIN`), measured with
//! `redis-benchmark -c 50 -n 200000` for SET, GET, INCR, LPUSH, HSET,
//! ZADD at `-P 1` and `-P 16`, interleaved: each row runs against Redis,
//! then rocksync, then Kvrocks, each measurement starting once every
//! server has settled, with each server's CPU per command.

use std::process::Command;

use anyhow::{bail, ensure, Context, Result};

use crate::procs::{free_port, start};

const TESTS: &[&str] = &["set", "get", "incr", "lpush", "hset", "zadd"];

/// Requests per second of one redis-benchmark run, with extra
/// redis-benchmark arguments (`-r`, `-d`, …).
pub(crate) fn measure_with(
    port: u16,
    test: &str,
    pipeline: u32,
    requests: u32,
    extra: &[&str],
) -> Result<f64> {
    let out = Command::new("redis-benchmark")
        .args([
            "-h",
            "127.0.0.1",
            "-p",
            &port.to_string(),
            "-c",
            "50",
            "-n",
            &requests.to_string(),
        ])
        .args(["-P", &pipeline.to_string(), "-t", test, "--csv"])
        .args(extra)
        .output()
        .context("redis-benchmark (apt-get install redis-tools)")?;
    let text = String::from_utf8_lossy(&out.stdout);
    // "test","rps",...  then  "SET","123456.78",...
    let line = text
        .lines()
        .find(|l| l.to_ascii_lowercase().starts_with(&format!("\"{test}")))
        .with_context(|| format!("no result for {test} in: {text}"))?;
    let rps = line
        .split(',')
        .nth(1)
        .map(|f| f.trim_matches('"'))
        .context("rps column")?;
    Ok(rps.parse()?)
}

/// Requests per second of redis-benchmark running `cmd` (its words; a
/// `__rand_int__` in them takes `-r`'s values), as [`measure_with`].
///
/// # Errors
/// redis-benchmark missing or printing no result.
pub(crate) fn measure_command(
    port: u16,
    pipeline: u32,
    requests: u32,
    extra: &[&str],
    cmd: &[&str],
) -> Result<f64> {
    let out = Command::new("redis-benchmark")
        .args(["-h", "127.0.0.1", "-p", &port.to_string(), "-c", "50"])
        .args(["-n", &requests.to_string(), "-P", &pipeline.to_string()])
        .arg("--csv")
        .args(extra)
        .args(cmd)
        .output()
        .context("redis-benchmark (apt-get install redis-tools)")?;
    let text = String::from_utf8_lossy(&out.stdout);
    // a header line ("test","rps",...), then the command's own line
    // (a warning may come first: Kvrocks has no CONFIG GET save)
    let rps = text
        .lines()
        .skip_while(|l| !l.starts_with("\"test\""))
        .nth(1)
        .and_then(|l| l.split("\",\"").nth(1))
        .with_context(|| {
            format!(
                "no result for {cmd:?} on port {port} in: {text} {}",
                String::from_utf8_lossy(&out.stderr)
            )
        })?;
    Ok(rps.trim_matches('"').parse()?)
}

/// redis-server (appendonly yes, appendfsync everysec) and
/// rocksync-master (binlog_fsync everysec) running side by side, killed
/// (and their data removed) when dropped.
pub(crate) struct Pair {
    pub redis_port: u16,
    pub ours_port: u16,
    /// What runs, for the table's heading.
    pub title: String,
    /// The servers (their pids, for CPU).
    pub redis: crate::procs::Guard,
    pub ours: crate::procs::Guard,
    tmp: std::path::PathBuf,
}

impl Pair {
    /// The directory holding both servers' data (`redis/`, `rocksync/`).
    pub fn dir(&self) -> &std::path::Path {
        &self.tmp
    }
}

impl Drop for Pair {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.tmp);
    }
}

/// Start the pair in a fresh temporary directory named after `what`.
pub(crate) fn start_pair(what: &str) -> Result<Pair> {
    let bins = crate::release_bins()?;
    let tmp = std::env::temp_dir().join(format!("rocksync-{what}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    std::fs::create_dir_all(tmp.join("redis"))?;
    let redis_port = free_port()?;
    let redis = start(&mut redis_cmd(redis_port, &tmp.join("redis")), redis_port)
        .context("redis-server (apt-get install redis-server)")?;
    let ours_port = free_port()?;
    let ours = start(
        &mut rocksync_cmd(
            &bins.join("rocksync-master"),
            ours_port,
            &tmp.join("rocksync"),
        ),
        ours_port,
    )?;
    Ok(Pair {
        redis_port,
        ours_port,
        title: format!(
            "redis-server {} (appendonly yes, appendfsync everysec) vs rocksync-master (binlog_fsync everysec)",
            redis_version()
        ),
        redis,
        ours,
        tmp,
    })
}

/// Run the comparison and print a markdown table. `--keyspace`: every
/// row over 1 M keys (`-r 1000000 -d 100`, keys loaded beforehand), MSET
/// added; `--sustained`: each row's rate over 8 s of a run that does not
/// end, after 2 s of warm-up (a 200 000-request run lasts about a
/// second, which a store's memtable absorbs before its flushes and
/// compactions start); `--base PATH`: another rocksync-master build
/// measured beside them (the step a change makes, in the same run);
/// `--kvrocks BIN`: Apache Kvrocks with the configuration shipped beside
/// it, as a column. Every rate comes with its server's CPU per command.
pub fn run(args: &[String]) -> Result<()> {
    let quick = args.iter().any(|a| a == "--quick");
    let keyspace =
        args.iter().any(|a| a == "--keyspace") || args.iter().any(|a| a == "--sustained");
    let sustained = args
        .iter()
        .any(|a| a == "--sustained")
        .then_some(if quick { 2 } else { 8 });
    let flag = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
    };
    let base = flag("--base").map(std::path::PathBuf::from);
    let requests = if quick { 20_000 } else { 200_000 };
    let pair = start_pair("bench")?;
    let base_server = match &base {
        Some(bin) => Some(start_rocksync(bin, "bench-base")?),
        None => None,
    };
    let kv = flag("--kvrocks")
        .map(|bin| crate::commands_bench::start_kvrocks(bin))
        .transpose()?;
    // Measured in this order on each row: redis-server, the base build,
    // this build, Kvrocks.
    let mut servers = vec![("redis-server", pair.redis_port, pair.redis.0.id())];
    servers.extend(
        base_server
            .as_ref()
            .map(|(g, port)| ("base", *port, g.0.id())),
    );
    servers.push(("rocksync", pair.ours_port, pair.ours.0.id()));
    servers.extend(kv.as_ref().map(|(_, g, port)| ("kvrocks", *port, g.id())));
    let ours = servers.iter().position(|s| s.0 == "rocksync").unwrap_or(0);
    let extra: &[&str] = if keyspace {
        &["-r", "1000000", "-d", "100"]
    } else {
        &[]
    };
    if keyspace {
        let load = if quick { 100_000 } else { 2_000_000 };
        for &(_, port, _) in &servers {
            measure_with(port, "set", 16, load, extra)?;
        }
    }
    let tests: &[&str] = if keyspace { KEYSPACE_TESTS } else { TESTS };
    let peers = servers.iter().map(|s| s.0).collect::<Vec<_>>().join(", ");
    match sustained {
        Some(secs) => println!(
            "redis-benchmark -c 50 {}, rate over {secs} s of a run that does not end (after 2 s), {}; servers {peers}; CPU is each server's, µs per command, until its flushes and compactions are done\n",
            extra.join(" "),
            pair.title
        ),
        None => println!(
            "redis-benchmark -c 50 -n {requests}{}, {}; servers {peers}; CPU is each server's, µs per command, until its flushes and compactions are done\n",
            extra.iter().map(|a| format!(" {a}")).collect::<String>(),
            pair.title
        ),
    }
    let mut head = vec!["test".to_owned(), "-P".to_owned()];
    for s in &servers {
        head.push(format!("{} ops/s", s.0));
        head.push("CPU".to_owned());
    }
    for s in servers.iter().filter(|s| s.0 != "rocksync") {
        head.push(format!("rocksync/{}", s.0));
    }
    println!("| {} |", head.join(" | "));
    println!("| --- | --- |{}", " ---: |".repeat(head.len() - 2));
    for pipeline in [1, 16] {
        for test in tests {
            let mut rows = Vec::new();
            for &(_, port, pid) in &servers {
                for &(_, port, _) in &servers {
                    settle(port)?;
                }
                rows.push(match sustained {
                    Some(secs) => measure_sustained(port, pid, test, pipeline, extra, secs)?,
                    None => {
                        let stat = std::path::PathBuf::from(format!("/proc/{pid}/stat"));
                        let t0 = crate::cpu_bench::process_ticks(&stat)?;
                        let rate = measure_with(port, test, pipeline, requests, extra)?;
                        // (with the flushes and compactions the run left,
                        // as the sustained rows count them)
                        settle(port)?;
                        let t1 = crate::cpu_bench::process_ticks(&stat)?;
                        (
                            rate,
                            crate::cpu_bench::us_per_command(t1 - t0, f64::from(requests)),
                        )
                    }
                });
            }
            let mut cells = vec![test.to_uppercase(), pipeline.to_string()];
            for r in &rows {
                cells.push(format!("{:.0}", r.0));
                cells.push(format!("{:.1}", r.1));
            }
            for (_, r) in rows.iter().enumerate().filter(|(i, _)| *i != ours) {
                cells.push(format!("{:.2}", rows[ours].0 / r.0));
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

/// Ops/s over `secs` seconds of a redis-benchmark run that does not end,
/// after 2 s of warm-up, counted by the server (INFO's
/// `total_commands_processed`), and the server's CPU (process `pid`) per
/// command: over those seconds and until the background work they left
/// is done (rocksync's compactions, which are threads, and redis-server's
/// AOF rewrite, a child counted once reaped).
fn measure_sustained(
    port: u16,
    pid: u32,
    test: &str,
    pipeline: u32,
    extra: &[&str],
    secs: u64,
) -> Result<(f64, f64)> {
    let mut bench = crate::procs::Guard(
        Command::new("redis-benchmark")
            .args(["-h", "127.0.0.1", "-p", &port.to_string(), "-c", "50"])
            .args([
                "-n",
                "2000000000",
                "-P",
                &pipeline.to_string(),
                "-t",
                test,
                "-q",
            ])
            .args(extra)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .context("redis-benchmark (apt-get install redis-tools)")?,
    );
    std::thread::sleep(std::time::Duration::from_secs(2));
    let stat = std::path::PathBuf::from(format!("/proc/{pid}/stat"));
    let commands = || -> Result<u64> {
        crate::repl_bench::info_field(port, "stats", "total_commands_processed")
            .and_then(|v| v.parse().ok())
            .with_context(|| format!("INFO stats from the server on {port}"))
    };
    let (c0, t0, start) = (
        commands()?,
        crate::cpu_bench::process_ticks(&stat)?,
        std::time::Instant::now(),
    );
    std::thread::sleep(std::time::Duration::from_secs(secs));
    let (c1, took) = (commands()?, start.elapsed());
    if let Some(status) = bench.0.try_wait()? {
        bail!("redis-benchmark {test} -P {pipeline} on {port} ended early: {status}");
    }
    ensure!(c1 > c0, "the server on {port} processed no {test} commands");
    drop(bench);
    settle(port)?;
    let t1 = crate::cpu_bench::process_ticks(&stat)?;
    let n = (c1 - c0) as f64;
    Ok((
        n / took.as_secs_f64(),
        crate::cpu_bench::us_per_command(t1 - t0, n),
    ))
}

/// Wait (up to 5 minutes, then warn and go on) until a server has no
/// background work left: rocksync no running flush or compaction and no
/// compaction pending, redis-server no AOF rewrite running or scheduled
/// and no RDB save (such as a replica's after its full sync). A
/// measurement that starts while another server (or an earlier row)
/// still compacts would be measured against that work.
///
/// # Errors
/// The server does not answer INFO.
pub(crate) fn settle(port: u16) -> Result<()> {
    const BUSY: [&str; 6] = [
        "rocksdb_running_flushes:",
        "rocksdb_running_compactions:",
        "rocksdb_pending_compaction_bytes:",
        "aof_rewrite_in_progress:",
        "aof_rewrite_scheduled:",
        "rdb_bgsave_in_progress:",
    ];
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(300);
    loop {
        let text = crate::repl_bench::call(port, &["INFO", "persistence"])
            .with_context(|| format!("INFO persistence from the server on {port}"))?;
        ensure!(
            text.contains("# Persistence"),
            "the server on {port} answered INFO with: {text}"
        );
        let fields: Vec<&str> = BUSY
            .iter()
            .filter_map(|f| text.lines().find_map(|l| l.strip_prefix(f)))
            .collect();
        let fields = if fields.is_empty() {
            kvrocks_busy(port)?
        } else {
            fields.into_iter().map(str::to_owned).collect()
        };
        if fields.is_empty() {
            // An older rocksync build without these fields: give it a
            // fixed while.
            std::thread::sleep(std::time::Duration::from_secs(5));
            return Ok(());
        }
        if fields.iter().all(|v| v.trim() == "0") {
            return Ok(());
        }
        if std::time::Instant::now() > deadline {
            eprintln!("the server on {port} is still busy after 5 minutes; measuring anyway");
            return Ok(());
        }
        std::thread::sleep(std::time::Duration::from_millis(500));
    }
}

/// Apache Kvrocks's background work, from its INFO rocksdb (its INFO
/// persistence has none of rocksync's and redis-server's fields):
/// running flushes and compactions, and whether either is pending; none
/// for a server that has no such fields.
fn kvrocks_busy(port: u16) -> Result<Vec<String>> {
    const BUSY: [&str; 4] = [
        "num_running_flushes:",
        "num_running_compactions:",
        "memtable_flush_pending:",
        "compaction_pending:",
    ];
    let text = crate::repl_bench::call(port, &["INFO", "rocksdb"])
        .with_context(|| format!("INFO rocksdb from the server on {port}"))?;
    Ok(BUSY
        .iter()
        .filter_map(|f| text.lines().find_map(|l| l.strip_prefix(f)))
        .map(str::to_owned)
        .collect())
}

/// The rows over a real keyspace (issue 12).
const KEYSPACE_TESTS: &[&str] = &["set", "get", "incr", "lpush", "hset", "zadd", "mset"];

/// Another rocksync-master build on its own port and data directory.
fn start_rocksync(bin: &std::path::Path, what: &str) -> Result<(crate::procs::Guard, u16)> {
    let dir = std::env::temp_dir().join(format!("rocksync-{what}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let port = free_port()?;
    let guard = start(&mut rocksync_cmd(bin, port, &dir), port)?;
    Ok((guard, port))
}

/// redis-server as the comparison peer: loopback, no RDB snapshots,
/// appendonly yes with appendfsync everysec, data in `dir` (which must
/// exist).
pub(crate) fn redis_cmd(port: u16, dir: &std::path::Path) -> Command {
    let mut c = Command::new("redis-server");
    c.args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
        .args([
            "--save",
            "",
            "--appendonly",
            "yes",
            "--appendfsync",
            "everysec",
        ])
        .arg("--dir")
        .arg(dir);
    c
}

/// A rocksync build `bin` (rocksync-master or rocksync-slave) as the
/// comparison runs it: binlog_fsync everysec, data in `dir`.
pub(crate) fn rocksync_cmd(bin: &std::path::Path, port: u16, dir: &std::path::Path) -> Command {
    let mut c = Command::new(bin);
    c.args(["--port", &port.to_string(), "--binlog-fsync", "everysec"])
        .arg("--data-dir")
        .arg(dir);
    c
}

/// The installed redis-server's version (`7.0.15`), or empty.
pub(crate) fn redis_version() -> String {
    Command::new("redis-server")
        .arg("--version")
        .output()
        .ok()
        .and_then(|o| {
            String::from_utf8_lossy(&o.stdout)
                .split_whitespace()
                .find_map(|w| w.strip_prefix("v=").map(str::to_owned))
        })
        .unwrap_or_default()
}
