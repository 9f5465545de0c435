//! Child processes for the benchmarks: killed when dropped, started only
//! once their port answers.

use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Result};

/// A child process killed when dropped.
pub struct Guard(pub Child);

impl Drop for Guard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A free port on 127.0.0.1.
pub fn free_port() -> Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

/// Start `cmd` (output discarded) and wait up to 60 s for `port` to answer.
pub fn start(cmd: &mut Command, port: u16) -> Result<Guard> {
    let mut guard = Guard(cmd.stdout(Stdio::null()).stderr(Stdio::null()).spawn()?);
    let deadline = Instant::now() + Duration::from_secs(60);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        if let Some(status) = guard.0.try_wait()? {
            bail!("server exited early: {status}");
        }
        if Instant::now() > deadline {
            bail!("server on port {port} did not start");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    Ok(guard)
}
