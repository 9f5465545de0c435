//! The order GEOSEARCH's results come in, as Redis's C library makes
//! it: glibc's `qsort` (a stable merge sort) when everything found is
//! returned, Redis's partial quicksort (`pqsort`) when COUNT keeps some.

use std::cmp::Ordering;

/// glibc's `msort`: top-down, left half of `n / 2`, ties taken from the left.
pub(super) fn merge_sort<T, C: Fn(&T, &T) -> Ordering>(v: &mut Vec<T>, cmp: &C) {
    fn order<T, C: Fn(&T, &T) -> Ordering>(
        v: &[T],
        idx: &mut [usize],
        tmp: &mut Vec<usize>,
        cmp: &C,
    ) {
        let n = idx.len();
        if n <= 1 {
            return;
        }
        let n1 = n / 2;
        order(v, &mut idx[..n1], tmp, cmp);
        order(v, &mut idx[n1..], tmp, cmp);
        tmp.clear();
        let (mut i, mut j) = (0, n1);
        while i < n1 && j < n {
            if cmp(&v[idx[i]], &v[idx[j]]) != Ordering::Greater {
                tmp.push(idx[i]);
                i += 1;
            } else {
                tmp.push(idx[j]);
                j += 1;
            }
        }
        tmp.extend_from_slice(&idx[i..n1]);
        let done = tmp.len();
        idx[..done].copy_from_slice(tmp);
    }
    let mut idx: Vec<usize> = (0..v.len()).collect();
    let mut tmp = Vec::with_capacity(v.len());
    order(v, &mut idx, &mut tmp, cmp);
    let mut slots: Vec<Option<T>> = v.drain(..).map(Some).collect();
    v.extend(idx.iter().filter_map(|&i| slots[i].take()));
}

/// Redis's `pqsort` (the NetBSD / Bentley-McIlroy quicksort, without the
/// "no swaps: switch to insertion sort" shortcut, skipping partitions that
/// lie wholly outside positions `lo..=hi`) applied to `v[a..a + n]`;
/// positions are absolute indices into `v`.
pub(super) fn partial_quicksort<T, C: Fn(&T, &T) -> Ordering>(
    v: &mut [T],
    a: usize,
    n: usize,
    lo: usize,
    hi: usize,
    cmp: &C,
) {
    let wanted = |s: usize, len: usize| !((lo < s && hi < s) || (lo >= s + len && hi >= s + len));
    let c = |v: &[T], i: usize, j: usize| cmp(&v[i], &v[j]);
    let insertion = |v: &mut [T], a: usize, n: usize| {
        for m in a + 1..a + n {
            let mut l = m;
            while l > a && c(v, l - 1, l) == Ordering::Greater {
                v.swap(l, l - 1);
                l -= 1;
            }
        }
    };
    // Median of three (the comparator is pure, so comparing eagerly is fine).
    let med3 = |v: &[T], x: usize, y: usize, z: usize| {
        use Ordering::{Greater, Less};
        match (c(v, x, y), c(v, y, z), c(v, x, z)) {
            (Less, Less, _) => y,
            (Less, _, Less) => z,
            (Less, _, _) => x,
            (_, Greater, _) => y,
            (_, _, Less) => x,
            _ => z,
        }
    };
    let vecswap = |v: &mut [T], x: usize, y: usize, k: usize| {
        for i in 0..k {
            v.swap(x + i, y + i);
        }
    };
    let (mut a, mut n) = (a, n);
    loop {
        if n < 7 {
            insertion(v, a, n);
            return;
        }
        let mut pm = a + n / 2;
        if n > 7 {
            let mut pl = a;
            let mut pn = a + n - 1;
            if n > 40 {
                let d = n / 8;
                pl = med3(v, pl, pl + d, pl + 2 * d);
                pm = med3(v, pm - d, pm, pm + d);
                pn = med3(v, pn - 2 * d, pn - d, pn);
            }
            pm = med3(v, pl, pm, pn);
        }
        v.swap(a, pm);
        // Three-way partition around v[a]: equal keys are parked at both
        // ends ([a, pa) and (pd, end)) and swapped into the middle after.
        let (mut pa, mut pb) = (a + 1, a + 1);
        let (mut pc, mut pd) = (a + n - 1, a + n - 1);
        loop {
            while pb <= pc {
                let r = c(v, pb, a);
                if r == Ordering::Greater {
                    break;
                }
                if r == Ordering::Equal {
                    v.swap(pa, pb);
                    pa += 1;
                }
                pb += 1;
            }
            while pb <= pc {
                let r = c(v, pc, a);
                if r == Ordering::Less {
                    break;
                }
                if r == Ordering::Equal {
                    v.swap(pc, pd);
                    pd -= 1;
                }
                pc -= 1;
            }
            if pb > pc {
                break;
            }
            v.swap(pb, pc);
            pb += 1;
            pc -= 1;
        }
        let end = a + n;
        let r = (pa - a).min(pb - pa);
        vecswap(v, a, pb - r, r);
        let r = (pd - pc).min(end - pd - 1);
        vecswap(v, pb, end - r, r);
        let left = pb - pa;
        if left > 1 && wanted(a, left) {
            partial_quicksort(v, a, left, lo, hi, cmp);
        }
        let right = pd - pc;
        if right > 1 && wanted(end - right, right) {
            a = end - right;
            n = right;
            continue;
        }
        return;
    }
}
