//! The node's shared state: the store, its binlog and write path, the
//! sync sessions, the replication link's state, live settings, clients,
//! channels and counters, and the role.

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Instant;

use rocksync_binlog::Binlog;
use tokio_util::sync::CancellationToken;

use crate::acl::Acl;
use crate::clients::{Clients, PubSub};
use crate::cmd::Cursors;
use crate::config::Config;
use crate::engine::Engine;
use crate::link::{Follower, Following};
use crate::repl::Replication;
use crate::role::{LinkState, NodeView, Role};
use crate::slowlog::SlowLog;
use crate::store::Store;

/// Connection counters.
#[derive(Debug, Default)]
pub struct ConnStats {
    /// Open connections.
    pub connected: AtomicUsize,
    /// Connections accepted since start.
    pub received: AtomicU64,
    /// Connections refused by `maxclients`.
    pub rejected: AtomicU64,
    /// TLS handshakes that failed or did not end in time.
    pub tls_handshake_failures: AtomicU64,
    /// Commands processed.
    pub commands: AtomicU64,
    /// Commands per second over the last second.
    pub ops_per_sec: AtomicU64,
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
    /// The replication link's state (while a slave): `view.link`.
    pub link: Arc<LinkState>,
    /// Live settings, the role, the port.
    pub view: NodeView,
    /// SCAN cursors.
    pub cursors: Arc<Cursors>,
    /// Connected clients (CLIENT LIST / KILL).
    pub clients: Clients,
    /// Channel and pattern subscribers.
    pub pubsub: Arc<PubSub>,
    /// Counters.
    pub stats: ConnStats,
    /// Start time.
    pub started: Instant,
    /// This process's id (40 hex digits, new at every start).
    pub run_id: String,
    pub(crate) following: tokio::sync::Mutex<Option<Following>>,
    pub(crate) follower: Option<Arc<dyn Follower>>,
    /// Set once shutdown begins: no role change starts after it.
    pub(crate) stopping: AtomicBool,
    /// Cancelled by SHUTDOWN: the process stops as on SIGTERM.
    pub(crate) shutdown_asked: CancellationToken,
    /// SLOWLOG.
    pub slowlog: SlowLog,
    /// Users and their permissions (ACL).
    pub acl: Acl,
    /// The TLS acceptor in force.
    pub tls: crate::tls::Tls,
    /// Backups (BGSAVE, SAVE) and what LASTSAVE and INFO say of them.
    pub saves: crate::backup::Saves,
    pub(crate) next_client_id: AtomicU64,
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
        acl: Acl,
        tls: crate::tls::Tls,
    ) -> Arc<Self> {
        let cursors = Arc::clone(&engine.cursors);
        engine
            .slow_us
            .store(config.slowlog_log_slower_than, Ordering::Relaxed);
        engine.limits.set(&config);
        let output_limits = config.client_output_buffer_limit;
        engine
            .latency
            .set_threshold(config.latency_monitor_threshold);
        let saves = crate::backup::Saves::new(&crate::backup::backup_dir(&config), &store);
        Arc::new(Self {
            saves,
            store,
            binlog,
            engine,
            repl,
            view: NodeView::new(config, role, Arc::clone(&link)),
            link,
            cursors,
            clients: {
                let c = Clients::default();
                c.set_output_limits(&output_limits);
                c
            },
            pubsub: Arc::default(),
            stats: ConnStats::default(),
            started: Instant::now(),
            run_id: crate::storage::new_replid(),
            following: tokio::sync::Mutex::new(None),
            follower,
            stopping: AtomicBool::new(false),
            shutdown_asked: CancellationToken::new(),
            slowlog: SlowLog::default(),
            acl,
            tls,
            next_client_id: AtomicU64::new(1),
        })
    }

    /// A copy of the configuration in force.
    pub fn config(&self) -> Config {
        self.view.config()
    }

    /// What `f` reads of the configuration in force, without a copy of
    /// it (for checks made on every command). `f` runs under the lock: it
    /// must not read or change the configuration itself.
    pub fn with_config<R>(&self, f: impl FnOnce(&Config) -> R) -> R {
        self.view.with_config(f)
    }

    /// The role now.
    pub fn role(&self) -> Role {
        self.view.role()
    }

    pub(crate) fn set_role(&self, role: Role) {
        self.view.set_role(role);
    }

    /// True while this node refuses writes (a slave).
    pub fn is_read_only(&self) -> bool {
        self.view.is_read_only()
    }

    /// True while data reads are refused: a slave in the middle of a full
    /// copy holds partial data.
    pub fn is_loading(&self) -> bool {
        self.view.is_loading()
    }

    /// The port clients connect to.
    pub fn listening_port(&self) -> u16 {
        self.view.listening_port()
    }
}
