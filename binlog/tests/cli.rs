//! The `rocksync-binlog` binary as a user runs it: `verify` on damaged and
//! torn directories, and `dump`.

mod common;

use std::process::{Command, Output};

use common::*;
use rocksync_protocol::LogEvent;
use tempfile::TempDir;

fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_rocksync-binlog"))
        .args(args)
        .output()
        .expect("run rocksync-binlog")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn verify_names_file_and_offset_of_a_flipped_byte() {
    let tmp = TempDir::new().expect("tmp");
    drop(write(tmp.path(), 4096, 200, 10));
    let path = segment_path(tmp.path(), 2);
    let recs = records(&path);
    let offset = recs[recs.len() / 2].0;
    flip_byte(&path, offset + 25);
    let out = run(&["verify", tmp.path().to_str().expect("utf8")]);
    assert!(!out.status.success());
    let err = text(&out.stderr);
    assert!(
        err.contains(&format!(
            "{} is corrupt at byte offset {offset}",
            path.display()
        )),
        "{err}"
    );
}

#[test]
fn verify_reports_a_torn_tail_exits_0_and_changes_nothing() {
    let tmp = TempDir::new().expect("tmp");
    drop(write(tmp.path(), 1 << 20, 30, 3));
    let path = segment_path(tmp.path(), 1);
    let recs = records(&path);
    let last = recs.last().expect("records").0;
    let len = std::fs::metadata(&path).expect("meta").len();
    let cut = last + (len - last) / 2;
    std::fs::OpenOptions::new()
        .write(true)
        .open(&path)
        .and_then(|f| f.set_len(cut))
        .expect("cut");
    let before = std::fs::read(&path).expect("read");
    let out = run(&["verify", tmp.path().to_str().expect("utf8")]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains(&format!(
            "00000001.binlog: torn tail at byte offset {last} ({} bytes",
            cut - last
        )),
        "{stdout}"
    );
    assert!(stdout.contains("last seq 29"), "{stdout}");
    assert_eq!(std::fs::read(&path).expect("read"), before);
}

#[test]
fn verify_of_a_clean_directory_passes() {
    let tmp = TempDir::new().expect("tmp");
    write(tmp.path(), 4096, 100, 10).close().expect("close");
    let out = run(&["verify", tmp.path().to_str().expect("utf8")]);
    assert!(out.status.success());
    assert!(
        text(&out.stdout).contains("records, last seq 100"),
        "{}",
        text(&out.stdout)
    );
}

#[test]
fn dump_prints_one_event_a_line() {
    let tmp = TempDir::new().expect("tmp");
    let (mut w, _) =
        rocksync_binlog::BinlogWriter::open(config(tmp.path(), 1 << 20)).expect("open");
    w.append(&[
        LogEvent::data(1, rocksync_protocol::Command::KSet, "a key", "v\"1\n\x00"),
        LogEvent::data(2, rocksync_protocol::Command::KExpire, "k", "").with_ttl(1500),
        LogEvent::data(3, rocksync_protocol::Command::KSet, "n", "1")
            .with_prior(rocksync_protocol::Prior::Absent),
        LogEvent::data(4, rocksync_protocol::Command::KIncr, "n", "2")
            .with_prior(rocksync_protocol::Prior::Present { expire_ms: 77 }),
        LogEvent::data(5, rocksync_protocol::Command::ZDel, "z", "m").with_prior(
            rocksync_protocol::Prior::Scored {
                score_bits: 2.5f64.to_bits(),
            },
        ),
    ])
    .expect("append");
    w.close().expect("close");
    let out = run(&["dump", segment_path(tmp.path(), 1).to_str().expect("utf8")]);
    assert!(out.status.success());
    assert_eq!(
        text(&out.stdout),
        "0 SYNC DESC 0 \"\" \"\"\n1 SYNC K_SET 0 \"a key\" \"v\\\"1\\n\\x00\"\n2 SYNC K_EXPIRE 1500 \"k\" \"\"\n3 SYNC K_SET 0 \"n\" \"1\" prior=absent\n4 SYNC K_INCR 0 \"n\" \"2\" prior=present:77\n5 SYNC Z_DEL 0 \"z\" \"m\" prior=score:2.5\n5 SYNC STOP 0 \"\" \"\"\n"
    );
}

#[test]
fn dump_of_a_missing_file_is_a_clear_error() {
    let out = run(&["dump", "/nonexistent/00000001.binlog"]);
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("/nonexistent/00000001.binlog"),
        "{}",
        text(&out.stderr)
    );
}
