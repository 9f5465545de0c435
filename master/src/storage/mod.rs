//! The storage core: one owner of a node's store and its binlog, with the
//! one commit step (append the events, apply them, record `applied_seq`,
//! write) that the master's write path, crash recovery, a slave's apply and
//! a full copy all go through. A node has one `Storage` for its whole life:
//! a role change hands it from the write path to the replication link and
//! back; it is never reopened.
//!
//! Also here, because they live in the same store and must change in the
//! same batches as the data: the node's replication history (replid, and
//! replid2 with the seq where that history was left), its persisted role,
//! and a slave's copy progress.

mod fresh;
pub mod gc;
pub mod import;
pub mod restore;
pub mod store;

use std::fmt::Write as _;
use std::sync::Arc;

use bytes::Bytes;
use rocksync_binlog::{Binlog, BinlogConfig, BinlogWriter, FsyncPolicy};
use rocksync_failpoint as failpoint;
use rocksync_protocol::{Command, LogEvent};
use tracing::{info, warn};

use crate::config::Config;
use crate::error::{Error, Result};
use crate::store::apply::{apply_event, writes_blind};
use crate::store::batch::{Batch, Layer, Sealed};
use crate::store::{Cf, Store, StoreOptions, EXPIRE_COUNT_KEY, FUNCTION_PREFIX, KEY_COUNT_KEY};
use crate::tracking::Tracking;
use crate::watch::Watches;

/// The store's options as `config` sets them.
pub(crate) fn store_options(config: &Config) -> StoreOptions {
    StoreOptions {
        wal: config.rocksdb_wal,
        block_cache_bytes: (config.block_cache_mb as usize) << 20,
        bottommost_zstd: config.bottommost_zstd,
        ..StoreOptions::default()
    }
}

/// System keys (default column family) the storage keeps beside the data.
pub mod sys {
    /// The history the data belongs to (40 hex digits).
    pub const REPLID: &[u8] = b"replid";
    /// The history before the current one ("" when none).
    pub const REPLID2: &[u8] = b"replid2";
    /// The last seq of `REPLID2`'s history held here.
    pub const SECOND_SEQ: &[u8] = b"replid2_seq";
    /// The boot id of the machine at the last start.
    pub const BOOT_ID: &[u8] = b"boot_id";
    /// The node's persistent id (40 hex digits), sent in SYNC140.
    pub const NODE_ID: &[u8] = b"node_id";
    /// The role: "" for a master, `host:port` of the master followed.
    pub const ROLE: &[u8] = b"role";
    /// The last RAW key applied while a copy runs ("" otherwise).
    pub const LAST_KEY: &[u8] = b"repl_last_key";
    /// 1 from COPY/BEGIN to COPY/END.
    pub const COPYING: &[u8] = b"repl_copying";
    /// Full copies received.
    pub const FULL_COPIES: &[u8] = b"repl_full_copies";
    /// Copies continued from a breakpoint.
    pub const COPY_RESUMES: &[u8] = b"repl_copy_resumes";
    /// Binlog resumes.
    pub const BINLOG_RESUMES: &[u8] = b"repl_binlog_resumes";
    /// Following a Redis master: its replication id and offset the data
    /// holds, with the history and seq of ours it holds them at.
    pub const REDIS_MASTER: &[u8] = b"repl_redis_master";
}

/// A fresh 40-hex-digit replication id.
pub fn new_replid() -> String {
    use std::hash::{BuildHasher, Hasher};
    let mut out = String::with_capacity(40);
    let mut n = 0u64;
    while out.len() < 40 {
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u128(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos()),
        );
        h.write_u64(n);
        h.write_u32(std::process::id());
        let _ = write!(out, "{:016x}", h.finish());
        n += 1;
    }
    out.truncate(40);
    out
}

/// The replication history a node's data belongs to (Redis's replid and
/// replid2 / `second_repl_offset`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct History {
    /// The current history.
    pub replid: String,
    /// The history this node left, with the last seq of it that it holds:
    /// a follower of that history up to that seq is a prefix of this one.
    pub previous: Option<(String, u64)>,
}

impl History {
    /// True when a follower at (`replid`, `last_seq`) holds a prefix of
    /// this history, and why not otherwise.
    pub fn admits(&self, replid: Option<&str>, last_seq: u64) -> Result<(), String> {
        let Some(id) = replid else {
            return Err("the slave sent no replid".into());
        };
        if id == self.replid {
            return Ok(());
        }
        match &self.previous {
            Some((old, left_at)) if old == id && last_seq <= *left_at => Ok(()),
            Some((old, left_at)) if old == id => Err(format!(
                "the slave went on in history {id} to seq {last_seq}, past seq {left_at} where this node left it"
            )),
            _ => Err(format!(
                "history {id} is neither this node's ({}) nor the one it left",
                self.replid
            )),
        }
    }
}

/// A slave's persisted copy and session counters.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CopyProgress {
    /// A copy is under way (from COPY/BEGIN to COPY/END).
    pub copying: bool,
    /// The last RAW key applied (a breakpoint) while copying.
    pub last_key: Bytes,
    /// Full copies received.
    pub full_copies: u64,
    /// Copies continued from a breakpoint.
    pub copy_resumes: u64,
    /// Binlog resumes.
    pub binlog_resumes: u64,
}

fn u64_of(v: Option<Vec<u8>>) -> u64 {
    v.and_then(|b| b.try_into().ok())
        .map_or(0, u64::from_be_bytes)
}

/// A node's store and binlog, level with each other.
pub struct Storage {
    store: Arc<Store>,
    writer: BinlogWriter,
    /// Clients' WATCHes: every commit touches them, whether its writes
    /// came from clients, expiry, a master or a copy's wipe.
    watches: Arc<Watches>,
    /// Clients' CLIENT TRACKING: every commit invalidates what it wrote.
    tracking: Arc<Tracking>,
    /// Clients waiting for data (XREAD BLOCK on a slave).
    blocked: Arc<crate::blocking::Blocked>,
}

impl std::fmt::Debug for Storage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Storage")
            .field("path", &self.store.path())
            .field("last_seq", &self.writer.last_seq())
            .finish()
    }
}

impl Storage {
    /// Open the store and the binlog of `config`, cut a torn binlog tail,
    /// replay what the database lacks, and start a new history if the
    /// machine rebooted after an unclean stop that may have lost binlog
    /// writes.
    ///
    /// # Errors
    /// Store, binlog and recovery errors.
    pub fn open(config: &Config) -> Result<Self> {
        std::fs::create_dir_all(&config.data_dir).map_err(|source| Error::Io {
            path: config.data_dir.clone(),
            source,
        })?;
        let store = Arc::new(Store::open(&config.db_dir(), &store_options(config))?);
        let bcfg = BinlogConfig {
            dir: config.binlog_dir(),
            max_binlog_size_bytes: config.max_binlog_size,
            fsync: config.binlog_fsync,
        };
        let (writer, rec) = BinlogWriter::open(bcfg)?;
        if let Some((path, torn)) = &rec.truncated {
            warn!(file = %path.display(), offset = torn.offset, bytes = torn.bytes, "cut a torn binlog tail");
        }
        let mut me = Self {
            store,
            writer,
            watches: Arc::default(),
            tracking: Arc::default(),
            blocked: Arc::default(),
        };
        me.recover()?;
        me.new_history_if_os_lost_writes(config.binlog_fsync, rec.clean_shutdown)?;
        Ok(me)
    }

    /// Share the node's blocked clients: a slave's commits serve those
    /// waiting on what they feed.
    pub(crate) fn share_blocked(&mut self, blocked: Arc<crate::blocking::Blocked>) {
        self.blocked = blocked;
    }

    /// Share `watches` and `tracking` (the node's) with this storage's
    /// commits.
    pub(crate) fn share_listeners(&mut self, watches: Arc<Watches>, tracking: Arc<Tracking>) {
        self.watches = watches;
        self.tracking = tracking;
    }

    /// The WATCHes this storage's commits touch.
    pub(crate) fn watches(&self) -> Arc<Watches> {
        Arc::clone(&self.watches)
    }

    /// The client tracking this storage's commits invalidate.
    pub(crate) fn tracking(&self) -> Arc<Tracking> {
        Arc::clone(&self.tracking)
    }

    /// The store (shared with readers).
    pub fn store(&self) -> &Arc<Store> {
        &self.store
    }

    /// The binlog's read side.
    pub fn binlog(&self) -> Binlog {
        self.writer.handle()
    }

    /// The last seq logged (and applied).
    pub fn last_seq(&self) -> u64 {
        self.writer.last_seq()
    }

    /// The commit step: log `events` in the binlog (not yet visible to
    /// readers), write `batch` (which must hold their effects) with
    /// `applied_seq` set to the last seq logged, then show the events to
    /// readers. When the store write fails the events are taken back out of
    /// the binlog: nothing is published that was not applied, and nothing
    /// stays logged that the store lacks. Nothing is written when both are
    /// empty.
    ///
    /// # Errors
    /// Binlog errors (nothing was written), RocksDB errors (nothing stays
    /// written either).
    pub fn commit(&mut self, batch: Batch, events: &[LogEvent]) -> Result<()> {
        self.commit_from(batch, events, &[]).map(|_| ())
    }

    /// As [`Storage::commit`], naming the clients whose commands made the
    /// events: (index of a command's first event, client id), in order
    /// (CLIENT TRACKING's NOLOOP spares a client its own writes). Gives
    /// the batch's writes, now in the store (`None`: there were none).
    ///
    /// # Errors
    /// As [`Storage::commit`].
    pub fn commit_from(
        &mut self,
        mut batch: Batch,
        events: &[LogEvent],
        origins: &[(usize, u64)],
    ) -> Result<Option<Arc<Layer>>> {
        if events.is_empty() && batch.is_empty() {
            return Ok(None);
        }
        let learned = batch.take_zbounds();
        let sealed = batch.seal(&self.store)?;
        let layer = sealed.layer();
        self.commit_sealed_from(sealed, events, origins)?;
        self.store.zbounds_learned(learned);
        Ok(Some(layer))
    }

    /// As [`Storage::commit`], for a batch sealed already (a catching-up
    /// slave seals a round before it commits, so the next round can read
    /// through it meanwhile: see [`Storage::apply_events`]).
    ///
    /// # Errors
    /// As [`Storage::commit`].
    pub fn commit_sealed(&mut self, batch: Sealed, events: &[LogEvent]) -> Result<()> {
        self.commit_sealed_from(batch, events, &[])?;
        // (a master's own writes serve their waiters on the write path)
        self.blocked.fed(events);
        Ok(())
    }

    /// As [`Storage::commit`], serving the clients blocked on keys the
    /// events feed (a slave's apply; a master's own writes serve their
    /// waiters on the write path).
    ///
    /// # Errors
    /// As [`Storage::commit`].
    pub(crate) fn commit_fed(&mut self, batch: Batch, events: &[LogEvent]) -> Result<()> {
        self.commit(batch, events)?;
        self.blocked.fed(events);
        Ok(())
    }

    fn commit_sealed_from(
        &mut self,
        batch: Sealed,
        events: &[LogEvent],
        origins: &[(usize, u64)],
    ) -> Result<()> {
        let mark = self.writer.stage(events)?;
        let applied = self.writer.last_seq();
        let garbage = batch.leaves_garbage();
        failpoint::hit("storage.commit.before_store_write");
        let written = if failpoint::fails("storage.commit.store_write") {
            Err(Error::Io {
                path: self.store.path().to_owned(),
                source: std::io::Error::other("injected store write failure"),
            })
        } else {
            batch
                .finish(&self.store, applied)
                .and_then(|wb| self.store.write_leaving(wb, garbage))
        };
        match written {
            Ok(()) => {
                failpoint::hit("storage.commit.after_store_write");
                // In the store now: a WATCH from here on reads the new
                // values, and every earlier one on these keys is broken.
                self.watches.touch(events);
                self.tracking.invalidate(events, origins);
                if events.iter().any(|e| e.cmd.is_function()) {
                    self.store.note_functions_changed();
                }
                self.writer.publish_staged();
                failpoint::hit("storage.commit.after_publish");
                Ok(())
            }
            Err(e) => {
                self.writer.unstage(mark)?;
                Err(e)
            }
        }
    }

    /// Apply events received from a master (whole commands) and commit
    /// them with their seqs: a slave's apply.
    ///
    /// # Errors
    /// As [`Storage::commit`], and [`Error::BadEvent`].
    pub fn commit_events(&mut self, events: &[LogEvent]) -> Result<()> {
        let batch = Self::apply_events(&self.store, None, events)?;
        self.commit_sealed(batch, events)
    }

    /// Apply events received from a master (whole commands) to a batch
    /// over `below` (a batch applied before them that may still be
    /// committing: see [`Batch::on`]), ready for
    /// [`Storage::commit_sealed`]. Only reads the store, so it can run
    /// while the batch below commits.
    ///
    /// # Errors
    /// RocksDB errors, [`Error::BadEvent`].
    pub fn apply_events(
        store: &Store,
        below: Option<Arc<Layer>>,
        events: &[LogEvent],
    ) -> Result<Sealed> {
        let mut batch = Batch::on(below);
        // Every data event reads its key's metadata, but those that carry
        // it: one batched lookup for the round instead of a memtable
        // search per event.
        let keys: Vec<&[u8]> = events
            .iter()
            .filter(|e| !writes_blind(e))
            .map(|e| &e.key[..])
            .collect();
        batch.prefetch(store, Cf::Meta, &keys)?;
        for e in events {
            apply_event(store, &mut batch, e)?;
        }
        batch.seal(store)
    }

    /// Bring the database level with the binlog: replay the events after
    /// its `applied_seq`, or, when the binlog ends before it (lost with the
    /// OS's cache under `no`/`everysec`), restart the binlog at
    /// `applied_seq`. Returns how many events were replayed.
    ///
    /// # Errors
    /// Binlog read errors (corruption names file and offset), RocksDB errors.
    pub fn recover(&mut self) -> Result<u64> {
        let applied = self.store.applied_seq()?;
        let last = self.writer.last_seq();
        if last < applied {
            warn!(
                binlog_last_seq = last,
                applied_seq = applied,
                "binlog ends before the database; restarting it at applied_seq"
            );
            self.writer.reset(applied)?;
            return Ok(0);
        }
        if last == applied {
            return Ok(0);
        }
        let mut reader = self.writer.handle().reader_after(applied)?;
        let mut replayed = 0u64;
        loop {
            let mut batch = Batch::new();
            let mut seq = None;
            while let Some(e) = reader.try_next()? {
                apply_event(&self.store, &mut batch, &e)?;
                seq = Some(e.seq);
                replayed += 1;
                if replayed % 4096 == 0 {
                    break;
                }
            }
            let Some(seq) = seq else { break };
            // The events are in the binlog already: only the store moves.
            let garbage = batch.leaves_garbage();
            self.store
                .write_leaving(batch.finish(&self.store, seq)?, garbage)?;
        }
        info!(
            replayed,
            from = applied + 1,
            to = last,
            "replayed binlog into the database"
        );
        Ok(replayed)
    }

    /// After an unclean stop across a reboot of the machine, with a binlog
    /// not fsynced on every append, followers may hold events this node
    /// lost with the OS's cache; the node then starts a new history, so
    /// those followers are full-copied instead of silently diverging. A
    /// process crash alone loses nothing (the OS kept the writes).
    fn new_history_if_os_lost_writes(&mut self, fsync: FsyncPolicy, clean: bool) -> Result<()> {
        let now = std::fs::read_to_string("/proc/sys/kernel/random/boot_id")
            .ok()
            .map(|s| s.trim().to_owned());
        let before = self
            .store
            .get_sys(sys::BOOT_ID)?
            .and_then(|v| String::from_utf8(v).ok());
        let rebooted = matches!((&before, &now), (Some(b), Some(n)) if b != n);
        if !clean && rebooted && fsync != FsyncPolicy::Always {
            warn!(
                "unclean stop across a reboot with binlog_fsync={fsync}: starting a new replication history"
            );
            self.store.put_sys(sys::REPLID, new_replid().as_bytes())?;
            self.store.put_sys(sys::REPLID2, b"")?;
        }
        if let Some(n) = now {
            self.store.put_sys(sys::BOOT_ID, n.as_bytes())?;
        }
        self.store.flush()
    }

    /// The history the data belongs to; a new one is made (and made
    /// durable) on first use.
    ///
    /// # Errors
    /// RocksDB errors.
    pub fn history(&self) -> Result<History> {
        let text = |k: &[u8]| -> Result<Option<String>> {
            Ok(self
                .store
                .get_sys(k)?
                .and_then(|v| String::from_utf8(v).ok())
                .filter(|s| rocksync_protocol::is_valid_replid(s)))
        };
        let replid = match text(sys::REPLID)? {
            Some(id) => id,
            None => {
                let id = new_replid();
                self.store.put_sys(sys::REPLID, id.as_bytes())?;
                self.store.flush()?;
                id
            }
        };
        let previous = match text(sys::REPLID2)? {
            Some(id) => Some((id, u64_of(self.store.get_sys(sys::SECOND_SEQ)?))),
            None => None,
        };
        Ok(History { replid, previous })
    }

    /// Leave the current history for `replid` at the last seq held (a
    /// follower whose master was promoted): the old one becomes replid2,
    /// so followers of it up to here still resume. Durable before it
    /// returns: no event of the new history may be logged under the old id.
    ///
    /// # Errors
    /// RocksDB errors.
    pub fn shift_history(&mut self, replid: &str) -> Result<History> {
        self.shift_history_as(replid, None)
    }

    /// A promotion: a new history (see [`Storage::shift_history`]) and
    /// the master role, in one durable write.
    ///
    /// # Errors
    /// RocksDB errors.
    pub fn promote(&mut self) -> Result<History> {
        self.shift_history_as(&new_replid(), Some(None))
    }

    fn shift_history_as(&mut self, replid: &str, role: Option<Option<&str>>) -> Result<History> {
        let old = self.history()?;
        let left_at = self.last_seq();
        let mut b = Batch::new();
        self.put_sys(&mut b, sys::REPLID, replid.as_bytes())?;
        self.put_sys(&mut b, sys::REPLID2, old.replid.as_bytes())?;
        self.put_sys(&mut b, sys::SECOND_SEQ, &left_at.to_be_bytes())?;
        if let Some(role) = role {
            self.put_sys(&mut b, sys::ROLE, role.unwrap_or("").as_bytes())?;
        }
        self.commit(b, &[])?;
        self.store.flush()?;
        info!(replid, replid2 = %old.replid, left_at, "new replication history");
        Ok(History {
            replid: replid.to_owned(),
            previous: Some((old.replid, left_at)),
        })
    }

    /// This node's persistent id, made (and made durable) on first use; a
    /// data directory keeps it for life.
    ///
    /// # Errors
    /// RocksDB errors.
    pub fn node_id(&self) -> Result<String> {
        if let Some(id) = self
            .store
            .get_sys(sys::NODE_ID)?
            .and_then(|v| String::from_utf8(v).ok())
            .filter(|s| rocksync_protocol::is_valid_replid(s))
        {
            return Ok(id);
        }
        let id = new_replid();
        self.store.put_sys(sys::NODE_ID, id.as_bytes())?;
        self.store.flush()?;
        Ok(id)
    }

    /// The persisted role: `None` for a master, else the master followed.
    ///
    /// # Errors
    /// RocksDB errors.
    pub fn saved_role(&self) -> Result<Option<Option<String>>> {
        Ok(self
            .store
            .get_sys(sys::ROLE)?
            .map(|v| String::from_utf8_lossy(&v).into_owned())
            .map(|s| (!s.is_empty()).then_some(s)))
    }

    /// Persist the role (`None`: master), durable before it returns;
    /// with `forget_breakpoint`, an interrupted copy's breakpoint goes too
    /// (it belongs to the master that was followed, whose snapshot a new
    /// one does not have).
    ///
    /// # Errors
    /// RocksDB errors.
    pub fn save_role(&mut self, master_addr: Option<&str>, forget_breakpoint: bool) -> Result<()> {
        let mut b = Batch::new();
        self.put_sys(&mut b, sys::ROLE, master_addr.unwrap_or("").as_bytes())?;
        if forget_breakpoint {
            self.put_sys(&mut b, sys::LAST_KEY, b"")?;
        }
        self.commit(b, &[])?;
        self.store.flush()
    }

    fn put_sys(&self, b: &mut Batch, key: &[u8], value: &[u8]) -> Result<()> {
        b.put(&self.store, Cf::Default, key.to_vec(), value.to_vec())
    }

    /// A slave's copy progress and counters.
    ///
    /// # Errors
    /// RocksDB errors.
    pub fn copy_progress(&self) -> Result<CopyProgress> {
        let s = &self.store;
        Ok(CopyProgress {
            copying: u64_of(s.get_sys(sys::COPYING)?) == 1,
            last_key: Bytes::from(s.get_sys(sys::LAST_KEY)?.unwrap_or_default()),
            full_copies: u64_of(s.get_sys(sys::FULL_COPIES)?),
            copy_resumes: u64_of(s.get_sys(sys::COPY_RESUMES)?),
            binlog_resumes: u64_of(s.get_sys(sys::BINLOG_RESUMES)?),
        })
    }

    /// Persist a counter's new value.
    ///
    /// # Errors
    /// RocksDB errors.
    pub fn save_counter(&self, key: &[u8], value: u64) -> Result<()> {
        self.store.put_sys(key, &value.to_be_bytes())
    }

    /// COPY/BEGIN: the binlog restarts empty, then data and progress are
    /// wiped and the copy marked as under way (`full_copies` is the new
    /// count). The binlog goes first: a crash before the wipe restarts with
    /// the old data and a binlog restarted at its `applied_seq`.
    ///
    /// # Errors
    /// Binlog and RocksDB errors.
    pub fn begin_copy(&mut self, full_copies: u64) -> Result<()> {
        // No garbage sweep slice runs across the wipe (it could delete
        // copied members whose versions the old data also used).
        let store = Arc::clone(&self.store);
        let _gate = store.wipe_gate();
        self.writer.reset(0)?;
        let mut b = Batch::new();
        for wipe in [Command::FlushAll, Command::FunctionFlush] {
            apply_event(
                &self.store,
                &mut b,
                &LogEvent::data(1, wipe, Bytes::new(), Bytes::new()),
            )?;
        }
        self.put_sys(&mut b, sys::LAST_KEY, b"")?;
        self.put_sys(&mut b, sys::COPYING, &1u64.to_be_bytes())?;
        self.put_sys(&mut b, sys::FULL_COPIES, &full_copies.to_be_bytes())?;
        // Partial data is a prefix of no history: a fresh id until COPY/END.
        self.put_sys(&mut b, sys::REPLID, new_replid().as_bytes())?;
        self.put_sys(&mut b, sys::REPLID2, b"")?;
        self.commit(b, &[])?;
        // Every key is gone: every WATCH is broken, every cache dropped.
        let wipe = [LogEvent::data(
            1,
            Command::FlushAll,
            Bytes::new(),
            Bytes::new(),
        )];
        self.watches.touch(&wipe);
        self.tracking.invalidate(&wipe, &[]);
        self.store.note_functions_changed();
        self.store.flush()
    }

    /// Stage one RAW pair of a copy (`raw_key` names its column family);
    /// the source's system keys are skipped (only the key counts of the
    /// default column family are data).
    ///
    /// # Errors
    /// RocksDB errors.
    pub fn stage_raw(&self, b: &mut Batch, raw_key: &[u8], value: &[u8]) -> Result<usize> {
        let Some((cf, key)) = rocksync_snapshot::split_raw_key(raw_key) else {
            return Ok(0);
        };
        // Of the default column family only the counts and the function
        // libraries describe the data; the rest is the source node's own
        // (its history, role, node id, progress) and must never overwrite
        // ours.
        let system = cf == "default"
            && key != KEY_COUNT_KEY
            && key != EXPIRE_COUNT_KEY
            && !key.starts_with(FUNCTION_PREFIX);
        match (Cf::from_name(cf), system) {
            (Some(cf), false) => {
                b.put_copied(&self.store, cf, key, value)?;
                Ok(key.len() + value.len())
            }
            _ => Ok(0),
        }
    }

    /// Write staged RAW pairs with `last_key`, the breakpoint, in one batch.
    ///
    /// # Errors
    /// RocksDB errors.
    pub fn commit_copy(&mut self, mut b: Batch, last_key: &[u8]) -> Result<()> {
        self.put_sys(&mut b, sys::LAST_KEY, last_key)?;
        self.commit(b, &[])
    }

    /// COPY/END(`seq`) of history `replid`: the data is in sync at `seq`.
    /// The store is made durable first, then the binlog restarts at `seq`
    /// (a crash in between restarts the binlog at `applied_seq`).
    ///
    /// # Errors
    /// Binlog and RocksDB errors.
    pub fn end_copy(&mut self, seq: u64, replid: &str) -> Result<()> {
        let mut b = Batch::new();
        self.put_sys(&mut b, sys::LAST_KEY, b"")?;
        self.put_sys(&mut b, sys::COPYING, &0u64.to_be_bytes())?;
        self.put_sys(&mut b, sys::REPLID, replid.as_bytes())?;
        self.put_sys(&mut b, sys::REPLID2, b"")?;
        self.store.write(b.finish(&self.store, seq)?)?;
        // The copy brought the master's stale members too, which no count
        // here saw, and its function libraries.
        self.store.note_garbage();
        self.store.note_functions_changed();
        self.store.flush()?;
        Ok(self.writer.reset(seq)?)
    }

    /// Append STOP, fsync, flush the store.
    ///
    /// # Errors
    /// Binlog and RocksDB errors.
    pub fn close(self) -> Result<()> {
        self.writer.close()?;
        self.store.flush()
    }
}
