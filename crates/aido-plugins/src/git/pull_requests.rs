//! Pull requests without a forge: recorded honestly as JSON files for local
//! review.
//!
//! A pull request of repository `R` is the file
//! `<data_dir>/pull_requests/<repo-key>/<number>.json`, where the repo key is
//! `R`'s canonical path made safe for a folder name (see [`repo_key`]). The
//! record holds what a reviewer needs: title, description, branches, the
//! commits on the source branch that the target lacks and the diff stat, as
//! they were when it was opened. Numbers are allocated under a lock file so
//! that concurrent runs never share one.

use std::path::{Path, PathBuf};

use aido_plugin_api::model::vcs::{
    NewPullRequest, PullRequest, PullRequestQuery, PullRequestState,
};
use aido_plugin_api::{CallContext, Error, Result};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::commit::idempotency_key;
use super::config::Settings;
use super::repository::{LocalRepo, ResolvedBranch, file_url};
use super::validate;
use crate::fs_util::{FileLock, atomic_write};

/// One pull request as stored on disk.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct PullRequestRecord {
    /// Its number in the repository, from 1.
    pub(crate) number: u64,
    /// `<repo-key>/<number>`: unique across repositories.
    pub(crate) id: String,
    /// The repository's canonical path.
    pub(crate) repository: String,
    /// The title.
    pub(crate) title: String,
    /// The description, Markdown.
    #[serde(default)]
    pub(crate) description: String,
    /// The branch with the changes.
    pub(crate) source_branch: String,
    /// The branch it merges into.
    pub(crate) target_branch: String,
    /// The source branch's commit when it was opened.
    pub(crate) source_commit: String,
    /// The target branch's commit when it was opened.
    pub(crate) target_commit: String,
    /// Whether it is a draft.
    #[serde(default)]
    pub(crate) draft: bool,
    /// Open, closed or merged (edit the file to close or merge it).
    pub(crate) state: PullRequestState,
    /// When it was opened.
    pub(crate) created: DateTime<Utc>,
    /// Labels asked for.
    #[serde(default)]
    pub(crate) labels: Vec<String>,
    /// Reviewers asked for.
    #[serde(default)]
    pub(crate) reviewers: Vec<String>,
    /// The idempotency key of the call that opened it, if any.
    #[serde(default)]
    pub(crate) idempotency_key: Option<String>,
    /// The commits on the source branch that the target lacks, newest first.
    pub(crate) commits: Vec<RecordedCommit>,
    /// `git diff --stat target...source`.
    pub(crate) diff_stat: String,
}

/// A commit listed in a pull request record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct RecordedCommit {
    /// Its full hash.
    pub(crate) sha: String,
    /// The first line of its message.
    pub(crate) subject: String,
}

/// `create_pull_request`: records a pull request, or returns the open one
/// for the same source branch (or made under the same idempotency key).
pub(crate) async fn create_pull_request(
    settings: &Settings,
    cx: &CallContext,
    request: NewPullRequest,
) -> Result<PullRequest> {
    let repo =
        LocalRepo::from_argument(settings, &request.repository, "create_pull_request").await?;
    if request.title.trim().is_empty() {
        return Err(Error::invalid_input(
            "the pull request title is empty; give it a one-line summary",
        ));
    }
    validate::revision(&request.source_branch)?;
    if let Some(target) = &request.target_branch {
        validate::revision(target)?;
    }
    let key = idempotency_key(cx)?;
    let store = RecordStore::new(settings, &repo);
    // Held until the record is written: the existing-record check and the
    // number allocation must see every other writer's records.
    let _lock = store.lock().await?;
    let records = store.load_all().await?;
    if let Some(existing) = find_existing(&records, &request.source_branch, key) {
        tracing::info!(number = existing.number, "pull request already recorded");
        return Ok(store.to_api(existing));
    }
    let draft = draft_record(settings, &repo, &request, key).await?;
    let number = records.iter().map(|r| r.number).max().unwrap_or(0) + 1;
    let record = PullRequestRecord {
        number,
        id: format!("{}/{number}", store.key),
        ..draft
    };
    store.write(&record).await?;
    tracing::info!(number, repository = %repo.display(), source = %record.source_branch, "pull request recorded");
    Ok(store.to_api(&record))
}

/// `list_pull_requests`: the records of a repository, by number, filtered.
pub(crate) async fn list_pull_requests(
    settings: &Settings,
    query: PullRequestQuery,
) -> Result<Vec<PullRequest>> {
    let repo = LocalRepo::from_argument(settings, &query.repository, "list_pull_requests").await?;
    let store = RecordStore::new(settings, &repo);
    let records = store.load_all().await?;
    Ok(records
        .iter()
        .filter(|r| query.state.is_none_or(|state| r.state == state))
        .filter(|r| {
            query
                .source_branch
                .as_ref()
                .is_none_or(|branch| &r.source_branch == branch)
        })
        .map(|r| store.to_api(r))
        .collect())
}

/// The record a repeated call should return: the one made under the same
/// idempotency key, else an open one from the same source branch.
fn find_existing<'a>(
    records: &'a [PullRequestRecord],
    source: &str,
    key: Option<&str>,
) -> Option<&'a PullRequestRecord> {
    key.and_then(|key| {
        records
            .iter()
            .find(|r| r.idempotency_key.as_deref() == Some(key))
    })
    .or_else(|| {
        records
            .iter()
            .find(|r| r.state == PullRequestState::Open && r.source_branch == source)
    })
}

/// Everything of a new record but its number and id, read from git.
async fn draft_record(
    settings: &Settings,
    repo: &LocalRepo,
    request: &NewPullRequest,
    key: Option<&str>,
) -> Result<PullRequestRecord> {
    let git = &settings.git;
    let target_branch = match &request.target_branch {
        Some(target) => target.clone(),
        None => repo.default_branch(git, &settings.default_remote).await?,
    };
    if target_branch == request.source_branch {
        return Err(Error::invalid_input(format!(
            "source and target are both `{target_branch}`; a pull request merges one branch into another"
        )));
    }
    let source = branch(settings, repo, &request.source_branch, "source").await?;
    let target = branch(settings, repo, &target_branch, "target").await?;
    let range = format!("{}..{}", target.refname, source.refname);
    let log = repo
        .git(git)
        .args(["log", "--format=%H%x1f%s", &range, "--"])
        .run()
        .await?;
    let commits: Vec<RecordedCommit> = log
        .lines()
        .filter_map(|line| line.split_once('\x1f'))
        .map(|(sha, subject)| RecordedCommit {
            sha: sha.to_owned(),
            subject: subject.to_owned(),
        })
        .collect();
    if commits.is_empty() {
        return Err(Error::invalid_input(format!(
            "`{}` has no commits that `{target_branch}` lacks in {}; there is nothing to review",
            request.source_branch,
            repo.display()
        )));
    }
    let three_dots = format!("{}...{}", target.refname, source.refname);
    let diff_stat = repo
        .git(git)
        .args(["diff", "--stat", &three_dots, "--"])
        .run()
        .await?;
    Ok(PullRequestRecord {
        number: 0,
        id: String::new(),
        repository: repo.display(),
        title: request.title.clone(),
        description: request.description.clone(),
        source_branch: request.source_branch.clone(),
        target_branch,
        source_commit: source.sha,
        target_commit: target.sha,
        draft: request.draft,
        state: PullRequestState::Open,
        created: Utc::now(),
        labels: request.labels.clone(),
        reviewers: request.reviewers.clone(),
        idempotency_key: key.map(str::to_owned),
        commits,
        diff_stat,
    })
}

/// Branch `name` of `repo`, or `not_found` naming it and its role.
async fn branch(
    settings: &Settings,
    repo: &LocalRepo,
    name: &str,
    role: &str,
) -> Result<ResolvedBranch> {
    repo.resolve_branch(&settings.git, name, &settings.default_remote).await?.ok_or_else(|| {
        Error::not_found(format!(
            "{role} branch `{name}` does not exist in {} (neither locally nor as `{}/{name}`); push it first",
            repo.display(),
            settings.default_remote
        ))
    })
}

/// The records of one repository.
struct RecordStore {
    key: String,
    dir: PathBuf,
}

impl RecordStore {
    fn new(settings: &Settings, repo: &LocalRepo) -> Self {
        let key = repo_key(&repo.root);
        let dir = settings.data_dir.join("pull_requests").join(&key);
        RecordStore { key, dir }
    }

    fn path_of(&self, number: u64) -> PathBuf {
        self.dir.join(format!("{number}.json"))
    }

    async fn lock(&self) -> Result<FileLock> {
        let path = self.dir.join(".lock");
        let shown = path.display().to_string();
        tokio::task::spawn_blocking(move || FileLock::acquire(&path))
            .await
            .map_err(|err| Error::other(format!("locking {shown} failed: {err}")))?
            .map_err(|err| Error::other(format!("cannot lock {shown}: {err}")))
    }

    /// Every record, by number. A record that cannot be read is an error
    /// naming its file rather than a pull request silently missing.
    async fn load_all(&self) -> Result<Vec<PullRequestRecord>> {
        let mut entries = match tokio::fs::read_dir(&self.dir).await {
            Ok(entries) => entries,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(err) => {
                return Err(Error::other(format!(
                    "cannot read {}: {err}",
                    self.dir.display()
                )));
            }
        };
        let mut records = Vec::new();
        while let Some(entry) = entries
            .next_entry()
            .await
            .map_err(|err| Error::other(format!("cannot read {}: {err}", self.dir.display())))?
        {
            let path = entry.path();
            if record_number(&path).is_some() {
                records.push(read_record(&path).await?);
            }
        }
        records.sort_by_key(|r| r.number);
        Ok(records)
    }

    async fn write(&self, record: &PullRequestRecord) -> Result<()> {
        let path = self.path_of(record.number);
        let mut json = serde_json::to_vec_pretty(record).map_err(|err| {
            Error::other(format!(
                "cannot encode pull request {}: {err}",
                record.number
            ))
        })?;
        json.push(b'\n');
        let shown = path.display().to_string();
        tokio::task::spawn_blocking(move || atomic_write(&path, &json))
            .await
            .map_err(|err| Error::other(format!("writing {shown} failed: {err}")))?
            .map_err(|err| Error::other(format!("cannot write {shown}: {err}")))
    }

    fn to_api(&self, record: &PullRequestRecord) -> PullRequest {
        PullRequest {
            id: record.id.clone(),
            number: record.number,
            url: file_url(&self.path_of(record.number)),
            title: record.title.clone(),
            description: record.description.clone(),
            source_branch: record.source_branch.clone(),
            target_branch: record.target_branch.clone(),
            draft: record.draft,
            state: record.state,
            created: record.created,
        }
    }
}

/// The number in a record's file name (`12.json`), if it is one.
fn record_number(path: &Path) -> Option<u64> {
    let name = path.file_name()?.to_str()?;
    name.strip_suffix(".json")?.parse().ok()
}

async fn read_record(path: &Path) -> Result<PullRequestRecord> {
    let text = tokio::fs::read(path).await.map_err(|err| {
        Error::other(format!(
            "cannot read pull request record {}: {err}",
            path.display()
        ))
    })?;
    serde_json::from_slice(&text).map_err(|err| {
        Error::other(format!(
            "pull request record {} is not valid ({err}); fix or remove it",
            path.display()
        ))
    })
}

/// The folder name of a repository's records: the tail of its canonical
/// path with every character other than ASCII letters and digits turned into
/// `-` (readable), then a hash of the whole path (so that `/a/b-c` and
/// `/a-b/c` never share a folder).
pub(crate) fn repo_key(root: &Path) -> String {
    const MAX_READABLE: usize = 60;
    let full = root.to_string_lossy();
    let mut readable = String::new();
    for c in full.chars() {
        let c = if c.is_ascii_alphanumeric() { c } else { '-' };
        if !(c == '-' && readable.ends_with('-')) {
            readable.push(c);
        }
    }
    let readable = readable.trim_matches('-');
    let tail = &readable[readable.len().saturating_sub(MAX_READABLE)..];
    format!(
        "{}-{:016x}",
        tail.trim_start_matches('-'),
        fnv1a(full.as_bytes())
    )
}

/// The 64-bit FNV-1a hash: stable across runs and Rust versions, unlike
/// `DefaultHasher`, so a repository keeps its folder.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, &byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repo_keys_are_readable_safe_and_distinct() {
        let key = repo_key(Path::new("/srv/git/shop.git"));
        assert!(key.starts_with("srv-git-shop-git-"), "{key}");
        assert!(
            key.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'),
            "{key}"
        );
        assert_ne!(repo_key(Path::new("/a/b-c")), repo_key(Path::new("/a-b/c")));
        assert_eq!(repo_key(Path::new("/a/b")), repo_key(Path::new("/a/b")));
        let long = format!("/{}", "x/".repeat(100));
        assert!(repo_key(Path::new(&long)).len() <= 60 + 17);
    }

    #[test]
    fn fnv1a_matches_the_reference_values() {
        assert_eq!(fnv1a(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a(b"a"), 0xaf63_dc4c_8601_ec8c);
    }

    #[test]
    fn only_numbered_json_files_are_records() {
        assert_eq!(record_number(Path::new("/x/12.json")), Some(12));
        assert_eq!(record_number(Path::new("/x/.lock")), None);
        assert_eq!(record_number(Path::new("/x/notes.json")), None);
        assert_eq!(record_number(Path::new("/x/.12.json.99.0.tmp")), None);
    }
}
