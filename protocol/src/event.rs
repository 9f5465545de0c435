//! `LogEvent`: one change or control message of the binlog and of a sync
//! stream (SPEC §3), a prost message on the wire and plain enums at the API.

use bytes::{BufMut, Bytes, BytesMut};
use prost::Message;

use crate::error::{Error, Result};

/// What kind of event this is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum EventType {
    /// Heartbeat; carries the sender's last seq.
    Noop = 1,
    /// A live change (or a binlog control record).
    Sync = 2,
    /// Reserved.
    Mirror = 3,
    /// Part of a full copy.
    Copy = 4,
}

macro_rules! commands {
    ($($(#[$doc:meta])* $variant:ident = $value:literal => $name:literal,)*) => {
        /// What an event does. Values below 16 are control commands.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum Command {
            $($(#[$doc])* $variant = $value,)*
        }

        impl Command {
            /// Every command, in wire-value order.
            pub const ALL: &'static [Command] = &[$(Command::$variant,)*];

            /// The name `rocksync-binlog dump` prints, e.g. `K_SET`.
            pub fn name(self) -> &'static str {
                match self { $(Command::$variant => $name,)* }
            }

            /// The command with this wire value, if there is one.
            pub fn from_wire(value: i32) -> Option<Self> {
                match value { $($value => Some(Command::$variant),)* _ => None }
            }
        }
    };
}

commands! {
    /// COPY: a full copy starts; the receiver wipes data, binlog and progress.
    Begin = 1 => "BEGIN",
    /// COPY: the copy is complete at the event's seq.
    End = 2 => "END",
    /// First event of every binlog file; seq = last seq before the file.
    Desc = 3 => "DESC",
    /// Last event of a binlog file; key = the next file's name.
    Rotate = 4 => "ROTATE",
    /// Written at clean shutdown.
    Stop = 5 => "STOP",
    /// COPY: one copied key/value pair.
    Raw = 6 => "RAW",
    /// No-op (the command of NOOP heartbeats).
    Nop = 7 => "NOOP",
    /// String set.
    KSet = 16 => "K_SET",
    /// Key delete (any type).
    KDel = 17 => "K_DEL",
    /// String increment; value = the resulting number.
    KIncr = 18 => "K_INCR",
    /// String decrement; value = the resulting number.
    KDecr = 19 => "K_DECR",
    /// Relative expiry; ttl in milliseconds.
    KExpire = 20 => "K_EXPIRE",
    /// Absolute expiry; ttl = unix time in milliseconds.
    KExpireAt = 21 => "K_EXPIRE_AT",
    /// Bit set.
    KSetbit = 22 => "K_SETBIT",
    /// String changed in place: value = the splices from its old value
    /// to its new one ([`crate::splice`]); its expiry stays. A missing key
    /// starts from the empty string.
    KPatch = 23 => "K_PATCH",
    /// RENAME's move: the key takes the value (and expiry) of the key
    /// named by the value, which goes; a collection's members stay where
    /// they are.
    KMove = 24 => "K_MOVE",
    /// Hash field set.
    HSet = 32 => "H_SET",
    /// Hash field delete.
    HDel = 33 => "H_DEL",
    /// Whole hash delete.
    HClear = 34 => "H_CLEAR",
    /// Hash field increment; value = the result.
    HIncr = 35 => "H_INCR",
    /// Hash field decrement; value = the result.
    HDecr = 36 => "H_DECR",
    /// Sorted-set member set.
    ZSet = 48 => "Z_SET",
    /// Sorted-set member delete.
    ZDel = 49 => "Z_DEL",
    /// Whole sorted-set delete.
    ZClear = 50 => "Z_CLEAR",
    /// Sorted-set score increment; value = the result.
    ZIncr = 51 => "Z_INCR",
    /// Sorted-set score decrement; value = the result.
    ZDecr = 52 => "Z_DECR",
    /// Pop the lowest member.
    ZPopFront = 53 => "Z_POP_FRONT",
    /// Pop the highest member.
    ZPopBack = 54 => "Z_POP_BACK",
    /// List push at the head.
    QPushFront = 64 => "Q_PUSH_FRONT",
    /// List push at the tail.
    QPushBack = 65 => "Q_PUSH_BACK",
    /// List pop at the head.
    QPopFront = 66 => "Q_POP_FRONT",
    /// List pop at the tail.
    QPopBack = 67 => "Q_POP_BACK",
    /// List trim/fix-up.
    QFix = 68 => "Q_FIX",
    /// Whole list delete.
    QClear = 69 => "Q_CLEAR",
    /// List element set by index.
    QSet = 70 => "Q_SET",
    /// List element removed by its index in the store (LREM's): the
    /// elements around it stay where they are.
    QRem = 71 => "Q_REM",
    /// List gaps closed: the elements move to consecutive indexes from
    /// the head.
    QPack = 72 => "Q_PACK",
    /// List indexed by value from now on (every element in `zscore` too,
    /// kept by every list event): LREM finds its matches there.
    QIndex = 73 => "Q_INDEX",
    /// Set member add.
    SSet = 80 => "S_SET",
    /// Set member remove.
    SDel = 81 => "S_DEL",
    /// Whole set delete.
    SClear = 82 => "S_CLEAR",
    /// Whole-keyspace delete (FLUSHALL): one event, not one per key.
    FlushAll = 96 => "FLUSHALL",
    /// FUNCTION LOAD: key = the library's name, value = its code (a
    /// library of that name is replaced).
    FunctionSet = 112 => "FUNCTION_SET",
    /// FUNCTION DELETE: key = the library's name.
    FunctionDel = 113 => "FUNCTION_DEL",
    /// FUNCTION FLUSH: every library goes.
    FunctionFlush = 114 => "FUNCTION_FLUSH",
    /// A stream's header: value = its length (u64 BE) then its metadata
    /// (last ID, entries added, greatest deleted ID, where its nodes
    /// begin and end, …: the master's `cmd::stream::Header`); a missing
    /// key becomes an empty stream first.
    XMeta = 128 => "X_META",
    /// A stream's part (entry, group, pending entry, consumer, node):
    /// value = `pack(part, bytes)`; a missing key becomes an empty stream
    /// first.
    XPut = 129 => "X_PUT",
    /// A stream's part goes: value = the part.
    XDel = 130 => "X_DEL",
    /// XADD's new entry and the stream's header at once (what an X_PUT
    /// of the entry and an X_META would do): value = `pack(X_META's
    /// value, ID (16 B) · fields)`; a missing key becomes an empty
    /// stream first.
    XAppend = 131 => "X_APPEND",
    /// Several of a stream's parts written or deleted at once (what one
    /// X_PUT or X_DEL each would do, in order): value = for each, 1 ·
    /// `pack(part, bytes)` length-prefixed (u32 BE), or 0 · the part
    /// length-prefixed; a missing key becomes an empty stream first when
    /// one is written.
    XParts = 132 => "X_PARTS",
}

impl Command {
    /// True for data commands: the ones that take a new seq.
    pub fn is_data(self) -> bool {
        self as i32 >= 16
    }

    /// True for the function library events: data, but of no key (a
    /// WATCH, a client's cache and the key count never see them).
    pub fn is_function(self) -> bool {
        matches!(
            self,
            Self::FunctionSet | Self::FunctionDel | Self::FunctionFlush
        )
    }

    /// The command with this dump name, e.g. `K_SET`.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|c| c.name() == name)
    }
}

impl EventType {
    /// The name `rocksync-binlog dump` prints.
    pub fn name(self) -> &'static str {
        match self {
            Self::Noop => "NOOP",
            Self::Sync => "SYNC",
            Self::Mirror => "MIRROR",
            Self::Copy => "COPY",
        }
    }

    /// The type with this wire value, if there is one.
    pub fn from_wire(value: i32) -> Option<Self> {
        match value {
            1 => Some(Self::Noop),
            2 => Some(Self::Sync),
            3 => Some(Self::Mirror),
            4 => Some(Self::Copy),
            _ => None,
        }
    }
}

/// What the key of a string write (K_SET, K_INCR, K_DECR) held before it,
/// or whether the field or member of a collection write (H_SET, H_INCR,
/// H_DECR, H_DEL, S_SET, S_DEL, Z_SET, Z_INCR, Z_DECR) was in the key's
/// collection before it, as the master that made the event saw it. A
/// receiver in step with that
/// master (a slave, the master's own replay) then writes the key without
/// reading it first: the read was a fifth of a catching-up slave's work,
/// and the part that slows down with a cold cache. Events without it
/// (older binlogs, other commands) are applied by reading the key.
///
/// Such an event is not idempotent: applied twice, or to a state its
/// master did not have, it counts as that master did (a new key where
/// there is one already). Nothing applies an event twice: `applied_seq`
/// is written with the data, and a binlog takes each seq once.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Prior {
    /// Not recorded: the receiver reads the key.
    #[default]
    Unknown,
    /// The key did not exist.
    Absent,
    /// The key existed (expired or not; a string unless the event is a
    /// K_SET, which replaces any type), expiring at `expire_ms` (unix ms,
    /// 0 for never). For a collection write: the field or member was
    /// there (`expire_ms` 0).
    Present {
        /// Its expiry.
        expire_ms: u64,
    },
    /// A sorted-set write (Z_SET, Z_INCR, Z_DECR, Z_DEL): the member was
    /// there with this score, whose index entry the write replaces.
    Scored {
        /// The score's `f64::to_bits`.
        score_bits: u64,
    },
}

impl Prior {
    /// On the wire, field `prior`: absent field for unknown, 0 for absent,
    /// expiry + 1. [`Prior::Scored`] is field `prior_score` alone (an
    /// older receiver reads it as unknown, and reads the member).
    fn to_wire(self) -> Option<u64> {
        match self {
            Self::Unknown | Self::Scored { .. } => None,
            Self::Absent => Some(0),
            Self::Present { expire_ms } => expire_ms.checked_add(1),
        }
    }

    fn score_to_wire(self) -> Option<u64> {
        match self {
            Self::Scored { score_bits } => Some(score_bits),
            _ => None,
        }
    }

    fn from_wire(v: Option<u64>, score: Option<u64>) -> Self {
        match (v, score) {
            (_, Some(score_bits)) => Self::Scored { score_bits },
            (None, None) => Self::Unknown,
            (Some(0), None) => Self::Absent,
            (Some(n), None) => Self::Present { expire_ms: n - 1 },
        }
    }
}

/// One change or control message.
///
/// Invariants kept by the writers, not by this type: data events (those
/// whose [`Command::is_data`]) have dense, strictly increasing seqs within a
/// history; control events carry the current last seq; RAW events carry the
/// seq of the snapshot they come from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogEvent {
    /// Sequence number (see the invariants above).
    pub seq: u64,
    /// The event's type.
    pub kind: EventType,
    /// The event's command.
    pub cmd: Command,
    /// Expiry: milliseconds (relative or absolute by `cmd`), 0 for none.
    pub ttl: i64,
    /// Key (or, for ROTATE, the next file's name).
    pub key: Bytes,
    /// Value.
    pub value: Bytes,
    /// True when the next event belongs to the same client command: a
    /// receiver applies a command's events together, never half of them.
    pub more: bool,
    /// String and collection writes: what the key, field or member was
    /// before (see [`Prior`]).
    pub prior: Prior,
}

/// The prost message behind [`LogEvent`].
#[derive(Clone, PartialEq, Message)]
struct WireEvent {
    #[prost(uint64, tag = "1")]
    seq: u64,
    #[prost(int32, tag = "2")]
    kind: i32,
    #[prost(int32, tag = "3")]
    cmd: i32,
    #[prost(int64, tag = "4")]
    ttl: i64,
    #[prost(bytes = "bytes", tag = "5")]
    key: Bytes,
    #[prost(bytes = "bytes", tag = "6")]
    value: Bytes,
    #[prost(bool, tag = "7")]
    more: bool,
    #[prost(uint64, optional, tag = "8")]
    prior: Option<u64>,
    #[prost(fixed64, optional, tag = "9")]
    prior_score: Option<u64>,
}

impl LogEvent {
    /// A SYNC data event.
    pub fn data(seq: u64, cmd: Command, key: impl Into<Bytes>, value: impl Into<Bytes>) -> Self {
        Self {
            seq,
            kind: EventType::Sync,
            cmd,
            ttl: 0,
            key: key.into(),
            value: value.into(),
            more: false,
            prior: Prior::Unknown,
        }
    }

    /// A control event with no key or value.
    pub fn control(kind: EventType, cmd: Command, seq: u64) -> Self {
        Self {
            seq,
            kind,
            cmd,
            ttl: 0,
            key: Bytes::new(),
            value: Bytes::new(),
            more: false,
            prior: Prior::Unknown,
        }
    }

    /// NOOP heartbeat carrying the sender's last seq.
    pub fn noop(seq: u64) -> Self {
        Self::control(EventType::Noop, Command::Nop, seq)
    }

    /// DESC, the first event of a binlog file.
    pub fn desc(last_seq: u64) -> Self {
        Self::control(EventType::Sync, Command::Desc, last_seq)
    }

    /// ROTATE naming the next binlog file.
    pub fn rotate(last_seq: u64, next_file: &str) -> Self {
        let mut e = Self::control(EventType::Sync, Command::Rotate, last_seq);
        e.key = Bytes::copy_from_slice(next_file.as_bytes());
        e
    }

    /// STOP, written at clean shutdown.
    pub fn stop(last_seq: u64) -> Self {
        Self::control(EventType::Sync, Command::Stop, last_seq)
    }

    /// COPY/BEGIN of a full copy from a snapshot at `seq`.
    pub fn copy_begin(seq: u64) -> Self {
        Self::control(EventType::Copy, Command::Begin, seq)
    }

    /// COPY/END: the copy is complete at `seq`.
    pub fn copy_end(seq: u64) -> Self {
        Self::control(EventType::Copy, Command::End, seq)
    }

    /// COPY/RAW: one copied pair from a snapshot at `seq`.
    pub fn raw(seq: u64, key: impl Into<Bytes>, value: impl Into<Bytes>) -> Self {
        let mut e = Self::control(EventType::Copy, Command::Raw, seq);
        e.key = key.into();
        e.value = value.into();
        e
    }

    /// Builder: set `ttl`.
    #[must_use]
    pub fn with_ttl(mut self, ttl: i64) -> Self {
        self.ttl = ttl;
        self
    }

    /// Builder: set `prior`.
    #[must_use]
    pub fn with_prior(mut self, prior: Prior) -> Self {
        self.prior = prior;
        self
    }

    /// Builder: set `more`.
    #[must_use]
    pub fn with_more(mut self, more: bool) -> Self {
        self.more = more;
        self
    }

    /// True when this event is a data change (it took a new seq).
    pub fn is_data(&self) -> bool {
        self.cmd.is_data()
    }

    #[cfg(test)]
    fn to_wire(&self) -> WireEvent {
        WireEvent {
            seq: self.seq,
            kind: self.kind as i32,
            cmd: self.cmd as i32,
            ttl: self.ttl,
            key: self.key.clone(),
            value: self.value.clone(),
            more: self.more,
            prior: self.prior.to_wire(),
            prior_score: self.prior.score_to_wire(),
        }
    }

    /// Bytes [`LogEvent::encode`] will write.
    pub fn encoded_len(&self) -> usize {
        let mut n = 2 + varint_len(self.kind as u64) + varint_len(self.cmd as u64);
        if self.seq != 0 {
            n += 1 + varint_len(self.seq);
        }
        if self.ttl != 0 {
            n += 1 + varint_len(self.ttl as u64);
        }
        if !self.key.is_empty() {
            n += 1 + varint_len(self.key.len() as u64) + self.key.len();
        }
        if !self.value.is_empty() {
            n += 1 + varint_len(self.value.len() as u64) + self.value.len();
        }
        if self.more {
            n += 2;
        }
        if let Some(p) = self.prior.to_wire() {
            n += 1 + varint_len(p);
        }
        if self.prior.score_to_wire().is_some() {
            n += 1 + 8;
        }
        n
    }

    /// Append the prost encoding to `buf`: exactly the bytes the derived
    /// message writes (a property test holds the two together), built with
    /// three copies instead of a call per field, since this is the binlog's
    /// hot path.
    pub fn encode(&self, buf: &mut BytesMut) {
        // Tags are (field << 3) | wire type: 0 varint, 2 length-delimited.
        let mut head = Scratch::default();
        if self.seq != 0 {
            head.field(0x08, self.seq);
        }
        head.field(0x10, self.kind as u64);
        head.field(0x18, self.cmd as u64);
        if self.ttl != 0 {
            // int64 is the two's-complement u64 as a varint.
            head.field(0x20, self.ttl as u64);
        }
        if !self.key.is_empty() {
            head.field(0x2a, self.key.len() as u64);
        }
        buf.reserve(self.encoded_len());
        buf.put_slice(head.bytes());
        buf.put_slice(&self.key);
        if !self.value.is_empty() {
            let mut mid = Scratch::default();
            mid.field(0x32, self.value.len() as u64);
            buf.put_slice(mid.bytes());
            buf.put_slice(&self.value);
        }
        if self.more {
            buf.put_slice(&[0x38, 1]);
        }
        if let Some(p) = self.prior.to_wire() {
            let mut tail = Scratch::default();
            tail.field(0x40, p);
            buf.put_slice(tail.bytes());
        }
        if let Some(bits) = self.prior.score_to_wire() {
            // Field 9, wire type 1 (fixed64, little-endian).
            buf.put_u8(0x49);
            buf.put_u64_le(bits);
        }
    }

    /// The prost encoding as its own buffer.
    pub fn to_bytes(&self) -> Bytes {
        let mut buf = BytesMut::with_capacity(self.encoded_len());
        self.encode(&mut buf);
        buf.freeze()
    }

    /// Decode one event from exactly `buf`; keys and values share its memory.
    ///
    /// # Errors
    /// [`Error::Decode`] for bytes that are not a prost message of this
    /// shape, [`Error::UnknownValue`] for a type or command no version
    /// defines.
    pub fn decode(buf: Bytes) -> Result<Self> {
        let w = WireEvent::decode(buf)?;
        let kind = EventType::from_wire(w.kind).ok_or(Error::UnknownValue {
            field: "type",
            value: w.kind,
        })?;
        let cmd = Command::from_wire(w.cmd).ok_or(Error::UnknownValue {
            field: "cmd",
            value: w.cmd,
        })?;
        Ok(Self {
            seq: w.seq,
            kind,
            cmd,
            ttl: w.ttl,
            key: w.key,
            value: w.value,
            more: w.more,
            prior: Prior::from_wire(w.prior, w.prior_score),
        })
    }
}

/// Bytes of `v` as a protobuf varint.
fn varint_len(v: u64) -> usize {
    // 1 byte per started 7 bits; `| 1` makes 0 take one byte.
    (64 - (v | 1).leading_zeros() as usize).div_ceil(7)
}

/// A small stack buffer of varint fields (at most 5 tags and 5 varints).
struct Scratch {
    bytes: [u8; 60],
    len: usize,
}

impl Default for Scratch {
    fn default() -> Self {
        Self {
            bytes: [0; 60],
            len: 0,
        }
    }
}

impl Scratch {
    fn varint(&mut self, mut v: u64) {
        while v >= 0x80 {
            self.bytes[self.len] = (v as u8) | 0x80;
            self.len += 1;
            v >>= 7;
        }
        self.bytes[self.len] = v as u8;
        self.len += 1;
    }

    fn field(&mut self, tag: u8, v: u64) {
        self.bytes[self.len] = tag;
        self.len += 1;
        self.varint(v);
    }

    fn bytes(&self) -> &[u8] {
        &self.bytes[..self.len]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::strategy::Strategy;

    #[test]
    fn every_command_round_trips_by_value_and_name() {
        for &c in Command::ALL {
            assert_eq!(Command::from_wire(c as i32), Some(c));
            assert_eq!(Command::from_name(c.name()), Some(c));
        }
        assert_eq!(Command::from_wire(0), None);
        assert!(!Command::Rotate.is_data());
        assert!(Command::FlushAll.is_data());
    }

    #[test]
    fn unknown_command_is_an_error_not_a_default() {
        let mut e = LogEvent::data(1, Command::KSet, "k", "v").to_wire();
        e.cmd = 9999;
        let bytes = Bytes::from(e.encode_to_vec());
        let err = LogEvent::decode(bytes).err().map(|e| e.to_string());
        assert_eq!(err.as_deref(), Some("malformed LogEvent: unknown cmd 9999"));
    }

    proptest::proptest! {
        #[test]
        fn field_by_field_encoding_is_the_derived_one(
            seq in proptest::prelude::any::<u64>(),
            cmd in proptest::sample::select(Command::ALL),
            ttl in proptest::prelude::any::<i64>(),
            key in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..20),
            value in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..200),
            more in proptest::prelude::any::<bool>(),
            prior in proptest::prop_oneof![
                proptest::strategy::Just(Prior::Unknown),
                proptest::strategy::Just(Prior::Absent),
                (0..u64::MAX).prop_map(|expire_ms| Prior::Present { expire_ms }),
                proptest::prelude::any::<u64>().prop_map(|score_bits| Prior::Scored { score_bits }),
            ],
        ) {
            let e = LogEvent::data(seq, cmd, key, value)
                .with_ttl(ttl)
                .with_more(more)
                .with_prior(prior);
            let derived = e.to_wire().encode_to_vec();
            let ours = e.to_bytes();
            proptest::prop_assert_eq!(&ours[..], &derived[..]);
            proptest::prop_assert_eq!(e.encoded_len(), derived.len());
            proptest::prop_assert_eq!(LogEvent::decode(ours).expect("valid"), e);
        }
    }

    #[test]
    fn a_prior_is_kept_apart_from_its_absence() {
        // Absent and "present, no expiry" differ on the wire, and an
        // event from before priors existed reads as unknown.
        let absent = LogEvent::data(1, Command::KSet, "k", "v").with_prior(Prior::Absent);
        let present = absent.clone().with_prior(Prior::Present { expire_ms: 0 });
        let older = LogEvent::data(1, Command::KSet, "k", "v");
        assert_ne!(absent.to_bytes(), present.to_bytes());
        for e in [absent, present, older] {
            assert_eq!(
                LogEvent::decode(e.to_bytes()).expect("valid").prior,
                e.prior
            );
        }
        let mut w = LogEvent::data(1, Command::KSet, "k", "v").to_wire();
        w.prior = None;
        let decoded = LogEvent::decode(Bytes::from(w.encode_to_vec())).expect("valid");
        assert_eq!(decoded.prior, Prior::Unknown);
    }

    #[test]
    fn zero_type_is_rejected() {
        // An empty message has type 0: no event may default to NOOP.
        let err = LogEvent::decode(Bytes::new()).err().map(|e| e.to_string());
        assert_eq!(err.as_deref(), Some("malformed LogEvent: unknown type 0"));
    }
}
