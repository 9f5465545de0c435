//! COMMAND answers from the one command table as redis-server 7.0 does:
//! COMMAND INFO and COMMAND GETKEYS are compared, command by command,
//! with a live redis-server for every command both have.

mod common;

use common::{InProc, RedisServer};
use redis::Value;

fn query(c: &mut redis::Connection, args: &[&str]) -> Result<Value, String> {
    let mut cmd = redis::cmd(args[0]);
    for a in &args[1..] {
        cmd.arg(*a);
    }
    cmd.query::<Value>(c).map_err(|e| {
        // The error's text, without the client's own wording around it.
        e.detail().map_or_else(|| e.to_string(), str::to_owned)
    })
}

fn text(v: &Value) -> Option<String> {
    match v {
        Value::BulkString(b) => Some(String::from_utf8_lossy(b).into_owned()),
        Value::SimpleString(s) => Some(s.clone()),
        Value::Okay => Some("OK".into()),
        _ => None,
    }
}

fn items(v: &Value) -> &[Value] {
    match v {
        Value::Array(a) => a,
        _ => &[],
    }
}

/// A key spec without its "notes" (Redis's prose; ours has none).
fn without_notes(spec: &Value) -> Value {
    let a = items(spec);
    let mut out = Vec::new();
    for pair in a.chunks(2) {
        if text(&pair[0]).as_deref() != Some("notes") {
            out.extend_from_slice(pair);
        }
    }
    Value::Array(out)
}

/// COMMAND INFO's ten fields, key specs without notes, subcommands kept
/// apart (compared one by one).
fn split_info(v: &Value) -> (Vec<Value>, Vec<Value>) {
    let a = items(v).to_vec();
    assert_eq!(a.len(), 10, "COMMAND INFO has ten fields: {v:?}");
    let mut head = a[..8].to_vec();
    head.push(Value::Array(
        items(&a[8]).iter().map(without_notes).collect(),
    ));
    (head, items(&a[9]).to_vec())
}

/// No difference, over more than `at_least` comparisons.
fn all_alike(differ: &[String], compared: usize, at_least: usize) {
    assert!(
        differ.is_empty(),
        "{} differ:\n{}",
        differ.len(),
        differ.join("\n")
    );
    assert!(compared > at_least, "only {compared} compared");
}

/// A redis-server 7.0, the version whose metadata the table carries (a
/// later one adds commands, tips and flags of its own).
fn redis_7_0() -> RedisServer {
    let redis = RedisServer::start(&[]);
    let info: String = redis::cmd("INFO")
        .arg("server")
        .query(&mut redis.client())
        .expect("info");
    assert!(
        info.contains("redis_version:7.0."),
        "these tests compare with redis-server 7.0 (Debian bookworm's): {}",
        info.lines()
            .find(|l| l.starts_with("redis_version"))
            .unwrap_or("?")
    );
    redis
}

fn name_of(info: &Value) -> String {
    items(info).first().and_then(text).unwrap_or_default()
}

#[test]
fn command_info_matches_redis_for_every_command_both_have() {
    let ours = InProc::start();
    let redis = redis_7_0();
    let (mut o, mut r) = (ours.client(), redis.client());
    let names = match query(&mut o, &["COMMAND", "LIST"]).expect("list") {
        Value::Array(a) => a.iter().filter_map(text).collect::<Vec<_>>(),
        other => panic!("COMMAND LIST: {other:?}"),
    };
    let mut compared = 0;
    let mut differ = Vec::new();
    for name in names.iter().filter(|n| !n.contains('|')) {
        let theirs = query(&mut r, &["COMMAND", "INFO", name]).expect("redis info");
        let theirs = items(&theirs)[0].clone();
        if theirs == Value::Nil {
            // Ours alone (SYNC140, PURGE).
            continue;
        }
        let mine = query(&mut o, &["COMMAND", "INFO", name]).expect("our info");
        let (mine, mine_subs) = split_info(&items(&mine)[0]);
        let (theirs, their_subs) = split_info(&theirs);
        if mine != theirs {
            differ.push(format!("{name}:\n  ours   {mine:?}\n  redis  {theirs:?}"));
        }
        for sub in &mine_subs {
            let Some(t) = their_subs.iter().find(|t| name_of(t) == name_of(sub)) else {
                continue;
            };
            if split_info(sub).0 != split_info(t).0 {
                differ.push(format!(
                    "{}:\n  ours   {sub:?}\n  redis  {t:?}",
                    name_of(sub)
                ));
            }
            compared += 1;
        }
        compared += 1;
    }
    // Every data command is Redis's: the comparison covered the table.
    all_alike(&differ, compared, 190);
}

/// A command line for `info` that its key specs can read: filler
/// arguments, its arity met with some to spare, a count of 2 wherever a
/// key spec reads a count.
fn sample_line(info: &Value) -> Vec<String> {
    let a = items(info);
    let name = text(&a[0]).unwrap_or_default();
    let arity = match a[1] {
        Value::Int(n) => n,
        _ => 0,
    };
    let mut line: Vec<String> = name.split('|').map(str::to_owned).collect();
    let fixed = line.len();
    let total = if arity < 0 { -arity + 3 } else { arity } as usize;
    for i in fixed..total {
        line.push(format!("k{i}"));
    }
    for spec in items(&a[8]) {
        let s = items(spec);
        let field = |key: &str| {
            s.chunks(2)
                .find(|p| text(&p[0]).as_deref() == Some(key))
                .map(|p| p[1].clone())
        };
        let (Some(begin), Some(find)) = (field("begin_search"), field("find_keys")) else {
            continue;
        };
        let spec_int = |v: &Value, key: &str| -> Option<i64> {
            items(&items(v)[3])
                .chunks(2)
                .find_map(|p| match (&p[0], &p[1]) {
                    (k, Value::Int(n)) if text(k).as_deref() == Some(key) => Some(*n),
                    _ => None,
                })
        };
        if text(&items(&find)[1]).as_deref() == Some("keynum") {
            if let (Some(at), Some(idx)) = (spec_int(&begin, "index"), spec_int(&find, "keynumidx"))
            {
                if let Some(slot) = line.get_mut((at + idx) as usize) {
                    *slot = "2".into();
                }
            }
        }
    }
    line
}

#[test]
fn command_getkeys_matches_redis_for_every_command_both_have() {
    let ours = InProc::start();
    let redis = redis_7_0();
    let (mut o, mut r) = (ours.client(), redis.client());
    let all = query(&mut o, &["COMMAND"]).expect("command");
    let mut lines: Vec<Vec<String>> = Vec::new();
    for info in items(&all) {
        let subs = items(&items(info)[9]);
        for c in std::iter::once(info).chain(subs) {
            if !items(&items(c)[8]).is_empty() {
                lines.push(sample_line(c));
            }
        }
    }
    // Lines whose keys move with their options.
    for line in [
        "SORT k BY w* GET # STORE dst",
        "SORT k LIMIT 0 1 STORE a STORE b",
        "SORT_RO k BY w*",
        "ZUNIONSTORE d 3 a b c WEIGHTS 1 2 3",
        "ZINTER 2 a b WITHSCORES",
        "BLMPOP 0 3 a b c LEFT COUNT 2",
        "LMPOP 1 a RIGHT",
        "MSET a 1 b 2 c 3",
        "SET k v GET",
        "OBJECT ENCODING k",
        "SINTERCARD 2 a b LIMIT 1",
        "ZUNIONSTORE d -1 a",
        "ZUNIONSTORE d x a",
    ] {
        lines.push(line.split(' ').map(str::to_owned).collect());
    }
    let mut compared = 0;
    let mut differ = Vec::new();
    for line in &lines {
        let args: Vec<&str> = ["COMMAND", "GETKEYS"]
            .into_iter()
            .chain(line.iter().map(String::as_str))
            .collect();
        let theirs = query(&mut r, &args);
        if matches!(&theirs, Err(e) if e.contains("Invalid command specified")) {
            continue;
        }
        let mine = query(&mut o, &args);
        if mine != theirs {
            differ.push(format!("{line:?}: ours {mine:?}, redis {theirs:?}"));
        }
        compared += 1;
    }
    all_alike(&differ, compared, 150);
}
