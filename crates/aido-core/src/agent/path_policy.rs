//! Where an agent may write, and which files it may read into a prompt.
//!
//! A path proposed by a model is refused when it
//! - is empty, absolute (`/etc/passwd`, `C:\x`) or uses `\` as a separator;
//! - has a `..` component;
//! - has a `.git` component at any depth (any letter case, because
//!   case-insensitive file systems treat `.GIT` as `.git`);
//! - matches a pattern of `security.forbidden_paths`: each pattern is a glob
//!   (`globset` syntax, `*` does not cross `/`, matched case-insensitively)
//!   tried against the whole relative path, every folder prefix of it and
//!   every single component, so `*.pem` refuses `certs/site.pem`, `.env`
//!   refuses `app/.env` and `secrets` refuses everything under `secrets/`;
//! - leads outside the working directory through a symlink (of an existing
//!   parent folder or of the file itself), or through a symlink to a path that
//!   one of the rules above refuses.
//!
//! An invalid pattern fails closed: every check answers with a
//! configuration error rather than letting paths through.

use std::io::ErrorKind as IoErrorKind;
use std::path::{Path, PathBuf};

use aido_plugin_api::{Error, Result};
use globset::{GlobBuilder, GlobSet, GlobSetBuilder};

/// The path rules, built once from `security.forbidden_paths`.
#[derive(Debug)]
pub struct PathPolicy {
    patterns: Vec<String>,
    globs: std::result::Result<GlobSet, String>,
}

/// A path that passed every rule, resolved inside the working directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SafePath {
    /// The path relative to the working directory, normalized (`./` and
    /// doubled `/` removed), with `/` separators.
    pub relative: String,
    /// Where the file's content is read and written: symlinks resolved.
    pub target: PathBuf,
    /// The directory entry itself: parent folders resolved, the last
    /// component as given. A delete removes this (a symlink, not its target).
    pub entry: PathBuf,
}

impl PathPolicy {
    /// Rules forbidding `forbidden_paths` (glob patterns) besides the fixed
    /// rules of the module documentation.
    pub fn new(forbidden_paths: &[String]) -> Self {
        let mut builder = GlobSetBuilder::new();
        let mut problem = None;
        for pattern in forbidden_paths {
            match GlobBuilder::new(pattern)
                .literal_separator(true)
                .case_insensitive(true)
                .build()
            {
                Ok(glob) => {
                    builder.add(glob);
                }
                Err(err) => {
                    problem.get_or_insert_with(|| {
                        format!("`security.forbidden_paths` holds an invalid pattern: {err}")
                    });
                }
            }
        }
        let globs = match problem {
            Some(problem) => Err(problem),
            None => builder
                .build()
                .map_err(|err| format!("`security.forbidden_paths` cannot be used: {err}")),
        };
        PathPolicy {
            patterns: forbidden_paths.to_vec(),
            globs,
        }
    }

    /// Fails with a configuration error when a forbidden pattern is invalid;
    /// callers check this first so a bad pattern stops the whole action.
    pub fn check_config(&self) -> Result<()> {
        self.globs
            .as_ref()
            .map(|_| ())
            .map_err(|problem| Error::configuration(problem.clone()))
    }

    /// The normalized relative form of `path`, or why it is refused. Only
    /// looks at the text; [`PathPolicy::resolve`] also checks symlinks.
    pub fn check_relative(&self, path: &str) -> std::result::Result<String, String> {
        if path.is_empty() {
            return Err("the path is empty".to_owned());
        }
        if path.contains('\0') {
            return Err("the path contains a NUL character".to_owned());
        }
        let bytes = path.as_bytes();
        let drive = bytes.len() >= 2 && bytes[0].is_ascii_alphabetic() && bytes[1] == b':';
        if path.starts_with('/') || drive || Path::new(path).is_absolute() {
            return Err(
                "the path is absolute; give a path relative to the repository root".to_owned(),
            );
        }
        if path.contains('\\') {
            return Err("the path contains `\\`; separate folders with `/`".to_owned());
        }
        let mut parts = Vec::new();
        for part in path.split('/') {
            match part {
                "" | "." => {}
                ".." => {
                    return Err(
                        "the path contains `..`; edits must stay inside the repository".to_owned(),
                    );
                }
                _ => parts.push(part),
            }
        }
        if parts.is_empty() {
            return Err("the path names the working directory itself, not a file".to_owned());
        }
        let relative = parts.join("/");
        self.check_components(&parts)?;
        Ok(relative)
    }

    /// Whether a relative path (with `/` separators) is refused by `.git` or a
    /// forbidden pattern; `Some(reason)` when it is. Used to keep forbidden
    /// files out of prompts too.
    pub fn forbidden_reason(&self, relative: &str) -> Option<String> {
        let parts: Vec<&str> = relative.split('/').filter(|p| !p.is_empty()).collect();
        self.check_components(&parts).err()
    }

    fn check_components(&self, parts: &[&str]) -> std::result::Result<(), String> {
        if parts.iter().any(|p| p.eq_ignore_ascii_case(".git")) {
            return Err("the path is inside `.git`, which edits never touch".to_owned());
        }
        let globs = self.globs.as_ref().map_err(Clone::clone)?;
        let mut candidates: Vec<String> = parts.iter().map(|p| (*p).to_owned()).collect();
        for end in 2..=parts.len() {
            candidates.push(parts[..end].join("/"));
        }
        for candidate in &candidates {
            if let Some(&index) = globs.matches(candidate).first() {
                let pattern = self.patterns.get(index).map_or("?", String::as_str);
                return Err(format!(
                    "the path matches the forbidden pattern `{pattern}` (security.forbidden_paths)"
                ));
            }
        }
        Ok(())
    }

    /// Checks `path` against every rule and resolves it inside `workdir`,
    /// which must be canonical (see [`super::workdir::resolve_workdir`]).
    /// Blocking: it reads the file system. `Err` holds the reason for the
    /// model.
    pub fn resolve(&self, workdir: &Path, path: &str) -> std::result::Result<SafePath, String> {
        let relative = self.check_relative(path)?;
        let parts: Vec<&str> = relative.split('/').collect();
        let Some((last, parents)) = parts.split_last() else {
            return Err("the path names the working directory itself, not a file".to_owned());
        };
        let mut current = workdir.to_owned();
        let mut exists = true;
        for (index, part) in parents.iter().enumerate() {
            let next = current.join(part);
            let shown = parts[..=index].join("/");
            if !exists {
                current = next;
                continue;
            }
            match std::fs::symlink_metadata(&next) {
                Err(err) if err.kind() == IoErrorKind::NotFound => {
                    exists = false;
                    current = next;
                }
                Err(err) => return Err(format!("`{shown}` cannot be read: {err}")),
                Ok(meta) if meta.file_type().is_symlink() => {
                    let real = next.canonicalize().map_err(|_| {
                        format!("`{shown}` is a symlink whose target does not exist")
                    })?;
                    self.check_inside(workdir, &real, &shown)?;
                    if !real.is_dir() {
                        return Err(format!("`{shown}` is a file, not a folder"));
                    }
                    current = real;
                }
                Ok(meta) if meta.is_dir() => current = next,
                Ok(_) => return Err(format!("`{shown}` is a file, not a folder")),
            }
        }
        let entry = current.join(last);
        let target = if !exists {
            entry.clone()
        } else {
            match std::fs::symlink_metadata(&entry) {
                Err(err) if err.kind() == IoErrorKind::NotFound => entry.clone(),
                Err(err) => return Err(format!("`{relative}` cannot be read: {err}")),
                Ok(meta) if meta.file_type().is_symlink() => {
                    let real = entry.canonicalize().map_err(|_| {
                        format!("`{relative}` is a symlink whose target does not exist")
                    })?;
                    self.check_inside(workdir, &real, &relative)?;
                    if real.is_dir() {
                        return Err(format!("`{relative}` is a folder, not a file"));
                    }
                    real
                }
                Ok(meta) if meta.is_dir() => {
                    return Err(format!("`{relative}` is a folder, not a file"));
                }
                Ok(_) => entry.clone(),
            }
        };
        // The parts that exist were resolved above; what the path really
        // names must pass the same rules as what it says.
        self.check_inside(workdir, &target, &relative)?;
        Ok(SafePath {
            relative,
            target,
            entry,
        })
    }

    /// Refuses `real` (a resolved path) outside `workdir` or refused by a rule.
    fn check_inside(
        &self,
        workdir: &Path,
        real: &Path,
        shown: &str,
    ) -> std::result::Result<(), String> {
        let Ok(inner) = real.strip_prefix(workdir) else {
            return Err(format!(
                "`{shown}` leads outside the working directory through a symlink"
            ));
        };
        let parts: Vec<String> = inner
            .components()
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .collect();
        let parts: Vec<&str> = parts.iter().map(String::as_str).collect();
        self.check_components(&parts).map_err(|reason| {
            format!(
                "`{shown}` is a symlink to `{}`: {reason}",
                inner.to_string_lossy()
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    fn policy() -> PathPolicy {
        PathPolicy::new(&[
            ".env".to_owned(),
            "*.pem".to_owned(),
            "secrets".to_owned(),
            "config/prod.yaml".to_owned(),
        ])
    }

    #[test]
    fn normalizes_safe_relative_paths() {
        let p = policy();
        assert_eq!(p.check_relative("./src//main.rs").unwrap(), "src/main.rs");
        assert_eq!(p.check_relative("a.txt").unwrap(), "a.txt");
        assert_eq!(
            p.check_relative(".github/ci.yml").unwrap(),
            ".github/ci.yml"
        );
        assert_eq!(
            p.check_relative("config/dev.yaml").unwrap(),
            "config/dev.yaml"
        );
    }

    #[test]
    fn refuses_unsafe_paths_with_a_reason() {
        let p = policy();
        for (path, reason) in [
            ("", "empty"),
            ("/etc/passwd", "absolute"),
            ("C:/x", "absolute"),
            ("a\\b", "`\\`"),
            ("../x", "`..`"),
            ("a/../../x", "`..`"),
            (".", "working directory itself"),
            (".git/config", "`.git`"),
            ("sub/.git/hooks/pre-commit", "`.git`"),
            (".GIT/config", "`.git`"),
            (".env", "`.env`"),
            ("app/.env", "`.env`"),
            ("certs/site.PEM", "`*.pem`"),
            ("secrets/db/password.txt", "`secrets`"),
            ("config/prod.yaml", "`config/prod.yaml`"),
        ] {
            let err = p.check_relative(path).unwrap_err();
            assert!(err.contains(reason), "{path}: {err}");
        }
    }

    #[test]
    fn invalid_patterns_fail_closed() {
        let p = PathPolicy::new(&["a[".to_owned()]);
        assert_eq!(
            p.check_config().unwrap_err().kind(),
            aido_plugin_api::ErrorKind::Configuration
        );
        assert!(
            p.check_relative("ok.txt")
                .unwrap_err()
                .contains("invalid pattern")
        );
    }

    #[test]
    fn resolves_through_symlinks_only_inside_the_workdir() {
        let outer = tempfile::tempdir().unwrap();
        let work = outer.path().join("work");
        std::fs::create_dir_all(work.join("src")).unwrap();
        std::fs::create_dir(outer.path().join("elsewhere")).unwrap();
        std::fs::write(outer.path().join("outside.txt"), "x").unwrap();
        std::fs::write(work.join(".env"), "SECRET=1").unwrap();
        std::fs::write(work.join("file.txt"), "x").unwrap();
        symlink(outer.path().join("elsewhere"), work.join("out")).unwrap();
        symlink(outer.path().join("outside.txt"), work.join("outside.txt")).unwrap();
        symlink(work.join(".env"), work.join("innocent.txt")).unwrap();
        symlink(work.join("src"), work.join("code")).unwrap();
        let work = work.canonicalize().unwrap();
        let p = policy();

        let ok = p.resolve(&work, "code/new.rs").unwrap();
        assert_eq!(ok.relative, "code/new.rs");
        assert_eq!(ok.target, work.join("src/new.rs"));
        let ok = p.resolve(&work, "deep/new/dir/f.rs").unwrap();
        assert_eq!(ok.target, work.join("deep/new/dir/f.rs"));

        for (path, reason) in [
            ("out/x.txt", "outside the working directory"),
            ("outside.txt", "outside the working directory"),
            ("innocent.txt", "forbidden pattern `.env`"),
            ("src", "is a folder"),
            ("file.txt/x", "is a file, not a folder"),
        ] {
            let err = p.resolve(&work, path).unwrap_err();
            assert!(err.contains(reason), "{path}: {err}");
        }
    }
}
