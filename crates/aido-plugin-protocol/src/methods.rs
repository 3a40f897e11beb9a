//! The lifecycle methods by name, each tied to its parameter and result
//! types, so a request cannot be built or read with the wrong ones.
//!
//! ```
//! use aido_plugin_protocol::methods::{HealthCheck, RequestMethod};
//! use aido_plugin_protocol::{NoParams, Response};
//!
//! let request = HealthCheck::request(3, &NoParams).unwrap();
//! assert_eq!(request.to_line(), "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"plugin.health_check\"}\n");
//!
//! let answer = aido_plugin_protocol::Message::parse(
//!     r#"{"jsonrpc":"2.0","id":3,"result":{"status":"healthy"}}"#,
//! ).unwrap();
//! let aido_plugin_protocol::Message::Response(answer) = answer else { unreachable!() };
//! assert_eq!(HealthCheck::decode_result(&answer).unwrap(), aido_plugin_api::Health::Healthy);
//! ```
//!
//! The kind methods (`task_management.get_task`, ...) come from the action
//! catalog instead; see [`crate::action`].

use aido_plugin_api::Health;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::error::RpcError;
use crate::jsonrpc::{Notification, Request, RequestId, Response};
use crate::messages::{
    CancelParams, ConnectParams, InitializeParams, InitializeResult, LogParams, NoParams,
    ValidateConfigParams, ValidateConfigResult,
};

/// A method that expects an answer.
pub trait RequestMethod {
    /// Its name on the wire.
    const METHOD: &'static str;
    /// What it takes.
    type Params: Serialize + DeserializeOwned;
    /// What it answers.
    type Result: Serialize + DeserializeOwned;

    /// A request of this method.
    fn request(id: impl Into<RequestId>, params: &Self::Params) -> Result<Request, RpcError> {
        Ok(Request::new(id, Self::METHOD, Some(encode(params)?)))
    }

    /// The parameters of `request`, which must be of this method.
    fn decode_params(request: &Request) -> Result<Self::Params, RpcError> {
        if request.method != Self::METHOD {
            return Err(RpcError::internal(format!(
                "`{}` read as `{}`",
                request.method,
                Self::METHOD
            )));
        }
        request.params_as()
    }

    /// A successful answer to the request `id`.
    fn response(id: RequestId, result: &Self::Result) -> Result<Response, RpcError> {
        Ok(Response::result(id, encode(result)?))
    }

    /// The result in `response`, or the error it carries.
    fn decode_result(response: &Response) -> Result<Self::Result, RpcError> {
        response.result_as()
    }
}

/// A method that expects no answer.
pub trait NotificationMethod {
    /// Its name on the wire.
    const METHOD: &'static str;
    /// What it takes.
    type Params: Serialize + DeserializeOwned;

    /// A notification of this method.
    fn notification(params: &Self::Params) -> Result<Notification, RpcError> {
        Ok(Notification::new(Self::METHOD, Some(encode(params)?)))
    }

    /// The parameters of `notification`, which must be of this method.
    fn decode_params(notification: &Notification) -> Result<Self::Params, RpcError> {
        if notification.method != Self::METHOD {
            return Err(RpcError::internal(format!(
                "`{}` read as `{}`",
                notification.method,
                Self::METHOD
            )));
        }
        notification.params_as()
    }
}

/// `value` as JSON. Only a map with non-string keys can fail, which none
/// of this crate's types has; the error is still reported, not a panic.
fn encode<T: Serialize>(value: &T) -> Result<Value, RpcError> {
    serde_json::to_value(value)
        .map_err(|err| RpcError::internal(format!("a message could not be encoded: {err}")))
}

macro_rules! request_method {
    ($(#[doc = $doc:literal])* $Name:ident, $method:literal, $Params:ty, $Result:ty) => {
        $(#[doc = $doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub struct $Name;

        impl RequestMethod for $Name {
            const METHOD: &'static str = $method;
            type Params = $Params;
            type Result = $Result;
        }
    };
}

macro_rules! notification_method {
    ($(#[doc = $doc:literal])* $Name:ident, $method:literal, $Params:ty) => {
        $(#[doc = $doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub struct $Name;

        impl NotificationMethod for $Name {
            const METHOD: &'static str = $method;
            type Params = $Params;
        }
    };
}

request_method! {
    /// `initialize` (host → plugin): the handshake, the host's first message.
    Initialize, "initialize", InitializeParams, InitializeResult
}
notification_method! {
    /// `initialized` (host → plugin): the host accepted the handshake.
    Initialized, "initialized", NoParams
}
request_method! {
    /// `plugin.validate_config` (host → plugin): checks beyond the schema.
    ValidateConfig, "plugin.validate_config", ValidateConfigParams, ValidateConfigResult
}
request_method! {
    /// `plugin.connect` (host → plugin): take the configuration and secrets,
    /// get ready for calls. Answers `null`.
    Connect, "plugin.connect", ConnectParams, ()
}
request_method! {
    /// `plugin.health_check` (host → plugin): whether the plugin can work.
    HealthCheck, "plugin.health_check", NoParams, Health
}
request_method! {
    /// `plugin.disconnect` (host → plugin): release what `plugin.connect`
    /// took. Answers `null`.
    Disconnect, "plugin.disconnect", NoParams, ()
}
request_method! {
    /// `shutdown` (host → plugin): stop taking requests; `exit` follows.
    /// Answers `null`.
    Shutdown, "shutdown", NoParams, ()
}
notification_method! {
    /// `exit` (host → plugin): exit now.
    Exit, "exit", NoParams
}
notification_method! {
    /// `$/cancel` (host → plugin): give up the request named; it is still
    /// answered, with a result or a `cancelled` error.
    Cancel, "$/cancel", CancelParams
}
notification_method! {
    /// `log` (plugin → host): a line of the plugin's log.
    Log, "log", LogParams
}

/// The names of every lifecycle method, for dispatching on a request's
/// `method` before decoding.
pub const LIFECYCLE_METHODS: &[&str] = &[
    Initialize::METHOD,
    Initialized::METHOD,
    ValidateConfig::METHOD,
    Connect::METHOD,
    HealthCheck::METHOD,
    Disconnect::METHOD,
    Shutdown::METHOD,
    Exit::METHOD,
    Cancel::METHOD,
    Log::METHOD,
];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jsonrpc::Message;
    use crate::messages::HostInfo;
    use crate::version::ProtocolVersion;
    use serde_json::json;

    #[test]
    fn every_lifecycle_message_travels_as_pinned() {
        let initialize = Initialize::request(
            1,
            &InitializeParams {
                protocol_versions: vec![ProtocolVersion::CURRENT],
                host: HostInfo {
                    name: "aido".into(),
                    version: "0.1.0".into(),
                },
                parent_pid: None,
                features: vec![],
            },
        )
        .unwrap();
        let cases: Vec<(Message, &str)> = vec![
            (
                initialize.into(),
                r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocol_versions":["1.0"],"host":{"name":"aido","version":"0.1.0"}}}"#,
            ),
            (
                Initialized::notification(&NoParams).unwrap().into(),
                r#"{"jsonrpc":"2.0","method":"initialized"}"#,
            ),
            (
                HealthCheck::request(2, &NoParams).unwrap().into(),
                r#"{"jsonrpc":"2.0","id":2,"method":"plugin.health_check"}"#,
            ),
            (
                Disconnect::request(3, &NoParams).unwrap().into(),
                r#"{"jsonrpc":"2.0","id":3,"method":"plugin.disconnect"}"#,
            ),
            (
                Shutdown::request(4, &NoParams).unwrap().into(),
                r#"{"jsonrpc":"2.0","id":4,"method":"shutdown"}"#,
            ),
            (
                Shutdown::response(RequestId::Number(4), &())
                    .unwrap()
                    .into(),
                r#"{"jsonrpc":"2.0","id":4,"result":null}"#,
            ),
            (
                Exit::notification(&NoParams).unwrap().into(),
                r#"{"jsonrpc":"2.0","method":"exit"}"#,
            ),
            (
                Cancel::notification(&CancelParams { id: 9.into() })
                    .unwrap()
                    .into(),
                r#"{"jsonrpc":"2.0","method":"$/cancel","params":{"id":9}}"#,
            ),
            (
                Log::notification(&LogParams {
                    level: crate::LogLevel::Info,
                    message: "connected".into(),
                    target: None,
                })
                .unwrap()
                .into(),
                r#"{"jsonrpc":"2.0","method":"log","params":{"level":"info","message":"connected"}}"#,
            ),
        ];
        for (message, line) in cases {
            assert_eq!(message.to_line().trim_end(), line);
            assert_eq!(Message::parse(line).unwrap(), message);
        }
    }

    #[test]
    fn typed_reading_checks_the_method() {
        let request = Request::new(1, "shutdown", None);
        assert!(Shutdown::decode_params(&request).is_ok());
        let err = HealthCheck::decode_params(&request).unwrap_err();
        assert_eq!(err.code, crate::codes::INTERNAL_ERROR);
    }

    #[test]
    fn connect_reads_its_params() {
        let request = Request::new(
            5,
            "plugin.connect",
            Some(json!({"config": {"project": "DEMO"}, "secrets": {"TOKEN": "t"}})),
        );
        let params = Connect::decode_params(&request).unwrap();
        assert_eq!(params.secrets["TOKEN"].expose(), "t");
        let bad = Request::new(5, "plugin.connect", Some(json!({"secrets": {}})));
        let err = Connect::decode_params(&bad).unwrap_err();
        assert_eq!(err.code, crate::codes::INVALID_PARAMS);
        assert!(
            err.message.contains("missing field `config`"),
            "{}",
            err.message
        );
    }

    #[test]
    fn lifecycle_names_are_unique_and_not_kind_methods() {
        let mut names = LIFECYCLE_METHODS.to_vec();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), LIFECYCLE_METHODS.len());
        for spec in aido_plugin_api::catalog::actions() {
            assert!(!LIFECYCLE_METHODS.contains(&spec.method().as_str()));
        }
    }
}
