//! `rocksync-slave`: a node that starts following 127.0.0.1:8888 (SPEC §1,
//! §6, §8, §9). Its role can change at runtime (`SLAVEOF NO ONE`), and a
//! role kept in the data directory or named by `--master-addr` wins over
//! the default.

use clap::Parser;
use rocksync_master::{Config, ServerArgs};

#[derive(Parser)]
#[command(
    name = "rocksync-slave",
    version,
    about = "Redis-compatible node on RocksDB with a binlog; starts following a master"
)]
struct Cli {
    #[command(flatten)]
    server: ServerArgs,
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    rocksync_master::cli::init_logging();
    let config = Config::load(&cli.server, rocksync_slave::slave_defaults())?;
    rocksync_slave::run_until_signal(
        config,
        rocksync_slave::slave_default_role(),
        "rocksync-slave",
    )
}
