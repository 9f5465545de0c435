//! The sorted set commands.

use super::spec::Spec;
use crate::cmd::spec::flag::*;
use crate::cmd::spec::{acl, at, cmd, fields, key, keynum, ks, range, shape, BlockKeys};
use crate::cmd::{zrange, zset};
use crate::store::keys::Kind;

/// The sorted set commands.
pub static TABLE: &[Spec] = &[
    cmd("zadd", -4, WRITE | DENYOOM | FAST, acl::SORTEDSET)
        .keys(shape::CHANGES)
        .fields(Kind::ZSet, fields::ZADD)
        .doc(
            "sorted-set",
            "1.2.0",
            "Adds members to a sorted set or updates their scores.",
        )
        .parsed(zset::zadd),
    cmd("zrem", -3, WRITE | FAST, acl::SORTEDSET)
        .keys(shape::DELETES)
        .fields(Kind::ZSet, fields::ALL)
        .doc("sorted-set", "1.2.0", "Removes members from a sorted set.")
        .parsed(zset::zrem),
    cmd("zscore", 3, READONLY | FAST | SMALL_READ, acl::SORTEDSET)
        .keys(shape::READS)
        .doc(
            "sorted-set",
            "1.2.0",
            "Returns the score of a sorted set member.",
        )
        .read(zset::zscore),
    cmd("zmscore", -3, READONLY | FAST, acl::SORTEDSET)
        .keys(shape::READS)
        .doc(
            "sorted-set",
            "6.2.0",
            "Returns the scores of several sorted set members.",
        )
        .read(zset::zmscore),
    cmd("zincrby", 4, WRITE | DENYOOM | FAST, acl::SORTEDSET)
        .keys(shape::UPDATES)
        .fields(Kind::ZSet, fields::SECOND)
        .doc(
            "sorted-set",
            "1.2.0",
            "Adds an amount to the score of a sorted set member.",
        )
        .parsed(zset::zincrby),
    cmd(
        "zcard",
        2,
        READONLY | FAST | SINGLE_READ | SMALL_READ,
        acl::SORTEDSET,
    )
    .keys(shape::PEEKS)
    .doc("sorted-set", "1.2.0", "Counts the members of a sorted set.")
    .read(zset::zcard),
    cmd("zcount", 4, READONLY | FAST, acl::SORTEDSET)
        .keys(shape::READS)
        .doc(
            "sorted-set",
            "2.0.0",
            "Counts sorted set members whose scores fall in a range.",
        )
        .read(zset::zcount),
    cmd("zrange", -4, READONLY, acl::SORTEDSET)
        .keys(shape::READS)
        .doc(
            "sorted-set",
            "1.2.0",
            "Returns sorted set members by rank, score or lex range.",
        )
        .read(zrange::zrange),
    cmd("zrevrange", -4, READONLY, acl::SORTEDSET)
        .keys(shape::READS)
        .doc(
            "sorted-set",
            "1.2.0",
            "Returns sorted set members by rank, highest first.",
        )
        .read(zrange::zrevrange),
    cmd("zrangebyscore", -4, READONLY, acl::SORTEDSET)
        .keys(shape::READS)
        .doc(
            "sorted-set",
            "1.0.5",
            "Returns sorted set members within a score range.",
        )
        .read(zrange::zrangebyscore),
    cmd("zrevrangebyscore", -4, READONLY, acl::SORTEDSET)
        .keys(shape::READS)
        .doc(
            "sorted-set",
            "2.2.0",
            "Returns members in a score range, highest first.",
        )
        .read(zrange::zrevrangebyscore),
    cmd("zrangebylex", -4, READONLY, acl::SORTEDSET)
        .keys(shape::READS)
        .doc(
            "sorted-set",
            "2.8.9",
            "Returns sorted set members within a lex range.",
        )
        .read(zrange::zrangebylex),
    cmd("zrevrangebylex", -4, READONLY, acl::SORTEDSET)
        .keys(shape::READS)
        .doc(
            "sorted-set",
            "2.8.9",
            "Returns members in a lex range, in reverse order.",
        )
        .read(zrange::zrevrangebylex),
    cmd("zlexcount", 4, READONLY | FAST, acl::SORTEDSET)
        .keys(shape::READS)
        .doc(
            "sorted-set",
            "2.8.9",
            "Counts sorted set members within a lex range.",
        )
        .read(zrange::zlexcount),
    cmd("zrangestore", -5, WRITE | DENYOOM | BARRIER, acl::SORTEDSET)
        .keys(&[
            key(ks::OW | ks::UPDATE, at(1), range(0, 1, 0)),
            key(ks::RO | ks::ACCESS, at(2), range(0, 1, 0)),
        ])
        .doc(
            "sorted-set",
            "6.2.0",
            "Stores a range of sorted set members in another key.",
        )
        .parsed(zrange::zrangestore),
    cmd("zremrangebyrank", 4, WRITE, acl::SORTEDSET)
        .keys(shape::DELETES)
        .doc(
            "sorted-set",
            "2.0.0",
            "Removes sorted set members within a rank range.",
        )
        .parsed(zrange::zremrangebyrank),
    cmd("zremrangebyscore", 4, WRITE, acl::SORTEDSET)
        .keys(shape::DELETES)
        .doc(
            "sorted-set",
            "1.2.0",
            "Removes sorted set members within a score range.",
        )
        .parsed(zrange::zremrangebyscore),
    cmd("zremrangebylex", 4, WRITE, acl::SORTEDSET)
        .keys(shape::DELETES)
        .doc(
            "sorted-set",
            "2.8.9",
            "Removes sorted set members within a lex range.",
        )
        .parsed(zrange::zremrangebylex),
    cmd("zunion", -3, READONLY | MOVABLEKEYS, acl::SORTEDSET)
        .keys(shape::READS_COUNTED)
        .doc(
            "sorted-set",
            "6.2.0",
            "Returns the union of several sorted sets.",
        )
        .read(zrange::zunion),
    cmd("zinter", -3, READONLY | MOVABLEKEYS, acl::SORTEDSET)
        .keys(shape::READS_COUNTED)
        .doc(
            "sorted-set",
            "6.2.0",
            "Returns the intersection of several sorted sets.",
        )
        .read(zrange::zinter),
    cmd("zdiff", -3, READONLY | MOVABLEKEYS, acl::SORTEDSET)
        .keys(shape::READS_COUNTED)
        .doc(
            "sorted-set",
            "6.2.0",
            "Returns the difference of several sorted sets.",
        )
        .read(zrange::zdiff),
    cmd(
        "zunionstore",
        -4,
        WRITE | DENYOOM | MOVABLEKEYS | BARRIER,
        acl::SORTEDSET,
    )
    .keys(shape::STORES_COUNTED)
    .doc(
        "sorted-set",
        "2.0.0",
        "Stores the union of several sorted sets in a key.",
    )
    .parsed(zrange::zunionstore),
    cmd(
        "zinterstore",
        -4,
        WRITE | DENYOOM | MOVABLEKEYS | BARRIER,
        acl::SORTEDSET,
    )
    .keys(shape::STORES_COUNTED)
    .doc(
        "sorted-set",
        "2.0.0",
        "Stores the intersection of several sorted sets in a key.",
    )
    .parsed(zrange::zinterstore),
    cmd(
        "zdiffstore",
        -4,
        WRITE | DENYOOM | MOVABLEKEYS | BARRIER,
        acl::SORTEDSET,
    )
    .keys(shape::STORES_COUNTED)
    .doc(
        "sorted-set",
        "6.2.0",
        "Stores the difference of several sorted sets in a key.",
    )
    .parsed(zrange::zdiffstore),
    cmd("zintercard", -3, READONLY | MOVABLEKEYS, acl::SORTEDSET)
        .keys(shape::READS_COUNTED)
        .doc(
            "sorted-set",
            "7.0.0",
            "Counts the members of the intersection of sorted sets.",
        )
        .read(zrange::zintercard),
    cmd("zrandmember", -2, READONLY, acl::SORTEDSET)
        .keys(shape::READS)
        .tips(&["nondeterministic_output"])
        .doc(
            "sorted-set",
            "6.2.0",
            "Returns random members of a sorted set.",
        )
        .read(zrange::zrandmember),
    cmd("zrank", 3, READONLY | FAST, acl::SORTEDSET)
        .keys(shape::READS)
        .doc(
            "sorted-set",
            "2.0.0",
            "Returns a member's rank in a sorted set, lowest score first.",
        )
        .read(zset::zrank),
    cmd("zrevrank", 3, READONLY | FAST, acl::SORTEDSET)
        .keys(shape::READS)
        .doc(
            "sorted-set",
            "2.0.0",
            "Returns a member's rank in a sorted set, highest first.",
        )
        .read(zset::zrevrank),
    cmd("zpopmin", -2, WRITE | FAST, acl::SORTEDSET)
        .keys(shape::POPS)
        .doc(
            "sorted-set",
            "5.0.0",
            "Removes and returns the lowest-scored members.",
        )
        .parsed(zset::zpopmin),
    cmd("zpopmax", -2, WRITE | FAST, acl::SORTEDSET)
        .keys(shape::POPS)
        .doc(
            "sorted-set",
            "5.0.0",
            "Removes and returns the highest-scored members.",
        )
        .parsed(zset::zpopmax),
    cmd("zmpop", -4, WRITE | MOVABLEKEYS, acl::SORTEDSET)
        .keys(&[key(
            ks::RW | ks::ACCESS | ks::DELETE,
            at(1),
            keynum(0, 1, 1),
        )])
        .doc(
            "sorted-set",
            "7.0.0",
            "Pops members from the first non-empty sorted set given.",
        )
        .parsed(zset::zmpop),
    cmd(
        "bzpopmin",
        -3,
        WRITE | NOSCRIPT | BLOCKING | FAST,
        acl::SORTEDSET,
    )
    .keys(shape::POPS_ALL_BUT_LAST)
    .blocks(Kind::ZSet, BlockKeys::MANY)
    .doc(
        "sorted-set",
        "5.0.0",
        "Pops the lowest-scored member, blocking while all are empty.",
    )
    .parsed(zset::bzpopmin),
    cmd(
        "bzpopmax",
        -3,
        WRITE | NOSCRIPT | BLOCKING | FAST,
        acl::SORTEDSET,
    )
    .keys(shape::POPS_ALL_BUT_LAST)
    .blocks(Kind::ZSet, BlockKeys::MANY)
    .doc(
        "sorted-set",
        "5.0.0",
        "Pops the highest-scored member, blocking while all are empty.",
    )
    .parsed(zset::bzpopmax),
    cmd("bzmpop", -5, WRITE | BLOCKING | MOVABLEKEYS, acl::SORTEDSET)
        .keys(&[key(
            ks::RW | ks::ACCESS | ks::DELETE,
            at(2),
            keynum(0, 1, 1),
        )])
        .blocks(Kind::ZSet, BlockKeys::NUMKEYS)
        .doc(
            "sorted-set",
            "7.0.0",
            "Pops members from the first non-empty sorted set, or blocks.",
        )
        .parsed(zset::bzmpop),
    cmd("zscan", -3, READONLY, acl::SORTEDSET)
        .keys(shape::READS)
        .tips(&["nondeterministic_output"])
        .doc(
            "sorted-set",
            "2.8.0",
            "Walks a sorted set incrementally with a cursor.",
        )
        .read(zset::zscan),
];
