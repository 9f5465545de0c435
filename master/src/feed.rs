//! One stream for every slave: the binlog's newest events, read, checked
//! and framed once, which each sync session copies to its slave, as
//! Redis's replicas share one replication buffer. Without it every
//! session read, decoded and re-encoded each event itself: with eight
//! slaves following, that was about a sixth of the master's CPU.
//!
//! A producer task tails the binlog while at least one session streams
//! (none runs on a master without slaves) and appends what each wake-up
//! finds as a chunk of frames to a ring of at most [`FEED_BYTES`]. A
//! session whose next event is still in the ring copies frames from it;
//! one that is behind (just resumed, or too slow for the ring) reads the
//! binlog itself, as before, until it reaches the ring. Frames in the ring
//! are those a session's own reader would produce: the same events in the
//! same order, since they come from one reader of the same binlog.

use std::collections::VecDeque;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use rocksync_binlog::{Binlog, BinlogReader};
use rocksync_protocol::{EventCodec, LogEvent};
use tokio::sync::watch;
use tokio_util::codec::Encoder;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::{info_span, warn, Instrument};

use crate::error::{Error, Result};
use crate::lock;

/// Most bytes of frames the ring holds (its oldest chunks go first; the
/// newest always stays).
pub const FEED_BYTES: usize = 8 << 20;
/// A chunk is closed when it reaches this size.
const CHUNK_BYTES: usize = 256 * 1024;
/// What a chunk costs beyond its frames and their ends (its place in the
/// ring, its allocations' headers), counted against [`FEED_BYTES`]: under
/// a light load a chunk holds one frame.
const CHUNK_OVERHEAD: usize = 96;

/// Consecutive frames: seq `first` on, each frame ending at its `ends`.
struct Chunk {
    first: u64,
    frames: Bytes,
    ends: Vec<u32>,
}

impl Chunk {
    /// Bytes it holds, counted against the ring's limit.
    fn size(&self) -> usize {
        self.frames.len() + 4 * self.ends.capacity() + CHUNK_OVERHEAD
    }

    /// The seq after its last frame.
    fn end(&self) -> u64 {
        self.first + self.ends.len() as u64
    }

    /// Where the frame of `seq` starts.
    fn offset(&self, seq: u64) -> usize {
        match seq - self.first {
            0 => 0,
            i => self.ends[i as usize - 1] as usize,
        }
    }
}

/// What the ring has for a session at seq `next`.
#[derive(Debug, PartialEq, Eq)]
pub enum Got {
    /// Frames from `next` through this seq were appended.
    Frames(u64),
    /// `next` is past the ring's newest frame: wait for the next chunk.
    Ahead,
    /// `next` is older than the ring: read the binlog.
    Behind,
    /// No producer runs: read the binlog.
    Off,
}

/// The frames of seqs `start..end`, in chunks.
#[derive(Default)]
struct Ring {
    chunks: VecDeque<Chunk>,
    /// The first seq held (or the next to come, while empty).
    start: u64,
    bytes: usize,
}

impl Ring {
    fn end(&self) -> u64 {
        self.chunks.back().map_or(self.start, Chunk::end)
    }

    /// Append a chunk continuing the ring; drop the oldest beyond `limit`
    /// bytes.
    fn push(&mut self, chunk: Chunk, limit: usize) {
        debug_assert_eq!(chunk.first, self.end(), "a chunk continues the ring");
        self.bytes += chunk.size();
        self.chunks.push_back(chunk);
        while self.bytes > limit && self.chunks.len() > 1 {
            if let Some(old) = self.chunks.pop_front() {
                self.bytes -= old.size();
            }
        }
        self.start = self.chunks.front().map_or(self.start, |c| c.first);
    }

    /// The frames from seq `next` on, about `limit` bytes of them (at
    /// least one frame), as slices of the chunks (taken under the feed's
    /// lock, copied after it).
    fn frames_from(&self, next: u64, limit: usize, out: &mut Vec<Bytes>) -> Got {
        if next < self.start {
            return Got::Behind;
        }
        if next >= self.end() {
            return Got::Ahead;
        }
        let at = self.chunks.partition_point(|c| c.end() <= next);
        let (mut seq, mut room) = (next, limit);
        for c in self.chunks.range(at..) {
            let i = (seq - c.first) as usize;
            let from = c.offset(seq);
            // Frames i..j fit; the first frame goes whatever its size.
            let mut j = i + c.ends[i..].partition_point(|&e| e as usize - from <= room);
            if j == i {
                if seq > next {
                    break;
                }
                j = i + 1;
            }
            let to = c.ends[j - 1] as usize;
            out.push(c.frames.slice(from..to));
            room = room.saturating_sub(to - from);
            seq = c.first + j as u64;
            if j < c.ends.len() {
                break;
            }
        }
        Got::Frames(seq - 1)
    }
}

struct State {
    ring: Ring,
    /// Sessions streaming.
    users: usize,
    /// The running producer's stop, and its generation.
    producer: Option<(CancellationToken, u64)>,
    generation: u64,
    /// The producer ended on an error: sessions read the binlog until the
    /// last of them leaves (or the feed is reset).
    failed: bool,
}

impl State {
    /// The producer of `generation` is the one running.
    fn runs(&self, generation: u64) -> bool {
        self.producer.as_ref().is_some_and(|p| p.1 == generation)
    }
}

/// The shared stream (see the module).
pub struct Feed {
    binlog: Binlog,
    /// Where the producer runs (the replication side's tasks), and what
    /// stops it with them.
    tracker: TaskTracker,
    cancel: CancellationToken,
    state: Mutex<State>,
    /// The ring's end seq, moved by each chunk (sessions wait on it).
    end: watch::Sender<u64>,
    /// Events sessions copied from the ring.
    pub from_feed: AtomicU64,
    /// Events sessions read from the binlog themselves.
    pub from_binlog: AtomicU64,
}

/// Watches a producer: one that panics is marked failed, so that the
/// sessions waiting on it read the binlog instead of waiting for good.
struct PanicGuard<'a>(&'a Feed, u64);

impl Drop for PanicGuard<'_> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            warn!("replication feed: its producer panicked; sessions read the binlog themselves");
            self.0.failed(self.1);
        }
    }
}

/// A session's use of the feed: while one lives, a producer runs.
pub struct FeedUse(Arc<Feed>);

impl Drop for FeedUse {
    fn drop(&mut self) {
        let mut s = lock(&self.0.state);
        s.users -= 1;
        if s.users == 0 {
            Feed::stop(&mut s);
            s.failed = false;
        }
    }
}

impl Feed {
    /// A feed of `binlog`'s events (no producer until a session joins),
    /// its producer run on `tracker` until `cancel`.
    pub fn new(binlog: Binlog, tracker: TaskTracker, cancel: CancellationToken) -> Arc<Self> {
        Arc::new(Self {
            binlog,
            tracker,
            cancel,
            state: Mutex::new(State {
                ring: Ring::default(),
                users: 0,
                producer: None,
                generation: 0,
                failed: false,
            }),
            end: watch::channel(0).0,
            from_feed: AtomicU64::new(0),
            from_binlog: AtomicU64::new(0),
        })
    }

    fn stop(s: &mut State) {
        if let Some((cancel, _)) = s.producer.take() {
            cancel.cancel();
        }
        s.ring = Ring::default();
        s.generation += 1;
    }

    /// A session starts streaming: the producer runs from the binlog's
    /// head if it did not already.
    pub fn join(self: &Arc<Self>) -> FeedUse {
        let mut s = lock(&self.state);
        s.users += 1;
        if s.producer.is_none() && !s.failed {
            let head = self.binlog.last_seq();
            match self.binlog.reader_after(head) {
                Ok(reader) => {
                    s.generation += 1;
                    let cancel = self.cancel.child_token();
                    s.producer = Some((cancel.clone(), s.generation));
                    s.ring = Ring {
                        start: reader.next_seq(),
                        ..Ring::default()
                    };
                    let me = Arc::clone(self);
                    let generation = s.generation;
                    self.tracker.spawn(
                        async move { me.produce(reader, cancel, generation).await }
                            .instrument(info_span!("feed")),
                    );
                }
                Err(e) => {
                    warn!(error = %e, "replication feed: cannot read the binlog's head; sessions read it themselves");
                    s.failed = true;
                }
            }
        }
        FeedUse(Arc::clone(self))
    }

    /// The binlog's history is about to change (sessions end): drop the
    /// ring; the next session to join starts a producer on the new one.
    pub fn reset(&self) {
        self.halt(lock(&self.state), false);
    }

    /// Stop the producer and drop the ring (`failed`: sessions read the
    /// binlog until the last leaves or a reset), waking waiting sessions.
    fn halt(&self, mut s: std::sync::MutexGuard<'_, State>, failed: bool) {
        Self::stop(&mut s);
        s.failed = failed;
        drop(s);
        self.end.send_modify(|_| {});
    }

    /// Bytes of frames held.
    pub fn bytes(&self) -> usize {
        lock(&self.state).ring.bytes
    }

    /// A receiver that sees each chunk appended (and each reset).
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.end.subscribe()
    }

    /// Append to `out` the frames from seq `next` on, up to about `limit`
    /// bytes (see [`Got`]).
    pub fn copy_from(&self, next: u64, out: &mut BytesMut, limit: usize) -> Got {
        let mut slices = Vec::new();
        let got = {
            let s = lock(&self.state);
            if s.producer.is_none() {
                return Got::Off;
            }
            s.ring.frames_from(next, limit, &mut slices)
        };
        for b in &slices {
            out.extend_from_slice(b);
        }
        got
    }

    async fn produce(
        self: Arc<Self>,
        mut reader: BinlogReader,
        cancel: CancellationToken,
        generation: u64,
    ) {
        let _watch = PanicGuard(&self, generation);
        let mut codec = EventCodec::default();
        let mut scratch = BytesMut::with_capacity(CHUNK_BYTES + 64 * 1024);
        loop {
            let first = tokio::select! {
                biased;
                _ = cancel.cancelled() => return,
                r = reader.next_timeout(Duration::from_secs(1)) => r,
            };
            let chunk = match first {
                Ok(None) => continue,
                Ok(Some(e)) => Self::chunk(&mut codec, &mut reader, e, &mut scratch),
                Err(e) => Err(e.into()),
            };
            let mut s = lock(&self.state);
            if !s.runs(generation) {
                return;
            }
            match chunk {
                Ok(chunk) => {
                    s.ring.push(chunk, FEED_BYTES);
                    let end = s.ring.end();
                    drop(s);
                    self.end.send_replace(end);
                }
                Err(e) => {
                    drop(s);
                    warn!(error = %e, "replication feed stopped; sessions read the binlog themselves");
                    self.failed(generation);
                    return;
                }
            }
        }
    }

    /// The producer of `generation` ended on an error (or a panic):
    /// sessions read the binlog themselves until the last leaves or a
    /// reset.
    fn failed(&self, generation: u64) {
        let s = lock(&self.state);
        if s.runs(generation) {
            self.halt(s, true);
        }
    }

    /// `first` and the events committed after it, framed, up to
    /// [`CHUNK_BYTES`] (built in `scratch`, kept in a buffer of their size:
    /// under a light load a chunk is one small frame).
    fn chunk(
        codec: &mut EventCodec,
        reader: &mut BinlogReader,
        first: LogEvent,
        scratch: &mut BytesMut,
    ) -> Result<Chunk> {
        scratch.clear();
        let mut ends = Vec::new();
        let seq = first.seq;
        let mut event = Some(first);
        while let Some(e) = event.take() {
            codec
                .encode(&e, scratch)
                .map_err(|_| Error::EventTooLarge {
                    bytes: e.encoded_len(),
                    max: codec.max_frame_bytes(),
                })?;
            // Frames are at most 4 GiB; a chunk closes past 256 KiB.
            ends.push(scratch.len() as u32);
            if scratch.len() < CHUNK_BYTES {
                event = reader.try_next()?;
            }
        }
        ends.shrink_to_fit();
        Ok(Chunk {
            first: seq,
            frames: Bytes::copy_from_slice(scratch),
            ends,
        })
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use bytes::BytesMut;
    use proptest::prelude::*;
    use rocksync_binlog::{BinlogConfig, BinlogWriter};
    use rocksync_protocol::{Command, EventCodec, LogEvent};
    use tokio_util::codec::{Decoder, Encoder};
    use tokio_util::sync::CancellationToken;
    use tokio_util::task::TaskTracker;

    use super::{Chunk, Feed, Got, Ring};

    /// A chunk of K_SET frames for seqs `first..first + n` (under 128:
    /// frames of one size), values of `len` bytes.
    fn chunk(first: u64, n: u64, len: usize) -> Chunk {
        let mut codec = EventCodec::default();
        let mut frames = BytesMut::new();
        let mut ends = Vec::new();
        for seq in first..first + n {
            let e = LogEvent::data(seq, Command::KSet, format!("k{seq:03}"), vec![b'v'; len]);
            codec.encode(&e, &mut frames).expect("frame");
            ends.push(u32::try_from(frames.len()).expect("small"));
        }
        Chunk {
            first,
            frames: frames.freeze(),
            ends,
        }
    }

    /// The seqs of the frames in `out`, each checked whole.
    fn seqs(mut out: BytesMut) -> Vec<u64> {
        let mut codec = EventCodec::default();
        let mut v = Vec::new();
        while let Some(e) = codec.decode(&mut out).expect("whole frames") {
            v.push(e.seq);
        }
        assert!(out.is_empty(), "a partial frame was copied");
        v
    }

    /// `Ring::frames_from` into one buffer.
    fn copy(r: &Ring, next: u64, out: &mut BytesMut, limit: usize) -> Got {
        let mut slices = Vec::new();
        let got = r.frames_from(next, limit, &mut slices);
        for b in slices {
            out.extend_from_slice(&b);
        }
        got
    }

    fn ring(start: u64) -> Ring {
        Ring {
            start,
            ..Ring::default()
        }
    }

    #[test]
    fn frames_are_copied_from_mid_chunk_across_chunks_whole_and_up_to_the_limit() {
        let mut r = ring(10);
        r.push(chunk(10, 5, 100), usize::MAX);
        r.push(chunk(15, 5, 100), usize::MAX);
        let mut out = BytesMut::new();
        assert_eq!(copy(&r, 12, &mut out, usize::MAX), Got::Frames(19));
        assert_eq!(seqs(out), (12..=19).collect::<Vec<_>>());
        // Room for three frames and most of a fourth: three whole ones.
        let frame = chunk(1, 1, 100).frames.len();
        let mut out = BytesMut::new();
        assert_eq!(copy(&r, 13, &mut out, 4 * frame - 1), Got::Frames(15));
        assert_eq!(seqs(out), vec![13, 14, 15]);
        // A frame larger than the limit still goes, alone.
        let mut out = BytesMut::new();
        assert_eq!(copy(&r, 11, &mut out, 1), Got::Frames(11));
        assert_eq!(seqs(out), vec![11]);
    }

    #[test]
    fn a_session_past_the_ring_waits_and_one_before_it_reads_the_binlog() {
        let mut r = ring(10);
        let mut out = BytesMut::new();
        assert_eq!(copy(&r, 10, &mut out, usize::MAX), Got::Ahead);
        assert_eq!(copy(&r, 9, &mut out, usize::MAX), Got::Behind);
        r.push(chunk(10, 4, 100), usize::MAX);
        assert_eq!(copy(&r, 14, &mut out, usize::MAX), Got::Ahead);
        assert!(out.is_empty());
    }

    #[test]
    fn the_ring_drops_its_oldest_chunks_past_its_size_but_never_the_newest() {
        let mut r = ring(1);
        let one = chunk(1, 10, 100).size();
        for i in 0..4 {
            r.push(chunk(1 + i * 10, 10, 100), 2 * one);
        }
        // Chunks of seqs 21..=40 remain.
        assert_eq!((r.start, r.end(), r.bytes), (21, 41, 2 * one));
        let mut out = BytesMut::new();
        assert_eq!(copy(&r, 20, &mut out, usize::MAX), Got::Behind);
        assert_eq!(copy(&r, 21, &mut out, usize::MAX), Got::Frames(40));
        assert_eq!(seqs(out), (21..=40).collect::<Vec<_>>());
        // A chunk larger than the limit stays, alone.
        r.push(chunk(41, 50, 100), one);
        assert_eq!((r.start, r.end()), (41, 91));
    }

    proptest! {
        /// From any seq the ring holds and under any limit: whole frames,
        /// consecutive from that seq, at least one, and no more than the
        /// limit allows beyond the first.
        #[test]
        fn frames_are_whole_consecutive_and_within_the_limit(
            sizes in proptest::collection::vec((1u64..20, 0usize..300), 1..8),
            pick in 0u64..1000,
            limit in 0usize..6000,
        ) {
            let mut r = ring(1);
            for (n, len) in sizes {
                let first = r.end();
                r.push(chunk(first, n, len), usize::MAX);
            }
            let next = 1 + pick % (r.end() - 1);
            let mut out = BytesMut::new();
            let got = copy(&r, next, &mut out, limit);
            let bytes = out.len();
            let got_seqs = seqs(out);
            let Got::Frames(last) = got else {
                panic!("{got:?} for seq {next} in 1..{}", r.end());
            };
            prop_assert_eq!(got_seqs, (next..=last).collect::<Vec<_>>());
            if last > next {
                prop_assert!(bytes <= limit, "{} bytes over a {} limit", bytes, limit);
            }
            // It stopped only at the ring's end or for want of room.
            if last + 1 < r.end() {
                let mut all = BytesMut::new();
                copy(&r, next, &mut all, usize::MAX);
                let header: [u8; 4] = all[bytes..bytes + 4].try_into().expect("a header");
                let frame = 4 + u32::from_be_bytes(header) as usize;
                prop_assert!(bytes + frame > limit, "stopped with room for seq {}", last + 1);
            }
        }
    }

    /// A binlog holding K_SET events of seqs 1..=n.
    fn binlog_with(dir: &std::path::Path, n: u64) -> BinlogWriter {
        let (mut w, _) = BinlogWriter::open(BinlogConfig::new(dir)).expect("binlog");
        append(&mut w, 1, n);
        w
    }

    fn append(w: &mut BinlogWriter, first: u64, n: u64) {
        let events: Vec<_> = (first..first + n)
            .map(|s| LogEvent::data(s, Command::KSet, format!("k{s:03}"), "v"))
            .collect();
        w.append(&events).expect("append");
    }

    /// Wait (bounded) until the feed has frames from `next`.
    async fn frames(feed: &Feed, next: u64) -> (u64, Vec<u64>) {
        let mut rx = feed.subscribe();
        let wait = async {
            loop {
                rx.borrow_and_update();
                let mut out = BytesMut::new();
                if let Got::Frames(last) = feed.copy_from(next, &mut out, usize::MAX) {
                    return (last, seqs(out));
                }
                rx.changed().await.expect("the feed lives");
            }
        };
        tokio::time::timeout(Duration::from_secs(10), wait)
            .await
            .expect("frames within 10 s")
    }

    #[tokio::test]
    async fn a_producer_runs_from_the_head_while_sessions_stream_and_a_reset_wakes_waiters() {
        let tmp = tempfile::tempdir().expect("tmp");
        let mut w = binlog_with(tmp.path(), 5);
        let feed = Feed::new(w.handle(), TaskTracker::new(), CancellationToken::new());
        let mut out = BytesMut::new();
        // No session, no producer.
        assert_eq!(feed.copy_from(6, &mut out, usize::MAX), Got::Off);
        let session = feed.join();
        // It starts at the head: older events are each session's to read.
        assert_eq!(feed.copy_from(5, &mut out, usize::MAX), Got::Behind);
        assert_eq!(feed.copy_from(6, &mut out, usize::MAX), Got::Ahead);
        append(&mut w, 6, 3);
        assert_eq!(frames(&feed, 6).await, (8, vec![6, 7, 8]));
        assert_eq!(frames(&feed, 7).await, (8, vec![7, 8]));

        // A reset wakes a waiting session, which then finds no producer.
        let mut rx = feed.subscribe();
        rx.borrow_and_update();
        let waiter = tokio::spawn(async move { rx.changed().await.is_ok() });
        feed.reset();
        let woke = tokio::time::timeout(Duration::from_secs(10), waiter)
            .await
            .expect("woken within 10 s")
            .expect("the waiter ran");
        assert!(woke);
        assert_eq!(feed.copy_from(9, &mut out, usize::MAX), Got::Off);
        assert_eq!(feed.bytes(), 0);

        // The next session to join starts a producer at the new head.
        let second = feed.join();
        append(&mut w, 9, 2);
        assert_eq!(frames(&feed, 9).await, (10, vec![9, 10]));
        assert_eq!(feed.copy_from(8, &mut out, usize::MAX), Got::Behind);
        // The last session to leave stops it and drops the ring.
        drop(session);
        assert_eq!(frames(&feed, 10).await, (10, vec![10]));
        drop(second);
        assert_eq!(feed.copy_from(10, &mut out, usize::MAX), Got::Off);
        assert_eq!(feed.bytes(), 0);
        assert!(out.is_empty());
    }
}
