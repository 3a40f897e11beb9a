//! `apply_edits`: applies a model's proposed edits to the working copy, all
//! or nothing.
//!
//! The edits come in the format of [`super::edit_format`]. Every edit's path
//! is checked ([`super::path_policy`]) and every file's new content is
//! computed in memory first; if any edit is refused, nothing is written and
//! the error lists every refused edit with its reason, worded for the model
//! that proposed them. Otherwise each file is written atomically
//! ([`super::atomic`]), keeping its permissions and its line endings (a file
//! whose lines mostly end in CRLF keeps CRLF). Should a write still fail
//! (disk full), the files already written are restored.

use std::collections::HashMap;
use std::fs::{self, Permissions};
use std::io::ErrorKind as IoErrorKind;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use aido_plugin_api::{Effect, Error, Result};
use async_trait::async_trait;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::atomic::write_atomic;
use super::edit_format::{Edit, EditOp, JsonEdit, parse_edits};
use super::matching::{NoUniqueMatch, replace_once};
use super::path_policy::{PathPolicy, SafePath};
use super::workdir::resolve_workdir;
use crate::workflow::builtins::{BuiltinAction, BuiltinContext, BuiltinSpec};

const NAME: &str = "apply_edits";

/// Input of `apply_edits`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ApplyEditsInput {
    /// The edits: a model's answer holding edit blocks (text around them is
    /// ignored), or a list of JSON edits (see the edit format).
    #[schemars(with = "EditsSchema")]
    pub edits: Value,
    /// A folder inside the workspace to apply the edits in (paths are
    /// relative to it); the workspace when absent.
    #[serde(default)]
    pub workdir: Option<String>,
}

/// The edits: text holding edit blocks, a list of JSON edits, or an object
/// with an `edits` list.
// Only describes the schema: the value is read by `parse_edits`, which words
// its problems for the model better than an untagged enum could.
#[derive(JsonSchema)]
#[serde(untagged)]
#[allow(dead_code)]
enum EditsSchema {
    /// Text with SEARCH/REPLACE, WRITE and DELETE blocks (or the JSON form
    /// as text).
    Text(String),
    /// JSON edits.
    List(Vec<JsonEdit>),
    /// JSON edits in an object, as a model's structured answer gives them.
    Object {
        /// The JSON edits.
        edits: Vec<JsonEdit>,
    },
}

/// What happened to a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum FileAction {
    /// The file did not exist and was created.
    Created,
    /// Parts of the file were replaced.
    Modified,
    /// The file was deleted.
    Deleted,
    /// The whole existing file was replaced.
    Written,
}

/// One changed file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct AppliedEdit {
    /// The file, relative to the working directory.
    pub path: String,
    /// What happened to it.
    pub action: FileAction,
}

/// Output of `apply_edits`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ApplyEditsOutput {
    /// Every file changed, in the order the edits first named it.
    pub applied: Vec<AppliedEdit>,
    /// The same files' paths.
    pub files: Vec<String>,
}

/// A file's content while the edits are planned.
#[derive(Debug, Clone)]
enum Content {
    Absent,
    /// Text with LF line endings when the file uses CRLF (converted back on
    /// write), as read otherwise.
    Text(String),
    /// Not UTF-8: it can be written whole or deleted, not searched.
    Binary,
}

#[derive(Debug)]
struct PlannedFile {
    safe: SafePath,
    original: Option<Vec<u8>>,
    permissions: Option<Permissions>,
    crlf: bool,
    current: Content,
    whole_write: bool,
}

impl PlannedFile {
    fn load(safe: SafePath) -> std::result::Result<Self, String> {
        let (original, permissions) = match fs::read(&safe.target) {
            Ok(bytes) => {
                let permissions = fs::metadata(&safe.target).ok().map(|m| m.permissions());
                (Some(bytes), permissions)
            }
            Err(err) if err.kind() == IoErrorKind::NotFound => (None, None),
            Err(err) => return Err(format!("`{}` cannot be read: {err}", safe.relative)),
        };
        let (current, crlf) = match &original {
            None => (Content::Absent, false),
            Some(bytes) => match std::str::from_utf8(bytes) {
                Err(_) => (Content::Binary, false),
                Ok(text) => {
                    let crlf_lines = text.matches("\r\n").count();
                    // Mostly CRLF: edit in LF and convert back, so the
                    // model's LF text neither fails to match nor mixes
                    // line endings.
                    if crlf_lines > 0 && crlf_lines * 2 >= text.matches('\n').count() {
                        (Content::Text(text.replace("\r\n", "\n")), true)
                    } else {
                        (Content::Text(text.to_owned()), false)
                    }
                }
            },
        };
        Ok(PlannedFile {
            safe,
            original,
            permissions,
            crlf,
            current,
            whole_write: false,
        })
    }

    /// Applies one edit in memory, or says why it cannot be.
    fn apply(&mut self, op: &EditOp) -> std::result::Result<(), String> {
        let path = &self.safe.relative;
        match op {
            EditOp::Write { content } => {
                self.current = Content::Text(content.clone());
                self.whole_write = true;
            }
            EditOp::Delete => {
                if matches!(self.current, Content::Absent) {
                    return Err(format!("`{path}` does not exist, so it cannot be deleted"));
                }
                self.current = Content::Absent;
            }
            EditOp::Replace {
                search, replace, ..
            } if search.trim().is_empty() => match &self.current {
                Content::Absent => self.current = Content::Text(replace.clone()),
                Content::Text(text) if text.is_empty() => {
                    self.current = Content::Text(replace.clone());
                }
                _ => {
                    return Err(format!(
                        "the SEARCH text is empty but `{path}` already exists; quote the lines to replace, or use WRITE to replace the whole file"
                    ));
                }
            },
            EditOp::Replace {
                search,
                replace,
                whole_lines,
            } => match &self.current {
                Content::Absent => {
                    return Err(format!(
                        "`{path}` does not exist; to create it, leave the SEARCH section empty"
                    ));
                }
                Content::Binary => {
                    return Err(format!(
                        "`{path}` is not UTF-8 text, so it cannot be searched; replace it whole with WRITE"
                    ));
                }
                Content::Text(text) => {
                    let replaced = replace_once(text, search, replace, *whole_lines)
                        .map_err(|miss| describe_miss(search, path, miss))?;
                    self.current = Content::Text(replaced.content);
                }
            },
        }
        Ok(())
    }

    /// The action and the bytes to write (`None`: delete), or `None` when the
    /// file ends as it started (created, then deleted).
    fn outcome(&self) -> Option<(FileAction, Option<Vec<u8>>)> {
        match (&self.original, &self.current) {
            (_, Content::Binary) | (None, Content::Absent) => None,
            (Some(_), Content::Absent) => Some((FileAction::Deleted, None)),
            (original, Content::Text(text)) => {
                let bytes = if self.crlf {
                    text.replace("\r\n", "\n")
                        .replace('\n', "\r\n")
                        .into_bytes()
                } else {
                    text.clone().into_bytes()
                };
                let action = match (original, self.whole_write) {
                    (None, _) => FileAction::Created,
                    (Some(_), true) => FileAction::Written,
                    (Some(_), false) => FileAction::Modified,
                };
                Some((action, Some(bytes)))
            }
        }
    }
}

/// The reason a SEARCH text was refused, quoting its first line.
fn describe_miss(search: &str, path: &str, miss: NoUniqueMatch) -> String {
    let first = search
        .lines()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("")
        .trim();
    let first = if first.chars().count() > 80 {
        format!("{}...", first.chars().take(80).collect::<String>())
    } else {
        first.to_owned()
    };
    let quoted = format!("the SEARCH text starting with `{first}`");
    match miss {
        NoUniqueMatch { count: 0, .. } => format!(
            "{quoted} matched 0 times in `{path}` (also when ignoring whitespace); copy the lines exactly as they are in the current file"
        ),
        NoUniqueMatch {
            count,
            whitespace_tolerant: false,
        } => format!(
            "{quoted} matched {count} times in `{path}`; include more surrounding lines so it matches exactly one place"
        ),
        NoUniqueMatch { count, .. } => format!(
            "{quoted} matched 0 times exactly and {count} times when ignoring whitespace in `{path}`; copy the lines exactly, with more surrounding lines, so it matches exactly one place"
        ),
    }
}

/// Applies `edits` in `workdir` (canonical, see [`resolve_workdir`]): all of
/// them, or none when any is refused. Blocking.
pub fn apply_edits(
    workdir: &Path,
    edits: &[Edit],
    policy: &PathPolicy,
) -> Result<ApplyEditsOutput> {
    policy.check_config()?;
    let mut files: Vec<PlannedFile> = Vec::new();
    let mut by_target: HashMap<PathBuf, usize> = HashMap::new();
    let mut refused = Vec::new();
    for (index, edit) in edits.iter().enumerate() {
        let label = format!("edit {} ({}, `{}`)", index + 1, edit.origin, edit.path);
        let safe = match policy.resolve(workdir, &edit.path) {
            Ok(safe) => safe,
            Err(reason) => {
                refused.push(format!("{label}: {reason}"));
                continue;
            }
        };
        let slot = match by_target.get(&safe.target) {
            Some(&slot) => slot,
            None => match PlannedFile::load(safe.clone()) {
                Ok(file) => {
                    files.push(file);
                    by_target.insert(safe.target.clone(), files.len() - 1);
                    files.len() - 1
                }
                Err(reason) => {
                    refused.push(format!("{label}: {reason}"));
                    continue;
                }
            },
        };
        if let Err(reason) = files[slot].apply(&edit.op) {
            refused.push(format!("{label}: {reason}"));
        }
    }
    if !refused.is_empty() {
        let mut message = format!(
            "{} of {} edits were refused, so no file was changed:",
            refused.len(),
            edits.len()
        );
        for reason in &refused {
            message.push_str("\n- ");
            message.push_str(reason);
        }
        return Err(Error::invalid_input(message));
    }
    write_all(&files)
}

/// Writes the planned files; on a failure, restores those already written.
fn write_all(files: &[PlannedFile]) -> Result<ApplyEditsOutput> {
    let mut output = ApplyEditsOutput {
        applied: Vec::new(),
        files: Vec::new(),
    };
    let mut done: Vec<&PlannedFile> = Vec::new();
    for file in files {
        let Some((action, bytes)) = file.outcome() else {
            continue;
        };
        let result = match &bytes {
            None => fs::remove_file(&file.safe.entry),
            Some(bytes) if file.original.as_ref() == Some(bytes) => Ok(()),
            Some(bytes) => write_atomic(&file.safe.target, bytes, file.permissions.clone()),
        };
        if let Err(err) = result {
            let restored = restore(&done);
            return Err(Error::other(format!(
                "writing `{}` failed: {err}; {restored}",
                file.safe.relative
            )));
        }
        done.push(file);
        output.files.push(file.safe.relative.clone());
        output.applied.push(AppliedEdit {
            path: file.safe.relative.clone(),
            action,
        });
    }
    Ok(output)
}

/// Puts back the original content of `done` (newest first); says how it went.
fn restore(done: &[&PlannedFile]) -> String {
    let mut failed = Vec::new();
    for file in done.iter().rev() {
        let result = match &file.original {
            Some(bytes) => write_atomic(&file.safe.entry, bytes, file.permissions.clone()),
            None => fs::remove_file(&file.safe.target),
        };
        if let Err(err) = result {
            failed.push(format!("`{}` ({err})", file.safe.relative));
        }
    }
    if failed.is_empty() {
        format!("the {} file(s) already changed were restored", done.len())
    } else {
        format!("these files could not be restored: {}", failed.join(", "))
    }
}

/// The `apply_edits` built-in action.
pub struct ApplyEdits {
    spec: BuiltinSpec,
    policy: Arc<PathPolicy>,
}

impl ApplyEdits {
    /// The action, refusing what `policy` forbids.
    pub fn new(policy: Arc<PathPolicy>) -> Self {
        ApplyEdits {
            spec: BuiltinSpec::new::<ApplyEditsInput, ApplyEditsOutput>(
                NAME,
                "Applies a model's edits (SEARCH/REPLACE, WRITE and DELETE blocks, or JSON edits) to the working copy: all of them, or none when any is refused (a path outside the repository, in .git or forbidden; a SEARCH text that does not match exactly one place), with every refusal's reason in the error.",
                Effect::Write,
            ),
            policy,
        }
    }
}

#[async_trait]
impl BuiltinAction for ApplyEdits {
    fn spec(&self) -> &BuiltinSpec {
        &self.spec
    }

    async fn run(&self, cx: &BuiltinContext, input: Value) -> Result<Value> {
        let input: ApplyEditsInput = super::decode(NAME, input)?;
        let policy = Arc::clone(&self.policy);
        let workspace = cx.workspace.clone();
        let output = super::blocking(move || {
            policy.check_config()?;
            let workdir = resolve_workdir(&workspace, input.workdir.as_deref())?;
            let edits = parse_edits(&input.edits)
                .map_err(|err| Error::invalid_input(format!("{err}\nNo file was changed.")))?;
            apply_edits(&workdir, &edits, &policy)
        })
        .await?;
        tracing::debug!(files = output.files.len(), "applied edits");
        super::encode(&output)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::SecurityConfig;
    use serde_json::json;
    use std::collections::BTreeMap;
    use std::os::unix::fs::{PermissionsExt, symlink};

    /// Every file and symlink under `dir` with its content (or link target).
    fn snapshot(dir: &Path) -> BTreeMap<String, String> {
        let mut out = BTreeMap::new();
        let mut stack = vec![dir.to_owned()];
        while let Some(folder) = stack.pop() {
            for entry in fs::read_dir(&folder).unwrap() {
                let path = entry.unwrap().path();
                let rel = path
                    .strip_prefix(dir)
                    .unwrap()
                    .to_string_lossy()
                    .into_owned();
                let meta = fs::symlink_metadata(&path).unwrap();
                if meta.file_type().is_symlink() {
                    out.insert(
                        rel,
                        format!("-> {}", fs::read_link(&path).unwrap().display()),
                    );
                } else if meta.is_dir() {
                    out.insert(format!("{rel}/"), String::new());
                    stack.push(path);
                } else {
                    out.insert(
                        rel,
                        String::from_utf8_lossy(&fs::read(&path).unwrap()).into_owned(),
                    );
                }
            }
        }
        out
    }

    struct Repo {
        _outer: tempfile::TempDir,
        root: PathBuf,
        outside: PathBuf,
    }

    fn repo() -> Repo {
        let outer = tempfile::tempdir().unwrap();
        let root = outer.path().join("repo");
        let outside = outer.path().join("outside");
        fs::create_dir_all(root.join("src")).unwrap();
        fs::create_dir_all(root.join(".git")).unwrap();
        fs::create_dir_all(&outside).unwrap();
        fs::write(
            root.join("src/app.py"),
            "def a():\n    return 1\n\ndef b():\n    return 2\n",
        )
        .unwrap();
        fs::write(root.join("README.md"), "# Demo\n").unwrap();
        fs::write(root.join(".git/config"), "[core]\n").unwrap();
        fs::write(root.join(".env"), "TOKEN=x\n").unwrap();
        fs::write(outside.join("target.txt"), "outside\n").unwrap();
        symlink(&outside, root.join("escape")).unwrap();
        symlink(outside.join("target.txt"), root.join("link.txt")).unwrap();
        let root = root.canonicalize().unwrap();
        Repo {
            _outer: outer,
            root,
            outside,
        }
    }

    fn policy() -> PathPolicy {
        PathPolicy::new(&SecurityConfig::default().forbidden_paths)
    }

    fn text(edits: &str) -> Vec<Edit> {
        super::super::edit_format::parse_text(edits).unwrap()
    }

    fn write_edit(path: &str) -> Edit {
        Edit {
            path: path.into(),
            op: EditOp::Write {
                content: "pwned\n".into(),
            },
            origin: "edits[1]".into(),
        }
    }

    const GOOD: &str =
        "src/app.py\n<<<<<<< SEARCH\n    return 1\n=======\n    return 10\n>>>>>>> REPLACE\n";

    #[test]
    fn every_path_refusal_writes_nothing() {
        let repo = repo();
        let before = snapshot(&repo.root);
        let outside_before = snapshot(&repo.outside);
        let absolute = repo.root.join("src/new.py");
        for (path, reason) in [
            (absolute.to_str().unwrap(), "absolute"),
            ("/etc/passwd", "absolute"),
            ("../outside/target.txt", "`..`"),
            ("src/../../x.txt", "`..`"),
            (".git/config", "`.git`"),
            (".git/hooks/pre-commit", "`.git`"),
            ("vendor/lib/.git/HEAD", "`.git`"),
            (".env", "forbidden pattern `.env`"),
            ("config/.env", "forbidden pattern `.env`"),
            ("certs/server.pem", "forbidden pattern `*.pem`"),
            ("id.key", "forbidden pattern `*.key`"),
            ("escape/new.txt", "outside the working directory"),
            ("link.txt", "outside the working directory"),
            ("", "empty"),
        ] {
            let mut edits = text(GOOD);
            edits.push(write_edit(path));
            let err = apply_edits(&repo.root, &edits, &policy()).unwrap_err();
            assert_eq!(
                err.kind(),
                aido_plugin_api::ErrorKind::InvalidInput,
                "{path}"
            );
            let message = err.message();
            assert!(
                message.starts_with("1 of 2 edits were refused, so no file was changed:"),
                "{message}"
            );
            assert!(
                message.contains(&format!("edit 2 (edits[1], `{path}`)")),
                "{message}"
            );
            assert!(message.contains(reason), "{path}: {message}");
            assert_eq!(
                snapshot(&repo.root),
                before,
                "{path} changed the repository"
            );
            assert_eq!(
                snapshot(&repo.outside),
                outside_before,
                "{path} wrote outside"
            );
        }
    }

    #[test]
    fn one_bad_edit_among_many_writes_nothing_and_all_refusals_are_listed() {
        let repo = repo();
        fs::write(
            repo.root.join("dup.py"),
            "if a:\n    go()\nif b:\n        go()\n",
        )
        .unwrap();
        let before = snapshot(&repo.root);
        let edits = text(
            "src/app.py\n<<<<<<< SEARCH\n    return 1\n=======\n    return 10\n>>>>>>> REPLACE\n\
             new/file.txt\n<<<<<<< WRITE\nhello\n>>>>>>> END\n\
             src/app.py\n<<<<<<< SEARCH\ndef missing():\n    pass\n=======\n>>>>>>> REPLACE\n\
             README.md\n<<<<<<< DELETE\n>>>>>>> END\n\
             dup.py\n<<<<<<< SEARCH\n  go()\n=======\n  stop()\n>>>>>>> REPLACE\n",
        );
        let err = apply_edits(&repo.root, &edits, &policy()).unwrap_err();
        let message = err.message();
        assert!(
            message.starts_with("2 of 5 edits were refused"),
            "{message}"
        );
        assert!(
            message.contains("edit 3 (block at line 12, `src/app.py`): the SEARCH text starting with `def missing():` matched 0 times in `src/app.py`"),
            "{message}"
        );
        assert!(
            message.contains("edit 5 (block at line 21, `dup.py`): the SEARCH text starting with `go()` matched 0 times exactly and 2 times when ignoring whitespace"),
            "{message}"
        );
        assert_eq!(snapshot(&repo.root), before);
    }

    #[test]
    fn ambiguous_search_is_refused_with_its_count() {
        let repo = repo();
        fs::write(repo.root.join("dup.txt"), "x = 1\ny = 2\nx = 1\n").unwrap();
        let before = snapshot(&repo.root);
        let edits = text("dup.txt\n<<<<<<< SEARCH\nx = 1\n=======\nx = 3\n>>>>>>> REPLACE\n");
        let err = apply_edits(&repo.root, &edits, &policy()).unwrap_err();
        assert!(
            err.message().contains("the SEARCH text starting with `x = 1` matched 2 times in `dup.txt`; include more surrounding lines"),
            "{err}"
        );
        assert_eq!(snapshot(&repo.root), before);
    }

    #[test]
    fn whitespace_tolerant_match_applies_when_unique() {
        let repo = repo();
        let edits = text(
            "src/app.py\n<<<<<<< SEARCH\n  def b():  \n      return 2\n=======\n  def b():\n      return 20\n>>>>>>> REPLACE\n",
        );
        let out = apply_edits(&repo.root, &edits, &policy()).unwrap();
        assert_eq!(
            out.applied,
            vec![AppliedEdit {
                path: "src/app.py".into(),
                action: FileAction::Modified
            }]
        );
        assert_eq!(
            fs::read_to_string(repo.root.join("src/app.py")).unwrap(),
            "def a():\n    return 1\n\ndef b():\n    return 20\n"
        );
    }

    #[test]
    fn creates_modifies_writes_and_deletes() {
        let repo = repo();
        fs::write(repo.root.join("old.txt"), "bye\n").unwrap();
        let edits = text(
            "src/app.py\n<<<<<<< SEARCH\n    return 1\n=======\n    return 10\n>>>>>>> REPLACE\n\
             src/app.py\n<<<<<<< SEARCH\n    return 10\n=======\n    return 11\n>>>>>>> REPLACE\n\
             docs/guide/intro.md\n<<<<<<< SEARCH\n=======\n# Intro\n>>>>>>> REPLACE\n\
             README.md\n<<<<<<< WRITE\n# New readme\n>>>>>>> END\n\
             notes.txt\n<<<<<<< WRITE\nnotes\n>>>>>>> END\n\
             old.txt\n<<<<<<< DELETE\n>>>>>>> END\n\
             temp.txt\n<<<<<<< WRITE\ntemporary\n>>>>>>> END\n\
             temp.txt\n<<<<<<< DELETE\n>>>>>>> END\n",
        );
        let out = apply_edits(&repo.root, &edits, &policy()).unwrap();
        assert_eq!(
            out.applied,
            vec![
                AppliedEdit {
                    path: "src/app.py".into(),
                    action: FileAction::Modified
                },
                AppliedEdit {
                    path: "docs/guide/intro.md".into(),
                    action: FileAction::Created
                },
                AppliedEdit {
                    path: "README.md".into(),
                    action: FileAction::Written
                },
                AppliedEdit {
                    path: "notes.txt".into(),
                    action: FileAction::Created
                },
                AppliedEdit {
                    path: "old.txt".into(),
                    action: FileAction::Deleted
                },
            ]
        );
        assert_eq!(
            out.files,
            [
                "src/app.py",
                "docs/guide/intro.md",
                "README.md",
                "notes.txt",
                "old.txt"
            ]
        );
        assert_eq!(
            fs::read_to_string(repo.root.join("src/app.py")).unwrap(),
            "def a():\n    return 11\n\ndef b():\n    return 2\n"
        );
        assert_eq!(
            fs::read_to_string(repo.root.join("docs/guide/intro.md")).unwrap(),
            "# Intro\n"
        );
        assert_eq!(
            fs::read_to_string(repo.root.join("README.md")).unwrap(),
            "# New readme\n"
        );
        assert!(!repo.root.join("old.txt").exists());
        assert!(!repo.root.join("temp.txt").exists());
    }

    #[test]
    fn refuses_impossible_operations() {
        let repo = repo();
        let before = snapshot(&repo.root);
        let edits = text(
            "README.md\n<<<<<<< SEARCH\n=======\n# Replaced?\n>>>>>>> REPLACE\n\
             missing.txt\n<<<<<<< SEARCH\nx\n=======\ny\n>>>>>>> REPLACE\n\
             gone.txt\n<<<<<<< DELETE\n>>>>>>> END\n\
             src\n<<<<<<< WRITE\nx\n>>>>>>> END\n",
        );
        let err = apply_edits(&repo.root, &edits, &policy()).unwrap_err();
        let message = err.message();
        assert!(
            message.starts_with("4 of 4 edits were refused"),
            "{message}"
        );
        assert!(
            message.contains("the SEARCH text is empty but `README.md` already exists"),
            "{message}"
        );
        assert!(
            message.contains(
                "`missing.txt` does not exist; to create it, leave the SEARCH section empty"
            ),
            "{message}"
        );
        assert!(
            message.contains("`gone.txt` does not exist, so it cannot be deleted"),
            "{message}"
        );
        assert!(
            message.contains("`src` is a folder, not a file"),
            "{message}"
        );
        assert_eq!(snapshot(&repo.root), before);
    }

    #[test]
    fn keeps_crlf_line_endings_and_permissions() {
        let repo = repo();
        let script = repo.root.join("run.sh");
        fs::write(&script, "#!/bin/sh\r\necho one\r\necho two\r\n").unwrap();
        fs::set_permissions(&script, Permissions::from_mode(0o755)).unwrap();
        let edits = text(
            "run.sh\r\n<<<<<<< SEARCH\r\necho one\r\n=======\r\necho uno\r\n>>>>>>> REPLACE\r\n",
        );
        apply_edits(&repo.root, &edits, &policy()).unwrap();
        assert_eq!(
            fs::read_to_string(&script).unwrap(),
            "#!/bin/sh\r\necho uno\r\necho two\r\n"
        );
        assert_eq!(
            fs::metadata(&script).unwrap().permissions().mode() & 0o777,
            0o755
        );
    }

    #[test]
    fn symlinks_inside_the_workdir_are_followed() {
        let repo = repo();
        symlink(repo.root.join("src"), repo.root.join("code")).unwrap();
        let edits = text(
            "code/app.py\n<<<<<<< SEARCH\n    return 2\n=======\n    return 3\n>>>>>>> REPLACE\n",
        );
        let out = apply_edits(&repo.root, &edits, &policy()).unwrap();
        assert_eq!(out.files, ["code/app.py"]);
        assert!(
            fs::read_to_string(repo.root.join("src/app.py"))
                .unwrap()
                .contains("return 3")
        );
    }

    #[test]
    fn a_failed_write_restores_the_files_already_written() {
        let repo = repo();
        let edits = text(GOOD);
        let safe = policy().resolve(&repo.root, "src/app.py").unwrap();
        let mut first = PlannedFile::load(safe).unwrap();
        first.apply(&edits[0].op).unwrap();
        let created = PlannedFile::load(policy().resolve(&repo.root, "fresh.txt").unwrap());
        let mut created = created.unwrap();
        created.apply(&write_edit("fresh.txt").op).unwrap();
        // Planned while `later/` did not exist; a file named `later` appears
        // before the write (as if another process made it), so even root
        // cannot write there and the write fails after the first two.
        let blocked = policy().resolve(&repo.root, "later/x.txt").unwrap();
        let mut third = PlannedFile::load(blocked).unwrap();
        third.apply(&write_edit("later/x.txt").op).unwrap();
        fs::write(repo.root.join("later"), "in the way\n").unwrap();
        let before = snapshot(&repo.root);
        let err = write_all(&[first, created, third]).unwrap_err();
        assert!(
            err.message().starts_with("writing `later/x.txt` failed:"),
            "{err}"
        );
        assert!(
            err.message()
                .ends_with("the 2 file(s) already changed were restored"),
            "{err}"
        );
        assert_eq!(snapshot(&repo.root), before);
    }

    fn cx(dir: &Path) -> BuiltinContext {
        BuiltinContext {
            run_id: "run-1".into(),
            step: "apply".into(),
            workspace: dir.to_owned(),
            idempotency_key: "k".into(),
        }
    }

    fn action() -> Arc<dyn BuiltinAction> {
        super::super::agent_builtins(&SecurityConfig::default())
            .into_iter()
            .find(|a| a.spec().name == NAME)
            .unwrap()
    }

    #[tokio::test]
    async fn the_action_reads_a_fenced_answer_in_a_workdir() {
        let repo = repo();
        let answer = "I will change the function.\r\n\r\n```python\r\napp.py\r\n<<<<<<< SEARCH\r\n    return 1\r\n=======\r\n    return 100\r\n>>>>>>> REPLACE\r\n```\r\n";
        let out = action()
            .run(&cx(&repo.root), json!({"edits": answer, "workdir": "src"}))
            .await
            .unwrap();
        assert_eq!(
            out,
            json!({"applied": [{"path": "app.py", "action": "modified"}], "files": ["app.py"]})
        );
        assert!(
            fs::read_to_string(repo.root.join("src/app.py"))
                .unwrap()
                .contains("return 100\n")
        );
    }

    #[tokio::test]
    async fn the_action_takes_the_json_form() {
        let repo = repo();
        let out = action()
            .run(
                &cx(&repo.root),
                json!({"edits": [
                    {"path": "src/app.py", "search": "return 2", "replace": "return 22"},
                    {"path": "lib/util.py", "content": "X = 1\n"},
                    {"path": "README.md", "delete": true}
                ]}),
            )
            .await
            .unwrap();
        assert_eq!(
            out["applied"],
            json!([
                {"path": "src/app.py", "action": "modified"},
                {"path": "lib/util.py", "action": "created"},
                {"path": "README.md", "action": "deleted"}
            ])
        );
        assert_eq!(
            fs::read_to_string(repo.root.join("lib/util.py")).unwrap(),
            "X = 1\n"
        );
    }

    #[tokio::test]
    async fn the_action_reports_unreadable_edits_and_bad_workdirs() {
        let repo = repo();
        let before = snapshot(&repo.root);
        let err = action()
            .run(&cx(&repo.root), json!({"edits": "Sorry, I cannot help."}))
            .await
            .unwrap_err();
        assert_eq!(err.kind(), aido_plugin_api::ErrorKind::InvalidInput);
        assert!(err.message().contains("found no edit blocks"), "{err}");
        let err = action()
            .run(
                &cx(&repo.root),
                json!({"edits": [], "workdir": "../outside"}),
            )
            .await
            .unwrap_err();
        assert!(err.message().contains("workdir"), "{err}");
        let err = action()
            .run(&cx(&repo.root), json!({"edits": [], "extra": 1}))
            .await
            .unwrap_err();
        assert!(err.message().contains("unknown field `extra`"), "{err}");
        assert_eq!(snapshot(&repo.root), before);
    }
}
