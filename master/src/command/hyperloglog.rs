//! HyperLogLog's commands (and GEO's, on sorted sets, when they come).

use super::spec::Spec;
use crate::cmd::pf;
use crate::cmd::spec::flag::*;
use crate::cmd::spec::{acl, at, cmd, key, ks, range, KeySpec};

/// PFCOUNT's key: RW, as it may store the count it computed.
const COUNTS: &[KeySpec] = &[key(ks::RW | ks::ACCESS, at(1), range(-1, 1, 0))];
/// PFMERGE's keys: the destination, then the sources.
const MERGES: &[KeySpec] = &[
    key(ks::RW | ks::ACCESS | ks::INSERT, at(1), range(0, 1, 0)),
    key(ks::RO | ks::ACCESS, at(2), range(-1, 1, 0)),
];
/// PFDEBUG's key, after the subcommand.
const DEBUGS: &[KeySpec] = &[key(ks::RW | ks::ACCESS, at(2), range(0, 1, 0))];
/// PFADD's key.
const ADDS: &[KeySpec] = &[key(ks::RW | ks::INSERT, at(1), range(0, 1, 0))];

/// PFADD, PFCOUNT, PFMERGE, PFDEBUG.
pub static TABLE: &[Spec] = &[
    cmd("pfadd", -2, WRITE | DENYOOM | FAST, acl::HYPERLOGLOG)
        .keys(ADDS)
        .doc(
            "hyperloglog",
            "2.8.9",
            "Adds elements to a HyperLogLog key. Creates the key if it doesn't exist.",
        )
        .parsed(pf::pfadd),
    // Redis flags PFCOUNT read-only; it runs on the write path to keep
    // the count it computed in the value, as Redis does.
    cmd("pfcount", -2, READONLY, acl::HYPERLOGLOG)
        .keys(COUNTS)
        .doc(
            "hyperloglog",
            "2.8.9",
            "Returns the approximated cardinality of the set(s) observed by the HyperLogLog key(s).",
        )
        .parsed(pf::pfcount),
    cmd("pfmerge", -2, WRITE | DENYOOM, acl::HYPERLOGLOG)
        .keys(MERGES)
        .doc(
            "hyperloglog",
            "2.8.9",
            "Merges one or more HyperLogLog values into a single key.",
        )
        .parsed(pf::pfmerge),
    cmd("pfdebug", 3, WRITE | DENYOOM | ADMIN, acl::HYPERLOGLOG)
        .keys(DEBUGS)
        .doc(
            "hyperloglog",
            "2.8.9",
            "Internal commands for debugging HyperLogLog values.",
        )
        .parsed(pf::pfdebug),
];
