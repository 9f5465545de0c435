//! What a stream's events carry: X_META's, X_APPEND's and X_PARTS's
//! values (made by [`super::Stream`], read back by the store's apply),
//! and which events wake the clients waiting on a stream.

use bytes::{BufMut, Bytes, BytesMut};
use rocksync_protocol::Command;

use super::{entry_part, id_of, nodes, Header, Id};
use crate::store::keys::{self, be_u64};

/// True when event `e` wakes the clients waiting on its key. Of a
/// stream's own events only a new entry (XADD, or a stream copied in by
/// RENAME or COPY) and a destroyed group do, as in Redis: XDEL, XTRIM,
/// XSETID, XGROUP SETID and what XREADGROUP itself writes wake no one.
/// Any other write to the key does (its waiting group readers fail when
/// it is gone or no stream).
pub fn wakes(e: &rocksync_protocol::LogEvent) -> bool {
    match e.cmd {
        Command::XMeta => false,
        Command::XPut => e.value.get(4) == Some(&b'e'),
        Command::XDel => e.value.first() == Some(&b'g'),
        Command::XParts => split_parts(&e.value).is_none_or(|parts| {
            parts.iter().any(|(part, value)| match value {
                Some(_) => part.first() == Some(&b'e'),
                None => part.first() == Some(&b'g'),
            })
        }),
        _ => true,
    }
}

/// An X_META event's value.
pub(super) fn header_value(len: u64, head: &Header) -> Bytes {
    // (sized for a header with its tail node: one allocation)
    let mut v = Vec::with_capacity(160);
    v.extend_from_slice(&len.to_be_bytes());
    head.encode_into(&mut v);
    Bytes::from(v)
}

/// Writes to a stream's parts (`None`: delete), in order, to log as one
/// event by [`Stream::write_parts`]. The command reads none of them back
/// before they are written.
#[derive(Debug, Default)]
pub struct Parts(pub(super) Vec<(Vec<u8>, Option<Vec<u8>>)>);

impl Parts {
    /// Write `part`.
    pub fn put(&mut self, part: Vec<u8>, value: Vec<u8>) {
        self.0.push((part, Some(value)));
    }

    /// Delete `part`.
    pub fn delete(&mut self, part: Vec<u8>) {
        self.0.push((part, None));
    }

    /// The writes in order, cut into runs of about `bytes` each (a run
    /// ends with the write that passes it).
    pub(super) fn runs(&self, bytes: usize) -> impl Iterator<Item = &[(Vec<u8>, Option<Vec<u8>>)]> {
        let mut rest = &self.0[..];
        std::iter::from_fn(move || {
            if rest.is_empty() {
                return None;
            }
            let mut size = 0;
            let mut n = 0;
            while n < rest.len() && size < bytes {
                size += rest[n].0.len() + rest[n].1.as_ref().map_or(0, Vec::len) + 9;
                n += 1;
            }
            let (run, after) = rest.split_at(n);
            rest = after;
            Some(run)
        })
    }
}

/// An X_PARTS event's value.
pub(super) fn parts_value(parts: &[(Vec<u8>, Option<Vec<u8>>)]) -> Bytes {
    let size = parts
        .iter()
        .map(|(p, v)| 9 + p.len() + v.as_ref().map_or(0, Vec::len))
        .sum();
    let mut out = BytesMut::with_capacity(size);
    for (part, value) in parts {
        out.put_u8(u8::from(value.is_some()));
        match value {
            Some(v) => {
                out.put_u32((4 + part.len() + v.len()) as u32);
                out.put_slice(&keys::pack(part, v));
            }
            None => {
                out.put_u32(part.len() as u32);
                out.put_slice(part);
            }
        }
    }
    out.freeze()
}

/// An X_PARTS value's writes: each part with its bytes, or `None` for
/// a delete. `None` for bytes [`parts_value`] never made.
pub fn split_parts(v: &Bytes) -> Option<Vec<(Bytes, Option<Bytes>)>> {
    let mut out = Vec::new();
    let mut at = 0;
    while at < v.len() {
        let put = *v.get(at)?;
        let len = be_u32(v.get(at + 1..at + 5)?)? as usize;
        let body = v.slice_ref(v.get(at + 5..(at + 5).checked_add(len)?)?);
        at += 5 + len;
        out.push(match put {
            0 => (body, None),
            1 => {
                let (part, value) = keys::unpack(&body)?;
                (part, Some(value))
            }
            _ => return None,
        });
    }
    Some(out)
}

/// A u32 from its 4 big-endian bytes.
fn be_u32(b: &[u8]) -> Option<u32> {
    Some(u32::from_be_bytes(b.try_into().ok()?))
}

/// An X_APPEND event's value: X_META's value `head`, then entry `id`
/// with its `fields`.
pub(super) fn append_value(head: &[u8], id: Id, fields: &[u8]) -> Bytes {
    let mut v = BytesMut::with_capacity(4 + head.len() + 16 + fields.len());
    v.put_u32(head.len() as u32);
    v.put_slice(head);
    v.put_slice(&nodes::rax_key(id));
    v.put_slice(fields);
    v.freeze()
}

/// An X_APPEND value's length and header bytes (as
/// [`split_header_value`]), its entry's part and fields.
pub fn split_append_value(v: &Bytes) -> Option<(u64, Bytes, Vec<u8>, Bytes)> {
    let (head, rest) = keys::unpack(v)?;
    let (len, head) = split_header_value(&head)?;
    let id = id_of(rest.get(..16)?)?;
    Some((len, head, entry_part(id), rest.slice(16..)))
}

/// An X_META value's length and header bytes (for the key's metadata).
pub fn split_header_value(v: &[u8]) -> Option<(u64, Bytes)> {
    let len = be_u64(v.get(..8)?)?;
    let head = v.get(8..)?;
    Header::decode(head)?;
    Some((len, Bytes::copy_from_slice(head)))
}

#[cfg(test)]
mod tests {
    use super::super::{encode_fields, group_part, nack_part, owned_part};
    use super::*;

    #[test]
    fn runs_are_cut_by_size_and_only_new_entries_and_gone_groups_wake() {
        let mut w = Parts::default();
        for i in 0..10 {
            w.put(entry_part((i, 0)), vec![0; 100]);
        }
        // (126 bytes a write: a run of 250 ends with its second)
        let runs: Vec<usize> = w.runs(250).map(<[_]>::len).collect();
        assert_eq!(runs, vec![2; 5]);
        assert_eq!(w.runs(usize::MAX).count(), 1);
        assert_eq!(Parts::default().runs(250).count(), 0);
        let event = |w: &Parts| {
            rocksync_protocol::LogEvent::data(1, Command::XParts, "k", parts_value(&w.0))
        };
        assert!(wakes(&event(&w)));
        let mut delivered = Parts::default();
        delivered.put(nack_part(b"g", (1, 0)), vec![1]);
        delivered.put(group_part(b"g"), vec![2]);
        delivered.delete(entry_part((1, 0)));
        assert!(!wakes(&event(&delivered)));
        delivered.delete(group_part(b"g"));
        assert!(wakes(&event(&delivered)));
    }

    #[test]
    fn values_round_trip() {
        let mut tail = nodes::Node::start((3, 0), &[(b"f", b"v")]);
        tail.add((3, 0), &[(b"f", b"v")]);
        let h = Header {
            last: (3, 0),
            added: 1,
            tail: (3, 0),
            head: (3, 0),
            tail_node: Some(tail),
            ..Header::default()
        };
        // X_PARTS's value: puts (an empty value too) and deletes, in order.
        let mut w = Parts::default();
        w.put(b"gname".to_vec(), b"x".to_vec());
        w.delete(entry_part((4, 0)));
        w.put(owned_part(b"g", b"c", (4, 0)), Vec::new());
        let want: Vec<(Bytes, Option<Bytes>)> =
            w.0.iter()
                .map(|(p, v)| (Bytes::from(p.clone()), v.clone().map(Bytes::from)))
                .collect();
        let v = parts_value(&w.0);
        assert_eq!(split_parts(&v), Some(want));
        assert_eq!(split_parts(&v.slice(..v.len() - 1)), None);
        assert_eq!(split_parts(&Bytes::new()), Some(Vec::new()));
        // X_APPEND's value: the header value, then the entry.
        let fields = encode_fields(&[(Bytes::from("f"), Bytes::from("w"))]);
        let v = append_value(&header_value(3, &h), (4, 0), &fields);
        let (len, bytes, part, got) = split_append_value(&v).expect("valid");
        assert_eq!((len, Header::decode(&bytes)), (3, Some(h)));
        assert_eq!((part, &got[..]), (entry_part((4, 0)), &fields[..]));
    }
}
