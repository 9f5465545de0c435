//! List commands.

use bytes::Bytes;
use rocksync_protocol::{Command, Reply};

use super::{
    int_arg, positive_arg, timeout_arg, tri, typed, wrong_arity, ReadCtx, View, WriteCtx, WriteOp,
    NOT_INT, SYNTAX,
};
use crate::error::Result;
use crate::store::apply::list_index;
use crate::store::keys::{self, Kind, Meta};
use crate::store::Cf;

/// LPUSH / RPUSH / LPUSHX / RPUSHX key element [element ...].
struct Push {
    key: Bytes,
    values: Vec<Bytes>,
    front: bool,
    /// The X forms: onto a list that exists only.
    only_existing: bool,
}

fn push(a: &[Bytes], front: bool, only_existing: bool) -> Result<Box<dyn WriteOp>, Reply> {
    Ok(Box::new(Push {
        key: a[1].clone(),
        values: a[2..].to_vec(),
        front,
        only_existing,
    }))
}

pub(crate) fn lpush(a: &[Bytes]) -> Result<Box<dyn WriteOp>, Reply> {
    push(a, true, false)
}

pub(crate) fn rpush(a: &[Bytes]) -> Result<Box<dyn WriteOp>, Reply> {
    push(a, false, false)
}

pub(crate) fn lpushx(a: &[Bytes]) -> Result<Box<dyn WriteOp>, Reply> {
    push(a, true, true)
}

pub(crate) fn rpushx(a: &[Bytes]) -> Result<Box<dyn WriteOp>, Reply> {
    push(a, false, true)
}

impl WriteOp for Push {
    fn execute(&self, c: &mut WriteCtx<'_>) -> Result<Reply> {
        let key = &self.key;
        let m = tri!(c.typed_mut(key, Kind::List)?);
        if self.only_existing && m.is_none() {
            return Ok(Reply::Integer(0));
        }
        let cmd = if self.front {
            Command::QPushFront
        } else {
            Command::QPushBack
        };
        for v in &self.values {
            c.emit(cmd, key, v.clone(), 0)?;
        }
        let len = c.raw_meta(key)?.map_or(0, |m| m.size);
        Ok(Reply::Integer(len as i64))
    }
}

/// The index in `sub` of the element at `rank` of the list `m` at `key`
/// (see [`list_index`]).
fn index_of(v: &impl View, key: &[u8], m: &Meta, rank: u64) -> Result<Option<u64>> {
    let prefix = keys::sub_prefix(m.owner(key), m.version);
    list_index(m, key, rank, &mut |rev, f| {
        if rev {
            v.scan_rev(Cf::Sub, &prefix, &mut |k, _| f(k))
        } else {
            v.scan(Cf::Sub, &prefix, &prefix, &mut |k, _| f(k))
        }
    })
}

fn element(v: &impl View, key: &[u8], m: &Meta, rank: u64) -> Result<Bytes> {
    let Some(index) = index_of(v, key, m, rank)? else {
        return Ok(Bytes::new());
    };
    Ok(
        v.get(Cf::Sub, &keys::list_key(m.owner(key), m.version, index))?
            .map(Bytes::from)
            .unwrap_or_default(),
    )
}

/// The first `n` elements of the list `m` at `key` (`front`), or its last
/// `n`, last first: a walk when the list has gaps.
fn end_elements(v: &impl View, key: &[u8], m: &Meta, n: u64, front: bool) -> Result<Vec<Bytes>> {
    let mut out = Vec::with_capacity(n as usize);
    if m.gaps == 0 {
        for i in 0..n {
            let rank = if front { i } else { m.size - 1 - i };
            out.push(element(v, key, m, rank)?);
        }
        return Ok(out);
    }
    let prefix = keys::sub_prefix(m.owner(key), m.version);
    let mut take = |_: &[u8], e: &[u8]| {
        if (out.len() as u64) < n {
            out.push(Bytes::copy_from_slice(e));
        }
        (out.len() as u64) < n
    };
    if n > 0 {
        if front {
            v.scan(Cf::Sub, &prefix, &prefix, &mut take)?;
        } else {
            v.scan_rev(Cf::Sub, &prefix, &mut take)?;
        }
    }
    Ok(out)
}

/// Pop up to `count` elements (one, answered bare, without a count) from
/// one end of the list at `key`: nil when there is none.
fn pop_list(c: &mut WriteCtx<'_>, key: &[u8], front: bool, count: Option<u64>) -> Result<Reply> {
    let Some(m) = tri!(c.typed_mut(key, Kind::List)?) else {
        return Ok(if count.is_some() {
            Reply::NilArray
        } else {
            Reply::Nil
        });
    };
    let n = count.unwrap_or(1).min(m.size);
    let mut out = end_elements(c, key, &m, n, front)?;
    let cmd = if front {
        Command::QPopFront
    } else {
        Command::QPopBack
    };
    for _ in 0..n {
        c.emit(cmd, key, Bytes::new(), 0)?;
    }
    Ok(match count {
        None => out.pop().map_or(Reply::Nil, Reply::Bulk),
        Some(_) => Reply::Array(out.into_iter().map(Reply::Bulk).collect()),
    })
}

/// LPOP / RPOP key [count].
struct Pop {
    key: Bytes,
    front: bool,
    count: Option<u64>,
}

fn pop(a: &[Bytes], front: bool) -> Result<Box<dyn WriteOp>, Reply> {
    let count = match a.len() {
        2 => None,
        3 => Some(positive_arg(&a[2])?),
        _ => return Err(wrong_arity(if front { "lpop" } else { "rpop" })),
    };
    Ok(Box::new(Pop {
        key: a[1].clone(),
        front,
        count,
    }))
}

pub(crate) fn lpop(a: &[Bytes]) -> Result<Box<dyn WriteOp>, Reply> {
    pop(a, true)
}

pub(crate) fn rpop(a: &[Bytes]) -> Result<Box<dyn WriteOp>, Reply> {
    pop(a, false)
}

impl WriteOp for Pop {
    fn execute(&self, c: &mut WriteCtx<'_>) -> Result<Reply> {
        pop_list(c, &self.key, self.front, self.count)
    }
}

/// RPOPLPUSH / LMOVE / BRPOPLPUSH / BLMOVE source destination ...: an
/// element popped from one end of `src` is pushed onto one end of `dst`
/// (the same list may be both); its two events are one command.
struct Move {
    src: Bytes,
    dst: Bytes,
    from_left: bool,
    to_left: bool,
}

/// `LEFT` or `RIGHT`: true for left.
fn side(arg: &[u8]) -> Option<bool> {
    match arg.to_ascii_lowercase().as_slice() {
        b"left" => Some(true),
        b"right" => Some(false),
        _ => None,
    }
}

/// LMOVE's and BLMOVE's `LEFT|RIGHT LEFT|RIGHT`.
fn sides(from: &[u8], to: &[u8]) -> Result<(bool, bool), Reply> {
    match (side(from), side(to)) {
        (Some(from), Some(to)) => Ok((from, to)),
        _ => Err(Reply::error(SYNTAX)),
    }
}

fn move_op(a: &[Bytes], from_left: bool, to_left: bool) -> Result<Box<dyn WriteOp>, Reply> {
    Ok(Box::new(Move {
        src: a[1].clone(),
        dst: a[2].clone(),
        from_left,
        to_left,
    }))
}

pub(crate) fn rpoplpush(a: &[Bytes]) -> Result<Box<dyn WriteOp>, Reply> {
    move_op(a, false, true)
}

pub(crate) fn lmove(a: &[Bytes]) -> Result<Box<dyn WriteOp>, Reply> {
    let (from, to) = sides(&a[3], &a[4])?;
    move_op(a, from, to)
}

pub(crate) fn blmove(a: &[Bytes]) -> Result<Box<dyn WriteOp>, Reply> {
    let (from, to) = sides(&a[3], &a[4])?;
    timeout_arg(&a[5])?;
    move_op(a, from, to)
}

pub(crate) fn brpoplpush(a: &[Bytes]) -> Result<Box<dyn WriteOp>, Reply> {
    timeout_arg(&a[3])?;
    move_op(a, false, true)
}

impl WriteOp for Move {
    fn execute(&self, c: &mut WriteCtx<'_>) -> Result<Reply> {
        let (src, dst) = (&self.src, &self.dst);
        let Some(m) = tri!(c.typed_mut(src, Kind::List)?) else {
            return Ok(Reply::Nil);
        };
        tri!(c.typed_mut(dst, Kind::List)?);
        let index = if self.from_left { 0 } else { m.size - 1 };
        let v = element(c, src, &m, index)?;
        let (pop, push) = (
            if self.from_left {
                Command::QPopFront
            } else {
                Command::QPopBack
            },
            if self.to_left {
                Command::QPushFront
            } else {
                Command::QPushBack
            },
        );
        c.emit(pop, src, Bytes::new(), 0)?;
        c.emit(push, dst, v.clone(), 0)?;
        Ok(Reply::Bulk(v))
    }
}

pub(crate) fn llen(c: &ReadCtx<'_>, a: &[Bytes]) -> Result<Reply> {
    Ok(Reply::Integer(
        tri!(typed(c, &a[1], Kind::List)?).map_or(0, |m| m.size as i64),
    ))
}

pub(crate) fn lrange(c: &ReadCtx<'_>, a: &[Bytes]) -> Result<Reply> {
    let (start, stop) = (tri!(int_arg(&a[2])), tri!(int_arg(&a[3])));
    let Some(m) = tri!(typed(c, &a[1], Kind::List)?) else {
        return Ok(Reply::Array(vec![]));
    };
    let Some((s, e)) = list_range(start, stop, m.size) else {
        return Ok(Reply::Array(vec![]));
    };
    let prefix = keys::sub_prefix(m.owner(&a[1]), m.version);
    let Some(first) = index_of(c, &a[1], &m, s as u64)? else {
        return Ok(Reply::Array(vec![]));
    };
    let from = keys::list_key(m.owner(&a[1]), m.version, first);
    let mut out = Vec::with_capacity(e - s + 1);
    c.scan(Cf::Sub, &prefix, &from, &mut |_, v| {
        out.push(Reply::Bulk(Bytes::copy_from_slice(v)));
        out.len() <= e - s
    })?;
    Ok(Reply::Array(out))
}

/// LRANGE's and LTRIM's `start stop` (negative from the tail) as the
/// first and last rank, as Redis reads them: a stop before the head (or
/// before the start) is no range, not the head.
fn list_range(start: i64, stop: i64, len: u64) -> Option<(usize, usize)> {
    let len = len as i64;
    let from_tail = |i: i64| if i < 0 { len.saturating_add(i) } else { i };
    let (s, e) = (from_tail(start).max(0), from_tail(stop).min(len - 1));
    (len > 0 && s <= e && s < len).then_some((s as usize, e as usize))
}

/// A list index (negative from the tail) as an offset from the head.
fn index(i: i64, size: u64) -> Option<u64> {
    let i = if i < 0 { size as i64 + i } else { i };
    (0..size as i64).contains(&i).then_some(i as u64)
}

pub(crate) fn lindex(c: &ReadCtx<'_>, a: &[Bytes]) -> Result<Reply> {
    let i = tri!(int_arg(&a[2]));
    let Some(m) = tri!(typed(c, &a[1], Kind::List)?) else {
        return Ok(Reply::Nil);
    };
    match index(i, m.size) {
        Some(at) => Ok(Reply::Bulk(element(c, &a[1], &m, at)?)),
        None => Ok(Reply::Nil),
    }
}

/// LSET key index element.
struct LSet {
    key: Bytes,
    /// None: not an integer, answered after the key's checks (Redis
    /// looks the key up first: a missing key or another type answers
    /// before the index).
    index: Option<i64>,
    value: Bytes,
}

pub(crate) fn lset(a: &[Bytes]) -> Result<Box<dyn WriteOp>, Reply> {
    Ok(Box::new(LSet {
        key: a[1].clone(),
        index: int_arg(&a[2]).ok(),
        value: a[3].clone(),
    }))
}

impl WriteOp for LSet {
    fn execute(&self, c: &mut WriteCtx<'_>) -> Result<Reply> {
        let Some(m) = tri!(c.typed_mut(&self.key, Kind::List)?) else {
            return Ok(Reply::error("ERR no such key"));
        };
        let Some(i) = self.index else {
            return Ok(Reply::error(NOT_INT));
        };
        let Some(at) = index(i, m.size) else {
            return Ok(Reply::error("ERR index out of range"));
        };
        c.emit(
            Command::QSet,
            &self.key,
            keys::pack(at.to_string().as_bytes(), &self.value),
            0,
        )?;
        Ok(Reply::ok())
    }
}

/// LTRIM key start stop.
struct LTrim {
    key: Bytes,
    start: i64,
    stop: i64,
}

pub(crate) fn ltrim(a: &[Bytes]) -> Result<Box<dyn WriteOp>, Reply> {
    Ok(Box::new(LTrim {
        key: a[1].clone(),
        start: int_arg(&a[2])?,
        stop: int_arg(&a[3])?,
    }))
}

impl WriteOp for LTrim {
    fn execute(&self, c: &mut WriteCtx<'_>) -> Result<Reply> {
        let Some(m) = tri!(c.typed_mut(&self.key, Kind::List)?) else {
            return Ok(Reply::ok());
        };
        let keep = match list_range(self.start, self.stop, m.size) {
            Some((s, e)) => format!("{s} {e}"),
            None => format!("{} {}", m.size, m.size),
        };
        if keep != format!("0 {}", m.size - 1) {
            c.emit(Command::QFix, &self.key, Bytes::from(keep), 0)?;
        }
        Ok(Reply::ok())
    }
}

/// Lists of this many elements get an index by value at their first
/// LREM ([`Command::QIndex`]); shorter ones are walked.
const INDEX_FROM: u64 = 128;

/// Lists longer than this are walked by LREM, not indexed (Q_INDEX is one
/// write of the whole list).
const INDEX_UP_TO: u64 = 1 << 18;

/// LREM key count element.
struct LRem {
    key: Bytes,
    count: i64,
    element: Bytes,
}

pub(crate) fn lrem(a: &[Bytes]) -> Result<Box<dyn WriteOp>, Reply> {
    Ok(Box::new(LRem {
        key: a[1].clone(),
        count: int_arg(&a[2])?,
        element: a[3].clone(),
    }))
}

impl WriteOp for LRem {
    fn execute(&self, c: &mut WriteCtx<'_>) -> Result<Reply> {
        let (key, count) = (&self.key, self.count);
        let Some(m) = tri!(c.typed_mut(key, Kind::List)?) else {
            return Ok(Reply::Integer(0));
        };
        let limit = if count == 0 {
            usize::MAX
        } else {
            count.unsigned_abs() as usize
        };
        // Where the matches are in the store, from the end `count` says,
        // up to its number of them: from the list's index by value (made
        // now for a long list), else from a walk of the list.
        let by_element = m.by_element || (INDEX_FROM..=INDEX_UP_TO).contains(&m.size);
        if !m.by_element && by_element {
            c.emit(Command::QIndex, key, Bytes::new(), 0)?;
        }
        let (cf, prefix) = if by_element {
            let p = keys::list_element_prefix(m.owner(key), m.version, &self.element);
            (Cf::ZScore, p)
        } else {
            (Cf::Sub, keys::sub_prefix(m.owner(key), m.version))
        };
        let mut gone = Vec::new();
        let mut look = |k: &[u8], v: &[u8]| {
            if by_element || v == &self.element[..] {
                if let Some(i) = k.get(prefix.len()..).and_then(keys::be_u64) {
                    gone.push(i);
                }
            }
            gone.len() < limit
        };
        if count < 0 {
            c.scan_rev(cf, &prefix, &mut look)?;
        } else {
            c.scan(cf, &prefix, &prefix, &mut look)?;
        }
        if gone.len() as u64 >= m.size {
            c.emit(Command::QClear, key, Bytes::new(), 0)?;
        } else {
            // (each leaves a gap: no other element moves)
            for i in &gone {
                c.emit(Command::QRem, key, Bytes::from(i.to_string()), 0)?;
            }
        }
        Ok(Reply::Integer(gone.len() as i64))
    }
}

/// `numkeys key [key ...] <where> [COUNT n]` of LMPOP and ZMPOP (`a`
/// starts at numkeys), checked in Redis's order: numkeys, then `where`
/// (read by `place`; a syntax error when it reads nothing), then the
/// options. The keys, the `where`, the count.
pub(crate) fn mpop_where<'a, T>(
    a: &'a [Bytes],
    place: impl Fn(&'a Bytes) -> Option<T>,
) -> Result<(&'a [Bytes], T, Option<u64>), Reply> {
    let numkeys = match int_arg(&a[0]) {
        Ok(n) if n > 0 => n as usize,
        _ => return Err(Reply::error("ERR numkeys should be greater than 0")),
    };
    if numkeys >= a.len() {
        return Err(Reply::error(SYNTAX));
    }
    let (keys, rest) = a[1..].split_at(numkeys);
    let Some((place_arg, mut opts)) = rest.split_first() else {
        return Err(Reply::error(SYNTAX));
    };
    let place = place(place_arg).ok_or_else(|| Reply::error(SYNTAX))?;
    let mut count = None;
    while let Some((word, more)) = opts.split_first() {
        match more.split_first() {
            Some((n, more)) if count.is_none() && word.eq_ignore_ascii_case(b"count") => {
                count = match int_arg(n) {
                    Ok(n) if n > 0 => Some(n as u64),
                    _ => return Err(Reply::error("ERR count should be greater than 0")),
                };
                opts = more;
            }
            _ => return Err(Reply::error(SYNTAX)),
        }
    }
    Ok((keys, place, count))
}

/// As [`mpop_where`], the `where` argument as given (ZMPOP reads it).
pub(crate) fn mpop_args(a: &[Bytes]) -> Result<(&[Bytes], &Bytes, Option<u64>), Reply> {
    mpop_where(a, Some)
}

/// BLPOP / BRPOP key [key ...] timeout, LMPOP numkeys key [key ...]
/// LEFT|RIGHT [COUNT n], BLMPOP timeout numkeys ...: pop from the first
/// non-empty list, the key beside what was popped; nil when all are
/// empty (the blocking is the server's: this is the attempt, and the
/// non-blocking form in MULTI).
struct PopFirst {
    keys: Vec<Bytes>,
    front: bool,
    /// LMPOP's count (1 when not given), answered as an array; none for
    /// BLPOP and BRPOP, which answer the element.
    count: Option<u64>,
}

fn bpop(a: &[Bytes], front: bool) -> Result<Box<dyn WriteOp>, Reply> {
    let (timeout, keys) = a[1..].split_last().ok_or_else(|| Reply::error(SYNTAX))?;
    timeout_arg(timeout)?;
    Ok(Box::new(PopFirst {
        keys: keys.to_vec(),
        front,
        count: None,
    }))
}

pub(crate) fn blpop(a: &[Bytes]) -> Result<Box<dyn WriteOp>, Reply> {
    bpop(a, true)
}

pub(crate) fn brpop(a: &[Bytes]) -> Result<Box<dyn WriteOp>, Reply> {
    bpop(a, false)
}

/// LMPOP's arguments from numkeys on.
fn mpop(a: &[Bytes]) -> Result<PopFirst, Reply> {
    let (keys, front, count) = mpop_where(a, |w| side(w))?;
    Ok(PopFirst {
        keys: keys.to_vec(),
        front,
        count: Some(count.unwrap_or(1)),
    })
}

pub(crate) fn lmpop(a: &[Bytes]) -> Result<Box<dyn WriteOp>, Reply> {
    Ok(Box::new(mpop(&a[1..])?))
}

/// BLMPOP: the timeout is read after the rest, as Redis does.
pub(crate) fn blmpop(a: &[Bytes]) -> Result<Box<dyn WriteOp>, Reply> {
    let op = mpop(&a[2..])?;
    timeout_arg(&a[1])?;
    Ok(Box::new(op))
}

impl WriteOp for PopFirst {
    fn execute(&self, c: &mut WriteCtx<'_>) -> Result<Reply> {
        for key in &self.keys {
            if tri!(c.typed_mut(key, Kind::List)?).is_none() {
                continue;
            }
            let popped = pop_list(c, key, self.front, self.count)?;
            return Ok(Reply::Array(vec![Reply::Bulk(key.clone()), popped]));
        }
        Ok(Reply::NilArray)
    }
}

/// LINSERT key BEFORE|AFTER pivot element: the elements on the shorter
/// side of the insertion move by one (QSet events), so the events stay
/// few near either end.
struct LInsert {
    key: Bytes,
    after: bool,
    pivot: Bytes,
    element: Bytes,
}

pub(crate) fn linsert(a: &[Bytes]) -> Result<Box<dyn WriteOp>, Reply> {
    let after = match a[2].to_ascii_lowercase().as_slice() {
        b"before" => false,
        b"after" => true,
        _ => return Err(Reply::error(SYNTAX)),
    };
    Ok(Box::new(LInsert {
        key: a[1].clone(),
        after,
        pivot: a[3].clone(),
        element: a[4].clone(),
    }))
}

impl WriteOp for LInsert {
    fn execute(&self, c: &mut WriteCtx<'_>) -> Result<Reply> {
        let (key, element) = (&self.key, &self.element);
        let Some(m) = tri!(c.typed_mut(key, Kind::List)?) else {
            return Ok(Reply::Integer(0));
        };
        let items: Vec<Bytes> = super::sub_items(c, key, &m)?
            .into_iter()
            .map(|(_, v)| v)
            .collect();
        let Some(pivot) = items.iter().position(|v| *v == self.pivot) else {
            return Ok(Reply::Integer(-1));
        };
        let at = pivot + usize::from(self.after);
        let n = items.len();
        let set = |c: &mut WriteCtx<'_>, i: usize, v: &Bytes| {
            c.emit(
                Command::QSet,
                key,
                keys::pack(i.to_string().as_bytes(), v),
                0,
            )
        };
        if at == n {
            c.emit(Command::QPushBack, key, element.clone(), 0)?;
        } else if at == 0 {
            c.emit(Command::QPushFront, key, element.clone(), 0)?;
        } else {
            if m.gaps > 0 {
                // (the shifts below go by rank: every index one apart)
                c.emit(Command::QPack, key, Bytes::new(), 0)?;
            }
            if at >= n - at {
                c.emit(Command::QPushBack, key, items[n - 1].clone(), 0)?;
                for i in (at + 1..n).rev() {
                    set(c, i, &items[i - 1])?;
                }
            } else {
                c.emit(Command::QPushFront, key, items[0].clone(), 0)?;
                for (i, item) in items.iter().enumerate().take(at).skip(1) {
                    set(c, i, item)?;
                }
            }
            set(c, at, element)?;
        }
        Ok(Reply::Integer(n as i64 + 1))
    }
}

/// LPOS key element [RANK r] [COUNT n] [MAXLEN len].
pub(crate) fn lpos(c: &ReadCtx<'_>, a: &[Bytes]) -> Result<Reply> {
    let (mut rank, mut count, mut maxlen) = (1i64, None, 0usize);
    let mut j = 3;
    while j < a.len() {
        let Some(v) = a.get(j + 1) else {
            return Ok(Reply::error(SYNTAX));
        };
        match a[j].to_ascii_lowercase().as_slice() {
            b"rank" => {
                rank = tri!(int_arg(v));
                if rank == i64::MIN {
                    return Ok(Reply::error("ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807"));
                }
                if rank == 0 {
                    return Ok(Reply::error("ERR RANK can't be zero: use 1 to start from the first match, 2 from the second ... or use negative to start from the end of the list"));
                }
            }
            b"count" => match int_arg(v) {
                Ok(n) if n >= 0 => count = Some(n as usize),
                _ => return Ok(Reply::error("ERR COUNT can't be negative")),
            },
            b"maxlen" => match int_arg(v) {
                Ok(n) if n >= 0 => maxlen = n as usize,
                _ => return Ok(Reply::error("ERR MAXLEN can't be negative")),
            },
            _ => return Ok(Reply::error(SYNTAX)),
        }
        j += 2;
    }
    let Some(m) = tri!(typed(c, &a[1], Kind::List)?) else {
        return Ok(if count.is_some() {
            Reply::Array(vec![])
        } else {
            Reply::Nil
        });
    };
    let items: Vec<Bytes> = super::sub_items(c, &a[1], &m)?
        .into_iter()
        .map(|(_, v)| v)
        .collect();
    let n = items.len();
    let order: Box<dyn Iterator<Item = usize>> = if rank < 0 {
        Box::new((0..n).rev())
    } else {
        Box::new(0..n)
    };
    let skip = rank.unsigned_abs() as usize - 1;
    let mut found = Vec::new();
    let mut matches = 0;
    for (seen, i) in order.enumerate() {
        if maxlen != 0 && seen >= maxlen {
            break;
        }
        if items[i] == a[2] {
            matches += 1;
            if matches > skip {
                found.push(i);
                match count {
                    None => break,
                    Some(c) if c != 0 && found.len() >= c => break,
                    _ => {}
                }
            }
        }
    }
    Ok(match count {
        None => found
            .first()
            .map_or(Reply::Nil, |&i| Reply::Integer(i as i64)),
        Some(_) => Reply::Array(
            found
                .into_iter()
                .map(|i| Reply::Integer(i as i64))
                .collect(),
        ),
    })
}
