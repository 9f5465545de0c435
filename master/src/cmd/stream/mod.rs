//! Streams' data: entry IDs and their parsing, the header kept in the
//! key's metadata, and the parts kept as sub-keys of the stream's version:
//!
//! | part | key after the version | value |
//! | --- | --- | --- |
//! | entry | `e` · ID (16 B) | its fields and values |
//! | node | `n` · first ID (16 B) | [`nodes::Node`]: what `~` trimming removes whole |
//! | group | `g` · name | last delivered ID, entries read |
//! | pending entry | `p` · len · group · ID | delivery time, count, owner |
//! | consumer | `c` · len · group · name | seen time |
//! | owned entry | `o` · len · group · len · consumer · ID | `""` |
//!
//! (len: u32 BE.) A command changes a stream only through the X_PUT,
//! X_DEL, X_PARTS, X_META and X_APPEND events made here ([`events`]),
//! so every replica holds the same parts: a slave's groups, pending
//! entries and delivery counts are the master's (a Redis replica's are
//! not).

mod events;
pub mod groups;
pub mod nodes;
pub mod rdb;
pub mod write;

use bytes::Bytes;
use rocksync_protocol::{Command, Reply};

use super::{View, WriteCtx};
use crate::error::Result;
use crate::store::keys::{self, be_u64, Kind, Meta};
use crate::store::Cf;
use events::{append_value, header_value, parts_value};
pub use events::{split_append_value, split_header_value, split_parts, wakes, Parts};
pub use groups::{Group, Nack};
pub use nodes::Id;

/// The greatest ID.
pub const MAX: Id = (u64::MAX, u64::MAX);
/// Bytes of parts one X_PARTS event carries, about (the part that passes
/// it is the last).
const PARTS_EVENT_BYTES: usize = 1 << 20;
/// Entries a forward range looks up one by one before it scans.
const POINT_LOOKUPS: usize = 16;
/// Redis's reply to an ID that does not parse.
pub const INVALID_ID: &str = "ERR Invalid stream ID specified as stream command argument";

/// An ID as Redis writes it: `ms-seq`.
pub fn fmt_id(id: Id) -> Bytes {
    // (digits written by hand: `format!` was 1.7 % of XADD at -P 16)
    let mut out = Vec::with_capacity(41);
    let mut digits = [0u8; 21];
    out.extend_from_slice(rocksync_protocol::format_u64(id.0, &mut digits));
    out.push(b'-');
    out.extend_from_slice(rocksync_protocol::format_u64(id.1, &mut digits));
    Bytes::from(out)
}

/// An ID as a bulk reply.
pub fn id_reply(id: Id) -> Reply {
    Reply::Bulk(fmt_id(id))
}

/// The next ID, or `None` after [`MAX`].
pub fn next_id(id: Id) -> Option<Id> {
    match id {
        MAX => None,
        (ms, u64::MAX) => Some((ms + 1, 0)),
        (ms, seq) => Some((ms, seq + 1)),
    }
}

/// The previous ID, or `None` before `0-0`.
pub fn prev_id(id: Id) -> Option<Id> {
    match id {
        (0, 0) => None,
        (ms, 0) => Some((ms - 1, u64::MAX)),
        (ms, seq) => Some((ms, seq - 1)),
    }
}

/// A number as Redis's `string2ull` reads one: the strict form first
/// (`-` only before a non-zero number, which is refused as negative),
/// then `strtoull`'s leniencies (leading blanks, `+`, leading zeros, a
/// `-` that negates).
fn parse_u64(b: &[u8]) -> Option<u64> {
    if let Some(n) = rocksync_protocol::parse_i64(b) {
        return u64::try_from(n).ok();
    }
    let start = b
        .iter()
        .position(|c| !matches!(c, b' ' | b'\t' | b'\n' | b'\x0b' | b'\x0c' | b'\r'))?;
    let mut rest = &b[start..];
    let negative = match rest.first() {
        Some(b'-') => {
            rest = &rest[1..];
            true
        }
        Some(b'+') => {
            rest = &rest[1..];
            false
        }
        _ => false,
    };
    if rest.is_empty() || !rest.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let mut v: u64 = 0;
    for d in rest {
        v = v.checked_mul(10)?.checked_add(u64::from(d - b'0'))?;
    }
    Some(if negative { v.wrapping_neg() } else { v })
}

/// An ID argument: `ms-seq`, or `ms` with `missing_seq`; `-` and `+`
/// stand for the least and greatest IDs unless `strict`.
pub fn parse_id(b: &[u8], missing_seq: u64, strict: bool) -> Option<Id> {
    if b.len() > 127 {
        return None;
    }
    match b {
        b"-" => return (!strict).then_some((0, 0)),
        b"+" => return (!strict).then_some(MAX),
        _ => {}
    }
    match b.iter().position(|&c| c == b'-') {
        None => Some((parse_u64(b)?, missing_seq)),
        Some(at) => Some((parse_u64(&b[..at])?, parse_u64(&b[at + 1..])?)),
    }
}

/// A strict ID argument, or Redis's error.
pub fn strict_id(b: &[u8]) -> std::result::Result<Id, Reply> {
    parse_id(b, 0, true).ok_or_else(|| Reply::error(INVALID_ID))
}

/// A range bound (XRANGE, XPENDING, XAUTOCLAIM): `-`, `+`, an ID, or
/// `(ID`, exclusive. `start` says which end it is (an exclusive start
/// moves up, an exclusive end down).
pub fn bound(b: &[u8], start: bool) -> std::result::Result<Id, Reply> {
    let missing_seq = if start { 0 } else { u64::MAX };
    if b.len() > 1 && b[0] == b'(' {
        let id = parse_id(&b[1..], missing_seq, true).ok_or_else(|| Reply::error(INVALID_ID))?;
        return if start {
            next_id(id).ok_or_else(|| Reply::error("ERR invalid start ID for the interval"))
        } else {
            prev_id(id).ok_or_else(|| Reply::error("ERR invalid end ID for the interval"))
        };
    }
    parse_id(b, missing_seq, false).ok_or_else(|| Reply::error(INVALID_ID))
}

/// What the key's metadata holds of a stream besides its length.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Header {
    /// The last ID added (or set by XSETID).
    pub last: Id,
    /// Entries ever added.
    pub added: u64,
    /// The greatest ID XDEL removed.
    pub max_deleted: Id,
    /// The first ID of its last node (where XADD appends), `0-0` for
    /// none: found with one read rather than a backward seek.
    pub tail: Id,
    /// The first ID of its first node, `0-0` for none: no live entry is
    /// below it, so reads from the start begin there rather than seek
    /// over what trimming deleted (until compaction drops it).
    pub head: Id,
    /// No entry below it is left (`0-0`: not known): trims remove the
    /// oldest entries, and a scan of the first node's entries begins
    /// here rather than step over their deletions.
    pub gone_below: Id,
    /// A node may begin below the last ID of the node before it (XSETID
    /// moved the last ID back below a deleted entry): a node's entries
    /// then end where the next node begins, found by a scan. Stays set.
    pub overlap: bool,
    /// The tail node itself, when kept here: then its part holds only
    /// its first ID and fields rightly (its counts, last ID and size are
    /// stale), and an XADD into it reads and writes the metadata alone.
    /// `None`: the part is right (the node is written there before it
    /// stops being the tail).
    pub tail_node: Option<nodes::Node>,
}

impl Header {
    #[cfg(test)]
    fn encode(&self) -> Vec<u8> {
        let mut v = Vec::with_capacity(128);
        self.encode_into(&mut v);
        v
    }

    /// Appended to `v` (every XADD writes it: one buffer, no copies).
    fn encode_into(&self, v: &mut Vec<u8>) {
        v.extend_from_slice(&nodes::rax_key(self.last));
        v.extend_from_slice(&self.added.to_be_bytes());
        v.extend_from_slice(&nodes::rax_key(self.max_deleted));
        v.extend_from_slice(&nodes::rax_key(self.tail));
        v.extend_from_slice(&nodes::rax_key(self.head));
        // (Then, when set: the trimmed IDs' end, a flags byte, the tail
        // node.)
        let flags = u8::from(self.overlap);
        if self.gone_below != (0, 0) || flags != 0 || self.tail_node.is_some() {
            v.extend_from_slice(&nodes::rax_key(self.gone_below));
        }
        if flags != 0 || self.tail_node.is_some() {
            v.push(flags);
        }
        if let Some(n) = &self.tail_node {
            n.encode_into(v);
        }
    }

    /// Decode; an empty value is a new stream's header. (Node pointers
    /// missing: unknown, `0-0`, found by a scan.)
    fn decode(b: &[u8]) -> Option<Self> {
        if b.is_empty() {
            return Some(Self::default());
        }
        let id_at = |at: usize| -> Option<Id> {
            match b.get(at..at + 16) {
                Some(x) => id_of(x),
                None if b.len() <= at => Some((0, 0)),
                None => None,
            }
        };
        let flags = b.get(88).copied().unwrap_or(0);
        if flags > 1 {
            return None;
        }
        let tail_node = match b.get(89..) {
            Some(n) if !n.is_empty() => Some(nodes::Node::decode(n)?),
            _ => None,
        };
        let tail = id_at(40)?;
        // The node kept here is the tail's.
        if tail_node.as_ref().is_some_and(|n| n.master != tail) {
            return None;
        }
        Some(Self {
            last: id_of(b.get(..16)?)?,
            added: be_u64(b.get(16..24)?)?,
            max_deleted: id_of(b.get(24..40)?)?,
            tail,
            head: id_at(56)?,
            gone_below: id_at(72)?,
            overlap: flags == 1,
            tail_node,
        })
    }
}

/// An ID from its 16 bytes.
pub fn id_of(b: &[u8]) -> Option<Id> {
    Some((be_u64(b.get(..8)?)?, be_u64(b.get(8..16)?)?))
}

/// A stream as one command sees it: its key, metadata and header.
#[derive(Clone, Debug)]
pub struct Stream {
    /// The key.
    pub key: Bytes,
    /// Its metadata (`size` is the length).
    pub meta: Meta,
    /// Its header.
    pub head: Header,
    saved: (u64, Header),
}

/// A corrupt header is refused as a corrupt value.
fn corrupt(key: &[u8]) -> crate::Error {
    crate::Error::CorruptValue {
        cf: "meta",
        key: String::from_utf8_lossy(key).into_owned(),
    }
}

impl Stream {
    fn of(key: &[u8], meta: Meta) -> Result<Self> {
        let head = Header::decode(&meta.value).ok_or_else(|| corrupt(key))?;
        Ok(Self {
            key: Bytes::copy_from_slice(key),
            saved: (meta.size, head.clone()),
            meta,
            head,
        })
    }

    /// The live stream at `key`: `Ok(None)` when there is none,
    /// `Err(WRONGTYPE)` for another type.
    ///
    /// # Errors
    /// RocksDB errors, a corrupt header.
    pub fn load(v: &impl View, key: &[u8]) -> Result<std::result::Result<Option<Self>, Reply>> {
        Ok(match super::typed(v, key, Kind::Stream)? {
            Ok(Some(m)) => Ok(Some(Self::of(key, m)?)),
            Ok(None) => Ok(None),
            Err(r) => Err(r),
        })
    }

    /// As [`Stream::load`] on the write path (an expired key is deleted).
    ///
    /// # Errors
    /// As [`Stream::load`], [`WriteCtx::emit`].
    pub fn load_mut(
        c: &mut WriteCtx<'_>,
        key: &[u8],
    ) -> Result<std::result::Result<Option<Self>, Reply>> {
        Ok(match c.typed_mut(key, Kind::Stream)? {
            Ok(Some(m)) => Ok(Some(Self::of(key, m)?)),
            Ok(None) => Ok(None),
            Err(r) => Err(r),
        })
    }

    /// A new empty stream at `key` (nothing there, checked by the
    /// caller). No event makes it: the first part the command writes
    /// does (applying an X_PUT, X_PARTS with a write, X_APPEND or X_META
    /// to a missing key makes an empty stream whose version is that
    /// event's seq, the next seq now), so
    /// the command must write one before any other event.
    ///
    /// # Errors
    /// A corrupt header (none: it is empty).
    pub fn create(c: &WriteCtx<'_>, key: &[u8]) -> Result<Self> {
        Self::of(key, Meta::collection(Kind::Stream, c.next_seq))
    }

    /// Its length.
    pub fn len(&self) -> u64 {
        self.meta.size
    }

    /// True without entries.
    pub fn is_empty(&self) -> bool {
        self.meta.size == 0
    }

    /// The prefix of its parts of `kind` (`e`, `n`, `g`, …).
    pub fn prefix(&self, kind: u8) -> Vec<u8> {
        let mut p = keys::sub_prefix(self.meta.owner(&self.key), self.meta.version);
        p.push(kind);
        p
    }

    /// The sub-key of `part` (its kind byte first).
    pub fn sub_key(&self, part: &[u8]) -> Vec<u8> {
        keys::sub_key(self.meta.owner(&self.key), self.meta.version, part)
    }

    /// Log the length and header when the command changed them.
    ///
    /// # Errors
    /// As [`WriteCtx::emit`].
    pub fn save(&mut self, c: &mut WriteCtx<'_>) -> Result<()> {
        if self.saved.0 != self.meta.size || self.saved.1 != self.head {
            c.emit(
                Command::XMeta,
                &self.key,
                header_value(self.meta.size, &self.head),
                0,
            )?;
            self.saved = (self.meta.size, self.head.clone());
        }
        Ok(())
    }

    /// Write entry `id` (its `fields` as [`encode_fields`] made them) and
    /// log the length and header, in one X_APPEND event: an XADD's last
    /// event (after any trim's, which cannot reach this entry).
    ///
    /// # Errors
    /// As [`WriteCtx::emit`].
    pub fn save_with_entry(&mut self, c: &mut WriteCtx<'_>, id: Id, fields: &[u8]) -> Result<()> {
        let v = append_value(&header_value(self.meta.size, &self.head), id, fields);
        c.emit(Command::XAppend, &self.key, v, 0)?;
        self.saved = (self.meta.size, self.head.clone());
        Ok(())
    }

    /// Write `parts` in one event (one part: as [`Stream::put`] or
    /// [`Stream::delete`]).
    ///
    /// # Errors
    /// As [`WriteCtx::emit`].
    pub fn write_parts(&self, c: &mut WriteCtx<'_>, parts: Parts) -> Result<()> {
        // (in events of about PARTS_EVENT_BYTES at most: an XREADGROUP
        // of millions of entries is not refused as one event too large)
        for run in parts.runs(PARTS_EVENT_BYTES) {
            match run {
                [] => {}
                [(part, Some(value))] => self.put(c, part, value)?,
                [(part, None)] => self.delete(c, part)?,
                all => c.emit(Command::XParts, &self.key, parts_value(all), 0)?,
            }
        }
        Ok(())
    }

    /// Write a part.
    ///
    /// # Errors
    /// As [`WriteCtx::emit`].
    pub fn put(&self, c: &mut WriteCtx<'_>, part: &[u8], value: &[u8]) -> Result<()> {
        c.emit(Command::XPut, &self.key, keys::pack(part, value), 0)
    }

    /// Delete a part.
    ///
    /// # Errors
    /// As [`WriteCtx::emit`].
    pub fn delete(&self, c: &mut WriteCtx<'_>, part: &[u8]) -> Result<()> {
        c.emit(Command::XDel, &self.key, Bytes::copy_from_slice(part), 0)
    }

    /// A part's value.
    ///
    /// # Errors
    /// RocksDB errors.
    pub fn get(&self, v: &impl View, part: &[u8]) -> Result<Option<Vec<u8>>> {
        v.get(Cf::Sub, &self.sub_key(part))
    }

    /// Visit the parts under `prefix` (from [`Stream::prefix`] and more)
    /// from `from` on (a key under it, or the prefix), while `f` says so:
    /// `f` gets the part's key after `prefix`, and its value.
    ///
    /// # Errors
    /// RocksDB errors.
    pub fn scan(
        &self,
        v: &impl View,
        prefix: &[u8],
        from: &[u8],
        f: &mut dyn FnMut(&[u8], &[u8]) -> bool,
    ) -> Result<()> {
        self.scan_until(v, prefix, from, None, f)
    }

    /// As [`Stream::scan`], stopping before `end` (a key under `prefix`)
    /// when given.
    ///
    /// # Errors
    /// RocksDB errors.
    pub fn scan_until(
        &self,
        v: &impl View,
        prefix: &[u8],
        from: &[u8],
        end: Option<&[u8]>,
        f: &mut dyn FnMut(&[u8], &[u8]) -> bool,
    ) -> Result<()> {
        let n = prefix.len();
        v.scan_until(Cf::Sub, (prefix, from, end), &mut |k, val| f(&k[n..], val))
    }

    /// As [`Stream::scan`], last first, from the last key below `before`.
    ///
    /// # Errors
    /// RocksDB errors.
    pub fn scan_rev(
        &self,
        v: &impl View,
        prefix: &[u8],
        before: Option<&[u8]>,
        f: &mut dyn FnMut(&[u8], &[u8]) -> bool,
    ) -> Result<()> {
        let n = prefix.len();
        v.scan_rev_from(Cf::Sub, prefix, before, &mut |k, val| f(&k[n..], val))
    }

    /// Entries with IDs in `from..=to`, at most `count` (0: all), in
    /// order or (`rev`) last first.
    ///
    /// # Errors
    /// RocksDB errors, a corrupt entry.
    pub fn range(
        &self,
        v: &impl View,
        from: Id,
        to: Id,
        count: usize,
        rev: bool,
    ) -> Result<Vec<(Id, Bytes)>> {
        let mut out = Vec::new();
        // (no live entry is below the first node, nor below gone_below)
        let mut from = from.max(self.head.head).max(self.head.gone_below);
        if from > to {
            return Ok(out);
        }
        let wanted = if count == 0 { usize::MAX } else { count };
        let prefix = self.prefix(b'e');
        let visit = |out: &mut Vec<(Id, Bytes)>, from: Id, k: &[u8], val: &[u8]| {
            let Some(id) = id_of(k) else {
                return true;
            };
            if (rev && id < from) || (!rev && id > to) {
                return false;
            }
            out.push((id, Bytes::copy_from_slice(val)));
            count == 0 || out.len() < count
        };
        if !rev && v.read_before(Cf::Sub, &prefix) {
            // Read again in this group (consumers taking the next entries
            // one call at a time): through what the group read ahead.
            let start = [&prefix[..], &nodes::rax_key(from)].concat();
            let n = prefix.len();
            v.scan_on(Cf::Sub, &prefix, &start, &mut |k, val| {
                visit(&mut out, from, &k[n..], val)
            })?;
            return Ok(out);
        }
        if !rev {
            // IDs XADD makes in one millisecond follow one another: the
            // entries from `from` on are looked up as points while each
            // is there (no iterator: a consumer reading one entry at a
            // time made one for each), and a scan takes over at a gap.
            while out.len() < wanted.min(POINT_LOOKUPS) {
                let Some(val) = self.get(v, &[&b"e"[..], &nodes::rax_key(from)].concat())? else {
                    break;
                };
                out.push((from, Bytes::from(val)));
                match next_id(from).filter(|&n| n <= to) {
                    Some(n) => from = n,
                    None => return Ok(out),
                }
            }
            if out.len() >= wanted {
                return Ok(out);
            }
        }
        let mut visit = |k: &[u8], val: &[u8]| visit(&mut out, from, k, val);
        if rev {
            let before = match next_id(to) {
                Some(n) => [&prefix[..], &nodes::rax_key(n)].concat(),
                None => keys::prefix_end(&prefix).unwrap_or_default(),
            };
            self.scan_rev(v, &prefix, Some(&before), &mut visit)?;
        } else {
            let start = [&prefix[..], &nodes::rax_key(from)].concat();
            self.scan(v, &prefix, &start, &mut visit)?;
        }
        Ok(out)
    }

    /// The first live entry's ID.
    ///
    /// # Errors
    /// RocksDB errors.
    pub fn first_id(&self, v: &impl View) -> Result<Option<Id>> {
        Ok(self.range(v, (0, 0), MAX, 1, false)?.first().map(|e| e.0))
    }

    /// The last live entry's ID.
    ///
    /// # Errors
    /// RocksDB errors.
    pub fn last_entry_id(&self, v: &impl View) -> Result<Option<Id>> {
        if self.is_empty() {
            return Ok(None);
        }
        // Mostly the last ID added is still there: one read, no seek.
        if self.head.last != (0, 0) && self.get(v, &entry_part(self.head.last))?.is_some() {
            return Ok(Some(self.head.last));
        }
        Ok(self.range(v, (0, 0), MAX, 1, true)?.first().map(|e| e.0))
    }
}

/// An entry part's key.
pub fn entry_part(id: Id) -> Vec<u8> {
    [&b"e"[..], &nodes::rax_key(id)].concat()
}

/// A node part's key.
pub fn node_part(id: Id) -> Vec<u8> {
    [&b"n"[..], &nodes::rax_key(id)].concat()
}

/// An entry's fields and values, encoded.
pub fn encode_fields(pairs: &[(Bytes, Bytes)]) -> Vec<u8> {
    let mut v = Vec::with_capacity(
        4 + pairs
            .iter()
            .map(|(f, x)| 8 + f.len() + x.len())
            .sum::<usize>(),
    );
    v.extend_from_slice(&(pairs.len() as u32).to_be_bytes());
    for (f, x) in pairs {
        for b in [f, x] {
            v.extend_from_slice(&(b.len() as u32).to_be_bytes());
            v.extend_from_slice(b);
        }
    }
    v
}

/// Inverse of [`encode_fields`], as the flat reply Redis gives.
pub fn fields_reply(b: &Bytes) -> Reply {
    Reply::Array(
        rdb::field_pairs(b)
            .into_iter()
            .flat_map(|(f, v)| [Reply::Bulk(f), Reply::Bulk(v)])
            .collect(),
    )
}

/// An entry as Redis replies one: `[id, [field, value, ...]]`.
pub fn entry_reply(id: Id, fields: &Bytes) -> Reply {
    Reply::Array(vec![id_reply(id), fields_reply(fields)])
}

/// `len(a) · a` (u32 BE), appended.
pub fn put_sized(v: &mut Vec<u8>, a: &[u8]) {
    v.extend_from_slice(&(a.len() as u32).to_be_bytes());
    v.extend_from_slice(a);
}

/// A group part's key.
pub fn group_part(name: &[u8]) -> Vec<u8> {
    [&b"g"[..], name].concat()
}

/// The prefix of a group's parts of `kind` (`p`, `c`, `o`).
pub fn group_prefix(kind: u8, group: &[u8]) -> Vec<u8> {
    let mut v = vec![kind];
    put_sized(&mut v, group);
    v
}

/// A pending entry's part key.
pub fn nack_part(group: &[u8], id: Id) -> Vec<u8> {
    let mut v = group_prefix(b'p', group);
    v.extend_from_slice(&nodes::rax_key(id));
    v
}

/// A consumer's part key.
pub fn consumer_part(group: &[u8], name: &[u8]) -> Vec<u8> {
    let mut v = group_prefix(b'c', group);
    v.extend_from_slice(name);
    v
}

/// The prefix of the entries a consumer owns.
pub fn owned_prefix(group: &[u8], consumer: &[u8]) -> Vec<u8> {
    let mut v = group_prefix(b'o', group);
    put_sized(&mut v, consumer);
    v
}

/// An owned entry's part key.
pub fn owned_part(group: &[u8], consumer: &[u8], id: Id) -> Vec<u8> {
    let mut v = owned_prefix(group, consumer);
    v.extend_from_slice(&nodes::rax_key(id));
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_print_as_decimal_pairs() {
        for id in [
            (0, 0),
            (9, 10),
            (1_700_000_000_123, 99),
            (10_000_000_000_000_000_000, 1),
            MAX,
        ] {
            assert_eq!(fmt_id(id), format!("{}-{}", id.0, id.1).as_bytes());
            assert_eq!(parse_id(&fmt_id(id), 0, true), Some(id));
        }
    }

    #[test]
    fn ids_parse_as_redis_reads_them() {
        assert_eq!(parse_id(b"1-2", 0, true), Some((1, 2)));
        assert_eq!(parse_id(b"5", 7, true), Some((5, 7)));
        assert_eq!(parse_id(b"+11", 0, true), Some((11, 0)));
        assert_eq!(parse_id(b" 12", 0, true), Some((12, 0)));
        assert_eq!(parse_id(b"014-01", 0, true), Some((14, 1)));
        assert_eq!(parse_id(b"5--0", 0, true), Some((5, 0)));
        assert_eq!(parse_id(b"6--18446744073709551615", 0, true), Some((6, 1)));
        for bad in [
            &b"-10"[..],
            b"10-",
            b"10-x",
            b"9-2-3",
            b"1e3",
            b"-0",
            b"18446744073709551616-0",
            b"-",
            b"+",
        ] {
            assert_eq!(
                parse_id(bad, 0, true),
                None,
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
        assert_eq!(parse_id(b"-", 0, false), Some((0, 0)));
        assert_eq!(parse_id(b"+", 0, false), Some(MAX));
        assert!(parse_id(&[b'1'; 128], 0, true).is_none());
    }

    #[test]
    fn exclusive_bounds_move_inwards() {
        assert_eq!(bound(b"(1-1", true), Ok((1, 2)));
        assert_eq!(bound(b"(1", true), Ok((1, 1)));
        assert_eq!(bound(b"(2-0", false), Ok((1, u64::MAX)));
        assert_eq!(bound(b"1", false), Ok((1, u64::MAX)));
        assert!(bound(b"(-", true).is_err());
        assert_eq!(
            bound(b"(18446744073709551615-18446744073709551615", true),
            Err(Reply::error("ERR invalid start ID for the interval"))
        );
        assert_eq!(
            bound(b"(0-0", false),
            Err(Reply::error("ERR invalid end ID for the interval"))
        );
    }

    #[test]
    fn records_round_trip() {
        let mut h = Header {
            last: (5, 6),
            added: 9,
            max_deleted: (1, 2),
            tail: (3, 0),
            head: (2, 0),
            gone_below: (0, 0),
            overlap: false,
            tail_node: None,
        };
        // Without the newer fields: the 72 bytes older versions wrote.
        assert_eq!(h.encode().len(), 72);
        assert_eq!(Header::decode(&h.encode()), Some(h.clone()));
        h.gone_below = (2, 1);
        assert_eq!(Header::decode(&h.encode()), Some(h.clone()));
        h.overlap = true;
        assert_eq!(Header::decode(&h.encode()), Some(h.clone()));
        let mut tail = nodes::Node::start((3, 0), &[(b"f", b"v")]);
        tail.add((3, 0), &[(b"f", b"v")]);
        tail.add((4, 0), &[(b"f", b"w")]);
        h.tail_node = Some(tail);
        assert_eq!(Header::decode(&h.encode()), Some(h.clone()));
        h.gone_below = (0, 0);
        assert_eq!(Header::decode(&h.encode()), Some(h.clone()));
        // A node that is not the tail's is refused.
        let mut other = h.clone();
        other.tail = (4, 0);
        assert_eq!(Header::decode(&other.encode()), None);
        // A node cut short is refused.
        let cut = h.encode();
        assert_eq!(Header::decode(&cut[..cut.len() - 1]), None);
        let (len, bytes) = split_header_value(&header_value(3, &h)).expect("valid");
        assert_eq!((len, Header::decode(&bytes)), (3, Some(h)));
        let g = Group {
            last: (1, 1),
            read: -1,
        };
        assert_eq!(Group::decode(&g.encode()), Some(g));
        let n = Nack {
            time: 7,
            count: 2,
            owner: Bytes::from("alice"),
        };
        assert_eq!(Nack::decode(&n.encode()), Some(n));
        let f = Bytes::from(encode_fields(&[
            (Bytes::from("a"), Bytes::from("1")),
            (Bytes::new(), Bytes::from("x")),
        ]));
        assert_eq!(
            fields_reply(&f),
            Reply::Array(vec![
                Reply::bulk("a"),
                Reply::bulk("1"),
                Reply::bulk(""),
                Reply::bulk("x")
            ])
        );
    }
}
