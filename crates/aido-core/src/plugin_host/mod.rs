//! The host of external plugins: processes in any language that speak the
//! versioned JSON-RPC protocol of `aido-plugin-protocol` over stdin and
//! stdout (see `docs/plugin-protocol.md`).
//!
//! - [`process`]: spawning with a cleared environment, in a process group
//!   of its own that dies with aido, stderr as log lines.
//! - [`connection`]: requests, answers, timeouts, `$/cancel`, `log`
//!   notifications, stray stdout reported.
//! - [`external`]: the plugin as the engine sees it (a `Transport`, made a
//!   typed plugin by `Forward`): start on first use, handshake, restart with
//!   backoff behind a circuit breaker, idle stop, ordered shutdown.
//! - [`lockfile`]: `aido-plugins.lock` and `aido plugin add`.

pub mod connection;
pub mod external;
pub mod lockfile;
pub mod process;

use std::path::{Path, PathBuf};
use std::time::Duration;

use aido_plugin_protocol::methods::{Exit, Initialize, Initialized, Shutdown};
use aido_plugin_protocol::{
    HostInfo, InitializeParams, NoParams, SUPPORTED_VERSIONS, VersionMismatch,
};

use self::connection::Connection;
use self::lockfile::{
    LockFile, LockedPlugin, MANIFEST_FILE, entry_file, read_manifest, sha256_file, spawn_spec,
};

/// The folders searched for a plugin named in `aido plugin add NAME`:
/// `./.aido/plugins`, `$XDG_DATA_HOME/aido/plugins` (or
/// `~/.local/share/aido/plugins`), then `AIDO_PLUGIN_PATH` (colon
/// separated), each holding one folder per plugin.
pub fn search_path(project_dir: &Path) -> Vec<PathBuf> {
    let mut dirs = vec![project_dir.join(".aido/plugins")];
    match std::env::var_os("XDG_DATA_HOME") {
        Some(data) => dirs.push(PathBuf::from(data).join("aido/plugins")),
        None => {
            if let Some(home) = std::env::var_os("HOME") {
                dirs.push(PathBuf::from(home).join(".local/share/aido/plugins"));
            }
        }
    }
    if let Some(paths) = std::env::var_os("AIDO_PLUGIN_PATH") {
        dirs.extend(std::env::split_paths(&paths));
    }
    dirs
}

/// The plugin folder `target` names: a folder holding `plugin.toml`, a
/// `plugin.toml` itself, or a plugin's name found on the search path.
pub fn locate(target: &str, project_dir: &Path) -> Result<PathBuf, String> {
    let path = Path::new(target);
    if path.is_file() && path.file_name().is_some_and(|n| n == MANIFEST_FILE) {
        return Ok(path.parent().map(Path::to_owned).unwrap_or_default());
    }
    if path.join(MANIFEST_FILE).is_file() {
        return Ok(path.to_owned());
    }
    for dir in search_path(project_dir) {
        let candidate = dir.join(target);
        if candidate.join(MANIFEST_FILE).is_file() {
            return Ok(candidate);
        }
    }
    Err(format!(
        "`{target}` is not a plugin folder (no {MANIFEST_FILE}) and no plugin of that name is on the search path"
    ))
}

/// Adds the plugin in `dir` to the project's lock file: reads its
/// manifest, runs the handshake once to record what it says about itself,
/// and the sha256 of its entry file.
pub async fn add(dir: &Path, project_dir: &Path) -> Result<LockedPlugin, String> {
    let dir = dir
        .canonicalize()
        .map_err(|err| format!("{}: {err}", dir.display()))?;
    let manifest = read_manifest(&dir)?;
    let entry = entry_file(&manifest, &dir)
        .ok_or_else(|| format!("cannot tell the entry file of `{}`: its command is not a file of the plugin and no argument names one", manifest.name()))?;
    let entry_sha256 = sha256_file(&entry)?;
    let spec = spawn_spec(&manifest, &dir);
    let connection = Connection::start(&spec).map_err(|err| err.to_string())?;
    let params = InitializeParams {
        protocol_versions: SUPPORTED_VERSIONS.to_vec(),
        host: HostInfo {
            name: "aido".to_owned(),
            version: env!("CARGO_PKG_VERSION").to_owned(),
        },
        parent_pid: Some(std::process::id()),
        features: Vec::new(),
    };
    let grace = Duration::from_secs(2);
    let answer = connection
        .request::<Initialize>(&params, manifest.limits().start_timeout)
        .await;
    let info = match answer {
        Ok(answer) if answer.protocol_version.is_within(SUPPORTED_VERSIONS) => answer.plugin,
        Ok(answer) => {
            connection.stop(grace).await;
            return Err(VersionMismatch {
                plugin: manifest.name().to_owned(),
                plugin_versions: vec![answer.protocol_version],
                host_versions: SUPPORTED_VERSIONS.to_vec(),
            }
            .to_string());
        }
        Err(err) => {
            connection.stop(grace).await;
            return Err(format!("the handshake failed: {err}"));
        }
    };
    let _ = connection.notify::<Initialized>(&NoParams).await;
    let _ = connection.request::<Shutdown>(&NoParams, grace).await;
    let _ = connection.notify::<Exit>(&NoParams).await;
    connection.stop(grace).await;
    let problems = manifest.check_plugin_info(&info);
    if !problems.is_empty() {
        return Err(problems.join("; "));
    }
    let locked = LockedPlugin {
        name: manifest.name().to_owned(),
        dir,
        entry,
        entry_sha256,
        info,
    };
    let mut lock = LockFile::read(project_dir)?;
    lock.version = 1;
    lock.plugins.retain(|p| p.name != locked.name);
    lock.plugins.push(locked.clone());
    lock.plugins.sort_by(|a, b| a.name.cmp(&b.name));
    lock.write(project_dir)?;
    Ok(locked)
}

/// Removes the plugin `name` from the lock file; returns whether it was
/// there.
pub fn remove(name: &str, project_dir: &Path) -> Result<bool, String> {
    let mut lock = LockFile::read(project_dir)?;
    let before = lock.plugins.len();
    lock.plugins.retain(|p| p.name != name);
    if lock.plugins.len() == before {
        return Ok(false);
    }
    lock.write(project_dir)?;
    Ok(true)
}

#[cfg(test)]
mod tests;
