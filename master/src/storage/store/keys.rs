//! The on-disk encoding (Kvrocks-style metadata + versioned sub-keys).
//!
//! Column families:
//!
//! | CF | key | value |
//! | --- | --- | --- |
//! | `default` | system keys (`applied_seq`, `replid`, …) | their values |
//! | `meta` | user key | [`Meta`]: type, expiry, then the string value or a collection's version, size (and a list's head, gaps and whether it is indexed by value, or a stream's header) |
//! | `sub` | `len(key) u32 BE · key · version u64 BE · field` | hash value, `""` for set members, list element (field = index u64 BE), zset score (f64 bits BE) |
//! | `zscore` | `len(key) u32 BE · key · version · sortable score (8 B) · member` | `""` |
//! | `zscore` (sets) | `len(key) u32 BE · key · version · member hash (8 B) · member` | `""` |
//! | `zscore` (lists LREM indexed) | `len(key) u32 BE · key · version · len(element) u32 BE · element · index u64 BE` | `""` |
//! | `expire` | `expire_ms u64 BE · key` | `""` |
//! | `sub` (long strings) | `len(key) u32 BE · key · version · chunk index u64 BE` | [`CHUNK`] bytes of the string (a missing chunk or its missing tail: zero bytes) |
//! | `sub` (moves) | `ff ff ff ff · len(home) u32 BE · home · version · seq u64 BE` | the key that holds the sub-keys of `home` at `version` now ([`moved_key`]) |
//!
//! Why this layout: deleting or overwriting a collection rewrites only its
//! metadata (O(1) in the request path); its sub-keys carry the old version
//! and are never read again (a background cleaner removes them). A new
//! collection's version is the seq of the event that creates it, so the
//! master, its replay after a crash and every slave derive the same
//! layout from the same events. The `expire` index makes the expiry sweep
//! O(expired keys), not O(keys). A set's members are also kept in the
//! `zscore` family in the order of a hash of each ([`set_pick_key`]):
//! SPOP and SRANDMEMBER seek to a random hash there, O(log n), where
//! the member order would make them walk the set. Sets made before that
//! index have none (their metadata says so) and walk as they did.
//!
//! A string longer than [`CHUNKED_ABOVE`] that is changed in part
//! (APPEND, SETRANGE, SETBIT, BITFIELD, a K_PATCH) is kept in chunks of
//! [`CHUNK`] bytes in `sub` from then on, under a version as a
//! collection's members are, and its metadata holds its length instead of
//! its bytes: those commands on a 1 MB string then read and write the
//! chunks they touch, where a value in the metadata is rewritten whole
//! each time. A string written whole (SET) stays in its metadata, where
//! GET reads it in one lookup.
//!
//! RENAME moves metadata only: the new name's metadata keeps the version
//! and names the key its sub-keys are under (its `home`, [`Meta::owner`]),
//! so renaming a collection of any size is O(1). A move record beside the
//! sub-keys ([`moved_key`], written in the same batch) tells the garbage
//! sweep that they are held by another name; one whose holder no longer
//! holds them is swept with them.

use bytes::{BufMut, Bytes, BytesMut};

/// A value's type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// String.
    String = 1,
    /// Hash.
    Hash = 2,
    /// Set.
    Set = 3,
    /// Sorted set.
    ZSet = 4,
    /// List.
    List = 5,
    /// Stream.
    Stream = 6,
}

impl Kind {
    fn from_byte(b: u8) -> Option<Self> {
        Some(match b {
            1 => Self::String,
            2 => Self::Hash,
            3 => Self::Set,
            4 => Self::ZSet,
            5 => Self::List,
            6 => Self::Stream,
            _ => return None,
        })
    }

    /// The name TYPE answers.
    pub fn name(self) -> &'static str {
        match self {
            Self::String => "string",
            Self::Hash => "hash",
            Self::Set => "set",
            Self::ZSet => "zset",
            Self::List => "list",
            Self::Stream => "stream",
        }
    }
}

/// Decoded metadata of one key.
#[derive(Clone, Debug, PartialEq)]
pub struct Meta {
    /// The type.
    pub kind: Kind,
    /// Unix ms after which the key is gone; 0 for none.
    pub expire_ms: u64,
    /// Strings: the value (read from its chunks when it is kept in
    /// chunks, unless only the metadata was asked for). Streams: their
    /// header (last ID, entries added, greatest deleted ID), as the stream
    /// module encodes it.
    pub value: Bytes,
    /// Collections, and strings kept in chunks: the version of their
    /// sub-keys (0: a string in the metadata).
    pub version: u64,
    /// Collections: element count. Strings kept in chunks: their length.
    pub size: u64,
    /// Lists: index of the first element. Sets: [`SET_INDEXED`] when
    /// the set keeps its pick index (every set made by this version).
    pub head: u64,
    /// Lists: indexes between the head and the last element that hold
    /// none (LREM's removals): the last element is at `head + size +
    /// gaps - 1`, and the head and the last element are always there.
    pub gaps: u64,
    /// Lists: every element is in the `zscore` family by value too
    /// ([`list_element_key`]), from LREM's first call on a long list.
    pub by_element: bool,
    /// A value RENAME moved here: the key its sub-keys are named by
    /// (`None`: this key). See [`Meta::owner`].
    pub home: Option<Bytes>,
}

/// Strings longer than this are kept in chunks once changed in part.
pub const CHUNKED_ABOVE: usize = 32 << 10;

/// Bytes of a long string's chunk.
pub const CHUNK: usize = 1 << 10;

/// The metadata's type byte of a string kept in chunks.
const CHUNKED_STRING: u8 = 7;

/// Set in the metadata's type byte of a value RENAME moved: its home
/// follows the expiry.
const MOVED_FLAG: u8 = 0x80;

/// Set in the metadata's type byte of a list with gaps or an index by
/// value (its gaps and flag follow its head): a version that knows
/// neither refuses the metadata instead of reading the list as one
/// without them.
const LIST_EXTENDED: u8 = 0x40;

/// The first bytes of a move record in `sub`: a length no key has.
const MOVED: [u8; 4] = [0xff; 4];

/// A set's `head` when its members are in the pick index too.
pub const SET_INDEXED: u64 = 1;

/// First list index: lists grow both ways from the middle of u64.
pub const LIST_MIDDLE: u64 = 1 << 63;

impl Meta {
    /// A string.
    pub fn string(value: Bytes, expire_ms: u64) -> Self {
        Self {
            kind: Kind::String,
            expire_ms,
            value,
            version: 0,
            size: 0,
            head: 0,
            gaps: 0,
            by_element: false,
            home: None,
        }
    }

    /// An empty collection of `kind` at `version`.
    pub fn collection(kind: Kind, version: u64) -> Self {
        Self {
            kind,
            expire_ms: 0,
            value: Bytes::new(),
            version,
            size: 0,
            head: if kind == Kind::Set {
                SET_INDEXED
            } else {
                LIST_MIDDLE
            },
            gaps: 0,
            by_element: false,
            home: None,
        }
    }

    /// A string kept in chunks of `len` bytes, under `version`.
    pub fn chunked(len: usize, expire_ms: u64, version: u64) -> Self {
        Self {
            kind: Kind::String,
            expire_ms,
            value: Bytes::new(),
            version,
            size: len as u64,
            head: 0,
            gaps: 0,
            by_element: false,
            home: None,
        }
    }

    /// The key the sub-keys of `key`'s value `self` are named by: `key`,
    /// or the name RENAME moved the value from.
    pub fn owner<'a>(&'a self, key: &'a [u8]) -> &'a [u8] {
        self.home.as_deref().unwrap_or(key)
    }

    /// True when the value has sub-keys (a collection, or a string kept
    /// in chunks).
    pub fn has_sub_keys(&self) -> bool {
        self.kind != Kind::String || self.is_chunked()
    }

    /// True for a string kept in chunks.
    pub fn is_chunked(&self) -> bool {
        self.kind == Kind::String && self.version != 0
    }

    /// A string's length (its metadata alone says it).
    pub fn string_len(&self) -> usize {
        if self.is_chunked() {
            self.size as usize
        } else {
            self.value.len()
        }
    }

    /// True when the key is expired at `now_ms`.
    pub fn is_expired(&self, now_ms: u64) -> bool {
        self.expire_ms != 0 && self.expire_ms <= now_ms
    }

    /// Encode. A moved value's type byte has [`MOVED_FLAG`] set and its
    /// home (`len u32 BE · home`) follows the expiry.
    pub fn encode(&self) -> Vec<u8> {
        let mut v = self.encode_here();
        if let Some(home) = &self.home {
            v[0] |= MOVED_FLAG;
            let mut h = Vec::with_capacity(4 + home.len());
            h.extend_from_slice(&(home.len() as u32).to_be_bytes());
            h.extend_from_slice(home);
            v.splice(9..9, h);
        }
        v
    }

    /// Encode all but the home.
    fn encode_here(&self) -> Vec<u8> {
        // A string's value after the header; else a collection's fields
        // (33 bytes at most: a list's four and its flag; a stream's two,
        // then its value).
        let mut v = Vec::with_capacity(
            9 + if self.kind == Kind::String {
                self.value.len().max(16)
            } else {
                33 + self.value.len()
            },
        );
        if self.is_chunked() {
            v.push(CHUNKED_STRING);
            v.extend_from_slice(&self.expire_ms.to_be_bytes());
            v.extend_from_slice(&self.version.to_be_bytes());
            v.extend_from_slice(&self.size.to_be_bytes());
            return v;
        }
        let extended = self.kind == Kind::List && (self.gaps > 0 || self.by_element);
        v.push(self.kind as u8 | if extended { LIST_EXTENDED } else { 0 });
        v.extend_from_slice(&self.expire_ms.to_be_bytes());
        match self.kind {
            Kind::String => v.extend_from_slice(&self.value),
            Kind::List => {
                v.extend_from_slice(&self.version.to_be_bytes());
                v.extend_from_slice(&self.size.to_be_bytes());
                v.extend_from_slice(&self.head.to_be_bytes());
                if extended {
                    v.extend_from_slice(&self.gaps.to_be_bytes());
                }
                if self.by_element {
                    v.push(1);
                }
            }
            Kind::Stream => {
                v.extend_from_slice(&self.version.to_be_bytes());
                v.extend_from_slice(&self.size.to_be_bytes());
                v.extend_from_slice(&self.value);
            }
            Kind::Set => {
                v.extend_from_slice(&self.version.to_be_bytes());
                v.extend_from_slice(&self.size.to_be_bytes());
                if self.head == SET_INDEXED {
                    v.push(1);
                }
            }
            _ => {
                v.extend_from_slice(&self.version.to_be_bytes());
                v.extend_from_slice(&self.size.to_be_bytes());
            }
        }
        v
    }

    /// Decode a shared value: a string's (or stream's) value is a slice
    /// of `b`, not a copy.
    pub fn decode_shared(b: &Bytes) -> Option<Self> {
        if b.first()? & MOVED_FLAG != 0 {
            return Self::decode(b);
        }
        let mut m = Self::decode_header(b)?;
        match m.kind {
            Kind::String if m.is_chunked() => {}
            Kind::String => m.value = b.slice(9..),
            Kind::Stream => m.value = b.slice(25..),
            _ => {}
        }
        Some(m)
    }

    /// Decode; `None` for bytes no writer made.
    pub fn decode(b: &[u8]) -> Option<Self> {
        if b.first()? & MOVED_FLAG != 0 {
            let len = u32::from_be_bytes(b.get(9..13)?.try_into().ok()?) as usize;
            let home = Bytes::copy_from_slice(b.get(13..13usize.checked_add(len)?)?);
            let mut here = Vec::with_capacity(b.len() - 4 - len);
            here.push(b[0] & !MOVED_FLAG);
            here.extend_from_slice(&b[1..9]);
            here.extend_from_slice(&b[13 + len..]);
            let mut m = Self::decode(&here)?;
            // (only a value with sub-keys is ever moved with its home)
            if !m.has_sub_keys() {
                return None;
            }
            m.home = Some(home);
            return Some(m);
        }
        let mut m = Self::decode_header(b)?;
        match m.kind {
            Kind::String if m.is_chunked() => {}
            Kind::String => m.value = Bytes::copy_from_slice(&b[9..]),
            Kind::Stream => m.value = Bytes::copy_from_slice(&b[25..]),
            _ => {}
        }
        Some(m)
    }

    /// Decode all but a string's or stream's value.
    fn decode_header(b: &[u8]) -> Option<Self> {
        let expire_ms = be_u64(b.get(1..9)?)?;
        if *b.first()? == CHUNKED_STRING {
            let version = be_u64(b.get(9..17)?)?;
            let len = be_u64(b.get(17..25)?)?;
            // (version 0 is a string in the metadata)
            return (version != 0 && b.len() == 25)
                .then(|| Self::chunked(len as usize, expire_ms, version));
        }
        let first = *b.first()?;
        let extended = first & LIST_EXTENDED != 0;
        let kind = Kind::from_byte(first & !LIST_EXTENDED)?;
        if extended && kind != Kind::List {
            return None;
        }
        let mut m = Self::collection(kind, 0);
        m.expire_ms = expire_ms;
        match kind {
            Kind::String => m.head = 0,
            Kind::List => {
                m.version = be_u64(b.get(9..17)?)?;
                m.size = be_u64(b.get(17..25)?)?;
                m.head = be_u64(b.get(25..33)?)?;
                match b.get(33..)? {
                    [] if !extended => {}
                    g if extended && g.len() == 8 => m.gaps = be_u64(g)?,
                    [g @ .., 1] if extended && g.len() == 8 => {
                        m.gaps = be_u64(g)?;
                        m.by_element = true;
                    }
                    _ => return None,
                }
            }
            Kind::Stream => {
                m.version = be_u64(b.get(9..17)?)?;
                m.size = be_u64(b.get(17..25)?)?;
            }
            Kind::Set => {
                m.version = be_u64(b.get(9..17)?)?;
                m.size = be_u64(b.get(17..25)?)?;
                m.head = match b.get(25) {
                    Some(1) => SET_INDEXED,
                    _ => LIST_MIDDLE,
                };
            }
            _ => {
                m.version = be_u64(b.get(9..17)?)?;
                m.size = be_u64(b.get(17..25)?)?;
            }
        }
        Some(m)
    }
}

/// A big-endian u64 from exactly 8 bytes.
pub fn be_u64(b: &[u8]) -> Option<u64> {
    Some(u64::from_be_bytes(b.try_into().ok()?))
}

/// `len(key) · key · version`: the prefix of a collection's sub-keys.
pub fn sub_prefix(key: &[u8], version: u64) -> Vec<u8> {
    with_sub_prefix(key, version, 16)
}

/// [`sub_prefix`] with room for `more` bytes after it.
fn with_sub_prefix(key: &[u8], version: u64, more: usize) -> Vec<u8> {
    let mut v = Vec::with_capacity(4 + key.len() + 8 + more);
    v.extend_from_slice(&(key.len() as u32).to_be_bytes());
    v.extend_from_slice(key);
    v.extend_from_slice(&version.to_be_bytes());
    v
}

/// A sub-key (allocated at its size: a member or field longer than a
/// prefix's spare room would otherwise grow it, copying it once more).
pub fn sub_key(key: &[u8], version: u64, field: &[u8]) -> Vec<u8> {
    let mut v = with_sub_prefix(key, version, field.len());
    v.extend_from_slice(field);
    v
}

/// The sub-key of chunk `index` of a string kept in chunks.
pub fn chunk_key(key: &[u8], version: u64, index: u64) -> Vec<u8> {
    sub_key(key, version, &index.to_be_bytes())
}

/// Where a set's member sits in its pick index: 64 bits of a fixed hash
/// (FNV-1a, then SplitMix64's finalizer to spread it), the same on every
/// node and every version.
pub fn member_hash(member: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in member {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h = (h ^ (h >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    h = (h ^ (h >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    h ^ (h >> 31)
}

/// A set member's key in the pick index (`zscore` family).
pub fn set_pick_key(key: &[u8], version: u64, member: &[u8]) -> Vec<u8> {
    let mut v = sub_prefix(key, version);
    v.extend_from_slice(&member_hash(member).to_be_bytes());
    v.extend_from_slice(member);
    v
}

/// The entry of list element `element` at `index` in the list's index
/// by value (in `zscore`): `len(key) u32 BE · key · version ·
/// len(element) u32 BE · element · index u64 BE`.
pub fn list_element_key(key: &[u8], version: u64, element: &[u8], index: u64) -> Vec<u8> {
    let mut k = list_element_prefix(key, version, element);
    k.extend_from_slice(&index.to_be_bytes());
    k
}

/// The first bytes of every entry of `element` in a list's index by value
/// (see [`list_element_key`]): its indexes follow, in order.
pub fn list_element_prefix(key: &[u8], version: u64, element: &[u8]) -> Vec<u8> {
    let mut k = sub_prefix(key, version);
    k.extend_from_slice(&(element.len() as u32).to_be_bytes());
    k.extend_from_slice(element);
    k
}

/// The sub-key of list element `index`.
pub fn list_key(key: &[u8], version: u64, index: u64) -> Vec<u8> {
    sub_key(key, version, &index.to_be_bytes())
}

/// `ff ff ff ff · len(home) · home · version`: the prefix of the move
/// records of the sub-keys of `home` at `version`.
pub fn moved_prefix(home: &[u8], version: u64) -> Vec<u8> {
    let mut v = Vec::with_capacity(4 + home.len() + 12 + 8);
    v.extend_from_slice(&MOVED);
    v.extend_from_slice(&sub_prefix(home, version));
    v
}

/// The move record a RENAME at `seq` writes (its value: the new name):
/// the sub-keys of `home` at `version` are held by another key. Each
/// move has its own record, so a stale one can be swept without racing
/// a later move of the same sub-keys.
pub fn moved_key(home: &[u8], version: u64, seq: u64) -> Vec<u8> {
    let mut v = moved_prefix(home, version);
    v.extend_from_slice(&seq.to_be_bytes());
    v
}

/// The home and version of a move record's key; `None` for any other key.
pub fn parse_moved(k: &[u8]) -> Option<(&[u8], u64)> {
    let rest = k.strip_prefix(&MOVED[..])?;
    let len = u32::from_be_bytes(rest.get(..4)?.try_into().ok()?) as usize;
    let home = rest.get(4..4usize.checked_add(len)?)?;
    let tail = rest.get(4 + len..)?;
    (tail.len() == 16).then_some((home, be_u64(&tail[..8])?))
}

/// f64 bits ordered as the numbers are (negative below positive).
pub fn sortable_score(score: f64) -> [u8; 8] {
    let bits = score.to_bits();
    let ordered = if bits >> 63 == 1 {
        !bits
    } else {
        bits ^ (1 << 63)
    };
    ordered.to_be_bytes()
}

/// Inverse of [`sortable_score`].
pub fn score_from_sortable(b: &[u8]) -> Option<f64> {
    let ordered = be_u64(b)?;
    let bits = if ordered >> 63 == 1 {
        ordered ^ (1 << 63)
    } else {
        !ordered
    };
    Some(f64::from_bits(bits))
}

/// A score-index key.
pub fn zscore_key(key: &[u8], version: u64, score: f64, member: &[u8]) -> Vec<u8> {
    let mut v = sub_prefix(key, version);
    v.extend_from_slice(&sortable_score(score));
    v.extend_from_slice(member);
    v
}

/// An expiry-index key.
pub fn expire_key(expire_ms: u64, key: &[u8]) -> Vec<u8> {
    let mut v = Vec::with_capacity(8 + key.len());
    v.extend_from_slice(&expire_ms.to_be_bytes());
    v.extend_from_slice(key);
    v
}

/// The smallest key greater than every key starting with `prefix`, or
/// `None` when there is none (all 0xff).
pub fn prefix_end(prefix: &[u8]) -> Option<Vec<u8>> {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last < 0xff {
            end.push(last + 1);
            return Some(end);
        }
    }
    None
}

/// `u32 BE len(a) · a · b`: two byte strings in one event value.
pub fn pack(a: &[u8], b: &[u8]) -> Bytes {
    let mut v = BytesMut::with_capacity(4 + a.len() + b.len());
    v.put_u32(a.len() as u32);
    v.put_slice(a);
    v.put_slice(b);
    v.freeze()
}

/// Inverse of [`pack`].
pub fn unpack(v: &Bytes) -> Option<(Bytes, Bytes)> {
    let len = u32::from_be_bytes(v.get(..4)?.try_into().ok()?) as usize;
    let a = v.get(4..4 + len)?;
    Some((v.slice_ref(a), v.slice(4 + len..)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn sortable_scores_order_as_numbers(a in any::<f64>(), b in any::<f64>()) {
            prop_assume!(!a.is_nan() && !b.is_nan() && a != b);
            prop_assert_eq!(a < b, sortable_score(a) < sortable_score(b));
            prop_assert_eq!(score_from_sortable(&sortable_score(a)), Some(a));
        }

        #[test]
        fn meta_round_trips(kind in 1u8..=6, exp in any::<u64>(), ver in any::<u64>(), size in any::<u64>(), head in any::<u64>(), val in prop::collection::vec(any::<u8>(), 0..20)) {
            let kind = Kind::from_byte(kind).expect("kind");
            let mut m = Meta::collection(kind, ver);
            m.expire_ms = exp;
            match kind {
                Kind::String if ver % 2 == 0 => { m = Meta::string(val.into(), exp); }
                Kind::String => { m = Meta::chunked(size as usize, exp, ver | 1); }
                Kind::List => { m.size = size; m.head = head; m.gaps = size % 3; m.by_element = head % 2 == 0; }
                Kind::Stream => { m.size = size; m.value = val.into(); }
                Kind::Set => { m.size = size; m.head = if head % 2 == 0 { SET_INDEXED } else { LIST_MIDDLE }; }
                _ => { m.size = size; }
            }
            prop_assert_eq!(Meta::decode(&m.encode()), Some(m.clone()));
            // moved here by RENAME: the same, with its home
            if m.has_sub_keys() {
                m.home = Some(Bytes::copy_from_slice(&exp.to_le_bytes()[..(size % 9) as usize]));
                prop_assert_eq!(Meta::decode(&m.encode()), Some(m.clone()));
                prop_assert_eq!(Meta::decode_shared(&Bytes::from(m.encode())), Some(m));
            }
        }

        #[test]
        fn move_records_parse_back(home in prop::collection::vec(any::<u8>(), 0..20), ver in any::<u64>(), seq in any::<u64>()) {
            let k = moved_key(&home, ver, seq);
            prop_assert!(k.starts_with(&moved_prefix(&home, ver)));
            prop_assert_eq!(parse_moved(&k), Some((&home[..], ver)));
            // a sub-key is never taken for one
            let sk = sub_key(&home, ver, &seq.to_be_bytes());
            prop_assert_eq!(parse_moved(&sk), None);
        }

        #[test]
        fn arbitrary_meta_bytes_never_panic(b in prop::collection::vec(any::<u8>(), 0..40)) {
            let _ = Meta::decode(&b);
        }

        #[test]
        fn pack_round_trips(a in prop::collection::vec(any::<u8>(), 0..20), b in prop::collection::vec(any::<u8>(), 0..20)) {
            let (x, y) = unpack(&pack(&a, &b)).expect("valid");
            prop_assert_eq!((&x[..], &y[..]), (&a[..], &b[..]));
        }
    }

    /// A list with gaps or an index by value is marked in its type byte,
    /// so a version that knows neither (whose decoder took any bytes
    /// after the head as nothing) refuses it rather than misread it.
    #[test]
    fn lists_with_gaps_are_marked_in_the_type_byte() {
        let mut m = Meta::collection(Kind::List, 7);
        m.size = 3;
        assert_eq!(m.encode()[0], Kind::List as u8);
        m.gaps = 2;
        let gapped = m.encode();
        assert_ne!(gapped[0], Kind::List as u8);
        assert_eq!(Meta::decode(&gapped), Some(m.clone()));
        // unmarked, the same bytes are no metadata this version writes
        let mut unmarked = gapped.clone();
        unmarked[0] = Kind::List as u8;
        assert_eq!(Meta::decode(&unmarked), None);
        m.gaps = 0;
        m.by_element = true;
        assert_ne!(m.encode()[0], Kind::List as u8);
        assert_eq!(Meta::decode(&m.encode()), Some(m));
    }

    #[test]
    fn prefix_end_is_the_next_prefix() {
        assert_eq!(prefix_end(b"ab"), Some(b"ac".to_vec()));
        assert_eq!(prefix_end(b"a\xff"), Some(b"b".to_vec()));
        assert_eq!(prefix_end(b"\xff\xff"), None);
    }
}
