//! rocksync's binlog (SPEC §4): checksummed segment files of `LogEvent`s,
//! a group-appending writer with an fsync policy and rotation, readers that
//! start at any seq and wait for appends, crash recovery that cuts a torn
//! tail and refuses any other damage, purge, and an archive of sealed
//! files that purge waits for.
//!
//! ```text
//! dir/00000001.binlog  [header][DESC][events…][ROTATE → 00000002.binlog]
//! dir/00000002.binlog  [header][DESC][events…]            (active)
//! ```

mod archive;
mod error;
mod reader;
mod record;
mod segment;
mod shared;
mod times;
mod verify;
mod writer;

pub use archive::{archive_name, prune_archive, ArchiveReport};
pub use error::{Corruption, Error, Result};
pub use reader::{Binlog, BinlogReader, PurgeReport, PurgeRule};
pub use record::{FILE_HEADER_BYTES, MAX_RECORD_BYTES, RECORD_HEADER_BYTES};
pub use segment::{scan_segment, LogPos, SegmentId, SegmentScan, TornTail};
pub use shared::{Committed, Lease, SegmentInfo};
pub use times::{read_times, times_path};
pub use verify::{verify_dir, SegmentEvents, VerifyReport};
pub use writer::{
    BinlogConfig, BinlogWriter, FsyncPolicy, Recovery, Staged, DEFAULT_MAX_BINLOG_SIZE_BYTES,
};

/// The record codec, for benchmarks and tools that frame bytes themselves.
pub mod codec {
    pub use crate::record::{decode_record, encode_record, file_header, Decoded};
}
