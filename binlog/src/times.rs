//! The time index: beside each binlog file `N.binlog`, a file `N.times`
//! of (seq, unix ms) pairs, 16 bytes each (u64 LE, u64 LE), one a second
//! while events are written: "by this time, the binlog held up to this
//! seq". A restore to a time replays up to the last seq recorded at or
//! before it, so it never takes a write made after that time (and may
//! leave out the last second before it). Purge, reset and the archive
//! take a binlog file's times file with it. A cut last pair (a crash
//! mid-append) is ignored.

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::reader::Binlog;
use crate::segment::SegmentId;

/// Bytes of one pair.
const PAIR: usize = 16;

/// The times file beside binlog file `path` (`N.binlog` → `N.times`).
pub fn times_path(binlog_file: &Path) -> PathBuf {
    binlog_file.with_extension("times")
}

/// The (seq, unix ms) pairs of a times file, in file order (none when it
/// does not exist).
///
/// # Errors
/// [`Error::Io`] reading it.
pub fn read_times(path: &Path) -> Result<Vec<(u64, u64)>> {
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(Error::io(path)(e)),
    };
    Ok(bytes
        .chunks_exact(PAIR)
        .map(|c| {
            let mut seq = [0u8; 8];
            let mut ms = [0u8; 8];
            seq.copy_from_slice(&c[..8]);
            ms.copy_from_slice(&c[8..]);
            (u64::from_le_bytes(seq), u64::from_le_bytes(ms))
        })
        .collect())
}

impl Binlog {
    /// Record that by `unix_ms` the binlog held events up to `seq`, in
    /// the active file's times file (not fsynced: it is an index, and a
    /// lost pair only makes a restore to a time a second coarser).
    ///
    /// # Errors
    /// [`Error::Io`].
    pub fn record_time(&self, seq: u64, unix_ms: u64) -> Result<()> {
        let segment: SegmentId = self.committed().pos.segment;
        let path = times_path(&self.path_of(segment));
        let mut pair = [0u8; PAIR];
        pair[..8].copy_from_slice(&seq.to_le_bytes());
        pair[8..].copy_from_slice(&unix_ms.to_le_bytes());
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .and_then(|mut f| f.write_all(&pair))
            .map_err(Error::io(&path))
    }
}

/// At open: drop the pairs past `last_seq` (a cut tail's seqs are written
/// again, later) and the times files whose binlog file is gone. Best
/// effort: a times file that cannot be fixed is removed.
pub(crate) fn cut_after(dir: &Path, last_seq: u64) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let path = e.path();
        if path.extension().is_none_or(|x| x != "times") {
            continue;
        }
        if !path.with_extension("binlog").exists() {
            let _ = std::fs::remove_file(&path);
            continue;
        }
        let Ok(pairs) = read_times(&path) else {
            let _ = std::fs::remove_file(&path);
            continue;
        };
        if pairs.iter().all(|&(seq, _)| seq <= last_seq) {
            continue;
        }
        let kept: Vec<u8> = pairs
            .iter()
            .filter(|&&(seq, _)| seq <= last_seq)
            .flat_map(|&(seq, ms)| seq.to_le_bytes().into_iter().chain(ms.to_le_bytes()))
            .collect();
        let tmp = path.with_extension("times.tmp");
        if std::fs::write(&tmp, kept)
            .and_then(|()| std::fs::rename(&tmp, &path))
            .is_err()
        {
            let _ = std::fs::remove_file(&tmp);
            let _ = std::fs::remove_file(&path);
        }
    }
}

/// Remove the times file of binlog file `path`, if there is one.
pub(crate) fn remove_times(binlog_file: &Path) {
    let _ = std::fs::remove_file(times_path(binlog_file));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairs_read_back_and_a_cut_pair_is_ignored() {
        let dir = tempfile::tempdir().expect("tmp");
        let path = dir.path().join("00000001.times");
        let mut bytes = Vec::new();
        for (seq, ms) in [(5u64, 1000u64), (9, 2000)] {
            bytes.extend_from_slice(&seq.to_le_bytes());
            bytes.extend_from_slice(&ms.to_le_bytes());
        }
        bytes.extend_from_slice(&[1, 2, 3]);
        std::fs::write(&path, bytes).expect("write");
        assert_eq!(read_times(&path).expect("read"), [(5, 1000), (9, 2000)]);
        assert!(read_times(&dir.path().join("none.times"))
            .expect("read")
            .is_empty());
        assert_eq!(
            times_path(Path::new("/a/00000007.binlog")),
            Path::new("/a/00000007.times")
        );
        // At open: pairs past the last seq go, as do orphans.
        std::fs::write(dir.path().join("00000001.binlog"), b"").expect("write");
        std::fs::write(dir.path().join("00000002.times"), b"").expect("write");
        cut_after(dir.path(), 7);
        assert_eq!(read_times(&path).expect("read"), [(5, 1000)]);
        assert!(!dir.path().join("00000002.times").exists());
    }
}
