//! One mapping from HTTP failures to `aido_plugin_api::Error`.
//!
//! | failure                         | kind             |
//! |---------------------------------|------------------|
//! | 401, 403                        | authentication   |
//! | 404, 410                        | not found        |
//! | 429                             | rate limited (with the requested delay) |
//! | 408, timeout                    | timeout          |
//! | 5xx, connection failure         | connection       |
//! | 400, 413, 422                   | invalid input    |
//! | other 4xx                       | other            |
//! | 2xx whose body does not decode  | invalid response |
//!
//! Messages say which request failed (method and loggable URL), what the
//! service said (its error type and message, found in the usual JSON
//! shapes, or a snippet of a plain body; at most 200 characters, redacted)
//! and after how many attempts. Every error is named with the plugin and
//! the operation, and carries an [`HttpFailure`] as its source, which tells
//! whether the request may have reached the service ([`Delivery`]).

use std::fmt;
use std::time::Duration;

use aido_plugin_api::{Error, ErrorKind};
use reqwest::StatusCode;
use reqwest::header::HeaderMap;

use super::failed::{ErrorMapper, FailedResponse};
use super::redact::{Redactor, SNIPPET_CHARS, truncate_chars};

/// Whether a failed request may have had an effect.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Delivery {
    /// The request never reached the service (connection refused, rate
    /// limited on our side, could not be built).
    NotSent,
    /// The service answered with this status: with an error status it
    /// received the request and did not carry it out; with a success
    /// status (an answer that then failed to decode) it did.
    Answered(u16),
    /// The connection broke or timed out after sending: the service may or
    /// may not have acted.
    Unknown,
}

/// The source of every error the HTTP layer returns.
#[derive(Debug, Clone)]
pub(crate) struct HttpFailure {
    /// Whether the request may have had an effect.
    pub(crate) delivery: Delivery,
    /// How many attempts were made.
    pub(crate) attempts: u32,
}

impl fmt::Display for HttpFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.delivery {
            Delivery::NotSent => write!(f, "the request was not sent"),
            Delivery::Answered(status) => write!(f, "the service answered HTTP {status}"),
            Delivery::Unknown => write!(f, "the request may or may not have reached the service"),
        }?;
        write!(f, " ({} attempt(s))", self.attempts)
    }
}

impl std::error::Error for HttpFailure {}

/// Whether the request behind `err` may have reached its service; `None`
/// for errors that did not come from the HTTP layer.
pub(crate) fn delivery_of(err: &Error) -> Option<Delivery> {
    std::error::Error::source(err)
        .and_then(|source| source.downcast_ref::<HttpFailure>())
        .map(|failure| failure.delivery)
}

/// Which request failed, for messages.
#[derive(Debug, Clone)]
pub(crate) struct RequestInfo {
    /// The plugin making it.
    pub(crate) plugin: String,
    /// The plugin action it is part of.
    pub(crate) operation: String,
    /// `GET`, `POST`, ...
    pub(crate) method: String,
    /// The loggable URL (no query, secrets redacted).
    pub(crate) url: String,
}

impl RequestInfo {
    fn finish(&self, err: Error, delivery: Delivery, attempts: u32) -> Error {
        err.with_source(HttpFailure { delivery, attempts })
            .in_call(&self.plugin, &self.operation)
    }

    fn attempts_note(attempts: u32) -> String {
        if attempts > 1 {
            format!(" (after {attempts} attempts)")
        } else {
            String::new()
        }
    }
}

/// A failed answer: status, headers and body.
pub(crate) struct Answer<'a> {
    /// The error status.
    pub(crate) status: StatusCode,
    /// Its headers.
    pub(crate) headers: &'a HeaderMap,
    /// Its whole body.
    pub(crate) body: &'a [u8],
}

/// The error for an answer with an error status. `mapper`, the plugin's
/// own reading of its service's errors, may choose the kind and the words
/// quoted; the message's frame, the redaction and the source stay the
/// layer's.
pub(crate) fn status_error(
    info: &RequestInfo,
    answer: Answer<'_>,
    retry_after: Option<Duration>,
    redactor: &Redactor,
    mapper: Option<ErrorMapper>,
    attempts: u32,
) -> Error {
    let Answer {
        status,
        headers,
        body,
    } = answer;
    let code = status.as_u16();
    let mapped = mapper
        .map(|mapper| {
            mapper(&FailedResponse {
                status: code,
                headers,
                snippet: redactor.snippet(body),
                json: serde_json::from_slice(body).ok(),
            })
        })
        .unwrap_or_default();
    let kind = mapped.kind.unwrap_or_else(|| kind_of_status(code));
    let detail = match mapped.detail {
        Some(detail) => Some(one_line(&detail, redactor)),
        None => service_detail(body, redactor),
    };
    let said = detail
        .map(|detail| format!(": {detail}"))
        .unwrap_or_default();
    let hint = match kind {
        ErrorKind::Authentication => "; check the configured credentials",
        ErrorKind::Connection => "; the service failed, try again later",
        _ => "",
    };
    let message = format!(
        "{} {} answered HTTP {}{said}{}{hint}",
        info.method,
        info.url,
        describe_status(status),
        RequestInfo::attempts_note(attempts),
    );
    let err = match kind {
        ErrorKind::RateLimited => Error::rate_limited(message, retry_after),
        kind => Error::new(kind, message),
    };
    info.finish(err, Delivery::Answered(code), attempts)
}

/// `404 Not Found`, or the bare code for a status without a reason phrase
/// (such as Anthropic's 529).
fn describe_status(status: StatusCode) -> String {
    match (status.as_u16(), status.canonical_reason()) {
        (529, _) => "529 Overloaded".to_owned(),
        (code, Some(reason)) => format!("{code} {reason}"),
        (code, None) => code.to_string(),
    }
}

/// The error kind of an error status.
pub(crate) fn kind_of_status(status: u16) -> ErrorKind {
    match status {
        401 | 403 => ErrorKind::Authentication,
        404 | 410 => ErrorKind::NotFound,
        429 => ErrorKind::RateLimited,
        408 => ErrorKind::Timeout,
        400 | 413 | 422 => ErrorKind::InvalidInput,
        500..=599 => ErrorKind::Connection,
        _ => ErrorKind::Other,
    }
}

/// How a request failed without an answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Transport {
    /// Connecting failed; nothing was sent.
    Connect,
    /// The attempt timed out.
    Timeout,
    /// The connection broke after sending.
    Dropped,
    /// The request could not be built.
    Build,
}

/// The error for a request that got no answer. `detail` is the lowest
/// cause's own words (never the client library's message, which quotes
/// the URL).
pub(crate) fn transport_error(
    info: &RequestInfo,
    transport: Transport,
    detail: &str,
    timeout: Duration,
    redactor: &Redactor,
    attempts: u32,
) -> Error {
    let detail = truncate_chars(&redactor.redact(detail), SNIPPET_CHARS);
    let attempts_note = RequestInfo::attempts_note(attempts);
    let (err, delivery) = match transport {
        Transport::Connect => (
            Error::connection(format!(
                "could not connect for {} {}: {detail}{attempts_note}",
                info.method, info.url
            )),
            Delivery::NotSent,
        ),
        Transport::Timeout => (
            Error::timeout(format!(
                "{} {} got no answer within {}{attempts_note}",
                info.method,
                info.url,
                describe_duration(timeout)
            )),
            Delivery::Unknown,
        ),
        Transport::Dropped => (
            Error::connection(format!(
                "the connection for {} {} broke before the answer was complete: \
                 {detail}{attempts_note}",
                info.method, info.url
            )),
            Delivery::Unknown,
        ),
        Transport::Build => (
            Error::configuration(format!(
                "could not build {} {}: {detail}",
                info.method, info.url
            )),
            Delivery::NotSent,
        ),
    };
    info.finish(err, delivery, attempts)
}

/// The error for a successful answer whose body is not what was expected.
pub(crate) fn decode_error(
    info: &RequestInfo,
    status: u16,
    body: &[u8],
    problem: &str,
    redactor: &Redactor,
) -> Error {
    let snippet = redactor.snippet(body);
    let shown = if snippet.is_empty() {
        "it is empty".to_owned()
    } else {
        format!("it starts with: {snippet}")
    };
    let err = Error::invalid_response(format!(
        "the answer to {} {} is not what the service should send ({}); {shown}",
        info.method,
        info.url,
        truncate_chars(&redactor.redact(problem), SNIPPET_CHARS)
    ));
    info.finish(err, Delivery::Answered(status), 1)
}

/// `3s`, `1.5s`, `250ms`.
fn describe_duration(duration: Duration) -> String {
    if duration < Duration::from_secs(1) {
        format!("{}ms", duration.as_millis())
    } else {
        format!("{}s", duration.as_secs_f64())
    }
}

/// What the service said in an error body: `type: message` from the usual
/// JSON shapes (Anthropic's and OpenAI's `{error: {type|code, message}}`,
/// Discord's `{message, code}`, OAuth's `{error, error_description}`), or
/// the start of a plain-text body. Redacted, at most 200 characters.
pub(crate) fn service_detail(body: &[u8], redactor: &Redactor) -> Option<String> {
    let detail = match serde_json::from_slice::<serde_json::Value>(body) {
        Ok(json) => json_detail(&json),
        Err(_) => {
            let text = String::from_utf8_lossy(body);
            let text = text.trim();
            // An HTML error page says nothing a snippet could convey.
            (!text.is_empty() && !text.starts_with('<')).then(|| text.to_owned())
        }
    }?;
    Some(one_line(&detail, redactor))
}

/// `text` on one line, redacted, at most [`SNIPPET_CHARS`] characters.
fn one_line(text: &str, redactor: &Redactor) -> String {
    let joined = text.split_whitespace().collect::<Vec<_>>().join(" ");
    truncate_chars(&redactor.redact(&joined), SNIPPET_CHARS)
}

fn json_detail(json: &serde_json::Value) -> Option<String> {
    let text = |value: Option<&serde_json::Value>| -> Option<String> {
        match value? {
            serde_json::Value::String(s) if !s.is_empty() => Some(s.clone()),
            serde_json::Value::Number(n) => Some(n.to_string()),
            _ => None,
        }
    };
    let error = json.get("error");
    let (label, message) = match error {
        Some(serde_json::Value::Object(_)) => {
            let error = error?;
            // OpenAI's `code` (`invalid_api_key`) says more than its
            // `type` (`invalid_request_error`); Anthropic has only `type`.
            (
                text(error.get("code")).or_else(|| text(error.get("type"))),
                text(error.get("message")),
            )
        }
        Some(serde_json::Value::String(code)) => (
            Some(code.clone()),
            text(json.get("error_description")).or_else(|| text(json.get("message"))),
        ),
        _ => (
            text(json.get("code")).or_else(|| text(json.get("type"))),
            text(json.get("message")).or_else(|| text(json.get("detail"))),
        ),
    };
    match (label, message) {
        (Some(label), Some(message)) => Some(format!("{label}: {message}")),
        (None, Some(message)) => Some(message),
        (Some(label), None) => Some(label),
        (None, None) => {
            let compact = json.to_string();
            (compact != "{}" && compact != "null").then_some(compact)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::failed::ServiceError;
    use super::*;

    fn info() -> RequestInfo {
        RequestInfo {
            plugin: "anthropic".into(),
            operation: "generate_text".into(),
            method: "POST".into(),
            url: "https://api.anthropic.com/v1/messages".into(),
        }
    }

    fn answer(status: u16, body: &str) -> Answer<'_> {
        static EMPTY: std::sync::LazyLock<HeaderMap> = std::sync::LazyLock::new(HeaderMap::new);
        Answer {
            status: StatusCode::from_u16(status).unwrap(),
            headers: &EMPTY,
            body: body.as_bytes(),
        }
    }

    fn error_for(status: u16, body: &str) -> Error {
        status_error(
            &info(),
            answer(status, body),
            None,
            &Redactor::new(["sk-ant-secret-key"]),
            None,
            1,
        )
    }

    #[test]
    fn statuses_map_to_the_taxonomy() {
        let cases = [
            (401, ErrorKind::Authentication),
            (403, ErrorKind::Authentication),
            (404, ErrorKind::NotFound),
            (429, ErrorKind::RateLimited),
            (400, ErrorKind::InvalidInput),
            (408, ErrorKind::Timeout),
            (500, ErrorKind::Connection),
            (503, ErrorKind::Connection),
            (529, ErrorKind::Connection),
            (418, ErrorKind::Other),
        ];
        for (status, kind) in cases {
            assert_eq!(error_for(status, "").kind(), kind, "HTTP {status}");
        }
        assert!(error_for(500, "").is_retryable());
    }

    #[test]
    fn errors_name_plugin_operation_request_and_what_the_service_said() {
        let body = r#"{"type":"error","error":{"type":"authentication_error","message":"invalid x-api-key"}}"#;
        let err = error_for(401, body);
        assert_eq!(err.plugin(), "anthropic");
        assert_eq!(err.operation(), "generate_text");
        assert_eq!(
            err.to_string(),
            "anthropic: generate_text: authentication: POST https://api.anthropic.com/v1/messages \
             answered HTTP 401 Unauthorized: authentication_error: invalid x-api-key; check the \
             configured credentials"
        );
        assert_eq!(delivery_of(&err), Some(Delivery::Answered(401)));
    }

    #[test]
    fn rate_limits_carry_the_requested_delay() {
        let err = status_error(
            &info(),
            answer(
                429,
                r#"{"error":{"message":"slow down","type":"requests","code":"rate_limit_exceeded"}}"#,
            ),
            Some(Duration::from_secs(20)),
            &Redactor::default(),
            None,
            3,
        );
        assert_eq!(err.kind(), ErrorKind::RateLimited);
        assert_eq!(err.retry_after(), Some(Duration::from_secs(20)));
        assert!(
            err.message().contains("rate_limit_exceeded: slow down"),
            "{err}"
        );
        assert!(err.message().contains("after 3 attempts"), "{err}");
    }

    #[test]
    fn secrets_in_answers_are_redacted() {
        let body = r#"{"error":{"message":"Incorrect API key provided: sk-ant-secret-key","type":"invalid_request_error","code":"invalid_api_key"}}"#;
        let err = error_for(401, body);
        assert!(!err.to_string().contains("sk-ant-secret-key"), "{err}");
        let masked = r#"{"error":{"message":"Incorrect API key provided: sk-an***ey.","code":"invalid_api_key"}}"#;
        assert!(!error_for(401, masked).to_string().contains("sk-an"));
    }

    #[test]
    fn plain_and_odd_bodies_are_described() {
        assert!(
            error_for(404, "no_service")
                .message()
                .ends_with(": no_service")
        );
        assert!(
            error_for(404, r#"{"message": "Unknown Webhook", "code": 10015}"#)
                .message()
                .ends_with(": 10015: Unknown Webhook")
        );
        // HTML error pages are not quoted.
        assert!(
            error_for(502, "<html><body>Bad gateway</body></html>")
                .message()
                .contains("HTTP 502 Bad Gateway; the service failed")
        );
        let long = "x".repeat(1000);
        assert!(error_for(400, &long).message().len() < 400);
    }

    #[test]
    fn transport_failures_say_whether_the_request_was_sent() {
        let redactor = Redactor::default();
        let timeout = Duration::from_secs(2);
        let err = transport_error(
            &info(),
            Transport::Connect,
            "Connection refused",
            timeout,
            &redactor,
            3,
        );
        assert_eq!(err.kind(), ErrorKind::Connection);
        assert_eq!(delivery_of(&err), Some(Delivery::NotSent));
        assert!(err.message().contains("after 3 attempts"), "{err}");
        let err = transport_error(&info(), Transport::Timeout, "", timeout, &redactor, 1);
        assert_eq!(err.kind(), ErrorKind::Timeout);
        assert!(err.message().contains("within 2s"), "{err}");
        assert_eq!(delivery_of(&err), Some(Delivery::Unknown));
        let err = transport_error(&info(), Transport::Dropped, "closed", timeout, &redactor, 1);
        assert_eq!(err.kind(), ErrorKind::Connection);
        assert_eq!(delivery_of(&err), Some(Delivery::Unknown));
    }

    #[test]
    fn undecodable_bodies_quote_a_short_redacted_snippet() {
        let redactor = Redactor::new(["sk-ant-secret-key"]);
        let body = format!(
            "{{\"id\": \"msg_1\", \"key\": \"sk-ant-secret-key\", {}",
            "y".repeat(500)
        );
        let err = decode_error(
            &info(),
            200,
            body.as_bytes(),
            "EOF while parsing",
            &redactor,
        );
        assert_eq!(err.kind(), ErrorKind::InvalidResponse);
        let text = err.to_string();
        assert!(!text.contains("sk-ant-secret-key"), "{text}");
        assert!(
            text.contains("it starts with: {\"id\": \"msg_1\""),
            "{text}"
        );
        assert!(text.len() < 500, "{text}");
    }

    /// A mapper as a service plugin writes one: its own code decides the
    /// kind, its own fields the words.
    fn by_code(failed: &FailedResponse<'_>) -> ServiceError {
        let json = failed.json.as_ref();
        let code = json
            .and_then(|j| j.pointer("/errors/0/code"))
            .and_then(|c| c.as_str());
        ServiceError {
            kind: (code == Some("RATELIMITED")).then_some(ErrorKind::RateLimited),
            detail: json
                .and_then(|j| j.pointer("/errors/0/message"))
                .and_then(|m| m.as_str())
                .map(|m| format!("{m} (HTTP {} seen by the mapper)", failed.status)),
        }
    }

    #[test]
    fn a_plugin_mapper_chooses_kind_and_words_but_not_the_frame_or_the_secrets() {
        let body =
            r#"{"errors":[{"code":"RATELIMITED","message":"slow down, sk-ant-secret-key"}]}"#;
        let err = status_error(
            &info(),
            answer(400, body),
            Some(Duration::from_secs(2)),
            &Redactor::new(["sk-ant-secret-key"]),
            Some(by_code),
            1,
        );
        assert_eq!(err.kind(), ErrorKind::RateLimited);
        assert_eq!(err.retry_after(), Some(Duration::from_secs(2)));
        assert_eq!(
            err.message(),
            "POST https://api.anthropic.com/v1/messages answered HTTP 400 Bad Request: slow \
             down, [redacted] (HTTP 400 seen by the mapper)"
        );
        assert_eq!(delivery_of(&err), Some(Delivery::Answered(400)));
        // A mapper that knows nothing keeps the layer's reading.
        let other = status_error(
            &info(),
            answer(404, r#"{"message":"gone"}"#),
            None,
            &Redactor::default(),
            Some(|_| ServiceError::default()),
            1,
        );
        assert_eq!(other.kind(), ErrorKind::NotFound);
        assert!(other.message().ends_with(": gone"), "{other}");
    }
}
