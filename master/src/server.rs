//! The RESP server: an accept loop capped by `maxclients`, one task per
//! connection (pipelining, AUTH, Redis's errors for malformed input), the
//! server commands, and a clean shutdown. Shared by the master and, in
//! read-only mode, by slaves.

use std::collections::HashSet;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU16, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use rocksync_protocol::{Reply, RequestDecoder, RespLimits};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_util::codec::Decoder;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::{debug, info, info_span, warn, Instrument};

use crate::blocking::{BlockStart, Wait};
use crate::clients::ClientInfo;
use crate::clients::{Clients, KillFilter, PubSub, Subscriber, SUBSCRIBER_BACKLOG};
use crate::cmd::{self, Cursors, Exec, ReadCtx};
use crate::config::Config;
use crate::engine::{now_ms, Engine, WriteCmd, READONLY};
use crate::info;
use crate::node::{Follower, Following, LinkState, Role};
use crate::repl::Replication;
use crate::slowlog::SlowLog;
use crate::store::Store;
use crate::watch::Watch;
use rocksync_binlog::Binlog;

/// Connection counters.
#[derive(Debug, Default)]
pub struct ConnStats {
    /// Open connections.
    pub connected: AtomicUsize,
    /// Connections accepted since start.
    pub received: AtomicU64,
    /// Connections refused by `maxclients`.
    pub rejected: AtomicU64,
    /// Commands processed.
    pub commands: AtomicU64,
    /// Commands per second over the last second.
    pub ops_per_sec: AtomicU64,
}

/// Settings CONFIG SET may change while running.
#[derive(Debug, Clone)]
pub struct Live {
    /// The configuration in force.
    pub config: Config,
}

/// Everything a connection needs: the node's shared state.
pub struct Core {
    /// The store.
    pub store: Arc<Store>,
    /// The binlog's read side.
    pub binlog: Binlog,
    /// The write path (holding the storage while this node is a master).
    pub engine: Engine,
    /// The sync sessions this node serves.
    pub repl: Arc<Replication>,
    /// The replication link's state (while a slave).
    pub link: Arc<LinkState>,
    /// Live settings.
    pub live: Mutex<Live>,
    /// SCAN cursors.
    pub cursors: Arc<Cursors>,
    /// Connected clients (CLIENT LIST / KILL).
    pub clients: Clients,
    /// Channel and pattern subscribers.
    pub pubsub: PubSub,
    /// Counters.
    pub stats: ConnStats,
    /// Start time.
    pub started: Instant,
    /// This process's id (40 hex digits, new at every start).
    pub run_id: String,
    role: Mutex<Role>,
    pub(crate) following: tokio::sync::Mutex<Option<Following>>,
    pub(crate) follower: Option<Arc<dyn Follower>>,
    /// Set once shutdown begins: no role change starts after it.
    pub(crate) stopping: AtomicBool,
    /// Cancelled by SHUTDOWN: the process stops as on SIGTERM.
    pub(crate) shutdown_asked: CancellationToken,
    /// SLOWLOG.
    pub slowlog: SlowLog,
    port: AtomicU16,
    next_client_id: AtomicU64,
}

impl Core {
    /// Assemble a core.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new(
        store: Arc<Store>,
        binlog: Binlog,
        engine: Engine,
        repl: Arc<Replication>,
        link: Arc<LinkState>,
        config: Config,
        role: Role,
        follower: Option<Arc<dyn Follower>>,
    ) -> Arc<Self> {
        let cursors = Arc::clone(&engine.cursors);
        engine
            .slow_us
            .store(config.slowlog_log_slower_than, Ordering::Relaxed);
        Arc::new(Self {
            store,
            binlog,
            engine,
            repl,
            link,
            port: AtomicU16::new(config.port),
            live: Mutex::new(Live { config }),
            cursors,
            clients: Clients::default(),
            pubsub: PubSub::default(),
            stats: ConnStats::default(),
            started: Instant::now(),
            run_id: crate::storage::new_replid(),
            role: Mutex::new(role),
            following: tokio::sync::Mutex::new(None),
            follower,
            stopping: AtomicBool::new(false),
            shutdown_asked: CancellationToken::new(),
            slowlog: SlowLog::default(),
            next_client_id: AtomicU64::new(1),
        })
    }

    /// A copy of the configuration in force.
    pub fn config(&self) -> Config {
        self.live
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .config
            .clone()
    }

    /// The role now.
    pub fn role(&self) -> Role {
        self.role
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    pub(crate) fn set_role(&self, role: Role) {
        *self
            .role
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = role;
    }

    /// True while this node refuses writes (a slave).
    pub fn is_read_only(&self) -> bool {
        !matches!(
            *self
                .role
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
            Role::Master
        )
    }

    /// True while data reads are refused: a slave in the middle of a full
    /// copy holds partial data.
    pub fn is_loading(&self) -> bool {
        self.is_read_only() && self.link.copying.load(Ordering::Relaxed)
    }

    /// The port clients connect to.
    pub fn listening_port(&self) -> u16 {
        self.port.load(Ordering::Relaxed)
    }
}

/// A running server.
pub struct Server {
    addr: SocketAddr,
    cancel: CancellationToken,
    tracker: TaskTracker,
}

impl Server {
    /// Bind and start accepting.
    ///
    /// # Errors
    /// The bind error.
    pub async fn start(core: Arc<Core>, cancel: CancellationToken) -> std::io::Result<Self> {
        let cfg = core.config();
        let listener = TcpListener::bind((cfg.bind.as_str(), cfg.port)).await?;
        let addr = listener.local_addr()?;
        core.port.store(addr.port(), Ordering::Relaxed);
        let tracker = TaskTracker::new();
        tracker.spawn(accept_loop(
            listener,
            Arc::clone(&core),
            cancel.clone(),
            tracker.clone(),
        ));
        tracker.spawn(sample_ops(Arc::clone(&core), cancel.clone()));
        info!(%addr, "listening");
        Ok(Self {
            addr,
            cancel,
            tracker,
        })
    }

    /// The bound address.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stop accepting, let in-flight commands finish, wait for every
    /// connection task.
    pub async fn shutdown(self) {
        self.cancel.cancel();
        self.tracker.close();
        if tokio::time::timeout(Duration::from_secs(10), self.tracker.wait())
            .await
            .is_err()
        {
            warn!("connections still open after 10 s; stopping anyway");
        }
    }
}

async fn sample_ops(core: Arc<Core>, cancel: CancellationToken) {
    let mut last = core.stats.commands.load(Ordering::Relaxed);
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = cancel.cancelled() => return,
        }
        let now = core.stats.commands.load(Ordering::Relaxed);
        core.stats.ops_per_sec.store(now - last, Ordering::Relaxed);
        last = now;
    }
}

async fn accept_loop(
    listener: TcpListener,
    core: Arc<Core>,
    cancel: CancellationToken,
    tracker: TaskTracker,
) {
    loop {
        let (stream, peer) = tokio::select! {
            r = listener.accept() => match r {
                Ok(x) => x,
                Err(e) => {
                    warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = cancel.cancelled() => return,
        };
        let _ = stream.set_nodelay(true);
        core.stats.received.fetch_add(1, Ordering::Relaxed);
        let max = core.config().maxclients;
        if core.stats.connected.load(Ordering::Relaxed) >= max {
            core.stats.rejected.fetch_add(1, Ordering::Relaxed);
            tracker.spawn(async move {
                let mut stream = stream;
                let _ = stream
                    .write_all(b"-ERR max number of clients reached\r\n")
                    .await;
            });
            continue;
        }
        let id = core.next_client_id.fetch_add(1, Ordering::Relaxed);
        let span = info_span!("conn", id, %peer);
        let core = Arc::clone(&core);
        let cancel = cancel.clone();
        // Counted before the next accept, so maxclients holds however fast
        // connections come.
        core.stats.connected.fetch_add(1, Ordering::Relaxed);
        tracker.spawn(
            async move {
                debug!("connected");
                serve(Arc::clone(&core), stream, peer, id, cancel).await;
                core.stats.connected.fetch_sub(1, Ordering::Relaxed);
                debug!("closed");
            }
            .instrument(span),
        );
    }
}

/// Per-connection state.
struct Client {
    id: u64,
    authenticated: bool,
    info: Arc<ClientInfo>,
    /// Messages for this subscriber, once it subscribed.
    inbox: Option<mpsc::Receiver<Reply>>,
    sub: Option<Subscriber>,
    channels: HashSet<Bytes>,
    patterns: HashSet<Bytes>,
    /// Commands queued since MULTI.
    multi: Option<Vec<Vec<Bytes>>>,
    /// A command was refused while queuing: EXEC aborts.
    multi_dirty: bool,
    /// SYNC140 received: the socket goes to a sync session.
    handoff: Option<Vec<Bytes>>,
    /// Its WATCHed keys.
    watch: Option<Arc<Watch>>,
}

impl Client {
    fn subscriptions(&self) -> usize {
        self.channels.len() + self.patterns.len()
    }

    /// Publish the counts to CLIENT LIST; back in normal mode, drop what
    /// was still queued (it is not for this client any more).
    fn subscriptions_changed(&mut self) {
        self.info.subs.store(self.channels.len(), Ordering::Relaxed);
        self.info
            .psubs
            .store(self.patterns.len(), Ordering::Relaxed);
        if self.subscriptions() == 0 {
            self.inbox = None;
            self.sub = None;
        }
    }
}

/// What a pipeline asks of the connection afterwards.
enum After {
    Continue,
    Close,
    Handoff(Vec<Bytes>),
    /// A blocking command is waiting; the pipeline's rest runs after it.
    Block(Box<BlockedCmd>),
}

/// A client blocked in BLPOP or its kin.
struct BlockedCmd {
    wait: Wait,
    /// None: for ever (on timeout the answer is a nil array, whatever
    /// the command, as in Redis).
    timeout: Option<Duration>,
    /// The commands pipelined after it.
    rest: Vec<Vec<Bytes>>,
}

async fn serve(
    core: Arc<Core>,
    mut stream: TcpStream,
    peer: SocketAddr,
    id: u64,
    cancel: CancellationToken,
) {
    let mut buf = BytesMut::with_capacity(16 * 1024);
    let mut out = BytesMut::with_capacity(16 * 1024);
    let needs_auth = !core.config().requirepass.is_empty();
    let mut decoder = RequestDecoder::new(RespLimits::default());
    decoder.set_unauthenticated(needs_auth);
    let local = stream.local_addr().unwrap_or(peer);
    let info = core.clients.add(id, peer, local);
    let mut client = Client {
        id,
        authenticated: !needs_auth,
        info,
        inbox: None,
        sub: None,
        channels: HashSet::new(),
        patterns: HashSet::new(),
        multi: None,
        multi_dirty: false,
        handoff: None,
        watch: None,
    };
    serve_client(
        &core,
        &mut stream,
        &mut client,
        &mut buf,
        &mut out,
        &mut decoder,
        &cancel,
    )
    .await;
    for ch in std::mem::take(&mut client.channels) {
        core.pubsub.unsubscribe(false, &ch, id);
    }
    for p in std::mem::take(&mut client.patterns) {
        core.pubsub.unsubscribe(true, &p, id);
    }
    core.clients.remove(id);
    core.engine.watches.unwatch(&mut client.watch);
    if let Some(args) = client.handoff.take() {
        let rest = std::mem::take(&mut buf);
        if core.is_loading() {
            let _ = stream
                .write_all(b"-LOADING rocksync is copying the dataset from its master\r\n")
                .await;
            return;
        }
        core.repl.spawn_session(&core, args, stream, rest, peer);
    }
}

/// The command loop of one connection, until it closes, is killed, or
/// hands its socket to a sync session (`client.handoff`).
async fn serve_client(
    core: &Arc<Core>,
    stream: &mut TcpStream,
    client: &mut Client,
    buf: &mut BytesMut,
    out: &mut BytesMut,
    decoder: &mut RequestDecoder,
    cancel: &CancellationToken,
) {
    loop {
        let mut cmds = Vec::new();
        let mut protocol_error = None;
        loop {
            match decoder.decode(buf) {
                Ok(Some(args)) => cmds.push(args),
                Ok(None) => break,
                Err(e) => {
                    protocol_error = Some(e);
                    break;
                }
            }
        }
        let ran = !cmds.is_empty();
        if ran {
            // Messages published before these commands go out first.
            drain_inbox(client, out);
            core.stats
                .commands
                .fetch_add(cmds.len() as u64, Ordering::Relaxed);
            let mut after = run_pipeline(core, client, cmds, out).await;
            while let After::Block(b) = after {
                // What came before it goes out now; then it waits.
                if !write_or_stop(stream, out, client, cancel).await {
                    let _ = b.wait.cancel().await;
                    return;
                }
                out.clear();
                let BlockedCmd {
                    wait,
                    timeout,
                    rest,
                } = *b;
                let Some(answer) = wait_blocked(stream, buf, client, cancel, wait, timeout).await
                else {
                    return;
                };
                answer.unwrap_or(Reply::NilArray).encode(out);
                after = run_pipeline(core, client, rest, out).await;
            }
            decoder.set_unauthenticated(!client.authenticated);
            if !write_or_stop(stream, out, client, cancel).await {
                return;
            }
            out.clear();
            match after {
                // (a wait ended in the loop above)
                After::Continue | After::Block(_) => {}
                After::Close => return,
                After::Handoff(args) => {
                    client.handoff = Some(args);
                    return;
                }
            }
        }
        if let Some(e) = protocol_error {
            debug!(error = %e, "protocol error; closing");
            let _ = stream.write_all(format!("-ERR {e}\r\n").as_bytes()).await;
            return;
        }
        if ran && !buf.is_empty() {
            // Bytes read ahead while a command was blocked may hold whole
            // commands: they run before anything more is read (the client
            // may be waiting for their replies and send nothing more).
            continue;
        }
        tokio::select! {
            r = stream.read_buf(buf) => match r {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            },
            Some(msg) = next_message(&mut client.inbox) => {
                msg.encode(out);
                drain_inbox(client, out);
                if !write_or_stop(stream, out, client, cancel).await {
                    return;
                }
                out.clear();
            }
            _ = cancel.cancelled() => return,
            _ = client.info.kill.cancelled() => return,
        }
    }
}

/// Most bytes read ahead from a blocked client (its next commands).
const BLOCKED_READ_AHEAD: usize = 64 * 1024 * 1024;

/// Wait for a blocked command's answer until its timeout, reading ahead
/// what the client sends meanwhile: `Some(None)` on timeout, `None` when
/// the connection is gone (its wait is withdrawn).
async fn wait_blocked(
    stream: &mut TcpStream,
    buf: &mut BytesMut,
    client: &Client,
    cancel: &CancellationToken,
    mut wait: Wait,
    timeout: Option<Duration>,
) -> Option<Option<Reply>> {
    let deadline = timeout.map(|t| tokio::time::Instant::now() + t);
    client.info.blocked.store(true, Ordering::Relaxed);
    let result = loop {
        let expired = async {
            match deadline {
                Some(d) => tokio::time::sleep_until(d).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            r = &mut wait.rx => {
                break Some(Some(r.unwrap_or_else(|_| Reply::error("ERR the write path is stopped"))));
            }
            () = expired => break Some(wait.cancel().await),
            r = stream.read_buf(buf), if buf.len() < BLOCKED_READ_AHEAD => match r {
                Ok(0) | Err(_) => {
                    let _ = wait.cancel().await;
                    break None;
                }
                Ok(_) => {}
            },
            () = client.info.kill.cancelled() => {
                let _ = wait.cancel().await;
                break None;
            }
            () = cancel.cancelled() => {
                let _ = wait.cancel().await;
                break None;
            }
        }
    };
    client.info.blocked.store(false, Ordering::Relaxed);
    result
}

/// Write `out` unless the connection is killed or the server stops first
/// (a client that never reads cannot hold its task forever); false when
/// the connection is done.
async fn write_or_stop(
    stream: &mut TcpStream,
    out: &[u8],
    client: &Client,
    cancel: &CancellationToken,
) -> bool {
    tokio::select! {
        r = stream.write_all(out) => r.is_ok(),
        _ = client.info.kill.cancelled() => false,
        _ = cancel.cancelled() => false,
    }
}

/// Move the messages waiting for a subscriber into `out`.
fn drain_inbox(client: &mut Client, out: &mut BytesMut) {
    if let Some(inbox) = client.inbox.as_mut() {
        while let Ok(m) = inbox.try_recv() {
            m.encode(out);
        }
    }
}

/// The next published message for a subscriber (never, for others).
async fn next_message(inbox: &mut Option<mpsc::Receiver<Reply>>) -> Option<Reply> {
    match inbox {
        Some(rx) => rx.recv().await,
        None => std::future::pending().await,
    }
}

/// Run a pipeline in order: consecutive writes go to the write path as one
/// job; anything else first waits for the writes before it.
async fn run_pipeline(
    core: &Arc<Core>,
    client: &mut Client,
    cmds: Vec<Vec<Bytes>>,
    out: &mut BytesMut,
) -> After {
    let mut writes: Vec<WriteCmd> = Vec::new();
    let mut cmds = cmds.into_iter().peekable();
    while let Some(args) = cmds.next() {
        if is_plain_get(&args) && plain_state(core, client) {
            // A run of GETs: one batched lookup for all of them.
            let mut run = vec![args];
            while let Some(next) = cmds.next_if(|a| is_plain_get(a) && run.len() < MAX_GET_RUN) {
                run.push(next);
            }
            flush_writes(core, client, &mut writes, out, false).await;
            get_run(core, client, &run, out);
            continue;
        }
        if client.info.kill.is_cancelled() {
            // Killed (CLIENT KILL, even by itself): nothing more runs.
            flush_writes(core, client, &mut writes, out, false).await;
            return After::Close;
        }
        let after = step(core, client, args, &mut writes, out, false).await;
        if let After::Block(mut b) = after {
            b.rest = cmds.collect();
            return After::Block(b);
        }
        if !matches!(after, After::Continue) {
            flush_writes(core, client, &mut writes, out, false).await;
            return after;
        }
    }
    flush_writes(core, client, &mut writes, out, false).await;
    After::Continue
}

/// Most GETs answered by one batched lookup.
const MAX_GET_RUN: usize = 256;

/// `GET key`, which a run of can be answered in one lookup.
fn is_plain_get(args: &[Bytes]) -> bool {
    args.len() == 2 && args[0].eq_ignore_ascii_case(b"get")
}

/// The client may run data commands as they come (no AUTH, MULTI,
/// subscriber mode, kill or copy in the way).
fn plain_state(core: &Core, client: &Client) -> bool {
    client.authenticated
        && client.multi.is_none()
        && client.subscriptions() == 0
        && !client.info.kill.is_cancelled()
        && !core.is_loading()
}

/// Answer a run of GETs from one batched lookup (a consistent view).
fn get_run(core: &Core, client: &Client, run: &[Vec<Bytes>], out: &mut BytesMut) {
    client.info.touch(b"get");
    let started = Instant::now();
    answer_gets(core, run, out);
    // One lookup served them all: each is charged its share.
    let us = started.elapsed().as_micros() as u64 / run.len() as u64;
    for args in run {
        slow_entry(core, client, args, us);
    }
}

fn answer_gets(core: &Core, run: &[Vec<Bytes>], out: &mut BytesMut) {
    let keys: Vec<&[u8]> = run.iter().map(|a| &a[1][..]).collect();
    let now = now_ms();
    match core.store.multi_meta(&keys) {
        Ok(metas) => {
            for m in metas {
                match m.filter(|m| !m.is_expired(now)) {
                    None => Reply::Nil.encode(out),
                    Some(m) if m.kind == crate::store::keys::Kind::String => {
                        Reply::Bulk(m.value).encode(out);
                    }
                    Some(_) => Reply::error(cmd::WRONGTYPE).encode(out),
                }
            }
        }
        Err(e) => {
            for _ in run {
                Reply::error(format!("ERR {e}")).encode(out);
            }
        }
    }
}

/// Commands a subscriber may send (RESP2).
fn allowed_subscribed(name: &[u8]) -> bool {
    matches!(
        name,
        b"subscribe"
            | b"psubscribe"
            | b"unsubscribe"
            | b"punsubscribe"
            | b"ping"
            | b"quit"
            | b"reset"
    )
}

/// Commands that act at once inside MULTI instead of being queued.
fn transaction_control(name: &[u8]) -> bool {
    matches!(
        name,
        b"exec" | b"discard" | b"multi" | b"watch" | b"quit" | b"reset"
    )
}

/// One command, encoding exactly one reply into `out` (SUBSCRIBE and its
/// kin encode one per channel). A write joins `writes`, sent to the write
/// path as one job when a command that is not a write comes, or at the end
/// (`atomic`: the job is one unit on the master, in the binlog and on
/// every slave: an EXEC).
async fn step(
    core: &Arc<Core>,
    client: &mut Client,
    args: Vec<Bytes>,
    writes: &mut Vec<WriteCmd>,
    out: &mut BytesMut,
    atomic: bool,
) -> After {
    let spec = cmd::lookup(&args[0]);
    // The table's lowercase name; an unknown one is lowercased here.
    let lowered;
    let name: &[u8] = match spec {
        Some(s) => s.name.as_bytes(),
        None => {
            lowered = args[0].to_ascii_lowercase();
            &lowered
        }
    };
    client.info.touch(name);
    if client.multi.is_some() && !transaction_control(name) {
        queue_in_transaction(core, client, spec, name, &args).encode(out);
        return After::Continue;
    }
    if client.subscriptions() > 0 && !allowed_subscribed(name) {
        Reply::error(format!(
            "ERR Can't execute '{}': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context",
            String::from_utf8_lossy(name)
        ))
        .encode(out);
        return After::Continue;
    }
    if let Some(spec) = spec.filter(|s| s.is_write()) {
        if !spec.arity_ok(args.len()) {
            flush_writes(core, client, writes, out, atomic).await;
            wrong_arity(&args[0]).encode(out);
            return After::Continue;
        }
        if let Some(reply) = precheck(core, client, Some(spec)) {
            flush_writes(core, client, writes, out, atomic).await;
            reply.encode(out);
            return After::Continue;
        }
        if spec.blocks.is_some() && !atomic {
            flush_writes(core, client, writes, out, atomic).await;
            return start_blocking(core, spec, args, out).await;
        }
        writes.push(WriteCmd { spec, args });
        return After::Continue;
    }
    flush_writes(core, client, writes, out, atomic).await;
    let Some(spec) = spec else {
        unknown_command(&args).encode(out);
        return After::Continue;
    };
    if !spec.arity_ok(args.len()) {
        wrong_arity(&args[0]).encode(out);
        return After::Continue;
    }
    if let Some(reply) = precheck(core, client, Some(spec)) {
        reply.encode(out);
        return After::Continue;
    }
    if core.is_loading() && !spec.has(cmd::flag::LOADING) {
        Reply::error("LOADING rocksync is copying the dataset from its master").encode(out);
        return After::Continue;
    }
    let started = Instant::now();
    let after = run_command(core, client, spec, name, args, out).await;
    if !matches!(spec.name, "exec" | "auth" | "hello" | "slowlog" | "sync140") {
        let us = started.elapsed().as_micros() as u64;
        if let Some(args) = after.1 {
            slow_entry(core, client, &args, us);
        }
    }
    after.0
}

/// Run a read or server command (not queued, not a write), encoding its
/// reply; its arguments come back for the slow log.
async fn run_command(
    core: &Arc<Core>,
    client: &mut Client,
    spec: &'static cmd::Spec,
    name: &[u8],
    args: Vec<Bytes>,
    out: &mut BytesMut,
) -> (After, Option<Vec<Bytes>>) {
    match spec.exec {
        Exec::Read(f) => {
            let ctx = ReadCtx {
                store: &core.store,
                now_ms: now_ms(),
                cursors: &core.cursors,
                snap: (!cmd::single_read(spec.name)).then(|| core.store.db().snapshot()),
                pending: None,
            };
            f(&ctx, &args)
                .unwrap_or_else(|e| Reply::error(format!("ERR {e}")))
                .encode(out);
        }
        Exec::Server => match spec.name {
            "sync140" => return (After::Handoff(args), None),
            "subscribe" | "psubscribe" => subscribe(core, client, &args, out),
            "unsubscribe" | "punsubscribe" => unsubscribe(core, client, &args, out),
            "multi" if client.multi.is_some() => {
                Reply::error("ERR MULTI calls can not be nested").encode(out);
            }
            "multi" => {
                client.multi = Some(Vec::new());
                client.multi_dirty = false;
                client.info.in_multi.store(true, Ordering::Relaxed);
                Reply::ok().encode(out);
            }
            "discard" | "exec" if client.multi.is_none() => {
                Reply::error(format!("ERR {} without MULTI", spec.name.to_uppercase())).encode(out);
            }
            "discard" => {
                client.multi = None;
                core.engine.watches.unwatch(&mut client.watch);
                client.info.in_multi.store(false, Ordering::Relaxed);
                Reply::ok().encode(out);
            }
            "exec" => return (exec_transaction(core, client, out).await, None),
            "shutdown" => match shutdown_args(&args) {
                Ok(()) => {
                    info!("SHUTDOWN asked by {}", client.info.peer);
                    core.shutdown_asked.cancel();
                    return (After::Close, None);
                }
                Err(r) => r.encode(out),
            },
            "watch" => watch_keys(core, client, &args[1..]).encode(out),
            "unwatch" => {
                core.engine.watches.unwatch(&mut client.watch);
                Reply::ok().encode(out);
            }
            _ => {
                let (reply, after) = server_command(core, client, name, &args).await;
                reply.encode(out);
                if !matches!(after, After::Continue) {
                    return (after, None);
                }
            }
        },
        Exec::Write(_) => Reply::error("ERR internal: write command on the read path").encode(out),
    }
    (After::Continue, Some(args))
}

/// SHUTDOWN [NOSAVE|SAVE] [NOW] [FORCE] [ABORT]: every form stops cleanly
/// (the data is always saved); ABORT finds no shutdown to abort.
fn shutdown_args(args: &[Bytes]) -> Result<(), Reply> {
    let mut abort = false;
    for a in &args[1..] {
        match a.to_ascii_lowercase().as_slice() {
            b"nosave" | b"save" | b"now" | b"force" => {}
            b"abort" => abort = true,
            _ => return Err(Reply::error(cmd::SYNTAX)),
        }
    }
    match (abort, args.len()) {
        (true, 2) => Err(Reply::error("ERR No shutdown in progress.")),
        (true, _) => Err(Reply::error(cmd::SYNTAX)),
        _ => Ok(()),
    }
}

/// A blocking command: answered at once when there is data (or an
/// error), otherwise the connection waits (in a transaction, the command
/// runs as a write that does not block).
async fn start_blocking(
    core: &Core,
    spec: &'static cmd::Spec,
    args: Vec<Bytes>,
    out: &mut BytesMut,
) -> After {
    let timeout = cmd::timeout_arg(cmd::blocking_args(spec, &args).1)
        .ok()
        .flatten();
    match core.engine.block(WriteCmd { spec, args }).await {
        BlockStart::Done(answer) => {
            answer.encode(out);
            After::Continue
        }
        BlockStart::Waiting(wait) => After::Block(Box::new(BlockedCmd {
            wait,
            timeout,
            rest: Vec::new(),
        })),
    }
}

/// A command sent inside MULTI: queued (`+QUEUED`) when it is known, of the
/// right arity and allowed in a transaction; otherwise refused, and EXEC
/// will abort (Redis's rules).
fn queue_in_transaction(
    core: &Core,
    client: &mut Client,
    spec: Option<&'static cmd::Spec>,
    name: &[u8],
    args: &[Bytes],
) -> Reply {
    let refusal = match spec {
        None => Some(unknown_command(args)),
        Some(s) if !s.arity_ok(args.len()) => Some(wrong_arity(&args[0])),
        Some(s) if s.has(cmd::flag::NO_MULTI) => Some(Reply::error(format!(
            "ERR Command not allowed inside a transaction: '{}'",
            String::from_utf8_lossy(name)
        ))),
        Some(_) => precheck(core, client, spec),
    };
    match refusal {
        Some(r) => {
            client.multi_dirty = true;
            r
        }
        None => {
            if let Some(q) = client.multi.as_mut() {
                q.push(args.to_vec());
            }
            Reply::Simple("QUEUED".into())
        }
    }
}

/// EXEC: run the queued commands in order, their replies in one array.
/// Data commands with a write among them run as one unit on the write path
/// (one batch, sealed as one command in the binlog and on every slave; the
/// reads see the writes before them). A transaction that also holds server
/// commands (SLAVEOF, CONFIG, CLIENT …) runs them in order, its writes
/// grouped between them.
async fn exec_transaction(core: &Arc<Core>, client: &mut Client, out: &mut BytesMut) -> After {
    let after = exec_watched(core, client, out).await;
    // Whatever happened, EXEC ends the client's WATCH (only now: until the
    // check is done, touches must reach it).
    core.engine.watches.unwatch(&mut client.watch);
    after
}

async fn exec_watched(core: &Arc<Core>, client: &mut Client, out: &mut BytesMut) -> After {
    let queued = client.multi.take().unwrap_or_default();
    client.info.in_multi.store(false, Ordering::Relaxed);
    let watch = client.watch.clone();
    if std::mem::take(&mut client.multi_dirty) {
        Reply::error("EXECABORT Transaction discarded because of previous errors.").encode(out);
        return After::Continue;
    }
    // Data commands with a write among them: one unit on the write path,
    // reads included (they see the transaction's earlier writes).
    let specs: Vec<Option<&'static cmd::Spec>> =
        queued.iter().map(|a| cmd::lookup(&a[0])).collect();
    let data_only = specs
        .iter()
        .all(|s| s.is_some_and(|s| !matches!(s.exec, Exec::Server)));
    let writes_any = specs.iter().any(|s| s.is_some_and(|s| s.is_write()));
    if writes_any && core.is_read_only() {
        // The node became a slave after MULTI (Redis's words).
        Reply::error("ERR Transaction contains write commands, but instance is now a read-only replica. EXEC aborted.").encode(out);
        return After::Continue;
    }
    // On the write path the WATCH is checked in the same step that runs
    // the transaction, so no write can come between.
    let on_write_path = data_only
        && !queued.is_empty()
        && (writes_any || (watch.is_some() && !core.is_read_only()));
    if on_write_path {
        let cmds: Vec<WriteCmd> = queued
            .into_iter()
            .zip(specs)
            .filter_map(|(args, spec)| spec.map(|spec| WriteCmd { spec, args }))
            .collect();
        let (replies, done) = core.engine.exec(cmds, watch).await;
        match replies {
            Some(replies) => Reply::Array(replies).encode(out),
            None => Reply::NilArray.encode(out),
        }
        log_slow(core, client, done.slow);
        return After::Continue;
    }
    if watch.is_some_and(|w| w.broken(now_ms())) {
        Reply::NilArray.encode(out);
        return After::Continue;
    }
    out.extend_from_slice(format!("*{}\r\n", queued.len()).as_bytes());
    let mut writes = Vec::new();
    let mut after = After::Continue;
    for args in queued {
        let a = Box::pin(step(core, client, args, &mut writes, out, true)).await;
        if !matches!(a, After::Continue) {
            after = a;
        }
    }
    flush_writes(core, client, &mut writes, out, true).await;
    after
}

/// WATCH key [key ...]: each key's expiry is noted when it is live, so an
/// EXEC after it expires fails too.
fn watch_keys(core: &Core, client: &mut Client, keys: &[Bytes]) -> Reply {
    if client.multi.is_some() {
        return Reply::error("ERR WATCH inside MULTI is not allowed");
    }
    for key in keys {
        if !core.engine.watches.watch(&mut client.watch, key.clone()) {
            continue;
        }
        // Read after registering: a write between the two breaks the
        // watch, so what is read here is never out of date unnoticed.
        let meta = match core.store.meta_in(key, None) {
            Ok(m) => m,
            Err(e) => return Reply::error(format!("ERR {e}")),
        };
        if let (Some(m), Some(w)) = (meta, &client.watch) {
            if m.is_expired(now_ms()) {
                w.note_expired(key.clone());
            } else if m.expire_ms != 0 {
                w.note_expiry(m.expire_ms);
            }
        }
    }
    Reply::ok()
}

/// SUBSCRIBE / PSUBSCRIBE: one reply per channel, with the count of this
/// client's subscriptions.
fn subscribe(core: &Core, client: &mut Client, args: &[Bytes], out: &mut BytesMut) {
    let pattern = args[0].eq_ignore_ascii_case(b"psubscribe");
    if client.sub.is_none() {
        let (tx, rx) = mpsc::channel(SUBSCRIBER_BACKLOG);
        client.inbox = Some(rx);
        client.sub = Some(Subscriber {
            tx,
            kill: client.info.kill.clone(),
        });
    }
    for ch in &args[1..] {
        let fresh = if pattern {
            client.patterns.insert(ch.clone())
        } else {
            client.channels.insert(ch.clone())
        };
        if let (true, Some(sub)) = (fresh, &client.sub) {
            core.pubsub
                .subscribe(pattern, ch.clone(), client.id, sub.clone());
        }
        Reply::Array(vec![
            bulk_str(if pattern { "psubscribe" } else { "subscribe" }),
            Reply::Bulk(ch.clone()),
            Reply::Integer(client.subscriptions() as i64),
        ])
        .encode(out);
    }
    client.subscriptions_changed();
}

/// UNSUBSCRIBE / PUNSUBSCRIBE (none named: all).
fn unsubscribe(core: &Core, client: &mut Client, args: &[Bytes], out: &mut BytesMut) {
    let pattern = args[0].eq_ignore_ascii_case(b"punsubscribe");
    let kind = if pattern {
        "punsubscribe"
    } else {
        "unsubscribe"
    };
    let names: Vec<Bytes> = if args.len() > 1 {
        args[1..].to_vec()
    } else if pattern {
        client.patterns.iter().cloned().collect()
    } else {
        client.channels.iter().cloned().collect()
    };
    if names.is_empty() {
        Reply::Array(vec![
            bulk_str(kind),
            Reply::Nil,
            Reply::Integer(client.subscriptions() as i64),
        ])
        .encode(out);
    }
    for ch in names {
        let was = if pattern {
            client.patterns.remove(&ch)
        } else {
            client.channels.remove(&ch)
        };
        if was {
            core.pubsub.unsubscribe(pattern, &ch, client.id);
        }
        Reply::Array(vec![
            bulk_str(kind),
            Reply::Bulk(ch),
            Reply::Integer(client.subscriptions() as i64),
        ])
        .encode(out);
    }
    client.subscriptions_changed();
}

/// Checks before any command, from its flags: AUTH and read-only mode.
fn precheck(core: &Core, client: &Client, spec: Option<&cmd::Spec>) -> Option<Reply> {
    if !client.authenticated && !spec.is_some_and(|s| s.has(cmd::flag::NO_AUTH)) {
        return Some(Reply::error("NOAUTH Authentication required."));
    }
    if core.is_read_only() && spec.is_some_and(|s| s.is_write()) {
        return Some(Reply::error(READONLY));
    }
    None
}

async fn flush_writes(
    core: &Core,
    client: &Client,
    writes: &mut Vec<WriteCmd>,
    out: &mut BytesMut,
    atomic: bool,
) {
    if writes.is_empty() {
        return;
    }
    let cmds = std::mem::take(writes);
    let done = core.engine.write_timed(cmds, atomic).await;
    for r in done.replies {
        r.encode(out);
    }
    log_slow(core, client, done.slow);
}

/// Enter commands the write path found slow in the SLOWLOG.
fn log_slow(core: &Core, client: &Client, slow: Vec<(Vec<Bytes>, u64)>) {
    for (args, us) in slow {
        slow_entry(core, client, &args, us);
    }
}

/// One SLOWLOG entry, when `us` reaches the threshold.
fn slow_entry(core: &Core, client: &Client, args: &[Bytes], us: u64) {
    // The threshold is an atomic: this runs for every command.
    let threshold = core.engine.slow_us.load(Ordering::Relaxed);
    if threshold < 0 || us < threshold as u64 {
        return;
    }
    let max_len = core.config().slowlog_max_len;
    let name = client
        .info
        .name
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .as_ref()
        .map(|n| String::from_utf8_lossy(n).into_owned())
        .unwrap_or_default();
    core.slowlog.record(
        threshold,
        max_len,
        us,
        args,
        client.info.peer.to_string(),
        name,
    );
}

fn wrong_arity(name: &[u8]) -> Reply {
    Reply::error(format!(
        "ERR wrong number of arguments for '{}' command",
        String::from_utf8_lossy(name).to_lowercase()
    ))
}

fn unknown_command(args: &[Bytes]) -> Reply {
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

fn unknown_subcommand(args: &[Bytes]) -> Reply {
    Reply::error(format!(
        "ERR unknown subcommand '{}'. Try {} HELP.",
        String::from_utf8_lossy(args.get(1).map_or(&b""[..], |a| &a[..])),
        String::from_utf8_lossy(&args[0]).to_uppercase()
    ))
}

fn bulk_str(s: impl Into<String>) -> Reply {
    Reply::Bulk(Bytes::from(s.into()))
}

fn check_auth(core: &Core, client: &mut Client, password: &[u8]) -> Reply {
    let pass = core.config().requirepass;
    if pass.is_empty() {
        return Reply::error("ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?");
    }
    if password == pass.as_bytes() {
        client.authenticated = true;
        Reply::ok()
    } else {
        Reply::error("WRONGPASS invalid username-password pair or user is disabled.")
    }
}

async fn server_command(
    core: &Arc<Core>,
    client: &mut Client,
    name: &[u8],
    args: &[Bytes],
) -> (Reply, After) {
    let argc = args.len();
    let reply = match name {
        b"ping" if client.subscriptions() > 0 && argc <= 2 => Reply::Array(vec![
            bulk_str("pong"),
            Reply::Bulk(args.get(1).cloned().unwrap_or_default()),
        ]),
        b"ping" => match argc {
            1 => Reply::Simple("PONG".into()),
            2 => Reply::Bulk(args[1].clone()),
            _ => wrong_arity(&args[0]),
        },
        b"publish" => Reply::Integer(core.pubsub.publish(&args[1], &args[2]) as i64),
        b"echo" => Reply::Bulk(args[1].clone()),
        b"quit" => return (Reply::ok(), After::Close),
        b"auth" => match argc {
            2 => check_auth(core, client, &args[1]),
            3 if &args[1][..] == b"default" => check_auth(core, client, &args[2]),
            3 => Reply::error("WRONGPASS invalid username-password pair or user is disabled."),
            _ => Reply::error(cmd::SYNTAX),
        },
        b"hello" => hello(core, client, args),
        b"select" => match &args[1][..] {
            b"0" => Reply::ok(),
            other if rocksync_protocol::parse_i64(other).is_some() => {
                Reply::error("ERR DB index is out of range")
            }
            _ => Reply::error(cmd::NOT_INT),
        },
        b"info" => Reply::Bulk(Bytes::from(info::render(core, &args[1..]))),
        b"config" => config_command(core, args),
        b"command" => command_command(args),
        b"client" => client_command(core, client, args),
        b"time" => {
            let us = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_micros());
            Reply::Array(vec![
                bulk_str((us / 1_000_000).to_string()),
                bulk_str((us % 1_000_000).to_string()),
            ])
        }
        b"lastsave" => Reply::Integer((now_ms() / 1000) as i64),
        b"save" | b"bgsave" => match core.store.flush() {
            Ok(()) => Reply::ok(),
            Err(e) => Reply::error(format!("ERR {e}")),
        },
        b"slaveof" | b"replicaof" => slaveof(core, args).await,
        b"role" => role_reply(core),
        b"wait" => match core.role() {
            Role::Master => crate::repl::wait_command(&core.repl, args).await,
            Role::Slave { .. } => Reply::error(
                "ERR WAIT cannot be used with replica instances: writes to replicas are not propagated",
            ),
        },
        b"purge" => crate::node::purge_command(core, args).await,
        b"slowlog" => slowlog_command(core, args),
        b"memory" => memory_command(core, args),
        b"debug" => debug_command(core, args).await,
        _ => unknown_command(args),
    };
    (reply, After::Continue)
}

/// SLOWLOG GET [count] | LEN | RESET | HELP.
fn slowlog_command(core: &Core, args: &[Bytes]) -> Reply {
    let sub = args[1].to_ascii_lowercase();
    match (sub.as_slice(), args.len()) {
        (b"get", 2) => core.slowlog.get(10),
        (b"get", 3) => match rocksync_protocol::parse_i64(&args[2]) {
            Some(n) if n >= -1 => core.slowlog.get(n),
            _ => Reply::error("ERR count should be greater than or equal to -1"),
        },
        (b"len", 2) => Reply::Integer(core.slowlog.len() as i64),
        (b"reset", 2) => {
            core.slowlog.reset();
            Reply::ok()
        }
        (b"help", 2) => help_lines(&[
            "SLOWLOG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
            "GET [<count>]",
            "    Return top <count> entries from the slowlog (default: 10, -1 mean all).",
            "LEN",
            "    Return the length of the slowlog.",
            "RESET",
            "    Reset the slowlog.",
            "HELP",
            "    Prints this help.",
        ]),
        _ => unknown_subcommand(args),
    }
}

fn help_lines(lines: &[&str]) -> Reply {
    Reply::Array(lines.iter().map(|l| Reply::Simple((*l).into())).collect())
}

/// MEMORY USAGE key [SAMPLES n] | DOCTOR | HELP: a key's usage is the
/// bytes it takes on disk before compression (metadata and members), an
/// estimate as Redis's is.
fn memory_command(core: &Core, args: &[Bytes]) -> Reply {
    let sub = args[1].to_ascii_lowercase();
    match (sub.as_slice(), args.len()) {
        (b"usage", 3) | (b"usage", 5) => {
            if args.len() == 5
                && (!args[3].eq_ignore_ascii_case(b"samples")
                    || rocksync_protocol::parse_i64(&args[4]).is_none())
            {
                return Reply::error(cmd::SYNTAX);
            }
            match core.store.key_usage(&args[2], now_ms()) {
                Ok(Some(bytes)) => Reply::Integer(bytes as i64),
                Ok(None) => Reply::Nil,
                Err(e) => Reply::error(format!("ERR {e}")),
            }
        }
        (b"doctor", 2) => {
            bulk_str("Hi Sam, this instance keeps its data in RocksDB; I have nothing to report.")
        }
        (b"help", 2) => help_lines(&[
            "MEMORY <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
            "USAGE <key> [SAMPLES <count>]",
            "    Return memory in bytes used by <key> and its value.",
            "DOCTOR",
            "    Return memory problems reports.",
            "HELP",
            "    Prints this help.",
        ]),
        _ => unknown_subcommand(args),
    }
}

/// DEBUG SLEEP seconds | OBJECT key | HELP, for tools and tests.
async fn debug_command(core: &Core, args: &[Bytes]) -> Reply {
    let sub = args[1].to_ascii_lowercase();
    match (sub.as_slice(), args.len()) {
        (b"sleep", 3) => match cmd::parse_float(&args[2]).map(Duration::try_from_secs_f64) {
            Some(Ok(d)) => {
                tokio::time::sleep(d).await;
                Reply::ok()
            }
            _ => Reply::error(cmd::NOT_FLOAT),
        },
        (b"object", 3) => match core.store.meta_in(&args[2], None) {
            Ok(Some(m)) if !m.is_expired(now_ms()) => {
                let bytes = core
                    .store
                    .key_usage(&args[2], now_ms())
                    .ok()
                    .flatten()
                    .unwrap_or(0);
                Reply::Simple(format!(
                    "Value at:0x0 refcount:1 encoding:{} serializedlength:{bytes} lru:0 lru_seconds_idle:0 ql_nodes:{}",
                    m.kind.name(),
                    m.size
                ))
            }
            Ok(_) => Reply::error("ERR no such key"),
            Err(e) => Reply::error(format!("ERR {e}")),
        },
        (b"help", 2) => help_lines(&[
            "DEBUG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
            "OBJECT <key>",
            "    Show low level info about the key and associated value.",
            "SLEEP <seconds>",
            "    Stop the server for <seconds>. Decimals allowed.",
            "HELP",
            "    Prints this help.",
        ]),
        _ => unknown_subcommand(args),
    }
}

fn hello(core: &Core, client: &mut Client, args: &[Bytes]) -> Reply {
    let mut i = 1;
    if let Some(v) = args.get(1) {
        match rocksync_protocol::parse_i64(v) {
            Some(2) => {}
            Some(_) => return Reply::error("NOPROTO unsupported protocol version"),
            None => return Reply::error("ERR Protocol version is not an integer or out of range"),
        }
        i = 2;
    }
    while i < args.len() {
        match (
            args[i].to_ascii_lowercase().as_slice(),
            args.get(i + 1),
            args.get(i + 2),
        ) {
            (b"auth", Some(_user), Some(pass)) => {
                if let Reply::Error(e) = check_auth(core, client, pass) {
                    return Reply::Error(e);
                }
                i += 3;
            }
            (b"setname", Some(name), _) => {
                *client
                    .info
                    .name
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(name.clone());
                i += 2;
            }
            _ => {
                return Reply::error(format!(
                    "ERR Syntax error in HELLO option '{}'",
                    String::from_utf8_lossy(&args[i])
                ))
            }
        }
    }
    if !client.authenticated {
        return Reply::error("NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO <proto> AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time");
    }
    let role = if core.is_read_only() {
        "replica"
    } else {
        "master"
    };
    Reply::Array(vec![
        bulk_str("server"),
        bulk_str("redis"),
        bulk_str("version"),
        bulk_str(info::REDIS_VERSION),
        bulk_str("proto"),
        Reply::Integer(2),
        bulk_str("id"),
        Reply::Integer(client.id as i64),
        bulk_str("mode"),
        bulk_str("standalone"),
        bulk_str("role"),
        bulk_str(role),
        bulk_str("modules"),
        Reply::Array(vec![]),
    ])
}

/// The CONFIG parameters, with whether CONFIG SET may change them.
const PARAMS: &[(&str, bool)] = &[
    ("bind", false),
    ("port", false),
    ("data-dir", false),
    ("binlog-fsync", false),
    ("max-binlog-size", false),
    ("sync-speed", true),
    ("snapshot-timeout", true),
    ("purge-logs-span", true),
    ("binlog-budget", true),
    ("requirepass", true),
    ("maxclients", true),
    ("slave-timeout", true),
    ("slave-priority", true),
    ("replica-priority", true),
    ("slowlog-log-slower-than", true),
    ("slowlog-max-len", true),
    ("master-addr", false),
    // What tools ask a Redis server (redis-benchmark asks the first two):
    // no RDB snapshots; the binlog is the append-only log.
    ("save", false),
    ("appendonly", false),
    ("appendfsync", false),
];

fn param_value(c: &Config, name: &str) -> String {
    match name {
        "bind" => c.bind.clone(),
        "port" => c.port.to_string(),
        "data-dir" => c.data_dir.display().to_string(),
        "binlog-fsync" => c.binlog_fsync.to_string(),
        "max-binlog-size" => c.max_binlog_size.to_string(),
        "sync-speed" => c.sync_speed.to_string(),
        "snapshot-timeout" => c.snapshot_timeout.to_string(),
        "purge-logs-span" => c.purge_logs_span.to_string(),
        "binlog-budget" => c.binlog_budget.to_string(),
        "requirepass" => c.requirepass.clone(),
        "maxclients" => c.maxclients.to_string(),
        "slave-timeout" => c.slave_timeout.to_string(),
        "slave-priority" | "replica-priority" => c.slave_priority.to_string(),
        "master-addr" => c.master_addr.clone().unwrap_or_default(),
        "slowlog-log-slower-than" => c.slowlog_log_slower_than.to_string(),
        "slowlog-max-len" => c.slowlog_max_len.to_string(),
        "save" => String::new(),
        "appendonly" => "yes".into(),
        "appendfsync" => c.binlog_fsync.to_string(),
        _ => String::new(),
    }
}

fn set_param(c: &mut Config, name: &str, value: &str) -> Result<(), String> {
    let num = || {
        value
            .parse::<u64>()
            .map_err(|_| format!("argument must be a number for '{name}'"))
    };
    match name {
        "sync-speed" => {
            c.sync_speed = value
                .parse()
                .map_err(|_| format!("argument must be a number for '{name}'"))?
        }
        "snapshot-timeout" => c.snapshot_timeout = num()?,
        "purge-logs-span" => c.purge_logs_span = num()?,
        "binlog-budget" => c.binlog_budget = num()?,
        "requirepass" => c.requirepass = value.to_owned(),
        "maxclients" => c.maxclients = num()? as usize,
        "slave-timeout" => c.slave_timeout = num()?,
        "slowlog-log-slower-than" => {
            c.slowlog_log_slower_than = value
                .parse()
                .map_err(|_| format!("argument must be a number for '{name}'"))?
        }
        "slowlog-max-len" => c.slowlog_max_len = num()?,
        "slave-priority" | "replica-priority" => {
            c.slave_priority = u32::try_from(num()?)
                .map_err(|_| format!("argument must be a number for '{name}'"))?
        }
        _ => {
            return Err(format!(
                "Unknown option or number of arguments for CONFIG SET - '{name}'"
            ))
        }
    }
    c.validate().map_err(|e| e.to_string())
}

fn config_command(core: &Core, args: &[Bytes]) -> Reply {
    let sub = args[1].to_ascii_lowercase();
    match (sub.as_slice(), args.len()) {
        (b"get", n) if n >= 3 => {
            let mut c = core.config();
            c.master_addr = Some(core.role().master_addr().unwrap_or("").to_owned());
            let mut out = Vec::new();
            for (p, _) in PARAMS {
                let underscored = p.replace('-', "_");
                if args[2..].iter().any(|pat| {
                    cmd::glob_match(&pat.to_ascii_lowercase(), p.as_bytes())
                        || cmd::glob_match(&pat.to_ascii_lowercase(), underscored.as_bytes())
                }) {
                    out.push(bulk_str(*p));
                    out.push(bulk_str(param_value(&c, p)));
                }
            }
            Reply::Array(out)
        }
        (b"set", n) if n >= 4 && n % 2 == 0 => {
            let mut live = core
                .live
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            let mut next = live.config.clone();
            for pair in args[2..].chunks(2) {
                let name = String::from_utf8_lossy(&pair[0])
                    .to_lowercase()
                    .replace('_', "-");
                let settable = PARAMS.iter().any(|(p, s)| *p == name && *s);
                if !settable {
                    return Reply::error(format!(
                        "ERR Unknown option or number of arguments for CONFIG SET - '{name}'"
                    ));
                }
                if let Err(e) = set_param(&mut next, &name, &String::from_utf8_lossy(&pair[1])) {
                    return Reply::error(format!(
                        "ERR CONFIG SET failed (possibly related to argument '{name}') - {e}"
                    ));
                }
            }
            core.engine
                .slow_us
                .store(next.slowlog_log_slower_than, Ordering::Relaxed);
            live.config = next;
            Reply::ok()
        }
        (b"resetstat", 2) => {
            core.stats.commands.store(0, Ordering::Relaxed);
            core.stats.received.store(0, Ordering::Relaxed);
            Reply::ok()
        }
        (b"rewrite", 2) => {
            // The role is not written: every SLAVEOF keeps it in the data
            // directory, and a role in the file would win over later ones.
            let mut c = core.config();
            c.master_addr = None;
            match c.rewrite() {
                Ok(()) => Reply::ok(),
                Err(crate::Error::Config(m)) => Reply::error(format!("ERR {m}")),
                Err(e) => Reply::error(format!("ERR Rewriting config file: {e}")),
            }
        }
        (b"get" | b"set", _) => wrong_arity(b"config|get"),
        _ => unknown_subcommand(args),
    }
}

fn command_info(s: &cmd::Spec) -> Reply {
    let group = cmd::docs::doc(s.name).map_or("server", |d| d.0);
    let mut categories = vec![match s.exec {
        Exec::Write(_) => "@write",
        Exec::Read(_) => "@read",
        Exec::Server => "@connection",
    }];
    if !matches!(s.exec, Exec::Server) {
        categories.push(match group {
            "sorted-set" => "@sortedset",
            "string" => "@string",
            "bitmap" => "@bitmap",
            "hash" => "@hash",
            "list" => "@list",
            "set" => "@set",
            _ => "@keyspace",
        });
    }
    categories.push(if s.has(cmd::flag::FAST) {
        "@fast"
    } else {
        "@slow"
    });
    if s.blocks.is_some() {
        categories.push("@blocking");
    }
    if s.has(cmd::flag::ADMIN) {
        categories.extend(["@admin", "@dangerous"]);
    }
    Reply::Array(vec![
        bulk_str(s.name),
        Reply::Integer(i64::from(s.arity)),
        Reply::Array(
            s.flag_words()
                .into_iter()
                .map(|f| Reply::Simple(f.into()))
                .collect(),
        ),
        Reply::Integer(i64::from(s.keys.0)),
        Reply::Integer(i64::from(s.keys.1)),
        Reply::Integer(i64::from(s.keys.2)),
        Reply::Array(
            categories
                .into_iter()
                .map(|c| Reply::Simple(c.into()))
                .collect(),
        ),
        Reply::Array(vec![]),
        Reply::Array(vec![]),
        Reply::Array(vec![]),
    ])
}

/// COMMAND DOCS' entry for a command: its summary, version and group.
fn command_docs(s: &cmd::Spec) -> [Reply; 2] {
    let (group, summary, since) = cmd::docs::doc(s.name).unwrap_or(("server", "", "1.0.0"));
    [
        bulk_str(s.name),
        Reply::Array(vec![
            bulk_str("summary"),
            bulk_str(summary),
            bulk_str("since"),
            bulk_str(since),
            bulk_str("group"),
            bulk_str(group),
        ]),
    ]
}

fn command_command(args: &[Bytes]) -> Reply {
    let sub = args.get(1).map(|s| s.to_ascii_lowercase());
    let named = || args[2..].iter().filter_map(|n| cmd::lookup(n));
    match sub.as_deref() {
        None => Reply::Array(cmd::COMMANDS.iter().map(command_info).collect()),
        Some(b"count") if args.len() == 2 => Reply::Integer(cmd::COMMANDS.len() as i64),
        Some(b"docs") if args.len() == 2 => {
            Reply::Array(cmd::COMMANDS.iter().flat_map(command_docs).collect())
        }
        Some(b"docs") => Reply::Array(named().flat_map(command_docs).collect()),
        Some(b"list") if args.len() == 2 => {
            Reply::Array(cmd::COMMANDS.iter().map(|s| bulk_str(s.name)).collect())
        }
        Some(b"info") if args.len() == 2 => {
            Reply::Array(cmd::COMMANDS.iter().map(command_info).collect())
        }
        Some(b"info") => Reply::Array(
            args[2..]
                .iter()
                .map(|n| cmd::lookup(n).map_or(Reply::Nil, command_info))
                .collect(),
        ),
        Some(b"count" | b"list") => Reply::error(format!(
            "ERR wrong number of arguments for 'command|{}' command",
            String::from_utf8_lossy(&args[1]).to_lowercase()
        )),
        Some(_) => unknown_subcommand(args),
    }
}

fn client_command(core: &Core, client: &mut Client, args: &[Bytes]) -> Reply {
    let sub = args[1].to_ascii_lowercase();
    match (sub.as_slice(), args.len()) {
        (b"setname", 3) => {
            if args[2].iter().any(|b| *b <= b' ' || *b > b'~') {
                return Reply::error(
                    "ERR Client names cannot contain spaces, newlines or special characters.",
                );
            }
            *client
                .info
                .name
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner) =
                (!args[2].is_empty()).then(|| args[2].clone());
            Reply::ok()
        }
        (b"getname", 2) => client
            .info
            .name
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
            .map_or(Reply::Nil, Reply::Bulk),
        (b"id", 2) => Reply::Integer(client.id as i64),
        (b"info", 2) => bulk_str(
            core.clients
                .list(None)
                .lines()
                .find(|l| l.starts_with(&format!("id={} ", client.id)))
                .map(|l| format!("{l}\n"))
                .unwrap_or_default(),
        ),
        (b"setinfo", 4) => Reply::ok(),
        (b"list", 2) => bulk_str(core.clients.list(None)),
        (b"list", 4) if args[2].eq_ignore_ascii_case(b"type") => {
            let kind = String::from_utf8_lossy(&args[3]).to_lowercase();
            match kind.as_str() {
                "normal" | "pubsub" | "master" => bulk_str(core.clients.list(Some(&kind))),
                "replica" | "slave" => bulk_str(core.clients.list(Some("slave"))),
                _ => Reply::error(format!("ERR Unknown client type '{kind}'")),
            }
        }
        (b"kill", 3) => {
            // The old form: CLIENT KILL ip:port.
            let f = KillFilter {
                addr: Some(String::from_utf8_lossy(&args[2]).into_owned()),
                ..KillFilter::default()
            };
            match core.clients.kill(&f) {
                0 => Reply::error("ERR No such client"),
                _ => Reply::ok(),
            }
        }
        (b"kill", n) if n >= 4 && n % 2 == 0 => {
            let mut f = KillFilter {
                skip_me: Some(client.id),
                ..KillFilter::default()
            };
            for pair in args[2..].chunks(2) {
                let v = String::from_utf8_lossy(&pair[1]).into_owned();
                match pair[0].to_ascii_lowercase().as_slice() {
                    b"id" => match v.parse() {
                        Ok(id) => f.id = Some(id),
                        Err(_) => return Reply::error("ERR client-id should be greater than 0"),
                    },
                    b"addr" => f.addr = Some(v),
                    b"laddr" => f.laddr = Some(v),
                    b"type" => {
                        let k = v.to_lowercase();
                        if !matches!(
                            k.as_str(),
                            "normal" | "pubsub" | "master" | "slave" | "replica"
                        ) {
                            return Reply::error(format!("ERR Unknown client type '{v}'"));
                        }
                        f.kind = Some(k);
                    }
                    b"skipme" => match v.to_lowercase().as_str() {
                        "yes" => f.skip_me = Some(client.id),
                        "no" => f.skip_me = None,
                        _ => return Reply::error(cmd::SYNTAX),
                    },
                    b"user" => f.user = Some(v),
                    b"maxage" => match v.parse() {
                        Ok(secs) => f.max_age_secs = Some(secs),
                        Err(_) => return Reply::error(cmd::NOT_INT),
                    },
                    _ => return Reply::error(cmd::SYNTAX),
                }
            }
            Reply::Integer(core.clients.kill(&f) as i64)
        }
        _ => unknown_subcommand(args),
    }
}

/// `SLAVEOF NO ONE` / `SLAVEOF host port` (and `REPLICAOF`).
async fn slaveof(core: &Arc<Core>, args: &[Bytes]) -> Reply {
    if args[1].eq_ignore_ascii_case(b"no") && args[2].eq_ignore_ascii_case(b"one") {
        return core.promote().await;
    }
    let Some(port) = std::str::from_utf8(&args[2])
        .ok()
        .and_then(|p| p.parse::<u16>().ok())
    else {
        return Reply::error("ERR Invalid master port");
    };
    let host = String::from_utf8_lossy(&args[1]).into_owned();
    if host.is_empty() || host.contains(char::is_whitespace) {
        return Reply::error("ERR Invalid master host");
    }
    let addr = if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    };
    core.follow(addr).await
}

/// `ROLE` in Redis 7's shapes; offsets are seqs.
fn role_reply(core: &Core) -> Reply {
    match core.role() {
        Role::Master => Reply::Array(vec![
            bulk_str("master"),
            Reply::Integer(core.binlog.last_seq() as i64),
            Reply::Array(
                core.repl
                    .slaves()
                    .iter()
                    .map(|s| {
                        let (ip, port) = s.id.rsplit_once(':').unwrap_or((&s.id, "0"));
                        Reply::Array(vec![
                            bulk_str(ip),
                            bulk_str(port),
                            bulk_str(s.acked_seq.load(Ordering::Relaxed).to_string()),
                        ])
                    })
                    .collect(),
            ),
        ]),
        Role::Slave { master_addr } => {
            let (host, port) = crate::node::split_addr(&master_addr);
            let up = core.link.link_up.load(Ordering::Relaxed);
            let state = match (up, core.link.copying.load(Ordering::Relaxed)) {
                (true, true) => "sync",
                (true, false) => "connected",
                (false, _) => "connect",
            };
            let offset = if up {
                core.link.last_seq.load(Ordering::Relaxed) as i64
            } else {
                -1
            };
            Reply::Array(vec![
                bulk_str("slave"),
                bulk_str(host),
                Reply::Integer(i64::from(port)),
                bulk_str(state),
                Reply::Integer(offset),
            ])
        }
    }
}
