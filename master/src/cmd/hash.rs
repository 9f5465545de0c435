//! Hash commands.

use bytes::Bytes;
use rocksync_protocol::{Command, Reply};

use super::{fmt_float, int_arg, parse_float, sub_items, tri, typed, ReadCtx, View, WriteCtx};
use crate::error::Result;
use crate::store::keys::{self, Kind, Meta};
use crate::store::Cf;

fn field_value(v: &impl View, key: &[u8], m: &Option<Meta>, field: &[u8]) -> Result<Option<Bytes>> {
    match m {
        None => Ok(None),
        Some(m) => Ok(v
            .get(Cf::Sub, &keys::sub_key(key, m.version, field))?
            .map(Bytes::from)),
    }
}

/// Set pairs; returns how many fields were new.
fn set_pairs(c: &mut WriteCtx<'_>, key: &[u8], pairs: &[Bytes]) -> Result<Result<i64, Reply>> {
    if let Err(r) = c.typed_mut(key, Kind::Hash)? {
        return Ok(Err(r));
    }
    let mut added = 0;
    for p in pairs.chunks(2) {
        let m = c.raw_meta(key)?;
        if field_value(c, key, &m, &p[0])?.is_none() {
            added += 1;
        }
        c.emit(Command::HSet, key, keys::pack(&p[0], &p[1]), 0)?;
    }
    Ok(Ok(added))
}

fn wrong_args(name: &str) -> Reply {
    Reply::error(format!(
        "ERR wrong number of arguments for '{name}' command"
    ))
}

pub(crate) fn hset(c: &mut WriteCtx<'_>, a: &[Bytes]) -> Result<Reply> {
    if a.len() % 2 != 0 {
        return Ok(wrong_args("hset"));
    }
    Ok(Reply::Integer(tri!(set_pairs(c, &a[1], &a[2..])?)))
}

pub(crate) fn hmset(c: &mut WriteCtx<'_>, a: &[Bytes]) -> Result<Reply> {
    if a.len() % 2 != 0 {
        return Ok(wrong_args("hmset"));
    }
    tri!(set_pairs(c, &a[1], &a[2..])?);
    Ok(Reply::ok())
}

pub(crate) fn hsetnx(c: &mut WriteCtx<'_>, a: &[Bytes]) -> Result<Reply> {
    let m = tri!(c.typed_mut(&a[1], Kind::Hash)?);
    if field_value(c, &a[1], &m, &a[2])?.is_some() {
        return Ok(Reply::Integer(0));
    }
    c.emit(Command::HSet, &a[1], keys::pack(&a[2], &a[3]), 0)?;
    Ok(Reply::Integer(1))
}

pub(crate) fn hget(c: &ReadCtx<'_>, a: &[Bytes]) -> Result<Reply> {
    let m = tri!(typed(c, &a[1], Kind::Hash)?);
    Ok(field_value(c, &a[1], &m, &a[2])?.map_or(Reply::Nil, Reply::Bulk))
}

pub(crate) fn hmget(c: &ReadCtx<'_>, a: &[Bytes]) -> Result<Reply> {
    let m = tri!(typed(c, &a[1], Kind::Hash)?);
    let mut out = Vec::with_capacity(a.len() - 2);
    for f in &a[2..] {
        out.push(field_value(c, &a[1], &m, f)?.map_or(Reply::Nil, Reply::Bulk));
    }
    Ok(Reply::Array(out))
}

pub(crate) fn hdel(c: &mut WriteCtx<'_>, a: &[Bytes]) -> Result<Reply> {
    tri!(c.typed_mut(&a[1], Kind::Hash)?);
    let mut n = 0;
    for f in &a[2..] {
        let m = c.raw_meta(&a[1])?;
        if field_value(c, &a[1], &m, f)?.is_some() {
            c.emit(Command::HDel, &a[1], f.clone(), 0)?;
            n += 1;
        }
    }
    Ok(Reply::Integer(n))
}

fn items(c: &ReadCtx<'_>, key: &[u8]) -> Result<Result<Vec<(Bytes, Bytes)>, Reply>> {
    Ok(match typed(c, key, Kind::Hash)? {
        Err(r) => Err(r),
        Ok(None) => Ok(Vec::new()),
        Ok(Some(m)) => Ok(sub_items(c, key, &m)?),
    })
}

pub(crate) fn hgetall(c: &ReadCtx<'_>, a: &[Bytes]) -> Result<Reply> {
    let items = tri!(items(c, &a[1])?);
    Ok(Reply::Array(
        items
            .into_iter()
            .flat_map(|(f, v)| [Reply::Bulk(f), Reply::Bulk(v)])
            .collect(),
    ))
}

pub(crate) fn hkeys(c: &ReadCtx<'_>, a: &[Bytes]) -> Result<Reply> {
    let items = tri!(items(c, &a[1])?);
    Ok(Reply::Array(
        items.into_iter().map(|(f, _)| Reply::Bulk(f)).collect(),
    ))
}

pub(crate) fn hvals(c: &ReadCtx<'_>, a: &[Bytes]) -> Result<Reply> {
    let items = tri!(items(c, &a[1])?);
    Ok(Reply::Array(
        items.into_iter().map(|(_, v)| Reply::Bulk(v)).collect(),
    ))
}

pub(crate) fn hlen(c: &ReadCtx<'_>, a: &[Bytes]) -> Result<Reply> {
    Ok(Reply::Integer(
        tri!(typed(c, &a[1], Kind::Hash)?).map_or(0, |m| m.size as i64),
    ))
}

pub(crate) fn hstrlen(c: &ReadCtx<'_>, a: &[Bytes]) -> Result<Reply> {
    let m = tri!(typed(c, &a[1], Kind::Hash)?);
    Ok(Reply::Integer(
        field_value(c, &a[1], &m, &a[2])?.map_or(0, |v| v.len() as i64),
    ))
}

pub(crate) fn hexists(c: &ReadCtx<'_>, a: &[Bytes]) -> Result<Reply> {
    let m = tri!(typed(c, &a[1], Kind::Hash)?);
    Ok(Reply::Integer(i64::from(
        field_value(c, &a[1], &m, &a[2])?.is_some(),
    )))
}

pub(crate) fn hincrby(c: &mut WriteCtx<'_>, a: &[Bytes]) -> Result<Reply> {
    let by = tri!(int_arg(&a[3]));
    let m = tri!(c.typed_mut(&a[1], Kind::Hash)?);
    let current = match field_value(c, &a[1], &m, &a[2])? {
        None => 0,
        Some(v) => match rocksync_protocol::parse_i64(&v) {
            Some(n) => n,
            None => return Ok(Reply::error("ERR hash value is not an integer")),
        },
    };
    let Some(n) = current.checked_add(by) else {
        return Ok(Reply::error("ERR increment or decrement would overflow"));
    };
    let cmd = if by < 0 {
        Command::HDecr
    } else {
        Command::HIncr
    };
    c.emit(cmd, &a[1], keys::pack(&a[2], n.to_string().as_bytes()), 0)?;
    Ok(Reply::Integer(n))
}

pub(crate) fn hincrbyfloat(c: &mut WriteCtx<'_>, a: &[Bytes]) -> Result<Reply> {
    let by = tri!(super::float_arg(&a[3]));
    let m = tri!(c.typed_mut(&a[1], Kind::Hash)?);
    let current = match field_value(c, &a[1], &m, &a[2])? {
        None => 0.0,
        Some(v) => match parse_float(&v) {
            Some(n) => n,
            None => return Ok(Reply::error("ERR hash value is not a float")),
        },
    };
    let n = current + by;
    if !n.is_finite() {
        return Ok(Reply::error("ERR increment would produce NaN or Infinity"));
    }
    let text = fmt_float(n);
    c.emit(Command::HIncr, &a[1], keys::pack(&a[2], text.as_bytes()), 0)?;
    Ok(Reply::Bulk(Bytes::from(text)))
}

pub(crate) fn hscan(c: &ReadCtx<'_>, a: &[Bytes]) -> Result<Reply> {
    super::scan_collection(c, a, Kind::Hash, |f, v, out| {
        out.push(Reply::Bulk(f.clone()));
        out.push(Reply::Bulk(Bytes::copy_from_slice(v)));
    })
}

/// HRANDFIELD key [count [WITHVALUES]].
pub(crate) fn hrandfield(c: &ReadCtx<'_>, a: &[Bytes]) -> Result<Reply> {
    let (count, withvalues) = tri!(super::rand_args(a, b"withvalues"));
    let items = match tri!(typed(c, &a[1], Kind::Hash)?) {
        Some(m) => sub_items(c, &a[1], &m)?,
        None => Vec::new(),
    };
    let Some(picks) = tri!(super::random_picks(items.len(), count, super::seed())) else {
        return Ok(match items.len() {
            0 => Reply::Nil,
            n => Reply::Bulk(items[super::Rng::new(super::seed()).below(n)].0.clone()),
        });
    };
    let mut out = Vec::with_capacity(picks.len() * (1 + usize::from(withvalues)));
    for i in picks {
        out.push(Reply::Bulk(items[i].0.clone()));
        if withvalues {
            out.push(Reply::Bulk(items[i].1.clone()));
        }
    }
    Ok(Reply::Array(out))
}
