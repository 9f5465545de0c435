//! Restore (`rocksync-master --restore-from BACKUP [--to-seq N]`): a new
//! data directory built from a backup and the binlog after it, up to a
//! point, whole commands only (never half an EXEC or a script), every
//! record's checksum verified, and refused with the missing seqs named
//! when the binlog given has a gap. The restored data starts a new
//! replication history: slaves of the old node full-copy from it rather
//! than mix the two.
//!
//! The binlog files given are indexed first (the seqs each holds, read
//! and checked once), a chain of them is chosen that covers the seqs
//! after the backup, then their events are replayed in order, a command
//! at a time: memory holds one command, not the binlog.

use std::path::{Path, PathBuf};

use rocksync_binlog::{Corruption, SegmentEvents};
use rocksync_protocol::LogEvent;
use rocksync_snapshot::Backup;
use tracing::info;

use super::store::apply::apply_event;
use super::store::batch::Batch;
use super::store::{Store, StoreOptions};
use super::{new_replid, sys, u64_of};
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

/// One binlog file and the data seqs it holds (`first..=last`, dense).
#[derive(Debug)]
struct File {
    path: PathBuf,
    first: u64,
    last: u64,
}

/// The events of `path`, a cut last record ending them where `newest`
/// (its writer stopped mid-append; what came before stands).
fn events_of(path: &Path, newest: bool) -> Result<impl Iterator<Item = Result<LogEvent>>> {
    let mut cut = false;
    Ok(
        SegmentEvents::open(path)?.map_while(move |item| match item {
            _ if cut => None,
            Ok((_, e)) => Some(Ok(e)),
            Err(rocksync_binlog::Error::Corrupt {
                reason: Corruption::Truncated { .. },
                ..
            }) if newest => None,
            Err(e) => {
                cut = true;
                Some(Err(e.into()))
            }
        }),
    )
}

/// Index the binlog files (`*.binlog`) under each of `dirs`: the data
/// seqs each holds, every record checked. A directory's newest file may
/// end in a cut record.
fn index(dirs: &[PathBuf]) -> Result<Vec<(File, bool)>> {
    let mut out = Vec::new();
    for dir in dirs {
        let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
            .map_err(io(dir))?
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "binlog"))
            .collect();
        paths.sort();
        let n = paths.len();
        for (i, path) in paths.into_iter().enumerate() {
            let newest = i + 1 == n;
            let (mut first, mut last) = (None, 0);
            for e in events_of(&path, newest)? {
                let e = e?;
                if !e.cmd.is_data() {
                    continue;
                }
                if first.is_some() && e.seq != last + 1 {
                    return Err(Error::Config(format!(
                        "{}: seq {} follows {last}",
                        path.display(),
                        e.seq
                    )));
                }
                first.get_or_insert(e.seq);
                last = e.seq;
            }
            if let Some(first) = first {
                out.push((File { path, first, last }, newest));
            }
        }
    }
    Ok(out)
}

/// The files to replay for seqs `from + 1 ..= to` (`None`: as far as
/// they go), in order: at each step the file that holds the next seq and
/// goes furthest.
fn chain(files: &[(File, bool)], from: u64, to: Option<u64>) -> Result<Vec<&(File, bool)>> {
    let mut out: Vec<&(File, bool)> = Vec::new();
    let mut next = from + 1;
    while to.is_none_or(|to| next <= to) {
        let best = files
            .iter()
            .filter(|(f, _)| f.first <= next && next <= f.last)
            .max_by_key(|(f, _)| f.last);
        match best {
            Some(f) => {
                next = f.0.last + 1;
                out.push(f);
            }
            None if to.is_none() && !files.iter().any(|(f, _)| f.first > next) => break,
            None => {
                let until = files
                    .iter()
                    .map(|(f, _)| f.first)
                    .filter(|&s| s > next)
                    .min()
                    .map_or(to.unwrap_or(next), |s| s - 1);
                let until = to.map_or(until, |to| until.min(to));
                return Err(gap(next, until, out.last().map(|f| f.0.path.as_path())));
            }
        }
    }
    Ok(out)
}

/// The error for seqs `first..=last` missing from the binlog given.
fn gap(first: u64, last: u64, after: Option<&Path>) -> Error {
    Error::Config(format!(
        "the binlog given has no events {first}..={last}: the archive file {} is missing{}; add the directory that holds those events (binlog-archive-dir, the old node's binlog/)",
        rocksync_binlog::archive_name(first),
        after.map_or(String::new(), |p| format!(
            " (the events before them end in {})",
            p.display()
        ))
    ))
}

/// Build `config`'s data directory (which must hold no data) from the
/// backup at `backup`, then replay the binlog after it up to `to_seq`
/// (or as far as the files go), from the files in `binlog_dirs` (the old
/// node's `binlog/`, …) and in `archive` (a `binlog_archive_dir`: its
/// directory for the backup's history, when it has one).
///
/// # Errors
/// [`Error::Config`] for a data directory that holds data, a point
/// before the backup, or a gap in the binlog (naming the seqs and the
/// file missing); binlog damage; RocksDB and file errors. Nothing is
/// left in the data directory when it fails.
pub fn restore(
    config: &Config,
    backup: &Path,
    to_seq: Option<u64>,
    binlog_dirs: &[PathBuf],
    archive: Option<&Path>,
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
    let mut dirs = binlog_dirs.to_vec();
    if let Some(a) = archive {
        let mine = a.join(&backup.info.replid);
        dirs.push(if !backup.info.replid.is_empty() && mine.is_dir() {
            mine
        } else {
            a.to_owned()
        });
    }
    let files = index(&dirs)?;
    let chain = chain(&files, from, to_seq)?;
    // Built aside, then put in place: a failed restore leaves nothing.
    let building = config.data_dir.join("db.restoring");
    let _ = std::fs::remove_dir_all(&building);
    let result = replay(config, &backup, &building, &chain, to_seq);
    match result {
        Ok(done) => {
            std::fs::rename(&building, config.db_dir()).map_err(io(&config.db_dir()))?;
            info!(
                backup = %backup.path.display(),
                backup_seq = from,
                seq = done.seq,
                replayed = done.events,
                dir = %config.data_dir.display(),
                "restored"
            );
            Ok(done)
        }
        Err(e) => {
            let _ = std::fs::remove_dir_all(&building);
            Err(e)
        }
    }
}

/// Copy the backup into `dir` and replay `chain` over it up to `to`,
/// whole commands only.
fn replay(
    config: &Config,
    backup: &Backup,
    dir: &Path,
    chain: &[&(File, bool)],
    to: Option<u64>,
) -> Result<Restored> {
    copy_checkpoint(&backup.db_dir(), dir)?;
    let store = Store::open(
        dir,
        &StoreOptions {
            wal: config.rocksdb_wal,
            block_cache_bytes: (config.block_cache_mb as usize) << 20,
            ..StoreOptions::default()
        },
    )?;
    if u64_of(store.get_sys(sys::COPYING)?) == 1 {
        return Err(Error::Config(format!(
            "{} was taken during a full copy and holds partial data",
            backup.path.display()
        )));
    }
    let from = backup.info.seq;
    let mut next = from + 1;
    // The command being read: applied once its last event is read.
    let mut command: Vec<LogEvent> = Vec::new();
    let mut batch = Batch::new();
    let (mut applied, mut in_batch, mut at) = (0u64, 0usize, from);
    'files: for (file, newest) in chain {
        for e in events_of(&file.path, *newest)? {
            let e = e?;
            if !e.cmd.is_data() || e.seq < next {
                continue;
            }
            if to.is_some_and(|to| e.seq > to) {
                break 'files;
            }
            next = e.seq + 1;
            let more = e.more;
            command.push(e);
            if more {
                continue;
            }
            for e in command.drain(..) {
                apply_event(&store, &mut batch, &e)?;
                at = e.seq;
                applied += 1;
                in_batch += 1;
            }
            if in_batch >= 4096 {
                let garbage = batch.leaves_garbage();
                store.write_leaving(std::mem::take(&mut batch).finish(&store, at)?, garbage)?;
                in_batch = 0;
                info!(seq = at, applied, "restore: replaying the binlog");
            }
        }
    }
    if !command.is_empty() {
        info!(
            to_seq = to,
            restored_to = at,
            "the point is inside a command: restored to the end of the command before it"
        );
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
    Ok(Restored {
        backup_seq: from,
        seq: at,
        events: applied,
    })
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
