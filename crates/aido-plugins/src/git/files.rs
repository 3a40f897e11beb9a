//! Single files at a revision: `get_file_content` reads one, `update_file`
//! writes one with a commit, in a working copy or straight into a bare
//! repository (with git's plumbing and a temporary index, since a bare
//! repository has no files to edit).

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use aido_plugin_api::model::vcs::{Commit, FileContent, FileRequest, FileUpdate};
use aido_plugin_api::{CallContext, Error, Result};

use super::branch::checkout;
use super::commit::{
    Change, check_message, commit_in_working_copy, describe, find_by_key, idempotency_key,
    message_with_trailer, with_identity,
};
use super::config::Settings;
use super::repository::LocalRepo;
use super::validate;
use crate::fs_util::atomic_write;

/// `get_file_content`: `path` as it is at `ref` (the default branch when
/// absent).
pub(crate) async fn get_file_content(
    settings: &Settings,
    request: FileRequest,
) -> Result<FileContent> {
    let git = &settings.git;
    let repo = LocalRepo::from_argument(settings, &request.repository, "get_file_content").await?;
    let path = validate::repository_path(&request.path)?;
    let (reference, commit) = match &request.reference {
        Some(reference) => {
            validate::revision(reference)?;
            let commit = repo.commit_of(git, reference).await?.ok_or_else(|| {
                Error::not_found(format!(
                    "`{reference}` is not a branch, tag or commit of {}",
                    repo.display()
                ))
            })?;
            (reference.clone(), commit)
        }
        None => default_revision(settings, &repo).await?,
    };
    let blob = repo
        .git(git)
        .args(["rev-parse", "--verify", "--quiet", "--end-of-options"])
        .arg(format!("{commit}:{path}"))
        .output()
        .await?;
    if !blob.success {
        return Err(Error::not_found(format!(
            "`{path}` does not exist at `{reference}` in {}",
            repo.display()
        )));
    }
    let blob = blob.stdout_text();
    let kind = repo.git(git).args(["cat-file", "-t", &blob]).run().await?;
    if kind != "blob" {
        return Err(Error::invalid_input(format!(
            "`{path}` at `{reference}` is a {}, not a file",
            if kind == "tree" {
                "folder"
            } else {
                kind.as_str()
            }
        )));
    }
    let bytes = repo
        .git(git)
        .args(["cat-file", "blob", &blob])
        .output()
        .await?;
    bytes.ok()?;
    let content = String::from_utf8(bytes.stdout).map_err(|_| {
        Error::unsupported(format!(
            "`{path}` at `{reference}` is binary, and only UTF-8 text can be returned"
        ))
    })?;
    Ok(FileContent {
        path,
        content,
        sha: Some(blob),
        reference,
    })
}

/// The revision read when a call names none: a bare repository's `HEAD`
/// (its default branch), or a working copy's default branch, local or
/// remote-tracking, falling back to `HEAD`.
async fn default_revision(settings: &Settings, repo: &LocalRepo) -> Result<(String, String)> {
    let git = &settings.git;
    if !repo.bare
        && let Ok(name) = repo.default_branch(git, &settings.default_remote).await
        && let Some(branch) = repo
            .resolve_branch(git, &name, &settings.default_remote)
            .await?
    {
        return Ok((name, branch.sha));
    }
    let name = repo
        .current_branch(git)
        .await?
        .unwrap_or_else(|| "HEAD".to_owned());
    let commit = repo.commit_of(git, "HEAD").await?.ok_or_else(|| {
        Error::not_found(format!(
            "{} has no commits yet, so it has no files",
            repo.display()
        ))
    })?;
    Ok((name, commit))
}

/// `update_file`: writes `path` on `branch` (the default branch when absent)
/// and commits it. With an idempotency key, a commit already made under it
/// on that branch is returned instead.
pub(crate) async fn update_file(
    settings: &Settings,
    cx: &CallContext,
    request: FileUpdate,
) -> Result<Commit> {
    let git = &settings.git;
    let repo = LocalRepo::from_argument(settings, &request.repository, "update_file").await?;
    let path = validate::repository_path(&request.path)?;
    check_message(&request.message)?;
    let key = idempotency_key(cx)?;
    let branch = match &request.branch {
        Some(branch) => branch.clone(),
        None => repo.default_branch(git, &settings.default_remote).await?,
    };
    validate::branch_name(git, &branch).await?;
    let update = Update {
        path: &path,
        content: &request.content,
        message: &request.message,
        branch: &branch,
        key,
    };
    if repo.bare {
        update_bare(settings, &repo, update).await
    } else {
        update_working_copy(settings, &repo, update).await
    }
}

/// One file to write with a commit.
struct Update<'a> {
    path: &'a str,
    content: &'a str,
    message: &'a str,
    branch: &'a str,
    key: Option<&'a str>,
}

async fn update_working_copy(
    settings: &Settings,
    repo: &LocalRepo,
    update: Update<'_>,
) -> Result<Commit> {
    let git = &settings.git;
    switch_to(settings, repo, update.branch).await?;
    if let Some(key) = update.key
        && let Some(sha) = find_by_key(git, repo, "HEAD", key).await?
    {
        return describe(git, repo, &sha).await;
    }
    let target = inside_working_copy(repo, update.path).await?;
    let content = update.content.as_bytes().to_vec();
    let shown = update.path.to_owned();
    tokio::task::spawn_blocking(move || atomic_write(&target, &content))
        .await
        .map_err(|err| Error::other(format!("writing `{shown}` failed: {err}")))?
        .map_err(|err| {
            Error::other(format!(
                "cannot write `{shown}` in {}: {err}",
                repo.display()
            ))
        })?;
    let files = [update.path.to_owned()];
    let change = Change {
        message: update.message,
        files: &files,
        author: None,
        key: update.key,
    };
    commit_in_working_copy(settings, repo, change).await
}

/// Checks out `branch` in the working copy: the local branch, or a new one
/// tracking the remote's.
async fn switch_to(settings: &Settings, repo: &LocalRepo, branch: &str) -> Result<()> {
    let git = &settings.git;
    if repo.current_branch(git).await?.as_deref() == Some(branch) {
        return Ok(());
    }
    if repo.has_local_branch(git, branch).await? {
        return checkout(git, repo, branch).await;
    }
    let remote_branch = format!("{}/{branch}", settings.default_remote);
    if repo
        .commit_of(git, &format!("refs/remotes/{remote_branch}"))
        .await?
        .is_some()
    {
        return repo
            .git(git)
            .args(["checkout", "--quiet", "--track", &remote_branch])
            .run()
            .await
            .map(drop);
    }
    Err(Error::not_found(format!(
        "branch `{branch}` does not exist in {}",
        repo.display()
    )))
}

/// The file `path` of the working copy, with its folder created and checked
/// to be inside the working copy even through symbolic links.
async fn inside_working_copy(repo: &LocalRepo, path: &str) -> Result<PathBuf> {
    let target = repo.root.join(path);
    let parent = target.parent().unwrap_or(&repo.root).to_owned();
    let escape = || {
        Error::invalid_input(format!(
            "`{path}` leads outside {} through a symbolic link",
            repo.display()
        ))
    };
    tokio::fs::create_dir_all(&parent).await.map_err(|err| {
        Error::other(format!(
            "cannot create the folder of `{path}` in {}: {err}",
            repo.display()
        ))
    })?;
    let real_parent = tokio::fs::canonicalize(&parent)
        .await
        .map_err(|_| escape())?;
    if !real_parent.starts_with(&repo.root) || real_parent.starts_with(repo.root.join(".git")) {
        return Err(escape());
    }
    Ok(target)
}

/// Commits one file to a branch of a bare repository: blob, temporary
/// index, tree, commit, then the branch moved only if nobody moved it since.
async fn update_bare(settings: &Settings, repo: &LocalRepo, update: Update<'_>) -> Result<Commit> {
    let git = &settings.git;
    let refname = format!("refs/heads/{}", update.branch);
    let parent = repo.commit_of(git, &refname).await?;
    let unborn_head = repo.current_branch(git).await?.as_deref() == Some(update.branch);
    if parent.is_none() && !unborn_head {
        return Err(Error::not_found(format!(
            "branch `{}` does not exist in {}",
            update.branch,
            repo.display()
        )));
    }
    if let Some(key) = update.key
        && let Some(sha) = find_by_key(git, repo, &refname, key).await?
    {
        return describe(git, repo, &sha).await;
    }
    let blob = repo
        .git(git)
        .args(["hash-object", "-w", "--stdin"])
        .stdin(update.content)
        .run()
        .await?;
    let index = TempIndex::new(&repo.root);
    let mode = match &parent {
        Some(parent) => {
            index
                .git(repo, git)
                .args(["read-tree", parent.as_str()])
                .run()
                .await?;
            file_mode(settings, repo, parent, update.path).await?
        }
        None => "100644",
    };
    let cacheinfo = format!("{mode},{blob},{}", update.path);
    index
        .git(repo, git)
        .args(["update-index", "--add", "--cacheinfo", &cacheinfo])
        .run()
        .await?;
    let tree = index.git(repo, git).arg("write-tree").run().await?;
    if let Some(parent) = &parent
        && repo
            .git(git)
            .args(["rev-parse", &format!("{parent}^{{tree}}")])
            .run()
            .await?
            == tree
    {
        return Err(Error::invalid_input(format!(
            "nothing to commit: `{}` on `{}` already has this content",
            update.path, update.branch
        )));
    }
    let message = message_with_trailer(git, update.message, update.key).await?;
    let mut commit_tree = with_identity(settings, repo, repo.git(git))
        .await?
        .args(["commit-tree", tree.as_str()]);
    if let Some(parent) = &parent {
        commit_tree = commit_tree.args(["-p", parent.as_str()]);
    }
    let commit = commit_tree.stdin(message).run().await?;
    let reason = format!("aido: update {}", update.path);
    let old = parent.clone().unwrap_or_default();
    let moved = repo
        .git(git)
        .args(["update-ref", "-m", &reason, &refname, &commit, &old])
        .output()
        .await?;
    if !moved.success {
        return Err(Error::other(format!(
            "branch `{}` of {} changed while `{}` was written; try again ({})",
            update.branch,
            repo.display(),
            update.path,
            moved.stderr
        )));
    }
    describe(git, repo, &commit).await
}

/// The mode to give `path`: an executable stays executable; a folder of
/// that name cannot become a file.
async fn file_mode(
    settings: &Settings,
    repo: &LocalRepo,
    parent: &str,
    path: &str,
) -> Result<&'static str> {
    let entry = repo
        .git(&settings.git)
        .args(["ls-tree", parent, "--", path])
        .run()
        .await?;
    match entry.split_whitespace().next() {
        Some("100755") => Ok("100755"),
        Some("040000") => Err(Error::invalid_input(format!(
            "`{path}` is a folder in {}, not a file",
            repo.display()
        ))),
        _ => Ok("100644"),
    }
}

/// A temporary index file inside a bare repository, removed when dropped,
/// so plumbing never touches the repository's own index.
struct TempIndex {
    path: PathBuf,
}

impl TempIndex {
    fn new(git_dir: &Path) -> Self {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        TempIndex {
            path: git_dir.join(format!("aido-index-{}-{n}", std::process::id())),
        }
    }

    fn git<'a>(&self, repo: &LocalRepo, git: &'a super::cli::Git) -> super::cli::GitCommand<'a> {
        repo.git(git).env("GIT_INDEX_FILE", &self.path)
    }
}

impl Drop for TempIndex {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
        let _ = std::fs::remove_file(self.path.with_extension("lock"));
    }
}
