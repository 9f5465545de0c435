//! INFO in Redis's format: `# Section` headers, `key:value` lines, CRLF.

use std::fmt::Write;
use std::sync::atomic::Ordering;

use bytes::Bytes;

use crate::server::Core;

/// The Redis version clients are told (the command set we follow).
pub const REDIS_VERSION: &str = "7.0.0";

const SECTIONS: &[&str] = &[
    "server",
    "clients",
    "memory",
    "persistence",
    "stats",
    "replication",
    "keyspace",
];

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
    let all = wanted.is_empty()
        || wanted
            .iter()
            .any(|w| matches!(w.as_str(), "all" | "default" | "everything"));
    let mut out = String::new();
    for s in SECTIONS {
        if all || wanted.iter().any(|w| w == s) {
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
                core.stats.connected.load(Ordering::Relaxed)
            );
            line!(out, "maxclients:{}", cfg.maxclients);
        }
        "memory" => {
            out.push_str("# Memory\r\n");
            let memtables = store.int_property("rocksdb.cur-size-all-mem-tables");
            let readers = store.int_property("rocksdb.estimate-table-readers-mem");
            let cache = store
                .db()
                .property_int_value("rocksdb.block-cache-usage")
                .ok()
                .flatten()
                .unwrap_or(0);
            let used = memtables + readers + cache;
            line!(out, "used_memory:{used}");
            line!(out, "used_memory_human:{}", human(used));
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
            line!(out, "loading:0");
            line!(out, "binlog_fsync:{}", cfg.binlog_fsync);
            line!(out, "rocksdb_wal:{}", u8::from(store.wal()));
            line!(out, "applied_seq:{}", store.applied_seq().unwrap_or(0));
            if let Some(engine) = &core.engine {
                let b = &engine.binlog;
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
            if let Some(engine) = &core.engine {
                line!(
                    out,
                    "expired_keys:{}",
                    engine.stats.expired_keys.load(Ordering::Relaxed)
                );
                line!(
                    out,
                    "write_groups:{}",
                    engine.stats.groups.load(Ordering::Relaxed)
                );
                line!(
                    out,
                    "write_events:{}",
                    engine.stats.events.load(Ordering::Relaxed)
                );
            }
            core.role.stats_info(out);
        }
        "replication" => {
            out.push_str("# Replication\r\n");
            core.role.replication_info(core, out);
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
