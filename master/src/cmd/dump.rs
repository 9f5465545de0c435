//! DUMP and RESTORE: a key's value in Redis's serialized form (its RDB
//! encoding, the RDB version and a CRC64; see `rocksync_protocol::rdb`),
//! so that migration tools move keys between redis-server and rocksync
//! in either direction.

use bytes::Bytes;
use rocksync_protocol::rdb::{self, Value};
use rocksync_protocol::{Command, Reply};

use super::{fmt_float, int_arg, lower, sub_items, ReadCtx, View, WriteCtx, WriteOp, SYNTAX};
use crate::error::Result;
use crate::store::keys::{self, Kind, Meta};

/// The value of `m` (the live value of `key`) as RDB carries it.
pub(crate) fn value_of(v: &impl View, key: &[u8], m: &Meta) -> Result<Value> {
    let items = || sub_items(v, key, m);
    Ok(match m.kind {
        // (a string kept in chunks may come as its metadata alone)
        Kind::String if m.is_chunked() && m.value.len() != m.string_len() => {
            Value::String(v.string_range(key, m, 0, usize::MAX)?)
        }
        Kind::String => Value::String(m.value.clone()),
        Kind::Stream => Value::Stream(Box::new(super::stream::rdb::to_rdb(v, key, m)?)),
        Kind::List => Value::List(items()?.into_iter().map(|(_, v)| v).collect()),
        Kind::Set => Value::Set(items()?.into_iter().map(|(f, _)| f).collect()),
        Kind::Hash => Value::Hash(items()?),
        Kind::ZSet => Value::ZSet(
            items()?
                .into_iter()
                .map(|(member, score)| (member, keys::be_u64(&score).map_or(0.0, f64::from_bits)))
                .collect(),
        ),
    })
}

/// The events that make `value` the value of a key that holds nothing,
/// expiring at `expire_ms` (0: never): (command, value, ttl).
pub(crate) fn value_events(value: &Value, expire_ms: u64) -> Vec<(Command, Bytes, u64)> {
    let mut out: Vec<(Command, Bytes, u64)> = match value {
        Value::String(s) => return vec![(Command::KSet, s.clone(), expire_ms)],
        Value::Stream(s) => super::stream::rdb::events(s)
            .into_iter()
            .map(|(cmd, v)| (cmd, v, 0))
            .collect(),
        Value::List(items) => items
            .iter()
            .map(|i| (Command::QPushBack, i.clone(), 0))
            .collect(),
        Value::Set(members) => members
            .iter()
            .map(|m| (Command::SSet, m.clone(), 0))
            .collect(),
        Value::Hash(pairs) => pairs
            .iter()
            .map(|(f, v)| (Command::HSet, keys::pack(f, v), 0))
            .collect(),
        Value::ZSet(pairs) => pairs
            .iter()
            .map(|(m, score)| {
                (
                    Command::ZSet,
                    keys::pack(m, fmt_float(*score).as_bytes()),
                    0,
                )
            })
            .collect(),
    };
    if expire_ms != 0 {
        out.push((Command::KExpireAt, Bytes::new(), expire_ms));
    }
    out
}

/// Emit the events that make `value` the value of `key` (which holds
/// nothing), expiring at `expire_ms` (0: never).
pub(crate) fn write_value(
    c: &mut WriteCtx<'_>,
    key: &[u8],
    value: &Value,
    expire_ms: u64,
) -> Result<()> {
    for (cmd, v, ttl) in value_events(value, expire_ms) {
        c.emit(cmd, key, v, ttl)?;
    }
    Ok(())
}

/// DUMP key: the serialized value, or nil.
pub(crate) fn dump(c: &ReadCtx<'_>, a: &[Bytes]) -> Result<Reply> {
    let Some(m) = c.live_meta(&a[1])? else {
        return Ok(Reply::Nil);
    };
    Ok(Reply::Bulk(Bytes::from(rdb::dump(&value_of(
        c, &a[1], &m,
    )?))))
}

/// RESTORE key ttl serialized-value [REPLACE] [ABSTTL] [IDLETIME seconds]
/// [FREQ frequency]. (Idle time and frequency are checked and not kept:
/// this store evicts nothing.)
struct Restore {
    key: Bytes,
    ttl: Bytes,
    payload: Bytes,
    replace: bool,
    absttl: bool,
}

pub(crate) fn restore(a: &[Bytes]) -> std::result::Result<Box<dyn WriteOp>, Reply> {
    let (mut replace, mut absttl) = (false, false);
    let (mut idle, mut freq) = (false, false);
    let mut j = 4;
    while j < a.len() {
        let more = j + 1 < a.len();
        match lower(&a[j]).as_slice() {
            b"replace" => replace = true,
            b"absttl" => absttl = true,
            b"idletime" if more && !freq => {
                if int_arg(&a[j + 1])? < 0 {
                    return Err(Reply::error("ERR Invalid IDLETIME value, must be >= 0"));
                }
                idle = true;
                j += 1;
            }
            b"freq" if more && !idle => {
                if !(0..=255).contains(&int_arg(&a[j + 1])?) {
                    return Err(Reply::error(
                        "ERR Invalid FREQ value, must be >= 0 and <= 255",
                    ));
                }
                freq = true;
                j += 1;
            }
            _ => return Err(Reply::error(SYNTAX)),
        }
        j += 1;
    }
    Ok(Box::new(Restore {
        key: a[1].clone(),
        ttl: a[2].clone(),
        payload: a[3].clone(),
        replace,
        absttl,
    }))
}

impl WriteOp for Restore {
    fn execute(&self, c: &mut WriteCtx<'_>) -> Result<Reply> {
        // Redis's order: the key first, then the TTL, then the payload.
        let exists = c.live_header_mut(&self.key)?.is_some();
        if exists && !self.replace {
            return Ok(Reply::error("BUSYKEY Target key name already exists."));
        }
        let ttl = match int_arg(&self.ttl) {
            Ok(t) if t < 0 => return Ok(Reply::error("ERR Invalid TTL value, must be >= 0")),
            Ok(t) => t as u64,
            Err(reply) => return Ok(reply),
        };
        let value = match rdb::restore(&self.payload) {
            Ok(v) => v,
            Err(e) => return Ok(Reply::error(format!("ERR {e}"))),
        };
        if exists {
            c.emit(Command::KDel, &self.key, Bytes::new(), 0)?;
        }
        let expire_ms = match (ttl, self.absttl) {
            (0, _) => 0,
            (t, true) => t,
            (t, false) => c.now_ms.saturating_add(t),
        };
        // Already past: nothing is made (the old value is gone all the same).
        if expire_ms != 0 && expire_ms <= c.now_ms {
            return Ok(Reply::ok());
        }
        write_value(c, &self.key, &value, expire_ms)?;
        Ok(Reply::ok())
    }
}
