//! Crash and error points for fault-injection tests (feature
//! `failpoints`): a process started with `ROCKSYNC_CRASH_AT=<name>[@<n>]`
//! aborts, as a power cut or kill -9 would stop it, the `n`-th time
//! (default: first) it reaches the point `name`; with
//! `ROCKSYNC_FAIL_AT=<name>@<n>[+<k>]` the `k` (default 1) passes from the
//! `n`-th on through the error point `name` fail as an I/O error would.
//! `ROCKSYNC_PAUSE_AT=<name>:<ms>` makes the first pass through the pause
//! point `name` sleep, to widen a race window;
//! `ROCKSYNC_PANIC_AT=<name>[@<n>]` panics, as a bug would, the `n`-th time
//! through the panic point `name`.
//! Without the feature every point is an empty inline function.

/// Every crash point, in the order a commit reaches them.
pub const POINTS: &[&str] = &[
    "binlog.stage.before_write",
    "binlog.stage.after_write",
    "binlog.stage.after_fsync",
    "storage.commit.before_store_write",
    "storage.commit.after_store_write",
    "storage.commit.after_publish",
    "binlog.rotate.after_rotate_record",
    "binlog.rotate.after_next_file",
];

/// One kind of point the environment names as `<name>[@<n>]` in `var`:
/// the `n`-th pass (default: first) through `name` is the one.
#[cfg(feature = "failpoints")]
struct NthPass {
    var: &'static str,
    at: std::sync::OnceLock<Option<(String, u64)>>,
    hits: std::sync::atomic::AtomicU64,
}

#[cfg(feature = "failpoints")]
impl NthPass {
    const fn new(var: &'static str) -> Self {
        Self {
            var,
            at: std::sync::OnceLock::new(),
            hits: std::sync::atomic::AtomicU64::new(0),
        }
    }

    /// True when this pass through `name` is the one named.
    fn now(&self, name: &str) -> bool {
        let at = self.at.get_or_init(|| {
            let v = std::env::var(self.var).ok()?;
            match v.split_once('@') {
                Some((n, k)) => Some((n.to_owned(), k.parse().unwrap_or(1))),
                None => Some((v, 1)),
            }
        });
        at.as_ref().is_some_and(|(point, nth)| {
            point == name
                && self.hits.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1 == *nth
        })
    }
}

/// Abort the process here when the environment names this point.
#[cfg(feature = "failpoints")]
pub fn hit(name: &'static str) {
    static CRASH: NthPass = NthPass::new("ROCKSYNC_CRASH_AT");
    if CRASH.now(name) {
        eprintln!("failpoint {name}: crashing");
        std::process::abort();
    }
}

/// Abort the process here when the environment names this point (inert:
/// built without the `failpoints` feature).
#[cfg(not(feature = "failpoints"))]
#[inline(always)]
pub fn hit(_name: &'static str) {}

/// True when this pass through the error point `name` is to fail.
#[cfg(feature = "failpoints")]
pub fn fails(name: &'static str) -> bool {
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::OnceLock;
    static AT: OnceLock<Option<(String, u64, u64)>> = OnceLock::new();
    static HITS: AtomicU64 = AtomicU64::new(0);
    let at = AT.get_or_init(|| {
        let v = std::env::var("ROCKSYNC_FAIL_AT").ok()?;
        let (point, when) = v.split_once('@').unwrap_or((&v, "1"));
        let (from, count) = when.split_once('+').unwrap_or((when, "1"));
        Some((point.to_owned(), from.parse().ok()?, count.parse().ok()?))
    });
    match at {
        Some((point, from, count)) if point == name => {
            let n = HITS.fetch_add(1, Ordering::Relaxed) + 1;
            n >= *from && n < from + count
        }
        _ => false,
    }
}

/// True when this pass through the error point `name` is to fail (never:
/// built without the `failpoints` feature).
#[cfg(not(feature = "failpoints"))]
#[inline(always)]
pub fn fails(_name: &'static str) -> bool {
    false
}

/// Panic here, as a bug would, the `n`-th time the environment's
/// `ROCKSYNC_PANIC_AT=<name>@<n>` (default: first) names this point.
#[cfg(feature = "failpoints")]
pub fn panic_at(name: &'static str) {
    static PANIC: NthPass = NthPass::new("ROCKSYNC_PANIC_AT");
    if PANIC.now(name) {
        panic!("failpoint {name}: panicking");
    }
}

/// Panic here when the environment names this point (inert: built
/// without the `failpoints` feature).
#[cfg(not(feature = "failpoints"))]
#[inline(always)]
pub fn panic_at(_name: &'static str) {}

/// Sleep here, the first time, when the environment names this point.
pub fn pause(name: &'static str) {
    if let Some(d) = pause_for(name) {
        std::thread::sleep(d);
        eprintln!("failpoint {name}: resuming");
    }
}

/// How long to pause here, the first time, when the environment names
/// this point (for async code, which sleeps on its runtime's timer and
/// then logs "failpoint NAME: resuming" itself).
#[cfg(feature = "failpoints")]
pub fn pause_for(name: &'static str) -> Option<std::time::Duration> {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::OnceLock;
    static AT: OnceLock<Option<(String, u64)>> = OnceLock::new();
    static DONE: AtomicBool = AtomicBool::new(false);
    let at = AT.get_or_init(|| {
        let v = std::env::var("ROCKSYNC_PAUSE_AT").ok()?;
        let (point, ms) = v.split_once(':')?;
        Some((point.to_owned(), ms.parse().ok()?))
    });
    let (point, ms) = at.as_ref()?;
    if point == name && !DONE.swap(true, Ordering::Relaxed) {
        eprintln!("failpoint {name}: pausing {ms} ms");
        Some(std::time::Duration::from_millis(*ms))
    } else {
        None
    }
}

/// Never pauses (built without the `failpoints` feature).
#[cfg(not(feature = "failpoints"))]
#[inline(always)]
pub fn pause_for(_name: &'static str) -> Option<std::time::Duration> {
    None
}
