//! Changing a stream's entries: appending one (into its tail node or a
//! new one), deleting one (XDEL), and trimming (XADD's and XTRIM's
//! `MAXLEN`/`MINID`, exact or `~`), with the nodes kept as Redis keeps
//! its listpacks, so `~` removes what Redis would.

use bytes::Bytes;

use super::nodes::{self, Node};
use super::{encode_fields, entry_part, id_of, node_part, Id, Parts, Stream};
use crate::cmd::WriteCtx;
use crate::error::Result;

/// How far a trim goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Strategy {
    /// Keep at most this many entries.
    MaxLen(u64),
    /// Keep the entries from this ID on.
    MinId(Id),
}

/// A trim: its strategy, `~`, and LIMIT (when given).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Trim {
    /// What to keep.
    pub strategy: Strategy,
    /// `~`: whole nodes only.
    pub approx: bool,
    /// LIMIT: most entries removed (0: no limit).
    pub limit: Option<u64>,
}

impl Trim {
    /// True when this trim may remove entry `id`, the newest: when it
    /// keeps nothing (MAXLEN 0), or its MINID is above it. Any other
    /// keeps the newest entry, and never looks at it.
    pub fn reaches(&self, id: Id) -> bool {
        match self.strategy {
            Strategy::MaxLen(n) => n == 0,
            Strategy::MinId(min) => min > id,
        }
    }
}

/// The node whose part holds `v`: the header's tail node instead when
/// this is the tail and the header keeps it.
fn node_of(s: &Stream, v: &[u8]) -> Result<Node> {
    let node = Node::decode(v).ok_or_else(|| crate::Error::CorruptValue {
        cf: "sub",
        key: "stream node".into(),
    })?;
    Ok(match &s.head.tail_node {
        Some(tail) if tail.master == node.master => tail.clone(),
        _ => node,
    })
}

/// Write `node` back: into the header when it is the tail the header
/// keeps, else into its part (by `w`).
fn store_node(w: &mut Parts, s: &mut Stream, node: Node) {
    match &mut s.head.tail_node {
        Some(tail) if tail.master == node.master => *tail = node,
        _ => w.put(node_part(node.master), node.encode()),
    }
}

/// The tail is now the node starting at `master` (`0-0`: none), its part
/// right: the header keeps no node.
fn set_tail(s: &mut Stream, master: Id) {
    s.head.tail = master;
    s.head.tail_node = None;
}

/// The node holding `id` (the last node starting at or before it).
fn node_at(c: &WriteCtx<'_>, s: &Stream, id: Id) -> Result<Option<Node>> {
    let prefix = s.prefix(b'n');
    let mut before = [&prefix[..], &nodes::rax_key(id)].concat();
    before.push(0);
    let mut found = None;
    s.scan_rev(c, &prefix, Some(&before), &mut |_, v| {
        found = Some(v.to_vec());
        false
    })?;
    found.map(|v| node_of(s, &v)).transpose()
}

/// The last node.
fn last_node(c: &WriteCtx<'_>, s: &Stream) -> Result<Option<Node>> {
    let prefix = s.prefix(b'n');
    let mut found = None;
    s.scan_rev(c, &prefix, None, &mut |_, v| {
        found = Some(v.to_vec());
        false
    })?;
    found.map(|v| node_of(s, &v)).transpose()
}

/// The first node: by the header's pointer, else the first after `after`
/// (or from the start).
fn first_node(c: &WriteCtx<'_>, s: &Stream) -> Result<Option<Node>> {
    if s.head.head != (0, 0) {
        if let Some(v) = s.get(c, &node_part(s.head.head))? {
            return node_of(s, &v).map(Some);
        }
    }
    node_after(c, s, None)
}

/// The first node after the one starting at `after` (from the start when
/// `None`): the scan begins past what was trimmed before it.
fn node_after(c: &WriteCtx<'_>, s: &Stream, after: Option<Id>) -> Result<Option<Node>> {
    let prefix = s.prefix(b'n');
    let start = match after.and_then(super::next_id) {
        Some(id) => [&prefix[..], &nodes::rax_key(id)].concat(),
        None => prefix.clone(),
    };
    let mut found = None;
    s.scan(c, &prefix, &start, &mut |_, v| {
        found = Some(v.to_vec());
        false
    })?;
    found.map(|v| node_of(s, &v)).transpose()
}

/// Append entry `id` (greater than every ID so far) to the tail node, or
/// to a new one: returns the entry's encoded fields, for the caller to
/// write: first, by [`Stream::put`], when a trim follows that may remove
/// it again; else last, with the header, by [`Stream::save_with_entry`].
///
/// The tail node is kept in the header: an append into it changes the
/// header alone. A new node's part is written when it starts (its first
/// ID and fields, which scans of the parts need), and the node it
/// follows is written to its part then.
///
/// # Errors
/// As [`WriteCtx::emit`].
pub fn append(
    c: &mut WriteCtx<'_>,
    s: &mut Stream,
    id: Id,
    pairs: &[(Bytes, Bytes)],
) -> Result<Vec<u8>> {
    let refs: Vec<(&[u8], &[u8])> = pairs.iter().map(|(f, v)| (&f[..], &v[..])).collect();
    let (entries, bytes) = (
        c.sizes.stream_node_max_entries,
        c.sizes.stream_node_max_bytes,
    );
    let tail = match (s.head.tail, s.head.tail_node.take()) {
        ((0, 0), _) => None,
        (_, Some(node)) => Some((node, true)),
        (at, None) => match s.get(c, &node_part(at))? {
            Some(v) => Some((node_of(s, &v)?, false)),
            None => None,
        },
    };
    let mut node = match tail {
        Some((tail, _)) if tail.takes(&refs, entries, bytes) => tail,
        old => {
            // The old tail's part, stale while the header kept it, is
            // written now that it stops being the tail.
            if let Some((old, kept)) = &old {
                if *kept {
                    s.put(c, &node_part(old.master), &old.encode())?;
                }
                s.head.overlap |= id <= old.last;
            }
            let node = Node::start(id, &refs);
            s.put(c, &node_part(node.master), &node.encode())?;
            node
        }
    };
    node.add(id, &refs);
    s.head.tail = node.master;
    s.head.tail_node = Some(node);
    if s.head.head == (0, 0) {
        s.head.head = s.head.tail;
    }
    s.meta.size += 1;
    s.head.last = id;
    s.head.added = s.head.added.saturating_add(1);
    Ok(encode_fields(pairs))
}

/// Delete entry `id` when it is there (XDEL): true when it was.
///
/// # Errors
/// As [`WriteCtx::emit`].
pub fn remove(c: &mut WriteCtx<'_>, s: &mut Stream, id: Id) -> Result<bool> {
    if s.get(c, &entry_part(id))?.is_none() {
        return Ok(false);
    }
    s.delete(c, &entry_part(id))?;
    if let Some(mut node) = node_at(c, s, id)? {
        if node.live <= 1 {
            // Its last live entry: Redis frees the node.
            s.delete(c, &node_part(node.master))?;
            if node.master == s.head.tail {
                set_tail(s, (0, 0));
                let last = last_node(c, s)?.map_or((0, 0), |n| n.master);
                set_tail(s, last);
            }
            if node.master == s.head.head {
                s.head.head = node_after(c, s, Some(node.master))?.map_or((0, 0), |n| n.master);
            }
        } else {
            node.set_counts(node.live - 1, node.deleted + 1);
            let mut w = Parts::default();
            store_node(&mut w, s, node);
            s.write_parts(c, w)?;
        }
    }
    s.meta.size = s.meta.size.saturating_sub(1);
    s.head.max_deleted = s.head.max_deleted.max(id);
    Ok(true)
}

/// Where the IDs of `node`'s entries end (`None`: at the greatest): past
/// its last ID, or at the next node's first ID when that is lower (after
/// XSETID moved the last ID back, a new node may begin below the last ID
/// of the one before it).
fn node_end(c: &WriteCtx<'_>, s: &Stream, node: &Node) -> Result<Option<Id>> {
    if node.master == s.head.tail || !s.head.overlap {
        return Ok(ends_at(node, None));
    }
    let prefix = s.prefix(b'n');
    let start = [&prefix[..], &nodes::rax_key(node.master)].concat();
    let mut next = None;
    s.scan(c, &prefix, &start, &mut |k, _| match id_of(k) {
        Some(id) if id <= node.master => true,
        found => {
            next = found;
            false
        }
    })?;
    Ok(ends_at(node, next))
}

/// [`node_end`] when the next node begins at `next`.
fn ends_at(node: &Node, next: Option<Id>) -> Option<Id> {
    match (super::next_id(node.last), next) {
        (Some(p), Some(n)) => Some(p.min(n)),
        (p, n) => p.or(n),
    }
}

/// The live entries of `node` (whose IDs end at `end`), in order, while
/// `take` says so.
fn node_entries(
    c: &WriteCtx<'_>,
    s: &Stream,
    (node, end): (&Node, Option<Id>),
    take: &mut dyn FnMut(Id) -> bool,
) -> Result<Vec<Id>> {
    let mut ids = Vec::new();
    // IDs XADD made in one millisecond follow one another: while they
    // do, they are looked up as points (an exact trim of one entry an
    // XADD makes no iterator), as a range read's first entries are.
    let mut from = node.master.max(s.head.gone_below);
    for _ in 0..super::POINT_LOOKUPS {
        if end.is_some_and(|end| from >= end) || s.get(c, &entry_part(from))?.is_none() {
            break;
        }
        if !take(from) {
            return Ok(ids);
        }
        ids.push(from);
        match super::next_id(from) {
            Some(next) => from = next,
            None => return Ok(ids),
        }
    }
    let prefix = s.prefix(b'e');
    let key = |id: Id| [&prefix[..], &nodes::rax_key(id)].concat();
    let start = key(from);
    // (Entries past the node, this write group's new ones among them,
    // are not even looked at.)
    let end = end.map(key);
    s.scan_until(
        c,
        &prefix,
        &start,
        end.as_deref(),
        &mut |k, _| match id_of(k) {
            Some(id) if take(id) => {
                ids.push(id);
                true
            }
            _ => false,
        },
    )?;
    Ok(ids)
}

/// Trim from the oldest entries: returns how many were removed. As
/// Redis: whole nodes while they go entirely; then, exact, entries of
/// the next node; `~` stops at the first node that cannot go whole, and
/// LIMIT stops before a node that would pass it.
///
/// # Errors
/// As [`WriteCtx::emit`].
pub fn trim(c: &mut WriteCtx<'_>, s: &mut Stream, t: Trim) -> Result<u64> {
    let limit = if t.approx {
        t.limit
            .unwrap_or_else(|| nodes::approx_limit(c.sizes.stream_node_max_entries))
    } else {
        0
    };
    let mut removed = 0u64;
    loop {
        if let Strategy::MaxLen(n) = t.strategy {
            if s.len() <= n {
                break;
            }
        }
        let Some(mut node) = first_node(c, s)? else {
            break;
        };
        if limit != 0 && removed + node.live > limit {
            break;
        }
        let whole = match t.strategy {
            Strategy::MaxLen(n) => s.len() - node.live >= n,
            Strategy::MinId(min) => node.last < min,
        };
        if whole {
            let next = node_after(c, s, Some(node.master))?.map(|n| n.master);
            let end = ends_at(&node, next);
            // (one event: the node and its entries go)
            let mut w = Parts::default();
            for id in node_entries(c, s, (&node, end), &mut |_| true)? {
                w.delete(entry_part(id));
            }
            w.delete(node_part(node.master));
            s.write_parts(c, w)?;
            if node.master == s.head.tail {
                set_tail(s, (0, 0));
            }
            s.head.head = next.unwrap_or((0, 0));
            s.head.gone_below = end.unwrap_or(super::MAX);
            s.meta.size = s.meta.size.saturating_sub(node.live);
            removed += node.live;
            continue;
        }
        if t.approx {
            break;
        }
        // Exact: this node's oldest entries, only as far as they go.
        let end = node_end(c, s, &node)?;
        let mut left = s.len();
        let ids = node_entries(c, s, (&node, end), &mut |id| {
            let go = match t.strategy {
                Strategy::MaxLen(n) => left > n,
                Strategy::MinId(min) => id < min,
            };
            left -= u64::from(go);
            go
        })?;
        // (one event: the entries go, the node's counts follow)
        let mut w = Parts::default();
        for id in &ids {
            w.delete(entry_part(*id));
        }
        if let Some(last) = ids.last() {
            s.head.gone_below = super::next_id(*last).unwrap_or(super::MAX);
        }
        let gone = ids.len() as u64;
        s.meta.size = s.meta.size.saturating_sub(gone);
        if gone > 0 {
            node.set_counts(node.live.saturating_sub(gone), node.deleted + gone);
            store_node(&mut w, s, node);
        }
        s.write_parts(c, w)?;
        removed += gone;
        break;
    }
    Ok(removed)
}
