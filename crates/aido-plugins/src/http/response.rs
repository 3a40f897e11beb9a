//! A successful answer, read whole, with decoding that reports failures in
//! the layer's error taxonomy.

use std::sync::Arc;

use aido_plugin_api::Result;
use reqwest::StatusCode;
use reqwest::header::HeaderMap;
use serde::de::DeserializeOwned;

use super::errors::{RequestInfo, decode_error};
use super::redact::Redactor;

/// A 2xx answer: status, headers and the whole body.
#[derive(Debug)]
pub(crate) struct HttpResponse {
    pub(super) status: StatusCode,
    pub(super) headers: HeaderMap,
    pub(super) body: Vec<u8>,
    pub(super) info: RequestInfo,
    pub(super) redactor: Arc<Redactor>,
}

impl HttpResponse {
    /// The status code.
    #[allow(dead_code)] // For services whose 2xx codes differ in meaning.
    pub(crate) fn status(&self) -> StatusCode {
        self.status
    }

    /// The headers.
    #[allow(dead_code)] // For plugins that read pagination or ids from headers.
    pub(crate) fn headers(&self) -> &HeaderMap {
        &self.headers
    }

    /// The raw body.
    pub(crate) fn body(&self) -> &[u8] {
        &self.body
    }

    /// The body as text (invalid UTF-8 replaced).
    #[allow(dead_code)] // For services answering plain text.
    pub(crate) fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The body decoded from JSON; an `invalid_response` error quoting a
    /// short, redacted snippet when it does not decode.
    pub(crate) fn json<T: DeserializeOwned>(&self) -> Result<T> {
        serde_json::from_slice(&self.body).map_err(|err| {
            decode_error(
                &self.info,
                self.status.as_u16(),
                &self.body,
                &err.to_string(),
                &self.redactor,
            )
        })
    }
}
