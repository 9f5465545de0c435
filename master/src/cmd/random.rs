//! What the random commands share (SRANDMEMBER, SPOP, HRANDFIELD,
//! ZRANDMEMBER): their count argument, their picks, a fresh seed per call
//! and a small PRNG.

use bytes::Bytes;
use rocksync_protocol::Reply;

use super::{int_arg, lower, SYNTAX};

/// `key [count [WITH<word>]]` of SRANDMEMBER's kin (HRANDFIELD,
/// ZRANDMEMBER): the count, and whether `with` (lowercase) was given.
pub fn rand_args(a: &[Bytes], with: &[u8]) -> Result<(Option<i64>, bool), Reply> {
    let count = a.get(2).map(|n| int_arg(n)).transpose()?;
    match a.get(3) {
        None => Ok((count, false)),
        Some(w) if a.len() == 4 && lower(w) == with => Ok((count, true)),
        Some(_) => Err(Reply::error(SYNTAX)),
    }
}

/// Most picks with repeats (a negative count) in one reply.
const MAX_REPEATED_PICKS: i64 = 10_000_000;

/// The picks of SRANDMEMBER, HRANDFIELD and ZRANDMEMBER among `len`
/// items: `None` without a count (one item, or nil); distinct items up
/// to `count` when it is positive; `-count` items, repeats allowed, when
/// it is negative.
///
/// # Errors
/// Redis's range error for a count too negative to answer.
pub fn random_picks(
    len: usize,
    count: Option<i64>,
    seed: u64,
) -> Result<Option<Vec<usize>>, Reply> {
    let Some(n) = count else {
        return Ok(None);
    };
    if n < -(i64::MAX / 2) {
        return Err(Reply::error("ERR value is out of range"));
    }
    if len > 0 && n < -MAX_REPEATED_PICKS {
        // Redis would stream them; one reply this large is refused.
        return Err(Reply::error(format!(
            "ERR count is out of range: at most {MAX_REPEATED_PICKS} repeated picks in one reply"
        )));
    }
    if len == 0 {
        return Ok(Some(Vec::new()));
    }
    let mut rng = Rng::new(seed.wrapping_mul(31) ^ len as u64);
    if n < 0 {
        return Ok(Some(
            (0..n.unsigned_abs()).map(|_| rng.below(len)).collect(),
        ));
    }
    let mut left: Vec<usize> = (0..len).collect();
    let mut out = Vec::with_capacity((n as usize).min(len));
    while out.len() < n as usize && !left.is_empty() {
        out.push(left.swap_remove(rng.below(left.len())));
    }
    Ok(Some(out))
}

/// A fresh seed for each random command: a process-wide sequence mixed by
/// splitmix64 and started from the clock, so calls within the same
/// millisecond draw differently (a seed from the clock alone gave every
/// SRANDMEMBER in that millisecond the same member).
pub fn seed() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let _ = NEXT.compare_exchange(
        0,
        crate::clock::now_ms() | 1,
        Ordering::Relaxed,
        Ordering::Relaxed,
    );
    let mut z = NEXT.fetch_add(0x9e37_79b9_7f4a_7c15, Ordering::Relaxed);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// A small PRNG (xorshift) for the random commands, seeded by [`seed`].
pub struct Rng(u64);

impl Rng {
    /// Seeded from `seed` (never zero).
    pub fn new(seed: u64) -> Self {
        Self(seed | 1)
    }

    /// Next value below `n` (n > 0).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    /// Next value.
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}
