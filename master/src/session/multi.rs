//! Transactions: MULTI, EXEC, DISCARD, WATCH, UNWATCH. EXEC asks the
//! connection to run the queue (it owns the dispatch).

use std::sync::atomic::Ordering;

use bytes::Bytes;
use rocksync_protocol::Reply;

use super::{err_reply, After, Session};
use crate::clock::now_ms;

/// MULTI.
pub fn multi(s: &mut Session<'_>, _: &[Bytes]) -> Reply {
    if s.client.multi.is_some() {
        return Reply::error("ERR MULTI calls can not be nested");
    }
    open(s.client);
    Reply::ok()
}

/// Start the client's transaction (MULTI's effect).
pub(crate) fn open(client: &mut super::Client) {
    client.multi = Some(Vec::new());
    client.multi_dirty = false;
    client.info.in_multi.store(true, Ordering::Relaxed);
}

/// EXEC: the connection runs the queue; its replies are EXEC's.
pub fn exec(s: &mut Session<'_>, _: &[Bytes]) -> Reply {
    if s.client.multi.is_none() {
        return Reply::error("ERR EXEC without MULTI");
    }
    s.after = After::Exec;
    Reply::NilArray
}

/// DISCARD.
pub fn discard(s: &mut Session<'_>, _: &[Bytes]) -> Reply {
    if s.client.multi.take().is_none() {
        return Reply::error("ERR DISCARD without MULTI");
    }
    s.core.engine.watches.unwatch(&mut s.client.watch);
    s.client.info.in_multi.store(false, Ordering::Relaxed);
    Reply::ok()
}

/// UNWATCH.
pub fn unwatch(s: &mut Session<'_>, _: &[Bytes]) -> Reply {
    s.core.engine.watches.unwatch(&mut s.client.watch);
    Reply::ok()
}

/// WATCH key [key ...]: each key's expiry is noted when it is live, so an
/// EXEC after it expires fails too.
pub fn watch(s: &mut Session<'_>, a: &[Bytes]) -> Reply {
    let client = &mut *s.client;
    if client.multi.is_some() {
        return Reply::error("ERR WATCH inside MULTI is not allowed");
    }
    for key in &a[1..] {
        if !s.core.engine.watches.watch(&mut client.watch, key.clone()) {
            continue;
        }
        // Read after registering: a write between the two breaks the
        // watch, so what is read here is never out of date unnoticed.
        let meta = match s.core.store.meta_header_in(key, None) {
            Ok(m) => m,
            Err(e) => return err_reply(e),
        };
        if let (Some(m), Some(w)) = (meta, &client.watch) {
            if m.is_expired(now_ms()) {
                w.note_expired(key.clone());
            } else if m.expire_ms != 0 {
                w.note_expiry(m.expire_ms);
            }
        }
    }
    Reply::ok()
}
