//! GEO against redis-server: GEOADD's options and checks, GEODIST,
//! GEOHASH, GEOPOS, and GEOSEARCH / GEOSEARCHSTORE / GEORADIUS /
//! GEORADIUSBYMEMBER with every option, byte for byte in RESP2 and RESP3;
//! and thousands of random points searched from random centres, near the
//! poles and the antimeridian included, in Redis's own order.

use super::common::{InProc, RedisServer};
use super::scripting::assert_cases;
use super::{differs, Raw};

const CASES: &[&[&str]] = &[
    &[
        "geoadd",
        "Sicily",
        "13.361389",
        "38.115556",
        "Palermo",
        "15.087269",
        "37.502669",
        "Catania",
    ],
    &[
        "geoadd",
        "Sicily",
        "ch",
        "13.361389",
        "38.115556",
        "Palermo",
        "15.08",
        "37.50",
        "Catania",
        "13.5",
        "38.0",
        "Third",
    ],
    &["geoadd", "Sicily", "nx", "xx", "1", "1", "a"],
    &["geoadd", "Sicily", "1", "1"],
    &["geoadd", "Sicily", "181", "0", "bad"],
    &["geoadd", "Sicily", "x", "0", "bad"],
    &["geoadd", "Sicily", "0", "86", "bad"],
    &["zrange", "Sicily", "0", "-1", "withscores"],
    &["geodist", "Sicily", "Palermo", "Catania"],
    &["geodist", "Sicily", "Palermo", "Catania", "km"],
    &["geodist", "Sicily", "Palermo", "Catania", "mi"],
    &["geodist", "Sicily", "Palermo", "Catania", "ft"],
    &["geodist", "Sicily", "Palermo", "Catania", "xx"],
    &["geodist", "Sicily", "Palermo", "nope"],
    &["geodist", "nokey", "a", "b"],
    &["geodist", "Sicily", "Palermo", "Catania", "km", "x"],
    &["geohash", "Sicily", "Palermo", "Catania", "nope"],
    &["geohash", "nokey", "a"],
    &["geopos", "Sicily", "Palermo", "Catania", "nope"],
    &["geopos", "nokey", "a"],
    &[
        "geosearch",
        "Sicily",
        "fromlonlat",
        "15",
        "37",
        "byradius",
        "200",
        "km",
        "asc",
    ],
    &[
        "geosearch",
        "Sicily",
        "fromlonlat",
        "15",
        "37",
        "byradius",
        "200",
        "km",
        "withcoord",
        "withdist",
        "withhash",
    ],
    &[
        "geosearch",
        "Sicily",
        "frommember",
        "Palermo",
        "bybox",
        "400",
        "400",
        "km",
        "desc",
        "withdist",
    ],
    &[
        "geosearch",
        "Sicily",
        "frommember",
        "nope",
        "bybox",
        "400",
        "400",
        "km",
    ],
    &[
        "geosearch",
        "Sicily",
        "fromlonlat",
        "15",
        "37",
        "byradius",
        "200",
        "km",
        "count",
        "1",
    ],
    &[
        "geosearch",
        "Sicily",
        "fromlonlat",
        "15",
        "37",
        "byradius",
        "200",
        "km",
        "count",
        "1",
        "any",
    ],
    &[
        "geosearch",
        "Sicily",
        "fromlonlat",
        "15",
        "37",
        "byradius",
        "200",
        "km",
        "any",
    ],
    &[
        "geosearch",
        "Sicily",
        "fromlonlat",
        "15",
        "37",
        "byradius",
        "200",
        "km",
        "count",
        "0",
    ],
    &[
        "geosearch",
        "Sicily",
        "fromlonlat",
        "15",
        "37",
        "byradius",
        "-1",
        "km",
    ],
    &[
        "geosearch",
        "Sicily",
        "fromlonlat",
        "15",
        "37",
        "byradius",
        "x",
        "km",
    ],
    &[
        "geosearch",
        "Sicily",
        "fromlonlat",
        "15",
        "37",
        "bybox",
        "x",
        "1",
        "km",
    ],
    &[
        "geosearch",
        "Sicily",
        "fromlonlat",
        "15",
        "37",
        "bybox",
        "1",
        "-1",
        "km",
    ],
    &[
        "geosearch",
        "Sicily",
        "fromlonlat",
        "15",
        "37",
        "byradius",
        "1",
        "parsec",
    ],
    &["geosearch", "Sicily", "byradius", "1", "km", "asc"],
    &[
        "geosearch",
        "Sicily",
        "fromlonlat",
        "15",
        "37",
        "asc",
        "withdist",
    ],
    &[
        "geosearch",
        "Sicily",
        "fromlonlat",
        "15",
        "37",
        "frommember",
        "Palermo",
        "byradius",
        "1",
        "km",
    ],
    &[
        "geosearch",
        "Sicily",
        "fromlonlat",
        "15",
        "37",
        "byradius",
        "1",
        "km",
        "store",
        "x",
    ],
    &[
        "geosearch",
        "nokey",
        "fromlonlat",
        "15",
        "37",
        "byradius",
        "1",
        "km",
    ],
    &[
        "geosearch",
        "nokey",
        "frommember",
        "x",
        "byradius",
        "1",
        "km",
    ],
    &[
        "geosearchstore",
        "dst",
        "Sicily",
        "fromlonlat",
        "15",
        "37",
        "byradius",
        "200",
        "km",
    ],
    &["zrange", "dst", "0", "-1", "withscores"],
    &[
        "geosearchstore",
        "dst2",
        "Sicily",
        "fromlonlat",
        "15",
        "37",
        "byradius",
        "200",
        "km",
        "storedist",
    ],
    &["zrange", "dst2", "0", "-1", "withscores"],
    &[
        "geosearchstore",
        "dst",
        "Sicily",
        "fromlonlat",
        "15",
        "37",
        "byradius",
        "200",
        "km",
        "withdist",
    ],
    &[
        "geosearchstore",
        "dst",
        "nokey",
        "fromlonlat",
        "15",
        "37",
        "byradius",
        "200",
        "km",
    ],
    &["exists", "dst"],
    &[
        "georadius",
        "Sicily",
        "15",
        "37",
        "200",
        "km",
        "withdist",
        "withcoord",
        "asc",
    ],
    &[
        "georadius",
        "Sicily",
        "15",
        "37",
        "200",
        "km",
        "store",
        "g1",
    ],
    &["zrange", "g1", "0", "-1", "withscores"],
    &[
        "georadius",
        "Sicily",
        "15",
        "37",
        "200",
        "km",
        "storedist",
        "g2",
        "desc",
    ],
    &["zrange", "g2", "0", "-1", "withscores"],
    &[
        "georadius",
        "Sicily",
        "15",
        "37",
        "200",
        "km",
        "store",
        "g1",
        "withdist",
    ],
    &[
        "georadius_ro",
        "Sicily",
        "15",
        "37",
        "200",
        "km",
        "store",
        "g1",
    ],
    &[
        "georadius_ro",
        "Sicily",
        "15",
        "37",
        "200",
        "km",
        "count",
        "2",
        "desc",
    ],
    &[
        "georadiusbymember",
        "Sicily",
        "Palermo",
        "100",
        "km",
        "withdist",
    ],
    &["georadiusbymember", "Sicily", "nope", "100", "km"],
    &[
        "georadiusbymember",
        "nokey",
        "nope",
        "100",
        "km",
        "store",
        "g3",
    ],
    &["georadiusbymember_ro", "Sicily", "Catania", "100", "km"],
    &["georadius", "Sicily", "200", "37", "200", "km"],
    &["set", "str", "x"],
    &["geoadd", "str", "1", "1", "a"],
    &["geopos", "str", "a"],
    &[
        "geosearch",
        "str",
        "fromlonlat",
        "1",
        "1",
        "byradius",
        "1",
        "km",
    ],
    &[
        "geoadd",
        "poles",
        "180",
        "85.05112878",
        "ne",
        "-180",
        "-85.05112878",
        "sw",
        "0",
        "0",
        "origin",
    ],
    &["geopos", "poles", "ne", "sw", "origin"],
    &["geohash", "poles", "ne", "sw", "origin"],
    &[
        "geosearch",
        "poles",
        "fromlonlat",
        "0",
        "0",
        "byradius",
        "20000",
        "km",
        "asc",
        "withdist",
    ],
];

#[test]
fn geo_matches_redis_server_in_resp2() {
    assert_cases(CASES, "2");
}

#[test]
fn geo_matches_redis_server_in_resp3() {
    assert_cases(CASES, "3");
}

/// A small deterministic generator (the same points on both servers).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> f64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }
    fn range(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.next()
    }
}

/// Random points (clusters, duplicates, the limits) and random searches
/// of every shape and option: every reply equal, in Redis's order.
#[test]
fn random_geo_searches_match_redis_server() {
    let redis = RedisServer::start(&[]);
    let ours = InProc::start();
    let mut theirs = Raw::connect(("127.0.0.1", redis.port));
    let mut mine = Raw::connect(ours.addr);
    let mut rng = Lcg(7);
    let mut mismatches = Vec::new();
    let (mut compared, mut found) = (0, 0);
    let mut both = |args: Vec<String>| {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let (a, b) = (theirs.call_bytes(&args), mine.call_bytes(&args));
        if a.starts_with(b"*") && !a.starts_with(b"*0\r\n") {
            found += 1;
        }
        if let Some(d) = differs(&args.join(" "), &a, &b) {
            mismatches.push(d);
        }
        compared += 1;
    };
    for batch in 0..20 {
        let mut add = vec!["GEOADD".to_string(), "pts".to_string()];
        for i in 0..100 {
            let (lon, lat) = match i % 10 {
                // a cluster around a city, and the limits
                0..=3 => (rng.range(2.2, 2.5), rng.range(48.7, 49.0)),
                4 => (
                    rng.range(179.0, 180.0),
                    rng.range(-85.05112878, 85.05112878),
                ),
                5 => (rng.range(-180.0, -179.0), rng.range(80.0, 85.05112878)),
                _ => (
                    rng.range(-180.0, 180.0),
                    rng.range(-85.05112878, 85.05112878),
                ),
            };
            add.extend([format!("{lon}"), format!("{lat}"), format!("p{batch}-{i}")]);
        }
        both(add);
    }
    let units = ["m", "km", "mi", "ft"];
    for _ in 0..400 {
        let (lon, lat) = match rng.next() {
            x if x < 0.3 => (rng.range(2.0, 2.7), rng.range(48.5, 49.2)),
            x if x < 0.5 => (rng.range(178.0, 180.0), rng.range(-85.0, 85.0)),
            x if x < 0.6 => (rng.range(-180.0, 180.0), rng.range(80.0, 85.05)),
            _ => (rng.range(-180.0, 180.0), rng.range(-85.0, 85.0)),
        };
        let unit = units[(rng.next() * 4.0) as usize % 4];
        let size = 10f64.powf(rng.range(0.0, 7.0)) / if unit == "m" { 1.0 } else { 1000.0 };
        let mut cmd: Vec<String> = vec!["GEOSEARCH".into(), "pts".into()];
        if rng.next() < 0.2 {
            cmd.extend([
                "FROMMEMBER".into(),
                format!(
                    "p{}-{}",
                    (rng.next() * 20.0) as u32,
                    (rng.next() * 100.0) as u32
                ),
            ]);
        } else {
            cmd.extend(["FROMLONLAT".into(), format!("{lon}"), format!("{lat}")]);
        }
        if rng.next() < 0.5 {
            cmd.extend(["BYRADIUS".into(), format!("{size}"), unit.into()]);
        } else {
            let h = size * rng.range(0.2, 3.0);
            cmd.extend([
                "BYBOX".into(),
                format!("{size}"),
                format!("{h}"),
                unit.into(),
            ]);
        }
        match (rng.next() * 4.0) as u32 {
            0 => cmd.push("ASC".into()),
            1 => cmd.push("DESC".into()),
            _ => {}
        }
        if rng.next() < 0.3 {
            cmd.extend(["COUNT".into(), format!("{}", 1 + (rng.next() * 5.0) as u32)]);
            if rng.next() < 0.3 {
                cmd.push("ANY".into());
            }
        }
        for opt in ["WITHDIST", "WITHHASH", "WITHCOORD"] {
            if rng.next() < 0.3 {
                cmd.push(opt.into());
            }
        }
        both(cmd);
    }
    // The searches found things (not only empty replies and errors).
    assert!(
        found > 150,
        "only {found} of {compared} searches found points"
    );
    assert!(
        mismatches.is_empty(),
        "{} of {compared} differ:\n{}",
        mismatches.len(),
        mismatches.join("\n")
    );
}
