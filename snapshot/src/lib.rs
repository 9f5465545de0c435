//! Backups an operator keeps ([`Backups`], BGSAVE) and full-copy
//! snapshots (SPEC §5.2, §7): a RocksDB checkpoint together with
//! the seq it contains, one per slave (keyed by `ip:listening_port`), with
//! a registry kept on disk so an interrupted copy resumes from its
//! breakpoint even across a master restart. While a snapshot exists the
//! binlog from its seq is pinned, so the copy can always be followed by
//! streaming. A cleaner drops snapshots that are not ACTIVE and idle past
//! the timeout.
//!
//! Copy pairs are named by column family: a RAW key is
//! `len(cf name) u8 · cf name · key`, iterated column family by column
//! family (in [`COPY_ORDER`] when present, then the rest by name), keys in
//! order within each.

mod backup;

pub use backup::{Backup, BackupInfo, BackupKeys, Backups};

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use rocksdb::{
    checkpoint::Checkpoint, BlockBasedOptions, ColumnFamilyDescriptor, Options, ReadOptions, DB,
};
use rocksync_binlog::{Binlog, Lease};
use serde::{Deserialize, Serialize};
use tracing::{info, warn};

/// Errors of the snapshot crate.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// RocksDB failed.
    #[error("rocksdb: {0}")]
    Rocks(#[from] rocksdb::Error),
    /// File system trouble.
    #[error("{}: {source}", path.display())]
    Io {
        /// The path.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The registry file does not parse.
    #[error("{}: {reason}", path.display())]
    Registry {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// The checkpoint holds no valid seq.
    #[error("snapshot {}: no valid seq under key {key}", path.display())]
    NoSeq {
        /// The checkpoint.
        path: PathBuf,
        /// The key read.
        key: String,
    },
}

/// The crate's result.
pub type Result<T, E = Error> = std::result::Result<T, E>;

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> Error + '_ {
    move |source| Error::Io {
        path: path.to_owned(),
        source,
    }
}

/// Column families copied first, in this order (then any other, by name).
pub const COPY_ORDER: &[&str] = &["meta", "sub", "zscore", "expire", "default"];

/// A snapshot's state.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum State {
    /// A copy from it is running.
    Active,
    /// The copy failed; kept for a breakpoint resume.
    Abort,
}

/// Unix time in seconds.
pub fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// What the registry keeps for one slave's snapshot.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// The seq the checkpoint contains.
    pub seq: u64,
    /// Its state.
    pub state: State,
    /// Last use, unix seconds.
    pub last_access: u64,
    /// Copy position: the last RAW key sent, hex ("" before the first).
    pub last_key_hex: String,
    /// Keys sent so far.
    pub keys_sent: u64,
    /// Bytes sent so far.
    pub bytes_sent: u64,
    /// Keys in the snapshot (an estimate, for percent done).
    pub keys_total: u64,
}

#[derive(Default, Serialize, Deserialize)]
struct RegistryFile {
    #[serde(default)]
    snapshots: BTreeMap<String, Entry>,
}

/// A snapshot ready to be read.
#[derive(Clone, Debug)]
pub struct SnapshotInfo {
    /// The checkpoint directory.
    pub path: PathBuf,
    /// Its registry entry.
    pub entry: Entry,
}

/// The snapshots of one master, in `dir`.
pub struct Snapshots {
    dir: PathBuf,
    binlog: Binlog,
    inner: Mutex<BTreeMap<String, (Entry, Lease)>>,
    /// Held while the registry is written; counts the saves (tmp names).
    saves: Mutex<u64>,
}

impl std::fmt::Debug for Snapshots {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Snapshots({})", self.dir.display())
    }
}

fn dir_name(slave: &str) -> String {
    slave.replace([':', '/', '[', ']'], "_")
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    (0..s.len())
        .step_by(2)
        .map(|i| s.get(i..i + 2).and_then(|h| u8::from_str_radix(h, 16).ok()))
        .collect()
}

impl Snapshots {
    /// Open the registry in `dir` (created if missing), pin the binlog for
    /// every snapshot it lists, and remove checkpoint directories it does
    /// not list.
    ///
    /// # Errors
    /// [`Error::Io`], [`Error::Registry`].
    pub fn open(dir: &Path, binlog: Binlog) -> Result<Self> {
        std::fs::create_dir_all(dir).map_err(io(dir))?;
        let reg_path = dir.join("registry.toml");
        let file: RegistryFile = match std::fs::read_to_string(&reg_path) {
            Ok(text) => toml::from_str(&text).map_err(|e| Error::Registry {
                path: reg_path.clone(),
                reason: e.to_string(),
            })?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => RegistryFile::default(),
            Err(e) => return Err(io(&reg_path)(e)),
        };
        let mut inner = BTreeMap::new();
        for (slave, mut entry) in file.snapshots {
            // No copy survives a restart: what was ACTIVE is now a
            // breakpoint, and its idle time counts from now.
            entry.state = State::Abort;
            entry.last_access = now_secs();
            if dir.join(dir_name(&slave)).join("CURRENT").exists() {
                let pin = binlog.pin(entry.seq + 1);
                inner.insert(slave, (entry, pin));
            } else {
                warn!(slave, "snapshot listed without its checkpoint; dropped");
            }
        }
        let s = Self {
            dir: dir.to_owned(),
            binlog,
            inner: Mutex::new(inner),
            saves: Mutex::new(0),
        };
        for e in std::fs::read_dir(dir).map_err(io(dir))?.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            let listed = s.lock().keys().any(|k| dir_name(k) == name);
            if e.path().is_dir() && !listed {
                let _ = std::fs::remove_dir_all(e.path());
            }
        }
        s.save()?;
        Ok(s)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, (Entry, Lease)>> {
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Write the registry: one writer at a time (the latest state wins),
    /// through a tmp file of its own, fsynced before the rename and the
    /// directory after it, so a crash leaves the old registry or the new.
    fn save(&self) -> Result<()> {
        let mut saves = self
            .saves
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        *saves += 1;
        let file = RegistryFile {
            snapshots: self
                .lock()
                .iter()
                .map(|(k, (e, _))| (k.clone(), e.clone()))
                .collect(),
        };
        let text = toml::to_string(&file).map_err(|e| Error::Registry {
            path: self.dir.join("registry.toml"),
            reason: e.to_string(),
        })?;
        let tmp = self.dir.join(format!(
            "registry.toml.{}.{}.tmp",
            std::process::id(),
            *saves
        ));
        let written = std::fs::File::create(&tmp).and_then(|mut f| {
            std::io::Write::write_all(&mut f, text.as_bytes())?;
            f.sync_all()
        });
        if let Err(e) = written {
            let _ = std::fs::remove_file(&tmp);
            return Err(io(&tmp)(e));
        }
        let dst = self.dir.join("registry.toml");
        std::fs::rename(&tmp, &dst).map_err(io(&dst))?;
        std::fs::File::open(&self.dir)
            .and_then(|d| d.sync_all())
            .map_err(io(&self.dir))
    }

    /// Take a new checkpoint of `db` for `slave` (replacing any it had),
    /// read its seq from `seq_key` in the default column family, pin the
    /// binlog after it, and register it ACTIVE.
    ///
    /// # Errors
    /// RocksDB and file errors, [`Error::NoSeq`].
    pub fn create(&self, slave: &str, db: &DB, seq_key: &[u8]) -> Result<SnapshotInfo> {
        self.release(slave)?;
        // Pin all that is held before the checkpoint, so nothing after its
        // seq can be purged in between; then pin from its own seq.
        let early_pin = self.binlog.pin(self.binlog.first_seq());
        let path = self.dir.join(dir_name(slave));
        let _ = std::fs::remove_dir_all(&path);
        Checkpoint::new(db)?.create_checkpoint_with_log_size(&path, 0)?;
        let reader = SnapshotReader::open(&path)?;
        let seq = reader.seq(seq_key)?;
        let keys_total = reader.estimate_keys();
        drop(reader);
        let pin = self.binlog.pin(seq + 1);
        drop(early_pin);
        let entry = Entry {
            seq,
            state: State::Active,
            last_access: now_secs(),
            last_key_hex: String::new(),
            keys_sent: 0,
            bytes_sent: 0,
            keys_total,
        };
        self.lock().insert(slave.to_owned(), (entry.clone(), pin));
        self.save()?;
        info!(slave, seq, keys_total, path = %path.display(), "snapshot taken");
        Ok(SnapshotInfo { path, entry })
    }

    /// `slave`'s snapshot, if there is one.
    pub fn get(&self, slave: &str) -> Option<SnapshotInfo> {
        self.lock().get(slave).map(|(e, _)| SnapshotInfo {
            path: self.dir.join(dir_name(slave)),
            entry: e.clone(),
        })
    }

    /// Every snapshot's slave and entry.
    pub fn list(&self) -> Vec<(String, Entry)> {
        self.lock()
            .iter()
            .map(|(k, (e, _))| (k.clone(), e.clone()))
            .collect()
    }

    /// Record progress (and state) of `slave`'s copy.
    ///
    /// # Errors
    /// Registry write errors.
    pub fn update(
        &self,
        slave: &str,
        state: State,
        last_key: &[u8],
        keys_sent: u64,
        bytes_sent: u64,
    ) -> Result<()> {
        if let Some((e, _)) = self.lock().get_mut(slave) {
            e.state = state;
            e.last_key_hex = hex(last_key);
            e.keys_sent = keys_sent;
            e.bytes_sent = bytes_sent;
            e.last_access = now_secs();
        }
        self.save()
    }

    /// The last key of an entry, decoded.
    pub fn last_key(entry: &Entry) -> Vec<u8> {
        unhex(&entry.last_key_hex).unwrap_or_default()
    }

    /// Drop `slave`'s snapshot (checkpoint, registry entry, pin).
    ///
    /// # Errors
    /// File errors.
    pub fn release(&self, slave: &str) -> Result<()> {
        if self.lock().remove(slave).is_some() {
            let path = self.dir.join(dir_name(slave));
            std::fs::remove_dir_all(&path).map_err(io(&path))?;
            self.save()?;
        }
        Ok(())
    }

    /// Drop snapshots not ACTIVE and idle longer than `timeout_secs`.
    ///
    /// # Errors
    /// File errors.
    pub fn clean(&self, timeout_secs: u64) -> Result<Vec<String>> {
        let now = now_secs();
        let stale: Vec<String> = self
            .lock()
            .iter()
            .filter(|(_, (e, _))| {
                e.state != State::Active && now.saturating_sub(e.last_access) > timeout_secs
            })
            .map(|(k, _)| k.clone())
            .collect();
        for s in &stale {
            info!(slave = %s, "dropping idle snapshot");
            self.release(s)?;
        }
        Ok(stale)
    }
}

/// Encode a RAW key.
pub fn raw_key(cf: &str, key: &[u8]) -> Bytes {
    let mut v = Vec::with_capacity(1 + cf.len() + key.len());
    v.push(cf.len() as u8);
    v.extend_from_slice(cf.as_bytes());
    v.extend_from_slice(key);
    Bytes::from(v)
}

/// Decode a RAW key into its column family name and key.
pub fn split_raw_key(raw: &[u8]) -> Option<(&str, &[u8])> {
    let (&n, rest) = raw.split_first()?;
    let cf = std::str::from_utf8(rest.get(..n as usize)?).ok()?;
    Some((cf, &rest[n as usize..]))
}

/// A checkpoint opened read-only for copying.
pub struct SnapshotReader {
    db: DB,
    cfs: Vec<String>,
}

impl SnapshotReader {
    /// Open the checkpoint at `path`.
    ///
    /// # Errors
    /// RocksDB errors.
    pub fn open(path: &Path) -> Result<Self> {
        let opts = Options::default();
        let mut cfs = DB::list_cf(&opts, path)?;
        cfs.sort_by_key(|c| {
            (
                COPY_ORDER.iter().position(|o| o == c).unwrap_or(usize::MAX),
                c.clone(),
            )
        });
        // A copy reads each block once, in order: no block cache (RocksDB
        // would give every column family of every open checkpoint its
        // own 32 MiB one, which eight copies at once left in the master's
        // memory), and reads ahead instead.
        let mut table = BlockBasedOptions::default();
        table.disable_cache();
        let mut cf_opts = Options::default();
        cf_opts.set_block_based_table_factory(&table);
        let descriptors = cfs
            .iter()
            .map(|c| ColumnFamilyDescriptor::new(c, cf_opts.clone()));
        let db = DB::open_cf_descriptors_read_only(&cf_opts, path, descriptors, false)?;
        Ok(Self { db, cfs })
    }

    /// The big-endian u64 under `key` in the default column family.
    ///
    /// # Errors
    /// [`Error::NoSeq`].
    pub fn seq(&self, key: &[u8]) -> Result<u64> {
        match self.db.get(key)? {
            None => Ok(0),
            Some(v) => v
                .as_slice()
                .try_into()
                .map(u64::from_be_bytes)
                .map_err(|_| Error::NoSeq {
                    path: self.db.path().to_owned(),
                    key: String::from_utf8_lossy(key).into_owned(),
                }),
        }
    }

    /// The value under `key` in the default column family.
    ///
    /// # Errors
    /// RocksDB errors.
    pub fn get_default(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        Ok(self.db.get(key)?)
    }

    /// RocksDB's estimate of the keys in every column family.
    pub fn estimate_keys(&self) -> u64 {
        self.cfs
            .iter()
            .filter_map(|c| self.db.cf_handle(c))
            .filter_map(|h| {
                self.db
                    .property_int_value_cf(h, "rocksdb.estimate-num-keys")
                    .ok()
                    .flatten()
            })
            .sum()
    }

    /// Visit the pairs after RAW key `after` (from the start when empty) in
    /// copy order, as (RAW key, value), while `f` returns true.
    ///
    /// # Errors
    /// RocksDB errors.
    pub fn for_each_after(
        &self,
        after: &[u8],
        mut f: impl FnMut(Bytes, &[u8]) -> bool,
    ) -> Result<()> {
        let resume = if after.is_empty() {
            None
        } else {
            split_raw_key(after)
        };
        let start_cf = resume.map_or(0, |(cf, _)| {
            self.cfs.iter().position(|c| c == cf).unwrap_or(0)
        });
        for (i, cf) in self.cfs.iter().enumerate().skip(start_cf) {
            let Some(h) = self.db.cf_handle(cf) else {
                continue;
            };
            let mut ro = ReadOptions::default();
            ro.fill_cache(false);
            ro.set_readahead_size(2 << 20);
            let mut it = self.db.raw_iterator_cf_opt(h, ro);
            match resume {
                Some((rcf, key)) if i == start_cf && rcf == cf => {
                    it.seek(key);
                    if it.key() == Some(key) {
                        it.next();
                    }
                }
                _ => it.seek_to_first(),
            }
            while let (Some(k), Some(v)) = (it.key(), it.value()) {
                if !f(raw_key(cf, k), v) {
                    return Ok(());
                }
                it.next();
            }
            it.status()?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Issue 9, case 7: copies of several slaves update the registry at
    /// once; every save succeeds and the registry that is left loads with
    /// every entry (one fixed tmp name made saves fail or lose entries).
    #[test]
    fn concurrent_registry_saves_all_succeed_and_reload() {
        let tmp = tempfile::tempdir().expect("tmp");
        let mut o = Options::default();
        o.create_if_missing(true);
        let db = DB::open(&o, tmp.path().join("db")).expect("db");
        db.put(b"applied_seq", 7u64.to_be_bytes()).expect("put");
        let (w, _) = rocksync_binlog::BinlogWriter::open(rocksync_binlog::BinlogConfig::new(
            tmp.path().join("binlog"),
        ))
        .expect("binlog");
        let snaps = Snapshots::open(&tmp.path().join("snap"), w.handle()).expect("open");
        let slaves: Vec<String> = (0..8).map(|i| format!("127.0.0.1:{}", 7000 + i)).collect();
        for s in &slaves {
            snaps.create(s, &db, b"applied_seq").expect("create");
        }
        std::thread::scope(|scope| {
            for s in &slaves {
                let snaps = &snaps;
                scope.spawn(move || {
                    for n in 0..50u64 {
                        snaps
                            .update(s, State::Active, format!("k{n}").as_bytes(), n, n * 10)
                            .expect("a concurrent save");
                    }
                });
            }
        });
        drop(snaps);
        let again = Snapshots::open(&tmp.path().join("snap"), w.handle()).expect("reload");
        let listed = again.list();
        assert_eq!(listed.len(), slaves.len());
        assert!(listed.iter().all(|(_, e)| e.keys_sent == 49));
        let leftovers = std::fs::read_dir(tmp.path().join("snap"))
            .expect("dir")
            .filter(|e| {
                e.as_ref()
                    .is_ok_and(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
            })
            .count();
        assert_eq!(leftovers, 0);
    }

    #[test]
    fn raw_keys_round_trip() {
        let k = raw_key("meta", b"user:1");
        assert_eq!(split_raw_key(&k), Some(("meta", &b"user:1"[..])));
        assert_eq!(split_raw_key(&[9, b'x']), None);
        assert_eq!(unhex(&hex(b"\x00\xffab")), Some(b"\x00\xffab".to_vec()));
    }

    #[test]
    fn checkpoints_copy_in_order_resume_and_survive_reopen() {
        let tmp = tempfile::tempdir().expect("tmp");
        let mut o = Options::default();
        o.create_if_missing(true);
        o.create_missing_column_families(true);
        let db = DB::open_cf(&o, tmp.path().join("db"), ["default", "meta", "sub"]).expect("db");
        for i in 0..100u32 {
            db.put_cf(db.cf_handle("meta").expect("cf"), format!("k{i:03}"), "m")
                .expect("put");
            db.put_cf(db.cf_handle("sub").expect("cf"), format!("s{i:03}"), "s")
                .expect("put");
        }
        db.put(b"applied_seq", 42u64.to_be_bytes()).expect("put");
        let (w, _) = rocksync_binlog::BinlogWriter::open(rocksync_binlog::BinlogConfig::new(
            tmp.path().join("binlog"),
        ))
        .expect("binlog");
        let snaps = Snapshots::open(&tmp.path().join("snap"), w.handle()).expect("open");
        let info = snaps
            .create("127.0.0.1:9", &db, b"applied_seq")
            .expect("create");
        assert_eq!(info.entry.seq, 42);
        // Writes after the checkpoint are not in it.
        db.put_cf(db.cf_handle("meta").expect("cf"), "later", "x")
            .expect("put");
        let r = SnapshotReader::open(&info.path).expect("reader");
        let mut all = Vec::new();
        r.for_each_after(b"", |k, _| {
            all.push(k);
            true
        })
        .expect("iterate");
        assert_eq!(all.len(), 201);
        assert_eq!(split_raw_key(&all[0]), Some(("meta", &b"k000"[..])));
        assert_eq!(split_raw_key(&all[100]), Some(("sub", &b"s000"[..])));
        assert_eq!(
            split_raw_key(&all[200]),
            Some(("default", &b"applied_seq"[..]))
        );
        let mut rest = Vec::new();
        r.for_each_after(&all[99], |k, _| {
            rest.push(k);
            true
        })
        .expect("iterate");
        assert_eq!(rest, all[100..]);
        drop(r);
        snaps
            .update("127.0.0.1:9", State::Abort, &all[99], 100, 1000)
            .expect("update");
        snaps
            .create("127.0.0.1:10", &db, b"applied_seq")
            .expect("create");
        drop(snaps);
        // The registry survives a restart; the cleaner honours the timeout.
        let snaps = Snapshots::open(&tmp.path().join("snap"), w.handle()).expect("reopen");
        let e = snaps.get("127.0.0.1:9").expect("kept").entry;
        assert_eq!(
            (e.state, Snapshots::last_key(&e)),
            (State::Abort, all[99].to_vec())
        );
        // A copy that was running when the master stopped is a breakpoint now.
        assert_eq!(
            snaps.get("127.0.0.1:10").expect("kept").entry.state,
            State::Abort
        );
        assert!(snaps.clean(3600).expect("clean").is_empty());
        std::thread::sleep(std::time::Duration::from_millis(1100));
        assert_eq!(
            snaps.clean(0).expect("clean"),
            vec!["127.0.0.1:10".to_owned(), "127.0.0.1:9".to_owned()]
        );
        assert!(snaps.get("127.0.0.1:9").is_none());
        assert!(!info.path.exists());
    }
}
