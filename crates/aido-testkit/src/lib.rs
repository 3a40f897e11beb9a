//! Emulators of the services aido's plugins talk to, for tests and for
//! `aido sandbox`.
//!
//! Every real-service plugin is tested against an emulator of its service:
//! a local HTTP server that speaks the service's real request and response
//! shapes, checks credentials the way the service does, and misbehaves on
//! request. Plugin crates take this crate as a dev-dependency; the CLI
//! takes it as a normal one to run the emulators as a sandbox for anyone
//! developing a plugin or a workflow without accounts.
//!
//! # The emulators
//!
//! - [`AnthropicEmulator`]: the Messages API (`POST /v1/messages`,
//!   `GET /v1/models`).
//! - [`OpenAiEmulator`]: Chat Completions (`POST /v1/chat/completions`,
//!   `GET /v1/models`), with or without an API key, as OpenAI-compatible
//!   local servers run.
//! - [`WebhookEmulator`]: an incoming webhook of Slack, Discord or Teams.
//! - [`SlackEmulator`]: Slack's Web API (messages, conversations, users,
//!   the external file upload flow).
//! - [`JiraEmulator`]: Jira Cloud's REST API v3 (issues, transitions,
//!   comments, JQL search with `nextPageToken`, changelogs).
//! - [`GitHubEmulator`]: GitHub's REST API (repositories, branches,
//!   contents, pull requests, issues) and git's smart HTTP protocol, so
//!   repositories can be cloned from it and pushed to.
//! - [`MyCustomEmulator`]: the MyCustom Tasks API, a small REST tracker
//!   invented for the `mycustom` example plugin; its module documentation
//!   is the API's reference.
//!
//! Each one is an axum server bound to `127.0.0.1:0` (a free loopback
//! port), started with `start().await` and stopped when its handle is
//! dropped. A handle offers:
//!
//! - `base_url()` (and `api_key()`, or `url()` for a webhook): what to put
//!   in a plugin's configuration;
//! - `requests()`: every request received, as [`RecordedRequest`]s, for
//!   assertions;
//! - `push_reply(...)`: scripted answers;
//! - `push_fault(route, fault)`: a queue of [`Fault`]s per route, one taken
//!   by each request: an error status with its body and headers (429 with
//!   `Retry-After`, 500, Anthropic's 529 overloaded), a malformed JSON body,
//!   added latency, or a connection dropped without an answer. Each module
//!   has builders for its service's real error answers.
//!
//! # Example
//!
//! ```no_run
//! use aido_testkit::{AnthropicEmulator, AnthropicReply, Fault, anthropic};
//!
//! # async fn example() -> std::io::Result<()> {
//! let emulator = AnthropicEmulator::start().await?;
//! emulator.push_fault(anthropic::MESSAGES, Fault::status(500));
//! emulator.push_reply(AnthropicReply::text("Hello!").usage(10, 2));
//! // Configure the plugin with emulator.base_url() and emulator.api_key(),
//! // call it, then look at what it sent:
//! let sent = emulator.requests();
//! # let _ = sent;
//! # Ok(())
//! # }
//! ```

#![deny(missing_docs)]

pub mod anthropic;
pub mod conformance;
mod faults;
pub mod github;
mod incoming;
pub mod jira;
pub mod linear;
pub mod mycustom;
mod noop;
pub mod openai;
mod options;
mod recorder;
mod server;
pub mod slack;
mod synth;
pub mod webhook;

pub use anthropic::{AnthropicEmulator, AnthropicReply};
pub use faults::Fault;
pub use github::GitHubEmulator;
pub(crate) use incoming::Incoming;
pub use jira::JiraEmulator;
pub use mycustom::MyCustomEmulator;
pub use noop::NoOpMonitoring;
pub use openai::{OpenAiEmulator, OpenAiReply};
pub use options::{ApiKey, EmulatorOptions};
pub use recorder::RecordedRequest;
pub use slack::SlackEmulator;
pub use webhook::{WebhookEmulator, WebhookFlavor};
