//! An emulator of incoming-webhook receivers: Slack, Discord and Microsoft
//! Teams.
//!
//! One emulator is one hook, of one [`WebhookFlavor`], at
//! `POST /hooks/<id>/<token>` ([`WebhookEmulator::url`]); the token in the
//! URL is the credential, as with the real services. It records each JSON
//! body it accepts ([`WebhookEmulator::messages`]) and answers as the real
//! service does:
//!
//! | flavor  | accepted                                   | empty message | wrong token | unknown hook |
//! |---------|--------------------------------------------|---------------|-------------|--------------|
//! | Slack   | 200 `ok`                                   | 400 `no_text` | 403 `invalid_token` | 404 `no_service` |
//! | Discord | 204, or 200 with the message with `?wait=true` | 400 code 50006 | 401 code 50027 | 404 code 10015 |
//! | Teams   | 200 `1`                                    | 400 text      | 401         | 404          |
//!
//! A body that is not JSON is a 400 (`invalid_payload` for Slack, code
//! 50109 for Discord). Discord content longer than 2000 characters is a 400
//! `Invalid Form Body` naming the field. Faults are queued on the route
//! [`HOOKS`].

use std::io;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::{ConnectInfo, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::post;
use serde_json::{Value, json};

use crate::faults::{Fault, admit, plain};
use crate::incoming::Incoming;
use crate::options::{ApiKey, EmulatorOptions};
use crate::recorder::{RecordedRequest, Recorder, lock};
use crate::server::{Connection, Server};
use crate::synth;

/// The route faults are queued on: every request to the hook.
pub const HOOKS: &str = "/hooks";

/// Discord's limit on a message's `content`, in characters.
pub const DISCORD_CONTENT_LIMIT: usize = 2000;

/// Which service's webhook is emulated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WebhookFlavor {
    /// A Slack incoming webhook: `{text}` (or `blocks`, `attachments`).
    Slack,
    /// A Discord webhook: `{content}` (or `embeds`).
    Discord,
    /// A Microsoft Teams incoming webhook: a MessageCard `{text}` or a
    /// `{type: "message", attachments}` envelope holding an Adaptive Card.
    Teams,
}

/// A running webhook emulator. Stops when dropped.
#[derive(Debug)]
pub struct WebhookEmulator {
    server: Server,
    state: Arc<WebhookState>,
}

#[derive(Debug)]
struct WebhookState {
    recorder: Recorder,
    flavor: WebhookFlavor,
    id: String,
    token: String,
    accepted: Mutex<Vec<Value>>,
}

impl WebhookEmulator {
    /// Starts a hook of `flavor` on a free loopback port with a generated
    /// token.
    pub async fn start(flavor: WebhookFlavor) -> io::Result<Self> {
        WebhookEmulator::start_with(flavor, EmulatorOptions::default()).await
    }

    /// Starts a hook as `options` say: `api_key` is the token in the URL.
    pub async fn start_with(flavor: WebhookFlavor, options: EmulatorOptions) -> io::Result<Self> {
        let token = match &options.api_key {
            ApiKey::Fixed(token) => token.clone(),
            ApiKey::Generated | ApiKey::NotRequired => synth::api_key("whk-"),
        };
        let state = Arc::new(WebhookState {
            recorder: Recorder::default(),
            flavor,
            id: synth::next_number().to_string(),
            token,
            accepted: Mutex::new(Vec::new()),
        });
        let router = Router::new()
            .route("/hooks/{*rest}", post(hook))
            .with_state(Arc::clone(&state));
        let server = Server::start(options.addr, router).await?;
        Ok(WebhookEmulator { server, state })
    }

    /// The hook's URL, token included: what a user pastes into their
    /// configuration.
    pub fn url(&self) -> String {
        format!(
            "{}/hooks/{}/{}",
            self.server.root_url(),
            self.state.id,
            self.state.token
        )
    }

    /// The emulator's root (`http://127.0.0.1:<port>`), to build wrong URLs.
    pub fn base_url(&self) -> String {
        self.server.root_url()
    }

    /// The hook's identifier (the first path segment after `/hooks/`).
    pub fn id(&self) -> &str {
        &self.state.id
    }

    /// The hook's token (the credential in its URL).
    pub fn token(&self) -> &str {
        &self.state.token
    }

    /// The flavor it emulates.
    pub fn flavor(&self) -> WebhookFlavor {
        self.state.flavor
    }

    /// Every body accepted so far, oldest first.
    pub fn messages(&self) -> Vec<Value> {
        lock(&self.state.accepted).clone()
    }

    /// Every request received so far, faulted or not, oldest first.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.state.recorder.requests()
    }

    /// Queues a fault for the next request to the hook.
    pub fn push_fault(&self, fault: Fault) {
        self.state.recorder.push_fault(HOOKS, fault);
    }

    /// Queues the same fault for the next `count` requests.
    pub fn push_faults(&self, fault: Fault, count: usize) {
        for _ in 0..count {
            self.push_fault(fault.clone());
        }
    }

    /// Forgets requests, faults and accepted messages.
    pub fn reset(&self) {
        self.state.recorder.reset();
        lock(&self.state.accepted).clear();
    }
}

fn text(status: StatusCode, body: &str) -> Response {
    plain(status, body, "text/plain; charset=utf-8")
}

fn json_answer(status: StatusCode, body: &Value) -> Response {
    plain(status, &body.to_string(), "application/json")
}

/// A Discord error body: `{message, code}`.
fn discord_error(status: StatusCode, message: &str, code: u32) -> Response {
    json_answer(status, &json!({"message": message, "code": code}))
}

async fn hook(
    State(state): State<Arc<WebhookState>>,
    ConnectInfo(connection): ConnectInfo<Connection>,
    request: Incoming,
) -> Response {
    if let Some(answer) = admit(&state.recorder, HOOKS, &connection, &request).await {
        return answer;
    }
    let path = request.uri.path().trim_start_matches("/hooks/");
    let (id, token) = path.split_once('/').unwrap_or((path, ""));
    if id != state.id {
        return unknown_hook(state.flavor);
    }
    if token != state.token {
        return wrong_token(state.flavor);
    }
    let body: Value = match serde_json::from_slice(&request.body) {
        Ok(body @ Value::Object(_)) => body,
        _ => return invalid_payload(state.flavor),
    };
    match state.flavor {
        WebhookFlavor::Slack => slack(&state, body),
        WebhookFlavor::Discord => discord(&state, &request, body),
        WebhookFlavor::Teams => teams(&state, body),
    }
}

fn unknown_hook(flavor: WebhookFlavor) -> Response {
    match flavor {
        WebhookFlavor::Slack => text(StatusCode::NOT_FOUND, "no_service"),
        WebhookFlavor::Discord => discord_error(StatusCode::NOT_FOUND, "Unknown Webhook", 10015),
        WebhookFlavor::Teams => text(StatusCode::NOT_FOUND, "Webhook not found"),
    }
}

fn wrong_token(flavor: WebhookFlavor) -> Response {
    match flavor {
        WebhookFlavor::Slack => text(StatusCode::FORBIDDEN, "invalid_token"),
        WebhookFlavor::Discord => {
            discord_error(StatusCode::UNAUTHORIZED, "Invalid Webhook Token", 50027)
        }
        WebhookFlavor::Teams => text(StatusCode::UNAUTHORIZED, "Invalid webhook URL"),
    }
}

fn invalid_payload(flavor: WebhookFlavor) -> Response {
    match flavor {
        WebhookFlavor::Slack => text(StatusCode::BAD_REQUEST, "invalid_payload"),
        WebhookFlavor::Discord => discord_error(
            StatusCode::BAD_REQUEST,
            "The request body contains invalid JSON.",
            50109,
        ),
        WebhookFlavor::Teams => text(StatusCode::BAD_REQUEST, "Invalid JSON payload"),
    }
}

fn non_empty_string(body: &Value, key: &str) -> bool {
    body.get(key)
        .and_then(Value::as_str)
        .is_some_and(|text| !text.trim().is_empty())
}

fn non_empty_array(body: &Value, key: &str) -> bool {
    body.get(key)
        .and_then(Value::as_array)
        .is_some_and(|items| !items.is_empty())
}

fn accept(state: &WebhookState, body: Value) {
    lock(&state.accepted).push(body);
}

fn slack(state: &WebhookState, body: Value) -> Response {
    if !(non_empty_string(&body, "text")
        || non_empty_array(&body, "blocks")
        || non_empty_array(&body, "attachments"))
    {
        return text(StatusCode::BAD_REQUEST, "no_text");
    }
    accept(state, body);
    text(StatusCode::OK, "ok")
}

fn discord(state: &WebhookState, request: &Incoming, body: Value) -> Response {
    let content = body.get("content").and_then(Value::as_str).unwrap_or("");
    if content.chars().count() > DISCORD_CONTENT_LIMIT {
        return json_answer(
            StatusCode::BAD_REQUEST,
            &json!({
                "message": "Invalid Form Body",
                "code": 50035,
                "errors": {"content": {"_errors": [{
                    "code": "BASE_TYPE_MAX_LENGTH",
                    "message": "Must be 2000 or fewer in length."
                }]}}
            }),
        );
    }
    if content.trim().is_empty() && !non_empty_array(&body, "embeds") {
        return discord_error(
            StatusCode::BAD_REQUEST,
            "Cannot send an empty message",
            50006,
        );
    }
    let content = content.to_owned();
    accept(state, body);
    if request.query_param("wait").as_deref() != Some("true") {
        return plain(StatusCode::NO_CONTENT, "", "text/plain");
    }
    let channel_id = request
        .query_param("thread_id")
        .unwrap_or_else(|| "100000000000000001".to_owned());
    let message = json!({
        "id": format!("{}", 1_300_000_000_000_000_000u64 + synth::next_number()),
        "type": 0,
        "content": content,
        "channel_id": channel_id,
        "author": {"id": state.id, "username": "aido", "bot": true},
        "timestamp": chrono_like_now(),
        "webhook_id": state.id,
        "embeds": [],
        "attachments": [],
    });
    json_answer(StatusCode::OK, &message)
}

fn teams(state: &WebhookState, body: Value) -> Response {
    let card_envelope = body.get("type").and_then(Value::as_str) == Some("message")
        && non_empty_array(&body, "attachments");
    if !(card_envelope || non_empty_string(&body, "text") || non_empty_array(&body, "sections")) {
        return text(StatusCode::BAD_REQUEST, "Summary or Text is required.");
    }
    accept(state, body);
    text(StatusCode::OK, "1")
}

/// An ISO 8601 UTC timestamp of now, as Discord writes them.
fn chrono_like_now() -> String {
    let secs = synth::unix_seconds();
    let days = secs / 86_400;
    let (hour, minute, second) = ((secs / 3600) % 24, (secs / 60) % 60, secs % 60);
    let (year, month, day) = civil_from_days(days as i64);
    format!("{year:04}-{month:02}-{day:02}T{hour:02}:{minute:02}:{second:02}.000000+00:00")
}

/// Year, month and day of a day count since 1970-01-01 (Howard Hinnant's
/// algorithm), so the test kit needs no date library.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    async fn post(url: &str, body: &Value) -> reqwest::Response {
        reqwest::Client::new()
            .post(url)
            .json(body)
            .send()
            .await
            .unwrap()
    }

    #[tokio::test]
    async fn slack_answers_ok_and_records_the_message() {
        let hook = WebhookEmulator::start(WebhookFlavor::Slack).await.unwrap();
        let response = post(&hook.url(), &json!({"text": "PR #1 is ready"})).await;
        assert_eq!(response.status(), 200);
        assert_eq!(response.text().await.unwrap(), "ok");
        assert_eq!(hook.messages(), vec![json!({"text": "PR #1 is ready"})]);
        let response = post(&hook.url(), &json!({"text": ""})).await;
        assert_eq!(response.status(), 400);
        assert_eq!(response.text().await.unwrap(), "no_text");
    }

    #[tokio::test]
    async fn slack_checks_the_token_and_the_hook() {
        let hook = WebhookEmulator::start(WebhookFlavor::Slack).await.unwrap();
        let wrong = format!("{}/hooks/{}/nope", hook.base_url(), hook.id());
        let response = post(&wrong, &json!({"text": "x"})).await;
        assert_eq!(response.status(), 403);
        assert_eq!(response.text().await.unwrap(), "invalid_token");
        let unknown = format!("{}/hooks/0/{}", hook.base_url(), hook.token());
        let response = post(&unknown, &json!({"text": "x"})).await;
        assert_eq!(response.status(), 404);
        assert_eq!(response.text().await.unwrap(), "no_service");
        assert!(hook.messages().is_empty());
    }

    #[tokio::test]
    async fn discord_answers_204_or_the_message_when_waiting() {
        let hook = WebhookEmulator::start(WebhookFlavor::Discord)
            .await
            .unwrap();
        let response = post(&hook.url(), &json!({"content": "hello"})).await;
        assert_eq!(response.status(), 204);
        let response = post(
            &format!("{}?wait=true", hook.url()),
            &json!({"content": "hi"}),
        )
        .await;
        assert_eq!(response.status(), 200);
        let message: Value = response.json().await.unwrap();
        assert_eq!(message["content"], "hi");
        assert!(message["id"].as_str().unwrap().parse::<u64>().is_ok());
        assert_eq!(message["webhook_id"], hook.id());
        let too_long = "x".repeat(DISCORD_CONTENT_LIMIT + 1);
        let response = post(&hook.url(), &json!({"content": too_long})).await;
        assert_eq!(response.status(), 400);
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["code"], 50035);
        let wrong = format!("{}/hooks/{}/nope", hook.base_url(), hook.id());
        let response = post(&wrong, &json!({"content": "x"})).await;
        assert_eq!(response.status(), 401);
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["code"], 50027);
        assert_eq!(hook.messages().len(), 2);
    }

    #[tokio::test]
    async fn teams_answers_1_for_cards_and_text() {
        let hook = WebhookEmulator::start(WebhookFlavor::Teams).await.unwrap();
        let card = json!({
            "type": "message",
            "attachments": [{
                "contentType": "application/vnd.microsoft.card.adaptive",
                "content": {"type": "AdaptiveCard", "version": "1.4", "body": []}
            }]
        });
        let response = post(&hook.url(), &card).await;
        assert_eq!(response.status(), 200);
        assert_eq!(response.text().await.unwrap(), "1");
        let response = post(&hook.url(), &json!({"text": "plain"})).await;
        assert_eq!(response.status(), 200);
        let response = post(&hook.url(), &json!({"title": "no text"})).await;
        assert_eq!(response.status(), 400);
    }

    #[tokio::test]
    async fn faults_apply_to_the_hook() {
        let hook = WebhookEmulator::start(WebhookFlavor::Slack).await.unwrap();
        hook.push_fault(Fault::status(429).with_header("retry-after", "1"));
        hook.push_fault(Fault::status(500).with_body("internal_error"));
        hook.push_fault(Fault::DropConnection);
        hook.push_fault(Fault::Delay(Duration::from_millis(10)));
        let response = post(&hook.url(), &json!({"text": "x"})).await;
        assert_eq!(response.status(), 429);
        assert_eq!(response.headers()["retry-after"], "1");
        let response = post(&hook.url(), &json!({"text": "x"})).await;
        assert_eq!(response.status(), 500);
        assert_eq!(response.text().await.unwrap(), "internal_error");
        let dropped = reqwest::Client::new()
            .post(hook.url())
            .json(&json!({"text": "x"}))
            .send()
            .await;
        assert!(dropped.is_err());
        let response = post(&hook.url(), &json!({"text": "x"})).await;
        assert_eq!(response.status(), 200);
        assert_eq!(hook.messages().len(), 1);
        assert_eq!(hook.requests().len(), 4);
    }

    #[test]
    fn dates_from_day_counts() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(20_089), (2025, 1, 1));
        assert_eq!(civil_from_days(19_782), (2024, 2, 29));
    }
}
