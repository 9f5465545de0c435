//! Sorted-set commands.

use bytes::Bytes;
use rocksync_protocol::{fmt_double, Command, Prior, Reply};

use super::{
    fmt_float, int_arg, lower, parse_float, tri, typed, ReadCtx, View, WriteCtx, WriteOp, SYNTAX,
};
use crate::error::Result;
use crate::store::keys::{self, Kind, Meta};
use crate::store::{Cf, ZBound};

pub(crate) fn score_of(v: &impl View, key: &[u8], m: &Meta, member: &[u8]) -> Result<Option<f64>> {
    Ok(
        v.get(Cf::Sub, &keys::sub_key(m.owner(key), m.version, member))?
            .and_then(|b| keys::be_u64(&b))
            .map(f64::from_bits),
    )
}

/// A score in a reply: a double (RESP3), a bulk string of `%.17g` (RESP2).
fn score_bulk(s: f64) -> Reply {
    Reply::Double(s)
}

#[derive(Clone, Copy, Default)]
struct ZaddOpts {
    nx: bool,
    xx: bool,
    gt: bool,
    lt: bool,
    ch: bool,
    incr: bool,
}

/// ZADD key [NX|XX] [GT|LT] [CH] [INCR] score member [score member ...],
/// and ZINCRBY key increment member (ZADD INCR, as in Redis).
struct ZAdd {
    key: Bytes,
    opts: ZaddOpts,
    pairs: Vec<(f64, Bytes)>,
}

pub(crate) fn zadd(a: &[Bytes]) -> Result<Box<dyn WriteOp>, Reply> {
    let mut o = ZaddOpts::default();
    let mut i = 2;
    while i < a.len() {
        match lower(&a[i]).as_slice() {
            b"nx" => o.nx = true,
            b"xx" => o.xx = true,
            b"gt" => o.gt = true,
            b"lt" => o.lt = true,
            b"ch" => o.ch = true,
            b"incr" => o.incr = true,
            _ => break,
        }
        i += 1;
    }
    let pairs = &a[i..];
    if pairs.is_empty() || pairs.len() % 2 != 0 {
        return Err(Reply::error(SYNTAX));
    }
    if o.nx && o.xx {
        return Err(Reply::error(
            "ERR XX and NX options at the same time are not compatible",
        ));
    }
    if (o.nx && (o.gt || o.lt)) || (o.gt && o.lt) {
        return Err(Reply::error(
            "ERR GT, LT, and/or NX options at the same time are not compatible",
        ));
    }
    if o.incr && pairs.len() > 2 {
        return Err(Reply::error(
            "ERR INCR option supports a single increment-element pair",
        ));
    }
    let pairs = pairs
        .chunks(2)
        .map(|p| Ok((super::float_arg(&p[0])?, p[1].clone())))
        .collect::<Result<_, Reply>>()?;
    Ok(Box::new(ZAdd {
        key: a[1].clone(),
        opts: o,
        pairs,
    }))
}

pub(crate) fn zincrby(a: &[Bytes]) -> Result<Box<dyn WriteOp>, Reply> {
    Ok(Box::new(ZAdd {
        key: a[1].clone(),
        opts: ZaddOpts {
            incr: true,
            ..ZaddOpts::default()
        },
        pairs: vec![(super::float_arg(&a[2])?, a[3].clone())],
    }))
}

impl WriteOp for ZAdd {
    fn execute(&self, c: &mut WriteCtx<'_>) -> Result<Reply> {
        let (key, o) = (&self.key, self.opts);
        tri!(c.typed_mut(key, Kind::ZSet)?);
        let (mut added, mut changed) = (0, 0);
        let mut incr_result = None;
        for (score, member) in &self.pairs {
            let old = match c.raw_meta(key)? {
                Some(m) => score_of(c, key, &m, member)?,
                None => None,
            };
            if (o.nx && old.is_some()) || (o.xx && old.is_none()) {
                continue;
            }
            let new = match (o.incr, old) {
                (true, Some(prev)) => prev + score,
                _ => *score,
            };
            if new.is_nan() {
                return Ok(Reply::error("ERR resulting score is not a number (NaN)"));
            }
            if let Some(prev) = old {
                if (o.gt && new <= prev) || (o.lt && new >= prev) {
                    continue;
                }
            }
            incr_result = Some(new);
            if old == Some(new) {
                continue;
            }
            let cmd = if o.incr {
                Command::ZIncr
            } else {
                Command::ZSet
            };
            c.emit(cmd, key, keys::pack(member, fmt_float(new).as_bytes()), 0)?;
            if old.is_none() {
                added += 1;
            } else {
                changed += 1;
            }
        }
        if o.incr {
            return Ok(incr_result.map_or(Reply::Nil, score_bulk));
        }
        Ok(Reply::Integer(if o.ch { added + changed } else { added }))
    }
}

/// ZREM key member [member ...].
struct ZRem {
    key: Bytes,
    members: Vec<Bytes>,
}

pub(crate) fn zrem(a: &[Bytes]) -> Result<Box<dyn WriteOp>, Reply> {
    Ok(Box::new(ZRem {
        key: a[1].clone(),
        members: a[2..].to_vec(),
    }))
}

impl WriteOp for ZRem {
    fn execute(&self, c: &mut WriteCtx<'_>) -> Result<Reply> {
        let key = &self.key;
        tri!(c.typed_mut(key, Kind::ZSet)?);
        let mut n = 0;
        for member in &self.members {
            let Some(m) = c.raw_meta(key)? else { break };
            if score_of(c, key, &m, member)?.is_some() {
                c.emit(Command::ZDel, key, member.clone(), 0)?;
                n += 1;
            }
        }
        Ok(Reply::Integer(n))
    }
}

pub(crate) fn zscore(c: &ReadCtx<'_>, a: &[Bytes]) -> Result<Reply> {
    let Some(m) = tri!(typed(c, &a[1], Kind::ZSet)?) else {
        return Ok(Reply::Nil);
    };
    Ok(score_of(c, &a[1], &m, &a[2])?.map_or(Reply::Nil, score_bulk))
}

pub(crate) fn zmscore(c: &ReadCtx<'_>, a: &[Bytes]) -> Result<Reply> {
    let m = tri!(typed(c, &a[1], Kind::ZSet)?);
    let mut out = Vec::with_capacity(a.len() - 2);
    for member in &a[2..] {
        out.push(match &m {
            Some(m) => score_of(c, &a[1], m, member)?.map_or(Reply::Nil, score_bulk),
            None => Reply::Nil,
        });
    }
    Ok(Reply::Array(out))
}

pub(crate) fn zcard(c: &ReadCtx<'_>, a: &[Bytes]) -> Result<Reply> {
    Ok(Reply::Integer(
        tri!(typed(c, &a[1], Kind::ZSet)?).map_or(0, |m| m.size as i64),
    ))
}

/// A score bound: value and whether it is exclusive.
#[derive(Clone, Copy)]
pub(crate) struct Bound(f64, bool);

pub(crate) fn bound(b: &[u8]) -> Result<Bound, Reply> {
    let err = || Reply::error("ERR min or max is not a float");
    match b.strip_prefix(b"(") {
        Some(rest) => parse_float(rest).map(|v| Bound(v, true)).ok_or_else(err),
        None => parse_float(b).map(|v| Bound(v, false)).ok_or_else(err),
    }
}

impl Bound {
    pub(super) fn above_min(self, s: f64) -> bool {
        if self.1 {
            s > self.0
        } else {
            s >= self.0
        }
    }
    pub(super) fn below_max(self, s: f64) -> bool {
        if self.1 {
            s < self.0
        } else {
            s <= self.0
        }
    }
}

/// Members in score order (ascending, or descending with `rev`), visited
/// while `f` returns true.
pub(crate) fn walk(
    c: &impl View,
    key: &[u8],
    m: &Meta,
    rev: bool,
    f: impl FnMut(Bytes, f64) -> bool,
) -> Result<()> {
    walk_from(c, key, m, (rev, None), f)
}

/// As [`walk`], a forward walk from `from` when given (a score-index key
/// no live entry lies below).
pub(crate) fn walk_from(
    c: &impl View,
    key: &[u8],
    m: &Meta,
    (rev, from): (bool, Option<&[u8]>),
    mut f: impl FnMut(Bytes, f64) -> bool,
) -> Result<()> {
    let prefix = keys::sub_prefix(m.owner(key), m.version);
    let mut visit = |k: &[u8], _: &[u8]| {
        let rest = &k[prefix.len()..];
        match keys::score_from_sortable(&rest[..8.min(rest.len())]) {
            Some(score) => f(Bytes::copy_from_slice(&rest[8..]), score),
            None => false,
        }
    };
    if rev {
        c.scan_rev(Cf::ZScore, &prefix, &mut visit)
    } else {
        let start = from.filter(|f| f.starts_with(&prefix)).unwrap_or(&prefix);
        c.scan(Cf::ZScore, &prefix, start, &mut visit)
    }
}

/// Members, or (WITHSCORES) member and score pairs: nested in RESP3,
/// flat in RESP2.
pub(crate) fn render(items: Vec<(Bytes, f64)>, withscores: bool) -> Reply {
    if withscores {
        Reply::Pairs(
            items
                .into_iter()
                .map(|(m, s)| (Reply::Bulk(m), score_bulk(s)))
                .collect(),
        )
    } else {
        Reply::Array(items.into_iter().map(|(m, _)| Reply::Bulk(m)).collect())
    }
}

pub(crate) fn zcount(c: &ReadCtx<'_>, a: &[Bytes]) -> Result<Reply> {
    let (min, max) = (tri!(bound(&a[2])), tri!(bound(&a[3])));
    let Some(m) = tri!(typed(c, &a[1], Kind::ZSet)?) else {
        return Ok(Reply::Integer(0));
    };
    let mut n = 0;
    walk(c, &a[1], &m, false, |_, s| {
        if !max.below_max(s) {
            return false;
        }
        n += i64::from(min.above_min(s));
        true
    })?;
    Ok(Reply::Integer(n))
}

fn rank(c: &ReadCtx<'_>, a: &[Bytes], rev: bool) -> Result<Reply> {
    let Some(m) = tri!(typed(c, &a[1], Kind::ZSet)?) else {
        return Ok(Reply::Nil);
    };
    if score_of(c, &a[1], &m, &a[2])?.is_none() {
        return Ok(Reply::Nil);
    }
    let mut n = 0;
    let mut found = false;
    walk(c, &a[1], &m, rev, |member, _| {
        if member == a[2] {
            found = true;
            return false;
        }
        n += 1;
        true
    })?;
    Ok(if found { Reply::Integer(n) } else { Reply::Nil })
}

pub(crate) fn zrank(c: &ReadCtx<'_>, a: &[Bytes]) -> Result<Reply> {
    rank(c, a, false)
}

pub(crate) fn zrevrank(c: &ReadCtx<'_>, a: &[Bytes]) -> Result<Reply> {
    rank(c, a, true)
}

/// Remove and return up to `count` members from the low (or high, `rev`)
/// end of the sorted set at `key`.
fn pop_items(
    c: &mut WriteCtx<'_>,
    key: &Bytes,
    count: usize,
    rev: bool,
) -> Result<Result<Vec<(Bytes, f64)>, Reply>> {
    let m = match c.typed_mut(key, Kind::ZSet)? {
        Ok(Some(m)) => m,
        Ok(None) => return Ok(Ok(Vec::new())),
        Err(r) => return Ok(Err(r)),
    };
    let mut items = Vec::with_capacity(count.min(m.size as usize));
    if count == 0 {
        return Ok(Ok(items));
    }
    // From where earlier pops are known to have left the set's end, not
    // over every entry they deleted there (see ZBound).
    let prefix = keys::sub_prefix(m.owner(key), m.version);
    let bound = c.batch.zbound(c.store, &prefix);
    let mut last = Vec::new();
    let mut visit = |k: &[u8], _: &[u8]| {
        let rest = &k[prefix.len()..];
        let Some(score) = keys::score_from_sortable(&rest[..8.min(rest.len())]) else {
            return false;
        };
        items.push((Bytes::copy_from_slice(&rest[8..]), score));
        if items.len() == count {
            last = k.to_vec();
            return false;
        }
        true
    };
    let start = if rev {
        bound.high.as_deref()
    } else {
        Some(bound.low.as_deref().unwrap_or(&prefix))
    };
    crate::store::merged::scan_end_through(
        c.store,
        c.batch,
        (Cf::ZScore, &prefix, rev),
        start,
        &mut visit,
    )?;
    for (member, score) in &items {
        let prior = Prior::Scored {
            score_bits: score.to_bits(),
        };
        c.emit_member_delete(Command::ZDel, key, member.clone(), prior)?;
    }
    if !last.is_empty() {
        // Every entry from the end up to `last` is popped now.
        let learned = if rev {
            ZBound::popped_high(&last)
        } else {
            ZBound::popped_low(&last)
        };
        c.batch.learn_zbound(&prefix, &learned);
    }
    Ok(Ok(items))
}

/// `MIN` or `MAX`: true for max.
fn min_max(arg: &[u8]) -> Option<bool> {
    match lower(arg).as_slice() {
        b"min" => Some(false),
        b"max" => Some(true),
        _ => None,
    }
}

/// What a [`ZPop`] answers.
#[derive(Clone, Copy)]
enum PopReply {
    /// ZPOPMIN / ZPOPMAX without a count: member, score.
    One,
    /// ZPOPMIN / ZPOPMAX with a count: member and score pairs.
    Flat,
    /// BZPOPMIN / BZPOPMAX: key, member, score.
    Keyed,
    /// ZMPOP / BZMPOP: key, [[member, score] ...].
    Nested,
}

/// ZPOPMIN / ZPOPMAX key [count], BZPOPMIN / BZPOPMAX key [key ...]
/// timeout, [B]ZMPOP [timeout] numkeys key [key ...] MIN|MAX [COUNT n]:
/// pop from the first non-empty set of `keys` (the timeout is the
/// server's: this is the attempt, and the form inside MULTI).
struct ZPop {
    keys: Vec<Bytes>,
    /// From the high end.
    rev: bool,
    count: usize,
    reply: PopReply,
}

fn pop(a: &[Bytes], rev: bool) -> Result<Box<dyn WriteOp>, Reply> {
    let (count, reply) = match a.len() {
        2 => (1, PopReply::One),
        3 => match int_arg(&a[2]) {
            Ok(n) if n >= 0 => (n as usize, PopReply::Flat),
            _ => return Err(Reply::error("ERR value is out of range, must be positive")),
        },
        _ => return Err(Reply::error(SYNTAX)),
    };
    Ok(Box::new(ZPop {
        keys: vec![a[1].clone()],
        rev,
        count,
        reply,
    }))
}

pub(crate) fn zpopmin(a: &[Bytes]) -> Result<Box<dyn WriteOp>, Reply> {
    pop(a, false)
}

pub(crate) fn zpopmax(a: &[Bytes]) -> Result<Box<dyn WriteOp>, Reply> {
    pop(a, true)
}

fn bpop(a: &[Bytes], rev: bool) -> Result<Box<dyn WriteOp>, Reply> {
    super::timeout_arg(&a[a.len() - 1])?;
    Ok(Box::new(ZPop {
        keys: a[1..a.len() - 1].to_vec(),
        rev,
        count: 1,
        reply: PopReply::Keyed,
    }))
}

pub(crate) fn bzpopmin(a: &[Bytes]) -> Result<Box<dyn WriteOp>, Reply> {
    bpop(a, false)
}

pub(crate) fn bzpopmax(a: &[Bytes]) -> Result<Box<dyn WriteOp>, Reply> {
    bpop(a, true)
}

/// ZMPOP's `numkeys key [key ...] MIN|MAX [COUNT n]` (`a` from numkeys).
/// Redis reads MIN|MAX before the options after it.
fn mpop(a: &[Bytes]) -> Result<ZPop, Reply> {
    let place = int_arg(&a[0])
        .ok()
        .filter(|&n| n > 0)
        .and_then(|n| a.get(usize::try_from(n).ok()?.checked_add(1)?));
    if place.is_some_and(|p| min_max(p).is_none()) {
        return Err(Reply::error(SYNTAX));
    }
    let (keys, place, count) = super::list::mpop_args(a)?;
    Ok(ZPop {
        keys: keys.to_vec(),
        rev: min_max(place).ok_or_else(|| Reply::error(SYNTAX))?,
        count: usize::try_from(count.unwrap_or(1)).unwrap_or(usize::MAX),
        reply: PopReply::Nested,
    })
}

pub(crate) fn zmpop(a: &[Bytes]) -> Result<Box<dyn WriteOp>, Reply> {
    Ok(Box::new(mpop(&a[1..])?))
}

/// BZMPOP timeout numkeys ...: the timeout is read after the rest.
pub(crate) fn bzmpop(a: &[Bytes]) -> Result<Box<dyn WriteOp>, Reply> {
    let op = mpop(&a[2..])?;
    super::timeout_arg(&a[1])?;
    Ok(Box::new(op))
}

impl WriteOp for ZPop {
    fn execute(&self, c: &mut WriteCtx<'_>) -> Result<Reply> {
        for key in &self.keys {
            let items = tri!(pop_items(c, key, self.count, self.rev)?);
            match self.reply {
                PopReply::Flat => return Ok(render(items, true)),
                PopReply::One => {
                    return Ok(Reply::Array(
                        items
                            .into_iter()
                            .flat_map(|(m, s)| [Reply::Bulk(m), score_bulk(s)])
                            .collect(),
                    ))
                }
                _ if items.is_empty() => continue,
                PopReply::Keyed => {
                    let Some((member, score)) = items.into_iter().next() else {
                        continue;
                    };
                    return Ok(Reply::Array(vec![
                        Reply::Bulk(key.clone()),
                        Reply::Bulk(member),
                        score_bulk(score),
                    ]));
                }
                PopReply::Nested => {
                    let pairs = items
                        .into_iter()
                        .map(|(m, s)| Reply::Array(vec![Reply::Bulk(m), score_bulk(s)]))
                        .collect();
                    return Ok(Reply::Array(vec![
                        Reply::Bulk(key.clone()),
                        Reply::Array(pairs),
                    ]));
                }
            }
        }
        Ok(Reply::NilArray)
    }
}

pub(crate) fn zscan(c: &ReadCtx<'_>, a: &[Bytes]) -> Result<Reply> {
    super::generic::scan_collection(c, a, Kind::ZSet, |f, v, out| {
        out.push(Reply::Bulk(f.clone()));
        // ZSCAN's scores are strings in RESP3 too (Redis's d2string, %.17g).
        let score = keys::be_u64(v).map_or(0.0, f64::from_bits);
        out.push(Reply::Bulk(Bytes::from(fmt_double(score))));
    })
}
