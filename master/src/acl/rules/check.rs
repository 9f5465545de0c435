//! What a user's permissions let a command do: run at all, touch its
//! keys (with the access their key specs say), use its channels, and
//! SORT's BY and GET, which make keys from patterns.

use bytes::Bytes;

use super::{bit, Perms, READ, WRITE};
use crate::cmd::generic::glob_match;
use crate::cmd::spec::{ks, Meta};

/// What a command may not do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Denied {
    /// Run at all.
    Command,
    /// Touch the key at this argument.
    Key(usize),
    /// Touch the channel at this argument.
    Channel(usize),
}

impl Perms {
    /// May it run `meta` with `args` (name first)? `Ok` or what it may not.
    pub fn check(&self, meta: &Meta, args: &[Bytes]) -> Result<(), Denied> {
        if !meta.has(crate::cmd::spec::flag::NO_AUTH) {
            let i = bit(meta.name).ok_or(Denied::Command)?;
            // (a subcommand's first argument follows its name)
            let first = args.get(if meta.name.contains('|') { 2 } else { 1 });
            let by_first_arg = || {
                first.is_some_and(|a| {
                    self.first_args
                        .iter()
                        .any(|(c, f)| *c == i && f.eq_ignore_ascii_case(a))
                })
            };
            if !self.allowed[i] && !by_first_arg() {
                return Err(Denied::Command);
            }
        }
        if !self.all_keys {
            for (pos, flags) in meta.key_positions(args).unwrap_or_default() {
                if let Some(key) = args.get(pos) {
                    if !self.may_touch_key(key, flags) {
                        return Err(Denied::Key(pos));
                    }
                }
            }
            for pos in repeated_stores(meta.name, args) {
                if !self.may_touch_key(&args[pos], ks::OW | ks::UPDATE) {
                    return Err(Denied::Key(pos));
                }
            }
        }
        if !self.all_channels {
            if let Some((from, patterns)) = channel_args(meta.name) {
                for (i, ch) in args.iter().enumerate().skip(from) {
                    if meta.name == "publish" && i > 1 {
                        break;
                    }
                    if !self.may_touch_channel(ch, patterns) {
                        return Err(Denied::Channel(i));
                    }
                }
            }
        }
        Ok(())
    }

    /// May read every key (`allkeys`, `~*` or `%R~*`): what SORT's BY and
    /// GET need, since the keys their patterns make are not known before.
    fn reads_all_keys(&self) -> bool {
        self.all_keys
            || self
                .keys
                .iter()
                .any(|(access, p)| access & READ == READ && &p[..] == b"*")
    }

    /// Redis's refusal of SORT's BY (with a `*`) or GET for a user who may
    /// not read every key; the options are read in order as SORT reads
    /// them (a syntax error before them is SORT's own to give).
    pub fn sort_option_denied(&self, meta: &Meta, args: &[Bytes]) -> Option<&'static str> {
        if !matches!(meta.name, "sort" | "sort_ro") || self.reads_all_keys() {
            return None;
        }
        let mut j = 2;
        while j < args.len() {
            let left = args.len() - j - 1;
            match args[j].to_ascii_lowercase().as_slice() {
                b"asc" | b"desc" | b"alpha" => {}
                b"limit" if left >= 2 => j += 2,
                b"store" if left >= 1 && meta.name == "sort" => j += 1,
                b"by" if left >= 1 => {
                    if args[j + 1].contains(&b'*') {
                        return Some(
                            "ERR BY option of SORT denied due to insufficient ACL permissions.",
                        );
                    }
                    j += 1;
                }
                b"get" if left >= 1 => {
                    return Some(
                        "ERR GET option of SORT denied due to insufficient ACL permissions.",
                    )
                }
                _ => return None,
            }
            j += 1;
        }
        None
    }

    /// The key, used as its key spec says, matches a pattern with the
    /// access that use needs (a use that neither reads nor changes data,
    /// as EXISTS's, needs only a match).
    pub fn may_touch_key(&self, key: &[u8], flags: u16) -> bool {
        if self.all_keys {
            return true;
        }
        let mut need = 0;
        if flags & ks::ACCESS != 0 {
            need |= READ;
        }
        if flags & (ks::INSERT | ks::DELETE | ks::UPDATE) != 0 {
            need |= WRITE;
        }
        self.keys
            .iter()
            .any(|(access, p)| access & need == need && glob_match(p, key))
    }

    /// A channel (or, `pattern`, a pattern as PSUBSCRIBE gives it, which
    /// must be one of the user's own) it may use.
    pub fn may_touch_channel(&self, ch: &[u8], pattern: bool) -> bool {
        self.all_channels
            || self.channels.iter().any(|p| {
                if pattern {
                    p[..] == *ch
                } else {
                    glob_match(p, ch)
                }
            })
    }
}

/// Every STORE and STOREDIST target of GEORADIUS[BYMEMBER]: the key specs
/// name the first of each, and the command stores into the last one given,
/// so each is checked.
fn repeated_stores(name: &str, args: &[Bytes]) -> Vec<usize> {
    let from = match name {
        "georadius" => 6,
        "georadiusbymember" => 5,
        _ => return Vec::new(),
    };
    (from..args.len().saturating_sub(1))
        .filter(|&i| {
            args[i].eq_ignore_ascii_case(b"store") || args[i].eq_ignore_ascii_case(b"storedist")
        })
        .map(|i| i + 1)
        .collect()
}

/// Where a pub/sub command's channels are: the first argument that is
/// one, and whether they are patterns (PSUBSCRIBE).
fn channel_args(name: &str) -> Option<(usize, bool)> {
    match name {
        "publish" | "subscribe" => Some((1, false)),
        "psubscribe" => Some((1, true)),
        _ => None,
    }
}
