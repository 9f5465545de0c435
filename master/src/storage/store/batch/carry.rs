//! What the last groups a master committed wrote, which the groups after
//! them read instead of the store (see [`Carry`]).

use std::collections::{HashMap, HashSet};
use std::hash::BuildHasher;
use std::sync::Arc;

use bytes::Bytes;

use super::Layer;
use crate::store::Cf;

/// Bytes of keys and values kept at most, over both generations.
const BYTES: usize = 8 << 20;

/// A value larger than this is not kept (it would push out the rest).
const ENTRY_MAX: usize = 64 << 10;

/// What an entry costs besides its key and value (the map's slot, the
/// key's allocation, the value's handle), counted against [`BYTES`].
const ENTRY_COST: usize = 64;

/// Key → its value as last written (None: deleted), for metadata and for
/// members.
type Map = HashMap<Vec<u8>, Option<Bytes>, foldhash::fast::RandomState>;

/// The hashes ([`Carry::hash`]) of the metadata and members a group read
/// from the store, in the write path.
pub type Missed = [Vec<u64>; 2];

/// Slots of the table of keys read from the store lately (a power of
/// two).
const GHOSTS: usize = 1 << 16;

/// The metadata and members that recent committed groups wrote, each key
/// with the value the last of them left. A key that the groups keep
/// rewriting, but not every one of them (the chunks of a long string
/// under SETRANGE or BITFIELD, a few counters, a leaderboard's sets), is
/// read here rather than searched for in RocksDB's memtables and files:
/// under SETRANGE at random offsets of a 1 MB string that search was a
/// quarter of the master's CPU.
///
/// What goes in: a key a group read from the store a second time lately
/// and wrote (a read, then a change), and every later write of a key
/// kept. A key pre-read on its connection, only written, or read once is
/// not kept: over a million keys at random, keeping every write cost more
/// than it saved (INCR and HSET -P 16 5-10 % of their CPU). Two
/// generations: writes go into the young one, which becomes the old
/// one (the old dropped) once it holds half of [`BYTES`]; a read looks in
/// the young, then the old. Only groups in the store go in, so what it
/// answers is what the store holds, as long as nothing but the write path
/// writes there: its owner clears it when something else may have (the
/// replication link while the node was a slave) or when a commit failed.
/// A garbage sweep deletes only members no metadata names (their versions
/// are never used again), which no read asks for.
#[derive(Clone, Default)]
pub struct Carry {
    /// Metadata, members.
    young: [Map; 2],
    old: [Map; 2],
    /// Written into `young` (a key written over counts twice).
    bytes: usize,
    /// Per slot (by hash), the hash of the last key read from the store
    /// there: a key read again while its hash is still there goes in.
    ghosts: Vec<u64>,
    hasher: foldhash::fast::RandomState,
}

/// Where `cf` is kept (metadata and members only).
pub(super) fn slot(cf: Cf) -> Option<usize> {
    match cf {
        Cf::Meta => Some(0),
        Cf::Sub => Some(1),
        _ => None,
    }
}

impl Carry {
    /// Take in `layer`, a group now in the store.
    pub fn keep(&mut self, layer: Arc<Layer>) {
        let Ok(layer) = Arc::try_unwrap(layer) else {
            // (still shared: not taken apart; nothing kept may be older
            // than what it wrote)
            self.clear();
            return;
        };
        if layer.flushed {
            // (nothing written before it is there any more)
            self.clear();
        }
        let (mut overlay, missed) = (layer.overlay, layer.missed);
        for cf in [Cf::Meta, Cf::Sub] {
            let Some(s) = slot(cf) else { continue };
            let admitted = self.admitted(&missed[s]);
            if admitted.is_empty() && self.young[s].is_empty() && self.old[s].is_empty() {
                continue;
            }
            for (k, v) in std::mem::take(&mut overlay[cf as usize]) {
                let kept = self.young[s].contains_key(&k) || self.old[s].contains_key(&k);
                if !kept && (admitted.is_empty() || !admitted.contains(&self.hash(&k))) {
                    continue;
                }
                let size = ENTRY_COST + k.len() + v.as_ref().map_or(0, Bytes::len);
                if size > ENTRY_MAX {
                    // Not kept, and no older value of it either.
                    self.young[s].remove(&k);
                    self.old[s].remove(&k);
                    continue;
                }
                self.bytes += size;
                self.young[s].insert(k, v);
            }
        }
        if self.bytes > BYTES {
            // One group wrote more than everything kept may hold: nothing
            // is kept (the young alone would leave the old's values of
            // its keys to be read).
            self.young = Default::default();
            self.old = Default::default();
            self.bytes = 0;
        } else if self.bytes > BYTES / 2 {
            self.old = std::mem::take(&mut self.young);
            self.bytes = 0;
        }
    }

    /// The hash [`Missed`] holds of `key`.
    pub(super) fn hash(&self, key: &[u8]) -> u64 {
        self.hasher.hash_one(key)
    }

    /// Of the keys read from the store (`missed`, their hashes), those
    /// read before lately; the others are noted for next time.
    fn admitted(&mut self, missed: &[u64]) -> HashSet<u64, foldhash::fast::RandomState> {
        let mut admitted = HashSet::default();
        if missed.is_empty() {
            return admitted;
        }
        if self.ghosts.is_empty() {
            self.ghosts = vec![0; GHOSTS];
        }
        for &h in missed {
            let ghost = &mut self.ghosts[h as usize & (GHOSTS - 1)];
            if *ghost == h {
                admitted.insert(h);
            } else {
                *ghost = h;
            }
        }
        admitted
    }

    /// Forget everything (the store may hold something else now).
    pub fn clear(&mut self) {
        *self = Self::default();
    }

    /// A key's value as the last group that wrote it left it:
    /// `Some(None)` when it deleted it; `None` when none kept settles it
    /// (then the store does).
    pub(super) fn get(&self, cf: Cf, key: &[u8]) -> Option<Option<Bytes>> {
        let s = slot(cf)?;
        self.young[s]
            .get(key)
            .or_else(|| self.old[s].get(key))
            .cloned()
    }
}

#[cfg(test)]
mod tests {
    use super::super::Batch;
    use super::*;
    use crate::store::Store;

    /// A master's groups, one after another, over `store`.
    struct Groups {
        store: Store,
        carry: Arc<Carry>,
        seq: u64,
    }

    impl Groups {
        fn new(dir: &std::path::Path) -> Self {
            Self {
                store: Store::open(dir, &Default::default()).expect("store"),
                carry: Arc::default(),
                seq: 0,
            }
        }

        /// Run `f` as a group, commit it, and keep what it wrote.
        fn group<R>(&mut self, f: impl FnOnce(&Store, &mut Batch) -> R) -> R {
            let mut b = Batch::after(Some(Arc::clone(&self.carry)));
            let r = f(&self.store, &mut b);
            self.seq += 1;
            let sealed = b.seal(&self.store).expect("seal");
            let layer = sealed.layer();
            let wb = sealed.finish(&self.store, self.seq).expect("finish");
            self.store.write(wb).expect("write");
            Arc::make_mut(&mut self.carry).keep(layer);
            r
        }

        /// A group that reads `key` and writes `value` over it: what it read.
        fn change(&mut self, key: &[u8], value: Option<&[u8]>) -> Option<Vec<u8>> {
            self.group(|store, b| {
                let was = b.get(store, Cf::Sub, key).expect("get").map(Vec::from);
                match value {
                    Some(v) => b
                        .put(store, Cf::Sub, key.to_vec(), v.to_vec())
                        .expect("put"),
                    None => b.delete(store, Cf::Sub, key.to_vec()).expect("delete"),
                }
                was
            })
        }

        /// A group's read of `key`.
        fn read(&mut self, key: &[u8]) -> Option<Vec<u8>> {
            self.group(|store, b| b.get(store, Cf::Sub, key).expect("get").map(Vec::from))
        }

        /// Write `key` straight into the store, as nothing may while a
        /// carry is kept (what the replication link does on a slave).
        fn behind(&self, key: &[u8], value: &[u8]) {
            let mut wb = rocksdb::WriteBatch::default();
            wb.put_cf(self.store.handle(Cf::Sub).expect("cf"), key, value);
            self.store.write(wb).expect("write");
        }
    }

    #[test]
    fn a_key_read_again_and_changed_is_read_from_the_carry_as_the_last_group_left_it() {
        let dir = tempfile::tempdir().expect("tmp");
        let mut g = Groups::new(dir.path());
        assert_eq!(g.change(b"k", Some(b"1")), None);
        // Read from the store a second time: kept from here on.
        assert_eq!(g.change(b"k", Some(b"2")), Some(b"1".to_vec()));
        // The hazard the owner clears it for: a write the carry did not
        // see is not read while it keeps the key.
        g.behind(b"k", b"behind");
        assert_eq!(g.read(b"k"), Some(b"2".to_vec()));
        Arc::make_mut(&mut g.carry).clear();
        assert_eq!(g.read(b"k"), Some(b"behind".to_vec()));
        // Kept again, then every later write follows, a delete too.
        g.change(b"k", Some(b"3"));
        g.change(b"k", Some(b"4"));
        g.behind(b"k", b"behind");
        assert_eq!(g.change(b"k", Some(b"5")), Some(b"4".to_vec()));
        assert_eq!(g.change(b"k", None), Some(b"5".to_vec()));
        assert_eq!(g.read(b"k"), None);
        // A key written once, or written without being read, is not kept.
        g.change(b"once", Some(b"1"));
        g.group(|store, b| {
            b.put(store, Cf::Sub, b"blind".to_vec(), b"1".to_vec())
                .expect("put")
        });
        g.behind(b"once", b"x");
        g.behind(b"blind", b"x");
        assert_eq!(g.read(b"once"), Some(b"x".to_vec()));
        assert_eq!(g.read(b"blind"), Some(b"x".to_vec()));
    }

    #[test]
    fn a_flushall_a_value_too_large_to_keep_and_full_generations_fall_back_to_the_store() {
        let dir = tempfile::tempdir().expect("tmp");
        let mut g = Groups::new(dir.path());
        for k in [&b"a"[..], b"b"] {
            g.change(k, Some(b"1"));
            g.change(k, Some(b"2"));
        }
        g.group(|store, b| b.flush_all(store).expect("flushall"));
        assert_eq!(g.read(b"a"), None);
        // A kept key written with a value above ENTRY_MAX: its kept value
        // goes, and the store answers.
        g.change(b"b", Some(b"1"));
        g.change(b"b", Some(b"2"));
        let big = vec![7u8; ENTRY_MAX + 1];
        g.change(b"b", Some(&big));
        assert_eq!(g.read(b"b"), Some(big));
        // Past two generations of kept writes, the first keys come from
        // the store again, with their last values.
        let value = vec![1u8; 32 << 10];
        let keys: Vec<Vec<u8>> = (0..2 * (BYTES / value.len()) as u32)
            .map(|i| format!("m{i}").into_bytes())
            .collect();
        for k in &keys {
            g.change(k, Some(&value));
            g.change(k, Some(&value));
        }
        assert!(
            g.carry.get(Cf::Sub, &keys[0]).is_none(),
            "dropped with its generation"
        );
        assert!(g.carry.get(Cf::Sub, keys.last().expect("keys")).is_some());
        assert_eq!(g.read(&keys[0]), Some(value));
    }
}
