//! The `webhook` communication plugin: posts messages to a Slack, Discord
//! or Microsoft Teams incoming webhook.
//!
//! # Configuration
//!
//! ```yaml
//! plugins:
//!   communication:
//!     provider: webhook
//!     config:
//!       connection:
//!         url: ${WEBHOOK_URL}        # the hook's URL; secret, it holds the token
//!       options:
//!         format: auto               # auto | slack | discord | teams
//!         channel: dev-team          # the channel the hook posts to
//! ```
//!
//! The URL embeds the hook's token, so it is a secret: it is never logged,
//! never shown in an error (a request is shown as `https://host/[redacted]`)
//! and never written anywhere.
//!
//! # What it can do
//!
//! An incoming webhook posts to the one channel it was made for, and
//! nothing else:
//!
//! - `send_message` posts the text in the service's format ([`mod@format`]),
//!   cut with a note past the service's length limit. Naming another
//!   channel than `options.channel` is an error rather than a post to the
//!   wrong place.
//! - `upload_file` posts a text file (UTF-8, at most the service's message
//!   length) as a code block; other files are `unsupported`.
//! - `get_channel_info` describes the configured channel.
//! - `send_direct_message`, `create_channel` and `get_user_info` are
//!   `unsupported`, with a message saying why.
//!
//! Posts are retried only when they certainly did not arrive: a 429
//! (after the delay the service asks for) and a connection that never
//! opened. A post that got a 5xx, timed out or lost its connection is not
//! repeated, since it may have been posted.
//!
//! # Never twice
//!
//! Calls with an idempotency key are recorded in
//! `<data_dir>/webhook-sent.jsonl` ([`sent_log`]): a key already posted
//! returns the recorded message without posting again, also from a new
//! process resuming the run.

mod config;
mod format;
mod sent_log;

use std::sync::{Arc, LazyLock};
use std::time::Duration;

use aido_plugin_api::model::chat::{
    Channel, ChannelRef, ContentEncoding, DirectMessage, FileUpload, Message, NewChannel,
    OutgoingMessage, UploadedFile, User, UserRef,
};
use aido_plugin_api::{
    CallContext, Communication, ConfigProblem, Error, Health, Plugin, PluginConfig, PluginFactory,
    PluginInstance, PluginKind, PluginMetadata, Result, async_trait,
};
use chrono::Utc;

use self::config::{WebhookConfig, check_config, infer_format, normalize_channel};
use self::format::{Service, file_message, fit};
use self::sent_log::{Kind, Record, SentLog, State};
use crate::connected::Connected;
use crate::console::base64;
use crate::http::{Delivery, HttpClient, HttpConfig, delivery_of};

/// The plugin's name in `provider:`.
const NAME: &str = "webhook";

static META: LazyLock<PluginMetadata> = LazyLock::new(|| {
    PluginMetadata::new::<WebhookConfig>(
        NAME,
        PluginKind::Communication,
        env!("CARGO_PKG_VERSION"),
        "Posts messages to a Slack, Discord or Microsoft Teams incoming webhook.",
    )
});

/// The `webhook` plugin's factory, for the registry.
pub fn factory() -> PluginFactory {
    PluginFactory::new(META.clone(), || {
        PluginInstance::Communication(Arc::new(WebhookPlugin::default()))
    })
}

/// The `webhook` plugin: unconfigured until `connect`.
#[derive(Debug, Default)]
pub(crate) struct WebhookPlugin {
    state: Connected<Hook>,
}

/// A connected hook.
#[derive(Debug)]
struct Hook {
    client: HttpClient,
    service: Service,
    channel: String,
    log: SentLog,
}

/// A post to make.
struct Draft {
    kind: Kind,
    text: String,
    thread_id: Option<String>,
    /// For files: the name and title reported back.
    file_name: Option<String>,
}

impl WebhookPlugin {
    fn hook(&self) -> Result<Arc<Hook>> {
        self.state.get(NAME)
    }
}

/// Runs blocking file work off the async runtime.
async fn blocking<T: Send + 'static>(
    what: &'static str,
    work: impl FnOnce() -> std::io::Result<T> + Send + 'static,
) -> Result<T> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|err| Error::other(format!("{what} stopped: {err}")))?
        .map_err(|err| Error::other(format!("could not {what}: {err}")).with_source(err))
}

/// An id for a message the service gave none: unique and sortable.
fn new_message_id() -> String {
    static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    format!("{}-{n}", Utc::now().timestamp_micros())
}

impl Hook {
    /// The channel a call names, which must be the hook's own.
    fn check_channel(&self, requested: Option<&str>) -> Result<()> {
        match requested.map(normalize_channel) {
            Some(name) if name != self.channel => Err(Error::invalid_input(format!(
                "this webhook posts only to #{}, not #{name}; leave `channel` out or configure \
                 another webhook for #{name}",
                self.channel
            ))),
            _ => Ok(()),
        }
    }

    /// Posts `draft`, or returns what an earlier call with the same
    /// idempotency key posted.
    async fn post(&self, cx: &CallContext, draft: Draft) -> Result<Record> {
        let Some(key) = cx.idempotency_key.clone() else {
            return self.deliver(draft, None).await;
        };
        let log = self.log.clone();
        let lock = blocking("lock the webhook record", move || log.lock()).await?;
        let log = self.log.clone();
        let lookup_key = key.clone();
        let earlier = blocking("read the webhook record", move || log.last(&lookup_key)).await?;
        match earlier {
            Some(record) if record.kind != draft.kind => {
                return Err(Error::invalid_input(format!(
                    "idempotency key `{key}` was already used for another kind of post"
                )));
            }
            Some(record) if record.state == State::Sent => return Ok(record),
            Some(record) if record.state == State::Pending => {
                tracing::warn!(
                    "an earlier post with idempotency key `{key}` may have reached {}; not \
                     posting again",
                    self.service.name()
                );
                return Ok(record);
            }
            _ => {}
        }
        let mut pending = self.record_of(&draft, &key, cx, new_message_id());
        pending.state = State::Pending;
        self.append(pending.clone()).await?;
        let result = self.deliver(draft, Some(pending.message.id.clone())).await;
        let outcome = match result {
            Ok(mut sent) => {
                sent.key = key;
                sent.run_id = cx.run_id.clone();
                sent.state = State::Sent;
                self.append(sent.clone()).await.map(|()| sent)
            }
            Err(err) => {
                let certainly_not_posted = matches!(
                    delivery_of(&err),
                    Some(Delivery::NotSent | Delivery::Answered(_))
                );
                if certainly_not_posted {
                    pending.state = State::Failed;
                    self.append(pending).await?;
                }
                Err(err)
            }
        };
        drop(lock);
        outcome
    }

    async fn append(&self, record: Record) -> Result<()> {
        let log = self.log.clone();
        blocking("write the webhook record", move || log.append(&record)).await
    }

    /// The record of `draft` posted as message `id`.
    fn record_of(&self, draft: &Draft, key: &str, cx: &CallContext, id: String) -> Record {
        let message = Message {
            id: id.clone(),
            channel: self.channel.clone(),
            text: draft.text.clone(),
            thread_id: draft.thread_id.clone(),
            sent: Utc::now(),
            url: None,
        };
        let file = draft.file_name.as_ref().map(|name| UploadedFile {
            id,
            name: name.clone(),
            channel: self.channel.clone(),
            url: None,
        });
        Record {
            key: key.to_owned(),
            state: State::Sent,
            kind: draft.kind,
            message,
            file,
            run_id: cx.run_id.clone(),
        }
    }

    /// Sends `draft` to the service. `id` is the id to report when the
    /// service gives none.
    async fn deliver(&self, draft: Draft, id: Option<String>) -> Result<Record> {
        let operation = match draft.kind {
            Kind::Message => "send_message",
            Kind::File => "upload_file",
        };
        let (text, cut) = fit(&draft.text, self.service.max_chars());
        if cut {
            tracing::warn!(
                "a message of {} characters was cut to {}'s limit of {}",
                draft.text.chars().count(),
                self.service.name(),
                self.service.max_chars()
            );
        }
        let payload = self
            .service
            .payload(&text, draft.thread_id.as_deref())
            .map_err(|err| err.in_call(NAME, operation))?;
        let mut request = self.client.post(operation, "").json(&payload);
        for (name, value) in self.service.query(draft.thread_id.as_deref()) {
            request = request.query(name, &value);
        }
        let answer = request.send().await?;
        let id = self
            .service
            .message_id(answer.body())
            .or(id)
            .unwrap_or_else(new_message_id);
        let mut record = self.record_of(&draft, "", &CallContext::detached(), id);
        // Report what was posted, which may be the cut text.
        record.message.text = text;
        Ok(record)
    }
}

/// A file's content as text, if it is text.
fn file_text(upload: &FileUpload) -> Result<String> {
    let bytes = match upload.encoding {
        ContentEncoding::Text => return Ok(upload.content.clone()),
        ContentEncoding::Base64 => base64::decode(&upload.content).map_err(|err| {
            Error::invalid_input(format!(
                "the content of {} is not valid base64: {err}",
                upload.filename
            ))
        })?,
    };
    match String::from_utf8(bytes) {
        Ok(text) if !text.contains('\0') => Ok(text),
        _ => Err(Error::unsupported(format!(
            "{} is not a text file; an incoming webhook can only post text, so binary files \
             cannot be shared through it",
            upload.filename
        ))),
    }
}

#[async_trait]
impl Plugin for WebhookPlugin {
    fn metadata(&self) -> &PluginMetadata {
        &META
    }

    fn validate_config(&self, config: &PluginConfig) -> Vec<ConfigProblem> {
        match config.parse::<WebhookConfig>() {
            Ok(parsed) => check_config(&parsed),
            Err(err) => vec![ConfigProblem::new("", err.message())],
        }
    }

    async fn connect(&self, config: &PluginConfig) -> Result<()> {
        let parsed: WebhookConfig = config.parse()?;
        let problems = check_config(&parsed);
        if !problems.is_empty() {
            let text: Vec<String> = problems
                .iter()
                .map(|p| format!("{}: {}", p.path, p.message))
                .collect();
            return Err(Error::configuration(text.join("; ")));
        }
        let url = &parsed.connection.url;
        let options = &parsed.options;
        let service = Service::of(options.format)
            .or_else(|| infer_format(url.expose()).and_then(Service::of))
            .ok_or_else(|| Error::configuration("options.format: set slack, discord or teams"))?;
        let timeout = Duration::from_secs(options.timeout_seconds.max(1));
        let client = HttpClient::new(
            HttpConfig::with_secret_url(NAME, url)
                .timeouts(timeout.min(Duration::from_secs(10)), timeout)
                .max_retries(options.max_retries),
        )?;
        self.state.set(Hook {
            client,
            service,
            channel: normalize_channel(&options.channel),
            log: SentLog::new(config.data_dir()),
        });
        Ok(())
    }

    async fn disconnect(&self) -> Result<()> {
        self.state.clear();
        Ok(())
    }

    async fn health_check(&self) -> Health {
        // An incoming webhook has no free check: the only request it takes
        // is a post, which would put a message in the channel. A configured
        // and connected hook is as healthy as can be known without one.
        match self.hook() {
            Ok(_) => Health::Healthy,
            Err(err) => Health::Unhealthy(err.message().to_owned()),
        }
    }
}

#[async_trait]
impl Communication for WebhookPlugin {
    async fn send_message(&self, cx: &CallContext, input: OutgoingMessage) -> Result<Message> {
        let hook = self.hook()?;
        hook.check_channel(input.channel.as_deref())?;
        if input.text.trim().is_empty() {
            return Err(Error::invalid_input("the message text is empty"));
        }
        let draft = Draft {
            kind: Kind::Message,
            text: input.text,
            thread_id: input.thread_id,
            file_name: None,
        };
        Ok(hook.post(cx, draft).await?.message)
    }

    async fn send_direct_message(
        &self,
        _cx: &CallContext,
        _input: DirectMessage,
    ) -> Result<Message> {
        self.hook()?;
        Err(Error::unsupported(
            "an incoming webhook posts to one channel and cannot send direct messages; use a \
             chat plugin with a bot token for that",
        ))
    }

    async fn create_channel(&self, _cx: &CallContext, _input: NewChannel) -> Result<Channel> {
        self.hook()?;
        Err(Error::unsupported(
            "an incoming webhook cannot create channels; create the channel in the chat \
             service and a webhook for it",
        ))
    }

    async fn get_channel_info(&self, _cx: &CallContext, input: ChannelRef) -> Result<Channel> {
        let hook = self.hook()?;
        let name = normalize_channel(&input.channel);
        if name != hook.channel {
            return Err(Error::not_found(format!(
                "this webhook knows only its own channel #{}, not #{name}",
                hook.channel
            )));
        }
        Ok(Channel {
            id: hook.channel.clone(),
            name: hook.channel.clone(),
            description: Some(format!("{} incoming webhook", hook.service.name())),
            private: false,
            member_count: None,
        })
    }

    async fn get_user_info(&self, _cx: &CallContext, _input: UserRef) -> Result<User> {
        self.hook()?;
        Err(Error::unsupported(
            "an incoming webhook cannot look up users",
        ))
    }

    async fn upload_file(&self, cx: &CallContext, input: FileUpload) -> Result<UploadedFile> {
        let hook = self.hook()?;
        hook.check_channel(input.channel.as_deref())?;
        let content = file_text(&input)?;
        let text = file_message(
            &input.filename,
            input.title.as_deref(),
            input.comment.as_deref(),
            &content,
        );
        let limit = hook.service.max_chars();
        if text.chars().count() > limit {
            return Err(Error::unsupported(format!(
                "{} is too large to post as a message ({} characters with its block; {} takes \
                 at most {limit}); an incoming webhook cannot upload files",
                input.filename,
                text.chars().count(),
                hook.service.name()
            )));
        }
        let draft = Draft {
            kind: Kind::File,
            text,
            thread_id: None,
            file_name: Some(input.filename.clone()),
        };
        let record = hook.post(cx, draft).await?;
        record
            .file
            .ok_or_else(|| Error::other(format!("message {} records no file", record.message.id)))
    }
}

#[cfg(test)]
mod tests;
