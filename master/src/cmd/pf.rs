//! HyperLogLog commands: PFADD, PFCOUNT, PFMERGE and PFDEBUG, over string
//! values in Redis's own encoding ([`super::hll`]), so a GET of an HLL
//! returns the bytes redis-server would hold. PFCOUNT of one key stores
//! the count it computed in the value's header, as Redis does: it runs on
//! the write path, and writes only where the node takes writes.

use bytes::Bytes;
use rocksync_protocol::Reply;

use super::hll::{self, HllError};
use super::{tri, WriteCtx, WriteOp};
use crate::error::Result;
use crate::store::keys::Kind;

fn hll_error(e: HllError) -> Reply {
    Reply::error(e.message())
}

/// A string's value and expiry (unix ms, 0 for none).
type Found = Option<(Bytes, u64)>;

/// A key's string value and expiry, `None` when it does not exist (the
/// usual WRONGTYPE for another type).
fn value_of(c: &mut WriteCtx<'_>, key: &[u8]) -> Result<std::result::Result<Found, Reply>> {
    // Where the node takes no writes (PFCOUNT on a slave) an expired key
    // is only read as gone: its delete is the master's to log.
    let meta = if c.writable {
        c.typed_mut(key, Kind::String)?
    } else {
        super::typed(c, key, Kind::String)?
    };
    Ok(meta.map(|m| m.map(|m| (m.value, m.expire_ms))))
}

/// Write `value` back to `key` (whose value was `old`), keeping its
/// expiry: as its changes when they are small (a register or two of a
/// dense HyperLogLog), else whole.
fn store(
    c: &mut WriteCtx<'_>,
    key: &[u8],
    old: Option<&[u8]>,
    value: Vec<u8>,
    expire: u64,
) -> Result<()> {
    c.emit_string_change(key, old, Bytes::from(value), expire)
}

/// PFADD key [element ...].
struct PfAdd {
    key: Bytes,
    elements: Vec<Bytes>,
}

pub(crate) fn pfadd(a: &[Bytes]) -> std::result::Result<Box<dyn WriteOp>, Reply> {
    Ok(Box::new(PfAdd {
        key: a[1].clone(),
        elements: a[2..].to_vec(),
    }))
}

impl WriteOp for PfAdd {
    fn execute(&self, c: &mut WriteCtx<'_>) -> Result<Reply> {
        let (old, expire) = match tri!(value_of(c, &self.key)?) {
            Some((v, e)) => (Some(v), e),
            None => (None, 0),
        };
        let elements: Vec<&[u8]> = self.elements.iter().map(|e| &e[..]).collect();
        if old
            .as_deref()
            .is_some_and(|v| hll::adds_nothing(v, &elements))
        {
            return Ok(Reply::Integer(0));
        }
        let mut value = old.as_deref().map(<[u8]>::to_vec);
        let added = hll::pfadd(&mut value, &elements, c.sizes.hll_sparse_max_bytes);
        // A register raised (or the key made) changed the value; nothing
        // added left it as it was. After an error, what was added before
        // the corrupted part stays, as in Redis (which edits the value in
        // place): write it if it differs.
        let changed = match added {
            Ok(changed) => changed,
            Err(_) => value.as_deref() != old.as_deref(),
        };
        if let Some(v) = value.filter(|_| changed) {
            store(c, &self.key, old.as_deref(), v, expire)?;
        }
        Ok(match added {
            Ok(changed) => Reply::Integer(i64::from(changed)),
            Err(e) => hll_error(e),
        })
    }
}

/// PFCOUNT key [key ...].
struct PfCount {
    keys: Vec<Bytes>,
}

pub(crate) fn pfcount(a: &[Bytes]) -> std::result::Result<Box<dyn WriteOp>, Reply> {
    Ok(Box::new(PfCount {
        keys: a[1..].to_vec(),
    }))
}

impl WriteOp for PfCount {
    fn execute(&self, c: &mut WriteCtx<'_>) -> Result<Reply> {
        if let [key] = self.keys.as_slice() {
            let Some((old, expire)) = tri!(value_of(c, key)?) else {
                return Ok(Reply::Integer(0));
            };
            let mut v = old.to_vec();
            let (n, changed) = match hll::count_one(&mut v) {
                Ok(r) => r,
                Err(e) => return Ok(hll_error(e)),
            };
            // The count kept in the header, where the node writes (a
            // slave's copy gets it from its master's own PFCOUNT).
            if changed && c.writable {
                store(c, key, Some(&old), v, expire)?;
            }
            return Ok(Reply::Integer(n as i64));
        }
        let mut values = Vec::with_capacity(self.keys.len());
        for key in &self.keys {
            if let Some((v, _)) = tri!(value_of(c, key)?) {
                values.push(v);
            }
        }
        let refs: Vec<&[u8]> = values.iter().map(|v| &v[..]).collect();
        Ok(match hll::count_union(&refs) {
            Ok(n) => Reply::Integer(n as i64),
            Err(e) => hll_error(e),
        })
    }
}

/// PFMERGE destkey [sourcekey ...].
struct PfMerge {
    keys: Vec<Bytes>,
}

pub(crate) fn pfmerge(a: &[Bytes]) -> std::result::Result<Box<dyn WriteOp>, Reply> {
    Ok(Box::new(PfMerge {
        keys: a[1..].to_vec(),
    }))
}

impl WriteOp for PfMerge {
    fn execute(&self, c: &mut WriteCtx<'_>) -> Result<Reply> {
        // Every key checked in order, the destination first, as Redis.
        let mut found = Vec::with_capacity(self.keys.len());
        for key in &self.keys {
            let v = tri!(value_of(c, key)?);
            if let Some((v, _)) = &v {
                if let Err(e) = hll::check(v) {
                    return Ok(hll_error(e));
                }
            }
            found.push(v);
        }
        let dest = found[0].take();
        let sources: Vec<&[u8]> = found[1..].iter().flatten().map(|(v, _)| &v[..]).collect();
        let merged = match hll::pfmerge(
            dest.as_ref().map(|(v, _)| &v[..]),
            &sources,
            c.sizes.hll_sparse_max_bytes,
        ) {
            Ok(m) => m,
            Err(e) => return Ok(hll_error(e)),
        };
        let (old, expire) = dest.map_or((None, 0), |(v, e)| (Some(v), e));
        store(c, &self.keys[0], old.as_deref(), merged, expire)?;
        Ok(Reply::ok())
    }
}

/// PFDEBUG GETREG|DECODE|ENCODING|TODENSE key.
struct PfDebug {
    sub: Bytes,
    key: Bytes,
    argc: usize,
}

pub(crate) fn pfdebug(a: &[Bytes]) -> std::result::Result<Box<dyn WriteOp>, Reply> {
    Ok(Box::new(PfDebug {
        sub: a[1].clone(),
        key: a[2].clone(),
        argc: a.len(),
    }))
}

impl WriteOp for PfDebug {
    fn execute(&self, c: &mut WriteCtx<'_>) -> Result<Reply> {
        let Some((v, expire)) = tri!(value_of(c, &self.key)?) else {
            return Ok(Reply::error("ERR The specified key does not exist"));
        };
        let mut v = v.to_vec();
        if let Err(e) = hll::check(&v) {
            return Ok(hll_error(e));
        }
        let sub = String::from_utf8_lossy(&self.sub).to_ascii_lowercase();
        if ["getreg", "decode", "encoding", "todense"].contains(&sub.as_str()) && self.argc != 3 {
            return Ok(Reply::error(format!(
                "ERR Wrong number of arguments for the '{}' subcommand",
                String::from_utf8_lossy(&self.sub)
            )));
        }
        let reply = match sub.as_str() {
            "getreg" => match hll::getreg(&mut v) {
                Ok((regs, converted)) => {
                    if converted {
                        store(c, &self.key, None, v, expire)?;
                    }
                    Reply::Array(
                        regs.as_slice()
                            .iter()
                            .map(|&r| Reply::Integer(i64::from(r)))
                            .collect(),
                    )
                }
                Err(e) => hll_error(e),
            },
            "decode" => match hll::decode_sparse(&v) {
                Ok(text) => Reply::Bulk(Bytes::from(text)),
                Err(e) => hll_error(e),
            },
            "encoding" => match hll::encoding_name(&v) {
                Ok(name) => Reply::Simple(name.into()),
                Err(e) => hll_error(e),
            },
            "todense" => match hll::to_dense(&mut v) {
                Ok(converted) => {
                    if converted {
                        store(c, &self.key, None, v, expire)?;
                    }
                    Reply::Integer(i64::from(converted))
                }
                Err(e) => hll_error(e),
            },
            _ => Reply::error(format!(
                "ERR Unknown PFDEBUG subcommand '{}'",
                String::from_utf8_lossy(&self.sub)
            )),
        };
        Ok(reply)
    }
}
