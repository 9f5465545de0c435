//! Read-only checks of a whole binlog directory (`rocksync-binlog verify`)
//! and event iteration over one file (`rocksync-binlog dump`).

use std::path::{Path, PathBuf};

use rocksync_protocol::LogEvent;

use crate::error::{Corruption, Error, Result};
use crate::record::FILE_HEADER_BYTES;
use crate::segment::{self, Next, RecordReader, SegmentScan};

/// What [`verify_dir`] found.
#[derive(Debug)]
pub struct VerifyReport {
    /// Every file checked, oldest first, up to the first damaged one.
    pub files: Vec<SegmentScan>,
    /// The damage found, if any (a torn tail in the newest file is not
    /// damage: it is in that file's [`SegmentScan::torn`]).
    pub error: Option<Error>,
}

impl VerifyReport {
    /// True when every record checks (a torn tail in the newest file allowed).
    pub fn is_ok(&self) -> bool {
        self.error.is_none()
    }
}

/// Check every segment in `dir`, changing nothing: each record's checksums,
/// DESC first, dense seqs within and across files, nothing after ROTATE or
/// STOP. A torn tail is allowed in the newest file only.
pub fn verify_dir(dir: &Path) -> VerifyReport {
    let mut report = VerifyReport {
        files: Vec::new(),
        error: None,
    };
    let ids = match segment::list_segments(dir) {
        Ok(ids) => ids,
        Err(e) => {
            report.error = Some(e);
            return report;
        }
    };
    let mut prev_last: Option<u64> = None;
    for (i, &id) in ids.iter().enumerate() {
        let scan = match segment::scan_segment(dir, id, i + 1 == ids.len()) {
            Ok(s) => s,
            Err(e) => {
                report.error = Some(e);
                return report;
            }
        };
        if let (Some(prev), Some(desc)) = (prev_last, scan.desc_seq) {
            if desc != prev {
                report.error = Some(Error::Corrupt {
                    path: dir.join(id.file_name()),
                    offset: FILE_HEADER_BYTES as u64,
                    reason: Corruption::SeqGap {
                        expected: prev + 1,
                        found: desc + 1,
                    },
                });
                report.files.push(scan);
                return report;
            }
        }
        prev_last = scan.last_seq().or(prev_last);
        report.files.push(scan);
    }
    report
}

/// The events of one binlog file with their byte offsets, control events
/// included, in file order. Iteration ends at the end of the file; damage
/// (a partial record included) is an [`Error::Corrupt`] item, after which
/// iteration stops.
pub struct SegmentEvents {
    path: PathBuf,
    records: Option<RecordReader>,
}

impl SegmentEvents {
    /// Open `path`.
    ///
    /// # Errors
    /// [`Error::Io`], or [`Error::Corrupt`] for a bad file header.
    pub fn open(path: &Path) -> Result<Self> {
        let records = RecordReader::open(path)?;
        if records.is_none() {
            return Err(Error::Corrupt {
                path: path.to_owned(),
                offset: 0,
                reason: Corruption::Truncated {
                    needed: FILE_HEADER_BYTES as u64,
                    found: std::fs::metadata(path).map_or(0, |m| m.len()),
                },
            });
        }
        Ok(Self {
            path: path.to_owned(),
            records,
        })
    }
}

impl Iterator for SegmentEvents {
    type Item = Result<(u64, LogEvent)>;

    fn next(&mut self) -> Option<Self::Item> {
        let records = self.records.as_mut()?;
        let corrupt = |offset, reason| Error::Corrupt {
            path: self.path.clone(),
            offset,
            reason,
        };
        let item = match records.next(u64::MAX) {
            Ok(Next::Record { offset, payload }) => {
                match segment::decode_event(&self.path, offset, payload) {
                    Ok(e) => return Some(Ok((offset, e))),
                    Err(e) => Err(e),
                }
            }
            Ok(Next::Incomplete { found: 0, .. }) => {
                self.records = None;
                return None;
            }
            Ok(Next::Incomplete {
                offset,
                needed,
                found,
            }) => Err(corrupt(
                offset,
                Corruption::Truncated {
                    needed: needed.unwrap_or(crate::record::RECORD_HEADER_BYTES) as u64,
                    found,
                },
            )),
            Ok(Next::Bad { offset, reason, .. }) => Err(corrupt(offset, reason)),
            Err(e) => Err(e),
        };
        self.records = None;
        Some(item)
    }
}
