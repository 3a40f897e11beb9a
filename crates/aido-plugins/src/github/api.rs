//! The GitHub REST client both GitHub plugins use: requests through the
//! shared HTTP layer, `Link`-header pagination, repository names, the
//! response models and the idempotency marker.

use std::time::Duration;

use aido_plugin_api::{Error, ErrorKind, Result, Secret};
use chrono::{DateTime, Utc};
use reqwest::Method;
use serde::Deserialize;
use serde::de::DeserializeOwned;

use super::config::{GitHubConnection, GitHubOptions};
use crate::http::{Auth, HttpClient, HttpConfig};

/// The REST API version this client speaks (`X-GitHub-Api-Version`).
const API_VERSION: &str = "2022-11-28";

/// A connected GitHub REST client.
#[derive(Debug, Clone)]
pub(crate) struct GitHubApi {
    client: HttpClient,
    page_size: u32,
    defaults: Defaults,
}

/// The owner and repository used when a call names none.
#[derive(Debug, Clone, Default)]
pub(crate) struct Defaults {
    owner: Option<String>,
    repo: Option<String>,
}

/// `owner/name`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RepoName {
    /// The user or organisation.
    pub(crate) owner: String,
    /// The repository's name.
    pub(crate) name: String,
}

impl std::fmt::Display for RepoName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.owner, self.name)
    }
}

impl RepoName {
    /// The API path of the repository, `repos/<owner>/<name>`.
    pub(crate) fn path(&self) -> String {
        format!("repos/{}/{}", segment(&self.owner), segment(&self.name))
    }
}

/// Whether `text` is a GitHub user, organisation or repository name.
pub(crate) fn is_name(text: &str) -> bool {
    !text.is_empty()
        && text != "."
        && text != ".."
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

impl GitHubApi {
    /// A client for the configured API, named `plugin` in errors.
    pub(crate) fn new(
        plugin: &str,
        connection: &GitHubConnection,
        options: &GitHubOptions,
    ) -> Result<Self> {
        let timeout = Duration::from_secs(options.timeout_seconds.max(1));
        let client = HttpClient::new(
            HttpConfig::new(plugin, &connection.base_url)
                .auth(Auth::Bearer(connection.token.clone()))
                .header("accept", "application/vnd.github+json")
                .header("x-github-api-version", API_VERSION)
                .timeouts(timeout.min(Duration::from_secs(10)), timeout)
                .max_retries(options.max_retries)
                .rate_limit(options.rate_limit_per_second),
        )?;
        Ok(GitHubApi {
            client,
            page_size: options.page_size.clamp(1, 100),
            defaults: Defaults {
                owner: connection.owner.clone(),
                repo: connection.repo.clone(),
            },
        })
    }

    /// The repository a call means: `owner/name`, a bare `name` of the
    /// configured owner, or the configured repository when empty.
    pub(crate) fn repo(&self, input: Option<&str>) -> Result<RepoName> {
        let input = input.map(str::trim).unwrap_or("");
        let (owner, name) = match input.split_once('/') {
            Some((owner, name)) => (Some(owner.to_owned()), Some(name.to_owned())),
            None if input.is_empty() => (self.defaults.owner.clone(), self.defaults.repo.clone()),
            None => (self.defaults.owner.clone(), Some(input.to_owned())),
        };
        let name = name.map(|n| n.trim_end_matches(".git").to_owned());
        match (owner, name) {
            (Some(owner), Some(name)) if is_name(&owner) && is_name(&name) => {
                Ok(RepoName { owner, name })
            }
            (None, _) | (_, None) if input.is_empty() => Err(Error::invalid_input(
                "no repository given and none configured; pass `owner/name` or set \
                 connection.owner and connection.repo",
            )),
            _ => Err(Error::invalid_input(format!(
                "`{input}` is not a GitHub repository; expected `owner/name`"
            ))),
        }
    }

    /// `GET path` decoded as `T`.
    pub(crate) async fn get<T: DeserializeOwned>(
        &self,
        operation: &str,
        path: &str,
        query: &[(&str, &str)],
    ) -> Result<T> {
        let mut request = self.client.get(operation, path);
        for (name, value) in query {
            request = request.query(name, value);
        }
        request.send_json().await.map_err(github_error)
    }

    /// `method path` with a JSON body, decoded as `T`.
    pub(crate) async fn send<T: DeserializeOwned>(
        &self,
        operation: &str,
        method: Method,
        path: &str,
        body: &serde_json::Value,
    ) -> Result<T> {
        self.client
            .request(operation, method, path)
            .json(body)
            .send_json()
            .await
            .map_err(github_error)
    }

    /// Every item of a paginated list (following `rel="next"`), or the
    /// first `limit` matching `keep`.
    pub(crate) async fn list<T: DeserializeOwned>(
        &self,
        operation: &str,
        path: &str,
        query: &[(&str, &str)],
        limit: Option<usize>,
        mut keep: impl FnMut(&T) -> bool,
    ) -> Result<Vec<T>> {
        let mut items = Vec::new();
        let per_page = self.page_size.to_string();
        let mut page = 1u32;
        loop {
            let page_text = page.to_string();
            let mut request = self.client.get(operation, path);
            for (name, value) in query {
                request = request.query(name, value);
            }
            let response = request
                .query("per_page", &per_page)
                .query("page", &page_text)
                .send()
                .await
                .map_err(github_error)?;
            let batch: Vec<T> = response.json()?;
            let has_next = response
                .headers()
                .get("link")
                .and_then(|v| v.to_str().ok())
                .is_some_and(has_next_link);
            for item in batch {
                if keep(&item) {
                    items.push(item);
                    if limit.is_some_and(|limit| items.len() >= limit) {
                        return Ok(items);
                    }
                }
            }
            if !has_next {
                return Ok(items);
            }
            page += 1;
        }
    }
}

/// Whether a `Link` header has a `rel="next"` link.
fn has_next_link(link: &str) -> bool {
    link.split(',').any(|part| {
        part.split(';')
            .skip(1)
            .any(|param| param.trim().replace(' ', "") == "rel=\"next\"")
    })
}

/// GitHub answers an exhausted rate limit with 403 as often as 429: a 403
/// saying so is a rate limit, not a credentials problem.
fn github_error(err: Error) -> Error {
    if err.kind() == ErrorKind::Authentication && err.message().contains("rate limit") {
        let mut again = Error::rate_limited(err.message().to_owned(), err.retry_after())
            .in_call(err.plugin(), err.operation());
        if let Some(after) = err.retry_after() {
            again = again.with_retry_after(after);
        }
        return again;
    }
    err
}

/// One path segment, percent-encoded (everything but unreserved
/// characters), so names and file paths cannot change the URL's shape.
pub(crate) fn segment(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// A file path as API path segments (`a/b c` → `a/b%20c`).
pub(crate) fn file_path(path: &str) -> String {
    path.trim_matches('/')
        .split('/')
        .map(segment)
        .collect::<Vec<_>>()
        .join("/")
}

/// The marker an idempotency key leaves in a body GitHub stores.
pub(crate) fn marker(key: &str) -> String {
    format!("<!-- aido:{key} -->")
}

/// `body` with the marker of `key` appended, when there is a key.
pub(crate) fn with_marker(body: &str, key: Option<&str>) -> Result<String> {
    let Some(key) = key else {
        return Ok(body.to_owned());
    };
    if key.contains("--") || key.contains('\n') {
        return Err(Error::invalid_input(
            "the idempotency key cannot hold `--` or line breaks (it is stored in an HTML comment)",
        ));
    }
    Ok(if body.is_empty() {
        marker(key)
    } else {
        format!("{body}\n\n{}", marker(key))
    })
}

/// `body` without any aido marker, as the user wrote it.
pub(crate) fn strip_marker(body: &str) -> String {
    let mut text = body.to_owned();
    while let Some(start) = text.find("<!-- aido:") {
        let Some(end) = text[start..].find("-->") else {
            break;
        };
        text.replace_range(start..start + end + 3, "");
    }
    text.trim_end().to_owned()
}

/// Standard base64 with padding, as the contents API takes file content.
pub(crate) fn base64_encode(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b1 = chunk.get(1).copied().unwrap_or(0);
        let b2 = chunk.get(2).copied().unwrap_or(0);
        let n = (u32::from(chunk[0]) << 16) | (u32::from(b1) << 8) | u32::from(b2);
        for position in 0..4 {
            if position <= chunk.len() {
                out.push(char::from(
                    ALPHABET[((n >> (18 - 6 * position)) & 63) as usize],
                ));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// The token, for git's credential header (`x-access-token:<token>`,
/// base64, as GitHub's own checkout action sends it).
pub(crate) fn git_basic_credential(token: &Secret) -> String {
    base64_encode(format!("x-access-token:{}", token.expose()).as_bytes())
}

/// A user as the API shows one.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct User {
    /// The login.
    pub(crate) login: String,
}

/// A label as the API shows one.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct Label {
    /// Its name.
    pub(crate) name: String,
}

/// `GET /repos/{owner}/{repo}`.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct RepoModel {
    pub(crate) name: String,
    pub(crate) full_name: String,
    #[serde(default)]
    pub(crate) description: Option<String>,
    pub(crate) default_branch: String,
    #[serde(default)]
    pub(crate) html_url: Option<String>,
    pub(crate) clone_url: String,
    #[serde(default)]
    pub(crate) private: bool,
}

/// A milestone.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct MilestoneModel {
    pub(crate) number: u64,
    pub(crate) title: String,
    #[serde(default)]
    pub(crate) description: Option<String>,
    pub(crate) state: String,
    #[serde(default)]
    pub(crate) html_url: Option<String>,
    pub(crate) created_at: DateTime<Utc>,
    #[serde(default)]
    pub(crate) closed_issues: u64,
}

/// An issue (or a pull request seen as an issue).
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct IssueModel {
    pub(crate) number: u64,
    pub(crate) title: String,
    #[serde(default)]
    pub(crate) body: Option<String>,
    pub(crate) state: String,
    #[serde(default)]
    pub(crate) labels: Vec<Label>,
    #[serde(default)]
    pub(crate) assignees: Vec<User>,
    #[serde(default)]
    pub(crate) assignee: Option<User>,
    #[serde(default)]
    pub(crate) milestone: Option<MilestoneModel>,
    #[serde(default)]
    pub(crate) html_url: Option<String>,
    pub(crate) created_at: DateTime<Utc>,
    pub(crate) updated_at: DateTime<Utc>,
    /// Present when the issue is a pull request.
    #[serde(default)]
    pub(crate) pull_request: Option<serde_json::Value>,
}

/// A comment on an issue or pull request.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct CommentModel {
    pub(crate) id: u64,
    #[serde(default)]
    pub(crate) body: Option<String>,
    #[serde(default)]
    pub(crate) user: Option<User>,
    pub(crate) created_at: DateTime<Utc>,
}

/// A branch or commit a pull request points at.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct PullEnd {
    #[serde(rename = "ref")]
    pub(crate) reference: String,
}

/// A pull request.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct PullModel {
    pub(crate) id: u64,
    pub(crate) number: u64,
    pub(crate) html_url: String,
    pub(crate) title: String,
    #[serde(default)]
    pub(crate) body: Option<String>,
    #[serde(default)]
    pub(crate) draft: Option<bool>,
    pub(crate) state: String,
    #[serde(default)]
    pub(crate) merged_at: Option<DateTime<Utc>>,
    pub(crate) head: PullEnd,
    pub(crate) base: PullEnd,
    pub(crate) created_at: DateTime<Utc>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markers_round_trip() {
        let body = with_marker("Fixes it.", Some("aido:run1:pr")).unwrap();
        assert!(body.contains(&marker("aido:run1:pr")));
        assert_eq!(strip_marker(&body), "Fixes it.");
        assert!(with_marker("x", Some("a--b")).is_err());
        assert_eq!(with_marker("x", None).unwrap(), "x");
    }

    #[test]
    fn next_links_are_found() {
        assert!(has_next_link(
            "<https://api.github.com/x?page=2>; rel=\"next\", <https://api.github.com/x?page=3>; rel=\"last\""
        ));
        assert!(!has_next_link(
            "<https://api.github.com/x?page=1>; rel=\"prev\", <https://api.github.com/x?page=1>; rel=\"first\""
        ));
    }

    #[test]
    fn base64_matches_the_standard() {
        assert_eq!(base64_encode(b""), "");
        assert_eq!(base64_encode(b"f"), "Zg==");
        assert_eq!(base64_encode(b"fo"), "Zm8=");
        assert_eq!(base64_encode(b"foobar"), "Zm9vYmFy");
    }

    #[test]
    fn segments_are_encoded() {
        assert_eq!(file_path("docs/a b#c.md"), "docs/a%20b%23c.md");
        assert_eq!(segment("50%"), "50%25");
    }
}
