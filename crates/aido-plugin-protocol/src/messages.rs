//! The parameters and results of the lifecycle methods: the handshake,
//! `plugin.*`, `$/cancel` and `log`.
//!
//! Receivers ignore fields they do not know (a later minor version may add
//! some); senders leave out optional fields they have no value for.

use std::collections::BTreeMap;
use std::fmt;

use aido_plugin_api::catalog::find_action;
use aido_plugin_api::{ConfigProblem, PluginConfig, PluginKind, PluginMetadata};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;

use crate::jsonrpc::RequestId;
use crate::version::ProtocolVersion;

/// Who the host is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HostInfo {
    /// `aido`.
    pub name: String,
    /// The host's own version, such as `0.1.0`.
    pub version: String,
}

/// The parameters of `initialize`, the host's first message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InitializeParams {
    /// The versions the host speaks: the highest minor of each major.
    pub protocol_versions: Vec<ProtocolVersion>,
    /// Who the host is.
    pub host: HostInfo,
    /// The host's process id. A plugin exits when that process is gone,
    /// even if its stdin is somehow still open.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent_pid: Option<u32>,
    /// Optional capabilities beyond the negotiated version. None are
    /// defined in 1.0; unknown names are ignored.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub features: Vec<String>,
}

/// The answer to `initialize`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InitializeResult {
    /// The version both sides now speak (see
    /// [`ProtocolVersion::negotiate`]).
    pub protocol_version: ProtocolVersion,
    /// What the plugin is.
    pub plugin: PluginInfo,
    /// Optional capabilities the plugin has, of those the host offered.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub features: Vec<String>,
}

/// What a plugin says about itself in the handshake.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PluginInfo {
    /// Its name, as in its manifest and in `provider:`.
    pub name: String,
    /// Its own version.
    pub version: String,
    /// One sentence saying what it connects to.
    pub description: String,
    /// The kinds it serves.
    pub kinds: Vec<PluginKind>,
    /// The methods it implements, as `<kind>.<action>`. A catalog method of
    /// its kinds that is not listed answers `unsupported`.
    pub methods: Vec<String>,
    /// Configuration keys that must be set, as dotted paths.
    #[serde(default)]
    pub required_config: Vec<String>,
    /// The JSON Schema its configuration must satisfy; `{"type": "object"}`
    /// when it has none to give.
    #[serde(default = "any_object")]
    pub config_schema: Value,
}

fn any_object() -> Value {
    let mut map = serde_json::Map::new();
    map.insert("type".into(), Value::from("object"));
    Value::Object(map)
}

impl PluginInfo {
    /// Whether it implements `action` of `kind`.
    pub fn implements(&self, kind: PluginKind, action: &str) -> bool {
        self.kinds.contains(&kind)
            && self
                .methods
                .iter()
                .any(|method| method.split_once('.') == Some((kind.as_str(), action)))
    }

    /// What is wrong with it: every method must be `<kind>.<action>` of the
    /// catalog, of a kind it declares.
    pub fn problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        if self.kinds.is_empty() {
            problems.push(format!("plugin `{}` declares no kind", self.name));
        }
        for method in &self.methods {
            let Some((kind_name, action)) = method.split_once('.') else {
                problems.push(format!(
                    "method `{method}` is not of the form <kind>.<action>"
                ));
                continue;
            };
            let Some(kind) = PluginKind::from_name(kind_name) else {
                problems.push(format!(
                    "method `{method}`: `{kind_name}` is not a plugin kind"
                ));
                continue;
            };
            if !self.kinds.contains(&kind) {
                problems.push(format!(
                    "method `{method}` is of kind {kind}, which plugin `{}` does not declare",
                    self.name
                ));
            } else if find_action(kind, action).is_none() {
                problems.push(format!(
                    "method `{method}`: `{action}` is not an action of kind {kind}"
                ));
            }
        }
        problems
    }

    /// The metadata aido's registry keeps for it as a plugin of `kind`.
    pub fn metadata(&self, kind: PluginKind) -> PluginMetadata {
        PluginMetadata {
            name: self.name.clone(),
            version: self.version.clone(),
            description: self.description.clone(),
            kind,
            required_config: self.required_config.clone(),
            config_schema: self.config_schema.clone(),
            env_prefix: env_prefix(&self.name),
        }
    }
}

/// The environment prefix of a plugin's configuration overrides: its name
/// in upper case with `-` as `_` (`memory-tasks` → `MEMORY_TASKS`).
pub fn env_prefix(name: &str) -> String {
    name.to_ascii_uppercase().replace('-', "_")
}

/// Where a configuration comes from, sent with `plugin.validate_config` and
/// `plugin.connect` so a plugin can resolve relative paths as built-in
/// plugins do.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConfigContext {
    /// The configured instance: its kind, or its own name for extra
    /// instances.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instance: Option<String>,
    /// The project's root (where `aido.yaml` is).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project_dir: Option<String>,
    /// Where aido keeps its files (`.aido/` by default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data_dir: Option<String>,
}

impl ConfigContext {
    /// The context of `config`.
    pub fn of(config: &PluginConfig) -> Self {
        ConfigContext {
            instance: Some(config.instance().to_owned()),
            project_dir: Some(config.project_dir().to_string_lossy().into_owned()),
            data_dir: Some(config.data_dir().to_string_lossy().into_owned()),
        }
    }
}

/// The parameters of `plugin.validate_config`: checks beyond the schema,
/// before anything connects.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
pub struct ValidateConfigParams {
    /// The configuration, already checked against the plugin's schema.
    pub config: Value,
    /// Where it comes from.
    #[serde(flatten)]
    pub context: ConfigContext,
}

/// The answer to `plugin.validate_config`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ValidateConfigResult {
    /// Every problem found; empty when the configuration is fine.
    #[serde(default)]
    pub problems: Vec<ConfigProblem>,
}

/// A secret's value as it travels inside `plugin.connect`: in clear on the
/// wire (the plugin needs it), never in `Debug` output.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct SecretValue(String);

impl SecretValue {
    /// Wraps a value.
    pub fn new(value: impl Into<String>) -> Self {
        SecretValue(value.into())
    }

    /// The value. Never log it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for SecretValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

/// The parameters of `plugin.connect`.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
pub struct ConnectParams {
    /// The configuration, checked against the schema and by
    /// `plugin.validate_config`.
    pub config: Value,
    /// The secrets the manifest declares, by environment variable name;
    /// those not set in the host's environment are absent. Secrets travel
    /// only here, never in the plugin's environment.
    #[serde(default)]
    pub secrets: BTreeMap<String, SecretValue>,
    /// Where the configuration comes from.
    #[serde(flatten)]
    pub context: ConfigContext,
}

impl fmt::Debug for ConnectParams {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConnectParams")
            .field("config", &"[not shown]")
            .field("secrets", &self.secrets.keys().collect::<Vec<_>>())
            .field("context", &self.context)
            .finish()
    }
}

impl fmt::Debug for ValidateConfigParams {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ValidateConfigParams")
            .field("config", &"[not shown]")
            .field("context", &self.context)
            .finish()
    }
}

/// Parameters of a method that takes none: they travel as nothing, and
/// anything received (`{}`, or fields of a later minor version) is
/// accepted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct NoParams;

impl Serialize for NoParams {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_unit()
    }
}

impl<'de> Deserialize<'de> for NoParams {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        serde::de::IgnoredAny::deserialize(deserializer)?;
        Ok(NoParams)
    }
}

/// The parameters of `$/cancel`: which request to give up.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CancelParams {
    /// The request's identifier.
    pub id: RequestId,
}

/// How important a `log` line is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LogLevel {
    /// Something failed.
    Error,
    /// Something looks wrong.
    Warn,
    /// Normal operation.
    Info,
    /// Detail for debugging.
    Debug,
    /// Even more detail.
    Trace,
}

impl LogLevel {
    /// The name on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            LogLevel::Error => "error",
            LogLevel::Warn => "warn",
            LogLevel::Info => "info",
            LogLevel::Debug => "debug",
            LogLevel::Trace => "trace",
        }
    }
}

impl fmt::Display for LogLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The parameters of `log`, a line of the plugin's log sent to the host.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogParams {
    /// How important it is.
    pub level: LogLevel,
    /// The line. Never a secret.
    pub message: String,
    /// Where in the plugin it comes from (a logger name, a module).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::de::DeserializeOwned;
    use serde_json::json;

    /// Checks that `value` serializes to exactly `json` and reads back as
    /// itself.
    fn pin<T: Serialize + DeserializeOwned + PartialEq + fmt::Debug>(value: &T, json: &str) {
        assert_eq!(serde_json::to_string(value).unwrap(), json);
        assert_eq!(&serde_json::from_str::<T>(json).unwrap(), value);
    }

    fn info() -> PluginInfo {
        PluginInfo {
            name: "memory-tasks".into(),
            version: "0.1.0".into(),
            description: "Tasks in memory.".into(),
            kinds: vec![PluginKind::TaskManagement],
            methods: vec![
                "task_management.get_task".into(),
                "task_management.create_task".into(),
            ],
            required_config: vec!["project".into()],
            config_schema: json!({"type": "object"}),
        }
    }

    #[test]
    fn initialize_params_are_pinned() {
        pin(
            &InitializeParams {
                protocol_versions: vec![ProtocolVersion::new(1, 0)],
                host: HostInfo {
                    name: "aido".into(),
                    version: "0.1.0".into(),
                },
                parent_pid: Some(4242),
                features: vec![],
            },
            r#"{"protocol_versions":["1.0"],"host":{"name":"aido","version":"0.1.0"},"parent_pid":4242}"#,
        );
    }

    #[test]
    fn initialize_result_is_pinned() {
        pin(
            &InitializeResult {
                protocol_version: ProtocolVersion::new(1, 0),
                plugin: info(),
                features: vec![],
            },
            r#"{"protocol_version":"1.0","plugin":{"name":"memory-tasks","version":"0.1.0","description":"Tasks in memory.","kinds":["task_management"],"methods":["task_management.get_task","task_management.create_task"],"required_config":["project"],"config_schema":{"type":"object"}}}"#,
        );
    }

    #[test]
    fn plugin_info_defaults_what_a_minimal_plugin_leaves_out() {
        let parsed: PluginInfo = serde_json::from_value(json!({
            "name": "x", "version": "1.0.0", "description": "d",
            "kinds": ["monitoring"], "methods": [], "future_field": 1
        }))
        .unwrap();
        assert!(parsed.required_config.is_empty());
        assert_eq!(parsed.config_schema, json!({"type": "object"}));
    }

    #[test]
    fn plugin_info_problems_name_each_bad_method() {
        let mut info = info();
        info.methods.extend([
            "get_task".to_owned(),
            "chat.send".to_owned(),
            "documentation.get_page".to_owned(),
            "task_management.fly".to_owned(),
        ]);
        assert_eq!(
            info.problems(),
            vec![
                "method `get_task` is not of the form <kind>.<action>",
                "method `chat.send`: `chat` is not a plugin kind",
                "method `documentation.get_page` is of kind documentation, which plugin `memory-tasks` does not declare",
                "method `task_management.fly`: `fly` is not an action of kind task_management",
            ]
        );
        assert!(info.implements(PluginKind::TaskManagement, "get_task"));
        assert!(!info.implements(PluginKind::TaskManagement, "assign_task"));
    }

    #[test]
    fn metadata_for_the_registry() {
        let meta = info().metadata(PluginKind::TaskManagement);
        assert_eq!(meta.env_prefix, "MEMORY_TASKS");
        assert_eq!(meta.required_config, vec!["project"]);
    }

    #[test]
    fn validate_config_is_pinned() {
        pin(
            &ValidateConfigParams {
                config: json!({"project": "DEMO"}),
                context: ConfigContext {
                    instance: Some("task_management".into()),
                    project_dir: Some("/work/app".into()),
                    data_dir: Some("/work/app/.aido".into()),
                },
            },
            r#"{"config":{"project":"DEMO"},"instance":"task_management","project_dir":"/work/app","data_dir":"/work/app/.aido"}"#,
        );
        pin(
            &ValidateConfigResult {
                problems: vec![ConfigProblem::new("latency_seconds", "must be at least 0")],
            },
            r#"{"problems":[{"path":"latency_seconds","message":"must be at least 0"}]}"#,
        );
    }

    #[test]
    fn connect_params_are_pinned_and_hide_secrets_in_debug() {
        let params = ConnectParams {
            config: json!({"project": "DEMO"}),
            secrets: BTreeMap::from([("TASKS_TOKEN".to_owned(), SecretValue::new("s3cr3t"))]),
            context: ConfigContext::default(),
        };
        pin(
            &params,
            r#"{"config":{"project":"DEMO"},"secrets":{"TASKS_TOKEN":"s3cr3t"}}"#,
        );
        let debug = format!("{params:?}");
        assert!(
            !debug.contains("s3cr3t") && !debug.contains("DEMO"),
            "{debug}"
        );
        assert!(debug.contains("TASKS_TOKEN"), "{debug}");
        let minimal: ConnectParams = serde_json::from_str(r#"{"config":{}}"#).unwrap();
        assert!(minimal.secrets.is_empty());
    }

    #[test]
    fn context_comes_from_a_plugin_config() {
        let config = PluginConfig::new("task_management", json!({}), "/p", "/p/.aido");
        let context = ConfigContext::of(&config);
        assert_eq!(context.project_dir.as_deref(), Some("/p"));
        assert_eq!(context.instance.as_deref(), Some("task_management"));
    }

    #[test]
    fn health_is_the_api_type() {
        use aido_plugin_api::Health;
        pin(&Health::Healthy, r#"{"status":"healthy"}"#);
        pin(
            &Health::Degraded("slow".into()),
            r#"{"status":"degraded","reason":"slow"}"#,
        );
        pin(
            &Health::Unhealthy("down".into()),
            r#"{"status":"unhealthy","reason":"down"}"#,
        );
    }

    #[test]
    fn no_params_travel_as_nothing_and_accept_anything() {
        assert_eq!(serde_json::to_value(NoParams).unwrap(), Value::Null);
        for text in ["null", "{}", r#"{"later":1}"#] {
            assert_eq!(serde_json::from_str::<NoParams>(text).unwrap(), NoParams);
        }
    }

    #[test]
    fn cancel_and_log_are_pinned() {
        pin(
            &CancelParams {
                id: RequestId::Number(7),
            },
            r#"{"id":7}"#,
        );
        pin(
            &LogParams {
                level: LogLevel::Warn,
                message: "slow answer".into(),
                target: Some("memory_tasks".into()),
            },
            r#"{"level":"warn","message":"slow answer","target":"memory_tasks"}"#,
        );
        for level in [
            LogLevel::Error,
            LogLevel::Warn,
            LogLevel::Info,
            LogLevel::Debug,
            LogLevel::Trace,
        ] {
            pin(&level, &format!("\"{level}\""));
        }
        assert!(serde_json::from_str::<LogLevel>(r#""warning""#).is_err());
    }
}
