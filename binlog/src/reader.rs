//! The read side: the [`Binlog`] handle (index, pins, purge) and
//! [`BinlogReader`], which reads data events from any seq, follows ROTATE
//! and waits for new appends on a notification.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use rocksync_protocol::{Command, LogEvent};
use tokio::sync::watch;
use tracing::info;

use crate::error::{Corruption, Error, Result};
use crate::segment::{self, Next, RecordReader, SegmentId};
use crate::shared::{lock, Committed, Lease, SegmentInfo, Shared};

/// Which segments a purge may remove (always oldest first, and never the
/// active one, a leased one, or one holding a seq still needed).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PurgeRule {
    /// Files last written longer ago than this (`purge_logs_span`).
    OlderThan(Duration),
    /// Files before this one (`PURGE LOGS TO <file>`), not itself.
    To(SegmentId),
    /// Oldest files while all files together exceed this many bytes.
    Budget(u64),
}

/// What a purge removed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PurgeReport {
    /// Removed segments, oldest first.
    pub removed: Vec<SegmentId>,
    /// Bytes freed.
    pub bytes: u64,
}

/// The read side of a binlog: cheap to clone and share between tasks.
#[derive(Clone, Debug)]
pub struct Binlog {
    shared: Arc<Shared>,
}

impl Binlog {
    pub(crate) fn new(shared: Arc<Shared>) -> Self {
        Self { shared }
    }

    /// The binlog directory.
    pub fn dir(&self) -> &Path {
        &self.shared.dir
    }

    /// The end of the last append.
    pub fn committed(&self) -> Committed {
        self.shared.committed()
    }

    /// The last data seq appended.
    pub fn last_seq(&self) -> u64 {
        self.committed().last_seq
    }

    /// The oldest seq the binlog holds: a reader can resume after any
    /// `last_seq >= first_seq() - 1`.
    pub fn first_seq(&self) -> u64 {
        lock(&self.shared.index)
            .segments
            .first()
            .map_or(1, |s| s.first_seq)
    }

    /// The segments, oldest first; the last is the active one.
    pub fn segments(&self) -> Vec<SegmentInfo> {
        lock(&self.shared.index).segments.clone()
    }

    /// The path of a segment's file.
    pub fn path_of(&self, id: SegmentId) -> PathBuf {
        self.shared.path_of(id)
    }

    /// The segment holding `seq` (for a seq not yet written: the active one).
    pub fn segment_for_seq(&self, seq: u64) -> Option<SegmentId> {
        lock(&self.shared.index).segment_for_seq(seq)
    }

    /// The segment after `id`.
    pub fn next_segment(&self, id: SegmentId) -> Option<SegmentId> {
        lock(&self.shared.index)
            .segments
            .iter()
            .find(|s| s.id > id)
            .map(|s| s.id)
    }

    /// A receiver notified after every append, rotation and reset.
    pub fn subscribe(&self) -> watch::Receiver<Committed> {
        self.shared.committed.subscribe()
    }

    /// Keep every event from `seq` on until the lease drops (a slave's copy
    /// pins its snapshot's seq + 1 so streaming can follow the copy).
    pub fn pin(&self, seq: u64) -> Lease {
        let mut index = lock(&self.shared.index);
        self.shared.lease(&mut index, seq, u64::MAX)
    }

    /// A reader of the data events after `last_seq`.
    ///
    /// # Errors
    /// [`Error::Purged`] when seq `last_seq + 1` is no longer held,
    /// [`Error::Ahead`] when `last_seq` is past the last seq, [`Error::Io`]
    /// or [`Error::Corrupt`] opening the segment.
    pub fn reader_after(&self, last_seq: u64) -> Result<BinlogReader> {
        let mut rx = self.subscribe();
        let wanted = last_seq.saturating_add(1);
        let (segment, lease) = {
            let mut index = lock(&self.shared.index);
            let committed = *rx.borrow_and_update();
            if last_seq > committed.last_seq {
                return Err(Error::Ahead {
                    wanted: last_seq,
                    last: committed.last_seq,
                });
            }
            let first = index.segments.first().map_or(1, |s| s.first_seq);
            let segment = match index.segment_for_seq(wanted) {
                Some(s) if wanted >= first => s,
                _ => return Err(Error::Purged { wanted, first }),
            };
            let lease = self.shared.lease(&mut index, wanted, segment.0);
            (segment, lease)
        };
        let records = open_segment(&self.shared.path_of(segment))?;
        Ok(BinlogReader {
            shared: Arc::clone(&self.shared),
            rx,
            lease,
            segment,
            records,
            next_seq: wanted,
            positioned: false,
        })
    }

    /// Remove old segments by `rule`, keeping every event with seq >=
    /// `keep_from_seq` (what the caller still needs, e.g. its database's
    /// unflushed changes), the active segment, and what leases hold.
    ///
    /// # Errors
    /// [`Error::NoSuchFile`] for a `To` naming no segment here, [`Error::Io`].
    pub fn purge(&self, rule: &PurgeRule, keep_from_seq: u64) -> Result<PurgeReport> {
        let mut index = lock(&self.shared.index);
        if let PurgeRule::To(target) = rule {
            if !index.segments.iter().any(|s| s.id == *target) {
                return Err(Error::NoSuchFile(target.file_name()));
            }
        }
        let (leased_seq, leased_segment) = index.leased_min();
        let keep_seq = keep_from_seq.min(leased_seq);
        let mut sizes = Vec::with_capacity(index.segments.len());
        for s in &index.segments {
            let path = self.shared.path_of(s.id);
            let meta = std::fs::metadata(&path).map_err(Error::io(&path))?;
            sizes.push((meta.len(), meta.modified().ok()));
        }
        let mut total: u64 = sizes.iter().map(|(len, _)| len).sum();
        let now = SystemTime::now();
        let mut report = PurgeReport::default();
        for (i, pair) in index.segments.windows(2).enumerate() {
            let (seg, next) = (pair[0], pair[1]);
            let (len, modified) = sizes[i];
            let needed = next.first_seq > keep_seq || seg.id.0 >= leased_segment;
            let by_rule = match rule {
                PurgeRule::OlderThan(span) => modified
                    .and_then(|m| now.duration_since(m).ok())
                    .is_some_and(|age| age > *span),
                PurgeRule::To(target) => seg.id < *target,
                PurgeRule::Budget(budget) => total > *budget,
            };
            if needed || !by_rule {
                break;
            }
            let path = self.shared.path_of(seg.id);
            std::fs::remove_file(&path).map_err(Error::io(&path))?;
            crate::times::remove_times(&path);
            total -= len;
            report.removed.push(seg.id);
            report.bytes += len;
        }
        index.segments.drain(..report.removed.len());
        drop(index);
        if !report.removed.is_empty() {
            std::fs::File::open(&self.shared.dir)
                .and_then(|d| d.sync_all())
                .map_err(Error::io(&self.shared.dir))?;
            info!(files = report.removed.len(), bytes = report.bytes, rule = ?rule, "binlog purged");
        }
        Ok(report)
    }
}

fn open_segment(path: &Path) -> Result<RecordReader> {
    RecordReader::open(path)?.ok_or_else(|| Error::Corrupt {
        path: path.to_owned(),
        offset: 0,
        reason: Corruption::MissingDesc,
    })
}

/// Reads data events in seq order from a starting seq, across segments.
/// DESC is skipped, ROTATE followed, and a sealed segment's end leads to
/// the next one. It reads only what the writer has committed, so it never
/// sees half an append. While it lives, purge keeps what it still needs.
#[derive(Debug)]
pub struct BinlogReader {
    shared: Arc<Shared>,
    rx: watch::Receiver<Committed>,
    lease: Lease,
    segment: SegmentId,
    records: RecordReader,
    next_seq: u64,
    /// Past the events before the start (in the first file): from here on
    /// a seq below `next_seq` is a history that went backwards, an error.
    positioned: bool,
}

impl std::fmt::Debug for RecordReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "RecordReader({} @ {})",
            self.path().display(),
            self.offset()
        )
    }
}

impl BinlogReader {
    /// The seq of the next data event this reader returns.
    pub fn next_seq(&self) -> u64 {
        self.next_seq
    }

    /// The segment being read.
    pub fn segment(&self) -> SegmentId {
        self.segment
    }

    fn corrupt(&self, offset: u64, reason: Corruption) -> Error {
        Error::Corrupt {
            path: self.records.path().to_owned(),
            offset,
            reason,
        }
    }

    fn advance_segment(&mut self, named: Option<&[u8]>) -> Result<()> {
        let next = {
            let index = lock(&self.shared.index);
            index
                .segments
                .iter()
                .find(|s| s.id > self.segment)
                .map(|s| s.id)
        };
        let Some(next) = next else {
            return Err(self.corrupt(
                self.records.offset(),
                Corruption::Event("sealed segment has no successor".into()),
            ));
        };
        if let Some(name) = named {
            if name != next.file_name().as_bytes() {
                return Err(self.corrupt(
                    self.records.offset(),
                    Corruption::Event(format!(
                        "ROTATE names {}, next file is {next}",
                        String::from_utf8_lossy(name)
                    )),
                ));
            }
        }
        self.lease.set_segment(next);
        self.records = open_segment(&self.shared.path_of(next))?;
        self.segment = next;
        self.positioned = true;
        Ok(())
    }

    /// The next data event if one is committed; `Ok(None)` at the end.
    ///
    /// # Errors
    /// [`Error::Corrupt`] naming file and offset of a bad record or a seq
    /// out of order, [`Error::Io`].
    pub fn try_next(&mut self) -> Result<Option<LogEvent>> {
        loop {
            let committed = *self.rx.borrow_and_update();
            let sealed = self.segment < committed.pos.segment;
            let limit = if sealed {
                u64::MAX
            } else {
                committed.pos.offset
            };
            match self.records.next(limit)? {
                Next::Record { offset, payload } => {
                    let event = segment::decode_event(self.records.path(), offset, payload)?;
                    match event.cmd {
                        Command::Rotate => {
                            let name = event.key.clone();
                            self.advance_segment(Some(&name))?;
                        }
                        cmd if cmd.is_data() => {
                            if event.seq < self.next_seq && !self.positioned {
                                continue;
                            }
                            if event.seq != self.next_seq {
                                return Err(self.corrupt(
                                    offset,
                                    Corruption::SeqGap {
                                        expected: self.next_seq,
                                        found: event.seq,
                                    },
                                ));
                            }
                            self.next_seq += 1;
                            self.positioned = true;
                            self.lease.set_seq(self.next_seq);
                            return Ok(Some(event));
                        }
                        // DESC, STOP and anything else carry no data.
                        _ => {}
                    }
                }
                Next::Incomplete {
                    offset,
                    needed,
                    found,
                } => {
                    if !sealed {
                        return Ok(None);
                    }
                    if found > 0 {
                        let needed = needed.unwrap_or(crate::record::RECORD_HEADER_BYTES) as u64;
                        return Err(self.corrupt(offset, Corruption::Truncated { needed, found }));
                    }
                    self.advance_segment(None)?;
                }
                Next::Bad { offset, reason, .. } => return Err(self.corrupt(offset, reason)),
            }
        }
    }

    /// The next data event, waiting up to `timeout` for one to be
    /// appended; `Ok(None)` when none came. Wakes on the writer's
    /// notification, not by polling.
    ///
    /// # Errors
    /// As [`BinlogReader::try_next`].
    pub async fn next_timeout(&mut self, timeout: Duration) -> Result<Option<LogEvent>> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            if let Some(e) = self.try_next()? {
                return Ok(Some(e));
            }
            match tokio::time::timeout_at(deadline, self.rx.changed()).await {
                Ok(Ok(())) => {}
                // The sender lives as long as this reader: neither happens
                // before the deadline unless the writer is gone for good.
                Ok(Err(_)) => return Err(Error::Closed),
                Err(_) => return Ok(None),
            }
        }
    }
}
