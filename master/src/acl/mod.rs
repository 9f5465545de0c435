//! Users and what they may do (Redis 7.0's ACL): the users by name, the
//! default one every connection starts as, authentication, the check
//! every command passes before it runs, and the log of what was denied
//! (ACL LOG). Users come from `user` lines in the configuration or from
//! an `aclfile`, and ACL SAVE / LOAD write and read that file.

mod log;
pub mod rules;

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock, RwLockReadGuard};

use bytes::Bytes;

pub use log::{AclLog, Context, LogEntry};
pub use rules::{Denied, Perms};

use crate::cmd::spec::Meta;

/// A user: its name and permissions, shared by the connections
/// authenticated as it (ACL SETUSER changes them for all at once).
#[derive(Debug)]
pub struct User {
    /// Its name.
    pub name: Bytes,
    perms: RwLock<Perms>,
    /// It may do anything: no check per command.
    open: AtomicBool,
}

impl User {
    fn new(name: Bytes, perms: Perms) -> Arc<Self> {
        let open = AtomicBool::new(perms.unrestricted());
        Arc::new(Self {
            name,
            perms: RwLock::new(perms),
            open,
        })
    }

    /// Its permissions now.
    pub fn perms(&self) -> RwLockReadGuard<'_, Perms> {
        self.perms
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn set(&self, perms: Perms) {
        let open = perms.unrestricted();
        *self
            .perms
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = perms;
        self.open.store(open, Ordering::Release);
    }

    /// May it run `meta` with `args`?
    ///
    /// # Errors
    /// What it may not do.
    pub fn check(&self, meta: &Meta, args: &[Bytes]) -> Result<(), Denied> {
        if self.open.load(Ordering::Acquire) {
            return Ok(());
        }
        self.perms().check(meta, args)
    }

    /// It may use channel `ch` (or, `pattern`, subscribe to it as a
    /// pattern) now.
    pub fn may_use_channel(&self, ch: &[u8], pattern: bool) -> bool {
        self.open.load(Ordering::Acquire) || self.perms().may_touch_channel(ch, pattern)
    }

    /// SORT's BY or GET refused to it (see [`Perms::sort_option_denied`]).
    pub fn sort_option_denied(&self, meta: &Meta, args: &[Bytes]) -> Option<&'static str> {
        if self.open.load(Ordering::Acquire) {
            return None;
        }
        self.perms().sort_option_denied(meta, args)
    }

    /// `password` authenticates it (it is on, and the password is one of
    /// its own or it has `nopass`). Compared as hashes, in a time that
    /// depends on neither the password nor the user's.
    pub fn accepts(&self, password: &[u8]) -> bool {
        let p = self.perms();
        let given = rules::hash(password);
        let mut found = false;
        for h in &p.passwords {
            found |= same_secret(&given, h);
        }
        p.enabled && (p.nopass || found)
    }

    /// It may do anything (nothing to check).
    pub fn unrestricted(&self) -> bool {
        self.open.load(Ordering::Acquire)
    }

    /// A new connection as this user is authenticated without AUTH.
    pub fn needs_no_auth(&self) -> bool {
        let p = self.perms();
        p.enabled && p.nopass
    }
}

/// Whether `a` is `b`, in a time that depends only on their lengths.
pub fn same_secret(a: &[u8], b: &[u8]) -> bool {
    let mut diff = u8::from(a.len() != b.len());
    for i in 0..a.len().max(b.len()) {
        let x = a.get(i).copied().unwrap_or(0);
        let y = b.get(i).copied().unwrap_or(0);
        diff |= std::hint::black_box(x ^ y);
    }
    diff == 0
}

/// Redis's answer to a failed AUTH.
pub const WRONGPASS: &str = "WRONGPASS invalid username-password pair or user is disabled.";

/// The default user's name.
pub const DEFAULT: &[u8] = b"default";

/// The users, by name, and the log of denials.
#[derive(Debug)]
pub struct Acl {
    users: RwLock<BTreeMap<Bytes, Arc<User>>>,
    default: Arc<User>,
    /// ACL LOG.
    pub log: Arc<AclLog>,
    /// `acl-pubsub-default allchannels`: new users may use every channel.
    pubsub_all: AtomicBool,
    /// Held across a change's read, modify and write (SETUSER, requirepass,
    /// LOAD), so that two changes to one user never lose one.
    edit: Mutex<()>,
    /// Held while ACL SAVE writes the file.
    saving: Mutex<()>,
}

impl Default for Acl {
    fn default() -> Self {
        let default = User::new(Bytes::from_static(DEFAULT), Perms::everything());
        let users = BTreeMap::from([(default.name.clone(), Arc::clone(&default))]);
        Self {
            users: RwLock::new(users),
            default,
            log: Arc::default(),
            pubsub_all: AtomicBool::new(false),
            edit: Mutex::new(()),
            saving: Mutex::new(()),
        }
    }
}

impl Acl {
    /// The users of the configuration: `requirepass` as the default
    /// user's password, then the `user` lines or the `aclfile`.
    ///
    /// # Errors
    /// The line at fault and why.
    pub fn from_config(c: &crate::Config) -> Result<Self, String> {
        let acl = Self::default();
        acl.configure(c);
        if !c.user.0.is_empty() && !c.aclfile.as_os_str().is_empty() {
            return Err(
                "users are given both by `user` lines and by `aclfile`: give them in one place"
                    .into(),
            );
        }
        let users = if !c.aclfile.as_os_str().is_empty() {
            // (a missing file stops the start, as Redis's does: an empty
            // one is the way to begin with none)
            acl.read_file(&c.aclfile)?
        } else {
            let lines = c.user.0.iter().map(String::as_str).enumerate();
            parse_lines(lines.map(|(i, l)| (i + 1, l)), acl.pubsub_all())
                .map_err(|(n, e)| format!("user line {n}{e}"))?
        };
        // A `default` user line wins over `requirepass`, as in Redis (where
        // the user lines are applied after the settings).
        let default_given = users.iter().any(|(n, _)| &n[..] == DEFAULT);
        acl.replace_all(users);
        if !c.requirepass.is_empty() && !default_given {
            acl.set_requirepass(&c.requirepass);
        }
        Ok(acl)
    }

    /// Settings that change at runtime: `acl-pubsub-default`,
    /// `acllog-max-len`.
    pub fn configure(&self, c: &crate::Config) {
        self.pubsub_all
            .store(c.acl_pubsub_default == "allchannels", Ordering::Relaxed);
        self.log.set_max_len(c.acllog_max_len);
    }

    fn pubsub_all(&self) -> bool {
        self.pubsub_all.load(Ordering::Relaxed)
    }

    /// The default user.
    pub fn default_user(&self) -> Arc<User> {
        Arc::clone(&self.default)
    }

    /// The user named `name`.
    pub fn user(&self, name: &[u8]) -> Option<Arc<User>> {
        self.read().get(name).cloned()
    }

    /// The users' names, sorted.
    pub fn names(&self) -> Vec<Bytes> {
        self.read().keys().cloned().collect()
    }

    /// Every user, sorted by name.
    pub fn users(&self) -> Vec<Arc<User>> {
        self.read().values().cloned().collect()
    }

    fn read(&self) -> RwLockReadGuard<'_, BTreeMap<Bytes, Arc<User>>> {
        self.users
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The user `name` authenticated by `password`, if it is.
    pub fn authenticate(&self, name: &[u8], password: &[u8]) -> Option<Arc<User>> {
        self.user(name).filter(|u| u.accepts(password))
    }

    /// `requirepass`: the default user's one password, or `nopass` when
    /// empty (as Redis).
    pub fn set_requirepass(&self, pass: &str) {
        let _edit = crate::lock(&self.edit);
        let mut p = self.default.perms().clone();
        let rule = if pass.is_empty() {
            "nopass".to_owned()
        } else {
            format!(">{pass}")
        };
        let applied = p
            .apply(b"resetpass", false)
            .and_then(|()| p.apply(rule.as_bytes(), false));
        debug_assert!(applied.is_ok());
        self.default.set(p);
    }

    /// ACL SETUSER: the rules, all applied or none (a new user starts
    /// with none). `Err`: the rule at fault and why.
    ///
    /// # Errors
    /// The rule refused and Redis's reason.
    pub fn set_user(&self, name: &[u8], rules: &[Bytes]) -> Result<(), (Bytes, &'static str)> {
        let _edit = crate::lock(&self.edit);
        let existing = self.user(name);
        let mut perms = match &existing {
            Some(u) => u.perms().clone(),
            None => Perms::new(self.pubsub_all()),
        };
        for r in rules {
            perms
                .apply(r, self.pubsub_all())
                .map_err(|e| (r.clone(), e))?;
        }
        match existing {
            Some(u) => u.set(perms),
            None => {
                let mut users = self
                    .users
                    .write()
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
                match users.get(name) {
                    // (created meanwhile by another SETUSER: ours wins)
                    Some(u) => u.set(perms),
                    None => {
                        let name = Bytes::copy_from_slice(name);
                        users.insert(name.clone(), User::new(name, perms));
                    }
                }
            }
        }
        Ok(())
    }

    /// ACL DELUSER: the users removed (never the default one).
    pub fn delete(&self, names: &[Bytes]) -> Vec<Bytes> {
        let mut users = self
            .users
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        names
            .iter()
            .filter(|n| &n[..] != DEFAULT)
            .filter_map(|n| users.remove(n).map(|u| u.name.clone()))
            .collect()
    }

    /// Replace every user by `users` (the default user keeps its identity:
    /// connections as it follow the new rules; a default user absent from
    /// `users` gets everything, with no password). The other users are
    /// new: their old names are returned, for their connections to be
    /// closed (as Redis's ACL LOAD).
    fn replace_all(&self, users: Vec<(Bytes, Perms)>) -> Vec<Bytes> {
        let _edit = crate::lock(&self.edit);
        let mut map = self
            .users
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let old: Vec<Bytes> = map.keys().filter(|n| &n[..] != DEFAULT).cloned().collect();
        let mut next = BTreeMap::new();
        let mut default = Perms::everything();
        for (name, perms) in users {
            if &name[..] == DEFAULT {
                default = perms;
            } else {
                next.insert(name.clone(), User::new(name, perms));
            }
        }
        self.default.set(default);
        next.insert(self.default.name.clone(), Arc::clone(&self.default));
        *map = next;
        old
    }

    /// ACL LOAD: the file's users replace all (none changes if a line is
    /// wrong). The users replaced are returned, for their connections to
    /// be closed.
    ///
    /// # Errors
    /// The file cannot be read, or a line is wrong (named).
    pub fn load_file(&self, path: &Path) -> Result<Vec<Bytes>, String> {
        let users = self.read_file(path)?;
        Ok(self.replace_all(users))
    }

    /// The users of an ACL file.
    fn read_file(&self, path: &Path) -> Result<Vec<(Bytes, Perms)>, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("Error loading ACLs, opening file '{}': {e}", path.display()))?;
        // (numbered as in the file, blank lines counted)
        let lines = text
            .lines()
            .enumerate()
            .map(|(i, l)| (i + 1, l.trim()))
            .filter(|(_, l)| !l.is_empty());
        parse_lines(lines, self.pubsub_all()).map_err(|(n, e)| {
            let at = if e.starts_with("WARNING") {
                String::new()
            } else {
                format!("{}:{n}", path.display())
            };
            format!("{at}{e}. WARNING: ACL errors detected, no change to the previously active ACL rules was performed")
        })
    }

    /// ACL SAVE: every user as a `user` line, written whole then renamed
    /// over the file.
    ///
    /// # Errors
    /// The file cannot be written.
    pub fn save_file(&self, path: &Path) -> std::io::Result<()> {
        let text = {
            // (users no change is halfway through)
            let _edit = crate::lock(&self.edit);
            let mut text = String::new();
            for u in self.users() {
                text.push_str(&describe_user(&u));
                text.push('\n');
            }
            text
        };
        // One save at a time; changes go on meanwhile.
        let _saving = crate::lock(&self.saving);
        let dir = path
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        let name = path
            .file_name()
            .map_or("aclfile".into(), |n| n.to_string_lossy());
        let tmp = dir.join(format!(".{name}.save.{}", std::process::id()));
        std::fs::write(&tmp, text)?;
        std::fs::File::open(&tmp)?.sync_all()?;
        std::fs::rename(&tmp, path)?;
        // The rename itself survives a crash once the directory is synced.
        std::fs::File::open(dir)?.sync_all()
    }
}

/// A restricted user running a script: what the script's calls are
/// checked against, and where their denials are logged.
#[derive(Debug)]
pub struct ScriptCaller {
    /// The user.
    pub user: Arc<User>,
    /// ACL LOG.
    pub log: Arc<AclLog>,
    /// The client, as CLIENT LIST shows it.
    pub client_info: String,
}

impl ScriptCaller {
    /// May the script call `args`? A denial is logged (context `lua`) and
    /// answers Redis's words for scripts.
    ///
    /// # Errors
    /// The error reply's text.
    pub fn check(&self, args: &[Bytes]) -> Result<(), String> {
        let Ok(spec) = crate::command::resolve(args) else {
            return Ok(());
        };
        let Err(denied) = self.user.check(&spec.meta, args) else {
            return match self.user.sort_option_denied(&spec.meta, args) {
                Some(e) => Err(e.into()),
                None => Ok(()),
            };
        };
        let (reason, object, why) = match denied {
            Denied::Command => (
                "command",
                Bytes::from_static(spec.meta.name.as_bytes()),
                "The user executing the script can't run this command or subcommand",
            ),
            Denied::Key(i) => (
                "key",
                args[i].clone(),
                "The user executing the script can't access at least one of the keys mentioned in the command arguments",
            ),
            Denied::Channel(i) => (
                "channel",
                args[i].clone(),
                "The user executing the script can't publish to the channel mentioned in the command",
            ),
        };
        self.log.add(LogEntry {
            count: 1,
            reason,
            context: Context::Lua,
            object,
            username: self.user.name.clone(),
            at: std::time::Instant::now(),
            client_info: self.client_info.clone(),
        });
        Err(format!("ERR {why}"))
    }
}

/// `user <name> <rules>`, as ACL LIST and the ACL file give a user.
pub fn describe_user(u: &User) -> String {
    format!(
        "user {} {}",
        String::from_utf8_lossy(&u.name),
        u.perms().describe()
    )
}

/// Read `user <name> <rules...>` lines (1-based line numbers in errors;
/// an error's text follows `<file>:<line>`).
fn parse_lines<'a>(
    lines: impl Iterator<Item = (usize, &'a str)>,
    pubsub_all: bool,
) -> Result<Vec<(Bytes, Perms)>, (usize, String)> {
    let mut out: Vec<(Bytes, Perms)> = Vec::new();
    for (n, line) in lines {
        let mut words = line.split(' ').filter(|w| !w.is_empty());
        let (Some("user"), Some(name)) = (words.next(), words.next()) else {
            return Err((
                n,
                " should start with user keyword followed by the username".into(),
            ));
        };
        if out.iter().any(|(u, _)| &u[..] == name.as_bytes()) {
            return Err((
                n,
                format!("WARNING: Duplicate user '{name}' found on line {n}"),
            ));
        }
        let mut perms = Perms::new(pubsub_all);
        for w in words {
            perms.apply(w.as_bytes(), pubsub_all).map_err(|e| {
                if e == rules::SYNTAX {
                    (n, format!(": {e}"))
                } else {
                    (n, format!(": Error in applying operation '{w}': {e}"))
                }
            })?;
        }
        out.push((Bytes::copy_from_slice(name.as_bytes()), perms));
    }
    Ok(out)
}

/// Redis's NOPERM text for a denial.
pub fn noperm(denied: Denied, meta: &Meta) -> String {
    match denied {
        Denied::Command => format!(
            "NOPERM this user has no permissions to run the '{}' command",
            meta.name
        ),
        Denied::Key(_) => {
            "NOPERM this user has no permissions to access one of the keys used as arguments".into()
        }
        Denied::Channel(_) => {
            "NOPERM this user has no permissions to access one of the channels used as arguments"
                .into()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_match_only_whole() {
        assert!(same_secret(b"secret", b"secret"));
        assert!(!same_secret(b"secreT", b"secret"));
        assert!(!same_secret(b"secre", b"secret"));
        assert!(!same_secret(b"secrets", b"secret"));
        assert!(!same_secret(b"", b"secret"));
        assert!(same_secret(b"", b""));
    }

    #[test]
    fn requirepass_is_the_default_users_password() {
        let acl = Acl::default();
        assert!(acl.default_user().needs_no_auth());
        acl.set_requirepass("pw");
        let d = acl.default_user();
        assert!(!d.needs_no_auth());
        assert!(d.accepts(b"pw") && !d.accepts(b"pW"));
        acl.set_requirepass("");
        assert!(acl.default_user().needs_no_auth());
    }

    #[test]
    fn setuser_is_all_or_nothing() {
        let acl = Acl::default();
        let rules = |r: &[&str]| {
            r.iter()
                .map(|s| Bytes::copy_from_slice(s.as_bytes()))
                .collect::<Vec<_>>()
        };
        acl.set_user(b"a", &rules(&["on", ">x", "+get"]))
            .expect("test");
        let err = acl
            .set_user(b"a", &rules(&["-get", "+nosuch"]))
            .expect_err("test");
        assert_eq!(&err.0[..], b"+nosuch");
        assert!(describe_user(&acl.user(b"a").expect("test")).ends_with("-@all +get"));
        assert!(acl.authenticate(b"a", b"x").is_some());
        assert!(acl.authenticate(b"a", b"y").is_none());
        assert_eq!(acl.delete(&rules(&["a", "default", "b"])), rules(&["a"]));
    }

    #[test]
    fn files_round_trip_and_a_bad_line_changes_nothing() {
        let dir = tempfile::tempdir().expect("test");
        let path = dir.path().join("users.acl");
        let acl = Acl::default();
        let rules = |r: &[&str]| {
            r.iter()
                .map(|s| Bytes::copy_from_slice(s.as_bytes()))
                .collect::<Vec<_>>()
        };
        acl.set_user(b"alice", &rules(&["on", ">pw", "~k*", "&c", "+@read"]))
            .expect("test");
        acl.set_requirepass("dpw");
        acl.save_file(&path).expect("test");
        let back = Acl::default();
        assert_eq!(back.load_file(&path).expect("test"), Vec::<Bytes>::new());
        assert_eq!(
            back.load_file(&path).expect("test"),
            vec![Bytes::from_static(b"alice")],
            "ACL LOAD makes every user new"
        );
        let lines = |a: &Acl| {
            a.users()
                .iter()
                .map(|u| describe_user(u))
                .collect::<Vec<_>>()
        };
        assert_eq!(lines(&back), lines(&acl));
        assert!(back.authenticate(b"default", b"dpw").is_some());
        std::fs::write(&path, "user bob on +get\nuser carol on +nosuch\n").expect("test");
        let err = back.load_file(&path).expect_err("test");
        assert!(err.ends_with(":2: Error in applying operation '+nosuch': Unknown command or category name in ACL. WARNING: ACL errors detected, no change to the previously active ACL rules was performed"), "{err}");
        assert_eq!(lines(&back), lines(&acl));
    }
}
