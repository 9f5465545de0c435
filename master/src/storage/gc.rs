//! Removal of stale sub-keys: members of collections that were deleted or
//! overwritten (their metadata now names another version, or no key).
//! Deletes and overwrites only rewrite metadata, in O(1); this sweep reclaims
//! the rest in the background, a bounded slice at a time, on masters and
//! slaves alike (nothing is logged: the entries are invisible already).
//!
//! A sub-key of version `v` is stale when its key's metadata is a
//! collection (or a string kept in chunks) of a later version, or a
//! string in its metadata, or when there is no
//! metadata and `v` is at most the `applied_seq` read before the slice. A
//! collection created meanwhile has a later version than that (versions
//! are the seqs of the events that create them), so a live member is never
//! taken for a stale one, whatever the write path does concurrently.
//!
//! RENAME moves a value's metadata and leaves its sub-keys where they are,
//! under their home's name, with a move record naming the key that holds
//! them now (see `keys`). So before it deletes what looks stale, the sweep
//! asks one snapshot whether anyone holds those sub-keys: the home itself
//! (a value renamed back is at an older version than the one its name had
//! meanwhile), or the key a move record names, whose metadata must name
//! that home and version. Only a holder can hand sub-keys on (by another
//! RENAME, which writes its record with its metadata), so sub-keys nobody
//! holds in that snapshot stay unheld, and deleting them races nothing. A
//! move record whose key holds nothing of it is swept the same way; each
//! move writes a record of its own, never one a sweep may delete.

use rocksdb::WriteBatch;

use super::store::keys::{self, be_u64, Kind};
use super::store::{Cf, Snap, Store};
use crate::error::Result;

/// A key's type, collection version and whether its value was moved
/// there (its sub-keys are under another name), as the sweep compares
/// them.
type Live = (Kind, u64, bool);

/// Where a sweep goes on: a column family and the key after which to read.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct GcCursor {
    /// 0: `sub`, 1: `zscore`.
    pub cf: usize,
    /// Resume after this key (empty: from the start).
    pub after: Vec<u8>,
}

/// Whether a key holds the sub-keys of `home` at `version`, as of `snap`
/// (taken now if not yet): `home` itself, or a key a move record of them
/// names; `record`: only the key this one record names (its value).
///
/// # Errors
/// RocksDB errors.
fn held<'a>(
    store: &'a Store,
    snap: &mut Option<Snap<'a>>,
    home: &[u8],
    version: u64,
    record: Option<&[u8]>,
) -> Result<bool> {
    let snap = &*snap.get_or_insert_with(|| store.db().snapshot());
    let holds = |key: &[u8]| -> Result<bool> {
        Ok(store
            .meta_header_in(key, Some(snap))?
            .is_some_and(|m| m.has_sub_keys() && m.version == version && m.owner(key) == home))
    };
    if let Some(holder) = record {
        return holds(holder);
    }
    if holds(home)? {
        return Ok(true);
    }
    let prefix = keys::moved_prefix(home, version);
    let mut holders = Vec::new();
    store.scan_in(Cf::Sub, &prefix, &prefix, Some(snap), &mut |_, v| {
        holders.push(v.to_vec());
        true
    })?;
    for h in holders {
        if holds(&h)? {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Split `len u32 · key · version u64 · rest` into key and version.
fn parse(k: &[u8]) -> Option<(&[u8], u64)> {
    let len = u32::from_be_bytes(k.get(..4)?.try_into().ok()?) as usize;
    let key = k.get(4..4 + len)?;
    let version = be_u64(k.get(4 + len..12 + len)?)?;
    Some((key, version))
}

/// Examine up to `limit` sub-keys from `cursor`, delete the stale ones.
/// Returns how many were deleted and where to go on (back to the start
/// after the last column family).
///
/// # Errors
/// RocksDB errors.
pub fn sweep(store: &Store, cursor: &GcCursor, limit: usize) -> Result<(usize, GcCursor)> {
    const CFS: [Cf; 2] = [Cf::Sub, Cf::ZScore];
    let applied = store.applied_seq()?;
    let cf = CFS[cursor.cf.min(1)];
    let mut seen = 0;
    let mut last: Option<Vec<u8>> = None;
    let mut stale = Vec::new();
    let mut memo: Option<(Vec<u8>, Option<Live>)> = None;
    // The last (home, version) asked about, and whether nobody holds it.
    let mut verdict: Option<(Vec<u8>, u64, bool)> = None;
    // One snapshot for every holder question of this slice, taken at the
    // first (after every read of the scan above it).
    let mut snap: Option<Snap<'_>> = None;
    let mut failed = None;
    let start = if cursor.after.is_empty() {
        Vec::new()
    } else {
        [&cursor.after[..], &[0]].concat()
    };
    store.scan(cf, &[], &start, |k, v| {
        if seen == limit {
            return false;
        }
        seen += 1;
        last = Some(k.to_vec());
        if let Some((home, version)) = keys::parse_moved(k) {
            // A move record: stale when the key it names holds nothing of it.
            match held(store, &mut snap, home, version, Some(v)) {
                Ok(true) => {}
                Ok(false) => stale.push(k.to_vec()),
                Err(e) => {
                    failed = Some(e);
                    return false;
                }
            }
            return true;
        }
        let Some((key, version)) = parse(k) else {
            return true;
        };
        let meta = match &memo {
            Some((mk, m)) if mk.as_slice() == key => *m,
            _ => match store.meta_header_in(key, None) {
                Ok(m) => {
                    let m = m.map(|m| (m.kind, m.version, m.home.is_some()));
                    memo = Some((key.to_vec(), m));
                    m
                }
                Err(e) => {
                    failed = Some(e);
                    return false;
                }
            },
        };
        let looks_stale = match meta {
            None => version <= applied,
            // (a string in its metadata: every sub-key is stale; one kept
            // in chunks has a version as a collection has)
            Some((Kind::String, 0, _)) => version <= applied,
            // (a value moved here: its sub-keys are under its home's name)
            Some((_, _, true)) => version <= applied,
            // (a value renamed back to its name is at an older version
            // than the sub-keys a value there meanwhile left)
            Some((_, live, false)) => version != live && (version < live || version <= applied),
        };
        if !looks_stale {
            return true;
        }
        let unheld = match &verdict {
            Some((vk, vv, unheld)) if vk.as_slice() == key && *vv == version => *unheld,
            _ => match held(store, &mut snap, key, version, None) {
                Ok(h) => {
                    verdict = Some((key.to_vec(), version, !h));
                    !h
                }
                Err(e) => {
                    failed = Some(e);
                    return false;
                }
            },
        };
        if unheld {
            stale.push(k.to_vec());
        }
        true
    })?;
    drop(snap);
    if let Some(e) = failed {
        return Err(e);
    }
    let n = stale.len();
    if n > 0 {
        rocksync_failpoint::pause("gc.sweep.before_delete");
        let mut wb = WriteBatch::default();
        let h = store.handle(cf)?;
        for k in stale {
            wb.delete_cf(h, k);
        }
        store.write(wb)?;
    }
    let next = match last {
        Some(after) if seen == limit => GcCursor {
            cf: cursor.cf,
            after,
        },
        _ => GcCursor {
            cf: (cursor.cf + 1) % 2,
            after: Vec::new(),
        },
    };
    Ok((n, next))
}
