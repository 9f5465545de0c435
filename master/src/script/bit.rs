//! The `bit` library Redis gives scripts (LuaBitOp's functions): 32-bit
//! operations on Lua numbers.

use mlua::{Lua, Table, Variadic};

/// A Lua number as LuaBitOp normalizes one: rounded to an integer and
/// wrapped to 32 bits.
fn tobit(n: f64) -> i32 {
    if !n.is_finite() {
        return 0;
    }
    let r = n.round_ties_even();
    // Wrap modulo 2^32 (i64 covers what doubles of interest hold).
    (r.rem_euclid(4_294_967_296.0) as u64 as u32) as i32
}

fn fold(args: &Variadic<f64>, init: i32, f: impl Fn(i32, i32) -> i32) -> f64 {
    f64::from(args.iter().fold(init, |acc, &n| f(acc, tobit(n))))
}

/// The `bit` table.
///
/// # Errors
/// Lua allocation errors.
pub fn library(lua: &Lua) -> mlua::Result<Table> {
    let t = lua.create_table()?;
    t.raw_set(
        "tobit",
        lua.create_function(|_, n: f64| Ok(f64::from(tobit(n))))?,
    )?;
    t.raw_set(
        "bnot",
        lua.create_function(|_, n: f64| Ok(f64::from(!tobit(n))))?,
    )?;
    t.raw_set(
        "band",
        lua.create_function(|_, a: Variadic<f64>| Ok(fold(&a, -1, |x, y| x & y)))?,
    )?;
    t.raw_set(
        "bor",
        lua.create_function(|_, a: Variadic<f64>| Ok(fold(&a, 0, |x, y| x | y)))?,
    )?;
    t.raw_set(
        "bxor",
        lua.create_function(|_, a: Variadic<f64>| Ok(fold(&a, 0, |x, y| x ^ y)))?,
    )?;
    let shift = |f: fn(i32, u32) -> i32| {
        move |_: &Lua, (x, n): (f64, f64)| Ok(f64::from(f(tobit(x), (tobit(n) & 31) as u32)))
    };
    t.raw_set(
        "lshift",
        lua.create_function(shift(|x, n| ((x as u32) << n) as i32))?,
    )?;
    t.raw_set(
        "rshift",
        lua.create_function(shift(|x, n| ((x as u32) >> n) as i32))?,
    )?;
    t.raw_set("arshift", lua.create_function(shift(|x, n| x >> n))?)?;
    t.raw_set(
        "rol",
        lua.create_function(shift(|x, n| (x as u32).rotate_left(n) as i32))?,
    )?;
    t.raw_set(
        "ror",
        lua.create_function(shift(|x, n| (x as u32).rotate_right(n) as i32))?,
    )?;
    t.raw_set(
        "bswap",
        lua.create_function(|_, x: f64| Ok(f64::from(tobit(x).swap_bytes())))?,
    )?;
    t.raw_set(
        "tohex",
        lua.create_function(|_, (x, n): (f64, Option<f64>)| {
            let n = n.map_or(8, tobit);
            let (upper, digits) = (n < 0, n.unsigned_abs().min(8) as usize);
            let v = tobit(x) as u32;
            let text = if upper {
                format!("{v:08X}")
            } else {
                format!("{v:08x}")
            };
            Ok(text[8 - digits..].to_owned())
        })?,
    )?;
    Ok(t)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// LuaBitOp's documented examples.
    #[test]
    fn matches_luabitop() {
        let lua = Lua::new();
        lua.globals()
            .set("bit", library(&lua).expect("bit"))
            .expect("set");
        for (expr, want) in [
            ("bit.tobit(0xffffffff)", -1.0),
            ("bit.tobit(0xffffffff + 1)", 0.0),
            ("bit.tobit(2^40 + 1234)", 1234.0),
            ("bit.bnot(0)", -1.0),
            ("bit.band(0x12345678, 0xff)", 120.0),
            ("bit.bor(1, 2, 4, 8)", 15.0),
            ("bit.bxor(0xa5a5f0f0, 0xaa55ff00)", 267_390_960.0),
            ("bit.lshift(1, 0)", 1.0),
            ("bit.lshift(1, 8)", 256.0),
            ("bit.lshift(1, 40)", 256.0),
            ("bit.rshift(256, 8)", 1.0),
            ("bit.rshift(-256, 8)", 16_777_215.0),
            ("bit.arshift(-256, 8)", -1.0),
            ("bit.rol(0x12345678, 12)", 1_164_411_171.0),
            ("bit.ror(0x12345678, 12)", 1_736_516_421.0),
            ("bit.bswap(0x12345678)", 2_018_915_346.0),
        ] {
            let got: f64 = lua.load(expr).eval().expect(expr);
            assert_eq!(got, want, "{expr}");
        }
        for (expr, want) in [
            ("bit.tohex(1)", "00000001"),
            ("bit.tohex(-1)", "ffffffff"),
            ("bit.tohex(0xffffffff)", "ffffffff"),
            ("bit.tohex(-1, -4)", "FFFF"),
            ("bit.tohex(0x21, 4)", "0021"),
            ("bit.tohex(0x87654321, 4)", "4321"),
        ] {
            let got: String = lua.load(expr).eval().expect(expr);
            assert_eq!(got, want, "{expr}");
        }
    }
}
