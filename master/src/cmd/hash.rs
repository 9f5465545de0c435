//! Hash commands.

use bytes::Bytes;
use rocksync_protocol::{Command, Reply};

use super::longdouble::LongDouble;
use super::{int_arg, sub_items, tri, typed, wrong_arity, ReadCtx, View, WriteCtx, WriteOp};
use crate::error::Result;
use crate::store::keys::{self, Kind, Meta};
use crate::store::Cf;

fn field_value(v: &impl View, key: &[u8], m: &Option<Meta>, field: &[u8]) -> Result<Option<Bytes>> {
    match m {
        None => Ok(None),
        Some(m) => Ok(v
            .get(Cf::Sub, &keys::sub_key(m.owner(key), m.version, field))?
            .map(Bytes::from)),
    }
}

/// HSET / HMSET key field value [field value ...], HSETNX key field value.
struct HSet {
    key: Bytes,
    pairs: Vec<(Bytes, Bytes)>,
    reply: SetReply,
}

/// What an [`HSet`] answers.
#[derive(Clone, Copy, PartialEq)]
enum SetReply {
    /// HSET: how many fields were new.
    Added,
    /// HMSET: OK.
    Ok,
    /// HSETNX: 1 when the field was new (and set), 0 otherwise.
    IfNew,
}

fn parse_pairs(a: &[Bytes], name: &str, reply: SetReply) -> Result<Box<dyn WriteOp>, Reply> {
    if a.len() % 2 != 0 {
        return Err(wrong_arity(name));
    }
    Ok(Box::new(HSet {
        key: a[1].clone(),
        pairs: a[2..]
            .chunks(2)
            .map(|p| (p[0].clone(), p[1].clone()))
            .collect(),
        reply,
    }))
}

pub(crate) fn hset(a: &[Bytes]) -> Result<Box<dyn WriteOp>, Reply> {
    parse_pairs(a, "hset", SetReply::Added)
}

pub(crate) fn hmset(a: &[Bytes]) -> Result<Box<dyn WriteOp>, Reply> {
    parse_pairs(a, "hmset", SetReply::Ok)
}

pub(crate) fn hsetnx(a: &[Bytes]) -> Result<Box<dyn WriteOp>, Reply> {
    parse_pairs(a, "hsetnx", SetReply::IfNew)
}

impl WriteOp for HSet {
    fn execute(&self, c: &mut WriteCtx<'_>) -> Result<Reply> {
        let key = &self.key;
        tri!(c.typed_mut(key, Kind::Hash)?);
        let mut added = 0;
        for (field, value) in &self.pairs {
            let m = c.raw_meta(key)?;
            let new = field_value(c, key, &m, field)?.is_none();
            if !new && self.reply == SetReply::IfNew {
                return Ok(Reply::Integer(0));
            }
            added += i64::from(new);
            c.emit(Command::HSet, key, keys::pack(field, value), 0)?;
        }
        Ok(match self.reply {
            SetReply::Ok => Reply::ok(),
            SetReply::Added | SetReply::IfNew => Reply::Integer(added),
        })
    }
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

/// HDEL key field [field ...].
struct HDel {
    key: Bytes,
    fields: Vec<Bytes>,
}

pub(crate) fn hdel(a: &[Bytes]) -> Result<Box<dyn WriteOp>, Reply> {
    Ok(Box::new(HDel {
        key: a[1].clone(),
        fields: a[2..].to_vec(),
    }))
}

impl WriteOp for HDel {
    fn execute(&self, c: &mut WriteCtx<'_>) -> Result<Reply> {
        let key = &self.key;
        tri!(c.typed_mut(key, Kind::Hash)?);
        let mut n = 0;
        for f in &self.fields {
            let m = c.raw_meta(key)?;
            if field_value(c, key, &m, f)?.is_some() {
                c.emit(Command::HDel, key, f.clone(), 0)?;
                n += 1;
            }
        }
        Ok(Reply::Integer(n))
    }
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
    Ok(Reply::Map(
        items
            .into_iter()
            .map(|(f, v)| (Reply::Bulk(f), Reply::Bulk(v)))
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

/// HINCRBY key field n, HINCRBYFLOAT key field x.
struct HIncr {
    key: Bytes,
    field: Bytes,
    by: Increment,
}

#[derive(Clone, Copy)]
enum Increment {
    Int(i64),
    Float(LongDouble),
}

pub(crate) fn hincrby(a: &[Bytes]) -> Result<Box<dyn WriteOp>, Reply> {
    Ok(Box::new(HIncr {
        key: a[1].clone(),
        field: a[2].clone(),
        by: Increment::Int(int_arg(&a[3])?),
    }))
}

pub(crate) fn hincrbyfloat(a: &[Bytes]) -> Result<Box<dyn WriteOp>, Reply> {
    let by = LongDouble::parse(&a[3]).ok_or_else(|| Reply::error(super::NOT_FLOAT))?;
    if !by.is_finite() {
        // Redis's wording here (INCRBYFLOAT's differs), before any data.
        return Err(Reply::error("ERR value is NaN or Infinity"));
    }
    Ok(Box::new(HIncr {
        key: a[1].clone(),
        field: a[2].clone(),
        by: Increment::Float(by),
    }))
}

impl WriteOp for HIncr {
    fn execute(&self, c: &mut WriteCtx<'_>) -> Result<Reply> {
        let (key, field) = (&self.key, &self.field);
        let m = tri!(c.typed_mut(key, Kind::Hash)?);
        let current = field_value(c, key, &m, field)?;
        match self.by {
            Increment::Int(by) => {
                let current = match current {
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
                c.emit(cmd, key, keys::pack(field, n.to_string().as_bytes()), 0)?;
                Ok(Reply::Integer(n))
            }
            Increment::Float(by) => {
                // In `long double`, as Redis computes it.
                let current = match current {
                    None => LongDouble::ZERO,
                    Some(v) => match LongDouble::parse(&v) {
                        Some(n) => n,
                        None => return Ok(Reply::error("ERR hash value is not a float")),
                    },
                };
                let Some(n) = current.checked_add(by) else {
                    return Ok(Reply::error("ERR increment would produce NaN or Infinity"));
                };
                let text = n.to_string();
                c.emit(Command::HIncr, key, keys::pack(field, text.as_bytes()), 0)?;
                Ok(Reply::Bulk(Bytes::from(text)))
            }
        }
    }
}

pub(crate) fn hscan(c: &ReadCtx<'_>, a: &[Bytes]) -> Result<Reply> {
    super::generic::scan_collection(c, a, Kind::Hash, |f, v, out| {
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
    let field = |i: usize| Reply::Bulk(items[i].0.clone());
    Ok(if withvalues {
        Reply::Pairs(
            picks
                .into_iter()
                .map(|i| (field(i), Reply::Bulk(items[i].1.clone())))
                .collect(),
        )
    } else {
        Reply::Array(picks.into_iter().map(field).collect())
    })
}
