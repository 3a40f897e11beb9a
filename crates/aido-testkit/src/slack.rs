//! An emulator of Slack's Web API, for the `slack` plugin.
//!
//! Every method is `POST /api/<method>`, or `GET` with its arguments in the
//! query string, as Slack takes both ([`SlackEmulator::base_url`] ends in
//! `/api`, as `https://slack.com/api` does), with `Authorization: Bearer
//! xoxb-...`. Arguments are read, as Slack reads them, from the query
//! string, a form body (`application/x-www-form-urlencoded`) or a JSON
//! body, merged in that order. Answers are always HTTP 200 with
//! `{"ok": true, ...}` or `{"ok": false, "error": "<code>"}`; a rate limit
//! is HTTP 429 with `Retry-After` ([`rate_limited`]).
//!
//! Methods and the shapes they answer with (as Slack's reference documents
//! them):
//!
//! | method | arguments | answer |
//! |---|---|---|
//! | `auth.test` | | `{ok, url, team, user, team_id, user_id, bot_id}` |
//! | `chat.postMessage` | `channel, text, thread_ts, metadata` | `{ok, channel, ts, message}` |
//! | `conversations.history` | `channel, limit, include_all_metadata` | `{ok, messages, has_more}` newest first |
//! | `conversations.replies` | `channel, ts, include_all_metadata` | `{ok, messages, has_more}` parent first |
//! | `conversations.open` | `users` | `{ok, channel: {id}, already_open}` |
//! | `conversations.create` | `name, is_private` | `{ok, channel}` (`name_taken`, `invalid_name_specials`) |
//! | `conversations.setPurpose` | `channel, purpose` | `{ok, purpose}` |
//! | `conversations.info` | `channel` | `{ok, channel}` |
//! | `conversations.list` | `cursor, limit` | `{ok, channels, response_metadata: {next_cursor}}` |
//! | `users.info` | `user` | `{ok, user}` |
//! | `users.lookupByEmail` | `email` | `{ok, user}` (`users_not_found`) |
//! | `files.getUploadURLExternal` | `filename, length` | `{ok, upload_url, file_id}` |
//! | `files.completeUploadExternal` | `files: [{id, title}], channel_id, initial_comment` | `{ok, files}` |
//!
//! The upload URL (`POST /upload/<file_id>`) takes the raw bytes and
//! answers `200 OK - <length>`. Posting where the bot is not a member is
//! `not_in_channel`; an unknown channel `channel_not_found`; a missing
//! token `not_authed`, a wrong one `invalid_auth`. Faults are queued per
//! method route, such as [`POST_MESSAGE`].

use std::collections::BTreeMap;
use std::io;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::{ConnectInfo, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use serde_json::{Map, Value, json};

use crate::faults::{Fault, admit, plain};
use crate::incoming::Incoming;
use crate::options::EmulatorOptions;
use crate::recorder::{RecordedRequest, Recorder, lock};
use crate::server::{Connection, Server};
use crate::synth;

/// The route of `auth.test`.
pub const AUTH_TEST: &str = "/api/auth.test";
/// The route of `chat.postMessage`.
pub const POST_MESSAGE: &str = "/api/chat.postMessage";
/// The route of `conversations.history`.
pub const HISTORY: &str = "/api/conversations.history";
/// The route of `conversations.replies`.
pub const REPLIES: &str = "/api/conversations.replies";
/// The route of `conversations.open`.
pub const OPEN: &str = "/api/conversations.open";
/// The route of `conversations.create`.
pub const CREATE: &str = "/api/conversations.create";
/// The route of `conversations.info`.
pub const INFO: &str = "/api/conversations.info";
/// The route of `conversations.list`.
pub const LIST: &str = "/api/conversations.list";
/// The route of `users.info`.
pub const USERS_INFO: &str = "/api/users.info";
/// The route of `users.lookupByEmail`.
pub const LOOKUP_BY_EMAIL: &str = "/api/users.lookupByEmail";
/// The route of `files.getUploadURLExternal`.
pub const GET_UPLOAD_URL: &str = "/api/files.getUploadURLExternal";
/// The route of `files.completeUploadExternal`.
pub const COMPLETE_UPLOAD: &str = "/api/files.completeUploadExternal";
/// The route of the upload URLs (`/upload/<file_id>`).
pub const UPLOAD: &str = "/upload";

/// The id of the seeded channel `#general`, which the bot is a member of.
pub const GENERAL: &str = "C0000000001";
/// The id of the seeded channel `#random`, which the bot is not in.
pub const RANDOM: &str = "C0000000002";
/// The id of the seeded user `alice` (`alice@example.com`).
pub const ALICE: &str = "U0000000001";
/// The bot's own user id.
pub const BOT_USER: &str = "U00000000B0";

/// A 429 with `Retry-After`, as Slack rate-limits a method.
pub fn rate_limited(retry_after: Duration) -> Fault {
    Fault::json(429, &json!({"ok": false, "error": "ratelimited"}))
        .with_header("retry-after", &retry_after.as_secs().max(1).to_string())
}

/// A 200 answer `{"ok": false, "error": code}`.
pub fn error(code: &str) -> Fault {
    Fault::json(200, &json!({"ok": false, "error": code}))
}

/// A channel the emulator knows.
#[derive(Debug, Clone, PartialEq)]
pub struct SlackChannel {
    /// Its id (`C...`, or `D...` for a direct message).
    pub id: String,
    /// Its name (empty for a direct message).
    pub name: String,
    /// Whether it is private.
    pub is_private: bool,
    /// Its purpose.
    pub purpose: String,
    /// Member user ids.
    pub members: Vec<String>,
    /// For a direct message: the other user.
    pub dm_user: Option<String>,
}

/// A message the emulator holds.
#[derive(Debug, Clone, PartialEq)]
pub struct SlackMessage {
    /// The channel id.
    pub channel: String,
    /// Its `ts`.
    pub ts: String,
    /// Its text.
    pub text: String,
    /// The thread it replies to.
    pub thread_ts: Option<String>,
    /// Its `metadata` (`{event_type, event_payload}`), if any.
    pub metadata: Option<Value>,
    /// Files shared with it.
    pub files: Vec<String>,
}

/// A file uploaded through the external upload flow.
#[derive(Debug, Clone, PartialEq)]
pub struct SlackFile {
    /// Its id (`F...`).
    pub id: String,
    /// Its name.
    pub name: String,
    /// Its title, once completed.
    pub title: Option<String>,
    /// The length announced to `files.getUploadURLExternal`.
    pub length: usize,
    /// The bytes posted to the upload URL.
    pub content: Option<Vec<u8>>,
    /// The channel it was shared in, once completed.
    pub channel: Option<String>,
}

/// A running Slack emulator. Stops when dropped.
#[derive(Debug)]
pub struct SlackEmulator {
    server: Server,
    state: Arc<SlackState>,
}

#[derive(Debug)]
struct SlackState {
    recorder: Recorder,
    token: String,
    root: Mutex<String>,
    world: Mutex<World>,
}

#[derive(Debug, Default)]
struct World {
    channels: Vec<SlackChannel>,
    users: Vec<Value>,
    messages: Vec<SlackMessage>,
    files: Vec<SlackFile>,
    ts_counter: u64,
}

impl SlackEmulator {
    /// Starts on a free loopback port with a generated bot token.
    pub async fn start() -> io::Result<Self> {
        SlackEmulator::start_with(EmulatorOptions::default()).await
    }

    /// Starts as `options` say: `api_key` is the bot token.
    pub async fn start_with(options: EmulatorOptions) -> io::Result<Self> {
        let token = options
            .resolve_key("xoxb-", false)
            .unwrap_or_else(|| synth::api_key("xoxb-"));
        let state = Arc::new(SlackState {
            recorder: Recorder::default(),
            token,
            root: Mutex::new(String::new()),
            world: Mutex::new(World::seeded()),
        });
        let router = Router::new()
            .route("/api/{method}", get(method).post(method))
            .route("/upload/{file}", post(upload))
            .with_state(Arc::clone(&state));
        let server = Server::start(options.addr, router).await?;
        *lock(&state.root) = server.root_url();
        Ok(SlackEmulator { server, state })
    }

    /// The Web API's base URL (`http://127.0.0.1:<port>/api`), for
    /// `connection.base_url`.
    pub fn base_url(&self) -> String {
        format!("{}/api", self.server.root_url())
    }

    /// The bot token it accepts.
    pub fn token(&self) -> &str {
        &self.state.token
    }

    /// Every request received so far, oldest first.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.state.recorder.requests()
    }

    /// Queues a fault for the next request to `route` (such as
    /// [`POST_MESSAGE`]).
    pub fn push_fault(&self, route: &str, fault: Fault) {
        self.state.recorder.push_fault(route, fault);
    }

    /// Queues the same fault for the next `count` requests to `route`.
    pub fn push_faults(&self, route: &str, fault: Fault, count: usize) {
        for _ in 0..count {
            self.push_fault(route, fault.clone());
        }
    }

    /// Every message posted so far, oldest first.
    pub fn messages(&self) -> Vec<SlackMessage> {
        lock(&self.state.world).messages.clone()
    }

    /// Every channel, seeded ones first.
    pub fn channels(&self) -> Vec<SlackChannel> {
        lock(&self.state.world).channels.clone()
    }

    /// Every file uploaded so far.
    pub fn files(&self) -> Vec<SlackFile> {
        lock(&self.state.world).files.clone()
    }

    /// Adds a public channel (the bot a member when `bot_member`); returns
    /// its id.
    pub fn add_channel(&self, name: &str, bot_member: bool) -> String {
        let mut world = lock(&self.state.world);
        let id = format!("C{:010}", 100 + world.channels.len());
        let members = if bot_member {
            vec![BOT_USER.to_owned()]
        } else {
            Vec::new()
        };
        world.channels.push(SlackChannel {
            id: id.clone(),
            name: name.to_owned(),
            is_private: false,
            purpose: String::new(),
            members,
            dm_user: None,
        });
        id
    }

    /// Forgets requests and faults (the workspace's content stays).
    pub fn reset(&self) {
        self.state.recorder.reset();
    }
}

impl World {
    fn seeded() -> World {
        let channel = |id: &str, name: &str, members: Vec<String>| SlackChannel {
            id: id.to_owned(),
            name: name.to_owned(),
            is_private: false,
            purpose: String::new(),
            members,
            dm_user: None,
        };
        World {
            channels: vec![
                channel(
                    GENERAL,
                    "general",
                    vec![BOT_USER.to_owned(), ALICE.to_owned()],
                ),
                channel(RANDOM, "random", vec![ALICE.to_owned()]),
            ],
            users: vec![
                user_json(ALICE, "alice", "Alice Example", "alice@example.com", false),
                user_json(BOT_USER, "aido", "aido", "", true),
            ],
            ..World::default()
        }
    }

    fn next_ts(&mut self) -> String {
        self.ts_counter += 1;
        format!(
            "{}.{:06}",
            synth::unix_seconds(),
            self.ts_counter % 1_000_000
        )
    }

    fn channel(&self, id_or_name: &str) -> Option<&SlackChannel> {
        let name = id_or_name.trim_start_matches('#');
        self.channels
            .iter()
            .find(|c| c.id == id_or_name || (!c.name.is_empty() && c.name == name))
    }

    fn user(&self, id: &str) -> Option<&Value> {
        self.users.iter().find(|u| u["id"] == id)
    }
}

fn user_json(id: &str, name: &str, real_name: &str, email: &str, is_bot: bool) -> Value {
    let mut profile = json!({"real_name": real_name, "display_name": name});
    if !email.is_empty() {
        profile["email"] = json!(email);
    }
    json!({
        "id": id,
        "team_id": "T0000000001",
        "name": name,
        "real_name": real_name,
        "deleted": false,
        "is_bot": is_bot,
        "profile": profile,
    })
}

fn channel_json(channel: &SlackChannel, with_members: bool) -> Value {
    let mut value = json!({
        "id": channel.id,
        "created": 1_700_000_000,
        "is_archived": false,
        "is_member": channel.members.iter().any(|m| m == BOT_USER),
    });
    if let Some(user) = &channel.dm_user {
        value["is_im"] = json!(true);
        value["user"] = json!(user);
    } else {
        value["name"] = json!(channel.name);
        value["name_normalized"] = json!(channel.name);
        value["is_channel"] = json!(!channel.is_private);
        value["is_private"] = json!(channel.is_private);
        value["purpose"] = json!({"value": channel.purpose, "creator": "", "last_set": 0});
        value["topic"] = json!({"value": "", "creator": "", "last_set": 0});
    }
    if with_members {
        value["num_members"] = json!(channel.members.len());
    }
    value
}

fn ok(mut body: Value) -> Response {
    body["ok"] = json!(true);
    plain(StatusCode::OK, &body.to_string(), "application/json")
}

fn fail(code: &str) -> Response {
    plain(
        StatusCode::OK,
        &json!({"ok": false, "error": code}).to_string(),
        "application/json",
    )
}

/// Decodes `%XX` and `+` in a form or query value.
fn url_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("");
                match u8::from_str_radix(hex, 16) {
                    Ok(byte) => {
                        out.push(byte);
                        i += 2;
                    }
                    Err(_) => out.push(b'%'),
                }
            }
            byte => out.push(byte),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn parse_pairs(text: &str, into: &mut Map<String, Value>) {
    for pair in text.split('&').filter(|p| !p.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        into.insert(url_decode(key), Value::String(url_decode(value)));
    }
}

/// The method's arguments: query, then form or JSON body.
fn arguments(request: &Incoming) -> Result<Map<String, Value>, &'static str> {
    let mut args = Map::new();
    if let Some(query) = request.uri.query() {
        parse_pairs(query, &mut args);
    }
    let content_type = request.header("content-type").unwrap_or("");
    if request.body.is_empty() {
        return Ok(args);
    }
    if content_type.starts_with("application/json") {
        match serde_json::from_slice::<Value>(&request.body) {
            Ok(Value::Object(body)) => args.extend(body),
            _ => return Err("invalid_json"),
        }
    } else {
        parse_pairs(&String::from_utf8_lossy(&request.body), &mut args);
    }
    Ok(args)
}

fn text_arg(args: &Map<String, Value>, key: &str) -> Option<String> {
    match args.get(key)? {
        Value::String(text) => Some(text.clone()),
        Value::Bool(flag) => Some(flag.to_string()),
        Value::Number(number) => Some(number.to_string()),
        _ => None,
    }
}

fn flag_arg(args: &Map<String, Value>, key: &str) -> bool {
    matches!(text_arg(args, key).as_deref(), Some("true" | "1"))
}

/// A JSON argument that may arrive as JSON or as a JSON string in a form.
fn json_arg(args: &Map<String, Value>, key: &str) -> Option<Value> {
    match args.get(key)? {
        Value::String(text) => serde_json::from_str(text).ok(),
        other => Some(other.clone()),
    }
}

async fn method(
    State(state): State<Arc<SlackState>>,
    ConnectInfo(connection): ConnectInfo<Connection>,
    request: Incoming,
) -> Response {
    let route = request.uri.path().to_owned();
    if let Some(answer) = admit(&state.recorder, &route, &connection, &request).await {
        return answer;
    }
    match request.header("authorization") {
        None => return fail("not_authed"),
        Some(value) if value != format!("Bearer {}", state.token) => {
            return fail("invalid_auth");
        }
        Some(_) => {}
    }
    let args = match arguments(&request) {
        Ok(args) => args,
        Err(code) => return fail(code),
    };
    let name = route.trim_start_matches("/api/");
    let root = lock(&state.root).clone();
    let mut world = lock(&state.world);
    match name {
        "auth.test" => ok(json!({
            "url": "https://aido-emulator.slack.com/",
            "team": "aido emulator",
            "user": "aido",
            "team_id": "T0000000001",
            "user_id": BOT_USER,
            "bot_id": "B0000000001",
        })),
        "chat.postMessage" => post_message(&mut world, &args),
        "conversations.history" => history(&world, &args),
        "conversations.replies" => replies(&world, &args),
        "conversations.open" => open(&mut world, &args),
        "conversations.create" => create(&mut world, &args),
        "conversations.setPurpose" => set_purpose(&mut world, &args),
        "conversations.info" => match text_arg(&args, "channel") {
            None => fail("channel_not_found"),
            Some(id) => match world.channels.iter().find(|c| c.id == id) {
                None => fail("channel_not_found"),
                Some(channel) => ok(json!({
                    "channel": channel_json(channel, flag_arg(&args, "include_num_members"))
                })),
            },
        },
        "conversations.list" => list(&world, &args),
        "users.info" => match text_arg(&args, "user").and_then(|id| world.user(&id).cloned()) {
            Some(user) => ok(json!({"user": user})),
            None => fail("user_not_found"),
        },
        "users.lookupByEmail" => {
            let email = text_arg(&args, "email").unwrap_or_default();
            match world
                .users
                .iter()
                .find(|u| !email.is_empty() && u["profile"]["email"] == email.as_str())
            {
                Some(user) => ok(json!({"user": user})),
                None => fail("users_not_found"),
            }
        }
        "files.getUploadURLExternal" => {
            let filename = text_arg(&args, "filename").unwrap_or_default();
            let length = text_arg(&args, "length").and_then(|l| l.parse::<usize>().ok());
            match (filename.is_empty(), length) {
                (false, Some(length)) if length > 0 => {
                    let id = format!("F{:010}", synth::next_number());
                    world.files.push(SlackFile {
                        id: id.clone(),
                        name: filename,
                        title: None,
                        length,
                        content: None,
                        channel: None,
                    });
                    ok(json!({"upload_url": format!("{root}/upload/{id}"), "file_id": id}))
                }
                _ => fail("invalid_arguments"),
            }
        }
        "files.completeUploadExternal" => complete_upload(&mut world, &args),
        _ => fail("unknown_method"),
    }
}

fn post_message(world: &mut World, args: &Map<String, Value>) -> Response {
    let Some(requested) = text_arg(args, "channel") else {
        return fail("channel_not_found");
    };
    let Some(channel) = world.channel(&requested).cloned() else {
        return fail("channel_not_found");
    };
    if !channel.members.iter().any(|m| m == BOT_USER) {
        return fail("not_in_channel");
    }
    let text = text_arg(args, "text").unwrap_or_default();
    if text.trim().is_empty() {
        return fail("no_text");
    }
    if text.chars().count() > 40_000 {
        return fail("msg_too_long");
    }
    let thread_ts = text_arg(args, "thread_ts").filter(|t| !t.is_empty());
    if let Some(thread) = &thread_ts
        && !world
            .messages
            .iter()
            .any(|m| m.channel == channel.id && &m.ts == thread)
    {
        return fail("thread_not_found");
    }
    let metadata = json_arg(args, "metadata");
    let ts = world.next_ts();
    let message = SlackMessage {
        channel: channel.id.clone(),
        ts: ts.clone(),
        text,
        thread_ts,
        metadata,
        files: Vec::new(),
    };
    let shown = message_json(&message, false);
    world.messages.push(message);
    ok(json!({"channel": channel.id, "ts": ts, "message": shown}))
}

fn message_json(message: &SlackMessage, with_metadata: bool) -> Value {
    let mut value = json!({
        "type": "message",
        "user": BOT_USER,
        "bot_id": "B0000000001",
        "text": message.text,
        "ts": message.ts,
    });
    if let Some(thread) = &message.thread_ts {
        value["thread_ts"] = json!(thread);
    }
    if let (true, Some(metadata)) = (with_metadata, &message.metadata) {
        value["metadata"] = metadata.clone();
    }
    if !message.files.is_empty() {
        value["files"] = json!(
            message
                .files
                .iter()
                .map(|id| json!({"id": id}))
                .collect::<Vec<_>>()
        );
    }
    value
}

fn history(world: &World, args: &Map<String, Value>) -> Response {
    let Some(channel) = text_arg(args, "channel").and_then(|id| world.channel(&id).cloned()) else {
        return fail("channel_not_found");
    };
    if !channel.members.iter().any(|m| m == BOT_USER) {
        return fail("not_in_channel");
    }
    let limit = text_arg(args, "limit")
        .and_then(|l| l.parse::<usize>().ok())
        .unwrap_or(100)
        .clamp(1, 999);
    let with_metadata = flag_arg(args, "include_all_metadata");
    let all: Vec<&SlackMessage> = world
        .messages
        .iter()
        .rev()
        .filter(|m| m.channel == channel.id && m.thread_ts.is_none())
        .collect();
    let messages: Vec<Value> = all
        .iter()
        .take(limit)
        .map(|m| message_json(m, with_metadata))
        .collect();
    ok(json!({"messages": messages, "has_more": all.len() > limit}))
}

fn replies(world: &World, args: &Map<String, Value>) -> Response {
    let Some(channel) = text_arg(args, "channel").and_then(|id| world.channel(&id).cloned()) else {
        return fail("channel_not_found");
    };
    let ts = text_arg(args, "ts").unwrap_or_default();
    if !world
        .messages
        .iter()
        .any(|m| m.channel == channel.id && m.ts == ts)
    {
        return fail("thread_not_found");
    }
    let with_metadata = flag_arg(args, "include_all_metadata");
    let messages: Vec<Value> = world
        .messages
        .iter()
        .filter(|m| {
            m.channel == channel.id && (m.ts == ts || m.thread_ts.as_deref() == Some(ts.as_str()))
        })
        .map(|m| message_json(m, with_metadata))
        .collect();
    ok(json!({"messages": messages, "has_more": false}))
}

fn open(world: &mut World, args: &Map<String, Value>) -> Response {
    let users = text_arg(args, "users").unwrap_or_default();
    let user = users.split(',').next().unwrap_or("").trim().to_owned();
    if world.user(&user).is_none() {
        return fail("user_not_found");
    }
    if let Some(existing) = world
        .channels
        .iter()
        .find(|c| c.dm_user.as_deref() == Some(user.as_str()))
    {
        return ok(json!({"channel": {"id": existing.id}, "already_open": true, "no_op": true}));
    }
    let id = format!("D{:010}", synth::next_number());
    world.channels.push(SlackChannel {
        id: id.clone(),
        name: String::new(),
        is_private: true,
        purpose: String::new(),
        members: vec![BOT_USER.to_owned(), user.clone()],
        dm_user: Some(user),
    });
    ok(json!({"channel": {"id": id}}))
}

fn create(world: &mut World, args: &Map<String, Value>) -> Response {
    let name = text_arg(args, "name").unwrap_or_default();
    if name.is_empty() {
        return fail("invalid_name_required");
    }
    if name.chars().count() > 80 {
        return fail("invalid_name_maxlength");
    }
    if !name
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
    {
        return fail("invalid_name_specials");
    }
    if world.channels.iter().any(|c| c.name == name) {
        return fail("name_taken");
    }
    let is_private = flag_arg(args, "is_private");
    let id = format!(
        "{}{:010}",
        if is_private { "G" } else { "C" },
        synth::next_number()
    );
    let channel = SlackChannel {
        id,
        name,
        is_private,
        purpose: String::new(),
        members: vec![BOT_USER.to_owned()],
        dm_user: None,
    };
    let shown = channel_json(&channel, false);
    world.channels.push(channel);
    ok(json!({"channel": shown}))
}

fn set_purpose(world: &mut World, args: &Map<String, Value>) -> Response {
    let id = text_arg(args, "channel").unwrap_or_default();
    let purpose = text_arg(args, "purpose").unwrap_or_default();
    match world.channels.iter_mut().find(|c| c.id == id) {
        Some(channel) => {
            channel.purpose = purpose.clone();
            ok(json!({"purpose": purpose}))
        }
        None => fail("channel_not_found"),
    }
}

fn list(world: &World, args: &Map<String, Value>) -> Response {
    let limit = text_arg(args, "limit")
        .and_then(|l| l.parse::<usize>().ok())
        .unwrap_or(100)
        .clamp(1, 1000);
    let start = match text_arg(args, "cursor").filter(|c| !c.is_empty()) {
        None => 0,
        Some(cursor) => match cursor
            .strip_prefix("dGVhbTpD")
            .and_then(|n| n.parse::<usize>().ok())
        {
            Some(start) => start,
            None => return fail("invalid_cursor"),
        },
    };
    let named: Vec<&SlackChannel> = world
        .channels
        .iter()
        .filter(|c| c.dm_user.is_none())
        .collect();
    let page: Vec<Value> = named
        .iter()
        .skip(start)
        .take(limit)
        .map(|c| channel_json(c, true))
        .collect();
    let next = if start + limit < named.len() {
        format!("dGVhbTpD{}", start + limit)
    } else {
        String::new()
    };
    ok(json!({"channels": page, "response_metadata": {"next_cursor": next}}))
}

fn complete_upload(world: &mut World, args: &Map<String, Value>) -> Response {
    let Some(Value::Array(files)) = json_arg(args, "files") else {
        return fail("invalid_arguments");
    };
    let channel = match text_arg(args, "channel_id") {
        Some(id) => match world.channels.iter().find(|c| c.id == id) {
            Some(channel) if channel.members.iter().any(|m| m == BOT_USER) => {
                Some(channel.id.clone())
            }
            Some(_) => return fail("not_in_channel"),
            None => return fail("channel_not_found"),
        },
        None => None,
    };
    let mut shown = Vec::new();
    let mut ids = Vec::new();
    for entry in &files {
        let id = entry.get("id").and_then(Value::as_str).unwrap_or("");
        let Some(file) = world.files.iter_mut().find(|f| f.id == id) else {
            return fail("file_not_found");
        };
        if file.content.is_none() {
            return fail("file_upload_not_completed");
        }
        file.title = entry
            .get("title")
            .and_then(Value::as_str)
            .map(str::to_owned)
            .or_else(|| Some(file.name.clone()));
        file.channel = channel.clone();
        ids.push(file.id.clone());
        shown.push(json!({
            "id": file.id,
            "name": file.name,
            "title": file.title,
            "size": file.length,
            "permalink": format!("https://aido-emulator.slack.com/files/{}/{}", BOT_USER, file.id),
        }));
    }
    if let Some(channel) = channel {
        let ts = world.next_ts();
        world.messages.push(SlackMessage {
            channel,
            ts,
            text: text_arg(args, "initial_comment").unwrap_or_default(),
            thread_ts: text_arg(args, "thread_ts"),
            metadata: None,
            files: ids,
        });
    }
    ok(json!({"files": shown}))
}

async fn upload(
    State(state): State<Arc<SlackState>>,
    ConnectInfo(connection): ConnectInfo<Connection>,
    request: Incoming,
) -> Response {
    if let Some(answer) = admit(&state.recorder, UPLOAD, &connection, &request).await {
        return answer;
    }
    let id = request.uri.path().trim_start_matches("/upload/").to_owned();
    let mut world = lock(&state.world);
    match world.files.iter_mut().find(|f| f.id == id) {
        Some(file) => {
            file.content = Some(request.body.to_vec());
            let length = request.body.len();
            plain(
                StatusCode::OK,
                &format!("OK - {length}"),
                "text/plain; charset=utf-8",
            )
        }
        None => plain(StatusCode::NOT_FOUND, "Not Found", "text/plain"),
    }
}

impl SlackEmulator {
    /// Every user, by id (for assertions): every user, as `users.info` shows them.
    pub fn users(&self) -> BTreeMap<String, Value> {
        lock(&self.state.world)
            .users
            .iter()
            .map(|u| (u["id"].as_str().unwrap_or("").to_owned(), u.clone()))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn call(emu: &SlackEmulator, method: &str, body: Value) -> Value {
        reqwest::Client::new()
            .post(format!("{}/{method}", emu.base_url()))
            .bearer_auth(emu.token())
            .json(&body)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    #[tokio::test]
    async fn slack_posts_and_answers_with_the_documented_shape() {
        let emu = SlackEmulator::start().await.unwrap();
        let out = call(
            &emu,
            "chat.postMessage",
            json!({"channel": GENERAL, "text": "hi"}),
        )
        .await;
        assert_eq!(out["ok"], true);
        assert_eq!(out["channel"], GENERAL);
        assert_eq!(out["message"]["text"], "hi");
        assert_eq!(out["ts"], out["message"]["ts"]);
        let out = call(
            &emu,
            "chat.postMessage",
            json!({"channel": RANDOM, "text": "hi"}),
        )
        .await;
        assert_eq!(out, json!({"ok": false, "error": "not_in_channel"}));
    }

    #[tokio::test]
    async fn slack_checks_the_token() {
        let emu = SlackEmulator::start().await.unwrap();
        let out: Value = reqwest::Client::new()
            .post(format!("{}/auth.test", emu.base_url()))
            .bearer_auth("xoxb-wrong")
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(out, json!({"ok": false, "error": "invalid_auth"}));
    }

    #[tokio::test]
    async fn slack_reads_form_and_query_arguments() {
        let emu = SlackEmulator::start().await.unwrap();
        let out: Value = reqwest::Client::new()
            .post(format!("{}/users.lookupByEmail", emu.base_url()))
            .bearer_auth(emu.token())
            .header("content-type", "application/x-www-form-urlencoded")
            .body("email=alice%40example.com")
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(out["user"]["id"], ALICE);
        assert_eq!(url_decode("a+b%2Cc%"), "a b,c%");
        // A read with GET and its arguments in the query, as many clients
        // make it.
        let out: Value = reqwest::Client::new()
            .get(format!(
                "{}/users.lookupByEmail?email=alice%40example.com",
                emu.base_url()
            ))
            .bearer_auth(emu.token())
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(out["user"]["id"], ALICE);
    }
}
