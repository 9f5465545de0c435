//! What the write path is given: commands ([`WriteCmd`]), jobs, and what
//! it gives back ([`Done`]), with its counters.

use std::sync::atomic::{AtomicBool, AtomicU64};
use std::sync::Arc;

use bytes::Bytes;
use rocksync_protocol::Reply;
use tokio::sync::oneshot;

use crate::blocking::BlockStart;
use crate::cmd::spec::Meta;
use crate::cmd::{Exec, Refused, WriteOp};
use crate::error::Result;
use crate::preread::PreRead;
use crate::storage::Storage;
use crate::watch::Watch;

use super::script::ScriptJob;

/// The reply to a write that reaches a node that does not take writes.
pub const READONLY: &str = "READONLY You can't write against a read only replica.";

/// Most events in one group before it commits.
pub(super) const MAX_GROUP_EVENTS: usize = 8192;

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
    /// The client that sent it (0: none), for CLIENT TRACKING's NOLOOP.
    pub client: u64,
    /// An EVAL-family command inside an EXEC: the script it runs in its
    /// turn (its `op` is then unused).
    pub script: Option<Box<super::ScriptJob>>,
    /// An EXEC pipelined among writes: its commands, run as one unit
    /// whose replies are its reply (its `op` is then unused).
    pub tx: Option<Vec<WriteCmd>>,
    /// Runs nothing and answers this in its turn (MULTI's or a queued
    /// command's reply behind writes of the same pipeline).
    pub answer: Option<Box<Reply>>,
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
                        client: 0,
                        script: None,
                        tx: None,
                        answer: None,
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
            client: 0,
            script: None,
            tx: None,
            answer: None,
        })
    }

    /// A command that runs nothing and answers `reply` in its turn.
    pub fn answer(reply: Reply) -> Self {
        static ANSWER: Meta = crate::cmd::spec::cmd("answer", 1, 0, 0);
        Self {
            meta: &ANSWER,
            exec: Exec::Parsed(|_| Err(Reply::error("ERR internal: an answer runs nothing"))),
            args: Vec::new(),
            op: None,
            client: 0,
            script: None,
            tx: None,
            answer: Some(Box::new(reply)),
        }
    }

    /// A blocking command parsed once per key it waits on, narrowed to
    /// that key (BLPOP a b 0 → BLPOP a 0, BLPOP b 0): what serves it when
    /// that key gets data. Parsed by the caller (the connection), so the
    /// write path parses nothing when it serves a blocked client.
    pub fn per_key(&self) -> Vec<(Bytes, Box<dyn WriteOp>)> {
        let (Some((_, at)), Exec::Parsed(parse)) = (self.meta.block, self.exec) else {
            return Vec::new();
        };
        at.keys(&self.args)
            .iter()
            .map(|key| {
                let op = parse(&at.narrow(&self.args, key))
                    .unwrap_or_else(|reply| Box::new(Refused(reply)));
                (key.clone(), op)
            })
            .collect()
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
    /// The seq of its last event (0: it wrote nothing): what
    /// `sync-replicas` slaves must acknowledge.
    pub seq: u64,
    /// Why its replies say nothing of its outcome: too few slaves
    /// acknowledged it in time (`sync-replicas`).
    pub unacked: Option<String>,
}

pub(super) enum Job {
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
        /// What serves it when one of its keys is fed: the command
        /// narrowed to that key, parsed on the connection.
        served: Vec<(Bytes, Box<dyn WriteOp>)>,
        reply: oneshot::Sender<BlockStart>,
    },
    /// A script (EVAL and its kin), run as one unit.
    Script(ScriptJob, oneshot::Sender<Done>),
    /// A slave applied its master's writes to these keys, on which
    /// clients wait (XREAD BLOCK): serve them.
    Wake {
        keys: Vec<Bytes>,
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
