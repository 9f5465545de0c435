//! rocksync's node: a Redis-compatible store on RocksDB (strings, hashes,
//! sets, sorted sets, lists, expiry) whose every change goes through a
//! group-committed binlog, the RESP server, the sync sessions it serves to
//! slaves, and a role that changes at runtime (SPEC §1, §2, §5, §8, §9).
//!
//! What other crates use: [`Storage`] (the store and its binlog, with the
//! one commit step), [`Node`] (all of it running, master or slave), the
//! [`Follower`] seam through which a replication link (the slave crate's)
//! takes the storage while the node follows a master, and [`Config`].
//! [`store`] is the data layer on RocksDB, for tools and benches.

mod acl;
mod backup;
mod blocking;
mod budget;
pub mod cli;
mod clients;
mod clock;
mod cmd;
mod command;
mod config;
mod conn;
mod dispatch;
mod engine;
mod error;
mod fds;
mod feed;
mod follow_redis;
mod info;
mod latency;
mod link;
mod node;
mod outbuf;
mod preread;
mod rdb_export;
mod repl;
mod role;
mod script;
mod server;
mod session;
mod slaves;
mod slowlog;
mod state;
mod storage;
mod tls;
mod tracking;
mod watch;

/// Lock `m`, taking the data of a holder that panicked (its writes are
/// whole: every critical section here leaves the data consistent).
pub(crate) fn lock<T>(m: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

pub use command::{data_cmd, lookup as lookup_command, Spec as CommandSpec};
pub use config::{Config, ServerArgs, UserLines};
pub use conn::{Connection, FrameReader, FrameWriter, ReadError};
pub use engine::{start as start_write_path, Engine as WritePath, WriteCmd, READONLY};
pub use error::{Error, Result};
pub use follow_redis::{RedisApplier, RedisOffset};
pub use link::{Follower, LinkCtx};
pub use node::{Node, NodeOptions};
pub use role::{split_addr, LinkState, Role};
pub use slaves::Slaves;
pub use storage::import::{import, Imported};
pub use storage::restore::{parse_rfc3339, restore, Point as RestorePoint, Restored};
pub use storage::{gc, store, sys, CopyProgress, History, Storage};
pub use store::batch::{Batch, Layer, Sealed};
pub use tls::client_connection as tls_client_connection;
