//! The store: RocksDB with the column families of [`keys`], opened with
//! options chosen for this workload, and committed (point and prefix) reads.

mod ahead;
pub mod apply;
pub mod batch;
pub mod chunks;
pub mod keys;
pub(crate) mod merged;
mod zbound;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use rocksdb::{
    BlockBasedOptions, Cache, ColumnFamilyDescriptor, DBCompressionType, Options, ReadOptions,
    WriteBatch, WriteOptions, DB,
};

use crate::error::{Error, Result};
use keys::Meta;
use zbound::MAX_ZBOUNDS;
pub use zbound::{zscore_prefix, ZBound, ZBounds};

/// A consistent read view of the store (a RocksDB snapshot).
pub type Snap<'a> = rocksdb::SnapshotWithThreadMode<'a, DB>;

/// A column family.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Cf {
    /// System keys.
    Default,
    /// Key metadata (and string values).
    Meta,
    /// Collection members.
    Sub,
    /// Sorted-set score index.
    ZScore,
    /// Expiry index.
    Expire,
}

impl Cf {
    /// Every column family.
    pub const ALL: [Cf; 5] = [Cf::Default, Cf::Meta, Cf::Sub, Cf::ZScore, Cf::Expire];
    /// The data column families (all but `default`).
    pub const DATA: [Cf; 4] = [Cf::Meta, Cf::Sub, Cf::ZScore, Cf::Expire];

    /// Its RocksDB name.
    pub fn name(self) -> &'static str {
        match self {
            Self::Default => "default",
            Self::Meta => "meta",
            Self::Sub => "sub",
            Self::ZScore => "zscore",
            Self::Expire => "expire",
        }
    }

    /// The column family of a RocksDB name.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.name() == name)
    }
}

/// System key: the seq of the last event applied to the data.
pub const APPLIED_SEQ_KEY: &[u8] = b"applied_seq";
/// System key: the number of keys (DBSIZE).
pub const KEY_COUNT_KEY: &[u8] = b"key_count";
/// System key: the number of keys with an expiry.
pub const EXPIRE_COUNT_KEY: &[u8] = b"expire_count";

/// Prefix of the function libraries' keys in the default column family
/// (`function:` + the library's name; the value is its code). They are
/// data (copied, replicated, kept by FLUSHALL) but no key of the keyspace.
pub const FUNCTION_PREFIX: &[u8] = b"function:";

/// The default column family's key of library `name`.
pub fn function_key(name: &[u8]) -> Vec<u8> {
    [FUNCTION_PREFIX, name].concat()
}

/// How the store is opened.
#[derive(Clone, Debug)]
pub struct StoreOptions {
    /// Write RocksDB's own WAL too (default off: the binlog is the log of
    /// record, with atomic flush keeping the column families in step).
    pub wal: bool,
    /// Block cache size in bytes (default 256 MiB).
    pub block_cache_bytes: usize,
    /// Memtable size per column family in bytes (default 16 MiB: a skip
    /// list that stays within the CPU's cache takes random inserts about
    /// 40 % faster than a 64 MiB one, which a catching-up slave, whose work
    /// is those inserts, measures; the master measured level from 16 to
    /// 64 MiB and worse at 8, where flushes and compactions cost more).
    pub write_buffer_bytes: usize,
    /// ZSTD at the bottom level instead of LZ4 (see the config key
    /// `bottommost_zstd`).
    pub bottommost_zstd: bool,
}

impl Default for StoreOptions {
    fn default() -> Self {
        Self {
            wal: false,
            block_cache_bytes: 256 << 20,
            write_buffer_bytes: 16 << 20,
            bottommost_zstd: false,
        }
    }
}

/// The RocksDB database behind a master or a slave.
pub struct Store {
    db: DB,
    path: PathBuf,
    write_opts: WriteOptions,
    wal: bool,
    /// Held shared by a garbage sweep's slice, exclusively by a wipe: a
    /// slice never deletes what a full copy has just written (issue 9,
    /// case 11).
    gate: std::sync::RwLock<()>,
    /// Per sorted set (its sub-key prefix): where its live score entries
    /// are known to begin and end (see [`ZBound`]).
    zbounds: std::sync::Mutex<ZBounds>,
    /// Counts the writes that left collection members stale (a
    /// collection deleted, or replaced by another key or version): the
    /// garbage sweep runs only when it has moved (see [`gc`]).
    garbage: AtomicU64,
    /// Whole garbage-sweep passes done (INFO).
    gc_passes: AtomicU64,
    /// Bumped by every commit that changes the function libraries: their
    /// loaded forms are then stale.
    functions_generation: AtomicU64,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Store({})", self.path.display())
    }
}

fn cf_options(cf: Cf, cache: &Cache, opts: &StoreOptions) -> Options {
    let mut o = Options::default();
    let mut table = BlockBasedOptions::default();
    table.set_block_cache(cache);
    table.set_cache_index_and_filter_blocks(true);
    // Level 0's index and filter blocks stay in the cache. Pinning every
    // level's saved about 5 % of GET's CPU, but pinned blocks grow with
    // the data past the cache's capacity (about 1.5 % of it: at 15 GB they
    // would fill a 256 MiB cache), and data larger than memory is what
    // this store is for.
    table.set_pin_l0_filter_and_index_blocks_in_cache(true);
    // Point lookups dominate meta and sub (GET, HGET, SISMEMBER, and every
    // write's read of the key's metadata): bloom filters save disk reads.
    if matches!(cf, Cf::Meta | Cf::Sub) {
        table.set_bloom_filter(10.0, false);
        // A hash index inside each data block: a point lookup finds its
        // entry without the binary search over restart points that led
        // GET's profile.
        table.set_data_block_index_type(rocksdb::DataBlockIndexType::BinaryAndHash);
        table.set_data_block_hash_ratio(0.75);
        // A bloom filter over each memtable too: a lookup of a key a
        // memtable lacks skips its skip-list search.
        o.set_memtable_whole_key_filtering(true);
        o.set_memtable_prefix_bloom_ratio(0.05);
    }
    o.set_block_based_table_factory(&table);
    o.set_write_buffer_size(opts.write_buffer_bytes);
    o.set_max_write_buffer_number(4);
    o.set_level_compaction_dynamic_level_bytes(true);
    // LZ4 at every level by default: with data larger than the block
    // cache most reads decompress a block, and ZSTD's decompression (and
    // its compression in every compaction into the bottom level) took
    // 17-40 % off random GETs and SETs (`cargo xtask bench disk`).
    o.set_compression_type(DBCompressionType::Lz4);
    if opts.bottommost_zstd {
        o.set_bottommost_compression_type(DBCompressionType::Zstd);
    }
    o
}

fn escape(key: &[u8]) -> String {
    key.escape_ascii().to_string()
}

impl Store {
    /// Open (or create) the database in `dir`.
    ///
    /// # Errors
    /// [`Error::Rocks`].
    pub fn open(dir: &Path, opts: &StoreOptions) -> Result<Self> {
        // A clock cache (its entry size estimated by itself): lookups take
        // no lock and walk no LRU list, which with an LRU cache were about
        // 8 % of the master under SET and GET over 1 M keys.
        let cache = Cache::new_hyper_clock_cache(opts.block_cache_bytes, 0);
        let mut db_opts = Options::default();
        db_opts.create_if_missing(true);
        db_opts.create_missing_column_families(true);
        db_opts.increase_parallelism(2);
        db_opts.set_max_background_jobs(2);
        db_opts.set_bytes_per_sync(1 << 20);
        // With the WAL off, column families must flush together, so that
        // what survives a crash is one consistent point (data + applied_seq).
        db_opts.set_atomic_flush(true);
        db_opts.set_keep_log_file_num(5);
        let cfs = Cf::ALL
            .iter()
            .map(|&cf| ColumnFamilyDescriptor::new(cf.name(), cf_options(cf, &cache, opts)));
        let db = DB::open_cf_descriptors(&db_opts, dir, cfs)?;
        let mut write_opts = WriteOptions::default();
        write_opts.disable_wal(!opts.wal);
        Ok(Self {
            db,
            path: dir.to_owned(),
            write_opts,
            wal: opts.wal,
            gate: std::sync::RwLock::new(()),
            zbounds: std::sync::Mutex::default(),
            garbage: AtomicU64::new(0),
            gc_passes: AtomicU64::new(0),
            functions_generation: AtomicU64::new(0),
        })
    }

    /// Shared hold of the wipe gate (a garbage sweep's slice).
    pub fn sweep_gate(&self) -> std::sync::RwLockReadGuard<'_, ()> {
        self.gate
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Exclusive hold of the wipe gate (a full copy's wipe).
    pub fn wipe_gate(&self) -> std::sync::RwLockWriteGuard<'_, ()> {
        self.gate
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The database directory.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The RocksDB handle, for reads: snapshots, checkpoints, properties.
    /// A write through it passes the storage core by (only benchmarks
    /// measuring bare RocksDB do that).
    pub fn db(&self) -> &DB {
        &self.db
    }

    /// True when RocksDB's WAL is written.
    pub fn wal(&self) -> bool {
        self.wal
    }

    pub(crate) fn handle(&self, cf: Cf) -> Result<&rocksdb::ColumnFamily> {
        self.db
            .cf_handle(cf.name())
            .ok_or_else(|| Error::CorruptValue {
                cf: cf.name(),
                key: "<column family missing>".into(),
            })
    }

    /// A committed value.
    ///
    /// # Errors
    /// [`Error::Rocks`].
    pub fn get(&self, cf: Cf, key: &[u8]) -> Result<Option<Vec<u8>>> {
        self.get_in(cf, key, None)
    }

    /// A value as of `snap` (or committed now).
    ///
    /// # Errors
    /// [`Error::Rocks`].
    pub fn get_in(&self, cf: Cf, key: &[u8], snap: Option<&Snap<'_>>) -> Result<Option<Vec<u8>>> {
        // (pinned, then copied once: `get_cf` copies through a C++ string
        // first)
        let v = match snap {
            None => self.db.get_pinned_cf(self.handle(cf)?, key)?,
            Some(s) => s.get_pinned_cf(self.handle(cf)?, key)?,
        };
        Ok(v.map(|v| v.to_vec()))
    }

    /// A key's committed metadata, expired or not.
    ///
    /// # Errors
    /// [`Error::Rocks`], [`Error::CorruptValue`].
    pub fn meta(&self, key: &[u8]) -> Result<Option<Meta>> {
        self.meta_in(key, None)
    }

    /// A key's metadata as of `snap` (or committed now), expired or not.
    ///
    /// # Errors
    /// [`Error::Rocks`], [`Error::CorruptValue`].
    pub fn meta_in(&self, key: &[u8], snap: Option<&Snap<'_>>) -> Result<Option<Meta>> {
        let mut m = self.meta_header_in(key, snap)?;
        if let Some(m) = m.as_mut().filter(|m| m.is_chunked()) {
            match snap {
                Some(_) => m.value = chunks::read_all(self, key, m, snap)?,
                // (the metadata and its chunks from one view)
                None => return self.meta_in(key, Some(&self.db.snapshot())),
            }
        }
        Ok(m)
    }

    /// As [`Store::meta_in`], but a string kept in chunks comes without
    /// its value (its length is `size`).
    ///
    /// # Errors
    /// [`Error::Rocks`], [`Error::CorruptValue`].
    pub fn meta_header_in(&self, key: &[u8], snap: Option<&Snap<'_>>) -> Result<Option<Meta>> {
        let raw = match snap {
            None => self.db.get_pinned_cf(self.handle(Cf::Meta)?, key)?,
            Some(s) => s.get_pinned_cf(self.handle(Cf::Meta)?, key)?,
        };
        let Some(raw) = raw else {
            return Ok(None);
        };
        Meta::decode(&raw)
            .map(Some)
            .ok_or_else(|| Error::CorruptValue {
                cf: "meta",
                key: escape(key),
            })
    }

    /// Several values of `cf` in one batched RocksDB lookup (one
    /// consistent view).
    ///
    /// # Errors
    /// [`Error::Rocks`].
    pub fn multi_get(&self, cf: Cf, keys: &[&[u8]]) -> Result<Vec<Option<Vec<u8>>>> {
        self.lookup(self.handle(cf)?, keys)
            .into_iter()
            .map(|r| Ok(r?.map(|v| v.to_vec())))
            .collect()
    }

    /// `keys` in `cf`, batched. One key takes a plain point lookup: a batch
    /// of one costs a quarter more (3.9 against 3.1 µs on a cached 1 M-key
    /// store), and at `-P 1` every GET is one.
    fn lookup(
        &self,
        cf: &rocksdb::ColumnFamily,
        keys: &[&[u8]],
    ) -> Vec<std::result::Result<Option<rocksdb::DBPinnableSlice<'_>>, rocksdb::Error>> {
        match keys {
            [key] => vec![self.db.get_pinned_cf(cf, key)],
            _ => self
                .db
                .batched_multi_get_cf(cf, keys.iter().copied(), false),
        }
    }

    /// The metadata of several keys in one batched RocksDB lookup (one
    /// consistent view; one key, one point lookup), expired or not: a
    /// pipeline's run of GETs.
    ///
    /// # Errors
    /// [`Error::Rocks`], [`Error::CorruptValue`].
    pub fn multi_meta(&self, keys: &[&[u8]]) -> Result<Vec<Option<Meta>>> {
        self.lookup(self.handle(Cf::Meta)?, keys)
            .into_iter()
            .zip(keys)
            .map(|(r, key)| match r? {
                None => Ok(None),
                Some(raw) => match Meta::decode(&raw) {
                    // (read again with its chunks, from one view)
                    Some(m) if m.is_chunked() => self.meta_in(key, None),
                    Some(m) => Ok(Some(m)),
                    None => Err(Error::CorruptValue {
                        cf: "meta",
                        key: escape(key),
                    }),
                },
            })
            .collect()
    }

    /// Bytes a live key takes in the store before compression: its
    /// metadata and every member row (MEMORY USAGE); `None` when the key
    /// is missing or expired at `now_ms`.
    ///
    /// # Errors
    /// [`Error::Rocks`], [`Error::CorruptValue`].
    pub fn key_usage(&self, key: &[u8], now_ms: u64) -> Result<Option<u64>> {
        let Some(raw) = self.db.get_pinned_cf(self.handle(Cf::Meta)?, key)? else {
            return Ok(None);
        };
        let m = Meta::decode(&raw).ok_or_else(|| Error::CorruptValue {
            cf: "meta",
            key: escape(key),
        })?;
        if m.is_expired(now_ms) {
            return Ok(None);
        }
        let mut bytes = (key.len() + raw.len()) as u64;
        if m.kind != keys::Kind::String || m.is_chunked() {
            let prefix = keys::sub_prefix(m.owner(key), m.version);
            for cf in [Cf::Sub, Cf::ZScore] {
                self.scan_in(cf, &prefix, &prefix, None, &mut |k, v| {
                    bytes += (k.len() + v.len()) as u64;
                    true
                })?;
            }
        }
        Ok(Some(bytes))
    }

    /// The seq of the last event applied (0 for a new database).
    ///
    /// # Errors
    /// [`Error::Rocks`], [`Error::CorruptValue`].
    pub fn applied_seq(&self) -> Result<u64> {
        self.sys_u64(APPLIED_SEQ_KEY)
    }

    fn sys_u64(&self, key: &[u8]) -> Result<u64> {
        match self.get(Cf::Default, key)? {
            None => Ok(0),
            Some(v) => keys::be_u64(&v).ok_or_else(|| Error::CorruptValue {
                cf: "default",
                key: escape(key),
            }),
        }
    }

    /// Committed (keys, keys with an expiry).
    ///
    /// # Errors
    /// [`Error::Rocks`], [`Error::CorruptValue`].
    pub fn counts(&self) -> Result<(u64, u64)> {
        Ok((
            self.sys_u64(KEY_COUNT_KEY)?,
            self.sys_u64(EXPIRE_COUNT_KEY)?,
        ))
    }

    /// Committed number of keys (expired ones not yet deleted included,
    /// as Redis counts them).
    ///
    /// # Errors
    /// As [`Store::counts`].
    pub fn key_count(&self) -> Result<u64> {
        self.sys_u64(KEY_COUNT_KEY)
    }

    /// A system value (in the `default` column family).
    ///
    /// # Errors
    /// [`Error::Rocks`].
    pub fn get_sys(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        self.get(Cf::Default, key)
    }

    /// Write a system value now (outside any group).
    ///
    /// # Errors
    /// [`Error::Rocks`].
    pub(in crate::storage) fn put_sys(&self, key: &[u8], value: &[u8]) -> Result<()> {
        let mut wb = WriteBatch::default();
        wb.put_cf(self.handle(Cf::Default)?, key, value);
        self.write(wb)
    }

    /// Visit committed pairs of `cf` from `start` (inclusive) while `f`
    /// returns true and keys start with `prefix`.
    ///
    /// # Errors
    /// [`Error::Rocks`].
    pub fn scan(
        &self,
        cf: Cf,
        prefix: &[u8],
        start: &[u8],
        mut f: impl FnMut(&[u8], &[u8]) -> bool,
    ) -> Result<()> {
        self.scan_in(cf, prefix, start, None, &mut f)
    }

    /// [`Store::scan`] as of `snap`.
    ///
    /// # Errors
    /// [`Error::Rocks`].
    pub fn scan_in(
        &self,
        cf: Cf,
        prefix: &[u8],
        start: &[u8],
        snap: Option<&Snap<'_>>,
        f: &mut dyn FnMut(&[u8], &[u8]) -> bool,
    ) -> Result<()> {
        self.scan_until(cf, prefix, start, None, snap, f)
    }

    /// [`Store::scan_in`], stopping before `end` (when given): RocksDB's
    /// iterator stops there too, rather than skip deleted keys past it.
    ///
    /// # Errors
    /// [`Error::Rocks`].
    pub fn scan_until(
        &self,
        cf: Cf,
        prefix: &[u8],
        start: &[u8],
        end: Option<&[u8]>,
        snap: Option<&Snap<'_>>,
        f: &mut dyn FnMut(&[u8], &[u8]) -> bool,
    ) -> Result<()> {
        let mut ro = ReadOptions::default();
        if let Some(s) = snap {
            ro.set_snapshot(s);
        }
        let bound = match (keys::prefix_end(prefix), end) {
            (Some(p), Some(e)) => Some(p.min(e.to_vec())),
            (p, e) => p.or_else(|| e.map(<[u8]>::to_vec)),
        };
        if let Some(bound) = bound {
            ro.set_iterate_upper_bound(bound);
        }
        let from = if start < prefix { prefix } else { start };
        let mut it = self.db.raw_iterator_cf_opt(self.handle(cf)?, ro);
        it.seek(from);
        while let (Some(k), Some(v)) = (it.key(), it.value()) {
            if !k.starts_with(prefix) || !f(k, v) {
                break;
            }
            it.next();
        }
        it.status()?;
        Ok(())
    }

    /// Visit committed pairs of `cf` with keys starting with `prefix`, from
    /// the last backwards, while `f` returns true.
    ///
    /// # Errors
    /// [`Error::Rocks`].
    pub fn scan_rev(
        &self,
        cf: Cf,
        prefix: &[u8],
        mut f: impl FnMut(&[u8], &[u8]) -> bool,
    ) -> Result<()> {
        self.scan_rev_in(cf, prefix, None, &mut f)
    }

    /// [`Store::scan_rev`] as of `snap`.
    ///
    /// # Errors
    /// [`Error::Rocks`].
    pub fn scan_rev_in(
        &self,
        cf: Cf,
        prefix: &[u8],
        snap: Option<&Snap<'_>>,
        f: &mut dyn FnMut(&[u8], &[u8]) -> bool,
    ) -> Result<()> {
        self.scan_rev_before(cf, prefix, None, snap, f)
    }

    /// As [`Store::scan_rev_in`], from the last key below `before` (when
    /// given) rather than the prefix's last.
    ///
    /// # Errors
    /// [`Error::Rocks`].
    pub fn scan_rev_before(
        &self,
        cf: Cf,
        prefix: &[u8],
        before: Option<&[u8]>,
        snap: Option<&Snap<'_>>,
        f: &mut dyn FnMut(&[u8], &[u8]) -> bool,
    ) -> Result<()> {
        let mut ro = ReadOptions::default();
        if let Some(s) = snap {
            ro.set_snapshot(s);
        }
        ro.set_iterate_lower_bound(prefix.to_vec());
        let end = match (keys::prefix_end(prefix), before) {
            (Some(end), Some(b)) => Some(end.min(b.to_vec())),
            (end, b) => end.or_else(|| b.map(<[u8]>::to_vec)),
        };
        if let Some(end) = &end {
            ro.set_iterate_upper_bound(end.clone());
        }
        let mut it = self.db.raw_iterator_cf_opt(self.handle(cf)?, ro);
        it.seek_to_last();
        while let (Some(k), Some(v)) = (it.key(), it.value()) {
            if !k.starts_with(prefix) || !f(k, v) {
                break;
            }
            it.prev();
        }
        it.status()?;
        Ok(())
    }

    /// A sorted set's known bounds (see [`ZBound`]).
    pub fn zbound(&self, prefix: &[u8]) -> ZBound {
        self.zbounds_map().get(prefix).cloned().unwrap_or_default()
    }

    /// A score entry `k` is being written: the bounds widen to take it in.
    pub fn zbound_written(&self, k: &[u8]) {
        let Some(prefix) = zscore_prefix(k) else {
            return;
        };
        if let Some(b) = self.zbounds_map().get_mut(prefix) {
            b.widen(k);
        }
    }

    /// Record bounds learned by a committed group.
    pub fn zbounds_learned(&self, learned: ZBounds) {
        if learned.is_empty() {
            return;
        }
        let mut map = self.zbounds_map();
        if map.len() >= MAX_ZBOUNDS {
            map.clear();
        }
        for (prefix, b) in learned {
            map.entry(prefix).or_default().narrow(&b);
        }
    }

    /// Forget every bound (score entries written around them: a copy).
    pub fn zbounds_clear(&self) {
        self.zbounds_map().clear();
    }

    fn zbounds_map(&self) -> std::sync::MutexGuard<'_, ZBounds> {
        self.zbounds
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Write a batch (without RocksDB's WAL unless configured). Private to
    /// the storage core: everything else writes through its commit step,
    /// or a [`Batch`] with [`Store::write_batch`].
    ///
    /// # Errors
    /// [`Error::Rocks`].
    pub(in crate::storage) fn write(&self, batch: WriteBatch) -> Result<()> {
        Ok(self.db.write_opt(batch, &self.write_opts)?)
    }

    /// Write a batch, then, when it leaves collection members stale
    /// (`garbage`), count it ([`Store::note_garbage`]) now that it is in.
    ///
    /// # Errors
    /// [`Error::Rocks`].
    pub(in crate::storage) fn write_leaving(&self, batch: WriteBatch, garbage: bool) -> Result<()> {
        self.write(batch)?;
        if garbage {
            self.note_garbage();
        }
        Ok(())
    }

    /// Write a batch of applied events that are logged elsewhere, or
    /// nowhere (a replica's store in tests, a tool's): its key counts,
    /// `applied_seq` (`seq`) and stale members are kept as the commit step
    /// keeps them. Everything before it must be in the store.
    ///
    /// # Errors
    /// [`Error::Rocks`], [`Error::CorruptValue`] if a column family is
    /// missing.
    pub fn write_batch(&self, batch: batch::Batch, seq: u64) -> Result<()> {
        let garbage = batch.leaves_garbage();
        self.write_leaving(batch.finish(self, seq)?, garbage)
    }

    /// A write that left collection members stale is in the store (or
    /// data whose stale members no count saw, such as a full copy's):
    /// a sweep that starts from now finds them.
    pub fn note_garbage(&self) {
        self.garbage.fetch_add(1, Ordering::Release);
    }

    /// How many writes so far left collection members stale: a garbage
    /// sweep that began after the last change has nothing new to find.
    pub fn garbage(&self) -> u64 {
        self.garbage.load(Ordering::Acquire)
    }

    /// The function libraries changed (a commit wrote them).
    pub fn note_functions_changed(&self) {
        self.functions_generation.fetch_add(1, Ordering::AcqRel);
    }

    /// Which change of the function libraries the store holds: a loaded
    /// form of another is stale.
    pub fn functions_generation(&self) -> u64 {
        self.functions_generation.load(Ordering::Acquire)
    }

    /// Every function library: (name, code), by name.
    ///
    /// # Errors
    /// RocksDB errors.
    pub fn function_libraries(&self) -> Result<Vec<(Vec<u8>, Vec<u8>)>> {
        let mut out = Vec::new();
        self.scan(Cf::Default, FUNCTION_PREFIX, FUNCTION_PREFIX, |k, v| {
            out.push((k[FUNCTION_PREFIX.len()..].to_vec(), v.to_vec()));
            true
        })?;
        Ok(out)
    }

    /// A whole garbage-sweep pass is done.
    pub fn note_gc_pass(&self) {
        self.gc_passes.fetch_add(1, Ordering::Relaxed);
    }

    /// Whole garbage-sweep passes done since the store opened.
    pub fn gc_passes(&self) -> u64 {
        self.gc_passes.load(Ordering::Relaxed)
    }

    /// Flush every memtable: what is applied is then on disk, so binlog
    /// events up to [`Store::applied_seq`] are no longer needed to recover.
    ///
    /// # Errors
    /// [`Error::Rocks`].
    pub fn flush(&self) -> Result<()> {
        let handles = Cf::ALL
            .iter()
            .map(|&cf| self.handle(cf))
            .collect::<Result<Vec<_>>>()?;
        let mut fo = rocksdb::FlushOptions::default();
        fo.set_wait(true);
        self.db.flush_cfs_opt(&handles, &fo)?;
        Ok(())
    }

    /// A database-wide RocksDB integer property (0 when RocksDB has none).
    pub fn db_property(&self, name: &str) -> u64 {
        self.db.property_int_value(name).ok().flatten().unwrap_or(0)
    }

    /// A RocksDB integer property summed over the column families (0 when
    /// RocksDB has none).
    pub fn int_property(&self, name: &str) -> u64 {
        Cf::ALL
            .iter()
            .filter_map(|&cf| self.handle(cf).ok())
            .filter_map(|h| self.db.property_int_value_cf(h, name).ok().flatten())
            .sum()
    }
}
