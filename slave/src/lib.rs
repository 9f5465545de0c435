//! rocksync's slave (SPEC §6): follows one master through full copies and
//! binlog streaming, applies what it receives atomically with its own
//! progress (`last_seq`, `last_key`, the master's replid in the same
//! RocksDB write batch as the data), writes applied events to its own
//! binlog with the master's seqs, reconnects with backoff, and serves
//! reads while refusing writes.

mod link;

use std::fmt::Write as _;
use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use rocksync_master::engine::now_ms;
use rocksync_master::repl::Replication;
use rocksync_master::server::{Core, Handoff, Role, Server};
use rocksync_master::{load_or_create_replid, open_storage, Config, Result};
use rocksync_protocol::Reply;
use rocksync_snapshot::Snapshots;
use tokio::io::AsyncWriteExt;
use tokio_util::sync::CancellationToken;

pub use link::{sys, LinkState};

/// The slave's defaults: port 8889, data in ./data/slave, following
/// 127.0.0.1:8888.
pub fn default_config() -> Config {
    Config {
        port: 8889,
        data_dir: "./data/slave".into(),
        ..Config::default()
    }
}

struct SlaveRole {
    state: Arc<LinkState>,
    repl: Arc<Replication>,
}

impl Role for SlaveRole {
    fn replication_info(&self, core: &Core, out: &mut String) {
        let s = &self.state;
        let cfg = core.config();
        let (host, port) = cfg
            .master_addr
            .rsplit_once(':')
            .unwrap_or((&cfg.master_addr, "0"));
        let up = s.link_up.load(Ordering::Relaxed);
        let last_io = now_ms().saturating_sub(s.last_io_ms.load(Ordering::Relaxed)) / 1000;
        let last_seq = s.last_seq.load(Ordering::Relaxed);
        let last_key = s.last_key();
        let _ = write!(
            out,
            "role:slave\r\nmaster_host:{host}\r\nmaster_port:{port}\r\nmaster_link_status:{}\r\nmaster_last_io_seconds_ago:{}\r\nmaster_sync_in_progress:{}\r\nslave_repl_offset:{last_seq}\r\nslave_read_only:1\r\nlast_seq:{last_seq}\r\nlast_key:{}\r\nmaster_replid:{}\r\nfull_copies:{}\r\ncopy_resumes:{}\r\nbinlog_resumes:{}\r\n",
            if up { "up" } else { "down" },
            if up { last_io as i64 } else { -1 },
            u8::from(s.copying.load(Ordering::Relaxed)),
            last_key.escape_ascii(),
            s.master_replid(),
            s.full_copies.load(Ordering::Relaxed),
            s.copy_resumes.load(Ordering::Relaxed),
            s.binlog_resumes.load(Ordering::Relaxed),
        );
        self.repl.slaves_info(out);
    }

    fn stats_info(&self, out: &mut String) {
        self.repl.stats(out);
    }

    fn takes_over(&self, name: &[u8]) -> bool {
        name == b"sync140"
    }

    /// Chained replication: other slaves follow this one from its own
    /// binlog (the master's seqs) and snapshots, except while a copy makes
    /// its data partial.
    fn handoff(&self, core: &Arc<Core>, h: Handoff) {
        if self.state.copying.load(Ordering::Relaxed) {
            tokio::spawn(async move {
                let mut stream = h.stream;
                let _ = stream
                    .write_all(b"-LOADING rocksync is copying the dataset from the master\r\n")
                    .await;
            });
            return;
        }
        self.repl.spawn_session(core, h);
    }

    fn refuse_reads(&self) -> Option<Reply> {
        self.state
            .copying
            .load(Ordering::Relaxed)
            .then(|| Reply::error("LOADING rocksync is copying the dataset from the master"))
    }
}

/// A running slave.
pub struct Slave {
    repl: Arc<Replication>,
    gc_cancel: CancellationToken,
    server: Option<Server>,
    addr: SocketAddr,
    state: Arc<LinkState>,
    link: Option<std::thread::JoinHandle<()>>,
}

impl Slave {
    /// Open storage (recovering from the slave's own binlog), start serving
    /// reads and start following the master.
    ///
    /// # Errors
    /// Storage errors, or the listen address being unavailable.
    pub async fn start(config: Config) -> Result<Self> {
        let (store, writer) = open_storage(&config)?;
        let replid = load_or_create_replid(&store)?;
        let state = Arc::new(LinkState::load(&store)?);
        let history = Some(state.master_replid())
            .filter(|id| !id.is_empty())
            .unwrap_or_else(|| replid.clone());
        let snapshots = Snapshots::open(&config.data_dir.join("snapshots"), writer.handle())?;
        let repl = Replication::new(Arc::clone(&store), writer.handle(), snapshots, history);
        let role = Arc::new(SlaveRole {
            state: Arc::clone(&state),
            repl: Arc::clone(&repl),
        });
        let core = Core::new(Arc::clone(&store), None, config.clone(), role, replid);
        let server = Server::start(Arc::clone(&core), CancellationToken::new())
            .await
            .map_err(|source| rocksync_master::Error::Io {
                path: "listen address".into(),
                source,
            })?;
        let listening_port = server.local_addr().port();
        let gc_cancel = CancellationToken::new();
        tokio::spawn(rocksync_master::collect_garbage(
            Arc::clone(&store),
            gc_cancel.clone(),
        ));
        tokio::spawn(rocksync_master::purge_binlog(
            Arc::clone(&core),
            writer.handle(),
            gc_cancel.clone(),
        ));
        let link = link::spawn(
            Arc::clone(&store),
            writer,
            Arc::clone(&state),
            core,
            listening_port,
            Arc::clone(&repl),
        )?;
        Ok(Self {
            repl,
            gc_cancel,
            addr: server.local_addr(),
            server: Some(server),
            state,
            link: Some(link),
        })
    }

    /// The address clients connect to.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// The link's state (progress, counters).
    pub fn state(&self) -> &Arc<LinkState> {
        &self.state
    }

    /// Stop following and serving; what was applied is flushed.
    ///
    /// # Errors
    /// RocksDB or binlog errors while closing.
    pub async fn shutdown(mut self) -> Result<()> {
        if let Some(server) = self.server.take() {
            server.shutdown().await;
        }
        self.repl.shutdown().await;
        self.state.stop.store(true, Ordering::Relaxed);
        self.gc_cancel.cancel();
        if let Some(t) = self.link.take() {
            let _ = tokio::task::spawn_blocking(move || t.join()).await;
        }
        Ok(())
    }
}

impl Drop for Slave {
    fn drop(&mut self) {
        self.gc_cancel.cancel();
        self.state.stop.store(true, Ordering::Relaxed);
    }
}
