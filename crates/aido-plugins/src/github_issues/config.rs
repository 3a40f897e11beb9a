//! The `github_issues` plugin's configuration: the shared GitHub
//! connection and options, and the label mappings.

use std::collections::{BTreeMap, HashMap};

use aido_plugin_api::ConfigProblem;
use aido_plugin_api::model::task::{Priority, TaskStatus};
use schemars::JsonSchema;
use serde::Deserialize;

use crate::github::config::{GitHubConnection, GitHubOptions, check};

/// Configuration of the `github_issues` plugin.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct IssuesConfig {
    /// How to reach GitHub; `owner` and `repo` name the default project.
    pub(super) connection: GitHubConnection,
    /// Labels that stand for statuses and priorities.
    #[serde(default)]
    pub(super) mappings: Mappings,
    /// How calls are made.
    #[serde(default)]
    pub(super) options: GitHubOptions,
}

/// Which label stands for each status and priority. Keys left out keep
/// their defaults (`status: in progress`, `priority: high`, ...).
#[derive(Debug, Default, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct Mappings {
    /// Label per status (`todo`, `in_progress`, `in_review`, `done`).
    #[serde(default)]
    pub(crate) statuses: HashMap<TaskStatus, String>,
    /// Label per priority (`low`, `medium`, `high`, `critical`).
    #[serde(default)]
    pub(crate) priorities: BTreeMap<Priority, String>,
}

fn default_status(status: TaskStatus) -> String {
    match status {
        TaskStatus::Todo => "status: todo",
        TaskStatus::InProgress => "status: in progress",
        TaskStatus::InReview => "status: in review",
        TaskStatus::Done => "status: done",
    }
    .to_owned()
}

fn default_priority(priority: Priority) -> String {
    format!("priority: {}", priority.as_str())
}

impl Mappings {
    /// The mappings with every key filled in.
    pub(crate) fn resolved(&self) -> Mappings {
        Mappings {
            statuses: TaskStatus::ALL
                .into_iter()
                .map(|s| {
                    let label = self
                        .statuses
                        .get(&s)
                        .cloned()
                        .unwrap_or_else(|| default_status(s));
                    (s, label)
                })
                .collect(),
            priorities: Priority::ALL
                .into_iter()
                .map(|p| {
                    let label = self
                        .priorities
                        .get(&p)
                        .cloned()
                        .unwrap_or_else(|| default_priority(p));
                    (p, label)
                })
                .collect(),
        }
    }

    /// The label of `status` (of resolved mappings).
    pub(crate) fn status(&self, status: TaskStatus) -> &str {
        self.statuses.get(&status).map_or("", String::as_str)
    }

    /// The label of `priority` (of resolved mappings).
    pub(crate) fn priority(&self, priority: Priority) -> &str {
        self.priorities.get(&priority).map_or("", String::as_str)
    }
}

impl IssuesConfig {
    /// Every problem the schema cannot express.
    pub(super) fn problems(&self) -> Vec<ConfigProblem> {
        let mut problems = check(&self.connection, &self.options);
        let resolved = self.mappings.resolved();
        let mut seen: BTreeMap<&str, String> = BTreeMap::new();
        let entries = TaskStatus::ALL
            .into_iter()
            .map(|s| (format!("mappings.statuses.{s}"), resolved.status(s)))
            .chain(
                Priority::ALL
                    .into_iter()
                    .map(|p| (format!("mappings.priorities.{p}"), resolved.priority(p))),
            );
        for (path, label) in entries {
            if label.trim().is_empty() || label.contains(',') {
                problems.push(ConfigProblem::new(
                    &path,
                    "must be a label name: not empty, no commas",
                ));
            } else if let Some(other) = seen.get(label) {
                problems.push(ConfigProblem::new(
                    &path,
                    format!("label `{label}` is already used by {other}; each must be distinct"),
                ));
            } else {
                seen.insert(label, path);
            }
        }
        problems
    }
}
