//! `rocksync-master`: a node that starts as a master (SPEC §1, §8, §9).
//! Its role can change at runtime (`SLAVEOF`), and a role kept in the data
//! directory or named by `--master-addr` wins over the default.

#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> anyhow::Result<()> {
    rocksync_slave::main(
        "rocksync-master",
        "Redis-compatible node on RocksDB with a binlog; starts as a master",
        rocksync_master::Config::default(),
        rocksync_master::Role::Master,
    )
}
