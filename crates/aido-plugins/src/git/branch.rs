//! `create_branch`: a new branch checked out in a working copy, or the
//! existing one checked out again, so a resumed run never fails on it.

use aido_plugin_api::model::vcs::{Branch, NewBranch};
use aido_plugin_api::{Error, Result};

use super::cli::Git;
use super::config::Settings;
use super::repository::LocalRepo;
use super::validate;

/// Creates `request.branch` (from `request.from`, or `HEAD`) and checks it
/// out; if it already exists, checks it out and says `created: false`.
///
/// An existing branch is reused wherever it points, even if `from` is
/// elsewhere: a resumed run wants back the branch it made, with its commits.
pub(crate) async fn create_branch(settings: &Settings, request: NewBranch) -> Result<Branch> {
    let git = &settings.git;
    let name = &request.branch;
    validate::branch_name(git, name).await?;
    let repo = LocalRepo::working_copy(settings, &request.workdir).await?;
    if repo.has_local_branch(git, name).await? {
        checkout(git, &repo, name).await?;
        return Ok(Branch {
            name: name.clone(),
            commit: head(git, &repo).await?,
            created: false,
        });
    }
    let mut command = repo
        .git(git)
        .args(["checkout", "--quiet", "--no-track", "-b", name]);
    if let Some(from) = &request.from {
        command = command.arg(start_point(git, &repo, from).await?);
    }
    command.run().await?;
    tracing::info!(branch = %name, workdir = %repo.display(), "created branch");
    Ok(Branch {
        name: name.clone(),
        commit: head(git, &repo).await?,
        created: true,
    })
}

/// Checks out the existing local branch `name`.
pub(crate) async fn checkout(git: &Git, repo: &LocalRepo, name: &str) -> Result<()> {
    repo.git(git)
        .args(["checkout", "--quiet", name, "--"])
        .run()
        .await
        .map(drop)
}

/// The commit `from` names, or `not_found` naming it.
async fn start_point(git: &Git, repo: &LocalRepo, from: &str) -> Result<String> {
    validate::revision(from)?;
    repo.commit_of(git, from).await?.ok_or_else(|| {
        Error::not_found(format!(
            "cannot branch from `{from}`: no such branch, tag or commit in {}",
            repo.display()
        ))
    })
}

/// The commit checked out; empty in a repository with no commit yet.
async fn head(git: &Git, repo: &LocalRepo) -> Result<String> {
    Ok(repo.commit_of(git, "HEAD").await?.unwrap_or_default())
}
