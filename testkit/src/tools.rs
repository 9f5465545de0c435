//! Redis's own HA and sharding tools as real processes: `redis-sentinel`
//! (Debian's, unmodified) watching a group, and twemproxy (`nutcracker`)
//! in front of several; each killed when its guard drops.

use std::collections::HashMap;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use crate::{client, free_port, Proc};

/// How long a tool may take to listen.
const START: Duration = Duration::from_secs(120);

/// The name the Sentinels know the watched master by.
pub const SENTINEL_MASTER: &str = "rocksync";

/// A Sentinel's configuration: on `port`, watching the master on
/// `master_port` with a quorum of 2, down after 2 s, its state in `dir`.
pub fn sentinel_conf(port: u16, dir: &Path, master_port: u16) -> String {
    format!(
        "port {port}\nbind 127.0.0.1\ndaemonize no\ndir {}\nsentinel monitor {SENTINEL_MASTER} 127.0.0.1 {master_port} 2\nsentinel down-after-milliseconds {SENTINEL_MASTER} 2000\nsentinel failover-timeout {SENTINEL_MASTER} 20000\nsentinel parallel-syncs {SENTINEL_MASTER} 1\n",
        dir.display()
    )
}

/// A `redis-sentinel` process, killed on drop.
pub struct Sentinel {
    /// The process.
    pub proc: Proc,
    /// Its port.
    pub port: u16,
}

impl Sentinel {
    /// One on a free port watching the master on `master_port`, its
    /// configuration in `dir`.
    ///
    /// # Errors
    /// Writing its configuration, or redis-sentinel not starting (is it
    /// installed? `apt-get install redis-sentinel`).
    pub fn start(dir: &Path, master_port: u16) -> std::io::Result<Self> {
        let port = free_port();
        let conf = dir.join(format!("sentinel-{port}.conf"));
        std::fs::write(&conf, sentinel_conf(port, dir, master_port))?;
        let proc = Proc::listening(Command::new("redis-sentinel").arg(&conf), port, START)?;
        Ok(Self { proc, port })
    }

    /// A client of it.
    ///
    /// # Panics
    /// When it cannot connect.
    pub fn client(&self) -> redis::Connection {
        client(self.port)
    }

    /// `SENTINEL <sub> <master>` (`replicas`, `sentinels`...) as field
    /// maps; empty when it answers otherwise.
    ///
    /// # Panics
    /// When the Sentinel does not answer.
    pub fn list(&self, sub: &str) -> Vec<HashMap<String, String>> {
        let v: redis::Value = redis::cmd("SENTINEL")
            .arg(sub)
            .arg(SENTINEL_MASTER)
            .query(&mut self.client())
            .expect("sentinel");
        let redis::Value::Array(items) = v else {
            return Vec::new();
        };
        items
            .into_iter()
            .filter_map(|i| redis::from_redis_value::<Vec<String>>(&i).ok())
            .map(|kv| {
                kv.chunks(2)
                    .filter(|c| c.len() == 2)
                    .map(|c| (c[0].clone(), c[1].clone()))
                    .collect()
            })
            .collect()
    }

    /// The port of the master it names now.
    pub fn master_port(&self) -> Option<u16> {
        let addr: Vec<String> = redis::cmd("SENTINEL")
            .arg("get-master-addr-by-name")
            .arg(SENTINEL_MASTER)
            .query(&mut self.client())
            .ok()?;
        addr.get(1)?.parse().ok()
    }
}

/// A twemproxy (`nutcracker`) process, killed on drop.
pub struct Nutcracker {
    /// The process.
    pub proc: Proc,
    /// The port it proxies on.
    pub port: u16,
}

impl Nutcracker {
    /// One named `name` on a free port in front of `backends` (ports),
    /// its configuration in `dir`. Servers are named (`group<i>`), so a
    /// failed-over master can take a group's place under the same name,
    /// and never ejected (a datastore must not move keys to another
    /// shard).
    ///
    /// # Errors
    /// Writing its configuration, or nutcracker not starting (is it
    /// installed? `apt-get install nutcracker`).
    pub fn start(dir: &Path, name: &str, backends: &[u16]) -> std::io::Result<Self> {
        let port = free_port();
        let servers: String = backends
            .iter()
            .enumerate()
            .map(|(i, p)| format!("   - 127.0.0.1:{p}:1 group{i}\n"))
            .collect();
        let conf = dir.join(format!("{name}.yml"));
        std::fs::write(
            &conf,
            format!(
                "{name}:\n  listen: 127.0.0.1:{port}\n  hash: fnv1a_64\n  distribution: ketama\n  redis: true\n  auto_eject_hosts: false\n  timeout: 5000\n  servers:\n{servers}"
            ),
        )?;
        let proc = Proc::listening(
            Command::new("nutcracker")
                .arg("-c")
                .arg(&conf)
                .arg("-s")
                .arg(free_port().to_string()),
            port,
            START,
        )?;
        Ok(Self { proc, port })
    }
}
