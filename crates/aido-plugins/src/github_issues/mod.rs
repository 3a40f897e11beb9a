//! The `github_issues` plugin (kind `task_management`): GitHub Issues as
//! the task tracker.
//!
//! # Configuration
//!
//! ```yaml
//! plugins:
//!   task_management:
//!     provider: github_issues
//!     config:
//!       connection:
//!         token: ${GITHUB_TOKEN}          # required
//!         owner: acme                      # the default project is
//!         repo: widgets                    #   owner/repo
//!         # base_url: https://api.github.com
//!       mappings:
//!         statuses:   { in_progress: "status: in progress" }   # merged with the defaults
//!         priorities: { critical: "P0" }
//!       options: { timeout_seconds: 30, max_retries: 3 }
//! ```
//!
//! The environment prefix is `GITHUB`, shared with the `github` plugin, so
//! one `GITHUB_TOKEN` sets `connection.token` of both.
//!
//! # The mapping
//!
//! - A task is an issue (pull requests are skipped). Its id is the issue
//!   number (`"42"`) in the configured repository, or `owner/repo#42`
//!   anywhere else; both forms are accepted as input.
//! - Status is a label: by default `status: todo`, `status: in progress`,
//!   `status: in review`, `status: done` (override any in
//!   `mappings.statuses`). A closed issue is `done` whatever its labels; an
//!   open one without a status label is `todo`. Moving a task replaces its
//!   status label in one `PATCH`, closing it for `done` and reopening it
//!   otherwise.
//! - Priority is a label too: by default `priority: low|medium|high|critical`
//!   (`mappings.priorities`); none means `medium`. Status and priority
//!   labels are not repeated in `labels`.
//! - An epic is a milestone; `epic_id` is the milestone's number. Creating
//!   an epic whose title exists returns the existing one (GitHub refuses
//!   duplicate milestone titles).
//! - The assignee is the first of the issue's assignees; assigning
//!   replaces them.
//! - Comments carry `<!-- aido:<key> -->` when made with an idempotency
//!   key, and the key is looked up before posting, so a retried step does
//!   not comment twice; `create_task` does the same among the issues,
//!   newest first.
//! - History comes from the issue's timeline: label changes of status
//!   labels, closing and reopening become status changes; assignments,
//!   comments, milestones and renames their own changes.

mod config;

#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::sync::{Arc, LazyLock};

use aido_plugin_api::model::Fields;
use aido_plugin_api::model::task::{
    Assignment, Comment, Epic, NewComment, NewEpic, NewTask, Priority, StatusUpdate, Task,
    TaskChange, TaskHistoryEvent, TaskQuery, TaskRef, TaskStatus,
};
use aido_plugin_api::{
    CallContext, ConfigProblem, Error, ErrorKind, Health, Plugin, PluginConfig, PluginFactory,
    PluginInstance, PluginKind, PluginMetadata, Result, TaskManagement, async_trait,
};
use chrono::{DateTime, Utc};
use reqwest::Method;
use serde_json::{Value, json};

use self::config::{IssuesConfig, Mappings};
use crate::connected::Connected;
use crate::github::api::{
    CommentModel, GitHubApi, IssueModel, MilestoneModel, RepoName, marker, strip_marker,
    with_marker,
};

/// The plugin's name in `provider:`.
const NAME: &str = "github_issues";

static META: LazyLock<PluginMetadata> = LazyLock::new(|| {
    PluginMetadata::new::<IssuesConfig>(
        NAME,
        PluginKind::TaskManagement,
        env!("CARGO_PKG_VERSION"),
        "GitHub Issues as the task tracker: labels for status and priority, milestones as epics.",
    )
    // Shared with the `github` plugin: one GITHUB_TOKEN serves both.
    .with_env_prefix("GITHUB")
});

/// The `github_issues` plugin's factory, for the registry.
pub fn factory() -> PluginFactory {
    PluginFactory::new(META.clone(), || {
        PluginInstance::TaskManagement(Arc::new(GitHubIssuesPlugin::default()))
    })
}

/// The `github_issues` plugin: unconfigured until `connect`.
#[derive(Debug, Default)]
pub(crate) struct GitHubIssuesPlugin {
    state: Connected<Session>,
}

#[derive(Debug)]
struct Session {
    api: GitHubApi,
    /// The configured repository, when there is one.
    home: Option<RepoName>,
    mappings: Mappings,
}

impl GitHubIssuesPlugin {
    fn session(&self) -> Result<Arc<Session>> {
        self.state.get(NAME)
    }
}

#[async_trait]
impl Plugin for GitHubIssuesPlugin {
    fn metadata(&self) -> &PluginMetadata {
        &META
    }

    fn validate_config(&self, config: &PluginConfig) -> Vec<ConfigProblem> {
        match config.parse::<IssuesConfig>() {
            Ok(parsed) => parsed.problems(),
            Err(err) => vec![ConfigProblem::new("", err.message())],
        }
    }

    async fn connect(&self, config: &PluginConfig) -> Result<()> {
        let parsed: IssuesConfig = config.parse()?;
        let problems = parsed.problems();
        if !problems.is_empty() {
            let text: Vec<String> = problems
                .iter()
                .map(|p| format!("{}: {}", p.path, p.message))
                .collect();
            return Err(Error::configuration(text.join("; ")));
        }
        let api = GitHubApi::new(NAME, &parsed.connection, &parsed.options)?;
        let home = api.repo(None).ok();
        self.state.set(Session {
            api,
            home,
            mappings: parsed.mappings.resolved(),
        });
        Ok(())
    }

    async fn disconnect(&self) -> Result<()> {
        self.state.clear();
        Ok(())
    }

    async fn health_check(&self) -> Health {
        let session = match self.session() {
            Ok(session) => session,
            Err(err) => return Health::Unhealthy(err.message().to_owned()),
        };
        let result = match &session.home {
            Some(home) => session
                .api
                .get::<Value>("health_check", &home.path(), &[])
                .await
                .map(|_| ()),
            None => session
                .api
                .get::<Value>("health_check", "rate_limit", &[])
                .await
                .map(|_| ()),
        };
        match result {
            Ok(()) => Health::Healthy,
            Err(err) if err.kind() == ErrorKind::RateLimited => {
                Health::Degraded(format!("rate limited right now: {}", err.message()))
            }
            Err(err) => Health::Unhealthy(err.message().to_owned()),
        }
    }
}

impl Session {
    /// The repository and issue number of a task id (`42` or
    /// `owner/repo#42`).
    fn locate(&self, task_id: &str) -> Result<(RepoName, u64)> {
        let bad = || {
            Error::invalid_input(format!(
                "`{task_id}` is not a GitHub issue id; expected a number such as `42` or \
                 `owner/repo#42`"
            ))
        };
        let (repo, number) = match task_id.trim().rsplit_once('#') {
            Some((repo, number)) => (self.api.repo(Some(repo))?, number),
            None => (
                self.home.clone().ok_or_else(|| {
                    Error::invalid_input(format!(
                        "`{task_id}` names no repository and none is configured; use \
                         `owner/repo#{task_id}` or set connection.owner and connection.repo"
                    ))
                })?,
                task_id.trim().trim_start_matches('#'),
            ),
        };
        let number = number.parse::<u64>().map_err(|_| bad())?;
        Ok((repo, number))
    }

    /// The task id of issue `number` in `repo`.
    fn task_id(&self, repo: &RepoName, number: u64) -> String {
        match &self.home {
            Some(home) if home == repo => number.to_string(),
            _ => format!("{repo}#{number}"),
        }
    }

    fn project(&self, project: Option<&str>) -> Result<RepoName> {
        match project {
            Some(project) => self.api.repo(Some(project)),
            None => self.home.clone().ok_or_else(|| {
                Error::invalid_input(
                    "no project given and no repository configured; pass `owner/repo` or set \
                     connection.owner and connection.repo",
                )
            }),
        }
    }

    fn status_of(&self, issue: &IssueModel) -> TaskStatus {
        if issue.state == "closed" {
            return TaskStatus::Done;
        }
        TaskStatus::ALL
            .into_iter()
            .rev()
            .find(|s| {
                issue
                    .labels
                    .iter()
                    .any(|l| l.name == self.mappings.status(*s))
            })
            .unwrap_or(TaskStatus::Todo)
    }

    fn priority_of(&self, labels: &[String]) -> Priority {
        Priority::ALL
            .into_iter()
            .rev()
            .find(|p| labels.iter().any(|l| *l == self.mappings.priority(*p)))
            .unwrap_or_default()
    }

    fn is_mapped_label(&self, label: &str) -> bool {
        TaskStatus::ALL
            .iter()
            .any(|s| self.mappings.status(*s) == label)
            || Priority::ALL
                .iter()
                .any(|p| self.mappings.priority(*p) == label)
    }

    fn task(&self, repo: &RepoName, issue: IssueModel) -> Task {
        let status = self.status_of(&issue);
        let names: Vec<String> = issue.labels.iter().map(|l| l.name.clone()).collect();
        let priority = self.priority_of(&names);
        let mut custom_fields = Fields::new();
        custom_fields.insert("number".to_owned(), json!(issue.number));
        custom_fields.insert("repository".to_owned(), json!(repo.to_string()));
        custom_fields.insert("state".to_owned(), json!(issue.state));
        if let Some(url) = &issue.html_url {
            custom_fields.insert("url".to_owned(), json!(url));
        }
        let assignee = issue
            .assignees
            .first()
            .or(issue.assignee.as_ref())
            .map(|u| u.login.clone());
        Task {
            id: self.task_id(repo, issue.number),
            title: issue.title,
            description: strip_marker(issue.body.as_deref().unwrap_or("")),
            status,
            assignee,
            priority,
            labels: names
                .into_iter()
                .filter(|l| !self.is_mapped_label(l))
                .collect(),
            created: issue.created_at,
            updated: issue.updated_at,
            due_date: None,
            epic_id: issue.milestone.map(|m| m.number.to_string()),
            story_points: None,
            custom_fields,
        }
    }

    /// `labels` with the status and priority labels replaced.
    fn relabel(
        &self,
        labels: &[String],
        status: TaskStatus,
        priority: Option<Priority>,
    ) -> Vec<String> {
        let mut out: Vec<String> = labels
            .iter()
            .filter(|l| {
                let is_status = TaskStatus::ALL
                    .iter()
                    .any(|s| self.mappings.status(*s) == l.as_str());
                let is_priority = priority.is_some()
                    && Priority::ALL
                        .iter()
                        .any(|p| self.mappings.priority(*p) == l.as_str());
                !is_status && !is_priority
            })
            .cloned()
            .collect();
        out.push(self.mappings.status(status).to_owned());
        if let Some(priority) = priority {
            out.push(self.mappings.priority(priority).to_owned());
        }
        out
    }

    async fn issue(&self, operation: &str, repo: &RepoName, number: u64) -> Result<IssueModel> {
        let issue: IssueModel = self
            .api
            .get(operation, &format!("{}/issues/{number}", repo.path()), &[])
            .await?;
        if issue.pull_request.is_some() {
            return Err(Error::not_found(format!(
                "{repo}#{number} is a pull request, not an issue"
            )));
        }
        Ok(issue)
    }
}

fn epic(milestone: MilestoneModel) -> Epic {
    let status = match (milestone.state.as_str(), milestone.closed_issues) {
        ("closed", _) => TaskStatus::Done,
        (_, 0) => TaskStatus::Todo,
        _ => TaskStatus::InProgress,
    };
    Epic {
        id: milestone.number.to_string(),
        title: milestone.title,
        description: milestone.description.unwrap_or_default(),
        status,
        url: milestone.html_url,
        created: milestone.created_at,
    }
}

fn comment(task_id: &str, model: CommentModel) -> Comment {
    Comment {
        id: model.id.to_string(),
        task_id: task_id.to_owned(),
        author: model.user.map(|u| u.login),
        body: strip_marker(model.body.as_deref().unwrap_or("")),
        created: model.created_at,
    }
}

fn epic_number(epic_id: &str) -> Result<u64> {
    epic_id.trim().parse().map_err(|_| {
        Error::invalid_input(format!(
            "`{epic_id}` is not a milestone number (epics are milestones; use their number)"
        ))
    })
}

#[async_trait]
impl TaskManagement for GitHubIssuesPlugin {
    async fn get_task(&self, _cx: &CallContext, input: TaskRef) -> Result<Task> {
        let session = self.session()?;
        let (repo, number) = session.locate(&input.task_id)?;
        let issue = session.issue("get_task", &repo, number).await?;
        Ok(session.task(&repo, issue))
    }

    async fn create_task(&self, cx: &CallContext, input: NewTask) -> Result<Task> {
        const OP: &str = "create_task";
        let session = self.session()?;
        let repo = session.project(input.project.as_deref())?;
        let key = cx.idempotency_key.as_deref();
        let body = with_marker(&input.description, key)?;
        let issues_path = format!("{}/issues", repo.path());
        if let Some(key) = key {
            let wanted = marker(key);
            let found: Vec<IssueModel> = session
                .api
                .list(
                    OP,
                    &issues_path,
                    &[("state", "all"), ("sort", "created"), ("direction", "desc")],
                    Some(1),
                    |i: &IssueModel| i.body.as_deref().is_some_and(|b| b.contains(&wanted)),
                )
                .await?;
            if let Some(issue) = found.into_iter().next() {
                return Ok(session.task(&repo, issue));
            }
        }
        let status = input.status.unwrap_or(TaskStatus::Todo);
        let labels = session.relabel(
            &input.labels,
            status,
            Some(input.priority.unwrap_or_default()),
        );
        let mut request = json!({"title": input.title, "body": body, "labels": labels});
        if let Some(object) = request.as_object_mut() {
            if let Some(assignee) = &input.assignee {
                object.insert("assignees".to_owned(), json!([assignee]));
            }
            if let Some(epic_id) = &input.epic_id {
                object.insert("milestone".to_owned(), json!(epic_number(epic_id)?));
            }
        }
        let mut issue: IssueModel = session
            .api
            .send(OP, Method::POST, &issues_path, &request)
            .await?;
        if status == TaskStatus::Done {
            issue = session
                .api
                .send(
                    OP,
                    Method::PATCH,
                    &format!("{issues_path}/{}", issue.number),
                    &json!({"state": "closed", "state_reason": "completed"}),
                )
                .await?;
        }
        Ok(session.task(&repo, issue))
    }

    async fn update_task_status(&self, _cx: &CallContext, input: StatusUpdate) -> Result<Task> {
        const OP: &str = "update_task_status";
        let session = self.session()?;
        let (repo, number) = session.locate(&input.task_id)?;
        let issue = session.issue(OP, &repo, number).await?;
        let names: Vec<String> = issue.labels.iter().map(|l| l.name.clone()).collect();
        let labels = session.relabel(&names, input.status, None);
        let state = if input.status == TaskStatus::Done {
            json!({"labels": labels, "state": "closed", "state_reason": "completed"})
        } else {
            json!({"labels": labels, "state": "open"})
        };
        let issue: IssueModel = session
            .api
            .send(
                OP,
                Method::PATCH,
                &format!("{}/issues/{number}", repo.path()),
                &state,
            )
            .await?;
        Ok(session.task(&repo, issue))
    }

    async fn add_comment(&self, cx: &CallContext, input: NewComment) -> Result<Comment> {
        const OP: &str = "add_comment";
        let session = self.session()?;
        let (repo, number) = session.locate(&input.task_id)?;
        let key = cx.idempotency_key.as_deref();
        let body = with_marker(&input.body, key)?;
        let path = format!("{}/issues/{number}/comments", repo.path());
        if let Some(key) = key {
            let wanted = marker(key);
            let found: Vec<CommentModel> = session
                .api
                .list(OP, &path, &[], Some(1), |c: &CommentModel| {
                    c.body.as_deref().is_some_and(|b| b.contains(&wanted))
                })
                .await?;
            if let Some(existing) = found.into_iter().next() {
                return Ok(comment(&input.task_id, existing));
            }
        }
        let made: CommentModel = session
            .api
            .send(OP, Method::POST, &path, &json!({"body": body}))
            .await?;
        Ok(comment(&input.task_id, made))
    }

    async fn get_comments(&self, _cx: &CallContext, input: TaskRef) -> Result<Vec<Comment>> {
        let session = self.session()?;
        let (repo, number) = session.locate(&input.task_id)?;
        let comments: Vec<CommentModel> = session
            .api
            .list(
                "get_comments",
                &format!("{}/issues/{number}/comments", repo.path()),
                &[],
                None,
                |_| true,
            )
            .await?;
        Ok(comments
            .into_iter()
            .map(|c| comment(&input.task_id, c))
            .collect())
    }

    async fn create_epic(&self, _cx: &CallContext, input: NewEpic) -> Result<Epic> {
        const OP: &str = "create_epic";
        let session = self.session()?;
        let repo = session.project(input.project.as_deref())?;
        let path = format!("{}/milestones", repo.path());
        let title = input.title.clone();
        let existing: Vec<MilestoneModel> = session
            .api
            .list(
                OP,
                &path,
                &[("state", "all")],
                Some(1),
                |m: &MilestoneModel| m.title == title,
            )
            .await?;
        if let Some(found) = existing.into_iter().next() {
            return Ok(epic(found));
        }
        let made: MilestoneModel = session
            .api
            .send(
                OP,
                Method::POST,
                &path,
                &json!({"title": input.title, "description": input.description}),
            )
            .await?;
        Ok(epic(made))
    }

    async fn get_project_tasks(&self, _cx: &CallContext, input: TaskQuery) -> Result<Vec<Task>> {
        let session = self.session()?;
        let repo = session.project(input.project.as_deref())?;
        let state = match input.status {
            Some(TaskStatus::Done) => "closed",
            Some(_) => "open",
            None => "all",
        };
        let labels = input.labels.join(",");
        let mut query = vec![("state", state)];
        if !labels.is_empty() {
            query.push(("labels", &labels));
        }
        if let Some(assignee) = &input.assignee {
            query.push(("assignee", assignee));
        }
        let milestone = match &input.epic_id {
            Some(epic_id) => Some(epic_number(epic_id)?.to_string()),
            None => None,
        };
        if let Some(milestone) = &milestone {
            query.push(("milestone", milestone));
        }
        let wanted = input.status;
        let limit = input.limit.map(|l| l as usize);
        let issues: Vec<IssueModel> = session
            .api
            .list(
                "get_project_tasks",
                &format!("{}/issues", repo.path()),
                &query,
                limit,
                |issue: &IssueModel| {
                    issue.pull_request.is_none()
                        && wanted.is_none_or(|status| session.status_of(issue) == status)
                },
            )
            .await?;
        Ok(issues
            .into_iter()
            .map(|issue| session.task(&repo, issue))
            .collect())
    }

    async fn assign_task(&self, _cx: &CallContext, input: Assignment) -> Result<Task> {
        const OP: &str = "assign_task";
        let session = self.session()?;
        let (repo, number) = session.locate(&input.task_id)?;
        let assignees: Vec<String> = input.assignee.into_iter().collect();
        let issue: IssueModel = session
            .api
            .send(
                OP,
                Method::PATCH,
                &format!("{}/issues/{number}", repo.path()),
                &json!({"assignees": assignees}),
            )
            .await?;
        Ok(session.task(&repo, issue))
    }

    async fn get_task_history(
        &self,
        _cx: &CallContext,
        input: TaskRef,
    ) -> Result<Vec<TaskHistoryEvent>> {
        const OP: &str = "get_task_history";
        let session = self.session()?;
        let (repo, number) = session.locate(&input.task_id)?;
        let issue = session.issue(OP, &repo, number).await?;
        let timeline: Vec<Value> = session
            .api
            .list(
                OP,
                &format!("{}/issues/{number}/timeline", repo.path()),
                &[],
                None,
                |_| true,
            )
            .await?;
        Ok(history(&session.mappings, issue.created_at, &timeline))
    }
}

/// The task's history from its timeline entries, oldest first.
fn history(
    mappings: &Mappings,
    created: DateTime<Utc>,
    timeline: &[Value],
) -> Vec<TaskHistoryEvent> {
    let status_of_label: BTreeMap<&str, TaskStatus> = TaskStatus::ALL
        .into_iter()
        .map(|s| (mappings.status(s), s))
        .collect();
    let mut events = vec![TaskHistoryEvent {
        at: created,
        actor: None,
        change: TaskChange::Created,
    }];
    let mut open = true;
    let mut status_labels: Vec<TaskStatus> = Vec::new();
    let mut assignee: Option<String> = None;
    // The status last reported (or the initial one).
    let mut reported = TaskStatus::Todo;
    let current = |open: bool, labels: &[TaskStatus]| -> TaskStatus {
        if !open {
            return TaskStatus::Done;
        }
        labels
            .iter()
            .copied()
            .max_by_key(|s| *s as u8)
            .unwrap_or(TaskStatus::Todo)
    };
    let status_label = |entry: Option<&Value>, kind: &str| -> bool {
        entry.is_some_and(|e| {
            e.get("event").and_then(Value::as_str) == Some(kind)
                && e.pointer("/label/name")
                    .and_then(Value::as_str)
                    .is_some_and(|l| status_of_label.contains_key(l))
        })
    };
    let text = |value: &Value, pointer: &str| {
        value
            .pointer(pointer)
            .and_then(Value::as_str)
            .map(str::to_owned)
    };
    for (index, entry) in timeline.iter().enumerate() {
        // A status label swapped for another is one change, not two.
        let swapping = status_label(Some(entry), "unlabeled")
            && status_label(timeline.get(index + 1), "labeled");
        let Some(at) = text(entry, "/created_at").and_then(|t| t.parse::<DateTime<Utc>>().ok())
        else {
            continue;
        };
        let actor = text(entry, "/actor/login").or_else(|| text(entry, "/user/login"));
        let change = match entry.get("event").and_then(Value::as_str).unwrap_or("") {
            kind @ ("labeled" | "unlabeled") => {
                let Some(label) = text(entry, "/label/name") else {
                    continue;
                };
                match status_of_label.get(label.as_str()) {
                    Some(status) => {
                        if kind == "labeled" {
                            status_labels.push(*status);
                        } else {
                            status_labels.retain(|s| s != status);
                        }
                        None
                    }
                    None => Some(TaskChange::FieldChanged {
                        field: "labels".to_owned(),
                        from: (kind == "unlabeled").then(|| label.clone()),
                        to: (kind == "labeled").then_some(label),
                    }),
                }
            }
            "closed" => {
                open = false;
                None
            }
            "reopened" => {
                open = true;
                None
            }
            "assigned" => {
                let to = text(entry, "/assignee/login");
                let from = std::mem::replace(&mut assignee, to.clone());
                Some(TaskChange::Assigned { from, to })
            }
            "unassigned" => {
                let from = text(entry, "/assignee/login");
                assignee = None;
                Some(TaskChange::Assigned { from, to: None })
            }
            "commented" => entry.get("id").map(|id| TaskChange::Commented {
                comment_id: id.to_string().trim_matches('"').to_owned(),
            }),
            "milestoned" => Some(TaskChange::FieldChanged {
                field: "epic_id".to_owned(),
                from: None,
                to: text(entry, "/milestone/title"),
            }),
            "demilestoned" => Some(TaskChange::FieldChanged {
                field: "epic_id".to_owned(),
                from: text(entry, "/milestone/title"),
                to: None,
            }),
            "renamed" => Some(TaskChange::FieldChanged {
                field: "title".to_owned(),
                from: text(entry, "/rename/from"),
                to: text(entry, "/rename/to"),
            }),
            _ => None,
        };
        let after = current(open, &status_labels);
        if after != reported && !swapping {
            events.push(TaskHistoryEvent {
                at,
                actor: actor.clone(),
                change: TaskChange::StatusChanged {
                    from: reported,
                    to: after,
                },
            });
            reported = after;
        }
        if let Some(change) = change {
            events.push(TaskHistoryEvent { at, actor, change });
        }
    }
    events
}
