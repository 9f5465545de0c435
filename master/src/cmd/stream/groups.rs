//! Consumer groups' parts of a stream: groups, their pending entries
//! (each in the group's list and in its consumer's), consumers; and the
//! counters Redis 7.0 derives from them (entries read, lag).

use bytes::Bytes;

use super::{
    consumer_part, group_part, group_prefix, id_of, nack_part, nodes, owned_part, owned_prefix, Id,
    Parts, Stream,
};
use crate::cmd::{View, WriteCtx};
use crate::error::Result;
use crate::store::keys::be_u64;
use crate::store::Cf;

/// A consumer group's record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Group {
    /// The last ID delivered.
    pub last: Id,
    /// Entries read, or -1 when unknown.
    pub read: i64,
}

impl Group {
    /// Encode.
    pub fn encode(&self) -> Vec<u8> {
        let mut v = nodes::rax_key(self.last).to_vec();
        v.extend_from_slice(&self.read.to_be_bytes());
        v
    }

    /// Decode.
    pub fn decode(b: &[u8]) -> Option<Self> {
        Some(Self {
            last: id_of(b.get(..16)?)?,
            read: i64::from_be_bytes(b.get(16..24)?.try_into().ok()?),
        })
    }
}

/// A pending entry (Redis's NACK).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Nack {
    /// When it was last delivered, unix ms.
    pub time: u64,
    /// How many times it was delivered.
    pub count: u64,
    /// Its consumer.
    pub owner: Bytes,
}

impl Nack {
    /// Encode.
    pub fn encode(&self) -> Vec<u8> {
        let mut v = Vec::with_capacity(16 + self.owner.len());
        v.extend_from_slice(&self.time.to_be_bytes());
        v.extend_from_slice(&self.count.to_be_bytes());
        v.extend_from_slice(&self.owner);
        v
    }

    /// Decode.
    pub fn decode(b: &[u8]) -> Option<Self> {
        Some(Self {
            time: be_u64(b.get(..8)?)?,
            count: be_u64(b.get(8..16)?)?,
            owner: Bytes::copy_from_slice(b.get(16..)?),
        })
    }
}

/// Entries read when unknown.
pub const UNKNOWN: i64 = -1;

/// Group `name` of `s`.
///
/// # Errors
/// RocksDB errors.
pub fn group(v: &impl View, s: &Stream, name: &[u8]) -> Result<Option<Group>> {
    Ok(s.get(v, &group_part(name))?.and_then(|b| Group::decode(&b)))
}

/// Write group `name`.
///
/// # Errors
/// As [`WriteCtx::emit`].
pub fn put_group(c: &mut WriteCtx<'_>, s: &Stream, name: &[u8], g: &Group) -> Result<()> {
    s.put(c, &group_part(name), &g.encode())
}

/// Every group, by name.
///
/// # Errors
/// RocksDB errors.
pub fn groups(v: &impl View, s: &Stream) -> Result<Vec<(Bytes, Group)>> {
    let prefix = s.prefix(b'g');
    let mut out = Vec::new();
    s.scan(v, &prefix, &prefix, &mut |k, val| {
        if let Some(g) = Group::decode(val) {
            out.push((Bytes::copy_from_slice(k), g));
        }
        true
    })?;
    Ok(out)
}

/// Pending entry `id` of `group`.
///
/// # Errors
/// RocksDB errors.
pub fn nack(v: &impl View, s: &Stream, group: &[u8], id: Id) -> Result<Option<Nack>> {
    Ok(s.get(v, &nack_part(group, id))?
        .and_then(|b| Nack::decode(&b)))
}

/// As [`nack`], for a new entry the group delivers (`>`): after the first
/// in a write group, looked up through what the group read ahead of the
/// pending entries from `id` on (almost always none: an entry is pending
/// before it is new only after an XGROUP SETID back), not a lookup each.
///
/// # Errors
/// RocksDB errors.
pub fn nack_of_new(v: &impl View, s: &Stream, group: &[u8], id: Id) -> Result<Option<Nack>> {
    let prefix = s.sub_key(&group_prefix(b'p', group));
    if !v.read_before(Cf::Sub, &prefix) {
        return nack(v, s, group, id);
    }
    let key = s.sub_key(&nack_part(group, id));
    let mut found = None;
    v.scan_on(Cf::Sub, &prefix, &key, &mut |k, val| {
        if k == key.as_slice() {
            found = Nack::decode(val);
        }
        false
    })?;
    Ok(found)
}

/// Write pending entry `id` (`old`: what it was, to move it off its
/// previous consumer).
///
/// # Errors
/// As [`WriteCtx::emit`].
pub fn put_nack(
    c: &mut WriteCtx<'_>,
    s: &Stream,
    group: &[u8],
    id: Id,
    n: &Nack,
    old: Option<&Nack>,
) -> Result<()> {
    let mut w = Parts::default();
    nack_parts(&mut w, group, id, n, old);
    s.write_parts(c, w)
}

/// [`put_nack`]'s writes, added to `w`.
pub fn nack_parts(w: &mut Parts, group: &[u8], id: Id, n: &Nack, old: Option<&Nack>) {
    if let Some(o) = old.filter(|o| o.owner != n.owner) {
        w.delete(owned_part(group, &o.owner, id));
    }
    w.put(nack_part(group, id), n.encode());
    if old.is_none_or(|o| o.owner != n.owner) {
        w.put(owned_part(group, &n.owner, id), Vec::new());
    }
}

/// Delete pending entry `id`.
///
/// # Errors
/// As [`WriteCtx::emit`].
pub fn del_nack(c: &mut WriteCtx<'_>, s: &Stream, group: &[u8], id: Id, n: &Nack) -> Result<()> {
    let mut w = Parts::default();
    w.delete(nack_part(group, id));
    w.delete(owned_part(group, &n.owner, id));
    s.write_parts(c, w)
}

/// The group's pending entries from `from` on, at most `count` (0: all).
///
/// # Errors
/// RocksDB errors.
pub fn pending(
    v: &impl View,
    s: &Stream,
    group: &[u8],
    from: Id,
    count: usize,
) -> Result<Vec<(Id, Nack)>> {
    let mut out = Vec::new();
    visit_pending(v, s, group, from, &mut |id, n| {
        out.push((id, n));
        count == 0 || out.len() < count
    })?;
    Ok(out)
}

/// Visit the group's pending entries from `from` on while `f` says so.
///
/// # Errors
/// RocksDB errors.
pub fn visit_pending(
    v: &impl View,
    s: &Stream,
    group: &[u8],
    from: Id,
    f: &mut dyn FnMut(Id, Nack) -> bool,
) -> Result<()> {
    let prefix = [s.prefix(b'p'), group_prefix(b'p', group)[1..].to_vec()].concat();
    let start = [&prefix[..], &super::nodes::rax_key(from)].concat();
    s.scan(
        v,
        &prefix,
        &start,
        &mut |k, val| match (id_of(k), Nack::decode(val)) {
            (Some(id), Some(n)) => f(id, n),
            _ => true,
        },
    )
}

/// The IDs a consumer owns from `from` on, at most `count` (0: all).
///
/// # Errors
/// RocksDB errors.
pub fn owned(
    v: &impl View,
    s: &Stream,
    group: &[u8],
    consumer: &[u8],
    from: Id,
    count: usize,
) -> Result<Vec<Id>> {
    let prefix = [s.prefix(b'o'), owned_prefix(group, consumer)[1..].to_vec()].concat();
    let start = [&prefix[..], &super::nodes::rax_key(from)].concat();
    let mut out = Vec::new();
    s.scan(v, &prefix, &start, &mut |k, _| {
        if let Some(id) = id_of(k) {
            out.push(id);
        }
        count == 0 || out.len() < count
    })?;
    Ok(out)
}

/// Consumer `name`'s seen time.
///
/// # Errors
/// RocksDB errors.
pub fn consumer(v: &impl View, s: &Stream, group: &[u8], name: &[u8]) -> Result<Option<u64>> {
    Ok(s.get(v, &consumer_part(group, name))?
        .and_then(|b| crate::store::keys::be_u64(&b)))
}

/// Every consumer of the group, by name, with its seen time.
///
/// # Errors
/// RocksDB errors.
pub fn consumers(v: &impl View, s: &Stream, group: &[u8]) -> Result<Vec<(Bytes, u64)>> {
    let prefix = [s.prefix(b'c'), group_prefix(b'c', group)[1..].to_vec()].concat();
    let mut out = Vec::new();
    s.scan(v, &prefix, &prefix, &mut |k, val| {
        out.push((
            Bytes::copy_from_slice(k),
            crate::store::keys::be_u64(val).unwrap_or(0),
        ));
        true
    })?;
    Ok(out)
}

/// Consumer `name` is seen now (made when new; nothing is read).
///
/// # Errors
/// As [`WriteCtx::emit`].
pub fn touch(c: &mut WriteCtx<'_>, s: &Stream, group: &[u8], name: &[u8]) -> Result<()> {
    let mut w = Parts::default();
    touch_parts(&mut w, c.now_ms, group, name);
    s.write_parts(c, w)
}

/// [`touch`]'s write at `now`, added to `w`.
pub fn touch_parts(w: &mut Parts, now: u64, group: &[u8], name: &[u8]) {
    w.put(consumer_part(group, name), now.to_be_bytes().to_vec());
}

/// Delete every part of group `name`.
///
/// # Errors
/// As [`WriteCtx::emit`].
pub fn destroy(c: &mut WriteCtx<'_>, s: &Stream, name: &[u8]) -> Result<()> {
    let mut parts = vec![group_part(name)];
    for kind in [b'p', b'c', b'o'] {
        let sub = group_prefix(kind, name);
        let prefix = [s.prefix(kind), sub[1..].to_vec()].concat();
        s.scan(c, &prefix, &prefix, &mut |k, _| {
            parts.push([&sub[..], k].concat());
            true
        })?;
    }
    for p in parts {
        s.delete(c, &p)?;
    }
    Ok(())
}

/// What a stream's counters say of entries after `id`.
pub struct Counters {
    /// Its length.
    pub len: u64,
    /// Its first live entry, `0-0` when empty.
    pub first: Id,
    /// Its header's fields.
    pub last: Id,
    /// Entries ever added.
    pub added: u64,
    /// The greatest ID deleted.
    pub max_deleted: Id,
}

impl Counters {
    /// The counters of `s`.
    ///
    /// # Errors
    /// RocksDB errors.
    pub fn of(v: &impl View, s: &Stream) -> Result<Self> {
        Self::for_group(v, s, None)
    }

    /// The counters of `s` for delivering through `g`: its first entry
    /// is read only when the group's count may need it (unknown, or
    /// after a deletion), which a busy group's reads then skip.
    ///
    /// # Errors
    /// RocksDB errors.
    pub fn for_group(v: &impl View, s: &Stream, g: Option<&Group>) -> Result<Self> {
        let needed = g.is_none_or(|g| g.read == UNKNOWN) || s.head.max_deleted != (0, 0);
        let first = if needed {
            s.first_id(v)?.unwrap_or((0, 0))
        } else {
            // (unread: with no deletion and a known count, nothing
            // below asks for it)
            (0, 0)
        };
        Ok(Self {
            len: s.len(),
            first,
            last: s.head.last,
            added: s.head.added,
            max_deleted: s.head.max_deleted,
        })
    }

    /// True when an entry at or before `id` was deleted (so counting
    /// from `id` on is not known).
    fn tombstone_after(&self, id: Id) -> bool {
        if self.len == 0 || self.max_deleted == (0, 0) || self.first > self.max_deleted {
            return false;
        }
        id <= self.max_deleted
    }

    /// How many entries came up to `id`, when known.
    fn estimate(&self, id: Id) -> Option<i64> {
        let added = self.added as i64;
        if self.added == 0 {
            return Some(0);
        }
        if self.len == 0 && id <= self.last {
            return Some(added);
        }
        if id == self.last {
            return Some(added);
        }
        if id > self.last {
            return None;
        }
        if self.max_deleted == (0, 0) || self.max_deleted < self.first {
            let before = added.wrapping_sub(self.len as i64);
            if id < self.first {
                return Some(before);
            }
            if id == self.first {
                return Some(before.wrapping_add(1));
            }
        }
        None
    }

    /// The group's lag, when known.
    pub fn lag(&self, g: &Group) -> Option<i64> {
        if self.added == 0 {
            return Some(0);
        }
        if g.read != UNKNOWN && !self.tombstone_after(g.last) {
            return Some((self.added as i64).wrapping_sub(g.read));
        }
        self.estimate(g.last)
            .map(|e| (self.added as i64).wrapping_sub(e))
    }

    /// The group has been delivered entry `id` (after its last).
    pub fn delivered(&self, g: &mut Group, id: Id) {
        if g.read != UNKNOWN && !self.tombstone_after(id) {
            g.read = g.read.wrapping_add(1);
        } else if self.added != 0 {
            g.read = self.estimate(id).unwrap_or(UNKNOWN);
        }
        g.last = id;
    }
}
