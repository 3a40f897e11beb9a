//! A failed answer shown to the plugin's own error mapper.
//!
//! The layer's status mapping ([`super::errors`]) knows HTTP, not the
//! service: a 400 is `invalid_input` whether Linear meant "rate limited" or
//! "not authenticated", and the generic reading of an error body does not
//! know Jira's `errorMessages`. So a plugin may give its client an
//! [`ErrorMapper`] ([`HttpConfig::error_mapper`](super::HttpConfig::error_mapper)):
//! for every error status, after retries, the layer hands it a
//! [`FailedResponse`] (status, headers, a short redacted snippet and the
//! parsed JSON body) and takes back a [`ServiceError`]: the kind, when the
//! service's own code says better than the status, and the service's words.
//!
//! The layer still builds the error: its message names the request and the
//! attempts, the mapper's words are redacted and shortened like any
//! snippet, and the error keeps the layer's source (whether the request
//! arrived). A mapper cannot leak a credential even if it quotes the body.

use aido_plugin_api::ErrorKind;
use reqwest::header::HeaderMap;
use serde_json::Value;

/// A failed answer, as the plugin's mapper sees it.
#[derive(Debug)]
pub(crate) struct FailedResponse<'a> {
    /// The HTTP status code.
    pub(crate) status: u16,
    /// The answer's headers.
    pub(crate) headers: &'a HeaderMap,
    /// The start of the body, redacted, at most
    /// [`SNIPPET_CHARS`](super::redact::SNIPPET_CHARS) characters.
    #[allow(dead_code)] // For services answering errors in plain text.
    pub(crate) snippet: String,
    /// The body parsed as JSON, when it is JSON. Not redacted: quote it
    /// only through [`ServiceError::detail`], which the layer redacts.
    pub(crate) json: Option<Value>,
}

/// What a plugin's mapper makes of a failed answer. `Default` keeps the
/// layer's reading of both.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct ServiceError {
    /// The error kind, when the service's code says more than the status.
    pub(crate) kind: Option<ErrorKind>,
    /// What the service said, in a line; redacted and shortened by the
    /// layer.
    pub(crate) detail: Option<String>,
}

/// A plugin's reading of its service's error answers. A plain function, so
/// it holds no state and a client stays cheap to clone and to show.
pub(crate) type ErrorMapper = fn(&FailedResponse<'_>) -> ServiceError;
