//! Publish/subscribe: SUBSCRIBE, PSUBSCRIBE, UNSUBSCRIBE, PUNSUBSCRIBE,
//! PUBLISH. A subscriber's messages come through its inbox.

use bytes::{Bytes, BytesMut};
use rocksync_protocol::{Proto, Reply};

use super::{bulk_str, Client, Session};

/// SUBSCRIBE channel [channel ...].
pub fn subscribe(s: &mut Session<'_>, a: &[Bytes]) -> Reply {
    join(s, a, false)
}

/// PSUBSCRIBE pattern [pattern ...].
pub fn psubscribe(s: &mut Session<'_>, a: &[Bytes]) -> Reply {
    join(s, a, true)
}

/// UNSUBSCRIBE [channel ...] (none named: all).
pub fn unsubscribe(s: &mut Session<'_>, a: &[Bytes]) -> Reply {
    leave(s, a, false)
}

/// PUNSUBSCRIBE [pattern ...] (none named: all).
pub fn punsubscribe(s: &mut Session<'_>, a: &[Bytes]) -> Reply {
    leave(s, a, true)
}

/// PUBLISH channel message: how many subscribers got it.
pub fn publish(s: &mut Session<'_>, a: &[Bytes]) -> Reply {
    Reply::Integer(s.core.pubsub.publish(&a[1], &a[2]) as i64)
}

/// One confirmation per name, with the count of this client's
/// subscriptions: all but the last go out at once, the last is the
/// command's reply.
fn confirm(out: &mut BytesMut, proto: Proto, replies: Vec<Reply>) -> Reply {
    let mut replies = replies.into_iter();
    let mut last = replies.next().unwrap_or(Reply::NilArray);
    for r in replies {
        last.encode_as(out, proto);
        last = r;
    }
    last
}

fn join(s: &mut Session<'_>, a: &[Bytes], pattern: bool) -> Reply {
    let client: &mut Client = s.client;
    client.open_inbox(&s.core.engine.tracking);
    let mut replies = Vec::with_capacity(a.len() - 1);
    for ch in &a[1..] {
        let fresh = if pattern {
            client.patterns.insert(ch.clone())
        } else {
            client.channels.insert(ch.clone())
        };
        if let (true, Some(sub)) = (fresh, &client.sub) {
            s.core
                .pubsub
                .subscribe(pattern, ch.clone(), client.id, sub.clone());
            // An ACL SETUSER that took the channel away while this ran may
            // have looked before it was registered: looked at again now,
            // the connection is closed as that SETUSER would close it.
            if !client.user.may_use_channel(ch, pattern) {
                s.after = super::After::Close;
            }
        }
        replies.push(Reply::Push(vec![
            bulk_str(if pattern { "psubscribe" } else { "subscribe" }),
            Reply::Bulk(ch.clone()),
            Reply::Integer(client.subscriptions() as i64),
        ]));
    }
    client.subscriptions_changed(&s.core.engine.tracking);
    confirm(s.out, client.proto, replies)
}

fn leave(s: &mut Session<'_>, a: &[Bytes], pattern: bool) -> Reply {
    let client: &mut Client = s.client;
    let kind = if pattern {
        "punsubscribe"
    } else {
        "unsubscribe"
    };
    let names: Vec<Bytes> = if a.len() > 1 {
        a[1..].to_vec()
    } else if pattern {
        client.patterns.iter().cloned().collect()
    } else {
        client.channels.iter().cloned().collect()
    };
    let mut replies = Vec::with_capacity(names.len().max(1));
    if names.is_empty() {
        replies.push(Reply::Push(vec![
            bulk_str(kind),
            Reply::Nil,
            Reply::Integer(client.subscriptions() as i64),
        ]));
    }
    for ch in names {
        let was = if pattern {
            client.patterns.remove(&ch)
        } else {
            client.channels.remove(&ch)
        };
        if was {
            s.core.pubsub.unsubscribe(pattern, &ch, client.id);
        }
        replies.push(Reply::Push(vec![
            bulk_str(kind),
            Reply::Bulk(ch),
            Reply::Integer(client.subscriptions() as i64),
        ]));
    }
    client.subscriptions_changed(&s.core.engine.tracking);
    confirm(s.out, client.proto, replies)
}
