//! Jira's error answers, read for the HTTP layer ([`map_http_error`]).
//!
//! Jira Cloud's REST API answers a failed request with
//! `{"errorMessages": ["..."], "errors": {"field": "message"}}` (the
//! `ErrorCollection` of its reference): general messages, and messages per
//! field of the request. Both are quoted, so "`project: valid project is
//! required`" reaches the user rather than a bare "400 Bad Request".
//!
//! The one answer whose status misleads: a 403 carrying
//! `X-Seraph-LoginReason: AUTHENTICATION_DENIED` is Jira asking for a
//! CAPTCHA after failed logins, which only a login in a browser clears.

use serde_json::Value;

use crate::http::{FailedResponse, ServiceError};

/// The header Jira sets when it refused a login.
const LOGIN_REASON: &str = "x-seraph-loginreason";

/// The kind and words of a Jira error answer.
pub(super) fn map_http_error(failed: &FailedResponse<'_>) -> ServiceError {
    let captcha = failed.status == 403
        && failed
            .headers
            .get(LOGIN_REASON)
            .and_then(|value| value.to_str().ok())
            .is_some_and(|reason| reason.contains("AUTHENTICATION_DENIED"));
    let said = failed.json.as_ref().and_then(error_collection);
    let detail = match (captcha, said) {
        (true, said) => Some(format!(
            "Jira asks for a CAPTCHA after failed logins; log in to the site in a browser once{}",
            said.map(|said| format!(" ({said})")).unwrap_or_default()
        )),
        (false, said) => said,
    };
    ServiceError { kind: None, detail }
}

/// `errorMessages` and `errors` of an `ErrorCollection`, as one line:
/// `message; message; field: message`. `None` when both are empty or the
/// body is not one.
fn error_collection(json: &Value) -> Option<String> {
    let mut parts: Vec<String> = json
        .get("errorMessages")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .filter(|message| !message.trim().is_empty())
        .map(str::to_owned)
        .collect();
    if let Some(fields) = json.get("errors").and_then(Value::as_object) {
        for (field, message) in fields {
            let message = match message {
                Value::String(text) => text.clone(),
                other => other.to_string(),
            };
            parts.push(format!("{field}: {message}"));
        }
    }
    (!parts.is_empty()).then(|| parts.join("; "))
}

#[cfg(test)]
mod tests {
    use reqwest::header::{HeaderMap, HeaderValue};
    use serde_json::json;

    use super::*;

    fn failed(status: u16, headers: &HeaderMap, json: Value) -> FailedResponse<'_> {
        FailedResponse {
            status,
            headers,
            snippet: String::new(),
            json: Some(json),
        }
    }

    #[test]
    fn messages_and_field_errors_are_quoted_together() {
        let headers = HeaderMap::new();
        let body = json!({"errorMessages": ["Issue does not exist"], "errors": {"project": "valid project is required"}});
        let mapped = map_http_error(&failed(400, &headers, body));
        assert_eq!(
            mapped.detail.as_deref(),
            Some("Issue does not exist; project: valid project is required")
        );
        assert_eq!(mapped.kind, None);
        let empty = map_http_error(&failed(
            404,
            &headers,
            json!({"errorMessages": [], "errors": {}}),
        ));
        assert_eq!(empty, ServiceError::default());
    }

    #[test]
    fn a_captcha_demand_is_explained() {
        let mut headers = HeaderMap::new();
        headers.insert(
            LOGIN_REASON,
            HeaderValue::from_static("AUTHENTICATION_DENIED"),
        );
        let mapped = map_http_error(&failed(403, &headers, json!({})));
        assert!(mapped.detail.unwrap().contains("CAPTCHA"));
    }
}
