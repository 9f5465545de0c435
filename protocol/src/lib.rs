//! rocksync's wire formats, with no sockets and no storage: the `LogEvent`
//! of the binlog and of sync streams, their length framing, RESP2 and
//! RESP3 for clients, and the SYNC140 handshake.

mod error;
mod event;
mod frame;
mod handshake;
pub mod rdb;
mod reply;
mod resp;
pub mod splice;

pub use error::{Error, RespError, Result};
pub use event::{Command, EventType, LogEvent, Prior};
pub use frame::{EventCodec, DEFAULT_MAX_FRAME_BYTES, FRAME_HEADER_BYTES};
pub use handshake::{
    is_valid_replid, ReplAck, SyncAnswer, SyncDecision, SyncRequest, SYNC_COMMAND,
};
pub use reply::{
    fmt_double, format_u64, put_bulk, put_command, put_int_line, Proto, Reply, ReplyDecoder,
    ReplyEncoder,
};
pub use resp::{
    parse_i64, split_inline, RequestDecoder, RespLimits, DEFAULT_MAX_BULK_BYTES,
    DEFAULT_MAX_MULTIBULK_LEN, INLINE_MAX_BYTES,
};

/// The most a decoder reserves ahead of the bytes it has: buffers grow with
/// the data that arrives, never with what a length prefix alone claims.
pub const MAX_RESERVE_BYTES: usize = 64 * 1024;
