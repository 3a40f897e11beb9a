//! The client-side rate limit: at most N requests per second, evenly
//! spaced, shared by every call of one client.

use std::num::NonZeroU32;
use std::time::Duration;

use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};

/// Spaces a client's requests.
pub(crate) struct ClientRateLimit {
    limiter: DefaultDirectRateLimiter,
}

impl std::fmt::Debug for ClientRateLimit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ClientRateLimit")
    }
}

impl ClientRateLimit {
    /// A limit of `per_second` requests per second (fractions allowed);
    /// `None` unless `per_second` is a positive, finite number.
    ///
    /// The burst is one request: requests are spread evenly rather than
    /// sent in a clump at the start of each second, which is what services
    /// that count per second or per minute reward.
    pub(crate) fn new(per_second: f64) -> Option<Self> {
        if !per_second.is_finite() || per_second <= 0.0 {
            return None;
        }
        let period = Duration::try_from_secs_f64(1.0 / per_second).ok()?;
        let quota = Quota::with_period(period)?.allow_burst(NonZeroU32::MIN);
        Some(ClientRateLimit {
            limiter: RateLimiter::direct(quota),
        })
    }

    /// Waits until the next request may be sent.
    pub(crate) async fn wait(&self) {
        self.limiter.until_ready().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;

    #[test]
    fn nonsense_rates_mean_no_limit() {
        assert!(ClientRateLimit::new(0.0).is_none());
        assert!(ClientRateLimit::new(-1.0).is_none());
        assert!(ClientRateLimit::new(f64::NAN).is_none());
        assert!(ClientRateLimit::new(f64::INFINITY).is_none());
        assert!(ClientRateLimit::new(0.5).is_some());
    }

    #[tokio::test]
    async fn requests_are_spaced_by_the_period() {
        let limit = ClientRateLimit::new(20.0).unwrap();
        let started = Instant::now();
        for _ in 0..4 {
            limit.wait().await;
        }
        // The first is immediate, the next three wait 50 ms each.
        assert!(started.elapsed() >= Duration::from_millis(140));
    }
}
