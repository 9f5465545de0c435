//! Scripting's commands, and what a script may call.

use bytes::Bytes;
use rocksync_protocol::Reply;

use super::spec::{Run, Spec};
use crate::cmd::spec::flag::*;
use crate::cmd::spec::{acl, cmd, shape};
use crate::engine::Callee;
use crate::session::{functions, scripting};

/// EVAL and its kin, and SCRIPT. Inside MULTI the EVAL family is refused
/// for now: an EXEC runs a script as its own unit, so the transaction
/// would not be one (nor its WATCH checked at the script's commit).
pub static TABLE: &[Spec] = &[
    cmd(
        "eval",
        -3,
        NOSCRIPT | SKIP_MONITOR | NO_MANDATORY_KEYS | STALE | MOVABLEKEYS,
        acl::SCRIPTING,
    )
    .keys(shape::SCRIPT_KEYS)
    .doc("scripting", "2.6.0", "Runs a Lua script on the server.")
    .conn_async(scripting::eval),
    cmd(
        "evalsha",
        -3,
        NOSCRIPT | SKIP_MONITOR | NO_MANDATORY_KEYS | STALE | MOVABLEKEYS,
        acl::SCRIPTING,
    )
    .keys(shape::SCRIPT_KEYS)
    .doc(
        "scripting",
        "2.6.0",
        "Runs a cached Lua script by its SHA-1.",
    )
    .conn_async(scripting::evalsha),
    cmd(
        "eval_ro",
        -3,
        NOSCRIPT | SKIP_MONITOR | NO_MANDATORY_KEYS | STALE | READONLY | MOVABLEKEYS,
        acl::SCRIPTING,
    )
    .keys(shape::SCRIPT_KEYS_RO)
    .doc("scripting", "7.0.0", "Runs a read-only Lua script.")
    .conn_async(scripting::eval_ro),
    cmd(
        "evalsha_ro",
        -3,
        NOSCRIPT | SKIP_MONITOR | NO_MANDATORY_KEYS | STALE | READONLY | MOVABLEKEYS,
        acl::SCRIPTING,
    )
    .keys(shape::SCRIPT_KEYS_RO)
    .doc(
        "scripting",
        "7.0.0",
        "Runs a cached read-only Lua script by its SHA-1.",
    )
    .conn_async(scripting::evalsha_ro),
    cmd("script", -2, 0, 0)
        .doc(
            "scripting",
            "2.6.0",
            "Groups the script cache's subcommands.",
        )
        .container(&[
            cmd("script|load", 3, NOSCRIPT | STALE, acl::SCRIPTING)
                .tips(&["request_policy:all_nodes", "response_policy:all_succeeded"])
                .doc(
                    "scripting",
                    "2.6.0",
                    "Caches a Lua script without running it.",
                )
                .conn(scripting::load),
            cmd("script|exists", -3, NOSCRIPT, acl::SCRIPTING)
                .tips(&[
                    "request_policy:all_shards",
                    "response_policy:agg_logical_and",
                ])
                .doc(
                    "scripting",
                    "2.6.0",
                    "Says which SHA-1s name cached scripts.",
                )
                .conn(scripting::exists),
            cmd("script|flush", -2, NOSCRIPT, acl::SCRIPTING)
                .tips(&["request_policy:all_nodes", "response_policy:all_succeeded"])
                .doc("scripting", "2.6.0", "Empties the script cache.")
                .conn(scripting::flush),
            cmd("script|kill", 2, NOSCRIPT | ALLOW_BUSY, acl::SCRIPTING)
                .tips(&["request_policy:all_shards", "response_policy:one_succeeded"])
                .doc(
                    "scripting",
                    "2.6.0",
                    "Stops a running script that has not written.",
                )
                .conn(scripting::kill),
            cmd("script|help", 2, LOADING | STALE, acl::SCRIPTING)
                .doc("scripting", "5.0.0", "Lists the SCRIPT subcommands.")
                .conn(scripting::help),
        ]),
    cmd(
        "fcall",
        -3,
        NOSCRIPT | SKIP_MONITOR | NO_MANDATORY_KEYS | STALE | MOVABLEKEYS,
        acl::SCRIPTING,
    )
    .keys(shape::SCRIPT_KEYS)
    .doc("scripting", "7.0.0", "Invokes a function.")
    .conn_async(functions::fcall),
    cmd(
        "fcall_ro",
        -3,
        NOSCRIPT | SKIP_MONITOR | NO_MANDATORY_KEYS | STALE | READONLY | MOVABLEKEYS,
        acl::SCRIPTING,
    )
    .keys(shape::SCRIPT_KEYS_RO)
    .doc("scripting", "7.0.0", "Invokes a read-only function.")
    .conn_async(functions::fcall_ro),
    cmd("function", -2, 0, 0)
        .doc("scripting", "7.0.0", "Groups the function subcommands.")
        .container(&[
            cmd(
                "function|delete",
                3,
                NOSCRIPT | WRITE | NOT_QUEUED,
                acl::SCRIPTING,
            )
            .tips(&["request_policy:all_shards", "response_policy:all_succeeded"])
            .doc("scripting", "7.0.0", "Deletes a library and its functions.")
            .conn_async(functions::delete),
            cmd("function|dump", 2, NOSCRIPT, acl::SCRIPTING)
                .doc(
                    "scripting",
                    "7.0.0",
                    "Dumps all libraries into a serialized binary payload.",
                )
                .conn(functions::dump),
            cmd(
                "function|flush",
                -2,
                NOSCRIPT | WRITE | NOT_QUEUED,
                acl::SCRIPTING,
            )
            .tips(&["request_policy:all_shards", "response_policy:all_succeeded"])
            .doc("scripting", "7.0.0", "Deletes all libraries and functions.")
            .conn_async(functions::flush),
            cmd("function|help", 2, LOADING | STALE, acl::SCRIPTING)
                .doc(
                    "scripting",
                    "7.0.0",
                    "Returns helpful text about the different subcommands.",
                )
                .conn(functions::help),
            cmd("function|kill", 2, NOSCRIPT | ALLOW_BUSY, acl::SCRIPTING)
                .tips(&["request_policy:all_shards", "response_policy:one_succeeded"])
                .doc(
                    "scripting",
                    "7.0.0",
                    "Terminates a function during execution.",
                )
                .conn(functions::kill),
            cmd("function|list", -2, NOSCRIPT, acl::SCRIPTING)
                .tips(&["nondeterministic_output_order"])
                .doc(
                    "scripting",
                    "7.0.0",
                    "Returns information about all libraries.",
                )
                .conn(functions::list),
            cmd(
                "function|load",
                -3,
                NOSCRIPT | WRITE | DENYOOM | NOT_QUEUED,
                acl::SCRIPTING,
            )
            .tips(&["request_policy:all_shards", "response_policy:all_succeeded"])
            .doc("scripting", "7.0.0", "Creates a library.")
            .conn_async(functions::load),
            cmd(
                "function|restore",
                -3,
                NOSCRIPT | WRITE | DENYOOM | NOT_QUEUED,
                acl::SCRIPTING,
            )
            .tips(&["request_policy:all_shards", "response_policy:all_succeeded"])
            .doc(
                "scripting",
                "7.0.0",
                "Restores all libraries from a payload.",
            )
            .conn_async(functions::restore),
            cmd("function|stats", 2, NOSCRIPT | ALLOW_BUSY, acl::SCRIPTING)
                .tips(&[
                    "nondeterministic_output",
                    "request_policy:all_shards",
                    "response_policy:special",
                ])
                .doc(
                    "scripting",
                    "7.0.0",
                    "Returns information about a function during execution.",
                )
                .conn(functions::stats),
        ]),
];

/// What a script's `redis.call(args)` runs, with Redis's refusals: an
/// unknown command, one scripts may not call, a wrong count of
/// arguments. PING, ECHO and TIME are answered here.
///
/// # Errors
/// Redis's error reply for a call that may not run.
pub fn script_callee(args: &[Bytes]) -> Result<Callee, Reply> {
    let Ok(spec) = super::resolve(args) else {
        return Err(Reply::error("ERR Unknown Redis command called from script"));
    };
    let meta = &spec.meta;
    // XREAD and XREADGROUP run in scripts without BLOCK (Redis's rule).
    let streams = matches!(meta.block, Some((_, crate::cmd::spec::BlockKeys::Streams)));
    if streams && crate::cmd::xstream::stream_keys(args).1.is_some() {
        return Err(Reply::error(format!(
            "ERR {} command is not allowed with BLOCK option from scripts",
            String::from_utf8_lossy(&args[0])
        )));
    }
    if meta.has(NOSCRIPT) || (meta.has(BLOCKING) && !streams) {
        return Err(Reply::error(
            "ERR This Redis command is not allowed from script",
        ));
    }
    if !meta.arity_ok(args.len()) {
        return Err(Reply::error(
            "ERR Wrong number of args calling Redis command from script",
        ));
    }
    match spec.run {
        Run::Data(exec) => Ok(Callee::Data(meta, exec)),
        _ => match meta.name {
            "ping" if args.len() == 1 => Ok(Callee::Answered(Reply::Simple("PONG".into()))),
            "ping" | "echo" => Ok(Callee::Answered(Reply::Bulk(args[1].clone()))),
            "time" => {
                let us = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| d.as_micros());
                Ok(Callee::Answered(Reply::Array(vec![
                    Reply::Bulk(Bytes::from((us / 1_000_000).to_string())),
                    Reply::Bulk(Bytes::from((us % 1_000_000).to_string())),
                ])))
            }
            _ => Err(Reply::error(
                "ERR This Redis command is not allowed from script",
            )),
        },
    }
}
