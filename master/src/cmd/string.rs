//! String commands.

use bytes::{Bytes, BytesMut};
use rocksync_protocol::{Command, Reply};

use super::{
    fmt_float, int_arg, lower, parse_float, tri, typed, ReadCtx, View, WriteCtx, NOT_INT, SYNTAX,
};
use crate::error::Result;
use crate::store::keys::Kind;

/// Largest string (proto-max-bulk-len).
const MAX_STRING_BYTES: u64 = 512 * 1024 * 1024;

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

fn nil_or(v: Option<Bytes>) -> Reply {
    v.map_or(Reply::Nil, Reply::Bulk)
}

pub(super) fn get(c: &ReadCtx<'_>, a: &[Bytes]) -> Result<Reply> {
    Ok(nil_or(tri!(string_value(c, &a[1])?)))
}

pub(super) fn mget(c: &ReadCtx<'_>, a: &[Bytes]) -> Result<Reply> {
    let mut out = Vec::with_capacity(a.len() - 1);
    for k in &a[1..] {
        out.push(match c.live_meta(k)? {
            Some(m) if m.kind == Kind::String => Reply::Bulk(m.value),
            _ => Reply::Nil,
        });
    }
    Ok(Reply::Array(out))
}

/// An absolute expiry from a relative or absolute time argument.
fn expiry(
    c: &WriteCtx<'_>,
    arg: &[u8],
    unit_ms: i64,
    absolute: bool,
    cmd: &str,
) -> Result<u64, Reply> {
    let invalid = || Reply::error(format!("ERR invalid expire time in '{cmd}' command"));
    let n = int_arg(arg)?;
    if n <= 0 {
        return Err(invalid());
    }
    let ms = n.checked_mul(unit_ms).ok_or_else(invalid)?;
    let at = if absolute {
        ms
    } else {
        ms.checked_add(c.now_ms as i64).ok_or_else(invalid)?
    };
    Ok(at as u64)
}

pub(super) fn set(c: &mut WriteCtx<'_>, a: &[Bytes]) -> Result<Reply> {
    let (mut nx, mut xx, mut get, mut keepttl) = (false, false, false, false);
    let mut expire: Option<u64> = None;
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
                expire = Some(tri!(expiry(c, t, unit, opt.ends_with(b"at"), "set")));
                i += 1;
            }
            _ => return Ok(Reply::error(SYNTAX)),
        }
        i += 1;
    }
    let old = c.live_meta_mut(&a[1])?;
    let old_value = match &old {
        Some(m) if m.kind == Kind::String => Some(m.value.clone()),
        Some(_) if get => return Ok(Reply::error(super::WRONGTYPE)),
        _ => None,
    };
    if (nx && old.is_some()) || (xx && old.is_none()) {
        return Ok(if get { nil_or(old_value) } else { Reply::Nil });
    }
    let ttl = match (expire, keepttl) {
        (Some(t), _) => t,
        (None, true) => old.as_ref().map_or(0, |m| m.expire_ms),
        (None, false) => 0,
    };
    c.emit(Command::KSet, &a[1], a[2].clone(), ttl)?;
    Ok(if get { nil_or(old_value) } else { Reply::ok() })
}

fn wrong_args(name: &str) -> Reply {
    Reply::error(format!(
        "ERR wrong number of arguments for '{name}' command"
    ))
}

pub(super) fn mset(c: &mut WriteCtx<'_>, a: &[Bytes]) -> Result<Reply> {
    if a.len() % 2 == 0 {
        return Ok(wrong_args("mset"));
    }
    for pair in a[1..].chunks(2) {
        c.emit(Command::KSet, &pair[0], pair[1].clone(), 0)?;
    }
    Ok(Reply::ok())
}

pub(super) fn msetnx(c: &mut WriteCtx<'_>, a: &[Bytes]) -> Result<Reply> {
    if a.len() % 2 == 0 {
        return Ok(wrong_args("msetnx"));
    }
    for pair in a[1..].chunks(2) {
        if c.live_meta_mut(&pair[0])?.is_some() {
            return Ok(Reply::Integer(0));
        }
    }
    for pair in a[1..].chunks(2) {
        c.emit(Command::KSet, &pair[0], pair[1].clone(), 0)?;
    }
    Ok(Reply::Integer(1))
}

pub(super) fn setnx(c: &mut WriteCtx<'_>, a: &[Bytes]) -> Result<Reply> {
    if c.live_meta_mut(&a[1])?.is_some() {
        return Ok(Reply::Integer(0));
    }
    c.emit(Command::KSet, &a[1], a[2].clone(), 0)?;
    Ok(Reply::Integer(1))
}

fn setex_unit(c: &mut WriteCtx<'_>, a: &[Bytes], unit: i64, name: &str) -> Result<Reply> {
    let at = tri!(expiry(c, &a[2], unit, false, name));
    c.live_meta_mut(&a[1])?;
    c.emit(Command::KSet, &a[1], a[3].clone(), at)?;
    Ok(Reply::ok())
}

pub(super) fn setex(c: &mut WriteCtx<'_>, a: &[Bytes]) -> Result<Reply> {
    setex_unit(c, a, 1000, "setex")
}

pub(super) fn psetex(c: &mut WriteCtx<'_>, a: &[Bytes]) -> Result<Reply> {
    setex_unit(c, a, 1, "psetex")
}

pub(super) fn getset(c: &mut WriteCtx<'_>, a: &[Bytes]) -> Result<Reply> {
    let old = tri!(string_value_mut(c, &a[1])?);
    c.emit(Command::KSet, &a[1], a[2].clone(), 0)?;
    Ok(nil_or(old.map(|o| o.0)))
}

pub(super) fn getdel(c: &mut WriteCtx<'_>, a: &[Bytes]) -> Result<Reply> {
    let old = tri!(string_value_mut(c, &a[1])?);
    if old.is_some() {
        c.emit(Command::KDel, &a[1], Bytes::new(), 0)?;
    }
    Ok(nil_or(old.map(|o| o.0)))
}

pub(super) fn append(c: &mut WriteCtx<'_>, a: &[Bytes]) -> Result<Reply> {
    let (old, expire) = tri!(string_value_mut(c, &a[1])?).unwrap_or_default();
    if (old.len() + a[2].len()) as u64 > MAX_STRING_BYTES {
        return Ok(Reply::error(
            "ERR string exceeds maximum allowed size (proto-max-bulk-len)",
        ));
    }
    let mut v = BytesMut::with_capacity(old.len() + a[2].len());
    v.extend_from_slice(&old);
    v.extend_from_slice(&a[2]);
    let len = v.len();
    c.emit(Command::KSet, &a[1], v.freeze(), expire)?;
    Ok(Reply::Integer(len as i64))
}

pub(super) fn strlen(c: &ReadCtx<'_>, a: &[Bytes]) -> Result<Reply> {
    Ok(Reply::Integer(
        tri!(string_value(c, &a[1])?).map_or(0, |v| v.len() as i64),
    ))
}

fn incr_by(c: &mut WriteCtx<'_>, key: &[u8], by: i64) -> Result<Reply> {
    let old = tri!(string_value_mut(c, key)?);
    let current = match &old {
        None => 0,
        Some((v, _)) => tri!(rocksync_protocol::parse_i64(v).ok_or_else(|| Reply::error(NOT_INT))),
    };
    let Some(n) = current.checked_add(by) else {
        return Ok(Reply::error("ERR increment or decrement would overflow"));
    };
    let cmd = if by < 0 {
        Command::KDecr
    } else {
        Command::KIncr
    };
    c.emit(cmd, key, Bytes::from(n.to_string()), 0)?;
    Ok(Reply::Integer(n))
}

pub(super) fn incr(c: &mut WriteCtx<'_>, a: &[Bytes]) -> Result<Reply> {
    incr_by(c, &a[1], 1)
}

pub(super) fn decr(c: &mut WriteCtx<'_>, a: &[Bytes]) -> Result<Reply> {
    incr_by(c, &a[1], -1)
}

pub(super) fn incrby(c: &mut WriteCtx<'_>, a: &[Bytes]) -> Result<Reply> {
    let by = tri!(int_arg(&a[2]));
    incr_by(c, &a[1], by)
}

pub(super) fn decrby(c: &mut WriteCtx<'_>, a: &[Bytes]) -> Result<Reply> {
    let by = tri!(int_arg(&a[2]));
    let Some(neg) = by.checked_neg() else {
        return Ok(Reply::error("ERR decrement would overflow"));
    };
    incr_by(c, &a[1], neg)
}

pub(super) fn incrbyfloat(c: &mut WriteCtx<'_>, a: &[Bytes]) -> Result<Reply> {
    let by = tri!(super::float_arg(&a[2]));
    let old = tri!(string_value_mut(c, &a[1])?);
    let current = match &old {
        None => 0.0,
        Some((v, _)) => tri!(parse_float(v).ok_or_else(|| Reply::error(super::NOT_FLOAT))),
    };
    let n = current + by;
    if !n.is_finite() {
        return Ok(Reply::error("ERR increment would produce NaN or Infinity"));
    }
    let text = Bytes::from(fmt_float(n));
    c.emit(Command::KIncr, &a[1], text.clone(), 0)?;
    Ok(Reply::Bulk(text))
}

fn bit_offset(b: &[u8]) -> Result<u64, Reply> {
    match rocksync_protocol::parse_i64(b) {
        Some(n) if (0..(MAX_STRING_BYTES * 8) as i64).contains(&n) => Ok(n as u64),
        _ => Err(Reply::error(
            "ERR bit offset is not an integer or out of range",
        )),
    }
}

pub(super) fn getbit(c: &ReadCtx<'_>, a: &[Bytes]) -> Result<Reply> {
    let off = tri!(bit_offset(&a[2]));
    let v = tri!(string_value(c, &a[1])?).unwrap_or_default();
    let byte = v.get((off / 8) as usize).copied().unwrap_or(0);
    Ok(Reply::Integer(i64::from((byte >> (7 - off % 8)) & 1)))
}

pub(super) fn setbit(c: &mut WriteCtx<'_>, a: &[Bytes]) -> Result<Reply> {
    let off = tri!(bit_offset(&a[2]));
    let bit = match &a[3][..] {
        b"0" => 0u8,
        b"1" => 1u8,
        _ => return Ok(Reply::error("ERR bit is not an integer or out of range")),
    };
    let (old, _) = tri!(string_value_mut(c, &a[1])?).unwrap_or_default();
    let idx = (off / 8) as usize;
    // The string a full copy will have to send whole, with its key.
    let stored = a[1].len() + old.len().max(idx + 1) + 64;
    if stored > rocksync_protocol::DEFAULT_MAX_FRAME_BYTES {
        return Ok(Reply::error(format!(
            "ERR {}",
            crate::Error::EventTooLarge {
                bytes: stored,
                max: rocksync_protocol::DEFAULT_MAX_FRAME_BYTES,
            }
        )));
    }
    let mask = 1u8 << (7 - off % 8);
    let was = old.get(idx).is_some_and(|b| b & mask != 0) as i64;
    // The event carries the change, not the whole string.
    c.emit_event(
        Command::KSetbit,
        &a[1],
        Bytes::from(format!("{off} {bit}")),
        crate::store::apply::SETBIT_DELTA,
    )?;
    Ok(Reply::Integer(was))
}

/// Redis's start/end normalization over a length: `None` for an empty range.
pub(crate) fn range(start: i64, end: i64, len: i64) -> Option<(usize, usize)> {
    let norm = |i: i64| if i < 0 { (len + i).max(0) } else { i };
    let (s, e) = (norm(start), norm(end).min(len - 1));
    (len > 0 && s <= e && s < len).then_some((s as usize, e as usize))
}

pub(super) fn bitcount(c: &ReadCtx<'_>, a: &[Bytes]) -> Result<Reply> {
    let v = tri!(string_value(c, &a[1])?).unwrap_or_default();
    let slice = match a.len() {
        2 => &v[..],
        4 | 5 => {
            let (s, e) = (tri!(int_arg(&a[2])), tri!(int_arg(&a[3])));
            if a.len() == 5 && !matches!(lower(&a[4]).as_slice(), b"byte") {
                return Ok(Reply::error(SYNTAX));
            }
            match range(s, e, v.len() as i64) {
                Some((s, e)) => &v[s..=e],
                None => &[][..],
            }
        }
        _ => return Ok(Reply::error(SYNTAX)),
    };
    Ok(Reply::Integer(
        slice.iter().map(|b| b.count_ones() as i64).sum(),
    ))
}

pub(super) fn getrange(c: &ReadCtx<'_>, a: &[Bytes]) -> Result<Reply> {
    let (s, e) = (tri!(int_arg(&a[2])), tri!(int_arg(&a[3])));
    let v = tri!(string_value(c, &a[1])?).unwrap_or_default();
    if s < 0 && e < 0 && s > e {
        return Ok(Reply::Bulk(Bytes::new()));
    }
    Ok(Reply::Bulk(match range(s, e, v.len() as i64) {
        Some((s, e)) => v.slice(s..=e),
        None => Bytes::new(),
    }))
}

pub(super) fn setrange(c: &mut WriteCtx<'_>, a: &[Bytes]) -> Result<Reply> {
    let off = tri!(int_arg(&a[2]));
    if off < 0 {
        return Ok(Reply::error("ERR offset is out of range"));
    }
    let (old, expire) = tri!(string_value_mut(c, &a[1])?).unwrap_or_default();
    if a[3].is_empty() {
        return Ok(Reply::Integer(old.len() as i64));
    }
    let end = off as u64 + a[3].len() as u64;
    if end > MAX_STRING_BYTES {
        return Ok(Reply::error(
            "ERR string exceeds maximum allowed size (proto-max-bulk-len)",
        ));
    }
    let mut v = BytesMut::from(&old[..]);
    if (v.len() as u64) < end {
        v.resize(end as usize, 0);
    }
    v[off as usize..end as usize].copy_from_slice(&a[3]);
    let len = v.len();
    c.emit(Command::KSet, &a[1], v.freeze(), expire)?;
    Ok(Reply::Integer(len as i64))
}

/// GETEX key [EX s | PX ms | EXAT t | PXAT t | PERSIST]: the value, its
/// expiry changed (a time already past deletes the key).
pub(super) fn getex(c: &mut WriteCtx<'_>, a: &[Bytes]) -> Result<Reply> {
    let (mut expire, mut persist) = (None, false);
    let mut i = 2;
    while i < a.len() {
        let opt = lower(&a[i]);
        match (opt.as_slice(), a.get(i + 1)) {
            (b"persist", _) if expire.is_none() && !persist => persist = true,
            (b"ex" | b"px" | b"exat" | b"pxat", Some(t)) if expire.is_none() && !persist => {
                let unit = if opt.starts_with(b"p") { 1 } else { 1000 };
                expire = Some(tri!(expiry(c, t, unit, opt.ends_with(b"at"), "getex")));
                i += 1;
            }
            _ => return Ok(Reply::error(SYNTAX)),
        }
        i += 1;
    }
    let Some((value, old_expire)) = tri!(string_value_mut(c, &a[1])?) else {
        return Ok(Reply::Nil);
    };
    match expire {
        // A time already past deletes the key.
        Some(at) if at <= c.now_ms => c.emit(Command::KDel, &a[1], Bytes::new(), 0)?,
        Some(at) => c.emit(Command::KExpireAt, &a[1], Bytes::new(), at)?,
        None if persist && old_expire != 0 => {
            c.emit(Command::KExpireAt, &a[1], Bytes::new(), 0)?;
        }
        None => {}
    }
    Ok(Reply::Bulk(value))
}

/// LCS key1 key2 [LEN] [IDX] [MINMATCHLEN n] [WITHMATCHLEN].
pub(super) fn lcs(c: &ReadCtx<'_>, a: &[Bytes]) -> Result<Reply> {
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
        return Ok(Reply::Array(vec![
            Reply::Bulk(Bytes::from_static(b"matches")),
            Reply::Array(matches),
            Reply::Bulk(Bytes::from_static(b"len")),
            Reply::Integer(i64::from(total)),
        ]));
    }
    Ok(Reply::Bulk(Bytes::from(common)))
}
