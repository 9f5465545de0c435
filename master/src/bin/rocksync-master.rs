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

async fn wait_for_signal() -> anyhow::Result<&'static str> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = signal(SignalKind::terminate())?;
    tokio::select! {
        r = tokio::signal::ctrl_c() => { r?; Ok("SIGINT") }
        _ = term.recv() => Ok("SIGTERM"),
    }
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let config = Config::load(&cli.server, Config::default())?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let master = Master::start(config).await?;
        tracing::info!(addr = %master.local_addr(), "rocksync-master ready");
        let signal = wait_for_signal().await?;
        tracing::info!(signal, "shutting down");
        master.shutdown().await?;
        anyhow::Ok(())
    })
}
