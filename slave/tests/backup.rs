//! Issue 28: backups (BGSAVE, SAVE, LASTSAVE, INFO persistence,
//! backup-keep), the binlog archive, and a restore to a point in time
//! (`--restore-from BACKUP --to-seq N`), on real processes.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use common::{digest, field, load, wait_synced, wait_until, Node};
use redis::Commands;

const LONG: Duration = Duration::from_secs(60);

/// The backups under `dir`, oldest first.
fn backups(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|d| {
            d.flatten()
                .map(|e| e.path())
                .filter(|p| {
                    p.file_name()
                        .is_some_and(|n| n.to_string_lossy().starts_with("backup-"))
                })
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

/// BGSAVE, then wait until it is done; the INFO persistence after it.
fn bgsave(node: &Node) -> String {
    let mut c = node.client();
    let saves = node.num("persistence", "rdb_saves");
    let answer: String = redis::cmd("BGSAVE").query(&mut c).expect("bgsave");
    assert_eq!(answer, "Background saving started");
    wait_until("the backup", LONG, || {
        node.num("persistence", "rdb_saves") > saves
            && node.num("persistence", "rdb_bgsave_in_progress") == 0
    });
    node.info("persistence")
}

/// Writes of every type, an EXEC among them.
fn write_some(node: &Node, prefix: &str) {
    load(node, prefix, 2000, 40);
    let mut c = node.client();
    let _: () = redis::pipe()
        .atomic()
        .set(format!("{prefix}:tx:a"), 1)
        .incr(format!("{prefix}:tx:b"), 5)
        .rpush(format!("{prefix}:tx:list"), &["x", "y", "z"])
        .query(&mut c)
        .expect("exec");
}

/// `rocksync-master --restore-from backup --data-dir dir` with `args`;
/// its exit status and what it printed.
fn restore(backup: &Path, dir: &Path, args: &[&str]) -> (bool, String) {
    let out = Command::new(rocksync_testkit::bin_dir().join("rocksync-master"))
        .arg("--restore-from")
        .arg(backup)
        .arg("--data-dir")
        .arg(dir)
        .args(args)
        .env("RUST_LOG", "warn")
        .output()
        .expect("run rocksync-master");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

#[test]
fn a_restore_to_a_noted_seq_gives_the_data_of_that_moment_from_backup_and_archive() {
    let tmp = tempfile::TempDir::new().expect("tmp");
    let data = tmp.path().join("m");
    let archive = tmp.path().join("archive");
    let archive_arg = archive.to_string_lossy().into_owned();
    // Small binlog files and a small budget: files are sealed and purged
    // while the test writes, so the events after the backup survive only
    // in the archive.
    let master = Node::master(
        &data,
        0,
        &[
            "--max-binlog-size",
            "65536",
            "--binlog-budget",
            "300000",
            "--binlog-archive-dir",
            &archive_arg,
            "--backup-keep",
            "2",
        ],
    );
    let started = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs();
    write_some(&master, "one");
    let info = bgsave(&master);
    assert_eq!(
        field(&info, "rdb_last_bgsave_status").as_deref(),
        Some("ok")
    );
    assert_eq!(
        field(&info, "rdb_changes_since_last_save").as_deref(),
        Some("0")
    );
    let mut c = master.client();
    let lastsave: u64 = redis::cmd("LASTSAVE").query(&mut c).expect("lastsave");
    assert!(lastsave >= started, "LASTSAVE {lastsave} < start {started}");
    assert_eq!(
        field(&info, "rdb_last_save_time"),
        Some(lastsave.to_string())
    );
    let taken = backups(&data.join("backups"));
    assert_eq!(taken.len(), 1, "{taken:?}");
    let backup = taken[0].clone();
    let backup_seq = master.num("persistence", "applied_seq");

    // An EXEC first: a point inside it restores to the backup's seq.
    let _: () = redis::pipe()
        .atomic()
        .set("exec:a", 1)
        .set("exec:b", 2)
        .set("exec:c", 3)
        .query(&mut c)
        .expect("exec");
    assert_eq!(master.num("persistence", "applied_seq"), backup_seq + 3);
    // More writes; the point to come back to.
    write_some(&master, "two");
    let _: () = c.del("one:tx:a").expect("del");
    let point = master.num("persistence", "applied_seq");
    let wanted = digest(&master);
    // and the time: a second after the writes (the time index records
    // one (seq, time) a second), a second before the next ones.
    std::thread::sleep(Duration::from_millis(1200));
    let noted = Command::new("date")
        .args(["-u", "+%Y-%m-%dT%H:%M:%S.%3NZ"])
        .output()
        .expect("date");
    let noted = String::from_utf8_lossy(&noted.stdout).trim().to_owned();
    std::thread::sleep(Duration::from_millis(1200));
    assert!(master.num("persistence", "rdb_changes_since_last_save") >= point - backup_seq);

    // What comes after it, a FLUSHALL among it.
    write_some(&master, "three");
    let _: () = redis::cmd("FLUSHALL").query(&mut c).expect("flushall");
    write_some(&master, "four");
    // LASTSAVE is the backup's time, whatever was written since.
    std::thread::sleep(Duration::from_millis(1100));
    let again: u64 = redis::cmd("LASTSAVE").query(&mut c).expect("lastsave");
    assert_eq!(again, lastsave);
    let replid = field(&master.info("replication"), "master_replid").expect("replid");
    let history = archive.join(&replid);
    // The hazard: the binlog no longer holds the events after the backup.
    wait_until("the old binlog files to be purged", LONG, || {
        master.num("persistence", "binlog_first_seq") > backup_seq + 1
    });
    let old_binlog = data.join("binlog");
    drop(c);
    master.terminate(LONG);

    // Without the archive, the restore refuses, naming what is missing.
    let r1 = tmp.path().join("r1");
    let (ok, text) = restore(
        &backup,
        &r1,
        &[
            "--to-seq",
            &point.to_string(),
            "--restore-binlog",
            &old_binlog.to_string_lossy(),
        ],
    );
    assert!(!ok, "restored without the archive: {text}");
    assert!(text.contains("has no events"), "{text}");

    // A damaged archive file from before the backup stops nothing: no
    // restore from the backup reads it.
    let mut archived: Vec<(u64, PathBuf)> = std::fs::read_dir(&history)
        .expect("archive")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "binlog"))
        .filter_map(|p| Some((p.file_stem()?.to_str()?.parse().ok()?, p)))
        .collect();
    archived.sort();
    assert!(
        archived.len() > 2 && archived[1].0 <= backup_seq + 1,
        "no whole archived file before the backup: {archived:?}"
    );
    let mut bytes = std::fs::read(&archived[0].1).expect("read");
    let middle = bytes.len() / 2;
    bytes[middle..middle + 16].fill(0xee);
    std::fs::write(&archived[0].1, bytes).expect("damage");

    // With it: the data as it was at the point.
    let old_binlog_arg = old_binlog.to_string_lossy().into_owned();
    let with_both = |dir: &Path, flag: &str, value: &str| {
        restore(
            &backup,
            dir,
            &[
                flag,
                value,
                "--restore-binlog",
                &old_binlog_arg,
                "--binlog-archive-dir",
                &archive_arg,
            ],
        )
    };
    let (ok, text) = with_both(&r1, "--to-seq", &point.to_string());
    assert!(ok, "restore failed: {text}");
    assert!(text.contains(&format!("to seq {point}")), "{text}");
    let restored = Node::master(&r1, 0, &[]);
    assert_eq!(restored.num("persistence", "applied_seq"), point);
    let got = digest(&restored);
    assert_eq!(got.len(), wanted.len());
    assert!(got == wanted, "the restored data differs from the point's");
    // It takes writes, in a history of its own.
    let mut rc = restored.client();
    let _: () = rc.set("after:restore", 1).expect("set");
    drop(restored);

    // The same moment by its time.
    let r4 = tmp.path().join("r4");
    let (ok, text) = with_both(&r4, "--to-time", &noted);
    assert!(ok, "restore to {noted} failed: {text}");
    assert!(text.contains(&format!("to seq {point}")), "{text}");
    let by_time = Node::master(&r4, 0, &[]);
    assert!(
        digest(&by_time) == wanted,
        "the data restored to {noted} differs"
    );
    drop(by_time);

    // A point inside the EXEC: none of it.
    let r3 = tmp.path().join("r3");
    let (ok, text) = restore(
        &backup,
        &r3,
        &[
            "--to-seq",
            &(backup_seq + 2).to_string(),
            "--binlog-archive-dir",
            &archive_arg,
        ],
    );
    assert!(ok, "restore failed: {text}");
    let inside = Node::master(&r3, 0, &[]);
    assert_eq!(inside.num("persistence", "applied_seq"), backup_seq);
    let none: Option<String> = inside.client().get("exec:a").expect("get");
    assert_eq!(none, None);
    drop(inside);

    // A data directory that holds data is not overwritten.
    let (ok, text) = restore(&backup, &r1, &["--binlog-archive-dir", &archive_arg]);
    assert!(!ok && text.contains("holds data already"), "{text}");

    // An archive with a file missing in the middle: refused, naming it.
    let partial = tmp.path().join("partial");
    std::fs::create_dir_all(&partial).expect("mkdir");
    // (the binlog files, not their time indexes)
    let mut files: Vec<PathBuf> = std::fs::read_dir(&history)
        .expect("archive")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "binlog"))
        .collect();
    files.sort();
    assert!(
        std::fs::read_dir(&history)
            .expect("archive")
            .flatten()
            .any(|e| e.path().extension().is_some_and(|x| x == "times")),
        "no time index archived"
    );
    assert!(files.len() >= 3, "archived: {files:?}");
    // the file holding the first event after the backup stays; a later
    // one before the point goes
    let holds = |p: &Path, seq: u64| {
        rocksync_binlog::SegmentEvents::open(p)
            .expect("open")
            .flatten()
            .any(|(_, e)| e.seq == seq && e.cmd.is_data())
    };
    let first = files
        .iter()
        .position(|p| holds(p, backup_seq + 1))
        .expect("the first event after the backup is archived");
    let removed = files
        .iter()
        .skip(first + 1)
        .find(|p| {
            rocksync_binlog::SegmentEvents::open(p)
                .expect("open")
                .flatten()
                .any(|(_, e)| e.cmd.is_data() && e.seq < point)
        })
        .expect("a second archived file before the point")
        .clone();
    for f in &files {
        if *f != removed {
            std::fs::copy(f, partial.join(f.file_name().expect("name"))).expect("copy");
        }
    }
    let (ok, text) = restore(
        &backup,
        &tmp.path().join("r2"),
        &[
            "--to-seq",
            &point.to_string(),
            "--restore-binlog",
            &partial.to_string_lossy(),
        ],
    );
    let name = removed
        .file_name()
        .expect("name")
        .to_string_lossy()
        .into_owned();
    assert!(!ok, "restored over a gap: {text}");
    assert!(
        text.contains(&name),
        "the message does not name {name}: {text}"
    );
}

#[test]
fn backups_are_kept_to_backup_keep_and_a_slave_takes_its_own() {
    let tmp = tempfile::TempDir::new().expect("tmp");
    let archive = tmp.path().join("archive");
    let master = Node::master(
        &tmp.path().join("m"),
        0,
        &[
            "--backup-keep",
            "2",
            "--max-binlog-size",
            "65536",
            "--binlog-archive-dir",
            &archive.to_string_lossy(),
        ],
    );
    let slave = Node::slave(&tmp.path().join("s"), 0, master.addr, &[]);
    let mut c = master.client();
    let mut seqs = Vec::new();
    for round in 0..3 {
        write_some(&master, &format!("r{round}"));
        let _: () = c.set(format!("k{round}"), round).expect("set");
        seqs.push(master.num("persistence", "applied_seq"));
        // (the files sealed so far archived: purge's loop does it at each
        // new file, within 20 ms)
        std::thread::sleep(Duration::from_millis(300));
        bgsave(&master);
    }
    let kept = backups(&tmp.path().join("m").join("backups"));
    assert_eq!(kept.len(), 2, "{kept:?}");
    // The archive keeps what the oldest backup left needs, no more: its
    // first file holds the seq after that backup's, a second one (if
    // sealed by now) starts after it.
    let replid = field(&master.info("replication"), "master_replid").expect("replid");
    let mut firsts: Vec<u64> = std::fs::read_dir(archive.join(replid))
        .expect("archive")
        .flatten()
        .filter_map(|e| {
            let p = e.path();
            (p.extension()? == "binlog").then(|| p.file_stem()?.to_str()?.parse().ok())?
        })
        .collect();
    firsts.sort_unstable();
    assert!(
        !firsts.is_empty() && firsts[0] <= seqs[1] + 1,
        "a file the oldest backup needs went: {firsts:?}"
    );
    assert!(
        firsts.get(1).is_none_or(|&f| f > seqs[1] + 1),
        "the archive before {} stayed: {firsts:?}",
        seqs[1]
    );
    // (the first file archived, from seq 1, was before both backups kept)
    assert!(firsts[0] > 1, "nothing was pruned: {firsts:?}");
    // The newest two: k1 and k2 are in the last, which LASTSAVE dates.
    let info = std::fs::read_to_string(kept[1].join("BACKUP.toml")).expect("BACKUP.toml");
    assert!(
        info.contains(&format!(
            "seq = {}",
            master.num("persistence", "applied_seq")
        )),
        "{info}"
    );
    // A second BGSAVE while one runs is refused (with SCHEDULE too, as
    // Redis refuses it while an RDB save runs); SAVE as well.
    let _: String = redis::cmd("BGSAVE").query(&mut c).expect("bgsave");
    for cmd in [&["BGSAVE"][..], &["BGSAVE", "SCHEDULE"], &["SAVE"]] {
        match redis::cmd(cmd[0]).arg(&cmd[1..]).query::<String>(&mut c) {
            Ok(s) => assert!(s == "Background saving started" || s == "OK", "{s}"),
            Err(e) => assert!(e.to_string().contains("already in progress"), "{e}"),
        }
    }
    wait_until("the backups", LONG, || {
        master.num("persistence", "rdb_bgsave_in_progress") == 0
    });
    // SAVE answers once the backup is there.
    let saves = master.num("persistence", "rdb_saves");
    let _: () = redis::cmd("SAVE").query(&mut c).expect("save");
    assert_eq!(master.num("persistence", "rdb_saves"), saves + 1);
    // A slave's backups are its own, of the same data.
    wait_synced(&master, &slave, LONG);
    bgsave(&slave);
    let theirs = backups(&tmp.path().join("s").join("backups"));
    assert_eq!(theirs.len(), 1);
    let slave_info = std::fs::read_to_string(theirs[0].join("BACKUP.toml")).expect("BACKUP.toml");
    assert!(
        slave_info.contains(&format!(
            "seq = {}",
            master.num("persistence", "applied_seq")
        )),
        "{slave_info}"
    );
}

/// A full archive disk stops purge, not writes: nothing leaves the binlog
/// unarchived; once there is room, the archive catches up and purge goes
/// on.
#[test]
fn a_full_archive_disk_keeps_the_binlog_until_it_is_archived() {
    let tmp = tempfile::TempDir::new().expect("tmp");
    let Some(disk) = common::Tmpfs::mount(&tmp.path().join("disk"), "2m") else {
        return;
    };
    let archive = disk.dir.join("archive");
    std::fs::create_dir_all(&archive).expect("mkdir");
    let filler = disk.fill("filler");
    let archive_arg = archive.to_string_lossy().into_owned();
    let master = Node::master(
        &tmp.path().join("m"),
        0,
        &[
            "--max-binlog-size",
            "65536",
            "--binlog-budget",
            "200000",
            "--binlog-archive-dir",
            &archive_arg,
        ],
    );
    for p in ["a", "b", "c", "d", "e", "f"] {
        write_some(&master, p);
    }
    // Sealed files over the budget, none archived: none purged.
    std::thread::sleep(Duration::from_secs(2));
    let bytes = master.num("persistence", "binlog_bytes");
    assert!(bytes > 400_000, "binlog_bytes {bytes}");
    assert_eq!(master.num("persistence", "binlog_first_seq"), 1);
    let mut c = master.client();
    let _: () = c
        .set("still", "writes")
        .expect("a write with the archive full");
    // Room again: archived, then purged.
    std::fs::remove_file(&filler).expect("rm");
    wait_until("the archive to catch up and purge to go on", LONG, || {
        master.num("persistence", "binlog_first_seq") > 1
    });
    let first = master.num("persistence", "binlog_first_seq");
    let replid = field(&master.info("replication"), "master_replid").expect("replid");
    let archived: Vec<PathBuf> = std::fs::read_dir(archive.join(replid))
        .expect("archive")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "binlog"))
        .collect();
    // Every purged event is in the archive.
    let held = archived
        .iter()
        .flat_map(|p| {
            rocksync_binlog::SegmentEvents::open(p)
                .expect("open")
                .flatten()
                .filter(|(_, e)| e.cmd.is_data())
                .map(|(_, e)| e.seq)
                .collect::<Vec<_>>()
        })
        .collect::<std::collections::BTreeSet<u64>>();
    assert!(
        (1..first).all(|s| held.contains(&s)),
        "purged events missing from the archive"
    );
}

/// Backups taken on a slave survive its promotion: the promoted node goes
/// on with the same seqs under a new replid, so its archive holds two
/// history directories. A restore given only the backup's own says so,
/// naming the other; given both, it reaches a point after the promotion.
#[test]
fn a_backup_taken_on_a_slave_restores_past_its_promotion() {
    let tmp = tempfile::TempDir::new().expect("tmp");
    let archive = tmp.path().join("archive");
    let archive_arg = archive.to_string_lossy().into_owned();
    let master = Node::master(&tmp.path().join("m"), 0, &[]);
    // The first archive waits (a pause point) until the slave has been
    // promoted: files of the old history are copied only after the
    // history changed, and must still go to the old history's directory.
    let master_addr = master.addr.to_string();
    let slave = Node::spawn_env(
        "rocksync-slave",
        &tmp.path().join("s"),
        0,
        &[
            "--master-addr",
            &master_addr,
            "--max-binlog-size",
            "65536",
            "--binlog-archive-dir",
            &archive_arg,
        ],
        &[("ROCKSYNC_PAUSE_AT", "node.archive:8000")],
    );
    write_some(&master, "before");
    wait_synced(&master, &slave, LONG);
    let log = tmp.path().join("s").with_extension("rocksync-slave.log");
    let said = |what: &str| std::fs::read_to_string(&log).is_ok_and(|t| t.contains(what));
    bgsave(&slave);
    let backup = backups(&tmp.path().join("s").join("backups"))
        .pop()
        .expect("the slave's backup");
    let old_replid = field(&slave.info("replication"), "master_replid").expect("replid");
    write_some(&master, "more");
    wait_synced(&master, &slave, LONG);
    // (the slave's binlog has rotated by now: "more" came through it)
    wait_until("the first archive to be held", LONG, || {
        said("node.archive: pausing")
    });
    drop(master);
    assert_eq!(common::slaveof(&slave, None), "OK");
    // The window is real: the archive was held across the promotion.
    assert!(
        !said("node.archive: resuming"),
        "the promotion outlasted the pause"
    );
    let new_replid = field(&slave.info("replication"), "master_replid").expect("replid");
    assert_ne!(new_replid, old_replid);
    write_some(&slave, "promoted");
    let point = slave.num("persistence", "applied_seq");
    let wanted = digest(&slave);
    // (what follows seals the files holding the point; they are archived)
    write_some(&slave, "after");
    wait_until("the held archive to go on", LONG, || {
        said("node.archive: resuming")
    });
    std::thread::sleep(Duration::from_millis(300));
    slave.terminate(LONG);
    assert!(
        archive.join(&old_replid).is_dir(),
        "no archive for the backup's history"
    );
    assert!(
        archive.join(&new_replid).is_dir(),
        "no archive for the new history"
    );

    // To the end with the backup's history alone: short of the point,
    // and said so.
    let r0 = tmp.path().join("r0");
    let (ok, text) = restore(&backup, &r0, &["--binlog-archive-dir", &archive_arg]);
    assert!(ok, "restore failed: {text}");
    assert!(
        text.contains("note:") && text.contains(&new_replid),
        "{text}"
    );
    let r1 = tmp.path().join("r1");
    let to = point.to_string();
    let (ok, text) = restore(
        &backup,
        &r1,
        &["--to-seq", &to, "--binlog-archive-dir", &archive_arg],
    );
    assert!(
        !ok,
        "restored past the promotion without its history: {text}"
    );
    assert!(
        text.contains(&new_replid),
        "the other history is not named: {text}"
    );
    let next = archive.join(&new_replid);
    let (ok, text) = restore(
        &backup,
        &r1,
        &[
            "--to-seq",
            &to,
            "--binlog-archive-dir",
            &archive_arg,
            "--restore-binlog",
            &next.to_string_lossy(),
        ],
    );
    assert!(ok, "restore failed: {text}");
    let restored = Node::master(&r1, 0, &[]);
    assert!(digest(&restored) == wanted, "the restored data differs");
}
