//! The hash commands.

use super::spec::Spec;
use crate::cmd::hash;
use crate::cmd::spec::flag::*;
use crate::cmd::spec::{acl, cmd, fields, shape};
use crate::store::keys::Kind;

/// The hash commands.
pub static TABLE: &[Spec] = &[
    cmd("hset", -4, WRITE | DENYOOM | FAST, acl::HASH)
        .keys(shape::CHANGES)
        .fields(Kind::Hash, fields::PAIRS)
        .doc("hash", "2.0.0", "Sets one or more fields of a hash.")
        .parsed(hash::hset),
    cmd("hmset", -4, WRITE | DENYOOM | FAST, acl::HASH)
        .keys(shape::CHANGES)
        .fields(Kind::Hash, fields::PAIRS)
        .doc(
            "hash",
            "2.0.0",
            "Sets one or more fields of a hash and replies OK.",
        )
        .parsed(hash::hmset),
    cmd("hsetnx", 4, WRITE | DENYOOM | FAST, acl::HASH)
        .keys(shape::INSERTS)
        .fields(Kind::Hash, fields::FIRST)
        .doc(
            "hash",
            "2.0.0",
            "Sets a hash field only if it does not exist yet.",
        )
        .parsed(hash::hsetnx),
    cmd("hget", 3, READONLY | FAST, acl::HASH)
        .keys(shape::READS)
        .doc("hash", "2.0.0", "Returns the value of one hash field.")
        .read(hash::hget),
    cmd("hmget", -3, READONLY | FAST, acl::HASH)
        .keys(shape::READS)
        .doc(
            "hash",
            "2.0.0",
            "Returns the values of several hash fields.",
        )
        .read(hash::hmget),
    cmd("hdel", -3, WRITE | FAST, acl::HASH)
        .keys(shape::DELETES)
        .fields(Kind::Hash, fields::ALL)
        .doc("hash", "2.0.0", "Removes one or more fields from a hash.")
        .parsed(hash::hdel),
    cmd("hgetall", 2, READONLY, acl::HASH)
        .keys(shape::READS)
        .tips(&["nondeterministic_output_order"])
        .doc("hash", "2.0.0", "Returns every field and value of a hash.")
        .read(hash::hgetall),
    cmd("hkeys", 2, READONLY, acl::HASH)
        .keys(shape::READS)
        .tips(&["nondeterministic_output_order"])
        .doc("hash", "2.0.0", "Returns every field name of a hash.")
        .read(hash::hkeys),
    cmd("hvals", 2, READONLY, acl::HASH)
        .keys(shape::READS)
        .tips(&["nondeterministic_output_order"])
        .doc("hash", "2.0.0", "Returns every value of a hash.")
        .read(hash::hvals),
    cmd(
        "hlen",
        2,
        READONLY | FAST | SINGLE_READ | SMALL_READ,
        acl::HASH,
    )
    .keys(shape::PEEKS)
    .doc("hash", "2.0.0", "Counts the fields of a hash.")
    .read(hash::hlen),
    cmd("hstrlen", 3, READONLY | FAST | SMALL_READ, acl::HASH)
        .keys(shape::PEEKS)
        .doc(
            "hash",
            "3.2.0",
            "Returns the byte length of a hash field's value.",
        )
        .read(hash::hstrlen),
    cmd("hexists", 3, READONLY | FAST | SMALL_READ, acl::HASH)
        .keys(shape::PEEKS)
        .doc("hash", "2.0.0", "Tells whether a hash has a given field.")
        .read(hash::hexists),
    cmd("hincrby", 4, WRITE | DENYOOM | FAST, acl::HASH)
        .keys(shape::UPDATES)
        .fields(Kind::Hash, fields::FIRST)
        .doc("hash", "2.0.0", "Adds an integer amount to a hash field.")
        .parsed(hash::hincrby),
    cmd("hincrbyfloat", 4, WRITE | DENYOOM | FAST, acl::HASH)
        .keys(shape::UPDATES)
        .fields(Kind::Hash, fields::FIRST)
        .doc(
            "hash",
            "2.6.0",
            "Adds a floating-point amount to a hash field.",
        )
        .parsed(hash::hincrbyfloat),
    cmd("hscan", -3, READONLY, acl::HASH)
        .keys(shape::READS)
        .tips(&["nondeterministic_output"])
        .doc(
            "hash",
            "2.8.0",
            "Walks the fields of a hash incrementally with a cursor.",
        )
        .read(hash::hscan),
    cmd("hrandfield", -2, READONLY, acl::HASH)
        .keys(shape::READS)
        .tips(&["nondeterministic_output"])
        .doc(
            "hash",
            "6.2.0",
            "Returns random fields of a hash, optionally with values.",
        )
        .read(hash::hrandfield),
];
