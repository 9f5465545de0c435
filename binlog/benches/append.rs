//! Binlog append throughput for 100-byte values at batch sizes 1, 64 and
//! 1024, fsync `no` and `everysec`, beside a plain sequential `write_all`
//! of the same record bytes in the same chunks (the disk's limit here),
//! and beside record encoding alone (where the rest of the time goes).
//!
//! Each batch is built just before it is timed, as the master's group
//! commit builds its events just before appending them: the input is hot
//! in cache for every contender alike.
//!
//! `cargo bench -p rocksync-binlog --bench append`

use std::fs::File;
use std::io::Write;
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use rocksync_binlog::{codec, BinlogConfig, BinlogWriter, FsyncPolicy};
use rocksync_protocol::{Command, LogEvent};

const BATCHES: [u64; 3] = [1, 64, 1024];

/// Batch `i` of `batch` events (seqs continue across batches from 1).
fn make_batch(i: u64, batch: u64, value: &Bytes) -> Vec<LogEvent> {
    (1..=batch)
        .map(|j| {
            let seq = i * batch + j;
            LogEvent::data(seq, Command::KSet, format!("key:{seq:012}"), value.clone())
        })
        .collect()
}

fn encode(events: &[LogEvent], buf: &mut BytesMut) {
    buf.clear();
    for e in events {
        codec::encode_record(buf, |b| e.encode(b));
    }
}

/// Total time of `step` over `iters` fresh batches, building each untimed.
fn timed(iters: u64, batch: u64, mut step: impl FnMut(&[LogEvent])) -> Duration {
    let value = Bytes::from(vec![b'v'; 100]);
    let mut total = Duration::ZERO;
    for i in 0..iters {
        let events = make_batch(i, batch, &value);
        let start = Instant::now();
        step(&events);
        total += start.elapsed();
    }
    total
}

fn append(c: &mut Criterion) {
    let mut g = c.benchmark_group("append");
    g.sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    for batch in BATCHES {
        g.throughput(Throughput::Elements(batch));
        g.bench_with_input(
            BenchmarkId::new("plain_write_all", batch),
            &batch,
            |b, &batch| {
                b.iter_custom(|iters| {
                    let tmp = tempfile::tempdir().expect("tmp");
                    let mut f = File::create(tmp.path().join("plain")).expect("create");
                    let value = Bytes::from(vec![b'v'; 100]);
                    let mut buf = BytesMut::new();
                    let mut total = Duration::ZERO;
                    for i in 0..iters {
                        encode(&make_batch(i, batch, &value), &mut buf);
                        let start = Instant::now();
                        f.write_all(&buf).expect("write");
                        total += start.elapsed();
                    }
                    total
                })
            },
        );
        g.bench_with_input(
            BenchmarkId::new("encode_only", batch),
            &batch,
            |b, &batch| {
                b.iter_custom(|iters| {
                    let mut buf = BytesMut::new();
                    timed(iters, batch, |events| encode(events, &mut buf))
                })
            },
        );
        for fsync in [FsyncPolicy::No, FsyncPolicy::EverySec] {
            let id = BenchmarkId::new(format!("binlog_{fsync}"), batch);
            g.bench_with_input(id, &batch, |b, &batch| {
                b.iter_custom(|iters| {
                    let tmp = tempfile::tempdir().expect("tmp");
                    let cfg = BinlogConfig {
                        fsync,
                        ..BinlogConfig::new(tmp.path())
                    };
                    let (mut w, _) = BinlogWriter::open(cfg).expect("open");
                    timed(iters, batch, |events| {
                        w.append(events).expect("append");
                    })
                })
            });
        }
    }
    g.finish();
}

criterion_group!(benches, append);
criterion_main!(benches);
