//! INFO in Redis's format: `# Section` headers, `key:value` lines, CRLF.

use std::fmt::Write;
use std::sync::atomic::Ordering;

use bytes::Bytes;

use crate::role::{split_addr, Role};
use crate::state::Core;

/// The Redis version clients are told (the command set we follow).
pub const REDIS_VERSION: &str = "7.0.0";

const SECTIONS: &[&str] = &[
    "server",
    "clients",
    "memory",
    "persistence",
    "stats",
    "replication",
    "cpu",
    "modules",
    "commandstats",
    "errorstats",
    "latencystats",
    "cluster",
    "keyspace",
];

/// The sections INFO gives only when asked by name, `all` or
/// `everything` (not by default), as Redis.
const NOT_DEFAULT: &[&str] = &["commandstats", "latencystats"];

fn human(bytes: u64) -> String {
    let units = ["B", "K", "M", "G", "T"];
    let mut v = bytes as f64;
    let mut u = 0;
    while v >= 1024.0 && u + 1 < units.len() {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{bytes}B")
    } else {
        format!("{v:.2}{}", units[u])
    }
}

/// Render the sections asked for (none, `all`, `default`, `everything`:
/// every section).
pub fn render(core: &Core, args: &[Bytes]) -> String {
    let wanted: Vec<String> = args
        .iter()
        .map(|a| String::from_utf8_lossy(a).to_lowercase())
        .collect();
    let everything = wanted
        .iter()
        .any(|w| matches!(w.as_str(), "all" | "everything"));
    let default = wanted.is_empty() || wanted.iter().any(|w| w == "default");
    let mut out = String::new();
    for s in SECTIONS {
        if everything || (default && !NOT_DEFAULT.contains(s)) || wanted.iter().any(|w| w == s) {
            if !out.is_empty() {
                out.push_str("\r\n");
            }
            section(core, s, &mut out);
        }
    }
    out
}

macro_rules! line {
    ($out:expr, $($arg:tt)*) => {{
        let _ = write!($out, $($arg)*);
        $out.push_str("\r\n");
    }};
}

fn section(core: &Core, name: &str, out: &mut String) {
    let cfg = core.config();
    let store = &core.store;
    match name {
        "server" => {
            out.push_str("# Server\r\n");
            line!(out, "redis_version:{REDIS_VERSION}");
            line!(out, "rocksync_version:{}", env!("CARGO_PKG_VERSION"));
            line!(out, "redis_mode:standalone");
            line!(
                out,
                "os:{} {}",
                std::env::consts::OS,
                std::env::consts::ARCH
            );
            line!(out, "arch_bits:64");
            line!(out, "process_id:{}", std::process::id());
            line!(out, "run_id:{}", core.run_id);
            line!(out, "tcp_port:{}", cfg.port);
            let up = core.started.elapsed().as_secs();
            line!(out, "uptime_in_seconds:{up}");
            line!(out, "uptime_in_days:{}", up / 86400);
        }
        "clients" => {
            out.push_str("# Clients\r\n");
            line!(
                out,
                "connected_clients:{}",
                // (Redis counts its replicas apart: connected_slaves)
                core.stats
                    .connected
                    .load(Ordering::Relaxed)
                    .saturating_sub(core.clients.replicas())
            );
            line!(out, "maxclients:{}", cfg.maxclients);
            line!(out, "blocked_clients:{}", core.engine.blocked.len());
            line!(out, "tracking_clients:{}", core.engine.tracking.clients());
        }
        "memory" => {
            out.push_str("# Memory\r\n");
            let memtables = store.int_property("rocksdb.cur-size-all-mem-tables");
            let readers = store.int_property("rocksdb.estimate-table-readers-mem");
            // One cache for every column family: a database-wide figure.
            let cache = store.db_property("rocksdb.block-cache-usage");
            let capacity = store.db_property("rocksdb.block-cache-capacity");
            let used = memtables + readers + cache;
            let rss = rss_bytes();
            line!(out, "used_memory:{used}");
            line!(out, "used_memory_human:{}", human(used));
            line!(out, "used_memory_rss:{rss}");
            line!(out, "used_memory_rss_human:{}", human(rss));
            line!(out, "rocksdb_block_cache_capacity:{capacity}");
            line!(out, "rocksdb_memtables_bytes:{memtables}");
            line!(out, "rocksdb_block_cache_bytes:{cache}");
            line!(out, "rocksdb_table_readers_bytes:{readers}");
            line!(
                out,
                "rocksdb_sst_bytes:{}",
                store.int_property("rocksdb.total-sst-files-size")
            );
        }
        "persistence" => {
            out.push_str("# Persistence\r\n");
            line!(out, "loading:{}", u8::from(core.is_loading()));
            line!(out, "binlog_fsync:{}", cfg.binlog_fsync);
            line!(out, "rocksdb_wal:{}", u8::from(store.wal()));
            // Background work RocksDB still owes (what a benchmark waits
            // out before it measures).
            line!(
                out,
                "rocksdb_running_flushes:{}",
                store.db_property("rocksdb.num-running-flushes")
            );
            line!(
                out,
                "rocksdb_running_compactions:{}",
                store.db_property("rocksdb.num-running-compactions")
            );
            line!(
                out,
                "rocksdb_pending_compaction_bytes:{}",
                store.int_property("rocksdb.estimate-pending-compaction-bytes")
            );
            let applied = store.applied_seq().unwrap_or(0);
            for (name, value) in core.saves.info(applied) {
                line!(out, "{name}:{value}");
            }
            line!(out, "applied_seq:{applied}");
            {
                let engine = &core.engine;
                let b = &core.binlog;
                let segs = b.segments();
                let bytes: u64 = segs
                    .iter()
                    .filter_map(|s| std::fs::metadata(b.path_of(s.id)).ok())
                    .map(|m| m.len())
                    .sum();
                line!(out, "binlog_files:{}", segs.len());
                line!(out, "binlog_bytes:{bytes}");
                line!(out, "binlog_first_seq:{}", b.first_seq());
                line!(out, "binlog_last_seq:{}", b.last_seq());
                line!(out, "binlog_active_file:{}", b.committed().pos.segment);
                line!(
                    out,
                    "binlog_write_failed:{}",
                    u8::from(engine.stats.failed.load(Ordering::Relaxed))
                );
            }
        }
        "stats" => {
            out.push_str("# Stats\r\n");
            let s = &core.stats;
            line!(
                out,
                "total_connections_received:{}",
                s.received.load(Ordering::Relaxed)
            );
            line!(
                out,
                "total_commands_processed:{}",
                s.commands.load(Ordering::Relaxed)
            );
            line!(
                out,
                "instantaneous_ops_per_sec:{}",
                s.ops_per_sec.load(Ordering::Relaxed)
            );
            line!(
                out,
                "rejected_connections:{}",
                s.rejected.load(Ordering::Relaxed)
            );
            line!(
                out,
                "tls_handshake_failures:{}",
                s.tls_handshake_failures.load(Ordering::Relaxed)
            );
            line!(
                out,
                "total_error_replies:{}",
                core.engine.command_stats.error_replies()
            );
            let t = &core.engine.tracking;
            line!(out, "tracking_total_keys:{}", t.keys());
            line!(out, "tracking_total_prefixes:{}", t.prefixes());
            let w = &core.engine.stats;
            for (name, counter) in [
                ("expired_keys", &w.expired_keys),
                ("write_groups", &w.groups),
                ("write_events", &w.events),
                ("write_pre_read_keys", &w.pre_read),
                ("write_pre_read_keys_used", &w.pre_read_used),
            ] {
                line!(out, "{name}:{}", counter.load(Ordering::Relaxed));
            }
            line!(out, "gc_passes:{}", store.gc_passes());
            core.repl.stats(out);
        }
        "replication" => {
            out.push_str("# Replication\r\n");
            replication(core, out);
        }
        "cpu" => {
            // Redis's fields, from /proc (seconds of CPU, 6 decimals).
            out.push_str("# CPU\r\n");
            let [user, sys, cuser, csys] = cpu_secs("/proc/self/stat");
            let main = format!("/proc/self/task/{}/stat", std::process::id());
            let [muser, msys, _, _] = cpu_secs(&main);
            line!(out, "used_cpu_sys:{sys:.6}");
            line!(out, "used_cpu_user:{user:.6}");
            line!(out, "used_cpu_sys_children:{csys:.6}");
            line!(out, "used_cpu_user_children:{cuser:.6}");
            line!(out, "used_cpu_sys_main_thread:{msys:.6}");
            line!(out, "used_cpu_user_main_thread:{muser:.6}");
        }
        // No modules; no cluster mode (one keyspace per node).
        "modules" => out.push_str("# Modules\r\n"),
        "commandstats" => {
            out.push_str("# Commandstats\r\n");
            core.engine.command_stats.commandstats(out);
        }
        "errorstats" => {
            out.push_str("# Errorstats\r\n");
            core.engine.command_stats.errorstats(out);
        }
        "latencystats" => {
            out.push_str("# Latencystats\r\n");
            core.engine.command_stats.latencystats(out);
        }
        "cluster" => {
            out.push_str("# Cluster\r\n");
            line!(out, "cluster_enabled:0");
        }
        "keyspace" => {
            out.push_str("# Keyspace\r\n");
            if let Ok((keys, expires)) = store.counts() {
                if keys > 0 {
                    line!(out, "db0:keys={keys},expires={expires},avg_ttl=0");
                }
            }
        }
        _ => {}
    }
}

/// `INFO replication` with Redis's fields (offsets are seqs) and ours.
fn replication(core: &Core, out: &mut String) {
    let role = core.role();
    let history = core.repl.history();
    let last = core.binlog.last_seq();
    match &role {
        Role::Master => line!(out, "role:master"),
        Role::Slave { master_addr } => {
            let l = &core.link;
            let (host, port) = split_addr(master_addr);
            let up = l.link_up.load(Ordering::Relaxed);
            let seq = l.last_seq.load(Ordering::Relaxed);
            line!(out, "role:slave");
            line!(out, "master_host:{host}");
            line!(out, "master_port:{port}");
            line!(out, "master_link_status:{}", if up { "up" } else { "down" });
            line!(
                out,
                "master_last_io_seconds_ago:{}",
                if up {
                    (l.silent_ms() / 1000) as i64
                } else {
                    -1
                }
            );
            line!(out, "master_sync_in_progress:{}", u8::from(l.syncing()));
            if !up {
                line!(out, "master_link_down_since_seconds:{}", l.down_secs());
            }
            let offset = l.redis_offset().unwrap_or(seq);
            line!(out, "slave_read_repl_offset:{offset}");
            line!(out, "slave_repl_offset:{offset}");
            line!(out, "slave_priority:{}", core.config().slave_priority);
            line!(out, "slave_read_only:1");
            line!(out, "replica_announced:1");
            line!(out, "last_seq:{seq}");
            line!(out, "last_key:{}", l.last_key().escape_ascii());
            line!(out, "full_copies:{}", l.full_copies.load(Ordering::Relaxed));
            line!(
                out,
                "copy_resumes:{}",
                l.copy_resumes.load(Ordering::Relaxed)
            );
            line!(
                out,
                "binlog_resumes:{}",
                l.binlog_resumes.load(Ordering::Relaxed)
            );
            line!(out, "master_sync_decision:{}", l.decision());
            // (one line: an error's text never holds a line break here)
            let error = l.last_error().replace(['\r', '\n'], " ");
            line!(out, "master_link_last_error:{error}");
        }
    }
    core.repl.slaves_info(out);
    line!(out, "master_failover_state:no-failover");
    line!(out, "master_replid:{}", history.replid);
    let (replid2, second) = match &history.previous {
        // Redis's meaning: the first offset past the old history.
        Some((id, seq)) => (id.clone(), *seq as i64 + 1),
        None => ("0".repeat(40), -1),
    };
    line!(out, "master_replid2:{replid2}");
    line!(out, "master_repl_offset:{last}");
    line!(out, "second_repl_offset:{second}");
    let first = core.binlog.first_seq();
    line!(out, "repl_backlog_active:1");
    line!(out, "repl_backlog_size:{}", core.config().binlog_budget);
    line!(out, "repl_backlog_first_byte_offset:{first}");
    line!(
        out,
        "repl_backlog_histlen:{}",
        (last + 1).saturating_sub(first)
    );
    line!(out, "last_sync_decision:{}", core.repl.last_decision());
}

/// User, system, children's user and children's system CPU seconds from
/// a `/proc/.../stat` file (zeros where there is none).
fn cpu_secs(stat: &str) -> [f64; 4] {
    let text = std::fs::read_to_string(stat).unwrap_or_default();
    // Fields after the command name (in parentheses): utime is the 12th.
    let rest = text.rsplit_once(')').map_or("", |(_, r)| r);
    let f: Vec<&str> = rest.split_whitespace().collect();
    // Linux's USER_HZ: /proc counts in hundredths of a second.
    let secs = |i: usize| f.get(i).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0) as f64 / 100.0;
    [secs(11), secs(12), secs(13), secs(14)]
}

/// The process's resident set (VmRSS of /proc/self/status; 0 where there
/// is none).
fn rss_bytes() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        })
        .map_or(0, |kb| kb * 1024)
}
