//! Transactions at dispatch: commands queued inside MULTI, and what EXEC
//! runs. An EXEC without WATCH whose commands are data joins the writes
//! around it in the pipeline (one unit of their job, see
//! [`pipelined_exec`]), with MULTI's and the queued commands' replies
//! answered in their turn ([`answer_in_turn`]): a pipeline of
//! transactions is one job on the write path, not one each.

use super::*;
use crate::watch::Watch;

/// `reply` into `out`, or, when writes before it wait for the write path,
/// after theirs: a command of the job that answers it in its turn.
pub(super) fn answer_in_turn(
    reply: Reply,
    writes: &mut Vec<WriteCmd>,
    out: &mut BytesMut,
    proto: Proto,
) {
    if writes.is_empty() {
        reply.encode_as(out, proto);
    } else {
        writes.push(WriteCmd::answer(reply));
    }
}

/// EXEC in a pipeline (no WATCH): a transaction of data commands becomes
/// one command of the pipeline's write job, run there as one unit (its
/// reply EXEC's array); any other is answered in its turn, or run as an
/// EXEC alone after the writes before it.
pub(super) async fn pipelined_exec(
    core: &Arc<Core>,
    client: &mut Client,
    spec: &'static Spec,
    args: &[Bytes],
    writes: &mut Vec<WriteCmd>,
    out: &mut BytesMut,
) -> After {
    match plan(core, client) {
        Plan::Unit(cmds, None) => {
            writes.push(WriteCmd {
                meta: &spec.meta,
                exec: Exec::Parsed(|_| Err(Reply::error("ERR internal: a transaction runs whole"))),
                args: vec![Bytes::from_static(b"EXEC")],
                op: None,
                client: client.id,
                script: None,
                tx: Some(cmds),
                answer: None,
            });
            After::Continue
        }
        Plan::Answer(reply) => {
            if let Reply::Error(e) = &reply {
                let stats = &core.engine.command_stats;
                stats.record(spec.meta.name, 0, true);
                stats.error(e);
            }
            answer_in_turn(reply, writes, out, client.proto);
            After::Continue
        }
        plan => {
            flush_writes(core, client, writes, out, false).await;
            let (started, at) = (Instant::now(), out.len());
            let after = run_plan(core, client, plan, out).await;
            note_ran(core, client, &spec.meta, args, started, out, at, &after);
            after
        }
    }
}

/// True when a queued command runs a script: such an EXEC runs alone
/// (a script may run long, which the write path learns from its job's
/// own commands; an EVALSHA may name the script of an EVAL still waiting
/// among the writes before it).
pub(super) fn runs_scripts(queued: &[Vec<Bytes>]) -> bool {
    queued
        .iter()
        .any(|a| command::resolve(a).is_ok_and(|s| command::runs_script(&s.meta)))
}

/// A command sent inside MULTI: queued (`+QUEUED`) when it is known, of the
/// right arity and allowed in a transaction; otherwise refused, and EXEC
/// will abort (Redis's rules).
pub(super) fn queue_in_transaction(
    core: &Core,
    client: &mut Client,
    spec: Result<&'static Spec, Reply>,
    args: &[Bytes],
) -> Reply {
    let refused = match spec {
        Err(r) => Some(r),
        Ok(s) if !s.meta.arity_ok(args.len()) => Some(wrong_arity(s.meta.name)),
        Ok(s) if s.meta.has(NO_MULTI) || s.meta.has(NOT_QUEUED) => Some(Reply::error(format!(
            "ERR Command not allowed inside a transaction: '{}'",
            s.meta.name
        ))),
        Ok(s) => refusal(core, client, &s.meta, args),
    };
    match refused {
        Some(r) => {
            client.multi_dirty = true;
            r
        }
        None => {
            if let Some(q) = client.multi.as_mut() {
                q.push(args.to_vec());
            }
            Reply::Simple("QUEUED".into())
        }
    }
}

/// EXEC: run the queued commands in order, their replies in one array.
/// Data commands with a write among them run as one unit on the write path
/// (one batch, sealed as one command in the binlog and on every slave; the
/// reads see the writes before them). A transaction that also holds server
/// commands (SLAVEOF, CONFIG, CLIENT …) runs them in order, its writes
/// grouped between them.
pub(super) async fn exec_transaction(
    core: &Arc<Core>,
    client: &mut Client,
    out: &mut BytesMut,
) -> After {
    let after = exec_watched(core, client, out).await;
    // Whatever happened, EXEC ends the client's WATCH (only now: until the
    // check is done, touches must reach it).
    core.engine.watches.unwatch(&mut client.watch);
    after
}

async fn exec_watched(core: &Arc<Core>, client: &mut Client, out: &mut BytesMut) -> After {
    let plan = plan(core, client);
    run_plan(core, client, plan, out).await
}

/// What an EXEC does with its queue, decided when it comes.
pub(super) enum Plan {
    /// Nothing runs: this is its reply (EXECABORT, a refusal).
    Answer(Reply),
    /// Data commands with a write (or a script, or a WATCH) among them:
    /// one unit on the write path.
    Unit(Vec<WriteCmd>, Option<Arc<Watch>>),
    /// Server commands among them: run in order, writes grouped between.
    Mixed {
        queued: Vec<Vec<Bytes>>,
        specs: Vec<Result<&'static Spec, Reply>>,
        denied: Vec<Option<Reply>>,
        watch: Option<Arc<Watch>>,
    },
}

/// Take the client's queue and decide what its EXEC does.
pub(super) fn plan(core: &Core, client: &mut Client) -> Plan {
    let queued = client.multi.take().unwrap_or_default();
    client.info.in_multi.store(false, Ordering::Relaxed);
    let watch = client.watch.clone();
    if std::mem::take(&mut client.multi_dirty) {
        return Plan::Answer(Reply::error(
            "EXECABORT Transaction discarded because of previous errors.",
        ));
    }
    // Data commands with a write among them: one unit on the write path,
    // reads included (they see the transaction's earlier writes).
    let specs: Vec<Result<&'static Spec, Reply>> =
        queued.iter().map(|a| command::resolve(a)).collect();
    // Permissions are checked again: the user's rules may have changed
    // since the commands were queued (a denied one answers NOPERM in its
    // turn, the others run).
    let denied: Vec<Option<Reply>> = queued
        .iter()
        .zip(&specs)
        .map(|(args, spec)| {
            let meta = &spec.as_ref().ok()?.meta;
            let Err(denied) = permitted(core, client, meta, args, Context::Multi) else {
                return client.user.sort_option_denied(meta, args).map(Reply::error);
            };
            let why = match denied {
                Denied::Command => "no permission to execute the command or subcommand",
                Denied::Key(_) => "no permission to touch the specified keys",
                Denied::Channel(_) => "no permission to access one of the channels used as arguments",
            };
            Some(Reply::error(format!("NOPERM ACLs rules changed between the moment the transaction was accumulated and the EXEC call. This command is no longer allowed for the following reason: {why}")))
        })
        .collect();
    // (scripts run in their turn in the unit)
    let data_only = specs.iter().all(|s| {
        s.as_ref()
            .is_ok_and(|s| matches!(s.run, Run::Data(_)) || command::runs_script(&s.meta))
    });
    let scripts_any = specs
        .iter()
        .any(|s| s.as_ref().is_ok_and(|s| command::runs_script(&s.meta)));
    let writes_any = specs
        .iter()
        .any(|s| s.as_ref().is_ok_and(|s| s.meta.has(WRITE)));
    if writes_any && core.is_read_only() {
        // The node became a slave after MULTI (Redis's words).
        return Plan::Answer(Reply::error("ERR Transaction contains write commands, but instance is now a read-only replica. EXEC aborted."));
    }
    if writes_any {
        // Good slaves went missing since the writes were queued: Redis
        // refuses the EXEC itself, and the transaction ends.
        if let Some(refused) = core.engine.slaves.refuse_write() {
            return Plan::Answer(Reply::error(format!(
                "EXECABORT Transaction discarded because of: {refused}"
            )));
        }
    }
    // On the write path the WATCH is checked in the same step that runs
    // the transaction, so no write can come between.
    let on_write_path = data_only
        && !queued.is_empty()
        && (writes_any || scripts_any || (watch.is_some() && !core.is_read_only()));
    if on_write_path {
        for (args, spec) in queued.iter().zip(&specs) {
            if let Ok(spec) = spec {
                remember_reads(core, client, &spec.meta, args);
            }
        }
        // An EVALSHA may name the script of an EVAL before it in the
        // transaction, which Redis has cached by then.
        for (args, spec) in queued.iter().zip(&specs) {
            if spec
                .as_ref()
                .is_ok_and(|s| matches!(s.meta.name, "eval" | "eval_ro"))
                && crate::script::check_syntax(&args[1]).is_ok()
            {
                core.engine.scripts.load(args[1].clone());
            }
        }
        let cmds: Vec<WriteCmd> = queued
            .into_iter()
            .zip(specs)
            .zip(denied)
            .filter_map(|((args, spec), denied)| {
                let spec = spec.ok()?;
                if let Some(reply) = denied {
                    return Some(refused_cmd(spec, args, reply));
                }
                if command::runs_script(&spec.meta) {
                    return Some(script_cmd(core, client, spec, args));
                }
                command::data_cmd(spec, args)
            })
            .map(|cmd| WriteCmd {
                client: client.id,
                ..cmd
            })
            .collect();
        return Plan::Unit(cmds, watch);
    }
    Plan::Mixed {
        queued,
        specs,
        denied,
        watch,
    }
}

/// Carry out an EXEC's plan, its reply into `out`.
pub(super) async fn run_plan(
    core: &Arc<Core>,
    client: &mut Client,
    plan: Plan,
    out: &mut BytesMut,
) -> After {
    let (queued, specs, denied, watch) = match plan {
        Plan::Answer(reply) => {
            reply.encode_as(out, client.proto);
            return After::Continue;
        }
        Plan::Unit(cmds, watch) => {
            let (replies, done) = core.engine.exec(cmds, watch).await;
            match (replies, &done.unacked) {
                (Some(_), Some(why)) => Reply::error(why.clone()).encode_as(out, client.proto),
                (Some(replies), None) => Reply::Array(replies).encode_as(out, client.proto),
                (None, _) => Reply::NilArray.encode_as(out, client.proto),
            }
            log_slow(core, client, done.slow);
            return After::Continue;
        }
        Plan::Mixed {
            queued,
            specs,
            denied,
            watch,
        } => (queued, specs, denied, watch),
    };
    if watch.is_some_and(|w| w.broken(now_ms())) {
        Reply::NilArray.encode_as(out, client.proto);
        return After::Continue;
    }
    out.extend_from_slice(format!("*{}\r\n", queued.len()).as_bytes());
    let mut writes = Vec::new();
    let mut after = After::Continue;
    for ((args, spec), denied) in queued.into_iter().zip(specs).zip(denied) {
        if let Some(reply) = denied {
            flush_writes(core, client, &mut writes, out, true).await;
            reply.encode_as(out, client.proto);
            continue;
        }
        let a = Box::pin(step(core, client, args, spec, &mut writes, out, true)).await;
        if !matches!(a, After::Continue) {
            after = a;
        }
    }
    flush_writes(core, client, &mut writes, out, true).await;
    after
}

/// A command of an EXEC that answers `reply` in its turn.
fn refused_cmd(spec: &'static Spec, args: Vec<Bytes>, reply: Reply) -> WriteCmd {
    WriteCmd {
        meta: &spec.meta,
        exec: crate::cmd::Exec::Parsed(|_| Err(Reply::error("ERR internal: refused"))),
        args,
        op: Some(Box::new(crate::cmd::Refused(reply))),
        client: 0,
        script: None,
        tx: None,
        answer: None,
    }
}

/// An EVAL-family command of an EXEC as the unit runs it: its script,
/// or its refusal answered in its turn.
pub(super) fn script_cmd(
    core: &Core,
    caller: &Client,
    spec: &'static Spec,
    args: Vec<Bytes>,
) -> WriteCmd {
    let client = caller.id;
    let job = if spec.meta.name.starts_with("fcall") {
        crate::session::functions::job(core, caller, &args)
    } else {
        crate::session::scripting::job(core, caller, &args)
    };
    let (op, script): (Option<Box<dyn crate::cmd::WriteOp>>, _) = match job {
        Ok(job) => (None, Some(Box::new(job))),
        Err(reply) => (Some(Box::new(crate::cmd::Refused(reply))), None),
    };
    WriteCmd {
        meta: &spec.meta,
        exec: crate::cmd::Exec::Parsed(|_| Err(Reply::error("ERR internal: scripts run whole"))),
        args,
        op,
        client,
        script,
        tx: None,
        answer: None,
    }
}
