//! CLIENT SETNAME / GETNAME / ID / INFO / LIST / KILL / HELP.

use bytes::Bytes;
use rocksync_protocol::Reply;

use super::{bulk_str, help_lines, Session};
use crate::clients::KillFilter;
use crate::cmd::{NOT_INT, SYNTAX};

/// CLIENT SETNAME name (empty: none).
pub fn setname(s: &mut Session<'_>, a: &[Bytes]) -> Reply {
    if a[2].iter().any(|b| *b <= b' ' || *b > b'~') {
        return Reply::error(
            "ERR Client names cannot contain spaces, newlines or special characters.",
        );
    }
    *crate::lock(&s.client.info.name) = (!a[2].is_empty()).then(|| a[2].clone());
    Reply::ok()
}

/// CLIENT GETNAME.
pub fn getname(s: &mut Session<'_>, _: &[Bytes]) -> Reply {
    crate::lock(&s.client.info.name)
        .clone()
        .map_or(Reply::Nil, Reply::Bulk)
}

/// CLIENT ID.
pub fn id(s: &mut Session<'_>, _: &[Bytes]) -> Reply {
    Reply::Integer(s.client.id as i64)
}

/// CLIENT INFO: this client's CLIENT LIST line.
pub fn info(s: &mut Session<'_>, _: &[Bytes]) -> Reply {
    let me = format!("id={} ", s.client.id);
    bulk_str(
        s.core
            .clients
            .list(None)
            .lines()
            .find(|l| l.starts_with(&me))
            .map(|l| format!("{l}\n"))
            .unwrap_or_default(),
    )
}

/// CLIENT LIST [TYPE normal|pubsub|master|replica].
pub fn list(s: &mut Session<'_>, a: &[Bytes]) -> Reply {
    match a.len() {
        2 => bulk_str(s.core.clients.list(None)),
        4 if a[2].eq_ignore_ascii_case(b"type") => {
            let kind = String::from_utf8_lossy(&a[3]).to_lowercase();
            match kind.as_str() {
                "normal" | "pubsub" | "master" => bulk_str(s.core.clients.list(Some(&kind))),
                "replica" | "slave" => bulk_str(s.core.clients.list(Some("slave"))),
                _ => Reply::error(format!("ERR Unknown client type '{kind}'")),
            }
        }
        _ => Reply::error(SYNTAX),
    }
}

/// CLIENT KILL ip:port | CLIENT KILL filter value [filter value ...].
pub fn kill(s: &mut Session<'_>, a: &[Bytes]) -> Reply {
    if a.len() == 3 {
        // The old form: CLIENT KILL ip:port.
        let f = KillFilter {
            addr: Some(String::from_utf8_lossy(&a[2]).into_owned()),
            ..KillFilter::default()
        };
        return match s.core.clients.kill(&f) {
            0 => Reply::error("ERR No such client"),
            _ => Reply::ok(),
        };
    }
    if a.len() % 2 != 0 {
        return Reply::error(SYNTAX);
    }
    let me = s.client.id;
    let mut f = KillFilter {
        skip_me: Some(me),
        ..KillFilter::default()
    };
    for pair in a[2..].chunks(2) {
        let v = String::from_utf8_lossy(&pair[1]).into_owned();
        match pair[0].to_ascii_lowercase().as_slice() {
            b"id" => match v.parse() {
                Ok(id) => f.id = Some(id),
                Err(_) => return Reply::error("ERR client-id should be greater than 0"),
            },
            b"addr" => f.addr = Some(v),
            b"laddr" => f.laddr = Some(v),
            b"type" => {
                let k = v.to_lowercase();
                if !matches!(
                    k.as_str(),
                    "normal" | "pubsub" | "master" | "slave" | "replica"
                ) {
                    return Reply::error(format!("ERR Unknown client type '{v}'"));
                }
                f.kind = Some(k);
            }
            b"skipme" => match v.to_lowercase().as_str() {
                "yes" => f.skip_me = Some(me),
                "no" => f.skip_me = None,
                _ => return Reply::error(SYNTAX),
            },
            b"user" => f.user = Some(v),
            b"maxage" => match v.parse() {
                Ok(secs) => f.max_age_secs = Some(secs),
                Err(_) => return Reply::error(NOT_INT),
            },
            _ => return Reply::error(SYNTAX),
        }
    }
    Reply::Integer(s.core.clients.kill(&f) as i64)
}

/// CLIENT SETINFO attr value: accepted and ignored (clients send it at
/// connect).
pub fn setinfo(_: &mut Session<'_>, _: &[Bytes]) -> Reply {
    Reply::ok()
}

/// CLIENT HELP.
pub fn help(_: &mut Session<'_>, _: &[Bytes]) -> Reply {
    help_lines(&[
        "CLIENT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "GETNAME",
        "    Return the name of the current connection.",
        "ID",
        "    Return the ID of the current connection.",
        "INFO",
        "    Return information about the current client connection.",
        "KILL <ip:port>",
        "    Kill connection made from <ip:port>.",
        "KILL <option> <value> [<option> <value> [...]]",
        "    Kill connections. Options are: ID, TYPE, USER, ADDR, LADDR, SKIPME, MAXAGE.",
        "LIST [TYPE (NORMAL|MASTER|REPLICA|PUBSUB)]",
        "    Return information about client connections.",
        "SETNAME <name>",
        "    Assign the name <name> to the current connection.",
        "HELP",
        "    Prints this help.",
    ])
}
