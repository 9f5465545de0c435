//! rocksync nodes as real processes: `rocksync-master` and
//! `rocksync-slave` on 127.0.0.1 with their data directories, killed
//! (SIGKILL) when their guards drop; replication waits, a digest of every
//! key and value read through a real client, loaders, SLAVEOF.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use redis::Commands;

use crate::{wait_until, Proc};

/// A server process, killed on drop.
pub struct Node {
    child: Proc,
    /// Where it listens.
    pub addr: SocketAddr,
    /// Its data directory.
    pub data: PathBuf,
}

/// The directory of the workspace's binaries: the running test's target
/// directory (tests run from `target/<profile>/deps`; cargo builds a
/// package's binaries before its integration tests).
///
/// # Panics
/// When the running executable has no path.
pub fn bin_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("the test's executable");
    let dir = exe
        .parent()
        .map_or_else(|| PathBuf::from("."), Path::to_owned);
    if dir.ends_with("deps") {
        dir.parent().map_or(dir.clone(), Path::to_owned)
    } else {
        dir
    }
}

fn bin(name: &str) -> PathBuf {
    bin_dir().join(name)
}

impl Node {
    /// `binary` (rocksync-master or rocksync-slave) on `port` (0: any)
    /// with `args`, once it logs its address.
    ///
    /// # Panics
    /// When it does not start within 60 s.
    pub fn spawn(binary: &str, data: &Path, port: u16, args: &[&str]) -> Self {
        Self::spawn_env(binary, data, port, args, &[])
    }

    /// As [`Node::spawn`], with extra environment variables.
    pub fn spawn_env(
        binary: &str,
        data: &Path,
        port: u16,
        args: &[&str],
        env: &[(&str, &str)],
    ) -> Self {
        // Guarded at once: a node that does not start is killed too.
        let mut child = Proc(
            Command::new(bin(binary))
                .envs(env.iter().copied())
                .args(["--port", &port.to_string(), "--data-dir"])
                .arg(data)
                .args(args)
                .env("RUST_LOG", "info")
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap_or_else(|e| panic!("spawn {binary}: {e}")),
        );
        let stderr = child.0.stderr.take().expect("stderr");
        let (tx, rx) = mpsc::channel();
        let log_name = format!("{}.log", binary);
        let log_path = data.with_extension(log_name);
        std::thread::spawn(move || {
            let mut log = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(log_path)
                .ok();
            let mut sent = false;
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                if let Some(f) = log.as_mut() {
                    use std::io::Write;
                    let _ = writeln!(f, "{line}");
                }
                if !sent && line.contains("listening") {
                    if let Some(a) = line
                        .split("addr=")
                        .nth(1)
                        .and_then(|s| s.split_whitespace().next())
                    {
                        let _ = tx.send(a.parse::<SocketAddr>().ok());
                        sent = true;
                    }
                }
            }
        });
        let addr = rx
            .recv_timeout(Duration::from_secs(60))
            .ok()
            .flatten()
            .unwrap_or_else(|| panic!("{binary} did not start"));
        Self {
            child,
            addr,
            data: data.to_owned(),
        }
    }

    /// A master on `port` (0: any).
    pub fn master(data: &Path, port: u16, args: &[&str]) -> Self {
        Self::spawn("rocksync-master", data, port, args)
    }

    /// A slave of `master` on `port`.
    pub fn slave(data: &Path, port: u16, master: SocketAddr, args: &[&str]) -> Self {
        let mut all = vec!["--master-addr".to_owned(), master.to_string()];
        all.extend(args.iter().map(|s| s.to_string()));
        let refs: Vec<&str> = all.iter().map(String::as_str).collect();
        Self::spawn("rocksync-slave", data, port, &refs)
    }

    /// A client of it (10 s to connect, 30 s reads).
    ///
    /// # Panics
    /// When it cannot connect.
    pub fn client(&self) -> redis::Connection {
        let c = redis::Client::open(format!("redis://{}/", self.addr)).expect("client");
        let conn = c
            .get_connection_with_timeout(Duration::from_secs(10))
            .expect("connect");
        conn.set_read_timeout(Some(Duration::from_secs(30)))
            .expect("timeout");
        conn
    }

    /// `INFO section`, asked again on a new connection (twice at most)
    /// when the connection is closed under it: Sentinel's failover block
    /// ends with `CLIENT KILL TYPE normal`, which closes every client of
    /// the node it reconfigures (as Redis's does: a client reconnects).
    ///
    /// # Panics
    /// When the node does not answer.
    pub fn info(&self, section: &str) -> String {
        let mut tries = 0;
        loop {
            match redis::cmd("INFO").arg(section).query(&mut self.client()) {
                Ok(text) => return text,
                Err(e) if tries < 2 && (e.is_connection_dropped() || e.is_io_error()) => {
                    tries += 1;
                    std::thread::sleep(Duration::from_millis(100));
                }
                Err(e) => panic!("INFO {section} on {}: {e}", self.addr),
            }
        }
    }

    /// One field of `INFO section`.
    pub fn field(&self, section: &str, key: &str) -> Option<String> {
        field(&self.info(section), key)
    }

    /// One numeric field of `INFO section` (0 when absent).
    pub fn num(&self, section: &str, key: &str) -> u64 {
        self.field(section, key)
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    }

    /// Its process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Send `sig` (`-TERM`, `-STOP`...).
    pub fn signal(&self, sig: &str) {
        self.child.signal(sig.trim_start_matches('-'));
    }

    /// SIGSTOP, then wait (bounded) until every thread of it is stopped: a
    /// signal is delivered a moment after kill(1) returns, and a thread
    /// still running could answer one more request.
    ///
    /// # Panics
    /// When it is not stopped within 5 s.
    pub fn pause(&self) {
        self.signal("-STOP");
        let tasks = PathBuf::from(format!("/proc/{}/task", self.pid()));
        let stopped = || {
            std::fs::read_dir(&tasks).is_ok_and(|d| {
                d.flatten().all(|t| {
                    std::fs::read_to_string(t.path().join("stat")).is_ok_and(|s| {
                        // state is the field after the command's ")".
                        s.rsplit_once(')')
                            .is_some_and(|(_, rest)| rest.trim_start().starts_with(['T', 't']))
                    })
                })
            })
        };
        wait_until("the process to stop", Duration::from_secs(5), stopped);
    }

    /// SIGCONT (after [`Node::pause`]).
    pub fn resume(&self) {
        self.signal("-CONT");
    }

    /// SIGTERM, then wait (bounded) for the exit; its status.
    pub fn terminate(mut self, within: Duration) -> std::process::ExitStatus {
        self.signal("-TERM");
        self.child
            .wait_exit(within)
            .unwrap_or_else(|| panic!("no exit within {within:?} of SIGTERM"))
    }

    /// Wait (bounded) for the process to exit by itself; its status.
    pub fn wait_exit(mut self, within: Duration) -> std::process::ExitStatus {
        self.child
            .wait_exit(within)
            .unwrap_or_else(|| panic!("no exit within {within:?}"))
    }

    /// SIGKILL, now (the guard's drop).
    pub fn kill(self) {}
}

/// The value of `key` in an INFO text.
pub fn field(info: &str, key: &str) -> Option<String> {
    info.lines().find_map(|l| {
        l.strip_prefix(&format!("{key}:"))
            .map(|v| v.trim().to_owned())
    })
}

/// Wait until the slave has applied everything the master logged.
pub fn wait_synced(master: &Node, slave: &Node, timeout: Duration) {
    wait_until("the slave to catch up", timeout, || {
        let target = master.info("replication");
        let info = slave.info("replication");
        field(&info, "master_link_status").as_deref() == Some("up")
            && field(&info, "master_sync_in_progress").as_deref() == Some("0")
            && field(&info, "master_replid") == field(&target, "master_replid")
            && field(&info, "last_seq") == field(&target, "master_repl_offset")
    });
}

/// Every key with its type and content (TTL presence included).
///
/// A read cut by an I/O error (a signal meant for another test's child
/// interrupts a socket read that has a timeout: EINTR) is read again on a
/// new connection, twice at most; a server that is gone still fails.
pub fn digest(node: &Node) -> BTreeMap<String, String> {
    digest_of(&node.addr.to_string(), || node.client())
}

/// As [`digest`], of the server `connect` reaches (`name` in messages):
/// a redis-server too.
pub fn digest_of(name: &str, connect: impl Fn() -> redis::Connection) -> BTreeMap<String, String> {
    let mut c = connect();
    let keys: Vec<Vec<u8>> = c.keys("*").expect("keys");
    let mut out = BTreeMap::new();
    for k in keys {
        let mut attempt = 0;
        let entry = loop {
            match digest_key(&mut c, &k) {
                Ok(entry) => break entry,
                Err(e) if e.is_io_error() && attempt < 2 => {
                    attempt += 1;
                    c = connect();
                }
                Err(e) => panic!("reading {:?} on {name}: {e}", k.escape_ascii().to_string()),
            }
        };
        if let Some(entry) = entry {
            out.insert(String::from_utf8_lossy(&k).into_owned(), entry);
        }
    }
    out
}

/// A key's type, content and whether it has a TTL (None: gone).
fn digest_key(c: &mut redis::Connection, k: &[u8]) -> redis::RedisResult<Option<String>> {
    let t: String = redis::cmd("TYPE").arg(k).query(c)?;
    let v = match t.as_str() {
        "string" => format!("{:?}", c.get::<_, Vec<u8>>(k)?),
        "hash" => format!("{:?}", c.hgetall::<_, BTreeMap<Vec<u8>, Vec<u8>>>(k)?),
        "set" => format!(
            "{:?}",
            c.smembers::<_, std::collections::BTreeSet<Vec<u8>>>(k)?
        ),
        "zset" => format!(
            "{:?}",
            c.zrange_withscores::<_, Vec<(Vec<u8>, f64)>>(k, 0, -1)?
        ),
        "list" => format!("{:?}", c.lrange::<_, Vec<Vec<u8>>>(k, 0, -1)?),
        // Everything of a stream: entries, counters, groups, pending
        // entries with their delivery times and counts, consumers.
        "stream" => format!(
            "{:?}",
            redis::cmd("XINFO")
                .arg("STREAM")
                .arg(k)
                .arg("FULL")
                .arg("COUNT")
                .arg(0)
                .query::<redis::Value>(c)?
        ),
        "none" => return Ok(None),
        other => panic!("unknown type {other}"),
    };
    let ttl: i64 = c.ttl(k)?;
    Ok(Some(format!("{t} {v} ttl={}", ttl > 0)))
}

/// Load `n` keys of every type (n/5 each) through pipelines.
pub fn load(node: &Node, prefix: &str, n: usize, value_len: usize) {
    let mut c = node.client();
    let v = "x".repeat(value_len);
    let per = (n / 5).max(1);
    for chunk in (0..per).collect::<Vec<_>>().chunks(1000) {
        let mut p = redis::pipe();
        for &i in chunk {
            p.cmd("SET").arg(format!("{prefix}:s:{i}")).arg(&v).ignore();
            p.cmd("HSET")
                .arg(format!("{prefix}:h:{}", i % 50))
                .arg(format!("f{i}"))
                .arg(&v)
                .ignore();
            p.cmd("SADD")
                .arg(format!("{prefix}:set:{}", i % 50))
                .arg(format!("m{i}"))
                .ignore();
            p.cmd("ZADD")
                .arg(format!("{prefix}:z:{}", i % 50))
                .arg(i)
                .arg(format!("m{i}"))
                .ignore();
            p.cmd("RPUSH")
                .arg(format!("{prefix}:l:{}", i % 50))
                .arg(&v)
                .ignore();
        }
        let _: () = p.query(&mut c).expect("load");
    }
}

/// `SLAVEOF host port` (or `NO ONE` for `None`); the reply's text.
pub fn slaveof(node: &Node, master: Option<SocketAddr>) -> String {
    let mut cmd = redis::cmd("SLAVEOF");
    match master {
        Some(m) => cmd.arg(m.ip().to_string()).arg(m.port()),
        None => cmd.arg("NO").arg("ONE"),
    };
    match cmd
        .query::<redis::Value>(&mut node.client())
        .expect("slaveof")
    {
        redis::Value::Okay => "OK".into(),
        redis::Value::SimpleString(s) => s,
        other => panic!("SLAVEOF answered {other:?}"),
    }
}
