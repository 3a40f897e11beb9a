//! The manifest, `plugin.toml`: how the host finds, starts and limits an
//! external plugin before talking to it.
//!
//! ```
//! use aido_plugin_protocol::manifest::Manifest;
//!
//! let manifest = Manifest::from_toml(r#"
//!     name = "memory-tasks"
//!     version = "0.1.0"
//!     description = "Tasks kept in memory."
//!     protocol = "1.0"
//!     kinds = ["task_management"]
//!     secrets = ["MEMORY_TASKS_TOKEN"]
//!
//!     [run]
//!     command = "python3"
//!     args = ["memory_tasks.py"]
//!
//!     [config]
//!     required = ["project"]
//!     schema = { type = "object", properties = { project = { type = "string" } } }
//! "#).unwrap();
//! assert_eq!(manifest.name(), "memory-tasks");
//! assert_eq!(manifest.limits().max_concurrent_calls, 8);
//!
//! // Every problem is reported at once, with its line.
//! let errors = Manifest::from_toml("name = \"Bad Name\"\nkinds = [\"tasks\"]\n").unwrap_err();
//! assert!(errors.problems().len() >= 4);
//! ```
//!
//! The host reads the manifest without starting anything: it knows the
//! plugin's name, kinds and configuration schema before the process exists,
//! so a bad configuration is rejected before any side effect.

mod check;

use std::fmt;
use std::time::Duration;

use aido_plugin_api::{PluginKind, PluginMetadata};
use serde_json::Value;

use crate::messages::{PluginInfo, env_prefix};
use crate::version::ProtocolVersion;

/// The manifest's file name, in the plugin's folder.
pub const MANIFEST_FILE: &str = "plugin.toml";

/// The environment variables every plugin process gets from the host's
/// environment (when set); everything else is cleared, except what the
/// manifest's `env.pass` names.
pub const BASE_ENV: [&str; 4] = ["PATH", "HOME", "LANG", "TMPDIR"];

/// A checked `plugin.toml`.
///
/// It can only be made by [`Manifest::from_toml`], so every one in
/// existence passed every check.
#[derive(Debug, Clone, PartialEq)]
pub struct Manifest {
    name: String,
    version: String,
    description: String,
    protocol: ProtocolVersion,
    kinds: Vec<PluginKind>,
    run: RunSpec,
    required_config: Vec<String>,
    config_schema: Value,
    secrets: Vec<String>,
    env_pass: Vec<String>,
    limits: Limits,
}

impl Manifest {
    /// Reads and checks a manifest. The error lists every problem found,
    /// each with its key and line.
    pub fn from_toml(text: &str) -> Result<Manifest, ManifestErrors> {
        check::parse(text)
    }

    /// The plugin's name, as users write it in `provider:`.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The plugin's own version.
    pub fn version(&self) -> &str {
        &self.version
    }

    /// One sentence saying what it connects to.
    pub fn description(&self) -> &str {
        &self.description
    }

    /// The protocol version it was written for.
    pub fn protocol(&self) -> ProtocolVersion {
        self.protocol
    }

    /// The kinds it serves.
    pub fn kinds(&self) -> &[PluginKind] {
        &self.kinds
    }

    /// How to start it.
    pub fn run(&self) -> &RunSpec {
        &self.run
    }

    /// Configuration keys that must be set, as dotted paths.
    pub fn required_config(&self) -> &[String] {
        &self.required_config
    }

    /// The JSON Schema its configuration must satisfy (`{"type": "object"}`
    /// when the manifest gives none).
    pub fn config_schema(&self) -> &Value {
        &self.config_schema
    }

    /// The environment variables whose values it receives in
    /// `plugin.connect` (never in its environment).
    pub fn secrets(&self) -> &[String] {
        &self.secrets
    }

    /// Further environment variables passed to the process, beyond
    /// [`BASE_ENV`].
    pub fn env_pass(&self) -> &[String] {
        &self.env_pass
    }

    /// Its time and size limits.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// The metadata aido's registry keeps for it as a plugin of `kind`, or
    /// `None` when it does not serve that kind.
    pub fn metadata(&self, kind: PluginKind) -> Option<PluginMetadata> {
        self.kinds.contains(&kind).then(|| PluginMetadata {
            name: self.name.clone(),
            version: self.version.clone(),
            description: self.description.clone(),
            kind,
            required_config: self.required_config.clone(),
            config_schema: self.config_schema.clone(),
            env_prefix: env_prefix(&self.name),
        })
    }

    /// Where what the running plugin says about itself in `initialize`
    /// disagrees with its manifest; empty when they agree.
    pub fn check_plugin_info(&self, info: &PluginInfo) -> Vec<String> {
        let mut problems = Vec::new();
        if info.name != self.name {
            problems.push(format!(
                "the plugin calls itself `{}`, but its manifest names it `{}`",
                info.name, self.name
            ));
        }
        if info.version != self.version {
            problems.push(format!(
                "the plugin says it is version {}, but its manifest says {}",
                info.version, self.version
            ));
        }
        for kind in &self.kinds {
            if !info.kinds.contains(kind) {
                problems.push(format!(
                    "the manifest declares kind {kind}, but the plugin does not serve it"
                ));
            }
        }
        for kind in &info.kinds {
            if !self.kinds.contains(kind) {
                problems.push(format!(
                    "the plugin serves kind {kind}, which its manifest does not declare"
                ));
            }
        }
        let mut ours = self.required_config.clone();
        let mut theirs = info.required_config.clone();
        ours.sort_unstable();
        theirs.sort_unstable();
        if ours != theirs {
            problems.push(format!(
                "the plugin requires configuration [{}], but its manifest says [{}]",
                theirs.join(", "),
                ours.join(", ")
            ));
        }
        problems.extend(info.problems());
        problems
    }
}

/// How to start the plugin: `run.command` and `run.args`.
///
/// The process starts in the plugin's folder (where `plugin.toml` is). A
/// command with a `/` is a path relative to that folder; a bare name is
/// looked up on `PATH`. No shell is involved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunSpec {
    command: String,
    args: Vec<String>,
}

impl RunSpec {
    /// The program.
    pub fn command(&self) -> &str {
        &self.command
    }

    /// Its arguments.
    pub fn args(&self) -> &[String] {
        &self.args
    }
}

/// Time and size limits (`[limits]`); every key is optional.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// How long one call may take unless the step sets its own timeout
    /// (`call_timeout_seconds`, 120).
    pub call_timeout: Duration,
    /// How long from spawning to the answer to `initialize`
    /// (`start_timeout_seconds`, 10).
    pub start_timeout: Duration,
    /// How long from `shutdown` to the process's end before it is killed
    /// (`shutdown_timeout_seconds`, 5).
    pub shutdown_timeout: Duration,
    /// How many calls may be in flight at once (`max_concurrent_calls`, 8).
    pub max_concurrent_calls: u32,
    /// How many times in a row a crashed plugin is restarted before it is
    /// given up (`max_restarts`, 5; 0 never restarts it).
    pub max_restarts: u32,
    /// The longest line either side may send, in bytes
    /// (`max_message_bytes`, 16 MiB).
    pub max_message_bytes: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            call_timeout: Duration::from_secs(120),
            start_timeout: Duration::from_secs(10),
            shutdown_timeout: Duration::from_secs(5),
            max_concurrent_calls: 8,
            max_restarts: 5,
            max_message_bytes: 16 * 1024 * 1024,
        }
    }
}

/// One problem in a manifest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManifestProblem {
    /// The key it is about, as a dotted path (`run.command`, `kinds[1]`);
    /// empty for a problem with the file as a whole.
    pub key: String,
    /// Where, 1-based, when known.
    pub line: Option<usize>,
    /// Where on the line, 1-based, in characters, when known.
    pub column: Option<usize>,
    /// What is wrong and what would be right.
    pub message: String,
}

impl fmt::Display for ManifestProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.line, self.column) {
            (Some(line), Some(column)) => write!(f, "line {line}, column {column}: ")?,
            (Some(line), None) => write!(f, "line {line}: ")?,
            _ => {}
        }
        if !self.key.is_empty() {
            write!(f, "`{}`: ", self.key)?;
        }
        f.write_str(&self.message)
    }
}

/// Every problem found in a manifest, in the order of the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManifestErrors {
    problems: Vec<ManifestProblem>,
}

impl ManifestErrors {
    /// The problems; never empty.
    pub fn problems(&self) -> &[ManifestProblem] {
        &self.problems
    }
}

impl fmt::Display for ManifestErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (index, problem) in self.problems.iter().enumerate() {
            if index > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{problem}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ManifestErrors {}
