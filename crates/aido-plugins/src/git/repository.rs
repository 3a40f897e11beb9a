//! What a `repository` or `workdir` argument points at: a remote URL, or a
//! local repository (a working copy or a bare repository) and the questions
//! asked of it (default branch, branches, commits).

use std::path::{Path, PathBuf};

use aido_plugin_api::{Error, Result};

use super::cli::{Git, GitCommand};
use super::config::Settings;
use super::redact::redact_url;

/// Where a repository argument points.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Location {
    /// A URL git fetches over the network (`https://`, `ssh://`,
    /// `git@host:path`).
    Remote(String),
    /// A folder on this machine (also given as `file://`).
    Local(PathBuf),
}

/// Classifies `repository` the way git does: `scheme://` is a URL (except
/// `file://`), `host:path` with no `/` before the `:` is an scp-like address,
/// anything else is a path, resolved against the project folder.
pub(crate) fn locate(settings: &Settings, repository: &str) -> Location {
    if let Some(path) = repository.strip_prefix("file://") {
        return Location::Local(settings.resolve(&percent_decode(path)));
    }
    if repository.contains("://") || is_scp_like(repository) {
        return Location::Remote(repository.to_owned());
    }
    Location::Local(settings.resolve(repository))
}

/// `user@host:path`: a colon before any slash, and not a Windows drive
/// letter (`C:\repo`).
fn is_scp_like(repository: &str) -> bool {
    let Some(colon) = repository.find(':') else {
        return false;
    };
    let before = &repository[..colon];
    let drive_letter = before.len() == 1 && before.chars().all(|c| c.is_ascii_alphabetic());
    !before.is_empty() && !before.contains('/') && !drive_letter
}

/// Decodes `%XX` escapes of a `file://` URL's path.
fn percent_decode(path: &str) -> String {
    let bytes = path.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok());
        match (bytes[i], hex.and_then(|h| u8::from_str_radix(h, 16).ok())) {
            (b'%', Some(byte)) => {
                out.push(byte);
                i += 3;
            }
            (byte, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A `file://` URL for an absolute `path`, percent-encoding whatever is not
/// safe in a URL.
pub(crate) fn file_url(path: &Path) -> String {
    let text = path.to_string_lossy().replace('\\', "/");
    let mut url = String::from("file://");
    if !text.starts_with('/') {
        url.push('/');
    }
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~/".contains(&byte) {
            url.push(byte as char);
        } else {
            url.push_str(&format!("%{byte:02X}"));
        }
    }
    url
}

/// The branch a remote's `HEAD` names, from the output of
/// `git ls-remote --symref <remote> HEAD` (`ref: refs/heads/main\tHEAD`).
pub(crate) fn parse_symref_head(ls_remote: &str) -> Option<String> {
    ls_remote.lines().find_map(|line| {
        let target = line.strip_prefix("ref: ")?.strip_suffix("\tHEAD")?;
        target.strip_prefix("refs/heads/").map(str::to_owned)
    })
}

/// A path as the text put in outputs.
pub(crate) fn path_text(path: &Path) -> String {
    path.to_string_lossy().into_owned()
}

/// A repository on this machine.
#[derive(Debug, Clone)]
pub(crate) struct LocalRepo {
    /// The working copy's top folder, or the bare repository's folder;
    /// canonical.
    pub(crate) root: PathBuf,
    /// Whether it is a bare repository (no working copy).
    pub(crate) bare: bool,
}

/// A branch found in a repository.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ResolvedBranch {
    /// Its full ref, such as `refs/heads/main` or `refs/remotes/origin/main`.
    pub(crate) refname: String,
    /// The commit it points at.
    pub(crate) sha: String,
}

impl LocalRepo {
    /// Opens the repository at `path` (a folder that must be its top: a
    /// working copy's root or a bare repository). `shown` is how the caller
    /// named it, for messages.
    pub(crate) async fn open(git: &Git, path: &Path, shown: &str) -> Result<LocalRepo> {
        let canonical = tokio::fs::canonicalize(path).await.map_err(|err| {
            Error::not_found(format!(
                "repository `{shown}` not found: {} cannot be opened ({err})",
                path.display()
            ))
        })?;
        let bare = git
            .in_dir(&canonical)
            .args(["rev-parse", "--is-bare-repository"])
            .output()
            .await?;
        if !bare.success {
            return Err(Error::not_found(format!(
                "`{shown}` is not a git repository ({}); expected a working copy or a bare repository",
                bare.stderr
            )));
        }
        let bare = bare.stdout_text() == "true";
        let top_arg = if bare {
            "--absolute-git-dir"
        } else {
            "--show-toplevel"
        };
        let top = git
            .in_dir(&canonical)
            .args(["rev-parse", top_arg])
            .run()
            .await?;
        let top = tokio::fs::canonicalize(&top)
            .await
            .unwrap_or_else(|_| PathBuf::from(&top));
        // A folder inside another repository is not that repository: acting
        // on the enclosing one (say, the user's own project) would be a
        // nasty surprise.
        if top != canonical {
            return Err(Error::invalid_input(format!(
                "`{shown}` is not the top folder of a repository: it lies inside `{}`; pass that \
                 folder instead",
                top.display()
            )));
        }
        Ok(LocalRepo {
            root: canonical,
            bare,
        })
    }

    /// Opens `workdir`, which must be a working copy (not bare).
    pub(crate) async fn working_copy(settings: &Settings, workdir: &str) -> Result<LocalRepo> {
        let repo = LocalRepo::open(&settings.git, &settings.resolve(workdir), workdir).await?;
        if repo.bare {
            return Err(Error::invalid_input(format!(
                "`{workdir}` is a bare repository; this needs a working copy, such as one made \
                 by clone_repository"
            )));
        }
        Ok(repo)
    }

    /// Opens a `repository` argument that must be local.
    pub(crate) async fn from_argument(
        settings: &Settings,
        repository: &str,
        action: &str,
    ) -> Result<LocalRepo> {
        match locate(settings, repository) {
            Location::Local(path) => LocalRepo::open(&settings.git, &path, repository).await,
            Location::Remote(url) => Err(Error::unsupported(format!(
                "{action} works on local repositories, and `{}` is a remote URL; clone it with \
                 clone_repository and pass the working copy's path",
                redact_url(&url)
            ))),
        }
    }

    /// A git command run in this repository.
    pub(crate) fn git<'a>(&self, git: &'a Git) -> GitCommand<'a> {
        git.in_dir(&self.root)
    }

    /// The repository's path, for messages.
    pub(crate) fn display(&self) -> String {
        self.root.display().to_string()
    }

    /// The commit `revision` names, if it names one.
    pub(crate) async fn commit_of(&self, git: &Git, revision: &str) -> Result<Option<String>> {
        let output = self
            .git(git)
            .args(["rev-parse", "--verify", "--quiet", "--end-of-options"])
            .arg(format!("{revision}^{{commit}}"))
            .output()
            .await?;
        Ok(output.success.then(|| output.stdout_text()))
    }

    /// The branch checked out, or `None` when `HEAD` is detached.
    pub(crate) async fn current_branch(&self, git: &Git) -> Result<Option<String>> {
        let output = self
            .git(git)
            .args(["symbolic-ref", "--quiet", "--short", "HEAD"])
            .output()
            .await?;
        Ok(output.success.then(|| output.stdout_text()))
    }

    /// The repository's default branch: for a bare repository the branch
    /// its `HEAD` names; for a working copy the remote's (`<remote>/HEAD`),
    /// falling back to the branch checked out.
    pub(crate) async fn default_branch(&self, git: &Git, remote: &str) -> Result<String> {
        if !self.bare {
            let remote_head = format!("refs/remotes/{remote}/HEAD");
            let output = self
                .git(git)
                .args(["symbolic-ref", "--quiet", "--short", &remote_head])
                .output()
                .await?;
            if output.success {
                let short = output.stdout_text();
                let prefix = format!("{remote}/");
                return Ok(short.strip_prefix(&prefix).unwrap_or(&short).to_owned());
            }
        }
        self.current_branch(git).await?.ok_or_else(|| {
            Error::other(format!(
                "cannot tell the default branch of {}: HEAD is detached and there is no \
                 `{remote}/HEAD`; name the branch explicitly",
                self.display()
            ))
        })
    }

    /// Finds branch `name`: a local branch first, then the remote-tracking
    /// branch of `remote` (a fresh clone has only `main` locally).
    pub(crate) async fn resolve_branch(
        &self,
        git: &Git,
        name: &str,
        remote: &str,
    ) -> Result<Option<ResolvedBranch>> {
        for refname in [
            format!("refs/heads/{name}"),
            format!("refs/remotes/{remote}/{name}"),
        ] {
            if let Some(sha) = self.commit_of(git, &refname).await? {
                return Ok(Some(ResolvedBranch { refname, sha }));
            }
        }
        Ok(None)
    }

    /// Whether local branch `name` exists.
    pub(crate) async fn has_local_branch(&self, git: &Git, name: &str) -> Result<bool> {
        Ok(self
            .commit_of(git, &format!("refs/heads/{name}"))
            .await?
            .is_some())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aido_plugin_api::PluginConfig;

    fn settings() -> Settings {
        let config = PluginConfig::new(
            "version_control",
            serde_json::json!({}),
            "/project",
            ".aido",
        );
        Settings::from_config(&config, Vec::new()).unwrap()
    }

    #[test]
    fn locations_follow_gits_rules() {
        let settings = settings();
        let remote = |s: &str| Location::Remote(s.to_owned());
        assert_eq!(
            locate(&settings, "https://host/r.git"),
            remote("https://host/r.git")
        );
        assert_eq!(
            locate(&settings, "git@github.com:o/r.git"),
            remote("git@github.com:o/r.git")
        );
        assert_eq!(
            locate(&settings, "ssh://git@host/r"),
            remote("ssh://git@host/r")
        );
        assert_eq!(
            locate(&settings, "/srv/r.git"),
            Location::Local("/srv/r.git".into())
        );
        assert_eq!(
            locate(&settings, "repos/r"),
            Location::Local("/project/repos/r".into())
        );
        assert_eq!(
            locate(&settings, "./a:b"),
            Location::Local("/project/./a:b".into())
        );
        assert_eq!(
            locate(&settings, "file:///srv/my%20repo"),
            Location::Local("/srv/my repo".into())
        );
    }

    #[test]
    fn symref_heads_are_parsed() {
        let output = "ref: refs/heads/trunk\tHEAD\n0123abcd\tHEAD";
        assert_eq!(parse_symref_head(output).as_deref(), Some("trunk"));
        assert_eq!(parse_symref_head("0123abcd\tHEAD"), None);
    }

    #[test]
    fn file_urls_are_encoded() {
        assert_eq!(
            file_url(Path::new("/srv/my repo/1.json")),
            "file:///srv/my%20repo/1.json"
        );
        assert_eq!(file_url(Path::new("/a/b_c-d.e~f")), "file:///a/b_c-d.e~f");
    }
}
