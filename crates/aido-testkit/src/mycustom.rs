//! An emulator of the **MyCustom Tasks API**, a small REST task tracker we
//! invented as the service of the `mycustom` example plugin
//! (`sdk/python/examples/mycustom`). There is no real service behind it:
//! this comment is the API's reference.
//!
//! # Conventions
//!
//! - Every route is under `/api/v1`; bodies are JSON (`application/json`),
//!   times are RFC 3339 in UTC (`2024-01-15T10:30:00Z`).
//! - Authentication: `Authorization: Bearer <api key>` on every route but
//!   `GET /api/v1/health`. A missing or wrong key is `401` with
//!   `WWW-Authenticate: Bearer`. Every request made with the key acts as
//!   the key's owner, the user `aido bot` (`bot@example.com`).
//! - Errors always have the same body:
//!   `{"error": {"code": "...", "message": "..."}}`, plus `"field"` when
//!   one input field is at fault. Codes: `bad_request` (400: the body is
//!   not a JSON object, a cursor is not one we gave), `unauthorized` (401),
//!   `not_found` (404: no such task, project or route),
//!   `method_not_allowed` (405), `conflict` (409: the project exists),
//!   `validation_failed` (422: a field has a wrong type or value, or is
//!   unknown: bodies reject fields they do not define), `rate_limited`
//!   (429, with `Retry-After` in seconds) and `internal` (500).
//! - Lists answer `{"data": [...], "next_cursor": "..." | null}`, oldest
//!   first. Pass `next_cursor` back as `cursor` for the next page; `limit`
//!   is 1 to 100 (default 50). Task lists also take page numbers:
//!   `page` (from 1) and `per_page` (1 to 100), answered with `page`,
//!   `per_page` and `total` added.
//!
//! # Resources
//!
//! A **user** is `{id, name, email}`. A **project** is
//! `{key, name, created_at}`; its key (2 to 10 upper-case letters or
//! digits, starting with a letter) prefixes its tasks' ids. A **task** is
//!
//! ```json
//! {"id": "DEMO-1", "project": "DEMO", "type": "task", "title": "...",
//!  "description": "...", "status": "new", "priority": "normal",
//!  "assignee": {"id": "u_2", "name": "Alice Example", "email": "alice@example.com"},
//!  "labels": ["backend"], "due_date": "2024-02-01", "epic_id": "DEMO-3",
//!  "story_points": 3, "url": "http://.../tasks/DEMO-1",
//!  "created_at": "...", "updated_at": "..."}
//! ```
//!
//! `type` is `task` or `epic`: **an epic is a task of type `epic`**, and a
//! task's `epic_id` names an epic of the same project. `status` is one of
//! `new`, `active`, `review`, `closed` ([`STATUSES`]); `priority` one of
//! `low`, `normal`, `high`, `urgent` ([`PRIORITIES`]). `assignee`,
//! `due_date` (`YYYY-MM-DD` or a full RFC 3339 time), `epic_id` and
//! `story_points` (a number, 0 or more) may be `null`.
//!
//! A **comment** is `{id, task_id, author: user, body, created_at}`. A
//! **history event** is `{id, type, at, actor: user, ...}` with `type`
//! `created`; `status_changed` (`from`, `to`: statuses); `assigned`
//! (`from`, `to`: emails or `null`); `commented` (`comment_id`); or
//! `field_changed` (`field`, `from`, `to`: the values as text or `null`).
//!
//! # Routes
//!
//! | route | answer |
//! |---|---|
//! | `GET /api/v1/health` | `{"status": "ok", "service": "mycustom", "api_version": "1"}`, no key needed |
//! | `GET /api/v1/users/me` | the key's owner |
//! | `GET /api/v1/users?email=` | `{"data": [users]}`, the email matched without case |
//! | `GET /api/v1/projects` | `{"data": [projects]}` |
//! | `POST /api/v1/projects` `{key, name}` | 201 the project; 409 when the key is taken |
//! | `GET /api/v1/projects/{key}` | the project |
//! | `GET /api/v1/projects/{key}/tasks` | a list of tasks; filters `status`, `priority`, `type`, `assignee_id`, `epic_id`, `label` (repeatable: all of them) |
//! | `POST /api/v1/projects/{key}/tasks` | 201 the task; body: `title` (required), `type`, `description`, `status` (default `new`), `priority` (default `normal`), `assignee_id`, `labels`, `due_date`, `epic_id`, `story_points` |
//! | `GET /api/v1/tasks/{id}` | the task |
//! | `PATCH /api/v1/tasks/{id}` | the task, after changing the fields given (the create fields but `type`; `null` clears); all or nothing |
//! | `GET /api/v1/tasks/{id}/comments` | a list of comments |
//! | `POST /api/v1/tasks/{id}/comments` `{body}` | 201 the comment |
//! | `GET /api/v1/tasks/{id}/history` | a list of history events |
//!
//! A fresh emulator holds the project `DEMO` ([`PROJECT`]) and the users
//! `aido bot` (the key's owner), Alice (`alice@example.com`, [`ALICE`]) and
//! Bob (`bob@example.com`). Faults are queued per route constant, such as
//! [`TASK`]; [`rate_limited`] and [`internal_error`] build the service's
//! own error answers. Tests read the state back with
//! [`MyCustomEmulator::task`], [`MyCustomEmulator::comments`] and
//! [`MyCustomEmulator::history`].

use std::io;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderValue, StatusCode, Uri};
use axum::response::Response;
use serde_json::{Map, Value, json};

use crate::faults::{Fault, admit, plain};
use crate::incoming::Incoming;
use crate::options::EmulatorOptions;
use crate::recorder::{RecordedRequest, Recorder, lock};
use crate::server::{Connection, Server};
use crate::synth;

/// The route of the health check.
pub const HEALTH: &str = "/api/v1/health";
/// The route of the key owner's user.
pub const ME: &str = "/api/v1/users/me";
/// The route of user lookup.
pub const USERS: &str = "/api/v1/users";
/// The route of the project list and project creation.
pub const PROJECTS: &str = "/api/v1/projects";
/// The route of one project.
pub const PROJECT_ROUTE: &str = "/api/v1/projects/{key}";
/// The route of a project's tasks (list and create).
pub const PROJECT_TASKS: &str = "/api/v1/projects/{key}/tasks";
/// The route of one task (get and update).
pub const TASK: &str = "/api/v1/tasks/{id}";
/// The route of a task's comments (list and add).
pub const COMMENTS: &str = "/api/v1/tasks/{id}/comments";
/// The route of a task's history.
pub const HISTORY: &str = "/api/v1/tasks/{id}/history";
/// Any other path (answered 404).
pub const UNKNOWN: &str = "unknown";

/// The seeded project's key.
pub const PROJECT: &str = "DEMO";
/// The seeded user Alice's email.
pub const ALICE: &str = "alice@example.com";
/// The service's statuses, in workflow order.
pub const STATUSES: [&str; 4] = ["new", "active", "review", "closed"];
/// The service's priorities, lowest first.
pub const PRIORITIES: [&str; 4] = ["low", "normal", "high", "urgent"];

/// The id of the key's owner.
const BOT: &str = "u_1";
/// The page size when `limit` is absent.
const DEFAULT_LIMIT: usize = 50;
/// The largest page.
const MAX_LIMIT: usize = 100;
/// The highest page number a list takes.
const MAX_PAGE_NUMBER: usize = 1_000_000;
/// The longest title and label.
const MAX_TITLE: usize = 500;
/// The longest description or comment body.
const MAX_TEXT: usize = 65_536;

/// A 429 with `Retry-After`, as the service rate-limits.
pub fn rate_limited(retry_after: Duration) -> Fault {
    Fault::json(
        429,
        &error_body("rate_limited", "Too many requests; slow down.", None),
    )
    .with_header("retry-after", &retry_after.as_secs().max(1).to_string())
}

/// A 500 with the service's error body.
pub fn internal_error() -> Fault {
    Fault::json(
        500,
        &error_body("internal", "Something went wrong on our side.", None),
    )
}

/// A running MyCustom Tasks API emulator. Stops when dropped.
#[derive(Debug)]
pub struct MyCustomEmulator {
    server: Server,
    state: Arc<MyCustomState>,
}

#[derive(Debug)]
struct MyCustomState {
    recorder: Recorder,
    api_key: String,
    root: Mutex<String>,
    world: Mutex<World>,
}

#[derive(Debug, Default)]
struct World {
    users: Vec<User>,
    projects: Vec<Project>,
    tasks: Vec<Task>,
    next_id: u64,
}

#[derive(Debug, Clone)]
struct User {
    id: String,
    name: String,
    email: String,
}

#[derive(Debug, Clone)]
struct Project {
    key: String,
    name: String,
    created_at: String,
    next_number: u64,
}

#[derive(Debug, Clone)]
struct Task {
    id: String,
    project: String,
    kind: String,
    fields: Fields,
    created_at: String,
    updated_at: String,
    comments: Vec<Value>,
    history: Vec<Value>,
}

/// The fields of a task a client may set.
#[derive(Debug, Clone, PartialEq)]
struct Fields {
    title: String,
    description: String,
    status: String,
    priority: String,
    assignee_id: Option<String>,
    labels: Vec<String>,
    due_date: Option<String>,
    epic_id: Option<String>,
    story_points: Option<f64>,
}

impl MyCustomEmulator {
    /// Starts on a free loopback port with a generated API key.
    pub async fn start() -> io::Result<Self> {
        MyCustomEmulator::start_with(EmulatorOptions::default()).await
    }

    /// Starts as `options` say (the service always requires a key).
    pub async fn start_with(options: EmulatorOptions) -> io::Result<Self> {
        let api_key = options
            .resolve_key("mc_", false)
            .unwrap_or_else(|| synth::api_key("mc_"));
        let created = now();
        let world = World {
            users: vec![
                user(BOT, "aido bot", "bot@example.com"),
                user("u_2", "Alice Example", ALICE),
                user("u_3", "Bob Example", "bob@example.com"),
            ],
            projects: vec![Project {
                key: PROJECT.to_owned(),
                name: "Demo project".to_owned(),
                created_at: created,
                next_number: 1,
            }],
            tasks: Vec::new(),
            next_id: 1,
        };
        let state = Arc::new(MyCustomState {
            recorder: Recorder::default(),
            api_key,
            root: Mutex::new(String::new()),
            world: Mutex::new(world),
        });
        // One handler for every path: it names the route itself, so an
        // unknown path or method still gets the service's JSON error.
        let router = Router::new()
            .fallback(handle)
            .with_state(Arc::clone(&state));
        let server = Server::start(options.addr, router).await?;
        *lock(&state.root) = server.root_url();
        Ok(MyCustomEmulator { server, state })
    }

    /// The service's URL (`http://127.0.0.1:<port>`, the routes are under
    /// `/api/v1`), for the plugin's `base_url`.
    pub fn base_url(&self) -> String {
        self.server.root_url()
    }

    /// The API key it accepts.
    pub fn api_key(&self) -> &str {
        &self.state.api_key
    }

    /// Every request received so far, oldest first.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.state.recorder.requests()
    }

    /// Queues a fault for the next request to `route` (such as [`TASK`]).
    pub fn push_fault(&self, route: &str, fault: Fault) {
        self.state.recorder.push_fault(route, fault);
    }

    /// Queues the same fault for the next `count` requests to `route`.
    pub fn push_faults(&self, route: &str, fault: Fault, count: usize) {
        for _ in 0..count {
            self.push_fault(route, fault.clone());
        }
    }

    /// Forgets requests and faults (the data stays).
    pub fn reset(&self) {
        self.state.recorder.reset();
    }

    /// A task (or epic) as `GET /api/v1/tasks/{id}` shows it.
    pub fn task(&self, id: &str) -> Option<Value> {
        let root = lock(&self.state.root).clone();
        let world = lock(&self.state.world);
        world.task(id).map(|task| world.task_json(task, &root))
    }

    /// Every task and epic, oldest first.
    pub fn tasks(&self) -> Vec<Value> {
        let root = lock(&self.state.root).clone();
        let world = lock(&self.state.world);
        world
            .tasks
            .iter()
            .map(|task| world.task_json(task, &root))
            .collect()
    }

    /// How many tasks and epics exist.
    pub fn task_count(&self) -> usize {
        lock(&self.state.world).tasks.len()
    }

    /// A task's comments, oldest first (none for an unknown task).
    pub fn comments(&self, id: &str) -> Vec<Value> {
        lock(&self.state.world)
            .task(id)
            .map(|task| task.comments.clone())
            .unwrap_or_default()
    }

    /// A task's history, oldest first (none for an unknown task).
    pub fn history(&self, id: &str) -> Vec<Value> {
        lock(&self.state.world)
            .task(id)
            .map(|task| task.history.clone())
            .unwrap_or_default()
    }

    /// Adds a user; returns its id.
    pub fn add_user(&self, name: &str, email: &str) -> String {
        let mut world = lock(&self.state.world);
        let id = format!("u_{}", world.users.len() + 1);
        world.users.push(user(&id, name, email));
        id
    }

    /// Adds a project (nothing happens when the key exists).
    pub fn add_project(&self, key: &str, name: &str) {
        let mut world = lock(&self.state.world);
        if world.project(key).is_none() {
            world.projects.push(Project {
                key: key.to_owned(),
                name: name.to_owned(),
                created_at: now(),
                next_number: 1,
            });
        }
    }
}

fn user(id: &str, name: &str, email: &str) -> User {
    User {
        id: id.to_owned(),
        name: name.to_owned(),
        email: email.to_owned(),
    }
}

fn user_json(user: &User) -> Value {
    json!({"id": user.id, "name": user.name, "email": user.email})
}

fn project_json(project: &Project) -> Value {
    json!({"key": project.key, "name": project.name, "created_at": project.created_at})
}

/// Now, in RFC 3339 UTC with seconds.
fn now() -> String {
    let secs = synth::unix_seconds();
    let days = (secs / 86_400) as i64;
    let (hour, minute, second) = ((secs / 3600) % 24, (secs / 60) % 60, secs % 60);
    // Howard Hinnant's civil-from-days algorithm.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}T{hour:02}:{minute:02}:{second:02}Z")
}

// ----- errors -----

fn error_body(code: &str, message: &str, field: Option<&str>) -> Value {
    let mut error = json!({"code": code, "message": message});
    if let Some(field) = field {
        error["field"] = json!(field);
    }
    json!({ "error": error })
}

/// A failed request: its status and the service's error body.
#[derive(Debug)]
struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
    field: Option<String>,
}

impl ApiError {
    fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            message: message.into(),
            field: None,
        }
    }

    fn bad_request(message: impl Into<String>) -> Self {
        ApiError::new(StatusCode::BAD_REQUEST, "bad_request", message)
    }

    fn not_found(message: impl Into<String>) -> Self {
        ApiError::new(StatusCode::NOT_FOUND, "not_found", message)
    }

    fn invalid(field: &str, message: impl Into<String>) -> Self {
        ApiError {
            field: Some(field.to_owned()),
            ..ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "validation_failed",
                message,
            )
        }
    }

    fn respond(self) -> Response {
        answer(
            self.status,
            &error_body(self.code, &self.message, self.field.as_deref()),
        )
    }
}

fn answer(status: StatusCode, body: &Value) -> Response {
    plain(status, &body.to_string(), "application/json")
}

fn unauthorized(message: &str) -> Response {
    let mut response = ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", message).respond();
    response.headers_mut().insert(
        axum::http::header::WWW_AUTHENTICATE,
        HeaderValue::from_static("Bearer"),
    );
    response
}

/// What a route handler returns: a status and a JSON body, or an error.
type Reply = Result<(StatusCode, Value), ApiError>;

// ----- requests -----

/// Decodes `%XX` escapes and `+` (a space, in a query string).
fn percent_decode(text: &str, plus_is_space: bool) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => match (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                (Some(high), Some(low)) => {
                    out.push((high * 16 + low) as u8);
                    i += 3;
                    continue;
                }
                _ => out.push(b'%'),
            },
            b'+' if plus_is_space => out.push(b' '),
            other => out.push(other),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The query string's pairs, decoded, in order.
fn query_pairs(uri: &Uri) -> Vec<(String, String)> {
    uri.query()
        .unwrap_or("")
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            (percent_decode(key, true), percent_decode(value, true))
        })
        .collect()
}

/// One query parameter's first value.
fn param<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(key, _)| key == name)
        .map(|(_, value)| value.as_str())
}

/// A numeric query parameter within `1..=max`, or its default.
fn number_param(
    pairs: &[(String, String)],
    name: &str,
    default: usize,
    max: usize,
) -> Result<usize, ApiError> {
    match param(pairs, name) {
        None => Ok(default),
        Some(text) => match text.parse::<usize>() {
            Ok(n) if (1..=max).contains(&n) => Ok(n),
            _ => Err(ApiError::invalid(
                name,
                format!("`{name}` must be a number from 1 to {max}"),
            )),
        },
    }
}

/// One page of `items`, by cursor or, for task lists, by page number.
fn paginate(
    items: Vec<Value>,
    pairs: &[(String, String)],
    pages_allowed: bool,
) -> Result<Value, ApiError> {
    let total = items.len();
    if pages_allowed && param(pairs, "page").is_some() {
        let page = number_param(pairs, "page", 1, MAX_PAGE_NUMBER)?;
        let per_page = number_param(pairs, "per_page", DEFAULT_LIMIT, MAX_LIMIT)?;
        let start = (page - 1).saturating_mul(per_page);
        let data: Vec<Value> = items.into_iter().skip(start).take(per_page).collect();
        let next = (start.saturating_add(per_page) < total).then(|| cursor(start + per_page));
        return Ok(json!({
            "data": data,
            "next_cursor": next,
            "page": page,
            "per_page": per_page,
            "total": total,
        }));
    }
    let limit = number_param(pairs, "limit", DEFAULT_LIMIT, MAX_LIMIT)?;
    let start = match param(pairs, "cursor") {
        None | Some("") => 0,
        Some(token) => token
            .strip_prefix("cur_")
            .and_then(|n| n.parse::<usize>().ok())
            .filter(|n| *n <= total)
            .ok_or_else(|| ApiError::bad_request("`cursor` is not one this API gave out"))?,
    };
    let data: Vec<Value> = items.into_iter().skip(start).take(limit).collect();
    let next = (start + limit < total).then(|| cursor(start + limit));
    Ok(json!({"data": data, "next_cursor": next}))
}

fn cursor(offset: usize) -> String {
    format!("cur_{offset}")
}

/// Which route a path is, and its parameter (a project key or task id).
fn route_of(path: &str) -> (&'static str, String) {
    let Some(rest) = path.strip_prefix("/api/v1/") else {
        return (UNKNOWN, String::new());
    };
    let segments: Vec<&str> = rest.trim_end_matches('/').split('/').collect();
    let decoded = |s: &str| percent_decode(s, false);
    match segments.as_slice() {
        ["health"] => (HEALTH, String::new()),
        ["users", "me"] => (ME, String::new()),
        ["users"] => (USERS, String::new()),
        ["projects"] => (PROJECTS, String::new()),
        ["projects", key] => (PROJECT_ROUTE, decoded(key)),
        ["projects", key, "tasks"] => (PROJECT_TASKS, decoded(key)),
        ["tasks", id] => (TASK, decoded(id)),
        ["tasks", id, "comments"] => (COMMENTS, decoded(id)),
        ["tasks", id, "history"] => (HISTORY, decoded(id)),
        _ => (UNKNOWN, String::new()),
    }
}

async fn handle(
    State(state): State<Arc<MyCustomState>>,
    ConnectInfo(connection): ConnectInfo<Connection>,
    request: Incoming,
) -> Response {
    let (route, id) = route_of(request.uri.path());
    if let Some(answer) = admit(&state.recorder, route, &connection, &request).await {
        return answer;
    }
    if route == UNKNOWN {
        return ApiError::not_found(format!("no route {}", request.uri.path())).respond();
    }
    if route != HEALTH {
        match request.header("authorization") {
            None => return unauthorized("Missing API key: send `Authorization: Bearer <key>`."),
            Some(value) => {
                let key = value.strip_prefix("Bearer ").map(str::trim);
                if key != Some(state.api_key.as_str()) {
                    return unauthorized("Invalid API key.");
                }
            }
        }
    }
    let method = request.method.as_str();
    let body = match method {
        "POST" | "PATCH" | "PUT" => match body_object(&request.body) {
            Ok(body) => body,
            Err(err) => return err.respond(),
        },
        _ => Map::new(),
    };
    let pairs = query_pairs(&request.uri);
    let root = lock(&state.root).clone();
    let mut world = lock(&state.world);
    let reply = match (route, method) {
        (HEALTH, "GET") => Ok((
            StatusCode::OK,
            json!({"status": "ok", "service": "mycustom", "api_version": "1"}),
        )),
        (ME, "GET") => Ok((StatusCode::OK, world.user_value(BOT))),
        (USERS, "GET") => Ok((StatusCode::OK, world.find_users(param(&pairs, "email")))),
        (PROJECTS, "GET") => {
            let data: Vec<Value> = world.projects.iter().map(project_json).collect();
            Ok((StatusCode::OK, json!({"data": data, "next_cursor": null})))
        }
        (PROJECTS, "POST") => world.create_project(&body),
        (PROJECT_ROUTE, "GET") => world
            .project(&id)
            .map(|p| (StatusCode::OK, project_json(p)))
            .ok_or_else(|| no_project(&id)),
        (PROJECT_TASKS, "GET") => world.list_tasks(&id, &pairs, &root),
        (PROJECT_TASKS, "POST") => world.create_task(&id, &body, &root),
        (TASK, "GET") => world
            .task(&id)
            .map(|task| (StatusCode::OK, world.task_json(task, &root)))
            .ok_or_else(|| no_task(&id)),
        (TASK, "PATCH") => world.update_task(&id, &body, &root),
        (COMMENTS, "GET") => world
            .task(&id)
            .ok_or_else(|| no_task(&id))
            .and_then(|task| {
                paginate(task.comments.clone(), &pairs, false).map(|page| (StatusCode::OK, page))
            }),
        (COMMENTS, "POST") => world.add_comment(&id, &body),
        (HISTORY, "GET") => world
            .task(&id)
            .ok_or_else(|| no_task(&id))
            .and_then(|task| {
                paginate(task.history.clone(), &pairs, false).map(|page| (StatusCode::OK, page))
            }),
        _ => Err(ApiError::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            format!("{method} is not allowed on {}", request.uri.path()),
        )),
    };
    match reply {
        Ok((status, body)) => answer(status, &body),
        Err(err) => err.respond(),
    }
}

fn body_object(body: &[u8]) -> Result<Map<String, Value>, ApiError> {
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(ApiError::bad_request("The body must be a JSON object.")),
        Err(err) => Err(ApiError::bad_request(format!(
            "The body is not valid JSON: {err}."
        ))),
    }
}

fn no_task(id: &str) -> ApiError {
    ApiError::not_found(format!("No task {id}."))
}

fn no_project(key: &str) -> ApiError {
    ApiError::not_found(format!("No project {key}."))
}

/// Rejects fields of `body` not in `allowed`.
fn only_fields(body: &Map<String, Value>, allowed: &[&str]) -> Result<(), ApiError> {
    match body.keys().find(|key| !allowed.contains(&key.as_str())) {
        Some(key) => Err(ApiError::invalid(
            key,
            format!("Unknown field `{key}`; allowed: {}.", allowed.join(", ")),
        )),
        None => Ok(()),
    }
}

/// A string field of at most `max` characters; `None` when absent.
fn text_field(
    body: &Map<String, Value>,
    name: &str,
    max: usize,
    nonempty: bool,
) -> Result<Option<String>, ApiError> {
    match body.get(name) {
        None => Ok(None),
        Some(Value::String(text)) if text.chars().count() > max => Err(ApiError::invalid(
            name,
            format!("`{name}` is longer than {max} characters."),
        )),
        Some(Value::String(text)) if nonempty && text.trim().is_empty() => Err(ApiError::invalid(
            name,
            format!("`{name}` must not be empty."),
        )),
        Some(Value::String(text)) => Ok(Some(text.clone())),
        Some(_) => Err(ApiError::invalid(
            name,
            format!("`{name}` must be a string."),
        )),
    }
}

/// A field that is one of `choices`; `None` when absent.
fn choice_field(
    body: &Map<String, Value>,
    name: &str,
    choices: &[&str],
) -> Result<Option<String>, ApiError> {
    match body.get(name) {
        None => Ok(None),
        Some(Value::String(value)) if choices.contains(&value.as_str()) => Ok(Some(value.clone())),
        Some(_) => Err(ApiError::invalid(
            name,
            format!("`{name}` must be one of {}.", choices.join(", ")),
        )),
    }
}

/// A nullable field: absent (`None`), `null` (`Some(None)`) or a value.
fn nullable<'a>(body: &'a Map<String, Value>, name: &str) -> Option<Option<&'a Value>> {
    body.get(name)
        .map(|value| if value.is_null() { None } else { Some(value) })
}

/// `YYYY-MM-DD`, optionally followed by a time.
fn looks_like_date(text: &str) -> bool {
    let bytes = text.as_bytes();
    bytes.len() >= 10
        && bytes[..10].iter().enumerate().all(|(i, b)| match i {
            4 | 7 => *b == b'-',
            _ => b.is_ascii_digit(),
        })
        && (bytes.len() == 10 || bytes[10] == b'T')
}

fn valid_project_key(key: &str) -> bool {
    (2..=10).contains(&key.len())
        && key.starts_with(|c: char| c.is_ascii_uppercase())
        && key
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
}

// ----- the model -----

/// The task body fields, for create (`type` too) and update.
const TASK_FIELDS: [&str; 9] = [
    "title",
    "description",
    "status",
    "priority",
    "assignee_id",
    "labels",
    "due_date",
    "epic_id",
    "story_points",
];

impl World {
    fn task(&self, id: &str) -> Option<&Task> {
        self.tasks.iter().find(|task| task.id == id)
    }

    fn project(&self, key: &str) -> Option<&Project> {
        self.projects.iter().find(|project| project.key == key)
    }

    fn user(&self, id: &str) -> Option<&User> {
        self.users.iter().find(|user| user.id == id)
    }

    fn user_value(&self, id: &str) -> Value {
        self.user(id).map(user_json).unwrap_or(Value::Null)
    }

    fn find_users(&self, email: Option<&str>) -> Value {
        let data: Vec<Value> = self
            .users
            .iter()
            .filter(|user| email.is_none_or(|email| user.email.eq_ignore_ascii_case(email)))
            .map(user_json)
            .collect();
        json!({"data": data, "next_cursor": null})
    }

    fn next_id(&mut self, prefix: &str) -> String {
        let id = format!("{prefix}{}", self.next_id);
        self.next_id += 1;
        id
    }

    fn task_json(&self, task: &Task, root: &str) -> Value {
        let fields = &task.fields;
        json!({
            "id": task.id,
            "project": task.project,
            "type": task.kind,
            "title": fields.title,
            "description": fields.description,
            "status": fields.status,
            "priority": fields.priority,
            "assignee": fields.assignee_id.as_deref().map(|id| self.user_value(id)),
            "labels": fields.labels,
            "due_date": fields.due_date,
            "epic_id": fields.epic_id,
            "story_points": fields.story_points,
            "url": format!("{root}/tasks/{}", task.id),
            "created_at": task.created_at,
            "updated_at": task.updated_at,
        })
    }

    fn create_project(&mut self, body: &Map<String, Value>) -> Reply {
        only_fields(body, &["key", "name"])?;
        let key = text_field(body, "key", 10, true)?
            .ok_or_else(|| ApiError::invalid("key", "`key` is required."))?;
        if !valid_project_key(&key) {
            return Err(ApiError::invalid(
                "key",
                "`key` must be 2 to 10 upper-case letters or digits, starting with a letter.",
            ));
        }
        let name = text_field(body, "name", MAX_TITLE, true)?.unwrap_or_else(|| key.clone());
        if self.project(&key).is_some() {
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                "conflict",
                format!("A project {key} exists."),
            ));
        }
        let project = Project {
            key,
            name,
            created_at: now(),
            next_number: 1,
        };
        let value = project_json(&project);
        self.projects.push(project);
        Ok((StatusCode::CREATED, value))
    }

    /// The fields of `body` applied over `base`, every one checked; `kind`
    /// and `project` are the task's own, for checking `epic_id`.
    fn checked_fields(
        &self,
        base: &Fields,
        body: &Map<String, Value>,
        kind: &str,
        project: &str,
        own_id: Option<&str>,
    ) -> Result<Fields, ApiError> {
        let mut fields = base.clone();
        if let Some(title) = text_field(body, "title", MAX_TITLE, true)? {
            fields.title = title;
        }
        if let Some(description) = text_field(body, "description", MAX_TEXT, false)? {
            fields.description = description;
        }
        if let Some(status) = choice_field(body, "status", &STATUSES)? {
            fields.status = status;
        }
        if let Some(priority) = choice_field(body, "priority", &PRIORITIES)? {
            fields.priority = priority;
        }
        match nullable(body, "assignee_id") {
            None => {}
            Some(None) => fields.assignee_id = None,
            Some(Some(Value::String(id))) if self.user(id).is_some() => {
                fields.assignee_id = Some(id.clone());
            }
            Some(Some(_)) => {
                return Err(ApiError::invalid(
                    "assignee_id",
                    "`assignee_id` must be the id of a user (look users up with GET /api/v1/users?email=).",
                ));
            }
        }
        match nullable(body, "labels") {
            None => {}
            Some(None) => fields.labels.clear(),
            Some(Some(Value::Array(items))) => {
                let mut labels = Vec::new();
                for item in items {
                    match item.as_str() {
                        Some(label) if !label.trim().is_empty() && label.chars().count() <= 100 => {
                            if !labels.iter().any(|l| l == label) {
                                labels.push(label.to_owned());
                            }
                        }
                        _ => {
                            return Err(ApiError::invalid(
                                "labels",
                                "`labels` must be strings of 1 to 100 characters.",
                            ));
                        }
                    }
                }
                fields.labels = labels;
            }
            Some(Some(_)) => {
                return Err(ApiError::invalid(
                    "labels",
                    "`labels` must be an array of strings.",
                ));
            }
        }
        match nullable(body, "due_date") {
            None => {}
            Some(None) => fields.due_date = None,
            Some(Some(Value::String(date))) if looks_like_date(date) => {
                fields.due_date = Some(date.clone());
            }
            Some(Some(_)) => {
                return Err(ApiError::invalid(
                    "due_date",
                    "`due_date` must be `YYYY-MM-DD` or an RFC 3339 time.",
                ));
            }
        }
        match nullable(body, "epic_id") {
            None => {}
            Some(None) => fields.epic_id = None,
            Some(Some(_)) if kind == "epic" => {
                return Err(ApiError::invalid(
                    "epic_id",
                    "An epic cannot belong to an epic.",
                ));
            }
            Some(Some(Value::String(epic))) => {
                let is_epic = self.task(epic).is_some_and(|t| {
                    t.kind == "epic" && t.project == project && Some(t.id.as_str()) != own_id
                });
                if !is_epic {
                    return Err(ApiError::invalid(
                        "epic_id",
                        format!("`{epic}` is not an epic of project {project}."),
                    ));
                }
                fields.epic_id = Some(epic.clone());
            }
            Some(Some(_)) => {
                return Err(ApiError::invalid("epic_id", "`epic_id` must be a task id."));
            }
        }
        match nullable(body, "story_points") {
            None => {}
            Some(None) => fields.story_points = None,
            Some(Some(value)) => match value.as_f64() {
                Some(points) if points >= 0.0 && points.is_finite() => {
                    fields.story_points = Some(points);
                }
                _ => {
                    return Err(ApiError::invalid(
                        "story_points",
                        "`story_points` must be a number, 0 or more.",
                    ));
                }
            },
        }
        Ok(fields)
    }

    fn create_task(&mut self, project: &str, body: &Map<String, Value>, root: &str) -> Reply {
        if self.project(project).is_none() {
            return Err(no_project(project));
        }
        let mut allowed = TASK_FIELDS.to_vec();
        allowed.push("type");
        only_fields(body, &allowed)?;
        let kind = choice_field(body, "type", &["task", "epic"])?.unwrap_or_else(|| "task".into());
        if !body.contains_key("title") {
            return Err(ApiError::invalid("title", "`title` is required."));
        }
        let base = Fields {
            title: String::new(),
            description: String::new(),
            status: STATUSES[0].to_owned(),
            priority: PRIORITIES[1].to_owned(),
            assignee_id: None,
            labels: Vec::new(),
            due_date: None,
            epic_id: None,
            story_points: None,
        };
        let fields = self.checked_fields(&base, body, &kind, project, None)?;
        let number = match self.projects.iter_mut().find(|p| p.key == project) {
            Some(p) => {
                p.next_number += 1;
                p.next_number - 1
            }
            None => return Err(no_project(project)),
        };
        let event = self.next_id("h_");
        let at = now();
        let task = Task {
            id: format!("{project}-{number}"),
            project: project.to_owned(),
            kind,
            fields,
            created_at: at.clone(),
            updated_at: at.clone(),
            comments: Vec::new(),
            history: vec![json!({
                "id": event, "type": "created", "at": at, "actor": self.user_value(BOT),
            })],
        };
        let value = self.task_json(&task, root);
        self.tasks.push(task);
        Ok((StatusCode::CREATED, value))
    }

    fn update_task(&mut self, id: &str, body: &Map<String, Value>, root: &str) -> Reply {
        let (base, kind, project) = match self.task(id) {
            Some(task) => (task.fields.clone(), task.kind.clone(), task.project.clone()),
            None => return Err(no_task(id)),
        };
        if body.contains_key("type") {
            return Err(ApiError::invalid("type", "A task's `type` cannot change."));
        }
        only_fields(body, &TASK_FIELDS)?;
        let fields = self.checked_fields(&base, body, &kind, &project, Some(id))?;
        let events = self.changes(&base, &fields);
        let at = now();
        let actor = self.user_value(BOT);
        let mut numbered = Vec::new();
        for mut event in events {
            event["id"] = json!(self.next_id("h_"));
            event["at"] = json!(at);
            event["actor"] = actor.clone();
            numbered.push(event);
        }
        let Some(task) = self.tasks.iter_mut().find(|task| task.id == id) else {
            return Err(no_task(id));
        };
        if fields != task.fields {
            task.fields = fields;
            task.updated_at = at;
        }
        task.history.extend(numbered);
        let task = task.clone();
        Ok((StatusCode::OK, self.task_json(&task, root)))
    }

    /// The history events (without id, time and actor) of `old` → `new`.
    fn changes(&self, old: &Fields, new: &Fields) -> Vec<Value> {
        let mut events = Vec::new();
        if old.status != new.status {
            events.push(json!({"type": "status_changed", "field": "status", "from": old.status, "to": new.status}));
        }
        if old.assignee_id != new.assignee_id {
            let email = |id: &Option<String>| {
                id.as_deref()
                    .and_then(|id| self.user(id))
                    .map(|user| user.email.clone())
            };
            events.push(json!({"type": "assigned", "field": "assignee", "from": email(&old.assignee_id), "to": email(&new.assignee_id)}));
        }
        let mut field = |name: &str, from: Option<String>, to: Option<String>| {
            if from != to {
                events
                    .push(json!({"type": "field_changed", "field": name, "from": from, "to": to}));
            }
        };
        field("title", Some(old.title.clone()), Some(new.title.clone()));
        field(
            "description",
            Some(old.description.clone()),
            Some(new.description.clone()),
        );
        field(
            "priority",
            Some(old.priority.clone()),
            Some(new.priority.clone()),
        );
        field(
            "labels",
            Some(old.labels.join(", ")),
            Some(new.labels.join(", ")),
        );
        field("due_date", old.due_date.clone(), new.due_date.clone());
        field("epic_id", old.epic_id.clone(), new.epic_id.clone());
        let points = |p: Option<f64>| p.map(|p| p.to_string());
        field(
            "story_points",
            points(old.story_points),
            points(new.story_points),
        );
        events
    }

    fn add_comment(&mut self, id: &str, body: &Map<String, Value>) -> Reply {
        if self.task(id).is_none() {
            return Err(no_task(id));
        }
        only_fields(body, &["body"])?;
        let text = text_field(body, "body", MAX_TEXT, true)?
            .ok_or_else(|| ApiError::invalid("body", "`body` is required."))?;
        let comment_id = self.next_id("c_");
        let event_id = self.next_id("h_");
        let at = now();
        let author = self.user_value(BOT);
        let comment = json!({
            "id": comment_id, "task_id": id, "author": author, "body": text, "created_at": at,
        });
        let Some(task) = self.tasks.iter_mut().find(|task| task.id == id) else {
            return Err(no_task(id));
        };
        task.comments.push(comment.clone());
        task.history.push(json!({
            "id": event_id, "type": "commented", "at": at, "actor": author, "comment_id": comment_id,
        }));
        Ok((StatusCode::CREATED, comment))
    }

    fn list_tasks(&self, project: &str, pairs: &[(String, String)], root: &str) -> Reply {
        if self.project(project).is_none() {
            return Err(no_project(project));
        }
        let status = param(pairs, "status");
        if let Some(status) = status
            && !STATUSES.contains(&status)
        {
            return Err(ApiError::invalid(
                "status",
                format!("`status` must be one of {}.", STATUSES.join(", ")),
            ));
        }
        let kind = param(pairs, "type");
        if let Some(kind) = kind
            && !["task", "epic"].contains(&kind)
        {
            return Err(ApiError::invalid("type", "`type` must be task or epic."));
        }
        let priority = param(pairs, "priority");
        let assignee = param(pairs, "assignee_id");
        let epic = param(pairs, "epic_id");
        let labels: Vec<&str> = pairs
            .iter()
            .filter(|(key, _)| key == "label")
            .map(|(_, value)| value.as_str())
            .collect();
        let found: Vec<Value> = self
            .tasks
            .iter()
            .filter(|t| t.project == project)
            .filter(|t| status.is_none_or(|s| t.fields.status == s))
            .filter(|t| kind.is_none_or(|k| t.kind == k))
            .filter(|t| priority.is_none_or(|p| t.fields.priority == p))
            .filter(|t| assignee.is_none_or(|a| t.fields.assignee_id.as_deref() == Some(a)))
            .filter(|t| epic.is_none_or(|e| t.fields.epic_id.as_deref() == Some(e)))
            .filter(|t| {
                labels
                    .iter()
                    .all(|l| t.fields.labels.iter().any(|x| x == l))
            })
            .map(|t| self.task_json(t, root))
            .collect();
        paginate(found, pairs, true).map(|page| (StatusCode::OK, page))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Client {
        http: reqwest::Client,
        base: String,
        key: String,
    }

    impl Client {
        fn of(emu: &MyCustomEmulator) -> Self {
            Client {
                http: reqwest::Client::new(),
                base: format!("{}/api/v1", emu.base_url()),
                key: emu.api_key().to_owned(),
            }
        }

        async fn send(&self, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
            let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
            let mut request = self
                .http
                .request(method, format!("{}{path}", self.base))
                .bearer_auth(&self.key);
            if let Some(body) = body {
                request = request.json(&body);
            }
            let response = request.send().await.unwrap();
            let status = response.status().as_u16();
            let text = response.text().await.unwrap();
            (status, serde_json::from_str(&text).unwrap_or(Value::Null))
        }
    }

    #[tokio::test]
    async fn mycustom_checks_the_bearer_key_and_answers_json_errors() {
        let emu = MyCustomEmulator::start().await.unwrap();
        let http = reqwest::Client::new();
        let wrong = http
            .get(format!("{}/api/v1/tasks/DEMO-1", emu.base_url()))
            .bearer_auth("mc_wrong")
            .send()
            .await
            .unwrap();
        assert_eq!(wrong.status(), 401);
        assert_eq!(wrong.headers()["www-authenticate"], "Bearer");
        let body: Value = wrong.json().await.unwrap();
        assert_eq!(body["error"]["code"], "unauthorized");
        let health = http
            .get(format!("{}{HEALTH}", emu.base_url()))
            .send()
            .await
            .unwrap();
        assert_eq!(health.status(), 200);
        let client = Client::of(&emu);
        assert_eq!(client.send("GET", "/nothing/here", None).await.0, 404);
        let (status, body) = client.send("DELETE", "/tasks/DEMO-1", None).await;
        assert_eq!(
            (status, body["error"]["code"].as_str()),
            (405, Some("method_not_allowed"))
        );
        let (status, body) = client.send("GET", "/tasks/DEMO-99", None).await;
        assert_eq!(
            (status, body["error"]["code"].as_str()),
            (404, Some("not_found"))
        );
        let (_, me) = client.send("GET", "/users/me", None).await;
        assert_eq!(me["email"], "bot@example.com");
    }

    #[tokio::test]
    async fn mycustom_creates_updates_and_records_history() {
        let emu = MyCustomEmulator::start().await.unwrap();
        let client = Client::of(&emu);
        let (status, users) = client
            .send("GET", "/users?email=ALICE%40example.com", None)
            .await;
        assert_eq!(status, 200);
        let alice = users["data"][0]["id"].as_str().unwrap().to_owned();
        let (status, epic) = client
            .send(
                "POST",
                "/projects/DEMO/tasks",
                Some(json!({"type": "epic", "title": "Checkout"})),
            )
            .await;
        assert_eq!(status, 201);
        let (status, task) = client
            .send(
                "POST",
                "/projects/DEMO/tasks",
                Some(
                    json!({"title": "Pay", "priority": "urgent", "labels": ["a", "b"],
                    "epic_id": epic["id"], "assignee_id": alice, "due_date": "2030-01-02"}),
                ),
            )
            .await;
        assert_eq!(status, 201, "{task}");
        assert_eq!(task["id"], "DEMO-2");
        assert_eq!(task["status"], "new");
        assert_eq!(task["assignee"]["email"], ALICE);
        let (status, moved) = client
            .send(
                "PATCH",
                "/tasks/DEMO-2",
                Some(json!({"status": "active", "assignee_id": null})),
            )
            .await;
        assert_eq!(status, 200);
        assert_eq!(moved["status"], "active");
        assert!(moved["assignee"].is_null());
        let (status, comment) = client
            .send(
                "POST",
                "/tasks/DEMO-2/comments",
                Some(json!({"body": "Hi"})),
            )
            .await;
        assert_eq!(status, 201);
        assert_eq!(comment["author"]["email"], "bot@example.com");
        let (_, history) = client.send("GET", "/tasks/DEMO-2/history", None).await;
        let types: Vec<&str> = history["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["type"].as_str().unwrap())
            .collect();
        assert_eq!(
            types,
            ["created", "status_changed", "assigned", "commented"]
        );
        assert_eq!(emu.history("DEMO-2")[1]["to"], "active");
        assert_eq!(emu.comments("DEMO-2").len(), 1);
        assert_eq!(emu.task("DEMO-2").unwrap()["status"], "active");
    }

    #[tokio::test]
    async fn mycustom_rejects_bad_input_with_the_field() {
        let emu = MyCustomEmulator::start().await.unwrap();
        let client = Client::of(&emu);
        let cases = [
            (json!({}), "title"),
            (json!({"title": "  "}), "title"),
            (json!({"title": "x", "status": "todo"}), "status"),
            (json!({"title": "x", "color": "red"}), "color"),
            (json!({"title": "x", "labels": "a"}), "labels"),
            (json!({"title": "x", "epic_id": "DEMO-7"}), "epic_id"),
            (json!({"title": "x", "assignee_id": "u_99"}), "assignee_id"),
            (json!({"title": "x", "due_date": "soon"}), "due_date"),
            (json!({"title": "x", "story_points": -1}), "story_points"),
        ];
        for (body, field) in cases {
            let (status, answer) = client
                .send("POST", "/projects/DEMO/tasks", Some(body.clone()))
                .await;
            assert_eq!(status, 422, "{body}");
            assert_eq!(answer["error"]["field"], field, "{body}");
        }
        let raw = reqwest::Client::new()
            .post(format!("{}/api/v1/projects/DEMO/tasks", emu.base_url()))
            .bearer_auth(emu.api_key())
            .body("{not json")
            .send()
            .await
            .unwrap();
        assert_eq!(raw.status(), 400);
        let (status, _) = client
            .send("POST", "/projects/NOPE/tasks", Some(json!({"title": "x"})))
            .await;
        assert_eq!(status, 404);
        let (status, _) = client
            .send("POST", "/projects", Some(json!({"key": "DEMO"})))
            .await;
        assert_eq!(status, 409);
        assert_eq!(emu.task_count(), 0);
    }

    #[tokio::test]
    async fn mycustom_pages_by_cursor_and_by_page_with_filters() {
        let emu = MyCustomEmulator::start().await.unwrap();
        let client = Client::of(&emu);
        for n in 0..5 {
            let labels = if n % 2 == 0 {
                json!(["even"])
            } else {
                json!([])
            };
            client
                .send(
                    "POST",
                    "/projects/DEMO/tasks",
                    Some(json!({"title": format!("t{n}"), "labels": labels})),
                )
                .await;
        }
        let (_, first) = client
            .send("GET", "/projects/DEMO/tasks?limit=2", None)
            .await;
        assert_eq!(first["data"].as_array().unwrap().len(), 2);
        let next = first["next_cursor"].as_str().unwrap();
        let (_, second) = client
            .send(
                "GET",
                &format!("/projects/DEMO/tasks?limit=2&cursor={next}"),
                None,
            )
            .await;
        assert_eq!(second["data"][0]["title"], "t2");
        let (_, page) = client
            .send("GET", "/projects/DEMO/tasks?page=3&per_page=2", None)
            .await;
        assert_eq!(page["data"].as_array().unwrap().len(), 1);
        assert_eq!(page["total"], 5);
        assert!(page["next_cursor"].is_null());
        let (_, even) = client
            .send("GET", "/projects/DEMO/tasks?label=even&status=new", None)
            .await;
        assert_eq!(even["data"].as_array().unwrap().len(), 3);
        let (status, _) = client
            .send("GET", "/projects/DEMO/tasks?cursor=garbage", None)
            .await;
        assert_eq!(status, 400);
        let (status, _) = client
            .send("GET", "/projects/DEMO/tasks?limit=1000", None)
            .await;
        assert_eq!(status, 422);
    }

    #[tokio::test]
    async fn mycustom_takes_faults_per_route() {
        let emu = MyCustomEmulator::start().await.unwrap();
        let client = Client::of(&emu);
        emu.push_fault(TASK, rate_limited(Duration::from_secs(3)));
        emu.push_fault(TASK, internal_error());
        let (status, body) = client.send("GET", "/tasks/DEMO-1", None).await;
        assert_eq!(
            (status, body["error"]["code"].as_str()),
            (429, Some("rate_limited"))
        );
        assert_eq!(client.send("GET", "/tasks/DEMO-1", None).await.0, 500);
        assert_eq!(client.send("GET", "/tasks/DEMO-1", None).await.0, 404);
        assert_eq!(emu.requests().len(), 3);
        assert_eq!(emu.requests()[0].fault.as_deref(), Some("status 429"));
    }

    #[test]
    fn mycustom_decodes_queries_and_dates() {
        assert_eq!(percent_decode("a%40b+c%2", true), "a@b c%2");
        assert_eq!(percent_decode("%zz", false), "%zz");
        assert!(looks_like_date("2024-01-02"));
        assert!(looks_like_date("2024-01-02T10:00:00Z"));
        assert!(!looks_like_date("2024-1-2"));
        assert!(valid_project_key("AB1"));
        assert!(!valid_project_key("1AB"));
        assert_eq!(route_of("/api/v1/tasks/DEMO-1/history").0, HISTORY);
        assert_eq!(route_of("/elsewhere").0, UNKNOWN);
    }
}
