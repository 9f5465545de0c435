//! Server-side cursors for SCAN and its kin.

use std::collections::HashMap;
use std::sync::Mutex;

use bytes::Bytes;

/// Server-side cursors for SCAN and friends: a cursor number stands for
/// the last key returned.
#[derive(Debug, Default)]
pub struct Cursors {
    inner: Mutex<(u64, HashMap<u64, Bytes>)>,
}

const MAX_CURSORS: usize = 16 * 1024;

impl Cursors {
    /// Remember `last` and return its cursor number.
    pub fn save(&self, last: Bytes) -> u64 {
        let mut g = self
            .inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if g.1.len() >= MAX_CURSORS {
            g.1.clear();
        }
        g.0 += 1;
        let id = g.0;
        g.1.insert(id, last);
        id
    }

    /// The key a cursor stands for.
    pub fn load(&self, id: u64) -> Option<Bytes> {
        let g = self
            .inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        g.1.get(&id).cloned()
    }
}
