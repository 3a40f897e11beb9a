//! What every plugin is, whatever its kind: metadata, configuration,
//! connection and health.

use std::fmt;
use std::path::{Path, PathBuf};

use async_trait::async_trait;
use schemars::JsonSchema;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// The six kinds of plugin.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum PluginKind {
    /// A task tracker (Linear, Jira, GitHub Issues, local Markdown tasks).
    TaskManagement,
    /// A git host (GitHub, GitLab, plain git).
    VersionControl,
    /// A documentation space (Confluence, Notion, Markdown pages).
    Documentation,
    /// A team chat (Slack, Discord, the console).
    Communication,
    /// An AI model (Anthropic, OpenAI, scripted answers).
    AiProvider,
    /// Metrics, events and errors (logs, Prometheus).
    Monitoring,
}

impl PluginKind {
    /// Every kind, in the order the design document lists them.
    pub const ALL: [PluginKind; 6] = [
        PluginKind::TaskManagement,
        PluginKind::VersionControl,
        PluginKind::Documentation,
        PluginKind::Communication,
        PluginKind::AiProvider,
        PluginKind::Monitoring,
    ];

    /// The snake_case name used in configuration, JSON and method names.
    pub fn as_str(self) -> &'static str {
        match self {
            PluginKind::TaskManagement => "task_management",
            PluginKind::VersionControl => "version_control",
            PluginKind::Documentation => "documentation",
            PluginKind::Communication => "communication",
            PluginKind::AiProvider => "ai_provider",
            PluginKind::Monitoring => "monitoring",
        }
    }

    /// The kind named `name`, if any.
    pub fn from_name(name: &str) -> Option<PluginKind> {
        PluginKind::ALL
            .into_iter()
            .find(|kind| kind.as_str() == name)
    }
}

impl fmt::Display for PluginKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for PluginKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        PluginKind::from_name(s).ok_or_else(|| {
            let names: Vec<_> = PluginKind::ALL.iter().map(|k| k.as_str()).collect();
            format!(
                "`{s}` is not a plugin kind; expected one of {}",
                names.join(", ")
            )
        })
    }
}

/// What a plugin says about itself, before it is configured.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PluginMetadata {
    /// The name users put in `provider:`, such as `linear`.
    pub name: String,
    /// The plugin's own version.
    pub version: String,
    /// One sentence saying what it connects to.
    pub description: String,
    /// Its kind.
    pub kind: PluginKind,
    /// Configuration keys that must be set, as dotted paths
    /// (`connection.api_key`).
    pub required_config: Vec<String>,
    /// The JSON Schema its configuration must satisfy.
    pub config_schema: serde_json::Value,
    /// The prefix of environment variables that override its configuration:
    /// with prefix `LINEAR`, `LINEAR_API_KEY` sets `connection.api_key`.
    pub env_prefix: String,
}

impl PluginMetadata {
    /// Metadata for a plugin whose configuration is `C`.
    ///
    /// The schema comes from `C`'s `JsonSchema`, the required keys from the
    /// schema, and the environment prefix is the upper-cased name.
    pub fn new<C: JsonSchema>(
        name: &str,
        kind: PluginKind,
        version: &str,
        description: &str,
    ) -> Self {
        let config_schema = serde_json::to_value(schemars::schema_for!(C))
            .expect("a JSON Schema always serializes");
        let mut required_config = Vec::new();
        collect_required(&config_schema, &config_schema, "", &mut required_config);
        PluginMetadata {
            name: name.to_owned(),
            version: version.to_owned(),
            description: description.to_owned(),
            kind,
            required_config,
            config_schema,
            env_prefix: name.to_ascii_uppercase(),
        }
    }

    /// Replaces the environment prefix (for a name that clashes with another
    /// program's variables, such as `GIT_`).
    pub fn with_env_prefix(mut self, prefix: &str) -> Self {
        self.env_prefix = prefix.to_owned();
        self
    }
}

/// Walks a schema's `required` lists, following local `$ref`s, to list the
/// required keys as dotted paths.
fn collect_required(
    root: &serde_json::Value,
    schema: &serde_json::Value,
    prefix: &str,
    out: &mut Vec<String>,
) {
    let schema = resolve_ref(root, schema);
    let Some(properties) = schema.get("properties").and_then(|p| p.as_object()) else {
        return;
    };
    let required: Vec<&str> = schema
        .get("required")
        .and_then(|r| r.as_array())
        .map(|r| r.iter().filter_map(|v| v.as_str()).collect())
        .unwrap_or_default();
    for (key, sub) in properties {
        let path = if prefix.is_empty() {
            key.clone()
        } else {
            format!("{prefix}.{key}")
        };
        if required.contains(&key.as_str()) {
            let before = out.len();
            collect_required(root, sub, &path, out);
            if out.len() == before {
                out.push(path);
            }
        }
    }
}

/// Follows a `{"$ref": "#/$defs/X"}` within the same document.
pub fn resolve_ref<'a>(
    root: &'a serde_json::Value,
    schema: &'a serde_json::Value,
) -> &'a serde_json::Value {
    let mut current = schema;
    for _ in 0..16 {
        match current.get("$ref").and_then(|r| r.as_str()) {
            Some(reference) if reference.starts_with("#/") => match root.pointer(&reference[1..]) {
                Some(target) => current = target,
                None => return current,
            },
            _ => return current,
        }
    }
    current
}

/// A plugin's health, as `health_check` reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "status", content = "reason", rename_all = "snake_case")]
pub enum Health {
    /// Working.
    Healthy,
    /// Working, with a problem worth knowing.
    Degraded(String),
    /// Not working.
    Unhealthy(String),
}

impl Health {
    /// Whether the plugin can be used.
    pub fn is_usable(&self) -> bool {
        !matches!(self, Health::Unhealthy(_))
    }
}

impl fmt::Display for Health {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Health::Healthy => f.write_str("healthy"),
            Health::Degraded(reason) => write!(f, "degraded: {reason}"),
            Health::Unhealthy(reason) => write!(f, "unhealthy: {reason}"),
        }
    }
}

/// A plugin's validated configuration, as the engine hands it over.
///
/// It holds the configuration as JSON (already checked against the plugin's
/// schema) and the folders relative paths are resolved against. Its `Debug`
/// shows no values, since values may be secrets.
#[derive(Clone)]
pub struct PluginConfig {
    instance: String,
    value: serde_json::Value,
    project_dir: PathBuf,
    data_dir: PathBuf,
}

impl PluginConfig {
    /// A configuration for the plugin instance `instance` (its kind, or its
    /// own name for extra instances).
    pub fn new(
        instance: impl Into<String>,
        value: serde_json::Value,
        project_dir: impl Into<PathBuf>,
        data_dir: impl Into<PathBuf>,
    ) -> Self {
        PluginConfig {
            instance: instance.into(),
            value,
            project_dir: project_dir.into(),
            data_dir: data_dir.into(),
        }
    }

    /// The instance this configuration is for.
    pub fn instance(&self) -> &str {
        &self.instance
    }

    /// The raw configuration. Never log it: it may hold secrets.
    pub fn value(&self) -> &serde_json::Value {
        &self.value
    }

    /// The project's root: where `aido.yaml` is, or the current directory.
    pub fn project_dir(&self) -> &Path {
        &self.project_dir
    }

    /// Where aido keeps its own files (`.aido/` by default).
    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// `path` resolved against the project's root, unless it is absolute.
    pub fn resolve_path(&self, path: impl AsRef<Path>) -> PathBuf {
        self.project_dir.join(path)
    }

    /// Parses the configuration into the plugin's own type.
    ///
    /// The error never quotes a value, since a value may be a secret.
    pub fn parse<C: DeserializeOwned>(&self) -> Result<C> {
        serde_json::from_value(self.value.clone()).map_err(|err| {
            Error::configuration(format!(
                "configuration of `{}` does not match the plugin's schema ({})",
                self.instance,
                describe_serde_error(&err)
            ))
        })
    }
}

/// Serde's message without the offending value, which might be a secret.
pub(crate) fn describe_serde_error(err: &serde_json::Error) -> String {
    let text = err.to_string();
    // Serde quotes values as `invalid type: string "..."`; keep only the part
    // that names what was expected.
    if text.starts_with("missing field") || text.starts_with("unknown field") {
        // These name a key, never a value.
        return text.split(" at line").next().unwrap_or("").to_owned();
    }
    match text.find(", expected") {
        Some(pos) => format!(
            "wrong type, {}",
            text[pos + 2..].split(" at line").next().unwrap_or("")
        ),
        None => "invalid value".to_owned(),
    }
}

impl fmt::Debug for PluginConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PluginConfig")
            .field("instance", &self.instance)
            .field("value", &"[not shown]")
            .field("project_dir", &self.project_dir)
            .field("data_dir", &self.data_dir)
            .finish()
    }
}

/// A problem a plugin found in its configuration beyond what its schema
/// checks (a folder that is a file, a mapping to an unknown state).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConfigProblem {
    /// The key it is about, as a dotted path (`mappings.statuses.done`).
    pub path: String,
    /// What is wrong, and what would be right. Never quote a secret.
    pub message: String,
}

impl ConfigProblem {
    /// A problem at `path`.
    pub fn new(path: impl Into<String>, message: impl Into<String>) -> Self {
        ConfigProblem {
            path: path.into(),
            message: message.into(),
        }
    }
}

/// What a call knows about where it comes from.
///
/// Cancellation is the future being dropped: the engine drops a call that
/// timed out or was cancelled, so plugins must not assume they run to the
/// end (write files atomically, keep state consistent at every `await`).
#[derive(Debug, Clone, Default)]
pub struct CallContext {
    /// The run making the call, if any.
    pub run_id: Option<String>,
    /// The workflow step making the call, if any.
    pub step: Option<String>,
    /// For side-effecting actions: a key that stays the same when the same
    /// step is tried again, even after a crash. A plugin that can look up
    /// an effect made under this key (a marker in a comment, a branch that
    /// exists) returns it instead of making it twice.
    pub idempotency_key: Option<String>,
}

impl CallContext {
    /// A context for a call made outside any run (the CLI, tests).
    pub fn detached() -> Self {
        CallContext::default()
    }

    /// A context carrying an idempotency key.
    pub fn with_idempotency_key(key: impl Into<String>) -> Self {
        CallContext {
            idempotency_key: Some(key.into()),
            ..Default::default()
        }
    }
}

/// What every plugin does, whatever its kind.
///
/// The lifecycle is: [`validate_config`](Plugin::validate_config) (after the
/// engine checked the schema), [`connect`](Plugin::connect) once,
/// then any number of calls and [`health_check`](Plugin::health_check)s, then
/// [`disconnect`](Plugin::disconnect) once, also after errors and on Ctrl-C.
#[async_trait]
pub trait Plugin: Send + Sync + 'static {
    /// Name, version, kind, configuration schema. Called on every dispatched
    /// call, so return a stored value (a field or a `static LazyLock`).
    fn metadata(&self) -> &PluginMetadata;

    /// Checks beyond the schema. The engine has already checked the schema,
    /// so a plugin only adds what a schema cannot say. Report every problem,
    /// not just the first.
    fn validate_config(&self, config: &PluginConfig) -> Vec<ConfigProblem> {
        let _ = config;
        Vec::new()
    }

    /// Takes the configuration and gets ready for calls (opens connections,
    /// creates folders, checks credentials where that is cheap).
    async fn connect(&self, config: &PluginConfig) -> Result<()>;

    /// Releases what `connect` took. Called once, in reverse order of
    /// connection, also after failures.
    async fn disconnect(&self) -> Result<()>;

    /// Whether the plugin can do its job right now.
    async fn health_check(&self) -> Health;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(JsonSchema, Deserialize)]
    #[allow(dead_code)]
    struct Conn {
        api_key: crate::Secret,
        team: Option<String>,
    }

    #[derive(JsonSchema, Deserialize)]
    #[allow(dead_code)]
    struct Config {
        connection: Conn,
        options: Option<serde_json::Value>,
    }

    #[test]
    fn required_keys_are_dotted_paths() {
        let meta =
            PluginMetadata::new::<Config>("demo", PluginKind::TaskManagement, "1.0.0", "demo");
        assert_eq!(meta.required_config, vec!["connection.api_key".to_owned()]);
        assert_eq!(meta.env_prefix, "DEMO");
    }

    #[test]
    fn parse_errors_never_quote_values() {
        #[derive(Deserialize, Debug)]
        #[allow(dead_code)]
        struct Typed {
            port: u16,
        }
        let config = PluginConfig::new(
            "x",
            serde_json::json!({"port": "sk-live-very-secret"}),
            ".",
            ".aido",
        );
        let err = config.parse::<Typed>().unwrap_err().to_string();
        assert!(!err.contains("sk-live-very-secret"), "{err}");
        assert!(err.contains("expected u16"), "{err}");
        let config = PluginConfig::new("x", serde_json::json!({"prot": 1}), ".", ".aido");
        #[derive(Deserialize, Debug)]
        #[serde(deny_unknown_fields)]
        #[allow(dead_code)]
        struct Strict {
            port: Option<u16>,
        }
        let err = config.parse::<Strict>().unwrap_err().to_string();
        assert!(
            err.contains("unknown field `prot`, expected `port`"),
            "{err}"
        );
    }

    #[test]
    fn debug_hides_values() {
        let config = PluginConfig::new(
            "x",
            serde_json::json!({"token": "abc-secret"}),
            ".",
            ".aido",
        );
        assert!(!format!("{config:?}").contains("abc-secret"));
    }

    #[test]
    fn kinds_round_trip_through_their_names() {
        for kind in PluginKind::ALL {
            assert_eq!(kind.as_str().parse::<PluginKind>().unwrap(), kind);
        }
        assert!("task".parse::<PluginKind>().is_err());
    }
}
