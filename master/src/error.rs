//! The master crate's one error type.

use std::path::PathBuf;

/// Errors of the master crate.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// RocksDB failed.
    #[error("rocksdb: {0}")]
    Rocks(#[from] rocksdb::Error),
    /// The binlog failed.
    #[error("binlog: {0}")]
    Binlog(#[from] rocksync_binlog::Error),
    /// A stored value no writer makes.
    #[error("corrupt value in column family {cf} for key {key:?}")]
    CorruptValue {
        /// The column family.
        cf: &'static str,
        /// The key, escaped.
        key: String,
    },
    /// An event this store cannot apply.
    #[error("cannot apply event seq {seq} ({cmd}): {reason}")]
    BadEvent {
        /// Its seq.
        seq: u64,
        /// Its command name.
        cmd: &'static str,
        /// Why.
        reason: String,
    },
    /// Snapshot trouble.
    #[error("snapshot: {0}")]
    Snapshot(#[from] rocksync_snapshot::Error),
    /// A bad configuration value, naming the key.
    #[error("config: {0}")]
    Config(String),
    /// I/O outside RocksDB and the binlog.
    #[error("{}: {source}", path.display())]
    Io {
        /// The path involved.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// A write whose event would exceed the replication frame limit.
    #[error(
        "the change is {bytes} bytes once logged, over the {max}-byte limit that slaves accept"
    )]
    EventTooLarge {
        /// The event's encoded size.
        bytes: usize,
        /// The limit.
        max: usize,
    },
    /// The write path has stopped (shutdown or a fatal error).
    #[error("the write path is stopped")]
    Stopped,
}

/// The master crate's result.
pub type Result<T, E = Error> = std::result::Result<T, E>;
