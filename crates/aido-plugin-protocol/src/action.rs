//! Kind methods: `<kind>.<action>` from the action catalog, their named
//! parameters, and the `_meta` object that carries the call's context.
//!
//! A kind method's parameters are the action's input object, exactly as
//! the catalog's input schema describes it, plus one reserved member,
//! `_meta`, holding where the call comes from:
//!
//! ```json
//! {"task_id": "X-1", "_meta": {"run_id": "r-7", "step": "fetch", "idempotency_key": "aido:r-7:fetch", "timeout_seconds": 30}}
//! ```
//!
//! No catalog input has a parameter starting with `_`, so `_meta` cannot
//! clash with one; a plugin removes it before checking the input.

use std::time::Duration;

use aido_plugin_api::catalog::{ActionSpec, actions_of, find_action};
use aido_plugin_api::{CallContext, PluginKind};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};

use crate::error::{RpcError, describe_serde_error};
use crate::jsonrpc::{Request, RequestId};

/// The member of a kind method's parameters that carries [`CallMeta`].
pub const META_KEY: &str = "_meta";

/// A kind method: an action of the catalog, named `<kind>.<action>` on the
/// wire.
#[derive(Debug, Clone, Copy)]
pub struct ActionMethod {
    kind: PluginKind,
    spec: &'static ActionSpec,
}

impl ActionMethod {
    /// The method for `action` of `kind`, if the catalog has it.
    pub fn new(kind: PluginKind, action: &str) -> Option<ActionMethod> {
        find_action(kind, action).map(|spec| ActionMethod { kind, spec })
    }

    /// Reads a method name. The error is a method-not-found error that says
    /// what would have been right.
    pub fn parse(method: &str) -> Result<ActionMethod, RpcError> {
        let Some((kind_name, action)) = method.split_once('.') else {
            return Err(RpcError::method_not_found(format!(
                "no method `{method}`; kind methods are named <kind>.<action>"
            )));
        };
        let Some(kind) = PluginKind::from_name(kind_name) else {
            let kinds: Vec<&str> = PluginKind::ALL.iter().map(|kind| kind.as_str()).collect();
            return Err(RpcError::method_not_found(format!(
                "no method `{method}`: `{kind_name}` is not a plugin kind; the kinds are {}",
                kinds.join(", ")
            )));
        };
        ActionMethod::new(kind, action).ok_or_else(|| {
            let actions: Vec<&str> = actions_of(kind).map(|spec| spec.name).collect();
            RpcError::method_not_found(format!(
                "no method `{method}`: the actions of kind {kind} are {}",
                actions.join(", ")
            ))
        })
    }

    /// The kind.
    pub fn kind(&self) -> PluginKind {
        self.kind
    }

    /// The action's catalog entry (description, effect, schemas).
    pub fn spec(&self) -> &'static ActionSpec {
        self.spec
    }

    /// The name on the wire, `<kind>.<action>`.
    pub fn name(&self) -> String {
        self.spec.method()
    }

    /// A request calling this action with `params`.
    pub fn request(&self, id: impl Into<RequestId>, params: &ActionParams) -> Request {
        Request::new(id, self.name(), Some(params.to_value()))
    }
}

/// Where a call comes from: the `_meta` member of a kind method's
/// parameters. Every field is optional and left out when absent.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CallMeta {
    /// The run making the call.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_id: Option<String>,
    /// The workflow step making the call.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step: Option<String>,
    /// For side-effecting actions: stays the same when the same step is
    /// tried again, even after a crash. A plugin that finds an effect made
    /// under this key returns it instead of making it twice.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idempotency_key: Option<String>,
    /// How long the host will wait for the answer, in seconds; after that
    /// it sends `$/cancel`. A plugin may use it to give up early.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_seconds: Option<f64>,
}

impl CallMeta {
    /// The meta of a call made in `cx`.
    pub fn from_context(cx: &CallContext) -> Self {
        CallMeta {
            run_id: cx.run_id.clone(),
            step: cx.step.clone(),
            idempotency_key: cx.idempotency_key.clone(),
            timeout_seconds: None,
        }
    }

    /// Adds the host's deadline for the call.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout_seconds = Some(timeout.as_secs_f64());
        self
    }

    /// The context a plugin written against `aido-plugin-api` receives.
    pub fn to_context(&self) -> CallContext {
        CallContext {
            run_id: self.run_id.clone(),
            step: self.step.clone(),
            idempotency_key: self.idempotency_key.clone(),
        }
    }

    /// The host's deadline, if it sent a sensible one.
    pub fn timeout(&self) -> Option<Duration> {
        self.timeout_seconds
            .and_then(|seconds| Duration::try_from_secs_f64(seconds).ok())
    }

    /// Whether no field is set (then `_meta` is left out).
    pub fn is_empty(&self) -> bool {
        *self == CallMeta::default()
    }

    fn to_value(&self) -> Value {
        let mut map = Map::new();
        let strings = [
            ("run_id", &self.run_id),
            ("step", &self.step),
            ("idempotency_key", &self.idempotency_key),
        ];
        for (key, value) in strings {
            if let Some(value) = value {
                map.insert(key.into(), Value::from(value.as_str()));
            }
        }
        if let Some(number) = self.timeout_seconds.and_then(serde_json::Number::from_f64) {
            map.insert("timeout_seconds".into(), Value::Number(number));
        }
        Value::Object(map)
    }
}

/// A kind method's parameters: the action's input plus [`CallMeta`].
#[derive(Debug, Clone, PartialEq)]
pub struct ActionParams {
    input: Map<String, Value>,
    meta: CallMeta,
}

impl ActionParams {
    /// Parameters from an action's input, which must be a JSON object (or
    /// `null`, for no parameters) without a `_meta` member of its own.
    pub fn new(input: Value, meta: CallMeta) -> Result<Self, RpcError> {
        let input = match input {
            Value::Object(map) => map,
            Value::Null => Map::new(),
            _ => {
                return Err(RpcError::invalid_params(
                    "an action's input is a JSON object of named parameters",
                ));
            }
        };
        if input.contains_key(META_KEY) {
            return Err(RpcError::invalid_params(format!(
                "`{META_KEY}` is reserved for the call's context"
            )));
        }
        Ok(ActionParams { input, meta })
    }

    /// The action's input, as the catalog's input schema describes it.
    pub fn input(&self) -> &Map<String, Value> {
        &self.input
    }

    /// The call's context.
    pub fn meta(&self) -> &CallMeta {
        &self.meta
    }

    /// Splits into the input (as a JSON object) and the context, for
    /// [`aido_plugin_api::PluginInstance::call`].
    pub fn into_parts(self) -> (Value, CallMeta) {
        (Value::Object(self.input), self.meta)
    }

    /// The parameters as they travel: the input's members, then `_meta`
    /// unless it is empty.
    pub fn to_value(&self) -> Value {
        let mut map = self.input.clone();
        if !self.meta.is_empty() {
            map.insert(META_KEY.into(), self.meta.to_value());
        }
        Value::Object(map)
    }
}

impl Serialize for ActionParams {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.to_value().serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for ActionParams {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        use serde::de::Error as _;
        let mut input = match Option::<Value>::deserialize(deserializer)? {
            None | Some(Value::Null) => Map::new(),
            Some(Value::Object(map)) => map,
            Some(_) => {
                return Err(D::Error::custom(
                    "an action's parameters are a JSON object of named parameters",
                ));
            }
        };
        let meta = match input.remove(META_KEY) {
            None | Some(Value::Null) => CallMeta::default(),
            Some(meta) => CallMeta::deserialize(&meta).map_err(|err| {
                D::Error::custom(format!("`{META_KEY}`: {}", describe_serde_error(&err)))
            })?,
        };
        Ok(ActionParams { input, meta })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn method_names_come_from_the_catalog() {
        let method = ActionMethod::parse("task_management.get_task").unwrap();
        assert_eq!(method.kind(), PluginKind::TaskManagement);
        assert_eq!(method.spec().name, "get_task");
        assert_eq!(method.name(), "task_management.get_task");
    }

    #[test]
    fn unknown_methods_say_what_exists() {
        let err = ActionMethod::parse("tasks.get_task").unwrap_err();
        assert_eq!(err.code, crate::codes::METHOD_NOT_FOUND);
        assert!(
            err.message
                .contains("the kinds are task_management, version_control")
        );
        let err = ActionMethod::parse("monitoring.fly").unwrap_err();
        assert_eq!(
            err.message,
            "no method `monitoring.fly`: the actions of kind monitoring are record_metric, record_event, report_error, flush, export_metrics"
        );
        assert!(ActionMethod::parse("get_task").is_err());
    }

    #[test]
    fn a_call_travels_with_its_meta() {
        let cx = CallContext {
            run_id: Some("r-7".into()),
            step: Some("comment".into()),
            idempotency_key: Some("aido:r-7:comment".into()),
        };
        let params = ActionParams::new(
            json!({"task_id": "X-1", "body": "Started"}),
            CallMeta::from_context(&cx).with_timeout(Duration::from_secs(30)),
        )
        .unwrap();
        let method = ActionMethod::parse("task_management.add_comment").unwrap();
        let request = method.request(12, &params);
        assert_eq!(
            request.to_line().trim_end(),
            r#"{"jsonrpc":"2.0","id":12,"method":"task_management.add_comment","params":{"task_id":"X-1","body":"Started","_meta":{"run_id":"r-7","step":"comment","idempotency_key":"aido:r-7:comment","timeout_seconds":30.0}}}"#
        );
        let read: ActionParams = request.params_as().unwrap();
        assert_eq!(read, params);
        let (input, meta) = read.into_parts();
        assert_eq!(input, json!({"task_id": "X-1", "body": "Started"}));
        let back = meta.to_context();
        assert_eq!(back.idempotency_key.as_deref(), Some("aido:r-7:comment"));
        assert_eq!(meta.timeout(), Some(Duration::from_secs(30)));
    }

    #[test]
    fn an_empty_meta_is_left_out() {
        let params = ActionParams::new(json!({"task_id": "X-1"}), CallMeta::default()).unwrap();
        assert_eq!(
            serde_json::to_string(&params).unwrap(),
            r#"{"task_id":"X-1"}"#
        );
        let none = Request::new(1, "monitoring.flush", None);
        let read: ActionParams = none.params_as().unwrap();
        assert!(read.input().is_empty() && read.meta().is_empty());
    }

    #[test]
    fn inputs_must_be_objects_without_their_own_meta() {
        assert!(ActionParams::new(json!([1]), CallMeta::default()).is_err());
        assert!(ActionParams::new(json!({"_meta": {}}), CallMeta::default()).is_err());
        let bad = Request::new(1, "m", Some(json!({"_meta": {"timeout_seconds": "soon"}})));
        let err = bad.params_as::<ActionParams>().unwrap_err();
        assert_eq!(err.code, crate::codes::INVALID_PARAMS);
        assert!(err.message.contains("`_meta`"), "{}", err.message);
    }

    #[test]
    fn no_catalog_parameter_starts_with_an_underscore() {
        for spec in aido_plugin_api::catalog::actions() {
            for name in spec.parameters() {
                assert!(!name.starts_with('_'), "{}: {name}", spec.method());
            }
        }
    }
}
