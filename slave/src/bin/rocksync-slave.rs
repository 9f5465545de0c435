//! `rocksync-slave`: a node that starts following 127.0.0.1:8888 (SPEC §1,
//! §6, §8, §9). Its role can change at runtime (`SLAVEOF NO ONE`), and a
//! role kept in the data directory or named by `--master-addr` wins over
//! the default.

#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> anyhow::Result<()> {
    rocksync_slave::main(
        "rocksync-slave",
        "Redis-compatible node on RocksDB with a binlog; starts following a master",
        rocksync_slave::slave_defaults(),
        rocksync_slave::slave_default_role(),
    )
}
