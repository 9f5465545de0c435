//! The binlog against real files: append and read back, rotation,
//! recovery from crash cuts, corruption, purge rules and tailing.

mod common;

use std::time::Duration;

use common::*;
use rocksync_binlog::{
    verify_dir, BinlogConfig, BinlogWriter, Corruption, Error, FsyncPolicy, PurgeRule, SegmentId,
};
use rocksync_protocol::{Command, LogEvent};
use tempfile::TempDir;

#[test]
fn events_read_back_from_any_seq_across_rotations() {
    let tmp = TempDir::new().expect("tmp");
    let w = write(tmp.path(), 4096, 500, 7);
    let segments = w.handle().segments();
    assert!(segments.len() > 5, "expected rotations, got {segments:?}");
    for start in [0, 1, 37, 250, 499, 500] {
        let seqs = read_seqs(&w, start);
        assert_eq!(seqs, (start + 1..=500).collect::<Vec<_>>(), "from {start}");
    }
    // Every sealed file ends with ROTATE naming the next one.
    for pair in segments.windows(2) {
        let recs = records(&w.handle().path_of(pair[0].id));
        let (_, last) = recs.last().expect("records");
        assert_eq!(last.cmd, Command::Rotate);
        assert_eq!(&last.key[..], pair[1].id.file_name().as_bytes());
        assert_eq!(recs[0].1.cmd, Command::Desc);
        assert_eq!(recs[0].1.seq + 1, pair[0].first_seq);
    }
    assert!(verify_dir(tmp.path()).is_ok());
}

#[test]
fn appends_must_be_dense_data_events() {
    let tmp = TempDir::new().expect("tmp");
    let mut w = write(tmp.path(), 1 << 20, 3, 3);
    let gap = w.append(&[event(5)]).err().map(|e| e.to_string());
    assert_eq!(
        gap.as_deref(),
        Some("seq 5 does not follow the binlog's last seq 3")
    );
    let ctl = w.append(&[LogEvent::noop(4)]);
    assert!(matches!(ctl, Err(Error::NotData { cmd: Command::Nop })));
    // A rejected batch writes nothing, even when its head was fine.
    assert!(w.append(&[event(4), event(6)]).is_err());
    assert_eq!(w.last_seq(), 3);
    w.append(&[event(4)]).expect("append");
    assert_eq!(read_seqs(&w, 0), vec![1, 2, 3, 4]);
}

#[test]
fn reopen_continues_after_stop_in_a_new_file() {
    let tmp = TempDir::new().expect("tmp");
    write(tmp.path(), 1 << 20, 10, 4).close().expect("close");
    let w = write(tmp.path(), 1 << 20, 20, 4);
    assert_eq!(w.handle().segments().len(), 2);
    let first = records(&segment_path(tmp.path(), 1));
    assert_eq!(first.last().map(|(_, e)| e.cmd), Some(Command::Stop));
    assert_eq!(read_seqs(&w, 0), (1..=20).collect::<Vec<_>>());
    assert_eq!(read_seqs(&w, 10), (11..=20).collect::<Vec<_>>());
}

#[test]
fn crash_cut_at_every_offset_of_the_last_records_recovers_a_prefix() {
    let src = TempDir::new().expect("tmp");
    drop(write(src.path(), 1 << 20, 40, 5)); // no STOP: as after a crash
    let path = segment_path(src.path(), 1);
    let recs = records(&path);
    let size = std::fs::metadata(&path).expect("meta").len();
    // Cut anywhere within the last 6 records.
    let from = recs[recs.len() - 6].0;
    for cut in from..size {
        let tmp = TempDir::new().expect("tmp");
        let dst = segment_path(tmp.path(), 1);
        std::fs::copy(&path, &dst).expect("copy");
        std::fs::OpenOptions::new()
            .write(true)
            .open(&dst)
            .and_then(|f| f.set_len(cut))
            .expect("cut");
        // Record i spans from its offset to the next record's (or EOF).
        let ends: Vec<u64> = recs.iter().skip(1).map(|(o, _)| *o).chain([size]).collect();
        let whole = recs
            .iter()
            .zip(&ends)
            .filter(|((_, e), end)| e.is_data() && **end <= cut)
            .count() as u64;
        let at_boundary = recs.iter().any(|(o, _)| *o == cut);
        let torn_from = recs.iter().rev().map(|(o, _)| *o).find(|o| *o < cut);
        let report = verify_dir(tmp.path());
        assert!(report.is_ok(), "cut {cut}: {:?}", report.error);
        let torn = report.files[0].torn.map(|t| t.offset);
        assert_eq!(
            torn,
            if at_boundary { None } else { torn_from },
            "cut {cut}"
        );

        let (mut w, rec) = BinlogWriter::open(config(tmp.path(), 1 << 20)).expect("reopen");
        assert_eq!(rec.last_seq, whole, "cut {cut}");
        assert_eq!(rec.truncated.is_some(), !at_boundary, "cut {cut}");
        assert_eq!(
            read_seqs(&w, 0),
            (1..=whole).collect::<Vec<_>>(),
            "cut {cut}"
        );
        w.append(&[event(whole + 1)])
            .expect("append after recovery");
        assert_eq!(read_seqs(&w, whole), vec![whole + 1]);
        let after = verify_dir(tmp.path());
        assert!(
            after.is_ok() && after.files.iter().all(|f| f.torn.is_none()),
            "cut {cut}"
        );
    }
}

#[test]
fn a_newest_file_torn_at_creation_is_removed() {
    let tmp = TempDir::new().expect("tmp");
    drop(write(tmp.path(), 1 << 20, 5, 5));
    // A restart opens segment 2 with its header and DESC; tear it.
    drop(write(tmp.path(), 1 << 20, 5, 5));
    let torn = segment_path(tmp.path(), 2);
    std::fs::OpenOptions::new()
        .write(true)
        .open(&torn)
        .and_then(|f| f.set_len(10))
        .expect("cut");
    let (w, rec) = BinlogWriter::open(config(tmp.path(), 1 << 20)).expect("open");
    assert_eq!(rec.removed, vec![torn]);
    assert_eq!(w.last_seq(), 5);
    assert_eq!(read_seqs(&w, 0), (1..=5).collect::<Vec<_>>());
}

fn assert_corrupt_at(err: Option<Error>, path: &std::path::Path, offset: u64) {
    match err {
        Some(Error::Corrupt {
            path: p, offset: o, ..
        }) => {
            assert_eq!((p.as_path(), o), (path, offset));
        }
        other => panic!(
            "expected corruption at {} offset {offset}, got {other:?}",
            path.display()
        ),
    }
}

#[test]
fn a_flipped_byte_in_the_middle_of_the_newest_file_is_named_corruption() {
    let tmp = TempDir::new().expect("tmp");
    drop(write(tmp.path(), 1 << 20, 100, 10));
    let path = segment_path(tmp.path(), 1);
    let recs = records(&path);
    for (i, byte_in_record) in [(50, 20u64), (60, 0), (70, 9)] {
        let tmp2 = TempDir::new().expect("tmp");
        let p2 = segment_path(tmp2.path(), 1);
        std::fs::copy(&path, &p2).expect("copy");
        let offset = recs[i].0;
        flip_byte(&p2, offset + byte_in_record);
        assert_corrupt_at(verify_dir(tmp2.path()).error, &p2, offset);
        let before = std::fs::read(&p2).expect("read");
        assert_corrupt_at(
            BinlogWriter::open(config(tmp2.path(), 1 << 20)).err(),
            &p2,
            offset,
        );
        assert_eq!(
            std::fs::read(&p2).expect("read"),
            before,
            "open must not cut corruption"
        );
    }
}

#[test]
fn a_flipped_byte_in_an_older_file_stops_readers_and_verify() {
    let tmp = TempDir::new().expect("tmp");
    let w = write(tmp.path(), 4096, 200, 10);
    let path = segment_path(tmp.path(), 2);
    let recs = records(&path);
    let (offset, bad) = recs[recs.len() / 2].clone();
    flip_byte(&path, offset + 30);
    assert_corrupt_at(verify_dir(tmp.path()).error, &path, offset);
    let mut r = w.handle().reader_after(0).expect("reader");
    let err = loop {
        match r.try_next() {
            Ok(Some(e)) => assert!(e.seq < bad.seq, "read past the damage"),
            Ok(None) => panic!("damage skipped"),
            Err(e) => break e,
        }
    };
    assert_corrupt_at(Some(err), &path, offset);
}

#[test]
fn bad_checksum_of_a_final_record_is_a_torn_tail_but_mid_file_is_not() {
    let tmp = TempDir::new().expect("tmp");
    drop(write(tmp.path(), 1 << 20, 20, 1));
    let path = segment_path(tmp.path(), 1);
    let recs = records(&path);
    let last = recs.last().expect("records").0;
    flip_byte(&path, last + 40);
    let report = verify_dir(tmp.path());
    assert!(report.is_ok());
    assert_eq!(report.files[0].torn.map(|t| t.offset), Some(last));
    let (_, rec) = BinlogWriter::open(config(tmp.path(), 1 << 20)).expect("open");
    assert_eq!(rec.last_seq, 19);
}

#[test]
fn purge_to_a_file_keeps_that_file_and_the_active_one() {
    let tmp = TempDir::new().expect("tmp");
    let w = write(tmp.path(), 4096, 300, 10);
    let h = w.handle();
    let ids: Vec<SegmentId> = h.segments().iter().map(|s| s.id).collect();
    let r = h.purge(&PurgeRule::To(ids[3]), u64::MAX).expect("purge");
    assert_eq!(r.removed, ids[..3].to_vec());
    assert!(!segment_path(tmp.path(), ids[2].0).exists());
    assert!(segment_path(tmp.path(), ids[3].0).exists());
    assert_eq!(h.first_seq(), h.segments()[0].first_seq);
    assert!(matches!(
        h.reader_after(0),
        Err(Error::Purged { wanted: 1, .. })
    ));
    let first = h.first_seq();
    assert_eq!(read_seqs(&w, first - 1), (first..=300).collect::<Vec<_>>());
    assert!(matches!(
        h.purge(&PurgeRule::To(SegmentId(9999)), u64::MAX),
        Err(Error::NoSuchFile(_))
    ));
    // Purging everything leaves the active file.
    let last = *ids.last().expect("ids");
    h.purge(&PurgeRule::Budget(0), u64::MAX).expect("purge");
    assert_eq!(
        h.segments().iter().map(|s| s.id).collect::<Vec<_>>(),
        vec![last]
    );
    assert!(verify_dir(tmp.path()).is_ok());
}

#[test]
fn purge_by_budget_and_age() {
    let tmp = TempDir::new().expect("tmp");
    let w = write(tmp.path(), 4096, 300, 10);
    let h = w.handle();
    let total = |h: &rocksync_binlog::Binlog| -> u64 {
        h.segments()
            .iter()
            .map(|s| std::fs::metadata(h.path_of(s.id)).expect("meta").len())
            .sum()
    };
    let before = h.segments().len();
    assert!(h
        .purge(&PurgeRule::OlderThan(Duration::from_secs(3600)), u64::MAX)
        .expect("purge")
        .removed
        .is_empty());
    let budget = total(&h) / 2;
    let r = h
        .purge(&PurgeRule::Budget(budget), u64::MAX)
        .expect("purge");
    assert!(!r.removed.is_empty());
    assert!(total(&h) <= budget);
    // Removing one file fewer would not have met the budget.
    let first_len = std::fs::metadata(h.path_of(h.segments()[0].id))
        .expect("meta")
        .len();
    assert!(total(&h) + first_len > budget || h.segments().len() == 1);
    std::thread::sleep(Duration::from_millis(20));
    let r = h
        .purge(&PurgeRule::OlderThan(Duration::from_millis(1)), u64::MAX)
        .expect("purge");
    assert!(!r.removed.is_empty() && before > 1);
    assert_eq!(h.segments().len(), 1, "only the active file is left");
}

#[test]
fn purge_never_passes_a_needed_seq_a_reader_or_a_pin() {
    let tmp = TempDir::new().expect("tmp");
    let w = write(tmp.path(), 4096, 300, 10);
    let h = w.handle();
    let holding = |seq| h.segment_for_seq(seq).expect("segment");

    // The caller's own need.
    h.purge(&PurgeRule::Budget(0), 100).expect("purge");
    assert_eq!(h.segments()[0].id, holding(100));
    assert_eq!(read_seqs(&w, 99).first(), Some(&100));

    // A pin.
    let pin = h.pin(150);
    h.purge(&PurgeRule::Budget(0), u64::MAX).expect("purge");
    assert_eq!(h.segments()[0].id, holding(150));
    drop(pin);

    // A reader, which also holds the file it is in.
    let mut r = h.reader_after(199).expect("reader");
    assert_eq!(r.try_next().expect("next").map(|e| e.seq), Some(200));
    h.purge(&PurgeRule::Budget(0), u64::MAX).expect("purge");
    assert_eq!(h.segments()[0].id, r.segment());
    for seq in 201..=300 {
        assert_eq!(r.try_next().expect("next").map(|e| e.seq), Some(seq));
    }
    drop(r);
    h.purge(&PurgeRule::Budget(0), u64::MAX).expect("purge");
    assert_eq!(h.segments().len(), 1);
}

#[test]
fn readers_refuse_seqs_past_the_end() {
    let tmp = TempDir::new().expect("tmp");
    let w = write(tmp.path(), 1 << 20, 10, 10);
    assert!(matches!(
        w.handle().reader_after(11),
        Err(Error::Ahead {
            wanted: 11,
            last: 10
        })
    ));
    assert_eq!(read_seqs(&w, 10), Vec::<u64>::new());
}

#[test]
fn reset_starts_a_new_history() {
    let tmp = TempDir::new().expect("tmp");
    let mut w = write(tmp.path(), 4096, 100, 10);
    w.reset(5000).expect("reset");
    assert_eq!(w.last_seq(), 5000);
    assert_eq!(w.handle().segments().len(), 1);
    w.append(&events(5001, 5010)).expect("append");
    assert_eq!(read_seqs(&w, 5000), (5001..=5010).collect::<Vec<_>>());
    drop(w);
    let (w, rec) = BinlogWriter::open(config(tmp.path(), 4096)).expect("reopen");
    assert_eq!(rec.last_seq, 5010);
    assert!(matches!(
        w.handle().reader_after(10),
        Err(Error::Purged { .. })
    ));
}

#[test]
fn config_is_validated() {
    let tmp = TempDir::new().expect("tmp");
    let bad = BinlogConfig {
        max_binlog_size_bytes: 10,
        ..BinlogConfig::new(tmp.path())
    };
    let e = BinlogWriter::open(bad).err().map(|e| e.to_string());
    assert_eq!(
        e.as_deref(),
        Some("invalid binlog config: max_binlog_size must be at least 4096 bytes, not 10")
    );
    let e = "sometimes"
        .parse::<FsyncPolicy>()
        .err()
        .map(|e| e.to_string());
    assert_eq!(
        e.as_deref(),
        Some("invalid binlog config: binlog_fsync must be always, everysec or no, not 'sometimes'")
    );
}

#[test]
fn every_fsync_policy_appends_and_recovers() {
    for fsync in [FsyncPolicy::Always, FsyncPolicy::EverySec, FsyncPolicy::No] {
        let tmp = TempDir::new().expect("tmp");
        let cfg = BinlogConfig {
            fsync,
            max_binlog_size_bytes: 4096,
            ..BinlogConfig::new(tmp.path())
        };
        let (mut w, _) = BinlogWriter::open(cfg.clone()).expect("open");
        for seq in 1..=50 {
            w.append(&[event(seq)]).expect("append");
        }
        w.close().expect("close");
        let (w, rec) = BinlogWriter::open(cfg).expect("reopen");
        assert_eq!(rec.last_seq, 50, "{fsync}");
        assert_eq!(read_seqs(&w, 0).len(), 50);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tailer_sees_appends_made_after_it_started() {
    let tmp = TempDir::new().expect("tmp");
    let mut w = write(tmp.path(), 4096, 10, 10);
    let mut r = w.handle().reader_after(10).expect("reader");
    // Nothing to read yet: the wait ends by itself.
    let none = r
        .next_timeout(Duration::from_millis(50))
        .await
        .expect("wait");
    assert_eq!(none, None);
    let writer = std::thread::spawn(move || {
        for seq in 11..=400 {
            if seq % 50 == 0 {
                std::thread::sleep(Duration::from_millis(5));
            }
            w.append(&[event(seq)]).expect("append");
        }
        w
    });
    for seq in 11..=400 {
        let e = r.next_timeout(Duration::from_secs(10)).await.expect("read");
        assert_eq!(e, Some(event(seq)));
    }
    let w = writer.join().expect("writer");
    assert!(
        w.handle().segments().len() > 3,
        "the tailer followed rotations"
    );
}

#[tokio::test]
async fn a_single_append_wakes_a_waiting_tailer_at_once() {
    let tmp = TempDir::new().expect("tmp");
    let mut w = write(tmp.path(), 1 << 20, 1, 1);
    let mut r = w.handle().reader_after(1).expect("reader");
    let waiter = tokio::spawn(async move {
        let start = std::time::Instant::now();
        let e = r.next_timeout(Duration::from_secs(30)).await.expect("read");
        (e, start.elapsed())
    });
    tokio::time::sleep(Duration::from_millis(20)).await;
    w.append(&[event(2)]).expect("append");
    let (e, waited) = waiter.await.expect("join");
    assert_eq!(e, Some(event(2)));
    // Woken by the append, not by the 30 s timeout.
    assert!(waited < Duration::from_secs(20), "waited {waited:?}");
}

#[test]
fn corrupt_errors_name_expected_and_actual_checksums() {
    let tmp = TempDir::new().expect("tmp");
    drop(write(tmp.path(), 1 << 20, 10, 10));
    let path = segment_path(tmp.path(), 1);
    let recs = records(&path);
    flip_byte(&path, recs[3].0 + 50);
    match verify_dir(tmp.path()).error {
        Some(Error::Corrupt {
            reason: Corruption::PayloadChecksum { expected, actual },
            ..
        }) => {
            assert_ne!(expected, actual);
        }
        other => panic!("{other:?}"),
    }
}

/// Issue 9, case 5 (a binlog cut inside one MSET of 1 000 keys kept 504 of
/// them): a command's events carry `more` on all but the last; a crash
/// that leaves only the first records of a command (whole records, no torn
/// bytes) is cut back to the end of the last whole command.
#[test]
fn recovery_cuts_back_to_the_last_whole_command() {
    let tmp = tempfile::tempdir().expect("tmp");
    let command = |from: u64, to: u64, complete: bool| -> Vec<LogEvent> {
        let mut v = events(from, to);
        let n = v.len();
        for (i, e) in v.iter_mut().enumerate() {
            e.more = i + 1 < n || !complete;
        }
        v
    };
    let (mut w, _) = BinlogWriter::open(config(tmp.path(), 1 << 20)).expect("open");
    w.append(&command(1, 5, true)).expect("append");
    let whole_end = w.position();
    w.append(&command(6, 9, false)).expect("append");
    drop(w); // a crash: no STOP
    let (w, rec) = BinlogWriter::open(config(tmp.path(), 1 << 20)).expect("reopen");
    assert_eq!(w.last_seq(), 5, "half a command survived recovery");
    let (path, torn) = rec.truncated.expect("cut");
    assert_eq!(path, segment_path(tmp.path(), whole_end.segment.0));
    assert_eq!(torn.offset, whole_end.offset);
    let mut r = w.handle().reader_after(0).expect("reader");
    let mut seqs = Vec::new();
    while let Some(e) = r.try_next().expect("next") {
        seqs.push(e.seq);
    }
    assert_eq!(seqs, vec![1, 2, 3, 4, 5]);
    assert!(!rec.clean_shutdown);
}

/// Issue 9, case 1: a reader that was streaming one history never skips
/// into a new one whose seqs went backwards (a reset binlog); it fails, so
/// its slave is copied again instead of keeping the old keys.
#[test]
fn a_reader_fails_when_seqs_go_backwards_across_files() {
    let tmp = tempfile::tempdir().expect("tmp");
    let mut w = write(tmp.path(), 1 << 20, 20, 5);
    let mut r = w.handle().reader_after(10).expect("reader");
    for want in 11..=20 {
        assert_eq!(r.try_next().expect("next").map(|e| e.seq), Some(want));
    }
    w.reset(0).expect("reset");
    w.append(&events(1, 30)).expect("append");
    let mut seen = Vec::new();
    let err = loop {
        match r.try_next() {
            Ok(Some(e)) => seen.push(e.seq),
            Ok(None) => panic!("reader ended quietly after {seen:?}"),
            Err(e) => break e,
        }
    };
    assert!(seen.is_empty(), "read into the new history: {seen:?}");
    assert!(
        matches!(err, Error::Corrupt { .. } | Error::Io { .. }),
        "{err}"
    );
}

/// Issue 9, case 3: rotation cannot create its next file (here a directory
/// squats on its name; a full disk does the same). ROTATE is taken back,
/// writing goes on in the current file, the next append rotates once it
/// can, and the binlog reopens with every event.
#[test]
fn a_rotation_that_cannot_create_its_next_file_writes_on_and_retries() {
    let tmp = tempfile::tempdir().expect("tmp");
    let (mut w, _) = BinlogWriter::open(config(tmp.path(), 4096)).expect("open");
    let next = segment_path(tmp.path(), w.position().segment.0 + 1);
    std::fs::create_dir(&next).expect("squat");
    for seq in 1..=100 {
        w.append(&events(seq, seq)).expect("appends go on");
    }
    assert_eq!(w.handle().segments().len(), 1, "no rotation while blocked");
    std::fs::remove_dir(&next).expect("unblock");
    w.append(&events(101, 101)).expect("append");
    assert_eq!(w.handle().segments().len(), 2, "rotated once it could");
    drop(w);
    let (w, _) = BinlogWriter::open(config(tmp.path(), 4096)).expect("reopen");
    assert_eq!(read_seqs(&w, 0), (1..=101).collect::<Vec<_>>());
}

/// Issue 9, case 4: a power loss just after a rotation tore the sealed
/// file (its last records and ROTATE lost) while the newest holds only its
/// DESC. Recovery drops the DESC-only file, cuts the torn tail and goes on
/// from the last whole record; every event left reads back.
#[test]
fn a_torn_sealed_file_before_a_desc_only_newest_is_recovered() {
    let tmp = tempfile::tempdir().expect("tmp");
    let mut w = write(tmp.path(), 4096, 1, 1);
    let mut seq = 2;
    while w.handle().segments().len() < 2 {
        w.append(&events(seq, seq)).expect("append");
        seq += 1;
    }
    let sealed = segment_path(tmp.path(), w.handle().segments()[0].id.0);
    drop(w); // crash
    let recs = records(&sealed);
    let (cut_at, _) = recs[recs.len() - 2]; // the last data record and ROTATE go
    let f = std::fs::OpenOptions::new()
        .write(true)
        .open(&sealed)
        .expect("open");
    f.set_len(cut_at + 7).expect("tear");
    drop(f);
    let (w, rec) = BinlogWriter::open(config(tmp.path(), 4096)).expect("reopen");
    let whole = seq - 2; // events 1..=seq-1 were written; the last is torn
    assert_eq!(w.last_seq(), whole);
    assert_eq!(rec.removed.len(), 1);
    assert_eq!(read_seqs(&w, 0), (1..=whole).collect::<Vec<_>>());
}
