//! `aido-plugins.lock`: the external plugins a project added, each with its
//! manifest, what it said about itself in the handshake, and the sha256 of
//! its entry file. Start-up reads this file and spawns nothing; a plugin
//! whose entry file changed since it was added is refused when it starts.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use aido_plugin_api::{Forward, PluginFactory, PluginKind};
use aido_plugin_protocol::PluginInfo;
use aido_plugin_protocol::manifest::Manifest;

use super::external::{ExternalPlugin, ExternalSpec, HostLimits};
use super::process::SpawnSpec;

/// The lock file's name, beside `aido.yaml`.
pub const LOCK_FILE: &str = "aido-plugins.lock";

/// The manifest's file name.
pub const MANIFEST_FILE: &str = "plugin.toml";

/// The lock file's content.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct LockFile {
    /// Its format version.
    pub version: u32,
    /// The plugins, by name.
    pub plugins: Vec<LockedPlugin>,
}

/// One added plugin.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LockedPlugin {
    /// Its name.
    pub name: String,
    /// Its folder (where `plugin.toml` is).
    pub dir: PathBuf,
    /// Its entry file (the command, or the script the command runs).
    pub entry: PathBuf,
    /// The entry file's sha256 when it was added.
    pub entry_sha256: String,
    /// What it said in the handshake.
    pub info: PluginInfo,
}

/// The sha256 of a file, in hex.
pub fn sha256_file(path: &Path) -> Result<String, String> {
    let bytes =
        std::fs::read(path).map_err(|err| format!("cannot read {}: {err}", path.display()))?;
    Ok(Sha256::digest(&bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect())
}

impl LockFile {
    /// Reads the lock file in `dir` (an empty one when there is none).
    pub fn read(dir: &Path) -> Result<LockFile, String> {
        let path = dir.join(LOCK_FILE);
        match std::fs::read_to_string(&path) {
            Ok(text) => {
                serde_json::from_str(&text).map_err(|err| format!("{}: {err}", path.display()))
            }
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(LockFile {
                version: 1,
                plugins: Vec::new(),
            }),
            Err(err) => Err(format!("{}: {err}", path.display())),
        }
    }

    /// Writes it atomically.
    pub fn write(&self, dir: &Path) -> Result<(), String> {
        let path = dir.join(LOCK_FILE);
        let text = serde_json::to_string_pretty(self).map_err(|err| err.to_string())?;
        let temporary = dir.join(format!(".{LOCK_FILE}.{}.tmp", std::process::id()));
        std::fs::write(&temporary, format!("{text}\n"))
            .map_err(|err| format!("{}: {err}", temporary.display()))?;
        std::fs::rename(&temporary, &path).map_err(|err| format!("{}: {err}", path.display()))
    }

    /// One factory per kind of every added plugin.
    pub fn factories(&self) -> Result<Vec<PluginFactory>, String> {
        let mut factories = Vec::new();
        for locked in &self.plugins {
            let manifest = read_manifest(&locked.dir)?;
            for kind in manifest.kinds().iter().copied() {
                factories.push(factory(&manifest, locked, kind)?);
            }
        }
        Ok(factories)
    }
}

/// Reads and checks `dir/plugin.toml`.
pub fn read_manifest(dir: &Path) -> Result<Manifest, String> {
    let path = dir.join(MANIFEST_FILE);
    let text = std::fs::read_to_string(&path)
        .map_err(|err| format!("cannot read {}: {err}", path.display()))?;
    Manifest::from_toml(&text).map_err(|errors| format!("{}: {errors}", path.display()))
}

/// How to start the plugin of `manifest` in `dir`.
pub fn spawn_spec(manifest: &Manifest, dir: &Path) -> SpawnSpec {
    // Absolute, because the process starts in `dir`: a relative command
    // path would otherwise be looked up from there, `dir` twice over.
    let dir = &std::path::absolute(dir).unwrap_or_else(|_| dir.to_owned());
    let command = manifest.run().command();
    let program = if command.contains('/') {
        dir.join(command)
    } else {
        PathBuf::from(command)
    };
    let env = manifest
        .env_pass()
        .iter()
        .filter_map(|name| std::env::var(name).ok().map(|value| (name.clone(), value)))
        .collect();
    SpawnSpec {
        name: manifest.name().to_owned(),
        program,
        args: manifest.run().args().to_vec(),
        cwd: dir.to_owned(),
        env,
    }
}

/// The file whose change means the plugin changed: the command when it is
/// a file of the plugin, else the first argument that is one (`python3
/// plugin.py`).
pub fn entry_file(manifest: &Manifest, dir: &Path) -> Option<PathBuf> {
    let command = manifest.run().command();
    if command.contains('/') {
        return Some(dir.join(command));
    }
    manifest
        .run()
        .args()
        .iter()
        .map(|arg| dir.join(arg))
        .find(|path| path.is_file())
}

/// The host's limits for a plugin, from its manifest's `[limits]`.
pub fn host_limits(manifest: &Manifest) -> HostLimits {
    let limits = manifest.limits();
    HostLimits {
        start_timeout: limits.start_timeout,
        call_timeout: limits.call_timeout,
        shutdown_timeout: limits.shutdown_timeout,
        max_crashes: usize::try_from(limits.max_restarts).unwrap_or(3).max(1),
        max_concurrent_calls: usize::try_from(limits.max_concurrent_calls).unwrap_or(8),
        ..HostLimits::default()
    }
}

fn factory(
    manifest: &Manifest,
    locked: &LockedPlugin,
    kind: PluginKind,
) -> Result<PluginFactory, String> {
    let metadata = manifest
        .metadata(kind)
        .ok_or_else(|| format!("`{}` does not serve {kind}", locked.name))?;
    let spec = ExternalSpec {
        spawn: spawn_spec(manifest, &locked.dir),
        metadata: metadata.clone(),
        secrets: manifest.secrets().to_vec(),
        limits: host_limits(manifest),
        entry: Some((locked.entry.clone(), locked.entry_sha256.clone())),
    };
    let spec = Arc::new(spec);
    Ok(PluginFactory::new(metadata, move || {
        Forward::new(ExternalPlugin::new((*spec).clone())).into_instance(kind)
    }))
}
