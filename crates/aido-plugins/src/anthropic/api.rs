//! The Messages API on the wire: `POST /v1/messages` and `GET /v1/models`.

use aido_plugin_api::model::ai::{Role, TokenUsage};
use aido_plugin_api::{Error, Result, async_trait};
use serde::{Deserialize, Serialize};

use crate::ai_chat::{ChatApi, ChatCall, ChatReply};
use crate::http::HttpClient;

/// The Messages endpoint, relative to the base URL.
const MESSAGES_PATH: &str = "v1/messages";
/// The models endpoint, relative to the base URL.
const MODELS_PATH: &str = "v1/models";

/// The Messages API of one configured account.
#[derive(Debug)]
pub(super) struct MessagesApi {
    pub(super) client: HttpClient,
}

/// `POST /v1/messages`'s body.
#[derive(Debug, Serialize)]
struct MessagesRequest<'a> {
    model: &'a str,
    max_tokens: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    system: Option<&'a str>,
    messages: Vec<WireMessage<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    temperature: Option<f32>,
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    stop_sequences: &'a [String],
}

#[derive(Debug, Serialize)]
struct WireMessage<'a> {
    role: &'static str,
    content: &'a str,
}

/// The parts of the answer the plugin reads; other fields are ignored, as
/// the API adds fields over time.
#[derive(Debug, Deserialize)]
struct MessagesResponse {
    model: String,
    content: Vec<ContentBlock>,
    #[serde(default)]
    stop_reason: Option<String>,
    usage: Usage,
}

#[derive(Debug, Deserialize)]
struct ContentBlock {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    text: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Usage {
    input_tokens: u64,
    output_tokens: u64,
    /// Prompt-cache writes and reads are input tokens too.
    #[serde(default)]
    cache_creation_input_tokens: Option<u64>,
    #[serde(default)]
    cache_read_input_tokens: Option<u64>,
}

#[async_trait]
impl ChatApi for MessagesApi {
    async fn chat(&self, operation: &str, call: &ChatCall) -> Result<ChatReply> {
        let body = MessagesRequest {
            model: &call.model,
            max_tokens: call.max_tokens,
            system: call.system.as_deref(),
            messages: call
                .messages
                .iter()
                .map(|message| WireMessage {
                    role: match message.role {
                        Role::User => "user",
                        Role::Assistant => "assistant",
                    },
                    content: &message.content,
                })
                .collect(),
            temperature: call.temperature,
            stop_sequences: &call.stop,
        };
        let answer: MessagesResponse = self
            .client
            .post(operation, MESSAGES_PATH)
            .json(&body)
            // Creating a message changes nothing on the service: an answer
            // lost to a 5xx, a 529 overload, a timeout or a dropped
            // connection is simply asked for again, as the official SDKs
            // do. The worst case is paying for an answer that never
            // arrived, bounded by `max_retries`.
            .idempotent()
            .send_json()
            .await?;
        let text: Vec<&str> = answer
            .content
            .iter()
            .filter(|block| block.kind == "text")
            .filter_map(|block| block.text.as_deref())
            .collect();
        if text.is_empty() && answer.stop_reason.as_deref() != Some("max_tokens") {
            let kinds: Vec<&str> = answer.content.iter().map(|b| b.kind.as_str()).collect();
            return Err(Error::invalid_response(format!(
                "the answer holds no text block (blocks: [{}], stop reason: {})",
                kinds.join(", "),
                answer.stop_reason.as_deref().unwrap_or("none")
            ))
            .in_call("anthropic", operation));
        }
        let usage = answer.usage;
        Ok(ChatReply {
            text: text.concat(),
            model: answer.model,
            usage: TokenUsage {
                input_tokens: usage.input_tokens
                    + usage.cache_creation_input_tokens.unwrap_or(0)
                    + usage.cache_read_input_tokens.unwrap_or(0),
                output_tokens: usage.output_tokens,
            },
            stop_reason: answer.stop_reason,
        })
    }

    fn enforces_json_schema(&self) -> bool {
        // The 2023-06-01 Messages API has no response schema parameter
        // (structured outputs are a beta behind a header); the schema goes
        // into the system prompt.
        false
    }
}

impl MessagesApi {
    /// Lists the models: free of charge, and it proves the key works.
    pub(super) async fn list_models(&self, timeout: std::time::Duration) -> Result<()> {
        self.client
            .get("health_check", MODELS_PATH)
            .max_retries(0)
            .timeout(timeout)
            .send()
            .await
            .map(|_| ())
    }
}
