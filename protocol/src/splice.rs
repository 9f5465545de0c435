//! The value of a K_PATCH event: the changes that turn a string into its
//! next value, so that a small change to a large string (APPEND, SETRANGE,
//! BITFIELD, a HyperLogLog's register) logs and ships its bytes, not the
//! whole string.
//!
//! A patch is a list of splices, applied in order, each over the value as
//! the ones before it left it: `offset` (u32 BE), bytes `removed` from
//! there (u32 BE), then the `inserted` bytes' length (u32 BE) and the
//! bytes. An offset past the end first pads the value with zero bytes, as
//! SETRANGE does. At most one splice may change the value's length (the
//! others replace bytes in place), so applying a patch costs at most one
//! move of the value's tail.

use bytes::{BufMut, Bytes, BytesMut};

/// Bytes of a splice's header.
const HEADER: usize = 12;

/// Gaps of equal bytes shorter than this join the runs of changed bytes
/// around them (a header costs more than the bytes it would skip).
const JOIN: usize = HEADER;

/// Why a patch does not apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SpliceError {
    /// It ends inside a splice.
    #[error("a splice is cut short")]
    Cut,
    /// A splice removes bytes the value does not have.
    #[error("a splice removes past the value's end")]
    OutOfRange,
    /// The value would pass `max` bytes.
    #[error("the value would pass its size limit")]
    TooLarge,
    /// More than one splice changes the value's length (what [`diff`]
    /// never makes: each such splice moves the value's tail).
    #[error("more than one splice changes the length")]
    Shape,
}

fn put(out: &mut BytesMut, offset: usize, removed: usize, inserted: &[u8]) {
    // (strings are at most 512 MB: every length fits 32 bits)
    out.put_u32(offset as u32);
    out.put_u32(removed as u32);
    out.put_u32(inserted.len() as u32);
    out.put_slice(inserted);
}

/// The patch from `old` to `new`, or `None` when it would not be smaller
/// than half of `new` (the whole value is then the better event).
/// Values of equal length give one splice per run of changed bytes;
/// otherwise one splice between their common prefix and suffix.
pub fn diff(old: &[u8], new: &[u8]) -> Option<Bytes> {
    if new.len() > u32::MAX as usize || old.len() > u32::MAX as usize {
        return None;
    }
    let budget = new.len() / 2;
    let mut out = BytesMut::new();
    if old.len() == new.len() {
        let mut i = 0;
        while i < new.len() {
            if old[i] == new[i] {
                i += 1;
                continue;
            }
            // A run of changes, taking in short gaps of equal bytes.
            let start = i;
            let mut end = i + 1;
            let mut j = end;
            while j < new.len() && j - end < JOIN {
                if old[j] != new[j] {
                    end = j + 1;
                }
                j += 1;
            }
            put(&mut out, start, end - start, &new[start..end]);
            if out.len() > budget {
                return None;
            }
            i = end;
        }
    } else {
        let prefix = old.iter().zip(new).take_while(|(a, b)| a == b).count();
        let most = old.len().min(new.len()) - prefix;
        let suffix = old
            .iter()
            .rev()
            .zip(new.iter().rev())
            .take(most)
            .take_while(|(a, b)| a == b)
            .count();
        put(
            &mut out,
            prefix,
            old.len() - prefix - suffix,
            &new[prefix..new.len() - suffix],
        );
    }
    (out.len() <= budget).then(|| out.freeze())
}

/// One splice of a patch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Splice<'a> {
    /// Where it starts, in the value as the splices before it left it.
    pub offset: usize,
    /// Bytes removed from there.
    pub removed: usize,
    /// Bytes put in their place.
    pub inserted: &'a [u8],
}

/// The patch of one splice (`inserted` below 4 GB: strings are at most
/// 512 MB).
pub fn one(offset: usize, removed: usize, inserted: &[u8]) -> Bytes {
    let mut out = BytesMut::with_capacity(HEADER + inserted.len());
    put(&mut out, offset, removed, inserted);
    out.freeze()
}

/// The splices of `patch`, in order.
///
/// # Errors
/// A patch cut short.
pub fn parse(mut patch: &[u8]) -> Result<Vec<Splice<'_>>, SpliceError> {
    let word =
        |b: &[u8], at: usize| u32::from_be_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]]) as usize;
    let mut out = Vec::new();
    while !patch.is_empty() {
        if patch.len() < HEADER {
            return Err(SpliceError::Cut);
        }
        let (offset, removed, len) = (word(patch, 0), word(patch, 4), word(patch, 8));
        let inserted = patch.get(HEADER..HEADER + len).ok_or(SpliceError::Cut)?;
        patch = &patch[HEADER + len..];
        out.push(Splice {
            offset,
            removed,
            inserted,
        });
    }
    Ok(out)
}

/// Apply `patch` to `value`, which may not pass `max` bytes.
///
/// # Errors
/// A patch that is cut short, removes what is not there or makes the
/// value too large; `value` is then unspecified.
pub fn apply(value: &mut Vec<u8>, patch: &[u8], max: usize) -> Result<(), SpliceError> {
    value.reserve(patch.len());
    let mut resized = false;
    for s in parse(patch)? {
        let (offset, removed, len) = (s.offset, s.removed, s.inserted.len());
        if (removed != len || offset > value.len()) && std::mem::replace(&mut resized, true) {
            return Err(SpliceError::Shape);
        }
        if offset > value.len() {
            if offset > max {
                return Err(SpliceError::TooLarge);
            }
            value.resize(offset, 0);
        }
        let end = offset
            .checked_add(removed)
            .filter(|e| *e <= value.len())
            .ok_or(SpliceError::OutOfRange)?;
        if value.len() - removed + len > max {
            return Err(SpliceError::TooLarge);
        }
        value.splice(offset..end, s.inserted.iter().copied());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn patched(old: &[u8], patch: &[u8]) -> Vec<u8> {
        let mut v = old.to_vec();
        apply(&mut v, patch, usize::MAX).expect("applies");
        v
    }

    #[test]
    fn an_append_a_register_and_a_setrange_past_the_end_are_small() {
        let old = vec![7u8; 12 * 1024];
        let mut new = old.clone();
        new.extend_from_slice(b"tail");
        let p = diff(&old, &new).expect("small");
        assert_eq!(p.len(), HEADER + 4);
        assert_eq!(patched(&old, &p), new);

        let mut reg = old.clone();
        reg[15] = 0;
        reg[9000] = 1;
        let p = diff(&old, &reg).expect("small");
        assert_eq!(p.len(), 2 * (HEADER + 1), "two runs, far apart");
        assert_eq!(patched(&old, &p), reg);

        // Padding with zeros, as SETRANGE past the end.
        let p: &[u8] = &[0, 0, 0, 10, 0, 0, 0, 0, 0, 0, 0, 1, b'x'];
        assert_eq!(patched(b"ab", p), b"ab\0\0\0\0\0\0\0\0x");
    }

    #[test]
    fn a_patch_larger_than_half_the_value_is_not_made() {
        assert!(diff(b"abcdefgh", b"ABCDEFGH").is_none());
        assert!(diff(b"", b"abc").is_none());
    }

    #[test]
    fn a_bad_patch_is_refused_not_a_panic() {
        let mut v = b"abc".to_vec();
        assert_eq!(apply(&mut v, &[0, 0, 0], 100), Err(SpliceError::Cut));
        let mut v = b"abc".to_vec();
        let far: &[u8] = &[0, 0, 0, 1, 0, 0, 0, 9, 0, 0, 0, 0];
        assert_eq!(apply(&mut v, far, 100), Err(SpliceError::OutOfRange));
        let mut v = b"abc".to_vec();
        let long: &[u8] = &[0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 9, 1];
        assert_eq!(apply(&mut v, long, 100), Err(SpliceError::Cut));
        let mut v = b"abc".to_vec();
        let huge: &[u8] = &[255, 255, 255, 255, 0, 0, 0, 0, 0, 0, 0, 0];
        assert_eq!(apply(&mut v, huge, 1000), Err(SpliceError::TooLarge));
        let mut v = b"abc".to_vec();
        let wraps: &[u8] = &[0, 0, 0, 2, 255, 255, 255, 255, 0, 0, 0, 0];
        assert_eq!(apply(&mut v, wraps, 1000), Err(SpliceError::OutOfRange));
        // Two splices that change the length: never made, refused.
        let mut v = b"abc".to_vec();
        let two: &[u8] = &[
            0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, b'x', 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, b'y',
        ];
        assert_eq!(apply(&mut v, two, 1000), Err(SpliceError::Shape));
    }

    proptest! {
        #[test]
        fn a_patch_turns_the_old_value_into_the_new(
            old in proptest::collection::vec(0u8..4, 0..300),
            edits in proptest::collection::vec((0usize..320, 0u8..4), 0..12),
            grow in 0usize..40,
            shrink in 0usize..40,
        ) {
            let mut new = old.clone();
            for (at, b) in edits {
                if at < new.len() {
                    new[at] = b;
                }
            }
            if grow > 20 {
                new.extend(std::iter::repeat_n(1u8, grow));
            } else if shrink > 30 {
                new.truncate(new.len().saturating_sub(shrink));
            }
            if let Some(p) = diff(&old, &new) {
                prop_assert_eq!(patched(&old, &p), new);
            }
        }
    }

    #[test]
    fn random_fuzz_of_apply_never_panics() {
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        for _ in 0..20_000 {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let bytes: Vec<u8> = (0..(seed % 40) as usize)
                .map(|i| (seed >> (i % 8 * 8)) as u8 % 16)
                .collect();
            let mut v = b"0123456789".to_vec();
            let _ = apply(&mut v, &bytes, 64);
            assert!(v.len() <= 64);
        }
    }
}
