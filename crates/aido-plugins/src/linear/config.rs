//! The `linear` plugin's configuration: connection, mappings, options.

use aido_plugin_api::model::task::{Priority, TaskStatus};
use aido_plugin_api::{ConfigProblem, Secret};
use schemars::JsonSchema;
use serde::Deserialize;

use crate::http::check_base_url;

/// The API's address; requests go to `<base_url>/graphql`.
pub(super) const DEFAULT_BASE_URL: &str = "https://api.linear.app";

/// Configuration of the `linear` plugin.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct LinearConfig {
    /// How to reach Linear.
    pub(super) connection: LinearConnection,
    /// How Linear's states and priorities map to aido's.
    #[serde(default)]
    pub(super) mappings: LinearMappings,
    /// Caching, timeouts, retries.
    #[serde(default)]
    pub(super) options: LinearOptions,
}

/// How the `linear` plugin reaches Linear.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct LinearConnection {
    /// A personal API key (sent as `Authorization: <key>`), or an OAuth
    /// token written as `Bearer <token>` (`LINEAR_API_KEY`).
    pub(super) api_key: Secret,
    /// The team tasks are created in unless a call names one: its id or
    /// its key, such as `ENG` (`LINEAR_TEAM_ID`).
    pub(super) team_id: String,
    /// The API's base URL; change it for a proxy or the emulator of
    /// `aido sandbox`.
    #[serde(default = "default_base_url")]
    pub(super) base_url: String,
}

/// Linear state names and priority numbers for aido's statuses and
/// priorities.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct LinearMappings {
    /// The workflow state name for each aido status.
    #[serde(default)]
    pub(super) statuses: StatusNames,
    /// Linear's priority number (1 urgent, 2 high, 3 medium, 4 low; 0 is
    /// "no priority") for each aido priority.
    #[serde(default)]
    pub(super) priorities: PriorityNumbers,
}

/// The workflow state name for each aido status.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct StatusNames {
    /// For `todo`.
    #[serde(default = "todo")]
    pub(super) todo: String,
    /// For `in_progress`.
    #[serde(default = "in_progress")]
    pub(super) in_progress: String,
    /// For `in_review`.
    #[serde(default = "in_review")]
    pub(super) in_review: String,
    /// For `done`.
    #[serde(default = "done")]
    pub(super) done: String,
}

impl Default for StatusNames {
    fn default() -> Self {
        StatusNames {
            todo: todo(),
            in_progress: in_progress(),
            in_review: in_review(),
            done: done(),
        }
    }
}

impl StatusNames {
    /// The state name for `status`.
    pub(super) fn name(&self, status: TaskStatus) -> &str {
        match status {
            TaskStatus::Todo => &self.todo,
            TaskStatus::InProgress => &self.in_progress,
            TaskStatus::InReview => &self.in_review,
            TaskStatus::Done => &self.done,
        }
    }

    /// The status whose state name is `name` (case-insensitive).
    pub(super) fn status(&self, name: &str) -> Option<TaskStatus> {
        TaskStatus::ALL
            .into_iter()
            .find(|status| self.name(*status).eq_ignore_ascii_case(name.trim()))
    }
}

/// Linear's priority number for each aido priority.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct PriorityNumbers {
    /// For `low`.
    #[serde(default = "low")]
    pub(super) low: u8,
    /// For `medium`.
    #[serde(default = "medium")]
    pub(super) medium: u8,
    /// For `high`.
    #[serde(default = "high")]
    pub(super) high: u8,
    /// For `critical`.
    #[serde(default = "critical")]
    pub(super) critical: u8,
}

impl Default for PriorityNumbers {
    fn default() -> Self {
        PriorityNumbers {
            low: low(),
            medium: medium(),
            high: high(),
            critical: critical(),
        }
    }
}

impl PriorityNumbers {
    /// Linear's number for `priority`.
    pub(super) fn number(&self, priority: Priority) -> u8 {
        match priority {
            Priority::Low => self.low,
            Priority::Medium => self.medium,
            Priority::High => self.high,
            Priority::Critical => self.critical,
        }
    }

    /// The priority Linear's `number` maps to; `medium` for a number no
    /// priority maps to (such as 0, "no priority").
    pub(super) fn priority(&self, number: u8) -> Priority {
        Priority::ALL
            .into_iter()
            .find(|priority| self.number(*priority) == number)
            .unwrap_or(Priority::Medium)
    }
}

/// Caching, timeouts and retries.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct LinearOptions {
    /// Seconds teams, workflow states, users and labels are cached.
    #[serde(default = "default_cache_ttl_seconds")]
    pub(super) cache_ttl_seconds: u64,
    /// Seconds one attempt may take before it is a timeout.
    #[serde(default = "default_timeout_seconds")]
    pub(super) timeout_seconds: u64,
    /// Retries of a failed call: rate limits (any call), 5xx answers,
    /// timeouts and dropped connections (queries only).
    #[serde(default = "default_max_retries")]
    pub(super) max_retries: u32,
    /// Milliseconds before the first retry; it doubles on every retry.
    #[serde(default = "default_retry_backoff_ms")]
    pub(super) retry_backoff_ms: u64,
    /// At most this many requests per second (Linear allows 2,500 requests
    /// an hour per user with an API key).
    #[serde(default)]
    pub(super) rate_limit_per_second: Option<f64>,
}

impl Default for LinearOptions {
    fn default() -> Self {
        LinearOptions {
            cache_ttl_seconds: default_cache_ttl_seconds(),
            timeout_seconds: default_timeout_seconds(),
            max_retries: default_max_retries(),
            retry_backoff_ms: default_retry_backoff_ms(),
            rate_limit_per_second: None,
        }
    }
}

fn default_base_url() -> String {
    DEFAULT_BASE_URL.to_owned()
}
fn todo() -> String {
    "Todo".to_owned()
}
fn in_progress() -> String {
    "In Progress".to_owned()
}
fn in_review() -> String {
    "In Review".to_owned()
}
fn done() -> String {
    "Done".to_owned()
}
fn low() -> u8 {
    4
}
fn medium() -> u8 {
    3
}
fn high() -> u8 {
    2
}
fn critical() -> u8 {
    1
}
fn default_cache_ttl_seconds() -> u64 {
    300
}
fn default_timeout_seconds() -> u64 {
    30
}
fn default_max_retries() -> u32 {
    2
}
fn default_retry_backoff_ms() -> u64 {
    1000
}

/// Every problem a schema cannot express. Never quotes the key.
pub(super) fn check_config(config: &LinearConfig) -> Vec<ConfigProblem> {
    let mut problems = Vec::new();
    let connection = &config.connection;
    if connection.api_key.expose().trim().is_empty() {
        problems.push(ConfigProblem::new(
            "connection.api_key",
            "is empty; set it, or the environment variable LINEAR_API_KEY, to a personal API \
             key from Linear's Security & access settings",
        ));
    }
    if connection.team_id.trim().is_empty() {
        problems.push(ConfigProblem::new(
            "connection.team_id",
            "is empty; set it to a team's key (such as ENG) or id",
        ));
    }
    problems.extend(check_base_url(
        "connection.base_url",
        &connection.base_url,
        false,
    ));
    let statuses = &config.mappings.statuses;
    for status in TaskStatus::ALL {
        let name = statuses.name(status);
        let path = format!("mappings.statuses.{status}");
        if name.trim().is_empty() {
            problems.push(ConfigProblem::new(
                path,
                "is empty; name the Linear workflow state",
            ));
        } else if let Some(first) = TaskStatus::ALL
            .into_iter()
            .take_while(|other| *other != status)
            .find(|other| statuses.name(*other).eq_ignore_ascii_case(name.trim()))
        {
            problems.push(ConfigProblem::new(
                path,
                format!(
                    "names the same state as mappings.statuses.{first}; each status needs its \
                     own state, or a task's status cannot be read back"
                ),
            ));
        }
    }
    let priorities = &config.mappings.priorities;
    for priority in Priority::ALL {
        let number = priorities.number(priority);
        let path = format!("mappings.priorities.{priority}");
        if number > 4 {
            problems.push(ConfigProblem::new(
                path,
                format!(
                    "is {number}; Linear's priorities are 0 (none), 1 (urgent), 2 (high), \
                     3 (medium) and 4 (low)"
                ),
            ));
        } else if let Some(first) = Priority::ALL
            .into_iter()
            .take_while(|other| *other != priority)
            .find(|other| priorities.number(*other) == number)
        {
            problems.push(ConfigProblem::new(
                path,
                format!("is the same number as mappings.priorities.{first}"),
            ));
        }
    }
    let options = &config.options;
    if options.timeout_seconds == 0 {
        problems.push(ConfigProblem::new(
            "options.timeout_seconds",
            "must be at least 1",
        ));
    }
    if let Some(rate) = options.rate_limit_per_second
        && !(rate.is_finite() && rate > 0.0)
    {
        problems.push(ConfigProblem::new(
            "options.rate_limit_per_second",
            "must be a positive number",
        ));
    }
    problems
}
