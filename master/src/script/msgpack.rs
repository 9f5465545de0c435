//! The byte-level half of the `cmsgpack` library Redis gives scripts
//! (lua-cmsgpack 0.4.0 as Redis 7.0 ships it): MessagePack encoding of
//! Lua values and decoding back, with cmsgpack's choices of forms, its
//! nesting limit, the Lua 5.1 stack limits it runs into, and its error
//! texts. Converting to and from Lua values is the caller's job.
//!
//! Encoding: a number that is an integer in the `i64` range takes the
//! smallest int form; another one is a float32 when the value survives
//! the trip through `f32`, else a float64. Strings are fixstr, str8,
//! str16 or str32; tables fixarray/array16/array32 or fixmap/map16/map32;
//! a table nested [`MAX_NESTING`] deep is encoded as nil.
//!
//! Decoding: every int form and both float forms are numbers (uint64 is
//! read as a signed 64-bit value, as cmsgpack pushes it); str8/16/32 and
//! fixstr are strings; bin, ext and `0xc1` are "Bad data format in input.".

/// Tables at this depth (the top-level value is depth 0) are encoded as
/// nil (LUACMSGPACK_MAX_NESTING), so cyclic tables end.
pub const MAX_NESTING: usize = 16;
/// Lua 5.1's LUAI_MAXCSTACK: slots a C function may hold on its stack.
const MAX_STACK: usize = 8000;
/// Truncated input.
const EOF: &str = "Missing bytes in input.";
/// A type byte cmsgpack does not decode.
const BAD_FORMAT: &str = "Bad data format in input.";
/// No stack for one more decoded value.
const TOO_MANY: &str =
    "stack overflow (too many return values at once; use unpack_one or unpack_limit instead.)";
/// No stack for one more nested array.
const ARRAY_STACK: &str = "stack overflow (in function mp_decode_to_lua_array)";
/// No stack for the next offset `unpack_one`/`unpack_limit` return.
const OFFSET_STACK: &str = "stack overflow (in function mp_unpack_full)";

/// A value as cmsgpack sees one (Lua's side is converted by the caller).
#[derive(Clone, Debug, PartialEq)]
pub enum MsgValue {
    /// nil (also anything cmsgpack cannot encode: functions, userdata...).
    Nil,
    /// A boolean.
    Bool(bool),
    /// An integer; decoded ints are these. Encoded as the smallest int form.
    Int(i64),
    /// A Lua number; encoded as an int when it holds an integer in the
    /// `i64` range (so a caller may pass every Lua number as `Float`).
    Float(f64),
    /// A Lua string (any bytes).
    Str(Vec<u8>),
    /// A table whose keys are exactly 1..n (an empty table included), in
    /// index order.
    Array(Vec<MsgValue>),
    /// Any other table, pairs in the order `next` gives them.
    Map(Vec<(MsgValue, MsgValue)>),
}

/// Encode one value exactly as lua_cmsgpack's mp_encode_lua_type would for
/// the Lua value it stands for (`cmsgpack.pack` of one argument).
pub fn encode(v: &MsgValue, out: &mut Vec<u8>) {
    encode_at(v, 0, out);
}

/// Encode `v` found `level` tables deep.
fn encode_at(v: &MsgValue, level: usize, out: &mut Vec<u8>) {
    match v {
        MsgValue::Nil => out.push(0xc0),
        MsgValue::Bool(b) => out.push(if *b { 0xc3 } else { 0xc2 }),
        MsgValue::Int(n) => encode_int(*n, out),
        MsgValue::Float(f) => encode_number(*f, out),
        MsgValue::Str(s) => encode_str(s, out),
        MsgValue::Array(_) | MsgValue::Map(_) if level >= MAX_NESTING => out.push(0xc0),
        MsgValue::Array(items) => {
            header(items.len(), 0x90, 0xdc, out);
            for item in items {
                encode_at(item, level + 1, out);
            }
        }
        MsgValue::Map(pairs) => {
            header(pairs.len(), 0x80, 0xde, out);
            for (k, item) in pairs {
                encode_at(k, level + 1, out);
                encode_at(item, level + 1, out);
            }
        }
    }
}

/// `code`, then the low `width` bytes of `n` big-endian.
fn put(out: &mut Vec<u8>, code: u8, n: u64, width: usize) {
    out.push(code);
    out.extend_from_slice(n.to_be_bytes().get(8 - width..).unwrap_or_default());
}

/// An array or map header: the fix form, 16-bit (`code`) or 32-bit
/// (`code + 1`) count.
fn header(n: usize, fix: u8, code: u8, out: &mut Vec<u8>) {
    match n {
        0..=15 => out.push(fix | n as u8),
        16..=0xffff => put(out, code, n as u64, 2),
        _ => put(out, code + 1, n as u64, 4),
    }
}

/// A string: fixstr below 32 bytes, then str8, str16, str32.
fn encode_str(s: &[u8], out: &mut Vec<u8>) {
    let n = s.len() as u64;
    match n {
        0..=31 => out.push(0xa0 | n as u8),
        32..=0xff => put(out, 0xd9, n, 1),
        0x100..=0xffff => put(out, 0xda, n, 2),
        _ => put(out, 0xdb, n, 4),
    }
    out.extend_from_slice(s);
}

/// The smallest int form for `n` (mp_encode_int).
fn encode_int(n: i64, out: &mut Vec<u8>) {
    let u = n as u64;
    match n {
        -32..=127 => out.push(n as u8),
        128..=0xff => put(out, 0xcc, u, 1),
        0x100..=0xffff => put(out, 0xcd, u, 2),
        0x1_0000..=0xffff_ffff => put(out, 0xce, u, 4),
        0x1_0000_0000.. => put(out, 0xcf, u, 8),
        -128..=-33 => put(out, 0xd0, u, 1),
        -32768..=-129 => put(out, 0xd1, u, 2),
        -2_147_483_648..=-32769 => put(out, 0xd2, u, 4),
        _ => put(out, 0xd3, u, 8),
    }
}

/// A Lua number: an int when `(int64_t)n == n` (so -0.0 is 0), float32
/// when `(double)(float)n == n` (infinities included), else float64
/// (NaN, with its bits).
fn encode_number(f: f64, out: &mut Vec<u8>) {
    const TWO_63: f64 = 9_223_372_036_854_775_808.0;
    if f.is_finite() && (-TWO_63..TWO_63).contains(&f) && f.trunc() == f {
        encode_int(f as i64, out);
    } else if f64::from(f as f32) == f {
        put(out, 0xca, u64::from((f as f32).to_bits()), 4);
    } else {
        put(out, 0xcb, f.to_bits(), 8);
    }
}

/// Decode one value at `at`; returns the value and the offset after it;
/// Err with lua_cmsgpack's error text for bad/truncated input (and Lua's
/// "table index is nil"/"table index is NaN" for a map key Lua refuses).
#[cfg(test)]
pub fn decode(b: &[u8], at: usize) -> Result<(MsgValue, usize), String> {
    let mut c = Cursor { b, at };
    let v = c.value(1)?;
    Ok((v, c.at))
}

/// Values decoded from `b` from `offset` on, as `cmsgpack.unpack_limit(s,
/// limit, offset)` decodes them; the next offset, or `None` when the input
/// is consumed (where Lua gets -1). As in cmsgpack, limit 0 with offset 0
/// decodes everything (`cmsgpack.unpack`, which returns no offset), while
/// limit 0 with another offset decodes nothing.
///
/// # Errors
/// "Start offset N greater than input length L." (both printed as C
/// `int`s), the decoding errors of [`decode`], and Lua's stack overflows.
pub fn decode_many(
    b: &[u8],
    offset: usize,
    limit: usize,
) -> Result<(Vec<MsgValue>, Option<usize>), String> {
    if offset > b.len() {
        return Err(format!(
            "Start offset {} greater than input length {}.",
            offset as i32,
            b.len() as i32
        ));
    }
    let all = limit == 0 && offset == 0;
    let limit = if all { i32::MAX as usize } else { limit };
    let mut c = Cursor { b, at: offset };
    let mut values = Vec::new();
    while c.at < b.len() && values.len() < limit {
        // The input string sits under the values already decoded.
        values.push(c.value(1 + values.len())?);
    }
    if !all && 1 + values.len() + 1 > MAX_STACK {
        return Err(OFFSET_STACK.into());
    }
    Ok((values, (c.at < b.len()).then_some(c.at)))
}

/// Reading position in the input.
struct Cursor<'a> {
    b: &'a [u8],
    at: usize,
}

impl<'a> Cursor<'a> {
    /// The next `n` bytes, consumed.
    fn take(&mut self, n: usize) -> Result<&'a [u8], String> {
        let end = self.at.checked_add(n).ok_or(EOF)?;
        let s = self.b.get(self.at..end).ok_or(EOF)?;
        self.at = end;
        Ok(s)
    }

    /// A big-endian unsigned number of `n` (at most 8) bytes.
    fn uint(&mut self, n: usize) -> Result<u64, String> {
        let bytes = self.take(n)?;
        Ok(bytes.iter().fold(0, |acc, &x| acc << 8 | u64::from(x)))
    }

    /// One value read where the Lua stack holds `h` slots: a whole value,
    /// or the header of a table (`true` for a map) of `n` entries.
    fn item(&mut self, h: usize) -> Result<Result<MsgValue, (bool, u64)>, String> {
        let t = *self.b.get(self.at).ok_or(EOF)?;
        if h + 1 > MAX_STACK {
            return Err(TOO_MANY.into());
        }
        self.at += 1;
        let int = |n: i64| Ok(Ok(MsgValue::Int(n)));
        let float = |f: f64| Ok(Ok(MsgValue::Float(f)));
        let string = |s: &[u8]| Ok(Ok(MsgValue::Str(s.to_vec())));
        match t {
            0xc0 => Ok(Ok(MsgValue::Nil)),
            0xc2 | 0xc3 => Ok(Ok(MsgValue::Bool(t == 0xc3))),
            0xcc => int(self.uint(1)? as i64),
            0xcd => int(self.uint(2)? as i64),
            0xce => int(self.uint(4)? as i64),
            0xcf | 0xd3 => int(self.uint(8)? as i64),
            0xd0 => int(i64::from(self.uint(1)? as u8 as i8)),
            0xd1 => int(i64::from(self.uint(2)? as u16 as i16)),
            0xd2 => int(i64::from(self.uint(4)? as u32 as i32)),
            0xca => float(f64::from(f32::from_bits(self.uint(4)? as u32))),
            0xcb => float(f64::from_bits(self.uint(8)?)),
            0xd9..=0xdb => {
                let n = self.uint(1 << (t - 0xd9))?;
                let n = usize::try_from(n).map_err(|_| EOF)?;
                string(self.take(n)?)
            }
            0xdc..=0xdf => Ok(Err((t >= 0xde, self.uint(2 << (t & 1))?))),
            0x00..=0x7f => int(i64::from(t)),
            0xe0..=0xff => int(i64::from(t as i8)),
            0xa0..=0xbf => string(self.take(usize::from(t & 0x1f))?),
            0x80..=0x9f => Ok(Err((t < 0x90, u64::from(t & 0x0f)))),
            _ => Err(BAD_FORMAT.into()),
        }
    }

    /// One value, pushed where the Lua stack already holds `h0` slots.
    /// Tables are built on a heap stack, not by recursion: Lua's stack
    /// allows ~4000 levels.
    fn value(&mut self, h0: usize) -> Result<MsgValue, String> {
        // Open tables: the height each was read at, whether a map, entries
        // left (keys and values counted apart), entries so far.
        let mut open: Vec<(usize, bool, u64, Vec<MsgValue>)> = Vec::new();
        loop {
            // Array elements sit above the table and their index; map keys
            // above the table, values above their key.
            let h = open.last().map_or(h0, |(h, map, _, items)| {
                h + if *map { 1 + items.len() % 2 } else { 2 }
            });
            let mut v = match self.item(h)? {
                Ok(v) => v,
                Err((map, n)) => {
                    if !map && h + 2 > MAX_STACK {
                        return Err(ARRAY_STACK.into());
                    }
                    let n = if map { n * 2 } else { n };
                    if n > 0 {
                        let left = self.b.len().saturating_sub(self.at);
                        let cap = usize::try_from(n).map_or(left, |n| n.min(left));
                        open.push((h, map, n, Vec::with_capacity(cap)));
                        continue;
                    }
                    finish(map, Vec::new())
                }
            };
            // Hand the finished value to its table, closing every table
            // it completes.
            loop {
                let Some((_, map, left, items)) = open.last_mut() else {
                    return Ok(v);
                };
                items.push(v);
                *left -= 1;
                if *map && items.len() % 2 == 0 {
                    match items.get(items.len().saturating_sub(2)) {
                        Some(MsgValue::Nil) => return Err("table index is nil".into()),
                        Some(MsgValue::Float(f)) if f.is_nan() => {
                            return Err("table index is NaN".into())
                        }
                        _ => {}
                    }
                }
                if *left > 0 {
                    break;
                }
                match open.pop() {
                    Some((_, map, _, items)) => v = finish(map, items),
                    None => return Err(EOF.into()),
                }
            }
        }
    }
}

/// A decoded table: its elements, or its keys and values alternating.
fn finish(map: bool, items: Vec<MsgValue>) -> MsgValue {
    if !map {
        return MsgValue::Array(items);
    }
    let mut pairs = Vec::with_capacity(items.len() / 2);
    let mut it = items.into_iter();
    while let (Some(k), Some(v)) = (it.next(), it.next()) {
        pairs.push((k, v));
    }
    MsgValue::Map(pairs)
}

#[cfg(test)]
mod tests {
    //! Expected bytes and results are redis-server 7.0.15's own.
    use super::MsgValue::*;
    use super::*;

    fn hex(s: &str) -> Vec<u8> {
        let byte = |i: usize| s.get(i..i + 2).and_then(|d| u8::from_str_radix(d, 16).ok());
        (0..s.len() / 2)
            .map(|i| byte(2 * i).expect("hex"))
            .collect()
    }

    /// `cmsgpack.pack(...)`, in hex.
    fn pack(vs: &[MsgValue]) -> String {
        let mut out = Vec::new();
        vs.iter().for_each(|v| encode(v, &mut out));
        out.iter().map(|b| format!("{b:02x}")).collect()
    }

    /// A decoded value, briefly.
    fn show(v: &MsgValue) -> String {
        let list = |i: &mut dyn Iterator<Item = String>| i.collect::<Vec<_>>().join(",");
        match v {
            Nil => "nil".into(),
            Bool(b) => b.to_string(),
            Int(n) => n.to_string(),
            Float(f) => format!("{f:?}"),
            Str(s) => format!("'{}'", String::from_utf8_lossy(s)),
            Array(a) => format!("[{}]", list(&mut a.iter().map(show))),
            Map(m) => {
                let pair = |(k, v): &(MsgValue, MsgValue)| show(k) + ":" + &show(v);
                format!("{{{}}}", list(&mut m.iter().map(pair)))
            }
        }
    }

    /// `cmsgpack.unpack_limit(s, limit, offset)`: the values, then the next
    /// offset (-1 at the end), or the error.
    fn unpack(h: &str, offset: usize, limit: usize) -> String {
        match decode_many(&hex(h), offset, limit) {
            Ok((vs, next)) => {
                let next = next.map_or("-1".into(), |n| n.to_string());
                let all: Vec<_> = vs.iter().map(show).chain([next]).collect();
                all.join(" ")
            }
            Err(e) => e,
        }
    }

    fn nest(n: usize, inner: MsgValue) -> MsgValue {
        (0..n).fold(inner, |v, _| Array(vec![v]))
    }

    #[test]
    fn numbers() {
        let cases = "1.5 ca3fc00000 0.1 cb3fb999999999999a -0 00 inf ca7f800000 -inf caff800000
            9223372036854775808 ca5f000000 -9223372036854775808 d38000000000000000
            18446744073709551616 ca5f800000 1e300 cb7e37e43c8800759c 127 7f 128 cc80 255 ccff
            256 cd0100 65535 cdffff 65536 ce00010000 4294967295 ceffffffff
            4294967296 cf0000000100000000 -1 ff -32 e0 -33 d0df -128 d080 -129 d1ff7f
            -32768 d18000 -32769 d2ffff7fff -2147483648 d280000000 -2147483649 d3ffffffff7fffffff
            3.4028234663852886e38 ca7f7fffff 1.401298464324817e-45 ca00000001
            1e20 cb4415af1d78b58c40 9223372036854777856 cb43e0000000000001
            -18446744073709551616 cadf800000 1e-300 cb01a56e1fc2f8f359
            9007199254740994 cf0020000000000002 -9223372036854779904 cbc3e0000000000002
            9007199254740993 cf0020000000000000";
        let tokens: Vec<&str> = cases.split_whitespace().collect();
        for pair in tokens.chunks(2) {
            let x: f64 = pair[0].parse().expect("number");
            assert_eq!(pack(&[Float(x)]), pair[1], "{x}");
            if x.trunc() == x && x.abs() < 9.2e18 {
                assert_eq!(pack(&[Int(x as i64)]), pair[1], "{x}");
            }
        }
        // 0/0 is -nan on x86: NaNs go out as float64, bits as they are.
        let nan = |bits: u64| Float(f64::from_bits(bits << 48));
        let nans = [nan(0xfff8), nan(0x7ff8)];
        assert_eq!(pack(&nans), "cbfff8000000000000cb7ff8000000000000");
    }

    #[test]
    fn strings_and_tables() {
        for case in "31=bf 32=d920 40=d928 255=d9ff 256=da0100".split(' ') {
            let (n, head) = case.split_once('=').expect("case");
            let n = n.parse().expect("length");
            let want = format!("{head}{}", "61".repeat(n));
            assert_eq!(pack(&[Str(vec![b'a'; n])]), want);
        }
        assert!(pack(&[Str(vec![b'a'; 65536])]).starts_with("db0001000061"));
        let others = [Bool(true), Bool(false), Nil, Array(vec![])];
        assert_eq!(pack(&others), "c3c2c090");
        let ints = |n: i64| Array((1..=n).map(Int).collect());
        assert_eq!(pack(&[ints(3)]), "93010203");
        assert_eq!(pack(&[ints(16)]), "dc00100102030405060708090a0b0c0d0e0f10");
        assert!(pack(&[ints(65536)]).starts_with("dd00010000010203"));
        let key = |i| (Str(format!("k{i}").into()), Int(1));
        let map = |n: i64| Map((1..=n).map(key).collect());
        assert!(pack(&[map(16)]).starts_with("de0010a2"));
        assert!(pack(&[map(65536)]).starts_with("df00010000a2"));
        let sparse = Map(vec![(Float(1.0), Float(1.0)), (Float(3.0), Float(3.0))]);
        assert_eq!(pack(&[sparse]), "8201010303");
        assert_eq!(pack(&[Map(vec![(Float(1.5), Int(1))])]), "81ca3fc0000001");
        assert_eq!(pack(&[Map(vec![(Array(vec![]), Array(vec![]))])]), "819090");
        let x = Map(vec![(Str(b"x".to_vec()), ints(1))]);
        let several = [Int(1), Str(b"ab".to_vec()), x];
        assert_eq!(pack(&several), "01a2616281a1789101");
        // Tables 16 deep are nil.
        for (n, want) in [(15, "01"), (16, "01"), (17, "c0"), (19, "c0")] {
            let want = format!("{}{want}", "91".repeat(n.min(16)));
            assert_eq!(pack(&[nest(n, Int(1))]), want, "{n}");
        }
    }

    #[test]
    fn unpacks() {
        let cases = "ccc8=200 -1;cd0100=256 -1;ceffffffff=4294967295 -1;cfffffffffffffffff=-1 -1;
            cf0000000100000001=4294967297 -1;d080d18000d280000000=-128 -32768 -2147483648 -1;
            d38000000000000000=-9223372036854775808 -1;ca3fc00000ca3dcccccd=1.5 0.10000000149011612 -1;
            cb3fb999999999999a=0.1 -1;c0c2c3=nil false true -1;7f80=127 {} -1;ffe0=-1 -32 -1;
            a26162d9026364da00026566db000000026768='ab' 'cd' 'ef' 'gh' -1;9301c003=[1,nil,3] -1;
            820102a16103={1:2,'a':3} -1;dc00020102dd0000000105=[1,2] [5] -1;
            de00010102df0000000101029080={1:2} {1:2} [] {} -1;8101c0={1:nil} -1;=-1;
            c401=BAD;c1=BAD;c70101=BAD;d40101=BAD;9101c4=BAD;cc=EOF;d9056162=EOF;9301=EOF;8201=EOF;
            dc00=EOF;0102cc=EOF;cb00=EOF;db0000ffff61=EOF;dfffffffff=EOF;
            81c001=table index is nil;81cbfff800000000000001=table index is NaN";
        for case in cases.split(';') {
            let (h, want) = case.trim().split_once('=').expect("case");
            let want = want.replace("BAD", BAD_FORMAT).replace("EOF", EOF);
            assert_eq!(unpack(h, 0, 0), want, "{h}");
        }
        assert_eq!(decode(&hex("0193"), 0), Ok((Int(1), 1)));
        assert_eq!(decode(b"\x01", 9), Err(EOF.into()));
    }

    #[test]
    fn unpack_one_and_limit() {
        // Offset, limit = values, next offset.
        let cases =
            "0,1=1 1;1,1=2 2;2,1=3 -1;3,1=-1;0,2=1 2 2;1,2=2 3 -1;1,0=1;3,0=-1;0,5=1 2 3 -1";
        for case in cases.split(';') {
            let (args, want) = case.split_once('=').expect("case");
            let (offset, limit) = args.split_once(',').expect("args");
            let (offset, limit) = (offset.parse().expect("n"), limit.parse().expect("n"));
            assert_eq!(unpack("010203", offset, limit), want, "{args}");
        }
        let too_far = "Start offset 4 greater than input length 3.";
        assert_eq!(unpack("010203", 4, 1), too_far);
        assert_eq!(unpack("010203", (1 << 32) + 4, 1), too_far);
        assert_eq!(unpack("01cc", 1, 1), EOF);
    }

    #[test]
    fn lua_stack_limits() {
        let arrays = |n| format!("{}01", "91".repeat(n));
        let deep = decode_many(&hex(&arrays(3999)), 0, 0).expect("3999 deep");
        let (mut v, mut depth) = (deep.0.first(), 0);
        while let Some(Array(a)) = v {
            (v, depth) = (a.first(), depth + 1);
        }
        assert_eq!((v, depth), (Some(&Int(1)), 3999));
        assert_eq!(unpack(&arrays(4000), 0, 0), ARRAY_STACK);
        let maps = |n| format!("{}01", "8101".repeat(n));
        assert!(decode_many(&hex(&maps(3999)), 0, 0).is_ok());
        assert_eq!(unpack(&maps(4000), 0, 0), TOO_MANY);
        assert_eq!(decode_many(&[1; 7999], 0, 0).map(|r| r.0.len()), Ok(7999));
        assert_eq!(unpack(&"01".repeat(8000), 0, 0), TOO_MANY);
        assert!(decode_many(&[1; 7998], 0, 7998).is_ok());
        assert_eq!(unpack(&"01".repeat(7999), 0, 7999), OFFSET_STACK);
        assert_eq!(unpack(&"01".repeat(8000), 0, 8000), TOO_MANY);
    }
}
