//! What each command's flags promise, walked over the whole table as
//! COMMAND lists it, on real nodes: a write is refused on a slave and a
//! read is not; a no_multi command is refused inside MULTI and any other
//! queued; a subscribed client may call exactly Redis's few; every
//! command but the no_auth ones needs AUTH; while a slave copies, only the
//! loading ones run.

mod common;

use std::time::Duration;

use common::{free_port, load, wait_synced, wait_until, Node};
use redis::Value;
use tempfile::TempDir;

const LONG: Duration = Duration::from_secs(60);

/// One command or subcommand of the table: its name, a command line that
/// meets its arity (filler arguments), and its flags.
struct Entry {
    name: String,
    line: Vec<String>,
    flags: Vec<String>,
}

impl Entry {
    fn has(&self, flag: &str) -> bool {
        self.flags.iter().any(|f| f == flag)
    }
}

fn text(v: &Value) -> String {
    match v {
        Value::BulkString(b) => String::from_utf8_lossy(b).into_owned(),
        Value::SimpleString(s) => s.clone(),
        Value::Okay => "OK".into(),
        _ => String::new(),
    }
}

fn items(v: &Value) -> &[Value] {
    match v {
        Value::Array(a) => a,
        _ => &[],
    }
}

fn entry(info: &Value) -> Entry {
    let a = items(info);
    let name = text(&a[0]);
    let arity = match a[1] {
        Value::Int(n) => n,
        _ => 0,
    };
    let mut line: Vec<String> = name.split('|').map(str::to_owned).collect();
    let total = if arity < 0 { -arity + 1 } else { arity } as usize;
    for i in line.len()..total {
        line.push(format!("k{i}"));
    }
    Entry {
        name,
        line,
        flags: items(&a[2]).iter().map(text).collect(),
    }
}

/// Every command and subcommand, from COMMAND. A container itself is
/// left out (its subcommands carry the flags).
fn table(node: &Node) -> Vec<Entry> {
    let all: Value = redis::cmd("COMMAND")
        .query(&mut node.client())
        .expect("COMMAND");
    let mut out = Vec::new();
    for info in items(&all) {
        let subs = items(&items(info)[9]);
        if subs.is_empty() {
            out.push(entry(info));
        }
        out.extend(subs.iter().map(entry));
    }
    assert!(out.len() > 190, "COMMAND lists {}", out.len());
    out
}

/// Send `line` on `c`; the error's text, or None for a reply.
fn error_of(c: &mut redis::Connection, line: &[String]) -> Option<String> {
    let mut cmd = redis::cmd(&line[0]);
    for a in &line[1..] {
        cmd.arg(a);
    }
    match cmd.query::<Value>(c) {
        Ok(_) => None,
        Err(e) => Some(format!(
            "{} {}",
            e.code().unwrap_or(""),
            e.detail().unwrap_or("")
        )),
    }
}

/// Lines that must not run with filler arguments: they stop the node.
fn harmless(e: &Entry) -> bool {
    !matches!(e.name.as_str(), "shutdown")
}

#[test]
fn a_write_is_readonly_on_a_slave_and_a_read_is_not() {
    let tmp = TempDir::new().expect("tmp");
    let m = Node::master(&tmp.path().join("m"), 0, &[]);
    let s = Node::slave(&tmp.path().join("s"), free_port(), m.addr, &[]);
    wait_synced(&m, &s, LONG);
    let mut wrong = Vec::new();
    let (mut writes, mut reads) = (0, 0);
    for e in table(&s) {
        if !e.has("write") && !e.has("readonly") {
            continue;
        }
        let err = error_of(&mut s.client(), &e.line).unwrap_or_default();
        let readonly = err.starts_with("READONLY");
        if e.has("write") {
            writes += 1;
        } else {
            reads += 1;
        }
        if readonly != e.has("write") {
            wrong.push(format!("{}: {err:?}", e.name));
        }
    }
    assert!(wrong.is_empty(), "{wrong:#?}");
    assert!(writes > 60 && reads > 60, "{writes} writes, {reads} reads");
}

#[test]
fn a_no_multi_command_is_refused_inside_multi_and_others_are_queued() {
    let tmp = TempDir::new().expect("tmp");
    let m = Node::master(&tmp.path().join("m"), 0, &[]);
    let mut wrong = Vec::new();
    let mut refused = 0;
    for e in table(&m) {
        // These act at once inside MULTI, as in Redis.
        if matches!(
            e.name.as_str(),
            "multi" | "exec" | "discard" | "watch" | "quit" | "reset"
        ) {
            continue;
        }
        let mut c = m.client();
        redis::cmd("MULTI").query::<()>(&mut c).expect("multi");
        let err = error_of(&mut c, &e.line);
        let not_allowed = err
            .as_deref()
            .is_some_and(|t| t.contains("not allowed inside a transaction"));
        // Ours beyond Redis: a subscription's confirmations cannot be
        // one of EXEC's replies, and FUNCTION's writes (checked against
        // the catalog when they run) wait until an EXEC can hold them in
        // its unit. (Scripts and functions are queued: an EXEC runs them
        // in their turn.)
        let expected = e.has("no_multi")
            || e.name.contains("subscribe")
            || (e.name.starts_with("function|") && e.has("write"));
        refused += usize::from(not_allowed);
        if not_allowed != expected || (!expected && err.is_some()) {
            wrong.push(format!("{}: {err:?}", e.name));
        }
        redis::cmd("DISCARD").query::<()>(&mut c).expect("discard");
    }
    assert!(wrong.is_empty(), "{wrong:#?}");
    assert!(refused >= 4, "only {refused} refused");
}

#[test]
fn a_subscribed_client_may_call_exactly_the_allowed_commands() {
    let tmp = TempDir::new().expect("tmp");
    let m = Node::master(&tmp.path().join("m"), 0, &[]);
    // Redis's rule for RESP2 subscribers.
    let allowed = [
        "subscribe",
        "psubscribe",
        "unsubscribe",
        "punsubscribe",
        "ping",
        "quit",
        "reset",
    ];
    let mut wrong = Vec::new();
    for e in table(&m) {
        let mut c = m.client();
        let _: Value = redis::cmd("SUBSCRIBE")
            .arg("news")
            .query(&mut c)
            .expect("subscribe");
        let mut cmd = redis::cmd(&e.line[0]);
        for a in &e.line[1..] {
            cmd.arg(a);
        }
        c.send_packed_command(&cmd.get_packed_command())
            .expect("send");
        // An error reply comes back as a value or as an error, by kind.
        let reply = format!("{:?}", c.recv_response());
        let refused = reply.contains("only (P|S)SUBSCRIBE");
        if refused == allowed.contains(&e.name.as_str()) {
            wrong.push(format!("{}: {reply:?}", e.name));
        }
    }
    assert!(wrong.is_empty(), "{wrong:#?}");
}

#[test]
fn every_command_but_the_no_auth_ones_needs_auth() {
    let tmp = TempDir::new().expect("tmp");
    let m = Node::master(&tmp.path().join("m"), 0, &["--requirepass", "sesame"]);
    let mut authed = m.client();
    redis::cmd("AUTH")
        .arg("sesame")
        .query::<()>(&mut authed)
        .expect("auth");
    let all: Value = redis::cmd("COMMAND").query(&mut authed).expect("COMMAND");
    let mut entries = Vec::new();
    for info in items(&all) {
        let subs = items(&items(info)[9]);
        if subs.is_empty() {
            entries.push(entry(info));
        }
        entries.extend(subs.iter().map(entry));
    }
    let mut wrong = Vec::new();
    let mut refused = 0;
    for e in entries.iter().filter(|e| harmless(e)) {
        let err = error_of(&mut m.client(), &e.line).unwrap_or_default();
        let noauth = err.starts_with("NOAUTH");
        refused += usize::from(noauth);
        if noauth == e.has("no_auth") {
            wrong.push(format!("{}: {err:?}", e.name));
        }
    }
    assert!(wrong.is_empty(), "{wrong:#?}");
    assert!(refused > 190, "only {refused} refused");
}

#[test]
fn while_a_slave_copies_only_the_loading_commands_run() {
    let tmp = TempDir::new().expect("tmp");
    let m = Node::master(&tmp.path().join("m"), 0, &["--sync-speed", "1"]);
    // About 36 MB at 1 MB/s: the copy outlasts the walk (a second or
    // two) many times over, and the test says so if it did not.
    load(&m, "a", 60_000, 1000);
    let s = Node::slave(&tmp.path().join("s"), free_port(), m.addr, &[]);
    let entries = table(&s);
    wait_until("the copy to start", LONG, || {
        s.field("persistence", "loading").as_deref() == Some("1")
    });
    let mut wrong = Vec::new();
    for e in entries.iter().filter(|e| harmless(e)) {
        let err = error_of(&mut s.client(), &e.line).unwrap_or_default();
        // A write is refused as on any slave (READONLY comes first, as in
        // Redis); anything else without the flag is refused as loading.
        let refused = err.starts_with("LOADING") || (e.has("write") && err.starts_with("READONLY"));
        // Ours beyond Redis: a slave in the middle of a copy may be
        // re-pointed (or told why it cannot be promoted).
        let runs = e.has("loading") || matches!(e.name.as_str(), "slaveof" | "replicaof");
        if refused == runs {
            wrong.push(format!("{}: {err:?}", e.name));
        }
    }
    assert_eq!(
        s.field("persistence", "loading").as_deref(),
        Some("1"),
        "the copy ended during the walk: the test saw a loaded node"
    );
    assert!(wrong.is_empty(), "{wrong:#?}");
}
