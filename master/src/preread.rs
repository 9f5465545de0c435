//! Pre-reads: a write job's connection task reads its keys' metadata
//! before it queues the job, so that the read, the largest part of a
//! write's work, runs beside the group that commits meanwhile instead of
//! inside the write path, which executes one group at a time. (Under
//! SET -P 16 over 1 M keys the batched metadata read was about a third of
//! the master's CPU, all of it inside the group's leader.)
//!
//! A pre-read is only a hint: the leader takes a key's value only if no
//! group committed after the read began can have written that key. Each
//! committed group takes the next number of a counter; a pre-read notes
//! the number before it reads (every group up to it is in the store
//! then), and the leader, the only writer of metadata while the node is a
//! master, notes per slot of a table indexed by key hash the last group
//! that wrote a key there ([`Written`]). A group that hid everything
//! (FLUSHALL), a failed commit, and a storage handed to the replication
//! link and back void every pre-read older than them.
//!
//! Writes to fields of a collection (HSET, SADD, ZADD...) also pre-read
//! the fields they name, under the version the collection's metadata
//! holds. The metadata of a collection every client writes is hot and
//! not kept, but its version still names the fields; a version that has
//! changed since only names fields no command then reads.

use std::hash::BuildHasher;
use std::sync::atomic::{AtomicU64, Ordering};

use bytes::Bytes;

use crate::store::batch::Batch;
use crate::store::keys::{self, Kind, Meta};
use crate::store::{Cf, Store};

/// Slots of the table of keys written (a power of two).
const SLOTS: usize = 1 << 16;

/// A job's metadata and fields, read before it was queued.
pub struct PreRead {
    /// The number of the last group committed before the read.
    after: u64,
    /// Each key (of metadata or of a field) with its value as read
    /// (None: absent).
    values: Vec<(Cf, Bytes, Option<Vec<u8>>)>,
}

/// A field a job's command reads: the collection's kind, key and field.
pub type FieldRead = (Kind, Bytes, Bytes);

/// The groups committed, as far as pre-reads need them: their count, and
/// per slot of a table indexed by a key's hash, the number of the last
/// group that wrote the metadata or a field of a key in that slot. Keys
/// sharing a slot only void each other's pre-reads (which then read again
/// in the write path), never keep a stale one; with 64 Ki slots and
/// pre-reads a group or two old, that is rare. Nothing to allocate or
/// prune per group. Only the write path's leader writes it.
pub struct Written {
    /// The number of the last group committed.
    committed: AtomicU64,
    slots: Box<[AtomicU64]>,
    hasher: foldhash::fast::RandomState,
    /// Pre-reads that follow fewer groups than this are void.
    floor: AtomicU64,
}

impl Default for Written {
    fn default() -> Self {
        Self {
            committed: AtomicU64::new(0),
            slots: (0..SLOTS).map(|_| AtomicU64::new(0)).collect(),
            hasher: Default::default(),
            floor: AtomicU64::new(0),
        }
    }
}

impl Written {
    fn slot(&self, key: &[u8]) -> &AtomicU64 {
        &self.slots[(self.hasher.hash_one(key) as usize) & (SLOTS - 1)]
    }

    /// True when no group up to `after` but the last two wrote `key`.
    fn cold(&self, key: &[u8], after: u64) -> bool {
        match self.slot(key).load(Ordering::Relaxed) {
            0 => true,
            g => g + 2 <= after,
        }
    }

    /// Read the metadata of `keys` and the `fields` now, noting which
    /// groups the read follows; `None` when nothing is worth it or the
    /// read fails (the job then reads inside the write path, as it would
    /// without). Keys that one of the last two groups wrote are left out:
    /// a hot key (one hash that every client pushes to) is written by
    /// nearly every group, so its pre-read would nearly always be void.
    /// A field's collection is read for its version even when hot.
    pub fn read(
        &self,
        store: &Store,
        mut keys: Vec<Bytes>,
        fields: Vec<FieldRead>,
    ) -> Option<PreRead> {
        // Loaded before the read: every group up to it is in the store.
        let after = self.committed.load(Ordering::Acquire);
        keys.sort_unstable();
        keys.dedup();
        // The collections whose fields are read (sorted: an EXEC of
        // thousands of field writes must not compare every pair).
        let mut collections: Vec<&Bytes> = fields.iter().map(|(_, c, _)| c).collect();
        collections.sort_unstable();
        collections.dedup();
        keys.retain(|k| self.cold(k, after) || collections.binary_search(&k).is_ok());
        let metas = get_all(store, Cf::Meta, &keys)?;
        let mut subs: Vec<Vec<u8>> = fields
            .iter()
            .filter_map(|(kind, key, field)| {
                let at = keys.binary_search(key).ok()?;
                let m = Meta::decode(metas[at].as_deref()?)?;
                let sub = keys::sub_key(m.owner(key), m.version, field);
                (m.kind == *kind && self.cold(&sub, after)).then_some(sub)
            })
            .collect();
        subs.sort_unstable();
        subs.dedup();
        let sub_values = get_all(store, Cf::Sub, &subs)?;
        let values: Vec<_> = keys
            .into_iter()
            .zip(metas)
            .filter(|(k, _)| self.cold(k, after))
            .map(|(k, v)| (Cf::Meta, k, v))
            .chain(
                subs.into_iter()
                    .zip(sub_values)
                    .map(|(k, v)| (Cf::Sub, Bytes::from(k), v)),
            )
            .collect();
        (!values.is_empty()).then_some(PreRead { after, values })
    }

    /// Put into `batch`'s cache the values of `pre` that no group
    /// committed since its read can have changed; how many keys `pre`
    /// holds, and how many of them were taken.
    pub fn seed(&self, batch: &Batch, pre: PreRead) -> (u64, u64) {
        let read = pre.values.len() as u64;
        if pre.after < self.floor.load(Ordering::Relaxed) {
            return (read, 0);
        }
        let mut used = 0;
        for (cf, key, value) in pre.values {
            if self.slot(&key).load(Ordering::Relaxed) <= pre.after {
                batch.seed(cf, &key, value);
                used += 1;
            }
        }
        (read, used)
    }

    /// The number the next group to commit takes.
    pub fn next(&self) -> u64 {
        self.committed.load(Ordering::Relaxed) + 1
    }

    /// Group `number` is about to be committed, writing the metadata or
    /// fields `keys`; `everything` when it hides all committed data. Recorded
    /// before the group's number is published, so a pre-read that sees
    /// the number never misses the group's keys.
    pub fn record<'a>(
        &self,
        number: u64,
        keys: impl Iterator<Item = &'a Vec<u8>>,
        everything: bool,
    ) {
        if everything {
            self.floor.store(number, Ordering::Relaxed);
            return;
        }
        for k in keys {
            self.slot(k).store(number, Ordering::Relaxed);
        }
    }

    /// Group `number` is in the store (or failed: see
    /// [`Written::void_before`]).
    pub fn publish(&self, number: u64) {
        self.committed.store(number, Ordering::Release);
    }

    /// Void every pre-read that does not follow group `number`, and
    /// publish it: what the store holds changed in ways no slot tells (a
    /// failed commit, the replication link's writes).
    pub fn void_before(&self, number: u64) {
        self.floor.store(number, Ordering::Relaxed);
        self.publish(number);
    }
}

/// The values of `keys` in `cf`: one lookup for one key (every job at
/// -P 1 costs less that way), else one batched lookup; `None` on error.
fn get_all(store: &Store, cf: Cf, keys: &[impl AsRef<[u8]>]) -> Option<Vec<Option<Vec<u8>>>> {
    match keys {
        [] => Some(Vec::new()),
        [key] => Some(vec![store.get(cf, key.as_ref()).ok()?]),
        _ => {
            let refs: Vec<&[u8]> = keys.iter().map(AsRef::as_ref).collect();
            store.multi_get(cf, &refs).ok()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pre(after: u64, key: &str, value: &str) -> PreRead {
        PreRead {
            after,
            values: vec![(
                Cf::Meta,
                Bytes::from(key.to_owned()),
                Some(value.as_bytes().to_vec()),
            )],
        }
    }

    /// An empty store, with the directory that holds it.
    fn store() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(dir.path(), &Default::default()).expect("store");
        (dir, store)
    }

    fn seeded(w: &Written, p: PreRead) -> bool {
        let (_dir, store) = store();
        let b = Batch::new();
        let key = p.values[0].1.clone();
        let (read, used) = w.seed(&b, p);
        assert_eq!(read, 1);
        // A seeded value is read without the store, which lacks the key.
        let seeded = b.get(&store, Cf::Meta, &key).expect("read").is_some();
        assert_eq!(seeded, used == 1);
        seeded
    }

    #[test]
    fn a_seed_never_replaces_what_the_batch_wrote_or_read() {
        let (_dir, store) = store();
        let mut b = Batch::new();
        b.put(&store, Cf::Meta, b"w".to_vec(), b"written".to_vec())
            .expect("put");
        assert_eq!(b.get(&store, Cf::Meta, b"r").expect("read"), None);
        b.seed(Cf::Meta, b"w", Some(b"stale".to_vec()));
        b.seed(Cf::Meta, b"r", Some(b"stale".to_vec()));
        assert_eq!(
            b.get(&store, Cf::Meta, b"w").expect("read").as_deref(),
            Some(&b"written"[..])
        );
        assert_eq!(b.get(&store, Cf::Meta, b"r").expect("read"), None);
    }

    #[test]
    fn a_pre_read_holds_until_a_later_group_writes_its_key() {
        let w = Written::default();
        w.record(1, [b"a".to_vec()].iter(), false);
        assert!(seeded(&w, pre(1, "a", "x")), "group 1 is before the read");
        assert!(
            !seeded(&w, pre(0, "a", "x")),
            "group 1 wrote a after the read"
        );
        assert!(seeded(&w, pre(0, "b", "x")), "no later group wrote b");
    }

    #[test]
    fn a_flush_or_a_failure_voids_every_older_pre_read() {
        let w = Written::default();
        w.record(3, [].iter(), true);
        assert!(!seeded(&w, pre(2, "b", "x")));
        assert!(seeded(&w, pre(3, "b", "x")));
        w.void_before(5);
        assert!(!seeded(&w, pre(4, "b", "x")));
        assert!(seeded(&w, pre(5, "b", "x")));
    }

    #[test]
    fn keys_one_of_the_last_two_groups_wrote_are_not_pre_read() {
        let (_dir, store) = store();
        let w = Written::default();
        let (hot, cold) = (Bytes::from_static(b"hot"), Bytes::from_static(b"cold"));
        for g in 1..=3 {
            w.record(g, [hot.to_vec()].iter(), false);
            w.publish(g);
        }
        assert!(w.read(&store, vec![hot.clone()], Vec::new()).is_none());
        let pre = w
            .read(
                &store,
                vec![hot.clone(), cold.clone(), cold.clone()],
                Vec::new(),
            )
            .expect("cold is read");
        assert_eq!(pre.after, 3);
        let keys: Vec<&Bytes> = pre.values.iter().map(|(_, k, _)| k).collect();
        assert_eq!(keys, [&cold]);
        // Two groups later, hot is read again.
        w.publish(5);
        assert!(w.read(&store, vec![hot], Vec::new()).is_some());
    }

    /// A hash every group writes: its metadata is not kept, but its
    /// fields are read under the version it holds, unless a recent group
    /// wrote them too.
    #[test]
    fn the_fields_of_a_hot_collection_are_read_under_its_version() {
        let (_dir, store) = store();
        let h = Bytes::from_static(b"h");
        let meta = Meta::collection(Kind::Hash, 7);
        let (a, b) = (keys::sub_key(&h, 7, b"a"), keys::sub_key(&h, 7, b"b"));
        let mut batch = Batch::new();
        batch
            .put(&store, Cf::Meta, h.to_vec(), meta.encode())
            .expect("put");
        batch
            .put(&store, Cf::Sub, a.clone(), b"1".to_vec())
            .expect("put");
        store.write_batch(batch, 1).expect("write");
        let w = Written::default();
        for g in 1..=3 {
            w.record(g, [h.to_vec(), b.clone()].iter(), false);
            w.publish(g);
        }
        let field = |f: &'static [u8]| (Kind::Hash, h.clone(), Bytes::from_static(f));
        let pre = w
            .read(
                &store,
                vec![h.clone()],
                vec![field(b"a"), field(b"b"), field(b"c")],
            )
            .expect("fields are read");
        let got: Vec<(Cf, Vec<u8>, Option<Vec<u8>>)> = pre
            .values
            .iter()
            .map(|(cf, k, v)| (*cf, k.to_vec(), v.clone()))
            .collect();
        let c = keys::sub_key(&h, 7, b"c");
        assert_eq!(got, [(Cf::Sub, a, Some(b"1".to_vec())), (Cf::Sub, c, None)]);
        // A field of another kind's collection is not read.
        let wrong = (Kind::Set, h.clone(), Bytes::from_static(b"a"));
        assert!(w.read(&store, vec![h], vec![wrong]).is_none());
    }
}
