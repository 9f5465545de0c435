//! Backups (BGSAVE): RocksDB checkpoints an operator keeps, each with the
//! seq it contains and the time it was taken, in a directory of their own.
//!
//! ```text
//! backup-dir/backup-<unix ms, 13 digits>-<seq>/db/…        the checkpoint
//! backup-dir/backup-<unix ms, 13 digits>-<seq>/BACKUP.toml its seq, time, keys
//! ```
//!
//! A backup is built under a `tmp-` name, every file fsynced, then renamed
//! into place and the directory fsynced: a crash leaves the backups there
//! were, or those and the new one, never half of one (a leftover `tmp-`
//! directory is removed at the next open). Names sort by time, so the
//! oldest are first to go when only the newest `keep` are kept.

use std::path::{Path, PathBuf};
use std::time::Instant;

use rocksdb::{checkpoint::Checkpoint, DB};
use serde::{Deserialize, Serialize};
use tracing::info;

use crate::{io, Error, Result, SnapshotReader};

/// What a backup records about itself (`BACKUP.toml`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BackupInfo {
    /// The seq of the last write it contains.
    pub seq: u64,
    /// When it was taken, unix milliseconds.
    pub time_ms: u64,
    /// Keys in it (RocksDB's estimate, every column family).
    pub keys: u64,
    /// Bytes of its files.
    pub bytes: u64,
    /// The replication history its data belongs to (the binlog that
    /// follows it is archived under this name).
    #[serde(default)]
    pub replid: String,
}

/// The system keys (default column family) a backup reads in its
/// checkpoint.
#[derive(Clone, Copy, Debug)]
pub struct BackupKeys<'a> {
    /// The seq the data holds (u64 big-endian).
    pub seq: &'a [u8],
    /// The replication id (text).
    pub replid: &'a [u8],
    /// 1 (u64 big-endian) while a full copy is being received: the data
    /// is partial.
    pub copying: &'a [u8],
}

/// Unix time in milliseconds.
fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// One backup on disk.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Backup {
    /// Its directory.
    pub path: PathBuf,
    /// What it records.
    pub info: BackupInfo,
}

impl Backup {
    /// The RocksDB checkpoint inside.
    pub fn db_dir(&self) -> PathBuf {
        self.path.join("db")
    }

    /// Read the backup at `path` (a directory `backup-…`).
    ///
    /// # Errors
    /// [`Error::Io`] when it has no `BACKUP.toml`, [`Error::Registry`]
    /// when that does not parse or its checkpoint is missing.
    pub fn open(path: &Path) -> Result<Self> {
        let file = path.join(INFO_FILE);
        let text = std::fs::read_to_string(&file).map_err(io(&file))?;
        let info: BackupInfo = toml::from_str(&text).map_err(|e| Error::Registry {
            path: file.clone(),
            reason: e.to_string(),
        })?;
        if !path.join("db").join("CURRENT").exists() {
            return Err(Error::Registry {
                path: path.to_owned(),
                reason: "no checkpoint (db/CURRENT) in this backup".into(),
            });
        }
        Ok(Self {
            path: path.to_owned(),
            info,
        })
    }
}

const INFO_FILE: &str = "BACKUP.toml";
const PREFIX: &str = "backup-";
const TMP_PREFIX: &str = "tmp-";

/// The backups in one directory.
#[derive(Debug)]
pub struct Backups {
    dir: PathBuf,
}

/// Fsync every file under `dir` and every directory, deepest first.
fn sync_tree(dir: &Path) -> Result<u64> {
    let mut bytes = 0;
    for e in std::fs::read_dir(dir).map_err(io(dir))? {
        let e = e.map_err(io(dir))?;
        let path = e.path();
        let meta = e.metadata().map_err(io(&path))?;
        if meta.is_dir() {
            bytes += sync_tree(&path)?;
        } else {
            bytes += meta.len();
            std::fs::File::open(&path)
                .and_then(|f| f.sync_all())
                .map_err(io(&path))?;
        }
    }
    sync_dir(dir)?;
    Ok(bytes)
}

fn sync_dir(dir: &Path) -> Result<()> {
    std::fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io(dir))
}

impl Backups {
    /// The backups in `dir` (created if missing); what an interrupted
    /// backup left (`tmp-…`) is removed.
    ///
    /// # Errors
    /// [`Error::Io`].
    pub fn open(dir: &Path) -> Result<Self> {
        std::fs::create_dir_all(dir).map_err(io(dir))?;
        for e in std::fs::read_dir(dir).map_err(io(dir))?.flatten() {
            if e.file_name().to_string_lossy().starts_with(TMP_PREFIX) {
                let _ = std::fs::remove_dir_all(e.path());
            }
        }
        Ok(Self {
            dir: dir.to_owned(),
        })
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Take a backup of `db` now: a checkpoint (hard links where the file
    /// system allows), its seq and history read from it (`keys`), made
    /// durable and then put in place. A checkpoint of a store in the
    /// middle of a full copy is partial: refused.
    ///
    /// # Errors
    /// RocksDB and file errors, [`Error::NoSeq`], [`Error::Registry`] for
    /// partial data.
    pub fn create(&self, db: &DB, keys: BackupKeys<'_>) -> Result<Backup> {
        let started = Instant::now();
        let tmp = self.dir.join(format!("{TMP_PREFIX}{}", now_ms()));
        let _ = std::fs::remove_dir_all(&tmp);
        std::fs::create_dir_all(&tmp).map_err(io(&tmp))?;
        let result = (|| {
            let db_dir = tmp.join("db");
            Checkpoint::new(db)?.create_checkpoint_with_log_size(&db_dir, 0)?;
            // Its time: after the checkpoint, so every write it holds was
            // made before it (a restore to a time relies on that).
            let time_ms = now_ms();
            let reader = SnapshotReader::open(&db_dir)?;
            let copying = reader.get_default(keys.copying)?;
            if copying.as_deref() == Some(&1u64.to_be_bytes()[..]) {
                return Err(Error::Registry {
                    path: db_dir.clone(),
                    reason: "taken during a full copy from a master: the data is partial".into(),
                });
            }
            let seq = reader.seq(keys.seq)?;
            let replid = reader
                .get_default(keys.replid)?
                .map(|v| String::from_utf8_lossy(&v).into_owned())
                .unwrap_or_default();
            let keys = reader.estimate_keys();
            drop(reader);
            info!(seq, keys, "backup: checkpoint taken, syncing its files");
            let bytes = sync_tree(&db_dir)?;
            let info = BackupInfo {
                seq,
                time_ms,
                keys,
                bytes,
                replid,
            };
            let text = toml::to_string(&info).map_err(|e| Error::Registry {
                path: tmp.join(INFO_FILE),
                reason: e.to_string(),
            })?;
            let file = tmp.join(INFO_FILE);
            std::fs::File::create(&file)
                .and_then(|mut f| {
                    std::io::Write::write_all(&mut f, text.as_bytes())?;
                    f.sync_all()
                })
                .map_err(io(&file))?;
            sync_dir(&tmp)?;
            Ok(info)
        })();
        let info = match result {
            Ok(info) => info,
            Err(e) => {
                let _ = std::fs::remove_dir_all(&tmp);
                return Err(e);
            }
        };
        let path = self
            .dir
            .join(format!("{PREFIX}{:013}-{}", info.time_ms, info.seq));
        std::fs::rename(&tmp, &path).map_err(io(&path))?;
        sync_dir(&self.dir)?;
        info!(
            seq = info.seq,
            keys = info.keys,
            bytes = info.bytes,
            ms = started.elapsed().as_millis() as u64,
            path = %path.display(),
            "backup done"
        );
        Ok(Backup { path, info })
    }

    /// Every whole backup, oldest first (a directory that does not read
    /// as one is skipped).
    ///
    /// # Errors
    /// [`Error::Io`] listing the directory.
    pub fn list(&self) -> Result<Vec<Backup>> {
        let mut out: Vec<Backup> = std::fs::read_dir(&self.dir)
            .map_err(io(&self.dir))?
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().starts_with(PREFIX))
            .filter_map(|e| Backup::open(&e.path()).ok())
            .collect();
        out.sort_by_key(|b| (b.info.time_ms, b.info.seq));
        Ok(out)
    }

    /// Remove the oldest backups until `keep` are left (0: keep all);
    /// those removed.
    ///
    /// # Errors
    /// [`Error::Io`].
    pub fn prune(&self, keep: usize) -> Result<Vec<Backup>> {
        let all = self.list()?;
        if keep == 0 || all.len() <= keep {
            return Ok(Vec::new());
        }
        let gone: Vec<Backup> = all[..all.len() - keep].to_vec();
        for b in &gone {
            std::fs::remove_dir_all(&b.path).map_err(io(&b.path))?;
            info!(seq = b.info.seq, path = %b.path.display(), "backup pruned (backup-keep)");
        }
        sync_dir(&self.dir)?;
        Ok(gone)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rocksdb::Options;

    const KEYS: BackupKeys<'static> = BackupKeys {
        seq: b"applied_seq",
        replid: b"replid",
        copying: b"repl_copying",
    };

    fn db(dir: &Path) -> DB {
        let mut o = Options::default();
        o.create_if_missing(true);
        DB::open(&o, dir).expect("open")
    }

    #[test]
    fn a_backup_holds_its_seq_and_data_and_the_oldest_are_pruned() {
        let tmp = tempfile::tempdir().expect("tmp");
        let live = db(&tmp.path().join("live"));
        let backups = Backups::open(&tmp.path().join("backups")).expect("open");
        let mut taken = Vec::new();
        for seq in 1..=4u64 {
            live.put(b"applied_seq", seq.to_be_bytes()).expect("put");
            live.put(format!("k{seq}"), b"v").expect("put");
            taken.push(backups.create(&live, KEYS).expect("backup"));
            // (names and order are by time: a millisecond apart)
            std::thread::sleep(std::time::Duration::from_millis(2));
        }
        let list = backups.list().expect("list");
        assert_eq!(list, taken);
        assert_eq!(list[2].info.seq, 3);
        // The third holds k1..k3 and not k4, as it was when taken.
        let third = DB::open_for_read_only(&Options::default(), list[2].db_dir(), false)
            .expect("open backup");
        assert!(third.get(b"k3").expect("get").is_some());
        assert!(third.get(b"k4").expect("get").is_none());
        drop(third);
        let gone = backups.prune(2).expect("prune");
        assert_eq!(gone, taken[..2].to_vec());
        assert_eq!(backups.list().expect("list"), taken[2..].to_vec());
        assert!(backups.prune(0).expect("prune").is_empty());
        // A store in the middle of a full copy is not backed up.
        live.put(b"repl_copying", 1u64.to_be_bytes()).expect("put");
        let err = backups.create(&live, KEYS).expect_err("partial");
        assert!(err.to_string().contains("partial"), "{err}");
        assert_eq!(backups.list().expect("list").len(), 2);
    }

    #[test]
    fn an_unfinished_backup_is_removed_and_a_damaged_one_is_not_listed() {
        let tmp = tempfile::tempdir().expect("tmp");
        let dir = tmp.path().join("backups");
        std::fs::create_dir_all(dir.join("tmp-5")).expect("mkdir");
        std::fs::create_dir_all(dir.join("backup-0000000000005-9/db")).expect("mkdir");
        let backups = Backups::open(&dir).expect("open");
        assert!(!dir.join("tmp-5").exists());
        assert!(backups.list().expect("list").is_empty());
        let err = Backup::open(&dir.join("backup-0000000000005-9")).expect_err("no BACKUP.toml");
        assert!(err.to_string().contains("BACKUP.toml"), "{err}");
    }
}
