//! Commits: staging and committing in a working copy, the identity git
//! commits under, and finding a commit made earlier under the same
//! idempotency key.
//!
//! Idempotency works through a commit trailer: a commit made for a call with
//! an idempotency key carries `Aido-Idempotency-Key: <key>`, and before
//! committing, the recent history of the branch is searched for it. A run
//! that crashed after committing finds its commit instead of making a second
//! one (or failing with "nothing to commit").

use aido_plugin_api::model::vcs::{Commit, CommitRequest, Signature};
use aido_plugin_api::{CallContext, Error, Result};

use super::cli::{Git, GitCommand};
use super::config::{Settings, identity_problem};
use super::repository::LocalRepo;
use super::validate;

/// The trailer that records the idempotency key in a commit message.
pub(crate) const IDEMPOTENCY_TRAILER: &str = "Aido-Idempotency-Key";

/// How many commits back the idempotency search looks.
const IDEMPOTENCY_SEARCH_DEPTH: &str = "50";

/// `commit_changes`: stages the listed files (or everything) and commits.
pub(crate) async fn commit_changes(
    settings: &Settings,
    cx: &CallContext,
    request: CommitRequest,
) -> Result<Commit> {
    let repo = LocalRepo::working_copy(settings, &request.workdir).await?;
    let files = request
        .files
        .iter()
        .map(|f| validate::repository_path(f))
        .collect::<Result<Vec<_>>>()?;
    let key = idempotency_key(cx)?;
    if let Some(key) = key
        && let Some(sha) = find_by_key(&settings.git, &repo, "HEAD", key).await?
    {
        tracing::info!(%sha, workdir = %repo.display(), "commit already made under this idempotency key");
        return describe(&settings.git, &repo, &sha).await;
    }
    let change = Change {
        message: &request.message,
        files: &files,
        author: request.author.as_ref(),
        key,
    };
    commit_in_working_copy(settings, &repo, change).await
}

/// The idempotency key of a call, checked.
pub(crate) fn idempotency_key(cx: &CallContext) -> Result<Option<&str>> {
    match cx.idempotency_key.as_deref() {
        Some(key) => validate::idempotency_key(key).map(|()| Some(key)),
        None => Ok(None),
    }
}

/// What to commit.
pub(crate) struct Change<'a> {
    /// The message, without the idempotency trailer.
    pub(crate) message: &'a str,
    /// Normalized paths to commit; every change when empty.
    pub(crate) files: &'a [String],
    /// The author, when not the repository's identity.
    pub(crate) author: Option<&'a Signature>,
    /// The idempotency key to record in the message.
    pub(crate) key: Option<&'a str>,
}

/// Stages and commits `change` in the working copy `repo`.
pub(crate) async fn commit_in_working_copy(
    settings: &Settings,
    repo: &LocalRepo,
    change: Change<'_>,
) -> Result<Commit> {
    let git = &settings.git;
    check_message(change.message)?;
    if let Some(author) = change.author {
        check_signature(author)?;
    }
    stage(git, repo, change.files).await?;
    let nothing_staged = repo
        .git(git)
        .literal_pathspecs()
        .args(["diff", "--cached", "--quiet", "--"])
        .args(change.files)
        .succeeds()
        .await?;
    if nothing_staged {
        return Err(Error::invalid_input(format!(
            "nothing to commit in {}: {} no changes",
            repo.display(),
            if change.files.is_empty() {
                "the working copy has".to_owned()
            } else {
                format!("{} have", change.files.join(", "))
            }
        )));
    }
    let message = message_with_trailer(git, change.message, change.key).await?;
    let mut command = with_identity(settings, repo, repo.git(git)).await?;
    command = command
        .literal_pathspecs()
        .args(["commit", "--quiet", "--file=-"]);
    if let Some(author) = change.author {
        command = command.arg(format!("--author={} <{}>", author.name, author.email));
    }
    // With paths, `commit -- <paths>` commits exactly those, leaving anything
    // else that happened to be staged for later.
    if !change.files.is_empty() {
        command = command.arg("--").args(change.files);
    }
    command.stdin(message).run().await?;
    let sha = repo.git(git).args(["rev-parse", "HEAD"]).run().await?;
    describe(git, repo, &sha).await
}

/// `git add -A` of `files`, or of everything; a file that is neither present
/// nor tracked is `not_found`.
async fn stage(git: &Git, repo: &LocalRepo, files: &[String]) -> Result<()> {
    let output = repo
        .git(git)
        .literal_pathspecs()
        .args(["add", "-A", "--"])
        .args(files)
        .output()
        .await?;
    if output.success {
        return Ok(());
    }
    if output.stderr.contains("did not match any files") {
        return Err(Error::not_found(format!(
            "cannot commit in {}: {} (the listed files must exist or be tracked)",
            repo.display(),
            output.stderr.trim_start_matches("fatal: ")
        )));
    }
    Err(output.failure())
}

/// Refuses an empty commit message.
pub(crate) fn check_message(message: &str) -> Result<()> {
    if message.trim().is_empty() {
        return Err(Error::invalid_input(
            "the commit message is empty; give a one-line summary at least",
        ));
    }
    Ok(())
}

/// Refuses an author git cannot store.
fn check_signature(author: &Signature) -> Result<()> {
    for (field, value) in [("name", &author.name), ("email", &author.email)] {
        if let Some(why) = identity_problem(value) {
            return Err(Error::invalid_input(format!(
                "author {field} `{value}` {why}"
            )));
        }
    }
    Ok(())
}

/// `message` with the idempotency trailer added (by git, so it joins an
/// existing trailer block such as `Signed-off-by`).
pub(crate) async fn message_with_trailer(
    git: &Git,
    message: &str,
    key: Option<&str>,
) -> Result<String> {
    let Some(key) = key else {
        return Ok(message.to_owned());
    };
    let output = git
        .command()
        .args(["interpret-trailers", "--trailer"])
        .arg(format!("{IDEMPOTENCY_TRAILER}: {key}"))
        .stdin(message)
        .output()
        .await?;
    output.ok()?;
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

/// `command` with `-c user.name=... -c user.email=...` from the plugin's
/// configuration for whichever of the two the repository (with the user's
/// global configuration) does not set. The repository's own identity wins.
pub(crate) async fn with_identity<'a>(
    settings: &Settings,
    repo: &LocalRepo,
    mut command: GitCommand<'a>,
) -> Result<GitCommand<'a>> {
    let fallback = &settings.fallback_author;
    for (key, value) in [
        ("user.name", &fallback.name),
        ("user.email", &fallback.email),
    ] {
        let configured = repo
            .git(&settings.git)
            .args(["config", "--get", key])
            .succeeds()
            .await?;
        if !configured {
            command = command.config(key, value);
        }
    }
    Ok(command)
}

/// The newest of the last commits reachable from `tip` whose message carries
/// the idempotency trailer with exactly `key`.
pub(crate) async fn find_by_key(
    git: &Git,
    repo: &LocalRepo,
    tip: &str,
    key: &str,
) -> Result<Option<String>> {
    if repo.commit_of(git, tip).await?.is_none() {
        return Ok(None); // An unborn branch has no commits to search.
    }
    let format = format!(
        "--format=%H%x1f%(trailers:key={IDEMPOTENCY_TRAILER},valueonly,separator=%x1f)%x1e"
    );
    let log = repo
        .git(git)
        .args([
            "log",
            "-n",
            IDEMPOTENCY_SEARCH_DEPTH,
            &format,
            "--end-of-options",
            tip,
            "--",
        ])
        .run()
        .await?;
    Ok(log.split('\x1e').find_map(|record| {
        let mut fields = record.trim().split('\x1f');
        let sha = fields.next()?;
        fields
            .any(|value| value.trim() == key)
            .then(|| sha.to_owned())
    }))
}

/// The commit `sha` as the API describes it: hash, message, files changed.
pub(crate) async fn describe(git: &Git, repo: &LocalRepo, sha: &str) -> Result<Commit> {
    let message = repo
        .git(git)
        .args(["log", "-1", "--format=%B", sha])
        .run()
        .await?;
    let files = repo
        .git(git)
        .args([
            "diff-tree",
            "--root",
            "--no-commit-id",
            "--name-only",
            "-r",
            "-z",
            sha,
        ])
        .output()
        .await?;
    files.ok()?;
    let files = String::from_utf8_lossy(&files.stdout)
        .split('\0')
        .filter(|f| !f.is_empty())
        .map(str::to_owned)
        .collect();
    Ok(Commit {
        sha: sha.to_owned(),
        message,
        files,
    })
}
