//! Restore (`rocksync-master --restore-from BACKUP [--to-seq N]`): a new
//! data directory built from a backup and the binlog after it, up to a
//! point, whole commands only (never half an EXEC or a script), every
//! record's checksum verified, and refused with the missing seqs named
//! when the binlog given has a gap. The restored data starts a new
//! replication history: slaves of the old node full-copy from it rather
//! than mix the two.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use rocksync_binlog::{Corruption, SegmentEvents, SegmentId};
use rocksync_protocol::LogEvent;
use rocksync_snapshot::Backup;
use tracing::info;

use super::store::apply::apply_event;
use super::store::batch::Batch;
use super::store::{Store, StoreOptions};
use super::{new_replid, sys};
use crate::config::Config;
use crate::error::{Error, Result};

/// What a restore did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Restored {
    /// The seq the backup held.
    pub backup_seq: u64,
    /// The seq the data holds now (the last whole command at or before
    /// the point asked for).
    pub seq: u64,
    /// Events replayed from the binlog.
    pub events: u64,
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> Error + '_ {
    move |source| Error::Io {
        path: path.to_owned(),
        source,
    }
}

/// The binlog files under each of `dirs`, each file with whether it is
/// its directory's newest (whose tail may be torn).
fn binlog_files(dirs: &[PathBuf]) -> Result<Vec<(PathBuf, bool)>> {
    let mut out = Vec::new();
    for dir in dirs {
        let mut ids: Vec<SegmentId> = std::fs::read_dir(dir)
            .map_err(io(dir))?
            .flatten()
            .filter_map(|e| SegmentId::from_file_name(&e.file_name().to_string_lossy()))
            .collect();
        ids.sort();
        let n = ids.len();
        out.extend(
            ids.into_iter()
                .enumerate()
                .map(|(i, id)| (dir.join(id.file_name()), i + 1 == n)),
        );
    }
    Ok(out)
}

/// The data events after `from` up to `to` (inclusive; `None`: all)
/// found in `files`, by seq, each with the file it came from.
fn events_after(
    files: &[(PathBuf, bool)],
    from: u64,
    to: Option<u64>,
) -> Result<BTreeMap<u64, (LogEvent, PathBuf)>> {
    let mut events = BTreeMap::new();
    for (path, newest) in files {
        for item in SegmentEvents::open(path)? {
            let e = match item {
                Ok((_, e)) => e,
                // A cut last record of a directory's newest file: its
                // writer stopped mid-append; what came before stands.
                Err(rocksync_binlog::Error::Corrupt {
                    reason: Corruption::Truncated { .. },
                    ..
                }) if *newest => break,
                Err(e) => return Err(e.into()),
            };
            if !e.cmd.is_data() || e.seq <= from || to.is_some_and(|to| e.seq > to) {
                continue;
            }
            events.entry(e.seq).or_insert((e, path.clone()));
        }
    }
    Ok(events)
}

/// Build `config`'s data directory (which must hold no data) from the
/// backup at `backup`, then replay the binlog files in `binlog_dirs`
/// (the archive, the old node's `binlog/`, in any order; a seq found
/// twice is read once) from the backup's seq up to `to_seq`, or to the
/// end of what they hold.
///
/// # Errors
/// [`Error::Config`] for a data directory that holds data, a point
/// before the backup, or a gap in the binlog (naming the seqs missing);
/// binlog damage; RocksDB and file errors.
pub fn restore(
    config: &Config,
    backup: &Path,
    to_seq: Option<u64>,
    binlog_dirs: &[PathBuf],
) -> Result<Restored> {
    let backup = Backup::open(backup)?;
    let from = backup.info.seq;
    if let Some(to) = to_seq.filter(|&to| to < from) {
        return Err(Error::Config(format!(
            "--to-seq {to} is before the backup, which holds seq {from}: restore from an older backup"
        )));
    }
    for dir in [config.db_dir(), config.binlog_dir()] {
        let used = std::fs::read_dir(&dir).is_ok_and(|mut d| d.next().is_some());
        if used {
            return Err(Error::Config(format!(
                "{} holds data already: a restore builds a new data directory",
                dir.display()
            )));
        }
    }
    let files = binlog_files(binlog_dirs)?;
    let events = events_after(&files, from, to_seq)?;
    // Dense from the backup's seq on, up to the point.
    let mut expected = from + 1;
    let mut after_file: Option<&Path> = None;
    for (&seq, (_, path)) in &events {
        if seq != expected {
            return Err(gap(expected, seq - 1, after_file));
        }
        expected += 1;
        after_file = Some(path);
    }
    let last_held = expected - 1;
    if let Some(to) = to_seq.filter(|&to| to > last_held) {
        return Err(gap(last_held + 1, to, after_file));
    }
    // Whole commands: the last event taken ends a command (`more` unset).
    let mut end = from;
    for (&seq, (e, _)) in &events {
        if !e.more {
            end = seq;
        }
    }
    if let Some(to) = to_seq.filter(|&to| to != end) {
        info!(
            to_seq = to,
            restored_to = end,
            "the point is inside a command: restored to the end of the command before it"
        );
    }
    copy_checkpoint(&backup.db_dir(), &config.db_dir())?;
    let store = Store::open(
        &config.db_dir(),
        &StoreOptions {
            wal: config.rocksdb_wal,
            block_cache_bytes: (config.block_cache_mb as usize) << 20,
            ..StoreOptions::default()
        },
    )?;
    let mut replayed = 0u64;
    if super::u64_of(store.get_sys(sys::COPYING)?) == 1 {
        return Err(Error::Config(format!(
            "{} was taken during a full copy and holds partial data",
            backup.path.display()
        )));
    }
    let mut batch = Batch::new();
    let mut at = from;
    for (&seq, (e, _)) in events.range(from + 1..=end) {
        apply_event(&store, &mut batch, e)?;
        replayed += 1;
        at = seq;
        // Batches end between commands.
        if replayed % 4096 == 0 && !e.more {
            let garbage = batch.leaves_garbage();
            let full = std::mem::take(&mut batch);
            store.write_leaving(full.finish(&store, at)?, garbage)?;
            info!(seq = at, replayed, "restore: replaying the binlog");
        }
    }
    let garbage = batch.leaves_garbage();
    store.write_leaving(batch.finish(&store, at)?, garbage)?;
    // A new history: none of the old node's followers may take this
    // data for a continuation of theirs. A new node, too (its id is made
    // at its first start), and a master until told otherwise.
    store.put_sys(sys::REPLID, new_replid().as_bytes())?;
    store.put_sys(sys::REPLID2, b"")?;
    store.put_sys(sys::NODE_ID, b"")?;
    store.put_sys(sys::ROLE, b"")?;
    store.put_sys(sys::LAST_KEY, b"")?;
    store.flush()?;
    info!(
        backup = %backup.path.display(),
        backup_seq = from,
        seq = end,
        replayed,
        dir = %config.data_dir.display(),
        "restored"
    );
    Ok(Restored {
        backup_seq: from,
        seq: end,
        events: replayed,
    })
}

/// The error for seqs `first..=last` missing from the binlog given,
/// naming the file that would hold the first of them: the one after the
/// file the last event found came from.
fn gap(first: u64, last: u64, after: Option<&Path>) -> Error {
    let name = |p: &Path| p.file_name().map(|n| n.to_string_lossy().into_owned());
    let missing = after
        .and_then(name)
        .and_then(|n| SegmentId::from_file_name(&n))
        .map(|id| SegmentId(id.0 + 1).file_name());
    Error::Config(format!(
        "the binlog given has no events {first}..={last}{}: add the directory that holds them (binlog-archive-dir, the old node's binlog/)",
        match (missing, after) {
            (Some(m), Some(a)) => format!(
                " (binlog file {m} is missing: the events before them end in {})",
                a.display()
            ),
            _ => String::new(),
        }
    ))
}

/// Copy the checkpoint `src` into `dst` (created): table files are hard
/// links where the file system allows (RocksDB never changes one), the
/// rest copies (RocksDB appends to its manifest).
fn copy_checkpoint(src: &Path, dst: &Path) -> Result<()> {
    std::fs::create_dir_all(dst).map_err(io(dst))?;
    for e in std::fs::read_dir(src).map_err(io(src))? {
        let e = e.map_err(io(src))?;
        let from = e.path();
        let to = dst.join(e.file_name());
        let linked =
            from.extension().is_some_and(|x| x == "sst") && std::fs::hard_link(&from, &to).is_ok();
        if !linked {
            std::fs::copy(&from, &to).map_err(io(&from))?;
        }
    }
    Ok(())
}
