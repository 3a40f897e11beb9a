//! Prompts, completions, token usage and cost: the `ai_provider` kind's data.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Who said a message in a conversation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// The person (or the engine) asking.
    User,
    /// The model.
    Assistant,
}

/// One turn of a conversation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ChatMessage {
    /// Who said it.
    pub role: Role,
    /// What was said.
    pub content: String,
}

impl ChatMessage {
    /// A user turn.
    pub fn user(content: impl Into<String>) -> Self {
        ChatMessage {
            role: Role::User,
            content: content.into(),
        }
    }
    /// An assistant turn.
    pub fn assistant(content: impl Into<String>) -> Self {
        ChatMessage {
            role: Role::Assistant,
            content: content.into(),
        }
    }
}

/// Input of `generate_text` and `estimate_cost`: one request to a model.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AiRequest {
    /// The system prompt.
    #[serde(default)]
    pub system: Option<String>,
    /// The conversation so far, ending with the user's turn.
    pub messages: Vec<ChatMessage>,
    /// The model; the plugin's configured model when absent.
    #[serde(default)]
    pub model: Option<String>,
    /// The most tokens to generate.
    #[serde(default)]
    pub max_tokens: Option<u32>,
    /// Sampling temperature.
    #[serde(default)]
    pub temperature: Option<f32>,
    /// Stop sequences.
    #[serde(default)]
    pub stop: Vec<String>,
    /// A JSON Schema the answer must follow, for providers that can enforce
    /// one; the engine validates the answer against it either way.
    #[serde(default)]
    pub json_schema: Option<serde_json::Value>,
    /// The working copy a coding-agent provider (`agent_cli`) works in;
    /// providers that only answer text ignore it.
    #[serde(default)]
    pub workdir: Option<String>,
}

/// Tokens spent by one or more calls.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct TokenUsage {
    /// Tokens read.
    pub input_tokens: u64,
    /// Tokens written.
    pub output_tokens: u64,
}

impl TokenUsage {
    /// Input plus output.
    pub fn total(&self) -> u64 {
        self.input_tokens + self.output_tokens
    }
}

/// A model's answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Completion {
    /// The text of the answer.
    pub text: String,
    /// The model that answered.
    pub model: String,
    /// Tokens spent.
    pub usage: TokenUsage,
    /// What it cost, in US dollars.
    pub cost_usd: f64,
    /// Why the model stopped (`end_turn`, `max_tokens`, ...), when known.
    #[serde(default)]
    pub stop_reason: Option<String>,
}

/// Input of `analyze_code`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CodeAnalysisRequest {
    /// The code to look at.
    pub code: String,
    /// Its language.
    #[serde(default)]
    pub language: Option<String>,
    /// What to look for; a general review when absent.
    #[serde(default)]
    pub instructions: Option<String>,
    /// The model; the plugin's configured model when absent.
    #[serde(default)]
    pub model: Option<String>,
}

/// How serious a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// Worth knowing.
    Info,
    /// Worth fixing.
    Warning,
    /// Must be fixed.
    Error,
}

/// One thing an analysis found.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Finding {
    /// How serious it is.
    pub severity: Severity,
    /// The line it is about, counting from 1.
    #[serde(default)]
    pub line: Option<u32>,
    /// What it is.
    pub message: String,
}

/// The result of `analyze_code`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct CodeAnalysis {
    /// A summary in prose.
    pub summary: String,
    /// What was found.
    #[serde(default)]
    pub findings: Vec<Finding>,
    /// Tokens spent.
    pub usage: TokenUsage,
    /// What it cost, in US dollars.
    pub cost_usd: f64,
}

/// A file given to the model as context.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CodeFile {
    /// Its path.
    pub path: String,
    /// Its content.
    pub content: String,
}

/// Input of `generate_code`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CodeGenerationRequest {
    /// What to write.
    pub instructions: String,
    /// The language to write it in.
    #[serde(default)]
    pub language: Option<String>,
    /// Files to read first.
    #[serde(default)]
    pub context: Vec<CodeFile>,
    /// The model; the plugin's configured model when absent.
    #[serde(default)]
    pub model: Option<String>,
    /// The most tokens to generate.
    #[serde(default)]
    pub max_tokens: Option<u32>,
}

/// The result of `generate_code`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct GeneratedCode {
    /// The code.
    pub code: String,
    /// Its language, when known.
    #[serde(default)]
    pub language: Option<String>,
    /// What the model said about it.
    #[serde(default)]
    pub explanation: String,
    /// Tokens spent.
    pub usage: TokenUsage,
    /// What it cost, in US dollars.
    pub cost_usd: f64,
}

/// The result of `estimate_cost`: the most a request can cost.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct CostEstimate {
    /// The model that would answer.
    pub model: String,
    /// Tokens the request would read (counted or estimated).
    pub input_tokens: u64,
    /// The most tokens the answer may have.
    pub max_output_tokens: u64,
    /// The most it can cost, in US dollars.
    pub estimated_cost_usd: f64,
}

/// Input of `get_usage_stats`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct UsageQuery {
    /// Only calls made since then; everything since connect when absent.
    #[serde(default)]
    pub since: Option<DateTime<Utc>>,
}

/// Usage of one model.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ModelUsage {
    /// Calls made.
    pub requests: u64,
    /// Tokens spent.
    pub usage: TokenUsage,
    /// What they cost, in US dollars.
    pub cost_usd: f64,
}

/// The result of `get_usage_stats`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct UsageStats {
    /// Calls made.
    pub requests: u64,
    /// Tokens spent.
    pub usage: TokenUsage,
    /// What they cost, in US dollars.
    pub cost_usd: f64,
    /// The same, model by model.
    #[serde(default)]
    pub by_model: BTreeMap<String, ModelUsage>,
}
