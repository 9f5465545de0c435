//! Scripts on the write path: a script runs inside a group, its
//! `redis.call`s executed as the group's commands, so its writes are one
//! unit (sealed as one command in the binlog and on every slave) and no
//! other write falls between its calls. Reads see its writes so far.

use bytes::Bytes;
use rocksync_protocol::Reply;
use tokio::sync::oneshot;

use super::group::{Executor, Group};
use super::job::{Done, WriteCmd};
use crate::clock::now_ms;
use crate::cmd::spec::flag::WRITE;
use crate::cmd::spec::Meta;
use crate::cmd::{seal_command, Exec};
use crate::script::{Host, Vm};

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
    /// EVAL_RO / EVALSHA_RO: writes are refused.
    pub read_only: bool,
    /// The client that runs it (NOLOOP).
    pub client: u64,
    /// The command table.
    pub resolve: Resolver,
    /// A restricted user's script: its calls are checked.
    pub caller: Option<std::sync::Arc<crate::acl::ScriptCaller>>,
}

/// The write path answering a script's calls.
struct GroupHost<'a> {
    exec: &'a mut Executor,
    group: &'a mut Group,
    resolve: Resolver,
    read_only: bool,
    caller: Option<std::sync::Arc<crate::acl::ScriptCaller>>,
    /// One clock for the whole script, as Redis keeps.
    now: u64,
}

impl Host for GroupHost<'_> {
    fn call(&mut self, args: Vec<Bytes>) -> Reply {
        if let Some(Err(why)) = self.caller.as_ref().map(|c| c.check(&args)) {
            return Reply::Error(why);
        }
        let (meta, exec) = match (self.resolve)(&args) {
            Ok(Callee::Data(meta, exec)) => (meta, exec),
            Ok(Callee::Answered(reply)) => return reply,
            Err(reply) => return reply,
        };
        if meta.has(WRITE) {
            if self.read_only {
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
        let answer = self.script_reply(&job, group);
        seal_command(group.events_mut(), start);
        self.serve_blocked(group, start);
        group.answer(reply, answer, start);
    }

    /// Run a script in `group` (alone, or in its turn in an EXEC, whose
    /// unit seals it): its reply.
    pub(super) fn script_reply(&mut self, job: &ScriptJob, group: &mut Group) -> Reply {
        group.made_by(job.client);
        let mut vm = match self.vm.take() {
            Some(vm) => vm,
            None => match Vm::new(std::sync::Arc::clone(&self.scripts)) {
                Ok(vm) => vm,
                Err(e) => return Reply::error(format!("ERR scripting is unavailable: {e}")),
            },
        };
        let answer = {
            let mut host = GroupHost {
                exec: self,
                group,
                resolve: job.resolve,
                read_only: job.read_only,
                caller: job.caller.clone(),
                now: now_ms(),
            };
            match &job.function {
                Some(catalog) => {
                    vm.run_function(&mut host, catalog, &job.sha, &job.keys, &job.argv)
                }
                None => vm.run(&mut host, &job.sha, &job.body, &job.keys, &job.argv),
            }
        };
        self.vm = Some(vm);
        if self.scripts.aborted() {
            // Stopped by a shutdown: what it wrote is not committed.
            group.fail("the node is shutting down".into());
        }
        answer
    }
}
