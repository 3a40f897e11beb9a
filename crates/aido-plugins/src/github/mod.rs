//! The `github` plugin (kind `version_control`): GitHub's REST API for
//! repositories, files and pull requests, and the git CLI (through the
//! built-in `git` plugin) for local working copies.
//!
//! # Configuration
//!
//! ```yaml
//! plugins:
//!   version_control:
//!     provider: github
//!     config:
//!       connection:
//!         token: ${GITHUB_TOKEN}          # required
//!         # base_url: https://api.github.com   (GitHub Enterprise: https://<host>/api/v3)
//!         # owner: acme                    # for bare repository names
//!         # repo: widgets                  # when a call names none
//!       options:
//!         cache_ttl: 60                    # seconds repository info is reused
//!         timeout_seconds: 30
//!         max_retries: 3
//!         # rate_limit_per_second: 5
//!         # page_size: 100
//! ```
//!
//! Environment variables with the prefix `GITHUB_` override keys:
//! `GITHUB_TOKEN` sets `connection.token`.
//!
//! # What it does
//!
//! `repository` arguments are `owner/name` (or a bare `name` of
//! `connection.owner`). `get_repository_info`, `get_file_content` (base64
//! decoded), `update_file` (a `PUT` of the contents API with the current
//! blob's `sha`; a missing branch is made from the default branch first;
//! writing the content a file already has makes no commit),
//! `create_pull_request` and `list_pull_requests` call the API.
//!
//! `create_pull_request` is idempotent: with an idempotency key it puts
//! `<!-- aido:<key> -->` in the description and first looks for a pull
//! request from the same head carrying it; without one, an open pull request
//! from the same head into the same base is returned (GitHub allows only
//! one). Reviewers and labels are then requested, which is harmless to
//! repeat, so a run that stopped half-way completes them.
//!
//! `clone_repository`, `create_branch`, `commit_changes` and `push_branch`
//! run git through the `git` plugin. An `owner/name` is cloned from the web
//! host of `base_url` (`api.github.com` → `github.com`, `<host>/api/v3` →
//! `<host>`); URLs and local paths are cloned as given. The token reaches
//! git as an `http.<host>/.extraheader` set through `GIT_CONFIG_*`
//! environment variables of each git call, scoped to that host: it is never
//! in a command line, a log line or the saved remote URL.

pub(crate) mod api;
pub(crate) mod config;

#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::ffi::OsString;
use std::sync::{Arc, LazyLock, Mutex, PoisonError};
use std::time::{Duration, Instant};

use aido_plugin_api::model::vcs::{
    Branch, CloneRequest, Commit, CommitRequest, FileContent, FileRequest, FileUpdate,
    LocalRepository, NewBranch, NewPullRequest, PullRequest, PullRequestQuery, PullRequestState,
    PushRequest, PushResult, RepositoryInfo, RepositoryRef,
};
use aido_plugin_api::{
    CallContext, ConfigProblem, Error, ErrorKind, Health, Plugin, PluginConfig, PluginFactory,
    PluginInstance, PluginKind, PluginMetadata, Result, VersionControl, async_trait,
};
use reqwest::Method;
use schemas::GitHubConfig;
use serde_json::json;

use self::api::{GitHubApi, PullModel, RepoModel, RepoName, file_path, strip_marker, with_marker};
use crate::connected::Connected;
use crate::git::GitPlugin;

/// The plugin's name in `provider:`.
const NAME: &str = "github";

static META: LazyLock<PluginMetadata> = LazyLock::new(|| {
    PluginMetadata::new::<GitHubConfig>(
        NAME,
        PluginKind::VersionControl,
        env!("CARGO_PKG_VERSION"),
        "GitHub and GitHub Enterprise: pull requests, files and repository info through the \
         REST API; clones, branches, commits and pushes through git.",
    )
});

/// The `github` plugin's factory, for the registry.
pub fn factory() -> PluginFactory {
    PluginFactory::new(META.clone(), || {
        PluginInstance::VersionControl(Arc::new(GitHubPlugin::default()))
    })
}

mod schemas {
    //! The `github` plugin's configuration type.
    use schemars::JsonSchema;
    use serde::Deserialize;

    use super::config::{GitHubConnection, GitHubOptions};

    /// Configuration of the `github` plugin.
    #[derive(Debug, Deserialize, JsonSchema)]
    #[serde(deny_unknown_fields)]
    pub(crate) struct GitHubConfig {
        /// How to reach GitHub.
        pub(crate) connection: GitHubConnection,
        /// How calls are made.
        #[serde(default)]
        pub(crate) options: GitHubOptions,
    }
}

/// The `github` plugin: unconfigured until `connect`.
#[derive(Debug, Default)]
pub(crate) struct GitHubPlugin {
    state: Connected<Session>,
    /// Environment added to every git call (tests keep the machine's git
    /// configuration out with it).
    git_env: Vec<(OsString, OsString)>,
}

/// What `connect` sets up.
#[derive(Debug)]
struct Session {
    api: GitHubApi,
    git: GitPlugin,
    /// `https://github.com`: where `owner/name` is cloned from.
    web_root: String,
    cache_ttl: Duration,
    cache: Mutex<HashMap<String, (Instant, RepoModel)>>,
}

impl GitHubPlugin {
    #[cfg(test)]
    fn with_git_env(git_env: Vec<(OsString, OsString)>) -> Self {
        GitHubPlugin {
            git_env,
            ..GitHubPlugin::default()
        }
    }

    fn session(&self) -> Result<Arc<Session>> {
        self.state.get(NAME)
    }
}

/// The web root of an API base URL: `https://api.github.com` →
/// `https://github.com`, `https://ghe.example.com/api/v3` →
/// `https://ghe.example.com`, anything else its scheme, host and port.
pub(crate) fn web_root(base_url: &str) -> Result<String> {
    let url = reqwest::Url::parse(base_url.trim())
        .map_err(|err| Error::configuration(format!("`{base_url}` is not a URL ({err})")))?;
    let host = url
        .host_str()
        .ok_or_else(|| Error::configuration(format!("`{base_url}` has no host")))?;
    let host = if host.eq_ignore_ascii_case("api.github.com") {
        "github.com"
    } else {
        host
    };
    Ok(match url.port() {
        Some(port) => format!("{}://{host}:{port}", url.scheme()),
        None => format!("{}://{host}", url.scheme()),
    })
}

fn config_problems(config: &GitHubConfig) -> Vec<ConfigProblem> {
    config::check(&config.connection, &config.options)
}

#[async_trait]
impl Plugin for GitHubPlugin {
    fn metadata(&self) -> &PluginMetadata {
        &META
    }

    fn validate_config(&self, config: &PluginConfig) -> Vec<ConfigProblem> {
        match config.parse::<GitHubConfig>() {
            Ok(parsed) => config_problems(&parsed),
            Err(err) => vec![ConfigProblem::new("", err.message())],
        }
    }

    async fn connect(&self, config: &PluginConfig) -> Result<()> {
        let parsed: GitHubConfig = config.parse()?;
        let problems = config_problems(&parsed);
        if !problems.is_empty() {
            let text: Vec<String> = problems
                .iter()
                .map(|p| format!("{}: {}", p.path, p.message))
                .collect();
            return Err(Error::configuration(text.join("; ")));
        }
        let api = GitHubApi::new(NAME, &parsed.connection, &parsed.options)?;
        let web_root = web_root(&parsed.connection.base_url)?;
        let mut env = self.git_env.clone();
        // The token as an HTTP header scoped to the GitHub host, set
        // through git's environment configuration: never an argument, a
        // logged line or part of a URL git saves.
        env.extend([
            ("GIT_CONFIG_COUNT".into(), "1".into()),
            (
                "GIT_CONFIG_KEY_0".into(),
                format!("http.{web_root}/.extraheader").into(),
            ),
            (
                "GIT_CONFIG_VALUE_0".into(),
                format!(
                    "AUTHORIZATION: basic {}",
                    api::git_basic_credential(&parsed.connection.token)
                )
                .into(),
            ),
        ]);
        let git = GitPlugin::with_env(env);
        let git_config = PluginConfig::new(
            config.instance(),
            json!({}),
            config.project_dir(),
            config.data_dir(),
        );
        git.connect(&git_config).await?;
        self.state.set(Session {
            api,
            git,
            web_root,
            cache_ttl: Duration::from_secs(parsed.options.cache_ttl),
            cache: Mutex::new(HashMap::new()),
        });
        Ok(())
    }

    async fn disconnect(&self) -> Result<()> {
        if let Ok(session) = self.session() {
            let _ = session.git.disconnect().await;
        }
        self.state.clear();
        Ok(())
    }

    async fn health_check(&self) -> Health {
        let session = match self.session() {
            Ok(session) => session,
            Err(err) => return Health::Unhealthy(err.message().to_owned()),
        };
        // `GET /rate_limit` costs nothing against the limit and proves the
        // token is accepted.
        match session
            .api
            .get::<serde_json::Value>("health_check", "rate_limit", &[])
            .await
        {
            Ok(_) => Health::Healthy,
            Err(err) if err.kind() == ErrorKind::RateLimited => {
                Health::Degraded(format!("rate limited right now: {}", err.message()))
            }
            Err(err) if err.kind() == ErrorKind::NotFound => Health::Healthy,
            Err(err) => Health::Unhealthy(err.message().to_owned()),
        }
    }
}

impl Session {
    /// The repository's description, from the cache when fresh.
    async fn repo_info(&self, operation: &str, repo: &RepoName) -> Result<RepoModel> {
        let key = repo.to_string().to_ascii_lowercase();
        if !self.cache_ttl.is_zero() {
            let cache = self.cache.lock().unwrap_or_else(PoisonError::into_inner);
            if let Some((at, model)) = cache.get(&key)
                && at.elapsed() < self.cache_ttl
            {
                return Ok(model.clone());
            }
        }
        let model: RepoModel = self.api.get(operation, &repo.path(), &[]).await?;
        if !self.cache_ttl.is_zero() {
            self.cache
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .insert(key, (Instant::now(), model.clone()));
        }
        Ok(model)
    }

    /// The sha a branch points at, or `None` when it does not exist.
    async fn branch_sha(
        &self,
        operation: &str,
        repo: &RepoName,
        branch: &str,
    ) -> Result<Option<String>> {
        #[derive(serde::Deserialize)]
        struct Ref {
            object: RefObject,
        }
        #[derive(serde::Deserialize)]
        struct RefObject {
            sha: String,
        }
        let path = format!("{}/git/ref/heads/{}", repo.path(), file_path(branch));
        match self.api.get::<Ref>(operation, &path, &[]).await {
            Ok(found) => Ok(Some(found.object.sha)),
            Err(err) if err.kind() == ErrorKind::NotFound => Ok(None),
            Err(err) => Err(err),
        }
    }
}

fn pull_request(model: PullModel) -> PullRequest {
    let state = match (model.state.as_str(), model.merged_at) {
        (_, Some(_)) => PullRequestState::Merged,
        ("open", None) => PullRequestState::Open,
        _ => PullRequestState::Closed,
    };
    PullRequest {
        id: model.id.to_string(),
        number: model.number,
        url: model.html_url,
        title: model.title,
        description: strip_marker(model.body.as_deref().unwrap_or("")),
        source_branch: model.head.reference,
        target_branch: model.base.reference,
        draft: model.draft.unwrap_or(false),
        state,
        created: model.created_at,
    }
}

/// Whether a `repository` argument is something git clones as given (a
/// URL, an scp-like address or a local path) rather than `owner/name`.
fn is_git_address(repository: &str) -> bool {
    repository.contains("://")
        || repository.starts_with('/')
        || repository.starts_with('.')
        || repository.starts_with('~')
        || repository.contains('@')
        || repository.contains('\\')
        || repository.matches('/').count() > 1
}

#[async_trait]
impl VersionControl for GitHubPlugin {
    async fn clone_repository(
        &self,
        cx: &CallContext,
        mut input: CloneRequest,
    ) -> Result<LocalRepository> {
        let session = self.session()?;
        if !is_git_address(&input.repository) {
            let repo = session.api.repo(Some(&input.repository))?;
            input.repository = format!("{}/{}/{}.git", session.web_root, repo.owner, repo.name);
        }
        session.git.clone_repository(cx, input).await
    }

    async fn create_branch(&self, cx: &CallContext, input: NewBranch) -> Result<Branch> {
        self.session()?.git.create_branch(cx, input).await
    }

    async fn commit_changes(&self, cx: &CallContext, input: CommitRequest) -> Result<Commit> {
        self.session()?.git.commit_changes(cx, input).await
    }

    async fn push_branch(&self, cx: &CallContext, input: PushRequest) -> Result<PushResult> {
        self.session()?.git.push_branch(cx, input).await
    }

    async fn create_pull_request(
        &self,
        cx: &CallContext,
        input: NewPullRequest,
    ) -> Result<PullRequest> {
        const OP: &str = "create_pull_request";
        let session = self.session()?;
        let repo = session.api.repo(Some(&input.repository))?;
        let key = cx.idempotency_key.as_deref();
        let body = with_marker(&input.description, key)?;
        let base = match &input.target_branch {
            Some(base) => base.clone(),
            None => session.repo_info(OP, &repo).await?.default_branch,
        };
        let head = format!("{}:{}", repo.owner, input.source_branch);
        let pulls_path = format!("{}/pulls", repo.path());
        // Made before? A pull request from this head carrying our marker,
        // or (GitHub allows one) an open one from this head into this base.
        let existing: Vec<PullModel> = session
            .api
            .list(
                OP,
                &pulls_path,
                &[("state", "all"), ("head", &head)],
                None,
                |_| true,
            )
            .await?;
        let marker = key.map(api::marker);
        let found = existing
            .iter()
            .find(|p| {
                marker
                    .as_deref()
                    .is_some_and(|m| p.body.as_deref().unwrap_or("").contains(m))
            })
            .or_else(|| {
                existing
                    .iter()
                    .find(|p| p.state == "open" && p.base.reference == base)
            })
            .cloned();
        let model = match found {
            Some(model) => model,
            None => {
                session
                    .api
                    .send(
                        OP,
                        Method::POST,
                        &pulls_path,
                        &json!({
                            "title": input.title,
                            "head": input.source_branch,
                            "base": base,
                            "body": body,
                            "draft": input.draft,
                        }),
                    )
                    .await?
            }
        };
        if !input.reviewers.is_empty() {
            let path = format!("{}/pulls/{}/requested_reviewers", repo.path(), model.number);
            session
                .api
                .send::<serde_json::Value>(
                    OP,
                    Method::POST,
                    &path,
                    &json!({"reviewers": input.reviewers}),
                )
                .await?;
        }
        if !input.labels.is_empty() {
            let path = format!("{}/issues/{}/labels", repo.path(), model.number);
            session
                .api
                .send::<serde_json::Value>(
                    OP,
                    Method::POST,
                    &path,
                    &json!({"labels": input.labels}),
                )
                .await?;
        }
        Ok(pull_request(model))
    }

    async fn list_pull_requests(
        &self,
        _cx: &CallContext,
        input: PullRequestQuery,
    ) -> Result<Vec<PullRequest>> {
        let session = self.session()?;
        let repo = session.api.repo(Some(&input.repository))?;
        let state = match input.state {
            Some(PullRequestState::Open) => "open",
            Some(PullRequestState::Closed | PullRequestState::Merged) => "closed",
            None => "all",
        };
        let head = input
            .source_branch
            .as_ref()
            .map(|branch| format!("{}:{branch}", repo.owner));
        let mut query = vec![("state", state)];
        if let Some(head) = &head {
            query.push(("head", head));
        }
        let wanted = input.state;
        let pulls: Vec<PullModel> = session
            .api
            .list(
                "list_pull_requests",
                &format!("{}/pulls", repo.path()),
                &query,
                None,
                |p: &PullModel| match wanted {
                    Some(PullRequestState::Merged) => p.merged_at.is_some(),
                    Some(PullRequestState::Closed) => p.merged_at.is_none(),
                    _ => true,
                },
            )
            .await?;
        Ok(pulls.into_iter().map(pull_request).collect())
    }

    async fn get_repository_info(
        &self,
        _cx: &CallContext,
        input: RepositoryRef,
    ) -> Result<RepositoryInfo> {
        let session = self.session()?;
        let repo = session.api.repo(Some(&input.repository))?;
        let model = session.repo_info("get_repository_info", &repo).await?;
        Ok(RepositoryInfo {
            name: model.name,
            full_name: model.full_name,
            description: model.description,
            default_branch: model.default_branch,
            url: model.html_url,
            clone_url: model.clone_url,
            private: model.private,
        })
    }

    async fn get_file_content(&self, _cx: &CallContext, input: FileRequest) -> Result<FileContent> {
        const OP: &str = "get_file_content";
        let session = self.session()?;
        let repo = session.api.repo(Some(&input.repository))?;
        let reference = match input.reference {
            Some(reference) => reference,
            None => session.repo_info(OP, &repo).await?.default_branch,
        };
        let file = read_file(&session, OP, &repo, &input.path, &reference)
            .await?
            .ok_or_else(|| {
                Error::not_found(format!(
                    "{} has no file `{}` at `{reference}`",
                    repo, input.path
                ))
            })?;
        let content = String::from_utf8(file.bytes).map_err(|_| {
            Error::unsupported(format!(
                "`{}` is not UTF-8 text; binary files cannot be read as text",
                input.path
            ))
        })?;
        Ok(FileContent {
            path: input.path,
            content,
            sha: Some(file.sha),
            reference,
        })
    }

    async fn update_file(&self, _cx: &CallContext, input: FileUpdate) -> Result<Commit> {
        const OP: &str = "update_file";
        let session = self.session()?;
        let repo = session.api.repo(Some(&input.repository))?;
        let info = session.repo_info(OP, &repo).await?;
        let branch = input.branch.clone().unwrap_or(info.default_branch.clone());
        let head = match session.branch_sha(OP, &repo, &branch).await? {
            Some(sha) => sha,
            None => {
                let base = session
                    .branch_sha(OP, &repo, &info.default_branch)
                    .await?
                    .ok_or_else(|| {
                        Error::not_found(format!("{repo} has no default branch to branch from"))
                    })?;
                session
                    .api
                    .send::<serde_json::Value>(
                        OP,
                        Method::POST,
                        &format!("{}/git/refs", repo.path()),
                        &json!({"ref": format!("refs/heads/{branch}"), "sha": base}),
                    )
                    .await?;
                base
            }
        };
        let current = read_file(&session, OP, &repo, &input.path, &branch).await?;
        if let Some(current) = &current
            && current.bytes == input.content.as_bytes()
        {
            // Already there (a retried step): no empty commit.
            return Ok(Commit {
                sha: head,
                message: input.message,
                files: vec![input.path],
            });
        }
        let mut body = json!({
            "message": input.message,
            "content": api::base64_encode(input.content.as_bytes()),
            "branch": branch,
        });
        if let (Some(current), Some(object)) = (&current, body.as_object_mut()) {
            object.insert("sha".to_owned(), json!(current.sha));
        }
        #[derive(serde::Deserialize)]
        struct Written {
            commit: WrittenCommit,
        }
        #[derive(serde::Deserialize)]
        struct WrittenCommit {
            sha: String,
        }
        let path = format!("{}/contents/{}", repo.path(), file_path(&input.path));
        let written: Written = session.api.send(OP, Method::PUT, &path, &body).await?;
        Ok(Commit {
            sha: written.commit.sha,
            message: input.message,
            files: vec![input.path],
        })
    }
}

/// A file read through the contents API.
struct FileBlob {
    bytes: Vec<u8>,
    sha: String,
}

/// Reads a file at `reference`; `None` when it does not exist.
async fn read_file(
    session: &Session,
    operation: &str,
    repo: &RepoName,
    path: &str,
    reference: &str,
) -> Result<Option<FileBlob>> {
    let api_path = format!("{}/contents/{}", repo.path(), file_path(path));
    let value: serde_json::Value = match session
        .api
        .get(operation, &api_path, &[("ref", reference)])
        .await
    {
        Ok(value) => value,
        Err(err) if err.kind() == ErrorKind::NotFound => return Ok(None),
        Err(err) => return Err(err),
    };
    if value.is_array() || value.get("type").and_then(|t| t.as_str()) != Some("file") {
        return Err(Error::invalid_input(format!(
            "`{path}` is not a file in {repo}"
        )));
    }
    let (Some(content), Some(sha)) = (
        value.get("content").and_then(|c| c.as_str()),
        value.get("sha").and_then(|s| s.as_str()),
    ) else {
        return Err(Error::invalid_response(
            "the contents API answered without `content` and `sha`",
        ));
    };
    let bytes = crate::console::base64::decode(content).map_err(|err| {
        Error::invalid_response(format!(
            "the contents API sent content that is not base64: {err}"
        ))
    })?;
    Ok(Some(FileBlob {
        bytes,
        sha: sha.to_owned(),
    }))
}
