//! HyperLogLog string values, byte-compatible with Redis 7.0 (`src/hyperloglog.c`).
//!
//! This module owns the on-disk/in-memory layout of a HyperLogLog (the 16-byte
//! `HYLL` header with its cached cardinality, the sparse run-length encoding and
//! the 6-bit dense registers), the element hashing, the cardinality estimator
//! and the value-level semantics of PFADD, PFCOUNT, PFMERGE and PFDEBUG.
//! Everything works on plain byte strings (what GET returns); the command layer
//! looks keys up, checks that they hold strings, and writes the bytes back.
//!
//! The goal is byte-for-byte equality with redis-server 7.0.15: the same
//! sequence of operations leaves the same bytes and yields the same numbers,
//! including the quirks of how Redis splits and merges sparse opcodes and how
//! it reacts to corrupted values.

use std::fmt;

#[path = "hll/estimate.rs"]
mod estimate;

use estimate::{compute_cardinality, estimate};

/// Number of index bits taken from the hash (Redis `HLL_P`).
pub const HLL_P: u32 = 14;
/// Number of registers (16384).
pub const HLL_REGISTERS: usize = 1 << HLL_P;
/// Size of the header: magic, encoding, 3 unused bytes, 8-byte cached cardinality.
pub const HLL_HDR_SIZE: usize = 16;
/// Exact length of a dense HyperLogLog string: header plus 16384 6-bit registers.
pub const HLL_DENSE_SIZE: usize = HLL_HDR_SIZE + (HLL_REGISTERS * 6).div_ceil(8);
/// Redis' default for the `hll-sparse-max-bytes` configuration parameter.
pub const DEFAULT_SPARSE_MAX_BYTES: usize = 3000;
/// Encoding byte of a dense HyperLogLog.
pub const ENCODING_DENSE: u8 = 0;
/// Encoding byte of a sparse HyperLogLog.
pub const ENCODING_SPARSE: u8 = 1;

/// Reply text when a key holds a string that is not a HyperLogLog.
pub const WRONGTYPE_HLL: &str = "WRONGTYPE Key is not a valid HyperLogLog string value.";
/// Reply text when decoding a HyperLogLog finds it corrupted.
pub const INVALID_HLL: &str = "INVALIDOBJ Corrupted HLL object detected";
/// Reply text of `PFDEBUG DECODE` on a dense HyperLogLog.
pub const NOT_SPARSE: &str = "ERR HLL encoding is not sparse";

const HLL_Q: usize = 64 - HLL_P as usize;
const REGISTER_MASK: u64 = HLL_REGISTERS as u64 - 1;
const HASH_SEED: u64 = 0xadc8_3b19;
const ALPHA_INF: f64 = 0.721_347_520_444_481_7;
const SPARSE_VAL_MAX_VALUE: u8 = 32;
const SPARSE_VAL_MAX_LEN: usize = 4;
const SPARSE_ZERO_MAX_LEN: usize = 64;
const SPARSE_XZERO_MAX_LEN: usize = 16384;
/// Cached-cardinality byte holding the "invalid" flag in its top bit.
const CARD_FLAG_BYTE: usize = 15;

/// Why an operation on a HyperLogLog value failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HllError {
    /// The string is not a HyperLogLog (Redis replies [`WRONGTYPE_HLL`]).
    NotHll,
    /// The sparse encoding is corrupted (Redis replies [`INVALID_HLL`]).
    Corrupt,
    /// `PFDEBUG DECODE` on a dense value (Redis replies [`NOT_SPARSE`]).
    NotSparse,
}

impl HllError {
    /// The exact error reply Redis sends for this error (without the leading `-`).
    pub fn message(self) -> &'static str {
        match self {
            HllError::NotHll => WRONGTYPE_HLL,
            HllError::Corrupt => INVALID_HLL,
            HllError::NotSparse => NOT_SPARSE,
        }
    }
}

impl fmt::Display for HllError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.message())
    }
}

impl std::error::Error for HllError {}

// ---------------------------------------------------------------------------
// Hashing
// ---------------------------------------------------------------------------

/// MurmurHash2, 64-bit variant, reading 8-byte blocks little-endian as Redis does.
pub fn murmurhash64a(key: &[u8], seed: u64) -> u64 {
    const M: u64 = 0xc6a4_a793_5bd1_e995;
    const R: u32 = 47;
    // Redis passes the length as a C `int`; widening it is exact for real inputs.
    let mut h = seed ^ (key.len() as u64).wrapping_mul(M);
    let mut blocks = key.chunks_exact(8);
    for block in &mut blocks {
        let mut bytes = [0u8; 8];
        bytes.copy_from_slice(block);
        let mut k = u64::from_le_bytes(bytes).wrapping_mul(M);
        k ^= k >> R;
        k = k.wrapping_mul(M);
        h ^= k;
        h = h.wrapping_mul(M);
    }
    let tail = blocks.remainder();
    if !tail.is_empty() {
        for (i, &b) in tail.iter().enumerate() {
            h ^= u64::from(b) << (8 * i);
        }
        h = h.wrapping_mul(M);
    }
    h ^= h >> R;
    h = h.wrapping_mul(M);
    h ^= h >> R;
    h
}

/// Register index and run length ("000..1" pattern length, 1..=51) of an element.
pub fn pattern(element: &[u8]) -> (usize, u8) {
    let hash = murmurhash64a(element, HASH_SEED);
    let index = (hash & REGISTER_MASK) as usize;
    // A sentinel bit above the 50 usable bits bounds the count at Q + 1.
    let rest = (hash >> HLL_P) | (1u64 << HLL_Q);
    (index, rest.trailing_zeros() as u8 + 1)
}

// ---------------------------------------------------------------------------
// Header helpers
// ---------------------------------------------------------------------------

/// A fresh, empty HyperLogLog exactly as Redis creates it: sparse, one XZERO
/// opcode covering all registers, cached cardinality 0 and valid.
///
/// PFADD and PFMERGE invalidate the cache of a key they create, so callers
/// creating a key through them should use [`pfadd`]/[`pfmerge`] or call
/// [`invalidate_cache`] afterwards.
pub fn create() -> Vec<u8> {
    let mut v = Vec::with_capacity(HLL_HDR_SIZE + 2);
    v.extend_from_slice(b"HYLL");
    v.push(ENCODING_SPARSE);
    v.resize(HLL_HDR_SIZE, 0);
    let mut left = HLL_REGISTERS;
    while left > 0 {
        let run = left.min(SPARSE_XZERO_MAX_LEN);
        push_xzero(&mut v, run);
        left -= run;
    }
    v
}

/// Validates a string as Redis' `isHLLObjectOrReply` does: long enough for the
/// header, `HYLL` magic, known encoding, and exact length when dense.
///
/// The sparse payload is not inspected here; corruption there surfaces as
/// [`HllError::Corrupt`] from the operations that decode it.
pub fn check(v: &[u8]) -> Result<(), HllError> {
    if v.len() < HLL_HDR_SIZE || &v[..4] != b"HYLL" || v[4] > ENCODING_SPARSE {
        return Err(HllError::NotHll);
    }
    if v[4] == ENCODING_DENSE && v.len() != HLL_DENSE_SIZE {
        return Err(HllError::NotHll);
    }
    Ok(())
}

/// Whether a (validated) HyperLogLog uses the dense encoding.
pub fn is_dense(v: &[u8]) -> bool {
    v.get(4) == Some(&ENCODING_DENSE)
}

/// Marks the cached cardinality as stale (sets the top bit of header byte 15).
pub fn invalidate_cache(v: &mut [u8]) {
    if let Some(b) = v.get_mut(CARD_FLAG_BYTE) {
        *b |= 0x80;
    }
}

/// The cached cardinality, when the header says it is still valid.
pub fn cached_cardinality(v: &[u8]) -> Option<u64> {
    let card: [u8; 8] = v.get(8..HLL_HDR_SIZE)?.try_into().ok()?;
    (card[7] & 0x80 == 0).then(|| u64::from_le_bytes(card))
}

fn store_cardinality(v: &mut [u8], card: u64) {
    v[8..HLL_HDR_SIZE].copy_from_slice(&card.to_le_bytes());
}

// ---------------------------------------------------------------------------
// Dense registers
// ---------------------------------------------------------------------------

/// Reads register `i` from the dense register area (the bytes after the header).
fn dense_get(regs: &[u8], i: usize) -> u8 {
    let bit = i * 6;
    let (byte, shift) = (bit / 8, bit % 8);
    let lo = u16::from(regs[byte]) >> shift;
    let hi = u16::from(regs.get(byte + 1).copied().unwrap_or(0)) << (8 - shift);
    ((lo | hi) & 63) as u8
}

/// Writes register `i` (value must be < 64) into the dense register area.
fn dense_set(regs: &mut [u8], i: usize, val: u8) {
    let bit = i * 6;
    let (byte, shift) = (bit / 8, bit % 8);
    let v = u16::from(val & 63);
    regs[byte] = ((u16::from(regs[byte]) & !(63 << shift)) | (v << shift)) as u8;
    if shift > 2 {
        let keep = !(63u16 >> (8 - shift));
        regs[byte + 1] = ((u16::from(regs[byte + 1]) & keep) | (v >> (8 - shift))) as u8;
    }
}

/// Raises register `i` of a dense value to `count`; true when it changed.
fn dense_raise(v: &mut [u8], i: usize, count: u8) -> bool {
    let regs = &mut v[HLL_HDR_SIZE..];
    if count > dense_get(regs, i) {
        dense_set(regs, i, count);
        true
    } else {
        false
    }
}

// ---------------------------------------------------------------------------
// Sparse opcodes
// ---------------------------------------------------------------------------

/// One sparse opcode: ZERO (00xxxxxx), XZERO (01xxxxxx yyyyyyyy) or VAL (1vvvvvxx).
#[derive(Clone, Copy, Debug)]
enum Op {
    Zero(usize),
    XZero(usize),
    Val(u8, usize),
}

impl Op {
    /// Decodes the opcode at `pos`. Like Redis (whose strings carry a trailing
    /// NUL), a truncated XZERO reads its second byte as 0.
    fn read(data: &[u8], pos: usize) -> Op {
        let b = data[pos];
        if b & 0x80 != 0 {
            Op::Val(((b >> 2) & 0x1f) + 1, usize::from(b & 3) + 1)
        } else if b & 0x40 != 0 {
            let lo = data.get(pos + 1).copied().unwrap_or(0);
            Op::XZero(((usize::from(b & 0x3f) << 8) | usize::from(lo)) + 1)
        } else {
            Op::Zero(usize::from(b & 0x3f) + 1)
        }
    }

    /// Number of registers the opcode covers.
    fn span(self) -> usize {
        match self {
            Op::Zero(n) | Op::XZero(n) | Op::Val(_, n) => n,
        }
    }

    /// Number of bytes the opcode occupies.
    fn width(self) -> usize {
        match self {
            Op::XZero(_) => 2,
            _ => 1,
        }
    }
}

/// Iterates the sparse opcodes of a value (everything after the header).
fn sparse_ops(v: &[u8]) -> impl Iterator<Item = Op> + '_ {
    let mut pos = HLL_HDR_SIZE;
    std::iter::from_fn(move || {
        (pos < v.len()).then(|| {
            let op = Op::read(v, pos);
            pos += op.width();
            op
        })
    })
}

fn val_byte(value: u8, len: usize) -> u8 {
    0x80 | ((value - 1) << 2) | (len - 1) as u8
}

fn push_xzero(out: &mut Vec<u8>, len: usize) {
    let l = len - 1;
    out.push(0x40 | (l >> 8) as u8);
    out.push((l & 0xff) as u8);
}

/// Encodes a run of zero registers the way Redis' split does: ZERO up to 64, else XZERO.
fn push_zero_run(out: &mut Vec<u8>, len: usize) {
    if len > SPARSE_ZERO_MAX_LEN {
        push_xzero(out, len);
    } else {
        out.push((len - 1) as u8);
    }
}

/// Raises `regs` to the registers of a sparse value (register-wise maximum).
/// Valid only when the runs cover exactly 16384 registers, which is what
/// PFMERGE, multi-key PFCOUNT and the sparse-to-dense conversion require.
fn sparse_registers(v: &[u8], regs: &mut [u8; HLL_REGISTERS]) -> Result<(), HllError> {
    let mut idx = 0usize;
    for op in sparse_ops(v) {
        let span = op.span();
        if idx + span > HLL_REGISTERS {
            return Err(HllError::Corrupt);
        }
        if let Op::Val(value, _) = op {
            for r in &mut regs[idx..idx + span] {
                *r = (*r).max(value);
            }
        }
        idx += span;
    }
    if idx == HLL_REGISTERS {
        Ok(())
    } else {
        Err(HllError::Corrupt)
    }
}

/// Converts a sparse value to dense in place; Ok(false) if it already was dense.
/// The header (unused bytes and cached cardinality included) is carried over.
fn sparse_to_dense(v: &mut Vec<u8>) -> Result<bool, HllError> {
    if is_dense(v) {
        return Ok(false);
    }
    let mut regs = Box::new([0u8; HLL_REGISTERS]);
    sparse_registers(v, &mut regs)?;
    let mut dense = vec![0u8; HLL_DENSE_SIZE];
    dense[..HLL_HDR_SIZE].copy_from_slice(&v[..HLL_HDR_SIZE]);
    dense[4] = ENCODING_DENSE;
    for (i, &r) in regs.iter().enumerate().filter(|(_, r)| **r != 0) {
        dense_set(&mut dense[HLL_HDR_SIZE..], i, r);
    }
    *v = dense;
    Ok(true)
}

/// Raises register `index` of a sparse value to `count`, mirroring Redis'
/// `hllSparseSet`: locate the covering opcode, update it in place or split it
/// into up to three opcodes, then merge adjacent equal VALs. Promotes to dense
/// when `count` exceeds the VAL range or the string would exceed `max_bytes`.
/// Returns whether a register changed.
fn sparse_set(
    v: &mut Vec<u8>,
    index: usize,
    count: u8,
    max_bytes: usize,
) -> Result<bool, HllError> {
    if count > SPARSE_VAL_MAX_VALUE {
        return promote(v, index, count);
    }
    // Step 1: find the opcode covering `index`.
    let (mut pos, mut first, mut prev, mut found) = (HLL_HDR_SIZE, 0usize, None, None);
    while pos < v.len() {
        let op = Op::read(v, pos);
        if index < first + op.span() {
            found = Some(op);
            break;
        }
        prev = Some(pos);
        pos += op.width();
        first += op.span();
    }
    let op = found.ok_or(HllError::Corrupt)?;

    // Step 2: trivial in-place updates.
    match op {
        Op::Val(old, _) if old >= count => return Ok(false),
        Op::Val(_, 1) | Op::Zero(1) => {
            v[pos] = val_byte(count, 1);
            merge_adjacent_vals(v, prev.unwrap_or(HLL_HDR_SIZE));
            invalidate_cache(v);
            return Ok(true);
        }
        _ => {}
    }

    // Step 3: split the opcode around `index`.
    let last = first + op.span() - 1;
    let mut seq = Vec::with_capacity(5);
    match op {
        Op::Val(cur, _) => {
            if index != first {
                seq.push(val_byte(cur, index - first));
            }
            seq.push(val_byte(count, 1));
            if index != last {
                seq.push(val_byte(cur, last - index));
            }
        }
        Op::Zero(_) | Op::XZero(_) => {
            if index != first {
                push_zero_run(&mut seq, index - first);
            }
            seq.push(val_byte(count, 1));
            if index != last {
                push_zero_run(&mut seq, last - index);
            }
        }
    }
    let old_width = op.width();
    let new_len = v.len() + seq.len() - old_width;
    if seq.len() > old_width && new_len > max_bytes {
        return promote(v, index, count);
    }
    if pos + old_width <= v.len() {
        v.splice(pos..pos + old_width, seq);
    } else {
        // A truncated trailing XZERO: Redis overwrites from `pos` and adjusts
        // the length by the size difference, which cuts the last new byte.
        v.truncate(pos);
        v.extend_from_slice(&seq);
        v.truncate(new_len);
    }

    // Step 4: merge adjacent VALs starting from the opcode before the change.
    merge_adjacent_vals(v, prev.unwrap_or(HLL_HDR_SIZE));
    invalidate_cache(v);
    Ok(true)
}

/// Scans up to five opcodes from `start`, fusing adjacent VALs of equal value
/// whose combined run still fits a VAL (at most 4 registers).
fn merge_adjacent_vals(v: &mut Vec<u8>, start: usize) {
    let mut pos = start;
    let mut budget = 5;
    while pos < v.len() && budget > 0 {
        budget -= 1;
        let op = Op::read(v, pos);
        let Op::Val(value, len) = op else {
            pos += op.width();
            continue;
        };
        if pos + 1 < v.len() && v[pos + 1] & 0x80 != 0 {
            if let Op::Val(next_value, next_len) = Op::read(v, pos + 1) {
                if next_value == value && len + next_len <= SPARSE_VAL_MAX_LEN {
                    v[pos + 1] = val_byte(value, len + next_len);
                    v.remove(pos);
                    continue;
                }
            }
        }
        pos += 1;
    }
}

/// Converts to dense and then raises the register (the sparse-set fallback).
fn promote(v: &mut Vec<u8>, index: usize, count: u8) -> Result<bool, HllError> {
    sparse_to_dense(v)?;
    Ok(dense_raise(v, index, count))
}

// ---------------------------------------------------------------------------
// Raw registers (multi-key PFCOUNT, PFMERGE, PFDEBUG GETREG)
// ---------------------------------------------------------------------------

/// All 16384 register values, one byte each (Redis' internal "raw" form).
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Registers(Box<[u8; HLL_REGISTERS]>);

impl Registers {
    /// All registers zero (an empty set).
    pub fn new() -> Self {
        Registers(Box::new([0u8; HLL_REGISTERS]))
    }

    #[cfg(test)]
    /// The value of register `i` (panics if `i >= HLL_REGISTERS`).
    pub fn get(&self, i: usize) -> u8 {
        self.0[i]
    }

    #[cfg(test)]
    /// Raises register `i` to `value` if it is larger (values above 63 are clamped).
    pub fn raise(&mut self, i: usize, value: u8) {
        let value = value.min(63);
        if value > self.0[i] {
            self.0[i] = value;
        }
    }

    /// The registers as a slice of 16384 values.
    pub fn as_slice(&self) -> &[u8] {
        &self.0[..]
    }
}

impl Default for Registers {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
/// Decodes any valid HyperLogLog into its registers, without modifying it.
pub fn registers_of(v: &[u8]) -> Result<Registers, HllError> {
    let mut regs = Registers::new();
    merge_into(&mut regs, v)?;
    Ok(regs)
}

/// Merges a HyperLogLog into `regs` by register-wise maximum (Redis' `hllMerge`),
/// after validating it. Sparse values whose runs do not cover exactly 16384
/// registers are [`HllError::Corrupt`].
pub fn merge_into(regs: &mut Registers, v: &[u8]) -> Result<(), HllError> {
    check(v)?;
    if is_dense(v) {
        let dense = &v[HLL_HDR_SIZE..];
        for (i, r) in regs.0.iter_mut().enumerate() {
            *r = (*r).max(dense_get(dense, i));
        }
        Ok(())
    } else {
        // Like Redis, a corrupted value may have raised some registers
        // already; callers abandon `regs` on error.
        sparse_registers(v, &mut regs.0)
    }
}

/// Cardinality estimate of a register set (multi-key PFCOUNT). Reply it as `i64`.
pub fn count_registers(regs: &Registers) -> u64 {
    let mut histo = [0u32; 64];
    for &r in regs.0.iter() {
        histo[usize::from(r & 63)] += 1;
    }
    estimate(&histo)
}

// ---------------------------------------------------------------------------
// Command-level operations
// ---------------------------------------------------------------------------

/// Adds one element to a HyperLogLog (validated first). Returns Ok(true) when a
/// register changed, in which case the cached cardinality is invalidated. A
/// sparse value may be promoted to dense (value above 32, or longer than
/// `sparse_max_bytes`).
///
/// On [`HllError::Corrupt`] the value is left unchanged by this call.
pub fn add(v: &mut Vec<u8>, element: &[u8], sparse_max_bytes: usize) -> Result<bool, HllError> {
    check(v)?;
    let (index, count) = pattern(element);
    let changed = if is_dense(v) {
        dense_raise(v, index, count)
    } else {
        sparse_set(v, index, count, sparse_max_bytes)?
    };
    if changed {
        invalidate_cache(v);
    }
    Ok(changed)
}

/// PFADD on one key. `value` is the key's string (`None` when the key is missing;
/// it is then created). Returns Redis' reply: true (1) when the key was created
/// or a register changed, in which case `value` must be written back.
///
/// On error nothing is created; but like Redis, which edits the value in place,
/// elements added before a corrupted part was hit stay applied in `value`, so a
/// caller matching Redis exactly writes `value` back if it differs.
pub fn pfadd(
    value: &mut Option<Vec<u8>>,
    elements: &[&[u8]],
    sparse_max_bytes: usize,
) -> Result<bool, HllError> {
    let mut updated = false;
    let v = match value {
        Some(v) => {
            check(v)?;
            v
        }
        None => {
            updated = true;
            value.insert(create())
        }
    };
    for element in elements {
        updated |= add(v, element, sparse_max_bytes)?;
    }
    if updated {
        invalidate_cache(v);
    }
    Ok(updated)
}

/// Whether PFADD of `elements` to an existing value would change nothing:
/// a valid dense HyperLogLog whose registers already hold at least each
/// element's run. Read-only, so PFADD's common case past the first few
/// thousand elements costs no copy of the value (Redis edits in place).
/// False for anything else (sparse, invalid, or a register to raise): the
/// caller then takes [`pfadd`]'s path, which gives the exact reply.
pub fn adds_nothing(v: &[u8], elements: &[&[u8]]) -> bool {
    if check(v).is_err() || !is_dense(v) {
        return false;
    }
    let regs = &v[HLL_HDR_SIZE..];
    elements.iter().all(|e| {
        let (index, count) = pattern(e);
        count <= dense_get(regs, index)
    })
}

/// PFCOUNT of a single key: returns the cached cardinality when valid, otherwise
/// computes it and stores it in the header. The flag says whether `v` changed
/// (the caller must then write it back). Reply the count as `i64`.
///
/// Only for PFCOUNT with exactly one key argument; with several keys (even if
/// some are missing) Redis uses [`count_union`] and never touches the cache.
pub fn count_one(v: &mut [u8]) -> Result<(u64, bool), HllError> {
    check(v)?;
    if let Some(card) = cached_cardinality(v) {
        return Ok((card, false));
    }
    let card = compute_cardinality(v)?;
    store_cardinality(v, card);
    Ok((card, true))
}

/// PFCOUNT over several keys: cardinality of the union of the given existing
/// values (missing keys are simply left out), validated in argument order.
pub fn count_union(values: &[&[u8]]) -> Result<u64, HllError> {
    let mut regs = Registers::new();
    for v in values {
        merge_into(&mut regs, v)?;
    }
    Ok(count_registers(&regs))
}

/// Writes merged registers into a PFMERGE destination as Redis 7.0 does: the
/// destination (an existing value, or [`create`] for a new key) is converted to
/// dense first if `use_dense` (some input was dense); then every non-zero
/// register is raised one by one in index order, through the sparse update
/// path while the destination is sparse (which may promote it); finally the
/// cached cardinality is invalidated.
pub fn store_merged(
    dest: &mut Vec<u8>,
    regs: &Registers,
    use_dense: bool,
    sparse_max_bytes: usize,
) -> Result<(), HllError> {
    check(dest)?;
    if use_dense {
        sparse_to_dense(dest)?;
    }
    for (i, &r) in regs.0.iter().enumerate().filter(|(_, r)| **r != 0) {
        if is_dense(dest) {
            dense_raise(dest, i, r);
        } else {
            // Redis ignores failures here; the destination was already
            // validated as a merge input, so none can occur.
            let _ = sparse_set(dest, i, r, sparse_max_bytes);
        }
    }
    invalidate_cache(dest);
    Ok(())
}

/// PFMERGE: merges `dest` (if it exists) and every existing source, validating
/// them in argument order (destination first), and returns the destination's
/// new value. `sources` holds the values of the source keys that exist.
pub fn pfmerge(
    dest: Option<&[u8]>,
    sources: &[&[u8]],
    sparse_max_bytes: usize,
) -> Result<Vec<u8>, HllError> {
    let mut regs = Registers::new();
    let mut use_dense = false;
    for v in dest.iter().chain(sources.iter()) {
        merge_into(&mut regs, v)?;
        use_dense |= is_dense(v);
    }
    let mut out = dest.map_or_else(create, <[u8]>::to_vec);
    store_merged(&mut out, &regs, use_dense, sparse_max_bytes)?;
    Ok(out)
}

/// PFDEBUG TODENSE: converts a sparse value to dense in place; Ok(true) when it
/// converted (the caller must write `v` back), Ok(false) when already dense.
pub fn to_dense(v: &mut Vec<u8>) -> Result<bool, HllError> {
    check(v)?;
    sparse_to_dense(v)
}

/// PFDEBUG GETREG: all 16384 register values. Like Redis, a sparse value is
/// converted to dense first; the flag says whether `v` changed.
pub fn getreg(v: &mut Vec<u8>) -> Result<(Registers, bool), HllError> {
    let converted = to_dense(v)?;
    let mut regs = Registers::new();
    let dense = &v[HLL_HDR_SIZE..];
    for (i, r) in regs.0.iter_mut().enumerate() {
        *r = dense_get(dense, i);
    }
    Ok((regs, converted))
}

/// PFDEBUG ENCODING: `"dense"` or `"sparse"` (a status reply).
pub fn encoding_name(v: &[u8]) -> Result<&'static str, HllError> {
    check(v)?;
    Ok(if is_dense(v) { "dense" } else { "sparse" })
}

/// PFDEBUG DECODE: the sparse opcodes as Redis prints them, space separated:
/// `z:<len>` for ZERO, `Z:<len>` for XZERO, `v:<value>,<len>` for VAL. The run
/// totals are not checked. Dense values give [`HllError::NotSparse`].
pub fn decode_sparse(v: &[u8]) -> Result<String, HllError> {
    check(v)?;
    if is_dense(v) {
        return Err(HllError::NotSparse);
    }
    let parts: Vec<String> = sparse_ops(v)
        .map(|op| match op {
            Op::Zero(n) => format!("z:{n}"),
            Op::XZero(n) => format!("Z:{n}"),
            Op::Val(value, n) => format!("v:{value},{n}"),
        })
        .collect();
    Ok(parts.join(" "))
}

#[cfg(test)]
#[path = "hll/tests.rs"]
mod tests;
