//! Repositories, branches, commits and pull requests: the `version_control`
//! kind's data.
//!
//! Two kinds of address appear here. `repository` names a repository as the
//! plugin understands it (`owner/name` for a forge, a path or URL for plain
//! git). `workdir` is a local working copy made by `clone_repository`, where
//! branches are made, changes committed and pushed.

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Input of `clone_repository`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CloneRequest {
    /// What to clone: a URL, a local path, or `owner/name` on a forge.
    pub repository: String,
    /// Where to put the working copy; must not exist or be empty.
    pub destination: String,
    /// The branch to check out; the default branch when absent.
    #[serde(default)]
    pub branch: Option<String>,
    /// Shallow clone depth; full history when absent.
    #[serde(default)]
    pub depth: Option<u32>,
}

/// A local working copy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct LocalRepository {
    /// The working copy's path.
    pub workdir: String,
    /// The branch checked out.
    pub branch: String,
    /// The commit checked out.
    pub head: String,
    /// The repository's default branch.
    pub default_branch: String,
}

/// Input of `create_branch`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NewBranch {
    /// The working copy.
    pub workdir: String,
    /// The branch's name.
    pub branch: String,
    /// What to branch from; the current `HEAD` when absent.
    #[serde(default)]
    pub from: Option<String>,
}

/// A branch.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Branch {
    /// Its name.
    pub name: String,
    /// The commit it points at.
    pub commit: String,
    /// `false` when the branch already existed and was reused, which is how
    /// a resumed run avoids making it twice.
    pub created: bool,
}

/// Who wrote a commit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Signature {
    /// Name.
    pub name: String,
    /// Email.
    pub email: String,
}

/// Input of `commit_changes`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CommitRequest {
    /// The working copy.
    pub workdir: String,
    /// The commit message.
    pub message: String,
    /// The files to commit, relative to the working copy; every change when
    /// empty.
    #[serde(default)]
    pub files: Vec<String>,
    /// The author; the working copy's configured identity when absent.
    #[serde(default)]
    pub author: Option<Signature>,
}

/// A commit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Commit {
    /// Its full hash.
    pub sha: String,
    /// Its message.
    pub message: String,
    /// The files it changed.
    #[serde(default)]
    pub files: Vec<String>,
}

/// Input of `push_branch`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PushRequest {
    /// The working copy.
    pub workdir: String,
    /// The branch to push.
    pub branch: String,
    /// The remote; `origin` when absent.
    #[serde(default)]
    pub remote: Option<String>,
    /// Whether to force the push (with lease).
    #[serde(default)]
    pub force: bool,
}

/// What a push did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct PushResult {
    /// The remote pushed to.
    pub remote: String,
    /// The branch pushed.
    pub branch: String,
    /// The commit the remote branch now points at.
    pub commit: String,
}

/// Input of `create_pull_request`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NewPullRequest {
    /// The repository.
    pub repository: String,
    /// The title.
    pub title: String,
    /// The description, Markdown.
    #[serde(default)]
    pub description: String,
    /// The branch with the changes.
    pub source_branch: String,
    /// The branch to merge into; the default branch when absent.
    #[serde(default)]
    pub target_branch: Option<String>,
    /// Open it as a draft.
    #[serde(default)]
    pub draft: bool,
    /// Labels to put on it.
    #[serde(default)]
    pub labels: Vec<String>,
    /// Reviewers to request.
    #[serde(default)]
    pub reviewers: Vec<String>,
}

/// Whether a pull request is still open.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum PullRequestState {
    /// Open for review.
    Open,
    /// Closed without merging.
    Closed,
    /// Merged.
    Merged,
}

/// A pull (or merge) request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct PullRequest {
    /// The forge's identifier.
    pub id: String,
    /// Its number in the repository.
    pub number: u64,
    /// A link to it.
    pub url: String,
    /// The title.
    pub title: String,
    /// The description.
    #[serde(default)]
    pub description: String,
    /// The branch with the changes.
    pub source_branch: String,
    /// The branch it merges into.
    pub target_branch: String,
    /// Whether it is a draft.
    #[serde(default)]
    pub draft: bool,
    /// Open, closed or merged.
    pub state: PullRequestState,
    /// When it was opened.
    pub created: DateTime<Utc>,
}

/// Input of `list_pull_requests`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PullRequestQuery {
    /// The repository.
    pub repository: String,
    /// Only pull requests in this state.
    #[serde(default)]
    pub state: Option<PullRequestState>,
    /// Only pull requests from this branch.
    #[serde(default)]
    pub source_branch: Option<String>,
}

/// Names one repository.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RepositoryRef {
    /// The repository.
    pub repository: String,
}

/// What a forge knows about a repository.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct RepositoryInfo {
    /// Short name.
    pub name: String,
    /// Full name, such as `owner/name`.
    pub full_name: String,
    /// Its description.
    #[serde(default)]
    pub description: Option<String>,
    /// Its default branch.
    pub default_branch: String,
    /// A link to it.
    #[serde(default)]
    pub url: Option<String>,
    /// What to clone.
    pub clone_url: String,
    /// Whether it is private.
    #[serde(default)]
    pub private: bool,
}

/// Input of `get_file_content`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FileRequest {
    /// The repository.
    pub repository: String,
    /// The file's path in the repository.
    pub path: String,
    /// A branch, tag or commit; the default branch when absent.
    #[serde(default, rename = "ref")]
    pub reference: Option<String>,
}

/// A file's content at a revision.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct FileContent {
    /// The file's path.
    pub path: String,
    /// Its content, as UTF-8 text.
    pub content: String,
    /// The blob's hash, when the forge gives one.
    #[serde(default)]
    pub sha: Option<String>,
    /// The revision it was read at.
    #[serde(rename = "ref")]
    pub reference: String,
}

/// Input of `update_file`: writes one file with a commit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FileUpdate {
    /// The repository.
    pub repository: String,
    /// The file's path in the repository.
    pub path: String,
    /// Its new content.
    pub content: String,
    /// The commit message.
    pub message: String,
    /// The branch to commit to; the default branch when absent.
    #[serde(default)]
    pub branch: Option<String>,
}
