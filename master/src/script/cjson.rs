//! The `cjson` library Redis gives scripts (lua-cjson 2.1's `encode`,
//! `decode` and `null`, with its defaults): numbers as `%.14g`, `/`
//! escaped, an empty table an object, sparse arrays and deep nesting
//! refused with lua-cjson's messages.

use mlua::{LightUserData, Lua, Table, Value};

/// Deepest nesting encoded or decoded (lua-cjson's default 1000).
const MAX_DEPTH: usize = 1000;
/// lua-cjson's sparse-array rule: an array whose largest index passes
/// this many times its entries (and `SPARSE_SAFE`) is refused.
const SPARSE_RATIO: usize = 2;
const SPARSE_SAFE: usize = 10;

/// `cjson.null`: a NULL light userdata, as lua-cjson's.
fn null() -> Value {
    Value::LightUserData(LightUserData(std::ptr::null_mut()))
}

/// The `cjson` table.
///
/// # Errors
/// Lua allocation errors.
pub fn library(lua: &Lua) -> mlua::Result<Table> {
    let t = lua.create_table()?;
    t.raw_set(
        "encode",
        lua.create_function(|lua, v: Value| {
            let mut out = Vec::new();
            encode(&v, 0, &mut out).map_err(mlua::Error::runtime)?;
            lua.create_string(&out)
        })?,
    )?;
    t.raw_set(
        "decode",
        lua.create_function(|lua, s: mlua::String| {
            let bytes = s.as_bytes();
            let mut p = Parser {
                lua,
                s: &bytes,
                at: 0,
            };
            let v = p.value(0)?;
            p.blank();
            if p.at < p.s.len() {
                return Err(p.error("the end"));
            }
            Ok(v)
        })?,
    )?;
    t.raw_set("null", null())?;
    Ok(t)
}

/// `%.14g`, lua-cjson's number format.
fn number(n: f64, out: &mut Vec<u8>) -> Result<(), String> {
    if !n.is_finite() {
        return Err("Cannot serialise number: must not be NaN or Inf".into());
    }
    out.extend_from_slice(g14(n).as_bytes());
    Ok(())
}

/// C's `%.14g` (also how Lua prints a number).
pub(super) fn g14(d: f64) -> String {
    if d == 0.0 {
        return if d.is_sign_negative() { "-0" } else { "0" }.into();
    }
    let sci = format!("{d:.13e}");
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let trim = |s: &str| -> String {
        if s.contains('.') {
            s.trim_end_matches('0').trim_end_matches('.').to_owned()
        } else {
            s.to_owned()
        }
    };
    if !(-4..14).contains(&exp) {
        let sign = if exp < 0 { '-' } else { '+' };
        return format!("{}e{sign}{:02}", trim(mantissa), exp.unsigned_abs());
    }
    trim(&format!("{d:.prec$}", prec = (13 - exp) as usize))
}

fn string(s: &[u8], out: &mut Vec<u8>) {
    out.push(b'"');
    for &c in s {
        match c {
            b'"' => out.extend_from_slice(b"\\\""),
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'/' => out.extend_from_slice(b"\\/"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            0x08 => out.extend_from_slice(b"\\b"),
            0x0c => out.extend_from_slice(b"\\f"),
            c if c < 0x20 || c == 0x7f => {
                out.extend_from_slice(format!("\\u{c:04x}").as_bytes());
            }
            c => out.push(c),
        }
    }
    out.push(b'"');
}

/// The array length of `t` when every key is a positive integer, per
/// lua-cjson's rules; `None` for an object.
fn array_len(t: &Table) -> Result<Option<usize>, String> {
    let (mut max, mut items) = (0usize, 0usize);
    for pair in t.pairs::<Value, Value>() {
        let (k, _) = pair.map_err(|e| e.to_string())?;
        let n = match k {
            Value::Integer(i) if i >= 1 => i as f64,
            Value::Number(n) if n >= 1.0 && n.fract() == 0.0 => n,
            _ => return Ok(None),
        };
        max = max.max(n as usize);
        items += 1;
    }
    if max > items * SPARSE_RATIO && max > SPARSE_SAFE {
        return Err("Cannot serialise table: excessively sparse array".into());
    }
    Ok(Some(max))
}

fn encode(v: &Value, depth: usize, out: &mut Vec<u8>) -> Result<(), String> {
    match v {
        Value::Nil => out.extend_from_slice(b"null"),
        Value::LightUserData(u) if u.0.is_null() => out.extend_from_slice(b"null"),
        Value::Boolean(b) => out.extend_from_slice(if *b { b"true" } else { b"false" }),
        Value::Integer(n) => number(*n as f64, out)?,
        Value::Number(n) => number(*n, out)?,
        Value::String(s) => string(&s.as_bytes(), out),
        Value::Table(t) => {
            if depth >= MAX_DEPTH {
                return Err(format!(
                    "Cannot serialise, excessive nesting ({})",
                    depth + 1
                ));
            }
            match array_len(t)? {
                Some(len) if len > 0 => {
                    out.push(b'[');
                    for i in 1..=len {
                        if i > 1 {
                            out.push(b',');
                        }
                        let item: Value = t.raw_get(i).map_err(|e| e.to_string())?;
                        encode(&item, depth + 1, out)?;
                    }
                    out.push(b']');
                }
                _ => {
                    out.push(b'{');
                    let mut first = true;
                    for pair in t.pairs::<Value, Value>() {
                        let (k, item) = pair.map_err(|e| e.to_string())?;
                        if !first {
                            out.push(b',');
                        }
                        first = false;
                        match &k {
                            Value::String(s) => string(&s.as_bytes(), out),
                            Value::Integer(n) => string(g14(*n as f64).as_bytes(), out),
                            Value::Number(n) => string(g14(*n).as_bytes(), out),
                            _ => {
                                return Err(
                                    "Cannot serialise table: table key must be a number or string"
                                        .into(),
                                )
                            }
                        }
                        out.push(b':');
                        encode(&item, depth + 1, out)?;
                    }
                    out.push(b'}');
                }
            }
        }
        other => {
            return Err(format!(
                "Cannot serialise {}: type not supported",
                other.type_name()
            ))
        }
    }
    Ok(())
}

struct Parser<'a> {
    lua: &'a Lua,
    s: &'a [u8],
    at: usize,
}

impl Parser<'_> {
    fn blank(&mut self) {
        while self.s.get(self.at).is_some_and(|c| c.is_ascii_whitespace()) {
            self.at += 1;
        }
    }

    /// lua-cjson's parse error: what was expected, and the token found
    /// (by its name) where it was.
    fn error(&mut self, expected: &str) -> mlua::Error {
        self.blank();
        let rest = &self.s[self.at..];
        let found = match rest.first() {
            None => "T_END",
            Some(b'{') => "T_OBJ_BEGIN",
            Some(b'}') => "T_OBJ_END",
            Some(b'[') => "T_ARR_BEGIN",
            Some(b']') => "T_ARR_END",
            Some(b'"') => "T_STRING",
            Some(b':') => "T_COLON",
            Some(b',') => "T_COMMA",
            Some(c) if *c == b'-' || c.is_ascii_digit() => "T_NUMBER",
            _ if rest.starts_with(b"true") || rest.starts_with(b"false") => "T_BOOLEAN",
            _ if rest.starts_with(b"null") => "T_NULL",
            _ => "invalid token",
        };
        mlua::Error::runtime(format!(
            "Expected {expected} but found {found} at character {}",
            self.at + 1
        ))
    }

    fn value(&mut self, depth: usize) -> mlua::Result<Value> {
        self.blank();
        if depth >= MAX_DEPTH {
            return Err(mlua::Error::runtime(format!(
                "Found too many nested data structures ({}) at character {}",
                depth + 1,
                self.at + 1
            )));
        }
        match self.s.get(self.at) {
            Some(b'{') => self.object(depth),
            Some(b'[') => self.array(depth),
            Some(b'"') => {
                let s = self.string()?;
                Ok(Value::String(self.lua.create_string(&s)?))
            }
            Some(b't') if self.s[self.at..].starts_with(b"true") => {
                self.at += 4;
                Ok(Value::Boolean(true))
            }
            Some(b'f') if self.s[self.at..].starts_with(b"false") => {
                self.at += 5;
                Ok(Value::Boolean(false))
            }
            Some(b'n') if self.s[self.at..].starts_with(b"null") => {
                self.at += 4;
                Ok(null())
            }
            Some(c) if *c == b'-' || c.is_ascii_digit() => self.number(),
            _ => Err(self.error("value")),
        }
    }

    fn number(&mut self) -> mlua::Result<Value> {
        let start = self.at;
        while self
            .s
            .get(self.at)
            .is_some_and(|c| c.is_ascii_digit() || matches!(c, b'-' | b'+' | b'.' | b'e' | b'E'))
        {
            self.at += 1;
        }
        std::str::from_utf8(&self.s[start..self.at])
            .ok()
            .and_then(|t| t.parse::<f64>().ok())
            .map(Value::Number)
            .ok_or_else(|| {
                self.at = start;
                self.error("value")
            })
    }

    fn string(&mut self) -> mlua::Result<Vec<u8>> {
        self.at += 1; // the opening quote
        let mut out = Vec::new();
        loop {
            let Some(&c) = self.s.get(self.at) else {
                return Err(self.error("string end"));
            };
            self.at += 1;
            match c {
                b'"' => return Ok(out),
                b'\\' => {
                    let Some(&e) = self.s.get(self.at) else {
                        return Err(self.error("escape"));
                    };
                    self.at += 1;
                    match e {
                        b'"' | b'\\' | b'/' => out.push(e),
                        b'b' => out.push(0x08),
                        b'f' => out.push(0x0c),
                        b'n' => out.push(b'\n'),
                        b'r' => out.push(b'\r'),
                        b't' => out.push(b'\t'),
                        b'u' => {
                            let code = self.hex4()?;
                            let code = if (0xd800..0xdc00).contains(&code)
                                && self.s[self.at..].starts_with(b"\\u")
                            {
                                self.at += 2;
                                let low = self.hex4()?;
                                0x10000
                                    + ((code - 0xd800) << 10)
                                    + (low.wrapping_sub(0xdc00) & 0x3ff)
                            } else {
                                code
                            };
                            let ch = char::from_u32(code).unwrap_or('\u{fffd}');
                            let mut buf = [0u8; 4];
                            out.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
                        }
                        _ => {
                            self.at -= 1;
                            return Err(self.error("escape"));
                        }
                    }
                }
                c => out.push(c),
            }
        }
    }

    fn hex4(&mut self) -> mlua::Result<u32> {
        let digits = self
            .s
            .get(self.at..self.at + 4)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u32::from_str_radix(h, 16).ok())
            .ok_or_else(|| self.error("unicode escape"))?;
        self.at += 4;
        Ok(digits)
    }

    fn array(&mut self, depth: usize) -> mlua::Result<Value> {
        self.at += 1;
        let t = self.lua.create_table()?;
        self.blank();
        if self.s.get(self.at) == Some(&b']') {
            self.at += 1;
            return Ok(Value::Table(t));
        }
        for i in 1.. {
            let v = self.value(depth + 1)?;
            t.raw_set(i, v)?;
            self.blank();
            match self.s.get(self.at) {
                Some(b',') => self.at += 1,
                Some(b']') => {
                    self.at += 1;
                    break;
                }
                _ => return Err(self.error("comma or array end")),
            }
        }
        Ok(Value::Table(t))
    }

    fn object(&mut self, depth: usize) -> mlua::Result<Value> {
        self.at += 1;
        let t = self.lua.create_table()?;
        self.blank();
        if self.s.get(self.at) == Some(&b'}') {
            self.at += 1;
            return Ok(Value::Table(t));
        }
        loop {
            self.blank();
            if self.s.get(self.at) != Some(&b'"') {
                return Err(self.error("object key string"));
            }
            let k = self.string()?;
            self.blank();
            if self.s.get(self.at) != Some(&b':') {
                return Err(self.error("colon"));
            }
            self.at += 1;
            let v = self.value(depth + 1)?;
            t.raw_set(self.lua.create_string(&k)?, v)?;
            self.blank();
            match self.s.get(self.at) {
                Some(b',') => self.at += 1,
                Some(b'}') => {
                    self.at += 1;
                    break;
                }
                _ => return Err(self.error("comma or object end")),
            }
        }
        Ok(Value::Table(t))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn eval(lua: &Lua, expr: &str) -> String {
        lua.load(expr).eval::<String>().expect(expr)
    }

    #[test]
    fn encodes_and_decodes_like_lua_cjson() {
        let lua = Lua::new();
        lua.globals()
            .set("cjson", library(&lua).expect("cjson"))
            .expect("set");
        for (expr, want) in [
            ("cjson.encode({1, 2, 'a'})", "[1,2,\"a\"]"),
            ("cjson.encode({})", "{}"),
            ("cjson.encode({a = {b = true}})", "{\"a\":{\"b\":true}}"),
            ("cjson.encode(0.1)", "0.1"),
            ("cjson.encode(1/3)", "0.33333333333333"),
            ("cjson.encode(1e20)", "1e+20"),
            ("cjson.encode('a/b\"c\\n')", "\"a\\/b\\\"c\\n\""),
            ("cjson.encode(cjson.null)", "null"),
            ("cjson.encode({[1] = 'x', [2] = 'y'})", "[\"x\",\"y\"]"),
            ("cjson.decode('[1,2,{\"a\":\"b\"}]')[3].a", "b"),
            ("tostring(cjson.decode('{\"n\": -1.5e2}').n)", "-150"),
            ("cjson.decode('\"\\\\u00e9\\\\n\"')", "é\n"),
            ("tostring(cjson.decode('null') == cjson.null)", "true"),
            (
                "cjson.encode(cjson.decode('{\"k\":[true,false,null]}'))",
                "{\"k\":[true,false,null]}",
            ),
        ] {
            assert_eq!(eval(&lua, expr), want, "{expr}");
        }
        for (expr, error) in [
            (
                "cjson.encode({[1] = 1, [20] = 2})",
                "excessively sparse array",
            ),
            ("cjson.encode(function() end)", "Cannot serialise function"),
            ("cjson.encode(0/0)", "must not be NaN or Inf"),
            (
                "cjson.decode('[1,')",
                "Expected value but found T_END at character 4",
            ),
            (
                "cjson.decode('{\"a\" 1}')",
                "Expected colon but found T_NUMBER at character 6",
            ),
            (
                "cjson.decode('[1 2]')",
                "Expected comma or array end but found T_NUMBER at character 4",
            ),
            (
                "cjson.decode('{1:2}')",
                "Expected object key string but found T_NUMBER at character 2",
            ),
            (
                "cjson.decode('[1] x')",
                "Expected the end but found invalid token at character 5",
            ),
        ] {
            let e = lua.load(expr).eval::<Value>().expect_err(expr).to_string();
            assert!(e.contains(error), "{expr}: {e}");
        }
    }
}
