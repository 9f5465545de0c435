//! Function libraries in the interpreter: a library's code run as
//! FUNCTION LOAD runs it (its own read-only globals, `redis` with
//! `register_function` alone while it loads), what it registers, and
//! FCALL's run of a registered function.

use std::time::{Duration, Instant};

use bytes::Bytes;
use mlua::{Function, MultiValue, Table, Value};
use rocksync_protocol::Reply;
use std::sync::{Arc, Mutex, PoisonError};

use super::{cjson, functions, raise, refuse_bytecode, Catalog, Vm};

/// A function library's globals: while its code loads, only the `redis`
/// of loading (`register_function`, `log`); after, those of scripts.
/// Both read-only, as Redis's. Returns the globals and the function that
/// ends the loading.
pub(super) const LIBRARY_ENV: &str = r#"
local load_api, real, allowed_nil = ...
local loading = true
local env = {}
setmetatable(env, {
  __index = function(_, k)
    local v
    if loading then v = rawget(load_api, k) else v = rawget(real, k) end
    if v == nil and (loading or not allowed_nil[k]) then
      error("Script attempted to access nonexistent global variable '" .. tostring(k) .. "'", 2)
    end
    return v
  end,
  __newindex = function() error('Attempt to modify a readonly table', 2) end,
  __metatable = false,
})
return env, function() loading = false end
"#;

impl Vm {
    /// The function `name` of `catalog` (FCALL), its library loaded here
    /// first when this interpreter has not yet.
    ///
    /// # Errors
    /// Redis's reply for a function the catalog lacks.
    pub(super) fn function_of(
        &mut self,
        catalog: &Arc<Catalog>,
        name: &str,
    ) -> Result<Function, Reply> {
        // (the very catalog, not its generation: one read while a commit
        // landed may hold the next generation's libraries)
        if !self
            .loaded_from
            .as_ref()
            .is_some_and(|c| Arc::ptr_eq(c, catalog))
        {
            self.loaded.clear();
            for lib in catalog.libraries.values() {
                let body = functions::metadata(&lib.code).map(|(_, at)| &lib.code[at..]);
                match body.and_then(|b| self.load_library(b, None)) {
                    Ok(fs) => self.loaded.extend(
                        fs.into_iter()
                            .map(|(m, f)| (m.name.to_ascii_lowercase(), f)),
                    ),
                    Err(e) => {
                        tracing::error!(library = %lib.name, error = %e, "a function library does not load")
                    }
                }
            }
            self.loaded_from = Some(Arc::clone(catalog));
        }
        self.loaded
            .get(&name.to_ascii_lowercase())
            .cloned()
            .ok_or_else(|| Reply::error("ERR Function not found"))
    }

    /// Run `code` (a library's, after its `#!` line) as FUNCTION LOAD
    /// does, stopped after `timeout`: what it registers, each function's
    /// description and its callback, in order.
    ///
    /// # Errors
    /// Redis's reason, without `ERR ` (`Error compiling function: ...`,
    /// `Error registering functions: ...`).
    pub fn load_library(
        &mut self,
        code: &[u8],
        timeout: Option<Duration>,
    ) -> Result<Vec<(functions::FunctionMeta, Function)>, String> {
        refuse_bytecode(code).map_err(|_| {
            "Error compiling function: user_function:1: unexpected symbol near 'char(27)'"
                .to_owned()
        })?;
        let lua_err = |e: mlua::Error| format!("Error registering functions: ERR {e}");
        let (env, loaded): (Table, Function) = self
            .library_env
            .call((
                self.load_api.clone(),
                self.globals.clone(),
                self.allowed_nil.clone(),
            ))
            .map_err(lua_err)?;
        let chunk = self
            .lua
            .load(code)
            .set_name("@user_function")
            .set_mode(mlua::ChunkMode::Text)
            .set_environment(env)
            .into_function()
            .map_err(|e| {
                let text = match &e {
                    mlua::Error::SyntaxError { message, .. } => message.clone(),
                    other => other.to_string(),
                };
                format!("Error compiling function: {text}")
            })?;
        let registered: Mutex<Vec<(functions::FunctionMeta, Function)>> = Mutex::default();
        *self
            .load_deadline
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = timeout.map(|t| Instant::now() + t);
        let ran = self.lua.scope(|scope| {
            let register = scope.create_function(|_, args: MultiValue| {
                let (meta, callback) =
                    registration(args).map_err(|e| raise(&format!("ERR {e}")))?;
                let mut all = registered.lock().unwrap_or_else(PoisonError::into_inner);
                if !functions::valid_name(meta.name.as_bytes()) {
                    return Err(raise(&format!("ERR {}", functions::BAD_NAME)));
                }
                if all.iter().any(|(m, _)| m.name == meta.name) {
                    return Err(raise("ERR Function already exists in the library"));
                }
                all.push((meta, callback));
                Ok(())
            })?;
            self.load_redis.raw_set("register_function", register)?;
            self.xpcall
                .call::<(bool, Value)>((chunk, self.handler.clone()))
        });
        *self
            .load_deadline
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = None;
        self.load_redis
            .raw_set("register_function", Value::Nil)
            .map_err(lua_err)?;
        loaded.call::<()>(()).map_err(lua_err)?;
        match ran.map_err(lua_err)? {
            (true, _) => Ok(registered
                .into_inner()
                .unwrap_or_else(PoisonError::into_inner)),
            (false, Value::Table(t)) => {
                let text = t
                    .raw_get::<Option<String>>("err")
                    .ok()
                    .flatten()
                    .unwrap_or_default();
                Err(format!("Error registering functions: {text}"))
            }
            (false, other) => Err(format!(
                "Error registering functions: ERR {}",
                other.to_string().unwrap_or_default()
            )),
        }
    }
}

/// `redis.register_function`'s arguments, checked as Redis checks them:
/// (name, callback) or one table of named arguments.
fn registration(args: MultiValue) -> Result<(functions::FunctionMeta, Function), &'static str> {
    let text = |v: &Value| match v {
        Value::String(s) => Some(s.to_string_lossy()),
        Value::Integer(n) => Some(n.to_string()),
        Value::Number(n) => Some(cjson::g14(*n)),
        _ => None,
    };
    let args: Vec<Value> = args.into_iter().collect();
    match args.as_slice() {
        [name, callback] => {
            let name =
                text(name).ok_or("first argument to redis.register_function must be a string")?;
            let Value::Function(f) = callback else {
                return Err("second argument to redis.register_function must be a function");
            };
            Ok((
                functions::FunctionMeta {
                    name,
                    description: None,
                    flags: 0,
                },
                f.clone(),
            ))
        }
        [named] => {
            let Value::Table(t) = named else {
                return Err("calling redis.register_function with a single argument is only applicable to Lua table (representing named arguments).");
            };
            let (mut name, mut description, mut callback, mut flags) = (None, None, None, 0u8);
            for pair in t.clone().pairs::<Value, Value>() {
                let (k, v) =
                    pair.map_err(|_| "unknown argument given to redis.register_function")?;
                let k = text(&k)
                    .ok_or("named argument key given to redis.register_function is not a string")?;
                match k.to_ascii_lowercase().as_str() {
                    "function_name" => {
                        name = Some(text(&v).ok_or(
                            "function_name argument given to redis.register_function must be a string",
                        )?);
                    }
                    "description" => {
                        let d = match &v {
                            Value::String(s) => Bytes::copy_from_slice(&s.as_bytes()),
                            other => Bytes::from(text(other).ok_or(
                                "description argument given to redis.register_function must be a string",
                            )?),
                        };
                        description = Some(d);
                    }
                    "callback" => match v {
                        Value::Function(f) => callback = Some(f),
                        _ => return Err(
                            "callback argument given to redis.register_function must be a function",
                        ),
                    },
                    "flags" => {
                        let Value::Table(list) = v else {
                            return Err("flags argument to redis.register_function must be a table representing function flags");
                        };
                        for item in list.sequence_values::<Value>() {
                            let item = item.map_err(|_| "unknown flag given")?;
                            let flag = text(&item).ok_or("unknown flag given")?;
                            let (_, bit) = functions::FLAGS
                                .iter()
                                .find(|(n, _)| n.eq_ignore_ascii_case(&flag))
                                .ok_or("unknown flag given")?;
                            flags |= bit;
                        }
                    }
                    _ => return Err("unknown argument given to redis.register_function"),
                }
            }
            let name = name.ok_or("redis.register_function must get a function name argument")?;
            let callback =
                callback.ok_or("redis.register_function must get a callback argument")?;
            Ok((
                functions::FunctionMeta {
                    name,
                    description,
                    flags,
                },
                callback,
            ))
        }
        _ => Err("wrong number of arguments to redis.register_function"),
    }
}
