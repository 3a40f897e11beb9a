//! The `version_control` suite.
//!
//! It works on one repository ([`VersionControlTarget`]) and leaves a trace
//! there that never touches the default branch: a branch named
//! `aido-conformance-<unique>` holding a commit and a file, and a pull
//! request from it. Every name and idempotency key carries the same unique
//! part, so runs against the same repository never see each other's work.
//!
//! Nothing assumes a real git checkout: the working copy is wherever
//! `clone_repository` says it is, and the suite writes a file into it only
//! when that is a folder on this machine (an in-memory plugin's working copy
//! is only a name).

use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};

use aido_plugin_api::{CallContext, Error, ErrorKind, PluginInstance};

use super::{Report, expect, text};

/// The repository the suite works on, and what it may assume of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VersionControlTarget {
    /// The repository as the plugin names repositories: `owner/name` on a
    /// forge, a path or URL for plain git, any name for an in-memory
    /// plugin.
    pub repository: String,
    /// A file on the default branch to read; when absent, one is picked
    /// from the working copy if it is on disk, else that check is skipped.
    pub file: Option<String>,
}

impl VersionControlTarget {
    /// The repository `repository`, with no file known in advance.
    pub fn new(repository: impl Into<String>) -> Self {
        VersionControlTarget {
            repository: repository.into(),
            file: None,
        }
    }

    /// Names a file known to exist on the default branch.
    pub fn with_file(mut self, path: impl Into<String>) -> Self {
        self.file = Some(path.into());
        self
    }
}

impl Default for VersionControlTarget {
    /// `aido-conformance/repository`: what `aido plugin check` uses, which
    /// an in-memory plugin makes on first use.
    fn default() -> Self {
        VersionControlTarget::new("aido-conformance/repository")
    }
}

/// A part that makes this run's names unique.
fn unique() -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    format!("{:x}{:x}", std::process::id(), nanos)
}

/// What the steps share.
struct Run<'a> {
    plugin: &'a PluginInstance,
    repository: &'a str,
    unique: String,
}

impl Run<'_> {
    /// A context whose idempotency key is unique to this run.
    fn keyed(&self, step: &str) -> CallContext {
        CallContext::with_idempotency_key(format!("conformance:{}:{step}", self.unique))
    }

    async fn call(&self, action: &str, input: Value) -> Result<Value, Error> {
        self.plugin
            .call(&CallContext::detached(), action, input)
            .await
    }

    /// Checks that `result` is an error of one of `kinds`.
    fn expect_error(result: Result<Value, Error>, kinds: &[ErrorKind]) -> Result<(), String> {
        match result {
            Err(err) if kinds.contains(&err.kind()) => Ok(()),
            Err(err) => Err(format!("expected {kinds:?}, got {err}")),
            Ok(value) => Err(format!("expected an error, got {value}")),
        }
    }
}

/// Checks a connected git host on `target`: repository info, reading a
/// file, clone, branch (reused when it exists), commit, push, writing a
/// file on the branch and reading it back, a pull request made once per
/// idempotency key and listed, and the errors for a missing file, an
/// unknown branch and bad input.
pub async fn version_control(plugin: &PluginInstance, target: &VersionControlTarget) -> Report {
    let mut report = Report::new(plugin);
    let run = Run {
        plugin,
        repository: &target.repository,
        unique: unique(),
    };
    let repository = run.repository;

    let info = match run
        .call("get_repository_info", json!({ "repository": repository }))
        .await
    {
        Ok(info) => info,
        Err(err) => {
            report.fail(
                "get_repository_info describes the repository",
                err.to_string(),
            );
            return report;
        }
    };
    let default_branch = text(&info, "default_branch").to_owned();
    report.record(
        "get_repository_info names the default branch and what to clone",
        Ok(expect(
            !default_branch.is_empty() && !text(&info, "clone_url").is_empty(),
            || format!("got {info}"),
        )),
    );

    let scratch = match tempfile::tempdir() {
        Ok(dir) => dir,
        Err(err) => {
            report.fail(
                "clone_repository makes a working copy",
                format!("no temporary folder for the clone: {err}"),
            );
            return report;
        }
    };
    let destination = scratch.path().join("clone");
    let cloned = run
        .call(
            "clone_repository",
            json!({ "repository": repository, "destination": destination.to_string_lossy() }),
        )
        .await;
    let local = match cloned {
        Ok(local) => local,
        Err(err) => {
            report.fail("clone_repository makes a working copy", err.to_string());
            return report;
        }
    };
    let workdir = text(&local, "workdir").to_owned();
    report.record(
        "clone_repository checks out the default branch",
        Ok(expect(
            !workdir.is_empty()
                && text(&local, "branch") == default_branch
                && text(&local, "default_branch") == default_branch
                && !text(&local, "head").is_empty(),
            || format!("the default branch is {default_branch}, got {local}"),
        )),
    );
    // The working copy is on this machine only if the plugin put it here.
    let on_disk = Path::new(&workdir)
        .is_dir()
        .then(|| PathBuf::from(&workdir));

    read_a_file(&run, &mut report, target, on_disk.as_deref()).await;

    let branch = format!("aido-conformance-{}", run.unique);
    let made = run
        .call(
            "create_branch",
            json!({ "workdir": workdir, "branch": branch }),
        )
        .await
        .map(|b| {
            expect(
                text(&b, "name") == branch
                    && b["created"] == true
                    && !text(&b, "commit").is_empty(),
                || format!("got {b}"),
            )
        });
    let branch_made = matches!(made, Ok(Ok(())));
    report.record("create_branch makes and checks out a new branch", made);
    if !branch_made {
        return report;
    }
    let again = run
        .call(
            "create_branch",
            json!({ "workdir": workdir, "branch": branch }),
        )
        .await
        .map(|b| {
            expect(text(&b, "name") == branch && b["created"] == false, || {
                format!("a second create_branch gave {b}")
            })
        });
    report.record(
        "create_branch reuses an existing branch (created: false)",
        again,
    );

    let commit = commit_and_push(&run, &mut report, &workdir, &branch, on_disk.as_deref()).await;
    if commit.is_none() {
        return report;
    }

    let path = format!("aido-conformance-{}.txt", run.unique);
    let content = format!("Written by the conformance suite ({}).\n", run.unique);
    let updated = run
        .plugin
        .call(
            &run.keyed("update-file"),
            "update_file",
            json!({ "repository": repository, "path": path, "content": content,
                    "message": "Conformance: update_file", "branch": branch }),
        )
        .await
        .map(|c| expect(!text(&c, "sha").is_empty(), || format!("got {c}")));
    report.record("update_file commits a file on the branch", updated);
    let read_back = run
        .call(
            "get_file_content",
            json!({ "repository": repository, "path": path, "ref": branch }),
        )
        .await
        .map(|f| {
            expect(
                text(&f, "content") == content && text(&f, "path") == path,
                || format!("wrote {content:?}, read {f}"),
            )
        });
    report.record(
        "get_file_content reads back what update_file wrote",
        read_back,
    );

    pull_requests(&run, &mut report, &branch, &default_branch).await;
    errors(&run, &mut report, &path).await;
    report
}

/// `get_file_content` of a file on the default branch: the target's, or
/// one found in the working copy (whose content must then match).
async fn read_a_file(
    run: &Run<'_>,
    report: &mut Report,
    target: &VersionControlTarget,
    on_disk: Option<&Path>,
) {
    const NAME: &str = "get_file_content reads a file of the default branch";
    let (path, expected) = match (&target.file, on_disk) {
        (Some(path), Some(dir)) => (path.clone(), std::fs::read_to_string(dir.join(path)).ok()),
        (Some(path), None) => (path.clone(), None),
        (None, Some(dir)) => match first_file(dir) {
            Some(path) => {
                let content = std::fs::read_to_string(dir.join(&path)).ok();
                (path, content)
            }
            None => {
                report.skip(NAME, "the working copy holds no file to read");
                return;
            }
        },
        (None, None) => {
            report.skip(
                NAME,
                "no file was named and the working copy is not on this machine",
            );
            return;
        }
    };
    let read = run
        .call(
            "get_file_content",
            json!({ "repository": run.repository, "path": path }),
        )
        .await
        .map(|f| {
            let same = expected
                .as_deref()
                .is_none_or(|expected| text(&f, "content") == expected);
            expect(
                text(&f, "path") == path && same && !text(&f, "ref").is_empty(),
                || format!("read {path}, got {f}"),
            )
        });
    report.record(NAME, read);
}

/// A regular file at the top of `dir`, a README first; never under
/// `.git`.
fn first_file(dir: &Path) -> Option<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .ok()?
        .filter_map(Result::ok)
        .filter(|entry| entry.file_type().is_ok_and(|t| t.is_file()))
        .filter_map(|entry| entry.file_name().into_string().ok())
        .filter(|name| !name.starts_with('.'))
        .collect();
    names.sort_by_key(|name| {
        (
            !name.to_ascii_lowercase().starts_with("readme"),
            name.clone(),
        )
    });
    names.into_iter().next()
}

/// `commit_changes` then `push_branch`; the commit's sha when both worked.
async fn commit_and_push(
    run: &Run<'_>,
    report: &mut Report,
    workdir: &str,
    branch: &str,
    on_disk: Option<&Path>,
) -> Option<String> {
    // A change to commit, where there are files to change.
    let file = format!("aido-conformance-{}.md", run.unique);
    let mut files = Vec::new();
    if let Some(dir) = on_disk {
        if let Err(err) =
            std::fs::write(dir.join(&file), "A change made by the conformance suite.\n")
        {
            report.fail(
                "commit_changes commits the working copy's change",
                format!("cannot write {file} in the working copy: {err}"),
            );
            return None;
        }
        files.push(file.clone());
    }
    let message = "Conformance: commit_changes";
    let committed = run
        .plugin
        .call(
            &run.keyed("commit"),
            "commit_changes",
            json!({ "workdir": workdir, "message": message, "files": files }),
        )
        .await;
    let sha = match committed {
        Ok(commit) => {
            let sha = text(&commit, "sha").to_owned();
            report.record(
                "commit_changes commits the working copy's change",
                Ok(expect(
                    !sha.is_empty() && text(&commit, "message").starts_with(message),
                    || format!("got {commit}"),
                )),
            );
            sha
        }
        Err(err) => {
            report.record("commit_changes commits the working copy's change", Err(err));
            return None;
        }
    };
    let pushed = run
        .call(
            "push_branch",
            json!({ "workdir": workdir, "branch": branch }),
        )
        .await;
    let ok = match pushed {
        Ok(p) => {
            let check = expect(
                text(&p, "branch") == branch && text(&p, "commit") == sha,
                || format!("pushed commit {sha}, got {p}"),
            );
            let ok = check.is_ok();
            report.record("push_branch pushes the commit", Ok(check));
            ok
        }
        Err(err) => {
            report.record("push_branch pushes the commit", Err(err));
            false
        }
    };
    ok.then_some(sha)
}

/// A pull request from `branch`, made once per idempotency key, and
/// listed.
async fn pull_requests(run: &Run<'_>, report: &mut Report, branch: &str, default_branch: &str) {
    let input = json!({
        "repository": run.repository,
        "title": "Conformance pull request",
        "description": "Opened by the conformance suite.",
        "source_branch": branch,
        "target_branch": default_branch,
    });
    let first = run
        .plugin
        .call(
            &run.keyed("pull-request"),
            "create_pull_request",
            input.clone(),
        )
        .await;
    let pull = match first {
        Ok(pull) => pull,
        Err(err) => {
            report.record("create_pull_request opens a pull request", Err(err));
            return;
        }
    };
    let number = pull["number"].as_u64().unwrap_or(0);
    report.record(
        "create_pull_request opens a pull request from the branch",
        Ok(expect(
            number > 0
                && text(&pull, "source_branch") == branch
                && text(&pull, "target_branch") == default_branch
                && text(&pull, "state") == "open",
            || format!("got {pull}"),
        )),
    );
    let second = run
        .plugin
        .call(&run.keyed("pull-request"), "create_pull_request", input)
        .await
        .map(|again| {
            expect(again["number"].as_u64() == Some(number), || {
                format!("the same key opened #{} after #{number}", again["number"])
            })
        });
    report.record(
        "create_pull_request with the same idempotency key returns the same pull request",
        second,
    );
    let listed = run
        .call(
            "list_pull_requests",
            json!({ "repository": run.repository, "source_branch": branch }),
        )
        .await
        .map(|list| {
            let numbers: Vec<u64> = list
                .as_array()
                .map(|l| l.iter().filter_map(|p| p["number"].as_u64()).collect())
                .unwrap_or_default();
            expect(numbers == [number], || {
                format!("expected only #{number} from {branch}, got {numbers:?}")
            })
        });
    report.record("list_pull_requests lists it once", listed);
}

/// Missing files, unknown branches and bad input are errors of the right
/// kind.
async fn errors(run: &Run<'_>, report: &mut Report, existing: &str) {
    let missing = format!("aido-conformance-missing-{}.txt", run.unique);
    let result = run
        .call(
            "get_file_content",
            json!({ "repository": run.repository, "path": missing }),
        )
        .await;
    report.record(
        "get_file_content of a missing file is a not_found error",
        Ok(Run::expect_error(result, &[ErrorKind::NotFound])),
    );
    let nowhere = format!("aido-conformance-no-such-branch-{}", run.unique);
    let result = run
        .call(
            "get_file_content",
            json!({ "repository": run.repository, "path": existing, "ref": nowhere }),
        )
        .await;
    report.record(
        "get_file_content at an unknown branch is a not_found error",
        Ok(Run::expect_error(result, &[ErrorKind::NotFound])),
    );
    let result = run
        .plugin
        .call(
            &run.keyed("pull-request-nowhere"),
            "create_pull_request",
            json!({ "repository": run.repository, "title": "Nowhere", "source_branch": nowhere }),
        )
        .await;
    report.record(
        "create_pull_request from an unknown branch is a not_found or invalid_input error",
        Ok(Run::expect_error(
            result,
            &[ErrorKind::NotFound, ErrorKind::InvalidInput],
        )),
    );
    let result = run
        .call("get_file_content", json!({ "repo": run.repository }))
        .await;
    report.record(
        "bad input is an invalid_input error",
        Ok(Run::expect_error(result, &[ErrorKind::InvalidInput])),
    );
}
