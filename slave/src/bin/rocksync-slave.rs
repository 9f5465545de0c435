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
        let signal = wait_for_signal().await?;
        tracing::info!(signal, "shutting down");
        slave.shutdown().await?;
        anyhow::Ok(())
    })
}
