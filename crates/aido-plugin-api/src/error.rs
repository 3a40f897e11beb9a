//! One error taxonomy for every plugin.
//!
//! A plugin never invents its own error type at the API boundary: it returns
//! [`Error`], whose [`ErrorKind`] tells the engine what to do next (retry,
//! fail the step, ask the user to fix their configuration). The message is
//! for humans and must never contain a secret.

use std::fmt;
use std::time::Duration;

/// The result type of every plugin call.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What went wrong, as far as the engine is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ErrorKind {
    /// The plugin's configuration is missing something or holds a bad value.
    Configuration,
    /// The service could not be reached, or answered with a server error.
    Connection,
    /// The service refused the credentials (HTTP 401/403 and the like).
    Authentication,
    /// The thing asked for does not exist.
    NotFound,
    /// The service asked us to slow down; see [`Error::retry_after`].
    RateLimited,
    /// The service answered with something we could not understand.
    InvalidResponse,
    /// The plugin or its service cannot do this.
    Unsupported,
    /// The call took longer than it was allowed to.
    Timeout,
    /// The caller passed arguments that do not fit the action's input.
    InvalidInput,
    /// The call was cancelled before it finished.
    Cancelled,
    /// Anything else.
    Other,
}

impl ErrorKind {
    /// The snake_case name used in JSON and in the external plugin protocol.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::Configuration => "configuration",
            ErrorKind::Connection => "connection",
            ErrorKind::Authentication => "authentication",
            ErrorKind::NotFound => "not_found",
            ErrorKind::RateLimited => "rate_limited",
            ErrorKind::InvalidResponse => "invalid_response",
            ErrorKind::Unsupported => "unsupported",
            ErrorKind::Timeout => "timeout",
            ErrorKind::InvalidInput => "invalid_input",
            ErrorKind::Cancelled => "cancelled",
            ErrorKind::Other => "other",
        }
    }

    /// Whether the same call may succeed if it is simply made again later.
    pub fn is_retryable(self) -> bool {
        matches!(
            self,
            ErrorKind::Connection | ErrorKind::RateLimited | ErrorKind::Timeout
        )
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.as_str().replace('_', " "))
    }
}

/// A failed plugin call: what kind of failure, which plugin, which operation
/// and a message for humans.
///
/// Plugins usually build one with a kind constructor and leave the plugin
/// name and operation empty; the action dispatcher fills them in.
///
/// ```
/// use aido_plugin_api::{Error, ErrorKind};
/// let err = Error::not_found("task PROJ-9 does not exist").in_call("linear", "get_task");
/// assert_eq!(err.kind(), ErrorKind::NotFound);
/// assert_eq!(err.to_string(), "linear: get_task: not found: task PROJ-9 does not exist");
/// ```
#[derive(Debug)]
pub struct Error {
    kind: ErrorKind,
    plugin: String,
    operation: String,
    message: String,
    retry_after: Option<Duration>,
    source: Option<Box<dyn std::error::Error + Send + Sync + 'static>>,
}

impl Error {
    /// A new error of `kind` with a human message.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Error {
            kind,
            plugin: String::new(),
            operation: String::new(),
            message: message.into(),
            retry_after: None,
            source: None,
        }
    }

    /// A configuration error.
    pub fn configuration(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Configuration, message)
    }
    /// A connection error (retryable).
    pub fn connection(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Connection, message)
    }
    /// An authentication error.
    pub fn authentication(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Authentication, message)
    }
    /// A not-found error.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::NotFound, message)
    }
    /// A rate-limit error, optionally saying when to try again.
    pub fn rate_limited(message: impl Into<String>, retry_after: Option<Duration>) -> Self {
        let mut err = Self::new(ErrorKind::RateLimited, message);
        err.retry_after = retry_after;
        err
    }
    /// The service answered with something we could not understand.
    pub fn invalid_response(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::InvalidResponse, message)
    }
    /// The operation is not supported by this plugin.
    pub fn unsupported(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Unsupported, message)
    }
    /// The operation timed out.
    pub fn timeout(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Timeout, message)
    }
    /// The caller's arguments do not fit.
    pub fn invalid_input(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::InvalidInput, message)
    }
    /// Any other failure.
    pub fn other(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Other, message)
    }

    /// Names the plugin and the operation, unless they are already set.
    pub fn in_call(mut self, plugin: &str, operation: &str) -> Self {
        if self.plugin.is_empty() {
            self.plugin = plugin.to_owned();
        }
        if self.operation.is_empty() {
            self.operation = operation.to_owned();
        }
        self
    }

    /// Attaches the underlying cause. Its `Display` must not hold a secret.
    pub fn with_source(mut self, source: impl std::error::Error + Send + Sync + 'static) -> Self {
        self.source = Some(Box::new(source));
        self
    }

    /// Sets how long to wait before trying again.
    pub fn with_retry_after(mut self, retry_after: Duration) -> Self {
        self.retry_after = Some(retry_after);
        self
    }

    /// What kind of failure this is.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }
    /// The plugin that failed (empty until the dispatcher names it).
    pub fn plugin(&self) -> &str {
        &self.plugin
    }
    /// The operation that failed (empty until the dispatcher names it).
    pub fn operation(&self) -> &str {
        &self.operation
    }
    /// The human message, without the plugin and operation prefix.
    pub fn message(&self) -> &str {
        &self.message
    }
    /// How long the service asked us to wait, for rate-limit errors.
    pub fn retry_after(&self) -> Option<Duration> {
        self.retry_after
    }
    /// Whether making the same call again later may succeed.
    pub fn is_retryable(&self) -> bool {
        self.kind.is_retryable()
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if !self.plugin.is_empty() {
            write!(f, "{}: ", self.plugin)?;
        }
        if !self.operation.is_empty() {
            write!(f, "{}: ", self.operation)?;
        }
        write!(f, "{}: {}", self.kind, self.message)?;
        if let Some(after) = self.retry_after {
            write!(f, " (retry after {}s)", after.as_secs_f64())?;
        }
        Ok(())
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source
            .as_deref()
            .map(|s| s as &(dyn std::error::Error + 'static))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retryable_kinds_are_transient_failures_only() {
        assert!(Error::connection("down").is_retryable());
        assert!(Error::timeout("slow").is_retryable());
        assert!(Error::rate_limited("slow down", None).is_retryable());
        assert!(!Error::authentication("bad token").is_retryable());
        assert!(!Error::not_found("gone").is_retryable());
        assert!(!Error::configuration("bad").is_retryable());
    }

    #[test]
    fn in_call_keeps_the_innermost_names() {
        let err = Error::other("boom")
            .in_call("inner", "op1")
            .in_call("outer", "op2");
        assert_eq!(err.plugin(), "inner");
        assert_eq!(err.operation(), "op1");
    }

    #[test]
    fn display_mentions_retry_after() {
        let err = Error::rate_limited("slow down", Some(Duration::from_secs(3))).in_call("x", "y");
        assert_eq!(
            err.to_string(),
            "x: y: rate limited: slow down (retry after 3s)"
        );
    }
}
