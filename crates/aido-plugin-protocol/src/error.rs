//! Error objects: JSON-RPC's codes, aido's range, and the error taxonomy
//! carried in `data`.
//!
//! Every error a plugin sends has the JSON-RPC shape `{code, message, data}`.
//! The `code` is for generic JSON-RPC clients; aido itself decides what to do
//! from `data.kind`, one of the snake_case [`ErrorKind`] names, so that an
//! external plugin's failure means exactly what a built-in plugin's does
//! (retry a rate limit, ask the user to fix a configuration, ...).
//!
//! | code | constant | meaning | `data.kind` |
//! |---|---|---|---|
//! | -32700 | [`codes::PARSE_ERROR`] | the line was not JSON | `other` |
//! | -32600 | [`codes::INVALID_REQUEST`] | JSON, but not a JSON-RPC message | `other` |
//! | -32601 | [`codes::METHOD_NOT_FOUND`] | no such method, or not implemented | `unsupported` |
//! | -32602 | [`codes::INVALID_PARAMS`] | the parameters do not fit | `invalid_input` |
//! | -32603 | [`codes::INTERNAL_ERROR`] | a bug in the receiver | `other` |
//! | -32000 | [`codes::PLUGIN_ERROR`] | the call ran and failed | any |
//! | -32001 | [`codes::VERSION_MISMATCH`] | no common protocol version | `unsupported` |
//! | -32002 | [`codes::NOT_READY`] | before `initialize` / `plugin.connect` | `other` |
//! | -32003 | [`codes::SHUTTING_DOWN`] | after `shutdown` | `other` |
//! | -32004 | [`codes::CANCELLED`] | cancelled by `$/cancel` | `cancelled` |
//!
//! aido's codes live in -32000..=-32099, the range JSON-RPC 2.0 leaves to
//! implementations; -32005..=-32099 are reserved for later minor versions.

use std::fmt;
use std::time::Duration;

use aido_plugin_api::{Error, ErrorKind};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

/// The error codes of the protocol.
pub mod codes {
    /// The line was not valid JSON (JSON-RPC 2.0).
    pub const PARSE_ERROR: i64 = -32700;
    /// The JSON was not a valid request object (JSON-RPC 2.0).
    pub const INVALID_REQUEST: i64 = -32600;
    /// The method does not exist, or this plugin does not implement it
    /// (JSON-RPC 2.0).
    pub const METHOD_NOT_FOUND: i64 = -32601;
    /// The parameters do not fit the method (JSON-RPC 2.0).
    pub const INVALID_PARAMS: i64 = -32602;
    /// A bug in the receiver (JSON-RPC 2.0).
    pub const INTERNAL_ERROR: i64 = -32603;

    /// The call reached the plugin and failed; `data.kind` says how. Most
    /// errors a plugin sends have this code.
    pub const PLUGIN_ERROR: i64 = -32000;
    /// The plugin speaks no protocol version the host offered.
    pub const VERSION_MISMATCH: i64 = -32001;
    /// A request came before `initialize` was answered, or a kind method
    /// before `plugin.connect` succeeded.
    pub const NOT_READY: i64 = -32002;
    /// A request came after `shutdown`.
    pub const SHUTTING_DOWN: i64 = -32003;
    /// The request was cancelled by `$/cancel` before it finished.
    pub const CANCELLED: i64 = -32004;

    /// The first code of aido's range.
    pub const AIDO_RANGE_START: i64 = -32099;
    /// The last code of aido's range.
    pub const AIDO_RANGE_END: i64 = -32000;
}

/// A JSON-RPC error object, as it travels.
///
/// Build one from an [`aido_plugin_api::Error`] with `From`, or with the
/// constructors below; turn one into an [`aido_plugin_api::Error`] with
/// [`RpcError::to_api_error`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RpcError {
    /// One of [`codes`] (or any other integer, from a foreign peer).
    pub code: i64,
    /// What went wrong, for humans. Never a secret.
    pub message: String,
    /// aido's taxonomy ([`ErrorData`]) when the peer is an aido plugin;
    /// anything or nothing from other JSON-RPC peers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<Value>,
}

/// The `data` member of an error object: aido's error taxonomy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ErrorData {
    /// What kind of failure; an unknown name reads as `other`, so a newer
    /// plugin's kinds degrade instead of failing.
    #[serde(deserialize_with = "lenient_kind", serialize_with = "kind_name")]
    pub kind: ErrorKind,
    /// Whether the same call may succeed if made again later. Advisory, for
    /// generic clients: aido decides from `kind` (connection, rate_limited
    /// and timeout are retryable).
    #[serde(default)]
    pub retryable: bool,
    /// How long the service asked to wait before trying again, in seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after_seconds: Option<f64>,
    /// The plugin that failed, when a plugin reports another's failure.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plugin: Option<String>,
    /// The operation that failed, when it is not the method called.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operation: Option<String>,
}

impl ErrorData {
    /// Data for `kind`, with `retryable` filled in from the kind.
    pub fn new(kind: ErrorKind) -> Self {
        ErrorData {
            kind,
            retryable: kind.is_retryable(),
            retry_after_seconds: None,
            plugin: None,
            operation: None,
        }
    }

    /// The data as JSON. It holds only strings, numbers and booleans, so
    /// nothing can fail; a non-finite `retry_after_seconds` (which JSON
    /// cannot hold) is left out.
    pub fn to_value(&self) -> Value {
        let mut map = serde_json::Map::new();
        map.insert("kind".into(), Value::from(self.kind.as_str()));
        map.insert("retryable".into(), Value::from(self.retryable));
        if let Some(number) = self
            .retry_after_seconds
            .and_then(serde_json::Number::from_f64)
        {
            map.insert("retry_after_seconds".into(), Value::Number(number));
        }
        if let Some(plugin) = &self.plugin {
            map.insert("plugin".into(), Value::from(plugin.as_str()));
        }
        if let Some(operation) = &self.operation {
            map.insert("operation".into(), Value::from(operation.as_str()));
        }
        Value::Object(map)
    }
}

fn kind_name<S: serde::Serializer>(kind: &ErrorKind, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(kind.as_str())
}

fn lenient_kind<'de, D: Deserializer<'de>>(deserializer: D) -> Result<ErrorKind, D::Error> {
    let name = String::deserialize(deserializer)?;
    Ok(kind_from_name(&name))
}

/// The kind named `name`, or `other` for a name this aido does not know.
pub(crate) fn kind_from_name(name: &str) -> ErrorKind {
    serde_json::from_value(Value::String(name.to_owned())).unwrap_or(ErrorKind::Other)
}

impl RpcError {
    /// An error with `code` and `message`, and `data` for `kind`.
    pub fn new(code: i64, kind: ErrorKind, message: impl Into<String>) -> Self {
        RpcError {
            code,
            message: message.into(),
            data: Some(ErrorData::new(kind).to_value()),
        }
    }

    /// The line was not JSON.
    pub fn parse_error(message: impl Into<String>) -> Self {
        Self::new(codes::PARSE_ERROR, ErrorKind::Other, message)
    }
    /// The JSON was not a JSON-RPC 2.0 message.
    pub fn invalid_request(message: impl Into<String>) -> Self {
        Self::new(codes::INVALID_REQUEST, ErrorKind::Other, message)
    }
    /// No method of that name, or one the plugin does not implement.
    pub fn method_not_found(message: impl Into<String>) -> Self {
        Self::new(codes::METHOD_NOT_FOUND, ErrorKind::Unsupported, message)
    }
    /// The parameters do not fit the method.
    pub fn invalid_params(message: impl Into<String>) -> Self {
        Self::new(codes::INVALID_PARAMS, ErrorKind::InvalidInput, message)
    }
    /// A bug in the receiver.
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(codes::INTERNAL_ERROR, ErrorKind::Other, message)
    }
    /// A request before the handshake (or before `plugin.connect`).
    pub fn not_ready(message: impl Into<String>) -> Self {
        Self::new(codes::NOT_READY, ErrorKind::Other, message)
    }
    /// A request after `shutdown`.
    pub fn shutting_down(message: impl Into<String>) -> Self {
        Self::new(codes::SHUTTING_DOWN, ErrorKind::Other, message)
    }
    /// A request cancelled by `$/cancel`.
    pub fn cancelled(message: impl Into<String>) -> Self {
        Self::new(codes::CANCELLED, ErrorKind::Cancelled, message)
    }

    /// The taxonomy in `data`, if `data` holds one.
    pub fn error_data(&self) -> Option<ErrorData> {
        self.data
            .as_ref()
            .and_then(|data| ErrorData::deserialize(data).ok())
    }

    /// The failure's kind: `data.kind` when present, otherwise guessed from
    /// the code (a foreign peer's `-32601` is `unsupported`, ...).
    pub fn kind(&self) -> ErrorKind {
        match self.error_data() {
            Some(data) => data.kind,
            None => kind_of_code(self.code),
        }
    }

    /// The [`aido_plugin_api::Error`] this error stands for: same kind,
    /// message and retry-after, and the plugin and operation `data` names.
    ///
    /// The caller names the plugin and the method with
    /// [`Error::in_call`]; names from `data` win, since they are more
    /// precise.
    pub fn to_api_error(&self) -> Error {
        let data = self.error_data();
        let kind = data
            .as_ref()
            .map_or_else(|| kind_of_code(self.code), |data| data.kind);
        let mut error = Error::new(kind, self.message.clone());
        if let Some(after) = data
            .as_ref()
            .and_then(|data| data.retry_after_seconds)
            .and_then(|seconds| Duration::try_from_secs_f64(seconds).ok())
        {
            error = error.with_retry_after(after);
        }
        if let Some(data) = data {
            error = error.in_call(
                data.plugin.as_deref().unwrap_or(""),
                data.operation.as_deref().unwrap_or(""),
            );
        }
        error
    }
}

/// The kind a code stands for when a peer sent no `data`.
fn kind_of_code(code: i64) -> ErrorKind {
    match code {
        codes::METHOD_NOT_FOUND | codes::VERSION_MISMATCH => ErrorKind::Unsupported,
        codes::INVALID_PARAMS => ErrorKind::InvalidInput,
        codes::CANCELLED => ErrorKind::Cancelled,
        _ => ErrorKind::Other,
    }
}

/// The code an [`aido_plugin_api::Error`] travels with: the JSON-RPC code
/// that means the same to a generic client where there is one.
fn code_of_kind(kind: ErrorKind) -> i64 {
    match kind {
        ErrorKind::InvalidInput => codes::INVALID_PARAMS,
        ErrorKind::Cancelled => codes::CANCELLED,
        _ => codes::PLUGIN_ERROR,
    }
}

impl From<&Error> for RpcError {
    fn from(error: &Error) -> Self {
        let data = ErrorData {
            retry_after_seconds: error.retry_after().map(|after| after.as_secs_f64()),
            plugin: Some(error.plugin().to_owned()).filter(|name| !name.is_empty()),
            operation: Some(error.operation().to_owned()).filter(|name| !name.is_empty()),
            ..ErrorData::new(error.kind())
        };
        RpcError {
            code: code_of_kind(error.kind()),
            message: error.message().to_owned(),
            data: Some(data.to_value()),
        }
    }
}

impl From<Error> for RpcError {
    fn from(error: Error) -> Self {
        RpcError::from(&error)
    }
}

impl From<RpcError> for Error {
    fn from(error: RpcError) -> Self {
        error.to_api_error()
    }
}

impl fmt::Display for RpcError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (code {})", self.message, self.code)
    }
}

impl std::error::Error for RpcError {}

/// Serde's message about `err` without the value it quotes, since a value
/// may be a secret (`plugin.connect` carries credentials).
///
/// Serde's own messages quote values (`invalid type: string "..."`,
/// `unknown variant `...``), so only what they expected is kept; messages
/// naming a key, and this crate's own messages, are kept whole.
pub(crate) fn describe_serde_error(err: &serde_json::Error) -> String {
    let text = err.to_string();
    let text = text.split(" at line ").next().unwrap_or_default();
    let quotes_a_value = [
        "invalid type",
        "invalid value",
        "invalid length",
        "unknown variant",
    ]
    .iter()
    .any(|prefix| text.starts_with(prefix));
    if !quotes_a_value {
        return text.to_owned();
    }
    match text.find(", expected") {
        Some(pos) => format!("wrong type or value, {}", &text[pos + 2..]),
        None => "invalid value".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn to_json(error: &RpcError) -> String {
        serde_json::to_string(error).unwrap()
    }

    #[test]
    fn a_plugin_error_travels_with_its_kind() {
        let error = RpcError::from(Error::not_found("task X-1 does not exist"));
        assert_eq!(
            to_json(&error),
            r#"{"code":-32000,"message":"task X-1 does not exist","data":{"kind":"not_found","retryable":false}}"#
        );
    }

    #[test]
    fn rate_limits_carry_retry_after_both_ways() {
        let error = Error::rate_limited("slow down", Some(Duration::from_millis(2500)));
        let wire = RpcError::from(&error);
        assert_eq!(
            to_json(&wire),
            r#"{"code":-32000,"message":"slow down","data":{"kind":"rate_limited","retryable":true,"retry_after_seconds":2.5}}"#
        );
        let back = wire.to_api_error();
        assert_eq!(back.kind(), ErrorKind::RateLimited);
        assert_eq!(back.message(), "slow down");
        assert_eq!(back.retry_after(), Some(Duration::from_millis(2500)));
        assert!(back.is_retryable());
    }

    #[test]
    fn every_kind_survives_the_round_trip() {
        let kinds = [
            ErrorKind::Configuration,
            ErrorKind::Connection,
            ErrorKind::Authentication,
            ErrorKind::NotFound,
            ErrorKind::RateLimited,
            ErrorKind::InvalidResponse,
            ErrorKind::Unsupported,
            ErrorKind::Timeout,
            ErrorKind::InvalidInput,
            ErrorKind::Cancelled,
            ErrorKind::Other,
        ];
        for kind in kinds {
            let original = Error::new(kind, format!("a {kind} failure"));
            let text = to_json(&RpcError::from(&original));
            let parsed: RpcError = serde_json::from_str(&text).unwrap();
            let back = Error::from(parsed);
            assert_eq!(back.kind(), kind, "{text}");
            assert_eq!(back.message(), original.message());
            assert_eq!(back.is_retryable(), original.is_retryable());
        }
    }

    #[test]
    fn input_errors_and_cancellations_use_the_codes_generic_clients_know() {
        assert_eq!(
            RpcError::from(Error::invalid_input("no title")).code,
            codes::INVALID_PARAMS
        );
        assert_eq!(
            RpcError::from(Error::new(ErrorKind::Cancelled, "stop")).code,
            codes::CANCELLED
        );
        assert_eq!(
            RpcError::from(Error::connection("down")).code,
            codes::PLUGIN_ERROR
        );
    }

    #[test]
    fn plugin_and_operation_names_are_kept() {
        let error = Error::authentication("token refused").in_call("linear", "get_task");
        let wire = RpcError::from(&error);
        assert_eq!(
            to_json(&wire),
            r#"{"code":-32000,"message":"token refused","data":{"kind":"authentication","retryable":false,"plugin":"linear","operation":"get_task"}}"#
        );
        let back = wire.to_api_error().in_call("outer", "other_op");
        assert_eq!(back.plugin(), "linear");
        assert_eq!(back.operation(), "get_task");
        assert_eq!(
            back.to_string(),
            "linear: get_task: authentication: token refused"
        );
    }

    #[test]
    fn foreign_errors_are_read_from_their_code() {
        let parsed: RpcError =
            serde_json::from_str(r#"{"code":-32601,"message":"Method not found"}"#).unwrap();
        assert_eq!(parsed.kind(), ErrorKind::Unsupported);
        let parsed: RpcError =
            serde_json::from_str(r#"{"code":-32602,"message":"bad","data":"free text"}"#).unwrap();
        assert_eq!(parsed.to_api_error().kind(), ErrorKind::InvalidInput);
        let parsed: RpcError = serde_json::from_str(r#"{"code":7,"message":"?"}"#).unwrap();
        assert_eq!(parsed.kind(), ErrorKind::Other);
    }

    #[test]
    fn an_unknown_kind_reads_as_other() {
        let parsed: RpcError = serde_json::from_str(
            r#"{"code":-32000,"message":"new","data":{"kind":"quota_exceeded","retryable":false}}"#,
        )
        .unwrap();
        assert_eq!(parsed.kind(), ErrorKind::Other);
    }

    #[test]
    fn a_nonsense_retry_after_is_dropped_not_a_panic() {
        let parsed: RpcError = serde_json::from_str(
            r#"{"code":-32000,"message":"m","data":{"kind":"rate_limited","retry_after_seconds":-3}}"#,
        )
        .unwrap();
        assert_eq!(parsed.to_api_error().retry_after(), None);
    }

    #[test]
    fn constructors_pin_code_and_kind() {
        let cases = [
            (RpcError::parse_error("x"), -32700, "other"),
            (RpcError::invalid_request("x"), -32600, "other"),
            (RpcError::method_not_found("x"), -32601, "unsupported"),
            (RpcError::invalid_params("x"), -32602, "invalid_input"),
            (RpcError::internal("x"), -32603, "other"),
            (RpcError::not_ready("x"), -32002, "other"),
            (RpcError::shutting_down("x"), -32003, "other"),
            (RpcError::cancelled("x"), -32004, "cancelled"),
        ];
        for (error, code, kind) in cases {
            assert_eq!(error.code, code);
            assert_eq!(error.kind().as_str(), kind);
            assert!(
                (codes::AIDO_RANGE_START..=codes::AIDO_RANGE_END).contains(&error.code)
                    || error.code <= -32600
            );
        }
    }

    #[test]
    fn serde_messages_never_quote_values() {
        #[derive(Debug, Deserialize)]
        #[allow(dead_code)]
        struct Port {
            port: u16,
        }
        let err = serde_json::from_str::<Port>(r#"{"port":"sk-secret"}"#).unwrap_err();
        let text = describe_serde_error(&err);
        assert!(!text.contains("sk-secret"), "{text}");
        assert!(text.contains("expected u16"), "{text}");
    }
}
