//! Changing a stream's entries: appending one (into its tail node or a
//! new one), deleting one (XDEL), and trimming (XADD's and XTRIM's
//! `MAXLEN`/`MINID`, exact or `~`), with the nodes kept as Redis keeps
//! its listpacks, so `~` removes what Redis would.

use bytes::Bytes;

use super::nodes::{self, Node};
use super::{encode_fields, entry_part, id_of, node_part, Id, Stream};
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

fn node_of(v: &[u8]) -> Result<Node> {
    Node::decode(v).ok_or_else(|| crate::Error::CorruptValue {
        cf: "sub",
        key: "stream node".into(),
    })
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
    found.map(|v| node_of(&v)).transpose()
}

/// The last node.
fn last_node(c: &WriteCtx<'_>, s: &Stream) -> Result<Option<Node>> {
    let prefix = s.prefix(b'n');
    let mut found = None;
    s.scan_rev(c, &prefix, None, &mut |_, v| {
        found = Some(v.to_vec());
        false
    })?;
    found.map(|v| node_of(&v)).transpose()
}

/// The first node: by the header's pointer, else the first after `after`
/// (or from the start).
fn first_node(c: &WriteCtx<'_>, s: &Stream) -> Result<Option<Node>> {
    if s.head.head != (0, 0) {
        if let Some(v) = s.get(c, &node_part(s.head.head))? {
            return node_of(&v).map(Some);
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
    found.map(|v| node_of(&v)).transpose()
}

/// Append entry `id` (greater than every ID so far).
///
/// # Errors
/// As [`WriteCtx::emit`].
pub fn append(
    c: &mut WriteCtx<'_>,
    s: &mut Stream,
    id: Id,
    pairs: &[(Bytes, Bytes)],
) -> Result<()> {
    let refs: Vec<(&[u8], &[u8])> = pairs.iter().map(|(f, v)| (&f[..], &v[..])).collect();
    let (entries, bytes) = (
        c.sizes.stream_node_max_entries,
        c.sizes.stream_node_max_bytes,
    );
    let tail = match s.head.tail {
        (0, 0) => None,
        at => s.get(c, &node_part(at))?.map(|v| node_of(&v)).transpose()?,
    };
    let mut node = match tail {
        Some(tail) if tail.takes(&refs, entries, bytes) => tail,
        _ => Node::start(id, &refs),
    };
    node.add(id, &refs);
    s.head.tail = node.master;
    if s.head.head == (0, 0) {
        s.head.head = node.master;
    }
    s.put(c, &node_part(node.master), &node.encode())?;
    s.put(c, &entry_part(id), &encode_fields(pairs))?;
    s.meta.size += 1;
    s.head.last = id;
    s.head.added = s.head.added.saturating_add(1);
    Ok(())
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
                s.head.tail = last_node(c, s)?.map_or((0, 0), |n| n.master);
            }
            if node.master == s.head.head {
                s.head.head = node_after(c, s, Some(node.master))?.map_or((0, 0), |n| n.master);
            }
        } else {
            node.set_counts(node.live - 1, node.deleted + 1);
            s.put(c, &node_part(node.master), &node.encode())?;
        }
    }
    s.meta.size = s.meta.size.saturating_sub(1);
    s.head.max_deleted = s.head.max_deleted.max(id);
    Ok(true)
}

/// The live entries of `node`, in order.
fn node_entries(c: &WriteCtx<'_>, s: &Stream, node: &Node) -> Result<Vec<Id>> {
    let prefix = s.prefix(b'e');
    let start = [&prefix[..], &nodes::rax_key(node.master)].concat();
    let mut ids = Vec::new();
    s.scan(c, &prefix, &start, &mut |k, _| match id_of(k) {
        Some(id) if id <= node.last => {
            ids.push(id);
            true
        }
        _ => false,
    })?;
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
        let ids = node_entries(c, s, &node)?;
        if whole {
            for id in &ids {
                s.delete(c, &entry_part(*id))?;
            }
            s.delete(c, &node_part(node.master))?;
            if node.master == s.head.tail {
                s.head.tail = (0, 0);
            }
            s.head.head = node_after(c, s, Some(node.master))?.map_or((0, 0), |n| n.master);
            s.meta.size = s.meta.size.saturating_sub(node.live);
            removed += node.live;
            continue;
        }
        if t.approx {
            break;
        }
        let mut gone = 0;
        for id in ids {
            let go = match t.strategy {
                Strategy::MaxLen(n) => s.len() > n,
                Strategy::MinId(min) => id < min,
            };
            if !go {
                break;
            }
            s.delete(c, &entry_part(id))?;
            s.meta.size -= 1;
            gone += 1;
        }
        node.set_counts(node.live - gone, node.deleted + gone);
        s.put(c, &node_part(node.master), &node.encode())?;
        removed += gone;
        break;
    }
    Ok(removed)
}
