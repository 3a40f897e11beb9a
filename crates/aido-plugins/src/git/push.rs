//! `push_branch`: a branch of a working copy pushed to a remote, with its
//! upstream set.

use aido_plugin_api::model::vcs::{PushRequest, PushResult};
use aido_plugin_api::{Error, Result};

use super::cli::Git;
use super::config::Settings;
use super::redact::redact_url;
use super::repository::LocalRepo;
use super::validate;

/// Pushes `request.branch` to `request.remote` (the configured default
/// remote when absent) under the same name. A branch already up to date is
/// a success; `force` replaces the remote branch only if it is still where
/// we last saw it (`--force-with-lease`).
pub(crate) async fn push_branch(settings: &Settings, request: PushRequest) -> Result<PushResult> {
    let git = &settings.git;
    let branch = &request.branch;
    let remote = request
        .remote
        .clone()
        .unwrap_or_else(|| settings.default_remote.clone());
    validate::remote_name(&remote)?;
    validate::branch_name(git, branch).await?;
    let repo = LocalRepo::working_copy(settings, &request.workdir).await?;
    let url = remote_url(git, &repo, &remote).await?;
    let Some(commit) = repo.commit_of(git, &format!("refs/heads/{branch}")).await? else {
        return Err(Error::not_found(format!(
            "branch `{branch}` does not exist in {}",
            repo.display()
        )));
    };
    let refspec = format!("refs/heads/{branch}:refs/heads/{branch}");
    let mut command = repo.git(git).args(["push", "--quiet", "--set-upstream"]);
    if request.force {
        command = command.arg("--force-with-lease");
    }
    tracing::info!(%branch, remote = %remote, url = %redact_url(&url), "pushing");
    let output = command
        .args([remote.as_str(), refspec.as_str()])
        .output()
        .await?;
    if !output.success {
        return Err(
            push_failure(&output.stderr, branch, &remote).unwrap_or_else(|| output.failure())
        );
    }
    Ok(PushResult {
        remote,
        branch: branch.clone(),
        commit,
    })
}

/// The URL of `remote`, or `not_found` listing the remotes there are.
async fn remote_url(git: &Git, repo: &LocalRepo, remote: &str) -> Result<String> {
    let output = repo
        .git(git)
        .args(["remote", "get-url", remote])
        .output()
        .await?;
    if output.success {
        return Ok(output.stdout_text());
    }
    let remotes = repo.git(git).arg("remote").run().await?;
    let remotes: Vec<_> = remotes.lines().collect();
    Err(Error::not_found(format!(
        "remote `{remote}` is not configured in {}; its remotes are: {}",
        repo.display(),
        if remotes.is_empty() {
            "none".to_owned()
        } else {
            remotes.join(", ")
        }
    )))
}

/// A clearer error for a rejected push, which is not a git failure but the
/// remote having moved on.
fn push_failure(stderr: &str, branch: &str, remote: &str) -> Option<Error> {
    let rejected = stderr.contains("[rejected]") || stderr.contains("non-fast-forward");
    let stale = stderr.contains("stale info");
    (rejected || stale).then(|| {
        Error::other(format!(
            "the push of `{branch}` to `{remote}` was rejected because the remote branch has \
             commits the local one lacks; pull them first, or push with force \
             (which keeps the remote's commits safe only if nobody pushed since the last fetch): {stderr}"
        ))
    })
}
