//! Lua ⇄ RESP, as Redis documents and does: what a script returns becomes
//! a reply, and what `redis.call` answers becomes a Lua value, in the
//! protocol the script chose with `redis.setresp` (2 by default).

use bytes::Bytes;
use mlua::{Lua, Table, Value};
use rocksync_protocol::{fmt_double, Reply};

/// Deepest nesting converted either way (a table that holds itself ends
/// there instead of overflowing the stack).
const MAX_DEPTH: usize = 128;

/// Most values a script's reply may hold: a table that holds itself many
/// times over (`t = {t, t}` forty times) would otherwise take exponential
/// time, after the script ended, where SCRIPT KILL cannot reach.
const MAX_VALUES: usize = 10_000_000;

/// A script's return value as a reply. `resp` is the script's
/// `redis.setresp` (booleans differ: RESP3 has them).
pub fn to_reply(v: &Value, resp: u8) -> Reply {
    let budget = std::cell::Cell::new(MAX_VALUES);
    let reply = to_reply_at(v, resp, 0, &budget);
    if budget.get() == 0 {
        return Reply::error("ERR reply of the script is too large");
    }
    reply
}

fn to_reply_at(v: &Value, resp: u8, depth: usize, budget: &std::cell::Cell<usize>) -> Reply {
    if budget.get() == 0 {
        return Reply::Nil;
    }
    budget.set(budget.get() - 1);
    match v {
        Value::Nil => Reply::Nil,
        Value::Boolean(b) if resp == 3 => Reply::Bool(*b),
        Value::Boolean(true) => Reply::Integer(1),
        Value::Boolean(false) => Reply::Nil,
        Value::Integer(n) => Reply::Integer(*n),
        // A Lua number is a double: an integer reply, truncated.
        Value::Number(n) => Reply::Integer(*n as i64),
        Value::String(s) => Reply::Bulk(Bytes::copy_from_slice(&s.as_bytes())),
        Value::Table(t) if depth < MAX_DEPTH => table_to_reply(t, resp, depth, budget),
        _ => Reply::Nil,
    }
}

fn field(t: &Table, name: &str) -> Value {
    t.raw_get(name).unwrap_or(Value::Nil)
}

fn text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(String::from_utf8_lossy(&s.as_bytes()).into_owned()),
        Value::Integer(n) => Some(n.to_string()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn table_to_reply(t: &Table, resp: u8, depth: usize, budget: &std::cell::Cell<usize>) -> Reply {
    if let Some(e) = text(&field(t, "err")) {
        return Reply::Error(e);
    }
    if let Some(s) = text(&field(t, "ok")) {
        return Reply::Simple(s);
    }
    match field(t, "double") {
        Value::Number(d) => return Reply::Double(d),
        Value::Integer(n) => return Reply::Double(n as f64),
        _ => {}
    }
    if let Some(n) = text(&field(t, "big_number")) {
        return Reply::BigNumber(n);
    }
    if let Value::Table(m) = field(t, "map") {
        let pairs = m
            .pairs::<Value, Value>()
            .filter_map(|p| p.ok())
            .map(|(k, v)| {
                (
                    to_reply_at(&k, resp, depth + 1, budget),
                    to_reply_at(&v, resp, depth + 1, budget),
                )
            })
            .collect();
        return Reply::Map(pairs);
    }
    if let Value::Table(s) = field(t, "set") {
        let members = s
            .pairs::<Value, Value>()
            .filter_map(|p| p.ok())
            .map(|(k, _)| to_reply_at(&k, resp, depth + 1, budget))
            .collect();
        return Reply::Set(members);
    }
    if let Value::Table(v) = field(t, "verbatim_string") {
        let format = text(&field(&v, "format")).unwrap_or_default();
        let body = text(&field(&v, "string")).unwrap_or_default();
        let mut f = *b"txt";
        for (dst, src) in f.iter_mut().zip(format.bytes()) {
            *dst = src;
        }
        return Reply::Verbatim(f, Bytes::from(body));
    }
    // An array: from index 1 up to the first nil.
    let mut items = Vec::new();
    for i in 1.. {
        match t.raw_get::<Value>(i) {
            Ok(Value::Nil) | Err(_) => break,
            Ok(v) if budget.get() > 0 => items.push(to_reply_at(&v, resp, depth + 1, budget)),
            Ok(_) => break,
        }
    }
    Reply::Array(items)
}

/// A command's reply as the Lua value `redis.call` returns, for a script
/// speaking `resp` (2 or 3).
///
/// # Errors
/// Lua allocation errors.
pub fn to_lua(lua: &Lua, r: &Reply, resp: u8) -> mlua::Result<Value> {
    to_lua_at(lua, r, resp, 0)
}

fn tagged(lua: &Lua, tag: &str, v: Value) -> mlua::Result<Value> {
    let t = lua.create_table()?;
    t.raw_set(tag, v)?;
    Ok(Value::Table(t))
}

fn array(lua: &Lua, items: &[Reply], resp: u8, depth: usize) -> mlua::Result<Value> {
    let t = lua.create_table_with_capacity(items.len(), 0)?;
    for (i, item) in items.iter().enumerate() {
        t.raw_set(i + 1, to_lua_at(lua, item, resp, depth + 1)?)?;
    }
    Ok(Value::Table(t))
}

fn to_lua_at(lua: &Lua, r: &Reply, resp: u8, depth: usize) -> mlua::Result<Value> {
    if depth > MAX_DEPTH {
        return Ok(Value::Nil);
    }
    let str = |b: &[u8]| lua.create_string(b).map(Value::String);
    let v3 = resp == 3;
    Ok(match r {
        Reply::Simple(s) => tagged(lua, "ok", str(s.as_bytes())?)?,
        Reply::Error(e) => tagged(lua, "err", str(e.as_bytes())?)?,
        Reply::Integer(n) => Value::Number(*n as f64),
        Reply::Bulk(b) => str(b)?,
        Reply::Nil | Reply::NilArray if v3 => Value::Nil,
        Reply::Nil | Reply::NilArray => Value::Boolean(false),
        Reply::Array(items) | Reply::Push(items) => array(lua, items, resp, depth)?,
        Reply::Set(items) if v3 => {
            let t = lua.create_table()?;
            for item in items {
                t.raw_set(to_lua_at(lua, item, resp, depth + 1)?, true)?;
            }
            tagged(lua, "set", Value::Table(t))?
        }
        Reply::Set(items) => array(lua, items, resp, depth)?,
        Reply::Map(pairs) | Reply::Keyed(pairs) if v3 => {
            let t = lua.create_table()?;
            for (k, v) in pairs {
                t.raw_set(
                    to_lua_at(lua, k, resp, depth + 1)?,
                    to_lua_at(lua, v, resp, depth + 1)?,
                )?;
            }
            tagged(lua, "map", Value::Table(t))?
        }
        Reply::Pairs(pairs) | Reply::Keyed(pairs) if v3 == matches!(r, Reply::Pairs(_)) => {
            let nested: Vec<Reply> = pairs
                .iter()
                .map(|(k, v)| Reply::Array(vec![k.clone(), v.clone()]))
                .collect();
            array(lua, &nested, resp, depth)?
        }
        Reply::Map(pairs) | Reply::Pairs(pairs) | Reply::Keyed(pairs) => {
            let flat: Vec<Reply> = pairs
                .iter()
                .flat_map(|(k, v)| [k.clone(), v.clone()])
                .collect();
            array(lua, &flat, resp, depth)?
        }
        Reply::Double(d) if v3 => tagged(lua, "double", Value::Number(*d))?,
        Reply::Double(d) => str(fmt_double(*d).as_bytes())?,
        Reply::DoubleText(t) if v3 => {
            tagged(lua, "double", Value::Number(t.parse().unwrap_or(f64::NAN)))?
        }
        Reply::DoubleText(t) => str(t.as_bytes())?,
        Reply::Bool(b) if v3 => Value::Boolean(*b),
        Reply::Bool(b) => Value::Number(f64::from(u8::from(*b))),
        Reply::BigNumber(n) if v3 => tagged(lua, "big_number", str(n.as_bytes())?)?,
        Reply::BigNumber(n) => str(n.as_bytes())?,
        Reply::Verbatim(format, text) if v3 => {
            let t = lua.create_table()?;
            t.raw_set("format", str(format)?)?;
            t.raw_set("string", str(text)?)?;
            tagged(lua, "verbatim_string", Value::Table(t))?
        }
        Reply::Verbatim(_, text) => str(text)?,
        Reply::Attribute(_, inner) => to_lua_at(lua, inner, resp, depth)?,
    })
}
