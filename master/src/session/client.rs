//! CLIENT SETNAME / GETNAME / ID / INFO / LIST / KILL / HELP, and
//! client-side caching's TRACKING / CACHING / TRACKINGINFO / GETREDIR.

use bytes::Bytes;
use rocksync_protocol::Reply;

use super::{help_lines, Session};
use crate::clients::KillFilter;
use crate::cmd::{NOT_INT, SYNTAX};
use crate::tracking::Options;

/// CLIENT SETNAME name (empty: none).
pub fn setname(s: &mut Session<'_>, a: &[Bytes]) -> Reply {
    match set_name(s, &a[2]) {
        Ok(()) => Reply::ok(),
        Err(e) => e,
    }
}

/// Name the client (empty: no name), as CLIENT SETNAME and HELLO do.
///
/// # Errors
/// Redis's, for a name with spaces or special characters.
pub fn set_name(s: &mut Session<'_>, name: &Bytes) -> Result<(), Reply> {
    if name.iter().any(|b| *b <= b' ' || *b > b'~') {
        return Err(Reply::error(
            "ERR Client names cannot contain spaces, newlines or special characters.",
        ));
    }
    *crate::lock(&s.client.info.name) = (!name.is_empty()).then(|| name.clone());
    Ok(())
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
    Reply::text(format!("{}\n", s.core.clients.line(s.client.id)))
}

/// CLIENT LIST [TYPE normal|pubsub|master|replica].
pub fn list(s: &mut Session<'_>, a: &[Bytes]) -> Reply {
    match a.len() {
        2 => Reply::text(s.core.clients.list(None)),
        4 if a[2].eq_ignore_ascii_case(b"type") => {
            let kind = String::from_utf8_lossy(&a[3]).to_lowercase();
            match kind.as_str() {
                "normal" | "pubsub" | "master" => Reply::text(s.core.clients.list(Some(&kind))),
                "replica" | "slave" => Reply::text(s.core.clients.list(Some("slave"))),
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
            b"user" => f.user = Some(pair[1].clone()),
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

/// CLIENT TRACKING ON|OFF [REDIRECT id] [PREFIX prefix ...] [BCAST]
/// [OPTIN] [OPTOUT] [NOLOOP], with Redis's checks in Redis's order.
pub fn tracking(s: &mut Session<'_>, a: &[Bytes]) -> Reply {
    let mut o = Options::default();
    let mut j = 3;
    while j < a.len() {
        let more = j + 1 < a.len();
        match a[j].to_ascii_lowercase().as_slice() {
            b"redirect" if more => {
                j += 1;
                if o.redirect != 0 {
                    return Reply::error("ERR A client can only redirect to a single other client");
                }
                let Some(id) = rocksync_protocol::parse_i64(&a[j]) else {
                    return Reply::error(NOT_INT);
                };
                if !s.core.clients.exists(id as u64) {
                    return Reply::error("ERR The client ID you want redirect to does not exist");
                }
                o.redirect = id as u64;
            }
            b"bcast" => o.bcast = true,
            b"optin" => o.optin = true,
            b"optout" => o.optout = true,
            b"noloop" => o.noloop = true,
            b"prefix" if more => {
                j += 1;
                o.prefixes.push(a[j].clone());
            }
            _ => return Reply::error(SYNTAX),
        }
        j += 1;
    }
    let tracking = &s.core.engine.tracking;
    match a[2].to_ascii_lowercase().as_slice() {
        b"on" => {
            if !o.bcast && !o.prefixes.is_empty() {
                return Reply::error("ERR PREFIX option requires BCAST mode to be enabled");
            }
            let old = s.client.tracking.clone();
            if old.as_ref().is_some_and(|old| old.bcast != o.bcast) {
                return Reply::error("ERR You can't switch BCAST mode on/off before disabling tracking for this client, and then re-enabling it with a different mode.");
            }
            if o.bcast && (o.optin || o.optout) {
                return Reply::error("ERR OPTIN and OPTOUT are not compatible with BCAST");
            }
            if o.optin && o.optout {
                return Reply::error("ERR You can't specify both OPTIN mode and OPTOUT mode");
            }
            if old
                .as_ref()
                .is_some_and(|old| (o.optin && old.optout) || (o.optout && old.optin))
            {
                return Reply::error("ERR You can't switch OPTIN/OPTOUT mode before disabling tracking for this client, and then re-enabling it with a different mode.");
            }
            let existing = old.map(|old| old.prefixes).unwrap_or_default();
            if let Some(e) = prefix_collision(&existing, &o.prefixes) {
                return e;
            }
            // Prefixes add up across CLIENT TRACKING ON calls.
            o.prefixes = existing.into_iter().chain(o.prefixes).collect();
            s.client.open_inbox(tracking);
            s.client.tracking = Some(o.clone());
            tracking.enable(s.client.id, o);
        }
        b"off" => {
            tracking.disable(s.client.id);
            s.client.tracking = None;
            s.client.caching = None;
            s.client.subscriptions_changed(tracking);
        }
        _ => return Reply::error(SYNTAX),
    }
    Reply::ok()
}

/// Redis's refusal of BCAST prefixes where one is a prefix of another.
fn prefix_collision(existing: &[Bytes], new: &[Bytes]) -> Option<Reply> {
    let overlaps = |a: &Bytes, b: &Bytes| a.starts_with(b) || b.starts_with(a);
    for (i, p) in new.iter().enumerate() {
        if let Some(e) = existing.iter().find(|e| overlaps(p, e)) {
            return Some(Reply::error(format!(
                "ERR Prefix '{}' overlaps with an existing prefix '{}'. Prefixes for a single client must not overlap.",
                String::from_utf8_lossy(p),
                String::from_utf8_lossy(e)
            )));
        }
        if let Some(q) = new[i + 1..].iter().find(|q| overlaps(p, q)) {
            return Some(Reply::error(format!(
                "ERR Prefix '{}' overlaps with another provided prefix '{}'. Prefixes for a single client must not overlap.",
                String::from_utf8_lossy(p),
                String::from_utf8_lossy(q)
            )));
        }
    }
    None
}

/// CLIENT CACHING YES|NO: whether the next command's reads are tracked
/// (OPTIN and OPTOUT modes).
pub fn caching(s: &mut Session<'_>, a: &[Bytes]) -> Reply {
    let Some(o) = &s.client.tracking else {
        return Reply::error("ERR CLIENT CACHING can be called only when the client is in tracking mode with OPTIN or OPTOUT mode enabled");
    };
    match a[2].to_ascii_lowercase().as_slice() {
        b"yes" if o.optin => s.client.caching = Some(true),
        b"yes" => {
            return Reply::error(
                "ERR CLIENT CACHING YES is only valid when tracking is enabled in OPTIN mode.",
            )
        }
        b"no" if o.optout => s.client.caching = Some(false),
        b"no" => {
            return Reply::error(
                "ERR CLIENT CACHING NO is only valid when tracking is enabled in OPTOUT mode.",
            )
        }
        _ => return Reply::error(SYNTAX),
    }
    Reply::ok()
}

/// CLIENT TRACKINGINFO: a map of the flags, the redirect and the prefixes.
pub fn trackinginfo(s: &mut Session<'_>, _: &[Bytes]) -> Reply {
    let c = &s.client;
    let mut flags = Vec::new();
    let (redirect, prefixes) = match &c.tracking {
        None => {
            flags.push("off");
            (-1, Vec::new())
        }
        Some(o) => {
            flags.push("on");
            if o.bcast {
                flags.push("bcast");
            }
            if o.optin {
                flags.push("optin");
                if c.caching.is_some() {
                    flags.push("caching-yes");
                }
            }
            if o.optout {
                flags.push("optout");
                if c.caching.is_some() {
                    flags.push("caching-no");
                }
            }
            if o.noloop {
                flags.push("noloop");
            }
            if s.core.engine.tracking.broken(c.id) {
                flags.push("broken_redirect");
            }
            let mut prefixes = o.prefixes.clone();
            prefixes.sort();
            (o.redirect as i64, prefixes)
        }
    };
    let bulk = |t: &str| Reply::Bulk(Bytes::copy_from_slice(t.as_bytes()));
    Reply::Map(vec![
        (
            bulk("flags"),
            Reply::Set(flags.into_iter().map(bulk).collect()),
        ),
        (bulk("redirect"), Reply::Integer(redirect)),
        (
            bulk("prefixes"),
            Reply::Array(prefixes.into_iter().map(Reply::Bulk).collect()),
        ),
    ])
}

/// CLIENT GETREDIR: the client invalidations go to (0: this one; -1: not
/// tracking).
pub fn getredir(s: &mut Session<'_>, _: &[Bytes]) -> Reply {
    Reply::Integer(s.client.tracking.as_ref().map_or(-1, |o| o.redirect as i64))
}
