//! SORT and SORT_RO: the elements of a list, set or sorted set, sorted
//! numerically or by bytes (ALPHA), by themselves or by other keys (BY),
//! with LIMIT, GET patterns (`#`, `key*`, `hash*->field`) and STORE,
//! following Redis 7.0's `sortCommandGeneric`.

use std::cmp::Ordering;

use bytes::Bytes;
use rocksync_protocol::{Command, Reply};

use super::zset::walk;
use super::{int_arg, lower, sub_items, tri, ReadCtx, View, WriteCtx, WriteOp, SYNTAX, WRONGTYPE};
use crate::error::Result;
use crate::store::keys::{self, Kind};
use crate::store::Cf;

/// SORT's options, parsed alike for SORT and SORT_RO.
struct SortArgs {
    desc: bool,
    alpha: bool,
    limit: Option<(i64, i64)>,
    by: Option<Bytes>,
    /// BY a pattern without `*`: no sorting.
    dont_sort: bool,
    get: Vec<Bytes>,
    store: Option<Bytes>,
}

/// SORT's (or, `read_only`, SORT_RO's) options from `a[2]` on.
fn sort_args(a: &[Bytes], read_only: bool) -> Result<SortArgs, Reply> {
    let mut s = SortArgs {
        desc: false,
        alpha: false,
        limit: None,
        by: None,
        dont_sort: false,
        get: Vec::new(),
        store: None,
    };
    let mut j = 2;
    while j < a.len() {
        let left = a.len() - j - 1;
        match lower(&a[j]).as_slice() {
            b"asc" => s.desc = false,
            b"desc" => s.desc = true,
            b"alpha" => s.alpha = true,
            b"limit" if left >= 2 => {
                s.limit = Some((int_arg(&a[j + 1])?, int_arg(&a[j + 2])?));
                j += 2;
            }
            b"store" if !read_only && left >= 1 => {
                s.store = Some(a[j + 1].clone());
                j += 1;
            }
            b"by" if left >= 1 => {
                s.dont_sort = !a[j + 1].contains(&b'*');
                s.by = Some(a[j + 1].clone());
                j += 1;
            }
            b"get" if left >= 1 => {
                s.get.push(a[j + 1].clone());
                j += 1;
            }
            _ => return Err(Reply::error(SYNTAX)),
        }
        j += 1;
    }
    Ok(s)
}

/// The value a pattern names for `element`: `#` is the element itself,
/// `key*` a string key, `hash*->field` a hash field; `None` otherwise.
fn lookup(v: &impl View, pattern: &[u8], element: &Bytes) -> Result<Option<Bytes>> {
    if pattern == b"#" {
        return Ok(Some(element.clone()));
    }
    let Some(star) = pattern.iter().position(|&b| b == b'*') else {
        return Ok(None);
    };
    let rest = &pattern[star + 1..];
    let (post, field) = match rest.windows(2).position(|w| w == b"->") {
        Some(i) if i + 2 < rest.len() => (&rest[..i], Some(&rest[i + 2..])),
        _ => (rest, None),
    };
    let key = [&pattern[..star], &element[..], post].concat();
    let Some(m) = v.live_meta(&key)? else {
        return Ok(None);
    };
    match (field, m.kind) {
        (None, Kind::String) => Ok(Some(m.value)),
        (Some(f), Kind::Hash) => Ok(v
            .get(Cf::Sub, &keys::sub_key(m.owner(&key), m.version, f))?
            .map(Bytes::from)),
        _ => Ok(None),
    }
}

/// Redis's `strtod` reading of a sort weight: `None` when it is not a
/// whole number (an empty string counts as 0).
fn weight(b: &[u8]) -> Option<f64> {
    let s = std::str::from_utf8(b).ok()?.trim_start();
    if s.is_empty() {
        return Some(0.0);
    }
    let v: f64 = s.parse().ok()?;
    (!v.is_nan()).then_some(v)
}

/// Run SORT over `key`: the output elements (None: a GET that found
/// nothing), or an error reply.
fn run(v: &impl View, key: &[u8], s: &SortArgs) -> Result<Result<Vec<Option<Bytes>>, Reply>> {
    // (a long string's value is not read to be refused)
    let m = v.live_header(key)?;
    let kind = m.as_ref().map(|m| m.kind);
    if matches!(kind, Some(Kind::String | Kind::Hash | Kind::Stream)) {
        return Ok(Err(Reply::error(WRONGTYPE)));
    }
    let (mut dont_sort, mut alpha, mut by) = (s.dont_sort, s.alpha, s.by.as_ref());
    // An unsorted set is sorted by bytes when stored, so that what is
    // stored does not depend on a set's internal order.
    if dont_sort && kind == Some(Kind::Set) && s.store.is_some() {
        dont_sort = false;
        alpha = true;
        by = None;
    }
    let mut elements: Vec<Bytes> = match &m {
        None => Vec::new(),
        Some(m) if m.kind == Kind::ZSet => {
            let mut out = Vec::with_capacity(m.size as usize);
            walk(v, key, m, false, |member, _| {
                out.push(member);
                true
            })?;
            out
        }
        Some(m) if m.kind == Kind::Set => {
            sub_items(v, key, m)?.into_iter().map(|(f, _)| f).collect()
        }
        Some(m) => sub_items(v, key, m)?.into_iter().map(|(_, x)| x).collect(),
    };
    let n = elements.len() as i64;
    let (ls, lc) = s.limit.unwrap_or((0, -1));
    let mut start = ls.max(0);
    let mut end = if lc < 0 {
        n - 1
    } else {
        start.saturating_add(lc) - 1
    };
    if start >= n {
        start = n - 1;
        end = n - 2;
    }
    end = end.min(n - 1);
    if dont_sort {
        // Lists and sorted sets keep their order (reversed by DESC).
        if s.desc && kind != Some(Kind::Set) {
            elements.reverse();
        }
    } else {
        let mut keyed = Vec::with_capacity(elements.len());
        let mut bad = false;
        for e in elements {
            let by_value = match by {
                Some(p) => lookup(v, p, &e)?,
                None => Some(e.clone()),
            };
            let score = if alpha {
                0.0
            } else {
                match by_value.as_deref() {
                    Some(b) => weight(b).unwrap_or_else(|| {
                        bad = true;
                        0.0
                    }),
                    None => 0.0,
                }
            };
            keyed.push((e, by_value, score));
        }
        if bad {
            return Ok(Err(Reply::error(
                "ERR One or more scores can't be converted into double",
            )));
        }
        let by_pattern = by.is_some();
        keyed.sort_by(|x, y| {
            let cmp = if !alpha {
                x.2.partial_cmp(&y.2)
                    .unwrap_or(Ordering::Equal)
                    .then_with(|| x.0.cmp(&y.0))
            } else if by_pattern {
                match (&x.1, &y.1) {
                    (Some(p), Some(q)) => p.cmp(q),
                    (None, None) => Ordering::Equal,
                    (None, _) => Ordering::Less,
                    (_, None) => Ordering::Greater,
                }
            } else {
                x.0.cmp(&y.0)
            };
            if s.desc {
                cmp.reverse()
            } else {
                cmp
            }
        });
        elements = keyed.into_iter().map(|(e, _, _)| e).collect();
    }
    let mut out = Vec::new();
    if end >= start {
        for e in &elements[start as usize..=end as usize] {
            if s.get.is_empty() {
                out.push(Some(e.clone()));
            }
            for p in &s.get {
                out.push(lookup(v, p, e)?);
            }
        }
    }
    Ok(Ok(out))
}

fn reply(out: Vec<Option<Bytes>>) -> Reply {
    Reply::Array(
        out.into_iter()
            .map(|x| x.map_or(Reply::Nil, Reply::Bulk))
            .collect(),
    )
}

/// SORT key [BY pattern] [LIMIT offset count] [GET pattern ...]
/// [ASC|DESC] [ALPHA] [STORE destination].
struct Sort {
    key: Bytes,
    args: SortArgs,
}

pub(crate) fn sort(a: &[Bytes]) -> Result<Box<dyn WriteOp>, Reply> {
    Ok(Box::new(Sort {
        key: a[1].clone(),
        args: sort_args(a, false)?,
    }))
}

impl WriteOp for Sort {
    fn execute(&self, c: &mut WriteCtx<'_>) -> Result<Reply> {
        let out = tri!(run(&*c, &self.key, &self.args)?);
        let Some(dst) = &self.args.store else {
            return Ok(reply(out));
        };
        // STORE: the result replaces the destination as a list.
        c.replace(
            dst,
            Command::QPushBack,
            out.into_iter().map(Option::unwrap_or_default),
        )
    }
}

pub(crate) fn sort_ro(c: &ReadCtx<'_>, a: &[Bytes]) -> Result<Reply> {
    let s = tri!(sort_args(a, true));
    Ok(reply(tri!(run(c, &a[1], &s)?)))
}

/// SORT's keys beyond the sorted one: its STORE destination (the last
/// STORE, as Redis takes it), skipping the arguments of LIMIT, BY and
/// GET, where a "store" is a pattern, not the option.
pub(crate) fn keys(a: &[Bytes]) -> Vec<usize> {
    let mut store = None;
    let mut j = 2;
    while j < a.len() {
        let skip = match lower(&a[j]).as_slice() {
            b"limit" => 2,
            b"by" | b"get" => 1,
            b"store" if j + 1 < a.len() => {
                store = Some(j + 1);
                1
            }
            _ => 0,
        };
        j += 1 + skip;
    }
    store.into_iter().collect()
}
