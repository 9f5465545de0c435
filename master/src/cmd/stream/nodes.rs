//! Redis 7.0's stream "listpack nodes", modelled without the listpacks.
//!
//! Redis stores stream entries in nodes (listpacks in a radix tree keyed by
//! each node's first, "master", ID). Node boundaries decide what `~` trimming
//! removes and what XINFO reports as `radix-tree-keys` / `radix-tree-nodes`,
//! so to match Redis exactly we keep, per node, the few numbers its decisions
//! use. The byte arithmetic mirrors the listpack encoding (streams spec §7 and
//! Appendix A); the rax node count is Appendix B.

/// A stream entry ID (ms, seq).
pub type Id = (u64, u64);

/// One stream node: what Redis's append and trim decisions need to know
/// about a listpack, without its contents.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Node {
    /// ID of the node's first ("master") entry; also its rax key.
    pub master: Id,
    /// The master field names: those of the entry that started the node.
    pub fields: Vec<Vec<u8>>,
    /// Entries of this node not deleted.
    pub live: u64,
    /// Tombstones (left by XDEL or an exact trim) still taking room in the node.
    pub deleted: u64,
    /// The listpack's byte size, as Appendix A computes it.
    pub bytes: u64,
    /// ID of the last entry appended (live or tombstone).
    pub last: Id,
}

/// Leading byte of every encoding, so a later format can be told apart.
const VERSION: u8 = 1;

/// The integer a listpack stores a string as, if it does (`lpStringToInt64`):
/// under 21 characters, optional `-`, no leading zeros or `+`, not `-0`, in
/// the i64 range.
fn canon_int(b: &[u8]) -> Option<i64> {
    if b == b"0" {
        return Some(0);
    }
    let digits = b.strip_prefix(b"-").unwrap_or(b);
    let plain = digits.first().is_some_and(|d| (b'1'..=b'9').contains(d));
    if b.len() >= 21 || !plain || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    // At most 20 digits, so the i128 cannot overflow.
    let v = digits.iter().fold(0, |v, d| v * 10 + i128::from(d - b'0'));
    i64::try_from(if digits.len() < b.len() { -v } else { v }).ok()
}

/// Adds the back-length that follows an element of `l` bytes.
fn with_backlen(l: u64) -> u64 {
    l.saturating_add(rocksync_protocol::rdb::listpack_backlen(l))
}

/// Size of an integer element: 7-bit unsigned, 13, 16, 24, 32 or 64 bit. Takes
/// i128 so signed deltas and unsigned counters both fit without wrapping.
fn int_ele(v: i128) -> u64 {
    with_backlen(match v {
        0..=127 => 1,
        -4096..=4095 => 2,
        -32768..=32767 => 3,
        -8388608..=8388607 => 4,
        -2147483648..=2147483647 => 5,
        _ => 9,
    })
}

/// Size of a string element; strings that read as canonical integers are
/// stored as integers, the others after a 1, 2 or 5 byte header.
fn str_ele(b: &[u8]) -> u64 {
    if let Some(v) = canon_int(b) {
        return int_ele(v.into());
    }
    let n = b.len() as u64;
    let header = match n {
        0..=63 => 1,
        64..=4095 => 2,
        _ => 5,
    };
    with_backlen(n.saturating_add(header))
}

/// Sums sizes; absurd inputs saturate rather than overflow.
fn total(sizes: impl Iterator<Item = u64>) -> u64 {
    sizes.fold(0, u64::saturating_add)
}

impl Node {
    /// A new node that `id` (with `pairs`) will start; no entry added yet (call add next).
    pub fn start(id: Id, pairs: &[(&[u8], &[u8])]) -> Node {
        let fields: Vec<Vec<u8>> = pairs.iter().map(|(f, _)| f.to_vec()).collect();
        // Header and end byte (7), then the master entry: live and deleted
        // counters, field count, the fields and a 0 terminator.
        let master_entry = [7, 3 * int_ele(0), int_ele(fields.len() as i128)];
        let names = fields.iter().map(|f| str_ele(f));
        let bytes = total(master_entry.into_iter().chain(names));
        let (live, deleted, last) = (0, 0, id);
        Node {
            master: id,
            fields,
            live,
            deleted,
            bytes,
            last,
        }
    }

    /// True when this node, as the stream's tail, takes an entry of `pairs`
    /// (Appendix A's xadd test: bytes + total >= max_bytes (0 or > 1 GiB
    /// means 1 GiB) refuses; live+deleted >= max_entries (0 = no limit) refuses).
    pub fn takes(&self, pairs: &[(&[u8], &[u8])], max_entries: u64, max_bytes: u64) -> bool {
        // 0 (wrapping to u64::MAX here) and anything above 1 GiB mean 1 GiB.
        let max_bytes = max_bytes.wrapping_sub(1).min((1 << 30) - 1) + 1;
        // Redis adds the raw field and value lengths, not their encoded sizes.
        let raw = total(pairs.iter().map(|(f, v)| (f.len() + v.len()) as u64));
        let entries = self.live.saturating_add(self.deleted);
        self.bytes.saturating_add(raw) < max_bytes && (max_entries == 0 || entries < max_entries)
    }

    /// Append entry `id` (sets last, live += 1, bytes as Appendix A).
    pub fn add(&mut self, id: Id, pairs: &[(&[u8], &[u8])]) {
        // Only exactly the master fields (count, order, bytes) allow the short
        // form: flags 2 and the values alone.
        let same = pairs.len() == self.fields.len()
            && pairs.iter().zip(&self.fields).all(|((f, _), m)| f == m);
        let n = pairs.len() as i128;
        // IDs are stored as signed 64-bit deltas from the master ID.
        let delta = |v: u64, m: u64| int_ele(i128::from(v.wrapping_sub(m) as i64));
        let head = [delta(id.0, self.master.0), delta(id.1, self.master.1)];
        let (flags, body) = if same {
            let values = total(pairs.iter().map(|(_, v)| str_ele(v)));
            (2, values.saturating_add(int_ele(n + 3)))
        } else {
            // Sizes of real slices, so this sum cannot overflow.
            let both = pairs.iter().map(|(f, v)| str_ele(f) + str_ele(v));
            (0, total(both.chain([int_ele(n), int_ele(2 * n + 4)])))
        };
        let entry = total(head.into_iter().chain([int_ele(flags), body]));
        self.bytes = self.bytes.saturating_add(entry);
        self.set_counts(self.live.saturating_add(1), self.deleted);
        self.last = id;
    }

    /// Rewrite the two counters (bytes follow). Marking an entry deleted
    /// keeps its size, so only the counters' own sizes can change the node's.
    pub fn set_counts(&mut self, live: u64, deleted: u64) {
        let size = |live: u64, deleted: u64| int_ele(live.into()) + int_ele(deleted.into());
        let old = size(self.live, self.deleted);
        let grown = self.bytes.saturating_add(size(live, deleted));
        self.bytes = grown.saturating_sub(old);
        (self.live, self.deleted) = (live, deleted);
    }

    /// Compact binary encoding (to store in RocksDB): a version byte, LEB128
    /// varints for the IDs, counters, size and field count, then each field
    /// as a varint length and its bytes.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.encode_into(&mut out);
        out
    }

    /// As [`Node::encode`], appended to `out`.
    pub fn encode_into(&self, out: &mut Vec<u8>) {
        let (m, l) = (self.master, self.last);
        let nums = [m.0, m.1, l.0, l.1, self.live, self.deleted, self.bytes];
        out.push(VERSION);
        for v in nums.into_iter().chain([self.fields.len() as u64]) {
            put_varint(out, v);
        }
        for f in &self.fields {
            put_varint(out, f.len() as u64);
            out.extend_from_slice(f);
        }
    }

    /// The inverse of [`Node::encode`]; None for any bytes encode never made
    /// (other version, truncation, non-minimal varints, trailing bytes).
    pub fn decode(b: &[u8]) -> Option<Node> {
        let mut rest = b.strip_prefix(&[VERSION])?;
        let mut nums = [0u64; 8];
        for n in &mut nums {
            *n = take_varint(&mut rest)?;
        }
        let [m0, m1, l0, l1, live, deleted, bytes, count] = nums;
        // Sized from `count` only as far as the bytes left could hold
        // (each field takes one at least): garbage could claim billions.
        let mut fields =
            Vec::with_capacity(usize::try_from(count).unwrap_or(usize::MAX).min(rest.len()));
        for _ in 0..count {
            let len = usize::try_from(take_varint(&mut rest)?).ok()?;
            let field = rest.get(..len)?;
            fields.push(field.to_vec());
            rest = &rest[len..];
        }
        let (master, last) = ((m0, m1), (l0, l1));
        let node = Node {
            master,
            fields,
            live,
            deleted,
            bytes,
            last,
        };
        rest.is_empty().then_some(node)
    }
}

/// Appends `v` as an LEB128 varint (7 bits a byte, low groups first).
fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push(v as u8 | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// Takes one varint off the front of `b`, accepting only the minimal form
/// `put_varint` writes so that decoding is the exact inverse of encoding.
fn take_varint(b: &mut &[u8]) -> Option<u64> {
    let mut v = 0u64;
    for shift in (0..64).step_by(7) {
        let (&byte, rest) = b.split_first()?;
        *b = rest;
        let part = u64::from(byte & 0x7f);
        // Bits past the 64th, or a final zero group, never come from put_varint.
        if (shift == 63 && part > 1) || (byte == 0 && shift > 0) {
            return None;
        }
        v |= part << shift;
        if byte & 0x80 == 0 {
            return Some(v);
        }
    }
    None
}

/// The 16-byte rax key of a master ID: ms big-endian then seq big-endian.
pub fn rax_key(id: Id) -> [u8; 16] {
    let mut k = [0u8; 16];
    k[..8].copy_from_slice(&id.0.to_be_bytes());
    k[8..].copy_from_slice(&id.1.to_be_bytes());
    k
}

/// Appendix B: the rax node count over the nodes' keys (root always counted: 0 keys -> 1, 1 key -> 2).
pub fn rax_nodes(keys: &[[u8; 16]]) -> u64 {
    let mut keys = keys.to_vec();
    keys.sort_unstable();
    keys.dedup();
    trie_nodes(&keys, 0)
}

/// Nodes of the compressed trie from the node at prefix length `depth`, which
/// all of `keys` (sorted, distinct) share. Keys all have 16 bytes, so none
/// ends inside another: a node is a leaf, a branch or a compressed run.
fn trie_nodes(keys: &[[u8; 16]], depth: usize) -> u64 {
    let (Some(first), Some(last)) = (keys.first(), keys.last()) else {
        return 1; // the root of an empty tree
    };
    if depth >= 16 {
        return 1;
    }
    if first[depth] == last[depth] {
        // One child: a compressed node runs to the next branch point or key end.
        let end = (depth + 1..16).find(|&i| first[i] != last[i]).unwrap_or(16);
        return 1 + trie_nodes(keys, end);
    }
    // A branch: one child per distinct next byte (grouped, as keys are sorted).
    let mut count = 1u64;
    let mut rest = keys;
    while let Some(head) = rest.first() {
        let n = rest.iter().take_while(|k| k[depth] == head[depth]).count();
        count = count.saturating_add(trie_nodes(&rest[..n], depth + 1));
        rest = &rest[n..];
    }
    count
}

/// The LIMIT `~` uses when none is given: 100 * max_entries, 10000 when that is 0, at most 1_000_000.
pub fn approx_limit(max_entries: u64) -> u64 {
    match max_entries.saturating_mul(100) {
        0 => 10_000,
        l => l.min(1_000_000),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    type Pairs<'a> = &'a [(&'a [u8], &'a [u8])];
    const TINY: Pairs = &[(b"a", b"1")];

    /// Appendix A's Stream, with each node's entries listed beside it (the
    /// server derives membership from ID ranges; a list is simpler here).
    #[derive(Default)]
    struct Sim {
        nodes: Vec<(Node, Vec<(Id, bool)>)>,
        len: u64,
        me: u64,
        mb: u64,
    }

    impl Sim {
        /// A stream of `n` tiny entries `1-0`..`n-0`.
        fn tiny(me: u64, mb: u64, n: u64) -> Sim {
            let mut s = Sim::default();
            (s.me, s.mb) = (me, mb);
            (0..n).for_each(|_| s.push());
            s
        }
        /// Appends a tiny entry after the highest ID so far.
        fn push(&mut self) {
            let ms = self.nodes.last().map_or(1, |(n, _)| n.last.0 + 1);
            self.xadd((ms, 0), TINY);
        }
        fn xadd(&mut self, id: Id, pairs: Pairs) {
            let (me, mb) = (self.me, self.mb);
            if !matches!(self.nodes.last(), Some((n, _)) if n.takes(pairs, me, mb)) {
                self.nodes.push((Node::start(id, pairs), Vec::new()));
            }
            let (n, es) = self.nodes.last_mut().expect("a node");
            n.add(id, pairs);
            es.push((id, false));
            self.len += 1;
        }
        fn xdel(&mut self, id: Id) {
            let live = |(_, es): &(Node, Vec<(Id, bool)>)| es.contains(&(id, false));
            let i = self.nodes.iter().position(live).expect("a live node");
            let (n, es) = &mut self.nodes[i];
            if n.live == 1 {
                self.nodes.remove(i); // XDEL of the last live entry frees the node
            } else {
                es.iter_mut().find(|e| e.0 == id).expect("the entry").1 = true;
                n.set_counts(n.live - 1, n.deleted + 1);
            }
            self.len -= 1;
        }
        /// MAXLEN (`minid` None) or MINID trim; limit 0 = unlimited.
        fn trim(&mut self, maxlen: u64, minid: Option<Id>, approx: bool, limit: u64) -> u64 {
            let mut removed = 0;
            while !self.nodes.is_empty() && (minid.is_some() || self.len > maxlen) {
                let (n, es) = &mut self.nodes[0];
                if limit != 0 && removed + n.live > limit {
                    break;
                }
                if minid.map_or(self.len - n.live >= maxlen, |m| n.last < m) {
                    (removed, self.len) = (removed + n.live, self.len - n.live);
                    self.nodes.remove(0);
                    continue;
                }
                if !approx {
                    let before = self.len;
                    for e in es.iter_mut() {
                        if minid.map_or(self.len <= maxlen, |m| e.0 >= m) {
                            break;
                        }
                        self.len -= u64::from(!e.1);
                        e.1 = true;
                    }
                    let d = before - self.len;
                    n.set_counts(n.live - d, n.deleted + d);
                    removed += d;
                }
                break;
            }
            removed
        }
    }

    #[test]
    fn sizes_by_hand() {
        assert_eq!((canon_int(b"0"), canon_int(b"-12")), (Some(0), Some(-12)));
        assert_eq!(canon_int(b"-9223372036854775808"), Some(i64::MIN));
        assert_eq!(canon_int(b"9223372036854775808"), None); // out of range
        for s in ["", "-0", "01", "+1", "-", "1a", "\u{b2}"] {
            assert_eq!(canon_int(s.as_bytes()), None, "{s}");
        }
        // "-0" is a 2-byte string (header 1, data 2, backlen 1); 200 bytes take
        // a 2-byte header and, at 202 > 127, a 2-byte backlen.
        assert_eq!((str_ele(b"-0"), str_ele(&[b'x'; 200])), (4, 204));
        // Master entry: header+end 7, live 0 (2), deleted 0 (2), field count 1
        // (2), "a" (1 + 1 + backlen 1 = 3), terminator (2) = 18. Entry 5-3,
        // short form: flags 2 (2), deltas 0 and 0 (2 + 2), value "1" stored as
        // an integer (2), lp-count 1+3 (2) = 10; live 0 -> 1 stays 2 bytes.
        let mut n = Node::start((5, 3), TINY);
        assert_eq!(n.bytes, 18);
        n.add((5, 3), TINY);
        assert_eq!((n.bytes, n.live, n.last), (28, 1, (5, 3)));
        // Live: the next tiny entry (raw size 2) starts a new node at
        // stream-node-max-bytes 30 (28 + 2 >= 30) but not at 31.
        assert!(!n.takes(TINY, 100, 30) && n.takes(TINY, 100, 31));
        // Other fields: flags 0, deltas, count, "b", "x", lp-count 2n+4.
        n.add((5, 4), &[(b"b", b"x")]);
        assert_eq!(n.bytes, 28 + 2 + 2 + 2 + 2 + 3 + 3 + 2);
    }

    #[test]
    fn byte_limits() {
        // Start 18; each entry of a 1000-byte value adds 2+2+2 + (2+1000+2) + 2
        // = 1012 bytes, raw size 1001. The 4th joins (3054 + 1001 = 4055 <
        // 4096), the 5th does not. Live, 12 entries: 3 radix-tree-keys at 4096
        // and 4056, 4 at 4055.
        let big: Pairs = &[(b"f", &[b'x'; 1000])];
        for (mb, keys, first) in [(4096, 3, 4066), (4056, 3, 4066), (4055, 4, 3054)] {
            let mut s = Sim::tiny(100, mb, 0);
            (1..=12).for_each(|i| s.xadd((i, 0), big));
            assert_eq!((s.nodes.len(), s.nodes[0].0.bytes), (keys, first), "{mb}");
        }
        // Live (node-max-entries 0, -bytes 2000): entries 193 and 385 start nodes.
        let s = Sim::tiny(0, 2000, 400);
        let lives: Vec<u64> = s.nodes.iter().map(|(n, _)| n.live).collect();
        assert_eq!(lives, [192, 192, 16]);
        let mut n = s.nodes[0].0.clone();
        n.set_counts(127, 65); // live 192 -> 127 saves a byte
        assert_eq!(n.bytes, s.nodes[0].0.bytes - 1);
        // 0 and anything above 1 GiB both mean 1 GiB.
        let mut n = Node::start((1, 0), &[]);
        n.bytes = (1 << 30) - 10;
        assert!(!n.takes(big, 0, 0) && !n.takes(big, 0, u64::MAX) && n.takes(TINY, 0, 0));
        n.bytes = u64::MAX; // saturates instead of overflowing
        assert!(!n.takes(TINY, 0, 0));
    }

    #[test]
    fn worked_examples() {
        // (node-max-entries, entries, [(entries added first, MAXLEN, LIMIT, XLEN)]);
        // LIMIT 0 here stands for an exact trim, every other step is `~`.
        let d = approx_limit(100);
        type Steps<'a> = &'a [(u64, u64, u64, u64)];
        let cases: [(u64, u64, Steps); 5] = [
            (100, 150, &[(1, 10, d, 51)]),
            (100, 1000, &[(0, 666, 0, 666), (0, 555, 0, 555)]),
            (10, 100, &[(1, 55, 30, 71), (1, 55, 30, 62)]),
            (1, 102, &[(0, 1, approx_limit(1), 2)]),
            (2, 3, &[(0, 0, 1, 3), (0, 0, 2, 1)]),
        ];
        for (me, n, steps) in cases {
            let mut s = Sim::tiny(me, 4096, n);
            for &(add, maxlen, limit, len) in steps {
                (0..add).for_each(|_| s.push());
                s.trim(maxlen, None, limit != 0, limit);
                assert_eq!(s.len, len, "node-max-entries {me}, {n} entries");
            }
            if n == 1000 {
                assert_eq!((s.trim(444, None, true, d), s.len), (55, 500));
                assert_eq!((s.trim(400, None, true, d), s.len), (100, 400));
            }
        }
        // Live, node-max-entries 10: XDEL 10-0; MINID ~ 11 removes 9 (the
        // tombstone is the node's last ID); MINID 15 removes 4; XLEN 16;
        // deleting 15..20 frees the second node: 1 radix-tree-key.
        let mut s = Sim::tiny(10, 4096, 30);
        s.xdel((10, 0));
        assert_eq!(s.trim(0, Some((11, 0)), true, approx_limit(10)), 9);
        assert_eq!((s.trim(0, Some((15, 0)), false, 0), s.len), (4, 16));
        (15..=20).for_each(|i| s.xdel((i, 0)));
        assert_eq!((s.len, s.nodes.len()), (10, 1));
    }

    #[test]
    fn rax_node_counts() {
        let (one, two) = (rax_key((1, 0)), rax_key((2, 0)));
        assert_eq!((rax_nodes(&[]), rax_nodes(&[one])), (1, 2));
        assert_eq!(rax_nodes(&[one, one]), 2);
        // Root, a 7-byte run, the branch, two 8-byte runs and two leaves.
        assert_eq!(rax_nodes(&[two, one]), 6);
        // Live: a stream with these 8 master IDs reports radix-tree-nodes 21.
        let ms = [1, 2, 3, 256, 1000, 1000, 1 << 32, 1 << 32];
        let seq = [0, 0, 0, 0, 5, 6, 0, 1];
        let keys: Vec<_> = ms.into_iter().zip(seq).map(rax_key).collect();
        assert_eq!(rax_nodes(&keys), 21);
        assert_eq!(rax_key((0x0102, 0x0304))[6..10], [1, 2, 0, 0]);
    }

    #[test]
    fn extremes_do_not_panic() {
        let mut n = Node::start((u64::MAX, u64::MAX), TINY);
        n.add((0, 0), TINY); // both deltas wrap to +1: small encodings
        assert_eq!(n.bytes, 28);
        n.set_counts(u64::MAX, u64::MAX);
        n.add((1 << 40, 7), &[]);
        assert_eq!(n.live, u64::MAX);
        assert!(!n.takes(&[], u64::MAX, 0));
        let limits = [0, 10, u64::MAX].map(approx_limit);
        assert_eq!(limits, [10_000, 1_000, 1_000_000]);
    }

    #[test]
    fn encode_decode() {
        let mut n = Node::start((1 << 50, 3), &[(b"name", b"v"), (b"", b"x")]);
        n.add((u64::MAX, u64::MAX), &[(b"name", b"v")]);
        n.set_counts(300, u64::MAX);
        let good = n.encode();
        assert_eq!(Node::decode(&good), Some(n));
        for cut in 0..good.len() {
            assert_eq!(Node::decode(&good[..cut]), None, "cut at {cut}");
        }
        let bad: [&[u8]; 5] = [
            &[good.as_slice(), &[0]].concat(),           // trailing byte
            &[&[2][..], &good[1..]].concat(),            // other version
            &[1, 0x80, 0],                               // 0 as an overlong varint
            &[&[1], &[0xff; 9][..], &[2]].concat(),      // past 64 bits
            &[1, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0x0f], // more fields than bytes
        ];
        assert!(bad.iter().all(|b| Node::decode(b).is_none()));
        // Every single-byte corruption: no panic, and whatever still decodes
        // re-encodes to exactly those bytes.
        for (i, v) in (0..good.len()).flat_map(|i| [0, 1, 2, 0x7f, 0x80, 0xff].map(|v| (i, v))) {
            let mut b = good.clone();
            b[i] = v;
            assert!(Node::decode(&b).is_none_or(|d| d.encode() == b));
        }
    }
}
