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

use crate::clock::now_ms;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::Arc;

use bytes::Bytes;
use rocksync_binlog::Binlog;
use rocksync_protocol::{Command, LogEvent, Reply};
use tokio::sync::oneshot;
use tracing::{error, warn};

use crate::blocking::{BlockStart, Blocked, Wait, Waiter};
use crate::cmd::spec::Meta;
use crate::cmd::{seal_command, Cursors, Exec, ReadCtx, Refused, WriteCtx, WriteOp};
use crate::error::{Error, Result};
use crate::lock;
use crate::preread::{PreRead, Written};
use crate::storage::Storage;
use crate::store::apply::{apply_event, Batch};
use crate::store::Store;
use crate::watch::{Watch, Watches};

/// The reply to a write that reaches a node that does not take writes.
pub const READONLY: &str = "READONLY You can't write against a read only replica.";

/// Most events in one group before it commits.
const MAX_GROUP_EVENTS: usize = 8192;

/// One data command for the write path (a write, or a read inside an
/// EXEC), already checked against its table entry.
pub struct WriteCmd {
    /// What it is.
    pub meta: &'static Meta,
    /// How it runs.
    pub exec: Exec,
    /// Its arguments, name included (for the SLOWLOG, and a blocked
    /// command served for one of its keys).
    pub args: Vec<Bytes>,
    /// Its typed form, for a command parsed on its connection.
    pub op: Option<Box<dyn WriteOp>>,
}

impl WriteCmd {
    /// The command `meta` runs by `exec`, with `args`, parsed on the
    /// caller's thread when `exec` parses.
    ///
    /// # Errors
    /// Arguments that do not parse: the reply, and the command that
    /// answers it in its turn.
    pub fn new(
        meta: &'static Meta,
        exec: Exec,
        args: Vec<Bytes>,
    ) -> std::result::Result<Self, Self> {
        let op = match exec {
            Exec::Parsed(parse) => match parse(&args) {
                Ok(op) => Some(op),
                Err(reply) => {
                    return Err(Self {
                        meta,
                        exec,
                        args,
                        op: Some(Box::new(Refused(reply))),
                    })
                }
            },
            _ => None,
        };
        Ok(Self {
            meta,
            exec,
            args,
            op,
        })
    }
}

/// What a write job gives back: its replies, and the commands whose
/// execution reached the slow-log threshold, with their microseconds.
#[derive(Default)]
pub struct Done {
    /// One reply per command (none when a WATCH broke the EXEC).
    pub replies: Vec<Reply>,
    /// Slow commands.
    pub slow: Vec<(Vec<Bytes>, u64)>,
}

enum Job {
    Write {
        cmds: Vec<WriteCmd>,
        reply: oneshot::Sender<Done>,
        /// One unit (an EXEC): one batch, its events sealed as one command.
        atomic: bool,
        /// The EXEC's WATCH: when broken, nothing runs and the reply is
        /// empty.
        watch: Option<Arc<Watch>>,
        /// Its keys' metadata, read before it was queued.
        pre: Option<PreRead>,
    },
    /// A blocking command outside a transaction: answered at once, or
    /// registered to be served when its keys get data.
    Block {
        cmd: WriteCmd,
        reply: oneshot::Sender<BlockStart>,
    },
    /// Due entries of the expiry index: (expiry, key).
    Expire {
        due: Vec<(u64, Bytes)>,
    },
    Stop {
        done: oneshot::Sender<Result<()>>,
    },
    Attach(Box<Storage>),
    Detach(oneshot::Sender<Option<Box<Storage>>>),
}

/// Counters the write path keeps for INFO.
#[derive(Debug, Default)]
pub struct WriteStats {
    /// Groups committed.
    pub groups: AtomicU64,
    /// Events written.
    pub events: AtomicU64,
    /// Keys deleted by expiry.
    pub expired_keys: AtomicU64,
    /// Set while the last group could not be persisted.
    pub failed: AtomicBool,
    /// Keys whose metadata a write read before it queued (see
    /// [`crate::preread`]).
    pub pre_read: AtomicU64,
    /// Of those, the ones the write path took (no group had written them
    /// since).
    pub pre_read_used: AtomicU64,
}

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
    /// Clients blocked in BLPOP and its kin.
    pub blocked: Arc<Blocked>,
    /// The slow-log threshold, microseconds (negative: none).
    pub slow_us: Arc<AtomicI64>,
}

impl Engine {
    /// Execute write commands in order; their replies, after commit.
    /// `atomic` (an EXEC): they are one unit, in one batch, their events
    /// sealed as one command, so the binlog, recovery and every slave take
    /// all of them or none.
    pub async fn write(&self, cmds: Vec<WriteCmd>, atomic: bool) -> Vec<Reply> {
        self.submit(cmds, atomic, None).await.replies
    }

    /// As [`Engine::write`], with the slow commands.
    pub async fn write_timed(&self, cmds: Vec<WriteCmd>, atomic: bool) -> Done {
        self.submit(cmds, atomic, None).await
    }

    /// An EXEC: `cmds` as one unit (see [`Engine::write`]), unless `watch`
    /// is broken, when nothing runs and the replies are `None`.
    pub async fn exec(
        &self,
        cmds: Vec<WriteCmd>,
        watch: Option<Arc<Watch>>,
    ) -> (Option<Vec<Reply>>, Done) {
        let n = cmds.len();
        let mut done = self.submit(cmds, true, watch).await;
        let replies = std::mem::take(&mut done.replies);
        ((replies.len() == n).then_some(replies), done)
    }

    async fn submit(&self, cmds: Vec<WriteCmd>, atomic: bool, watch: Option<Arc<Watch>>) -> Done {
        let n = cmds.len();
        let pre = self.shared.pre_read(&cmds);
        // (a test widens the window between a pre-read and its job here)
        if let Some(d) = rocksync_binlog::failpoint::pause_for("engine.submit.after_pre_read") {
            tokio::time::sleep(d).await;
            tracing::warn!("failpoint engine.submit.after_pre_read: resuming");
        }
        let (reply, rx) = oneshot::channel();
        let stopped = || Done {
            replies: vec![Reply::error("ERR the write path is stopped"); n],
            slow: Vec::new(),
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

    /// A blocking command (outside a transaction): its answer, or a wait
    /// to be served when one of its keys gets data.
    pub async fn block(&self, cmd: WriteCmd) -> BlockStart {
        let (reply, rx) = oneshot::channel();
        let stopped = || BlockStart::Done(Reply::error("ERR the write path is stopped"));
        self.shared.submit(Job::Block { cmd, reply });
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
    core: std::sync::Mutex<Option<Core>>,
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
            let stop = match core.as_mut() {
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
pub fn start(store: Arc<Store>, binlog: Binlog, storage: Option<Storage>) -> Result<Engine> {
    let stats = Arc::new(WriteStats::default());
    let cursors = Arc::new(Cursors::default());
    // The storage's commits touch these (see Storage::commit).
    let watches = storage.as_ref().map_or_else(Arc::default, Storage::watches);
    let blocked = Arc::new(Blocked::default());
    let slow_us = Arc::new(AtomicI64::new(-1));
    let written = Arc::new(Written::default());
    let attached = Arc::new(AtomicBool::new(storage.is_some()));
    let core = Core {
        written: Arc::clone(&written),
        attached: Arc::clone(&attached),
        slow_us: Arc::clone(&slow_us),
        blocked: Arc::clone(&blocked),
        store: Arc::clone(&store),
        storage: storage.map(Box::new),
        cursors: Arc::clone(&cursors),
        watches: Arc::clone(&watches),
        stats: Arc::clone(&stats),
    };
    Ok(Engine {
        shared: Arc::new(Shared {
            queue: std::sync::Mutex::new(Queue::default()),
            core: std::sync::Mutex::new(Some(core)),
            store,
            written,
            attached,
        }),
        binlog,
        stats,
        cursors,
        watches,
        blocked,
        slow_us,
    })
}

/// A group being built.
struct Group {
    batch: Batch,
    events: Vec<LogEvent>,
    next_seq: u64,
    /// Jobs whose last command is in this group, with their replies.
    waiting: Vec<(oneshot::Sender<Done>, Done)>,
    /// Blocking commands' first answers.
    starts: Vec<(oneshot::Sender<BlockStart>, BlockStart)>,
    /// Blocked clients served in this group, with their answers.
    served: Vec<(oneshot::Sender<Reply>, Reply)>,
    failed: Option<String>,
}

impl Group {
    fn new(next_seq: u64) -> Self {
        Self {
            batch: Batch::new(),
            events: Vec::new(),
            next_seq,
            waiting: Vec::new(),
            starts: Vec::new(),
            served: Vec::new(),
            failed: None,
        }
    }
}

struct Core {
    store: Arc<Store>,
    /// The groups committed, published for pre-reads.
    written: Arc<Written>,
    attached: Arc<AtomicBool>,
    storage: Option<Box<Storage>>,
    cursors: Arc<Cursors>,
    watches: Arc<Watches>,
    blocked: Arc<Blocked>,
    slow_us: Arc<AtomicI64>,
    stats: Arc<WriteStats>,
}

/// A stop's answer, and what closing the storage gave.
type Stopped = (oneshot::Sender<Result<()>>, Result<()>);

impl Core {
    fn next_seq(&self) -> u64 {
        self.storage.as_ref().map_or(0, |s| s.last_seq() + 1)
    }

    /// Execute `jobs` in order and commit them (in groups of at most
    /// [`MAX_GROUP_EVENTS`] events); a stop among them ends the run with
    /// the storage closed (the jobs after it are dropped, answered as
    /// stopped).
    fn run(&mut self, jobs: Vec<Job>) -> Option<Stopped> {
        let mut group = Group::new(self.next_seq());
        // One batched lookup for the keys of the jobs that come without a
        // pre-read: at -P 1 every job is one command, too few for a job's
        // own prefetch. (Each pre-read is taken when its job runs, checked
        // against the groups committed by then.)
        let cmds = jobs.iter().flat_map(|j| match j {
            Job::Write {
                cmds, pre: None, ..
            } => &cmds[..],
            _ => &[],
        });
        self.prefetch(cmds, MAX_GROUP_EVENTS, &group);
        for job in jobs {
            match job {
                Job::Stop { done } => {
                    self.attached.store(false, Ordering::Relaxed);
                    self.commit(&mut group);
                    return Some((done, self.close()));
                }
                job => self.handle(job, &mut group),
            }
            if group.events.len() >= MAX_GROUP_EVENTS {
                self.commit(&mut group);
            }
        }
        self.commit(&mut group);
        None
    }

    fn close(&mut self) -> Result<()> {
        match self.storage.take() {
            Some(s) => s.close(),
            None => Ok(()),
        }
    }

    fn handle(&mut self, job: Job, group: &mut Group) {
        match job {
            Job::Write {
                cmds,
                reply,
                atomic,
                watch,
                pre,
            } => {
                if let Some(w) = &watch {
                    // A watched key touched by a committed group, by this
                    // group so far, or expired: the EXEC does nothing.
                    if w.broken(now_ms()) || w.touched_by(&group.events) {
                        let _ = reply.send(Done::default());
                        return;
                    }
                }
                if let Some(pre) = pre {
                    let (read, used) = self.written.seed(&group.batch, pre);
                    self.stats.pre_read.fetch_add(read, Ordering::Relaxed);
                    self.stats.pre_read_used.fetch_add(used, Ordering::Relaxed);
                }
                self.prefetch(cmds.iter(), usize::MAX, group);
                let mut replies = Vec::with_capacity(cmds.len());
                let mut slow = Vec::new();
                let slow_us = self.slow_us.load(Ordering::Relaxed);
                let mut unit_start = None;
                // One clock for a whole transaction, as Redis keeps.
                let unit_now = atomic.then(now_ms);
                for (i, cmd) in cmds.iter().enumerate() {
                    // A scanning command reads committed data, so the group
                    // before it commits first; never inside a unit (its
                    // scans then see the data before the unit).
                    if cmd.meta.has(crate::cmd::spec::flag::BARRIER)
                        && !group.batch.is_empty()
                        && !(atomic && i > 0)
                    {
                        self.commit(group);
                    }
                    let start = group.events.len();
                    unit_start.get_or_insert(start);
                    let t = (slow_us >= 0).then(std::time::Instant::now);
                    replies.push(self.execute(cmd, group, unit_now.unwrap_or_else(now_ms)));
                    if let Some(t) = t {
                        let us = t.elapsed().as_micros() as u64;
                        if us >= slow_us as u64 {
                            slow.push((cmd.args.clone(), us));
                        }
                    }
                    if !atomic {
                        self.serve_blocked(group, start);
                    }
                }
                if let (true, Some(start)) = (atomic, unit_start) {
                    seal_command(&mut group.events, start);
                    // Blocked clients are served after the whole unit.
                    self.serve_blocked(group, start);
                }
                group.waiting.push((reply, Done { replies, slow }));
            }
            Job::Block { cmd, reply } => {
                let start = group.events.len();
                let answer = self.execute(&cmd, group, now_ms());
                if matches!(answer, Reply::Nil | Reply::NilArray) && group.failed.is_none() {
                    let (tx, rx) = oneshot::channel();
                    let keys = cmd
                        .meta
                        .block
                        .map(|(_, at)| at.split(&cmd.args).0.to_vec())
                        .unwrap_or_default();
                    let id = self.blocked.add(Waiter {
                        meta: cmd.meta,
                        exec: cmd.exec,
                        args: cmd.args,
                        keys,
                        reply: tx,
                    });
                    let wait = Wait {
                        id,
                        rx,
                        blocked: Arc::clone(&self.blocked),
                    };
                    group.starts.push((reply, BlockStart::Waiting(wait)));
                } else {
                    // Its own pop can feed no one, but a BLMOVE's push can.
                    self.serve_blocked(group, start);
                    group.starts.push((reply, BlockStart::Done(answer)));
                }
            }
            Job::Expire { due } => {
                if self.storage.is_none() {
                    return;
                }
                let now = now_ms();
                for (at, key) in due {
                    let meta = match group.batch.meta(&self.store, &key) {
                        Ok(m) => m,
                        Err(e) => {
                            group.failed = Some(e.to_string());
                            return;
                        }
                    };
                    if meta.as_ref().map(|m| m.expire_ms) != Some(at) {
                        // An entry its key does not have (a state this
                        // node's events did not make): dropped, or the
                        // sweep would meet it first on every tick and,
                        // with enough of them, never reach a due key.
                        match group.batch.drop_expire_entry(&self.store, at, &key) {
                            Ok(true) => warn!(
                                key = %key.escape_ascii(),
                                at,
                                "dropped an expiry-index entry its key does not have"
                            ),
                            Ok(false) => {}
                            Err(e) => {
                                group.failed = Some(e.to_string());
                                return;
                            }
                        }
                        continue;
                    }
                    let expired = meta.is_some_and(|m| m.is_expired(now));
                    if expired {
                        let e = LogEvent::data(group.next_seq, Command::KDel, key, Bytes::new());
                        if let Err(err) = apply_event(&self.store, &mut group.batch, &e) {
                            group.failed = Some(err.to_string());
                            return;
                        }
                        group.next_seq += 1;
                        group.events.push(e);
                        self.stats.expired_keys.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
            Job::Attach(mut storage) => {
                self.commit(group);
                storage.set_watches(Arc::clone(&self.watches));
                self.storage = Some(storage);
                // The replication link wrote meanwhile.
                self.written.void_before(self.written.next());
                self.attached.store(true, Ordering::Relaxed);
                self.stats.failed.store(false, Ordering::Relaxed);
                *group = Group::new(self.next_seq());
            }
            Job::Detach(tx) => {
                self.commit(group);
                // No longer a master: blocked clients are let go, in Redis's
                // words.
                for w in self.blocked.drain() {
                    let _ = w.reply.send(Reply::error(
                        "UNBLOCKED force unblock from blocking operation, instance state changed (master -> replica?)",
                    ));
                }
                self.attached.store(false, Ordering::Relaxed);
                let _ = tx.send(self.storage.take());
                *group = Group::new(self.next_seq());
            }
            Job::Stop { .. } => {}
        }
    }

    /// Read the metadata of the keys `cmds` name, in one batched lookup,
    /// before they run (each would otherwise read its own, one by one).
    /// Keys the group has read or written already are skipped; at most
    /// `limit` keys are read (a group commits every [`MAX_GROUP_EVENTS`]
    /// events, and its batch's cache goes with it).
    fn prefetch<'a>(&self, cmds: impl Iterator<Item = &'a WriteCmd>, limit: usize, group: &Group) {
        if self.storage.is_none() {
            return;
        }
        let keys: Vec<&[u8]> = cmds
            .flat_map(|c| c.meta.key_args(&c.args))
            .map(|k| &k[..])
            .take(limit)
            .collect();
        // A failed read here is only a missed shortcut: each command reads
        // (and reports) for itself.
        let _ = group
            .batch
            .prefetch(&self.store, crate::store::Cf::Meta, &keys);
    }

    fn execute(&mut self, cmd: &WriteCmd, group: &mut Group, now: u64) -> Reply {
        if let Some(why) = &group.failed {
            return Reply::error(format!("ERR write failed: {why}"));
        }
        if self.storage.is_none() {
            return Reply::error(READONLY);
        }
        if let Exec::Read(f) = cmd.exec {
            // A read inside an EXEC: it sees the transaction's writes so far.
            {
                let ctx = ReadCtx {
                    store: &self.store,
                    now_ms: now,
                    cursors: &self.cursors,
                    snap: None,
                    pending: Some(&group.batch),
                };
                return f(&ctx, &cmd.args).unwrap_or_else(|e| Reply::error(format!("ERR {e}")));
            }
        }
        let start = group.events.len();
        let mut ctx = WriteCtx {
            store: &self.store,
            batch: &mut group.batch,
            now_ms: now,
            next_seq: group.next_seq,
            events: &mut group.events,
        };
        let result = match (&cmd.op, cmd.exec) {
            (Some(op), _) => op.execute(&mut ctx),
            (None, Exec::Write(f)) => f(&mut ctx, &cmd.args),
            // Built without its parse (a blocked command served for one
            // of its keys): parsed here.
            (None, Exec::Parsed(parse)) => match parse(&cmd.args) {
                Ok(op) => op.execute(&mut ctx),
                Err(reply) => Ok(reply),
            },
            (None, Exec::Read(_)) => Ok(Reply::error("ERR internal: a read on the write path")),
        };
        group.next_seq = ctx.next_seq;
        seal_command(&mut group.events, start);
        match result {
            Ok(r) => r,
            // Refused before it changed anything: only this command fails.
            Err(e @ Error::EventTooLarge { .. }) if group.events.len() == start => {
                Reply::error(format!("ERR {e}"))
            }
            Err(e) => {
                error!(error = %e, command = cmd.meta.name, "write command failed; the group is dropped");
                group.failed = Some(e.to_string());
                Reply::error(format!("ERR write failed: {e}"))
            }
        }
    }

    /// Serve the clients blocked on keys that the events from `start` fed,
    /// first come first, each serve one command; serves that feed more
    /// keys (BLMOVE's destination) serve those keys' clients too.
    fn serve_blocked(&mut self, group: &mut Group, start: usize) {
        if self.blocked.is_empty() || group.events.len() == start {
            return;
        }
        let mut fed: std::collections::VecDeque<Bytes> = std::collections::VecDeque::new();
        let blocked = Arc::clone(&self.blocked);
        let note = |fed: &mut std::collections::VecDeque<Bytes>, events: &[LogEvent]| {
            for e in events {
                if !fed.contains(&e.key) && blocked.has_waiters(&e.key) {
                    fed.push_back(e.key.clone());
                }
            }
        };
        note(&mut fed, &group.events[start..]);
        while let Some(key) = fed.pop_front() {
            for (id, spec, exec, args) in self.blocked.waiting_on(&key) {
                if group.failed.is_some() {
                    return;
                }
                let now = now_ms();
                let meta = match group.batch.meta(&self.store, &key) {
                    Ok(m) => m.filter(|m| !m.is_expired(now)),
                    Err(e) => {
                        group.failed = Some(e.to_string());
                        return;
                    }
                };
                let Some(m) = meta else {
                    break;
                };
                let Some((_, keys)) = spec.block.filter(|(kind, _)| *kind == m.kind) else {
                    continue;
                };
                // Claimed before the pop: a client timing out from now on
                // finds its wait gone and takes this answer instead, so a
                // popped element always reaches its client.
                let Some(w) = self.blocked.remove(id) else {
                    continue;
                };
                rocksync_binlog::failpoint::pause("engine.serve.before_pop");
                let at = group.events.len();
                let cmd = WriteCmd::new(spec, exec, keys.narrow(&args, &key))
                    .unwrap_or_else(|refused| refused);
                let answer = self.execute(&cmd, group, now);
                if matches!(answer, Reply::Nil | Reply::NilArray) {
                    self.blocked.put_back(id, w);
                    continue;
                }
                group.served.push((w.reply, answer));
                note(&mut fed, &group.events[at..]);
            }
        }
    }

    /// Make the group durable and applied, then reply to its jobs.
    fn commit(&mut self, group: &mut Group) {
        let next_seq = self.next_seq();
        let g = std::mem::replace(group, Group::new(next_seq));
        let result = match &g.failed {
            Some(why) => Err(format!("ERR write failed: {why}")),
            None => self.persist(g.batch, &g.events).map_err(|e| {
                format!("MISCONF rocksync could not persist this write, and applied none of it ({e}); writes work again once that does")
            }),
        };
        *group = Group::new(self.next_seq());
        for (tx, mut done) in g.waiting {
            if let Err(text) = &result {
                done.replies
                    .iter_mut()
                    .for_each(|r| *r = Reply::error(text.clone()));
            }
            let _ = tx.send(done);
        }
        for (tx, mut answer) in g.served {
            if let Err(text) = &result {
                answer = Reply::error(text.clone());
            }
            let _ = tx.send(answer);
        }
        for (tx, mut start) in g.starts {
            if let (Err(text), BlockStart::Done(answer)) = (&result, &mut start) {
                *answer = Reply::error(text.clone());
            }
            let _ = tx.send(start);
        }
    }

    fn persist(&mut self, batch: Batch, events: &[LogEvent]) -> Result<()> {
        let Some(storage) = self.storage.as_mut() else {
            return Err(Error::Stopped);
        };
        // A group with no events may still repair the expiry index (see
        // Job::Expire); one that changed nothing writes nothing.
        if events.is_empty() && batch.is_empty() {
            return Ok(());
        }
        let number = self.written.next();
        let (metas, everything) = batch.written(crate::store::Cf::Meta);
        let (fields, _) = batch.written(crate::store::Cf::Sub);
        self.written.record(number, metas.chain(fields), everything);
        if let Err(e) = storage.commit(batch, events) {
            // What the store holds now is not certain: no pre-read from
            // before holds.
            self.written.void_before(number);
            // Nothing of the group stays logged or applied; the next group
            // tries again.
            if !self.stats.failed.swap(true, Ordering::Relaxed) {
                error!(error = %e, "a write group could not be persisted; refusing writes until one can");
            }
            return Err(e);
        }
        self.written.publish(number);
        if self.stats.failed.swap(false, Ordering::Relaxed) {
            tracing::info!("writes are persisted again");
        }
        self.stats.groups.fetch_add(1, Ordering::Relaxed);
        self.stats
            .events
            .fetch_add(events.len() as u64, Ordering::Relaxed);
        Ok(())
    }
}
