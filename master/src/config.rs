//! Configuration (SPEC §8): defaults that run with nothing set, a TOML
//! file, then flags; every key is also a flag (`_` → `-`). Unknown keys
//! and bad values are refused at start with a message naming the key.

use std::net::IpAddr;
use std::path::{Path, PathBuf};

use rocksync_binlog::FsyncPolicy;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::outbuf::OutputLimits;

/// A configuration value as text: how a flag, CONFIG SET and CONFIG GET
/// read and show it (TOML goes through serde).
pub trait Value: Sized {
    /// Parse `s`.
    ///
    /// # Errors
    /// What is wrong with it, for a message that names the key.
    fn parse(s: &str) -> std::result::Result<Self, String>;
    /// As CONFIG GET shows it.
    fn render(&self) -> String;
}

macro_rules! number_value {
    ($($t:ty),*) => {$(
        impl Value for $t {
            fn parse(s: &str) -> std::result::Result<Self, String> {
                s.trim().parse().map_err(|_| format!("'{s}' is not a number in range"))
            }
            fn render(&self) -> String {
                self.to_string()
            }
        }
    )*};
}
number_value!(u16, u32, u64, i64, usize);

impl Value for String {
    fn parse(s: &str) -> std::result::Result<Self, String> {
        Ok(s.to_owned())
    }
    fn render(&self) -> String {
        self.clone()
    }
}

impl Value for PathBuf {
    fn parse(s: &str) -> std::result::Result<Self, String> {
        Ok(PathBuf::from(s))
    }
    fn render(&self) -> String {
        self.display().to_string()
    }
}

impl Value for bool {
    fn parse(s: &str) -> std::result::Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "yes" | "true" => Ok(true),
            "no" | "false" => Ok(false),
            _ => Err(format!("'{s}' is not yes or no")),
        }
    }
    fn render(&self) -> String {
        if *self { "yes" } else { "no" }.into()
    }
}

impl Value for FsyncPolicy {
    fn parse(s: &str) -> std::result::Result<Self, String> {
        s.parse()
            .map_err(|_| format!("must be always, everysec or no, not '{s}'"))
    }
    fn render(&self) -> String {
        self.to_string()
    }
}

impl Value for OutputLimits {
    fn parse(s: &str) -> std::result::Result<Self, String> {
        // (the classes not named are off, as they must be so far)
        OutputLimits::default().parse_over(s)
    }
    fn render(&self) -> String {
        OutputLimits::render(self)
    }
}

/// ACL users given in the configuration: one `user <name> <rules...>`
/// line each, as in Redis's config file (a TOML list of strings; a flag
/// gives them one per line).
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
#[serde(transparent)]
pub struct UserLines(pub Vec<String>);

impl Value for UserLines {
    fn parse(s: &str) -> std::result::Result<Self, String> {
        Ok(Self(
            s.lines()
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .map(|l| {
                    // (`user` is the key already: a line may leave it out)
                    if l.starts_with("user ") {
                        l.to_owned()
                    } else {
                        format!("user {l}")
                    }
                })
                .collect(),
        ))
    }
    fn render(&self) -> String {
        self.0.join("\n")
    }
}

impl Value for Option<String> {
    fn parse(s: &str) -> std::result::Result<Self, String> {
        Ok(Some(s.to_owned()))
    }
    fn render(&self) -> String {
        self.clone().unwrap_or_default()
    }
}

/// One configuration field, as the table declares it.
pub struct Field {
    /// The TOML key; the flag and CONFIG's name are it with `-`.
    pub key: &'static str,
    /// Whether CONFIG SET may change it while the node runs.
    pub live: bool,
    /// Its value as CONFIG GET shows it.
    pub get: fn(&Config) -> String,
    /// Set it from text (a flag, CONFIG SET); the error says why not.
    pub set: fn(&mut Config, &str) -> std::result::Result<(), String>,
    /// Check its value; the error says why it is wrong.
    pub check: fn(&Config) -> std::result::Result<(), String>,
}

impl Field {
    /// CONFIG's name: the key with dashes.
    pub fn name(&self) -> String {
        self.key.replace('_', "-")
    }
}

/// Whether a field may change at runtime.
macro_rules! live {
    (live) => {
        true
    };
    (fixed) => {
        false
    };
}

/// The one table of fields: each declared once, with its doc (which
/// gives its default), type, default, whether CONFIG SET may change it,
/// and its check. From it: [`Config`] (TOML keys, with serde), its
/// `Default`, [`ServerArgs`] (a flag each), and [`FIELDS`] (CONFIG GET,
/// SET, and `validate`).
macro_rules! config_table {
    ($(
        $(#[doc = $doc:literal])*
        $(#[serde($($serde:tt)*)])?
        $key:ident: $ty:ty = $default:expr, $live:ident, $check:expr;
    )*) => {
        /// A server's configuration. Each field's doc gives its default.
        #[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
        #[serde(default, deny_unknown_fields)]
        pub struct Config {
            $(
                $(#[doc = $doc])*
                $(#[serde($($serde)*)])?
                pub $key: $ty,
            )*
            /// The file this configuration was read from (`--config`), which
            /// CONFIG REWRITE rewrites; not a key of its own.
            #[serde(skip)]
            pub config_file: Option<PathBuf>,
        }

        impl Default for Config {
            fn default() -> Self {
                Self {
                    $($key: $default,)*
                    config_file: None,
                }
            }
        }

        /// Flags shared by `rocksync-master` and `rocksync-slave`: one per
        /// field, each overriding the TOML key of the same name.
        #[derive(Clone, Debug, Default, clap::Args)]
        pub struct ServerArgs {
            /// TOML config file.
            #[arg(long)]
            pub config: Option<PathBuf>,
            $(
                $(#[doc = $doc])*
                #[arg(long, allow_negative_numbers = true, value_name = "VALUE")]
                pub $key: Option<String>,
            )*
        }

        impl ServerArgs {
            /// The flags given, by key.
            fn given(&self) -> Vec<(&'static str, &str)> {
                let mut v = Vec::new();
                $(if let Some(x) = &self.$key {
                    v.push((stringify!($key), x.as_str()));
                })*
                v
            }
        }

        /// Every field, in declaration order.
        pub const FIELDS: &[Field] = &[$(
            Field {
                key: stringify!($key),
                live: live!($live),
                get: |c| Value::render(&c.$key),
                set: |c, v| {
                    c.$key = Value::parse(v)?;
                    Ok(())
                },
                check: |c| {
                    let check: fn(&$ty) -> std::result::Result<(), String> = $check;
                    check(&c.$key)
                },
            },
        )*];
    };
}

/// No check beyond the type.
fn any<T>(_: &T) -> std::result::Result<(), String> {
    Ok(())
}

config_table! {
    /// Address to listen on (127.0.0.1).
    bind: String = "127.0.0.1".into(), fixed, |v| match v.parse::<IpAddr>() {
        Ok(_) => Ok(()),
        Err(_) => Err(format!("'{v}' is not an IP address")),
    };
    /// Port (8888 for a master, 8889 for a slave).
    port: u16 = 8888, fixed, any;
    /// Data directory: RocksDB in `db/`, binlog in `binlog/`
    /// (./data/master, ./data/slave).
    data_dir: PathBuf = PathBuf::from("./data/master"), fixed, |v| {
        if v.as_os_str().is_empty() {
            Err("must not be empty".into())
        } else {
            Ok(())
        }
    };
    /// When the binlog is fsynced: always, everysec, no (everysec).
    binlog_fsync: FsyncPolicy = FsyncPolicy::EverySec, fixed, any;
    /// Binlog file size that triggers rotation, bytes (100 MiB).
    max_binlog_size: u64 = rocksync_binlog::DEFAULT_MAX_BINLOG_SIZE_BYTES, fixed, |v| {
        if *v < 4096 {
            Err(format!("must be at least 4096 bytes, not {v}"))
        } else {
            Ok(())
        }
    };
    /// Full-copy rate limit, MB/s; -1 for none (-1).
    sync_speed: i64 = -1, live, |v| {
        if *v == 0 || *v < -1 {
            Err(format!("must be -1 (unlimited) or a positive MB/s, not {v}"))
        } else {
            Ok(())
        }
    };
    /// Where BGSAVE and SAVE put backups; empty for `<data_dir>/backups`
    /// (empty).
    backup_dir: PathBuf = PathBuf::new(), live, any;
    /// Backups kept: past this many, the oldest are removed after a new
    /// one is taken; 0 keeps all (0).
    backup_keep: u64 = 0, live, any;
    /// Where sealed binlog files are copied (checked, fsynced) before
    /// purge may remove them, so every change since the oldest backup
    /// kept is on disk for a restore; empty for none (empty).
    binlog_archive_dir: PathBuf = PathBuf::new(), fixed, any;
    /// Seconds an interrupted copy's snapshot is kept for resume (3600).
    snapshot_timeout: u64 = 3600, live, any;
    /// Purge binlog files older than this many seconds; 0 never (0).
    purge_logs_span: u64 = 0, live, any;
    /// Purge the oldest binlog files while all exceed this many bytes; 0
    /// for no budget (10 GiB).
    binlog_budget: u64 = 10 << 30, live, any;
    /// The default user's password (every connection starts as the
    /// default user); empty for none (`nopass`). Setting it replaces the
    /// default user's passwords, as Redis.
    requirepass: String = String::new(), live, any;
    /// ACL users, Redis's `user` lines: `user alice on >secret ~app:*
    /// +@read` (a TOML list). A `default` line replaces the default user
    /// (`requirepass`, if also set, wins). Not with `aclfile`.
    user: UserLines = UserLines::default(), fixed, |v| {
        let c = Config {
            user: v.clone(),
            ..Config::default()
        };
        crate::acl::Acl::from_config(&c).map(drop)
    };
    /// The ACL file (Redis's `aclfile`): its users at start, ACL LOAD
    /// reads it again and ACL SAVE writes them back; empty for none.
    aclfile: PathBuf = PathBuf::new(), fixed, any;
    /// Most ACL LOG entries kept (128).
    acllog_max_len: u64 = 128, live, any;
    /// The channels a new ACL user may use: `resetchannels` (none, Redis
    /// 7's default) or `allchannels`.
    acl_pubsub_default: String = "resetchannels".into(), live, |v| {
        if v == "resetchannels" || v == "allchannels" {
            Ok(())
        } else {
            Err(format!("must be resetchannels or allchannels, not '{v}'"))
        }
    };
    /// While the default user has no password, clients from beyond the
    /// loopback interface are refused with Redis's `-DENIED` (yes).
    protected_mode: bool = true, live, any;
    /// Port for clients and slaves over TLS; 0 for none (0). With it set,
    /// `port 0` serves TLS only.
    tls_port: u16 = 0, fixed, any;
    /// The server's certificate chain, PEM; CONFIG SET loads it for new
    /// connections (and so do the other files).
    tls_cert_file: PathBuf = PathBuf::new(), live, any;
    /// The server's private key, PEM.
    tls_key_file: PathBuf = PathBuf::new(), live, any;
    /// The CA certificates, PEM, that client certificates (and, on a
    /// slave, the master's) are checked against.
    tls_ca_cert_file: PathBuf = PathBuf::new(), live, any;
    /// Whether TLS clients must show a certificate signed by the CA:
    /// yes, no, optional (yes, Redis's).
    tls_auth_clients: String = "yes".into(), live, |v| match v.as_str() {
        "yes" | "no" | "optional" => Ok(()),
        _ => Err(format!("must be yes, no or optional, not '{v}'")),
    };
    /// A slave connects to its master over TLS (the master's address is
    /// then its TLS port) (no).
    tls_replication: bool = false, fixed, any;
    /// The TLS versions spoken: `TLSv1.2`, `TLSv1.3`, or both (empty, the
    /// default: both).
    tls_protocols: String = String::new(), live, |v| crate::tls::protocols(v).map(drop);
    /// Seconds a client may send nothing before it is closed; 0 never
    /// (0, Redis's). Subscribers, blocked clients and slaves are exempt.
    timeout: u64 = 0, live, any;
    /// Seconds of silence on a client's connection before TCP keepalive
    /// probes it (every third of that after), so that a peer gone without
    /// a word is found; 0 turns it off (300, Redis's). For new
    /// connections.
    tcp_keepalive: u64 = 300, live, |v| {
        // (Linux takes at most 32767 s of idle before the first probe)
        if *v > 32767 {
            Err(format!("must be 0 to 32767 seconds, not {v}"))
        } else {
            Ok(())
        }
    };
    /// Most bytes one unfinished command of a client may hold before the
    /// client is closed (1 GiB, Redis's `client-query-buffer-limit`; at
    /// least 1 MiB). For new connections.
    client_query_buffer_limit: u64 = 1 << 30, live, |v| {
        if *v < 1 << 20 {
            Err(format!("must be at least 1048576 bytes, not {v}"))
        } else {
            Ok(())
        }
    };
    /// Largest argument a client may send, bytes (512 MiB, Redis's
    /// `proto-max-bulk-len`; at least 1 MiB). For new connections.
    proto_max_bulk_len: u64 = 512 << 20, live, |v| {
        if *v < 1 << 20 {
            Err(format!("must be at least 1048576 bytes, not {v}"))
        } else {
            Ok(())
        }
    };
    /// Most client connections at once (10000).
    maxclients: usize = 10_000, live, |v| {
        if *v == 0 {
            Err("must be at least 1".into())
        } else {
            Ok(())
        }
    };
    /// Seconds a slave may read nothing before it is dropped (60).
    slave_timeout: u64 = 60, live, |v| {
        if *v == 0 {
            Err("must be at least 1 second".into())
        } else {
            Ok(())
        }
    };
    /// Writes are refused (`-NOREPLICAS`) while fewer than this many
    /// slaves are streaming with an ack at most `min_replicas_max_lag`
    /// seconds old; 0 never refuses (0; Redis's `min-replicas-to-write`,
    /// once `min-slaves-to-write`).
    min_replicas_to_write: u64 = 0, live, any;
    /// Seconds since a slave's last ack for it to count toward
    /// `min_replicas_to_write`; 0 turns the check off (10).
    min_replicas_max_lag: u64 = 10, live, any;
    /// A write's reply waits until this many slaves have applied it
    /// (`-NOREPLICAS` after `sync_replicas_timeout`); 0 answers once the
    /// master has it, as Redis (0).
    sync_replicas: u64 = 0, live, any;
    /// Milliseconds a write waits for `sync_replicas` acks before it
    /// answers `-NOREPLICAS` (10000).
    sync_replicas_timeout: u64 = 10_000, live, |v| {
        if *v == 0 {
            Err("must be at least 1 ms".into())
        } else {
            Ok(())
        }
    };
    /// The address this node, as a slave, gives its master to be known
    /// by (INFO's `slaveN:ip=`, which Sentinel connects to), when not the
    /// one it connects from: behind NAT, in a container; empty for that
    /// one (Redis's `replica-announce-ip`). Taken at the next connection.
    replica_announce_ip: String = String::new(), live, |v| {
        if v.bytes().all(|b| b.is_ascii_graphic()) && v.len() <= 64 {
            Ok(())
        } else {
            Err(format!("'{v}' is not an address"))
        }
    };
    /// The port this node, as a slave, gives its master to be known by; 0
    /// for the one it listens on (Redis's `replica-announce-port`).
    replica_announce_port: u16 = 0, live, any;
    /// A slave whose link to its master is down (or copying) still
    /// answers reads; `no` answers `-MASTERDOWN` to every command but
    /// those Redis flags `stale` (INFO, SLAVEOF, CONFIG...) (yes; Redis's
    /// `replica-serve-stale-data`).
    replica_serve_stale_data: bool = true, live, any;
    /// Redis's `client-output-buffer-limit`: `replica <hard> <soft>
    /// <seconds>` drops a slave whose position holds more binlog than
    /// `hard` bytes, or more than `soft` for `seconds`; it full-copies
    /// when it returns (off: `replica 0 0 0`, the default; the binlog
    /// budget bounds the disk anyway); `normal` and `pubsub` limit what a
    /// client holds unread, in bytes, as Redis (`normal 0 0 0`, `pubsub
    /// 32mb 8mb 60`).
    client_output_buffer_limit: OutputLimits = OutputLimits::default(), live, any;
    /// This node's priority for promotion by Redis Sentinel, reported as
    /// `slave_priority` in INFO: lower is preferred, 0 never (100).
    slave_priority: u32 = 100, live, any;
    /// Also write RocksDB's own WAL (no: the binlog is the log).
    rocksdb_wal: bool = false, fixed, any;
    /// Compress the LSM's bottom level (most of the data) with ZSTD
    /// instead of LZ4 (no): about a tenth less disk for random values,
    /// more for text, at the CPU of every compaction into it and of every
    /// read of its blocks that misses the block cache (random GET and SET
    /// over data ten times the cache measured 17-40 % slower with it).
    bottommost_zstd: bool = false, fixed, any;
    /// RocksDB's block cache in MiB, shared by the column families (256):
    /// with the memtables, most of what the node keeps in memory however
    /// large the data.
    block_cache_mb: u64 = 256, fixed, |v| {
        if *v == 0 || *v > 1 << 20 {
            Err(format!("must be 1 to 1048576 MiB, not {v}"))
        } else {
            Ok(())
        }
    };
    /// Commands slower than this many microseconds enter the SLOWLOG; 0
    /// logs every command, -1 none (10000).
    slowlog_log_slower_than: i64 = 10_000, live, any;
    /// Most SLOWLOG entries kept (128).
    slowlog_max_len: u64 = 128, live, any;
    /// Milliseconds a script may run before other clients' commands are
    /// answered BUSY until it ends or SCRIPT KILL stops it (5000; Redis's
    /// busy-reply-threshold, once lua-time-limit).
    busy_reply_threshold: u64 = 5000, live, any;
    /// Bytes a HyperLogLog may take in its sparse encoding before it
    /// turns dense (3000, Redis's).
    hll_sparse_max_bytes: usize = 3000, live, any;
    /// Entries (deleted ones included) in one node of a stream before a
    /// new node starts, 0 for no limit (100, Redis's). Nodes are what
    /// `~` trimming removes whole.
    stream_node_max_entries: u64 = 100, live, any;
    /// Bytes of one node of a stream before a new node starts, 0 for no
    /// limit (4096, Redis's).
    stream_node_max_bytes: u64 = 4096, live, any;
    /// Commands (and other events) taking at least this many ms enter
    /// the latency monitor (LATENCY); 0 turns it off (0, Redis's).
    latency_monitor_threshold: u64 = 0, live, any;
    /// The master to follow, `host:port`; empty or `no one` for a master.
    /// Unset (the default), the node keeps the role it had when it
    /// stopped (kept in its data directory), and a new node takes its
    /// binary's default: master for `rocksync-master`, following
    /// 127.0.0.1:8888 for `rocksync-slave`. Set, it wins over both.
    #[serde(skip_serializing_if = "Option::is_none")]
    master_addr: Option<String> = None, fixed, any;
    /// The master's password, when following one.
    masterauth: String = String::new(), fixed, any;
    /// The user to authenticate as to the master (with `masterauth`);
    /// empty for the default user.
    masteruser: String = String::new(), fixed, any;
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
        for (key, text) in args.given() {
            let field = FIELDS
                .iter()
                .find(|f| f.key == key)
                .ok_or_else(|| Error::Config(format!("{key}: no such key")))?;
            (field.set)(&mut c, text).map_err(|e| Error::Config(format!("{key}: {e}")))?;
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
        for f in FIELDS {
            (f.check)(self).map_err(|e| Error::Config(format!("{}: {e}", f.key)))?;
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
            port: Some("7001".into()),
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
            Some("config: binlog_fsync: must be always, everysec or no, not 'sometimes'")
        );
    }
}
