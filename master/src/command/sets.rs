//! The set commands.

use super::spec::Spec;
use crate::cmd::set;
use crate::cmd::spec::flag::*;
use crate::cmd::spec::{acl, at, cmd, fields, key, ks, range, shape};
use crate::store::keys::Kind;

/// The set commands.
pub static TABLE: &[Spec] = &[
    cmd("sadd", -3, WRITE | DENYOOM | FAST, acl::SET)
        .keys(shape::INSERTS)
        .fields(Kind::Set, fields::ALL)
        .doc("set", "1.0.0", "Adds members to a set.")
        .parsed(set::sadd),
    cmd("srem", -3, WRITE | FAST, acl::SET)
        .keys(shape::DELETES)
        .fields(Kind::Set, fields::ALL)
        .doc("set", "1.0.0", "Removes members from a set.")
        .parsed(set::srem),
    cmd("smove", 4, WRITE | FAST, acl::SET)
        .keys(shape::MOVES)
        .doc("set", "1.0.0", "Moves a member from one set to another.")
        .parsed(set::smove),
    cmd("smembers", 2, READONLY, acl::SET)
        .keys(shape::READS)
        .tips(&["nondeterministic_output_order"])
        .doc("set", "1.0.0", "Returns every member of a set.")
        .read(set::smembers),
    cmd("sismember", 3, READONLY | FAST | SMALL_READ, acl::SET)
        .keys(shape::PEEKS)
        .doc("set", "1.0.0", "Tells whether a value belongs to a set.")
        .read(set::sismember),
    cmd("smismember", -3, READONLY | FAST, acl::SET)
        .keys(shape::READS)
        .doc(
            "set",
            "6.2.0",
            "Tells for each of several values whether it belongs to a set.",
        )
        .read(set::smismember),
    cmd(
        "scard",
        2,
        READONLY | FAST | SINGLE_READ | SMALL_READ,
        acl::SET,
    )
    .keys(shape::PEEKS)
    .doc("set", "1.0.0", "Counts the members of a set.")
    .read(set::scard),
    cmd("spop", -2, WRITE | FAST, acl::SET)
        .keys(shape::POPS)
        .tips(&["nondeterministic_output"])
        .doc(
            "set",
            "1.0.0",
            "Removes and returns random members of a set.",
        )
        .parsed(set::spop),
    cmd("srandmember", -2, READONLY, acl::SET)
        .keys(shape::READS)
        .tips(&["nondeterministic_output"])
        .doc(
            "set",
            "1.0.0",
            "Returns random members of a set without removing them.",
        )
        .read(set::srandmember),
    cmd("sscan", -3, READONLY, acl::SET)
        .keys(shape::READS)
        .tips(&["nondeterministic_output"])
        .doc(
            "set",
            "2.8.0",
            "Walks the members of a set incrementally with a cursor.",
        )
        .read(set::sscan),
    cmd("sinter", -2, READONLY, acl::SET)
        .keys(shape::READS_ALL)
        .tips(&["nondeterministic_output_order"])
        .doc("set", "1.0.0", "Returns the intersection of several sets.")
        .read(set::sinter),
    cmd("sunion", -2, READONLY, acl::SET)
        .keys(shape::READS_ALL)
        .tips(&["nondeterministic_output_order"])
        .doc("set", "1.0.0", "Returns the union of several sets.")
        .read(set::sunion),
    cmd("sdiff", -2, READONLY, acl::SET)
        .keys(shape::READS_ALL)
        .tips(&["nondeterministic_output_order"])
        .doc(
            "set",
            "1.0.0",
            "Returns the members of the first set missing from the others.",
        )
        .read(set::sdiff),
    cmd("sintercard", -3, READONLY | MOVABLEKEYS, acl::SET)
        .keys(shape::READS_COUNTED)
        .doc(
            "set",
            "7.0.0",
            "Counts the members of the intersection of several sets.",
        )
        .read(set::sintercard),
    cmd("sinterstore", -3, WRITE | DENYOOM | BARRIER, acl::SET)
        .keys(&[
            key(ks::RW | ks::UPDATE, at(1), range(0, 1, 0)),
            key(ks::RO | ks::ACCESS, at(2), range(-1, 1, 0)),
        ])
        .doc(
            "set",
            "1.0.0",
            "Stores the intersection of several sets in a key.",
        )
        .parsed(set::sinterstore),
    cmd("sunionstore", -3, WRITE | DENYOOM | BARRIER, acl::SET)
        .keys(&[
            key(ks::OW | ks::UPDATE, at(1), range(0, 1, 0)),
            key(ks::RO | ks::ACCESS, at(2), range(-1, 1, 0)),
        ])
        .doc("set", "1.0.0", "Stores the union of several sets in a key.")
        .parsed(set::sunionstore),
    cmd("sdiffstore", -3, WRITE | DENYOOM | BARRIER, acl::SET)
        .keys(&[
            key(ks::OW | ks::UPDATE, at(1), range(0, 1, 0)),
            key(ks::RO | ks::ACCESS, at(2), range(-1, 1, 0)),
        ])
        .doc(
            "set",
            "1.0.0",
            "Stores the difference of several sets in a key.",
        )
        .parsed(set::sdiffstore),
];
