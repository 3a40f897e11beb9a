//! An emulator of Jira Cloud's REST API v3, for the `jira` plugin.
//!
//! Requests carry HTTP Basic authentication, `email:api_token`
//! ([`JiraEmulator::email`], [`JiraEmulator::api_token`]); without it the
//! answer is 401. One project, [`PROJECT`], with the workflow
//! `To Do → In Progress → In Review → Done` (every status reachable from
//! every other through a transition named after its target) and the
//! priorities `Lowest, Low, Medium, High, Highest`. Routes, as Atlassian's
//! reference documents them:
//!
//! | route | answer |
//! |---|---|
//! | `POST /rest/api/3/issue` | 201 `{id, key, self}` |
//! | `GET /rest/api/3/issue/{key}` (`expand=changelog`) | the issue `{id, key, self, fields}` |
//! | `GET /rest/api/3/issue/{key}/transitions` | `{transitions: [{id, name, to: {id, name, statusCategory}}]}` |
//! | `POST /rest/api/3/issue/{key}/transitions` | 204 |
//! | `GET /rest/api/3/issue/{key}/comment` | `{startAt, maxResults, total, comments}` |
//! | `POST /rest/api/3/issue/{key}/comment` | 201 the comment |
//! | `PUT /rest/api/3/issue/{key}/assignee` | 204 |
//! | `GET /rest/api/3/issue/{key}/changelog` | `{startAt, maxResults, total, isLast, values}` |
//! | `GET /rest/api/3/user/search?query=` | `[users]` |
//! | `GET /rest/api/3/myself` | the caller |
//! | `POST /rest/api/3/search/jql` | `{issues, nextPageToken, isLast}` (`nextPageToken` only when more) |
//! | `POST /rest/api/3/search` | 410 Gone: removed by Atlassian |
//!
//! Descriptions and comment bodies are Atlassian Document Format. JQL is
//! the subset plugins write: clauses `field = "value"` joined by `AND`
//! over `project, status, assignee, labels, parent, issuetype, key`, and
//! an optional `ORDER BY` (issues always come in creation order). Errors
//! are `{"errorMessages": [...], "errors": {...}}` with 400 or 404. Faults
//! are queued per route constant, such as [`ISSUE`].

use std::io;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::{ConnectInfo, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post, put};
use serde_json::{Value, json};

use crate::faults::{Fault, admit, plain};
use crate::incoming::Incoming;
use crate::options::EmulatorOptions;
use crate::recorder::{RecordedRequest, Recorder, lock};
use crate::server::{Connection, Server};
use crate::synth;

/// The route of issue creation.
pub const CREATE: &str = "/rest/api/3/issue";
/// The route of one issue.
pub const ISSUE: &str = "/rest/api/3/issue/{key}";
/// The route of an issue's transitions.
pub const TRANSITIONS: &str = "/rest/api/3/issue/{key}/transitions";
/// The route of an issue's comments.
pub const COMMENTS: &str = "/rest/api/3/issue/{key}/comment";
/// The route of an issue's assignee.
pub const ASSIGNEE: &str = "/rest/api/3/issue/{key}/assignee";
/// The route of an issue's changelog.
pub const CHANGELOG: &str = "/rest/api/3/issue/{key}/changelog";
/// The route of the caller's own user.
pub const MYSELF: &str = "/rest/api/3/myself";
/// The route of user search.
pub const USER_SEARCH: &str = "/rest/api/3/user/search";
/// The route of JQL search.
pub const SEARCH: &str = "/rest/api/3/search/jql";
/// The removed search route.
pub const OLD_SEARCH: &str = "/rest/api/3/search";

/// The emulated project's key.
pub const PROJECT: &str = "PROJ";
/// The account id of the seeded user Alice (`alice@example.com`).
pub const ALICE: &str = "5b10ac8d82e05b22cc7d4ef5";

/// The workflow's statuses: name, id, status category key.
const STATUSES: [(&str, &str, &str); 4] = [
    ("To Do", "10000", "new"),
    ("In Progress", "3", "indeterminate"),
    ("In Review", "10001", "indeterminate"),
    ("Done", "10002", "done"),
];

/// The priorities, lowest first.
const PRIORITIES: [&str; 5] = ["Lowest", "Low", "Medium", "High", "Highest"];

/// A 429 with `Retry-After`, as Jira Cloud rate-limits.
pub fn rate_limited(retry_after: Duration) -> Fault {
    Fault::json(
        429,
        &json!({"errorMessages": ["Rate limit exceeded."], "errors": {}}),
    )
    .with_header("retry-after", &retry_after.as_secs().max(1).to_string())
}

/// A running Jira emulator. Stops when dropped.
#[derive(Debug)]
pub struct JiraEmulator {
    server: Server,
    state: Arc<JiraState>,
}

#[derive(Debug)]
struct JiraState {
    recorder: Recorder,
    email: String,
    token: String,
    root: Mutex<String>,
    world: Mutex<World>,
}

#[derive(Debug, Default)]
struct World {
    issues: Vec<Issue>,
    users: Vec<Value>,
    next_id: u64,
}

#[derive(Debug, Clone)]
struct Issue {
    id: String,
    key: String,
    fields: Value,
    comments: Vec<Value>,
    changelog: Vec<Value>,
}

impl JiraEmulator {
    /// Starts on a free loopback port with a generated API token.
    pub async fn start() -> io::Result<Self> {
        JiraEmulator::start_with(EmulatorOptions::default()).await
    }

    /// Starts as `options` say: `api_key` is the API token.
    pub async fn start_with(options: EmulatorOptions) -> io::Result<Self> {
        let token = options
            .resolve_key("ATATT", false)
            .unwrap_or_else(|| synth::api_key("ATATT"));
        let state = Arc::new(JiraState {
            recorder: Recorder::default(),
            email: "bot@example.com".to_owned(),
            token,
            root: Mutex::new(String::new()),
            world: Mutex::new(World {
                users: vec![
                    user(ALICE, "Alice Example", "alice@example.com"),
                    user("712020:bot", "aido bot", "bot@example.com"),
                ],
                next_id: 10000,
                ..World::default()
            }),
        });
        let router = Router::new()
            .route(CREATE, post(handle))
            .route(ISSUE, get(handle))
            .route(TRANSITIONS, get(handle).post(handle))
            .route(COMMENTS, get(handle).post(handle))
            .route(ASSIGNEE, put(handle))
            .route(CHANGELOG, get(handle))
            .route(USER_SEARCH, get(handle))
            .route(MYSELF, get(handle))
            .route(SEARCH, post(handle).get(handle))
            .route(OLD_SEARCH, post(handle).get(handle))
            .with_state(Arc::clone(&state));
        let server = Server::start(options.addr, router).await?;
        *lock(&state.root) = server.root_url();
        Ok(JiraEmulator { server, state })
    }

    /// The site's URL (`http://127.0.0.1:<port>`), for
    /// `connection.base_url`.
    pub fn base_url(&self) -> String {
        self.server.root_url()
    }

    /// The email the API token belongs to.
    pub fn email(&self) -> &str {
        &self.state.email
    }

    /// The API token it accepts.
    pub fn api_token(&self) -> &str {
        &self.state.token
    }

    /// Every request received so far, oldest first.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.state.recorder.requests()
    }

    /// Queues a fault for the next request to `route` (such as [`ISSUE`]).
    pub fn push_fault(&self, route: &str, fault: Fault) {
        self.state.recorder.push_fault(route, fault);
    }

    /// Queues the same fault for the next `count` requests to `route`.
    pub fn push_faults(&self, route: &str, fault: Fault, count: usize) {
        for _ in 0..count {
            self.push_fault(route, fault.clone());
        }
    }

    /// An issue as `GET /rest/api/3/issue/{key}` shows it.
    pub fn issue(&self, key: &str) -> Option<Value> {
        let root = lock(&self.state.root).clone();
        let world = lock(&self.state.world);
        world
            .issues
            .iter()
            .find(|i| i.key == key)
            .map(|i| issue_json(i, &root, false))
    }

    /// How many issues exist.
    pub fn issue_count(&self) -> usize {
        lock(&self.state.world).issues.len()
    }

    /// An issue's comments, oldest first.
    pub fn comments(&self, key: &str) -> Vec<Value> {
        lock(&self.state.world)
            .issues
            .iter()
            .find(|i| i.key == key)
            .map(|i| i.comments.clone())
            .unwrap_or_default()
    }

    /// Forgets requests and faults (issues stay).
    pub fn reset(&self) {
        self.state.recorder.reset();
    }
}

fn user(id: &str, name: &str, email: &str) -> Value {
    json!({
        "accountId": id,
        "accountType": "atlassian",
        "displayName": name,
        "emailAddress": email,
        "active": true,
    })
}

/// Now, as Jira writes times: `2024-01-15T10:30:00.000+0000`.
fn now() -> String {
    let secs = synth::unix_seconds();
    let days = (secs / 86_400) as i64;
    let (hour, minute, second) = ((secs / 3600) % 24, (secs / 60) % 60, secs % 60);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}T{hour:02}:{minute:02}:{second:02}.000+0000")
}

/// Decodes standard base64 (for Basic credentials).
fn base64_decode(text: &str) -> Option<Vec<u8>> {
    let value = |c: u8| -> Option<u32> {
        Some(match c {
            b'A'..=b'Z' => u32::from(c - b'A'),
            b'a'..=b'z' => u32::from(c - b'a') + 26,
            b'0'..=b'9' => u32::from(c - b'0') + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        })
    };
    let clean: Vec<u8> = text.bytes().filter(|c| *c != b'=').collect();
    let mut out = Vec::new();
    for chunk in clean.chunks(4) {
        let mut acc = 0u32;
        for (i, c) in chunk.iter().enumerate() {
            acc |= value(*c)? << (18 - 6 * i);
        }
        let bytes = acc.to_be_bytes();
        out.extend_from_slice(&bytes[1..chunk.len().max(1)]);
    }
    Some(out)
}

fn answer(status: StatusCode, body: &Value) -> Response {
    plain(status, &body.to_string(), "application/json")
}

fn errors(status: StatusCode, messages: &[&str], fields: Value) -> Response {
    answer(
        status,
        &json!({"errorMessages": messages, "errors": fields}),
    )
}

fn not_found() -> Response {
    errors(
        StatusCode::NOT_FOUND,
        &["Issue does not exist or you do not have permission to see it."],
        json!({}),
    )
}

fn no_content() -> Response {
    plain(StatusCode::NO_CONTENT, "", "application/json")
}

fn status_json(name: &str) -> Value {
    let (name, id, category) = STATUSES
        .iter()
        .find(|(n, _, _)| *n == name)
        .copied()
        .unwrap_or(STATUSES[0]);
    json!({"name": name, "id": id, "statusCategory": {"key": category}})
}

fn issue_json(issue: &Issue, root: &str, with_changelog: bool) -> Value {
    let mut value = json!({
        "id": issue.id,
        "key": issue.key,
        "self": format!("{root}/rest/api/3/issue/{}", issue.id),
        "fields": issue.fields,
    });
    if with_changelog {
        value["changelog"] = json!({
            "startAt": 0,
            "maxResults": issue.changelog.len(),
            "total": issue.changelog.len(),
            "histories": issue.changelog,
        });
    }
    value
}

fn authorized(state: &JiraState, request: &Incoming) -> bool {
    let Some(value) = request.header("authorization") else {
        return false;
    };
    let Some(encoded) = value.strip_prefix("Basic ") else {
        return false;
    };
    let Some(decoded) = base64_decode(encoded.trim()) else {
        return false;
    };
    decoded == format!("{}:{}", state.email, state.token).into_bytes()
}

async fn handle(
    State(state): State<Arc<JiraState>>,
    ConnectInfo(connection): ConnectInfo<Connection>,
    request: Incoming,
) -> Response {
    let path = request.uri.path().to_owned();
    let segments: Vec<&str> = path.trim_start_matches("/rest/api/3/").split('/').collect();
    let route = match segments.as_slice() {
        ["issue"] => CREATE,
        ["issue", _] => ISSUE,
        ["issue", _, "transitions"] => TRANSITIONS,
        ["issue", _, "comment"] => COMMENTS,
        ["issue", _, "assignee"] => ASSIGNEE,
        ["issue", _, "changelog"] => CHANGELOG,
        ["user", "search"] => USER_SEARCH,
        ["myself"] => MYSELF,
        ["search", "jql"] => SEARCH,
        _ => OLD_SEARCH,
    };
    if let Some(answer) = admit(&state.recorder, route, &connection, &request).await {
        return answer;
    }
    if !authorized(&state, &request) {
        return plain(
            StatusCode::UNAUTHORIZED,
            "Client must be authenticated to access this resource.",
            "text/html;charset=UTF-8",
        );
    }
    if route == OLD_SEARCH {
        return errors(
            StatusCode::GONE,
            &[
                "The requested API has been removed. Please migrate to the /rest/api/3/search/jql API.",
            ],
            json!({}),
        );
    }
    let body: Value = if request.body.is_empty() {
        Value::Null
    } else {
        match serde_json::from_slice(&request.body) {
            Ok(body) => body,
            Err(_) => {
                return errors(
                    StatusCode::BAD_REQUEST,
                    &["Unexpected character in the request body."],
                    json!({}),
                );
            }
        }
    };
    let root = lock(&state.root).clone();
    let mut world = lock(&state.world);
    let key = segments.get(1).copied().unwrap_or("").to_owned();
    let method = request.method.as_str();
    match (route, method) {
        (r, "POST") if r == CREATE => create(&mut world, &root, &body),
        (r, "GET") if r == ISSUE => match world.issues.iter().find(|i| i.key == key) {
            Some(issue) => {
                let expand = request.query_param("expand").unwrap_or_default();
                answer(
                    StatusCode::OK,
                    &issue_json(issue, &root, expand.contains("changelog")),
                )
            }
            None => not_found(),
        },
        (r, "GET") if r == TRANSITIONS => match world.issues.iter().find(|i| i.key == key) {
            Some(issue) => {
                let current = issue.fields["status"]["name"].as_str().unwrap_or("");
                let transitions: Vec<Value> = STATUSES
                    .iter()
                    .enumerate()
                    .filter(|(_, (name, _, _))| *name != current)
                    .map(|(i, (name, _, _))| {
                        json!({
                            "id": format!("{}", (i + 1) * 10 + 1),
                            "name": format!("Move to {name}"),
                            "to": status_json(name),
                            "hasScreen": false,
                            "isAvailable": true,
                        })
                    })
                    .collect();
                answer(StatusCode::OK, &json!({"transitions": transitions}))
            }
            None => not_found(),
        },
        (r, "POST") if r == TRANSITIONS => transition(&mut world, &key, &body),
        (r, "GET") if r == COMMENTS => match world.issues.iter().find(|i| i.key == key) {
            Some(issue) => {
                let start = request
                    .query_param("startAt")
                    .and_then(|s| s.parse::<usize>().ok())
                    .unwrap_or(0);
                let max = request
                    .query_param("maxResults")
                    .and_then(|s| s.parse::<usize>().ok())
                    .unwrap_or(50)
                    .clamp(1, 100);
                let page: Vec<Value> = issue
                    .comments
                    .iter()
                    .skip(start)
                    .take(max)
                    .cloned()
                    .collect();
                answer(
                    StatusCode::OK,
                    &json!({
                        "startAt": start,
                        "maxResults": max,
                        "total": issue.comments.len(),
                        "comments": page,
                    }),
                )
            }
            None => not_found(),
        },
        (r, "POST") if r == COMMENTS => comment(&mut world, &root, &key, &body),
        (r, "PUT") if r == ASSIGNEE => assign(&mut world, &key, &body),
        (r, "GET") if r == CHANGELOG => match world.issues.iter().find(|i| i.key == key) {
            Some(issue) => {
                let start = request
                    .query_param("startAt")
                    .and_then(|s| s.parse::<usize>().ok())
                    .unwrap_or(0);
                let max = request
                    .query_param("maxResults")
                    .and_then(|s| s.parse::<usize>().ok())
                    .unwrap_or(100)
                    .clamp(1, 100);
                let page: Vec<Value> = issue
                    .changelog
                    .iter()
                    .skip(start)
                    .take(max)
                    .cloned()
                    .collect();
                answer(
                    StatusCode::OK,
                    &json!({
                        "startAt": start,
                        "maxResults": max,
                        "total": issue.changelog.len(),
                        "isLast": start + max >= issue.changelog.len(),
                        "values": page,
                    }),
                )
            }
            None => not_found(),
        },
        (r, "GET") if r == USER_SEARCH => {
            let query = request
                .query_param("query")
                .map(|q| q.replace("%40", "@").to_lowercase())
                .unwrap_or_default();
            let found: Vec<Value> = world
                .users
                .iter()
                .filter(|u| {
                    !query.is_empty()
                        && (u["emailAddress"].as_str().unwrap_or("").to_lowercase() == query
                            || u["displayName"]
                                .as_str()
                                .unwrap_or("")
                                .to_lowercase()
                                .starts_with(&query))
                })
                .cloned()
                .collect();
            answer(StatusCode::OK, &json!(found))
        }
        (r, "POST") if r == SEARCH => search(&world, &root, &body),
        (r, "GET") if r == MYSELF => {
            answer(StatusCode::OK, world.users.get(1).unwrap_or(&Value::Null))
        }
        _ => errors(
            StatusCode::METHOD_NOT_ALLOWED,
            &["Method not allowed."],
            json!({}),
        ),
    }
}

fn create(world: &mut World, root: &str, body: &Value) -> Response {
    let fields = &body["fields"];
    let mut problems = serde_json::Map::new();
    if fields["project"]["key"].as_str() != Some(PROJECT) {
        problems.insert("project".into(), json!("valid project is required"));
    }
    let summary = fields["summary"].as_str().unwrap_or("");
    if summary.trim().is_empty() {
        problems.insert(
            "summary".into(),
            json!("You must specify a summary of the issue."),
        );
    }
    let issuetype = fields["issuetype"]["name"].as_str().unwrap_or("");
    if !["Task", "Epic", "Story", "Bug", "Subtask"].contains(&issuetype) {
        problems.insert("issuetype".into(), json!("valid issue type is required"));
    }
    let priority = fields["priority"]["name"].as_str().unwrap_or("Medium");
    if !PRIORITIES.contains(&priority) {
        problems.insert("priority".into(), json!("Specify a valid priority."));
    }
    if !fields["description"].is_null() && fields["description"]["type"] != "doc" {
        problems.insert(
            "description".into(),
            json!(
                "Operation value must be an Atlassian Document (see the Atlassian Document Format)"
            ),
        );
    }
    let parent = fields["parent"]["key"].as_str();
    if let Some(parent) = parent
        && !world.issues.iter().any(|i| i.key == parent)
    {
        problems.insert("parent".into(), json!("Could not find issue by id or key."));
    }
    let assignee = fields["assignee"]["accountId"].as_str();
    if let Some(account) = assignee
        && !world.users.iter().any(|u| u["accountId"] == account)
    {
        problems.insert("assignee".into(), json!("User does not exist."));
    }
    if !problems.is_empty() {
        return errors(StatusCode::BAD_REQUEST, &[], Value::Object(problems));
    }
    world.next_id += 1;
    let id = world.next_id.to_string();
    let key = format!("{PROJECT}-{}", world.issues.len() + 1);
    let created = now();
    let assignee = assignee.and_then(|a| world.users.iter().find(|u| u["accountId"] == a).cloned());
    let stored = json!({
        "summary": summary,
        "description": fields["description"],
        "issuetype": {"name": issuetype, "subtask": false},
        "project": {"key": PROJECT},
        "status": status_json("To Do"),
        "priority": {"name": priority},
        "labels": fields["labels"].as_array().cloned().unwrap_or_default(),
        "assignee": assignee.unwrap_or(Value::Null),
        "created": created,
        "updated": created,
        "duedate": fields["duedate"],
        "parent": parent.map(|p| json!({"key": p})).unwrap_or(Value::Null),
    });
    world.issues.push(Issue {
        id: id.clone(),
        key: key.clone(),
        fields: stored,
        comments: Vec::new(),
        changelog: Vec::new(),
    });
    answer(
        StatusCode::CREATED,
        &json!({"id": id, "key": key, "self": format!("{root}/rest/api/3/issue/{id}")}),
    )
}

fn log_change(issue: &mut Issue, field: &str, from: &Value, to: &Value, id: u64) {
    let text = |v: &Value| match v {
        Value::Null => Value::Null,
        Value::String(s) => json!(s),
        other => json!(
            other
                .get("displayName")
                .or_else(|| other.get("name"))
                .cloned()
                .unwrap_or(Value::Null)
        ),
    };
    let raw = |v: &Value| {
        v.get("accountId")
            .or_else(|| v.get("id"))
            .cloned()
            .unwrap_or(Value::Null)
    };
    let when = now();
    issue.changelog.push(json!({
        "id": id.to_string(),
        "author": {"accountId": "712020:bot", "displayName": "aido bot"},
        "created": when,
        "items": [{
            "field": field,
            "fieldtype": "jira",
            "from": raw(from),
            "fromString": text(from),
            "to": raw(to),
            "toString": text(to),
        }],
    }));
    issue.fields["updated"] = json!(when);
}

fn transition(world: &mut World, key: &str, body: &Value) -> Response {
    world.next_id += 1;
    let change_id = world.next_id;
    let Some(issue) = world.issues.iter_mut().find(|i| i.key == key) else {
        return not_found();
    };
    let id = body["transition"]["id"].as_str().unwrap_or("");
    let target = STATUSES
        .iter()
        .enumerate()
        .find(|(i, _)| format!("{}", (i + 1) * 10 + 1) == id)
        .map(|(_, (name, _, _))| *name);
    let Some(target) = target else {
        return errors(
            StatusCode::BAD_REQUEST,
            &["Transition id is not valid for this issue."],
            json!({}),
        );
    };
    let from = issue.fields["status"].clone();
    if from["name"] == target {
        return errors(
            StatusCode::BAD_REQUEST,
            &["Transition id is not valid for this issue."],
            json!({}),
        );
    }
    let to = status_json(target);
    issue.fields["status"] = to.clone();
    log_change(issue, "status", &from, &to, change_id);
    no_content()
}

fn comment(world: &mut World, root: &str, key: &str, body: &Value) -> Response {
    world.next_id += 1;
    let id = world.next_id.to_string();
    let Some(issue) = world.issues.iter_mut().find(|i| i.key == key) else {
        return not_found();
    };
    if body["body"]["type"] != "doc" {
        return errors(
            StatusCode::BAD_REQUEST,
            &[],
            json!({"comment": "Comment body can not be empty!"}),
        );
    }
    let when = now();
    let stored = json!({
        "id": id,
        "self": format!("{root}/rest/api/3/issue/{}/comment/{id}", issue.id),
        "author": {"accountId": "712020:bot", "displayName": "aido bot"},
        "body": body["body"],
        "created": when,
        "updated": when,
    });
    issue.comments.push(stored.clone());
    answer(StatusCode::CREATED, &stored)
}

fn assign(world: &mut World, key: &str, body: &Value) -> Response {
    let account = body["accountId"].as_str().map(str::to_owned);
    let user = match &account {
        Some(account) => match world
            .users
            .iter()
            .find(|u| u["accountId"] == account.as_str())
        {
            Some(user) => user.clone(),
            None => {
                return errors(
                    StatusCode::BAD_REQUEST,
                    &[],
                    json!({"assignee": "User does not exist."}),
                );
            }
        },
        None => Value::Null,
    };
    world.next_id += 1;
    let change_id = world.next_id;
    let Some(issue) = world.issues.iter_mut().find(|i| i.key == key) else {
        return not_found();
    };
    let from = issue.fields["assignee"].clone();
    issue.fields["assignee"] = user.clone();
    log_change(issue, "assignee", &from, &user, change_id);
    no_content()
}

/// One JQL clause: `field = "value"`.
fn matches(issue: &Issue, field: &str, value: &str) -> Option<bool> {
    let fields = &issue.fields;
    Some(match field {
        "project" => value == PROJECT,
        "key" | "issuekey" => issue.key == value,
        "status" => fields["status"]["name"].as_str() == Some(value),
        "assignee" => fields["assignee"]["accountId"].as_str() == Some(value),
        "labels" => fields["labels"]
            .as_array()
            .is_some_and(|labels| labels.iter().any(|l| l == value)),
        "parent" => fields["parent"]["key"].as_str() == Some(value),
        "issuetype" | "type" => fields["issuetype"]["name"].as_str() == Some(value),
        _ => return None,
    })
}

fn search(world: &World, root: &str, body: &Value) -> Response {
    let jql = body["jql"].as_str().unwrap_or("");
    let condition = match jql.to_lowercase().find("order by") {
        Some(at) => &jql[..at],
        None => jql,
    };
    let mut clauses = Vec::new();
    for clause in condition
        .split(" AND ")
        .map(str::trim)
        .filter(|c| !c.is_empty())
    {
        let Some((field, value)) = clause.split_once('=') else {
            return errors(
                StatusCode::BAD_REQUEST,
                &["Error in the JQL Query: expecting an operator."],
                json!({}),
            );
        };
        let value = value.trim().trim_matches('"').replace("\\\"", "\"");
        clauses.push((field.trim().to_lowercase(), value));
    }
    let mut found = Vec::new();
    for issue in &world.issues {
        let mut all = true;
        for (field, value) in &clauses {
            match matches(issue, field, value) {
                Some(true) => {}
                Some(false) => all = false,
                None => {
                    return errors(
                        StatusCode::BAD_REQUEST,
                        &[&format!(
                            "Field '{field}' does not exist or you do not have permission to view it."
                        )],
                        json!({}),
                    );
                }
            }
        }
        if all {
            found.push(issue);
        }
    }
    let max = body["maxResults"].as_u64().unwrap_or(50).clamp(1, 5000) as usize;
    let start = match body["nextPageToken"].as_str() {
        None => 0,
        Some(token) => match token.strip_prefix("page-").and_then(|n| n.parse().ok()) {
            Some(start) => start,
            None => {
                return errors(
                    StatusCode::BAD_REQUEST,
                    &["The provided next page token is invalid or expired."],
                    json!({}),
                );
            }
        },
    };
    let issues: Vec<Value> = found
        .iter()
        .skip(start)
        .take(max)
        .map(|i| issue_json(i, root, false))
        .collect();
    let is_last = start + max >= found.len();
    let mut out = json!({"issues": issues, "isLast": is_last});
    if !is_last {
        out["nextPageToken"] = json!(format!("page-{}", start + max));
    }
    answer(StatusCode::OK, &out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jira_base64_decodes_basic_credentials() {
        assert_eq!(base64_decode("YTpi").unwrap(), b"a:b");
        assert_eq!(base64_decode("YWI6Yw==").unwrap(), b"ab:c");
        assert!(base64_decode("*").is_none());
    }

    #[tokio::test]
    async fn jira_creates_and_finds_issues_with_jql_pages() {
        let emu = JiraEmulator::start().await.unwrap();
        let client = reqwest::Client::new();
        for n in 0..3 {
            let response = client
                .post(format!("{}{CREATE}", emu.base_url()))
                .basic_auth(emu.email(), Some(emu.api_token()))
                .json(&json!({"fields": {
                    "project": {"key": PROJECT},
                    "summary": format!("task {n}"),
                    "issuetype": {"name": "Task"}
                }}))
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), 201);
        }
        let page: Value = client
            .post(format!("{}{SEARCH}", emu.base_url()))
            .basic_auth(emu.email(), Some(emu.api_token()))
            .json(&json!({"jql": "project = \"PROJ\" ORDER BY created ASC", "maxResults": 2}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(page["issues"].as_array().unwrap().len(), 2);
        assert_eq!(page["isLast"], false);
        assert!(page["nextPageToken"].is_string());
        let response = client
            .get(format!("{}/rest/api/3/issue/PROJ-1", emu.base_url()))
            .basic_auth(emu.email(), Some("wrong"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 401);
    }
}
