//! File helpers shared by the file-backed plugins: atomic writes and
//! cross-process locks.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// Writes `contents` to `path` so that a reader sees the old file or the new
/// one, never half of either: write a temporary file beside it, sync, rename.
pub(crate) fn atomic_write(path: &Path, contents: &[u8]) -> io::Result<()> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    fs::create_dir_all(dir)?;
    let file_name = path.file_name().and_then(|n| n.to_str()).unwrap_or("file");
    // Unique per process and per call, so concurrent writers never share a
    // temporary file.
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let tmp = dir.join(format!(".{file_name}.{}.{n}.tmp", std::process::id()));
    let result = (|| {
        let mut file = File::create(&tmp)?;
        file.write_all(contents)?;
        file.sync_all()?;
        fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

/// Reads a versioned JSON record file (the replay logs): a missing file is
/// `T::default()`; an unreadable or damaged one is an error, since starting
/// afresh would repeat work the file records. `what` names the file's kind
/// and `advice` says what the user can do about a damaged one; `version`
/// reads the file's format version, which must be `expected`.
pub(crate) fn read_versioned_json<T>(
    path: &Path,
    what: &str,
    advice: &str,
    expected: u32,
    version: impl Fn(&T) -> u32,
) -> aido_plugin_api::Result<T>
where
    T: Default + serde::de::DeserializeOwned,
{
    use aido_plugin_api::Error;
    let text = match fs::read_to_string(path) {
        Ok(text) => text,
        Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(T::default()),
        Err(err) => {
            return Err(
                Error::other(format!("could not read {}: {err}", path.display())).with_source(err),
            );
        }
    };
    let value: T = serde_json::from_str(&text).map_err(|err| {
        Error::other(format!(
            "{} is not {what} ({err}); {advice}",
            path.display()
        ))
    })?;
    let found = version(&value);
    if found != expected {
        return Err(Error::other(format!(
            "{} has format version {found}, but this aido reads version {expected}",
            path.display()
        )));
    }
    Ok(value)
}

/// An exclusive lock on a lock file, held until dropped. Serializes
/// read-modify-write cycles between threads and processes.
pub(crate) struct FileLock {
    file: File,
    path: PathBuf,
}

impl FileLock {
    /// Blocks until the lock at `path` is ours. Call it from
    /// `tokio::task::spawn_blocking`, not on the async runtime.
    pub(crate) fn acquire(path: &Path) -> io::Result<FileLock> {
        if let Some(dir) = path.parent() {
            fs::create_dir_all(dir)?;
        }
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(path)?;
        file.lock()?;
        Ok(FileLock {
            file,
            path: path.to_owned(),
        })
    }

    /// The lock file's path.
    #[allow(dead_code)]
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for FileLock {
    fn drop(&mut self) {
        let _ = self.file.unlock();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atomic_write_replaces_the_whole_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/a.txt");
        atomic_write(&path, b"first version, longer").unwrap();
        atomic_write(&path, b"second").unwrap();
        assert_eq!(fs::read_to_string(&path).unwrap(), "second");
        let leftovers: Vec<_> = fs::read_dir(path.parent().unwrap()).unwrap().collect();
        assert_eq!(leftovers.len(), 1, "no temporary file is left behind");
    }

    #[test]
    fn lock_is_exclusive_between_threads() {
        let dir = tempfile::tempdir().unwrap();
        let lock_path = dir.path().join("x.lock");
        let counter = dir.path().join("counter");
        fs::write(&counter, "0").unwrap();
        let handles: Vec<_> = (0..8)
            .map(|_| {
                let lock_path = lock_path.clone();
                let counter = counter.clone();
                std::thread::spawn(move || {
                    for _ in 0..25 {
                        let _guard = FileLock::acquire(&lock_path).unwrap();
                        let n: u32 = fs::read_to_string(&counter).unwrap().parse().unwrap();
                        atomic_write(&counter, (n + 1).to_string().as_bytes()).unwrap();
                    }
                })
            })
            .collect();
        for handle in handles {
            handle.join().unwrap();
        }
        assert_eq!(fs::read_to_string(&counter).unwrap(), "200");
    }
}
