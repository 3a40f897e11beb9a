//! The `jira` plugin's configuration.

use aido_plugin_api::model::task::{Priority, TaskStatus};
use aido_plugin_api::{ConfigProblem, Secret};
use schemars::JsonSchema;
use serde::Deserialize;

use crate::http::check_base_url;

/// Seconds one attempt may take.
const DEFAULT_TIMEOUT_SECONDS: u64 = 30;
/// Retries after the first attempt.
const DEFAULT_MAX_RETRIES: u32 = 3;

/// Configuration of the `jira` plugin.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct JiraConfig {
    /// How to reach the site.
    pub(super) connection: JiraConnection,
    /// How Jira's statuses and priorities map onto the standard ones.
    #[serde(default)]
    pub(super) mappings: JiraMappings,
    /// Issue types and limits.
    #[serde(default)]
    pub(super) options: JiraOptions,
}

/// How the `jira` plugin reaches the site.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct JiraConnection {
    /// The site, such as `https://your-site.atlassian.net`.
    pub(super) base_url: String,
    /// The Atlassian account's email (the Basic-auth user).
    pub(super) email: String,
    /// An API token of that account (`JIRA_API_TOKEN`).
    pub(super) api_token: Secret,
    /// The project tasks go to unless a call names one.
    pub(super) project_key: String,
}

/// Jira's names for the standard statuses and priorities.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct JiraMappings {
    /// Jira's status name per standard status.
    #[serde(default)]
    pub(super) statuses: StatusNames,
    /// Jira's priority name per standard priority.
    #[serde(default)]
    pub(super) priorities: PriorityNames,
}

/// Jira's status name for each standard status.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct StatusNames {
    /// For `todo`.
    #[serde(default = "names::to_do")]
    pub(super) todo: String,
    /// For `in_progress`.
    #[serde(default = "names::in_progress")]
    pub(super) in_progress: String,
    /// For `in_review`.
    #[serde(default = "names::in_review")]
    pub(super) in_review: String,
    /// For `done`.
    #[serde(default = "names::done")]
    pub(super) done: String,
}

impl Default for StatusNames {
    fn default() -> Self {
        StatusNames {
            todo: names::to_do(),
            in_progress: names::in_progress(),
            in_review: names::in_review(),
            done: names::done(),
        }
    }
}

impl StatusNames {
    /// Jira's name of `status`.
    pub(super) fn name(&self, status: TaskStatus) -> &str {
        match status {
            TaskStatus::Todo => &self.todo,
            TaskStatus::InProgress => &self.in_progress,
            TaskStatus::InReview => &self.in_review,
            TaskStatus::Done => &self.done,
        }
    }

    /// The standard status Jira's `name` maps to (case-insensitive).
    pub(super) fn status_of(&self, name: &str) -> Option<TaskStatus> {
        TaskStatus::ALL
            .into_iter()
            .find(|status| self.name(*status).eq_ignore_ascii_case(name.trim()))
    }
}

/// Jira's priority name for each standard priority.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct PriorityNames {
    /// For `low`.
    #[serde(default = "names::low")]
    pub(super) low: String,
    /// For `medium`.
    #[serde(default = "names::medium")]
    pub(super) medium: String,
    /// For `high`.
    #[serde(default = "names::high")]
    pub(super) high: String,
    /// For `critical`.
    #[serde(default = "names::highest")]
    pub(super) critical: String,
}

impl Default for PriorityNames {
    fn default() -> Self {
        PriorityNames {
            low: names::low(),
            medium: names::medium(),
            high: names::high(),
            critical: names::highest(),
        }
    }
}

impl PriorityNames {
    /// Jira's name of `priority`.
    pub(super) fn name(&self, priority: Priority) -> &str {
        match priority {
            Priority::Low => &self.low,
            Priority::Medium => &self.medium,
            Priority::High => &self.high,
            Priority::Critical => &self.critical,
        }
    }

    /// The standard priority Jira's `name` maps to (case-insensitive).
    pub(super) fn priority_of(&self, name: &str) -> Option<Priority> {
        Priority::ALL
            .into_iter()
            .find(|priority| self.name(*priority).eq_ignore_ascii_case(name.trim()))
    }
}

/// The default names, as a new Jira Cloud project has them.
mod names {
    pub(super) fn to_do() -> String {
        "To Do".to_owned()
    }
    pub(super) fn in_progress() -> String {
        "In Progress".to_owned()
    }
    pub(super) fn in_review() -> String {
        "In Review".to_owned()
    }
    pub(super) fn done() -> String {
        "Done".to_owned()
    }
    pub(super) fn low() -> String {
        "Low".to_owned()
    }
    pub(super) fn medium() -> String {
        "Medium".to_owned()
    }
    pub(super) fn high() -> String {
        "High".to_owned()
    }
    pub(super) fn highest() -> String {
        "Highest".to_owned()
    }
}

/// Issue types and limits of the `jira` plugin.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct JiraOptions {
    /// The issue type of epics.
    #[serde(default = "default_epic_type")]
    pub(super) epic_issue_type: String,
    /// The issue type of tasks.
    #[serde(default = "default_task_type")]
    pub(super) task_issue_type: String,
    /// Seconds one attempt may take.
    #[serde(default = "default_timeout_seconds")]
    pub(super) timeout_seconds: u64,
    /// Retries of a failed call (429 always; 5xx and timeouts for reads).
    #[serde(default = "default_max_retries")]
    pub(super) max_retries: u32,
    /// At most this many requests per second.
    #[serde(default)]
    pub(super) rate_limit_per_second: Option<f64>,
}

impl Default for JiraOptions {
    fn default() -> Self {
        JiraOptions {
            epic_issue_type: default_epic_type(),
            task_issue_type: default_task_type(),
            timeout_seconds: default_timeout_seconds(),
            max_retries: default_max_retries(),
            rate_limit_per_second: None,
        }
    }
}

fn default_epic_type() -> String {
    "Epic".to_owned()
}

fn default_task_type() -> String {
    "Task".to_owned()
}

fn default_timeout_seconds() -> u64 {
    DEFAULT_TIMEOUT_SECONDS
}

fn default_max_retries() -> u32 {
    DEFAULT_MAX_RETRIES
}

/// Every problem a schema cannot express. Never quotes the token.
pub(super) fn check_config(config: &JiraConfig) -> Vec<ConfigProblem> {
    let mut problems = Vec::new();
    let connection = &config.connection;
    problems.extend(check_base_url(
        "connection.base_url",
        &connection.base_url,
        false,
    ));
    if !connection.email.contains('@') {
        problems.push(ConfigProblem::new(
            "connection.email",
            "must be the email of the Atlassian account the API token belongs to",
        ));
    }
    if connection.api_token.expose().trim().is_empty() {
        problems.push(ConfigProblem::new(
            "connection.api_token",
            "is empty; set it, or the environment variable JIRA_API_TOKEN, to an API token",
        ));
    }
    if connection.project_key.trim().is_empty() {
        problems.push(ConfigProblem::new(
            "connection.project_key",
            "must name a project, such as PROJ",
        ));
    }
    for status in TaskStatus::ALL {
        if config.mappings.statuses.name(status).trim().is_empty() {
            problems.push(ConfigProblem::new(
                format!("mappings.statuses.{status}"),
                "must name the Jira status it maps to",
            ));
        }
    }
    for priority in Priority::ALL {
        if config.mappings.priorities.name(priority).trim().is_empty() {
            problems.push(ConfigProblem::new(
                format!("mappings.priorities.{priority}"),
                "must name the Jira priority it maps to",
            ));
        }
    }
    if config.options.timeout_seconds == 0 {
        problems.push(ConfigProblem::new(
            "options.timeout_seconds",
            "must be at least 1 second",
        ));
    }
    if config
        .options
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
