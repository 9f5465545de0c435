//! One user's permissions, Redis 7.0's model: on/off, passwords (their
//! SHA-256), the commands it may run (one bit per command and subcommand
//! of the table), the keys (read, write or both) and the channels it may
//! touch; the rules of ACL SETUSER that change them, and the rules that
//! describe them back (ACL LIST, ACL GETUSER, ACL SAVE).

use std::collections::HashMap;
use std::sync::OnceLock;

use bytes::Bytes;
use sha2::{Digest, Sha256};

use crate::cmd::spec::acl;
use crate::command::{self, Spec};

mod check;

pub use check::Denied;

/// Every command and subcommand, in table order: a user's command bits
/// are indexed by position here.
struct Table {
    specs: Vec<&'static Spec>,
    index: HashMap<&'static str, usize>,
    /// Each one's categories.
    cats: Vec<u32>,
    /// Each one's bit and its subcommands' (a container's rule covers
    /// them, as Redis's).
    covers: Vec<std::ops::Range<usize>>,
}

fn table() -> &'static Table {
    static TABLE: OnceLock<Table> = OnceLock::new();
    TABLE.get_or_init(|| {
        let specs: Vec<&'static Spec> = command::all()
            .flat_map(|s| std::iter::once(s).chain(s.subcommands().iter()))
            .collect();
        let index = specs
            .iter()
            .enumerate()
            .map(|(i, s)| (s.meta.name, i))
            .collect();
        let cats = specs.iter().map(|s| s.meta.categories()).collect();
        let covers = specs
            .iter()
            .enumerate()
            .map(|(i, s)| i..i + 1 + s.subcommands().len())
            .collect();
        Table {
            specs,
            index,
            cats,
            covers,
        }
    })
}

/// Allow or deny command `i` and its subcommands.
fn change(bits: &mut [bool], i: usize, allow: bool) {
    bits[table().covers[i].clone()].fill(allow);
}

/// Allow or deny every command in `cat` (with their subcommands).
fn change_category(bits: &mut [bool], cat: u32, allow: bool) {
    let t = table();
    for i in 0..t.specs.len() {
        if t.cats[i] & cat != 0 {
            change(bits, i, allow);
        }
    }
}

/// A command's bit.
fn bit(name: &str) -> Option<usize> {
    table().index.get(name).copied()
}

/// The category named `name` (without `@`); `all` is every one.
pub fn category(name: &[u8]) -> Option<u32> {
    let name = std::str::from_utf8(name).ok()?.to_ascii_lowercase();
    if name == "all" {
        return Some(u32::MAX);
    }
    acl::NAMES
        .iter()
        .find(|(_, n)| *n == name)
        .map(|(bit, _)| *bit)
}

/// The commands and subcommands in a category (ACL CAT name).
pub fn commands_in(cat: u32) -> impl Iterator<Item = &'static str> {
    table()
        .specs
        .iter()
        .filter(move |s| s.meta.categories() & cat != 0)
        .map(|s| s.meta.name)
}

/// Read access to the keys a pattern matches.
pub const READ: u8 = 1;
/// Write access.
pub const WRITE: u8 = 2;

/// The SHA-256 of a password, as Redis keeps it.
pub fn hash(password: &[u8]) -> [u8; 32] {
    Sha256::digest(password).into()
}

fn hex(h: &[u8; 32]) -> String {
    h.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(s: &[u8]) -> Option<[u8; 32]> {
    if s.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, pair) in s.chunks(2).enumerate() {
        let text = std::str::from_utf8(pair).ok()?;
        if !text.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        out[i] = u8::from_str_radix(text, 16).ok()?;
    }
    Some(out)
}

/// Why a rule was refused: Redis's words after `Error in ACL SETUSER
/// modifier '<rule>': `.
pub type RuleError = &'static str;

pub(super) const SYNTAX: RuleError = "Syntax error";
const UNKNOWN: RuleError = "Unknown command or category name in ACL";
const AFTER_ALLKEYS: RuleError = "Adding a pattern after the * pattern (or the 'allkeys' flag) is not valid and does not have any effect. Try 'resetkeys' to start with an empty list of patterns";
const AFTER_ALLCHANNELS: RuleError = "Adding a pattern after the * pattern (or the 'allchannels' flag) is not valid and does not have any effect. Try 'resetchannels' to start with an empty list of channels";
const BAD_HASH: RuleError = "The password hash must be exactly 64 characters and contain only lowercase hexadecimal characters";
const NO_SUCH_PASSWORD: RuleError =
    "The password you are trying to remove from the user does not exist";
const FIRST_ARG: RuleError = "Allowing first-arg of a subcommand is not supported";
const SELECTORS: RuleError =
    "Selectors are not supported by this server: give the rules to the user itself";

/// A user's permissions.
#[derive(Debug, Clone)]
pub struct Perms {
    /// `on`: it may authenticate.
    pub enabled: bool,
    /// `nopass`: any password authenticates it.
    pub nopass: bool,
    /// Its passwords' SHA-256, in the order they were added.
    pub passwords: Vec<[u8; 32]>,
    /// `+@all` (or `allcommands`) was its last word on every command:
    /// rules describe it from `+@all` (Redis's "future commands" bit).
    all_commands: bool,
    /// One bit per command and subcommand of the table.
    allowed: Vec<bool>,
    /// First arguments allowed of a command otherwise denied
    /// (`+select|0`, which Redis 7.0 still takes, deprecated).
    first_args: Vec<(usize, Bytes)>,
    /// `allkeys` (`~*`).
    pub all_keys: bool,
    /// Key patterns with [`READ`] and [`WRITE`] access.
    keys: Vec<(u8, Bytes)>,
    /// `allchannels` (`&*`).
    pub all_channels: bool,
    /// Channel patterns.
    channels: Vec<Bytes>,
    /// `sanitize-payload` or `skip-sanitize-payload`, as last given
    /// (shown only: RESTORE payloads are always checked here).
    sanitize: Option<&'static str>,
}

/// Redis's test for names and patterns: any of C's `isspace` (space, tab,
/// newline, vertical tab, form feed, carriage return) or a NUL.
pub fn has_spaces(b: &[u8]) -> bool {
    b.iter()
        .any(|c| matches!(c, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r' | 0))
}

impl Perms {
    /// A new user's: off, no password, no commands, keys or channels
    /// (channels per `acl-pubsub-default`).
    pub fn new(all_channels: bool) -> Self {
        Self {
            enabled: false,
            nopass: false,
            passwords: Vec::new(),
            all_commands: false,
            allowed: vec![false; table().specs.len()],
            first_args: Vec::new(),
            all_keys: false,
            keys: Vec::new(),
            all_channels,
            channels: Vec::new(),
            sanitize: None,
        }
    }

    /// The default user's at start: everything, no password.
    pub fn everything() -> Self {
        let mut p = Self::new(true);
        for rule in ["on", "nopass", "allkeys", "allcommands"] {
            let applied = p.apply(rule.as_bytes(), true);
            debug_assert!(applied.is_ok());
        }
        p
    }

    /// True when it may run anything on any key and channel: nothing to
    /// check per command.
    pub fn unrestricted(&self) -> bool {
        self.all_keys && self.all_channels && self.allowed.iter().all(|b| *b)
    }

    /// Apply one ACL SETUSER rule (`pubsub_all`: `acl-pubsub-default` is
    /// `allchannels`, for `reset`).
    ///
    /// # Errors
    /// Redis's reason, when the rule is not one or cannot apply.
    pub fn apply(&mut self, rule: &[u8], pubsub_all: bool) -> Result<(), RuleError> {
        let lower = rule.to_ascii_lowercase();
        match &lower[..] {
            b"on" => self.enabled = true,
            b"off" => self.enabled = false,
            b"nopass" => {
                self.nopass = true;
                self.passwords.clear();
            }
            b"resetpass" => {
                self.nopass = false;
                self.passwords.clear();
            }
            b"allkeys" | b"~*" => {
                self.all_keys = true;
                self.keys.clear();
            }
            b"resetkeys" => {
                self.all_keys = false;
                self.keys.clear();
            }
            b"allchannels" | b"&*" => {
                self.all_channels = true;
                self.channels.clear();
            }
            b"resetchannels" => {
                self.all_channels = false;
                self.channels.clear();
            }
            b"allcommands" | b"+@all" => self.set_all(true),
            b"nocommands" | b"-@all" => self.set_all(false),
            b"reset" => {
                for r in ["resetpass", "resetkeys", "resetchannels"] {
                    self.apply(r.as_bytes(), pubsub_all)?;
                }
                if pubsub_all {
                    self.all_channels = true;
                }
                self.enabled = false;
                self.sanitize = Some("sanitize-payload");
                self.set_all(false);
            }
            b"sanitize-payload" => self.sanitize = Some("sanitize-payload"),
            b"skip-sanitize-payload" => self.sanitize = Some("skip-sanitize-payload"),
            _ => return self.apply_with_argument(rule),
        }
        Ok(())
    }

    fn apply_with_argument(&mut self, rule: &[u8]) -> Result<(), RuleError> {
        let (first, rest) = match rule.split_first() {
            Some((f, r)) => (*f, r),
            None => return Err(SYNTAX),
        };
        match first {
            b'>' => {
                let h = hash(rest);
                self.nopass = false;
                if !self.passwords.contains(&h) {
                    self.passwords.push(h);
                }
            }
            b'#' => {
                let h = unhex(rest)
                    .filter(|_| !rest.iter().any(u8::is_ascii_uppercase))
                    .ok_or(BAD_HASH)?;
                self.nopass = false;
                if !self.passwords.contains(&h) {
                    self.passwords.push(h);
                }
            }
            b'<' => self.remove_password(&hash(rest))?,
            b'!' => {
                let h = unhex(rest)
                    .filter(|_| !rest.iter().any(u8::is_ascii_uppercase))
                    .ok_or(BAD_HASH)?;
                self.remove_password(&h)?;
            }
            b'~' | b'%' => self.add_key_pattern(rule)?,
            b'&' => {
                if self.all_channels {
                    return Err(AFTER_ALLCHANNELS);
                }
                if has_spaces(rest) {
                    return Err(SYNTAX);
                }
                let pattern = Bytes::copy_from_slice(rest);
                if !self.channels.contains(&pattern) {
                    self.channels.push(pattern);
                }
            }
            b'+' | b'-' => self.command_rule(first == b'+', rest)?,
            b'(' => return Err(SELECTORS),
            _ => return Err(SYNTAX),
        }
        Ok(())
    }

    fn remove_password(&mut self, h: &[u8; 32]) -> Result<(), RuleError> {
        let before = self.passwords.len();
        self.passwords.retain(|p| p != h);
        if self.passwords.len() == before {
            return Err(NO_SUCH_PASSWORD);
        }
        Ok(())
    }

    /// `~pattern`, `%R~pattern`, `%W~pattern`, `%RW~pattern`.
    fn add_key_pattern(&mut self, rule: &[u8]) -> Result<(), RuleError> {
        let (access, pattern) = if rule[0] == b'~' {
            (READ | WRITE, &rule[1..])
        } else {
            let tilde = rule.iter().position(|b| *b == b'~').ok_or(SYNTAX)?;
            let mut access = 0;
            for b in &rule[1..tilde] {
                access |= match b.to_ascii_uppercase() {
                    b'R' => READ,
                    b'W' => WRITE,
                    _ => return Err(SYNTAX),
                };
            }
            if access == 0 {
                return Err(SYNTAX);
            }
            (access, &rule[tilde + 1..])
        };
        if self.all_keys {
            return Err(AFTER_ALLKEYS);
        }
        if has_spaces(pattern) {
            return Err(SYNTAX);
        }
        match self.keys.iter_mut().find(|(_, p)| p[..] == *pattern) {
            Some((a, _)) => *a |= access,
            None => self.keys.push((access, Bytes::copy_from_slice(pattern))),
        }
        Ok(())
    }

    /// `+name`, `-name`, `+name|sub`, `+@category`, `-@category`.
    fn command_rule(&mut self, allow: bool, name: &[u8]) -> Result<(), RuleError> {
        if let Some(cat) = name.strip_prefix(b"@") {
            let cat = category(cat).ok_or(UNKNOWN)?;
            change_category(&mut self.allowed, cat, allow);
            self.first_args.retain(|(c, _)| table().cats[*c] & cat == 0);
        } else {
            let lower = std::str::from_utf8(name)
                .map_err(|_| UNKNOWN)?
                .to_ascii_lowercase();
            let spec = match lower.rsplit_once('|') {
                Some((parent, arg)) => {
                    let parent = command::find(parent.as_bytes()).ok_or(UNKNOWN)?;
                    if parent.meta.name.contains('|') {
                        return Err(FIRST_ARG);
                    }
                    if arg.is_empty() {
                        return Err(SYNTAX);
                    }
                    if parent.subcommands().is_empty() {
                        if !allow {
                            return Err(UNKNOWN);
                        }
                        return self.allow_first_arg(parent, arg);
                    }
                    command::find(lower.as_bytes()).ok_or(UNKNOWN)?
                }
                None => command::lookup(lower.as_bytes()).ok_or(UNKNOWN)?,
            };
            if let Some(i) = bit(spec.meta.name) {
                change(&mut self.allowed, i, allow);
                let covered = table().covers[i].clone();
                self.first_args.retain(|(c, _)| !covered.contains(c));
            }
        }
        Ok(())
    }

    /// `+command|arg` for a command without subcommands.
    fn allow_first_arg(&mut self, spec: &Spec, arg: &str) -> Result<(), RuleError> {
        let i = bit(spec.meta.name).ok_or(UNKNOWN)?;
        let arg = Bytes::copy_from_slice(arg.as_bytes());
        if !self.first_args.contains(&(i, arg.clone())) {
            self.first_args.push((i, arg));
        }
        Ok(())
    }

    fn set_all(&mut self, allow: bool) {
        self.all_commands = allow;
        self.first_args.clear();
        self.allowed.iter_mut().for_each(|b| *b = allow);
    }

    /// Its flags as ACL GETUSER lists them.
    pub fn flags(&self) -> Vec<&'static str> {
        let mut f = vec![if self.enabled { "on" } else { "off" }];
        if self.nopass {
            f.push("nopass");
        }
        f.extend(self.sanitize);
        f
    }

    /// Its passwords' hashes, in hex.
    pub fn password_hashes(&self) -> Vec<String> {
        self.passwords.iter().map(hex).collect()
    }

    /// Its key patterns as rules (`~*`, `~a* %R~b*`).
    pub fn key_rules(&self) -> String {
        if self.all_keys {
            return "~*".into();
        }
        let rules: Vec<String> = self
            .keys
            .iter()
            .map(|(access, p)| {
                let prefix = match *access {
                    READ => "%R~",
                    WRITE => "%W~",
                    _ => "~",
                };
                format!("{prefix}{}", String::from_utf8_lossy(p))
            })
            .collect();
        rules.join(" ")
    }

    /// Its channel patterns as rules (`&*`, `&a* &b`).
    pub fn channel_rules(&self) -> String {
        if self.all_channels {
            return "&*".into();
        }
        let rules: Vec<String> = self
            .channels
            .iter()
            .map(|p| format!("&{}", String::from_utf8_lossy(p)))
            .collect();
        rules.join(" ")
    }

    /// Its commands as rules, as Redis 7.0 describes them: `+@all` or
    /// `-@all`, then, one at a time, the category that best matches what
    /// is left to say (most commands it would change rightly, fewest
    /// wrongly), then the commands that still differ, one by one.
    pub fn command_rules(&self) -> String {
        let t = table();
        let additive = !self.all_commands;
        let mut rules = vec![if additive { "-@all" } else { "+@all" }.to_owned()];
        let mut fake = vec![!additive; t.specs.len()];
        // What is left to say: the categories chosen are taken out.
        let mut left = self.allowed.clone();
        let mut chosen = 0u32;
        loop {
            let mut best: Option<(u32, &str)> = None;
            let (mut min_wrong, mut max_right) = (usize::MAX, 0);
            for (cat, name) in acl::NAMES {
                if chosen & cat != 0 {
                    continue;
                }
                let (mut on, mut off) = (0, 0);
                for i in (0..t.specs.len()).filter(|i| t.cats[*i] & cat != 0) {
                    if left[i] {
                        on += 1;
                    } else {
                        off += 1;
                    }
                }
                let (right, wrong) = if additive { (on, off) } else { (off, on) };
                if right > wrong && (wrong < min_wrong || (wrong == min_wrong && right > max_right))
                {
                    best = Some((*cat, name));
                    min_wrong = wrong;
                    max_right = right;
                }
            }
            let Some((cat, name)) = best else {
                break;
            };
            rules.push(format!("{}@{name}", if additive { '+' } else { '-' }));
            change_category(&mut fake, cat, additive);
            change_category(&mut left, cat, !additive);
            chosen |= cat;
        }
        for i in 0..t.specs.len() {
            if self.allowed[i] != fake[i] {
                let sign = if self.allowed[i] { '+' } else { '-' };
                rules.push(format!("{sign}{}", t.specs[i].meta.name));
                change(&mut fake, i, self.allowed[i]);
            }
            if !self.allowed[i] {
                for (_, arg) in self.first_args.iter().filter(|(c, _)| *c == i) {
                    rules.push(format!(
                        "+{}|{}",
                        t.specs[i].meta.name,
                        String::from_utf8_lossy(arg)
                    ));
                }
            }
        }
        rules.join(" ")
    }

    /// The whole user as rules, as ACL LIST and ACL SAVE give it (after
    /// `user <name> `).
    pub fn describe(&self) -> String {
        let mut parts: Vec<String> = self.flags().into_iter().map(String::from).collect();
        parts.extend(self.password_hashes().into_iter().map(|h| format!("#{h}")));
        let keys = self.key_rules();
        if !keys.is_empty() {
            parts.push(keys);
        }
        if !self.all_channels {
            parts.push("resetchannels".into());
        }
        let channels = self.channel_rules();
        if !channels.is_empty() {
            parts.push(channels);
        }
        parts.push(self.command_rules());
        parts.join(" ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cmd::spec::ks;

    fn user(rules: &[&str]) -> Perms {
        let mut p = Perms::new(false);
        for r in rules {
            p.apply(r.as_bytes(), false).expect("test");
        }
        p
    }

    #[test]
    fn rules_describe_as_redis_does() {
        let u = user(&[
            "-@all",
            "+@string",
            "+get",
            "-get",
            "+get",
            "+config|get",
            "+config",
            "-config|set",
            "+@hash",
            "-@hash",
            "-hset",
        ]);
        assert_eq!(u.command_rules(), "-@all +@string +config -config|set");
        let u = user(&[
            "+@all",
            "-@dangerous",
            "+flushall",
            "nocommands",
            "+get",
            "allcommands",
            "-get",
        ]);
        assert_eq!(u.command_rules(), "+@all -get");
        assert_eq!(
            user(&["+@read", "-get"]).command_rules(),
            "-@all +@read -get"
        );
        assert_eq!(
            user(&["-@all", "+@string", "-get", "+@string"]).command_rules(),
            "-@all +@string"
        );
        assert_eq!(
            user(&["-@all", "+@read", "+@read", "-@read"]).command_rules(),
            "-@all"
        );
        assert_eq!(user(&["+@all", "-get", "+get"]).command_rules(), "+@all");
        assert_eq!(
            user(&["-@all", "+@admin", "-@dangerous"]).command_rules(),
            "-@all"
        );
        assert_eq!(
            user(&["+@all", "-@dangerous", "-@admin"]).command_rules(),
            "+@all -@dangerous"
        );
        assert_eq!(
            user(&["+@all", "-@read", "+get"]).command_rules(),
            "+@all -@read +get"
        );
        assert_eq!(
            user(&["-@all", "+config", "+config|get"]).command_rules(),
            "-@all +config"
        );
        assert_eq!(
            user(&["-@all", "+@pubsub", "-publish"]).command_rules(),
            "-@all +@pubsub -publish"
        );
        assert_eq!(Perms::new(false).describe(), "off resetchannels -@all");
        assert_eq!(Perms::everything().describe(), "on nopass ~* &* +@all");
    }

    #[test]
    fn passwords_are_kept_as_their_hash() {
        let mut u = user(&[">secret"]);
        assert!(!u.nopass);
        assert_eq!(u.passwords, vec![hash(b"secret")]);
        assert_eq!(u.apply(b"<other", false), Err(NO_SUCH_PASSWORD));
        let h = u.password_hashes()[0].clone();
        u.apply(format!("!{h}").as_bytes(), false).expect("test");
        assert!(u.passwords.is_empty());
        assert_eq!(u.apply(b"#abc", false), Err(BAD_HASH));
        u.apply(format!("#{h}").as_bytes(), false).expect("test");
        assert_eq!(u.passwords, vec![hash(b"secret")]);
        u.apply(b"nopass", false).expect("test");
        assert!(u.nopass && u.passwords.is_empty());
    }

    #[test]
    fn keys_need_the_access_their_use_takes() {
        let u = user(&["%R~r*", "%W~w*", "~rw*"]);
        assert!(u.may_touch_key(b"r1", ks::RO | ks::ACCESS));
        assert!(!u.may_touch_key(b"r1", ks::RW | ks::UPDATE));
        assert!(u.may_touch_key(b"w1", ks::OW | ks::UPDATE));
        assert!(!u.may_touch_key(b"w1", ks::RO | ks::ACCESS));
        assert!(
            u.may_touch_key(b"w1", ks::RO),
            "no access, no update: a match is enough"
        );
        assert!(u.may_touch_key(b"rw1", ks::RW | ks::ACCESS | ks::UPDATE));
        assert!(!u.may_touch_key(b"x", ks::RO));
        assert_eq!(u.key_rules(), "%R~r* %W~w* ~rw*");
        let mut all = user(&["allkeys"]);
        assert_eq!(all.apply(b"~a", false), Err(AFTER_ALLKEYS));
    }

    #[test]
    fn channels_and_patterns() {
        let u = user(&["&news.*"]);
        assert!(u.may_touch_channel(b"news.today", false));
        assert!(!u.may_touch_channel(b"sport", false));
        assert!(u.may_touch_channel(b"news.*", true));
        assert!(
            !u.may_touch_channel(b"news.t*", true),
            "a pattern must be the user's own"
        );
    }

    #[test]
    fn commands_and_subcommands() {
        let u = user(&["+config|get", "+get"]);
        let get = &command::lookup(b"get").expect("test").meta;
        let set = &command::lookup(b"set").expect("test").meta;
        let cget = &command::find(b"config|get").expect("test").meta;
        let cset = &command::find(b"config|set").expect("test").meta;
        let args = |a: &[&str]| {
            a.iter()
                .map(|s| Bytes::copy_from_slice(s.as_bytes()))
                .collect::<Vec<_>>()
        };
        assert_eq!(u.check(get, &args(&["get", "k"])), Err(Denied::Key(1)));
        assert_eq!(
            u.check(set, &args(&["set", "k", "v"])),
            Err(Denied::Command)
        );
        assert_eq!(u.check(cget, &args(&["config", "get", "x"])), Ok(()));
        assert_eq!(
            u.check(cset, &args(&["config", "set", "x", "y"])),
            Err(Denied::Command)
        );
        assert_eq!(
            Perms::new(false).apply(b"+config|get|x", false),
            Err(FIRST_ARG)
        );
        let sel = &command::lookup(b"select").expect("test").meta;
        let u = user(&["+select|0"]);
        assert_eq!(u.check(sel, &args(&["select", "0"])), Ok(()));
        assert_eq!(u.check(sel, &args(&["select", "1"])), Err(Denied::Command));
        assert_eq!(u.command_rules(), "-@all +select|0");
        assert_eq!(
            user(&["+select|0", "+select"]).command_rules(),
            "-@all +select"
        );
        assert_eq!(user(&["+select|0", "-select"]).command_rules(), "-@all");
        assert_eq!(
            user(&["+@all", "-select", "+select|0"]).command_rules(),
            "+@all -select +select|0"
        );
        assert_eq!(Perms::new(false).apply(b"+nosuch", false), Err(UNKNOWN));
        assert_eq!(Perms::new(false).apply(b"+@nosuch", false), Err(UNKNOWN));
    }
}
