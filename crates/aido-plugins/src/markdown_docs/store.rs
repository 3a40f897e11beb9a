//! The documentation folder's pages: create, version, find, delete, search.
//!
//! Every write holds the folder's lock file from its first read to its last
//! atomic rename, so writers in other threads and processes never lose each
//! other's versions. Plain reads take no lock: each file changes at once.
//!
//! Everything here blocks; the plugin calls it from `spawn_blocking`.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use aido_plugin_api::model::docs::{
    NewPage, Page, PageSearch, PageSummary, PageUpdate, PageVersion,
};
use aido_plugin_api::{Error, Result};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::layout::{Layout, file_url};
use super::names::{PageId, check_space_key, is_slug, slugify};
use super::records::{DeletedMarker, PageFile, Revision, now};
use super::search;
use crate::fs_util::{FileLock, atomic_write};
use crate::local_tasks::front_matter;

/// How many search hits come back when the caller sets no limit.
const DEFAULT_SEARCH_LIMIT: usize = 50;

/// A folder of spaces of pages.
#[derive(Debug, Clone)]
pub(crate) struct DocStore {
    pub(super) layout: Layout,
    author: String,
}

impl DocStore {
    /// A store over `root`, attributing new versions to `author`.
    pub(crate) fn new(root: PathBuf, author: String) -> DocStore {
        DocStore {
            layout: Layout::new(root),
            author,
        }
    }

    /// Creates a page. A page with that title in that space is returned if
    /// `key` made it, and refused otherwise.
    pub(crate) fn create_page(&self, input: NewPage, key: Option<String>) -> Result<Page> {
        check_space_key(&input.space)?;
        check_title(&input.title)?;
        let _lock = self.lock()?;
        self.ensure_space(&input.space)?;
        if let Some(parent_id) = &input.parent_id {
            self.check_parent(parent_id, &input.space)?;
        }
        if let Some((id, existing)) = self.page_titled(&input.space, &input.title)? {
            if let Some(key) = key.as_deref()
                && self.version_with_key(&id, key)?.is_some()
            {
                return Ok(self.page(&id, &existing));
            }
            return Err(Error::invalid_input(format!(
                "a page titled `{}` already exists in space `{}` ({id}); use update_page to change it",
                input.title, input.space
            )));
        }
        let id = self.free_id(&input.space, &input.title);
        let first = PageFile::first(
            &id,
            input.parent_id,
            self.revision(input.title, input.content, None, key),
        );
        self.write_version(&id, &first)?;
        Ok(self.page(&id, &first))
    }

    /// Writes a new version of a page, keeping the old ones. A retried call
    /// whose `key` already made a version returns the page unchanged.
    pub(crate) fn update_page(&self, input: PageUpdate, key: Option<String>) -> Result<Page> {
        let id = PageId::parse(&input.page_id)?;
        if let Some(title) = &input.title {
            check_title(title)?;
        }
        let _lock = self.lock()?;
        let current = self.require_page(&id)?;
        if let Some(key) = key.as_deref()
            && self.version_with_key(&id, key)?.is_some()
        {
            return Ok(self.page(&id, &current));
        }
        let title = input.title.unwrap_or_else(|| current.title.clone());
        if title != current.title
            && let Some((other, _)) = self.page_titled(&id.space, &title)?
        {
            return Err(Error::invalid_input(format!(
                "cannot retitle {id} to `{title}`: page {other} in space `{}` already has that title",
                id.space
            )));
        }
        let next = current.next(self.revision(title, input.content, input.message, key));
        self.write_version(&id, &next)?;
        Ok(self.page(&id, &next))
    }

    /// The page `page_id`.
    pub(crate) fn get_page(&self, page_id: &str) -> Result<Page> {
        let id = PageId::parse(page_id)?;
        let current = self.require_page(&id)?;
        Ok(self.page(&id, &current))
    }

    /// The page titled exactly `title` in `space`, if any.
    pub(crate) fn find_page(&self, space: &str, title: &str) -> Result<Option<Page>> {
        check_space_key(space)?;
        Ok(self
            .page_titled(space, title)?
            .map(|(id, file)| self.page(&id, &file)))
    }

    /// Moves a page's versions to the space's `.trash` and removes the page.
    /// A retried call whose `key` already deleted it succeeds.
    pub(crate) fn delete_page(&self, page_id: &str, key: Option<String>) -> Result<()> {
        let id = PageId::parse(page_id)?;
        let _lock = self.lock()?;
        let Some(current) = self.read_current(&id)? else {
            if let Some(key) = key.as_deref()
                && self.deleted_with_key(&id, key)?
            {
                return Ok(());
            }
            return Err(self.not_found(&id));
        };
        let trash = self.free_trash_dir(&id);
        let history = self.layout.history_dir(&id);
        let moved = match fs::create_dir_all(self.layout.trash_dir(&id.space)) {
            Ok(()) if history.is_dir() => fs::rename(&history, &trash),
            Ok(()) => fs::create_dir_all(&trash),
            Err(err) => Err(err),
        };
        moved.map_err(|err| io_error("move to the trash", &history, err))?;
        let marker = DeletedMarker {
            id: id.to_string(),
            title: current.title,
            deleted: now(),
            idempotency_key: key,
        };
        write_yaml(&trash.join("deleted.yaml"), &marker)?;
        let page_file = self.layout.page_file(&id);
        fs::remove_file(&page_file).map_err(|err| io_error("remove", &page_file, err))
    }

    /// Pages holding every word of the query, title matches first.
    pub(crate) fn search_pages(&self, input: PageSearch) -> Result<Vec<PageSummary>> {
        if input.query.trim().is_empty() {
            return Err(Error::invalid_input(
                "the search query is empty; give at least one word",
            ));
        }
        let spaces = match input.space {
            Some(space) => {
                check_space_key(&space)?;
                vec![space]
            }
            None => self.space_keys()?,
        };
        let mut pages = Vec::new();
        for space in &spaces {
            pages.extend(self.pages_in(space)?);
        }
        let documents: Vec<(&str, &str)> = pages
            .iter()
            .map(|(_, file)| (file.title.as_str(), file.content.as_str()))
            .collect();
        let limit = input
            .limit
            .map_or(DEFAULT_SEARCH_LIMIT, |limit| limit as usize);
        Ok(search::search(&input.query, &documents)
            .into_iter()
            .take(limit)
            .map(|hit| {
                let (id, file) = &pages[hit.index];
                PageSummary {
                    id: id.to_string(),
                    space: id.space.clone(),
                    title: file.title.clone(),
                    url: Some(file_url(&self.layout.page_file(id))),
                    excerpt: hit.excerpt,
                }
            })
            .collect())
    }

    /// Every version of a page, oldest first.
    pub(crate) fn page_history(&self, page_id: &str) -> Result<Vec<PageVersion>> {
        let id = PageId::parse(page_id)?;
        self.require_page(&id)?;
        Ok(self
            .versions(&id)?
            .iter()
            .map(PageFile::to_version)
            .collect())
    }

    /// Checks that the folder exists and that a file can be written in it.
    pub(crate) fn check_writable(&self) -> std::result::Result<(), String> {
        let root = self.layout.root();
        let shown = root.display();
        match fs::metadata(root) {
            Ok(meta) if meta.is_dir() => {}
            Ok(_) => return Err(format!("{shown} is not a folder")),
            Err(err) => {
                return Err(format!(
                    "cannot reach the documentation folder {shown}: {err}"
                ));
            }
        }
        let probe = root.join(format!(".health-{}", std::process::id()));
        let written = atomic_write(&probe, b"ok");
        let _ = fs::remove_file(&probe);
        written.map_err(|err| format!("cannot write in the documentation folder {shown}: {err}"))
    }

    pub(super) fn lock(&self) -> Result<FileLock> {
        let path = self.layout.lock_file();
        FileLock::acquire(&path).map_err(|err| io_error("lock", &path, err))
    }

    fn revision(
        &self,
        title: String,
        content: String,
        message: Option<String>,
        key: Option<String>,
    ) -> Revision {
        let author = (!self.author.is_empty()).then(|| self.author.clone());
        Revision {
            title,
            content,
            message,
            author,
            idempotency_key: key,
        }
    }

    fn page(&self, id: &PageId, file: &PageFile) -> Page {
        file.to_page(id, file_url(&self.layout.page_file(id)))
    }

    fn not_found(&self, id: &PageId) -> Error {
        Error::not_found(format!(
            "page {id} does not exist in {}",
            self.layout.root().display()
        ))
    }

    fn check_parent(&self, parent_id: &str, space: &str) -> Result<()> {
        let parent = PageId::parse(parent_id)?;
        if parent.space != space {
            return Err(Error::invalid_input(format!(
                "the parent page {parent} is in space `{}`, not `{space}`; a parent must be in the same space",
                parent.space
            )));
        }
        self.require_page(&parent)
            .map(drop)
            .map_err(|err| match err.kind() {
                aido_plugin_api::ErrorKind::NotFound => Error::not_found(format!(
                    "the parent page {parent} does not exist in {}",
                    self.layout.root().display()
                )),
                _ => err,
            })
    }

    /// The first `<slug>`, `<slug>-2`, ... that neither a page nor an old
    /// page's history uses.
    fn free_id(&self, space: &str, title: &str) -> PageId {
        let base = slugify(title);
        (1..)
            .map(|n| {
                if n == 1 {
                    base.clone()
                } else {
                    format!("{base}-{n}")
                }
            })
            .map(|slug| PageId {
                space: space.to_owned(),
                slug,
            })
            .find(|id| !self.layout.page_file(id).exists() && !self.layout.history_dir(id).exists())
            .unwrap_or_else(|| PageId {
                space: space.to_owned(),
                slug: base,
            })
    }

    fn free_trash_dir(&self, id: &PageId) -> PathBuf {
        let stamp = now()
            .format("%Y%m%dT%H%M%S%.3fZ")
            .to_string()
            .replace('.', "");
        let trash = self.layout.trash_dir(&id.space);
        (1..)
            .map(|n| match n {
                1 => trash.join(format!("{}-{stamp}", id.slug)),
                _ => trash.join(format!("{}-{stamp}-{n}", id.slug)),
            })
            .find(|dir| !dir.exists())
            .unwrap_or_else(|| trash.join(&id.slug))
    }

    fn write_version(&self, id: &PageId, file: &PageFile) -> Result<()> {
        let current = self.layout.page_file(id);
        let text = front_matter::render(&current, file, &file.content)?;
        // The history copy first: a crash between the two writes leaves an
        // unused version file that the next update overwrites, never a
        // current version missing from the history.
        let version = self.layout.version_file(id, file.version);
        atomic_write(&version, text.as_bytes()).map_err(|err| io_error("write", &version, err))?;
        atomic_write(&current, text.as_bytes()).map_err(|err| io_error("write", &current, err))
    }

    fn require_page(&self, id: &PageId) -> Result<PageFile> {
        self.read_current(id)?.ok_or_else(|| self.not_found(id))
    }

    fn read_current(&self, id: &PageId) -> Result<Option<PageFile>> {
        read_page(&self.layout.page_file(id), id, None)
    }

    /// A space's pages, by title.
    fn pages_in(&self, space: &str) -> Result<Vec<(PageId, PageFile)>> {
        let dir = self.layout.space_dir(space);
        let mut pages = Vec::new();
        for stem in file_stems(&dir, ".md")? {
            if !is_slug(&stem) {
                continue;
            }
            let id = PageId {
                space: space.to_owned(),
                slug: stem,
            };
            if let Some(file) = self.read_current(&id)? {
                pages.push((id, file));
            }
        }
        pages.sort_by(|(a_id, a), (b_id, b)| {
            a.title
                .to_lowercase()
                .cmp(&b.title.to_lowercase())
                .then(a_id.slug.cmp(&b_id.slug))
        });
        Ok(pages)
    }

    fn page_titled(&self, space: &str, title: &str) -> Result<Option<(PageId, PageFile)>> {
        Ok(self
            .pages_in(space)?
            .into_iter()
            .find(|(_, file)| file.title == title))
    }

    /// Every stored version of a page, oldest first.
    fn versions(&self, id: &PageId) -> Result<Vec<PageFile>> {
        let dir = self.layout.history_dir(id);
        let mut versions = Vec::new();
        for stem in file_stems(&dir, ".md")? {
            let Ok(number) = stem.parse::<u32>() else {
                continue;
            };
            if let Some(file) = read_page(&self.layout.version_file(id, number), id, Some(number))?
            {
                versions.push(file);
            }
        }
        versions.sort_by_key(|file| file.version);
        Ok(versions)
    }

    fn version_with_key(&self, id: &PageId, key: &str) -> Result<Option<PageFile>> {
        Ok(self
            .versions(id)?
            .into_iter()
            .find(|file| file.idempotency_key.as_deref() == Some(key)))
    }

    fn deleted_with_key(&self, id: &PageId, key: &str) -> Result<bool> {
        let trash = self.layout.trash_dir(&id.space);
        for name in dir_names(&trash)? {
            let marker: Option<DeletedMarker> = read_yaml(&trash.join(name).join("deleted.yaml"))?;
            if marker.is_some_and(|m| {
                m.id == id.to_string() && m.idempotency_key.as_deref() == Some(key)
            }) {
                return Ok(true);
            }
        }
        Ok(false)
    }
}

fn check_title(title: &str) -> Result<()> {
    if title.trim().is_empty() {
        return Err(Error::invalid_input("a page title cannot be empty"));
    }
    Ok(())
}

/// Reads a page file, checking that it is the page (and version) its path
/// says; `None` when it does not exist.
fn read_page(path: &Path, id: &PageId, version: Option<u32>) -> Result<Option<PageFile>> {
    let Some(text) = read_text(path)? else {
        return Ok(None);
    };
    let (mut file, content): (PageFile, String) = front_matter::parse(path, &text)?;
    if file.id != id.to_string() {
        return Err(Error::invalid_response(format!(
            "{} is corrupt: its front matter says `id: {}`, but its place in the folder makes it {id}",
            path.display(),
            file.id
        )));
    }
    if let Some(expected) = version
        && file.version != expected
    {
        return Err(Error::invalid_response(format!(
            "{} is corrupt: its front matter says `version: {}`, but its name makes it version {expected}",
            path.display(),
            file.version
        )));
    }
    file.content = content;
    Ok(Some(file))
}

/// A file's text; `None` when it does not exist.
fn read_text(path: &Path) -> Result<Option<String>> {
    match fs::read_to_string(path) {
        Ok(text) => Ok(Some(text)),
        Err(err) if err.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(err) => Err(io_error("read", path, err)),
    }
}

/// Reads a YAML file; `None` when it does not exist.
pub(super) fn read_yaml<T: DeserializeOwned>(path: &Path) -> Result<Option<T>> {
    let Some(text) = read_text(path)? else {
        return Ok(None);
    };
    serde_saphyr::from_str(&text).map(Some).map_err(|err| {
        let options = serde_saphyr::render_options! { snippets: serde_saphyr::SnippetMode::Off };
        Error::invalid_response(format!(
            "{} is corrupt: {}",
            path.display(),
            err.render_with_options(options)
        ))
    })
}

/// Writes a YAML file atomically.
pub(super) fn write_yaml<T: Serialize>(path: &Path, value: &T) -> Result<()> {
    let text = serde_saphyr::to_string(value)
        .map_err(|err| Error::other(format!("could not write {}: {err}", path.display())))?;
    atomic_write(path, text.as_bytes()).map_err(|err| io_error("write", path, err))
}

/// The stems of the visible files in `dir` ending in `extension`; none when
/// `dir` does not exist.
fn file_stems(dir: &Path, extension: &str) -> Result<Vec<String>> {
    Ok(entries(dir, false)?
        .into_iter()
        .filter_map(|name| name.strip_suffix(extension).map(str::to_owned))
        .collect())
}

/// The names of the visible folders in `dir`; none when `dir` does not
/// exist.
pub(super) fn dir_names(dir: &Path) -> Result<Vec<String>> {
    entries(dir, true)
}

/// Visible (not dot-named) entries of `dir`, folders or files, by name.
fn entries(dir: &Path, folders: bool) -> Result<Vec<String>> {
    let listing = match fs::read_dir(dir) {
        Ok(listing) => listing,
        Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(err) => return Err(io_error("list", dir, err)),
    };
    let mut names = Vec::new();
    for entry in listing {
        let entry = entry.map_err(|err| io_error("list", dir, err))?;
        let is_dir = entry
            .file_type()
            .map_err(|err| io_error("list", dir, err))?
            .is_dir();
        let Ok(name) = entry.file_name().into_string() else {
            continue;
        };
        if is_dir == folders && !name.starts_with('.') {
            names.push(name);
        }
    }
    names.sort();
    Ok(names)
}

pub(super) fn io_error(action: &str, path: &Path, err: io::Error) -> Error {
    Error::other(format!("could not {action} {}: {err}", path.display())).with_source(err)
}
