//! The wire format of aido's external plugins: what a host and a plugin
//! process say to each other, and the `plugin.toml` that introduces a
//! plugin. Types only.
//!
//! An external plugin is a program in any language. The host starts it,
//! writes JSON-RPC 2.0 messages to its stdin and reads answers from its
//! stdout, one JSON object per line; the plugin's stderr is its log. This
//! crate defines every message of that conversation as serde types and
//! explicitly avoids anything that does I/O: spawning, reading lines,
//! timeouts and restarts belong to the host (in `aido-core`), so that the
//! format can be tested, documented and reused on its own. The full
//! specification, written for plugin authors, is `docs/plugin-protocol.md`.
//!
//! # The principal types
//!
//! - [`Message`] is any line: a [`Request`] (has an `id`, expects a
//!   [`Response`]), a [`Notification`] (no `id`, no answer) or a
//!   [`Response`] (a result or an [`RpcError`]). [`Message::parse`] reads a
//!   line and says which error to answer when it is broken.
//! - [`methods`] ties each lifecycle method (`initialize`, `plugin.connect`,
//!   `shutdown`, `$/cancel`, `log`, ...) to its parameter and result types:
//!   [`InitializeParams`], [`InitializeResult`] and [`PluginInfo`],
//!   [`ConnectParams`], [`ValidateConfigResult`], [`CancelParams`],
//!   [`LogParams`].
//! - [`ActionMethod`] and [`ActionParams`] are the kind methods, named
//!   `<kind>.<action>` after the action catalog of `aido-plugin-api`, whose
//!   parameters are the action's input plus a `_meta` object ([`CallMeta`]:
//!   run, step, idempotency key, timeout).
//! - [`RpcError`] carries aido's error taxonomy in `data` ([`ErrorData`]);
//!   it converts to and from [`aido_plugin_api::Error`] keeping kind,
//!   message and retry-after. [`codes`] lists the codes.
//! - [`ProtocolVersion`] is `MAJOR.MINOR`: majors must match, minors only
//!   add; [`ProtocolVersion::negotiate`] settles the handshake.
//! - [`manifest::Manifest`] is a checked `plugin.toml`; reading one reports
//!   every problem at once, with lines.
//!
//! # An exchange
//!
//! The host starts the plugin and introduces itself; the plugin answers
//! with what it is; the host confirms, configures it and calls it. Here
//! both sides are played with this crate's types (`→` is host to plugin):
//!
//! ```
//! use aido_plugin_protocol::methods::{Initialize, Initialized, NotificationMethod, RequestMethod};
//! use aido_plugin_protocol::*;
//! use aido_plugin_api::PluginKind;
//!
//! // → initialize
//! let hello = Initialize::request(1, &InitializeParams {
//!     protocol_versions: vec![ProtocolVersion::CURRENT],
//!     host: HostInfo { name: "aido".into(), version: "0.1.0".into() },
//!     parent_pid: Some(4242),
//!     features: vec![],
//! }).unwrap();
//! assert_eq!(hello.to_line(), concat!(
//!     r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocol_versions":["1.0"],"#,
//!     r#""host":{"name":"aido","version":"0.1.0"},"parent_pid":4242}}"#, "\n"));
//!
//! // ← the plugin's answer, as a Python plugin would write it.
//! let answer = Message::parse(concat!(
//!     r#"{"jsonrpc":"2.0","id":1,"result":{"protocol_version":"1.0","plugin":{"#,
//!     r#""name":"memory-tasks","version":"0.1.0","description":"Tasks kept in memory.","#,
//!     r#""kinds":["task_management"],"methods":["task_management.get_task"],"#,
//!     r#""required_config":["project"],"config_schema":{"type":"object"}}}}"#,
//! )).unwrap();
//! let Message::Response(answer) = answer else { panic!("a response") };
//! let info = Initialize::decode_result(&answer).unwrap();
//! assert!(info.protocol_version.is_within(&[ProtocolVersion::CURRENT]));
//! assert!(info.plugin.implements(PluginKind::TaskManagement, "get_task"));
//!
//! // → initialized, then (after plugin.connect) a call with its context.
//! let ready = Initialized::notification(&NoParams).unwrap();
//! assert_eq!(ready.to_line(), "{\"jsonrpc\":\"2.0\",\"method\":\"initialized\"}\n");
//! let meta = CallMeta { idempotency_key: Some("aido:r-1:fetch".into()), ..CallMeta::default() };
//! let params = ActionParams::new(serde_json::json!({"task_id": "X-1"}), meta).unwrap();
//! let call = ActionMethod::parse("task_management.get_task").unwrap().request(2, &params);
//! assert_eq!(call.to_line(), concat!(
//!     r#"{"jsonrpc":"2.0","id":2,"method":"task_management.get_task","#,
//!     r#""params":{"task_id":"X-1","_meta":{"idempotency_key":"aido:r-1:fetch"}}}"#, "\n"));
//!
//! // ← the task does not exist: the error keeps aido's taxonomy.
//! let failed = Message::parse(concat!(
//!     r#"{"jsonrpc":"2.0","id":2,"error":{"code":-32000,"message":"no task X-1","#,
//!     r#""data":{"kind":"not_found","retryable":false}}}"#,
//! )).unwrap();
//! let Message::Response(failed) = failed else { panic!("a response") };
//! let Outcome::Error(error) = failed.outcome else { panic!("an error") };
//! let error = error.to_api_error().in_call("memory-tasks", "get_task");
//! assert_eq!(error.to_string(), "memory-tasks: get_task: not found: no task X-1");
//! ```
//!
//! # Compatibility
//!
//! Receivers ignore members they do not know, and senders leave out
//! optional members they have no value for; that is how a minor version
//! adds without breaking older peers. Changing or removing anything is a
//! new major version.

#![deny(missing_docs)]

pub mod action;
mod error;
mod jsonrpc;
pub mod manifest;
mod messages;
pub mod methods;
mod version;

pub use action::{ActionMethod, ActionParams, CallMeta, META_KEY};
pub use error::{ErrorData, RpcError, codes};
pub use jsonrpc::{
    InvalidMessage, Message, Notification, Outcome, Request, RequestId, Response, TwoPointZero,
};
pub use messages::{
    CancelParams, ConfigContext, ConnectParams, HostInfo, InitializeParams, InitializeResult,
    LogLevel, LogParams, NoParams, PluginInfo, SecretValue, ValidateConfigParams,
    ValidateConfigResult, env_prefix,
};
pub use version::{ParseVersionError, ProtocolVersion, SUPPORTED_VERSIONS, VersionMismatch};
