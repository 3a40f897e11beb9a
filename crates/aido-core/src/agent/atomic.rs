//! Atomic file replacement that keeps the file's permissions.
//!
//! A reader (the test runner, an editor, a crashed and resumed run) sees the
//! old file or the new one, never half of either: the content goes to a
//! temporary file beside the target, is synced, gets the old file's
//! permissions (an executable script stays executable) and is renamed over
//! the target.

use std::fs::{self, OpenOptions, Permissions};
use std::io::{self, Write};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

/// Writes `contents` to `path` atomically, creating missing parent folders.
/// `permissions` (usually the replaced file's) are set before the rename;
/// `None` leaves the process default for new files.
pub fn write_atomic(
    path: &Path,
    contents: &[u8],
    permissions: Option<Permissions>,
) -> io::Result<()> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    fs::create_dir_all(dir)?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "file".to_owned());
    // Unique per process and per call, so concurrent writers never share a
    // temporary file; `create_new` refuses to follow a planted symlink.
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let tmp = dir.join(format!(".{name}.aido-{}-{n}.tmp", std::process::id()));
    let result = (|| {
        let mut file = OpenOptions::new().write(true).create_new(true).open(&tmp)?;
        file.write_all(contents)?;
        if let Some(permissions) = permissions {
            file.set_permissions(permissions)?;
        }
        file.sync_all()?;
        drop(file);
        fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn replaces_the_file_and_keeps_its_permissions() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("run.sh");
        fs::write(&path, "old, longer content").unwrap();
        fs::set_permissions(&path, Permissions::from_mode(0o750)).unwrap();
        let permissions = fs::metadata(&path).unwrap().permissions();
        write_atomic(&path, b"new", Some(permissions)).unwrap();
        assert_eq!(fs::read_to_string(&path).unwrap(), "new");
        assert_eq!(
            fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o750
        );
        assert_eq!(
            fs::read_dir(dir.path()).unwrap().count(),
            1,
            "no temporary file left"
        );
    }

    #[test]
    fn creates_parent_folders() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a/b/c.txt");
        write_atomic(&path, b"x", None).unwrap();
        assert_eq!(fs::read_to_string(&path).unwrap(), "x");
    }
}
