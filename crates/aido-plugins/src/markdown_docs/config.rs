//! The `markdown` documentation plugin's configuration: where the pages
//! live and who versions are attributed to.
//!
//! Every key has a default, so an empty configuration is valid.

use std::path::PathBuf;

use aido_plugin_api::ConfigProblem;
use schemars::JsonSchema;
use serde::Deserialize;

/// Configuration of the `markdown` documentation plugin.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct Config {
    /// Where the pages are.
    pub(crate) connection: Connection,
    /// Who versions are attributed to.
    pub(crate) options: Options,
}

/// Where the pages are.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct Connection {
    /// The folder holding one subfolder per space. A relative path is
    /// resolved against the project's root. Created on connect.
    pub(crate) dir: PathBuf,
}

impl Default for Connection {
    fn default() -> Self {
        Connection {
            dir: PathBuf::from(".aido/docs"),
        }
    }
}

/// Who versions are attributed to.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct Options {
    /// The name recorded as the author of each page version.
    pub(crate) author: String,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            author: "aido".to_owned(),
        }
    }
}

impl Config {
    /// What the schema cannot say: every problem, not just the first.
    pub(crate) fn problems(&self) -> Vec<ConfigProblem> {
        let mut problems = Vec::new();
        if self.connection.dir.as_os_str().is_empty() {
            problems.push(ConfigProblem::new(
                "connection.dir",
                "the documentation folder is empty; name a folder such as `.aido/docs`",
            ));
        }
        problems
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn an_empty_configuration_takes_the_defaults() {
        let config: Config = serde_json::from_value(json!({})).unwrap();
        assert_eq!(config.connection.dir, PathBuf::from(".aido/docs"));
        assert_eq!(config.options.author, "aido");
        assert!(config.problems().is_empty());
    }

    #[test]
    fn unknown_keys_are_rejected() {
        let err =
            serde_json::from_value::<Config>(json!({"connection": {"path": "x"}})).unwrap_err();
        assert!(err.to_string().contains("unknown field `path`"), "{err}");
    }

    #[test]
    fn an_empty_folder_is_a_problem_at_its_key() {
        let config: Config = serde_json::from_value(json!({"connection": {"dir": ""}})).unwrap();
        assert_eq!(config.problems()[0].path, "connection.dir");
    }

    #[test]
    fn the_schema_requires_nothing_and_forbids_extra_keys() {
        let schema = serde_json::to_value(schemars::schema_for!(Config)).unwrap();
        assert!(schema.get("required").is_none(), "{schema}");
        assert_eq!(schema["additionalProperties"], json!(false), "{schema}");
    }
}
