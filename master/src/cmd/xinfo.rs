//! Stream commands that only read: XINFO (STREAM [FULL], GROUPS,
//! CONSUMERS, HELP), XPENDING, and XGROUP HELP, in Redis 7.0's shapes
//! (maps in RESP3, flat arrays in RESP2).

use bytes::Bytes;
use rocksync_protocol::Reply;

use super::stream::groups::{self, Counters, UNKNOWN};
use super::stream::nodes::{rax_key, rax_nodes};
use super::stream::{bound, entry_reply, id_of, id_reply, Group, Stream, MAX};
use super::xgroup::nogroup;
use super::{int_arg, lower, tri, ReadCtx, SYNTAX};
use crate::error::Result;

fn lines(text: &[&str]) -> Reply {
    Reply::Array(text.iter().map(|l| Reply::Simple((*l).into())).collect())
}

pub(crate) fn xgroup_help(_: &ReadCtx<'_>, _: &[Bytes]) -> Result<Reply> {
    Ok(lines(&[
        "XGROUP <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "CREATE <key> <groupname> <id|$> [option]",
        "    Create a new consumer group. Options are:",
        "    * MKSTREAM",
        "      Create the empty stream if it does not exist.",
        "    * ENTRIESREAD entries_read",
        "      Set the group's entries_read counter (internal use).",
        "CREATECONSUMER <key> <groupname> <consumer>",
        "    Create a new consumer in the specified group.",
        "DELCONSUMER <key> <groupname> <consumer>",
        "    Remove the specified consumer.",
        "DESTROY <key> <groupname>",
        "    Remove the specified group.",
        "SETID <key> <groupname> <id|$> [ENTRIESREAD entries_read]",
        "    Set the current group ID and entries_read counter.",
        "HELP",
        "    Prints this help.",
    ]))
}

pub(crate) fn xinfo_help(_: &ReadCtx<'_>, _: &[Bytes]) -> Result<Reply> {
    Ok(lines(&[
        "XINFO <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "CONSUMERS <key> <groupname>",
        "    Show consumers of <groupname>.",
        "GROUPS <key>",
        "    Show the stream consumer groups.",
        "STREAM <key> [FULL [COUNT <count>]",
        "    Show information about the stream.",
        "HELP",
        "    Prints this help.",
    ]))
}

/// The stream at `key`, which XINFO needs to exist.
fn existing(c: &ReadCtx<'_>, key: &[u8]) -> Result<std::result::Result<Stream, Reply>> {
    Ok(match Stream::load(c, key)? {
        Ok(Some(s)) => Ok(s),
        Ok(None) => Err(Reply::error("ERR no such key")),
        Err(r) => Err(r),
    })
}

fn field(name: &str, v: Reply) -> (Reply, Reply) {
    (Reply::bulk(name.to_owned()), v)
}

fn int(n: impl TryInto<i64>) -> Reply {
    Reply::Integer(n.try_into().unwrap_or(i64::MAX))
}

fn optional(n: Option<i64>) -> Reply {
    n.map_or(Reply::Nil, Reply::Integer)
}

/// XINFO STREAM key [FULL [COUNT n]].
pub(crate) fn stream(c: &ReadCtx<'_>, a: &[Bytes]) -> Result<Reply> {
    let s = tri!(existing(c, &a[2])?);
    let full = match a.len() {
        3 => None,
        4 if lower(&a[3]) == b"full" => Some(10),
        6 if lower(&a[3]) == b"full" && lower(&a[4]) == b"count" => {
            let n = tri!(int_arg(&a[5]));
            Some(if n < 0 { 10 } else { n as usize })
        }
        _ => {
            return Ok(Reply::error(format!(
                "ERR unknown subcommand or wrong number of arguments for '{}'. Try XINFO HELP.",
                String::from_utf8_lossy(&a[1])
            )))
        }
    };
    let counters = Counters::of(c, &s)?;
    let mut masters = Vec::new();
    let nprefix = s.prefix(b'n');
    s.scan(c, &nprefix, &nprefix, &mut |k, _| {
        if let Some(id) = id_of(k) {
            masters.push(rax_key(id));
        }
        true
    })?;
    let all_groups = groups::groups(c, &s)?;
    let mut out = vec![
        field("length", int(s.len())),
        field("radix-tree-keys", int(masters.len())),
        field("radix-tree-nodes", int(rax_nodes(&masters))),
        field("last-generated-id", id_reply(s.head.last)),
        field("max-deleted-entry-id", id_reply(s.head.max_deleted)),
        field("entries-added", int(s.head.added)),
        field("recorded-first-entry-id", id_reply(counters.first)),
    ];
    let Some(n) = full else {
        let ends = |rev| -> Result<Reply> {
            Ok(s.range(c, (0, 0), MAX, 1, rev)?
                .first()
                .map_or(Reply::Nil, |(id, f)| entry_reply(*id, f)))
        };
        out.push(field("groups", int(all_groups.len())));
        out.push(field("first-entry", ends(false)?));
        out.push(field("last-entry", ends(true)?));
        return Ok(Reply::Map(out));
    };
    let entries = s.range(c, (0, 0), MAX, n, false)?;
    out.push(field(
        "entries",
        Reply::Array(entries.iter().map(|(id, f)| entry_reply(*id, f)).collect()),
    ));
    let mut gs = Vec::with_capacity(all_groups.len());
    for (name, g) in &all_groups {
        gs.push(full_group(c, &s, &counters, name, g, n)?);
    }
    out.push(field("groups", Reply::Array(gs)));
    Ok(Reply::Map(out))
}

/// One group of XINFO STREAM FULL.
fn full_group(
    c: &ReadCtx<'_>,
    s: &Stream,
    counters: &Counters,
    name: &Bytes,
    g: &Group,
    n: usize,
) -> Result<Reply> {
    let pel = groups::pending(c, s, name, (0, 0), 0)?;
    let pending = pel
        .iter()
        .take(if n == 0 { usize::MAX } else { n })
        .map(|(id, k)| {
            Reply::Array(vec![
                id_reply(*id),
                Reply::Bulk(k.owner.clone()),
                int(k.time),
                int(k.count),
            ])
        })
        .collect();
    let mut consumers = Vec::new();
    for (cname, seen) in groups::consumers(c, s, name)? {
        let owned = groups::owned(c, s, name, &cname, (0, 0), 0)?;
        let mut mine = Vec::new();
        for id in owned.iter().take(if n == 0 { usize::MAX } else { n }) {
            if let Some(k) = groups::nack(c, s, name, *id)? {
                mine.push(Reply::Array(vec![id_reply(*id), int(k.time), int(k.count)]));
            }
        }
        consumers.push(Reply::Map(vec![
            field("name", Reply::Bulk(cname.clone())),
            field("seen-time", int(seen)),
            field("pel-count", int(owned.len())),
            field("pending", Reply::Array(mine)),
        ]));
    }
    Ok(Reply::Map(vec![
        field("name", Reply::Bulk(name.clone())),
        field("last-delivered-id", id_reply(g.last)),
        field(
            "entries-read",
            optional((g.read != UNKNOWN).then_some(g.read)),
        ),
        field("lag", optional(counters.lag(g))),
        field("pel-count", int(pel.len())),
        field("pending", Reply::Array(pending)),
        field("consumers", Reply::Array(consumers)),
    ]))
}

/// XINFO GROUPS key.
pub(crate) fn groups_info(c: &ReadCtx<'_>, a: &[Bytes]) -> Result<Reply> {
    let s = tri!(existing(c, &a[2])?);
    let counters = Counters::of(c, &s)?;
    let mut out = Vec::new();
    for (name, g) in groups::groups(c, &s)? {
        let consumers = groups::consumers(c, &s, &name)?.len();
        let pending = groups::pending(c, &s, &name, (0, 0), 0)?.len();
        out.push(Reply::Map(vec![
            field("name", Reply::Bulk(name.clone())),
            field("consumers", int(consumers)),
            field("pending", int(pending)),
            field("last-delivered-id", id_reply(g.last)),
            field(
                "entries-read",
                optional((g.read != UNKNOWN).then_some(g.read)),
            ),
            field("lag", optional(counters.lag(&g))),
        ]));
    }
    Ok(Reply::Array(out))
}

/// XINFO CONSUMERS key group.
pub(crate) fn consumers_info(c: &ReadCtx<'_>, a: &[Bytes]) -> Result<Reply> {
    let s = tri!(existing(c, &a[2])?);
    let group = &a[3];
    if groups::group(c, &s, group)?.is_none() {
        return Ok(Reply::error(format!(
            "NOGROUP No such consumer group '{}' for key name '{}'",
            String::from_utf8_lossy(group),
            String::from_utf8_lossy(&a[2])
        )));
    }
    let mut out = Vec::new();
    for (name, seen) in groups::consumers(c, &s, group)? {
        let pending = groups::owned(c, &s, group, &name, (0, 0), 0)?.len();
        out.push(Reply::Map(vec![
            field("name", Reply::Bulk(name.clone())),
            field("pending", int(pending)),
            field("idle", int(c.now_ms.saturating_sub(seen))),
        ]));
    }
    Ok(Reply::Array(out))
}

/// XPENDING key group [[IDLE min-idle] start end count [consumer]].
pub(crate) fn xpending(c: &ReadCtx<'_>, a: &[Bytes]) -> Result<Reply> {
    let (key, group) = (&a[1], &a[2]);
    if a.len() != 3 && !(6..=9).contains(&a.len()) {
        return Ok(Reply::error(SYNTAX));
    }
    let mut range = None;
    if a.len() >= 6 {
        let (mut at, mut min_idle) = (3, 0);
        if lower(&a[3]) == b"idle" {
            min_idle = tri!(int_arg(&a[4]));
            if a.len() < 8 {
                return Ok(Reply::error(SYNTAX));
            }
            at = 5;
        }
        let count = tri!(int_arg(&a[at + 2])).max(0) as usize;
        let from = tri!(bound(&a[at], true));
        let to = tri!(bound(&a[at + 1], false));
        range = Some((min_idle, from, to, count, a.get(at + 3)));
    }
    let s = match tri!(Stream::load(c, key)?) {
        Some(s) => s,
        None => return Ok(nogroup(key, group, "")),
    };
    if groups::group(c, &s, group)?.is_none() {
        return Ok(nogroup(key, group, ""));
    }
    let Some((min_idle, from, to, count, consumer)) = range else {
        let pel = groups::pending(c, &s, group, (0, 0), 0)?;
        let (Some(first), Some(last)) = (pel.first(), pel.last()) else {
            return Ok(Reply::Array(vec![
                Reply::Integer(0),
                Reply::Nil,
                Reply::Nil,
                Reply::NilArray,
            ]));
        };
        let mut per: std::collections::BTreeMap<Bytes, u64> = Default::default();
        for (_, n) in &pel {
            *per.entry(n.owner.clone()).or_default() += 1;
        }
        return Ok(Reply::Array(vec![
            int(pel.len()),
            id_reply(first.0),
            id_reply(last.0),
            Reply::Array(
                per.into_iter()
                    .map(|(name, n)| {
                        Reply::Array(vec![Reply::Bulk(name), Reply::bulk(n.to_string())])
                    })
                    .collect(),
            ),
        ]));
    };
    let mut out = Vec::new();
    if count == 0 || from > to {
        return Ok(Reply::Array(out));
    }
    // Read as far as the answer needs: to `end`, or `count` entries.
    let now = c.now_ms;
    let mut take = |id: super::stream::Id, n: super::stream::Nack| -> bool {
        if id > to {
            return false;
        }
        let idle = now.saturating_sub(n.time);
        if min_idle <= 0 || (idle as i64) >= min_idle {
            out.push(Reply::Array(vec![
                id_reply(id),
                Reply::Bulk(n.owner.clone()),
                int(idle),
                int(n.count),
            ]));
        }
        out.len() < count
    };
    match consumer {
        Some(name) => {
            let mut at = from;
            'pages: loop {
                let ids = groups::owned(c, &s, group, name, at, 256)?;
                for id in &ids {
                    if let Some(n) = groups::nack(c, &s, group, *id)? {
                        if !take(*id, n) {
                            break 'pages;
                        }
                    }
                }
                match ids.last().and_then(|l| super::stream::next_id(*l)) {
                    Some(next) if ids.len() == 256 => at = next,
                    _ => break,
                }
            }
        }
        None => groups::visit_pending(c, &s, group, from, &mut take)?,
    }
    Ok(Reply::Array(out))
}
