//! `<data_dir>/webhook-sent.jsonl`: what was posted under which
//! idempotency key, so a resumed run never posts twice.
//!
//! A webhook has no way to ask "did you already get this?", so the plugin
//! keeps its own record, one JSON object per line:
//!
//! - `pending` is written *before* posting, with the message as it will be
//!   reported;
//! - `sent` replaces it once the service accepted the post;
//! - `failed` cancels it when the service certainly did not post (it
//!   refused, or the connection never opened), so a retry posts.
//!
//! A key whose last line is `pending` had a post that may or may not have
//! arrived (a crash, a timeout, a connection dropped after sending). Such
//! a post is treated as made: posting at most once is the promise, and a
//! missing notification is the lesser harm next to a duplicate.
//!
//! Lines are appended and synced before the post goes on; a line torn by a
//! crash is skipped with a warning. The whole check-post-record cycle
//! holds a lock file beside the log, so processes sharing a data folder
//! cannot post the same key twice.

use std::fs::{self, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use aido_plugin_api::model::chat::{Message, UploadedFile};
use serde::{Deserialize, Serialize};

use crate::fs_util::FileLock;

/// The log's file name, in the data folder.
pub(super) const FILE_NAME: &str = "webhook-sent.jsonl";

/// Where a keyed post stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(super) enum State {
    /// About to be posted, or posted without confirmation.
    Pending,
    /// Accepted by the service.
    Sent,
    /// Certainly not posted.
    Failed,
}

/// What a keyed post was.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(super) enum Kind {
    /// A message.
    Message,
    /// A file posted as a message.
    File,
}

/// One line of the log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(super) struct Record {
    /// The call's idempotency key.
    pub(super) key: String,
    /// Where the post stands.
    pub(super) state: State,
    /// What was posted.
    pub(super) kind: Kind,
    /// The message as reported to the caller.
    pub(super) message: Message,
    /// For files, the file as reported.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) file: Option<UploadedFile>,
    /// The run that posted it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) run_id: Option<String>,
}

/// The log in one data folder.
#[derive(Debug, Clone)]
pub(super) struct SentLog {
    path: PathBuf,
}

impl SentLog {
    /// The log in `data_dir`.
    pub(super) fn new(data_dir: &Path) -> SentLog {
        SentLog {
            path: data_dir.join(FILE_NAME),
        }
    }

    /// The log file's path.
    #[cfg(test)]
    pub(super) fn path(&self) -> &Path {
        &self.path
    }

    /// Blocks until this process holds the log's lock.
    pub(super) fn lock(&self) -> io::Result<FileLock> {
        FileLock::acquire(&self.path.with_extension("jsonl.lock"))
    }

    /// The last record of `key`, if any. Call with the lock held.
    pub(super) fn last(&self, key: &str) -> io::Result<Option<Record>> {
        let text = match fs::read_to_string(&self.path) {
            Ok(text) => text,
            Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(err) => return Err(err),
        };
        let mut last = None;
        for (index, line) in text.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            match serde_json::from_str::<Record>(line) {
                Ok(record) if record.key == key => last = Some(record),
                Ok(_) => {}
                Err(err) => tracing::warn!(
                    "skipping line {} of {}: not a webhook record ({err})",
                    index + 1,
                    self.path.display()
                ),
            }
        }
        Ok(last)
    }

    /// Appends `record` and syncs it to disk. Call with the lock held.
    pub(super) fn append(&self, record: &Record) -> io::Result<()> {
        if let Some(dir) = self.path.parent() {
            fs::create_dir_all(dir)?;
        }
        let mut line = serde_json::to_string(record).map_err(io::Error::other)?;
        line.push('\n');
        let mut file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.path)?;
        // A previous line torn by a crash must not swallow this one.
        let len = file.metadata()?.len();
        if len > 0 && !ends_with_newline(&self.path)? {
            line.insert(0, '\n');
        }
        file.write_all(line.as_bytes())?;
        file.sync_data()
    }
}

fn ends_with_newline(path: &Path) -> io::Result<bool> {
    use std::io::{Read, Seek, SeekFrom};
    let mut file = fs::File::open(path)?;
    file.seek(SeekFrom::End(-1))?;
    let mut last = [0u8; 1];
    file.read_exact(&mut last)?;
    Ok(last[0] == b'\n')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(key: &str, state: State) -> Record {
        Record {
            key: key.into(),
            state,
            kind: Kind::Message,
            message: Message {
                id: "1".into(),
                channel: "c".into(),
                text: "t".into(),
                thread_id: None,
                sent: chrono::Utc::now(),
                url: None,
            },
            file: None,
            run_id: None,
        }
    }

    #[test]
    fn the_last_record_of_a_key_wins_and_torn_lines_are_skipped() {
        let dir = tempfile::tempdir().unwrap();
        let log = SentLog::new(dir.path());
        assert_eq!(log.last("a").unwrap(), None);
        log.append(&record("a", State::Pending)).unwrap();
        log.append(&record("b", State::Pending)).unwrap();
        log.append(&record("a", State::Sent)).unwrap();
        assert_eq!(log.last("a").unwrap().unwrap().state, State::Sent);
        assert_eq!(log.last("b").unwrap().unwrap().state, State::Pending);
        // A crash mid-line, then a new record.
        let mut file = OpenOptions::new().append(true).open(log.path()).unwrap();
        file.write_all(br#"{"key": "c", "sta"#).unwrap();
        log.append(&record("c", State::Failed)).unwrap();
        assert_eq!(log.last("c").unwrap().unwrap().state, State::Failed);
    }
}
