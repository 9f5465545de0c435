//! MIGRATE: keys sent to another server (redis-server or rocksync) as
//! RESTOREs of their DUMP payloads, then deleted here unless COPY, as
//! Redis does it; a key that changed while it was on its way stays.

use std::time::Duration;

use bytes::{Bytes, BytesMut};
use rocksync_protocol::rdb;
use rocksync_protocol::{put_command, Command, Reply};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::{BoxReply, Session};
use crate::cmd::dump::value_of;
use crate::cmd::{ReadCtx, View, WriteCtx, WriteOp, SYNTAX};

const WRITE_FAILED: &str = "IOERR error or timeout writing to target instance";
const READ_FAILED: &str = "IOERR error or timeout reading to target instance";
/// A reply from the target larger than this is not waited for.
const MAX_REPLY_BYTES: usize = 64 << 20;

/// MIGRATE host port key|"" destination-db timeout [COPY] [REPLACE]
/// [AUTH password | AUTH2 username password] [KEYS key ...].
pub fn migrate<'s>(s: &'s mut Session<'_>, a: &'s [Bytes]) -> BoxReply<'s> {
    Box::pin(run(s, a))
}

/// What MIGRATE's arguments ask.
struct Request<'a> {
    copy: bool,
    replace: bool,
    auth: Vec<&'a [u8]>,
    keys: &'a [Bytes],
    db: i64,
    timeout: Duration,
}

/// MIGRATE's keys as Redis finds them (`migrateGetKeys`): the one at 3,
/// or those after KEYS (the options before it skipped with their
/// arguments, so a password is never taken for the keyword).
pub fn keys(a: &[Bytes]) -> Vec<usize> {
    let mut j = 6;
    while j < a.len() {
        match a[j].to_ascii_lowercase().as_slice() {
            b"keys" if a[3].is_empty() => return (j + 1..a.len()).collect(),
            b"keys" => return Vec::new(),
            b"auth" => j += 1,
            b"auth2" => j += 2,
            _ => {}
        }
        j += 1;
    }
    vec![3]
}

fn parse(a: &[Bytes]) -> Result<Request<'_>, Reply> {
    let mut r = Request {
        copy: false,
        replace: false,
        auth: Vec::new(),
        keys: &a[3..4],
        db: 0,
        timeout: Duration::ZERO,
    };
    let mut j = 6;
    while j < a.len() {
        let more = a.len() - 1 - j;
        match a[j].to_ascii_lowercase().as_slice() {
            b"copy" => r.copy = true,
            b"replace" => r.replace = true,
            b"auth" if more >= 1 => {
                r.auth = vec![&a[j + 1][..]];
                j += 1;
            }
            b"auth2" if more >= 2 => {
                r.auth = vec![&a[j + 1][..], &a[j + 2][..]];
                j += 2;
            }
            b"keys" => {
                if !a[3].is_empty() {
                    return Err(Reply::error("ERR When using MIGRATE KEYS option, the key argument must be set to the empty string"));
                }
                r.keys = &a[j + 1..];
                break;
            }
            _ => return Err(Reply::error(SYNTAX)),
        }
        j += 1;
    }
    let timeout = crate::cmd::int_arg(&a[5])?;
    r.db = crate::cmd::int_arg(&a[4])?;
    r.timeout = Duration::from_millis(if timeout <= 0 { 1000 } else { timeout as u64 });
    Ok(r)
}

async fn run(s: &mut Session<'_>, a: &[Bytes]) -> Reply {
    let r = match parse(a) {
        Ok(r) => r,
        Err(e) => return e,
    };
    // Each key's payload and time to live, read from one view.
    let mut moving: Vec<(Bytes, Vec<u8>, u64)> = Vec::new();
    {
        let core = s.core;
        let ctx = ReadCtx::at_snapshot(&core.store, &core.cursors);
        for key in r.keys {
            let m = match ctx.live_meta(key) {
                Ok(Some(m)) => m,
                Ok(None) => continue,
                Err(e) => return Reply::error(format!("ERR {e}")),
            };
            let value = match value_of(&ctx, key, &m) {
                Ok(v) => v,
                Err(e) => return Reply::error(format!("ERR {e}")),
            };
            let ttl = match m.expire_ms {
                0 => 0,
                at => at.saturating_sub(ctx.now_ms).max(1),
            };
            moving.push((key.clone(), rdb::dump(&value), ttl));
        }
    }
    if moving.is_empty() {
        return Reply::Simple("NOKEY".into());
    }
    let host = String::from_utf8_lossy(&a[1]).into_owned();
    let port = String::from_utf8_lossy(&a[2]).into_owned();
    let connect = TcpStream::connect(format!("{host}:{port}"));
    let mut conn = match tokio::time::timeout(r.timeout, connect).await {
        Ok(Ok(c)) => c,
        // (Redis connects without blocking: a refused connection shows
        // when it writes, and that is what it answers)
        Ok(Err(e)) if e.kind() == std::io::ErrorKind::ConnectionRefused => {
            return Reply::error(WRITE_FAILED)
        }
        _ => return Reply::error("IOERR error or timeout connecting to the client"),
    };
    let mut out = BytesMut::new();
    let mut words: Vec<&[u8]> = Vec::new();
    if !r.auth.is_empty() {
        words.push(b"AUTH");
        words.extend(&r.auth);
        put_command(&mut out, &words);
    }
    let db = r.db.to_string();
    put_command(&mut out, &[&b"SELECT"[..], db.as_bytes()]);
    for (key, payload, ttl) in &moving {
        let ttl = ttl.to_string();
        let mut words: Vec<&[u8]> = vec![b"RESTORE", key, ttl.as_bytes(), payload];
        if r.replace {
            words.push(b"REPLACE");
        }
        put_command(&mut out, &words);
    }
    // (the time allowed grows with what is sent, as Redis's does per
    // 64 KB written)
    let write_timeout = r.timeout * (1 + (out.len() / (64 << 10)) as u32);
    if !matches!(
        tokio::time::timeout(write_timeout, conn.write_all(&out)).await,
        Ok(Ok(()))
    ) {
        return Reply::error(WRITE_FAILED);
    }
    let setup = 1 + usize::from(!r.auth.is_empty());
    let (replies, complete) = read_replies(&mut conn, setup + moving.len(), r.timeout).await;
    let target_error =
        |e: &str| Reply::Error(format!("ERR Target instance replied with error: {e}"));
    if replies.len() < setup {
        return Reply::error(READ_FAILED);
    }
    let (setup, restores) = replies.split_at(setup);
    if let Some(Reply::Error(e)) = setup.iter().find(|r| matches!(r, Reply::Error(_))) {
        return target_error(e);
    }
    // Each key the target took goes from here, even when a later reply
    // never came.
    let mut first_error = None;
    let mut moved = Vec::new();
    for ((key, payload, _), reply) in moving.into_iter().zip(restores) {
        match reply {
            Reply::Error(e) => {
                first_error.get_or_insert_with(|| target_error(e));
            }
            _ => moved.push((key, payload)),
        }
    }
    if !r.copy && !moved.is_empty() {
        // (a test writes to a moving key here)
        if let Some(d) = rocksync_failpoint::pause_for("migrate.before_delete") {
            tokio::time::sleep(d).await;
            tracing::warn!("failpoint migrate.before_delete: resuming");
        }
        if let Reply::Error(e) = super::write_op(s, a, Box::new(DeleteMoved(moved))).await {
            return Reply::Error(e);
        }
    }
    if !complete {
        return Reply::error(READ_FAILED);
    }
    first_error.unwrap_or_else(Reply::ok)
}

/// Up to `n` replies from `conn`, each within `timeout` of the last, and
/// whether all `n` came (not: the connection closed or stalled, or sent
/// what is no reply).
async fn read_replies(conn: &mut TcpStream, n: usize, timeout: Duration) -> (Vec<Reply>, bool) {
    let mut buf = Vec::new();
    let mut replies = Vec::with_capacity(n);
    while replies.len() < n {
        match Reply::parse(&buf) {
            Ok(Some((reply, used))) => {
                buf.drain(..used);
                replies.push(reply);
                continue;
            }
            Ok(None) if buf.len() < MAX_REPLY_BYTES => {}
            _ => return (replies, false),
        }
        let mut chunk = [0u8; 4096];
        match tokio::time::timeout(timeout, conn.read(&mut chunk)).await {
            Ok(Ok(got)) if got > 0 => buf.extend_from_slice(&chunk[..got]),
            _ => return (replies, false),
        }
    }
    (replies, true)
}

/// The keys a MIGRATE moved, each deleted unless its value changed since
/// it was dumped (a write that came meanwhile is not lost).
struct DeleteMoved(Vec<(Bytes, Vec<u8>)>);

impl WriteOp for DeleteMoved {
    fn execute(&self, c: &mut WriteCtx<'_>) -> crate::Result<Reply> {
        for (key, payload) in &self.0 {
            let Some(m) = c.live_meta_mut(key)? else {
                continue;
            };
            let same = rdb::dump(&value_of(c, key, &m)?) == *payload;
            if same {
                c.emit(Command::KDel, key, Bytes::new(), 0)?;
            }
        }
        Ok(Reply::ok())
    }
}
