//! The replay record: which answer each idempotency key got, so that a
//! resumed run receives the same answer for the same call.
//!
//! It lives in `<data_dir>/scripted-replay.json`:
//!
//! ```json
//! {
//!   "version": 1,
//!   "answers": {
//!     "run-1/plan/0": {
//!       "run_id": "run-1", "step": "plan", "entry": 0,
//!       "text": "...", "usage": {"input_tokens": 120, "output_tokens": 40},
//!       "stop_reason": "end_turn", "findings": [],
//!       "recorded_at": "2025-06-01T10:00:00Z"
//!     }
//!   }
//! }
//! ```
//!
//! The reply itself is stored, not only the entry's position, so a replay
//! returns the very same text and tokens even if the answers file was edited
//! since. Callers hold [`lock_path`]'s lock around load, change and save.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use aido_plugin_api::model::ai::{Finding, TokenUsage};
use aido_plugin_api::{Error, Result};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::fs_util::{atomic_write, read_versioned_json};

/// The replay file's name in the data folder.
const FILE_NAME: &str = "scripted-replay.json";

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

/// An answer as the caller received it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Reply {
    /// The text (possibly cut at `max_tokens`).
    pub text: String,
    /// Tokens reported.
    pub usage: TokenUsage,
    /// `end_turn`, or `max_tokens` when the text was cut.
    pub stop_reason: String,
    /// Findings, for `analyze_code`.
    #[serde(default)]
    pub findings: Vec<Finding>,
}

/// What was answered under one idempotency key.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Record {
    /// The run that made the call.
    #[serde(default)]
    pub run_id: Option<String>,
    /// The step that made the call.
    #[serde(default)]
    pub step: Option<String>,
    /// The position of the entry in the script (from 0).
    pub entry: usize,
    /// The reply.
    #[serde(flatten)]
    pub reply: Reply,
    /// When it was first answered.
    pub recorded_at: DateTime<Utc>,
}

/// The whole replay file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct ReplayLog {
    version: u32,
    answers: BTreeMap<String, Record>,
}

impl Default for ReplayLog {
    fn default() -> Self {
        ReplayLog {
            version: VERSION,
            answers: BTreeMap::new(),
        }
    }
}

impl ReplayLog {
    /// Reads the replay file; a missing file is an empty log. A damaged one
    /// is an error rather than a fresh start, since starting over would give
    /// a resumed run different answers.
    pub(crate) fn load(path: &Path) -> Result<ReplayLog> {
        read_versioned_json(
            path,
            "a scripted replay record",
            "fix it, or delete it to forget which answers earlier runs received",
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
        self.answers.get(key)
    }

    /// Records what `key` was answered.
    pub(crate) fn insert(&mut self, key: &str, record: Record) {
        self.answers.insert(key.to_owned(), record);
    }

    /// The entries the run `run_id` has used so far.
    pub(crate) fn entries_of_run<'a>(
        &'a self,
        run_id: &'a str,
    ) -> impl Iterator<Item = usize> + 'a {
        self.answers
            .values()
            .filter(move |record| record.run_id.as_deref() == Some(run_id))
            .map(|record| record.entry)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    fn record(run: &str, entry: usize) -> Record {
        Record {
            run_id: Some(run.to_owned()),
            step: Some("plan".to_owned()),
            entry,
            reply: Reply {
                text: format!("answer {entry}"),
                usage: TokenUsage {
                    input_tokens: 3,
                    output_tokens: 4,
                },
                stop_reason: "end_turn".to_owned(),
                findings: Vec::new(),
            },
            recorded_at: Utc::now(),
        }
    }

    #[test]
    fn records_survive_a_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let path = file_path(dir.path());
        assert_eq!(ReplayLog::load(&path).unwrap(), ReplayLog::default());
        let mut log = ReplayLog::default();
        log.insert("k1", record("run-1", 0));
        log.insert("k2", record("run-2", 1));
        log.insert("k3", record("run-1", 2));
        log.save(&path).unwrap();
        let loaded = ReplayLog::load(&path).unwrap();
        assert_eq!(loaded, log);
        assert_eq!(loaded.get("k2").unwrap().reply.text, "answer 1");
        assert_eq!(loaded.entries_of_run("run-1").collect::<Vec<_>>(), [0, 2]);
    }

    #[test]
    fn a_damaged_file_is_an_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = file_path(dir.path());
        fs::write(&path, "{not json").unwrap();
        let err = ReplayLog::load(&path).unwrap_err();
        assert!(err.message().contains("scripted-replay.json"), "{err}");
        fs::write(&path, r#"{"version": 9, "answers": {}}"#).unwrap();
        assert!(
            ReplayLog::load(&path)
                .unwrap_err()
                .message()
                .contains("version 9")
        );
    }
}
