//! `cargo xtask bench fanout [--quick]`: the performance issue's fan-out
//! and memory rows, rocksync beside Debian's redis-server (appendonly yes,
//! appendfsync everysec) in one run.
//!
//! (1) A master's SET throughput (`redis-benchmark -c 50 -P 16 -r 1000000
//! -d 100 -t set`, over 1 M loaded keys) with eight followers in sync
//! under the same load, as a ratio to the same master with none (measured
//! before the followers start and again after they stop; the mean of the
//! two). Each follower must then catch up with the master (a bounded wait;
//! the bench fails if one does not). Beside the rates, the master's own
//! CPU per SET, alone and followed (until its followers have caught up
//! and it has settled): what followers cost the master itself, apart from
//! the cores they take from it on a shared machine. (2) The master's RSS with a dataset at
//! least ten times rocksync's RocksDB block cache: after loading it, and
//! the largest sampled every 100 ms during a SET load and a GET load over
//! the keyspace; rocksync-master runs with `--block-cache-mb 32`.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{anyhow, ensure, Context, Result};

use crate::bench::{measure_with, redis_cmd, redis_version, rocksync_cmd, settle};
use crate::cpu_bench::{process_ticks, us_per_command};
use crate::procs::{free_port, start as spawn_server, Guard};
use crate::repl_bench::{info_field, load, num, redis_synced, rocksync_synced, wait_for};

/// Followers per master in the fan-out row.
const FOLLOWERS: usize = 8;
/// Longest wait for followers' full syncs.
const WAIT: Duration = Duration::from_secs(600);
/// Longest wait for a follower to catch up after the load.
const CATCH_UP: Duration = Duration::from_secs(300);
/// Longest a SET load may run before its server is killed.
const SET_LOAD_LIMIT: Duration = Duration::from_secs(600);
/// Longest a key load may run before its server is killed.
const KEY_LOAD_LIMIT: Duration = Duration::from_secs(3600);
/// The redis-benchmark arguments beyond `-c 50 -n N -P 16 -t set`.
const EXTRA: &[&str] = &["-r", "1000000", "-d", "100"];
/// Bytes of one loaded key and its value (`key:%012d`, 100 B).
const ENTRY_BYTES: u64 = 16 + 100;
/// rocksync's block cache in the memory row, MiB.
const BLOCK_CACHE_MB: u64 = 32;
const MIB: f64 = (1 << 20) as f64;

/// The two servers compared.
#[derive(Clone, Copy, PartialEq)]
enum Server {
    Redis,
    Rocksync,
}

impl Server {
    fn name(self) -> &'static str {
        match self {
            Server::Redis => "redis-server",
            Server::Rocksync => "rocksync-master",
        }
    }

    /// A master (`master` None) or a follower of `master`, with data in
    /// `dir`.
    fn cmd(self, bins: &Path, port: u16, dir: &Path, master: Option<u16>) -> Result<Command> {
        std::fs::create_dir_all(dir)?;
        Ok(match (self, master) {
            (Server::Redis, m) => {
                let mut c = redis_cmd(port, dir);
                c.args(["--repl-diskless-sync-delay", "0"]);
                if let Some(m) = m {
                    c.args(["--replicaof", "127.0.0.1", &m.to_string()]);
                }
                c
            }
            (Server::Rocksync, None) => rocksync_cmd(&bins.join("rocksync-master"), port, dir),
            (Server::Rocksync, Some(m)) => {
                let mut c = rocksync_cmd(&bins.join("rocksync-slave"), port, dir);
                c.args(["--master-addr", &format!("127.0.0.1:{m}")]);
                c
            }
        })
    }

    fn synced(self, master: u16, follower: u16) -> bool {
        match self {
            Server::Redis => redis_synced(master, follower),
            Server::Rocksync => rocksync_synced(master, follower),
        }
    }

    /// The follower's replication position and the master's, the
    /// master's read first (a Redis master's offset also grows with its
    /// pings, so a follower may be ahead of the earlier reading, never
    /// behind it once caught up).
    fn positions(self, master: u16, follower: u16) -> (u64, u64) {
        let field = match self {
            Server::Redis => "slave_repl_offset",
            Server::Rocksync => "last_seq",
        };
        let head = num(master, "replication", "master_repl_offset");
        (num(follower, "replication", field), head)
    }
}

/// Resident set size of process `pid` in bytes (`VmRSS`).
fn rss_bytes(pid: u32) -> Result<u64> {
    let path = format!("/proc/{pid}/status");
    let text = std::fs::read_to_string(&path).with_context(|| path.clone())?;
    let kb = text
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .with_context(|| format!("VmRSS in {path}"))?;
    Ok(kb * 1024)
}

/// Run `job` on its own thread while sampling `server`'s RSS every 100 ms;
/// its result and the largest RSS seen. A job still running after `limit`
/// has its server killed (which ends it) and is an error.
fn sampled<T: Send>(
    server: &mut Guard,
    limit: Duration,
    job: impl FnOnce() -> Result<T> + Send,
) -> Result<(T, u64)> {
    let pid = server.0.id();
    let start = Instant::now();
    std::thread::scope(|s| {
        let job = s.spawn(job);
        let mut max = 0;
        let mut timed_out = false;
        while !job.is_finished() {
            max = max.max(rss_bytes(pid).unwrap_or(0));
            if start.elapsed() > limit && !timed_out {
                timed_out = true;
                let _ = server.0.kill();
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let out = job
            .join()
            .map_err(|_| anyhow!("the load's thread panicked"))?;
        ensure!(
            !timed_out,
            "the load ran longer than {limit:?}; its server was killed"
        );
        Ok((out?, max.max(rss_bytes(pid).unwrap_or(0))))
    })
}

/// One SET load against `port` (whose process is `server`): ops/s and the
/// server's largest RSS during it.
fn set_load(server: &mut Guard, port: u16, requests: u32) -> Result<(f64, u64)> {
    load_sampled(server, port, "set", requests, EXTRA)
}

/// One redis-benchmark `test` against `port` (whose process is `server`):
/// ops/s and the server's largest RSS during it.
fn load_sampled(
    server: &mut Guard,
    port: u16,
    test: &str,
    requests: u32,
    extra: &[&str],
) -> Result<(f64, u64)> {
    sampled(server, SET_LOAD_LIMIT, || {
        measure_with(port, test, 16, requests, extra)
    })
}

/// One SET load's measurements on a master.
#[derive(Clone, Copy, Default)]
struct Run {
    ops: f64,
    /// Largest RSS during the load.
    rss: u64,
    /// The master's CPU per SET, microseconds: from the load's start until
    /// its followers have caught up and it has settled (rocksync's
    /// compactions, redis-server's reaped AOF rewrite counted).
    cpu_us: f64,
}

/// A master with its measurements.
struct Master {
    server: Server,
    port: u16,
    guard: Guard,
    /// The runs without followers.
    alone: Vec<Run>,
    /// The run with the followers.
    followed: Run,
    /// Time for all followers to be in sync after they start.
    full_sync: Duration,
    /// Time after the load until every follower had caught up, and the
    /// position they all reached.
    catch_up: (Duration, u64),
}

impl Master {
    /// The master's CPU ticks so far, its reaped children's included.
    fn ticks(&self) -> Result<u64> {
        process_ticks(Path::new(&format!("/proc/{}/stat", self.guard.0.id())))
    }

    fn measure_alone(&mut self, requests: u32) -> Result<()> {
        let t0 = self.ticks()?;
        let (ops, rss) = set_load(&mut self.guard, self.port, requests)?;
        settle(self.port)?;
        let cpu_us = us_per_command(self.ticks()? - t0, f64::from(requests));
        self.alone.push(Run { ops, rss, cpu_us });
        Ok(())
    }

    /// Start the followers, wait until each is in sync, measure the load,
    /// wait until each has caught up, and stop them.
    fn measure_followed(&mut self, bins: &Path, tmp: &Path, requests: u32) -> Result<()> {
        let (server, port) = (self.server, self.port);
        let start = Instant::now();
        let mut followers = Vec::new();
        for i in 0..FOLLOWERS {
            let p = free_port()?;
            let dir = tmp.join(format!("{}-follower{i}", server.name()));
            let guard = spawn_server(&mut server.cmd(bins, p, &dir, Some(port))?, p)
                .with_context(|| format!("{} follower {i}", server.name()))?;
            followers.push((guard, p));
        }
        for (_, p) in &followers {
            wait_for(&format!("follower on {p} in sync"), WAIT, || {
                server.synced(port, *p)
            })?;
        }
        self.full_sync = start.elapsed();
        let connected = num(port, "replication", "connected_slaves");
        ensure!(
            connected == FOLLOWERS as u64,
            "{} reports {connected} connected followers, not {FOLLOWERS}",
            server.name()
        );
        // Measure the followers' steady cost, not what their full syncs
        // leave behind (compactions, an AOF rewrite).
        for (_, p) in &followers {
            settle(*p)?;
        }
        settle(port)?;
        let t0 = self.ticks()?;
        let (ops, rss) = set_load(&mut self.guard, port, requests)?;
        let start = Instant::now();
        for (_, p) in &followers {
            wait_for(&format!("follower on {p} to catch up"), CATCH_UP, || {
                server.synced(port, *p)
            })
            .with_context(|| {
                let (at, head) = server.positions(port, *p);
                format!(
                    "{} follower on {p} did not catch up: at {at}, master at {head}",
                    server.name()
                )
            })?;
        }
        let elapsed = start.elapsed();
        let head = num(port, "replication", "master_repl_offset");
        for (_, p) in &followers {
            let (at, head) = server.positions(port, *p);
            // A Redis master's offset also moves with its pings.
            ensure!(
                at == head || (server == Server::Redis && at >= head),
                "{} follower on {p} at {at} after catching up, master at {head}",
                server.name()
            );
        }
        self.catch_up = (elapsed, head);
        settle(port)?;
        let cpu_us = us_per_command(self.ticks()? - t0, f64::from(requests));
        self.followed = Run { ops, rss, cpu_us };
        drop(followers);
        wait_for("the followers to disconnect", WAIT, || {
            num(port, "replication", "connected_slaves") == 0
        })?;
        Ok(())
    }
}

/// Row (1): each master alone, then with its followers (Redis's, then
/// rocksync's), then alone again.
fn fanout(bins: &Path, tmp: &Path, keys: u64, requests: u32) -> Result<()> {
    let mut masters = Vec::new();
    for server in [Server::Redis, Server::Rocksync] {
        let port = free_port()?;
        let dir = tmp.join(format!("{}-master", server.name()));
        let guard = spawn_server(&mut server.cmd(bins, port, &dir, None)?, port)
            .with_context(|| server.name())?;
        eprintln!("loading {keys} keys into {}", server.name());
        load(port, keys, "key")?;
        masters.push(Master {
            server,
            port,
            guard,
            alone: Vec::new(),
            followed: Run::default(),
            full_sync: Duration::ZERO,
            catch_up: (Duration::ZERO, 0),
        });
    }
    // Every run starts with both masters settled: neither measured against
    // the other's compactions or AOF rewrite.
    let settle_all =
        |masters: &[Master]| -> Result<()> { masters.iter().try_for_each(|m| settle(m.port)) };
    for i in 0..masters.len() {
        settle_all(&masters)?;
        masters[i].measure_alone(requests)?;
    }
    for i in 0..masters.len() {
        settle_all(&masters)?;
        eprintln!(
            "{}: starting {FOLLOWERS} followers",
            masters[i].server.name()
        );
        masters[i].measure_followed(bins, tmp, requests)?;
    }
    for i in 0..masters.len() {
        settle_all(&masters)?;
        masters[i].measure_alone(requests)?;
    }

    println!(
        "### Master throughput with {FOLLOWERS} followers: redis-benchmark -c 50 -n {requests} -P 16 {} -t set, after {keys} keys loaded\n",
        EXTRA.join(" ")
    );
    println!("| master | followers | none ops/s (before, after) | {FOLLOWERS} followers ops/s | with {FOLLOWERS} / none | master CPU µs per SET (none, {FOLLOWERS} followers) | master max RSS MiB (none before, {FOLLOWERS}, none after) | all in sync after start | all caught up after the load |");
    println!("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
    for m in &masters {
        let mean = |f: fn(&Run) -> f64| m.alone.iter().map(f).sum::<f64>() / m.alone.len() as f64;
        let (none, none_cpu) = (mean(|r| r.ops), mean(|r| r.cpu_us));
        let (followers, unit) = match m.server {
            Server::Redis => ("Redis replicas", "offset"),
            Server::Rocksync => ("rocksync-slaves", "seq"),
        };
        println!(
            "| {} | {FOLLOWERS} {followers} | {none:.0} ({}) | {:.0} | {:.2} | {none_cpu:.2}, {:.2} | {} | {:.1} s | {FOLLOWERS}/{FOLLOWERS} in {:.2} s, at {unit} {} |",
            m.server.name(),
            m.alone
                .iter()
                .map(|r| format!("{:.0}", r.ops))
                .collect::<Vec<_>>()
                .join(", "),
            m.followed.ops,
            m.followed.ops / none,
            m.followed.cpu_us,
            [m.alone[0].rss, m.followed.rss, m.alone[1].rss]
                .map(|b| format!("{:.0}", b as f64 / MIB))
                .join(", "),
            m.full_sync.as_secs_f64(),
            m.catch_up.0.as_secs_f64(),
            m.catch_up.1,
        );
    }
    println!();
    Ok(())
}

/// Row (2): each master alone on fresh data, `keys` loaded, then the SET
/// load; RSS after the key load and the largest during the SET load.
fn memory(bins: &Path, tmp: &Path, keys: u64, requests: u32) -> Result<()> {
    let cache = BLOCK_CACHE_MB << 20;
    let dataset = keys * ENTRY_BYTES;
    // The loads draw from every loaded key: the working set is the dataset.
    let range = keys.to_string();
    let extra = ["-r", range.as_str(), "-d", "100"];
    let mut rows = Vec::new();
    for server in [Server::Rocksync, Server::Redis] {
        let port = free_port()?;
        let dir = tmp.join(format!("{}-memory", server.name()));
        let mut cmd = server.cmd(bins, port, &dir, None)?;
        if server == Server::Rocksync {
            cmd.args(["--block-cache-mb", &BLOCK_CACHE_MB.to_string()]);
        }
        let mut guard = spawn_server(&mut cmd, port).with_context(|| server.name())?;
        eprintln!("loading {keys} keys into {}", server.name());
        let ((), load_max) = sampled(&mut guard, KEY_LOAD_LIMIT, || load(port, keys, "key"))?;
        let after = rss_bytes(guard.0.id())?;
        let (_, set_max) = load_sampled(&mut guard, port, "set", requests, &extra)?;
        let (_, get_max) = load_sampled(&mut guard, port, "get", requests, &extra)?;
        let set_max = set_max.max(get_max);
        let note = match server {
            Server::Rocksync => [
                "used_memory_rss",
                "used_memory",
                "rocksdb_memtables_bytes",
                "rocksdb_block_cache_bytes",
                "rocksdb_table_readers_bytes",
                "rocksdb_sst_bytes",
            ]
            .iter()
            .map(|f| {
                let v: f64 = info_field(port, "memory", f)
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(0.0);
                format!("{f} {:.0} MiB", v / MIB)
            })
            .collect::<Vec<_>>()
            .join(", "),
            Server::Redis => format!(
                "used_memory {:.0} MiB",
                num(port, "memory", "used_memory") as f64 / MIB
            ),
        };
        rows.push((server, load_max, after, set_max, note));
        drop(guard);
    }
    let (ours_after, ours_max) = (rows[0].2, rows[0].3);
    let (redis_after, redis_max) = (rows[1].2, rows[1].3);
    println!(
        "### Master RSS: {keys} keys × 100 B ({:.0} MiB, {:.1}× rocksync's {:.0} MiB block cache), then redis-benchmark -c 50 -n {requests} -P 16 {} -t set, then -t get\n",
        dataset as f64 / MIB,
        dataset as f64 / cache as f64,
        cache as f64 / MIB,
        extra.join(" ")
    );
    println!("| master | dataset MiB | block cache MiB | max RSS during key load MiB | RSS after load MiB | max RSS during SET and GET loads MiB | rocksync / redis RSS (after load, SET/GET loads) |");
    println!("| --- | ---: | ---: | ---: | ---: | ---: | ---: |");
    for (server, load_max, after, set_max, _) in &rows {
        let (cache_col, ratio) = match server {
            Server::Rocksync => (
                format!("{:.0}", cache as f64 / MIB),
                format!(
                    "{:.2}, {:.2}",
                    ours_after as f64 / redis_after as f64,
                    ours_max as f64 / redis_max as f64
                ),
            ),
            Server::Redis => ("—".to_owned(), String::new()),
        };
        println!(
            "| {} | {:.0} | {cache_col} | {:.0} | {:.0} | {:.0} | {ratio} |",
            server.name(),
            dataset as f64 / MIB,
            *load_max as f64 / MIB,
            *after as f64 / MIB,
            *set_max as f64 / MIB,
        );
    }
    println!();
    for (server, _, _, _, note) in &rows {
        println!("{} INFO memory after the loads: {note}  ", server.name());
    }
    println!();
    Ok(())
}

/// The scratch directory, removed when dropped (after the servers in it,
/// which are declared later and so dropped first).
struct Scratch(std::path::PathBuf);

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Run both rows and print markdown tables. `--quick`: 100 k keys and
/// 50 k SETs for row (1), 300 k keys for row (2) (not 10× the cache).
pub fn run(bins: &Path, quick: bool) -> Result<()> {
    let tmp = Scratch(std::env::temp_dir().join(format!("rocksync-fanout-{}", std::process::id())));
    let _ = std::fs::remove_dir_all(&tmp.0);
    std::fs::create_dir_all(&tmp.0)?;
    let cache = BLOCK_CACHE_MB << 20;
    let (keys, requests, memory_keys) = if quick {
        (100_000, 50_000, 300_000)
    } else {
        // At least ten times the block cache, rounded up to 100 k keys.
        let keys = (10 * cache).div_ceil(ENTRY_BYTES).div_ceil(100_000) * 100_000;
        (1_000_000, 200_000, keys)
    };
    println!(
        "<!-- cargo xtask bench fanout{}: redis-server {} (appendonly yes, appendfsync everysec) vs rocksync (binlog_fsync everysec) -->\n",
        if quick { " --quick" } else { "" },
        redis_version()
    );
    fanout(bins, &tmp.0, keys, requests)?;
    memory(bins, &tmp.0, memory_keys, requests)
}
