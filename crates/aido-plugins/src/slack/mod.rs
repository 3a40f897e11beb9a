//! The `slack` communication plugin: a Slack app's bot through the Web API.
//!
//! # Configuration
//!
//! ```yaml
//! plugins:
//!   communication:
//!     provider: slack
//!     config:
//!       connection:
//!         bot_token: ${SLACK_BOT_TOKEN}   # required; xoxb-...
//!         # base_url: https://slack.com/api
//!       options:
//!         default_channel: dev-team       # name or id
//!         timeout_seconds: 30
//!         max_retries: 3
//!         # rate_limit_per_second: 1
//! ```
//!
//! Environment variables with the prefix `SLACK_` override keys:
//! `SLACK_BOT_TOKEN` sets `connection.bot_token`.
//!
//! # What it does
//!
//! - `send_message`: `chat.postMessage` (`thread_ts` for threads).
//!   Channels are named by id or by name; names are looked up with
//!   `conversations.list`.
//! - `send_direct_message`: the user by id or email
//!   (`users.lookupByEmail`), `conversations.open`, then
//!   `chat.postMessage` to the DM.
//! - `create_channel`: `conversations.create`, then
//!   `conversations.setPurpose` for a description.
//! - `get_channel_info`: `conversations.info` with the member count.
//! - `get_user_info`: `users.info`, or `users.lookupByEmail` for an email.
//! - `upload_file`: the current external upload flow:
//!   `files.getUploadURLExternal` (filename, length), a POST of the bytes
//!   to the upload URL, then `files.completeUploadExternal` sharing it in
//!   the channel with the comment.
//!
//! Slack answers HTTP 200 with `{"ok": false, "error": code}` for most
//! failures; codes are mapped into the taxonomy ([`api::slack_error`]):
//! `invalid_auth`/`not_authed` authentication, `channel_not_found`/
//! `user_not_found` not found, `ratelimited` rate limited, argument
//! problems (`not_in_channel`, `name_taken`...) invalid input. A 429 with
//! `Retry-After` is waited out by the HTTP layer.
//!
//! # Never twice
//!
//! Messages sent with an idempotency key carry it in Slack's message
//! `metadata` (`event_type: aido_message`, `event_payload: {key}`). Before
//! posting, the plugin reads the channel's latest 100 messages (or the
//! thread's replies) with `include_all_metadata` and returns the message
//! already carrying the key instead of posting again. The record lives in
//! Slack itself, so it holds across machines and restarts, with no local
//! file; it costs one read per keyed post. `create_channel` with a key
//! returns the existing channel when the name is taken. `upload_file` is
//! not deduplicated: Slack files carry no metadata.
//!
//! # Health
//!
//! `health_check` calls `auth.test`: free, and proves the token works.

mod api;
mod config;

use std::sync::{Arc, LazyLock};
use std::time::Duration;

use aido_plugin_api::model::chat::{
    Channel, ChannelRef, ContentEncoding, DirectMessage, FileUpload, Message, NewChannel,
    OutgoingMessage, UploadedFile, User, UserRef,
};
use aido_plugin_api::{
    CallContext, Communication, ConfigProblem, Error, ErrorKind, Health, Plugin, PluginConfig,
    PluginFactory, PluginInstance, PluginKind, PluginMetadata, Result, async_trait,
};
use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use self::api::SlackApi;
use self::config::{SlackConfig, check_config};
use crate::connected::Connected;
use crate::console::base64;
use crate::http::{Auth, HttpClient, HttpConfig};

/// The plugin's name in `provider:`.
const NAME: &str = "slack";

/// How long a health check may take.
const HEALTH_TIMEOUT: Duration = Duration::from_secs(10);

/// How many recent messages are searched for an idempotency key.
const KEY_LOOKBACK: &str = "100";

/// The `event_type` of the metadata carrying idempotency keys.
const EVENT_TYPE: &str = "aido_message";

static META: LazyLock<PluginMetadata> = LazyLock::new(|| {
    PluginMetadata::new::<SlackConfig>(
        NAME,
        PluginKind::Communication,
        env!("CARGO_PKG_VERSION"),
        "A Slack app's bot: messages, direct messages, channels, users and files.",
    )
});

/// The `slack` plugin's factory, for the registry.
pub fn factory() -> PluginFactory {
    PluginFactory::new(META.clone(), || {
        PluginInstance::Communication(Arc::new(SlackPlugin::default()))
    })
}

/// The `slack` plugin: unconfigured until `connect`.
#[derive(Debug, Default)]
pub(crate) struct SlackPlugin {
    state: Connected<Workspace>,
}

/// A connected workspace.
#[derive(Debug)]
struct Workspace {
    api: SlackApi,
    default_channel: Option<String>,
}

impl SlackPlugin {
    fn workspace(&self) -> Result<Arc<Workspace>> {
        self.state.get(NAME)
    }
}

fn problems_error(problems: &[ConfigProblem]) -> Error {
    let text: Vec<String> = problems
        .iter()
        .map(|p| format!("{}: {}", p.path, p.message))
        .collect();
    Error::configuration(text.join("; "))
}

/// Whether `text` is a Slack conversation id (`C...`, `G...`, `D...`).
fn is_conversation_id(text: &str) -> bool {
    text.len() >= 9
        && text.starts_with(['C', 'G', 'D'])
        && text
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
}

/// The time of a Slack `ts` (`seconds.micros`).
fn ts_time(ts: &str) -> DateTime<Utc> {
    let (secs, micros) = ts.split_once('.').unwrap_or((ts, "0"));
    let secs = secs.parse::<i64>().unwrap_or(0);
    let nanos = micros.parse::<u32>().unwrap_or(0).min(999_999) * 1000;
    DateTime::from_timestamp(secs, nanos).unwrap_or_else(Utc::now)
}

fn str_field<'a>(value: &'a Value, pointer: &str) -> Option<&'a str> {
    value
        .pointer(pointer)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
}

fn required_str(value: &Value, pointer: &str, method: &str, operation: &str) -> Result<String> {
    str_field(value, pointer).map(str::to_owned).ok_or_else(|| {
        Error::invalid_response(format!(
            "Slack's answer to {method} has no `{}`",
            pointer.trim_start_matches('/').replace('/', ".")
        ))
        .in_call(NAME, operation)
    })
}

fn channel_of(value: &Value) -> Channel {
    Channel {
        id: str_field(value, "/id").unwrap_or_default().to_owned(),
        name: str_field(value, "/name")
            .or_else(|| str_field(value, "/user"))
            .unwrap_or_default()
            .to_owned(),
        description: str_field(value, "/purpose/value").map(str::to_owned),
        private: value
            .get("is_private")
            .and_then(Value::as_bool)
            .unwrap_or(false),
        member_count: value.get("num_members").and_then(Value::as_u64),
    }
}

fn user_of(value: &Value) -> User {
    User {
        id: str_field(value, "/id").unwrap_or_default().to_owned(),
        name: str_field(value, "/name").unwrap_or_default().to_owned(),
        display_name: str_field(value, "/profile/display_name")
            .or_else(|| str_field(value, "/profile/real_name"))
            .or_else(|| str_field(value, "/real_name"))
            .map(str::to_owned),
        email: str_field(value, "/profile/email").map(str::to_owned),
    }
}

impl Workspace {
    /// The id of a channel named by id or name (with or without `#`).
    async fn channel_id(&self, operation: &str, requested: &str) -> Result<String> {
        let name = requested.trim().trim_start_matches('#');
        if is_conversation_id(name) {
            return Ok(name.to_owned());
        }
        let mut cursor = String::new();
        // Pages of 200; a workspace with more than 10,000 channels should
        // name channels by id.
        for _ in 0..50 {
            let page = self
                .api
                .read(
                    operation,
                    "conversations.list",
                    &[
                        ("types", "public_channel,private_channel"),
                        ("exclude_archived", "true"),
                        ("limit", "200"),
                        ("cursor", &cursor),
                    ],
                )
                .await?;
            let channels = page.get("channels").and_then(Value::as_array);
            if let Some(found) = channels
                .into_iter()
                .flatten()
                .find(|c| str_field(c, "/name") == Some(name))
            {
                return required_str(found, "/id", "conversations.list", operation);
            }
            match str_field(&page, "/response_metadata/next_cursor") {
                Some(next) => cursor = next.to_owned(),
                None => break,
            }
        }
        Err(Error::not_found(format!(
            "no channel named #{name} is visible to the bot; invite the app or name the channel \
             by id"
        ))
        .in_call(NAME, operation))
    }

    /// The channel a call names, or the default one.
    async fn target_channel(&self, operation: &str, requested: Option<&str>) -> Result<String> {
        let requested = requested
            .filter(|c| !c.trim().is_empty())
            .or(self.default_channel.as_deref())
            .ok_or_else(|| {
                Error::invalid_input("no channel given and no options.default_channel configured")
                    .in_call(NAME, operation)
            })?;
        self.channel_id(operation, requested).await
    }

    /// The id of a user named by id or email.
    async fn user_id(&self, operation: &str, user: &str) -> Result<String> {
        let user = user.trim();
        if user.contains('@') {
            let found = self
                .api
                .read(operation, "users.lookupByEmail", &[("email", user)])
                .await?;
            required_str(&found, "/user/id", "users.lookupByEmail", operation)
        } else {
            Ok(user.trim_start_matches('@').to_owned())
        }
    }

    /// The message already posted under `key` in `channel` (or in the
    /// thread), if any.
    async fn find_keyed(
        &self,
        operation: &str,
        channel: &str,
        thread: Option<&str>,
        key: &str,
    ) -> Result<Option<Message>> {
        let page = match thread {
            Some(ts) => {
                self.api
                    .read(
                        operation,
                        "conversations.replies",
                        &[
                            ("channel", channel),
                            ("ts", ts),
                            ("limit", KEY_LOOKBACK),
                            ("include_all_metadata", "true"),
                        ],
                    )
                    .await?
            }
            None => {
                self.api
                    .read(
                        operation,
                        "conversations.history",
                        &[
                            ("channel", channel),
                            ("limit", KEY_LOOKBACK),
                            ("include_all_metadata", "true"),
                        ],
                    )
                    .await?
            }
        };
        let found = page
            .get("messages")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .find(|m| {
                str_field(m, "/metadata/event_type") == Some(EVENT_TYPE)
                    && str_field(m, "/metadata/event_payload/key") == Some(key)
            });
        Ok(found.map(|m| {
            let ts = str_field(m, "/ts").unwrap_or_default().to_owned();
            Message {
                sent: ts_time(&ts),
                id: ts,
                channel: channel.to_owned(),
                text: str_field(m, "/text").unwrap_or_default().to_owned(),
                thread_id: thread.map(str::to_owned),
                url: None,
            }
        }))
    }

    /// Posts `text` to `channel`, once per idempotency key.
    async fn post(
        &self,
        cx: &CallContext,
        operation: &str,
        channel: &str,
        text: &str,
        thread: Option<&str>,
    ) -> Result<Message> {
        if text.trim().is_empty() {
            return Err(Error::invalid_input("the message text is empty").in_call(NAME, operation));
        }
        let mut body = json!({"channel": channel, "text": text});
        if let Some(thread) = thread {
            body["thread_ts"] = json!(thread);
        }
        if let Some(key) = &cx.idempotency_key {
            if let Some(earlier) = self.find_keyed(operation, channel, thread, key).await? {
                return Ok(earlier);
            }
            body["metadata"] = json!({"event_type": EVENT_TYPE, "event_payload": {"key": key}});
        }
        let answer = self
            .api
            .write(operation, "chat.postMessage", &body, false)
            .await?;
        let ts = required_str(&answer, "/ts", "chat.postMessage", operation)?;
        Ok(Message {
            sent: ts_time(&ts),
            id: ts,
            channel: str_field(&answer, "/channel").unwrap_or(channel).to_owned(),
            text: str_field(&answer, "/message/text")
                .unwrap_or(text)
                .to_owned(),
            thread_id: thread.map(str::to_owned),
            url: None,
        })
    }

    async fn channel_info(&self, operation: &str, id: &str) -> Result<Channel> {
        let answer = self
            .api
            .read(
                operation,
                "conversations.info",
                &[("channel", id), ("include_num_members", "true")],
            )
            .await?;
        let channel = answer.get("channel").ok_or_else(|| {
            Error::invalid_response("Slack's answer to conversations.info has no `channel`")
                .in_call(NAME, operation)
        })?;
        Ok(channel_of(channel))
    }
}

#[async_trait]
impl Plugin for SlackPlugin {
    fn metadata(&self) -> &PluginMetadata {
        &META
    }

    fn validate_config(&self, config: &PluginConfig) -> Vec<ConfigProblem> {
        match config.parse::<SlackConfig>() {
            Ok(parsed) => check_config(&parsed),
            Err(err) => vec![ConfigProblem::new("", err.message())],
        }
    }

    async fn connect(&self, config: &PluginConfig) -> Result<()> {
        let parsed: SlackConfig = config.parse()?;
        let problems = check_config(&parsed);
        if !problems.is_empty() {
            return Err(problems_error(&problems));
        }
        let options = &parsed.options;
        let timeout = Duration::from_secs(options.timeout_seconds.max(1));
        let connect_timeout = timeout.min(Duration::from_secs(10));
        let client = HttpClient::new(
            HttpConfig::new(NAME, &parsed.connection.base_url)
                .auth(Auth::Bearer(parsed.connection.bot_token.clone()))
                .timeouts(connect_timeout, timeout)
                .max_retries(options.max_retries)
                .rate_limit(options.rate_limit_per_second),
        )?;
        let upload = reqwest::Client::builder()
            .connect_timeout(connect_timeout)
            .build()
            .map_err(|_| Error::configuration("could not build the HTTP client for uploads"))?;
        self.state.set(Workspace {
            api: SlackApi {
                client,
                upload,
                upload_timeout: timeout.max(Duration::from_secs(60)),
            },
            default_channel: options.default_channel.clone(),
        });
        Ok(())
    }

    async fn disconnect(&self) -> Result<()> {
        self.state.clear();
        Ok(())
    }

    async fn health_check(&self) -> Health {
        let workspace = match self.workspace() {
            Ok(workspace) => workspace,
            Err(err) => return Health::Unhealthy(err.message().to_owned()),
        };
        let answer = workspace
            .api
            .client
            .post("health_check", "auth.test")
            .max_retries(0)
            .timeout(HEALTH_TIMEOUT)
            .send_json::<Value>()
            .await
            .and_then(|value| match value.get("ok").and_then(Value::as_bool) {
                Some(true) => Ok(()),
                _ => Err(api::slack_error(
                    "auth.test",
                    str_field(&value, "/error").unwrap_or("unknown_error"),
                )),
            });
        match answer {
            Ok(()) => Health::Healthy,
            Err(err) if err.kind() == ErrorKind::RateLimited => {
                Health::Degraded(format!("rate limited right now: {}", err.message()))
            }
            Err(err) => Health::Unhealthy(err.message().to_owned()),
        }
    }
}

#[async_trait]
impl Communication for SlackPlugin {
    async fn send_message(&self, cx: &CallContext, input: OutgoingMessage) -> Result<Message> {
        const OP: &str = "send_message";
        let workspace = self.workspace()?;
        let channel = workspace
            .target_channel(OP, input.channel.as_deref())
            .await?;
        workspace
            .post(cx, OP, &channel, &input.text, input.thread_id.as_deref())
            .await
    }

    async fn send_direct_message(&self, cx: &CallContext, input: DirectMessage) -> Result<Message> {
        const OP: &str = "send_direct_message";
        let workspace = self.workspace()?;
        let user = workspace.user_id(OP, &input.user).await?;
        // Opening a DM that is open already is a no-op, so it may repeat.
        let opened = workspace
            .api
            .write(OP, "conversations.open", &json!({"users": user}), true)
            .await?;
        let channel = required_str(&opened, "/channel/id", "conversations.open", OP)?;
        workspace.post(cx, OP, &channel, &input.text, None).await
    }

    async fn create_channel(&self, cx: &CallContext, input: NewChannel) -> Result<Channel> {
        const OP: &str = "create_channel";
        let workspace = self.workspace()?;
        let name = input.name.trim().trim_start_matches('#').to_owned();
        let created = workspace
            .api
            .write(
                OP,
                "conversations.create",
                &json!({"name": name, "is_private": input.private}),
                false,
            )
            .await;
        let id = match created {
            Ok(answer) => required_str(&answer, "/channel/id", "conversations.create", OP)?,
            Err(err)
                if cx.idempotency_key.is_some()
                    && err.kind() == ErrorKind::InvalidInput
                    && err.message().contains("`name_taken`") =>
            {
                // A retry of this step: the channel exists; return it.
                let id = workspace.channel_id(OP, &name).await?;
                return workspace.channel_info(OP, &id).await;
            }
            Err(err) => return Err(err),
        };
        if let Some(purpose) = input
            .description
            .as_deref()
            .filter(|d| !d.trim().is_empty())
        {
            workspace
                .api
                .write(
                    OP,
                    "conversations.setPurpose",
                    &json!({"channel": id, "purpose": purpose}),
                    true,
                )
                .await?;
        }
        workspace.channel_info(OP, &id).await
    }

    async fn get_channel_info(&self, _cx: &CallContext, input: ChannelRef) -> Result<Channel> {
        const OP: &str = "get_channel_info";
        let workspace = self.workspace()?;
        let id = workspace.channel_id(OP, &input.channel).await?;
        workspace.channel_info(OP, &id).await
    }

    async fn get_user_info(&self, _cx: &CallContext, input: UserRef) -> Result<User> {
        const OP: &str = "get_user_info";
        let workspace = self.workspace()?;
        let user = input.user.trim();
        let answer = if user.contains('@') {
            workspace
                .api
                .read(OP, "users.lookupByEmail", &[("email", user)])
                .await?
        } else {
            workspace
                .api
                .read(OP, "users.info", &[("user", user.trim_start_matches('@'))])
                .await?
        };
        let found = answer.get("user").ok_or_else(|| {
            Error::invalid_response("Slack's answer has no `user`").in_call(NAME, OP)
        })?;
        Ok(user_of(found))
    }

    async fn upload_file(&self, _cx: &CallContext, input: FileUpload) -> Result<UploadedFile> {
        const OP: &str = "upload_file";
        let workspace = self.workspace()?;
        let bytes = match input.encoding {
            ContentEncoding::Text => input.content.into_bytes(),
            ContentEncoding::Base64 => base64::decode(&input.content).map_err(|err| {
                Error::invalid_input(format!(
                    "the content of {} is not valid base64: {err}",
                    input.filename
                ))
                .in_call(NAME, OP)
            })?,
        };
        if bytes.is_empty() {
            return Err(Error::invalid_input(format!(
                "{} is empty; Slack does not take empty files",
                input.filename
            ))
            .in_call(NAME, OP));
        }
        let channel = workspace
            .target_channel(OP, input.channel.as_deref())
            .await?;
        let length = bytes.len().to_string();
        // Reserving an upload URL has no effect until completed: safe to
        // repeat.
        let ticket = workspace
            .api
            .read(
                OP,
                "files.getUploadURLExternal",
                &[("filename", &input.filename), ("length", &length)],
            )
            .await?;
        let url = required_str(&ticket, "/upload_url", "files.getUploadURLExternal", OP)?;
        let file_id = required_str(&ticket, "/file_id", "files.getUploadURLExternal", OP)?;
        workspace.api.upload_bytes(OP, &url, bytes).await?;
        let title = input
            .title
            .clone()
            .unwrap_or_else(|| input.filename.clone());
        let mut body = json!({
            "files": [{"id": file_id, "title": title}],
            "channel_id": channel,
        });
        if let Some(comment) = input.comment.as_deref().filter(|c| !c.trim().is_empty()) {
            body["initial_comment"] = json!(comment);
        }
        let done = workspace
            .api
            .write(OP, "files.completeUploadExternal", &body, false)
            .await?;
        Ok(UploadedFile {
            id: str_field(&done, "/files/0/id")
                .unwrap_or(&file_id)
                .to_owned(),
            name: input.filename,
            channel,
            url: str_field(&done, "/files/0/permalink").map(str::to_owned),
        })
    }
}

#[cfg(test)]
mod tests;
