//! What replication may hold of the binlog (SPEC §11): a slave whose
//! position, or whose copy's snapshot, would keep binlog files past
//! `binlog_budget` is dropped with a log line and a counter; its lease is
//! released, the events it held are given up (no session resumes before
//! them), and it full-copies when it comes back, as Redis drops a replica
//! past its output buffer limit. Redis bounds memory so; here it is the
//! disk, which a slave on a slow link would otherwise fill. The replica
//! class of `client-output-buffer-limit` drops a slave on what it holds
//! alone, in bytes.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use rocksync_binlog::Binlog;
use tracing::{info, warn};

use crate::clock::mono_ms;
use crate::outbuf::OutputLimit;
use crate::repl::Replication;
use crate::slaves::{SlaveInfo, SlaveState};

/// The binlog's files, oldest first: (first seq, bytes).
fn files(binlog: &Binlog) -> Vec<(u64, u64)> {
    binlog
        .segments()
        .iter()
        .map(|s| {
            let len = std::fs::metadata(binlog.path_of(s.id)).map_or(0, |m| m.len());
            (s.first_seq, len)
        })
        .collect()
}

/// The first seq the binlog keeps under `budget`: files before the one
/// holding it exceed the budget (counting back from the active file,
/// which always stays, with the one before it). `None` while everything
/// fits.
pub(crate) fn keep_from(binlog: &Binlog, budget: u64) -> Option<u64> {
    let files = files(binlog);
    if files.len() < 2 || files.iter().map(|f| f.1).sum::<u64>() <= budget {
        return None;
    }
    let mut kept = files.len() - 1;
    let mut total = files[kept].1;
    while kept > 0 && total + files[kept - 1].1 <= budget {
        kept -= 1;
        total += files[kept].1;
    }
    // The file before the active one stays too, however small the budget:
    // a slave milliseconds behind is not dropped at every rotation.
    Some(files[kept.min(files.len() - 2)].0)
}

/// The first seq a session holds in the binlog: its position while it
/// streams, its snapshot's while it copies (a session still deciding, or
/// about to copy again, holds nothing yet).
fn held_seq(repl: &Replication, s: &SlaveInfo) -> Option<u64> {
    match s.state.load(Ordering::Relaxed) {
        v if v == SlaveState::Sync as u8 => Some(s.sent_seq.load(Ordering::Relaxed) + 1),
        v if v == SlaveState::Copy as u8 => {
            repl.snapshots.get(&s.key).map(|snap| snap.entry.seq + 1)
        }
        _ => None,
    }
}

/// Drop a session holding the binlog from `held`, and its copy's
/// snapshot; it full-copies when it returns (the caller sees to that).
fn drop_slave(s: &Arc<SlaveInfo>, held: u64, why: &str) {
    warn!(slave = %s.id, held_from_seq = held, reason = why, "dropping a slave: it full-copies when it returns");
    s.over_budget.store(true, Ordering::Relaxed);
    s.cancel.cancel();
}

/// Drop the sessions that hold events before `keep` (and idle snapshots
/// pinning them); the sessions dropped.
pub(crate) fn drop_holders(repl: &Replication, keep: u64) -> Vec<Arc<SlaveInfo>> {
    repl.give_up_before(keep);
    let mut dropped = Vec::new();
    let slaves = repl.slaves.list();
    for s in &slaves {
        let Some(held) = held_seq(repl, s) else {
            continue;
        };
        if held < keep && !s.cancel.is_cancelled() {
            // (what it held is given up above: no session resumes there)
            drop_slave(s, held, "it would hold the binlog past binlog_budget");
            repl.counters
                .dropped_over_budget
                .fetch_add(1, Ordering::Relaxed);
            dropped.push(Arc::clone(s));
        }
    }
    // Breakpoints no session copies from: a resume after them could not
    // stream on anyway.
    for (key, entry) in repl.snapshots.list() {
        let copying = slaves
            .iter()
            .any(|s| s.key == key && !s.cancel.is_cancelled());
        if !copying && entry.seq + 1 < keep {
            info!(slave = %key, seq = entry.seq, "dropping a copy's breakpoint past binlog_budget");
            if let Err(e) = repl.snapshots.release(&key) {
                warn!(slave = %key, error = %e, "dropping a snapshot");
            }
        }
    }
    dropped
}

/// The replica class of `client-output-buffer-limit`: a session whose
/// position holds more binlog (the files from the one holding it on) than
/// the hard limit, or than the soft limit for its seconds, is dropped.
pub(crate) fn enforce_output_limit(repl: &Replication, binlog: &Binlog, limit: OutputLimit) {
    let slaves = repl.slaves.list();
    if limit.is_off() || slaves.is_empty() {
        return;
    }
    let files = files(binlog);
    let now = mono_ms();
    for s in &slaves {
        let Some(held) = held_seq(repl, s).filter(|_| !s.cancel.is_cancelled()) else {
            continue;
        };
        let from = files.iter().rposition(|f| f.0 <= held).unwrap_or(0);
        let bytes: u64 = files[from..].iter().map(|f| f.1).sum();
        let over_soft = limit.soft > 0 && limit.secs > 0 && bytes > limit.soft;
        let since = s.over_soft_since_ms.load(Ordering::Relaxed);
        let why = if limit.hard > 0 && bytes > limit.hard {
            Some(format!(
                "it holds {bytes} bytes of binlog, past the replica output limit's {}",
                limit.hard
            ))
        } else if over_soft
            && since > 0
            && now.saturating_sub(since) >= limit.secs.saturating_mul(1000)
        {
            Some(format!(
                "it held over {} bytes of binlog (the replica output limit's soft limit) for {} s",
                limit.soft, limit.secs
            ))
        } else {
            // Over the soft limit since the first time seen so (kept), or not.
            let next = match (over_soft, since) {
                (false, _) => 0,
                (true, 0) => now.max(1),
                (true, t) => t,
            };
            s.over_soft_since_ms.store(next, Ordering::Relaxed);
            None
        };
        if let Some(why) = why {
            repl.full_copy_next(&s.key);
            drop_slave(s, held, &why);
            repl.counters
                .dropped_over_limit
                .fetch_add(1, Ordering::Relaxed);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rocksync_binlog::{BinlogConfig, BinlogWriter};
    use rocksync_protocol::{Command, LogEvent};

    #[test]
    fn keeps_the_newest_files_that_fit_and_always_the_active_one() {
        let dir = tempfile::tempdir().expect("tmp");
        let mut config = BinlogConfig::new(dir.path());
        config.max_binlog_size_bytes = 4096;
        let (mut w, _) = BinlogWriter::open(config).expect("open");
        let value = bytes::Bytes::from(vec![b'x'; 1000]);
        for seq in 1..=40 {
            w.append(&[LogEvent::data(seq, Command::KSet, "k", value.clone())])
                .expect("append");
        }
        let binlog = w.handle();
        let segments = binlog.segments();
        assert!(segments.len() > 5, "{segments:?}");
        let size = |i: usize| {
            std::fs::metadata(binlog.path_of(segments[i].id))
                .expect("size")
                .len()
        };
        let total: u64 = (0..segments.len()).map(size).sum();
        assert_eq!(keep_from(&binlog, total), None, "everything fits");
        // Room for the last three files exactly.
        let n = segments.len();
        let last3 = size(n - 1) + size(n - 2) + size(n - 3);
        assert_eq!(keep_from(&binlog, last3), Some(segments[n - 3].first_seq));
        let last4 = last3 + size(n - 4);
        assert_eq!(keep_from(&binlog, last4), Some(segments[n - 4].first_seq));
        assert_eq!(
            keep_from(&binlog, last4 - 1),
            Some(segments[n - 3].first_seq)
        );
        // A budget smaller than two files keeps the active file and the
        // one before.
        assert_eq!(keep_from(&binlog, 1), Some(segments[n - 2].first_seq));
    }
}
