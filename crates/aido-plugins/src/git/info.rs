//! `get_repository_info`: what can be said about a local repository or a
//! remote URL without a forge.

use std::path::Path;

use aido_plugin_api::model::vcs::{RepositoryInfo, RepositoryRef};
use aido_plugin_api::{Error, Result};

use super::config::Settings;
use super::redact::redact_url;
use super::repository::{LocalRepo, Location, file_url, locate, parse_symref_head, path_text};

/// The text git puts in a new bare repository's `description` file, which
/// says nothing about the repository.
const PLACEHOLDER_DESCRIPTION: &str = "Unnamed repository";

/// Describes `reference.repository`: a local path (working copy or bare
/// repository) or a URL, asked with `git ls-remote`.
pub(crate) async fn get_repository_info(
    settings: &Settings,
    reference: RepositoryRef,
) -> Result<RepositoryInfo> {
    match locate(settings, &reference.repository) {
        Location::Local(path) => {
            let repo = LocalRepo::open(&settings.git, &path, &reference.repository).await?;
            local_info(settings, &repo).await
        }
        Location::Remote(url) => remote_info(settings, &url).await,
    }
}

async fn local_info(settings: &Settings, repo: &LocalRepo) -> Result<RepositoryInfo> {
    let full_name = path_text(&repo.root);
    Ok(RepositoryInfo {
        name: short_name(&full_name),
        description: if repo.bare {
            description(&repo.root).await
        } else {
            None
        },
        default_branch: repo
            .default_branch(&settings.git, &settings.default_remote)
            .await?,
        url: Some(file_url(&repo.root)),
        clone_url: full_name.clone(),
        full_name,
        // Nobody but this machine's users can see a local repository.
        private: true,
    })
}

/// A remote repository, described from its URL and its advertised `HEAD`.
/// Credentials in the URL never reach the output.
async fn remote_info(settings: &Settings, url: &str) -> Result<RepositoryInfo> {
    let advertised = settings
        .git
        .command()
        .config("protocol.ext.allow", "never")
        .args(["ls-remote", "--symref", "--", url, "HEAD"])
        .output()
        .await?;
    advertised.ok()?;
    let default_branch = parse_symref_head(&advertised.stdout_text()).ok_or_else(|| {
        Error::not_found(format!(
            "`{}` has no default branch: it is empty, or its HEAD names no branch",
            redact_url(url)
        ))
    })?;
    let public_url = redact_url(url);
    let full_name = url_path(&public_url);
    let browsable = public_url.starts_with("https://") || public_url.starts_with("http://");
    Ok(RepositoryInfo {
        name: short_name(&full_name),
        full_name,
        description: None,
        default_branch,
        url: browsable.then(|| public_url.trim_end_matches(".git").to_owned()),
        clone_url: public_url,
        private: false,
    })
}

/// The path part of a URL or scp-like address, without a `.git` suffix:
/// `https://host/org/repo.git` and `git@host:org/repo.git` give `org/repo`.
fn url_path(url: &str) -> String {
    let path = match url.split_once("://") {
        Some((_, rest)) => rest.split_once('/').map(|(_, path)| path).unwrap_or(""),
        None => url.split_once(':').map(|(_, path)| path).unwrap_or(url),
    };
    path.trim_matches('/').trim_end_matches(".git").to_owned()
}

/// The last segment of a path or name, without `.git`.
fn short_name(full_name: &str) -> String {
    let last = full_name
        .trim_end_matches('/')
        .rsplit(['/', '\\'])
        .next()
        .unwrap_or(full_name);
    last.strip_suffix(".git").unwrap_or(last).to_owned()
}

/// A bare repository's `description` file, unless it is git's placeholder.
async fn description(git_dir: &Path) -> Option<String> {
    let text = tokio::fs::read_to_string(git_dir.join("description"))
        .await
        .ok()?;
    let text = text.trim();
    (!text.is_empty() && !text.starts_with(PLACEHOLDER_DESCRIPTION)).then(|| text.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_come_from_the_last_segment() {
        assert_eq!(short_name("/srv/git/shop.git"), "shop");
        assert_eq!(short_name("/home/me/shop"), "shop");
        assert_eq!(
            url_path("https://[redacted]@github.com/org/repo.git"),
            "org/repo"
        );
        assert_eq!(url_path("git@github.com:org/repo.git"), "org/repo");
        assert_eq!(url_path("ssh://git@host:22/srv/repo"), "srv/repo");
    }
}
