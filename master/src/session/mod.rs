//! A client's session: its state (AUTH, MULTI, subscriptions, WATCH), the
//! context the commands it answers itself receive, and those commands,
//! one file per group: connection, server, config, client, replication,
//! pub/sub, transactions.

pub mod acl;
pub mod client;
pub mod config;
pub mod connection;
pub mod functions;
pub mod latency;
pub mod migrate;
pub mod multi;
pub mod pubsub;
pub mod replication;
pub mod scripting;
pub mod server;

use std::collections::HashSet;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use rocksync_protocol::{Proto, Reply};
use tokio::sync::mpsc;

use crate::acl::User;
use crate::blocking::Wait;
use crate::clients::{ClientInfo, Subscriber};
pub use crate::cmd::wrong_arity;
use crate::outbuf::Outbox;
use crate::state::Core;
use crate::tracking::{Mailbox, Options, Tracking};
use crate::watch::Watch;

/// Per-connection state.
pub struct Client {
    /// Its id (CLIENT ID).
    pub id: u64,
    /// AUTH passed (or no password is set).
    pub authenticated: bool,
    /// The user it is (or will be) authenticated as.
    pub user: Arc<User>,
    /// What CLIENT LIST shows of it.
    pub info: Arc<ClientInfo>,
    /// Messages for this subscriber, once it subscribed.
    pub inbox: Option<mpsc::UnboundedReceiver<Reply>>,
    /// Its handle in the channel registry, once it subscribed.
    pub sub: Option<Subscriber>,
    /// Channels it is subscribed to.
    pub channels: HashSet<Bytes>,
    /// Patterns it is subscribed to.
    pub patterns: HashSet<Bytes>,
    /// Commands queued since MULTI.
    pub multi: Option<Vec<Vec<Bytes>>>,
    /// A command was refused while queuing: EXEC aborts.
    pub multi_dirty: bool,
    /// SYNC140 received: the socket goes to a sync session.
    pub handoff: Option<Vec<Bytes>>,
    /// It gave its port with `REPLCONF listening-port` (a replica).
    pub replica_port: bool,
    /// `REPLCONF rdb-only 1`: it wants the RDB only (a tool).
    pub rdb_only: bool,
    /// `REPLCONF rdb-filter-only functions`: of the RDB, the function
    /// libraries only.
    pub functions_only: bool,
    /// Its WATCHed keys.
    pub watch: Option<Arc<Watch>>,
    /// The protocol it speaks (HELLO).
    pub proto: Proto,
    /// CLIENT TRACKING's options, while on.
    pub tracking: Option<Options>,
    /// CLIENT CACHING's answer, for the command after it.
    pub caching: Option<bool>,
}

impl Client {
    /// A new client's state.
    pub fn new(id: u64, user: Arc<User>, info: Arc<ClientInfo>) -> Self {
        Self {
            id,
            authenticated: user.needs_no_auth(),
            user,
            info,
            inbox: None,
            sub: None,
            channels: HashSet::new(),
            patterns: HashSet::new(),
            multi: None,
            multi_dirty: false,
            handoff: None,
            replica_port: false,
            rdb_only: false,
            functions_only: false,
            watch: None,
            proto: Proto::Resp2,
            tracking: None,
            caching: None,
        }
    }

    /// Authenticated as `user` from now on (AUTH, HELLO, RESET).
    pub fn become_user(&mut self, user: Arc<User>) {
        *crate::lock(&self.info.user) = user.name.clone();
        self.user = user;
    }

    /// Speak `proto` from the next reply on (HELLO, RESET).
    pub fn set_proto(&mut self, proto: Proto) {
        self.proto = proto;
        self.info
            .resp
            .store(proto.version() as u8, Ordering::Relaxed);
    }

    /// Its channel and pattern subscriptions.
    pub fn subscriptions(&self) -> usize {
        self.channels.len() + self.patterns.len()
    }

    /// The connection's queue of out-of-band messages (pub/sub messages,
    /// invalidations), opened on first use and registered where
    /// invalidations find it.
    pub fn open_inbox(&mut self, tracking: &Tracking) -> Subscriber {
        if let Some(sub) = &self.sub {
            return sub.clone();
        }
        let (sub, rx) = Outbox::open(Arc::clone(&self.info.held), self.info.kill.clone());
        self.inbox = Some(rx);
        self.sub = Some(sub.clone());
        tracking.open_mailbox(
            self.id,
            Mailbox {
                outbox: sub.clone(),
                resp: Arc::clone(&self.info.resp),
            },
        );
        sub
    }

    /// Publish the counts to CLIENT LIST; with no subscription and no
    /// tracking left, drop what was still queued (it is not for this
    /// client any more).
    pub fn subscriptions_changed(&mut self, tracking: &Tracking) {
        self.info.subs.store(self.channels.len(), Ordering::Relaxed);
        self.info
            .psubs
            .store(self.patterns.len(), Ordering::Relaxed);
        self.info.held.set_pubsub(self.subscriptions() > 0);
        if self.subscriptions() == 0 && self.tracking.is_none() && self.sub.is_some() {
            // (what is still queued was published as this client left:
            // it is not sent, and no longer held for it)
            if let Some(mut rx) = self.inbox.take() {
                rx.close();
                while let Ok(m) = rx.try_recv() {
                    self.info.held.dequeue(crate::outbuf::approx_len(&m));
                }
            }
            self.sub = None;
            tracking.close_mailbox(self.id);
        }
    }

    /// Whether the read it is about to run tells it when its keys change
    /// (default-mode tracking, as OPTIN/OPTOUT and CLIENT CACHING allow).
    pub fn tracks_reads(&self) -> bool {
        match &self.tracking {
            Some(o) if o.bcast => false,
            Some(o) if o.optin => self.caching == Some(true),
            Some(o) if o.optout => self.caching != Some(false),
            Some(_) => true,
            None => false,
        }
    }
}

/// What a command asks of the connection afterwards.
pub enum After {
    /// Go on.
    Continue,
    /// Close the connection (QUIT, a kill).
    Close,
    /// Close the connection without sending this command's reply
    /// (SHUTDOWN).
    Stop,
    /// Hand the socket to a sync session (SYNC140 and its arguments).
    Handoff(Vec<Bytes>),
    /// Run the queued transaction (EXEC).
    Exec,
    /// A blocking command is waiting; the pipeline's rest runs after it.
    Block(Box<BlockedCmd>),
    /// The replies made so far are many: they go out, then these
    /// commands (the pipeline's rest) run.
    More(Vec<Vec<Bytes>>),
}

/// A client blocked in BLPOP or its kin.
pub struct BlockedCmd {
    /// Its place among the waiters.
    pub wait: Wait,
    /// None: for ever (on timeout the answer is a nil array, whatever
    /// the command, as in Redis).
    pub timeout: Option<Duration>,
    /// The commands pipelined after it.
    pub rest: Vec<Vec<Bytes>>,
}

/// What a command the connection answers works with: the node, the
/// client, the replies written so far, and what the connection does next.
pub struct Session<'a> {
    /// The node's shared state.
    pub core: &'a Arc<Core>,
    /// This client.
    pub client: &'a mut Client,
    /// Replies go here (a command with one reply returns it instead).
    pub out: &'a mut BytesMut,
    /// What the connection does after this command.
    pub after: After,
    /// Run by an EXEC: nothing may wait (WAIT answers at once).
    pub in_exec: bool,
}

/// What a command that waits (a role change, WAIT, DEBUG SLEEP) returns:
/// its reply, later.
pub type BoxReply<'s> = Pin<Box<dyn Future<Output = Reply> + Send + 's>>;

/// Run `op`, made on the connection for the command `a`, on the write
/// path as one unit: its reply.
pub(crate) async fn write_op(
    s: &mut Session<'_>,
    a: &[Bytes],
    op: Box<dyn crate::cmd::WriteOp>,
) -> Reply {
    let meta = match crate::command::resolve(a) {
        Ok(spec) => &spec.meta,
        Err(e) => return e,
    };
    let cmd = crate::engine::WriteCmd {
        meta,
        exec: crate::cmd::Exec::Parsed(made_on_the_connection),
        args: a.to_vec(),
        op: Some(op),
        client: s.client.id,
        script: None,
        tx: None,
        answer: None,
    };
    s.core
        .engine
        .write(vec![cmd], true)
        .await
        .pop()
        .unwrap_or_else(|| Reply::error("ERR the write path is stopped"))
}

/// Never called: what [`write_op`] sends is parsed already.
fn made_on_the_connection(_: &[Bytes]) -> Result<Box<dyn crate::cmd::WriteOp>, Reply> {
    Err(Reply::error(
        "ERR internal: a write made on the connection is parsed already",
    ))
}

/// A bulk reply of a string.
pub fn bulk_str(s: impl Into<String>) -> Reply {
    Reply::Bulk(Bytes::from(s.into()))
}

/// A HELP subcommand's reply.
pub fn help_lines(lines: &[&str]) -> Reply {
    Reply::Array(lines.iter().map(|l| Reply::Simple((*l).into())).collect())
}

/// Redis's error for an unknown command.
pub fn unknown_command(args: &[Bytes]) -> Reply {
    let mut text = format!(
        "ERR unknown command '{}', with args beginning with: ",
        String::from_utf8_lossy(&args[0])
    );
    for a in args[1..].iter().take(20) {
        text.push_str(&format!(
            "'{}' ",
            String::from_utf8_lossy(&a[..a.len().min(128)])
        ));
    }
    Reply::error(text)
}

/// Redis's error for an unknown subcommand.
pub fn unknown_subcommand(args: &[Bytes]) -> Reply {
    Reply::error(format!(
        "ERR unknown subcommand '{}'. Try {} HELP.",
        String::from_utf8_lossy(args.get(1).map_or(&b""[..], |a| &a[..])),
        String::from_utf8_lossy(&args[0]).to_uppercase()
    ))
}

/// An internal error as a reply.
pub fn err_reply(e: impl std::fmt::Display) -> Reply {
    Reply::error(format!("ERR {e}"))
}
