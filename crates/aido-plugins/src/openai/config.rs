//! The `openai` plugin's configuration.

use std::collections::BTreeMap;

use aido_plugin_api::{ConfigProblem, Secret};
use reqwest::Url;
use schemars::JsonSchema;
use serde::Deserialize;

use crate::ai_chat::{CommonOptions, check_options};
use crate::ai_pricing::ModelPrice;
use crate::http::check_base_url;

/// OpenAI's API, with its version suffix.
pub(super) const DEFAULT_BASE_URL: &str = "https://api.openai.com/v1";
/// The host that needs a key and takes `max_completion_tokens`.
const OPENAI_HOST: &str = "api.openai.com";
/// The model used when neither the call nor the configuration names one:
/// small, cheap, and good at following formats.
pub(super) const DEFAULT_MODEL: &str = "gpt-4o-mini";
/// Output tokens a call may use unless it says.
const DEFAULT_MAX_TOKENS: u32 = 4096;
/// Seconds one attempt may take (the official SDKs allow ten minutes).
const DEFAULT_TIMEOUT_SECONDS: u64 = 600;
/// Retries after the first attempt, as the official SDKs make.
const DEFAULT_MAX_RETRIES: u32 = 2;

/// Configuration of the `openai` plugin.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct OpenAiConfig {
    /// How to reach the API.
    #[serde(default)]
    pub(super) connection: OpenAiConnection,
    /// How calls are made and priced.
    #[serde(default)]
    pub(super) options: OpenAiOptions,
}

/// How the `openai` plugin reaches an OpenAI-compatible API.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct OpenAiConnection {
    /// The API key, sent as `Authorization: Bearer` (`OPENAI_API_KEY`).
    /// Required by api.openai.com; local servers (Ollama, llama.cpp, LM
    /// Studio, vLLM without `--api-key`) need none.
    #[serde(default)]
    pub(super) api_key: Option<Secret>,
    /// The API's base URL, including its `/v1`: `https://api.openai.com/v1`
    /// (the default), `http://localhost:11434/v1` (Ollama),
    /// `http://localhost:8000/v1` (vLLM), `http://localhost:8080/v1`
    /// (llama.cpp's server), `http://localhost:1234/v1` (LM Studio).
    #[serde(default = "default_base_url")]
    pub(super) base_url: String,
}

impl Default for OpenAiConnection {
    fn default() -> Self {
        OpenAiConnection {
            api_key: None,
            base_url: default_base_url(),
        }
    }
}

/// Which request field carries the output token limit.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub(super) enum TokenLimitParameter {
    /// `max_completion_tokens` for api.openai.com, `max_tokens` elsewhere.
    #[default]
    Auto,
    /// `max_tokens`, which OpenAI deprecated but every compatible server
    /// knows.
    MaxTokens,
    /// `max_completion_tokens`, which OpenAI's reasoning models require.
    MaxCompletionTokens,
}

/// How the `openai` plugin makes and prices its calls.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct OpenAiOptions {
    /// The model calls use unless they name one (for Ollama, a pulled
    /// model such as `llama3.1:8b`).
    #[serde(default = "default_model")]
    pub(super) model: String,
    /// Output tokens a call may use unless it says.
    #[serde(default = "default_max_tokens")]
    pub(super) max_tokens: u32,
    /// Which request field carries `max_tokens`.
    #[serde(default)]
    pub(super) max_tokens_parameter: TokenLimitParameter,
    /// Send a request's JSON Schema as `response_format: {type:
    /// json_schema}` so the server enforces it. Turn off for servers that
    /// reject `response_format`; the schema then goes into the prompt.
    #[serde(default = "default_structured_output")]
    pub(super) structured_output: bool,
    /// Seconds one attempt may take before it is a timeout.
    #[serde(default = "default_timeout_seconds")]
    pub(super) timeout_seconds: u64,
    /// Retries of a failed call (429, 5xx, timeouts, dropped connections).
    #[serde(default = "default_max_retries")]
    pub(super) max_retries: u32,
    /// At most this many requests per second.
    #[serde(default)]
    pub(super) requests_per_second: Option<f64>,
    /// Prices per model, in US dollars per million tokens, replacing or
    /// adding to the built-in list prices (a local model: 0 and 0).
    #[serde(default)]
    pub(super) prices: BTreeMap<String, ModelPrice>,
}

impl Default for OpenAiOptions {
    fn default() -> Self {
        OpenAiOptions {
            model: default_model(),
            max_tokens: default_max_tokens(),
            max_tokens_parameter: TokenLimitParameter::Auto,
            structured_output: default_structured_output(),
            timeout_seconds: default_timeout_seconds(),
            max_retries: default_max_retries(),
            requests_per_second: None,
            prices: BTreeMap::new(),
        }
    }
}

impl OpenAiOptions {
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

impl OpenAiConfig {
    /// Whether the base URL is OpenAI's own API.
    pub(super) fn is_openai(&self) -> bool {
        Url::parse(self.connection.base_url.trim())
            .ok()
            .and_then(|url| url.host_str().map(|host| host == OPENAI_HOST))
            .unwrap_or(false)
    }

    /// Whether the token limit goes in `max_completion_tokens`.
    pub(super) fn uses_max_completion_tokens(&self) -> bool {
        match self.options.max_tokens_parameter {
            TokenLimitParameter::Auto => self.is_openai(),
            TokenLimitParameter::MaxTokens => false,
            TokenLimitParameter::MaxCompletionTokens => true,
        }
    }
}

fn default_base_url() -> String {
    DEFAULT_BASE_URL.to_owned()
}

fn default_model() -> String {
    DEFAULT_MODEL.to_owned()
}

fn default_max_tokens() -> u32 {
    DEFAULT_MAX_TOKENS
}

fn default_structured_output() -> bool {
    true
}

fn default_timeout_seconds() -> u64 {
    DEFAULT_TIMEOUT_SECONDS
}

fn default_max_retries() -> u32 {
    DEFAULT_MAX_RETRIES
}

/// Every problem a schema cannot express. Never quotes the key.
pub(super) fn check_config(config: &OpenAiConfig) -> Vec<ConfigProblem> {
    let mut problems = Vec::new();
    let connection = &config.connection;
    match &connection.api_key {
        Some(key) if key.expose().trim().is_empty() => problems.push(ConfigProblem::new(
            "connection.api_key",
            "is empty; set a key, or remove the key for a local server that needs none",
        )),
        None if config.is_openai() => problems.push(ConfigProblem::new(
            "connection.api_key",
            "api.openai.com needs an API key; set it, or the environment variable \
             OPENAI_API_KEY (local servers such as Ollama need none: set connection.base_url)",
        )),
        _ => {}
    }
    problems.extend(check_base_url(
        "connection.base_url",
        &connection.base_url,
        false,
    ));
    problems.extend(check_options(&config.options.common()));
    problems
}
