//! The commands a connection answers itself: connection, server, pub/sub, transactions and replication.

use super::spec::Spec;
use crate::cmd::generic;
use crate::cmd::spec::flag::*;
use crate::cmd::spec::{acl, cmd, shape};
use crate::session::{client, config, connection, latency, multi, pubsub, replication, server};

/// The tips of LATENCY's reports (each node answers its own).
const REPORTS: &[&str] = &[
    "nondeterministic_output",
    "request_policy:all_nodes",
    "response_policy:special",
];

/// The commands a connection answers itself: connection, server, pub/sub, transactions and replication.
pub static TABLE: &[Spec] = &[
    cmd("ping", -1, FAST | SUBSCRIBED_OK, acl::CONNECTION)
        .tips(&["request_policy:all_shards", "response_policy:all_succeeded"])
        .doc(
            "connection",
            "1.0.0",
            "Checks the connection, replying PONG or echoing an argument.",
        )
        .conn(connection::ping),
    cmd("echo", 2, LOADING | STALE | FAST, acl::CONNECTION)
        .doc(
            "connection",
            "1.0.0",
            "Replies with the message it was given.",
        )
        .conn(connection::echo),
    cmd(
        "quit",
        -1,
        NOSCRIPT | LOADING | STALE | FAST | NO_AUTH | ALLOW_BUSY | AT_ONCE_IN_MULTI | SUBSCRIBED_OK,
        acl::CONNECTION,
    )
    .doc(
        "connection",
        "1.0.0",
        "Asks the server to close this connection.",
    )
    .conn(connection::quit),
    cmd(
        "auth",
        -2,
        NOSCRIPT | LOADING | STALE | FAST | NO_AUTH | ALLOW_BUSY | REDACT,
        acl::CONNECTION,
    )
    .doc(
        "connection",
        "1.0.0",
        "Authenticates the connection with a password or a user and password.",
    )
    .conn(connection::auth),
    cmd(
        "hello",
        -1,
        NOSCRIPT | LOADING | STALE | FAST | NO_AUTH | ALLOW_BUSY | REDACT,
        acl::CONNECTION,
    )
    .doc(
        "connection",
        "6.0.0",
        "Negotiates the protocol version and authenticates in one step.",
    )
    .conn(connection::hello),
    cmd(
        "reset",
        1,
        NOSCRIPT | LOADING | STALE | FAST | NO_AUTH | ALLOW_BUSY | AT_ONCE_IN_MULTI | SUBSCRIBED_OK,
        acl::CONNECTION,
    )
    .doc(
        "connection",
        "6.2.0",
        "Resets the connection to the state it had when it opened.",
    )
    .conn(connection::reset),
    cmd("select", 2, LOADING | STALE | FAST, acl::CONNECTION)
        .doc(
            "connection",
            "1.0.0",
            "Switches the connection to another numbered database.",
        )
        .conn(connection::select),
    cmd("info", -1, LOADING | STALE, acl::DANGEROUS)
        .tips(&[
            "nondeterministic_output",
            "request_policy:all_shards",
            "response_policy:special",
        ])
        .doc(
            "server",
            "1.0.0",
            "Reports server state and statistics, optionally by section.",
        )
        .conn(server::info),
    cmd("config", -2, 0, 0)
        .doc(
            "server",
            "2.0.0",
            "Groups the subcommands that read and change runtime configuration.",
        )
        .container(&[
            cmd("config|get", -3, ADMIN | NOSCRIPT | LOADING | STALE, 0)
                .doc(
                    "server",
                    "2.0.0",
                    "Returns the values of the parameters whose names match patterns.",
                )
                .conn(config::get),
            cmd("config|set", -4, ADMIN | NOSCRIPT | LOADING | STALE, 0)
                .tips(&["request_policy:all_nodes", "response_policy:all_succeeded"])
                .doc(
                    "server",
                    "2.0.0",
                    "Changes one or more parameters at runtime, all or none.",
                )
                .conn(config::set),
            cmd("config|resetstat", 2, ADMIN | NOSCRIPT | LOADING | STALE, 0)
                .doc("server", "2.0.0", "Resets the statistics INFO reports.")
                .conn(config::resetstat),
            cmd("config|rewrite", 2, ADMIN | NOSCRIPT | LOADING | STALE, 0)
                .doc(
                    "server",
                    "2.0.0",
                    "Writes the configuration in force back to its file.",
                )
                .conn(config::rewrite),
            cmd("config|help", 2, LOADING | STALE, 0)
                .doc("server", "2.0.0", "Lists the CONFIG subcommands.")
                .conn(config::help),
        ]),
    cmd("client", -2, 0, 0)
        .doc(
            "connection",
            "2.4.0",
            "Groups the subcommands that inspect and manage client connections.",
        )
        .container(&[
            cmd(
                "client|setname",
                3,
                NOSCRIPT | LOADING | STALE,
                acl::CONNECTION,
            )
            .doc("connection", "2.4.0", "Names this connection.")
            .conn(client::setname),
            cmd(
                "client|getname",
                2,
                NOSCRIPT | LOADING | STALE,
                acl::CONNECTION,
            )
            .doc("connection", "2.4.0", "Returns this connection's name.")
            .conn(client::getname),
            cmd("client|id", 2, NOSCRIPT | LOADING | STALE, acl::CONNECTION)
                .doc("connection", "2.4.0", "Returns this connection's id.")
                .conn(client::id),
            cmd(
                "client|info",
                2,
                NOSCRIPT | LOADING | STALE,
                acl::CONNECTION,
            )
            .tips(&["nondeterministic_output"])
            .doc(
                "connection",
                "2.4.0",
                "Describes this connection as CLIENT LIST does.",
            )
            .conn(client::info),
            cmd(
                "client|list",
                -2,
                ADMIN | NOSCRIPT | LOADING | STALE,
                acl::CONNECTION,
            )
            .tips(&["nondeterministic_output"])
            .doc(
                "connection",
                "2.4.0",
                "Lists the open connections, optionally of one type.",
            )
            .conn(client::list),
            cmd(
                "client|kill",
                -3,
                ADMIN | NOSCRIPT | LOADING | STALE,
                acl::CONNECTION,
            )
            .doc(
                "connection",
                "2.4.0",
                "Closes the connections a filter selects.",
            )
            .conn(client::kill),
            cmd(
                "client|tracking",
                -3,
                NOSCRIPT | LOADING | STALE,
                acl::CONNECTION,
            )
            .doc(
                "connection",
                "6.0.0",
                "Turns client-side caching's invalidation messages on or off.",
            )
            .conn(client::tracking),
            cmd(
                "client|caching",
                3,
                NOSCRIPT | LOADING | STALE,
                acl::CONNECTION,
            )
            .doc(
                "connection",
                "6.0.0",
                "Says whether the next command's keys are tracked (OPTIN, OPTOUT).",
            )
            .conn(client::caching),
            cmd(
                "client|trackinginfo",
                2,
                NOSCRIPT | LOADING | STALE,
                acl::CONNECTION,
            )
            .doc(
                "connection",
                "6.2.0",
                "Describes this connection's client-side caching.",
            )
            .conn(client::trackinginfo),
            cmd(
                "client|getredir",
                2,
                NOSCRIPT | LOADING | STALE,
                acl::CONNECTION,
            )
            .doc(
                "connection",
                "6.0.0",
                "Returns the client this connection's invalidations go to.",
            )
            .conn(client::getredir),
            cmd("client|help", 2, LOADING | STALE, acl::CONNECTION)
                .doc("connection", "2.4.0", "Lists the CLIENT subcommands.")
                .conn(client::help),
            // Redis 7.2's; clients send it as they connect.
            cmd(
                "client|setinfo",
                4,
                NOSCRIPT | LOADING | STALE,
                acl::CONNECTION,
            )
            .doc(
                "connection",
                "7.2.0",
                "Records the client library's name or version (accepted, not kept).",
            )
            .conn(client::setinfo),
        ]),
    cmd("time", 1, LOADING | STALE | FAST, 0)
        .tips(&["nondeterministic_output"])
        .doc(
            "server",
            "2.6.0",
            "Reports the server clock as seconds and microseconds.",
        )
        .conn(server::time),
    cmd(
        "lastsave",
        1,
        LOADING | STALE | FAST,
        acl::ADMIN | acl::DANGEROUS,
    )
    .tips(&["nondeterministic_output"])
    .doc(
        "server",
        "1.0.0",
        "Reports the Unix time of the last successful save to disk.",
    )
    .conn(server::lastsave),
    cmd("save", 1, ADMIN | NOSCRIPT | NO_ASYNC_LOADING | NO_MULTI, 0)
        .doc(
            "server",
            "1.0.0",
            "Persists the dataset to disk before replying.",
        )
        .conn_async(server::save),
    cmd("bgsave", -1, ADMIN | NOSCRIPT | NO_ASYNC_LOADING, 0)
        .doc(
            "server",
            "1.0.0",
            "Starts persisting the dataset to disk in the background.",
        )
        .conn(server::bgsave),
    cmd(
        "shutdown",
        -1,
        ADMIN | NOSCRIPT | LOADING | STALE | NO_MULTI | ALLOW_BUSY,
        0,
    )
    .doc(
        "server",
        "1.0.0",
        "Stops the server, optionally saving the dataset first.",
    )
    .conn(server::shutdown),
    cmd("slowlog", -2, 0, 0)
        .doc(
            "server",
            "2.2.12",
            "Groups the subcommands that read and reset the slow query log.",
        )
        .container(&[
            cmd("slowlog|get", -2, ADMIN | LOADING | STALE, 0)
                .tips(&["request_policy:all_nodes", "nondeterministic_output"])
                .doc(
                    "server",
                    "2.2.12",
                    "Returns the newest entries of the slow log.",
                )
                .conn(server::slowlog_get),
            cmd("slowlog|len", 2, ADMIN | LOADING | STALE, 0)
                .tips(&[
                    "request_policy:all_nodes",
                    "response_policy:agg_sum",
                    "nondeterministic_output",
                ])
                .doc(
                    "server",
                    "2.2.12",
                    "Returns how many entries the slow log holds.",
                )
                .conn(server::slowlog_len),
            cmd("slowlog|reset", 2, ADMIN | LOADING | STALE, 0)
                .tips(&["request_policy:all_nodes", "response_policy:all_succeeded"])
                .doc("server", "2.2.12", "Empties the slow log.")
                .conn(server::slowlog_reset),
            cmd("slowlog|help", 2, LOADING | STALE, 0)
                .doc("server", "2.2.12", "Lists the SLOWLOG subcommands.")
                .conn(server::slowlog_help),
        ]),
    cmd("latency", -2, 0, 0)
        .doc(
            "server",
            "2.8.13",
            "A container for latency diagnostics commands.",
        )
        .container(&[
            cmd("latency|doctor", 2, ADMIN | NOSCRIPT | LOADING | STALE, 0)
                .tips(REPORTS)
                .doc(
                    "server",
                    "2.8.13",
                    "Returns a human-readable latency analysis report.",
                )
                .conn(latency::doctor),
            cmd("latency|graph", 3, ADMIN | NOSCRIPT | LOADING | STALE, 0)
                .tips(REPORTS)
                .doc("server", "2.8.13", "Returns a latency graph for an event.")
                .conn(latency::graph),
            cmd("latency|help", 2, LOADING | STALE, 0)
                .doc(
                    "server",
                    "2.8.13",
                    "Returns helpful text about the different subcommands.",
                )
                .conn(latency::help),
            cmd(
                "latency|histogram",
                -2,
                ADMIN | NOSCRIPT | LOADING | STALE,
                0,
            )
            .tips(REPORTS)
            .doc(
                "server",
                "7.0.0",
                "Returns the cumulative distribution of latencies of a subset or all commands.",
            )
            .conn(latency::histogram),
            cmd("latency|history", 3, ADMIN | NOSCRIPT | LOADING | STALE, 0)
                .tips(REPORTS)
                .doc(
                    "server",
                    "2.8.13",
                    "Returns timestamp-latency samples for an event.",
                )
                .conn(latency::history),
            cmd("latency|latest", 2, ADMIN | NOSCRIPT | LOADING | STALE, 0)
                .tips(REPORTS)
                .doc(
                    "server",
                    "2.8.13",
                    "Returns the latest latency samples for all events.",
                )
                .conn(latency::latest),
            cmd("latency|reset", -2, ADMIN | NOSCRIPT | LOADING | STALE, 0)
                .tips(&["request_policy:all_nodes", "response_policy:all_succeeded"])
                .doc(
                    "server",
                    "2.8.13",
                    "Resets the latency data for one or more events.",
                )
                .conn(latency::reset),
        ]),
    cmd("memory", -2, 0, 0)
        .doc(
            "server",
            "4.0.0",
            "Groups the subcommands that report on memory use.",
        )
        .container(&[
            cmd("memory|usage", -3, READONLY, 0)
                .keys(shape::PEEKS_SECOND)
                .doc(
                    "server",
                    "4.0.0",
                    "Estimates the bytes a key and its value take.",
                )
                .conn(server::memory_usage),
            cmd("memory|doctor", 2, 0, 0)
                .tips(&[
                    "nondeterministic_output",
                    "request_policy:all_shards",
                    "response_policy:special",
                ])
                .doc("server", "4.0.0", "Reports memory problems.")
                .conn(server::memory_doctor),
            cmd("memory|help", 2, LOADING | STALE, 0)
                .doc("server", "4.0.0", "Lists the MEMORY subcommands.")
                .conn(server::memory_help),
        ]),
    cmd("debug", -2, ADMIN | NOSCRIPT | LOADING | STALE, 0)
        .doc(
            "server",
            "1.0.0",
            "Groups internal subcommands meant for testing and troubleshooting.",
        )
        .conn_async(server::debug),
    cmd(
        "slaveof",
        3,
        ADMIN | NOSCRIPT | STALE | NO_ASYNC_LOADING | OK_LOADING,
        0,
    )
    .doc(
        "server",
        "1.0.0",
        "Makes this server a replica of another one, or a master again.",
    )
    .conn_async(replication::slaveof),
    cmd(
        "replicaof",
        3,
        ADMIN | NOSCRIPT | STALE | NO_ASYNC_LOADING | OK_LOADING,
        0,
    )
    .doc(
        "server",
        "5.0.0",
        "Makes this server a replica of another one, or a master again.",
    )
    .conn_async(replication::slaveof),
    cmd(
        "role",
        1,
        NOSCRIPT | LOADING | STALE | FAST,
        acl::ADMIN | acl::DANGEROUS,
    )
    .doc(
        "server",
        "2.8.12",
        "Reports whether this server is a master or a replica, with details.",
    )
    .conn(replication::role),
    cmd(
        "subscribe",
        -2,
        PUBSUB | NOSCRIPT | LOADING | STALE | SUBSCRIBED_OK | NOT_QUEUED,
        0,
    )
    .doc(
        "pubsub",
        "2.0.0",
        "Starts listening for messages on the named channels.",
    )
    .conn(pubsub::subscribe),
    cmd(
        "unsubscribe",
        -1,
        PUBSUB | NOSCRIPT | LOADING | STALE | SUBSCRIBED_OK | NOT_QUEUED,
        0,
    )
    .doc(
        "pubsub",
        "2.0.0",
        "Stops listening on the named channels, or on all of them.",
    )
    .conn(pubsub::unsubscribe),
    cmd(
        "psubscribe",
        -2,
        PUBSUB | NOSCRIPT | LOADING | STALE | SUBSCRIBED_OK | NOT_QUEUED,
        0,
    )
    .doc(
        "pubsub",
        "2.0.0",
        "Starts listening on every channel matching the given patterns.",
    )
    .conn(pubsub::psubscribe),
    cmd(
        "punsubscribe",
        -1,
        PUBSUB | NOSCRIPT | LOADING | STALE | SUBSCRIBED_OK | NOT_QUEUED,
        0,
    )
    .doc(
        "pubsub",
        "2.0.0",
        "Stops listening on the given patterns, or on all of them.",
    )
    .conn(pubsub::punsubscribe),
    cmd("publish", 3, PUBSUB | LOADING | STALE | FAST, 0)
        .doc(
            "pubsub",
            "2.0.0",
            "Sends a message to a channel and reports how many clients got it.",
        )
        .conn(pubsub::publish),
    cmd(
        "multi",
        1,
        NOSCRIPT | LOADING | STALE | FAST | ALLOW_BUSY | AT_ONCE_IN_MULTI,
        acl::TRANSACTION,
    )
    .doc(
        "transactions",
        "1.2.0",
        "Begins queuing commands for a transaction.",
    )
    .conn(multi::multi),
    cmd(
        "exec",
        1,
        NOSCRIPT | LOADING | STALE | SKIP_SLOWLOG | AT_ONCE_IN_MULTI,
        acl::TRANSACTION,
    )
    .doc(
        "transactions",
        "1.2.0",
        "Runs every command queued since MULTI.",
    )
    .conn(multi::exec),
    cmd(
        "discard",
        1,
        NOSCRIPT | LOADING | STALE | FAST | ALLOW_BUSY | AT_ONCE_IN_MULTI,
        acl::TRANSACTION,
    )
    .doc(
        "transactions",
        "2.0.0",
        "Drops the commands queued since MULTI.",
    )
    .conn(multi::discard),
    cmd(
        "watch",
        -2,
        NOSCRIPT | LOADING | STALE | FAST | ALLOW_BUSY | AT_ONCE_IN_MULTI,
        acl::TRANSACTION,
    )
    .keys(shape::PEEKS_ALL)
    .doc(
        "transactions",
        "2.2.0",
        "Makes the next transaction fail if any of the keys change.",
    )
    .conn(multi::watch),
    cmd(
        "unwatch",
        1,
        NOSCRIPT | LOADING | STALE | FAST | ALLOW_BUSY,
        acl::TRANSACTION,
    )
    .doc(
        "transactions",
        "2.2.0",
        "Forgets every key watched by this connection.",
    )
    .conn(multi::unwatch),
    cmd("dbsize", 1, READONLY | FAST | SINGLE_READ, acl::KEYSPACE)
        .tips(&["request_policy:all_shards", "response_policy:agg_sum"])
        .doc(
            "server",
            "1.0.0",
            "Counts the keys in the selected database.",
        )
        .read(generic::dbsize),
    cmd("flushall", -1, WRITE, acl::KEYSPACE | acl::DANGEROUS)
        .tips(&["request_policy:all_shards", "response_policy:all_succeeded"])
        .doc("server", "1.0.0", "Deletes every key in every database.")
        .parsed(generic::flushall),
    cmd("flushdb", -1, WRITE, acl::KEYSPACE | acl::DANGEROUS)
        .tips(&["request_policy:all_shards", "response_policy:all_succeeded"])
        .doc(
            "server",
            "1.0.0",
            "Deletes every key in the selected database.",
        )
        .parsed(generic::flushall),
    cmd("wait", 3, NOSCRIPT, acl::CONNECTION)
        .tips(&["request_policy:all_shards", "response_policy:agg_min"])
        .doc(
            "generic",
            "3.0.0",
            "Blocks until earlier writes reach a number of replicas or a timeout.",
        )
        .conn_async(replication::wait),
    cmd("sync", 1, ADMIN | NOSCRIPT | NO_ASYNC_LOADING | NO_MULTI, 0)
        .doc(
            "server",
            "1.0.0",
            "An internal command used in replication.",
        )
        .conn(replication::sync),
    cmd(
        "psync",
        -3,
        ADMIN | NOSCRIPT | NO_ASYNC_LOADING | NO_MULTI,
        0,
    )
    .doc(
        "server",
        "2.8.0",
        "An internal command used in replication.",
    )
    .conn(replication::sync),
    cmd(
        "replconf",
        -1,
        ADMIN | NOSCRIPT | LOADING | STALE | ALLOW_BUSY,
        0,
    )
    .doc(
        "server",
        "3.0.0",
        "An internal command for configuring the replication stream.",
    )
    .conn(replication::replconf),
    // Ours.
    cmd("sync140", -4, ADMIN | NOSCRIPT | NO_MULTI, 0)
        .doc(
            "server",
            "1.0.0",
            "Opens a replication session using the SSDB-style SYNC140 handshake.",
        )
        .conn(replication::sync140),
    cmd("purge", 4, ADMIN | NOSCRIPT | LOADING | STALE, 0)
        .doc(
            "server",
            "1.0.0",
            "Deletes the binlog files before a given one (PURGE LOGS TO file).",
        )
        .conn_async(replication::purge),
];
