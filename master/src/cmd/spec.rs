//! What every layer may know of a command: its name, arity, flags, ACL
//! categories, key specs (Redis 7's begin-search and find-keys), tips and
//! docs, and what the write path needs to run it (its pre-read fields and,
//! for a blocking command, where its keys and timeout are). The command
//! table (`crate::command`) pairs each [`Meta`] with its handler.

use bytes::Bytes;

use crate::store::keys::Kind;

pub use super::flags::{acl, flag, ks};

/// Where a key spec's search begins.
#[derive(Debug, Clone, Copy)]
pub enum Begin {
    /// At this argument.
    Index(i32),
    /// After this keyword, searched from argument `startfrom` (negative:
    /// from the end, backwards).
    Keyword(&'static str, i32),
    /// Only the command knows.
    Unknown,
}

/// How a key spec finds its keys from where the search begins.
#[derive(Debug, Clone, Copy)]
pub enum Find {
    /// `lastkey` (relative to the start; negative: from the end), `step`,
    /// `limit` (with lastkey -1: 0 all, 2 half...).
    Range(i32, i32, i32),
    /// The count is at `keynumidx` (relative), keys from `firstkey`
    /// (relative to the count), every `step`.
    KeyNum(i32, i32, i32),
    /// Only the command knows.
    Unknown,
}

/// One key spec: its flags and where its keys are.
#[derive(Debug, Clone, Copy)]
pub struct KeySpec {
    /// [`ks`] flags.
    pub flags: u16,
    /// Where the search begins.
    pub begin: Begin,
    /// How keys are found from there.
    pub find: Find,
}

/// A key spec.
pub const fn key(flags: u16, begin: Begin, find: Find) -> KeySpec {
    KeySpec { flags, begin, find }
}

/// Begin at argument `i`.
pub const fn at(i: i32) -> Begin {
    Begin::Index(i)
}

/// Begin after `word`, searched from `from` (none of today's commands;
/// XREAD's STREAMS and GEORADIUS's STORE will).
#[allow(dead_code)]
pub const fn keyword(word: &'static str, from: i32) -> Begin {
    Begin::Keyword(word, from)
}

/// Keys in a range.
pub const fn range(last: i32, step: i32, limit: i32) -> Find {
    Find::Range(last, step, limit)
}

/// Keys after a count.
pub const fn keynum(idx: i32, first: i32, step: i32) -> Find {
    Find::KeyNum(idx, first, step)
}

impl KeySpec {
    /// Add the positions of this spec's keys in `a` (name at 0) to `out`,
    /// as Redis finds them: a spec whose keys are past the arguments gives
    /// none; `None` when its count is not a count.
    fn positions(&self, a: &[Bytes], out: &mut Vec<(usize, u16)>) -> Option<()> {
        let argc = a.len() as i64;
        let first = match self.begin {
            Begin::Index(i) => i64::from(i),
            Begin::Keyword(word, from) => {
                let from = i64::from(from);
                let (start, end) = if from > 0 {
                    (from, argc - 1)
                } else {
                    (argc + from, 1)
                };
                let mut i = start;
                let found = loop {
                    if i == end || i >= argc || i < 1 {
                        break None;
                    }
                    if a[i as usize].eq_ignore_ascii_case(word.as_bytes()) {
                        break Some(i + 1);
                    }
                    i += if start <= end { 1 } else { -1 };
                };
                match found {
                    Some(f) => f,
                    None => return Some(()),
                }
            }
            Begin::Unknown => return Some(()),
        };
        let (first, last, step) = match self.find {
            Find::Range(last, step, limit) => {
                let last = i64::from(last);
                let last = if last >= 0 {
                    first + last
                } else if limit == 0 {
                    argc + last
                } else {
                    first + ((argc - first) / i64::from(limit) + last)
                };
                (first, last, i64::from(step))
            }
            Find::KeyNum(idx, first_key, step) => {
                let n = rocksync_protocol::parse_i64(
                    a.get(usize::try_from(first + i64::from(idx)).ok()?)?,
                )
                .filter(|n| *n >= 0)?;
                let first = first + i64::from(first_key);
                // Keys past the arguments are not there: a count of 2^62
                // walks no further than the line (it would hang a pre-read).
                let last = first.saturating_add(n).saturating_sub(1).min(argc - 1);
                (first, last, i64::from(step))
            }
            Find::Unknown => return Some(()),
        };
        let mut i = first;
        while i <= last {
            // Past the arguments (a variadic command called short): no
            // key there; the command reports the error.
            if i >= 1 && i < argc {
                out.push((i as usize, self.flags));
            }
            i += step.max(1);
        }
        Some(())
    }
}

/// The key specs many commands share, by what they do with their keys.
pub mod shape {
    use super::{at, key, keynum, ks, range, KeySpec};

    /// Reads its key's data.
    pub const READS: &[KeySpec] = &[key(ks::RO | ks::ACCESS, at(1), range(0, 1, 0))];
    /// Reads and changes its key's data.
    pub const UPDATES: &[KeySpec] = &[key(ks::RW | ks::ACCESS | ks::UPDATE, at(1), range(0, 1, 0))];
    /// Changes its key's data without returning it.
    pub const CHANGES: &[KeySpec] = &[key(ks::RW | ks::UPDATE, at(1), range(0, 1, 0))];
    /// Reads about its key (a length, a type), not its data.
    pub const PEEKS: &[KeySpec] = &[key(ks::RO, at(1), range(0, 1, 0))];
    /// Adds to its key.
    pub const INSERTS: &[KeySpec] = &[key(ks::RW | ks::INSERT, at(1), range(0, 1, 0))];
    /// Removes from its key.
    pub const DELETES: &[KeySpec] = &[key(ks::RW | ks::DELETE, at(1), range(0, 1, 0))];
    /// Removes from its key and returns what it removed.
    pub const POPS: &[KeySpec] = &[key(ks::RW | ks::ACCESS | ks::DELETE, at(1), range(0, 1, 0))];
    /// Reads about the key after a subcommand (OBJECT).
    pub const PEEKS_SECOND: &[KeySpec] = &[key(ks::RO, at(2), range(0, 1, 0))];
    /// Reads `numkeys key [key ...]`.
    pub const READS_COUNTED: &[KeySpec] = &[key(ks::RO | ks::ACCESS, at(1), keynum(0, 1, 1))];
    /// Moves from its first key to its second.
    pub const MOVES: &[KeySpec] = &[
        key(ks::RW | ks::ACCESS | ks::DELETE, at(1), range(0, 1, 0)),
        key(ks::RW | ks::INSERT, at(2), range(0, 1, 0)),
    ];
    /// Reads every key it names.
    pub const READS_ALL: &[KeySpec] = &[key(ks::RO | ks::ACCESS, at(1), range(-1, 1, 0))];
    /// Pops from every key it names before a timeout.
    pub const POPS_ALL_BUT_LAST: &[KeySpec] = &[key(
        ks::RW | ks::ACCESS | ks::DELETE,
        at(1),
        range(-2, 1, 0),
    )];
    /// Reads about every key it names.
    pub const PEEKS_ALL: &[KeySpec] = &[key(ks::RO, at(1), range(-1, 1, 0))];
    /// Stores into its first key what it reads of `numkeys key [key ...]`.
    /// EVAL's keys: a count at 2, then the keys (a script may do
    /// anything with them).
    pub const SCRIPT_KEYS: &[KeySpec] = &[key(
        ks::RW | ks::ACCESS | ks::UPDATE,
        at(2),
        keynum(0, 1, 1),
    )];
    /// EVAL_RO's keys: read only.
    pub const SCRIPT_KEYS_RO: &[KeySpec] = &[key(ks::RO | ks::ACCESS, at(2), keynum(0, 1, 1))];
    /// Both key ranges of a ZUNIONSTORE-like command.
    pub const STORES_COUNTED: &[KeySpec] = &[
        key(ks::OW | ks::UPDATE, at(1), range(0, 1, 0)),
        key(ks::RO | ks::ACCESS, at(2), keynum(0, 1, 1)),
    ];
}

/// Where a blocking command's keys and timeout are.
#[derive(Debug, Clone, Copy)]
pub enum BlockKeys {
    /// `cmd key [key ...] timeout` (BLPOP, BZPOPMIN...).
    Many,
    /// `cmd source destination ... timeout`: waits on the source (BLMOVE,
    /// BRPOPLPUSH).
    One,
    /// `cmd timeout numkeys key [key ...] ...` (BLMPOP, BZMPOP).
    NumKeys,
    /// `cmd ... [BLOCK ms] ... STREAMS key [key ...] id [id ...]` (XREAD,
    /// XREADGROUP): blocks only with BLOCK.
    Streams,
}

/// Re-exported for the tables: the names the generator of a table reads
/// best (`BlockKeys::MANY`).
#[allow(non_upper_case_globals)]
impl BlockKeys {
    /// [`BlockKeys::Many`].
    pub const MANY: Self = Self::Many;
    /// [`BlockKeys::One`].
    pub const ONE: Self = Self::One;
    /// [`BlockKeys::NumKeys`].
    pub const NUMKEYS: Self = Self::NumKeys;
    /// [`BlockKeys::Streams`].
    pub const STREAMS: Self = Self::Streams;
}

impl BlockKeys {
    /// The keys waited on, in order, and the timeout argument (the arity
    /// was checked: every form has its timeout).
    pub fn split(self, a: &[Bytes]) -> (&[Bytes], &Bytes) {
        match self {
            Self::Streams => (crate::cmd::xstream::stream_keys(a).0, &a[0]),
            Self::One => (&a[1..2], &a[a.len() - 1]),
            Self::NumKeys => {
                let n = rocksync_protocol::parse_i64(&a[2])
                    .unwrap_or(0)
                    .clamp(0, a.len() as i64 - 3) as usize;
                (&a[3..3 + n], &a[1])
            }
            Self::Many => (&a[1..a.len() - 1], &a[a.len() - 1]),
        }
    }

    /// The keys waited on, in order.
    pub fn keys(self, a: &[Bytes]) -> &[Bytes] {
        self.split(a).0
    }

    /// How long the command waits when it finds nothing: `None` when it
    /// does not wait at all (XREAD without BLOCK), `Some(None)` for ever.
    pub fn wait(self, a: &[Bytes]) -> Option<Option<std::time::Duration>> {
        match self {
            Self::Streams => crate::cmd::xstream::stream_keys(a)
                .1
                .map(|ms| (ms > 0).then(|| std::time::Duration::from_millis(ms))),
            _ => Some(crate::cmd::timeout_arg(self.split(a).1).ok().flatten()),
        }
    }

    /// The command narrowed to `key`, one of its keys: what serves a
    /// client waiting on `key` once it has data.
    pub fn narrow(self, a: &[Bytes], key: &Bytes) -> Vec<Bytes> {
        match self {
            Self::Streams => crate::cmd::xstream::narrow(a, key),
            Self::One => a.to_vec(),
            Self::NumKeys => {
                let (keys, _) = self.split(a);
                let mut v = vec![
                    a[0].clone(),
                    a[1].clone(),
                    Bytes::from_static(b"1"),
                    key.clone(),
                ];
                v.extend_from_slice(&a[3 + keys.len()..]);
                v
            }
            Self::Many => vec![a[0].clone(), key.clone(), a[a.len() - 1].clone()],
        }
    }
}

/// The fields or members a write to one collection names: read before it
/// writes them (a hint: a malformed command yields what it can).
pub type FieldsFn = for<'a> fn(&'a [Bytes]) -> Vec<&'a Bytes>;

/// The usual shapes of [`FieldsFn`].
pub mod fields {
    use bytes::Bytes;

    /// `key field value [field value ...]`.
    pub fn pairs(a: &[Bytes]) -> Vec<&Bytes> {
        a.get(2..).unwrap_or(&[]).iter().step_by(2).collect()
    }
    /// `key field ...`.
    pub fn first(a: &[Bytes]) -> Vec<&Bytes> {
        a.get(2).into_iter().collect()
    }
    /// `key increment member`.
    pub fn second(a: &[Bytes]) -> Vec<&Bytes> {
        a.get(3).into_iter().collect()
    }
    /// `key member [member ...]`.
    pub fn all(a: &[Bytes]) -> Vec<&Bytes> {
        a.get(2..).unwrap_or(&[]).iter().collect()
    }
    /// `key [NX|XX|GT|LT|CH|INCR ...] score member [score member ...]`.
    pub fn zadd(a: &[Bytes]) -> Vec<&Bytes> {
        let rest = a.get(2..).unwrap_or(&[]);
        let options = rest
            .iter()
            .take_while(|o| {
                ["nx", "xx", "gt", "lt", "ch", "incr"]
                    .iter()
                    .any(|n| o.eq_ignore_ascii_case(n.as_bytes()))
            })
            .count();
        rest[options..].iter().skip(1).step_by(2).collect()
    }

    /// The names the tables use.
    pub const PAIRS: super::FieldsFn = pairs;
    /// See [`first`].
    pub const FIRST: super::FieldsFn = first;
    /// See [`second`].
    pub const SECOND: super::FieldsFn = second;
    /// See [`all`].
    pub const ALL: super::FieldsFn = all;
    /// See [`zadd`].
    pub const ZADD: super::FieldsFn = zadd;
}

/// A command's keys found by the command itself (where a key spec says
/// `unknown`): their positions.
pub type GetKeysFn = fn(&[Bytes]) -> Vec<usize>;

/// COMMAND DOCS: the group, the version that brought it, a summary.
#[derive(Debug, Clone, Copy)]
pub struct Doc {
    /// Redis's group (`string`, `sorted-set`, `server`...).
    pub group: &'static str,
    /// The Redis version it first appeared in.
    pub since: &'static str,
    /// One line.
    pub summary: &'static str,
}

/// Everything about a command but its handler.
#[derive(Debug, Clone, Copy)]
pub struct Meta {
    /// Lowercase name; a subcommand is `parent|sub`.
    pub name: &'static str,
    /// Redis arity: n exactly, or -n for at least n (name included).
    pub arity: i32,
    /// [`flag`]s.
    pub flags: u64,
    /// [`acl`] categories beyond those its flags imply.
    pub acl: u32,
    /// Where its keys are.
    pub keys: &'static [KeySpec],
    /// Redis's tips for clients and proxies.
    pub tips: &'static [&'static str],
    /// COMMAND DOCS.
    pub doc: Doc,
    /// A blocking command: the kind it waits on and where its keys are.
    pub block: Option<(Kind, BlockKeys)>,
    /// A field write: the collection's kind and the fields it names.
    pub fields: Option<(Kind, FieldsFn)>,
    /// Finds the keys its key specs cannot.
    pub getkeys: Option<GetKeysFn>,
}

/// A command's metadata: name, arity, flags, categories beyond the
/// implied ones.
pub const fn cmd(name: &'static str, arity: i32, flags: u64, acl: u32) -> Meta {
    Meta {
        name,
        arity,
        flags,
        acl,
        keys: &[],
        tips: &[],
        doc: Doc {
            group: "server",
            since: "",
            summary: "",
        },
        block: None,
        fields: None,
        getkeys: None,
    }
}

impl Meta {
    /// With key specs.
    pub const fn keys(mut self, keys: &'static [KeySpec]) -> Self {
        self.keys = keys;
        self
    }
    /// With tips.
    pub const fn tips(mut self, tips: &'static [&'static str]) -> Self {
        self.tips = tips;
        self
    }
    /// With docs.
    pub const fn doc(
        mut self,
        group: &'static str,
        since: &'static str,
        summary: &'static str,
    ) -> Self {
        self.doc = Doc {
            group,
            since,
            summary,
        };
        self
    }
    /// A blocking command waiting on keys of `kind`.
    pub const fn blocks(mut self, kind: Kind, keys: BlockKeys) -> Self {
        self.block = Some((kind, keys));
        self
    }
    /// A field write to a collection of `kind`.
    pub const fn fields(mut self, kind: Kind, f: FieldsFn) -> Self {
        self.fields = Some((kind, f));
        self
    }
    /// Keys the command finds itself.
    pub const fn getkeys(mut self, f: GetKeysFn) -> Self {
        self.getkeys = Some(f);
        self
    }

    /// True when it has every flag of `f`.
    pub fn has(&self, f: u64) -> bool {
        self.flags & f == f
    }

    /// True when `argc` (name included) fits the arity.
    pub fn arity_ok(&self, argc: usize) -> bool {
        let argc = argc as i64;
        let arity = i64::from(self.arity);
        if arity >= 0 {
            argc == arity
        } else {
            argc >= -arity
        }
    }

    /// Its ACL categories: those its flags imply (as Redis derives them)
    /// and its own.
    pub fn categories(&self) -> u32 {
        let mut c = self.acl;
        for (f, cat) in [
            (flag::WRITE, acl::WRITE),
            (flag::ADMIN, acl::ADMIN | acl::DANGEROUS),
            (flag::PUBSUB, acl::PUBSUB),
            (flag::FAST, acl::FAST),
            (flag::BLOCKING, acl::BLOCKING),
        ] {
            if self.has(f) {
                c |= cat;
            }
        }
        if self.has(flag::READONLY) && c & acl::SCRIPTING == 0 {
            c |= acl::READ;
        }
        if c & acl::FAST == 0 {
            c |= acl::SLOW;
        }
        c
    }

    /// Redis's first key, last key and step (COMMAND's legacy range),
    /// derived from the key specs as Redis derives them: a lone index and
    /// range spec as it is; otherwise the span of the consecutive,
    /// step-one index and range specs (a negative last key wins).
    pub fn legacy_range(&self) -> (i32, i32, i32) {
        let abs = |i: i32, last: i32| if last >= 0 { i + last } else { last };
        if let [KeySpec {
            begin: Begin::Index(i),
            find: Find::Range(last, step, _),
            ..
        }] = self.keys
        {
            return (*i, abs(*i, *last), *step);
        }
        let (mut first, mut last_key, mut prev) = (i32::MAX, 0i32, 0i32);
        for k in self.keys {
            let (Begin::Index(i), Find::Range(last, 1, _)) = (k.begin, k.find) else {
                continue;
            };
            if prev != 0 && prev != i - 1 {
                continue;
            }
            first = first.min(i);
            // Compared unsigned, as Redis does: a negative last key (from
            // the end) is past every positive one.
            last_key = (last_key as u32).max(abs(i, last) as u32) as i32;
            prev = last_key;
        }
        if first == i32::MAX {
            (0, 0, 0)
        } else {
            (first, last_key, 1)
        }
    }

    /// The positions of its key arguments in `a` (name at 0), with their
    /// key spec flags, in key spec order, then those the command finds
    /// itself; `None` for arguments its specs cannot read (a bad count).
    pub fn key_positions(&self, a: &[Bytes]) -> Option<Vec<(usize, u16)>> {
        // A spec that may miss keys (INCOMPLETE) leaves them all to the
        // command's own finder, as Redis does (MIGRATE's KEYS).
        if let (Some(f), Some(first)) = (self.getkeys, self.keys.first()) {
            if self.keys.iter().any(|k| k.flags & ks::INCOMPLETE != 0) {
                return Some(f(a).into_iter().map(|p| (p, first.flags)).collect());
            }
        }
        let mut out = Vec::new();
        for k in self.keys {
            k.positions(a, &mut out)?;
        }
        if let Some(f) = self.getkeys {
            let flags = self
                .keys
                .iter()
                .rev()
                .find(|k| matches!(k.begin, Begin::Unknown))
                .map_or(0, |k| k.flags);
            out.extend(f(a).into_iter().map(|p| (p, flags)));
        }
        Some(out)
    }

    /// Its key arguments in `a` (none when they cannot be read): what the
    /// write path pre-reads.
    pub fn key_args<'a>(&self, a: &'a [Bytes]) -> impl Iterator<Item = &'a Bytes> {
        // The common case, one key at a fixed place, without allocating.
        let single = match self.keys {
            [KeySpec {
                begin: Begin::Index(i),
                find: Find::Range(0, _, _),
                ..
            }] if self.getkeys.is_none() => Some(a.get(*i as usize)),
            _ => None,
        };
        let many = match single {
            Some(_) => Vec::new(),
            None => self.key_positions(a).unwrap_or_default(),
        };
        single
            .flatten()
            .into_iter()
            .chain(many.into_iter().filter_map(move |(p, _)| a.get(p)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(s: &str) -> Vec<Bytes> {
        s.split(' ').map(|a| Bytes::from(a.to_owned())).collect()
    }

    fn keys(m: &Meta, s: &str) -> Vec<String> {
        keys_opt(m, s).expect("readable keys")
    }

    fn keys_opt(m: &Meta, s: &str) -> Option<Vec<String>> {
        let a = line(s);
        m.key_positions(&a).map(|v| {
            v.into_iter()
                .map(|(p, _)| String::from_utf8_lossy(&a[p]).into_owned())
                .collect()
        })
    }

    #[test]
    fn keys_are_found_as_their_specs_say() {
        const MSET: Meta =
            cmd("mset", -3, flag::WRITE, 0).keys(&[key(ks::OW, at(1), range(-1, 2, 0))]);
        let mset = MSET;
        assert_eq!(keys(&mset, "mset a 1 b 2"), ["a", "b"]);
        assert_eq!(mset.legacy_range(), (1, -1, 2));
        const ZSTORE: Meta = cmd("zunionstore", -4, flag::WRITE, 0).keys(&[
            key(ks::OW, at(1), range(0, 1, 0)),
            key(ks::RO, at(2), keynum(0, 1, 1)),
        ]);
        let zstore = ZSTORE;
        assert_eq!(
            keys(&zstore, "zunionstore d 2 a b WEIGHTS 1 2"),
            ["d", "a", "b"]
        );
        assert_eq!(zstore.legacy_range(), (1, 1, 1));
        // A count that is not one: the specs cannot be read.
        assert_eq!(keys_opt(&zstore, "zunionstore d x a"), None);
        assert_eq!(keys_opt(&zstore, "zunionstore d -1 a"), None);
        // Keys past the arguments are not there.
        assert_eq!(keys(&zstore, "zunionstore d 5 a"), ["d", "a"]);
        // Hostile counts end at the line's end, at once.
        for n in [i64::MAX.to_string(), (1u64 << 62).to_string()] {
            let text = format!("zunionstore d {n} a b");
            assert_eq!(keys(&zstore, &text), ["d", "a", "b"]);
            assert_eq!(zstore.key_args(&line(&text)).count(), 3);
        }
        const AFTER: Meta =
            cmd("x", -2, 0, 0).keys(&[key(ks::RO, keyword("STREAMS", 1), range(-1, 1, 2))]);
        let after = AFTER;
        assert_eq!(keys(&after, "x COUNT 2 STREAMS a b 0 0"), ["a", "b"]);
        assert_eq!(keys(&after, "x COUNT 2"), Vec::<String>::new());
        const PAIR: Meta = cmd("smove", 4, flag::WRITE, 0).keys(&[
            key(ks::RW, at(1), range(0, 1, 0)),
            key(ks::RW, at(2), range(0, 1, 0)),
        ]);
        let pair = PAIR;
        assert_eq!(pair.legacy_range(), (1, 2, 1));
        assert_eq!(
            pair.key_args(&line("smove a b m")).collect::<Vec<_>>(),
            [&Bytes::from("a"), &Bytes::from("b")]
        );
    }

    #[test]
    fn a_blocking_command_splits_into_keys_and_timeout() {
        let a = line("blmpop 5 2 x y LEFT COUNT 3");
        let (keys, timeout) = BlockKeys::NumKeys.split(&a);
        assert_eq!(keys, &a[3..5]);
        assert_eq!(timeout, "5");
        assert_eq!(
            BlockKeys::NumKeys.narrow(&a, &Bytes::from("y")),
            line("blmpop 5 1 y LEFT COUNT 3")
        );
        let b = line("blpop x y 0");
        assert_eq!(BlockKeys::Many.split(&b).0, &b[1..3]);
        assert_eq!(
            BlockKeys::Many.narrow(&b, &Bytes::from("y")),
            line("blpop y 0")
        );
        let c = line("blmove s d LEFT RIGHT 1");
        assert_eq!(BlockKeys::One.split(&c), (&c[1..2], &c[5]));
    }

    #[test]
    fn zadd_fields_skip_its_options() {
        let a = line("zadd z NX CH 1 a 2 b");
        assert_eq!(fields::zadd(&a), [&a[5], &a[7]]);
        assert_eq!(fields::pairs(&line("hset h f v g w")).len(), 2);
    }
}
