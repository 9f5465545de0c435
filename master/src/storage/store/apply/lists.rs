//! Applying list events. A list's elements are in `sub` at indexes from
//! its head ([`keys::list_key`]), in order. Pushes and pops keep them
//! consecutive; LREM's removals (Q_REM) leave gaps between them, counted
//! in the metadata ([`Meta::gaps`]), so that removing an element moves no
//! other. The head and the last element are always there: a removal or a
//! pop at either end moves that end to the nearest element left. Walks
//! skip the gaps; an element's index then comes from a walk from the
//! nearer end ([`list_index`]), and Q_PACK closes the gaps (LINSERT's
//! shifts need them closed). Q_INDEX puts every element of a list in
//! `zscore` by value too ([`keys::list_element_key`]), and every list
//! event keeps that index from then on: LREM finds its matches there
//! instead of walking the list.

use super::*;
use crate::store::merged::{scan_rev_through_before, scan_through};

/// A walk over a list's sub-keys: `walk(rev, f)` visits them in order
/// (`rev`: from the last) while `f` says so.
pub type Walk<'a> = dyn FnMut(bool, &mut dyn FnMut(&[u8]) -> bool) -> Result<()> + 'a;

/// The index in `sub` of the element at `rank` (0: the head) of the list
/// `m` at `key`: `head + rank` when the list has no gaps, else found by a
/// walk from the nearer end. `None` past the end.
///
/// # Errors
/// What `walk` returns.
pub fn list_index(m: &Meta, key: &[u8], rank: u64, walk: &mut Walk<'_>) -> Result<Option<u64>> {
    if rank >= m.size {
        return Ok(None);
    }
    let last = m.size - 1;
    if m.gaps == 0 || rank == 0 {
        return Ok(Some(m.head + rank));
    }
    if rank == last {
        return Ok(Some(m.head + m.size + m.gaps - 1));
    }
    let plen = keys::sub_prefix(m.owner(key), m.version).len();
    let rev = rank > last / 2;
    let mut left = if rev { last - rank } else { rank };
    let mut found = None;
    walk(rev, &mut |k| {
        if left == 0 {
            found = k.get(plen..).and_then(keys::be_u64);
            return false;
        }
        left -= 1;
        true
    })?;
    Ok(found)
}

/// The list's sub-keys in order through the batch (see [`list_index`]).
fn walk_list(
    store: &Store,
    b: &Batch,
    prefix: &[u8],
    rev: bool,
    f: &mut dyn FnMut(&[u8]) -> bool,
) -> Result<()> {
    if rev {
        scan_rev_through_before(store, b, Cf::Sub, prefix, None, &mut |k, _| f(k))
    } else {
        scan_through(store, b, Cf::Sub, (prefix, prefix, None), &mut |k, _| f(k))
    }
}

/// The index of the first element after `index` (`rev`: before it).
fn next_element(
    store: &Store,
    b: &Batch,
    (key, m): (&[u8], &Meta),
    index: u64,
    rev: bool,
) -> Result<Option<u64>> {
    let prefix = keys::sub_prefix(m.owner(key), m.version);
    let at = keys::list_key(m.owner(key), m.version, index);
    let mut found = None;
    let mut take = |k: &[u8], _: &[u8]| {
        found = k.get(prefix.len()..).and_then(keys::be_u64);
        false
    };
    if rev {
        scan_rev_through_before(store, b, Cf::Sub, &prefix, Some(&at), &mut take)?;
    } else {
        let mut after = at;
        after.push(0);
        scan_through(store, b, Cf::Sub, (&prefix, &after, None), &mut take)?;
    }
    Ok(found)
}

/// A list with fewer elements than its metadata counts.
fn short(e: &LogEvent) -> Error {
    bad(e, "the list holds fewer elements than its metadata says")
}

/// Take the element at `index` out of the list `old` at `e.key` (which
/// holds it), moving an end that it was to the nearest element left.
fn take_out(store: &Store, b: &mut Batch, e: &LogEvent, old: &Meta, index: u64) -> Result<()> {
    let key = &e.key[..];
    let end = old.head + old.size + old.gaps;
    let sk = keys::list_key(old.owner(key), old.version, index);
    if old.by_element {
        if let Some(v) = b.get(store, Cf::Sub, &sk)? {
            unindex(store, b, (key, old), &v, index)?;
        }
    }
    b.delete(store, Cf::Sub, sk)?;
    let mut m = old.clone();
    m.size -= 1;
    if m.size == 0 {
        m.gaps = 0;
    } else {
        // (without gaps, the next element is the next index)
        let lost = || short(e);
        let near = |rev: bool| -> Result<u64> {
            if old.gaps == 0 {
                return Ok(if rev { index - 1 } else { index + 1 });
            }
            next_element(store, b, (key, old), index, rev)?.ok_or_else(lost)
        };
        let new_end = if index == end - 1 {
            near(true)? + 1
        } else {
            end
        };
        if index == old.head {
            m.head = near(false)?;
        }
        m.gaps = new_end
            .checked_sub(m.head)
            .and_then(|n| n.checked_sub(m.size))
            .ok_or_else(lost)?;
    }
    store_collection(store, b, key, Some(old), &m)
}

/// Put element `v` at `at` in the index by value of the list `m`.
fn index(store: &Store, b: &mut Batch, (key, m): (&[u8], &Meta), v: &[u8], at: u64) -> Result<()> {
    let k = keys::list_element_key(m.owner(key), m.version, v, at);
    b.put(store, Cf::ZScore, k, Vec::new())
}

/// Take element `v` at `at` out of the index by value of the list `m`.
fn unindex(
    store: &Store,
    b: &mut Batch,
    (key, m): (&[u8], &Meta),
    v: &[u8],
    at: u64,
) -> Result<()> {
    let k = keys::list_element_key(m.owner(key), m.version, v, at);
    b.delete(store, Cf::ZScore, k)
}

/// The first `n` elements of the list `m` at `key` with their indexes
/// (`rev`: its last `n`, last first).
fn end_walk(
    store: &Store,
    b: &Batch,
    (key, m): (&[u8], &Meta),
    rev: bool,
    n: usize,
) -> Result<Vec<(u64, Bytes)>> {
    let prefix = keys::sub_prefix(m.owner(key), m.version);
    let mut out = Vec::with_capacity(n.min(1 << 16));
    let mut take = |k: &[u8], v: &[u8]| {
        if let Some(i) = k.get(prefix.len()..).and_then(keys::be_u64) {
            out.push((i, Bytes::copy_from_slice(v)));
        }
        out.len() < n
    };
    if rev {
        scan_rev_through_before(store, b, Cf::Sub, &prefix, None, &mut take)?;
    } else {
        scan_through(store, b, Cf::Sub, (&prefix, &prefix, None), &mut take)?;
    }
    Ok(out)
}

/// Every element of the list `m` at `key` with its index, in order.
fn elements(store: &Store, b: &Batch, key: &[u8], m: &Meta) -> Result<Vec<(u64, Bytes)>> {
    let prefix = keys::sub_prefix(m.owner(key), m.version);
    let mut out = Vec::with_capacity(m.size.min(1 << 20) as usize);
    scan_through(store, b, Cf::Sub, (&prefix, &prefix, None), &mut |k, v| {
        if let Some(i) = k.get(prefix.len()..).and_then(keys::be_u64) {
            out.push((i, Bytes::copy_from_slice(v)));
        }
        true
    })?;
    Ok(out)
}

/// Apply a Q_* event.
pub(super) fn apply_list(store: &Store, b: &mut Batch, e: &LogEvent) -> Result<()> {
    let key = &e.key[..];
    match e.cmd {
        Command::QPushFront | Command::QPushBack => {
            let (mut m, old) = collection(store, b, e, Kind::List)?;
            let index = if e.cmd == Command::QPushFront {
                m.head -= 1;
                m.head
            } else {
                m.head + m.size + m.gaps
            };
            m.size += 1;
            b.put(
                store,
                Cf::Sub,
                keys::list_key(m.owner(key), m.version, index),
                e.value.to_vec(),
            )?;
            if m.by_element {
                self::index(store, b, (key, &m), &e.value, index)?;
            }
            b.put_meta(store, key, old.as_ref(), &m)?;
        }
        Command::QPopFront | Command::QPopBack => {
            let Some(old) = b
                .meta_header(store, key)?
                .filter(|m| m.kind == Kind::List && m.size > 0)
            else {
                return Ok(());
            };
            let index = if e.cmd == Command::QPopFront {
                old.head
            } else {
                old.head + old.size + old.gaps - 1
            };
            take_out(store, b, e, &old, index)?;
        }
        Command::QRem => {
            let index: u64 = number(e, &e.value[..])?;
            let Some(old) = b.meta_header(store, key)?.filter(|m| m.kind == Kind::List) else {
                return Err(bad(e, "no list"));
            };
            let sk = keys::list_key(old.owner(key), old.version, index);
            if b.get(store, Cf::Sub, &sk)?.is_none() {
                return Err(bad(e, "no element at that index"));
            }
            take_out(store, b, e, &old, index)?;
        }
        Command::QSet => {
            let (rank, value) = unpacked(e)?;
            let rank: u64 = number(e, &rank)?;
            let Some(m) = b.meta_header(store, key)?.filter(|m| m.kind == Kind::List) else {
                return Err(bad(e, "index out of range"));
            };
            let prefix = keys::sub_prefix(m.owner(key), m.version);
            let index = list_index(&m, key, rank, &mut |rev, f| {
                walk_list(store, b, &prefix, rev, f)
            })?
            .ok_or_else(|| bad(e, "index out of range"))?;
            let sk = keys::list_key(m.owner(key), m.version, index);
            if m.by_element {
                if let Some(was) = b.get(store, Cf::Sub, &sk)? {
                    unindex(store, b, (key, &m), &was, index)?;
                }
                self::index(store, b, (key, &m), &value, index)?;
            }
            b.put(store, Cf::Sub, sk, value.to_vec())?;
        }
        Command::QFix => {
            let text = std::str::from_utf8(&e.value).map_err(|_| bad(e, "range is not text"))?;
            let (start, stop) = text
                .split_once(' ')
                .ok_or_else(|| bad(e, "range is not 'start stop'"))?;
            let (start, stop): (u64, u64) =
                (number(e, start.as_bytes())?, number(e, stop.as_bytes())?);
            let Some(old) = b.meta_header(store, key)?.filter(|m| m.kind == Kind::List) else {
                return Ok(());
            };
            let keep_end = stop.saturating_add(1).min(old.size);
            let keep_start = start.min(keep_end);
            let mut m = old.clone();
            m.size = keep_end - keep_start;
            if old.gaps == 0 && !old.by_element {
                for i in (0..keep_start).chain(keep_end..old.size) {
                    b.delete(
                        store,
                        Cf::Sub,
                        keys::list_key(old.owner(key), old.version, old.head + i),
                    )?;
                }
                m.head = old.head + keep_start;
            } else if m.size == 0 {
                // (the sweep takes the elements and their index entries)
                b.delete_key(store, key)?;
                return Ok(());
            } else {
                // What goes from each end, then the first element kept
                // there: a walk of what is trimmed, not of the list.
                let lost = || short(e);
                let (cut_front, cut_back) = (keep_start as usize, (old.size - keep_end) as usize);
                let front = end_walk(store, b, (key, &old), false, cut_front + 1)?;
                let back = end_walk(store, b, (key, &old), true, cut_back + 1)?;
                let (Some(first), Some(last)) = (front.get(cut_front), back.get(cut_back)) else {
                    return Err(lost());
                };
                let (head, end) = (first.0, last.0 + 1);
                for (i, v) in front[..cut_front].iter().chain(&back[..cut_back]) {
                    b.delete(
                        store,
                        Cf::Sub,
                        keys::list_key(old.owner(key), old.version, *i),
                    )?;
                    if old.by_element {
                        unindex(store, b, (key, &old), v, *i)?;
                    }
                }
                m.head = head;
                m.gaps = end
                    .checked_sub(head)
                    .and_then(|n| n.checked_sub(m.size))
                    .ok_or_else(lost)?;
            }
            store_collection(store, b, key, Some(&old), &m)?;
        }
        Command::QPack => {
            let Some(old) = b
                .meta_header(store, key)?
                .filter(|m| m.kind == Kind::List && m.gaps > 0)
            else {
                return Ok(());
            };
            // (each element moves towards the head, to an index that is a
            // gap or one an element before it has left)
            for (rank, (i, v)) in elements(store, b, key, &old)?.into_iter().enumerate() {
                let to = old.head + rank as u64;
                if to != i {
                    let owner = old.owner(key);
                    if old.by_element {
                        unindex(store, b, (key, &old), &v, i)?;
                        self::index(store, b, (key, &old), &v, to)?;
                    }
                    b.put(
                        store,
                        Cf::Sub,
                        keys::list_key(owner, old.version, to),
                        v.to_vec(),
                    )?;
                    b.delete(store, Cf::Sub, keys::list_key(owner, old.version, i))?;
                }
            }
            let mut m = old.clone();
            m.gaps = 0;
            b.put_meta(store, key, Some(&old), &m)?;
        }
        Command::QIndex => {
            let Some(old) = b
                .meta_header(store, key)?
                .filter(|m| m.kind == Kind::List && !m.by_element)
            else {
                return Ok(());
            };
            for (i, v) in elements(store, b, key, &old)? {
                self::index(store, b, (key, &old), &v, i)?;
            }
            let mut m = old.clone();
            m.by_element = true;
            b.put_meta(store, key, Some(&old), &m)?;
        }
        _ => return Err(bad(e, "not a list event")),
    }
    Ok(())
}
