//! The folder an agent action works in: the run's workspace, or a folder
//! inside it named by the action's `workdir` input.
//!
//! The answer is canonical (symlinks resolved), so later checks can compare
//! paths by prefix and a symlinked `workdir` cannot lead out of the
//! workspace.

use std::path::{Component, Path, PathBuf};

use aido_plugin_api::{Error, Result};

/// The canonical folder to work in: `workspace` when `workdir` is absent or
/// empty, else `workdir` (relative to `workspace` and without `..`, or
/// absolute and inside `workspace`). Blocking: it reads the file system.
pub fn resolve_workdir(workspace: &Path, workdir: Option<&str>) -> Result<PathBuf> {
    let root = workspace.canonicalize().map_err(|err| {
        Error::invalid_input(format!(
            "the workspace {} cannot be opened: {err}",
            workspace.display()
        ))
    })?;
    let Some(dir) = workdir.map(str::trim).filter(|d| !d.is_empty()) else {
        return Ok(root);
    };
    let path = Path::new(dir);
    let candidate = if path.is_absolute() {
        path.to_owned()
    } else {
        if path.components().any(|c| matches!(c, Component::ParentDir)) {
            return Err(Error::invalid_input(format!(
                "`workdir: {dir}` must not contain `..`; give a folder inside the workspace"
            )));
        }
        root.join(path)
    };
    let resolved = candidate
        .canonicalize()
        .map_err(|err| Error::invalid_input(format!("`workdir: {dir}` cannot be opened: {err}")))?;
    if !resolved.starts_with(&root) {
        return Err(Error::invalid_input(format!(
            "`workdir: {dir}` is outside the workspace {}",
            root.display()
        )));
    }
    if !resolved.is_dir() {
        return Err(Error::invalid_input(format!(
            "`workdir: {dir}` is not a folder"
        )));
    }
    Ok(resolved)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_to_the_workspace_and_accepts_folders_inside_it() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().canonicalize().unwrap();
        std::fs::create_dir(root.join("sub")).unwrap();
        assert_eq!(resolve_workdir(dir.path(), None).unwrap(), root);
        assert_eq!(resolve_workdir(dir.path(), Some(" ")).unwrap(), root);
        assert_eq!(
            resolve_workdir(dir.path(), Some("sub")).unwrap(),
            root.join("sub")
        );
        let absolute = root.join("sub");
        assert_eq!(
            resolve_workdir(dir.path(), absolute.to_str()).unwrap(),
            absolute
        );
    }

    #[test]
    fn refuses_folders_outside_the_workspace() {
        let outer = tempfile::tempdir().unwrap();
        let workspace = outer.path().join("ws");
        std::fs::create_dir(&workspace).unwrap();
        std::fs::create_dir(outer.path().join("other")).unwrap();
        std::os::unix::fs::symlink(outer.path().join("other"), workspace.join("link")).unwrap();
        for bad in [
            "../other",
            outer.path().join("other").to_str().unwrap(),
            "link",
            "missing",
        ] {
            let err = resolve_workdir(&workspace, Some(bad)).unwrap_err();
            assert_eq!(
                err.kind(),
                aido_plugin_api::ErrorKind::InvalidInput,
                "{bad}"
            );
            assert!(err.message().contains("workdir"), "{err}");
        }
    }
}
