//! The write path alone: SET commands through the group commit (command
//! execution, one binlog append, one RocksDB write batch) at group sizes
//! 1, 16 and 256, per fsync policy, beside a bare RocksDB write batch of
//! the same keys and values into the same column family in the same run.
//!
//! `cargo bench -p rocksync-master --bench write_path`

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use rocksync_binlog::FsyncPolicy;
use rocksync_master::store::keys::Meta;
use rocksync_master::store::{Cf, Store, StoreOptions};
use rocksync_master::{data_cmd, lookup_command, start_write_path, Config, Storage, WriteCmd};

const GROUPS: [u64; 3] = [1, 16, 256];

fn set_cmds(start: u64, n: u64, value: &Bytes) -> Vec<WriteCmd> {
    let spec = lookup_command(b"set").expect("set");
    (start..start + n)
        .filter_map(|i| {
            data_cmd(
                spec,
                vec![
                    Bytes::from_static(b"SET"),
                    Bytes::from(format!("key:{i:012}")),
                    value.clone(),
                ],
            )
        })
        .collect()
}

fn write_path(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let value = Bytes::from(vec![b'v'; 100]);
    let mut g = c.benchmark_group("write_path");
    g.sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    for group in GROUPS {
        g.throughput(Throughput::Elements(group));
        g.bench_with_input(
            BenchmarkId::new("bare_rocksdb_batch", group),
            &group,
            |b, &group| {
                let tmp = tempfile::tempdir().expect("tmp");
                let store = Store::open(tmp.path(), &StoreOptions::default()).expect("store");
                let mut next = 0u64;
                b.iter_custom(|iters| {
                    let mut total = Duration::ZERO;
                    for _ in 0..iters {
                        let keys: Vec<String> = (next..next + group)
                            .map(|i| format!("key:{i:012}"))
                            .collect();
                        next += group;
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
            },
        );
        for fsync in [FsyncPolicy::No, FsyncPolicy::EverySec, FsyncPolicy::Always] {
            let id = BenchmarkId::new(format!("group_commit_{fsync}"), group);
            g.bench_with_input(id, &group, |b, &group| {
                let tmp = tempfile::tempdir().expect("tmp");
                let config = Config {
                    data_dir: tmp.path().to_owned(),
                    binlog_fsync: fsync,
                    ..Config::default()
                };
                let storage = Storage::open(&config).expect("storage");
                let store = Arc::clone(storage.store());
                let engine =
                    start_write_path(store, storage.binlog(), Some(storage), Default::default())
                        .expect("engine");
                let mut next = 0u64;
                b.iter_custom(|iters| {
                    let mut total = Duration::ZERO;
                    for _ in 0..iters {
                        let cmds = set_cmds(next, group, &value);
                        next += group;
                        let start = Instant::now();
                        let replies = rt.block_on(engine.write(cmds, false));
                        total += start.elapsed();
                        assert_eq!(replies.len() as u64, group);
                    }
                    total
                });
                rt.block_on(engine.stop()).expect("stop");
            });
        }
    }
    g.finish();
}

criterion_group!(benches, write_path);
criterion_main!(benches);

/// Write a raw batch as the store writes (its WAL setting), past the
/// storage core: the floor our write path is measured against.
fn raw_write(store: &Store, wb: rocksdb::WriteBatch) {
    let mut opts = rocksdb::WriteOptions::default();
    opts.disable_wal(!store.wal());
    store.db().write_opt(wb, &opts).expect("write");
}
