//! An emulator of Anthropic's Messages API.
//!
//! Routes, with the shapes of the published API reference:
//!
//! - `POST /v1/messages` ([`MESSAGES`]): headers `x-api-key` and
//!   `anthropic-version`; body `{model, max_tokens, messages: [{role,
//!   content}], system?, temperature?, stop_sequences?}` where `content` is
//!   a string or a list of `{type: "text", text}` blocks. The answer is
//!   `{id: "msg_...", type: "message", role: "assistant", model, content:
//!   [{type: "text", text}], stop_reason, stop_sequence, usage:
//!   {input_tokens, output_tokens}}`, with `stop_reason` `end_turn`,
//!   `max_tokens` (the reply was cut at `max_tokens`) or `stop_sequence`
//!   (cut at one of `stop_sequences`).
//! - `GET /v1/models` ([`MODELS`]): `{data: [{type: "model", id,
//!   display_name, created_at}], has_more, first_id, last_id}`.
//!
//! Errors have the API's shape, `{type: "error", error: {type, message},
//! request_id}`: 401 `authentication_error` for a missing or wrong key, 400
//! `invalid_request_error` for a missing `anthropic-version` or a body that
//! does not fit, and through faults 429 `rate_limit_error`
//! ([`rate_limit_error`]), 529 `overloaded_error` ([`overloaded_error`]) and
//! 500 `api_error` ([`api_error`]).
//!
//! Replies are scripted with [`AnthropicEmulator::push_reply`]; without a
//! script the emulator answers with a sentence quoting the last user
//! message. Token counts are one per four characters unless scripted.

use std::collections::VecDeque;
use std::io;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::{ConnectInfo, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use serde_json::{Value, json};

use crate::faults::{Fault, admit, plain};
use crate::incoming::Incoming;
use crate::options::EmulatorOptions;
use crate::recorder::{RecordedRequest, Recorder, lock};
use crate::server::{Connection, Server};
use crate::synth;

/// The Messages route, for [`AnthropicEmulator::push_fault`].
pub const MESSAGES: &str = "/v1/messages";
/// The models route, for [`AnthropicEmulator::push_fault`].
pub const MODELS: &str = "/v1/models";

/// The API version the emulator speaks.
pub const API_VERSION: &str = "2023-06-01";

/// The models `GET /v1/models` lists.
const LISTED_MODELS: &[(&str, &str)] = &[
    ("claude-sonnet-4-5-20250929", "Claude Sonnet 4.5"),
    ("claude-haiku-4-5-20251001", "Claude Haiku 4.5"),
    ("claude-opus-4-1-20250805", "Claude Opus 4.1"),
];

/// A scripted answer to one `POST /v1/messages`.
#[derive(Debug, Clone, PartialEq)]
pub struct AnthropicReply {
    text: String,
    usage: Option<(u64, u64)>,
    stop_reason: Option<String>,
}

impl AnthropicReply {
    /// A reply saying `text`.
    pub fn text(text: impl Into<String>) -> Self {
        AnthropicReply {
            text: text.into(),
            usage: None,
            stop_reason: None,
        }
    }

    /// Reports these token counts instead of the estimate.
    pub fn usage(mut self, input_tokens: u64, output_tokens: u64) -> Self {
        self.usage = Some((input_tokens, output_tokens));
        self
    }

    /// Reports this stop reason instead of the one the emulator works out.
    pub fn stop_reason(mut self, reason: impl Into<String>) -> Self {
        self.stop_reason = Some(reason.into());
        self
    }
}

/// A running emulator of the Anthropic API. Stops when dropped.
#[derive(Debug)]
pub struct AnthropicEmulator {
    server: Server,
    state: Arc<AnthropicState>,
}

#[derive(Debug)]
struct AnthropicState {
    recorder: Recorder,
    api_key: String,
    replies: Mutex<VecDeque<AnthropicReply>>,
}

impl AnthropicEmulator {
    /// Starts an emulator on a free loopback port with a generated key.
    pub async fn start() -> io::Result<Self> {
        AnthropicEmulator::start_with(EmulatorOptions::default()).await
    }

    /// Starts an emulator as `options` say. The API always needs a key, so
    /// [`crate::ApiKey::NotRequired`] gets a generated one.
    pub async fn start_with(options: EmulatorOptions) -> io::Result<Self> {
        let api_key = options
            .resolve_key("sk-ant-", false)
            .unwrap_or_else(|| synth::api_key("sk-ant-"));
        let state = Arc::new(AnthropicState {
            recorder: Recorder::default(),
            api_key,
            replies: Mutex::new(VecDeque::new()),
        });
        let router = Router::new()
            .route(MESSAGES, post(messages))
            .route(MODELS, get(models))
            .with_state(Arc::clone(&state));
        let server = Server::start(options.addr, router).await?;
        Ok(AnthropicEmulator { server, state })
    }

    /// The base URL to configure a client with (`http://127.0.0.1:<port>`).
    pub fn base_url(&self) -> String {
        self.server.root_url()
    }

    /// The address it listens on.
    pub fn addr(&self) -> std::net::SocketAddr {
        self.server.addr()
    }

    /// The key requests must send in `x-api-key`.
    pub fn api_key(&self) -> &str {
        &self.state.api_key
    }

    /// Every request received so far, faulted or not, oldest first.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.state.recorder.requests()
    }

    /// Queues the answer to the next served `POST /v1/messages`.
    pub fn push_reply(&self, reply: AnthropicReply) {
        lock(&self.state.replies).push_back(reply);
    }

    /// Queues a fault for the next request to `route` ([`MESSAGES`],
    /// [`MODELS`]).
    pub fn push_fault(&self, route: &str, fault: Fault) {
        self.state.recorder.push_fault(route, fault);
    }

    /// Queues the same fault for the next `count` requests to `route`.
    pub fn push_faults(&self, route: &str, fault: Fault, count: usize) {
        for _ in 0..count {
            self.push_fault(route, fault.clone());
        }
    }

    /// Forgets requests, faults and replies.
    pub fn reset(&self) {
        self.state.recorder.reset();
        lock(&self.state.replies).clear();
    }
}

/// An error body of the API: `{type: "error", error: {type, message},
/// request_id}`.
pub fn error_body(error_type: &str, message: &str) -> Value {
    json!({
        "type": "error",
        "error": {"type": error_type, "message": message},
        "request_id": synth::id("req_"),
    })
}

/// A 429 `rate_limit_error` asking to wait `retry_after` (as
/// `retry-after` seconds, rounded up, and the RFC 3339 reset of the
/// exhausted request limit).
pub fn rate_limit_error(retry_after: Duration) -> Fault {
    let secs = retry_after.as_secs() + u64::from(retry_after.subsec_nanos() > 0);
    Fault::json(
        429,
        &error_body(
            "rate_limit_error",
            "This request would exceed the rate limit for your organization of 50 requests per \
             minute. Please try again later.",
        ),
    )
    .with_header("retry-after", &secs.to_string())
    .with_header("anthropic-ratelimit-requests-limit", "50")
    .with_header("anthropic-ratelimit-requests-remaining", "0")
    .with_header("request-id", &synth::id("req_"))
}

/// A 529 `overloaded_error`.
pub fn overloaded_error() -> Fault {
    Fault::json(529, &error_body("overloaded_error", "Overloaded"))
}

/// A 500 `api_error`.
pub fn api_error() -> Fault {
    Fault::json(
        500,
        &error_body(
            "api_error",
            "An unexpected error has occurred internal to Anthropic's systems.",
        ),
    )
}

fn error(status: StatusCode, error_type: &str, message: &str) -> Response {
    let mut response = plain(
        status,
        &error_body(error_type, message).to_string(),
        "application/json",
    );
    if let Ok(value) = synth::id("req_").parse() {
        response.headers_mut().insert("request-id", value);
    }
    response
}

fn invalid_request(message: &str) -> Response {
    error(StatusCode::BAD_REQUEST, "invalid_request_error", message)
}

/// Checks the key: the API's 401 answer for a missing or wrong one.
fn check_key(state: &AnthropicState, request: &Incoming) -> Option<Response> {
    match request.header("x-api-key") {
        None => Some(error(
            StatusCode::UNAUTHORIZED,
            "authentication_error",
            "x-api-key header is required",
        )),
        Some(key) if key != state.api_key => Some(error(
            StatusCode::UNAUTHORIZED,
            "authentication_error",
            "invalid x-api-key",
        )),
        Some(_) => None,
    }
}

async fn messages(
    State(state): State<Arc<AnthropicState>>,
    ConnectInfo(connection): ConnectInfo<Connection>,
    request: Incoming,
) -> Response {
    if let Some(answer) = admit(&state.recorder, MESSAGES, &connection, &request).await {
        return answer;
    }
    if let Some(answer) = check_key(&state, &request) {
        return answer;
    }
    if request.header("anthropic-version").is_none() {
        return invalid_request("anthropic-version: header is required");
    }
    let body: Value = match serde_json::from_slice(&request.body) {
        Ok(body) => body,
        Err(err) => return invalid_request(&format!("The request body is not valid JSON: {err}")),
    };
    let parsed = match parse_request(&body) {
        Ok(parsed) => parsed,
        Err(message) => return invalid_request(&message),
    };
    let reply = lock(&state.replies).pop_front();
    plain(
        StatusCode::OK,
        &answer(&parsed, reply).to_string(),
        "application/json",
    )
}

/// The parts of a Messages request the emulator acts on.
struct MessagesRequest {
    model: String,
    max_tokens: u64,
    texts: Vec<String>,
    last_user: String,
    stop_sequences: Vec<String>,
}

/// Validates a request as the API does, with its wording of problems.
fn parse_request(body: &Value) -> Result<MessagesRequest, String> {
    let object = body
        .as_object()
        .ok_or("The request body must be a JSON object")?;
    let model = match object.get("model") {
        Some(Value::String(model)) if !model.is_empty() => model.clone(),
        Some(_) => return Err("model: Input should be a valid string".into()),
        None => return Err("model: Field required".into()),
    };
    let max_tokens = match object.get("max_tokens") {
        Some(value) => match value.as_u64() {
            Some(n) if n >= 1 => n,
            _ => return Err("max_tokens: Input should be greater than or equal to 1".into()),
        },
        None => return Err("max_tokens: Field required".into()),
    };
    let messages = match object.get("messages") {
        Some(Value::Array(messages)) if !messages.is_empty() => messages,
        Some(Value::Array(_)) => return Err("messages: at least one message is required".into()),
        Some(_) => return Err("messages: Input should be a valid list".into()),
        None => return Err("messages: Field required".into()),
    };
    let mut texts = Vec::new();
    if let Some(system) = object.get("system") {
        texts.push(content_text(system).ok_or("system: Input should be a valid string")?);
    }
    let mut last_user = String::new();
    for (index, message) in messages.iter().enumerate() {
        let role = message.get("role").and_then(Value::as_str);
        if !matches!(role, Some("user" | "assistant")) {
            return Err(format!(
                "messages.{index}.role: Input should be 'user' or 'assistant'"
            ));
        }
        let text = message
            .get("content")
            .and_then(content_text)
            .ok_or_else(|| format!("messages.{index}.content: Field required"))?;
        if role == Some("user") {
            last_user = text.clone();
        }
        texts.push(text);
    }
    if let Some(temperature) = object.get("temperature") {
        match temperature.as_f64() {
            Some(t) if (0.0..=1.0).contains(&t) => {}
            _ => return Err("temperature: Input should be less than or equal to 1".into()),
        }
    }
    let stop_sequences = match object.get("stop_sequences") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(stops)) => stops
            .iter()
            .map(|stop| stop.as_str().map(str::to_owned))
            .collect::<Option<Vec<_>>>()
            .ok_or("stop_sequences: Input should be a valid list of strings")?,
        Some(_) => return Err("stop_sequences: Input should be a valid list".into()),
    };
    Ok(MessagesRequest {
        model,
        max_tokens,
        texts,
        last_user,
        stop_sequences,
    })
}

/// The text of a `content` (or `system`): a string, or text blocks.
fn content_text(content: &Value) -> Option<String> {
    match content {
        Value::String(text) => Some(text.clone()),
        Value::Array(blocks) => Some(
            blocks
                .iter()
                .filter_map(|block| block.get("text").and_then(Value::as_str))
                .collect::<Vec<_>>()
                .join("\n"),
        ),
        _ => None,
    }
}

/// The answer: the scripted or default text, cut at a stop sequence or at
/// `max_tokens`, with usage.
fn answer(request: &MessagesRequest, reply: Option<AnthropicReply>) -> Value {
    let reply = reply.unwrap_or_else(|| {
        let quoted: String = request.last_user.chars().take(80).collect();
        AnthropicReply::text(format!(
            "This is the Anthropic emulator answering: {quoted}"
        ))
    });
    let mut text = reply.text.clone();
    let mut stop_reason = "end_turn".to_owned();
    let mut stop_sequence = Value::Null;
    if let Some((kept, stop)) = synth::cut_at_stop(&text, &request.stop_sequences) {
        text = kept;
        stop_reason = "stop_sequence".to_owned();
        stop_sequence = Value::String(stop);
    }
    if synth::tokens(&text) > request.max_tokens {
        text = synth::cut_to_tokens(&text, request.max_tokens);
        stop_reason = "max_tokens".to_owned();
        stop_sequence = Value::Null;
    }
    let (input_tokens, output_tokens) = reply.usage.unwrap_or_else(|| {
        let input: u64 = request.texts.iter().map(|text| synth::tokens(text)).sum();
        (input, synth::tokens(&text))
    });
    json!({
        "id": synth::id("msg_"),
        "type": "message",
        "role": "assistant",
        "model": request.model,
        "content": [{"type": "text", "text": text}],
        "stop_reason": reply.stop_reason.unwrap_or(stop_reason),
        "stop_sequence": stop_sequence,
        "usage": {"input_tokens": input_tokens, "output_tokens": output_tokens},
    })
}

async fn models(
    State(state): State<Arc<AnthropicState>>,
    ConnectInfo(connection): ConnectInfo<Connection>,
    request: Incoming,
) -> Response {
    if let Some(answer) = admit(&state.recorder, MODELS, &connection, &request).await {
        return answer;
    }
    if let Some(answer) = check_key(&state, &request) {
        return answer;
    }
    let data: Vec<Value> = LISTED_MODELS
        .iter()
        .map(|(id, name)| {
            json!({"type": "model", "id": id, "display_name": name, "created_at": "2025-09-29T00:00:00Z"})
        })
        .collect();
    let body = json!({
        "data": data,
        "has_more": false,
        "first_id": LISTED_MODELS.first().map(|(id, _)| *id),
        "last_id": LISTED_MODELS.last().map(|(id, _)| *id),
    });
    plain(StatusCode::OK, &body.to_string(), "application/json")
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn post(
        emulator: &AnthropicEmulator,
        key: &str,
        body: Value,
    ) -> reqwest::Result<reqwest::Response> {
        reqwest::Client::new()
            .post(format!("{}{MESSAGES}", emulator.base_url()))
            .header("x-api-key", key)
            .header("anthropic-version", API_VERSION)
            .json(&body)
            .send()
            .await
    }

    fn hello() -> Value {
        json!({
            "model": "claude-sonnet-4-5",
            "max_tokens": 100,
            "system": "Be brief.",
            "messages": [{"role": "user", "content": "Hello"}],
        })
    }

    #[tokio::test]
    async fn answers_in_the_messages_shape_with_usage() {
        let emulator = AnthropicEmulator::start().await.unwrap();
        emulator.push_reply(AnthropicReply::text("Hi there").usage(12, 3));
        let response = post(&emulator, emulator.api_key(), hello()).await.unwrap();
        assert_eq!(response.status(), 200);
        let body: Value = response.json().await.unwrap();
        assert!(body["id"].as_str().unwrap().starts_with("msg_"));
        assert_eq!(body["type"], "message");
        assert_eq!(body["role"], "assistant");
        assert_eq!(body["model"], "claude-sonnet-4-5");
        assert_eq!(
            body["content"][0],
            json!({"type": "text", "text": "Hi there"})
        );
        assert_eq!(body["stop_reason"], "end_turn");
        assert_eq!(body["stop_sequence"], Value::Null);
        assert_eq!(
            body["usage"],
            json!({"input_tokens": 12, "output_tokens": 3})
        );
        let recorded = &emulator.requests()[0];
        assert_eq!(recorded.header("anthropic-version"), Some(API_VERSION));
        assert_eq!(recorded.json().unwrap()["system"], "Be brief.");
    }

    #[tokio::test]
    async fn cuts_at_max_tokens_and_stop_sequences() {
        let emulator = AnthropicEmulator::start().await.unwrap();
        emulator.push_reply(AnthropicReply::text("a".repeat(100)));
        let mut request = hello();
        request["max_tokens"] = json!(5);
        let body: Value = post(&emulator, emulator.api_key(), request)
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(body["stop_reason"], "max_tokens");
        assert_eq!(body["content"][0]["text"].as_str().unwrap().len(), 20);
        emulator.push_reply(AnthropicReply::text("one STOP two"));
        let mut request = hello();
        request["stop_sequences"] = json!(["STOP"]);
        let body: Value = post(&emulator, emulator.api_key(), request)
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(body["stop_reason"], "stop_sequence");
        assert_eq!(body["stop_sequence"], "STOP");
        assert_eq!(body["content"][0]["text"], "one ");
    }

    #[tokio::test]
    async fn wrong_or_missing_keys_get_the_real_401() {
        let emulator = AnthropicEmulator::start().await.unwrap();
        let response = post(&emulator, "sk-ant-wrong", hello()).await.unwrap();
        assert_eq!(response.status(), 401);
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["type"], "error");
        assert_eq!(body["error"]["type"], "authentication_error");
        assert_eq!(body["error"]["message"], "invalid x-api-key");
        assert!(body["request_id"].as_str().unwrap().starts_with("req_"));
    }

    #[tokio::test]
    async fn invalid_requests_get_invalid_request_error() {
        let emulator = AnthropicEmulator::start().await.unwrap();
        let response = post(
            &emulator,
            emulator.api_key(),
            json!({"model": "m", "messages": []}),
        )
        .await
        .unwrap();
        assert_eq!(response.status(), 400);
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["error"]["type"], "invalid_request_error");
        assert_eq!(body["error"]["message"], "max_tokens: Field required");
        let response = reqwest::Client::new()
            .post(format!("{}{MESSAGES}", emulator.base_url()))
            .header("x-api-key", emulator.api_key())
            .json(&hello())
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 400);
    }

    #[tokio::test]
    async fn faults_come_in_order_then_normal_service() {
        let emulator = AnthropicEmulator::start().await.unwrap();
        emulator.push_fault(MESSAGES, rate_limit_error(Duration::from_secs(1)));
        emulator.push_fault(MESSAGES, overloaded_error());
        emulator.push_fault(MESSAGES, api_error());
        emulator.push_fault(MESSAGES, Fault::MalformedJson);
        let response = post(&emulator, emulator.api_key(), hello()).await.unwrap();
        assert_eq!(response.status(), 429);
        assert_eq!(response.headers()["retry-after"], "1");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["error"]["type"], "rate_limit_error");
        let response = post(&emulator, emulator.api_key(), hello()).await.unwrap();
        assert_eq!(response.status(), 529);
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["error"]["type"], "overloaded_error");
        let response = post(&emulator, emulator.api_key(), hello()).await.unwrap();
        assert_eq!(response.status(), 500);
        let response = post(&emulator, emulator.api_key(), hello()).await.unwrap();
        assert_eq!(response.status(), 200);
        assert!(response.json::<Value>().await.is_err());
        let response = post(&emulator, emulator.api_key(), hello()).await.unwrap();
        assert_eq!(response.status(), 200);
        let faults: Vec<_> = emulator.requests().into_iter().map(|r| r.fault).collect();
        assert_eq!(faults.len(), 5);
        assert_eq!(faults[0].as_deref(), Some("status 429"));
        assert_eq!(faults[4], None);
    }

    #[tokio::test]
    async fn dropped_connections_and_delays() {
        let emulator = AnthropicEmulator::start().await.unwrap();
        emulator.push_fault(MESSAGES, Fault::DropConnection);
        let err = post(&emulator, emulator.api_key(), hello())
            .await
            .unwrap_err();
        assert!(!err.is_timeout() && !err.is_connect(), "{err:?}");
        emulator.push_fault(MESSAGES, Fault::Delay(Duration::from_millis(300)));
        let err = reqwest::Client::new()
            .post(format!("{}{MESSAGES}", emulator.base_url()))
            .header("x-api-key", emulator.api_key())
            .header("anthropic-version", API_VERSION)
            .timeout(Duration::from_millis(100))
            .json(&hello())
            .send()
            .await
            .unwrap_err();
        assert!(err.is_timeout(), "{err:?}");
        // After the faults, normal service on the same emulator.
        let response = post(&emulator, emulator.api_key(), hello()).await.unwrap();
        assert_eq!(response.status(), 200);
    }

    #[tokio::test]
    async fn lists_models() {
        let emulator = AnthropicEmulator::start().await.unwrap();
        let body: Value = reqwest::Client::new()
            .get(format!("{}{MODELS}", emulator.base_url()))
            .header("x-api-key", emulator.api_key())
            .header("anthropic-version", API_VERSION)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(body["data"][0]["type"], "model");
        assert_eq!(body["has_more"], false);
    }
}
