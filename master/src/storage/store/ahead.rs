//! Committed entries read ahead by a batch's scans ([`Ahead`]): a group of
//! pops from one end of a sorted set reads the store once for many of
//! them, not once each (an iterator made and sought a pop was a fifth of
//! `ZPOPMIN`'s time at -P 16).
//!
//! The batch's owner is the only writer, so what the store held at the
//! first read stays what the batch reads under its own writes and the
//! batch below it (as the batch's cache of point reads does).

use std::collections::HashMap;

use bytes::Bytes;

use super::{Cf, Store};
use crate::error::Result;

/// Entries read ahead past those a scan wanted, the first time: doubled on
/// each refill up to [`MOST_AHEAD`].
const FIRST_AHEAD: usize = 16;

/// Most entries read ahead at once.
const MOST_AHEAD: usize = 256;

/// A scan that wants more entries than this keeps none (it reads a range,
/// not an end a pop at a time).
const MOST_KEPT: usize = 1024;

/// Most bytes of values read past what a scan wanted (a stream's entries
/// are a client's, of any size).
const MOST_AHEAD_BYTES: usize = 256 << 10;

/// Windows kept per range: readers at as many places in it (consumer
/// groups of one stream, each taking its next entries) each read ahead
/// of themselves, not over one another's.
const WINDOWS: usize = 4;

/// Which end of which range: column family, prefix, last first.
type Range = (Cf, Vec<u8>, bool);

/// Committed entries of a range, in scan order, from `from`: the first
/// key (ascending; included), or the bound below which the scan began
/// (descending; excluded, `None`: the range's end).
struct Window {
    from: Option<Vec<u8>>,
    entries: Vec<(Vec<u8>, Bytes)>,
    /// The range ends after the last entry.
    complete: bool,
    /// How many to read past what the next refill wants.
    ahead: usize,
}

impl Window {
    /// Whether a scan from `start` (see [`Window::from`]) is one this
    /// window can begin.
    fn serves(&self, rev: bool, start: Option<&[u8]>) -> bool {
        match (rev, &self.from, start) {
            (false, Some(from), Some(s)) => from.as_slice() <= s,
            (true, None, _) => true,
            (true, Some(from), Some(s)) => s <= from.as_slice(),
            _ => false,
        }
    }

    /// The index of the first entry a scan from `start` visits.
    fn first(&self, rev: bool, start: Option<&[u8]>) -> usize {
        match start {
            None => 0,
            Some(s) if rev => self.entries.partition_point(|(k, _)| k.as_slice() >= s),
            Some(s) => self.entries.partition_point(|(k, _)| k.as_slice() < s),
        }
    }
}

/// What a batch has read ahead, per range: up to [`WINDOWS`] windows, the
/// most recently read last; a range scanned once has none yet (most are
/// scanned once a group).
#[derive(Default)]
pub struct Ahead {
    ranges: HashMap<Range, Vec<Window>, foldhash::fast::RandomState>,
    /// Store scans made (tests count them).
    #[cfg(test)]
    reads: usize,
}

impl Ahead {
    /// Whether the batch scanned the range before; from now on it has.
    /// (A range read first by point lookups is noted here, so that its
    /// next scan reads ahead.)
    pub fn note(&mut self, (cf, prefix, rev): (Cf, &[u8], bool)) -> bool {
        if self.ranges.contains_key(&(cf, prefix.to_vec(), rev)) {
            return true;
        }
        self.ranges.insert((cf, prefix.to_vec(), rev), Vec::new());
        false
    }

    /// Visit committed entries of `cf` under `prefix` in order while `f`
    /// says so: from `start` (ascending), or from the last key below
    /// `start` (`rev`; `None`: the last), through what was read ahead.
    ///
    /// # Errors
    /// [`crate::Error::Rocks`].
    pub fn scan(
        &mut self,
        store: &Store,
        (cf, prefix, rev): (Cf, &[u8], bool),
        start: Option<&[u8]>,
        f: &mut dyn FnMut(&[u8], &[u8]) -> bool,
    ) -> Result<()> {
        let range = (cf, prefix.to_vec(), rev);
        let Some(windows) = self.ranges.get_mut(&range) else {
            // The first scan of this range in the batch reads what it
            // wants only, and says the range was scanned.
            self.ranges.insert(range, Vec::new());
            #[cfg(test)]
            {
                self.reads += 1;
            }
            return committed(store, (cf, prefix, rev), start, f);
        };
        let mut ahead = FIRST_AHEAD;
        let mut from = start.map(<[u8]>::to_vec);
        // The window nearest below the start (above it, last first): the
        // one this reader made as it went; it is read ahead again, in
        // place. None serves: a new one, in place of the least recent.
        let nearest = windows
            .iter()
            .enumerate()
            .filter(|(_, w)| w.serves(rev, start))
            .max_by(|(_, a), (_, b)| match (rev, &a.from, &b.from) {
                (false, x, y) => x.cmp(y),
                // (descending: None, the range's end, is the farthest)
                (true, None, _) => std::cmp::Ordering::Less,
                (true, _, None) => std::cmp::Ordering::Greater,
                (true, x, y) => y.cmp(x),
            })
            .map(|(i, _)| i);
        let at = match nearest {
            Some(i) => {
                let w = windows.remove(i);
                windows.push(w);
                windows.len() - 1
            }
            None => {
                if windows.len() >= WINDOWS {
                    windows.remove(0);
                }
                windows.len()
            }
        };
        if let Some(w) = windows.get(at) {
            ahead = w.ahead;
            let at = w.first(rev, start);
            for (k, v) in &w.entries[at..] {
                if !f(k, v) {
                    return Ok(());
                }
            }
            if w.complete {
                return Ok(());
            }
            // Read on past the window's last entry.
            if let Some((last, _)) = w.entries.last() {
                let mut past = last.clone();
                if !rev {
                    past.push(0);
                }
                from = match &from {
                    Some(s) if !rev && s > &past => Some(s.clone()),
                    Some(s) if rev && s < &past => Some(s.clone()),
                    _ => Some(past),
                };
            }
        }
        let read = read_ahead(store, (cf, prefix, rev), from, ahead, f)?;
        match read {
            Some(w) if at < windows.len() => windows[at] = w,
            Some(w) => windows.push(w),
            None if at < windows.len() => {
                windows.remove(at);
            }
            None => {}
        }
        #[cfg(test)]
        {
            self.reads += 1;
        }
        Ok(())
    }
}

/// The store's entries of a range from `start`, visited while `f` says
/// so, then `ahead` more kept: the window they make (`None` when `f`
/// wanted too many to keep).
fn read_ahead(
    store: &Store,
    (cf, prefix, rev): (Cf, &[u8], bool),
    start: Option<Vec<u8>>,
    ahead: usize,
    f: &mut dyn FnMut(&[u8], &[u8]) -> bool,
) -> Result<Option<Window>> {
    let mut entries = Vec::new();
    let mut keep = true;
    let mut wanted = true;
    let mut extra = 0;
    let mut bytes = 0;
    let mut cut = false;
    committed(store, (cf, prefix, rev), start.as_deref(), &mut |k, v| {
        if wanted {
            wanted = f(k, v);
            keep = keep && entries.len() < MOST_KEPT;
            if !keep {
                entries = Vec::new();
                cut = !wanted;
                return wanted;
            }
        } else {
            // (the budget holds: an entry past it is left for the next read)
            if bytes + v.len() > MOST_AHEAD_BYTES {
                cut = true;
                return false;
            }
            extra += 1;
            bytes += v.len();
        }
        entries.push((k.to_vec(), Bytes::copy_from_slice(v)));
        cut = !wanted && (extra == ahead || bytes >= MOST_AHEAD_BYTES);
        !cut
    })?;
    Ok(keep.then(|| Window {
        from: start,
        entries,
        complete: !cut,
        ahead: (ahead * 2).min(MOST_AHEAD),
    }))
}

/// The store's entries of a range from `start` (see [`Ahead::scan`]).
fn committed(
    store: &Store,
    (cf, prefix, rev): (Cf, &[u8], bool),
    start: Option<&[u8]>,
    f: &mut dyn FnMut(&[u8], &[u8]) -> bool,
) -> Result<()> {
    if rev {
        store.scan_rev_before(cf, prefix, start, None, f)
    } else {
        store.scan_until(cf, prefix, start.unwrap_or(prefix), None, None, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::batch::Batch;

    /// A store holding `p:000` .. `p:099` (and a key past the prefix).
    fn store() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(dir.path(), &Default::default()).expect("store");
        let mut b = Batch::new();
        for i in 0..100 {
            let k = format!("p:{i:03}").into_bytes();
            b.put(&store, Cf::Sub, k, vec![i as u8]).expect("put");
        }
        b.put(&store, Cf::Sub, b"q".to_vec(), vec![]).expect("put");
        store.write_batch(b, 1).expect("write");
        (dir, store)
    }

    /// The first key a scan from `start` visits (`rev`: below it).
    fn first(a: &mut Ahead, s: &Store, rev: bool, start: Option<&[u8]>) -> Option<Vec<u8>> {
        let mut got = None;
        a.scan(s, (Cf::Sub, b"p:", rev), start, &mut |k, _| {
            got = Some(k.to_vec());
            false
        })
        .expect("scan");
        got
    }

    /// Pops one at a time from the low end, each from past the last:
    /// every key in order, from a few store reads, not one a pop.
    #[test]
    fn pops_from_the_low_end_read_ahead() {
        let (_d, s) = store();
        let mut a = Ahead::default();
        let mut start = b"p:".to_vec();
        for i in 0..100 {
            let k = first(&mut a, &s, false, Some(&start)).expect("a key");
            assert_eq!(k, format!("p:{i:03}").into_bytes());
            start = k;
            start.push(0);
        }
        assert_eq!(first(&mut a, &s, false, Some(&start)), None);
        // The first read, then one for 16 ahead, 32 and 64 (which reaches
        // the end and says so: the last scan reads nothing).
        assert_eq!(a.reads, 4, "store reads");
    }

    /// The same from the high end, and a scan that starts above what was
    /// read ahead (a score written above the bound) reads again.
    #[test]
    fn pops_from_the_high_end_read_ahead_and_a_wider_start_reads_again() {
        let (_d, s) = store();
        let mut a = Ahead::default();
        let mut before: Option<Vec<u8>> = None;
        for i in (50..100).rev() {
            let k = first(&mut a, &s, true, before.as_deref()).expect("a key");
            assert_eq!(k, format!("p:{i:03}").into_bytes());
            before = Some(k);
        }
        let reads = a.reads;
        assert_eq!(first(&mut a, &s, true, None), Some(b"p:099".to_vec()));
        assert_eq!(a.reads, reads + 1);
        // A forward scan of the same prefix keeps its own window.
        assert_eq!(
            first(&mut a, &s, false, Some(b"p:")),
            Some(b"p:000".to_vec())
        );
    }

    /// Readers at two places of one range, in turn (two consumer groups
    /// of one stream), each read ahead of themselves: a few store reads
    /// each, not one a step.
    #[test]
    fn readers_at_several_places_keep_a_window_each() {
        let (_d, s) = store();
        let mut a = Ahead::default();
        let mut starts = [b"p:".to_vec(), b"p:050".to_vec()];
        for i in 0..40 {
            for (j, start) in starts.iter_mut().enumerate() {
                let k = first(&mut a, &s, false, Some(start)).expect("a key");
                assert_eq!(k, format!("p:{:03}", j * 50 + i).into_bytes());
                *start = k;
                start.push(0);
            }
        }
        // Each: its first read (the range's very first is plain), then
        // 16, 32 and 64 ahead (one window for both: a read a step).
        assert!(a.reads <= 8, "{} store reads", a.reads);
    }

    /// Values past what a scan wanted are kept up to a byte budget.
    #[test]
    fn reading_ahead_stops_at_its_byte_budget() {
        let dir = tempfile::tempdir().expect("tempdir");
        let s = Store::open(dir.path(), &Default::default()).expect("store");
        let mut b = Batch::new();
        for i in 0..40 {
            let k = format!("p:{i:03}").into_bytes();
            b.put(&s, Cf::Sub, k, vec![b'v'; 64 << 10]).expect("put");
        }
        s.write_batch(b, 1).expect("write");
        let mut a = Ahead::default();
        let mut start = b"p:".to_vec();
        for i in 0..40 {
            let k = first(&mut a, &s, false, Some(&start)).expect("a key");
            assert_eq!(k, format!("p:{i:03}").into_bytes());
            start = k;
            start.push(0);
        }
        let kept: usize = a.ranges.values().flatten().map(|w| w.entries.len()).sum();
        assert!(kept <= 1 + MOST_AHEAD_BYTES / (64 << 10), "{kept} kept");
        assert!(
            a.reads >= 40 / (1 + MOST_AHEAD_BYTES / (64 << 10)),
            "{}",
            a.reads
        );
        // An entry larger than the budget is never read ahead.
        let mut b = Batch::new();
        b.put(
            &s,
            Cf::Sub,
            b"p:040".to_vec(),
            vec![b'v'; MOST_AHEAD_BYTES + 1],
        )
        .expect("put");
        s.write_batch(b, 2).expect("write");
        let mut a = Ahead::default();
        for _ in 0..2 {
            first(&mut a, &s, false, Some(b"p:039"));
        }
        let kept: usize = a.ranges.values().flatten().map(|w| w.entries.len()).sum();
        assert_eq!(kept, 1, "only the entry the scan wanted");
    }

    /// A scan to the range's end keeps a complete window: the next one
    /// reads nothing from the store and still visits every entry.
    #[test]
    fn a_scan_to_the_end_keeps_a_complete_window() {
        let (_d, s) = store();
        let mut a = Ahead::default();
        for _ in 0..3 {
            let mut n = 0;
            a.scan(&s, (Cf::Sub, b"p:", false), Some(b"p:"), &mut |_, _| {
                n += 1;
                true
            })
            .expect("scan");
            assert_eq!(n, 100);
        }
        assert_eq!(a.reads, 2, "store reads");
    }
}
