//! The commands on keys of any type.

use super::spec::Spec;
use crate::cmd::spec::flag::*;
use crate::cmd::spec::{acl, at, cmd, key, keyword, ks, range, shape, Begin, Find};
use crate::cmd::{dump, expire, generic, sort};
use crate::session::migrate;

/// The commands on keys of any type.
pub static TABLE: &[Spec] = &[
    cmd("del", -2, WRITE, acl::KEYSPACE)
        .keys(&[key(ks::RM | ks::DELETE, at(1), range(-1, 1, 0))])
        .tips(&["request_policy:multi_shard", "response_policy:agg_sum"])
        .doc("generic", "1.0.0", "Removes one or more keys.")
        .parsed(generic::del),
    cmd("unlink", -2, WRITE | FAST, acl::KEYSPACE)
        .keys(&[key(ks::RM | ks::DELETE, at(1), range(-1, 1, 0))])
        .tips(&["request_policy:multi_shard", "response_policy:agg_sum"])
        .doc(
            "generic",
            "4.0.0",
            "Removes keys, reclaiming their memory in the background.",
        )
        .parsed(generic::del),
    cmd("exists", -2, READONLY | FAST, acl::KEYSPACE)
        .keys(shape::PEEKS_ALL)
        .tips(&["request_policy:multi_shard", "response_policy:agg_sum"])
        .doc(
            "generic",
            "1.0.0",
            "Counts how many of the given keys exist.",
        )
        .read(generic::exists),
    cmd(
        "type",
        2,
        READONLY | FAST | SINGLE_READ | SMALL_READ,
        acl::KEYSPACE,
    )
    .keys(shape::PEEKS)
    .doc(
        "generic",
        "1.0.0",
        "Names the type of value stored at a key.",
    )
    .read(generic::type_),
    cmd("expire", -3, WRITE | FAST, acl::KEYSPACE)
        .keys(shape::CHANGES)
        .doc("generic", "1.0.0", "Gives a key a lifetime in seconds.")
        .parsed(expire::expire),
    cmd("pexpire", -3, WRITE | FAST, acl::KEYSPACE)
        .keys(shape::CHANGES)
        .doc(
            "generic",
            "2.6.0",
            "Gives a key a lifetime in milliseconds.",
        )
        .parsed(expire::pexpire),
    cmd("expireat", -3, WRITE | FAST, acl::KEYSPACE)
        .keys(shape::CHANGES)
        .doc(
            "generic",
            "1.2.0",
            "Makes a key expire at a Unix time in seconds.",
        )
        .parsed(expire::expireat),
    cmd("pexpireat", -3, WRITE | FAST, acl::KEYSPACE)
        .keys(shape::CHANGES)
        .doc(
            "generic",
            "2.6.0",
            "Makes a key expire at a Unix time in milliseconds.",
        )
        .parsed(expire::pexpireat),
    cmd(
        "ttl",
        2,
        READONLY | FAST | SINGLE_READ | SMALL_READ,
        acl::KEYSPACE,
    )
    .keys(shape::READS)
    .tips(&["nondeterministic_output"])
    .doc(
        "generic",
        "1.0.0",
        "Returns a key's remaining lifetime in seconds.",
    )
    .read(expire::ttl),
    cmd("expiretime", 2, READONLY | FAST | SMALL_READ, acl::KEYSPACE)
        .keys(shape::READS)
        .doc(
            "generic",
            "7.0.0",
            "Returns the Unix time in seconds at which a key expires.",
        )
        .read(expire::expiretime),
    cmd(
        "pexpiretime",
        2,
        READONLY | FAST | SMALL_READ,
        acl::KEYSPACE,
    )
    .keys(shape::READS)
    .doc(
        "generic",
        "7.0.0",
        "Returns the Unix time in milliseconds at which a key expires.",
    )
    .read(expire::pexpiretime),
    cmd("touch", -2, READONLY | FAST, acl::KEYSPACE)
        .keys(shape::PEEKS_ALL)
        .tips(&["request_policy:multi_shard", "response_policy:agg_sum"])
        .doc(
            "generic",
            "3.2.1",
            "Updates the last access time of keys and counts those that exist.",
        )
        .read(generic::exists),
    cmd(
        "pttl",
        2,
        READONLY | FAST | SINGLE_READ | SMALL_READ,
        acl::KEYSPACE,
    )
    .keys(shape::READS)
    .tips(&["nondeterministic_output"])
    .doc(
        "generic",
        "2.6.0",
        "Returns a key's remaining lifetime in milliseconds.",
    )
    .read(expire::pttl),
    cmd("persist", 2, WRITE | FAST, acl::KEYSPACE)
        .keys(shape::CHANGES)
        .doc("generic", "2.2.0", "Removes the expiry from a key.")
        .parsed(expire::persist),
    cmd("scan", -2, READONLY, acl::KEYSPACE)
        .tips(&["nondeterministic_output", "request_policy:special"])
        .doc(
            "generic",
            "2.8.0",
            "Walks the key space incrementally with a cursor.",
        )
        .read(generic::scan),
    cmd("keys", 2, READONLY, acl::KEYSPACE | acl::DANGEROUS)
        .tips(&["request_policy:all_shards", "nondeterministic_output_order"])
        .doc(
            "generic",
            "1.0.0",
            "Lists every key that matches a glob pattern.",
        )
        .read(generic::keys),
    cmd("randomkey", 1, READONLY, acl::KEYSPACE)
        .tips(&["request_policy:all_shards", "nondeterministic_output"])
        .doc("generic", "1.0.0", "Returns a key picked at random.")
        .read(generic::randomkey),
    cmd("rename", 3, WRITE, acl::KEYSPACE)
        .keys(&[
            key(ks::RW | ks::ACCESS | ks::DELETE, at(1), range(0, 1, 0)),
            key(ks::OW | ks::UPDATE, at(2), range(0, 1, 0)),
        ])
        .doc(
            "generic",
            "1.0.0",
            "Gives a key a new name, replacing any key already there.",
        )
        .parsed(generic::rename),
    cmd("renamenx", 3, WRITE | FAST, acl::KEYSPACE)
        .keys(&[
            key(ks::RW | ks::ACCESS | ks::DELETE, at(1), range(0, 1, 0)),
            key(ks::OW | ks::INSERT, at(2), range(0, 1, 0)),
        ])
        .doc(
            "generic",
            "1.0.0",
            "Gives a key a new name only if that name is free.",
        )
        .parsed(generic::renamenx),
    cmd("copy", -3, WRITE | DENYOOM | BARRIER, acl::KEYSPACE)
        .keys(&[
            key(ks::RO | ks::ACCESS, at(1), range(0, 1, 0)),
            key(ks::OW | ks::UPDATE, at(2), range(0, 1, 0)),
        ])
        .doc(
            "generic",
            "6.2.0",
            "Duplicates the value of a key under another key.",
        )
        .parsed(generic::copy),
    cmd("dump", 2, READONLY, acl::KEYSPACE)
        .keys(shape::READS)
        .tips(&["nondeterministic_output"])
        .doc(
            "generic",
            "2.6.0",
            "Returns a serialized representation of the value stored at a key.",
        )
        .read(dump::dump),
    cmd(
        "restore",
        -4,
        WRITE | DENYOOM,
        acl::KEYSPACE | acl::DANGEROUS,
    )
    .keys(&[key(ks::OW | ks::UPDATE, at(1), range(0, 1, 0))])
    .doc(
        "generic",
        "2.6.0",
        "Creates a key from the serialized representation of a value.",
    )
    .parsed(dump::restore),
    cmd(
        "migrate",
        -6,
        WRITE | MOVABLEKEYS,
        acl::KEYSPACE | acl::DANGEROUS,
    )
    .keys(&[
        key(ks::RW | ks::ACCESS | ks::DELETE, at(3), range(0, 1, 0)),
        key(
            ks::RW | ks::ACCESS | ks::DELETE | ks::INCOMPLETE,
            keyword("KEYS", -2),
            range(-1, 1, 0),
        ),
    ])
    .getkeys(migrate::keys)
    .tips(&["nondeterministic_output"])
    .doc(
        "generic",
        "2.6.0",
        "Atomically transfers a key from one Redis instance to another.",
    )
    .conn_async(migrate::migrate),
    cmd("object", -2, 0, 0)
        .doc(
            "generic",
            "2.2.3",
            "Groups the subcommands that inspect how a value is stored.",
        )
        .container(&[
            cmd("object|encoding", 3, READONLY, acl::KEYSPACE)
                .keys(shape::PEEKS_SECOND)
                .tips(&["nondeterministic_output"])
                .doc(
                    "generic",
                    "2.2.3",
                    "Returns the internal encoding Redis would use for a value.",
                )
                .read(generic::object),
            cmd("object|freq", 3, READONLY, acl::KEYSPACE)
                .keys(shape::PEEKS_SECOND)
                .tips(&["nondeterministic_output"])
                .doc(
                    "generic",
                    "2.2.3",
                    "Returns the access frequency counter of a key.",
                )
                .read(generic::object),
            cmd("object|idletime", 3, READONLY, acl::KEYSPACE)
                .keys(shape::PEEKS_SECOND)
                .tips(&["nondeterministic_output"])
                .doc(
                    "generic",
                    "2.2.3",
                    "Returns the seconds since a key was last used.",
                )
                .read(generic::object),
            cmd("object|refcount", 3, READONLY, acl::KEYSPACE)
                .keys(shape::PEEKS_SECOND)
                .tips(&["nondeterministic_output"])
                .doc(
                    "generic",
                    "2.2.3",
                    "Returns the reference count of a key's value.",
                )
                .read(generic::object),
            cmd("object|help", 2, LOADING | STALE, acl::KEYSPACE)
                .doc("generic", "2.2.3", "Lists the OBJECT subcommands.")
                .read(generic::object),
        ]),
    cmd(
        "sort",
        -2,
        WRITE | DENYOOM | MOVABLEKEYS | BARRIER,
        acl::SET | acl::SORTEDSET | acl::LIST | acl::DANGEROUS,
    )
    .keys(&[
        key(ks::RO | ks::ACCESS, at(1), range(0, 1, 0)),
        key(ks::RO | ks::ACCESS, Begin::Unknown, Find::Unknown),
        key(ks::OW | ks::UPDATE, Begin::Unknown, Find::Unknown),
    ])
    .getkeys(sort::keys)
    .doc(
        "generic",
        "1.0.0",
        "Sorts a list, set or sorted set, optionally storing the result.",
    )
    .parsed(sort::sort),
    cmd(
        "sort_ro",
        -2,
        READONLY | MOVABLEKEYS,
        acl::SET | acl::SORTEDSET | acl::LIST | acl::DANGEROUS,
    )
    .keys(&[
        key(ks::RO | ks::ACCESS, at(1), range(0, 1, 0)),
        key(ks::RO | ks::ACCESS, Begin::Unknown, Find::Unknown),
    ])
    .doc(
        "generic",
        "7.0.0",
        "Sorts a list, set or sorted set without storing anything.",
    )
    .read(sort::sort_ro),
];
