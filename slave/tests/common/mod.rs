//! The replication tests' helpers, all from the test kit: rocksync nodes
//! as real processes (killed when their guards drop), digests, loaders,
//! replication waits, redis-server, a tmpfs to fill.

// Not every test uses each of them.
#[allow(unused_imports)]
pub use rocksync_testkit::{
    bin_dir, digest, digest_of, field, free_port, load, slaveof, wait_synced, wait_until, Certs,
    Node, Proc, RedisServer as Redis, Tmpfs,
};
