//! Key commands: DEL, EXISTS, TYPE, SCAN/KEYS, RENAME, COPY, FLUSHALL,
//! OBJECT, and the SCAN of collections.

use bytes::Bytes;
use rocksync_protocol::{Command, Reply};

use super::{int_arg, lower, tri, typed, ReadCtx, View, WriteCtx, WriteOp, SYNTAX};
use crate::error::Result;
use crate::store::keys::{self, Kind, Meta};
use crate::store::Cf;

/// DEL / UNLINK key [key ...].
struct Del {
    keys: Vec<Bytes>,
}

pub(crate) fn del(a: &[Bytes]) -> Result<Box<dyn WriteOp>, Reply> {
    Ok(Box::new(Del {
        keys: a[1..].to_vec(),
    }))
}

impl WriteOp for Del {
    fn execute(&self, c: &mut WriteCtx<'_>) -> Result<Reply> {
        let mut n = 0;
        for k in &self.keys {
            if c.live_header_mut(k)?.is_some() {
                c.emit(Command::KDel, k, Bytes::new(), 0)?;
                n += 1;
            }
        }
        Ok(Reply::Integer(n))
    }
}

pub(crate) fn exists(c: &ReadCtx<'_>, a: &[Bytes]) -> Result<Reply> {
    let mut n = 0;
    for k in &a[1..] {
        n += i64::from(c.live_header(k)?.is_some());
    }
    Ok(Reply::Integer(n))
}

pub(crate) fn type_(c: &ReadCtx<'_>, a: &[Bytes]) -> Result<Reply> {
    let name = c.live_header(&a[1])?.map_or("none", |m| m.kind.name());
    Ok(Reply::Simple(name.to_owned()))
}

/// Redis's glob: `*`, `?`, `[abc]`, `[^a]`, `[a-z]`, `\x`.
pub fn glob_match(pattern: &[u8], s: &[u8]) -> bool {
    let (mut p, mut i) = (0, 0);
    let (mut star_p, mut star_i) = (None, 0);
    while i < s.len() {
        if p < pattern.len() {
            match pattern[p] {
                b'*' => {
                    star_p = Some(p);
                    star_i = i;
                    p += 1;
                    continue;
                }
                b'?' => {
                    p += 1;
                    i += 1;
                    continue;
                }
                b'[' => {
                    if let Some((matched, next)) = class_match(pattern, p, s[i]) {
                        if matched {
                            p = next;
                            i += 1;
                            continue;
                        }
                    }
                }
                b'\\' if p + 1 < pattern.len() && pattern[p + 1] == s[i] => {
                    p += 2;
                    i += 1;
                    continue;
                }
                b'\\' if p + 1 < pattern.len() => {}
                c if c == s[i] => {
                    p += 1;
                    i += 1;
                    continue;
                }
                _ => {}
            }
        }
        match star_p {
            Some(sp) => {
                p = sp + 1;
                star_i += 1;
                i = star_i;
            }
            None => return false,
        }
    }
    pattern[p..].iter().all(|&c| c == b'*')
}

/// Match `c` against the class starting at `pattern[p] == '['`: whether it
/// matched and where the class ends.
fn class_match(pattern: &[u8], p: usize, c: u8) -> Option<(bool, usize)> {
    let mut j = p + 1;
    let negate = pattern.get(j) == Some(&b'^');
    if negate {
        j += 1;
    }
    let mut matched = false;
    loop {
        let &pc = pattern.get(j)?;
        if pc == b']' {
            break;
        }
        if pc == b'\\' && j + 1 < pattern.len() {
            matched |= pattern[j + 1] == c;
            j += 2;
        } else if pattern.get(j + 1) == Some(&b'-')
            && j + 2 < pattern.len()
            && pattern[j + 2] != b']'
        {
            let (lo, hi) = (pc.min(pattern[j + 2]), pc.max(pattern[j + 2]));
            matched |= (lo..=hi).contains(&c);
            j += 3;
        } else {
            matched |= pc == c;
            j += 1;
        }
    }
    Some((matched != negate, j + 1))
}

/// Parsed `[MATCH p] [COUNT n] [TYPE t]`.
struct ScanOpts {
    pattern: Option<Bytes>,
    count: usize,
    kind: Option<Vec<u8>>,
}

fn scan_opts(a: &[Bytes], with_type: bool) -> Result<ScanOpts, Reply> {
    let mut o = ScanOpts {
        pattern: None,
        count: 10,
        kind: None,
    };
    let mut i = 0;
    while i < a.len() {
        let v = a.get(i + 1).ok_or_else(|| Reply::error(SYNTAX))?;
        match lower(&a[i]).as_slice() {
            b"match" => o.pattern = Some(v.clone()),
            b"count" => {
                let n = int_arg(v)?;
                if n < 1 {
                    return Err(Reply::error(SYNTAX));
                }
                o.count = n as usize;
            }
            b"type" if with_type => o.kind = Some(lower(v)),
            _ => return Err(Reply::error(SYNTAX)),
        }
        i += 2;
    }
    Ok(o)
}

/// The key a cursor argument resumes after (`None`: from the start).
pub(crate) fn cursor_start(c: &ReadCtx<'_>, arg: &[u8]) -> Result<Option<Bytes>, Reply> {
    let invalid = || Reply::error("ERR invalid cursor");
    let n: u64 = std::str::from_utf8(arg)
        .ok()
        .and_then(|s| s.parse().ok())
        .ok_or_else(invalid)?;
    if n == 0 {
        return Ok(None);
    }
    c.cursors.load(n).map(Some).ok_or_else(invalid)
}

/// `[cursor, items]`, saving `last` when the scan stopped early.
pub(crate) fn scan_reply(c: &ReadCtx<'_>, last: Option<Bytes>, items: Vec<Reply>) -> Reply {
    let cursor = last.map_or(0, |k| c.cursors.save(k));
    Reply::Array(vec![
        Reply::Bulk(Bytes::from(cursor.to_string())),
        Reply::Array(items),
    ])
}

/// The key right after `k` in byte order.
pub(crate) fn successor(k: &[u8]) -> Vec<u8> {
    let mut v = k.to_vec();
    v.push(0);
    v
}

pub(crate) fn scan(c: &ReadCtx<'_>, a: &[Bytes]) -> Result<Reply> {
    let start = tri!(cursor_start(c, &a[1]));
    let o = tri!(scan_opts(&a[2..], true));
    let from = start.map_or_else(Vec::new, |k| successor(&k));
    let mut out = Vec::new();
    let (mut seen, mut last) = (0, None);
    c.scan(Cf::Meta, &[], &from, &mut |k, v| {
        if seen == o.count {
            return false;
        }
        seen += 1;
        last = Some(Bytes::copy_from_slice(k));
        let live = Meta::decode(v).filter(|m| !m.is_expired(c.now_ms));
        if let Some(m) = live {
            let type_ok = o
                .kind
                .as_deref()
                .is_none_or(|t| t == m.kind.name().as_bytes());
            let match_ok = o.pattern.as_deref().is_none_or(|p| glob_match(p, k));
            if type_ok && match_ok {
                out.push(Reply::Bulk(Bytes::copy_from_slice(k)));
            }
        }
        true
    })?;
    // Stopped by the count: more may follow.
    let more = if seen == o.count { last } else { None };
    Ok(scan_reply(c, more, out))
}

pub(crate) fn keys(c: &ReadCtx<'_>, a: &[Bytes]) -> Result<Reply> {
    let mut out = Vec::new();
    c.scan(Cf::Meta, &[], &[], &mut |k, v| {
        if Meta::decode(v).is_some_and(|m| !m.is_expired(c.now_ms)) && glob_match(&a[1], k) {
            out.push(Reply::Bulk(Bytes::copy_from_slice(k)));
        }
        true
    })?;
    Ok(Reply::Array(out))
}

pub(crate) fn dbsize(c: &ReadCtx<'_>, _a: &[Bytes]) -> Result<Reply> {
    let n = match c.pending {
        Some(b) => b.key_count(c.store)?,
        None => c.store.key_count()?,
    };
    Ok(Reply::Integer(n as i64))
}

pub(crate) fn randomkey(c: &ReadCtx<'_>, _a: &[Bytes]) -> Result<Reply> {
    let seed = (c.now_ms.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ 0xD1B5_4A32_D192_ED03).to_be_bytes();
    for from in [&seed[..], &[][..]] {
        let mut found = None;
        c.scan(Cf::Meta, &[], from, &mut |k, v| {
            if Meta::decode(v).is_some_and(|m| !m.is_expired(c.now_ms)) {
                found = Some(Bytes::copy_from_slice(k));
                return false;
            }
            true
        })?;
        if let Some(k) = found {
            return Ok(Reply::Bulk(k));
        }
    }
    Ok(Reply::Nil)
}

/// Emit the events that recreate `m` (the live value of `src`) at `dst`.
fn copy_value(c: &mut WriteCtx<'_>, src: &[u8], m: &Meta, dst: &[u8]) -> Result<()> {
    if m.kind != Kind::Stream {
        let v = super::dump::value_of(c, src, m)?;
        return super::dump::write_value(c, dst, &v, m.expire_ms);
    }
    // A stream: its length and header first (an empty stream is a value
    // too), then its entries, nodes and groups as they are stored.
    let mut v = m.size.to_be_bytes().to_vec();
    v.extend_from_slice(&m.value);
    c.emit(Command::XMeta, dst, v, 0)?;
    for (field, value) in super::sub_items(c, src, m)? {
        c.emit(Command::XPut, dst, keys::pack(&field, &value), 0)?;
    }
    if m.expire_ms != 0 {
        c.emit(Command::KExpireAt, dst, Bytes::new(), m.expire_ms)?;
    }
    Ok(())
}

/// RENAME / RENAMENX key newkey.
struct Rename {
    src: Bytes,
    dst: Bytes,
    /// RENAMENX: only when `dst` is free (1 or 0 rather than OK).
    nx: bool,
}

fn rename_to(a: &[Bytes], nx: bool) -> Result<Box<dyn WriteOp>, Reply> {
    Ok(Box::new(Rename {
        src: a[1].clone(),
        dst: a[2].clone(),
        nx,
    }))
}

pub(crate) fn rename(a: &[Bytes]) -> Result<Box<dyn WriteOp>, Reply> {
    rename_to(a, false)
}

pub(crate) fn renamenx(a: &[Bytes]) -> Result<Box<dyn WriteOp>, Reply> {
    rename_to(a, true)
}

impl WriteOp for Rename {
    fn execute(&self, c: &mut WriteCtx<'_>) -> Result<Reply> {
        let (src, dst, nx) = (&self.src, &self.dst, self.nx);
        if c.live_header_mut(src)?.is_none() {
            return Ok(Reply::error("ERR no such key"));
        }
        if src == dst {
            return Ok(if nx { Reply::Integer(0) } else { Reply::ok() });
        }
        // (an expired `dst` is deleted first, as any write does)
        if c.live_header_mut(dst)?.is_some() && nx {
            return Ok(Reply::Integer(0));
        }
        // O(1) whatever the value's size: `dst` takes the metadata, the
        // members stay where they are. The K_DEL finds nothing left; it
        // is what a WATCH or a client's cache of `src` sees.
        c.emit(Command::KMove, dst, src.clone(), 0)?;
        c.emit(Command::KDel, src, Bytes::new(), 0)?;
        Ok(if nx { Reply::Integer(1) } else { Reply::ok() })
    }
}

/// FLUSHALL / FLUSHDB [ASYNC|SYNC].
struct FlushAll;

pub(crate) fn flushall(a: &[Bytes]) -> Result<Box<dyn WriteOp>, Reply> {
    if a.len() > 2
        || a.get(1)
            .is_some_and(|o| !matches!(lower(o).as_slice(), b"sync" | b"async"))
    {
        return Err(Reply::error(SYNTAX));
    }
    Ok(Box::new(FlushAll))
}

impl WriteOp for FlushAll {
    fn execute(&self, c: &mut WriteCtx<'_>) -> Result<Reply> {
        c.emit(Command::FlushAll, b"", Bytes::new(), 0)?;
        Ok(Reply::ok())
    }
}

/// COPY source destination [DB n] [REPLACE]: one keyspace, so DB is 0.
struct Copy {
    src: Bytes,
    dst: Bytes,
    replace: bool,
}

pub(crate) fn copy(a: &[Bytes]) -> Result<Box<dyn WriteOp>, Reply> {
    let mut replace = false;
    let mut j = 3;
    while j < a.len() {
        match lower(&a[j]).as_slice() {
            b"replace" => replace = true,
            b"db" if j + 1 < a.len() => {
                let db = int_arg(&a[j + 1])?;
                if i32::try_from(db).is_err() {
                    return Err(Reply::error(
                        "ERR value is out of range, value must between -2147483648 and 2147483647",
                    ));
                }
                if db != 0 {
                    return Err(Reply::error("ERR DB index is out of range"));
                }
                j += 1;
            }
            _ => return Err(Reply::error(SYNTAX)),
        }
        j += 1;
    }
    if a[1] == a[2] {
        return Err(Reply::error(
            "ERR source and destination objects are the same",
        ));
    }
    Ok(Box::new(Copy {
        src: a[1].clone(),
        dst: a[2].clone(),
        replace,
    }))
}

impl WriteOp for Copy {
    fn execute(&self, c: &mut WriteCtx<'_>) -> Result<Reply> {
        let Some(m) = c.live_meta_mut(&self.src)? else {
            return Ok(Reply::Integer(0));
        };
        if c.live_header_mut(&self.dst)?.is_some() {
            if !self.replace {
                return Ok(Reply::Integer(0));
            }
            c.emit(Command::KDel, &self.dst, Bytes::new(), 0)?;
        }
        copy_value(c, &self.src, &m, &self.dst)?;
        Ok(Reply::Integer(1))
    }
}

/// Redis 7.0's default encoding limits, for OBJECT ENCODING.
const SMALL_ENTRIES: u64 = 128;
const SMALL_VALUE: usize = 64;
const INTSET_ENTRIES: u64 = 512;

/// The encoding Redis 7.0 would report for this value (it never converts
/// back, so a collection that was once large may say otherwise there).
fn encoding(c: &ReadCtx<'_>, key: &[u8], m: &Meta) -> Result<&'static str> {
    Ok(match m.kind {
        Kind::String => {
            let v = &m.value;
            let int = v.len() <= 20
                && rocksync_protocol::parse_i64(v)
                    .is_some_and(|n| n.to_string().as_bytes() == &v[..]);
            if int {
                "int"
            } else if v.len() <= 44 {
                "embstr"
            } else {
                "raw"
            }
        }
        Kind::List => "quicklist",
        Kind::Stream => "stream",
        Kind::Set => {
            let items = super::sub_items(c, key, m)?;
            let ints = items
                .iter()
                .all(|(f, _)| rocksync_protocol::parse_i64(f).is_some());
            if ints && m.size <= INTSET_ENTRIES {
                "intset"
            } else {
                "hashtable"
            }
        }
        Kind::Hash | Kind::ZSet => {
            let small = m.size <= SMALL_ENTRIES
                && super::sub_items(c, key, m)?.iter().all(|(f, v)| {
                    f.len() <= SMALL_VALUE && (m.kind == Kind::ZSet || v.len() <= SMALL_VALUE)
                });
            match (small, m.kind) {
                (true, _) => "listpack",
                (false, Kind::Hash) => "hashtable",
                _ => "skiplist",
            }
        }
    })
}

/// OBJECT ENCODING | FREQ | IDLETIME | REFCOUNT key, OBJECT HELP:
/// plausible answers for tools (rocksync keeps no access times).
pub(crate) fn object(c: &ReadCtx<'_>, a: &[Bytes]) -> Result<Reply> {
    let sub = lower(&a[1]);
    if sub == b"help" && a.len() == 2 {
        return Ok(Reply::Array(
            [
                "OBJECT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
                "ENCODING <key>",
                "    Return the kind of internal representation used in order to store the value",
                "    associated with a <key>.",
                "FREQ <key>",
                "    Return the access frequency index of the <key>. The returned integer is",
                "    proportional to the logarithm of the recent access frequency of the key.",
                "IDLETIME <key>",
                "    Return the idle time of the <key>, that is the approximated number of",
                "    seconds elapsed since the last access to the key.",
                "REFCOUNT <key>",
                "    Return the number of references of the value associated with the specified",
                "    <key>.",
                "HELP",
                "    Prints this help.",
            ]
            .into_iter()
            .map(|l| Reply::Simple(l.into()))
            .collect(),
        ));
    }
    if !matches!(
        sub.as_slice(),
        b"encoding" | b"freq" | b"idletime" | b"refcount"
    ) {
        return Ok(Reply::error(format!(
            "ERR unknown subcommand '{}'. Try OBJECT HELP.",
            String::from_utf8_lossy(&a[1])
        )));
    }
    if a.len() != 3 {
        return Ok(Reply::error(format!(
            "ERR wrong number of arguments for 'object|{}' command",
            String::from_utf8_lossy(&sub)
        )));
    }
    let Some(m) = c.live_meta(&a[2])? else {
        return Ok(Reply::Nil);
    };
    Ok(match sub.as_slice() {
        b"encoding" => Reply::Bulk(Bytes::from_static(encoding(c, &a[2], &m)?.as_bytes())),
        b"idletime" => Reply::Integer(0),
        b"refcount" => {
            // Redis shares the integers below 10000.
            let shared = m.kind == Kind::String
                && rocksync_protocol::parse_i64(&m.value)
                    .is_some_and(|n| (0..10_000).contains(&n) && n.to_string().as_bytes() == &m.value[..]);
            Reply::Integer(if shared { i64::from(i32::MAX) } else { 1 })
        }
        _ => Reply::error("ERR An LFU maxmemory policy is not selected, access frequency not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust."),
    })
}

/// The `*SCAN key cursor [MATCH p] [COUNT n]` of a collection: `render`
/// turns a (field, value) into reply items.
///
/// # Errors
/// RocksDB errors.
pub fn scan_collection(
    c: &ReadCtx<'_>,
    a: &[Bytes],
    kind: Kind,
    render: impl Fn(&Bytes, &[u8], &mut Vec<Reply>),
) -> Result<Reply> {
    let start = tri!(cursor_start(c, &a[2]));
    let (mut pattern, mut count) = (None, 10usize);
    let mut i = 3;
    while i < a.len() {
        let Some(v) = a.get(i + 1) else {
            return Ok(Reply::error(SYNTAX));
        };
        match lower(&a[i]).as_slice() {
            b"match" => pattern = Some(v.clone()),
            b"count" => match int_arg(v) {
                Ok(n) if n >= 1 => count = n as usize,
                Ok(_) => return Ok(Reply::error(SYNTAX)),
                Err(r) => return Ok(r),
            },
            _ => return Ok(Reply::error(SYNTAX)),
        }
        i += 2;
    }
    let Some(m) = tri!(typed(c, &a[1], kind)?) else {
        return Ok(scan_reply(c, None, Vec::new()));
    };
    let prefix = crate::store::keys::sub_prefix(m.owner(&a[1]), m.version);
    let mut from = prefix.clone();
    if let Some(last) = start {
        from = successor(&[&prefix[..], &last[..]].concat());
    }
    let (mut out, mut seen, mut last) = (Vec::new(), 0, None);
    c.scan(Cf::Sub, &prefix, &from, &mut |k, v| {
        if seen == count {
            return false;
        }
        seen += 1;
        let field = Bytes::copy_from_slice(&k[prefix.len()..]);
        if pattern.as_deref().is_none_or(|p| glob_match(p, &field)) {
            render(&field, v, &mut out);
        }
        last = Some(field);
        true
    })?;
    let more = if seen == count { last } else { None };
    Ok(scan_reply(c, more, out))
}

#[cfg(test)]
mod tests {
    use super::glob_match;

    #[test]
    fn globs() {
        assert!(glob_match(b"*", b"anything"));
        assert!(glob_match(b"h?llo", b"hello"));
        assert!(glob_match(b"h*llo", b"heeeello"));
        assert!(glob_match(b"h[ae]llo", b"hallo"));
        assert!(!glob_match(b"h[ae]llo", b"hillo"));
        assert!(glob_match(b"h[^e]llo", b"hallo"));
        assert!(!glob_match(b"h[^e]llo", b"hello"));
        assert!(glob_match(b"h[a-b]llo", b"hbllo"));
        assert!(glob_match(b"key:\\*", b"key:*"));
        assert!(!glob_match(b"key:\\*", b"key:a"));
        assert!(glob_match(b"a*b*c", b"aXXbYYc"));
        assert!(!glob_match(b"a*b*c", b"aXXbYY"));
        assert!(glob_match(b"", b""));
    }
}
