//! The one HTTP layer every service plugin talks through.
//!
//! A plugin describes its service once, in an [`HttpConfig`] (base URL,
//! [`Auth`], timeouts, retries, an optional client-side rate limit), builds
//! an [`HttpClient`] from it in `connect`, and then makes calls:
//!
//! ```text
//! let client = HttpClient::new(
//!     HttpConfig::new("anthropic", "https://api.anthropic.com")
//!         .auth(Auth::Header { name: "x-api-key".into(), value: api_key })
//!         .header("anthropic-version", "2023-06-01")
//!         .timeouts(Duration::from_secs(10), Duration::from_secs(600))
//!         .max_retries(2),
//! )?;
//! let reply: MessagesResponse = client
//!     .post("generate_text", "v1/messages")
//!     .json(&request)
//!     .idempotent() // see below
//!     .send_json()
//!     .await?;
//! ```
//!
//! What the layer does for every call, so that no plugin does it again:
//!
//! - **Retries** ([`retry`]): with exponential backoff and jitter, up to
//!   `max_retries` times. Idempotent requests (GET, HEAD, PUT, DELETE,
//!   OPTIONS, or any request marked
//!   [`idempotent`](client::HttpRequest::idempotent)) are retried on 5xx
//!   answers, timeouts and dropped connections. Every request is
//!   retried on 429 (honouring `Retry-After` and the rate-limit reset
//!   headers, [`retry_after`]) and on connection failures that happened
//!   before the request was sent, since the service never saw it.
//! - **Client-side rate limit** ([`rate_limit`]): at most N requests per
//!   second, when configured.
//! - **One error mapping** ([`errors`]) into `aido_plugin_api::Error`:
//!   401/403 authentication, 404 not found, 429 rate limited (with
//!   retry-after), 5xx connection, timeouts timeout, an undecodable body
//!   invalid response quoting a short redacted snippet. Every error names
//!   the plugin and the operation, and never contains a secret. A plugin
//!   whose service says more than its status codes do gives its client an
//!   error mapper ([`failed`]): it sees each failed answer's status,
//!   headers, a redacted snippet and the parsed JSON body, and names the
//!   kind and the service's words; the layer still frames and redacts the
//!   message.
//! - **Tracing**: method, URL (no query string; a secret base URL is shown
//!   as `scheme://host/[redacted]`), status, latency and attempt, at debug
//!   level; retries at info level. Headers and bodies are never logged.
//! - **Redaction** ([`redact`]): every secret the configuration holds, and
//!   anything that looks like a credential, is cut from error messages.
//!
//! The base URL is always configurable, so tests point plugins at the
//! emulators of `aido-testkit`.

mod client;
mod config;
pub(crate) mod errors;
mod failed;
pub(crate) mod rate_limit;
pub(crate) mod redact;
mod response;
pub(crate) mod retry;
pub(crate) mod retry_after;

pub(crate) use client::HttpClient;
pub(crate) use config::{Auth, HttpConfig, check_base_url};
pub(crate) use errors::{Delivery, delivery_of};
pub(crate) use failed::{FailedResponse, ServiceError};

#[cfg(test)]
mod tests;
