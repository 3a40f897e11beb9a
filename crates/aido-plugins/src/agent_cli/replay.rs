//! The replay record: what each idempotency key was answered, so that a
//! resumed run gets the answer again instead of running the agent twice
//! (its edits are already in the workspace).
//!
//! It lives in `<data_dir>/agent-cli-replay.json`:
//!
//! ```json
//! {
//!   "version": 1,
//!   "completions": {
//!     "run-1/implement/0": {
//!       "action": "generate_text", "run_id": "run-1", "step": "implement",
//!       "answer": "Added the endpoint.", "changes": "## Files changed ...",
//!       "model": "claude-sonnet-4-5", "usage": {"input_tokens": 1200, "output_tokens": 300},
//!       "cost_usd": 0.0123, "stop_reason": "end_turn",
//!       "recorded_at": "2025-06-01T10:00:00Z"
//!     }
//!   }
//! }
//! ```
//!
//! Changes to the file happen under [`lock_path`]'s lock (load, change,
//! save, each save atomic). A second lock per key ([`key_lock_path`]) is
//! held for a whole run, so two calls with one key never run the agent
//! twice, while calls with different keys run side by side.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use aido_plugin_api::model::ai::TokenUsage;
use aido_plugin_api::{Error, Result};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::fs_util::{FileLock, atomic_write, read_versioned_json};

/// The replay file's name in the data folder.
const FILE_NAME: &str = "agent-cli-replay.json";

/// The folder of per-key locks in the data folder.
const KEY_LOCKS_DIR: &str = "agent-cli-locks";

/// The format version this code writes and reads.
const VERSION: u32 = 1;

/// The replay file of a data folder.
pub(crate) fn file_path(data_dir: &Path) -> PathBuf {
    data_dir.join(FILE_NAME)
}

/// The lock file serializing changes to the replay file.
pub(crate) fn lock_path(data_dir: &Path) -> PathBuf {
    data_dir.join(format!("{FILE_NAME}.lock"))
}

/// The lock held while the agent runs for `key`. Named by a hash, since a
/// key may hold characters a file name cannot; two keys sharing a hash only
/// wait for each other.
pub(crate) fn key_lock_path(data_dir: &Path, key: &str) -> PathBuf {
    data_dir
        .join(KEY_LOCKS_DIR)
        .join(format!("{:016x}.lock", fnv1a(key.as_bytes())))
}

/// FNV-1a, 64 bits: stable across Rust versions, unlike `DefaultHasher`,
/// so processes built by different compilers agree on lock names.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, byte| {
        (hash ^ u64::from(*byte)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// What a call returned.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Reply {
    /// The agent's final message.
    pub answer: String,
    /// The Markdown section listing the workspace's changes.
    pub changes: String,
    /// The model reported.
    pub model: String,
    /// Tokens reported (or estimated).
    pub usage: TokenUsage,
    /// Cost reported (or priced), in US dollars.
    pub cost_usd: f64,
    /// Why the agent stopped.
    #[serde(default)]
    pub stop_reason: Option<String>,
}

/// What was answered under one idempotency key.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Record {
    /// The action that was called (`generate_text`, ...).
    pub action: String,
    /// The run that made the call.
    #[serde(default)]
    pub run_id: Option<String>,
    /// The step that made the call.
    #[serde(default)]
    pub step: Option<String>,
    /// The reply.
    #[serde(flatten)]
    pub reply: Reply,
    /// When it was answered.
    pub recorded_at: DateTime<Utc>,
}

/// The whole replay file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct ReplayLog {
    version: u32,
    completions: BTreeMap<String, Record>,
}

impl Default for ReplayLog {
    fn default() -> Self {
        ReplayLog {
            version: VERSION,
            completions: BTreeMap::new(),
        }
    }
}

impl ReplayLog {
    /// Reads the replay file; a missing file is an empty log. A damaged one
    /// is an error rather than a fresh start, since starting over would run
    /// the agent again over its own edits.
    pub(crate) fn load(path: &Path) -> Result<ReplayLog> {
        read_versioned_json(
            path,
            "an agent_cli replay record",
            "fix it, or delete it to let resumed runs run their agent again",
            VERSION,
            |log: &ReplayLog| log.version,
        )
    }

    /// Writes the replay file atomically.
    pub(crate) fn save(&self, path: &Path) -> Result<()> {
        let mut text = serde_json::to_string_pretty(self).map_err(|err| {
            Error::other(format!(
                "could not encode the replay record for {}: {err}",
                path.display()
            ))
        })?;
        text.push('\n');
        atomic_write(path, text.as_bytes()).map_err(|err| {
            Error::other(format!("could not write {}: {err}", path.display())).with_source(err)
        })
    }

    /// The record made under `key`, if any.
    pub(crate) fn get(&self, key: &str) -> Option<&Record> {
        self.completions.get(key)
    }

    /// Records what `key` was answered.
    pub(crate) fn insert(&mut self, key: &str, record: Record) {
        self.completions.insert(key.to_owned(), record);
    }
}

/// Blocking: the record under `key` in `data_dir`'s replay file.
pub(crate) fn lookup(data_dir: &Path, key: &str) -> Result<Option<Record>> {
    let _lock = acquire(&lock_path(data_dir))?;
    Ok(ReplayLog::load(&file_path(data_dir))?.get(key).cloned())
}

/// Blocking: adds `record` under `key` to `data_dir`'s replay file.
pub(crate) fn store(data_dir: &Path, key: &str, record: Record) -> Result<()> {
    let _lock = acquire(&lock_path(data_dir))?;
    let path = file_path(data_dir);
    let mut log = ReplayLog::load(&path)?;
    log.insert(key, record);
    log.save(&path)
}

/// Blocking: takes the lock at `path`, with an error naming it.
pub(crate) fn acquire(path: &Path) -> Result<FileLock> {
    FileLock::acquire(path).map_err(|err| {
        Error::other(format!("could not lock {}: {err}", path.display())).with_source(err)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    fn record(action: &str) -> Record {
        Record {
            action: action.to_owned(),
            run_id: Some("run-1".to_owned()),
            step: Some("implement".to_owned()),
            reply: Reply {
                answer: "Done.".to_owned(),
                changes: "## Files changed in the workspace\n".to_owned(),
                model: "claude-sonnet-4-5".to_owned(),
                usage: TokenUsage {
                    input_tokens: 10,
                    output_tokens: 2,
                },
                cost_usd: 0.5,
                stop_reason: Some("end_turn".to_owned()),
            },
            recorded_at: Utc::now(),
        }
    }

    #[test]
    fn records_survive_a_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(lookup(dir.path(), "k").unwrap(), None);
        store(dir.path(), "k", record("generate_text")).unwrap();
        store(dir.path(), "k2", record("generate_code")).unwrap();
        assert_eq!(
            lookup(dir.path(), "k").unwrap().unwrap(),
            ReplayLog::load(&file_path(dir.path()))
                .unwrap()
                .get("k")
                .unwrap()
                .clone()
        );
        assert_eq!(
            lookup(dir.path(), "k2").unwrap().unwrap().action,
            "generate_code"
        );
    }

    #[test]
    fn a_damaged_file_is_an_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(file_path(dir.path()), "{not json").unwrap();
        let err = lookup(dir.path(), "k").unwrap_err();
        assert!(err.message().contains("agent-cli-replay.json"), "{err}");
        fs::write(
            file_path(dir.path()),
            r#"{"version": 7, "completions": {}}"#,
        )
        .unwrap();
        assert!(
            lookup(dir.path(), "k")
                .unwrap_err()
                .message()
                .contains("version 7")
        );
    }

    #[test]
    fn key_locks_are_stable_file_names() {
        let a = key_lock_path(Path::new("/d"), "run-1/step/0");
        let b = key_lock_path(Path::new("/d"), "run-1/step/0");
        let c = key_lock_path(Path::new("/d"), "run-1/step/1");
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert!(a.starts_with("/d/agent-cli-locks"));
        // FNV-1a of the empty input is its offset basis.
        assert_eq!(fnv1a(b""), 0xcbf2_9ce4_8422_2325);
    }
}
