//! Key lifetimes: EXPIRE, PEXPIRE, EXPIREAT, PEXPIREAT, PERSIST, and the
//! reads of TTL, PTTL, EXPIRETIME and PEXPIRETIME.

use bytes::Bytes;
use rocksync_protocol::{Command, Reply};

use super::{int_arg, lower, tri, ReadCtx, View, WriteCtx, WriteOp};
use crate::error::Result;

/// The conditions of EXPIRE and friends: NX, XX, GT, LT.
#[derive(Clone, Copy, Default)]
struct ExpireIf {
    nx: bool,
    xx: bool,
    gt: bool,
    lt: bool,
}

impl ExpireIf {
    /// Redis's `parseExtendedExpireArgumentsOrReply`: read before the
    /// time argument.
    fn parse(opts: &[Bytes]) -> Result<Self, Reply> {
        let mut f = Self::default();
        for opt in opts {
            match lower(opt).as_slice() {
                b"nx" => f.nx = true,
                b"xx" => f.xx = true,
                b"gt" => f.gt = true,
                b"lt" => f.lt = true,
                _ => {
                    return Err(Reply::error(format!(
                        "ERR Unsupported option {}",
                        String::from_utf8_lossy(opt)
                    )))
                }
            }
        }
        if f.nx && (f.xx || f.gt || f.lt) {
            return Err(Reply::error(
                "ERR NX and XX, GT or LT options at the same time are not compatible",
            ));
        }
        if f.gt && f.lt {
            return Err(Reply::error(
                "ERR GT and LT options at the same time are not compatible",
            ));
        }
        Ok(f)
    }

    /// True when the condition leaves a key expiring at `current` (None:
    /// never, an infinite TTL for GT and LT) as it is, given `at`.
    fn skips(self, current: Option<i64>, at: i64) -> bool {
        (self.nx && current.is_some())
            || (self.xx && current.is_none())
            || (self.gt && current.is_none_or(|cur| at <= cur))
            || (self.lt && current.is_some_and(|cur| at >= cur))
    }
}

/// EXPIRE / PEXPIRE / EXPIREAT / PEXPIREAT key time [NX|XX|GT|LT].
struct Expire {
    key: Bytes,
    /// The time in milliseconds: from now, or since the epoch (`absolute`).
    ms: i64,
    absolute: bool,
    cond: ExpireIf,
    name: &'static str,
}

impl Expire {
    /// When the key is to expire, unix ms, with the write made at
    /// `now_ms`; Redis's error when that is past what an expiry holds.
    fn at(&self, now_ms: u64) -> Result<i64, Reply> {
        if self.absolute {
            return Ok(self.ms);
        }
        self.ms.checked_add(now_ms as i64).ok_or_else(|| {
            Reply::error(format!(
                "ERR invalid expire time in '{}' command",
                self.name
            ))
        })
    }
}

/// EXPIRE and friends: `unit_ms` per argument unit, `absolute` for *AT.
fn expire_in(
    a: &[Bytes],
    unit_ms: i64,
    absolute: bool,
    name: &'static str,
) -> Result<Box<dyn WriteOp>, Reply> {
    let cond = ExpireIf::parse(&a[3..])?;
    let n = int_arg(&a[2])?;
    let ms = n
        .checked_mul(unit_ms)
        .ok_or_else(|| Reply::error(format!("ERR invalid expire time in '{name}' command")))?;
    let e = Expire {
        key: a[1].clone(),
        ms,
        absolute,
        cond,
        name,
    };
    // Checked on the connection's clock here, on the write's again.
    e.at(crate::clock::now_ms())?;
    Ok(Box::new(e))
}

pub(crate) fn expire(a: &[Bytes]) -> Result<Box<dyn WriteOp>, Reply> {
    expire_in(a, 1000, false, "expire")
}

pub(crate) fn pexpire(a: &[Bytes]) -> Result<Box<dyn WriteOp>, Reply> {
    expire_in(a, 1, false, "pexpire")
}

pub(crate) fn expireat(a: &[Bytes]) -> Result<Box<dyn WriteOp>, Reply> {
    expire_in(a, 1000, true, "expireat")
}

pub(crate) fn pexpireat(a: &[Bytes]) -> Result<Box<dyn WriteOp>, Reply> {
    expire_in(a, 1, true, "pexpireat")
}

impl WriteOp for Expire {
    fn execute(&self, c: &mut WriteCtx<'_>) -> Result<Reply> {
        let at = tri!(self.at(c.now_ms));
        let Some(m) = c.live_header_mut(&self.key)? else {
            return Ok(Reply::Integer(0));
        };
        let current = (m.expire_ms != 0).then_some(m.expire_ms as i64);
        if self.cond.skips(current, at) {
            return Ok(Reply::Integer(0));
        }
        if at <= c.now_ms as i64 {
            c.emit(Command::KDel, &self.key, Bytes::new(), 0)?;
        } else {
            c.emit(Command::KExpireAt, &self.key, Bytes::new(), at as u64)?;
        }
        Ok(Reply::Integer(1))
    }
}

fn ttl_ms(c: &ReadCtx<'_>, key: &[u8]) -> Result<i64> {
    Ok(match c.live_header(key)? {
        None => -2,
        Some(m) if m.expire_ms == 0 => -1,
        Some(m) => m.expire_ms.saturating_sub(c.now_ms) as i64,
    })
}

pub(crate) fn ttl(c: &ReadCtx<'_>, a: &[Bytes]) -> Result<Reply> {
    let ms = ttl_ms(c, &a[1])?;
    Ok(Reply::Integer(if ms < 0 { ms } else { (ms + 500) / 1000 }))
}

pub(crate) fn pttl(c: &ReadCtx<'_>, a: &[Bytes]) -> Result<Reply> {
    Ok(Reply::Integer(ttl_ms(c, &a[1])?))
}

/// The absolute expiry, in ms: -2 without the key, -1 without an expiry.
fn expire_time_ms(c: &ReadCtx<'_>, key: &[u8]) -> Result<i64> {
    Ok(match c.live_header(key)? {
        None => -2,
        Some(m) if m.expire_ms == 0 => -1,
        Some(m) => m.expire_ms as i64,
    })
}

pub(crate) fn expiretime(c: &ReadCtx<'_>, a: &[Bytes]) -> Result<Reply> {
    let ms = expire_time_ms(c, &a[1])?;
    Ok(Reply::Integer(if ms < 0 { ms } else { ms / 1000 }))
}

pub(crate) fn pexpiretime(c: &ReadCtx<'_>, a: &[Bytes]) -> Result<Reply> {
    Ok(Reply::Integer(expire_time_ms(c, &a[1])?))
}

/// PERSIST key.
struct Persist {
    key: Bytes,
}

pub(crate) fn persist(a: &[Bytes]) -> Result<Box<dyn WriteOp>, Reply> {
    Ok(Box::new(Persist { key: a[1].clone() }))
}

impl WriteOp for Persist {
    fn execute(&self, c: &mut WriteCtx<'_>) -> Result<Reply> {
        match c.live_header_mut(&self.key)? {
            Some(m) if m.expire_ms != 0 => {
                c.emit(Command::KExpireAt, &self.key, Bytes::new(), 0)?;
                Ok(Reply::Integer(1))
            }
            _ => Ok(Reply::Integer(0)),
        }
    }
}
