//! The `linear` task tracker: issues in Linear, through its GraphQL API.
//!
//! # Configuration
//!
//! ```yaml
//! plugins:
//!   task_management:
//!     provider: linear
//!     config:
//!       connection:
//!         api_key: ${LINEAR_API_KEY}   # required; a personal API key
//!         team_id: ENG                 # required; a team key or id
//!         # base_url: https://api.linear.app
//!       mappings:
//!         statuses: { todo: Todo, in_progress: In Progress, in_review: In Review, done: Done }
//!         priorities: { low: 4, medium: 3, high: 2, critical: 1 }
//!       options:
//!         cache_ttl_seconds: 300
//!         timeout_seconds: 30
//!         max_retries: 2
//!         retry_backoff_ms: 1000
//!         # rate_limit_per_second: 0.5
//! ```
//!
//! Environment variables with the prefix `LINEAR_` override keys:
//! `LINEAR_API_KEY` sets `connection.api_key`, `LINEAR_TEAM_ID`
//! `connection.team_id`. A personal API key is sent as `Authorization:
//! <key>`, as Linear asks; an OAuth token is configured as `Bearer <token>`.
//!
//! # Mapping
//!
//! A task is a Linear issue; its id is the issue's identifier (`ENG-12`),
//! and `custom_fields` carry `url`, `linear_id` (the UUID), `state` and
//! `team`. A status maps to the workflow state named in
//! `mappings.statuses` (state ids come from `workflowStates`, cached).
//! `update_task_status` on an identifier is one `issueUpdate` request: the
//! team follows from the identifier's key (teams cached), and the issue is
//! read first only when that fails (a UUID, a moved issue). An issue in a state no status names (Backlog, Canceled, custom ones) reads
//! by the state's type: backlog, unstarted and triage are `todo`, started
//! is `in_progress`, completed and canceled are `done`. Priorities map
//! through `mappings.priorities`; Linear's 0 ("no priority") reads as
//! `medium`. Assignees are users' emails; `assign_task` and the
//! `assignee` filter take an email or a name. Labels are names; missing
//! labels are created. `story_points` is Linear's integer estimate.
//!
//! **Epics are Linear projects**: `create_epic` creates a project in the
//! configured team (its labels are not sent: project labels are another
//! set in Linear), a task's `epic_id` is its project's id, and
//! `get_project_tasks` with `epic_id` lists the project's issues. Projects
//! rather than parent issues, because a project is what Linear offers for
//! a body of work spanning many issues, with its own page and progress.
//!
//! `add_comment` with an idempotency key ends the comment with a line
//! `aido-key: <key>` and first looks for that line among the issue's
//! comments, so a retried step does not comment twice; `get_comments`
//! shows comments without that line. `create_task` does the same with the
//! issue's description, found again with a `description: {contains}`
//! filter; a task's description is shown without that line.
//!
//! Errors: see [`graphql`] for how Linear's answers map to the taxonomy,
//! rate limits (HTTP 400 `RATELIMITED`, or 429) included. No error quotes
//! the key.

mod config;
mod graphql;
mod model;

use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex, PoisonError};
use std::time::{Duration, Instant};

use aido_plugin_api::model::task::{
    Assignment, Comment, Epic, NewComment, NewEpic, NewTask, StatusUpdate, Task, TaskChange,
    TaskHistoryEvent, TaskQuery, TaskRef, TaskStatus,
};
use aido_plugin_api::{
    CallContext, ConfigProblem, Error, ErrorKind, Health, Plugin, PluginConfig, PluginFactory,
    PluginInstance, PluginKind, PluginMetadata, Result, TaskManagement, async_trait,
};
use serde_json::{Map, Value, json};

use self::config::{LinearConfig, check_config};
use self::graphql::Graphql;
use self::model::{
    CommentCreated, CommentNode, HistoryData, IssueCommentsData, IssueCreated, IssueData,
    IssueNode, IssueUpdated, IssuesData, KEY_MARKER, LabelCreated, LabelNode, LabelsData,
    ProjectCreated, StateNode, StatesData, TeamNode, TeamsData, UserNode, UsersData,
};
use crate::connected::Connected;
use crate::http::{Auth, HttpClient, HttpConfig};

/// The plugin's name in `provider:`.
const NAME: &str = "linear";

/// The page size of `get_project_tasks`.
const PAGE_SIZE: u32 = 50;

static META: LazyLock<PluginMetadata> = LazyLock::new(|| {
    PluginMetadata::new::<LinearConfig>(
        NAME,
        PluginKind::TaskManagement,
        env!("CARGO_PKG_VERSION"),
        "Issues in Linear, through its GraphQL API.",
    )
});

/// The `linear` plugin's factory, for the registry.
pub fn factory() -> PluginFactory {
    PluginFactory::new(META.clone(), || {
        PluginInstance::TaskManagement(Arc::new(LinearPlugin::default()))
    })
}

/// The `linear` plugin: unconfigured until `connect`.
#[derive(Debug, Default)]
pub(crate) struct LinearPlugin {
    state: Connected<Linear>,
}

/// What `connect` set up.
#[derive(Debug)]
struct Linear {
    gql: Graphql,
    team: String,
    config: LinearConfig,
    ttl: Duration,
    cache: Mutex<Caches>,
}

/// Lists that rarely change, with when they were read.
#[derive(Debug, Default)]
struct Caches {
    teams: Option<(Instant, Vec<TeamNode>)>,
    users: Option<(Instant, Vec<UserNode>)>,
    labels: Option<(Instant, Vec<LabelNode>)>,
    states: HashMap<String, (Instant, Vec<StateNode>)>,
}

fn fresh<T: Clone>(entry: Option<&(Instant, T)>, ttl: Duration) -> Option<T> {
    entry
        .filter(|(at, _)| at.elapsed() < ttl)
        .map(|(_, value)| value.clone())
}

impl Linear {
    fn caches(&self) -> std::sync::MutexGuard<'_, Caches> {
        // Every update replaces a whole entry, so a poisoned lock is fine.
        self.cache.lock().unwrap_or_else(PoisonError::into_inner)
    }

    async fn teams(&self, operation: &str) -> Result<Vec<TeamNode>> {
        if let Some(teams) = fresh(self.caches().teams.as_ref(), self.ttl) {
            return Ok(teams);
        }
        let data: TeamsData = self.gql.query(operation, graphql::TEAMS, json!({})).await?;
        let teams = data.teams.nodes;
        self.caches().teams = Some((Instant::now(), teams.clone()));
        Ok(teams)
    }

    /// The id of the team `wanted` (a key or id), or of the configured one.
    async fn team_id(&self, operation: &str, wanted: Option<&str>) -> Result<String> {
        let wanted = wanted.map(str::trim).filter(|w| !w.is_empty());
        let name = wanted.unwrap_or(&self.team);
        let teams = self.teams(operation).await?;
        match teams
            .iter()
            .find(|t| t.id == name || t.key.eq_ignore_ascii_case(name))
        {
            Some(team) => Ok(team.id.clone()),
            None => {
                let keys: Vec<&str> = teams.iter().map(|t| t.key.as_str()).collect();
                let message = format!(
                    "no Linear team has the key or id `{name}`; the key can see: {}",
                    keys.join(", ")
                );
                Err(if wanted.is_some() {
                    Error::not_found(message)
                } else {
                    Error::configuration(format!("connection.team_id: {message}"))
                })
            }
        }
    }

    async fn states(&self, operation: &str, team: &str) -> Result<Vec<StateNode>> {
        if let Some(states) = fresh(self.caches().states.get(team), self.ttl) {
            return Ok(states);
        }
        let data: StatesData = self
            .gql
            .query(operation, graphql::WORKFLOW_STATES, json!({"teamId": team}))
            .await?;
        let states = data.workflow_states.nodes;
        self.caches()
            .states
            .insert(team.to_owned(), (Instant::now(), states.clone()));
        Ok(states)
    }

    /// The id of the team whose key starts the issue identifier `task_id`
    /// (`ENG` of `ENG-123`), from the cached teams; `None` for a UUID or a
    /// key no team has, which the caller resolves by reading the issue.
    async fn team_of_identifier(&self, operation: &str, task_id: &str) -> Result<Option<String>> {
        let Some((key, number)) = task_id.rsplit_once('-') else {
            return Ok(None);
        };
        let is_identifier = !key.is_empty()
            && key.chars().all(|c| c.is_ascii_alphanumeric())
            && !number.is_empty()
            && number.chars().all(|c| c.is_ascii_digit());
        if !is_identifier {
            return Ok(None);
        }
        let teams = self.teams(operation).await?;
        Ok(teams
            .iter()
            .find(|team| team.key.eq_ignore_ascii_case(key))
            .map(|team| team.id.clone()))
    }

    /// Drops `team`'s cached workflow states, so the next use reads them.
    fn forget_states(&self, team: &str) {
        self.caches().states.remove(team);
    }

    /// The id of the state `status` maps to in `team`.
    async fn state_id(&self, operation: &str, team: &str, status: TaskStatus) -> Result<String> {
        let name = self.config.mappings.statuses.name(status);
        let states = self.states(operation, team).await?;
        match states
            .iter()
            .find(|s| s.name.eq_ignore_ascii_case(name.trim()))
        {
            Some(state) => Ok(state.id.clone()),
            None => {
                let names: Vec<&str> = states.iter().map(|s| s.name.as_str()).collect();
                Err(Error::configuration(format!(
                    "mappings.statuses.{status} is `{name}`, but the team's workflow states are: \
                     {}",
                    names.join(", ")
                )))
            }
        }
    }

    async fn users(&self, operation: &str) -> Result<Vec<UserNode>> {
        if let Some(users) = fresh(self.caches().users.as_ref(), self.ttl) {
            return Ok(users);
        }
        let data: UsersData = self.gql.query(operation, graphql::USERS, json!({})).await?;
        let users = data.users.nodes;
        self.caches().users = Some((Instant::now(), users.clone()));
        Ok(users)
    }

    /// The id of the user with this email, or else this name.
    async fn user_id(&self, operation: &str, who: &str) -> Result<String> {
        let who = who.trim();
        let users = self.users(operation).await?;
        users
            .iter()
            .find(|u| {
                u.email
                    .as_deref()
                    .is_some_and(|e| e.eq_ignore_ascii_case(who))
            })
            .or_else(|| {
                users.iter().find(|u| {
                    u.name.eq_ignore_ascii_case(who)
                        || u.display_name
                            .as_deref()
                            .is_some_and(|d| d.eq_ignore_ascii_case(who))
                })
            })
            .map(|u| u.id.clone())
            .ok_or_else(|| {
                Error::not_found(format!("no Linear user has the email or name `{who}`"))
            })
    }

    /// The ids of labels by name, creating the missing ones in `team`.
    async fn label_ids(
        &self,
        operation: &str,
        team: &str,
        names: &[String],
    ) -> Result<Vec<String>> {
        if names.is_empty() {
            return Ok(Vec::new());
        }
        let cached = fresh(self.caches().labels.as_ref(), self.ttl);
        let mut labels = match cached {
            Some(labels) => labels,
            None => {
                let data: LabelsData = self
                    .gql
                    .query(operation, graphql::ISSUE_LABELS, json!({}))
                    .await?;
                data.issue_labels.nodes
            }
        };
        let mut ids = Vec::new();
        for name in names {
            if let Some(label) = labels.iter().find(|l| l.name.eq_ignore_ascii_case(name)) {
                ids.push(label.id.clone());
                continue;
            }
            let created: LabelCreated = self
                .gql
                .mutate(
                    operation,
                    graphql::ISSUE_LABEL_CREATE,
                    json!({"input": {"name": name, "teamId": team}}),
                )
                .await?;
            let label = created.issue_label_create.issue_label;
            ids.push(label.id.clone());
            labels.push(label);
        }
        self.caches().labels = Some((Instant::now(), labels));
        Ok(ids)
    }

    async fn issue(&self, operation: &str, id: &str) -> Result<IssueNode> {
        let data: IssueData = self
            .gql
            .query(operation, graphql::ISSUE, json!({"id": id.trim()}))
            .await?;
        Ok(data.issue)
    }

    async fn update(&self, operation: &str, id: &str, input: Value) -> Result<Task> {
        let data: IssueUpdated = self
            .gql
            .mutate(
                operation,
                graphql::ISSUE_UPDATE,
                json!({"id": id, "input": input}),
            )
            .await?;
        Ok(self.task(&data.issue_update.issue))
    }

    /// The aido status of a Linear state.
    fn status(&self, state: &StateNode) -> TaskStatus {
        self.config
            .mappings
            .statuses
            .status(&state.name)
            .unwrap_or_else(|| model::status_of_type(&state.kind))
    }

    fn task(&self, issue: &IssueNode) -> Task {
        issue.to_task(
            self.status(&issue.state),
            self.config
                .mappings
                .priorities
                .priority(issue.priority_number()),
        )
    }
}

/// The HTTP client and GraphQL runner for a checked configuration.
fn graphql(config: &LinearConfig) -> Result<Graphql> {
    let options = &config.options;
    let request = Duration::from_secs(options.timeout_seconds.max(1));
    let connect = Duration::from_secs(10).min(request);
    let backoff = Duration::from_millis(options.retry_backoff_ms);
    let client = HttpClient::new(
        HttpConfig::new(NAME, &config.connection.base_url)
            .auth(Auth::Header {
                name: "Authorization".to_owned(),
                value: config.connection.api_key.clone(),
            })
            .timeouts(connect, request)
            .max_retries(options.max_retries)
            .backoff(backoff, backoff.saturating_mul(8))
            .rate_limit(options.rate_limit_per_second)
            .error_mapper(graphql::map_http_error),
    )?;
    Ok(Graphql {
        client,
        max_retries: options.max_retries,
        backoff,
    })
}

impl LinearPlugin {
    fn connected(&self) -> Result<Arc<Linear>> {
        self.state.get(NAME)
    }
}

#[async_trait]
impl Plugin for LinearPlugin {
    fn metadata(&self) -> &PluginMetadata {
        &META
    }

    fn validate_config(&self, config: &PluginConfig) -> Vec<ConfigProblem> {
        match config.parse::<LinearConfig>() {
            Ok(parsed) => check_config(&parsed),
            Err(err) => vec![ConfigProblem::new("", err.message())],
        }
    }

    async fn connect(&self, config: &PluginConfig) -> Result<()> {
        let parsed: LinearConfig = config.parse()?;
        let problems = check_config(&parsed);
        if !problems.is_empty() {
            let text: Vec<String> = problems
                .iter()
                .map(|p| format!("{}: {}", p.path, p.message))
                .collect();
            return Err(Error::configuration(text.join("; ")));
        }
        let gql = graphql(&parsed)?;
        self.state.set(Linear {
            gql,
            team: parsed.connection.team_id.trim().to_owned(),
            ttl: Duration::from_secs(parsed.options.cache_ttl_seconds),
            config: parsed,
            cache: Mutex::new(Caches::default()),
        });
        Ok(())
    }

    async fn disconnect(&self) -> Result<()> {
        self.state.clear();
        Ok(())
    }

    async fn health_check(&self) -> Health {
        let linear = match self.connected() {
            Ok(linear) => linear,
            Err(err) => return Health::Unhealthy(err.message().to_owned()),
        };
        let viewer: Result<Value> = linear
            .gql
            .query("health_check", graphql::VIEWER, json!({}))
            .await;
        match viewer {
            Ok(_) => match linear.team_id("health_check", None).await {
                Ok(_) => Health::Healthy,
                Err(err) => Health::Unhealthy(err.message().to_owned()),
            },
            Err(err) if err.kind() == ErrorKind::RateLimited => {
                Health::Degraded(format!("rate limited right now: {}", err.message()))
            }
            Err(err) => Health::Unhealthy(err.message().to_owned()),
        }
    }
}

#[async_trait]
impl TaskManagement for LinearPlugin {
    async fn get_task(&self, _cx: &CallContext, input: TaskRef) -> Result<Task> {
        let linear = self.connected()?;
        let issue = linear.issue("get_task", &input.task_id).await?;
        Ok(linear.task(&issue))
    }

    async fn create_task(&self, cx: &CallContext, input: NewTask) -> Result<Task> {
        const OP: &str = "create_task";
        let linear = self.connected()?;
        if !input.custom_fields.is_empty() {
            return Err(Error::invalid_input(
                "custom_fields cannot be set on a Linear issue by this plugin",
            ));
        }
        let team = linear.team_id(OP, input.project.as_deref()).await?;
        let priorities = &linear.config.mappings.priorities;
        let mut description = input.description.trim_end().to_owned();
        if let Some(key) = cx.idempotency_key.as_deref() {
            let marker = format!("{KEY_MARKER}{key}");
            let filter = json!({"and": [
                {"team": {"id": {"eq": team}}},
                {"description": {"contains": marker}},
            ]});
            let found: IssuesData = linear
                .gql
                .query(OP, graphql::ISSUES, json!({"filter": filter, "first": 1}))
                .await?;
            if let Some(issue) = found.issues.nodes.first() {
                return Ok(linear.task(issue));
            }
            if !description.is_empty() {
                description.push_str("\n\n");
            }
            description.push_str(&marker);
        }
        let mut fields = Map::new();
        fields.insert("teamId".into(), json!(team));
        fields.insert("title".into(), json!(input.title));
        if !description.is_empty() {
            fields.insert("description".into(), json!(description));
        }
        let priority = input.priority.unwrap_or_default();
        fields.insert("priority".into(), json!(priorities.number(priority)));
        let status = input.status.unwrap_or(TaskStatus::Todo);
        fields.insert(
            "stateId".into(),
            json!(linear.state_id(OP, &team, status).await?),
        );
        if let Some(who) = input.assignee.as_deref() {
            fields.insert("assigneeId".into(), json!(linear.user_id(OP, who).await?));
        }
        if !input.labels.is_empty() {
            let ids = linear.label_ids(OP, &team, &input.labels).await?;
            fields.insert("labelIds".into(), json!(ids));
        }
        if let Some(due) = input.due_date {
            fields.insert("dueDate".into(), json!(due.format("%Y-%m-%d").to_string()));
        }
        if let Some(epic) = input.epic_id.as_deref() {
            fields.insert("projectId".into(), json!(epic));
        }
        if let Some(points) = input.story_points {
            if !(points.is_finite() && points >= 0.0) {
                return Err(Error::invalid_input(
                    "story_points must be a non-negative number",
                ));
            }
            fields.insert("estimate".into(), json!(points.round() as i64));
        }
        let data: IssueCreated = linear
            .gql
            .mutate(OP, graphql::ISSUE_CREATE, json!({"input": fields}))
            .await?;
        Ok(linear.task(&data.issue_create.issue))
    }

    async fn update_task_status(&self, _cx: &CallContext, input: StatusUpdate) -> Result<Task> {
        const OP: &str = "update_task_status";
        let linear = self.connected()?;
        let task_id = input.task_id.trim();
        // The common case is one request: an identifier names its team, the
        // team's states are cached, and `issueUpdate(id:)` takes the
        // identifier. Setting the state an issue already has changes
        // nothing in Linear (no history entry), so a repeated call stays
        // harmless without a read first.
        if let Some(team) = linear.team_of_identifier(OP, task_id).await? {
            let state = linear.state_id(OP, &team, input.status).await?;
            match linear.update(OP, task_id, json!({"stateId": state})).await {
                Ok(task) => return Ok(task),
                // The issue moved to another team (its old identifier still
                // resolves) or the cached states are stale: forget them and
                // look the issue up.
                Err(err) if matches!(err.kind(), ErrorKind::NotFound | ErrorKind::InvalidInput) => {
                    tracing::debug!(
                        task_id,
                        "state update by identifier failed, looking the issue up: {}",
                        err.message()
                    );
                    linear.forget_states(&team);
                }
                Err(err) => return Err(err),
            }
        }
        let issue = linear.issue(OP, task_id).await?;
        let state = linear.state_id(OP, &issue.team.id, input.status).await?;
        if issue.state.id == state {
            return Ok(linear.task(&issue));
        }
        linear
            .update(OP, &issue.id, json!({"stateId": state}))
            .await
    }

    async fn add_comment(&self, cx: &CallContext, input: NewComment) -> Result<Comment> {
        const OP: &str = "add_comment";
        let linear = self.connected()?;
        if input.body.trim().is_empty() {
            return Err(Error::invalid_input("a comment's body must not be empty"));
        }
        let comments: IssueCommentsData = linear
            .gql
            .query(
                OP,
                graphql::ISSUE_COMMENTS,
                json!({"id": input.task_id.trim()}),
            )
            .await?;
        let issue = comments.issue;
        let mut body = input.body.clone();
        if let Some(key) = cx.idempotency_key.as_deref() {
            let marker = format!("{KEY_MARKER}{key}");
            if let Some(done) = issue
                .comments
                .nodes
                .iter()
                .find(|c| c.body.lines().any(|line| line.trim() == marker))
            {
                return Ok(done.to_comment(&issue.identifier));
            }
            body = format!("{}\n\n{marker}", body.trim_end());
        }
        let created: CommentCreated = linear
            .gql
            .mutate(
                OP,
                graphql::COMMENT_CREATE,
                json!({"input": {"issueId": issue.id, "body": body}}),
            )
            .await?;
        Ok(created.comment_create.comment.to_comment(&issue.identifier))
    }

    async fn get_comments(&self, _cx: &CallContext, input: TaskRef) -> Result<Vec<Comment>> {
        let linear = self.connected()?;
        let data: IssueCommentsData = linear
            .gql
            .query(
                "get_comments",
                graphql::ISSUE_COMMENTS,
                json!({"id": input.task_id.trim()}),
            )
            .await?;
        let mut comments: Vec<Comment> = data
            .issue
            .comments
            .nodes
            .iter()
            .map(|c: &CommentNode| c.to_comment(&data.issue.identifier))
            .collect();
        comments.sort_by_key(|c| c.created);
        Ok(comments)
    }

    async fn create_epic(&self, _cx: &CallContext, input: NewEpic) -> Result<Epic> {
        const OP: &str = "create_epic";
        let linear = self.connected()?;
        let team = linear.team_id(OP, input.project.as_deref()).await?;
        let mut fields = json!({"name": input.title, "teamIds": [team]});
        if !input.description.is_empty() {
            fields["description"] = json!(input.description);
        }
        let data: ProjectCreated = linear
            .gql
            .mutate(OP, graphql::PROJECT_CREATE, json!({"input": fields}))
            .await?;
        Ok(data.project_create.project.to_epic())
    }

    async fn get_project_tasks(&self, _cx: &CallContext, query: TaskQuery) -> Result<Vec<Task>> {
        const OP: &str = "get_project_tasks";
        let linear = self.connected()?;
        let team = linear.team_id(OP, query.project.as_deref()).await?;
        let mut filters = vec![json!({"team": {"id": {"eq": team}}})];
        if let Some(status) = query.status {
            let name = linear.config.mappings.statuses.name(status);
            filters.push(json!({"state": {"name": {"eq": name}}}));
        }
        if let Some(who) = query.assignee.as_deref() {
            let user = linear.user_id(OP, who).await?;
            filters.push(json!({"assignee": {"id": {"eq": user}}}));
        }
        for label in &query.labels {
            filters.push(json!({"labels": {"some": {"name": {"eq": label}}}}));
        }
        if let Some(epic) = query.epic_id.as_deref() {
            filters.push(json!({"project": {"id": {"eq": epic}}}));
        }
        let filter = json!({"and": filters});
        let limit = query.limit.map(|limit| limit as usize);
        let mut tasks = Vec::new();
        let mut after: Option<String> = None;
        loop {
            let left = limit.map_or(PAGE_SIZE as usize, |limit| limit - tasks.len());
            let first = left.min(PAGE_SIZE as usize);
            if first == 0 {
                break;
            }
            let page: IssuesData = linear
                .gql
                .query(
                    OP,
                    graphql::ISSUES,
                    json!({"filter": filter, "first": first, "after": after}),
                )
                .await?;
            tasks.extend(page.issues.nodes.iter().map(|issue| linear.task(issue)));
            match page.issues.page_info.end_cursor {
                Some(cursor) if page.issues.page_info.has_next_page => after = Some(cursor),
                _ => break,
            }
        }
        if let Some(limit) = limit {
            tasks.truncate(limit);
        }
        Ok(tasks)
    }

    async fn assign_task(&self, _cx: &CallContext, input: Assignment) -> Result<Task> {
        const OP: &str = "assign_task";
        let linear = self.connected()?;
        let user = match input.assignee.as_deref() {
            Some(who) => Value::String(linear.user_id(OP, who).await?),
            None => Value::Null,
        };
        let issue = linear.issue(OP, &input.task_id).await?;
        linear
            .update(OP, &issue.id, json!({"assigneeId": user}))
            .await
    }

    async fn get_task_history(
        &self,
        _cx: &CallContext,
        input: TaskRef,
    ) -> Result<Vec<TaskHistoryEvent>> {
        let linear = self.connected()?;
        let data: HistoryData = linear
            .gql
            .query(
                "get_task_history",
                graphql::ISSUE_HISTORY,
                json!({"id": input.task_id.trim()}),
            )
            .await?;
        let issue = data.issue;
        let mut events = vec![TaskHistoryEvent {
            at: issue.created_at,
            actor: None,
            change: TaskChange::Created,
        }];
        for entry in &issue.history.nodes {
            let actor = entry.actor.as_ref().map(UserNode::label);
            if let (Some(from), Some(to)) = (&entry.from_state, &entry.to_state) {
                events.push(TaskHistoryEvent {
                    at: entry.created_at,
                    actor: actor.clone(),
                    change: TaskChange::StatusChanged {
                        from: linear.status(from),
                        to: linear.status(to),
                    },
                });
            }
            if entry.from_assignee.is_some() || entry.to_assignee.is_some() {
                events.push(TaskHistoryEvent {
                    at: entry.created_at,
                    actor: actor.clone(),
                    change: TaskChange::Assigned {
                        from: entry.from_assignee.as_ref().map(UserNode::label),
                        to: entry.to_assignee.as_ref().map(UserNode::label),
                    },
                });
            }
        }
        for comment in &issue.comments.nodes {
            events.push(TaskHistoryEvent {
                at: comment.created_at,
                actor: comment.user.as_ref().map(UserNode::label),
                change: TaskChange::Commented {
                    comment_id: comment.id.clone(),
                },
            });
        }
        events.sort_by_key(|event| event.at);
        Ok(events)
    }
}

#[cfg(test)]
mod live;
#[cfg(test)]
mod tests;
