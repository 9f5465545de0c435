//! The two clocks: wall-clock milliseconds for expiry (Redis's
//! definition) and a monotonic one for every timeout, idle check and rate.

use std::time::{SystemTime, UNIX_EPOCH};

/// Milliseconds on a monotonic clock (since this process first asked):
/// for every timeout, idle check and rate, which a wall-clock step must
/// not trip (issue 9, case 12).
pub fn mono_ms() -> u64 {
    static EPOCH: std::sync::OnceLock<std::time::Instant> = std::sync::OnceLock::new();
    EPOCH
        .get_or_init(std::time::Instant::now)
        .elapsed()
        .as_millis() as u64
        + 1
}

/// Unix time in milliseconds (expiry times, which are wall-clock by
/// Redis's definition).
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}
