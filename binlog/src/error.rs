//! The binlog crate's one error type; corruption names file and offset.

use std::fmt;
use std::path::PathBuf;

use rocksync_protocol::Command;

/// What is wrong at a corrupt offset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Corruption {
    /// The file does not start with the binlog magic.
    BadMagic,
    /// A format version this build does not read.
    BadVersion(u32),
    /// A record header whose checksum does not match.
    HeaderChecksum {
        /// The checksum stored in the header.
        expected: u32,
        /// The checksum of the bytes found.
        actual: u32,
    },
    /// A record payload whose checksum does not match.
    PayloadChecksum {
        /// The checksum stored in the header.
        expected: u32,
        /// The checksum of the bytes found.
        actual: u32,
    },
    /// A record larger than any writer makes.
    TooLarge(u64),
    /// A record cut short where no crash can have cut it.
    Truncated {
        /// Bytes the record needs.
        needed: u64,
        /// Bytes there are.
        found: u64,
    },
    /// A checksummed payload that is not a valid event.
    Event(String),
    /// The first record is not DESC.
    MissingDesc,
    /// A data seq out of order.
    SeqGap {
        /// The seq that should come next.
        expected: u64,
        /// The seq found.
        found: u64,
    },
    /// A record after the file's ROTATE or STOP.
    AfterEnd(Command),
}

impl fmt::Display for Corruption {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::BadMagic => f.write_str("not a binlog file (bad magic)"),
            Self::BadVersion(v) => write!(f, "unsupported binlog version {v}"),
            Self::HeaderChecksum { expected, actual } => write!(
                f,
                "record header checksum mismatch (expected {expected:#010x}, actual {actual:#010x})"
            ),
            Self::PayloadChecksum { expected, actual } => write!(
                f,
                "record payload checksum mismatch (expected {expected:#010x}, actual {actual:#010x})"
            ),
            Self::TooLarge(len) => write!(f, "record length {len} is past the maximum"),
            Self::Truncated { needed, found } => {
                write!(f, "record truncated (needs {needed} bytes, {found} present)")
            }
            Self::Event(e) => write!(f, "bad event: {e}"),
            Self::MissingDesc => f.write_str("first record is not DESC"),
            Self::SeqGap { expected, found } => {
                write!(f, "seq gap (expected seq {expected}, found {found})")
            }
            Self::AfterEnd(cmd) => write!(f, "record after {}", cmd.name()),
        }
    }
}

/// Errors of the binlog crate.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// An I/O error on a binlog file or directory.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// Damage that recovery must not skip.
    #[error("{} is corrupt at byte offset {offset}: {reason}", path.display())]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// Byte offset of the bad record (or header) in the file.
        offset: u64,
        /// What is wrong there.
        reason: Corruption,
    },
    /// An appended data event whose seq does not follow the last one.
    #[error("seq {got} does not follow the binlog's last seq {last}")]
    SeqGap {
        /// The binlog's last seq.
        last: u64,
        /// The seq offered.
        got: u64,
    },
    /// An append of an event that is not a data change.
    #[error("only data events can be appended, not {}", cmd.name())]
    NotData {
        /// The command offered.
        cmd: Command,
    },
    /// A reader asked for events the binlog no longer holds.
    #[error("seq {wanted} was purged: the oldest event in the binlog is seq {first}")]
    Purged {
        /// The first seq wanted.
        wanted: u64,
        /// The oldest seq held.
        first: u64,
    },
    /// A reader asked for events past the end of this history.
    #[error("seq {wanted} is past the binlog's last seq {last}")]
    Ahead {
        /// The last seq the reader has.
        wanted: u64,
        /// The binlog's last seq.
        last: u64,
    },
    /// A bad configuration value.
    #[error("invalid binlog config: {0}")]
    Config(String),
    /// A purge target that is not a binlog file here.
    #[error("no binlog file named {0}")]
    NoSuchFile(String),
    /// The writer was closed or dropped.
    #[error("binlog is closed")]
    Closed,
}

impl Error {
    pub(crate) fn io(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> Self {
        let path = path.into();
        move |source| Self::Io { path, source }
    }
}

/// The binlog crate's result.
pub type Result<T, E = Error> = std::result::Result<T, E>;
