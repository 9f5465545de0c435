//! The command table: every command, data, server and replication ones
//! alike, is one [`Spec`] (name, arity, flags, key specs, ACL categories,
//! tips, docs and handler) in one of the group files; COMMAND and its
//! subcommands answer from it alone, and the dispatch reads nothing else.

mod conn;
mod geo;
mod hashes;
mod hyperloglog;
mod keys;
mod lists;
mod scripting;
mod sets;
mod spec;
mod streams;
mod strings;
mod users;
mod zsets;

use std::collections::HashMap;
use std::sync::OnceLock;

use bytes::Bytes;
use rocksync_protocol::Reply;

use crate::cmd::spec::flag::*;
use crate::cmd::spec::{acl, cmd, flag, ks};
use crate::engine::WriteCmd;
use crate::session::{bulk_str, help_lines, Session};

pub use scripting::script_callee;
pub use spec::{Run, Spec};

/// COMMAND, here: its handlers read the whole table.
static COMMAND: Spec = cmd("command", -1, LOADING | STALE, acl::CONNECTION)
    .tips(&["nondeterministic_output_order"])
    .doc(
        "server",
        "2.8.13",
        "Describes the commands that the server supports.",
    )
    .container_or(
        &[
            cmd("command|count", 2, LOADING | STALE, acl::CONNECTION)
                .doc(
                    "server",
                    "2.8.13",
                    "Returns how many commands the server has.",
                )
                .conn(count),
            cmd("command|docs", -2, LOADING | STALE, acl::CONNECTION)
                .tips(&["nondeterministic_output_order"])
                .doc(
                    "server",
                    "2.8.13",
                    "Returns the documentation of some or all commands.",
                )
                .conn(docs),
            cmd("command|getkeys", -4, LOADING | STALE, acl::CONNECTION)
                .doc(
                    "server",
                    "2.8.13",
                    "Returns the keys of a full command line.",
                )
                .conn(getkeys),
            cmd(
                "command|getkeysandflags",
                -4,
                LOADING | STALE,
                acl::CONNECTION,
            )
            .doc(
                "server",
                "2.8.13",
                "Returns the keys of a full command line with their flags.",
            )
            .conn(getkeysandflags),
            cmd("command|info", -2, LOADING | STALE, acl::CONNECTION)
                .tips(&["nondeterministic_output_order"])
                .doc("server", "2.8.13", "Describes some or all commands.")
                .conn(info),
            cmd("command|list", -2, LOADING | STALE, acl::CONNECTION)
                .tips(&["nondeterministic_output_order"])
                .doc("server", "2.8.13", "Lists the command names.")
                .conn(list),
            cmd("command|help", 2, LOADING | STALE, acl::CONNECTION)
                .doc("server", "2.8.13", "Lists the COMMAND subcommands.")
                .conn(help),
        ],
        all_info,
    );

/// The tables, group by group.
const TABLES: &[&[Spec]] = &[
    conn::TABLE,
    users::TABLE,
    strings::TABLE,
    keys::TABLE,
    hashes::TABLE,
    sets::TABLE,
    zsets::TABLE,
    lists::TABLE,
    scripting::TABLE,
    hyperloglog::TABLE,
    geo::TABLE,
    streams::TABLE,
];

/// Every command's and subcommand's name (`config|get`).
pub fn all_names() -> impl Iterator<Item = &'static str> {
    all().flat_map(|s| {
        std::iter::once(s)
            .chain(s.subcommands().iter())
            .map(|s| s.meta.name)
    })
}

/// Every command (not subcommands).
pub fn all() -> impl Iterator<Item = &'static Spec> {
    TABLES
        .iter()
        .flat_map(|t| t.iter())
        .chain(std::iter::once(&COMMAND))
}

/// The command named `name` (any case).
pub fn lookup(name: &[u8]) -> Option<&'static Spec> {
    // foldhash: a name is hashed for every command (SipHash cost 0.6 % of
    // a pipelined GET's CPU in a profile).
    type Map = HashMap<&'static str, &'static Spec, foldhash::fast::RandomState>;
    static MAP: OnceLock<Map> = OnceLock::new();
    let map = MAP.get_or_init(|| all().map(|s| (s.meta.name, s)).collect());
    // Lowercased on the stack: this runs for every command.
    let mut buf = [0u8; 32];
    let lower = buf.get_mut(..name.len())?;
    lower.copy_from_slice(name);
    lower.make_ascii_lowercase();
    std::str::from_utf8(lower)
        .ok()
        .and_then(|n| map.get(n).copied())
}

/// A command or, as `parent|sub`, a subcommand (COMMAND INFO and DOCS
/// take either).
pub fn find(name: &[u8]) -> Option<&'static Spec> {
    match name.iter().position(|b| *b == b'|') {
        Some(i) => lookup(&name[..i])?.subcommand(&name[i + 1..]),
        None => lookup(name),
    }
}

/// What `args` call: the command or, for a container, the subcommand
/// its first argument names (a container called alone is itself).
///
/// # Errors
/// The reply for an unknown (sub)command.
pub fn resolve(args: &[Bytes]) -> Result<&'static Spec, Reply> {
    let Some(spec) = lookup(&args[0]) else {
        return Err(crate::session::unknown_command(args));
    };
    match (spec.run, args.get(1)) {
        (Run::Container(..), Some(sub)) => spec
            .subcommand(sub)
            .ok_or_else(|| crate::session::unknown_subcommand(args)),
        _ => Ok(spec),
    }
}

/// True for the commands that run a script (EVAL, EVALSHA, their `_RO`
/// forms, FCALL, FCALL_RO): an EXEC runs them in its unit.
pub fn runs_script(meta: &crate::cmd::spec::Meta) -> bool {
    matches!(
        meta.name,
        "eval" | "evalsha" | "eval_ro" | "evalsha_ro" | "fcall" | "fcall_ro"
    )
}

/// The data command `spec` with `args`, for the write path (parsed, when
/// its entry parses: arguments that do not parse answer their error in
/// their turn, as inside an EXEC); `None` for a command the connection
/// answers.
pub fn data_cmd(spec: &'static Spec, args: Vec<Bytes>) -> Option<WriteCmd> {
    match spec.run {
        Run::Data(exec) => Some(WriteCmd::new(&spec.meta, exec, args).unwrap_or_else(|c| c)),
        _ => None,
    }
}

/// Flag words, a set in RESP3 (as Redis's COMMAND INFO sends them).
fn simple_words<T: Copy + std::ops::BitAnd<Output = T> + PartialEq + Default>(
    bits: T,
    words: &[(T, &str)],
) -> Reply {
    Reply::Set(
        words
            .iter()
            .filter(|(b, _)| bits & *b != T::default())
            .map(|(_, w)| Reply::Simple((*w).into()))
            .collect(),
    )
}

/// A key spec: a map of its flags, how its search begins and how it
/// finds its keys.
fn key_spec_reply(k: &crate::cmd::spec::KeySpec) -> Reply {
    use crate::cmd::spec::{Begin, Find};
    let int = |name: &str, v: i64| (bulk_str(name), Reply::Integer(v));
    let (btype, bspec) = match k.begin {
        Begin::Index(i) => ("index", vec![int("index", i64::from(i))]),
        Begin::Keyword(w, from) => (
            "keyword",
            vec![
                (bulk_str("keyword"), bulk_str(w)),
                int("startfrom", i64::from(from)),
            ],
        ),
        Begin::Unknown => ("unknown", Vec::new()),
    };
    let (ftype, fspec) = match k.find {
        Find::Range(last, step, limit) => (
            "range",
            vec![
                int("lastkey", i64::from(last)),
                int("keystep", i64::from(step)),
                int("limit", i64::from(limit)),
            ],
        ),
        Find::KeyNum(idx, first, step) => (
            "keynum",
            vec![
                int("keynumidx", i64::from(idx)),
                int("firstkey", i64::from(first)),
                int("keystep", i64::from(step)),
            ],
        ),
        Find::Unknown => ("unknown", Vec::new()),
    };
    let search = |kind: &str, spec: Vec<(Reply, Reply)>| {
        Reply::Map(vec![
            (bulk_str("type"), bulk_str(kind)),
            (bulk_str("spec"), Reply::Map(spec)),
        ])
    };
    Reply::Map(vec![
        (bulk_str("flags"), simple_words(k.flags, ks::WORDS)),
        (bulk_str("begin_search"), search(btype, bspec)),
        (bulk_str("find_keys"), search(ftype, fspec)),
    ])
}

/// COMMAND INFO's entry for a command, Redis 7's ten fields.
pub fn info_reply(s: &Spec) -> Reply {
    let m = &s.meta;
    let (first, last, step) = m.legacy_range();
    Reply::Array(vec![
        bulk_str(m.name),
        Reply::Integer(i64::from(m.arity)),
        simple_words(m.flags, flag::WORDS),
        Reply::Integer(i64::from(first)),
        Reply::Integer(i64::from(last)),
        Reply::Integer(i64::from(step)),
        Reply::Set(
            acl::NAMES
                .iter()
                .filter(|(c, _)| m.categories() & c != 0)
                .map(|(_, n)| Reply::Simple(format!("@{n}")))
                .collect(),
        ),
        Reply::Set(m.tips.iter().map(|t| bulk_str(*t)).collect()),
        Reply::Set(m.keys.iter().map(key_spec_reply).collect()),
        // (Redis 7.0 answers an empty set when there are none)
        match s.subcommands() {
            [] => Reply::Set(Vec::new()),
            subs => Reply::Array(subs.iter().map(info_reply).collect()),
        },
    ])
}

/// COMMAND DOCS' entry for a command: its name and a map of its summary,
/// version, group and subcommands' docs.
fn docs_reply(s: &Spec) -> (Reply, Reply) {
    let d = &s.meta.doc;
    let mut fields = vec![
        (bulk_str("summary"), bulk_str(d.summary)),
        (bulk_str("since"), bulk_str(d.since)),
        (bulk_str("group"), bulk_str(d.group)),
    ];
    if !s.subcommands().is_empty() {
        fields.push((
            bulk_str("subcommands"),
            Reply::Map(s.subcommands().iter().map(docs_reply).collect()),
        ));
    }
    (bulk_str(s.meta.name), Reply::Map(fields))
}

/// COMMAND alone: every command's info.
fn all_info(_: &mut Session<'_>, _: &[Bytes]) -> Reply {
    Reply::Array(all().map(info_reply).collect())
}

fn count(_: &mut Session<'_>, _: &[Bytes]) -> Reply {
    Reply::Integer(all().count() as i64)
}

fn docs(_: &mut Session<'_>, a: &[Bytes]) -> Reply {
    if a.len() == 2 {
        return Reply::Map(all().map(docs_reply).collect());
    }
    Reply::Map(
        a[2..]
            .iter()
            .filter_map(|n| find(n))
            .map(docs_reply)
            .collect(),
    )
}

fn info(_: &mut Session<'_>, a: &[Bytes]) -> Reply {
    if a.len() == 2 {
        return Reply::Array(all().map(info_reply).collect());
    }
    Reply::Array(
        a[2..]
            .iter()
            .map(|n| find(n).map_or(Reply::Nil, info_reply))
            .collect(),
    )
}

/// COMMAND LIST [FILTERBY ACLCAT category | PATTERN glob].
fn list(_: &mut Session<'_>, a: &[Bytes]) -> Reply {
    let keep: Box<dyn Fn(&Spec) -> bool> = match (a.len(), a.get(3).map(|f| f.to_ascii_lowercase()))
    {
        (2, _) => Box::new(|_| true),
        (5, Some(f)) if a[2].eq_ignore_ascii_case(b"filterby") => match f.as_slice() {
            b"aclcat" => {
                let Some(cat) = acl::NAMES
                    .iter()
                    .find(|(_, n)| n.as_bytes().eq_ignore_ascii_case(&a[4]))
                    .map(|(c, _)| *c)
                else {
                    return Reply::Array(Vec::new());
                };
                Box::new(move |s| s.meta.categories() & cat != 0)
            }
            b"pattern" => {
                let pattern = a[4].to_ascii_lowercase();
                Box::new(move |s| crate::cmd::generic::glob_match(&pattern, s.meta.name.as_bytes()))
            }
            b"module" => Box::new(|_| false),
            _ => return Reply::error(crate::cmd::SYNTAX),
        },
        _ => return Reply::error(crate::cmd::SYNTAX),
    };
    Reply::Array(
        all()
            .flat_map(|s| std::iter::once(s).chain(s.subcommands()))
            .filter(|s| keep(s))
            .map(|s| bulk_str(s.meta.name))
            .collect(),
    )
}

/// The keys of the command line after COMMAND GETKEYS(ANDFLAGS), as Redis
/// finds them.
fn keys_of(a: &[Bytes]) -> Result<Vec<(usize, u16)>, Reply> {
    let line = &a[2..];
    let spec = resolve(line).map_err(|_| Reply::error("ERR Invalid command specified"))?;
    let m = &spec.meta;
    if m.keys.is_empty() && m.getkeys.is_none() {
        return Err(Reply::error("ERR The command has no key arguments"));
    }
    if !m.arity_ok(line.len()) {
        return Err(Reply::error(
            "ERR Invalid number of arguments specified for command",
        ));
    }
    match m.key_positions(line) {
        Some(keys) if !keys.is_empty() => Ok(keys),
        _ if m.has(NO_MANDATORY_KEYS) => Ok(Vec::new()),
        _ => Err(Reply::error("ERR Invalid arguments specified for command")),
    }
}

fn getkeys(_: &mut Session<'_>, a: &[Bytes]) -> Reply {
    match keys_of(a) {
        Ok(keys) => Reply::Array(
            keys.into_iter()
                .map(|(p, _)| Reply::Bulk(a[2 + p].clone()))
                .collect(),
        ),
        Err(r) => r,
    }
}

fn getkeysandflags(_: &mut Session<'_>, a: &[Bytes]) -> Reply {
    match keys_of(a) {
        Ok(keys) => Reply::Array(
            keys.into_iter()
                .map(|(p, f)| {
                    Reply::Array(vec![
                        Reply::Bulk(a[2 + p].clone()),
                        simple_words(f, ks::WORDS),
                    ])
                })
                .collect(),
        ),
        Err(r) => r,
    }
}

fn help(_: &mut Session<'_>, _: &[Bytes]) -> Reply {
    help_lines(&[
        "COMMAND <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "(no subcommand)",
        "    Return details about all commands.",
        "COUNT",
        "    Return the total number of commands in this server.",
        "LIST [FILTERBY (MODULE <module-name>|ACLCAT <category>|PATTERN <pattern>)]",
        "    Return a list of all commands in this server.",
        "INFO [<command-name> ...]",
        "    Return details about the given commands, or all when none is given.",
        "DOCS [<command-name> ...]",
        "    Return documentation details about the given commands, or all when none is given.",
        "GETKEYS <full-command>",
        "    Return the keys from a full command.",
        "GETKEYSANDFLAGS <full-command>",
        "    Return the keys and the access flags from a full command.",
        "HELP",
        "    Prints this help.",
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn every() -> impl Iterator<Item = &'static Spec> {
        all().flat_map(|s| std::iter::once(s).chain(s.subcommands()))
    }

    #[test]
    fn every_command_is_found_in_any_case() {
        for s in all() {
            let upper = s.meta.name.to_uppercase();
            assert_eq!(
                lookup(upper.as_bytes()).map(|x| x.meta.name),
                Some(s.meta.name)
            );
        }
        assert!(lookup(b"nosuch").is_none());
        assert!(lookup(&[b'x'; 64]).is_none());
    }

    #[test]
    fn a_subcommand_resolves_by_its_first_argument() {
        let args = |v: &[&str]| {
            v.iter()
                .map(|a| Bytes::from(a.to_string()))
                .collect::<Vec<_>>()
        };
        let s = resolve(&args(&["CONFIG", "get", "x"])).map(|s| s.meta.name);
        assert!(matches!(s, Ok("config|get")));
        let unknown = resolve(&args(&["config", "nosuch"])).map(|s| s.meta.name);
        assert!(
            matches!(unknown, Err(Reply::Error(e)) if e == "ERR unknown subcommand 'nosuch'. Try CONFIG HELP.")
        );
        // A container called alone is itself (COMMAND answers alone).
        assert!(matches!(
            resolve(&args(&["command"])).map(|s| s.meta.name),
            Ok("command")
        ));
    }

    #[test]
    fn every_command_and_subcommand_has_docs() {
        let missing: Vec<_> = every()
            .filter(|s| s.meta.doc.summary.is_empty() || s.meta.doc.since.is_empty())
            .map(|s| s.meta.name)
            .collect();
        assert!(missing.is_empty(), "no COMMAND DOCS for {missing:?}");
    }

    #[test]
    fn the_write_flag_is_exactly_the_write_path() {
        // FUNCTION's writes check the catalog on the connection, then
        // reach the write path from there; MIGRATE deletes what it moved
        // once the target took it.
        let via_connection = [
            "function|load",
            "function|delete",
            "function|flush",
            "function|restore",
            "migrate",
        ];
        // Read-only to Redis, on the write path here: PFCOUNT keeps the
        // count it computed in the value, where the node takes writes;
        // XREAD waits there for data (it writes nothing).
        let writes_by_the_way = ["pfcount", "xread"];
        for s in every() {
            let name = s.meta.name;
            let on_write_path = matches!(s.run, Run::Data(e) if e.is_write());
            let writes = (on_write_path && !writes_by_the_way.contains(&name))
                || via_connection.contains(&name);
            assert_eq!(s.meta.has(WRITE), writes, "{name}");
            if s.meta.has(READONLY) {
                assert!(!s.meta.has(WRITE), "{}", s.meta.name);
            }
            assert_eq!(
                s.meta.block.is_some(),
                s.meta.has(flag::BLOCKING),
                "{}",
                s.meta.name
            );
        }
    }

    /// MIGRATE's keys are what its own finder says (Redis's
    /// `migrateGetKeys`, which ACL checks too): the first KEYS after the
    /// options, a password that reads "KEYS" skipped; never the empty
    /// key argument.
    #[test]
    fn migrate_keys_are_found_as_redis_finds_them() {
        let positions = |line: &[&str]| {
            let a: Vec<Bytes> = line.iter().map(|w| Bytes::from(w.to_string())).collect();
            lookup(b"migrate")
                .and_then(|s| s.meta.key_positions(&a))
                .map(|v| v.into_iter().map(|(p, _)| p).collect::<Vec<_>>())
        };
        assert_eq!(
            positions(&["MIGRATE", "h", "1", "k", "0", "5"]),
            Some(vec![3])
        );
        assert_eq!(
            positions(&["MIGRATE", "h", "1", "", "0", "5", "AUTH", "KEYS", "KEYS", "a", "b"]),
            Some(vec![9, 10])
        );
        assert_eq!(
            positions(&["MIGRATE", "h", "1", "", "0", "5", "KEYS", "secret", "KEYS", "ok"]),
            Some(vec![7, 8, 9])
        );
    }

    #[test]
    fn subcommands_are_named_after_their_container() {
        for s in all() {
            for sub in s.subcommands() {
                let (parent, _) = sub.meta.name.split_once('|').expect("parent|sub");
                assert_eq!(parent, s.meta.name);
                assert!(matches!(
                    sub.run,
                    Run::Data(_) | Run::Conn(_) | Run::ConnAsync(_)
                ));
            }
            assert!(!s.meta.name.contains('|'));
        }
        let mut names: Vec<_> = every().map(|s| s.meta.name).collect();
        let n = names.len();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), n, "a name twice in the table");
    }

    #[test]
    fn categories_follow_the_flags_as_redis_derives_them() {
        let get = lookup(b"get").expect("get");
        assert_eq!(get.meta.categories(), acl::READ | acl::STRING | acl::FAST);
        let set = lookup(b"set").expect("set");
        assert_eq!(set.meta.categories(), acl::WRITE | acl::STRING | acl::SLOW);
        let blpop = lookup(b"blpop").expect("blpop");
        assert_eq!(
            blpop.meta.categories(),
            acl::WRITE | acl::LIST | acl::SLOW | acl::BLOCKING
        );
        for s in every() {
            let c = s.meta.categories();
            assert!(c & (acl::FAST | acl::SLOW) != 0, "{}", s.meta.name);
            if s.meta.has(ADMIN) {
                assert!(c & acl::DANGEROUS != 0, "{}", s.meta.name);
            }
        }
    }
}
