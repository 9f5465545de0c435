//! HyperLogLog's unit tests: encodings against a register model,
//! estimates within their error, merges, caches and corrupt values.

use super::*;

const BIG: usize = 1 << 20;

/// Reference model: registers as the max pattern length per index.
fn model_of(elements: impl IntoIterator<Item = Vec<u8>>) -> Registers {
    let mut regs = Registers::new();
    for e in elements {
        let (i, c) = pattern(&e);
        regs.raise(i, c);
    }
    regs
}

fn elems(prefix: &str, range: std::ops::Range<usize>) -> Vec<Vec<u8>> {
    range.map(|i| format!("{prefix}{i}").into_bytes()).collect()
}

fn filled(elements: &[Vec<u8>], max_bytes: usize) -> Vec<u8> {
    let mut v = create();
    for e in elements {
        add(&mut v, e, max_bytes).expect("valid hll");
    }
    v
}

fn sparse_with_runs(ops: &[u8]) -> Vec<u8> {
    let mut v = create();
    v.truncate(HLL_HDR_SIZE);
    v.extend_from_slice(ops);
    v
}

#[test]
fn fresh_value_is_empty_sparse() {
    let mut v = create();
    assert!(check(&v).is_ok());
    assert!(!is_dense(&v));
    assert_eq!(decode_sparse(&v).as_deref(), Ok("Z:16384"));
    assert_eq!(count_one(&mut v), Ok((0, false)));
    invalidate_cache(&mut v);
    assert_eq!(cached_cardinality(&v), None);
    assert_eq!(count_one(&mut v), Ok((0, true)));
    assert_eq!(cached_cardinality(&v), Some(0));
}

#[test]
fn pattern_is_in_range_and_deterministic() {
    for i in 0..10_000 {
        let e = format!("x{i}");
        let (idx, count) = pattern(e.as_bytes());
        assert!(idx < HLL_REGISTERS);
        assert!((1..=51).contains(&count));
        assert_eq!(pattern(e.as_bytes()), (idx, count));
    }
    // Every length class of the hash tail must influence the result.
    let distinct: std::collections::HashSet<u64> = (0..24)
        .map(|n| murmurhash64a(&vec![7u8; n], HASH_SEED))
        .collect();
    assert_eq!(distinct.len(), 24);
}

#[test]
fn dense_registers_round_trip_without_touching_neighbours() {
    let mut regs = vec![0u8; HLL_DENSE_SIZE - HLL_HDR_SIZE];
    let mut expect = vec![0u8; HLL_REGISTERS];
    let mut x: u32 = 12345;
    for round in 0..3 {
        for (i, e) in expect.iter_mut().enumerate() {
            x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
            let val = ((x >> 16) as u8 ^ round) & 63;
            dense_set(&mut regs, i, val);
            *e = val;
        }
        for (i, e) in expect.iter().enumerate() {
            assert_eq!(dense_get(&regs, i), *e, "register {i}");
        }
    }
}

#[test]
fn sparse_and_dense_agree_with_model() {
    for n in [1usize, 10, 100, 500, 2000, 5000] {
        let es = elems("m", 0..n);
        let model = model_of(es.clone());
        let mut sparse = filled(&es, BIG);
        let kept_sparse = !is_dense(&sparse);
        assert_eq!(registers_of(&sparse).expect("valid"), model, "n={n}");
        let (c_sparse, _) = count_one(&mut sparse).expect("valid");
        let mut dense = sparse.clone();
        assert_eq!(to_dense(&mut dense), Ok(kept_sparse));
        assert!(is_dense(&dense));
        assert_eq!(registers_of(&dense).expect("valid"), model);
        invalidate_cache(&mut dense);
        assert_eq!(count_one(&mut dense).expect("valid").0, c_sparse);
        assert_eq!(count_registers(&model), c_sparse);
        let (regs, converted) = getreg(&mut sparse).expect("valid");
        assert_eq!(regs, model);
        assert_eq!(converted, kept_sparse);
        assert!(is_dense(&sparse));
    }
}

#[test]
fn estimates_stay_within_error_bounds() {
    let rel = 1.04 / (HLL_REGISTERS as f64).sqrt();
    let mut v = create();
    let mut checkpoint = 1usize;
    for n in 1..=100_000usize {
        add(
            &mut v,
            format!("card-{n}").as_bytes(),
            DEFAULT_SPARSE_MAX_BYTES,
        )
        .expect("valid");
        if n == checkpoint {
            let (c, _) = count_one(&mut v).expect("valid");
            let max_err = (rel * 6.0 * n as f64).ceil().max(1.0);
            let err = (c as f64 - n as f64).abs();
            assert!(err <= max_err, "n={n} estimate={c}");
            checkpoint = checkpoint * 3 / 2 + 1;
        }
    }
    assert!(is_dense(&v));
}

#[test]
fn sparse_promotes_when_too_long() {
    for max in [0usize, 50, 300, DEFAULT_SPARSE_MAX_BYTES] {
        let mut v = create();
        let mut promoted_at = None;
        for (i, e) in elems("p", 0..4000).iter().enumerate() {
            add(&mut v, e, max).expect("valid");
            if is_dense(&v) {
                promoted_at.get_or_insert(i);
            } else {
                assert!(
                    v.len() <= max.max(HLL_HDR_SIZE + 2),
                    "max={max} len={}",
                    v.len()
                );
            }
        }
        assert!(promoted_at.is_some(), "max={max}");
        assert_eq!(
            registers_of(&v).expect("valid"),
            model_of(elems("p", 0..4000))
        );
    }
}

#[test]
fn value_above_sparse_range_promotes() {
    let mut v = create();
    assert_eq!(sparse_set(&mut v, 77, 33, BIG), Ok(true));
    assert!(is_dense(&v));
    assert_eq!(registers_of(&v).expect("valid").get(77), 33);
    let mut w = create();
    assert_eq!(sparse_set(&mut w, 77, 32, BIG), Ok(true));
    assert!(!is_dense(&w));
    assert_eq!(decode_sparse(&w).as_deref(), Ok("Z:77 v:32,1 Z:16306"));
}

#[test]
fn adjacent_equal_values_are_merged() {
    let mut v = create();
    for i in 100..104 {
        sparse_set(&mut v, i, 5, BIG).expect("valid");
    }
    assert_eq!(decode_sparse(&v).as_deref(), Ok("Z:100 v:5,4 Z:16280"));
    sparse_set(&mut v, 104, 5, BIG).expect("valid");
    assert_eq!(
        decode_sparse(&v).as_deref(),
        Ok("Z:100 v:5,4 v:5,1 Z:16279")
    );
    sparse_set(&mut v, 101, 9, BIG).expect("valid");
    assert_eq!(
        registers_of(&v).expect("valid").as_slice()[99..106],
        [0, 5, 9, 5, 5, 5, 0]
    );
}

#[test]
fn merge_is_register_wise_max() {
    let a = filled(&elems("a", 0..300), BIG);
    let b = filled(&elems("b", 0..20_000), DEFAULT_SPARSE_MAX_BYTES);
    assert!(!is_dense(&a) && is_dense(&b));
    let (ra, rb) = (
        registers_of(&a).expect("valid"),
        registers_of(&b).expect("valid"),
    );
    let merged = pfmerge(Some(&a), &[&b], DEFAULT_SPARSE_MAX_BYTES).expect("valid");
    assert!(is_dense(&merged));
    assert_eq!(cached_cardinality(&merged), None);
    let rm = registers_of(&merged).expect("valid");
    for i in 0..HLL_REGISTERS {
        assert_eq!(rm.get(i), ra.get(i).max(rb.get(i)));
    }
    assert_eq!(count_union(&[&a, &b]), Ok(count_registers(&rm)));

    let c = filled(&elems("c", 0..200), BIG);
    let small = pfmerge(None, &[&a, &c], BIG).expect("valid");
    assert!(!is_dense(&small));
    assert_eq!(
        registers_of(&small).expect("valid"),
        model_of(elems("a", 0..300).into_iter().chain(elems("c", 0..200)))
    );
}

#[test]
fn cache_follows_register_changes() {
    let mut v = None;
    assert_eq!(
        pfadd(&mut v, &[b"x", b"y"], DEFAULT_SPARSE_MAX_BYTES),
        Ok(true)
    );
    let mut v = v.expect("created");
    assert_eq!(cached_cardinality(&v), None);
    let (c, changed) = count_one(&mut v).expect("valid");
    assert!(changed);
    assert_eq!(cached_cardinality(&v), Some(c));
    assert_eq!(count_one(&mut v), Ok((c, false)));
    assert_eq!(add(&mut v, b"x", DEFAULT_SPARSE_MAX_BYTES), Ok(false));
    assert_eq!(cached_cardinality(&v), Some(c));
    assert_eq!(add(&mut v, b"zzz", DEFAULT_SPARSE_MAX_BYTES), Ok(true));
    assert_eq!(cached_cardinality(&v), None);
    let mut empty = None;
    assert_eq!(pfadd(&mut empty, &[], DEFAULT_SPARSE_MAX_BYTES), Ok(true));
    assert_eq!(empty.as_deref().and_then(cached_cardinality), None);
}

#[test]
fn non_hll_strings_are_rejected() {
    let mut dense = create();
    to_dense(&mut dense).expect("valid");
    let mut bad_magic = create();
    bad_magic[3] = b'X';
    let mut bad_enc = create();
    bad_enc[4] = 2;
    let mut dense_long = dense.clone();
    dense_long.push(0);
    for v in [
        b"hello".to_vec(),
        b"HYLL".to_vec(),
        bad_magic,
        bad_enc,
        dense[..100].to_vec(),
        dense_long,
    ] {
        assert_eq!(check(&v), Err(HllError::NotHll));
        let mut w = v.clone();
        assert_eq!(add(&mut w, b"a", BIG), Err(HllError::NotHll));
        assert_eq!(count_one(&mut w), Err(HllError::NotHll));
        assert_eq!(count_union(&[&v]), Err(HllError::NotHll));
        assert_eq!(pfmerge(None, &[&v], BIG), Err(HllError::NotHll));
    }
    assert_eq!(HllError::NotHll.to_string(), WRONGTYPE_HLL);
    assert_eq!(decode_sparse(&dense), Err(HllError::NotSparse));
}

#[test]
fn corrupted_sparse_is_detected() {
    let too_long = sparse_with_runs(&[0x7f, 0xff, 0x00]);
    let too_short = sparse_with_runs(&[0x7f, 0xfe]);
    let val_over = sparse_with_runs(&[0x7f, 0xfe, 0x89]);
    for v in [too_long, too_short, val_over, sparse_with_runs(&[])] {
        let mut w = v.clone();
        invalidate_cache(&mut w);
        assert_eq!(count_one(&mut w), Err(HllError::Corrupt));
        assert_eq!(count_union(&[&v]), Err(HllError::Corrupt));
        assert_eq!(pfmerge(None, &[&v], BIG), Err(HllError::Corrupt));
        assert_eq!(to_dense(&mut w.clone()), Err(HllError::Corrupt));
        assert_eq!(getreg(&mut w.clone()).map(|r| r.1), Err(HllError::Corrupt));
    }
    // A register past the covered runs cannot be located.
    let mut short = sparse_with_runs(&[0x7f, 0xfe]);
    assert_eq!(
        sparse_set(&mut short, 16383, 3, BIG),
        Err(HllError::Corrupt)
    );
    assert_eq!(sparse_set(&mut short, 40, 33, BIG), Err(HllError::Corrupt));
    assert_eq!(short, sparse_with_runs(&[0x7f, 0xfe]));
}

#[test]
fn estimator_overflow_matches_llround_failure() {
    let mut v = create();
    to_dense(&mut v).expect("valid");
    for b in &mut v[HLL_HDR_SIZE..] {
        *b = 0xff;
    }
    invalidate_cache(&mut v);
    let (c, _) = count_one(&mut v).expect("valid");
    assert_eq!(c as i64, i64::MIN);
    assert_eq!(cached_cardinality(&v), None);
}

#[test]
fn adds_nothing_is_exactly_pfadd_leaving_the_value_as_it_was() {
    // A dense value past its first thousands of elements: most single
    // elements change nothing, some raise a register.
    let dense = filled(&elems("d", 0..20_000), DEFAULT_SPARSE_MAX_BYTES);
    assert!(is_dense(&dense));
    let sparse = filled(&elems("s", 0..50), DEFAULT_SPARSE_MAX_BYTES);
    assert!(!is_dense(&sparse));
    let (mut nothing, mut raised) = (0, 0);
    for probe in elems("d", 19_000..23_000) {
        for v in [&dense, &sparse] {
            let mut after = Some(v.clone());
            let reply = pfadd(&mut after, &[&probe], DEFAULT_SPARSE_MAX_BYTES);
            if adds_nothing(v, &[&probe]) {
                assert_eq!(reply, Ok(false));
                assert_eq!(after.as_deref(), Some(&v[..]));
                nothing += 1;
            } else if is_dense(v) {
                // On a dense value the check is exact both ways.
                assert_eq!(reply, Ok(true));
                raised += 1;
            }
        }
    }
    assert!(nothing > 1_000 && raised > 0, "{nothing} {raised}");
    // Sparse, corrupt and non-HLL values always take PFADD's own path.
    assert!(!adds_nothing(&sparse, &[b"s1"]));
    assert!(!adds_nothing(b"not an hll", &[b"x"]));
    assert!(!adds_nothing(&dense[..dense.len() - 1], &[b"d1"]));
    // Several elements: nothing only when every one adds nothing.
    let new = elems("d", 0..1_000_000)
        .into_iter()
        .find(|e| !adds_nothing(&dense, &[e]))
        .expect("a raising element");
    assert!(adds_nothing(&dense, &[b"d1", b"d2"]));
    assert!(!adds_nothing(&dense, &[b"d1", &new]));
}
