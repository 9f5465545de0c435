//! The geometry's unit tests: round trips within a cell, distances,
//! search areas that cover their shape, ordering and texts.

use super::*;

/// Small deterministic generator (xorshift) so the tests need no crates.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }

    fn range(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.unit()
    }
}

const CELL_LON: f64 = 360.0 / (1u64 << 26) as f64;
const CELL_LAT: f64 = (LAT_MAX - LAT_MIN) / (1u64 << 26) as f64;

#[test]
fn encode_decode_round_trip_within_half_a_cell() {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    for _ in 0..100_000 {
        let lon = rng.range(LON_MIN, LON_MAX);
        let lat = rng.range(LAT_MIN, LAT_MAX);
        let bits = encode(lon, lat).expect("valid point");
        assert!(bits < 1 << 52, "inside the limits a hash has 52 bits");
        let (dlon, dlat) = decode(bits);
        assert!(
            (dlon - lon).abs() <= CELL_LON / 2.0 + 1e-12,
            "{lon} -> {dlon}"
        );
        assert!(
            (dlat - lat).abs() <= CELL_LAT / 2.0 + 1e-12,
            "{lat} -> {dlat}"
        );
        // Re-encoding the centre of a cell gives the same cell.
        assert_eq!(encode(dlon, dlat), Ok(bits));
    }
}

#[test]
fn encode_limits_and_errors() {
    // Points on the upper limits carry out of the 52 bits but still decode
    // to (clamped) coordinates on the limit.
    let bits = encode(LON_MAX, LAT_MAX).expect("limits are valid");
    assert!(bits >= 1 << 52);
    assert_eq!(decode(bits), (LON_MAX, LAT_MAX));
    let (lon, lat) = decode(encode(LON_MIN, LAT_MIN).expect("limits are valid"));
    assert!(lon > LON_MIN && lon - LON_MIN < CELL_LON);
    assert!(lat > LAT_MIN && lat - LAT_MIN < CELL_LAT);

    for (lon, lat) in [
        (180.5, 0.0),
        (-181.0, 0.0),
        (0.0, 85.06),
        (0.0, -90.0),
        (f64::INFINITY, 0.0),
        (f64::NAN, 0.0),
    ] {
        let err = encode(lon, lat).expect_err("outside the limits");
        assert!(
            err.starts_with("ERR invalid longitude,latitude pair "),
            "{err}"
        );
        assert_eq!(check_lonlat(lon, lat), Err(err));
    }
    let err = encode(181.0, -1.25).expect_err("outside");
    assert!(err.ends_with(" 181.000000,-1.250000"), "{err}");
    assert!(encode(f64::INFINITY, 0.0)
        .expect_err("outside")
        .ends_with(" inf,0.000000"));
}

#[test]
fn score_conversion_follows_the_c_casts() {
    for v in [0u64, 1, 123_456_789, (1 << 52) - 1, 1 << 53] {
        assert_eq!(score_bits(v as f64), v);
        assert_eq!(hash_int(v as f64), v as i64);
    }
    assert_eq!(score_bits(2.9), 2);
    assert_eq!(score_bits(-1.0), u64::MAX);
    assert_eq!(score_bits(-2.5), (-2i64) as u64);
    assert_eq!(score_bits(f64::INFINITY), 0);
    assert_eq!(score_bits(f64::NEG_INFINITY), 1 << 63);
    assert_eq!(score_bits(1.5 * 9_223_372_036_854_775_808.0), 3 << 62);
    assert_eq!(hash_int(f64::INFINITY), i64::MIN);
    assert_eq!(hash_int(-7.9), -7);
    // Whatever the bits, decoding stays inside the limits.
    for s in [-1.0, f64::NEG_INFINITY, 1e30, 4_503_599_627_370_496.5] {
        let (lon, lat) = decode(score_bits(s));
        assert!((LON_MIN..=LON_MAX).contains(&lon) && (LAT_MIN..=LAT_MAX).contains(&lat));
    }
}

/// Decodes a standard geohash string to the centre of its cell.
fn geohash_centre(s: &str) -> (f64, f64) {
    let (mut lon, mut lat) = ((-180.0, 180.0), (-90.0, 90.0));
    let mut even = true;
    for ch in s.bytes() {
        let v = GEOHASH_ALPHABET
            .iter()
            .position(|&c| c == ch)
            .expect("alphabet");
        for bit in (0..5).rev() {
            let r: &mut (f64, f64) = if even { &mut lon } else { &mut lat };
            let mid = (r.0 + r.1) / 2.0;
            if v >> bit & 1 == 1 {
                r.0 = mid;
            } else {
                r.1 = mid;
            }
            even = !even;
        }
    }
    ((lon.0 + lon.1) / 2.0, (lat.0 + lat.1) / 2.0)
}

#[test]
fn geohash_strings_are_standard_geohashes() {
    let mut rng = Rng(77);
    for _ in 0..20_000 {
        let bits = encode(rng.range(LON_MIN, LON_MAX), rng.range(LAT_MIN, LAT_MAX)).expect("valid");
        let s = hash_string(bits);
        assert_eq!(s.len(), 11);
        assert!(s.ends_with('0'));
        let (lon, lat) = decode(bits);
        // Ten characters are 50 bits: 25 per coordinate.
        let (glon, glat) = geohash_centre(&s[..10]);
        assert!((glon - lon).abs() <= 360.0 / f64::from(1u32 << 25), "{s}");
        assert!((glat - lat).abs() <= 180.0 / f64::from(1u32 << 25), "{s}");
    }
}

#[test]
fn distances_match_known_city_pairs() {
    // (lon, lat) pairs and great-circle distances in km.
    let cases = [
        ((-0.1278, 51.5074), (2.3522, 48.8566), 343.5), // London - Paris
        ((-74.0060, 40.7128), (-118.2437, 34.0522), 3936.0), // New York - Los Angeles
        ((139.6917, 35.6895), (151.2093, -33.8688), 7823.0), // Tokyo - Sydney
        ((13.361389, 38.115556), (15.087269, 37.502669), 166.27), // Palermo - Catania
    ];
    for ((lon1, lat1), (lon2, lat2), km) in cases {
        let d = distance(lon1, lat1, lon2, lat2) / 1000.0;
        assert!((d - km).abs() / km < 0.005, "{d} vs {km}");
        assert_eq!(
            distance(lon1, lat1, lon2, lat2),
            distance(lon2, lat2, lon1, lat1)
        );
        assert_eq!(distance(lon1, lat1, lon1, lat1), 0.0);
    }
    // Along a meridian the distance is exactly proportional to the angle.
    let d = distance(10.0, 0.0, 10.0, 1.0);
    assert!((d - EARTH_RADIUS_M * PI / 180.0).abs() < 1e-6);
}

#[test]
fn units() {
    assert_eq!(unit_factor(b"m"), Some(1.0));
    assert_eq!(unit_factor(b"KM"), Some(1000.0));
    assert_eq!(unit_factor(b"Ft"), Some(0.3048));
    assert_eq!(unit_factor(b"mI"), Some(1609.34));
    assert_eq!(unit_factor(b"km\0junk"), Some(1000.0));
    for bad in [&b""[..], b"yd", b"kms", b" m", b"\0m"] {
        assert_eq!(unit_factor(bad), None);
    }
}

fn random_shape(rng: &mut Rng) -> Shape {
    let unit = [1.0, 1000.0, 0.3048, 1609.34][(rng.next() % 4) as usize];
    let metres = |rng: &mut Rng| 10f64.powf(rng.range(0.0, 6.7));
    if rng.next() & 1 == 0 {
        Shape::Radius {
            radius: metres(rng) / unit,
            unit,
        }
    } else {
        Shape::Box {
            width: metres(rng) / unit,
            height: metres(rng) / unit,
            unit,
        }
    }
}

#[test]
fn ranges_cover_every_point_inside_the_shape() {
    let mut rng = Rng(4242);
    for case in 0..3_000 {
        let lon = if case % 5 == 0 {
            rng.range(175.0, 180.0)
        } else {
            rng.range(LON_MIN, LON_MAX)
        };
        let lat = if case % 7 == 0 {
            rng.range(78.0, LAT_MAX)
        } else {
            rng.range(LAT_MIN, LAT_MAX)
        };
        let shape = random_shape(&mut rng);
        let ranges = search_ranges(lon, lat, &shape);
        assert!(!ranges.is_empty() && ranges.len() <= 9);
        for &(min, max) in &ranges {
            assert!(min < max && min.fract() == 0.0 && max.fract() == 0.0);
        }
        // The first range is the centre's own cell.
        let own = encode(lon, lat).expect("valid centre") as f64;
        assert!(ranges[0].0 <= own && own < ranges[0].1);
        // Points scattered around the centre: each one inside is covered.
        let reach = match shape {
            Shape::Radius { radius, unit } => radius * unit,
            Shape::Box {
                width,
                height,
                unit,
            } => width.max(height) * unit,
        };
        let spread = (reach / 111_000.0).min(30.0);
        for _ in 0..200 {
            let plon = (lon + rng.range(-spread, spread) / lat.to_radians().cos().max(0.05))
                .clamp(LON_MIN, LON_MAX);
            let plat = (lat + rng.range(-spread, spread)).clamp(LAT_MIN, LAT_MAX);
            let score = encode(plon, plat).expect("valid point") as f64;
            // Points exactly on the upper limits carry past 52 bits and are
            // found only when the centre's own cell carries too (as in Redis).
            if score >= (1u64 << 52) as f64 {
                continue;
            }
            if within(lon, lat, &shape, score).is_some() {
                assert!(
                    ranges.iter().any(|&(min, max)| min <= score && score < max),
                    "{plon},{plat} inside {shape:?} around {lon},{lat} but not in {ranges:?}"
                );
            }
        }
    }
}

#[test]
fn within_agrees_with_the_shape_definition() {
    let mut rng = Rng(99);
    for _ in 0..20_000 {
        let (lon, lat) = (rng.range(-170.0, 170.0), rng.range(-80.0, 80.0));
        let (plon, plat) = (lon + rng.range(-1.0, 1.0), lat + rng.range(-1.0, 1.0));
        let score = encode(plon, plat).expect("valid") as f64;
        let (dlon, dlat) = decode(score as u64);
        let d = distance(lon, lat, dlon, dlat);
        let r = rng.range(0.0, 150_000.0);
        let got = within(
            lon,
            lat,
            &Shape::Radius {
                radius: r / 1000.0,
                unit: 1000.0,
            },
            score,
        );
        assert_eq!(got.is_some(), d <= r / 1000.0 * 1000.0);
        if let Some((gd, glon, glat)) = got {
            assert_eq!((gd, glon, glat), (d, dlon, dlat));
        }
        let (w, h) = (rng.range(0.0, 300_000.0), rng.range(0.0, 300_000.0));
        let inside = distance(dlon, dlat, dlon, lat) <= h / 2.0
            && distance(dlon, dlat, lon, dlat) <= w / 2.0;
        let got = within(
            lon,
            lat,
            &Shape::Box {
                width: w,
                height: h,
                unit: 1.0,
            },
            score,
        );
        assert_eq!(got.map(|g| g.0), inside.then_some(d));
    }
}

#[test]
fn zero_radius_finds_exactly_the_same_cell() {
    let bits = encode(12.5, 41.9).expect("valid");
    let (lon, lat) = decode(bits);
    let ranges = search_ranges(
        lon,
        lat,
        &Shape::Radius {
            radius: 0.0,
            unit: 1.0,
        },
    );
    assert_eq!(ranges[0], (bits as f64, (bits + 1) as f64));
    assert_eq!(
        within(
            lon,
            lat,
            &Shape::Radius {
                radius: 0.0,
                unit: 1.0
            },
            bits as f64
        )
        .map(|g| g.0),
        Some(0.0)
    );
}

fn hits(dists: &[f64]) -> Vec<Hit<usize>> {
    dists
        .iter()
        .enumerate()
        .map(|(i, &d)| Hit {
            member: i,
            score: 0.0,
            lon: 0.0,
            lat: 0.0,
            dist_m: d,
        })
        .collect()
}

fn members(h: &[Hit<usize>]) -> Vec<usize> {
    h.iter().map(|h| h.member).collect()
}

#[test]
fn finish_sorts_and_truncates() {
    let mut rng = Rng(5);
    for _ in 0..2_000 {
        let n = (rng.next() % 120) as usize + 1;
        let dists: Vec<f64> = (0..n).map(|_| (rng.next() % 20) as f64).collect();
        let mut by_value = dists.clone();
        by_value.sort_by(|a, b| a.total_cmp(b));

        // Full sorts are stable: ties keep visiting order.
        let mut h = hits(&dists);
        finish(&mut h, Order::Asc, 0, false);
        let mut expect: Vec<usize> = (0..n).collect();
        expect.sort_by(|&a, &b| dists[a].total_cmp(&dists[b]));
        assert_eq!(members(&h), expect);
        let mut h = hits(&dists);
        finish(&mut h, Order::Desc, n + 3, false);
        expect.sort_by(|&a, &b| dists[b].total_cmp(&dists[a]));
        assert_eq!(members(&h), expect);

        // COUNT alone means the `count` nearest, ascending.
        let count = (rng.next() % n as u64) as usize + 1;
        let mut h = hits(&dists);
        finish(&mut h, Order::Unsorted, count, false);
        assert_eq!(h.len(), count);
        let got: Vec<f64> = h.iter().map(|h| h.dist_m).collect();
        assert_eq!(got, by_value[..count]);
        let mut seen = members(&h);
        seen.sort_unstable();
        seen.dedup();
        assert_eq!(seen.len(), count, "no hit is duplicated or lost");

        // COUNT ANY without an order keeps visiting order.
        let mut h = hits(&dists);
        finish(&mut h, Order::Unsorted, count, true);
        assert_eq!(members(&h), (0..count).collect::<Vec<_>>());
    }
}

#[test]
fn search_honours_any_and_visiting_order() {
    // A dense grid of members around a centre.
    let (lon, lat) = (2.35, 48.85);
    let mut zset: Vec<(f64, String)> = Vec::new();
    for i in 0..40 {
        for j in 0..40 {
            let p = (
                lon + (f64::from(i) - 20.0) * 0.002,
                lat + (f64::from(j) - 20.0) * 0.002,
            );
            zset.push((encode(p.0, p.1).expect("valid") as f64, format!("m{i}_{j}")));
        }
    }
    zset.sort_by(|a, b| a.0.total_cmp(&b.0).then_with(|| a.1.cmp(&b.1)));
    let scan = |min: f64, max: f64| {
        zset.iter()
            .filter(move |e| min <= e.0 && e.0 < max)
            .map(|e| (e.0, e.1.clone()))
            .collect::<Vec<_>>()
    };
    let shape = Shape::Radius {
        radius: 1.5,
        unit: 1000.0,
    };
    let all = search(lon, lat, &shape, Order::Unsorted, 0, false, scan);
    assert!(all.len() > 100);
    // Unsorted results follow the ranges, and scores within each range.
    let ranges = search_ranges(lon, lat, &shape);
    let pos = |s: f64| {
        ranges
            .iter()
            .position(|&(a, b)| a <= s && s < b)
            .expect("covered")
    };
    for w in all.windows(2) {
        let (a, b) = (pos(w[0].score), pos(w[1].score));
        assert!(a < b || (a == b && w[0].score <= w[1].score));
    }
    for h in &all {
        assert!(h.dist_m <= 1500.0);
    }
    let any = search(lon, lat, &shape, Order::Unsorted, 7, true, scan);
    assert_eq!(any, all[..7].to_vec());
    let nearest = search(lon, lat, &shape, Order::Unsorted, 7, false, scan);
    let mut sorted: Vec<f64> = all.iter().map(|h| h.dist_m).collect();
    sorted.sort_by(f64::total_cmp);
    assert_eq!(
        nearest.iter().map(|h| h.dist_m).collect::<Vec<_>>(),
        sorted[..7]
    );
}

#[test]
fn number_formatting() {
    assert_eq!(fmt_dist(166.27415156960033), "166.2742");
    assert_eq!(fmt_dist(0.0), "0.0000");
    assert_eq!(fmt_dist(0.00004), "0.0000");
    assert_eq!(fmt_dist(0.00006), "0.0001");
    // The scaled value (not the exact one) decides: 0.00125 * 10000 is
    // 12.5, which rounds to even, although the double is above 0.00125.
    assert_eq!(fmt_dist(0.00125), "0.0012");
    assert_eq!(fmt_dist(0.00375), "0.0038");
    assert_eq!(fmt_dist(12.5), "12.5000");
    assert_eq!(
        fmt_dist(f64::NAN),
        format!("-{}.{}", i64::MAX / 10000, 5808)
    );
    // Always four decimals, and close to the value.
    let mut rng = Rng(3);
    for _ in 0..10_000 {
        let d = 10f64.powf(rng.range(-5.0, 8.0));
        let s = fmt_dist(d);
        assert_eq!(s.split('.').nth(1).map(str::len), Some(4), "{s}");
        let back = s.parse::<f64>().expect("number");
        assert!((back - d).abs() <= 0.00005 + d * 1e-15, "{d} {s}");
    }
    assert_eq!(fmt_human(180.0), "180");
    assert_eq!(fmt_human(-0.0), "0");
    assert_eq!(fmt_human(-1e-30), "0");
    assert_eq!(fmt_human(0.5), "0.5");
    assert_eq!(fmt_human(-12.25), "-12.25");
    // Seventeen decimals of the exact binary value, trailing zeros dropped.
    let s = fmt_coord(13.361389338970184);
    let frac = s.split('.').nth(1).expect("fraction");
    assert!(frac.len() <= 17 && !frac.ends_with('0'));
    assert!((s.parse::<f64>().expect("number") - 13.361389338970184).abs() < 1e-15);
}
