//! The shape of `aido.yaml`, as typed structs that own their schema.
//!
//! Every struct rejects unknown keys: a typo must never pass silently.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use aido_plugin_api::PluginKind;

/// The whole of `aido.yaml`. Every section is optional; what is left out takes
/// the embedded defaults.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AidoConfig {
    /// Engine-wide settings.
    #[serde(default)]
    pub system: SystemConfig,
    /// Which plugin serves each kind, and its configuration.
    #[serde(default)]
    pub plugins: PluginsConfig,
    /// Where workflows are and which one runs by default.
    #[serde(default)]
    pub workflows: WorkflowsConfig,
    /// What the agents may never touch.
    #[serde(default)]
    pub security: SecurityConfig,
    /// Budgets.
    #[serde(default)]
    pub limits: LimitsConfig,
}

/// Engine-wide settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct SystemConfig {
    /// Where run workspaces (clones) are made, relative to the project.
    pub workspace_dir: String,
    /// Where aido keeps its own files (run store, local records).
    pub data_dir: String,
    /// How many runs may work at once in one process.
    #[schemars(range(min = 1, max = 1024))]
    pub max_concurrent_agents: u32,
    /// How long a plugin may take to connect, in seconds.
    #[schemars(range(min = 1, max = 3600))]
    pub connect_timeout_seconds: u64,
}

impl Default for SystemConfig {
    fn default() -> Self {
        SystemConfig {
            workspace_dir: ".aido/workspaces".to_owned(),
            data_dir: ".aido".to_owned(),
            max_concurrent_agents: 4,
            connect_timeout_seconds: 30,
        }
    }
}

/// One plugin per kind. A kind left out uses its embedded default.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PluginsConfig {
    /// The task tracker.
    #[serde(default)]
    pub task_management: Option<PluginSlot>,
    /// The git host.
    #[serde(default)]
    pub version_control: Option<PluginSlot>,
    /// The documentation space.
    #[serde(default)]
    pub documentation: Option<PluginSlot>,
    /// The team chat.
    #[serde(default)]
    pub communication: Option<PluginSlot>,
    /// The AI model.
    #[serde(default)]
    pub ai_provider: Option<PluginSlot>,
    /// Where telemetry goes.
    #[serde(default)]
    pub monitoring: Option<PluginSlot>,
}

impl PluginsConfig {
    /// The slot configured for `kind`, if any.
    pub fn slot(&self, kind: PluginKind) -> Option<&PluginSlot> {
        match kind {
            PluginKind::TaskManagement => self.task_management.as_ref(),
            PluginKind::VersionControl => self.version_control.as_ref(),
            PluginKind::Documentation => self.documentation.as_ref(),
            PluginKind::Communication => self.communication.as_ref(),
            PluginKind::AiProvider => self.ai_provider.as_ref(),
            PluginKind::Monitoring => self.monitoring.as_ref(),
        }
    }
}

/// Which plugin serves a kind, and its configuration: inline under `config`,
/// or in a file of its own under `config_file` (shaped as the design
/// document's plugin files: `provider`, `connection`, `mappings`, `options`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PluginSlot {
    /// The plugin's name, such as `linear`; may instead be given in the
    /// config file.
    #[serde(default)]
    pub provider: Option<String>,
    /// The plugin's configuration, inline.
    #[serde(default)]
    pub config: Option<serde_json::Map<String, serde_json::Value>>,
    /// A file holding the plugin's configuration, relative to `aido.yaml`.
    #[serde(default)]
    pub config_file: Option<String>,
}

/// Where workflows are.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct WorkflowsConfig {
    /// The workflow `aido run` uses when none is named.
    pub default: String,
    /// The project's own workflows, relative to the project.
    pub dir: String,
}

impl Default for WorkflowsConfig {
    fn default() -> Self {
        WorkflowsConfig {
            default: "standard_development".to_owned(),
            dir: "workflows".to_owned(),
        }
    }
}

/// What the agents may never touch.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct SecurityConfig {
    /// Glob patterns of paths no edit may write.
    pub forbidden_paths: Vec<String>,
    /// Whether merging a pull request needs a person's approval.
    pub require_approval_for_merge: bool,
}

impl Default for SecurityConfig {
    fn default() -> Self {
        SecurityConfig {
            forbidden_paths: vec![".env".to_owned(), "*.key".to_owned(), "*.pem".to_owned()],
            require_approval_for_merge: true,
        }
    }
}

/// Budgets, in US dollars and tokens.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct LimitsConfig {
    /// The most one task's run may spend.
    #[schemars(range(min = 0.0))]
    pub max_cost_per_task: f64,
    /// The most tokens one task's run may spend.
    pub max_tokens_per_task: u64,
    /// The most all runs may spend in a calendar month.
    #[schemars(range(min = 0.0))]
    pub monthly_budget: f64,
}

impl Default for LimitsConfig {
    fn default() -> Self {
        LimitsConfig {
            max_cost_per_task: 5.0,
            max_tokens_per_task: 50_000,
            monthly_budget: 500.0,
        }
    }
}

/// The plugin each kind uses when `aido.yaml` names none: every one works
/// offline with no account.
pub fn default_provider(kind: PluginKind) -> &'static str {
    match kind {
        PluginKind::TaskManagement => "local",
        PluginKind::VersionControl => "git",
        PluginKind::Documentation => "markdown",
        PluginKind::Communication => "console",
        PluginKind::AiProvider => "scripted",
        PluginKind::Monitoring => "log",
    }
}
