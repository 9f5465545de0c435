//! FUNCTION DUMP's payload, in Redis's format: each library's code as an
//! RDB `FUNCTION2` entry, then the RDB version (2 bytes) and a CRC-64
//! (Jones, as Redis's `crc64`) of all before it, both little-endian. So a
//! payload dumped from redis-server restores here and ours restores
//! there. We write strings uncompressed; we read LZF-compressed and
//! integer-encoded ones too, as Redis writes them (`rocksync_protocol::rdb`).

use rocksync_protocol::rdb::{crc64, put_string, Reader, RDB_VERSION};

/// The RDB opcode of a function library (Redis 7.0 GA).
const FUNCTION2: u8 = 245;
/// The opcode of the pre-GA format (refused, as Redis refuses it).
const FUNCTION_PRE_GA: u8 = 246;

/// The payload of `codes` (each library's whole code).
pub fn dump<'a>(codes: impl IntoIterator<Item = &'a [u8]>) -> Vec<u8> {
    let mut out = Vec::new();
    for code in codes {
        out.push(FUNCTION2);
        put_string(&mut out, code);
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
    let mut r = Reader::new(body);
    let mut codes = Vec::new();
    while !r.is_empty() {
        match r.byte() {
            Ok(FUNCTION2) => {}
            Ok(FUNCTION_PRE_GA) => return Err("Pre-GA function format not supported".into()),
            _ => return Err("given type is not a function".into()),
        }
        let code = r
            .string()
            .map_err(|_| "failed loading the given functions payload".to_owned())?;
        codes.push(code.to_vec());
    }
    Ok(codes)
}

#[cfg(test)]
mod tests {
    use super::*;

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
