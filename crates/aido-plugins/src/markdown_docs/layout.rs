//! Where each thing lives in the documentation folder, and its `file://`
//! URL.
//!
//! ```text
//! <dir>/.lock                              serializes writers
//! <dir>/<space>/space.yaml                 name, description
//! <dir>/<space>/<slug>.md                  a page's current version
//! <dir>/<space>/.history/<slug>/<n>.md     every version, the current one included
//! <dir>/<space>/.trash/<slug>-<time>/      a deleted page's versions and deleted.yaml
//! ```

use std::path::{Path, PathBuf};

use super::names::PageId;

/// Paths inside one documentation folder.
#[derive(Debug, Clone)]
pub(crate) struct Layout {
    root: PathBuf,
}

impl Layout {
    /// The layout of the folder `root`.
    pub(crate) fn new(root: PathBuf) -> Layout {
        Layout { root }
    }

    /// The documentation folder.
    pub(crate) fn root(&self) -> &Path {
        &self.root
    }

    /// The lock file that writers hold.
    pub(crate) fn lock_file(&self) -> PathBuf {
        self.root.join(".lock")
    }

    /// A space's folder.
    pub(crate) fn space_dir(&self, space: &str) -> PathBuf {
        self.root.join(space)
    }

    /// A space's name and description.
    pub(crate) fn space_file(&self, space: &str) -> PathBuf {
        self.space_dir(space).join("space.yaml")
    }

    /// A page's current version.
    pub(crate) fn page_file(&self, id: &PageId) -> PathBuf {
        self.space_dir(&id.space).join(format!("{}.md", id.slug))
    }

    /// The folder of a page's versions.
    pub(crate) fn history_dir(&self, id: &PageId) -> PathBuf {
        self.space_dir(&id.space).join(".history").join(&id.slug)
    }

    /// One version of a page.
    pub(crate) fn version_file(&self, id: &PageId, version: u32) -> PathBuf {
        self.history_dir(id).join(format!("{version}.md"))
    }

    /// Where a space's deleted pages go.
    pub(crate) fn trash_dir(&self, space: &str) -> PathBuf {
        self.space_dir(space).join(".trash")
    }
}

/// The `file://` URL of an absolute path, percent-encoding what a URL path
/// cannot hold (spaces, `#`, `?`, non-ASCII bytes).
pub(crate) fn file_url(path: &Path) -> String {
    let text = path.to_string_lossy().replace('\\', "/");
    let mut url = String::from("file://");
    if !text.starts_with('/') {
        // A Windows path (`C:/x`) still needs the empty host's slash.
        url.push('/');
    }
    for byte in text.bytes() {
        let keep = byte.is_ascii_alphanumeric() || b"/-._~:!$&'()*+,;=@".contains(&byte);
        if keep {
            url.push(char::from(byte));
        } else {
            url.push_str(&format!("%{byte:02X}"));
        }
    }
    url
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_encode_what_a_path_segment_cannot_hold() {
        assert_eq!(
            file_url(Path::new("/srv/docs/eng/a.md")),
            "file:///srv/docs/eng/a.md"
        );
        assert_eq!(
            file_url(Path::new("/my docs/#1/größe.md")),
            "file:///my%20docs/%231/gr%C3%B6%C3%9Fe.md"
        );
    }

    #[test]
    fn versions_live_under_the_space_history() {
        let layout = Layout::new(PathBuf::from("/d"));
        let id = PageId {
            space: "eng".into(),
            slug: "notes".into(),
        };
        assert_eq!(layout.page_file(&id), Path::new("/d/eng/notes.md"));
        assert_eq!(
            layout.version_file(&id, 3),
            Path::new("/d/eng/.history/notes/3.md")
        );
    }
}
