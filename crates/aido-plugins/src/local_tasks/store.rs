//! The task folder: one `<ID>.md` file per task, read and written whole.
//!
//! Every read-modify-write holds the folder's lock file (`.lock`) from the
//! read to the atomic rename that replaces the file, so writers in other
//! threads and processes never lose each other's changes. Plain reads take
//! no lock: a rename makes each file change at once.
//!
//! Everything here blocks; the plugin calls it from `spawn_blocking`.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use aido_plugin_api::{Error, Result};

use super::front_matter;
use super::record::TaskFile;
use crate::fs_util::{FileLock, atomic_write};

/// The lock file serializing writers, inside the task folder.
const LOCK_FILE: &str = ".lock";

/// A folder of task files.
#[derive(Debug, Clone)]
pub(crate) struct TaskStore {
    dir: PathBuf,
    id_prefix: String,
}

impl TaskStore {
    /// A store over `dir`, naming new tasks `<id_prefix>-<n>`.
    pub(crate) fn new(dir: PathBuf, id_prefix: String) -> TaskStore {
        TaskStore { dir, id_prefix }
    }

    /// The folder.
    pub(crate) fn dir(&self) -> &Path {
        &self.dir
    }

    /// Reads the task `id`.
    pub(crate) fn load(&self, id: &str) -> Result<TaskFile> {
        let path = self.path_of(id)?;
        match fs::read_to_string(&path) {
            Ok(text) => self.decode(&path, id, &text),
            Err(err) if err.kind() == io::ErrorKind::NotFound => Err(Error::not_found(format!(
                "task {id} does not exist in {}",
                self.dir.display()
            ))),
            Err(err) => Err(io_error("read", &path, err)),
        }
    }

    /// Reads every task file, in id order (`TASK-2` before `TASK-10`).
    pub(crate) fn load_all(&self) -> Result<Vec<TaskFile>> {
        let mut ids = self.task_ids()?;
        ids.sort_by_cached_key(|id| id_sort_key(id));
        ids.iter().map(|id| self.load(id)).collect()
    }

    /// Creates a task under the next free id, which `build` turns into the
    /// file. When `key` is set and a task created under it exists, returns
    /// that one instead.
    pub(crate) fn create(
        &self,
        key: Option<&str>,
        build: impl FnOnce(String) -> Result<TaskFile>,
    ) -> Result<TaskFile> {
        let _lock = self.lock()?;
        if let Some(key) = key {
            let existing = self.load_all()?;
            if let Some(task) = existing
                .into_iter()
                .find(|task| task.idempotency_key.as_deref() == Some(key))
            {
                return Ok(task);
            }
        }
        let id = self.next_id()?;
        let task = build(id)?;
        self.save(&task)?;
        Ok(task)
    }

    /// Reads the task `id`, applies `change` and writes it back if it
    /// changed, all under the folder's lock.
    pub(crate) fn update<R>(
        &self,
        id: &str,
        change: impl FnOnce(&mut TaskFile) -> R,
    ) -> Result<(TaskFile, R)> {
        let _lock = self.lock()?;
        let mut task = self.load(id)?;
        let before = task.clone();
        let output = change(&mut task);
        if task != before {
            self.save(&task)?;
        }
        Ok((task, output))
    }

    /// Checks that the folder exists and that a file can be written in it.
    pub(crate) fn check_writable(&self) -> std::result::Result<(), String> {
        let dir = self.dir.display();
        match fs::metadata(&self.dir) {
            Ok(meta) if meta.is_dir() => {}
            Ok(_) => return Err(format!("{dir} is not a folder")),
            Err(err) => return Err(format!("cannot reach the task folder {dir}: {err}")),
        }
        let probe = self.dir.join(format!(".health-{}", std::process::id()));
        let written = atomic_write(&probe, b"ok");
        let _ = fs::remove_file(&probe);
        written.map_err(|err| format!("cannot write in the task folder {dir}: {err}"))
    }

    fn lock(&self) -> Result<FileLock> {
        let path = self.dir.join(LOCK_FILE);
        FileLock::acquire(&path).map_err(|err| io_error("lock", &path, err))
    }

    fn save(&self, task: &TaskFile) -> Result<()> {
        let path = self.path_of(&task.id)?;
        let text = front_matter::render(&path, task, &task.description)?;
        atomic_write(&path, text.as_bytes()).map_err(|err| io_error("write", &path, err))
    }

    fn decode(&self, path: &Path, id: &str, text: &str) -> Result<TaskFile> {
        let (mut task, body): (TaskFile, String) = front_matter::parse(path, text)?;
        if task.id != id {
            return Err(Error::invalid_response(format!(
                "{} is corrupt: its front matter says `id: {}`, but a task file's id must match its name ({id})",
                path.display(),
                task.id
            )));
        }
        task.description = body;
        Ok(task)
    }

    /// The next id of this store's prefix: one more than the highest.
    fn next_id(&self) -> Result<String> {
        let highest = self
            .task_ids()?
            .iter()
            .filter_map(|id| {
                let (prefix, number) = split_id(id)?;
                (prefix == self.id_prefix).then_some(number)
            })
            .max()
            .unwrap_or(0);
        Ok(format!("{}-{}", self.id_prefix, highest + 1))
    }

    /// The ids of the files that look like tasks (`<PREFIX>-<n>.md`); other
    /// files, such as a README, are left alone.
    fn task_ids(&self) -> Result<Vec<String>> {
        let entries = fs::read_dir(&self.dir).map_err(|err| io_error("list", &self.dir, err))?;
        let mut ids = Vec::new();
        for entry in entries {
            let entry = entry.map_err(|err| io_error("list", &self.dir, err))?;
            let name = entry.file_name();
            let Some(id) = name.to_str().and_then(|n| n.strip_suffix(".md")) else {
                continue;
            };
            if split_id(id).is_some() {
                ids.push(id.to_owned());
            }
        }
        Ok(ids)
    }

    fn path_of(&self, id: &str) -> Result<PathBuf> {
        if split_id(id).is_none() {
            return Err(Error::invalid_input(format!(
                "`{id}` is not a task id of the local tracker; ids look like {}-1",
                self.id_prefix
            )));
        }
        Ok(self.dir.join(format!("{id}.md")))
    }
}

/// Splits `TASK-12` into `("TASK", 12)`. The prefix is letters, digits and
/// `_`, starting with a letter, so an id can never name a path outside the
/// folder.
fn split_id(id: &str) -> Option<(&str, u64)> {
    let (prefix, number) = id.rsplit_once('-')?;
    let mut chars = prefix.chars();
    let prefix_ok = chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_');
    let number_ok = !number.is_empty() && number.bytes().all(|b| b.is_ascii_digit());
    if !prefix_ok || !number_ok {
        return None;
    }
    Some((prefix, number.parse().ok()?))
}

fn id_sort_key(id: &str) -> (String, u64) {
    split_id(id)
        .map(|(prefix, n)| (prefix.to_owned(), n))
        .unwrap_or_else(|| (id.to_owned(), 0))
}

fn io_error(action: &str, path: &Path, err: io::Error) -> Error {
    Error::other(format!("could not {action} {}: {err}", path.display())).with_source(err)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::local_tasks::record::Stamp;
    use aido_plugin_api::ErrorKind;
    use aido_plugin_api::model::task::NewTask;

    fn store(dir: &Path) -> TaskStore {
        TaskStore::new(dir.to_owned(), "TASK".into())
    }

    fn new_task(store: &TaskStore, title: &str) -> TaskFile {
        store
            .create(None, |id| {
                let input = NewTask {
                    title: title.into(),
                    ..NewTask::default()
                };
                Ok(TaskFile::new_task(id, input, &Stamp::now("aido"), None))
            })
            .unwrap()
    }

    #[test]
    fn ids_split_into_prefix_and_number() {
        assert_eq!(split_id("TASK-12"), Some(("TASK", 12)));
        assert_eq!(split_id("MY_PROJ2-3"), Some(("MY_PROJ2", 3)));
        for bad in [
            "TASK",
            "TASK-",
            "-1",
            "TASK-1a",
            "../TASK-1",
            "a/b-1",
            "TASK-+1",
            ".x-1",
        ] {
            assert_eq!(split_id(bad), None, "{bad}");
        }
    }

    #[test]
    fn ids_follow_the_highest_existing_number() {
        let dir = tempfile::tempdir().unwrap();
        let store = store(dir.path());
        assert_eq!(new_task(&store, "a").id, "TASK-1");
        fs::write(dir.path().join("TASK-41.md"), "not even parsed").unwrap();
        fs::write(dir.path().join("OTHER-99.md"), "another prefix").unwrap();
        fs::write(dir.path().join("README.md"), "# not a task").unwrap();
        assert_eq!(new_task(&store, "b").id, "TASK-42");
    }

    #[test]
    fn load_all_sorts_numerically_and_skips_files_that_are_not_tasks() {
        let dir = tempfile::tempdir().unwrap();
        let store = store(dir.path());
        for n in 0..11 {
            new_task(&store, &format!("task {n}"));
        }
        fs::write(dir.path().join("README.md"), "# not a task").unwrap();
        let ids: Vec<String> = store
            .load_all()
            .unwrap()
            .into_iter()
            .map(|t| t.id)
            .collect();
        assert_eq!(ids[..3], ["TASK-1", "TASK-2", "TASK-3"]);
        assert_eq!(ids.last().map(String::as_str), Some("TASK-11"));
    }

    #[test]
    fn a_path_like_id_is_invalid_input_not_a_file_access() {
        let dir = tempfile::tempdir().unwrap();
        let err = store(dir.path()).load("../../etc/passwd").unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput);
        assert!(err.message().contains("TASK-1"), "{err}");
    }

    #[test]
    fn a_file_whose_id_differs_from_its_name_is_corrupt() {
        let dir = tempfile::tempdir().unwrap();
        let store = store(dir.path());
        new_task(&store, "a");
        fs::copy(dir.path().join("TASK-1.md"), dir.path().join("TASK-2.md")).unwrap();
        let err = store.load("TASK-2").unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidResponse);
        assert!(err.message().contains("TASK-2.md"), "{err}");
        assert!(err.message().contains("`id: TASK-1`"), "{err}");
    }

    #[test]
    fn an_update_that_changes_nothing_leaves_the_file_alone() {
        let dir = tempfile::tempdir().unwrap();
        let store = store(dir.path());
        new_task(&store, "a");
        let path = dir.path().join("TASK-1.md");
        fs::write(
            &path,
            fs::read_to_string(&path)
                .unwrap()
                .replace("title: a", "title: 'a'"),
        )
        .unwrap();
        store.update("TASK-1", |_| ()).unwrap();
        assert!(fs::read_to_string(&path).unwrap().contains("title: 'a'"));
    }

    #[test]
    fn a_writable_folder_is_healthy_and_a_missing_one_is_not() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(store(dir.path()).check_writable(), Ok(()));
        assert_eq!(
            fs::read_dir(dir.path()).unwrap().count(),
            0,
            "the probe is removed"
        );
        let missing = store(&dir.path().join("gone"))
            .check_writable()
            .unwrap_err();
        assert!(missing.contains("gone"), "{missing}");
    }
}
