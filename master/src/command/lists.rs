//! The list commands.

use super::spec::Spec;
use crate::cmd::list;
use crate::cmd::spec::flag::*;
use crate::cmd::spec::{acl, at, cmd, key, keynum, ks, shape, BlockKeys};
use crate::store::keys::Kind;

/// The list commands.
pub static TABLE: &[Spec] = &[
    cmd("lpush", -3, WRITE | DENYOOM | FAST, acl::LIST)
        .keys(shape::INSERTS)
        .doc("list", "1.0.0", "Inserts elements at the head of a list.")
        .parsed(list::lpush),
    cmd("rpush", -3, WRITE | DENYOOM | FAST, acl::LIST)
        .keys(shape::INSERTS)
        .doc("list", "1.0.0", "Appends elements to the tail of a list.")
        .parsed(list::rpush),
    cmd("lpushx", -3, WRITE | DENYOOM | FAST, acl::LIST)
        .keys(shape::INSERTS)
        .doc(
            "list",
            "2.2.0",
            "Inserts elements at the head of a list only if it exists.",
        )
        .parsed(list::lpushx),
    cmd("rpushx", -3, WRITE | DENYOOM | FAST, acl::LIST)
        .keys(shape::INSERTS)
        .doc(
            "list",
            "2.2.0",
            "Appends elements to the tail of a list only if it exists.",
        )
        .parsed(list::rpushx),
    cmd("lpop", -2, WRITE | FAST, acl::LIST)
        .keys(shape::POPS)
        .doc(
            "list",
            "1.0.0",
            "Removes and returns elements from the head of a list.",
        )
        .parsed(list::lpop),
    cmd("rpop", -2, WRITE | FAST, acl::LIST)
        .keys(shape::POPS)
        .doc(
            "list",
            "1.0.0",
            "Removes and returns elements from the tail of a list.",
        )
        .parsed(list::rpop),
    cmd("rpoplpush", 3, WRITE | DENYOOM, acl::LIST)
        .keys(shape::MOVES)
        .doc(
            "list",
            "1.2.0",
            "Moves the tail element of one list to the head of another.",
        )
        .parsed(list::rpoplpush),
    cmd("lmove", 5, WRITE | DENYOOM, acl::LIST)
        .keys(shape::MOVES)
        .doc(
            "list",
            "6.2.0",
            "Moves an element from one end of a list to an end of another.",
        )
        .parsed(list::lmove),
    cmd("lmpop", -4, WRITE | MOVABLEKEYS, acl::LIST)
        .keys(&[key(
            ks::RW | ks::ACCESS | ks::DELETE,
            at(1),
            keynum(0, 1, 1),
        )])
        .doc(
            "list",
            "7.0.0",
            "Pops elements from the first non-empty list given.",
        )
        .parsed(list::lmpop),
    cmd("blpop", -3, WRITE | NOSCRIPT | BLOCKING, acl::LIST)
        .keys(shape::POPS_ALL_BUT_LAST)
        .blocks(Kind::List, BlockKeys::MANY)
        .doc(
            "list",
            "2.0.0",
            "Pops the head of the first non-empty list, or blocks.",
        )
        .parsed(list::blpop),
    cmd("brpop", -3, WRITE | NOSCRIPT | BLOCKING, acl::LIST)
        .keys(shape::POPS_ALL_BUT_LAST)
        .blocks(Kind::List, BlockKeys::MANY)
        .doc(
            "list",
            "2.0.0",
            "Pops the tail of the first non-empty list, or blocks.",
        )
        .parsed(list::brpop),
    cmd(
        "blmove",
        6,
        WRITE | DENYOOM | NOSCRIPT | BLOCKING,
        acl::LIST,
    )
    .keys(shape::MOVES)
    .blocks(Kind::List, BlockKeys::ONE)
    .doc(
        "list",
        "6.2.0",
        "Moves an element between lists, blocking while the source is empty.",
    )
    .parsed(list::blmove),
    cmd(
        "brpoplpush",
        4,
        WRITE | DENYOOM | NOSCRIPT | BLOCKING,
        acl::LIST,
    )
    .keys(shape::MOVES)
    .blocks(Kind::List, BlockKeys::ONE)
    .doc(
        "list",
        "2.2.0",
        "Moves a tail element to another list's head, or blocks.",
    )
    .parsed(list::brpoplpush),
    cmd("blmpop", -5, WRITE | BLOCKING | MOVABLEKEYS, acl::LIST)
        .keys(&[key(
            ks::RW | ks::ACCESS | ks::DELETE,
            at(2),
            keynum(0, 1, 1),
        )])
        .blocks(Kind::List, BlockKeys::NUMKEYS)
        .doc(
            "list",
            "7.0.0",
            "Pops elements from the first non-empty list, or blocks.",
        )
        .parsed(list::blmpop),
    cmd(
        "llen",
        2,
        READONLY | FAST | SINGLE_READ | SMALL_READ,
        acl::LIST,
    )
    .keys(shape::PEEKS)
    .doc("list", "1.0.0", "Returns the length of a list.")
    .read(list::llen),
    cmd("lrange", 4, READONLY, acl::LIST)
        .keys(shape::READS)
        .doc(
            "list",
            "1.0.0",
            "Returns the elements of a list between two indexes.",
        )
        .read(list::lrange),
    cmd("lindex", 3, READONLY, acl::LIST)
        .keys(shape::READS)
        .doc("list", "1.0.0", "Returns the list element at an index.")
        .read(list::lindex),
    cmd("lset", 4, WRITE | DENYOOM, acl::LIST)
        .keys(shape::CHANGES)
        .doc("list", "1.0.0", "Replaces the list element at an index.")
        .parsed(list::lset),
    cmd("ltrim", 4, WRITE, acl::LIST)
        .keys(shape::DELETES)
        .doc(
            "list",
            "1.0.0",
            "Keeps only the elements of a list between two indexes.",
        )
        .parsed(list::ltrim),
    cmd("lrem", 4, WRITE | BARRIER, acl::LIST)
        .keys(shape::DELETES)
        .doc(
            "list",
            "1.0.0",
            "Removes elements equal to a value from a list.",
        )
        .parsed(list::lrem),
    cmd("linsert", 5, WRITE | DENYOOM, acl::LIST)
        .keys(shape::INSERTS)
        .doc(
            "list",
            "2.2.0",
            "Inserts an element before or after a pivot element.",
        )
        .parsed(list::linsert),
    cmd("lpos", -3, READONLY, acl::LIST)
        .keys(shape::READS)
        .doc(
            "list",
            "6.0.6",
            "Returns the indexes of elements equal to a value.",
        )
        .read(list::lpos),
];
