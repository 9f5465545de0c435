//! Connection commands: PING, ECHO, QUIT, AUTH, HELLO, SELECT.

use bytes::Bytes;
use rocksync_protocol::{Proto, Reply};

use super::{bulk_str, wrong_arity, After, Session};
use crate::cmd::{NOT_INT, SYNTAX};
use crate::info;

/// PING [message]: PONG, or the message (a subscriber gets both in an
/// array, as Redis answers in RESP2).
pub fn ping(s: &mut Session<'_>, a: &[Bytes]) -> Reply {
    match a.len() {
        1 | 2 if s.client.subscriptions() > 0 && s.client.proto == Proto::Resp2 => {
            Reply::Array(vec![
                bulk_str("pong"),
                Reply::Bulk(a.get(1).cloned().unwrap_or_default()),
            ])
        }
        1 => Reply::Simple("PONG".into()),
        2 => Reply::Bulk(a[1].clone()),
        _ => wrong_arity("ping"),
    }
}

/// ECHO message.
pub fn echo(_: &mut Session<'_>, a: &[Bytes]) -> Reply {
    Reply::Bulk(a[1].clone())
}

/// QUIT: OK, then the connection closes.
pub fn quit(s: &mut Session<'_>, _: &[Bytes]) -> Reply {
    s.after = After::Close;
    Reply::ok()
}

/// AUTH [user] password: the connection is that user from now on
/// (`default` when no user is named).
pub fn auth(s: &mut Session<'_>, a: &[Bytes]) -> Reply {
    match a.len() {
        2 => {
            if s.core.acl.default_user().needs_no_auth() {
                return Reply::error("ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?");
            }
            check_auth(s, crate::acl::DEFAULT, &a[1], &a[0])
        }
        3 => check_auth(s, &a[1], &a[2], &a[0]),
        _ => Reply::error(SYNTAX),
    }
}

/// Authenticate as `user` with `password`; a failure enters ACL LOG
/// (under `command`, as the client spelt it).
fn check_auth(s: &mut Session<'_>, user: &[u8], password: &[u8], command: &Bytes) -> Reply {
    match s.core.acl.authenticate(user, password) {
        Some(u) => {
            s.client.become_user(u);
            s.client.authenticated = true;
            Reply::ok()
        }
        None => {
            s.core.acl.log.add(crate::acl::LogEntry {
                count: 1,
                reason: "auth",
                context: crate::acl::Context::Toplevel,
                object: command.clone(),
                username: Bytes::copy_from_slice(user),
                at: std::time::Instant::now(),
                client_info: s.core.clients.line(s.client.id),
            });
            Reply::error(crate::acl::WRONGPASS)
        }
    }
}

/// HELLO [protover [AUTH user pass] [SETNAME name]]: the protocol
/// switches (RESP2 or RESP3) once everything else succeeded, and the
/// server's map is the first reply in it.
pub fn hello(s: &mut Session<'_>, a: &[Bytes]) -> Reply {
    let mut i = 1;
    let mut proto = s.client.proto;
    if let Some(v) = a.get(1) {
        match rocksync_protocol::parse_i64(v) {
            Some(2) => proto = Proto::Resp2,
            Some(3) => proto = Proto::Resp3,
            Some(_) => return Reply::error("NOPROTO unsupported protocol version"),
            None => return Reply::error("ERR Protocol version is not an integer or out of range"),
        }
        i = 2;
    }
    // Applied in order as read, as Redis 7.0 does (a syntax error after
    // SETNAME leaves the name set).
    while i < a.len() {
        match (
            a[i].to_ascii_lowercase().as_slice(),
            a.get(i + 1),
            a.get(i + 2),
        ) {
            (b"auth", Some(user), Some(pass)) => {
                if let Reply::Error(e) = check_auth(s, user, pass, &a[0]) {
                    return Reply::Error(e);
                }
                i += 3;
            }
            (b"setname", Some(name), _) => {
                if let Err(e) = super::client::set_name(s, name) {
                    return e;
                }
                i += 2;
            }
            _ => {
                return Reply::error(format!(
                    "ERR Syntax error in HELLO option '{}'",
                    String::from_utf8_lossy(&a[i])
                ))
            }
        }
    }
    if !s.client.authenticated {
        return Reply::error("NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO <proto> AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time");
    }
    let role = if s.core.is_read_only() {
        "replica"
    } else {
        "master"
    };
    s.client.set_proto(proto);
    Reply::Map(vec![
        (bulk_str("server"), bulk_str("redis")),
        (bulk_str("version"), bulk_str(info::REDIS_VERSION)),
        (bulk_str("proto"), Reply::Integer(proto.version())),
        (bulk_str("id"), Reply::Integer(s.client.id as i64)),
        (bulk_str("mode"), bulk_str("standalone")),
        (bulk_str("role"), bulk_str(role)),
        (bulk_str("modules"), Reply::Array(vec![])),
    ])
}

/// SELECT index: only database 0 exists.
pub fn select(_: &mut Session<'_>, a: &[Bytes]) -> Reply {
    match &a[1][..] {
        b"0" => Reply::ok(),
        other if rocksync_protocol::parse_i64(other).is_some() => {
            Reply::error("ERR DB index is out of range")
        }
        _ => Reply::error(NOT_INT),
    }
}

/// RESET: the connection as it was when it opened (no transaction, WATCH
/// or subscriptions, RESP2, no name, authenticated only when no password
/// is set), as Redis's RESET leaves it.
pub fn reset(s: &mut Session<'_>, _: &[Bytes]) -> Reply {
    let client = &mut *s.client;
    client.multi = None;
    client.multi_dirty = false;
    client
        .info
        .in_multi
        .store(false, std::sync::atomic::Ordering::Relaxed);
    s.core.engine.watches.unwatch(&mut client.watch);
    for ch in std::mem::take(&mut client.channels) {
        s.core.pubsub.unsubscribe(false, &ch, client.id);
    }
    for p in std::mem::take(&mut client.patterns) {
        s.core.pubsub.unsubscribe(true, &p, client.id);
    }
    s.core.engine.tracking.disable(client.id);
    client.tracking = None;
    client.caching = None;
    client.subscriptions_changed(&s.core.engine.tracking);
    client.set_proto(Proto::Resp2);
    *crate::lock(&client.info.name) = None;
    let default = s.core.acl.default_user();
    client.authenticated = default.needs_no_auth();
    client.become_user(default);
    Reply::Simple("RESET".into())
}
