//! How long a service asked us to wait, read from its answer's headers.
//!
//! Services say it in several ways, all read here:
//!
//! - `Retry-After` (RFC 9110): seconds, or an HTTP date.
//! - `retry-after-ms`: milliseconds (Anthropic and OpenAI send it, and
//!   their SDKs read it first).
//! - Reset headers of rate-limit families, each with its `remaining`
//!   partner: `x-ratelimit-reset-requests` / `-tokens` (OpenAI, as Go
//!   durations such as `1s`, `6m0s`, `12ms`), `anthropic-ratelimit-*-reset`
//!   (RFC 3339 times), `x-ratelimit-reset` (GitHub: epoch seconds; others:
//!   seconds) and `ratelimit-reset` (the IETF draft: seconds).
//!
//! `Retry-After` wins when present. Otherwise the reset of the limits whose
//! `remaining` is 0 decides, the latest of them since all must have reset;
//! when no limit says it is exhausted, the earliest reset is a guess that
//! costs one more try at worst.

use std::time::Duration;

use chrono::{DateTime, Utc};
use reqwest::header::HeaderMap;

/// Reset headers, each with the header saying how much is left.
const RESET_HEADERS: &[(&str, &str)] = &[
    (
        "x-ratelimit-reset-requests",
        "x-ratelimit-remaining-requests",
    ),
    ("x-ratelimit-reset-tokens", "x-ratelimit-remaining-tokens"),
    (
        "anthropic-ratelimit-requests-reset",
        "anthropic-ratelimit-requests-remaining",
    ),
    (
        "anthropic-ratelimit-tokens-reset",
        "anthropic-ratelimit-tokens-remaining",
    ),
    (
        "anthropic-ratelimit-input-tokens-reset",
        "anthropic-ratelimit-input-tokens-remaining",
    ),
    (
        "anthropic-ratelimit-output-tokens-reset",
        "anthropic-ratelimit-output-tokens-remaining",
    ),
    ("x-ratelimit-reset", "x-ratelimit-remaining"),
    ("ratelimit-reset", "ratelimit-remaining"),
];

/// Numbers above this are epoch seconds, not delays (2001-09-09).
const EPOCH_THRESHOLD: f64 = 1_000_000_000.0;

/// The delay the headers ask for, measured from `now`.
pub(crate) fn retry_after(headers: &HeaderMap, now: DateTime<Utc>) -> Option<Duration> {
    if let Some(ms) = header_str(headers, "retry-after-ms").and_then(|v| v.parse::<f64>().ok())
        && let Some(delay) = seconds(ms / 1000.0)
    {
        return Some(delay);
    }
    if let Some(delay) = header_str(headers, "retry-after").and_then(|v| parse_retry_after(v, now))
    {
        return Some(delay);
    }
    reset_delay(headers, now)
}

/// `Retry-After`'s value: seconds or an HTTP date.
pub(crate) fn parse_retry_after(value: &str, now: DateTime<Utc>) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<f64>() {
        return seconds(secs);
    }
    parse_http_date(value).map(|at| until(at, now))
}

/// The delay the rate-limit reset headers imply.
fn reset_delay(headers: &HeaderMap, now: DateTime<Utc>) -> Option<Duration> {
    let mut exhausted = Vec::new();
    let mut all = Vec::new();
    for (reset, remaining) in RESET_HEADERS {
        let Some(delay) = header_str(headers, reset).and_then(|v| parse_reset(v, now)) else {
            continue;
        };
        all.push(delay);
        let left = header_str(headers, remaining).and_then(|v| v.trim().parse::<f64>().ok());
        if left.is_some_and(|left| left <= 0.0) {
            exhausted.push(delay);
        }
    }
    if exhausted.is_empty() {
        all.into_iter().min()
    } else {
        exhausted.into_iter().max()
    }
}

/// One reset value: a number (seconds, or epoch seconds when large), a Go
/// duration, an RFC 3339 time or an HTTP date.
pub(crate) fn parse_reset(value: &str, now: DateTime<Utc>) -> Option<Duration> {
    let value = value.trim();
    if let Ok(number) = value.parse::<f64>() {
        if number > EPOCH_THRESHOLD {
            let at = DateTime::<Utc>::from_timestamp_millis((number * 1000.0) as i64)?;
            return Some(until(at, now));
        }
        return seconds(number);
    }
    if let Some(delay) = parse_go_duration(value) {
        return Some(delay);
    }
    if let Ok(at) = DateTime::parse_from_rfc3339(value) {
        return Some(until(at.to_utc(), now));
    }
    parse_http_date(value).map(|at| until(at, now))
}

/// A Go duration such as `1s`, `6m0s`, `12ms`, `1h2m3.5s`.
pub(crate) fn parse_go_duration(value: &str) -> Option<Duration> {
    let mut rest = value;
    let mut total = 0.0f64;
    if rest.is_empty() {
        return None;
    }
    while !rest.is_empty() {
        let number_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        if number_len == 0 {
            return None;
        }
        let number: f64 = rest[..number_len].parse().ok()?;
        rest = &rest[number_len..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let scale = match &rest[..unit_len] {
            "ns" => 1e-9,
            "us" | "µs" => 1e-6,
            "ms" => 1e-3,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            _ => return None,
        };
        rest = &rest[unit_len..];
        total += number * scale;
    }
    seconds(total)
}

/// An HTTP date (`Sun, 06 Nov 1994 08:49:37 GMT`), which RFC 2822 parsing
/// accepts.
fn parse_http_date(value: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc2822(value)
        .ok()
        .map(|at| at.to_utc())
}

/// The time from `now` to `at`; zero when `at` has passed.
fn until(at: DateTime<Utc>, now: DateTime<Utc>) -> Duration {
    (at - now).to_std().unwrap_or(Duration::ZERO)
}

/// A non-negative, finite number of seconds as a duration.
fn seconds(secs: f64) -> Option<Duration> {
    if secs.is_finite() && secs >= 0.0 {
        Duration::try_from_secs_f64(secs).ok()
    } else {
        None
    }
}

fn header_str<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|value| value.to_str().ok())
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::{HeaderName, HeaderValue};

    fn now() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2025-01-01T00:00:00Z")
            .unwrap()
            .to_utc()
    }

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(
                HeaderName::from_bytes(name.as_bytes()).unwrap(),
                HeaderValue::from_str(value).unwrap(),
            );
        }
        map
    }

    #[test]
    fn retry_after_takes_seconds_or_an_http_date() {
        assert_eq!(
            retry_after(&headers(&[("retry-after", "3")]), now()),
            Some(Duration::from_secs(3))
        );
        assert_eq!(
            retry_after(
                &headers(&[("retry-after", "Wed, 01 Jan 2025 00:00:07 GMT")]),
                now()
            ),
            Some(Duration::from_secs(7))
        );
        // A date in the past means now.
        assert_eq!(
            parse_retry_after("Tue, 31 Dec 2024 23:00:00 GMT", now()),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("soon", now()), None);
        assert_eq!(parse_retry_after("-1", now()), None);
    }

    #[test]
    fn retry_after_ms_wins() {
        let map = headers(&[("retry-after", "5"), ("retry-after-ms", "250")]);
        assert_eq!(retry_after(&map, now()), Some(Duration::from_millis(250)));
    }

    #[test]
    fn go_durations_as_openai_sends_them() {
        assert_eq!(parse_go_duration("1s"), Some(Duration::from_secs(1)));
        assert_eq!(parse_go_duration("6m0s"), Some(Duration::from_secs(360)));
        assert_eq!(parse_go_duration("12ms"), Some(Duration::from_millis(12)));
        assert_eq!(
            parse_go_duration("1h2m3.5s"),
            Some(Duration::from_secs_f64(3723.5))
        );
        assert_eq!(parse_go_duration("5 minutes"), None);
        assert_eq!(parse_go_duration(""), None);
    }

    #[test]
    fn reset_values_in_every_published_form() {
        assert_eq!(parse_reset("20", now()), Some(Duration::from_secs(20)));
        // Epoch seconds (GitHub's x-ratelimit-reset).
        let epoch = now().timestamp() + 30;
        assert_eq!(
            parse_reset(&epoch.to_string(), now()),
            Some(Duration::from_secs(30))
        );
        // RFC 3339 (Anthropic).
        assert_eq!(
            parse_reset("2025-01-01T00:00:09Z", now()),
            Some(Duration::from_secs(9))
        );
    }

    #[test]
    fn exhausted_limits_decide_and_the_latest_wins() {
        let map = headers(&[
            ("x-ratelimit-remaining-requests", "0"),
            ("x-ratelimit-reset-requests", "2s"),
            ("x-ratelimit-remaining-tokens", "0"),
            ("x-ratelimit-reset-tokens", "6s"),
        ]);
        assert_eq!(retry_after(&map, now()), Some(Duration::from_secs(6)));
        let map = headers(&[
            ("x-ratelimit-remaining-requests", "0"),
            ("x-ratelimit-reset-requests", "2s"),
            ("x-ratelimit-remaining-tokens", "9000"),
            ("x-ratelimit-reset-tokens", "6m0s"),
        ]);
        assert_eq!(retry_after(&map, now()), Some(Duration::from_secs(2)));
    }

    #[test]
    fn without_remaining_counts_the_earliest_reset_is_used() {
        let map = headers(&[
            ("anthropic-ratelimit-requests-reset", "2025-01-01T00:00:04Z"),
            ("anthropic-ratelimit-tokens-reset", "2025-01-01T00:00:40Z"),
        ]);
        assert_eq!(retry_after(&map, now()), Some(Duration::from_secs(4)));
        assert_eq!(retry_after(&HeaderMap::new(), now()), None);
    }
}
