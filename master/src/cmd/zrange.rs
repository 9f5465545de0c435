//! Sorted-set ranges (by rank, score or member, either direction, with a
//! LIMIT), the commands that read, count, remove or store them, and the
//! commands across sets (ZUNION, ZINTER, ZDIFF and their STORE forms,
//! ZINTERCARD), with Redis 7.0's argument rules and error texts.

use std::collections::BTreeMap;

use bytes::Bytes;
use rocksync_protocol::{Command, Prior, Reply};

use super::zset::{bound, render, walk_from, Bound};
use super::{fmt_float, int_arg, lower, tri, typed, ReadCtx, View, WriteCtx, WriteOp, SYNTAX};
use crate::cmd::string::range;
use crate::error::Result;
use crate::store::keys::{self, Kind, Meta};
use crate::store::{Cf, ZBound};

/// One end of a member (lex) range.
#[derive(Clone)]
enum Lex {
    /// `-`
    Min,
    /// `+`
    Max,
    /// `[x`
    Incl(Bytes),
    /// `(x`
    Excl(Bytes),
}

impl Lex {
    fn parse(b: &Bytes) -> Result<Self, Reply> {
        match b.first() {
            Some(b'-') if b.len() == 1 => Ok(Lex::Min),
            Some(b'+') if b.len() == 1 => Ok(Lex::Max),
            Some(b'[') => Ok(Lex::Incl(b.slice(1..))),
            Some(b'(') => Ok(Lex::Excl(b.slice(1..))),
            _ => Err(Reply::error("ERR min or max not valid string range item")),
        }
    }

    fn above_min(&self, m: &[u8]) -> bool {
        match self {
            Lex::Min => true,
            Lex::Max => false,
            Lex::Incl(x) => m >= &x[..],
            Lex::Excl(x) => m > &x[..],
        }
    }

    fn below_max(&self, m: &[u8]) -> bool {
        match self {
            Lex::Min => false,
            Lex::Max => true,
            Lex::Incl(x) => m <= &x[..],
            Lex::Excl(x) => m < &x[..],
        }
    }
}

/// What a range selects.
#[derive(Clone)]
enum By {
    Rank(i64, i64),
    Score(Bound, Bound),
    Lex(Lex, Lex),
}

/// A parsed range: `by` (min before max), direction, LIMIT.
#[derive(Clone)]
struct Query {
    by: By,
    rev: bool,
    offset: i64,
    /// Negative: no limit.
    count: i64,
}

impl Query {
    fn inside(&self, member: &[u8], s: f64) -> bool {
        match &self.by {
            By::Rank(..) => true,
            By::Score(min, max) => min.above_min(s) && max.below_max(s),
            By::Lex(min, max) => min.above_min(member) && max.below_max(member),
        }
    }

    /// Past the range, walking in this query's direction.
    fn past(&self, member: &[u8], s: f64) -> bool {
        match (&self.by, self.rev) {
            (By::Rank(..), _) => false,
            (By::Score(_, max), false) => !max.below_max(s),
            (By::Score(min, _), true) => !min.above_min(s),
            (By::Lex(_, max), false) => !max.below_max(member),
            (By::Lex(min, _), true) => !min.above_min(member),
        }
    }
}

/// Parse the bounds `lo`, `hi` as given (for REV score and lex ranges,
/// max comes first).
fn parse_by(kind: u8, lo: &Bytes, hi: &Bytes, rev: bool) -> Result<By, Reply> {
    let (min, max) = if rev && kind != b'r' {
        (hi, lo)
    } else {
        (lo, hi)
    };
    Ok(match kind {
        b's' => By::Score(
            bound(min).map_err(|_| score_err())?,
            bound(max).map_err(|_| score_err())?,
        ),
        b'l' => By::Lex(Lex::parse(min)?, Lex::parse(max)?),
        _ => By::Rank(int_arg(min)?, int_arg(max)?),
    })
}

fn score_err() -> Reply {
    Reply::error("ERR min or max is not a float")
}

/// Redis's `zrangeGenericCommand` argument rules: `a[0]` is the source
/// key, then the two bounds, then options. `kind` (`r`ank, `s`core,
/// `l`ex, or 0: BYSCORE/BYLEX may say) and `rev` (None: REV may say) are
/// fixed by the command name. Returns the query and WITHSCORES.
fn parse_range(
    a: &[Bytes],
    kind: u8,
    rev: Option<bool>,
    store: bool,
) -> Result<(Query, bool), Reply> {
    let (mut kind, mut dir) = (kind, rev);
    let (mut withscores, mut offset, mut count) = (false, 0i64, -1i64);
    let mut j = 3;
    while j < a.len() {
        let left = a.len() - j - 1;
        match lower(&a[j]).as_slice() {
            b"withscores" if !store => withscores = true,
            b"limit" if left >= 2 => {
                offset = int_arg(&a[j + 1])?;
                count = int_arg(&a[j + 2])?;
                j += 2;
            }
            b"rev" if dir.is_none() => dir = Some(true),
            b"bylex" if kind == 0 => kind = b'l',
            b"byscore" if kind == 0 => kind = b's',
            _ => return Err(Reply::error(SYNTAX)),
        }
        j += 1;
    }
    let kind = if kind == 0 { b'r' } else { kind };
    let rev = dir.unwrap_or(false);
    if count != -1 && kind == b'r' {
        return Err(Reply::error(
            "ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX",
        ));
    }
    if withscores && kind == b'l' {
        return Err(Reply::error(
            "ERR syntax error, WITHSCORES not supported in combination with BYLEX",
        ));
    }
    let by = parse_by(kind, &a[1], &a[2], rev)?;
    Ok((
        Query {
            by,
            rev,
            offset,
            count,
        },
        withscores,
    ))
}

/// The members a query selects, in its order.
fn select(v: &impl View, key: &[u8], m: &Meta, q: &Query) -> Result<Vec<(Bytes, f64)>> {
    Ok(select_from(v, key, m, q, None)?.0)
}

/// As [`select`], a forward walk starting at `from` (a sorted set's
/// [`ZBound`] low: no live entry lies below it), and whether the members
/// selected are every one walked: a run from the first live one, with
/// none left inside it (a lex range over mixed scores skips members
/// below its minimum between the ones it selects).
fn select_from(
    v: &impl View,
    key: &[u8],
    m: &Meta,
    q: &Query,
    from: Option<&[u8]>,
) -> Result<(Vec<(Bytes, f64)>, bool)> {
    let mut items = Vec::new();
    let mut walked = 0usize;
    if let By::Rank(start, stop) = q.by {
        let Some((s, e)) = range(start, stop, m.size as i64) else {
            return Ok((items, false));
        };
        let mut rank = 0;
        walk_from(v, key, m, (q.rev, from), |member, score| {
            if rank >= s {
                items.push((member, score));
            }
            rank += 1;
            rank <= e
        })?;
        return Ok((items, s == 0));
    }
    if q.offset < 0 {
        return Ok((items, false));
    }
    let mut skipped = 0;
    walk_from(v, key, m, (q.rev, from), |member, s| {
        if q.past(&member, s) || (q.count >= 0 && items.len() as i64 >= q.count) {
            return false;
        }
        walked += 1;
        if q.inside(&member, s) {
            if skipped < q.offset {
                skipped += 1;
            } else {
                items.push((member, s));
            }
        }
        true
    })?;
    let every = walked > 0 && items.len() == walked;
    Ok((items, every))
}

/// A read of a range: `kind`/`rev` as in [`parse_range`].
fn read_range(c: &ReadCtx<'_>, a: &[Bytes], kind: u8, rev: Option<bool>) -> Result<Reply> {
    let (q, withscores) = tri!(parse_range(&a[1..], kind, rev, false));
    let Some(m) = tri!(typed(c, &a[1], Kind::ZSet)?) else {
        return Ok(Reply::Array(vec![]));
    };
    Ok(render(select(c, &a[1], &m, &q)?, withscores))
}

pub(crate) fn zrange(c: &ReadCtx<'_>, a: &[Bytes]) -> Result<Reply> {
    read_range(c, a, 0, None)
}

pub(crate) fn zrevrange(c: &ReadCtx<'_>, a: &[Bytes]) -> Result<Reply> {
    read_range(c, a, b'r', Some(true))
}

pub(crate) fn zrangebyscore(c: &ReadCtx<'_>, a: &[Bytes]) -> Result<Reply> {
    read_range(c, a, b's', Some(false))
}

pub(crate) fn zrevrangebyscore(c: &ReadCtx<'_>, a: &[Bytes]) -> Result<Reply> {
    read_range(c, a, b's', Some(true))
}

pub(crate) fn zrangebylex(c: &ReadCtx<'_>, a: &[Bytes]) -> Result<Reply> {
    read_range(c, a, b'l', Some(false))
}

pub(crate) fn zrevrangebylex(c: &ReadCtx<'_>, a: &[Bytes]) -> Result<Reply> {
    read_range(c, a, b'l', Some(true))
}

pub(crate) fn zlexcount(c: &ReadCtx<'_>, a: &[Bytes]) -> Result<Reply> {
    let q = Query {
        by: tri!(parse_by(b'l', &a[2], &a[3], false)),
        rev: false,
        offset: 0,
        count: -1,
    };
    let Some(m) = tri!(typed(c, &a[1], Kind::ZSet)?) else {
        return Ok(Reply::Integer(0));
    };
    Ok(Reply::Integer(select(c, &a[1], &m, &q)?.len() as i64))
}

/// Replace `dst` with `items` (deleted when there are none): the events
/// are the members written, so replay is deterministic.
pub(crate) fn store_items(
    c: &mut WriteCtx<'_>,
    dst: &[u8],
    items: &[(Bytes, f64)],
) -> Result<Reply> {
    let values = items
        .iter()
        .map(|(member, score)| keys::pack(member, fmt_float(*score).as_bytes()));
    c.replace(dst, Command::ZSet, values)
}

/// ZRANGESTORE dst src min max [BYSCORE|BYLEX] [REV] [LIMIT offset count].
struct ZRangeStore {
    dst: Bytes,
    src: Bytes,
    q: Query,
}

pub(crate) fn zrangestore(a: &[Bytes]) -> Result<Box<dyn WriteOp>, Reply> {
    let (q, _) = parse_range(&a[2..], 0, None, true)?;
    Ok(Box::new(ZRangeStore {
        dst: a[1].clone(),
        src: a[2].clone(),
        q,
    }))
}

impl WriteOp for ZRangeStore {
    fn execute(&self, c: &mut WriteCtx<'_>) -> Result<Reply> {
        let items = match tri!(c.typed_mut(&self.src, Kind::ZSet)?) {
            Some(m) => select(&*c, &self.src, &m, &self.q)?,
            None => Vec::new(),
        };
        store_items(c, &self.dst, &items)
    }
}

/// ZREMRANGEBYRANK / ZREMRANGEBYSCORE / ZREMRANGEBYLEX key min max:
/// remove what the range selects.
struct ZRemRange {
    key: Bytes,
    q: Query,
}

fn remove_range(a: &[Bytes], kind: u8) -> Result<Box<dyn WriteOp>, Reply> {
    let by = parse_by(kind, &a[2], &a[3], false).map_err(|r| match kind {
        b's' => score_err(),
        _ => r,
    })?;
    Ok(Box::new(ZRemRange {
        key: a[1].clone(),
        q: Query {
            by,
            rev: false,
            offset: 0,
            count: -1,
        },
    }))
}

pub(crate) fn zremrangebyrank(a: &[Bytes]) -> Result<Box<dyn WriteOp>, Reply> {
    remove_range(a, b'r')
}

pub(crate) fn zremrangebyscore(a: &[Bytes]) -> Result<Box<dyn WriteOp>, Reply> {
    remove_range(a, b's')
}

pub(crate) fn zremrangebylex(a: &[Bytes]) -> Result<Box<dyn WriteOp>, Reply> {
    remove_range(a, b'l')
}

impl WriteOp for ZRemRange {
    fn execute(&self, c: &mut WriteCtx<'_>) -> Result<Reply> {
        let Some(m) = tri!(c.typed_mut(&self.key, Kind::ZSet)?) else {
            return Ok(Reply::Integer(0));
        };
        // From where earlier removals (and pops) are known to have left
        // the set's low end: not over the entries they deleted there (a
        // sliding window's ZREMRANGEBYSCORE -inf walked every one).
        let prefix = keys::sub_prefix(m.owner(&self.key), m.version);
        let bound = c.batch.zbound(c.store, &prefix);
        let (items, from_first) = select_from(&*c, &self.key, &m, &self.q, bound.low.as_deref())?;
        for (member, score) in &items {
            let prior = Prior::Scored {
                score_bits: score.to_bits(),
            };
            c.emit_member_delete(Command::ZDel, &self.key, member.clone(), prior)?;
        }
        if let Some((member, score)) = items.last().filter(|_| from_first && !self.q.rev) {
            // Every entry up to the last removed one is gone now.
            let last = keys::zscore_key(m.owner(&self.key), m.version, *score, member);
            c.batch.learn_zbound(&prefix, &ZBound::popped_low(&last));
        }
        Ok(Reply::Integer(items.len() as i64))
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Op {
    Union,
    Inter,
    Diff,
}

#[derive(Clone, Copy)]
enum Aggregate {
    Sum,
    Min,
    Max,
}

/// Each input's members and scores (`None`: the key does not exist).
type Inputs = Vec<Option<BTreeMap<Bytes, f64>>>;

/// The options after the keys: `[WEIGHTS ...] [AGGREGATE ...]
/// [WITHSCORES] [LIMIT n]` of the commands across sets.
struct Across {
    weights: Vec<f64>,
    aggregate: Aggregate,
    withscores: bool,
    limit: u64,
}

/// The parsed `numkeys key [key ...] [options]` of the commands across
/// sets. Redis checks the keys' types before it reads the options, so an
/// error in the options waits for that check (`opts`).
struct AcrossArgs {
    op: Op,
    keys: Vec<Bytes>,
    opts: Result<Across, Reply>,
}

/// Redis's `zunionInterDiffGenericCommand` argument rules (`a` from
/// numkeys): ZUNION, ZINTER, ZDIFF, their STORE forms (`store`) and
/// ZINTERCARD (`card`).
fn across_args(
    name: &str,
    a: &[Bytes],
    op: Op,
    store: bool,
    card: bool,
) -> Result<AcrossArgs, Reply> {
    let n = int_arg(&a[0])?;
    if n < 1 {
        return Err(Reply::error(format!(
            "ERR at least 1 input key is needed for '{name}' command"
        )));
    }
    if n as usize > a.len() - 1 {
        return Err(Reply::error(SYNTAX));
    }
    let keys = &a[1..=n as usize];
    Ok(AcrossArgs {
        op,
        keys: keys.to_vec(),
        opts: across_opts(&a[n as usize + 1..], keys.len(), op, store, card),
    })
}

/// The options after `nkeys` keys.
fn across_opts(
    a: &[Bytes],
    nkeys: usize,
    op: Op,
    store: bool,
    card: bool,
) -> Result<Across, Reply> {
    let mut o = Across {
        weights: vec![1.0; nkeys],
        aggregate: Aggregate::Sum,
        withscores: false,
        limit: 0,
    };
    let mut j = 0;
    while j < a.len() {
        let left = a.len() - j;
        match lower(&a[j]).as_slice() {
            b"weights" if op != Op::Diff && !card && left > nkeys => {
                for (i, w) in a[j + 1..=j + nkeys].iter().enumerate() {
                    o.weights[i] = super::parse_float(w)
                        .ok_or_else(|| Reply::error("ERR weight value is not a float"))?;
                }
                j += nkeys + 1;
            }
            b"aggregate" if op != Op::Diff && !card && left >= 2 => {
                o.aggregate = match lower(&a[j + 1]).as_slice() {
                    b"sum" => Aggregate::Sum,
                    b"min" => Aggregate::Min,
                    b"max" => Aggregate::Max,
                    _ => return Err(Reply::error(SYNTAX)),
                };
                j += 2;
            }
            b"withscores" if !store && !card => {
                o.withscores = true;
                j += 1;
            }
            b"limit" if card && left >= 2 => {
                o.limit = match int_arg(&a[j + 1]) {
                    Ok(l) if l >= 0 => l as u64,
                    _ => return Err(Reply::error("ERR LIMIT can't be negative")),
                };
                j += 2;
            }
            _ => return Err(Reply::error(SYNTAX)),
        }
    }
    Ok(o)
}

/// The inputs of `x` (sets count, scored 1), after their types are
/// checked; then `x`'s error in its options, if any.
fn inputs<'a>(v: &impl View, x: &'a AcrossArgs) -> Result<Result<(&'a Across, Inputs), Reply>> {
    let mut metas = Vec::with_capacity(x.keys.len());
    for key in &x.keys {
        let m = v.live_meta(key)?;
        if m.as_ref()
            .is_some_and(|m| !matches!(m.kind, Kind::ZSet | Kind::Set))
        {
            return Ok(Err(Reply::error(super::WRONGTYPE)));
        }
        metas.push(m);
    }
    let o = match &x.opts {
        Ok(o) => o,
        Err(r) => return Ok(Err(r.clone())),
    };
    let mut sets = Vec::with_capacity(metas.len());
    for (key, m) in x.keys.iter().zip(metas) {
        sets.push(match m {
            None => None,
            Some(m) if m.kind == Kind::ZSet => Some(zset_members(v, key, &m)?),
            Some(m) => Some(
                super::sub_items(v, key, &m)?
                    .into_iter()
                    .map(|(member, _)| (member, 1.0))
                    .collect(),
            ),
        });
    }
    Ok(Ok((o, sets)))
}

fn zset_members(v: &impl View, key: &[u8], m: &Meta) -> Result<BTreeMap<Bytes, f64>> {
    let prefix = keys::sub_prefix(m.owner(key), m.version);
    let mut out = BTreeMap::new();
    v.scan(Cf::Sub, &prefix, &prefix, &mut |k, val| {
        if let Some(s) = keys::be_u64(val) {
            out.insert(
                Bytes::copy_from_slice(&k[prefix.len()..]),
                f64::from_bits(s),
            );
        }
        true
    })?;
    Ok(out)
}

/// Sum that turns inf + -inf into 0, as Redis does.
fn add(a: f64, b: f64) -> f64 {
    let s = a + b;
    if s.is_nan() {
        0.0
    } else {
        s
    }
}

fn weigh(s: f64, w: f64) -> f64 {
    let v = s * w;
    if v.is_nan() {
        0.0
    } else {
        v
    }
}

/// The result of an operation across sets, in sorted-set order.
fn compute(o: &Across, sets: Inputs, op: Op) -> Vec<(Bytes, f64)> {
    let combine = |acc: f64, v: f64| match o.aggregate {
        Aggregate::Sum => add(acc, v),
        Aggregate::Min => acc.min(v),
        Aggregate::Max => acc.max(v),
    };
    let mut out: BTreeMap<Bytes, f64> = BTreeMap::new();
    let mut sets = sets.into_iter();
    let first = sets.next().flatten().unwrap_or_default();
    let rest: Vec<BTreeMap<Bytes, f64>> = sets.map(Option::unwrap_or_default).collect();
    match op {
        Op::Union => {
            for (member, s) in &first {
                out.insert(member.clone(), weigh(*s, o.weights[0]));
            }
            for (i, set) in rest.iter().enumerate() {
                for (member, s) in set {
                    let v = weigh(*s, o.weights[i + 1]);
                    out.entry(member.clone())
                        .and_modify(|acc| *acc = combine(*acc, v))
                        .or_insert(v);
                }
            }
        }
        Op::Inter => {
            'members: for (member, s) in &first {
                let mut acc = weigh(*s, o.weights[0]);
                for (i, set) in rest.iter().enumerate() {
                    match set.get(member) {
                        Some(s) => acc = combine(acc, weigh(*s, o.weights[i + 1])),
                        None => continue 'members,
                    }
                }
                out.insert(member.clone(), acc);
            }
        }
        Op::Diff => {
            for (member, s) in &first {
                if !rest.iter().any(|set| set.contains_key(member)) {
                    out.insert(member.clone(), *s);
                }
            }
        }
    }
    let mut items: Vec<(Bytes, f64)> = out.into_iter().collect();
    items.sort_by(|a, b| a.1.total_cmp(&b.1).then_with(|| a.0.cmp(&b.0)));
    items
}

fn read_across(c: &ReadCtx<'_>, a: &[Bytes], op: Op) -> Result<Reply> {
    let name = String::from_utf8_lossy(&a[0]).to_lowercase();
    let x = tri!(across_args(&name, &a[1..], op, false, false));
    let (o, sets) = tri!(inputs(c, &x)?);
    Ok(render(compute(o, sets, op), o.withscores))
}

pub(crate) fn zunion(c: &ReadCtx<'_>, a: &[Bytes]) -> Result<Reply> {
    read_across(c, a, Op::Union)
}

pub(crate) fn zinter(c: &ReadCtx<'_>, a: &[Bytes]) -> Result<Reply> {
    read_across(c, a, Op::Inter)
}

pub(crate) fn zdiff(c: &ReadCtx<'_>, a: &[Bytes]) -> Result<Reply> {
    read_across(c, a, Op::Diff)
}

/// ZUNIONSTORE / ZINTERSTORE / ZDIFFSTORE destination numkeys key
/// [key ...] [WEIGHTS ...] [AGGREGATE SUM|MIN|MAX].
struct StoreAcross {
    dst: Bytes,
    args: AcrossArgs,
}

fn store_across(a: &[Bytes], op: Op, name: &str) -> Result<Box<dyn WriteOp>, Reply> {
    Ok(Box::new(StoreAcross {
        dst: a[1].clone(),
        args: across_args(name, &a[2..], op, true, false)?,
    }))
}

pub(crate) fn zunionstore(a: &[Bytes]) -> Result<Box<dyn WriteOp>, Reply> {
    store_across(a, Op::Union, "zunionstore")
}

pub(crate) fn zinterstore(a: &[Bytes]) -> Result<Box<dyn WriteOp>, Reply> {
    store_across(a, Op::Inter, "zinterstore")
}

pub(crate) fn zdiffstore(a: &[Bytes]) -> Result<Box<dyn WriteOp>, Reply> {
    store_across(a, Op::Diff, "zdiffstore")
}

impl WriteOp for StoreAcross {
    fn execute(&self, c: &mut WriteCtx<'_>) -> Result<Reply> {
        let (o, sets) = tri!(inputs(&*c, &self.args)?);
        let items = compute(o, sets, self.args.op);
        store_items(c, &self.dst, &items)
    }
}

pub(crate) fn zintercard(c: &ReadCtx<'_>, a: &[Bytes]) -> Result<Reply> {
    let x = tri!(across_args("zintercard", &a[1..], Op::Inter, false, true));
    let (o, sets) = tri!(inputs(c, &x)?);
    let n = compute(o, sets, Op::Inter).len() as u64;
    Ok(Reply::Integer(
        if o.limit > 0 { n.min(o.limit) } else { n } as i64
    ))
}

/// ZRANDMEMBER key [count [WITHSCORES]].
pub(crate) fn zrandmember(c: &ReadCtx<'_>, a: &[Bytes]) -> Result<Reply> {
    let (count, withscores) = tri!(super::rand_args(a, b"withscores"));
    let m = tri!(typed(c, &a[1], Kind::ZSet)?);
    let items: Vec<(Bytes, f64)> = match &m {
        Some(m) => zset_members(c, &a[1], m)?.into_iter().collect(),
        None => Vec::new(),
    };
    let picked = tri!(super::random_picks(items.len(), count, super::seed()));
    let Some(picked) = picked else {
        return Ok(match items.len() {
            0 => Reply::Nil,
            n => Reply::Bulk(items[super::Rng::new(super::seed()).below(n)].0.clone()),
        });
    };
    Ok(render(
        picked.into_iter().map(|i| items[i].clone()).collect(),
        withscores,
    ))
}
