//! Child processes for the benchmarks, from the test kit: killed when
//! dropped, started only once their port answers.

use std::process::Command;
use std::time::Duration;

use anyhow::Result;

pub use rocksync_testkit::Proc as Guard;

/// A free port on 127.0.0.1.
pub fn free_port() -> Result<u16> {
    Ok(rocksync_testkit::free_port())
}

/// Start `cmd` (output discarded) and wait up to 60 s for `port` to answer.
pub fn start(cmd: &mut Command, port: u16) -> Result<Guard> {
    Ok(Guard::listening(cmd, port, Duration::from_secs(60))?)
}
