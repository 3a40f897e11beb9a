//! Tasks, epics, comments and task history: the `task_management` kind's data.

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::Fields;

/// Where a task is in its life. Each plugin maps its service's states onto
/// these four through its `mappings.statuses` configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum TaskStatus {
    /// Not started.
    Todo,
    /// Someone (or the agent) is working on it.
    InProgress,
    /// Done by the author, waiting for review.
    InReview,
    /// Finished.
    Done,
}

impl TaskStatus {
    /// Every status, in workflow order.
    pub const ALL: [TaskStatus; 4] = [
        TaskStatus::Todo,
        TaskStatus::InProgress,
        TaskStatus::InReview,
        TaskStatus::Done,
    ];

    /// The snake_case name used in JSON and configuration.
    pub fn as_str(self) -> &'static str {
        match self {
            TaskStatus::Todo => "todo",
            TaskStatus::InProgress => "in_progress",
            TaskStatus::InReview => "in_review",
            TaskStatus::Done => "done",
        }
    }
}

impl std::fmt::Display for TaskStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for TaskStatus {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        TaskStatus::ALL
            .into_iter()
            .find(|status| status.as_str() == s)
            .ok_or_else(|| {
                format!("`{s}` is not a status; expected one of todo, in_progress, in_review, done")
            })
    }
}

/// How urgent a task is. Each plugin maps its service's priorities onto these
/// through its `mappings.priorities` configuration.
#[derive(
    Debug,
    Clone,
    Copy,
    Default,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Priority {
    /// Whenever there is time.
    Low,
    /// The default.
    #[default]
    Medium,
    /// Soon.
    High,
    /// Now.
    Critical,
}

impl Priority {
    /// Every priority, lowest first.
    pub const ALL: [Priority; 4] = [
        Priority::Low,
        Priority::Medium,
        Priority::High,
        Priority::Critical,
    ];

    /// The snake_case name used in JSON and configuration.
    pub fn as_str(self) -> &'static str {
        match self {
            Priority::Low => "low",
            Priority::Medium => "medium",
            Priority::High => "high",
            Priority::Critical => "critical",
        }
    }
}

impl std::fmt::Display for Priority {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Priority {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Priority::ALL
            .into_iter()
            .find(|priority| priority.as_str() == s)
            .ok_or_else(|| {
                format!("`{s}` is not a priority; expected one of low, medium, high, critical")
            })
    }
}

/// A task in the standard format, field for field as the design document
/// defines it. Service-specific extras (a URL, a sprint) go in
/// `custom_fields`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Task {
    /// The tracker's identifier, such as `PROJ-123`.
    pub id: String,
    /// One-line summary.
    pub title: String,
    /// Full description, Markdown.
    #[serde(default)]
    pub description: String,
    /// Where the task is in its life.
    pub status: TaskStatus,
    /// Who it is assigned to, in the tracker's own user naming.
    #[serde(default)]
    pub assignee: Option<String>,
    /// How urgent it is.
    #[serde(default)]
    pub priority: Priority,
    /// Labels or tags.
    #[serde(default)]
    pub labels: Vec<String>,
    /// When it was created.
    pub created: DateTime<Utc>,
    /// When it last changed.
    pub updated: DateTime<Utc>,
    /// When it is due, if ever.
    #[serde(default)]
    pub due_date: Option<DateTime<Utc>>,
    /// The epic it belongs to.
    #[serde(default)]
    pub epic_id: Option<String>,
    /// Its estimate.
    #[serde(default)]
    pub story_points: Option<f64>,
    /// Anything else the service knows about it.
    #[serde(default)]
    pub custom_fields: Fields,
}

/// What `create_task` needs; everything but the title is optional.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NewTask {
    /// One-line summary.
    pub title: String,
    /// Full description, Markdown.
    #[serde(default)]
    pub description: String,
    /// The project (team, repository, Jira project key) to create it in;
    /// the plugin's configured default when absent.
    #[serde(default)]
    pub project: Option<String>,
    /// Initial status; `todo` when absent.
    #[serde(default)]
    pub status: Option<TaskStatus>,
    /// Priority; `medium` when absent.
    #[serde(default)]
    pub priority: Option<Priority>,
    /// Assignee.
    #[serde(default)]
    pub assignee: Option<String>,
    /// Labels.
    #[serde(default)]
    pub labels: Vec<String>,
    /// Due date.
    #[serde(default)]
    pub due_date: Option<DateTime<Utc>>,
    /// The epic it belongs to.
    #[serde(default)]
    pub epic_id: Option<String>,
    /// Estimate.
    #[serde(default)]
    pub story_points: Option<f64>,
    /// Service-specific fields.
    #[serde(default)]
    pub custom_fields: Fields,
}

/// What `create_epic` needs.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NewEpic {
    /// The epic's name.
    pub title: String,
    /// What it covers, Markdown.
    #[serde(default)]
    pub description: String,
    /// The project to create it in; the plugin's default when absent.
    #[serde(default)]
    pub project: Option<String>,
    /// Labels.
    #[serde(default)]
    pub labels: Vec<String>,
}

/// An epic: a group of tasks.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Epic {
    /// The tracker's identifier.
    pub id: String,
    /// Its name.
    pub title: String,
    /// What it covers.
    #[serde(default)]
    pub description: String,
    /// Where it is in its life.
    pub status: TaskStatus,
    /// A link to it, where the tracker has one.
    #[serde(default)]
    pub url: Option<String>,
    /// When it was created.
    pub created: DateTime<Utc>,
}

/// A comment on a task.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Comment {
    /// The tracker's identifier of the comment.
    pub id: String,
    /// The task it is on.
    pub task_id: String,
    /// Who wrote it.
    #[serde(default)]
    pub author: Option<String>,
    /// Its text, Markdown.
    pub body: String,
    /// When it was written.
    pub created: DateTime<Utc>,
}

/// One change in a task's history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct TaskHistoryEvent {
    /// When it happened.
    pub at: DateTime<Utc>,
    /// Who did it, when known.
    #[serde(default)]
    pub actor: Option<String>,
    /// What changed.
    pub change: TaskChange,
}

/// What changed in a [`TaskHistoryEvent`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum TaskChange {
    /// The task was created.
    Created,
    /// Its status moved.
    StatusChanged {
        /// The old status.
        from: TaskStatus,
        /// The new status.
        to: TaskStatus,
    },
    /// Its assignee changed.
    Assigned {
        /// The old assignee.
        from: Option<String>,
        /// The new assignee.
        to: Option<String>,
    },
    /// A comment was added.
    Commented {
        /// The comment's identifier.
        comment_id: String,
    },
    /// Some other field changed.
    FieldChanged {
        /// The field's name.
        field: String,
        /// Its old value, as text.
        from: Option<String>,
        /// Its new value, as text.
        to: Option<String>,
    },
}

/// Names one task.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TaskRef {
    /// The task's identifier.
    pub task_id: String,
}

/// Input of `update_task_status`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StatusUpdate {
    /// The task's identifier.
    pub task_id: String,
    /// The status to move it to.
    pub status: TaskStatus,
}

/// Input of `add_comment`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NewComment {
    /// The task to comment on.
    pub task_id: String,
    /// The comment, Markdown.
    pub body: String,
}

/// Input of `assign_task`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Assignment {
    /// The task's identifier.
    pub task_id: String,
    /// Who to assign it to; `null` unassigns it.
    pub assignee: Option<String>,
}

/// Input of `get_project_tasks`: which tasks to list.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TaskQuery {
    /// The project; the plugin's default when absent.
    #[serde(default)]
    pub project: Option<String>,
    /// Only tasks in this status.
    #[serde(default)]
    pub status: Option<TaskStatus>,
    /// Only tasks assigned to this user.
    #[serde(default)]
    pub assignee: Option<String>,
    /// Only tasks carrying all these labels.
    #[serde(default)]
    pub labels: Vec<String>,
    /// Only tasks of this epic.
    #[serde(default)]
    pub epic_id: Option<String>,
    /// At most this many tasks.
    #[serde(default)]
    pub limit: Option<u32>,
}
