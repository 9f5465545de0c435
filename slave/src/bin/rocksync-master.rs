//! `rocksync-master`: a node that starts as a master (SPEC §1, §8, §9).
//! Its role can change at runtime (`SLAVEOF`), and a role kept in the data
//! directory or named by `--master-addr` wins over the default.

use clap::Parser;
use rocksync_master::{Config, Role, ServerArgs};

#[derive(Parser)]
#[command(
    name = "rocksync-master",
    version,
    about = "Redis-compatible node on RocksDB with a binlog; starts as a master"
)]
struct Cli {
    #[command(flatten)]
    server: ServerArgs,
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    rocksync_master::cli::init_logging();
    let config = Config::load(&cli.server, Config::default())?;
    rocksync_slave::run_until_signal(config, Role::Master, "rocksync-master")
}
