//! What INFO's commandstats, errorstats and latencystats, LATENCY's
//! monitor and LATENCY HISTOGRAM report: per command its calls, time,
//! rejected and failed calls and a latency histogram; per error prefix
//! its count; per event (`command`, `fast-command`) the latency spikes at
//! or above `latency-monitor-threshold`.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock, PoisonError};

/// Buckets of a latency histogram: bucket `i` counts the calls that took
/// less than 2^i µs (and at least 2^(i-1)).
const BUCKETS: usize = 40;

/// The most error prefixes errorstats keeps.
const MAX_ERROR_KINDS: usize = 128;

/// One command's counters.
#[derive(Debug)]
pub struct Counters {
    calls: AtomicU64,
    usec: AtomicU64,
    rejected: AtomicU64,
    failed: AtomicU64,
    histogram: [AtomicU64; BUCKETS],
}

impl Default for Counters {
    fn default() -> Self {
        Self {
            calls: AtomicU64::new(0),
            usec: AtomicU64::new(0),
            rejected: AtomicU64::new(0),
            failed: AtomicU64::new(0),
            histogram: std::array::from_fn(|_| AtomicU64::new(0)),
        }
    }
}

/// Per-command and per-error counters, one set per node.
#[derive(Debug, Default)]
pub struct CommandStats {
    /// By command name (`config|get` for a subcommand), made once (the
    /// table's names: see [`CommandStats::init`]).
    by_name: OnceLock<HashMap<&'static str, Counters, foldhash::fast::RandomState>>,
    /// By an error reply's first word.
    errors: Mutex<BTreeMap<String, u64>>,
    error_replies: AtomicU64,
}

impl CommandStats {
    /// Counters for each of `names` (once; what is recorded before is
    /// not counted).
    pub fn init(&self, names: impl IntoIterator<Item = &'static str>) {
        let _ = self.by_name.set(
            names
                .into_iter()
                .map(|n| (n, Counters::default()))
                .collect(),
        );
    }

    fn counters(&self, name: &str) -> Option<&Counters> {
        self.by_name.get()?.get(name)
    }

    fn all(&self) -> impl Iterator<Item = (&&'static str, &Counters)> {
        self.by_name.get().into_iter().flatten()
    }

    /// Command `name` ran for `us` microseconds; `failed` when it answered
    /// an error.
    pub fn record(&self, name: &str, us: u64, failed: bool) {
        self.record_many(name, 1, us, failed);
    }

    /// `n` calls of command `name` ran for `us` microseconds each (a run
    /// of GETs answered by one lookup: one update for all of them).
    pub fn record_many(&self, name: &str, n: u64, us: u64, failed: bool) {
        let Some(c) = self.counters(name) else {
            return;
        };
        c.calls.fetch_add(n, Ordering::Relaxed);
        c.usec.fetch_add(us * n, Ordering::Relaxed);
        if failed {
            c.failed.fetch_add(n, Ordering::Relaxed);
        }
        let bucket = (64 - us.leading_zeros() as usize).min(BUCKETS - 1);
        c.histogram[bucket].fetch_add(n, Ordering::Relaxed);
    }

    /// Command `name` was refused before it ran (arity, AUTH, READONLY…).
    pub fn reject(&self, name: &str) {
        if let Some(c) = self.counters(name) {
            c.rejected.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// An error reply was sent (counted by its first word, as Redis's
    /// errorstats).
    pub fn error(&self, text: &str) {
        self.error_replies.fetch_add(1, Ordering::Relaxed);
        let prefix = text.split(' ').next().unwrap_or_default();
        let prefix = if prefix.is_empty() { "ERR" } else { prefix };
        let mut errors = self.errors.lock().unwrap_or_else(PoisonError::into_inner);
        let kinds = errors.len();
        match errors.get_mut(prefix) {
            Some(n) => *n += 1,
            // At most Redis's 128 kinds (a script can make up any prefix).
            None if kinds < MAX_ERROR_KINDS => {
                errors.insert(prefix.to_owned(), 1);
            }
            None => {}
        }
    }

    /// Error replies sent (INFO's `total_error_replies`).
    pub fn error_replies(&self) -> u64 {
        self.error_replies.load(Ordering::Relaxed)
    }

    /// CONFIG RESETSTAT.
    pub fn reset(&self) {
        for (_, c) in self.all() {
            for a in [&c.calls, &c.usec, &c.rejected, &c.failed] {
                a.store(0, Ordering::Relaxed);
            }
            for b in &c.histogram {
                b.store(0, Ordering::Relaxed);
            }
        }
        self.errors
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clear();
        self.error_replies.store(0, Ordering::Relaxed);
    }

    /// The commands called at least once, by name.
    fn called(&self) -> Vec<(&'static str, &Counters)> {
        let mut v: Vec<_> = self
            .all()
            .filter(|(_, c)| {
                c.calls.load(Ordering::Relaxed) + c.rejected.load(Ordering::Relaxed) > 0
            })
            .map(|(n, c)| (*n, c))
            .collect();
        v.sort_by_key(|(n, _)| *n);
        v
    }

    /// INFO commandstats's lines.
    pub fn commandstats(&self, out: &mut String) {
        for (name, c) in self.called() {
            let (calls, usec) = (
                c.calls.load(Ordering::Relaxed),
                c.usec.load(Ordering::Relaxed),
            );
            let per_call = if calls == 0 {
                0.0
            } else {
                usec as f64 / calls as f64
            };
            let _ = write!(
                out,
                "cmdstat_{name}:calls={calls},usec={usec},usec_per_call={per_call:.2},rejected_calls={},failed_calls={}\r\n",
                c.rejected.load(Ordering::Relaxed),
                c.failed.load(Ordering::Relaxed),
            );
        }
    }

    /// INFO errorstats's lines.
    pub fn errorstats(&self, out: &mut String) {
        for (prefix, n) in self
            .errors
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
        {
            let _ = write!(out, "errorstat_{prefix}:count={n}\r\n");
        }
    }

    /// INFO latencystats's lines: p50, p99 and p99.9 of each command, in
    /// µs (the upper bound of the histogram bucket they fall in).
    pub fn latencystats(&self, out: &mut String) {
        for (name, c) in self.called() {
            let counts: Vec<u64> = c
                .histogram
                .iter()
                .map(|b| b.load(Ordering::Relaxed))
                .collect();
            let total: u64 = counts.iter().sum();
            if total == 0 {
                continue;
            }
            let at = |q: f64| -> f64 {
                let want = (q * total as f64).ceil().max(1.0) as u64;
                let mut seen = 0;
                for (i, n) in counts.iter().enumerate() {
                    seen += n;
                    if seen >= want {
                        return (1u64 << i) as f64;
                    }
                }
                (1u64 << (BUCKETS - 1)) as f64
            };
            let _ = write!(
                out,
                "latency_percentiles_usec_{name}:p50={:.3},p99={:.3},p99.9={:.3}\r\n",
                at(0.5),
                at(0.99),
                at(0.999)
            );
        }
    }

    /// LATENCY HISTOGRAM of `names` (all called commands when empty):
    /// (name, calls, cumulative count at each power-of-two µs bound).
    #[allow(clippy::type_complexity)]
    pub fn histograms(&self, names: &[String]) -> Vec<(&'static str, u64, Vec<(u64, u64)>)> {
        self.called()
            .into_iter()
            .filter(|(n, _)| names.is_empty() || names.iter().any(|w| w.eq_ignore_ascii_case(n)))
            .map(|(name, c)| {
                let mut cumulative = 0;
                let mut points = Vec::new();
                for (i, b) in c.histogram.iter().enumerate() {
                    let n = b.load(Ordering::Relaxed);
                    if n > 0 {
                        cumulative += n;
                        points.push((1u64 << i, cumulative));
                    }
                }
                (name, c.calls.load(Ordering::Relaxed), points)
            })
            .collect()
    }
}

/// Samples kept per event (Redis's 160).
const SAMPLES: usize = 160;

/// One event's spikes.
#[derive(Debug, Default)]
struct Event {
    /// (unix seconds, ms), oldest first; one per second at most.
    samples: VecDeque<(u64, u64)>,
    max_ms: u64,
}

/// The latency monitor: spikes at or above the threshold, per event.
#[derive(Debug, Default)]
pub struct LatencyMonitor {
    threshold_ms: AtomicU64,
    events: Mutex<BTreeMap<&'static str, Event>>,
}

impl LatencyMonitor {
    /// `latency-monitor-threshold` (ms; 0 turns the monitor off).
    pub fn set_threshold(&self, ms: u64) {
        self.threshold_ms.store(ms, Ordering::Relaxed);
    }

    /// The threshold, ms.
    pub fn threshold(&self) -> u64 {
        self.threshold_ms.load(Ordering::Relaxed)
    }

    /// `event` took `us` microseconds: a spike when at or above the
    /// threshold (samples of the same second keep the largest).
    pub fn record(&self, event: &'static str, us: u64) {
        let threshold = self.threshold();
        let ms = us / 1000;
        if threshold == 0 || ms < threshold {
            return;
        }
        let now = crate::clock::now_ms() / 1000;
        let mut events = self.events.lock().unwrap_or_else(PoisonError::into_inner);
        let e = events.entry(event).or_default();
        e.max_ms = e.max_ms.max(ms);
        match e.samples.back_mut() {
            Some((t, m)) if *t == now => *m = (*m).max(ms),
            _ => {
                if e.samples.len() == SAMPLES {
                    e.samples.pop_front();
                }
                e.samples.push_back((now, ms));
            }
        }
    }

    /// LATENCY LATEST: (event, time of the latest spike, its ms, the
    /// all-time max).
    pub fn latest(&self) -> Vec<(&'static str, u64, u64, u64)> {
        let events = self.events.lock().unwrap_or_else(PoisonError::into_inner);
        events
            .iter()
            .filter_map(|(name, e)| e.samples.back().map(|&(t, ms)| (*name, t, ms, e.max_ms)))
            .collect()
    }

    /// LATENCY HISTORY event: its samples.
    pub fn history(&self, event: &str) -> Vec<(u64, u64)> {
        let events = self.events.lock().unwrap_or_else(PoisonError::into_inner);
        events
            .get(event)
            .map(|e| e.samples.iter().copied().collect())
            .unwrap_or_default()
    }

    /// LATENCY RESET [event ...]: how many events were reset.
    pub fn reset(&self, names: &[String]) -> usize {
        let mut events = self.events.lock().unwrap_or_else(PoisonError::into_inner);
        if names.is_empty() {
            let n = events.len();
            events.clear();
            return n;
        }
        names
            .iter()
            .filter(|n| events.remove(n.as_str()).is_some())
            .count()
    }

    /// Each event's samples' (count, min, max, average) and all-time max
    /// (LATENCY DOCTOR).
    pub fn summary(&self) -> Vec<(&'static str, usize, u64, u64, f64, u64)> {
        let events = self.events.lock().unwrap_or_else(PoisonError::into_inner);
        events
            .iter()
            .filter(|(_, e)| !e.samples.is_empty())
            .map(|(name, e)| {
                let ms: Vec<u64> = e.samples.iter().map(|s| s.1).collect();
                let avg = ms.iter().sum::<u64>() as f64 / ms.len() as f64;
                let (min, max) = (
                    ms.iter().copied().min().unwrap_or(0),
                    ms.iter().copied().max().unwrap_or(0),
                );
                (*name, ms.len(), min, max, avg, e.max_ms)
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spikes_below_the_threshold_or_with_it_off_are_not_kept() {
        let m = LatencyMonitor::default();
        m.record("command", 500_000);
        assert!(m.latest().is_empty(), "off at 0");
        m.set_threshold(100);
        m.record("command", 99_999);
        assert!(m.latest().is_empty());
        m.record("command", 150_000);
        m.record("command", 120_000);
        let latest = m.latest();
        assert_eq!(latest.len(), 1);
        // two in one second: one sample, the larger
        assert_eq!((latest[0].2, latest[0].3), (150, 150));
        assert_eq!(m.history("command").len(), 1);
        assert_eq!(m.reset(&["nosuch".into()]), 0);
        assert_eq!(m.reset(&[]), 1);
        assert!(m.latest().is_empty());
    }

    #[test]
    fn command_counters_and_histograms_add_up() {
        let s = CommandStats::default();
        s.init(["get", "set"]);
        s.record("get", 3, false);
        s.record("get", 300, true);
        s.reject("set");
        s.error("WRONGTYPE Operation against a key");
        s.error("ERR syntax error");
        s.error("ERR other");
        let mut out = String::new();
        s.commandstats(&mut out);
        assert!(
            out.contains(
                "cmdstat_get:calls=2,usec=303,usec_per_call=151.50,rejected_calls=0,failed_calls=1"
            ),
            "{out}"
        );
        assert!(
            out.contains("cmdstat_set:calls=0,usec=0,usec_per_call=0.00,rejected_calls=1"),
            "{out}"
        );
        let mut errors = String::new();
        s.errorstats(&mut errors);
        assert_eq!(
            errors,
            "errorstat_ERR:count=2\r\nerrorstat_WRONGTYPE:count=1\r\n"
        );
        let h = s.histograms(&["GET".into()]);
        assert_eq!(h.len(), 1);
        assert_eq!(h[0].1, 2);
        assert_eq!(h[0].2.last().map(|p| p.1), Some(2));
        s.reset();
        let mut out = String::new();
        s.commandstats(&mut out);
        assert!(out.is_empty());
    }
}
