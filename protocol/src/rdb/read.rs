//! Reading RDB values: lengths, strings (raw, integer-encoded, LZF), the
//! plain collection encodings and the compact ones (listpack, ziplist,
//! intset, quicklist).

use bytes::Bytes;

use super::{kind, RdbError, Value};

/// The most items (or, times 256, bytes) reserved ahead on a count a
/// payload claims: more are made room for as they are read.
const PREALLOC: usize = 4096;

/// The largest string a payload may expand to (Redis's
/// `proto-max-bulk-len` default).
const MAX_STRING: u64 = 512 << 20;

/// Reads RDB items from a byte slice; every length is checked against
/// what is left, so a bad payload is refused, never trusted.
pub struct Reader<'a> {
    b: &'a [u8],
    at: usize,
}

type Result<T> = std::result::Result<T, RdbError>;

/// An RDB length, or the special encoding a string's length byte names.
enum Len {
    Plain(u64),
    Special(u8),
}

impl<'a> Reader<'a> {
    /// A reader of `b` from its start.
    pub fn new(b: &'a [u8]) -> Self {
        Self { b, at: 0 }
    }

    /// How many bytes were read.
    pub fn consumed(&self) -> usize {
        self.at
    }

    /// True once every byte is read.
    pub fn is_empty(&self) -> bool {
        self.at == self.b.len()
    }

    /// The next `n` bytes.
    ///
    /// # Errors
    /// [`RdbError::Truncated`] past the end.
    pub fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        let end = self.at.checked_add(n).ok_or(RdbError::Format)?;
        let s = self.b.get(self.at..end).ok_or(RdbError::Truncated)?;
        self.at = end;
        Ok(s)
    }

    /// The next byte.
    ///
    /// # Errors
    /// [`RdbError::Format`] past the end.
    pub fn byte(&mut self) -> Result<u8> {
        Ok(self.take(1)?[0])
    }

    fn len_or_special(&mut self) -> Result<Len> {
        let first = self.byte()?;
        Ok(match first >> 6 {
            0 => Len::Plain(u64::from(first & 0x3f)),
            1 => Len::Plain(u64::from(first & 0x3f) << 8 | u64::from(self.byte()?)),
            3 => Len::Special(first & 0x3f),
            _ => match first {
                0x80 => Len::Plain(u64::from(u32::from_be_bytes(array(self.take(4)?)?))),
                0x81 => Len::Plain(u64::from_be_bytes(array(self.take(8)?)?)),
                _ => return Err(RdbError::Format),
            },
        })
    }

    /// A length.
    ///
    /// # Errors
    /// [`RdbError::Format`] for a special encoding or past the end.
    pub fn len(&mut self) -> Result<u64> {
        match self.len_or_special()? {
            Len::Plain(n) => Ok(n),
            Len::Special(_) => Err(RdbError::Format),
        }
    }

    /// A count of items that each take a byte at least: no more than the
    /// bytes left (so a claimed count never sizes an allocation alone).
    fn count(&mut self) -> Result<usize> {
        let n = self.len()?;
        let left = (self.b.len() - self.at) as u64;
        if n > left {
            return Err(RdbError::Truncated);
        }
        Ok(n as usize)
    }

    /// A string: raw, an integer (8, 16 or 32 bits), or LZF-compressed.
    ///
    /// # Errors
    /// [`RdbError::Format`] for a bad encoding or past the end.
    pub fn string(&mut self) -> Result<Bytes> {
        match self.len_or_special()? {
            Len::Plain(n) => {
                let n = usize::try_from(n).map_err(|_| RdbError::Format)?;
                Ok(Bytes::copy_from_slice(self.take(n)?))
            }
            Len::Special(0) => Ok(int_text(i64::from(self.byte()? as i8))),
            Len::Special(1) => Ok(int_text(i64::from(i16::from_le_bytes(array(
                self.take(2)?,
            )?)))),
            Len::Special(2) => Ok(int_text(i64::from(i32::from_le_bytes(array(
                self.take(4)?,
            )?)))),
            Len::Special(3) => {
                let (clen, ulen) = (self.len()?, self.len()?);
                let clen = usize::try_from(clen).map_err(|_| RdbError::Format)?;
                let data = self.take(clen)?;
                // (LZF expands a byte to at most 132: a claimed length past
                // that is not trusted to size an allocation)
                if ulen > MAX_STRING || ulen > clen as u64 * 132 + 8 {
                    return Err(RdbError::Format);
                }
                lzf_decompress(data, ulen as usize).map(Bytes::from)
            }
            Len::Special(_) => Err(RdbError::Format),
        }
    }

    /// A score written as text (RDB_TYPE_ZSET): a length byte, with 253
    /// for NaN, 254 for +inf and 255 for -inf.
    fn text_double(&mut self) -> Result<f64> {
        match self.byte()? {
            253 => Ok(f64::NAN),
            254 => Ok(f64::INFINITY),
            255 => Ok(f64::NEG_INFINITY),
            n => parse_double(self.take(usize::from(n))?),
        }
    }

    /// A value of RDB type `kind`.
    ///
    /// # Errors
    /// [`RdbError::Format`] for bytes that are no such value;
    /// [`RdbError::Unsupported`] for a stream, a module value or a zipmap.
    pub fn value(&mut self, kind: u8) -> Result<Value> {
        let value = match kind {
            kind::STRING => Value::String(self.string()?),
            kind::LIST | kind::SET => {
                let n = self.count()?;
                let items = (0..n).map(|_| self.string()).collect::<Result<Vec<_>>>()?;
                if kind == kind::LIST {
                    Value::List(items)
                } else {
                    Value::Set(items)
                }
            }
            kind::ZSET | kind::ZSET_2 => {
                let n = self.count()?;
                let mut pairs = Vec::with_capacity(n.min(PREALLOC));
                for _ in 0..n {
                    let member = self.string()?;
                    let score = if kind == kind::ZSET {
                        self.text_double()?
                    } else {
                        f64::from_le_bytes(array(self.take(8)?)?)
                    };
                    pairs.push((member, score));
                }
                Value::ZSet(pairs)
            }
            kind::HASH => {
                let n = self.count()?;
                let mut pairs = Vec::with_capacity(n.min(PREALLOC));
                for _ in 0..n {
                    pairs.push((self.string()?, self.string()?));
                }
                Value::Hash(pairs)
            }
            kind::LIST_ZIPLIST => Value::List(ziplist(&self.string()?)?),
            kind::SET_INTSET => Value::Set(intset(&self.string()?)?),
            kind::SET_LISTPACK => Value::Set(listpack(&self.string()?)?),
            kind::ZSET_ZIPLIST => Value::ZSet(scored(ziplist(&self.string()?)?)?),
            kind::ZSET_LISTPACK => Value::ZSet(scored(listpack(&self.string()?)?)?),
            kind::HASH_ZIPLIST => Value::Hash(paired(ziplist(&self.string()?)?)?),
            kind::HASH_LISTPACK => Value::Hash(paired(listpack(&self.string()?)?)?),
            kind::LIST_QUICKLIST | kind::LIST_QUICKLIST_2 => {
                let nodes = self.count()?;
                let mut items = Vec::new();
                for _ in 0..nodes {
                    if kind == kind::LIST_QUICKLIST {
                        items.extend(ziplist(&self.string()?)?);
                        continue;
                    }
                    match self.len()? {
                        // A plain node: one element as it is.
                        1 => items.push(self.string()?),
                        2 => items.extend(listpack(&self.string()?)?),
                        _ => return Err(RdbError::Format),
                    }
                }
                Value::List(items)
            }
            kind::STREAM_LISTPACKS | kind::STREAM_LISTPACKS_2 | kind::STREAM_LISTPACKS_3 => {
                // (an empty stream is a value, unlike an empty collection)
                return Ok(Value::Stream(Box::new(self.stream(kind)?)));
            }
            kind::MODULE | kind::MODULE_2 => return Err(RdbError::Unsupported("module value")),
            kind::HASH_ZIPMAP => return Err(RdbError::Unsupported("zipmap (Redis 2.4) hash")),
            _ => return Err(RdbError::Format),
        };
        let empty = match &value {
            Value::String(_) | Value::Stream(_) => false,
            Value::List(v) | Value::Set(v) => v.is_empty(),
            Value::Hash(v) => v.is_empty(),
            Value::ZSet(v) => v.is_empty(),
        };
        // (Redis refuses an empty collection as well)
        if empty {
            return Err(RdbError::Format);
        }
        if let Value::ZSet(pairs) = &value {
            if pairs.iter().any(|(_, s)| s.is_nan()) {
                return Err(RdbError::Format);
            }
        }
        // (Redis refuses a member or field twice: "Duplicate ... detected")
        let unique = match &value {
            Value::String(_) | Value::List(_) | Value::Stream(_) => true,
            Value::Set(v) => distinct(v.iter()),
            Value::Hash(v) => distinct(v.iter().map(|(f, _)| f)),
            Value::ZSet(v) => distinct(v.iter().map(|(m, _)| m)),
        };
        if !unique {
            return Err(RdbError::Format);
        }
        Ok(value)
    }
}

/// The bytes of the back-length a listpack writes after an entry of
/// `len` bytes (1 to 5).
pub fn listpack_backlen(len: u64) -> u64 {
    match len {
        0..=127 => 1,
        128..=16_382 => 2,
        16_383..=2_097_150 => 3,
        2_097_151..=268_435_454 => 4,
        _ => 5,
    }
}

/// No name twice.
fn distinct<'a>(mut names: impl Iterator<Item = &'a Bytes>) -> bool {
    let mut seen = std::collections::HashSet::new();
    names.all(|n| seen.insert(n))
}

fn array<const N: usize>(b: &[u8]) -> Result<[u8; N]> {
    b.try_into().map_err(|_| RdbError::Format)
}

fn int_text(n: i64) -> Bytes {
    Bytes::from(n.to_string())
}

fn parse_double(b: &[u8]) -> Result<f64> {
    let s = std::str::from_utf8(b).map_err(|_| RdbError::Format)?;
    match s.to_ascii_lowercase().as_str() {
        "inf" | "+inf" => Ok(f64::INFINITY),
        "-inf" => Ok(f64::NEG_INFINITY),
        _ => s.parse().map_err(|_| RdbError::Format),
    }
}

/// Alternate entries as (member, score).
fn scored(items: Vec<Bytes>) -> Result<Vec<(Bytes, f64)>> {
    paired(items)?
        .into_iter()
        .map(|(m, s)| Ok((m, parse_double(&s)?)))
        .collect()
}

/// Alternate entries as (field, value).
fn paired(items: Vec<Bytes>) -> Result<Vec<(Bytes, Bytes)>> {
    if items.len() % 2 != 0 {
        return Err(RdbError::Format);
    }
    let mut it = items.into_iter();
    let mut pairs = Vec::with_capacity((it.len() / 2).min(PREALLOC));
    while let (Some(a), Some(b)) = (it.next(), it.next()) {
        pairs.push((a, b));
    }
    Ok(pairs)
}

/// LZF: runs of literals and back references into what is already out.
fn lzf_decompress(input: &[u8], ulen: usize) -> Result<Vec<u8>> {
    let mut out = Vec::with_capacity(ulen.min(PREALLOC * 256));
    let mut i = 0;
    while i < input.len() {
        let ctrl = usize::from(input[i]);
        i += 1;
        if ctrl < 32 {
            let run = input.get(i..i + ctrl + 1).ok_or(RdbError::Format)?;
            out.extend_from_slice(run);
            i += ctrl + 1;
        } else {
            let mut len = ctrl >> 5;
            if len == 7 {
                len += usize::from(*input.get(i).ok_or(RdbError::Format)?);
                i += 1;
            }
            let low = usize::from(*input.get(i).ok_or(RdbError::Format)?);
            i += 1;
            let back = ((ctrl & 0x1f) << 8) + low + 1;
            let from = out.len().checked_sub(back).ok_or(RdbError::Format)?;
            // (byte by byte: the reference may overlap what it writes)
            for k in 0..len + 2 {
                let b = out[from + k];
                out.push(b);
            }
        }
        if out.len() > ulen {
            return Err(RdbError::Format);
        }
    }
    if out.len() != ulen {
        return Err(RdbError::Format);
    }
    Ok(out)
}

/// An intset: encoding width (2, 4 or 8 bytes), count, then the
/// integers, little-endian.
fn intset_of(b: &[u8]) -> Result<Vec<Bytes>> {
    let mut r = Reader::new(b);
    let width = u32::from_le_bytes(array(r.take(4)?)?) as usize;
    let n = u32::from_le_bytes(array(r.take(4)?)?) as usize;
    if !matches!(width, 2 | 4 | 8) || b.len() != 8 + width * n {
        return Err(RdbError::Format);
    }
    (0..n)
        .map(|_| {
            let v = r.take(width)?;
            Ok(int_text(match width {
                2 => i64::from(i16::from_le_bytes(array(v)?)),
                4 => i64::from(i32::from_le_bytes(array(v)?)),
                _ => i64::from_le_bytes(array(v)?),
            }))
        })
        .collect()
}

/// A listpack: total bytes, count, entries (each with its length after
/// it), 0xFF.
fn listpack_of(b: &[u8]) -> Result<Vec<Bytes>> {
    let mut r = Reader::new(b);
    let total = u32::from_le_bytes(array(r.take(4)?)?) as usize;
    r.take(2)?;
    if total != b.len() {
        return Err(RdbError::Format);
    }
    let mut items = Vec::new();
    loop {
        let start = r.at;
        let first = r.byte()?;
        let item = match first {
            0xff => break,
            f if f & 0x80 == 0 => int_text(i64::from(f)),
            f if f & 0xc0 == 0x80 => Bytes::copy_from_slice(r.take(usize::from(f & 0x3f))?),
            f if f & 0xe0 == 0xc0 => {
                let v = (i64::from(f & 0x1f) << 8) | i64::from(r.byte()?);
                int_text(if v >= 1 << 12 { v - (1 << 13) } else { v })
            }
            f if f & 0xf0 == 0xe0 => {
                let n = (usize::from(f & 0x0f) << 8) | usize::from(r.byte()?);
                Bytes::copy_from_slice(r.take(n)?)
            }
            0xf0 => {
                let n = u32::from_le_bytes(array(r.take(4)?)?) as usize;
                Bytes::copy_from_slice(r.take(n)?)
            }
            0xf1 => int_text(i64::from(i16::from_le_bytes(array(r.take(2)?)?))),
            0xf2 => {
                let v = r.take(3)?;
                int_text(i64::from(i32::from_le_bytes([0, v[0], v[1], v[2]]) >> 8))
            }
            0xf3 => int_text(i64::from(i32::from_le_bytes(array(r.take(4)?)?))),
            0xf4 => int_text(i64::from_le_bytes(array(r.take(8)?)?)),
            _ => return Err(RdbError::Format),
        };
        // The entry's length, written after it in 1 to 5 bytes.
        r.take(listpack_backlen((r.at - start) as u64) as usize)?;
        items.push(item);
    }
    if !r.is_empty() {
        return Err(RdbError::Format);
    }
    Ok(items)
}

/// A ziplist: total bytes, tail offset, count, entries (each with the
/// previous one's length before it), 0xFF.
fn ziplist_of(b: &[u8]) -> Result<Vec<Bytes>> {
    let mut r = Reader::new(b);
    let total = u32::from_le_bytes(array(r.take(4)?)?) as usize;
    r.take(6)?;
    if total != b.len() {
        return Err(RdbError::Format);
    }
    let mut items = Vec::new();
    loop {
        match r.byte()? {
            0xff => break,
            0xfe => {
                r.take(4)?;
            }
            _ => {}
        }
        let enc = r.byte()?;
        let item = match enc >> 6 {
            0 => Bytes::copy_from_slice(r.take(usize::from(enc & 0x3f))?),
            1 => {
                let n = (usize::from(enc & 0x3f) << 8) | usize::from(r.byte()?);
                Bytes::copy_from_slice(r.take(n)?)
            }
            2 => {
                let n = u32::from_be_bytes(array(r.take(4)?)?) as usize;
                Bytes::copy_from_slice(r.take(n)?)
            }
            _ => int_text(match enc {
                0xc0 => i64::from(i16::from_le_bytes(array(r.take(2)?)?)),
                0xd0 => i64::from(i32::from_le_bytes(array(r.take(4)?)?)),
                0xe0 => i64::from_le_bytes(array(r.take(8)?)?),
                0xf0 => {
                    let v = r.take(3)?;
                    i64::from(i32::from_le_bytes([0, v[0], v[1], v[2]]) >> 8)
                }
                0xfe => i64::from(r.byte()? as i8),
                0xf1..=0xfd => i64::from(enc & 0x0f) - 1,
                _ => return Err(RdbError::Format),
            }),
        };
        items.push(item);
    }
    if !r.is_empty() {
        return Err(RdbError::Format);
    }
    Ok(items)
}

/// A blob read whole: running out of its bytes is a bad format, not a
/// call for more.
fn whole<T>(r: Result<T>) -> Result<T> {
    r.map_err(|e| match e {
        RdbError::Truncated => RdbError::Format,
        e => e,
    })
}

fn intset(b: &[u8]) -> Result<Vec<Bytes>> {
    whole(intset_of(b))
}

/// A listpack's items (integers as text), the whole of `b`.
///
/// # Errors
/// [`RdbError::Format`] for bytes that are no listpack.
pub(crate) fn listpack_items(b: &[u8]) -> Result<Vec<Bytes>> {
    listpack(b)
}

fn listpack(b: &[u8]) -> Result<Vec<Bytes>> {
    whole(listpack_of(b))
}

fn ziplist(b: &[u8]) -> Result<Vec<Bytes>> {
    whole(ziplist_of(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(items: &[Bytes]) -> Vec<String> {
        items
            .iter()
            .map(|b| String::from_utf8_lossy(b).into_owned())
            .collect()
    }

    /// A listpack of `entries` (each its encoded bytes, without backlen).
    fn lp(entries: &[&[u8]]) -> Vec<u8> {
        let mut body = Vec::new();
        for e in entries {
            body.extend_from_slice(e);
            body.push(e.len() as u8);
        }
        let total = (6 + body.len() + 1) as u32;
        let mut b = total.to_le_bytes().to_vec();
        b.extend_from_slice(&(entries.len() as u16).to_le_bytes());
        b.extend_from_slice(&body);
        b.push(0xff);
        b
    }

    #[test]
    fn listpack_entries_of_every_encoding() {
        let b = lp(&[
            &[5],
            &[0x82, b'h', b'i'],
            &[0xdf, 0xff], // 13-bit -1
            &[0xc0 | 0x0f, 0xff],
            &[0xf1, 0x00, 0x80], // int16 -32768
            &[0xf2, 0xff, 0xff, 0x7f],
            &[0xf3, 0xfe, 0xff, 0xff, 0xff],
            &[0xf4, 1, 0, 0, 0, 0, 0, 0, 0],
        ]);
        assert_eq!(
            texts(&listpack(&b).expect("listpack")),
            ["5", "hi", "-1", "4095", "-32768", "8388607", "-2", "1"]
        );
        let mut short = b.clone();
        short.truncate(b.len() - 1);
        assert!(listpack(&short).is_err());
    }

    #[test]
    fn intsets_of_each_width() {
        let mut b = 2u32.to_le_bytes().to_vec();
        b.extend_from_slice(&2u32.to_le_bytes());
        b.extend_from_slice(&(-3i16).to_le_bytes());
        b.extend_from_slice(&7i16.to_le_bytes());
        assert_eq!(texts(&intset(&b).expect("intset")), ["-3", "7"]);
        b.push(0);
        assert!(intset(&b).is_err());
    }

    #[test]
    fn ziplist_entries() {
        let mut body = vec![0, 0x02, b'a', b'b']; // prevlen 0, 6-bit string
        body.extend_from_slice(&[4, 0xfe, 0xf9]); // int8 -7
        body.extend_from_slice(&[3, 0xf3]); // immediate 2
        let total = (10 + body.len() + 1) as u32;
        let mut b = total.to_le_bytes().to_vec();
        b.extend_from_slice(&[0; 4]);
        b.extend_from_slice(&3u16.to_le_bytes());
        b.extend_from_slice(&body);
        b.push(0xff);
        assert_eq!(texts(&ziplist(&b).expect("ziplist")), ["ab", "-7", "2"]);
    }

    #[test]
    fn lzf_literals_and_back_references() {
        // "abcabcabc": a literal run of 3, then a reference back 3, 6 long.
        let data = [2, b'a', b'b', b'c', (4 << 5), 2];
        assert_eq!(lzf_decompress(&data, 9).expect("lzf"), b"abcabcabc");
        assert!(lzf_decompress(&data, 8).is_err());
        assert!(
            lzf_decompress(&[(1 << 5), 9], 3).is_err(),
            "a reference before the start"
        );
    }

    #[test]
    fn counts_past_the_payload_are_refused() {
        let mut b = vec![];
        super::super::put_len(&mut b, 1 << 40);
        // (past what is there: more may come in a file; a DUMP payload
        // is whole, and `restore` calls it a bad format)
        assert_eq!(Reader::new(&b).value(kind::SET), Err(RdbError::Truncated));
    }
}
