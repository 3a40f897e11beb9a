//! The `local` task plugin's configuration: where the task files live and
//! how new tasks are named.
//!
//! Every key has a default, so an empty configuration is valid. There is no
//! `mappings` section: the files store the standard status and priority
//! names, so there is nothing to map.

use std::path::PathBuf;

use aido_plugin_api::ConfigProblem;
use schemars::JsonSchema;
use serde::Deserialize;

/// Configuration of the `local` task plugin.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct Config {
    /// Where the task files are.
    pub(crate) connection: Connection,
    /// How tasks are named and who changes are attributed to.
    pub(crate) options: Options,
}

/// Where the task files are.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct Connection {
    /// The folder holding one `<ID>.md` file per task. A relative path is
    /// resolved against the project's root. Created on connect.
    pub(crate) dir: PathBuf,
}

impl Default for Connection {
    fn default() -> Self {
        Connection {
            dir: PathBuf::from(".aido/tasks"),
        }
    }
}

/// How tasks are named and who changes are attributed to.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct Options {
    /// The prefix of new task ids: with `TASK`, tasks are `TASK-1`,
    /// `TASK-2`, ... A letter, then letters, digits or `_`.
    #[schemars(pattern(r"^[A-Za-z][A-Za-z0-9_]{0,31}$"))]
    pub(crate) id_prefix: String,
    /// The name recorded as the author of comments and the actor of
    /// history events.
    pub(crate) author: String,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            id_prefix: "TASK".to_owned(),
            author: "aido".to_owned(),
        }
    }
}

impl Config {
    /// What the schema cannot say, or what a caller that skipped the schema
    /// check would miss: every problem, not just the first.
    pub(crate) fn problems(&self) -> Vec<ConfigProblem> {
        let mut problems = Vec::new();
        if !is_valid_prefix(&self.options.id_prefix) {
            problems.push(ConfigProblem::new(
                "options.id_prefix",
                format!(
                    "`{}` cannot start task ids; use a letter followed by up to 31 letters, digits or `_`, such as `TASK`",
                    self.options.id_prefix
                ),
            ));
        }
        if self.connection.dir.as_os_str().is_empty() {
            problems.push(ConfigProblem::new(
                "connection.dir",
                "the task folder is empty; name a folder such as `.aido/tasks`",
            ));
        }
        problems
    }
}

/// Whether `prefix` matches the schema's pattern for `options.id_prefix`.
fn is_valid_prefix(prefix: &str) -> bool {
    let mut chars = prefix.chars();
    let starts_with_letter = chars.next().is_some_and(|c| c.is_ascii_alphabetic());
    starts_with_letter && prefix.len() <= 32 && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(value: serde_json::Value) -> Result<Config, serde_json::Error> {
        serde_json::from_value(value)
    }

    #[test]
    fn an_empty_configuration_takes_the_defaults() {
        let config = parse(json!({})).unwrap();
        assert_eq!(config.connection.dir, PathBuf::from(".aido/tasks"));
        assert_eq!(config.options.id_prefix, "TASK");
        assert!(config.problems().is_empty());
    }

    #[test]
    fn unknown_keys_are_rejected() {
        let err = parse(json!({"mappings": {"statuses": {"done": "Closed"}}})).unwrap_err();
        assert!(
            err.to_string().contains("unknown field `mappings`"),
            "{err}"
        );
        let err = parse(json!({"options": {"prefix": "X"}})).unwrap_err();
        assert!(err.to_string().contains("unknown field `prefix`"), "{err}");
    }

    #[test]
    fn bad_prefixes_are_reported_with_the_key() {
        for prefix in [
            "",
            "1ABC",
            "A-B",
            "A/B",
            "ABCDEFGHIJKLMNOPQRSTUVWXYZABCDEFG",
        ] {
            let config = parse(json!({"options": {"id_prefix": prefix}})).unwrap();
            let problems = config.problems();
            assert_eq!(problems.len(), 1, "{prefix:?}");
            assert_eq!(problems[0].path, "options.id_prefix");
        }
        assert!(
            parse(json!({"options": {"id_prefix": "PROJ_2"}}))
                .unwrap()
                .problems()
                .is_empty()
        );
    }

    #[test]
    fn the_schema_requires_nothing_and_forbids_extra_keys() {
        let schema = serde_json::to_value(schemars::schema_for!(Config)).unwrap();
        assert!(schema.get("required").is_none(), "{schema}");
        assert_eq!(schema["additionalProperties"], json!(false), "{schema}");
    }
}
