//! An emulator of OpenAI's Chat Completions API, and of the
//! OpenAI-compatible servers (Ollama, vLLM, llama.cpp, LM Studio) that
//! speak it.
//!
//! Its base URL ends in `/v1` ([`OpenAiEmulator::base_url`]), as those
//! servers' do, so a client joins `chat/completions` to it. Routes, with
//! the shapes of the published API reference:
//!
//! - `POST /v1/chat/completions` ([`CHAT_COMPLETIONS`]):
//!   `Authorization: Bearer <key>`; body `{model, messages: [{role:
//!   system|developer|user|assistant|tool, content}], max_tokens? or
//!   max_completion_tokens?, temperature?, stop?, response_format?}`. The
//!   answer is `{id: "chatcmpl-...", object: "chat.completion", created,
//!   model, choices: [{index: 0, message: {role: "assistant", content},
//!   finish_reason: "stop"|"length"}], usage: {prompt_tokens,
//!   completion_tokens, total_tokens}}`.
//! - `GET /v1/models` ([`MODELS`]): `{object: "list", data: [{id, object:
//!   "model", created, owned_by}]}`.
//!
//! Errors have the API's shape, `{error: {message, type, param, code}}`:
//! 401 `invalid_api_key` for a wrong key (its message quotes the key
//! masked, as the service does), 400 `invalid_request_error` for a body
//! that does not fit, and through faults 429 `rate_limit_exceeded` with the
//! `x-ratelimit-*` headers ([`rate_limit_error`]) and 500 ([`server_error`]).
//! Started with [`crate::ApiKey::NotRequired`] it accepts requests without
//! a key, as a local server does.

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

/// The Chat Completions route, for [`OpenAiEmulator::push_fault`].
pub const CHAT_COMPLETIONS: &str = "/v1/chat/completions";
/// The models route, for [`OpenAiEmulator::push_fault`].
pub const MODELS: &str = "/v1/models";

/// The models `GET /v1/models` lists.
const LISTED_MODELS: &[&str] = &["gpt-4o-mini", "gpt-4o", "gpt-4.1-mini"];

/// Roles a message may have.
const ROLES: &[&str] = &["system", "developer", "user", "assistant", "tool"];

/// A scripted answer to one `POST /v1/chat/completions`.
#[derive(Debug, Clone, PartialEq)]
pub struct OpenAiReply {
    content: String,
    usage: Option<(u64, u64)>,
    finish_reason: Option<String>,
}

impl OpenAiReply {
    /// A reply saying `content`.
    pub fn text(content: impl Into<String>) -> Self {
        OpenAiReply {
            content: content.into(),
            usage: None,
            finish_reason: None,
        }
    }

    /// Reports these token counts instead of the estimate.
    pub fn usage(mut self, prompt_tokens: u64, completion_tokens: u64) -> Self {
        self.usage = Some((prompt_tokens, completion_tokens));
        self
    }

    /// Reports this finish reason instead of the one the emulator works out.
    pub fn finish_reason(mut self, reason: impl Into<String>) -> Self {
        self.finish_reason = Some(reason.into());
        self
    }
}

/// A running emulator of the OpenAI API. Stops when dropped.
#[derive(Debug)]
pub struct OpenAiEmulator {
    server: Server,
    state: Arc<OpenAiState>,
}

#[derive(Debug)]
struct OpenAiState {
    recorder: Recorder,
    api_key: Option<String>,
    replies: Mutex<VecDeque<OpenAiReply>>,
}

impl OpenAiEmulator {
    /// Starts an emulator on a free loopback port with a generated key.
    pub async fn start() -> io::Result<Self> {
        OpenAiEmulator::start_with(EmulatorOptions::default()).await
    }

    /// Starts an emulator as `options` say.
    pub async fn start_with(options: EmulatorOptions) -> io::Result<Self> {
        let state = Arc::new(OpenAiState {
            recorder: Recorder::default(),
            api_key: options.resolve_key("sk-proj-", true),
            replies: Mutex::new(VecDeque::new()),
        });
        let router = Router::new()
            .route(CHAT_COMPLETIONS, post(chat_completions))
            .route(MODELS, get(models))
            .with_state(Arc::clone(&state));
        let server = Server::start(options.addr, router).await?;
        Ok(OpenAiEmulator { server, state })
    }

    /// The base URL to configure a client with, ending in `/v1`
    /// (`http://127.0.0.1:<port>/v1`).
    pub fn base_url(&self) -> String {
        format!("{}/v1", self.server.root_url())
    }

    /// The address it listens on.
    pub fn addr(&self) -> std::net::SocketAddr {
        self.server.addr()
    }

    /// The key requests must send as `Authorization: Bearer <key>`; `None`
    /// when started without one.
    pub fn api_key(&self) -> Option<&str> {
        self.state.api_key.as_deref()
    }

    /// Every request received so far, faulted or not, oldest first.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.state.recorder.requests()
    }

    /// Queues the answer to the next served `POST /v1/chat/completions`.
    pub fn push_reply(&self, reply: OpenAiReply) {
        lock(&self.state.replies).push_back(reply);
    }

    /// Queues a fault for the next request to `route`
    /// ([`CHAT_COMPLETIONS`], [`MODELS`]).
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

/// An error body of the API: `{error: {message, type, param, code}}`.
pub fn error_body(
    message: &str,
    error_type: &str,
    param: Option<&str>,
    code: Option<&str>,
) -> Value {
    json!({"error": {"message": message, "type": error_type, "param": param, "code": code}})
}

/// A 429 `rate_limit_exceeded` as the API sends it: no `Retry-After`, but
/// `x-ratelimit-remaining-requests: 0` and `x-ratelimit-reset-requests`
/// saying when the limit resets (a Go duration such as `1s`).
pub fn rate_limit_error(reset: Duration) -> Fault {
    let reset = go_duration(reset);
    Fault::json(
        429,
        &error_body(
            &format!(
                "Rate limit reached for gpt-4o-mini in organization org-emulator on requests per \
                 min (RPM): Limit 3, Used 3, Requested 1. Please try again in {reset}."
            ),
            "requests",
            None,
            Some("rate_limit_exceeded"),
        ),
    )
    .with_header("x-ratelimit-limit-requests", "3")
    .with_header("x-ratelimit-remaining-requests", "0")
    .with_header("x-ratelimit-reset-requests", &reset)
    .with_header("x-ratelimit-limit-tokens", "150000")
    .with_header("x-ratelimit-remaining-tokens", "149000")
    .with_header("x-ratelimit-reset-tokens", "6m0s")
}

/// A 500 `server_error`.
pub fn server_error() -> Fault {
    Fault::json(
        500,
        &error_body(
            "The server had an error while processing your request. Sorry about that!",
            "server_error",
            None,
            None,
        ),
    )
}

/// A duration as Go prints it, the format of OpenAI's reset headers:
/// `250ms`, `1s`, `1.5s`, `6m0s`.
fn go_duration(duration: Duration) -> String {
    let millis = duration.as_millis();
    if millis < 1000 {
        return format!("{millis}ms");
    }
    let minutes = millis / 60_000;
    let seconds = (millis % 60_000) as f64 / 1000.0;
    if minutes > 0 {
        format!("{minutes}m{seconds}s")
    } else {
        format!("{seconds}s")
    }
}

fn error(
    status: StatusCode,
    message: &str,
    error_type: &str,
    param: Option<&str>,
    code: Option<&str>,
) -> Response {
    let mut response = plain(
        status,
        &error_body(message, error_type, param, code).to_string(),
        "application/json",
    );
    if let Ok(value) = synth::id("req_").parse() {
        response.headers_mut().insert("x-request-id", value);
    }
    response
}

fn invalid_request(message: &str, param: Option<&str>) -> Response {
    error(
        StatusCode::BAD_REQUEST,
        message,
        "invalid_request_error",
        param,
        None,
    )
}

/// The key as the service quotes it in errors: its start and end only.
fn masked(key: &str) -> String {
    let chars: Vec<char> = key.chars().collect();
    if chars.len() <= 8 {
        return "*".repeat(chars.len());
    }
    let start: String = chars[..3].iter().collect();
    let end: String = chars[chars.len() - 4..].iter().collect();
    format!("{start}{}{end}", "*".repeat(chars.len() - 7))
}

/// Checks the bearer token: the API's 401 answer for a missing or wrong
/// one.
fn check_key(state: &OpenAiState, request: &Incoming) -> Option<Response> {
    let Some(expected) = &state.api_key else {
        return None;
    };
    let given = request
        .header("authorization")
        .and_then(|value| value.strip_prefix("Bearer "));
    match given {
        None => Some(error(
            StatusCode::UNAUTHORIZED,
            "You didn't provide an API key. You need to provide your API key in an Authorization \
             header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY), or as the password \
             field (with blank username) if you're accessing the API from your browser and are \
             prompted for a username and password. You can obtain an API key from \
             https://platform.openai.com/account/api-keys.",
            "invalid_request_error",
            None,
            None,
        )),
        Some(key) if key != expected => Some(error(
            StatusCode::UNAUTHORIZED,
            &format!(
                "Incorrect API key provided: {}. You can find your API key at \
                 https://platform.openai.com/account/api-keys.",
                masked(key)
            ),
            "invalid_request_error",
            None,
            Some("invalid_api_key"),
        )),
        Some(_) => None,
    }
}

async fn chat_completions(
    State(state): State<Arc<OpenAiState>>,
    ConnectInfo(connection): ConnectInfo<Connection>,
    request: Incoming,
) -> Response {
    if let Some(answer) = admit(&state.recorder, CHAT_COMPLETIONS, &connection, &request).await {
        return answer;
    }
    if let Some(answer) = check_key(&state, &request) {
        return answer;
    }
    let body: Value = match serde_json::from_slice(&request.body) {
        Ok(body) => body,
        Err(_) => {
            return invalid_request(
                "We could not parse the JSON body of your request. (HINT: This likely means you \
                 aren't using your HTTP library correctly. The OpenAI API expects a JSON payload, \
                 but what was sent was not valid JSON. If you have trouble figuring out how to \
                 fix this, please contact us through our help center at help.openai.com.)",
                None,
            );
        }
    };
    let parsed = match parse_request(&body) {
        Ok(parsed) => parsed,
        Err((message, param)) => return invalid_request(&message, param),
    };
    let reply = lock(&state.replies).pop_front();
    plain(
        StatusCode::OK,
        &answer(&parsed, reply).to_string(),
        "application/json",
    )
}

/// The parts of a Chat Completions request the emulator acts on.
struct ChatRequest {
    model: String,
    max_tokens: Option<u64>,
    texts: Vec<String>,
    last_user: String,
    stop: Vec<String>,
}

type Problem = (String, Option<&'static str>);

/// Validates a request as the API does, naming the offending parameter.
fn parse_request(body: &Value) -> Result<ChatRequest, Problem> {
    let object = body
        .as_object()
        .ok_or_else(|| ("The request body must be a JSON object.".to_owned(), None))?;
    let model = match object.get("model").and_then(Value::as_str) {
        Some(model) if !model.is_empty() => model.to_owned(),
        _ => return Err(("you must provide a model parameter".into(), None)),
    };
    let messages = match object.get("messages") {
        Some(Value::Array(messages)) if !messages.is_empty() => messages,
        _ => {
            return Err(("[] is too short - 'messages'".into(), Some("messages")));
        }
    };
    let mut texts = Vec::new();
    let mut last_user = String::new();
    for (index, message) in messages.iter().enumerate() {
        let role = message.get("role").and_then(Value::as_str).unwrap_or("");
        if !ROLES.contains(&role) {
            return Err((
                format!(
                    "Invalid value: '{role}'. Supported values are: 'system', 'assistant', \
                     'user', 'tool', 'developer'."
                ),
                Some("messages"),
            ));
        }
        let text = message
            .get("content")
            .and_then(content_text)
            .ok_or_else(|| {
                (
                    format!("Missing required parameter: 'messages[{index}].content'."),
                    Some("messages"),
                )
            })?;
        if role == "user" {
            last_user = text.clone();
        }
        texts.push(text);
    }
    let limit = |name: &'static str| -> Result<Option<u64>, Problem> {
        match object.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(value) => match value.as_u64() {
                Some(n) if n >= 1 => Ok(Some(n)),
                _ => Err((
                    format!("Invalid '{name}': integer below minimum value."),
                    Some(name),
                )),
            },
        }
    };
    let max_tokens = limit("max_completion_tokens")?.or(limit("max_tokens")?);
    let stop = match object.get("stop") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::String(stop)) => vec![stop.clone()],
        Some(Value::Array(stops)) => stops
            .iter()
            .filter_map(|stop| stop.as_str().map(str::to_owned))
            .collect(),
        Some(_) => return Err(("Invalid type for 'stop'.".into(), Some("stop"))),
    };
    if let Some(format) = object.get("response_format") {
        check_response_format(format)?;
    }
    Ok(ChatRequest {
        model,
        max_tokens,
        texts,
        last_user,
        stop,
    })
}

/// `response_format` must be `text`, `json_object`, or `json_schema` with a
/// named schema.
fn check_response_format(format: &Value) -> Result<(), Problem> {
    match format.get("type").and_then(Value::as_str) {
        Some("text" | "json_object") => Ok(()),
        Some("json_schema") => {
            let schema = format.get("json_schema");
            let named = schema
                .and_then(|schema| schema.get("name"))
                .and_then(Value::as_str)
                .is_some_and(|name| !name.is_empty());
            if !named {
                return Err((
                    "Missing required parameter: 'response_format.json_schema.name'.".into(),
                    Some("response_format"),
                ));
            }
            Ok(())
        }
        _ => Err((
            "Invalid value for 'response_format.type': expected one of 'text', 'json_object', \
             'json_schema'."
                .into(),
            Some("response_format"),
        )),
    }
}

/// The text of a `content`: a string, or `{type: "text", text}` parts.
fn content_text(content: &Value) -> Option<String> {
    match content {
        Value::String(text) => Some(text.clone()),
        Value::Array(parts) => Some(
            parts
                .iter()
                .filter_map(|part| part.get("text").and_then(Value::as_str))
                .collect::<Vec<_>>()
                .join("\n"),
        ),
        _ => None,
    }
}

/// The answer: scripted or default text, cut at a stop or at the token
/// limit, with usage.
fn answer(request: &ChatRequest, reply: Option<OpenAiReply>) -> Value {
    let reply = reply.unwrap_or_else(|| {
        let quoted: String = request.last_user.chars().take(80).collect();
        OpenAiReply::text(format!("This is the OpenAI emulator answering: {quoted}"))
    });
    let mut content = reply.content.clone();
    let mut finish_reason = "stop";
    if let Some((kept, _)) = synth::cut_at_stop(&content, &request.stop) {
        content = kept;
    }
    if let Some(max) = request.max_tokens
        && synth::tokens(&content) > max
    {
        content = synth::cut_to_tokens(&content, max);
        finish_reason = "length";
    }
    let (prompt_tokens, completion_tokens) = reply.usage.unwrap_or_else(|| {
        let prompt: u64 = request.texts.iter().map(|text| synth::tokens(text)).sum();
        (prompt, synth::tokens(&content))
    });
    json!({
        "id": synth::id("chatcmpl-"),
        "object": "chat.completion",
        "created": synth::unix_seconds(),
        "model": request.model,
        "choices": [{
            "index": 0,
            "message": {"role": "assistant", "content": content, "refusal": null},
            "logprobs": null,
            "finish_reason": reply.finish_reason.as_deref().unwrap_or(finish_reason),
        }],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        },
        "system_fingerprint": "fp_emulator",
    })
}

async fn models(
    State(state): State<Arc<OpenAiState>>,
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
        .map(|id| json!({"id": id, "object": "model", "created": 1_721_172_741, "owned_by": "system"}))
        .collect();
    let body = json!({"object": "list", "data": data});
    plain(StatusCode::OK, &body.to_string(), "application/json")
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn post(
        emulator: &OpenAiEmulator,
        key: Option<&str>,
        body: Value,
    ) -> reqwest::Result<reqwest::Response> {
        let mut request = reqwest::Client::new()
            .post(format!("{}/chat/completions", emulator.base_url()))
            .json(&body);
        if let Some(key) = key {
            request = request.bearer_auth(key);
        }
        request.send().await
    }

    fn hello() -> Value {
        json!({
            "model": "gpt-4o-mini",
            "messages": [
                {"role": "system", "content": "Be brief."},
                {"role": "user", "content": "Hello"},
            ],
            "max_completion_tokens": 100,
        })
    }

    #[tokio::test]
    async fn answers_in_the_chat_completion_shape_with_usage() {
        let emulator = OpenAiEmulator::start().await.unwrap();
        assert!(emulator.base_url().ends_with("/v1"));
        emulator.push_reply(OpenAiReply::text("Hi!").usage(9, 2));
        let response = post(&emulator, emulator.api_key(), hello()).await.unwrap();
        assert_eq!(response.status(), 200);
        let body: Value = response.json().await.unwrap();
        assert!(body["id"].as_str().unwrap().starts_with("chatcmpl-"));
        assert_eq!(body["object"], "chat.completion");
        assert!(body["created"].as_u64().unwrap() > 0);
        assert_eq!(body["model"], "gpt-4o-mini");
        assert_eq!(body["choices"][0]["index"], 0);
        assert_eq!(body["choices"][0]["message"]["role"], "assistant");
        assert_eq!(body["choices"][0]["message"]["content"], "Hi!");
        assert_eq!(body["choices"][0]["finish_reason"], "stop");
        assert_eq!(
            body["usage"],
            json!({"prompt_tokens": 9, "completion_tokens": 2, "total_tokens": 11})
        );
    }

    #[tokio::test]
    async fn cuts_at_the_token_limit() {
        let emulator = OpenAiEmulator::start().await.unwrap();
        emulator.push_reply(OpenAiReply::text("b".repeat(100)));
        let mut request = hello();
        request["max_completion_tokens"] = json!(3);
        let body: Value = post(&emulator, emulator.api_key(), request)
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(body["choices"][0]["finish_reason"], "length");
        assert_eq!(body["usage"]["completion_tokens"], 3);
    }

    #[tokio::test]
    async fn wrong_keys_get_invalid_api_key_with_the_key_masked() {
        let emulator = OpenAiEmulator::start().await.unwrap();
        let response = post(&emulator, Some("sk-wrong-key-123456"), hello())
            .await
            .unwrap();
        assert_eq!(response.status(), 401);
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["error"]["code"], "invalid_api_key");
        assert_eq!(body["error"]["type"], "invalid_request_error");
        assert_eq!(body["error"]["param"], Value::Null);
        let message = body["error"]["message"].as_str().unwrap();
        assert!(message.contains("sk-************3456"), "{message}");
        let response = post(&emulator, None, hello()).await.unwrap();
        assert_eq!(response.status(), 401);
    }

    #[tokio::test]
    async fn local_servers_need_no_key() {
        let emulator = OpenAiEmulator::start_with(EmulatorOptions {
            api_key: crate::ApiKey::NotRequired,
            ..EmulatorOptions::default()
        })
        .await
        .unwrap();
        assert_eq!(emulator.api_key(), None);
        let response = post(&emulator, None, hello()).await.unwrap();
        assert_eq!(response.status(), 200);
    }

    #[tokio::test]
    async fn response_formats_are_checked() {
        let emulator = OpenAiEmulator::start().await.unwrap();
        let mut request = hello();
        request["response_format"] = json!({"type": "json_schema", "json_schema": {"schema": {}}});
        let response = post(&emulator, emulator.api_key(), request).await.unwrap();
        assert_eq!(response.status(), 400);
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["error"]["param"], "response_format");
        let mut request = hello();
        request["response_format"] = json!({
            "type": "json_schema",
            "json_schema": {"name": "plan", "schema": {"type": "object"}, "strict": false}
        });
        let response = post(&emulator, emulator.api_key(), request).await.unwrap();
        assert_eq!(response.status(), 200);
    }

    #[tokio::test]
    async fn rate_limits_carry_the_reset_headers() {
        let emulator = OpenAiEmulator::start().await.unwrap();
        emulator.push_fault(
            CHAT_COMPLETIONS,
            rate_limit_error(Duration::from_millis(1500)),
        );
        emulator.push_fault(CHAT_COMPLETIONS, server_error());
        let response = post(&emulator, emulator.api_key(), hello()).await.unwrap();
        assert_eq!(response.status(), 429);
        assert_eq!(response.headers()["x-ratelimit-reset-requests"], "1.5s");
        assert_eq!(response.headers()["x-ratelimit-remaining-requests"], "0");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["error"]["code"], "rate_limit_exceeded");
        let response = post(&emulator, emulator.api_key(), hello()).await.unwrap();
        assert_eq!(response.status(), 500);
        let response = post(&emulator, emulator.api_key(), hello()).await.unwrap();
        assert_eq!(response.status(), 200);
    }

    #[test]
    fn durations_print_as_go_does() {
        assert_eq!(go_duration(Duration::from_millis(250)), "250ms");
        assert_eq!(go_duration(Duration::from_secs(1)), "1s");
        assert_eq!(go_duration(Duration::from_secs(360)), "6m0s");
    }
}
