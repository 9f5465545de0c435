//! List commands.

use bytes::Bytes;
use rocksync_protocol::{Command, Reply};

use super::{int_arg, tri, typed, ReadCtx, View, WriteCtx};
use crate::cmd::string::range;
use crate::error::Result;
use crate::store::keys::{self, Kind, Meta};
use crate::store::Cf;

fn push(c: &mut WriteCtx<'_>, a: &[Bytes], front: bool, only_existing: bool) -> Result<Reply> {
    let m = tri!(c.typed_mut(&a[1], Kind::List)?);
    if only_existing && m.is_none() {
        return Ok(Reply::Integer(0));
    }
    let cmd = if front {
        Command::QPushFront
    } else {
        Command::QPushBack
    };
    for v in &a[2..] {
        c.emit(cmd, &a[1], v.clone(), 0)?;
    }
    let len = c.raw_meta(&a[1])?.map_or(0, |m| m.size);
    Ok(Reply::Integer(len as i64))
}

pub(crate) fn lpush(c: &mut WriteCtx<'_>, a: &[Bytes]) -> Result<Reply> {
    push(c, a, true, false)
}

pub(crate) fn rpush(c: &mut WriteCtx<'_>, a: &[Bytes]) -> Result<Reply> {
    push(c, a, false, false)
}

pub(crate) fn lpushx(c: &mut WriteCtx<'_>, a: &[Bytes]) -> Result<Reply> {
    push(c, a, true, true)
}

pub(crate) fn rpushx(c: &mut WriteCtx<'_>, a: &[Bytes]) -> Result<Reply> {
    push(c, a, false, true)
}

fn element(v: &impl View, key: &[u8], m: &Meta, index: u64) -> Result<Bytes> {
    Ok(
        v.get(Cf::Sub, &keys::list_key(key, m.version, m.head + index))?
            .map(Bytes::from)
            .unwrap_or_default(),
    )
}

fn pop(c: &mut WriteCtx<'_>, a: &[Bytes], front: bool) -> Result<Reply> {
    let count = match a.len() {
        2 => None,
        3 => match int_arg(&a[2]) {
            Ok(n) if n >= 0 => Some(n as u64),
            Ok(_) => return Ok(Reply::error("ERR value is out of range, must be positive")),
            Err(r) => return Ok(r),
        },
        _ => return Ok(Reply::error(super::SYNTAX)),
    };
    let Some(m) = tri!(c.typed_mut(&a[1], Kind::List)?) else {
        return Ok(if count.is_some() {
            Reply::NilArray
        } else {
            Reply::Nil
        });
    };
    let n = count.unwrap_or(1).min(m.size);
    let mut out = Vec::with_capacity(n as usize);
    for i in 0..n {
        let index = if front { i } else { m.size - 1 - i };
        out.push(element(c, &a[1], &m, index)?);
    }
    let cmd = if front {
        Command::QPopFront
    } else {
        Command::QPopBack
    };
    for _ in 0..n {
        c.emit(cmd, &a[1], Bytes::new(), 0)?;
    }
    Ok(match count {
        None => out.pop().map_or(Reply::Nil, Reply::Bulk),
        Some(_) => Reply::Array(out.into_iter().map(Reply::Bulk).collect()),
    })
}

pub(crate) fn lpop(c: &mut WriteCtx<'_>, a: &[Bytes]) -> Result<Reply> {
    pop(c, a, true)
}

pub(crate) fn rpop(c: &mut WriteCtx<'_>, a: &[Bytes]) -> Result<Reply> {
    pop(c, a, false)
}

/// Pop an element from one end of `src` and push it onto one end of `dst`
/// (the same list may be both): its two events are one command.
fn move_element(
    c: &mut WriteCtx<'_>,
    src: &[u8],
    dst: &[u8],
    from_left: bool,
    to_left: bool,
) -> Result<Reply> {
    let Some(m) = tri!(c.typed_mut(src, Kind::List)?) else {
        return Ok(Reply::Nil);
    };
    tri!(c.typed_mut(dst, Kind::List)?);
    let index = if from_left { 0 } else { m.size - 1 };
    let v = element(c, src, &m, index)?;
    let (pop, push) = (
        if from_left {
            Command::QPopFront
        } else {
            Command::QPopBack
        },
        if to_left {
            Command::QPushFront
        } else {
            Command::QPushBack
        },
    );
    c.emit(pop, src, Bytes::new(), 0)?;
    c.emit(push, dst, v.clone(), 0)?;
    Ok(Reply::Bulk(v))
}

/// `LEFT` or `RIGHT`: true for left.
fn side(arg: &[u8]) -> Option<bool> {
    match arg.to_ascii_lowercase().as_slice() {
        b"left" => Some(true),
        b"right" => Some(false),
        _ => None,
    }
}

pub(crate) fn lmove(c: &mut WriteCtx<'_>, a: &[Bytes]) -> Result<Reply> {
    let (Some(from), Some(to)) = (side(&a[3]), side(&a[4])) else {
        return Ok(Reply::error(super::SYNTAX));
    };
    move_element(c, &a[1], &a[2], from, to)
}

pub(crate) fn rpoplpush(c: &mut WriteCtx<'_>, a: &[Bytes]) -> Result<Reply> {
    move_element(c, &a[1], &a[2], false, true)
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
    let Some((s, e)) = range(start, stop, m.size as i64) else {
        return Ok(Reply::Array(vec![]));
    };
    let prefix = keys::sub_prefix(&a[1], m.version);
    let from = keys::list_key(&a[1], m.version, m.head + s as u64);
    let mut out = Vec::with_capacity(e - s + 1);
    c.scan(Cf::Sub, &prefix, &from, &mut |_, v| {
        out.push(Reply::Bulk(Bytes::copy_from_slice(v)));
        out.len() <= e - s
    })?;
    Ok(Reply::Array(out))
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

pub(crate) fn lset(c: &mut WriteCtx<'_>, a: &[Bytes]) -> Result<Reply> {
    let i = tri!(int_arg(&a[2]));
    let Some(m) = tri!(c.typed_mut(&a[1], Kind::List)?) else {
        return Ok(Reply::error("ERR no such key"));
    };
    let Some(at) = index(i, m.size) else {
        return Ok(Reply::error("ERR index out of range"));
    };
    c.emit(
        Command::QSet,
        &a[1],
        keys::pack(at.to_string().as_bytes(), &a[3]),
        0,
    )?;
    Ok(Reply::ok())
}

pub(crate) fn ltrim(c: &mut WriteCtx<'_>, a: &[Bytes]) -> Result<Reply> {
    let (start, stop) = (tri!(int_arg(&a[2])), tri!(int_arg(&a[3])));
    let Some(m) = tri!(c.typed_mut(&a[1], Kind::List)?) else {
        return Ok(Reply::ok());
    };
    let keep = match range(start, stop, m.size as i64) {
        Some((s, e)) => format!("{s} {e}"),
        None => format!("{} {}", m.size, m.size),
    };
    if keep != format!("0 {}", m.size - 1) {
        c.emit(Command::QFix, &a[1], Bytes::from(keep), 0)?;
    }
    Ok(Reply::ok())
}

pub(crate) fn lrem(c: &mut WriteCtx<'_>, a: &[Bytes]) -> Result<Reply> {
    let count = tri!(int_arg(&a[2]));
    let Some(m) = tri!(c.typed_mut(&a[1], Kind::List)?) else {
        return Ok(Reply::Integer(0));
    };
    let mut items: Vec<Bytes> = super::sub_items(c, &a[1], &m)?
        .into_iter()
        .map(|(_, v)| v)
        .collect();
    let limit = if count == 0 {
        usize::MAX
    } else {
        count.unsigned_abs() as usize
    };
    let mut removed = 0;
    let mut keep = vec![true; items.len()];
    let order: Box<dyn Iterator<Item = usize>> = if count < 0 {
        Box::new((0..items.len()).rev())
    } else {
        Box::new(0..items.len())
    };
    for i in order {
        if removed == limit {
            break;
        }
        if items[i] == a[3] {
            keep[i] = false;
            removed += 1;
        }
    }
    if removed == 0 {
        return Ok(Reply::Integer(0));
    }
    let mut k = keep.iter();
    items.retain(|_| *k.next().unwrap_or(&true));
    c.emit(Command::QClear, &a[1], Bytes::new(), 0)?;
    for v in items {
        c.emit(Command::QPushBack, &a[1], v, 0)?;
    }
    if m.expire_ms != 0 && c.raw_meta(&a[1])?.is_some() {
        c.emit(Command::KExpireAt, &a[1], Bytes::new(), m.expire_ms)?;
    }
    Ok(Reply::Integer(removed as i64))
}

/// `numkeys key [key ...] <where> [COUNT n]` of LMPOP and ZMPOP (`a`
/// starts at numkeys): the keys, the `where` argument, the count.
pub(crate) fn mpop_args(a: &[Bytes]) -> Result<(&[Bytes], &Bytes, Option<u64>), Reply> {
    let numkeys = match int_arg(&a[0]) {
        Ok(n) if n > 0 => n as usize,
        _ => return Err(Reply::error("ERR numkeys should be greater than 0")),
    };
    if numkeys >= a.len() {
        return Err(Reply::error(super::SYNTAX));
    }
    let (keys, rest) = a[1..].split_at(numkeys);
    let Some((place, opts)) = rest.split_first() else {
        return Err(Reply::error(super::SYNTAX));
    };
    let count = match opts {
        [] => None,
        [word, n] if word.eq_ignore_ascii_case(b"count") => match int_arg(n) {
            Ok(n) if n > 0 => Some(n as u64),
            _ => return Err(Reply::error("ERR count should be greater than 0")),
        },
        _ => return Err(Reply::error(super::SYNTAX)),
    };
    Ok((keys, place, count))
}

/// LMPOP: pop up to COUNT elements from the first non-empty list.
fn mpop(c: &mut WriteCtx<'_>, a: &[Bytes]) -> Result<Reply> {
    let (keys, place, count) = tri!(mpop_args(a));
    let Some(front) = side(place) else {
        return Ok(Reply::error(super::SYNTAX));
    };
    for key in keys {
        if tri!(c.typed_mut(key, Kind::List)?).is_none() {
            continue;
        }
        let n = Bytes::from(count.unwrap_or(1).to_string());
        let popped = pop(c, &[Bytes::new(), key.clone(), n], front)?;
        return Ok(Reply::Array(vec![Reply::Bulk(key.clone()), popped]));
    }
    Ok(Reply::NilArray)
}

pub(crate) fn lmpop(c: &mut WriteCtx<'_>, a: &[Bytes]) -> Result<Reply> {
    mpop(c, &a[1..])
}

/// B*POP key [key ...] timeout: pop from the first non-empty list, the
/// key beside the element; nil when all are empty (the blocking is the
/// server's: this is the attempt, and the non-blocking form in MULTI).
fn bpop(c: &mut WriteCtx<'_>, a: &[Bytes], front: bool) -> Result<Reply> {
    tri!(super::timeout_arg(&a[a.len() - 1]));
    for key in &a[1..a.len() - 1] {
        if tri!(c.typed_mut(key, Kind::List)?).is_none() {
            continue;
        }
        let popped = pop(c, &[Bytes::new(), key.clone()], front)?;
        return Ok(Reply::Array(vec![Reply::Bulk(key.clone()), popped]));
    }
    Ok(Reply::NilArray)
}

pub(crate) fn blpop(c: &mut WriteCtx<'_>, a: &[Bytes]) -> Result<Reply> {
    bpop(c, a, true)
}

pub(crate) fn brpop(c: &mut WriteCtx<'_>, a: &[Bytes]) -> Result<Reply> {
    bpop(c, a, false)
}

pub(crate) fn blmove(c: &mut WriteCtx<'_>, a: &[Bytes]) -> Result<Reply> {
    let (Some(from), Some(to)) = (side(&a[3]), side(&a[4])) else {
        return Ok(Reply::error(super::SYNTAX));
    };
    tri!(super::timeout_arg(&a[5]));
    move_element(c, &a[1], &a[2], from, to)
}

pub(crate) fn brpoplpush(c: &mut WriteCtx<'_>, a: &[Bytes]) -> Result<Reply> {
    tri!(super::timeout_arg(&a[3]));
    move_element(c, &a[1], &a[2], false, true)
}

pub(crate) fn blmpop(c: &mut WriteCtx<'_>, a: &[Bytes]) -> Result<Reply> {
    tri!(super::timeout_arg(&a[1]));
    mpop(c, &a[2..])
}

/// LINSERT key BEFORE|AFTER pivot element: the elements on the shorter
/// side of the insertion move by one (QSet events), so the events stay
/// few near either end.
pub(crate) fn linsert(c: &mut WriteCtx<'_>, a: &[Bytes]) -> Result<Reply> {
    let after = match a[2].to_ascii_lowercase().as_slice() {
        b"before" => false,
        b"after" => true,
        _ => return Ok(Reply::error(super::SYNTAX)),
    };
    let Some(m) = tri!(c.typed_mut(&a[1], Kind::List)?) else {
        return Ok(Reply::Integer(0));
    };
    let items: Vec<Bytes> = super::sub_items(c, &a[1], &m)?
        .into_iter()
        .map(|(_, v)| v)
        .collect();
    let Some(pivot) = items.iter().position(|v| *v == a[3]) else {
        return Ok(Reply::Integer(-1));
    };
    let at = pivot + usize::from(after);
    let n = items.len();
    let set = |c: &mut WriteCtx<'_>, i: usize, v: &Bytes| {
        c.emit(
            Command::QSet,
            &a[1],
            keys::pack(i.to_string().as_bytes(), v),
            0,
        )
    };
    if at == n {
        c.emit(Command::QPushBack, &a[1], a[4].clone(), 0)?;
    } else if at == 0 {
        c.emit(Command::QPushFront, &a[1], a[4].clone(), 0)?;
    } else if at >= n - at {
        c.emit(Command::QPushBack, &a[1], items[n - 1].clone(), 0)?;
        for i in (at + 1..n).rev() {
            set(c, i, &items[i - 1])?;
        }
        set(c, at, &a[4])?;
    } else {
        c.emit(Command::QPushFront, &a[1], items[0].clone(), 0)?;
        for (i, item) in items.iter().enumerate().take(at).skip(1) {
            set(c, i, item)?;
        }
        set(c, at, &a[4])?;
    }
    Ok(Reply::Integer(n as i64 + 1))
}

/// LPOS key element [RANK r] [COUNT n] [MAXLEN len].
pub(crate) fn lpos(c: &ReadCtx<'_>, a: &[Bytes]) -> Result<Reply> {
    let (mut rank, mut count, mut maxlen) = (1i64, None, 0usize);
    let mut j = 3;
    while j < a.len() {
        let Some(v) = a.get(j + 1) else {
            return Ok(Reply::error(super::SYNTAX));
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
            _ => return Ok(Reply::error(super::SYNTAX)),
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
