//! Length framing for streams of `LogEvent`s (master → slave after the
//! SYNC140 answer): a 4-byte big-endian payload length, then the payload.

use bytes::{Buf, BufMut, BytesMut};
use tokio_util::codec::{Decoder, Encoder};

use crate::error::{Error, Result};
use crate::event::LogEvent;

/// Bytes of the length prefix.
pub const FRAME_HEADER_BYTES: usize = 4;

/// Default largest payload: a 512 MiB value (Redis's `proto-max-bulk-len`)
/// plus room for its key and the event's other fields.
pub const DEFAULT_MAX_FRAME_BYTES: usize = 512 * 1024 * 1024 + 64 * 1024;

/// A tokio-util codec of length-framed `LogEvent`s.
#[derive(Debug, Clone, Copy)]
pub struct EventCodec {
    max_frame_bytes: usize,
}

impl Default for EventCodec {
    fn default() -> Self {
        Self::new(DEFAULT_MAX_FRAME_BYTES)
    }
}

impl EventCodec {
    /// A codec refusing payloads over `max_frame_bytes` (capped at `u32::MAX`).
    pub fn new(max_frame_bytes: usize) -> Self {
        Self {
            max_frame_bytes: max_frame_bytes.min(u32::MAX as usize),
        }
    }

    /// The largest payload this codec accepts.
    pub fn max_frame_bytes(&self) -> usize {
        self.max_frame_bytes
    }

    fn too_large(&self, len: usize) -> Error {
        Error::FrameTooLarge {
            len: len as u64,
            max: self.max_frame_bytes as u64,
        }
    }
}

impl Decoder for EventCodec {
    type Item = LogEvent;
    type Error = Error;

    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<LogEvent>> {
        let Some(header) = src.get(..FRAME_HEADER_BYTES) else {
            return Ok(None);
        };
        let mut len_bytes = [0u8; FRAME_HEADER_BYTES];
        len_bytes.copy_from_slice(header);
        let len = u32::from_be_bytes(len_bytes) as usize;
        if len > self.max_frame_bytes {
            return Err(self.too_large(len));
        }
        let total = FRAME_HEADER_BYTES + len;
        if src.len() < total {
            // Grow with the data that arrives, not with what a length
            // alone claims (issue 9, case 14).
            src.reserve((total - src.len()).min(crate::MAX_RESERVE_BYTES));
            return Ok(None);
        }
        src.advance(FRAME_HEADER_BYTES);
        let payload = src.split_to(len).freeze();
        LogEvent::decode(payload).map(Some)
    }
}

impl Encoder<&LogEvent> for EventCodec {
    type Error = Error;

    fn encode(&mut self, event: &LogEvent, dst: &mut BytesMut) -> Result<()> {
        let len = event.encoded_len();
        if len > self.max_frame_bytes {
            return Err(self.too_large(len));
        }
        dst.reserve(FRAME_HEADER_BYTES + len);
        // `len` fits: `max_frame_bytes` is capped at u32::MAX.
        dst.put_u32(len as u32);
        event.encode(dst);
        Ok(())
    }
}

impl Encoder<LogEvent> for EventCodec {
    type Error = Error;

    fn encode(&mut self, event: LogEvent, dst: &mut BytesMut) -> Result<()> {
        self.encode(&event, dst)
    }
}

#[cfg(test)]
mod tests {
    /// Issue 9, case 14: a frame length alone reserves no whole frame.
    #[test]
    fn a_huge_frame_length_alone_reserves_little() {
        use tokio_util::codec::Decoder as _;
        let mut codec = super::EventCodec::default();
        let mut buf = bytes::BytesMut::new();
        buf.extend_from_slice(&(super::DEFAULT_MAX_FRAME_BYTES as u32).to_be_bytes());
        assert!(codec.decode(&mut buf).expect("valid so far").is_none());
        assert!(
            buf.capacity() <= 2 * crate::MAX_RESERVE_BYTES,
            "{}",
            buf.capacity()
        );
    }

    use super::*;
    use crate::event::Command;
    use proptest::prelude::*;

    fn arb_event() -> impl Strategy<Value = LogEvent> {
        (
            any::<u64>(),
            prop::sample::select(Command::ALL),
            any::<i64>(),
            prop::collection::vec(any::<u8>(), 0..64),
            prop::collection::vec(any::<u8>(), 0..256),
            any::<bool>(),
        )
            .prop_map(|(seq, cmd, ttl, k, v, more)| {
                LogEvent::data(seq, cmd, k, v).with_ttl(ttl).with_more(more)
            })
    }

    #[test]
    fn oversize_frame_is_a_clear_error() {
        let mut codec = EventCodec::new(16);
        let mut buf = BytesMut::new();
        buf.put_u32(17);
        let err = codec.decode(&mut buf).err().map(|e| e.to_string());
        assert_eq!(
            err.as_deref(),
            Some("frame of 17 bytes exceeds the maximum of 16 bytes")
        );
        let big = LogEvent::data(1, Command::KSet, "k", vec![0u8; 32]);
        assert!(matches!(
            codec.encode(&big, &mut buf),
            Err(Error::FrameTooLarge { max: 16, .. })
        ));
    }

    proptest! {
        #[test]
        fn frames_round_trip_in_any_chunking(
            events in prop::collection::vec(arb_event(), 0..20),
            cuts in prop::collection::vec(any::<prop::sample::Index>(), 0..8),
        ) {
            let mut codec = EventCodec::default();
            let mut wire = BytesMut::new();
            for e in &events {
                codec.encode(e, &mut wire).expect("encode");
            }
            let mut points: Vec<usize> = cuts.iter().map(|i| i.index(wire.len() + 1)).collect();
            points.push(wire.len());
            points.sort_unstable();
            let mut buf = BytesMut::new();
            let mut got = Vec::new();
            let mut from = 0;
            for p in points {
                buf.extend_from_slice(&wire[from..p]);
                from = p;
                while let Some(e) = codec.decode(&mut buf).expect("decode") {
                    got.push(e);
                }
            }
            prop_assert_eq!(got, events);
            prop_assert!(buf.is_empty());
        }

        #[test]
        fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
            let mut codec = EventCodec::new(1024);
            let mut buf = BytesMut::from(&bytes[..]);
            // Every outcome is fine except a panic; an error or "need more"
            // ends the stream, a frame lets the loop go on.
            while let Ok(Some(_)) = codec.decode(&mut buf) {}
        }

        #[test]
        fn arbitrary_payloads_never_panic_the_event_decoder(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
            let _ = LogEvent::decode(bytes::Bytes::from(bytes));
        }
    }
}
