//! BGSAVE and SAVE: backups of the store ([`rocksync_snapshot::Backups`])
//! in `backup-dir`, one at a time, off the connection tasks; and what
//! INFO persistence and LASTSAVE report of them, in Redis's words, so
//! monitoring that watches Redis's saves watches these.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use rocksync_snapshot::{Backup, BackupKeys, Backups};
use tracing::{error, info};

use crate::clock::now_ms;
use crate::config::Config;
use crate::state::Core;
use crate::storage::sys;
use crate::store::{Store, APPLIED_SEQ_KEY};

/// With backups pruned to `backup_keep`, the archived binlog before the
/// oldest backup left is of no restore's use: removed (in that backup's
/// history's directory of `binlog_archive_dir`).
fn prune_archive(config: &Config, backups: &Backups) -> rocksync_snapshot::Result<()> {
    if config.binlog_archive_dir.as_os_str().is_empty() {
        return Ok(());
    }
    let Some(oldest) = backups.list()?.into_iter().next() else {
        return Ok(());
    };
    if oldest.info.replid.is_empty() {
        return Ok(());
    }
    let dir = config.binlog_archive_dir.join(&oldest.info.replid);
    match rocksync_binlog::prune_archive(&dir, oldest.info.seq) {
        Ok(gone) if !gone.is_empty() => {
            info!(files = gone.len(), before_seq = oldest.info.seq, dir = %dir.display(), "archived binlog before the oldest backup removed");
        }
        Ok(_) => {}
        Err(e) => error!("pruning the binlog archive: {e}"),
    }
    Ok(())
}

/// The backups' state, shared by BGSAVE, SAVE, LASTSAVE and INFO.
#[derive(Debug)]
pub struct Saves {
    /// A backup runs.
    running: Mutex<bool>,
    last_ok: AtomicBool,
    /// The last good backup's time, unix seconds (the start's before any).
    last_save_secs: AtomicU64,
    /// The seq the last good backup holds (the store's at start before
    /// any): what `rdb_changes_since_last_save` counts from.
    last_seq: AtomicU64,
    /// Seconds the last backup took; -1 before any.
    last_secs: AtomicI64,
    /// When the running one started, unix ms.
    started_ms: AtomicU64,
    /// Backups taken since start.
    done: AtomicU64,
}

/// Redis's answer to a save while one runs.
pub const IN_PROGRESS: &str = "ERR Background save already in progress";
/// The answer to a save while a full copy is being received.
pub const COPYING: &str =
    "ERR a full copy from the master is in progress: the data is partial until it ends";

/// Where `config`'s backups go: `backup_dir`, or `<data_dir>/backups`.
pub fn backup_dir(config: &Config) -> PathBuf {
    if config.backup_dir.as_os_str().is_empty() {
        config.data_dir.join("backups")
    } else {
        config.backup_dir.clone()
    }
}

impl Saves {
    /// The state at start: the newest backup in `dir`, if any, is the
    /// last save; otherwise now, with the store's seq.
    pub fn new(dir: &std::path::Path, store: &Store) -> Self {
        let newest = Backups::open(dir)
            .and_then(|b| b.list())
            .ok()
            .and_then(|l| l.last().cloned());
        let (secs, seq) = match &newest {
            Some(b) => (b.info.time_ms / 1000, b.info.seq),
            None => (now_ms() / 1000, store.applied_seq().unwrap_or(0)),
        };
        Self {
            running: Mutex::new(false),
            last_ok: AtomicBool::new(true),
            last_save_secs: AtomicU64::new(secs),
            last_seq: AtomicU64::new(seq),
            last_secs: AtomicI64::new(-1),
            started_ms: AtomicU64::new(0),
            done: AtomicU64::new(0),
        }
    }

    /// LASTSAVE: the last good backup's time, unix seconds.
    pub fn last_save(&self) -> u64 {
        self.last_save_secs.load(Ordering::Relaxed)
    }

    /// INFO persistence's `rdb_*` lines (Redis's names).
    pub fn info(&self, applied_seq: u64) -> Vec<(&'static str, String)> {
        let running = *self.lock();
        let current = if running {
            (now_ms().saturating_sub(self.started_ms.load(Ordering::Relaxed)) / 1000) as i64
        } else {
            -1
        };
        vec![
            (
                "rdb_changes_since_last_save",
                applied_seq
                    .saturating_sub(self.last_seq.load(Ordering::Relaxed))
                    .to_string(),
            ),
            ("rdb_bgsave_in_progress", u8::from(running).to_string()),
            ("rdb_last_save_time", self.last_save().to_string()),
            (
                "rdb_last_bgsave_status",
                if self.last_ok.load(Ordering::Relaxed) {
                    "ok"
                } else {
                    "err"
                }
                .into(),
            ),
            (
                "rdb_last_bgsave_time_sec",
                self.last_secs.load(Ordering::Relaxed).to_string(),
            ),
            ("rdb_current_bgsave_time_sec", current.to_string()),
            ("rdb_saves", self.done.load(Ordering::Relaxed).to_string()),
        ]
    }

    fn lock(&self) -> MutexGuard<'_, bool> {
        self.running
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Take one backup now, on this thread (blocking), and prune to
    /// `backup_keep`; the state records how it went.
    fn take(&self, core: &Core) -> Result<Backup, String> {
        let config = core.config();
        let started = self.started_ms.load(Ordering::Relaxed);
        let dir = backup_dir(&config);
        info!(dir = %dir.display(), "backup started");
        let keys = BackupKeys {
            seq: APPLIED_SEQ_KEY,
            replid: sys::REPLID,
            copying: sys::COPYING,
        };
        let result = Backups::open(&dir)
            .and_then(|b| {
                // A full copy's wipe waits for the checkpoint (and the
                // checkpoint of a copy under way is refused).
                let taken = {
                    let _gate = core.store.sweep_gate();
                    b.create(core.store.db(), keys)?
                };
                b.prune(config.backup_keep as usize)?;
                if config.backup_keep > 0 {
                    prune_archive(&config, &b)?;
                }
                Ok(taken)
            })
            .map_err(|e| e.to_string());
        self.last_secs.store(
            (now_ms().saturating_sub(started) / 1000) as i64,
            Ordering::Relaxed,
        );
        match &result {
            Ok(b) => {
                self.last_ok.store(true, Ordering::Relaxed);
                self.last_save_secs
                    .store(b.info.time_ms / 1000, Ordering::Relaxed);
                self.last_seq.store(b.info.seq, Ordering::Relaxed);
                self.done.fetch_add(1, Ordering::Relaxed);
            }
            Err(e) => {
                self.last_ok.store(false, Ordering::Relaxed);
                error!("backup failed: {e}");
            }
        }
        result
    }

    /// Claim the right to run a backup: false when one runs; its start
    /// is now.
    fn claim(&self) -> bool {
        let mut running = self.lock();
        if *running {
            return false;
        }
        *running = true;
        self.started_ms.store(now_ms(), Ordering::Relaxed);
        true
    }

    fn release(&self) {
        *self.lock() = false;
    }

    /// BGSAVE [SCHEDULE]: start a backup in the background, or say why
    /// not: one runs (SCHEDULE too: as in Redis, it waits only for other
    /// kinds of background work, which there are none of here), or a full
    /// copy is being received.
    pub fn start(core: &Arc<Core>) -> Result<(), &'static str> {
        if core.is_loading() {
            return Err(COPYING);
        }
        if !core.saves.claim() {
            return Err(IN_PROGRESS);
        }
        let core = Arc::clone(core);
        tokio::task::spawn_blocking(move || {
            let _ = core.saves.take(&core);
            core.saves.release();
        });
        Ok(())
    }

    /// SAVE: a backup taken before the reply (off the connection task).
    pub async fn save(core: &Arc<Core>) -> Result<Backup, String> {
        if core.is_loading() {
            return Err(COPYING.into());
        }
        if !core.saves.claim() {
            return Err(IN_PROGRESS.into());
        }
        let c = Arc::clone(core);
        let result = tokio::task::spawn_blocking(move || c.saves.take(&c))
            .await
            .map_err(|e| format!("ERR backup task: {e}"))
            .and_then(|r| r.map_err(|e| format!("ERR {e}")));
        core.saves.release();
        result
    }
}
