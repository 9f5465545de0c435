//! Stream commands without consumer groups: XADD, XTRIM, XDEL, XSETID,
//! XLEN, XRANGE, XREVRANGE and XREAD (which blocks), with Redis 7.0's
//! argument orders and error texts.

use std::sync::OnceLock;

use bytes::Bytes;
use rocksync_protocol::Reply;

use super::stream::write::{self, Strategy, Trim};
use super::stream::{bound, entry_reply, next_id, parse_id, strict_id, Id, Stream, MAX};
use super::{int_arg, lower, tri, wrong_arity, ReadCtx, View, WriteCtx, WriteOp, SYNTAX};
use crate::error::Result;

type Parsed = std::result::Result<Box<dyn WriteOp>, Reply>;

/// XADD's and XTRIM's options, from `a[i]`: the trim, NOMKSTREAM, and
/// where XADD's ID is.
fn trim_args(
    a: &[Bytes],
    mut i: usize,
    xadd: bool,
) -> std::result::Result<(Option<Trim>, bool, usize), Reply> {
    let mut strategy = None;
    let mut approx = false;
    let mut limit = None;
    let mut nomk = false;
    while i < a.len() {
        let more = a.len() - 1 - i;
        let o = lower(&a[i]);
        match &o[..] {
            b"*" if xadd => break,
            b"maxlen" | b"minid" if more >= 1 => {
                if strategy.is_some() {
                    return Err(Reply::error(
                        "ERR syntax error, MAXLEN and MINID options at the same time are not compatible",
                    ));
                }
                approx = false;
                if more >= 2 && (&a[i + 1][..] == b"~" || &a[i + 1][..] == b"=") {
                    approx = &a[i + 1][..] == b"~";
                    i += 1;
                }
                i += 1;
                strategy = Some(if o == b"maxlen" {
                    let n = int_arg(&a[i])?;
                    if n < 0 {
                        return Err(Reply::error("ERR The MAXLEN argument must be >= 0."));
                    }
                    Strategy::MaxLen(n as u64)
                } else {
                    Strategy::MinId(strict_id(&a[i])?)
                });
            }
            b"limit" if more >= 1 => {
                let n = int_arg(&a[i + 1])?;
                if n < 0 {
                    return Err(Reply::error("ERR The LIMIT argument must be >= 0."));
                }
                limit = Some(n as u64);
                i += 1;
            }
            b"nomkstream" if xadd => nomk = true,
            _ if xadd => break,
            _ => return Err(Reply::error(SYNTAX)),
        }
        i += 1;
    }
    if limit.is_some_and(|n| n != 0) && strategy.is_none() {
        return Err(Reply::error(
            "ERR syntax error, LIMIT cannot be used without specifying a trimming strategy",
        ));
    }
    if !xadd && strategy.is_none() {
        return Err(Reply::error(
            "ERR syntax error, XTRIM must be called with a trimming strategy",
        ));
    }
    if limit.is_some() && !approx {
        return Err(Reply::error(
            "ERR syntax error, LIMIT cannot be used without the special ~ option",
        ));
    }
    let trim = strategy.map(|strategy| Trim {
        strategy,
        approx,
        limit,
    });
    Ok((trim, nomk, i))
}

/// XADD's ID argument.
#[derive(Clone, Copy)]
enum NewId {
    /// `*`.
    Auto,
    /// `ms-*`.
    AutoSeq(u64),
    /// Given.
    Given(Id),
}

/// XADD key [NOMKSTREAM] [MAXLEN|MINID [=|~] threshold [LIMIT n]] id field value ...
struct XAdd {
    key: Bytes,
    nomk: bool,
    trim: Option<Trim>,
    id: NewId,
    pairs: Vec<(Bytes, Bytes)>,
}

const ID_TOO_SMALL: &str =
    "ERR The ID specified in XADD is equal or smaller than the target stream top item";

pub(crate) fn xadd(a: &[Bytes]) -> Parsed {
    let (trim, nomk, at) = trim_args(a, 2, true)?;
    let arg = a.get(at).ok_or_else(|| wrong_arity("xadd"))?;
    let id = if &arg[..] == b"*" {
        NewId::Auto
    } else if arg.ends_with(b"-*") && arg.len() <= 127 {
        let ms = parse_id(&arg[..arg.len() - 2], 0, true)
            .filter(|_| !arg[..arg.len() - 2].contains(&b'-'))
            .ok_or_else(|| Reply::error(super::stream::INVALID_ID))?;
        NewId::AutoSeq(ms.0)
    } else {
        NewId::Given(strict_id(arg)?)
    };
    let rest = &a[at + 1..];
    if rest.len() < 2 || rest.len() % 2 != 0 {
        return Err(wrong_arity("xadd"));
    }
    if let NewId::Given((0, 0)) = id {
        return Err(Reply::error(
            "ERR The ID specified in XADD must be greater than 0-0",
        ));
    }
    Ok(Box::new(XAdd {
        key: a[1].clone(),
        nomk,
        trim,
        id,
        pairs: rest
            .chunks(2)
            .map(|p| (p[0].clone(), p[1].clone()))
            .collect(),
    }))
}

impl WriteOp for XAdd {
    fn execute(&self, c: &mut WriteCtx<'_>) -> Result<Reply> {
        let mut s = match tri!(Stream::load_mut(c, &self.key)?) {
            Some(s) => s,
            None if self.nomk => return Ok(Reply::Nil),
            None => Stream::create(c, &self.key)?,
        };
        let last = s.head.last;
        if last == MAX {
            return Ok(Reply::error(
                "ERR The stream has exhausted the last possible ID, unable to add more items",
            ));
        }
        let id = match self.id {
            NewId::Auto if c.now_ms > last.0 => (c.now_ms, 0),
            NewId::Auto => next_id(last).unwrap_or(MAX),
            NewId::AutoSeq(ms) if ms == last.0 => match next_id(last) {
                Some(n) if n.0 == ms => n,
                // (Redis 7.0's words for a millisecond's sequence run out)
                _ => return Ok(Reply::error("ERR Elements are too large to be stored")),
            },
            NewId::AutoSeq(ms) => (ms, 0),
            NewId::Given(id) => id,
        };
        if id <= last {
            return Ok(Reply::error(ID_TOO_SMALL));
        }
        let fields = write::append(c, &mut s, id, &self.pairs)?;
        match self.trim {
            // A trim that may take the new entry again: the entry first.
            Some(t) if t.reaches(id) => {
                s.put(c, &super::stream::entry_part(id), &fields)?;
                write::trim(c, &mut s, t)?;
                s.save(c)?;
            }
            // Else the trim takes only older entries (whole nodes before
            // the tail, or the oldest of its node), and the entry is
            // written with the header after it.
            Some(t) => {
                write::trim(c, &mut s, t)?;
                s.save_with_entry(c, id, &fields)?;
            }
            None => s.save_with_entry(c, id, &fields)?,
        }
        Ok(super::stream::id_reply(id))
    }
}

/// XTRIM key MAXLEN|MINID [=|~] threshold [LIMIT n].
struct XTrim {
    key: Bytes,
    trim: Trim,
}

pub(crate) fn xtrim(a: &[Bytes]) -> Parsed {
    let (trim, _, _) = trim_args(a, 2, false)?;
    let trim = trim.ok_or_else(|| Reply::error(SYNTAX))?;
    Ok(Box::new(XTrim {
        key: a[1].clone(),
        trim,
    }))
}

impl WriteOp for XTrim {
    fn execute(&self, c: &mut WriteCtx<'_>) -> Result<Reply> {
        let Some(mut s) = tri!(Stream::load_mut(c, &self.key)?) else {
            return Ok(Reply::Integer(0));
        };
        let n = write::trim(c, &mut s, self.trim)?;
        s.save(c)?;
        Ok(Reply::Integer(n as i64))
    }
}

/// XDEL key id [id ...]: the IDs are read after the key is found, as
/// Redis does (a missing key answers 0 whatever they are).
struct XDel {
    key: Bytes,
    ids: Vec<Bytes>,
}

pub(crate) fn xdel(a: &[Bytes]) -> Parsed {
    Ok(Box::new(XDel {
        key: a[1].clone(),
        ids: a[2..].to_vec(),
    }))
}

impl WriteOp for XDel {
    fn execute(&self, c: &mut WriteCtx<'_>) -> Result<Reply> {
        let Some(mut s) = tri!(Stream::load_mut(c, &self.key)?) else {
            return Ok(Reply::Integer(0));
        };
        let ids = tri!(self
            .ids
            .iter()
            .map(|b| strict_id(b))
            .collect::<std::result::Result<Vec<Id>, Reply>>());
        let mut n = 0;
        for id in ids {
            n += i64::from(write::remove(c, &mut s, id)?);
        }
        s.save(c)?;
        Ok(Reply::Integer(n))
    }
}

/// XSETID key last-id [ENTRIESADDED n] [MAXDELETEDID id].
struct XSetId {
    key: Bytes,
    last: Id,
    added: Option<u64>,
    max_deleted: Option<Id>,
}

pub(crate) fn xsetid(a: &[Bytes]) -> Parsed {
    let last = strict_id(&a[2])?;
    let (mut added, mut max_deleted) = (None, None);
    let mut i = 3;
    while i < a.len() {
        let more = a.len() - 1 - i;
        match &lower(&a[i])[..] {
            b"entriesadded" if more >= 1 => {
                let n = int_arg(&a[i + 1])?;
                if n < 0 {
                    return Err(Reply::error("ERR entries_added must be positive"));
                }
                added = Some(n as u64);
            }
            b"maxdeletedid" if more >= 1 => {
                let id = strict_id(&a[i + 1])?;
                if last < id {
                    return Err(Reply::error("ERR The ID specified in XSETID is smaller than the provided max_deleted_entry_id"));
                }
                max_deleted = Some(id);
            }
            _ => return Err(Reply::error(SYNTAX)),
        }
        i += 2;
    }
    Ok(Box::new(XSetId {
        key: a[1].clone(),
        last,
        added,
        max_deleted,
    }))
}

impl WriteOp for XSetId {
    fn execute(&self, c: &mut WriteCtx<'_>) -> Result<Reply> {
        let Some(mut s) = tri!(Stream::load_mut(c, &self.key)?) else {
            return Ok(Reply::error("ERR no such key"));
        };
        if !s.is_empty() {
            if s.last_entry_id(c)?.is_some_and(|top| self.last < top) {
                return Ok(Reply::error(
                    "ERR The ID specified in XSETID is smaller than the target stream top item",
                ));
            }
            if self.added.is_some_and(|n| n < s.len()) {
                return Ok(Reply::error("ERR The entries_added specified in XSETID is smaller than the target stream length"));
            }
        }
        s.head.last = self.last;
        // An empty stream's last ID may go back below what trims took:
        // the entries added next must not fall below `gone_below`.
        let next = super::stream::next_id(self.last).unwrap_or(super::stream::MAX);
        s.head.gone_below = s.head.gone_below.min(next);
        if let Some(n) = self.added {
            s.head.added = n;
        }
        if let Some(id) = self.max_deleted.filter(|&id| id != (0, 0)) {
            s.head.max_deleted = id;
        }
        s.save(c)?;
        Ok(Reply::ok())
    }
}

pub(crate) fn xlen(c: &ReadCtx<'_>, a: &[Bytes]) -> Result<Reply> {
    let s = tri!(Stream::load(c, &a[1])?);
    Ok(Reply::Integer(s.map_or(0, |s| s.len() as i64)))
}

fn range(c: &ReadCtx<'_>, a: &[Bytes], rev: bool) -> Result<Reply> {
    let (lo, hi) = if rev { (&a[3], &a[2]) } else { (&a[2], &a[3]) };
    let from = tri!(bound(lo, true));
    let to = tri!(bound(hi, false));
    let mut count = None;
    let mut i = 4;
    while i < a.len() {
        if lower(&a[i]) == b"count" && i + 1 < a.len() {
            count = Some(tri!(int_arg(&a[i + 1])).max(0) as usize);
            i += 2;
        } else {
            return Ok(Reply::error(SYNTAX));
        }
    }
    let Some(s) = tri!(Stream::load(c, &a[1])?) else {
        return Ok(Reply::Array(Vec::new()));
    };
    if count == Some(0) {
        return Ok(Reply::NilArray);
    }
    let entries = s.range(c, from, to, count.unwrap_or(0), rev)?;
    Ok(Reply::Array(
        entries.iter().map(|(id, f)| entry_reply(*id, f)).collect(),
    ))
}

pub(crate) fn xrange(c: &ReadCtx<'_>, a: &[Bytes]) -> Result<Reply> {
    range(c, a, false)
}

pub(crate) fn xrevrange(c: &ReadCtx<'_>, a: &[Bytes]) -> Result<Reply> {
    range(c, a, true)
}

/// XREAD's and XREADGROUP's arguments.
pub(crate) struct ReadArgs {
    /// COUNT (0: all).
    pub count: Option<u64>,
    /// GROUP group consumer.
    pub group: Option<(Bytes, Bytes)>,
    /// NOACK.
    pub noack: bool,
    /// The keys after STREAMS.
    pub keys: Vec<Bytes>,
    /// Their IDs.
    pub ids: Vec<Bytes>,
}

/// Where XREAD's or XREADGROUP's keys are (after STREAMS), and BLOCK's
/// milliseconds (`None` without BLOCK): what blocking needs of them,
/// read without errors (parsing reports those).
pub fn stream_keys(a: &[Bytes]) -> (&[Bytes], Option<u64>) {
    let (at, block) = streams_at(a);
    let rest = at.map_or(&[][..], |i| &a[i + 1..]);
    (&rest[..rest.len() / 2], block)
}

/// XREAD or XREADGROUP narrowed to one of its keys: its options, then
/// `STREAMS key id` (the first ID given for that key).
pub fn narrow(a: &[Bytes], key: &Bytes) -> Vec<Bytes> {
    let (Some(at), _) = streams_at(a) else {
        return a.to_vec();
    };
    let rest = &a[at + 1..];
    let (keys, ids) = rest.split_at(rest.len() / 2);
    let mut v = a[..=at].to_vec();
    if let Some(i) = keys.iter().position(|k| k == key) {
        v.push(keys[i].clone());
        v.push(ids[i].clone());
    }
    v
}

/// Where STREAMS is, and BLOCK's milliseconds.
fn streams_at(a: &[Bytes]) -> (Option<usize>, Option<u64>) {
    let mut block = None;
    let mut i = 1;
    while i < a.len() {
        let o = lower(&a[i]);
        match &o[..] {
            b"streams" => return (Some(i), block),
            b"block" if i + 1 < a.len() => {
                // (a BLOCK that does not parse still says "block": the
                // command answers its error)
                block =
                    Some(rocksync_protocol::parse_i64(&a[i + 1]).map_or(0, |n| n.max(0) as u64));
                i += 1;
            }
            b"count" => i += 1,
            b"group" => i += 2,
            _ => {}
        }
        i += 1;
    }
    (None, block)
}

/// Parse XREAD's (`group` false) or XREADGROUP's arguments.
pub(crate) fn read_args(a: &[Bytes], group: bool) -> std::result::Result<ReadArgs, Reply> {
    let mut r = ReadArgs {
        count: None,
        group: None,
        noack: false,
        keys: Vec::new(),
        ids: Vec::new(),
    };
    let mut streams = false;
    let mut i = 1;
    while i < a.len() {
        let more = a.len() - 1 - i;
        match &lower(&a[i])[..] {
            b"block" if more >= 1 => {
                i += 1;
                let n = rocksync_protocol::parse_i64(&a[i])
                    .ok_or_else(|| Reply::error("ERR timeout is not an integer or out of range"))?;
                if n < 0 {
                    return Err(Reply::error("ERR timeout is negative"));
                }
            }
            b"count" if more >= 1 => {
                i += 1;
                r.count = Some(int_arg(&a[i])?.max(0) as u64);
            }
            b"streams" if more >= 1 => {
                let rest = &a[i + 1..];
                if rest.len() % 2 != 0 {
                    return Err(Reply::error("ERR Unbalanced XREAD list of streams: for each stream key an ID or '$' must be specified."));
                }
                r.keys = rest[..rest.len() / 2].to_vec();
                r.ids = rest[rest.len() / 2..].to_vec();
                streams = true;
                break;
            }
            b"group" if more >= 2 => {
                if !group {
                    return Err(Reply::error("ERR The GROUP option is only supported by XREADGROUP. You called XREAD instead."));
                }
                r.group = Some((a[i + 1].clone(), a[i + 2].clone()));
                i += 2;
            }
            b"noack" => {
                if !group {
                    return Err(Reply::error("ERR The NOACK option is only supported by XREADGROUP. You called XREAD instead."));
                }
                r.noack = true;
            }
            _ => return Err(Reply::error(SYNTAX)),
        }
        i += 1;
    }
    if !streams {
        return Err(Reply::error(SYNTAX));
    }
    if group && r.group.is_none() {
        return Err(Reply::error("ERR Missing GROUP option for XREADGROUP"));
    }
    Ok(r)
}

/// The entries a served read gets when it gave no COUNT (or 0), as Redis.
pub const SERVED_COUNT: u64 = 1000;

/// XREAD [COUNT n] [BLOCK ms] STREAMS key ... id ...: runs on the write
/// path, where a client that found nothing waits.
struct XRead {
    args: ReadArgs,
    /// Set once the client waits: `$` as it stood then, per key.
    pinned: OnceLock<Vec<Option<Id>>>,
}

pub(crate) fn xread(a: &[Bytes]) -> Parsed {
    Ok(Box::new(XRead {
        args: read_args(a, false)?,
        pinned: OnceLock::new(),
    }))
}

impl XRead {
    /// The ID after which stream `i` is read, or Redis's error.
    fn after(&self, i: usize, s: Option<&Stream>) -> std::result::Result<Id, Reply> {
        let arg = &self.args.ids[i];
        match &arg[..] {
            b"$" => Ok(self
                .pinned
                .get()
                .and_then(|p| p.get(i).copied().flatten())
                .unwrap_or_else(|| s.map_or((0, 0), |s| s.head.last))),
            b">" => Err(Reply::error("ERR The > ID can be specified only when calling XREADGROUP using the GROUP <group> <consumer> option.")),
            _ => strict_id(arg),
        }
    }
}

impl WriteOp for XRead {
    fn execute(&self, c: &mut WriteCtx<'_>) -> Result<Reply> {
        let serving = self.pinned.get().is_some();
        let count = match self.args.count {
            Some(0) | None if serving => SERVED_COUNT,
            n => n.unwrap_or(0),
        };
        let mut out = Vec::new();
        for (i, key) in self.args.keys.iter().enumerate() {
            let s = match Stream::load(c, key)? {
                Ok(s) => s,
                // (a waiting client stays until a stream is there)
                Err(_) if serving => continue,
                Err(r) => return Ok(r),
            };
            let after = tri!(self.after(i, s.as_ref()));
            let Some(s) = s else { continue };
            // A waiting client is served once the stream's last ID has
            // passed its own, even if that entry is gone again (Redis).
            let fed = if serving {
                s.head.last > after
            } else {
                s.last_entry_id(c)?.is_some_and(|top| top > after)
            };
            if !fed {
                continue;
            }
            let entries = match next_id(after) {
                Some(from) => s.range(c, from, MAX, count as usize, false)?,
                None => Vec::new(),
            };
            out.push((
                Reply::Bulk(key.clone()),
                Reply::Array(entries.iter().map(|(id, f)| entry_reply(*id, f)).collect()),
            ));
        }
        Ok(if out.is_empty() {
            Reply::NilArray
        } else {
            Reply::Keyed(out)
        })
    }

    fn pin(&self, c: &WriteCtx<'_>) -> Result<()> {
        let mut ids = Vec::with_capacity(self.args.keys.len());
        for (key, arg) in self.args.keys.iter().zip(&self.args.ids) {
            ids.push(if &arg[..] == b"$" {
                Some(last_id(c, key)?.unwrap_or((0, 0)))
            } else {
                None
            });
        }
        let _ = self.pinned.set(ids);
        Ok(())
    }
}

/// A stream's last ID through any view (what `$` stands for).
///
/// # Errors
/// RocksDB errors.
pub fn last_id(v: &impl View, key: &[u8]) -> Result<Option<Id>> {
    Ok(match Stream::load(v, key)? {
        Ok(Some(s)) => Some(s.head.last),
        _ => None,
    })
}
