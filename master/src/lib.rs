//! rocksync's master: a Redis-compatible store on RocksDB (strings,
//! hashes, sets, sorted sets, lists, expiry) whose every change goes
//! through a group-committed binlog (SPEC §1, §2, §8).
//!
//! Layers: [`store`] (encoding and the event-apply code shared with
//! slaves), [`cmd`] (commands), [`engine`] (the write path and recovery),
//! [`server`] (RESP connections), [`Master`] (all of it running).

pub mod cli;
pub mod cmd;
pub mod config;
pub mod engine;
mod error;
pub mod info;
mod master;
pub mod repl;
pub mod server;
pub mod store;

pub use config::{Config, ServerArgs};
pub use error::{Error, Result};
pub use master::{
    collect_garbage, load_or_create_replid, new_replid, open_storage, purge_binlog, Master,
    BOOT_ID_KEY, REPLID_KEY,
};
