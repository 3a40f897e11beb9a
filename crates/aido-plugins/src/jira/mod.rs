//! The `jira` task-management plugin: Jira Cloud through REST API v3.
//!
//! # Configuration
//!
//! ```yaml
//! plugins:
//!   task_management:
//!     provider: jira
//!     config:
//!       connection:
//!         base_url: https://your-site.atlassian.net
//!         email: you@example.com
//!         api_token: ${JIRA_API_TOKEN}
//!         project_key: PROJ
//!       mappings:
//!         statuses: { todo: "To Do", in_progress: "In Progress", in_review: "In Review", done: "Done" }
//!         priorities: { low: "Low", medium: "Medium", high: "High", critical: "Highest" }
//!       options:
//!         epic_issue_type: Epic
//!         task_issue_type: Task
//!         timeout_seconds: 30
//!         max_retries: 3
//!         # rate_limit_per_second: 5
//! ```
//!
//! Requests use HTTP Basic authentication with the email and the API
//! token (`JIRA_API_TOKEN` sets `connection.api_token`).
//!
//! # What it does
//!
//! - `get_task`: `GET /rest/api/3/issue/{key}`.
//! - `create_task`, `create_epic`: `POST /rest/api/3/issue` with the
//!   description in Atlassian Document Format ([`adf`]), the mapped
//!   priority, labels, `parent` for the epic, the assignee's account id
//!   (looked up by email with `GET /rest/api/3/user/search`), then a
//!   transition when the initial status is not `todo`. `story_points` is
//!   not sent: its custom field differs per site.
//! - `update_task_status`: statuses change by transitions; the one whose
//!   target is the mapped status is taken from
//!   `GET .../transitions` and posted.
//! - `add_comment`, `get_comments`: `.../comment` with ADF bodies.
//! - `assign_task`: `PUT .../assignee` with `{accountId}` (`null`
//!   unassigns).
//! - `get_project_tasks`: `POST /rest/api/3/search/jql`, following
//!   `nextPageToken` until `isLast` or the limit (the older
//!   `/rest/api/3/search` is removed from Jira Cloud).
//! - `get_task_history`: creation, `GET .../changelog` (paged by
//!   `startAt` until `isLast`) and the comments, oldest first.
//!
//! Jira's statuses and priorities map through `mappings`; a status it does
//! not name maps by its status category (`new`, `indeterminate`, `done`).
//!
//! # Never twice
//!
//! - A task or epic created with an idempotency key carries the label
//!   `aido-key-<hash of the key>`; before creating, the plugin searches
//!   the project for it with JQL and returns the issue found. The label
//!   is hidden from the returned task's labels.
//! - A comment added with a key ends with a marker paragraph
//!   `[aido:<hash>]`; the issue's comments are read first and a comment
//!   carrying the marker is returned instead. The marker is cut from
//!   comment bodies read back.
//!
//! The records live in Jira itself, so they hold across machines.
//!
//! # Errors
//!
//! Jira's `errorMessages` and per-field `errors` are quoted in every error
//! ([`errors`]); the kind follows the status (400 invalid input, 401/403
//! authentication, 404 not found, 429 rate limited).

mod adf;
mod config;
mod errors;

use std::sync::{Arc, LazyLock};
use std::time::Duration;

use aido_plugin_api::model::Fields;
use aido_plugin_api::model::task::{
    Assignment, Comment, Epic, NewComment, NewEpic, NewTask, Priority, StatusUpdate, Task,
    TaskChange, TaskHistoryEvent, TaskQuery, TaskRef, TaskStatus,
};
use aido_plugin_api::{
    CallContext, ConfigProblem, Error, ErrorKind, Health, Plugin, PluginConfig, PluginFactory,
    PluginInstance, PluginKind, PluginMetadata, Result, TaskManagement, async_trait,
};
use chrono::{DateTime, NaiveDate, Utc};
use reqwest::Method;
use serde_json::{Value, json};

use self::config::{JiraConfig, check_config};
use crate::connected::Connected;
use crate::http::{Auth, HttpClient, HttpConfig};

/// The plugin's name in `provider:`.
const NAME: &str = "jira";

/// How long a health check may take.
const HEALTH_TIMEOUT: Duration = Duration::from_secs(10);

/// The prefix of idempotency labels.
const KEY_LABEL: &str = "aido-key-";

/// The fields asked of the search endpoint, which returns none unless told.
const FIELDS: [&str; 11] = [
    "summary",
    "description",
    "status",
    "priority",
    "labels",
    "assignee",
    "created",
    "updated",
    "duedate",
    "parent",
    "issuetype",
];

/// Issues asked per search page (Jira's page limit for full issues).
const PAGE_SIZE: u32 = 50;

static META: LazyLock<PluginMetadata> = LazyLock::new(|| {
    PluginMetadata::new::<JiraConfig>(
        NAME,
        PluginKind::TaskManagement,
        env!("CARGO_PKG_VERSION"),
        "Jira Cloud issues through the REST API v3.",
    )
});

/// The `jira` plugin's factory, for the registry.
pub fn factory() -> PluginFactory {
    PluginFactory::new(META.clone(), || {
        PluginInstance::TaskManagement(Arc::new(JiraPlugin::default()))
    })
}

/// The `jira` plugin: unconfigured until `connect`.
#[derive(Debug, Default)]
pub(crate) struct JiraPlugin {
    state: Connected<Site>,
}

/// A connected site.
#[derive(Debug)]
struct Site {
    client: HttpClient,
    base_url: String,
    config: JiraConfig,
}

impl JiraPlugin {
    fn site(&self) -> Result<Arc<Site>> {
        self.state.get(NAME)
    }
}

/// A stable short hash of an idempotency key (FNV-1a, 64 bits).
fn key_hash(key: &str) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in key.bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{hash:016x}")
}

/// The marker paragraph of a comment made under `key`.
fn comment_marker(key: &str) -> String {
    format!("[aido:{}]", key_hash(key))
}

/// A JQL string literal.
fn jql_quote(text: &str) -> String {
    format!("\"{}\"", text.replace('\\', "\\\\").replace('"', "\\\""))
}

/// An issue key or id as a path segment (no slashes or query characters).
fn issue_path(key: &str, tail: &str) -> Result<String> {
    let key = key.trim();
    if key.is_empty()
        || !key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        return Err(Error::invalid_input(format!(
            "`{key}` is not a Jira issue key such as PROJ-12"
        )));
    }
    Ok(format!("rest/api/3/issue/{key}{tail}"))
}

/// A Jira time (`2024-01-15T10:30:00.000+0000`).
fn parse_time(value: &Value) -> Option<DateTime<Utc>> {
    let text = value.as_str()?;
    DateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f%z")
        .or_else(|_| DateTime::parse_from_rfc3339(text))
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

fn str_at<'a>(value: &'a Value, pointer: &str) -> Option<&'a str> {
    value
        .pointer(pointer)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
}

fn invalid(what: &str) -> Error {
    Error::invalid_response(format!("Jira's answer has no {what}"))
}

/// A user as tasks name them: the email when visible, else the account id.
fn user_name(user: &Value) -> Option<String> {
    str_at(user, "/emailAddress")
        .or_else(|| str_at(user, "/accountId"))
        .map(str::to_owned)
}

impl Site {
    fn status_of(&self, status: &Value) -> TaskStatus {
        let name = str_at(status, "/name").unwrap_or("");
        self.config
            .mappings
            .statuses
            .status_of(name)
            .unwrap_or_else(|| match str_at(status, "/statusCategory/key") {
                Some("done") => TaskStatus::Done,
                Some("indeterminate") => TaskStatus::InProgress,
                _ => TaskStatus::Todo,
            })
    }

    fn browse_url(&self, key: &str) -> String {
        format!("{}/browse/{key}", self.base_url.trim_end_matches('/'))
    }

    fn task_of(&self, issue: &Value) -> Result<Task> {
        let key = str_at(issue, "/key").ok_or_else(|| invalid("issue key"))?;
        let fields = issue.get("fields").ok_or_else(|| invalid("issue fields"))?;
        let created = parse_time(&fields["created"]).ok_or_else(|| invalid("creation time"))?;
        let mut custom = Fields::new();
        custom.insert("url".into(), json!(self.browse_url(key)));
        if let Some(kind) = str_at(fields, "/issuetype/name") {
            custom.insert("issue_type".into(), json!(kind));
        }
        if let Some(id) = str_at(issue, "/id") {
            custom.insert("jira_id".into(), json!(id));
        }
        Ok(Task {
            id: key.to_owned(),
            title: str_at(fields, "/summary").unwrap_or_default().to_owned(),
            description: adf::to_text(&fields["description"]),
            status: self.status_of(&fields["status"]),
            assignee: user_name(&fields["assignee"]),
            priority: str_at(fields, "/priority/name")
                .and_then(|name| self.config.mappings.priorities.priority_of(name))
                .unwrap_or_default(),
            labels: fields["labels"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .filter(|label| !label.starts_with(KEY_LABEL))
                .map(str::to_owned)
                .collect(),
            created,
            updated: parse_time(&fields["updated"]).unwrap_or(created),
            due_date: fields["duedate"]
                .as_str()
                .and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())
                .and_then(|d| d.and_hms_opt(0, 0, 0))
                .map(|d| d.and_utc()),
            epic_id: str_at(fields, "/parent/key").map(str::to_owned),
            story_points: None,
            custom_fields: custom,
        })
    }

    async fn issue(&self, operation: &str, key: &str) -> Result<Value> {
        self.client
            .get(operation, &issue_path(key, "")?)
            .send_json()
            .await
    }

    async fn task(&self, operation: &str, key: &str) -> Result<Task> {
        let issue = self.issue(operation, key).await?;
        self.task_of(&issue).map_err(|e| e.in_call(NAME, operation))
    }

    /// The account id of a user named by account id or email.
    async fn account_id(&self, operation: &str, user: &str) -> Result<String> {
        let user = user.trim();
        if !user.contains('@') {
            return Ok(user.to_owned());
        }
        let found: Value = self
            .client
            .get(operation, "rest/api/3/user/search")
            .query("query", user)
            .send_json()
            .await?;
        let users = found.as_array().map(Vec::as_slice).unwrap_or(&[]);
        users
            .iter()
            .find(|u| {
                str_at(u, "/emailAddress").is_some_and(|email| email.eq_ignore_ascii_case(user))
            })
            .or_else(|| users.first())
            .and_then(|u| str_at(u, "/accountId"))
            .map(str::to_owned)
            .ok_or_else(|| {
                Error::not_found(format!("no Jira user has the email {user}"))
                    .in_call(NAME, operation)
            })
    }

    /// Every issue a JQL query finds, up to `limit`, following
    /// `nextPageToken`.
    async fn search(&self, operation: &str, jql: &str, limit: Option<u32>) -> Result<Vec<Value>> {
        let mut found = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let want = match limit {
                Some(limit) => (limit as usize)
                    .saturating_sub(found.len())
                    .min(PAGE_SIZE as usize),
                None => PAGE_SIZE as usize,
            };
            if want == 0 {
                break;
            }
            let mut body = json!({"jql": jql, "maxResults": want, "fields": FIELDS});
            if let Some(token) = &token {
                body["nextPageToken"] = json!(token);
            }
            // A search changes nothing: safe to repeat.
            let page: Value = self
                .client
                .post(operation, "rest/api/3/search/jql")
                .json(&body)
                .idempotent()
                .send_json()
                .await?;
            let issues = page["issues"]
                .as_array()
                .ok_or_else(|| invalid("`issues` list").in_call(NAME, operation))?;
            found.extend(issues.iter().cloned());
            let last = page["isLast"].as_bool().unwrap_or(true);
            match str_at(&page, "/nextPageToken") {
                Some(next) if !last && !issues.is_empty() => token = Some(next.to_owned()),
                _ => break,
            }
        }
        Ok(found)
    }

    /// Moves an issue to `status` through the transition leading there.
    async fn transition(&self, operation: &str, key: &str, status: TaskStatus) -> Result<()> {
        let target = self.config.mappings.statuses.name(status);
        let path = issue_path(key, "/transitions")?;
        let list: Value = self.client.get(operation, &path).send_json().await?;
        let transitions = list["transitions"]
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or(&[]);
        let Some(id) = transitions
            .iter()
            .find(|t| str_at(t, "/to/name").is_some_and(|n| n.eq_ignore_ascii_case(target)))
            .and_then(|t| str_at(t, "/id"))
        else {
            let names: Vec<&str> = transitions
                .iter()
                .filter_map(|t| str_at(t, "/to/name"))
                .collect();
            return Err(Error::invalid_input(format!(
                "{key} cannot move to \"{target}\" from where it is; its workflow allows: {}. \
                 Check mappings.statuses.{status}",
                if names.is_empty() {
                    "nothing".to_owned()
                } else {
                    names.join(", ")
                }
            ))
            .in_call(NAME, operation));
        };
        self.client
            .post(operation, &path)
            .json(&json!({"transition": {"id": id}}))
            .send()
            .await?;
        Ok(())
    }

    /// Creates an issue of `issue_type`, once per idempotency key.
    async fn create_issue(
        &self,
        cx: &CallContext,
        operation: &str,
        mut fields: Value,
        project: &str,
    ) -> Result<(Value, bool)> {
        if let Some(key) = &cx.idempotency_key {
            let label = format!("{KEY_LABEL}{}", key_hash(key));
            let jql = format!(
                "project = {} AND labels = {}",
                jql_quote(project),
                jql_quote(&label)
            );
            if let Some(existing) = self
                .search(operation, &jql, Some(1))
                .await?
                .into_iter()
                .next()
            {
                return Ok((existing, false));
            }
            match fields["labels"].as_array_mut() {
                Some(labels) => labels.push(json!(label)),
                None => fields["labels"] = json!([label]),
            }
        }
        let created: Value = self
            .client
            .post(operation, "rest/api/3/issue")
            .json(&json!({"fields": fields}))
            .send_json()
            .await?;
        let key = str_at(&created, "/key")
            .ok_or_else(|| invalid("key of the created issue").in_call(NAME, operation))?;
        Ok((self.issue(operation, key).await?, true))
    }

    fn comment_of(&self, task_id: &str, comment: &Value) -> Result<Comment> {
        let mut body = adf::to_text(&comment["body"]);
        if let Some(at) = body.rfind("\n\n[aido:") {
            if body[at..].trim_end().ends_with(']') {
                body.truncate(at);
            }
        } else if body.starts_with("[aido:") && body.trim_end().ends_with(']') {
            body.clear();
        }
        Ok(Comment {
            id: str_at(comment, "/id")
                .ok_or_else(|| invalid("comment id"))?
                .to_owned(),
            task_id: task_id.to_owned(),
            author: str_at(comment, "/author/emailAddress")
                .or_else(|| str_at(comment, "/author/displayName"))
                .or_else(|| str_at(comment, "/author/accountId"))
                .map(str::to_owned),
            body,
            created: parse_time(&comment["created"]).ok_or_else(|| invalid("comment time"))?,
        })
    }

    /// Every comment of an issue, as Jira stores them, oldest first.
    async fn raw_comments(&self, operation: &str, key: &str) -> Result<Vec<Value>> {
        let path = issue_path(key, "/comment")?;
        let mut all = Vec::new();
        loop {
            let page: Value = self
                .client
                .get(operation, &path)
                .query("startAt", &all.len().to_string())
                .query("maxResults", "100")
                .query("orderBy", "created")
                .send_json()
                .await?;
            let comments = page["comments"]
                .as_array()
                .ok_or_else(|| invalid("`comments` list").in_call(NAME, operation))?;
            all.extend(comments.iter().cloned());
            let total = page["total"].as_u64().unwrap_or(0) as usize;
            if comments.is_empty() || all.len() >= total {
                break;
            }
        }
        Ok(all)
    }
}

#[async_trait]
impl Plugin for JiraPlugin {
    fn metadata(&self) -> &PluginMetadata {
        &META
    }

    fn validate_config(&self, config: &PluginConfig) -> Vec<ConfigProblem> {
        match config.parse::<JiraConfig>() {
            Ok(parsed) => check_config(&parsed),
            Err(err) => vec![ConfigProblem::new("", err.message())],
        }
    }

    async fn connect(&self, config: &PluginConfig) -> Result<()> {
        let parsed: JiraConfig = config.parse()?;
        let problems = check_config(&parsed);
        if !problems.is_empty() {
            let text: Vec<String> = problems
                .iter()
                .map(|p| format!("{}: {}", p.path, p.message))
                .collect();
            return Err(Error::configuration(text.join("; ")));
        }
        let options = &parsed.options;
        let timeout = Duration::from_secs(options.timeout_seconds.max(1));
        let connection = &parsed.connection;
        let client = HttpClient::new(
            HttpConfig::new(NAME, &connection.base_url)
                .auth(Auth::Basic {
                    user: connection.email.clone(),
                    password: connection.api_token.clone(),
                })
                .timeouts(timeout.min(Duration::from_secs(10)), timeout)
                .max_retries(options.max_retries)
                .rate_limit(options.rate_limit_per_second)
                .error_mapper(errors::map_http_error),
        )?;
        self.state.set(Site {
            client,
            base_url: connection.base_url.clone(),
            config: parsed,
        });
        Ok(())
    }

    async fn disconnect(&self) -> Result<()> {
        self.state.clear();
        Ok(())
    }

    async fn health_check(&self) -> Health {
        let site = match self.site() {
            Ok(site) => site,
            Err(err) => return Health::Unhealthy(err.message().to_owned()),
        };
        let answer = site
            .client
            .get("health_check", "rest/api/3/myself")
            .max_retries(0)
            .timeout(HEALTH_TIMEOUT)
            .send()
            .await;
        match answer {
            Ok(_) => Health::Healthy,
            Err(err) if err.kind() == ErrorKind::RateLimited => {
                Health::Degraded(format!("rate limited right now: {}", err.message()))
            }
            Err(err) => Health::Unhealthy(err.message().to_owned()),
        }
    }
}

#[async_trait]
impl TaskManagement for JiraPlugin {
    async fn get_task(&self, _cx: &CallContext, input: TaskRef) -> Result<Task> {
        self.site()?.task("get_task", &input.task_id).await
    }

    async fn create_task(&self, cx: &CallContext, input: NewTask) -> Result<Task> {
        const OP: &str = "create_task";
        let site = self.site()?;
        if input.title.trim().is_empty() {
            return Err(Error::invalid_input("the task has no title").in_call(NAME, OP));
        }
        let project = input
            .project
            .clone()
            .unwrap_or_else(|| site.config.connection.project_key.clone());
        let priority = input.priority.unwrap_or(Priority::Medium);
        let mut fields = json!({
            "project": {"key": project},
            "summary": input.title,
            "issuetype": {"name": site.config.options.task_issue_type},
            "priority": {"name": site.config.mappings.priorities.name(priority)},
            "labels": input.labels,
        });
        if !input.description.trim().is_empty() {
            fields["description"] = adf::from_text(&input.description);
        }
        if let Some(epic) = &input.epic_id {
            fields["parent"] = json!({"key": epic});
        }
        if let Some(due) = input.due_date {
            fields["duedate"] = json!(due.format("%Y-%m-%d").to_string());
        }
        if let Some(assignee) = &input.assignee {
            fields["assignee"] = json!({"accountId": site.account_id(OP, assignee).await?});
        }
        for (name, value) in &input.custom_fields {
            fields[name.as_str()] = value.clone();
        }
        let (issue, fresh) = site.create_issue(cx, OP, fields, &project).await?;
        let task = site.task_of(&issue).map_err(|e| e.in_call(NAME, OP))?;
        match input.status {
            Some(status) if fresh && status != task.status => {
                site.transition(OP, &task.id, status).await?;
                site.task(OP, &task.id).await
            }
            _ => Ok(task),
        }
    }

    async fn update_task_status(&self, _cx: &CallContext, input: StatusUpdate) -> Result<Task> {
        const OP: &str = "update_task_status";
        let site = self.site()?;
        let task = site.task(OP, &input.task_id).await?;
        if task.status == input.status {
            return Ok(task);
        }
        site.transition(OP, &input.task_id, input.status).await?;
        site.task(OP, &input.task_id).await
    }

    async fn add_comment(&self, cx: &CallContext, input: NewComment) -> Result<Comment> {
        const OP: &str = "add_comment";
        let site = self.site()?;
        if input.body.trim().is_empty() {
            return Err(Error::invalid_input("the comment is empty").in_call(NAME, OP));
        }
        let mut text = input.body.clone();
        if let Some(key) = &cx.idempotency_key {
            let marker = comment_marker(key);
            let earlier = site.raw_comments(OP, &input.task_id).await?;
            if let Some(found) = earlier
                .iter()
                .find(|c| adf::to_text(&c["body"]).trim_end().ends_with(&marker))
            {
                return site
                    .comment_of(&input.task_id, found)
                    .map_err(|e| e.in_call(NAME, OP));
            }
            text = format!("{}\n\n{marker}", text.trim_end());
        }
        let created: Value = site
            .client
            .post(OP, &issue_path(&input.task_id, "/comment")?)
            .json(&json!({"body": adf::from_text(&text)}))
            .send_json()
            .await?;
        site.comment_of(&input.task_id, &created)
            .map_err(|e| e.in_call(NAME, OP))
    }

    async fn get_comments(&self, _cx: &CallContext, input: TaskRef) -> Result<Vec<Comment>> {
        const OP: &str = "get_comments";
        let site = self.site()?;
        site.raw_comments(OP, &input.task_id)
            .await?
            .iter()
            .map(|c| {
                site.comment_of(&input.task_id, c)
                    .map_err(|e| e.in_call(NAME, OP))
            })
            .collect()
    }

    async fn create_epic(&self, cx: &CallContext, input: NewEpic) -> Result<Epic> {
        const OP: &str = "create_epic";
        let site = self.site()?;
        if input.title.trim().is_empty() {
            return Err(Error::invalid_input("the epic has no title").in_call(NAME, OP));
        }
        let project = input
            .project
            .clone()
            .unwrap_or_else(|| site.config.connection.project_key.clone());
        let mut fields = json!({
            "project": {"key": project},
            "summary": input.title,
            "issuetype": {"name": site.config.options.epic_issue_type},
            "labels": input.labels,
        });
        if !input.description.trim().is_empty() {
            fields["description"] = adf::from_text(&input.description);
        }
        let (issue, _) = site.create_issue(cx, OP, fields, &project).await?;
        let task = site.task_of(&issue).map_err(|e| e.in_call(NAME, OP))?;
        Ok(Epic {
            url: Some(site.browse_url(&task.id)),
            id: task.id,
            title: task.title,
            description: task.description,
            status: task.status,
            created: task.created,
        })
    }

    async fn get_project_tasks(&self, _cx: &CallContext, input: TaskQuery) -> Result<Vec<Task>> {
        const OP: &str = "get_project_tasks";
        let site = self.site()?;
        let project = input
            .project
            .clone()
            .unwrap_or_else(|| site.config.connection.project_key.clone());
        let mut clauses = vec![format!("project = {}", jql_quote(&project))];
        if let Some(status) = input.status {
            clauses.push(format!(
                "status = {}",
                jql_quote(site.config.mappings.statuses.name(status))
            ));
        }
        if let Some(assignee) = &input.assignee {
            let account = site.account_id(OP, assignee).await?;
            clauses.push(format!("assignee = {}", jql_quote(&account)));
        }
        for label in &input.labels {
            clauses.push(format!("labels = {}", jql_quote(label)));
        }
        if let Some(epic) = &input.epic_id {
            clauses.push(format!("parent = {}", jql_quote(epic)));
        }
        let jql = format!("{} ORDER BY created ASC", clauses.join(" AND "));
        site.search(OP, &jql, input.limit)
            .await?
            .iter()
            .map(|issue| site.task_of(issue).map_err(|e| e.in_call(NAME, OP)))
            .collect()
    }

    async fn assign_task(&self, _cx: &CallContext, input: Assignment) -> Result<Task> {
        const OP: &str = "assign_task";
        let site = self.site()?;
        let account = match &input.assignee {
            Some(user) => Some(site.account_id(OP, user).await?),
            None => None,
        };
        // Setting the same assignee twice leaves the same state.
        site.client
            .request(OP, Method::PUT, &issue_path(&input.task_id, "/assignee")?)
            .json(&json!({"accountId": account}))
            .send()
            .await?;
        site.task(OP, &input.task_id).await
    }

    async fn get_task_history(
        &self,
        _cx: &CallContext,
        input: TaskRef,
    ) -> Result<Vec<TaskHistoryEvent>> {
        const OP: &str = "get_task_history";
        let site = self.site()?;
        let task = site.task(OP, &input.task_id).await?;
        let mut events = vec![TaskHistoryEvent {
            at: task.created,
            actor: None,
            change: TaskChange::Created,
        }];
        let path = issue_path(&input.task_id, "/changelog")?;
        let mut start = 0usize;
        loop {
            let page: Value = site
                .client
                .get(OP, &path)
                .query("startAt", &start.to_string())
                .query("maxResults", "100")
                .send_json()
                .await?;
            let values = page["values"]
                .as_array()
                .ok_or_else(|| invalid("changelog `values`").in_call(NAME, OP))?;
            for history in values {
                let Some(at) = parse_time(&history["created"]) else {
                    continue;
                };
                let actor = str_at(history, "/author/emailAddress")
                    .or_else(|| str_at(history, "/author/displayName"))
                    .map(str::to_owned);
                for item in history["items"].as_array().into_iter().flatten() {
                    let from = str_at(item, "/fromString").map(str::to_owned);
                    let to = str_at(item, "/toString").map(str::to_owned);
                    let field = str_at(item, "/field").unwrap_or("").to_owned();
                    let statuses = &site.config.mappings.statuses;
                    let change = match field.as_str() {
                        "status" => match (
                            from.as_deref().and_then(|s| statuses.status_of(s)),
                            to.as_deref().and_then(|s| statuses.status_of(s)),
                        ) {
                            (Some(from), Some(to)) => TaskChange::StatusChanged { from, to },
                            _ => TaskChange::FieldChanged { field, from, to },
                        },
                        "assignee" => TaskChange::Assigned {
                            from: str_at(item, "/from").map(str::to_owned).or(from),
                            to: str_at(item, "/to").map(str::to_owned).or(to),
                        },
                        _ => TaskChange::FieldChanged { field, from, to },
                    };
                    events.push(TaskHistoryEvent {
                        at,
                        actor: actor.clone(),
                        change,
                    });
                }
            }
            start += values.len();
            if values.is_empty() || page["isLast"].as_bool().unwrap_or(true) {
                break;
            }
        }
        for comment in site.raw_comments(OP, &input.task_id).await? {
            let comment = site
                .comment_of(&input.task_id, &comment)
                .map_err(|e| e.in_call(NAME, OP))?;
            events.push(TaskHistoryEvent {
                at: comment.created,
                actor: comment.author,
                change: TaskChange::Commented {
                    comment_id: comment.id,
                },
            });
        }
        events.sort_by_key(|event| event.at);
        Ok(events)
    }
}

#[cfg(test)]
mod tests;
