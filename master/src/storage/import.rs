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
/// than 0, a value this server does not hold (a stream, a module's);
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

fn load(config: &Config, rdb: &Path, dir: &Path) -> Result<Imported> {
    let io = |e: std::io::Error| Error::Io {
        path: rdb.to_owned(),
        source: e,
    };
    let file = std::fs::File::open(rdb).map_err(io)?;
    let bytes = file.metadata().map_err(io)?.len();
    let mut reader = FileReader::open(std::io::BufReader::with_capacity(1 << 20, file))
        .map_err(|e| Error::Config(format!("{}: {e}", rdb.display())))?;
    std::fs::create_dir_all(dir).map_err(|e| Error::Io {
        path: dir.to_owned(),
        source: e,
    })?;
    let store = fresh::open(config, dir)?;
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
            .map_err(|e| Error::Config(format!("{}: {e}", rdb.display())))?;
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
                        "{}: key {} is in database {db}; this server has one keyspace (database 0)",
                        rdb.display(),
                        key.escape_ascii()
                    )));
                }
                if expire_ms != 0 && expire_ms <= now {
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
                let name = crate::script::functions::metadata(&code)
                    .map_err(|e| {
                        Error::Config(format!("{}: a function library: {e}", rdb.display()))
                    })?
                    .0;
                done.functions += 1;
                vec![(Command::FunctionSet, bytes::Bytes::from(name), code, 0)]
            }
        };
        for (cmd, key, value, ttl) in events {
            seq += 1;
            let e = LogEvent::data(seq, cmd, key, value).with_ttl(ttl as i64);
            apply_event(&store, &mut batch, &e)?;
            in_batch += 1;
        }
        if in_batch >= 4096 {
            let garbage = batch.leaves_garbage();
            store.write_leaving(std::mem::take(&mut batch).finish(&store, seq)?, garbage)?;
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
                "import: loading the RDB file"
            );
        }
    }
    let garbage = batch.leaves_garbage();
    store.write_leaving(batch.finish(&store, seq)?, garbage)?;
    if done.expired > 0 {
        warn!(
            expired = done.expired,
            "keys already expired in the file were left out"
        );
    }
    fresh::new_history(&store)?;
    Ok(done)
}
