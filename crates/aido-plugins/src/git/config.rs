//! The git plugin's configuration and the settings resolved from it.
//!
//! Everything is optional, so `{}` is a valid configuration: git from the
//! `PATH`, commits by `aido <aido@localhost>` when a repository has no
//! identity of its own, five minutes per git call, remote `origin`.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::time::Duration;

use aido_plugin_api::model::vcs::Signature;
use aido_plugin_api::{ConfigProblem, PluginConfig, Result};
use schemars::JsonSchema;
use serde::Deserialize;

use super::cli::Git;

/// The author used when a repository has no `user.name`.
const DEFAULT_AUTHOR_NAME: &str = "aido";
/// The email used when a repository has no `user.email`.
const DEFAULT_AUTHOR_EMAIL: &str = "aido@localhost";
/// How long one git call may take, in seconds, unless configured.
const DEFAULT_TIMEOUT_SECONDS: u64 = 300;
/// The remote pushed to and cloned as, unless configured.
const DEFAULT_REMOTE: &str = "origin";

/// The configuration of the `git` plugin.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// How to run git.
    #[serde(default)]
    pub connection: Connection,
    /// How the plugin behaves.
    #[serde(default)]
    pub options: Options,
}

/// How to run git.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Connection {
    /// The git executable: a name looked up in `PATH` or a path (relative
    /// paths are resolved against the project folder). Default: `git`.
    #[serde(default)]
    pub git_binary: Option<PathBuf>,
}

/// How the plugin behaves.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Options {
    /// Commit author name used when the repository has no `user.name`.
    /// Default: `aido`.
    #[serde(default)]
    pub author_name: Option<String>,
    /// Commit author email used when the repository has no `user.email`.
    /// Default: `aido@localhost`.
    #[serde(default)]
    pub author_email: Option<String>,
    /// How long one git command may run before it is stopped. Default: 300.
    #[serde(default)]
    #[schemars(range(min = 1))]
    pub command_timeout_seconds: Option<u64>,
    /// The remote to clone as and push to when a call names none.
    /// Default: `origin`.
    #[serde(default)]
    pub default_remote: Option<String>,
}

impl Config {
    /// Every problem the schema cannot express, all at once.
    pub(crate) fn problems(&self) -> Vec<ConfigProblem> {
        let mut problems = Vec::new();
        let options = &self.options;
        if options.command_timeout_seconds == Some(0) {
            problems.push(ConfigProblem::new(
                "options.command_timeout_seconds",
                "must be at least 1 (seconds); leave it out for the default of 300",
            ));
        }
        if let Some(name) = &options.author_name
            && let Some(why) = identity_problem(name)
        {
            problems.push(ConfigProblem::new("options.author_name", why));
        }
        if let Some(email) = &options.author_email
            && let Some(why) = identity_problem(email)
        {
            problems.push(ConfigProblem::new("options.author_email", why));
        }
        if let Some(remote) = &options.default_remote
            && (remote.is_empty()
                || remote.starts_with('-')
                || remote.contains(char::is_whitespace))
        {
            problems.push(ConfigProblem::new(
                "options.default_remote",
                "must be a remote name such as `origin` (not empty, no spaces, not starting with `-`)",
            ));
        }
        if self
            .connection
            .git_binary
            .as_deref()
            .is_some_and(|p| p.as_os_str().is_empty())
        {
            problems.push(ConfigProblem::new(
                "connection.git_binary",
                "must not be empty; leave it out to run `git` from the PATH",
            ));
        }
        problems
    }
}

/// Why `value` cannot be part of a git identity, if it cannot.
pub(crate) fn identity_problem(value: &str) -> Option<&'static str> {
    if value.trim().is_empty() {
        Some("must not be empty")
    } else if value.contains(['<', '>', '\n', '\r', '\0']) {
        Some("must not contain `<`, `>` or line breaks, which git cannot store in an identity")
    } else {
        None
    }
}

/// The configuration resolved for use: what every operation needs.
#[derive(Debug)]
pub(crate) struct Settings {
    /// How to run git.
    pub(crate) git: Git,
    /// Who commits when a repository has no identity of its own.
    pub(crate) fallback_author: Signature,
    /// The remote used when a call names none.
    pub(crate) default_remote: String,
    /// Where relative paths in calls are resolved.
    pub(crate) project_dir: PathBuf,
    /// Where pull request records live (absolute).
    pub(crate) data_dir: PathBuf,
}

impl Settings {
    /// Parses and checks `config`, resolving paths against the project.
    pub(crate) fn from_config(
        config: &PluginConfig,
        extra_env: Vec<(OsString, OsString)>,
    ) -> Result<Self> {
        let parsed: Config = config.parse()?;
        if let Some(problem) = parsed.problems().into_iter().next() {
            return Err(aido_plugin_api::Error::configuration(format!(
                "{}: {}",
                problem.path, problem.message
            )));
        }
        let options = parsed.options;
        let timeout = Duration::from_secs(
            options
                .command_timeout_seconds
                .unwrap_or(DEFAULT_TIMEOUT_SECONDS),
        );
        let binary = resolve_binary(parsed.connection.git_binary, config);
        Ok(Settings {
            git: Git::new(binary, timeout).with_env(extra_env),
            fallback_author: Signature {
                name: options
                    .author_name
                    .unwrap_or_else(|| DEFAULT_AUTHOR_NAME.to_owned()),
                email: options
                    .author_email
                    .unwrap_or_else(|| DEFAULT_AUTHOR_EMAIL.to_owned()),
            },
            default_remote: options
                .default_remote
                .unwrap_or_else(|| DEFAULT_REMOTE.to_owned()),
            project_dir: absolute(config.project_dir()),
            data_dir: absolute(&config.resolve_path(config.data_dir())),
        })
    }

    /// A path from a call, resolved against the project folder.
    pub(crate) fn resolve(&self, path: &str) -> PathBuf {
        self.project_dir.join(path)
    }
}

/// The binary to run: a bare name stays a name (looked up in `PATH`), a
/// path is resolved against the project.
fn resolve_binary(configured: Option<PathBuf>, config: &PluginConfig) -> PathBuf {
    match configured {
        None => PathBuf::from("git"),
        Some(path) if path.components().count() == 1 && !path.is_absolute() => path,
        Some(path) => config.resolve_path(path),
    }
}

/// `path` made absolute against the current directory, without touching the
/// file system (it may not exist yet).
fn absolute(path: &Path) -> PathBuf {
    std::path::absolute(path).unwrap_or_else(|_| path.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(value: serde_json::Value) -> Result<Config> {
        PluginConfig::new("version_control", value, "/project", ".aido").parse()
    }

    #[test]
    fn empty_config_is_valid_and_has_defaults() {
        let config = PluginConfig::new(
            "version_control",
            serde_json::json!({}),
            "/project",
            ".aido",
        );
        let settings = Settings::from_config(&config, Vec::new()).unwrap();
        assert_eq!(settings.git.binary(), Path::new("git"));
        assert_eq!(settings.fallback_author.name, "aido");
        assert_eq!(settings.fallback_author.email, "aido@localhost");
        assert_eq!(settings.default_remote, "origin");
        assert_eq!(settings.data_dir, Path::new("/project/.aido"));
    }

    #[test]
    fn unknown_keys_are_rejected() {
        let err = parse(serde_json::json!({"options": {"author": "x"}})).unwrap_err();
        // The API's message lists the valid keys (see the report about its
        // wording for unknown fields).
        assert!(err.message().contains("`author_name`"), "{err}");
        assert!(parse(serde_json::json!({"token": "x"})).is_err());
    }

    #[test]
    fn relative_binary_paths_resolve_against_the_project() {
        let config = PluginConfig::new(
            "version_control",
            serde_json::json!({"connection": {"git_binary": "tools/git"}}),
            "/project",
            ".aido",
        );
        let settings = Settings::from_config(&config, Vec::new()).unwrap();
        assert_eq!(settings.git.binary(), Path::new("/project/tools/git"));
    }

    #[test]
    fn every_problem_is_reported() {
        let config = parse(serde_json::json!({
            "options": {
                "command_timeout_seconds": 0,
                "author_name": "a <b>",
                "author_email": " ",
                "default_remote": "-x"
            }
        }))
        .unwrap();
        let paths: Vec<_> = config.problems().into_iter().map(|p| p.path).collect();
        assert_eq!(
            paths,
            [
                "options.command_timeout_seconds",
                "options.author_name",
                "options.author_email",
                "options.default_remote"
            ]
        );
    }
}
