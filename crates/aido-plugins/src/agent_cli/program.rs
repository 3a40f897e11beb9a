//! Finding the agent's program before starting it, so that a missing
//! binary is a clear configuration error naming the binary and the preset
//! instead of an `ENOENT` from deep inside a spawn.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};

use super::config::is_path_like;

/// Why a program could not be found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum NotFound {
    /// A path that is not there, or not an executable file.
    Path(PathBuf),
    /// A name that is in none of `PATH`'s folders.
    OnPath,
    /// A name, and no `PATH` to look in.
    NoPath,
}

/// The file to start for `program`: a path (relative ones against
/// `project_dir`), or a name looked up in the folders of `path_var` (the
/// `PATH` the agent will get).
pub(crate) fn resolve(
    program: &str,
    project_dir: &Path,
    path_var: Option<&OsStr>,
) -> Result<PathBuf, NotFound> {
    if is_path_like(program) {
        let path = project_dir.join(program);
        return if is_executable(&path) {
            Ok(path)
        } else {
            Err(NotFound::Path(path))
        };
    }
    let path_var = path_var.ok_or(NotFound::NoPath)?;
    std::env::split_paths(path_var)
        // An empty entry means the current folder to a shell; aido does not
        // run programs from wherever it happens to be.
        .filter(|dir| !dir.as_os_str().is_empty())
        .map(|dir| dir.join(program))
        .find(|candidate| is_executable(candidate))
        .ok_or(NotFound::OnPath)
}

/// Whether `path` is a file this process may execute.
#[cfg(unix)]
fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path)
        .map(|meta| meta.is_file() && meta.permissions().mode() & 0o111 != 0)
        .unwrap_or(false)
}

/// Whether `path` is a file (other platforms have no execute bit).
#[cfg(not(unix))]
fn is_executable(path: &Path) -> bool {
    path.is_file()
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn write_program(path: &Path, mode: u32) {
        std::fs::write(path, "#!/bin/sh\n").unwrap();
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
    }

    #[test]
    fn names_are_looked_up_on_path_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (dir.path().join("a"), dir.path().join("b"));
        std::fs::create_dir_all(&a).unwrap();
        std::fs::create_dir_all(&b).unwrap();
        write_program(&a.join("agent"), 0o644);
        write_program(&b.join("agent"), 0o755);
        let path_var = std::env::join_paths([&a, &b]).unwrap();
        let found = resolve("agent", Path::new("/"), Some(&path_var)).unwrap();
        assert_eq!(found, b.join("agent"), "a non-executable file is skipped");
        assert_eq!(
            resolve("missing", Path::new("/"), Some(&path_var)),
            Err(NotFound::OnPath)
        );
        assert_eq!(
            resolve("agent", Path::new("/"), None),
            Err(NotFound::NoPath)
        );
    }

    #[test]
    fn relative_paths_are_resolved_against_the_project() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("bin")).unwrap();
        write_program(&dir.path().join("bin/agent"), 0o755);
        assert_eq!(
            resolve("bin/agent", dir.path(), None).unwrap(),
            dir.path().join("bin/agent")
        );
        assert_eq!(
            resolve("./nope", dir.path(), None),
            Err(NotFound::Path(dir.path().join("./nope")))
        );
    }
}
