//! A new data directory made offline (a restore, an import): refused
//! over one that holds data, built aside and put in place only when
//! whole, and started as a new replication history.

use std::path::Path;

use super::store::Store;
use super::{new_replid, sys};
use crate::config::Config;
use crate::error::{Error, Result};

/// Refuse a data directory that holds data (`what` makes new ones).
///
/// # Errors
/// [`Error::Config`] naming the directory.
pub(super) fn refuse_used(config: &Config, what: &str) -> Result<()> {
    for dir in [config.db_dir(), config.binlog_dir()] {
        if std::fs::read_dir(&dir).is_ok_and(|mut d| d.next().is_some()) {
            return Err(Error::Config(format!(
                "{} holds data already: {what} builds a new data directory",
                dir.display()
            )));
        }
    }
    Ok(())
}

/// Make the database with `make` in `<data_dir>/<aside>`, then rename it
/// into place as the data directory's database (the directory fsynced):
/// a failure leaves nothing behind.
///
/// # Errors
/// `make`'s, and file errors.
pub(super) fn build_aside<T>(
    config: &Config,
    aside: &str,
    make: impl FnOnce(&Path) -> Result<T>,
) -> Result<T> {
    let building = config.data_dir.join(aside);
    let _ = std::fs::remove_dir_all(&building);
    let io = |path: &Path| {
        let path = path.to_owned();
        move |source| Error::Io { path, source }
    };
    match make(&building) {
        Ok(done) => {
            std::fs::rename(&building, config.db_dir()).map_err(io(&config.db_dir()))?;
            std::fs::File::open(&config.data_dir)
                .and_then(|d| d.sync_all())
                .map_err(io(&config.data_dir))?;
            Ok(done)
        }
        Err(e) => {
            let _ = std::fs::remove_dir_all(&building);
            Err(e)
        }
    }
}

/// The store in `dir`, opened as the node's would be.
///
/// # Errors
/// RocksDB's.
pub(super) fn open(config: &Config, dir: &Path) -> Result<Store> {
    Store::open(dir, &super::store_options(config))
}

/// A new history: none of the old node's followers may take this data
/// for a continuation of theirs. A new node, too (its id is made at its
/// first start), and a master until told otherwise.
///
/// # Errors
/// RocksDB's.
pub(super) fn new_history(store: &Store) -> Result<()> {
    store.put_sys(sys::REPLID, new_replid().as_bytes())?;
    store.put_sys(sys::REPLID2, b"")?;
    store.put_sys(sys::NODE_ID, b"")?;
    store.put_sys(sys::ROLE, b"")?;
    store.put_sys(sys::LAST_KEY, b"")?;
    store.flush()
}
