//! Chat Completions on the wire: `POST <base>/chat/completions` and
//! `GET <base>/models`, where the base URL ends in `/v1`.

use aido_plugin_api::model::ai::{Role, TokenUsage};
use aido_plugin_api::{Error, Result, async_trait};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::ai_chat::{ChatApi, ChatCall, ChatReply};
use crate::ai_pricing::{estimate_message_tokens, estimate_tokens};
use crate::http::HttpClient;

/// The Chat Completions endpoint, relative to the base URL.
const CHAT_PATH: &str = "chat/completions";
/// The models endpoint, relative to the base URL.
const MODELS_PATH: &str = "models";
/// The name given to a request's schema in `response_format`.
const SCHEMA_NAME: &str = "response";

/// The Chat Completions API of one configured server.
#[derive(Debug)]
pub(super) struct ChatCompletionsApi {
    pub(super) client: HttpClient,
    /// Send the limit as `max_completion_tokens` rather than `max_tokens`.
    pub(super) max_completion_tokens: bool,
    /// Send schemas as `response_format`.
    pub(super) structured_output: bool,
}

/// `POST /chat/completions`'s body.
#[derive(Debug, Serialize)]
struct ChatRequest<'a> {
    model: &'a str,
    messages: Vec<WireMessage<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    max_tokens: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    max_completion_tokens: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    temperature: Option<f32>,
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    stop: &'a [String],
    #[serde(skip_serializing_if = "Option::is_none")]
    response_format: Option<Value>,
}

#[derive(Debug, Serialize)]
struct WireMessage<'a> {
    role: &'static str,
    content: &'a str,
}

/// The parts of the answer the plugin reads. Compatible servers differ in
/// what else they send, and some omit `model` or `usage`.
#[derive(Debug, Deserialize)]
struct ChatResponse {
    #[serde(default)]
    model: Option<String>,
    choices: Vec<Choice>,
    #[serde(default)]
    usage: Option<Usage>,
}

#[derive(Debug, Deserialize)]
struct Choice {
    message: ResponseMessage,
    #[serde(default)]
    finish_reason: Option<String>,
}

#[derive(Debug, Deserialize)]
struct ResponseMessage {
    #[serde(default)]
    content: Option<String>,
    #[serde(default)]
    refusal: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Usage {
    prompt_tokens: u64,
    completion_tokens: u64,
}

impl ChatCompletionsApi {
    fn request<'a>(&self, call: &'a ChatCall) -> ChatRequest<'a> {
        let mut messages = Vec::with_capacity(call.messages.len() + 1);
        if let Some(system) = &call.system {
            messages.push(WireMessage {
                role: "system",
                content: system,
            });
        }
        messages.extend(call.messages.iter().map(|message| WireMessage {
            role: match message.role {
                Role::User => "user",
                Role::Assistant => "assistant",
            },
            content: &message.content,
        }));
        let response_format = call
            .json_schema
            .as_ref()
            .filter(|_| self.structured_output)
            .map(|schema| {
                // Not strict: strict mode accepts only a subset of JSON
                // Schema and would refuse many schemas workflows use; the
                // engine validates the answer against the full schema.
                json!({
                    "type": "json_schema",
                    "json_schema": {"name": SCHEMA_NAME, "schema": schema, "strict": false}
                })
            });
        let (max_tokens, max_completion_tokens) = if self.max_completion_tokens {
            (None, Some(call.max_tokens))
        } else {
            (Some(call.max_tokens), None)
        };
        ChatRequest {
            model: &call.model,
            messages,
            max_tokens,
            max_completion_tokens,
            temperature: call.temperature,
            stop: &call.stop,
            response_format,
        }
    }

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

/// Token counts estimated from the conversation, for servers that send
/// none.
fn estimated_usage(call: &ChatCall, text: &str) -> TokenUsage {
    let system = call.system.as_deref().map_or(0, estimate_message_tokens);
    let messages: u64 = call
        .messages
        .iter()
        .map(|message| estimate_message_tokens(&message.content))
        .sum();
    TokenUsage {
        input_tokens: system + messages,
        output_tokens: estimate_tokens(text),
    }
}

#[async_trait]
impl ChatApi for ChatCompletionsApi {
    async fn chat(&self, operation: &str, call: &ChatCall) -> Result<ChatReply> {
        let answer: ChatResponse = self
            .client
            .post(operation, CHAT_PATH)
            .json(&self.request(call))
            // A completion changes nothing on the server: one lost to a
            // 5xx, a timeout or a dropped connection is asked for again, as
            // the official SDKs do. The worst case is paying for an answer
            // that never arrived, bounded by `max_retries`.
            .idempotent()
            .send_json()
            .await?;
        let Some(choice) = answer.choices.into_iter().next() else {
            return Err(
                Error::invalid_response("the answer holds no choices").in_call("openai", operation)
            );
        };
        let (text, stop_reason) = match (choice.message.content, choice.message.refusal) {
            (Some(content), _) => (content, choice.finish_reason),
            // A refusal is an answer, not a failure; the caller sees why.
            (None, Some(refusal)) => (refusal, Some("refusal".to_owned())),
            (None, None) => (String::new(), choice.finish_reason),
        };
        let usage = match answer.usage {
            Some(usage) => TokenUsage {
                input_tokens: usage.prompt_tokens,
                output_tokens: usage.completion_tokens,
            },
            None => {
                tracing::debug!("the server sent no token usage; using estimates");
                estimated_usage(call, &text)
            }
        };
        Ok(ChatReply {
            text,
            model: answer.model.unwrap_or_else(|| call.model.clone()),
            usage,
            stop_reason,
        })
    }

    fn enforces_json_schema(&self) -> bool {
        self.structured_output
    }
}
