//! The `cmsgpack` and `struct` libraries Redis gives scripts, on Lua:
//! Lua values to and from [`super::msgpack`]'s and [`super::structs`]'
//! (which do the bytes), with the libraries' calling conventions.

use mlua::{Lua, MultiValue, Table, Value};

use super::msgpack::{self, MsgValue, MAX_NESTING};
use super::structs::{self, StructValue};

/// A Lua value as cmsgpack encodes it: a table of keys 1..n an array,
/// any other a map; nested tables past the limit, functions and userdata
/// nil.
fn to_msg(v: &Value, depth: usize) -> mlua::Result<MsgValue> {
    Ok(match v {
        Value::Nil => MsgValue::Nil,
        Value::Boolean(b) => MsgValue::Bool(*b),
        Value::Integer(n) => MsgValue::Int(*n),
        Value::Number(n) => MsgValue::Float(*n),
        Value::String(s) => MsgValue::Str(s.as_bytes().to_vec()),
        Value::Table(_) if depth >= MAX_NESTING => MsgValue::Nil,
        Value::Table(t) => {
            let mut pairs = Vec::new();
            let mut max = 0.0f64;
            let mut array = true;
            for pair in t.clone().pairs::<Value, Value>() {
                let (k, v) = pair?;
                match &k {
                    Value::Number(n) if *n > 0.0 && n.fract() == 0.0 => max = max.max(*n),
                    Value::Integer(n) if *n > 0 => max = max.max(*n as f64),
                    _ => array = false,
                }
                pairs.push((k, v));
            }
            if array && max == pairs.len() as f64 {
                pairs.sort_by(|a, b| num(&a.0).total_cmp(&num(&b.0)));
                MsgValue::Array(
                    pairs
                        .iter()
                        .map(|(_, v)| to_msg(v, depth + 1))
                        .collect::<mlua::Result<_>>()?,
                )
            } else {
                MsgValue::Map(
                    pairs
                        .iter()
                        .map(|(k, v)| Ok((to_msg(k, depth + 1)?, to_msg(v, depth + 1)?)))
                        .collect::<mlua::Result<_>>()?,
                )
            }
        }
        _ => MsgValue::Nil,
    })
}

fn num(v: &Value) -> f64 {
    match v {
        Value::Number(n) => *n,
        Value::Integer(n) => *n as f64,
        _ => 0.0,
    }
}

/// A decoded value as Lua gets it.
fn to_lua(lua: &Lua, v: MsgValue) -> mlua::Result<Value> {
    Ok(match v {
        MsgValue::Nil => Value::Nil,
        MsgValue::Bool(b) => Value::Boolean(b),
        MsgValue::Int(n) => Value::Number(n as f64),
        MsgValue::Float(n) => Value::Number(n),
        MsgValue::Str(s) => Value::String(lua.create_string(&s)?),
        MsgValue::Array(items) => {
            let t = lua.create_table_with_capacity(items.len(), 0)?;
            for (i, v) in items.into_iter().enumerate() {
                t.raw_set(i + 1, to_lua(lua, v)?)?;
            }
            Value::Table(t)
        }
        MsgValue::Map(pairs) => {
            let t = lua.create_table()?;
            for (k, v) in pairs {
                t.raw_set(to_lua(lua, k)?, to_lua(lua, v)?)?;
            }
            Value::Table(t)
        }
    })
}

/// A Lua argument as a string (numbers as Lua prints them).
fn string_arg(v: &Value, n: usize, f: &str) -> mlua::Result<Vec<u8>> {
    match v {
        Value::String(s) => Ok(s.as_bytes().to_vec()),
        Value::Integer(i) => Ok(i.to_string().into_bytes()),
        Value::Number(x) => Ok(super::cjson::g14(*x).into_bytes()),
        other => Err(mlua::Error::runtime(format!(
            "bad argument #{n} to '{f}' (string expected, got {})",
            other.type_name()
        ))),
    }
}

/// A Lua argument as an integer (`None`: absent).
fn int_arg(v: Option<&Value>, n: usize, f: &str) -> mlua::Result<Option<i64>> {
    match v {
        None | Some(Value::Nil) => Ok(None),
        Some(Value::Integer(i)) => Ok(Some(*i)),
        Some(Value::Number(x)) => Ok(Some(*x as i64)),
        Some(Value::String(s)) => s
            .to_str()
            .ok()
            .and_then(|t| t.trim().parse::<f64>().ok())
            .map(|x| Some(x as i64))
            .ok_or_else(|| {
                mlua::Error::runtime(format!(
                    "bad argument #{n} to '{f}' (number expected, got string)"
                ))
            }),
        Some(other) => Err(mlua::Error::runtime(format!(
            "bad argument #{n} to '{f}' (number expected, got {})",
            other.type_name()
        ))),
    }
}

/// `unpack_one`/`unpack_limit`: the next offset (-1 at the end), then
/// the values.
fn unpack_from(
    lua: &Lua,
    args: MultiValue,
    limit_at: Option<usize>,
    f: &str,
) -> mlua::Result<MultiValue> {
    let args: Vec<Value> = args.into_iter().collect();
    let s = string_arg(args.first().unwrap_or(&Value::Nil), 1, f)?;
    let (limit, off_at) = match limit_at {
        Some(at) => (int_arg(args.get(at), at + 1, f)?.unwrap_or(0), at + 1),
        None => (1, 1),
    };
    let offset = int_arg(args.get(off_at), off_at + 1, f)?.unwrap_or(0);
    if offset < 0 || limit < 0 {
        return Err(mlua::Error::runtime(format!(
            "Invalid request to unpack with offset of {} and limit of {}.",
            offset as i32,
            s.len() as i32
        )));
    }
    let (values, next) =
        msgpack::decode_many(&s, offset as usize, limit as usize).map_err(mlua::Error::runtime)?;
    let all = limit == 0 && offset == 0;
    let mut out = Vec::with_capacity(values.len() + 1);
    if !all {
        out.push(Value::Number(next.map_or(-1.0, |n| n as f64)));
    }
    for v in values {
        out.push(to_lua(lua, v)?);
    }
    Ok(MultiValue::from_iter(out))
}

/// The `cmsgpack` table.
///
/// # Errors
/// Lua allocation errors.
pub fn cmsgpack(lua: &Lua) -> mlua::Result<Table> {
    let t = lua.create_table()?;
    t.raw_set(
        "pack",
        lua.create_function(|lua, args: MultiValue| {
            if args.is_empty() {
                return Err(mlua::Error::runtime(
                    "bad argument #0 to 'pack' (MessagePack pack needs input.)",
                ));
            }
            let mut out = Vec::new();
            for v in &args {
                msgpack::encode(&to_msg(v, 0)?, &mut out);
            }
            lua.create_string(&out)
        })?,
    )?;
    t.raw_set(
        "unpack",
        lua.create_function(|lua, args: MultiValue| {
            let first = args.into_iter().next().unwrap_or(Value::Nil);
            let s = string_arg(&first, 1, "unpack")?;
            let (values, _) = msgpack::decode_many(&s, 0, 0).map_err(mlua::Error::runtime)?;
            let out: Vec<Value> = values
                .into_iter()
                .map(|v| to_lua(lua, v))
                .collect::<mlua::Result<_>>()?;
            Ok(MultiValue::from_iter(out))
        })?,
    )?;
    t.raw_set(
        "unpack_one",
        lua.create_function(|lua, args: MultiValue| unpack_from(lua, args, None, "unpack_one"))?,
    )?;
    t.raw_set(
        "unpack_limit",
        lua.create_function(|lua, args: MultiValue| {
            unpack_from(lua, args, Some(1), "unpack_limit")
        })?,
    )?;
    t.raw_set("_NAME", "cmsgpack")?;
    t.raw_set("_VERSION", "lua-cmsgpack 0.4.0")?;
    t.raw_set("_COPYRIGHT", "Copyright (C) 2012, Salvatore Sanfilippo")?;
    t.raw_set("_DESCRIPTION", "MessagePack C implementation for Lua")?;
    Ok(t)
}

/// struct's arguments from Lua's: numbers and strings; the first of
/// another type ends them (the library then reports it as missing, and
/// its real type is put back into that message).
fn struct_args(args: &[Value]) -> (Vec<StructValue>, Option<&'static str>) {
    let mut out = Vec::with_capacity(args.len());
    for v in args {
        match v {
            Value::Integer(i) => out.push(StructValue::Num(*i as f64)),
            Value::Number(x) => out.push(StructValue::Num(*x)),
            Value::String(s) => out.push(StructValue::Str(s.as_bytes().to_vec())),
            other => return (out, Some(other.type_name())),
        }
    }
    (out, None)
}

/// The `struct` table.
///
/// # Errors
/// Lua allocation errors.
pub fn structs(lua: &Lua) -> mlua::Result<Table> {
    let t = lua.create_table()?;
    t.raw_set(
        "pack",
        lua.create_function(|lua, args: MultiValue| {
            let args: Vec<Value> = args.into_iter().collect();
            let fmt = string_arg(args.first().unwrap_or(&Value::Nil), 1, "pack")?;
            let rest = args.get(1..).unwrap_or(&[]);
            let (values, stopped) = struct_args(rest);
            match structs::pack(&fmt, &values) {
                Ok(bytes) => lua.create_string(&bytes),
                Err(e) => {
                    // The argument after the last passed is the one of
                    // another type, when there was one.
                    let at = format!("bad argument #{} to 'pack'", values.len() + 2);
                    let e = match stopped {
                        Some(kind) if e.starts_with(&at) => {
                            e.replace("got nil)", &format!("got {kind})"))
                        }
                        _ => e,
                    };
                    Err(mlua::Error::runtime(e))
                }
            }
        })?,
    )?;
    t.raw_set(
        "unpack",
        lua.create_function(|lua, args: MultiValue| {
            let args: Vec<Value> = args.into_iter().collect();
            let fmt = string_arg(args.first().unwrap_or(&Value::Nil), 1, "unpack")?;
            let data = string_arg(args.get(1).unwrap_or(&Value::Nil), 2, "unpack")?;
            let init = int_arg(args.get(2), 3, "unpack")?.unwrap_or(1);
            let (values, next) =
                structs::unpack(&fmt, &data, init as usize).map_err(mlua::Error::runtime)?;
            let mut out = Vec::with_capacity(values.len() + 1);
            for v in values {
                out.push(match v {
                    StructValue::Num(x) => Value::Number(x),
                    StructValue::Str(s) => Value::String(lua.create_string(&s)?),
                });
            }
            out.push(Value::Number(next as i64 as f64));
            Ok(MultiValue::from_iter(out))
        })?,
    )?;
    t.raw_set(
        "size",
        lua.create_function(|_, fmt: Value| {
            let fmt = string_arg(&fmt, 1, "size")?;
            structs::size(&fmt)
                .map(|n| n as f64)
                .map_err(mlua::Error::runtime)
        })?,
    )?;
    Ok(t)
}
