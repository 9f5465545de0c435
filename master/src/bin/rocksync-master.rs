//! `rocksync-master`: serve clients and slaves (SPEC §1, §8).

use clap::Parser;
use rocksync_master::{Config, Master, ServerArgs};

#[derive(Parser)]
#[command(
    name = "rocksync-master",
    version,
    about = "Redis-compatible master on RocksDB with a binlog"
)]
struct Cli {
    #[command(flatten)]
    server: ServerArgs,
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    rocksync_master::cli::init_logging();
    let config = Config::load(&cli.server, Config::default())?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let master = Master::start(config).await?;
        tracing::info!(addr = %master.local_addr(), "rocksync-master ready");
        let signal = rocksync_master::cli::stop_signal().await?;
        tracing::info!(signal, "shutting down");
        master.shutdown().await?;
        anyhow::Ok(())
    })
}
