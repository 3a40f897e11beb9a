//! The configuration the `github` and `github_issues` plugins share: how
//! to reach the API and how calls are made.

use aido_plugin_api::{ConfigProblem, Secret};
use schemars::JsonSchema;
use serde::Deserialize;

use crate::http::check_base_url;

/// GitHub's public API.
pub(crate) const DEFAULT_BASE_URL: &str = "https://api.github.com";
/// Seconds one attempt may take unless configured.
const DEFAULT_TIMEOUT_SECONDS: u64 = 30;
/// Retries after the first attempt unless configured.
const DEFAULT_MAX_RETRIES: u32 = 3;
/// Seconds repository descriptions are kept unless configured.
const DEFAULT_CACHE_TTL: u64 = 60;
/// Items per page unless configured: GitHub's maximum.
const DEFAULT_PAGE_SIZE: u32 = 100;

/// How to reach GitHub (or GitHub Enterprise Server).
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct GitHubConnection {
    /// A personal access token or an app installation token, sent as
    /// `Authorization: Bearer` (`GITHUB_TOKEN`).
    pub(crate) token: Secret,
    /// The REST API's base URL: `https://api.github.com`, or
    /// `https://<host>/api/v3` for GitHub Enterprise Server.
    #[serde(default = "default_base_url")]
    pub(crate) base_url: String,
    /// The owner (user or organisation) used when a call names a bare
    /// repository or none.
    #[serde(default)]
    pub(crate) owner: Option<String>,
    /// The repository used when a call names none.
    #[serde(default)]
    pub(crate) repo: Option<String>,
}

/// How calls are made.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct GitHubOptions {
    /// Seconds a repository's description (default branch, clone URL) is
    /// reused before it is asked for again; 0 turns the cache off.
    #[serde(default = "default_cache_ttl")]
    pub(crate) cache_ttl: u64,
    /// Seconds one attempt may take before it is a timeout.
    #[serde(default = "default_timeout_seconds")]
    pub(crate) timeout_seconds: u64,
    /// Retries of a failed call (429, 5xx for reads, timeouts, dropped
    /// connections).
    #[serde(default = "default_max_retries")]
    pub(crate) max_retries: u32,
    /// At most this many requests per second, when set.
    #[serde(default)]
    pub(crate) rate_limit_per_second: Option<f64>,
    /// Items asked for per page of a list (1 to 100).
    #[serde(default = "default_page_size")]
    pub(crate) page_size: u32,
}

impl Default for GitHubOptions {
    fn default() -> Self {
        GitHubOptions {
            cache_ttl: DEFAULT_CACHE_TTL,
            timeout_seconds: DEFAULT_TIMEOUT_SECONDS,
            max_retries: DEFAULT_MAX_RETRIES,
            rate_limit_per_second: None,
            page_size: DEFAULT_PAGE_SIZE,
        }
    }
}

fn default_base_url() -> String {
    DEFAULT_BASE_URL.to_owned()
}

fn default_cache_ttl() -> u64 {
    DEFAULT_CACHE_TTL
}

fn default_timeout_seconds() -> u64 {
    DEFAULT_TIMEOUT_SECONDS
}

fn default_max_retries() -> u32 {
    DEFAULT_MAX_RETRIES
}

fn default_page_size() -> u32 {
    DEFAULT_PAGE_SIZE
}

/// Every problem the schema cannot express. Never quotes the token.
pub(crate) fn check(connection: &GitHubConnection, options: &GitHubOptions) -> Vec<ConfigProblem> {
    let mut problems = Vec::new();
    if connection.token.expose().trim().is_empty() {
        problems.push(ConfigProblem::new(
            "connection.token",
            "is empty; set it, or the environment variable GITHUB_TOKEN, to a GitHub token",
        ));
    }
    problems.extend(check_base_url(
        "connection.base_url",
        &connection.base_url,
        false,
    ));
    for (path, value) in [
        ("connection.owner", &connection.owner),
        ("connection.repo", &connection.repo),
    ] {
        if let Some(value) = value
            && !super::api::is_name(value)
        {
            problems.push(ConfigProblem::new(
                path,
                format!("`{value}` is not a GitHub name (letters, digits, `-`, `_`, `.`)"),
            ));
        }
    }
    if options.timeout_seconds == 0 {
        problems.push(ConfigProblem::new(
            "options.timeout_seconds",
            "must be at least 1",
        ));
    }
    if !(1..=100).contains(&options.page_size) {
        problems.push(ConfigProblem::new(
            "options.page_size",
            "must be between 1 and 100 (GitHub's largest page)",
        ));
    }
    if let Some(rate) = options.rate_limit_per_second
        && !(rate.is_finite() && rate > 0.0)
    {
        problems.push(ConfigProblem::new(
            "options.rate_limit_per_second",
            "must be a positive number; leave it out for no limit",
        ));
    }
    problems
}
