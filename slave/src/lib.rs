//! rocksync's slave side (SPEC §6, §9): the replication link that follows
//! a master through full copies and binlog streaming, applying what it
//! receives through the node's storage (data, seq and copy progress in one
//! RocksDB batch, events in its own binlog with the master's seqs), and the
//! node both binaries run: the master crate's [`Node`] with this link
//! plugged in, so any node can be told `SLAVEOF` at runtime.

mod link;

use std::sync::Arc;

use rocksync_master::{
    Config, Follower, LinkCtx, Node, NodeOptions, Result, Role, ServerArgs, Storage,
};
use tokio_util::sync::CancellationToken;

pub use link::LinkError;

/// The replication link, as the node's [`Follower`].
#[derive(Debug, Default, Clone, Copy)]
pub struct Link;

impl Follower for Link {
    fn follow(
        &self,
        storage: Storage,
        master_addr: String,
        ctx: LinkCtx,
        cancel: CancellationToken,
    ) -> tokio::task::JoinHandle<Storage> {
        link::spawn(storage, master_addr, ctx, cancel)
    }
}

/// `rocksync-slave`'s defaults: port 8889, data in ./data/slave.
pub fn slave_defaults() -> Config {
    Config {
        port: 8889,
        data_dir: "./data/slave".into(),
        ..Config::default()
    }
}

/// `rocksync-slave`'s default role: following 127.0.0.1:8888.
pub fn slave_default_role() -> Role {
    Role::Slave {
        master_addr: "127.0.0.1:8888".into(),
    }
}

/// Start a node that can follow (the link plugged in); `default_role` is
/// taken when neither `config` nor the data directory names a role.
///
/// # Errors
/// As [`Node::start`].
pub async fn start(config: Config, default_role: Role) -> Result<Node> {
    Node::start(
        config,
        NodeOptions {
            follower: Some(Arc::new(Link)),
            default_role: Some(default_role),
        },
    )
    .await
}

/// What both binaries do: parse the flags (SPEC §8) over `defaults`, start
/// the node on a multi-threaded runtime, log that it is ready, and stop it
/// cleanly on SIGINT or SIGTERM. They differ only in `defaults` and
/// `default_role`.
///
/// # Errors
/// Bad flags or configuration, start-up errors (storage, listen address).
pub fn main(
    name: &'static str,
    about: &'static str,
    defaults: Config,
    default_role: Role,
) -> anyhow::Result<()> {
    use clap::{Args, FromArgMatches};
    let cmd = ServerArgs::augment_args(clap::Command::new(name))
        .about(about)
        .version(env!("CARGO_PKG_VERSION"));
    let cmd = RestoreArgs::augment_args(cmd);
    let matches = cmd.get_matches();
    let args = ServerArgs::from_arg_matches(&matches)?;
    let restore = RestoreArgs::from_arg_matches(&matches)?;
    rocksync_master::cli::init_logging();
    let config = Config::load(&args, defaults)?;
    if let Some(file) = &restore.import_rdb {
        let done = rocksync_master::import(&config, file)?;
        println!(
            "imported {} keys and {} function libraries from {} ({} keys already expired left out); start the node on it with --data-dir {}",
            done.keys,
            done.functions,
            file.display(),
            done.expired,
            config.data_dir.display()
        );
        return Ok(());
    }
    if let Some(backup) = &restore.restore_from {
        let archive =
            Some(config.binlog_archive_dir.as_path()).filter(|a| !a.as_os_str().is_empty());
        let point = match (restore.to_seq, &restore.to_time) {
            (Some(seq), _) => rocksync_master::RestorePoint::Seq(seq),
            (None, Some(t)) => rocksync_master::RestorePoint::Time(
                rocksync_master::parse_rfc3339(t).ok_or_else(|| {
                    anyhow::anyhow!(
                        "--to-time {t:?} is not an RFC 3339 time (2026-12-04T10:42:00Z)"
                    )
                })?,
            ),
            (None, None) => rocksync_master::RestorePoint::End,
        };
        let done =
            rocksync_master::restore(&config, backup, point, &restore.restore_binlog, archive)?;
        if point == rocksync_master::RestorePoint::End && !done.other_histories.is_empty() {
            println!(
                "note: restored to the end of this backup's history; the archive also holds {} (a promoted node goes on under a new replid: give its directory with --restore-binlog to go on)",
                done.other_histories
                    .iter()
                    .map(|p| p.display().to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            );
        }
        println!(
            "restored {} to seq {} (the backup held seq {}; {} binlog events replayed); start the node on it with --data-dir {}",
            config.data_dir.display(),
            done.seq,
            done.backup_seq,
            done.events,
            config.data_dir.display()
        );
        return Ok(());
    }
    run_until_signal(config, default_role, name)
}

/// A restore instead of a start: `--restore-from BACKUP [--to-seq N]
/// [--restore-binlog DIR ...] --data-dir DIR`, or an import:
/// `--import-rdb FILE --data-dir DIR`.
#[derive(Clone, Debug, Default, clap::Args)]
struct RestoreArgs {
    /// Build the data directory (which must hold no data) from this
    /// backup (a `backup-…` directory BGSAVE made) and the binlog after
    /// it, then exit.
    #[arg(long, value_name = "BACKUP")]
    restore_from: Option<std::path::PathBuf>,
    /// Restore up to this seq (the last whole command at or before it);
    /// without it, to the end of the binlog found.
    #[arg(
        long,
        value_name = "SEQ",
        requires = "restore_from",
        conflicts_with = "to_time"
    )]
    to_seq: Option<u64>,
    /// Restore up to this time, RFC 3339 (`2026-12-04T10:42:00Z`): the
    /// last seq the binlog's time index recorded at or before it (one a
    /// second), never a write made after it.
    #[arg(long, value_name = "TIME", requires = "restore_from")]
    to_time: Option<String>,
    /// A directory of binlog files to replay from (the old node's
    /// `binlog/`); `binlog_archive_dir` is read too. Repeatable.
    #[arg(long, value_name = "DIR", requires = "restore_from")]
    restore_binlog: Vec<std::path::PathBuf>,
    /// Build the data directory (which must hold no data) from this
    /// Redis RDB file (a `dump.rdb` of Redis 7.0 or 7.2: every key with
    /// its expiry, and the function libraries), then exit.
    #[arg(long, value_name = "FILE", conflicts_with = "restore_from")]
    import_rdb: Option<std::path::PathBuf>,
}

/// Start the node, log that it is ready, stop it cleanly on SIGINT,
/// SIGTERM or a client's SHUTDOWN.
///
/// # Errors
/// Start-up errors (storage, listen address).
pub fn run_until_signal(config: Config, default_role: Role, name: &str) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let node = start(config, default_role).await?;
        tracing::info!(addr = %node.local_addr(), role = ?node.role(), "{name} ready");
        let signal = tokio::select! {
            s = rocksync_master::cli::stop_signal() => s?,
            () = node.shutdown_requested() => "SHUTDOWN",
        };
        tracing::info!(signal, "shutting down");
        node.shutdown().await?;
        anyhow::Ok(())
    })
}
