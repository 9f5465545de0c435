//! Configuration (SPEC §8): defaults that run with nothing set, a TOML
//! file, then flags; every key is also a flag (`_` → `-`). Unknown keys
//! and bad values are refused at start with a message naming the key.

use std::net::IpAddr;
use std::path::{Path, PathBuf};

use rocksync_binlog::FsyncPolicy;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// A server's configuration. Each field's doc gives its default.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Address to listen on (127.0.0.1).
    pub bind: String,
    /// Port (8888 for a master, 8889 for a slave).
    pub port: u16,
    /// Data directory: RocksDB in `db/`, binlog in `binlog/`
    /// (./data/master, ./data/slave).
    pub data_dir: PathBuf,
    /// When the binlog is fsynced: always, everysec, no (everysec).
    pub binlog_fsync: FsyncPolicy,
    /// Binlog file size that triggers rotation, bytes (100 MiB).
    pub max_binlog_size: u64,
    /// Full-copy rate limit, MB/s; -1 for none (-1).
    pub sync_speed: i64,
    /// Seconds an interrupted copy's snapshot is kept for resume (3600).
    pub snapshot_timeout: u64,
    /// Purge binlog files older than this many seconds; 0 never (0).
    pub purge_logs_span: u64,
    /// Purge the oldest binlog files while all exceed this many bytes; 0
    /// for no budget (10 GiB).
    pub binlog_budget: u64,
    /// Password clients must AUTH with; empty for none.
    pub requirepass: String,
    /// Most client connections at once (10000).
    pub maxclients: usize,
    /// Seconds a slave may read nothing before it is dropped (60).
    pub slave_timeout: u64,
    /// This node's priority for promotion by Redis Sentinel, reported as
    /// `slave_priority` in INFO: lower is preferred, 0 never (100).
    pub slave_priority: u32,
    /// Also write RocksDB's own WAL (false: the binlog is the log).
    pub rocksdb_wal: bool,
    /// RocksDB's block cache in MiB, shared by the column families (256):
    /// with the memtables, most of what the node keeps in memory however
    /// large the data.
    pub block_cache_mb: u64,
    /// Commands slower than this many microseconds enter the SLOWLOG; 0
    /// logs every command, -1 none (10000).
    pub slowlog_log_slower_than: i64,
    /// Most SLOWLOG entries kept (128).
    pub slowlog_max_len: u64,
    /// The master to follow, `host:port`; empty or `no one` for a master.
    /// Unset (the default), the node keeps the role it had when it
    /// stopped (kept in its data directory), and a new node takes its
    /// binary's default: master for `rocksync-master`, following
    /// 127.0.0.1:8888 for `rocksync-slave`. Set, it wins over both.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub master_addr: Option<String>,
    /// The master's password, when following one.
    pub masterauth: String,
    /// The file this configuration was read from (`--config`), which
    /// CONFIG REWRITE rewrites; not a key of its own.
    #[serde(skip)]
    pub config_file: Option<PathBuf>,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            bind: "127.0.0.1".into(),
            port: 8888,
            data_dir: PathBuf::from("./data/master"),
            binlog_fsync: FsyncPolicy::EverySec,
            max_binlog_size: rocksync_binlog::DEFAULT_MAX_BINLOG_SIZE_BYTES,
            sync_speed: -1,
            snapshot_timeout: 3600,
            purge_logs_span: 0,
            binlog_budget: 10 << 30,
            requirepass: String::new(),
            maxclients: 10_000,
            slave_timeout: 60,
            slave_priority: 100,
            rocksdb_wal: false,
            block_cache_mb: 256,
            slowlog_log_slower_than: 10_000,
            slowlog_max_len: 128,
            master_addr: None,
            masterauth: String::new(),
            config_file: None,
        }
    }
}

/// Flags shared by `rocksync-master` and `rocksync-slave`; each overrides
/// the TOML key of the same name.
#[derive(Clone, Debug, Default, clap::Args)]
pub struct ServerArgs {
    /// TOML config file.
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Address to listen on.
    #[arg(long)]
    pub bind: Option<String>,
    /// Port.
    #[arg(long)]
    pub port: Option<u16>,
    /// Data directory.
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// always | everysec | no.
    #[arg(long)]
    pub binlog_fsync: Option<String>,
    /// Binlog rotation size, bytes.
    #[arg(long)]
    pub max_binlog_size: Option<u64>,
    /// Full-copy rate limit, MB/s (-1: none).
    #[arg(long, allow_negative_numbers = true)]
    pub sync_speed: Option<i64>,
    /// Seconds an interrupted copy's snapshot is kept.
    #[arg(long)]
    pub snapshot_timeout: Option<u64>,
    /// Purge binlog files older than this, seconds (0: never).
    #[arg(long)]
    pub purge_logs_span: Option<u64>,
    /// Binlog size budget, bytes (0: none).
    #[arg(long)]
    pub binlog_budget: Option<u64>,
    /// Password clients must AUTH with.
    #[arg(long)]
    pub requirepass: Option<String>,
    /// Most client connections at once.
    #[arg(long)]
    pub maxclients: Option<usize>,
    /// Seconds before a silent slave is dropped.
    #[arg(long)]
    pub slave_timeout: Option<u64>,
    /// Priority for promotion by Sentinel (0: never).
    #[arg(long)]
    pub slave_priority: Option<u32>,
    /// RocksDB's block cache, MiB.
    #[arg(long)]
    pub block_cache_mb: Option<u64>,
    /// SLOWLOG threshold, microseconds (0: every command, -1: none).
    #[arg(long, allow_negative_numbers = true)]
    pub slowlog_log_slower_than: Option<i64>,
    /// Most SLOWLOG entries kept.
    #[arg(long)]
    pub slowlog_max_len: Option<u64>,
    /// The master to follow, HOST:PORT ("no one": be a master). Unset, a
    /// node keeps the role it had when it stopped.
    #[arg(long)]
    pub master_addr: Option<String>,
    /// The master's password.
    #[arg(long)]
    pub masterauth: Option<String>,
}

impl Config {
    /// Defaults, then the TOML file named by `--config`, then flags.
    ///
    /// # Errors
    /// [`Error::Config`] naming the file, key or value at fault.
    pub fn load(args: &ServerArgs, defaults: Config) -> Result<Self> {
        let mut c = match &args.config {
            Some(path) => Self::from_file(path, defaults)?,
            None => defaults,
        };
        c.config_file = args.config.clone();
        macro_rules! set {
            ($($f:ident),*) => { $(if let Some(v) = &args.$f { c.$f = v.clone(); })* };
        }
        set!(
            bind,
            port,
            data_dir,
            max_binlog_size,
            sync_speed,
            snapshot_timeout,
            purge_logs_span,
            binlog_budget,
            requirepass,
            maxclients,
            slave_timeout,
            slave_priority,
            block_cache_mb,
            slowlog_log_slower_than,
            slowlog_max_len,
            masterauth
        );
        if let Some(a) = &args.master_addr {
            c.master_addr = Some(a.clone());
        }
        if let Some(p) = &args.binlog_fsync {
            c.binlog_fsync = p.parse().map_err(|_| {
                Error::Config(format!(
                    "binlog_fsync must be always, everysec or no, not '{p}'"
                ))
            })?;
        }
        c.validate()?;
        Ok(c)
    }

    /// Read a TOML file over `defaults`.
    ///
    /// # Errors
    /// [`Error::Config`] naming the file and what is wrong in it.
    pub fn from_file(path: &Path, defaults: Config) -> Result<Self> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| Error::Config(format!("{}: {e}", path.display())))?;
        Self::from_toml(&text, defaults).map_err(|e| match e {
            Error::Config(m) => Error::Config(format!("{}: {m}", path.display())),
            other => other,
        })
    }

    /// Parse TOML text over `defaults`.
    ///
    /// # Errors
    /// [`Error::Config`] naming the unknown key or bad value.
    pub fn from_toml(text: &str, defaults: Config) -> Result<Self> {
        let table: toml::Table = text
            .parse()
            .map_err(|e: toml::de::Error| Error::Config(e.message().to_owned()))?;
        let mut merged =
            toml::Table::try_from(&defaults).map_err(|e| Error::Config(e.to_string()))?;
        for (k, v) in table {
            merged.insert(k, v);
        }
        let c: Config = merged
            .try_into()
            .map_err(|e: toml::de::Error| Error::Config(e.message().trim().to_owned()))?;
        c.validate()?;
        Ok(c)
    }

    /// Check values that parse but make no sense.
    ///
    /// # Errors
    /// [`Error::Config`] naming the key.
    pub fn validate(&self) -> Result<()> {
        let bad = |m: String| Err(Error::Config(m));
        if self.bind.parse::<IpAddr>().is_err() {
            return bad(format!("bind: '{}' is not an IP address", self.bind));
        }
        if self.max_binlog_size < 4096 {
            return bad(format!(
                "max_binlog_size: must be at least 4096 bytes, not {}",
                self.max_binlog_size
            ));
        }
        if self.sync_speed == 0 || self.sync_speed < -1 {
            return bad(format!(
                "sync_speed: must be -1 (unlimited) or a positive MB/s, not {}",
                self.sync_speed
            ));
        }
        if self.maxclients == 0 {
            return bad("maxclients: must be at least 1".into());
        }
        if self.slave_timeout == 0 {
            return bad("slave_timeout: must be at least 1 second".into());
        }
        if self.block_cache_mb == 0 || self.block_cache_mb > 1 << 20 {
            return bad(format!(
                "block_cache_mb: must be 1 to 1048576 MiB, not {}",
                self.block_cache_mb
            ));
        }
        if self.data_dir.as_os_str().is_empty() {
            return bad("data_dir: must not be empty".into());
        }
        Ok(())
    }

    /// CONFIG REWRITE: write this configuration back to `config_file`, as
    /// TOML that loads
    /// again: through a tmp file, fsynced, renamed over the old one, the
    /// directory fsynced (a crash leaves the old file or the new one).
    ///
    /// # Errors
    /// [`Error::Config`] without a config file; [`Error::Io`].
    pub fn rewrite(&self) -> Result<()> {
        let Some(path) = &self.config_file else {
            return Err(Error::Config(
                "The server is running without a config file".into(),
            ));
        };
        let text = toml::to_string(self).map_err(|e| Error::Config(e.to_string()))?;
        let text = format!("# Written by CONFIG REWRITE: the live configuration and role.\n{text}");
        // What is written must load again (kvrocks #428 broke restarts).
        Self::from_toml(&text, Config::default())?;
        let io = |source| Error::Io {
            path: path.clone(),
            source,
        };
        let dir = path
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        static REWRITES: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let n = REWRITES.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let tmp = dir.join(format!(
            ".{}.rewrite.{}.{n}",
            path.file_name()
                .map_or("config".into(), |n| n.to_string_lossy()),
            std::process::id()
        ));
        let written = std::fs::File::create(&tmp).and_then(|mut f| {
            std::io::Write::write_all(&mut f, text.as_bytes())?;
            f.sync_all()
        });
        if let Err(e) = written {
            let _ = std::fs::remove_file(&tmp);
            return Err(io(e));
        }
        std::fs::rename(&tmp, path).map_err(io)?;
        std::fs::File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(io)
    }

    /// The RocksDB directory.
    pub fn db_dir(&self) -> PathBuf {
        self.data_dir.join("db")
    }

    /// The binlog directory.
    pub fn binlog_dir(&self) -> PathBuf {
        self.data_dir.join("binlog")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(text: &str) -> String {
        match Config::from_toml(text, Config::default()) {
            Ok(c) => panic!("accepted {c:?}"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn file_values_override_defaults() {
        let c = Config::from_toml(
            "port = 7000\nbinlog_fsync = \"always\"\n",
            Config::default(),
        )
        .expect("valid");
        assert_eq!(c.port, 7000);
        assert_eq!(c.binlog_fsync, FsyncPolicy::Always);
        assert_eq!(c.bind, "127.0.0.1");
    }

    #[test]
    fn unknown_keys_and_bad_values_name_the_key() {
        assert!(
            err("prot = 1").contains("unknown field `prot`"),
            "{}",
            err("prot = 1")
        );
        assert!(
            err("binlog_fsync = \"often\"").contains("often"),
            "{}",
            err("binlog_fsync = \"often\"")
        );
        assert!(
            err("port = \"x\"").contains("invalid type"),
            "{}",
            err("port = \"x\"")
        );
        assert_eq!(
            err("sync_speed = 0"),
            "config: sync_speed: must be -1 (unlimited) or a positive MB/s, not 0"
        );
        assert_eq!(
            err("block_cache_mb = 0"),
            "config: block_cache_mb: must be 1 to 1048576 MiB, not 0"
        );
        assert_eq!(
            err("bind = \"localhost:1\""),
            "config: bind: 'localhost:1' is not an IP address"
        );
    }

    #[test]
    fn rewrite_writes_a_file_that_loads_back_with_the_role() {
        let dir = tempfile::tempdir().expect("tmp");
        let path = dir.path().join("node.toml");
        std::fs::write(&path, "port = 7000\n").expect("write");
        let args = ServerArgs {
            config: Some(path.clone()),
            ..ServerArgs::default()
        };
        let mut c = Config::load(&args, Config::default()).expect("valid");
        c.maxclients = 77;
        c.master_addr = Some("127.0.0.1:7001".into());
        c.rewrite().expect("rewrite");
        let again = Config::load(&args, Config::default()).expect("loads again");
        assert_eq!(again, c);
        c.master_addr = Some(String::new());
        c.rewrite().expect("rewrite");
        let again = Config::load(&args, Config::default()).expect("loads again");
        assert_eq!(again.master_addr.as_deref(), Some(""));
        let stray = std::fs::read_dir(dir.path()).expect("dir").count();
        assert_eq!(stray, 1, "a tmp file was left behind");
        assert!(Config::default().rewrite().is_err());
    }

    #[test]
    fn flags_override_the_file() {
        let dir = tempfile::tempdir().expect("tmp");
        let path = dir.path().join("c.toml");
        std::fs::write(&path, "port = 7000\nmaxclients = 5\n").expect("write");
        let args = ServerArgs {
            config: Some(path),
            port: Some(7001),
            ..ServerArgs::default()
        };
        let c = Config::load(&args, Config::default()).expect("valid");
        assert_eq!((c.port, c.maxclients), (7001, 5));
        let bad = ServerArgs {
            binlog_fsync: Some("sometimes".into()),
            ..ServerArgs::default()
        };
        let e = Config::load(&bad, Config::default())
            .err()
            .map(|e| e.to_string());
        assert_eq!(
            e.as_deref(),
            Some("config: binlog_fsync must be always, everysec or no, not 'sometimes'")
        );
    }
}
