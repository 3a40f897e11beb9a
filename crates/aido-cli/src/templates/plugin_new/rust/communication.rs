//! The plugin: channels, messages and files, kept in memory. Replace the
//! bodies with calls to your chat service.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use aido_plugin_api::model::chat::{
    Channel, ChannelRef, DirectMessage, FileUpload, Message, NewChannel, OutgoingMessage,
    UploadedFile, User, UserRef,
};
use aido_plugin_api::{
    CallContext, Communication, ConfigProblem, Error, Health, Plugin, PluginConfig, PluginInstance,
    PluginMetadata, Result, async_trait,
};
use chrono::Utc;

use crate::config::{Config, META};

/// Where messages without a channel go.
const DEFAULT_CHANNEL: &str = "general";

/// The plugin, ready to serve.
pub fn instance() -> PluginInstance {
    PluginInstance::Communication(Arc::new({{struct}}::default()))
}

/// What the plugin keeps.
#[derive(Default)]
struct State {
    prefix: String,
    next: u64,
    channels: Vec<Channel>,
    messages: Vec<Message>,
    files: Vec<UploadedFile>,
    /// Idempotency key → the message or file id made under it.
    made: HashMap<String, String>,
}

impl State {
    fn next_id(&mut self, tag: &str) -> String {
        self.next += 1;
        format!("{}-{tag}{}", self.prefix, self.next)
    }

    fn channel(&mut self, name: &str, description: Option<String>, private: bool) -> Channel {
        if let Some(channel) = self.channels.iter().find(|c| c.id == name) {
            return channel.clone();
        }
        let channel = Channel {
            id: name.to_owned(),
            name: name.to_owned(),
            description,
            private,
            member_count: Some(1),
        };
        self.channels.push(channel.clone());
        channel
    }

    fn known(&self, channel: &str) -> Result<()> {
        if self.channels.iter().any(|c| c.id == channel) {
            Ok(())
        } else {
            Err(Error::not_found(format!("no channel {channel}")))
        }
    }

    /// Posts once per idempotency key.
    fn post(
        &mut self,
        cx: &CallContext,
        channel: String,
        text: String,
        thread_id: Option<String>,
    ) -> Message {
        let made = cx
            .idempotency_key
            .as_ref()
            .and_then(|key| self.made.get(key));
        if let Some(message) = made.and_then(|id| self.messages.iter().find(|m| &m.id == id)) {
            return message.clone();
        }
        let message = Message {
            id: self.next_id(""),
            channel,
            text,
            thread_id,
            sent: Utc::now(),
            url: None,
        };
        if let Some(key) = &cx.idempotency_key {
            self.made.insert(key.clone(), message.id.clone());
        }
        self.messages.push(message.clone());
        message
    }
}

/// A chat in memory.
#[derive(Default)]
pub struct {{struct}} {
    state: Mutex<State>,
}

impl {{struct}} {
    fn state(&self) -> MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[async_trait]
impl Plugin for {{struct}} {
    fn metadata(&self) -> &PluginMetadata {
        &META
    }

    fn validate_config(&self, config: &PluginConfig) -> Vec<ConfigProblem> {
        crate::config::problems(config)
    }

    async fn connect(&self, config: &PluginConfig) -> Result<()> {
        let config: Config = config.parse()?;
        let mut state = self.state();
        state.prefix = config.prefix_or("MSG");
        state.channel(DEFAULT_CHANNEL, None, false);
        Ok(())
    }

    async fn disconnect(&self) -> Result<()> {
        Ok(())
    }

    async fn health_check(&self) -> Health {
        Health::Healthy
    }
}

#[async_trait]
impl Communication for {{struct}} {
    async fn send_message(&self, cx: &CallContext, input: OutgoingMessage) -> Result<Message> {
        let mut state = self.state();
        let channel = input.channel.unwrap_or_else(|| DEFAULT_CHANNEL.to_owned());
        state.known(&channel)?;
        if let Some(thread) = &input.thread_id
            && !state.messages.iter().any(|m| &m.id == thread)
        {
            return Err(Error::not_found(format!("no message {thread} to reply to")));
        }
        Ok(state.post(cx, channel, input.text, input.thread_id))
    }

    async fn send_direct_message(&self, cx: &CallContext, input: DirectMessage) -> Result<Message> {
        let mut state = self.state();
        let channel = state.channel(&format!("dm-{}", input.user), None, true);
        Ok(state.post(cx, channel.id, input.text, None))
    }

    async fn create_channel(&self, _cx: &CallContext, input: NewChannel) -> Result<Channel> {
        Ok(self
            .state()
            .channel(&input.name, input.description, input.private))
    }

    async fn get_channel_info(&self, _cx: &CallContext, input: ChannelRef) -> Result<Channel> {
        let state = self.state();
        state.known(&input.channel)?;
        state
            .channels
            .iter()
            .find(|c| c.id == input.channel)
            .cloned()
            .ok_or_else(|| Error::not_found(format!("no channel {}", input.channel)))
    }

    async fn get_user_info(&self, _cx: &CallContext, input: UserRef) -> Result<User> {
        let email = input.user.contains('@').then(|| input.user.clone());
        Ok(User {
            id: input.user.clone(),
            name: input.user,
            display_name: None,
            email,
        })
    }

    async fn upload_file(&self, cx: &CallContext, input: FileUpload) -> Result<UploadedFile> {
        let mut state = self.state();
        let made = cx
            .idempotency_key
            .as_ref()
            .and_then(|key| state.made.get(key));
        if let Some(file) = made.and_then(|id| state.files.iter().find(|f| &f.id == id)) {
            return Ok(file.clone());
        }
        let channel = input.channel.unwrap_or_else(|| DEFAULT_CHANNEL.to_owned());
        state.known(&channel)?;
        let file = UploadedFile {
            id: state.next_id("F"),
            name: input.filename,
            channel,
            url: None,
        };
        if let Some(key) = &cx.idempotency_key {
            state.made.insert(key.clone(), file.id.clone());
        }
        state.files.push(file.clone());
        Ok(file)
    }
}

#[cfg(test)]
mod tests {
    use aido_plugin_api::{CallContext, ErrorKind, PluginConfig, PluginInstance};
    use serde_json::{Value, json};

    use super::instance;

    /// The plugin, connected, called through the action catalog exactly as
    /// aido calls it.
    async fn connected() -> PluginInstance {
        let plugin = instance();
        let config = PluginConfig::new("communication", json!({}), ".", ".aido");
        plugin.plugin().connect(&config).await.unwrap();
        plugin
    }

    async fn call(plugin: &PluginInstance, action: &str, input: Value) -> Value {
        plugin
            .call(&CallContext::detached(), action, input)
            .await
            .unwrap()
    }

    #[tokio::test]
    async fn messages_threads_and_direct_messages() {
        let plugin = connected().await;
        let message = call(&plugin, "send_message", json!({"text": "Hello"})).await;
        assert_eq!(message["channel"], "general");
        let reply = call(
            &plugin,
            "send_message",
            json!({"text": "Hi", "thread_id": message["id"]}),
        )
        .await;
        assert_eq!(reply["thread_id"], message["id"]);
        let dm = call(
            &plugin,
            "send_direct_message",
            json!({"user": "ana@example.com", "text": "psst"}),
        )
        .await;
        assert_eq!(dm["channel"], "dm-ana@example.com");
    }

    #[tokio::test]
    async fn a_retried_message_is_posted_once() {
        let plugin = connected().await;
        let cx = CallContext::with_idempotency_key("run-1:notify");
        let first = plugin
            .call(&cx, "send_message", json!({"text": "Once"}))
            .await
            .unwrap();
        let second = plugin
            .call(&cx, "send_message", json!({"text": "Once"}))
            .await
            .unwrap();
        assert_eq!(first["id"], second["id"]);
    }

    #[tokio::test]
    async fn channels_and_files() {
        let plugin = connected().await;
        call(&plugin, "create_channel", json!({"name": "releases"})).await;
        let info = call(&plugin, "get_channel_info", json!({"channel": "releases"})).await;
        assert_eq!(info["name"], "releases");
        let file = call(
            &plugin,
            "upload_file",
            json!({"channel": "releases", "filename": "notes.txt", "content": "v1"}),
        )
        .await;
        assert_eq!(file["name"], "notes.txt");
        let err = plugin
            .call(
                &CallContext::detached(),
                "get_channel_info",
                json!({"channel": "nope"}),
            )
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::NotFound);
    }
}
