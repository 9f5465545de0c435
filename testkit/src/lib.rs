//! Test support shared by the integration tests and xtask: child
//! processes that are killed when their guard drops ([`Proc`]), rocksync
//! nodes ([`Node`], with a digest of their data, loaders and replication
//! waits), a real redis-server ([`RedisServer`]), redis-sentinel
//! ([`Sentinel`]) and twemproxy ([`Nutcracker`]), a TCP proxy a test cuts
//! or slows ([`Proxy`]), a small disk to fill
//! ([`Tmpfs`]), certificates for TLS made by openssl ([`Certs`]), free
//! loopback ports and bounded waits. Every wait ends by
//! itself; every child ends with its guard.

mod certs;
mod node;
mod proxy;
mod tmpfs;
mod tools;

pub use certs::Certs;
pub use node::{bin_dir, digest, digest_of, field, load, slaveof, wait_synced, Node};
pub use proxy::Proxy;
pub use tmpfs::Tmpfs;
pub use tools::{sentinel_conf, Nutcracker, Sentinel, SENTINEL_MASTER};

use std::net::TcpStream;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use tempfile::TempDir;

/// A child process, killed and reaped when dropped (after a SIGCONT, so
/// that one a test stopped with SIGSTOP dies too).
pub struct Proc(pub Child);

impl Proc {
    /// Start `cmd` with its output discarded and wait, at most `within`,
    /// until `port` on 127.0.0.1 answers.
    ///
    /// # Errors
    /// The spawn error, the process exiting first, or the wait running out
    /// (the process is killed then).
    pub fn listening(cmd: &mut Command, port: u16, within: Duration) -> std::io::Result<Self> {
        let mut me = Self(cmd.stdout(Stdio::null()).stderr(Stdio::null()).spawn()?);
        let deadline = Instant::now() + within;
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            if let Some(status) = me.0.try_wait()? {
                return Err(std::io::Error::other(format!(
                    "{cmd:?} exited before listening on {port}: {status}"
                )));
            }
            if Instant::now() > deadline {
                return Err(std::io::Error::other(format!(
                    "{cmd:?} did not listen on {port} within {within:?}"
                )));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Ok(me)
    }

    /// Its process id.
    pub fn id(&self) -> u32 {
        self.0.id()
    }

    /// Send `signal` (a name, `TERM`, `STOP`...) with kill(1).
    pub fn signal(&self, signal: &str) {
        let _ = Command::new("kill")
            .args([&format!("-{signal}"), &self.id().to_string()])
            .status();
    }

    /// Wait at most `within` for it to exit; `None` when it has not.
    pub fn wait_exit(&mut self, within: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + within;
        loop {
            if let Ok(Some(status)) = self.0.try_wait() {
                return Some(status);
            }
            if Instant::now() > deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        // One that has exited (and been reaped) is signalled no more: its
        // pid may be another process's by now.
        if matches!(self.0.try_wait(), Ok(None)) {
            self.signal("CONT");
            let _ = self.0.kill();
        }
        let _ = self.0.wait();
    }
}

/// Ports [`free_port`] hands out: below Linux's ephemeral range
/// (32768-60999), from which the kernel takes the local port of every
/// outgoing connection and of every `port 0` bind. A port taken from that
/// range was seen taken again, by a test's client connection or another
/// node, before the server it was meant for bound it (CI: "rocksync-slave
/// did not start").
const PORTS: std::ops::Range<u16> = 20_000..32_000;

/// A free port on 127.0.0.1, never handed out before by this process
/// (free now: another process may take it).
///
/// # Panics
/// When no port in the range can be bound.
pub fn free_port() -> u16 {
    use std::sync::atomic::{AtomicU32, Ordering};
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let span = u32::from(PORTS.end - PORTS.start);
    // Each test process starts at its own place in the range.
    let start = std::process::id().wrapping_mul(7919) % span;
    for _ in 0..span {
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let port = PORTS.start + ((start + n) % span) as u16;
        if std::net::TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
    panic!("no free port on 127.0.0.1 in {PORTS:?}")
}

/// Wait, at most `timeout`, until `cond` holds.
///
/// # Panics
/// When it does not, naming `what`.
pub fn wait_until(what: &str, timeout: Duration, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !cond() {
        assert!(
            Instant::now() < deadline,
            "timed out after {timeout:?} waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// A client of the server on `port` of 127.0.0.1, with 10 s timeouts.
///
/// # Panics
/// When it cannot connect.
pub fn client(port: u16) -> redis::Connection {
    let c = redis::Client::open(format!("redis://127.0.0.1:{port}/"))
        .expect("client")
        .get_connection_with_timeout(Duration::from_secs(10))
        .unwrap_or_else(|e| panic!("connect to 127.0.0.1:{port}: {e}"));
    c.set_read_timeout(Some(Duration::from_secs(30)))
        .expect("read timeout");
    c
}

/// Check that the server answering on `port` is `proc` (its INFO's
/// `process_id`), still running.
fn ours(proc: &mut Proc, port: u16) -> std::io::Result<()> {
    let pid = redis::Client::open(format!("redis://127.0.0.1:{port}/"))
        .and_then(|c| c.get_connection_with_timeout(Duration::from_secs(10)))
        .and_then(|mut c| redis::cmd("INFO").arg("server").query::<String>(&mut c))
        .ok()
        .and_then(|info| {
            info.lines()
                .find_map(|l| l.strip_prefix("process_id:"))
                .and_then(|v| v.trim().parse::<u32>().ok())
        });
    if pid == Some(proc.id()) && proc.0.try_wait()?.is_none() {
        return Ok(());
    }
    Err(std::io::Error::other(format!(
        "port {port} answers for process {pid:?}, not for redis-server {}",
        proc.id()
    )))
}

/// A real `redis-server` on a free port of 127.0.0.1, in a temporary
/// directory, with no RDB saves; killed when dropped.
pub struct RedisServer {
    /// The process.
    pub proc: Proc,
    /// Its port.
    pub port: u16,
    /// Its directory.
    pub dir: TempDir,
}

impl RedisServer {
    /// Start one with `extra` arguments (`--appendonly yes`...).
    ///
    /// # Panics
    /// When redis-server is not installed or does not start (five ports
    /// are tried: another process may take a free one first).
    pub fn start(extra: &[&str]) -> Self {
        let dir = TempDir::new().expect("tmp");
        let mut last = None;
        for _ in 0..5 {
            let port = free_port();
            let started = Proc::listening(
                Command::new("redis-server")
                    .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
                    .args(["--save", "", "--dir"])
                    .arg(dir.path())
                    .args(extra),
                port,
                Duration::from_secs(10),
            );
            match started {
                // The port answering may be another process's that took
                // it first (ours then failed to bind): only ours will do.
                Ok(mut proc) => match ours(&mut proc, port) {
                    Ok(()) => return Self { proc, port, dir },
                    Err(e) => last = Some(e),
                },
                Err(e) => last = Some(e),
            }
        }
        panic!("redis-server did not start (apt-get install redis-server): {last:?}");
    }

    /// A client of it.
    pub fn client(&self) -> redis::Connection {
        client(self.port)
    }
}
