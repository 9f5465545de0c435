//! String commands.

use bytes::{Bytes, BytesMut};
use rocksync_protocol::{Command, Reply};

use super::longdouble::LongDouble;
use super::{
    int_arg, lower, string_header, tri, typed, wrong_arity, ReadCtx, View, WriteCtx, WriteOp,
    MAX_STRING_BYTES, NOT_INT, SYNTAX,
};
use crate::error::Result;
use crate::store::keys::{Kind, Meta};

fn string_value(v: &impl View, key: &[u8]) -> Result<Result<Option<Bytes>, Reply>> {
    Ok(typed(v, key, Kind::String)?.map(|m| m.map(|m| m.value)))
}

fn string_value_mut(
    c: &mut WriteCtx<'_>,
    key: &[u8],
) -> Result<Result<Option<(Bytes, u64)>, Reply>> {
    Ok(c.typed_mut(key, Kind::String)?
        .map(|m| m.map(|m| (m.value, m.expire_ms))))
}

/// Change a string kept in chunks (`m`, its metadata): `removed` bytes at
/// `offset` become `inserted` (a K_PATCH of one splice, applied to the
/// chunks it touches). Its length after.
///
/// # Errors
/// As [`emit_patch`].
pub(crate) fn splice_long(
    c: &mut WriteCtx<'_>,
    key: &[u8],
    m: &Meta,
    offset: usize,
    removed: usize,
    inserted: &[u8],
) -> Result<usize> {
    let len = m.string_len().max(offset + inserted.len());
    let patch = rocksync_protocol::splice::one(offset, removed, inserted);
    emit_patch(c, key, len, patch)?;
    Ok(len)
}

/// Log `patch`, which leaves the string of `key` `len` bytes long.
///
/// # Errors
/// As [`WriteCtx::emit_event`]; a string too large for a whole-value
/// event of it (RENAME, COPY, RESTORE carry it whole).
pub(crate) fn emit_patch(c: &mut WriteCtx<'_>, key: &[u8], len: usize, patch: Bytes) -> Result<()> {
    let whole = key.len() + len + 64;
    if whole > rocksync_protocol::DEFAULT_MAX_FRAME_BYTES {
        return Err(crate::Error::EventTooLarge {
            bytes: whole,
            max: rocksync_protocol::DEFAULT_MAX_FRAME_BYTES,
        });
    }
    c.emit_event(Command::KPatch, key, patch, 0)
}

fn nil_or(v: Option<Bytes>) -> Reply {
    v.map_or(Reply::Nil, Reply::Bulk)
}

pub(crate) fn get(c: &ReadCtx<'_>, a: &[Bytes]) -> Result<Reply> {
    Ok(nil_or(tri!(string_value(c, &a[1])?)))
}

pub(crate) fn mget(c: &ReadCtx<'_>, a: &[Bytes]) -> Result<Reply> {
    let mut out = Vec::with_capacity(a.len() - 1);
    for k in &a[1..] {
        out.push(match c.live_meta(k)? {
            Some(m) if m.kind == Kind::String => Reply::Bulk(m.value),
            _ => Reply::Nil,
        });
    }
    Ok(Reply::Array(out))
}

/// When a written string expires, as its command said.
#[derive(Clone, Copy)]
enum Ttl {
    /// Never.
    None,
    /// As it did before (KEEPTTL).
    Keep,
    /// This many milliseconds after the write.
    In(u64),
    /// At this unix time, in milliseconds.
    At(u64),
}

impl Ttl {
    /// A time argument in `unit_ms`, relative or `absolute`: Redis's
    /// checks, made where the command is parsed.
    fn parse(arg: &[u8], unit_ms: i64, absolute: bool, cmd: &str) -> Result<Self, Reply> {
        let invalid = || Reply::error(format!("ERR invalid expire time in '{cmd}' command"));
        let n = int_arg(arg)?;
        if n <= 0 {
            return Err(invalid());
        }
        let ms = n.checked_mul(unit_ms).ok_or_else(invalid)?;
        if absolute {
            return Ok(Self::At(ms as u64));
        }
        ms.checked_add(crate::clock::now_ms() as i64)
            .ok_or_else(invalid)?;
        Ok(Self::In(ms as u64))
    }

    /// The expiry to store, given the key's (`old`) and the time of the
    /// write (`now_ms`); 0 for none. The error is Redis's for a time
    /// past what an expiry holds (checked at parse on the connection's
    /// clock, again here on the write's).
    fn at(self, old: u64, now_ms: u64, cmd: &str) -> Result<u64, Reply> {
        Ok(match self {
            Self::None => 0,
            Self::Keep => old,
            Self::In(ms) => now_ms
                .checked_add(ms)
                .filter(|at| i64::try_from(*at).is_ok())
                .ok_or_else(|| {
                    Reply::error(format!("ERR invalid expire time in '{cmd}' command"))
                })?,
            Self::At(ms) => ms,
        })
    }
}

/// SET key value [NX|XX] [GET] [EX|PX|EXAT|PXAT t | KEEPTTL].
struct Set {
    key: Bytes,
    value: Bytes,
    nx: bool,
    xx: bool,
    get: bool,
    ttl: Ttl,
}

pub(crate) fn set(a: &[Bytes]) -> Result<Box<dyn WriteOp>, Reply> {
    let (mut nx, mut xx, mut get, mut keepttl) = (false, false, false, false);
    let mut expire: Option<Ttl> = None;
    let mut i = 3;
    while i < a.len() {
        let opt = lower(&a[i]);
        let next = a.get(i + 1);
        match (opt.as_slice(), next) {
            (b"nx", _) if !xx => nx = true,
            (b"xx", _) if !nx => xx = true,
            (b"get", _) => get = true,
            (b"keepttl", _) if expire.is_none() => keepttl = true,
            (b"ex" | b"px" | b"exat" | b"pxat", Some(t)) if expire.is_none() && !keepttl => {
                let unit = if opt.starts_with(b"p") { 1 } else { 1000 };
                expire = Some(Ttl::parse(t, unit, opt.ends_with(b"at"), "set")?);
                i += 1;
            }
            _ => return Err(Reply::error(SYNTAX)),
        }
        i += 1;
    }
    let ttl = match (expire, keepttl) {
        (Some(t), _) => t,
        (None, true) => Ttl::Keep,
        (None, false) => Ttl::None,
    };
    Ok(Box::new(Set {
        key: a[1].clone(),
        value: a[2].clone(),
        nx,
        xx,
        get,
        ttl,
    }))
}

impl WriteOp for Set {
    fn execute(&self, c: &mut WriteCtx<'_>) -> Result<Reply> {
        // (a long string's value is read only for GET)
        let old = if self.get {
            c.live_meta_mut(&self.key)?
        } else {
            c.live_header_mut(&self.key)?
        };
        let old_value = match &old {
            Some(m) if m.kind == Kind::String => Some(m.value.clone()),
            Some(_) if self.get => return Ok(Reply::error(super::WRONGTYPE)),
            _ => None,
        };
        if (self.nx && old.is_some()) || (self.xx && old.is_none()) {
            return Ok(if self.get {
                nil_or(old_value)
            } else {
                Reply::Nil
            });
        }
        let ttl = tri!(self
            .ttl
            .at(old.as_ref().map_or(0, |m| m.expire_ms), c.now_ms, "set"));
        c.emit(Command::KSet, &self.key, self.value.clone(), ttl)?;
        Ok(if self.get {
            nil_or(old_value)
        } else {
            Reply::ok()
        })
    }
}

/// MSET / MSETNX key value [key value ...].
struct MSet {
    pairs: Vec<(Bytes, Bytes)>,
    /// MSETNX: none is written when one exists.
    nx: bool,
}

fn mset_pairs(a: &[Bytes], name: &str, nx: bool) -> Result<Box<dyn WriteOp>, Reply> {
    if a.len() % 2 == 0 {
        return Err(wrong_arity(name));
    }
    Ok(Box::new(MSet {
        pairs: a[1..]
            .chunks(2)
            .map(|p| (p[0].clone(), p[1].clone()))
            .collect(),
        nx,
    }))
}

pub(crate) fn mset(a: &[Bytes]) -> Result<Box<dyn WriteOp>, Reply> {
    mset_pairs(a, "mset", false)
}

pub(crate) fn msetnx(a: &[Bytes]) -> Result<Box<dyn WriteOp>, Reply> {
    mset_pairs(a, "msetnx", true)
}

impl WriteOp for MSet {
    fn execute(&self, c: &mut WriteCtx<'_>) -> Result<Reply> {
        if self.nx {
            for (k, _) in &self.pairs {
                if c.live_header_mut(k)?.is_some() {
                    return Ok(Reply::Integer(0));
                }
            }
        }
        for (k, v) in &self.pairs {
            c.emit(Command::KSet, k, v.clone(), 0)?;
        }
        Ok(if self.nx {
            Reply::Integer(1)
        } else {
            Reply::ok()
        })
    }
}

/// A command on one string key with one value: what it does with them.
#[derive(Clone, Copy)]
enum KeyValueOp {
    SetNx,
    GetSet,
    Append,
}

struct KeyValue {
    op: KeyValueOp,
    key: Bytes,
    value: Bytes,
}

fn key_value(a: &[Bytes], op: KeyValueOp) -> Result<Box<dyn WriteOp>, Reply> {
    Ok(Box::new(KeyValue {
        op,
        key: a[1].clone(),
        value: a[2].clone(),
    }))
}

pub(crate) fn setnx(a: &[Bytes]) -> Result<Box<dyn WriteOp>, Reply> {
    key_value(a, KeyValueOp::SetNx)
}

pub(crate) fn getset(a: &[Bytes]) -> Result<Box<dyn WriteOp>, Reply> {
    key_value(a, KeyValueOp::GetSet)
}

pub(crate) fn append(a: &[Bytes]) -> Result<Box<dyn WriteOp>, Reply> {
    key_value(a, KeyValueOp::Append)
}

impl WriteOp for KeyValue {
    fn execute(&self, c: &mut WriteCtx<'_>) -> Result<Reply> {
        let (key, value) = (&self.key, &self.value);
        match self.op {
            KeyValueOp::SetNx => {
                if c.live_header_mut(key)?.is_some() {
                    return Ok(Reply::Integer(0));
                }
                c.emit(Command::KSet, key, value.clone(), 0)?;
                Ok(Reply::Integer(1))
            }
            KeyValueOp::GetSet => {
                let old = tri!(string_value_mut(c, key)?);
                c.emit(Command::KSet, key, value.clone(), 0)?;
                Ok(nil_or(old.map(|o| o.0)))
            }
            KeyValueOp::Append => {
                if let Some(m) = tri!(c.string_header_mut(key)?).filter(|m| m.is_chunked()) {
                    if (m.string_len() + value.len()) as u64 > MAX_STRING_BYTES {
                        return Ok(Reply::error(
                            "ERR string exceeds maximum allowed size (proto-max-bulk-len)",
                        ));
                    }
                    let len = splice_long(c, key, &m, m.string_len(), 0, value)?;
                    return Ok(Reply::Integer(len as i64));
                }
                let found = tri!(string_value_mut(c, key)?);
                let existed = found.is_some();
                let (old, expire) = found.unwrap_or_default();
                if (old.len() + value.len()) as u64 > MAX_STRING_BYTES {
                    return Ok(Reply::error(
                        "ERR string exceeds maximum allowed size (proto-max-bulk-len)",
                    ));
                }
                let mut v = BytesMut::with_capacity(old.len() + value.len());
                v.extend_from_slice(&old);
                v.extend_from_slice(value);
                let len = v.len();
                c.emit_string_change(key, existed.then_some(&old[..]), v.freeze(), expire)?;
                Ok(Reply::Integer(len as i64))
            }
        }
    }
}

/// SETEX / PSETEX key time value.
struct SetEx {
    key: Bytes,
    value: Bytes,
    ttl: Ttl,
    name: &'static str,
}

fn setex_unit(a: &[Bytes], unit: i64, name: &'static str) -> Result<Box<dyn WriteOp>, Reply> {
    Ok(Box::new(SetEx {
        key: a[1].clone(),
        value: a[3].clone(),
        ttl: Ttl::parse(&a[2], unit, false, name)?,
        name,
    }))
}

pub(crate) fn setex(a: &[Bytes]) -> Result<Box<dyn WriteOp>, Reply> {
    setex_unit(a, 1000, "setex")
}

pub(crate) fn psetex(a: &[Bytes]) -> Result<Box<dyn WriteOp>, Reply> {
    setex_unit(a, 1, "psetex")
}

impl WriteOp for SetEx {
    fn execute(&self, c: &mut WriteCtx<'_>) -> Result<Reply> {
        c.live_header_mut(&self.key)?;
        let at = tri!(self.ttl.at(0, c.now_ms, self.name));
        c.emit(Command::KSet, &self.key, self.value.clone(), at)?;
        Ok(Reply::ok())
    }
}

/// GETDEL key.
struct GetDel {
    key: Bytes,
}

pub(crate) fn getdel(a: &[Bytes]) -> Result<Box<dyn WriteOp>, Reply> {
    Ok(Box::new(GetDel { key: a[1].clone() }))
}

impl WriteOp for GetDel {
    fn execute(&self, c: &mut WriteCtx<'_>) -> Result<Reply> {
        let old = tri!(string_value_mut(c, &self.key)?);
        if old.is_some() {
            c.emit(Command::KDel, &self.key, Bytes::new(), 0)?;
        }
        Ok(nil_or(old.map(|o| o.0)))
    }
}

pub(crate) fn strlen(c: &ReadCtx<'_>, a: &[Bytes]) -> Result<Reply> {
    Ok(Reply::Integer(
        tri!(string_header(c, &a[1])?).map_or(0, |m| m.string_len() as i64),
    ))
}

/// INCR, DECR, INCRBY, DECRBY key [n].
struct IncrBy {
    key: Bytes,
    by: i64,
}

fn incr_by(a: &[Bytes], by: i64) -> Result<Box<dyn WriteOp>, Reply> {
    Ok(Box::new(IncrBy {
        key: a[1].clone(),
        by,
    }))
}

impl WriteOp for IncrBy {
    fn execute(&self, c: &mut WriteCtx<'_>) -> Result<Reply> {
        let old = tri!(string_value_mut(c, &self.key)?);
        let current = match &old {
            None => 0,
            Some((v, _)) => {
                tri!(rocksync_protocol::parse_i64(v).ok_or_else(|| Reply::error(NOT_INT)))
            }
        };
        let Some(n) = current.checked_add(self.by) else {
            return Ok(Reply::error("ERR increment or decrement would overflow"));
        };
        let cmd = if self.by < 0 {
            Command::KDecr
        } else {
            Command::KIncr
        };
        c.emit(cmd, &self.key, Bytes::from(n.to_string()), 0)?;
        Ok(Reply::Integer(n))
    }
}

pub(crate) fn incr(a: &[Bytes]) -> Result<Box<dyn WriteOp>, Reply> {
    incr_by(a, 1)
}

pub(crate) fn decr(a: &[Bytes]) -> Result<Box<dyn WriteOp>, Reply> {
    incr_by(a, -1)
}

pub(crate) fn incrby(a: &[Bytes]) -> Result<Box<dyn WriteOp>, Reply> {
    incr_by(a, int_arg(&a[2])?)
}

pub(crate) fn decrby(a: &[Bytes]) -> Result<Box<dyn WriteOp>, Reply> {
    let by = int_arg(&a[2])?;
    let neg = by
        .checked_neg()
        .ok_or_else(|| Reply::error("ERR decrement would overflow"))?;
    incr_by(a, neg)
}

/// INCRBYFLOAT key n: in `long double`, as Redis computes it.
struct IncrByFloat {
    key: Bytes,
    by: LongDouble,
}

pub(crate) fn incrbyfloat(a: &[Bytes]) -> Result<Box<dyn WriteOp>, Reply> {
    Ok(Box::new(IncrByFloat {
        key: a[1].clone(),
        by: LongDouble::parse(&a[2]).ok_or_else(|| Reply::error(super::NOT_FLOAT))?,
    }))
}

impl WriteOp for IncrByFloat {
    fn execute(&self, c: &mut WriteCtx<'_>) -> Result<Reply> {
        let old = tri!(string_value_mut(c, &self.key)?);
        let current = match &old {
            None => LongDouble::ZERO,
            Some((v, _)) => {
                tri!(LongDouble::parse(v).ok_or_else(|| Reply::error(super::NOT_FLOAT)))
            }
        };
        let Some(n) = current.checked_add(self.by) else {
            return Ok(Reply::error("ERR increment would produce NaN or Infinity"));
        };
        let text = Bytes::from(n.to_string());
        c.emit(Command::KIncr, &self.key, text.clone(), 0)?;
        Ok(Reply::Bulk(text))
    }
}

/// Redis's start/end normalization over a length: `None` for an empty range.
pub(crate) fn range(start: i64, end: i64, len: i64) -> Option<(usize, usize)> {
    let norm = |i: i64| if i < 0 { (len + i).max(0) } else { i };
    let (s, e) = (norm(start), norm(end).min(len - 1));
    (len > 0 && s <= e && s < len).then_some((s as usize, e as usize))
}

pub(crate) fn getrange(c: &ReadCtx<'_>, a: &[Bytes]) -> Result<Reply> {
    let (s, e) = (tri!(int_arg(&a[2])), tri!(int_arg(&a[3])));
    let Some(m) = tri!(string_header(c, &a[1])?) else {
        return Ok(Reply::Bulk(Bytes::new()));
    };
    if m.is_chunked() {
        if let Some(c) = c.consistent() {
            // (its header and chunks from one state)
            return getrange(&c, a);
        }
    }
    if s < 0 && e < 0 && s > e {
        return Ok(Reply::Bulk(Bytes::new()));
    }
    Ok(Reply::Bulk(match range(s, e, m.string_len() as i64) {
        Some((s, e)) => c.string_range(&a[1], &m, s, e + 1)?,
        None => Bytes::new(),
    }))
}

/// SETRANGE key offset value.
struct SetRange {
    key: Bytes,
    offset: usize,
    value: Bytes,
    /// The string would outgrow proto-max-bulk-len: answered after the
    /// key's type is checked and an empty value is answered, as Redis
    /// does.
    too_big: bool,
}

pub(crate) fn setrange(a: &[Bytes]) -> Result<Box<dyn WriteOp>, Reply> {
    let offset = int_arg(&a[2])?;
    let Ok(offset) = u64::try_from(offset) else {
        return Err(Reply::error("ERR offset is out of range"));
    };
    let end = offset + a[3].len() as u64;
    Ok(Box::new(SetRange {
        key: a[1].clone(),
        offset: usize::try_from(offset).unwrap_or(usize::MAX),
        value: a[3].clone(),
        too_big: end > MAX_STRING_BYTES,
    }))
}

impl WriteOp for SetRange {
    fn execute(&self, c: &mut WriteCtx<'_>) -> Result<Reply> {
        if let Some(m) = tri!(c.string_header_mut(&self.key)?).filter(|m| m.is_chunked()) {
            let len = m.string_len();
            if self.value.is_empty() {
                return Ok(Reply::Integer(len as i64));
            }
            if self.too_big {
                return Ok(Reply::error(
                    "ERR string exceeds maximum allowed size (proto-max-bulk-len)",
                ));
            }
            // In place, or replacing the tail, or past the end (padded).
            let (off, end) = (self.offset, self.offset + self.value.len());
            let removed = end.min(len).saturating_sub(off);
            let len = splice_long(c, &self.key, &m, off, removed, &self.value)?;
            return Ok(Reply::Integer(len as i64));
        }
        let found = tri!(string_value_mut(c, &self.key)?);
        let existed = found.is_some();
        let (old, expire) = found.unwrap_or_default();
        if self.value.is_empty() {
            return Ok(Reply::Integer(old.len() as i64));
        }
        if self.too_big {
            return Ok(Reply::error(
                "ERR string exceeds maximum allowed size (proto-max-bulk-len)",
            ));
        }
        let (off, end) = (self.offset, self.offset + self.value.len());
        let mut v = BytesMut::from(&old[..]);
        if v.len() < end {
            v.resize(end, 0);
        }
        v[off..end].copy_from_slice(&self.value);
        let len = v.len();
        c.emit_string_change(&self.key, existed.then_some(&old[..]), v.freeze(), expire)?;
        Ok(Reply::Integer(len as i64))
    }
}

/// GETEX key [EX s | PX ms | EXAT t | PXAT t | PERSIST]: the value, its
/// expiry changed (a time already past deletes the key).
struct GetEx {
    key: Bytes,
    /// `Ttl::None` for PERSIST; `None` leaves the expiry as it is.
    ttl: Option<Ttl>,
}

pub(crate) fn getex(a: &[Bytes]) -> Result<Box<dyn WriteOp>, Reply> {
    let mut ttl = None;
    let mut i = 2;
    while i < a.len() {
        let opt = lower(&a[i]);
        match (opt.as_slice(), a.get(i + 1)) {
            (b"persist", _) if ttl.is_none() => ttl = Some(Ttl::None),
            (b"ex" | b"px" | b"exat" | b"pxat", Some(t)) if ttl.is_none() => {
                let unit = if opt.starts_with(b"p") { 1 } else { 1000 };
                ttl = Some(Ttl::parse(t, unit, opt.ends_with(b"at"), "getex")?);
                i += 1;
            }
            _ => return Err(Reply::error(SYNTAX)),
        }
        i += 1;
    }
    Ok(Box::new(GetEx {
        key: a[1].clone(),
        ttl,
    }))
}

impl WriteOp for GetEx {
    fn execute(&self, c: &mut WriteCtx<'_>) -> Result<Reply> {
        let Some((value, old_expire)) = tri!(string_value_mut(c, &self.key)?) else {
            return Ok(Reply::Nil);
        };
        let at = match self.ttl {
            Some(t) => Some(tri!(t.at(old_expire, c.now_ms, "getex"))),
            None => None,
        };
        match at {
            None => {}
            Some(0) if old_expire != 0 => {
                c.emit(Command::KExpireAt, &self.key, Bytes::new(), 0)?;
            }
            Some(0) => {}
            // A time already past deletes the key.
            Some(at) if at <= c.now_ms => c.emit(Command::KDel, &self.key, Bytes::new(), 0)?,
            Some(at) => c.emit(Command::KExpireAt, &self.key, Bytes::new(), at)?,
        }
        Ok(Reply::Bulk(value))
    }
}

/// LCS key1 key2 [LEN] [IDX] [MINMATCHLEN n] [WITHMATCHLEN].
pub(crate) fn lcs(c: &ReadCtx<'_>, a: &[Bytes]) -> Result<Reply> {
    let value = |key: &[u8]| -> Result<Option<Bytes>> {
        Ok(match c.live_meta(key)? {
            None => Some(Bytes::new()),
            Some(m) if m.kind == Kind::String => Some(m.value),
            Some(_) => None,
        })
    };
    let (Some(x), Some(y)) = (value(&a[1])?, value(&a[2])?) else {
        return Ok(Reply::error(
            "ERR The specified keys must contain string values",
        ));
    };
    let (mut idx, mut len, mut withlen, mut minlen) = (false, false, false, 0u64);
    let mut j = 3;
    while j < a.len() {
        match lower(&a[j]).as_slice() {
            b"idx" => idx = true,
            b"len" => len = true,
            b"withmatchlen" => withlen = true,
            b"minmatchlen" if j + 1 < a.len() => {
                minlen = match int_arg(&a[j + 1]) {
                    Ok(n) => n.max(0) as u64,
                    Err(r) => return Ok(r),
                };
                j += 1;
            }
            _ => return Ok(Reply::error(SYNTAX)),
        }
        j += 1;
    }
    if idx && len {
        return Ok(Reply::error(
            "ERR If you want both the length and indexes, please just use IDX.",
        ));
    }
    if (x.len() as u64 + 1).saturating_mul(y.len() as u64 + 1) * 4 > MAX_STRING_BYTES {
        return Ok(Reply::error(
            "ERR Insufficient memory, transient memory for LCS exceeds proto-max-bulk-len",
        ));
    }
    // dp[i][j]: the LCS length of x[..i] and y[..j].
    let w = y.len() + 1;
    let mut dp = vec![0u32; (x.len() + 1) * w];
    for i in 1..=x.len() {
        for j in 1..=y.len() {
            dp[i * w + j] = if x[i - 1] == y[j - 1] {
                dp[(i - 1) * w + j - 1] + 1
            } else {
                dp[(i - 1) * w + j].max(dp[i * w + j - 1])
            };
        }
    }
    let total = dp[x.len() * w + y.len()];
    if len {
        return Ok(Reply::Integer(i64::from(total)));
    }
    // Walk back from the end, collecting the common string and the
    // matching ranges (last first, as Redis reports them).
    let mut common = vec![0u8; total as usize];
    let mut k = total as usize;
    let mut matches = Vec::new();
    let (mut i, mut j) = (x.len(), y.len());
    let mut open: Option<(usize, usize, usize, usize)> = None;
    while i > 0 && j > 0 {
        let mut emit = false;
        if x[i - 1] == y[j - 1] {
            common[k - 1] = x[i - 1];
            open = Some(match open {
                None => (i - 1, i - 1, j - 1, j - 1),
                Some((xs, xe, ys, ye)) if xs == i && ys == j => (xs - 1, xe, ys - 1, ye),
                Some(r) => {
                    emit = true;
                    r
                }
            });
            if open.is_some_and(|(xs, _, ys, _)| xs == 0 || ys == 0) {
                emit = true;
            }
            k -= 1;
            i -= 1;
            j -= 1;
        } else {
            if dp[(i - 1) * w + j] > dp[i * w + j - 1] {
                i -= 1;
            } else {
                j -= 1;
            }
            emit = open.is_some();
        }
        if let (true, Some((xs, xe, ys, ye))) = (emit, open) {
            let n = (xe - xs + 1) as u64;
            if minlen == 0 || n >= minlen {
                let mut m = vec![
                    Reply::Array(vec![Reply::Integer(xs as i64), Reply::Integer(xe as i64)]),
                    Reply::Array(vec![Reply::Integer(ys as i64), Reply::Integer(ye as i64)]),
                ];
                if withlen {
                    m.push(Reply::Integer(n as i64));
                }
                matches.push(Reply::Array(m));
            }
            open = None;
        }
    }
    if idx {
        return Ok(Reply::Map(vec![
            (
                Reply::Bulk(Bytes::from_static(b"matches")),
                Reply::Array(matches),
            ),
            (
                Reply::Bulk(Bytes::from_static(b"len")),
                Reply::Integer(i64::from(total)),
            ),
        ]));
    }
    Ok(Reply::Bulk(Bytes::from(common)))
}
