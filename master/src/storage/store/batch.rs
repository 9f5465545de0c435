//! A group's pending changes ([`Batch`]): what its commands wrote, per
//! column family and key, read through by the rest of the group and by the
//! group executing next ([`Layer`]), and written as one RocksDB batch with
//! the key counts and `applied_seq` ([`Sealed`]).

use std::cell::RefCell;
use std::collections::{BTreeSet, HashMap};
use std::ops::Bound;
use std::sync::{Arc, OnceLock};

use bytes::Bytes;
use rocksdb::WriteBatch;

mod carry;
mod near;

pub use carry::Carry;

use super::ahead::Ahead;
use super::keys::{self, Meta};
use super::{Cf, Store, ZBound, ZBounds, APPLIED_SEQ_KEY, EXPIRE_COUNT_KEY, KEY_COUNT_KEY};
use crate::error::{Error, Result};

/// Per column family, key → last value (None: deleted). Keys come from
/// clients, so the hash is seeded per process (foldhash), not a fixed one.
/// Values are shared, not copied, by each read (a 12 KB HyperLogLog or a
/// 1 MB string is read by every command that changes it).
type PerCf = [HashMap<Vec<u8>, Option<Bytes>, foldhash::fast::RandomState>; 5];

/// A batch's writes under a prefix, in key order (None: deleted).
pub type Pending = Vec<(Vec<u8>, Option<Bytes>)>;

/// Per column family, the keys written in key order: made on the first
/// scan through the batch, so that later scans read a range of it, not
/// every key written (a group of 800 XADDs to one stream scanned all of
/// them for each: its commands' time grew with the group's square).
type Orders = [Option<BTreeSet<Vec<u8>>>; 5];

/// The keys of `set` (the keys of `overlay`, in order) under `prefix`
/// from `start` on, with their values.
fn ordered_under(
    set: &BTreeSet<Vec<u8>>,
    overlay: &HashMap<Vec<u8>, Option<Bytes>, foldhash::fast::RandomState>,
    prefix: &[u8],
    start: &[u8],
    end: Option<&[u8]>,
) -> Pending {
    let from = start.max(prefix);
    set.range::<[u8], _>((Bound::Included(from), Bound::Unbounded))
        .take_while(|k| k.starts_with(prefix) && end.is_none_or(|e| k.as_slice() < e))
        .filter_map(|k| overlay.get(k).map(|v| (k.clone(), v.clone())))
        .collect()
}

/// A sealed batch's writes (its last value per key, or deleted), which the
/// next batch reads through while this one is being written: the write
/// path executes a group while the group before it commits.
#[derive(Default)]
pub struct Layer {
    overlay: PerCf,
    /// A FLUSHALL in it: nothing committed before it is visible.
    flushed: bool,
    /// Its keys in order, per column family, made on the first scan.
    order: [OnceLock<BTreeSet<Vec<u8>>>; 5],
    /// The metadata and members it read from the store (a master's, to
    /// choose what [`Carry`] keeps).
    missed: carry::Missed,
}

/// A batch ready to write: its RocksDB batch so far, and its writes as a
/// [`Layer`] (shared with the batch executing next).
pub struct Sealed {
    wb: WriteBatch,
    layer: Arc<Layer>,
    key_delta: i64,
    expire_delta: i64,
    /// It leaves collection members stale.
    garbage: bool,
}

/// Pending changes: what a group wrote, per column family and key (its
/// last value, or deleted), which reads during the group see and which
/// becomes one RocksDB write batch at the end; a FLUSHALL's range deletes
/// go into that batch at once, before everything written after them.
pub struct Batch {
    wb: WriteBatch,
    /// Per column family: what this batch wrote (None: deleted).
    overlay: PerCf,
    /// Per column family: committed values read during this batch (the
    /// batch's owner is the only writer, so they stay valid until it is
    /// written).
    cache: RefCell<PerCf>,
    /// After FLUSHALL in this batch, committed data is gone for readers.
    flushed: bool,
    /// Change in the number of keys (for DBSIZE).
    key_delta: i64,
    /// Change in the number of keys with an expiry.
    expire_delta: i64,
    /// A collection was deleted or replaced: its members are stale.
    garbage: bool,
    /// The batch before this one, executed but maybe not yet written:
    /// read between this batch's writes and committed data.
    below: Option<Arc<Layer>>,
    /// Its keys in order, once a scan needed them.
    order: RefCell<Orders>,
    /// Sorted sets' bounds learned by pops in this batch, the store's
    /// once it commits (see [`ZBound`]).
    zbounds: ZBounds,
    /// Committed entries read ahead by pops (see [`Ahead`]).
    ahead: RefCell<Ahead>,
    /// What the groups committed before it wrote, read before the store
    /// (see [`Carry`]).
    carry: Option<Arc<Carry>>,
    /// With a carry: the metadata and members read from the store.
    missed: RefCell<carry::Missed>,
    /// Since the last [`Batch::mark`]: each key written, with what the
    /// batch held for it before (`None`: nothing), to go back (`None`:
    /// no mark, nothing kept).
    undo: Vec<Undo>,
    /// Whether writes are kept in `undo` (between a mark and its end).
    marked: bool,
}

/// A key written since a [`Batch::mark`], and what the batch held for it
/// before (`None`: nothing; `Some(None)`: deleted).
type Undo = (Cf, Vec<u8>, Option<Option<Bytes>>);

/// Where a batch was at a [`Batch::mark`]: what [`Batch::back_to`] needs
/// besides the undo log.
#[derive(Clone, Copy, Debug)]
pub struct Mark {
    key_delta: i64,
    expire_delta: i64,
    garbage: bool,
    flushed: bool,
    wb_len: usize,
}

impl Sealed {
    /// It leaves collection members stale: once it is in the store, its
    /// writer calls [`Store::note_garbage`].
    pub fn leaves_garbage(&self) -> bool {
        self.garbage
    }

    /// Its writes, for the batch executing next to read through.
    pub fn layer(&self) -> Arc<Layer> {
        Arc::clone(&self.layer)
    }

    /// Stage `applied_seq` and hand over the RocksDB batch. Everything
    /// before this batch must be in the store (the key counts are read
    /// from it).
    ///
    /// # Errors
    /// [`Error::CorruptValue`] if a column family is missing.
    pub fn finish(mut self, store: &Store, applied_seq: u64) -> Result<WriteBatch> {
        let layer = &*self.layer;
        let h = store.handle(Cf::Default)?;
        self.wb
            .put_cf(h, APPLIED_SEQ_KEY, applied_seq.to_be_bytes());
        if layer.flushed || self.key_delta != 0 || self.expire_delta != 0 {
            let (keys, expires) = if layer.flushed {
                (0, 0)
            } else {
                store.counts()?
            };
            let keys = (keys as i64 + self.key_delta).max(0) as u64;
            let expires = (expires as i64 + self.expire_delta).max(0) as u64;
            self.wb.put_cf(h, KEY_COUNT_KEY, keys.to_be_bytes());
            self.wb.put_cf(h, EXPIRE_COUNT_KEY, expires.to_be_bytes());
        }
        Ok(self.wb)
    }
}

impl Default for Batch {
    fn default() -> Self {
        Self::new()
    }
}

impl Batch {
    /// An empty batch.
    pub fn new() -> Self {
        Self::on(None)
    }

    /// An empty batch over `below`: the writes of a batch that is sealed
    /// but may not be in the store yet, which this one reads through. It
    /// must be the only such batch: everything before it is committed.
    pub fn on(below: Option<Arc<Layer>>) -> Self {
        Self {
            wb: WriteBatch::default(),
            overlay: Default::default(),
            cache: Default::default(),
            flushed: false,
            key_delta: 0,
            expire_delta: 0,
            garbage: false,
            below,
            order: Default::default(),
            zbounds: ZBounds::default(),
            ahead: Default::default(),
            carry: None,
            missed: Default::default(),
            undo: Vec::new(),
            marked: false,
        }
    }

    /// An empty batch that reads what `carry` kept before the store (a
    /// master's next group: all of it is committed).
    pub fn after(carry: Option<Arc<Carry>>) -> Self {
        let mut b = Self::new();
        b.carry = carry;
        b
    }

    /// What [`Batch::carry`] settles of a key.
    fn carried(&self, cf: Cf, key: &[u8]) -> Option<Option<Bytes>> {
        self.carry.as_deref()?.get(cf, key)
    }

    /// Keep what each write replaces from now on, so that
    /// [`Batch::back_to`] can take back everything written after this
    /// point (one command's writes, when it fails half-way).
    pub fn mark(&mut self) -> Mark {
        self.undo.clear();
        self.marked = true;
        Mark {
            key_delta: self.key_delta,
            expire_delta: self.expire_delta,
            garbage: self.garbage,
            flushed: self.flushed,
            wb_len: self.wb.len(),
        }
    }

    /// What was written since the mark stays: stop keeping it.
    pub fn unmark(&mut self) {
        self.undo.clear();
        self.marked = false;
    }

    /// Take back everything written since `mark`; false when that cannot
    /// be done (a FLUSHALL or a copied pair went into the RocksDB batch
    /// itself, or there was no mark): the batch must then not be written.
    pub fn back_to(&mut self, mark: Mark) -> bool {
        if !self.marked || self.flushed != mark.flushed || self.wb.len() != mark.wb_len {
            return false;
        }
        self.marked = false;
        for (cf, key, before) in self.undo.drain(..).rev() {
            let map = &mut self.overlay[cf as usize];
            match before {
                Some(v) => {
                    map.insert(key, v);
                }
                None => {
                    map.remove(&key);
                }
            }
        }
        self.key_delta = mark.key_delta;
        self.expire_delta = mark.expire_delta;
        self.garbage = mark.garbage;
        // Bounds learned since may rest on writes taken back: forget them
        // all (a bound not known is only a shortcut not taken).
        self.zbounds.clear();
        true
    }

    /// Stage `value` (None: deleted) for `key`, keeping what it replaces
    /// while marked.
    fn stage(&mut self, cf: Cf, key: Vec<u8>, value: Option<Vec<u8>>) {
        let value = value.map(Bytes::from);
        if self.marked {
            let before = self.overlay[cf as usize].insert(key.clone(), value);
            self.undo.push((cf, key, before));
        } else {
            self.overlay[cf as usize].insert(key, value);
        }
    }

    /// A sorted set's bounds as this batch would leave them: the store's,
    /// narrowed by this batch's pops (see [`ZBound`]).
    pub fn zbound(&self, store: &Store, prefix: &[u8]) -> ZBound {
        let mut b = if self.below.is_some() {
            // A batch over another reads no bounds (none are learned on a
            // slave, which is where such batches are).
            ZBound::default()
        } else {
            store.zbound(prefix)
        };
        if let Some(learned) = self.zbounds.get(prefix) {
            b.narrow(learned);
        }
        b
    }

    /// A pop found no live entry of the sorted set at `prefix` outside
    /// `learned` (once this batch commits).
    pub fn learn_zbound(&mut self, prefix: &[u8], learned: &ZBound) {
        self.zbounds
            .entry(prefix.to_vec())
            .or_default()
            .narrow(learned);
    }

    /// The bounds this batch learned, for the store once it commits.
    pub fn take_zbounds(&mut self) -> ZBounds {
        std::mem::take(&mut self.zbounds)
    }

    /// A score entry is written: the bounds widen to take it in, the
    /// store's and this batch's.
    fn zscore_written(&mut self, store: &Store, k: &[u8]) {
        store.zbound_written(k);
        if self.zbounds.is_empty() {
            return;
        }
        if let Some(b) = super::zscore_prefix(k).and_then(|p| self.zbounds.get_mut(p)) {
            b.widen(k);
        }
    }

    /// This batch as written so far, ready for [`Sealed::finish`].
    ///
    /// The RocksDB batch is built here, not at commit: a catching-up slave
    /// seals a round on the thread that applies it while the round before
    /// commits on another, and the commit is the longer of the two.
    ///
    /// # Errors
    /// [`Error::CorruptValue`] if a column family is missing.
    pub fn seal(mut self, store: &Store) -> Result<Sealed> {
        if self.wb.is_empty() {
            // Sized once, not grown (and copied) by doubling.
            let bytes: usize = self
                .overlay
                .iter()
                .flat_map(|m| m.iter())
                .map(|(k, v)| k.len() + v.as_ref().map_or(0, Bytes::len) + 16)
                .sum();
            self.wb = WriteBatch::with_capacity_bytes(bytes + 256);
        }
        // The final value of every key written, per column family in key
        // order (after a FLUSHALL's range deletes, which are in the batch
        // already): one RocksDB entry per key, and a memtable insert that
        // starts next to the previous one instead of from the top of the
        // skip list (inserts led the write path's profile).
        for cf in Cf::ALL {
            let h = store.handle(cf)?;
            let mut entries: Vec<(&Vec<u8>, &Option<Bytes>)> =
                self.overlay[cf as usize].iter().collect();
            entries.sort_unstable_by(|a, b| a.0.cmp(b.0));
            for (k, v) in entries {
                match v {
                    Some(v) => self.wb.put_cf(h, k, v),
                    None => self.wb.delete_cf(h, k),
                }
            }
        }
        Ok(Sealed {
            wb: self.wb,
            layer: Arc::new(Layer {
                overlay: self.overlay,
                flushed: self.flushed,
                order: Default::default(),
                missed: self.missed.into_inner(),
            }),
            key_delta: self.key_delta,
            expire_delta: self.expire_delta,
            garbage: self.garbage,
        })
    }

    /// What `below` says of a key this batch has not written: `Some` when
    /// it settles the read (its value, or gone), `None` to read on.
    fn below(&self, cf: Cf, key: &[u8]) -> Option<Option<Bytes>> {
        let l = self.below.as_deref()?;
        if let Some(v) = l.overlay[cf as usize].get(key) {
            return Some(v.clone());
        }
        (l.flushed && cf != Cf::Default).then_some(None)
    }

    /// It leaves collection members stale (see [`Sealed::leaves_garbage`]).
    pub fn leaves_garbage(&self) -> bool {
        self.garbage
    }

    /// True when nothing is pending.
    pub fn is_empty(&self) -> bool {
        self.wb.is_empty() && self.overlay.iter().all(|m| m.is_empty())
    }

    /// A value as this batch would leave it.
    ///
    /// # Errors
    /// [`Error::Rocks`].
    pub fn get(&self, store: &Store, cf: Cf, key: &[u8]) -> Result<Option<Bytes>> {
        if let Some(v) = self.overlay[cf as usize].get(key) {
            return Ok(v.clone());
        }
        if self.flushed && cf != Cf::Default {
            return Ok(None);
        }
        if let Some(v) = self.below(cf, key) {
            return Ok(v);
        }
        if let Some(v) = self.cache.borrow()[cf as usize].get(key) {
            return Ok(v.clone());
        }
        if let Some(v) = self.carried(cf, key) {
            return Ok(v);
        }
        let v = store.get(cf, key)?.map(Bytes::from);
        self.cache.borrow_mut()[cf as usize].insert(key.to_vec(), v.clone());
        if let (Some(c), Some(s)) = (self.carry.as_deref(), carry::slot(cf)) {
            self.missed.borrow_mut()[s].push(c.hash(key));
        }
        Ok(v)
    }

    /// Read the committed values of `keys` in `cf` that this batch has
    /// neither written nor read yet, in one batched lookup, so that the
    /// commands about to run find them cached.
    ///
    /// # Errors
    /// [`Error::Rocks`].
    pub fn prefetch(&self, store: &Store, cf: Cf, keys: &[&[u8]]) -> Result<()> {
        if self.flushed || self.below.as_ref().is_some_and(|l| l.flushed) {
            return Ok(());
        }
        let below = self.below.as_deref().map(|l| &l.overlay[cf as usize]);
        let mut want: Vec<&[u8]> = {
            let cache = self.cache.borrow();
            keys.iter()
                .copied()
                .filter(|k| {
                    !self.overlay[cf as usize].contains_key(*k)
                        && !below.is_some_and(|b| b.contains_key(*k))
                        && !cache[cf as usize].contains_key(*k)
                        && self.carried(cf, k).is_none()
                })
                .collect()
        };
        want.sort_unstable();
        want.dedup();
        if want.len() < 2 {
            return Ok(());
        }
        let values = store.multi_get(cf, &want)?;
        let mut cache = self.cache.borrow_mut();
        for (k, v) in want.into_iter().zip(values) {
            cache[cf as usize].insert(k.to_vec(), v.map(Bytes::from));
        }
        Ok(())
    }

    /// Take `value` as the committed value of `key` in `cf`, read by
    /// someone else, unless this batch has written or read the key
    /// already. The caller vouches that no commit since the read changed
    /// it (see the write path's pre-reads).
    pub fn seed(&self, cf: Cf, key: &[u8], value: Option<Vec<u8>>) {
        if self.flushed || self.below.is_some() || self.overlay[cf as usize].contains_key(key) {
            return;
        }
        let mut cache = self.cache.borrow_mut();
        if !cache[cf as usize].contains_key(key) {
            cache[cf as usize].insert(key.to_vec(), value.map(Bytes::from));
        }
    }

    /// Committed entries of `cf` under `prefix` from `start` (`rev`: last
    /// first, below `start`), through what this batch read ahead for
    /// earlier scans of the same end (see [`Ahead`]).
    ///
    /// # Errors
    /// [`Error::Rocks`].
    pub fn scan_committed_ahead(
        &self,
        store: &Store,
        range: (Cf, &[u8], bool),
        start: Option<&[u8]>,
        f: &mut dyn FnMut(&[u8], &[u8]) -> bool,
    ) -> Result<()> {
        // (taken out while `f` runs, which may read through the batch)
        let mut ahead = self.ahead.take();
        let done = ahead.scan(store, range, start, f);
        *self.ahead.borrow_mut() = ahead;
        done
    }

    /// Whether this batch scanned the range before (see [`Ahead::note`]).
    pub fn scanned_before(&self, range: (Cf, &[u8], bool)) -> bool {
        self.ahead.borrow_mut().note(range)
    }

    /// The keys this batch wrote (or deleted) in `cf`, and whether it
    /// flushed everything.
    pub fn written(&self, cf: Cf) -> (impl Iterator<Item = &Vec<u8>>, bool) {
        (self.overlay[cf as usize].keys(), self.flushed)
    }

    /// What this batch wrote under `prefix` from `start` (None: deleted),
    /// before `end` when given, in key order, and whether committed data
    /// is hidden (a FLUSHALL in the batch): what a scan must merge over
    /// committed data.
    pub fn pending_under(
        &self,
        cf: Cf,
        prefix: &[u8],
        start: &[u8],
        end: Option<&[u8]>,
    ) -> (Pending, bool) {
        let own = &self.overlay[cf as usize];
        let mut v = if own.is_empty() {
            Vec::new()
        } else {
            let mut order = self.order.borrow_mut();
            let set = order[cf as usize].get_or_insert_with(|| own.keys().cloned().collect());
            ordered_under(set, own, prefix, start, end)
        };
        let mut hidden = self.flushed && cf != Cf::Default;
        if let (false, Some(l)) = (hidden, self.below.as_deref()) {
            // The batch below, where this one has not written over it.
            let theirs = &l.overlay[cf as usize];
            let set = l.order[cf as usize].get_or_init(|| theirs.keys().cloned().collect());
            v.extend(
                ordered_under(set, theirs, prefix, start, end)
                    .into_iter()
                    .filter(|(k, _)| !own.contains_key(k)),
            );
            hidden = l.flushed && cf != Cf::Default;
        }
        v.sort_by(|a, b| a.0.cmp(&b.0));
        (v, hidden)
    }

    /// The number of keys as this batch would leave it (DBSIZE inside an
    /// EXEC).
    ///
    /// # Errors
    /// [`Error::Rocks`].
    pub fn key_count(&self, store: &Store) -> Result<u64> {
        debug_assert!(self.below.is_none(), "key_count over an unwritten batch");
        let committed = if self.flushed { 0 } else { store.key_count()? };
        Ok((committed as i64 + self.key_delta).max(0) as u64)
    }

    /// A key's metadata as this batch would leave it (expired or not),
    /// a string kept in chunks with its value read from them.
    ///
    /// # Errors
    /// [`Error::Rocks`], [`Error::CorruptValue`].
    pub fn meta(&self, store: &Store, key: &[u8]) -> Result<Option<Meta>> {
        let mut m = self.meta_header(store, key)?;
        if let Some(m) = m.as_mut().filter(|m| m.is_chunked()) {
            m.value = super::chunks::read_all_in(store, self, key, m)?;
        }
        Ok(m)
    }

    /// As [`Batch::meta`], but a string kept in chunks comes without its
    /// value (its length is `size`).
    ///
    /// # Errors
    /// [`Error::Rocks`], [`Error::CorruptValue`].
    pub fn meta_header(&self, store: &Store, key: &[u8]) -> Result<Option<Meta>> {
        match self.get(store, Cf::Meta, key)? {
            None => Ok(None),
            Some(raw) => Meta::decode_shared(&raw)
                .map(Some)
                .ok_or_else(|| Error::CorruptValue {
                    cf: "meta",
                    key: key.escape_ascii().to_string(),
                }),
        }
    }

    /// Stage a put.
    ///
    /// # Errors
    /// [`Error::CorruptValue`] if a column family is missing.
    pub fn put(&mut self, store: &Store, cf: Cf, key: Vec<u8>, value: Vec<u8>) -> Result<()> {
        store.handle(cf)?;
        if cf == Cf::ZScore {
            self.zscore_written(store, &key);
        }
        self.keep_order(cf, &key);
        self.stage(cf, key, Some(value));
        Ok(())
    }

    /// Keep the keys' order (when a scan made it) for a key written.
    fn keep_order(&mut self, cf: Cf, key: &[u8]) {
        if let Some(set) = self.order.get_mut()[cf as usize].as_mut() {
            if !set.contains(key) {
                set.insert(key.to_vec());
            }
        }
    }

    /// Stage a put of a pair copied from another node's snapshot straight
    /// into the RocksDB batch: a full copy's pairs arrive sorted and once
    /// each, so they skip the per-key map (and its sort at `finish`). Reads
    /// through this batch do not see them.
    ///
    /// # Errors
    /// [`Error::CorruptValue`] if a column family is missing.
    pub fn put_copied(&mut self, store: &Store, cf: Cf, key: &[u8], value: &[u8]) -> Result<()> {
        if cf == Cf::ZScore {
            store.zbounds_clear();
        }
        self.wb.put_cf(store.handle(cf)?, key, value);
        Ok(())
    }

    /// Stage a delete.
    ///
    /// # Errors
    /// [`Error::CorruptValue`] if a column family is missing.
    pub fn delete(&mut self, store: &Store, cf: Cf, key: Vec<u8>) -> Result<()> {
        store.handle(cf)?;
        self.keep_order(cf, &key);
        self.stage(cf, key, None);
        Ok(())
    }

    pub(super) fn flush_all(&mut self, store: &Store) -> Result<()> {
        // A range delete up to [0xff; 64] covers every key but user keys
        // that start with 64 0xff bytes; those are deleted one by one.
        let high = [0xffu8; 64];
        for cf in Cf::DATA {
            self.wb
                .delete_range_cf(store.handle(cf)?, &[][..], &high[..]);
            let mut tail = Vec::new();
            store.scan(cf, &[], &high, |k, _| {
                tail.push(k.to_vec());
                true
            })?;
            // Those the batch below wrote are not in the store yet.
            if let Some(l) = self.below.as_deref() {
                tail.extend(
                    l.overlay[cf as usize]
                        .keys()
                        .filter(|k| k.as_slice() >= &high[..])
                        .cloned(),
                );
            }
            for k in tail {
                self.wb.delete_cf(store.handle(cf)?, &k);
            }
        }
        for cf in Cf::DATA {
            self.overlay[cf as usize].clear();
            self.order.get_mut()[cf as usize] = None;
        }
        self.flushed = true;
        self.key_delta = 0;
        self.expire_delta = 0;
        Ok(())
    }

    /// Stage `applied_seq` and hand over the RocksDB batch.
    ///
    /// # Errors
    /// [`Error::CorruptValue`] if a column family is missing.
    pub fn finish(self, store: &Store, applied_seq: u64) -> Result<WriteBatch> {
        self.seal(store)?.finish(store, applied_seq)
    }

    /// Replace a key's metadata, keeping the expiry index in step.
    ///
    /// # Errors
    /// As [`Batch::put`].
    pub fn put_meta(
        &mut self,
        store: &Store,
        key: &[u8],
        old: Option<&Meta>,
        new: &Meta,
    ) -> Result<()> {
        let old_expire = old.map_or(0, |m| m.expire_ms);
        if old.is_none() {
            self.key_delta += 1;
        }
        if old.is_some_and(|o| {
            o.has_sub_keys() && (o.kind, o.version, &o.home) != (new.kind, new.version, &new.home)
        }) {
            self.garbage = true;
        }
        if old_expire != new.expire_ms {
            if old_expire != 0 {
                self.expire_delta -= 1;
                self.delete(store, Cf::Expire, keys::expire_key(old_expire, key))?;
            }
            if new.expire_ms != 0 {
                self.expire_delta += 1;
                self.put(
                    store,
                    Cf::Expire,
                    keys::expire_key(new.expire_ms, key),
                    Vec::new(),
                )?;
            }
        }
        self.put(store, Cf::Meta, key.to_vec(), new.encode())
    }

    /// Delete an expiry-index entry that its key does not have (found by
    /// the expiry sweep), with the count it was counted in; false when the
    /// entry is gone already (a write since the sweep's scan moved it).
    ///
    /// # Errors
    /// As [`Batch::get`].
    pub fn drop_expire_entry(&mut self, store: &Store, at: u64, key: &[u8]) -> Result<bool> {
        let entry = keys::expire_key(at, key);
        if self.get(store, Cf::Expire, &entry)?.is_none() {
            return Ok(false);
        }
        self.expire_delta -= 1;
        self.delete(store, Cf::Expire, entry)?;
        Ok(true)
    }

    /// Delete a key of any type: its metadata and expiry entry. Sub-keys
    /// keep the old version and are never read again.
    ///
    /// # Errors
    /// As [`Batch::meta`].
    pub fn delete_key(&mut self, store: &Store, key: &[u8]) -> Result<bool> {
        self.remove_key(store, key, true)
    }

    /// Delete a collection whose last members this batch deleted: as
    /// [`Batch::delete_key`], but nothing is left stale.
    ///
    /// # Errors
    /// As [`Batch::meta`].
    pub(super) fn delete_emptied(&mut self, store: &Store, key: &[u8]) -> Result<bool> {
        self.remove_key(store, key, false)
    }

    fn remove_key(&mut self, store: &Store, key: &[u8], members_left: bool) -> Result<bool> {
        let Some(old) = self.meta_header(store, key)? else {
            return Ok(false);
        };
        if old.expire_ms != 0 {
            self.expire_delta -= 1;
            self.delete(store, Cf::Expire, keys::expire_key(old.expire_ms, key))?;
        }
        self.key_delta -= 1;
        // (a moved value's move record goes stale with it, whoever holds
        // its sub-keys next)
        self.garbage |= (members_left && old.has_sub_keys()) || old.home.is_some();
        self.delete(store, Cf::Meta, key.to_vec())?;
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn back_to_a_mark_takes_back_what_was_written_after_it() {
        let dir = tempfile::tempdir().expect("tmp");
        let store = Store::open(dir.path(), &Default::default()).expect("store");
        let mut b = Batch::new();
        b.put(&store, Cf::Meta, b"kept".to_vec(), b"1".to_vec())
            .expect("put");
        b.put(&store, Cf::Meta, b"changed".to_vec(), b"old".to_vec())
            .expect("put");
        let mark = b.mark();
        b.put(&store, Cf::Meta, b"changed".to_vec(), b"new".to_vec())
            .expect("put");
        b.put(&store, Cf::Meta, b"changed".to_vec(), b"newer".to_vec())
            .expect("put");
        b.delete(&store, Cf::Meta, b"kept".to_vec())
            .expect("delete");
        b.put(&store, Cf::Sub, b"added".to_vec(), b"x".to_vec())
            .expect("put");
        assert!(b.back_to(mark));
        let get = |b: &Batch, cf, k: &[u8]| b.get(&store, cf, k).expect("get").map(Vec::from);
        assert_eq!(get(&b, Cf::Meta, b"kept"), Some(b"1".to_vec()));
        assert_eq!(get(&b, Cf::Meta, b"changed"), Some(b"old".to_vec()));
        assert_eq!(get(&b, Cf::Sub, b"added"), None);
        assert_eq!(b.written(Cf::Sub).0.count(), 0, "nothing left staged");
        // A FLUSHALL goes into the RocksDB batch itself: no going back.
        let mark = b.mark();
        b.flush_all(&store).expect("flushall");
        assert!(!b.back_to(mark));
    }
}
