//! The SYNC140 handshake: the slave's request, the master's one-line
//! answer, and the slave's acknowledgements (`REPLCONF ACK <seq>`), each
//! formatted and parsed here and nowhere else.

use std::fmt;
use std::str::FromStr;

use bytes::Bytes;

use crate::error::{Error, Result};
use crate::reply::Reply;

/// The command name a slave sends to start a sync session.
pub const SYNC_COMMAND: &str = "SYNC140";

/// `SYNC140 <last_seq> <last_key> <listening_port> [<replid> [<node_id>]]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncRequest {
    /// The last seq the slave applied (0: nothing yet).
    pub last_seq: u64,
    /// Non-empty while a full copy is in progress: the last key copied.
    pub last_key: Bytes,
    /// The port the slave serves clients on; with its address it names the
    /// slave for snapshot resume.
    pub listening_port: u16,
    /// The history the slave's data belongs to, if it has one.
    pub replid: Option<String>,
    /// The slave's persistent id (sent with a replid): it, not the
    /// address, names the slave's session and its copy snapshot, so two
    /// slaves behind one address, or a client posing as one, never take
    /// over each other's session or resume each other's copy.
    pub node_id: Option<String>,
    /// The address the master (and through it Sentinel) should know the
    /// slave by, when not the one it connects from (`replica-announce-ip`:
    /// a slave behind NAT or in a container); sent after the node id.
    pub announce_ip: Option<String>,
}

fn handshake_err(text: impl Into<String>) -> Error {
    Error::Handshake(text.into())
}

fn parse_num<T: FromStr>(arg: &[u8], what: &str) -> Result<T> {
    std::str::from_utf8(arg)
        .ok()
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| handshake_err(format!("ERR invalid {what} in {SYNC_COMMAND}")))
}

/// True for a replid that fits in the answer line: 1 to 64 printable,
/// non-blank ASCII characters.
pub fn is_valid_replid(id: &str) -> bool {
    !id.is_empty() && id.len() <= 64 && id.bytes().all(|b| b.is_ascii_graphic())
}

impl SyncRequest {
    /// The request as command arguments (what a client sends as a RESP array).
    pub fn to_args(&self) -> Vec<Bytes> {
        let mut args = vec![
            Bytes::from_static(SYNC_COMMAND.as_bytes()),
            Bytes::from(self.last_seq.to_string()),
            self.last_key.clone(),
            Bytes::from(self.listening_port.to_string()),
        ];
        if let Some(id) = &self.replid {
            args.push(Bytes::copy_from_slice(id.as_bytes()));
            if let Some(node) = &self.node_id {
                args.push(Bytes::copy_from_slice(node.as_bytes()));
                if let Some(ip) = &self.announce_ip {
                    args.push(Bytes::copy_from_slice(ip.as_bytes()));
                }
            }
        }
        args
    }

    /// Parse the arguments of a received command, name included.
    ///
    /// # Errors
    /// [`Error::Handshake`] with a Redis-style error text.
    pub fn parse(args: &[Bytes]) -> Result<Self> {
        let name_ok = args
            .first()
            .is_some_and(|n| n.eq_ignore_ascii_case(SYNC_COMMAND.as_bytes()));
        if !name_ok {
            return Err(handshake_err(format!("ERR expected {SYNC_COMMAND}")));
        }
        if !(4..=7).contains(&args.len()) {
            return Err(handshake_err(
                "ERR wrong number of arguments for 'sync140' command",
            ));
        }
        let id_at = |i: usize, what: &str| -> Result<Option<String>> {
            match args.get(i) {
                Some(id) => std::str::from_utf8(id)
                    .ok()
                    .filter(|s| is_valid_replid(s))
                    .map(|s| Some(s.to_owned()))
                    .ok_or_else(|| handshake_err(format!("ERR invalid {what} in SYNC140"))),
                None => Ok(None),
            }
        };
        let replid = id_at(4, "replid")?;
        let node_id = id_at(5, "node_id")?;
        // (an address or a host name: printable, no blanks)
        let announce_ip = id_at(6, "announce_ip")?;
        Ok(Self {
            last_seq: parse_num(&args[1], "last_seq")?,
            last_key: args[2].clone(),
            listening_port: parse_num(&args[3], "listening_port")?,
            replid,
            node_id,
            announce_ip,
        })
    }
}

/// How the master starts a session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SyncDecision {
    /// Stream the binlog after the slave's `last_seq`.
    Resume,
    /// Start a full copy (the slave wipes its data on COPY/BEGIN).
    FullCopy,
    /// Continue an interrupted copy after the slave's `last_key`.
    CopyRecover,
}

impl SyncDecision {
    fn word(self) -> &'static str {
        match self {
            Self::Resume => "RESUME",
            Self::FullCopy => "FULLCOPY",
            Self::CopyRecover => "COPYRECOVER",
        }
    }
}

/// The master's answer: `+<DECISION> <replid> <seq>`.
///
/// `seq` is the master's last seq when it answered: the slave's lag at the
/// start, in events.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncAnswer {
    /// What the master will send.
    pub decision: SyncDecision,
    /// The master's replication id.
    pub replid: String,
    /// The master's last seq.
    pub seq: u64,
}

impl fmt::Display for SyncAnswer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {} {}", self.decision.word(), self.replid, self.seq)
    }
}

impl SyncAnswer {
    /// The answer as the reply the master sends.
    pub fn to_reply(&self) -> Reply {
        Reply::Simple(self.to_string())
    }

    /// Parse the master's reply.
    ///
    /// # Errors
    /// [`Error::Handshake`]: an error reply from the master (its text kept
    /// whole, e.g. `NOAUTH Authentication required.`) or a malformed line.
    pub fn from_reply(reply: &Reply) -> Result<Self> {
        let line = match reply {
            Reply::Simple(s) => s,
            Reply::Error(e) => return Err(handshake_err(e.clone())),
            other => return Err(handshake_err(format!("ERR unexpected reply {other:?}"))),
        };
        let bad = || handshake_err(format!("ERR malformed {SYNC_COMMAND} answer '{line}'"));
        let mut words = line.split(' ');
        let decision = match words.next() {
            Some("RESUME") => SyncDecision::Resume,
            Some("FULLCOPY") => SyncDecision::FullCopy,
            Some("COPYRECOVER") => SyncDecision::CopyRecover,
            _ => return Err(bad()),
        };
        let replid = words
            .next()
            .filter(|s| is_valid_replid(s))
            .ok_or_else(bad)?;
        let seq = words.next().and_then(|s| s.parse().ok()).ok_or_else(bad)?;
        if words.next().is_some() {
            return Err(bad());
        }
        Ok(Self {
            decision,
            replid: replid.to_owned(),
            seq,
        })
    }
}

/// `REPLCONF ACK <seq>`: the slave has applied everything up to `seq`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReplAck {
    /// The last seq applied and persisted by the slave.
    pub seq: u64,
}

impl ReplAck {
    /// The ack as command arguments.
    pub fn to_args(self) -> [Bytes; 3] {
        [
            Bytes::from_static(b"REPLCONF"),
            Bytes::from_static(b"ACK"),
            Bytes::from(self.seq.to_string()),
        ]
    }

    /// Parse `REPLCONF ACK <seq>`; `None` for any other command.
    pub fn parse(args: &[Bytes]) -> Option<Self> {
        match args {
            [cmd, sub, seq]
                if cmd.eq_ignore_ascii_case(b"REPLCONF") && sub.eq_ignore_ascii_case(b"ACK") =>
            {
                parse_num(seq, "seq").ok().map(|seq| Self { seq })
            }
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn requests_round_trip(
            last_seq in any::<u64>(),
            last_key in prop::collection::vec(any::<u8>(), 0..20),
            port in any::<u16>(),
            replid in prop::option::of("[0-9a-f]{40}"),
            node in prop::option::of("[0-9a-f]{40}"),
            ip in prop::option::of("[0-9]{1,3}(\\.[0-9]{1,3}){3}"),
        ) {
            let node_id = replid.as_ref().and(node);
            let announce_ip = node_id.as_ref().and(ip);
            let req = SyncRequest { last_seq, last_key: last_key.into(), listening_port: port, replid, node_id, announce_ip };
            prop_assert_eq!(SyncRequest::parse(&req.to_args()).expect("valid"), req);
        }

        #[test]
        fn answers_round_trip(seq in any::<u64>(), replid in "[0-9a-f]{40}", d in 0..3u8) {
            let decision = [SyncDecision::Resume, SyncDecision::FullCopy, SyncDecision::CopyRecover][d as usize];
            let a = SyncAnswer { decision, replid, seq };
            prop_assert_eq!(SyncAnswer::from_reply(&a.to_reply()).expect("valid"), a);
        }

        #[test]
        fn arbitrary_args_never_panic(args in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..12), 0..7)) {
            let args: Vec<Bytes> = args.into_iter().map(Bytes::from).collect();
            let _ = SyncRequest::parse(&args);
            let _ = ReplAck::parse(&args);
        }
    }

    #[test]
    fn errors_are_redis_style() {
        let args: Vec<Bytes> = ["SYNC140", "x", "", "1"]
            .iter()
            .map(|s| Bytes::from(*s))
            .collect();
        let e = SyncRequest::parse(&args).err().map(|e| e.to_string());
        assert_eq!(e.as_deref(), Some("ERR invalid last_seq in SYNC140"));
        let e = SyncAnswer::from_reply(&Reply::error("NOAUTH Authentication required."));
        assert_eq!(
            e.err().map(|e| e.to_string()).as_deref(),
            Some("NOAUTH Authentication required.")
        );
        assert!(SyncAnswer::from_reply(&Reply::Simple("RESUME abc".into())).is_err());
    }

    #[test]
    fn ack_parses() {
        assert_eq!(
            ReplAck::parse(&ReplAck { seq: 7 }.to_args()),
            Some(ReplAck { seq: 7 })
        );
        assert_eq!(ReplAck::parse(&[Bytes::from("PING")]), None);
    }
}
