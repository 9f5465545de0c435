//! Helpers for the master's integration tests: a master in this process
//! (on its own runtime thread) or as a child process, on 127.0.0.1 with a
//! temporary data directory, stopped when the helper drops.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::Duration;

use rocksync_master::{Config, Node, NodeOptions};
use tempfile::TempDir;

/// A master running on a runtime thread of this process.
pub struct InProc {
    pub addr: SocketAddr,
    pub dir: TempDir,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl InProc {
    pub fn start() -> Self {
        Self::start_with(|_| {})
    }

    pub fn start_with(tweak: impl FnOnce(&mut Config)) -> Self {
        let dir = TempDir::new().expect("tmp");
        let mut config = Config {
            port: 0,
            data_dir: dir.path().join("data"),
            ..Config::default()
        };
        tweak(&mut config);
        Self::start_in(dir, config)
    }

    /// A master with the default configuration on the data `dir` holds
    /// (what [`InProc::stop`] left: a restart).
    pub fn start_on(dir: TempDir) -> Self {
        let data_dir = dir.path().join("data");
        Self::start_in(
            dir,
            Config {
                port: 0,
                data_dir,
                ..Config::default()
            },
        )
    }

    pub fn start_in(dir: TempDir, config: Config) -> Self {
        let (addr_tx, addr_rx) = mpsc::channel();
        let (stop, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .expect("runtime");
            rt.block_on(async move {
                let master = Node::start(config, NodeOptions::default())
                    .await
                    .expect("master starts");
                addr_tx.send(master.local_addr()).expect("send addr");
                tokio::select! {
                    _ = stop_rx => {}
                    () = master.shutdown_requested() => {}
                }
                master.shutdown().await.expect("clean shutdown");
            });
        });
        let addr = addr_rx
            .recv_timeout(Duration::from_secs(30))
            .expect("master address");
        Self {
            addr,
            dir,
            stop: Some(stop),
            thread: Some(thread),
        }
    }

    pub fn url(&self) -> String {
        format!("redis://{}/", self.addr)
    }

    pub fn client(&self) -> redis::Connection {
        redis::Client::open(self.url())
            .expect("client")
            .get_connection_with_timeout(Duration::from_secs(10))
            .expect("connect")
    }

    /// Shut down cleanly and hand back the data directory.
    pub fn stop(mut self) -> TempDir {
        self.shutdown();
        let tmp = TempDir::new().expect("tmp");
        std::mem::replace(&mut self.dir, tmp)
    }

    fn shutdown(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(t) = self.thread.take() {
            t.join().expect("master thread");
        }
    }
}

impl Drop for InProc {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// Path of a binary built beside the test executable.
pub fn bin(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("test exe");
    let dir = exe.parent().and_then(Path::parent).expect("target dir");
    dir.join(name)
}

// Not every test uses each of them.
#[allow(unused_imports)]
pub use rocksync_testkit::RedisServer;
