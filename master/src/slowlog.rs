//! SLOWLOG: commands that ran longer than `slowlog_log_slower_than`
//! microseconds, newest first, at most `slowlog_max_len` of them, in
//! Redis's entry shape (id, unix time, microseconds, arguments, client
//! address, client name). A write's time is its execution on the write
//! path, not its wait for the group's fsync (as Redis times the command,
//! not its I/O).

use std::collections::VecDeque;
use std::sync::{Mutex, PoisonError};

use bytes::Bytes;
use rocksync_protocol::Reply;

/// Arguments kept per entry (Redis's SLOWLOG_ENTRY_MAX_ARGC).
const MAX_ARGS: usize = 32;
/// Bytes kept per argument (SLOWLOG_ENTRY_MAX_STRING).
const MAX_ARG_BYTES: usize = 128;

struct Entry {
    id: u64,
    unix_s: u64,
    micros: u64,
    args: Vec<Bytes>,
    addr: String,
    name: String,
}

/// The slow log.
#[derive(Default)]
pub struct SlowLog {
    inner: Mutex<(u64, VecDeque<Entry>)>,
}

/// Arguments as the log keeps them: at most 32, each cut to 128 bytes.
fn trimmed(args: &[Bytes]) -> Vec<Bytes> {
    let keep = if args.len() > MAX_ARGS {
        MAX_ARGS - 1
    } else {
        args.len()
    };
    let mut out: Vec<Bytes> = args[..keep]
        .iter()
        .map(|a| {
            if a.len() > MAX_ARG_BYTES {
                let mut s = a[..MAX_ARG_BYTES].to_vec();
                s.extend_from_slice(
                    format!("... ({} more bytes)", a.len() - MAX_ARG_BYTES).as_bytes(),
                );
                Bytes::from(s)
            } else {
                a.clone()
            }
        })
        .collect();
    if args.len() > MAX_ARGS {
        out.push(Bytes::from(format!(
            "... ({} more arguments)",
            args.len() - MAX_ARGS + 1
        )));
    }
    out
}

impl SlowLog {
    /// Log a command that took `micros`, when that is at least
    /// `threshold` (negative: log nothing).
    pub fn record(
        &self,
        threshold: i64,
        max_len: u64,
        micros: u64,
        args: &[Bytes],
        addr: String,
        name: String,
    ) {
        if threshold < 0 || micros < threshold as u64 {
            return;
        }
        let unix_s = crate::clock::now_ms() / 1000;
        let mut g = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        let id = g.0;
        g.0 += 1;
        g.1.push_front(Entry {
            id,
            unix_s,
            micros,
            args: trimmed(args),
            addr,
            name,
        });
        g.1.truncate(max_len as usize);
    }

    /// SLOWLOG GET [count] (-1: all; default 10).
    pub fn get(&self, count: i64) -> Reply {
        let g = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        let n = if count < 0 {
            g.1.len()
        } else {
            (count as usize).min(g.1.len())
        };
        Reply::Array(
            g.1.iter()
                .take(n)
                .map(|e| {
                    Reply::Array(vec![
                        Reply::Integer(e.id as i64),
                        Reply::Integer(e.unix_s as i64),
                        Reply::Integer(e.micros as i64),
                        Reply::Array(e.args.iter().cloned().map(Reply::Bulk).collect()),
                        Reply::Bulk(Bytes::from(e.addr.clone())),
                        Reply::Bulk(Bytes::from(e.name.clone())),
                    ])
                })
                .collect(),
        )
    }

    /// Entries kept.
    pub fn len(&self) -> usize {
        self.inner
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .1
            .len()
    }

    /// Drop every entry.
    pub fn reset(&self) {
        self.inner
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .1
            .clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_commands_are_trimmed_like_redis() {
        let args: Vec<Bytes> = (0..40).map(|i| Bytes::from(i.to_string())).collect();
        let t = trimmed(&args);
        assert_eq!(t.len(), 32);
        assert_eq!(&t[31][..], b"... (9 more arguments)");
        let long = trimmed(&[Bytes::from(vec![b'x'; 200])]);
        assert_eq!(&long[0][128..], b"... (72 more bytes)");
        let log = SlowLog::default();
        log.record(10, 2, 5, &args, "a".into(), String::new());
        assert_eq!(log.len(), 0);
        for _ in 0..3 {
            log.record(10, 2, 10, &args, "a".into(), String::new());
        }
        assert_eq!(log.len(), 2);
        log.reset();
        assert_eq!(log.len(), 0);
    }
}
