//! The RESP server: an accept loop capped by `maxclients`, and one task
//! per connection that reads pipelined commands, has them dispatched,
//! writes the replies, waits for blocked commands and published messages,
//! and hands the socket to a sync session after SYNC140. Shared by the
//! master and, in read-only mode, by slaves.

use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use bytes::BytesMut;
use rocksync_protocol::{Reply, RequestDecoder, RespLimits};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::{debug, info, info_span, warn, Instrument};

use crate::blocking::Wait;
use crate::conn::Connection;
use crate::dispatch;
use crate::outbuf::approx_len;
use crate::role::LOADING_ERR;
use crate::session::{After, BlockedCmd, Client};
use crate::state::Core;

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
        let tracker = TaskTracker::new();
        let mut addr = None;
        // `port 0` beside a TLS port: TLS only (as Redis); alone, any port.
        if cfg.port != 0 || cfg.tls_port == 0 {
            let listener = TcpListener::bind((cfg.bind.as_str(), cfg.port)).await?;
            let plain = listener.local_addr()?;
            info!(addr = %plain, "listening");
            addr = Some(plain);
            tracker.spawn(accept_loop(
                listener,
                false,
                Arc::clone(&core),
                cancel.clone(),
                tracker.clone(),
            ));
        }
        if cfg.tls_port != 0 {
            let listener = TcpListener::bind((cfg.bind.as_str(), cfg.tls_port)).await?;
            let tls = listener.local_addr()?;
            info!(addr = %tls, "listening for TLS");
            addr.get_or_insert(tls);
            tracker.spawn(accept_loop(
                listener,
                true,
                Arc::clone(&core),
                cancel.clone(),
                tracker.clone(),
            ));
        }
        let addr = addr.ok_or_else(|| std::io::Error::other("no port to listen on"))?;
        core.view.set_listening_port(addr.port());
        tracker.spawn(sample_ops(Arc::clone(&core), cancel.clone()));
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
    tls: bool,
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
        keepalive(&stream, core.config().tcp_keepalive);
        core.stats.received.fetch_add(1, Ordering::Relaxed);
        let local = stream.local_addr().unwrap_or(peer);
        // Decided here, before the next accept, so maxclients holds
        // however fast connections come; said once the stream is up (after
        // the TLS handshake).
        let max = core.config().maxclients;
        let refusal = if core.stats.connected.load(Ordering::Relaxed) >= max {
            core.stats.rejected.fetch_add(1, Ordering::Relaxed);
            Some("ERR max number of clients reached")
        } else if refused_by_protected_mode(&core, peer) {
            Some(DENIED)
        } else {
            None
        };
        if let Some(why) = refusal {
            let core = Arc::clone(&core);
            tracker.spawn(async move {
                if let Some(mut conn) = open(&core, stream, tls).await {
                    conn.last_words(&Reply::error(why)).await;
                }
            });
            continue;
        }
        let id = core.next_client_id.fetch_add(1, Ordering::Relaxed);
        let span = info_span!("conn", id, %peer);
        let core = Arc::clone(&core);
        let cancel = cancel.clone();
        core.stats.connected.fetch_add(1, Ordering::Relaxed);
        tracker.spawn(
            async move {
                debug!("connected");
                let handed = match open(&core, stream, tls).await {
                    Some(conn) => serve(Arc::clone(&core), conn, peer, local, id, cancel).await,
                    None => false,
                };
                if !handed {
                    core.stats.connected.fetch_sub(1, Ordering::Relaxed);
                }
                debug!("closed");
            }
            .instrument(span),
        );
    }
}

/// How long a TLS client has to finish its handshake.
const HANDSHAKE: Duration = Duration::from_secs(10);

/// The connection on an accepted stream: as it is, or once its TLS
/// handshake is done (`None`: it failed, and is logged).
async fn open(core: &Core, stream: TcpStream, tls: bool) -> Option<Connection> {
    if !tls {
        return Some(Connection::new(stream));
    }
    let acceptor = core.tls.acceptor()?;
    match tokio::time::timeout(HANDSHAKE, acceptor.accept(stream)).await {
        Ok(Ok(s)) => Some(Connection::tls(tokio_rustls::TlsStream::Server(s))),
        Ok(Err(e)) => {
            debug!(error = %e, "TLS handshake failed");
            core.stats
                .tls_handshake_failures
                .fetch_add(1, Ordering::Relaxed);
            None
        }
        Err(_) => {
            debug!("TLS handshake not done in time");
            core.stats
                .tls_handshake_failures
                .fetch_add(1, Ordering::Relaxed);
            None
        }
    }
}

/// Redis's answer to a client refused by protected mode.
const DENIED: &str = "DENIED Redis is running in protected mode because protected mode is enabled and no password is set for the default user. In this mode connections are only accepted from the loopback interface. If you want to connect from external computers to Redis you may adopt one of the following solutions: 1) Just disable protected mode sending the command 'CONFIG SET protected-mode no' from the loopback interface by connecting to Redis from the same host the server is running, however MAKE SURE Redis is not publicly accessible from internet if you do so. Use CONFIG REWRITE to make this change permanent. 2) Alternatively you can just disable the protected mode by editing the Redis configuration file, and setting the protected mode option to 'no', and then restarting the server. 3) If you started the server manually just for testing, restart it with the '--protected-mode no' option. 4) Set up an authentication password for the default user. NOTE: You only need to do one of the above things in order for the server to start accepting connections from the outside.";

/// Protected mode (Redis 7's): while the default user needs no password,
/// only clients on the loopback interface are served.
fn refused_by_protected_mode(core: &Core, peer: SocketAddr) -> bool {
    let loopback = match peer.ip() {
        std::net::IpAddr::V4(ip) => ip.is_loopback(),
        std::net::IpAddr::V6(ip) => {
            ip.is_loopback() || ip.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback())
        }
    };
    !loopback && core.config().protected_mode && core.acl.default_user().needs_no_auth()
}

/// `tcp-keepalive`: probe a silent peer after `secs`, then every third of
/// that, as Redis sets it (0: off).
fn keepalive(stream: &TcpStream, secs: u64) {
    if secs == 0 {
        return;
    }
    let time = Duration::from_secs(secs);
    let ka = socket2::TcpKeepalive::new()
        .with_time(time)
        .with_interval((time / 3).max(Duration::from_secs(1)))
        .with_retries(3);
    if let Err(e) = socket2::SockRef::from(stream).set_tcp_keepalive(&ka) {
        debug!(error = %e, "tcp keepalive");
    }
}

/// A connection handed to a sync session: still a client (CLIENT LIST,
/// CLIENT KILL, maxclients) until the session ends.
struct Handed {
    core: Arc<Core>,
    id: u64,
}

impl Drop for Handed {
    fn drop(&mut self) {
        self.core.clients.remove(self.id);
        self.core.stats.connected.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Serve one connection; true when it was handed to a sync session
/// (which then counts it as a client until it ends).
async fn serve(
    core: Arc<Core>,
    mut conn: Connection,
    peer: SocketAddr,
    local: SocketAddr,
    id: u64,
    cancel: CancellationToken,
) -> bool {
    let cfg = core.config();
    let user = core.acl.default_user();
    let needs_auth = !user.needs_no_auth();
    let mut decoder = RequestDecoder::new(RespLimits {
        max_bulk_bytes: usize::try_from(cfg.proto_max_bulk_len).unwrap_or(usize::MAX),
        max_query_bytes: usize::try_from(cfg.client_query_buffer_limit).unwrap_or(usize::MAX),
        ..RespLimits::default()
    });
    decoder.set_unauthenticated(needs_auth);
    let info = core.clients.add(id, peer, local);
    let mut client = Client::new(id, user, info);
    serve_client(&core, &mut conn, &mut client, &mut decoder, &cancel).await;
    for ch in std::mem::take(&mut client.channels) {
        core.pubsub.unsubscribe(false, &ch, id);
    }
    for p in std::mem::take(&mut client.patterns) {
        core.pubsub.unsubscribe(true, &p, id);
    }
    core.engine.tracking.close(id);
    core.engine.watches.unwatch(&mut client.watch);
    let Some(args) = client.handoff.take() else {
        core.clients.remove(id);
        return false;
    };
    if core.is_loading() {
        core.clients.remove(id);
        conn.last_words(&Reply::error(LOADING_ERR)).await;
        return false;
    }
    let kill = client.info.kill.clone();
    let handed = Box::new(Handed {
        core: Arc::clone(&core),
        id,
    });
    let psync = args[0].eq_ignore_ascii_case(b"psync");
    if psync || args[0].eq_ignore_ascii_case(b"sync") {
        let ask = crate::rdb_export::Ask {
            psync,
            functions_only: client.functions_only,
        };
        // An RDB for a tool (redis-cli --rdb), not a replica.
        client.info.touch(if psync { b"psync" } else { b"sync" });
        tokio::spawn(async move {
            crate::rdb_export::send(Arc::clone(&handed.core), conn, kill, ask).await;
            drop(handed);
        });
        return true;
    }
    // A replica from now on, as Redis lists one: flag S, cmd=sync140.
    client.info.is_replica.store(true, Ordering::Relaxed);
    client.info.touch(b"sync140");
    core.repl
        .spawn_session(&core.view, args, conn, peer, kill, handed);
    true
}

/// The command loop of one connection, until it closes, is killed, or
/// hands its socket to a sync session (`client.handoff`).
async fn serve_client(
    core: &Arc<Core>,
    conn: &mut Connection,
    client: &mut Client,
    decoder: &mut RequestDecoder,
    cancel: &CancellationToken,
) {
    let mut timeout = core.view.idle_timeout();
    let mut last_active = tokio::time::Instant::now();
    loop {
        let mut cmds = Vec::new();
        let mut protocol_error = None;
        loop {
            match conn.reader.frame(decoder) {
                Ok(Some(args)) => {
                    // (room for a pipeline of 16 without growing)
                    if cmds.capacity() == 0 {
                        cmds.reserve(16);
                    }
                    cmds.push(args);
                }
                Ok(None) => break,
                Err(e) => {
                    protocol_error = Some(e);
                    break;
                }
            }
        }
        let ran = !cmds.is_empty();
        if ran {
            last_active = tokio::time::Instant::now();
            // Messages published before these commands go out first.
            drain_inbox(client, conn.out());
            core.stats
                .commands
                .fetch_add(cmds.len() as u64, Ordering::Relaxed);
            let mut after = dispatch::run_pipeline(core, client, cmds, conn.out()).await;
            let after = loop {
                after = match after {
                    After::Block(b) => {
                        // What came before it goes out now; then it waits.
                        if !write_or_stop(conn, client, cancel).await {
                            let _ = b.wait.cancel().await;
                            return;
                        }
                        let BlockedCmd {
                            wait,
                            timeout,
                            rest,
                        } = *b;
                        let Some(answer) = wait_blocked(conn, client, cancel, wait, timeout).await
                        else {
                            return;
                        };
                        answer
                            .unwrap_or(Reply::NilArray)
                            .encode_as(conn.out(), client.proto);
                        dispatch::run_pipeline(core, client, rest, conn.out()).await
                    }
                    After::More(rest) => {
                        if !write_or_stop(conn, client, cancel).await {
                            return;
                        }
                        dispatch::run_pipeline(core, client, rest, conn.out()).await
                    }
                    other => break other,
                };
            };
            decoder.set_unauthenticated(!client.authenticated);
            if !write_or_stop(conn, client, cancel).await {
                return;
            }
            match after {
                // (a wait ended in the loop above; EXEC ran in the pipeline)
                After::Continue | After::Block(_) | After::More(_) | After::Exec => {}
                After::Close | After::Stop => return,
                After::Handoff(args) => {
                    client.handoff = Some(args);
                    return;
                }
            }
        }
        if let Some(e) = protocol_error {
            debug!(error = %e, "protocol error; closing");
            conn.last_words(&Reply::error(format!("ERR {e}"))).await;
            return;
        }
        if ran && conn.reader.has_buffered() {
            // Bytes read ahead while a command was blocked may hold whole
            // commands: they run before anything more is read (the client
            // may be waiting for their replies and send nothing more).
            continue;
        }
        // `timeout`: an idle client is closed, as Redis closes it (a
        // subscriber is not: it waits for messages by design; a blocked
        // client waits elsewhere).
        let secs = *timeout.borrow_and_update();
        let idle_until = (secs > 0 && client.subscriptions() == 0)
            .then(|| last_active + Duration::from_secs(secs));
        tokio::select! {
            r = conn.reader.fill() => match r {
                Ok(false) | Err(_) => return,
                Ok(true) => last_active = tokio::time::Instant::now(),
            },
            Some(msg) = next_message(&mut client.inbox) => {
                client.info.held.dequeue(approx_len(&msg));
                msg.encode_as(conn.out(), client.proto);
                drain_inbox(client, conn.out());
                if !write_or_stop(conn, client, cancel).await {
                    return;
                }
                last_active = tokio::time::Instant::now();
            }
            () = tokio::time::sleep_until(idle_until.unwrap_or(last_active)), if idle_until.is_some() => {
                debug!("closing an idle client (timeout)");
                return;
            }
            // (the setting changed: measured again)
            Ok(()) = timeout.changed() => {}
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
    conn: &mut Connection,
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
            r = conn.reader.fill_below(BLOCKED_READ_AHEAD) => match r {
                Ok(false) | Err(_) => {
                    let _ = wait.cancel().await;
                    break None;
                }
                Ok(true) => {}
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

/// Send the output unless the connection is killed, the server stops or
/// the client stays past its output limits first (a client that never
/// reads cannot hold its task forever); false when the connection is done.
async fn write_or_stop(conn: &mut Connection, client: &Client, cancel: &CancellationToken) -> bool {
    let held = &client.info.held;
    held.set_unsent(conn.writer.pending() as u64);
    if !held.within() {
        warn!(
            id = client.id,
            held = held.bytes(),
            "closing a client past its output buffer hard limit"
        );
        return false;
    }
    let flush = conn
        .writer
        .flush_reporting(|left| held.set_unsent(left as u64));
    tokio::pin!(flush);
    let ok = loop {
        let soft = async {
            match held.soft_deadline() {
                Some(d) => tokio::time::sleep(d).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            r = &mut flush => break r.is_ok(),
            () = soft => {
                if !held.within() {
                    warn!(
                        id = client.id,
                        held = held.bytes(),
                        "closing a client past its output buffer soft limit for too long"
                    );
                    break false;
                }
            }
            _ = client.info.kill.cancelled() => break false,
            _ = cancel.cancelled() => break false,
        }
    };
    held.set_unsent(0);
    // (below the soft limit again: its clock stops)
    held.within();
    ok
}

/// Move the messages waiting for a subscriber into `out`.
fn drain_inbox(client: &mut Client, out: &mut BytesMut) {
    if let Some(inbox) = client.inbox.as_mut() {
        while let Ok(m) = inbox.try_recv() {
            client.info.held.dequeue(approx_len(&m));
            m.encode_as(out, client.proto);
        }
    }
}

/// The next published message for a subscriber (never, for others).
async fn next_message(inbox: &mut Option<mpsc::UnboundedReceiver<Reply>>) -> Option<Reply> {
    match inbox {
        Some(rx) => rx.recv().await,
        None => std::future::pending().await,
    }
}
