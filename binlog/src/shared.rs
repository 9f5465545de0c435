//! The state the writer shares with readers: the segment index, the
//! committed end (a watch channel readers wait on), and leases on seqs
//! and segments that purge must respect.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use tokio::sync::watch;

use crate::segment::{LogPos, SegmentId};

/// Lock a mutex, taking the data even if a holder panicked: every update
/// under these locks leaves the state consistent at each step.
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The end of what the writer has appended: readers read up to `pos`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Committed {
    /// End of the last appended record in the active segment.
    pub pos: LogPos,
    /// The last data seq appended.
    pub last_seq: u64,
}

/// One segment of the index.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SegmentInfo {
    /// The segment.
    pub id: SegmentId,
    /// The seq of its first data event (its DESC's seq + 1); a segment
    /// holds seqs from here to the next segment's `first_seq - 1`.
    pub first_seq: u64,
}

/// What a lease holds on to.
#[derive(Debug)]
pub(crate) struct LeaseState {
    /// The first seq still needed.
    pub(crate) next_seq: AtomicU64,
    /// The segment in use (`u64::MAX`: none).
    pub(crate) segment: AtomicU64,
}

#[derive(Debug, Default)]
pub(crate) struct Index {
    pub(crate) segments: Vec<SegmentInfo>,
    pub(crate) leases: BTreeMap<u64, Arc<LeaseState>>,
    pub(crate) next_lease: u64,
}

impl Index {
    /// The segment holding `seq`: the last one starting at or before it.
    pub(crate) fn segment_for_seq(&self, seq: u64) -> Option<SegmentId> {
        self.segments
            .iter()
            .rev()
            .find(|s| s.first_seq <= seq)
            .map(|s| s.id)
    }

    /// The lowest seq and segment any lease still needs.
    pub(crate) fn leased_min(&self) -> (u64, u64) {
        self.leases
            .values()
            .fold((u64::MAX, u64::MAX), |(s, g), l| {
                (
                    s.min(l.next_seq.load(Ordering::Acquire)),
                    g.min(l.segment.load(Ordering::Acquire)),
                )
            })
    }
}

#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) dir: PathBuf,
    pub(crate) index: Mutex<Index>,
    pub(crate) committed: watch::Sender<Committed>,
}

impl Shared {
    pub(crate) fn new(dir: &Path, segments: Vec<SegmentInfo>, committed: Committed) -> Arc<Self> {
        Arc::new(Self {
            dir: dir.to_owned(),
            index: Mutex::new(Index {
                segments,
                ..Index::default()
            }),
            committed: watch::channel(committed).0,
        })
    }

    pub(crate) fn path_of(&self, id: SegmentId) -> PathBuf {
        self.dir.join(id.file_name())
    }

    pub(crate) fn committed(&self) -> Committed {
        *self.committed.borrow()
    }

    /// Register a lease; it lasts until the returned guard drops.
    pub(crate) fn lease(self: &Arc<Self>, index: &mut Index, next_seq: u64, segment: u64) -> Lease {
        let state = Arc::new(LeaseState {
            next_seq: AtomicU64::new(next_seq),
            segment: AtomicU64::new(segment),
        });
        let id = index.next_lease;
        index.next_lease += 1;
        index.leases.insert(id, Arc::clone(&state));
        Lease {
            shared: Arc::clone(self),
            id,
            state,
        }
    }
}

/// A hold on binlog events: purge removes no segment holding a seq at or
/// after the lease's seq, nor the leased segment or any after it. Dropping
/// the lease releases it.
#[derive(Debug)]
pub struct Lease {
    shared: Arc<Shared>,
    id: u64,
    state: Arc<LeaseState>,
}

impl Lease {
    /// The first seq this lease keeps.
    pub fn seq(&self) -> u64 {
        self.state.next_seq.load(Ordering::Acquire)
    }

    pub(crate) fn set_seq(&self, seq: u64) {
        self.state.next_seq.store(seq, Ordering::Release);
    }

    /// Keep events from `seq` on, releasing those before it (a holder
    /// that reads past them no longer needs them). Never moves back.
    pub fn keep_from(&self, seq: u64) {
        self.state.next_seq.fetch_max(seq, Ordering::AcqRel);
    }

    pub(crate) fn set_segment(&self, id: SegmentId) {
        self.state.segment.store(id.0, Ordering::Release);
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        lock(&self.shared.index).leases.remove(&self.id);
    }
}
