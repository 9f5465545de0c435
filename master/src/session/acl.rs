//! ACL SETUSER / GETUSER / DELUSER / LIST / USERS / WHOAMI / CAT / LOG /
//! SAVE / LOAD / GENPASS / DRYRUN / HELP.

use std::io::Read;

use bytes::Bytes;
use rocksync_protocol::Reply;

use super::{bulk_str, help_lines, Session};
use crate::acl::describe_user;
use crate::acl::rules::{self, Denied};
use crate::clients::KillFilter;
use crate::cmd::spec::acl as cat;
use crate::cmd::NOT_INT;

/// ACL SETUSER name [rule ...]: all the rules or none.
pub fn setuser(s: &mut Session<'_>, a: &[Bytes]) -> Reply {
    let name = &a[2];
    if rules::has_spaces(name) || name.is_empty() {
        return Reply::error("ERR Usernames can't contain spaces or null characters");
    }
    match s.core.acl.set_user(name, &a[3..]) {
        Ok(()) => {
            drop_unpermitted_subscribers(s, name);
            Reply::ok()
        }
        Err((rule, why)) => Reply::error(format!(
            "ERR Error in ACL SETUSER modifier '{}': {why}",
            String::from_utf8_lossy(&rule)
        )),
    }
}

/// As Redis 7: once a user's channels change, its subscribers that hold a
/// channel or pattern it may no longer use are disconnected (this
/// connection after its reply).
fn drop_unpermitted_subscribers(s: &mut Session<'_>, name: &[u8]) {
    let Some(user) = s.core.acl.user(name) else {
        return;
    };
    if user.perms().all_channels {
        return;
    }
    for (pattern, channel, id, sub) in s.core.pubsub.all() {
        if user.perms().may_touch_channel(&channel, pattern)
            || s.core.clients.user_of(id).as_deref() != Some(name)
        {
            continue;
        }
        if id == s.client.id {
            s.after = super::After::Close;
        } else {
            sub.kill.cancel();
        }
    }
}

/// ACL GETUSER name: its flags, passwords (hashes), commands, keys,
/// channels and (none here) selectors.
pub fn getuser(s: &mut Session<'_>, a: &[Bytes]) -> Reply {
    let Some(user) = s.core.acl.user(&a[2]) else {
        return Reply::Nil;
    };
    let p = user.perms();
    let strings =
        |v: Vec<String>| Reply::Array(v.into_iter().map(|x| Reply::Bulk(x.into())).collect());
    Reply::Map(vec![
        (
            bulk_str("flags"),
            Reply::Set(p.flags().into_iter().map(bulk_str).collect()),
        ),
        (bulk_str("passwords"), strings(p.password_hashes())),
        (bulk_str("commands"), Reply::Bulk(p.command_rules().into())),
        (bulk_str("keys"), Reply::Bulk(p.key_rules().into())),
        (bulk_str("channels"), Reply::Bulk(p.channel_rules().into())),
        (bulk_str("selectors"), Reply::Array(Vec::new())),
    ])
}

/// ACL DELUSER name [name ...]: how many were removed; their
/// connections are closed.
pub fn deluser(s: &mut Session<'_>, a: &[Bytes]) -> Reply {
    if a[2..].iter().any(|n| &n[..] == crate::acl::DEFAULT) {
        return Reply::error("ERR The 'default' user cannot be removed");
    }
    let removed = s.core.acl.delete(&a[2..]);
    close_connections_of(s, &removed);
    Reply::Integer(removed.len() as i64)
}

fn close_connections_of(s: &mut Session<'_>, users: &[Bytes]) {
    for u in users {
        // (this connection is closed after its reply, not now)
        let f = KillFilter {
            user: Some(u.clone()),
            skip_me: Some(s.client.id),
            ..KillFilter::default()
        };
        s.core.clients.kill(&f);
        if s.client.user.name == *u {
            // (this connection too, once its reply is out)
            s.after = super::After::Close;
        }
    }
}

/// ACL LIST: every user as its `user` line.
pub fn list(s: &mut Session<'_>, _: &[Bytes]) -> Reply {
    Reply::Array(
        s.core
            .acl
            .users()
            .iter()
            .map(|u| Reply::Bulk(describe_user(u).into()))
            .collect(),
    )
}

/// ACL USERS: the names, sorted.
pub fn users(s: &mut Session<'_>, _: &[Bytes]) -> Reply {
    Reply::Array(s.core.acl.names().into_iter().map(Reply::Bulk).collect())
}

/// ACL WHOAMI.
pub fn whoami(s: &mut Session<'_>, _: &[Bytes]) -> Reply {
    Reply::Bulk(s.client.user.name.clone())
}

/// ACL CAT [category]: the categories, or a category's commands.
pub fn cat(_: &mut Session<'_>, a: &[Bytes]) -> Reply {
    match a.get(2) {
        None => Reply::Array(cat::NAMES.iter().map(|(_, n)| bulk_str(*n)).collect()),
        Some(name) => match rules::category(name).filter(|c| *c != u32::MAX) {
            Some(c) => Reply::Array(rules::commands_in(c).map(bulk_str).collect()),
            None => Reply::error(format!(
                "ERR Unknown category '{}'",
                String::from_utf8_lossy(name)
            )),
        },
    }
}

/// ACL LOG [count | RESET]: the latest denials, newest first.
pub fn log(s: &mut Session<'_>, a: &[Bytes]) -> Reply {
    let count = match a.get(2) {
        None => 10,
        Some(arg) if arg.eq_ignore_ascii_case(b"reset") => {
            s.core.acl.log.reset();
            return Reply::ok();
        }
        Some(arg) => match rocksync_protocol::parse_i64(arg) {
            Some(n) => n.max(0) as usize,
            None => return Reply::error(NOT_INT),
        },
    };
    Reply::Array(
        s.core
            .acl
            .log
            .latest(count)
            .into_iter()
            .map(|e| {
                let age = e.at.elapsed().as_millis() as f64 / 1000.0;
                Reply::Map(vec![
                    (bulk_str("count"), Reply::Integer(e.count as i64)),
                    (bulk_str("reason"), bulk_str(e.reason)),
                    (bulk_str("context"), bulk_str(e.context.word())),
                    (bulk_str("object"), Reply::Bulk(e.object)),
                    (bulk_str("username"), Reply::Bulk(e.username)),
                    (bulk_str("age-seconds"), Reply::Double(age)),
                    (bulk_str("client-info"), Reply::Bulk(e.client_info.into())),
                ])
            })
            .collect(),
    )
}

const NO_ACLFILE: &str = "ERR This Redis instance is not configured to use an ACL file. You may want to specify users via the ACL SETUSER command and then issue a CONFIG REWRITE (assuming you have a Redis configuration file set) in order to store users in the Redis configuration.";

/// ACL SAVE: the users into `aclfile`.
pub fn save(s: &mut Session<'_>, _: &[Bytes]) -> Reply {
    let path = s.core.config().aclfile;
    if path.as_os_str().is_empty() {
        return Reply::error(NO_ACLFILE);
    }
    match s.core.acl.save_file(&path) {
        Ok(()) => Reply::ok(),
        Err(e) => {
            tracing::warn!(error = %e, path = %path.display(), "ACL SAVE failed");
            Reply::error("ERR There was an error trying to save the ACLs. Please check the server logs for more information")
        }
    }
}

/// ACL LOAD: the users of `aclfile` replace all (or, on an error, none
/// change); connections of users no longer there are closed.
pub fn load(s: &mut Session<'_>, _: &[Bytes]) -> Reply {
    let path = s.core.config().aclfile;
    if path.as_os_str().is_empty() {
        return Reply::error(NO_ACLFILE);
    }
    match s.core.acl.load_file(&path) {
        Ok(gone) => {
            close_connections_of(s, &gone);
            Reply::ok()
        }
        Err(e) => Reply::error(format!("ERR {e}")),
    }
}

/// ACL GENPASS [bits]: random hex, 256 bits unless told.
pub fn genpass(_: &mut Session<'_>, a: &[Bytes]) -> Reply {
    let bits = match a.get(2).map(|b| rocksync_protocol::parse_i64(b)) {
        None => 256,
        Some(Some(n)) if (1..=4096).contains(&n) => n as usize,
        Some(None) => return Reply::error(NOT_INT),
        Some(_) => {
            return Reply::error(
                "ERR ACL GENPASS argument must be the number of bits for the output password, a positive number up to 4096",
            )
        }
    };
    let chars = bits.div_ceil(4);
    let mut bytes = vec![0u8; chars.div_ceil(2)];
    if let Err(e) = std::fs::File::open("/dev/urandom").and_then(|mut f| f.read_exact(&mut bytes)) {
        return Reply::error(format!("ERR no random bytes: {e}"));
    }
    let mut hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    hex.truncate(chars);
    Reply::Bulk(hex.into())
}

/// ACL DRYRUN user command [arg ...]: whether the user could run it.
pub fn dryrun(s: &mut Session<'_>, a: &[Bytes]) -> Reply {
    let Some(user) = s.core.acl.user(&a[2]) else {
        return Reply::error(format!(
            "ERR User '{}' not found",
            String::from_utf8_lossy(&a[2])
        ));
    };
    let args = &a[3..];
    let spec = match crate::command::resolve(args) {
        Ok(spec) => spec,
        Err(_) => {
            // (an unknown subcommand names its command, as Redis)
            return Reply::error(format!(
                "ERR Command '{}' not found",
                String::from_utf8_lossy(&args[0])
            ));
        }
    };
    if !spec.meta.arity_ok(args.len()) {
        return Reply::error(format!(
            "ERR wrong number of arguments for '{}' command",
            spec.meta.name
        ));
    }
    match user.check(&spec.meta, args) {
        Ok(()) => Reply::ok(),
        Err(d) => {
            let why = match d {
                Denied::Command => format!(
                    "This user has no permissions to run the '{}' command",
                    spec.meta.name
                ),
                Denied::Key(i) => format!(
                    "This user has no permissions to access the '{}' key",
                    String::from_utf8_lossy(&args[i])
                ),
                Denied::Channel(i) => format!(
                    "This user has no permissions to access the '{}' channel",
                    String::from_utf8_lossy(&args[i])
                ),
            };
            Reply::Bulk(why.into())
        }
    }
}

/// ACL HELP.
pub fn help(_: &mut Session<'_>, _: &[Bytes]) -> Reply {
    help_lines(&[
        "ACL <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "CAT [<category>]",
        "    List all commands that belong to <category>, or all command categories",
        "    when no category is specified.",
        "DELUSER <username> [<username> ...]",
        "    Delete a list of users.",
        "DRYRUN <username> <command> [<arg> ...]",
        "    Returns whether the user can execute the given command without executing the command.",
        "GETUSER <username>",
        "    Get the user's details.",
        "GENPASS [<bits>]",
        "    Generate a secure 256-bit user password. The optional `bits` argument can",
        "    be used to specify a different size.",
        "LIST",
        "    Show users details in config file format.",
        "LOAD",
        "    Reload users from the ACL file.",
        "LOG [<count> | RESET]",
        "    Show the ACL log entries.",
        "SAVE",
        "    Save the current config to the ACL file.",
        "SETUSER <username> <attribute> [<attribute> ...]",
        "    Create or modify a user with the specified attributes.",
        "USERS",
        "    List all the registered usernames.",
        "WHOAMI",
        "    Return the current connection username.",
        "HELP",
        "    Print this help.",
    ])
}
