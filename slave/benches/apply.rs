//! The slave's apply paths into its store, beside a bare RocksDB write of
//! the same keys and values in the same run: SYNC events (the storage's
//! commit step: apply, binlog append, one batch per group) in events/s,
//! and RAW copy pairs in MB/s.
//!
//! `cargo bench -p rocksync-slave --bench apply`

use std::time::{Duration, Instant};

use bytes::Bytes;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use rocksync_binlog::FsyncPolicy;
use rocksync_master::store::keys::Meta;
use rocksync_master::store::{Cf, Store, StoreOptions};
use rocksync_master::{Batch, Config, Storage};
use rocksync_protocol::{Command, LogEvent};

const GROUP: u64 = 1024;

fn apply(c: &mut Criterion) {
    let value = Bytes::from(vec![b'v'; 100]);
    let mut g = c.benchmark_group("slave_apply");
    g.sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    g.throughput(Throughput::Elements(GROUP));
    g.bench_function("bare_rocksdb_batch", |b| {
        let tmp = tempfile::tempdir().expect("tmp");
        let store = Store::open(tmp.path(), &StoreOptions::default()).expect("store");
        let mut next = 0u64;
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let keys: Vec<String> = (next..next + GROUP)
                    .map(|i| format!("key:{i:012}"))
                    .collect();
                next += GROUP;
                let start = Instant::now();
                let mut wb = rocksdb::WriteBatch::default();
                let cf = store.db().cf_handle(Cf::Meta.name()).expect("cf");
                for k in &keys {
                    wb.put_cf(cf, k, Meta::string(value.clone(), 0).encode());
                }
                raw_write(&store, wb);
                total += start.elapsed();
            }
            total
        })
    });
    g.bench_function("sync_events", |b| {
        let tmp = tempfile::tempdir().expect("tmp");
        let config = Config {
            data_dir: tmp.path().to_owned(),
            binlog_fsync: FsyncPolicy::EverySec,
            ..Config::default()
        };
        let mut storage = Storage::open(&config).expect("storage");
        let mut seq = 0u64;
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let events: Vec<LogEvent> = (seq + 1..=seq + GROUP)
                    .map(|s| {
                        LogEvent::data(s, Command::KSet, format!("key:{s:012}"), value.clone())
                    })
                    .collect();
                seq += GROUP;
                let start = Instant::now();
                storage.commit_events(&events).expect("commit");
                total += start.elapsed();
            }
            total
        })
    });
    g.throughput(Throughput::Bytes(GROUP * (16 + 109)));
    g.bench_function("raw_pairs", |b| {
        let tmp = tempfile::tempdir().expect("tmp");
        let config = Config {
            data_dir: tmp.path().to_owned(),
            ..Config::default()
        };
        let mut storage = Storage::open(&config).expect("storage");
        let mut next = 0u64;
        let meta = Meta::string(value.clone(), 0).encode();
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let keys: Vec<Bytes> = (next..next + GROUP)
                    .map(|i| rocksync_snapshot::raw_key("meta", format!("key:{i:012}").as_bytes()))
                    .collect();
                next += GROUP;
                let start = Instant::now();
                let mut batch = Batch::new();
                for k in &keys {
                    storage.stage_raw(&mut batch, k, &meta).expect("stage");
                }
                let last = keys.last().expect("a key").clone();
                storage.commit_copy(batch, &last).expect("commit");
                total += start.elapsed();
            }
            total
        })
    });
    g.finish();
}

criterion_group!(benches, apply);
criterion_main!(benches);

/// Write a raw batch as the store writes (its WAL setting), past the
/// storage core: the floor our write path is measured against.
fn raw_write(store: &Store, wb: rocksdb::WriteBatch) {
    let mut opts = rocksdb::WriteOptions::default();
    opts.disable_wal(!store.wal());
    store.db().write_opt(wb, &opts).expect("write");
}
