//! The protocol crate's one error type.

use std::fmt;

/// A malformed RESP request or reply, with Redis's own wording.
///
/// `Display` gives the text Redis puts after `-ERR ` before it closes the
/// connection, e.g. `Protocol error: invalid bulk length`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RespError {
    /// A multibulk count that is not an integer or is too large.
    InvalidMultibulkLength,
    /// A bulk length that is not an integer, negative or past the limit.
    InvalidBulkLength,
    /// A multibulk count over 10 before AUTH.
    UnauthenticatedMultibulkLength,
    /// A bulk length over 16 KiB before AUTH.
    UnauthenticatedBulkLength,
    /// A bulk header that does not start with `$`.
    ExpectedDollar(u8),
    /// An inline request line longer than 64 KiB.
    TooBigInlineRequest,
    /// A multibulk count line longer than 64 KiB.
    TooBigMbulkCount,
    /// A bulk count line longer than 64 KiB.
    TooBigBulkCount,
    /// An inline request with an unterminated quote.
    UnbalancedQuotes,
    /// A reply that starts with an unknown type byte (client side).
    InvalidReplyType(u8),
    /// An integer line that does not parse (client side).
    InvalidInteger,
    /// Arrays nested deeper than the decoder allows (client side).
    TooDeep,
    /// One unfinished command holds more bytes than the query buffer
    /// limit (`client-query-buffer-limit`).
    QueryBufferLimit,
}

impl fmt::Display for RespError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Protocol error: ")?;
        match self {
            Self::InvalidMultibulkLength => f.write_str("invalid multibulk length"),
            Self::InvalidBulkLength => f.write_str("invalid bulk length"),
            Self::UnauthenticatedMultibulkLength => f.write_str("unauthenticated multibulk length"),
            Self::UnauthenticatedBulkLength => f.write_str("unauthenticated bulk length"),
            Self::ExpectedDollar(b) => write!(f, "expected '$', got '{}'", char::from(*b)),
            Self::TooBigInlineRequest => f.write_str("too big inline request"),
            Self::TooBigMbulkCount => f.write_str("too big mbulk count string"),
            Self::TooBigBulkCount => f.write_str("too big bulk count string"),
            Self::UnbalancedQuotes => f.write_str("unbalanced quotes in request"),
            Self::InvalidReplyType(b) => write!(f, "invalid reply type byte 0x{b:02x}"),
            Self::InvalidInteger => f.write_str("invalid integer"),
            Self::TooDeep => f.write_str("reply nested too deep"),
            Self::QueryBufferLimit => f.write_str("query buffer limit reached"),
        }
    }
}

/// Errors of the protocol crate.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A length-framed event larger than the codec's maximum.
    #[error("frame of {len} bytes exceeds the maximum of {max} bytes")]
    FrameTooLarge {
        /// The length the frame header announced (or the encoder was given).
        len: u64,
        /// The configured maximum.
        max: u64,
    },
    /// Bytes that are not a valid prost-encoded `LogEvent`.
    #[error("malformed LogEvent: {0}")]
    Decode(#[from] prost::DecodeError),
    /// A `LogEvent` field holding a value no version of the protocol defines.
    #[error("malformed LogEvent: unknown {field} {value}")]
    UnknownValue {
        /// Which field (`type` or `cmd`).
        field: &'static str,
        /// The value found.
        value: i32,
    },
    /// Malformed RESP.
    #[error("{0}")]
    Resp(RespError),
    /// A SYNC140 request or answer that does not parse; the text is the
    /// whole Redis-style error reply without the leading `-`.
    #[error("{0}")]
    Handshake(String),
    /// I/O beneath a codec.
    #[error("i/o error: {0}")]
    Io(#[from] std::io::Error),
}

impl From<RespError> for Error {
    fn from(e: RespError) -> Self {
        Self::Resp(e)
    }
}

/// The protocol crate's result.
pub type Result<T, E = Error> = std::result::Result<T, E>;
