//! JSON-RPC 2.0 envelopes: requests, notifications, responses, and the
//! reading of one line into one of them.
//!
//! Every message is one JSON object on one line. Batches (JSON arrays) are
//! not used by this protocol and are answered as invalid requests. Members
//! a receiver does not know are ignored, which is how minor versions add.

use std::fmt;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};

use crate::error::{RpcError, describe_serde_error};

/// The `"jsonrpc": "2.0"` member every message carries; any other value is
/// refused when reading.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct TwoPointZero;

impl Serialize for TwoPointZero {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str("2.0")
    }
}

impl<'de> Deserialize<'de> for TwoPointZero {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        if text == "2.0" {
            Ok(TwoPointZero)
        } else {
            Err(serde::de::Error::custom(
                "`jsonrpc` must be \"2.0\" (JSON-RPC 2.0)",
            ))
        }
    }
}

/// A request's identifier, chosen by its sender: an integer or a string.
/// The answer carries the same identifier.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(untagged)]
pub enum RequestId {
    /// An integer (aido's host uses 1, 2, 3, ...).
    Number(i64),
    /// A string.
    String(String),
}

impl RequestId {
    fn to_value(&self) -> Value {
        match self {
            RequestId::Number(number) => Value::from(*number),
            RequestId::String(text) => Value::from(text.as_str()),
        }
    }
}

impl From<i64> for RequestId {
    fn from(number: i64) -> Self {
        RequestId::Number(number)
    }
}

impl From<&str> for RequestId {
    fn from(text: &str) -> Self {
        RequestId::String(text.to_owned())
    }
}

impl From<String> for RequestId {
    fn from(text: String) -> Self {
        RequestId::String(text)
    }
}

impl fmt::Display for RequestId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RequestId::Number(number) => write!(f, "{number}"),
            RequestId::String(text) => write!(f, "{text:?}"),
        }
    }
}

/// A call that expects an answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Request {
    /// Always `"2.0"`.
    pub jsonrpc: TwoPointZero,
    /// Repeated in the answer.
    pub id: RequestId,
    /// What to do: `initialize`, `task_management.get_task`, ...
    pub method: String,
    /// Named parameters (a JSON object); absent when there are none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub params: Option<Value>,
}

impl Request {
    /// A request of `method` with `params` (left out of the message when
    /// `None` or JSON `null`).
    pub fn new(id: impl Into<RequestId>, method: impl Into<String>, params: Option<Value>) -> Self {
        Request {
            jsonrpc: TwoPointZero,
            id: id.into(),
            method: method.into(),
            params: params.filter(|params| !params.is_null()),
        }
    }

    /// The parameters decoded as `T`; absent parameters decode as `null`.
    /// The error is an invalid-params error that quotes no value.
    pub fn params_as<T: DeserializeOwned>(&self) -> Result<T, RpcError> {
        decode_params(&self.method, self.params.as_ref())
    }

    /// The line this request travels as (JSON and a newline).
    pub fn to_line(&self) -> String {
        let mut map = envelope();
        map.insert("id".into(), self.id.to_value());
        map.insert("method".into(), Value::from(self.method.as_str()));
        if let Some(params) = &self.params {
            map.insert("params".into(), params.clone());
        }
        line(map)
    }
}

/// A message that expects no answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Notification {
    /// Always `"2.0"`.
    pub jsonrpc: TwoPointZero,
    /// What happened or what to do: `initialized`, `$/cancel`, `log`, ...
    pub method: String,
    /// Named parameters; absent when there are none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub params: Option<Value>,
}

impl Notification {
    /// A notification of `method` with `params` (left out of the message
    /// when `None` or JSON `null`).
    pub fn new(method: impl Into<String>, params: Option<Value>) -> Self {
        Notification {
            jsonrpc: TwoPointZero,
            method: method.into(),
            params: params.filter(|params| !params.is_null()),
        }
    }

    /// The parameters decoded as `T`; absent parameters decode as `null`.
    pub fn params_as<T: DeserializeOwned>(&self) -> Result<T, RpcError> {
        decode_params(&self.method, self.params.as_ref())
    }

    /// The line this notification travels as (JSON and a newline).
    pub fn to_line(&self) -> String {
        let mut map = envelope();
        map.insert("method".into(), Value::from(self.method.as_str()));
        if let Some(params) = &self.params {
            map.insert("params".into(), params.clone());
        }
        line(map)
    }
}

fn decode_params<T: DeserializeOwned>(method: &str, params: Option<&Value>) -> Result<T, RpcError> {
    T::deserialize(params.unwrap_or(&Value::Null)).map_err(|err| {
        RpcError::invalid_params(format!(
            "the parameters of `{method}` do not fit: {}",
            describe_serde_error(&err)
        ))
    })
}

/// What a request came to: a result, or an error.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// It worked; `null` for methods that return nothing.
    Result(Value),
    /// It failed.
    Error(RpcError),
}

/// The answer to one request.
#[derive(Debug, Clone, PartialEq)]
pub struct Response {
    /// Always `"2.0"`.
    pub jsonrpc: TwoPointZero,
    /// The request's identifier; `None` (JSON `null`) only when the request
    /// was so broken that its identifier could not be read.
    pub id: Option<RequestId>,
    /// The result or the error; exactly one of the two travels.
    pub outcome: Outcome,
}

impl Response {
    /// A successful answer.
    pub fn result(id: RequestId, result: Value) -> Self {
        Response {
            jsonrpc: TwoPointZero,
            id: Some(id),
            outcome: Outcome::Result(result),
        }
    }

    /// A failed answer. `id` is `None` only for a request whose identifier
    /// could not be read.
    pub fn error(id: Option<RequestId>, error: RpcError) -> Self {
        Response {
            jsonrpc: TwoPointZero,
            id,
            outcome: Outcome::Error(error),
        }
    }

    /// The result decoded as `T`, or the error the peer sent. A result that
    /// does not fit `T` is an `invalid_response` error.
    pub fn result_as<T: DeserializeOwned>(&self) -> Result<T, RpcError> {
        match &self.outcome {
            Outcome::Result(value) => T::deserialize(value).map_err(|err| {
                RpcError::from(aido_plugin_api::Error::invalid_response(format!(
                    "the result does not fit: {}",
                    describe_serde_error(&err)
                )))
            }),
            Outcome::Error(error) => Err(error.clone()),
        }
    }

    /// The answer as JSON.
    fn to_map(&self) -> Map<String, Value> {
        let mut map = envelope();
        map.insert(
            "id".into(),
            self.id.as_ref().map_or(Value::Null, RequestId::to_value),
        );
        match &self.outcome {
            Outcome::Result(value) => {
                map.insert("result".into(), value.clone());
            }
            Outcome::Error(error) => {
                map.insert("error".into(), error_value(error));
            }
        }
        map
    }

    /// The line this answer travels as (JSON and a newline).
    pub fn to_line(&self) -> String {
        line(self.to_map())
    }
}

fn error_value(error: &RpcError) -> Value {
    let mut map = Map::new();
    map.insert("code".into(), Value::from(error.code));
    map.insert("message".into(), Value::from(error.message.as_str()));
    if let Some(data) = &error.data {
        map.insert("data".into(), data.clone());
    }
    Value::Object(map)
}

impl Serialize for Response {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.to_map().serialize(serializer)
    }
}

/// A response as read, before checking that exactly one of `result` and
/// `error` is there.
#[derive(Deserialize)]
struct RawResponse {
    jsonrpc: TwoPointZero,
    id: Option<RequestId>,
    // `Option<Value>` alone would read `"result": null` as absent.
    #[serde(default, deserialize_with = "present")]
    result: Option<Value>,
    #[serde(default)]
    error: Option<RpcError>,
}

fn present<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Value>, D::Error> {
    Value::deserialize(deserializer).map(Some)
}

impl<'de> Deserialize<'de> for Response {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = RawResponse::deserialize(deserializer)?;
        let outcome = match (raw.result, raw.error) {
            (Some(result), None) => Outcome::Result(result),
            (None, Some(error)) => Outcome::Error(error),
            _ => {
                return Err(serde::de::Error::custom(
                    "a response has exactly one of `result` and `error`",
                ));
            }
        };
        Ok(Response {
            jsonrpc: raw.jsonrpc,
            id: raw.id,
            outcome,
        })
    }
}

fn envelope() -> Map<String, Value> {
    let mut map = Map::new();
    map.insert("jsonrpc".into(), Value::from("2.0"));
    map
}

fn line(map: Map<String, Value>) -> String {
    // `Value`'s `Display` is compact JSON and cannot fail; JSON escapes
    // newlines inside strings, so the message stays on one line.
    format!("{}\n", Value::Object(map))
}

/// Any message one peer sends the other.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Message {
    /// A call that expects an answer.
    Request(Request),
    /// A message that expects none.
    Notification(Notification),
    /// An answer.
    Response(Response),
}

/// A line that is not a valid message, with what to answer.
///
/// Boxed, since it is the error of every read and is rare.
#[derive(Debug, Clone, PartialEq)]
pub struct InvalidMessage(Box<(Option<RequestId>, RpcError)>);

impl InvalidMessage {
    fn new(id: Option<RequestId>, error: RpcError) -> Self {
        InvalidMessage(Box::new((id, error)))
    }

    /// The identifier, if the line was a request whose identifier could be
    /// read.
    pub fn id(&self) -> Option<&RequestId> {
        self.0.0.as_ref()
    }

    /// A parse error or an invalid-request error.
    pub fn error(&self) -> &RpcError {
        &self.0.1
    }

    /// The answer JSON-RPC 2.0 asks for.
    pub fn response(&self) -> Response {
        Response::error(self.0.0.clone(), self.0.1.clone())
    }
}

impl fmt::Display for InvalidMessage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.error().fmt(f)
    }
}

impl std::error::Error for InvalidMessage {}

impl Message {
    /// Reads one line (without or with its newline).
    ///
    /// A message with `method` and `id` is a request, with `method` alone a
    /// notification, with `result` or `error` a response.
    pub fn parse(line: &str) -> Result<Message, InvalidMessage> {
        let value: Value = serde_json::from_str(line).map_err(|err| {
            InvalidMessage::new(
                None,
                RpcError::parse_error(format!("the line is not JSON: {err}")),
            )
        })?;
        Message::from_value(value)
    }

    /// Reads one message already parsed as JSON.
    pub fn from_value(value: Value) -> Result<Message, InvalidMessage> {
        let invalid = |id: Option<RequestId>, message: String| {
            InvalidMessage::new(id, RpcError::invalid_request(message))
        };
        let Value::Object(object) = &value else {
            return Err(invalid(
                None,
                "a message is one JSON object (batches are not used)".to_owned(),
            ));
        };
        let id = object
            .get("id")
            .and_then(|id| RequestId::deserialize(id).ok());
        let decode_error = |err: serde_json::Error| {
            format!("not a JSON-RPC 2.0 message: {}", describe_serde_error(&err))
        };
        if object.contains_key("method") {
            if object.get("id").is_some_and(|id| !id.is_null()) {
                if id.is_none() {
                    return Err(invalid(
                        None,
                        "a request's `id` is an integer or a string".to_owned(),
                    ));
                }
                Request::deserialize(&value)
                    .map(Message::Request)
                    .map_err(|err| invalid(id, decode_error(err)))
            } else {
                Notification::deserialize(&value)
                    .map(Message::Notification)
                    .map_err(|err| invalid(None, decode_error(err)))
            }
        } else if object.contains_key("result") || object.contains_key("error") {
            Response::deserialize(&value)
                .map(Message::Response)
                .map_err(|err| invalid(None, decode_error(err)))
        } else {
            Err(invalid(
                id,
                "a message has a `method` (request, notification) or a `result` or `error` (response)"
                    .to_owned(),
            ))
        }
    }

    /// The line this message travels as (JSON and a newline).
    pub fn to_line(&self) -> String {
        match self {
            Message::Request(request) => request.to_line(),
            Message::Notification(notification) => notification.to_line(),
            Message::Response(response) => response.to_line(),
        }
    }
}

impl From<Request> for Message {
    fn from(request: Request) -> Self {
        Message::Request(request)
    }
}

impl From<Notification> for Message {
    fn from(notification: Notification) -> Self {
        Message::Notification(notification)
    }
}

impl From<Response> for Message {
    fn from(response: Response) -> Self {
        Message::Response(response)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// Checks that `message` travels as exactly `line` and reads back as
    /// itself.
    fn pin(message: Message, line: &str) {
        assert_eq!(message.to_line(), format!("{line}\n"));
        assert_eq!(serde_json::to_string(&message).unwrap(), line);
        assert_eq!(Message::parse(line).unwrap(), message);
    }

    #[test]
    fn requests_travel_with_id_method_and_params() {
        pin(
            Request::new(
                1,
                "task_management.get_task",
                Some(json!({"task_id": "X-1"})),
            )
            .into(),
            r#"{"jsonrpc":"2.0","id":1,"method":"task_management.get_task","params":{"task_id":"X-1"}}"#,
        );
        pin(
            Request::new("a", "shutdown", None).into(),
            r#"{"jsonrpc":"2.0","id":"a","method":"shutdown"}"#,
        );
        // `null` parameters are the same as none.
        assert_eq!(
            Request::new(2, "shutdown", Some(Value::Null)).to_line(),
            "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"shutdown\"}\n"
        );
    }

    #[test]
    fn notifications_have_no_id() {
        pin(
            Notification::new("initialized", None).into(),
            r#"{"jsonrpc":"2.0","method":"initialized"}"#,
        );
        pin(
            Notification::new("$/cancel", Some(json!({"id": 4}))).into(),
            r#"{"jsonrpc":"2.0","method":"$/cancel","params":{"id":4}}"#,
        );
        // An explicit `"id": null` is a notification too.
        assert!(matches!(
            Message::parse(r#"{"jsonrpc":"2.0","id":null,"method":"exit"}"#),
            Ok(Message::Notification(_))
        ));
    }

    #[test]
    fn responses_carry_exactly_one_of_result_and_error() {
        pin(
            Response::result(RequestId::Number(1), json!({"ok": true})).into(),
            r#"{"jsonrpc":"2.0","id":1,"result":{"ok":true}}"#,
        );
        pin(
            Response::result(RequestId::Number(2), Value::Null).into(),
            r#"{"jsonrpc":"2.0","id":2,"result":null}"#,
        );
        pin(
            Response::error(
                Some(RequestId::Number(3)),
                RpcError::method_not_found("no such method `x.y`"),
            )
            .into(),
            r#"{"jsonrpc":"2.0","id":3,"error":{"code":-32601,"message":"no such method `x.y`","data":{"kind":"unsupported","retryable":false}}}"#,
        );
        pin(
            Response::error(None, RpcError::parse_error("bad")).into(),
            r#"{"jsonrpc":"2.0","id":null,"error":{"code":-32700,"message":"bad","data":{"kind":"other","retryable":false}}}"#,
        );
        let both = r#"{"jsonrpc":"2.0","id":1,"result":1,"error":{"code":1,"message":"m"}}"#;
        assert_eq!(
            Message::parse(both).unwrap_err().error().code,
            crate::codes::INVALID_REQUEST
        );
    }

    #[test]
    fn broken_lines_get_the_standard_errors() {
        let err = Message::parse("{not json").unwrap_err();
        assert_eq!(err.error().code, crate::codes::PARSE_ERROR);
        assert_eq!(err.id(), None);

        let err = Message::parse("[]").unwrap_err();
        assert_eq!(err.error().code, crate::codes::INVALID_REQUEST);

        let err = Message::parse(r#"{"jsonrpc":"1.0","id":9,"method":"m"}"#).unwrap_err();
        assert_eq!(err.error().code, crate::codes::INVALID_REQUEST);
        assert_eq!(
            err.id(),
            Some(&RequestId::Number(9)),
            "the answer can name it"
        );
        assert_eq!(
            err.response().to_line(),
            "{\"jsonrpc\":\"2.0\",\"id\":9,\"error\":{\"code\":-32600,\"message\":\"not a JSON-RPC 2.0 message: `jsonrpc` must be \\\"2.0\\\" (JSON-RPC 2.0)\",\"data\":{\"kind\":\"other\",\"retryable\":false}}}\n"
        );

        let err = Message::parse(r#"{"jsonrpc":"2.0","id":1.5,"method":"m"}"#).unwrap_err();
        assert_eq!(err.error().code, crate::codes::INVALID_REQUEST);

        let err = Message::parse(r#"{"jsonrpc":"2.0","id":1}"#).unwrap_err();
        assert_eq!(err.id(), Some(&RequestId::Number(1)));
    }

    #[test]
    fn unknown_members_are_ignored() {
        let message =
            Message::parse(r#"{"jsonrpc":"2.0","id":1,"method":"m","trace":"abc"}"#).unwrap();
        assert_eq!(message, Request::new(1, "m", None).into());
    }

    #[test]
    fn params_decode_without_quoting_values() {
        #[derive(Debug, Deserialize)]
        #[allow(dead_code)]
        struct Port {
            port: u16,
        }
        let request = Request::new(1, "m", Some(json!({"port": "hunter2"})));
        let err = request.params_as::<Port>().unwrap_err();
        assert_eq!(err.code, crate::codes::INVALID_PARAMS);
        assert!(!err.message.contains("hunter2"), "{}", err.message);
        assert!(err.message.starts_with("the parameters of `m` do not fit"));
    }

    #[test]
    fn a_result_that_does_not_fit_is_an_invalid_response() {
        let response = Response::result(RequestId::Number(1), json!("text"));
        let err = response.result_as::<u32>().unwrap_err();
        assert_eq!(err.kind(), aido_plugin_api::ErrorKind::InvalidResponse);
        let response = Response::error(Some(1.into()), RpcError::cancelled("stop"));
        assert_eq!(response.result_as::<u32>().unwrap_err().code, -32004);
    }

    #[test]
    fn lines_never_contain_a_newline_before_the_end() {
        let request = Request::new(1, "m", Some(json!({"text": "a\nb"})));
        let line = request.to_line();
        assert_eq!(line.matches('\n').count(), 1);
        assert!(line.ends_with('\n'));
        assert_eq!(Message::parse(&line).unwrap(), request.into());
    }
}
