//! When a failed attempt is tried again, and after how long.
//!
//! The policy, decided by [`RetryPolicy::decide`] from what went wrong:
//!
//! - **429 Too Many Requests**: always retried (any method: the service
//!   refused the request before acting on it), after the delay the service
//!   asked for ([`super::retry_after`]) or the backoff. A requested delay
//!   longer than `max_retry_wait` is not waited out: the call fails as rate
//!   limited, carrying the delay, so the engine can reschedule the step.
//! - **5xx** (including Anthropic's 529 overloaded): retried for idempotent
//!   requests only, after `Retry-After` when given, else the backoff. A
//!   POST that got a 5xx may have had an effect, so it is not repeated
//!   unless its caller marked it idempotent.
//! - **Connection failed before the request was sent** (refused, DNS,
//!   TLS, connect timeout): always retried; the service never saw it.
//! - **Timeout, or connection dropped after sending**: retried for
//!   idempotent requests only, since the service may have acted.
//! - Anything else (other 4xx, a request that cannot be built): never.
//!
//! The backoff is exponential with "equal jitter": the n-th retry waits
//! `d/2 + random(0..d/2)` with `d = min(max_backoff, initial * 2^n)`, so
//! clients that failed together do not retry together.

use std::time::Duration;

/// What went wrong with one attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Failure {
    /// The service answered with an error status.
    Status {
        /// The HTTP status code.
        status: u16,
        /// The delay the answer asked for, if any.
        retry_after: Option<Duration>,
    },
    /// The connection failed before the request was sent.
    Connect,
    /// The attempt took longer than the request timeout.
    Timeout,
    /// The connection broke after the request was (maybe) sent.
    Dropped,
}

/// What to do after a failed attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Decision {
    /// Try again after this delay.
    Retry(Duration),
    /// Stop and report the failure.
    GiveUp,
}

/// How many times, and how patiently, to try again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RetryPolicy {
    /// Retries after the first attempt.
    pub(crate) max_retries: u32,
    /// The first backoff delay.
    pub(crate) initial_backoff: Duration,
    /// The longest backoff delay.
    pub(crate) max_backoff: Duration,
    /// The longest service-requested delay waited out in-process.
    pub(crate) max_retry_wait: Duration,
}

impl RetryPolicy {
    /// The decision after `failure`, when `retries_done` retries were made
    /// already. `jitter` is a random number in `[0, 1)`, passed in so the
    /// decision is a pure function.
    pub(crate) fn decide(
        &self,
        failure: Failure,
        idempotent: bool,
        retries_done: u32,
        jitter: f64,
    ) -> Decision {
        if retries_done >= self.max_retries {
            return Decision::GiveUp;
        }
        let backoff = self.backoff(retries_done, jitter);
        match failure {
            Failure::Status {
                status: 429,
                retry_after,
            } => self.after(retry_after, backoff),
            Failure::Status {
                status: 500..=599,
                retry_after,
            } if idempotent => self.after(retry_after, backoff),
            Failure::Status { .. } => Decision::GiveUp,
            Failure::Connect => Decision::Retry(backoff),
            Failure::Timeout | Failure::Dropped if idempotent => Decision::Retry(backoff),
            Failure::Timeout | Failure::Dropped => Decision::GiveUp,
        }
    }

    /// Waits what the service asked for, unless it is too long to wait
    /// in-process; the backoff when it asked nothing.
    fn after(&self, requested: Option<Duration>, backoff: Duration) -> Decision {
        match requested {
            Some(delay) if delay > self.max_retry_wait => Decision::GiveUp,
            Some(delay) => Decision::Retry(delay),
            None => Decision::Retry(backoff),
        }
    }

    /// The backoff before retry number `retries_done + 1`.
    pub(crate) fn backoff(&self, retries_done: u32, jitter: f64) -> Duration {
        let factor = 2u32.saturating_pow(retries_done.min(30));
        let full = self
            .initial_backoff
            .saturating_mul(factor)
            .min(self.max_backoff);
        let jitter = if jitter.is_finite() {
            jitter.clamp(0.0, 1.0)
        } else {
            0.0
        };
        full / 2 + full.div_f64(2.0).mul_f64(jitter)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const POLICY: RetryPolicy = RetryPolicy {
        max_retries: 3,
        initial_backoff: Duration::from_millis(500),
        max_backoff: Duration::from_secs(8),
        max_retry_wait: Duration::from_secs(60),
    };

    fn status(status: u16) -> Failure {
        Failure::Status {
            status,
            retry_after: None,
        }
    }

    #[test]
    fn rate_limits_are_retried_for_every_method_honouring_retry_after() {
        let failure = Failure::Status {
            status: 429,
            retry_after: Some(Duration::from_secs(3)),
        };
        assert_eq!(
            POLICY.decide(failure, false, 0, 0.5),
            Decision::Retry(Duration::from_secs(3))
        );
        assert!(matches!(
            POLICY.decide(status(429), false, 0, 0.0),
            Decision::Retry(_)
        ));
    }

    #[test]
    fn a_retry_after_too_long_to_wait_gives_up() {
        let failure = Failure::Status {
            status: 429,
            retry_after: Some(Duration::from_secs(3600)),
        };
        assert_eq!(POLICY.decide(failure, true, 0, 0.0), Decision::GiveUp);
    }

    #[test]
    fn server_errors_are_retried_only_when_idempotent() {
        for code in [500, 502, 503, 529] {
            assert!(matches!(
                POLICY.decide(status(code), true, 0, 0.0),
                Decision::Retry(_)
            ));
            assert_eq!(POLICY.decide(status(code), false, 0, 0.0), Decision::GiveUp);
        }
    }

    #[test]
    fn client_errors_are_never_retried() {
        for code in [400, 401, 403, 404, 409, 422] {
            assert_eq!(POLICY.decide(status(code), true, 0, 0.0), Decision::GiveUp);
        }
    }

    #[test]
    fn connect_failures_are_retried_even_for_posts() {
        assert!(matches!(
            POLICY.decide(Failure::Connect, false, 0, 0.0),
            Decision::Retry(_)
        ));
    }

    #[test]
    fn ambiguous_failures_are_retried_only_when_idempotent() {
        for failure in [Failure::Timeout, Failure::Dropped] {
            assert!(matches!(
                POLICY.decide(failure, true, 0, 0.0),
                Decision::Retry(_)
            ));
            assert_eq!(POLICY.decide(failure, false, 0, 0.0), Decision::GiveUp);
        }
    }

    #[test]
    fn retries_stop_at_the_maximum() {
        assert!(matches!(
            POLICY.decide(status(503), true, 2, 0.0),
            Decision::Retry(_)
        ));
        assert_eq!(POLICY.decide(status(503), true, 3, 0.0), Decision::GiveUp);
        assert_eq!(POLICY.decide(status(429), true, 3, 0.0), Decision::GiveUp);
        let none = RetryPolicy {
            max_retries: 0,
            ..POLICY
        };
        assert_eq!(
            none.decide(Failure::Connect, true, 0, 0.0),
            Decision::GiveUp
        );
    }

    #[test]
    fn backoff_doubles_with_equal_jitter_up_to_the_cap() {
        // Jitter 0 gives half of the full delay, jitter ~1 the full delay.
        assert_eq!(POLICY.backoff(0, 0.0), Duration::from_millis(250));
        assert_eq!(POLICY.backoff(0, 1.0), Duration::from_millis(500));
        assert_eq!(POLICY.backoff(1, 0.0), Duration::from_millis(500));
        assert_eq!(POLICY.backoff(2, 1.0), Duration::from_secs(2));
        assert_eq!(POLICY.backoff(10, 1.0), Duration::from_secs(8));
        assert_eq!(POLICY.backoff(u32::MAX, 0.5), Duration::from_secs(6));
        // Nonsense jitter is clamped, never a panic.
        assert_eq!(POLICY.backoff(0, f64::NAN), Duration::from_millis(250));
        assert_eq!(POLICY.backoff(0, 7.0), Duration::from_millis(500));
    }
}
