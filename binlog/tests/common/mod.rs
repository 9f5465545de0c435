//! Helpers shared by the binlog integration tests.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use rocksync_binlog::{BinlogConfig, BinlogWriter, FsyncPolicy, SegmentEvents, SegmentId};
use rocksync_protocol::{Command, LogEvent};

/// A data event with a 100-byte value derived from its seq.
pub fn event(seq: u64) -> LogEvent {
    LogEvent::data(
        seq,
        Command::KSet,
        format!("key:{seq:08}"),
        vec![(seq % 251) as u8; 100],
    )
}

/// Events `from..=to`.
pub fn events(from: u64, to: u64) -> Vec<LogEvent> {
    (from..=to).map(event).collect()
}

pub fn config(dir: &Path, max_bytes: u64) -> BinlogConfig {
    BinlogConfig {
        dir: dir.to_owned(),
        max_binlog_size_bytes: max_bytes,
        fsync: FsyncPolicy::No,
    }
}

/// Open a writer and append seqs 1..=n in batches of `batch`.
pub fn write(dir: &Path, max_bytes: u64, n: u64, batch: u64) -> BinlogWriter {
    let (mut w, _) = BinlogWriter::open(config(dir, max_bytes)).expect("open");
    let mut seq = w.last_seq() + 1;
    while seq <= n {
        let to = (seq + batch - 1).min(n);
        w.append(&events(seq, to)).expect("append");
        seq = to + 1;
    }
    w
}

pub fn segment_path(dir: &Path, id: u64) -> PathBuf {
    dir.join(SegmentId(id).file_name())
}

/// (offset, event) of every record in a file.
pub fn records(path: &Path) -> Vec<(u64, LogEvent)> {
    SegmentEvents::open(path)
        .expect("open")
        .map(|r| r.expect("valid"))
        .collect()
}

pub fn flip_byte(path: &Path, offset: u64) {
    let mut bytes = std::fs::read(path).expect("read");
    bytes[offset as usize] ^= 0x5a;
    std::fs::write(path, bytes).expect("write");
}

/// All data seqs a fresh reader sees after `after`.
pub fn read_seqs(w: &BinlogWriter, after: u64) -> Vec<u64> {
    let mut r = w.handle().reader_after(after).expect("reader");
    let mut out = Vec::new();
    while let Some(e) = r.try_next().expect("next") {
        assert_eq!(e, event(e.seq), "event content");
        out.push(e.seq);
    }
    out
}
