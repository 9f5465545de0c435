//! `rocksync-slave`: follow a master, serve reads (SPEC §1, §6, §8).

use clap::Parser;
use rocksync_master::{Config, ServerArgs};
use rocksync_slave::Slave;

#[derive(Parser)]
#[command(
    name = "rocksync-slave",
    version,
    about = "Read-only rocksync slave following a master"
)]
struct Cli {
    #[command(flatten)]
    server: ServerArgs,
    /// The master to follow (127.0.0.1:8888).
    #[arg(long)]
    master_addr: Option<String>,
    /// The master's password.
    #[arg(long)]
    masterauth: Option<String>,
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    rocksync_master::cli::init_logging();
    let mut config = Config::load(&cli.server, rocksync_slave::default_config())?;
    if let Some(a) = cli.master_addr {
        config.master_addr = a;
    }
    if let Some(p) = cli.masterauth {
        config.masterauth = p;
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let slave = Slave::start(config).await?;
        tracing::info!(addr = %slave.local_addr(), "rocksync-slave ready");
        let signal = rocksync_master::cli::stop_signal().await?;
        tracing::info!(signal, "shutting down");
        slave.shutdown().await?;
        anyhow::Ok(())
    })
}
