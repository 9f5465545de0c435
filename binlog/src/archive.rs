//! The binlog archive (`binlog-archive-dir`): sealed files copied to a
//! directory of their own before purge may remove them, so that every
//! change since the oldest backup kept stays on disk for a restore.
//!
//! A file is named by the first seq it holds (`<seq, 20 digits>.binlog`:
//! a binlog that restarts its file numbers, after a full copy, never
//! reuses a name for other events), copied under a `.tmp` name, fsynced,
//! read back (every record's checksums, and exactly the seqs the live file
//! holds), then renamed into place and the directory fsynced: a file in
//! the archive under its own name is whole and checked. A file already
//! there with the same length is taken as archived; one of another length
//! is another history's (the caller gives each history a directory of its
//! own): an error, and nothing is purged. One archiving at a time in a
//! process.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use crate::error::{Corruption, Error, Result};
use crate::reader::Binlog;
use crate::segment::SegmentId;
use crate::verify::SegmentEvents;

/// What [`Binlog::archive`] did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ArchiveReport {
    /// Files copied now, oldest first.
    pub copied: Vec<SegmentId>,
    /// Their bytes.
    pub bytes: u64,
    /// The first seq not in the archive (the active file's first): purge
    /// may remove what comes before it.
    pub keep_from: u64,
}

/// Held while a process archives (the purge task and PURGE LOGS may both
/// ask at once; they would share the `.tmp` file).
static ARCHIVING: Mutex<()> = Mutex::new(());

/// The archive's name for a file whose first data seq is `first_seq`.
pub fn archive_name(first_seq: u64) -> String {
    format!("{first_seq:020}.binlog")
}

fn sync_dir(dir: &Path) -> Result<()> {
    std::fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(Error::io(dir))
}

/// Read `path` back: every record whole and checked, its data seqs
/// exactly `first..=last`.
fn check_copy(path: &Path, first: u64, last: u64) -> Result<()> {
    let mut next = first;
    for item in SegmentEvents::open(path)? {
        let (offset, e) = item?;
        if !e.cmd.is_data() {
            continue;
        }
        if e.seq != next {
            return Err(Error::Corrupt {
                path: path.to_owned(),
                offset,
                reason: Corruption::SeqGap {
                    expected: next,
                    found: e.seq,
                },
            });
        }
        next += 1;
    }
    if next != last + 1 {
        return Err(Error::Corrupt {
            path: path.to_owned(),
            offset: std::fs::metadata(path).map_or(0, |m| m.len()),
            reason: Corruption::SeqGap {
                expected: next,
                found: last + 1,
            },
        });
    }
    Ok(())
}

/// Remove the archived files (and their time indexes) in `dir` that hold
/// only seqs up to `seq`: those no restore from a backup holding `seq` or
/// later needs. The newest file always stays. The files removed.
///
/// # Errors
/// [`Error::Io`].
pub fn prune_archive(dir: &Path, seq: u64) -> Result<Vec<PathBuf>> {
    let _one = ARCHIVING
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let mut files: Vec<(u64, PathBuf)> = match std::fs::read_dir(dir) {
        Ok(d) => d
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "binlog"))
            .filter_map(|p| {
                let first = p.file_stem()?.to_str()?.parse().ok()?;
                Some((first, p))
            })
            .collect(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(Error::io(dir)(e)),
    };
    files.sort();
    let mut removed = Vec::new();
    for pair in files.windows(2) {
        // the file holds seqs up to the next one's first, exclusive
        if pair[1].0 > seq.saturating_add(1) {
            break;
        }
        let path = &pair[0].1;
        std::fs::remove_file(path).map_err(Error::io(path))?;
        crate::times::remove_times(path);
        removed.push(path.clone());
    }
    if !removed.is_empty() {
        sync_dir(dir)?;
    }
    Ok(removed)
}

impl Binlog {
    /// Copy every sealed file not yet in `dir` there, checked and durable
    /// (see the module). Stops at the first file that fails: what it
    /// reports archived is archived.
    ///
    /// # Errors
    /// File errors (a full disk among them), and damage found in a copy.
    pub fn archive(&self, dir: &Path) -> Result<ArchiveReport> {
        self.archive_by(&|_| dir.to_owned())
    }

    /// As [`Binlog::archive`], each file into the directory `dir_of`
    /// names for its last data seq (the history it belongs to: files
    /// sealed before a promotion are the old history's, however late
    /// they are copied).
    ///
    /// # Errors
    /// As [`Binlog::archive`].
    pub fn archive_by(&self, dir_of: &dyn Fn(u64) -> PathBuf) -> Result<ArchiveReport> {
        let _one = ARCHIVING
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let segments = self.segments();
        let mut report = ArchiveReport {
            keep_from: segments.last().map_or(0, |s| s.first_seq),
            ..ArchiveReport::default()
        };
        for pair in segments.windows(2) {
            let (seg, next) = (pair[0], pair[1]);
            if next.first_seq == seg.first_seq {
                // no data (a file a restart sealed at once): nothing to keep
                continue;
            }
            let src = self.path_of(seg.id);
            let dir = &dir_of(next.first_seq - 1);
            std::fs::create_dir_all(dir).map_err(Error::io(dir))?;
            let name = archive_name(seg.first_seq);
            let dst = dir.join(&name);
            let len = std::fs::metadata(&src).map_err(Error::io(&src))?.len();
            match std::fs::metadata(&dst) {
                Ok(m) if m.len() == len => continue,
                Ok(m) => {
                    return Err(Error::io(&dst)(std::io::Error::other(format!(
                    "already archived with {} bytes where {} holds {len}: another history's file",
                    m.len(),
                    src.display()
                ))))
                }
                Err(_) => {}
            }
            let tmp: PathBuf = dir.join(format!("{name}.tmp"));
            let copied = std::fs::copy(&src, &tmp)
                .and_then(|_| std::fs::File::open(&tmp)?.sync_all())
                .map_err(Error::io(&tmp))
                .and_then(|()| check_copy(&tmp, seg.first_seq, next.first_seq - 1));
            if let Err(e) = copied {
                let _ = std::fs::remove_file(&tmp);
                return Err(e);
            }
            // Its time index first (a restore to a time reads it): the
            // file's own name, given last, says both are there.
            let times = crate::times::times_path(&src);
            if times.exists() {
                let to = crate::times::times_path(&dst);
                let times_tmp = dir.join(format!("{name}.times.tmp"));
                let copied = std::fs::copy(&times, &times_tmp)
                    .and_then(|_| std::fs::File::open(&times_tmp)?.sync_all())
                    .and_then(|()| std::fs::rename(&times_tmp, &to))
                    .map_err(Error::io(&to));
                if let Err(e) = copied {
                    let _ = std::fs::remove_file(&times_tmp);
                    let _ = std::fs::remove_file(&tmp);
                    return Err(e);
                }
            }
            std::fs::rename(&tmp, &dst).map_err(Error::io(&dst))?;
            sync_dir(dir)?;
            report.copied.push(seg.id);
            report.bytes += len;
        }
        Ok(report)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pruning_keeps_every_file_a_later_seq_needs() {
        let dir = tempfile::tempdir().expect("tmp");
        for first in [1u64, 101, 201, 301] {
            std::fs::write(dir.path().join(archive_name(first)), b"x").expect("write");
            std::fs::write(
                crate::times::times_path(&dir.path().join(archive_name(first))),
                b"",
            )
            .expect("write");
        }
        // seq 150 is in the file from 101: the one from 1 goes.
        let gone = prune_archive(dir.path(), 150).expect("prune");
        assert_eq!(gone, [dir.path().join(archive_name(1))]);
        assert!(!crate::times::times_path(&gone[0]).exists());
        // seq 300 ends the file from 201: 101 and 201 go, 301 stays.
        assert_eq!(prune_archive(dir.path(), 300).expect("prune").len(), 2);
        // the newest stays whatever the seq
        assert!(prune_archive(dir.path(), u64::MAX)
            .expect("prune")
            .is_empty());
        assert!(dir.path().join(archive_name(301)).exists());
    }
}
