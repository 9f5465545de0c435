//! `rocksync-binlog`: inspect binlog files (SPEC §8).
//!
//! `dump FILE` prints one event a line: seq, type, cmd, ttl, key, value
//! (key and value quoted and escaped as redis-cli does), then, for a write
//! that records what its key, field or member held, `prior=absent`,
//! `prior=present:EXPIRE_MS` or `prior=score:SCORE`. `verify DIR` checks
//! every file read-only and exits non-zero on damage, naming file and byte
//! offset; a torn tail in the newest file is reported and exits 0.

use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};
use rocksync_binlog::{verify_dir, SegmentEvents};
use rocksync_protocol::Prior;

#[derive(Parser)]
#[command(
    name = "rocksync-binlog",
    version,
    about = "Inspect rocksync binlog files"
)]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Print a file's events, one a line: seq type cmd ttl key value.
    Dump {
        /// A binlog file, e.g. data/master/binlog/00000001.binlog.
        file: PathBuf,
    },
    /// Check every file of a binlog directory without changing it.
    Verify {
        /// A binlog directory.
        dir: PathBuf,
    },
}

/// Quote bytes as redis-cli shows them: printable ASCII as is, `"` and `\`
/// escaped, common controls as `\n \r \t \a \b`, everything else `\xHH`.
fn quoted(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() + 2);
    s.push('"');
    for &b in bytes {
        match b {
            b'"' => s.push_str("\\\""),
            b'\\' => s.push_str("\\\\"),
            b'\n' => s.push_str("\\n"),
            b'\r' => s.push_str("\\r"),
            b'\t' => s.push_str("\\t"),
            7 => s.push_str("\\a"),
            8 => s.push_str("\\b"),
            0x20..=0x7e => s.push(char::from(b)),
            _ => s.push_str(&format!("\\x{b:02x}")),
        }
    }
    s.push('"');
    s
}

fn dump(file: &Path) -> anyhow::Result<ExitCode> {
    let events = SegmentEvents::open(file)?;
    let stdout = std::io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    for item in events {
        match item {
            Ok((_, e)) => {
                let prior = match e.prior {
                    Prior::Unknown => String::new(),
                    Prior::Absent => " prior=absent".to_owned(),
                    Prior::Present { expire_ms } => format!(" prior=present:{expire_ms}"),
                    Prior::Scored { score_bits } => {
                        format!(" prior=score:{}", f64::from_bits(score_bits))
                    }
                };
                writeln!(
                    out,
                    "{} {} {} {} {} {}{prior}",
                    e.seq,
                    e.kind.name(),
                    e.cmd.name(),
                    e.ttl,
                    quoted(&e.key),
                    quoted(&e.value)
                )
                .context("writing to stdout")?
            }
            Err(e) => {
                out.flush().context("writing to stdout")?;
                eprintln!("rocksync-binlog: {e}");
                return Ok(ExitCode::FAILURE);
            }
        }
    }
    out.flush().context("writing to stdout")?;
    Ok(ExitCode::SUCCESS)
}

fn verify(dir: &Path) -> ExitCode {
    let report = verify_dir(dir);
    let mut records = 0;
    let mut last_seq = 0;
    for f in &report.files {
        records += f.records;
        last_seq = f.last_seq().unwrap_or(last_seq);
        let seqs = match (f.desc_seq, f.last_data_seq) {
            (Some(d), Some(l)) => format!("seqs {}..={l}", d + 1),
            (Some(d), None) => format!("no data events (after seq {d})"),
            (None, _) => "no DESC".to_owned(),
        };
        let end = f
            .ended_by
            .map_or(String::new(), |c| format!(", ends with {}", c.name()));
        println!("{}: {} records, {seqs}{end}", f.id, f.records);
        if let Some(t) = f.torn {
            println!(
                "{}: torn tail at byte offset {} ({} bytes to the end of the file); the next start cuts it",
                f.id, t.offset, t.bytes
            );
        }
    }
    match report.error {
        None => {
            println!(
                "ok: {} files, {records} records, last seq {last_seq}",
                report.files.len()
            );
            ExitCode::SUCCESS
        }
        Some(e) => {
            eprintln!("rocksync-binlog: verify failed: {e}");
            ExitCode::FAILURE
        }
    }
}

fn main() -> anyhow::Result<ExitCode> {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_writer(std::io::stderr)
        .init();
    match Cli::parse().command {
        Cmd::Dump { file } => dump(&file),
        Cmd::Verify { dir } => Ok(verify(&dir)),
    }
}
