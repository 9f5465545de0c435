//! LATENCY: LATEST, HISTORY, RESET, DOCTOR, GRAPH, HISTOGRAM and HELP,
//! over the node's latency monitor and per-command histograms
//! ([`crate::latency`]).

use bytes::Bytes;
use rocksync_protocol::Reply;

use super::{bulk_str, help_lines, Session};

/// LATENCY LATEST.
pub fn latest(s: &mut Session<'_>, _: &[Bytes]) -> Reply {
    Reply::Array(
        s.core
            .engine
            .latency
            .latest()
            .into_iter()
            .map(|(name, t, ms, max)| {
                Reply::Array(vec![
                    bulk_str(name),
                    Reply::Integer(t as i64),
                    Reply::Integer(ms as i64),
                    Reply::Integer(max as i64),
                ])
            })
            .collect(),
    )
}

/// LATENCY HISTORY event.
pub fn history(s: &mut Session<'_>, a: &[Bytes]) -> Reply {
    let event = String::from_utf8_lossy(&a[2]);
    Reply::Array(
        s.core
            .engine
            .latency
            .history(&event)
            .into_iter()
            .map(|(t, ms)| Reply::Array(vec![Reply::Integer(t as i64), Reply::Integer(ms as i64)]))
            .collect(),
    )
}

/// LATENCY RESET [event ...].
pub fn reset(s: &mut Session<'_>, a: &[Bytes]) -> Reply {
    let names: Vec<String> = a[2..]
        .iter()
        .map(|n| String::from_utf8_lossy(n).into_owned())
        .collect();
    Reply::Integer(s.core.engine.latency.reset(&names) as i64)
}

/// LATENCY DOCTOR: Redis's words when the monitor is off or saw nothing;
/// otherwise each event's samples summed up.
pub fn doctor(s: &mut Session<'_>, _: &[Bytes]) -> Reply {
    let monitor = &s.core.engine.latency;
    let text = if monitor.threshold() == 0 {
        "I'm sorry, Dave, I can't do that. Latency monitoring is disabled in this Redis instance. You may use \"CONFIG SET latency-monitor-threshold <milliseconds>.\" in order to enable it. If we weren't in a deep space mission I'd suggest to take a look at https://redis.io/topics/latency-monitor.\n".to_owned()
    } else {
        let summary = monitor.summary();
        if summary.is_empty() {
            "Dave, no latency spike was observed during the lifetime of this Redis instance, not in the slightest bit. I honestly think you ought to sit down calmly, take a stress pill, and think things over.\n".to_owned()
        } else {
            let mut t = String::from("Dave, I have observed latency spikes in this Redis instance. You don't mind talking about it, do you Dave?\n\n");
            for (i, (name, n, min, max, avg, all_time)) in summary.iter().enumerate() {
                t.push_str(&format!(
                    "{}. {name}: {n} latency spikes (average {avg:.0}ms, min {min}ms, max {max}ms). Worst all time event {all_time}ms.\n",
                    i + 1
                ));
            }
            t.push_str("\nI have a few advices for you:\n\n- Check your system for other processes competing for CPU, and the SLOWLOG for slow commands (SLOWLOG GET).\n");
            t
        }
    };
    Reply::Verbatim(*b"txt", Bytes::from(text))
}

/// LATENCY GRAPH event: the event's samples as a text chart (newest
/// right), as Redis draws one.
pub fn graph(s: &mut Session<'_>, a: &[Bytes]) -> Reply {
    let event = String::from_utf8_lossy(&a[2]).into_owned();
    let samples = s.core.engine.latency.history(&event);
    if samples.is_empty() {
        return Reply::error(format!("ERR No samples available for event '{event}'"));
    }
    let max = samples.iter().map(|s| s.1).max().unwrap_or(0).max(1);
    let min = samples.iter().map(|s| s.1).min().unwrap_or(0);
    let rows = 4u64;
    let mut out = format!(
        "{event} - high {max} ms, low {min} ms (all time high {max} ms)\n{}\n",
        "-".repeat(80)
    );
    for row in (1..=rows).rev() {
        let line: String = samples
            .iter()
            .map(|&(_, ms)| if ms * rows >= row * max { '#' } else { ' ' })
            .collect();
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out.push_str(&"_".repeat(samples.len()));
    out.push('\n');
    Reply::Verbatim(*b"txt", Bytes::from(out))
}

/// LATENCY HISTOGRAM [command ...]: each command's calls and cumulative
/// counts at power-of-two microsecond bounds.
pub fn histogram(s: &mut Session<'_>, a: &[Bytes]) -> Reply {
    let names: Vec<String> = a[2..]
        .iter()
        .map(|n| String::from_utf8_lossy(n).to_ascii_lowercase())
        .collect();
    Reply::Map(
        s.core
            .engine
            .command_stats
            .histograms(&names)
            .into_iter()
            .map(|(name, calls, points)| {
                (
                    bulk_str(name),
                    Reply::Map(vec![
                        (bulk_str("calls"), Reply::Integer(calls as i64)),
                        (
                            bulk_str("histogram_usec"),
                            Reply::Map(
                                points
                                    .into_iter()
                                    .map(|(bound, n)| {
                                        (Reply::Integer(bound as i64), Reply::Integer(n as i64))
                                    })
                                    .collect(),
                            ),
                        ),
                    ]),
                )
            })
            .collect(),
    )
}

/// LATENCY HELP.
pub fn help(_: &mut Session<'_>, _: &[Bytes]) -> Reply {
    help_lines(&[
        "LATENCY <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "DOCTOR",
        "    Return a human readable latency analysis report.",
        "GRAPH <event>",
        "    Return an ASCII latency graph for the <event> class.",
        "HISTORY <event>",
        "    Return time-latency samples for the <event> class.",
        "LATEST",
        "    Return the latest latency samples for all events.",
        "RESET [<event> ...]",
        "    Reset latency data of one or more <event> classes.",
        "    (default: reset all data for all event classes)",
        "HISTOGRAM [COMMAND ...]",
        "    Return a cumulative distribution of latencies in the format of a histogram for the specified command names.",
        "    If no commands are specified then all histograms are replied.",
        "HELP",
        "    Prints this help.",
    ])
}
