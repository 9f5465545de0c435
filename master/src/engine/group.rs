//! The group a leader builds and commits: its jobs executed in order
//! (reads inside an EXEC see its writes, blocked clients are served as
//! keys get data), then one binlog append and one RocksDB batch.

use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use rocksync_protocol::{Command, LogEvent, Reply};
use tokio::sync::oneshot;
use tracing::{error, warn};

use super::job::{Done, Job, WriteCmd, WriteStats, MAX_GROUP_EVENTS, READONLY};
use crate::blocking::{BlockStart, Blocked, Wait, Waiter};
use crate::clock::now_ms;
use crate::cmd::spec::flag::WRITE;
use crate::cmd::spec::Meta;
use crate::cmd::{seal_command, Cursors, Exec, Limits, ReadCtx, ReadFn, WriteCtx, WriteOp};
use crate::error::{Error, Result};
use crate::preread::Written;
use crate::script::{Scripts, Vm};
use crate::storage::Storage;
use crate::store::apply::apply_event;
use crate::store::batch::{Batch, Carry};
use crate::store::keys::Kind;
use crate::store::Store;
use crate::tracking::Tracking;
use crate::watch::Watches;

/// A group being built.
pub(super) struct Group {
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
    /// (first event, client) of the commands in it, in order: whose
    /// command made each event (0: none, as expiry).
    origins: Vec<(usize, u64)>,
}

impl Group {
    /// An empty group, reading what `carry` kept before the store.
    fn new(next_seq: u64, carry: Option<Arc<Carry>>) -> Self {
        Self {
            batch: Batch::after(carry),
            events: Vec::new(),
            next_seq,
            waiting: Vec::new(),
            starts: Vec::new(),
            served: Vec::new(),
            failed: None,
            origins: Vec::new(),
        }
    }

    pub(super) fn events_len(&self) -> usize {
        self.events.len()
    }

    pub(super) fn events_mut(&mut self) -> &mut [LogEvent] {
        &mut self.events
    }

    /// Nothing of this group may commit (its replies say why).
    pub(super) fn fail(&mut self, why: String) {
        self.failed = Some(why);
    }

    /// Reply `reply` to a one-command job, whose events start at `from`,
    /// once the group commits.
    pub(super) fn answer(&mut self, tx: oneshot::Sender<Done>, reply: Reply, from: usize) {
        let seq = self.last_seq_from(from);
        self.waiting.push((
            tx,
            Done {
                replies: vec![reply],
                seq,
                ..Done::default()
            },
        ));
    }

    /// The seq of the last event from `from` on; 0 when there is none (a
    /// job that wrote nothing waits for no slave).
    pub(super) fn last_seq_from(&self, from: usize) -> u64 {
        self.events
            .get(from..)
            .and_then(<[_]>::last)
            .map_or(0, |e| e.seq)
    }

    /// The events from here on are client `id`'s (0: nobody's).
    pub(super) fn made_by(&mut self, id: u64) {
        let at = self.events.len();
        match self.origins.last_mut() {
            Some(last) if last.0 == at => last.1 = id,
            Some(last) if last.1 == id => {}
            None if id == 0 => {}
            _ => self.origins.push((at, id)),
        }
    }
}

pub(super) struct Executor {
    pub(super) store: Arc<Store>,
    /// The groups committed, published for pre-reads.
    pub(super) written: Arc<Written>,
    pub(super) attached: Arc<AtomicBool>,
    pub(super) storage: Option<Box<Storage>>,
    pub(super) cursors: Arc<Cursors>,
    pub(super) watches: Arc<Watches>,
    pub(super) tracking: Arc<Tracking>,
    /// The scripts loaded, and the interpreter (made on first use).
    pub(super) scripts: Arc<Scripts>,
    /// The configured sizes commands follow.
    pub(super) limits: Arc<Limits>,
    /// Per-command counters, which the commands run here feed.
    pub(super) command_stats: Arc<crate::latency::CommandStats>,
    /// The latency monitor, which the commands run here feed.
    pub(super) latency: Arc<crate::latency::LatencyMonitor>,
    pub(super) vm: Option<Vm>,
    pub(super) blocked: Arc<Blocked>,
    pub(super) slow_us: Arc<AtomicI64>,
    pub(super) stats: Arc<WriteStats>,
    /// The slaves, which `min-replicas-to-write` counts for scripts'
    /// writes.
    pub(super) slaves: Arc<crate::slaves::Slaves>,
    /// What the last groups committed wrote, which the next read before
    /// the store.
    pub(super) carry: Arc<Carry>,
}

/// A stop's answer, and what closing the storage gave.
pub(super) type Stopped = (oneshot::Sender<Result<()>>, Result<()>);

impl Executor {
    fn next_seq(&self) -> u64 {
        self.storage.as_ref().map_or(0, |s| s.last_seq() + 1)
    }

    /// Execute `jobs` in order and commit them (in groups of at most
    /// [`MAX_GROUP_EVENTS`] events); a stop among them ends the run with
    /// the storage closed (the jobs after it are dropped, answered as
    /// stopped).
    pub(super) fn run(&mut self, jobs: Vec<Job>) -> Option<Stopped> {
        let mut group = Group::new(self.next_seq(), Some(Arc::clone(&self.carry)));
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

    pub(super) fn close(&mut self) -> Result<()> {
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
                let (replies, slow, wrote) = self.run_cmds(&cmds, group, atomic);
                group.waiting.push((
                    reply,
                    Done {
                        replies,
                        slow,
                        seq: wrote,
                        ..Done::default()
                    },
                ));
            }
            Job::Block { cmd, served, reply } => {
                let start = group.events.len();
                group.made_by(cmd.client);
                let now = now_ms();
                let answer = self.execute(&cmd, group, now);
                if matches!(answer, Reply::Nil | Reply::NilArray) && group.failed.is_none() {
                    if let Err(e) = self.pin(&served, group, now) {
                        group.failed = Some(e.to_string());
                    }
                    let (tx, rx) = oneshot::channel();
                    let keys = cmd
                        .meta
                        .block
                        .map(|(_, at)| at.keys(&cmd.args).to_vec())
                        .unwrap_or_default();
                    // On a slave the link commits on its own thread: what
                    // it applied since the attempt rang for no one, so the
                    // keys are looked at once more now that it waits.
                    let again = if self.storage.is_none() {
                        keys.clone()
                    } else {
                        Vec::new()
                    };
                    let id = self.blocked.add(Waiter {
                        meta: cmd.meta,
                        served,
                        keys,
                        reply: tx,
                    });
                    let wait = Wait {
                        id,
                        rx,
                        blocked: Arc::clone(&self.blocked),
                    };
                    group.starts.push((reply, BlockStart::Waiting(wait)));
                    self.serve_keys(group, again.into());
                } else {
                    // Its own pop can feed no one, but a BLMOVE's push can.
                    self.serve_blocked(group, start);
                    group.starts.push((reply, BlockStart::Done(answer)));
                }
            }
            Job::Script(job, reply) => self.run_script(job, reply, group),
            Job::Wake { keys } => self.serve_keys(group, keys.into()),
            Job::Expire { due } => {
                if self.storage.is_none() {
                    return;
                }
                let now = now_ms();
                group.made_by(0);
                let start = group.events.len();
                for (at, key) in due {
                    let meta = match group.batch.meta_header(&self.store, &key) {
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
                // Group readers waiting on an expired stream fail now.
                self.serve_blocked(group, start);
            }
            Job::Attach(mut storage) => {
                self.commit(group);
                storage.share_listeners(Arc::clone(&self.watches), Arc::clone(&self.tracking));
                storage.share_blocked(Arc::clone(&self.blocked));
                self.storage = Some(storage);
                // The replication link wrote meanwhile.
                self.written.void_before(self.written.next());
                self.carry = Arc::default();
                self.attached.store(true, Ordering::Relaxed);
                self.stats.failed.store(false, Ordering::Relaxed);
                *group = Group::new(self.next_seq(), Some(Arc::clone(&self.carry)));
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
                self.carry = Arc::default();
                let _ = tx.send(self.storage.take());
                *group = Group::new(self.next_seq(), Some(Arc::clone(&self.carry)));
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
        let mut keys: Vec<&[u8]> = cmds
            .flat_map(|c| c.meta.key_args(&c.args))
            .map(|k| &k[..])
            .take(limit)
            .collect();
        // A pipeline on one hot key (a counter, a stream, a HyperLogLog)
        // names it in every command: a run of one key is looked for once,
        // not in four maps a command.
        keys.dedup();
        // A failed read here is only a missed shortcut: each command reads
        // (and reports) for itself.
        let _ = group
            .batch
            .prefetch(&self.store, crate::store::Cf::Meta, &keys);
    }

    /// Run `cmds` in order into `group` (`atomic`: as one unit, sealed as
    /// one command): their replies, the slow ones, and the seq of their
    /// last event.
    #[allow(clippy::type_complexity)]
    fn run_cmds(
        &mut self,
        cmds: &[WriteCmd],
        group: &mut Group,
        atomic: bool,
    ) -> (Vec<Reply>, Vec<(Vec<Bytes>, u64)>, u64) {
        let mut replies = Vec::with_capacity(cmds.len());
        let mut slow = Vec::new();
        let slow_us = self.slow_us.load(Ordering::Relaxed);
        let mut unit_start = None;
        // The seq of its own last event: what sync-replicas waits on.
        let mut wrote = 0;
        // One clock for a whole transaction, as Redis keeps. Otherwise
        // one clock read a command: the end of the one before is the
        // start of the next, and its wall time is the job's start plus
        // the time since (a monotonic clock: Redis's own command time
        // is a snapshot taken as it starts).
        let (wall, t0) = (since_epoch(), Instant::now());
        let unit_now = atomic.then_some(wall.as_millis() as u64);
        let mut mark = t0;
        let mut i = 0;
        while i < cmds.len() {
            let cmd = &cmds[i];
            // A scanning command reads committed data, so the group
            // before it commits first; never inside a unit (its
            // scans then see the data before the unit).
            if cmd.meta.has(crate::cmd::spec::flag::BARRIER)
                && !group.batch.is_empty()
                && !(atomic && i > 0)
            {
                self.commit(group);
                // (the commit is not the command's time)
                mark = Instant::now();
            }
            let start = group.events.len();
            unit_start.get_or_insert(start);
            if cmd.script.is_some() {
                // A run of scripts, each in its turn: in an EXEC
                // inside its unit, in a pipeline each one unit.
                let run = cmds[i..].iter().take_while(|c| c.script.is_some());
                let jobs: Vec<_> = run.filter_map(|c| c.script.as_deref()).collect();
                // (the scripts' times derive from the job's clock)
                let ran = self.run_scripts(&jobs, group, atomic, (wall, t0));
                for (cmd, ran) in cmds[i..].iter().zip(ran) {
                    if slow_us >= 0 && ran.us >= slow_us as u64 {
                        slow.push((cmd.args.clone(), ran.us));
                    }
                    self.note_run(cmd.meta, ran.us, &ran.reply);
                    replies.push(ran.reply);
                    wrote = wrote.max(ran.seq);
                }
                i += jobs.len();
                mark = Instant::now();
                continue;
            }
            if let Some(reply) = &cmd.answer {
                replies.push(Reply::clone(reply));
                i += 1;
                continue;
            }
            if let Some(tx) = &cmd.tx {
                // A transaction pipelined among writes: one unit, its
                // replies EXEC's array.
                let (unit, unit_slow, unit_wrote) = self.run_cmds(tx, group, true);
                let t = Instant::now();
                self.note_run(cmd.meta, micros(t - mark), &Reply::Nil);
                mark = t;
                replies.push(Reply::Array(unit));
                slow.extend(unit_slow);
                wrote = wrote.max(unit_wrote);
                i += 1;
                continue;
            }
            group.made_by(cmd.client);
            let now = unit_now.unwrap_or_else(|| (wall + (mark - t0)).as_millis() as u64);
            let reply = self.execute(cmd, group, now);
            let t = Instant::now();
            let us = micros(t - mark);
            mark = t;
            if slow_us >= 0 && us >= slow_us as u64 {
                slow.push((cmd.args.clone(), us));
            }
            self.note_run(cmd.meta, us, &reply);
            replies.push(reply);
            wrote = wrote.max(group.last_seq_from(start));
            if !atomic && !self.blocked.is_empty() {
                self.serve_blocked(group, start);
                // (serving blocked clients is not the next command's time)
                mark = Instant::now();
            }
            i += 1;
        }
        if let (true, Some(start)) = (atomic, unit_start) {
            seal_command(&mut group.events, start);
            // Blocked clients are served after the whole unit.
            self.serve_blocked(group, start);
        }
        (replies, slow, wrote)
    }

    pub(super) fn execute(&mut self, cmd: &WriteCmd, group: &mut Group, now: u64) -> Reply {
        match cmd.exec {
            Exec::Read(f) => self.read(f, &cmd.args, group, now),
            // Every write comes parsed (WriteCmd::new, or the connection).
            Exec::Parsed(_) => match &cmd.op {
                Some(op) => self.write(cmd.meta, op.as_ref(), group, now),
                None => Reply::error("ERR internal: an unparsed write"),
            },
        }
    }

    /// Count a command run here (INFO commandstats and errorstats, the
    /// latency monitor).
    fn note_run(&self, meta: &Meta, us: u64, reply: &Reply) {
        let failed = matches!(reply, Reply::Error(_));
        self.command_stats.record(meta.name, us, failed);
        if let Reply::Error(e) = reply {
            self.command_stats.error(e);
        }
        let event = if meta.has(crate::cmd::spec::flag::FAST) {
            "fast-command"
        } else {
            "command"
        };
        self.latency.record(event, us);
    }

    /// Why nothing can run in this group now, if anything.
    pub(super) fn refused(&self, group: &Group) -> Option<Reply> {
        if let Some(why) = &group.failed {
            return Some(Reply::error(format!("ERR write failed: {why}")));
        }
        self.storage.is_none().then(|| Reply::error(READONLY))
    }

    /// A read inside an EXEC or a script: it sees the writes before it
    /// (on a slave, where nothing writes here, the store as it is).
    fn read(&mut self, f: ReadFn, args: &[Bytes], group: &mut Group, now: u64) -> Reply {
        if let Some(why) = &group.failed {
            return Reply::error(format!("ERR write failed: {why}"));
        }
        let ctx = ReadCtx {
            store: &self.store,
            now_ms: now,
            cursors: &self.cursors,
            snap: None,
            pending: Some(&group.batch),
        };
        // (a read changes nothing: a panic in it only fails it)
        match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(&ctx, args))) {
            Ok(r) => r.unwrap_or_else(|e| Reply::error(format!("ERR {e}"))),
            Err(panic) => Reply::error(format!(
                "ERR {}",
                panicked(
                    &String::from_utf8_lossy(&args[0]).to_lowercase(),
                    panic.as_ref()
                )
            )),
        }
    }

    /// Run the write `op` (of command `meta`) in the group.
    fn write(&mut self, meta: &Meta, op: &dyn WriteOp, group: &mut Group, now: u64) -> Reply {
        // A command that writes only by the way (PFCOUNT's cached count)
        // runs on a slave too, without writing.
        if meta.has(WRITE) || group.failed.is_some() {
            if let Some(refused) = self.refused(group) {
                return refused;
            }
        }
        let start = group.events.len();
        let seq = group.next_seq;
        let mark = group.batch.mark();
        // A panic inside a command (a bug) is this command's failure, not
        // the write path's: the others of its group go on and commit.
        let (result, next_seq) = {
            let mut ctx = self.ctx(group, now);
            let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| op.execute(&mut ctx)));
            (r, ctx.next_seq)
        };
        let failure = match result {
            Ok(Ok(reply)) => {
                group.batch.unmark();
                group.next_seq = next_seq;
                seal_command(&mut group.events, start);
                return reply;
            }
            Ok(Err(e)) => e.to_string(),
            Err(panic) => panicked(meta.name, panic.as_ref()),
        };
        // What it wrote is taken back; only it fails.
        if group.batch.back_to(mark) {
            group.events.truncate(start);
            group.next_seq = seq;
            return Reply::error(format!("ERR {failure}"));
        }
        error!(error = %failure, command = meta.name, "write command failed past taking back; the group is dropped");
        group.next_seq = next_seq;
        seal_command(&mut group.events, start);
        group.failed = Some(failure.clone());
        Reply::error(format!("ERR write failed: {failure}"))
    }

    /// The context a write command runs in, in `group` at `now`.
    fn ctx<'a>(&'a self, group: &'a mut Group, now: u64) -> WriteCtx<'a> {
        WriteCtx {
            store: &self.store,
            batch: &mut group.batch,
            now_ms: now,
            next_seq: group.next_seq,
            events: &mut group.events,
            writable: self.storage.is_some(),
            sizes: self.limits.now(),
            expires: true,
        }
    }

    /// A client waits: fix what its commands mean as of now (XREAD's `$`).
    fn pin(&self, served: &[(Bytes, Box<dyn WriteOp>)], group: &mut Group, now: u64) -> Result<()> {
        let ctx = self.ctx(group, now);
        for (_, op) in served {
            op.pin(&ctx)?;
        }
        Ok(())
    }

    /// Serve the clients blocked on keys that the events from `start` fed,
    /// first come first, each serve one command; serves that feed more
    /// keys (BLMOVE's destination) serve those keys' clients too.
    pub(super) fn serve_blocked(&mut self, group: &mut Group, start: usize) {
        if self.blocked.is_empty() || group.events.len() == start {
            return;
        }
        let mut fed = std::collections::VecDeque::new();
        note_fed(&self.blocked, &mut fed, &group.events[start..]);
        self.serve_keys(group, fed);
    }

    /// Serve the clients blocked on `fed`, as [`Executor::serve_blocked`].
    fn serve_keys(&mut self, group: &mut Group, mut fed: std::collections::VecDeque<Bytes>) {
        let blocked = Arc::clone(&self.blocked);
        while let Some(key) = fed.pop_front() {
            for (id, spec) in self.blocked.waiting_on(&key) {
                if group.failed.is_some() {
                    return;
                }
                let now = now_ms();
                let meta = match group.batch.meta_header(&self.store, &key) {
                    Ok(m) => m.filter(|m| !m.is_expired(now)),
                    Err(e) => {
                        group.failed = Some(e.to_string());
                        return;
                    }
                };
                // A stream's waiters look for themselves: XREADGROUP's
                // fail when their stream or group went, XREAD's wait on.
                let streams = spec.block.is_some_and(|(kind, _)| kind == Kind::Stream);
                match meta {
                    _ if streams => {}
                    None => continue,
                    Some(m) if !spec.block.is_some_and(|(kind, _)| kind == m.kind) => continue,
                    Some(_) => {}
                }
                // Claimed before the pop: a client timing out from now on
                // finds its wait gone and takes this answer instead, so a
                // popped element always reaches its client.
                let Some(w) = self.blocked.remove(id) else {
                    continue;
                };
                rocksync_failpoint::pause("engine.serve.before_pop");
                let at = group.events.len();
                group.made_by(0);
                let Some((_, op)) = w.served.iter().find(|(k, _)| *k == key) else {
                    self.blocked.put_back(id, w);
                    continue;
                };
                let answer = self.write(spec, op.as_ref(), group, now);
                if matches!(answer, Reply::Nil | Reply::NilArray) {
                    self.blocked.put_back(id, w);
                    continue;
                }
                group.served.push((w.reply, answer));
                note_fed(&blocked, &mut fed, &group.events[at..]);
            }
        }
    }

    /// Make the group durable and applied, then reply to its jobs.
    fn commit(&mut self, group: &mut Group) {
        let next_seq = self.next_seq();
        let g = std::mem::replace(group, Group::new(next_seq, None));
        let result = match &g.failed {
            Some(why) => Err(format!("ERR write failed: {why}")),
            None => self.persist(g.batch, &g.events, &g.origins).map_err(|e| {
                format!("MISCONF rocksync could not persist this write, and applied none of it ({e}); writes work again once that does")
            }),
        };
        *group = Group::new(self.next_seq(), Some(Arc::clone(&self.carry)));
        for (tx, mut done) in g.waiting {
            if let Err(text) = &result {
                done.replies
                    .iter_mut()
                    .for_each(|r| *r = Reply::error(text.clone()));
                // (nothing of it is anywhere to wait for)
                done.seq = 0;
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

    fn persist(
        &mut self,
        batch: Batch,
        events: &[LogEvent],
        origins: &[(usize, u64)],
    ) -> Result<()> {
        // A group with no events may still repair the expiry index (see
        // Job::Expire); one that changed nothing writes nothing (a script
        // that only read, on a slave too).
        if events.is_empty() && batch.is_empty() {
            return Ok(());
        }
        let Some(storage) = self.storage.as_mut() else {
            return Err(Error::Stopped);
        };
        let number = self.written.next();
        let (metas, everything) = batch.written(crate::store::Cf::Meta);
        let (fields, _) = batch.written(crate::store::Cf::Sub);
        self.written.record(number, metas.chain(fields), everything);
        let layer = match storage.commit_from(batch, events, origins) {
            Ok(layer) => layer,
            Err(e) => {
                // What the store holds now is not certain: no pre-read
                // from before holds, nor any group kept.
                self.written.void_before(number);
                self.carry = Arc::default();
                // Nothing of the group stays logged or applied; the next
                // group tries again.
                if !self.stats.failed.swap(true, Ordering::Relaxed) {
                    error!(error = %e, "a write group could not be persisted; refusing writes until one can");
                }
                return Err(e);
            }
        };
        if let Some(layer) = layer {
            match Arc::get_mut(&mut self.carry) {
                Some(carry) => carry.keep(layer),
                // (a batch still holds it: it would read what the store
                // no longer holds, so nobody keeps it)
                None => self.carry = Arc::default(),
            }
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

/// A command that panicked (a bug), logged: what its client is told.
fn panicked(command: &str, panic: &(dyn std::any::Any + Send)) -> String {
    let what = panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic".into());
    error!(command, panic = %what, "a command panicked; what it wrote is taken back, the rest of its group goes on");
    format!("internal error in '{command}': {what}")
}

/// Add to `fed` the keys of `events` that wake someone waiting on them
/// (a FLUSHALL: every key waited on).
fn note_fed(blocked: &Blocked, fed: &mut std::collections::VecDeque<Bytes>, events: &[LogEvent]) {
    for e in events {
        if e.cmd == Command::FlushAll {
            for k in blocked.keys() {
                if !fed.contains(&k) {
                    fed.push_back(k);
                }
            }
            continue;
        }
        if !fed.contains(&e.key) && blocked.has_waiters(&e.key) && crate::cmd::stream::wakes(e) {
            fed.push_back(e.key.clone());
        }
    }
}

/// The wall clock's time since the Unix epoch (zero before it).
pub(super) fn since_epoch() -> std::time::Duration {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
}

/// Whole microseconds of `d`.
fn micros(d: std::time::Duration) -> u64 {
    d.as_micros() as u64
}
