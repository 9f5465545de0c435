//! CONFIG GET / SET / RESETSTAT / REWRITE / HELP.

use std::sync::atomic::Ordering;

use bytes::Bytes;
use rocksync_protocol::Reply;

use super::{bulk_str, help_lines, Session};
use crate::cmd::generic::glob_match;
use crate::config::{Config, Field, FIELDS};

/// Names CONFIG GET answers beyond the fields: what tools ask a Redis
/// server (redis-benchmark asks the first two): no RDB snapshots, the
/// binlog is the append-only log; Redis 7's name for the priority.
/// A value CONFIG GET shows.
type Show = fn(&Config) -> String;

const ALSO: &[(&str, Show)] = &[
    ("save", |_| String::new()),
    ("appendonly", |_| "yes".into()),
    ("appendfsync", |c| c.binlog_fsync.to_string()),
    ("replica-priority", |c| c.slave_priority.to_string()),
    ("min-slaves-to-write", |c| {
        c.min_replicas_to_write.to_string()
    }),
    ("min-slaves-max-lag", |c| c.min_replicas_max_lag.to_string()),
    ("slave-announce-ip", |c| c.replica_announce_ip.clone()),
    ("slave-announce-port", |c| {
        c.replica_announce_port.to_string()
    }),
    ("slave-serve-stale-data", |c| {
        if c.replica_serve_stale_data {
            "yes"
        } else {
            "no"
        }
        .into()
    }),
];

/// The field CONFIG SET names, by either spelling (and Redis's other
/// names: Redis 7's for the priority, the `min-slaves-*` of old).
fn field(name: &str) -> Option<&'static Field> {
    let key = match name.replace('-', "_").to_lowercase().as_str() {
        "replica_priority" => "slave_priority".to_owned(),
        "min_slaves_to_write" => "min_replicas_to_write".to_owned(),
        "min_slaves_max_lag" => "min_replicas_max_lag".to_owned(),
        "slave_announce_ip" => "replica_announce_ip".to_owned(),
        "slave_announce_port" => "replica_announce_port".to_owned(),
        "slave_serve_stale_data" => "replica_serve_stale_data".to_owned(),
        k => k.to_owned(),
    };
    FIELDS.iter().find(|f| f.key == key)
}

/// CONFIG GET pattern [pattern ...] (dashes or underscores).
pub fn get(s: &mut Session<'_>, a: &[Bytes]) -> Reply {
    let mut c = s.core.config();
    c.master_addr = Some(s.core.role().master_addr().unwrap_or("").to_owned());
    let values = FIELDS
        .iter()
        .map(|f| (f.name(), (f.get)(&c)))
        .chain(ALSO.iter().map(|(n, get)| ((*n).to_owned(), get(&c))));
    let mut out = Vec::new();
    for (name, value) in values {
        if name == "user" {
            // (users are ACL's to show, passwords hashed: ACL LIST)
            continue;
        }
        let underscored = name.replace('-', "_");
        if a[2..].iter().any(|pat| {
            let pat = pat.to_ascii_lowercase();
            glob_match(&pat, name.as_bytes()) || glob_match(&pat, underscored.as_bytes())
        }) {
            out.push((bulk_str(name), bulk_str(value)));
        }
    }
    Reply::Map(out)
}

/// CONFIG SET name value [name value ...]: all or none, only the fields
/// that may change at runtime.
pub fn set(s: &mut Session<'_>, a: &[Bytes]) -> Reply {
    if a.len() % 2 != 0 {
        return super::wrong_arity("config|set");
    }
    let slow_us = &s.core.engine.slow_us;
    let limits = &s.core.engine.limits;
    let latency = &s.core.engine.latency;
    let slaves = &s.core.engine.slaves;
    let acl = &s.core.acl;
    let clients = &s.core.clients;
    let tls = &s.core.tls;
    let changed = s.core.view.update_config(|next| {
        for pair in a[2..].chunks(2) {
            let name = String::from_utf8_lossy(&pair[0]).to_lowercase();
            let Some(f) = field(&name).filter(|f| f.live) else {
                return Err(Reply::error(format!(
                    "ERR Unknown option or number of arguments for CONFIG SET - '{name}'"
                )));
            };
            let value = String::from_utf8_lossy(&pair[1]);
            (f.set)(next, &value)
                .and_then(|()| (f.check)(next))
                .map_err(|e| {
                    Reply::error(format!(
                        "ERR CONFIG SET failed (possibly related to argument '{name}') - {e}"
                    ))
                })?;
        }
        let maxclients_changed = a[2..]
            .chunks(2)
            .any(|p| p[0].eq_ignore_ascii_case(b"maxclients"));
        if let Err(e) = maxclients_changed
            .then(|| crate::fds::fit(next.maxclients))
            .transpose()
        {
            return Err(Reply::error(format!(
                "ERR CONFIG SET failed (possibly related to argument 'maxclients') - {e}"
            )));
        }
        // (last of the checks: once in force, the acceptor stays)
        if a[2..]
            .chunks(2)
            .any(|p| p[0].to_ascii_lowercase().starts_with(b"tls"))
        {
            if let Err(e) = tls.configure(next) {
                return Err(Reply::error(format!(
                    "ERR CONFIG SET failed (possibly related to argument 'tls-*') - Unable to update TLS configuration: {e}"
                )));
            }
        }
        // Under the configuration's lock: two CONFIG SETs leave the
        // write path's threshold equal to the configuration's.
        slow_us.store(next.slowlog_log_slower_than, Ordering::Relaxed);
        limits.set(next);
        latency.set_threshold(next.latency_monitor_threshold);
        slaves.configure(next);
        acl.configure(next);
        clients.set_output_limits(&next.client_output_buffer_limit);
        if a[2..]
            .chunks(2)
            .any(|p| p[0].eq_ignore_ascii_case(b"requirepass"))
        {
            acl.set_requirepass(&next.requirepass);
        }
        Ok(())
    });
    match changed {
        Ok(_) => Reply::ok(),
        Err(r) => r,
    }
}

/// CONFIG RESETSTAT.
pub fn resetstat(s: &mut Session<'_>, _: &[Bytes]) -> Reply {
    s.core.stats.commands.store(0, Ordering::Relaxed);
    s.core.stats.received.store(0, Ordering::Relaxed);
    s.core.engine.command_stats.reset();
    Reply::ok()
}

/// CONFIG REWRITE: the configuration in force into the file it came
/// from. The role is not written: every SLAVEOF keeps it in the data
/// directory, and a role in the file would win over later ones.
pub fn rewrite(s: &mut Session<'_>, _: &[Bytes]) -> Reply {
    let mut c = s.core.config();
    c.master_addr = None;
    if c.aclfile.as_os_str().is_empty() {
        // The users as they are now, passwords hashed, as Redis writes
        // its `user` lines (with an aclfile, ACL SAVE keeps them).
        c.user = crate::UserLines(
            s.core
                .acl
                .users()
                .iter()
                .map(|u| crate::acl::describe_user(u))
                .collect(),
        );
    }
    match c.rewrite() {
        Ok(()) => Reply::ok(),
        Err(crate::Error::Config(m)) => Reply::error(format!("ERR {m}")),
        Err(e) => Reply::error(format!("ERR Rewriting config file: {e}")),
    }
}

/// CONFIG HELP.
pub fn help(_: &mut Session<'_>, _: &[Bytes]) -> Reply {
    help_lines(&[
        "CONFIG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "GET <pattern>",
        "    Return parameters matching the glob-like <pattern> and their values.",
        "SET <directive> <value>",
        "    Set the configuration <directive> to <value>.",
        "RESETSTAT",
        "    Reset statistics reported by the INFO command.",
        "REWRITE",
        "    Rewrite the configuration file.",
        "HELP",
        "    Prints this help.",
    ])
}
