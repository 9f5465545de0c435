//! The binlog writer: recovery on open, group append, fsync policy,
//! rotation, reset and a clean close.

use std::fmt;
use std::fs::{File, OpenOptions};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use bytes::BytesMut;
use rocksync_protocol::LogEvent;
use serde::{Deserialize, Serialize};
use tracing::{error, info, warn};

use crate::error::{Error, Result};
use crate::reader::Binlog;
use crate::record;
use crate::segment::{self, LogPos, SegmentId, TornTail};
use crate::shared::{lock, Committed, SegmentInfo, Shared};

/// When appended records are fsynced (Redis's `appendfsync`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FsyncPolicy {
    /// After every append, before it returns.
    Always,
    /// By a background thread, at most one second after the append.
    #[default]
    EverySec,
    /// Left to the OS.
    No,
}

impl FsyncPolicy {
    /// The name used in config files and INFO.
    pub fn name(self) -> &'static str {
        match self {
            Self::Always => "always",
            Self::EverySec => "everysec",
            Self::No => "no",
        }
    }
}

impl fmt::Display for FsyncPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for FsyncPolicy {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        match s {
            "always" => Ok(Self::Always),
            "everysec" => Ok(Self::EverySec),
            "no" => Ok(Self::No),
            other => Err(Error::Config(format!(
                "binlog_fsync must be always, everysec or no, not '{other}'"
            ))),
        }
    }
}

/// Default `max_binlog_size`: 100 MiB.
pub const DEFAULT_MAX_BINLOG_SIZE_BYTES: u64 = 100 * 1024 * 1024;

/// Where and how the binlog is written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BinlogConfig {
    /// The directory holding the segment files.
    pub dir: PathBuf,
    /// A segment rotates once it passes this many bytes (default 100 MiB).
    pub max_binlog_size_bytes: u64,
    /// When appends are fsynced (default everysec).
    pub fsync: FsyncPolicy,
}

impl BinlogConfig {
    /// The defaults, in `dir`.
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self {
            dir: dir.into(),
            max_binlog_size_bytes: DEFAULT_MAX_BINLOG_SIZE_BYTES,
            fsync: FsyncPolicy::default(),
        }
    }

    /// Check the values.
    ///
    /// # Errors
    /// [`Error::Config`] naming the bad key.
    pub fn validate(&self) -> Result<()> {
        if self.max_binlog_size_bytes < 4096 {
            return Err(Error::Config(format!(
                "max_binlog_size must be at least 4096 bytes, not {}",
                self.max_binlog_size_bytes
            )));
        }
        Ok(())
    }
}

/// What opening the binlog found and repaired.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Recovery {
    /// Segment files found.
    pub segments: usize,
    /// The last data seq found.
    pub last_seq: u64,
    /// A torn tail cut from the newest file.
    pub truncated: Option<(PathBuf, TornTail)>,
    /// Newest files that held no whole DESC (torn at creation), removed.
    pub removed: Vec<PathBuf>,
    /// The last run ended with a clean close (the newest file ends with
    /// STOP), or there was no binlog.
    pub clean_shutdown: bool,
}

/// State shared with the everysec fsync thread.
#[derive(Debug)]
struct SyncTarget {
    file: Mutex<Arc<File>>,
    dirty: AtomicBool,
    /// The last background fsync failed (with why): appends are refused
    /// until one succeeds.
    failed: Mutex<Option<String>>,
    stop: Mutex<bool>,
    wake: Condvar,
}

/// The everysec fsync thread.
#[derive(Debug)]
struct Syncer {
    target: Arc<SyncTarget>,
    thread: Option<JoinHandle<()>>,
}

impl Syncer {
    fn start(file: Arc<File>, dir: PathBuf) -> Result<Self> {
        let target = Arc::new(SyncTarget {
            file: Mutex::new(file),
            dirty: AtomicBool::new(false),
            failed: Mutex::new(None),
            stop: Mutex::new(false),
            wake: Condvar::new(),
        });
        let t = Arc::clone(&target);
        let thread = std::thread::Builder::new()
            .name("binlog-fsync".into())
            .spawn(move || loop {
                let mut stop = lock(&t.stop);
                if !*stop {
                    stop = t
                        .wake
                        .wait_timeout(stop, Duration::from_secs(1))
                        .unwrap_or_else(std::sync::PoisonError::into_inner)
                        .0;
                }
                let stopping = *stop;
                drop(stop);
                let mut failure = None;
                if t.dirty.swap(false, Ordering::AcqRel) {
                    let file = Arc::clone(&lock(&t.file));
                    if let Err(e) = file.sync_data() {
                        failure = Some(e.to_string());
                        t.dirty.store(true, Ordering::Release);
                    }
                }
                let mut failed = lock(&t.failed);
                match (&failure, failed.is_some()) {
                    (Some(e), _) => error!(dir = %dir.display(), error = %e, "binlog fsync failed; appends refused until one succeeds"),
                    (None, true) => info!(dir = %dir.display(), "binlog fsync works again"),
                    (None, false) => {}
                }
                *failed = failure;
                drop(failed);
                if stopping {
                    return;
                }
            })
            .map_err(Error::io("binlog-fsync thread"))?;
        Ok(Self {
            target,
            thread: Some(thread),
        })
    }

    fn stop(&mut self) {
        *lock(&self.target.stop) = true;
        self.target.wake.notify_all();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for Syncer {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Where the binlog stood before a [`BinlogWriter::stage`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[must_use = "staged events are published or taken back"]
pub struct Staged {
    size: u64,
    last_seq: u64,
}

/// Appends events to the binlog. One writer per directory; readers come
/// from [`BinlogWriter::handle`].
#[derive(Debug)]
pub struct BinlogWriter {
    shared: Arc<Shared>,
    config: BinlogConfig,
    file: Arc<File>,
    active: SegmentId,
    size: u64,
    last_seq: u64,
    buf: BytesMut,
    syncer: Option<Syncer>,
    closed: bool,
}

fn fsync_dir(dir: &Path) -> Result<()> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(Error::io(dir))
}

/// Create segment `id` holding its header and DESC(`last_seq`), durable
/// (file and directory fsynced) before it returns.
fn create_segment(dir: &Path, id: SegmentId, last_seq: u64) -> Result<(File, u64)> {
    let path = dir.join(id.file_name());
    let file = OpenOptions::new()
        .write(true)
        .read(true)
        .create_new(true)
        .open(&path)
        .map_err(Error::io(&path))?;
    let mut buf = BytesMut::with_capacity(64);
    buf.extend_from_slice(&record::file_header());
    let desc = LogEvent::desc(last_seq);
    record::encode_record(&mut buf, |b| desc.encode(b));
    file.write_all_at(&buf, 0).map_err(Error::io(&path))?;
    file.sync_all().map_err(Error::io(&path))?;
    fsync_dir(dir)?;
    Ok((file, buf.len() as u64))
}

impl BinlogWriter {
    /// Open (or create) the binlog in `config.dir`.
    ///
    /// Recovery: the newest file is scanned whole; a torn tail is cut (and
    /// logged with file and offset); a newest file with no whole DESC is
    /// removed. Older files are indexed by their DESC only: their records
    /// are checked when read, and by [`crate::verify_dir`]. Writing then
    /// continues in a new segment, so a file is never appended to after a
    /// restart.
    ///
    /// # Errors
    /// [`Error::Corrupt`] for damage that is not a torn tail, [`Error::Io`],
    /// [`Error::Config`].
    pub fn open(config: BinlogConfig) -> Result<(Self, Recovery)> {
        config.validate()?;
        let dir = config.dir.clone();
        std::fs::create_dir_all(&dir).map_err(Error::io(&dir))?;
        let mut ids = segment::list_segments(&dir)?;
        let mut recovery = Recovery {
            clean_shutdown: ids.is_empty(),
            ..Recovery::default()
        };
        let mut newest_desc = None;
        while let Some(&newest) = ids.last() {
            let scan = segment::scan_segment(&dir, newest, true)?;
            let path = dir.join(newest.file_name());
            let Some(desc) = scan.desc_seq else {
                warn!(file = %path.display(), bytes = scan.size, "removing newest binlog file: no whole DESC (torn at creation)");
                std::fs::remove_file(&path).map_err(Error::io(&path))?;
                recovery.removed.push(path);
                ids.pop();
                continue;
            };
            // Files written before sealed files were synced at rotation: a
            // power loss just after a rotation could tear the sealed file
            // while the newest holds only its DESC. The DESC-only file goes
            // (it holds no event) and the sealed one is recovered as newest.
            if scan.records == 1 && ids.len() >= 2 {
                let prev = ids[ids.len() - 2];
                if segment::scan_segment(&dir, prev, true)?.torn.is_some() {
                    warn!(file = %path.display(), sealed = %prev, "removing a newest binlog file that holds only DESC: the file before it is torn");
                    std::fs::remove_file(&path).map_err(Error::io(&path))?;
                    recovery.removed.push(path);
                    ids.pop();
                    continue;
                }
            }
            // A crash can leave a torn record, and whole records of a
            // command whose last record never made it: cut back to the end
            // of the last whole command (SPEC §9: a command is atomic in
            // the binlog too).
            let cut = match scan.torn {
                Some(_) => Some(scan.command_end),
                None if scan.command_end < scan.good_end => Some(scan.command_end),
                None => None,
            };
            if let Some(offset) = cut {
                let torn = TornTail {
                    offset,
                    bytes: scan.size - offset,
                };
                warn!(file = %path.display(), offset = torn.offset, bytes = torn.bytes, "cutting torn binlog tail (back to the last whole command)");
                let f = OpenOptions::new()
                    .write(true)
                    .open(&path)
                    .map_err(Error::io(&path))?;
                f.set_len(torn.offset).map_err(Error::io(&path))?;
                f.sync_all().map_err(Error::io(&path))?;
                recovery.truncated = Some((path, torn));
            }
            recovery.last_seq = scan.last_command_seq().unwrap_or(desc);
            recovery.clean_shutdown =
                scan.ended_by == Some(rocksync_protocol::Command::Stop) && cut.is_none();
            newest_desc = Some((newest, desc));
            break;
        }
        if !recovery.removed.is_empty() {
            fsync_dir(&dir)?;
        }
        let mut segments = Vec::with_capacity(ids.len() + 1);
        for &id in &ids {
            let desc = match newest_desc {
                Some((n, d)) if n == id => d,
                _ => segment::read_desc(&dir, id)?,
            };
            segments.push(SegmentInfo {
                id,
                first_seq: desc + 1,
            });
        }
        recovery.segments = ids.len();
        crate::times::cut_after(&dir, recovery.last_seq);
        let active = ids.last().map_or(SegmentId(1), |id| id.next());
        let (file, size) = create_segment(&dir, active, recovery.last_seq)?;
        segments.push(SegmentInfo {
            id: active,
            first_seq: recovery.last_seq + 1,
        });
        let committed = Committed {
            pos: LogPos {
                segment: active,
                offset: size,
            },
            last_seq: recovery.last_seq,
        };
        let shared = Shared::new(&dir, segments, committed);
        let file = Arc::new(file);
        let syncer = match config.fsync {
            FsyncPolicy::EverySec => Some(Syncer::start(Arc::clone(&file), dir.clone())?),
            _ => None,
        };
        info!(dir = %dir.display(), segments = recovery.segments, last_seq = recovery.last_seq, active = %active, "binlog open");
        Ok((
            Self {
                shared,
                config,
                file,
                active,
                size,
                last_seq: recovery.last_seq,
                buf: BytesMut::with_capacity(64 * 1024),
                syncer,
                closed: false,
            },
            recovery,
        ))
    }

    /// The read side: cheap to clone, valid after the writer is dropped.
    pub fn handle(&self) -> Binlog {
        Binlog::new(Arc::clone(&self.shared))
    }

    /// The last data seq appended.
    pub fn last_seq(&self) -> u64 {
        self.last_seq
    }

    /// The end of the last append.
    pub fn position(&self) -> LogPos {
        LogPos {
            segment: self.active,
            offset: self.size,
        }
    }

    /// The configuration in force.
    pub fn config(&self) -> &BinlogConfig {
        &self.config
    }

    fn path(&self) -> PathBuf {
        self.shared.path_of(self.active)
    }

    fn publish(&self) {
        self.shared.committed.send_replace(Committed {
            pos: self.position(),
            last_seq: self.last_seq,
        });
    }

    /// Write `self.buf` at the end of the active file; on failure, cut the
    /// file back so no partial record stays behind.
    fn write_buf(&mut self) -> Result<()> {
        if let Err(e) = self.file.write_all_at(&self.buf, self.size) {
            if let Err(cut) = self.file.set_len(self.size) {
                error!(file = %self.path().display(), error = %cut, "cannot cut a failed append");
                self.closed = true;
            }
            return Err(Error::Io {
                path: self.path(),
                source: e,
            });
        }
        self.size += self.buf.len() as u64;
        Ok(())
    }

    /// Append a batch of data events with one write and, under `always`,
    /// one fsync: the group commit. Readers see the events once it returns.
    /// ([`BinlogWriter::stage`] then [`BinlogWriter::publish_staged`].)
    ///
    /// # Errors
    /// As [`BinlogWriter::stage`].
    pub fn append(&mut self, events: &[LogEvent]) -> Result<LogPos> {
        let _published_next = self.stage(events)?;
        self.publish_staged();
        Ok(self.position())
    }

    /// Write a batch of data events with one write and, under `always`,
    /// one fsync, without showing them to readers yet: the caller applies
    /// them, then publishes them, or takes them back with
    /// [`BinlogWriter::unstage`] when it could not apply them. Readers
    /// (slaves) so never see an event its writer did not apply.
    ///
    /// Each event's seq must follow the one before (the first follows
    /// [`BinlogWriter::last_seq`]).
    ///
    /// # Errors
    /// [`Error::NotData`] or [`Error::SeqGap`] (nothing written),
    /// [`Error::Io`] (nothing left written: a failed write or fsync is cut
    /// back; also while the background fsync of `everysec` is failing),
    /// [`Error::Closed`] after a failure that could not be undone.
    pub fn stage(&mut self, events: &[LogEvent]) -> Result<Staged> {
        if self.closed {
            return Err(Error::Closed);
        }
        let mark = Staged {
            size: self.size,
            last_seq: self.last_seq,
        };
        if let Some(why) = self
            .syncer
            .as_ref()
            .and_then(|s| lock(&s.target.failed).clone())
        {
            return Err(Error::Io {
                path: self.path(),
                source: std::io::Error::other(format!("the last fsync failed: {why}")),
            });
        }
        self.buf.clear();
        let mut seq = self.last_seq;
        for e in events {
            if !e.is_data() {
                return Err(Error::NotData { cmd: e.cmd });
            }
            if e.seq != seq + 1 {
                return Err(Error::SeqGap {
                    last: seq,
                    got: e.seq,
                });
            }
            seq = e.seq;
            record::encode_record(&mut self.buf, |b| e.encode(b));
        }
        if events.is_empty() {
            return Ok(mark);
        }
        rocksync_failpoint::hit("binlog.stage.before_write");
        self.write_buf()?;
        rocksync_failpoint::hit("binlog.stage.after_write");
        self.last_seq = seq;
        match self.config.fsync {
            FsyncPolicy::Always => {
                if let Err(e) = self.file.sync_data() {
                    self.unstage(mark)?;
                    return Err(Error::Io {
                        path: self.path(),
                        source: e,
                    });
                }
                rocksync_failpoint::hit("binlog.stage.after_fsync");
            }
            FsyncPolicy::EverySec => {
                if let Some(s) = &self.syncer {
                    s.target.dirty.store(true, Ordering::Release);
                }
            }
            FsyncPolicy::No => {}
        }
        Ok(mark)
    }

    /// Show the staged events to readers, then rotate when the file has
    /// passed `max_binlog_size`. A rotation that fails (disk full) is
    /// logged and tried again after the next batch; nothing is lost.
    pub fn publish_staged(&mut self) {
        self.publish();
        if self.size >= self.config.max_binlog_size_bytes {
            if let Err(e) = self.rotate() {
                warn!(file = %self.path().display(), error = %e, "binlog rotation failed; writing on in this file");
            }
        }
    }

    /// Take back what was staged since `mark` (not yet published): the
    /// file is cut back and the seq restored.
    ///
    /// # Errors
    /// [`Error::Io`] when the file cannot be cut (the writer is then
    /// closed: a restart recovers).
    pub fn unstage(&mut self, mark: Staged) -> Result<()> {
        if self.size == mark.size {
            return Ok(());
        }
        // Cut, and make the cut durable: under `always` the staged events
        // were fsynced, and must not come back after a power loss.
        if let Err(e) = self
            .file
            .set_len(mark.size)
            .and_then(|()| self.file.sync_data())
        {
            error!(file = %self.path().display(), error = %e, "cannot take back staged events");
            self.closed = true;
            return Err(Error::Io {
                path: self.path(),
                source: e,
            });
        }
        self.size = mark.size;
        self.last_seq = mark.last_seq;
        Ok(())
    }

    /// Make everything appended so far durable now, whatever the policy.
    ///
    /// # Errors
    /// [`Error::Io`].
    pub fn sync(&mut self) -> Result<()> {
        self.file.sync_data().map_err(Error::io(self.path()))
    }

    /// Append a control record; fsync it only when `durable`.
    fn append_control(&mut self, event: &LogEvent, durable: bool) -> Result<()> {
        self.buf.clear();
        record::encode_record(&mut self.buf, |b| event.encode(b));
        self.write_buf()?;
        if durable {
            self.file.sync_data().map_err(Error::io(self.path()))?;
        }
        Ok(())
    }

    /// Switch to segment `next`, already created.
    fn switch_to(&mut self, next: SegmentId, file: File, size: u64) {
        let file = Arc::new(file);
        if let Some(s) = &self.syncer {
            *lock(&s.target.file) = Arc::clone(&file);
        }
        self.file = file;
        self.active = next;
        self.size = size;
    }

    /// Seal the active file with ROTATE and continue in the next one.
    fn rotate(&mut self) -> Result<()> {
        let next = self.active.next();
        // The sealed file, ROTATE included, is durable before the next one
        // exists, whatever the policy (a power loss cannot leave a torn
        // file that is no longer the newest). The next file and its
        // directory entry are durable at once. When the next file cannot
        // be made (disk full), ROTATE is taken back and writing goes on
        // here.
        let before = self.size;
        let rotate = LogEvent::rotate(self.last_seq, &next.file_name());
        if let Err(e) = self.append_control(&rotate, true) {
            // Written but not fsynced: ROTATE must not stay in the middle.
            self.take_back_rotate(before);
            return Err(e);
        }
        rocksync_failpoint::hit("binlog.rotate.after_rotate_record");
        let (file, size) = match create_segment(&self.config.dir, next, self.last_seq) {
            Ok(x) => {
                rocksync_failpoint::hit("binlog.rotate.after_next_file");
                x
            }
            Err(e) => {
                let _ = std::fs::remove_file(self.config.dir.join(next.file_name()));
                self.take_back_rotate(before);
                return Err(e);
            }
        };
        lock(&self.shared.index).segments.push(SegmentInfo {
            id: next,
            first_seq: self.last_seq + 1,
        });
        info!(from = %self.active, to = %next, last_seq = self.last_seq, "binlog rotated");
        self.switch_to(next, file, size);
        self.publish();
        Ok(())
    }

    /// Cut a ROTATE (or what was written of it) back off the active file,
    /// durably; the writer closes when even that fails.
    fn take_back_rotate(&mut self, before: u64) {
        let cut = self
            .file
            .set_len(before)
            .and_then(|()| self.file.sync_data());
        if let Err(e) = cut {
            error!(file = %self.path().display(), error = %e, "cannot take back ROTATE");
            self.closed = true;
        }
        self.size = before;
    }

    /// Start a new history at `last_seq`: every segment file is removed
    /// and a new one begins with DESC(`last_seq`). A slave does this when a
    /// full copy begins and ends. Readers of the old files find a seq gap
    /// and must start over; leases do not stop a reset.
    ///
    /// # Errors
    /// [`Error::Io`].
    pub fn reset(&mut self, last_seq: u64) -> Result<()> {
        if self.closed {
            return Err(Error::Closed);
        }
        let next = self.active.next();
        let (file, size) = create_segment(&self.config.dir, next, last_seq)?;
        let old: Vec<SegmentInfo> = {
            let mut index = lock(&self.shared.index);
            std::mem::replace(
                &mut index.segments,
                vec![SegmentInfo {
                    id: next,
                    first_seq: last_seq + 1,
                }],
            )
        };
        for s in old {
            let path = self.shared.path_of(s.id);
            std::fs::remove_file(&path).map_err(Error::io(&path))?;
            crate::times::remove_times(&path);
        }
        fsync_dir(&self.config.dir)?;
        info!(dir = %self.config.dir.display(), last_seq, active = %next, "binlog reset");
        self.switch_to(next, file, size);
        self.last_seq = last_seq;
        self.publish();
        Ok(())
    }

    /// Append STOP, fsync and stop the fsync thread.
    ///
    /// # Errors
    /// [`Error::Io`].
    pub fn close(mut self) -> Result<()> {
        self.closed = true;
        if let Some(mut s) = self.syncer.take() {
            s.stop();
        }
        self.append_control(&LogEvent::stop(self.last_seq), true)?;
        self.publish();
        info!(dir = %self.config.dir.display(), last_seq = self.last_seq, "binlog closed");
        Ok(())
    }
}

impl Drop for BinlogWriter {
    fn drop(&mut self) {
        if let Some(mut s) = self.syncer.take() {
            s.stop();
        }
    }
}
