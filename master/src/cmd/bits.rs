//! Bit commands over strings: GETBIT, SETBIT, BITCOUNT, BITOP, BITPOS,
//! BITFIELD and BITFIELD_RO (Redis 7.0's argument rules, error texts and
//! overflow arithmetic).

use bytes::{Bytes, BytesMut};
use rocksync_protocol::{parse_i64, Command, Reply};

use super::string::range;
use super::{
    int_arg, lower, string_header, tri, typed, ReadCtx, View, WriteCtx, WriteOp, MAX_STRING_BYTES,
    SYNTAX, WRONGTYPE,
};
use crate::error::Result;
use crate::store::keys::{Kind, Meta};

const TOO_BIG: &str = "ERR string exceeds maximum allowed size (proto-max-bulk-len)";

fn string_of(v: &impl View, key: &[u8]) -> Result<Result<Option<Bytes>, Reply>> {
    Ok(typed(v, key, Kind::String)?.map(|m| m.map(|m| m.value)))
}

/// What a [`BitOp`] combines with.
#[derive(Clone, Copy)]
enum Bitwise {
    And,
    Or,
    Xor,
    Not,
}

/// BITOP AND|OR|XOR|NOT destkey key [key ...]: the result replaces the
/// destination (deleted when empty); its length is the reply.
struct BitOp {
    op: Bitwise,
    dst: Bytes,
    keys: Vec<Bytes>,
}

pub(crate) fn bitop(a: &[Bytes]) -> Result<Box<dyn WriteOp>, Reply> {
    let op = match lower(&a[1]).as_slice() {
        b"and" => Bitwise::And,
        b"or" => Bitwise::Or,
        b"xor" => Bitwise::Xor,
        b"not" => Bitwise::Not,
        _ => return Err(Reply::error(SYNTAX)),
    };
    if matches!(op, Bitwise::Not) && a.len() != 4 {
        return Err(Reply::error(
            "ERR BITOP NOT must be called with a single source key.",
        ));
    }
    Ok(Box::new(BitOp {
        op,
        dst: a[2].clone(),
        keys: a[3..].to_vec(),
    }))
}

impl WriteOp for BitOp {
    fn execute(&self, c: &mut WriteCtx<'_>) -> Result<Reply> {
        let mut inputs = Vec::with_capacity(self.keys.len());
        for key in &self.keys {
            inputs.push(tri!(string_of(&*c, key)?).unwrap_or_default());
        }
        let len = inputs.iter().map(Bytes::len).max().unwrap_or(0);
        let mut out = BytesMut::zeroed(len);
        for (i, byte) in out.iter_mut().enumerate() {
            let at = |v: &Bytes| v.get(i).copied().unwrap_or(0);
            *byte = match self.op {
                Bitwise::Not => !at(&inputs[0]),
                Bitwise::And => inputs.iter().map(at).fold(0xff, |x, y| x & y),
                Bitwise::Or => inputs.iter().map(at).fold(0, |x, y| x | y),
                Bitwise::Xor => inputs.iter().map(at).fold(0, |x, y| x ^ y),
            };
        }
        if len == 0 {
            if c.live_meta_mut(&self.dst)?.is_some() {
                c.emit(Command::KDel, &self.dst, Bytes::new(), 0)?;
            }
        } else {
            c.emit(Command::KSet, &self.dst, out.freeze(), 0)?;
        }
        Ok(Reply::Integer(len as i64))
    }
}

/// BITPOS key bit [start [end [BYTE|BIT]]].
pub(crate) fn bitpos(c: &ReadCtx<'_>, a: &[Bytes]) -> Result<Reply> {
    let bit = tri!(int_arg(&a[2]));
    if bit != 0 && bit != 1 {
        return Ok(Reply::error("ERR The bit argument must be 1 or 0."));
    }
    let Some(v) = tri!(string_of(c, &a[1])?) else {
        return Ok(Reply::Integer(if bit == 1 { -1 } else { 0 }));
    };
    let bytes = v.len() as i64;
    let (mut start, mut end, mut in_bits, mut end_given) = (0i64, bytes - 1, false, false);
    match a.len() {
        3 => {}
        4..=6 => {
            start = tri!(int_arg(&a[3]));
            if a.len() == 6 {
                in_bits = match lower(&a[5]).as_slice() {
                    b"bit" => true,
                    b"byte" => false,
                    _ => return Ok(Reply::error(SYNTAX)),
                };
            }
            let total = if in_bits { bytes * 8 } else { bytes };
            end = if a.len() >= 5 {
                end_given = true;
                tri!(int_arg(&a[4]))
            } else {
                total - 1
            };
            if start < 0 {
                start += total;
            }
            if end < 0 {
                end += total;
            }
            start = start.max(0);
            end = end.max(0).min(total - 1);
        }
        _ => return Ok(Reply::error(SYNTAX)),
    }
    if start > end {
        return Ok(Reply::Integer(-1));
    }
    let (first, last) = if in_bits {
        (start, end)
    } else {
        (start * 8, end * 8 + 7)
    };
    let want = bit == 1;
    let mut i = first;
    while i <= last {
        let byte = v[(i / 8) as usize];
        // A whole byte without the bit sought is skipped at once.
        if i % 8 == 0 && i + 7 <= last && byte == if want { 0 } else { 0xff } {
            i += 8;
            continue;
        }
        if ((byte >> (7 - i % 8)) & 1 == 1) == want {
            return Ok(Reply::Integer(i));
        }
        i += 1;
    }
    // Looking for a clear bit past the end of the string, when no end was
    // given: the string continues with zeros.
    Ok(Reply::Integer(if !want && !end_given {
        last + 1
    } else {
        -1
    }))
}

#[derive(Clone, Copy, PartialEq)]
enum Overflow {
    Wrap,
    Sat,
    Fail,
}

#[derive(Clone, Copy, PartialEq)]
enum Op {
    Get,
    Set(i64),
    Incr(i64),
}

#[derive(Clone, Copy)]
struct Field {
    op: Op,
    signed: bool,
    bits: u32,
    offset: u64,
    overflow: Overflow,
}

const BAD_TYPE: &str =
    "ERR Invalid bitfield type. Use something like i16 u8. Note that u64 is not supported but i64 is.";

fn field_type(b: &[u8]) -> Result<(bool, u32), Reply> {
    let signed = match b.first() {
        Some(b'i') => true,
        Some(b'u') => false,
        _ => return Err(Reply::error(BAD_TYPE)),
    };
    match parse_i64(&b[1..]) {
        Some(n) if n >= 1 && n <= if signed { 64 } else { 63 } => Ok((signed, n as u32)),
        _ => Err(Reply::error(BAD_TYPE)),
    }
}

fn field_offset(b: &[u8], bits: u32) -> Result<u64, Reply> {
    let err = || Reply::error("ERR bit offset is not an integer or out of range");
    let (hash, digits) = match b.strip_prefix(b"#") {
        Some(rest) => (true, rest),
        None => (false, b),
    };
    let mut n = parse_i64(digits).ok_or_else(err)?;
    if hash {
        n = n.checked_mul(i64::from(bits)).ok_or_else(err)?;
    }
    if n < 0 || (n as u64 >> 3) >= MAX_STRING_BYTES {
        return Err(err());
    }
    Ok(n as u64)
}

/// Parse BITFIELD's (and BITFIELD_RO's) operations (`a` from the first
/// one).
fn parse_fields(a: &[Bytes]) -> Result<Vec<Field>, Reply> {
    let mut out = Vec::new();
    let mut overflow = Overflow::Wrap;
    let mut j = 0;
    while j < a.len() {
        let left = a.len() - j - 1;
        let word = lower(&a[j]);
        let op_args = match word.as_slice() {
            b"get" if left >= 2 => 0,
            b"set" | b"incrby" if left >= 3 => 1,
            b"overflow" if left >= 1 => {
                overflow = match lower(&a[j + 1]).as_slice() {
                    b"wrap" => Overflow::Wrap,
                    b"sat" => Overflow::Sat,
                    b"fail" => Overflow::Fail,
                    _ => return Err(Reply::error("ERR Invalid OVERFLOW type specified")),
                };
                j += 2;
                continue;
            }
            _ => return Err(Reply::error(SYNTAX)),
        };
        let (signed, bits) = field_type(&a[j + 1])?;
        let offset = field_offset(&a[j + 2], bits)?;
        let op = match word.as_slice() {
            b"get" => Op::Get,
            b"set" => Op::Set(int_arg(&a[j + 3])?),
            _ => Op::Incr(int_arg(&a[j + 3])?),
        };
        out.push(Field {
            op,
            signed,
            bits,
            offset,
            overflow,
        });
        j += 3 + op_args;
    }
    Ok(out)
}

fn read_bits(v: &[u8], offset: u64, bits: u32) -> u64 {
    let mut x = 0u64;
    for i in 0..u64::from(bits) {
        let at = offset + i;
        let byte = v.get((at / 8) as usize).copied().unwrap_or(0);
        x = (x << 1) | u64::from((byte >> (7 - at % 8)) & 1);
    }
    x
}

fn write_bits(v: &mut [u8], offset: u64, bits: u32, x: u64) {
    for i in 0..u64::from(bits) {
        let at = offset + i;
        let on = (x >> (u64::from(bits) - 1 - i)) & 1 == 1;
        let mask = 1u8 << (7 - at % 8);
        let byte = &mut v[(at / 8) as usize];
        if on {
            *byte |= mask;
        } else {
            *byte &= !mask;
        }
    }
}

fn sign_extend(x: u64, bits: u32) -> i64 {
    if bits < 64 && x & (1 << (bits - 1)) != 0 {
        (x | (u64::MAX << bits)) as i64
    } else {
        x as i64
    }
}

/// `value + incr` in a signed field of `bits`: the result, and whether
/// it overflowed (then the result is wrapped or saturated per `ow`).
fn signed_add(value: i64, incr: i64, bits: u32, ow: Overflow) -> (i64, bool) {
    let max = if bits == 64 {
        i64::MAX
    } else {
        (1i64 << (bits - 1)) - 1
    };
    let min = -max - 1;
    let sum = i128::from(value) + i128::from(incr);
    if sum >= i128::from(min) && sum <= i128::from(max) {
        return (sum as i64, false);
    }
    match ow {
        Overflow::Sat => (if sum > i128::from(max) { max } else { min }, true),
        _ => {
            let c = (value as u64).wrapping_add(incr as u64);
            (sign_extend(c & mask(bits), bits), true)
        }
    }
}

fn mask(bits: u32) -> u64 {
    if bits == 64 {
        u64::MAX
    } else {
        (1u64 << bits) - 1
    }
}

/// As [`signed_add`], unsigned.
fn unsigned_add(value: u64, incr: i64, bits: u32, ow: Overflow) -> (u64, bool) {
    let max = mask(bits);
    let sum = i128::from(value) + i128::from(incr);
    if sum >= 0 && sum <= i128::from(max) {
        return (sum as u64, false);
    }
    match ow {
        Overflow::Sat => (if sum > 0 { max } else { 0 }, true),
        _ => (value.wrapping_add(incr as u64) & max, true),
    }
}

/// SET of `v` in an unsigned field (a negative argument is a huge
/// unsigned, as in Redis).
fn unsigned_set(v: u64, bits: u32, ow: Overflow) -> (u64, bool) {
    let max = mask(bits);
    if v <= max {
        (v, false)
    } else if ow == Overflow::Sat {
        (max, true)
    } else {
        (v & max, true)
    }
}

/// Run `fields` over `value`: the replies, and the changed string.
fn run_fields(value: &[u8], fields: &[Field]) -> (Vec<Reply>, Vec<u8>) {
    let mut v = value.to_vec();
    let mut replies = Vec::with_capacity(fields.len());
    let high = fields
        .iter()
        .filter(|f| f.op != Op::Get)
        .map(|f| (f.offset + u64::from(f.bits)).div_ceil(8) as usize)
        .max()
        .unwrap_or(0);
    if v.len() < high {
        v.resize(high, 0);
    }
    for f in fields {
        let raw = read_bits(&v, f.offset, f.bits);
        let (reply, new) = match (f.op, f.signed) {
            (Op::Get, true) => (Reply::Integer(sign_extend(raw, f.bits)), None),
            (Op::Get, false) => (Reply::Integer(raw as i64), None),
            (Op::Set(x), true) => {
                let (nv, over) = signed_add(x, 0, f.bits, f.overflow);
                let old = sign_extend(raw, f.bits);
                (Reply::Integer(old), Some((nv as u64, over)))
            }
            (Op::Set(x), false) => {
                let (nv, over) = unsigned_set(x as u64, f.bits, f.overflow);
                (Reply::Integer(raw as i64), Some((nv, over)))
            }
            (Op::Incr(x), true) => {
                let (nv, over) = signed_add(sign_extend(raw, f.bits), x, f.bits, f.overflow);
                (Reply::Integer(nv), Some((nv as u64, over)))
            }
            (Op::Incr(x), false) => {
                let (nv, over) = unsigned_add(raw, x, f.bits, f.overflow);
                (Reply::Integer(nv as i64), Some((nv, over)))
            }
        };
        match new {
            Some((_, true)) if f.overflow == Overflow::Fail => replies.push(Reply::Nil),
            Some((nv, _)) => {
                write_bits(&mut v, f.offset, f.bits, nv & mask(f.bits));
                replies.push(reply);
            }
            None => replies.push(reply),
        }
    }
    (replies, v)
}

/// BITFIELD key [GET type offset] [SET type offset value]
/// [INCRBY type offset increment] [OVERFLOW WRAP|SAT|FAIL] ...
struct BitField {
    key: Bytes,
    fields: Vec<Field>,
}

pub(crate) fn bitfield(a: &[Bytes]) -> Result<Box<dyn WriteOp>, Reply> {
    Ok(Box::new(BitField {
        key: a[1].clone(),
        fields: parse_fields(&a[2..])?,
    }))
}

/// BITFIELD on a string kept in chunks (`m`): each field runs over the
/// bytes it covers, read from the chunks (with this call's earlier writes
/// over them), and each write is one splice in place; a string the
/// writes lengthen is first padded to its new length by one splice, as
/// Redis grows it before it runs the fields.
fn bitfield_long(c: &mut WriteCtx<'_>, key: &[u8], m: &Meta, fields: &[Field]) -> Result<Reply> {
    let len = m.string_len();
    let end_of = |f: &Field| (f.offset + u64::from(f.bits)).div_ceil(8) as usize;
    let grown = fields
        .iter()
        .filter(|f| f.op != Op::Get)
        .map(end_of)
        .fold(len, usize::max);
    if grown as u64 > MAX_STRING_BYTES {
        return Ok(Reply::error(TOO_BIG));
    }
    let mut patch = BytesMut::new();
    if grown > len {
        patch.extend_from_slice(&rocksync_protocol::splice::one(grown - 1, 0, &[0]));
    }
    let mut written: std::collections::BTreeMap<usize, u8> = Default::default();
    let mut replies = Vec::with_capacity(fields.len());
    for f in fields {
        let (lo, hi) = ((f.offset / 8) as usize, end_of(f));
        let mut window = c.string_range(key, m, lo, hi)?.to_vec();
        window.resize(hi - lo, 0);
        for (at, b) in written.range(lo..hi) {
            window[at - lo] = *b;
        }
        let one = Field {
            offset: f.offset - lo as u64 * 8,
            ..*f
        };
        let (mut reply, new) = run_fields(&window, &[one]);
        replies.append(&mut reply);
        if new != window {
            written.extend(new.iter().enumerate().map(|(i, b)| (lo + i, *b)));
            patch.extend_from_slice(&rocksync_protocol::splice::one(lo, new.len(), &new));
        }
    }
    if !patch.is_empty() {
        super::string::emit_patch(c, key, grown, patch.freeze())?;
    }
    Ok(Reply::Array(replies))
}

impl WriteOp for BitField {
    fn execute(&self, c: &mut WriteCtx<'_>) -> Result<Reply> {
        if let Some(m) = tri!(c.string_header_mut(&self.key)?).filter(Meta::is_chunked) {
            return bitfield_long(c, &self.key, &m, &self.fields);
        }
        let old = tri!(c.typed_mut(&self.key, Kind::String)?);
        let writes = self.fields.iter().any(|f| f.op != Op::Get);
        let existed = old.is_some();
        let (value, expire) = old.map_or((Bytes::new(), 0), |m| (m.value, m.expire_ms));
        let old_value = existed.then_some(&value[..]);
        let (replies, new) = run_fields(&value, &self.fields);
        if writes && new[..] != value[..] {
            if new.len() as u64 > MAX_STRING_BYTES {
                return Ok(Reply::error(TOO_BIG));
            }
            c.emit_string_change(&self.key, old_value, Bytes::from(new), expire)?;
        }
        Ok(Reply::Array(replies))
    }
}

pub(crate) fn bitfield_ro(c: &ReadCtx<'_>, a: &[Bytes]) -> Result<Reply> {
    let fields = tri!(parse_fields(&a[2..]));
    if fields.iter().any(|f| f.op != Op::Get) {
        return Ok(Reply::error(
            "ERR BITFIELD_RO only supports the GET subcommand",
        ));
    }
    let value = match typed(c, &a[1], Kind::String)? {
        Ok(m) => m.map(|m| m.value).unwrap_or_default(),
        Err(_) => return Ok(Reply::error(WRONGTYPE)),
    };
    Ok(Reply::Array(run_fields(&value, &fields).0))
}

/// One byte of a string (zero past its end).
fn byte_at(v: &impl View, key: &[u8], m: Option<&Meta>, at: usize) -> Result<u8> {
    Ok(match m {
        Some(m) => v
            .string_range(key, m, at, at + 1)?
            .first()
            .copied()
            .unwrap_or(0),
        None => 0,
    })
}

fn bit_offset(b: &[u8]) -> Result<u64, Reply> {
    match rocksync_protocol::parse_i64(b) {
        Some(n) if (0..(MAX_STRING_BYTES * 8) as i64).contains(&n) => Ok(n as u64),
        _ => Err(Reply::error(
            "ERR bit offset is not an integer or out of range",
        )),
    }
}

pub(crate) fn getbit(c: &ReadCtx<'_>, a: &[Bytes]) -> Result<Reply> {
    let off = tri!(bit_offset(&a[2]));
    let m = tri!(string_header(c, &a[1])?);
    if m.as_ref().is_some_and(Meta::is_chunked) {
        if let Some(c) = c.consistent() {
            // (its header and chunk from one state)
            return getbit(&c, a);
        }
    }
    let byte = byte_at(c, &a[1], m.as_ref(), (off / 8) as usize)?;
    Ok(Reply::Integer(i64::from((byte >> (7 - off % 8)) & 1)))
}

/// SETBIT key offset 0|1.
struct SetBit {
    key: Bytes,
    offset: u64,
    bit: u8,
}

pub(crate) fn setbit(a: &[Bytes]) -> Result<Box<dyn WriteOp>, Reply> {
    let offset = bit_offset(&a[2])?;
    let bit = match &a[3][..] {
        b"0" => 0,
        b"1" => 1,
        _ => return Err(Reply::error("ERR bit is not an integer or out of range")),
    };
    Ok(Box::new(SetBit {
        key: a[1].clone(),
        offset,
        bit,
    }))
}

impl WriteOp for SetBit {
    fn execute(&self, c: &mut WriteCtx<'_>) -> Result<Reply> {
        let (key, off) = (&self.key, self.offset);
        let m = tri!(c.string_header_mut(key)?);
        let idx = (off / 8) as usize;
        let len = m.as_ref().map_or(0, Meta::string_len);
        // The string whole, with its key, as a whole-value event of it
        // (RENAME, COPY, RESTORE) would carry it.
        let stored = key.len() + len.max(idx + 1) + 64;
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
        let was = (byte_at(c, key, m.as_ref(), idx)? & mask != 0) as i64;
        // The event carries the change, not the whole string.
        c.emit_event(
            Command::KSetbit,
            key,
            Bytes::from(format!("{off} {}", self.bit)),
            crate::store::apply::SETBIT_DELTA,
        )?;
        Ok(Reply::Integer(was))
    }
}

pub(crate) fn bitcount(c: &ReadCtx<'_>, a: &[Bytes]) -> Result<Reply> {
    // (a long string kept in chunks: only the range's chunks are read)
    let m = tri!(string_header(c, &a[1])?);
    if m.as_ref().is_some_and(Meta::is_chunked) {
        if let Some(c) = c.consistent() {
            return bitcount(&c, a);
        }
    }
    let len = m.as_ref().map_or(0, Meta::string_len);
    let (from, to) = match a.len() {
        2 => (0, len),
        4 | 5 => {
            let (s, e) = (tri!(int_arg(&a[2])), tri!(int_arg(&a[3])));
            if a.len() == 5 && !matches!(lower(&a[4]).as_slice(), b"byte") {
                return Ok(Reply::error(SYNTAX));
            }
            range(s, e, len as i64).map_or((0, 0), |(s, e)| (s, e + 1))
        }
        _ => return Ok(Reply::error(SYNTAX)),
    };
    let bytes = match &m {
        Some(m) if to > from => c.string_range(&a[1], m, from, to)?,
        _ => Bytes::new(),
    };
    Ok(Reply::Integer(
        bytes.iter().map(|b| i64::from(b.count_ones())).sum(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overflow_arithmetic_matches_redis() {
        assert_eq!(signed_add(127, 1, 8, Overflow::Wrap), (-128, true));
        assert_eq!(signed_add(127, 1, 8, Overflow::Sat), (127, true));
        assert_eq!(signed_add(-128, -1, 8, Overflow::Sat), (-128, true));
        assert_eq!(
            signed_add(i64::MAX, 1, 64, Overflow::Wrap),
            (i64::MIN, true)
        );
        assert_eq!(unsigned_add(255, 1, 8, Overflow::Wrap), (0, true));
        assert_eq!(unsigned_add(0, -1, 8, Overflow::Sat), (0, true));
        assert_eq!(unsigned_add(10, -3, 8, Overflow::Fail), (7, false));
    }
}
