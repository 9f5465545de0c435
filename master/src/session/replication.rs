//! Replication commands: SLAVEOF/REPLICAOF, ROLE, WAIT, PURGE LOGS TO,
//! and SYNC140 (the socket goes to a sync session).

use std::sync::atomic::Ordering;
use std::sync::Arc;

use bytes::Bytes;
use rocksync_binlog::PurgeRule;
use rocksync_protocol::Reply;

use super::{bulk_str, err_reply, After, BoxReply, Session};
use crate::repl::Replication;
use crate::role::{split_addr, Role};

/// `SLAVEOF NO ONE` / `SLAVEOF host port` (and `REPLICAOF`).
pub fn slaveof<'s>(s: &'s mut Session<'_>, a: &'s [Bytes]) -> BoxReply<'s> {
    Box::pin(async move {
        if a[1].eq_ignore_ascii_case(b"no") && a[2].eq_ignore_ascii_case(b"one") {
            return s.core.promote().await;
        }
        let Some(port) = std::str::from_utf8(&a[2])
            .ok()
            .and_then(|p| p.parse::<u16>().ok())
        else {
            return Reply::error("ERR Invalid master port");
        };
        let host = String::from_utf8_lossy(&a[1]).into_owned();
        if host.is_empty() || host.contains(char::is_whitespace) {
            return Reply::error("ERR Invalid master host");
        }
        let addr = if host.contains(':') {
            format!("[{host}]:{port}")
        } else {
            format!("{host}:{port}")
        };
        s.core.follow(addr).await
    })
}

/// `ROLE` in Redis 7's shapes; offsets are seqs.
pub fn role(s: &mut Session<'_>, _: &[Bytes]) -> Reply {
    let core = s.core;
    match core.role() {
        Role::Master => Reply::Array(vec![
            bulk_str("master"),
            Reply::Integer(core.binlog.last_seq() as i64),
            Reply::Array(
                core.repl
                    .slaves()
                    .iter()
                    .map(|s| {
                        let (ip, port) = s.id.rsplit_once(':').unwrap_or((&s.id, "0"));
                        Reply::Array(vec![
                            bulk_str(ip),
                            bulk_str(port),
                            bulk_str(s.acked_seq.load(Ordering::Relaxed).to_string()),
                        ])
                    })
                    .collect(),
            ),
        ]),
        Role::Slave { master_addr } => {
            let (host, port) = split_addr(&master_addr);
            let up = core.link.link_up.load(Ordering::Relaxed);
            let state = match (up, core.link.syncing()) {
                (true, true) => "sync",
                (true, false) => "connected",
                (false, _) => "connect",
            };
            let offset = if up {
                core.link.last_seq.load(Ordering::Relaxed) as i64
            } else {
                -1
            };
            Reply::Array(vec![
                bulk_str("slave"),
                bulk_str(host),
                Reply::Integer(i64::from(port)),
                bulk_str(state),
                Reply::Integer(offset),
            ])
        }
    }
}

/// WAIT numslaves timeout: on a master, until that many slaves acked
/// this node's last seq.
pub fn wait<'s>(s: &'s mut Session<'_>, a: &'s [Bytes]) -> BoxReply<'s> {
    Box::pin(async move {
        match s.core.role() {
            Role::Master => wait_command(&s.core.repl, a, s.in_exec).await,
            Role::Slave { .. } => Reply::error(
                "ERR WAIT cannot be used with replica instances: writes to replicas are not propagated",
            ),
        }
    })
}

/// What SYNC and PSYNC answer a redis-server replica (one that gave its
/// port with REPLCONF, not `REPLCONF rdb-only 1`): it would load the
/// snapshot, lose the connection, and load it again, never getting a
/// write.
const NO_REDIS_REPLICAS: &str = "ERR rocksync does not stream its writes to a Redis replica (it would hold a snapshot that never changes): make a rocksync node the replica, or move the data with redis-cli --rdb, MIGRATE or DUMP/RESTORE";

/// SYNC (as `redis-cli --rdb` sends it) and PSYNC (as tools that read a
/// master's RDB send it): the connection gets an RDB of the data
/// (after `+FULLRESYNC <replid> <offset>` for PSYNC), then closes.
pub fn sync(s: &mut Session<'_>, a: &[Bytes]) -> Reply {
    if s.client.replica_port && !s.client.rdb_only {
        return Reply::error(NO_REDIS_REPLICAS);
    }
    s.after = After::Handoff(a.to_vec());
    Reply::NilArray
}

/// REPLCONF option value ...: what a replica or a tool says of itself
/// before SYNC or PSYNC (`listening-port`, `ip-address`, `capa`,
/// `rdb-only`); acks are a sync session's, not a client's.
pub fn replconf(s: &mut Session<'_>, a: &[Bytes]) -> Reply {
    if a.len() % 2 == 0 {
        return Reply::error("ERR syntax error");
    }
    for pair in a[1..].chunks(2) {
        let value = &pair[1][..];
        match pair[0].to_ascii_lowercase().as_slice() {
            b"listening-port" => match rocksync_protocol::parse_i64(value) {
                Some(_) => s.client.replica_port = true,
                None => return Reply::error(crate::cmd::NOT_INT),
            },
            b"rdb-only" => match value {
                b"0" | b"1" => s.client.rdb_only = value == b"1",
                _ => return Reply::error("ERR value is out of range, must be 0 or 1"),
            },
            b"rdb-filter-only" => {
                let mut functions = false;
                for f in value
                    .split(|b| b.is_ascii_whitespace())
                    .filter(|f| !f.is_empty())
                {
                    if !f.eq_ignore_ascii_case(b"functions") {
                        return Reply::error(format!(
                            "ERR Unsupported rdb-filter-only option: {}",
                            String::from_utf8_lossy(f)
                        ));
                    }
                    functions = true;
                }
                s.client.functions_only = functions;
            }
            b"ip-address" | b"capa" | b"ack" | b"getack" => {}
            _ => {
                return Reply::error(format!(
                    "ERR Unrecognized REPLCONF option: {}",
                    String::from_utf8_lossy(&pair[0])
                ))
            }
        }
    }
    Reply::ok()
}

/// SYNC140 ...: the connection becomes a sync session.
pub fn sync140(s: &mut Session<'_>, a: &[Bytes]) -> Reply {
    s.after = After::Handoff(a.to_vec());
    Reply::NilArray
}

/// `PURGE LOGS TO <file>`: remove the binlog files before `<file>`
/// (never the active one, one a slave is reading, or events the database
/// still needs to recover); answers how many files were removed.
pub fn purge<'s>(s: &'s mut Session<'_>, a: &'s [Bytes]) -> BoxReply<'s> {
    Box::pin(async move {
        let ok =
            a.len() == 4 && a[1].eq_ignore_ascii_case(b"logs") && a[2].eq_ignore_ascii_case(b"to");
        if !ok {
            return Reply::error("ERR syntax error: PURGE LOGS TO <file>");
        }
        let Some(target) = std::str::from_utf8(&a[3])
            .ok()
            .and_then(rocksync_binlog::SegmentId::from_file_name)
        else {
            return Reply::error(format!(
                "ERR no binlog file named {}",
                String::from_utf8_lossy(&a[3])
            ));
        };
        let store = Arc::clone(&s.core.store);
        let binlog = s.core.binlog.clone();
        let archive = crate::node::archive_dir(s.core);
        let result = tokio::task::spawn_blocking(move || -> crate::Result<usize> {
            let keep = crate::node::archived_before(&binlog, archive.as_ref());
            let applied = store.applied_seq()?;
            store.flush()?;
            Ok(binlog
                .purge(&PurgeRule::To(target), (applied + 1).min(keep))?
                .removed
                .len())
        })
        .await;
        match result {
            Ok(Ok(n)) => Reply::Integer(n as i64),
            Ok(Err(e)) => err_reply(e),
            Err(e) => err_reply(e),
        }
    })
}

/// WAIT numslaves timeout; inside an EXEC (`at_once`) it answers at once
/// with the slaves that acked, as Redis does (a transaction never blocks).
async fn wait_command(repl: &Replication, args: &[Bytes], at_once: bool) -> Reply {
    if args.len() != 3 {
        return Reply::error("ERR wrong number of arguments for 'wait' command");
    }
    let (Some(n), Some(t)) = (
        rocksync_protocol::parse_i64(&args[1]),
        rocksync_protocol::parse_i64(&args[2]),
    ) else {
        return Reply::error("ERR value is not an integer or out of range");
    };
    if t < 0 {
        return Reply::error("ERR timeout is negative");
    }
    if at_once {
        return Reply::Integer(repl.acked_now() as i64);
    }
    Reply::Integer(repl.wait(n.max(0) as usize, t as u64).await as i64)
}
