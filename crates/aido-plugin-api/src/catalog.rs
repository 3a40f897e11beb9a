//! The action catalog: every kind's methods with the JSON Schemas of their
//! inputs and outputs, and one JSON dispatcher over any plugin.
//!
//! The workflow engine, the external plugin protocol, the REST API and the
//! generated documentation all read this one catalog, so an action means the
//! same thing everywhere.

use std::sync::{Arc, LazyLock};

use schemars::JsonSchema;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::{Error, Result};
use crate::kinds::{
    self, AiProvider, Communication, Documentation, Monitoring, TaskManagement, VersionControl,
};
use crate::plugin::{CallContext, Plugin, PluginKind};

/// Whether an action changes anything outside aido.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Effect {
    /// Only reads; safe to repeat.
    Read,
    /// Changes something (creates a pull request, posts a message, spends
    /// money). The engine gives each such call an idempotency key.
    Write,
}

/// Maps the `read`/`write` words of `plugin_kind!` to [`Effect`].
macro_rules! effect {
    (read) => {
        $crate::catalog::Effect::Read
    };
    (write) => {
        $crate::catalog::Effect::Write
    };
}
pub(crate) use effect;

/// One action of one kind.
#[derive(Debug, Clone, Serialize)]
pub struct ActionSpec {
    /// The kind it belongs to.
    pub kind: PluginKind,
    /// Its name, such as `get_task`.
    pub name: &'static str,
    /// What it does.
    pub description: String,
    /// Whether it changes anything.
    pub effect: Effect,
    /// The JSON Schema of its input (an object of named parameters).
    pub input_schema: serde_json::Value,
    /// The JSON Schema of its output.
    pub output_schema: serde_json::Value,
}

impl ActionSpec {
    pub(crate) fn new<I: JsonSchema, O: JsonSchema>(
        kind: PluginKind,
        name: &'static str,
        doc: &str,
        effect: Effect,
    ) -> Self {
        let description = doc
            .lines()
            .map(str::trim)
            .collect::<Vec<_>>()
            .join(" ")
            .trim()
            .to_owned();
        ActionSpec {
            kind,
            name,
            description,
            effect,
            input_schema: serde_json::to_value(schemars::schema_for!(I))
                .expect("a JSON Schema always serializes"),
            output_schema: serde_json::to_value(schemars::schema_for!(O))
                .expect("a JSON Schema always serializes"),
        }
    }

    /// The method name of the external protocol: `<kind>.<action>`.
    pub fn method(&self) -> String {
        format!("{}.{}", self.kind, self.name)
    }

    /// The input's parameter names.
    pub fn parameters(&self) -> Vec<&str> {
        self.input_schema
            .get("properties")
            .and_then(|p| p.as_object())
            .map(|p| p.keys().map(String::as_str).collect())
            .unwrap_or_default()
    }
}

static CATALOG: LazyLock<Vec<ActionSpec>> = LazyLock::new(|| {
    let mut all = Vec::new();
    all.extend(kinds::task_management_actions());
    all.extend(kinds::version_control_actions());
    all.extend(kinds::documentation_actions());
    all.extend(kinds::communication_actions());
    all.extend(kinds::ai_provider_actions());
    all.extend(kinds::monitoring_actions());
    all
});

/// Every action of every kind.
pub fn actions() -> &'static [ActionSpec] {
    &CATALOG
}

/// The actions of one kind.
pub fn actions_of(kind: PluginKind) -> impl Iterator<Item = &'static ActionSpec> {
    CATALOG.iter().filter(move |spec| spec.kind == kind)
}

/// The action `name` of `kind`, if there is one.
pub fn find_action(kind: PluginKind, name: &str) -> Option<&'static ActionSpec> {
    actions_of(kind).find(|spec| spec.name == name)
}

pub(crate) fn decode_input<T: DeserializeOwned>(
    action: &str,
    input: serde_json::Value,
) -> Result<T> {
    // A call without arguments may send `null`; treat it as `{}`.
    let input = if input.is_null() {
        serde_json::Value::Object(Default::default())
    } else {
        input
    };
    serde_json::from_value(input).map_err(|err| {
        Error::invalid_input(format!(
            "the input of `{action}` does not fit its schema: {}",
            crate::plugin::describe_serde_error(&err)
        ))
    })
}

pub(crate) fn encode_output<T: Serialize>(action: &str, output: &T) -> Result<serde_json::Value> {
    serde_json::to_value(output).map_err(|err| {
        Error::invalid_response(format!(
            "the output of `{action}` could not be encoded: {err}"
        ))
    })
}

pub(crate) fn unknown_action(kind: PluginKind, action: &str) -> Error {
    let names: Vec<&str> = actions_of(kind).map(|spec| spec.name).collect();
    Error::invalid_input(format!(
        "`{action}` is not an action of kind {kind}; its actions are {}",
        names.join(", ")
    ))
}

pub(crate) fn decode_output<T: DeserializeOwned>(
    action: &str,
    output: serde_json::Value,
) -> Result<T> {
    serde_json::from_value(output).map_err(|err| {
        Error::invalid_response(format!(
            "the output of `{action}` does not fit its schema: {}",
            crate::plugin::describe_serde_error(&err)
        ))
    })
}

/// A plugin whose actions travel as JSON: an external plugin process, or
/// any other transport. Wrapped in [`Forward`], it implements every kind
/// trait, so the engine uses it exactly like a built-in plugin.
#[async_trait::async_trait]
pub trait Transport: Plugin {
    /// Calls `action` of `kind` with JSON named parameters.
    async fn call_action(
        &self,
        cx: &CallContext,
        kind: PluginKind,
        action: &str,
        input: serde_json::Value,
    ) -> Result<serde_json::Value>;
}

/// Makes a [`Transport`] a typed plugin of every kind: each kind method
/// encodes its input, calls [`Transport::call_action`] and decodes the
/// output against the catalog's types.
pub struct Forward<T>(T);

impl<T: Transport> Forward<T> {
    /// Wraps a transport.
    pub fn new(transport: T) -> Self {
        Forward(transport)
    }

    /// The transport.
    pub fn transport(&self) -> &T {
        &self.0
    }

    /// The plugin as an instance of `kind`.
    pub fn into_instance(self, kind: PluginKind) -> PluginInstance {
        let this = Arc::new(self);
        match kind {
            PluginKind::TaskManagement => PluginInstance::TaskManagement(this),
            PluginKind::VersionControl => PluginInstance::VersionControl(this),
            PluginKind::Documentation => PluginInstance::Documentation(this),
            PluginKind::Communication => PluginInstance::Communication(this),
            PluginKind::AiProvider => PluginInstance::AiProvider(this),
            PluginKind::Monitoring => PluginInstance::Monitoring(this),
        }
    }
}

#[async_trait::async_trait]
impl<T: Transport> Plugin for Forward<T> {
    fn metadata(&self) -> &crate::PluginMetadata {
        self.0.metadata()
    }
    fn validate_config(&self, config: &crate::PluginConfig) -> Vec<crate::ConfigProblem> {
        self.0.validate_config(config)
    }
    async fn connect(&self, config: &crate::PluginConfig) -> Result<()> {
        self.0.connect(config).await
    }
    async fn disconnect(&self) -> Result<()> {
        self.0.disconnect().await
    }
    async fn health_check(&self) -> crate::Health {
        self.0.health_check().await
    }
}

/// A plugin ready for use, typed by its kind.
#[derive(Clone)]
pub enum PluginInstance {
    /// A task tracker.
    TaskManagement(Arc<dyn TaskManagement>),
    /// A git host.
    VersionControl(Arc<dyn VersionControl>),
    /// A documentation space.
    Documentation(Arc<dyn Documentation>),
    /// A team chat.
    Communication(Arc<dyn Communication>),
    /// An AI model.
    AiProvider(Arc<dyn AiProvider>),
    /// A telemetry sink.
    Monitoring(Arc<dyn Monitoring>),
}

impl PluginInstance {
    /// Its kind.
    pub fn kind(&self) -> PluginKind {
        match self {
            PluginInstance::TaskManagement(_) => PluginKind::TaskManagement,
            PluginInstance::VersionControl(_) => PluginKind::VersionControl,
            PluginInstance::Documentation(_) => PluginKind::Documentation,
            PluginInstance::Communication(_) => PluginKind::Communication,
            PluginInstance::AiProvider(_) => PluginKind::AiProvider,
            PluginInstance::Monitoring(_) => PluginKind::Monitoring,
        }
    }

    /// The kind-independent side: metadata, lifecycle, health.
    pub fn plugin(&self) -> &dyn Plugin {
        match self {
            PluginInstance::TaskManagement(p) => p.as_ref(),
            PluginInstance::VersionControl(p) => p.as_ref(),
            PluginInstance::Documentation(p) => p.as_ref(),
            PluginInstance::Communication(p) => p.as_ref(),
            PluginInstance::AiProvider(p) => p.as_ref(),
            PluginInstance::Monitoring(p) => p.as_ref(),
        }
    }

    /// Calls `action` with JSON named parameters and returns its JSON output.
    ///
    /// Errors name this plugin and the action.
    pub async fn call(
        &self,
        cx: &CallContext,
        action: &str,
        input: serde_json::Value,
    ) -> Result<serde_json::Value> {
        let result = match self {
            PluginInstance::TaskManagement(p) => {
                kinds::task_management_dispatch(p.as_ref(), cx, action, input).await
            }
            PluginInstance::VersionControl(p) => {
                kinds::version_control_dispatch(p.as_ref(), cx, action, input).await
            }
            PluginInstance::Documentation(p) => {
                kinds::documentation_dispatch(p.as_ref(), cx, action, input).await
            }
            PluginInstance::Communication(p) => {
                kinds::communication_dispatch(p.as_ref(), cx, action, input).await
            }
            PluginInstance::AiProvider(p) => {
                kinds::ai_provider_dispatch(p.as_ref(), cx, action, input).await
            }
            PluginInstance::Monitoring(p) => {
                kinds::monitoring_dispatch(p.as_ref(), cx, action, input).await
            }
        };
        result.map_err(|err| err.in_call(&self.plugin().metadata().name, action))
    }
}

impl std::fmt::Debug for PluginInstance {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let meta = self.plugin().metadata();
        write!(f, "PluginInstance({} {})", meta.kind, meta.name)
    }
}
