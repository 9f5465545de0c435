//! LogEvent encode/decode throughput (events/s) for a 100-byte value.

use bytes::BytesMut;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use rocksync_protocol::{Command, LogEvent};

fn event_codec(c: &mut Criterion) {
    let event = LogEvent::data(
        123_456_789,
        Command::KSet,
        "key:000000012345",
        vec![b'x'; 100],
    );
    let encoded = event.to_bytes();
    let mut g = c.benchmark_group("log_event");
    g.throughput(Throughput::Elements(1));
    g.bench_function("encode", |b| {
        let mut buf = BytesMut::with_capacity(1 << 20);
        b.iter(|| {
            if buf.len() > (1 << 20) - 256 {
                buf.clear();
            }
            event.encode(&mut buf);
        })
    });
    g.bench_function("decode", |b| {
        b.iter(|| LogEvent::decode(encoded.clone()).expect("valid"))
    });
    g.finish();
}

criterion_group!(benches, event_codec);
criterion_main!(benches);
