//! Checks and conversions of the options every HTTP AI provider has
//! (`model`, `max_tokens`, `timeout_seconds`, `max_retries`,
//! `requests_per_second`, `prices`).

use std::collections::BTreeMap;
use std::time::Duration;

use aido_plugin_api::ConfigProblem;

use crate::ai_pricing::{ModelPrice, check_prices};

/// How long connecting may take. Not configurable: a service that cannot
/// accept a connection in ten seconds is down, whatever the request.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// The most retries accepted; more only delays the error.
const MAX_RETRIES_LIMIT: u32 = 10;

/// The common options, borrowed from a plugin's own options type.
pub(crate) struct CommonOptions<'a> {
    /// `options.model`.
    pub(crate) model: &'a str,
    /// `options.max_tokens`.
    pub(crate) max_tokens: u32,
    /// `options.timeout_seconds`.
    pub(crate) timeout_seconds: u64,
    /// `options.max_retries`.
    pub(crate) max_retries: u32,
    /// `options.requests_per_second`.
    pub(crate) requests_per_second: Option<f64>,
    /// `options.prices`.
    pub(crate) prices: &'a BTreeMap<String, ModelPrice>,
}

/// Every problem with the common options a schema cannot express.
pub(crate) fn check_options(options: &CommonOptions<'_>) -> Vec<ConfigProblem> {
    let mut problems = Vec::new();
    if options.model.trim().is_empty() {
        problems.push(ConfigProblem::new(
            "options.model",
            "must name a model, such as the default",
        ));
    }
    if options.max_tokens == 0 {
        problems.push(ConfigProblem::new(
            "options.max_tokens",
            "must be at least 1",
        ));
    }
    if options.timeout_seconds == 0 {
        problems.push(ConfigProblem::new(
            "options.timeout_seconds",
            "must be at least 1 second; long answers can take minutes",
        ));
    }
    if options.max_retries > MAX_RETRIES_LIMIT {
        problems.push(ConfigProblem::new(
            "options.max_retries",
            format!("must be at most {MAX_RETRIES_LIMIT}"),
        ));
    }
    if let Some(rate) = options.requests_per_second
        && !(rate.is_finite() && rate > 0.0)
    {
        problems.push(ConfigProblem::new(
            "options.requests_per_second",
            "must be a positive number (0.5 is one request every two seconds)",
        ));
    }
    problems.extend(check_prices("options.prices", options.prices));
    problems
}

/// The connect and per-attempt request timeouts for `timeout_seconds`.
pub(crate) fn http_timeouts(timeout_seconds: u64) -> (Duration, Duration) {
    let request = Duration::from_secs(timeout_seconds.max(1));
    (CONNECT_TIMEOUT.min(request), request)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_bad_option_is_reported() {
        let prices = BTreeMap::from([("m".to_owned(), ModelPrice::new(-1.0, 0.0))]);
        let problems = check_options(&CommonOptions {
            model: " ",
            max_tokens: 0,
            timeout_seconds: 0,
            max_retries: 99,
            requests_per_second: Some(0.0),
            prices: &prices,
        });
        let paths: Vec<_> = problems.iter().map(|p| p.path.as_str()).collect();
        assert_eq!(
            paths,
            [
                "options.model",
                "options.max_tokens",
                "options.timeout_seconds",
                "options.max_retries",
                "options.requests_per_second",
                "options.prices.m.input_per_mtok"
            ]
        );
    }

    #[test]
    fn short_timeouts_bound_the_connect_timeout_too() {
        assert_eq!(
            http_timeouts(1),
            (Duration::from_secs(1), Duration::from_secs(1))
        );
        assert_eq!(
            http_timeouts(600),
            (Duration::from_secs(10), Duration::from_secs(600))
        );
    }
}
