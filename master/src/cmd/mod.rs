//! Data commands: the table (name, arity, read or write), the contexts
//! they run in, and argument helpers with Redis's error texts.
//!
//! Read commands run on the connection's task against committed data.
//! Write commands run on the write path's thread: they read through the
//! pending group (so they see earlier commands of the same group) and
//! change data only by emitting events, which are applied at once.

mod bits;
pub mod docs;
mod generic;
mod hash;
mod list;
mod set;
mod sort;
mod string;
mod zrange;
mod zset;

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

use bytes::Bytes;
use rocksync_protocol::{parse_i64, Command, LogEvent, Reply};

use crate::error::Result;
use crate::store::apply::{apply_event, prior_for, Batch, Pending};
use crate::store::keys::{Kind, Meta};
use crate::store::{Cf, Store};

pub use generic::glob_match;

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

    /// A key's metadata when it is live.
    ///
    /// # Errors
    /// As [`View::raw_meta`].
    fn live_meta(&self, key: &[u8]) -> Result<Option<Meta>> {
        let now = self.now_ms();
        Ok(self.raw_meta(key)?.filter(|m| !m.is_expired(now)))
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
        self.store().scan_in(cf, prefix, start, None, f)
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
        self.store().scan_rev_in(cf, prefix, None, f)
    }
}

/// Scan committed data with `batch`'s pending writes merged over it.
fn scan_through(
    store: &Store,
    batch: &Batch,
    cf: Cf,
    prefix: &[u8],
    start: &[u8],
    f: &mut dyn FnMut(&[u8], &[u8]) -> bool,
) -> Result<()> {
    let (pending, hidden) = batch.pending_under(cf, prefix, start);
    merge_scan(&pending, hidden, f, |g| {
        store.scan_in(cf, prefix, start, None, g)
    })
}

/// As [`scan_through`], last key first.
fn scan_rev_through(
    store: &Store,
    batch: &Batch,
    cf: Cf,
    prefix: &[u8],
    f: &mut dyn FnMut(&[u8], &[u8]) -> bool,
) -> Result<()> {
    scan_rev_through_before(store, batch, cf, prefix, None, f)
}

/// As [`scan_rev_through`], from the last key below `before` (when given).
fn scan_rev_through_before(
    store: &Store,
    batch: &Batch,
    cf: Cf,
    prefix: &[u8],
    before: Option<&[u8]>,
    f: &mut dyn FnMut(&[u8], &[u8]) -> bool,
) -> Result<()> {
    let (mut pending, hidden) = batch.pending_under(cf, prefix, prefix);
    if let Some(b) = before {
        pending.retain(|(k, _)| k.as_slice() < b);
    }
    pending.reverse();
    merge_scan_rev(&pending, hidden, f, |g| {
        store.scan_rev_before(cf, prefix, before, None, g)
    })
}

/// Merge `pending` writes (ascending; None: deleted) over a committed scan
/// (`committed` calls its visitor in ascending order), visiting in order
/// while `f` says so. `hidden`: committed data is gone (FLUSHALL pending).
fn merge_scan(
    pending: &Pending,
    hidden: bool,
    f: &mut dyn FnMut(&[u8], &[u8]) -> bool,
    committed: impl FnOnce(&mut dyn FnMut(&[u8], &[u8]) -> bool) -> Result<()>,
) -> Result<()> {
    merge(pending, hidden, f, committed, |a, b| a < b)
}

/// As [`merge_scan`], descending (`pending` descending too).
fn merge_scan_rev(
    pending: &Pending,
    hidden: bool,
    f: &mut dyn FnMut(&[u8], &[u8]) -> bool,
    committed: impl FnOnce(&mut dyn FnMut(&[u8], &[u8]) -> bool) -> Result<()>,
) -> Result<()> {
    merge(pending, hidden, f, committed, |a, b| a > b)
}

fn merge(
    pending: &Pending,
    hidden: bool,
    f: &mut dyn FnMut(&[u8], &[u8]) -> bool,
    committed: impl FnOnce(&mut dyn FnMut(&[u8], &[u8]) -> bool) -> Result<()>,
    before: impl Fn(&[u8], &[u8]) -> bool,
) -> Result<()> {
    let mut i = 0;
    let mut stopped = false;
    if !hidden {
        committed(&mut |k, v| {
            while let Some((pk, pv)) = pending.get(i).filter(|(pk, _)| before(pk, k)) {
                i += 1;
                if let Some(pv) = pv {
                    if !f(pk, pv) {
                        stopped = true;
                        return false;
                    }
                }
            }
            if let Some((pk, pv)) = pending.get(i).filter(|(pk, _)| pk.as_slice() == k) {
                i += 1;
                return match pv {
                    Some(pv) => {
                        let go = f(pk, pv);
                        stopped = !go;
                        go
                    }
                    None => true,
                };
            }
            let go = f(k, v);
            stopped = !go;
            go
        })?;
    }
    if !stopped {
        for (pk, pv) in &pending[i..] {
            if let Some(pv) = pv {
                if !f(pk, pv) {
                    break;
                }
            }
        }
    }
    Ok(())
}

/// Server-side cursors for SCAN and friends: a cursor number stands for
/// the last key returned.
#[derive(Debug, Default)]
pub struct Cursors {
    inner: Mutex<(u64, HashMap<u64, Bytes>)>,
}

const MAX_CURSORS: usize = 16 * 1024;

impl Cursors {
    /// Remember `last` and return its cursor number.
    pub fn save(&self, last: Bytes) -> u64 {
        let mut g = self
            .inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if g.1.len() >= MAX_CURSORS {
            g.1.clear();
        }
        g.0 += 1;
        let id = g.0;
        g.1.insert(id, last);
        id
    }

    /// The key a cursor stands for.
    pub fn load(&self, id: u64) -> Option<Bytes> {
        let g = self
            .inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        g.1.get(&id).cloned()
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

impl View for ReadCtx<'_> {
    fn store(&self) -> &Store {
        self.store
    }
    fn now_ms(&self) -> u64 {
        self.now_ms
    }
    fn get(&self, cf: Cf, key: &[u8]) -> Result<Option<Vec<u8>>> {
        match self.pending {
            Some(b) => b.get(self.store, cf, key),
            None => self.store.get_in(cf, key, self.snap.as_ref()),
        }
    }
    fn raw_meta(&self, key: &[u8]) -> Result<Option<Meta>> {
        match self.pending {
            Some(b) => b.meta(self.store, key),
            None => self.store.meta_in(key, self.snap.as_ref()),
        }
    }
    fn scan(
        &self,
        cf: Cf,
        prefix: &[u8],
        start: &[u8],
        f: &mut dyn FnMut(&[u8], &[u8]) -> bool,
    ) -> Result<()> {
        match self.pending {
            Some(b) => scan_through(self.store, b, cf, prefix, start, f),
            None => self.store.scan_in(cf, prefix, start, self.snap.as_ref(), f),
        }
    }
    fn scan_rev(
        &self,
        cf: Cf,
        prefix: &[u8],
        f: &mut dyn FnMut(&[u8], &[u8]) -> bool,
    ) -> Result<()> {
        match self.pending {
            Some(b) => scan_rev_through(self.store, b, cf, prefix, f),
            None => self.store.scan_rev_in(cf, prefix, self.snap.as_ref(), f),
        }
    }
}

/// Commands that read a single key's metadata (one atomic RocksDB read),
/// which need no snapshot.
pub fn single_read(name: &str) -> bool {
    matches!(
        name,
        "get"
            | "strlen"
            | "getbit"
            | "getrange"
            | "substr"
            | "type"
            | "ttl"
            | "pttl"
            | "hlen"
            | "scard"
            | "zcard"
            | "llen"
            | "dbsize"
    )
}

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
}

impl View for WriteCtx<'_> {
    fn store(&self) -> &Store {
        self.store
    }
    fn now_ms(&self) -> u64 {
        self.now_ms
    }
    fn scan(
        &self,
        cf: Cf,
        prefix: &[u8],
        start: &[u8],
        f: &mut dyn FnMut(&[u8], &[u8]) -> bool,
    ) -> Result<()> {
        scan_through(self.store, self.batch, cf, prefix, start, f)
    }
    fn scan_rev(
        &self,
        cf: Cf,
        prefix: &[u8],
        f: &mut dyn FnMut(&[u8], &[u8]) -> bool,
    ) -> Result<()> {
        scan_rev_through(self.store, self.batch, cf, prefix, f)
    }
    fn get(&self, cf: Cf, key: &[u8]) -> Result<Option<Vec<u8>>> {
        self.batch.get(self.store, cf, key)
    }
    fn raw_meta(&self, key: &[u8]) -> Result<Option<Meta>> {
        self.batch.meta(self.store, key)
    }
}

impl WriteCtx<'_> {
    /// As [`View::scan_rev`], from the last key below `before` (when
    /// given).
    ///
    /// # Errors
    /// [`crate::Error::Rocks`].
    pub fn scan_rev_before(
        &self,
        cf: Cf,
        prefix: &[u8],
        before: Option<&[u8]>,
        f: &mut dyn FnMut(&[u8], &[u8]) -> bool,
    ) -> Result<()> {
        scan_rev_through_before(self.store, self.batch, cf, prefix, before, f)
    }

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

    /// [`WriteCtx::emit`] with the event's raw `ttl` field (a marker such
    /// as [`crate::store::apply::SETBIT_DELTA`]).
    ///
    /// # Errors
    /// As [`WriteCtx::emit`].
    pub fn emit_event(&mut self, cmd: Command, key: &[u8], value: Bytes, ttl: i64) -> Result<()> {
        let mut e =
            LogEvent::data(self.next_seq, cmd, Bytes::copy_from_slice(key), value).with_ttl(ttl);
        // The reads apply_event would make, recorded in the event so a
        // slave need not make them (the command has made them already:
        // they come from the batch).
        e.prior = prior_for(self.store, self.batch, &e)?;
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
        if self.raw_meta(dst)?.is_some() {
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
        match self.raw_meta(key)? {
            Some(m) if m.is_expired(self.now_ms) => {
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
}

fn check_kind(m: Option<Meta>, kind: Kind) -> Result<Option<Meta>, Reply> {
    match m {
        Some(m) if m.kind != kind => Err(Reply::error(WRONGTYPE)),
        other => Ok(other),
    }
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

/// Lowercase ASCII copy, for option matching.
pub fn lower(b: &[u8]) -> Vec<u8> {
    b.to_ascii_lowercase()
}

/// How a command runs.
#[derive(Clone, Copy)]
pub enum Exec {
    /// On the connection, against committed data.
    Read(fn(&ReadCtx<'_>, &[Bytes]) -> Result<Reply>),
    /// On the write path, in a group.
    Write(fn(&mut WriteCtx<'_>, &[Bytes]) -> Result<Reply>),
    /// A server or replication command, run by the server (by name).
    Server,
}

/// Command flags (Redis's names where Redis has one, for COMMAND).
pub mod flag {
    /// Allowed while the data is loading (a slave's full copy).
    pub const LOADING: u8 = 1;
    /// Allowed before AUTH.
    pub const NO_AUTH: u8 = 2;
    /// Administrative (changes the server, not the data).
    pub const ADMIN: u8 = 4;
    /// Not allowed inside a transaction.
    pub const NO_MULTI: u8 = 8;
    /// Answered without touching data.
    pub const FAST: u8 = 16;
}

/// One command: data, server and replication commands alike. COMMAND,
/// AUTH gating, READONLY, LOADING and arity checks all read this.
#[derive(Clone, Copy)]
pub struct Spec {
    /// Lowercase name.
    pub name: &'static str,
    /// Redis arity: n exactly, or -n for at least n (name included).
    pub arity: i32,
    /// How it runs.
    pub exec: Exec,
    /// It scans committed data, so the group before it must be committed
    /// first (it runs at the head of a group).
    pub barrier: bool,
    /// First key argument, last (-1: the last argument), step (for COMMAND).
    pub keys: (i32, i32, i32),
    /// [`flag`]s.
    pub flags: u8,
    /// A blocking command: the kind of key it waits on.
    pub blocks: Option<Kind>,
}

impl Spec {
    /// True for write commands.
    pub fn is_write(&self) -> bool {
        matches!(self.exec, Exec::Write(_))
    }

    /// True when the command has every flag in `f`.
    pub fn has(&self, f: u8) -> bool {
        self.flags & f == f
    }

    /// Redis's flag words for COMMAND.
    pub fn flag_words(&self) -> Vec<&'static str> {
        let mut v = Vec::new();
        match self.exec {
            Exec::Write(_) => v.extend(["write", "denyoom"]),
            Exec::Read(_) => v.push("readonly"),
            Exec::Server => {}
        }
        for (f, word) in [
            (flag::ADMIN, "admin"),
            (flag::NO_AUTH, "no_auth"),
            (flag::LOADING, "loading"),
            (flag::NO_MULTI, "no_multi"),
            (flag::FAST, "fast"),
        ] {
            if self.has(f) {
                v.push(word);
            }
        }
        if self.blocks.is_some() {
            v.push("blocking");
        }
        v
    }

    /// True when `argc` (name included) fits the arity.
    pub fn arity_ok(&self, argc: usize) -> bool {
        let argc = argc as i32;
        if self.arity >= 0 {
            argc == self.arity
        } else {
            argc >= -self.arity
        }
    }
}

const fn r(
    name: &'static str,
    arity: i32,
    f: fn(&ReadCtx<'_>, &[Bytes]) -> Result<Reply>,
    keys: (i32, i32, i32),
) -> Spec {
    Spec {
        name,
        arity,
        exec: Exec::Read(f),
        barrier: false,
        keys,
        flags: 0,
        blocks: None,
    }
}

const fn w(
    name: &'static str,
    arity: i32,
    f: fn(&mut WriteCtx<'_>, &[Bytes]) -> Result<Reply>,
    keys: (i32, i32, i32),
) -> Spec {
    Spec {
        name,
        arity,
        exec: Exec::Write(f),
        barrier: false,
        keys,
        flags: 0,
        blocks: None,
    }
}

const fn wb(
    name: &'static str,
    arity: i32,
    f: fn(&mut WriteCtx<'_>, &[Bytes]) -> Result<Reply>,
    keys: (i32, i32, i32),
) -> Spec {
    Spec {
        name,
        arity,
        exec: Exec::Write(f),
        barrier: true,
        keys,
        flags: 0,
        blocks: None,
    }
}

/// A server command with `flags`.
const fn srv(name: &'static str, arity: i32, flags: u8) -> Spec {
    Spec {
        name,
        arity,
        exec: Exec::Server,
        barrier: false,
        keys: NONE,
        flags,
        blocks: None,
    }
}

/// A blocking command that waits on keys of `kind`.
const fn block(mut s: Spec, kind: Kind) -> Spec {
    s.blocks = Some(kind);
    s
}

const ONE: (i32, i32, i32) = (1, 1, 1);
/// Keys from the first argument to the one before the last (a timeout).
const LAST_BUT_ONE: (i32, i32, i32) = (1, -2, 1);
/// `numkeys key ...` (COMMAND shows no fixed key range for these).
const NUMKEYS: (i32, i32, i32) = (0, 0, 0);
const ALL: (i32, i32, i32) = (1, -1, 1);
const NONE: (i32, i32, i32) = (0, 0, 0);

use flag::{ADMIN, FAST, LOADING, NO_AUTH, NO_MULTI};

/// Every command.
pub static COMMANDS: &[Spec] = &[
    // connection and server
    srv("ping", -1, FAST),
    srv("echo", 2, LOADING | FAST),
    srv("quit", -1, NO_AUTH | LOADING | FAST),
    srv("auth", -2, NO_AUTH | LOADING | FAST | NO_MULTI),
    srv("hello", -1, NO_AUTH | LOADING | FAST | NO_MULTI),
    srv("select", 2, LOADING | FAST),
    srv("info", -1, LOADING),
    srv("config", -2, ADMIN | LOADING),
    srv("command", -1, LOADING),
    srv("client", -2, ADMIN | LOADING),
    srv("time", 1, LOADING | FAST),
    srv("lastsave", 1, LOADING | FAST),
    srv("save", 1, ADMIN | NO_MULTI),
    srv("bgsave", -1, ADMIN),
    srv("shutdown", -1, ADMIN | LOADING | NO_MULTI),
    srv("slowlog", -2, ADMIN | LOADING),
    srv("memory", -2, LOADING),
    srv("debug", -2, ADMIN | LOADING),
    // replication
    srv("slaveof", 3, ADMIN | LOADING),
    srv("replicaof", 3, ADMIN | LOADING),
    srv("role", 1, LOADING | FAST),
    srv("wait", 3, NO_MULTI),
    srv("purge", 4, ADMIN | LOADING),
    srv("sync140", -4, ADMIN | NO_MULTI),
    // publish / subscribe
    srv("subscribe", -2, LOADING | NO_MULTI),
    srv("unsubscribe", -1, LOADING | NO_MULTI),
    srv("psubscribe", -2, LOADING | NO_MULTI),
    srv("punsubscribe", -1, LOADING | NO_MULTI),
    srv("publish", 3, LOADING | FAST),
    // transactions
    srv("multi", 1, LOADING | FAST | NO_MULTI),
    srv("exec", 1, LOADING | NO_MULTI),
    srv("discard", 1, LOADING | FAST | NO_MULTI),
    srv("watch", -2, LOADING | FAST | NO_MULTI),
    srv("unwatch", 1, LOADING | FAST),
    // strings
    r("get", 2, string::get, ONE),
    w("set", -3, string::set, ONE),
    r("mget", -2, string::mget, ALL),
    w("mset", -3, string::mset, (1, -1, 2)),
    w("msetnx", -3, string::msetnx, (1, -1, 2)),
    w("setnx", 3, string::setnx, ONE),
    w("setex", 4, string::setex, ONE),
    w("psetex", 4, string::psetex, ONE),
    w("getset", 3, string::getset, ONE),
    w("getdel", 2, string::getdel, ONE),
    w("append", 3, string::append, ONE),
    r("strlen", 2, string::strlen, ONE),
    w("incr", 2, string::incr, ONE),
    w("decr", 2, string::decr, ONE),
    w("incrby", 3, string::incrby, ONE),
    w("decrby", 3, string::decrby, ONE),
    w("incrbyfloat", 3, string::incrbyfloat, ONE),
    r("getbit", 3, string::getbit, ONE),
    w("setbit", 4, string::setbit, ONE),
    r("bitcount", -2, string::bitcount, ONE),
    r("getrange", 4, string::getrange, ONE),
    r("substr", 4, string::getrange, ONE),
    w("setrange", 4, string::setrange, ONE),
    w("getex", -2, string::getex, ONE),
    r("lcs", -3, string::lcs, (1, 2, 1)),
    w("bitop", -4, bits::bitop, (2, -1, 1)),
    r("bitpos", -3, bits::bitpos, ONE),
    w("bitfield", -2, bits::bitfield, ONE),
    r("bitfield_ro", -2, bits::bitfield_ro, ONE),
    // keys
    w("del", -2, generic::del, ALL),
    w("unlink", -2, generic::del, ALL),
    r("exists", -2, generic::exists, ALL),
    r("type", 2, generic::type_, ONE),
    w("expire", -3, generic::expire, ONE),
    w("pexpire", -3, generic::pexpire, ONE),
    w("expireat", -3, generic::expireat, ONE),
    w("pexpireat", -3, generic::pexpireat, ONE),
    r("ttl", 2, generic::ttl, ONE),
    r("expiretime", 2, generic::expiretime, ONE),
    r("pexpiretime", 2, generic::pexpiretime, ONE),
    r("touch", -2, generic::exists, ALL),
    r("pttl", 2, generic::pttl, ONE),
    w("persist", 2, generic::persist, ONE),
    r("scan", -2, generic::scan, NONE),
    r("keys", 2, generic::keys, NONE),
    r("dbsize", 1, generic::dbsize, NONE),
    r("randomkey", 1, generic::randomkey, NONE),
    wb("rename", 3, generic::rename, (1, 2, 1)),
    wb("renamenx", 3, generic::renamenx, (1, 2, 1)),
    w("flushall", -1, generic::flushall, NONE),
    wb("copy", -3, generic::copy, (1, 2, 1)),
    r("object", -2, generic::object, NONE),
    wb("sort", -2, sort::sort, ONE),
    r("sort_ro", -2, sort::sort_ro, ONE),
    w("flushdb", -1, generic::flushall, NONE),
    // hashes
    w("hset", -4, hash::hset, ONE),
    w("hmset", -4, hash::hmset, ONE),
    w("hsetnx", 4, hash::hsetnx, ONE),
    r("hget", 3, hash::hget, ONE),
    r("hmget", -3, hash::hmget, ONE),
    w("hdel", -3, hash::hdel, ONE),
    r("hgetall", 2, hash::hgetall, ONE),
    r("hkeys", 2, hash::hkeys, ONE),
    r("hvals", 2, hash::hvals, ONE),
    r("hlen", 2, hash::hlen, ONE),
    r("hstrlen", 3, hash::hstrlen, ONE),
    r("hexists", 3, hash::hexists, ONE),
    w("hincrby", 4, hash::hincrby, ONE),
    w("hincrbyfloat", 4, hash::hincrbyfloat, ONE),
    r("hscan", -3, hash::hscan, ONE),
    r("hrandfield", -2, hash::hrandfield, ONE),
    // sets
    w("sadd", -3, set::sadd, ONE),
    w("srem", -3, set::srem, ONE),
    w("smove", 4, set::smove, (1, 2, 1)),
    r("smembers", 2, set::smembers, ONE),
    r("sismember", 3, set::sismember, ONE),
    r("smismember", -3, set::smismember, ONE),
    r("scard", 2, set::scard, ONE),
    wb("spop", -2, set::spop, ONE),
    r("srandmember", -2, set::srandmember, ONE),
    r("sscan", -3, set::sscan, ONE),
    r("sinter", -2, set::sinter, ALL),
    r("sunion", -2, set::sunion, ALL),
    r("sdiff", -2, set::sdiff, ALL),
    r("sintercard", -3, set::sintercard, NUMKEYS),
    wb("sinterstore", -3, set::sinterstore, ALL),
    wb("sunionstore", -3, set::sunionstore, ALL),
    wb("sdiffstore", -3, set::sdiffstore, ALL),
    // sorted sets
    w("zadd", -4, zset::zadd, ONE),
    w("zrem", -3, zset::zrem, ONE),
    r("zscore", 3, zset::zscore, ONE),
    r("zmscore", -3, zset::zmscore, ONE),
    w("zincrby", 4, zset::zincrby, ONE),
    r("zcard", 2, zset::zcard, ONE),
    r("zcount", 4, zset::zcount, ONE),
    r("zrange", -4, zrange::zrange, ONE),
    r("zrevrange", -4, zrange::zrevrange, ONE),
    r("zrangebyscore", -4, zrange::zrangebyscore, ONE),
    r("zrevrangebyscore", -4, zrange::zrevrangebyscore, ONE),
    r("zrangebylex", -4, zrange::zrangebylex, ONE),
    r("zrevrangebylex", -4, zrange::zrevrangebylex, ONE),
    r("zlexcount", 4, zrange::zlexcount, ONE),
    wb("zrangestore", -5, zrange::zrangestore, (1, 2, 1)),
    wb("zremrangebyrank", 4, zrange::zremrangebyrank, ONE),
    wb("zremrangebyscore", 4, zrange::zremrangebyscore, ONE),
    wb("zremrangebylex", 4, zrange::zremrangebylex, ONE),
    r("zunion", -3, zrange::zunion, NUMKEYS),
    r("zinter", -3, zrange::zinter, NUMKEYS),
    r("zdiff", -3, zrange::zdiff, NUMKEYS),
    wb("zunionstore", -4, zrange::zunionstore, ONE),
    wb("zinterstore", -4, zrange::zinterstore, ONE),
    wb("zdiffstore", -4, zrange::zdiffstore, ONE),
    r("zintercard", -3, zrange::zintercard, NUMKEYS),
    r("zrandmember", -2, zrange::zrandmember, ONE),
    r("zrank", 3, zset::zrank, ONE),
    r("zrevrank", 3, zset::zrevrank, ONE),
    wb("zpopmin", -2, zset::zpopmin, ONE),
    wb("zpopmax", -2, zset::zpopmax, ONE),
    wb("zmpop", -4, zset::zmpop, NUMKEYS),
    block(wb("bzpopmin", -3, zset::bzpopmin, LAST_BUT_ONE), Kind::ZSet),
    block(wb("bzpopmax", -3, zset::bzpopmax, LAST_BUT_ONE), Kind::ZSet),
    block(wb("bzmpop", -5, zset::bzmpop, NUMKEYS), Kind::ZSet),
    r("zscan", -3, zset::zscan, ONE),
    // lists
    w("lpush", -3, list::lpush, ONE),
    w("rpush", -3, list::rpush, ONE),
    w("lpushx", -3, list::lpushx, ONE),
    w("rpushx", -3, list::rpushx, ONE),
    w("lpop", -2, list::lpop, ONE),
    w("rpop", -2, list::rpop, ONE),
    w("rpoplpush", 3, list::rpoplpush, (1, 2, 1)),
    w("lmove", 5, list::lmove, (1, 2, 1)),
    w("lmpop", -4, list::lmpop, NUMKEYS),
    block(w("blpop", -3, list::blpop, LAST_BUT_ONE), Kind::List),
    block(w("brpop", -3, list::brpop, LAST_BUT_ONE), Kind::List),
    block(w("blmove", 6, list::blmove, (1, 2, 1)), Kind::List),
    block(w("brpoplpush", 4, list::brpoplpush, (1, 2, 1)), Kind::List),
    block(w("blmpop", -5, list::blmpop, NUMKEYS), Kind::List),
    r("llen", 2, list::llen, ONE),
    r("lrange", 4, list::lrange, ONE),
    r("lindex", 3, list::lindex, ONE),
    w("lset", 4, list::lset, ONE),
    w("ltrim", 4, list::ltrim, ONE),
    wb("lrem", 4, list::lrem, ONE),
    w("linsert", 5, list::linsert, ONE),
    r("lpos", -3, list::lpos, ONE),
];

/// The command named `name` (any case).
pub fn lookup(name: &[u8]) -> Option<&'static Spec> {
    static TABLE: OnceLock<HashMap<&'static str, &'static Spec>> = OnceLock::new();
    let table = TABLE.get_or_init(|| COMMANDS.iter().map(|s| (s.name, s)).collect());
    // Lowercased on the stack: this runs for every command.
    let mut buf = [0u8; 32];
    let lower = buf.get_mut(..name.len())?;
    lower.copy_from_slice(name);
    lower.make_ascii_lowercase();
    std::str::from_utf8(lower)
        .ok()
        .and_then(|n| table.get(n).copied())
}

/// The key arguments of a command, from its table entry's first, last
/// and step (none for commands whose keys follow a count).
pub fn key_args<'a>(spec: &Spec, a: &'a [Bytes]) -> impl Iterator<Item = &'a Bytes> {
    let (first, last, step) = spec.keys;
    let n = a.len() as i32;
    let last = if last < 0 { n + last } else { last.min(n - 1) };
    let range = if first >= 1 && step >= 1 && last >= first {
        a.get(first as usize..=last as usize).unwrap_or(&[])
    } else {
        &[]
    };
    range.iter().step_by(step.max(1) as usize)
}

/// The fields or members a write to one collection reads before it writes
/// them (HSET's fields, SADD's members, ZADD's members...), with the
/// collection's kind; none for other commands. A hint for pre-reads: a
/// malformed command yields what it can.
pub fn field_args<'a>(spec: &Spec, a: &'a [Bytes]) -> Option<(Kind, Vec<&'a Bytes>)> {
    let rest = a.get(2..)?;
    Some(match spec.name {
        "hset" | "hmset" => (Kind::Hash, rest.iter().step_by(2).collect()),
        "hsetnx" | "hincrby" | "hincrbyfloat" => (Kind::Hash, rest.first().into_iter().collect()),
        "hdel" => (Kind::Hash, rest.iter().collect()),
        "sadd" | "srem" => (Kind::Set, rest.iter().collect()),
        "zrem" => (Kind::ZSet, rest.iter().collect()),
        "zincrby" => (Kind::ZSet, rest.get(1).into_iter().collect()),
        "zadd" => {
            // Options first (NX, XX, GT, LT, CH, INCR), then score-member pairs.
            let options = rest
                .iter()
                .take_while(|o| {
                    ["nx", "xx", "gt", "lt", "ch", "incr"]
                        .iter()
                        .any(|n| o.eq_ignore_ascii_case(n.as_bytes()))
                })
                .count();
            (
                Kind::ZSet,
                rest[options..].iter().skip(1).step_by(2).collect(),
            )
        }
        _ => return None,
    })
}

/// A blocking command's arguments: the keys it waits on, in order, and
/// its timeout argument.
pub fn blocking_args<'a>(spec: &Spec, a: &'a [Bytes]) -> (&'a [Bytes], &'a Bytes) {
    match spec.name {
        "blmove" | "brpoplpush" => (&a[1..2], &a[a.len() - 1]),
        "blmpop" | "bzmpop" => {
            let n = parse_i64(&a[2]).unwrap_or(0).clamp(0, a.len() as i64 - 3) as usize;
            (&a[3..3 + n], &a[1])
        }
        _ => (&a[1..a.len() - 1], &a[a.len() - 1]),
    }
}

/// A blocking command narrowed to one of its keys: what serves a client
/// waiting on `key` once it has data.
pub fn blocking_for_key(spec: &Spec, a: &[Bytes], key: &Bytes) -> Vec<Bytes> {
    match spec.name {
        "blmove" | "brpoplpush" => a.to_vec(),
        "blmpop" | "bzmpop" => {
            let (keys, _) = blocking_args(spec, a);
            let mut v = vec![
                a[0].clone(),
                a[1].clone(),
                Bytes::from_static(b"1"),
                key.clone(),
            ];
            v.extend_from_slice(&a[3 + keys.len()..]);
            v
        }
        _ => vec![a[0].clone(), key.clone(), a[a.len() - 1].clone()],
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
    let prefix = crate::store::keys::sub_prefix(key, m.version);
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

/// The `*SCAN key cursor [MATCH p] [COUNT n]` of a collection: `render`
/// turns a (field, value) into reply items.
///
/// # Errors
/// RocksDB errors.
pub fn scan_collection(
    c: &ReadCtx<'_>,
    a: &[Bytes],
    kind: Kind,
    render: impl Fn(&Bytes, &[u8], &mut Vec<Reply>),
) -> Result<Reply> {
    let start = tri!(generic::cursor_start(c, &a[2]));
    let (mut pattern, mut count) = (None, 10usize);
    let mut i = 3;
    while i < a.len() {
        let Some(v) = a.get(i + 1) else {
            return Ok(Reply::error(SYNTAX));
        };
        match lower(&a[i]).as_slice() {
            b"match" => pattern = Some(v.clone()),
            b"count" => match int_arg(v) {
                Ok(n) if n >= 1 => count = n as usize,
                Ok(_) => return Ok(Reply::error(SYNTAX)),
                Err(r) => return Ok(r),
            },
            _ => return Ok(Reply::error(SYNTAX)),
        }
        i += 2;
    }
    let Some(m) = tri!(typed(c, &a[1], kind)?) else {
        return Ok(generic::scan_reply(c, None, Vec::new()));
    };
    let prefix = crate::store::keys::sub_prefix(&a[1], m.version);
    let mut from = prefix.clone();
    if let Some(last) = start {
        from = generic::successor(&[&prefix[..], &last[..]].concat());
    }
    let (mut out, mut seen, mut last) = (Vec::new(), 0, None);
    c.scan(Cf::Sub, &prefix, &from, &mut |k, v| {
        if seen == count {
            return false;
        }
        seen += 1;
        let field = Bytes::copy_from_slice(&k[prefix.len()..]);
        if pattern.as_deref().is_none_or(|p| glob_match(p, &field)) {
            render(&field, v, &mut out);
        }
        last = Some(field);
        true
    })?;
    let more = if seen == count { last } else { None };
    Ok(generic::scan_reply(c, more, out))
}

/// `key [count [WITH<word>]]` of SRANDMEMBER's kin (HRANDFIELD,
/// ZRANDMEMBER): the count, and whether `with` (lowercase) was given.
pub fn rand_args(a: &[Bytes], with: &[u8]) -> Result<(Option<i64>, bool), Reply> {
    let count = a.get(2).map(|n| int_arg(n)).transpose()?;
    match a.get(3) {
        None => Ok((count, false)),
        Some(w) if a.len() == 4 && lower(w) == with => Ok((count, true)),
        Some(_) => Err(Reply::error(SYNTAX)),
    }
}

/// Most picks with repeats (a negative count) in one reply.
const MAX_REPEATED_PICKS: i64 = 10_000_000;

/// The picks of SRANDMEMBER, HRANDFIELD and ZRANDMEMBER among `len`
/// items: `None` without a count (one item, or nil); distinct items up
/// to `count` when it is positive; `-count` items, repeats allowed, when
/// it is negative.
///
/// # Errors
/// Redis's range error for a count too negative to answer.
pub fn random_picks(
    len: usize,
    count: Option<i64>,
    seed: u64,
) -> Result<Option<Vec<usize>>, Reply> {
    let Some(n) = count else {
        return Ok(None);
    };
    if n < -(i64::MAX / 2) {
        return Err(Reply::error("ERR value is out of range"));
    }
    if len > 0 && n < -MAX_REPEATED_PICKS {
        // Redis would stream them; one reply this large is refused.
        return Err(Reply::error(format!(
            "ERR count is out of range: at most {MAX_REPEATED_PICKS} repeated picks in one reply"
        )));
    }
    if len == 0 {
        return Ok(Some(Vec::new()));
    }
    let mut rng = Rng::new(seed.wrapping_mul(31) ^ len as u64);
    if n < 0 {
        return Ok(Some(
            (0..n.unsigned_abs()).map(|_| rng.below(len)).collect(),
        ));
    }
    let mut left: Vec<usize> = (0..len).collect();
    let mut out = Vec::with_capacity((n as usize).min(len));
    while out.len() < n as usize && !left.is_empty() {
        out.push(left.swap_remove(rng.below(left.len())));
    }
    Ok(Some(out))
}

/// A fresh seed for each random command: a process-wide sequence mixed by
/// splitmix64 and started from the clock, so calls within the same
/// millisecond draw differently (a seed from the clock alone gave every
/// SRANDMEMBER in that millisecond the same member).
pub fn seed() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let _ = NEXT.compare_exchange(
        0,
        crate::engine::now_ms() | 1,
        Ordering::Relaxed,
        Ordering::Relaxed,
    );
    let mut z = NEXT.fetch_add(0x9e37_79b9_7f4a_7c15, Ordering::Relaxed);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// A small PRNG (xorshift) for the random commands, seeded by [`seed`].
pub struct Rng(u64);

impl Rng {
    /// Seeded from `seed` (never zero).
    pub fn new(seed: u64) -> Self {
        Self(seed | 1)
    }

    /// Next value below `n` (n > 0).
    pub fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n as u64) as usize
    }
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

    #[test]
    fn every_command_is_found_in_any_case() {
        for s in COMMANDS {
            assert_eq!(
                lookup(s.name.to_uppercase().as_bytes()).map(|x| x.name),
                Some(s.name)
            );
        }
        assert!(lookup(b"nosuch").is_none());
    }

    #[test]
    fn every_command_has_docs() {
        let missing: Vec<_> = COMMANDS
            .iter()
            .filter(|s| docs::doc(s.name).is_none_or(|d| d.1.is_empty()))
            .map(|s| s.name)
            .collect();
        assert!(missing.is_empty(), "no COMMAND DOCS for {missing:?}");
    }
}
