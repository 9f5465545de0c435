//! Consumer group commands that write: XGROUP's subcommands, XREADGROUP
//! (which blocks), XACK, XCLAIM and XAUTOCLAIM, with Redis 7.0's
//! argument orders and error texts. What they change is logged as the
//! parts they write, so a slave's pending entries, delivery counts and
//! consumers are the master's.

use std::sync::OnceLock;

use bytes::Bytes;
use rocksync_protocol::Reply;

use super::stream::groups::{self, Counters, UNKNOWN};
use super::stream::{
    bound, entry_part, entry_reply, group_part, id_reply, next_id, parse_id, strict_id, Group, Id,
    Nack, Parts, Stream, INVALID_ID, MAX,
};
use super::xstream::{read_args, ReadArgs, SERVED_COUNT};
use super::{int_arg, lower, tri, WriteCtx, WriteOp, SYNTAX};
use crate::error::Result;

type Parsed = std::result::Result<Box<dyn WriteOp>, Reply>;

const NEEDS_KEY: &str = "ERR The XGROUP subcommand requires the key to exist. Note that for CREATE you may want to use the MKSTREAM option to create an empty stream automatically.";

fn nogroup_for(key: &[u8], group: &[u8]) -> Reply {
    Reply::error(format!(
        "NOGROUP No such consumer group '{}' for key name '{}'",
        String::from_utf8_lossy(group),
        String::from_utf8_lossy(key)
    ))
}

/// `NOGROUP No such key '<key>' or consumer group '<group>'` + `tail`.
pub fn nogroup(key: &[u8], group: &[u8], tail: &str) -> Reply {
    Reply::error(format!(
        "NOGROUP No such key '{}' or consumer group '{}'{tail}",
        String::from_utf8_lossy(key),
        String::from_utf8_lossy(group)
    ))
}

fn bad_subcommand(word: &[u8]) -> Reply {
    Reply::error(format!(
        "ERR unknown subcommand or wrong number of arguments for '{}'. Try XGROUP HELP.",
        String::from_utf8_lossy(word)
    ))
}

/// ENTRIESREAD's value.
fn entries_read(b: &[u8]) -> std::result::Result<i64, Reply> {
    let n = int_arg(b)?;
    if n < -1 {
        return Err(Reply::error(
            "ERR value for ENTRIESREAD must be positive or -1",
        ));
    }
    Ok(n)
}

/// XGROUP CREATE key group id|$ [MKSTREAM] [ENTRIESREAD n].
struct Create {
    a: Vec<Bytes>,
    mkstream: bool,
    read: i64,
}

pub(crate) fn create(a: &[Bytes]) -> Parsed {
    let (mut mkstream, mut read) = (false, UNKNOWN);
    let mut i = 5;
    while i < a.len() {
        match &lower(&a[i])[..] {
            b"mkstream" => mkstream = true,
            b"entriesread" if i + 1 < a.len() => {
                read = entries_read(&a[i + 1])?;
                i += 1;
            }
            _ => return Err(bad_subcommand(&a[1])),
        }
        i += 1;
    }
    Ok(Box::new(Create {
        a: a.to_vec(),
        mkstream,
        read,
    }))
}

impl WriteOp for Create {
    fn execute(&self, c: &mut WriteCtx<'_>) -> Result<Reply> {
        let (key, name) = (&self.a[2], &self.a[3]);
        let s = tri!(Stream::load_mut(c, key)?);
        if s.is_none() && !self.mkstream {
            return Ok(Reply::error(NEEDS_KEY));
        }
        if self.a.len() > 8 {
            return Ok(bad_subcommand(&self.a[1]));
        }
        let last = if &self.a[4][..] == b"$" {
            s.as_ref().map_or((0, 0), |s| s.head.last)
        } else {
            tri!(strict_id(&self.a[4]))
        };
        let s = match s {
            Some(s) => s,
            None => Stream::create(c, key)?,
        };
        if groups::group(c, &s, name)?.is_some() {
            return Ok(Reply::error("BUSYGROUP Consumer Group name already exists"));
        }
        groups::put_group(
            c,
            &s,
            name,
            &Group {
                last,
                read: self.read,
            },
        )?;
        Ok(Reply::ok())
    }
}

/// The stream and group of an XGROUP subcommand (`a[2]`, `a[3]`), or
/// Redis's error.
fn stream_and_group(
    c: &mut WriteCtx<'_>,
    a: &[Bytes],
) -> Result<std::result::Result<(Stream, Group), Reply>> {
    let s = match Stream::load_mut(c, &a[2])? {
        Ok(Some(s)) => s,
        Ok(None) => return Ok(Err(Reply::error(NEEDS_KEY))),
        Err(r) => return Ok(Err(r)),
    };
    Ok(match groups::group(c, &s, &a[3])? {
        Some(g) => Ok((s, g)),
        None => Err(nogroup_for(&a[2], &a[3])),
    })
}

/// XGROUP SETID key group id|$ [ENTRIESREAD n].
struct SetId {
    a: Vec<Bytes>,
    read: i64,
}

pub(crate) fn setid(a: &[Bytes]) -> Parsed {
    let read = match a.len() {
        5 => UNKNOWN,
        7 if lower(&a[5]) == b"entriesread" => entries_read(&a[6])?,
        _ => return Err(bad_subcommand(&a[1])),
    };
    Ok(Box::new(SetId {
        a: a.to_vec(),
        read,
    }))
}

impl WriteOp for SetId {
    fn execute(&self, c: &mut WriteCtx<'_>) -> Result<Reply> {
        let (s, mut g) = tri!(stream_and_group(c, &self.a)?);
        g.last = if &self.a[4][..] == b"$" {
            s.head.last
        } else {
            tri!(parse_id(&self.a[4], 0, false).ok_or_else(|| Reply::error(INVALID_ID)))
        };
        g.read = self.read;
        groups::put_group(c, &s, &self.a[3], &g)?;
        Ok(Reply::ok())
    }
}

/// XGROUP DESTROY / CREATECONSUMER / DELCONSUMER.
struct Member {
    a: Vec<Bytes>,
    what: MemberOp,
}

#[derive(Clone, Copy)]
enum MemberOp {
    Destroy,
    CreateConsumer,
    DelConsumer,
}

pub(crate) fn destroy(a: &[Bytes]) -> Parsed {
    Ok(Box::new(Member {
        a: a.to_vec(),
        what: MemberOp::Destroy,
    }))
}

pub(crate) fn createconsumer(a: &[Bytes]) -> Parsed {
    Ok(Box::new(Member {
        a: a.to_vec(),
        what: MemberOp::CreateConsumer,
    }))
}

pub(crate) fn delconsumer(a: &[Bytes]) -> Parsed {
    Ok(Box::new(Member {
        a: a.to_vec(),
        what: MemberOp::DelConsumer,
    }))
}

impl WriteOp for Member {
    fn execute(&self, c: &mut WriteCtx<'_>) -> Result<Reply> {
        let s = match tri!(Stream::load_mut(c, &self.a[2])?) {
            Some(s) => s,
            None => return Ok(Reply::error(NEEDS_KEY)),
        };
        let group = &self.a[3];
        let exists = groups::group(c, &s, group)?.is_some();
        if let MemberOp::Destroy = self.what {
            if exists {
                groups::destroy(c, &s, group)?;
            }
            return Ok(Reply::Integer(i64::from(exists)));
        }
        if !exists {
            return Ok(nogroup_for(&self.a[2], group));
        }
        let name = &self.a[4];
        let known = groups::consumer(c, &s, group, name)?.is_some();
        Ok(match self.what {
            MemberOp::CreateConsumer => {
                if !known {
                    groups::touch(c, &s, group, name)?;
                }
                Reply::Integer(i64::from(!known))
            }
            _ => {
                if !known {
                    return Ok(Reply::Integer(0));
                }
                let ids = groups::owned(c, &s, group, name, (0, 0), 0)?;
                for id in &ids {
                    if let Some(n) = groups::nack(c, &s, group, *id)? {
                        groups::del_nack(c, &s, group, *id, &n)?;
                    }
                }
                s.delete(c, &super::stream::consumer_part(group, name))?;
                Reply::Integer(ids.len() as i64)
            }
        })
    }
}

/// Deliver entry `id` (with `fields`) to `consumer` through group `g`
/// (after its last ID): the group moves on, and unless `noack` the entry
/// is pending for the consumer (its writes added to `w`).
#[allow(clippy::too_many_arguments)]
fn deliver(
    c: &mut WriteCtx<'_>,
    s: &Stream,
    counters: &Counters,
    w: &mut Parts,
    name: &[u8],
    g: &mut Group,
    consumer: &Bytes,
    id: Id,
    noack: bool,
) -> Result<()> {
    counters.delivered(g, id);
    if !noack {
        let old = groups::nack_of_new(c, s, name, id)?;
        let n = Nack {
            time: c.now_ms,
            count: 1,
            owner: consumer.clone(),
        };
        groups::nack_parts(w, name, id, &n, old.as_ref());
    }
    Ok(())
}

/// What one stream of an XREADGROUP reads.
enum From {
    /// `>`: new entries.
    New,
    /// The consumer's pending entries after this ID.
    History(Id),
}

/// XREADGROUP GROUP group consumer [COUNT n] [BLOCK ms] [NOACK] STREAMS key ... id ...
struct XReadGroup {
    args: ReadArgs,
    /// Set once the client waits.
    waiting: OnceLock<()>,
}

pub(crate) fn xreadgroup(a: &[Bytes]) -> Parsed {
    Ok(Box::new(XReadGroup {
        args: read_args(a, true)?,
        waiting: OnceLock::new(),
    }))
}

impl WriteOp for XReadGroup {
    fn execute(&self, c: &mut WriteCtx<'_>) -> Result<Reply> {
        let waiting = self.waiting.get().is_some();
        let (name, consumer) = self.args.group.clone().unwrap_or_default();
        let count = match self.args.count {
            Some(0) | None if waiting => SERVED_COUNT,
            n => n.unwrap_or(0),
        } as usize;
        let mut found = Vec::with_capacity(self.args.keys.len());
        for (key, arg) in self.args.keys.iter().zip(&self.args.ids) {
            let s = match Stream::load_mut(c, key)? {
                Ok(Some(s)) => s,
                _ if waiting => {
                    return Ok(Reply::error("UNBLOCKED the stream key no longer exists"))
                }
                Ok(None) => return Ok(nogroup(key, &name, " in XREADGROUP with GROUP option")),
                Err(r) => return Ok(r),
            };
            if groups::group(c, &s, &name)?.is_none() {
                return Ok(if waiting {
                    Reply::error(
                        "NOGROUP the consumer group this client was blocked on no longer exists",
                    )
                } else {
                    nogroup(key, &name, " in XREADGROUP with GROUP option")
                });
            }
            let from = match &arg[..] {
                b"$" => return Ok(Reply::error("ERR The $ ID is meaningless in the context of XREADGROUP: you want to read the history of this consumer by specifying a proper ID, or use the > ID to get new messages. The $ ID would just return an empty result set.")),
                b">" => From::New,
                _ => match tri!(strict_id(arg)) {
                    // (Redis's own encoding of `>`)
                    MAX => From::New,
                    id => From::History(id),
                },
            };
            found.push((key, s, from));
        }
        let mut out = Vec::new();
        for (key, s, from) in found {
            // (read again: an earlier stream of this call may be the same)
            let Some(mut g) = groups::group(c, &s, &name)? else {
                continue;
            };
            let entries = match from {
                From::New => {
                    let fed = if waiting {
                        s.head.last > g.last
                    } else {
                        s.last_entry_id(c)?.is_some_and(|top| top > g.last)
                    };
                    if !fed {
                        continue;
                    }
                    let entries = match next_id(g.last) {
                        Some(n) => s.range(c, n, MAX, count, false)?,
                        None => Vec::new(),
                    };
                    let counters = Counters::for_group(c, &s, Some(&g))?;
                    // (one event: the pending entries, the group, the
                    // consumer's seen time)
                    let mut w = Parts::default();
                    for (id, _) in &entries {
                        deliver(
                            c,
                            &s,
                            &counters,
                            &mut w,
                            &name,
                            &mut g,
                            &consumer,
                            *id,
                            self.args.noack,
                        )?;
                    }
                    w.put(group_part(&name), g.encode());
                    groups::touch_parts(&mut w, c.now_ms, &name, &consumer);
                    s.write_parts(c, w)?;
                    entries.iter().map(|(id, f)| entry_reply(*id, f)).collect()
                }
                From::History(after) => {
                    groups::touch(c, &s, &name, &consumer)?;
                    let Some(start) = next_id(after) else {
                        out.push((Reply::Bulk(key.clone()), Reply::Array(Vec::new())));
                        continue;
                    };
                    let mut items = Vec::new();
                    for id in groups::owned(c, &s, &name, &consumer, start, count)? {
                        match s.get(c, &entry_part(id))? {
                            Some(f) => {
                                if let Some(mut n) = groups::nack(c, &s, &name, id)? {
                                    n.count = n.count.saturating_add(1);
                                    n.time = c.now_ms;
                                    groups::put_nack(c, &s, &name, id, &n, Some(&n.clone()))?;
                                }
                                items.push(entry_reply(id, &Bytes::from(f)));
                            }
                            None => items.push(Reply::Array(vec![id_reply(id), Reply::NilArray])),
                        }
                    }
                    items
                }
            };
            out.push((Reply::Bulk(key.clone()), Reply::Array(entries)));
        }
        Ok(if out.is_empty() {
            Reply::NilArray
        } else {
            Reply::Keyed(out)
        })
    }

    fn pin(&self, _c: &WriteCtx<'_>) -> Result<()> {
        let _ = self.waiting.set(());
        Ok(())
    }
}

/// XACK key group id [id ...].
struct XAck {
    a: Vec<Bytes>,
}

pub(crate) fn xack(a: &[Bytes]) -> Parsed {
    Ok(Box::new(XAck { a: a.to_vec() }))
}

impl WriteOp for XAck {
    fn execute(&self, c: &mut WriteCtx<'_>) -> Result<Reply> {
        let Some(s) = tri!(Stream::load_mut(c, &self.a[1])?) else {
            return Ok(Reply::Integer(0));
        };
        let group = &self.a[2];
        if groups::group(c, &s, group)?.is_none() {
            return Ok(Reply::Integer(0));
        }
        let ids = tri!(self.a[3..]
            .iter()
            .map(|b| strict_id(b))
            .collect::<std::result::Result<Vec<Id>, Reply>>());
        let mut n = 0;
        for id in ids {
            if let Some(old) = groups::nack(c, &s, group, id)? {
                groups::del_nack(c, &s, group, id, &old)?;
                n += 1;
            }
        }
        Ok(Reply::Integer(n))
    }
}

/// XCLAIM key group consumer min-idle-time id ... [IDLE ms] [TIME ms]
/// [RETRYCOUNT n] [FORCE] [JUSTID] [LASTID id]: parsed where Redis
/// parses it, after the key and group are found.
struct XClaim {
    a: Vec<Bytes>,
}

pub(crate) fn xclaim(a: &[Bytes]) -> Parsed {
    Ok(Box::new(XClaim { a: a.to_vec() }))
}

/// XCLAIM's options.
struct ClaimArgs {
    min_idle: u64,
    ids: Vec<Id>,
    time: Option<i64>,
    retry: Option<u64>,
    force: bool,
    justid: bool,
    last: Option<Id>,
}

fn claim_args(a: &[Bytes], now: u64) -> std::result::Result<ClaimArgs, Reply> {
    let min_idle = rocksync_protocol::parse_i64(&a[4])
        .ok_or_else(|| Reply::error("ERR Invalid min-idle-time argument for XCLAIM"))?
        .max(0) as u64;
    let mut i = 5;
    let mut ids = Vec::new();
    while let Some(id) = a.get(i).and_then(|b| parse_id(b, 0, true)) {
        ids.push(id);
        i += 1;
    }
    let mut r = ClaimArgs {
        min_idle,
        ids,
        time: None,
        retry: None,
        force: false,
        justid: false,
        last: None,
    };
    let number = |b: &[u8], what: &str| {
        rocksync_protocol::parse_i64(b)
            .ok_or_else(|| Reply::error(format!("ERR Invalid {what} option argument for XCLAIM")))
    };
    while i < a.len() {
        let more = a.len() - 1 - i;
        match &lower(&a[i])[..] {
            b"force" => r.force = true,
            b"justid" => r.justid = true,
            b"idle" if more >= 1 => {
                i += 1;
                r.time = Some((now as i64).wrapping_sub(number(&a[i], "IDLE")?));
            }
            b"time" if more >= 1 => {
                i += 1;
                r.time = Some(number(&a[i], "TIME")?);
            }
            b"retrycount" if more >= 1 => {
                i += 1;
                r.retry = Some(number(&a[i], "RETRYCOUNT")?.max(0) as u64);
            }
            b"lastid" if more >= 1 => {
                i += 1;
                r.last = Some(strict_id(&a[i])?);
            }
            _ => {
                return Err(Reply::error(format!(
                    "ERR Unrecognized XCLAIM option '{}'",
                    String::from_utf8_lossy(&a[i])
                )))
            }
        }
        i += 1;
    }
    Ok(r)
}

/// Claim pending entry `id` for `consumer` (the consumer is seen now).
#[allow(clippy::too_many_arguments)]
fn claim(
    c: &mut WriteCtx<'_>,
    s: &Stream,
    group: &[u8],
    consumer: &Bytes,
    id: Id,
    old: Option<&Nack>,
    time: u64,
    count: u64,
) -> Result<()> {
    groups::touch(c, s, group, consumer)?;
    let n = Nack {
        time,
        count,
        owner: consumer.clone(),
    };
    groups::put_nack(c, s, group, id, &n, old)
}

impl WriteOp for XClaim {
    fn execute(&self, c: &mut WriteCtx<'_>) -> Result<Reply> {
        let a = &self.a;
        let (key, group, consumer) = (&a[1], &a[2], &a[3]);
        let s = match tri!(Stream::load_mut(c, key)?) {
            Some(s) => s,
            None => return Ok(nogroup(key, group, "")),
        };
        let Some(mut g) = groups::group(c, &s, group)? else {
            return Ok(nogroup(key, group, ""));
        };
        let now = c.now_ms;
        let r = tri!(claim_args(a, now));
        if let Some(last) = r.last.filter(|&l| l > g.last) {
            g.last = last;
            groups::put_group(c, &s, group, &g)?;
        }
        let time = match r.time {
            Some(t) if t >= 0 && (t as u64) <= now => t as u64,
            _ => now,
        };
        let mut out = Vec::new();
        for id in r.ids {
            let entry = s.get(c, &entry_part(id))?;
            let old = groups::nack(c, &s, group, id)?;
            let Some(fields) = entry else {
                if let Some(n) = old {
                    groups::del_nack(c, &s, group, id, &n)?;
                }
                continue;
            };
            let (prev_count, owned) = match &old {
                Some(n) => (n.count, true),
                None if r.force => (1, false),
                None => continue,
            };
            if let Some(n) = &old {
                if owned && r.min_idle > 0 && now.saturating_sub(n.time) < r.min_idle {
                    continue;
                }
            }
            let count = match r.retry {
                Some(n) => n,
                None if r.justid => prev_count,
                None => prev_count.saturating_add(1),
            };
            claim(c, &s, group, consumer, id, old.as_ref(), time, count)?;
            out.push(if r.justid {
                id_reply(id)
            } else {
                entry_reply(id, &Bytes::from(fields))
            });
        }
        Ok(Reply::Array(out))
    }
}

/// XAUTOCLAIM key group consumer min-idle-time start [COUNT n] [JUSTID].
struct XAutoClaim {
    a: Vec<Bytes>,
    min_idle: u64,
    start: Id,
    count: u64,
    justid: bool,
}

pub(crate) fn xautoclaim(a: &[Bytes]) -> Parsed {
    let min_idle = rocksync_protocol::parse_i64(&a[4])
        .ok_or_else(|| Reply::error("ERR Invalid min-idle-time argument for XAUTOCLAIM"))?
        .max(0) as u64;
    let start = bound(&a[5], true)?;
    let (mut count, mut justid) = (100, false);
    let mut i = 6;
    while i < a.len() {
        match &lower(&a[i])[..] {
            b"count" if i + 1 < a.len() => {
                count = rocksync_protocol::parse_i64(&a[i + 1])
                    .filter(|n| (1..=i64::MAX / 16).contains(n))
                    .ok_or_else(|| Reply::error("ERR COUNT must be > 0"))?
                    as u64;
                i += 1;
            }
            b"justid" => justid = true,
            _ => return Err(Reply::error(SYNTAX)),
        }
        i += 1;
    }
    Ok(Box::new(XAutoClaim {
        a: a.to_vec(),
        min_idle,
        start,
        count,
        justid,
    }))
}

impl WriteOp for XAutoClaim {
    fn execute(&self, c: &mut WriteCtx<'_>) -> Result<Reply> {
        let (key, group, consumer) = (&self.a[1], &self.a[2], &self.a[3]);
        let s = match tri!(Stream::load_mut(c, key)?) {
            Some(s) => s,
            None => return Ok(nogroup(key, group, "")),
        };
        if groups::group(c, &s, group)?.is_none() {
            return Ok(nogroup(key, group, ""));
        }
        let now = c.now_ms;
        let attempts = self.count.saturating_mul(10).min(1 << 20) as usize;
        let pel = groups::pending(c, &s, group, self.start, attempts + 1)?;
        let (mut left, mut examined) = (self.count, 0);
        let (mut claimed, mut deleted) = (Vec::new(), Vec::new());
        for (id, n) in &pel {
            if examined == attempts || left == 0 {
                break;
            }
            examined += 1;
            let Some(fields) = s.get(c, &entry_part(*id))? else {
                groups::del_nack(c, &s, group, *id, n)?;
                deleted.push(id_reply(*id));
                left -= 1;
                continue;
            };
            if self.min_idle > 0 && now.saturating_sub(n.time) < self.min_idle {
                continue;
            }
            let count = if self.justid {
                n.count
            } else {
                n.count.saturating_add(1)
            };
            claim(c, &s, group, consumer, *id, Some(n), now, count)?;
            claimed.push(if self.justid {
                id_reply(*id)
            } else {
                entry_reply(*id, &Bytes::from(fields))
            });
            left -= 1;
        }
        let cursor = pel.get(examined).map_or((0, 0), |(id, _)| *id);
        Ok(Reply::Array(vec![
            id_reply(cursor),
            Reply::Array(claimed),
            Reply::Array(deleted),
        ]))
    }
}
