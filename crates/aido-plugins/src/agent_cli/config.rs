//! The `agent_cli` plugin's configuration: which agent CLI, how it is
//! started, which environment it sees, and the limits of one run.
//!
//! The types own their defaults and their checks ([`check_config`]), so the
//! schema aido validates against and the rules the plugin enforces live in
//! one place.

use std::collections::BTreeMap;
use std::path::PathBuf;

use aido_plugin_api::{ConfigProblem, PluginConfig, Secret};
use schemars::JsonSchema;
use serde::Deserialize;

use crate::ai_pricing::{self, ModelPrice};

/// How long a run may take when the configuration does not say: long
/// enough for a real coding task, short enough that a stuck agent does not
/// hold a run for hours.
const DEFAULT_TIMEOUT_SECONDS: u64 = 1800;

/// How much of each of the agent's output streams is kept: the final answer
/// and usage are at the end, so the last 4 MiB is plenty, and a chatty agent
/// cannot fill aido's memory.
const DEFAULT_MAX_OUTPUT_BYTES: u64 = 4 * 1024 * 1024;

/// Output tokens `estimate_cost` assumes when a request does not say.
const DEFAULT_MAX_TOKENS: u32 = 4096;

/// Configuration of the `agent_cli` plugin.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct AgentCliConfig {
    /// Which agent CLI runs, and with what environment.
    #[serde(default)]
    pub connection: AgentConnection,
    /// Limits and settings of each run.
    #[serde(default)]
    pub options: AgentOptions,
}

/// Which agent CLI runs, and with what environment.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct AgentConnection {
    /// The agent CLI: `claude_code`, `codex`, `aider`, or `custom` (which
    /// needs `command`).
    #[serde(default)]
    pub preset: Preset,
    /// The argument list to start, program first. Required for `custom`;
    /// with a preset it replaces the preset's own command while the preset
    /// still decides how the output is read and which flag carries the
    /// model. A `{prompt}` in any argument is replaced by the prompt;
    /// without one, the prompt is written to the agent's stdin. A relative
    /// program path with a `/` is resolved against the project's root; a
    /// bare name is looked up on `PATH`.
    #[serde(default)]
    pub command: Option<Vec<String>>,
    /// Extra environment variables for the agent. Values are treated as
    /// secrets: never printed or logged.
    #[serde(default)]
    pub env: BTreeMap<String, Secret>,
    /// Names of variables passed through from aido's own environment (for
    /// example `ANTHROPIC_API_KEY`). The agent gets a cleared environment
    /// holding only `PATH`, `HOME`, `LANG`, `TMPDIR`, these, and `env`.
    #[serde(default)]
    pub pass_env: Vec<String>,
}

/// The agent CLIs the plugin knows how to run headless.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Preset {
    /// Anthropic's Claude Code (`claude -p --output-format json`).
    #[default]
    ClaudeCode,
    /// OpenAI's Codex CLI (`codex exec --json`).
    Codex,
    /// Aider (`aider --message ... --yes-always --no-auto-commits`).
    Aider,
    /// Any other program, started from `connection.command`.
    Custom,
}

impl Preset {
    /// The name used in the configuration, for messages.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Preset::ClaudeCode => "claude_code",
            Preset::Codex => "codex",
            Preset::Aider => "aider",
            Preset::Custom => "custom",
        }
    }
}

/// Limits and settings of each run.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct AgentOptions {
    /// How long one run of the agent may take, in seconds; after that the
    /// agent and everything it started are killed.
    #[serde(default = "default_timeout_seconds")]
    pub timeout_seconds: u64,
    /// The model, passed with the preset's model flag (`--model`); a
    /// request's own `model` wins. With `custom`, put it in `command`.
    #[serde(default)]
    pub model: Option<String>,
    /// How many bytes of each of the agent's output streams are kept (the
    /// last ones, where the answer is).
    #[serde(default = "default_max_output_bytes")]
    pub max_output_bytes: u64,
    /// The folder the agent works in, relative to the project's root; the
    /// project's root when absent.
    #[serde(default)]
    pub workdir: Option<PathBuf>,
    /// Output tokens `estimate_cost` assumes when a request does not say.
    #[serde(default = "default_max_tokens")]
    pub max_tokens: u32,
    /// Prices per model, in US dollars per million tokens, replacing or
    /// adding to the built-in list prices. Used when the CLI does not
    /// report its cost itself.
    #[serde(default)]
    pub prices: BTreeMap<String, ModelPrice>,
}

impl Default for AgentOptions {
    fn default() -> Self {
        AgentOptions {
            timeout_seconds: default_timeout_seconds(),
            model: None,
            max_output_bytes: default_max_output_bytes(),
            workdir: None,
            max_tokens: default_max_tokens(),
            prices: BTreeMap::new(),
        }
    }
}

fn default_timeout_seconds() -> u64 {
    DEFAULT_TIMEOUT_SECONDS
}

fn default_max_output_bytes() -> u64 {
    DEFAULT_MAX_OUTPUT_BYTES
}

fn default_max_tokens() -> u32 {
    DEFAULT_MAX_TOKENS
}

/// The folder the agent works in: `options.workdir` resolved against the
/// project's root, or the root itself.
pub(crate) fn workdir(config: &PluginConfig, parsed: &AgentCliConfig) -> PathBuf {
    match &parsed.options.workdir {
        Some(dir) => config.resolve_path(dir),
        None => config.project_dir().to_owned(),
    }
}

/// Every problem a schema cannot express. Reads nothing but the workdir's
/// metadata; whether the agent's binary exists is left to `health_check`
/// and to the call, since a configuration may be checked on a machine
/// that does not run agents.
pub(crate) fn check_config(config: &PluginConfig, parsed: &AgentCliConfig) -> Vec<ConfigProblem> {
    let mut problems = check_values(parsed);
    let dir = workdir(config, parsed);
    if dir.exists() && !dir.is_dir() {
        problems.push(ConfigProblem::new(
            "options.workdir",
            format!(
                "{} is not a folder; the agent needs a folder to work in",
                dir.display()
            ),
        ));
    }
    problems
}

/// The checks of `connection` that need no file.
fn check_connection(connection: &AgentConnection) -> Vec<ConfigProblem> {
    let mut problems = Vec::new();
    match (&connection.command, connection.preset) {
        (None, Preset::Custom) => problems.push(ConfigProblem::new(
            "connection.command",
            "preset `custom` needs `command`, the agent's argument list with the program \
             first, such as [\"my-agent\", \"--task\", \"{prompt}\"]",
        )),
        (Some(command), _) if command.is_empty() => problems.push(ConfigProblem::new(
            "connection.command",
            "must name at least the program to start, such as [\"claude\", \"-p\"]",
        )),
        (Some(command), _) if command[0].trim().is_empty() => problems.push(ConfigProblem::new(
            "connection.command.0",
            "the program to start must not be empty",
        )),
        _ => {}
    }
    for name in connection.env.keys() {
        if !is_variable_name(name) {
            problems.push(ConfigProblem::new(
                format!("connection.env.{name}"),
                "an environment variable name is letters, digits and `_`, not starting \
                 with a digit",
            ));
        }
    }
    for (index, name) in connection.pass_env.iter().enumerate() {
        if !is_variable_name(name) {
            problems.push(ConfigProblem::new(
                format!("connection.pass_env.{index}"),
                format!(
                    "`{name}` is not an environment variable name (letters, digits and `_`, \
                     not starting with a digit)"
                ),
            ));
        }
    }
    problems
}

/// The checks of `options` that need no file.
fn check_options(options: &AgentOptions) -> Vec<ConfigProblem> {
    let mut problems = Vec::new();
    if options.timeout_seconds == 0 {
        problems.push(ConfigProblem::new(
            "options.timeout_seconds",
            "must be at least 1 second",
        ));
    }
    if options.max_output_bytes == 0 {
        problems.push(ConfigProblem::new(
            "options.max_output_bytes",
            "must be at least 1 byte; the answer is read from the agent's output",
        ));
    }
    if options.max_tokens == 0 {
        problems.push(ConfigProblem::new(
            "options.max_tokens",
            "must be at least 1",
        ));
    }
    if options
        .model
        .as_deref()
        .is_some_and(|m| m.trim().is_empty())
    {
        problems.push(ConfigProblem::new(
            "options.model",
            "must not be empty; leave it out to use the agent's own default model",
        ));
    }
    problems.extend(ai_pricing::check_prices("options.prices", &options.prices));
    problems
}

/// The checks that need no file, as one configuration error (for
/// `connect`, which must refuse what `validate_config` would report).
pub(crate) fn check_values(parsed: &AgentCliConfig) -> Vec<ConfigProblem> {
    let mut problems = check_connection(&parsed.connection);
    problems.extend(check_options(&parsed.options));
    problems
}

/// `[A-Za-z_][A-Za-z0-9_]*`: the names every shell and `env` accept.
pub(crate) fn is_variable_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|first| first.is_ascii_alphabetic() || first == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Whether `program` names a program by path (`./bin/agent`,
/// `/usr/bin/x`) rather than by a name to look up on `PATH`.
pub(crate) fn is_path_like(program: &str) -> bool {
    program.contains('/') || program.contains(std::path::MAIN_SEPARATOR)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(value: serde_json::Value) -> AgentCliConfig {
        serde_json::from_value(value).unwrap()
    }

    fn paths(problems: &[ConfigProblem]) -> Vec<&str> {
        problems.iter().map(|p| p.path.as_str()).collect()
    }

    #[test]
    fn defaults_are_claude_code_for_half_an_hour() {
        let config = parse(json!({}));
        assert_eq!(config.connection.preset, Preset::ClaudeCode);
        assert_eq!(config.options.timeout_seconds, 1800);
        assert!(config.options.max_output_bytes >= 1024 * 1024);
        assert!(check_values(&config).is_empty());
    }

    #[test]
    fn unknown_keys_are_rejected() {
        let err = serde_json::from_value::<AgentCliConfig>(json!({"options": {"timeout": 5}}))
            .unwrap_err()
            .to_string();
        assert!(err.contains("unknown field `timeout`"), "{err}");
        let err =
            serde_json::from_value::<AgentCliConfig>(json!({"connection": {"preset": "cursor"}}))
                .unwrap_err()
                .to_string();
        assert!(err.contains("claude_code"), "{err}");
    }

    #[test]
    fn every_problem_is_reported_with_its_key() {
        let config = parse(json!({
            "connection": {
                "preset": "custom",
                "env": {"1BAD": "x", "GOOD_NAME": "y"},
                "pass_env": ["ANTHROPIC_API_KEY", "NOT-OK"]
            },
            "options": {"timeout_seconds": 0, "max_output_bytes": 0, "model": " ",
                        "prices": {"m": {"input_per_mtok": -1.0, "output_per_mtok": 1.0}}}
        }));
        let problems = check_values(&config);
        assert_eq!(
            paths(&problems),
            [
                "connection.command",
                "connection.env.1BAD",
                "connection.pass_env.1",
                "options.timeout_seconds",
                "options.max_output_bytes",
                "options.model",
                "options.prices.m.input_per_mtok",
            ]
        );
        assert!(problems[0].message.contains("{prompt}"), "{problems:?}");
    }

    #[test]
    fn an_empty_command_is_a_problem_for_any_preset() {
        let config = parse(json!({"connection": {"preset": "codex", "command": []}}));
        assert_eq!(paths(&check_values(&config)), ["connection.command"]);
        let config = parse(json!({"connection": {"command": [" "]}}));
        assert_eq!(paths(&check_values(&config)), ["connection.command.0"]);
    }

    #[test]
    fn a_workdir_that_is_a_file_is_a_problem() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("file"), "x").unwrap();
        let plugin_config = PluginConfig::new("ai_provider", json!({}), dir.path(), dir.path());
        let config = parse(json!({"options": {"workdir": "file"}}));
        let problems = check_config(&plugin_config, &config);
        assert_eq!(paths(&problems), ["options.workdir"]);
        // A folder that does not exist yet is fine: a workflow may create it.
        let config = parse(json!({"options": {"workdir": "later"}}));
        assert!(check_config(&plugin_config, &config).is_empty());
        assert_eq!(workdir(&plugin_config, &config), dir.path().join("later"));
    }

    #[test]
    fn variable_names_and_program_paths() {
        assert!(is_variable_name("ANTHROPIC_API_KEY"));
        assert!(is_variable_name("_x1"));
        assert!(!is_variable_name(""));
        assert!(!is_variable_name("1A"));
        assert!(!is_variable_name("A=B"));
        assert!(is_path_like("./agent"));
        assert!(is_path_like("/usr/bin/claude"));
        assert!(is_path_like("bin/agent"));
        assert!(!is_path_like("claude"));
    }
}
