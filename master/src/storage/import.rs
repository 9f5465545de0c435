//! Import (`rocksync-master --import-rdb FILE --data-dir DIR`): a new
//! data directory loaded from a Redis RDB file (a `dump.rdb`, Redis 7.0
//! or 7.2): every key of database 0 with its expiry, and the function
//! libraries, as the commands that make them would leave them. The file
//! is read as a stream (memory holds one key); progress is logged; the
//! directory is built aside and put in place only when the whole file
//! was read and its checksum matched. The node starts a new replication
//! history on it.

use std::path::Path;
use std::time::Instant;

use rocksync_protocol::rdb::{FileReader, Item};
use rocksync_protocol::{Command, LogEvent};
use tracing::{info, warn};

use super::fresh;
use super::store::apply::apply_event;
use super::store::batch::Batch;
use super::store::Store;
use crate::cmd::dump::value_events;
use crate::config::Config;
use crate::error::{Error, Result};

/// What an import loaded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Imported {
    /// Keys loaded.
    pub keys: u64,
    /// Keys already expired in the file, left out.
    pub expired: u64,
    /// Function libraries loaded.
    pub functions: u64,
    /// Bytes of the file.
    pub bytes: u64,
}

/// Load the RDB file at `rdb` into the (empty) data directory of
/// `config`.
///
/// # Errors
/// [`Error::Config`] for a data directory that holds data, a file that
/// is no RDB file, bad data (with its offset), keys of another database
/// than 0, a value this server does not hold (a module's);
/// RocksDB and file errors. Nothing is left in the data directory when
/// it fails.
pub fn import(config: &Config, rdb: &Path) -> Result<Imported> {
    fresh::refuse_used(config, "an import")?;
    let done = fresh::build_aside(config, "db.importing", |dir| load(config, rdb, dir))?;
    info!(
        file = %rdb.display(),
        keys = done.keys,
        expired = done.expired,
        functions = done.functions,
        dir = %config.data_dir.display(),
        "imported"
    );
    Ok(done)
}

/// The RDB file at `rdb`, opened for reading (its header checked), and
/// its length.
///
/// # Errors
/// File errors; [`Error::Config`] for a file that is no RDB file.
pub(crate) fn open_rdb(rdb: &Path) -> Result<(FileReader<std::io::BufReader<std::fs::File>>, u64)> {
    let io = |e: std::io::Error| Error::Io {
        path: rdb.to_owned(),
        source: e,
    };
    let file = std::fs::File::open(rdb).map_err(io)?;
    let bytes = file.metadata().map_err(io)?.len();
    let reader = FileReader::open(std::io::BufReader::with_capacity(1 << 20, file))
        .map_err(|e| Error::Config(format!("{}: {e}", rdb.display())))?;
    Ok((reader, bytes))
}

fn load(config: &Config, rdb: &Path, dir: &Path) -> Result<Imported> {
    let (mut reader, bytes) = open_rdb(rdb)?;
    std::fs::create_dir_all(dir).map_err(|e| Error::Io {
        path: dir.to_owned(),
        source: e,
    })?;
    let store = fresh::open(config, dir)?;
    let done = load_items(
        &mut reader,
        &rdb.display().to_string(),
        bytes,
        &store,
        false,
        |b, seq| {
            let garbage = b.leaves_garbage();
            store.write_leaving(b.finish(&store, seq)?, garbage)
        },
    )?;
    fresh::new_history(&store)?;
    Ok(done)
}

/// Read every item of `reader` (the RDB named `name`, `bytes` long)
/// into `store` as the events that make each key, in batches handed to
/// `write` with the last event's seq (events count from 1): database 0
/// only; keys already expired are left out unless `keep_expired`.
/// Progress is logged every second.
///
/// # Errors
/// [`Error::Config`] for bad data (with its offset) and keys of another
/// database; `write`'s; RocksDB errors.
pub(crate) fn load_items<R: std::io::Read>(
    reader: &mut FileReader<R>,
    name: &str,
    bytes: u64,
    store: &Store,
    keep_expired: bool,
    mut write: impl FnMut(Batch, u64) -> Result<()>,
) -> Result<Imported> {
    let now = crate::clock::now_ms();
    let started = Instant::now();
    let mut last_log = Instant::now();
    let mut done = Imported {
        keys: 0,
        expired: 0,
        functions: 0,
        bytes,
    };
    let (mut seq, mut in_batch) = (0u64, 0usize);
    let mut batch = Batch::new();
    loop {
        let item = reader
            .next_item()
            .map_err(|e| Error::Config(format!("{name}: {e}")))?;
        let events: Vec<(Command, bytes::Bytes, bytes::Bytes, u64)> = match item {
            None => break,
            Some(Item::Key {
                db,
                key,
                value,
                expire_ms,
            }) => {
                if db != 0 {
                    return Err(Error::Config(format!(
                        "{name}: key {} is in database {db}; this server has one keyspace (database 0)",
                        key.escape_ascii()
                    )));
                }
                if !keep_expired && expire_ms != 0 && expire_ms <= now {
                    done.expired += 1;
                    continue;
                }
                done.keys += 1;
                value_events(&value, expire_ms)
                    .into_iter()
                    .map(|(cmd, v, ttl)| (cmd, key.clone(), v, ttl))
                    .collect()
            }
            Some(Item::Function(code)) => {
                let lib = crate::script::functions::metadata(&code)
                    .map_err(|e| Error::Config(format!("{name}: a function library: {e}")))?
                    .0;
                done.functions += 1;
                vec![(Command::FunctionSet, bytes::Bytes::from(lib), code, 0)]
            }
        };
        for (cmd, key, value, ttl) in events {
            seq += 1;
            let e = LogEvent::data(seq, cmd, key, value).with_ttl(ttl as i64);
            apply_event(store, &mut batch, &e)?;
            in_batch += 1;
        }
        if in_batch >= 4096 {
            write(std::mem::take(&mut batch), seq)?;
            in_batch = 0;
        }
        if last_log.elapsed().as_secs() >= 1 {
            last_log = Instant::now();
            let read = reader.offset();
            let secs = started.elapsed().as_secs_f64().max(0.001);
            info!(
                keys = done.keys,
                bytes = read,
                percent = format!("{:.1}", read as f64 * 100.0 / bytes.max(1) as f64),
                mb_per_s = format!("{:.1}", read as f64 / secs / 1e6),
                "loading the RDB file"
            );
        }
    }
    write(batch, seq)?;
    if done.expired > 0 {
        warn!(
            expired = done.expired,
            "keys already expired in the file were left out"
        );
    }
    Ok(done)
}
