//! FUNCTION DUMP's payload, in Redis's format: each library's code as an
//! RDB `FUNCTION2` entry, then the RDB version (2 bytes) and a CRC-64
//! (Jones, as Redis's `crc64`) of all before it, both little-endian. So a
//! payload dumped from redis-server restores here and ours restores
//! there. We write strings uncompressed; we read LZF-compressed and
//! integer-encoded ones too, as Redis writes them.

/// The RDB opcode of a function library (Redis 7.0 GA).
const FUNCTION2: u8 = 245;
/// The opcode of the pre-GA format (refused, as Redis refuses it).
const FUNCTION_PRE_GA: u8 = 246;
/// The most LZF can expand its input.
const MAX_LZF_RATIO: usize = 100;
/// Redis 7.0's RDB version: the newest we read, the one we write.
const RDB_VERSION: u16 = 10;

/// The payload of `codes` (each library's whole code).
pub fn dump<'a>(codes: impl IntoIterator<Item = &'a [u8]>) -> Vec<u8> {
    let mut out = Vec::new();
    for code in codes {
        out.push(FUNCTION2);
        put_len(&mut out, code.len() as u64);
        out.extend_from_slice(code);
    }
    out.extend_from_slice(&RDB_VERSION.to_le_bytes());
    let crc = crc64(0, &out);
    out.extend_from_slice(&crc.to_le_bytes());
    out
}

/// The libraries' codes in `payload`.
///
/// # Errors
/// Redis's reason, without `ERR `.
pub fn restore(payload: &[u8]) -> Result<Vec<Vec<u8>>, String> {
    const WRONG: &str = "DUMP payload version or checksum are wrong";
    if payload.len() < 10 {
        return Err(WRONG.into());
    }
    let (body, trailer) = payload.split_at(payload.len() - 10);
    let version = u16::from_le_bytes([trailer[0], trailer[1]]);
    let mut crc = [0u8; 8];
    crc.copy_from_slice(&trailer[2..]);
    if version > RDB_VERSION || crc64(0, &payload[..payload.len() - 8]) != u64::from_le_bytes(crc) {
        return Err(WRONG.into());
    }
    let mut at = 0;
    let mut codes = Vec::new();
    while at < body.len() {
        match body[at] {
            FUNCTION2 => {}
            FUNCTION_PRE_GA => return Err("Pre-GA function format not supported".into()),
            _ => return Err("given type is not a function".into()),
        }
        at += 1;
        let code = get_string(body, &mut at)
            .ok_or_else(|| "failed loading the given functions payload".to_owned())?;
        codes.push(code);
    }
    Ok(codes)
}

/// An RDB length.
fn put_len(out: &mut Vec<u8>, n: u64) {
    if n < 1 << 6 {
        out.push(n as u8);
    } else if n < 1 << 14 {
        out.extend_from_slice(&[0x40 | (n >> 8) as u8, n as u8]);
    } else if n <= u64::from(u32::MAX) {
        out.push(0x80);
        out.extend_from_slice(&(n as u32).to_be_bytes());
    } else {
        out.push(0x81);
        out.extend_from_slice(&n.to_be_bytes());
    }
}

/// An RDB length at `*at`: (length, or the special encoding's number;
/// whether it is one).
fn get_len(b: &[u8], at: &mut usize) -> Option<(u64, bool)> {
    let first = *b.get(*at)?;
    *at += 1;
    match first >> 6 {
        0 => Some((u64::from(first & 0x3f), false)),
        1 => {
            let second = *b.get(*at)?;
            *at += 1;
            Some(((u64::from(first & 0x3f) << 8) | u64::from(second), false))
        }
        3 => Some((u64::from(first & 0x3f), true)),
        _ => {
            let width = match first {
                0x80 => 4,
                0x81 => 8,
                _ => return None,
            };
            let bytes = b.get(*at..*at + width)?;
            *at += width;
            Some((
                bytes.iter().fold(0u64, |n, &x| (n << 8) | u64::from(x)),
                false,
            ))
        }
    }
}

/// An RDB string at `*at`: plain, an integer, or LZF-compressed.
fn get_string(b: &[u8], at: &mut usize) -> Option<Vec<u8>> {
    let (n, special) = get_len(b, at)?;
    if !special {
        let n = usize::try_from(n).ok()?;
        let s = b.get(*at..at.checked_add(n)?)?.to_vec();
        *at += n;
        return Some(s);
    }
    match n {
        0..=2 => {
            let width = 1usize << n;
            let bytes = b.get(*at..*at + width)?;
            *at += width;
            let mut le = [0u8; 8];
            le[..width].copy_from_slice(bytes);
            // Sign-extended from its width.
            let shift = 64 - 8 * width as u32;
            let v = (i64::from_le_bytes(le) << shift) >> shift;
            Some(v.to_string().into_bytes())
        }
        3 => {
            let (clen, _) = get_len(b, at)?;
            let (len, _) = get_len(b, at)?;
            let clen = usize::try_from(clen).ok()?;
            let src = b.get(*at..at.checked_add(clen)?)?;
            *at += clen;
            // LZF expands at most 88 times (a 3-byte back-reference makes
            // 264 bytes): a larger declared length is a lie, refused
            // before anything is allocated for it.
            let len = usize::try_from(len).ok()?;
            if len > src.len().saturating_mul(MAX_LZF_RATIO) {
                return None;
            }
            lzf_decompress(src, len)
        }
        _ => None,
    }
}

/// LZF's decompression (liblzf's format, which Redis uses): `None` for
/// input that does not decode to exactly `len` bytes.
fn lzf_decompress(src: &[u8], len: usize) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(len);
    let mut i = 0;
    while i < src.len() {
        let ctrl = usize::from(src[i]);
        i += 1;
        if ctrl < 32 {
            let run = ctrl + 1;
            out.extend_from_slice(src.get(i..i + run)?);
            i += run;
        } else {
            let mut n = ctrl >> 5;
            if n == 7 {
                n += usize::from(*src.get(i)?);
                i += 1;
            }
            let back = ((ctrl & 0x1f) << 8) + usize::from(*src.get(i)?) + 1;
            i += 1;
            let from = out.len().checked_sub(back)?;
            for k in 0..n + 2 {
                let byte = out[from + k];
                out.push(byte);
            }
        }
        if out.len() > len {
            return None;
        }
    }
    (out.len() == len).then_some(out)
}

/// CRC-64/Jones as Redis's `crc64` (reflected, polynomial
/// 0xad93d23594c935a9, no final xor), continuing from `crc`.
pub fn crc64(mut crc: u64, data: &[u8]) -> u64 {
    const POLY_REFLECTED: u64 = 0x95ac_9329_ac4b_c9b5;
    for &byte in data {
        crc ^= u64::from(byte);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ POLY_REFLECTED
            } else {
                crc >> 1
            };
        }
    }
    crc
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc64_is_redis_s() {
        // The check value in Redis's crc64.c test.
        assert_eq!(crc64(0, b"123456789"), 0xe9c6_d914_c4b8_d9ca);
    }

    #[test]
    fn a_dump_restores_and_a_damaged_one_is_refused() {
        let long = "x".repeat(20_000);
        let codes: Vec<&[u8]> = vec![b"#!lua name=a\n", long.as_bytes(), b""];
        let p = dump(codes.iter().copied());
        assert_eq!(
            restore(&p).expect("accepted"),
            codes.iter().map(|c| c.to_vec()).collect::<Vec<_>>()
        );
        let mut bad = p.clone();
        bad[3] ^= 1;
        assert!(restore(&bad).expect_err("refused").contains("checksum"));
        assert!(restore(b"short").is_err());
    }

    #[test]
    fn lzf_runs_and_back_references_decode() {
        // "abcabcabcabc": a literal run of 3, then a back-reference of 9
        // bytes (len field 7 => 7 + extra 0 + 2) at distance 3.
        let src = [2, b'a', b'b', b'c', 0xe0, 0, 2];
        assert_eq!(lzf_decompress(&src, 12).expect("accepted"), b"abcabcabcabc");
        assert!(lzf_decompress(&src, 11).is_none());
        assert!(lzf_decompress(&[0x20, 5], 3).is_none());
    }

    #[test]
    fn a_declared_length_past_what_lzf_can_make_is_refused() {
        // FUNCTION2, an LZF string of 1 byte said to make 2^62 bytes.
        let mut body = vec![FUNCTION2, 0xc3, 0x01, 0x81];
        body.extend_from_slice(&(1u64 << 62).to_be_bytes());
        body.push(0x00);
        body.extend_from_slice(&RDB_VERSION.to_le_bytes());
        let crc = crc64(0, &body);
        body.extend_from_slice(&crc.to_le_bytes());
        assert!(restore(&body)
            .expect_err("refused")
            .contains("failed loading"));
    }
}
