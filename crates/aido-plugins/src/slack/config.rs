//! The `slack` plugin's configuration.

use aido_plugin_api::{ConfigProblem, Secret};
use schemars::JsonSchema;
use serde::Deserialize;

use crate::http::check_base_url;

/// The Web API's address.
pub(super) const DEFAULT_BASE_URL: &str = "https://slack.com/api";
/// Seconds one attempt may take.
const DEFAULT_TIMEOUT_SECONDS: u64 = 30;
/// Retries after the first attempt.
const DEFAULT_MAX_RETRIES: u32 = 3;

/// Configuration of the `slack` plugin.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct SlackConfig {
    /// How to reach the Web API.
    pub(super) connection: SlackConnection,
    /// Defaults and limits.
    #[serde(default)]
    pub(super) options: SlackOptions,
}

/// How the `slack` plugin reaches the Web API.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct SlackConnection {
    /// The bot token (`xoxb-...`, `SLACK_BOT_TOKEN`), sent as
    /// `Authorization: Bearer`.
    pub(super) bot_token: Secret,
    /// The Web API's base URL; change it for a proxy or the emulator of
    /// `aido sandbox`.
    #[serde(default = "default_base_url")]
    pub(super) base_url: String,
}

/// Defaults and limits of the `slack` plugin.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct SlackOptions {
    /// The channel (name or id) messages and files go to when a call names
    /// none.
    #[serde(default)]
    pub(super) default_channel: Option<String>,
    /// Seconds one attempt may take.
    #[serde(default = "default_timeout_seconds")]
    pub(super) timeout_seconds: u64,
    /// Retries of a failed call (429 always; 5xx, timeouts and dropped
    /// connections only for calls safe to repeat).
    #[serde(default = "default_max_retries")]
    pub(super) max_retries: u32,
    /// At most this many requests per second (Slack allows about one
    /// message per second per channel).
    #[serde(default)]
    pub(super) rate_limit_per_second: Option<f64>,
}

impl Default for SlackOptions {
    fn default() -> Self {
        SlackOptions {
            default_channel: None,
            timeout_seconds: default_timeout_seconds(),
            max_retries: default_max_retries(),
            rate_limit_per_second: None,
        }
    }
}

fn default_base_url() -> String {
    DEFAULT_BASE_URL.to_owned()
}

fn default_timeout_seconds() -> u64 {
    DEFAULT_TIMEOUT_SECONDS
}

fn default_max_retries() -> u32 {
    DEFAULT_MAX_RETRIES
}

/// Every problem a schema cannot express. Never quotes the token.
pub(super) fn check_config(config: &SlackConfig) -> Vec<ConfigProblem> {
    let mut problems = Vec::new();
    if config.connection.bot_token.expose().trim().is_empty() {
        problems.push(ConfigProblem::new(
            "connection.bot_token",
            "is empty; set it, or the environment variable SLACK_BOT_TOKEN, to the app's bot \
             token (xoxb-...)",
        ));
    }
    problems.extend(check_base_url(
        "connection.base_url",
        &config.connection.base_url,
        false,
    ));
    let options = &config.options;
    if options
        .default_channel
        .as_deref()
        .is_some_and(|c| c.trim().trim_start_matches('#').is_empty())
    {
        problems.push(ConfigProblem::new(
            "options.default_channel",
            "is empty; name a channel or leave it out",
        ));
    }
    if options.timeout_seconds == 0 {
        problems.push(ConfigProblem::new(
            "options.timeout_seconds",
            "must be at least 1 second",
        ));
    }
    if options
        .rate_limit_per_second
        .is_some_and(|rate| !(rate.is_finite() && rate > 0.0))
    {
        problems.push(ConfigProblem::new(
            "options.rate_limit_per_second",
            "must be a positive number",
        ));
    }
    problems
}
