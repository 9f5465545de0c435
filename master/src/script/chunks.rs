//! The Lua the interpreter runs besides scripts: the `redis` library's
//! parts written in Lua, the sandbox, the read-only libraries, and the
//! runner every script and function goes through.

/// Lua set-up run once: the parts of the `redis` library written in Lua,
/// and `pcall`/`xpcall` that hand a script the `{err = ...}` table Redis
/// raises (our errors cross Rust as userdata: `__unwrap` turns them back).
/// `redis.call` and `redis.pcall` are set for each batch of runs (see
/// [`RUN`]).
pub(super) const PRELUDE: &str = r#"
local unwrap, real_pcall, real_xpcall = __unwrap, pcall, xpcall
local killed = __killed
local function fix(ok, ...)
  if ok then return ok, ... end
  local e = unwrap((...))
  if killed(e) then error(e, 0) end
  return ok, e
end
pcall = function(...) return fix(real_pcall(...)) end
xpcall = function(f, h)
  return fix(real_xpcall(f, function(e)
    e = unwrap(e)
    if killed(e) then return e end
    return h(e)
  end))
end
local real_resume = coroutine.resume
coroutine.resume = function(...) return fix(real_resume(...)) end
redis.error_reply = function(e)
  if type(e) ~= 'string' then return {err = 'ERR wrong number or type of arguments'} end
  return {err = e}
end
redis.status_reply = function(s)
  if type(s) ~= 'string' then return {err = 'ERR wrong number or type of arguments'} end
  return {ok = s}
end
redis.set_repl = function() end
redis.replicate_commands = function() return true end
redis.LOG_DEBUG, redis.LOG_VERBOSE, redis.LOG_NOTICE, redis.LOG_WARNING = 0, 1, 2, 3
redis.REPL_NONE, redis.REPL_AOF, redis.REPL_SLAVE, redis.REPL_REPLICA, redis.REPL_ALL = 0, 1, 2, 2, 3
redis.REDIS_VERSION, redis.REDIS_VERSION_NUM = __version, __version_num
"#;

/// Runs a script or a function: one call from Rust per run, which sets
/// what the run sees (KEYS and ARGV for a script, the call functions),
/// runs it under the error handler (Lua 5.1's xpcall passes no arguments,
/// so a function's keys and args go through a closure), and clears what
/// the run left: the call functions, and what a script put on the proxy
/// past `__newindex` (rawset), which the next one must not see.
pub(super) const RUN: &str = r#"
local globals, env, redis, xpcall, handler = ...
local next, rawget, rawset = next, rawget, rawset
-- (a function runs through one closure made here, not one per run)
local fn, fn_keys, fn_args
local function run_function() return fn(fn_keys, fn_args) end
return function(f, call, pcall, keys, args, is_script)
  redis.call, redis.pcall = call, pcall
  local ok, v
  if is_script then
    rawset(globals, 'KEYS', keys)
    rawset(globals, 'ARGV', args)
    ok, v = xpcall(f, handler)
  else
    -- (a nil set where there is no key rehashes the table, every time)
    if rawget(globals, 'KEYS') ~= nil then
      rawset(globals, 'KEYS', nil)
      rawset(globals, 'ARGV', nil)
    end
    fn, fn_keys, fn_args = f, keys, args
    ok, v = xpcall(run_function, handler)
    fn, fn_keys, fn_args = nil, nil, nil
  end
  redis.call, redis.pcall = nil, nil
  if next(env) ~= nil then
    local stray = {}
    for k in next, env do stray[#stray + 1] = k end
    for i = 1, #stray do rawset(env, stray[i], nil) end
  end
  return ok, v
end
"#;

/// Redis's libraries are read-only to scripts: each becomes a proxy that
/// reads through to it and refuses writes. The `redis` a library sees
/// while it loads also refuses reading a field it lacks, as Redis's.
pub(super) const READ_ONLY: &str = r#"
local globals, load_redis = ...
local function refuse() error('Attempt to modify a readonly table', 2) end
for _, name in ipairs({'string', 'math', 'table', 'coroutine', 'redis', 'bit', 'cjson', 'cmsgpack', 'struct'}) do
  local real = rawget(globals, name)
  if real then
    rawset(globals, name, setmetatable({}, {__index = real, __newindex = refuse, __metatable = false}))
  end
end
setmetatable(load_redis, {
  __index = function(_, k)
    error("Script attempted to access nonexistent global variable '" .. tostring(k) .. "'", 2)
  end,
  __newindex = refuse,
  __metatable = false,
})
"#;

/// What scripts see as globals: a proxy over the real globals that
/// refuses new ones and unknown names, as Redis's sandbox does.
pub(super) const SANDBOX: &str = r#"
local globals, proxy, allowed_nil = ...
setmetatable(proxy, {
  __index = function(_, k)
    local v = rawget(globals, k)
    if v == nil and not allowed_nil[k] then
      error("Script attempted to access nonexistent global variable '" .. tostring(k) .. "'", 2)
    end
    return v
  end,
  __newindex = function() error('Attempt to modify a readonly table', 2) end,
  __metatable = false,
})
"#;
