//! The seam a replication link plugs into: [`Follower`] (the slave
//! crate's link), the [`LinkCtx`] it gets from its node, and a link
//! running.

use std::sync::Arc;

use tokio_util::sync::CancellationToken;

use crate::config::Config;
use crate::error::{Error, Result};
use crate::repl::Replication;
use crate::role::{LinkState, NodeView};
use crate::storage::{History, Storage};

/// What a follower's link gets from its node.
#[derive(Clone)]
pub struct LinkCtx {
    pub(crate) view: NodeView,
    pub(crate) run_id: String,
    pub(crate) repl: Arc<Replication>,
    pub(crate) pubsub: Arc<crate::clients::PubSub>,
}

impl LinkCtx {
    /// The configuration in force.
    pub fn config(&self) -> Config {
        self.view.config()
    }

    /// The port this node serves on (sent to the master).
    pub fn listening_port(&self) -> u16 {
        self.view.listening_port()
    }

    /// A message the master published (Redis replicates PUBLISH):
    /// delivered to this node's subscribers, as a Redis replica does.
    pub fn publish(&self, channel: &bytes::Bytes, message: &bytes::Bytes) {
        self.pubsub.publish(channel, message);
    }

    /// The link's shared state.
    pub fn state(&self) -> &Arc<LinkState> {
        &self.view.link
    }

    /// This node's persistent id (sent to the master).
    pub fn run_id(&self) -> &str {
        &self.run_id
    }

    /// The data's history changed (a full copy ended, or the master moved
    /// to a new history that continues ours): sessions this node serves
    /// are ended, so its own followers decide again against the new one.
    pub fn history_changed(&self, history: History) {
        self.repl.set_history(history);
        self.repl.end_sessions("the history changed");
    }

    /// A full copy begins: the data is about to be wiped. Sessions this
    /// node serves end and its snapshots are dropped (they hold the old
    /// data).
    pub fn copy_begins(&self) {
        self.repl.end_sessions("a full copy from our master begins");
        self.repl.drop_snapshots();
    }
}

/// A replication link between this node and a master: the crate that
/// depends on both endpoints provides it.
pub trait Follower: Send + Sync + 'static {
    /// Start following `master_addr` with `storage`, until `cancel`; the
    /// task hands the storage back when it ends.
    fn follow(
        &self,
        storage: Storage,
        master_addr: String,
        ctx: LinkCtx,
        cancel: CancellationToken,
    ) -> tokio::task::JoinHandle<Storage>;
}

/// A link running.
pub(crate) struct Following {
    pub(crate) master_addr: String,
    pub(crate) cancel: CancellationToken,
    pub(crate) task: tokio::task::JoinHandle<Storage>,
}

impl Following {
    pub(crate) async fn stop(self) -> Result<Storage> {
        self.cancel.cancel();
        self.task.await.map_err(|e| Error::Io {
            path: "replication link".into(),
            source: std::io::Error::other(e.to_string()),
        })
    }
}
