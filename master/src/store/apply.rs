//! Applying data events: the only code that changes the data. The master
//! applies the events its commands emit, its recovery replays the binlog
//! through it, and slaves apply what they receive through it, so all three
//! derive the same state from the same events.
//!
//! Event layout (key = the user key unless said otherwise; ttl = absolute
//! expiry in unix ms, 0 for none):
//!
//! | cmd | value | effect |
//! | --- | --- | --- |
//! | K_SET | the string | set, with expiry `ttl` |
//! | K_INCR, K_DECR | the new string | set, expiry kept |
//! | K_SETBIT | `offset bit` (decimal), ttl = -1 (older binlogs: the whole string, ttl 0) | set one bit, zero-extending; expiry kept |
//! | K_DEL, H_CLEAR, S_CLEAR, Z_CLEAR, Q_CLEAR | | delete the key, any type |
//! | K_EXPIRE_AT | | expiry := `ttl` (0: persist) |
//! | H_SET, H_INCR, H_DECR | `pack(field, value)` | set a field |
//! | H_DEL | field | delete a field |
//! | S_SET, S_DEL | member | add, remove |
//! | Z_SET, Z_INCR, Z_DECR | `pack(member, score)` (decimal) | set a score |
//! | Z_DEL | member | remove |
//! | Q_PUSH_FRONT, Q_PUSH_BACK | element | push |
//! | Q_POP_FRONT, Q_POP_BACK | | pop one |
//! | Q_SET | `pack(index, element)` (decimal index from the head) | set |
//! | Q_FIX | `start stop` (decimal, from the head) | keep only that range |
//! | FLUSHALL | | delete everything |
//!
//! K_SET, K_INCR and K_DECR made by this version also carry a prior
//! ([`Prior`]): whether their key existed and its expiry. H_SET, H_INCR,
//! H_DECR, H_DEL, S_SET and S_DEL carry whether their field or member was
//! there, and Z_SET, Z_INCR, Z_DECR and Z_DEL the score their member had.
//! They are then applied without reading the key or field, so counts and
//! sizes follow the master's. Such an event is not idempotent (an S_SET
//! that says "absent", applied twice, counts twice) and is trusted as
//! sent; none is applied twice (`applied_seq` is written with the data).
//!
//! A collection created by an event gets that event's seq as its version.
//! Expiry is data here: applying never consults the clock (the master logs
//! a K_DEL for an expired key before it writes to it).

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::Arc;

use bytes::Bytes;
use rocksdb::WriteBatch;
use rocksync_protocol::{Command, LogEvent, Prior};

use super::keys::{self, Kind, Meta};
use super::{Cf, Store, ZBound, APPLIED_SEQ_KEY, EXPIRE_COUNT_KEY, KEY_COUNT_KEY};
use crate::error::{Error, Result};

/// Per column family, key → last value (None: deleted). Keys come from
/// clients, so the hash is seeded per process (foldhash), not a fixed one.
type PerCf = [HashMap<Vec<u8>, Option<Vec<u8>>, foldhash::fast::RandomState>; 5];

/// A batch's writes under a prefix, in key order (None: deleted).
pub type Pending = Vec<(Vec<u8>, Option<Vec<u8>>)>;

/// A sealed batch's writes (its last value per key, or deleted), which the
/// next batch reads through while this one is being written: the write
/// path executes a group while the group before it commits.
#[derive(Default)]
pub struct Layer {
    overlay: PerCf,
    /// A FLUSHALL in it: nothing committed before it is visible.
    flushed: bool,
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
    /// Sorted sets' bounds learned by pops in this batch, the store's
    /// once it commits (see [`ZBound`]).
    zbounds: HashMap<Vec<u8>, ZBound>,
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
            zbounds: HashMap::new(),
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
    pub fn take_zbounds(&mut self) -> HashMap<Vec<u8>, ZBound> {
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
                .map(|(k, v)| k.len() + v.as_ref().map_or(0, Vec::len) + 16)
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
            let mut entries: Vec<(&Vec<u8>, &Option<Vec<u8>>)> =
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
            }),
            key_delta: self.key_delta,
            expire_delta: self.expire_delta,
            garbage: self.garbage,
        })
    }

    /// What `below` says of a key this batch has not written: `Some` when
    /// it settles the read (its value, or gone), `None` to read on.
    fn below(&self, cf: Cf, key: &[u8]) -> Option<Option<Vec<u8>>> {
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
    pub fn get(&self, store: &Store, cf: Cf, key: &[u8]) -> Result<Option<Vec<u8>>> {
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
        let v = store.get(cf, key)?;
        self.cache.borrow_mut()[cf as usize].insert(key.to_vec(), v.clone());
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
            cache[cf as usize].insert(k.to_vec(), v);
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
            cache[cf as usize].insert(key.to_vec(), value);
        }
    }

    /// The keys this batch wrote (or deleted) in `cf`, and whether it
    /// flushed everything.
    pub fn written(&self, cf: Cf) -> (impl Iterator<Item = &Vec<u8>>, bool) {
        (self.overlay[cf as usize].keys(), self.flushed)
    }

    /// What this batch wrote under `prefix` from `start` (None: deleted),
    /// in key order, and whether committed data is hidden (a FLUSHALL in
    /// the batch): what a scan must merge over committed data.
    pub fn pending_under(&self, cf: Cf, prefix: &[u8], start: &[u8]) -> (Pending, bool) {
        let under = |m: &HashMap<Vec<u8>, Option<Vec<u8>>, _>| -> Pending {
            m.iter()
                .filter(|(k, _)| k.starts_with(prefix) && k.as_slice() >= start)
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect()
        };
        let own = &self.overlay[cf as usize];
        let mut v = under(own);
        let mut hidden = self.flushed && cf != Cf::Default;
        if let (false, Some(l)) = (hidden, self.below.as_deref()) {
            // The batch below, where this one has not written over it.
            v.extend(
                under(&l.overlay[cf as usize])
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

    /// A key's metadata as this batch would leave it (expired or not).
    ///
    /// # Errors
    /// [`Error::Rocks`], [`Error::CorruptValue`].
    pub fn meta(&self, store: &Store, key: &[u8]) -> Result<Option<Meta>> {
        match self.get(store, Cf::Meta, key)? {
            None => Ok(None),
            Some(raw) => Meta::decode(&raw)
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
        self.overlay[cf as usize].insert(key, Some(value));
        Ok(())
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
        self.overlay[cf as usize].insert(key, None);
        Ok(())
    }

    fn flush_all(&mut self, store: &Store) -> Result<()> {
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
            o.kind != Kind::String && (o.kind, o.version) != (new.kind, new.version)
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
    fn delete_emptied(&mut self, store: &Store, key: &[u8]) -> Result<bool> {
        self.remove_key(store, key, false)
    }

    fn remove_key(&mut self, store: &Store, key: &[u8], members_left: bool) -> Result<bool> {
        let Some(old) = self.meta(store, key)? else {
            return Ok(false);
        };
        if old.expire_ms != 0 {
            self.expire_delta -= 1;
            self.delete(store, Cf::Expire, keys::expire_key(old.expire_ms, key))?;
        }
        self.key_delta -= 1;
        self.garbage |= members_left && old.kind != Kind::String;
        self.delete(store, Cf::Meta, key.to_vec())?;
        Ok(true)
    }
}

fn bad(e: &LogEvent, reason: impl Into<String>) -> Error {
    Error::BadEvent {
        seq: e.seq,
        cmd: e.cmd.name(),
        reason: reason.into(),
    }
}

fn unpacked(e: &LogEvent) -> Result<(Bytes, Bytes)> {
    keys::unpack(&e.value).ok_or_else(|| bad(e, "value is not a packed pair"))
}

fn number<T: std::str::FromStr>(e: &LogEvent, b: &[u8]) -> Result<T> {
    std::str::from_utf8(b)
        .ok()
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| bad(e, "not a number"))
}

/// The key's collection of `kind`, or a new one at version `e.seq` (an
/// existing key of another type is replaced).
fn collection(
    store: &Store,
    b: &mut Batch,
    e: &LogEvent,
    kind: Kind,
) -> Result<(Meta, Option<Meta>)> {
    let old = b.meta(store, &e.key)?;
    match &old {
        Some(m) if m.kind == kind => Ok((m.clone(), old)),
        Some(_) => {
            b.delete_key(store, &e.key)?;
            Ok((Meta::collection(kind, e.seq), None))
        }
        None => Ok((Meta::collection(kind, e.seq), None)),
    }
}

/// True when `e` carries what its key held before it ([`Prior`]), so that
/// applying it reads nothing: a round's batched read leaves its key out.
pub fn writes_blind(e: &LogEvent) -> bool {
    matches!(e.prior, Prior::Absent | Prior::Present { .. })
        && matches!(e.cmd, Command::KSet | Command::KIncr | Command::KDecr)
}

/// What a string write needs of the key's metadata before it: whether it
/// existed and its expiry. From the event when the master recorded it
/// (the receiver is in step with that master), else read.
fn old_of_string_write(store: &Store, b: &Batch, e: &LogEvent) -> Result<Option<Meta>> {
    match e.prior {
        // (a score is no string's prior: read)
        Prior::Unknown | Prior::Scored { .. } => b.meta(store, &e.key),
        Prior::Absent => Ok(None),
        Prior::Present { expire_ms } => Ok(Some(Meta::string(Bytes::new(), expire_ms))),
    }
}

/// What to record as `e`'s [`Prior`], given the key's metadata before it
/// (`old`, as the batch reads it): K_INCR and K_DECR only follow a string
/// or nothing; anything else stays unknown and is read on apply.
pub fn prior_of(cmd: Command, old: Option<&Meta>) -> Prior {
    match (cmd, old) {
        (Command::KSet | Command::KIncr | Command::KDecr, None) => Prior::Absent,
        // (over a collection: unknown, so that the receiver reads it and
        // counts its members stale)
        (Command::KSet, Some(m)) if m.kind == Kind::String => Prior::Present {
            expire_ms: m.expire_ms,
        },
        (Command::KIncr | Command::KDecr, Some(m)) if m.kind == Kind::String => Prior::Present {
            expire_ms: m.expire_ms,
        },
        _ => Prior::Unknown,
    }
}

/// The collection kind of a write to one field or member, whose event can
/// carry whether that field or member was there ([`Prior`]).
fn field_write_kind(cmd: Command) -> Option<Kind> {
    match cmd {
        Command::HSet | Command::HIncr | Command::HDecr | Command::HDel => Some(Kind::Hash),
        Command::SSet | Command::SDel => Some(Kind::Set),
        Command::ZSet | Command::ZIncr | Command::ZDecr | Command::ZDel => Some(Kind::ZSet),
        _ => None,
    }
}

/// The field or member a collection write names.
fn field_of(e: &LogEvent) -> Result<Bytes> {
    Ok(match e.cmd {
        Command::HSet
        | Command::HIncr
        | Command::HDecr
        | Command::ZSet
        | Command::ZIncr
        | Command::ZDecr => unpacked(e)?.0,
        _ => e.value.clone(),
    })
}

/// The [`Prior`] to record in `e` before it is applied to `b`: for string
/// writes what the key held ([`prior_of`]), for collection writes whether
/// the field or member is in the collection, as `b` reads them.
///
/// # Errors
/// RocksDB errors from reads; [`Error::BadEvent`] for a malformed value.
pub fn prior_for(store: &Store, b: &Batch, e: &LogEvent) -> Result<Prior> {
    if matches!(e.cmd, Command::KSet | Command::KIncr | Command::KDecr) {
        return Ok(prior_of(e.cmd, b.meta(store, &e.key)?.as_ref()));
    }
    let Some(kind) = field_write_kind(e.cmd) else {
        return Ok(Prior::Unknown);
    };
    let field = field_of(e)?;
    let value = match b.meta(store, &e.key)? {
        Some(m) if m.kind == kind => {
            b.get(store, Cf::Sub, &keys::sub_key(&e.key, m.version, &field))?
        }
        _ => None,
    };
    Ok(match value {
        None => Prior::Absent,
        // A sorted set's member value is its score's bits.
        Some(v) if kind == Kind::ZSet => match keys::be_u64(&v) {
            Some(score_bits) => Prior::Scored { score_bits },
            None => Prior::Unknown,
        },
        Some(_) => Prior::Present { expire_ms: 0 },
    })
}

/// The score a sorted-set member had before `e` (sub-key `sk` of the
/// existing set): from the event when its master recorded it, else read.
fn prior_score(store: &Store, b: &Batch, e: &LogEvent, sk: &[u8]) -> Result<Option<f64>> {
    Ok(match e.prior {
        Prior::Absent => None,
        Prior::Scored { score_bits } => Some(f64::from_bits(score_bits)),
        Prior::Unknown | Prior::Present { .. } => match b.get(store, Cf::Sub, sk)? {
            Some(v) => Some(f64::from_bits(
                keys::be_u64(&v).ok_or_else(|| bad(e, "corrupt score"))?,
            )),
            None => None,
        },
    })
}

/// Whether the field or member a collection write names (sub-key `sk` of
/// the existing collection) is there: from the event when its master
/// recorded it, else read. Z_SET reads a member that was there, for the
/// score it replaces.
fn field_present(store: &Store, b: &Batch, e: &LogEvent, sk: &[u8]) -> Result<bool> {
    Ok(match e.prior {
        Prior::Absent => false,
        Prior::Present { .. } | Prior::Scored { .. } => true,
        Prior::Unknown => b.get(store, Cf::Sub, sk)?.is_some(),
    })
}

/// Set a string, keeping the key's expiry when it was a string (another
/// type is replaced, with no expiry).
fn put_string_keeping_expiry(
    store: &Store,
    b: &mut Batch,
    e: &LogEvent,
    value: Bytes,
) -> Result<()> {
    let key = &e.key[..];
    if writes_blind(e) {
        let old = old_of_string_write(store, b, e)?;
        let expire = old.as_ref().map_or(0, |m| m.expire_ms);
        return b.put_meta(store, key, old.as_ref(), &Meta::string(value, expire));
    }
    let old = b.meta(store, key)?;
    let expire = old
        .as_ref()
        .filter(|m| m.kind == Kind::String)
        .map_or(0, |m| m.expire_ms);
    if old.as_ref().is_some_and(|m| m.kind != Kind::String) {
        b.delete_key(store, key)?;
    }
    let old = b.meta(store, key)?;
    b.put_meta(store, key, old.as_ref(), &Meta::string(value, expire))
}

/// The `ttl` of a K_SETBIT event that carries `offset bit` (a change)
/// rather than the whole new string.
pub const SETBIT_DELTA: i64 = -1;

/// A K_SETBIT event's `offset bit` (decimal offset below 2^32, bit 0 or 1).
fn setbit_delta(v: &[u8]) -> Option<(u64, u8)> {
    let text = std::str::from_utf8(v).ok()?;
    let (o, b) = text.split_once(' ')?;
    let off = o.parse::<u64>().ok().filter(|o| *o < (1u64 << 32))?;
    let bit = match b {
        "0" => 0,
        "1" => 1,
        _ => return None,
    };
    (o.len() <= 10 && o.bytes().all(|c| c.is_ascii_digit())).then_some((off, bit))
}

/// Write `m` back, or delete the key when the collection is empty.
fn store_collection(
    store: &Store,
    b: &mut Batch,
    key: &[u8],
    old: Option<&Meta>,
    m: &Meta,
) -> Result<()> {
    if m.size == 0 {
        b.delete_emptied(store, key)?;
        Ok(())
    } else {
        b.put_meta(store, key, old, m)
    }
}

/// Apply one data event to `batch`.
///
/// # Errors
/// [`Error::BadEvent`] for a control event or a malformed value, RocksDB
/// errors from reads.
pub fn apply_event(store: &Store, b: &mut Batch, e: &LogEvent) -> Result<()> {
    let key = &e.key[..];
    match e.cmd {
        Command::KSet => {
            let old = old_of_string_write(store, b, e)?;
            b.put_meta(
                store,
                key,
                old.as_ref(),
                &Meta::string(e.value.clone(), e.ttl as u64),
            )?;
        }
        Command::KSetbit => {
            // `ttl == SETBIT_DELTA` marks the change (`offset bit`); events
            // of older binlogs carry the whole new string.
            let value = match (e.ttl == SETBIT_DELTA).then(|| setbit_delta(&e.value)) {
                None => e.value.clone(),
                Some(None) => return Err(bad(e, "not `offset bit`")),
                Some(Some((off, bit))) => {
                    let mut v = match b.meta(store, key)? {
                        Some(m) if m.kind == Kind::String => m.value.to_vec(),
                        _ => Vec::new(),
                    };
                    let idx = (off / 8) as usize;
                    if v.len() <= idx {
                        v.resize(idx + 1, 0);
                    }
                    let mask = 1u8 << (7 - off % 8);
                    if bit == 1 {
                        v[idx] |= mask;
                    } else {
                        v[idx] &= !mask;
                    }
                    Bytes::from(v)
                }
            };
            put_string_keeping_expiry(store, b, e, value)?;
        }
        Command::KIncr | Command::KDecr => {
            put_string_keeping_expiry(store, b, e, e.value.clone())?;
        }
        Command::KDel | Command::HClear | Command::SClear | Command::ZClear | Command::QClear => {
            b.delete_key(store, key)?;
        }
        Command::KExpireAt => {
            if let Some(old) = b.meta(store, key)? {
                let mut m = old.clone();
                m.expire_ms = e.ttl as u64;
                b.put_meta(store, key, Some(&old), &m)?;
            }
        }
        Command::HSet | Command::HIncr | Command::HDecr => {
            let (field, value) = unpacked(e)?;
            let (mut m, old) = collection(store, b, e, Kind::Hash)?;
            let sk = keys::sub_key(key, m.version, &field);
            // A new collection (no `old`) has no fields, whatever the event.
            if old.is_none() || !field_present(store, b, e, &sk)? {
                m.size += 1;
            }
            b.put(store, Cf::Sub, sk, value.to_vec())?;
            b.put_meta(store, key, old.as_ref(), &m)?;
        }
        Command::SSet => {
            let (mut m, old) = collection(store, b, e, Kind::Set)?;
            let sk = keys::sub_key(key, m.version, &e.value);
            if old.is_none() || !field_present(store, b, e, &sk)? {
                m.size += 1;
                b.put(store, Cf::Sub, sk, Vec::new())?;
                b.put_meta(store, key, old.as_ref(), &m)?;
            }
        }
        Command::HDel | Command::SDel => {
            let kind = if e.cmd == Command::HDel {
                Kind::Hash
            } else {
                Kind::Set
            };
            let Some(old) = b.meta(store, key)?.filter(|m| m.kind == kind) else {
                return Ok(());
            };
            let sk = keys::sub_key(key, old.version, &e.value);
            if field_present(store, b, e, &sk)? {
                b.delete(store, Cf::Sub, sk)?;
                let mut m = old.clone();
                m.size -= 1;
                store_collection(store, b, key, Some(&old), &m)?;
            }
        }
        Command::ZSet | Command::ZIncr | Command::ZDecr => {
            let (member, score) = unpacked(e)?;
            let score: f64 = number(e, &score)?;
            let (mut m, old) = collection(store, b, e, Kind::ZSet)?;
            let sk = keys::sub_key(key, m.version, &member);
            // A new set (no `old`) has no members, whatever the event says.
            let prev = match old {
                None => None,
                Some(_) => prior_score(store, b, e, &sk)?,
            };
            match prev {
                Some(prev) => {
                    b.delete(
                        store,
                        Cf::ZScore,
                        keys::zscore_key(key, m.version, prev, &member),
                    )?;
                }
                None => m.size += 1,
            }
            b.put(store, Cf::Sub, sk, score.to_bits().to_be_bytes().to_vec())?;
            b.put(
                store,
                Cf::ZScore,
                keys::zscore_key(key, m.version, score, &member),
                Vec::new(),
            )?;
            b.put_meta(store, key, old.as_ref(), &m)?;
        }
        Command::ZDel => {
            let Some(old) = b.meta(store, key)?.filter(|m| m.kind == Kind::ZSet) else {
                return Ok(());
            };
            let sk = keys::sub_key(key, old.version, &e.value);
            if let Some(prev) = prior_score(store, b, e, &sk)? {
                b.delete(store, Cf::Sub, sk)?;
                b.delete(
                    store,
                    Cf::ZScore,
                    keys::zscore_key(key, old.version, prev, &e.value),
                )?;
                let mut m = old.clone();
                m.size -= 1;
                store_collection(store, b, key, Some(&old), &m)?;
            }
        }
        Command::QPushFront | Command::QPushBack => {
            let (mut m, old) = collection(store, b, e, Kind::List)?;
            let index = if e.cmd == Command::QPushFront {
                m.head -= 1;
                m.head
            } else {
                m.head + m.size
            };
            m.size += 1;
            b.put(
                store,
                Cf::Sub,
                keys::list_key(key, m.version, index),
                e.value.to_vec(),
            )?;
            b.put_meta(store, key, old.as_ref(), &m)?;
        }
        Command::QPopFront | Command::QPopBack => {
            let Some(old) = b
                .meta(store, key)?
                .filter(|m| m.kind == Kind::List && m.size > 0)
            else {
                return Ok(());
            };
            let mut m = old.clone();
            let index = if e.cmd == Command::QPopFront {
                m.head += 1;
                old.head
            } else {
                old.head + old.size - 1
            };
            m.size -= 1;
            b.delete(store, Cf::Sub, keys::list_key(key, m.version, index))?;
            store_collection(store, b, key, Some(&old), &m)?;
        }
        Command::QSet => {
            let (index, value) = unpacked(e)?;
            let index: u64 = number(e, &index)?;
            let Some(m) = b
                .meta(store, key)?
                .filter(|m| m.kind == Kind::List && index < m.size)
            else {
                return Err(bad(e, "index out of range"));
            };
            b.put(
                store,
                Cf::Sub,
                keys::list_key(key, m.version, m.head + index),
                value.to_vec(),
            )?;
        }
        Command::QFix => {
            let text = std::str::from_utf8(&e.value).map_err(|_| bad(e, "range is not text"))?;
            let (start, stop) = text
                .split_once(' ')
                .ok_or_else(|| bad(e, "range is not 'start stop'"))?;
            let (start, stop): (u64, u64) =
                (number(e, start.as_bytes())?, number(e, stop.as_bytes())?);
            let Some(old) = b.meta(store, key)?.filter(|m| m.kind == Kind::List) else {
                return Ok(());
            };
            let keep_end = (stop + 1).min(old.size);
            let keep_start = start.min(keep_end);
            for i in (0..keep_start).chain(keep_end..old.size) {
                b.delete(
                    store,
                    Cf::Sub,
                    keys::list_key(key, old.version, old.head + i),
                )?;
            }
            let mut m = old.clone();
            m.head = old.head + keep_start;
            m.size = keep_end - keep_start;
            store_collection(store, b, key, Some(&old), &m)?;
        }
        Command::FlushAll => b.flush_all(store)?,
        Command::KExpire | Command::ZPopFront | Command::ZPopBack => {
            return Err(bad(
                e,
                "not emitted by rocksync (relative or positional effect)",
            ))
        }
        _ => return Err(bad(e, "not a data event")),
    }
    Ok(())
}
