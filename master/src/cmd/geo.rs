//! The arithmetic of the GEO commands, reproducing Redis 7.0 exactly.
//!
//! A GEO key is a sorted set whose scores are 52-bit geohashes: 26 bits of
//! latitude (over -85.05112878..85.05112878) interleaved with 26 bits of
//! longitude (over -180..180), latitude in the even bits. Everything here is
//! plain computation on `f64`/`u64`; the command layer reads the sorted set
//! and writes replies.
//!
//! Exactness notes:
//! * the operations (and their order) are those of Redis, so results are
//!   identical bit for bit as long as `sin`, `cos` and `asin` come from the
//!   same libm as the reference server (glibc on x86-64);
//! * scores are taken as `f64` wherever Redis takes them from the sorted
//!   set, and converted to hash bits the way a C `(uint64_t)` cast does on
//!   x86-64 ([`score_bits`]), so odd scores written with ZADD decode like
//!   they do in Redis;
//! * result ordering uses the same algorithms Redis ends up running
//!   (glibc's merge sort for full sorts, Redis's partial quicksort when
//!   COUNT cuts the result), so even ties come out in the same order;
//! * reply texts follow Redis's own formatters (distances are not plain
//!   `%.4f`, coordinates are `%.17Lf` trimmed), see [`fmt_dist`] and
//!   [`fmt_human`].

mod sort;

use std::cmp::Ordering;
use std::f64::consts::PI;

use sort::{merge_sort, partial_quicksort};

/// Smallest longitude accepted.
pub const LON_MIN: f64 = -180.0;
/// Largest longitude accepted.
pub const LON_MAX: f64 = 180.0;
/// Smallest latitude accepted (the Web Mercator limit).
pub const LAT_MIN: f64 = -85.05112878;
/// Largest latitude accepted (the Web Mercator limit).
pub const LAT_MAX: f64 = 85.05112878;
/// Bits per coordinate in a stored score.
pub const STEP_MAX: u8 = 26;
/// Earth radius used by every distance, in metres.
pub const EARTH_RADIUS_M: f64 = 6372797.560856;
/// Reply text for an unknown distance unit.
pub const UNIT_ERR: &str = "ERR unsupported unit provided. please use M, KM, FT, MI";

const MERCATOR_MAX: f64 = 20037726.37;
const RAD_PER_DEG: f64 = PI / 180.0;
const EVEN: u64 = 0x5555_5555_5555_5555;
const ODD: u64 = 0xaaaa_aaaa_aaaa_aaaa;
const GEOHASH_ALPHABET: &[u8; 32] = b"0123456789bcdefghjkmnpqrstuvwxyz";

fn deg_rad(deg: f64) -> f64 {
    deg * RAD_PER_DEG
}

fn rad_deg(rad: f64) -> f64 {
    rad / RAD_PER_DEG
}

// ---- Geohash cells ----

#[derive(Clone, Copy)]
struct Span {
    min: f64,
    max: f64,
}

const fn span(min: f64, max: f64) -> Span {
    Span { min, max }
}

const LON_SPAN: Span = span(LON_MIN, LON_MAX);
const LAT_SPAN: Span = span(LAT_MIN, LAT_MAX);
/// The latitude range of standard geohash strings.
const STD_LAT_SPAN: Span = span(-90.0, 90.0);

/// A geohash of `step` bits per coordinate (`bits` holds `2 * step` bits,
/// plus a carry bit when a coordinate sits exactly on its upper limit).
/// `step == 0` marks an excluded neighbour.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
struct Cell {
    bits: u64,
    step: u8,
}

impl Cell {
    const NONE: Cell = Cell { bits: 0, step: 0 };

    fn is_none(self) -> bool {
        self.bits == 0 && self.step == 0
    }

    /// Score range `[min, max)` covering every 52-bit hash inside the cell.
    fn score_range(self) -> (u64, u64) {
        let shift = 52 - 2 * u32::from(self.step);
        (self.bits << shift, self.bits.wrapping_add(1) << shift)
    }
}

#[derive(Clone, Copy)]
struct Area {
    lon: Span,
    lat: Span,
}

/// Spreads the 32 bits of `v` over the even bits of a `u64`.
fn spread(v: u32) -> u64 {
    let mut x = u64::from(v);
    x = (x | (x << 16)) & 0x0000_ffff_0000_ffff;
    x = (x | (x << 8)) & 0x00ff_00ff_00ff_00ff;
    x = (x | (x << 4)) & 0x0f0f_0f0f_0f0f_0f0f;
    x = (x | (x << 2)) & 0x3333_3333_3333_3333;
    (x | (x << 1)) & EVEN
}

/// Gathers the even bits of `x` into a `u32` (inverse of [`spread`]).
fn gather(x: u64) -> u32 {
    let mut x = x & EVEN;
    x = (x | (x >> 1)) & 0x3333_3333_3333_3333;
    x = (x | (x >> 2)) & 0x0f0f_0f0f_0f0f_0f0f;
    x = (x | (x >> 4)) & 0x00ff_00ff_00ff_00ff;
    x = (x | (x >> 8)) & 0x0000_ffff_0000_ffff;
    x = (x | (x >> 16)) & 0x0000_0000_ffff_ffff;
    x as u32
}

/// Encodes a point into a cell of `step` bits per coordinate over the given
/// ranges; `None` outside the WGS84/Mercator limits or the ranges.
fn encode_cell(lon_span: Span, lat_span: Span, lon: f64, lat: f64, step: u8) -> Option<Cell> {
    let outside = |v: f64, s: Span| v < s.min || v > s.max;
    if outside(lon, LON_SPAN) || outside(lat, LAT_SPAN) {
        return None;
    }
    if outside(lat, lat_span) || outside(lon, lon_span) {
        return None;
    }
    let scale = (1u64 << step) as f64;
    let lat_off = (lat - lat_span.min) / (lat_span.max - lat_span.min) * scale;
    let lon_off = (lon - lon_span.min) / (lon_span.max - lon_span.min) * scale;
    // Offsets lie in [0, 2^step]: the float-to-int truncation of C.
    let bits = spread(lat_off as u32) | (spread(lon_off as u32) << 1);
    Some(Cell { bits, step })
}

/// The WGS84 rectangle of a cell (bits beyond `2 * step` are honoured the
/// way Redis does, which matters only for scores not made by GEOADD).
fn decode_cell(cell: Cell) -> Area {
    let lat_idx = gather(cell.bits);
    let lon_idx = gather(cell.bits >> 1);
    let div = (1u64 << cell.step) as f64;
    let at = |span: Span, idx: u32| span.min + (f64::from(idx) / div) * (span.max - span.min);
    let lon = span(at(LON_SPAN, lon_idx), at(LON_SPAN, lon_idx.wrapping_add(1)));
    let lat = span(at(LAT_SPAN, lat_idx), at(LAT_SPAN, lat_idx.wrapping_add(1)));
    Area { lon, lat }
}

/// Moves a cell one column (`axis == ODD`, `forward` = east) or one row
/// (`axis == EVEN`, `forward` = north), wrapping around the world.
fn move_cell(cell: Cell, axis: u64, forward: bool) -> Cell {
    let width = 64 - 2 * u32::from(cell.step);
    let (moving, fixed) = (cell.bits & axis, cell.bits & !axis);
    // Filling the other axis' bits with ones lets the carry ripple through.
    let fill = !axis >> width;
    let moved = if forward {
        moving.wrapping_add(fill + 1)
    } else {
        (moving | fill).wrapping_sub(fill + 1)
    };
    Cell {
        bits: (moved & (axis >> width)) | fixed,
        step: cell.step,
    }
}

// ---- Scores and coordinates ----

/// Why a longitude/latitude pair is rejected, as Redis words it
/// (`%f` formatting: six decimals, `inf`, `-nan`...).
fn lonlat_error(lon: f64, lat: f64) -> String {
    format!(
        "ERR invalid longitude,latitude pair {},{}",
        c_fixed(lon, 6),
        c_fixed(lat, 6)
    )
}

/// Checks a GEOADD / FROMLONLAT / GEORADIUS pair: longitude within
/// -180..=180 and latitude within ±85.05112878, else Redis's error text,
/// e.g. `ERR invalid longitude,latitude pair 181.000000,0.000000`.
/// (The caller parses the numbers as Redis does and rejects NaN with its
/// own "not a valid float" error before this; NaN is rejected here too.)
pub fn check_lonlat(lon: f64, lat: f64) -> Result<(), String> {
    // `contains` is false for NaN, so NaN is rejected too.
    if (LON_MIN..=LON_MAX).contains(&lon) && (LAT_MIN..=LAT_MAX).contains(&lat) {
        Ok(())
    } else {
        Err(lonlat_error(lon, lat))
    }
}

/// The hash GEOADD stores for a point: the 52-bit interleaved hash (step
/// 26). A coordinate exactly on its upper limit carries into bit 52/53, as
/// in Redis (e.g. longitude 180). The sorted-set score is this value
/// converted to `f64` (`bits as f64`, which rounds the rare values above
/// 2^53 exactly as Redis's ZADD parsing does). Errors as [`check_lonlat`].
pub fn encode(lon: f64, lat: f64) -> Result<u64, String> {
    check_lonlat(lon, lat)?;
    encode_cell(LON_SPAN, LAT_SPAN, lon, lat, STEP_MAX)
        .map(|c| c.bits)
        .ok_or_else(|| lonlat_error(lon, lat))
}

/// The hash bits Redis reads out of a sorted-set score: the C cast
/// `(uint64_t)score` as compiled for x86-64 (truncation; negative values
/// wrap through `int64_t`; `+inf` and values ≥ 2^64 give 0; `-inf` gives
/// 2^63). Integral scores below 2^53 come back unchanged.
pub fn score_bits(score: f64) -> u64 {
    const TWO_63: f64 = 9_223_372_036_854_775_808.0;
    if score >= TWO_63 {
        (cvtt_i64(score - TWO_63) as u64) ^ (1 << 63)
    } else {
        cvtt_i64(score) as u64
    }
}

/// The WITHHASH integer for a score: the C conversion `(long long)score`
/// on x86-64 (truncation; NaN or out of range gives `i64::MIN`).
pub fn hash_int(score: f64) -> i64 {
    cvtt_i64(score)
}

/// `cvttsd2si`: truncate, with the "integer indefinite" value for NaN and
/// out-of-range inputs.
fn cvtt_i64(x: f64) -> i64 {
    const TWO_63: f64 = 9_223_372_036_854_775_808.0;
    // `contains` is false for NaN too.
    if !(-TWO_63..TWO_63).contains(&x) {
        i64::MIN
    } else {
        x as i64
    }
}

/// Centre (longitude, latitude) of the step-26 cell of `bits`, clamped to
/// the accepted limits: what GEOPOS, WITHCOORD, GEODIST and FROMMEMBER use.
/// For a sorted-set score use `decode(score_bits(score))`.
pub fn decode(bits: u64) -> (f64, f64) {
    let area = decode_cell(Cell {
        bits,
        step: STEP_MAX,
    });
    let lon = ((area.lon.min + area.lon.max) / 2.0).clamp(LON_MIN, LON_MAX);
    let lat = ((area.lat.min + area.lat.max) / 2.0).clamp(LAT_MIN, LAT_MAX);
    (lon, lat)
}

/// The 11-character GEOHASH string of a score's bits: the decoded centre
/// re-encoded over the standard -180..180 / -90..90 ranges (step 26, 52
/// bits, i.e. ten base-32 characters) followed by a literal `'0'`.
pub fn hash_string(bits: u64) -> String {
    let (lon, lat) = decode(bits);
    // The decoded centre is always inside the limits, so this encodes.
    let hash = encode_cell(LON_SPAN, STD_LAT_SPAN, lon, lat, STEP_MAX).map_or(0, |c| c.bits);
    let mut out = String::with_capacity(11);
    for i in 0..10 {
        let idx = (hash >> (52 - (i + 1) * 5)) & 0x1f;
        out.push(char::from(GEOHASH_ALPHABET[idx as usize]));
    }
    out.push('0');
    out
}

// ---- Distances and units ----

/// Distance in metres along a meridian (Redis's shortcut when the
/// longitudes are equal): `R * |lat2 - lat1|` in radians.
fn lat_distance(lat1: f64, lat2: f64) -> f64 {
    EARTH_RADIUS_M * (deg_rad(lat2) - deg_rad(lat1)).abs()
}

/// Great-circle distance in metres between two points given in degrees
/// (Redis's haversine with [`EARTH_RADIUS_M`]; when the longitude term is
/// exactly zero it takes the meridian shortcut). Like Redis it yields NaN
/// if rounding pushes the haversine term of near-antipodes past 1.
pub fn distance(lon1: f64, lat1: f64, lon2: f64, lat2: f64) -> f64 {
    let v = ((deg_rad(lon2) - deg_rad(lon1)) / 2.0).sin();
    if v == 0.0 {
        return lat_distance(lat1, lat2);
    }
    let lat1r = deg_rad(lat1);
    let lat2r = deg_rad(lat2);
    let u = ((lat2r - lat1r) / 2.0).sin();
    let a = u * u + lat1r.cos() * lat2r.cos() * v * v;
    2.0 * EARTH_RADIUS_M * a.sqrt().asin()
}

/// Metres per unit for a unit argument (`m`, `km`, `ft`, `mi`, any case),
/// `None` for anything else (reply [`UNIT_ERR`]). Like Redis's `strcasecmp`
/// the argument is read up to its first NUL byte.
pub fn unit_factor(unit: &[u8]) -> Option<f64> {
    let end = unit.iter().position(|&b| b == 0).unwrap_or(unit.len());
    let unit = &unit[..end];
    [
        (&b"m"[..], 1.0),
        (b"km", 1000.0),
        (b"ft", 0.3048),
        (b"mi", 1609.34),
    ]
    .iter()
    .find(|(name, _)| unit.eq_ignore_ascii_case(name))
    .map(|&(_, f)| f)
}

// ---- Search ----

/// A search shape, with sizes in the user's unit and `unit` its metres per
/// unit (from [`unit_factor`]); Redis keeps them apart and the rounding of
/// some intermediate values depends on it. Sizes are non-negative (the
/// caller rejects negative ones with Redis's errors).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Shape {
    /// BYRADIUS / GEORADIUS: a circle of `radius` units.
    Radius {
        /// Radius, in units.
        radius: f64,
        /// Metres per unit.
        unit: f64,
    },
    /// BYBOX: a `width` × `height` box (units), axis-aligned on the centre.
    Box {
        /// Full east-west size, in units.
        width: f64,
        /// Full north-south size, in units.
        height: f64,
        /// Metres per unit.
        unit: f64,
    },
}

impl Shape {
    /// Metres per unit: divide a distance in metres by this for WITHDIST
    /// and STOREDIST.
    pub fn unit(&self) -> f64 {
        match *self {
            Shape::Radius { unit, .. } | Shape::Box { unit, .. } => unit,
        }
    }
}

/// Redis's first guess of the cell size (bits per coordinate) for a search
/// of the given radius in metres at the given latitude.
fn estimate_step(range_m: f64, lat: f64) -> u8 {
    if range_m == 0.0 {
        return STEP_MAX;
    }
    let mut range = range_m;
    let mut step: i32 = 1;
    // (`range > 0` only guards against negative sizes, which callers reject.)
    while range < MERCATOR_MAX && range > 0.0 {
        range *= 2.0;
        step += 1;
    }
    step -= 2;
    if lat.abs() > 66.0 {
        step -= 1;
        if lat.abs() > 80.0 {
            step -= 1;
        }
    }
    step.clamp(1, i32::from(STEP_MAX)) as u8
}

/// The nine cells of a search, in visiting order (centre, N, S, E, W, NE,
/// NW, SE, SW), excluded ones set to [`Cell::NONE`].
fn search_cells(lon: f64, lat: f64, shape: &Shape) -> Option<[Cell; 9]> {
    // Bounding box of the shape, in degrees.
    let (half_h, half_w, unit) = match *shape {
        Shape::Radius { radius, unit } => (unit * radius, unit * radius, unit),
        Shape::Box {
            width,
            height,
            unit,
        } => (unit * (height / 2.0), unit * (width / 2.0), unit),
    };
    let lat_delta = rad_deg(half_h / EARTH_RADIUS_M);
    let lon_delta_top = rad_deg(half_w / EARTH_RADIUS_M / deg_rad(lat + lat_delta).cos());
    let lon_delta_bottom = rad_deg(half_w / EARTH_RADIUS_M / deg_rad(lat - lat_delta).cos());
    // The box is widest on its side nearer to the equator.
    let lon_delta = if lat < 0.0 {
        lon_delta_bottom
    } else {
        lon_delta_top
    };
    let (min_lon, max_lon) = (lon - lon_delta, lon + lon_delta);
    let (min_lat, max_lat) = (lat - lat_delta, lat + lat_delta);

    let radius_m = match *shape {
        Shape::Radius { radius, .. } => radius,
        Shape::Box { width, height, .. } => {
            ((width / 2.0) * (width / 2.0) + (height / 2.0) * (height / 2.0)).sqrt()
        }
    } * unit;

    let mut step = estimate_step(radius_m, lat);
    let mut cells = nine_cells(encode_cell(LON_SPAN, LAT_SPAN, lon, lat, step)?);

    // A cell too small for the shape on some side: use cells twice as big.
    let too_small = decode_cell(cells[N]).lat.max < max_lat
        || decode_cell(cells[S]).lat.min > min_lat
        || decode_cell(cells[E]).lon.max < max_lon
        || decode_cell(cells[W]).lon.min > min_lon;
    if step > 1 && too_small {
        step -= 1;
        cells = nine_cells(encode_cell(LON_SPAN, LAT_SPAN, lon, lat, step)?);
    }

    // Drop the rows/columns of neighbours the shape cannot reach.
    if step >= 2 {
        let area = decode_cell(cells[0]);
        let mut clear = |side: [usize; 3]| side.iter().for_each(|&i| cells[i] = Cell::NONE);
        if area.lat.min < min_lat {
            clear([S, SW, SE]);
        }
        if area.lat.max > max_lat {
            clear([N, NE, NW]);
        }
        if area.lon.min < min_lon {
            clear([W, SW, NW]);
        }
        if area.lon.max > max_lon {
            clear([E, SE, NE]);
        }
    }
    Some(cells)
}

// Positions in the visiting order of the nine cells.
const N: usize = 1;
const S: usize = 2;
const E: usize = 3;
const W: usize = 4;
const NE: usize = 5;
const NW: usize = 6;
const SE: usize = 7;
const SW: usize = 8;

/// A cell and its eight neighbours, in visiting order.
fn nine_cells(c: Cell) -> [Cell; 9] {
    let (east, west) = (move_cell(c, ODD, true), move_cell(c, ODD, false));
    let north = |c| move_cell(c, EVEN, true);
    let south = |c| move_cell(c, EVEN, false);
    [
        c,
        north(c),
        south(c),
        east,
        west,
        north(east),
        north(west),
        south(east),
        south(west),
    ]
}

/// The score ranges a search scans, in Redis's visiting order: the centre
/// cell, then N, S, E, W, NE, NW, SE, SW, skipping the neighbours Redis
/// excludes (rows/columns the shape's bounding box does not reach) and a
/// neighbour equal to the one scanned just before it (which happens only
/// with the coarsest cells, where N = S, E = W and the diagonals coincide).
///
/// Each `(min, max)` selects the scores `min <= score < max` (min
/// inclusive, max exclusive), compared as `f64`, visited in sorted-set
/// order (score, then member bytes). The bounds are the `u64` cell limits
/// converted to `f64` as Redis does. The centre must pass
/// [`check_lonlat`]; otherwise the result is empty.
///
/// Like Redis, members stored exactly on longitude 180 or latitude
/// 85.05112878 (whose scores carry past 52 bits) are only reachable from a
/// centre whose own cell carries the same way; other searches miss them.
pub fn search_ranges(lon: f64, lat: f64, shape: &Shape) -> Vec<(f64, f64)> {
    let Some(cells) = search_cells(lon, lat, shape) else {
        return Vec::new();
    };
    let mut out = Vec::with_capacity(9);
    let mut last = 0;
    for (i, cell) in cells.iter().enumerate() {
        if cell.is_none() || (last != 0 && *cell == cells[last]) {
            continue;
        }
        let (min, max) = cell.score_range();
        out.push((min as f64, max as f64));
        last = i;
    }
    out
}

/// A point found by a search.
#[derive(Clone, Debug, PartialEq)]
pub struct Hit<M> {
    /// The sorted-set member.
    pub member: M,
    /// Its score as stored (WITHHASH prints [`hash_int`] of it; GEOSEARCHSTORE
    /// without STOREDIST stores it).
    pub score: f64,
    /// Decoded longitude (WITHCOORD).
    pub lon: f64,
    /// Decoded latitude (WITHCOORD).
    pub lat: f64,
    /// Distance from the centre in metres (WITHDIST prints
    /// `fmt_dist(dist_m / shape.unit())`).
    pub dist_m: f64,
}

/// Whether the member with this score lies in the shape around
/// (`lon`, `lat`): `Some((distance_m, member_lon, member_lat))` if so.
/// Circle: distance ≤ radius. Box: north-south distance ≤ height/2, then
/// east-west distance measured along the member's latitude ≤ width/2;
/// the returned distance is the straight great-circle one. A NaN distance
/// (possible in principle for exact antipodes) counts as inside, as in
/// Redis.
pub fn within(lon: f64, lat: f64, shape: &Shape, score: f64) -> Option<(f64, f64, f64)> {
    let (plon, plat) = decode(score_bits(score));
    let dist = match *shape {
        Shape::Radius { radius, unit } => {
            let d = distance(lon, lat, plon, plat);
            if d > radius * unit {
                return None;
            }
            d
        }
        Shape::Box {
            width,
            height,
            unit,
        } => {
            if lat_distance(plat, lat) > height * unit / 2.0 {
                return None;
            }
            if distance(plon, plat, lon, plat) > width * unit / 2.0 {
                return None;
            }
            distance(lon, lat, plon, plat)
        }
    };
    Some((dist, plon, plat))
}

/// Requested order of search results.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Order {
    /// No ASC/DESC given.
    Unsorted,
    /// ASC.
    Asc,
    /// DESC.
    Desc,
}

/// Runs a whole search the way Redis does and returns the hits to reply
/// with (or store), already ordered and cut to COUNT.
///
/// `scan(min, max)` must yield `(score, member)` for every element with
/// `min <= score < max`, in sorted-set order (score, then member bytes); it
/// is called once per range of [`search_ranges`], in that order, and its
/// iterator may be dropped early. `count == 0` means no COUNT. With `any`
/// (COUNT n ANY) scanning stops as soon as `count` hits are found, in
/// visiting order; see [`finish`] for the ordering rules.
pub fn search<M, I, F>(
    lon: f64,
    lat: f64,
    shape: &Shape,
    order: Order,
    count: usize,
    any: bool,
    mut scan: F,
) -> Vec<Hit<M>>
where
    F: FnMut(f64, f64) -> I,
    I: IntoIterator<Item = (f64, M)>,
{
    let limit = if any { count } else { 0 };
    let full = |hits: &Vec<Hit<M>>| limit != 0 && hits.len() >= limit;
    let mut hits = Vec::new();
    for (min, max) in search_ranges(lon, lat, shape) {
        if full(&hits) {
            break;
        }
        for (score, member) in scan(min, max) {
            if let Some((dist_m, plon, plat)) = within(lon, lat, shape, score) {
                hits.push(Hit {
                    member,
                    score,
                    lon: plon,
                    lat: plat,
                    dist_m,
                });
            }
            if full(&hits) {
                break;
            }
        }
    }
    finish(&mut hits, order, count, any);
    hits
}

/// Orders and truncates collected hits as Redis does. COUNT without ANY
/// and without ASC/DESC sorts ascending. When everything found is
/// returned, the sort is glibc's `qsort` (a stable merge sort: equal
/// distances keep visiting order, for ASC and DESC alike); when COUNT
/// drops some, it is Redis's partial quicksort over the first `count`
/// positions (deterministic, but not stable). Either way the result is
/// the one Redis produces, ties included.
pub fn finish<M>(hits: &mut Vec<Hit<M>>, order: Order, count: usize, any: bool) {
    let order = match order {
        Order::Unsorted if count != 0 && !any => Order::Asc,
        order => order,
    };
    let keep = if count == 0 {
        hits.len()
    } else {
        hits.len().min(count)
    };
    let cmp = |a: &Hit<M>, b: &Hit<M>| {
        // Redis's comparator: anything not greater and not equal is less.
        let asc = a.dist_m.partial_cmp(&b.dist_m).unwrap_or(Ordering::Less);
        if order == Order::Desc {
            asc.reverse()
        } else {
            asc
        }
    };
    if order != Order::Unsorted {
        if keep == hits.len() {
            merge_sort(hits, &cmp);
        } else {
            let n = hits.len();
            partial_quicksort(hits, 0, n, 0, keep - 1, &cmp);
        }
    }
    hits.truncate(keep);
}

// ---- Reply formatting ----

/// C `%.<prec>f` of a double (glibc: exact value, ties to even; `inf`,
/// `-inf`, `nan`, `-nan`).
fn c_fixed(v: f64, prec: usize) -> String {
    if v.is_finite() {
        return format!("{v:.prec$}");
    }
    let sign = if v.is_sign_negative() { "-" } else { "" };
    format!("{sign}{}", if v.is_nan() { "nan" } else { "inf" })
}

/// GEODIST / WITHDIST text of a distance already divided by the unit's
/// metres, four decimals the way Redis 7.0 prints them: `d * 10000`
/// rounded to an integer (`llrint`: ties to even), then written with the
/// dot four digits from the right (e.g. `166.2742`, `0.0003`; zero and
/// values rounding to zero print `0.0000`). This can differ from `%.4f` in
/// the last digit when `d * 10000` rounds onto a half.
pub fn fmt_dist(d: f64) -> String {
    if d == 0.0 {
        return "0.0000".into();
    }
    // llrint on x86-64: NaN and out-of-range values give i64::MIN.
    let scaled = cvtt_i64((d * 10000.0).round_ties_even());
    let digits = format!("{:05}", scaled.unsigned_abs());
    let (int, frac) = digits.split_at(digits.len() - 4);
    let sign = if scaled < 0 { "-" } else { "" };
    format!("{sign}{int}.{frac}")
}

/// Redis's "human" long double text (`%.17Lf` of the value widened to long
/// double, trailing zeros and a trailing dot removed, `-0` printed as `0`),
/// as used by GEOPOS and WITHCOORD. Note it is 17 digits *after the point*,
/// not `%.17Lg`; widening a double to long double is exact, so formatting
/// the `f64` directly gives the same text.
pub fn fmt_human(v: f64) -> String {
    if v.is_nan() {
        return "nan".into(); // Redis prints NaN unsigned here
    }
    let mut s = c_fixed(v, 17);
    if s.contains('.') {
        let trimmed = s.trim_end_matches('0').trim_end_matches('.').len();
        s.truncate(trimmed);
    }
    if s == "-0" {
        s = "0".into();
    }
    s
}

/// GEOPOS / WITHCOORD text of a decoded coordinate: [`fmt_human`].
pub fn fmt_coord(v: f64) -> String {
    fmt_human(v)
}

#[cfg(test)]
#[path = "geo/tests.rs"]
mod tests;
