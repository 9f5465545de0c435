//! Server commands: INFO, TIME, LASTSAVE, SAVE/BGSAVE, SHUTDOWN, DEBUG,
//! SLOWLOG, MEMORY.

use std::time::Duration;

use bytes::Bytes;
use rocksync_protocol::{Proto, Reply};
use tracing::info;

use super::{bulk_str, err_reply, help_lines, unknown_subcommand, After, BoxReply, Session};
use crate::backup::Saves;
use crate::clock::now_ms;
use crate::cmd::{parse_float, NOT_FLOAT, SYNTAX};

/// INFO [section ...].
pub fn info(s: &mut Session<'_>, a: &[Bytes]) -> Reply {
    Reply::text(crate::info::render(s.core, &a[1..]))
}

/// TIME: seconds and microseconds.
pub fn time(_: &mut Session<'_>, _: &[Bytes]) -> Reply {
    let us = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_micros());
    Reply::Array(vec![
        bulk_str((us / 1_000_000).to_string()),
        bulk_str((us % 1_000_000).to_string()),
    ])
}

/// LASTSAVE: the time of the last good backup (BGSAVE, SAVE), or of the
/// start before any.
pub fn lastsave(s: &mut Session<'_>, _: &[Bytes]) -> Reply {
    Reply::Integer(s.core.saves.last_save() as i64)
}

/// SAVE: a backup into `backup-dir`, taken before the reply.
pub fn save<'s>(s: &'s mut Session<'_>, _: &'s [Bytes]) -> BoxReply<'s> {
    Box::pin(async move {
        match Saves::save(s.core).await {
            Ok(_) => Reply::ok(),
            Err(e) => Reply::error(e),
        }
    })
}

/// BGSAVE [SCHEDULE]: a backup into `backup-dir`, in the background.
pub fn bgsave(s: &mut Session<'_>, a: &[Bytes]) -> Reply {
    match a.get(1) {
        None => {}
        Some(x) if a.len() == 2 && x.eq_ignore_ascii_case(b"schedule") => {}
        Some(_) => return Reply::error(SYNTAX),
    }
    match Saves::start(s.core) {
        Ok(()) => Reply::Simple("Background saving started".into()),
        Err(e) => Reply::error(e),
    }
}

/// SHUTDOWN [NOSAVE|SAVE] [NOW] [FORCE] [ABORT]: every form stops cleanly
/// (the data is always saved); ABORT finds no shutdown to abort.
pub fn shutdown(s: &mut Session<'_>, a: &[Bytes]) -> Reply {
    let mut abort = false;
    for x in &a[1..] {
        match x.to_ascii_lowercase().as_slice() {
            b"nosave" | b"save" | b"now" | b"force" => {}
            b"abort" => abort = true,
            _ => return Reply::error(SYNTAX),
        }
    }
    match (abort, a.len()) {
        (true, 2) => Reply::error("ERR No shutdown in progress."),
        (true, _) => Reply::error(SYNTAX),
        _ => {
            info!("SHUTDOWN asked by {}", s.client.info.peer);
            s.core.shutdown_asked.cancel();
            // The connection closes without a reply, as Redis's does.
            s.after = After::Stop;
            Reply::NilArray
        }
    }
}

/// DEBUG SLEEP seconds | OBJECT key | PROTOCOL type | HELP, for tools
/// and tests.
pub fn debug<'s>(s: &'s mut Session<'_>, a: &'s [Bytes]) -> BoxReply<'s> {
    Box::pin(async move {
        let sub = a[1].to_ascii_lowercase();
        match (sub.as_slice(), a.len()) {
            (b"sleep", 3) => match parse_float(&a[2]).map(Duration::try_from_secs_f64) {
                Some(Ok(d)) => {
                    tokio::time::sleep(d).await;
                    Reply::ok()
                }
                _ => Reply::error(NOT_FLOAT),
            },
            (b"object", 3) => debug_object(s, &a[2]),
            (b"protocol", 3) => debug_protocol(s, &a[2]),
            (b"help", 2) => help_lines(&[
                "DEBUG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
                "OBJECT <key>",
                "    Show low level info about the key and associated value.",
                "PROTOCOL <type>",
                "    Reply with a test value of the specified type. <type> can be: string,",
                "    integer, double, bignum, null, array, set, map, attrib, push, verbatim,",
                "    true, false.",
                "SLEEP <seconds>",
                "    Stop the server for <seconds>. Decimals allowed.",
                "HELP",
                "    Prints this help.",
            ]),
            _ => unknown_subcommand(a),
        }
    })
}

/// DEBUG PROTOCOL type: Redis's sample of each reply type, for clients
/// and tests of the protocol.
fn debug_protocol(s: &mut Session<'_>, kind: &[u8]) -> Reply {
    let int = Reply::Integer;
    match kind.to_ascii_lowercase().as_slice() {
        b"string" => bulk_str("Hello World"),
        b"integer" => int(12345),
        // Redis's sample value, not an approximation of pi
        #[allow(clippy::approx_constant)]
        b"double" => Reply::Double(3.141),
        b"bignum" => Reply::BigNumber("1234567999999999999999999999999999999".into()),
        b"null" => Reply::Nil,
        b"array" => Reply::Array((0..3).map(int).collect()),
        b"set" => Reply::Set((0..3).map(int).collect()),
        b"map" => Reply::Map((0..3).map(|j| (int(j), Reply::Bool(j == 1))).collect()),
        b"attrib" => Reply::Attribute(
            vec![(
                bulk_str("key-popularity"),
                Reply::Array(vec![bulk_str("key:123"), int(90)]),
            )],
            Box::new(bulk_str("Some real reply following the attribute")),
        ),
        b"push" if s.client.proto == Proto::Resp2 => {
            Reply::error("ERR RESP2 is not supported by this command")
        }
        b"push" => {
            Reply::Push(vec![bulk_str("server-cpu-usage"), int(42)])
                .encode_as(s.out, s.client.proto);
            bulk_str("Some real reply following the push reply")
        }
        b"verbatim" => Reply::text("This is a verbatim\nstring"),
        b"true" => Reply::Bool(true),
        b"false" => Reply::Bool(false),
        _ => Reply::error("ERR Wrong protocol type name. Please use one of the following: string|integer|double|bignum|null|array|set|map|attrib|push|verbatim|true|false"),
    }
}

fn debug_object(s: &Session<'_>, key: &[u8]) -> Reply {
    let store = &s.core.store;
    match store.meta_header_in(key, None) {
        Ok(Some(m)) if !m.is_expired(now_ms()) => {
            let bytes = store.key_usage(key, now_ms()).ok().flatten().unwrap_or(0);
            Reply::Simple(format!(
                "Value at:0x0 refcount:1 encoding:{} serializedlength:{bytes} lru:0 lru_seconds_idle:0 ql_nodes:{}",
                m.kind.name(),
                // (a long string's `size` is its length)
                if m.kind == crate::store::keys::Kind::String { 0 } else { m.size }
            ))
        }
        Ok(_) => Reply::error("ERR no such key"),
        Err(e) => err_reply(e),
    }
}

/// SLOWLOG GET [count].
pub fn slowlog_get(s: &mut Session<'_>, a: &[Bytes]) -> Reply {
    match a.get(2) {
        None => s.core.slowlog.get(10),
        Some(n) => match rocksync_protocol::parse_i64(n) {
            Some(n) if n >= -1 && a.len() == 3 => s.core.slowlog.get(n),
            _ => Reply::error("ERR count should be greater than or equal to -1"),
        },
    }
}

/// SLOWLOG LEN.
pub fn slowlog_len(s: &mut Session<'_>, _: &[Bytes]) -> Reply {
    Reply::Integer(s.core.slowlog.len() as i64)
}

/// SLOWLOG RESET.
pub fn slowlog_reset(s: &mut Session<'_>, _: &[Bytes]) -> Reply {
    s.core.slowlog.reset();
    Reply::ok()
}

/// SLOWLOG HELP.
pub fn slowlog_help(_: &mut Session<'_>, _: &[Bytes]) -> Reply {
    help_lines(&[
        "SLOWLOG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "GET [<count>]",
        "    Return top <count> entries from the slowlog (default: 10, -1 mean all).",
        "LEN",
        "    Return the length of the slowlog.",
        "RESET",
        "    Reset the slowlog.",
        "HELP",
        "    Prints this help.",
    ])
}

/// MEMORY USAGE key [SAMPLES n]: the bytes a key takes on disk before
/// compression (metadata and members), an estimate as Redis's is.
pub fn memory_usage(s: &mut Session<'_>, a: &[Bytes]) -> Reply {
    if a.len() != 3
        && (a.len() != 5
            || !a[3].eq_ignore_ascii_case(b"samples")
            || rocksync_protocol::parse_i64(&a[4]).is_none())
    {
        return Reply::error(SYNTAX);
    }
    match s.core.store.key_usage(&a[2], now_ms()) {
        Ok(Some(bytes)) => Reply::Integer(bytes as i64),
        Ok(None) => Reply::Nil,
        Err(e) => err_reply(e),
    }
}

/// MEMORY DOCTOR.
pub fn memory_doctor(_: &mut Session<'_>, _: &[Bytes]) -> Reply {
    Reply::text("Hi Sam, this instance keeps its data in RocksDB; I have nothing to report.")
}

/// MEMORY HELP.
pub fn memory_help(_: &mut Session<'_>, _: &[Bytes]) -> Reply {
    help_lines(&[
        "MEMORY <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "USAGE <key> [SAMPLES <count>]",
        "    Return memory in bytes used by <key> and its value.",
        "DOCTOR",
        "    Return memory problems reports.",
        "HELP",
        "    Prints this help.",
    ])
}
