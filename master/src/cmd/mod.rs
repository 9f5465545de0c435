//! Data commands: their handlers (one file per type), the contexts they
//! run in, what the table knows of each ([`spec`]), and argument helpers
//! with Redis's error texts.
//!
//! Read commands run on the connection's task against committed data.
//! Write commands run on the write path's thread: they read through the
//! pending group (so they see earlier commands of the same group) and
//! change data only by emitting events, which are applied at once.

pub(crate) mod bits;
mod cursors;
pub(crate) mod dump;
pub(crate) mod expire;
mod flags;
pub(crate) mod generic;
pub(crate) mod geo;
pub(crate) mod geospatial;
pub(crate) mod hash;
pub(crate) mod hll;
mod limits;
pub(crate) mod list;
mod longdouble;
pub(crate) mod pf;
mod random;
pub(crate) mod set;
pub(crate) mod sort;
pub mod spec;
pub mod stream;
pub(crate) mod string;
pub(crate) mod xgroup;
pub(crate) mod xinfo;
pub mod xstream;
pub(crate) mod zrange;
pub(crate) mod zset;

use bytes::Bytes;
use rocksync_protocol::{parse_i64, Command, LogEvent, Prior, Reply};

use crate::error::Result;
use crate::store::apply::{apply_event, prior_for};
use crate::store::batch::Batch;
use crate::store::keys::{Kind, Meta};
use crate::store::merged::{scan_rev_through_before, scan_through};
use crate::store::{Cf, Store};
pub use cursors::Cursors;
pub use limits::{Limits, Sizes};
pub use random::{rand_args, random_picks, seed, Rng};

/// `WRONGTYPE` reply text.
pub const WRONGTYPE: &str = "WRONGTYPE Operation against a key holding the wrong kind of value";
/// Not-an-integer reply text.
pub const NOT_INT: &str = "ERR value is not an integer or out of range";
/// Not-a-float reply text.
pub const NOT_FLOAT: &str = "ERR value is not a valid float";
/// Syntax error reply text.
pub const SYNTAX: &str = "ERR syntax error";

/// What a command reads and writes through.
pub trait View {
    /// The store.
    fn store(&self) -> &Store;
    /// Current time, unix ms.
    fn now_ms(&self) -> u64;
    /// A value, including pending writes where there are any.
    ///
    /// # Errors
    /// RocksDB errors.
    fn get(&self, cf: Cf, key: &[u8]) -> Result<Option<Vec<u8>>>;
    /// A key's metadata, expired or not.
    ///
    /// # Errors
    /// RocksDB errors, corrupt metadata.
    fn raw_meta(&self, key: &[u8]) -> Result<Option<Meta>>;
    /// As [`View::raw_meta`], but a string kept in chunks comes without
    /// its value (its length is `size`; [`string_range`] reads its bytes).
    ///
    /// # Errors
    /// As [`View::raw_meta`].
    fn raw_header(&self, key: &[u8]) -> Result<Option<Meta>>;

    /// Bytes `start..end` (cut at its length) of the string `m` of `key`,
    /// from its chunks when it is kept in chunks.
    ///
    /// # Errors
    /// RocksDB errors.
    fn string_range(&self, key: &[u8], m: &Meta, start: usize, end: usize) -> Result<Bytes> {
        if !m.is_chunked() {
            let end = end.min(m.value.len());
            return Ok(if start >= end {
                Bytes::new()
            } else {
                m.value.slice(start..end)
            });
        }
        crate::store::chunks::read_range(key, m, start, end, |k| {
            Ok(self.get(Cf::Sub, k)?.map(Bytes::from))
        })
    }

    /// A key's metadata when it is live.
    ///
    /// # Errors
    /// As [`View::raw_meta`].
    fn live_meta(&self, key: &[u8]) -> Result<Option<Meta>> {
        let now = self.now_ms();
        Ok(self.raw_meta(key)?.filter(|m| !m.is_expired(now)))
    }

    /// As [`View::live_meta`], without a long string's value (as
    /// [`View::raw_header`]): for what needs the key's type and expiry.
    ///
    /// # Errors
    /// As [`View::raw_meta`].
    fn live_header(&self, key: &[u8]) -> Result<Option<Meta>> {
        let now = self.now_ms();
        Ok(self.raw_header(key)?.filter(|m| !m.is_expired(now)))
    }

    /// Visit pairs of `cf` under `prefix` from `start` while `f` says so
    /// (a write command sees its group's pending writes too).
    ///
    /// # Errors
    /// RocksDB errors.
    fn scan(
        &self,
        cf: Cf,
        prefix: &[u8],
        start: &[u8],
        f: &mut dyn FnMut(&[u8], &[u8]) -> bool,
    ) -> Result<()> {
        self.scan_until(cf, (prefix, start, None), f)
    }

    /// As [`View::scan`], stopping before `end` when given: neither
    /// RocksDB nor a group's pending writes are looked at past it.
    ///
    /// # Errors
    /// RocksDB errors.
    fn scan_until(
        &self,
        cf: Cf,
        (prefix, start, end): (&[u8], &[u8], Option<&[u8]>),
        f: &mut dyn FnMut(&[u8], &[u8]) -> bool,
    ) -> Result<()> {
        self.store().scan_until(cf, prefix, start, end, None, f)
    }

    /// For a range read again and again from where the last read ended
    /// (a consumer group's next entries): whether this group read it
    /// before, so that [`View::scan_on`] reads through what the group
    /// read ahead. Reads outside the write path keep nothing: never.
    fn read_before(&self, _cf: Cf, _prefix: &[u8]) -> bool {
        false
    }

    /// As [`View::scan`], through what the group read ahead of the range
    /// (see [`View::read_before`]).
    ///
    /// # Errors
    /// RocksDB errors.
    fn scan_on(
        &self,
        cf: Cf,
        prefix: &[u8],
        start: &[u8],
        f: &mut dyn FnMut(&[u8], &[u8]) -> bool,
    ) -> Result<()> {
        self.scan(cf, prefix, start, f)
    }

    /// Visit pairs under `prefix`, last first, from the last key below
    /// `before` (when given).
    ///
    /// # Errors
    /// RocksDB errors.
    fn scan_rev_from(
        &self,
        cf: Cf,
        prefix: &[u8],
        before: Option<&[u8]>,
        f: &mut dyn FnMut(&[u8], &[u8]) -> bool,
    ) -> Result<()> {
        self.store().scan_rev_before(cf, prefix, before, None, f)
    }

    /// Visit pairs under `prefix`, last first.
    ///
    /// # Errors
    /// RocksDB errors.
    fn scan_rev(
        &self,
        cf: Cf,
        prefix: &[u8],
        f: &mut dyn FnMut(&[u8], &[u8]) -> bool,
    ) -> Result<()> {
        self.scan_rev_from(cf, prefix, None, f)
    }
}

/// Context of a read command.
pub struct ReadCtx<'a> {
    /// The store.
    pub store: &'a Store,
    /// Now, unix ms.
    pub now_ms: u64,
    /// SCAN cursors.
    pub cursors: &'a Cursors,
    /// A consistent view for commands that read more than one key's
    /// metadata or a collection's members (a slave applying a command's
    /// batch meanwhile is seen whole or not at all).
    pub snap: Option<crate::store::Snap<'a>>,
    /// Inside an EXEC run on the write path: the group's pending writes,
    /// which the read sees (the transaction's earlier writes).
    pub pending: Option<&'a Batch>,
}

impl<'a> ReadCtx<'a> {
    /// Reads of one consistent view of `store`, as of now (outside any
    /// transaction).
    pub fn at_snapshot(store: &'a Store, cursors: &'a Cursors) -> Self {
        Self {
            store,
            now_ms: crate::clock::now_ms(),
            cursors,
            snap: Some(store.db().snapshot()),
            pending: None,
        }
    }

    /// This view made consistent, when it is not (a command flagged
    /// SINGLE_READ reads without a snapshot): for a read of a long
    /// string's header and then its chunks, which must be of one state.
    pub fn consistent(&self) -> Option<ReadCtx<'a>> {
        (self.snap.is_none() && self.pending.is_none()).then(|| Self {
            store: self.store,
            now_ms: self.now_ms,
            cursors: self.cursors,
            snap: Some(self.store.db().snapshot()),
            pending: None,
        })
    }
}

impl View for ReadCtx<'_> {
    fn store(&self) -> &Store {
        self.store
    }
    fn now_ms(&self) -> u64 {
        self.now_ms
    }
    fn get(&self, cf: Cf, key: &[u8]) -> Result<Option<Vec<u8>>> {
        match self.pending {
            Some(b) => Ok(b.get(self.store, cf, key)?.map(Vec::from)),
            None => self.store.get_in(cf, key, self.snap.as_ref()),
        }
    }
    fn raw_meta(&self, key: &[u8]) -> Result<Option<Meta>> {
        match self.pending {
            Some(b) => b.meta(self.store, key),
            None => self.store.meta_in(key, self.snap.as_ref()),
        }
    }
    fn raw_header(&self, key: &[u8]) -> Result<Option<Meta>> {
        match self.pending {
            Some(b) => b.meta_header(self.store, key),
            None => self.store.meta_header_in(key, self.snap.as_ref()),
        }
    }
    fn scan_until(
        &self,
        cf: Cf,
        range: (&[u8], &[u8], Option<&[u8]>),
        f: &mut dyn FnMut(&[u8], &[u8]) -> bool,
    ) -> Result<()> {
        match self.pending {
            Some(b) => scan_through(self.store, b, cf, range, f),
            None => {
                let (prefix, start, end) = range;
                self.store
                    .scan_until(cf, prefix, start, end, self.snap.as_ref(), f)
            }
        }
    }
    fn scan_rev_from(
        &self,
        cf: Cf,
        prefix: &[u8],
        before: Option<&[u8]>,
        f: &mut dyn FnMut(&[u8], &[u8]) -> bool,
    ) -> Result<()> {
        match self.pending {
            Some(b) => scan_rev_through_before(self.store, b, cf, prefix, before, f),
            None => self
                .store
                .scan_rev_before(cf, prefix, before, self.snap.as_ref(), f),
        }
    }
}

/// The longest string (Redis's `proto-max-bulk-len` default).
pub(crate) const MAX_STRING_BYTES: u64 = 512 * 1024 * 1024;

/// Context of a write command on the write path.
pub struct WriteCtx<'a> {
    /// The store.
    pub store: &'a Store,
    /// The pending group.
    pub batch: &'a mut Batch,
    /// Now, unix ms.
    pub now_ms: u64,
    /// The seq the next event gets.
    pub next_seq: u64,
    /// The group's events so far.
    pub events: &'a mut Vec<LogEvent>,
    /// The node takes writes (a slave runs here the commands that write
    /// only by the way, as PFCOUNT's cached count: they skip the write).
    pub writable: bool,
    /// The configured sizes (at the group's start).
    pub sizes: Sizes,
    /// Keys expire by `now_ms` (false applying a Redis master's
    /// commands: as on a Redis replica, only the master's DEL removes
    /// them, and its TTLs come as absolute times).
    pub expires: bool,
}

impl View for WriteCtx<'_> {
    fn store(&self) -> &Store {
        self.store
    }
    fn now_ms(&self) -> u64 {
        self.now_ms
    }
    fn scan_until(
        &self,
        cf: Cf,
        range: (&[u8], &[u8], Option<&[u8]>),
        f: &mut dyn FnMut(&[u8], &[u8]) -> bool,
    ) -> Result<()> {
        scan_through(self.store, self.batch, cf, range, f)
    }
    fn scan_rev_from(
        &self,
        cf: Cf,
        prefix: &[u8],
        before: Option<&[u8]>,
        f: &mut dyn FnMut(&[u8], &[u8]) -> bool,
    ) -> Result<()> {
        scan_rev_through_before(self.store, self.batch, cf, prefix, before, f)
    }
    fn read_before(&self, cf: Cf, prefix: &[u8]) -> bool {
        self.batch.scanned_before((cf, prefix, false))
    }
    fn scan_on(
        &self,
        cf: Cf,
        prefix: &[u8],
        start: &[u8],
        f: &mut dyn FnMut(&[u8], &[u8]) -> bool,
    ) -> Result<()> {
        let range = (cf, prefix, false);
        crate::store::merged::scan_end_through(self.store, self.batch, range, Some(start), f)
    }
    fn get(&self, cf: Cf, key: &[u8]) -> Result<Option<Vec<u8>>> {
        Ok(self.batch.get(self.store, cf, key)?.map(Vec::from))
    }
    fn raw_meta(&self, key: &[u8]) -> Result<Option<Meta>> {
        self.batch.meta(self.store, key)
    }
    fn raw_header(&self, key: &[u8]) -> Result<Option<Meta>> {
        self.batch.meta_header(self.store, key)
    }
    fn live_meta(&self, key: &[u8]) -> Result<Option<Meta>> {
        Ok(self.raw_meta(key)?.filter(|m| self.live(m)))
    }
    fn live_header(&self, key: &[u8]) -> Result<Option<Meta>> {
        Ok(self.raw_header(key)?.filter(|m| self.live(m)))
    }
}

impl WriteCtx<'_> {
    /// True when `m` counts as live here: not expired, or keys are never
    /// expired by this node's clock (a follower of a Redis master).
    fn live(&self, m: &Meta) -> bool {
        !self.expires || !m.is_expired(self.now_ms)
    }
}

impl WriteCtx<'_> {
    /// Emit a data event and apply it to the group.
    ///
    /// # Errors
    /// [`crate::Error::EventTooLarge`] for an event no slave could
    /// receive (nothing is applied); as [`apply_event`].
    pub fn emit(
        &mut self,
        cmd: Command,
        key: &[u8],
        value: impl Into<Bytes>,
        ttl: u64,
    ) -> Result<()> {
        self.emit_event(cmd, key, value.into(), ttl as i64)
    }

    /// A string's new value, as the changes from `old` (its value now,
    /// with expiry `expire`) when they are small (K_PATCH: a small change
    /// to a large string logs and ships its bytes only), else whole
    /// (K_SET).
    ///
    /// # Errors
    /// As [`WriteCtx::emit`].
    pub fn emit_string_change(
        &mut self,
        key: &[u8],
        old: Option<&[u8]>,
        new: Bytes,
        expire: u64,
    ) -> Result<()> {
        // (a value a full copy could not send, with its key, is refused as
        // the whole value's event would be, however small its change)
        let whole = key.len() + new.len() + 64;
        if whole > rocksync_protocol::DEFAULT_MAX_FRAME_BYTES {
            return Err(crate::Error::EventTooLarge {
                bytes: whole,
                max: rocksync_protocol::DEFAULT_MAX_FRAME_BYTES,
            });
        }
        match old.and_then(|o| rocksync_protocol::splice::diff(o, &new)) {
            Some(patch) => self.emit_event(Command::KPatch, key, patch, 0),
            None => self.emit(Command::KSet, key, new, expire),
        }
    }

    /// [`WriteCtx::emit`] with the event's raw `ttl` field (a marker such
    /// as [`crate::store::apply::SETBIT_DELTA`]).
    ///
    /// # Errors
    /// As [`WriteCtx::emit`].
    pub fn emit_event(&mut self, cmd: Command, key: &[u8], value: Bytes, ttl: i64) -> Result<()> {
        // (a test makes a command panic half-way here: after what it wrote
        // before this event)
        rocksync_failpoint::panic_at("write.emit");
        let mut e =
            LogEvent::data(self.next_seq, cmd, Bytes::copy_from_slice(key), value).with_ttl(ttl);
        // The reads apply_event would make, recorded in the event so a
        // slave need not make them (the command has made them already:
        // they come from the batch).
        e.prior = prior_for(self.store, self.batch, &e)?;
        self.log(e)
    }

    /// Delete `member` of the collection at `key` (`cmd`: SDel or ZDel),
    /// which the command has just read there: `prior` says what it was
    /// (present; a sorted-set member's score), so nothing is read again
    /// for the event.
    ///
    /// # Errors
    /// As [`WriteCtx::emit`].
    pub fn emit_member_delete(
        &mut self,
        cmd: Command,
        key: &[u8],
        member: Bytes,
        prior: Prior,
    ) -> Result<()> {
        rocksync_failpoint::panic_at("write.emit");
        let mut e = LogEvent::data(self.next_seq, cmd, Bytes::copy_from_slice(key), member);
        e.prior = prior;
        self.log(e)
    }

    /// Log `e` and apply it to the group.
    fn log(&mut self, e: LogEvent) -> Result<()> {
        if e.encoded_len() > rocksync_protocol::DEFAULT_MAX_FRAME_BYTES {
            // It could never reach a slave (issue 9, case 2): refused
            // before anything of it is logged or applied.
            return Err(crate::Error::EventTooLarge {
                bytes: e.encoded_len(),
                max: rocksync_protocol::DEFAULT_MAX_FRAME_BYTES,
            });
        }
        apply_event(self.store, self.batch, &e)?;
        self.next_seq += 1;
        self.events.push(e);
        Ok(())
    }

    /// Replace whatever `dst` held with a new value built by `cmd` events
    /// (one per item; none leaves `dst` deleted): what the STORE forms
    /// log, the values written rather than their inputs, so replay is
    /// deterministic. Returns the reply: the number of items.
    ///
    /// # Errors
    /// As [`WriteCtx::emit`].
    pub fn replace(
        &mut self,
        dst: &[u8],
        cmd: Command,
        items: impl IntoIterator<Item = Bytes>,
    ) -> Result<Reply> {
        if self.raw_header(dst)?.is_some() {
            self.emit(Command::KDel, dst, Bytes::new(), 0)?;
        }
        let mut n = 0;
        for v in items {
            self.emit(cmd, dst, v, 0)?;
            n += 1;
        }
        Ok(Reply::Integer(n))
    }

    /// The key's live metadata; an expired key is deleted (a K_DEL is
    /// logged) so that what follows starts from nothing, on every replica.
    ///
    /// # Errors
    /// As [`View::raw_meta`], [`WriteCtx::emit`].
    pub fn live_meta_mut(&mut self, key: &[u8]) -> Result<Option<Meta>> {
        match self.live_header_mut(key)? {
            // (its chunks read at once)
            Some(m) if m.is_chunked() => self.raw_meta(key),
            other => Ok(other),
        }
    }

    /// As [`WriteCtx::live_meta_mut`], but a string kept in chunks comes
    /// without its value (as [`View::raw_header`]).
    ///
    /// # Errors
    /// As [`View::raw_meta`], [`WriteCtx::emit`].
    pub fn live_header_mut(&mut self, key: &[u8]) -> Result<Option<Meta>> {
        match self.raw_header(key)? {
            Some(m) if self.expires && m.is_expired(self.now_ms) => {
                self.emit(Command::KDel, key, Bytes::new(), 0)?;
                Ok(None)
            }
            other => Ok(other),
        }
    }

    /// Live metadata of `kind`: `Ok(None)` when missing, `Err(WRONGTYPE)`.
    ///
    /// # Errors
    /// As [`WriteCtx::live_meta_mut`].
    pub fn typed_mut(&mut self, key: &[u8], kind: Kind) -> Result<Result<Option<Meta>, Reply>> {
        Ok(check_kind(self.live_meta_mut(key)?, kind))
    }

    /// A live string's metadata, a long one without its value (as
    /// [`View::raw_header`]): `Ok(None)` when missing, `Err(WRONGTYPE)`.
    ///
    /// # Errors
    /// As [`WriteCtx::live_meta_mut`].
    pub fn string_header_mut(&mut self, key: &[u8]) -> Result<Result<Option<Meta>, Reply>> {
        Ok(check_kind(self.live_header_mut(key)?, Kind::String))
    }
}

fn check_kind(m: Option<Meta>, kind: Kind) -> Result<Option<Meta>, Reply> {
    match m {
        Some(m) if m.kind != kind => Err(Reply::error(WRONGTYPE)),
        other => Ok(other),
    }
}

/// A live string's metadata through any view, a long one without its
/// value (as [`View::raw_header`]): `Ok(None)` when missing,
/// `Err(WRONGTYPE)`.
///
/// # Errors
/// As [`View::raw_meta`].
pub fn string_header(v: &impl View, key: &[u8]) -> Result<Result<Option<Meta>, Reply>> {
    Ok(check_kind(v.live_header(key)?, Kind::String))
}

/// Live metadata of `kind` through any view.
///
/// # Errors
/// As [`View::live_meta`].
pub fn typed(v: &impl View, key: &[u8], kind: Kind) -> Result<Result<Option<Meta>, Reply>> {
    Ok(check_kind(v.live_meta(key)?, kind))
}

/// Unwrap a `Result<T, Reply>`, returning the reply from the handler.
macro_rules! tri {
    ($e:expr) => {
        match $e {
            Ok(v) => v,
            Err(reply) => return Ok(reply),
        }
    };
}
pub(crate) use tri;

/// An integer argument (Redis's `string2ll`).
pub fn int_arg(b: &[u8]) -> Result<i64, Reply> {
    parse_i64(b).ok_or_else(|| Reply::error(NOT_INT))
}

/// A count that must not be negative (Redis's
/// `getPositiveLongFromObjectOrReply`: one message for a count that is
/// not a number and for a negative one).
pub fn positive_arg(b: &[u8]) -> Result<u64, Reply> {
    match parse_i64(b) {
        Some(n) if n >= 0 => Ok(n as u64),
        _ => Err(Reply::error("ERR value is out of range, must be positive")),
    }
}

/// A float argument (no NaN).
pub fn float_arg(b: &[u8]) -> Result<f64, Reply> {
    parse_float(b).ok_or_else(|| Reply::error(NOT_FLOAT))
}

/// Parse a float as Redis does: decimal or exponent, `inf`, no NaN, no blanks.
pub fn parse_float(b: &[u8]) -> Option<f64> {
    let s = std::str::from_utf8(b).ok()?;
    if s.is_empty() || s.starts_with(char::is_whitespace) || s.ends_with(char::is_whitespace) {
        return None;
    }
    let v: f64 = match s.to_ascii_lowercase().as_str() {
        "inf" | "+inf" | "infinity" | "+infinity" => f64::INFINITY,
        "-inf" | "-infinity" => f64::NEG_INFINITY,
        other if other.contains("inf") || other.contains("nan") => return None,
        _ => s.parse().ok()?,
    };
    (!v.is_nan()).then_some(v)
}

/// A blocking command's timeout in seconds (decimals allowed): `None`
/// for 0, which waits for ever.
pub fn timeout_arg(b: &[u8]) -> Result<Option<std::time::Duration>, Reply> {
    let secs = parse_float(b)
        .filter(|s| s.is_finite())
        .ok_or_else(|| Reply::error("ERR timeout is not a float or out of range"))?;
    if secs < 0.0 {
        return Err(Reply::error("ERR timeout is negative"));
    }
    if secs > 1e12 {
        return Err(Reply::error("ERR timeout is out of range"));
    }
    Ok((secs > 0.0).then(|| std::time::Duration::from_secs_f64(secs)))
}

/// Format a float as modern Redis replies do: shortest round trip,
/// `inf`/`-inf`, integers without a fraction.
pub fn fmt_float(v: f64) -> String {
    if v.is_infinite() {
        return if v > 0.0 { "inf".into() } else { "-inf".into() };
    }
    format!("{v}")
}

/// Redis's error for a wrong number of arguments.
pub fn wrong_arity(name: &str) -> Reply {
    Reply::error(format!(
        "ERR wrong number of arguments for '{}' command",
        name.to_lowercase()
    ))
}

/// Lowercase ASCII copy, for option matching.
pub fn lower(b: &[u8]) -> Vec<u8> {
    b.to_ascii_lowercase()
}

/// A read command's handler: on the connection, against committed data.
pub type ReadFn = fn(&ReadCtx<'_>, &[Bytes]) -> Result<Reply>;

/// A write command parsed on its connection into its typed form: what
/// the write path runs (it parses nothing).
pub trait WriteOp: Send + Sync {
    /// Run it in the group.
    ///
    /// # Errors
    /// Storage errors; a command's own refusals are replies.
    fn execute(&self, c: &mut WriteCtx<'_>) -> Result<Reply>;

    /// The client found nothing and waits on this (the command narrowed
    /// to one key): fix what it means as of now (XREAD's `$`), and
    /// answer from now on as a waiting client is answered.
    ///
    /// # Errors
    /// Storage errors.
    fn pin(&self, _c: &WriteCtx<'_>) -> Result<()> {
        Ok(())
    }
}

/// Parse a write command's arguments (its name first) into its typed form.
///
/// # Errors
/// Redis's reply for arguments that do not parse (syntax, a number that
/// is not one).
pub type ParseFn = fn(&[Bytes]) -> std::result::Result<Box<dyn WriteOp>, Reply>;

/// A command whose arguments did not parse, where its error is answered
/// in its turn (inside an EXEC, as Redis answers it).
pub struct Refused(pub Reply);

impl WriteOp for Refused {
    fn execute(&self, _: &mut WriteCtx<'_>) -> Result<Reply> {
        Ok(self.0.clone())
    }
}

/// How a data command runs.
#[derive(Clone, Copy)]
pub enum Exec {
    /// On the connection, against committed data.
    Read(ReadFn),
    /// Parsed on the connection; the write path runs the typed value.
    Parsed(ParseFn),
}

impl Exec {
    /// True for a command the write path runs.
    pub fn is_write(self) -> bool {
        !matches!(self, Self::Read(_))
    }
}

/// Mark the events a command emitted (from `start`) as one unit: all but
/// the last carry `more`.
pub fn seal_command(events: &mut [LogEvent], start: usize) {
    if let Some((last, rest)) = events[start..].split_last_mut() {
        for e in rest {
            e.more = true;
        }
        last.more = false;
    }
}

/// The committed (field, value) pairs of a live collection, in field order.
///
/// # Errors
/// RocksDB errors.
pub fn sub_items(v: &impl View, key: &[u8], m: &Meta) -> Result<Vec<(Bytes, Bytes)>> {
    let prefix = crate::store::keys::sub_prefix(m.owner(key), m.version);
    let mut items = Vec::with_capacity(m.size.min(1 << 20) as usize);
    v.scan(Cf::Sub, &prefix, &prefix, &mut |k, v| {
        items.push((
            Bytes::copy_from_slice(&k[prefix.len()..]),
            Bytes::copy_from_slice(v),
        ));
        true
    })?;
    Ok(items)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floats_format_like_redis() {
        assert_eq!(fmt_float(10.5), "10.5");
        assert_eq!(fmt_float(3.0), "3");
        assert_eq!(fmt_float(f64::INFINITY), "inf");
        assert_eq!(fmt_float(-0.25), "-0.25");
        assert_eq!(parse_float(b"1e3"), Some(1000.0));
        assert_eq!(parse_float(b"-inf"), Some(f64::NEG_INFINITY));
        assert_eq!(parse_float(b"nan"), None);
        assert_eq!(parse_float(b" 1"), None);
        assert_eq!(parse_float(b""), None);
    }
}
