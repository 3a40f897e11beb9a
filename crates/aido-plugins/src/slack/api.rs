//! Calls to Slack's Web API: every method is a POST answered with HTTP 200
//! and `{"ok": true, ...}` or `{"ok": false, "error": "<code>"}`, so the
//! `ok` flag is checked here and the error code mapped into the taxonomy.

use std::time::Duration;

use aido_plugin_api::{Error, Result};
use serde_json::Value;

use crate::http::HttpClient;

/// The Web API of one workspace, through the shared HTTP layer.
#[derive(Debug)]
pub(super) struct SlackApi {
    /// Calls to `base_url/<method>`, with the bot token.
    pub(super) client: HttpClient,
    /// Posts of file bytes to upload URLs, which are pre-signed and take
    /// no token.
    pub(super) upload: reqwest::Client,
    /// How long one upload may take.
    pub(super) upload_timeout: Duration,
}

impl SlackApi {
    /// A method that only reads (or is safe to repeat), with its arguments
    /// in the query string, which every method accepts, also those that
    /// take no JSON bodies (`users.lookupByEmail`, `conversations.info`,
    /// `files.getUploadURLExternal`). Retried on 5xx and timeouts.
    pub(super) async fn read(
        &self,
        operation: &str,
        method: &str,
        args: &[(&str, &str)],
    ) -> Result<Value> {
        let mut request = self.client.post(operation, method).idempotent();
        for (name, value) in args {
            request = request.query(name, value);
        }
        let value: Value = request.send_json().await?;
        check(operation, method, value)
    }

    /// A method that changes something, with a JSON body. Retried only
    /// when it certainly did not happen (429, no connection), unless
    /// `repeatable`.
    pub(super) async fn write(
        &self,
        operation: &str,
        method: &str,
        body: &Value,
        repeatable: bool,
    ) -> Result<Value> {
        let mut request = self.client.post(operation, method).json(body);
        if repeatable {
            request = request.idempotent();
        }
        let value: Value = request.send_json().await?;
        check(operation, method, value)
    }

    /// Posts `bytes` to an upload URL from `files.getUploadURLExternal`.
    /// The URL is never shown: it is a credential for that one file.
    pub(super) async fn upload_bytes(
        &self,
        operation: &str,
        url: &str,
        bytes: Vec<u8>,
    ) -> Result<()> {
        let answer = self
            .upload
            .post(url)
            .header(reqwest::header::CONTENT_TYPE, "application/octet-stream")
            .timeout(self.upload_timeout)
            .body(bytes)
            .send()
            .await
            .map_err(|err| {
                let error = if err.is_timeout() {
                    Error::timeout(format!(
                        "the file's upload took longer than {}s",
                        self.upload_timeout.as_secs()
                    ))
                } else {
                    Error::connection("could not send the file's bytes to Slack's upload URL")
                };
                error.in_call(super::NAME, operation)
            })?;
        let status = answer.status();
        if status.is_success() {
            Ok(())
        } else {
            let error = if status.is_server_error() {
                Error::connection(format!("Slack's upload URL answered HTTP {status}"))
            } else {
                Error::other(format!(
                    "Slack's upload URL refused the file (HTTP {status})"
                ))
            };
            Err(error.in_call(super::NAME, operation))
        }
    }
}

/// The answer when `ok` is true; the mapped error otherwise.
fn check(operation: &str, method: &str, value: Value) -> Result<Value> {
    match value.get("ok").and_then(Value::as_bool) {
        Some(true) => Ok(value),
        Some(false) => {
            let code = value
                .get("error")
                .and_then(Value::as_str)
                .unwrap_or("unknown_error");
            Err(slack_error(method, code).in_call(super::NAME, operation))
        }
        None => Err(Error::invalid_response(format!(
            "Slack's answer to {method} has no `ok` field"
        ))
        .in_call(super::NAME, operation)),
    }
}

/// Slack's error code as an error of the taxonomy.
pub(super) fn slack_error(method: &str, code: &str) -> Error {
    // A code is a short snake_case word; anything else is cut, so an
    // answer cannot smuggle text into messages.
    let code: String = code
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '_')
        .take(60)
        .collect();
    let message = format!("Slack answered `{code}` to {method}");
    match code.as_str() {
        "invalid_auth"
        | "not_authed"
        | "account_inactive"
        | "token_revoked"
        | "token_expired"
        | "no_permission"
        | "missing_scope"
        | "not_allowed_token_type"
        | "ekm_access_denied" => Error::authentication(message),
        "channel_not_found" | "user_not_found" | "users_not_found" | "file_not_found"
        | "thread_not_found" | "message_not_found" => Error::not_found(message),
        "ratelimited" | "rate_limited" => Error::rate_limited(message, None),
        "not_in_channel"
        | "is_archived"
        | "msg_too_long"
        | "no_text"
        | "name_taken"
        | "invalid_arguments"
        | "invalid_arg_name"
        | "invalid_name"
        | "invalid_name_specials"
        | "invalid_name_required"
        | "invalid_name_maxlength"
        | "invalid_name_punctuation"
        | "invalid_metadata_format"
        | "invalid_metadata_schema"
        | "too_many_attachments"
        | "cannot_dm_bot"
        | "invalid_blocks"
        | "restricted_action" => Error::invalid_input(message),
        "internal_error" | "fatal_error" | "service_unavailable" | "request_timeout" => {
            Error::connection(message)
        }
        _ => Error::other(message),
    }
}
