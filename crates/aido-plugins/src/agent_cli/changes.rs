//! What an agent run changed in the workspace, read from git and written
//! as a Markdown section appended to the agent's answer.
//!
//! The list is everything uncommitted in the workspace's repository after
//! the run (`git status --porcelain -z --untracked-files=all`), which is
//! what a following commit step takes, with a `git diff --stat HEAD`
//! summary of the tracked files. Paths are relative to the repository's
//! root. If HEAD moved during the run, the agent committed on its own, and
//! the section says so, since aido expects to make the commits itself.
//!
//! Git runs with `--no-optional-locks`, so looking never competes with a
//! git process the agent left running for the index lock.

use std::fmt::Write as _;
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use tokio::process::Command;

/// The heading of the section appended to answers.
pub(crate) const HEADING: &str = "## Files changed in the workspace";

/// How long one git command may take.
const GIT_TIMEOUT: Duration = Duration::from_secs(60);

/// At most this many files are listed; a run that touched more is summed up.
const MAX_LISTED: usize = 200;

/// How a file changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ChangeKind {
    /// Changed content or type.
    Modified,
    /// New and staged.
    Added,
    /// New and not yet known to git.
    Untracked,
    /// Removed.
    Deleted,
    /// Moved.
    Renamed,
    /// Copied.
    Copied,
    /// Left in conflict.
    Unmerged,
}

impl ChangeKind {
    fn as_str(self) -> &'static str {
        match self {
            ChangeKind::Modified => "modified",
            ChangeKind::Added => "added",
            ChangeKind::Untracked => "added (untracked)",
            ChangeKind::Deleted => "deleted",
            ChangeKind::Renamed => "renamed",
            ChangeKind::Copied => "copied",
            ChangeKind::Unmerged => "unmerged (conflict)",
        }
    }

    /// The kind of a porcelain `XY` status.
    fn from_status(x: u8, y: u8) -> ChangeKind {
        match (x, y) {
            (b'?', b'?') => ChangeKind::Untracked,
            (b'U', _) | (_, b'U') | (b'A', b'A') | (b'D', b'D') => ChangeKind::Unmerged,
            (b'R', _) | (_, b'R') => ChangeKind::Renamed,
            (b'C', _) | (_, b'C') => ChangeKind::Copied,
            (b'A', _) | (_, b'A') => ChangeKind::Added,
            (b'D', _) | (_, b'D') => ChangeKind::Deleted,
            _ => ChangeKind::Modified,
        }
    }
}

/// One changed file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ChangedFile {
    /// How it changed.
    pub kind: ChangeKind,
    /// Its path, relative to the repository's root.
    pub path: String,
    /// Where it came from, for renames and copies.
    pub from: Option<String>,
}

/// What a run changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum WorkspaceChanges {
    /// The workspace is not in a git repository, so changes are not known.
    NotARepository,
    /// Git could not say (not installed, timed out, failed).
    Unknown(String),
    /// The changes git reports.
    Listed {
        /// Every uncommitted change.
        files: Vec<ChangedFile>,
        /// `git diff --stat HEAD`, when there is a HEAD.
        diff_stat: String,
        /// `(before, after)` when the agent made commits itself.
        head_moved: Option<(String, String)>,
    },
}

/// The commit checked out in `workdir` (`None` outside a repository or
/// before the first commit), taken before a run to notice commits the agent
/// made.
pub(crate) async fn head(workdir: &Path) -> Option<String> {
    let output = git(workdir, &["rev-parse", "--verify", "--quiet", "HEAD"])
        .await
        .ok()?;
    output.success.then(|| output.stdout.trim().to_owned())
}

/// What is uncommitted in `workdir` now; `head_before` is [`head`] from
/// before the run.
pub(crate) async fn collect(workdir: &Path, head_before: Option<String>) -> WorkspaceChanges {
    let status = match git(
        workdir,
        &["status", "--porcelain=v1", "-z", "--untracked-files=all"],
    )
    .await
    {
        Ok(output) if output.success => output.stdout,
        Ok(output) if output.stderr.contains("not a git repository") => {
            return WorkspaceChanges::NotARepository;
        }
        Ok(output) => {
            return WorkspaceChanges::Unknown(format!(
                "`git status` failed: {}",
                output.stderr.trim()
            ));
        }
        Err(reason) => return WorkspaceChanges::Unknown(reason),
    };
    let files = parse_porcelain(&status);
    // Fails before the first commit; the list alone is then the answer.
    let diff_stat = match git(workdir, &["diff", "--stat=120", "HEAD"]).await {
        Ok(output) if output.success => output.stdout.trim_end().to_owned(),
        _ => String::new(),
    };
    let head_after = head(workdir).await;
    let head_moved = match (head_before, head_after) {
        (before, Some(after)) if before.as_deref() != Some(after.as_str()) => {
            Some((before.unwrap_or_else(|| "(no commit)".to_owned()), after))
        }
        _ => None,
    };
    WorkspaceChanges::Listed {
        files,
        diff_stat,
        head_moved,
    }
}

/// Parses `git status --porcelain=v1 -z`: `XY path\0`, and for renames and
/// copies `XY to\0from\0`.
pub(crate) fn parse_porcelain(output: &str) -> Vec<ChangedFile> {
    let mut files = Vec::new();
    let mut entries = output.split('\0').filter(|entry| !entry.is_empty());
    while let Some(entry) = entries.next() {
        let bytes = entry.as_bytes();
        if bytes.len() < 4 {
            continue;
        }
        let kind = ChangeKind::from_status(bytes[0], bytes[1]);
        let path = entry[3..].to_owned();
        let from = if matches!(kind, ChangeKind::Renamed | ChangeKind::Copied) {
            entries.next().map(str::to_owned)
        } else {
            None
        };
        files.push(ChangedFile { kind, path, from });
    }
    files
}

impl WorkspaceChanges {
    /// The Markdown section: [`HEADING`], then the list, the diff summary,
    /// and a note when the agent committed on its own.
    pub(crate) fn render(&self, workdir: &Path) -> String {
        let mut out = format!("{HEADING}\n\n");
        match self {
            WorkspaceChanges::NotARepository => {
                let _ = writeln!(
                    out,
                    "Not listed: {} is not in a git repository.",
                    workdir.display()
                );
            }
            WorkspaceChanges::Unknown(reason) => {
                let _ = writeln!(out, "Not listed: {reason}");
            }
            WorkspaceChanges::Listed {
                files,
                diff_stat,
                head_moved,
            } => {
                if files.is_empty() {
                    out.push_str("None: nothing in the workspace is uncommitted.\n");
                }
                for file in files.iter().take(MAX_LISTED) {
                    match &file.from {
                        Some(from) => {
                            let _ = writeln!(
                                out,
                                "- {}: `{from}` → `{}`",
                                file.kind.as_str(),
                                file.path
                            );
                        }
                        None => {
                            let _ = writeln!(out, "- {}: `{}`", file.kind.as_str(), file.path);
                        }
                    }
                }
                if files.len() > MAX_LISTED {
                    let _ = writeln!(out, "- … and {} more", files.len() - MAX_LISTED);
                }
                if !diff_stat.is_empty() {
                    let _ = write!(out, "\n```text\n{diff_stat}\n```\n");
                }
                if let Some((before, after)) = head_moved {
                    let _ = write!(
                        out,
                        "\nThe agent also made commits of its own: HEAD moved from {} to {}.\n",
                        short(before),
                        short(after)
                    );
                }
            }
        }
        out
    }
}

/// A commit id shortened for reading.
fn short(id: &str) -> &str {
    id.get(..12).unwrap_or(id)
}

/// What a git command did.
struct GitOutput {
    success: bool,
    stdout: String,
    stderr: String,
}

/// Runs `git -C <workdir> --no-optional-locks <args>`; `Err` when git could
/// not run at all or took too long.
async fn git(workdir: &Path, args: &[&str]) -> Result<GitOutput, String> {
    let mut command = Command::new("git");
    command
        .arg("-C")
        .arg(workdir)
        .arg("--no-optional-locks")
        .args(args)
        // English messages, which are classified above, and never a prompt.
        .env("LC_ALL", "C")
        .env("GIT_TERMINAL_PROMPT", "0")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let name = args.first().copied().unwrap_or("");
    let child = command
        .spawn()
        .map_err(|err| format!("git could not be started ({err})"))?;
    let output = tokio::time::timeout(GIT_TIMEOUT, child.wait_with_output())
        .await
        .map_err(|_| format!("`git {name}` took longer than {}s", GIT_TIMEOUT.as_secs()))?
        .map_err(|err| format!("`git {name}` failed to run ({err})"))?;
    Ok(GitOutput {
        success: output.status.success(),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn porcelain_entries_become_files() {
        let output = " M a b.txt\0R  new.txt\0old.txt\0?? d/n.txt\0A  s.rs\0 D gone\0UU c\0";
        let files = parse_porcelain(output);
        let kinds: Vec<_> = files.iter().map(|f| (f.kind, f.path.as_str())).collect();
        assert_eq!(
            kinds,
            [
                (ChangeKind::Modified, "a b.txt"),
                (ChangeKind::Renamed, "new.txt"),
                (ChangeKind::Untracked, "d/n.txt"),
                (ChangeKind::Added, "s.rs"),
                (ChangeKind::Deleted, "gone"),
                (ChangeKind::Unmerged, "c"),
            ]
        );
        assert_eq!(files[1].from.as_deref(), Some("old.txt"));
    }

    #[test]
    fn the_section_lists_files_the_stat_and_own_commits() {
        let changes = WorkspaceChanges::Listed {
            files: parse_porcelain(" M src/lib.rs\0R  b.rs\0a.rs\0"),
            diff_stat: " src/lib.rs | 1 +".to_owned(),
            head_moved: Some(("0123456789abcdef".to_owned(), "fedcba9876543210".to_owned())),
        };
        let text = changes.render(Path::new("/w"));
        assert!(text.starts_with(HEADING), "{text}");
        assert!(text.contains("- modified: `src/lib.rs`"), "{text}");
        assert!(text.contains("- renamed: `a.rs` → `b.rs`"), "{text}");
        assert!(text.contains("```text\n src/lib.rs | 1 +\n```"), "{text}");
        assert!(text.contains("from 0123456789ab to fedcba987654"), "{text}");
    }

    #[test]
    fn nothing_changed_and_no_repository_are_said_plainly() {
        let none = WorkspaceChanges::Listed {
            files: Vec::new(),
            diff_stat: String::new(),
            head_moved: None,
        };
        assert!(none.render(Path::new("/w")).contains("None: nothing"));
        let text = WorkspaceChanges::NotARepository.render(Path::new("/w"));
        assert!(text.contains("/w is not in a git repository"), "{text}");
    }
}
