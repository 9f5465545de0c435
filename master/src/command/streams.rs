//! The stream commands.

use super::spec::Spec;
use crate::cmd::spec::flag::*;
use crate::cmd::spec::{acl, at, cmd, key, keyword, ks, range, shape, BlockKeys, KeySpec};
use crate::cmd::{xgroup, xinfo, xstream};
use crate::store::keys::Kind;

/// XREAD's keys: after STREAMS, the first half of what follows.
const READ_STREAMS: &[KeySpec] = &[key(
    ks::RO | ks::ACCESS,
    keyword("STREAMS", 1),
    range(-1, 1, 2),
)];
/// XREADGROUP's keys: as XREAD's (Redis's key spec).
const READ_GROUP_STREAMS: &[KeySpec] = &[key(
    ks::RO | ks::ACCESS,
    keyword("STREAMS", 4),
    range(-1, 1, 2),
)];
/// A subcommand's key (`XGROUP CREATE key ...`), written.
const SUB_WRITES: &[KeySpec] = &[key(ks::RW | ks::UPDATE, at(2), range(0, 1, 0))];
/// A subcommand's key, inserted into.
const SUB_INSERTS: &[KeySpec] = &[key(ks::RW | ks::INSERT, at(2), range(0, 1, 0))];
/// A subcommand's key, deleted from.
const SUB_DELETES: &[KeySpec] = &[key(ks::RW | ks::DELETE, at(2), range(0, 1, 0))];
/// A subcommand's key, read.
const SUB_READS: &[KeySpec] = &[key(ks::RO | ks::ACCESS, at(2), range(0, 1, 0))];

/// The stream commands.
pub static TABLE: &[Spec] = &[
    cmd("xadd", -5, WRITE | DENYOOM | FAST, acl::STREAM)
        .keys(shape::CHANGES)
        .tips(&["nondeterministic_output"])
        .doc("stream", "5.0.0", "Appends a new message to a stream. Creates the key if it doesn't exist.")
        .parsed(xstream::xadd),
    cmd("xtrim", -4, WRITE, acl::STREAM)
        .keys(shape::DELETES)
        .tips(&["nondeterministic_output"])
        .doc("stream", "5.0.0", "Deletes messages from the beginning of a stream.")
        .parsed(xstream::xtrim),
    cmd("xdel", -3, WRITE | FAST, acl::STREAM)
        .keys(shape::DELETES)
        .doc("stream", "5.0.0", "Returns the number of messages after removing them from a stream.")
        .parsed(xstream::xdel),
    cmd("xsetid", -3, WRITE | DENYOOM | FAST, acl::STREAM)
        .keys(shape::CHANGES)
        .doc("stream", "5.0.0", "An internal command for replicating stream values.")
        .parsed(xstream::xsetid),
    cmd("xlen", 2, READONLY | FAST | SMALL_READ, acl::STREAM)
        .keys(shape::PEEKS)
        .doc("stream", "5.0.0", "Return the number of messages in a stream.")
        .read(xstream::xlen),
    cmd("xrange", -4, READONLY, acl::STREAM)
        .keys(shape::READS)
        .doc("stream", "5.0.0", "Returns the messages from a stream within a range of IDs.")
        .read(xstream::xrange),
    cmd("xrevrange", -4, READONLY, acl::STREAM)
        .keys(shape::READS)
        .doc("stream", "5.0.0", "Returns the messages from a stream within a range of IDs in reverse order.")
        .read(xstream::xrevrange),
    // Redis flags XREAD read-only; it runs on the write path, where a
    // client that found nothing waits to be served.
    cmd("xread", -4, READONLY | BLOCKING | MOVABLEKEYS, acl::STREAM)
        .keys(READ_STREAMS)
        .blocks(Kind::Stream, BlockKeys::STREAMS)
        .doc("stream", "5.0.0", "Returns messages from multiple streams with IDs greater than the ones requested. Blocks until a message is available otherwise.")
        .parsed(xstream::xread),
    cmd("xreadgroup", -7, WRITE | BLOCKING | MOVABLEKEYS, acl::STREAM)
        .keys(READ_GROUP_STREAMS)
        .blocks(Kind::Stream, BlockKeys::STREAMS)
        .doc("stream", "5.0.0", "Returns new or historical messages from a stream for a consumer in a group. Blocks until a message is available otherwise.")
        .parsed(xgroup::xreadgroup),
    cmd("xack", -4, WRITE | FAST, acl::STREAM)
        .keys(shape::CHANGES)
        .doc("stream", "5.0.0", "Returns the number of messages that were successfully acknowledged by the consumer group member of a stream.")
        .parsed(xgroup::xack),
    cmd("xclaim", -6, WRITE | FAST, acl::STREAM)
        .keys(shape::CHANGES)
        .tips(&["nondeterministic_output"])
        .doc("stream", "5.0.0", "Changes, or acquires, ownership of a message in a consumer group, as if the message was delivered a consumer group member.")
        .parsed(xgroup::xclaim),
    cmd("xautoclaim", -6, WRITE | FAST, acl::STREAM)
        .keys(shape::DELETES)
        .tips(&["nondeterministic_output"])
        .doc("stream", "6.2.0", "Changes, or acquires, ownership of messages in a consumer group, as if the messages were delivered to as consumer group member.")
        .parsed(xgroup::xautoclaim),
    cmd("xpending", -3, READONLY, acl::STREAM)
        .keys(shape::READS)
        .tips(&["nondeterministic_output"])
        .doc("stream", "5.0.0", "Returns the information and entries from a stream consumer group's pending entries list.")
        .read(xinfo::xpending),
    cmd("xgroup", -2, 0, 0)
        .doc("stream", "5.0.0", "A container for consumer groups commands.")
        .container(&[
            cmd("xgroup|create", -5, WRITE | DENYOOM, acl::STREAM)
                .keys(SUB_INSERTS)
                .doc("stream", "5.0.0", "Creates a consumer group.")
                .parsed(xgroup::create),
            cmd("xgroup|createconsumer", 5, WRITE | DENYOOM, acl::STREAM)
                .keys(SUB_INSERTS)
                .doc("stream", "6.2.0", "Creates a consumer in a consumer group.")
                .parsed(xgroup::createconsumer),
            cmd("xgroup|delconsumer", 5, WRITE, acl::STREAM)
                .keys(SUB_DELETES)
                .doc("stream", "5.0.0", "Deletes a consumer from a consumer group.")
                .parsed(xgroup::delconsumer),
            cmd("xgroup|destroy", 4, WRITE, acl::STREAM)
                .keys(SUB_DELETES)
                .doc("stream", "5.0.0", "Destroys a consumer group.")
                .parsed(xgroup::destroy),
            cmd("xgroup|setid", -5, WRITE, acl::STREAM)
                .keys(SUB_WRITES)
                .doc("stream", "5.0.0", "Sets the last-delivered ID of a consumer group.")
                .parsed(xgroup::setid),
            cmd("xgroup|help", 2, LOADING | STALE, acl::STREAM)
                .doc("stream", "5.0.0", "Returns helpful text about the different subcommands.")
                .read(xinfo::xgroup_help),
        ]),
    cmd("xinfo", -2, 0, 0)
        .doc("stream", "5.0.0", "A container for stream introspection commands.")
        .container(&[
            cmd("xinfo|stream", -3, READONLY, acl::STREAM)
                .keys(SUB_READS)
                .doc("stream", "5.0.0", "Returns information about a stream.")
                .read(xinfo::stream),
            cmd("xinfo|groups", 3, READONLY, acl::STREAM)
                .keys(SUB_READS)
                .doc("stream", "5.0.0", "Returns a list of the consumer groups of a stream.")
                .read(xinfo::groups_info),
            cmd("xinfo|consumers", 4, READONLY, acl::STREAM)
                .keys(SUB_READS)
                .tips(&["nondeterministic_output"])
                .doc("stream", "5.0.0", "Returns a list of the consumers in a consumer group.")
                .read(xinfo::consumers_info),
            cmd("xinfo|help", 2, LOADING | STALE, acl::STREAM)
                .doc("stream", "5.0.0", "Returns helpful text about the different subcommands.")
                .read(xinfo::xinfo_help),
        ]),
];
