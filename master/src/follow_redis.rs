//! Following a Redis master (`SLAVEOF` a redis-server): what the
//! replication link does to this node's data. A full sync loads the
//! master's RDB as a full copy does (the data wiped, a new history of
//! ours); then the commands the master streams run through the command
//! table as this node's own writes, each one unit in the binlog (a
//! `MULTI … EXEC`, which wraps the master's transactions and scripts, one
//! unit), so this node's own slaves follow it in turn.
//!
//! The master's replication id and offset are kept in the same RocksDB
//! batch as the data they describe, with this node's history and seq: a
//! link that comes back, or a node that restarts, asks the master to
//! continue from there (`PSYNC`), unless the data changed since (a
//! promotion, a restore).

use std::path::Path;
use std::sync::Arc;

use bytes::Bytes;
use rocksync_protocol::{Command, LogEvent, Reply};

use crate::cmd::{seal_command, Exec, Sizes, WriteCtx, WriteOp};
use crate::command::Run;
use crate::config::Config;
use crate::error::{Error, Result};
use crate::storage::import::{load_items, open_rdb, Imported};
use crate::storage::{new_replid, sys, Storage};
use crate::store::batch::Batch;
use crate::store::{Cf, Store};

/// A point in a Redis master's replication stream: its replication id
/// and the offset of the last byte taken.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedisOffset {
    /// The master's replication id.
    pub replid: String,
    /// The stream's offset.
    pub offset: u64,
    /// The database the stream's commands go to there (its last SELECT:
    /// a partial resync sends none again).
    pub db: u64,
}

/// Applies a Redis master's command stream to this node's storage.
pub struct RedisApplier {
    store: Arc<Store>,
    /// This node's history: what the kept offset is valid in.
    replid: String,
    batch: Batch,
    events: Vec<LogEvent>,
    next_seq: u64,
    /// An open `MULTI`: where its events begin.
    unit: Option<usize>,
    db: u64,
    sizes: Sizes,
}

impl RedisApplier {
    /// An applier for `storage`, with the sizes of `config`, for the
    /// stream from `at` on.
    ///
    /// # Errors
    /// RocksDB errors (reading the history).
    pub fn new(storage: &Storage, config: &Config, at: &RedisOffset) -> Result<Self> {
        Ok(Self {
            store: Arc::clone(storage.store()),
            replid: storage.history()?.replid,
            batch: Batch::new(),
            events: Vec::new(),
            next_seq: storage.last_seq() + 1,
            unit: None,
            db: at.db,
            sizes: Sizes::of(config),
        })
    }

    /// Where to continue a Redis master's stream from: the point the
    /// data holds, when nothing else changed the data since (no copy
    /// under way, the same history of ours, no event of ours after it).
    ///
    /// # Errors
    /// RocksDB errors.
    pub fn resume_point(storage: &Storage) -> Result<Option<RedisOffset>> {
        let Some(mark) = storage.store().get_sys(sys::REDIS_MASTER)? else {
            return Ok(None);
        };
        if storage.copy_progress()?.copying {
            return Ok(None);
        }
        let text = String::from_utf8_lossy(&mark);
        let parts: Vec<&str> = text.split(' ').collect();
        let [replid, offset, db, ours, seq] = parts[..] else {
            return Ok(None);
        };
        let (Ok(offset), Ok(db), Ok(seq)) = (offset.parse(), db.parse(), seq.parse::<u64>()) else {
            return Ok(None);
        };
        let held = ours == storage.history()?.replid && seq == storage.last_seq();
        Ok(held.then(|| RedisOffset {
            replid: replid.to_owned(),
            offset,
            db,
        }))
    }

    /// A full sync: the data replaced by the master's RDB in the file
    /// `rdb` (wiped first, as a full copy does; `full_copies` is the new
    /// count), in a new history of ours, in sync with the master at `at`.
    ///
    /// # Errors
    /// [`Error::Config`] for bad data (with its offset), keys of another
    /// database than 0, values this node does not hold; binlog, RocksDB
    /// and file errors. The data is then partial, and marked as a copy
    /// under way: the next sync is a full one.
    pub fn load_rdb(
        storage: &mut Storage,
        rdb: &Path,
        at: &RedisOffset,
        full_copies: u64,
    ) -> Result<Imported> {
        let (mut reader, bytes) = open_rdb(rdb)?;
        storage.begin_copy(full_copies)?;
        let store = Arc::clone(storage.store());
        let name = format!("the master's RDB ({})", rdb.display());
        // (keys expired by this clock are kept: the master's DEL removes
        // them, as on a Redis replica)
        let mut last = 1;
        let done = load_items(&mut reader, &name, bytes, &store, true, |b, seq| {
            last = last.max(seq);
            storage.commit(b, &[])
        })?;
        // Our history goes on past the seqs the file's values were loaded
        // at: a collection's version is the seq of the event that makes
        // it, so one the stream makes later never gets the version of one
        // loaded here, whose members (left for the garbage sweep once the
        // master deletes it) would come back with it.
        storage.end_copy(last, &new_replid())?;
        let mut b = Batch::new();
        let ours = storage.history()?.replid;
        b.put(
            &store,
            Cf::Default,
            sys::REDIS_MASTER.to_vec(),
            mark(at, &ours, storage.last_seq()),
        )?;
        storage.commit(b, &[])?;
        Ok(done)
    }

    /// Apply one command of the stream (the link answers `REPLCONF`
    /// itself). `Ok(None)`: applied, or nothing to apply; `Ok(Some(why))`:
    /// refused here (Redis's replicas log such a command and go on).
    ///
    /// # Errors
    /// [`Error::Config`] for a write to another database than 0, a
    /// command this node does not have or holds as no data command, a
    /// command that failed here (a storage error, not an error reply);
    /// the link then reconnects and continues from its last commit (what
    /// is pending is dropped with the applier).
    pub fn apply(&mut self, args: Vec<Bytes>) -> Result<Option<String>> {
        let Some(first) = args.first() else {
            return Ok(None);
        };
        let name = first.to_ascii_lowercase();
        match &name[..] {
            b"ping" | b"replconf" => return Ok(None),
            b"select" => {
                self.db = args
                    .get(1)
                    .and_then(|d| rocksync_protocol::parse_i64(d))
                    .and_then(|d| u64::try_from(d).ok())
                    .unwrap_or(0);
                return Ok(None);
            }
            b"multi" => {
                self.unit = Some(self.events.len());
                return Ok(None);
            }
            b"exec" => {
                if let Some(start) = self.unit.take() {
                    seal_command(&mut self.events, start);
                }
                return Ok(None);
            }
            _ => {}
        }
        match &name[..] {
            // The script cache is not data; a message is no write (in
            // whichever database its client was).
            b"script" | b"publish" | b"spublish" => return Ok(None),
            b"function" => return self.function(&args),
            b"flushall" => return self.command(args),
            // Another database's flush leaves database 0 as it is.
            b"flushdb" if self.db != 0 => return Ok(None),
            // A key moved out of database 0 is gone from it.
            b"move" if self.db == 0 && args.len() == 3 => {
                return self.command(vec![Bytes::from_static(b"DEL"), args[1].clone()])
            }
            _ => {}
        }
        if self.db != 0 || matches!(&name[..], b"move" | b"swapdb") {
            return Err(Error::Config(format!(
                "the master runs {} in database {}; this node has one keyspace (database 0)",
                String::from_utf8_lossy(first).to_ascii_uppercase(),
                self.db,
            )));
        }
        self.command(args)
    }

    /// Read the metadata of the keys `cmds` name in one batched lookup
    /// before they are applied (each would otherwise read its own).
    pub fn prefetch<'a>(&self, cmds: impl Iterator<Item = &'a Vec<Bytes>>) {
        let keys: Vec<&[u8]> = cmds
            .filter(|a| a.len() > 1)
            .filter_map(|a| crate::command::lookup(&a[0]).map(|s| (s, a)))
            .filter(|(s, a)| s.meta.arity_ok(a.len()))
            .flat_map(|(s, a)| s.meta.key_args(a))
            .map(|k| &k[..])
            .collect();
        // (a failed read here is a missed shortcut: each command reads
        // for itself)
        let _ = self.batch.prefetch(&self.store, Cf::Meta, &keys);
    }

    /// True inside a `MULTI` (what is pending is no whole unit yet).
    pub fn in_unit(&self) -> bool {
        self.unit.is_some()
    }

    /// Events applied and not committed yet.
    pub fn pending(&self) -> usize {
        self.events.len()
    }

    /// Commit what was applied (whole units: not inside a `MULTI`), with
    /// the master's point it reaches; the last seq of ours.
    ///
    /// # Errors
    /// Binlog and RocksDB errors (nothing of it is committed).
    pub fn commit(&mut self, storage: &mut Storage, at: &RedisOffset) -> Result<u64> {
        debug_assert!(self.unit.is_none(), "a commit inside MULTI");
        let mut batch = std::mem::take(&mut self.batch);
        let events = std::mem::take(&mut self.events);
        let last = events.last().map_or(storage.last_seq(), |e| e.seq);
        let at = RedisOffset {
            db: self.db,
            ..at.clone()
        };
        let value = mark(&at, &self.replid, last);
        let committed = batch
            .put(&self.store, Cf::Default, sys::REDIS_MASTER.to_vec(), value)
            .and_then(|()| storage.commit_fed(batch, &events));
        self.next_seq = storage.last_seq() + 1;
        committed.map(|()| last)
    }

    /// FUNCTION LOAD / DELETE / FLUSH / RESTORE, as the library events
    /// they make (the master checked them).
    fn function(&mut self, args: &[Bytes]) -> Result<Option<String>> {
        let sub = args
            .get(1)
            .map(|s| s.to_ascii_lowercase())
            .unwrap_or_default();
        let library = |code: &Bytes| -> Result<(Command, Bytes, Bytes)> {
            let name = crate::script::functions::metadata(code)
                .map_err(|e| Error::Config(format!("a function library from the master: {e}")))?
                .0;
            Ok((Command::FunctionSet, Bytes::from(name), code.clone()))
        };
        let none = Bytes::new;
        let events = match (&sub[..], args.len()) {
            (b"load", n) if n >= 3 => vec![library(&args[n - 1])?],
            (b"delete", 3) => vec![(Command::FunctionDel, args[2].clone(), none())],
            (b"flush", _) => vec![(Command::FunctionFlush, none(), none())],
            (b"restore", n) if n >= 3 => {
                let codes = crate::script::payload::restore(&args[2])
                    .map_err(|e| Error::Config(format!("FUNCTION RESTORE from the master: {e}")))?;
                let flush = args
                    .get(3)
                    .is_some_and(|p| p.eq_ignore_ascii_case(b"flush"));
                let mut events = Vec::new();
                if flush {
                    events.push((Command::FunctionFlush, none(), none()));
                }
                for code in codes {
                    events.push(library(&Bytes::from(code))?);
                }
                events
            }
            _ => return Ok(None),
        };
        let op = crate::session::functions::LibraryWrite(events);
        self.run("function", &op)
    }

    /// A data command, through its table entry. One this node does not
    /// have, or has as no data command, stops the link: going on would
    /// leave the data unlike the master's.
    fn command(&mut self, args: Vec<Bytes>) -> Result<Option<String>> {
        let unknown = |why: String| {
            Err(Error::Config(format!(
                "the master sent {}, which this node cannot apply: {why}",
                String::from_utf8_lossy(&args[0]).to_ascii_uppercase()
            )))
        };
        let spec = match crate::command::resolve(&args) {
            Ok(spec) => spec,
            Err(reply) => return unknown(reply_text(&reply)),
        };
        let Run::Data(exec) = spec.run else {
            return unknown("no data command here".into());
        };
        if !spec.meta.arity_ok(args.len()) {
            return Ok(Some(reply_text(&crate::cmd::wrong_arity(spec.meta.name))));
        }
        // A read the master replicates (PFCOUNT's cached count) changes
        // nothing here.
        if let Exec::Read(_) = exec {
            return Ok(None);
        }
        let parsed = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            crate::engine::WriteCmd::new(&spec.meta, exec, args).unwrap_or_else(|c| c)
        }));
        let Ok(cmd) = parsed else {
            return Err(Error::Config(format!(
                "{} from the master could not be parsed here",
                spec.meta.name
            )));
        };
        let Some(op) = &cmd.op else {
            return Ok(None);
        };
        self.run(spec.meta.name, op.as_ref())
    }

    /// Run `op` (command `name`) into the pending batch: one unit of its
    /// own outside a `MULTI`. What a refused command wrote is taken back.
    fn run(&mut self, name: &str, op: &dyn WriteOp) -> Result<Option<String>> {
        let start = self.events.len();
        let seq = self.next_seq;
        let mark = self.batch.mark();
        let (result, next_seq) = {
            let mut ctx = WriteCtx {
                store: &self.store,
                batch: &mut self.batch,
                now_ms: crate::clock::now_ms(),
                next_seq: self.next_seq,
                events: &mut self.events,
                writable: true,
                sizes: self.sizes,
                expires: false,
            };
            let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| op.execute(&mut ctx)));
            (r, ctx.next_seq)
        };
        let failure = match result {
            Ok(Ok(reply)) => {
                self.batch.unmark();
                self.next_seq = next_seq;
                if self.unit.is_none() {
                    seal_command(&mut self.events, start);
                }
                return Ok(match reply {
                    Reply::Error(e) => Some(e),
                    _ => None,
                });
            }
            Ok(Err(e)) => e.to_string(),
            Err(_) => format!("internal error in '{name}'"),
        };
        // What it wrote is taken back; the link stops (a storage error
        // is no answer the master's command would get there).
        if self.batch.back_to(mark) {
            self.events.truncate(start);
            self.next_seq = seq;
            return Err(Error::Config(format!(
                "{name} from the master failed: {failure}"
            )));
        }
        // Nothing pending may be committed now.
        self.batch = Batch::new();
        self.events.clear();
        self.unit = None;
        Err(Error::Config(format!(
            "{name} from the master failed past taking back: {failure}"
        )))
    }
}

/// The kept point: the master's id and offset, with our history and seq
/// it is valid at.
fn mark(at: &RedisOffset, ours: &str, seq: u64) -> Vec<u8> {
    format!("{} {} {} {ours} {seq}", at.replid, at.offset, at.db).into_bytes()
}

fn reply_text(reply: &Reply) -> String {
    match reply {
        Reply::Error(e) | Reply::Simple(e) => e.clone(),
        other => format!("{other:?}"),
    }
}

#[cfg(test)]
mod tests {
    use rocksync_protocol::rdb;

    use super::*;

    /// Ten strings, then hash `h` with field `old`: an RDB file at `path`.
    fn dump(path: &Path) {
        let mut out = Vec::new();
        rdb::write_header(&mut out, &[]);
        rdb::write_select(&mut out, 0);
        for i in 0..10 {
            let value = rdb::Value::String(Bytes::from_static(b"x"));
            rdb::write_key(&mut out, format!("s{i}").as_bytes(), &value, 0);
        }
        let hash = rdb::Value::Hash(vec![(Bytes::from_static(b"old"), Bytes::from_static(b"1"))]);
        rdb::write_key(&mut out, b"h", &hash, 0);
        rdb::write_end(&mut out, 0);
        std::fs::write(path, out).expect("rdb");
    }

    /// The fields of hash `key` as the store holds them.
    fn fields(store: &Store, key: &[u8]) -> Vec<String> {
        let Some(m) = store.meta(key).expect("meta") else {
            return Vec::new();
        };
        let prefix = crate::store::keys::sub_prefix(m.owner(key), m.version);
        let mut out = Vec::new();
        store
            .scan(Cf::Sub, &prefix, &prefix, |k, _| {
                out.push(String::from_utf8_lossy(&k[prefix.len()..]).into_owned());
                true
            })
            .expect("scan");
        out
    }

    /// The master deletes a hash its RDB brought and makes it again, and
    /// again, while the seqs of our history pass the one the hash was
    /// loaded at: the hash never has its old field back. (When the
    /// history restarted at seq 1 after the load, the hash made at the
    /// seq it was loaded at had the loaded hash's version, and its old
    /// field, which no sweep had taken yet, came back.)
    #[test]
    fn a_hash_the_master_makes_again_after_a_full_sync_never_gets_old_fields_back() {
        let dir = tempfile::tempdir().expect("tmp");
        let config = Config {
            data_dir: dir.path().join("n"),
            ..Config::default()
        };
        let mut storage = Storage::open(&config).expect("storage");
        let path = dir.path().join("dump.rdb");
        dump(&path);
        let at = RedisOffset {
            replid: "0".repeat(40),
            offset: 0,
            db: 0,
        };
        RedisApplier::load_rdb(&mut storage, &path, &at, 1).expect("load");
        let store = Arc::clone(storage.store());
        assert_eq!(fields(&store, b"h"), ["old"]);
        let mut applier = RedisApplier::new(&storage, &config, &at).expect("applier");
        let words = |s: &str| s.split(' ').map(|w| Bytes::from(w.to_owned())).collect();
        for round in 0..12 {
            applier.apply(words("DEL h")).expect("del");
            applier.apply(words("HSET h new 1")).expect("hset");
            applier.commit(&mut storage, &at).expect("commit");
            assert_eq!(fields(&store, b"h"), ["new"], "round {round}");
        }
    }
}
