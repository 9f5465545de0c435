//! Streams in RDB form (`RDB_TYPE_STREAM_LISTPACKS`, `_2` of Redis 7.0
//! and `_3` of 7.2): the entries in listpack nodes keyed by their first
//! ID, then the stream's counters, then each consumer group with its
//! pending entries and consumers. Written as `_2`, which RDB version 10
//! (Redis 7.0) carries.
//!
//! A node's listpack holds a master entry (live count, deleted count,
//! the master fields, a 0), then each entry: flags, the ID as differences
//! from the node's, either values only (when its fields are the master
//! fields) or a field count and pairs, and the count of its own items.

use bytes::Bytes;

use super::read::Reader;
use super::{kind, put_len, put_string, RdbError};

/// A stream ID: (milliseconds, sequence).
pub type StreamId = (u64, u64);

/// Entry flags.
const DELETED: i64 = 1;
const SAME_FIELDS: i64 = 2;
/// Entries per node written when no layout is given (Redis's
/// `stream-node-max-entries`), and the bytes of fields and values past
/// which a node takes no more (its `stream-node-max-bytes`).
const NODE_ENTRIES: usize = 100;
const NODE_BYTES: usize = 4096;

/// A stream as RDB carries it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Stream {
    /// Live entries, by ID, with their (field, value) pairs.
    pub entries: Vec<(StreamId, Vec<(Bytes, Bytes)>)>,
    /// The last ID added (or set by XSETID).
    pub last_id: StreamId,
    /// The greatest ID deleted.
    pub max_deleted: StreamId,
    /// Entries ever added.
    pub entries_added: u64,
    /// Consumer groups.
    pub groups: Vec<Group>,
    /// How the entries are laid out in nodes, in order (none: in nodes
    /// of 100). An entry belongs to the last node whose master ID is at
    /// or before its own.
    pub nodes: Vec<Node>,
}

/// A node of a stream's entries.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Node {
    /// Its master ID (its first entry's, which may be deleted).
    pub master: StreamId,
    /// Its master fields.
    pub fields: Vec<Bytes>,
    /// Deleted entries it still holds (read; written as 0: a node
    /// written holds its live entries only).
    pub deleted: u64,
    /// Its last entry's ID, deleted or not.
    pub last: StreamId,
    /// Its listpack's bytes (0: unknown).
    pub bytes: u64,
}

/// A consumer group.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Group {
    /// Its name.
    pub name: Bytes,
    /// The last ID delivered.
    pub last_id: StreamId,
    /// Entries read, -1 when unknown.
    pub entries_read: i64,
    /// Pending entries, by ID.
    pub pending: Vec<Pending>,
    /// Consumers, with their seen time (unix ms).
    pub consumers: Vec<(Bytes, u64)>,
}

/// A pending entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pending {
    /// Its ID.
    pub id: StreamId,
    /// When it was last delivered, unix ms.
    pub delivery_time: u64,
    /// How many times it was delivered.
    pub delivery_count: u64,
    /// The consumer that holds it.
    pub owner: Bytes,
}

/// An item of a listpack being written.
enum Lp<'a> {
    Int(i64),
    Str(&'a [u8]),
}

/// The integer a listpack stores a string as, when it does (Redis's
/// `lpStringToInt64`): under 21 characters, an optional `-`, no leading
/// zero, `+` or `-0`, in the i64 range.
fn as_int(s: &[u8]) -> Option<i64> {
    if s == b"0" {
        return Some(0);
    }
    let digits = s.strip_prefix(b"-").unwrap_or(s);
    let plain = digits.first().is_some_and(|d| (b'1'..=b'9').contains(d));
    if s.len() >= 21 || !plain || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(s).ok()?.parse().ok()
}

/// A listpack of `items` (strings that are integers stored as integers,
/// as Redis stores them).
fn listpack(items: &[Lp<'_>]) -> Vec<u8> {
    let mut out = vec![0u8; 6];
    for item in items {
        let start = out.len();
        let item = match *item {
            Lp::Str(s) => as_int(s).map_or(Lp::Str(s), Lp::Int),
            Lp::Int(v) => Lp::Int(v),
        };
        match item {
            Lp::Int(v) if (0..=127).contains(&v) => out.push(v as u8),
            Lp::Int(v) if (-4096..=4095).contains(&v) => {
                let u = (v as u16) & 0x1fff;
                out.extend_from_slice(&[0xc0 | (u >> 8) as u8, u as u8]);
            }
            Lp::Int(v) if i16::try_from(v).is_ok() => {
                out.push(0xf1);
                out.extend_from_slice(&(v as i16).to_le_bytes());
            }
            Lp::Int(v) if (-(1 << 23)..(1 << 23)).contains(&v) => {
                out.push(0xf2);
                out.extend_from_slice(&(v as i32).to_le_bytes()[..3]);
            }
            Lp::Int(v) if i32::try_from(v).is_ok() => {
                out.push(0xf3);
                out.extend_from_slice(&(v as i32).to_le_bytes());
            }
            Lp::Int(v) => {
                out.push(0xf4);
                out.extend_from_slice(&v.to_le_bytes());
            }
            Lp::Str(s) if s.len() < 64 => {
                out.push(0x80 | s.len() as u8);
                out.extend_from_slice(s);
            }
            Lp::Str(s) if s.len() < 4096 => {
                out.extend_from_slice(&[0xe0 | (s.len() >> 8) as u8, s.len() as u8]);
                out.extend_from_slice(s);
            }
            Lp::Str(s) => {
                out.push(0xf0);
                out.extend_from_slice(&(s.len() as u32).to_le_bytes());
                out.extend_from_slice(s);
            }
        }
        let len = (out.len() - start) as u64;
        put_backlen(&mut out, len);
    }
    out.push(0xff);
    let total = out.len() as u32;
    out[..4].copy_from_slice(&total.to_le_bytes());
    let count = u16::try_from(items.len()).unwrap_or(u16::MAX);
    out[4..6].copy_from_slice(&count.to_le_bytes());
    out
}

/// An entry's length, written after it so the listpack reads backwards:
/// 7 bits a byte, the most significant first, every byte but the first
/// with its high bit set.
fn put_backlen(out: &mut Vec<u8>, len: u64) {
    let n = super::read::listpack_backlen(len);
    for i in (0..n).rev() {
        let b = ((len >> (7 * i)) & 0x7f) as u8;
        out.push(if i + 1 == n { b } else { b | 0x80 });
    }
}

fn raw_id(id: StreamId) -> [u8; 16] {
    let mut k = [0u8; 16];
    k[..8].copy_from_slice(&id.0.to_be_bytes());
    k[8..].copy_from_slice(&id.1.to_be_bytes());
    k
}

fn put_id(out: &mut Vec<u8>, id: StreamId) {
    put_len(out, id.0);
    put_len(out, id.1);
}

/// Entries of one node: their (ID, pairs).
type Entries<'a> = &'a [(StreamId, Vec<(Bytes, Bytes)>)];

/// A node of `entries` (not empty) with the first one's fields.
fn node_of(entries: Entries<'_>) -> (StreamId, Vec<Bytes>, Entries<'_>) {
    let fields = entries[0].1.iter().map(|(f, _)| f.clone()).collect();
    (entries[0].0, fields, entries)
}

/// The nodes to write: (master ID, master fields, live entries), none
/// empty: as `s.nodes` lays them out (when they hold every entry), else
/// 100 entries a node with the first one's fields.
fn layout(s: &Stream) -> Vec<(StreamId, Vec<Bytes>, Entries<'_>)> {
    let first = s.entries.first().map(|e| e.0);
    if s.nodes.is_empty() || first.is_some_and(|id| id < s.nodes[0].master) {
        // As XADD fills nodes: 100 entries, or past 4 KiB of fields and
        // values.
        let mut out: Vec<(StreamId, Vec<Bytes>, Entries<'_>)> = Vec::new();
        let (mut start, mut bytes) = (0, 0usize);
        for (i, (_, pairs)) in s.entries.iter().enumerate() {
            if i > start && (i - start == NODE_ENTRIES || bytes >= NODE_BYTES) {
                out.push(node_of(&s.entries[start..i]));
                (start, bytes) = (i, 0);
            }
            bytes += pairs.iter().map(|(f, v)| f.len() + v.len()).sum::<usize>();
        }
        if start < s.entries.len() {
            out.push(node_of(&s.entries[start..]));
        }
        return out;
    }
    let mut out = Vec::new();
    let mut rest = &s.entries[..];
    for (i, node) in s.nodes.iter().enumerate() {
        let end = s.nodes.get(i + 1).map(|n| n.master);
        let n = rest
            .iter()
            .take_while(|(id, _)| end.is_none_or(|end| *id < end))
            .count();
        let (mine, after) = rest.split_at(n);
        rest = after;
        if !mine.is_empty() {
            out.push((node.master, node.fields.clone(), mine));
        }
    }
    out
}

/// Append the stream's type byte and body.
pub(crate) fn write(out: &mut Vec<u8>, s: &Stream) {
    out.push(kind::STREAM_LISTPACKS_2);
    let nodes = layout(s);
    put_len(out, nodes.len() as u64);
    for (master, fields, entries) in nodes {
        let mut items = vec![
            Lp::Int(entries.len() as i64),
            Lp::Int(0),
            Lp::Int(fields.len() as i64),
        ];
        items.extend(fields.iter().map(|f| Lp::Str(f)));
        items.push(Lp::Int(0));
        for (id, pairs) in entries {
            let same =
                pairs.len() == fields.len() && pairs.iter().zip(&fields).all(|((a, _), b)| a == b);
            items.push(Lp::Int(if same { SAME_FIELDS } else { 0 }));
            items.push(Lp::Int(id.0.wrapping_sub(master.0) as i64));
            items.push(Lp::Int(id.1.wrapping_sub(master.1) as i64));
            if same {
                items.extend(pairs.iter().map(|(_, v)| Lp::Str(v)));
                items.push(Lp::Int(pairs.len() as i64 + 3));
            } else {
                items.push(Lp::Int(pairs.len() as i64));
                for (f, v) in pairs {
                    items.push(Lp::Str(f));
                    items.push(Lp::Str(v));
                }
                items.push(Lp::Int(2 * pairs.len() as i64 + 4));
            }
        }
        put_string(out, &raw_id(master));
        put_string(out, &listpack(&items));
    }
    put_len(out, s.entries.len() as u64);
    put_id(out, s.last_id);
    put_id(out, s.entries.first().map_or((0, 0), |e| e.0));
    put_id(out, s.max_deleted);
    put_len(out, s.entries_added);
    put_len(out, s.groups.len() as u64);
    for g in &s.groups {
        put_string(out, &g.name);
        put_id(out, g.last_id);
        put_len(out, g.entries_read as u64);
        put_len(out, g.pending.len() as u64);
        for p in &g.pending {
            out.extend_from_slice(&raw_id(p.id));
            out.extend_from_slice(&p.delivery_time.to_le_bytes());
            put_len(out, p.delivery_count);
        }
        // Every holder of a pending entry is a consumer.
        let mut owned: std::collections::HashMap<&Bytes, Vec<StreamId>> = Default::default();
        for p in &g.pending {
            owned.entry(&p.owner).or_default().push(p.id);
        }
        let mut consumers: Vec<(&Bytes, u64)> = g.consumers.iter().map(|(n, t)| (n, *t)).collect();
        for p in &g.pending {
            if !g.consumers.iter().any(|(n, _)| *n == p.owner)
                && !consumers.iter().any(|(n, _)| **n == p.owner)
            {
                consumers.push((&p.owner, 0));
            }
        }
        put_len(out, consumers.len() as u64);
        for (name, seen) in consumers {
            put_string(out, name);
            out.extend_from_slice(&seen.to_le_bytes());
            let ids = owned.get(name).map_or(&[][..], Vec::as_slice);
            put_len(out, ids.len() as u64);
            for id in ids {
                out.extend_from_slice(&raw_id(*id));
            }
        }
    }
}

/// A listpack integer item (written as text by the listpack reader).
fn int(item: Option<&Bytes>) -> Result<i64, RdbError> {
    item.and_then(|b| std::str::from_utf8(b).ok()?.parse().ok())
        .ok_or(RdbError::Format)
}

fn id16(b: &[u8]) -> Result<StreamId, RdbError> {
    let ms = b.get(..8).ok_or(RdbError::Format)?;
    let seq = b.get(8..16).ok_or(RdbError::Format)?;
    Ok((
        u64::from_be_bytes(ms.try_into().map_err(|_| RdbError::Format)?),
        u64::from_be_bytes(seq.try_into().map_err(|_| RdbError::Format)?),
    ))
}

/// The live entries of one node (`master`: its key's ID), and the node.
fn node_entries(
    master: StreamId,
    items: &[Bytes],
    out: &mut Vec<(StreamId, Vec<(Bytes, Bytes)>)>,
) -> Result<Node, RdbError> {
    let mut it = items.iter();
    let live = int(it.next())?;
    let deleted = int(it.next())?;
    let nfields = usize::try_from(int(it.next())?).map_err(|_| RdbError::Format)?;
    if live < 0 || deleted < 0 || nfields > items.len() {
        return Err(RdbError::Format);
    }
    let fields: Vec<Bytes> = it.by_ref().take(nfields).cloned().collect();
    if fields.len() != nfields || int(it.next())? != 0 {
        return Err(RdbError::Format);
    }
    let mut seen_live = 0;
    let mut last = master;
    for _ in 0..live.checked_add(deleted).ok_or(RdbError::Format)? {
        let flags = int(it.next())?;
        let id = (
            master.0.wrapping_add(int(it.next())? as u64),
            master.1.wrapping_add(int(it.next())? as u64),
        );
        let pairs: Vec<(Bytes, Bytes)> = if flags & SAME_FIELDS != 0 {
            let values: Vec<Bytes> = it.by_ref().take(nfields).cloned().collect();
            if values.len() != nfields {
                return Err(RdbError::Format);
            }
            fields.iter().cloned().zip(values).collect()
        } else {
            let n = usize::try_from(int(it.next())?).map_err(|_| RdbError::Format)?;
            if n > items.len() {
                return Err(RdbError::Format);
            }
            let mut pairs = Vec::with_capacity(n);
            for _ in 0..n {
                match (it.next(), it.next()) {
                    (Some(f), Some(v)) => pairs.push((f.clone(), v.clone())),
                    _ => return Err(RdbError::Format),
                }
            }
            pairs
        };
        int(it.next())?;
        last = id;
        if flags & DELETED == 0 {
            if out.last().is_some_and(|(last, _)| *last >= id) {
                return Err(RdbError::Format);
            }
            out.push((id, pairs));
            seen_live += 1;
        }
    }
    if seen_live != live || it.next().is_some() {
        return Err(RdbError::Format);
    }
    Ok(Node {
        master,
        fields,
        deleted: deleted as u64,
        last,
        bytes: 0,
    })
}

impl Reader<'_> {
    fn id(&mut self) -> Result<StreamId, RdbError> {
        Ok((self.len()?, self.len()?))
    }

    fn ms_time(&mut self) -> Result<u64, RdbError> {
        let b = self.take(8)?;
        Ok(u64::from_le_bytes(
            b.try_into().map_err(|_| RdbError::Format)?,
        ))
    }

    /// A stream of RDB type `kind` (one of the three stream types).
    pub(crate) fn stream(&mut self, kind: u8) -> Result<Stream, RdbError> {
        let mut s = Stream::default();
        let nodes = self.len()?;
        for _ in 0..nodes {
            let master = id16(&self.string()?)?;
            let lp = self.string()?;
            let items = super::read::listpack_items(&lp)?;
            if items.is_empty() {
                return Err(RdbError::Format);
            }
            if s.nodes.last().is_some_and(|n| n.master >= master) {
                return Err(RdbError::Format);
            }
            let mut node = node_entries(master, &items, &mut s.entries)?;
            node.bytes = lp.len() as u64;
            s.nodes.push(node);
        }
        let length = self.len()?;
        if length != s.entries.len() as u64 {
            return Err(RdbError::Format);
        }
        s.last_id = self.id()?;
        if kind == super::kind::STREAM_LISTPACKS {
            s.entries_added = length;
        } else {
            self.id()?; // the first ID: the first entry's here
            s.max_deleted = self.id()?;
            s.entries_added = self.len()?;
        }
        if s.entries.last().is_some_and(|(id, _)| *id > s.last_id) {
            return Err(RdbError::Format);
        }
        let groups = self.len()?;
        for _ in 0..groups {
            let mut g = Group {
                name: self.string()?,
                last_id: self.id()?,
                ..Group::default()
            };
            g.entries_read = if kind == super::kind::STREAM_LISTPACKS {
                -1
            } else {
                self.len()? as i64
            };
            if s.groups.iter().any(|o| o.name == g.name) {
                return Err(RdbError::Format);
            }
            // Each pending entry once, then each claimed by one consumer
            // (a consumer may be named "").
            let pending = self.len()?;
            let mut at = std::collections::HashMap::new();
            for _ in 0..pending {
                let id = id16(self.take(16)?)?;
                let delivery_time = self.ms_time()?;
                let delivery_count = self.len()?;
                if at.insert(id, g.pending.len()).is_some() {
                    return Err(RdbError::Format);
                }
                g.pending.push(Pending {
                    id,
                    delivery_time,
                    delivery_count,
                    owner: Bytes::new(),
                });
            }
            let mut claimed = vec![false; g.pending.len()];
            let consumers = self.len()?;
            for _ in 0..consumers {
                let name = self.string()?;
                let seen = self.ms_time()?;
                if kind == super::kind::STREAM_LISTPACKS_3 {
                    self.ms_time()?; // active time (Redis 7.2)
                }
                let owned = self.len()?;
                for _ in 0..owned {
                    let id = id16(self.take(16)?)?;
                    let i = *at.get(&id).ok_or(RdbError::Format)?;
                    if std::mem::replace(&mut claimed[i], true) {
                        return Err(RdbError::Format);
                    }
                    g.pending[i].owner = name.clone();
                }
                if g.consumers.iter().any(|(n, _)| *n == name) {
                    return Err(RdbError::Format);
                }
                g.consumers.push((name, seen));
            }
            // Every pending entry has its consumer, as Redis requires.
            if claimed.contains(&false) {
                return Err(RdbError::Format);
            }
            s.groups.push(g);
        }
        Ok(s)
    }
}

#[cfg(test)]
mod tests {
    use super::super::{dump, restore, Value};
    use super::*;

    fn b(s: &str) -> Bytes {
        Bytes::from(s.to_owned())
    }

    #[test]
    fn a_stream_round_trips_through_its_payload() {
        let mut s = Stream {
            last_id: (2000, 7),
            max_deleted: (1500, 0),
            entries_added: 260,
            ..Stream::default()
        };
        for i in 0..250u64 {
            // Same fields mostly; other fields, a later ms with a smaller
            // seq (a negative difference), long and integer values.
            let pairs = if i % 7 == 0 {
                vec![(b("other"), b(&"v".repeat(i as usize * 40)))]
            } else {
                vec![(b("a"), b(&i.to_string())), (b("b"), b("-5000000000"))]
            };
            s.entries.push(((1000 + i, (i * 13) % 5), pairs));
        }
        s.groups.push(Group {
            name: b("g"),
            last_id: (1100, 0),
            entries_read: 101,
            pending: vec![
                Pending {
                    id: (1000, 0),
                    delivery_time: 1_700_000_000_123,
                    delivery_count: 3,
                    owner: b("alice"),
                },
                Pending {
                    id: (1001, 3),
                    delivery_time: 5,
                    delivery_count: 1,
                    owner: b("bob"),
                },
                Pending {
                    id: (1002, 1),
                    delivery_time: 6,
                    delivery_count: 2,
                    owner: b(""),
                },
            ],
            consumers: vec![
                (b("alice"), 9),
                (b("bob"), 10),
                (b("idle"), 11),
                (b(""), 12),
            ],
        });
        s.groups.push(Group {
            name: b("unknown-read"),
            entries_read: -1,
            ..Group::default()
        });
        let value = Value::Stream(Box::new(s));
        let Ok(Value::Stream(mut got)) = restore(&dump(&value)) else {
            panic!("no stream restored");
        };
        // Read back, it has its nodes (100 entries, or fewer past 4 KiB),
        // each with its first entry's fields as its master fields.
        assert!(got.nodes.len() >= 3, "{} nodes", got.nodes.len());
        for node in &got.nodes {
            let first = got
                .entries
                .iter()
                .find(|e| e.0 == node.master)
                .expect("a first entry");
            let fields: Vec<Bytes> = first.1.iter().map(|(f, _)| f.clone()).collect();
            assert_eq!(node.fields, fields);
            assert!(node.bytes > 0 && node.last >= node.master);
        }
        let laid_out = Value::Stream(got.clone());
        got.nodes.clear();
        assert_eq!(Value::Stream(got), value);
        // Written by its nodes, it reads back the same.
        assert_eq!(restore(&dump(&laid_out)), Ok(laid_out));
    }

    #[test]
    fn listpack_integers_take_every_width() {
        for v in [
            0i64,
            127,
            128,
            -1,
            4095,
            -4096,
            4096,
            32767,
            -32768,
            40000,
            (1 << 23) - 1,
            -(1 << 23),
            1 << 23,
            i64::from(i32::MAX),
            i64::from(i32::MIN),
            i64::MAX,
            i64::MIN,
        ] {
            let lp = listpack(&[Lp::Int(v), Lp::Str(b"x")]);
            let items = super::super::read::listpack_items(&lp).expect("reads");
            assert_eq!(items, vec![b(&v.to_string()), b("x")], "{v}");
        }
        // Strings that are integers are stored as integers, the others
        // as they are.
        for (s, int) in [
            ("12", true),
            ("-7", true),
            ("-9223372036854775808", true),
            ("007", false),
            ("-0", false),
            ("+5", false),
            ("99999999999999999999", false),
            ("1e3", false),
        ] {
            let lp = listpack(&[Lp::Str(s.as_bytes())]);
            let items = super::super::read::listpack_items(&lp).expect("reads");
            assert_eq!(items, vec![b(s)], "{s}");
            // (a string's encoding byte: 10xxxxxx for these lengths)
            assert_eq!(lp[6] & 0xc0 != 0x80, int, "{s}: {:#x}", lp[6]);
        }
        let long = "y".repeat(5000);
        let lp = listpack(&[Lp::Str(long.as_bytes()), Lp::Str(&[b'z'; 100])]);
        let items = super::super::read::listpack_items(&lp).expect("reads");
        assert_eq!(items[0].len(), 5000);
        assert_eq!(items[1].len(), 100);
    }

    #[test]
    fn a_pending_entry_without_its_consumer_is_refused() {
        let s = Stream {
            groups: vec![Group {
                name: b("g"),
                pending: vec![Pending {
                    id: (1, 1),
                    delivery_time: 0,
                    delivery_count: 1,
                    owner: b("c"),
                }],
                ..Group::default()
            }],
            ..Stream::default()
        };
        let mut out = Vec::new();
        write(&mut out, &s);
        // Cut the consumer's owned-ID list to none: its last 17 bytes
        // (count 1, the ID) become a count of 0.
        let cut = out.len() - 17;
        out.truncate(cut);
        out.push(0);
        let mut r = Reader::new(&out[1..]);
        assert_eq!(r.stream(kind::STREAM_LISTPACKS_2), Err(RdbError::Format));
    }
}
