//! Applying data events: the only code that changes the data. The master
//! applies the events its commands emit, its recovery replays the binlog
//! through it, and slaves apply what they receive through it, so all three
//! derive the same state from the same events.
//!
//! Event layout (key = the user key unless said otherwise; ttl = absolute
//! expiry in unix ms, 0 for none):
//!
//! | cmd | value | effect |
//! | --- | --- | --- |
//! | K_SET | the string | set, with expiry `ttl` |
//! | K_INCR, K_DECR | the new string | set, expiry kept |
//! | K_SETBIT | `offset bit` (decimal), ttl = -1 (older binlogs: the whole string, ttl 0) | set one bit, zero-extending; expiry kept |
//! | K_PATCH | splices from the old value ([`rocksync_protocol::splice`]) | change the string in place (a missing key starts empty); expiry kept |
//! | K_DEL, H_CLEAR, S_CLEAR, Z_CLEAR, Q_CLEAR | | delete the key, any type |
//! | K_EXPIRE_AT | | expiry := `ttl` (0: persist) |
//! | K_MOVE | the source key | the key takes the source's value and expiry (its own value goes) and the source goes; sub-keys stay where they are, named by their home |
//! | H_SET, H_INCR, H_DECR | `pack(field, value)` | set a field |
//! | H_DEL | field | delete a field |
//! | S_SET, S_DEL | member | add, remove |
//! | Z_SET, Z_INCR, Z_DECR | `pack(member, score)` (decimal) | set a score |
//! | Z_DEL | member | remove |
//! | Q_PUSH_FRONT, Q_PUSH_BACK | element | push |
//! | Q_POP_FRONT, Q_POP_BACK | | pop one |
//! | Q_SET | `pack(rank, element)` (decimal rank from the head) | set |
//! | Q_FIX | `start stop` (decimal ranks from the head) | keep only that range |
//! | Q_REM | index (decimal: where the element is in the store) | remove it, leaving a gap ([`lists`]) |
//! | Q_PACK | | close the list's gaps |
//! | Q_INDEX | | index the list's elements by value (kept from then on: LREM's) |
//! | X_META | length (u64 BE) · header | a stream's length and header (a missing key becomes an empty stream) |
//! | X_PUT | `pack(part, value)` | write a part of a stream (entry, node, group, …; see `cmd::stream`) |
//! | X_DEL | part | delete a part of a stream |
//! | X_PARTS | for each: 1 · len · `pack(part, value)`, or 0 · len · part (len: u32 BE) | X_PUT or X_DEL each, in order |
//! | X_APPEND | `pack(X_META's value, ID (16 B) · fields)` | X_META, and write the entry (XADD's) |
//! | FLUSHALL | | delete everything |
//!
//! K_SET, K_INCR and K_DECR made by this version also carry a prior
//! ([`Prior`]): whether their key existed and its expiry. H_SET, H_INCR,
//! H_DECR, H_DEL, S_SET and S_DEL carry whether their field or member was
//! there, and Z_SET, Z_INCR, Z_DECR and Z_DEL the score their member had.
//! They are then applied without reading the key or field, so counts and
//! sizes follow the master's. Such an event is not idempotent (an S_SET
//! that says "absent", applied twice, counts twice) and is trusted as
//! sent; none is applied twice (`applied_seq` is written with the data).
//!
//! A collection created by an event gets that event's seq as its version,
//! and so does a long string a K_PATCH or K_SETBIT changes when it moves
//! into chunks (see `keys`: their changes in place then touch only the
//! chunks they change).
//! Expiry is data here: applying never consults the clock (the master logs
//! a K_DEL for an expired key before it writes to it).

use bytes::Bytes;
use rocksync_protocol::{Command, LogEvent, Prior};

use super::batch::Batch;
use super::chunks;
use super::keys::{self, Kind, Meta};
use super::{Cf, Store};
use crate::error::{Error, Result};

mod lists;
pub use lists::list_index;

fn bad(e: &LogEvent, reason: impl Into<String>) -> Error {
    Error::BadEvent {
        seq: e.seq,
        cmd: e.cmd.name(),
        reason: reason.into(),
    }
}

fn unpacked(e: &LogEvent) -> Result<(Bytes, Bytes)> {
    keys::unpack(&e.value).ok_or_else(|| bad(e, "value is not a packed pair"))
}

fn number<T: std::str::FromStr>(e: &LogEvent, b: &[u8]) -> Result<T> {
    std::str::from_utf8(b)
        .ok()
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| bad(e, "not a number"))
}

/// The key's collection of `kind`, or a new one at version `e.seq` (an
/// existing key of another type is replaced).
fn collection(
    store: &Store,
    b: &mut Batch,
    e: &LogEvent,
    kind: Kind,
) -> Result<(Meta, Option<Meta>)> {
    let old = b.meta_header(store, &e.key)?;
    match &old {
        Some(m) if m.kind == kind => Ok((m.clone(), old)),
        Some(_) => {
            b.delete_key(store, &e.key)?;
            Ok((Meta::collection(kind, e.seq), None))
        }
        None => Ok((Meta::collection(kind, e.seq), None)),
    }
}

/// True when `e` carries what its key held before it ([`Prior`]), so that
/// applying it reads nothing: a round's batched read leaves its key out.
pub fn writes_blind(e: &LogEvent) -> bool {
    matches!(e.prior, Prior::Absent | Prior::Present { .. })
        && matches!(e.cmd, Command::KSet | Command::KIncr | Command::KDecr)
}

/// What a string write needs of the key's metadata before it: whether it
/// existed and its expiry. From the event when the master recorded it
/// (the receiver is in step with that master), else read.
fn old_of_string_write(store: &Store, b: &Batch, e: &LogEvent) -> Result<Option<Meta>> {
    match e.prior {
        // (a score is no string's prior: read)
        Prior::Unknown | Prior::Scored { .. } => b.meta_header(store, &e.key),
        Prior::Absent => Ok(None),
        Prior::Present { expire_ms } => Ok(Some(Meta::string(Bytes::new(), expire_ms))),
    }
}

/// What to record as `e`'s [`Prior`], given the key's metadata before it
/// (`old`, as the batch reads it): K_INCR and K_DECR only follow a string
/// or nothing; anything else stays unknown and is read on apply.
pub fn prior_of(cmd: Command, old: Option<&Meta>) -> Prior {
    match (cmd, old) {
        (Command::KSet | Command::KIncr | Command::KDecr, None) => Prior::Absent,
        // (over a collection: unknown, so that the receiver reads it and
        // counts its members stale)
        // (nor over a string kept in chunks: its chunks go stale too)
        (Command::KSet, Some(m)) if m.kind == Kind::String && !m.is_chunked() => Prior::Present {
            expire_ms: m.expire_ms,
        },
        (Command::KIncr | Command::KDecr, Some(m)) if m.kind == Kind::String && !m.is_chunked() => {
            Prior::Present {
                expire_ms: m.expire_ms,
            }
        }
        _ => Prior::Unknown,
    }
}

/// The collection kind of a write to one field or member, whose event can
/// carry whether that field or member was there ([`Prior`]).
fn field_write_kind(cmd: Command) -> Option<Kind> {
    match cmd {
        Command::HSet | Command::HIncr | Command::HDecr | Command::HDel => Some(Kind::Hash),
        Command::SSet | Command::SDel => Some(Kind::Set),
        Command::ZSet | Command::ZIncr | Command::ZDecr | Command::ZDel => Some(Kind::ZSet),
        _ => None,
    }
}

/// The field or member a collection write names.
fn field_of(e: &LogEvent) -> Result<Bytes> {
    Ok(match e.cmd {
        Command::HSet
        | Command::HIncr
        | Command::HDecr
        | Command::ZSet
        | Command::ZIncr
        | Command::ZDecr => unpacked(e)?.0,
        _ => e.value.clone(),
    })
}

/// The [`Prior`] to record in `e` before it is applied to `b`: for string
/// writes what the key held ([`prior_of`]), for collection writes whether
/// the field or member is in the collection, as `b` reads them.
///
/// # Errors
/// RocksDB errors from reads; [`Error::BadEvent`] for a malformed value.
pub fn prior_for(store: &Store, b: &Batch, e: &LogEvent) -> Result<Prior> {
    if matches!(e.cmd, Command::KSet | Command::KIncr | Command::KDecr) {
        return Ok(prior_of(e.cmd, b.meta_header(store, &e.key)?.as_ref()));
    }
    let Some(kind) = field_write_kind(e.cmd) else {
        return Ok(Prior::Unknown);
    };
    let field = field_of(e)?;
    let value = match b.meta_header(store, &e.key)? {
        Some(m) if m.kind == kind => b.get(
            store,
            Cf::Sub,
            &keys::sub_key(m.owner(&e.key), m.version, &field),
        )?,
        _ => None,
    };
    Ok(match value {
        None => Prior::Absent,
        // A sorted set's member value is its score's bits.
        Some(v) if kind == Kind::ZSet => match keys::be_u64(&v) {
            Some(score_bits) => Prior::Scored { score_bits },
            None => Prior::Unknown,
        },
        Some(_) => Prior::Present { expire_ms: 0 },
    })
}

/// The score a sorted-set member had before `e` (sub-key `sk` of the
/// existing set): from the event when its master recorded it, else read.
fn prior_score(store: &Store, b: &Batch, e: &LogEvent, sk: &[u8]) -> Result<Option<f64>> {
    Ok(match e.prior {
        Prior::Absent => None,
        Prior::Scored { score_bits } => Some(f64::from_bits(score_bits)),
        Prior::Unknown | Prior::Present { .. } => match b.get(store, Cf::Sub, sk)? {
            Some(v) => Some(f64::from_bits(
                keys::be_u64(&v).ok_or_else(|| bad(e, "corrupt score"))?,
            )),
            None => None,
        },
    })
}

/// Whether the field or member a collection write names (sub-key `sk` of
/// the existing collection) is there: from the event when its master
/// recorded it, else read. Z_SET reads a member that was there, for the
/// score it replaces.
fn field_present(store: &Store, b: &Batch, e: &LogEvent, sk: &[u8]) -> Result<bool> {
    Ok(match e.prior {
        Prior::Absent => false,
        Prior::Present { .. } | Prior::Scored { .. } => true,
        Prior::Unknown => b.get(store, Cf::Sub, sk)?.is_some(),
    })
}

/// Set a string, keeping the key's expiry when it was a string (another
/// type is replaced, with no expiry); `in_part`: the event changed part of
/// it, and a long one is kept in chunks from now on.
fn put_string_keeping_expiry(
    store: &Store,
    b: &mut Batch,
    e: &LogEvent,
    value: Bytes,
    in_part: bool,
) -> Result<()> {
    let chunks = in_part.then_some(e.seq);
    let key = &e.key[..];
    if writes_blind(e) {
        let old = old_of_string_write(store, b, e)?;
        let expire = old.as_ref().map_or(0, |m| m.expire_ms);
        return chunks::put_string(store, b, key, old.as_ref(), value, expire, chunks);
    }
    let old = b.meta_header(store, key)?;
    let expire = old
        .as_ref()
        .filter(|m| m.kind == Kind::String)
        .map_or(0, |m| m.expire_ms);
    if old.as_ref().is_some_and(|m| m.kind != Kind::String) {
        b.delete_key(store, key)?;
    }
    let old = b.meta_header(store, key)?;
    chunks::put_string(store, b, key, old.as_ref(), value, expire, chunks)
}

/// Apply a K_PATCH to a string kept in chunks (`m`, its metadata), in
/// place when its splices allow; false (nothing done) when they would
/// move bytes, and the string is to be rewritten whole.
fn patch_chunks(store: &Store, b: &mut Batch, e: &LogEvent, m: &Meta) -> Result<bool> {
    let max = crate::cmd::MAX_STRING_BYTES as usize;
    let splices =
        rocksync_protocol::splice::parse(&e.value).map_err(|why| bad(e, why.to_string()))?;
    let Some(len) = chunks::in_place_len(m.string_len(), &splices, max)
        .map_err(|why| bad(e, why.to_string()))?
    else {
        return Ok(false);
    };
    for s in &splices {
        chunks::write_at(store, b, &e.key, m, s.offset, s.inserted)?;
    }
    let mut new = m.clone();
    new.size = len as u64;
    b.put_meta(store, &e.key, Some(m), &new)?;
    Ok(true)
}

/// Set one bit of a string kept in chunks (`m`, its metadata).
fn setbit_chunks(
    store: &Store,
    b: &mut Batch,
    e: &LogEvent,
    m: &Meta,
    off: u64,
    bit: u8,
) -> Result<()> {
    let idx = (off / 8) as usize;
    let mut byte = chunks::read_range(&e.key, m, idx, idx + 1, |k| b.get(store, Cf::Sub, k))?
        .first()
        .copied()
        .unwrap_or(0);
    let mask = 1u8 << (7 - off % 8);
    if bit == 1 {
        byte |= mask;
    } else {
        byte &= !mask;
    }
    chunks::write_at(store, b, &e.key, m, idx, &[byte])?;
    let mut new = m.clone();
    new.size = m.string_len().max(idx + 1) as u64;
    b.put_meta(store, &e.key, Some(m), &new)
}

/// The `ttl` of a K_SETBIT event that carries `offset bit` (a change)
/// rather than the whole new string.
pub const SETBIT_DELTA: i64 = -1;

/// A K_SETBIT event's `offset bit` (decimal offset below 2^32, bit 0 or 1).
fn setbit_delta(v: &[u8]) -> Option<(u64, u8)> {
    let text = std::str::from_utf8(v).ok()?;
    let (o, b) = text.split_once(' ')?;
    let off = o.parse::<u64>().ok().filter(|o| *o < (1u64 << 32))?;
    let bit = match b {
        "0" => 0,
        "1" => 1,
        _ => return None,
    };
    (o.len() <= 10 && o.bytes().all(|c| c.is_ascii_digit())).then_some((off, bit))
}

/// Write `m` back, or delete the key when the collection is empty.
fn store_collection(
    store: &Store,
    b: &mut Batch,
    key: &[u8],
    old: Option<&Meta>,
    m: &Meta,
) -> Result<()> {
    if m.size == 0 {
        b.delete_emptied(store, key)?;
        Ok(())
    } else {
        b.put_meta(store, key, old, m)
    }
}

/// K_MOVE: the key (`e.key`) takes the value of `e.value` (the source),
/// and the source goes. A value with sub-keys keeps them under their
/// home, and a move record tells the garbage sweep who holds them now.
fn move_value(store: &Store, b: &mut Batch, e: &LogEvent) -> Result<()> {
    let (key, src) = (&e.key[..], &e.value[..]);
    let m = match b.meta_header(store, src)? {
        None => return Ok(()),
        Some(m) if m.is_chunked() => m,
        // (a string's or stream's value is in its metadata)
        Some(_) => match b.meta(store, src)? {
            Some(m) => m,
            None => return Ok(()),
        },
    };
    let mut new = m.clone();
    if m.has_sub_keys() {
        let home = m.owner(src);
        new.home = (home != key).then(|| Bytes::copy_from_slice(home));
        if new.home.is_some() {
            let record = keys::moved_key(home, m.version, e.seq);
            b.put(store, Cf::Sub, record, key.to_vec())?;
        }
    }
    b.delete_key(store, key)?;
    // (its sub-keys are the key's now: nothing is left stale)
    b.delete_emptied(store, src)?;
    b.put_meta(store, key, None, &new)
}

/// Apply one data event to `batch`.
///
/// # Errors
/// [`Error::BadEvent`] for a control event or a malformed value, RocksDB
/// errors from reads.
pub fn apply_event(store: &Store, b: &mut Batch, e: &LogEvent) -> Result<()> {
    let key = &e.key[..];
    match e.cmd {
        Command::KSet => {
            let old = old_of_string_write(store, b, e)?;
            chunks::put_string(
                store,
                b,
                key,
                old.as_ref(),
                e.value.clone(),
                e.ttl as u64,
                None,
            )?;
        }
        Command::KSetbit => {
            // `ttl == SETBIT_DELTA` marks the change (`offset bit`); events
            // of older binlogs carry the whole new string.
            let value = match (e.ttl == SETBIT_DELTA).then(|| setbit_delta(&e.value)) {
                None => e.value.clone(),
                Some(None) => return Err(bad(e, "not `offset bit`")),
                Some(Some((off, bit))) => {
                    if let Some(m) = b.meta_header(store, key)?.filter(Meta::is_chunked) {
                        return setbit_chunks(store, b, e, &m, off, bit);
                    }
                    let mut v = match b.meta(store, key)? {
                        Some(m) if m.kind == Kind::String => m.value.to_vec(),
                        _ => Vec::new(),
                    };
                    let idx = (off / 8) as usize;
                    if v.len() <= idx {
                        v.resize(idx + 1, 0);
                    }
                    let mask = 1u8 << (7 - off % 8);
                    if bit == 1 {
                        v[idx] |= mask;
                    } else {
                        v[idx] &= !mask;
                    }
                    Bytes::from(v)
                }
            };
            put_string_keeping_expiry(store, b, e, value, true)?;
        }
        Command::KPatch => {
            if let Some(m) = b.meta_header(store, key)?.filter(Meta::is_chunked) {
                if patch_chunks(store, b, e, &m)? {
                    return Ok(());
                }
            }
            let mut v = match b.meta(store, key)? {
                Some(m) if m.kind == Kind::String => m.value.to_vec(),
                _ => Vec::new(),
            };
            let max = crate::cmd::MAX_STRING_BYTES as usize;
            rocksync_protocol::splice::apply(&mut v, &e.value, max)
                .map_err(|why| bad(e, why.to_string()))?;
            put_string_keeping_expiry(store, b, e, Bytes::from(v), true)?;
        }
        Command::KIncr | Command::KDecr => {
            put_string_keeping_expiry(store, b, e, e.value.clone(), false)?;
        }
        Command::KDel | Command::HClear | Command::SClear | Command::ZClear | Command::QClear => {
            b.delete_key(store, key)?;
        }
        Command::KMove => move_value(store, b, e)?,
        Command::KExpireAt => {
            if let Some(old) = b.meta_header(store, key)? {
                let mut m = old.clone();
                m.expire_ms = e.ttl as u64;
                b.put_meta(store, key, Some(&old), &m)?;
            }
        }
        Command::HSet | Command::HIncr | Command::HDecr => {
            let (field, value) = unpacked(e)?;
            let (mut m, old) = collection(store, b, e, Kind::Hash)?;
            let sk = keys::sub_key(m.owner(key), m.version, &field);
            // A new collection (no `old`) has no fields, whatever the event.
            if old.is_none() || !field_present(store, b, e, &sk)? {
                m.size += 1;
            }
            b.put(store, Cf::Sub, sk, value.to_vec())?;
            b.put_meta(store, key, old.as_ref(), &m)?;
        }
        Command::SSet => {
            let (mut m, old) = collection(store, b, e, Kind::Set)?;
            let sk = keys::sub_key(m.owner(key), m.version, &e.value);
            if old.is_none() || !field_present(store, b, e, &sk)? {
                m.size += 1;
                b.put(store, Cf::Sub, sk, Vec::new())?;
                if m.head == keys::SET_INDEXED {
                    let pick = keys::set_pick_key(m.owner(key), m.version, &e.value);
                    b.put(store, Cf::ZScore, pick, Vec::new())?;
                }
                b.put_meta(store, key, old.as_ref(), &m)?;
            }
        }
        Command::HDel | Command::SDel => {
            let kind = if e.cmd == Command::HDel {
                Kind::Hash
            } else {
                Kind::Set
            };
            let Some(old) = b.meta_header(store, key)?.filter(|m| m.kind == kind) else {
                return Ok(());
            };
            let sk = keys::sub_key(old.owner(key), old.version, &e.value);
            if field_present(store, b, e, &sk)? {
                b.delete(store, Cf::Sub, sk)?;
                if kind == Kind::Set && old.head == keys::SET_INDEXED {
                    let pick = keys::set_pick_key(old.owner(key), old.version, &e.value);
                    b.delete(store, Cf::ZScore, pick)?;
                }
                let mut m = old.clone();
                m.size -= 1;
                store_collection(store, b, key, Some(&old), &m)?;
            }
        }
        Command::ZSet | Command::ZIncr | Command::ZDecr => {
            let (member, score) = unpacked(e)?;
            let score: f64 = number(e, &score)?;
            let (mut m, old) = collection(store, b, e, Kind::ZSet)?;
            let sk = keys::sub_key(m.owner(key), m.version, &member);
            // A new set (no `old`) has no members, whatever the event says.
            let prev = match old {
                None => None,
                Some(_) => prior_score(store, b, e, &sk)?,
            };
            match prev {
                Some(prev) => {
                    b.delete(
                        store,
                        Cf::ZScore,
                        keys::zscore_key(m.owner(key), m.version, prev, &member),
                    )?;
                }
                None => m.size += 1,
            }
            b.put(store, Cf::Sub, sk, score.to_bits().to_be_bytes().to_vec())?;
            b.put(
                store,
                Cf::ZScore,
                keys::zscore_key(m.owner(key), m.version, score, &member),
                Vec::new(),
            )?;
            b.put_meta(store, key, old.as_ref(), &m)?;
        }
        Command::ZDel => {
            let Some(old) = b.meta_header(store, key)?.filter(|m| m.kind == Kind::ZSet) else {
                return Ok(());
            };
            let sk = keys::sub_key(old.owner(key), old.version, &e.value);
            if let Some(prev) = prior_score(store, b, e, &sk)? {
                b.delete(store, Cf::Sub, sk)?;
                b.delete(
                    store,
                    Cf::ZScore,
                    keys::zscore_key(old.owner(key), old.version, prev, &e.value),
                )?;
                let mut m = old.clone();
                m.size -= 1;
                store_collection(store, b, key, Some(&old), &m)?;
            }
        }
        Command::QPushFront
        | Command::QPushBack
        | Command::QPopFront
        | Command::QPopBack
        | Command::QRem
        | Command::QSet
        | Command::QFix
        | Command::QPack
        | Command::QIndex => lists::apply_list(store, b, e)?,
        Command::XMeta => {
            let (len, head) = crate::cmd::stream::split_header_value(&e.value)
                .ok_or_else(|| bad(e, "not a stream header"))?;
            let (mut m, old) = collection(store, b, e, Kind::Stream)?;
            m.size = len;
            m.value = head;
            b.put_meta(store, key, old.as_ref(), &m)?;
        }
        Command::XPut => {
            let (part, value) = unpacked(e)?;
            let (m, old) = collection(store, b, e, Kind::Stream)?;
            if old.is_none() {
                b.put_meta(store, key, None, &m)?;
            }
            b.put(
                store,
                Cf::Sub,
                keys::sub_key(m.owner(key), m.version, &part),
                value.to_vec(),
            )?;
        }
        Command::XParts => {
            let parts = crate::cmd::stream::split_parts(&e.value)
                .ok_or_else(|| bad(e, "not a list of stream parts"))?;
            let m = if parts.iter().any(|(_, v)| v.is_some()) {
                let (m, old) = collection(store, b, e, Kind::Stream)?;
                if old.is_none() {
                    b.put_meta(store, key, None, &m)?;
                }
                Some(m)
            } else {
                b.meta_header(store, key)?
                    .filter(|m| m.kind == Kind::Stream)
            };
            if let Some(m) = m {
                for (part, value) in parts {
                    let sub = keys::sub_key(m.owner(key), m.version, &part);
                    match value {
                        Some(v) => b.put(store, Cf::Sub, sub, v.to_vec())?,
                        None => b.delete(store, Cf::Sub, sub)?,
                    }
                }
            }
        }
        Command::XAppend => {
            let (len, head, part, fields) = crate::cmd::stream::split_append_value(&e.value)
                .ok_or_else(|| bad(e, "not a stream entry and header"))?;
            let (mut m, old) = collection(store, b, e, Kind::Stream)?;
            m.size = len;
            m.value = head;
            b.put_meta(store, key, old.as_ref(), &m)?;
            b.put(
                store,
                Cf::Sub,
                keys::sub_key(m.owner(key), m.version, &part),
                fields.to_vec(),
            )?;
        }
        Command::XDel => {
            if let Some(m) = b
                .meta_header(store, key)?
                .filter(|m| m.kind == Kind::Stream)
            {
                b.delete(
                    store,
                    Cf::Sub,
                    keys::sub_key(m.owner(key), m.version, &e.value),
                )?;
            }
        }
        Command::FlushAll => b.flush_all(store)?,
        Command::FunctionSet => {
            b.put(
                store,
                Cf::Default,
                super::function_key(key),
                e.value.to_vec(),
            )?;
        }
        Command::FunctionDel => b.delete(store, Cf::Default, super::function_key(key))?,
        Command::FunctionFlush => {
            let prefix = super::FUNCTION_PREFIX;
            let mut gone: Vec<Vec<u8>> = Vec::new();
            store.scan(Cf::Default, prefix, prefix, |k, _| {
                gone.push(k.to_vec());
                true
            })?;
            let (pending, _) = b.pending_under(Cf::Default, prefix, prefix, None);
            gone.extend(pending.into_iter().map(|(k, _)| k));
            for k in gone {
                b.delete(store, Cf::Default, k)?;
            }
        }
        Command::KExpire | Command::ZPopFront | Command::ZPopBack => {
            return Err(bad(
                e,
                "not emitted by rocksync (relative or positional effect)",
            ))
        }
        _ => return Err(bad(e, "not a data event")),
    }
    Ok(())
}
