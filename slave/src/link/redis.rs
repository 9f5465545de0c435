//! The link to a Redis master (a redis-server answers SYNC140 as an
//! unknown command): Redis's own replica handshake (`REPLCONF
//! listening-port`, `REPLCONF capa eof capa psync2`, `PSYNC`), a full
//! sync's RDB received into a file and loaded as a full copy, then the
//! command stream applied through the command table, acknowledged with
//! `REPLCONF ACK <offset>` every second and when the master asks
//! (`REPLCONF GETACK`). The offset reached is committed with the data, so
//! a link that comes back continues where it was (`PSYNC <id> <offset>`).

use std::io::Write as _;
use std::path::Path;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use bytes::{Buf, BytesMut};
use rocksync_master::{Connection, RedisApplier, RedisOffset};
use rocksync_protocol::{put_command, Reply, RequestDecoder, RespLimits};
use tokio_util::codec::Decoder;
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use super::{blocking, read_reply, wait_for_master, write, Link, LinkError, LinkResult};

/// Acknowledge the offset reached this often (as Redis's replicas do).
const ACK_EVERY: Duration = Duration::from_secs(1);
/// Commands framed, read ahead in one batched lookup, and applied as a
/// round (committed together, unless inside a MULTI).
const ROUND_COMMANDS: usize = 2048;
/// The name of a full sync's RDB file while it is received, in the data
/// directory.
const SYNC_FILE: &str = "redis-sync.rdb";

impl Link {
    /// Follow the Redis master on `conn` (authenticated already).
    pub(super) async fn follow_redis(
        &mut self,
        conn: &mut Connection,
        cancel: &CancellationToken,
    ) -> LinkResult<()> {
        let cfg = self.ctx.config();
        let port = match cfg.replica_announce_port {
            0 => self.ctx.listening_port(),
            port => port,
        };
        let port = port.to_string();
        let mut asks: Vec<Vec<&[u8]>> = vec![
            vec![b"REPLCONF", b"listening-port", port.as_bytes()],
            vec![b"REPLCONF", b"capa", b"eof", b"capa", b"psync2"],
        ];
        if !cfg.replica_announce_ip.is_empty() {
            asks.insert(
                1,
                vec![
                    b"REPLCONF",
                    b"ip-address",
                    cfg.replica_announce_ip.as_bytes(),
                ],
            );
        }
        for ask in asks {
            put_command(conn.out(), &ask);
            write(conn, "sending REPLCONF", cancel).await?;
            // Redis's replicas go on past a refusal here, but not past
            // one that says the link is not allowed.
            if let Reply::Error(reply) = read_reply(conn, cancel).await? {
                if reply.starts_with("NOAUTH") || reply.starts_with("NOPERM") {
                    return Err(LinkError::Refused {
                        what: "REPLCONF",
                        reply,
                    });
                }
            }
        }
        let resume = blocking(|| RedisApplier::resume_point(&self.storage))?;
        let (id, offset) = match &resume {
            Some(at) => (at.replid.clone(), (at.offset + 1).to_string()),
            None => ("?".to_owned(), "-1".to_owned()),
        };
        put_command(
            conn.out(),
            &[&b"PSYNC"[..], id.as_bytes(), offset.as_bytes()],
        );
        write(conn, "sending PSYNC", cancel).await?;
        let timeout = Duration::from_secs(cfg.slave_timeout.max(1));
        let answer = match read_line(conn, timeout, cancel).await? {
            Some(line) => line,
            None => return Ok(()),
        };
        let answer = match answer.strip_prefix('+') {
            Some(s) => s.to_owned(),
            None => {
                return Err(LinkError::Refused {
                    what: "PSYNC",
                    reply: answer.strip_prefix('-').unwrap_or(&answer).to_owned(),
                })
            }
        };
        if cancel.is_cancelled() {
            return Ok(());
        }
        let words: Vec<&str> = answer.split(' ').collect();
        let state = std::sync::Arc::clone(self.ctx.state());
        let at = match (&words[..], resume) {
            (["FULLRESYNC", replid, offset], _) => {
                let offset = offset
                    .parse()
                    .map_err(|_| LinkError::Protocol(format!("PSYNC answered {answer:?}")))?;
                let at = RedisOffset {
                    replid: (*replid).to_owned(),
                    offset,
                    db: 0,
                };
                info!(replid, offset, "full sync from the Redis master");
                state.set_decision(format!(
                    "FULLRESYNC {replid} {offset} from redis {}",
                    self.master_addr
                ));
                self.full_sync(conn, &at, &cfg.data_dir, cancel).await?;
                at
            }
            (["CONTINUE", rest @ ..], Some(mut at)) => {
                if let [replid] = rest {
                    // The master changed history (a failover) in a way
                    // that continues ours.
                    at.replid = (*replid).to_owned();
                }
                let n = state.binlog_resumes.fetch_add(1, Ordering::Relaxed) + 1;
                self.storage
                    .save_counter(rocksync_master::sys::BINLOG_RESUMES, n)?;
                info!(replid = %at.replid, offset = at.offset, "the Redis master continues the stream");
                state.set_decision(format!(
                    "CONTINUE {} {} from redis {}",
                    at.replid, at.offset, self.master_addr
                ));
                at
            }
            _ => return Err(LinkError::Protocol(format!("PSYNC answered {answer:?}"))),
        };
        state.set_redis_offset(Some(at.offset));
        state.set_up(true);
        self.redis_stream(conn, at, cancel).await
    }

    /// Receive the RDB into a file of the data directory, then load it
    /// as a full copy (the data wiped, a new history of ours).
    async fn full_sync(
        &mut self,
        conn: &mut Connection,
        at: &RedisOffset,
        data_dir: &Path,
        cancel: &CancellationToken,
    ) -> LinkResult<()> {
        let path = data_dir.join(SYNC_FILE);
        let received = self.receive_rdb(conn, &path, cancel).await;
        let bytes = match received {
            Ok(n) => n,
            Err(e) => {
                let _ = std::fs::remove_file(&path);
                return Err(e);
            }
        };
        let state = std::sync::Arc::clone(self.ctx.state());
        state.copying.store(true, Ordering::Relaxed);
        self.ctx.copy_begins();
        let n = state.full_copies.load(Ordering::Relaxed) + 1;
        let started = Instant::now();
        // A newline a second tells the master this replica is alive while
        // it loads (as Redis's replicas do): it drops one silent for
        // repl-timeout.
        let storage = &mut self.storage;
        let loaded = blocking(|| {
            std::thread::scope(|s| {
                let load = s.spawn(|| RedisApplier::load_rdb(storage, &path, at, n));
                let runtime = tokio::runtime::Handle::current();
                let mut beat = Instant::now();
                while !load.is_finished() {
                    std::thread::sleep(Duration::from_millis(50));
                    if beat.elapsed() >= Duration::from_secs(1) {
                        beat = Instant::now();
                        conn.out().extend_from_slice(b"\n");
                        // (a failed send shows at the first ack)
                        let _ = runtime.block_on(write(conn, "sending a newline", cancel));
                    }
                }
                load.join().unwrap_or_else(|p| std::panic::resume_unwind(p))
            })
        });
        let _ = std::fs::remove_file(&path);
        state.full_copies.store(n, Ordering::Relaxed);
        let done = loaded?;
        let history = self.storage.history()?;
        self.ctx.history_changed(history);
        state
            .last_seq
            .store(self.storage.last_seq(), Ordering::Relaxed);
        state.copying.store(false, Ordering::Relaxed);
        info!(
            keys = done.keys,
            expired = done.expired,
            functions = done.functions,
            bytes,
            secs = format!("{:.2}", started.elapsed().as_secs_f64()),
            "the Redis master's RDB is loaded: in sync"
        );
        Ok(())
    }

    /// The RDB payload (`$<length>` or `$EOF:<mark>`, after any newlines
    /// the master sends while it prepares it) into `path`; its length.
    async fn receive_rdb(
        &mut self,
        conn: &mut Connection,
        path: &Path,
        cancel: &CancellationToken,
    ) -> LinkResult<u64> {
        let state = std::sync::Arc::clone(self.ctx.state());
        let timeout_ms = self.ctx.config().slave_timeout * 1000;
        let mut payload = Payload::Header;
        let io = |what: &'static str| move |source| LinkError::Io { what, source };
        let mut file = std::fs::File::create(path).map_err(io("creating the RDB file"))?;
        let (mut bytes, started, mut logged) = (0u64, Instant::now(), Instant::now());
        loop {
            while let Some(chunk) = conn
                .reader
                .frame(&mut payload)
                .map_err(|e| LinkError::Protocol(e.to_string()))?
            {
                bytes += chunk.len() as u64;
                blocking(|| file.write_all(&chunk)).map_err(io("writing the RDB file"))?;
            }
            if let Payload::Done = payload {
                blocking(|| file.sync_all()).map_err(io("writing the RDB file"))?;
                return Ok(bytes);
            }
            if logged.elapsed() >= Duration::from_secs(1) {
                logged = Instant::now();
                let total = payload.total();
                let secs = started.elapsed().as_secs_f64().max(0.001);
                info!(
                    bytes,
                    total,
                    percent =
                        total.map(|t| format!("{:.1}", bytes as f64 * 100.0 / t.max(1) as f64)),
                    mb_per_s = format!("{:.1}", bytes as f64 / secs / 1e6),
                    "receiving the Redis master's RDB"
                );
                state.set_decision(format!(
                    "receiving the RDB from redis {}: {bytes} bytes",
                    self.master_addr
                ));
            }
            if !wait_for_master(conn, &state, timeout_ms, "reading the RDB", cancel).await? {
                return Err(LinkError::Cancelled);
            }
        }
    }

    /// Apply the command stream from `at` on.
    async fn redis_stream(
        &mut self,
        conn: &mut Connection,
        mut at: RedisOffset,
        cancel: &CancellationToken,
    ) -> LinkResult<()> {
        let cfg = self.ctx.config();
        let state = std::sync::Arc::clone(self.ctx.state());
        let timeout_ms = cfg.slave_timeout * 1000;
        let mut applier = blocking(|| RedisApplier::new(&self.storage, &cfg, &at))?;
        // The point reached, kept at once (a CONTINUE may name a new id).
        blocking(|| applier.commit(&mut self.storage, &at))?;
        let mut decoder = RequestDecoder::new(RespLimits::default());
        // The offset of the last whole command taken, and of the last one
        // outside a MULTI (what a commit may claim).
        let mut taken = at.offset;
        let mut whole = at.offset;
        let mut refused = Refusals::default();
        // The first ack goes at once: a master that sent the RDB without
        // a length waits for it before it streams.
        let mut last_ack: Option<Instant> = None;
        loop {
            // Frame and apply what is buffered, off the runtime's
            // threads, a round at most; stopped early (a GETACK, a full
            // round), it goes on at once after the commit.
            let (ack_now, more) = blocking(|| -> LinkResult<(bool, bool)> {
                // The round's commands, each with the offset of its end.
                let mut round = Vec::new();
                let mut getack = false;
                while round.len() < ROUND_COMMANDS && !getack {
                    let before = conn.reader.buffered();
                    let next = conn.reader.frame(&mut decoder);
                    taken += (before - conn.reader.buffered()) as u64;
                    match next {
                        Ok(Some(args)) => {
                            getack = args.len() >= 2
                                && args[0].eq_ignore_ascii_case(b"replconf")
                                && args[1].eq_ignore_ascii_case(b"getack");
                            round.push((args, taken));
                        }
                        Ok(None) => break,
                        Err(e) => return Err(LinkError::Protocol(e.to_string())),
                    }
                }
                let more = getack || round.len() == ROUND_COMMANDS;
                applier.prefetch(round.iter().map(|(args, _)| args));
                for (args, end) in round {
                    let name = args.first().cloned().unwrap_or_default();
                    if args.len() == 3
                        && (name.eq_ignore_ascii_case(b"publish")
                            || name.eq_ignore_ascii_case(b"spublish"))
                    {
                        self.ctx.publish(&args[1], &args[2]);
                    }
                    if let Some(why) = applier.apply(args)? {
                        refused.note(&name, why);
                    }
                    if !applier.in_unit() {
                        whole = end;
                    }
                }
                Ok((getack, more))
            })?;
            // Commit what is whole: when the socket has nothing more for
            // now, the round is full, or the master asks how far we are.
            if whole > at.offset && !applier.in_unit() {
                at.offset = whole;
                let last = blocking(|| applier.commit(&mut self.storage, &at))?;
                state.last_seq.store(last, Ordering::Relaxed);
                state.set_redis_offset(Some(at.offset));
            }
            refused.log();
            if ack_now || last_ack.is_none_or(|t| t.elapsed() >= ACK_EVERY) {
                let offset = at.offset.to_string();
                put_command(conn.out(), &[&b"REPLCONF"[..], b"ACK", offset.as_bytes()]);
                write(conn, "sending an ack", cancel).await?;
                last_ack = Some(Instant::now());
            }
            if more {
                continue;
            }
            match conn.reader.try_fill(64 * 1024) {
                Ok(Some(true)) => {
                    state.touch();
                    continue;
                }
                Ok(Some(false)) => return Err(LinkError::Closed),
                Ok(None) => {}
                Err(source) => {
                    return Err(LinkError::Io {
                        what: "reading from the master",
                        source,
                    })
                }
            }
            if !wait_for_master(conn, &state, timeout_ms, "reading from the master", cancel).await?
            {
                return Ok(());
            }
        }
    }
}

/// The master's one-line answer to PSYNC, past the newlines it sends to
/// keep the link alive while it waits to start a save (each within
/// `timeout`); `None` when cancelled.
async fn read_line(
    conn: &mut Connection,
    timeout: Duration,
    cancel: &CancellationToken,
) -> LinkResult<Option<String>> {
    let mut line = Line;
    loop {
        let deadline = tokio::time::Instant::now() + timeout;
        if let Some(l) = conn
            .reader
            .frame(&mut line)
            .map_err(|e| LinkError::Protocol(e.to_string()))?
        {
            return Ok(Some(l));
        }
        tokio::select! {
            r = conn.reader.fill() => match r {
                Ok(false) => return Err(LinkError::Closed),
                Ok(true) => {}
                Err(source) => return Err(LinkError::Io { what: "reading the master's answer", source }),
            },
            _ = tokio::time::sleep_until(deadline) => {
                return Err(LinkError::Silent(timeout.as_millis() as u64))
            }
            _ = cancel.cancelled() => return Ok(None),
        }
    }
}

/// A line, past bare newlines.
struct Line;

impl Decoder for Line {
    type Item = String;
    type Error = std::io::Error;

    fn decode(&mut self, src: &mut BytesMut) -> std::io::Result<Option<String>> {
        while src.first() == Some(&b'\n') {
            src.advance(1);
        }
        let Some(nl) = src.iter().position(|b| *b == b'\n') else {
            if src.len() > 4096 {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::InvalidData,
                    "no line end within 4 KiB",
                ));
            }
            return Ok(None);
        };
        let line = src.split_to(nl + 1);
        let text = line.strip_suffix(b"\r\n").unwrap_or(&line[..nl]);
        Ok(Some(String::from_utf8_lossy(text).into_owned()))
    }
}

/// Commands of the stream refused here, logged at most once a second
/// (Redis's replicas log such a command and go on).
#[derive(Default)]
struct Refusals {
    count: u64,
    first: Option<(String, String)>,
    logged: Option<Instant>,
}

impl Refusals {
    fn note(&mut self, name: &[u8], why: String) {
        self.count += 1;
        if self.first.is_none() {
            let name = String::from_utf8_lossy(name).to_ascii_uppercase();
            self.first = Some((name, why));
        }
    }

    fn log(&mut self) {
        if self.count == 0
            || self
                .logged
                .is_some_and(|t| t.elapsed() < Duration::from_secs(1))
        {
            return;
        }
        if let Some((command, error)) = self.first.take() {
            warn!(
                count = self.count,
                command, error, "commands from the Redis master failed here"
            );
        }
        self.count = 0;
        self.logged = Some(Instant::now());
    }
}

/// The RDB payload of a full sync, framed out of the stream: its header
/// line, then chunks of the file up to its length or its end mark.
enum Payload {
    Header,
    Length { left: u64, total: u64 },
    Mark(Vec<u8>),
    Done,
}

/// Bytes of a `$EOF:` end mark.
const MARK_BYTES: usize = 40;

impl Payload {
    fn total(&self) -> Option<u64> {
        match self {
            Self::Length { total, .. } => Some(*total),
            _ => None,
        }
    }
}

impl Decoder for Payload {
    type Item = BytesMut;
    type Error = std::io::Error;

    fn decode(&mut self, src: &mut BytesMut) -> std::io::Result<Option<BytesMut>> {
        let bad = |what: String| std::io::Error::new(std::io::ErrorKind::InvalidData, what);
        loop {
            match self {
                Self::Header => {
                    // Newlines keep the link alive while the master saves.
                    while src.first() == Some(&b'\n') {
                        src.advance(1);
                    }
                    let Some(nl) = src.iter().position(|b| *b == b'\n') else {
                        if src.len() > 1024 {
                            return Err(bad("no RDB header line from the master".into()));
                        }
                        return Ok(None);
                    };
                    let line = src.split_to(nl + 1);
                    let line = line.strip_suffix(b"\r\n").unwrap_or(&line[..nl]);
                    let text = String::from_utf8_lossy(line).into_owned();
                    *self = if let Some(mark) = text.strip_prefix("$EOF:") {
                        if mark.len() != MARK_BYTES {
                            return Err(bad(format!("a bad RDB end mark: {text:?}")));
                        }
                        Self::Mark(mark.as_bytes().to_vec())
                    } else if let Some(n) = text.strip_prefix('$').and_then(|n| n.parse().ok()) {
                        Self::Length { left: n, total: n }
                    } else if let Some(e) = text.strip_prefix('-') {
                        return Err(bad(format!("the master failed the sync: {e}")));
                    } else {
                        return Err(bad(format!("not an RDB header: {text:?}")));
                    };
                }
                Self::Length { left, .. } => {
                    if *left == 0 {
                        *self = Self::Done;
                        continue;
                    }
                    if src.is_empty() {
                        return Ok(None);
                    }
                    let n = (*left).min(src.len() as u64) as usize;
                    *left -= n as u64;
                    return Ok(Some(src.split_to(n)));
                }
                Self::Mark(mark) => {
                    // The last MARK_BYTES - 1 bytes stay until more come:
                    // they may begin the mark.
                    if let Some(at) = src.windows(MARK_BYTES).position(|w| w == &mark[..]) {
                        let chunk = src.split_to(at);
                        src.advance(MARK_BYTES);
                        *self = Self::Done;
                        return Ok((!chunk.is_empty()).then_some(chunk));
                    }
                    let n = src.len().saturating_sub(MARK_BYTES - 1);
                    return Ok((n > 0).then(|| src.split_to(n)));
                }
                Self::Done => return Ok(None),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frames(p: &mut Payload, input: &[&[u8]]) -> (Vec<u8>, Vec<u8>) {
        let (mut out, mut src) = (Vec::new(), BytesMut::new());
        for piece in input {
            src.extend_from_slice(piece);
            while let Some(c) = p.decode(&mut src).expect("decode") {
                out.extend_from_slice(&c);
            }
        }
        (out, src.to_vec())
    }

    #[test]
    fn a_length_payload_ends_at_its_length() {
        let mut p = Payload::Header;
        let (out, rest) = frames(&mut p, &[b"\n\n$5\r\nab", b"cde*1\r\n$4\r\nPING\r\n"]);
        assert_eq!(out, b"abcde");
        assert_eq!(rest, b"*1\r\n$4\r\nPING\r\n");
        assert!(matches!(p, Payload::Done));
    }

    #[test]
    fn an_eof_payload_ends_at_its_mark_even_split_across_reads() {
        let mark = "0123456789abcdef0123456789abcdef01234567";
        let body: Vec<u8> = (0..200u8).collect();
        let mut input = format!("\n$EOF:{mark}\r\n").into_bytes();
        input.extend_from_slice(&body);
        input.extend_from_slice(mark.as_bytes());
        input.extend_from_slice(b"*1\r\n$4\r\nPING\r\n");
        for cut in [1, 7, 39, 40, 41, 100] {
            let pieces: Vec<&[u8]> = input.chunks(cut).collect();
            let mut p = Payload::Header;
            let (out, rest) = frames(&mut p, &pieces);
            assert_eq!(out, body, "cut {cut}");
            assert_eq!(rest, b"*1\r\n$4\r\nPING\r\n", "cut {cut}");
            assert!(matches!(p, Payload::Done), "cut {cut}");
        }
    }
}
