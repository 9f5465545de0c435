//! An RDB file (Redis's `dump.rdb`, versions up to 11), read as a stream
//! of keys: the header, then items (keys with their expiry, function
//! libraries), the end marker and the CRC64 of everything before it.
//! Memory holds one item at a time, however large the file.

use std::io::Read;

use bytes::Bytes;

use super::read::Reader;
use super::{crc64, put_len, put_string, write_value, RdbError, Value};

/// The newest RDB version read (Redis 7.2's).
const MAX_FILE_VERSION: u16 = 11;

/// One item of an RDB file.
#[derive(Debug, Clone, PartialEq)]
pub enum Item {
    /// A key of database `db`, its value and expiry (unix ms; 0: none).
    Key {
        /// The database (SELECT) it was in.
        db: u64,
        /// The key.
        key: Bytes,
        /// Its value.
        value: Value,
        /// When it expires, unix ms; 0 for never.
        expire_ms: u64,
    },
    /// A function library's code (`#!lua name=...`).
    Function(Bytes),
}

/// Why an RDB file cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum FileError {
    /// Reading failed.
    #[error("reading the RDB file: {0}")]
    Io(#[from] std::io::Error),
    /// No `REDIS` header.
    #[error("not an RDB file (no REDIS header)")]
    NotRdb,
    /// A version this reader does not know.
    #[error("RDB version {0} is newer than this server reads ({MAX_FILE_VERSION}, Redis 7.2)")]
    Version(u16),
    /// Bytes that are no item, at this offset.
    #[error("bad RDB data at byte {offset}: {why}")]
    Bad {
        /// Where the item starts.
        offset: u64,
        /// What is wrong.
        why: RdbError,
    },
    /// The file ends before its end marker.
    #[error("the RDB file ends at byte {0}, before its end marker")]
    Truncated(u64),
    /// The checksum at the end does not match.
    #[error("the RDB file's checksum does not match its data")]
    Checksum,
}

/// Reads an RDB file's items in order.
pub struct FileReader<R> {
    src: R,
    buf: Vec<u8>,
    /// Bytes of `buf` read already.
    at: usize,
    /// File offset of `buf[0]`.
    base: u64,
    /// CRC64 of the bytes read so far.
    crc: u64,
    version: u16,
    /// The database of the keys that follow (SELECTDB).
    db: u64,
    src_done: bool,
    done: bool,
}

/// What one parse step found.
enum Step {
    Item(Item),
    /// An opcode with nothing to hand out (AUX, RESIZEDB, SELECTDB...).
    Skip,
    /// The end marker: the checksum follows.
    End,
}

impl<R: Read> FileReader<R> {
    /// Read the header of `src`.
    ///
    /// # Errors
    /// [`FileError::NotRdb`], [`FileError::Version`], read errors.
    pub fn open(mut src: R) -> Result<Self, FileError> {
        let mut head = [0u8; 9];
        src.read_exact(&mut head).map_err(|e| match e.kind() {
            std::io::ErrorKind::UnexpectedEof => FileError::NotRdb,
            _ => FileError::Io(e),
        })?;
        if &head[..5] != b"REDIS" || !head[5..].iter().all(u8::is_ascii_digit) {
            return Err(FileError::NotRdb);
        }
        let version = head[5..]
            .iter()
            .fold(0u16, |n, d| n * 10 + u16::from(d - b'0'));
        if version == 0 || version > MAX_FILE_VERSION {
            return Err(FileError::Version(version));
        }
        Ok(Self {
            src,
            buf: Vec::new(),
            at: 0,
            base: 9,
            crc: crc64(0, &head),
            version,
            db: 0,
            src_done: false,
            done: false,
        })
    }

    /// The file's RDB version.
    pub fn version(&self) -> u16 {
        self.version
    }

    /// Bytes of the file read so far.
    pub fn offset(&self) -> u64 {
        self.base + self.at as u64
    }

    /// The next item; `None` after the end marker, its checksum checked.
    ///
    /// # Errors
    /// [`FileError`]: bad data (with its offset), a file cut short, a
    /// checksum that does not match, read errors.
    pub fn next_item(&mut self) -> Result<Option<Item>, FileError> {
        loop {
            if self.done {
                return Ok(None);
            }
            let mut r = Reader::new(&self.buf[self.at..]);
            let step = parse_step(&mut r, &mut self.db);
            match step {
                Err(RdbError::Truncated) => {
                    if self.src_done {
                        return Err(FileError::Truncated(self.base + self.buf.len() as u64));
                    }
                    self.fill()?;
                }
                Err(why) => {
                    return Err(FileError::Bad {
                        offset: self.offset(),
                        why,
                    })
                }
                Ok(step) => {
                    let used = r.consumed();
                    self.crc = crc64(self.crc, &self.buf[self.at..self.at + used]);
                    self.at += used;
                    match step {
                        Step::Item(item) => return Ok(Some(item)),
                        Step::Skip => {}
                        Step::End => {
                            self.done = true;
                            return self.check_end().map(|()| None);
                        }
                    }
                }
            }
        }
    }

    /// After the end marker: the CRC64 (from version 5; zero when the
    /// writer did not compute one).
    fn check_end(&mut self) -> Result<(), FileError> {
        if self.version < 5 {
            return Ok(());
        }
        while self.buf.len() - self.at < 8 && !self.src_done {
            self.fill()?;
        }
        let Some(sum) = self.buf.get(self.at..self.at + 8) else {
            return Err(FileError::Truncated(self.offset()));
        };
        let sum = u64::from_le_bytes(sum.try_into().map_err(|_| FileError::Checksum)?);
        if sum != 0 && sum != self.crc {
            return Err(FileError::Checksum);
        }
        Ok(())
    }

    /// Read more of the file, dropping what was read.
    fn fill(&mut self) -> Result<(), FileError> {
        if self.at > 0 {
            self.buf.drain(..self.at);
            self.base += self.at as u64;
            self.at = 0;
        }
        // (at least double what is held: an item larger than the buffer
        // is parsed again a few times, not once a chunk)
        let want = self.buf.len().max(1 << 16);
        let start = self.buf.len();
        self.buf.resize(start + want, 0);
        let mut got = 0;
        while got < want {
            match self.src.read(&mut self.buf[start + got..]) {
                Ok(0) => {
                    self.src_done = true;
                    break;
                }
                Ok(n) => got += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e.into()),
            }
        }
        self.buf.truncate(start + got);
        Ok(())
    }
}

/// The start of an RDB file of version 10 (Redis 7.0): the magic, the
/// version, and `aux` fields (`redis-ver`, `ctime`...).
pub fn write_header(out: &mut Vec<u8>, aux: &[(&str, &str)]) {
    out.extend_from_slice(b"REDIS0010");
    for (k, v) in aux {
        out.push(AUX);
        put_string(out, k.as_bytes());
        put_string(out, v.as_bytes());
    }
}

/// A function library's code.
pub fn write_function(out: &mut Vec<u8>, code: &[u8]) {
    out.push(FUNCTION2);
    put_string(out, code);
}

/// The database the keys after it are in.
pub fn write_select(out: &mut Vec<u8>, db: u64) {
    out.push(SELECTDB);
    put_len(out, db);
}

/// A key: its expiry (unix ms; 0: none), type, name and value.
pub fn write_key(out: &mut Vec<u8>, key: &[u8], value: &Value, expire_ms: u64) {
    if expire_ms != 0 {
        out.push(EXPIRETIME_MS);
        out.extend_from_slice(&expire_ms.to_le_bytes());
    }
    let at = out.len();
    write_value(out, value);
    // (the name goes between the type byte and the body)
    let body = out.split_off(at + 1);
    put_string(out, key);
    out.extend_from_slice(&body);
}

/// The end marker and the CRC64 of everything before it, `crc` being
/// that of the bytes already written out: the last bytes of the file.
pub fn write_end(out: &mut Vec<u8>, crc: u64) {
    out.push(EOF);
    let crc = crc64(crc, out);
    out.extend_from_slice(&crc.to_le_bytes());
}

/// RDB opcodes.
const AUX: u8 = 0xfa;
const RESIZEDB: u8 = 0xfb;
const EXPIRETIME_MS: u8 = 0xfc;
const EXPIRETIME: u8 = 0xfd;
const SELECTDB: u8 = 0xfe;
const EOF: u8 = 0xff;
const IDLE: u8 = 0xf8;
const FREQ: u8 = 0xf9;
const MODULE_AUX: u8 = 0xf7;
const FUNCTION: u8 = 0xf6;
const FUNCTION2: u8 = 0xf5;

/// One opcode, or one key with what comes before it (its expiry, idle
/// time or frequency), from `r`.
fn parse_step(r: &mut Reader<'_>, db: &mut u64) -> Result<Step, RdbError> {
    let mut expire_ms = 0;
    loop {
        let op = r.byte()?;
        match op {
            AUX => {
                r.string()?;
                r.string()?;
                return Ok(Step::Skip);
            }
            RESIZEDB => {
                r.len()?;
                r.len()?;
                return Ok(Step::Skip);
            }
            SELECTDB => {
                *db = r.len()?;
                return Ok(Step::Skip);
            }
            EOF => return Ok(Step::End),
            FUNCTION2 => return Ok(Step::Item(Item::Function(r.string()?))),
            FUNCTION => {
                return Err(RdbError::Unsupported(
                    "Redis 7.0 release candidate function",
                ))
            }
            MODULE_AUX => return Err(RdbError::Unsupported("module's data")),
            EXPIRETIME_MS => {
                let b: [u8; 8] = r.take(8)?.try_into().map_err(|_| RdbError::Format)?;
                expire_ms = u64::from_le_bytes(b);
            }
            EXPIRETIME => {
                let b: [u8; 4] = r.take(4)?.try_into().map_err(|_| RdbError::Format)?;
                expire_ms = u64::from(u32::from_le_bytes(b)) * 1000;
            }
            IDLE => {
                r.len()?;
            }
            FREQ => {
                r.byte()?;
            }
            kind => {
                let key = r.string()?;
                let value = r.value(kind)?;
                return Ok(Step::Item(Item::Key {
                    db: *db,
                    key,
                    value,
                    expire_ms,
                }));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A file of `items` (each already encoded), with a right checksum.
    fn file(items: &[u8]) -> Vec<u8> {
        let mut f = b"REDIS0010".to_vec();
        f.extend_from_slice(items);
        f.push(EOF);
        let crc = crc64(0, &f);
        f.extend_from_slice(&crc.to_le_bytes());
        f
    }

    fn key(out: &mut Vec<u8>, k: &str, v: &Value) {
        write_key(out, k.as_bytes(), v, 0);
    }

    fn all(f: &[u8]) -> Result<Vec<Item>, FileError> {
        let mut r = FileReader::open(f)?;
        let mut items = Vec::new();
        while let Some(i) = r.next_item()? {
            items.push(i);
        }
        Ok(items)
    }

    #[test]
    fn keys_expiries_and_functions_come_out_in_order() {
        let mut items = vec![AUX];
        put_string(&mut items, b"redis-ver");
        put_string(&mut items, b"7.0.15");
        items.extend_from_slice(&[SELECTDB, 0, RESIZEDB, 2, 1]);
        let big = Value::String(Bytes::from(vec![b'v'; 200_000]));
        key(&mut items, "a", &big);
        items.push(EXPIRETIME_MS);
        items.extend_from_slice(&1_900_000_000_000u64.to_le_bytes());
        key(
            &mut items,
            "b",
            &Value::List(vec![Bytes::from_static(b"x")]),
        );
        items.push(FUNCTION2);
        put_string(
            &mut items,
            b"#!lua name=lib\nredis.register_function('f', function() end)",
        );
        let f = file(&items);
        let got = all(&f).expect("read");
        assert_eq!(got.len(), 3);
        assert!(
            matches!(&got[0], Item::Key { key, value, expire_ms: 0, .. } if key == "a" && *value == big)
        );
        assert!(
            matches!(&got[1], Item::Key { key, expire_ms: 1_900_000_000_000, .. } if key == "b")
        );
        assert!(matches!(&got[2], Item::Function(code) if code.starts_with(b"#!lua")));
        // Damage is caught by the checksum, a cut by the missing end.
        let mut bad = f.clone();
        bad[40] ^= 1;
        assert!(all(&bad).is_err());
        assert!(matches!(
            all(&f[..f.len() - 20]),
            Err(FileError::Truncated(_))
        ));
        assert!(matches!(all(b"REDIS0012"), Err(FileError::Version(12))));
        assert!(matches!(all(b"PK\x03\x04"), Err(FileError::NotRdb)));
    }
}
