//! Scripts on the write path: a script runs inside a group, its
//! `redis.call`s executed as the group's commands, so its writes are one
//! unit (sealed as one command in the binlog and on every slave) and no
//! other write falls between its calls. Reads see its writes so far.

use std::time::Instant;

use bytes::Bytes;
use rocksync_protocol::Reply;
use tokio::sync::oneshot;

use super::group::{since_epoch, Executor, Group};
use super::job::{Done, WriteCmd};
use crate::cmd::spec::flag::WRITE;
use crate::cmd::spec::Meta;
use crate::cmd::{seal_command, Exec};
use crate::script::{Host, Run, Vm};

/// What a script's call names, as the command table resolves it.
pub enum Callee {
    /// A data command, run in the group.
    Data(&'static Meta, Exec),
    /// A command answered without data (PING, ECHO, TIME): its reply.
    Answered(Reply),
}

/// The command table's view for scripts: the command `args` name, or
/// Redis's error for one a script may not call.
pub type Resolver = fn(&[Bytes]) -> Result<Callee, Reply>;

/// A script to run (EVAL and its kin), or a function (FCALL).
pub struct ScriptJob {
    /// A script's SHA-1, or the function's name.
    pub sha: String,
    /// A script's source (empty for a function).
    pub body: Bytes,
    /// For a function: the catalog it is found in.
    pub function: Option<std::sync::Arc<crate::script::Catalog>>,
    /// KEYS.
    pub keys: Vec<Bytes>,
    /// ARGV.
    pub argv: Vec<Bytes>,
    /// The command's first three arguments as the client sent them.
    pub called: [Bytes; 3],
    /// EVAL_RO / EVALSHA_RO: writes are refused.
    pub read_only: bool,
    /// The client that runs it (NOLOOP).
    pub client: u64,
    /// The command table.
    pub resolve: Resolver,
    /// A restricted user's script: its calls are checked.
    pub caller: Option<std::sync::Arc<crate::acl::ScriptCaller>>,
}

/// The write path answering the calls of a batch of scripts, and told as
/// each begins and ends.
struct GroupHost<'a> {
    exec: &'a mut Executor,
    group: &'a mut Group,
    jobs: &'a [&'a ScriptJob],
    /// In an EXEC: the unit seals the scripts and serves blocked clients.
    unit: bool,
    /// The running script: its index, first event, start and clock (one
    /// for the whole script, as Redis keeps).
    at: usize,
    start: usize,
    now: u64,
    /// The wall clock and the monotonic one at the batch's start.
    clock: (std::time::Duration, Instant),
    ran: Vec<Ran>,
}

/// How a script ran.
pub(super) struct Ran {
    pub reply: Reply,
    /// How long it took.
    pub us: u64,
    /// The seq of its own last event (what sync-replicas waits on).
    pub seq: u64,
}

impl Host for GroupHost<'_> {
    fn call(&mut self, args: Vec<Bytes>) -> Reply {
        let job = self.jobs[self.at];
        if let Some(Err(why)) = job.caller.as_ref().map(|c| c.check(&args)) {
            return Reply::Error(why);
        }
        let (meta, exec) = match (job.resolve)(&args) {
            Ok(Callee::Data(meta, exec)) => (meta, exec),
            Ok(Callee::Answered(reply)) => return reply,
            Err(reply) => return reply,
        };
        if meta.has(WRITE) {
            if job.read_only {
                return Reply::error("ERR Write commands are not allowed from read-only scripts.");
            }
            if let Some(refused) = self.exec.refused(self.group) {
                return refused;
            }
            // (a script that declared no flags: checked at each write, as
            // Redis does; one with flags was checked before it ran)
            if let Some(refused) = self.exec.slaves.refuse_write() {
                return Reply::error(refused);
            }
            if !self.exec.scripts.note_write() {
                // Killed (or the node stopping) before its first write.
                return Reply::error("ERR Script killed by user with SCRIPT KILL...");
            }
        }
        let cmd = WriteCmd::new(meta, exec, args).unwrap_or_else(|c| c);
        self.exec.execute(&cmd, self.group, self.now)
    }

    fn begin(&mut self, i: usize, started: Instant) -> u64 {
        self.at = i;
        self.start = self.group.events_len();
        self.group.made_by(self.jobs[i].client);
        // The wall clock at the batch's start plus the monotonic time
        // since: no clock read of its own.
        let (wall, t0) = self.clock;
        self.now = (wall + started.saturating_duration_since(t0)).as_millis() as u64;
        self.now
    }

    fn end(&mut self, _: usize, reply: Reply, us: u64) {
        if !self.unit {
            seal_command(self.group.events_mut(), self.start);
        }
        if self.exec.scripts.aborted() {
            // Stopped by a shutdown: what it wrote is not committed.
            self.group.fail("the node is shutting down".into());
        }
        let seq = self.group.last_seq_from(self.start);
        if !self.unit {
            self.exec.serve_blocked(self.group, self.start);
        }
        self.ran.push(Ran { reply, us, seq });
    }
}

impl Executor {
    /// Run a script in `group`: its writes sealed as one command, blocked
    /// clients served after it, its reply sent when the group commits.
    pub(super) fn run_script(
        &mut self,
        job: ScriptJob,
        reply: oneshot::Sender<Done>,
        group: &mut Group,
    ) {
        let start = group.events_len();
        let answer = self
            .run_scripts(&[&job], group, false, (since_epoch(), Instant::now()))
            .pop()
            .map_or_else(|| Reply::error("ERR the script did not run"), |r| r.reply);
        group.answer(reply, answer, start);
    }

    /// Run `jobs` in `group` in order, in one batch of the interpreter:
    /// each script's writes sealed as one command with blocked clients
    /// served after it, unless `unit` (in an EXEC, whose unit does both).
    /// `clock`: the wall clock and the monotonic one read together, which
    /// the scripts' times derive from. How each ran, in order.
    pub(super) fn run_scripts(
        &mut self,
        jobs: &[&ScriptJob],
        group: &mut Group,
        unit: bool,
        clock: (std::time::Duration, Instant),
    ) -> Vec<Ran> {
        let mut vm = match self.vm.take() {
            Some(vm) => vm,
            None => match Vm::new(std::sync::Arc::clone(&self.scripts)) {
                Ok(vm) => vm,
                Err(e) => {
                    let why = Reply::error(format!("ERR scripting is unavailable: {e}"));
                    return jobs
                        .iter()
                        .map(|_| Ran {
                            reply: why.clone(),
                            us: 0,
                            seq: 0,
                        })
                        .collect();
                }
            },
        };
        let runs: Vec<Run<'_>> = jobs
            .iter()
            .map(|job| Run {
                name: &job.sha,
                body: &job.body,
                function: job.function.as_ref(),
                keys: &job.keys,
                argv: &job.argv,
                called: &job.called,
            })
            .collect();
        let mut host = GroupHost {
            exec: self,
            group,
            jobs,
            unit,
            at: 0,
            start: 0,
            now: 0,
            clock,
            ran: Vec::with_capacity(jobs.len()),
        };
        vm.run_all(&mut host, &runs);
        let ran = std::mem::take(&mut host.ran);
        self.vm = Some(vm);
        ran
    }
}
