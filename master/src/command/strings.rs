//! The string and bitmap commands.

use super::spec::Spec;
use crate::cmd::spec::flag::*;
use crate::cmd::spec::{acl, at, cmd, key, ks, range, shape};
use crate::cmd::{bits, string};

/// The string and bitmap commands.
pub static TABLE: &[Spec] = &[
    cmd(
        "get",
        2,
        READONLY | FAST | SINGLE_READ | BATCHED_GET,
        acl::STRING,
    )
    .keys(shape::READS)
    .doc("string", "1.0.0", "Returns the string value of a key.")
    .read(string::get),
    cmd("set", -3, WRITE | DENYOOM, acl::STRING)
        .keys(&[key(
            ks::RW | ks::ACCESS | ks::UPDATE | ks::VARIABLE_FLAGS,
            at(1),
            range(0, 1, 0),
        )])
        .doc(
            "string",
            "1.0.0",
            "Stores a string value, with optional expiry and conditions.",
        )
        .parsed(string::set),
    cmd("mget", -2, READONLY | FAST, acl::STRING)
        .keys(shape::READS_ALL)
        .tips(&["request_policy:multi_shard"])
        .doc(
            "string",
            "1.0.0",
            "Returns the string values of several keys at once.",
        )
        .read(string::mget),
    cmd("mset", -3, WRITE | DENYOOM, acl::STRING)
        .keys(&[key(ks::OW | ks::UPDATE, at(1), range(-1, 2, 0))])
        .tips(&[
            "request_policy:multi_shard",
            "response_policy:all_succeeded",
        ])
        .doc("string", "1.0.1", "Stores several key-value pairs at once.")
        .parsed(string::mset),
    cmd("msetnx", -3, WRITE | DENYOOM, acl::STRING)
        .keys(&[key(ks::OW | ks::INSERT, at(1), range(-1, 2, 0))])
        .tips(&["request_policy:multi_shard", "response_policy:agg_min"])
        .doc(
            "string",
            "1.0.1",
            "Stores several key-value pairs only if none of the keys exist.",
        )
        .parsed(string::msetnx),
    cmd("setnx", 3, WRITE | DENYOOM | FAST, acl::STRING)
        .keys(&[key(ks::OW | ks::INSERT, at(1), range(0, 1, 0))])
        .doc(
            "string",
            "1.0.0",
            "Stores a string value only if the key does not exist.",
        )
        .parsed(string::setnx),
    cmd("setex", 4, WRITE | DENYOOM, acl::STRING)
        .keys(&[key(ks::OW | ks::UPDATE, at(1), range(0, 1, 0))])
        .doc(
            "string",
            "2.0.0",
            "Stores a string value with a lifetime in seconds.",
        )
        .parsed(string::setex),
    cmd("psetex", 4, WRITE | DENYOOM, acl::STRING)
        .keys(&[key(ks::OW | ks::UPDATE, at(1), range(0, 1, 0))])
        .doc(
            "string",
            "2.6.0",
            "Stores a string value with a lifetime in milliseconds.",
        )
        .parsed(string::psetex),
    cmd("getset", 3, WRITE | DENYOOM | FAST, acl::STRING)
        .keys(shape::UPDATES)
        .doc(
            "string",
            "1.0.0",
            "Stores a new string value and returns the old one.",
        )
        .parsed(string::getset),
    cmd("getdel", 2, WRITE | FAST, acl::STRING)
        .keys(shape::POPS)
        .doc(
            "string",
            "6.2.0",
            "Returns the string value of a key and deletes the key.",
        )
        .parsed(string::getdel),
    cmd("append", 3, WRITE | DENYOOM | FAST, acl::STRING)
        .keys(shape::INSERTS)
        .doc(
            "string",
            "2.0.0",
            "Adds a string to the end of a key's value.",
        )
        .parsed(string::append),
    cmd(
        "strlen",
        2,
        READONLY | FAST | SINGLE_READ | SMALL_READ,
        acl::STRING,
    )
    .keys(shape::PEEKS)
    .doc(
        "string",
        "2.2.0",
        "Returns the byte length of a string value.",
    )
    .read(string::strlen),
    cmd("incr", 2, WRITE | DENYOOM | FAST, acl::STRING)
        .keys(shape::UPDATES)
        .doc(
            "string",
            "1.0.0",
            "Adds one to the integer stored at a key.",
        )
        .parsed(string::incr),
    cmd("decr", 2, WRITE | DENYOOM | FAST, acl::STRING)
        .keys(shape::UPDATES)
        .doc(
            "string",
            "1.0.0",
            "Subtracts one from the integer stored at a key.",
        )
        .parsed(string::decr),
    cmd("incrby", 3, WRITE | DENYOOM | FAST, acl::STRING)
        .keys(shape::UPDATES)
        .doc(
            "string",
            "1.0.0",
            "Adds an integer amount to the integer stored at a key.",
        )
        .parsed(string::incrby),
    cmd("decrby", 3, WRITE | DENYOOM | FAST, acl::STRING)
        .keys(shape::UPDATES)
        .doc(
            "string",
            "1.0.0",
            "Subtracts an integer amount from the integer stored at a key.",
        )
        .parsed(string::decrby),
    cmd("incrbyfloat", 3, WRITE | DENYOOM | FAST, acl::STRING)
        .keys(shape::UPDATES)
        .doc(
            "string",
            "2.6.0",
            "Adds a floating-point amount to the number stored at a key.",
        )
        .parsed(string::incrbyfloat),
    cmd(
        "getbit",
        3,
        READONLY | FAST | SINGLE_READ | SMALL_READ,
        acl::BITMAP,
    )
    .keys(shape::READS)
    .doc(
        "bitmap",
        "2.2.0",
        "Returns the bit at an offset in a string.",
    )
    .read(bits::getbit),
    cmd("setbit", 4, WRITE | DENYOOM, acl::BITMAP)
        .keys(shape::UPDATES)
        .doc(
            "bitmap",
            "2.2.0",
            "Sets or clears the bit at an offset and returns its old value.",
        )
        .parsed(bits::setbit),
    cmd("bitcount", -2, READONLY, acl::BITMAP)
        .keys(shape::READS)
        .doc(
            "bitmap",
            "2.6.0",
            "Counts the set bits in a string, optionally within a range.",
        )
        .read(bits::bitcount),
    cmd("getrange", 4, READONLY | SINGLE_READ, acl::STRING)
        .keys(shape::READS)
        .doc(
            "string",
            "2.4.0",
            "Returns the part of a string between two byte offsets.",
        )
        .read(string::getrange),
    cmd("substr", 4, READONLY | SINGLE_READ, acl::STRING)
        .keys(shape::READS)
        .doc(
            "string",
            "1.0.0",
            "Returns the part of a string between two byte offsets.",
        )
        .read(string::getrange),
    cmd("setrange", 4, WRITE | DENYOOM, acl::STRING)
        .keys(shape::CHANGES)
        .doc(
            "string",
            "2.2.0",
            "Overwrites part of a string starting at a byte offset.",
        )
        .parsed(string::setrange),
    cmd("getex", -2, WRITE | FAST, acl::STRING)
        .keys(shape::UPDATES)
        .doc(
            "string",
            "6.2.0",
            "Returns the string value of a key and changes its expiry.",
        )
        .parsed(string::getex),
    cmd("lcs", -3, READONLY, acl::STRING)
        .keys(&[key(ks::RO | ks::ACCESS, at(1), range(1, 1, 0))])
        .doc(
            "string",
            "7.0.0",
            "Finds the longest common subsequence of two strings.",
        )
        .read(string::lcs),
    cmd("bitop", -4, WRITE | DENYOOM, acl::BITMAP)
        .keys(&[
            key(ks::OW | ks::UPDATE, at(2), range(0, 1, 0)),
            key(ks::RO | ks::ACCESS, at(3), range(-1, 1, 0)),
        ])
        .doc(
            "bitmap",
            "2.6.0",
            "Combines strings bitwise and stores the result in a key.",
        )
        .parsed(bits::bitop),
    cmd("bitpos", -3, READONLY, acl::BITMAP)
        .keys(shape::READS)
        .doc(
            "bitmap",
            "2.8.7",
            "Finds the first bit set to 0 or 1 in a string.",
        )
        .read(bits::bitpos),
    cmd("bitfield", -2, WRITE | DENYOOM, acl::BITMAP)
        .keys(&[key(
            ks::RW | ks::ACCESS | ks::UPDATE | ks::VARIABLE_FLAGS,
            at(1),
            range(0, 1, 0),
        )])
        .doc(
            "bitmap",
            "3.2.0",
            "Reads, writes and increments integer fields inside a string.",
        )
        .parsed(bits::bitfield),
    cmd("bitfield_ro", -2, READONLY | FAST, acl::BITMAP)
        .keys(shape::READS)
        .doc(
            "bitmap",
            "6.0.0",
            "Reads integer fields inside a string without writing.",
        )
        .read(bits::bitfield_ro),
];
