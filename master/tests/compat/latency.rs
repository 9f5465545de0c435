//! LATENCY and INFO's command sections: LATENCY's replies as
//! redis-server gives them (help, an empty or disabled monitor, errors),
//! and, rocksync alone, spikes recorded at the threshold and the
//! per-command and per-error counters INFO reports.

use super::common::InProc;
use super::scripting::assert_cases;
use super::Raw;

const CASES: &[&[&str]] = &[
    &["LATENCY", "HELP"],
    &["LATENCY", "DOCTOR"],
    &["LATENCY", "LATEST"],
    &["LATENCY", "HISTORY", "command"],
    &["LATENCY", "RESET"],
    &["LATENCY", "RESET", "command", "nosuch"],
    &["LATENCY", "GRAPH", "command"],
    &["LATENCY"],
    &["LATENCY", "HISTORY"],
    &["LATENCY", "NOSUCH"],
    &["CONFIG", "SET", "latency-monitor-threshold", "100000"],
    &["CONFIG", "GET", "latency-monitor-threshold"],
    &["LATENCY", "DOCTOR"],
    &["LATENCY", "LATEST"],
    &["CONFIG", "SET", "latency-monitor-threshold", "0"],
];

#[test]
fn latency_matches_redis_server_in_resp2() {
    assert_cases(CASES, "2");
}

#[test]
fn latency_matches_redis_server_in_resp3() {
    assert_cases(CASES, "3");
}

fn text(c: &mut Raw, args: &[&str]) -> String {
    String::from_utf8_lossy(&c.call_bytes(args)).into_owned()
}

/// A command past the threshold is a spike of the `command` event; the
/// counters count calls, failures, refusals and errors by their prefix.
#[test]
fn spikes_and_command_counters_are_recorded() {
    let ours = InProc::start();
    let mut c = Raw::connect(ours.addr);
    // (a threshold no other command of the test comes near on a busy
    // machine)
    text(
        &mut c,
        &["CONFIG", "SET", "latency-monitor-threshold", "200"],
    );
    text(&mut c, &["DEBUG", "SLEEP", "0.3"]);
    let latest = text(&mut c, &["LATENCY", "LATEST"]);
    assert!(latest.contains("*4\r\n$7\r\ncommand\r\n"), "{latest}");
    let history = text(&mut c, &["LATENCY", "HISTORY", "command"]);
    assert!(history.starts_with("*1\r\n*2\r\n"), "{history}");
    let doctor = text(&mut c, &["LATENCY", "DOCTOR"]);
    assert!(doctor.contains("command: 1 latency spikes"), "{doctor}");
    let reset = text(&mut c, &["LATENCY", "RESET"]);
    assert!(reset.starts_with(':') && reset != ":0\r\n", "{reset}");
    assert_eq!(text(&mut c, &["LATENCY", "HISTORY", "command"]), "*0\r\n");
    text(&mut c, &["CONFIG", "SET", "latency-monitor-threshold", "0"]);

    text(&mut c, &["SET", "k", "v"]);
    text(&mut c, &["SET", "k", "v", "XX", "NX"]);
    text(&mut c, &["LPUSH", "k", "x"]);
    text(&mut c, &["GET"]);
    // A pipelined run of GETs, answered by one lookup, counts each.
    let mut run = bytes::BytesMut::new();
    for _ in 0..3 {
        rocksync_protocol::put_command(&mut run, &["GET", "k"]);
    }
    std::io::Write::write_all(&mut c.stream, &run).expect("send");
    for _ in 0..3 {
        assert_eq!(c.next_bytes(), b"$1\r\nv\r\n");
    }
    text(&mut c, &["NOSUCHCOMMAND"]);
    let stats = text(&mut c, &["INFO", "commandstats"]);
    assert!(stats.contains("cmdstat_set:calls=2,"), "{stats}");
    assert!(stats.contains("failed_calls=1\r\n"), "{stats}");
    assert!(stats.contains("cmdstat_lpush:calls=1,"), "{stats}");
    let get = stats
        .lines()
        .find(|l| l.starts_with("cmdstat_get:"))
        .unwrap_or_default();
    assert!(get.starts_with("cmdstat_get:calls=3,"), "{stats}");
    assert!(get.ends_with("rejected_calls=1,failed_calls=0"), "{stats}");
    assert!(stats.contains("cmdstat_debug:calls=1,"), "{stats}");
    let errors = text(&mut c, &["INFO", "errorstats"]);
    assert!(errors.contains("errorstat_ERR:count=3\r\n"), "{errors}");
    assert!(
        errors.contains("errorstat_WRONGTYPE:count=1\r\n"),
        "{errors}"
    );
    let latency = text(&mut c, &["INFO", "latencystats"]);
    assert!(
        latency.contains("latency_percentiles_usec_set:p50="),
        "{latency}"
    );
    // Not in the default INFO, in INFO everything.
    assert!(!text(&mut c, &["INFO"]).contains("# Commandstats"));
    assert!(text(&mut c, &["INFO", "everything"]).contains("# Commandstats"));
    let histogram = text(&mut c, &["LATENCY", "HISTOGRAM", "set"]);
    assert!(
        histogram
            .starts_with("*2\r\n$3\r\nset\r\n*4\r\n$5\r\ncalls\r\n:2\r\n$14\r\nhistogram_usec\r\n"),
        "{histogram}"
    );
    text(&mut c, &["CONFIG", "RESETSTAT"]);
    assert!(!text(&mut c, &["INFO", "commandstats"]).contains("cmdstat_set"));
}
