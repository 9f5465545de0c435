//! GEO's commands, on sorted sets of geohashes.

use super::spec::Spec;
use crate::cmd::geospatial as g;
use crate::cmd::spec::flag::*;
use crate::cmd::spec::{acl, at, cmd, key, keyword, ks, range, shape, KeySpec};

/// GEOADD's key.
const ADDS: &[KeySpec] = &[key(ks::RW | ks::UPDATE, at(1), range(0, 1, 0))];
/// GEOSEARCHSTORE's keys: the destination, then the source.
const SEARCH_STORES: &[KeySpec] = &[
    key(ks::OW | ks::UPDATE, at(1), range(0, 1, 0)),
    key(ks::RO | ks::ACCESS, at(2), range(0, 1, 0)),
];
/// GEORADIUS's keys: the source, and a STORE or STOREDIST destination
/// after its fixed arguments.
const RADIUS_STORES: &[KeySpec] = &[
    key(ks::RO | ks::ACCESS, at(1), range(0, 1, 0)),
    key(ks::OW | ks::UPDATE, keyword("STORE", 6), range(0, 1, 0)),
    key(ks::OW | ks::UPDATE, keyword("STOREDIST", 6), range(0, 1, 0)),
];
/// GEORADIUSBYMEMBER's keys, as GEORADIUS's one argument earlier.
const MEMBER_STORES: &[KeySpec] = &[
    key(ks::RO | ks::ACCESS, at(1), range(0, 1, 0)),
    key(ks::OW | ks::UPDATE, keyword("STORE", 5), range(0, 1, 0)),
    key(ks::OW | ks::UPDATE, keyword("STOREDIST", 5), range(0, 1, 0)),
];

/// GEOADD, GEODIST, GEOHASH, GEOPOS, GEOSEARCH[STORE], GEORADIUS[BYMEMBER][_RO].
pub static TABLE: &[Spec] = &[
    cmd("geoadd", -5, WRITE | DENYOOM, acl::GEO)
        .keys(ADDS)
        .doc("geo", "3.2.0", "Adds one or more members to a geospatial index. The key is created if it doesn't exist.")
        .parsed(g::geoadd),
    cmd("geodist", -4, READONLY, acl::GEO)
        .keys(shape::READS)
        .doc("geo", "3.2.0", "Returns the distance between two members of a geospatial index.")
        .read(g::geodist),
    cmd("geohash", -2, READONLY, acl::GEO)
        .keys(shape::READS)
        .doc("geo", "3.2.0", "Returns members from a geospatial index as geohash strings.")
        .read(g::geohash),
    cmd("geopos", -2, READONLY, acl::GEO)
        .keys(shape::READS)
        .doc("geo", "3.2.0", "Returns the longitude and latitude of members from a geospatial index.")
        .read(g::geopos),
    cmd("geosearch", -7, READONLY, acl::GEO)
        .keys(shape::READS)
        .doc("geo", "6.2.0", "Queries a geospatial index for members inside an area of a box or a circle.")
        .read(g::geosearch),
    cmd("geosearchstore", -8, WRITE | DENYOOM, acl::GEO)
        .keys(SEARCH_STORES)
        .doc("geo", "6.2.0", "Queries a geospatial index for members inside an area of a box or a circle, optionally stores the result.")
        .parsed(g::geosearchstore),
    cmd("georadius", -6, WRITE | DENYOOM | MOVABLEKEYS, acl::GEO)
        .keys(RADIUS_STORES)
        .doc("geo", "3.2.0", "Queries a geospatial index for members within a distance from a coordinate, optionally stores the result.")
        .parsed(g::georadius),
    cmd("georadius_ro", -6, READONLY, acl::GEO)
        .keys(shape::READS)
        .doc("geo", "3.2.10", "Returns members from a geospatial index that are within a distance from a coordinate.")
        .read(g::georadius_ro),
    cmd("georadiusbymember", -5, WRITE | DENYOOM | MOVABLEKEYS, acl::GEO)
        .keys(MEMBER_STORES)
        .doc("geo", "3.2.0", "Queries a geospatial index for members within a distance from a member, optionally stores the result.")
        .parsed(g::georadiusbymember),
    cmd("georadiusbymember_ro", -5, READONLY, acl::GEO)
        .keys(shape::READS)
        .doc("geo", "3.2.10", "Returns members from a geospatial index that are within a distance from a member.")
        .read(g::georadiusbymember_ro),
];
