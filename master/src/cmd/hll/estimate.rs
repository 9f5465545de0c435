//! The cardinality estimator (Redis 7.0's, after Ertl): from a register
//! histogram to a count, and a value's count from its registers.

use super::{
    dense_get, is_dense, sparse_ops, HllError, Op, ALPHA_INF, HLL_HDR_SIZE, HLL_Q, HLL_REGISTERS,
};

/// Ertl's sigma function (small-range correction).
fn sigma(mut x: f64) -> f64 {
    if x == 1.0 {
        return f64::INFINITY;
    }
    let (mut y, mut z) = (1.0, x);
    loop {
        x *= x;
        let prev = z;
        z += x * y;
        y += y;
        if prev == z {
            return z;
        }
    }
}

/// Ertl's tau function (large-range correction).
fn tau(mut x: f64) -> f64 {
    if x == 0.0 || x == 1.0 {
        return 0.0;
    }
    let (mut y, mut z) = (1.0, 1.0 - x);
    loop {
        x = x.sqrt();
        let prev = z;
        y *= 0.5;
        z -= (1.0 - x) * (1.0 - x) * y;
        if prev == z {
            return z / 3.0;
        }
    }
}

/// Redis 7.0's improved estimator over a register-value histogram.
///
/// The arithmetic is in `double`, then rounded half away from zero to a signed
/// 64-bit integer (`llroundl`); an out-of-range result (possible only with
/// hand-crafted registers) becomes `i64::MIN`, whose bits Redis returns as is.
pub(super) fn estimate(histo: &[u32; 64]) -> u64 {
    let m = HLL_REGISTERS as f64;
    let mut z = m * tau((m - f64::from(histo[HLL_Q + 1])) / m);
    for &h in histo[1..=HLL_Q].iter().rev() {
        z += f64::from(h);
        z *= 0.5;
    }
    z += m * sigma(f64::from(histo[0]) / m);
    let e = (ALPHA_INF * m * m / z).round();
    if e.is_finite() && (-9.223_372_036_854_776e18..9.223_372_036_854_776e18).contains(&e) {
        e as i64 as u64
    } else {
        i64::MIN as u64
    }
}

/// Computes the cardinality of a validated value from its registers.
pub(super) fn compute_cardinality(v: &[u8]) -> Result<u64, HllError> {
    let mut histo = [0u32; 64];
    if is_dense(v) {
        let regs = &v[HLL_HDR_SIZE..];
        for i in 0..HLL_REGISTERS {
            histo[usize::from(dense_get(regs, i))] += 1;
        }
    } else {
        let mut idx = 0usize;
        for op in sparse_ops(v) {
            let bucket = match op {
                Op::Val(value, _) => usize::from(value),
                _ => 0,
            };
            idx += op.span();
            if idx > HLL_REGISTERS {
                // (before the count can overflow on a crafted value)
                return Err(HllError::Corrupt);
            }
            histo[bucket] += op.span() as u32;
        }
        if idx != HLL_REGISTERS {
            return Err(HllError::Corrupt);
        }
    }
    Ok(estimate(&histo))
}
