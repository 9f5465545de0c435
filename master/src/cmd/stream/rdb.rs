//! A stream in RDB form and back (DUMP/RESTORE, MIGRATE, `redis-cli
//! --rdb`, `--import-rdb`, a full sync from a Redis master): its live
//! entries, counters, and consumer groups with their pending entries and
//! consumers. Restored, its nodes are laid out as XADD with the default
//! node sizes would have laid them.

use bytes::Bytes;
use rocksync_protocol::rdb::{Stream as RdbStream, StreamGroup, StreamNode, StreamPending};
use rocksync_protocol::Command;

use super::groups::{consumers, groups, visit_pending};
use super::nodes::Node;
use super::{
    consumer_part, encode_fields, entry_part, group_part, header_value, nack_part, node_part,
    owned_part, Group, Header, Nack, Stream, MAX,
};
use crate::cmd::{Sizes, View};
use crate::error::Result;
use crate::store::keys::{self, Meta};

/// The stream `m` (the live value of `key`) as RDB carries it.
///
/// # Errors
/// RocksDB errors, a corrupt header.
pub fn to_rdb(v: &impl View, key: &[u8], m: &Meta) -> Result<RdbStream> {
    let s = Stream::of(key, m.clone())?;
    let entries = s
        .range(v, (0, 0), MAX, 0, false)?
        .into_iter()
        .map(|(id, fields)| (id, field_pairs(&fields)))
        .collect();
    let mut nodes = Vec::new();
    let prefix = s.prefix(b'n');
    s.scan(v, &prefix, &prefix, &mut |_, val| {
        if let Some(mut n) = Node::decode(val) {
            // The tail node the header keeps (its part's counts are stale).
            if let Some(tail) = s.head.tail_node.as_ref().filter(|t| t.master == n.master) {
                n = tail.clone();
            }
            nodes.push(StreamNode {
                master: n.master,
                fields: n.fields.into_iter().map(Bytes::from).collect(),
                deleted: n.deleted,
                last: n.last,
                bytes: n.bytes,
            });
        }
        true
    })?;
    let mut out = RdbStream {
        entries,
        last_id: s.head.last,
        max_deleted: s.head.max_deleted,
        entries_added: s.head.added,
        groups: Vec::new(),
        nodes,
    };
    for (name, g) in groups(v, &s)? {
        let mut pending = Vec::new();
        visit_pending(v, &s, &name, (0, 0), &mut |id, n| {
            pending.push(StreamPending {
                id,
                delivery_time: n.time,
                delivery_count: n.count,
                owner: n.owner,
            });
            true
        })?;
        out.groups.push(StreamGroup {
            consumers: consumers(v, &s, &name)?,
            name,
            last_id: g.last,
            entries_read: g.read,
            pending,
        });
    }
    Ok(out)
}

/// The events that make `s` the stream of a key that holds nothing:
/// (command, value) with the key's parts, its length and header last.
/// Its nodes are those `s` names when they hold every entry (what a
/// Redis RDB lays out), else as XADD would make them.
pub fn events(s: &RdbStream) -> Vec<(Command, Bytes)> {
    let part = |k: &[u8], val: &[u8]| (Command::XPut, keys::pack(k, val));
    let sizes = Sizes::default();
    let mut out = Vec::with_capacity(s.entries.len() * 2 + 1);
    let mut nodes: Vec<Node> = Vec::new();
    let first = s.entries.first().map(|e| e.0);
    let given = !s.nodes.is_empty() && first.is_none_or(|id| id >= s.nodes[0].master);
    let mut next_given = s.nodes.iter().peekable();
    // The node given for each node made (its last ID and size, deleted
    // entries counted, are set once its live entries are in).
    let mut made_from = Vec::new();
    for (id, pairs) in &s.entries {
        let refs: Vec<(&[u8], &[u8])> = pairs.iter().map(|(f, x)| (&f[..], &x[..])).collect();
        if given {
            // A node begins where the next one given does.
            let mut start = None;
            while let Some(n) = next_given.next_if(|n| n.master <= *id) {
                start = Some(n);
            }
            if let Some(n) = start {
                let fields: Vec<(&[u8], &[u8])> =
                    n.fields.iter().map(|f| (&f[..], &b""[..])).collect();
                let mut node = Node::start(n.master, &fields);
                node.set_counts(0, n.deleted);
                nodes.push(node);
                made_from.push(n);
            }
        } else {
            let fits = nodes.last().is_some_and(|n| {
                n.takes(
                    &refs,
                    sizes.stream_node_max_entries,
                    sizes.stream_node_max_bytes,
                )
            });
            if !fits {
                nodes.push(Node::start(*id, &refs));
            }
        }
        if let Some(node) = nodes.last_mut() {
            node.add(*id, &refs);
        }
        out.push(part(&entry_part(*id), &encode_fields(pairs)));
    }
    for (node, given) in nodes.iter_mut().zip(&made_from) {
        node.last = node.last.max(given.last);
        if given.bytes > 0 {
            node.bytes = given.bytes;
        }
    }
    for node in &nodes {
        out.push(part(&node_part(node.master), &node.encode()));
    }
    for g in &s.groups {
        let record = Group {
            last: g.last_id,
            read: g.entries_read,
        };
        out.push(part(&group_part(&g.name), &record.encode()));
        for p in &g.pending {
            let nack = Nack {
                time: p.delivery_time,
                count: p.delivery_count,
                owner: p.owner.clone(),
            };
            out.push(part(&nack_part(&g.name, p.id), &nack.encode()));
            out.push(part(&owned_part(&g.name, &p.owner, p.id), b""));
        }
        for (name, seen) in &g.consumers {
            out.push(part(&consumer_part(&g.name, name), &seen.to_be_bytes()));
        }
    }
    let head = Header {
        last: s.last_id,
        added: s.entries_added,
        max_deleted: s.max_deleted,
        tail: nodes.last().map_or((0, 0), |n| n.master),
        head: nodes.first().map_or((0, 0), |n| n.master),
        gone_below: (0, 0),
        overlap: nodes.windows(2).any(|w| w[1].master <= w[0].last),
        tail_node: None,
    };
    out.push((Command::XMeta, header_value(s.entries.len() as u64, &head)));
    out
}

/// An entry's (field, value) pairs, from their encoding.
pub fn field_pairs(b: &Bytes) -> Vec<(Bytes, Bytes)> {
    let n = b
        .get(..4)
        .map_or(0, |x| u32::from_be_bytes([x[0], x[1], x[2], x[3]]) as usize);
    let mut items = Vec::with_capacity(2 * n.min(1024));
    let mut at = 4;
    for _ in 0..n * 2 {
        let Some(len) = b.get(at..at + 4) else { break };
        let len = u32::from_be_bytes([len[0], len[1], len[2], len[3]]) as usize;
        if b.get(at + 4..at + 4 + len).is_none() {
            break;
        }
        items.push(b.slice(at + 4..at + 4 + len));
        at += 4 + len;
    }
    let mut it = items.into_iter();
    let mut pairs = Vec::with_capacity(it.len() / 2);
    while let (Some(f), Some(v)) = (it.next(), it.next()) {
        pairs.push((f, v));
    }
    pairs
}
