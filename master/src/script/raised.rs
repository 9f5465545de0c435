//! Errors inside the interpreter as Redis raises them: a `{err = text}`
//! table crosses Rust as a marked mlua error, and the handler a script
//! runs under turns every error into that table with the script's line.

use mlua::{Lua, Value};

/// Marks an error raised as Redis raises `{err = text}`: it crosses Rust
/// as an mlua error; `unwrap` and the handler make it the table again.
const RAISED: &str = "\u{0}redis-error\u{0}";

/// Raise Redis's `{err = text}` from a Rust function.
pub(super) fn raise(text: &str) -> mlua::Error {
    mlua::Error::runtime(format!("{RAISED}{text}"))
}

/// The error under mlua's wrappers (callback, context).
fn root(e: &mlua::Error) -> &mlua::Error {
    match e {
        mlua::Error::CallbackError { cause, .. } => root(cause),
        mlua::Error::WithContext { cause, .. } => root(cause),
        e => e,
    }
}

/// The text of a Lua error value: a raised `{err = ...}`'s text, marked
/// (`Ok`), or any other error's message (`Err`).
pub(super) fn error_text(e: &mlua::Error) -> Result<String, String> {
    match root(e) {
        mlua::Error::RuntimeError(m) => match m.strip_prefix(RAISED) {
            Some(text) => Ok(text.to_owned()),
            None => Err(m.clone()),
        },
        other => Err(other.to_string()),
    }
}

/// What a script's `pcall` hands back for an error: Redis's table for one
/// raised as Redis raises it, the message for another Rust error.
pub(super) fn unwrap(lua: &Lua, v: Value) -> mlua::Result<Value> {
    let Value::Error(e) = v else {
        return Ok(v);
    };
    match error_text(&e) {
        Ok(text) => {
            let t = lua.create_table()?;
            t.raw_set("err", text)?;
            Ok(Value::Table(t))
        }
        Err(message) => Ok(Value::String(lua.create_string(message)?)),
    }
}

/// xpcall's handler: every error becomes `{err = ...}` with the line of
/// the script where it happened.
pub(super) fn error_handler(lua: &Lua, err: Value) -> mlua::Result<Value> {
    // The innermost frame of the script itself.
    let mut line = None;
    let mut chunk = "user_script";
    for level in 1..64 {
        let Some(d) = lua.inspect_stack(level) else {
            break;
        };
        match d.source().source.as_deref() {
            Some("@user_script") => {}
            Some("@user_function") => chunk = "user_function",
            _ => continue,
        }
        line = Some(d.curr_line());
        break;
    }
    let t = match err {
        Value::Table(t) if t.raw_get::<Option<mlua::String>>("err")?.is_some() => t,
        other => {
            let text = match other {
                Value::Error(e) => match error_text(&e) {
                    // As Redis raised it (a command's error: WRONGTYPE,
                    // NOREPLICAS...): the text as it is.
                    Ok(text) => Ok(text),
                    // Raised by a library function (cjson, bit...): Lua
                    // names the script's line first, as luaL_error does.
                    Err(m) => Err(match line {
                        Some(l) if !m.starts_with("ERR ") => format!("{chunk}:{l}: {m}"),
                        _ => m,
                    }),
                },
                v => Err(v.to_string().unwrap_or_default()),
            };
            let t = lua.create_table()?;
            // Any other error gets Redis's generic code.
            let text = match text {
                Ok(text) => text,
                Err(text) if text.starts_with("ERR ") => text,
                Err(text) => format!("ERR {text}"),
            };
            t.raw_set("err", text)?;
            t
        }
    };
    if let Some(l) = line {
        t.raw_set("line", l)?;
    }
    Ok(Value::Table(t))
}
