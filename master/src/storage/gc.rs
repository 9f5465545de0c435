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

use rocksdb::WriteBatch;

use super::store::keys::{be_u64, Kind};
use super::store::{Cf, Store};
use crate::error::Result;

/// A key's type and collection version, as the sweep compares them.
type Live = (Kind, u64);

/// Where a sweep goes on: a column family and the key after which to read.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct GcCursor {
    /// 0: `sub`, 1: `zscore`.
    pub cf: usize,
    /// Resume after this key (empty: from the start).
    pub after: Vec<u8>,
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
    let mut failed = None;
    let start = if cursor.after.is_empty() {
        Vec::new()
    } else {
        [&cursor.after[..], &[0]].concat()
    };
    store.scan(cf, &[], &start, |k, _| {
        if seen == limit {
            return false;
        }
        seen += 1;
        last = Some(k.to_vec());
        let Some((key, version)) = parse(k) else {
            return true;
        };
        let meta = match &memo {
            Some((mk, m)) if mk.as_slice() == key => *m,
            _ => match store.meta_header_in(key, None) {
                Ok(m) => {
                    let m = m.map(|m| (m.kind, m.version));
                    memo = Some((key.to_vec(), m));
                    m
                }
                Err(e) => {
                    failed = Some(e);
                    return false;
                }
            },
        };
        let is_stale = match meta {
            None => version <= applied,
            // (a string in its metadata: every sub-key is stale; one kept
            // in chunks has a version as a collection has)
            Some((Kind::String, 0)) => version <= applied,
            Some((_, live)) => version < live,
        };
        if is_stale {
            stale.push(k.to_vec());
        }
        true
    })?;
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
