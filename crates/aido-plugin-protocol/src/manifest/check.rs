//! Reading `plugin.toml`: the raw form serde fills in (every value with its
//! position, most keys optional so that a missing one is a reported problem
//! rather than the end of parsing), and the checks that turn it into a
//! [`Manifest`], collecting every problem.

use std::ops::Range;
use std::time::Duration;

use aido_plugin_api::PluginKind;
use serde::Deserialize;
use serde_json::Value;
use toml::Spanned;

use super::{BASE_ENV, Limits, Manifest, ManifestErrors, ManifestProblem, RunSpec};
use crate::version::{ProtocolVersion, SUPPORTED_VERSIONS};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawManifest {
    name: Option<Spanned<String>>,
    version: Option<Spanned<String>>,
    description: Option<Spanned<String>>,
    protocol: Option<Spanned<String>>,
    kinds: Option<Spanned<Vec<Spanned<String>>>>,
    #[serde(default)]
    secrets: Vec<Spanned<String>>,
    run: Option<Spanned<RawRun>>,
    #[serde(default)]
    config: RawConfig,
    #[serde(default)]
    env: RawEnv,
    #[serde(default)]
    limits: RawLimits,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRun {
    command: Option<Spanned<String>>,
    #[serde(default)]
    args: Vec<String>,
}

#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    #[serde(default)]
    required: Vec<Spanned<String>>,
    schema: Option<Spanned<toml::Value>>,
}

#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEnv {
    #[serde(default)]
    pass: Vec<Spanned<String>>,
}

#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLimits {
    call_timeout_seconds: Option<Spanned<f64>>,
    start_timeout_seconds: Option<Spanned<f64>>,
    shutdown_timeout_seconds: Option<Spanned<f64>>,
    max_concurrent_calls: Option<Spanned<i64>>,
    max_restarts: Option<Spanned<i64>>,
    max_message_bytes: Option<Spanned<i64>>,
}

/// A valid environment variable name of a list, with where it is.
struct EnvName {
    key: String,
    span: Range<usize>,
    name: String,
}

/// The longest timeout a manifest may set: a day.
const MAX_SECONDS: f64 = 86_400.0;

/// Collects problems with their positions.
struct Checker<'a> {
    text: &'a str,
    problems: Vec<ManifestProblem>,
}

impl Checker<'_> {
    fn report(&mut self, key: &str, span: Option<Range<usize>>, message: impl Into<String>) {
        let (line, column) = span.map(|span| position(self.text, span.start)).unzip();
        self.problems.push(ManifestProblem {
            key: key.to_owned(),
            line,
            column,
            message: message.into(),
        });
    }

    /// A required string: present and not blank.
    fn required(&mut self, key: &str, value: Option<Spanned<String>>) -> Option<Spanned<String>> {
        match value {
            None => {
                self.report(key, None, format!("missing; a manifest must set `{key}`"));
                None
            }
            Some(value) if value.get_ref().trim().is_empty() => {
                self.report(key, Some(value.span()), "must not be empty");
                None
            }
            Some(value) => Some(value),
        }
    }

    fn name(&mut self, value: Option<Spanned<String>>) -> Option<String> {
        let value = self.required("name", value)?;
        if is_plugin_name(value.get_ref()) {
            Some(value.into_inner())
        } else {
            self.report(
                "name",
                Some(value.span()),
                format!(
                    "`{}` is not a plugin name: use at most 64 lower-case letters, digits, `-` and `_`, starting with a letter (such as `memory-tasks`)",
                    value.get_ref()
                ),
            );
            None
        }
    }

    fn version(&mut self, value: Option<Spanned<String>>) -> Option<String> {
        let value = self.required("version", value)?;
        if is_semver(value.get_ref()) {
            Some(value.into_inner())
        } else {
            self.report(
                "version",
                Some(value.span()),
                format!(
                    "`{}` is not a version: use MAJOR.MINOR.PATCH, such as 0.1.0",
                    value.get_ref()
                ),
            );
            None
        }
    }

    fn protocol(&mut self, value: Option<Spanned<String>>) -> Option<ProtocolVersion> {
        let value = self.required("protocol", value)?;
        match value.get_ref().parse::<ProtocolVersion>() {
            Err(err) => {
                self.report("protocol", Some(value.span()), err.to_string());
                None
            }
            Ok(version)
                if !SUPPORTED_VERSIONS
                    .iter()
                    .any(|ours| ours.compatible_with(version)) =>
            {
                let ours: Vec<String> = SUPPORTED_VERSIONS
                    .iter()
                    .map(|ours| format!("{}.x", ours.major))
                    .collect();
                self.report(
                    "protocol",
                    Some(value.span()),
                    format!(
                        "protocol {version} is not one this aido speaks ({}); use a plugin made for it, or a newer aido",
                        ours.join(", ")
                    ),
                );
                None
            }
            Ok(version) => Some(version),
        }
    }

    fn kinds(&mut self, value: Option<Spanned<Vec<Spanned<String>>>>) -> Option<Vec<PluginKind>> {
        let Some(value) = value else {
            self.report(
                "kinds",
                None,
                "missing; list the kinds the plugin serves, such as kinds = [\"task_management\"]",
            );
            return None;
        };
        let span = value.span();
        let names = value.into_inner();
        if names.is_empty() {
            self.report("kinds", Some(span), "must list at least one kind");
            return None;
        }
        let mut kinds = Vec::new();
        let mut all_known = true;
        for (index, name) in names.iter().enumerate() {
            let key = format!("kinds[{index}]");
            match PluginKind::from_name(name.get_ref()) {
                Some(kind) if kinds.contains(&kind) => {
                    self.report(
                        &key,
                        Some(name.span()),
                        format!("kind {kind} is listed twice"),
                    );
                }
                Some(kind) => kinds.push(kind),
                None => {
                    all_known = false;
                    let names: Vec<&str> =
                        PluginKind::ALL.iter().map(|kind| kind.as_str()).collect();
                    let hint = suggest_kind(name.get_ref())
                        .map(|kind| format!("did you mean `{kind}`? "))
                        .unwrap_or_default();
                    self.report(
                        &key,
                        Some(name.span()),
                        format!(
                            "`{}` is not a plugin kind; {hint}the kinds are {}",
                            name.get_ref(),
                            names.join(", ")
                        ),
                    );
                }
            }
        }
        all_known.then_some(kinds)
    }

    fn run(&mut self, value: Option<Spanned<RawRun>>) -> Option<RunSpec> {
        let Some(value) = value else {
            self.report(
                "run",
                None,
                "missing; say how to start the plugin, such as [run] command = \"python3\", args = [\"plugin.py\"]",
            );
            return None;
        };
        let span = value.span();
        let run = value.into_inner();
        let Some(command) = run.command else {
            self.report(
                "run.command",
                Some(span),
                "missing; the program to start, such as \"python3\" or \"./bin/my-plugin\"",
            );
            return None;
        };
        if command.get_ref().trim().is_empty() {
            self.report("run.command", Some(command.span()), "must not be empty");
            return None;
        }
        Some(RunSpec {
            command: command.into_inner(),
            args: run.args,
        })
    }

    fn required_config(&mut self, paths: Vec<Spanned<String>>) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for (index, path) in paths.into_iter().enumerate() {
            let key = format!("config.required[{index}]");
            if !is_dotted_path(path.get_ref()) {
                self.report(
                    &key,
                    Some(path.span()),
                    format!(
                        "`{}` is not a configuration key: use dotted names such as `connection.api_key`",
                        path.get_ref()
                    ),
                );
            } else if out.contains(path.get_ref()) {
                self.report(&key, Some(path.span()), "listed twice");
            } else {
                out.push(path.into_inner());
            }
        }
        out
    }

    fn config_schema(&mut self, schema: Option<Spanned<toml::Value>>) -> Value {
        let Some(schema) = schema else {
            return serde_json::json!({"type": "object"});
        };
        let span = schema.span();
        let mut bad_numbers = false;
        let json = toml_to_json(schema.get_ref(), &mut bad_numbers);
        if bad_numbers {
            self.report(
                "config.schema",
                Some(span.clone()),
                "holds nan or inf, which JSON Schema cannot",
            );
        }
        match json.get("type") {
            _ if !json.is_object() => self.report(
                "config.schema",
                Some(span),
                "must be a table holding a JSON Schema, such as { type = \"object\", properties = { ... } }",
            ),
            Some(kind) if kind != "object" => self.report(
                "config.schema",
                Some(span),
                "a configuration is an object, so the schema's `type` must be \"object\"",
            ),
            _ => {}
        }
        json
    }

    /// A list of environment variable names: valid, and each once. Returns
    /// the valid ones with their index and position, for further checks.
    fn env_names(&mut self, key: &str, names: Vec<Spanned<String>>) -> Vec<EnvName> {
        let mut out: Vec<EnvName> = Vec::new();
        for (index, name) in names.into_iter().enumerate() {
            let item = format!("{key}[{index}]");
            if !is_env_name(name.get_ref()) {
                self.report(
                    &item,
                    Some(name.span()),
                    format!(
                        "`{}` is not an environment variable name: use letters, digits and `_`, not starting with a digit (such as `LINEAR_API_KEY`)",
                        name.get_ref()
                    ),
                );
            } else if out.iter().any(|seen| seen.name == *name.get_ref()) {
                self.report(&item, Some(name.span()), "listed twice");
            } else {
                out.push(EnvName {
                    key: item,
                    span: name.span(),
                    name: name.into_inner(),
                });
            }
        }
        out
    }

    fn secrets(&mut self, names: Vec<Spanned<String>>) -> Vec<String> {
        let secrets = self.env_names("secrets", names);
        for secret in &secrets {
            if BASE_ENV.contains(&secret.name.as_str()) {
                self.report(
                    &secret.key,
                    Some(secret.span.clone()),
                    format!(
                        "`{}` is always passed to plugins; it cannot be a secret",
                        secret.name
                    ),
                );
            }
        }
        secrets.into_iter().map(|secret| secret.name).collect()
    }

    fn env_pass(&mut self, names: Vec<Spanned<String>>, secrets: &[String]) -> Vec<String> {
        let pass = self.env_names("env.pass", names);
        for entry in &pass {
            if secrets.contains(&entry.name) {
                self.report(
                    &entry.key,
                    Some(entry.span.clone()),
                    format!(
                        "`{}` is a secret: secrets reach the plugin only inside plugin.connect, never in its environment; remove it here",
                        entry.name
                    ),
                );
            }
        }
        pass.into_iter().map(|entry| entry.name).collect()
    }

    fn seconds(&mut self, key: &str, value: Option<Spanned<f64>>, default: Duration) -> Duration {
        let Some(value) = value else {
            return default;
        };
        let seconds = *value.get_ref();
        if seconds > 0.0 && seconds <= MAX_SECONDS {
            Duration::try_from_secs_f64(seconds).unwrap_or(default)
        } else {
            self.report(
                &format!("limits.{key}"),
                Some(value.span()),
                format!("must be more than 0 and at most {MAX_SECONDS} seconds"),
            );
            default
        }
    }

    fn count(
        &mut self,
        key: &str,
        value: Option<Spanned<i64>>,
        range: Range<i64>,
        default: u64,
    ) -> u64 {
        let Some(value) = value else {
            return default;
        };
        match u64::try_from(*value.get_ref()) {
            Ok(count) if range.contains(value.get_ref()) => count,
            _ => {
                self.report(
                    &format!("limits.{key}"),
                    Some(value.span()),
                    format!("must be from {} to {}", range.start, range.end - 1),
                );
                default
            }
        }
    }

    fn limits(&mut self, raw: RawLimits) -> Limits {
        let default = Limits::default();
        Limits {
            call_timeout: self.seconds(
                "call_timeout_seconds",
                raw.call_timeout_seconds,
                default.call_timeout,
            ),
            start_timeout: self.seconds(
                "start_timeout_seconds",
                raw.start_timeout_seconds,
                default.start_timeout,
            ),
            shutdown_timeout: self.seconds(
                "shutdown_timeout_seconds",
                raw.shutdown_timeout_seconds,
                default.shutdown_timeout,
            ),
            max_concurrent_calls: clamp_u32(self.count(
                "max_concurrent_calls",
                raw.max_concurrent_calls,
                1..1025,
                u64::from(default.max_concurrent_calls),
            )),
            max_restarts: clamp_u32(self.count(
                "max_restarts",
                raw.max_restarts,
                0..1001,
                u64::from(default.max_restarts),
            )),
            max_message_bytes: self.count(
                "max_message_bytes",
                raw.max_message_bytes,
                1024..(1 << 30) + 1,
                default.max_message_bytes,
            ),
        }
    }
}

/// `count` ranges all fit in `u32`; saturate rather than panic regardless.
fn clamp_u32(count: u64) -> u32 {
    u32::try_from(count).unwrap_or(u32::MAX)
}

pub(super) fn parse(text: &str) -> Result<Manifest, ManifestErrors> {
    let raw: RawManifest = toml::from_str(text).map_err(|err| {
        let (line, column) = err.span().map(|span| position(text, span.start)).unzip();
        ManifestErrors {
            problems: vec![ManifestProblem {
                key: String::new(),
                line,
                column,
                message: err.message().trim().to_owned(),
            }],
        }
    })?;

    let mut check = Checker {
        text,
        problems: Vec::new(),
    };
    let name = check.name(raw.name);
    let version = check.version(raw.version);
    let description = check
        .required("description", raw.description)
        .map(Spanned::into_inner);
    let protocol = check.protocol(raw.protocol);
    let kinds = check.kinds(raw.kinds);
    let run = check.run(raw.run);
    let required_config = check.required_config(raw.config.required);
    let config_schema = check.config_schema(raw.config.schema);
    let secrets = check.secrets(raw.secrets);
    let env_pass = check.env_pass(raw.env.pass, &secrets);
    let limits = check.limits(raw.limits);

    match (name, version, description, protocol, kinds, run) {
        (Some(name), Some(version), Some(description), Some(protocol), Some(kinds), Some(run))
            if check.problems.is_empty() =>
        {
            Ok(Manifest {
                name,
                version,
                description,
                protocol,
                kinds,
                run,
                required_config,
                config_schema,
                secrets,
                env_pass,
                limits,
            })
        }
        _ => {
            let mut problems = check.problems;
            // Missing keys (no line) first, then in the order of the file.
            problems.sort_by_key(|problem| (problem.line, problem.column));
            Err(ManifestErrors { problems })
        }
    }
}

/// The 1-based line and column (in characters) of byte `offset`.
fn position(text: &str, offset: usize) -> (usize, usize) {
    let before = text.get(..offset).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().unwrap_or("").chars().count() + 1;
    (line, column)
}

fn is_plugin_name(name: &str) -> bool {
    let mut chars = name.chars();
    name.len() <= 64
        && chars.next().is_some_and(|first| first.is_ascii_lowercase())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
}

/// `MAJOR.MINOR.PATCH`, optionally followed by `-pre` and/or `+build`.
fn is_semver(version: &str) -> bool {
    let core = version.split(['-', '+']).next().unwrap_or("");
    let rest = &version[core.len()..];
    let parts: Vec<&str> = core.split('.').collect();
    parts.len() == 3
        && parts
            .iter()
            .all(|part| !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit()))
        && (rest.is_empty() || rest.len() > 1)
        && !rest.contains(char::is_whitespace)
}

fn is_env_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|first| first.is_ascii_alphabetic() || first == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

fn is_dotted_path(path: &str) -> bool {
    path.split('.').all(|segment| {
        !segment.is_empty()
            && segment
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    })
}

/// The kind `name` was probably meant to be: `task-management`,
/// `TaskManagement` and near misses of a few letters.
fn suggest_kind(name: &str) -> Option<&'static str> {
    let normalized: String = name
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_lowercase())
        .collect();
    PluginKind::ALL
        .iter()
        .map(|kind| {
            let plain = kind.as_str().replace('_', "");
            (edit_distance(&normalized, &plain), kind.as_str())
        })
        .filter(|(distance, _)| *distance <= 3)
        .min()
        .map(|(_, kind)| kind)
}

/// Levenshtein distance, for suggestions only.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut current = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let substitution = previous[j] + usize::from(ca != *cb);
            let deletion = previous[j + 1] + 1;
            let insertion = current[j] + 1;
            current.push(substitution.min(deletion).min(insertion));
        }
        previous = current;
    }
    previous[b.len()]
}

/// A TOML value as JSON. Dates become strings; `nan` and `inf`, which JSON
/// cannot hold, become `null` and set `bad_numbers`.
fn toml_to_json(value: &toml::Value, bad_numbers: &mut bool) -> Value {
    match value {
        toml::Value::String(text) => Value::from(text.as_str()),
        toml::Value::Integer(number) => Value::from(*number),
        toml::Value::Float(number) => match serde_json::Number::from_f64(*number) {
            Some(number) => Value::Number(number),
            None => {
                *bad_numbers = true;
                Value::Null
            }
        },
        toml::Value::Boolean(flag) => Value::from(*flag),
        toml::Value::Datetime(datetime) => Value::from(datetime.to_string()),
        toml::Value::Array(items) => Value::Array(
            items
                .iter()
                .map(|item| toml_to_json(item, bad_numbers))
                .collect(),
        ),
        toml::Value::Table(table) => Value::Object(
            table
                .iter()
                .map(|(key, item)| (key.clone(), toml_to_json(item, bad_numbers)))
                .collect(),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const GOOD: &str = r#"
name = "memory-tasks"
version = "0.1.0"
description = "Tasks kept in memory."
protocol = "1.0"
kinds = ["task_management"]
secrets = ["MEMORY_TASKS_TOKEN"]

[run]
command = "python3"
args = ["memory_tasks.py", "--quiet"]

[config]
required = ["project"]

[config.schema]
type = "object"
additionalProperties = false
required = ["project"]
properties = { project = { type = "string" }, latency_seconds = { type = "number", minimum = 0 } }

[env]
pass = ["http_proxy", "MEMORY_TASKS_URL"]

[limits]
call_timeout_seconds = 30
start_timeout_seconds = 2.5
max_concurrent_calls = 4
max_restarts = 0
"#;

    fn problems(text: &str) -> Vec<String> {
        Manifest::from_toml(text)
            .unwrap_err()
            .problems()
            .iter()
            .map(ToString::to_string)
            .collect()
    }

    #[test]
    fn a_good_manifest_reads_completely() {
        let manifest = Manifest::from_toml(GOOD).unwrap();
        assert_eq!(manifest.name(), "memory-tasks");
        assert_eq!(manifest.version(), "0.1.0");
        assert_eq!(manifest.protocol(), ProtocolVersion::new(1, 0));
        assert_eq!(manifest.kinds(), [PluginKind::TaskManagement]);
        assert_eq!(manifest.run().command(), "python3");
        assert_eq!(manifest.run().args(), ["memory_tasks.py", "--quiet"]);
        assert_eq!(manifest.required_config(), ["project"]);
        assert_eq!(manifest.secrets(), ["MEMORY_TASKS_TOKEN"]);
        assert_eq!(manifest.env_pass(), ["http_proxy", "MEMORY_TASKS_URL"]);
        assert_eq!(
            manifest.config_schema(),
            &json!({
                "type": "object",
                "additionalProperties": false,
                "required": ["project"],
                "properties": {
                    "project": {"type": "string"},
                    "latency_seconds": {"type": "number", "minimum": 0}
                }
            })
        );
        let limits = manifest.limits();
        assert_eq!(limits.call_timeout, Duration::from_secs(30));
        assert_eq!(limits.start_timeout, Duration::from_millis(2500));
        assert_eq!(limits.shutdown_timeout, Duration::from_secs(5));
        assert_eq!(limits.max_concurrent_calls, 4);
        assert_eq!(limits.max_restarts, 0);
        assert_eq!(limits.max_message_bytes, 16 * 1024 * 1024);

        let meta = manifest.metadata(PluginKind::TaskManagement).unwrap();
        assert_eq!(meta.env_prefix, "MEMORY_TASKS");
        assert!(manifest.metadata(PluginKind::Monitoring).is_none());
    }

    #[test]
    fn a_minimal_manifest_gets_defaults() {
        let manifest = Manifest::from_toml(
            "name = \"m\"\nversion = \"1.0.0-beta.1\"\ndescription = \"d\"\nprotocol = \"1.0\"\nkinds = [\"monitoring\"]\nrun = { command = \"./m\" }\n",
        )
        .unwrap();
        assert_eq!(manifest.config_schema(), &json!({"type": "object"}));
        assert!(manifest.secrets().is_empty() && manifest.env_pass().is_empty());
        assert_eq!(manifest.limits(), &Limits::default());
        assert!(manifest.run().args().is_empty());
    }

    #[test]
    fn every_problem_is_reported_at_once_with_its_line() {
        let text = r#"name = "Memory Tasks"
version = "one"
protocol = "1"
kinds = ["task-management", "chat"]
secrets = ["API-KEY", "PATH", "TOKEN"]

[run]
args = ["x"]

[config]
required = ["connection..key"]
schema = { type = "array" }

[env]
pass = ["TOKEN", "1BAD"]

[limits]
call_timeout_seconds = 0
max_concurrent_calls = 0
"#;
        assert_eq!(
            problems(text),
            vec![
                "`description`: missing; a manifest must set `description`",
                "line 1, column 8: `name`: `Memory Tasks` is not a plugin name: use at most 64 lower-case letters, digits, `-` and `_`, starting with a letter (such as `memory-tasks`)",
                "line 2, column 11: `version`: `one` is not a version: use MAJOR.MINOR.PATCH, such as 0.1.0",
                "line 3, column 12: `protocol`: `1` is not a protocol version; expected MAJOR.MINOR, such as 1.0",
                "line 4, column 10: `kinds[0]`: `task-management` is not a plugin kind; did you mean `task_management`? the kinds are task_management, version_control, documentation, communication, ai_provider, monitoring",
                "line 4, column 29: `kinds[1]`: `chat` is not a plugin kind; the kinds are task_management, version_control, documentation, communication, ai_provider, monitoring",
                "line 5, column 12: `secrets[0]`: `API-KEY` is not an environment variable name: use letters, digits and `_`, not starting with a digit (such as `LINEAR_API_KEY`)",
                "line 5, column 23: `secrets[1]`: `PATH` is always passed to plugins; it cannot be a secret",
                "line 7, column 1: `run.command`: missing; the program to start, such as \"python3\" or \"./bin/my-plugin\"",
                "line 11, column 13: `config.required[0]`: `connection..key` is not a configuration key: use dotted names such as `connection.api_key`",
                "line 12, column 10: `config.schema`: a configuration is an object, so the schema's `type` must be \"object\"",
                "line 15, column 9: `env.pass[0]`: `TOKEN` is a secret: secrets reach the plugin only inside plugin.connect, never in its environment; remove it here",
                "line 15, column 18: `env.pass[1]`: `1BAD` is not an environment variable name: use letters, digits and `_`, not starting with a digit (such as `LINEAR_API_KEY`)",
                "line 18, column 24: `limits.call_timeout_seconds`: must be more than 0 and at most 86400 seconds",
                "line 19, column 24: `limits.max_concurrent_calls`: must be from 1 to 1024",
            ]
        );
    }

    #[test]
    fn missing_keys_are_named() {
        assert_eq!(
            problems(""),
            vec![
                "`name`: missing; a manifest must set `name`",
                "`version`: missing; a manifest must set `version`",
                "`description`: missing; a manifest must set `description`",
                "`protocol`: missing; a manifest must set `protocol`",
                "`kinds`: missing; list the kinds the plugin serves, such as kinds = [\"task_management\"]",
                "`run`: missing; say how to start the plugin, such as [run] command = \"python3\", args = [\"plugin.py\"]",
            ]
        );
    }

    #[test]
    fn a_protocol_major_this_aido_does_not_speak_is_a_problem() {
        let text = GOOD.replace("protocol = \"1.0\"", "protocol = \"2.0\"");
        assert_eq!(
            problems(&text),
            vec![
                "line 5, column 12: `protocol`: protocol 2.0 is not one this aido speaks (1.x); use a plugin made for it, or a newer aido"
            ]
        );
        // A newer minor of the same major is fine: the handshake settles on 1.0.
        let text = GOOD.replace("protocol = \"1.0\"", "protocol = \"1.4\"");
        assert!(Manifest::from_toml(&text).is_ok());
    }

    #[test]
    fn unknown_keys_and_syntax_errors_stop_with_a_position() {
        let text = GOOD.replace("description =", "descripton =");
        let found = problems(&text);
        assert_eq!(found.len(), 1);
        assert!(
            found[0].starts_with("line 4, column 1: unknown field `descripton`"),
            "{}",
            found[0]
        );

        let found = problems("name = \"x\"\nkinds = [\n");
        assert_eq!(found.len(), 1);
        assert_eq!(found[0], "line 2, column 10: unclosed array, expected `]`");
    }

    #[test]
    fn duplicates_are_problems() {
        let text = GOOD
            .replace(
                "kinds = [\"task_management\"]",
                "kinds = [\"task_management\", \"task_management\"]",
            )
            .replace(
                "pass = [\"http_proxy\", \"MEMORY_TASKS_URL\"]",
                "pass = [\"A\", \"A\"]",
            );
        let found = problems(&text);
        assert_eq!(found.len(), 2, "{found:?}");
        assert!(found[0].contains("kind task_management is listed twice"));
        assert!(found[1].contains("`env.pass[1]`: listed twice"));
    }

    #[test]
    fn plugin_info_is_checked_against_the_manifest() {
        use crate::messages::PluginInfo;
        let manifest = Manifest::from_toml(GOOD).unwrap();
        let mut info = PluginInfo {
            name: "memory-tasks".into(),
            version: "0.1.0".into(),
            description: "whatever".into(),
            kinds: vec![PluginKind::TaskManagement],
            methods: vec!["task_management.get_task".into()],
            required_config: vec!["project".into()],
            config_schema: json!({}),
        };
        assert!(manifest.check_plugin_info(&info).is_empty());
        info.name = "other".into();
        info.version = "0.2.0".into();
        info.kinds = vec![PluginKind::Documentation];
        info.required_config = vec![];
        assert_eq!(
            manifest.check_plugin_info(&info),
            vec![
                "the plugin calls itself `other`, but its manifest names it `memory-tasks`",
                "the plugin says it is version 0.2.0, but its manifest says 0.1.0",
                "the manifest declares kind task_management, but the plugin does not serve it",
                "the plugin serves kind documentation, which its manifest does not declare",
                "the plugin requires configuration [], but its manifest says [project]",
                "method `task_management.get_task` is of kind task_management, which plugin `other` does not declare",
            ]
        );
    }

    #[test]
    fn helpers() {
        assert!(
            is_semver("1.2.3")
                && is_semver("1.2.3-rc.1+b5")
                && !is_semver("1.2")
                && !is_semver("1.2.3-")
        );
        assert!(is_env_name("_X1") && !is_env_name("") && !is_env_name("A B"));
        assert_eq!(suggest_kind("TaskManagement"), Some("task_management"));
        assert_eq!(suggest_kind("monitor"), Some("monitoring"));
        assert_eq!(suggest_kind("weather"), None);
        assert_eq!(position("ab\ncd", 4), (2, 2));
        assert_eq!(edit_distance("kitten", "sitting"), 3);
    }
}
