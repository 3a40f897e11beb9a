//! The `console` communication plugin: the team channel is the terminal, or
//! a file.
//!
//! Each message is printed as one readable line (continuation lines of a
//! multi-line text are indented under the first):
//!
//! ```text
//! [#general] PR #12 is ready for review
//! [#general, thread 3] Tests pass now
//! [@alice] Your task PROJ-9 is in review
//! [#general] file: coverage.html (5120 bytes, saved to .aido/uploads/general/coverage.html)
//! ```
//!
//! `connection.output` picks where the lines go: `stderr` (the default),
//! `stdout`, or `file` (appended to `connection.path`). The default is
//! stderr, not stdout, because aido's commands may print machine-readable
//! JSON on stdout, and chat lines mixed into it would break whatever reads
//! it; stderr is where a command's human-facing progress goes anyway.
//!
//! # Files
//!
//! The plugin keeps its record in aido's data folder (`.aido/` by default):
//!
//! - `messages.jsonl`: every message, direct message and upload, one JSON
//!   object per line: the [`Message`] fields (`id`, `channel`, `text`,
//!   `thread_id`, `sent`, `url`) plus `kind` (`channel`, `direct` or
//!   `file`), `file` for uploads (the [`UploadedFile`]), and the call's
//!   `idempotency_key`, `run_id` and `step` when it had them. Message ids are
//!   the line numbers (`"1"`, `"2"`, ...), which is what `thread_id` refers
//!   to. A call whose idempotency key is already in the log gets the
//!   recorded result back and nothing is printed again, so a resumed run
//!   never posts twice.
//! - `channels.json`: channels made by `create_channel`, by name.
//! - `uploads/<channel>/<filename>`: uploaded files. A different file
//!   uploaded under the same name gets a `-2`, `-3`, ... suffix instead of
//!   replacing the first.
//!
//! Read-modify-write cycles on these files hold a lock file beside them, so
//! several aido processes can share one data folder.
//!
//! Any channel name can be posted to; a channel is *known* to
//! `get_channel_info` when it was created, is the default channel
//! (`options.default_channel`, `general` unless set), or has messages.
//! `get_user_info` answers with the local user (`$USER`) whatever the name,
//! since the only person at a console is the one running aido.

pub(crate) mod base64;

use std::collections::BTreeMap;
use std::fs::{self, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, LazyLock, PoisonError, RwLock};

use aido_plugin_api::model::chat::{
    Channel, ChannelRef, ContentEncoding, DirectMessage, FileUpload, Message, NewChannel,
    OutgoingMessage, UploadedFile, User, UserRef,
};
use aido_plugin_api::{
    CallContext, Communication, ConfigProblem, Error, Health, Plugin, PluginConfig, PluginFactory,
    PluginInstance, PluginKind, PluginMetadata, Result, async_trait,
};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::fs_util::{FileLock, atomic_write};

/// The plugin's name in `provider:`.
const NAME: &str = "console";

/// The message log, in the data folder.
const MESSAGES_FILE: &str = "messages.jsonl";
/// The created channels, in the data folder.
const CHANNELS_FILE: &str = "channels.json";
/// The uploaded files' folder, in the data folder.
const UPLOADS_DIR: &str = "uploads";

/// The longest channel name accepted (Slack's limit).
const MAX_CHANNEL_NAME_CHARS: usize = 80;

/// Configuration of the `console` plugin.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct ConsoleConfig {
    /// Where messages are shown.
    #[serde(default)]
    connection: ConsoleConnection,
    /// How messages are addressed.
    #[serde(default)]
    options: ConsoleOptions,
}

/// Where the `console` plugin shows messages.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct ConsoleConnection {
    /// `stderr` (the default, which keeps stdout free for JSON output),
    /// `stdout`, or `file`.
    #[serde(default)]
    output: Output,
    /// With `output: file`, the file messages are appended to. Relative
    /// paths are resolved against the project's root.
    #[serde(default)]
    path: Option<PathBuf>,
}

/// Where message lines go.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
enum Output {
    /// Standard output.
    Stdout,
    /// Standard error.
    #[default]
    Stderr,
    /// A file, appended to.
    File,
}

/// How the `console` plugin addresses messages.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct ConsoleOptions {
    /// The channel for messages and files sent without one.
    #[serde(default = "default_channel")]
    default_channel: String,
}

impl Default for ConsoleOptions {
    fn default() -> Self {
        ConsoleOptions {
            default_channel: default_channel(),
        }
    }
}

fn default_channel() -> String {
    "general".to_owned()
}

static META: LazyLock<PluginMetadata> = LazyLock::new(|| {
    PluginMetadata::new::<ConsoleConfig>(
        NAME,
        PluginKind::Communication,
        env!("CARGO_PKG_VERSION"),
        "Prints messages on the terminal or to a file, and keeps them in .aido/messages.jsonl.",
    )
});

/// The `console` plugin's factory, for the registry.
pub fn factory() -> PluginFactory {
    PluginFactory::new(META.clone(), || {
        PluginInstance::Communication(Arc::new(ConsolePlugin::default()))
    })
}

/// The `console` plugin: unconfigured until `connect`.
#[derive(Debug, Default)]
pub(crate) struct ConsolePlugin {
    state: RwLock<Option<Arc<Connected>>>,
}

/// What `connect` sets up.
#[derive(Debug)]
struct Connected {
    sink: Sink,
    default_channel: String,
    store: Store,
}

/// Where message lines are written.
#[derive(Debug, Clone)]
enum Sink {
    Stdout,
    Stderr,
    File(PathBuf),
}

/// The plugin's files in the data folder.
#[derive(Debug, Clone)]
struct Store {
    data_dir: PathBuf,
}

/// What a log entry records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum EntryKind {
    /// A message in a channel or thread.
    Channel,
    /// A direct message.
    Direct,
    /// A file shared in a channel.
    File,
}

impl EntryKind {
    fn describe(self) -> &'static str {
        match self {
            EntryKind::Channel => "a channel message",
            EntryKind::Direct => "a direct message",
            EntryKind::File => "a file upload",
        }
    }
}

/// One line of `messages.jsonl`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct LogEntry {
    #[serde(flatten)]
    message: Message,
    kind: EntryKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    file: Option<UploadedFile>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    idempotency_key: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    run_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    step: Option<String>,
}

/// The message log as read from disk.
#[derive(Debug, Default)]
struct MessageLog {
    entries: Vec<LogEntry>,
    /// Lines in the file, readable or not: the next id is one more, so ids
    /// never repeat even when a line was damaged.
    lines: usize,
    /// Whether the file ends in a line break (false after a torn write).
    ends_with_newline: bool,
}

/// A post to make: everything but what the store decides (id, time).
#[derive(Debug)]
struct Draft {
    kind: EntryKind,
    channel: String,
    text: String,
    thread_id: Option<String>,
    upload: Option<PendingUpload>,
}

/// A file to store with its post.
#[derive(Debug)]
struct PendingUpload {
    filename: String,
    bytes: Vec<u8>,
    title: Option<String>,
}

/// The parts of a call's context that go into the log.
#[derive(Debug, Clone, Default)]
struct CallInfo {
    idempotency_key: Option<String>,
    run_id: Option<String>,
    step: Option<String>,
}

impl From<&CallContext> for CallInfo {
    fn from(cx: &CallContext) -> Self {
        CallInfo {
            idempotency_key: cx.idempotency_key.clone(),
            run_id: cx.run_id.clone(),
            step: cx.step.clone(),
        }
    }
}

impl ConsolePlugin {
    fn connected(&self) -> Result<Arc<Connected>> {
        let state = self.state.read().unwrap_or_else(PoisonError::into_inner);
        state.clone().ok_or_else(|| {
            Error::other("the console plugin is not connected; `connect` must succeed first")
        })
    }
}

impl Connected {
    /// The channel named `requested`, or the default channel.
    fn channel_or_default(&self, requested: Option<&str>) -> Result<String> {
        match requested {
            Some(channel) => channel_name(channel),
            None => Ok(self.default_channel.clone()),
        }
    }

    /// Records and prints `draft`, or returns what an earlier call with the
    /// same idempotency key recorded.
    async fn post(&self, cx: &CallContext, draft: Draft) -> Result<LogEntry> {
        let store = self.store.clone();
        let sink = self.sink.clone();
        let call = CallInfo::from(cx);
        blocking(move || store.post(&sink, &call, draft)).await
    }
}

/// Runs blocking file work off the async runtime.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T> + Send + 'static,
) -> Result<T> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|err| Error::other(format!("a console file operation stopped: {err}")))?
}

/// An I/O error, naming what was being done to which file.
fn io_error(action: &str, path: &Path, err: io::Error) -> Error {
    Error::other(format!("could not {action} {}: {err}", path.display())).with_source(err)
}

impl Store {
    fn messages_path(&self) -> PathBuf {
        self.data_dir.join(MESSAGES_FILE)
    }

    fn messages_lock(&self) -> PathBuf {
        self.data_dir.join(format!("{MESSAGES_FILE}.lock"))
    }

    fn channels_path(&self) -> PathBuf {
        self.data_dir.join(CHANNELS_FILE)
    }

    fn channels_lock(&self) -> PathBuf {
        self.data_dir.join(format!("{CHANNELS_FILE}.lock"))
    }

    fn lock(path: &Path) -> Result<FileLock> {
        FileLock::acquire(path).map_err(|err| io_error("lock", path, err))
    }

    /// The whole post, under the log's lock so that checking the
    /// idempotency key and appending are one step for every process.
    fn post(&self, sink: &Sink, call: &CallInfo, draft: Draft) -> Result<LogEntry> {
        let _lock = Self::lock(&self.messages_lock())?;
        let log = self.read_log()?;
        if let Some(recorded) = log.recorded(call, draft.kind)? {
            return Ok(recorded);
        }
        if let Some(thread_id) = &draft.thread_id {
            log.check_thread(thread_id, &draft.channel, &self.messages_path())?;
        }
        let id = (log.lines + 1).to_string();
        let (file, shown) = match &draft.upload {
            Some(upload) => {
                let (file, path) = self.save_upload(&id, &draft.channel, upload)?;
                let shown = upload_text(&file.name, upload, &path, &draft.text);
                (Some(file), shown)
            }
            None => (None, draft.text.clone()),
        };
        let entry = LogEntry {
            message: Message {
                id,
                channel: draft.channel.clone(),
                text: draft.text.clone(),
                thread_id: draft.thread_id.clone(),
                sent: chrono::Utc::now(),
                url: None,
            },
            kind: draft.kind,
            file,
            idempotency_key: call.idempotency_key.clone(),
            run_id: call.run_id.clone(),
            step: call.step.clone(),
        };
        // Shown first, recorded second: if showing fails nothing is
        // recorded and a retry shows it; a record is only made for a
        // message that was seen.
        sink.write(&render_line(&entry, &shown))?;
        self.append(&entry, log.ends_with_newline)?;
        Ok(entry)
    }

    fn read_log(&self) -> Result<MessageLog> {
        let path = self.messages_path();
        match fs::read_to_string(&path) {
            Ok(text) => Ok(MessageLog::parse(&text, &path)),
            Err(err) if err.kind() == io::ErrorKind::NotFound => Ok(MessageLog {
                ends_with_newline: true,
                ..MessageLog::default()
            }),
            Err(err) => Err(io_error("read the message log", &path, err)),
        }
    }

    fn append(&self, entry: &LogEntry, ends_with_newline: bool) -> Result<()> {
        let path = self.messages_path();
        let mut line = if ends_with_newline {
            String::new()
        } else {
            "\n".to_owned()
        };
        line.push_str(&serde_json::to_string(entry).map_err(|err| {
            Error::other(format!(
                "could not encode a message for {}: {err}",
                path.display()
            ))
        })?);
        line.push('\n');
        let write = || -> io::Result<()> {
            let mut file = OpenOptions::new().create(true).append(true).open(&path)?;
            file.write_all(line.as_bytes())?;
            // The record is what makes a retried call return instead of
            // posting again, so it must survive a crash.
            file.sync_data()
        };
        write().map_err(|err| io_error("append to the message log", &path, err))
    }

    /// Writes an upload to `uploads/<channel>/`, under a free name; returns
    /// its record and where it is.
    fn save_upload(
        &self,
        id: &str,
        channel: &str,
        upload: &PendingUpload,
    ) -> Result<(UploadedFile, PathBuf)> {
        let dir = self.data_dir.join(UPLOADS_DIR).join(channel);
        let path = free_upload_path(&dir, &upload.filename, &upload.bytes)
            .map_err(|err| io_error("look into the uploads folder", &dir, err))?;
        atomic_write(&path, &upload.bytes)
            .map_err(|err| io_error("write the upload", &path, err))?;
        let name = path
            .file_name()
            .map(|name| name.to_string_lossy().into_owned())
            .unwrap_or_else(|| upload.filename.clone());
        let file = UploadedFile {
            id: id.to_owned(),
            name,
            channel: channel.to_owned(),
            url: Some(file_url(&path)),
        };
        Ok((file, path))
    }

    fn read_channels(&self) -> Result<BTreeMap<String, Channel>> {
        let path = self.channels_path();
        match fs::read_to_string(&path) {
            Ok(text) => serde_json::from_str(&text).map_err(|err| {
                Error::other(format!(
                    "{} is not a channel list ({err}); fix or remove it",
                    path.display()
                ))
            }),
            Err(err) if err.kind() == io::ErrorKind::NotFound => Ok(BTreeMap::new()),
            Err(err) => Err(io_error("read", &path, err)),
        }
    }

    /// Creates `channel` unless it exists; either way returns it.
    fn create_channel(&self, channel: Channel) -> Result<Channel> {
        let _lock = Self::lock(&self.channels_lock())?;
        let mut channels = self.read_channels()?;
        if let Some(existing) = channels.get(&channel.name) {
            return Ok(existing.clone());
        }
        channels.insert(channel.name.clone(), channel.clone());
        let path = self.channels_path();
        let mut text = serde_json::to_string_pretty(&channels).map_err(|err| {
            Error::other(format!(
                "could not encode the channels for {}: {err}",
                path.display()
            ))
        })?;
        text.push('\n');
        atomic_write(&path, text.as_bytes()).map_err(|err| io_error("write", &path, err))?;
        Ok(channel)
    }

    /// The channel `name`: created, the default, or one with messages.
    fn channel_info(&self, name: &str, default_channel: &str) -> Result<Channel> {
        let channels = self.read_channels()?;
        if let Some(channel) = channels.get(name) {
            return Ok(channel.clone());
        }
        let has_messages = || -> Result<bool> {
            let log = self.read_log()?;
            Ok(log
                .entries
                .iter()
                .any(|entry| entry.message.channel == name))
        };
        if name == default_channel || has_messages()? {
            return Ok(implicit_channel(name));
        }
        let mut known: Vec<&str> = channels.keys().map(String::as_str).collect();
        if !known.contains(&default_channel) {
            known.push(default_channel);
        }
        Err(Error::not_found(format!(
            "channel #{name} does not exist; create it with create_channel or post to it \
             (known channels: {})",
            known.join(", ")
        )))
    }
}

impl MessageLog {
    /// Parses the log, skipping lines that are not entries (a line torn by
    /// a crash) with a warning rather than failing every later call.
    fn parse(text: &str, path: &Path) -> MessageLog {
        let mut log = MessageLog {
            ends_with_newline: text.is_empty() || text.ends_with('\n'),
            ..MessageLog::default()
        };
        for (index, line) in text.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            log.lines += 1;
            match serde_json::from_str::<LogEntry>(line) {
                Ok(entry) => log.entries.push(entry),
                Err(err) => tracing::warn!(
                    "skipping line {} of {}: not a message record ({err})",
                    index + 1,
                    path.display()
                ),
            }
        }
        log
    }

    /// The entry an earlier call with this call's idempotency key made, if
    /// any. The same key on another kind of post is a caller's mistake.
    fn recorded(&self, call: &CallInfo, kind: EntryKind) -> Result<Option<LogEntry>> {
        let Some(key) = call.idempotency_key.as_deref() else {
            return Ok(None);
        };
        let found = self
            .entries
            .iter()
            .find(|entry| entry.idempotency_key.as_deref() == Some(key));
        match found {
            Some(entry) if entry.kind != kind => Err(Error::invalid_input(format!(
                "idempotency key `{key}` was already used for {}, not {}",
                entry.kind.describe(),
                kind.describe()
            ))),
            found => Ok(found.cloned()),
        }
    }

    /// A reply must go to an existing message of the same channel.
    fn check_thread(&self, thread_id: &str, channel: &str, path: &Path) -> Result<()> {
        match self
            .entries
            .iter()
            .find(|entry| entry.message.id == thread_id)
        {
            Some(entry) if entry.message.channel == channel => Ok(()),
            Some(entry) => Err(Error::invalid_input(format!(
                "thread {thread_id} is in #{}, not in #{channel}",
                entry.message.channel
            ))),
            None => Err(Error::not_found(format!(
                "there is no message {thread_id} to reply to in {}",
                path.display()
            ))),
        }
    }
}

impl Sink {
    fn write(&self, text: &str) -> Result<()> {
        let result = match self {
            Sink::Stdout => io::stdout().lock().write_all(text.as_bytes()),
            Sink::Stderr => io::stderr().lock().write_all(text.as_bytes()),
            Sink::File(path) => append_to(path, text),
        };
        result.map_err(|err| match self {
            Sink::File(path) => io_error("write messages to", path, err),
            Sink::Stdout => Error::other(format!("could not print a message on stdout: {err}")),
            Sink::Stderr => Error::other(format!("could not print a message on stderr: {err}")),
        })
    }
}

fn append_to(path: &Path, text: &str) -> io::Result<()> {
    if let Some(dir) = path.parent().filter(|dir| !dir.as_os_str().is_empty()) {
        fs::create_dir_all(dir)?;
    }
    // Opened per message, so a rotated or deleted file is simply recreated.
    let mut file = OpenOptions::new().create(true).append(true).open(path)?;
    file.write_all(text.as_bytes())
}

/// The printed form of an entry showing `body`: a `[#channel]` or
/// `[@user]` prefix, continuation lines indented under the first; ends with
/// `\n`.
fn render_line(entry: &LogEntry, body: &str) -> String {
    let message = &entry.message;
    let prefix = match (entry.kind, &message.thread_id) {
        (EntryKind::Direct, _) => format!("[{}]", message.channel),
        (_, Some(thread)) => format!("[#{}, thread {thread}]", message.channel),
        (_, None) => format!("[#{}]", message.channel),
    };
    indent_under(&prefix, body)
}

/// What an upload shows: its title and name, size, where it was saved, and
/// the comment on the next line.
fn upload_text(stored_name: &str, upload: &PendingUpload, path: &Path, comment: &str) -> String {
    let name = match &upload.title {
        Some(title) => format!("{title} ({stored_name})"),
        None => stored_name.to_owned(),
    };
    let mut text = format!(
        "file: {name} ({} bytes, saved to {})",
        upload.bytes.len(),
        path.display()
    );
    if !comment.is_empty() {
        text.push('\n');
        text.push_str(comment);
    }
    text
}

/// `body` after `prefix`, its later lines indented to align with the first;
/// trailing line breaks dropped, control characters made visible.
fn indent_under(prefix: &str, body: &str) -> String {
    let indent = " ".repeat(prefix.chars().count() + 1);
    let mut out = String::from(prefix);
    for (index, line) in body.trim_end_matches(['\n', '\r']).split('\n').enumerate() {
        let line = visible(line.strip_suffix('\r').unwrap_or(line));
        if index > 0 {
            out.push('\n');
            out.push_str(&indent);
        } else if !line.is_empty() {
            out.push(' ');
        }
        out.push_str(&line);
    }
    out.push('\n');
    out
}

/// `line` with control characters escaped (`\u{1b}`), so text from a model
/// or a service cannot move the cursor, recolor or clear the terminal.
fn visible(line: &str) -> String {
    line.chars()
        .map(|c| {
            if c.is_control() && c != '\t' {
                c.escape_unicode().to_string()
            } else {
                c.to_string()
            }
        })
        .collect()
}

/// A channel as a name: without a leading `#`, safe as a folder name,
/// readable in a `[#channel]` prefix.
fn channel_name(raw: &str) -> Result<String> {
    let name = raw.trim().trim_start_matches('#');
    let problem = if name.is_empty() {
        Some("is empty")
    } else if name.chars().count() > MAX_CHANNEL_NAME_CHARS {
        Some("is longer than 80 characters")
    } else if name == "." || name == ".." {
        Some("is a path, not a name")
    } else if name
        .chars()
        .any(|c| c.is_whitespace() || c.is_control() || matches!(c, '/' | '\\' | '@'))
    {
        Some("contains a space, a control character, `/`, `\\` or `@`")
    } else {
        None
    };
    match problem {
        None => Ok(name.to_owned()),
        Some(problem) => Err(Error::invalid_input(format!(
            "channel name `{raw}` {problem}; use a name such as `general` or `#dev-team`"
        ))),
    }
}

/// A file name that stays inside its uploads folder.
fn upload_file_name(raw: &str) -> Result<String> {
    let plain = Path::new(raw).file_name().is_some_and(|name| name == raw);
    if raw.is_empty()
        || !plain
        || raw
            .chars()
            .any(|c| c.is_control() || matches!(c, '/' | '\\'))
    {
        return Err(Error::invalid_input(format!(
            "file name `{raw}` must be a plain name such as `report.txt`, without folders"
        )));
    }
    Ok(raw.to_owned())
}

/// `dir/filename`, or `dir/stem-N.ext` for the first N that is free or
/// already holds these very bytes (a retried upload).
fn free_upload_path(dir: &Path, filename: &str, bytes: &[u8]) -> io::Result<PathBuf> {
    let (stem, extension) = match filename.rsplit_once('.') {
        Some((stem, extension)) if !stem.is_empty() => (stem, Some(extension)),
        _ => (filename, None),
    };
    for n in 1..=1000u32 {
        let name = match (n, extension) {
            (1, _) => filename.to_owned(),
            (n, Some(extension)) => format!("{stem}-{n}.{extension}"),
            (n, None) => format!("{stem}-{n}"),
        };
        let path = dir.join(name);
        match fs::read(&path) {
            Ok(existing) if existing == bytes => return Ok(path),
            Ok(_) => continue,
            Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(path),
            Err(err) => return Err(err),
        }
    }
    Err(io::Error::other(format!(
        "1000 different files named {filename} already exist"
    )))
}

/// A `file://` URL of `path`, made absolute and percent-encoded.
fn file_url(path: &Path) -> String {
    let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_owned());
    let mut url = String::from("file://");
    for byte in absolute.to_string_lossy().bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'/' | b'-' | b'.' | b'_' | b'~') {
            url.push(byte as char);
        } else {
            url.push_str(&format!("%{byte:02X}"));
        }
    }
    url
}

/// A channel that exists without having been created (the default, or one
/// posted to).
fn implicit_channel(name: &str) -> Channel {
    Channel {
        id: name.to_owned(),
        name: name.to_owned(),
        description: None,
        private: false,
        member_count: None,
    }
}

/// The person running aido, from the environment.
fn local_user() -> User {
    let name = ["USER", "USERNAME", "LOGNAME"]
        .iter()
        .find_map(|var| std::env::var(var).ok().filter(|value| !value.is_empty()))
        .unwrap_or_else(|| "local".to_owned());
    User {
        id: name.clone(),
        name,
        display_name: None,
        email: None,
    }
}

/// Every problem with the configuration a schema cannot express.
fn check_config(config: &PluginConfig, parsed: &ConsoleConfig) -> Vec<ConfigProblem> {
    let mut problems = Vec::new();
    let connection = &parsed.connection;
    match (connection.output, &connection.path) {
        (Output::File, None) => problems.push(ConfigProblem::new(
            "connection.path",
            "`output: file` needs `path`, the file messages are appended to (such as \
             `.aido/chat.log`)",
        )),
        (Output::File, Some(path)) if config.resolve_path(path).is_dir() => {
            problems.push(ConfigProblem::new(
                "connection.path",
                format!(
                    "{} is a directory; name a file, such as {}",
                    config.resolve_path(path).display(),
                    path.join("chat.log").display()
                ),
            ));
        }
        (Output::Stdout | Output::Stderr, Some(_)) => problems.push(ConfigProblem::new(
            "connection.path",
            "`path` is only used with `output: file`; set `output: file` or remove `path`",
        )),
        _ => {}
    }
    if let Err(err) = channel_name(&parsed.options.default_channel) {
        problems.push(ConfigProblem::new("options.default_channel", err.message()));
    }
    problems
}

/// Whether `path` can be appended to without creating anything: the file
/// itself if it exists, else the nearest existing folder above it.
fn probe_writable(path: &Path) -> std::result::Result<(), String> {
    if path.exists() {
        return OpenOptions::new()
            .append(true)
            .open(path)
            .map(|_| ())
            .map_err(|err| format!("{} is not writable: {err}", path.display()));
    }
    let mut ancestor = path.parent();
    while let Some(dir) = ancestor {
        if dir.as_os_str().is_empty() {
            break;
        }
        if let Ok(metadata) = fs::metadata(dir) {
            return if !metadata.is_dir() {
                Err(format!(
                    "{} is not a folder, so {} cannot be created",
                    dir.display(),
                    path.display()
                ))
            } else if metadata.permissions().readonly() {
                Err(format!(
                    "{} is read-only, so {} cannot be created",
                    dir.display(),
                    path.display()
                ))
            } else {
                Ok(())
            };
        }
        ancestor = dir.parent();
    }
    Ok(())
}

#[async_trait]
impl Plugin for ConsolePlugin {
    fn metadata(&self) -> &PluginMetadata {
        &META
    }

    fn validate_config(&self, config: &PluginConfig) -> Vec<ConfigProblem> {
        match config.parse::<ConsoleConfig>() {
            Ok(parsed) => check_config(config, &parsed),
            Err(err) => vec![ConfigProblem::new("", err.message())],
        }
    }

    async fn connect(&self, config: &PluginConfig) -> Result<()> {
        let parsed: ConsoleConfig = config.parse()?;
        let problems = check_config(config, &parsed);
        if !problems.is_empty() {
            let text: Vec<String> = problems
                .iter()
                .map(|p| format!("{}: {}", p.path, p.message))
                .collect();
            return Err(Error::configuration(text.join("; ")));
        }
        let sink = match (parsed.connection.output, parsed.connection.path) {
            (Output::Stdout, _) => Sink::Stdout,
            (Output::Stderr, _) => Sink::Stderr,
            (Output::File, Some(path)) => Sink::File(config.resolve_path(path)),
            // `check_config` reported a file output without a path above.
            (Output::File, None) => return Err(Error::configuration("connection.path is missing")),
        };
        let connected = Connected {
            sink,
            default_channel: channel_name(&parsed.options.default_channel)?,
            store: Store {
                data_dir: config.data_dir().to_owned(),
            },
        };
        *self.state.write().unwrap_or_else(PoisonError::into_inner) = Some(Arc::new(connected));
        Ok(())
    }

    async fn disconnect(&self) -> Result<()> {
        self.state
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        Ok(())
    }

    async fn health_check(&self) -> Health {
        let connected = match self.connected() {
            Ok(connected) => connected,
            Err(err) => return Health::Unhealthy(err.message().to_owned()),
        };
        let mut targets = vec![connected.store.messages_path()];
        if let Sink::File(path) = &connected.sink {
            targets.push(path.clone());
        }
        let checked = blocking(move || {
            Ok(targets
                .iter()
                .map(|path| probe_writable(path))
                .collect::<Vec<_>>())
        })
        .await;
        let failures: Vec<String> = match checked {
            Ok(results) => results
                .into_iter()
                .filter_map(|result| result.err())
                .collect(),
            Err(err) => vec![err.message().to_owned()],
        };
        if failures.is_empty() {
            Health::Healthy
        } else {
            Health::Unhealthy(failures.join("; "))
        }
    }
}

#[async_trait]
impl Communication for ConsolePlugin {
    async fn send_message(&self, cx: &CallContext, input: OutgoingMessage) -> Result<Message> {
        let connected = self.connected()?;
        let channel = connected.channel_or_default(input.channel.as_deref())?;
        let draft = Draft {
            kind: EntryKind::Channel,
            channel,
            text: input.text,
            thread_id: input.thread_id,
            upload: None,
        };
        Ok(connected.post(cx, draft).await?.message)
    }

    async fn send_direct_message(&self, cx: &CallContext, input: DirectMessage) -> Result<Message> {
        let connected = self.connected()?;
        let user = input.user.trim().trim_start_matches('@');
        if user.is_empty() || user.chars().any(char::is_control) {
            return Err(Error::invalid_input(format!(
                "`{}` is not a user name; name the user, such as `alice` or `alice@example.com`",
                input.user
            )));
        }
        let draft = Draft {
            kind: EntryKind::Direct,
            channel: format!("@{user}"),
            text: input.text,
            thread_id: None,
            upload: None,
        };
        Ok(connected.post(cx, draft).await?.message)
    }

    async fn create_channel(&self, _cx: &CallContext, input: NewChannel) -> Result<Channel> {
        let connected = self.connected()?;
        let name = channel_name(&input.name)?;
        let channel = Channel {
            id: name.clone(),
            name,
            description: input.description,
            private: input.private,
            member_count: None,
        };
        let store = connected.store.clone();
        blocking(move || store.create_channel(channel)).await
    }

    async fn get_channel_info(&self, _cx: &CallContext, input: ChannelRef) -> Result<Channel> {
        let connected = self.connected()?;
        let name = channel_name(&input.channel)?;
        let store = connected.store.clone();
        let default_channel = connected.default_channel.clone();
        blocking(move || store.channel_info(&name, &default_channel)).await
    }

    async fn get_user_info(&self, _cx: &CallContext, _input: UserRef) -> Result<User> {
        self.connected()?;
        Ok(local_user())
    }

    async fn upload_file(&self, cx: &CallContext, input: FileUpload) -> Result<UploadedFile> {
        let connected = self.connected()?;
        let channel = connected.channel_or_default(input.channel.as_deref())?;
        let filename = upload_file_name(&input.filename)?;
        let bytes = match input.encoding {
            ContentEncoding::Text => input.content.into_bytes(),
            ContentEncoding::Base64 => base64::decode(&input.content).map_err(|err| {
                Error::invalid_input(format!(
                    "the content of {filename} is not valid base64: {err}"
                ))
            })?,
        };
        let draft = Draft {
            kind: EntryKind::File,
            channel,
            text: input.comment.unwrap_or_default(),
            thread_id: None,
            upload: Some(PendingUpload {
                filename,
                bytes,
                title: input.title,
            }),
        };
        let entry = connected.post(cx, draft).await?;
        // `post` returns a file entry for a file draft, recorded or new.
        entry
            .file
            .ok_or_else(|| Error::other(format!("message {} records no file", entry.message.id)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aido_plugin_api::ErrorKind;
    use serde_json::json;

    struct Fixture {
        dir: tempfile::TempDir,
        plugin: PluginInstance,
    }

    impl Fixture {
        /// A console writing to `chat.log` in a temporary project.
        async fn new() -> Fixture {
            Fixture::with_options(json!({})).await
        }

        async fn with_options(options: serde_json::Value) -> Fixture {
            let dir = tempfile::tempdir().unwrap();
            let config =
                json!({"connection": {"output": "file", "path": "chat.log"}, "options": options});
            let plugin = factory().create();
            plugin
                .plugin()
                .connect(&plugin_config(dir.path(), config))
                .await
                .unwrap();
            Fixture { dir, plugin }
        }

        fn printed(&self) -> String {
            fs::read_to_string(self.dir.path().join("chat.log")).unwrap_or_default()
        }

        fn log_lines(&self) -> Vec<serde_json::Value> {
            let text = fs::read_to_string(self.dir.path().join(".aido/messages.jsonl")).unwrap();
            text.lines()
                .map(|line| serde_json::from_str(line).unwrap())
                .collect()
        }

        async fn call(
            &self,
            cx: &CallContext,
            action: &str,
            input: serde_json::Value,
        ) -> Result<serde_json::Value> {
            self.plugin.call(cx, action, input).await
        }
    }

    fn plugin_config(dir: &Path, value: serde_json::Value) -> PluginConfig {
        PluginConfig::new("communication", value, dir, dir.join(".aido"))
    }

    fn keyed(key: &str) -> CallContext {
        CallContext {
            run_id: Some("run-1".into()),
            step: Some("notify".into()),
            idempotency_key: Some(key.into()),
        }
    }

    #[tokio::test]
    async fn messages_are_printed_and_logged() {
        let fx = Fixture::new().await;
        let cx = CallContext::default();
        let first = fx
            .call(&cx, "send_message", json!({"text": "PR #12 is ready"}))
            .await
            .unwrap();
        assert_eq!(first["id"], "1");
        assert_eq!(first["channel"], "general");
        let reply = fx
            .call(&cx, "send_message", json!({"channel": "#general", "text": "Tests pass\nand lint too", "thread_id": "1"}))
            .await
            .unwrap();
        assert_eq!(reply["thread_id"], "1");
        fx.call(
            &cx,
            "send_direct_message",
            json!({"user": "alice", "text": "PROJ-9 is in review"}),
        )
        .await
        .unwrap();

        let indent = " ".repeat("[#general, thread 1] ".len());
        assert_eq!(
            fx.printed(),
            format!(
                "[#general] PR #12 is ready\n\
                 [#general, thread 1] Tests pass\n{indent}and lint too\n\
                 [@alice] PROJ-9 is in review\n"
            )
        );
        let log = fx.log_lines();
        assert_eq!(log.len(), 3);
        assert_eq!(log[1]["kind"], "channel");
        assert_eq!(log[1]["text"], "Tests pass\nand lint too");
        assert_eq!(log[2]["kind"], "direct");
        assert_eq!(log[2]["channel"], "@alice");
    }

    #[tokio::test]
    async fn a_known_idempotency_key_returns_the_recorded_message() {
        let fx = Fixture::new().await;
        let first = fx
            .call(
                &keyed("run-1/notify"),
                "send_message",
                json!({"text": "Done"}),
            )
            .await
            .unwrap();
        let again = fx
            .call(
                &keyed("run-1/notify"),
                "send_message",
                json!({"text": "Done"}),
            )
            .await
            .unwrap();
        assert_eq!(first, again);
        assert_eq!(fx.printed(), "[#general] Done\n", "printed once");
        let log = fx.log_lines();
        assert_eq!(log.len(), 1);
        assert_eq!(log[0]["idempotency_key"], "run-1/notify");
        assert_eq!(log[0]["run_id"], "run-1");
        assert_eq!(log[0]["step"], "notify");

        // The same key for another kind of post is a caller bug, not a replay.
        let err = fx
            .call(
                &keyed("run-1/notify"),
                "send_direct_message",
                json!({"user": "bob", "text": "x"}),
            )
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput);
        assert!(err.message().contains("a channel message"), "{err}");
    }

    #[tokio::test]
    async fn a_new_instance_finds_keys_recorded_by_an_earlier_one() {
        let fx = Fixture::new().await;
        fx.call(&keyed("k"), "send_message", json!({"text": "once"}))
            .await
            .unwrap();
        // A resumed run is a new process with a new plugin instance.
        let second = factory().create();
        let config = json!({"connection": {"output": "file", "path": "chat.log"}});
        second
            .plugin()
            .connect(&plugin_config(fx.dir.path(), config))
            .await
            .unwrap();
        let replayed = second
            .call(&keyed("k"), "send_message", json!({"text": "once"}))
            .await
            .unwrap();
        assert_eq!(replayed["id"], "1");
        assert_eq!(fx.printed(), "[#general] once\n");
    }

    #[tokio::test]
    async fn replies_need_a_message_in_the_same_channel() {
        let fx = Fixture::new().await;
        let cx = CallContext::default();
        let err = fx
            .call(&cx, "send_message", json!({"text": "x", "thread_id": "7"}))
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::NotFound);
        fx.call(
            &cx,
            "send_message",
            json!({"channel": "dev", "text": "root"}),
        )
        .await
        .unwrap();
        let err = fx
            .call(&cx, "send_message", json!({"text": "x", "thread_id": "1"}))
            .await
            .unwrap_err();
        assert!(err.message().contains("#dev"), "{err}");
    }

    #[tokio::test]
    async fn a_torn_log_line_is_skipped_and_ids_stay_unique() {
        let fx = Fixture::new().await;
        let cx = CallContext::default();
        fx.call(&cx, "send_message", json!({"text": "one"}))
            .await
            .unwrap();
        let log_path = fx.dir.path().join(".aido/messages.jsonl");
        let mut file = OpenOptions::new().append(true).open(&log_path).unwrap();
        file.write_all(b"{\"id\":\"2\",\"chan").unwrap();
        let next = fx
            .call(&cx, "send_message", json!({"text": "three"}))
            .await
            .unwrap();
        assert_eq!(next["id"], "3");
        let text = fs::read_to_string(&log_path).unwrap();
        assert!(text.lines().last().unwrap().contains("\"three\""), "{text}");
    }

    #[tokio::test]
    async fn channels_are_created_once_and_described() {
        let fx = Fixture::with_options(json!({"default_channel": "team"})).await;
        let cx = CallContext::default();
        let made = fx
            .call(
                &cx,
                "create_channel",
                json!({"name": "#releases", "description": "Release notes"}),
            )
            .await
            .unwrap();
        assert_eq!(made["name"], "releases");
        let again = fx
            .call(&cx, "create_channel", json!({"name": "releases"}))
            .await
            .unwrap();
        assert_eq!(
            again["description"], "Release notes",
            "the existing channel is kept"
        );
        let info = fx
            .call(&cx, "get_channel_info", json!({"channel": "releases"}))
            .await
            .unwrap();
        assert_eq!(info, made);

        let default = fx
            .call(&cx, "get_channel_info", json!({"channel": "#team"}))
            .await
            .unwrap();
        assert_eq!(default["name"], "team");
        let err = fx
            .call(&cx, "get_channel_info", json!({"channel": "ops"}))
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::NotFound);
        assert!(err.message().contains("releases, team"), "{err}");
        fx.call(&cx, "send_message", json!({"channel": "ops", "text": "hi"}))
            .await
            .unwrap();
        assert_eq!(
            fx.call(&cx, "get_channel_info", json!({"channel": "ops"}))
                .await
                .unwrap()["id"],
            "ops"
        );
    }

    #[tokio::test]
    async fn unsafe_channel_and_file_names_are_rejected() {
        let fx = Fixture::new().await;
        let cx = CallContext::default();
        for channel in ["", "#", "../x", "a b", ".."] {
            let err = fx
                .call(
                    &cx,
                    "send_message",
                    json!({"channel": channel, "text": "x"}),
                )
                .await
                .unwrap_err();
            assert_eq!(err.kind(), ErrorKind::InvalidInput, "{channel:?}");
        }
        for filename in ["", "../x.txt", "a/b.txt", "..", "/etc/passwd"] {
            let err = fx
                .call(
                    &cx,
                    "upload_file",
                    json!({"filename": filename, "content": "x"}),
                )
                .await
                .unwrap_err();
            assert_eq!(err.kind(), ErrorKind::InvalidInput, "{filename:?}");
        }
        assert!(!fx.dir.path().join(".aido/messages.jsonl").exists());
    }

    #[tokio::test]
    async fn uploads_are_decoded_stored_and_never_overwritten() {
        let fx = Fixture::new().await;
        let cx = CallContext::default();
        let uploaded = fx
            .call(
                &cx,
                "upload_file",
                json!({"filename": "notes.bin", "content": "AAEC/w==", "encoding": "base64",
                                              "title": "Notes", "comment": "see attached"}),
            )
            .await
            .unwrap();
        let stored = fx.dir.path().join(".aido/uploads/general/notes.bin");
        assert_eq!(fs::read(&stored).unwrap(), [0, 1, 2, 255]);
        assert_eq!(uploaded["name"], "notes.bin");
        assert_eq!(uploaded["channel"], "general");
        assert!(
            uploaded["url"]
                .as_str()
                .unwrap()
                .ends_with("/.aido/uploads/general/notes.bin")
        );
        let printed = fx.printed();
        assert!(
            printed.starts_with("[#general] file: Notes (notes.bin) (4 bytes, saved to /"),
            "{printed}"
        );
        assert!(
            printed.ends_with("notes.bin)\n           see attached\n"),
            "{printed}"
        );

        let other = fx
            .call(
                &cx,
                "upload_file",
                json!({"filename": "notes.bin", "content": "other"}),
            )
            .await
            .unwrap();
        assert_eq!(other["name"], "notes-2.bin");
        assert_eq!(
            fs::read(&stored).unwrap(),
            [0, 1, 2, 255],
            "the first file is kept"
        );

        let err = fx
            .call(
                &cx,
                "upload_file",
                json!({"filename": "x", "content": "**", "encoding": "base64"}),
            )
            .await
            .unwrap_err();
        assert!(err.message().contains("not valid base64"), "{err}");
    }

    #[tokio::test]
    async fn a_retried_upload_returns_the_recorded_file() {
        let fx = Fixture::new().await;
        let input = json!({"channel": "dev", "filename": "a.txt", "content": "hello"});
        let first = fx
            .call(&keyed("up"), "upload_file", input.clone())
            .await
            .unwrap();
        let again = fx.call(&keyed("up"), "upload_file", input).await.unwrap();
        assert_eq!(first, again);
        assert_eq!(fx.log_lines().len(), 1);
        assert_eq!(
            fs::read_to_string(fx.dir.path().join(".aido/uploads/dev/a.txt")).unwrap(),
            "hello"
        );
    }

    #[tokio::test]
    async fn user_info_is_the_local_user() {
        let fx = Fixture::new().await;
        let user = fx
            .call(
                &CallContext::default(),
                "get_user_info",
                json!({"user": "anyone"}),
            )
            .await
            .unwrap();
        assert_eq!(user["name"], local_user().name);
        assert_eq!(user["id"], user["name"]);
    }

    #[tokio::test]
    async fn calls_before_connect_fail_cleanly() {
        let plugin = factory().create();
        let err = plugin
            .call(
                &CallContext::default(),
                "send_message",
                json!({"text": "x"}),
            )
            .await
            .unwrap_err();
        assert!(err.message().contains("not connected"), "{err}");
        assert_eq!(err.plugin(), "console");
        assert!(!plugin.plugin().health_check().await.is_usable());
    }

    #[test]
    fn validate_config_reports_every_problem() {
        let dir = tempfile::tempdir().unwrap();
        let plugin = factory().create();
        let problems = plugin.plugin().validate_config(&plugin_config(
            dir.path(),
            json!({"connection": {"output": "file"}, "options": {"default_channel": "a/b"}}),
        ));
        let paths: Vec<_> = problems.iter().map(|p| p.path.as_str()).collect();
        assert_eq!(paths, ["connection.path", "options.default_channel"]);

        let problems = plugin.plugin().validate_config(&plugin_config(
            dir.path(),
            json!({"connection": {"path": "chat.log"}}),
        ));
        assert!(
            problems[0]
                .message
                .contains("only used with `output: file`"),
            "{problems:?}"
        );

        let problems = plugin.plugin().validate_config(&plugin_config(
            dir.path(),
            json!({"connection": {"output": "file", "path": "."}}),
        ));
        assert!(
            problems[0].message.contains("is a directory"),
            "{problems:?}"
        );

        assert!(
            plugin
                .plugin()
                .validate_config(&plugin_config(dir.path(), json!({})))
                .is_empty()
        );
    }

    #[tokio::test]
    async fn connect_refuses_what_validate_config_reports() {
        let dir = tempfile::tempdir().unwrap();
        let plugin = factory().create();
        let err = plugin
            .plugin()
            .connect(&plugin_config(
                dir.path(),
                json!({"connection": {"output": "file"}}),
            ))
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Configuration);
        assert!(err.message().contains("connection.path"), "{err}");
    }

    #[tokio::test]
    async fn health_reports_an_unwritable_output_file() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("blocker"), "").unwrap();
        let plugin = factory().create();
        let config = json!({"connection": {"output": "file", "path": "blocker/chat.log"}});
        plugin
            .plugin()
            .connect(&plugin_config(dir.path(), config))
            .await
            .unwrap();
        let health = plugin.plugin().health_check().await;
        assert!(
            matches!(&health, Health::Unhealthy(reason) if reason.contains("blocker")),
            "{health}"
        );

        let fx = Fixture::new().await;
        assert_eq!(fx.plugin.plugin().health_check().await, Health::Healthy);
    }

    #[test]
    fn lines_indent_continuations_under_the_text() {
        assert_eq!(indent_under("[#a]", "x\ny"), "[#a] x\n     y\n");
        assert_eq!(indent_under("[#a]", "x\r\ny\n\n"), "[#a] x\n     y\n");
        assert_eq!(indent_under("[#a]", ""), "[#a]\n");
    }

    #[test]
    fn control_characters_cannot_reach_the_terminal() {
        assert_eq!(
            indent_under("[#a]", "\u{1b}[2Jhi\tthere"),
            "[#a] \\u{1b}[2Jhi\tthere\n"
        );
    }

    #[test]
    fn file_urls_are_percent_encoded() {
        assert_eq!(
            file_url(Path::new("/tmp/a b/ü.txt")),
            "file:///tmp/a%20b/%C3%BC.txt"
        );
    }
}
