//! A batch's pending writes near one end of a range, a bounded number at a
//! time: what a pop merges over committed data (see
//! [`Batch::pending_near`]). Collecting every pending write past the pop's
//! start, on every pop of a group that also adds members, grew with the
//! square of the group.

use std::collections::{BTreeSet, HashMap};
use std::ops::Bound;

use bytes::Bytes;

use super::{Batch, Pending};
use crate::store::{keys, Cf};

type Overlay = HashMap<Vec<u8>, Option<Bytes>, foldhash::fast::RandomState>;

/// Up to `limit` keys of `set` (the keys of `overlay`) under `prefix`, in
/// scan order from `from` (ascending: included; `rev`: below it, `None`:
/// from the top), with their values; true when cut at `limit`.
fn near(
    set: &BTreeSet<Vec<u8>>,
    overlay: &Overlay,
    prefix: &[u8],
    (from, rev): (Option<&[u8]>, bool),
    limit: usize,
) -> (Pending, bool) {
    let end = keys::prefix_end(prefix);
    let keys: Box<dyn Iterator<Item = &Vec<u8>>> = if rev {
        // From the prefix's end (not the set's: other keys' writes lie
        // past it), or from `from` when that is below it.
        let top = match (from, end.as_deref()) {
            (Some(b), _) if b < prefix => return (Vec::new(), false),
            (Some(b), Some(e)) => Bound::Excluded(b.min(e)),
            (Some(b), None) => Bound::Excluded(b),
            (None, Some(e)) => Bound::Excluded(e),
            (None, None) => Bound::Unbounded,
        };
        Box::new(set.range::<[u8], _>((Bound::Included(prefix), top)).rev())
    } else {
        let lo = from.unwrap_or(prefix).max(prefix);
        Box::new(set.range::<[u8], _>((Bound::Included(lo), Bound::Unbounded)))
    };
    let mut out = Vec::new();
    for k in keys.take_while(|k| k.starts_with(prefix)) {
        if out.len() == limit {
            return (out, true);
        }
        if let Some(v) = overlay.get(k) {
            out.push((k.clone(), v.clone()));
        }
    }
    (out, false)
}

impl Batch {
    /// What this batch (and the batch below it) wrote under `prefix`, in
    /// scan order from `from` (ascending from it, or `rev`: below it, from
    /// the top when `None`), about `limit` of them: the writes, the last
    /// key they cover when there are more past it (`None`: all of them),
    /// and whether committed data is hidden (a FLUSHALL in the batch).
    pub fn pending_near(
        &self,
        cf: Cf,
        prefix: &[u8],
        (from, rev): (Option<&[u8]>, bool),
        limit: usize,
    ) -> (Pending, Option<Vec<u8>>, bool) {
        let own = &self.overlay[cf as usize];
        let (mut v, mut cut) = if own.is_empty() {
            (Vec::new(), None)
        } else {
            let mut order = self.order.borrow_mut();
            let set = order[cf as usize].get_or_insert_with(|| own.keys().cloned().collect());
            let (v, more) = near(set, own, prefix, (from, rev), limit);
            let cut = more.then(|| v.last().map(|(k, _)| k.clone())).flatten();
            (v, cut)
        };
        let mut hidden = self.flushed && cf != Cf::Default;
        if let (false, Some(l)) = (hidden, self.below.as_deref()) {
            let theirs = &l.overlay[cf as usize];
            let set = l.order[cf as usize].get_or_init(|| theirs.keys().cloned().collect());
            let (t, more) = near(set, theirs, prefix, (from, rev), limit);
            if let Some((last, _)) = t.last().filter(|_| more) {
                // Both sides are known up to the nearer of their cuts.
                let nearer = match &cut {
                    Some(c) if (c <= last) != rev => c.clone(),
                    _ => last.clone(),
                };
                cut = Some(nearer);
            }
            v.extend(t.into_iter().filter(|(k, _)| !own.contains_key(k)));
            hidden = l.flushed && cf != Cf::Default;
        }
        if rev {
            v.sort_by(|a, b| b.0.cmp(&a.0));
        } else {
            v.sort_by(|a, b| a.0.cmp(&b.0));
        }
        if let Some(c) = &cut {
            v.retain(|(k, _)| if rev { k >= c } else { k <= c });
        }
        (v, cut, hidden)
    }
}
