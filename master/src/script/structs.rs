//! The byte-level half of the `struct` library Redis gives scripts
//! (Roberto Ierusalimschy's lua_struct as Redis 7.0 patches it), as a
//! 64-bit Linux build runs it, with its error texts.
//!
//! Format options: `<` little and `>` big endian (native: little), `!n`
//! largest alignment (a power of 2; `!` alone 8), `x` a zero byte,
//! `b/B h/H l/L` 1, 2 and 8-byte ints (lower case signed), `T` an 8-byte
//! size_t, `i/I[n]` n-byte ints (4 by default, at most 32; bytes past the
//! 8th are zero), `f`/`d` float/double, `s` a zero-terminated string,
//! `c[n]` an n-byte string (`c0`: the whole string in `pack`, the
//! previous number's length in `unpack`), spaces ignored. There is no
//! `=`, `j` or `J`; the format ends at a zero byte.

use std::borrow::Cow;

/// An argument or result of struct.pack/unpack: Lua number or string.
#[derive(Clone, Debug, PartialEq)]
pub enum StructValue {
    /// A Lua number.
    Num(f64),
    /// A Lua string.
    Str(Vec<u8>),
}

/// Largest `i`/`I` size (MAXINTSIZE).
const MAX_INT_SIZE: usize = 32;
/// `!` without a number: x86-64's largest alignment.
const MAX_ALIGN: usize = 8;
/// Lua 5.1's LUAI_MAXCSTACK: slots a C function may hold on its stack.
const MAX_STACK: usize = 8000;
/// 2^63 as a double.
const TWO_63: f64 = 9_223_372_036_854_775_808.0;

/// Pack `args` (Lua's arguments 2, 3...) as `struct.pack(fmt, ...)` does.
///
/// # Errors
/// The library's messages, as Lua shows them once raised, e.g. "bad
/// argument #1 to 'pack' (invalid format option 'q')"; a missing
/// argument is "... got nil)", as the library's own stack mark is nil.
pub fn pack(fmt: &[u8], args: &[StructValue]) -> Result<Vec<u8>, String> {
    let mut f = Format::new(fmt);
    let mut out = Vec::new();
    let mut next = 0;
    while let Some(opt) = f.next() {
        let size = f.size(opt)?;
        out.resize(out.len() + f.padding(out.len(), opt, size), 0);
        match opt {
            b'b' | b'B' | b'h' | b'H' | b'l' | b'L' | b'T' | b'i' | b'I' => {
                let n = number(args, next)?;
                next += 1;
                let v = if n < 0.0 { to_i64(n) as u64 } else { to_u64(n) };
                let le = (0..size).map(|k| v.checked_shr(8 * k as u32).unwrap_or(0) as u8);
                put(&mut out, le.collect(), f.little);
            }
            b'x' => out.push(0),
            b'f' | b'd' => {
                let x = number(args, next)?;
                next += 1;
                let le = match opt {
                    b'f' => (x as f32).to_le_bytes().to_vec(),
                    _ => x.to_le_bytes().to_vec(),
                };
                put(&mut out, le, f.little);
            }
            b'c' | b's' => {
                let s = string(args, next)?;
                next += 1;
                let size = if size == 0 { s.len() } else { size };
                // The library names the argument after this one.
                let Some(head) = s.get(..size) else {
                    return Err(arg_error(next + 2, "pack", "string too short"));
                };
                out.extend_from_slice(head);
                if opt == b's' {
                    out.push(0);
                }
            }
            _ => f.control(opt, "pack")?,
        }
    }
    Ok(out)
}

/// Values decoded from `data` starting at 1-based `init` (Lua convention),
/// and the next position (1-based) which struct.unpack returns last. A
/// negative Lua `init` may be passed wrapped (`init as usize`): the
/// position comes back wrapped the same way, as Redis returns it.
///
/// # Errors
/// The library's messages, e.g. "bad argument #2 to 'unpack' (data
/// string too short)", "unfinished string in data".
pub fn unpack(fmt: &[u8], data: &[u8], init: usize) -> Result<(Vec<StructValue>, usize), String> {
    if init == 0 {
        return Err(arg_error(3, "unpack", "offset must be 1 or greater"));
    }
    let mut f = Format::new(fmt);
    let ld = data.len();
    let mut pos = init - 1;
    let mut out = Vec::new();
    let short = || arg_error(2, "unpack", "data string too short");
    while let Some(opt) = f.next() {
        let mut size = f.size(opt)?;
        pos = pos.wrapping_add(f.padding(pos, opt, size));
        if size > ld || pos > ld - size {
            return Err(short());
        }
        // Format and data under the results, two slots asked for.
        if 2 + out.len() + 2 > MAX_STACK {
            return Err("stack overflow (too many results)".into());
        }
        let field = data.get(pos..pos + size).unwrap_or_default();
        match opt {
            b'b' | b'B' | b'h' | b'H' | b'l' | b'L' | b'T' | b'i' | b'I' => {
                let n = integer(field, f.little, opt.is_ascii_lowercase());
                out.push(StructValue::Num(n));
            }
            b'x' => {}
            b'f' => {
                let x = f32::from_bits(bits(field, f.little) as u32);
                out.push(StructValue::Num(f64::from(x)));
            }
            b'd' => out.push(StructValue::Num(f64::from_bits(bits(field, f.little)))),
            b'c' => {
                if size == 0 {
                    let n = match out.last() {
                        Some(StructValue::Num(n)) => Some(*n),
                        Some(StructValue::Str(s)) => str_to_number(s),
                        None => None,
                    };
                    let n = n.ok_or("format 'c0' needs a previous size")?;
                    size = usize::try_from(to_u64(n)).unwrap_or(usize::MAX);
                    out.pop();
                    if size > ld || pos > ld - size {
                        return Err(short());
                    }
                }
                let s = data.get(pos..pos + size).unwrap_or_default();
                out.push(StructValue::Str(s.to_vec()));
            }
            b's' => {
                let rest = data.get(pos..).unwrap_or_default();
                let end = rest.iter().position(|&c| c == 0);
                let end = end.ok_or("unfinished string in data")?;
                out.push(StructValue::Str(
                    rest.get(..end).unwrap_or_default().to_vec(),
                ));
                size = end + 1;
            }
            _ => f.control(opt, "unpack")?,
        }
        pos += size;
    }
    Ok((out, pos.wrapping_add(1)))
}

/// `struct.size(fmt)`: the bytes `pack` makes. Letters that are no option
/// count 0 here (the library checks only other characters).
///
/// # Errors
/// The library's messages, e.g. "bad argument #1 to 'size' (option 's'
/// has no fixed size)".
pub fn size(fmt: &[u8]) -> Result<usize, String> {
    let mut f = Format::new(fmt);
    let mut pos = 0usize;
    while let Some(opt) = f.next() {
        let size = f.size(opt)?;
        pos = pos.wrapping_add(f.padding(pos, opt, size));
        if opt == b's' {
            return Err(arg_error(1, "size", "option 's' has no fixed size"));
        }
        if opt == b'c' && size == 0 {
            return Err(arg_error(1, "size", "option 'c0' has no fixed size"));
        }
        if !opt.is_ascii_alphanumeric() {
            f.control(opt, "size")?;
        }
        pos = pos.wrapping_add(size);
    }
    Ok(pos)
}

/// luaL_argerror's text.
fn arg_error(n: usize, func: &str, msg: &str) -> String {
    format!("bad argument #{n} to '{func}' ({msg})")
}

/// A format being read, with its endianness and alignment so far.
struct Format<'a> {
    f: &'a [u8],
    at: usize,
    little: bool,
    align: usize,
}

impl<'a> Format<'a> {
    /// A format up to its first zero byte (C reads it as a C string).
    fn new(fmt: &'a [u8]) -> Self {
        let end = fmt.iter().position(|&c| c == 0).unwrap_or(fmt.len());
        let f = fmt.get(..end).unwrap_or_default();
        Format {
            f,
            at: 0,
            little: true,
            align: 1,
        }
    }

    /// The next option character.
    fn next(&mut self) -> Option<u8> {
        let c = *self.f.get(self.at)?;
        self.at += 1;
        Some(c)
    }

    /// The number the format has next (a C `int`), else `default`.
    fn num(&mut self, default: usize) -> Result<usize, String> {
        let mut a: Option<usize> = None;
        while let Some(&c) = self.f.get(self.at).filter(|c| c.is_ascii_digit()) {
            let (cur, d) = (a.unwrap_or(0), usize::from(c - b'0'));
            let max = i32::MAX as usize;
            if cur > max / 10 || cur * 10 > max - d {
                return Err("integral size overflow".into());
            }
            a = Some(cur * 10 + d);
            self.at += 1;
        }
        Ok(a.unwrap_or(default))
    }

    /// The bytes option `opt` takes (0 for control options and `s`).
    fn size(&mut self, opt: u8) -> Result<usize, String> {
        Ok(match opt {
            b'b' | b'B' | b'x' => 1,
            b'h' | b'H' => 2,
            b'f' => 4,
            b'l' | b'L' | b'T' | b'd' => 8,
            b'c' => self.num(1)?,
            b'i' | b'I' => {
                let n = self.num(4)?;
                if n > MAX_INT_SIZE {
                    return Err(format!(
                        "integral size {n} is larger than limit of {MAX_INT_SIZE}"
                    ));
                }
                n
            }
            _ => 0,
        })
    }

    /// Zero bytes to put before an option of `size` bytes at offset `len`
    /// (the library's formula, odd sizes included).
    fn padding(&self, len: usize, opt: u8, size: usize) -> usize {
        if size == 0 || opt == b'c' {
            return 0;
        }
        let size = size.min(self.align);
        (size - (len & (size - 1))) & (size - 1)
    }

    /// Spaces, endianness and alignment; anything else is refused.
    fn control(&mut self, opt: u8, func: &str) -> Result<(), String> {
        match opt {
            b' ' => {}
            b'>' => self.little = false,
            b'<' => self.little = true,
            b'!' => {
                let a = self.num(MAX_ALIGN)?;
                if !a.is_power_of_two() {
                    return Err(format!("alignment {a} is not a power of 2"));
                }
                self.align = a;
            }
            _ => {
                let msg = format!("invalid format option '{}'", char::from(opt));
                return Err(arg_error(1, func, &msg));
            }
        }
        Ok(())
    }
}

/// Argument `i` (Lua's `i + 2`) as luaL_checknumber takes it.
fn number(args: &[StructValue], i: usize) -> Result<f64, String> {
    match args.get(i) {
        Some(StructValue::Num(n)) => Ok(*n),
        Some(StructValue::Str(s)) => {
            str_to_number(s).ok_or_else(|| arg_error(i + 2, "pack", "number expected, got string"))
        }
        None => Err(arg_error(i + 2, "pack", "number expected, got nil")),
    }
}

/// Argument `i` (Lua's `i + 2`) as luaL_checklstring takes it.
fn string(args: &[StructValue], i: usize) -> Result<Cow<'_, [u8]>, String> {
    match args.get(i) {
        Some(StructValue::Str(s)) => Ok(Cow::Borrowed(s)),
        Some(StructValue::Num(n)) => Ok(Cow::Owned(g14(*n).into_bytes())),
        None => Err(arg_error(i + 2, "pack", "string expected, got nil")),
    }
}

/// x86-64's double to `long long` (cvttsd2si): out of range and NaN give
/// the lowest value.
fn to_i64(n: f64) -> i64 {
    if (-TWO_63..TWO_63).contains(&n) {
        n as i64
    } else {
        i64::MIN
    }
}

/// x86-64's double to `unsigned long` as gcc compiles it: from 2^64 on
/// (infinity too) 0, NaN 2^63, negatives wrapped.
fn to_u64(n: f64) -> u64 {
    if n >= TWO_63 {
        (to_i64(n - TWO_63) as u64) ^ (1 << 63)
    } else {
        to_i64(n) as u64
    }
}

/// Append `le` (bytes least significant first) in the format's order.
fn put(out: &mut Vec<u8>, mut le: Vec<u8>, little: bool) {
    if !little {
        le.reverse();
    }
    out.extend(le);
}

/// A field's bytes as an unsigned number; past 8 bytes only the low 8
/// count.
fn bits(field: &[u8], little: bool) -> u64 {
    let push = |l: u64, b: &u8| l << 8 | u64::from(*b);
    match little {
        true => field.iter().rev().fold(0, push),
        false => field.iter().fold(0, push),
    }
}

/// An integer field, its sign extended from bit `8 * size - 1` taken
/// modulo 64, as x86 shifts.
fn integer(field: &[u8], little: bool, signed: bool) -> f64 {
    let l = bits(field, little);
    if !signed {
        return l as f64;
    }
    let mask = u64::MAX << ((field.len() as u32).wrapping_mul(8).wrapping_sub(1) & 63);
    let l = if l & mask != 0 { l | mask } else { l };
    l as i64 as f64
}

/// Lua 5.1's string to number (strtod, then only spaces): decimal,
/// hexadecimal (`0x1p4` too), inf, nan; the string ends at a zero byte.
fn str_to_number(s: &[u8]) -> Option<f64> {
    let s = s.split(|&c| c == 0).next()?;
    let s = std::str::from_utf8(s).ok()?;
    let t = s.trim_matches(|c| matches!(c, ' ' | '\t' | '\n' | '\x0b' | '\x0c' | '\r'));
    let (neg, body) = match t.strip_prefix('-') {
        Some(b) => (true, b),
        None => (false, t.strip_prefix('+').unwrap_or(t)),
    };
    let lower = body.to_ascii_lowercase();
    let v = if let Some(h) = lower.strip_prefix("0x") {
        let (mant, exp) = match h.split_once('p') {
            Some((m, e)) => (m, e.parse::<i32>().ok()?),
            None => (h, 0),
        };
        let (int, frac) = mant.split_once('.').unwrap_or((mant, ""));
        if int.is_empty() && frac.is_empty() {
            return None;
        }
        let mut v = 0.0;
        for c in int.chars().chain(frac.chars()) {
            v = v * 16.0 + f64::from(c.to_digit(16)?);
        }
        let e = (i64::from(exp) - 4 * frac.len() as i64).clamp(-4000, 4000);
        v * 2f64.powi(e as i32)
    } else if let Some(p) = lower.strip_prefix("nan(") {
        // glibc keeps a number inside the parentheses as the payload.
        let seq = p.strip_suffix(')')?;
        if !seq.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return None;
        }
        let payload = match seq.strip_prefix("0x") {
            Some(h) => u64::from_str_radix(h, 16),
            None if seq.starts_with('0') && seq.len() > 1 => u64::from_str_radix(seq, 8),
            None => seq.parse(),
        };
        f64::from_bits(0x7ff8 << 48 | (payload.unwrap_or(0) & ((1 << 51) - 1)))
    } else if body.starts_with(['+', '-']) {
        return None;
    } else {
        body.parse().ok()?
    };
    Some(if neg { -v } else { v })
}

/// A number as Lua 5.1 makes it a string (`%.14g`).
fn g14(n: f64) -> String {
    if n.is_nan() {
        return if n.is_sign_negative() { "-nan" } else { "nan" }.into();
    }
    if n.is_infinite() || n == 0.0 {
        let s = if n.is_infinite() { "inf" } else { "0" };
        return if n.is_sign_negative() {
            format!("-{s}")
        } else {
            s.into()
        };
    }
    let sci = format!("{n:.13e}");
    let (mant, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let trim = |s: &str| match s.contains('.') {
        true => s.trim_end_matches('0').trim_end_matches('.').to_string(),
        false => s.to_string(),
    };
    if (-4..14).contains(&exp) {
        trim(&format!("{n:.*}", (13 - exp) as usize))
    } else {
        let sign = if exp < 0 { '-' } else { '+' };
        format!("{}e{sign}{:02}", trim(mant), exp.abs())
    }
}

#[cfg(test)]
mod tests {
    //! Expected bytes and results are redis-server 7.0.15's own.
    use super::StructValue::{Num, Str};
    use super::*;

    fn hex(b: &[u8]) -> String {
        b.iter().map(|b| format!("{b:02x}")).collect()
    }

    /// Runs `;`-separated cases of `|`-separated fields, the last field
    /// the expected result.
    fn check(cases: &str, f: impl Fn(&[&str]) -> Result<String, String>) {
        for case in cases.split(';') {
            let fields: Vec<&str> = case.trim_start().split('|').collect();
            let (want, args) = fields.split_last().expect("case");
            assert_eq!(f(args).unwrap_or_else(|e| e), *want, "{case}");
        }
    }

    /// `format|args|hex`: args split by `,`, a string starting with `'`.
    #[test]
    fn packs() {
        let cases = "i17|1|0100000000000000000000000000000000;<i17|-2|feffffffffffffff000000000000000000;
            >i17|-2|000000000000000000fffffffffffffffe;
            i33|1|integral size 33 is larger than limit of 32;
            j|1|bad argument #1 to 'pack' (invalid format option 'j');
            =i|1|bad argument #1 to 'pack' (invalid format option '=');
            <bBhHlLTiI|-1,255,-2,65535,-3,4,5,-6,7|fffffefffffffdffffffffffffff04000000000000000500000000000000faffffff07000000;
            >bBhHlLTiI|-1,255,-2,65535,-3,4,5,-6,7|fffffffefffffffffffffffffffd00000000000000040000000000000005fffffffa00000007;
            <i3|-1|ffffff;<I3|16777221|050000;<b|300|2c;<b|-129|7f;<B|-1|ff;>h|74565|2345;
            <L|9223372036854775808|0000000000000080;<L|18446744073709551616|0000000000000000;
            <L|1e30|0000000000000000;<L|inf|0000000000000000;<L|-inf|0000000000000080;
            <L|NaN|0000000000000080;<l|-1e30|0000000000000080;<i|2.7|02000000;<i|-2.7|feffffff;
            <i9|-1|ffffffffffffffff00;i0|1|;<fd|1.5,0.1|0000c03f9a9999999999b93f;
            >fd|1.5,0.1|3fc000003fb999999999999a;<f|0.1|cdcccc3d;<f|1e300|0000807f;s|'ab|616200;
            s|'a\0b|61006200;c5|'abcdefg|6162636465;
            c5|'ab|bad argument #3 to 'pack' (string too short);c0|'abc|616263;c|'abc|61;
            x b x|1|000100;!4 b i|1,2|0100000002000000;!8 b d|1,2|01000000000000000000000000000040;
            !2 b d|1,2|01000000000000000040;! b l|1,2|01000000000000000200000000000000;
            !4 b i3|1,2|010000020000;
            !8 b i3 b i6 i12|1,2,3,4,5|01000002000003000400000000000000050000000000000000000000;
            !8 b c3 h|1,'abc,2|016162630200;!8 b s h|1,'abc,2|0161626300000200;
            !3 b|1|alignment 3 is not a power of 2;!0 b|1|alignment 0 is not a power of 2;
            i99999999999|1|integral size overflow;
            i2147483647|1|integral size 2147483647 is larger than limit of 32;
            i2147483648|1|integral size overflow;!2147483648|1|integral size overflow;
            b||bad argument #2 to 'pack' (number expected, got nil);
            b b|1|bad argument #3 to 'pack' (number expected, got nil);
            s||bad argument #2 to 'pack' (string expected, got nil);
            b5|1|bad argument #1 to 'pack' (invalid format option '5');
            12|1|bad argument #1 to 'pack' (invalid format option '1');b\0b|1|01;||;
            b|'x|bad argument #2 to 'pack' (number expected, got string);b|' 0x10 |10;b|'1e1|0a;
            <d|'0x1p4|0000000000003040;<d|'0x1.8p1|0000000000000840;
            b|'0x|bad argument #2 to 'pack' (number expected, got string);
            b|'  |bad argument #2 to 'pack' (number expected, got string);
            b|'|bad argument #2 to 'pack' (number expected, got string);
            b|'1e|bad argument #2 to 'pack' (number expected, got string);b|'inf|00;
            <d|'nan|000000000000f87f;<d|'-Infinity|000000000000f0ff;<d|'nan(12)|0c0000000000f87f;
            <d|'+.5e1|0000000000001440;<d|'1e400|000000000000f07f;b|'1\0z|01;b|'.5|00;b|'5.|05;
            b|'0X1A|1a;s|12.5|31322e3500;s|1e15|31652b313500;s|1e100|31652b31303000;
            s|123456789012345678|312e32333435363738393031323335652b313700;s|0.1|302e3100;
            s|10000000000000|313030303030303030303030303000;s|inf|696e6600;s|-0|2d3000;
            s|1e-5|31652d303500;s|123456.789e-10|312e3233343536373839652d303500";
        check(cases, |c| {
            let args = c.get(1).filter(|a| !a.is_empty()).map(|a| a.split(','));
            let args = args
                .into_iter()
                .flatten()
                .map(|a| match a.strip_prefix('\'') {
                    Some(s) => Str(s.as_bytes().to_vec()),
                    None => Num(a.parse().expect("number")),
                });
            pack(c[0].as_bytes(), &args.collect::<Vec<_>>()).map(|b| hex(&b))
        });
        let spaced = Str(b"\t\n12\x0b\x0c\r".to_vec());
        assert_eq!(pack(b"b", &[spaced]).map(|b| hex(&b)), Ok("0c".into()));
        // 0/0 is -nan on x86.
        let nan = Num(f64::from_bits(0xfff8 << 48));
        assert_eq!(pack(b"s", &[nan]).map(|b| hex(&b)), Ok("2d6e616e00".into()));
    }

    /// `format|data hex|init|results and the next position`.
    #[test]
    fn unpacks() {
        let cases = "i|6162|1|bad argument #2 to 'unpack' (data string too short);
            <i|61626364|1|1684234849 5;>i|61626364|1|1633837924 5;
            <bBhHlLTiI|fffffefffffffdffffffffffffff04000000000000000500000000000000faffffff07000000|1|-1 255 -2 65535 -3 4 5 -6 7 39;
            <L|ffffffffffffffff|1|18446744073709551616 9;
            <l|0000000000000080|1|-9223372036854775808 9;<i9|800000000000000000|1|-128 10;
            <i9|000000000000000080|1|0 10;<i9|7f0000000000000000|1|127 10;
            <i9|010100000000000000|1|-127 10;
            <i16|01000000000000800000000000000000|1|-9223372036854775808 17;
            <I16|01000000000000000500000000000000|1|1 17;
            >I16|05000000000000000000000000000001|1|1 17;
            <i12|010000800000000000000000|1|-2147483647 13;<i0|61|1|0 1;<i3|ffffff|1|-1 4;
            <i3|ffff7f|1|8388607 4;<fd|0000c03f9a9999999999b93f|1|1.5 0.1 13;
            d|000000000000f8ff|1|NaN 9;s|6162006364|1|'ab' 4;
            s|61626364|1|unfinished string in data;s|6162006364|4|unfinished string in data;
            c2|61626364|1|'ab' 3;c5|61626364|1|bad argument #2 to 'unpack' (data string too short);
            b c0|0261626364|1|'ab' 4;c0|61626364|1|format 'c0' needs a previous size;
            c1 c0|3361626364|1|'abc' 5;c1 c0|7861626364|1|format 'c0' needs a previous size;
            c1 c0|30616263|1|'' 2;s c0|20322000616263|1|'ab' 7;f c0|00002040616263|1|'ab' 7;
            b c0|ff61626364|1|bad argument #2 to 'unpack' (data string too short);
            b c0|0961626364|1|bad argument #2 to 'unpack' (data string too short);
            bxb|616263|1|97 99 4;b\0b|6162|1|97 2;b|616263|2|98 3;b|616263|3|99 4;
            b|616263|4|bad argument #2 to 'unpack' (data string too short);|616263|4|4;
            |616263|0|bad argument #3 to 'unpack' (offset must be 1 or greater);
            b|616263|0|bad argument #3 to 'unpack' (offset must be 1 or greater);|616263|-5|-5;
            <|616263|5|bad argument #2 to 'unpack' (data string too short);<|616263|4|4;
            q|616263|1|bad argument #1 to 'unpack' (invalid format option 'q');
            !4 b i|0100000002000000|1|1 2 9;
            !4 b i|01000000020000|1|bad argument #2 to 'unpack' (data string too short);
            !4 i|0000000005000000|2|5 9;!4 b c3 i|7861626305000000|1|120 'abc' 5 9;
            x||1|bad argument #2 to 'unpack' (data string too short);
            f|616263|1|bad argument #2 to 'unpack' (data string too short);
            i33||1|integral size 33 is larger than limit of 32;
            !3||1|alignment 3 is not a power of 2";
        check(cases, |c| {
            let byte = |i: usize| {
                c[1].get(i..i + 2)
                    .and_then(|d| u8::from_str_radix(d, 16).ok())
            };
            let data: Vec<u8> = (0..c[1].len() / 2)
                .map(|i| byte(2 * i).expect("hex"))
                .collect();
            let init = c[2].parse::<i64>().expect("init") as usize;
            let (vs, next) = unpack(c[0].as_bytes(), &data, init)?;
            let show = |v: &StructValue| match v {
                Num(n) if n.fract() == 0.0 => format!("{}", *n as i128),
                Num(n) => n.to_string(),
                Str(s) => format!("'{}'", String::from_utf8_lossy(s)),
            };
            let next = (next as i64).to_string();
            Ok(vs
                .iter()
                .map(show)
                .chain([next])
                .collect::<Vec<_>>()
                .join(" "))
        });
        let (fmt, data) = (vec![b'b'; 7998], vec![b'a'; 7998]);
        assert_eq!(unpack(&fmt[1..], &data, 1).map(|r| r.1), Ok(7998));
        let overflow = Err("stack overflow (too many results)".to_string());
        assert_eq!(unpack(&fmt, &data, 1), overflow);
    }

    #[test]
    fn sizes() {
        let cases =
            "bhilL|23;!8 b d|16;!8 b i3 b i6 i12|28;c7|7;c|1;q|0;b5|1;Z Q|0;<>! x|1;|0;!4 b c3 i|8;
            s|bad argument #1 to 'size' (option 's' has no fixed size);
            !4 b s|bad argument #1 to 'size' (option 's' has no fixed size);
            c0|bad argument #1 to 'size' (option 'c0' has no fixed size);
            ?|bad argument #1 to 'size' (invalid format option '?');
            =|bad argument #1 to 'size' (invalid format option '=');
            i33|integral size 33 is larger than limit of 32;!3|alignment 3 is not a power of 2";
        check(cases, |c| size(c[0].as_bytes()).map(|n| n.to_string()));
    }
}
