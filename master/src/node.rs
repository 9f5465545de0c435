//! A node: one storage, the RESP server, the sync sessions it serves, the
//! background tasks, and a role that changes while it runs (SPEC §9).
//!
//! As a master the write path holds the storage; as a slave the
//! replication link does (the link itself comes from the crate that
//! implements [`Follower`]). `SLAVEOF` / `REPLICAOF` move the storage
//! between the two; nothing is reopened and nothing is copied unless the
//! new master's history says so.

use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use rocksync_binlog::PurgeRule;
use rocksync_protocol::Reply;
use rocksync_snapshot::Snapshots;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::{info, warn};

use crate::clock::now_ms;
use crate::config::Config;
use crate::engine;
use crate::error::{Error, Result};
use crate::link::{Follower, Following, LinkCtx};
use crate::repl::Replication;
use crate::role::{start_role, LinkState, Role};
use crate::server::Server;
use crate::slaves::Slaves;
use crate::state::Core;
use crate::storage::gc::GcCursor;
use crate::storage::Storage;
use crate::store::Cf;

/// How a node starts.
#[derive(Clone, Default)]
pub struct NodeOptions {
    /// The link implementation; `None` for a node that can only be a
    /// master (SLAVEOF is then refused).
    pub follower: Option<Arc<dyn Follower>>,
    /// The role when neither the configuration nor the data directory
    /// names one (`rocksync-slave`: following 127.0.0.1:8888).
    pub default_role: Option<Role>,
}

impl Core {
    fn ctx(self: &Arc<Self>) -> LinkCtx {
        LinkCtx {
            view: self.view.clone(),
            run_id: self.run_id.clone(),
            repl: Arc::clone(&self.repl),
            pubsub: Arc::clone(&self.pubsub),
        }
    }

    /// `SLAVEOF NO ONE`: stop following and take writes at once, in a new
    /// history that remembers the one left (replid2). A node whose copy is
    /// unfinished (partial data) is not promoted. On any failure the
    /// storage goes back to the link.
    pub async fn promote(self: &Arc<Self>) -> Reply {
        let mut following = self.following.lock().await;
        if self.stopping.load(Ordering::Relaxed) {
            return Reply::error("ERR the node is shutting down");
        }
        const PARTIAL: &str = "ERR a full copy from the master is in progress: this node's data is partial and cannot be promoted";
        if following.is_some() && self.link.copying.load(Ordering::Relaxed) {
            return Reply::error(PARTIAL);
        }
        let Some(link) = following.take() else {
            return Reply::ok();
        };
        let master_addr = link.master_addr.clone();
        let mut storage = match link.stop().await {
            Ok(s) => s,
            Err(e) => return Reply::error(format!("ERR promotion failed: {e}")),
        };
        // Checked once the link has stopped: a COPY/BEGIN may have come
        // while it was stopping.
        let partial = storage.copy_progress().map(|p| p.copying);
        if !matches!(partial, Ok(false)) {
            *following = self.relink(storage, master_addr);
            return Reply::error(PARTIAL);
        }
        match tokio::task::block_in_place(|| storage.promote()) {
            Ok(history) => {
                self.repl.set_history(history.clone());
                // Followers of the old history decide again, before any
                // write of the new one is logged.
                self.repl.end_sessions("this node was promoted");
                if let Err(storage) = self.engine.attach(storage).await {
                    let _ = storage.close();
                    return Reply::error("ERR the node is shutting down");
                }
                self.set_role(Role::Master);
                info!(replid = %history.replid, "promoted to master (SLAVEOF NO ONE)");
                Reply::ok()
            }
            Err(e) => {
                warn!(error = %e, "promotion failed; following again");
                *following = self.relink(storage, master_addr);
                Reply::error(format!("ERR promotion failed: {e}"))
            }
        }
    }

    /// `SLAVEOF host port`: refuse writes from now on and follow
    /// `master_addr`; the storage moves from the write path (or the old
    /// link) to a new link. A copy breakpoint from another master is
    /// forgotten (its snapshot is not this master's). On any failure the
    /// storage goes back where it was.
    pub async fn follow(self: &Arc<Self>, master_addr: String) -> Reply {
        if self.follower.is_none() {
            return Reply::error("ERR this node cannot follow a master (no replication link)");
        }
        let mut following = self.following.lock().await;
        if self.stopping.load(Ordering::Relaxed) {
            return Reply::error("ERR the node is shutting down");
        }
        if following
            .as_ref()
            .is_some_and(|f| f.master_addr == master_addr)
        {
            return Reply::Simple("OK Already connected to specified master".into());
        }
        let previous = self.role();
        self.set_role(Role::Slave {
            master_addr: master_addr.clone(),
        });
        let (storage, old_master) = match following.take() {
            Some(link) => {
                let old = link.master_addr.clone();
                (link.stop().await, Some(old))
            }
            None => (self.engine.detach().await.ok_or(Error::Stopped), None),
        };
        let mut storage = match storage {
            Ok(s) => s,
            Err(e) => {
                self.set_role(previous);
                return Reply::error(format!("ERR SLAVEOF failed: {e}"));
            }
        };
        if let Err(e) = tokio::task::block_in_place(|| storage.save_role(Some(&master_addr), true))
        {
            warn!(error = %e, "SLAVEOF failed");
            match old_master {
                Some(old) => *following = self.relink(storage, old),
                None => {
                    if let Err(storage) = self.engine.attach(storage).await {
                        let _ = storage.close();
                    }
                }
            }
            self.set_role(previous);
            return Reply::error(format!("ERR SLAVEOF failed: {e}"));
        }
        info!(master = %master_addr, "following a master (SLAVEOF)");
        self.link.set_last_key(Bytes::new());
        *following = self.relink(storage, master_addr);
        Reply::ok()
    }

    /// A new link following `master_addr` with `storage`; without a
    /// follower (a node that never had a link) the storage is closed.
    fn relink(self: &Arc<Self>, storage: Storage, master_addr: String) -> Option<Following> {
        self.link.set_up(false);
        let Some(follower) = self.follower.clone() else {
            warn!("no replication link to hand the storage to; closing it");
            if let Err(e) = storage.close() {
                warn!(error = %e, "closing the storage");
            }
            return None;
        };
        Some(start_link(self, follower.as_ref(), storage, master_addr))
    }

    /// Stop the link, if any, and hand back its storage; no role change
    /// starts after this.
    async fn stop_following(&self) -> Option<Result<Storage>> {
        let mut following = self.following.lock().await;
        self.stopping.store(true, Ordering::Relaxed);
        let link = following.take()?;
        Some(link.stop().await)
    }
}

fn start_link(
    core: &Arc<Core>,
    follower: &dyn Follower,
    storage: Storage,
    master_addr: String,
) -> Following {
    let cancel = CancellationToken::new();
    let task = follower.follow(storage, master_addr.clone(), core.ctx(), cancel.clone());
    Following {
        master_addr,
        cancel,
        task,
    }
}

/// A running node.
pub struct Node {
    server: Server,
    core: Arc<Core>,
    cancel: CancellationToken,
    tasks: TaskTracker,
}

impl Node {
    /// Open storage, recover, start serving, and take the start role
    /// ([`start_role`]).
    ///
    /// # Errors
    /// Storage errors, or the listen address being unavailable.
    pub async fn start(mut config: Config, opts: NodeOptions) -> Result<Self> {
        if let Err(e) = crate::fds::fit(config.maxclients) {
            if config.maxclients != Config::default().maxclients {
                return Err(Error::Config(e));
            }
            let fits = crate::fds::most_clients();
            warn!(reason = %e, maxclients = fits, "lowering the default maxclients to what the open-file limit allows");
            config.maxclients = fits;
        }
        let mut storage = Storage::open(&config)?;
        let history = storage.history()?;
        let saved = storage.saved_role()?;
        let role = start_role(&config, saved.clone(), opts.default_role.clone());
        if let (Role::Slave { .. }, None) = (&role, &opts.follower) {
            return Err(Error::Config(
                "master_addr: this binary cannot follow a master".into(),
            ));
        }
        let progress = storage.copy_progress()?;
        if role == Role::Master && progress.copying {
            return Err(Error::Config(format!(
                "{} holds a partial copy from a master; start it following a master (master_addr) to finish the copy",
                config.data_dir.display()
            )));
        }
        if saved != Some(role.master_addr().map(str::to_owned)) {
            storage.save_role(role.master_addr(), true)?;
        }
        let store = Arc::clone(storage.store());
        let binlog = storage.binlog();
        let link = Arc::new(LinkState::from_progress(&progress, storage.last_seq()));
        let snapshots = Snapshots::open(&config.data_dir.join("snapshots"), binlog.clone())?;
        let slaves = Arc::new(Slaves::default());
        slaves.configure(&config);
        let repl = Replication::new(
            Arc::clone(&store),
            binlog.clone(),
            snapshots,
            history,
            Arc::clone(&slaves),
        );
        let (engine, storage) = match role {
            Role::Master => (
                engine::start(Arc::clone(&store), binlog.clone(), Some(storage), slaves)?,
                None,
            ),
            Role::Slave { .. } => {
                let engine = engine::start(Arc::clone(&store), binlog.clone(), None, slaves)?;
                // The link's commits touch the same WATCHes.
                storage.share_listeners(Arc::clone(&engine.watches), Arc::clone(&engine.tracking));
                storage.share_blocked(Arc::clone(&engine.blocked));
                (engine, Some(storage))
            }
        };
        engine.command_stats.init(crate::command::all_names());
        let acl = crate::acl::Acl::from_config(&config).map_err(Error::Config)?;
        let tls = crate::tls::Tls::default();
        tls.configure(&config).map_err(Error::Config)?;
        let core = Core::new(
            store,
            binlog,
            engine,
            repl,
            link,
            config,
            role.clone(),
            opts.follower.clone(),
            acl,
            tls,
        );
        let cancel = CancellationToken::new();
        // Role changes wait until the link is running: a SLAVEOF that comes
        // as soon as the port answers finds it.
        let mut following = core.following.lock().await;
        let server = Server::start(Arc::clone(&core), cancel.clone())
            .await
            .map_err(|source| Error::Io {
                path: "listen address".into(),
                source,
            })?;
        if let (Some(storage), Some(follower), Role::Slave { master_addr }) =
            (storage, &opts.follower, role)
        {
            *following = Some(start_link(&core, follower.as_ref(), storage, master_addr));
        }
        drop(following);
        let tasks = TaskTracker::new();
        tasks.spawn(sweep_expired(Arc::clone(&core), cancel.clone()));
        tasks.spawn(purge_binlog(Arc::clone(&core), cancel.clone()));
        tasks.spawn(clean_snapshots(Arc::clone(&core), cancel.clone()));
        tasks.spawn(collect_garbage(Arc::clone(&core), cancel.clone()));
        Ok(Self {
            server,
            core,
            cancel,
            tasks,
        })
    }

    /// Returns once a client sent SHUTDOWN: the caller stops the node
    /// (with [`Node::shutdown`]) as it does on SIGTERM.
    pub async fn shutdown_requested(&self) {
        self.core.shutdown_asked.cancelled().await;
    }

    /// The address clients connect to.
    pub fn local_addr(&self) -> SocketAddr {
        self.server.local_addr()
    }

    /// The role now.
    pub fn role(&self) -> Role {
        self.core.role()
    }

    /// The replication link's state.
    pub fn link_state(&self) -> &Arc<LinkState> {
        &self.core.link
    }

    /// Clean shutdown: stop accepting, finish in-flight commands, stop the
    /// link, write STOP, flush the database.
    ///
    /// # Errors
    /// Binlog or RocksDB errors while closing.
    pub async fn shutdown(self) -> Result<()> {
        // A running script stops (even one that wrote: its writes are
        // dropped), or the write path could never be stopped.
        self.core.engine.scripts.abort();
        self.server.shutdown().await;
        self.core.repl.shutdown().await;
        self.cancel.cancel();
        self.tasks.close();
        self.tasks.wait().await;
        let from_link = self.core.stop_following().await;
        self.core.engine.stop().await?;
        if let Some(storage) = from_link {
            storage?.close()?;
        }
        info!("node stopped");
        Ok(())
    }
}

/// Every 30 s (or `snapshot_timeout`, when shorter), drop snapshots that
/// are not ACTIVE and idle longer than `snapshot_timeout`, on masters and
/// slaves alike: a slave serves chained copies, and an abandoned one must
/// not pin its binlog forever (issue 9, case 8).
async fn clean_snapshots(core: Arc<Core>, cancel: CancellationToken) {
    loop {
        let timeout = core.config().snapshot_timeout;
        let every = Duration::from_secs(timeout.clamp(1, 30));
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = cancel.cancelled() => return,
        }
        let repl = Arc::clone(&core.repl);
        let _ = tokio::task::spawn_blocking(move || repl.clean(timeout)).await;
    }
}

/// Sweep stale members of deleted or overwritten collections (see
/// `store::gc`): a slice of 10 000 sub-keys every 100 ms, then 10 s of
/// rest after each whole pass. A pass starts only when a write has left
/// members stale since the last pass began ([`Store::garbage`]), after a
/// full copy, when the node starts, or when the last pass is
/// [`GC_SAFETY_PASS`] old: a store of live collections is not read
/// through again and again, which with data larger than memory would also
/// be disk reads evicting the block cache.
///
/// [`Store::garbage`]: crate::store::Store::garbage
async fn collect_garbage(core: Arc<Core>, cancel: CancellationToken) {
    let store = Arc::clone(&core.store);
    let mut cursor = GcCursor::default();
    let mut tick = tokio::time::interval(Duration::from_millis(100));
    // After the rest between passes (or a slow slice), the next slice
    // waits its 100 ms rather than the missed ticks firing back to back.
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    // The garbage count when the last whole pass began (None: sweep).
    let mut swept: Option<u64> = None;
    // The count when the pass under way began.
    let mut began = 0;
    let mut last_pass = std::time::Instant::now();
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = cancel.cancelled() => return,
        }
        if cursor == GcCursor::default() {
            let now = store.garbage();
            let due = last_pass.elapsed() >= GC_SAFETY_PASS;
            if swept == Some(now) && !due {
                continue;
            }
            began = now;
        }
        let s = Arc::clone(&store);
        let c = cursor.clone();
        let link = Arc::clone(&core.link);
        let slice = move || {
            let _gate = s.sweep_gate();
            if link.copying.load(Ordering::Relaxed) {
                // A copy's data is not whole: sweep again after it.
                return Ok(None);
            }
            crate::storage::gc::sweep(&s, &c, 10_000).map(Some)
        };
        match tokio::task::spawn_blocking(slice).await {
            Ok(Ok(None)) => {
                cursor = GcCursor::default();
                swept = None;
            }
            Ok(Ok(Some((_, next)))) => {
                let pass_done = next == GcCursor::default();
                cursor = next;
                if pass_done {
                    store.note_gc_pass();
                    swept = Some(began);
                    last_pass = std::time::Instant::now();
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

/// The longest the garbage sweep rests while no write is known to have
/// left members stale: a safety net for stale members no count saw.
const GC_SAFETY_PASS: Duration = Duration::from_secs(600);

/// Every 100 ms on a master, delete keys whose expiry has passed (found
/// through the expiry index, so the cost is the number of expired keys).
async fn sweep_expired(core: Arc<Core>, cancel: CancellationToken) {
    let mut tick = tokio::time::interval(Duration::from_millis(100));
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = cancel.cancelled() => return,
        }
        if core.is_read_only() {
            continue;
        }
        let now = now_ms();
        let mut due = Vec::new();
        let scanned = core.store.scan(Cf::Expire, &[], &[], |k, _| {
            let at = crate::store::keys::be_u64(&k[..8.min(k.len())]).unwrap_or(u64::MAX);
            if at > now || due.len() >= 1000 {
                return false;
            }
            due.push((at, Bytes::copy_from_slice(&k[8..])));
            true
        });
        if let Err(e) = scanned {
            warn!(error = %e, "expiry sweep");
            continue;
        }
        if !due.is_empty() {
            core.engine.expire(due).await;
        }
    }
}

/// Purge binlog files by age and size budget, keeping what the database
/// would need to recover (its memtables are flushed first) and what
/// slaves are reading; every 10 s, and at once when a new binlog file
/// starts. Then a slave that would keep the files past the budget is
/// dropped first (see [`crate::budget`]), so the directory stays within
/// the budget and about one file. Every tick, slaves past the replica
/// class of `client-output-buffer-limit` are dropped. Masters and slaves (whose binlogs serve
/// chained slaves) both run it.
async fn purge_binlog(core: Arc<Core>, cancel: CancellationToken) {
    let mut tick = tokio::time::interval(Duration::from_millis(20));
    let mut active = None;
    let mut last = tokio::time::Instant::now();
    let (mut marked_at, mut marked_seq) = (tokio::time::Instant::now(), 0);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = cancel.cancelled() => return,
        }
        // The time index: once a second while the binlog grows.
        if marked_at.elapsed() >= Duration::from_secs(1) {
            marked_at = tokio::time::Instant::now();
            let seq = core.binlog.last_seq();
            if seq != marked_seq {
                marked_seq = seq;
                if let Err(e) = core.binlog.record_time(seq, now_ms()) {
                    warn!(error = %e, "binlog time index");
                }
            }
        }
        let cfg = core.config();
        crate::budget::enforce_output_limit(
            &core.repl,
            &core.binlog,
            cfg.client_output_buffer_limit.replica,
        );
        let now_active = core.binlog.committed().pos.segment;
        let rotated = active.replace(now_active) != Some(now_active);
        let due = last.elapsed() >= Duration::from_secs(10);
        if !rotated && !due {
            continue;
        }
        // A new file within the budget waits for the 10 s pace to be
        // purged (a purge flushes the memtables first), not to be
        // archived.
        let over = (cfg.binlog_budget > 0)
            .then(|| crate::budget::keep_from(&core.binlog, cfg.binlog_budget))
            .flatten();
        let archive = archive_dir(&core);
        let purge_now = due || over.is_some();
        if !purge_now && archive.is_none() {
            continue;
        }
        if purge_now {
            last = tokio::time::Instant::now();
        }
        let mut rules = Vec::new();
        if purge_now && cfg.purge_logs_span > 0 {
            rules.push(PurgeRule::OlderThan(Duration::from_secs(
                cfg.purge_logs_span,
            )));
        }
        if purge_now && cfg.binlog_budget > 0 {
            if let Some(keep) = over {
                let dropped = crate::budget::drop_holders(&core.repl, keep);
                // Their leases go when their sessions end.
                let deadline = tokio::time::Instant::now() + Duration::from_secs(2);
                while tokio::time::Instant::now() < deadline
                    && core
                        .repl
                        .slaves()
                        .iter()
                        .any(|s| dropped.iter().any(|d| Arc::ptr_eq(s, d)))
                {
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
            }
            rules.push(PurgeRule::Budget(cfg.binlog_budget));
        }
        if (rules.is_empty() && archive.is_none()) || core.binlog.segments().len() < 2 {
            continue;
        }
        let store = Arc::clone(&core.store);
        let binlog = core.binlog.clone();
        let at_copy = Arc::clone(&core);
        let result = tokio::task::spawn_blocking(move || -> Result<u64> {
            // (a test holds the archive here while the node is promoted)
            rocksync_failpoint::pause("node.archive");
            // The history as of the copy, not as of the tick: a promotion
            // in between must not send new files to the old directory.
            let archive = archive.and_then(|_| archive_dir(&at_copy));
            let keep = archived_before(&binlog, archive.as_ref());
            if rules.is_empty() {
                return Ok(0);
            }
            let applied = store.applied_seq()?;
            store.flush()?;
            let mut removed = 0;
            for rule in rules {
                removed += binlog.purge(&rule, (applied + 1).min(keep))?.removed.len() as u64;
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

/// Where this node archives its binlog, when `binlog_archive_dir` is
/// set: a directory per replication history under it, so that files of
/// two histories never meet (a restored node, a slave that full-copied
/// from another master, a promoted slave).
pub(crate) fn archive_dir(core: &Core) -> Option<ArchiveDirs> {
    let cfg = core.config();
    (!cfg.binlog_archive_dir.as_os_str().is_empty()).then(|| ArchiveDirs {
        base: cfg.binlog_archive_dir.clone(),
        history: core.repl.history(),
    })
}

/// The archive and the node's history: a file goes to the directory of
/// the history its seqs belong to (after a promotion, files that end at
/// or before the switch are the old history's, whenever they are copied).
pub(crate) struct ArchiveDirs {
    base: std::path::PathBuf,
    history: crate::storage::History,
}

impl ArchiveDirs {
    /// The directory of a file whose last data seq is `last`.
    fn of(&self, last: u64) -> std::path::PathBuf {
        let replid = match &self.history.previous {
            Some((old, left_at)) if last <= *left_at => old,
            _ => &self.history.replid,
        };
        self.base.join(replid)
    }
}

/// Archive the sealed binlog files into `dir` (when set) and return the
/// first seq purge must keep for it: what is not archived stays (all of
/// the binlog when archiving fails, as on a full disk). Blocking.
pub(crate) fn archived_before(binlog: &rocksync_binlog::Binlog, dirs: Option<&ArchiveDirs>) -> u64 {
    let Some(dirs) = dirs else {
        return u64::MAX;
    };
    match binlog.archive_by(&|last| dirs.of(last)) {
        Ok(r) => {
            if !r.copied.is_empty() {
                info!(files = r.copied.len(), bytes = r.bytes, dir = %dirs.base.display(), "binlog archived");
            }
            r.keep_from
        }
        Err(e) => {
            warn!(error = %e, dir = %dirs.base.display(), "binlog archive failed: nothing is purged until it works");
            binlog.first_seq()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_explicit_setting_wins_then_the_saved_role_then_the_default() {
        let slave_default = Some(Role::Slave {
            master_addr: "127.0.0.1:8888".into(),
        });
        let mut c = Config::default();
        assert_eq!(start_role(&c, None, None), Role::Master);
        assert_eq!(
            start_role(&c, None, slave_default.clone()),
            slave_default.clone().expect("role")
        );
        assert_eq!(
            start_role(&c, Some(None), slave_default.clone()),
            Role::Master
        );
        assert_eq!(
            start_role(&c, Some(Some("h:1".into())), None),
            Role::Slave {
                master_addr: "h:1".into()
            }
        );
        c.master_addr = Some("h:2".into());
        assert_eq!(
            start_role(&c, Some(None), None),
            Role::Slave {
                master_addr: "h:2".into()
            }
        );
        c.master_addr = Some("no one".into());
        assert_eq!(
            start_role(&c, Some(Some("h:1".into())), slave_default),
            Role::Master
        );
    }
}
