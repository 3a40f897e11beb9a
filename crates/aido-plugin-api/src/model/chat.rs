//! Messages, channels and users: the `communication` kind's data.

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Input of `send_message`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OutgoingMessage {
    /// The channel, by name or identifier; the plugin's default when absent.
    #[serde(default)]
    pub channel: Option<String>,
    /// The text, Markdown.
    pub text: String,
    /// Reply in this thread.
    #[serde(default)]
    pub thread_id: Option<String>,
}

/// Input of `send_direct_message`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DirectMessage {
    /// The user, by identifier or email.
    pub user: String,
    /// The text, Markdown.
    pub text: String,
}

/// A message that was sent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Message {
    /// The service's identifier (Slack's `ts`).
    pub id: String,
    /// The channel it went to.
    pub channel: String,
    /// Its text.
    pub text: String,
    /// The thread it is in.
    #[serde(default)]
    pub thread_id: Option<String>,
    /// When it was sent.
    pub sent: DateTime<Utc>,
    /// A link to it.
    #[serde(default)]
    pub url: Option<String>,
}

/// Input of `create_channel`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NewChannel {
    /// Its name.
    pub name: String,
    /// What it is for.
    #[serde(default)]
    pub description: Option<String>,
    /// Whether it is private.
    #[serde(default)]
    pub private: bool,
}

/// Names one channel.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ChannelRef {
    /// The channel, by name or identifier.
    pub channel: String,
}

/// A channel.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Channel {
    /// The service's identifier.
    pub id: String,
    /// Its name.
    pub name: String,
    /// What it is for.
    #[serde(default)]
    pub description: Option<String>,
    /// Whether it is private.
    #[serde(default)]
    pub private: bool,
    /// How many members it has, when known.
    #[serde(default)]
    pub member_count: Option<u64>,
}

/// Names one user.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct UserRef {
    /// The user, by identifier or email.
    pub user: String,
}

/// A user of the chat service.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct User {
    /// The service's identifier.
    pub id: String,
    /// Their handle.
    pub name: String,
    /// Their display name.
    #[serde(default)]
    pub display_name: Option<String>,
    /// Their email, when visible.
    #[serde(default)]
    pub email: Option<String>,
}

/// How a file's `content` is encoded.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ContentEncoding {
    /// UTF-8 text.
    #[default]
    Text,
    /// Base64 of arbitrary bytes.
    Base64,
}

/// Input of `upload_file`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FileUpload {
    /// The channel to share it in; the plugin's default when absent.
    #[serde(default)]
    pub channel: Option<String>,
    /// Its file name.
    pub filename: String,
    /// Its content.
    pub content: String,
    /// How `content` is encoded.
    #[serde(default)]
    pub encoding: ContentEncoding,
    /// A title.
    #[serde(default)]
    pub title: Option<String>,
    /// A message to go with it.
    #[serde(default)]
    pub comment: Option<String>,
}

/// A file that was shared.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct UploadedFile {
    /// The service's identifier.
    pub id: String,
    /// Its file name.
    pub name: String,
    /// The channel it went to.
    pub channel: String,
    /// A link to it.
    #[serde(default)]
    pub url: Option<String>,
}
