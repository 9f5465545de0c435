//! `client-output-buffer-limit` in Redis's syntax: `<class> <hard> <soft>
//! <seconds>` for any of the classes `normal`, `replica` (`slave`) and
//! `pubsub`, sizes in bytes or with Redis's units (`256mb`, `64kb`, `1g`).
//! A client of the class is dropped once what it holds back passes the
//! hard limit, or stays past the soft limit for the seconds given; 0
//! turns a limit off.
//!
//! For a slave, what it holds back is the binlog from its position on
//! (what purge must keep for it), so the replica limit caps the disk a
//! slow slave pins, as Redis's caps the memory. Only the replica class is
//! enforced so far: the normal and pubsub classes must stay `0 0 0`.

use serde::{Deserialize, Serialize};

/// One class's limits.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct OutputLimit {
    /// Bytes past which the client is dropped at once (0: none).
    pub hard: u64,
    /// Bytes past which, for `secs` seconds in a row, it is dropped.
    pub soft: u64,
    /// Seconds over the soft limit.
    pub secs: u64,
}

impl OutputLimit {
    /// True when neither limit is set.
    pub fn is_off(&self) -> bool {
        self.hard == 0 && (self.soft == 0 || self.secs == 0)
    }
}

/// The limits of every class.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct OutputLimits {
    /// Normal clients (must be off for now).
    pub normal: OutputLimit,
    /// Slaves' sync sessions.
    pub replica: OutputLimit,
    /// Subscribers (must be off for now).
    pub pubsub: OutputLimit,
}

/// A size with Redis's units: `b`, `k` (1000), `kb` (1024), `m`, `mb`,
/// `g`, `gb`, any case.
fn bytes(s: &str) -> Result<u64, String> {
    let lower = s.to_ascii_lowercase();
    let split = lower
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(lower.len());
    let (digits, unit) = lower.split_at(split);
    let mul: u64 = match unit {
        "" | "b" => 1,
        "k" => 1000,
        "kb" => 1024,
        "m" => 1000 * 1000,
        "mb" => 1024 * 1024,
        "g" => 1000 * 1000 * 1000,
        "gb" => 1024 * 1024 * 1024,
        _ => return Err(format!("'{s}' is not a size")),
    };
    digits
        .parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(mul))
        .ok_or_else(|| format!("'{s}' is not a size"))
}

impl OutputLimits {
    /// Parse Redis's syntax; classes not named keep `self`'s limits.
    ///
    /// # Errors
    /// Why the text is refused.
    pub fn parse_over(&self, s: &str) -> Result<Self, String> {
        let words: Vec<&str> = s.split_whitespace().collect();
        if words.is_empty() || words.len() % 4 != 0 {
            return Err("must be <class> <hard> <soft> <seconds>, repeated".into());
        }
        let mut out = *self;
        for w in words.chunks(4) {
            let limit = OutputLimit {
                hard: bytes(w[1])?,
                soft: bytes(w[2])?,
                secs: w[3]
                    .parse()
                    .map_err(|_| format!("'{}' is not a number of seconds", w[3]))?,
            };
            let class = match w[0].to_ascii_lowercase().as_str() {
                "normal" => &mut out.normal,
                "replica" | "slave" => &mut out.replica,
                "pubsub" => &mut out.pubsub,
                other => {
                    return Err(format!(
                        "Invalid client class specified in buffer limit configuration: '{other}'"
                    ))
                }
            };
            *class = limit;
        }
        if !out.normal.is_off() || !out.pubsub.is_off() {
            return Err(
                "only the replica class is enforced so far: normal and pubsub must be 0 0 0".into(),
            );
        }
        Ok(out)
    }

    /// As CONFIG GET shows it (Redis's order and names, in bytes).
    pub fn render(&self) -> String {
        let one = |l: &OutputLimit| format!("{} {} {}", l.hard, l.soft, l.secs);
        format!(
            "normal {} slave {} pubsub {}",
            one(&self.normal),
            one(&self.replica),
            one(&self.pubsub)
        )
    }
}

impl TryFrom<String> for OutputLimits {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        Self::default().parse_over(&s)
    }
}

impl From<OutputLimits> for String {
    fn from(l: OutputLimits) -> Self {
        l.render()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redis_syntax_and_units() {
        let l = OutputLimits::default()
            .parse_over("replica 256mb 64mb 60")
            .expect("valid");
        assert_eq!(
            l.replica,
            OutputLimit {
                hard: 256 << 20,
                soft: 64 << 20,
                secs: 60
            }
        );
        assert_eq!(
            l.render(),
            "normal 0 0 0 slave 268435456 67108864 60 pubsub 0 0 0"
        );
        let again = l.parse_over("slave 1k 2KB 3").expect("valid");
        assert_eq!(
            again.replica,
            OutputLimit {
                hard: 1000,
                soft: 2048,
                secs: 3
            }
        );
        assert_eq!(OutputLimits::try_from(l.render()), Ok(l));
        let zero = l.parse_over("normal 0 0 0 pubsub 0 0 0").expect("valid");
        assert_eq!(zero.replica, l.replica, "classes not named are kept");
        for bad in [
            "",
            "replica 1 2",
            "replica x 2 3",
            "replica 1mib 2 3",
            "master 1 2 3",
            "pubsub 32mb 8mb 60",
            "replica 99999999999999999999gb 0 0",
        ] {
            assert!(l.parse_over(bad).is_err(), "{bad:?} accepted");
        }
    }
}
