//! Strings kept in chunks ([`keys::CHUNK`] bytes each, in `sub`, under
//! their metadata's version): reading their bytes, writing them whole,
//! and changing some of their bytes in place.
//!
//! A chunk holds its part of the string up to the string's length at
//! most; a missing chunk, or the missing tail of a chunk, reads as zero
//! bytes (SETRANGE and SETBIT past the end pad with zeros, and a run of
//! zero bytes needs no row). Changes in place only ever lengthen a string:
//! one that shortens it writes the string whole under a new version, so
//! no chunk ever holds bytes past the length.

use bytes::{Bytes, BytesMut};
use rocksync_protocol::splice::{Splice, SpliceError};

use super::batch::Batch;
use super::keys::{self, Meta, CHUNK, CHUNKED_ABOVE};
use super::{Cf, Snap, Store};
use crate::error::Result;

/// Bytes `start..end` (cut at the length) of the string `m` of `key`,
/// kept in chunks, each chunk read through `chunk` (by its sub-key).
///
/// # Errors
/// As `chunk`.
pub fn read_range(
    key: &[u8],
    m: &Meta,
    start: usize,
    end: usize,
    mut chunk: impl FnMut(&[u8]) -> Result<Option<Bytes>>,
) -> Result<Bytes> {
    let end = end.min(m.string_len());
    if start >= end {
        return Ok(Bytes::new());
    }
    let mut out = BytesMut::with_capacity(end - start);
    for i in start / CHUNK..=(end - 1) / CHUNK {
        let base = i * CHUNK;
        let (from, to) = (start.max(base) - base, end.min(base + CHUNK) - base);
        let c = chunk(&keys::chunk_key(m.owner(key), m.version, i as u64))?.unwrap_or_default();
        let (have_from, have_to) = (from.min(c.len()), to.min(c.len()));
        out.extend_from_slice(&c[have_from..have_to]);
        out.resize(out.len() + (to - from) - (have_to - have_from), 0);
    }
    Ok(out.freeze())
}

/// The whole string `m` of `key`, kept in chunks, as of `snap` (or
/// committed now): one scan of its chunks.
///
/// # Errors
/// RocksDB errors.
pub fn read_all(store: &Store, key: &[u8], m: &Meta, snap: Option<&Snap<'_>>) -> Result<Bytes> {
    let len = m.string_len();
    let mut out = vec![0u8; len];
    let prefix = keys::sub_prefix(m.owner(key), m.version);
    store.scan_in(Cf::Sub, &prefix, &prefix, snap, &mut |k, v| {
        if let Some(at) = k
            .get(prefix.len()..)
            .and_then(keys::be_u64)
            .and_then(|i| usize::try_from(i).ok()?.checked_mul(CHUNK))
            .filter(|at| *at < len)
        {
            let n = v.len().min(len - at);
            out[at..at + n].copy_from_slice(&v[..n]);
        }
        true
    })?;
    Ok(out.into())
}

/// The whole string `m` of `key`, kept in chunks, as `b` would leave it.
///
/// # Errors
/// RocksDB errors.
pub fn read_all_in(store: &Store, b: &Batch, key: &[u8], m: &Meta) -> Result<Bytes> {
    let n = m.string_len().div_ceil(CHUNK);
    let subs: Vec<Vec<u8>> = (0..n as u64)
        .map(|i| keys::chunk_key(m.owner(key), m.version, i))
        .collect();
    let refs: Vec<&[u8]> = subs.iter().map(Vec::as_slice).collect();
    b.prefetch(store, Cf::Sub, &refs)?;
    read_range(key, m, 0, m.string_len(), |k| b.get(store, Cf::Sub, k))
}

/// Write `value` as the string of `key` with expiry `expire`, over `old`
/// (its metadata before, as [`Batch::put_meta`] takes it): in chunks under
/// `chunks` (the seq of the event that writes it, so every replica derives
/// the same layout) when that is given and the string is long, else in
/// the metadata. A string written whole (SET) is given none: GET reads it
/// in one lookup; one changed in part is, and its next changes touch only
/// the chunks they change.
///
/// # Errors
/// As [`Batch::put`].
pub fn put_string(
    store: &Store,
    b: &mut Batch,
    key: &[u8],
    old: Option<&Meta>,
    value: Bytes,
    expire: u64,
    chunks: Option<u64>,
) -> Result<()> {
    let Some(version) = chunks.filter(|_| value.len() > CHUNKED_ABOVE) else {
        return b.put_meta(store, key, old, &Meta::string(value, expire));
    };
    for (i, c) in value.chunks(CHUNK).enumerate() {
        if c.iter().any(|&x| x != 0) {
            b.put(
                store,
                Cf::Sub,
                keys::chunk_key(key, version, i as u64),
                c.to_vec(),
            )?;
        }
    }
    b.put_meta(
        store,
        key,
        old,
        &Meta::chunked(value.len(), expire, version),
    )
}

/// The length `splices` leave a string of `len` bytes with, when each
/// changes bytes in place or lengthens it at its end (what APPEND,
/// SETRANGE, SETBIT, BITFIELD and a HyperLogLog's registers make); `None`
/// when one would move bytes or shorten it.
///
/// # Errors
/// [`SpliceError::TooLarge`] past `max` bytes; [`SpliceError::Shape`]
/// for more than one splice that changes the length, as
/// [`rocksync_protocol::splice::apply`] refuses it for a string in its
/// metadata.
pub fn in_place_len(
    mut len: usize,
    splices: &[Splice<'_>],
    max: usize,
) -> std::result::Result<Option<usize>, SpliceError> {
    let mut resized = false;
    for s in splices {
        let n = s.inserted.len();
        let end = s
            .offset
            .checked_add(s.removed)
            .ok_or(SpliceError::OutOfRange)?;
        if s.removed == n && end <= len {
            continue;
        }
        if std::mem::replace(&mut resized, true) {
            return Err(SpliceError::Shape);
        }
        if (s.removed == 0 && s.offset >= len) || (end == len && n >= s.removed) {
            len = s.offset.checked_add(n).ok_or(SpliceError::TooLarge)?;
            if len > max {
                return Err(SpliceError::TooLarge);
            }
            continue;
        }
        return Ok(None);
    }
    Ok(Some(len))
}

/// Write `bytes` at `at` into the chunks of the string `m` of `key` (its
/// length is the caller's to set).
///
/// # Errors
/// As [`Batch::get`], [`Batch::put`].
pub fn write_at(
    store: &Store,
    b: &mut Batch,
    key: &[u8],
    m: &Meta,
    at: usize,
    bytes: &[u8],
) -> Result<()> {
    if bytes.is_empty() {
        return Ok(());
    }
    let end = at + bytes.len();
    for i in at / CHUNK..=(end - 1) / CHUNK {
        let base = i * CHUNK;
        let (from, to) = (at.max(base) - base, end.min(base + CHUNK) - base);
        let sk = keys::chunk_key(m.owner(key), m.version, i as u64);
        let mut c = b
            .get(store, Cf::Sub, &sk)?
            .map(Vec::from)
            .unwrap_or_default();
        if c.len() < to {
            c.resize(to, 0);
        }
        c[from..to].copy_from_slice(&bytes[base + from - at..base + to - at]);
        b.put(store, Cf::Sub, sk, c)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sp(offset: usize, removed: usize, inserted: &[u8]) -> Splice<'_> {
        Splice {
            offset,
            removed,
            inserted,
        }
    }

    #[test]
    fn only_changes_in_place_and_at_the_end_are_made_in_place() {
        let max = 1 << 20;
        assert_eq!(in_place_len(100, &[sp(10, 2, b"ab")], max), Ok(Some(100)));
        assert_eq!(in_place_len(100, &[sp(100, 0, b"ab")], max), Ok(Some(102)));
        assert_eq!(in_place_len(100, &[sp(150, 0, b"ab")], max), Ok(Some(152)));
        assert_eq!(in_place_len(100, &[sp(99, 1, b"ab")], max), Ok(Some(101)));
        // Inserting in the middle moves the tail; shortening is not in place.
        assert_eq!(in_place_len(100, &[sp(10, 0, b"ab")], max), Ok(None));
        assert_eq!(in_place_len(100, &[sp(98, 2, b"a")], max), Ok(None));
        assert_eq!(
            in_place_len(100, &[sp(max, 0, b"a")], max),
            Err(SpliceError::TooLarge)
        );
        // One splice may change the length, as for a string in its metadata.
        assert_eq!(
            in_place_len(100, &[sp(100, 0, b"a"), sp(200, 0, b"b")], max),
            Err(SpliceError::Shape)
        );
    }

    #[test]
    fn chunks_read_back_with_zeros_where_none_were_written() {
        let dir = tempfile::tempdir().expect("tmp");
        let store = Store::open(dir.path(), &Default::default()).expect("store");
        let mut b = Batch::new();
        let mut value = vec![0u8; CHUNKED_ABOVE + 3 * CHUNK + 17];
        value[5] = 1;
        value[CHUNK * 2 + 9] = 2;
        *value.last_mut().expect("long") = 3;
        put_string(&store, &mut b, b"k", None, value.clone().into(), 0, Some(9)).expect("put");
        let m = b.meta(&store, b"k").expect("meta").expect("there");
        assert!(m.is_chunked());
        assert_eq!(&m.value[..], &value[..]);
        // Write past the end, over a chunk boundary, then read a range.
        let mut h = b.meta_header(&store, b"k").expect("meta").expect("there");
        let at = value.len() + 5;
        write_at(&store, &mut b, b"k", &h, at, &[7u8; CHUNK]).expect("write");
        value.resize(at, 0);
        value.extend_from_slice(&[7u8; CHUNK]);
        h.size = value.len() as u64;
        let old = b.meta_header(&store, b"k").expect("meta");
        b.put_meta(&store, b"k", old.as_ref(), &h).expect("meta");
        let got = read_range(b"k", &h, 3, value.len() + 100, |k| {
            b.get(&store, Cf::Sub, k)
        })
        .expect("range");
        assert_eq!(&got[..], &value[3..]);
        store
            .write(b.finish(&store, 10).expect("finish"))
            .expect("write");
        let m = store.meta(b"k").expect("meta").expect("there");
        assert_eq!(&m.value[..], &value[..], "as committed, by a scan");
    }
}
