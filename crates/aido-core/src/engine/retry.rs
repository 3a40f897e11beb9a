//! When to try a failed step again.
//!
//! Exponential backoff with full jitter, written out here because the
//! service's `Retry-After` must override the schedule and the decision
//! depends on aido's error kinds; a backoff crate would wrap three lines.

use std::time::Duration;

use aido_plugin_api::{Error, ErrorKind};

/// The default number of retries with `on_error: retry`.
pub const DEFAULT_RETRIES: u32 = 3;

/// The default first delay.
pub const DEFAULT_DELAY: Duration = Duration::from_secs(1);

/// The longest wait between tries.
const MAX_DELAY: Duration = Duration::from_secs(300);

/// Whether trying the same call again can help: not for bad input, bad
/// configuration, refused credentials or unsupported actions.
pub fn worth_retrying(error: &Error) -> bool {
    !matches!(
        error.kind(),
        ErrorKind::InvalidInput
            | ErrorKind::Configuration
            | ErrorKind::Authentication
            | ErrorKind::Unsupported
            | ErrorKind::Cancelled
    )
}

/// The wait before try `attempt + 1`, after try `attempt` (from 1) failed:
/// the service's retry-after if it gave one, otherwise `base · 2^(attempt-1)`
/// scaled by a random factor in [0.5, 1.0] so that runs failing together do
/// not retry together.
pub fn delay(attempt: u32, base: Duration, error: &Error) -> Duration {
    if let Some(after) = error.retry_after() {
        return after.min(MAX_DELAY);
    }
    let exponent = attempt.saturating_sub(1).min(16);
    let full = base.saturating_mul(1u32 << exponent).min(MAX_DELAY);
    let factor: f64 = 0.5 + rand::random::<f64>() * 0.5;
    full.mul_f64(factor)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_wins() {
        let err = Error::rate_limited("slow", Some(Duration::from_secs(7)));
        assert_eq!(
            delay(1, Duration::from_millis(10), &err),
            Duration::from_secs(7)
        );
    }

    #[test]
    fn delays_grow_with_jitter() {
        let err = Error::connection("down");
        for attempt in 1..5 {
            let d = delay(attempt, Duration::from_millis(100), &err);
            let full = Duration::from_millis(100 * (1 << (attempt - 1)));
            assert!(d >= full / 2 && d <= full, "{attempt}: {d:?}");
        }
    }

    #[test]
    fn bad_input_is_not_retried() {
        assert!(!worth_retrying(&Error::invalid_input("x")));
        assert!(worth_retrying(&Error::other("flaky")));
    }
}
