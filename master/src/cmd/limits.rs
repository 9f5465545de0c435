//! The configured sizes commands follow (`hll-sparse-max-bytes`,
//! `stream-node-max-entries`, `stream-node-max-bytes`): CONFIG SET
//! changes them live, and a write group reads them once.

use std::sync::Mutex;

use super::hll;

/// The configured sizes commands follow, as one value.
#[derive(Clone, Copy, Debug)]
pub struct Sizes {
    /// `hll-sparse-max-bytes`: a sparse HyperLogLog longer than this
    /// turns dense.
    pub hll_sparse_max_bytes: usize,
    /// `stream-node-max-entries`: entries (deleted ones too) in one node
    /// of a stream, 0 for no limit.
    pub stream_node_max_entries: u64,
    /// `stream-node-max-bytes`: bytes of one node of a stream, 0 for no
    /// limit.
    pub stream_node_max_bytes: u64,
}

impl Default for Sizes {
    fn default() -> Self {
        Self {
            hll_sparse_max_bytes: hll::DEFAULT_SPARSE_MAX_BYTES,
            stream_node_max_entries: 100,
            stream_node_max_bytes: 4096,
        }
    }
}

impl Sizes {
    /// The values `c` configures.
    pub fn of(c: &crate::config::Config) -> Self {
        Self {
            hll_sparse_max_bytes: c.hll_sparse_max_bytes,
            stream_node_max_entries: c.stream_node_max_entries,
            stream_node_max_bytes: c.stream_node_max_bytes,
        }
    }
}

/// [`Sizes`] as configured now (CONFIG SET changes them live).
#[derive(Debug)]
pub struct Limits(Mutex<Sizes>);

impl Default for Limits {
    fn default() -> Self {
        Self(Mutex::new(Sizes::default()))
    }
}

impl Limits {
    /// Take the configuration's values.
    pub fn set(&self, c: &crate::config::Config) {
        *self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Sizes::of(c);
    }

    /// The values now.
    pub fn now(&self) -> Sizes {
        *self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}
