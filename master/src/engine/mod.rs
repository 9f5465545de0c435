//! The write path (SPEC §2): write commands execute one group at a time,
//! in arrival order, and each group commits as one binlog append (one
//! fsync under `always`) and one RocksDB write batch, carrying data and
//! `applied_seq`, for all the commands that arrived while the previous
//! group committed. Replies leave only after their group is durable per
//! the fsync policy.
//!
//! There is no write thread: the first connection task to queue a job
//! while no group runs becomes the leader, executes every job queued so
//! far as one group (its own among them), commits it and answers the
//! others, as RocksDB's write group does. Jobs queued meanwhile wait for
//! the next leader: a task spawned for them, so the leader's own client is
//! answered without waiting for later groups. A write thus costs no thread
//! hop, and the runtime spreads groups and connections over its workers.
//!
//! The leader holds the node's [`Storage`] while the node is a master;
//! a role change detaches it (for the replication link) and attaches it
//! back, and writes meanwhile are refused as on a read-only replica. Also
//! here: the expiry of keys found by the sweeper.

mod group;
mod job;
mod script;

use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::Arc;

use bytes::Bytes;
use rocksync_binlog::Binlog;
use rocksync_protocol::Reply;
use tokio::sync::oneshot;
use tracing::error;

use group::Executor;
pub use job::{Done, WriteCmd, WriteStats, READONLY};
use job::{Job, MAX_GROUP_EVENTS};
pub use script::{Callee, ScriptJob};

use crate::blocking::{BlockStart, Blocked};
use crate::cmd::Cursors;
use crate::error::{Error, Result};
use crate::latency::{CommandStats, LatencyMonitor};
use crate::lock;
use crate::preread::{PreRead, Written};
use crate::script::{Functions, Scripts};
use crate::slaves::Slaves;
use crate::storage::Storage;
use crate::store::Store;
use crate::tracking::Tracking;
use crate::watch::{Watch, Watches};

/// A handle to send writes to the write path.
#[derive(Clone)]
pub struct Engine {
    shared: Arc<Shared>,
    /// The binlog's read side.
    pub binlog: Binlog,
    /// Counters.
    pub stats: Arc<WriteStats>,
    /// SCAN cursors (shared with the server: a SCAN inside an EXEC runs
    /// here).
    pub cursors: Arc<Cursors>,
    /// Clients' WATCHes, which committed writes touch.
    pub watches: Arc<Watches>,
    /// Clients' CLIENT TRACKING, invalidated by the storage's commits.
    pub tracking: Arc<Tracking>,
    /// The scripts loaded (SCRIPT LOAD, EVAL), and whether one runs.
    pub scripts: Arc<Scripts>,
    /// The function libraries' catalog (FUNCTION, FCALL).
    pub functions: Arc<Functions>,
    /// Clients blocked in BLPOP and its kin.
    pub blocked: Arc<Blocked>,
    /// The slow-log threshold, microseconds (negative: none).
    pub slow_us: Arc<AtomicI64>,
    /// The configured sizes commands follow (`hll-sparse-max-bytes`,
    /// `stream-node-max-*`).
    pub limits: Arc<crate::cmd::Limits>,
    /// Per-command counters (INFO commandstats, LATENCY HISTOGRAM).
    pub command_stats: Arc<CommandStats>,
    /// The latency monitor (LATENCY).
    pub latency: Arc<LatencyMonitor>,
    /// The slaves this node serves, whose acks the replication guarantees
    /// (`min-replicas-to-write`, `sync-replicas`) wait on.
    pub slaves: Arc<Slaves>,
}

impl Engine {
    /// Execute write commands in order; their replies, after commit.
    /// `atomic` (an EXEC): they are one unit, in one batch, their events
    /// sealed as one command, so the binlog, recovery and every slave take
    /// all of them or none.
    ///
    /// With `sync-replicas` set, the replies wait until that many slaves
    /// have applied the writes; those that do not in time answer
    /// `-NOREPLICAS` instead (errors stay: they wrote nothing).
    pub async fn write(&self, cmds: Vec<WriteCmd>, atomic: bool) -> Vec<Reply> {
        self.write_timed(cmds, atomic).await.replies
    }

    /// As [`Engine::write`], with the slow commands.
    pub async fn write_timed(&self, cmds: Vec<WriteCmd>, atomic: bool) -> Done {
        let mut done = self.submit(cmds, atomic, None).await;
        if let Some(why) = self.acked(&mut done).await {
            for r in &mut done.replies {
                if !matches!(r, Reply::Error(_)) {
                    *r = Reply::error(why.clone());
                }
            }
        }
        done
    }

    /// An EXEC: `cmds` as one unit (see [`Engine::write`]), unless `watch`
    /// is broken, when nothing runs and the replies are `None`. Too few
    /// slaves' acks in time (`sync-replicas`): `done.unacked` says so,
    /// for the whole transaction.
    pub async fn exec(
        &self,
        cmds: Vec<WriteCmd>,
        watch: Option<Arc<Watch>>,
    ) -> (Option<Vec<Reply>>, Done) {
        let n = cmds.len();
        let mut done = self.submit(cmds, true, watch).await;
        self.acked(&mut done).await;
        let replies = std::mem::take(&mut done.replies);
        ((replies.len() == n).then_some(replies), done)
    }

    /// Wait for `sync-replicas` slaves to acknowledge what `done`'s group
    /// wrote; why they did not in time, also kept in `done.unacked`.
    async fn acked(&self, done: &mut Done) -> Option<String> {
        done.unacked = self.slaves.replicated(done.seq).await;
        done.unacked.clone()
    }

    async fn submit(&self, cmds: Vec<WriteCmd>, atomic: bool, watch: Option<Arc<Watch>>) -> Done {
        let n = cmds.len();
        let pre = self.shared.pre_read(&cmds);
        // (a test widens the window between a pre-read and its job here)
        if let Some(d) = rocksync_failpoint::pause_for("engine.submit.after_pre_read") {
            tokio::time::sleep(d).await;
            tracing::warn!("failpoint engine.submit.after_pre_read: resuming");
        }
        let (reply, rx) = oneshot::channel();
        let stopped = || Done {
            replies: vec![Reply::error("ERR the write path is stopped"); n],
            ..Done::default()
        };
        self.shared.submit(Job::Write {
            cmds,
            reply,
            atomic,
            watch,
            pre,
        });
        rx.await.unwrap_or_else(|_| stopped())
    }

    /// Run a script as one unit on the write path: its reply, once its
    /// writes are committed (and acknowledged, as [`Engine::write`]'s).
    pub async fn script(&self, job: ScriptJob) -> Reply {
        let (reply, rx) = oneshot::channel();
        self.shared.submit(Job::Script(job, reply));
        let Ok(mut done) = rx.await else {
            return Reply::error("ERR the write path is stopped");
        };
        let reply = done
            .replies
            .pop()
            .unwrap_or_else(|| Reply::error("ERR the write path is stopped"));
        match self.acked(&mut done).await {
            Some(why) if !matches!(reply, Reply::Error(_)) => Reply::error(why),
            _ => reply,
        }
    }

    /// A blocking command (outside a transaction): its answer, or a wait
    /// to be served when one of its keys gets data.
    pub async fn block(&self, cmd: WriteCmd) -> BlockStart {
        let (reply, rx) = oneshot::channel();
        let stopped = || BlockStart::Done(Reply::error("ERR the write path is stopped"));
        let served = cmd.per_key();
        self.shared.submit(Job::Block { cmd, served, reply });
        rx.await.unwrap_or_else(|_| stopped())
    }

    /// Delete the keys of these due expiry-index entries (expiry, key) if
    /// they are (still) expired.
    pub async fn expire(&self, due: Vec<(u64, Bytes)>) {
        self.shared.submit(Job::Expire { due });
    }

    /// Take writes again, through `storage` (a node becoming a master).
    ///
    /// # Errors
    /// The storage back, when the write path has stopped.
    pub async fn attach(&self, storage: Storage) -> std::result::Result<(), Storage> {
        match self.shared.submit(Job::Attach(Box::new(storage))) {
            Some(Job::Attach(storage)) => Err(*storage),
            _ => Ok(()),
        }
    }

    /// Stop taking writes once those queued are committed, and hand the
    /// storage back (a node becoming a slave); `None` when the write path
    /// holds none.
    pub async fn detach(&self) -> Option<Storage> {
        let (tx, rx) = oneshot::channel();
        self.shared.submit(Job::Detach(tx));
        rx.await.ok().flatten().map(|b| *b)
    }

    /// Finish queued work, write STOP, flush the database.
    ///
    /// # Errors
    /// [`Error::Stopped`] if already stopped; binlog and RocksDB errors.
    pub async fn stop(&self) -> Result<()> {
        let (done, rx) = oneshot::channel();
        self.shared.submit(Job::Stop { done });
        rx.await.map_err(|_| Error::Stopped)?
    }
}

/// What the connection tasks share: the queue of jobs, and the core that
/// only the leader of the moment holds.
struct Shared {
    queue: std::sync::Mutex<Queue>,
    /// The node's store, for pre-reads.
    store: Arc<Store>,
    /// The groups committed, for pre-reads (see [`crate::preread`]).
    written: Arc<Written>,
    /// Set while the write path takes writes: pre-reads are worth it.
    attached: Arc<AtomicBool>,
    /// `None` once stopped (the storage is then closed).
    core: std::sync::Mutex<Option<Executor>>,
}

#[derive(Default)]
struct Queue {
    jobs: Vec<Job>,
    /// A leader runs or is spawned: jobs queued now are its to execute.
    leading: bool,
    stopped: bool,
}

impl Shared {
    /// Read the metadata of the keys `cmds` name, outside the write path
    /// (see [`crate::preread`]).
    fn pre_read(&self, cmds: &[WriteCmd]) -> Option<PreRead> {
        if !self.attached.load(Ordering::Relaxed) {
            return None;
        }
        let keys = cmds
            .iter()
            .flat_map(|c| c.meta.key_args(&c.args))
            .take(MAX_GROUP_EVENTS)
            .cloned()
            .collect();
        let fields = cmds
            .iter()
            .filter_map(|c| {
                let (kind, fields) = c.meta.fields?;
                let key = c.args.get(1)?;
                Some(
                    fields(&c.args)
                        .into_iter()
                        .map(move |f| (kind, key.clone(), f.clone())),
                )
            })
            .flatten()
            .take(MAX_GROUP_EVENTS)
            .collect();
        self.written.read(&self.store, keys, fields)
    }

    /// Queue `job`, and lead if no one does. The job comes back when the
    /// write path has stopped (its reply sender then drops unanswered).
    fn submit(self: &Arc<Self>, job: Job) -> Option<Job> {
        {
            let mut q = lock(&self.queue);
            if q.stopped {
                return Some(job);
            }
            q.jobs.push(job);
            if q.leading {
                return None;
            }
            q.leading = true;
        }
        self.lead();
        None
    }

    /// Execute and commit the jobs queued so far as one group; when more
    /// have queued meanwhile, hand the lead to a task of their own (or,
    /// outside a runtime, lead the next group here).
    fn lead(self: &Arc<Self>) {
        loop {
            let guard = LeadGuard(self);
            let jobs = std::mem::take(&mut lock(&self.queue).jobs);
            let mut core = lock(&self.core);
            // A script may run for seconds: its thread is handed over so
            // the runtime's other tasks (every other connection) move on.
            // That costs a thread switch, so only for a script not known
            // to be quick (new, or slow last time).
            // (With one worker there is no one to run the others: always.)
            // (a script inside an EXEC as well)
            let long = core.as_ref().is_some_and(|c| {
                let may = |sha: &str| one_worker() || c.scripts.may_run_long(sha);
                jobs.iter().any(|j| match j {
                    Job::Script(s, _) => may(&s.sha),
                    Job::Write { cmds, .. } => cmds
                        .iter()
                        .any(|w| w.script.as_ref().is_some_and(|s| may(&s.sha))),
                    _ => false,
                })
            });
            let stop = match core.as_mut() {
                Some(c) if long => run_blocking(|| c.run(jobs)),
                Some(c) => c.run(jobs),
                None => None,
            };
            if let Some((done, closed)) = stop {
                // The store is released before the stop is answered.
                *core = None;
                drop(core);
                guard.stop();
                let _ = done.send(closed);
                return;
            }
            drop(core);
            drop(guard);
            let mut q = lock(&self.queue);
            if q.jobs.is_empty() {
                q.leading = false;
                return;
            }
            drop(q);
            if let Ok(rt) = tokio::runtime::Handle::try_current() {
                let next = Arc::clone(self);
                rt.spawn(async move { next.lead() });
                return;
            }
        }
    }
}

/// True on a runtime with a single worker thread.
fn one_worker() -> bool {
    tokio::runtime::Handle::try_current().is_ok_and(|h| h.metrics().num_workers() < 2)
}

/// Run `f`, which may take long, telling a multi-threaded runtime so that
/// the tasks queued on this thread run elsewhere meanwhile.
fn run_blocking<R>(f: impl FnOnce() -> R) -> R {
    match tokio::runtime::Handle::try_current() {
        Ok(h) if h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread => {
            tokio::task::block_in_place(f)
        }
        _ => f(),
    }
}

/// Watches a lead: on a panic inside it, the write path stops (queued
/// and later jobs are answered as stopped) rather than waiting on a leader
/// that is gone.
struct LeadGuard<'a>(&'a Shared);

impl LeadGuard<'_> {
    fn stop(&self) {
        let dropped = {
            let mut q = lock(&self.0.queue);
            q.stopped = true;
            q.leading = false;
            std::mem::take(&mut q.jobs)
        };
        drop(dropped);
    }
}

impl Drop for LeadGuard<'_> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            error!("the write path stopped on a panic; writes are refused from now on");
            self.stop();
        }
    }
}

impl Drop for Shared {
    fn drop(&mut self) {
        let core = self
            .core
            .get_mut()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take();
        if let Some(mut core) = core {
            if let Err(e) = core.close() {
                error!(error = %e, "closing the write path");
            }
        }
    }
}

/// Start the write path, writing through `storage` (`None`: refusing
/// writes until one is attached). `store` and `binlog` are the node's (the
/// storage's when there is one).
///
/// # Errors
/// None today; kept for callers that start a node.
pub fn start(
    store: Arc<Store>,
    binlog: Binlog,
    storage: Option<Storage>,
    slaves: Arc<Slaves>,
) -> Result<Engine> {
    let stats = Arc::new(WriteStats::default());
    let cursors = Arc::new(Cursors::default());
    // The storage's commits touch these (see Storage::commit).
    let watches = storage.as_ref().map_or_else(Arc::default, Storage::watches);
    let tracking = storage
        .as_ref()
        .map_or_else(Arc::default, Storage::tracking);
    let scripts = Arc::new(Scripts::default());
    let blocked = Arc::new(Blocked::default());
    let slow_us = Arc::new(AtomicI64::new(-1));
    let command_stats = Arc::new(CommandStats::default());
    let latency = Arc::new(LatencyMonitor::default());
    let limits = Arc::new(crate::cmd::Limits::default());
    let written = Arc::new(Written::default());
    let attached = Arc::new(AtomicBool::new(storage.is_some()));
    let core = Executor {
        written: Arc::clone(&written),
        attached: Arc::clone(&attached),
        slow_us: Arc::clone(&slow_us),
        blocked: Arc::clone(&blocked),
        store: Arc::clone(&store),
        storage: storage.map(Box::new),
        cursors: Arc::clone(&cursors),
        watches: Arc::clone(&watches),
        tracking: Arc::clone(&tracking),
        scripts: Arc::clone(&scripts),
        limits: Arc::clone(&limits),
        command_stats: Arc::clone(&command_stats),
        latency: Arc::clone(&latency),
        vm: None,
        stats: Arc::clone(&stats),
        slaves: Arc::clone(&slaves),
        carry: Default::default(),
    };
    let shared = Arc::new(Shared {
        queue: std::sync::Mutex::new(Queue::default()),
        core: std::sync::Mutex::new(Some(core)),
        store,
        written,
        attached,
    });
    // A slave's apply rings for the keys its clients wait on (weakly:
    // the registry must not keep the write path alive).
    let weak = Arc::downgrade(&shared);
    blocked.set_doorbell(Box::new(move |keys| {
        if let Some(shared) = weak.upgrade() {
            let _ = shared.submit(job::Job::Wake { keys });
        }
    }));
    Ok(Engine {
        shared,
        binlog,
        stats,
        cursors,
        watches,
        tracking,
        scripts,
        functions: Arc::default(),
        blocked,
        slow_us,
        limits,
        command_stats,
        latency,
        slaves,
    })
}
