//! A minimal unsigned big integer for [`super`]'s exact decimal ↔ binary
//! conversions: just the operations they need (multiply by a small
//! number, add, subtract, compare, shifts, bit tests, decimal digits).

use std::cmp::Ordering;

/// A non-negative integer as little-endian 32-bit limbs.
///
/// Invariant: no most significant zero limb (zero is the empty vector),
/// so equal values have equal limbs and `bit_len` is cheap.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(super) struct Big {
    limbs: Vec<u32>,
}

impl Big {
    /// The value of `v`.
    pub(super) fn from_u128(v: u128) -> Big {
        let mut b = Big {
            limbs: (0..4).map(|i| (v >> (32 * i)) as u32).collect(),
        };
        b.trim();
        b
    }

    /// `self * 5^k`.
    pub(super) fn mul_pow5(&mut self, k: u32) {
        // 5^13 is the largest power of five in a limb.
        const FIVE_13: u32 = 1_220_703_125;
        for _ in 0..k / 13 {
            self.mul_small(FIVE_13);
        }
        self.mul_small(5u32.pow(k % 13));
    }

    /// `5^k`.
    pub(super) fn pow5(k: u32) -> Big {
        let mut b = Big::from_u128(1);
        b.mul_pow5(k);
        b
    }

    fn trim(&mut self) {
        while self.limbs.last() == Some(&0) {
            self.limbs.pop();
        }
    }

    pub(super) fn is_zero(&self) -> bool {
        self.limbs.is_empty()
    }

    /// The number of significant bits (0 for zero).
    pub(super) fn bit_len(&self) -> usize {
        match self.limbs.last() {
            None => 0,
            Some(top) => self.limbs.len() * 32 - top.leading_zeros() as usize,
        }
    }

    /// Bit `i` (0 is the least significant).
    pub(super) fn bit(&self, i: usize) -> bool {
        self.limbs
            .get(i / 32)
            .is_some_and(|l| (l >> (i % 32)) & 1 == 1)
    }

    /// Whether any bit below bit `i` is set.
    pub(super) fn any_below(&self, i: usize) -> bool {
        let whole = (i / 32).min(self.limbs.len());
        if self.limbs[..whole].iter().any(|&l| l != 0) {
            return true;
        }
        let part = i % 32;
        part != 0
            && self
                .limbs
                .get(whole)
                .is_some_and(|l| l & ((1 << part) - 1) != 0)
    }

    /// Bits `shift..shift + 64` as a number (what `self >> shift` keeps
    /// in 64 bits).
    pub(super) fn bits_from(&self, shift: usize) -> u64 {
        (0..64)
            .filter(|&j| self.bit(shift + j))
            .fold(0, |acc, j| acc | 1 << j)
    }

    /// `self * m`.
    pub(super) fn mul_small(&mut self, m: u32) {
        let mut carry = 0u64;
        for l in &mut self.limbs {
            let v = u64::from(*l) * u64::from(m) + carry;
            *l = v as u32;
            carry = v >> 32;
        }
        if carry != 0 {
            self.limbs.push(carry as u32);
        }
        self.trim();
    }

    /// `self + a`.
    pub(super) fn add_small(&mut self, a: u32) {
        let mut carry = u64::from(a);
        for l in &mut self.limbs {
            if carry == 0 {
                return;
            }
            let v = u64::from(*l) + carry;
            *l = v as u32;
            carry = v >> 32;
        }
        if carry != 0 {
            self.limbs.push(carry as u32);
        }
    }

    /// `self + other`.
    pub(super) fn add(&self, other: &Big) -> Big {
        let n = self.limbs.len().max(other.limbs.len());
        let mut out = Vec::with_capacity(n + 1);
        let mut carry = 0u64;
        for i in 0..n {
            let v = u64::from(self.limbs.get(i).copied().unwrap_or(0))
                + u64::from(other.limbs.get(i).copied().unwrap_or(0))
                + carry;
            out.push(v as u32);
            carry = v >> 32;
        }
        out.push(carry as u32);
        let mut b = Big { limbs: out };
        b.trim();
        b
    }

    /// `self - other`.
    ///
    /// # Panics
    /// If `other > self` (callers compare first).
    pub(super) fn sub(&self, other: &Big) -> Big {
        assert!(*self >= *other, "Big::sub would go below zero");
        let mut out = Vec::with_capacity(self.limbs.len());
        let mut borrow = 0i64;
        for (i, &l) in self.limbs.iter().enumerate() {
            let mut v = i64::from(l) - i64::from(other.limbs.get(i).copied().unwrap_or(0)) - borrow;
            borrow = i64::from(v < 0);
            if v < 0 {
                v += 1 << 32;
            }
            out.push(v as u32);
        }
        let mut b = Big { limbs: out };
        b.trim();
        b
    }

    /// `self * 2^n`.
    pub(super) fn shl(&self, n: usize) -> Big {
        if self.is_zero() {
            return Big::default();
        }
        let (whole, part) = (n / 32, n % 32);
        let mut out = vec![0u32; whole];
        out.reserve(self.limbs.len() + 1);
        let mut carry = 0u32;
        for &l in &self.limbs {
            if part == 0 {
                out.push(l);
            } else {
                out.push(l << part | carry);
                carry = l >> (32 - part);
            }
        }
        out.push(carry);
        let mut b = Big { limbs: out };
        b.trim();
        b
    }

    /// `floor(self / 2^n)`.
    pub(super) fn shr(&self, n: usize) -> Big {
        let (whole, part) = (n / 32, n % 32);
        if whole >= self.limbs.len() {
            return Big::default();
        }
        let src = &self.limbs[whole..];
        let out = (0..src.len())
            .map(|i| {
                let hi = src.get(i + 1).copied().unwrap_or(0);
                if part == 0 {
                    src[i]
                } else {
                    src[i] >> part | hi << (32 - part)
                }
            })
            .collect();
        let mut b = Big { limbs: out };
        b.trim();
        b
    }

    /// `floor(self / d)` for a quotient below `2^128`, and whether the
    /// division left a remainder: schoolbook binary long division.
    ///
    /// # Panics
    /// If `d` is zero or the quotient needs more than 128 bits.
    pub(super) fn div_small_quotient(&self, d: &Big) -> (u128, bool) {
        assert!(!d.is_zero(), "Big division by zero");
        let mut rem = self.clone();
        let mut q = 0u128;
        let top = self.bit_len().saturating_sub(d.bit_len()) + 1;
        assert!(top <= 128, "Big quotient over 128 bits");
        for i in (0..top).rev() {
            let step = d.shl(i);
            if rem >= step {
                rem = rem.sub(&step);
                q |= 1 << i;
            }
        }
        (q, !rem.is_zero())
    }

    /// Decimal digits, most significant first ("0" for zero).
    pub(super) fn to_decimal(&self) -> String {
        const BILLION: u64 = 1_000_000_000;
        let mut limbs = self.limbs.clone();
        let mut chunks = Vec::new();
        while !limbs.is_empty() {
            let mut rem = 0u64;
            for l in limbs.iter_mut().rev() {
                let v = rem << 32 | u64::from(*l);
                *l = (v / BILLION) as u32;
                rem = v % BILLION;
            }
            while limbs.last() == Some(&0) {
                limbs.pop();
            }
            chunks.push(rem);
        }
        let mut out = chunks.pop().unwrap_or(0).to_string();
        for c in chunks.iter().rev() {
            out.push_str(&format!("{c:09}"));
        }
        out
    }
}

impl Ord for Big {
    fn cmp(&self, other: &Big) -> Ordering {
        self.limbs
            .len()
            .cmp(&other.limbs.len())
            .then_with(|| self.limbs.iter().rev().cmp(other.limbs.iter().rev()))
    }
}

impl PartialOrd for Big {
    fn partial_cmp(&self, other: &Big) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn big(v: u128) -> Big {
        Big::from_u128(v)
    }

    #[test]
    fn powers_and_digits() {
        assert_eq!(Big::pow5(0).to_decimal(), "1");
        assert_eq!(
            Big::pow5(30).shl(30).to_decimal(),
            format!("1{}", "0".repeat(30))
        );
        assert_eq!(Big::pow5(27).to_decimal(), 5u128.pow(27).to_string());
        assert_eq!(Big::pow5(200).to_decimal().len(), 140);
        assert_eq!(Big::default().to_decimal(), "0");
        assert_eq!(big(1).shl(200).bit_len(), 201);
        assert_eq!(big(1).shl(200).shr(199), big(2));
        assert!(big(1).shl(200).any_below(201) && !big(1).shl(200).any_below(200));
    }

    proptest! {
        #[test]
        fn matches_u128(a in any::<u64>(), b in any::<u64>(), s in 0usize..64, m in any::<u32>()) {
            let (wa, wb) = (u128::from(a), u128::from(b));
            prop_assert_eq!(big(wa).add(&big(wb)), big(wa + wb));
            prop_assert_eq!(big(wa.max(wb)).sub(&big(wa.min(wb))), big(wa.max(wb) - wa.min(wb)));
            prop_assert_eq!(big(wa).cmp(&big(wb)), wa.cmp(&wb));
            prop_assert_eq!(big(wa).shl(s), big(wa << s));
            prop_assert_eq!(big(wa << 60).shr(s), big((wa << 60) >> s));
            prop_assert_eq!(big(wa << 60).bits_from(s), ((wa << 60) >> s) as u64);
            prop_assert_eq!(big(wa).any_below(s), wa & ((1 << s) - 1) != 0);
            let mut p = big(wa);
            p.mul_small(m);
            p.add_small(m);
            prop_assert_eq!(p.clone(), big(wa * u128::from(m) + u128::from(m)));
            prop_assert_eq!(p.to_decimal(), (wa * u128::from(m) + u128::from(m)).to_string());
            if b != 0 {
                let (q, rem) = big(wa << 60).div_small_quotient(&big(wb));
                prop_assert_eq!(q, (wa << 60) / wb);
                prop_assert_eq!(rem, (wa << 60) % wb != 0);
            }
        }
    }
}
