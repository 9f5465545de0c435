//! The pure record codec: the file header and the records after it.
//!
//! File header (16 bytes): magic `RSYNCBL\0`, version (u32 LE), reserved.
//! Record: payload length (u32 LE), CRC32C of the payload (u32 LE), CRC32C
//! of those 8 header bytes (u32 LE), then the payload (one prost-encoded
//! `LogEvent`). The header's own checksum tells a damaged length from a
//! short write, so a flipped length byte is never mistaken for a torn tail.

use bytes::{BufMut, BytesMut};

/// Magic bytes at the start of every binlog file.
pub const MAGIC: &[u8; 8] = b"RSYNCBL\0";
/// The format version written and read by this build.
pub const VERSION: u32 = 1;
/// Bytes of the file header.
pub const FILE_HEADER_BYTES: usize = 16;
/// Bytes of a record header.
pub const RECORD_HEADER_BYTES: usize = 12;
/// Largest payload a writer produces (a 512 MiB value plus its event).
pub const MAX_RECORD_BYTES: usize = rocksync_protocol::DEFAULT_MAX_FRAME_BYTES;

/// The 16-byte file header.
pub fn file_header() -> [u8; FILE_HEADER_BYTES] {
    let mut h = [0u8; FILE_HEADER_BYTES];
    h[..8].copy_from_slice(MAGIC);
    h[8..12].copy_from_slice(&VERSION.to_le_bytes());
    h
}

/// Why a file header is unusable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HeaderCheck {
    /// Valid.
    Ok,
    /// Fewer than 16 bytes.
    Short,
    /// Wrong magic.
    BadMagic,
    /// Unknown version.
    BadVersion(u32),
}

/// Check a file header at the start of `src`.
pub fn check_file_header(src: &[u8]) -> HeaderCheck {
    let Some(h) = src.get(..FILE_HEADER_BYTES) else {
        return HeaderCheck::Short;
    };
    if &h[..8] != MAGIC {
        return HeaderCheck::BadMagic;
    }
    let mut v = [0u8; 4];
    v.copy_from_slice(&h[8..12]);
    match u32::from_le_bytes(v) {
        VERSION => HeaderCheck::Ok,
        other => HeaderCheck::BadVersion(other),
    }
}

/// Append one record to `buf`, its payload written by `write_payload`.
pub fn encode_record(buf: &mut BytesMut, write_payload: impl FnOnce(&mut BytesMut)) {
    let start = buf.len();
    buf.put_bytes(0, RECORD_HEADER_BYTES);
    write_payload(buf);
    let len = (buf.len() - start - RECORD_HEADER_BYTES) as u32;
    let payload_crc = crc32c::crc32c(&buf[start + RECORD_HEADER_BYTES..]);
    let header = &mut buf[start..start + RECORD_HEADER_BYTES];
    header[..4].copy_from_slice(&len.to_le_bytes());
    header[4..8].copy_from_slice(&payload_crc.to_le_bytes());
    let header_crc = crc32c::crc32c(&header[..8]);
    header[8..12].copy_from_slice(&header_crc.to_le_bytes());
}

/// What is at the front of a byte slice.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decoded {
    /// A whole, valid record: payload length and total bytes.
    Record {
        /// Payload bytes (after the 12-byte header).
        payload_len: usize,
    },
    /// Not enough bytes yet; `needed` is the total the record takes, when
    /// the header was readable.
    Incomplete {
        /// Total bytes of the record, if its header is whole and valid.
        needed: Option<usize>,
    },
    /// The header's checksum fails.
    BadHeader {
        /// Stored.
        expected: u32,
        /// Computed.
        actual: u32,
    },
    /// The header is valid but announces an impossible length.
    TooLarge(u64),
    /// The payload's checksum fails.
    BadPayload {
        /// Stored.
        expected: u32,
        /// Computed.
        actual: u32,
        /// Total bytes the record spans.
        total: usize,
    },
}

fn le_u32(b: &[u8]) -> u32 {
    let mut a = [0u8; 4];
    a.copy_from_slice(&b[..4]);
    u32::from_le_bytes(a)
}

/// Decode the record at the front of `src`.
pub fn decode_record(src: &[u8]) -> Decoded {
    let Some(header) = src.get(..RECORD_HEADER_BYTES) else {
        return Decoded::Incomplete { needed: None };
    };
    let expected = le_u32(&header[8..]);
    let actual = crc32c::crc32c(&header[..8]);
    if expected != actual {
        return Decoded::BadHeader { expected, actual };
    }
    let len = le_u32(header) as usize;
    if len > MAX_RECORD_BYTES {
        return Decoded::TooLarge(len as u64);
    }
    let total = RECORD_HEADER_BYTES + len;
    let Some(payload) = src.get(RECORD_HEADER_BYTES..total) else {
        return Decoded::Incomplete {
            needed: Some(total),
        };
    };
    let expected = le_u32(&header[4..]);
    let actual = crc32c::crc32c(payload);
    if expected != actual {
        return Decoded::BadPayload {
            expected,
            actual,
            total,
        };
    }
    Decoded::Record { payload_len: len }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn records_round_trip_and_every_prefix_is_incomplete(payload in prop::collection::vec(any::<u8>(), 0..300)) {
            let mut buf = BytesMut::new();
            encode_record(&mut buf, |b| b.extend_from_slice(&payload));
            prop_assert_eq!(decode_record(&buf), Decoded::Record { payload_len: payload.len() });
            prop_assert_eq!(&buf[RECORD_HEADER_BYTES..], &payload[..]);
            for cut in 0..buf.len() {
                let is_incomplete = matches!(decode_record(&buf[..cut]), Decoded::Incomplete { .. });
                prop_assert!(is_incomplete);
            }
        }

        #[test]
        fn any_flipped_bit_is_detected(payload in prop::collection::vec(any::<u8>(), 1..100), at in any::<prop::sample::Index>(), bit in 0..8u8) {
            let mut buf = BytesMut::new();
            encode_record(&mut buf, |b| b.extend_from_slice(&payload));
            let i = at.index(buf.len());
            buf[i] ^= 1 << bit;
            let ok = matches!(decode_record(&buf), Decoded::Record { .. });
            prop_assert!(!ok);
        }

        #[test]
        fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..64)) {
            let _ = decode_record(&bytes);
            let _ = check_file_header(&bytes);
        }
    }
}
