//! Sorted sets' known bounds ([`ZBound`]): where ZPOPMIN and ZPOPMAX may
//! seek past the tombstones of earlier pops.

/// Sorted sets' bounds by their score prefix (foldhash: a pop looks its
/// set up here on every call, where SipHash showed in the profile).
pub type ZBounds = std::collections::HashMap<Vec<u8>, ZBound, foldhash::fast::RandomState>;

/// Where a sorted set's live score-index entries are known to lie: none
/// below `low`, none at or above `high` (both score-index keys). ZPOPMIN
/// and ZPOPMAX leave the entries they pop behind as tombstones at the ends
/// of the set, which a walk from the end would step over, one more on
/// every pop; the bound lets the walk seek past them. Set after the pop's
/// group commits; any score entry written outside the bounds drops them
/// (a bound is only ever too loose, never wrong).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ZBound {
    /// No live entry below this key.
    pub low: Option<Vec<u8>>,
    /// No live entry at or above this key.
    pub high: Option<Vec<u8>>,
}

/// Most sorted sets whose bounds are kept (past it they are all dropped).
pub(super) const MAX_ZBOUNDS: usize = 16_384;

/// Longest score-index key kept whole as a bound; longer ones are cut to
/// their score (a looser bound that holds no large member).
const MAX_BOUND_KEY: usize = 1024;

/// The sub-key prefix of a score-index key (`len · key · version`).
pub fn zscore_prefix(k: &[u8]) -> Option<&[u8]> {
    let len = u32::from_be_bytes(k.get(..4)?.try_into().ok()?) as usize;
    k.get(..4 + len + 8)
}

/// `k` cut to its prefix and score: no greater than `k`.
fn score_floor(k: &[u8]) -> Option<Vec<u8>> {
    let n = zscore_prefix(k)?.len() + 8;
    k.get(..n).map(<[u8]>::to_vec)
}

/// The prefix with the next score after `k`'s: greater than every key of
/// `k`'s score (`None` past the last score).
fn score_ceiling(k: &[u8]) -> Option<Vec<u8>> {
    let mut v = score_floor(k)?;
    let n = v.len();
    let score = u64::from_be_bytes(v[n - 8..].try_into().ok()?).checked_add(1)?;
    v[n - 8..].copy_from_slice(&score.to_be_bytes());
    Some(v)
}

impl ZBound {
    /// After popping from the low end up to `k` (deleted): nothing live
    /// below it.
    pub fn popped_low(k: &[u8]) -> Self {
        let low = if k.len() <= MAX_BOUND_KEY {
            Some(k.to_vec())
        } else {
            score_floor(k)
        };
        Self { low, high: None }
    }

    /// After popping from the high end down to `k` (deleted): nothing
    /// live at or above it.
    pub fn popped_high(k: &[u8]) -> Self {
        let high = if k.len() <= MAX_BOUND_KEY {
            Some(k.to_vec())
        } else {
            score_ceiling(k)
        };
        Self { low: None, high }
    }

    /// A live entry `k` is written: the bounds widen to take it in.
    pub fn widen(&mut self, k: &[u8]) {
        if self.low.as_deref().is_some_and(|low| k < low) {
            self.low = score_floor(k);
        }
        if self.high.as_deref().is_some_and(|high| k >= high) {
            self.high = score_ceiling(k);
        }
    }

    /// Take a later pop's bounds.
    pub fn narrow(&mut self, later: &Self) {
        if later.low.is_some() {
            self.low.clone_from(&later.low);
        }
        if later.high.is_some() {
            self.high.clone_from(&later.high);
        }
    }
}
