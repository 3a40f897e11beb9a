//! Checks on the names and paths a call passes in, before git sees them.
//!
//! Beyond giving clear errors, these keep caller-supplied values from being
//! read as git options (a branch named `--force`) and keep files inside the
//! repository (no absolute paths, no `..`, nothing under `.git/`).

use std::path::{Component, Path};

use aido_plugin_api::{Error, Result};

use super::cli::Git;

/// Checks that `name` is a valid branch name, the way git itself decides
/// (`git check-ref-format --branch`).
pub(crate) async fn branch_name(git: &Git, name: &str) -> Result<()> {
    let invalid = |why: &str| {
        Error::invalid_input(format!(
            "`{name}` is not a valid branch name ({why}); use names such as `feature/PROJ-1-login`"
        ))
    };
    if name.is_empty() {
        return Err(invalid("it is empty"));
    }
    if name.starts_with('-') {
        return Err(invalid("it starts with `-`"));
    }
    let output = git
        .command()
        .args(["check-ref-format", "--branch", name])
        .output()
        .await?;
    if !output.success {
        return Err(invalid(&output.stderr));
    }
    // `--branch` expands `@{-1}` and the like; only a literal name is a name.
    if output.stdout_text() != name {
        return Err(invalid("it is a shorthand, not a literal name"));
    }
    Ok(())
}

/// Checks that `revision` (a branch, tag or commit) can be passed to git as
/// one: not empty, not an option, no whitespace or control characters.
pub(crate) fn revision(revision: &str) -> Result<()> {
    if revision.is_empty()
        || revision.starts_with('-')
        || revision.contains(|c: char| c.is_whitespace() || c.is_control())
    {
        return Err(Error::invalid_input(format!(
            "`{revision}` is not a valid revision; expected a branch, tag or commit name \
             (not empty, no spaces, not starting with `-`)"
        )));
    }
    Ok(())
}

/// Checks that `remote` can be a remote name.
pub(crate) fn remote_name(remote: &str) -> Result<()> {
    if remote.is_empty()
        || remote.starts_with('-')
        || remote.contains(|c: char| c.is_whitespace() || c.is_control())
    {
        return Err(Error::invalid_input(format!(
            "`{remote}` is not a valid remote name; expected a name such as `origin`"
        )));
    }
    Ok(())
}

/// A file path inside a repository, normalized to `a/b/c`: relative, no
/// `..`, nothing in `.git`. `./` parts are dropped.
pub(crate) fn repository_path(path: &str) -> Result<String> {
    let invalid = |why: &str| {
        Error::invalid_input(format!(
            "`{path}` is not a valid file path in the repository ({why}); use a relative \
             path such as `src/main.rs`"
        ))
    };
    if path.contains('\0') {
        return Err(invalid("it contains a NUL character"));
    }
    let mut parts = Vec::new();
    for component in Path::new(path).components() {
        match component {
            Component::Normal(part) => {
                let part = part
                    .to_str()
                    .ok_or_else(|| invalid("it is not valid UTF-8"))?;
                if part.eq_ignore_ascii_case(".git") {
                    return Err(invalid("files under `.git` belong to git itself"));
                }
                parts.push(part);
            }
            Component::CurDir => {}
            Component::ParentDir => return Err(invalid("`..` would leave the repository")),
            Component::RootDir | Component::Prefix(_) => return Err(invalid("it is absolute")),
        }
    }
    if parts.is_empty() {
        return Err(invalid("it names no file"));
    }
    Ok(parts.join("/"))
}

/// Checks that an idempotency key fits in a one-line commit trailer.
pub(crate) fn idempotency_key(key: &str) -> Result<()> {
    if key.trim().is_empty() || key.contains(|c: char| c.is_control()) {
        return Err(Error::invalid_input(
            "the idempotency key must be one non-empty line without control characters",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use aido_plugin_api::ErrorKind;

    use super::*;

    #[tokio::test]
    async fn branch_names_are_checked_by_git() {
        let git = Git::new("git".into(), Duration::from_secs(30));
        branch_name(&git, "feature/PROJ-1-login").await.unwrap();
        for bad in [
            "",
            "-f",
            "a..b",
            "a b",
            "x.lock",
            "@{-1}",
            "a~1",
            "refs/heads/",
        ] {
            let err = branch_name(&git, bad).await.unwrap_err();
            assert_eq!(err.kind(), ErrorKind::InvalidInput, "{bad}");
            assert!(err.message().contains(&format!("`{bad}`")), "{err}");
        }
    }

    #[test]
    fn repository_paths_stay_inside() {
        assert_eq!(repository_path("src/main.rs").unwrap(), "src/main.rs");
        assert_eq!(repository_path("./docs//a.md").unwrap(), "docs/a.md");
        for bad in [
            "",
            ".",
            "/etc/passwd",
            "../x",
            "a/../../x",
            ".git/config",
            "sub/.GIT/hooks/x",
            "a\0b",
        ] {
            let err = repository_path(bad).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::InvalidInput, "{bad}");
        }
    }

    #[test]
    fn revisions_cannot_be_options() {
        revision("main").unwrap();
        revision("v1.0^{commit}").unwrap();
        assert!(revision("--output=/tmp/x").is_err());
        assert!(revision("a b").is_err());
        assert!(remote_name("--upload-pack=x").is_err());
        remote_name("origin").unwrap();
    }

    #[test]
    fn idempotency_keys_are_one_line() {
        idempotency_key("run-1/step-commit").unwrap();
        assert!(idempotency_key("a\nb").is_err());
        assert!(idempotency_key("  ").is_err());
    }
}
