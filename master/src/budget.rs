//! What replication may hold of the binlog (SPEC §11): a slave whose
//! position, or whose copy's snapshot, would keep binlog files past
//! `binlog_budget` is dropped with a log line and a counter; its lease is
//! released, the events it held are given up (no session resumes before
//! them), and it full-copies when it comes back, as Redis drops a replica
//! past its output buffer limit. Redis bounds memory so; here it is the
//! disk, which a slave on a slow link would otherwise fill.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use rocksync_binlog::Binlog;
use tracing::{info, warn};

use crate::repl::Replication;
use crate::slaves::{SlaveInfo, SlaveState};

/// The first seq the binlog keeps under `budget`: files before the one
/// holding it exceed the budget (counting back from the active file,
/// which always stays). `None` while everything fits.
pub(crate) fn keep_from(binlog: &Binlog, budget: u64) -> Option<u64> {
    let segments = binlog.segments();
    if segments.len() < 2 {
        return None;
    }
    let sizes: Vec<u64> = segments
        .iter()
        .map(|s| std::fs::metadata(binlog.path_of(s.id)).map_or(0, |m| m.len()))
        .collect();
    if sizes.iter().sum::<u64>() <= budget {
        return None;
    }
    let mut kept = segments.len() - 1;
    let mut total = sizes[kept];
    while kept > 0 && total + sizes[kept - 1] <= budget {
        kept -= 1;
        total += sizes[kept];
    }
    // The file before the active one stays too, however small the budget:
    // a slave milliseconds behind is not dropped at every rotation.
    Some(segments[kept.min(segments.len() - 2)].first_seq)
}

/// Drop the sessions that hold events before `keep` (and idle snapshots
/// pinning them); the sessions dropped.
pub(crate) fn drop_holders(repl: &Replication, keep: u64) -> Vec<Arc<SlaveInfo>> {
    repl.give_up_before(keep);
    let mut dropped = Vec::new();
    let slaves = repl.slaves.list();
    for s in &slaves {
        // Streaming: its position; copying: its snapshot's seq (a session
        // still deciding, or about to copy again, holds nothing yet).
        let held = match s.state.load(Ordering::Relaxed) {
            v if v == SlaveState::Sync as u8 => Some(s.sent_seq.load(Ordering::Relaxed) + 1),
            v if v == SlaveState::Copy as u8 => {
                repl.snapshots.get(&s.key).map(|snap| snap.entry.seq + 1)
            }
            _ => None,
        };
        if held.is_some_and(|held| held < keep) && !s.cancel.is_cancelled() {
            warn!(
                slave = %s.id,
                held_from_seq = held.unwrap_or(0),
                budget_keeps_from_seq = keep,
                "slave would hold the binlog past binlog_budget: dropping it (it full-copies when it returns)"
            );
            s.over_budget.store(true, Ordering::Relaxed);
            s.cancel.cancel();
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
