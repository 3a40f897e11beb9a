//! `changed_files`: what changed in the working copy, from git itself.
//!
//! Runs `git status --porcelain=v1 -z` (machine-readable, paths unquoted)
//! and `git diff --stat HEAD` in the working directory, as argument lists
//! with no shell, `GIT_TERMINAL_PROMPT=0` (never wait for a password) and
//! `GIT_OPTIONAL_LOCKS=0` (never take the index lock a concurrent git may
//! need). Useful after a coding-agent CLI run, which edits files behind
//! aido's back, and for pull request descriptions.

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use aido_plugin_api::{Effect, Error, Result};
use async_trait::async_trait;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::workdir::resolve_workdir;
use crate::workflow::builtins::{BuiltinAction, BuiltinContext, BuiltinSpec};

const NAME: &str = "changed_files";

/// How long one git command may take.
const GIT_TIMEOUT: Duration = Duration::from_secs(120);

/// Input of `changed_files`.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangedFilesInput {
    /// A folder inside the workspace (in a git working copy) to look at;
    /// the workspace when absent.
    #[serde(default)]
    pub workdir: Option<String>,
}

/// How a file changed, compared with `HEAD`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ChangeStatus {
    /// New and staged.
    Added,
    /// Changed (staged or not).
    Modified,
    /// Removed (staged or not).
    Deleted,
    /// Renamed (`original_path` is the old path).
    Renamed,
    /// Copied (`original_path` is the source).
    Copied,
    /// Its type changed (a file became a symlink, or back).
    TypeChanged,
    /// In a merge conflict.
    Unmerged,
    /// Not known to git.
    Untracked,
}

/// One changed file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct FileChange {
    /// The file, relative to the repository root.
    pub path: String,
    /// How it changed.
    pub status: ChangeStatus,
    /// Git's two-letter code (`XY`: index, working tree), e.g. ` M`, `A `,
    /// `??`.
    pub code: String,
    /// The old path of a rename or copy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub original_path: Option<String>,
}

/// Output of `changed_files`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ChangedFilesOutput {
    /// Every changed or untracked file, in git's order.
    pub files: Vec<FileChange>,
    /// `git diff --stat HEAD`, then one line per untracked file.
    pub diff_stat: String,
}

/// Reads the output of `git status --porcelain=v1 -z`.
pub fn parse_porcelain_z(output: &[u8]) -> Vec<FileChange> {
    let mut fields = output.split(|&b| b == 0).filter(|field| !field.is_empty());
    let mut files = Vec::new();
    while let Some(field) = fields.next() {
        if field.len() < 4 {
            continue;
        }
        let x = char::from(field[0]);
        let y = char::from(field[1]);
        let path = String::from_utf8_lossy(&field[3..]).into_owned();
        let status = status_of(x, y);
        // In -z mode the old path of a rename or copy is the next field.
        let original_path = if matches!(status, ChangeStatus::Renamed | ChangeStatus::Copied) {
            fields
                .next()
                .map(|old| String::from_utf8_lossy(old).into_owned())
        } else {
            None
        };
        files.push(FileChange {
            path,
            status,
            code: format!("{x}{y}"),
            original_path,
        });
    }
    files
}

fn status_of(x: char, y: char) -> ChangeStatus {
    match (x, y) {
        ('?', '?') => ChangeStatus::Untracked,
        ('U', _) | (_, 'U') | ('A', 'A') | ('D', 'D') => ChangeStatus::Unmerged,
        ('R', _) | (_, 'R') => ChangeStatus::Renamed,
        ('C', _) | (_, 'C') => ChangeStatus::Copied,
        ('D', _) | (_, 'D') => ChangeStatus::Deleted,
        ('A', _) => ChangeStatus::Added,
        ('T', _) | (_, 'T') => ChangeStatus::TypeChanged,
        _ => ChangeStatus::Modified,
    }
}

/// Runs git with `args` in `dir`; answers its standard output, or an error
/// quoting its standard error.
async fn git(dir: &Path, args: &[&str]) -> Result<Vec<u8>> {
    let child = tokio::process::Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("GIT_TERMINAL_PROMPT", "0")
        .env("GIT_OPTIONAL_LOCKS", "0")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|err| Error::other(format!("cannot run git: {err}")))?;
    let output = tokio::time::timeout(GIT_TIMEOUT, child.wait_with_output())
        .await
        .map_err(|_| {
            Error::timeout(format!(
                "`git {}` did not finish within {}s",
                args.join(" "),
                GIT_TIMEOUT.as_secs()
            ))
        })?
        .map_err(|err| Error::other(format!("`git {}` failed: {err}", args.join(" "))))?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        let message = format!(
            "`git {}` failed in {}: {}",
            args.join(" "),
            dir.display(),
            stderr.trim()
        );
        return Err(if stderr.contains("not a git repository") {
            Error::invalid_input(message)
        } else {
            Error::other(message)
        });
    }
    Ok(output.stdout)
}

/// The changed files of the git working copy at `dir`.
pub async fn changed_files(dir: &Path) -> Result<ChangedFilesOutput> {
    let status = git(
        dir,
        &[
            "-c",
            "core.quotepath=off",
            "status",
            "--porcelain=v1",
            "-z",
            "--untracked-files=all",
        ],
    )
    .await?;
    let files = parse_porcelain_z(&status);
    // Before the first commit there is no HEAD: compare with the empty tree,
    // hashed from the empty (null) standard input.
    let base = match git(dir, &["rev-parse", "--verify", "--quiet", "HEAD"]).await {
        Ok(_) => "HEAD".to_owned(),
        Err(_) => {
            let empty = git(dir, &["hash-object", "-t", "tree", "--stdin"]).await?;
            String::from_utf8_lossy(&empty).trim().to_owned()
        }
    };
    let stat = git(
        dir,
        &[
            "-c",
            "core.quotepath=off",
            "diff",
            "--stat=200",
            &base,
            "--",
        ],
    )
    .await?;
    let mut diff_stat = String::from_utf8_lossy(&stat).trim_end().to_owned();
    for file in files.iter().filter(|f| f.status == ChangeStatus::Untracked) {
        if !diff_stat.is_empty() {
            diff_stat.push('\n');
        }
        diff_stat.push_str(&format!(" {} (new, untracked)", file.path));
    }
    Ok(ChangedFilesOutput { files, diff_stat })
}

/// The `changed_files` built-in action.
pub struct ChangedFiles {
    spec: BuiltinSpec,
}

impl ChangedFiles {
    /// The action.
    pub fn new() -> Self {
        ChangedFiles {
            spec: BuiltinSpec::new::<ChangedFilesInput, ChangedFilesOutput>(
                NAME,
                "The files changed in the git working copy (git status, untracked files included) and a diff stat against HEAD.",
                Effect::Read,
            ),
        }
    }
}

impl Default for ChangedFiles {
    fn default() -> Self {
        ChangedFiles::new()
    }
}

#[async_trait]
impl BuiltinAction for ChangedFiles {
    fn spec(&self) -> &BuiltinSpec {
        &self.spec
    }

    async fn run(&self, cx: &BuiltinContext, input: Value) -> Result<Value> {
        let input: ChangedFilesInput = super::decode(NAME, input)?;
        let workspace = cx.workspace.clone();
        let dir =
            super::blocking(move || resolve_workdir(&workspace, input.workdir.as_deref())).await?;
        super::encode(&changed_files(&dir).await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::fs;

    /// Runs git in `dir` with a fixed identity and no user configuration.
    fn run_git(dir: &Path, args: &[&str]) {
        let status = std::process::Command::new("git")
            .args([
                "-c",
                "user.name=t",
                "-c",
                "user.email=t@t",
                "-c",
                "init.defaultBranch=main",
            ])
            .args(args)
            .current_dir(dir)
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .status()
            .unwrap();
        assert!(status.success(), "git {args:?}");
    }

    #[test]
    fn parses_porcelain_records() {
        let out = b" M src/a.rs\0A  new file.rs\0R  new/name.rs\0old/name.rs\0?? notes/todo.md\0 D gone.rs\0UU conflict.rs\0";
        let files = parse_porcelain_z(out);
        let summary: Vec<(&str, ChangeStatus, Option<&str>)> = files
            .iter()
            .map(|f| (f.path.as_str(), f.status, f.original_path.as_deref()))
            .collect();
        assert_eq!(
            summary,
            vec![
                ("src/a.rs", ChangeStatus::Modified, None),
                ("new file.rs", ChangeStatus::Added, None),
                ("new/name.rs", ChangeStatus::Renamed, Some("old/name.rs")),
                ("notes/todo.md", ChangeStatus::Untracked, None),
                ("gone.rs", ChangeStatus::Deleted, None),
                ("conflict.rs", ChangeStatus::Unmerged, None),
            ]
        );
        assert_eq!(files[0].code, " M");
    }

    #[tokio::test]
    async fn lists_changes_in_a_real_repository() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        run_git(root, &["init", "-q"]);
        fs::write(root.join("keep.txt"), "one\ntwo\n").unwrap();
        fs::write(root.join("old.txt"), "old\n").unwrap();
        fs::write(root.join("drop.txt"), "drop\n").unwrap();
        run_git(root, &["add", "."]);
        run_git(root, &["commit", "-q", "-m", "initial"]);
        fs::write(root.join("keep.txt"), "one\n2\n").unwrap();
        fs::remove_file(root.join("drop.txt")).unwrap();
        run_git(root, &["mv", "old.txt", "renamed.txt"]);
        fs::create_dir(root.join("docs")).unwrap();
        fs::write(root.join("docs/new é.md"), "hello\n").unwrap();

        let cx = BuiltinContext {
            run_id: "r".into(),
            step: "s".into(),
            workspace: root.to_owned(),
            idempotency_key: "k".into(),
        };
        let out = ChangedFiles::new().run(&cx, json!({})).await.unwrap();
        let out: ChangedFilesOutput = serde_json::from_value(out).unwrap();
        let mut summary: Vec<(String, ChangeStatus)> = out
            .files
            .iter()
            .map(|f| (f.path.clone(), f.status))
            .collect();
        summary.sort_by(|a, b| a.0.cmp(&b.0));
        assert_eq!(
            summary,
            vec![
                ("docs/new é.md".to_owned(), ChangeStatus::Untracked),
                ("drop.txt".to_owned(), ChangeStatus::Deleted),
                ("keep.txt".to_owned(), ChangeStatus::Modified),
                ("renamed.txt".to_owned(), ChangeStatus::Renamed),
            ]
        );
        let renamed = out.files.iter().find(|f| f.path == "renamed.txt").unwrap();
        assert_eq!(renamed.original_path.as_deref(), Some("old.txt"));
        assert!(
            out.diff_stat
                .lines()
                .any(|l| l.starts_with(" keep.txt ") && l.ends_with("| 2 +-")),
            "{}",
            out.diff_stat
        );
        assert!(out.diff_stat.contains("drop.txt"), "{}", out.diff_stat);
        assert!(
            out.diff_stat.contains("3 files changed"),
            "{}",
            out.diff_stat
        );
        assert!(
            out.diff_stat.ends_with(" docs/new é.md (new, untracked)"),
            "{}",
            out.diff_stat
        );
    }

    #[tokio::test]
    async fn works_before_the_first_commit_and_refuses_non_repositories() {
        let dir = tempfile::tempdir().unwrap();
        let plain = dir.path().join("plain");
        fs::create_dir(&plain).unwrap();
        let err = changed_files(&plain).await.unwrap_err();
        assert!(err.message().contains("not a git repository"), "{err}");

        let repo = dir.path().join("repo");
        fs::create_dir(&repo).unwrap();
        run_git(&repo, &["init", "-q"]);
        fs::write(repo.join("a.txt"), "a\n").unwrap();
        fs::write(repo.join("b.txt"), "b\n").unwrap();
        run_git(&repo, &["add", "a.txt"]);
        let out = changed_files(&repo).await.unwrap();
        assert_eq!(out.files.len(), 2);
        assert_eq!(out.files[0].status, ChangeStatus::Added);
        assert!(out.diff_stat.contains("a.txt | 1 +"), "{}", out.diff_stat);
        assert!(
            out.diff_stat.contains("b.txt (new, untracked)"),
            "{}",
            out.diff_stat
        );
    }
}
