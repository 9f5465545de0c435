//! A session's full copy (SPEC §5.2): a checkpoint of the store with its
//! seq, streamed as RAW pairs between COPY/BEGIN and COPY/END (throttled
//! to `sync_speed`, resumable from its breakpoint, its progress logged and
//! kept in the snapshot registry), then a binlog reader from that seq.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use rocksync_binlog::BinlogReader;
use rocksync_protocol::{EventCodec, LogEvent};
use rocksync_snapshot::{SnapshotReader, Snapshots, State};
use tokio::sync::mpsc;
use tokio_util::codec::Encoder;
use tracing::{info, warn};

use super::{send, Replication, SessionEnd};
use crate::clock::mono_ms as now_ms;
use crate::conn::FrameWriter;
use crate::role::NodeView;
use crate::slaves::{SlaveInfo, SlaveState};
use crate::store::APPLIED_SEQ_KEY;

/// Copy chunks are sent when they reach this size.
const CHUNK_BYTES: usize = 256 * 1024;

impl Replication {
    /// Full copy (or its continuation after `after`), then a binlog reader
    /// from the snapshot's seq.
    pub(super) async fn copy(
        &self,
        core: &NodeView,
        info: &Arc<SlaveInfo>,
        wr: &mut FrameWriter,
        after: Option<Bytes>,
    ) -> Result<BinlogReader, SessionEnd> {
        info.set_state(SlaveState::Copy);
        let timeout = Duration::from_secs(core.config().slave_timeout);
        let gone = |e: String| SessionEnd::Gone(e);
        let snap = match &after {
            Some(_) => self
                .snapshots
                .get(&info.key)
                .ok_or_else(|| gone("snapshot vanished".into()))?,
            None => {
                let store = Arc::clone(&self.store);
                let id = info.key.clone();
                let snaps = &self.snapshots;
                let db_store = store;
                tokio::task::block_in_place(|| snaps.create(&id, db_store.db(), APPLIED_SEQ_KEY))
                    .map_err(|e| gone(format!("snapshot: {e}")))?
            }
        };
        let seq = snap.entry.seq;
        // However the copy stops short of its end, its snapshot is left a
        // breakpoint (or dropped), never ACTIVE.
        let mut breakpoint = Breakpoint {
            snapshots: &self.snapshots,
            info,
            seq,
            done: false,
        };
        let mut codec = EventCodec::default();
        let mut out = BytesMut::new();
        let fresh = after.is_none();
        // (a test widens the window between the decision and the copy here)
        if let Some(d) = rocksync_failpoint::pause_for("repl.copy.before_begin") {
            tokio::time::sleep(d).await;
        }
        if fresh {
            codec
                .encode(&LogEvent::copy_begin(seq), &mut out)
                .map_err(|e| gone(e.to_string()))?;
            send(wr, &out, timeout).await.map_err(gone)?;
            out.clear();
        }
        let now = now_ms();
        info.copy_start_ms.store(now, Ordering::Relaxed);
        info.copy_total
            .store(snap.entry.keys_total, Ordering::Relaxed);
        let (mut keys, mut bytes) = if fresh {
            (0, 0)
        } else {
            (snap.entry.keys_sent, snap.entry.bytes_sent)
        };
        info.copy_keys.store(keys, Ordering::Relaxed);
        info.copy_bytes.store(bytes, Ordering::Relaxed);
        let (tx, mut rx) = mpsc::channel::<Result<(Bytes, u64, Bytes), String>>(4);
        let path = snap.path.clone();
        let start_after = after.unwrap_or_default();
        let producer = tokio::task::spawn_blocking(move || {
            let reader = match SnapshotReader::open(&path) {
                Ok(r) => r,
                Err(e) => {
                    let _ = tx.blocking_send(Err(e.to_string()));
                    return;
                }
            };
            let mut codec = EventCodec::default();
            let mut buf = BytesMut::with_capacity(CHUNK_BYTES + 4096);
            let (mut n, mut last) = (0u64, Bytes::new());
            let mut open = true;
            let mut unsendable = None;
            let result = reader.for_each_after(&start_after, |k, v| {
                let e = LogEvent::raw(seq, k.clone(), Bytes::copy_from_slice(v));
                if let Err(err) = codec.encode(&e, &mut buf) {
                    // A pair that cannot be sent fails the copy; a copy
                    // never ends without all of its pairs (issue 9, case 2).
                    unsendable = Some(format!("key {:?}: {err}", k.escape_ascii().to_string()));
                    return false;
                }
                n += 1;
                last = k;
                if buf.len() >= CHUNK_BYTES {
                    open = tx
                        .blocking_send(Ok((buf.split().freeze(), n, last.clone())))
                        .is_ok();
                    n = 0;
                }
                open
            });
            if let Some(why) = unsendable {
                let _ = tx.blocking_send(Err(why));
                return;
            }
            match result {
                Err(e) => {
                    let _ = tx.blocking_send(Err(e.to_string()));
                }
                Ok(()) if open && !buf.is_empty() => {
                    let _ = tx.blocking_send(Ok((buf.split().freeze(), n, last)));
                }
                Ok(()) => {}
            }
        });
        let mut last_key = Bytes::new();
        let mut last_report = now_ms();
        let started = now_ms();
        while let Some(chunk) = rx.recv().await {
            let (data, n, chunk_last) = chunk.map_err(|e| gone(format!("snapshot read: {e}")))?;
            let sent = tokio::select! {
                r = send(wr, &data, timeout) => r,
                _ = info.cancel.cancelled() => Err("cancelled".into()),
            };
            if let Err(e) = sent {
                let _ = self
                    .snapshots
                    .update(&info.key, State::Abort, &last_key, keys, bytes);
                warn!(slave = %info.id, keys, bytes, error = %e, "copy interrupted; snapshot kept for resume");
                producer.abort();
                return Err(gone(e));
            }
            keys += n;
            bytes += data.len() as u64;
            last_key = chunk_last;
            info.copy_keys.store(keys, Ordering::Relaxed);
            info.copy_bytes.store(bytes, Ordering::Relaxed);
            let speed = core.config().sync_speed;
            if speed > 0 {
                let secs = data.len() as f64 / (speed as f64 * 1024.0 * 1024.0);
                tokio::time::sleep(Duration::from_secs_f64(secs)).await;
            }
            if now_ms() - last_report >= 1000 {
                last_report = now_ms();
                let total = snap.entry.keys_total.max(1);
                let secs = ((last_report - started) as f64 / 1000.0).max(0.001);
                info!(slave = %info.id, keys, bytes, percent = format!("{:.1}", (keys as f64 * 100.0 / total as f64).min(100.0)), rate_mbps = format!("{:.1}", bytes as f64 / 1e6 / secs), "copy progress");
                let _ = self
                    .snapshots
                    .update(&info.key, State::Active, &last_key, keys, bytes);
            }
        }
        // (a test widens the window before the copy's end here)
        if let Some(d) = rocksync_failpoint::pause_for("repl.copy.before_end") {
            tokio::time::sleep(d).await;
        }
        if info.cancel.is_cancelled() {
            // The slave went (or another session replaced this one): its
            // snapshot stays a breakpoint (see settle_snapshot).
            return Err(gone("ended before the copy's end".into()));
        }
        out.clear();
        codec
            .encode(&LogEvent::copy_end(seq), &mut out)
            .map_err(|e| gone(e.to_string()))?;
        send(wr, &out, timeout).await.map_err(gone)?;
        let reader = self
            .binlog
            .reader_after(seq)
            .map_err(|e| gone(format!("binlog after copy: {e}")))?;
        let secs = (now_ms().saturating_sub(started) as f64 / 1000.0).max(0.001);
        info!(slave = %info.id, keys, bytes, seq, secs = format!("{secs:.2}"), rate_mbps = format!("{:.1}", bytes as f64 / 1e6 / secs), "copy done");
        info.sent_seq.store(seq, Ordering::Relaxed);
        let _ = self.snapshots.release(&info.key);
        breakpoint.done = true;
        Ok(reader)
    }
}

/// A copy's snapshot while the copy runs. Unless the copy reaches its
/// end (which releases it), dropping this leaves the snapshot a
/// breakpoint (ABORT: the cleaner drops it once idle), never ACTIVE (which
/// nothing drops: it pinned the binlog until a restart), wherever the
/// copy stopped (COPY/BEGIN, a chunk, COPY/END, a cancel); a slave dropped
/// over the binlog budget leaves none.
struct Breakpoint<'a> {
    snapshots: &'a Snapshots,
    info: &'a SlaveInfo,
    /// The snapshot's seq (another session's snapshot for the same slave
    /// is not this one's to settle).
    seq: u64,
    done: bool,
}

impl Drop for Breakpoint<'_> {
    fn drop(&mut self) {
        let key = &self.info.key;
        let Some(snap) = self.snapshots.get(key).filter(|s| s.entry.seq == self.seq) else {
            return;
        };
        let result = if self.info.over_budget.load(Ordering::Relaxed) {
            self.snapshots.release(key)
        } else if !self.done && snap.entry.state == State::Active {
            self.snapshots.update(
                key,
                State::Abort,
                &Snapshots::last_key(&snap.entry),
                snap.entry.keys_sent,
                snap.entry.bytes_sent,
            )
        } else {
            Ok(())
        };
        if let Err(e) = result {
            warn!(slave = %self.info.id, error = %e, "settling a copy's snapshot");
        }
    }
}
