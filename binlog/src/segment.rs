//! Segment files: their names, a buffered record reader over one file, and
//! the full scan that recovery and `verify` share.

use std::fmt;
use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

use bytes::{Buf, Bytes, BytesMut};
use rocksync_protocol::{Command, LogEvent};

use crate::error::{Corruption, Error, Result};
use crate::record::{self, Decoded, HeaderCheck, FILE_HEADER_BYTES, RECORD_HEADER_BYTES};

/// A segment's number: file `00000001.binlog` is `SegmentId(1)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SegmentId(pub u64);

impl SegmentId {
    /// The file name, zero-padded to 8 digits.
    pub fn file_name(self) -> String {
        format!("{:08}.binlog", self.0)
    }

    /// Parse a file name made by [`SegmentId::file_name`].
    pub fn from_file_name(name: &str) -> Option<Self> {
        let digits = name.strip_suffix(".binlog")?;
        if digits.len() < 8 || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        digits.parse().ok().filter(|&n| n > 0).map(SegmentId)
    }

    /// The segment after this one.
    pub fn next(self) -> Self {
        Self(self.0 + 1)
    }
}

impl fmt::Display for SegmentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.file_name())
    }
}

/// A position in the binlog: a segment and a byte offset in it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct LogPos {
    /// The segment.
    pub segment: SegmentId,
    /// Byte offset in the segment's file.
    pub offset: u64,
}

/// The segments in `dir`, in order.
pub(crate) fn list_segments(dir: &Path) -> Result<Vec<SegmentId>> {
    let mut ids = Vec::new();
    let entries = std::fs::read_dir(dir).map_err(Error::io(dir))?;
    for entry in entries {
        let entry = entry.map_err(Error::io(dir))?;
        if let Some(id) = entry
            .file_name()
            .to_str()
            .and_then(SegmentId::from_file_name)
        {
            ids.push(id);
        }
    }
    ids.sort_unstable();
    Ok(ids)
}

/// One read from a [`RecordReader`].
#[derive(Debug)]
pub(crate) enum Next {
    /// A valid record at `offset`.
    Record {
        /// Its offset.
        offset: u64,
        /// Its payload.
        payload: Bytes,
    },
    /// The bytes at `offset` (up to the read limit) are not a whole record.
    Incomplete {
        /// Where the partial record starts.
        offset: u64,
        /// The record's full size when its header was readable.
        needed: Option<usize>,
        /// Bytes present from `offset` to the limit.
        found: u64,
    },
    /// A damaged record at `offset`.
    Bad {
        /// Where it starts.
        offset: u64,
        /// What is wrong.
        reason: Corruption,
        /// Bytes it spans when its header was valid.
        total: Option<usize>,
    },
}

const READ_CHUNK_BYTES: usize = 256 * 1024;

/// Reads records from one segment file through a buffer. Reading past the
/// current end later sees what was appended since, so one reader serves
/// both scans and tailing.
pub(crate) struct RecordReader {
    path: PathBuf,
    file: File,
    buf: BytesMut,
    /// File offset of `buf[0]`.
    buf_offset: u64,
}

impl RecordReader {
    /// Open `path` and check its header.
    ///
    /// Returns `Ok(None)` when the file is shorter than a header (a file
    /// being created, or torn at creation).
    pub(crate) fn open(path: &Path) -> Result<Option<Self>> {
        let mut file = File::open(path).map_err(Error::io(path))?;
        let mut header = [0u8; FILE_HEADER_BYTES];
        let mut got = 0;
        while got < header.len() {
            let n = file.read(&mut header[got..]).map_err(Error::io(path))?;
            if n == 0 {
                break;
            }
            got += n;
        }
        let corrupt = |reason| Error::Corrupt {
            path: path.to_owned(),
            offset: 0,
            reason,
        };
        match record::check_file_header(&header[..got]) {
            HeaderCheck::Ok => {}
            HeaderCheck::Short => return Ok(None),
            HeaderCheck::BadMagic => return Err(corrupt(Corruption::BadMagic)),
            HeaderCheck::BadVersion(v) => return Err(corrupt(Corruption::BadVersion(v))),
        }
        Ok(Some(Self {
            path: path.to_owned(),
            file,
            buf: BytesMut::with_capacity(READ_CHUNK_BYTES),
            buf_offset: FILE_HEADER_BYTES as u64,
        }))
    }

    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// Offset of the next record to be read.
    pub(crate) fn offset(&self) -> u64 {
        self.buf_offset
    }

    /// Read more bytes, never past file offset `limit`; false when none came.
    fn fill(&mut self, want: usize, limit: u64) -> Result<bool> {
        let end = self.buf_offset + self.buf.len() as u64;
        let room = limit.saturating_sub(end);
        if room == 0 {
            return Ok(false);
        }
        let chunk = want.max(READ_CHUNK_BYTES).min(room as usize);
        let old = self.buf.len();
        self.buf.resize(old + chunk, 0);
        let mut got = 0;
        let result = loop {
            match self.file.read(&mut self.buf[old + got..]) {
                Ok(0) => break Ok(()),
                Ok(n) => {
                    got += n;
                    if got == chunk {
                        break Ok(());
                    }
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => break Err(e),
            }
        };
        self.buf.truncate(old + got);
        result.map_err(Error::io(&self.path))?;
        Ok(got > 0)
    }

    /// The next record, reading no further than file offset `limit`.
    pub(crate) fn next(&mut self, limit: u64) -> Result<Next> {
        loop {
            let offset = self.buf_offset;
            match record::decode_record(&self.buf) {
                Decoded::Record { payload_len } => {
                    self.buf.advance(RECORD_HEADER_BYTES);
                    let payload = self.buf.split_to(payload_len).freeze();
                    self.buf_offset += (RECORD_HEADER_BYTES + payload_len) as u64;
                    return Ok(Next::Record { offset, payload });
                }
                Decoded::Incomplete { needed } => {
                    let want = needed.unwrap_or(RECORD_HEADER_BYTES) - self.buf.len();
                    if !self.fill(want, limit)? {
                        return Ok(Next::Incomplete {
                            offset,
                            needed,
                            found: self.buf.len() as u64,
                        });
                    }
                }
                Decoded::BadHeader { expected, actual } => {
                    return Ok(Next::Bad {
                        offset,
                        reason: Corruption::HeaderChecksum { expected, actual },
                        total: None,
                    })
                }
                Decoded::TooLarge(len) => {
                    return Ok(Next::Bad {
                        offset,
                        reason: Corruption::TooLarge(len),
                        total: None,
                    })
                }
                Decoded::BadPayload {
                    expected,
                    actual,
                    total,
                } => {
                    return Ok(Next::Bad {
                        offset,
                        reason: Corruption::PayloadChecksum { expected, actual },
                        total: Some(total),
                    })
                }
            }
        }
    }

    /// True when every byte from the current offset to EOF is zero.
    fn rest_is_zero(&mut self) -> Result<bool> {
        loop {
            if self.buf.iter().any(|&b| b != 0) {
                return Ok(false);
            }
            self.buf_offset += self.buf.len() as u64;
            self.buf.clear();
            if !self.fill(READ_CHUNK_BYTES, u64::MAX)? {
                return Ok(true);
            }
        }
    }
}

/// A torn tail: what a crash during an append leaves at the end of the
/// newest file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TornTail {
    /// Where the last good record ends and the torn bytes begin.
    pub offset: u64,
    /// How many bytes follow, up to the end of the file.
    pub bytes: u64,
}

/// What a full scan of one segment found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SegmentScan {
    /// The segment.
    pub id: SegmentId,
    /// File size in bytes.
    pub size: u64,
    /// Valid records, DESC included.
    pub records: u64,
    /// DESC's seq: the last seq before this file (None: no whole DESC).
    pub desc_seq: Option<u64>,
    /// The last data seq in the file, if it holds any.
    pub last_data_seq: Option<u64>,
    /// ROTATE or STOP, when the file ends with one.
    pub ended_by: Option<Command>,
    /// Where the last good record ends.
    pub good_end: u64,
    /// Where the last whole command ends: after DESC, or after a data
    /// event that is not followed by more of its command (`more` false),
    /// or after ROTATE/STOP.
    pub command_end: u64,
    /// The last data seq of a whole command (None: none in the file).
    pub last_command_seq: Option<u64>,
    /// The torn tail, when the file is the newest and has one.
    pub torn: Option<TornTail>,
}

impl SegmentScan {
    /// The last seq the file accounts for (its last data seq, else DESC's).
    pub fn last_seq(&self) -> Option<u64> {
        self.last_data_seq.or(self.desc_seq)
    }

    /// The last seq of a whole command (else DESC's).
    pub fn last_command_seq(&self) -> Option<u64> {
        self.last_command_seq.or(self.desc_seq)
    }
}

/// Decode a record's payload, naming file and offset on failure.
pub(crate) fn decode_event(path: &Path, offset: u64, payload: Bytes) -> Result<LogEvent> {
    LogEvent::decode(payload).map_err(|e| Error::Corrupt {
        path: path.to_owned(),
        offset,
        reason: Corruption::Event(e.to_string()),
    })
}

/// Scan a whole segment, checking every record, DESC first, dense data
/// seqs and nothing after ROTATE or STOP.
///
/// `newest`: damage at the very end is a torn tail (reported, not an
/// error) rather than corruption. A torn tail is: a record cut short by the
/// end of the file; a whole record whose payload checksum fails and which
/// ends exactly at the end of the file; or zeros from the last good record
/// to the end. A newest file shorter than its header is all torn tail.
///
/// # Errors
/// [`Error::Corrupt`] naming the file and offset of any other damage.
pub fn scan_segment(dir: &Path, id: SegmentId, newest: bool) -> Result<SegmentScan> {
    let path = dir.join(id.file_name());
    let size = std::fs::metadata(&path).map_err(Error::io(&path))?.len();
    let mut scan = SegmentScan {
        id,
        size,
        records: 0,
        desc_seq: None,
        last_data_seq: None,
        ended_by: None,
        good_end: 0,
        command_end: 0,
        last_command_seq: None,
        torn: None,
    };
    let corrupt = |offset, reason| Error::Corrupt {
        path: path.clone(),
        offset,
        reason,
    };
    let Some(mut reader) = RecordReader::open(&path)? else {
        if newest {
            scan.torn = Some(TornTail {
                offset: 0,
                bytes: size,
            });
            return Ok(scan);
        }
        return Err(corrupt(
            0,
            Corruption::Truncated {
                needed: FILE_HEADER_BYTES as u64,
                found: size,
            },
        ));
    };
    scan.good_end = FILE_HEADER_BYTES as u64;
    loop {
        match reader.next(u64::MAX)? {
            Next::Record { offset, payload } => {
                if let Some(cmd) = scan.ended_by {
                    return Err(corrupt(offset, Corruption::AfterEnd(cmd)));
                }
                let event = decode_event(&path, offset, payload)?;
                match (scan.desc_seq, event.cmd) {
                    (None, Command::Desc) => scan.desc_seq = Some(event.seq),
                    (None, _) => return Err(corrupt(offset, Corruption::MissingDesc)),
                    (Some(_), Command::Rotate | Command::Stop) => scan.ended_by = Some(event.cmd),
                    (Some(desc), cmd) if cmd.is_data() => {
                        let expected = scan.last_data_seq.unwrap_or(desc) + 1;
                        if event.seq != expected {
                            return Err(corrupt(
                                offset,
                                Corruption::SeqGap {
                                    expected,
                                    found: event.seq,
                                },
                            ));
                        }
                        scan.last_data_seq = Some(event.seq);
                    }
                    (Some(_), _) => {
                        return Err(corrupt(
                            offset,
                            Corruption::Event(format!("unexpected {} event", event.cmd.name())),
                        ))
                    }
                }
                scan.records += 1;
                scan.good_end = reader.offset();
                if !event.more {
                    scan.command_end = scan.good_end;
                    if event.cmd.is_data() {
                        scan.last_command_seq = Some(event.seq);
                    }
                }
            }
            Next::Incomplete { offset, .. } if offset == size => return Ok(scan),
            Next::Incomplete {
                offset,
                needed,
                found,
            } => {
                if newest {
                    scan.torn = Some(TornTail {
                        offset,
                        bytes: size - offset,
                    });
                    return Ok(scan);
                }
                let needed = needed.unwrap_or(RECORD_HEADER_BYTES) as u64;
                return Err(corrupt(offset, Corruption::Truncated { needed, found }));
            }
            Next::Bad {
                offset,
                reason,
                total,
            } => {
                let ends_at_eof = total.is_some_and(|t| offset + t as u64 == size);
                if newest && (ends_at_eof || reader.rest_is_zero()?) {
                    scan.torn = Some(TornTail {
                        offset,
                        bytes: size - offset,
                    });
                    return Ok(scan);
                }
                return Err(corrupt(offset, reason));
            }
        }
    }
}

/// Read only a segment's DESC: the last seq before the file.
///
/// # Errors
/// [`Error::Corrupt`] when the file's header or first record is damaged or
/// is not DESC.
pub(crate) fn read_desc(dir: &Path, id: SegmentId) -> Result<u64> {
    let path = dir.join(id.file_name());
    let corrupt = |offset, reason| Error::Corrupt {
        path: path.clone(),
        offset,
        reason,
    };
    let Some(mut reader) = RecordReader::open(&path)? else {
        return Err(corrupt(0, Corruption::MissingDesc));
    };
    match reader.next(u64::MAX)? {
        Next::Record { offset, payload } => {
            let event = decode_event(&path, offset, payload)?;
            if event.cmd == Command::Desc {
                Ok(event.seq)
            } else {
                Err(corrupt(offset, Corruption::MissingDesc))
            }
        }
        Next::Incomplete { offset, .. } => Err(corrupt(offset, Corruption::MissingDesc)),
        Next::Bad { offset, reason, .. } => Err(corrupt(offset, reason)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        assert_eq!(SegmentId(1).file_name(), "00000001.binlog");
        assert_eq!(
            SegmentId::from_file_name("00000042.binlog"),
            Some(SegmentId(42))
        );
        assert_eq!(
            SegmentId::from_file_name("123456789.binlog"),
            Some(SegmentId(123_456_789))
        );
        assert_eq!(SegmentId::from_file_name("00000000.binlog"), None);
        assert_eq!(SegmentId::from_file_name("0000001.binlog"), None);
        assert_eq!(SegmentId::from_file_name("0000000x.binlog"), None);
        assert_eq!(SegmentId::from_file_name("00000001.binlog.tmp"), None);
    }
}
