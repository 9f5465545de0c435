//! Scans of committed data with a batch's pending writes merged over
//! them: what a command inside the write path (or an EXEC) sees.

use super::batch::{Batch, Pending};
use super::{Cf, Store};
use crate::error::Result;

/// Scan committed data with `batch`'s pending writes merged over it,
/// stopping before `end` (when given).
pub(crate) fn scan_through(
    store: &Store,
    batch: &Batch,
    cf: Cf,
    (prefix, start, end): (&[u8], &[u8], Option<&[u8]>),
    f: &mut dyn FnMut(&[u8], &[u8]) -> bool,
) -> Result<()> {
    let (pending, hidden) = batch.pending_under(cf, prefix, start, end);
    merge_scan(&pending, hidden, f, |g| {
        store.scan_until(cf, prefix, start, end, None, g)
    })
}

/// As [`scan_through`], last key first, from the last key below
/// `before` (when given).
pub(crate) fn scan_rev_through_before(
    store: &Store,
    batch: &Batch,
    cf: Cf,
    prefix: &[u8],
    before: Option<&[u8]>,
    f: &mut dyn FnMut(&[u8], &[u8]) -> bool,
) -> Result<()> {
    let (mut pending, hidden) = batch.pending_under(cf, prefix, prefix, before);
    pending.reverse();
    merge_scan_rev(&pending, hidden, f, |g| {
        store.scan_rev_before(cf, prefix, before, None, g)
    })
}

/// Pending writes a pop merges at a time (see [`scan_end_through`]).
const NEAR: usize = 64;

/// A scan from one end of a range (`rev`: the last key below `start`,
/// else from `start`), as [`scan_through`] and [`scan_rev_through_before`]
/// do, but reading committed data through what the batch read ahead for
/// earlier scans of that end, and the batch's pending writes [`NEAR`] at a
/// time: pops, one after another in a group that may add members too.
pub(crate) fn scan_end_through(
    store: &Store,
    batch: &Batch,
    (cf, prefix, rev): (Cf, &[u8], bool),
    start: Option<&[u8]>,
    f: &mut dyn FnMut(&[u8], &[u8]) -> bool,
) -> Result<()> {
    let mut from = start.map(<[u8]>::to_vec);
    loop {
        let (pending, cut, hidden) = batch.pending_near(cf, prefix, (from.as_deref(), rev), NEAR);
        // Past the cut, pending writes are not known yet: committed data
        // stops there, and the next round goes on from it.
        let past = |k: &[u8]| {
            cut.as_deref()
                .is_some_and(|c| if rev { k < c } else { k > c })
        };
        let mut wanted = true;
        let mut visit = |k: &[u8], v: &[u8]| {
            wanted = f(k, v);
            wanted
        };
        let committed = |g: &mut dyn FnMut(&[u8], &[u8]) -> bool| {
            batch.scan_committed_ahead(store, (cf, prefix, rev), from.as_deref(), &mut |k, v| {
                !past(k) && g(k, v)
            })
        };
        if rev {
            merge_scan_rev(&pending, hidden, &mut visit, committed)?;
        } else {
            merge_scan(&pending, hidden, &mut visit, committed)?;
        }
        let Some(mut c) = cut.filter(|_| wanted) else {
            return Ok(());
        };
        if !rev {
            c.push(0);
        }
        from = Some(c);
    }
}

/// Merge `pending` writes (ascending; None: deleted) over a committed scan
/// (`committed` calls its visitor in ascending order), visiting in order
/// while `f` says so. `hidden`: committed data is gone (FLUSHALL pending).
fn merge_scan(
    pending: &Pending,
    hidden: bool,
    f: &mut dyn FnMut(&[u8], &[u8]) -> bool,
    committed: impl FnOnce(&mut dyn FnMut(&[u8], &[u8]) -> bool) -> Result<()>,
) -> Result<()> {
    merge(pending, hidden, f, committed, |a, b| a < b)
}

/// As [`merge_scan`], descending (`pending` descending too).
fn merge_scan_rev(
    pending: &Pending,
    hidden: bool,
    f: &mut dyn FnMut(&[u8], &[u8]) -> bool,
    committed: impl FnOnce(&mut dyn FnMut(&[u8], &[u8]) -> bool) -> Result<()>,
) -> Result<()> {
    merge(pending, hidden, f, committed, |a, b| a > b)
}

fn merge(
    pending: &Pending,
    hidden: bool,
    f: &mut dyn FnMut(&[u8], &[u8]) -> bool,
    committed: impl FnOnce(&mut dyn FnMut(&[u8], &[u8]) -> bool) -> Result<()>,
    before: impl Fn(&[u8], &[u8]) -> bool,
) -> Result<()> {
    let mut i = 0;
    let mut stopped = false;
    if !hidden {
        committed(&mut |k, v| {
            while let Some((pk, pv)) = pending.get(i).filter(|(pk, _)| before(pk, k)) {
                i += 1;
                if let Some(pv) = pv {
                    if !f(pk, pv) {
                        stopped = true;
                        return false;
                    }
                }
            }
            if let Some((pk, pv)) = pending.get(i).filter(|(pk, _)| pk.as_slice() == k) {
                i += 1;
                return match pv {
                    Some(pv) => {
                        let go = f(pk, pv);
                        stopped = !go;
                        go
                    }
                    None => true,
                };
            }
            let go = f(k, v);
            stopped = !go;
            go
        })?;
    }
    if !stopped {
        for (pk, pv) in &pending[i..] {
            if let Some(pv) = pv {
                if !f(pk, pv) {
                    break;
                }
            }
        }
    }
    Ok(())
}
