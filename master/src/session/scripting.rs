//! Scripting: EVAL, EVALSHA, EVAL_RO, EVALSHA_RO and SCRIPT LOAD /
//! EXISTS / FLUSH / KILL / HELP. A script runs on the write path (see
//! `engine::script`); the connection parses, names and waits.

use bytes::Bytes;
use rocksync_protocol::Reply;

use super::{help_lines, BoxReply, Session};
use crate::cmd::NOT_INT;
use crate::engine::ScriptJob;
use crate::script;
use crate::script::functions::NO_WRITES;

/// EVAL script numkeys [key ...] [arg ...].
pub fn eval<'s>(s: &'s mut Session<'_>, a: &'s [Bytes]) -> BoxReply<'s> {
    Box::pin(run(s, a))
}

/// EVALSHA sha1 numkeys [key ...] [arg ...].
pub fn evalsha<'s>(s: &'s mut Session<'_>, a: &'s [Bytes]) -> BoxReply<'s> {
    Box::pin(run(s, a))
}

/// EVAL_RO: as EVAL, its writes refused.
pub fn eval_ro<'s>(s: &'s mut Session<'_>, a: &'s [Bytes]) -> BoxReply<'s> {
    Box::pin(run(s, a))
}

/// EVALSHA_RO: as EVALSHA, its writes refused.
pub fn evalsha_ro<'s>(s: &'s mut Session<'_>, a: &'s [Bytes]) -> BoxReply<'s> {
    Box::pin(run(s, a))
}

async fn run(s: &mut Session<'_>, a: &[Bytes]) -> Reply {
    match job(s.core, s.client, a) {
        Ok(job) => s.core.engine.script(job).await,
        Err(e) => e,
    }
}

/// The script an EVAL-family command (`a`, its name first) runs for
/// `client`, or its refusal: what the connection checks before the write
/// path runs it (alone, or in its turn in an EXEC).
///
/// # Errors
/// Redis's replies to a bad key count, an unknown SHA-1, a script whose
/// flags forbid the call.
pub fn job(
    core: &crate::state::Core,
    caller: &super::Client,
    a: &[Bytes],
) -> Result<ScriptJob, Reply> {
    let client = caller.id;
    let name = &a[0];
    let by_sha = name.len() >= 7 && name[..7].eq_ignore_ascii_case(b"evalsha");
    let read_only = name.len() >= 3 && name[name.len() - 3..].eq_ignore_ascii_case(b"_ro");
    let numkeys = match rocksync_protocol::parse_i64(&a[2]) {
        Some(n) if n < 0 => return Err(Reply::error("ERR Number of keys can't be negative")),
        Some(n) if n as u64 > (a.len() - 3) as u64 => {
            return Err(Reply::error(
                "ERR Number of keys can't be greater than number of args",
            ))
        }
        Some(n) => n as usize,
        None => return Err(Reply::error(NOT_INT)),
    };
    let scripts = &core.engine.scripts;
    let (sha, body) = if by_sha {
        match scripts.get(&a[1]) {
            Some(body) => (String::from_utf8_lossy(&a[1]).to_ascii_lowercase(), body),
            None => {
                return Err(Reply::error(
                    "NOSCRIPT No matching script. Please use EVAL.",
                ))
            }
        }
    } else {
        // Kept in the cache once it compiles (the write path does that).
        (script::sha1_hex(&a[1]), a[1].clone())
    };
    // A script with a `#!lua` line may write only unless flagged
    // `no-writes` (one without runs as before Redis 7).
    let read_only = match script::shebang(&body) {
        Err(e) => return Err(e),
        Ok(None) => read_only,
        Ok(Some(flags)) if flags & NO_WRITES != 0 => true,
        Ok(Some(_)) if read_only => {
            return Err(Reply::error(
                "ERR Can not execute a script with write flag using *_ro command.",
            ))
        }
        Ok(Some(_)) if core.is_read_only() => {
            return Err(Reply::error(
                "READONLY Can not run script with write flag on readonly replica",
            ))
        }
        Ok(Some(_)) => match core.engine.slaves.refuse_write() {
            // (a script with flags that may write: refused before it runs)
            Some(refused) => return Err(Reply::error(refused)),
            None => false,
        },
    };
    Ok(ScriptJob {
        sha,
        body,
        function: None,
        keys: a[3..3 + numkeys].to_vec(),
        argv: a[3 + numkeys..].to_vec(),
        called: [a[0].clone(), a[1].clone(), a[2].clone()],
        // (on a slave, a write is refused as READONLY in the script)
        read_only,
        client,
        resolve: crate::command::script_callee,
        caller: self::caller(core, caller),
    })
}

/// What a restricted user's script is checked against (none for a user
/// that may do anything).
pub fn caller(
    core: &crate::state::Core,
    client: &super::Client,
) -> Option<std::sync::Arc<crate::acl::ScriptCaller>> {
    (!client.user.unrestricted()).then(|| {
        std::sync::Arc::new(crate::acl::ScriptCaller {
            user: std::sync::Arc::clone(&client.user),
            log: std::sync::Arc::clone(&core.acl.log),
            client_info: core.clients.line(client.id),
        })
    })
}

/// SCRIPT LOAD script: its SHA-1, once it compiles.
pub fn load(s: &mut Session<'_>, a: &[Bytes]) -> Reply {
    if let Err(e) = script::check_syntax(&a[2]) {
        return e;
    }
    Reply::Bulk(Bytes::from(s.core.engine.scripts.load(a[2].clone())))
}

/// SCRIPT EXISTS sha1 [sha1 ...].
pub fn exists(s: &mut Session<'_>, a: &[Bytes]) -> Reply {
    let scripts = &s.core.engine.scripts;
    Reply::Array(
        a[2..]
            .iter()
            .map(|sha| Reply::Integer(i64::from(scripts.get(sha).is_some())))
            .collect(),
    )
}

/// SCRIPT FLUSH [ASYNC|SYNC].
pub fn flush(s: &mut Session<'_>, a: &[Bytes]) -> Reply {
    match a.get(2).map(|m| m.to_ascii_lowercase()) {
        None => {}
        Some(m) if a.len() == 3 && (m == b"async" || m == b"sync") => {}
        Some(_) => return Reply::error("ERR SCRIPT FLUSH only support SYNC|ASYNC option"),
    }
    s.core.engine.scripts.flush();
    Reply::ok()
}

/// SCRIPT KILL: stop the running script, if it has not written.
pub fn kill(s: &mut Session<'_>, _: &[Bytes]) -> Reply {
    if let Some((Some(_), _)) = s.core.engine.scripts.running() {
        return Reply::error(
            "BUSY Redis is busy running a script. You can only call FUNCTION KILL or SHUTDOWN NOSAVE.",
        );
    }
    match s.core.engine.scripts.kill() {
        Ok(()) => Reply::ok(),
        Err(e) => e,
    }
}

/// SCRIPT HELP.
pub fn help(_: &mut Session<'_>, _: &[Bytes]) -> Reply {
    help_lines(&[
        "SCRIPT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "EXISTS <sha1> [<sha1> ...]",
        "    Return information about the existence of the scripts in the script cache.",
        "FLUSH [ASYNC|SYNC]",
        "    Flush the Lua scripts cache. Very dangerous on replicas.",
        "    When called without the optional mode argument, the behavior is determined by the",
        "    lazyfree-lazy-user-flush configuration directive. Valid modes are:",
        "    * ASYNC: Asynchronously flush the scripts cache.",
        "    * SYNC: Synchronously flush the scripts cache.",
        "KILL",
        "    Kill the currently executing Lua script.",
        "LOAD <script>",
        "    Load a script into the scripts cache without executing it.",
        "HELP",
        "    Prints this help.",
    ])
}
