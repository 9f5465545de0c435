//! SYNC and PSYNC for Redis's tools: `redis-cli --rdb FILE` (and anything that
//! reads a master's RDB the way it does) gets an RDB (version 10, Redis
//! 7.0) of one consistent snapshot: the function libraries, then every
//! live key with its expiry. It is streamed as Redis streams a diskless
//! one (`$EOF:<mark>`, the file, the mark), built a chunk at a time on a
//! blocking thread, so memory holds a chunk, not the file.

use std::sync::Arc;
use std::time::{Duration, Instant};

use rocksync_protocol::rdb;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use crate::cmd::dump::value_of;
use crate::cmd::{ReadCtx, View};
use crate::conn::Connection;
use crate::state::Core;
use crate::store::keys::Meta;
use crate::store::Cf;

/// Bytes gathered before a chunk goes out.
const CHUNK: usize = 1 << 20;

/// How long the reader may take to take a chunk.
const SEND_TIMEOUT: Duration = Duration::from_secs(60);

/// What a tool asked for.
#[derive(Clone, Copy, Debug, Default)]
pub struct Ask {
    /// It sent PSYNC: `+FULLRESYNC <replid> <offset>` goes first.
    pub psync: bool,
    /// `REPLCONF rdb-filter-only functions` (`redis-cli --functions-rdb`):
    /// the function libraries only, no key.
    pub functions_only: bool,
}

/// Send `conn` the RDB of a snapshot of `core`'s data, then close it.
pub async fn send(core: Arc<Core>, mut conn: Connection, kill: CancellationToken, ask: Ask) {
    let mark = crate::storage::new_replid();
    let mark = format!("{mark:0>40}");
    let mark = &mark[mark.len() - 40..];
    let mut head = format!("$EOF:{mark}\r\n");
    if ask.psync {
        // (informational: nothing is streamed after the RDB)
        let at = core.binlog.last_seq();
        head = format!("+FULLRESYNC {} {at}\r\n{head}", core.repl.history().replid);
    }
    if conn
        .writer
        .send_within(head.as_bytes(), SEND_TIMEOUT)
        .await
        .is_err()
    {
        return;
    }
    let (tx, mut rx) = mpsc::channel::<Result<Vec<u8>, String>>(4);
    let maker = Arc::clone(&core);
    let made = tokio::task::spawn_blocking(move || build(&maker, &tx, ask.functions_only));
    let started = Instant::now();
    let mut sent = 0u64;
    while let Some(chunk) = rx.recv().await {
        let chunk = match chunk {
            Ok(c) => c,
            Err(why) => {
                // (no mark follows: the reader sees the file cut short)
                warn!(%why, "RDB export stopped");
                return;
            }
        };
        let write = conn.writer.send_within(&chunk, SEND_TIMEOUT);
        let ok = tokio::select! {
            r = write => r.is_ok(),
            () = kill.cancelled() => false,
        };
        if !ok {
            warn!(sent, "RDB export: the reader went away");
            return;
        }
        sent += chunk.len() as u64;
    }
    let keys = made.await.unwrap_or(0);
    if conn
        .writer
        .send_within(mark.as_bytes(), SEND_TIMEOUT)
        .await
        .is_ok()
    {
        info!(
            keys,
            bytes = sent,
            secs = format!("{:.2}", started.elapsed().as_secs_f64()),
            "RDB export sent"
        );
    }
}

/// Build the RDB into chunks on `tx` (the function libraries only, when
/// `functions_only`): how many keys it holds.
fn build(core: &Core, tx: &mpsc::Sender<Result<Vec<u8>, String>>, functions_only: bool) -> u64 {
    let ctx = ReadCtx::at_snapshot(&core.store, &core.cursors);
    let total = core.store.key_count().unwrap_or(0);
    let ctime = (ctx.now_ms / 1000).to_string();
    let mut out = Vec::with_capacity(CHUNK + (64 << 10));
    rdb::write_header(
        &mut out,
        &[
            ("redis-ver", crate::info::REDIS_VERSION),
            ("redis-bits", "64"),
            ("ctime", &ctime),
        ],
    );
    for lib in core
        .engine
        .functions
        .catalog(&core.store)
        .libraries
        .values()
    {
        rdb::write_function(&mut out, &lib.code);
    }
    if functions_only {
        // (nothing sent yet: the checksum covers `out` alone)
        rdb::write_end(&mut out, 0);
        let _ = tx.blocking_send(Ok(out));
        return 0;
    }
    rdb::write_select(&mut out, 0);
    let mut crc = 0u64;
    let (mut keys, mut failed) = (0u64, None);
    let mut last_log = Instant::now();
    let send = |out: &mut Vec<u8>, crc: &mut u64| {
        *crc = rdb::crc64(*crc, out);
        tx.blocking_send(Ok(std::mem::take(out))).is_ok()
    };
    let scanned = ctx.scan(Cf::Meta, &[], &[], &mut |k, v| {
        let Some(m) = Meta::decode(v).filter(|m| !m.is_expired(ctx.now_ms)) else {
            return true;
        };
        match value_of(&ctx, k, &m) {
            Ok(value) => rdb::write_key(&mut out, k, &value, m.expire_ms),
            Err(e) => {
                failed = Some(e.to_string());
                return false;
            }
        }
        keys += 1;
        if out.len() >= CHUNK && !send(&mut out, &mut crc) {
            failed = Some("the reader went away".into());
            return false;
        }
        if last_log.elapsed().as_secs() >= 1 {
            last_log = Instant::now();
            info!(
                keys,
                of = total,
                percent = format!("{:.1}", keys as f64 * 100.0 / total.max(1) as f64),
                "RDB export: writing"
            );
        }
        true
    });
    if let Err(e) = scanned {
        failed.get_or_insert(e.to_string());
    }
    if let Some(why) = failed {
        let _ = tx.blocking_send(Err(why));
        return keys;
    }
    rdb::write_end(&mut out, crc);
    let _ = tx.blocking_send(Ok(out));
    keys
}
