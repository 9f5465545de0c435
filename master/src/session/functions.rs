//! Functions: FCALL, FCALL_RO and FUNCTION LOAD / DELETE / FLUSH / LIST /
//! STATS / KILL / DUMP / RESTORE / HELP. A library is checked here (run
//! in a throwaway interpreter to learn what it registers), then written
//! as data through the write path: the binlog carries it to every slave,
//! and the store keeps it across restarts. FUNCTION's writes go one at a
//! time, each checked against the catalog it then changes.

use std::sync::Arc;

use bytes::Bytes;
use rocksync_protocol::{Command, Reply};

use super::{bulk_str, help_lines, BoxReply, Session};
use crate::cmd::{WriteCtx, WriteOp};
use crate::engine::ScriptJob;
use crate::script::functions::{self, Catalog, Library, FLAGS, LOAD_TIMEOUT, NO_WRITES};
use crate::script::payload;

/// FCALL function numkeys [key ...] [arg ...].
pub fn fcall<'s>(s: &'s mut Session<'_>, a: &'s [Bytes]) -> BoxReply<'s> {
    Box::pin(call(s, a))
}

/// FCALL_RO: as FCALL, for a function flagged `no-writes`.
pub fn fcall_ro<'s>(s: &'s mut Session<'_>, a: &'s [Bytes]) -> BoxReply<'s> {
    Box::pin(call(s, a))
}

async fn call(s: &mut Session<'_>, a: &[Bytes]) -> Reply {
    match job(s.core, s.client, a) {
        Ok(job) => s.core.engine.script(job).await,
        Err(e) => e,
    }
}

/// The function an FCALL or FCALL_RO (`a`, its name first) runs for
/// `client`, or its refusal (as [`super::scripting::job`]).
///
/// # Errors
/// Redis's replies to an unknown function, a bad key count, a function
/// whose flags forbid the call.
pub fn job(
    core: &crate::state::Core,
    caller: &super::Client,
    a: &[Bytes],
) -> Result<ScriptJob, Reply> {
    let client = caller.id;
    let ro = a[0].eq_ignore_ascii_case(b"fcall_ro");
    let catalog = core.engine.functions.catalog(&core.store);
    let Some((_, f)) = catalog.function(&a[1]) else {
        return Err(Reply::error("ERR Function not found"));
    };
    let numkeys = match rocksync_protocol::parse_i64(&a[2]) {
        None => return Err(Reply::error("ERR Bad number of keys provided")),
        Some(n) if n < 0 => return Err(Reply::error("ERR Number of keys can't be negative")),
        Some(n) if n as u64 > (a.len() - 3) as u64 => {
            return Err(Reply::error(
                "ERR Number of keys can't be greater than number of args",
            ))
        }
        Some(n) => n as usize,
    };
    let no_writes = f.flags & NO_WRITES != 0;
    if ro && !no_writes {
        return Err(Reply::error(
            "ERR Can not execute a script with write flag using *_ro command.",
        ));
    }
    if !no_writes && core.is_read_only() {
        return Err(Reply::error(
            "READONLY Can not run script with write flag on readonly replica",
        ));
    }
    if !no_writes {
        if let Some(refused) = core.engine.slaves.refuse_write() {
            return Err(Reply::error(refused));
        }
    }
    Ok(ScriptJob {
        sha: f.name.clone(),
        body: Bytes::new(),
        function: Some(Arc::clone(&catalog)),
        keys: a[3..3 + numkeys].to_vec(),
        argv: a[3 + numkeys..].to_vec(),
        called: [a[0].clone(), a[1].clone(), a[2].clone()],
        read_only: no_writes,
        client,
        resolve: crate::command::script_callee,
        caller: super::scripting::caller(core, caller),
    })
}

/// FUNCTION's writes: library events, as one unit.
pub(crate) struct LibraryWrite(pub(crate) Vec<(Command, Bytes, Bytes)>);

impl WriteOp for LibraryWrite {
    fn execute(&self, c: &mut WriteCtx<'_>) -> crate::Result<Reply> {
        for (cmd, name, code) in &self.0 {
            c.emit(*cmd, name, code.clone(), 0)?;
        }
        Ok(Reply::ok())
    }
}

/// Write `events` (the command `a` made them) through the write path.
async fn write(s: &mut Session<'_>, a: &[Bytes], events: Vec<(Command, Bytes, Bytes)>) -> Reply {
    super::write_op(s, a, Box::new(LibraryWrite(events))).await
}

/// Check `code` as FUNCTION LOAD does (bounded by Redis's load timeout).
fn check(code: Bytes) -> Result<Library, Reply> {
    tokio::task::block_in_place(|| functions::parse_library(&mut None, code, Some(LOAD_TIMEOUT)))
        .map_err(|e| Reply::error(format!("ERR {e}")))
}

/// FUNCTION LOAD [REPLACE] code.
pub fn load<'s>(s: &'s mut Session<'_>, a: &'s [Bytes]) -> BoxReply<'s> {
    Box::pin(async move {
        let mut replace = false;
        let mut at = 2;
        while at < a.len() - 1 {
            if !a[at].eq_ignore_ascii_case(b"replace") {
                return Reply::error(format!(
                    "ERR Unknown option given: {}",
                    String::from_utf8_lossy(&a[at])
                ));
            }
            replace = true;
            at += 1;
        }
        let lib = match check(a[a.len() - 1].clone()) {
            Ok(lib) => lib,
            Err(e) => return e,
        };
        let functions = Arc::clone(&s.core.engine.functions);
        let _one_at_a_time = functions.writes.lock().await;
        if let Err(e) = functions.catalog(&s.core.store).admits(&lib, replace) {
            return Reply::error(format!("ERR {e}"));
        }
        let name = Bytes::from(lib.name.clone());
        match write(s, a, vec![(Command::FunctionSet, name.clone(), lib.code)]).await {
            Reply::Simple(_) => Reply::Bulk(name),
            other => other,
        }
    })
}

/// FUNCTION DELETE library.
pub fn delete<'s>(s: &'s mut Session<'_>, a: &'s [Bytes]) -> BoxReply<'s> {
    Box::pin(async move {
        let functions = Arc::clone(&s.core.engine.functions);
        let _one_at_a_time = functions.writes.lock().await;
        let name = String::from_utf8_lossy(&a[2]);
        if !functions
            .catalog(&s.core.store)
            .libraries
            .contains_key(name.as_ref())
        {
            return Reply::error("ERR Library not found");
        }
        write(
            s,
            a,
            vec![(Command::FunctionDel, a[2].clone(), Bytes::new())],
        )
        .await
    })
}

/// FUNCTION FLUSH [ASYNC|SYNC].
pub fn flush<'s>(s: &'s mut Session<'_>, a: &'s [Bytes]) -> BoxReply<'s> {
    Box::pin(async move {
        match a.get(2) {
            _ if a.len() > 3 => return Reply::error(syntax(a)),
            Some(m) if !m.eq_ignore_ascii_case(b"sync") && !m.eq_ignore_ascii_case(b"async") => {
                return Reply::error("ERR FUNCTION FLUSH only supports SYNC|ASYNC option")
            }
            _ => {}
        }
        let functions = Arc::clone(&s.core.engine.functions);
        let _one_at_a_time = functions.writes.lock().await;
        write(
            s,
            a,
            vec![(Command::FunctionFlush, Bytes::new(), Bytes::new())],
        )
        .await
    })
}

/// Redis's error for a subcommand's wrong arguments.
fn syntax(a: &[Bytes]) -> String {
    format!(
        "ERR unknown subcommand or wrong number of arguments for '{}'. Try {} HELP.",
        String::from_utf8_lossy(&a[1]),
        String::from_utf8_lossy(&a[0]).to_ascii_uppercase()
    )
}

/// FUNCTION RESTORE payload [FLUSH|APPEND|REPLACE].
pub fn restore<'s>(s: &'s mut Session<'_>, a: &'s [Bytes]) -> BoxReply<'s> {
    Box::pin(async move {
        if a.len() > 4 {
            return Reply::error(syntax(a));
        }
        let policy = match a.get(3).map(|p| p.to_ascii_lowercase()) {
            None => "append".to_owned(),
            Some(p) if [&b"append"[..], b"replace", b"flush"].contains(&p.as_slice()) => {
                String::from_utf8_lossy(&p).into_owned()
            }
            Some(_) => return Reply::error(
                "ERR Wrong restore policy given, value should be either FLUSH, APPEND or REPLACE.",
            ),
        };
        let codes = match payload::restore(&a[2]) {
            Ok(c) => c,
            Err(e) => return Reply::error(format!("ERR {e}")),
        };
        // The payload's libraries among themselves, as Redis loads them.
        let mut vm = None;
        let mut new: std::collections::BTreeMap<String, Library> = Default::default();
        for code in codes {
            let lib = match tokio::task::block_in_place(|| {
                functions::parse_library(&mut vm, Bytes::from(code), Some(LOAD_TIMEOUT))
            }) {
                Ok(lib) => lib,
                Err(e) => return Reply::error(format!("ERR {e}")),
            };
            if let Err(e) = Catalog::new(0, new.clone()).admits(&lib, false) {
                return Reply::error(format!("ERR {e}"));
            }
            new.insert(lib.name.clone(), lib);
        }
        let functions = Arc::clone(&s.core.engine.functions);
        let _one_at_a_time = functions.writes.lock().await;
        let mut events = Vec::new();
        if policy == "flush" {
            events.push((Command::FunctionFlush, Bytes::new(), Bytes::new()));
        } else {
            // As Redis's join: a library that exists is refused unless
            // replacing; then no function may clash with another's.
            let mut current = functions.catalog(&s.core.store).libraries.clone();
            for lib in new.values() {
                if current.contains_key(&lib.name) {
                    if policy != "replace" {
                        return Reply::error(format!("ERR Library {} already exists", lib.name));
                    }
                    current.remove(&lib.name);
                }
            }
            let current = Catalog::new(0, current);
            for lib in new.values() {
                for f in &lib.functions {
                    if current.function(f.name.as_bytes()).is_some() {
                        return Reply::error(format!("ERR Function {} already exists", f.name));
                    }
                }
            }
        }
        for lib in new.into_values() {
            events.push((Command::FunctionSet, Bytes::from(lib.name), lib.code));
        }
        write(s, a, events).await
    })
}

/// FUNCTION DUMP.
pub fn dump(s: &mut Session<'_>, _: &[Bytes]) -> Reply {
    let catalog = s.core.engine.functions.catalog(&s.core.store);
    Reply::Bulk(Bytes::from(payload::dump(
        catalog.libraries.values().map(|l| &l.code[..]),
    )))
}

/// FUNCTION LIST [LIBRARYNAME pattern] [WITHCODE].
pub fn list(s: &mut Session<'_>, a: &[Bytes]) -> Reply {
    let (mut with_code, mut pattern) = (false, None);
    let mut i = 2;
    while i < a.len() {
        if !with_code && a[i].eq_ignore_ascii_case(b"withcode") {
            with_code = true;
        } else if pattern.is_none() && a[i].eq_ignore_ascii_case(b"libraryname") {
            if i + 1 >= a.len() {
                return Reply::error("ERR library name argument was not given");
            }
            i += 1;
            pattern = Some(&a[i]);
        } else {
            return Reply::error(format!(
                "ERR Unknown argument {}",
                String::from_utf8_lossy(&a[i])
            ));
        }
        i += 1;
    }
    let catalog = s.core.engine.functions.catalog(&s.core.store);
    let libs = catalog
        .libraries
        .values()
        .filter(|l| pattern.is_none_or(|p| crate::cmd::generic::glob_match(p, l.name.as_bytes())));
    Reply::Array(
        libs.map(|l| {
            let functions = l
                .functions
                .iter()
                .map(|f| {
                    Reply::Map(vec![
                        (bulk_str("name"), bulk_str(f.name.clone())),
                        (
                            bulk_str("description"),
                            f.description.clone().map_or(Reply::Nil, Reply::Bulk),
                        ),
                        (
                            bulk_str("flags"),
                            Reply::Set(
                                FLAGS
                                    .iter()
                                    .filter(|(_, bit)| f.flags & bit != 0)
                                    .map(|(n, _)| Reply::Simple((*n).into()))
                                    .collect(),
                            ),
                        ),
                    ])
                })
                .collect();
            let mut m = vec![
                (bulk_str("library_name"), bulk_str(l.name.clone())),
                (bulk_str("engine"), bulk_str("LUA")),
                (bulk_str("functions"), Reply::Array(functions)),
            ];
            if with_code {
                m.push((bulk_str("library_code"), Reply::Bulk(l.code.clone())));
            }
            Reply::Map(m)
        })
        .collect(),
    )
}

/// FUNCTION STATS.
pub fn stats(s: &mut Session<'_>, _: &[Bytes]) -> Reply {
    let catalog = s.core.engine.functions.catalog(&s.core.store);
    let running = match s.core.engine.scripts.running() {
        None => Reply::Nil,
        // An EVAL script: Redis answers BUSY.
        Some((None, _)) => return Reply::error(crate::dispatch::BUSY),
        Some((Some((name, command)), since)) => Reply::Map(vec![
            (bulk_str("name"), bulk_str(name)),
            (
                bulk_str("command"),
                Reply::Array(command.into_iter().map(Reply::Bulk).collect()),
            ),
            (
                bulk_str("duration_ms"),
                Reply::Integer(crate::clock::now_ms().saturating_sub(since) as i64),
            ),
        ]),
    };
    Reply::Map(vec![
        (bulk_str("running_script"), running),
        (
            bulk_str("engines"),
            Reply::Map(vec![(
                bulk_str("LUA"),
                Reply::Map(vec![
                    (
                        bulk_str("libraries_count"),
                        Reply::Integer(catalog.libraries.len() as i64),
                    ),
                    (
                        bulk_str("functions_count"),
                        Reply::Integer(catalog.function_count() as i64),
                    ),
                ]),
            )]),
        ),
    ])
}

/// FUNCTION KILL: stop the running function, if it has not written (an
/// EVAL script is SCRIPT KILL's, as Redis answers).
pub fn kill(s: &mut Session<'_>, _: &[Bytes]) -> Reply {
    if let Some((None, _)) = s.core.engine.scripts.running() {
        return Reply::error(crate::dispatch::BUSY);
    }
    match s.core.engine.scripts.kill() {
        Ok(()) => Reply::ok(),
        Err(e) => e,
    }
}

/// FUNCTION HELP.
pub fn help(_: &mut Session<'_>, _: &[Bytes]) -> Reply {
    help_lines(&[
        "FUNCTION <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "LOAD [REPLACE] <FUNCTION CODE>",
        "    Create a new library with the given library name and code.",
        "DELETE <LIBRARY NAME>",
        "    Delete the given library.",
        "LIST [LIBRARYNAME PATTERN] [WITHCODE]",
        "    Return general information on all the libraries:",
        "    * Library name",
        "    * The engine used to run the Library",
        "    * Library description",
        "    * Functions list",
        "    * Library code (if WITHCODE is given)",
        "    It also possible to get only function that matches a pattern using LIBRARYNAME argument.",
        "STATS",
        "    Return information about the current function running:",
        "    * Function name",
        "    * Command used to run the function",
        "    * Duration in MS that the function is running",
        "    If no function is running, return nil",
        "    In addition, returns a list of available engines.",
        "KILL",
        "    Kill the current running function.",
        "FLUSH [ASYNC|SYNC]",
        "    Delete all the libraries.",
        "    When called without the optional mode argument, the behavior is determined by the",
        "    lazyfree-lazy-user-flush configuration directive. Valid modes are:",
        "    * ASYNC: Asynchronously flush the libraries.",
        "    * SYNC: Synchronously flush the libraries.",
        "DUMP",
        "    Return a serialized payload representing the current libraries, can be restored using FUNCTION RESTORE command",
        "RESTORE <PAYLOAD> [FLUSH|APPEND|REPLACE]",
        "    Restore the libraries represented by the given payload, it is possible to give a restore policy to",
        "    control how to handle existing libraries (default APPEND):",
        "    * FLUSH: delete all existing libraries.",
        "    * APPEND: appends the restored libraries to the existing libraries. On collision, abort.",
        "    * REPLACE: appends the restored libraries to the existing libraries, On collision, replace the old",
        "      libraries with the new libraries (notice that even on this option there is a chance of failure",
        "      in case of functions name collision with another library).",
        "HELP",
        "    Prints this help.",
    ])
}
