//! Replies out and back: every RESP2 and RESP3 reply type, encoded for
//! the protocol a connection chose (RESP3 types fall back to their RESP2
//! forms as Redis sends them), and a parser for clients that reads both.

use bytes::{Buf, BufMut, Bytes, BytesMut};
use tokio_util::codec::{Decoder, Encoder};

use crate::error::{Error, RespError, Result};
use crate::resp::{find_crlf, parse_i64, DEFAULT_MAX_BULK_BYTES};

/// Deepest array nesting the reply parser follows.
pub const MAX_REPLY_DEPTH: usize = 64;

/// The protocol a connection speaks (`HELLO 2|3`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Proto {
    /// RESP2, every connection's start.
    #[default]
    Resp2,
    /// RESP3.
    Resp3,
}

impl Proto {
    /// 2 or 3.
    pub fn version(self) -> i64 {
        match self {
            Self::Resp2 => 2,
            Self::Resp3 => 3,
        }
    }
}

/// One reply. RESP3's types carry what they are; over RESP2 each goes out
/// as Redis sends it there (a map as a flat array, a double as a bulk
/// string, a boolean as 1 or 0).
#[derive(Debug, Clone, PartialEq)]
pub enum Reply {
    /// `+OK`
    Simple(String),
    /// `-ERR …`; the text excludes the leading `-`.
    Error(String),
    /// `:42`
    Integer(i64),
    /// `$3\r\nfoo`
    Bulk(Bytes),
    /// `$-1`, the nil bulk string (RESP3: `_`).
    Nil,
    /// `*N` followed by N replies.
    Array(Vec<Reply>),
    /// `*-1`, the nil array (RESP3: `_`).
    NilArray,
    /// RESP3 `%`: pairs (RESP2: a flat array of keys and values).
    Map(Vec<(Reply, Reply)>),
    /// RESP3 `~` (RESP2: an array).
    Set(Vec<Reply>),
    /// Pairs Redis nests in RESP3 and flattens in RESP2 (ZRANGE
    /// WITHSCORES, HRANDFIELD WITHVALUES): RESP3 an array of two-element
    /// arrays, RESP2 one flat array. Parsed replies never take this form.
    Pairs(Vec<(Reply, Reply)>),
    /// RESP3 a map; RESP2 an array of two-element arrays (XREAD's
    /// streams). Parsed replies never take this form.
    Keyed(Vec<(Reply, Reply)>),
    /// RESP3 `,` (RESP2: a bulk string), printed as Redis 7.0 prints a
    /// double: `%.17g`, `inf`, `-inf`.
    Double(f64),
    /// A double whose text is given (RESP3 `,`, RESP2 a bulk string): what
    /// Redis prints of a long double (GEOPOS's coordinates). Parsed
    /// replies never take this form.
    DoubleText(String),
    /// RESP3 `#t`/`#f` (RESP2: 1 or 0).
    Bool(bool),
    /// RESP3 `(` (RESP2: a bulk string of the digits).
    BigNumber(String),
    /// RESP3 `=` with its three-letter format (`txt`, `mkd`); RESP2: a bulk
    /// string of the text.
    Verbatim([u8; 3], Bytes),
    /// RESP3 `>`, out of band (pub/sub messages, invalidations); RESP2: an
    /// array.
    Push(Vec<Reply>),
    /// RESP3 `|`: metadata, then the reply it describes (RESP2: the reply
    /// alone). The parser skips attributes and returns the reply.
    Attribute(Vec<(Reply, Reply)>, Box<Reply>),
}

impl Reply {
    /// `+OK`.
    pub fn ok() -> Self {
        Self::Simple("OK".to_owned())
    }

    /// An error reply; `text` starts with its code, e.g. `ERR syntax error`.
    pub fn error(text: impl Into<String>) -> Self {
        Self::Error(text.into())
    }

    /// A bulk reply.
    pub fn bulk(b: impl Into<Bytes>) -> Self {
        Self::Bulk(b.into())
    }

    /// A verbatim text reply (INFO, CLIENT LIST).
    pub fn text(b: impl Into<Bytes>) -> Self {
        Self::Verbatim(*b"txt", b.into())
    }

    /// Append the RESP2 encoding to `dst`.
    pub fn encode(&self, dst: &mut BytesMut) {
        self.encode_as(dst, Proto::Resp2);
    }

    /// Append the encoding for `proto` to `dst`.
    pub fn encode_as(&self, dst: &mut BytesMut, proto: Proto) {
        let v3 = proto == Proto::Resp3;
        match self {
            Self::Simple(s) => put_line(dst, b'+', s.as_bytes()),
            Self::Error(s) => put_line(dst, b'-', s.as_bytes()),
            Self::Integer(n) => put_int_line(dst, b':', *n),
            Self::Bulk(b) => put_bulk(dst, b),
            Self::Nil | Self::NilArray if v3 => dst.put_slice(b"_\r\n"),
            Self::Nil => dst.put_slice(b"$-1\r\n"),
            Self::NilArray => dst.put_slice(b"*-1\r\n"),
            Self::Array(items) => put_items(dst, b'*', items, proto),
            Self::Set(items) => put_items(dst, if v3 { b'~' } else { b'*' }, items, proto),
            Self::Push(items) => put_items(dst, if v3 { b'>' } else { b'*' }, items, proto),
            Self::Pairs(pairs) | Self::Keyed(pairs) if v3 == matches!(self, Self::Pairs(_)) => {
                put_int_line(dst, b'*', pairs.len() as i64);
                for (k, v) in pairs {
                    dst.put_slice(b"*2\r\n");
                    k.encode_as(dst, proto);
                    v.encode_as(dst, proto);
                }
            }
            Self::Map(pairs) | Self::Pairs(pairs) | Self::Keyed(pairs) => {
                if v3 {
                    put_int_line(dst, b'%', pairs.len() as i64);
                } else {
                    put_int_line(dst, b'*', 2 * pairs.len() as i64);
                }
                for (k, v) in pairs {
                    k.encode_as(dst, proto);
                    v.encode_as(dst, proto);
                }
            }
            Self::Double(d) => {
                let text = fmt_double(*d);
                if v3 {
                    put_line(dst, b',', text.as_bytes());
                } else {
                    put_bulk(dst, text.as_bytes());
                }
            }
            Self::DoubleText(text) if v3 => put_line(dst, b',', text.as_bytes()),
            Self::DoubleText(text) => put_bulk(dst, text.as_bytes()),
            Self::Bool(b) if v3 => dst.put_slice(if *b { b"#t\r\n" } else { b"#f\r\n" }),
            Self::Bool(b) => put_int_line(dst, b':', i64::from(*b)),
            Self::BigNumber(n) if v3 => put_line(dst, b'(', n.as_bytes()),
            Self::BigNumber(n) => put_bulk(dst, n.as_bytes()),
            Self::Verbatim(format, text) if v3 => {
                put_int_line(dst, b'=', text.len() as i64 + 4);
                dst.reserve(text.len() + 6);
                dst.put_slice(format);
                dst.put_u8(b':');
                dst.put_slice(text);
                dst.put_slice(b"\r\n");
            }
            Self::Verbatim(_, text) => put_bulk(dst, text),
            Self::Attribute(pairs, reply) => {
                if v3 {
                    put_int_line(dst, b'|', pairs.len() as i64);
                    for (k, v) in pairs {
                        k.encode_as(dst, proto);
                        v.encode_as(dst, proto);
                    }
                }
                reply.encode_as(dst, proto);
            }
        }
    }

    /// Parse one reply (RESP2 or RESP3) from the front of `src`.
    ///
    /// Returns `Ok(None)` when `src` holds only part of a reply, else the
    /// reply and how many bytes it took. RESP3's `_` parses as [`Reply::Nil`].
    ///
    /// # Errors
    /// [`Error::Resp`] for bytes that are not RESP.
    pub fn parse(src: &[u8]) -> Result<Option<(Reply, usize)>> {
        let mut pos = 0;
        Ok(parse_reply(src, &mut pos, 0)?.map(|r| (r, pos)))
    }
}

/// A double as Redis 7.0 prints one in a reply: C's `%.17g`, with `inf`
/// and `-inf` spelled out.
pub fn fmt_double(d: f64) -> String {
    if d.is_nan() {
        return "nan".into();
    }
    if d.is_infinite() {
        return if d > 0.0 { "inf" } else { "-inf" }.into();
    }
    // A whole number below 2^53 (counters, millisecond timestamps: most
    // scores) is its integer: %.17g prints every digit of one, and it
    // needs no exact formatting of 17 digits (two of them, below, whose
    // bignum fallback showed in ZPOPMIN's profile). -0 keeps its sign.
    if d.fract() == 0.0 && d.abs() < EXACT_INTEGERS && !(d == 0.0 && d.is_sign_negative()) {
        return (d as i64).to_string();
    }
    fmt_double_exact(d)
}

/// Below this, every whole double is an integer printed digit for digit.
const EXACT_INTEGERS: f64 = 9_007_199_254_740_992.0;

/// [`fmt_double`] of a finite `d`, by C's rules for `%.17g`.
fn fmt_double_exact(d: f64) -> String {
    // 17 significant digits, then %g's choice of notation by exponent.
    let sci = format!("{d:.16e}");
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    if !(-4..17).contains(&exp) {
        let mantissa = trim_fraction(mantissa);
        let sign = if exp < 0 { '-' } else { '+' };
        return format!("{mantissa}e{sign}{:02}", exp.unsigned_abs());
    }
    let fixed = format!("{d:.prec$}", prec = (16 - exp) as usize);
    trim_fraction(&fixed).to_owned()
}

/// `%g` drops a fraction's trailing zeros, and its point when none remain.
fn trim_fraction(s: &str) -> &str {
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.')
    } else {
        s
    }
}

fn put_items(dst: &mut BytesMut, prefix: u8, items: &[Reply], proto: Proto) {
    put_int_line(dst, prefix, items.len() as i64);
    for item in items {
        item.encode_as(dst, proto);
    }
}

/// Append a simple line (`+…` or `-…`); CR and LF inside become spaces so
/// a reply can never break the framing.
fn put_line(dst: &mut BytesMut, prefix: u8, text: &[u8]) {
    dst.reserve(text.len() + 3);
    dst.put_u8(prefix);
    if text.iter().any(|&b| b == b'\r' || b == b'\n') {
        dst.extend(
            text.iter()
                .map(|&b| if b == b'\r' || b == b'\n' { b' ' } else { b }),
        );
    } else {
        dst.put_slice(text);
    }
    dst.put_slice(b"\r\n");
}

/// Append `prefix`, the decimal of `n` and CRLF.
pub fn put_int_line(dst: &mut BytesMut, prefix: u8, n: i64) {
    let mut digits = [0u8; 21];
    let text = format_i64(n, &mut digits);
    dst.reserve(text.len() + 3);
    dst.put_u8(prefix);
    dst.put_slice(text);
    dst.put_slice(b"\r\n");
}

/// Append a bulk string.
pub fn put_bulk(dst: &mut BytesMut, b: &[u8]) {
    put_int_line(dst, b'$', b.len() as i64);
    dst.reserve(b.len() + 2);
    dst.put_slice(b);
    dst.put_slice(b"\r\n");
}

/// Append a request (an array of bulk strings), as clients send commands.
pub fn put_command<A: AsRef<[u8]>>(dst: &mut BytesMut, args: &[A]) {
    put_int_line(dst, b'*', args.len() as i64);
    for a in args {
        put_bulk(dst, a.as_ref());
    }
}

/// Decimal digits of `n`, written into the tail of `buf` (no `format!`:
/// replies write many numbers).
pub fn format_u64(n: u64, buf: &mut [u8; 21]) -> &[u8] {
    let at = digits_at(n, buf);
    &buf[at..]
}

/// Decimal digits of `n` (a sign first), written into the tail of `buf`.
fn format_i64(n: i64, buf: &mut [u8; 21]) -> &[u8] {
    let mut i = digits_at(n.unsigned_abs(), buf);
    if n < 0 {
        i -= 1;
        buf[i] = b'-';
    }
    &buf[i..]
}

/// Where the digits of `v`, written into the tail of `buf`, start.
fn digits_at(mut v: u64, buf: &mut [u8; 21]) -> usize {
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    i
}

fn parse_reply(src: &[u8], pos: &mut usize, depth: usize) -> Result<Option<Reply>> {
    if depth > MAX_REPLY_DEPTH {
        return Err(RespError::TooDeep.into());
    }
    let rest = &src[*pos..];
    let Some(&kind) = rest.first() else {
        return Ok(None);
    };
    let Some(end) = find_crlf(rest) else {
        return Ok(None);
    };
    let line = rest.get(1..end).unwrap_or_default();
    let after_line = *pos + end + 2;
    let int = || parse_i64(line).ok_or(Error::Resp(RespError::InvalidInteger));
    let text = || String::from_utf8_lossy(line).into_owned();
    let reply = match kind {
        b'+' => Reply::Simple(text()),
        b'-' => Reply::Error(text()),
        b':' => Reply::Integer(int()?),
        b'_' => Reply::Nil,
        b'#' => match line {
            b"t" => Reply::Bool(true),
            b"f" => Reply::Bool(false),
            _ => return Err(RespError::InvalidReplyType(kind).into()),
        },
        b',' => Reply::Double(parse_double(line).ok_or(RespError::InvalidInteger)?),
        b'(' => Reply::BigNumber(text()),
        b'$' | b'=' | b'!' => {
            let n = int()?;
            if n == -1 && kind == b'$' {
                *pos = after_line;
                return Ok(Some(Reply::Nil));
            }
            let n = usize::try_from(n).map_err(|_| RespError::InvalidBulkLength)?;
            if n > DEFAULT_MAX_BULK_BYTES || (kind == b'=' && n < 4) {
                return Err(RespError::InvalidBulkLength.into());
            }
            if src.len() < after_line + n + 2 {
                return Ok(None);
            }
            *pos = after_line + n + 2;
            let body = &src[after_line..after_line + n];
            return Ok(Some(match kind {
                b'$' => Reply::Bulk(Bytes::copy_from_slice(body)),
                b'!' => Reply::Error(String::from_utf8_lossy(body).into_owned()),
                _ => Reply::Verbatim(
                    [body[0], body[1], body[2]],
                    Bytes::copy_from_slice(&body[4..]),
                ),
            }));
        }
        b'*' | b'~' | b'>' | b'%' | b'|' => {
            let n = int()?;
            if n == -1 && kind == b'*' {
                *pos = after_line;
                return Ok(Some(Reply::NilArray));
            }
            let n = usize::try_from(n).map_err(|_| RespError::InvalidMultibulkLength)?;
            let count = if matches!(kind, b'%' | b'|') {
                n.checked_mul(2).ok_or(RespError::InvalidMultibulkLength)?
            } else {
                n
            };
            let mut p = after_line;
            let mut items = Vec::with_capacity(count.min(1024));
            for _ in 0..count {
                match parse_reply(src, &mut p, depth + 1)? {
                    Some(r) => items.push(r),
                    None => return Ok(None),
                }
            }
            *pos = p;
            if kind == b'|' {
                // An attribute: metadata about the reply that follows,
                // which is what the caller gets.
                return parse_reply(src, pos, depth + 1);
            }
            return Ok(Some(match kind {
                b'*' => Reply::Array(items),
                b'~' => Reply::Set(items),
                b'>' => Reply::Push(items),
                _ => {
                    let mut pairs = Vec::with_capacity(items.len() / 2);
                    let mut it = items.into_iter();
                    while let (Some(k), Some(v)) = (it.next(), it.next()) {
                        pairs.push((k, v));
                    }
                    Reply::Map(pairs)
                }
            }));
        }
        other => return Err(RespError::InvalidReplyType(other).into()),
    };
    *pos = after_line;
    Ok(Some(reply))
}

/// A RESP3 double's text: a decimal, `inf`, `-inf` or `nan`.
fn parse_double(line: &[u8]) -> Option<f64> {
    match line {
        b"inf" => Some(f64::INFINITY),
        b"-inf" => Some(f64::NEG_INFINITY),
        b"nan" => Some(f64::NAN),
        _ => std::str::from_utf8(line).ok()?.parse().ok(),
    }
}

/// Encodes replies for a connection.
#[derive(Debug, Default, Clone, Copy)]
pub struct ReplyEncoder {
    /// The protocol the connection speaks.
    pub proto: Proto,
}

impl Encoder<&Reply> for ReplyEncoder {
    type Error = Error;

    fn encode(&mut self, item: &Reply, dst: &mut BytesMut) -> Result<()> {
        item.encode_as(dst, self.proto);
        Ok(())
    }
}

/// Decodes replies (the client's side, as a slave reads its master's
/// answers): each item is one reply.
#[derive(Debug, Default, Clone, Copy)]
pub struct ReplyDecoder;

impl Decoder for ReplyDecoder {
    type Item = Reply;
    type Error = Error;

    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<Reply>> {
        Ok(Reply::parse(src)?.map(|(reply, used)| {
            src.advance(used);
            reply
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn encoded(r: &Reply, proto: Proto) -> Vec<u8> {
        let mut b = BytesMut::new();
        r.encode_as(&mut b, proto);
        b.to_vec()
    }

    #[test]
    fn reply_encoding() {
        let mut b = BytesMut::new();
        Reply::Array(vec![
            Reply::ok(),
            Reply::error("ERR x\r\ny"),
            Reply::Integer(i64::MIN),
            Reply::bulk("hi"),
            Reply::Nil,
            Reply::NilArray,
        ])
        .encode(&mut b);
        assert_eq!(
            &b[..],
            &b"*6\r\n+OK\r\n-ERR x  y\r\n:-9223372036854775808\r\n$2\r\nhi\r\n$-1\r\n*-1\r\n"[..]
        );
    }

    /// Each RESP3 type, and the RESP2 form Redis sends in its place.
    #[test]
    fn resp3_types_and_their_resp2_forms() {
        let cases: Vec<(Reply, &[u8], &[u8])> = vec![
            (
                Reply::Map(vec![(Reply::bulk("a"), Reply::Integer(1))]),
                b"%1\r\n$1\r\na\r\n:1\r\n",
                b"*2\r\n$1\r\na\r\n:1\r\n",
            ),
            (
                Reply::Set(vec![Reply::bulk("x")]),
                b"~1\r\n$1\r\nx\r\n",
                b"*1\r\n$1\r\nx\r\n",
            ),
            (
                Reply::Pairs(vec![(Reply::bulk("m"), Reply::Double(2.0))]),
                b"*1\r\n*2\r\n$1\r\nm\r\n,2\r\n",
                b"*2\r\n$1\r\nm\r\n$1\r\n2\r\n",
            ),
            (
                Reply::Double(1.1),
                b",1.1000000000000001\r\n",
                b"$18\r\n1.1000000000000001\r\n",
            ),
            (Reply::Double(3.0), b",3\r\n", b"$1\r\n3\r\n"),
            (
                Reply::Double(f64::NEG_INFINITY),
                b",-inf\r\n",
                b"$4\r\n-inf\r\n",
            ),
            (Reply::Bool(true), b"#t\r\n", b":1\r\n"),
            (Reply::Bool(false), b"#f\r\n", b":0\r\n"),
            (Reply::Nil, b"_\r\n", b"$-1\r\n"),
            (Reply::NilArray, b"_\r\n", b"*-1\r\n"),
            (
                Reply::BigNumber("123".into()),
                b"(123\r\n",
                b"$3\r\n123\r\n",
            ),
            (Reply::text("a:b"), b"=7\r\ntxt:a:b\r\n", b"$3\r\na:b\r\n"),
            (
                Reply::Push(vec![Reply::Integer(1)]),
                b">1\r\n:1\r\n",
                b"*1\r\n:1\r\n",
            ),
            (
                Reply::Attribute(
                    vec![(Reply::bulk("a"), Reply::Integer(1))],
                    Box::new(Reply::Integer(2)),
                ),
                b"|1\r\n$1\r\na\r\n:1\r\n:2\r\n",
                b":2\r\n",
            ),
        ];
        for (r, v3, v2) in cases {
            assert_eq!(encoded(&r, Proto::Resp3), v3, "{r:?}");
            assert_eq!(encoded(&r, Proto::Resp2), v2, "{r:?}");
        }
    }

    /// C's `%.17g`, checked against printf's output for these values.
    #[test]
    fn doubles_print_like_percent_17g() {
        for (d, text) in [
            (0.0, "0"),
            (-0.0, "-0"),
            (1.5, "1.5"),
            (0.1, "0.10000000000000001"),
            (100.0, "100"),
            (1e16, "10000000000000000"),
            (1e17, "1e+17"),
            (1.5e300, "1.5000000000000001e+300"),
            (0.0001, "0.0001"),
            (0.00001, "1.0000000000000001e-05"),
            (-2.5e-10, "-2.5000000000000002e-10"),
            (123456789.125, "123456789.125"),
            (-1.0, "-1"),
            (9007199254740991.0, "9007199254740991"),
            (-9007199254740991.0, "-9007199254740991"),
            (9007199254740992.0, "9007199254740992"),
        ] {
            assert_eq!(fmt_double(d), text, "{d:e}");
        }
    }

    proptest! {
        /// Whole numbers take the integer path: it prints what the
        /// exact one does, on both sides of 2^53 and of 1e17.
        #[test]
        fn whole_doubles_print_as_the_exact_path_does(
            n in prop_oneof![
                -(1i64 << 54)..(1i64 << 54),
                -1_000_000i64..1_000_000,
                ((1i64 << 53) - 64)..((1i64 << 53) + 64),
                (-(1i64 << 53) - 64)..(-(1i64 << 53) + 64),
            ],
            scale in 0u32..4,
        ) {
            let d = n as f64 * 10f64.powi(scale as i32);
            prop_assert_eq!(fmt_double(d), fmt_double_exact(d));
        }
    }

    fn arb_reply() -> impl Strategy<Value = Reply> {
        let leaf = prop_oneof![
            "[a-zA-Z0-9 ]{0,20}".prop_map(Reply::Simple),
            "[a-zA-Z0-9 ]{0,20}".prop_map(Reply::Error),
            any::<i64>().prop_map(Reply::Integer),
            prop::collection::vec(any::<u8>(), 0..40).prop_map(|v| Reply::Bulk(v.into())),
            Just(Reply::Nil),
            Just(Reply::NilArray),
        ];
        leaf.prop_recursive(3, 32, 6, |inner| {
            prop::collection::vec(inner, 0..6).prop_map(Reply::Array)
        })
    }

    fn arb_reply3() -> impl Strategy<Value = Reply> {
        let leaf = prop_oneof![
            "[a-zA-Z0-9 ]{0,20}".prop_map(Reply::Simple),
            any::<i64>().prop_map(Reply::Integer),
            prop::collection::vec(any::<u8>(), 0..40).prop_map(|v| Reply::Bulk(v.into())),
            Just(Reply::Nil),
            any::<bool>().prop_map(Reply::Bool),
            (-1e300f64..1e300).prop_map(Reply::Double),
            "[0-9]{1,40}".prop_map(Reply::BigNumber),
            prop::collection::vec(any::<u8>(), 0..40).prop_map(Reply::text),
        ];
        leaf.prop_recursive(3, 32, 6, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..6).prop_map(Reply::Array),
                prop::collection::vec(inner.clone(), 0..6).prop_map(Reply::Set),
                prop::collection::vec(inner.clone(), 0..6).prop_map(Reply::Push),
                prop::collection::vec((inner.clone(), inner), 0..4).prop_map(Reply::Map),
            ]
        })
    }

    proptest! {
        #[test]
        fn replies_round_trip(r in arb_reply()) {
            let b = encoded(&r, Proto::Resp2);
            let (back, used) = Reply::parse(&b).expect("valid").expect("complete");
            prop_assert_eq!(used, b.len());
            prop_assert_eq!(back, r);
            // Every proper prefix is "need more", never an error or a reply.
            for cut in 0..b.len() {
                prop_assert!(matches!(Reply::parse(&b[..cut]), Ok(None)));
            }
        }

        /// RESP3 replies parse back to what was sent (a `%.17g` double
        /// reads back as the same double).
        #[test]
        fn resp3_replies_round_trip(r in arb_reply3()) {
            let b = encoded(&r, Proto::Resp3);
            let (back, used) = Reply::parse(&b).expect("valid").expect("complete");
            prop_assert_eq!(used, b.len());
            prop_assert_eq!(back, r);
            for cut in 0..b.len() {
                prop_assert!(matches!(Reply::parse(&b[..cut]), Ok(None)));
            }
        }

        #[test]
        fn arbitrary_bytes_never_panic_the_reply_parser(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
            let _ = Reply::parse(&bytes);
        }

        #[test]
        fn integers_format_like_std(n in any::<i64>()) {
            let mut d = [0u8; 21];
            let text = n.to_string();
            prop_assert_eq!(format_i64(n, &mut d), text.as_bytes());
        }

        #[test]
        fn unsigned_integers_format_like_std(n in any::<u64>()) {
            let mut d = [0u8; 21];
            for n in [n, u64::MAX] {
                let text = n.to_string();
                prop_assert_eq!(format_u64(n, &mut d), text.as_bytes());
            }
        }
    }
}
