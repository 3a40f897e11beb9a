//! Linear's answers as the plugin reads them, and their mapping to the
//! standard task format.

use aido_plugin_api::model::Fields;
use aido_plugin_api::model::task::{Comment, Epic, Priority, Task, TaskStatus};
use chrono::{DateTime, NaiveDate, Utc};
use serde::Deserialize;
use serde_json::json;

/// The start of the line that marks what was made under an idempotency
/// key (a comment's body, an issue's description).
pub(super) const KEY_MARKER: &str = "aido-key: ";

/// `text` without its idempotency line.
pub(super) fn without_marker(text: &str) -> String {
    let kept: Vec<&str> = text
        .lines()
        .filter(|line| !line.trim_start().starts_with(KEY_MARKER))
        .collect();
    kept.join("\n").trim_end().to_owned()
}

/// A connection's `nodes`.
#[derive(Debug, Clone, Deserialize)]
pub(super) struct Nodes<T> {
    pub(super) nodes: Vec<T>,
}

/// A team.
#[derive(Debug, Clone, Deserialize)]
pub(super) struct TeamNode {
    pub(super) id: String,
    pub(super) key: String,
}

/// A workflow state; `kind` is Linear's state type.
#[derive(Debug, Clone, Deserialize)]
pub(super) struct StateNode {
    #[serde(default)]
    pub(super) id: String,
    pub(super) name: String,
    #[serde(rename = "type")]
    pub(super) kind: String,
}

/// A user.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct UserNode {
    #[serde(default)]
    pub(super) id: String,
    pub(super) name: String,
    #[serde(default)]
    pub(super) display_name: Option<String>,
    #[serde(default)]
    pub(super) email: Option<String>,
}

impl UserNode {
    /// How aido names a user: the email, else the name.
    pub(super) fn label(&self) -> String {
        self.email.clone().unwrap_or_else(|| self.name.clone())
    }
}

/// A label.
#[derive(Debug, Clone, Deserialize)]
pub(super) struct LabelNode {
    pub(super) id: String,
    pub(super) name: String,
}

/// A reference to another entity.
#[derive(Debug, Clone, Deserialize)]
pub(super) struct Ref {
    pub(super) id: String,
}

/// A parent issue.
#[derive(Debug, Clone, Deserialize)]
pub(super) struct ParentRef {
    pub(super) identifier: String,
}

/// An issue, with the fields of `issue_fields!`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct IssueNode {
    pub(super) id: String,
    pub(super) identifier: String,
    pub(super) title: String,
    #[serde(default)]
    pub(super) description: Option<String>,
    #[serde(default)]
    pub(super) priority: f64,
    #[serde(default)]
    pub(super) estimate: Option<f64>,
    #[serde(default)]
    pub(super) due_date: Option<String>,
    #[serde(default)]
    pub(super) url: Option<String>,
    pub(super) created_at: DateTime<Utc>,
    pub(super) updated_at: DateTime<Utc>,
    pub(super) state: StateNode,
    pub(super) team: TeamNode,
    #[serde(default)]
    pub(super) assignee: Option<UserNode>,
    pub(super) labels: Nodes<LabelNode>,
    #[serde(default)]
    pub(super) project: Option<Ref>,
    #[serde(default)]
    pub(super) parent: Option<ParentRef>,
}

impl IssueNode {
    /// Linear's priority number (a float in the schema, 0 to 4).
    pub(super) fn priority_number(&self) -> u8 {
        self.priority.round().clamp(0.0, 4.0) as u8
    }

    /// The issue as a task, with its status and priority already mapped.
    pub(super) fn to_task(&self, status: TaskStatus, priority: Priority) -> Task {
        let mut custom = Fields::new();
        custom.insert("linear_id".into(), json!(self.id));
        custom.insert("state".into(), json!(self.state.name));
        custom.insert("team".into(), json!(self.team.key));
        custom.insert("priority_number".into(), json!(self.priority_number()));
        if let Some(url) = &self.url {
            custom.insert("url".into(), json!(url));
        }
        if let Some(parent) = &self.parent {
            custom.insert("parent".into(), json!(parent.identifier));
        }
        Task {
            id: self.identifier.clone(),
            title: self.title.clone(),
            description: without_marker(self.description.as_deref().unwrap_or_default()),
            status,
            assignee: self.assignee.as_ref().map(UserNode::label),
            priority,
            labels: self.labels.nodes.iter().map(|l| l.name.clone()).collect(),
            created: self.created_at,
            updated: self.updated_at,
            due_date: self
                .due_date
                .as_deref()
                .and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())
                .and_then(|d| d.and_hms_opt(0, 0, 0))
                .map(|d| d.and_utc()),
            epic_id: self.project.as_ref().map(|p| p.id.clone()),
            story_points: self.estimate,
            custom_fields: custom,
        }
    }
}

/// The status of a state no mapping names, by its type.
pub(super) fn status_of_type(kind: &str) -> TaskStatus {
    match kind {
        "started" => TaskStatus::InProgress,
        "completed" | "canceled" => TaskStatus::Done,
        _ => TaskStatus::Todo,
    }
}

/// A comment.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct CommentNode {
    pub(super) id: String,
    #[serde(default)]
    pub(super) body: String,
    pub(super) created_at: DateTime<Utc>,
    #[serde(default)]
    pub(super) user: Option<UserNode>,
}

impl CommentNode {
    /// The comment in the standard format, without its idempotency line.
    pub(super) fn to_comment(&self, task_id: &str) -> Comment {
        Comment {
            id: self.id.clone(),
            task_id: task_id.to_owned(),
            author: self.user.as_ref().map(UserNode::label),
            body: without_marker(&self.body),
            created: self.created_at,
        }
    }
}

/// A project (aido's epic).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct ProjectNode {
    pub(super) id: String,
    pub(super) name: String,
    #[serde(default)]
    pub(super) description: Option<String>,
    #[serde(default)]
    pub(super) url: Option<String>,
    pub(super) created_at: DateTime<Utc>,
}

impl ProjectNode {
    /// The project as an epic; a new project is `todo`.
    pub(super) fn to_epic(&self) -> Epic {
        Epic {
            id: self.id.clone(),
            title: self.name.clone(),
            description: self.description.clone().unwrap_or_default(),
            status: TaskStatus::Todo,
            url: self.url.clone(),
            created: self.created_at,
        }
    }
}

/// One history entry.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct HistoryNode {
    pub(super) created_at: DateTime<Utc>,
    #[serde(default)]
    pub(super) actor: Option<UserNode>,
    #[serde(default)]
    pub(super) from_state: Option<StateNode>,
    #[serde(default)]
    pub(super) to_state: Option<StateNode>,
    #[serde(default)]
    pub(super) from_assignee: Option<UserNode>,
    #[serde(default)]
    pub(super) to_assignee: Option<UserNode>,
}

/// `pageInfo`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct PageInfo {
    pub(super) has_next_page: bool,
    #[serde(default)]
    pub(super) end_cursor: Option<String>,
}

/// A page of issues.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct IssuePage {
    pub(super) nodes: Vec<IssueNode>,
    pub(super) page_info: PageInfo,
}

/// `teams`.
#[derive(Debug, Deserialize)]
pub(super) struct TeamsData {
    pub(super) teams: Nodes<TeamNode>,
}

/// `users`.
#[derive(Debug, Deserialize)]
pub(super) struct UsersData {
    pub(super) users: Nodes<UserNode>,
}

/// `workflowStates`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct StatesData {
    pub(super) workflow_states: Nodes<StateNode>,
}

/// `issueLabels`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct LabelsData {
    pub(super) issue_labels: Nodes<LabelNode>,
}

/// `issue`.
#[derive(Debug, Deserialize)]
pub(super) struct IssueData {
    pub(super) issue: IssueNode,
}

/// `issues`.
#[derive(Debug, Deserialize)]
pub(super) struct IssuesData {
    pub(super) issues: IssuePage,
}

/// `issue { comments }`.
#[derive(Debug, Deserialize)]
pub(super) struct IssueCommentsData {
    pub(super) issue: IssueWithComments,
}

/// An issue with its comments.
#[derive(Debug, Deserialize)]
pub(super) struct IssueWithComments {
    pub(super) id: String,
    pub(super) identifier: String,
    pub(super) comments: Nodes<CommentNode>,
}

/// `issue { createdAt history comments }`.
#[derive(Debug, Deserialize)]
pub(super) struct HistoryData {
    pub(super) issue: IssueWithHistory,
}

/// An issue with its history and comments.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct IssueWithHistory {
    pub(super) created_at: DateTime<Utc>,
    pub(super) history: Nodes<HistoryNode>,
    pub(super) comments: Nodes<CommentNode>,
}

/// A mutation payload holding an issue.
#[derive(Debug, Deserialize)]
pub(super) struct IssuePayload {
    pub(super) issue: IssueNode,
}

/// `issueCreate`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct IssueCreated {
    pub(super) issue_create: IssuePayload,
}

/// `issueUpdate`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct IssueUpdated {
    pub(super) issue_update: IssuePayload,
}

/// `commentCreate`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct CommentCreated {
    pub(super) comment_create: CommentPayload,
}

/// A mutation payload holding a comment.
#[derive(Debug, Deserialize)]
pub(super) struct CommentPayload {
    pub(super) comment: CommentNode,
}

/// `issueLabelCreate`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct LabelCreated {
    pub(super) issue_label_create: LabelPayload,
}

/// A mutation payload holding a label.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct LabelPayload {
    pub(super) issue_label: LabelNode,
}

/// `projectCreate`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct ProjectCreated {
    pub(super) project_create: ProjectPayload,
}

/// A mutation payload holding a project.
#[derive(Debug, Deserialize)]
pub(super) struct ProjectPayload {
    pub(super) project: ProjectNode,
}
