//! Redis's RDB encoding of a value, as DUMP makes it and RESTORE takes it
//! (RDB version 10, Redis 7.0): the value's type byte and body, the RDB
//! version (2 bytes, little-endian) and a CRC64 of both (8 bytes,
//! little-endian).
//!
//! [`dump`] writes the plain encodings every Redis since 2.x loads
//! (string, list, set, hash, sorted set with binary scores); [`restore`]
//! reads those and the compact ones Redis writes (listpack, ziplist,
//! intset, quicklist, LZF-compressed and integer-encoded strings), and
//! streams with their consumer groups both ways. Module values are
//! refused, by name.

mod file;
mod read;
mod stream;

use bytes::Bytes;

pub use file::{
    write_end, write_function, write_header, write_key, write_select, FileError, FileReader, Item,
};
pub use read::{listpack_backlen, Reader};
pub use stream::{
    Group as StreamGroup, Node as StreamNode, Pending as StreamPending, Stream, StreamId,
};

/// The RDB version of Redis 7.0, written in every payload; payloads of a
/// later version are refused, as Redis refuses them.
pub const RDB_VERSION: u16 = 10;

/// RDB object types.
mod kind {
    pub(crate) const STRING: u8 = 0;
    pub(crate) const LIST: u8 = 1;
    pub(crate) const SET: u8 = 2;
    pub(crate) const ZSET: u8 = 3;
    pub(crate) const HASH: u8 = 4;
    pub(crate) const ZSET_2: u8 = 5;
    pub(crate) const MODULE: u8 = 6;
    pub(crate) const MODULE_2: u8 = 7;
    pub(crate) const HASH_ZIPMAP: u8 = 9;
    pub(crate) const LIST_ZIPLIST: u8 = 10;
    pub(crate) const SET_INTSET: u8 = 11;
    pub(crate) const ZSET_ZIPLIST: u8 = 12;
    pub(crate) const HASH_ZIPLIST: u8 = 13;
    pub(crate) const LIST_QUICKLIST: u8 = 14;
    pub(crate) const STREAM_LISTPACKS: u8 = 15;
    pub(crate) const HASH_LISTPACK: u8 = 16;
    pub(crate) const ZSET_LISTPACK: u8 = 17;
    pub(crate) const LIST_QUICKLIST_2: u8 = 18;
    pub(crate) const STREAM_LISTPACKS_2: u8 = 19;
    pub(crate) const SET_LISTPACK: u8 = 20;
    pub(crate) const STREAM_LISTPACKS_3: u8 = 21;
}

/// A value as RDB carries it.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// A string's bytes.
    String(Bytes),
    /// Elements, head first.
    List(Vec<Bytes>),
    /// Members.
    Set(Vec<Bytes>),
    /// (field, value) pairs.
    Hash(Vec<(Bytes, Bytes)>),
    /// (member, score) pairs.
    ZSet(Vec<(Bytes, f64)>),
    /// A stream: entries, counters, consumer groups.
    Stream(Box<Stream>),
}

/// Why a payload is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RdbError {
    /// Too short, a later RDB version, or a checksum that does not match.
    #[error("DUMP payload version or checksum are wrong")]
    Checksum,
    /// Bytes that are no value of a known type (a length past the end, a
    /// NaN score, an empty collection, ...).
    #[error("Bad data format")]
    Format,
    /// A type this store does not hold (yet).
    #[error("the payload holds a {0}, which this server does not restore")]
    Unsupported(&'static str),
    /// The bytes end inside an item (in a file: more may come).
    #[error("the data ends inside an item")]
    Truncated,
}

/// DUMP's payload for `value`.
pub fn dump(value: &Value) -> Vec<u8> {
    let mut out = Vec::new();
    write_value(&mut out, value);
    out.extend_from_slice(&RDB_VERSION.to_le_bytes());
    let crc = crc64(0, &out);
    out.extend_from_slice(&crc.to_le_bytes());
    out
}

/// The value of a DUMP payload, checked as RESTORE checks it.
///
/// # Errors
/// [`RdbError::Checksum`] for a payload too short, of a later RDB version
/// or whose CRC does not match (a zero CRC included); [`RdbError::Format`] for bytes that are
/// no value; [`RdbError::Unsupported`] for a stream or a module value.
pub fn restore(payload: &[u8]) -> Result<Value, RdbError> {
    let Some(body_len) = payload.len().checked_sub(10) else {
        return Err(RdbError::Checksum);
    };
    let (body, footer) = payload.split_at(body_len);
    let version = u16::from_le_bytes([footer[0], footer[1]]);
    let crc = u64::from_le_bytes(footer[2..10].try_into().map_err(|_| RdbError::Checksum)?);
    if version > RDB_VERSION || crc64(0, &payload[..body_len + 2]) != crc {
        return Err(RdbError::Checksum);
    }
    // (bytes after the value are ignored, as Redis ignores them)
    let mut r = Reader::new(body);
    r.byte()
        .and_then(|kind| r.value(kind))
        .map_err(|e| match e {
            RdbError::Truncated => RdbError::Format,
            e => e,
        })
}

/// Append `value`'s type byte and body.
pub fn write_value(out: &mut Vec<u8>, value: &Value) {
    match value {
        Value::String(s) => {
            out.push(kind::STRING);
            put_string(out, s);
        }
        Value::List(items) | Value::Set(items) => {
            out.push(if matches!(value, Value::List(_)) {
                kind::LIST
            } else {
                kind::SET
            });
            put_len(out, items.len() as u64);
            for item in items {
                put_string(out, item);
            }
        }
        Value::Hash(pairs) => {
            out.push(kind::HASH);
            put_len(out, pairs.len() as u64);
            for (field, value) in pairs {
                put_string(out, field);
                put_string(out, value);
            }
        }
        Value::Stream(s) => stream::write(out, s),
        Value::ZSet(pairs) => {
            out.push(kind::ZSET_2);
            put_len(out, pairs.len() as u64);
            for (member, score) in pairs {
                put_string(out, member);
                out.extend_from_slice(&score.to_le_bytes());
            }
        }
    }
}

/// An RDB length: 6 bits, 14 bits, or a marker and 32 or 64 bits
/// (big-endian).
pub fn put_len(out: &mut Vec<u8>, n: u64) {
    if n < 1 << 6 {
        out.push(n as u8);
    } else if n < 1 << 14 {
        out.push(0x40 | (n >> 8) as u8);
        out.push(n as u8);
    } else if n <= u64::from(u32::MAX) {
        out.push(0x80);
        out.extend_from_slice(&(n as u32).to_be_bytes());
    } else {
        out.push(0x81);
        out.extend_from_slice(&n.to_be_bytes());
    }
}

/// An RDB string: its length, then its bytes (never compressed).
pub fn put_string(out: &mut Vec<u8>, s: &[u8]) {
    put_len(out, s.len() as u64);
    out.extend_from_slice(s);
}

/// Redis's CRC64 (Jones polynomial, reflected, no final xor) of `data`,
/// continuing from `crc`.
pub fn crc64(crc: u64, data: &[u8]) -> u64 {
    data.iter().fold(crc, |crc, &b| {
        CRC64_TABLE[((crc ^ u64::from(b)) & 0xff) as usize] ^ (crc >> 8)
    })
}

/// The reflected Jones polynomial.
const CRC64_POLY: u64 = 0x95ac_9329_ac4b_c9b5;

static CRC64_TABLE: [u64; 256] = crc64_table();

const fn crc64_table() -> [u64; 256] {
    let mut table = [0u64; 256];
    let mut i = 0;
    while i < 256 {
        let mut c = i as u64;
        let mut bit = 0;
        while bit < 8 {
            c = if c & 1 == 1 {
                CRC64_POLY ^ (c >> 1)
            } else {
                c >> 1
            };
            bit += 1;
        }
        table[i] = c;
        i += 1;
    }
    table
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc64_is_redis_s() {
        // Redis's own check value (crc64.c's test).
        assert_eq!(crc64(0, b"123456789"), 0xe9c6_d914_c4b8_d9ca);
        // Continuing equals one pass.
        assert_eq!(crc64(crc64(0, b"1234"), b"56789"), crc64(0, b"123456789"));
    }

    #[test]
    fn every_value_comes_back_from_its_dump() {
        let b = |s: &str| Bytes::copy_from_slice(s.as_bytes());
        let long = Bytes::from(vec![b'x'; 20_000]);
        for v in [
            Value::String(b("")),
            Value::String(long.clone()),
            Value::List(vec![b("a"), long.clone(), b("-12")]),
            Value::Set((0..300).map(|i| b(&i.to_string())).collect()),
            Value::Hash(vec![(b("f"), b("v")), (long.clone(), b(""))]),
            Value::ZSet(vec![(b("m"), 1.5), (b("n"), f64::INFINITY), (b("o"), -0.0)]),
        ] {
            let payload = dump(&v);
            assert_eq!(restore(&payload), Ok(v.clone()));
            // Any byte changed is caught by the checksum.
            for at in [0, payload.len() / 2, payload.len() - 1] {
                let mut bad = payload.clone();
                bad[at] ^= 0x20;
                assert_eq!(restore(&bad), Err(RdbError::Checksum), "{v:?} at {at}");
            }
        }
    }

    #[test]
    fn short_later_and_trailing_payloads_are_refused() {
        assert_eq!(restore(b""), Err(RdbError::Checksum));
        assert_eq!(restore(b"\x00\x01a\x0b\x00"), Err(RdbError::Checksum));
        let mut later = dump(&Value::String(Bytes::from_static(b"a")));
        let n = later.len();
        later[n - 10] = 11;
        assert_eq!(restore(&later), Err(RdbError::Checksum));
        // A body with bytes after its value, its CRC right: the value
        // (Redis ignores the rest); a zero CRC is no CRC to RESTORE.
        let mut body = vec![kind::STRING];
        put_string(&mut body, b"a");
        body.push(0);
        body.extend_from_slice(&RDB_VERSION.to_le_bytes());
        let crc = crc64(0, &body);
        let mut zero = body.clone();
        body.extend_from_slice(&crc.to_le_bytes());
        assert_eq!(restore(&body), Ok(Value::String(Bytes::from_static(b"a"))));
        zero.extend_from_slice(&[0; 8]);
        assert_eq!(restore(&zero), Err(RdbError::Checksum));
        // A member twice is a bad format, as in Redis.
        let twice = Value::Set(vec![Bytes::from_static(b"m"), Bytes::from_static(b"m")]);
        assert_eq!(restore(&dump(&twice)), Err(RdbError::Format));
    }

    #[test]
    fn lengths_use_every_width() {
        for n in [0u64, 63, 64, 16_383, 16_384, u64::from(u32::MAX), 1 << 40] {
            let mut out = Vec::new();
            put_len(&mut out, n);
            assert_eq!(Reader::new(&out).len(), Ok(n), "{n}");
        }
    }
}
