//! An emulator of GitHub's REST API (v3), stateful: repositories with
//! branches and files, pull requests, issues, comments, labels,
//! milestones, assignees and each issue's timeline, all in memory.
//!
//! Routes, with the shapes of the published REST reference (the route
//! templates below are also the keys of [`GitHubEmulator::push_fault`]):
//!
//! - [`REPO`] `GET /repos/{owner}/{repo}`: `{id, name, full_name, owner:
//!   {login}, private, description, default_branch, html_url, clone_url,
//!   ...}`.
//! - [`REFS`] `GET|POST /repos/{owner}/{repo}/git/refs` and [`REF`]
//!   `GET /repos/{owner}/{repo}/git/ref/heads/{branch}`: `{ref, node_id,
//!   url, object: {sha, type: "commit", url}}`; creating an existing ref is
//!   a 422 `Reference already exists`.
//! - [`CONTENTS`] `GET|PUT /repos/{owner}/{repo}/contents/{path}`: a file
//!   is `{type: "file", encoding: "base64", content, sha, path, name,
//!   size}` (a folder is an array of entries), read at `?ref=`; `PUT` takes
//!   `{message, content (base64), sha?, branch?}` and answers `{content,
//!   commit}`, 201 when created, 200 when updated; updating without the
//!   current `sha` is a 422, with a stale one a 409.
//! - [`PULLS`] `GET|POST /repos/{owner}/{repo}/pulls` (`state`, `head` as
//!   `owner:branch`, `base` filters; newest first), [`PULL`]
//!   `GET .../pulls/{number}`, [`REQUESTED_REVIEWERS`]
//!   `POST .../pulls/{number}/requested_reviewers` (`{reviewers}`). A second
//!   open pull request for the same head and base is GitHub's 422 `A pull
//!   request already exists for owner:branch.`
//! - [`ISSUES`] `GET|POST /repos/{owner}/{repo}/issues` (`state`, `labels`,
//!   `assignee`, `milestone`, `sort`, `direction`; pull requests are listed
//!   too, with a `pull_request` key, as GitHub does), [`ISSUE`]
//!   `GET|PATCH .../issues/{number}`, [`ISSUE_COMMENTS`] `GET|POST
//!   .../issues/{number}/comments`, [`ISSUE_LABELS`] `POST
//!   .../issues/{number}/labels`, [`ISSUE_ASSIGNEES`] `POST
//!   .../issues/{number}/assignees`, [`ISSUE_TIMELINE`] `GET
//!   .../issues/{number}/timeline` and [`ISSUE_EVENTS`] `GET
//!   .../issues/{number}/events` (`labeled`, `unlabeled`, `assigned`,
//!   `unassigned`, `closed`, `reopened`, `milestoned`, `demilestoned`,
//!   `renamed`, and `commented` in the timeline only).
//! - [`MILESTONES`] `GET|POST /repos/{owner}/{repo}/milestones` (a
//!   duplicate title is a 422 `already_exists`).
//! - [`BRANCHES`] `GET /repos/{owner}/{repo}/branches` (`[{name, commit:
//!   {sha, url}, protected}]`) and [`BRANCH`] `GET .../branches/{branch}`.
//! - [`USER_REPOS`] `POST /user/repos` and [`ORG_REPOS`] `POST
//!   /orgs/{org}/repos`: `{name, description?, private?, auto_init?}`
//!   makes a repository (empty, or with a `README.md` commit on `main`
//!   with `auto_init`), 201 with the repository; a taken name is a 422
//!   `name already exists on this account`.
//!
//! # Git
//!
//! [`GIT`] `/{owner}/{repo}.git/...` serves git's smart HTTP protocol
//! (clone, fetch, push) from a bare repository per emulated repository,
//! through `git http-backend`, with GitHub's git authentication (HTTP
//! Basic with the token as password, or a bearer token; a 401 with
//! `WWW-Authenticate: Basic realm="GitHub"` otherwise). What is pushed is
//! what the REST routes show: branches, refs, contents, and the head of a
//! pull request. What the REST routes write (and [`GitHubEmulator::seed_file`])
//! is committed to the bare repository before the next git request. The
//! repositories live in a temporary folder of the emulator's own, removed
//! when it is dropped; git must be installed.
//!
//! Every list takes `per_page` (default 30, at most 100) and `page`, and
//! answers with a `Link` header (`rel="next"`, `"last"`, `"first"`,
//! `"prev"`) when there is more than one page. Every answer carries
//! `x-ratelimit-limit`, `x-ratelimit-remaining`, `x-ratelimit-used`,
//! `x-ratelimit-reset` (epoch seconds) and `x-ratelimit-resource`.
//!
//! Requests authenticate with `Authorization: Bearer <token>` or `token
//! <token>`; a wrong token gets GitHub's 401 `{"message": "Bad
//! credentials", "documentation_url": ..., "status": "401"}`, none a 401
//! `Requires authentication`. Unknown things are 404 `{"message": "Not
//! Found", ...}`, invalid input 422 `{"message": "Validation Failed",
//! "errors": [{resource, field, code}], ...}`. Faults ([`Fault`]) are taken
//! before authentication; [`rate_limit_error`] and [`server_error`] build
//! GitHub's own answers.

use std::collections::{BTreeMap, BTreeSet};
use std::io;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderValue, Method, StatusCode};
use axum::response::Response;
use serde_json::{Value, json};

use crate::faults::{Fault, admit, plain};
use crate::incoming::Incoming;
use crate::options::EmulatorOptions;
use crate::recorder::{RecordedRequest, Recorder, lock};
use crate::server::{Connection, Server};
use crate::synth;

/// `GET /repos/{owner}/{repo}`.
pub const REPO: &str = "/repos/{owner}/{repo}";
/// `GET|POST /repos/{owner}/{repo}/git/refs`.
pub const REFS: &str = "/repos/{owner}/{repo}/git/refs";
/// `GET /repos/{owner}/{repo}/git/ref/{ref}`.
pub const REF: &str = "/repos/{owner}/{repo}/git/ref/{ref}";
/// `GET|PUT /repos/{owner}/{repo}/contents/{path}`.
pub const CONTENTS: &str = "/repos/{owner}/{repo}/contents/{path}";
/// `GET|POST /repos/{owner}/{repo}/pulls`.
pub const PULLS: &str = "/repos/{owner}/{repo}/pulls";
/// `GET /repos/{owner}/{repo}/pulls/{number}`.
pub const PULL: &str = "/repos/{owner}/{repo}/pulls/{number}";
/// `POST /repos/{owner}/{repo}/pulls/{number}/requested_reviewers`.
pub const REQUESTED_REVIEWERS: &str = "/repos/{owner}/{repo}/pulls/{number}/requested_reviewers";
/// `GET|POST /repos/{owner}/{repo}/issues`.
pub const ISSUES: &str = "/repos/{owner}/{repo}/issues";
/// `GET|PATCH /repos/{owner}/{repo}/issues/{number}`.
pub const ISSUE: &str = "/repos/{owner}/{repo}/issues/{number}";
/// `GET|POST /repos/{owner}/{repo}/issues/{number}/comments`.
pub const ISSUE_COMMENTS: &str = "/repos/{owner}/{repo}/issues/{number}/comments";
/// `POST /repos/{owner}/{repo}/issues/{number}/labels`.
pub const ISSUE_LABELS: &str = "/repos/{owner}/{repo}/issues/{number}/labels";
/// `POST /repos/{owner}/{repo}/issues/{number}/assignees`.
pub const ISSUE_ASSIGNEES: &str = "/repos/{owner}/{repo}/issues/{number}/assignees";
/// `GET /repos/{owner}/{repo}/issues/{number}/timeline`.
pub const ISSUE_TIMELINE: &str = "/repos/{owner}/{repo}/issues/{number}/timeline";
/// `GET /repos/{owner}/{repo}/issues/{number}/events`.
pub const ISSUE_EVENTS: &str = "/repos/{owner}/{repo}/issues/{number}/events";
/// `GET|POST /repos/{owner}/{repo}/milestones`.
pub const MILESTONES: &str = "/repos/{owner}/{repo}/milestones";
/// `GET /repos/{owner}/{repo}/branches`.
pub const BRANCHES: &str = "/repos/{owner}/{repo}/branches";
/// `GET /repos/{owner}/{repo}/branches/{branch}`.
pub const BRANCH: &str = "/repos/{owner}/{repo}/branches/{branch}";
/// `POST /user/repos`.
pub const USER_REPOS: &str = "/user/repos";
/// `POST /orgs/{org}/repos`.
pub const ORG_REPOS: &str = "/orgs/{org}/repos";
/// `/{owner}/{repo}.git/...`: git's smart HTTP protocol.
pub const GIT: &str = "/{owner}/{repo}.git";

#[path = "github_bare.rs"]
mod bare;
#[path = "github_cgi.rs"]
mod cgi;
#[path = "github_git.rs"]
mod git;

/// The documentation link GitHub puts in error bodies.
const DOCS_URL: &str = "https://docs.github.com/rest";
/// The login every write is attributed to.
const LOGIN: &str = "aido-emulator";
/// The primary rate limit of an authenticated user.
const RATE_LIMIT: u64 = 5000;

/// A running emulator of GitHub's REST API. Stops when dropped.
#[derive(Debug)]
pub struct GitHubEmulator {
    server: Server,
    state: Arc<GitHubState>,
}

#[derive(Debug)]
struct GitHubState {
    recorder: Recorder,
    token: String,
    world: Mutex<World>,
    used: AtomicU64,
    reset_at: u64,
    /// The bare repositories the git service serves.
    store: bare::GitStore,
    /// Held by each git request, so syncs and pushes do not interleave.
    git_lock: tokio::sync::Mutex<()>,
}

/// Everything the emulated GitHub holds.
#[derive(Debug, Default)]
struct World {
    /// By lower-cased `owner/name`.
    repos: BTreeMap<String, Repo>,
    next_id: u64,
}

impl World {
    fn id(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id
    }
}

#[derive(Debug)]
struct Repo {
    id: u64,
    owner: String,
    name: String,
    description: Option<String>,
    private: bool,
    default_branch: String,
    branches: BTreeMap<String, BranchState>,
    /// Issues and pull requests, which share their numbers.
    items: BTreeMap<u64, Item>,
    comments: Vec<CommentRecord>,
    milestones: BTreeMap<u64, MilestoneRecord>,
    created_at: String,
}

#[derive(Debug, Clone)]
struct BranchState {
    sha: String,
    files: BTreeMap<String, Vec<u8>>,
}

#[derive(Debug)]
struct Item {
    id: u64,
    number: u64,
    title: String,
    body: Option<String>,
    state: &'static str,
    state_reason: Option<String>,
    labels: Vec<String>,
    assignees: Vec<String>,
    milestone: Option<u64>,
    created_at: String,
    updated_at: String,
    closed_at: Option<String>,
    pull: Option<PullState>,
    /// Timeline entries, oldest first (comments included).
    timeline: Vec<Value>,
}

#[derive(Debug)]
struct PullState {
    head: String,
    base: String,
    head_sha: String,
    draft: bool,
    merged_at: Option<String>,
    requested_reviewers: Vec<String>,
}

#[derive(Debug)]
struct CommentRecord {
    id: u64,
    issue: u64,
    body: String,
    created_at: String,
}

#[derive(Debug)]
struct MilestoneRecord {
    id: u64,
    number: u64,
    title: String,
    description: Option<String>,
    state: String,
    due_on: Option<String>,
    created_at: String,
}

impl GitHubEmulator {
    /// Starts an emulator on a free loopback port with a generated token.
    pub async fn start() -> io::Result<Self> {
        GitHubEmulator::start_with(EmulatorOptions::default()).await
    }

    /// Starts an emulator as `options` say. GitHub always needs a token
    /// here, so [`crate::ApiKey::NotRequired`] gets a generated one.
    pub async fn start_with(options: EmulatorOptions) -> io::Result<Self> {
        let token = options
            .resolve_key("ghp_", false)
            .unwrap_or_else(|| synth::api_key("ghp_"));
        let state = Arc::new(GitHubState {
            recorder: Recorder::default(),
            token,
            world: Mutex::new(World::default()),
            used: AtomicU64::new(0),
            reset_at: synth::unix_seconds() + 3600,
            store: bare::GitStore::new(),
            git_lock: tokio::sync::Mutex::new(()),
        });
        let router = Router::new()
            .fallback(handle)
            .with_state(Arc::clone(&state));
        let server = Server::start(options.addr, router).await?;
        Ok(GitHubEmulator { server, state })
    }

    /// The API's base URL (`http://127.0.0.1:<port>`), as `base_url` of a
    /// GitHub Enterprise-style configuration.
    pub fn base_url(&self) -> String {
        self.server.root_url()
    }

    /// The address it listens on.
    pub fn addr(&self) -> std::net::SocketAddr {
        self.server.addr()
    }

    /// The token requests must carry.
    pub fn token(&self) -> &str {
        &self.state.token
    }

    /// Every request received so far, faulted or not, oldest first.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.state.recorder.requests()
    }

    /// Queues a fault for the next request to `route` (a route template
    /// such as [`PULLS`]).
    pub fn push_fault(&self, route: &str, fault: Fault) {
        self.state.recorder.push_fault(route, fault);
    }

    /// Queues the same fault for the next `count` requests to `route`.
    pub fn push_faults(&self, route: &str, fault: Fault, count: usize) {
        for _ in 0..count {
            self.push_fault(route, fault.clone());
        }
    }

    /// Creates a repository with a default branch `main` holding one
    /// commit with a `README.md`. Creating it again changes nothing.
    pub fn create_repo(&self, owner: &str, name: &str) {
        let readme = format!("# {name}\n");
        self.create_repo_with_files(owner, name, &[("README.md", readme.as_bytes())]);
    }

    /// Creates a repository whose default branch `main` holds exactly
    /// `files` (path, content) in one commit; none makes an empty
    /// repository, as `POST /user/repos` without `auto_init` does. Returns
    /// whether it was created: an existing repository is left as it is.
    pub fn create_repo_with_files(&self, owner: &str, name: &str, files: &[(&str, &[u8])]) -> bool {
        let mut world = lock(&self.state.world);
        if world.repos.contains_key(&repo_key(owner, name)) {
            return false;
        }
        let files: BTreeMap<String, Vec<u8>> = files
            .iter()
            .map(|(path, content)| ((*path).to_owned(), content.to_vec()))
            .collect();
        insert_repo(&mut world, owner, name, files, None, false);
        true
    }

    /// The URL git clones the repository from: `<base_url>/owner/name.git`.
    pub fn clone_url(&self, owner: &str, name: &str) -> String {
        format!("{}/{owner}/{name}.git", self.base_url())
    }

    /// The repository's branches and the commit each points at (after a
    /// push, the real commit's sha).
    pub fn branches(&self, owner: &str, name: &str) -> BTreeMap<String, String> {
        let world = lock(&self.state.world);
        world
            .repos
            .get(&repo_key(owner, name))
            .map(|repo| {
                repo.branches
                    .iter()
                    .map(|(branch, state)| (branch.clone(), state.sha.clone()))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Writes a file on a branch (creating the branch from the default one
    /// when needed), as a commit would. Does nothing for an unknown
    /// repository.
    pub fn seed_file(&self, owner: &str, name: &str, branch: &str, path: &str, content: &str) {
        let mut world = lock(&self.state.world);
        let Some(repo) = world.repos.get_mut(&repo_key(owner, name)) else {
            return;
        };
        let base = repo.branches.get(&repo.default_branch).cloned();
        let state = repo.branches.entry(branch.to_owned()).or_insert_with(|| {
            base.unwrap_or(BranchState {
                sha: String::new(),
                files: BTreeMap::new(),
            })
        });
        state
            .files
            .insert(path.to_owned(), content.as_bytes().to_vec());
        state.sha = fake_sha(&[state.sha.as_bytes(), path.as_bytes(), content.as_bytes()]);
    }

    /// Opens an issue with these labels, returning its number (0 for an
    /// unknown repository).
    pub fn seed_issue(
        &self,
        owner: &str,
        name: &str,
        title: &str,
        body: &str,
        labels: &[&str],
    ) -> u64 {
        let mut world = lock(&self.state.world);
        let id = world.id();
        let Some(repo) = world.repos.get_mut(&repo_key(owner, name)) else {
            return 0;
        };
        let labels: Vec<String> = labels.iter().map(|l| (*l).to_owned()).collect();
        new_item(
            repo,
            id,
            title,
            Some(body.to_owned()),
            labels,
            Vec::new(),
            None,
            None,
        )
    }

    /// The repository's pull requests as the API shows them, oldest first.
    pub fn pull_requests(&self, owner: &str, name: &str) -> Vec<Value> {
        self.items(owner, name, true)
    }

    /// The repository's issues (not pull requests) as the API shows them,
    /// oldest first.
    pub fn issues(&self, owner: &str, name: &str) -> Vec<Value> {
        self.items(owner, name, false)
    }

    /// The comments on issue or pull request `number`, oldest first.
    pub fn comments(&self, owner: &str, name: &str, number: u64) -> Vec<Value> {
        let world = lock(&self.state.world);
        let Some(repo) = world.repos.get(&repo_key(owner, name)) else {
            return Vec::new();
        };
        let root = self.base_url();
        repo.comments
            .iter()
            .filter(|c| c.issue == number)
            .map(|c| comment_json(repo, c, &root))
            .collect()
    }

    /// The repository's milestones as the API shows them.
    pub fn milestones(&self, owner: &str, name: &str) -> Vec<Value> {
        let world = lock(&self.state.world);
        let Some(repo) = world.repos.get(&repo_key(owner, name)) else {
            return Vec::new();
        };
        let root = self.base_url();
        repo.milestones
            .values()
            .map(|m| milestone_json(repo, m, &root))
            .collect()
    }

    /// A file's content on a branch.
    pub fn file(&self, owner: &str, name: &str, branch: &str, path: &str) -> Option<Vec<u8>> {
        let world = lock(&self.state.world);
        world
            .repos
            .get(&repo_key(owner, name))?
            .branches
            .get(branch)?
            .files
            .get(path)
            .cloned()
    }

    fn items(&self, owner: &str, name: &str, pulls: bool) -> Vec<Value> {
        let world = lock(&self.state.world);
        let Some(repo) = world.repos.get(&repo_key(owner, name)) else {
            return Vec::new();
        };
        let root = self.base_url();
        repo.items
            .values()
            .filter(|item| item.pull.is_some() == pulls)
            .map(|item| {
                if pulls {
                    pull_json(repo, item, &root)
                } else {
                    issue_json(repo, item, &root)
                }
            })
            .collect()
    }
}

/// GitHub's error body: `{message, documentation_url, status}`.
pub fn error_body(status: u16, message: &str) -> Value {
    json!({"message": message, "documentation_url": DOCS_URL, "status": status.to_string()})
}

/// GitHub's 429 for an exhausted primary rate limit: `x-ratelimit-remaining:
/// 0`, the reset time, and `retry-after` of `seconds`.
pub fn rate_limit_error(seconds: u64) -> Fault {
    Fault::json(
        429,
        &error_body(
            429,
            "API rate limit exceeded for user ID 1. If you reach out to GitHub Support for help, \
             please include the request ID.",
        ),
    )
    .with_header("retry-after", &seconds.to_string())
    .with_header("x-ratelimit-limit", &RATE_LIMIT.to_string())
    .with_header("x-ratelimit-remaining", "0")
    .with_header(
        "x-ratelimit-reset",
        &(synth::unix_seconds() + seconds).to_string(),
    )
}

/// A 500 with GitHub's body.
pub fn server_error() -> Fault {
    Fault::json(500, &error_body(500, "Server Error"))
}

/// Adds a repository to the world (the caller checked its name is free):
/// with `files` on `main` when there are any, else empty.
fn insert_repo(
    world: &mut World,
    owner: &str,
    name: &str,
    files: BTreeMap<String, Vec<u8>>,
    description: Option<String>,
    private: bool,
) -> String {
    let key = repo_key(owner, name);
    let id = world.id();
    let mut branches = BTreeMap::new();
    if !files.is_empty() {
        let mut parts: Vec<&[u8]> = vec![name.as_bytes(), b"initial"];
        for (path, content) in &files {
            parts.push(path.as_bytes());
            parts.push(content);
        }
        let sha = fake_sha(&parts);
        branches.insert("main".to_owned(), BranchState { sha, files });
    }
    world.repos.insert(
        key.clone(),
        Repo {
            id,
            owner: owner.to_owned(),
            name: name.to_owned(),
            description: description.or_else(|| Some(format!("The {name} repository"))),
            private,
            default_branch: "main".to_owned(),
            branches,
            items: BTreeMap::new(),
            comments: Vec::new(),
            milestones: BTreeMap::new(),
            created_at: now(),
        },
    );
    key
}

fn repo_key(owner: &str, name: &str) -> String {
    format!(
        "{}/{}",
        owner.to_ascii_lowercase(),
        name.to_ascii_lowercase()
    )
}

/// A 40-hex-digit hash of `parts` (FNV-1a, widened): stable and distinct
/// enough for an emulator's blob and commit names.
fn fake_sha(parts: &[&[u8]]) -> String {
    let mut out = String::new();
    for round in 0u64..3 {
        let mut hash: u64 = 0xcbf2_9ce4_8422_2325 ^ round;
        for part in parts {
            for byte in part.iter().chain(b"\0") {
                hash ^= u64::from(*byte);
                hash = hash.wrapping_mul(0x0100_0000_01b3);
            }
        }
        out.push_str(&format!("{hash:016x}"));
    }
    out.truncate(40);
    out
}

/// The current time as GitHub writes it (`2011-04-14T16:00:49Z`).
fn now() -> String {
    iso8601(synth::unix_seconds())
}

fn iso8601(secs: u64) -> String {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    // Howard Hinnant's days-to-civil.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// Opens an issue (or, with `pull`, a pull request) and returns its number.
#[allow(clippy::too_many_arguments)]
fn new_item(
    repo: &mut Repo,
    id: u64,
    title: &str,
    body: Option<String>,
    labels: Vec<String>,
    assignees: Vec<String>,
    milestone: Option<u64>,
    pull: Option<PullState>,
) -> u64 {
    let number = repo.items.keys().next_back().copied().unwrap_or(0) + 1;
    let at = now();
    let mut timeline = Vec::new();
    for label in &labels {
        timeline.push(event("labeled", &at, json!({"label": label_json(label)})));
    }
    for assignee in &assignees {
        timeline.push(event("assigned", &at, json!({"assignee": user(assignee)})));
    }
    repo.items.insert(
        number,
        Item {
            id,
            number,
            title: title.to_owned(),
            body,
            state: "open",
            state_reason: None,
            labels,
            assignees,
            milestone,
            created_at: at.clone(),
            updated_at: at,
            closed_at: None,
            pull,
            timeline,
        },
    );
    number
}

static NEXT_EVENT: AtomicU64 = AtomicU64::new(1);

fn event(kind: &str, at: &str, extra: Value) -> Value {
    let id = NEXT_EVENT.fetch_add(1, Ordering::Relaxed);
    let mut object = json!({
        "id": id,
        "node_id": format!("IE_emu{id}"),
        "event": kind,
        "actor": user(LOGIN),
        "created_at": at,
    });
    if let (Some(target), Value::Object(extra)) = (object.as_object_mut(), extra) {
        target.extend(extra);
    }
    object
}

fn user(login: &str) -> Value {
    json!({"login": login, "id": login.len(), "type": "User"})
}

fn label_json(name: &str) -> Value {
    json!({"id": fake_sha(&[name.as_bytes()]).len(), "name": name, "color": "ededed", "default": false})
}

fn repo_json(repo: &Repo, root: &str) -> Value {
    let full = format!("{}/{}", repo.owner, repo.name);
    json!({
        "id": repo.id,
        "node_id": format!("R_emu{}", repo.id),
        "name": repo.name,
        "full_name": full,
        "owner": user(&repo.owner),
        "private": repo.private,
        "description": repo.description,
        "fork": false,
        "default_branch": repo.default_branch,
        "html_url": format!("{root}/{full}"),
        "url": format!("{root}/repos/{full}"),
        "clone_url": format!("{root}/{full}.git"),
        "git_url": format!("git://emulator/{full}.git"),
        "ssh_url": format!("git@emulator:{full}.git"),
        "visibility": if repo.private { "private" } else { "public" },
        "created_at": repo.created_at,
    })
}

fn milestone_ref(repo: &Repo, number: Option<u64>, root: &str) -> Value {
    number
        .and_then(|n| repo.milestones.get(&n))
        .map(|m| milestone_json(repo, m, root))
        .unwrap_or(Value::Null)
}

fn issue_json(repo: &Repo, item: &Item, root: &str) -> Value {
    let full = format!("{}/{}", repo.owner, repo.name);
    let mut value = json!({
        "id": item.id,
        "node_id": format!("I_emu{}", item.id),
        "url": format!("{root}/repos/{full}/issues/{}", item.number),
        "html_url": format!("{root}/{full}/issues/{}", item.number),
        "number": item.number,
        "state": item.state,
        "state_reason": item.state_reason,
        "title": item.title,
        "body": item.body,
        "user": user(LOGIN),
        "labels": item.labels.iter().map(|l| label_json(l)).collect::<Vec<_>>(),
        "assignee": item.assignees.first().map(|a| user(a)),
        "assignees": item.assignees.iter().map(|a| user(a)).collect::<Vec<_>>(),
        "milestone": milestone_ref(repo, item.milestone, root),
        "locked": false,
        "comments": repo.comments.iter().filter(|c| c.issue == item.number).count(),
        "created_at": item.created_at,
        "updated_at": item.updated_at,
        "closed_at": item.closed_at,
    });
    if item.pull.is_some()
        && let Some(object) = value.as_object_mut()
    {
        object.insert(
            "pull_request".to_owned(),
            json!({
                "url": format!("{root}/repos/{full}/pulls/{}", item.number),
                "html_url": format!("{root}/{full}/pull/{}", item.number),
            }),
        );
    }
    value
}

fn pull_json(repo: &Repo, item: &Item, root: &str) -> Value {
    let full = format!("{}/{}", repo.owner, repo.name);
    let Some(pull) = &item.pull else {
        return issue_json(repo, item, root);
    };
    let base_sha = repo
        .branches
        .get(&pull.base)
        .map(|b| b.sha.clone())
        .unwrap_or_default();
    // An open pull request follows its branch, as pushes move it.
    let head_sha = match repo.branches.get(&pull.head) {
        Some(branch) if item.state == "open" => branch.sha.clone(),
        _ => pull.head_sha.clone(),
    };
    let state = if item.state == "open" {
        "open"
    } else {
        "closed"
    };
    json!({
        "id": item.id,
        "node_id": format!("PR_emu{}", item.id),
        "url": format!("{root}/repos/{full}/pulls/{}", item.number),
        "html_url": format!("{root}/{full}/pull/{}", item.number),
        "number": item.number,
        "state": state,
        "locked": false,
        "title": item.title,
        "user": user(LOGIN),
        "body": item.body,
        "labels": item.labels.iter().map(|l| label_json(l)).collect::<Vec<_>>(),
        "milestone": milestone_ref(repo, item.milestone, root),
        "assignee": item.assignees.first().map(|a| user(a)),
        "assignees": item.assignees.iter().map(|a| user(a)).collect::<Vec<_>>(),
        "requested_reviewers": pull.requested_reviewers.iter().map(|r| user(r)).collect::<Vec<_>>(),
        "created_at": item.created_at,
        "updated_at": item.updated_at,
        "closed_at": item.closed_at,
        "merged_at": pull.merged_at,
        "draft": pull.draft,
        "head": {
            "label": format!("{}:{}", repo.owner, pull.head),
            "ref": pull.head,
            "sha": head_sha,
            "user": user(&repo.owner),
            "repo": {"full_name": full},
        },
        "base": {
            "label": format!("{}:{}", repo.owner, pull.base),
            "ref": pull.base,
            "sha": base_sha,
            "user": user(&repo.owner),
            "repo": {"full_name": full},
        },
    })
}

fn comment_json(repo: &Repo, comment: &CommentRecord, root: &str) -> Value {
    let full = format!("{}/{}", repo.owner, repo.name);
    json!({
        "id": comment.id,
        "node_id": format!("IC_emu{}", comment.id),
        "url": format!("{root}/repos/{full}/issues/comments/{}", comment.id),
        "html_url": format!("{root}/{full}/issues/{}#issuecomment-{}", comment.issue, comment.id),
        "issue_url": format!("{root}/repos/{full}/issues/{}", comment.issue),
        "body": comment.body,
        "user": user(LOGIN),
        "author_association": "OWNER",
        "created_at": comment.created_at,
        "updated_at": comment.created_at,
    })
}

fn milestone_json(repo: &Repo, milestone: &MilestoneRecord, root: &str) -> Value {
    let full = format!("{}/{}", repo.owner, repo.name);
    let (open, closed) = repo
        .items
        .values()
        .filter(|i| i.milestone == Some(milestone.number))
        .fold((0, 0), |(o, c), i| {
            if i.state == "open" {
                (o + 1, c)
            } else {
                (o, c + 1)
            }
        });
    json!({
        "id": milestone.id,
        "node_id": format!("MI_emu{}", milestone.id),
        "number": milestone.number,
        "url": format!("{root}/repos/{full}/milestones/{}", milestone.number),
        "html_url": format!("{root}/{full}/milestone/{}", milestone.number),
        "title": milestone.title,
        "description": milestone.description,
        "state": milestone.state,
        "creator": user(LOGIN),
        "open_issues": open,
        "closed_issues": closed,
        "created_at": milestone.created_at,
        "updated_at": milestone.created_at,
        "due_on": milestone.due_on,
    })
}

fn ref_json(repo: &Repo, branch: &str, sha: &str, root: &str) -> Value {
    let full = format!("{}/{}", repo.owner, repo.name);
    json!({
        "ref": format!("refs/heads/{branch}"),
        "node_id": format!("REF_emu{}", fake_sha(&[branch.as_bytes()])),
        "url": format!("{root}/repos/{full}/git/refs/heads/{branch}"),
        "object": {"sha": sha, "type": "commit", "url": format!("{root}/repos/{full}/git/commits/{sha}")},
    })
}

/// A branch as `GET .../branches` lists it.
fn branch_summary_json(repo: &Repo, branch: &str, sha: &str, root: &str) -> Value {
    let full = format!("{}/{}", repo.owner, repo.name);
    json!({
        "name": branch,
        "commit": {"sha": sha, "url": format!("{root}/repos/{full}/commits/{sha}")},
        "protected": false,
    })
}

/// A branch as `GET .../branches/{branch}` shows it.
fn branch_json(repo: &Repo, branch: &str, sha: &str, root: &str) -> Value {
    let full = format!("{}/{}", repo.owner, repo.name);
    json!({
        "name": branch,
        "commit": {
            "sha": sha,
            "node_id": format!("C_emu{sha}"),
            "url": format!("{root}/repos/{full}/commits/{sha}"),
            "html_url": format!("{root}/{full}/commit/{sha}"),
        },
        "_links": {
            "self": format!("{root}/repos/{full}/branches/{branch}"),
            "html": format!("{root}/{full}/tree/{branch}"),
        },
        "protected": false,
        "protection_url": format!("{root}/repos/{full}/branches/{branch}/protection"),
    })
}

fn file_json(repo: &Repo, branch: &str, path: &str, content: &[u8], root: &str) -> Value {
    let full = format!("{}/{}", repo.owner, repo.name);
    let name = path.rsplit('/').next().unwrap_or(path);
    json!({
        "type": "file",
        "encoding": "base64",
        "size": content.len(),
        "name": name,
        "path": path,
        "content": base64_encode_wrapped(content),
        "sha": blob_sha(content),
        "url": format!("{root}/repos/{full}/contents/{path}?ref={branch}"),
        "html_url": format!("{root}/{full}/blob/{branch}/{path}"),
        "download_url": format!("{root}/{full}/raw/{branch}/{path}"),
    })
}

fn blob_sha(content: &[u8]) -> String {
    fake_sha(&[b"blob", content])
}

/// The answer to one request: status, JSON body, extra headers.
struct Answer {
    status: StatusCode,
    body: Value,
    link: Option<String>,
}

impl Answer {
    fn ok(body: Value) -> Self {
        Answer {
            status: StatusCode::OK,
            body,
            link: None,
        }
    }

    fn created(body: Value) -> Self {
        Answer {
            status: StatusCode::CREATED,
            body,
            link: None,
        }
    }

    fn error(status: StatusCode, message: &str) -> Self {
        Answer {
            status,
            body: error_body(status.as_u16(), message),
            link: None,
        }
    }

    fn not_found() -> Self {
        Answer::error(StatusCode::NOT_FOUND, "Not Found")
    }

    /// GitHub's 422: `{message: "Validation Failed", errors: [...]}`.
    fn invalid(resource: &str, field: &str, code: &str, message: Option<&str>) -> Self {
        let mut error = json!({"resource": resource, "field": field, "code": code});
        if let (Some(message), Some(object)) = (message, error.as_object_mut()) {
            object.insert("message".to_owned(), json!(message));
        }
        Answer {
            status: StatusCode::UNPROCESSABLE_ENTITY,
            body: json!({
                "message": "Validation Failed",
                "errors": [error],
                "documentation_url": DOCS_URL,
                "status": "422",
            }),
            link: None,
        }
    }
}

async fn handle(
    State(state): State<Arc<GitHubState>>,
    ConnectInfo(connection): ConnectInfo<Connection>,
    request: Incoming,
) -> Response {
    let segments: Vec<String> = request
        .uri
        .path()
        .trim_matches('/')
        .split('/')
        .map(percent_decode)
        .collect();
    let route = route_of(&segments, request.uri.path());
    if let Some(answer) = admit(&state.recorder, &route, &connection, &request).await {
        return answer;
    }
    if let Some(path) = git::git_path(&segments) {
        return git::serve(&state, &request, path).await;
    }
    let used = state.used.fetch_add(1, Ordering::Relaxed) + 1;
    let answer = match authenticate(&state, &request) {
        Some(answer) => answer,
        None => {
            let root = request
                .header("host")
                .map(|host| format!("http://{host}"))
                .unwrap_or_default();
            let mut world = lock(&state.world);
            serve(&mut world, &request, &segments, &root)
        }
    };
    let mut response = plain(answer.status, &answer.body.to_string(), "application/json");
    let headers = response.headers_mut();
    let remaining = RATE_LIMIT.saturating_sub(used);
    for (name, value) in [
        ("x-ratelimit-limit", RATE_LIMIT.to_string()),
        ("x-ratelimit-remaining", remaining.to_string()),
        ("x-ratelimit-used", used.to_string()),
        ("x-ratelimit-reset", state.reset_at.to_string()),
        ("x-ratelimit-resource", "core".to_owned()),
        ("x-github-request-id", synth::id("EMU:")),
    ] {
        if let Ok(value) = HeaderValue::from_str(&value) {
            headers.insert(name, value);
        }
    }
    if let Some(link) = answer.link
        && let Ok(value) = HeaderValue::from_str(&link)
    {
        headers.insert("link", value);
    }
    response
}

/// Checks `Authorization: Bearer|token <token>`.
fn authenticate(state: &GitHubState, request: &Incoming) -> Option<Answer> {
    let Some(header) = request.header("authorization") else {
        return Some(Answer::error(
            StatusCode::UNAUTHORIZED,
            "Requires authentication",
        ));
    };
    let token = header.split_once(' ').and_then(|(scheme, token)| {
        let scheme = scheme.to_ascii_lowercase();
        (scheme == "bearer" || scheme == "token").then_some(token.trim())
    });
    match token {
        Some(token) if token == state.token => None,
        _ => Some(Answer::error(StatusCode::UNAUTHORIZED, "Bad credentials")),
    }
}

/// The route template of a path, the key faults are queued under.
fn route_of(segments: &[String], path: &str) -> String {
    if git::git_path(segments).is_some() {
        return GIT.to_owned();
    }
    let parts: Vec<&str> = segments.iter().map(String::as_str).collect();
    let template = match parts.as_slice() {
        ["user", "repos"] => USER_REPOS,
        ["orgs", _, "repos"] => ORG_REPOS,
        ["repos", _, _, "branches"] => BRANCHES,
        ["repos", _, _, "branches", ..] => BRANCH,
        ["repos", _, _] => REPO,
        ["repos", _, _, "git", "refs", ..] => REFS,
        ["repos", _, _, "git", "ref", ..] => REF,
        ["repos", _, _, "contents", ..] => CONTENTS,
        ["repos", _, _, "pulls"] => PULLS,
        ["repos", _, _, "pulls", _] => PULL,
        ["repos", _, _, "pulls", _, "requested_reviewers"] => REQUESTED_REVIEWERS,
        ["repos", _, _, "issues"] => ISSUES,
        ["repos", _, _, "issues", _] => ISSUE,
        ["repos", _, _, "issues", _, "comments"] => ISSUE_COMMENTS,
        ["repos", _, _, "issues", _, "labels"] => ISSUE_LABELS,
        ["repos", _, _, "issues", _, "assignees"] => ISSUE_ASSIGNEES,
        ["repos", _, _, "issues", _, "timeline"] => ISSUE_TIMELINE,
        ["repos", _, _, "issues", _, "events"] => ISSUE_EVENTS,
        ["repos", _, _, "milestones"] => MILESTONES,
        _ => return path.to_owned(),
    };
    template.to_owned()
}

fn serve(world: &mut World, request: &Incoming, segments: &[String], root: &str) -> Answer {
    let parts: Vec<&str> = segments.iter().map(String::as_str).collect();
    match (&request.method, parts.as_slice()) {
        (&Method::POST, ["user", "repos"]) => {
            return create_repository(world, LOGIN, request, root);
        }
        (&Method::POST, ["orgs", org, "repos"]) => {
            return create_repository(world, org, request, root);
        }
        _ => {}
    }
    let ["repos", owner, name, rest @ ..] = parts.as_slice() else {
        return Answer::not_found();
    };
    let id = world.id();
    let Some(repo) = world.repos.get_mut(&repo_key(owner, name)) else {
        return Answer::not_found();
    };
    let body: Value = if request.body.is_empty() {
        Value::Null
    } else {
        match serde_json::from_slice(&request.body) {
            Ok(body) => body,
            Err(_) => {
                return Answer::error(StatusCode::BAD_REQUEST, "Problems parsing JSON");
            }
        }
    };
    let method = &request.method;
    let number = |text: &str| text.parse::<u64>().ok();
    match (method, rest) {
        (&Method::GET, []) => Answer::ok(repo_json(repo, root)),
        (&Method::GET, ["git", "refs", ..]) => {
            let refs: Vec<Value> = repo
                .branches
                .iter()
                .map(|(b, s)| ref_json(repo, b, &s.sha, root))
                .collect();
            paginate(refs, request, root)
        }
        (&Method::POST, ["git", "refs"]) => create_ref(repo, &body, root),
        (&Method::GET, ["git", "ref", "heads", branch @ ..]) => {
            let branch = branch.join("/");
            match repo.branches.get(&branch) {
                Some(state) => Answer::ok(ref_json(repo, &branch, &state.sha, root)),
                None => Answer::not_found(),
            }
        }
        (&Method::GET, ["contents", path @ ..]) => {
            get_contents(repo, request, &path.join("/"), root)
        }
        (&Method::GET, ["branches"]) => {
            let list: Vec<Value> = repo
                .branches
                .iter()
                .map(|(branch, state)| branch_summary_json(repo, branch, &state.sha, root))
                .collect();
            paginate(list, request, root)
        }
        (&Method::GET, ["branches", branch @ ..]) => {
            let branch = branch.join("/");
            match repo.branches.get(&branch) {
                Some(state) => Answer::ok(branch_json(repo, &branch, &state.sha, root)),
                None => Answer::error(StatusCode::NOT_FOUND, "Branch not found"),
            }
        }
        (&Method::PUT, ["contents", path @ ..]) => put_contents(repo, &body, &path.join("/"), root),
        (&Method::GET, ["pulls"]) => list_pulls(repo, request, root),
        (&Method::POST, ["pulls"]) => create_pull(repo, id, &body, root),
        (&Method::GET, ["pulls", n]) => match number(n).and_then(|n| repo.items.get(&n)) {
            Some(item) if item.pull.is_some() => Answer::ok(pull_json(repo, item, root)),
            _ => Answer::not_found(),
        },
        (&Method::POST, ["pulls", n, "requested_reviewers"]) => {
            let Some(item) = number(n).and_then(|n| repo.items.get_mut(&n)) else {
                return Answer::not_found();
            };
            let Some(pull) = item.pull.as_mut() else {
                return Answer::not_found();
            };
            for reviewer in strings(&body, "reviewers") {
                if !pull.requested_reviewers.contains(&reviewer) {
                    pull.requested_reviewers.push(reviewer.clone());
                    let at = now();
                    item.timeline.push(event(
                        "review_requested",
                        &at,
                        json!({"requested_reviewer": user(&reviewer)}),
                    ));
                }
            }
            shown(repo, item_number(n), root, pull_json, Answer::created)
        }
        (&Method::GET, ["issues"]) => list_issues(repo, request, root),
        (&Method::POST, ["issues"]) => create_issue(repo, id, &body, root),
        (&Method::GET, ["issues", n]) => match number(n).and_then(|n| repo.items.get(&n)) {
            Some(item) => Answer::ok(issue_json(repo, item, root)),
            None => Answer::not_found(),
        },
        (&Method::PATCH, ["issues", n]) => match number(n) {
            Some(n) if repo.items.contains_key(&n) => update_issue(repo, n, &body, root),
            _ => Answer::not_found(),
        },
        (&Method::GET, ["issues", n, "comments"]) => {
            let Some(n) = number(n).filter(|n| repo.items.contains_key(n)) else {
                return Answer::not_found();
            };
            let comments: Vec<Value> = repo
                .comments
                .iter()
                .filter(|c| c.issue == n)
                .map(|c| comment_json(repo, c, root))
                .collect();
            paginate(comments, request, root)
        }
        (&Method::POST, ["issues", n, "comments"]) => {
            let Some(n) = number(n).filter(|n| repo.items.contains_key(n)) else {
                return Answer::not_found();
            };
            let Some(text) = body.get("body").and_then(Value::as_str) else {
                return Answer::invalid("IssueComment", "body", "missing_field", None);
            };
            let at = now();
            let comment = CommentRecord {
                id,
                issue: n,
                body: text.to_owned(),
                created_at: at.clone(),
            };
            let value = comment_json(repo, &comment, root);
            if let Some(item) = repo.items.get_mut(&n) {
                let mut entry = value.clone();
                if let Some(object) = entry.as_object_mut() {
                    object.insert("event".to_owned(), json!("commented"));
                    object.insert("actor".to_owned(), user(LOGIN));
                }
                item.timeline.push(entry);
                item.updated_at = at;
            }
            repo.comments.push(comment);
            Answer::created(value)
        }
        (&Method::POST, ["issues", n, "labels"]) => {
            let Some(item) = number(n).and_then(|n| repo.items.get_mut(&n)) else {
                return Answer::not_found();
            };
            let mut labels = item.labels.clone();
            for label in strings(&body, "labels") {
                if !labels.contains(&label) {
                    labels.push(label);
                }
            }
            set_labels(item, labels);
            Answer::ok(json!(
                item.labels
                    .iter()
                    .map(|l| label_json(l))
                    .collect::<Vec<_>>()
            ))
        }
        (&Method::POST, ["issues", n, "assignees"]) => {
            let Some(item) = number(n).and_then(|n| repo.items.get_mut(&n)) else {
                return Answer::not_found();
            };
            let mut assignees = item.assignees.clone();
            for login in strings(&body, "assignees") {
                if !assignees.contains(&login) {
                    assignees.push(login);
                }
            }
            set_assignees(item, assignees);
            shown(repo, item_number(n), root, issue_json, Answer::created)
        }
        (&Method::GET, ["issues", n, kind @ ("timeline" | "events")]) => {
            let Some(item) = number(n).and_then(|n| repo.items.get(&n)) else {
                return Answer::not_found();
            };
            let events: Vec<Value> = item
                .timeline
                .iter()
                .filter(|e| *kind == "timeline" || e["event"] != "commented")
                .cloned()
                .collect();
            paginate(events, request, root)
        }
        (&Method::GET, ["milestones"]) => {
            let state = query(request, "state").unwrap_or_else(|| "open".to_owned());
            let list: Vec<Value> = repo
                .milestones
                .values()
                .filter(|m| state == "all" || m.state == state)
                .map(|m| milestone_json(repo, m, root))
                .collect();
            paginate(list, request, root)
        }
        (&Method::POST, ["milestones"]) => {
            let Some(title) = body.get("title").and_then(Value::as_str) else {
                return Answer::invalid("Milestone", "title", "missing_field", None);
            };
            if repo.milestones.values().any(|m| m.title == title) {
                return Answer::invalid("Milestone", "title", "already_exists", None);
            }
            let number = repo.milestones.keys().next_back().copied().unwrap_or(0) + 1;
            let milestone = MilestoneRecord {
                id,
                number,
                title: title.to_owned(),
                description: body
                    .get("description")
                    .and_then(Value::as_str)
                    .map(str::to_owned),
                state: body
                    .get("state")
                    .and_then(Value::as_str)
                    .unwrap_or("open")
                    .to_owned(),
                due_on: body
                    .get("due_on")
                    .and_then(Value::as_str)
                    .map(str::to_owned),
                created_at: now(),
            };
            let value = milestone_json(repo, &milestone, root);
            repo.milestones.insert(number, milestone);
            Answer::created(value)
        }
        _ => Answer::not_found(),
    }
}

/// Item `number` as `render` shows it, answered with `answer`; a 404 when
/// it is gone.
fn shown(
    repo: &Repo,
    number: u64,
    root: &str,
    render: fn(&Repo, &Item, &str) -> Value,
    answer: fn(Value) -> Answer,
) -> Answer {
    match repo.items.get(&number) {
        Some(item) => answer(render(repo, item, root)),
        None => Answer::not_found(),
    }
}

fn item_number(text: &str) -> u64 {
    text.parse().unwrap_or(0)
}

/// A list of strings in `body[key]`.
fn strings(body: &Value, key: &str) -> Vec<String> {
    body.get(key)
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

/// A query parameter, percent-decoded.
fn query(request: &Incoming, name: &str) -> Option<String> {
    request.query_param(name).map(|v| percent_decode(&v))
}

/// `POST /user/repos`, `POST /orgs/{org}/repos`: a new repository of
/// `owner`, empty unless `auto_init` asks for a README commit.
fn create_repository(world: &mut World, owner: &str, request: &Incoming, root: &str) -> Answer {
    let body: Value = if request.body.is_empty() {
        Value::Null
    } else {
        match serde_json::from_slice(&request.body) {
            Ok(body) => body,
            Err(_) => return Answer::error(StatusCode::BAD_REQUEST, "Problems parsing JSON"),
        }
    };
    let Some(name) = body.get("name").and_then(Value::as_str) else {
        return Answer::invalid("Repository", "name", "missing_field", None);
    };
    if !git::is_name(name) || !git::is_name(owner) {
        let message = format!(
            "`{name}` is not a valid repository name: use letters, digits, `-`, `_` and `.`"
        );
        return Answer::invalid("Repository", "name", "custom", Some(&message));
    }
    if world.repos.contains_key(&repo_key(owner, name)) {
        return Answer::invalid(
            "Repository",
            "name",
            "custom",
            Some("name already exists on this account"),
        );
    }
    let mut files = BTreeMap::new();
    if body.get("auto_init").and_then(Value::as_bool) == Some(true) {
        files.insert("README.md".to_owned(), format!("# {name}\n").into_bytes());
    }
    let key = insert_repo(
        world,
        owner,
        name,
        files,
        body.get("description")
            .and_then(Value::as_str)
            .map(str::to_owned),
        body.get("private")
            .and_then(Value::as_bool)
            .unwrap_or(false),
    );
    match world.repos.get(&key) {
        Some(repo) => Answer::created(repo_json(repo, root)),
        None => Answer::not_found(),
    }
}

fn create_ref(repo: &mut Repo, body: &Value, root: &str) -> Answer {
    let (Some(full_ref), Some(sha)) = (
        body.get("ref").and_then(Value::as_str),
        body.get("sha").and_then(Value::as_str),
    ) else {
        return Answer::invalid("Reference", "ref", "missing_field", None);
    };
    let Some(branch) = full_ref.strip_prefix("refs/heads/") else {
        return Answer::error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "Reference name must start with 'refs/' and have at least two slashes.",
        );
    };
    if repo.branches.contains_key(branch) {
        return Answer::error(StatusCode::UNPROCESSABLE_ENTITY, "Reference already exists");
    }
    let Some(source) = repo.branches.values().find(|b| b.sha == sha).cloned() else {
        return Answer::error(StatusCode::UNPROCESSABLE_ENTITY, "Object does not exist");
    };
    repo.branches.insert(branch.to_owned(), source);
    Answer::created(ref_json(repo, branch, sha, root))
}

fn get_contents(repo: &Repo, request: &Incoming, path: &str, root: &str) -> Answer {
    let branch = query(request, "ref").unwrap_or_else(|| repo.default_branch.clone());
    let Some(state) = repo.branches.get(&branch) else {
        return Answer::error(
            StatusCode::NOT_FOUND,
            &format!("No commit found for the ref {branch}"),
        );
    };
    if let Some(content) = state.files.get(path) {
        return Answer::ok(file_json(repo, &branch, path, content, root));
    }
    let prefix = if path.is_empty() {
        String::new()
    } else {
        format!("{path}/")
    };
    let mut entries: BTreeMap<String, Value> = BTreeMap::new();
    for (file, content) in state.files.range(prefix.clone()..) {
        let Some(rest) = file.strip_prefix(&prefix) else {
            break;
        };
        match rest.split_once('/') {
            Some((dir, _)) => {
                let dir_path = format!("{prefix}{dir}");
                entries.insert(
                    dir.to_owned(),
                    json!({"type": "dir", "name": dir, "path": dir_path, "sha": fake_sha(&[dir_path.as_bytes()]), "size": 0}),
                );
            }
            None => {
                let mut entry = file_json(repo, &branch, file, content, root);
                if let Some(object) = entry.as_object_mut() {
                    object.remove("content");
                    object.remove("encoding");
                }
                entries.insert(rest.to_owned(), entry);
            }
        }
    }
    if entries.is_empty() {
        Answer::not_found()
    } else {
        Answer::ok(Value::Array(entries.into_values().collect()))
    }
}

fn put_contents(repo: &mut Repo, body: &Value, path: &str, root: &str) -> Answer {
    let Some(message) = body.get("message").and_then(Value::as_str) else {
        return Answer::invalid("Commit", "message", "missing_field", None);
    };
    let Some(encoded) = body.get("content").and_then(Value::as_str) else {
        return Answer::invalid("Content", "content", "missing_field", None);
    };
    let Some(content) = base64_decode(encoded) else {
        return Answer::error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "content is not valid Base64",
        );
    };
    let branch = body
        .get("branch")
        .and_then(Value::as_str)
        .map_or_else(|| repo.default_branch.clone(), str::to_owned);
    let Some(state) = repo.branches.get_mut(&branch) else {
        return Answer::error(StatusCode::NOT_FOUND, &format!("Branch {branch} not found"));
    };
    let given = body.get("sha").and_then(Value::as_str);
    let existed = match (state.files.get(path), given) {
        (Some(_), None) => {
            return Answer::error(
                StatusCode::UNPROCESSABLE_ENTITY,
                "Invalid request.\n\n\"sha\" wasn't supplied.",
            );
        }
        (Some(current), Some(sha)) if blob_sha(current) != sha => {
            return Answer::error(
                StatusCode::CONFLICT,
                &format!("{path} does not match {sha}"),
            );
        }
        (Some(_), Some(_)) => true,
        (None, _) => false,
    };
    state.sha = fake_sha(&[
        state.sha.as_bytes(),
        path.as_bytes(),
        &content,
        message.as_bytes(),
    ]);
    state.files.insert(path.to_owned(), content.clone());
    let commit_sha = state.sha.clone();
    let full = format!("{}/{}", repo.owner, repo.name);
    let mut file = file_json(repo, &branch, path, &content, root);
    if let Some(object) = file.as_object_mut() {
        object.remove("content");
        object.remove("encoding");
    }
    let at = now();
    let answer = json!({
        "content": file,
        "commit": {
            "sha": commit_sha,
            "node_id": format!("C_emu{commit_sha}"),
            "url": format!("{root}/repos/{full}/git/commits/{commit_sha}"),
            "html_url": format!("{root}/{full}/commit/{commit_sha}"),
            "message": message,
            "author": {"name": LOGIN, "email": "emulator@example.com", "date": at},
            "committer": {"name": LOGIN, "email": "emulator@example.com", "date": at},
        },
    });
    if existed {
        Answer::ok(answer)
    } else {
        Answer::created(answer)
    }
}

/// `owner:branch` or `branch` → the branch, when the owner is this
/// repository's.
fn head_branch<'a>(repo: &Repo, head: &'a str) -> &'a str {
    match head.split_once(':') {
        Some((owner, branch)) if owner.eq_ignore_ascii_case(&repo.owner) => branch,
        Some(_) => "",
        None => head,
    }
}

fn list_pulls(repo: &Repo, request: &Incoming, root: &str) -> Answer {
    let state = query(request, "state").unwrap_or_else(|| "open".to_owned());
    let head = query(request, "head");
    let base = query(request, "base");
    let mut pulls: Vec<&Item> = repo
        .items
        .values()
        .filter(|item| {
            let Some(pull) = &item.pull else {
                return false;
            };
            (state == "all" || item.state == state)
                && head
                    .as_deref()
                    .is_none_or(|h| head_branch(repo, h) == pull.head)
                && base.as_deref().is_none_or(|b| b == pull.base)
        })
        .collect();
    if query(request, "direction").as_deref() != Some("asc") {
        pulls.reverse();
    }
    let list = pulls
        .into_iter()
        .map(|i| pull_json(repo, i, root))
        .collect();
    paginate(list, request, root)
}

fn create_pull(repo: &mut Repo, id: u64, body: &Value, root: &str) -> Answer {
    let text = |key: &str| body.get(key).and_then(Value::as_str);
    let (Some(title), Some(head), Some(base)) = (text("title"), text("head"), text("base")) else {
        let field = ["title", "head", "base"]
            .into_iter()
            .find(|k| text(k).is_none())
            .unwrap_or("title");
        return Answer::invalid("PullRequest", field, "missing_field", None);
    };
    let branch = head_branch(repo, head).to_owned();
    let Some(head_state) = repo.branches.get(&branch) else {
        return Answer::invalid("PullRequest", "head", "invalid", None);
    };
    if !repo.branches.contains_key(base) {
        return Answer::invalid("PullRequest", "base", "invalid", None);
    }
    let duplicate = repo.items.values().any(|item| {
        item.state == "open"
            && item
                .pull
                .as_ref()
                .is_some_and(|p| p.head == branch && p.base == base)
    });
    if duplicate {
        let message = format!("A pull request already exists for {}:{branch}.", repo.owner);
        return Answer::invalid("PullRequest", "", "custom", Some(&message));
    }
    let pull = PullState {
        head: branch,
        base: base.to_owned(),
        head_sha: head_state.sha.clone(),
        draft: body.get("draft").and_then(Value::as_bool).unwrap_or(false),
        merged_at: None,
        requested_reviewers: Vec::new(),
    };
    let number = new_item(
        repo,
        id,
        title,
        text("body").map(str::to_owned),
        Vec::new(),
        Vec::new(),
        None,
        Some(pull),
    );
    shown(repo, number, root, pull_json, Answer::created)
}

fn list_issues(repo: &Repo, request: &Incoming, root: &str) -> Answer {
    let state = query(request, "state").unwrap_or_else(|| "open".to_owned());
    let labels: Vec<String> = query(request, "labels")
        .map(|l| {
            l.split(',')
                .map(|s| s.trim().to_owned())
                .filter(|s| !s.is_empty())
                .collect()
        })
        .unwrap_or_default();
    let assignee = query(request, "assignee");
    let milestone = query(request, "milestone");
    let mut items: Vec<&Item> = repo
        .items
        .values()
        .filter(|item| {
            (state == "all" || item.state == state)
                && labels.iter().all(|l| item.labels.contains(l))
                && match assignee.as_deref() {
                    None => true,
                    Some("*") => !item.assignees.is_empty(),
                    Some("none") => item.assignees.is_empty(),
                    Some(login) => item.assignees.iter().any(|a| a == login),
                }
                && match milestone.as_deref() {
                    None => true,
                    Some("*") => item.milestone.is_some(),
                    Some("none") => item.milestone.is_none(),
                    Some(n) => n.parse::<u64>().ok() == item.milestone,
                }
        })
        .collect();
    if query(request, "direction").as_deref() != Some("asc") {
        items.reverse();
    }
    let list = items
        .into_iter()
        .map(|i| issue_json(repo, i, root))
        .collect();
    paginate(list, request, root)
}

fn milestone_number(repo: &Repo, value: Option<&Value>) -> Result<Option<u64>, Answer> {
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(value) => match value.as_u64() {
            Some(n) if repo.milestones.contains_key(&n) => Ok(Some(n)),
            _ => Err(Answer::invalid("Issue", "milestone", "invalid", None)),
        },
    }
}

fn create_issue(repo: &mut Repo, id: u64, body: &Value, root: &str) -> Answer {
    let Some(title) = body.get("title").and_then(Value::as_str) else {
        return Answer::invalid("Issue", "title", "missing_field", None);
    };
    let milestone = match milestone_number(repo, body.get("milestone")) {
        Ok(milestone) => milestone,
        Err(answer) => return answer,
    };
    let mut assignees = strings(body, "assignees");
    if let Some(one) = body.get("assignee").and_then(Value::as_str) {
        assignees.push(one.to_owned());
    }
    let number = new_item(
        repo,
        id,
        title,
        body.get("body").and_then(Value::as_str).map(str::to_owned),
        strings(body, "labels"),
        assignees,
        milestone,
        None,
    );
    if let (Some(item), Some(title)) = (
        repo.items.get_mut(&number),
        milestone
            .and_then(|n| repo.milestones.get(&n))
            .map(|m| m.title.clone()),
    ) {
        let at = item.created_at.clone();
        item.timeline.push(event(
            "milestoned",
            &at,
            json!({"milestone": {"title": title}}),
        ));
    }
    shown(repo, number, root, issue_json, Answer::created)
}

fn update_issue(repo: &mut Repo, number: u64, body: &Value, root: &str) -> Answer {
    let milestone = match body.get("milestone") {
        None => None,
        Some(value) => match milestone_number(repo, Some(value)) {
            Ok(milestone) => Some(milestone),
            Err(answer) => return answer,
        },
    };
    let milestone_title = |n: Option<u64>| {
        n.and_then(|n| repo.milestones.get(&n))
            .map(|m| m.title.clone())
            .unwrap_or_default()
    };
    let old_title = repo
        .items
        .get(&number)
        .and_then(|i| i.milestone)
        .map(|n| milestone_title(Some(n)));
    let new_title = milestone.map(milestone_title);
    let Some(item) = repo.items.get_mut(&number) else {
        return Answer::not_found();
    };
    let at = now();
    if let Some(title) = body.get("title").and_then(Value::as_str)
        && title != item.title
    {
        item.timeline.push(event(
            "renamed",
            &at,
            json!({"rename": {"from": item.title, "to": title}}),
        ));
        item.title = title.to_owned();
    }
    if let Some(text) = body.get("body") {
        item.body = text.as_str().map(str::to_owned);
    }
    if let Some(labels) = body.get("labels").filter(|l| l.is_array()) {
        let labels = strings(&json!({"labels": labels}), "labels");
        set_labels(item, labels);
    }
    if let Some(assignees) = body.get("assignees").filter(|a| a.is_array()) {
        let assignees = strings(&json!({"assignees": assignees}), "assignees");
        set_assignees(item, assignees);
    }
    if let Some(milestone) = milestone
        && milestone != item.milestone
    {
        if let Some(title) = old_title {
            item.timeline.push(event(
                "demilestoned",
                &at,
                json!({"milestone": {"title": title}}),
            ));
        }
        if let Some(title) = new_title.filter(|_| milestone.is_some()) {
            item.timeline.push(event(
                "milestoned",
                &at,
                json!({"milestone": {"title": title}}),
            ));
        }
        item.milestone = milestone;
    }
    match body.get("state").and_then(Value::as_str) {
        Some("closed") if item.state == "open" => {
            item.state = "closed";
            item.closed_at = Some(at.clone());
            let reason = body
                .get("state_reason")
                .and_then(Value::as_str)
                .unwrap_or("completed")
                .to_owned();
            item.timeline
                .push(event("closed", &at, json!({"state_reason": reason})));
            item.state_reason = Some(reason);
        }
        Some("open") if item.state == "closed" => {
            item.state = "open";
            item.closed_at = None;
            item.state_reason = Some("reopened".to_owned());
            item.timeline.push(event("reopened", &at, json!({})));
        }
        Some("open" | "closed") | None => {}
        Some(_) => return Answer::invalid("Issue", "state", "invalid", None),
    }
    item.updated_at = at;
    shown(repo, number, root, issue_json, Answer::ok)
}

fn set_labels(item: &mut Item, labels: Vec<String>) {
    let at = now();
    let old: BTreeSet<&String> = item.labels.iter().collect();
    let new: BTreeSet<&String> = labels.iter().collect();
    for removed in old.difference(&new) {
        item.timeline.push(event(
            "unlabeled",
            &at,
            json!({"label": label_json(removed)}),
        ));
    }
    for added in new.difference(&old) {
        item.timeline
            .push(event("labeled", &at, json!({"label": label_json(added)})));
    }
    item.labels = labels;
    item.updated_at = at;
}

fn set_assignees(item: &mut Item, assignees: Vec<String>) {
    let at = now();
    for removed in item.assignees.iter().filter(|a| !assignees.contains(a)) {
        item.timeline
            .push(event("unassigned", &at, json!({"assignee": user(removed)})));
    }
    for added in assignees.iter().filter(|a| !item.assignees.contains(a)) {
        item.timeline
            .push(event("assigned", &at, json!({"assignee": user(added)})));
    }
    item.assignees = assignees;
    item.updated_at = at;
}

/// One page of `items` as `per_page` and `page` ask, with GitHub's `Link`
/// header when there is more than one page.
fn paginate(items: Vec<Value>, request: &Incoming, root: &str) -> Answer {
    let per_page = query(request, "per_page")
        .and_then(|p| p.parse::<usize>().ok())
        .unwrap_or(30)
        .clamp(1, 100);
    let page = query(request, "page")
        .and_then(|p| p.parse::<usize>().ok())
        .unwrap_or(1)
        .max(1);
    let last = items.len().div_ceil(per_page).max(1);
    let start = (page - 1).saturating_mul(per_page);
    let slice: Vec<Value> = items.into_iter().skip(start).take(per_page).collect();
    let link = (last > 1).then(|| {
        let path = request.uri.path();
        let others: Vec<String> = request
            .uri
            .query()
            .unwrap_or("")
            .split('&')
            .filter(|pair| !pair.is_empty() && !pair.starts_with("page="))
            .map(str::to_owned)
            .collect();
        let url = |n: usize| {
            let mut query = others.clone();
            query.push(format!("page={n}"));
            format!("<{root}{path}?{}>", query.join("&"))
        };
        let mut parts = Vec::new();
        if page > 1 {
            parts.push(format!("{}; rel=\"prev\"", url(page - 1)));
        }
        if page < last {
            parts.push(format!("{}; rel=\"next\"", url(page + 1)));
        }
        parts.push(format!("{}; rel=\"last\"", url(last)));
        parts.push(format!("{}; rel=\"first\"", url(1)));
        parts.join(", ")
    });
    Answer {
        status: StatusCode::OK,
        body: Value::Array(slice),
        link,
    }
}

/// Decodes `%XX` escapes and `+` (as a query does) into text.
fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        match bytes[index] {
            b'%' if index + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[index + 1..index + 3]).unwrap_or("");
                match u8::from_str_radix(hex, 16) {
                    Ok(byte) => {
                        out.push(byte);
                        index += 3;
                    }
                    Err(_) => {
                        out.push(b'%');
                        index += 1;
                    }
                }
            }
            b'+' => {
                out.push(b' ');
                index += 1;
            }
            byte => {
                out.push(byte);
                index += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

const BASE64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Base64 with a line break every 60 characters, as GitHub sends file
/// contents.
fn base64_encode_wrapped(bytes: &[u8]) -> String {
    let mut out = String::new();
    for (index, chunk) in bytes.chunks(3).enumerate() {
        if index > 0 && index % 15 == 0 {
            out.push('\n');
        }
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for position in 0..4 {
            if position <= chunk.len() {
                out.push(char::from(
                    BASE64[((n >> (18 - 6 * position)) & 63) as usize],
                ));
            } else {
                out.push('=');
            }
        }
    }
    if !out.is_empty() {
        out.push('\n');
    }
    out
}

/// Decodes standard base64 (whitespace ignored); `None` when invalid.
fn base64_decode(text: &str) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    let mut buffer = 0u32;
    let mut bits = 0;
    for byte in text.bytes().filter(|b| !b.is_ascii_whitespace()) {
        if byte == b'=' {
            break;
        }
        let value = BASE64.iter().position(|c| *c == byte)? as u32;
        buffer = (buffer << 6) | value;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((buffer >> bits) as u8);
            buffer &= (1 << bits) - 1;
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_round_trips() {
        for text in ["", "a", "ab", "abc", "hello, world\n", &"x".repeat(200)] {
            let encoded = base64_encode_wrapped(text.as_bytes());
            assert_eq!(base64_decode(&encoded).unwrap(), text.as_bytes());
        }
        assert_eq!(base64_encode_wrapped(b"hi"), "aGk=\n");
    }

    #[test]
    fn dates_are_iso8601() {
        assert_eq!(iso8601(0), "1970-01-01T00:00:00Z");
        assert_eq!(iso8601(1_302_796_849), "2011-04-14T16:00:49Z");
    }

    #[test]
    fn percent_decoding() {
        assert_eq!(percent_decode("o%3Abranch+x"), "o:branch x");
        assert_eq!(percent_decode("100%"), "100%");
    }

    #[tokio::test]
    async fn wrong_tokens_get_bad_credentials_and_pages_link() {
        let emulator = GitHubEmulator::start().await.unwrap();
        emulator.create_repo("acme", "widgets");
        for n in 0..5 {
            emulator.seed_issue("acme", "widgets", &format!("issue {n}"), "", &[]);
        }
        let client = reqwest::Client::new();
        let url = format!(
            "{}/repos/acme/widgets/issues?per_page=2",
            emulator.base_url()
        );
        let answer = client
            .get(&url)
            .header("authorization", "Bearer nope")
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), 401);
        let body: Value = answer.json().await.unwrap();
        assert_eq!(body["message"], "Bad credentials");
        let answer = client
            .get(&url)
            .header("authorization", format!("token {}", emulator.token()))
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), 200);
        let link = answer.headers()["link"].to_str().unwrap().to_owned();
        assert!(link.contains("page=2>; rel=\"next\""), "{link}");
        assert!(link.contains("page=3>; rel=\"last\""), "{link}");
        assert!(answer.headers().contains_key("x-ratelimit-remaining"));
        let body: Value = answer.json().await.unwrap();
        assert_eq!(body.as_array().unwrap().len(), 2);
        assert_eq!(body[0]["number"], 5);
    }
}
