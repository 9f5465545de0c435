//! What a SET over a real keyspace costs RocksDB alone, beside what it
//! costs through the write path, in one run: the floor under the server's
//! write rows. 1 M keys (`key:%012d`, 100-byte values) are loaded through
//! the write path and settled (flushed, no compaction left), then each
//! benchmark touches random loaded keys:
//!
//! - `rocksdb_get/16`: point lookups of 16 keys' metadata, one by one
//!   (what a write reads to keep DBSIZE exact, and a GET at `-P 1`);
//! - `rocksdb_multi_get/16`: the same lookups batched (a pipeline's
//!   pre-read, and a run of GETs);
//! - `rocksdb_set/256`: RocksDB's share of 256 SETs: their metadata read
//!   in one batched lookup, as the write path pre-reads one job's keys,
//!   then one write batch of their new values, sorted (a group's memtable
//!   inserts; under `-c 50 -P 16` a group holds hundreds);
//! - `write_path_set/256`: the same 256 SETs as one job through the write
//!   path (the pre-read, execution, the binlog append, one batch): the
//!   same RocksDB work and ours.
//!
//! Each of the two writing benchmarks starts settled, so neither runs in
//! the other's flushes and compactions.
//!
//! Throughput is per key. `cargo bench --workspace --bench floor`

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use rocksync_master::store::keys::Meta;
use rocksync_master::store::{Cf, Store};
use rocksync_master::{data_cmd, lookup_command, start_write_path, Config, Storage, WriteCmd};

// The servers' allocator: glibc's malloc would add a tenth here.
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

const KEYS: u64 = 1_000_000;
/// Keys per lookup run (a pipeline of 16).
const PIPELINE: u64 = 16;
/// Keys per group written.
const GROUP: u64 = 256;

fn key(i: u64) -> String {
    format!("key:{i:012}")
}

/// `n` random loaded keys (xorshift: no generator crate for a bench).
fn random_keys(state: &mut u64, n: u64) -> Vec<String> {
    (0..n)
        .map(|_| {
            *state ^= *state << 13;
            *state ^= *state >> 7;
            *state ^= *state << 17;
            key(*state % KEYS)
        })
        .collect()
}

fn set_cmds(keys: &[String], value: &Bytes) -> Vec<WriteCmd> {
    let spec = lookup_command(b"set").expect("set");
    keys.iter()
        .filter_map(|k| {
            data_cmd(
                spec,
                vec![
                    Bytes::from_static(b"SET"),
                    Bytes::from(k.clone()),
                    value.clone(),
                ],
            )
        })
        .collect()
}

/// One batched lookup of `keys` (each must be there).
fn multi_get(store: &Store, cf: &rocksdb::ColumnFamily, keys: &[String]) {
    let found = store
        .db()
        .batched_multi_get_cf(cf, keys.iter(), false)
        .into_iter()
        .filter(|r| matches!(r, Ok(Some(_))))
        .count();
    assert_eq!(found, keys.len());
}

/// Wait until RocksDB has no flush or compaction running or pending.
fn settle(store: &Store) {
    let deadline = Instant::now() + Duration::from_secs(300);
    store.flush().expect("flush");
    while store.db_property("rocksdb.num-running-compactions") > 0
        || store.db_property("rocksdb.num-running-flushes") > 0
        || store.int_property("rocksdb.estimate-pending-compaction-bytes") > 0
    {
        assert!(
            Instant::now() < deadline,
            "compactions still running after 5 minutes"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn floor(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let value = Bytes::from(vec![b'v'; 100]);
    let tmp = tempfile::tempdir().expect("tmp");
    let config = Config {
        data_dir: tmp.path().to_owned(),
        ..Config::default()
    };
    let storage = Storage::open(&config).expect("storage");
    let store = Arc::clone(storage.store());
    let engine = start_write_path(
        Arc::clone(&store),
        storage.binlog(),
        Some(storage),
        Default::default(),
    )
    .expect("write path");
    let all: Vec<u64> = (0..KEYS).collect();
    for chunk in all.chunks(1000) {
        let keys: Vec<String> = chunk.iter().map(|&i| key(i)).collect();
        let replies = rt.block_on(engine.write(set_cmds(&keys, &value), false));
        assert_eq!(replies.len(), keys.len());
    }
    settle(&store);
    let cf = store.db().cf_handle(Cf::Meta.name()).expect("meta cf");
    let mut g = c.benchmark_group("floor");
    g.sample_size(20)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(4))
        .throughput(Throughput::Elements(PIPELINE));
    let mut rng = 0x2545_f491_4f6c_dd1d_u64;
    g.bench_function(BenchmarkId::new("rocksdb_get", PIPELINE), |b| {
        b.iter_batched(
            || random_keys(&mut rng, PIPELINE),
            |keys| {
                for k in &keys {
                    let v = store.db().get_pinned_cf(cf, k).expect("get");
                    assert!(v.is_some(), "{k} was loaded");
                }
            },
            criterion::BatchSize::SmallInput,
        );
    });
    g.bench_function(BenchmarkId::new("rocksdb_multi_get", PIPELINE), |b| {
        b.iter_batched(
            || random_keys(&mut rng, PIPELINE),
            |keys| multi_get(&store, cf, &keys),
            criterion::BatchSize::SmallInput,
        );
    });
    let meta = Meta::string(value.clone(), 0).encode();
    g.throughput(Throughput::Elements(GROUP));
    settle(&store);
    g.bench_function(BenchmarkId::new("rocksdb_set", GROUP), |b| {
        b.iter_batched(
            || random_keys(&mut rng, GROUP),
            |mut keys| {
                multi_get(&store, cf, &keys);
                keys.sort_unstable();
                let mut wb = rocksdb::WriteBatch::default();
                for k in &keys {
                    wb.put_cf(cf, k, &meta);
                }
                raw_write(&store, wb);
            },
            criterion::BatchSize::SmallInput,
        );
    });
    settle(&store);
    g.bench_function(BenchmarkId::new("write_path_set", GROUP), |b| {
        b.iter_batched(
            || set_cmds(&random_keys(&mut rng, GROUP), &value),
            |cmds| {
                let replies = rt.block_on(engine.write(cmds, false));
                assert_eq!(replies.len() as u64, GROUP);
            },
            criterion::BatchSize::SmallInput,
        );
    });
    g.finish();
    rt.block_on(engine.stop()).expect("stop");
}

criterion_group!(benches, floor);
criterion_main!(benches);

/// Write a raw batch as the store writes (its WAL setting), past the
/// storage core: the floor our write path is measured against.
fn raw_write(store: &Store, wb: rocksdb::WriteBatch) {
    let mut opts = rocksdb::WriteOptions::default();
    opts.disable_wal(!store.wal());
    store.db().write_opt(wb, &opts).expect("write");
}
