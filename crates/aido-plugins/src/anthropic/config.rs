//! The `anthropic` plugin's configuration.

use std::collections::BTreeMap;

use aido_plugin_api::{ConfigProblem, Secret};
use schemars::JsonSchema;
use serde::Deserialize;

use crate::ai_chat::{CommonOptions, check_options};
use crate::ai_pricing::ModelPrice;
use crate::http::check_base_url;

/// The API's address.
pub(super) const DEFAULT_BASE_URL: &str = "https://api.anthropic.com";
/// The API version this plugin speaks (the `anthropic-version` header).
pub(super) const DEFAULT_VERSION: &str = "2023-06-01";
/// The model used when neither the call nor the configuration names one:
/// the alias of the current Sonnet, which follows its latest snapshot.
pub(super) const DEFAULT_MODEL: &str = "claude-sonnet-4-5";
/// Output tokens a call may use unless it says.
const DEFAULT_MAX_TOKENS: u32 = 4096;
/// Seconds one attempt may take: long answers take minutes (the official
/// SDKs allow ten).
const DEFAULT_TIMEOUT_SECONDS: u64 = 600;
/// Retries after the first attempt, as the official SDKs make.
const DEFAULT_MAX_RETRIES: u32 = 2;

/// Configuration of the `anthropic` plugin.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct AnthropicConfig {
    /// How to reach the API.
    pub(super) connection: AnthropicConnection,
    /// How calls are made and priced.
    #[serde(default)]
    pub(super) options: AnthropicOptions,
}

/// How the `anthropic` plugin reaches the API.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct AnthropicConnection {
    /// The API key, sent as `x-api-key` (`ANTHROPIC_API_KEY`).
    pub(super) api_key: Secret,
    /// The API's base URL; change it for a gateway, a proxy or the
    /// emulator of `aido sandbox`.
    #[serde(default = "default_base_url")]
    pub(super) base_url: String,
    /// The API version, sent as `anthropic-version`.
    #[serde(default = "default_version")]
    pub(super) version: String,
}

/// How the `anthropic` plugin makes and prices its calls.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct AnthropicOptions {
    /// The model calls use unless they name one.
    #[serde(default = "default_model")]
    pub(super) model: String,
    /// Output tokens a call may use unless it says.
    #[serde(default = "default_max_tokens")]
    pub(super) max_tokens: u32,
    /// Seconds one attempt may take before it is a timeout.
    #[serde(default = "default_timeout_seconds")]
    pub(super) timeout_seconds: u64,
    /// Retries of a failed call (429, 5xx, 529 overloaded, timeouts,
    /// dropped connections).
    #[serde(default = "default_max_retries")]
    pub(super) max_retries: u32,
    /// At most this many requests per second, to stay under the
    /// organisation's rate limit.
    #[serde(default)]
    pub(super) requests_per_second: Option<f64>,
    /// Prices per model, in US dollars per million tokens, replacing or
    /// adding to the built-in list prices.
    #[serde(default)]
    pub(super) prices: BTreeMap<String, ModelPrice>,
}

impl Default for AnthropicOptions {
    fn default() -> Self {
        AnthropicOptions {
            model: default_model(),
            max_tokens: default_max_tokens(),
            timeout_seconds: default_timeout_seconds(),
            max_retries: default_max_retries(),
            requests_per_second: None,
            prices: BTreeMap::new(),
        }
    }
}

impl AnthropicOptions {
    /// The options every HTTP AI provider has.
    pub(super) fn common(&self) -> CommonOptions<'_> {
        CommonOptions {
            model: &self.model,
            max_tokens: self.max_tokens,
            timeout_seconds: self.timeout_seconds,
            max_retries: self.max_retries,
            requests_per_second: self.requests_per_second,
            prices: &self.prices,
        }
    }
}

fn default_base_url() -> String {
    DEFAULT_BASE_URL.to_owned()
}

fn default_version() -> String {
    DEFAULT_VERSION.to_owned()
}

fn default_model() -> String {
    DEFAULT_MODEL.to_owned()
}

fn default_max_tokens() -> u32 {
    DEFAULT_MAX_TOKENS
}

fn default_timeout_seconds() -> u64 {
    DEFAULT_TIMEOUT_SECONDS
}

fn default_max_retries() -> u32 {
    DEFAULT_MAX_RETRIES
}

/// Every problem a schema cannot express. Never quotes the key.
pub(super) fn check_config(config: &AnthropicConfig) -> Vec<ConfigProblem> {
    let mut problems = Vec::new();
    let connection = &config.connection;
    if connection.api_key.expose().trim().is_empty() {
        problems.push(ConfigProblem::new(
            "connection.api_key",
            "is empty; set it, or the environment variable ANTHROPIC_API_KEY, to a key from \
             the Anthropic console",
        ));
    }
    problems.extend(check_base_url(
        "connection.base_url",
        &connection.base_url,
        false,
    ));
    if connection.version.trim().is_empty() {
        problems.push(ConfigProblem::new(
            "connection.version",
            format!("must name an API version, such as {DEFAULT_VERSION}"),
        ));
    }
    problems.extend(check_options(&config.options.common()));
    problems
}
