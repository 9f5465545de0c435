//! GEO commands: GEOADD, GEODIST, GEOHASH, GEOPOS, GEOSEARCH,
//! GEOSEARCHSTORE, GEORADIUS, GEORADIUSBYMEMBER (and their `_RO` forms),
//! on sorted sets whose scores are Redis's 52-bit geohashes. The
//! geometry is [`super::geo`]'s; here are the arguments, the scans of the
//! sorted set and the replies, as redis-server 7.0 gives them.

use bytes::Bytes;
use rocksync_protocol::Reply;

use super::geo::{self, Hit, Order, Shape};
use super::zset::score_of;
use super::{float_arg, int_arg, tri, typed, ReadCtx, View, WriteCtx, WriteOp, SYNTAX};
use crate::error::Result;
use crate::store::keys::{self, Kind, Meta};
use crate::store::Cf;

/// GEOADD key [NX|XX] [CH] longitude latitude member [...]: ZADD with
/// the members' geohashes.
pub(crate) fn geoadd(a: &[Bytes]) -> std::result::Result<Box<dyn WriteOp>, Reply> {
    let (mut at, mut nx, mut xx) = (2, false, false);
    while at < a.len() {
        match a[at].to_ascii_lowercase().as_slice() {
            b"nx" => nx = true,
            b"xx" => xx = true,
            b"ch" => {}
            _ => break,
        }
        at += 1;
    }
    if (a.len() - at) % 3 != 0 || (nx && xx) {
        return Err(Reply::error(SYNTAX));
    }
    let mut zadd: Vec<Bytes> = vec![Bytes::from_static(b"zadd")];
    zadd.extend(a[1..at].iter().cloned());
    for point in a[at..].chunks(3) {
        let (lon, lat) = (float_arg(&point[0])?, float_arg(&point[1])?);
        let bits = geo::encode(lon, lat).map_err(Reply::Error)?;
        zadd.push(Bytes::from(bits.to_string()));
        zadd.push(point[2].clone());
    }
    super::zset::zadd(&zadd)
}

/// A member's position, if it is there and decodes.
fn position(v: &impl View, key: &[u8], m: &Meta, member: &[u8]) -> Result<Option<(f64, f64)>> {
    Ok(score_of(v, key, m, member)?.map(|s| geo::decode(geo::score_bits(s))))
}

/// GEOPOS key [member ...].
pub(crate) fn geopos(c: &ReadCtx<'_>, a: &[Bytes]) -> Result<Reply> {
    let m = tri!(typed(c, &a[1], Kind::ZSet)?);
    let mut out = Vec::with_capacity(a.len() - 2);
    for member in &a[2..] {
        let pos = match &m {
            Some(m) => position(c, &a[1], m, member)?,
            None => None,
        };
        out.push(pos.map_or(Reply::NilArray, |(lon, lat)| coordinates(lon, lat)));
    }
    Ok(Reply::Array(out))
}

fn coordinates(lon: f64, lat: f64) -> Reply {
    Reply::Array(vec![
        Reply::DoubleText(geo::fmt_coord(lon)),
        Reply::DoubleText(geo::fmt_coord(lat)),
    ])
}

/// GEOHASH key [member ...].
pub(crate) fn geohash(c: &ReadCtx<'_>, a: &[Bytes]) -> Result<Reply> {
    let m = tri!(typed(c, &a[1], Kind::ZSet)?);
    let mut out = Vec::with_capacity(a.len() - 2);
    for member in &a[2..] {
        let score = match &m {
            Some(m) => score_of(c, &a[1], m, member)?,
            None => None,
        };
        out.push(score.map_or(Reply::Nil, |s| {
            Reply::Bulk(Bytes::from(geo::hash_string(geo::score_bits(s))))
        }));
    }
    Ok(Reply::Array(out))
}

/// GEODIST key member1 member2 [M|KM|FT|MI].
pub(crate) fn geodist(c: &ReadCtx<'_>, a: &[Bytes]) -> Result<Reply> {
    let unit = match a.get(4) {
        None => 1.0,
        Some(u) => match geo::unit_factor(u) {
            Some(f) => f,
            None => return Ok(Reply::error(geo::UNIT_ERR)),
        },
    };
    if a.len() > 5 {
        return Ok(Reply::error(SYNTAX));
    }
    let Some(m) = tri!(typed(c, &a[1], Kind::ZSet)?) else {
        return Ok(Reply::Nil);
    };
    let (Some((lon1, lat1)), Some((lon2, lat2))) = (
        position(c, &a[1], &m, &a[2])?,
        position(c, &a[1], &m, &a[3])?,
    ) else {
        return Ok(Reply::Nil);
    };
    let d = geo::distance(lon1, lat1, lon2, lat2) / unit;
    Ok(Reply::Bulk(Bytes::from(geo::fmt_dist(d))))
}

/// Which search command, as Redis's `georadiusGeneric` flags tell them.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Form {
    /// GEORADIUS[_RO] key lon lat radius unit ...
    Radius,
    /// GEORADIUSBYMEMBER[_RO] key member radius unit ...
    ByMember,
    /// GEOSEARCH key ...
    Search,
    /// GEOSEARCHSTORE dest src ...
    SearchStore,
}

/// What a search asks for.
struct Query {
    centre: Option<(f64, f64)>,
    shape: Option<Shape>,
    order: Order,
    count: usize,
    any: bool,
    with_dist: bool,
    with_hash: bool,
    with_coord: bool,
    store: Option<Bytes>,
    store_dist: bool,
}

/// A distance and its unit from `n unit` (`what` names the number in
/// Redis's error).
fn distance_arg(n: &[u8], unit: &[u8], what: &str) -> std::result::Result<(f64, f64), Reply> {
    let d = float_arg(n).map_err(|_| Reply::error(format!("ERR need numeric {what}")))?;
    if d < 0.0 {
        return Err(Reply::error("ERR radius cannot be negative"));
    }
    let unit = geo::unit_factor(unit).ok_or_else(|| Reply::error(geo::UNIT_ERR))?;
    Ok((d, unit))
}

fn lonlat_arg(lon: &[u8], lat: &[u8]) -> std::result::Result<(f64, f64), Reply> {
    let (lon, lat) = (float_arg(lon)?, float_arg(lat)?);
    geo::check_lonlat(lon, lat).map_err(Reply::Error)?;
    Ok((lon, lat))
}

/// The value, or return the refusal (from a function answering
/// `Result<Result<_, Reply>>`).
macro_rules! bail {
    ($e:expr) => {
        match $e {
            Ok(v) => v,
            Err(reply) => return Ok(Err(reply)),
        }
    };
}

/// Parse a search's arguments as Redis does (in its order, so the same
/// error wins); `m` is the source sorted set, if it exists.
fn parse(
    v: &impl View,
    a: &[Bytes],
    form: Form,
    no_store: bool,
    m: Option<&Meta>,
) -> Result<std::result::Result<Query, Reply>> {
    let src = &a[if form == Form::SearchStore { 2 } else { 1 }];
    let mut q = Query {
        centre: None,
        shape: None,
        order: Order::Unsorted,
        count: 0,
        any: false,
        with_dist: false,
        with_hash: false,
        with_coord: false,
        store: (form == Form::SearchStore).then(|| a[1].clone()),
        store_dist: false,
    };
    let base = match form {
        Form::Radius => {
            q.centre = Some(bail!(lonlat_arg(&a[2], &a[3])));
            let (radius, unit) = bail!(distance_arg(&a[4], &a[5], "radius"));
            q.shape = Some(Shape::Radius { radius, unit });
            6
        }
        Form::ByMember => {
            if let Some(m) = m {
                match position(v, src, m, &a[2])? {
                    Some(p) => q.centre = Some(p),
                    None => {
                        return Ok(Err(Reply::error(
                            "ERR could not decode requested zset member",
                        )))
                    }
                }
                let (radius, unit) = bail!(distance_arg(&a[3], &a[4], "radius"));
                q.shape = Some(Shape::Radius { radius, unit });
            }
            5
        }
        Form::Search => 2,
        Form::SearchStore => 3,
    };
    let search = matches!(form, Form::Search | Form::SearchStore);
    let (mut from_member, mut from_lonlat, mut by_radius, mut by_box) =
        (false, false, false, false);
    let mut i = base;
    while i < a.len() {
        let left = a.len() - i - 1;
        match a[i].to_ascii_lowercase().as_slice() {
            b"withdist" => q.with_dist = true,
            b"withhash" => q.with_hash = true,
            b"withcoord" => q.with_coord = true,
            b"any" => q.any = true,
            b"asc" => q.order = Order::Asc,
            b"desc" => q.order = Order::Desc,
            b"count" if left >= 1 => {
                let n = bail!(int_arg(&a[i + 1]));
                if n <= 0 {
                    return Ok(Err(Reply::error("ERR COUNT must be > 0")));
                }
                q.count = n as usize;
                i += 1;
            }
            w @ (b"store" | b"storedist") if left >= 1 && !no_store && !search => {
                q.store = Some(a[i + 1].clone());
                q.store_dist = w == b"storedist";
                i += 1;
            }
            b"storedist" if form == Form::SearchStore => q.store_dist = true,
            b"frommember" if left >= 1 && search && !from_lonlat => {
                if let Some(m) = m {
                    match position(v, src, m, &a[i + 1])? {
                        Some(p) => q.centre = Some(p),
                        None => {
                            return Ok(Err(Reply::error(
                                "ERR could not decode requested zset member",
                            )))
                        }
                    }
                }
                from_member = true;
                i += 1;
            }
            b"fromlonlat" if left >= 2 && search && !from_member => {
                q.centre = Some(bail!(lonlat_arg(&a[i + 1], &a[i + 2])));
                from_lonlat = true;
                i += 2;
            }
            b"byradius" if left >= 2 && search && !by_box => {
                let (radius, unit) = bail!(distance_arg(&a[i + 1], &a[i + 2], "radius"));
                q.shape = Some(Shape::Radius { radius, unit });
                by_radius = true;
                i += 2;
            }
            b"bybox" if left >= 3 && search && !by_radius => {
                let width =
                    bail!(float_arg(&a[i + 1]).map_err(|_| Reply::error("ERR need numeric width")));
                let height = bail!(
                    float_arg(&a[i + 2]).map_err(|_| Reply::error("ERR need numeric height"))
                );
                if width < 0.0 || height < 0.0 {
                    return Ok(Err(Reply::error("ERR height or width cannot be negative")));
                }
                let Some(unit) = geo::unit_factor(&a[i + 3]) else {
                    return Ok(Err(Reply::error(geo::UNIT_ERR)));
                };
                q.shape = Some(Shape::Box {
                    width,
                    height,
                    unit,
                });
                by_box = true;
                i += 3;
            }
            _ => return Ok(Err(Reply::error(SYNTAX))),
        }
        i += 1;
    }
    let name = String::from_utf8_lossy(&a[0]).into_owned();
    if q.store.is_some() && (q.with_dist || q.with_hash || q.with_coord) {
        let what = if form == Form::SearchStore {
            "GEOSEARCHSTORE"
        } else {
            "STORE option in GEORADIUS"
        };
        return Ok(Err(Reply::error(format!(
            "ERR {what} is not compatible with WITHDIST, WITHHASH and WITHCOORD options"
        ))));
    }
    if search && !(from_member || from_lonlat) {
        return Ok(Err(Reply::error(format!(
            "ERR exactly one of FROMMEMBER or FROMLONLAT can be specified for {name}"
        ))));
    }
    if search && !(by_radius || by_box) {
        return Ok(Err(Reply::error(format!(
            "ERR exactly one of BYRADIUS and BYBOX can be specified for {name}"
        ))));
    }
    if q.any && q.count == 0 {
        return Ok(Err(Reply::error(
            "ERR the ANY argument requires COUNT argument",
        )));
    }
    Ok(Ok(q))
}

/// A search's result: a reply, or what to store where.
enum Outcome {
    Reply(Reply),
    Store(Bytes, Vec<(Bytes, f64)>),
}

/// Run a search over the sorted set it names.
fn search(v: &impl View, a: &[Bytes], form: Form, no_store: bool) -> Result<Outcome> {
    let src = &a[if form == Form::SearchStore { 2 } else { 1 }];
    let m = match typed(v, src, Kind::ZSet)? {
        Ok(m) => m,
        Err(e) => return Ok(Outcome::Reply(e)),
    };
    let q = match parse(v, a, form, no_store, m.as_ref())? {
        Ok(q) => q,
        Err(e) => return Ok(Outcome::Reply(e)),
    };
    let (Some(m), Some((lon, lat)), Some(shape)) = (m, q.centre, q.shape) else {
        // No such key: nothing found (a store empties its destination).
        return Ok(match q.store {
            Some(dst) => Outcome::Store(dst, Vec::new()),
            None => Outcome::Reply(Reply::Array(Vec::new())),
        });
    };
    let prefix = keys::sub_prefix(m.owner(src), m.version);
    let mut failed = None;
    let hits = geo::search(lon, lat, &shape, q.order, q.count, q.any, |min, max| {
        let mut found: Vec<(f64, Bytes)> = Vec::new();
        let mut start = prefix.clone();
        start.extend_from_slice(&keys::sortable_score(min));
        let scanned = v.scan(Cf::ZScore, &prefix, &start, &mut |k, _| {
            let rest = &k[prefix.len()..];
            match keys::score_from_sortable(&rest[..8.min(rest.len())]) {
                Some(score) if score < max => {
                    found.push((score, Bytes::copy_from_slice(&rest[8..])));
                    true
                }
                _ => false,
            }
        });
        if let Err(e) = scanned {
            failed.get_or_insert(e);
        }
        found
    });
    if let Some(e) = failed {
        return Err(e);
    }
    let unit = shape.unit();
    if let Some(dst) = q.store {
        let items = hits
            .into_iter()
            .map(|h| {
                let score = if q.store_dist {
                    h.dist_m / unit
                } else {
                    h.score
                };
                (h.member, score)
            })
            .collect();
        return Ok(Outcome::Store(dst, items));
    }
    let plain = !(q.with_dist || q.with_hash || q.with_coord);
    let reply = hits
        .into_iter()
        .map(|h: Hit<Bytes>| {
            if plain {
                return Reply::Bulk(h.member);
            }
            let mut item = vec![Reply::Bulk(h.member)];
            if q.with_dist {
                item.push(Reply::Bulk(Bytes::from(geo::fmt_dist(h.dist_m / unit))));
            }
            if q.with_hash {
                item.push(Reply::Integer(geo::hash_int(h.score)));
            }
            if q.with_coord {
                item.push(coordinates(h.lon, h.lat));
            }
            Reply::Array(item)
        })
        .collect();
    Ok(Outcome::Reply(Reply::Array(reply)))
}

fn read_search(c: &ReadCtx<'_>, a: &[Bytes], form: Form) -> Result<Reply> {
    Ok(match search(c, a, form, true)? {
        Outcome::Reply(r) => r,
        // (the read forms take no STORE)
        Outcome::Store(..) => Reply::error(SYNTAX),
    })
}

/// GEOSEARCH key FROMMEMBER m | FROMLONLAT lon lat, BYRADIUS r unit |
/// BYBOX w h unit, [ASC|DESC] [COUNT n [ANY]] [WITHCOORD] [WITHDIST]
/// [WITHHASH].
pub(crate) fn geosearch(c: &ReadCtx<'_>, a: &[Bytes]) -> Result<Reply> {
    read_search(c, a, Form::Search)
}

/// GEORADIUS_RO key lon lat radius unit [options].
pub(crate) fn georadius_ro(c: &ReadCtx<'_>, a: &[Bytes]) -> Result<Reply> {
    read_search(c, a, Form::Radius)
}

/// GEORADIUSBYMEMBER_RO key member radius unit [options].
pub(crate) fn georadiusbymember_ro(c: &ReadCtx<'_>, a: &[Bytes]) -> Result<Reply> {
    read_search(c, a, Form::ByMember)
}

/// A search that may store (GEORADIUS[BYMEMBER] with STORE, and
/// GEOSEARCHSTORE): on the write path.
struct StoringSearch {
    args: Vec<Bytes>,
    form: Form,
}

impl WriteOp for StoringSearch {
    fn execute(&self, c: &mut WriteCtx<'_>) -> Result<Reply> {
        match search(c, &self.args, self.form, false)? {
            Outcome::Reply(r) => Ok(r),
            Outcome::Store(dst, items) => super::zrange::store_items(c, &dst, &items),
        }
    }
}

fn storing(a: &[Bytes], form: Form) -> std::result::Result<Box<dyn WriteOp>, Reply> {
    Ok(Box::new(StoringSearch {
        args: a.to_vec(),
        form,
    }))
}

/// GEORADIUS key lon lat radius unit [options] [STORE k|STOREDIST k].
pub(crate) fn georadius(a: &[Bytes]) -> std::result::Result<Box<dyn WriteOp>, Reply> {
    storing(a, Form::Radius)
}

/// GEORADIUSBYMEMBER key member radius unit [options] [STORE k|STOREDIST k].
pub(crate) fn georadiusbymember(a: &[Bytes]) -> std::result::Result<Box<dyn WriteOp>, Reply> {
    storing(a, Form::ByMember)
}

/// GEOSEARCHSTORE dst src ... [STOREDIST].
pub(crate) fn geosearchstore(a: &[Bytes]) -> std::result::Result<Box<dyn WriteOp>, Reply> {
    storing(a, Form::SearchStore)
}
