//! Dispatch: a pipeline's commands in order, each checked against its
//! table entry alone (arity, AUTH, role, loading, MULTI, subscriber mode:
//! every rule is a flag), reads answered on the connection, consecutive
//! writes sent to the write path as one job, transactions run at EXEC.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Instant;

use bytes::{Bytes, BytesMut};
use rocksync_protocol::{Proto, Reply};

use crate::acl::{Context, Denied, LogEntry};
use crate::blocking::BlockStart;
use crate::clock::now_ms;
use crate::cmd::spec::flag::{
    ALLOW_BUSY, AT_ONCE_IN_MULTI, BATCHED_GET, FAST, LOADING, NOT_QUEUED, NO_AUTH, NO_MULTI,
    OK_LOADING, REDACT, SINGLE_READ, SKIP_SLOWLOG, SMALL_READ, STALE, SUBSCRIBED_OK, WRITE,
};
use crate::cmd::spec::Meta;
use crate::cmd::{Exec, ReadCtx, WRONGTYPE};
use crate::command::{self, Run, Spec};
use crate::engine::{WriteCmd, READONLY};
use crate::role::LOADING_ERR;
use crate::session::{err_reply, wrong_arity, After, BlockedCmd, Client, Session};
use crate::state::Core;
use crate::store::keys::Kind;

mod transaction;

use transaction::{
    answer_in_turn, exec_transaction, pipelined_exec, queue_in_transaction, script_cmd,
};

/// Most GETs answered by one batched lookup.
const MAX_GET_RUN: usize = 256;

/// Run a pipeline in order: consecutive writes go to the write path as one
/// job; anything else first waits for the writes before it.
pub async fn run_pipeline(
    core: &Arc<Core>,
    client: &mut Client,
    cmds: Vec<Vec<Bytes>>,
    out: &mut BytesMut,
) -> After {
    let mut writes: Vec<WriteCmd> = Vec::new();
    client.info.note_time(Instant::now());
    let mut cmds = cmds.into_iter().peekable();
    while let Some(args) = cmds.next() {
        let spec = command::resolve(&args);
        if batched_get(&args, spec.as_ref().ok().copied()) && plain_state(core, client) {
            // A run of GETs: one batched lookup for all of them.
            let mut run = vec![args];
            while let Some(next) =
                cmds.next_if(|a| run.len() < MAX_GET_RUN && batched_get(a, command::lookup(&a[0])))
            {
                run.push(next);
            }
            flush_writes(core, client, &mut writes, out, false).await;
            let answered = get_run(core, client, &run, out);
            if answered < run.len() || (out.len() >= STREAM_AT && cmds.peek().is_some()) {
                // (replies go out as they are made: see below)
                return After::More(run.drain(answered..).chain(cmds).collect());
            }
            continue;
        }
        if client.info.kill.is_cancelled() {
            // Killed (CLIENT KILL, even by itself): nothing more runs.
            flush_writes(core, client, &mut writes, out, false).await;
            return After::Close;
        }
        let after = step(core, client, args, spec, &mut writes, out, false).await;
        if let After::Block(mut b) = after {
            b.rest = cmds.collect();
            return After::Block(b);
        }
        if !matches!(after, After::Continue) {
            flush_writes(core, client, &mut writes, out, false).await;
            return after;
        }
        if out.len() >= STREAM_AT && cmds.peek().is_some() {
            // Replies go out as they are made: a pipeline whose replies
            // are large holds one chunk of them, not all.
            flush_writes(core, client, &mut writes, out, false).await;
            return After::More(cmds.collect());
        }
    }
    flush_writes(core, client, &mut writes, out, false).await;
    After::Continue
}

/// Keys a run of GETs looks up at once, first (then twice as many each
/// time, up to [`MAX_GET_SLICE`]): a run whose replies pass [`STREAM_AT`]
/// stops within a slice, and the slice's rest is looked up again, so the
/// first is small (large values waste little) and the next grow (small
/// ones are looked up in few batches).
const GET_SLICE: usize = 8;
/// Most keys looked up at once.
const MAX_GET_SLICE: usize = 64;

/// Output past which a pipeline's replies are sent before its next
/// commands run.
const STREAM_AT: usize = 256 * 1024;

/// `GET key`, which a run of can be answered in one lookup.
fn batched_get(args: &[Bytes], spec: Option<&Spec>) -> bool {
    args.len() == 2 && spec.is_some_and(|s| s.meta.has(BATCHED_GET))
}

/// The client may run data commands as they come (no AUTH, permission,
/// MULTI, subscriber mode, kill or copy in the way).
fn plain_state(core: &Core, client: &Client) -> bool {
    client.authenticated
        && client.user.unrestricted()
        && client.multi.is_none()
        && (client.subscriptions() == 0 || client.proto == Proto::Resp3)
        && client.tracking.is_none()
        && core.engine.scripts.running_since().is_none()
        && !client.info.kill.is_cancelled()
        && !core.is_loading()
        && !core.view.refuses_stale()
}

/// Answer a run of GETs, looked up a slice at a time (each slice one
/// consistent view: see [`GET_SLICE`]); how many were answered: the
/// replies stop at [`STREAM_AT`], and the rest are to run again once the
/// output went out.
fn get_run(core: &Core, client: &Client, run: &[Vec<Bytes>], out: &mut BytesMut) -> usize {
    client.info.note_command(b"get");
    let started = Instant::now();
    let now = now_ms();
    let mut answered = 0;
    let mut slice_len = GET_SLICE;
    'run: while answered < run.len() && out.len() < STREAM_AT {
        let slice = &run[answered..run.len().min(answered + slice_len)];
        slice_len = (slice_len * 2).min(MAX_GET_SLICE);
        let keys: Vec<&[u8]> = slice.iter().map(|a| &a[1][..]).collect();
        match core.store.multi_meta(&keys) {
            Ok(metas) => {
                for m in metas {
                    if out.len() >= STREAM_AT {
                        // (the slice's rest is looked up again next time)
                        break 'run;
                    }
                    answered += 1;
                    match m.filter(|m| !m.is_expired(now)) {
                        None => Reply::Nil.encode_as(out, client.proto),
                        Some(m) if m.kind == Kind::String => {
                            Reply::Bulk(m.value).encode_as(out, client.proto)
                        }
                        Some(_) => Reply::error(WRONGTYPE).encode_as(out, client.proto),
                    }
                }
            }
            Err(e) => {
                for _ in slice {
                    err_reply(&e).encode_as(out, client.proto);
                }
                answered += slice.len();
            }
        }
    }
    // The lookups served them all: each is charged its share.
    let run = &run[..answered];
    let us = started.elapsed().as_micros() as u64 / run.len().max(1) as u64;
    for args in run {
        slow_entry(core, client, args, us);
    }
    core.engine
        .command_stats
        .record_many("get", run.len() as u64, us, false);
    core.engine.latency.record("fast-command", us);
    answered
}

/// One command, as [`step_one`]; CLIENT CACHING's answer holds for the
/// command after it (in a transaction, until EXEC).
async fn step(
    core: &Arc<Core>,
    client: &mut Client,
    args: Vec<Bytes>,
    spec: Result<&'static Spec, Reply>,
    writes: &mut Vec<WriteCmd>,
    out: &mut BytesMut,
    atomic: bool,
) -> After {
    // (a command run by the EXEC has `atomic`; queuing keeps it too)
    let name = spec.as_ref().map_or("", |s| s.meta.name);
    let keeps_caching = client.caching.is_none()
        || atomic
        || name.starts_with("client|")
        || (client.multi.is_some() && name != "exec");
    let after = step_one(core, client, args, spec, writes, out, atomic).await;
    if !keeps_caching && client.multi.is_none() {
        client.caching = None;
    }
    after
}

/// One command, encoding exactly one reply into `out` (SUBSCRIBE and its
/// kin encode one per channel). A write joins `writes`, sent to the write
/// path as one job when a command that is not a write comes, or at the end
/// (`atomic`: the job is one unit on the master, in the binlog and on
/// every slave: an EXEC).
async fn step_one(
    core: &Arc<Core>,
    client: &mut Client,
    args: Vec<Bytes>,
    spec: Result<&'static Spec, Reply>,
    writes: &mut Vec<WriteCmd>,
    out: &mut BytesMut,
    atomic: bool,
) -> After {
    let meta: Option<&'static Meta> = spec.as_ref().ok().map(|s| &s.meta);
    match meta {
        Some(m) => client.info.note_command(m.name.as_bytes()),
        None => client.info.note_command(&args[0].to_ascii_lowercase()),
    }
    let has = |f| meta.is_some_and(|m| m.has(f));
    if client.multi.is_some() && !has(AT_ONCE_IN_MULTI) {
        let reply = queue_in_transaction(core, client, spec, &args);
        answer_in_turn(reply, writes, out, client.proto);
        return After::Continue;
    }
    // A RESP2 subscriber may only (un)subscribe; RESP3 separates
    // messages from replies, so its connection runs anything.
    if client.subscriptions() > 0 && client.proto == Proto::Resp2 && !has(SUBSCRIBED_OK) {
        let name = meta.map_or_else(
            || String::from_utf8_lossy(&args[0]).to_lowercase(),
            |m| m.name.to_owned(),
        );
        Reply::error(format!(
            "ERR Can't execute '{name}': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context"
        ))
        .encode_as(out, client.proto);
        return After::Continue;
    }
    let stats = &core.engine.command_stats;
    let spec = match spec {
        Ok(s) => s,
        Err(reply) => {
            flush_writes(core, client, writes, out, atomic).await;
            if let Reply::Error(e) = &reply {
                stats.error(e);
            }
            reply.encode_as(out, client.proto);
            return After::Continue;
        }
    };
    let meta = &spec.meta;
    let refusal = refusal(core, client, meta, &args);
    if let Some(Reply::Error(e)) = &refusal {
        stats.reject(meta.name);
        stats.error(e);
    }
    // A transaction in a pipeline joins the writes around it: MULTI and
    // EXEC wait for no job (see `transaction`).
    if refusal.is_none() && !atomic && client.watch.is_none() && !client.tracks_reads() {
        if meta.name == "multi" && client.multi.is_none() && !writes.is_empty() {
            crate::session::multi::open(client);
            writes.push(WriteCmd::answer(Reply::ok()));
            note_ran(
                core,
                client,
                meta,
                &args,
                Instant::now(),
                out,
                out.len(),
                &After::Continue,
            );
            return After::Continue;
        }
        if meta.name == "exec"
            && client
                .multi
                .as_ref()
                .is_some_and(|q| !transaction::runs_scripts(q))
        {
            return pipelined_exec(core, client, spec, &args, writes, out).await;
        }
    }
    if let Run::Data(exec @ Exec::Parsed(parse)) = spec.run {
        // Refused, or its arguments do not parse: answered here, in turn.
        let parsed = match refusal {
            Some(reply) => Err(reply),
            None => parse(&args).map(Some).inspect_err(|reply| {
                // (ran, as Redis counts it: its own syntax check failed)
                if let Reply::Error(e) = reply {
                    stats.record(meta.name, 0, true);
                    stats.error(e);
                }
            }),
        };
        let op = match parsed {
            Ok(op) => op,
            Err(reply) => {
                flush_writes(core, client, writes, out, atomic).await;
                reply.encode_as(out, client.proto);
                return After::Continue;
            }
        };
        let cmd = WriteCmd {
            meta,
            exec,
            args,
            op,
            client: client.id,
            script: None,
            tx: None,
            answer: None,
        };
        if meta
            .block
            .is_some_and(|(_, at)| at.wait(&cmd.args).is_some())
            && !atomic
        {
            flush_writes(core, client, writes, out, atomic).await;
            return start_blocking(core, cmd, out, client.proto).await;
        }
        writes.push(cmd);
        return After::Continue;
    }
    if refusal.is_none() && !atomic && command::runs_script(meta) {
        // A script joins the writes around it: a pipeline of EVALSHAs is
        // one job on the write path, each script one unit of it. (An
        // EVALSHA of a script not cached may name an EVAL's before it,
        // cached once that has run: those go first.)
        if meta.name.starts_with("evalsha") && core.engine.scripts.get(&args[1]).is_none() {
            flush_writes(core, client, writes, out, atomic).await;
        }
        writes.push(script_cmd(core, client, spec, args));
        return After::Continue;
    }
    if refusal.is_none() && !atomic && joins_writes(core, client, spec, writes) {
        if let Some(cmd) = command::data_cmd(spec, args) {
            writes.push(WriteCmd {
                client: client.id,
                ..cmd
            });
        }
        return After::Continue;
    }
    flush_writes(core, client, writes, out, atomic).await;
    if let Some(reply) = refusal {
        reply.encode_as(out, client.proto);
        return After::Continue;
    }
    let started = Instant::now();
    let at = out.len();
    let after = run(core, client, spec, &args, out, atomic).await;
    note_ran(core, client, meta, &args, started, out, at, &after);
    after
}

/// Count a command run on the connection (its reply in `out` from `at`):
/// SLOWLOG, command stats, latency.
#[allow(clippy::too_many_arguments)]
fn note_ran(
    core: &Core,
    client: &Client,
    meta: &Meta,
    args: &[Bytes],
    started: Instant,
    out: &BytesMut,
    at: usize,
    after: &After,
) {
    let stats = &core.engine.command_stats;
    let us = started.elapsed().as_micros() as u64;
    if matches!(after, After::Continue) && !meta.has(SKIP_SLOWLOG) {
        slow_entry(core, client, args, us);
    }
    // Its reply (the first, for those that send several) is an error?
    let error = out
        .get(at..)
        .filter(|r| r.first() == Some(&b'-'))
        .and_then(|r| r.split(|&b| b == b'\r').next())
        .map(|line| String::from_utf8_lossy(&line[1..]).into_owned());
    // (FUNCTION's writes reach the write path, which counts them when
    // they get there: here only those refused before)
    if !meta.has(WRITE) || error.is_some() {
        stats.record(meta.name, us, error.is_some());
        if let Some(e) = &error {
            stats.error(e);
        }
    }
    let event = if meta.has(FAST) {
        "fast-command"
    } else {
        "command"
    };
    core.engine.latency.record(event, us);
}

/// Most commands a pipeline's write job takes before a read behind them
/// waits for them instead of joining them.
const MAX_JOINED: usize = 256;

/// A read behind writes waiting for the write path joins them: it runs in
/// its turn there and sees them, as a read inside EXEC does, instead of
/// waiting for them to commit as a group of their own (a read after each
/// write of a pipeline made each its own group). Only a SMALL_READ one
/// (short and small: a long read or a large reply stays on its
/// connection, where it holds up no writer and streams); not one of a
/// client that tracks its reads (a write before it in the job would drop
/// the key it reads from its tracked keys), nor on a slave (its link
/// commits beside the write path: reads there need their snapshot), nor
/// while writes wait for slaves' acks (a missing ack turns the job's
/// replies into errors). If the group fails, it answers the group's error:
/// it may have read writes that were not kept.
fn joins_writes(core: &Core, client: &Client, spec: &Spec, writes: &[WriteCmd]) -> bool {
    matches!(spec.run, Run::Data(Exec::Read(_)))
        && spec.meta.has(SMALL_READ)
        && !writes.is_empty()
        && writes.len() < MAX_JOINED
        && !client.tracks_reads()
        && !core.is_read_only()
        && core.with_config(|c| c.sync_replicas == 0)
}

/// Why a command may not run now, from its flags: arity, AUTH, the
/// user's permissions, a write on a node that takes none, data still
/// loading.
fn refusal(core: &Core, client: &Client, meta: &Meta, args: &[Bytes]) -> Option<Reply> {
    if !meta.arity_ok(args.len()) {
        return Some(wrong_arity(meta.name));
    }
    if !client.authenticated && !meta.has(NO_AUTH) {
        return Some(Reply::error("NOAUTH Authentication required."));
    }
    let context = if client.multi.is_some() {
        Context::Multi
    } else {
        Context::Toplevel
    };
    if let Err(denied) = permitted(core, client, meta, args, context) {
        return Some(Reply::error(crate::acl::noperm(denied, meta)));
    }
    if client.multi.is_none() {
        // (queued, it is checked at EXEC, where Redis gives it)
        if let Some(e) = client.user.sort_option_denied(meta, args) {
            return Some(Reply::error(e));
        }
    }
    if meta.has(WRITE) && core.is_read_only() {
        return Some(Reply::error(READONLY));
    }
    if meta.has(WRITE) {
        if let Some(refused) = core.engine.slaves.refuse_write() {
            return Some(Reply::error(refused));
        }
    }
    if !meta.has(STALE) && core.view.refuses_stale() {
        return Some(Reply::error(MASTERDOWN));
    }
    if !meta.has(LOADING) && !meta.has(OK_LOADING) && core.is_loading() {
        return Some(Reply::error(LOADING_ERR));
    }
    if let Some(since) = core.engine.scripts.running_since() {
        // A script has run past the threshold: as Redis, answer BUSY
        // (reads would not wait, but clients expect Redis's behaviour).
        let ran = now_ms().saturating_sub(since);
        if !meta.has(ALLOW_BUSY) && ran >= core.with_config(|c| c.busy_reply_threshold) {
            return Some(Reply::error(BUSY));
        }
    }
    None
}

/// The user may run `meta` with `args`; a denial enters ACL LOG.
pub fn permitted(
    core: &Core,
    client: &Client,
    meta: &Meta,
    args: &[Bytes],
    context: Context,
) -> Result<(), Denied> {
    let Err(denied) = client.user.check(meta, args) else {
        return Ok(());
    };
    let (reason, object) = match denied {
        Denied::Command => ("command", Bytes::from_static(meta.name.as_bytes())),
        Denied::Key(i) => ("key", args[i].clone()),
        Denied::Channel(i) => ("channel", args[i].clone()),
    };
    core.acl.log.add(LogEntry {
        count: 1,
        reason,
        context,
        object,
        username: client.user.name.clone(),
        at: Instant::now(),
        client_info: core.clients.line(client.id),
    });
    Err(denied)
}

/// Redis's answer on a slave cut from its master that serves no stale data.
pub const MASTERDOWN: &str =
    "MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to 'no'.";

/// Redis's answer while a script runs too long.
pub const BUSY: &str =
    "BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE.";

/// Run a read or a command the connection answers (not queued, not a
/// write), encoding its reply.
async fn run(
    core: &Arc<Core>,
    client: &mut Client,
    spec: &'static Spec,
    args: &[Bytes],
    out: &mut BytesMut,
    in_exec: bool,
) -> After {
    if let Run::Data(Exec::Read(_)) = spec.run {
        remember_reads(core, client, &spec.meta, args);
    }
    let mut session = Session {
        core,
        client,
        out,
        after: After::Continue,
        in_exec,
    };
    let reply = match spec.run {
        Run::Data(Exec::Read(f)) => {
            let ctx = ReadCtx {
                store: &core.store,
                now_ms: now_ms(),
                cursors: &core.cursors,
                snap: (!spec.meta.has(SINGLE_READ)).then(|| core.store.db().snapshot()),
                pending: None,
            };
            f(&ctx, args).unwrap_or_else(err_reply)
        }
        Run::Data(_) => Reply::error("ERR internal: a write on the read path"),
        Run::Conn(f) | Run::Container(_, Some(f)) => f(&mut session, args),
        Run::ConnAsync(f) => f(&mut session, args).await,
        Run::Container(_, None) => wrong_arity(spec.meta.name),
    };
    match std::mem::replace(&mut session.after, After::Continue) {
        After::Continue => {
            reply.encode_as(out, client.proto);
            After::Continue
        }
        After::Close => {
            reply.encode_as(out, client.proto);
            After::Close
        }
        After::Stop => After::Close,
        After::Exec => exec_transaction(core, client, out).await,
        other => other,
    }
}

/// A tracking client is about to read `args`' keys: from now on it hears
/// when they change (before the read, so no write between the two goes
/// unheard).
fn remember_reads(core: &Core, client: &Client, meta: &Meta, args: &[Bytes]) {
    if !client.tracks_reads() || !meta.has(crate::cmd::spec::flag::READONLY) {
        return;
    }
    if let Some(keys) = meta.key_positions(args) {
        core.engine
            .tracking
            .remember(client.id, keys.iter().map(|&(at, _)| &args[at]));
    }
}

/// A blocking command: answered at once when there is data (or an
/// error), otherwise the connection waits (in a transaction, the command
/// runs as a write that does not block).
async fn start_blocking(core: &Core, cmd: WriteCmd, out: &mut BytesMut, proto: Proto) -> After {
    let timeout = cmd
        .meta
        .block
        .and_then(|(_, at)| at.wait(&cmd.args))
        .flatten();
    match core.engine.block(cmd).await {
        BlockStart::Done(answer) => {
            answer.encode_as(out, proto);
            After::Continue
        }
        BlockStart::Waiting(wait) => After::Block(Box::new(BlockedCmd {
            wait,
            timeout,
            rest: Vec::new(),
        })),
    }
}

async fn flush_writes(
    core: &Core,
    client: &Client,
    writes: &mut Vec<WriteCmd>,
    out: &mut BytesMut,
    atomic: bool,
) {
    if writes.is_empty() {
        return;
    }
    let cmds = std::mem::take(writes);
    // Answers in turn (MULTI's, QUEUED) stand whatever befalls the writes
    // around them (a failed group, missing acks): the transaction is open.
    let answers: Vec<(usize, Reply)> = cmds
        .iter()
        .enumerate()
        .filter_map(|(i, c)| Some((i, Reply::clone(c.answer.as_deref()?))))
        .collect();
    let mut done = core.engine.write_timed(cmds, atomic).await;
    for (i, r) in answers {
        if let Some(slot) = done.replies.get_mut(i) {
            *slot = r;
        }
    }
    for r in done.replies {
        r.encode_as(out, client.proto);
    }
    log_slow(core, client, done.slow);
}

/// Enter commands the write path found slow in the SLOWLOG.
fn log_slow(core: &Core, client: &Client, slow: Vec<(Vec<Bytes>, u64)>) {
    for (args, us) in slow {
        slow_entry(core, client, &args, us);
    }
}

/// One SLOWLOG entry, when `us` reaches the threshold. AUTH and HELLO's
/// arguments are never kept (a password), as Redis redacts them.
/// `args` as a log may keep them, when they hold a secret: every
/// argument of a command flagged REDACT (AUTH, HELLO), MIGRATE's
/// password (after AUTH, or AUTH2 and its user name) as Redis hides it.
fn redacted(args: &[Bytes]) -> Option<Vec<Bytes>> {
    let hidden = || Bytes::from_static(b"(redacted)");
    let meta = &command::lookup(&args[0])?.meta;
    if meta.has(REDACT) {
        return Some(
            std::iter::once(args[0].clone())
                .chain(args[1..].iter().map(|_| hidden()))
                .collect(),
        );
    }
    if meta.name != "migrate" {
        return None;
    }
    let mut out = args.to_vec();
    let mut j = 6;
    while j < out.len() {
        let secrets = match out[j].to_ascii_lowercase().as_slice() {
            b"auth" => 1,
            b"auth2" => 2,
            b"keys" => break,
            _ => 0,
        };
        for s in out.iter_mut().skip(j + 1).take(secrets) {
            *s = hidden();
        }
        j += 1 + secrets;
    }
    Some(out)
}

fn slow_entry(core: &Core, client: &Client, args: &[Bytes], us: u64) {
    // The threshold is an atomic: this runs for every command.
    let threshold = core.engine.slow_us.load(Ordering::Relaxed);
    if threshold < 0 || us < threshold as u64 {
        return;
    }
    let redacted = redacted(args);
    let args = redacted.as_deref().unwrap_or(args);
    let max_len = core.with_config(|c| c.slowlog_max_len);
    let name = crate::lock(&client.info.name)
        .as_ref()
        .map(|n| String::from_utf8_lossy(n).into_owned())
        .unwrap_or_default();
    core.slowlog.record(
        threshold,
        max_len,
        us,
        args,
        client.info.peer.to_string(),
        name,
    );
}
