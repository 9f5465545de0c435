//! Client requests in: multibulk arrays and inline commands, with Redis's
//! limits and error texts. A pure codec over byte buffers: no sockets here.

use bytes::{Buf, Bytes, BytesMut};
use tokio_util::codec::Decoder;

use crate::error::{Error, RespError, Result};

/// Longest inline request or count line Redis accepts (`PROTO_INLINE_MAX_SIZE`).
pub const INLINE_MAX_BYTES: usize = 64 * 1024;
/// Redis's default `proto-max-bulk-len`.
pub const DEFAULT_MAX_BULK_BYTES: usize = 512 * 1024 * 1024;
/// Largest multibulk count accepted by default (Redis 6's fixed limit).
pub const DEFAULT_MAX_MULTIBULK_LEN: usize = 1024 * 1024;
/// Largest multibulk count before AUTH (Redis 7).
pub const UNAUTHENTICATED_MAX_MULTIBULK_LEN: i64 = 10;
/// Largest bulk before AUTH (Redis 7).
pub const UNAUTHENTICATED_MAX_BULK_BYTES: i64 = 16 * 1024;

/// Size limits of a request decoder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RespLimits {
    /// Largest bulk string (`proto-max-bulk-len`), default 512 MiB.
    pub max_bulk_bytes: usize,
    /// Largest argument count, default 1 Mi.
    pub max_multibulk_len: usize,
    /// Most bytes one unfinished command may hold
    /// (`client-query-buffer-limit`), default 1 GiB.
    pub max_query_bytes: usize,
}

impl Default for RespLimits {
    fn default() -> Self {
        Self {
            max_bulk_bytes: DEFAULT_MAX_BULK_BYTES,
            max_multibulk_len: DEFAULT_MAX_MULTIBULK_LEN,
            max_query_bytes: 1 << 30,
        }
    }
}

/// Redis's `string2ll`: an optional `-`, digits, no leading zeros, no `+`,
/// no spaces, in range.
pub fn parse_i64(s: &[u8]) -> Option<i64> {
    let (neg, digits) = match s.split_first()? {
        (b'-', rest) => (true, rest),
        _ => (false, s),
    };
    if digits.is_empty() || (digits.len() > 1 && digits[0] == b'0') {
        return None;
    }
    if neg && digits == b"0" {
        return None;
    }
    let mut v: i64 = 0;
    for &d in digits {
        if !d.is_ascii_digit() {
            return None;
        }
        let d = i64::from(d - b'0');
        v = if neg {
            v.checked_mul(10)?.checked_sub(d)?
        } else {
            v.checked_mul(10)?.checked_add(d)?
        };
    }
    Some(v)
}

/// Index of the `\r` of the first CRLF in `src`.
pub(crate) fn find_crlf(src: &[u8]) -> Option<usize> {
    let mut from = 0;
    while let Some(i) = src[from..].iter().position(|&b| b == b'\r') {
        let at = from + i;
        match src.get(at + 1) {
            Some(b'\n') => return Some(at),
            Some(_) => from = at + 1,
            None => return None,
        }
    }
    None
}

/// Splits an inline request line into arguments like Redis's
/// `sdssplitargs`: blanks separate, `"…"` takes `\n \r \t \b \a \\ \" \xHH`
/// escapes, `'…'` takes `\'`, and a closing quote must end the argument.
///
/// # Errors
/// [`RespError::UnbalancedQuotes`] for an unterminated quote or a quote
/// followed by a non-blank.
pub fn split_inline(line: &[u8]) -> Result<Vec<Bytes>, RespError> {
    let is_space = |b: u8| matches!(b, b' ' | b'\n' | b'\r' | b'\t' | b'\x0b' | b'\x0c' | 0);
    let mut args = Vec::new();
    let mut i = 0;
    loop {
        while i < line.len() && is_space(line[i]) {
            i += 1;
        }
        if i == line.len() {
            return Ok(args);
        }
        let mut cur = Vec::new();
        let mut in_double = false;
        let mut in_single = false;
        loop {
            let Some(&c) = line.get(i) else {
                if in_double || in_single {
                    return Err(RespError::UnbalancedQuotes);
                }
                break;
            };
            if in_double {
                if c == b'\\' && line.get(i + 1) == Some(&b'x') {
                    let hex = line.get(i + 2..i + 4).and_then(|h| {
                        std::str::from_utf8(h)
                            .ok()
                            .and_then(|s| u8::from_str_radix(s, 16).ok())
                    });
                    if let Some(v) = hex {
                        cur.push(v);
                        i += 4;
                        continue;
                    }
                }
                if c == b'\\' && i + 1 < line.len() {
                    i += 1;
                    cur.push(match line[i] {
                        b'n' => b'\n',
                        b'r' => b'\r',
                        b't' => b'\t',
                        b'b' => 8,
                        b'a' => 7,
                        other => other,
                    });
                } else if c == b'"' {
                    if line.get(i + 1).is_some_and(|&n| !is_space(n)) {
                        return Err(RespError::UnbalancedQuotes);
                    }
                    i += 1;
                    break;
                } else {
                    cur.push(c);
                }
            } else if in_single {
                if c == b'\\' && line.get(i + 1) == Some(&b'\'') {
                    i += 1;
                    cur.push(b'\'');
                } else if c == b'\'' {
                    if line.get(i + 1).is_some_and(|&n| !is_space(n)) {
                        return Err(RespError::UnbalancedQuotes);
                    }
                    i += 1;
                    break;
                } else {
                    cur.push(c);
                }
            } else if is_space(c) {
                break;
            } else if c == b'"' {
                in_double = true;
            } else if c == b'\'' {
                in_single = true;
            } else {
                cur.push(c);
            }
            i += 1;
        }
        args.push(Bytes::from(cur));
    }
}

/// A multibulk request being received.
#[derive(Debug)]
struct Partial {
    remaining: usize,
    args: Vec<Bytes>,
    /// The bytes of `args`.
    bytes: usize,
}

/// Decodes client requests: each item is one command's arguments.
///
/// Keeps the arguments already received of a multibulk request, so a large
/// pipeline or value arriving in many reads is parsed once. After an error
/// the connection must be closed (as Redis does): the buffer's position is
/// then unspecified.
#[derive(Debug, Default)]
pub struct RequestDecoder {
    limits: RespLimits,
    unauthenticated: bool,
    partial: Option<Partial>,
}

impl RequestDecoder {
    /// A decoder with these limits.
    pub fn new(limits: RespLimits) -> Self {
        Self {
            limits,
            unauthenticated: false,
            partial: None,
        }
    }

    /// While true, Redis 7's tighter pre-AUTH limits apply (10 arguments,
    /// 16 KiB bulks).
    pub fn set_unauthenticated(&mut self, unauthenticated: bool) {
        self.unauthenticated = unauthenticated;
    }

    fn decode_inline(&mut self, src: &mut BytesMut) -> Result<Option<Vec<Bytes>>> {
        let Some(nl) = src.iter().position(|&b| b == b'\n') else {
            if src.len() > INLINE_MAX_BYTES {
                return Err(RespError::TooBigInlineRequest.into());
            }
            return Ok(None);
        };
        let line = src.split_to(nl + 1);
        let mut body = &line[..nl];
        if let Some(stripped) = body.strip_suffix(b"\r") {
            body = stripped;
        }
        Ok(Some(split_inline(body)?))
    }

    /// Read a count line (`*N` or `$N`) at the front of `src` without
    /// consuming it: the count and the line's length with CRLF.
    fn count_line(src: &[u8], too_big: RespError) -> Result<Option<(Option<i64>, usize)>> {
        match find_crlf(src) {
            Some(end) => Ok(Some((
                parse_i64(src.get(1..end).unwrap_or_default()),
                end + 2,
            ))),
            None if src.len() > INLINE_MAX_BYTES => Err(too_big.into()),
            None => Ok(None),
        }
    }
}

impl Decoder for RequestDecoder {
    type Item = Vec<Bytes>;
    type Error = Error;

    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<Vec<Bytes>>> {
        loop {
            let partial = match self.partial.as_mut() {
                Some(p) => p,
                None => {
                    let Some(&first) = src.first() else {
                        return Ok(None);
                    };
                    if first != b'*' {
                        match self.decode_inline(src)? {
                            Some(args) if args.is_empty() => continue,
                            other => return Ok(other),
                        }
                    }
                    let Some((count, line_len)) =
                        Self::count_line(src, RespError::TooBigMbulkCount)?
                    else {
                        return Ok(None);
                    };
                    let n = match count {
                        Some(n) if n <= self.limits.max_multibulk_len as i64 => n,
                        _ => return Err(RespError::InvalidMultibulkLength.into()),
                    };
                    if self.unauthenticated && n > UNAUTHENTICATED_MAX_MULTIBULK_LEN {
                        return Err(RespError::UnauthenticatedMultibulkLength.into());
                    }
                    src.advance(line_len);
                    if n <= 0 {
                        continue;
                    }
                    let n = n as usize;
                    self.partial.insert(Partial {
                        remaining: n,
                        args: Vec::with_capacity(n.min(1024)),
                        bytes: 0,
                    })
                }
            };
            while partial.remaining > 0 {
                let Some(&first) = src.first() else {
                    return Ok(None);
                };
                let Some((len, line_len)) = Self::count_line(src, RespError::TooBigBulkCount)?
                else {
                    return Ok(None);
                };
                if first != b'$' {
                    return Err(RespError::ExpectedDollar(first).into());
                }
                let len = match len {
                    Some(n) if n >= 0 && n <= self.limits.max_bulk_bytes as i64 => n,
                    _ => return Err(RespError::InvalidBulkLength.into()),
                };
                if self.unauthenticated && len > UNAUTHENTICATED_MAX_BULK_BYTES {
                    return Err(RespError::UnauthenticatedBulkLength.into());
                }
                let len = len as usize;
                let need = line_len + len + 2;
                // What this command holds so far, and what has come of it.
                let arrived = src.len().saturating_sub(line_len).min(len);
                if partial.bytes + arrived > self.limits.max_query_bytes {
                    return Err(RespError::QueryBufferLimit.into());
                }
                if src.len() < need {
                    // Grow with the data that arrives, not with what a
                    // header alone claims (issue 9, case 14).
                    src.reserve((need - src.len()).min(crate::MAX_RESERVE_BYTES));
                    return Ok(None);
                }
                src.advance(line_len);
                partial.args.push(src.split_to(len).freeze());
                partial.bytes += len;
                src.advance(2);
                partial.remaining -= 1;
            }
            let done = self.partial.take().map(|p| p.args);
            return Ok(done);
        }
    }
}

#[cfg(test)]
mod tests {
    /// Issue 9, case 14: a `$536870912` header alone reserves no 512 MiB.
    #[test]
    fn a_huge_bulk_header_alone_reserves_little() {
        let mut d = RequestDecoder::new(RespLimits::default());
        let mut buf = bytes::BytesMut::from(&b"*2\r\n$3\r\nSET\r\n$536870912\r\n"[..]);
        assert!(d.decode(&mut buf).expect("valid so far").is_none());
        assert!(
            buf.capacity() <= 2 * crate::MAX_RESERVE_BYTES,
            "{}",
            buf.capacity()
        );
    }

    use super::*;
    use crate::put_command;
    use proptest::prelude::*;

    fn decode_all(dec: &mut RequestDecoder, bytes: &[u8]) -> Result<Vec<Vec<Bytes>>> {
        let mut buf = BytesMut::from(bytes);
        let mut out = Vec::new();
        while let Some(cmd) = dec.decode(&mut buf)? {
            out.push(cmd);
        }
        Ok(out)
    }

    fn err_text(bytes: &[u8]) -> String {
        let mut dec = RequestDecoder::default();
        match decode_all(&mut dec, bytes) {
            Ok(v) => panic!("expected an error, got {v:?}"),
            Err(e) => format!("ERR {e}"),
        }
    }

    fn args(v: &[&str]) -> Vec<Bytes> {
        v.iter()
            .map(|s| Bytes::copy_from_slice(s.as_bytes()))
            .collect()
    }

    #[test]
    fn pipelined_multibulk_and_inline() {
        let mut dec = RequestDecoder::default();
        let got = decode_all(
            &mut dec,
            b"*2\r\n$3\r\nGET\r\n$1\r\nk\r\nPING\r\n\r\n*0\r\nset a \"b c\"\n",
        )
        .expect("valid");
        assert_eq!(
            got,
            vec![
                args(&["GET", "k"]),
                args(&["PING"]),
                args(&["set", "a", "b c"])
            ]
        );
    }

    #[test]
    fn redis_error_texts() {
        assert_eq!(
            err_text(b"*x\r\n"),
            "ERR Protocol error: invalid multibulk length"
        );
        assert_eq!(
            err_text(b"*1\r\n$-3\r\n"),
            "ERR Protocol error: invalid bulk length"
        );
        assert_eq!(
            err_text(b"*1\r\n:3\r\n"),
            "ERR Protocol error: expected '$', got ':'"
        );
        assert_eq!(
            err_text(b"set a \"b\n"),
            "ERR Protocol error: unbalanced quotes in request"
        );
        assert_eq!(
            err_text(b"set a \"b\"c\n"),
            "ERR Protocol error: unbalanced quotes in request"
        );
        let long = vec![b'a'; INLINE_MAX_BYTES + 1];
        assert_eq!(
            err_text(&long),
            "ERR Protocol error: too big inline request"
        );
        let mut long = b"*".to_vec();
        long.extend(vec![b'1'; INLINE_MAX_BYTES + 1]);
        assert_eq!(
            err_text(&long),
            "ERR Protocol error: too big mbulk count string"
        );
    }

    #[test]
    fn one_unfinished_command_holds_at_most_the_query_buffer_limit() {
        let limits = RespLimits {
            max_query_bytes: 10,
            ..RespLimits::default()
        };
        // Whole commands of any number pass; one command's bytes count.
        let mut dec = RequestDecoder::new(limits);
        let ok = decode_all(&mut dec, b"*2\r\n$5\r\nhello\r\n$5\r\nworld\r\n").expect("10 bytes");
        assert_eq!(ok.len(), 1);
        let mut dec = RequestDecoder::new(limits);
        let e = decode_all(&mut dec, b"*3\r\n$5\r\nhello\r\n$5\r\nworld\r\n$1\r\n!\r\n")
            .err()
            .map(|e| e.to_string());
        assert_eq!(
            e.as_deref(),
            Some("Protocol error: query buffer limit reached")
        );
        // A bulk arriving in pieces counts as it comes.
        let mut dec = RequestDecoder::new(limits);
        let mut buf = bytes::BytesMut::from(&b"*1\r\n$100\r\n0123456"[..]);
        assert!(dec.decode(&mut buf).expect("7 bytes so far").is_none());
        buf.extend_from_slice(b"89abcdef");
        assert!(dec.decode(&mut buf).is_err(), "past 10 bytes");
    }

    #[test]
    fn bulk_limit_is_proto_max_bulk_len() {
        let mut dec = RequestDecoder::new(RespLimits {
            max_bulk_bytes: 4,
            max_multibulk_len: 2,
            ..RespLimits::default()
        });
        assert!(decode_all(&mut dec, b"*1\r\n$4\r\nabcd\r\n").is_ok());
        let mut dec = RequestDecoder::new(RespLimits {
            max_bulk_bytes: 4,
            max_multibulk_len: 2,
            ..RespLimits::default()
        });
        let e = decode_all(&mut dec, b"*1\r\n$5\r\n")
            .err()
            .map(|e| e.to_string());
        assert_eq!(e.as_deref(), Some("Protocol error: invalid bulk length"));
        let mut dec = RequestDecoder::new(RespLimits {
            max_bulk_bytes: 4,
            max_multibulk_len: 2,
            ..RespLimits::default()
        });
        let e = decode_all(&mut dec, b"*3\r\n").err().map(|e| e.to_string());
        assert_eq!(
            e.as_deref(),
            Some("Protocol error: invalid multibulk length")
        );
    }

    #[test]
    fn unauthenticated_limits() {
        let mut dec = RequestDecoder::default();
        dec.set_unauthenticated(true);
        let e = decode_all(&mut dec, b"*11\r\n")
            .err()
            .map(|e| e.to_string());
        assert_eq!(
            e.as_deref(),
            Some("Protocol error: unauthenticated multibulk length")
        );
    }

    #[test]
    fn inline_escapes() {
        let got = split_inline(br#"a "x\x41\n" 'it\'s' """#).expect("valid");
        assert_eq!(got, args(&["a", "xA\n", "it's", ""]));
    }

    proptest! {
        #[test]
        fn commands_round_trip_in_any_chunking(
            cmds in prop::collection::vec(prop::collection::vec(prop::collection::vec(any::<u8>(), 0..30), 1..6), 1..8),
            chunk in 1usize..17,
        ) {
            let mut wire = BytesMut::new();
            for c in &cmds {
                put_command(&mut wire, c);
            }
            let mut dec = RequestDecoder::default();
            let mut buf = BytesMut::new();
            let mut got = Vec::new();
            for piece in wire.chunks(chunk) {
                buf.extend_from_slice(piece);
                while let Some(c) = dec.decode(&mut buf).expect("valid") {
                    got.push(c.into_iter().map(|b| b.to_vec()).collect::<Vec<_>>());
                }
            }
            prop_assert_eq!(got, cmds);
        }

        #[test]
        fn arbitrary_bytes_never_panic_the_request_decoder(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
            let mut dec = RequestDecoder::new(RespLimits { max_bulk_bytes: 1 << 16, max_multibulk_len: 1 << 10, ..RespLimits::default() });
            let mut buf = BytesMut::from(&bytes[..]);
            while let Ok(Some(_)) = dec.decode(&mut buf) {}
        }

        #[test]
        fn arbitrary_resp_shaped_bytes_never_panic(
            parts in prop::collection::vec(prop_oneof![
                Just(b"*".to_vec()), Just(b"$".to_vec()), Just(b"\r\n".to_vec()),
                Just(b"-1".to_vec()), Just(b"3".to_vec()), Just(b"\"".to_vec()),
                prop::collection::vec(any::<u8>(), 0..4),
            ], 0..64)
        ) {
            let bytes: Vec<u8> = parts.concat();
            let mut dec = RequestDecoder::default();
            let mut buf = BytesMut::from(&bytes[..]);
            while let Ok(Some(_)) = dec.decode(&mut buf) {}
            let _ = crate::Reply::parse(&bytes);
        }

        #[test]
        fn integers_parse_like_std(n in any::<i64>()) {
            prop_assert_eq!(parse_i64(n.to_string().as_bytes()), Some(n));
        }
    }
}
