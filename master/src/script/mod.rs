//! Lua scripting as Redis 7.0 has it: one Lua 5.1 interpreter with
//! Redis's sandbox (read-only globals, no file or OS access), the `redis`
//! library, scripts cached by their SHA-1, and the conversions between
//! Lua values and replies.
//!
//! The interpreter runs a script against a [`Host`]: whoever runs it
//! (the write path, so a script is one unit in the binlog and on every
//! slave) answers its `redis.call`s. Nothing here knows about storage.

mod bit;
mod chunks;
mod cjson;
mod convert;
pub mod functions;
mod library;
mod msgpack;
mod packlibs;
pub mod payload;
mod raised;
mod scripts;
mod structs;

use std::collections::HashMap;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

use bytes::Bytes;
use mlua::{Function, Lua, LuaOptions, MultiValue, StdLib, Table, Value, VmState};
use rocksync_protocol::Reply;

use chunks::{PRELUDE, READ_ONLY, RUN, SANDBOX};
pub use convert::{to_lua, to_reply};
pub use functions::{Catalog, Functions};
use raised::{error_handler, raise, unwrap};
pub use scripts::Scripts;
use scripts::{IDLE, KILLED_ERR, RUNNING};

/// How a script's calls are answered, and what is told when each script
/// of a batch (see [`Vm::run_all`]) starts and ends.
pub trait Host: Send {
    /// Run one command (its name first), as the script's `redis.call`.
    /// The reply is an error reply for a command that may not run.
    fn call(&mut self, args: Vec<Bytes>) -> Reply;

    /// Script `i` of the batch is about to run, from `started` on; the
    /// wall clock then (unix ms: the script's one time, as Redis keeps).
    fn begin(&mut self, i: usize, started: Instant) -> u64;

    /// Script `i` ended with `reply`, after `us` microseconds.
    fn end(&mut self, i: usize, reply: Reply, us: u64);
}

/// One script (EVAL and its kin) or function (FCALL) to run.
#[derive(Debug, Clone, Copy)]
pub struct Run<'a> {
    /// A script's SHA-1, or the function's name.
    pub name: &'a str,
    /// A script's source (unused for a function).
    pub body: &'a [u8],
    /// For a function: the catalog it is found in.
    pub function: Option<&'a Arc<Catalog>>,
    /// KEYS (a function's first argument).
    pub keys: &'a [Bytes],
    /// ARGV (a function's second).
    pub argv: &'a [Bytes],
    /// The command's first arguments as the client sent them: its name,
    /// the script's or function's, the number of keys (FUNCTION STATS
    /// shows a running function's command line).
    pub called: &'a [Bytes; 3],
}

/// The SHA-1 of `body`, in lowercase hex (a script's name).
pub fn sha1_hex(body: &[u8]) -> String {
    sha1_smol::Sha1::from(body).digest().to_string()
}

/// The interpreter (one, as Redis has), owned by whoever runs scripts.
pub struct Vm {
    lua: Lua,
    /// The globals a script sees (the read-only proxy).
    env: Table,
    /// The real globals, where KEYS and ARGV are set.
    globals: Table,
    /// The running script's protocol (`redis.setresp`): 2 or 3.
    resp: Arc<AtomicU8>,
    /// The `redis` table (its call functions are set for each batch).
    redis: Table,
    /// Lua's own xpcall (scripts see one that unwraps our errors).
    xpcall: Function,
    /// The error handler a script runs under.
    handler: Function,
    compiled: HashMap<String, Function>,
    generation: u64,
    scripts: Arc<Scripts>,
    /// The `redis` a library sees while it loads.
    load_redis: Table,
    /// The globals a library sees while it loads (`redis` alone).
    load_api: Table,
    /// Makes a library's globals (see [`LIBRARY_ENV`]).
    library_env: Function,
    /// Names that read as nil rather than an error.
    allowed_nil: Table,
    /// Runs a script or a function (see [`RUN`]).
    runner: Function,
    /// The functions loaded (lowercase name: its callback), and the
    /// catalog generation they are of.
    loaded: HashMap<String, Function>,
    loaded_from: Option<Arc<Catalog>>,
    /// While a library loads under FUNCTION LOAD: when it must stop.
    load_deadline: Arc<Mutex<Option<Instant>>>,
}

impl std::fmt::Debug for Vm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Vm")
            .field("compiled", &self.compiled.len())
            .finish()
    }
}

/// Instructions between checks for SCRIPT KILL.
const HOOK_EVERY: u32 = 100_000;

impl Vm {
    /// A fresh interpreter with Redis's libraries and sandbox.
    ///
    /// # Errors
    /// Lua errors while setting it up (none expected).
    pub fn new(scripts: Arc<Scripts>) -> mlua::Result<Self> {
        let lua = Lua::new_with(
            StdLib::TABLE | StdLib::STRING | StdLib::MATH,
            LuaOptions::default(),
        )?;
        let globals = lua.globals();
        // (getfenv/setfenv would reach the real globals past the proxy)
        for name in [
            "dofile",
            "loadfile",
            "print",
            "loadstring",
            "load",
            "module",
            "require",
            "getfenv",
            "setfenv",
        ] {
            globals.raw_set(name, Value::Nil)?;
        }
        let redis = lua.create_table()?;
        redis.raw_set(
            "sha1hex",
            lua.create_function(|lua, s: mlua::String| lua.create_string(sha1_hex(&s.as_bytes())))?,
        )?;
        redis.raw_set(
            "log",
            lua.create_function(|_, (level, msg): (i64, MultiValue)| {
                let text: Vec<String> = msg
                    .iter()
                    .map(|v| v.to_string().unwrap_or_default())
                    .collect();
                let text = text.join(" ");
                match level {
                    0 | 1 => tracing::debug!(target: "script", "{text}"),
                    2 => tracing::info!(target: "script", "{text}"),
                    _ => tracing::warn!(target: "script", "{text}"),
                }
                Ok(())
            })?,
        )?;
        globals.raw_set("redis", redis.clone())?;
        globals.raw_set("__version", crate::info::REDIS_VERSION)?;
        globals.raw_set("__version_num", version_num(crate::info::REDIS_VERSION))?;
        globals.raw_set("bit", bit::library(&lua)?)?;
        globals.raw_set("cjson", cjson::library(&lua)?)?;
        globals.raw_set("cmsgpack", packlibs::cmsgpack(&lua)?)?;
        globals.raw_set("struct", packlibs::structs(&lua)?)?;
        let resp = Arc::new(AtomicU8::new(2));
        let set = Arc::clone(&resp);
        redis.raw_set(
            "setresp",
            lua.create_function(move |_, v: Value| {
                match v {
                    Value::Integer(n @ (2 | 3)) => set.store(n as u8, Ordering::Relaxed),
                    Value::Number(n) if n == 2.0 || n == 3.0 => {
                        set.store(n as u8, Ordering::Relaxed);
                    }
                    _ => return Err(raise("ERR RESP version must be 2 or 3.")),
                }
                Ok(())
            })?,
        )?;
        let xpcall: Function = globals.raw_get("xpcall")?;
        globals.raw_set("__unwrap", lua.create_function(unwrap)?)?;
        // A killed script's error is re-raised by every catcher: SCRIPT
        // KILL (and a shutdown) always ends the script.
        globals.raw_set(
            "__killed",
            lua.create_function(|_, e: Value| {
                Ok(matches!(&e, Value::String(s) if s.as_bytes().starts_with(KILLED_ERR.as_bytes())))
            })?,
        )?;
        lua.load(PRELUDE).set_name("=prelude").exec()?;
        for name in ["__unwrap", "__killed", "__version", "__version_num"] {
            globals.raw_set(name, Value::Nil)?;
        }
        let handler = lua.create_function(error_handler)?;
        // SCRIPT KILL: checked every HOOK_EVERY instructions (installed
        // once; a script that is not killed pays one load per check).
        let killer = Arc::clone(&scripts);
        let load_deadline: Arc<Mutex<Option<Instant>>> = Arc::default();
        let deadline = Arc::clone(&load_deadline);
        lua.set_hook(
            mlua::HookTriggers::new().every_nth_instruction(HOOK_EVERY),
            move |_, _| {
                if killer.must_stop() {
                    return Err(mlua::Error::runtime(KILLED_ERR));
                }
                let due = *deadline.lock().unwrap_or_else(PoisonError::into_inner);
                if due.is_some_and(|d| Instant::now() >= d) {
                    return Err(raise("ERR FUNCTION LOAD timeout"));
                }
                Ok(VmState::Continue)
            },
        );
        let env = lua.create_table()?;
        let allowed_nil = lua.create_table()?;
        allowed_nil.raw_set("loadstring", true)?;
        lua.load(SANDBOX).set_name("=sandbox").call::<()>((
            globals.clone(),
            env.clone(),
            allowed_nil.clone(),
        ))?;
        globals.raw_set("_G", env.clone())?;
        let load_redis = lua.create_table()?;
        for (k, v) in redis.clone().pairs::<Value, Value>().flatten() {
            if let Value::String(name) = &k {
                let name = name.to_string_lossy();
                if name == "log" || name.starts_with("LOG_") || name.starts_with("REDIS_VERSION") {
                    load_redis.raw_set(k, v)?;
                }
            }
        }
        lua.load(READ_ONLY)
            .set_name("=read_only")
            .call::<()>((globals.clone(), load_redis.clone()))?;
        let load_api = lua.create_table()?;
        load_api.raw_set("redis", load_redis.clone())?;
        let library_env: Function = lua
            .load(library::LIBRARY_ENV)
            .set_name("=library_env")
            .into_function()?;
        let runner: Function = lua.load(RUN).set_name("=run").call((
            globals.clone(),
            env.clone(),
            redis.clone(),
            xpcall.clone(),
            handler.clone(),
        ))?;
        Ok(Self {
            load_redis,
            load_api,
            library_env,
            allowed_nil,
            runner,
            loaded: HashMap::new(),
            loaded_from: None,
            load_deadline,
            lua,
            env,
            globals,
            resp,
            redis,
            xpcall,
            handler,
            compiled: HashMap::new(),
            generation: scripts.generation.load(Ordering::Acquire),
            scripts,
        })
    }

    /// Compile `body` (named `sha`), or take it from the cache.
    ///
    /// # Errors
    /// Redis's reply for a script that does not compile.
    fn function(&mut self, sha: &str, body: &[u8]) -> Result<Function, Reply> {
        let generation = self.scripts.generation.load(Ordering::Acquire);
        if generation != self.generation {
            self.compiled.clear();
            self.generation = generation;
        }
        if let Some(f) = self.compiled.get(sha) {
            return Ok(f.clone());
        }
        refuse_bytecode(body)?;
        let f = self
            .lua
            .load(code_of(body))
            .set_name("@user_script")
            // Text only: Lua 5.1's bytecode loader trusts what it loads
            // (Redis's CVE-2015-4335).
            .set_mode(mlua::ChunkMode::Text)
            .set_environment(self.env.clone())
            .into_function()
            .map_err(|e| {
                let text = match &e {
                    mlua::Error::SyntaxError { message, .. } => message.clone(),
                    other => other.to_string(),
                };
                Reply::error(format!("ERR Error compiling script (new function): {text}"))
            })?;
        self.compiled.insert(sha.to_owned(), f.clone());
        // An EVAL'd script is cached once it compiles (EVALSHA finds it).
        self.scripts
            .bodies()
            .entry(sha.to_owned())
            .or_insert_with(|| Bytes::copy_from_slice(body));
        Ok(f)
    }

    /// Run `runs` in order, each script's calls answered by `host`, which
    /// is told as each begins and ends (with its reply). The call
    /// functions a script sees are made once for the whole batch.
    pub fn run_all(&mut self, host: &mut dyn Host, runs: &[Run<'_>]) {
        let callables: Vec<Result<Callable<'_>, Reply>> = runs
            .iter()
            .map(|r| match r.function {
                Some(catalog) => self
                    .function_of(catalog, r.name)
                    .map(|f| Callable::Function(r.name, f)),
                None => self
                    .function(r.name, r.body)
                    .map(|f| Callable::Script(r.name, f)),
            })
            .collect();
        let host = Mutex::new(host);
        let lock = || host.lock().unwrap_or_else(PoisonError::into_inner);
        let mut ended = 0;
        let resp = &self.resp;
        // A call's arguments as a command line, or Redis's refusal.
        let line = |args: &MultiValue| -> Result<Vec<Bytes>, &'static str> {
            let mut cmd = Vec::with_capacity(args.len());
            for a in args.iter() {
                match a {
                    Value::String(s) => cmd.push(Bytes::copy_from_slice(&s.as_bytes())),
                    Value::Integer(n) => cmd.push(Bytes::from(n.to_string())),
                    // As Lua prints a number (%.14g).
                    Value::Number(n) => cmd.push(Bytes::from(cjson::g14(*n))),
                    _ => {
                        return Err(
                            "ERR Lua redis lib command arguments must be strings or integers",
                        )
                    }
                }
            }
            if cmd.is_empty() {
                return Err("ERR Please specify at least one argument for this redis lib call");
            }
            Ok(cmd)
        };
        let made = self.lua.scope(|scope| {
            // redis.call: the reply, or Redis's error raised (a C function,
            // as Redis's, so the script's line is known even in a tail call).
            let call = scope.create_function(|lua, args: MultiValue| {
                let cmd = line(&args).map_err(raise)?;
                let reply = lock().call(cmd);
                if let Reply::Error(e) = &reply {
                    return Err(raise(e));
                }
                to_lua(lua, &reply, resp.load(Ordering::Relaxed))
            })?;
            // redis.pcall: the reply, an error as its `{err = ...}` table.
            let pcall = scope.create_function(|lua, args: MultiValue| {
                let reply = match line(&args) {
                    Ok(cmd) => lock().call(cmd),
                    Err(e) => Reply::error(e),
                };
                to_lua(lua, &reply, resp.load(Ordering::Relaxed))
            })?;
            for (run, what) in runs.iter().zip(&callables) {
                // (two clock reads a script: its start and its end)
                let started = Instant::now();
                let now = lock().begin(ended, started);
                let reply = match what {
                    Ok(what) => self.run_timed(what, run, (&call, &pcall), now),
                    Err(refused) => refused.clone(),
                };
                let us = started.elapsed().as_micros() as u64;
                self.note_time(what, us);
                lock().end(ended, reply, us);
                ended += 1;
            }
            Ok(())
        });
        if let Err(e) = made {
            // (the call functions could not be made: nothing ran)
            for i in ended..runs.len() {
                lock().begin(i, Instant::now());
                lock().end(i, Reply::error(format!("ERR {e}")), 0);
            }
        }
    }

    /// Run `what` with its state and time kept (SCRIPT KILL, BUSY, and
    /// whether it runs long).
    fn run_timed(
        &self,
        what: &Callable<'_>,
        run: &Run<'_>,
        calls: (&Function, &Function),
        now: u64,
    ) -> Reply {
        let (keys, argv) = (run.keys, run.argv);
        let scripts = &self.scripts;
        if let Callable::Function(name, _) = what {
            let mut f = scripts
                .function
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            f.running = true;
            f.called.clone_from(run.called);
            f.name.clear();
            f.name.push_str(name);
            f.args.clear();
            f.args.extend(keys.iter().chain(argv).cloned());
        }
        scripts.running_since.store(now, Ordering::Release);
        scripts.state.store(RUNNING, Ordering::Release);
        let reply = self
            .run_hooked(what, keys, argv, calls)
            .unwrap_or_else(|e| Reply::error(format!("ERR {e}")));
        scripts.state.store(IDLE, Ordering::Release);
        if matches!(what, Callable::Function(..)) {
            let mut f = scripts
                .function
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            f.running = false;
            // (the arguments are not held past the call, nor room for
            // a great many)
            f.args.clear();
            f.args.shrink_to(64);
            f.called = Default::default();
        }
        reply
    }

    /// How long `what` took, for whether it may run long next time.
    fn note_time(&self, what: &Result<Callable<'_>, Reply>, us: u64) {
        let Ok(what) = what else { return };
        let mut last = self
            .scripts
            .last_run_us
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        match last.get_mut(what.name()) {
            Some(was) => *was = us,
            None => {
                last.insert(what.name().to_owned(), us);
            }
        }
    }

    /// What [`RUN`] clears after a run: the call functions, and what a
    /// script put on the proxy past `__newindex`.
    fn clean_up(&self) -> mlua::Result<()> {
        self.redis.raw_set("call", Value::Nil)?;
        self.redis.raw_set("pcall", Value::Nil)?;
        let stray: Vec<Value> = self
            .env
            .clone()
            .pairs::<Value, Value>()
            .filter_map(|pair| pair.ok().map(|(k, _)| k))
            .collect();
        for k in stray {
            self.env.raw_set(k, Value::Nil)?;
        }
        Ok(())
    }

    fn run_hooked(
        &self,
        what: &Callable<'_>,
        keys: &[Bytes],
        argv: &[Bytes],
        (call, pcall): (&Function, &Function),
    ) -> mlua::Result<Reply> {
        let lua = &self.lua;
        // (text goes onto Lua's stack directly; other bytes through a
        // string mlua makes and references first, about twice the work)
        let strings = |items: &[Bytes]| {
            lua.create_sequence_from(items.iter().map(|b| match std::str::from_utf8(b) {
                Ok(text) => mlua::Either::Left(text),
                Err(_) => mlua::Either::Right(mlua::BString::from(&b[..])),
            }))
        };
        let (keys, argv) = (strings(keys)?, strings(argv)?);
        self.resp.store(2, Ordering::Relaxed);
        let (f, is_script) = match what {
            Callable::Script(_, f) => (f, true),
            Callable::Function(_, f) => (f, false),
        };
        let (ok, value): (bool, Value) =
            match self.runner.call((f, call, pcall, keys, argv, is_script)) {
                Ok(r) => r,
                Err(e) => {
                    // Stopped outside the script, in the runner's set-up or
                    // clean-up (SCRIPT KILL or a shutdown met the hook
                    // there): cleaned up here, where no hook runs.
                    self.clean_up()?;
                    if self.scripts.must_stop() {
                        return Ok(Reply::error(KILLED_ERR));
                    }
                    return Err(e);
                }
            };
        let resp = self.resp.load(Ordering::Relaxed);
        if ok {
            return Ok(to_reply(&value, resp));
        }
        // An error raised in the script: Redis names the script and line.
        let (text, line) = match &value {
            Value::Table(t) => (
                t.raw_get::<Option<String>>("err")?.unwrap_or_default(),
                t.raw_get::<Option<i64>>("line")?,
            ),
            other => (
                format!("ERR {}", other.to_string().unwrap_or_default()),
                None,
            ),
        };
        let chunk = match what {
            Callable::Script(..) => "user_script",
            Callable::Function(..) => "user_function",
        };
        let at = line.map_or_else(String::new, |l| format!(", on @{chunk}:{l}"));
        Ok(Reply::Error(format!("{text} script: {}{at}.", what.name())))
    }
}

/// What runs: a script (its SHA-1) or a function (its name).
pub(super) enum Callable<'a> {
    Script(&'a str, Function),
    Function(&'a str, Function),
}

impl Callable<'_> {
    fn name(&self) -> &str {
        match self {
            Self::Script(n, _) | Self::Function(n, _) => n,
        }
    }
}

/// Redis's `REDIS_VERSION_NUM` of a version `a.b.c`: 0x00aabbcc.
fn version_num(v: &str) -> i64 {
    v.split('.')
        .take(3)
        .fold(0, |n, part| (n << 8) | part.parse::<i64>().unwrap_or(0))
}

/// A body starting with ESC is Lua bytecode to Lua's loader: refused as
/// Redis's lexer refuses it (its loader takes text only).
fn refuse_bytecode(body: &[u8]) -> Result<(), Reply> {
    if body.first() == Some(&0x1b) {
        return Err(Reply::error(
            "ERR Error compiling script (new function): user_script:1: unexpected symbol near 'char(27)'",
        ));
    }
    Ok(())
}

/// Compile `body` in a throwaway interpreter: Redis's error for a script
/// that does not compile (SCRIPT LOAD checks before it keeps one).
///
/// # Errors
/// The compile error, as EVAL would give it.
pub fn check_syntax(body: &[u8]) -> Result<(), Reply> {
    refuse_bytecode(body)?;
    shebang(body)?;
    let lua = Lua::new_with(StdLib::NONE, LuaOptions::default())
        .map_err(|e| Reply::error(format!("ERR {e}")))?;
    lua.load(code_of(body))
        .set_name("@user_script")
        .set_mode(mlua::ChunkMode::Text)
        .into_function()
        .map(|_| ())
        .map_err(|e| {
            let text = match &e {
                mlua::Error::SyntaxError { message, .. } => message.clone(),
                other => other.to_string(),
            };
            Reply::error(format!("ERR Error compiling script (new function): {text}"))
        })
}

/// A script's flags from its `#!lua flags=...` line (Redis 7's), or
/// `None` for a script without one (which may write, as before 7.0).
///
/// # Errors
/// Redis's reply for a line it does not take.
pub fn shebang(body: &[u8]) -> Result<Option<u8>, Reply> {
    if !body.starts_with(b"#!") {
        return Ok(None);
    }
    let Some(end) = body.iter().position(|&b| b == b'\n') else {
        return Err(Reply::error("ERR Invalid script shebang"));
    };
    let line = String::from_utf8_lossy(&body[..end]);
    let mut parts = line.split_ascii_whitespace();
    let engine = parts.next().unwrap_or_default();
    if engine != "#!lua" {
        return Err(Reply::error(format!(
            "ERR Unexpected engine in script shebang: {engine}"
        )));
    }
    let mut flags = 0;
    for part in parts {
        let Some(list) = part.strip_prefix("flags=") else {
            return Err(Reply::error(format!(
                "ERR Unknown lua shebang option: {part}"
            )));
        };
        for flag in list.split(',').filter(|f| !f.is_empty()) {
            let Some((_, bit)) = functions::FLAGS.iter().find(|(n, _)| *n == flag) else {
                return Err(Reply::error(format!(
                    "ERR Unexpected flag in script shebang: {flag}"
                )));
            };
            flags |= bit;
        }
    }
    Ok(Some(flags))
}

/// What Lua compiles of a script: after its `#!` line, if it has one (from
/// the line's end, so line numbers hold).
fn code_of(body: &[u8]) -> &[u8] {
    match body.iter().position(|&b| b == b'\n') {
        Some(end) if body.starts_with(b"#!") => &body[end..],
        _ => body,
    }
}
