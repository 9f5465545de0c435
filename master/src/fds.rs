//! `maxclients` against the process's open-file limit (RLIMIT_NOFILE):
//! every client is a file descriptor, and so are RocksDB's SST files, the
//! binlog and the listeners. At the limit `accept` fails and RocksDB,
//! which opens files as it compacts, fails with it; so the soft limit is
//! raised toward the hard one at start (and at CONFIG SET maxclients),
//! and a maxclients that cannot fit is refused, naming both numbers. The
//! default, which nobody chose, is lowered to what fits instead, as Redis
//! lowers it, with a warning.

use rustix::process::{getrlimit, setrlimit, Resource, Rlimit};

/// Descriptors the node keeps beyond its clients: RocksDB's files (it
/// keeps its SST files open), the binlog, snapshots, listeners.
pub const RESERVED: u64 = 1024 + 32;

/// The (soft, hard) open-file limits (`u64::MAX`: unlimited).
fn limits() -> (u64, u64) {
    let l = getrlimit(Resource::Nofile);
    (l.current.unwrap_or(u64::MAX), l.maximum.unwrap_or(u64::MAX))
}

/// Make room for `maxclients` clients: raise the soft limit (up to the
/// hard one) when it is short.
///
/// # Errors
/// Why it cannot, naming what is needed and the limits.
pub fn fit(maxclients: usize) -> Result<(), String> {
    let need = (maxclients as u64).saturating_add(RESERVED);
    let (soft, hard) = limits();
    if soft >= need {
        return Ok(());
    }
    if hard >= need {
        let raised = Rlimit {
            current: Some(need),
            maximum: (hard != u64::MAX).then_some(hard),
        };
        if setrlimit(Resource::Nofile, raised).is_ok() {
            tracing::info!(
                from = soft,
                to = need,
                "raised the open-file limit for maxclients"
            );
            return Ok(());
        }
    }
    Err(format!(
        "maxclients {maxclients} needs {need} open files ({RESERVED} for the node's own), but the process may open {soft} (hard limit {hard}): raise it (ulimit -n) or lower maxclients"
    ))
}

/// The most clients the process can take: the soft limit raised to the
/// hard one, less what the node keeps for itself.
pub fn most_clients() -> usize {
    let (soft, hard) = limits();
    if hard > soft {
        let raised = Rlimit {
            current: (hard != u64::MAX).then_some(hard),
            maximum: (hard != u64::MAX).then_some(hard),
        };
        let _ = setrlimit(Resource::Nofile, raised);
    }
    let (soft, _) = limits();
    usize::try_from(soft.saturating_sub(RESERVED))
        .unwrap_or(usize::MAX)
        .max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_maxclients_past_the_hard_limit_is_refused_naming_both() {
        let (_, hard) = limits();
        if hard > u64::from(u32::MAX) {
            return; // unlimited here: nothing to refuse
        }
        let too_many = hard as usize;
        let e = fit(too_many).expect_err("past the hard limit");
        assert!(
            e.contains(&too_many.to_string()) && e.contains(&hard.to_string()),
            "{e}"
        );
        fit(16).expect("a few clients fit");
    }
}
