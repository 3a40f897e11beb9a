//! `clone_repository`: a working copy from a URL, a local path or a local
//! bare repository.

use std::path::Path;

use aido_plugin_api::model::vcs::{CloneRequest, LocalRepository};
use aido_plugin_api::{CallContext, Error, Result};

use super::cli::Git;
use super::config::Settings;
use super::redact::redact_url;
use super::repository::{LocalRepo, Location, file_url, locate, parse_symref_head, path_text};
use super::validate;

/// Clones `request.repository` into `request.destination`.
///
/// A failed clone leaves no half-made working copy behind. When a call
/// with an idempotency key finds the destination already holding a clean
/// clone of the same source (a resumed run), it returns that clone.
pub(crate) async fn clone_repository(
    settings: &Settings,
    cx: &CallContext,
    request: CloneRequest,
) -> Result<LocalRepository> {
    if let Some(branch) = &request.branch {
        validate::revision(branch)?;
    }
    if request.depth == Some(0) {
        return Err(Error::invalid_input(
            "depth must be at least 1; leave it out for the full history",
        ));
    }
    let source = clone_source(settings, &request).await?;
    let destination = settings.resolve(&request.destination);
    let existed = match destination_state(&destination).await? {
        DestinationState::Missing => false,
        DestinationState::Empty => true,
        DestinationState::NotEmpty => {
            if cx.idempotency_key.is_some()
                && let Some(done) = previous_clone(settings, &destination, &source).await?
            {
                tracing::info!(destination = %destination.display(), "reusing the clone made by an earlier attempt");
                return Ok(done);
            }
            return Err(Error::invalid_input(format!(
                "cannot clone into `{}`: it exists and is not empty; choose a new folder or remove it",
                request.destination
            )));
        }
    };
    if let Err(err) = run_clone(settings, &request, &source, &destination).await {
        remove_partial_clone(&destination, existed).await;
        return Err(err);
    }
    describe_clone(settings, &destination, &request.destination).await
}

/// What git is given to clone from: the URL, or the local path made
/// absolute. A local source with a depth becomes a `file://` URL, because
/// git ignores `--depth` for plain local paths.
async fn clone_source(settings: &Settings, request: &CloneRequest) -> Result<String> {
    match locate(settings, &request.repository) {
        Location::Remote(url) => Ok(url),
        Location::Local(path) => {
            let canonical = tokio::fs::canonicalize(&path).await.map_err(|err| {
                Error::not_found(format!(
                    "repository `{}` not found: {} cannot be opened ({err})",
                    request.repository,
                    path.display()
                ))
            })?;
            Ok(match request.depth {
                Some(_) => file_url(&canonical),
                None => canonical.to_string_lossy().into_owned(),
            })
        }
    }
}

/// Whether the destination can take a clone.
enum DestinationState {
    Missing,
    Empty,
    NotEmpty,
}

async fn destination_state(destination: &Path) -> Result<DestinationState> {
    match tokio::fs::read_dir(destination).await {
        Ok(mut entries) => match entries.next_entry().await {
            Ok(None) => Ok(DestinationState::Empty),
            _ => Ok(DestinationState::NotEmpty),
        },
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(DestinationState::Missing),
        // A file, or a folder we cannot read: either way not a place to clone into.
        Err(_) => Ok(DestinationState::NotEmpty),
    }
}

async fn run_clone(
    settings: &Settings,
    request: &CloneRequest,
    source: &str,
    destination: &Path,
) -> Result<()> {
    // `ext::` URLs run commands; git refuses them by default, and a URL
    // that came from a workflow input must not be able to change that.
    let mut command = settings
        .git
        .command()
        .config("protocol.ext.allow", "never")
        .args(["clone", "--quiet", "--origin", &settings.default_remote]);
    if let Some(branch) = &request.branch {
        command = command.args(["--branch", branch]);
    }
    if let Some(depth) = request.depth {
        command = command.arg(format!("--depth={depth}"));
    }
    tracing::info!(source = %redact_url(source), destination = %destination.display(), "cloning");
    command
        .arg("--")
        .arg(source)
        .arg(destination)
        .run()
        .await
        .map(drop)
}

/// Removes what a failed clone left: the whole folder if it did not exist
/// before, else only its contents. Best effort: the clone's error is what
/// the caller needs to see.
async fn remove_partial_clone(destination: &Path, existed: bool) {
    if !existed {
        let _ = tokio::fs::remove_dir_all(destination).await;
        return;
    }
    let Ok(mut entries) = tokio::fs::read_dir(destination).await else {
        return;
    };
    while let Ok(Some(entry)) = entries.next_entry().await {
        let path = entry.path();
        let removed = match entry.file_type().await {
            Ok(kind) if kind.is_dir() => tokio::fs::remove_dir_all(&path).await,
            _ => tokio::fs::remove_file(&path).await,
        };
        if let Err(err) = removed {
            tracing::warn!(path = %path.display(), %err, "could not remove part of a failed clone");
        }
    }
}

/// The clone an earlier attempt made at `destination`, if it is one: the
/// top of a working copy whose remote is `source`, with a commit checked
/// out and nothing changed.
async fn previous_clone(
    settings: &Settings,
    destination: &Path,
    source: &str,
) -> Result<Option<LocalRepository>> {
    let git = &settings.git;
    let shown = destination.display().to_string();
    let Ok(repo) = LocalRepo::open(git, destination, &shown).await else {
        return Ok(None);
    };
    let url = repo
        .git(git)
        .args(["remote", "get-url", &settings.default_remote])
        .output()
        .await?;
    if repo.bare
        || !url.success
        || url.stdout_text() != source
        || repo.commit_of(git, "HEAD").await?.is_none()
    {
        return Ok(None);
    }
    let status = repo.git(git).args(["status", "--porcelain"]).run().await?;
    if !status.is_empty() {
        return Ok(None);
    }
    describe_clone(settings, destination, &shown)
        .await
        .map(Some)
}

/// The working copy at `destination` as `clone_repository` reports it.
async fn describe_clone(
    settings: &Settings,
    destination: &Path,
    shown: &str,
) -> Result<LocalRepository> {
    let git = &settings.git;
    let repo = LocalRepo::open(git, destination, shown).await?;
    let branch = repo
        .current_branch(git)
        .await?
        .unwrap_or_else(|| "HEAD".to_owned());
    // An empty repository has no commit yet: its head is empty.
    let head = repo.commit_of(git, "HEAD").await?.unwrap_or_default();
    let default_branch =
        default_branch_after_clone(git, &repo, &settings.default_remote, &branch).await?;
    Ok(LocalRepository {
        workdir: path_text(&repo.root),
        branch,
        head,
        default_branch,
    })
}

/// The remote's default branch: `<remote>/HEAD` when the clone recorded it;
/// else asked of the remote (a shallow clone of another branch does not
/// record it); else the branch checked out.
async fn default_branch_after_clone(
    git: &Git,
    repo: &LocalRepo,
    remote: &str,
    checked_out: &str,
) -> Result<String> {
    let remote_head = format!("refs/remotes/{remote}/HEAD");
    let recorded = repo
        .git(git)
        .args(["symbolic-ref", "--quiet", "--short", &remote_head])
        .output()
        .await?;
    if recorded.success {
        let short = recorded.stdout_text();
        return Ok(short
            .strip_prefix(&format!("{remote}/"))
            .unwrap_or(&short)
            .to_owned());
    }
    let advertised = repo
        .git(git)
        .args(["ls-remote", "--symref", remote, "HEAD"])
        .output()
        .await?;
    if advertised.success
        && let Some(branch) = parse_symref_head(&advertised.stdout_text())
    {
        return Ok(branch);
    }
    Ok(checked_out.to_owned())
}
