//! The assembled master: store, recovery, write path, server, and the
//! background tasks (expiry sweep, binlog purge).

use std::fmt::Write;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use rocksync_binlog::{BinlogConfig, BinlogWriter, PurgeRule};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::{info, warn};

use crate::config::Config;
use crate::engine::{self, now_ms, Engine};
use crate::error::{Error, Result};
use crate::repl::Replication;
use crate::server::{Core, Handoff, ReplyFuture, Role, Server};
use crate::store::{Cf, Store, StoreOptions};
use rocksync_snapshot::Snapshots;

/// System key of the replication id.
pub const REPLID_KEY: &[u8] = b"replid";

/// A fresh 40-hex-digit replication id.
pub fn new_replid() -> String {
    use std::hash::{BuildHasher, Hasher};
    let mut out = String::with_capacity(40);
    let mut n = 0u64;
    while out.len() < 40 {
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u64(now_ms() ^ n);
        h.write_u32(std::process::id());
        let _ = write!(out, "{:016x}", h.finish());
        n += 1;
    }
    out.truncate(40);
    out
}

/// The store's replid, made (and made durable) on first use.
///
/// # Errors
/// RocksDB errors.
pub fn load_or_create_replid(store: &Store) -> Result<String> {
    if let Some(v) = store.get_sys(REPLID_KEY)? {
        if let Ok(s) = String::from_utf8(v) {
            if rocksync_protocol::is_valid_replid(&s) {
                return Ok(s);
            }
        }
    }
    let id = new_replid();
    store.put_sys(REPLID_KEY, id.as_bytes())?;
    store.flush()?;
    Ok(id)
}

/// System key: the boot id of the machine at the last start.
pub const BOOT_ID_KEY: &[u8] = b"boot_id";

/// This boot of the machine (Linux), if known.
fn boot_id() -> Option<String> {
    std::fs::read_to_string("/proc/sys/kernel/random/boot_id")
        .ok()
        .map(|s| s.trim().to_owned())
}

/// After an unclean stop across a reboot of the machine, with a binlog not
/// fsynced on every append, slaves may hold events this node lost with the
/// OS's cache; the node then starts a new history (a new replid), so those
/// slaves are full-copied instead of silently diverging. A process crash
/// alone loses nothing (the OS kept the writes) and keeps the history.
fn new_history_if_os_lost_writes(store: &Store, config: &Config, clean: bool) -> Result<()> {
    let now = boot_id();
    let before = store
        .get_sys(BOOT_ID_KEY)?
        .and_then(|v| String::from_utf8(v).ok());
    let rebooted = matches!((&before, &now), (Some(b), Some(n)) if b != n);
    if !clean && rebooted && config.binlog_fsync != rocksync_binlog::FsyncPolicy::Always {
        warn!(
            "unclean stop across a reboot with binlog_fsync={}: starting a new replication history",
            config.binlog_fsync
        );
        store.put_sys(REPLID_KEY, new_replid().as_bytes())?;
    }
    if let Some(n) = now {
        store.put_sys(BOOT_ID_KEY, n.as_bytes())?;
    }
    store.flush()
}

/// Open the store and the binlog of `config` and bring them level.
///
/// # Errors
/// Store, binlog and recovery errors.
pub fn open_storage(config: &Config) -> Result<(Arc<Store>, BinlogWriter)> {
    std::fs::create_dir_all(&config.data_dir).map_err(|source| Error::Io {
        path: config.data_dir.clone(),
        source,
    })?;
    let opts = StoreOptions {
        wal: config.rocksdb_wal,
        ..StoreOptions::default()
    };
    let store = Arc::new(Store::open(&config.db_dir(), &opts)?);
    let bcfg = BinlogConfig {
        dir: config.binlog_dir(),
        max_binlog_size_bytes: config.max_binlog_size,
        fsync: config.binlog_fsync,
    };
    let (mut writer, rec) = BinlogWriter::open(bcfg)?;
    if let Some((path, torn)) = &rec.truncated {
        warn!(file = %path.display(), offset = torn.offset, bytes = torn.bytes, "cut a torn binlog tail");
    }
    engine::recover(&store, &mut writer)?;
    new_history_if_os_lost_writes(&store, config, rec.clean_shutdown)?;
    Ok((store, writer))
}

struct MasterRole {
    repl: Arc<Replication>,
}

impl Role for MasterRole {
    fn replication_info(&self, _core: &Core, out: &mut String) {
        self.repl.info(out);
    }

    fn stats_info(&self, out: &mut String) {
        self.repl.stats(out);
    }

    fn takes_over(&self, name: &[u8]) -> bool {
        name == b"sync140"
    }

    fn handoff(&self, core: &Arc<Core>, h: Handoff) {
        self.repl.spawn_session(core, h);
    }

    fn command<'a>(&'a self, core: &'a Core, args: &'a [Bytes]) -> Option<ReplyFuture<'a>> {
        if args[0].eq_ignore_ascii_case(b"wait") {
            return Some(Box::pin(crate::repl::wait_command(&self.repl, args)));
        }
        if args[0].eq_ignore_ascii_case(b"purge") {
            return Some(Box::pin(purge_command(core, args)));
        }
        None
    }
}

/// `PURGE LOGS TO <file>`: remove the binlog files before `<file>`
/// (never the active one, one a slave is reading, or events the database
/// still needs to recover); answers how many files were removed.
async fn purge_command(core: &Core, args: &[Bytes]) -> rocksync_protocol::Reply {
    use rocksync_protocol::Reply;
    let ok = args.len() == 4
        && args[1].eq_ignore_ascii_case(b"logs")
        && args[2].eq_ignore_ascii_case(b"to");
    if !ok {
        return Reply::error("ERR syntax error: PURGE LOGS TO <file>");
    }
    let Some(engine) = core.engine.clone() else {
        return Reply::error("ERR no binlog");
    };
    let Some(target) = std::str::from_utf8(&args[3])
        .ok()
        .and_then(rocksync_binlog::SegmentId::from_file_name)
    else {
        return Reply::error(format!(
            "ERR no binlog file named {}",
            String::from_utf8_lossy(&args[3])
        ));
    };
    let store = Arc::clone(&core.store);
    let result = tokio::task::spawn_blocking(move || -> Result<usize> {
        let applied = store.applied_seq()?;
        store.flush()?;
        Ok(engine
            .binlog
            .purge(&PurgeRule::To(target), applied + 1)?
            .removed
            .len())
    })
    .await;
    match result {
        Ok(Ok(n)) => Reply::Integer(n as i64),
        Ok(Err(e)) => Reply::error(format!("ERR {e}")),
        Err(e) => Reply::error(format!("ERR {e}")),
    }
}

/// A running master.
pub struct Master {
    server: Server,
    engine: Engine,
    repl: Arc<Replication>,
    cancel: CancellationToken,
    tasks: TaskTracker,
}

impl Master {
    /// Open storage, recover, and start serving.
    ///
    /// # Errors
    /// Storage errors, or the listen address being unavailable.
    pub async fn start(config: Config) -> Result<Self> {
        let (store, writer) = open_storage(&config)?;
        let replid = load_or_create_replid(&store)?;
        let engine = engine::start(Arc::clone(&store), writer)?;
        let snapshots = Snapshots::open(&config.data_dir.join("snapshots"), engine.binlog.clone())?;
        let repl = Replication::new(
            Arc::clone(&store),
            engine.binlog.clone(),
            snapshots,
            replid.clone(),
        );
        let role = Arc::new(MasterRole {
            repl: Arc::clone(&repl),
        });
        let core = Core::new(
            Arc::clone(&store),
            Some(engine.clone()),
            config,
            role,
            replid,
        );
        let cancel = CancellationToken::new();
        let server = Server::start(Arc::clone(&core), cancel.clone())
            .await
            .map_err(|source| Error::Io {
                path: "listen address".into(),
                source,
            })?;
        let tasks = TaskTracker::new();
        tasks.spawn(sweep_expired(
            Arc::clone(&core),
            engine.clone(),
            cancel.clone(),
        ));
        tasks.spawn(purge_binlog(
            Arc::clone(&core),
            engine.binlog.clone(),
            cancel.clone(),
        ));
        tasks.spawn(clean_snapshots(
            Arc::clone(&core),
            Arc::clone(&repl),
            cancel.clone(),
        ));
        tasks.spawn(collect_garbage(Arc::clone(&store), cancel.clone()));
        Ok(Self {
            server,
            engine,
            repl,
            cancel,
            tasks,
        })
    }

    /// The address clients connect to.
    pub fn local_addr(&self) -> SocketAddr {
        self.server.local_addr()
    }

    /// The server's shared core.
    pub fn core(&self) -> &Arc<Core> {
        self.server.core()
    }

    /// Clean shutdown: stop accepting, finish in-flight commands, write
    /// STOP, flush the database.
    ///
    /// # Errors
    /// Binlog or RocksDB errors while closing.
    pub async fn shutdown(self) -> Result<()> {
        self.server.shutdown().await;
        self.repl.shutdown().await;
        self.cancel.cancel();
        self.tasks.close();
        self.tasks.wait().await;
        self.engine.stop().await?;
        info!("master stopped");
        Ok(())
    }
}

/// Every 30 s, drop snapshots that are not ACTIVE and idle longer than
/// `snapshot_timeout`.
async fn clean_snapshots(core: Arc<Core>, repl: Arc<Replication>, cancel: CancellationToken) {
    let mut tick = tokio::time::interval(Duration::from_secs(30));
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = cancel.cancelled() => return,
        }
        let timeout = core.config().snapshot_timeout;
        let repl = Arc::clone(&repl);
        let _ = tokio::task::spawn_blocking(move || repl.clean(timeout)).await;
    }
}

/// Sweep stale members of deleted or overwritten collections (see
/// `store::gc`): a slice of 10 000 sub-keys every 100 ms, then 10 s of
/// rest after each whole pass.
pub async fn collect_garbage(store: Arc<Store>, cancel: CancellationToken) {
    let mut cursor = crate::store::gc::GcCursor::default();
    let mut tick = tokio::time::interval(Duration::from_millis(100));
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = cancel.cancelled() => return,
        }
        let s = Arc::clone(&store);
        let c = cursor.clone();
        match tokio::task::spawn_blocking(move || crate::store::gc::sweep(&s, &c, 10_000)).await {
            Ok(Ok((_, next))) => {
                let pass_done = next == crate::store::gc::GcCursor::default();
                cursor = next;
                if pass_done {
                    // A whole pass is done: rest before the next one.
                    tokio::select! {
                        _ = tokio::time::sleep(Duration::from_secs(10)) => {}
                        _ = cancel.cancelled() => return,
                    }
                }
            }
            Ok(Err(e)) => warn!(error = %e, "garbage sweep"),
            Err(e) => warn!(error = %e, "garbage sweep task"),
        }
    }
}

/// Every 100 ms, delete keys whose expiry has passed (found through the
/// expiry index, so the cost is the number of expired keys).
async fn sweep_expired(core: Arc<Core>, engine: Engine, cancel: CancellationToken) {
    let mut tick = tokio::time::interval(Duration::from_millis(100));
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = cancel.cancelled() => return,
        }
        let now = now_ms();
        let mut due = Vec::new();
        let scanned = core.store.scan(Cf::Expire, &[], &[], |k, _| {
            let at = crate::store::keys::be_u64(&k[..8.min(k.len())]).unwrap_or(u64::MAX);
            if at > now || due.len() >= 1000 {
                return false;
            }
            due.push(Bytes::copy_from_slice(&k[8..]));
            true
        });
        if let Err(e) = scanned {
            warn!(error = %e, "expiry sweep");
            continue;
        }
        if !due.is_empty() {
            engine.expire(due).await;
        }
    }
}

/// Every 10 s, purge binlog files by age and size budget, keeping what
/// the database would need to recover (its memtables are flushed first)
/// and what slaves are reading. Masters and slaves (whose binlogs serve
/// chained slaves) both run it.
pub async fn purge_binlog(
    core: Arc<Core>,
    binlog: rocksync_binlog::Binlog,
    cancel: CancellationToken,
) {
    let mut tick = tokio::time::interval(Duration::from_secs(10));
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = cancel.cancelled() => return,
        }
        let cfg = core.config();
        let mut rules = Vec::new();
        if cfg.purge_logs_span > 0 {
            rules.push(PurgeRule::OlderThan(Duration::from_secs(
                cfg.purge_logs_span,
            )));
        }
        if cfg.binlog_budget > 0 {
            rules.push(PurgeRule::Budget(cfg.binlog_budget));
        }
        if rules.is_empty() || binlog.segments().len() < 2 {
            continue;
        }
        let store = Arc::clone(&core.store);
        let binlog = binlog.clone();
        let result = tokio::task::spawn_blocking(move || -> Result<u64> {
            let applied = store.applied_seq()?;
            store.flush()?;
            let mut removed = 0;
            for rule in rules {
                removed += binlog.purge(&rule, applied + 1)?.removed.len() as u64;
            }
            Ok(removed)
        })
        .await;
        match result {
            Ok(Ok(0)) => {}
            Ok(Ok(n)) => info!(files = n, "binlog purge"),
            Ok(Err(e)) => warn!(error = %e, "binlog purge failed"),
            Err(e) => warn!(error = %e, "binlog purge task failed"),
        }
    }
}
