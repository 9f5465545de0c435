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
use super::{fresh, sys, u64_of};
use crate::config::Config;
use crate::error::{Error, Result};

/// Where a restore stops.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Point {
    /// As far as the binlog given goes.
    End,
    /// At this seq (the last whole command at or before it).
    Seq(u64),
    /// At this time, unix ms: the last seq the time index recorded at or
    /// before it (a second's precision; never a write made after it).
    Time(u64),
}

/// Unix ms of an RFC 3339 time (`2026-12-04T10:42:00Z`, fractions of a
/// second and `+hh:mm` offsets allowed); `None` for anything else.
pub fn parse_rfc3339(s: &str) -> Option<u64> {
    let b = s.as_bytes();
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        let d = b.get(r)?;
        if d.is_empty() || !d.iter().all(u8::is_ascii_digit) {
            return None;
        }
        Some(d.iter().fold(0i64, |n, c| n * 10 + i64::from(c - b'0')))
    };
    let at = |i: usize| b.get(i).copied();
    if at(4) != Some(b'-') || at(7) != Some(b'-') || !matches!(at(10), Some(b'T' | b't' | b' ')) {
        return None;
    }
    if at(13) != Some(b':') || at(16) != Some(b':') {
        return None;
    }
    let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (h, mi, sec) = (num(11..13)?, num(14..16)?, num(17..19)?);
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let days_in = match mo {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return None,
    };
    if !(1..=days_in).contains(&d) || h > 23 || mi > 59 || sec > 60 {
        return None;
    }
    let mut i = 19;
    let mut ms = 0i64;
    if at(i) == Some(b'.') {
        let start = i + 1;
        i = start;
        while at(i).is_some_and(|c| c.is_ascii_digit()) {
            i += 1;
        }
        if i == start {
            return None;
        }
        let frac = &b[start..i.min(start + 3)];
        ms = frac.iter().fold(0i64, |n, c| n * 10 + i64::from(c - b'0'))
            * 10i64.pow(3 - frac.len() as u32);
    }
    let offset_min = match (at(i), b.len() - i) {
        (Some(b'Z' | b'z'), 1) => 0,
        (Some(sign @ (b'+' | b'-')), 6) if at(i + 3) == Some(b':') => {
            let (oh, om) = (num(i + 1..i + 3)?, num(i + 4..i + 6)?);
            if oh > 23 || om > 59 {
                return None;
            }
            (oh * 60 + om) * if sign == b'-' { -1 } else { 1 }
        }
        _ => return None,
    };
    // Days from the civil date (Howard Hinnant's algorithm).
    let y = if mo <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (mo + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let secs = days * 86_400 + h * 3600 + mi * 60 + sec - offset_min * 60;
    u64::try_from(secs * 1000 + ms).ok()
}

/// The seq a restore to unix ms `at` stops at: the time index in `dirs`
/// (and the backup itself) read in seq order up to the first pair
/// recorded after `at` (so a clock that stepped back cannot take a later
/// seq in).
fn seq_at_time(dirs: &[PathBuf], backup: &Backup, at: u64) -> Result<u64> {
    if at < backup.info.time_ms {
        return Err(Error::Config(format!(
            "--to-time is before the backup, taken at unix ms {}: restore from an older backup",
            backup.info.time_ms
        )));
    }
    let mut pairs = Vec::new();
    for dir in dirs {
        for e in std::fs::read_dir(dir).map_err(io(dir))?.flatten() {
            let path = e.path();
            if path.extension().is_some_and(|x| x == "times") {
                pairs.extend(rocksync_binlog::read_times(&path)?);
            }
        }
    }
    pairs.retain(|&(seq, _)| seq > backup.info.seq);
    pairs.sort_unstable();
    let mut best = backup.info.seq;
    for (seq, ms) in pairs {
        if ms > at {
            break;
        }
        best = seq;
    }
    Ok(best)
}

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
    /// The archive's other history directories (a promoted node's goes
    /// on with the same seqs under a new replid): where a restore to the
    /// end may go on, given with `--restore-binlog`.
    pub other_histories: Vec<PathBuf>,
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
/// Archive files (named by their first seq) that end at or before `from`
/// are not read: a restore from a backup holding `from` needs none of
/// them (and a damaged one of them stops nothing).
fn index(dirs: &[PathBuf], from: u64) -> Result<Vec<(File, bool)>> {
    // (an archive name is the first seq in 20 digits; a live binlog
    // file's, its number in 8)
    let first_of = |p: &Path| -> Option<u64> {
        let stem = p.file_stem()?.to_str()?;
        (stem.len() == 20).then(|| stem.parse().ok())?
    };
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
        for (i, path) in paths.iter().enumerate() {
            let newest = i + 1 == n;
            let before = first_of(path).is_some()
                && paths
                    .get(i + 1)
                    .and_then(|next| first_of(next))
                    .is_some_and(|next_first| next_first <= from + 1);
            if before {
                continue;
            }
            let path = path.clone();
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

/// The error for seqs `first..=last` missing from the binlog given. After
/// a file that was found, the missing one starts at `first`: its archive
/// name is known.
fn gap(first: u64, last: u64, after: Option<&Path>) -> Error {
    let missing = match after {
        Some(a) => format!(
            "the archive file {} is missing (the events before them end in {})",
            rocksync_binlog::archive_name(first),
            a.display()
        ),
        None => format!("no file given holds seq {first}"),
    };
    Error::Config(format!(
        "the binlog given has no events {first}..={last}: {missing}; add the directory that holds them (binlog-archive-dir, the old node's binlog/)"
    ))
}

/// Build `config`'s data directory (which must hold no data) from the
/// backup at `backup`, then replay the binlog after it up to `point`, from the files in `binlog_dirs` (the old
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
    point: Point,
    binlog_dirs: &[PathBuf],
    archive: Option<&Path>,
) -> Result<Restored> {
    let backup = Backup::open(backup)?;
    let from = backup.info.seq;
    let mut dirs = binlog_dirs.to_vec();
    if let Some(a) = archive {
        // The archive keeps a directory per replication history: this
        // backup's. (A promotion starts a new one: events after it are
        // in that one, to be given with --restore-binlog.)
        let mine = a.join(&backup.info.replid);
        if backup.info.replid.is_empty() || !mine.is_dir() {
            return Err(Error::Config(format!(
                "{} has no directory for the history of this backup ({}): give the binlog directories with --restore-binlog",
                a.display(),
                if backup.info.replid.is_empty() { "unknown" } else { &backup.info.replid }
            )));
        }
        dirs.push(mine);
    }
    let to_seq = match point {
        Point::End => None,
        Point::Seq(s) => Some(s),
        Point::Time(ms) => {
            let seq = seq_at_time(&dirs, &backup, ms)?;
            info!(
                unix_ms = ms,
                seq, "the time index puts the point at this seq"
            );
            Some(seq)
        }
    };
    if let Some(to) = to_seq.filter(|&to| to < from) {
        return Err(Error::Config(format!(
            "--to-seq {to} is before the backup, which holds seq {from}: restore from an older backup"
        )));
    }
    fresh::refuse_used(config, "a restore")?;
    let files = index(&dirs, from)?;
    // A promotion goes on with the same seqs under a new replid: the
    // archive's other histories are named where a restore stops short.
    let others: Vec<PathBuf> = archive
        .and_then(|a| std::fs::read_dir(a).ok())
        .map(|d| {
            d.flatten()
                .map(|e| e.path())
                .filter(|p| p.is_dir() && !dirs.contains(p))
                .collect()
        })
        .unwrap_or_default();
    let chain = chain(&files, from, to_seq).map_err(|e| match e {
        Error::Config(why) if !others.is_empty() => Error::Config(format!(
            "{why}. The archive also holds other histories (a promoted node goes on under a new replid; give the one that continues this backup's with --restore-binlog): {}",
            others
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        )),
        e => e,
    })?;
    // Built aside, then put in place: a failed restore leaves nothing.
    let mut done = fresh::build_aside(config, "db.restoring", |dir| {
        replay(config, &backup, dir, &chain, to_seq)
    })?;
    done.other_histories = others;
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
    let store = fresh::open(config, dir)?;
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
    fresh::new_history(&store)?;
    Ok(Restored {
        backup_seq: from,
        seq: at,
        events: applied,
        other_histories: Vec::new(),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_times_read_as_unix_ms() {
        assert_eq!(parse_rfc3339("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(
            parse_rfc3339("2026-12-04T10:42:00Z"),
            Some(1_796_380_920_000)
        );
        assert_eq!(
            parse_rfc3339("2026-12-04T11:42:00.5+01:00"),
            Some(1_796_380_920_500)
        );
        assert_eq!(
            parse_rfc3339("2000-02-29T23:59:59.123-00:30"),
            Some(951_870_599_123)
        );
        for bad in [
            "",
            "2026-12-04",
            "2026-13-04T10:42:00Z",
            "2026-02-30T10:42:00Z",
            "2026-12-04T10:42:00+99:00",
            "2026-12-04T10:42:00é0:00",
            "2026-12-04T10:42:00+0é00",
            "2026-12-04T10:42:0é",
            "é026-12-04T10:42:00Z",
            "2026-12-04T10:42:00",
            "x026-12-04T10:42:00Z",
            "2026-12-04T10:42:00.Z",
        ] {
            assert_eq!(parse_rfc3339(bad), None, "{bad}");
        }
    }
}
