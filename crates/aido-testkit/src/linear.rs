//! An emulator of Linear's GraphQL API.
//!
//! One route, `POST /graphql` ([`GRAPHQL`]), taking `{query, variables,
//! operationName?}` as Linear does. Credentials go in `Authorization`: a
//! personal API key as the bare key, an OAuth token as `Bearer <token>`;
//! both are accepted. A missing or wrong one gets Linear's answer, HTTP 401
//! with `{"errors": [{"message": "Authentication required, not
//! authenticated", "extensions": {"type": "authentication error", "code":
//! "AUTHENTICATION_ERROR", ...}}]}`.
//!
//! The query document is parsed only as far as its operation: the keyword
//! (`query` or `mutation`) and the operation name that follows it. The
//! emulator serves exactly the operations the `linear` plugin sends, by
//! name, reading their `variables`; any other operation gets a GraphQL
//! validation error. Answers carry every field the plugin selects (the
//! emulator does not prune selections), in Linear's shapes:
//!
//! | operation | Linear field |
//! |---|---|
//! | `query Viewer` | `viewer` |
//! | `query Teams` | `teams` |
//! | `query Users` | `users` |
//! | `query WorkflowStates($teamId)` | `workflowStates(filter: {team: {id: {eq}}})` |
//! | `query IssueLabels` | `issueLabels` |
//! | `query Issue($id)` | `issue(id)` (a UUID or an identifier such as `ENG-12`) |
//! | `query IssueComments($id)` | `issue(id) { comments }` |
//! | `query IssueHistory($id)` | `issue(id) { createdAt history comments }` |
//! | `query Issues($filter, $first, $after)` | `issues` with `pageInfo {hasNextPage endCursor}` |
//! | `mutation IssueCreate($input)` | `issueCreate` |
//! | `mutation IssueUpdate($id, $input)` | `issueUpdate` |
//! | `mutation CommentCreate($input)` | `commentCreate` |
//! | `mutation IssueLabelCreate($input)` | `issueLabelCreate` |
//! | `mutation ProjectCreate($input)` | `projectCreate` |
//!
//! `issues` filters understand `and`, `team.id.eq`, `state.name.eq`,
//! `state.id.eq`, `assignee.id.eq`, `project.id.eq`,
//! `description.contains` and `labels.some.name.eq`; issues come oldest first, and a cursor is the id
//! of the last issue of a page.
//!
//! Errors follow Linear: a missing entity is HTTP 200 with `data: null` and
//! an error `Entity not found` (`code: ENTITY_NOT_FOUND`); bad input is an
//! `invalid input` error. Rate limits, per Linear's documentation, are
//! HTTP 400 with `extensions.code: RATELIMITED` and the
//! `X-RateLimit-Requests-*` headers (the reset in epoch milliseconds):
//! [`rate_limited`]; a 429 with `Retry-After` is also available
//! ([`rate_limited_429`]) as are 500 answers ([`internal_error`]) and the
//! generic [`Fault`]s.
//!
//! A fresh emulator holds one team, `ENG` ([`LinearEmulator::team_id`]),
//! with the states Backlog, Todo, In Progress, In Review, Done and
//! Canceled, and one user, the key's owner. [`LinearEmulator::team`],
//! [`LinearEmulator::state`] and [`LinearEmulator::user`] add more.

use std::io;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::extract::{ConnectInfo, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::post;
use serde_json::{Map, Value, json};

use crate::faults::{Fault, admit, plain};
use crate::incoming::Incoming;
use crate::options::EmulatorOptions;
use crate::recorder::{RecordedRequest, Recorder, lock};
use crate::server::{Connection, Server};
use crate::synth;

/// The GraphQL route, for [`LinearEmulator::push_fault`].
pub const GRAPHQL: &str = "/graphql";

/// The most nodes one page holds, as Linear caps `first`.
const MAX_PAGE: usize = 250;
/// The page size when `first` is absent, as Linear's default.
const DEFAULT_PAGE: usize = 50;

/// A running emulator of Linear's GraphQL API. Stops when dropped.
#[derive(Debug)]
pub struct LinearEmulator {
    server: Server,
    state: Arc<LinearState>,
}

#[derive(Debug)]
struct LinearState {
    recorder: Recorder,
    api_key: String,
    data: Mutex<Workspace>,
}

#[derive(Debug, Default)]
struct Workspace {
    viewer: String,
    default_team: String,
    teams: Vec<Team>,
    states: Vec<WorkflowState>,
    users: Vec<User>,
    labels: Vec<Label>,
    projects: Vec<Project>,
    issues: Vec<Issue>,
    comments: Vec<Comment>,
    history: Vec<History>,
}

#[derive(Debug, Clone)]
struct Team {
    id: String,
    key: String,
    name: String,
    next_number: u64,
}

#[derive(Debug, Clone)]
struct WorkflowState {
    id: String,
    team: String,
    name: String,
    kind: String,
    position: usize,
}

#[derive(Debug, Clone)]
struct User {
    id: String,
    name: String,
    email: String,
}

#[derive(Debug, Clone)]
struct Label {
    id: String,
    name: String,
}

#[derive(Debug, Clone)]
struct Project {
    id: String,
    name: String,
    description: String,
    created: String,
}

#[derive(Debug, Clone)]
struct Issue {
    id: String,
    team: String,
    number: u64,
    identifier: String,
    title: String,
    description: Option<String>,
    priority: u64,
    state: String,
    assignee: Option<String>,
    labels: Vec<String>,
    project: Option<String>,
    parent: Option<String>,
    due_date: Option<String>,
    estimate: Option<f64>,
    created: String,
    updated: String,
}

#[derive(Debug, Clone)]
struct Comment {
    id: String,
    issue: String,
    body: String,
    user: String,
    created: String,
}

#[derive(Debug, Clone)]
struct History {
    id: String,
    issue: String,
    actor: String,
    created: String,
    from_state: Option<String>,
    to_state: Option<String>,
    from_assignee: Option<Option<String>>,
    to_assignee: Option<Option<String>>,
}

/// The workflow states of a new team: name and type, in order.
const STANDARD_STATES: &[(&str, &str)] = &[
    ("Backlog", "backlog"),
    ("Todo", "unstarted"),
    ("In Progress", "started"),
    ("In Review", "started"),
    ("Done", "completed"),
    ("Canceled", "canceled"),
];

impl LinearEmulator {
    /// Starts an emulator on a free loopback port with a generated key.
    pub async fn start() -> io::Result<Self> {
        LinearEmulator::start_with(EmulatorOptions::default()).await
    }

    /// Starts an emulator as `options` say. The API always needs a key, so
    /// [`crate::ApiKey::NotRequired`] gets a generated one.
    pub async fn start_with(options: EmulatorOptions) -> io::Result<Self> {
        let api_key = options
            .resolve_key("lin_api_", false)
            .unwrap_or_else(|| synth::api_key("lin_api_"));
        let state = Arc::new(LinearState {
            recorder: Recorder::default(),
            api_key,
            data: Mutex::new(Workspace::default()),
        });
        {
            let mut data = lock(&state.data);
            let viewer = data.add_user("Emulator Owner", "owner@example.com");
            data.viewer = viewer;
            let team = data.add_team("ENG", "Engineering");
            data.default_team = team;
        }
        let router = Router::new()
            .route(GRAPHQL, post(graphql))
            .with_state(Arc::clone(&state));
        let server = Server::start(options.addr, router).await?;
        Ok(LinearEmulator { server, state })
    }

    /// The base URL to configure a client with (`http://127.0.0.1:<port>`);
    /// the API is at `<base_url>/graphql`.
    pub fn base_url(&self) -> String {
        self.server.root_url()
    }

    /// The key requests must send in `Authorization`.
    pub fn api_key(&self) -> &str {
        &self.state.api_key
    }

    /// The id of the team every emulator starts with (key `ENG`).
    pub fn team_id(&self) -> String {
        lock(&self.state.data).default_team.clone()
    }

    /// The id of the user the API key belongs to.
    pub fn viewer_id(&self) -> String {
        lock(&self.state.data).viewer.clone()
    }

    /// Adds a team with Linear's standard workflow states; its id.
    pub fn team(&self, key: &str, name: &str) -> String {
        lock(&self.state.data).add_team(key, name)
    }

    /// Adds a workflow state to a team: `kind` is Linear's state type
    /// (`backlog`, `unstarted`, `started`, `completed`, `canceled`); its id.
    pub fn state(&self, team_id: &str, name: &str, kind: &str) -> String {
        lock(&self.state.data).add_state(team_id, name, kind)
    }

    /// Adds a user; its id.
    pub fn user(&self, name: &str, email: &str) -> String {
        lock(&self.state.data).add_user(name, email)
    }

    /// Every issue, oldest first, in the API's shape (as `issue` answers).
    pub fn issues(&self) -> Vec<Value> {
        let data = lock(&self.state.data);
        data.issues
            .iter()
            .map(|issue| data.issue_json(issue))
            .collect()
    }

    /// The comments on an issue (by id or identifier), oldest first, in the
    /// API's shape.
    pub fn comments(&self, issue: &str) -> Vec<Value> {
        let data = lock(&self.state.data);
        match data.find_issue(issue) {
            Some(found) => data.comments_json(&found.id),
            None => Vec::new(),
        }
    }

    /// Every request received so far, faulted or not, oldest first.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.state.recorder.requests()
    }

    /// The operation names of the requests received so far, oldest first
    /// (`None` for a body that names none).
    pub fn operations(&self) -> Vec<Option<String>> {
        self.requests()
            .iter()
            .map(|request| {
                let body = request.json()?;
                let query = body.get("query")?.as_str()?;
                operation(query).map(|(_, name)| name.to_owned())
            })
            .collect()
    }

    /// Queues a fault for the next request to `route` ([`GRAPHQL`]).
    pub fn push_fault(&self, route: &str, fault: Fault) {
        self.state.recorder.push_fault(route, fault);
    }

    /// Queues the same fault for the next `count` requests to `route`.
    pub fn push_faults(&self, route: &str, fault: Fault, count: usize) {
        for _ in 0..count {
            self.push_fault(route, fault.clone());
        }
    }
}

/// A GraphQL error body: `{"errors": [{message, extensions: {type, code,
/// userPresentableMessage}}]}`, with `data` when given.
pub fn error_body(message: &str, error_type: &str, code: &str, data: Option<Value>) -> Value {
    let mut body = json!({
        "errors": [{
            "message": message,
            "extensions": {
                "type": error_type,
                "code": code,
                "userPresentableMessage": message,
            },
        }],
    });
    if let (Some(data), Some(object)) = (data, body.as_object_mut()) {
        object.insert("data".to_owned(), data);
    }
    body
}

/// Linear's rate-limit answer, as its documentation describes it: HTTP 400
/// with `extensions.code: RATELIMITED`, and the request budget in
/// `X-RateLimit-Requests-Limit`, `-Remaining` (0) and `-Reset` (epoch
/// milliseconds, `reset_in` from now).
pub fn rate_limited(reset_in: Duration) -> Fault {
    let reset_at = now_millis().saturating_add(reset_in.as_millis() as u64);
    Fault::json(
        400,
        &error_body("Rate limit exceeded", "ratelimited", "RATELIMITED", None),
    )
    .with_header("x-ratelimit-requests-limit", "2500")
    .with_header("x-ratelimit-requests-remaining", "0")
    .with_header("x-ratelimit-requests-reset", &reset_at.to_string())
}

/// A rate-limit answer as HTTP 429 with `Retry-After` (whole seconds,
/// rounded up), the status Linear's SDK also reads as rate limited.
pub fn rate_limited_429(retry_after: Duration) -> Fault {
    let secs = retry_after.as_secs() + u64::from(retry_after.subsec_nanos() > 0);
    Fault::json(
        429,
        &error_body("Rate limit exceeded", "ratelimited", "RATELIMITED", None),
    )
    .with_header("retry-after", &secs.to_string())
    .with_header("x-ratelimit-requests-remaining", "0")
}

/// A 500 with Linear's `internal error` body.
pub fn internal_error() -> Fault {
    Fault::json(
        500,
        &error_body(
            "Internal server error",
            "internal error",
            "INTERNAL_SERVER_ERROR",
            None,
        ),
    )
}

/// The keyword and name of a GraphQL document's operation:
/// `("query", "Issue")` for `query Issue($id: String!) { ... }`.
fn operation(query: &str) -> Option<(&'static str, &str)> {
    let trimmed = query.trim_start();
    let (keyword, rest) = if let Some(rest) = trimmed.strip_prefix("query") {
        ("query", rest)
    } else if let Some(rest) = trimmed.strip_prefix("mutation") {
        ("mutation", rest)
    } else {
        return None;
    };
    if !rest.starts_with(|c: char| c.is_whitespace()) {
        return None;
    }
    let rest = rest.trim_start();
    let end = rest
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(rest.len());
    (end > 0).then(|| (keyword, &rest[..end]))
}

fn json_answer(status: StatusCode, body: &Value) -> Response {
    plain(status, &body.to_string(), "application/json")
}

fn not_authenticated() -> Response {
    let mut body = error_body(
        "Authentication required, not authenticated",
        "authentication error",
        "AUTHENTICATION_ERROR",
        None,
    );
    if let Some(extensions) = body.pointer_mut("/errors/0/extensions") {
        extensions["statusCode"] = json!(401);
        extensions["userPresentableMessage"] =
            json!("You need to authenticate to access this operation.");
    }
    json_answer(StatusCode::UNAUTHORIZED, &body)
}

/// A GraphQL error on a request that was served: HTTP 200, `data: null`.
fn failure(message: &str, error_type: &str, code: &str) -> Response {
    json_answer(
        StatusCode::OK,
        &error_body(message, error_type, code, Some(Value::Null)),
    )
}

/// A document the server cannot run: HTTP 400, as GraphQL validation fails.
fn invalid_document(message: &str) -> Response {
    json_answer(
        StatusCode::BAD_REQUEST,
        &error_body(message, "graphql error", "GRAPHQL_VALIDATION_FAILED", None),
    )
}

/// What a served operation failed with.
enum Failure {
    NotFound(&'static str),
    Invalid(String),
}

fn not_found(entity: &'static str) -> Failure {
    Failure::NotFound(entity)
}

fn invalid(message: impl Into<String>) -> Failure {
    Failure::Invalid(message.into())
}

async fn graphql(
    State(state): State<Arc<LinearState>>,
    ConnectInfo(connection): ConnectInfo<Connection>,
    request: Incoming,
) -> Response {
    if let Some(answer) = admit(&state.recorder, GRAPHQL, &connection, &request).await {
        return answer;
    }
    let authorized = request.header("authorization").is_some_and(|value| {
        let value = value.trim();
        let token = value.strip_prefix("Bearer ").unwrap_or(value);
        token == state.api_key
    });
    if !authorized {
        return not_authenticated();
    }
    let body: Value = match serde_json::from_slice(&request.body) {
        Ok(body) => body,
        Err(_) => return invalid_document("POST body is not valid JSON"),
    };
    let Some(query) = body.get("query").and_then(Value::as_str) else {
        return invalid_document("Must provide query string.");
    };
    let Some((keyword, name)) = operation(query) else {
        return invalid_document("The document must start with a named query or mutation");
    };
    let empty = Map::new();
    let variables = body
        .get("variables")
        .and_then(Value::as_object)
        .unwrap_or(&empty);
    let mut data = lock(&state.data);
    let result = data.run(keyword, name, variables);
    drop(data);
    match result {
        Ok(Some(answer)) => json_answer(StatusCode::OK, &json!({ "data": answer })),
        Ok(None) => invalid_document(&format!(
            "Unknown operation `{keyword} {name}`: the emulator serves only the operations of \
             the linear plugin"
        )),
        Err(Failure::NotFound(entity)) => failure(
            &format!("Entity not found: {entity}"),
            "invalid input",
            "ENTITY_NOT_FOUND",
        ),
        Err(Failure::Invalid(message)) => failure(&message, "invalid input", "INVALID_INPUT"),
    }
}

fn var<'a>(variables: &'a Map<String, Value>, name: &str) -> Result<&'a Value, Failure> {
    variables
        .get(name)
        .filter(|value| !value.is_null())
        .ok_or_else(|| {
            invalid(format!(
                "Variable \"${name}\" of required type was not provided."
            ))
        })
}

fn var_str<'a>(variables: &'a Map<String, Value>, name: &str) -> Result<&'a str, Failure> {
    var(variables, name)?
        .as_str()
        .ok_or_else(|| invalid(format!("Variable \"${name}\" must be a string")))
}

fn input_str(input: &Value, name: &str) -> Option<String> {
    input.get(name).and_then(Value::as_str).map(str::to_owned)
}

impl Workspace {
    fn add_user(&mut self, name: &str, email: &str) -> String {
        let id = uuid();
        self.users.push(User {
            id: id.clone(),
            name: name.to_owned(),
            email: email.to_owned(),
        });
        id
    }

    fn add_team(&mut self, key: &str, name: &str) -> String {
        let id = uuid();
        self.teams.push(Team {
            id: id.clone(),
            key: key.to_owned(),
            name: name.to_owned(),
            next_number: 1,
        });
        for (state, kind) in STANDARD_STATES {
            self.add_state(&id, state, kind);
        }
        id
    }

    fn add_state(&mut self, team: &str, name: &str, kind: &str) -> String {
        let id = uuid();
        let position = self.states.iter().filter(|s| s.team == team).count();
        self.states.push(WorkflowState {
            id: id.clone(),
            team: team.to_owned(),
            name: name.to_owned(),
            kind: kind.to_owned(),
            position,
        });
        id
    }

    /// Serves one operation: `Ok(None)` for an operation it does not know.
    fn run(
        &mut self,
        keyword: &str,
        name: &str,
        variables: &Map<String, Value>,
    ) -> Result<Option<Value>, Failure> {
        let answer = match (keyword, name) {
            ("query", "Viewer") => json!({"viewer": self.user_json(&self.viewer)}),
            ("query", "Teams") => {
                let nodes: Vec<Value> = self
                    .teams
                    .iter()
                    .map(|t| json!({"id": t.id, "key": t.key, "name": t.name}))
                    .collect();
                json!({"teams": {"nodes": nodes}})
            }
            ("query", "Users") => {
                let nodes: Vec<Value> = self.users.iter().map(|u| self.user_json(&u.id)).collect();
                json!({"users": {"nodes": nodes}})
            }
            ("query", "WorkflowStates") => {
                let team = var_str(variables, "teamId")?;
                let nodes: Vec<Value> = self
                    .states
                    .iter()
                    .filter(|s| s.team == team)
                    .map(state_json)
                    .collect();
                json!({"workflowStates": {"nodes": nodes}})
            }
            ("query", "IssueLabels") => {
                let nodes: Vec<Value> = self
                    .labels
                    .iter()
                    .map(|l| json!({"id": l.id, "name": l.name}))
                    .collect();
                json!({"issueLabels": {"nodes": nodes}})
            }
            ("query", "Issue") => {
                let issue = self.issue_by_var(variables)?;
                json!({"issue": self.issue_json(issue)})
            }
            ("query", "IssueComments") => {
                let issue = self.issue_by_var(variables)?;
                json!({"issue": {
                    "id": issue.id,
                    "identifier": issue.identifier,
                    "comments": {"nodes": self.comments_json(&issue.id)},
                }})
            }
            ("query", "IssueHistory") => {
                let issue = self.issue_by_var(variables)?;
                json!({"issue": {
                    "id": issue.id,
                    "identifier": issue.identifier,
                    "createdAt": issue.created,
                    "history": {"nodes": self.history_json(&issue.id)},
                    "comments": {"nodes": self.comments_json(&issue.id)},
                }})
            }
            ("query", "Issues") => self.issues_page(variables)?,
            ("mutation", "IssueCreate") => {
                let input = var(variables, "input")?;
                let id = self.create_issue(input)?;
                let issue = self.find_issue(&id).ok_or_else(|| not_found("Issue"))?;
                json!({"issueCreate": {"success": true, "issue": self.issue_json(issue)}})
            }
            ("mutation", "IssueUpdate") => {
                let id = var_str(variables, "id")?.to_owned();
                let input = var(variables, "input")?;
                let id = self.update_issue(&id, input)?;
                let issue = self.find_issue(&id).ok_or_else(|| not_found("Issue"))?;
                json!({"issueUpdate": {"success": true, "issue": self.issue_json(issue)}})
            }
            ("mutation", "CommentCreate") => {
                let input = var(variables, "input")?;
                let comment = self.create_comment(input)?;
                json!({"commentCreate": {"success": true, "comment": self.comment_json(&comment)}})
            }
            ("mutation", "IssueLabelCreate") => {
                let input = var(variables, "input")?;
                let name = input_str(input, "name")
                    .filter(|name| !name.trim().is_empty())
                    .ok_or_else(|| invalid("name must not be empty"))?;
                if self
                    .labels
                    .iter()
                    .any(|l| l.name.eq_ignore_ascii_case(&name))
                {
                    return Err(invalid("Duplicate label name"));
                }
                let label = Label { id: uuid(), name };
                self.labels.push(label.clone());
                json!({"issueLabelCreate": {"success": true,
                    "issueLabel": {"id": label.id, "name": label.name}}})
            }
            ("mutation", "ProjectCreate") => {
                let input = var(variables, "input")?;
                let name = input_str(input, "name")
                    .filter(|name| !name.trim().is_empty())
                    .ok_or_else(|| invalid("name must not be empty"))?;
                let teams = input
                    .get("teamIds")
                    .and_then(Value::as_array)
                    .filter(|teams| !teams.is_empty())
                    .ok_or_else(|| invalid("teamIds must hold at least one team"))?;
                for team in teams {
                    let team = team.as_str().unwrap_or_default();
                    if !self.teams.iter().any(|t| t.id == team) {
                        return Err(not_found("Team"));
                    }
                }
                let project = Project {
                    id: uuid(),
                    name,
                    description: input_str(input, "description").unwrap_or_default(),
                    created: now_rfc3339(),
                };
                self.projects.push(project.clone());
                json!({"projectCreate": {"success": true, "project": project_json(&project)}})
            }
            _ => return Ok(None),
        };
        Ok(Some(answer))
    }

    fn issue_by_var(&self, variables: &Map<String, Value>) -> Result<&Issue, Failure> {
        let id = var_str(variables, "id")?;
        self.find_issue(id).ok_or_else(|| not_found("Issue"))
    }

    fn find_issue(&self, id: &str) -> Option<&Issue> {
        self.issues
            .iter()
            .find(|issue| issue.id == id || issue.identifier.eq_ignore_ascii_case(id))
    }

    fn check_refs(&self, team: &str, input: &Value) -> Result<(), Failure> {
        if let Some(state) = input_str(input, "stateId")
            && !self.states.iter().any(|s| s.id == state && s.team == team)
        {
            return Err(not_found("WorkflowState"));
        }
        if let Some(user) = input_str(input, "assigneeId")
            && !self.users.iter().any(|u| u.id == user)
        {
            return Err(not_found("User"));
        }
        if let Some(project) = input_str(input, "projectId")
            && !self.projects.iter().any(|p| p.id == project)
        {
            return Err(not_found("Project"));
        }
        if let Some(parent) = input_str(input, "parentId")
            && self.find_issue(&parent).is_none()
        {
            return Err(not_found("Issue"));
        }
        if let Some(labels) = input.get("labelIds").and_then(Value::as_array) {
            for label in labels {
                let label = label.as_str().unwrap_or_default();
                if !self.labels.iter().any(|l| l.id == label) {
                    return Err(not_found("IssueLabel"));
                }
            }
        }
        if let Some(priority) = input.get("priority").filter(|p| !p.is_null()) {
            match priority.as_u64() {
                Some(0..=4) => {}
                _ => return Err(invalid("priority must be an integer from 0 to 4")),
            }
        }
        if let Some(estimate) = input.get("estimate").filter(|e| !e.is_null())
            && estimate.as_i64().is_none()
        {
            return Err(invalid("estimate must be an integer"));
        }
        if let Some(due) = input.get("dueDate").and_then(Value::as_str)
            && !is_timeless_date(due)
        {
            return Err(invalid("dueDate must be a date as YYYY-MM-DD"));
        }
        Ok(())
    }

    fn create_issue(&mut self, input: &Value) -> Result<String, Failure> {
        let team_id = input_str(input, "teamId").ok_or_else(|| invalid("teamId is required"))?;
        let title = input_str(input, "title")
            .filter(|title| !title.trim().is_empty())
            .ok_or_else(|| invalid("title must not be empty"))?;
        self.check_refs(&team_id, input)?;
        let team = self
            .teams
            .iter_mut()
            .find(|t| t.id == team_id)
            .ok_or_else(|| not_found("Team"))?;
        let number = team.next_number;
        team.next_number += 1;
        let identifier = format!("{}-{number}", team.key);
        // Linear puts a new issue in the team's first unstarted state (its
        // default) unless told otherwise.
        let state = match input_str(input, "stateId") {
            Some(state) => state,
            None => self
                .states
                .iter()
                .filter(|s| s.team == team_id)
                .min_by_key(|s| (s.kind != "unstarted", s.position))
                .map(|s| s.id.clone())
                .ok_or_else(|| invalid("the team has no workflow states"))?,
        };
        let now = now_rfc3339();
        let id = uuid();
        self.issues.push(Issue {
            id: id.clone(),
            team: team_id,
            number,
            identifier,
            title,
            description: input_str(input, "description"),
            priority: input.get("priority").and_then(Value::as_u64).unwrap_or(0),
            state,
            assignee: input_str(input, "assigneeId"),
            labels: string_list(input.get("labelIds")),
            project: input_str(input, "projectId"),
            parent: input_str(input, "parentId"),
            due_date: input_str(input, "dueDate"),
            estimate: input.get("estimate").and_then(Value::as_f64),
            created: now.clone(),
            updated: now,
        });
        Ok(id)
    }

    fn update_issue(&mut self, id: &str, input: &Value) -> Result<String, Failure> {
        let (index, team) = self
            .issues
            .iter()
            .position(|issue| issue.id == id || issue.identifier.eq_ignore_ascii_case(id))
            .map(|index| (index, self.issues[index].team.clone()))
            .ok_or_else(|| not_found("Issue"))?;
        self.check_refs(&team, input)?;
        let now = now_rfc3339();
        let actor = self.viewer.clone();
        let issue = &mut self.issues[index];
        let mut change = History {
            id: uuid(),
            issue: issue.id.clone(),
            actor,
            created: now.clone(),
            from_state: None,
            to_state: None,
            from_assignee: None,
            to_assignee: None,
        };
        if let Some(state) = input_str(input, "stateId")
            && state != issue.state
        {
            change.from_state = Some(issue.state.clone());
            change.to_state = Some(state.clone());
            issue.state = state;
        }
        if let Some(assignee) = input.get("assigneeId") {
            let assignee = assignee.as_str().map(str::to_owned);
            if assignee != issue.assignee {
                change.from_assignee = Some(issue.assignee.clone());
                change.to_assignee = Some(assignee.clone());
                issue.assignee = assignee;
            }
        }
        if let Some(title) = input_str(input, "title") {
            issue.title = title;
        }
        if let Some(description) = input.get("description") {
            issue.description = description.as_str().map(str::to_owned);
        }
        if let Some(priority) = input.get("priority").and_then(Value::as_u64) {
            issue.priority = priority;
        }
        if input.get("labelIds").is_some() {
            issue.labels = string_list(input.get("labelIds"));
        }
        if let Some(project) = input.get("projectId") {
            issue.project = project.as_str().map(str::to_owned);
        }
        if let Some(due) = input.get("dueDate") {
            issue.due_date = due.as_str().map(str::to_owned);
        }
        if let Some(estimate) = input.get("estimate") {
            issue.estimate = estimate.as_f64();
        }
        issue.updated = now;
        let id = issue.id.clone();
        if change.to_state.is_some() || change.to_assignee.is_some() {
            self.history.push(change);
        }
        Ok(id)
    }

    fn create_comment(&mut self, input: &Value) -> Result<Comment, Failure> {
        let issue = input_str(input, "issueId").ok_or_else(|| invalid("issueId is required"))?;
        let body = input_str(input, "body")
            .filter(|body| !body.trim().is_empty())
            .ok_or_else(|| invalid("body must not be empty"))?;
        let issue = self
            .find_issue(&issue)
            .ok_or_else(|| not_found("Issue"))?
            .id
            .clone();
        let comment = Comment {
            id: uuid(),
            issue,
            body,
            user: self.viewer.clone(),
            created: now_rfc3339(),
        };
        self.comments.push(comment.clone());
        Ok(comment)
    }

    fn issues_page(&self, variables: &Map<String, Value>) -> Result<Value, Failure> {
        let filter = variables.get("filter").cloned().unwrap_or(Value::Null);
        let first = match variables.get("first").filter(|v| !v.is_null()) {
            Some(first) => match first.as_u64() {
                Some(n @ 1..) => (n as usize).min(MAX_PAGE),
                _ => return Err(invalid("first must be a positive integer")),
            },
            None => DEFAULT_PAGE,
        };
        let mut matching = Vec::new();
        for issue in &self.issues {
            if self.matches(issue, &filter)? {
                matching.push(issue);
            }
        }
        let start = match variables.get("after").and_then(Value::as_str) {
            Some(cursor) => {
                matching
                    .iter()
                    .position(|issue| issue.id == cursor)
                    .ok_or_else(|| invalid("after: the cursor is not valid"))?
                    + 1
            }
            None => 0,
        };
        let page: Vec<&Issue> = matching.iter().skip(start).take(first).copied().collect();
        let has_next = start + page.len() < matching.len();
        let nodes: Vec<Value> = page.iter().map(|issue| self.issue_json(issue)).collect();
        Ok(json!({"issues": {
            "nodes": nodes,
            "pageInfo": {
                "hasNextPage": has_next,
                "endCursor": page.last().map(|issue| issue.id.clone()),
            },
        }}))
    }

    /// Whether `issue` passes `filter` (an `IssueFilter`); unknown filter
    /// fields are errors, as Linear's schema rejects them.
    fn matches(&self, issue: &Issue, filter: &Value) -> Result<bool, Failure> {
        let Some(fields) = filter.as_object() else {
            return Ok(true);
        };
        for (field, condition) in fields {
            let passed = match field.as_str() {
                "and" => {
                    let mut all = true;
                    for part in condition.as_array().map(Vec::as_slice).unwrap_or_default() {
                        all &= self.matches(issue, part)?;
                    }
                    all
                }
                "team" => eq_at(condition, "/id/eq", Some(&issue.team))?,
                "assignee" => eq_at(condition, "/id/eq", issue.assignee.as_ref())?,
                "project" => eq_at(condition, "/id/eq", issue.project.as_ref())?,
                "state" => {
                    let state = self.states.iter().find(|s| s.id == issue.state);
                    if condition.pointer("/name/eq").is_some() {
                        eq_at(condition, "/name/eq", state.map(|s| &s.name))?
                    } else {
                        eq_at(condition, "/id/eq", Some(&issue.state))?
                    }
                }
                "description" => {
                    let wanted = condition
                        .pointer("/contains")
                        .and_then(Value::as_str)
                        .ok_or_else(|| invalid("description filter must be {contains}"))?;
                    issue
                        .description
                        .as_deref()
                        .is_some_and(|text| text.contains(wanted))
                }
                "labels" => {
                    let wanted = condition
                        .pointer("/some/name/eq")
                        .and_then(Value::as_str)
                        .ok_or_else(|| invalid("labels filter must be {some: {name: {eq}}}"))?;
                    issue.labels.iter().any(|id| {
                        self.labels
                            .iter()
                            .any(|l| &l.id == id && l.name.eq_ignore_ascii_case(wanted))
                    })
                }
                other => {
                    return Err(invalid(format!(
                        "Field \"{other}\" is not defined by type \"IssueFilter\" in the emulator"
                    )));
                }
            };
            if !passed {
                return Ok(false);
            }
        }
        Ok(true)
    }

    fn user_json(&self, id: &str) -> Value {
        match self.users.iter().find(|u| u.id == id) {
            Some(user) => json!({
                "id": user.id,
                "name": user.name,
                "displayName": user.name.split_whitespace().next().unwrap_or_default()
                    .to_lowercase(),
                "email": user.email,
            }),
            None => Value::Null,
        }
    }

    fn issue_json(&self, issue: &Issue) -> Value {
        let state = self
            .states
            .iter()
            .find(|s| s.id == issue.state)
            .map(state_json)
            .unwrap_or(Value::Null);
        let team = self
            .teams
            .iter()
            .find(|t| t.id == issue.team)
            .map(|t| json!({"id": t.id, "key": t.key, "name": t.name}))
            .unwrap_or(Value::Null);
        let labels: Vec<Value> = issue
            .labels
            .iter()
            .filter_map(|id| self.labels.iter().find(|l| &l.id == id))
            .map(|l| json!({"id": l.id, "name": l.name}))
            .collect();
        let project = issue
            .project
            .as_ref()
            .and_then(|id| self.projects.iter().find(|p| &p.id == id))
            .map(|p| json!({"id": p.id, "name": p.name}))
            .unwrap_or(Value::Null);
        let parent = issue
            .parent
            .as_ref()
            .and_then(|id| self.find_issue(id))
            .map(|p| json!({"id": p.id, "identifier": p.identifier}))
            .unwrap_or(Value::Null);
        json!({
            "id": issue.id,
            "identifier": issue.identifier,
            "number": issue.number,
            "title": issue.title,
            "description": issue.description,
            "priority": issue.priority,
            "estimate": issue.estimate,
            "dueDate": issue.due_date,
            "url": format!("https://linear.app/emulator/issue/{}", issue.identifier),
            "createdAt": issue.created,
            "updatedAt": issue.updated,
            "state": state,
            "team": team,
            "assignee": issue.assignee.as_deref().map(|id| self.user_json(id))
                .unwrap_or(Value::Null),
            "labels": {"nodes": labels},
            "project": project,
            "parent": parent,
        })
    }

    fn comment_json(&self, comment: &Comment) -> Value {
        json!({
            "id": comment.id,
            "body": comment.body,
            "createdAt": comment.created,
            "updatedAt": comment.created,
            "user": self.user_json(&comment.user),
        })
    }

    fn comments_json(&self, issue: &str) -> Vec<Value> {
        self.comments
            .iter()
            .filter(|c| c.issue == issue)
            .map(|c| self.comment_json(c))
            .collect()
    }

    fn history_json(&self, issue: &str) -> Vec<Value> {
        let state = |id: &Option<String>| {
            id.as_ref()
                .and_then(|id| self.states.iter().find(|s| &s.id == id))
                .map(state_json)
                .unwrap_or(Value::Null)
        };
        let user = |id: &Option<Option<String>>| match id {
            Some(Some(id)) => self.user_json(id),
            _ => Value::Null,
        };
        // Linear lists history newest first.
        self.history
            .iter()
            .rev()
            .filter(|h| h.issue == issue)
            .map(|h| {
                json!({
                    "id": h.id,
                    "createdAt": h.created,
                    "actor": self.user_json(&h.actor),
                    "fromState": state(&h.from_state),
                    "toState": state(&h.to_state),
                    "fromAssignee": user(&h.from_assignee),
                    "toAssignee": user(&h.to_assignee),
                    "fromStateId": h.from_state,
                    "toStateId": h.to_state,
                    "fromAssigneeId": h.from_assignee.clone().flatten(),
                    "toAssigneeId": h.to_assignee.clone().flatten(),
                })
            })
            .collect()
    }
}

fn state_json(state: &WorkflowState) -> Value {
    json!({"id": state.id, "name": state.name, "type": state.kind, "position": state.position})
}

fn project_json(project: &Project) -> Value {
    json!({
        "id": project.id,
        "name": project.name,
        "description": project.description,
        "state": "planned",
        "url": format!("https://linear.app/emulator/project/{}", project.id),
        "createdAt": project.created,
    })
}

/// Whether the value at `pointer` in `condition` equals `actual`.
fn eq_at(condition: &Value, pointer: &str, actual: Option<&String>) -> Result<bool, Failure> {
    let wanted = condition
        .pointer(pointer)
        .and_then(Value::as_str)
        .ok_or_else(|| invalid(format!("the filter needs a string at {pointer}")))?;
    Ok(actual.is_some_and(|actual| actual == wanted))
}

fn string_list(value: Option<&Value>) -> Vec<String> {
    value
        .and_then(Value::as_array)
        .map(|items| {
            items
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}

/// `YYYY-MM-DD`, Linear's `TimelessDate`.
fn is_timeless_date(text: &str) -> bool {
    let bytes = text.as_bytes();
    bytes.len() == 10
        && bytes.iter().enumerate().all(|(i, b)| match i {
            4 | 7 => *b == b'-',
            _ => b.is_ascii_digit(),
        })
}

/// A UUID-shaped identifier, as Linear's ids are.
fn uuid() -> String {
    let n = synth::next_number();
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|elapsed| elapsed.subsec_nanos())
        .unwrap_or(0);
    format!(
        "{:08x}-{:04x}-4{:03x}-8{:03x}-{:012x}",
        nanos,
        (n >> 32) & 0xffff,
        (n >> 16) & 0xfff,
        n & 0xfff,
        n
    )
}

fn now_millis() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|elapsed| elapsed.as_millis() as u64)
        .unwrap_or(0)
}

/// Now as RFC 3339 with milliseconds, as Linear's `DateTime`s
/// (`2025-01-31T12:00:00.000Z`).
fn now_rfc3339() -> String {
    let millis = now_millis();
    let secs = millis / 1000;
    let (days, rest) = (secs / 86_400, secs % 86_400);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        rest / 3600,
        rest % 3600 / 60,
        rest % 60,
        millis % 1000
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operations_are_read_from_the_document() {
        assert_eq!(
            operation("query Issue($id: String!) { issue(id: $id) { id } }"),
            Some(("query", "Issue"))
        );
        assert_eq!(
            operation("\n  mutation IssueCreate($input: IssueCreateInput!) {"),
            Some(("mutation", "IssueCreate"))
        );
        assert_eq!(operation("{ viewer { id } }"), None);
        assert_eq!(operation("queryIssue { x }"), None);
    }

    #[test]
    fn timestamps_are_rfc3339_with_milliseconds() {
        let now = now_rfc3339();
        assert_eq!(now.len(), 24, "{now}");
        assert!(now.ends_with('Z') && now.as_bytes()[10] == b'T', "{now}");
        assert!(is_timeless_date(&now[..10]));
    }

    #[tokio::test]
    async fn issues_are_created_updated_and_paged() {
        let emulator = LinearEmulator::start().await.unwrap();
        let client = reqwest::Client::new();
        let url = format!("{}{GRAPHQL}", emulator.base_url());
        let call = |query: &str, variables: Value, key: &str| {
            client
                .post(&url)
                .header("authorization", key.to_owned())
                .json(&json!({"query": query, "variables": variables}))
                .send()
        };
        let team = emulator.team_id();
        for title in ["one", "two", "three"] {
            let answer = call(
                "mutation IssueCreate($input: IssueCreateInput!) { issueCreate }",
                json!({"input": {"teamId": team, "title": title}}),
                emulator.api_key(),
            )
            .await
            .unwrap();
            assert_eq!(answer.status(), 200);
        }
        let page: Value = call(
            "query Issues($filter: IssueFilter, $first: Int, $after: String) { issues }",
            json!({"filter": {"team": {"id": {"eq": team}}}, "first": 2}),
            &format!("Bearer {}", emulator.api_key()),
        )
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
        assert_eq!(page["data"]["issues"]["nodes"][1]["identifier"], "ENG-2");
        assert_eq!(page["data"]["issues"]["pageInfo"]["hasNextPage"], true);
        let missing: Value = call(
            "query Issue($id: String!) { issue }",
            json!({"id": "ENG-99"}),
            emulator.api_key(),
        )
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
        assert_eq!(
            missing["errors"][0]["extensions"]["code"],
            "ENTITY_NOT_FOUND"
        );
        let refused = call("query Viewer { viewer }", json!({}), "lin_api_wrong")
            .await
            .unwrap();
        assert_eq!(refused.status(), 401);
        assert_eq!(emulator.issues().len(), 3);
    }
}
