//! Set commands.

use std::collections::BTreeSet;

use bytes::Bytes;
use rocksync_protocol::{Command, Prior, Reply};

use super::{
    int_arg, positive_arg, sub_items, tri, typed, ReadCtx, Rng, View, WriteCtx, WriteOp, SYNTAX,
};
use crate::error::Result;
use crate::store::keys::{self, Kind};
use crate::store::Cf;

fn is_member(v: &impl View, key: &[u8], member: &[u8]) -> Result<bool> {
    match v.raw_meta(key)? {
        Some(m) if m.kind == Kind::Set => Ok(v
            .get(Cf::Sub, &keys::sub_key(m.owner(key), m.version, member))?
            .is_some()),
        _ => Ok(false),
    }
}

/// SADD / SREM key member [member ...].
struct Members {
    key: Bytes,
    members: Vec<Bytes>,
    /// SADD; SREM otherwise.
    add: bool,
}

fn members_op(a: &[Bytes], add: bool) -> Result<Box<dyn WriteOp>, Reply> {
    Ok(Box::new(Members {
        key: a[1].clone(),
        members: a[2..].to_vec(),
        add,
    }))
}

pub(crate) fn sadd(a: &[Bytes]) -> Result<Box<dyn WriteOp>, Reply> {
    members_op(a, true)
}

pub(crate) fn srem(a: &[Bytes]) -> Result<Box<dyn WriteOp>, Reply> {
    members_op(a, false)
}

impl WriteOp for Members {
    fn execute(&self, c: &mut WriteCtx<'_>) -> Result<Reply> {
        let key = &self.key;
        tri!(c.typed_mut(key, Kind::Set)?);
        let cmd = if self.add {
            Command::SSet
        } else {
            Command::SDel
        };
        let mut n = 0;
        for m in &self.members {
            // A member changes when SADD does not have it, or SREM does.
            if is_member(c, key, m)? != self.add {
                c.emit(cmd, key, m.clone(), 0)?;
                n += 1;
            }
        }
        Ok(Reply::Integer(n))
    }
}

/// SMOVE source destination member.
struct SMove {
    src: Bytes,
    dst: Bytes,
    member: Bytes,
}

pub(crate) fn smove(a: &[Bytes]) -> Result<Box<dyn WriteOp>, Reply> {
    Ok(Box::new(SMove {
        src: a[1].clone(),
        dst: a[2].clone(),
        member: a[3].clone(),
    }))
}

impl WriteOp for SMove {
    fn execute(&self, c: &mut WriteCtx<'_>) -> Result<Reply> {
        let (src, dst, member) = (&self.src, &self.dst, &self.member);
        // Both types are checked before anything changes, as Redis does.
        let Some(_) = tri!(c.typed_mut(src, Kind::Set)?) else {
            tri!(c.typed_mut(dst, Kind::Set)?);
            return Ok(Reply::Integer(0));
        };
        tri!(c.typed_mut(dst, Kind::Set)?);
        if !is_member(c, src, member)? {
            return Ok(Reply::Integer(0));
        }
        if src == dst {
            return Ok(Reply::Integer(1));
        }
        c.emit(Command::SDel, src, member.clone(), 0)?;
        if !is_member(c, dst, member)? {
            c.emit(Command::SSet, dst, member.clone(), 0)?;
        }
        Ok(Reply::Integer(1))
    }
}

fn members(c: &impl View, key: &[u8]) -> Result<Result<Vec<Bytes>, Reply>> {
    Ok(match typed(c, key, Kind::Set)? {
        Err(r) => Err(r),
        Ok(None) => Ok(Vec::new()),
        Ok(Some(m)) => Ok(sub_items(c, key, &m)?.into_iter().map(|(f, _)| f).collect()),
    })
}

/// `want` distinct members at random positions of the set, read in one
/// walk that stops at the last position drawn (no copy of the whole set);
/// `None` when `want` is most of the set (or the walk finds fewer members
/// than the metadata counts), for the caller to draw from all of them.
fn members_at(
    c: &impl View,
    key: &[u8],
    m: &keys::Meta,
    want: usize,
    rng: &mut Rng,
) -> Result<Option<Vec<Bytes>>> {
    let size = m.size as usize;
    if want == 0 {
        return Ok(Some(Vec::new()));
    }
    if want.saturating_mul(2) > size {
        return Ok(None);
    }
    if m.head == keys::SET_INDEXED {
        if let Some(got) = picked(c, key, m, want, rng, true)? {
            return Ok(Some(got));
        }
    }
    // Distinct positions, in the order they were drawn.
    let mut drawn: Vec<usize> = Vec::with_capacity(want);
    let mut seen = std::collections::HashSet::with_capacity(want);
    while drawn.len() < want {
        let i = rng.below(size);
        if seen.insert(i) {
            drawn.push(i);
        }
    }
    let mut order: Vec<usize> = (0..want).collect();
    order.sort_unstable_by_key(|&j| drawn[j]);
    let mut out: Vec<Option<Bytes>> = vec![None; want];
    let prefix = keys::sub_prefix(m.owner(key), m.version);
    let (mut pos, mut next) = (0usize, 0usize);
    c.scan(Cf::Sub, &prefix, &prefix, &mut |k, _| {
        while next < want && drawn[order[next]] == pos {
            out[order[next]] = Some(Bytes::copy_from_slice(&k[prefix.len()..]));
            next += 1;
        }
        pos += 1;
        next < want
    })?;
    Ok(out.into_iter().collect())
}

/// Members one pick-index draw chooses among (see [`picked`]).
const PICK_SPAN: usize = 8;

/// `want` members drawn from a set's pick index (the members in hash
/// order, [`keys::set_pick_key`]): each draw seeks to a random hash and
/// takes one of the [`PICK_SPAN`] members from there (going round past
/// the end) at random, which evens out the gaps between hashes: O(log n)
/// a draw. `distinct`: no member twice; `None` when draws keep colliding
/// or the index is empty.
fn picked(
    c: &impl View,
    key: &[u8],
    m: &keys::Meta,
    want: usize,
    rng: &mut Rng,
    distinct: bool,
) -> Result<Option<Vec<Bytes>>> {
    let prefix = keys::sub_prefix(m.owner(key), m.version);
    let span = PICK_SPAN.min(m.size as usize).max(1);
    let mut out = Vec::with_capacity(want);
    let mut seen = std::collections::HashSet::new();
    let mut draws = 0usize;
    while out.len() < want {
        draws += 1;
        if draws > want.saturating_mul(4).saturating_add(16) {
            return Ok(None);
        }
        let hash = rng.next();
        let target = [&prefix[..], &hash.to_be_bytes()].concat();
        // The hashes are spread evenly: 64 members are expected within
        // the reach, fewer than a span (8) with a chance of about e^-43
        // (the scan then goes on past it). So the scan, and the group's
        // pending writes merged into it (many pops in one group), looks
        // no further before it must.
        let reach = (u64::MAX / m.size.max(1)).saturating_mul(64);
        let near_end = hash
            .checked_add(reach)
            .map(|e| [&prefix[..], &e.to_be_bytes()].concat());
        // From the target on, then from the start up to it (never the same
        // member twice: the set may hold fewer than a span past it).
        let mut ranges = vec![(&target[..], near_end.as_deref())];
        if let Some(e) = &near_end {
            ranges.push((e, None));
        }
        ranges.push((&prefix[..], Some(&target[..])));
        // The member `j` places on (of the span from the target, chosen
        // before the walk, so that it stops there): copied alone.
        let j = rng.below(span);
        let (mut found, mut member) = (0usize, Vec::new());
        for (start, end) in ranges {
            if found > j {
                break;
            }
            let mut take = |k: &[u8], _: &[u8]| {
                if let Some(m) = k.get(prefix.len() + 8..) {
                    member.clear();
                    member.extend_from_slice(m);
                    found += 1;
                }
                found <= j
            };
            c.scan_until(Cf::ZScore, (&prefix, start, end), &mut take)?;
        }
        if found == 0 {
            return Ok(None);
        }
        // (fewer than `j + 1` only if the index holds fewer members than
        // the set counts: the last one found)
        let pick = Bytes::from(member);
        if !distinct || seen.insert(pick.clone()) {
            out.push(pick);
        }
    }
    Ok(Some(out))
}

fn bulks(v: impl IntoIterator<Item = Bytes>) -> Reply {
    Reply::Array(v.into_iter().map(Reply::Bulk).collect())
}

/// Members as a set reply (RESP3 `~`), as Redis answers SMEMBERS, SINTER,
/// SUNION, SDIFF and SPOP with a count.
fn set_reply(v: impl IntoIterator<Item = Bytes>) -> Reply {
    Reply::Set(v.into_iter().map(Reply::Bulk).collect())
}

pub(crate) fn smembers(c: &ReadCtx<'_>, a: &[Bytes]) -> Result<Reply> {
    Ok(set_reply(tri!(members(c, &a[1])?)))
}

pub(crate) fn sismember(c: &ReadCtx<'_>, a: &[Bytes]) -> Result<Reply> {
    tri!(typed(c, &a[1], Kind::Set)?);
    Ok(Reply::Integer(i64::from(
        c.live_meta(&a[1])?.is_some() && is_member(c, &a[1], &a[2])?,
    )))
}

pub(crate) fn smismember(c: &ReadCtx<'_>, a: &[Bytes]) -> Result<Reply> {
    let live = tri!(typed(c, &a[1], Kind::Set)?).is_some();
    let mut out = Vec::with_capacity(a.len() - 2);
    for m in &a[2..] {
        out.push(Reply::Integer(i64::from(live && is_member(c, &a[1], m)?)));
    }
    Ok(Reply::Array(out))
}

pub(crate) fn scard(c: &ReadCtx<'_>, a: &[Bytes]) -> Result<Reply> {
    Ok(Reply::Integer(
        tri!(typed(c, &a[1], Kind::Set)?).map_or(0, |m| m.size as i64),
    ))
}

/// Parse an optional count argument: `Ok(None)` when absent.
fn count_arg(a: &[Bytes], at: usize) -> Result<Option<i64>, Reply> {
    match a.len() {
        n if n == at => Ok(None),
        n if n == at + 1 => int_arg(&a[at]).map(Some),
        _ => Err(Reply::error(SYNTAX)),
    }
}

/// SPOP key [count].
struct SPop {
    key: Bytes,
    /// None: one member, answered bare.
    count: Option<usize>,
}

pub(crate) fn spop(a: &[Bytes]) -> Result<Box<dyn WriteOp>, Reply> {
    let count = match a.len() {
        2 => None,
        3 => Some(positive_arg(&a[2])? as usize),
        _ => return Err(Reply::error(SYNTAX)),
    };
    Ok(Box::new(SPop {
        key: a[1].clone(),
        count,
    }))
}

impl WriteOp for SPop {
    fn execute(&self, c: &mut WriteCtx<'_>) -> Result<Reply> {
        let (key, count) = (&self.key, self.count);
        let Some(m) = tri!(c.typed_mut(key, Kind::Set)?) else {
            return Ok(if count.is_some() {
                Reply::Set(vec![])
            } else {
                Reply::Nil
            });
        };
        let mut rng = Rng::new(super::seed());
        let want = count.unwrap_or(1);
        let mut popped = match members_at(c, key, &m, want, &mut rng)? {
            Some(picked) => picked,
            None => {
                let mut all = tri!(members(c, key)?);
                let take = want.min(all.len());
                let mut popped = Vec::with_capacity(take);
                for _ in 0..take {
                    let i = rng.below(all.len());
                    popped.push(all.swap_remove(i));
                }
                popped
            }
        };
        for p in &popped {
            let prior = Prior::Present { expire_ms: 0 };
            c.emit_member_delete(Command::SDel, key, p.clone(), prior)?;
        }
        Ok(match count {
            None => popped.pop().map_or(Reply::Nil, Reply::Bulk),
            Some(_) => set_reply(popped),
        })
    }
}

pub(crate) fn srandmember(c: &ReadCtx<'_>, a: &[Bytes]) -> Result<Reply> {
    let count = tri!(count_arg(a, 2));
    // One member, or a few distinct ones: drawn by position.
    let distinct = match count {
        None => Some(1),
        Some(n) if n > 0 => usize::try_from(n).ok(),
        Some(_) => None,
    };
    if let Some(want) = distinct {
        if let Some(m) = tri!(typed(c, &a[1], Kind::Set)?) {
            let mut rng = Rng::new(super::seed());
            if let Some(mut got) = members_at(c, &a[1], &m, want, &mut rng)? {
                return Ok(match count {
                    None => got.pop().map_or(Reply::Nil, Reply::Bulk),
                    Some(_) => bulks(got),
                });
            }
        }
    }
    // Repeats allowed (a negative count), fewer than the set holds: drawn
    // from the pick index.
    if let Some(n) = count.filter(|&n| n < 0) {
        if let Some(m) = tri!(typed(c, &a[1], Kind::Set)?) {
            let want = usize::try_from(n.unsigned_abs()).unwrap_or(usize::MAX);
            if m.head == keys::SET_INDEXED && want < m.size as usize {
                let mut rng = Rng::new(super::seed());
                if let Some(got) = picked(c, &a[1], &m, want, &mut rng, false)? {
                    return Ok(bulks(got));
                }
            }
        }
    }
    let all = tri!(members(c, &a[1])?);
    let seed = super::seed();
    match tri!(super::random_picks(all.len(), count, seed)) {
        None if all.is_empty() => Ok(Reply::Nil),
        None => Ok(Reply::Bulk(all[Rng::new(seed).below(all.len())].clone())),
        Some(picks) => Ok(bulks(picks.into_iter().map(|i| all[i].clone()))),
    }
}

pub(crate) fn sscan(c: &ReadCtx<'_>, a: &[Bytes]) -> Result<Reply> {
    super::generic::scan_collection(c, a, Kind::Set, |f, _, out| {
        out.push(Reply::Bulk(f.clone()))
    })
}

fn sets(c: &impl View, keys: &[Bytes]) -> Result<Result<Vec<BTreeSet<Bytes>>, Reply>> {
    let mut out = Vec::with_capacity(keys.len());
    for k in keys {
        match members(c, k)? {
            Ok(m) => out.push(m.into_iter().collect()),
            Err(r) => return Ok(Err(r)),
        }
    }
    Ok(Ok(out))
}

/// What SINTER, SUNION and SDIFF compute over the sets of `keys`.
#[derive(Clone, Copy)]
enum SetOp {
    Inter,
    Union,
    Diff,
}

/// The result of `op` over the sets of `keys` (WRONGTYPE for a key that
/// is not a set; a missing key is an empty set).
fn combine(c: &impl View, keys: &[Bytes], op: SetOp) -> Result<Result<BTreeSet<Bytes>, Reply>> {
    let sets = match sets(c, keys)? {
        Ok(s) => s,
        Err(r) => return Ok(Err(r)),
    };
    let mut it = sets.into_iter();
    let first = it.next().unwrap_or_default();
    let rest: Vec<_> = it.collect();
    Ok(Ok(match op {
        SetOp::Inter => first
            .into_iter()
            .filter(|m| rest.iter().all(|s| s.contains(m)))
            .collect(),
        SetOp::Diff => first
            .into_iter()
            .filter(|m| !rest.iter().any(|s| s.contains(m)))
            .collect(),
        SetOp::Union => first
            .into_iter()
            .chain(rest.into_iter().flatten())
            .collect(),
    }))
}

pub(crate) fn sinter(c: &ReadCtx<'_>, a: &[Bytes]) -> Result<Reply> {
    Ok(set_reply(tri!(combine(c, &a[1..], SetOp::Inter)?)))
}

pub(crate) fn sunion(c: &ReadCtx<'_>, a: &[Bytes]) -> Result<Reply> {
    Ok(set_reply(tri!(combine(c, &a[1..], SetOp::Union)?)))
}

pub(crate) fn sdiff(c: &ReadCtx<'_>, a: &[Bytes]) -> Result<Reply> {
    Ok(set_reply(tri!(combine(c, &a[1..], SetOp::Diff)?)))
}

/// SINTERSTORE / SUNIONSTORE / SDIFFSTORE destination key [key ...]:
/// the result replaces the destination, whatever it held; the events are
/// its members (what the command wrote, not what it read), so replay is
/// deterministic.
struct StoreOp {
    dst: Bytes,
    keys: Vec<Bytes>,
    op: SetOp,
}

fn store_op(a: &[Bytes], op: SetOp) -> Result<Box<dyn WriteOp>, Reply> {
    Ok(Box::new(StoreOp {
        dst: a[1].clone(),
        keys: a[2..].to_vec(),
        op,
    }))
}

pub(crate) fn sinterstore(a: &[Bytes]) -> Result<Box<dyn WriteOp>, Reply> {
    store_op(a, SetOp::Inter)
}

pub(crate) fn sunionstore(a: &[Bytes]) -> Result<Box<dyn WriteOp>, Reply> {
    store_op(a, SetOp::Union)
}

pub(crate) fn sdiffstore(a: &[Bytes]) -> Result<Box<dyn WriteOp>, Reply> {
    store_op(a, SetOp::Diff)
}

impl WriteOp for StoreOp {
    fn execute(&self, c: &mut WriteCtx<'_>) -> Result<Reply> {
        let result = tri!(combine(c, &self.keys, self.op)?);
        c.replace(&self.dst, Command::SSet, result)
    }
}

/// SINTERCARD numkeys key [key ...] [LIMIT limit].
pub(crate) fn sintercard(c: &ReadCtx<'_>, a: &[Bytes]) -> Result<Reply> {
    let n = match int_arg(&a[1]) {
        Ok(n) if n > 0 => n as usize,
        _ => return Ok(Reply::error("ERR numkeys should be greater than 0")),
    };
    if n > a.len() - 2 {
        return Ok(Reply::error(
            "ERR Number of keys can't be greater than number of args",
        ));
    }
    let mut limit = 0usize;
    let mut j = 2 + n;
    while j < a.len() {
        match (a[j].to_ascii_lowercase().as_slice(), a.get(j + 1)) {
            (b"limit", Some(v)) => match int_arg(v) {
                Ok(l) if l >= 0 => limit = l as usize,
                _ => return Ok(Reply::error("ERR LIMIT can't be negative")),
            },
            _ => return Ok(Reply::error(SYNTAX)),
        }
        j += 2;
    }
    let found = tri!(combine(c, &a[2..2 + n], SetOp::Inter)?).len();
    Ok(Reply::Integer(
        if limit > 0 { found.min(limit) } else { found } as i64,
    ))
}
