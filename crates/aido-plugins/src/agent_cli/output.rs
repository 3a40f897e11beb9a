//! Reading an agent's answer, and what it says it spent, from its stdout.
//!
//! - Claude Code (`--output-format json`) prints one result object:
//!   `result` (the final message), `is_error`, `subtype`, `stop_reason`,
//!   `total_cost_usd` (older versions: `cost_usd`), `usage`
//!   (`input_tokens`, `output_tokens`, `cache_creation_input_tokens`,
//!   `cache_read_input_tokens`) and `modelUsage` (per model). Input tokens
//!   are reported as all three input counts together, since each was read
//!   by the model.
//! - Codex (`exec --json`) prints JSONL events: the last `item.completed`
//!   whose item is an `agent_message` holds the answer, each
//!   `turn.completed` holds that turn's `usage` (`input_tokens` already
//!   counts `cached_input_tokens`), and `turn.failed` / `error` say why it
//!   failed. Codex reports no cost.
//! - Anything else is text: the whole stdout, trimmed, without terminal
//!   colour codes.

use std::collections::BTreeMap;

use aido_plugin_api::model::ai::TokenUsage;
use serde::Deserialize;

use super::preset::OutputFormat;

/// What an agent's stdout says.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct AgentOutput {
    /// The agent's final message.
    pub text: String,
    /// Tokens, when the agent reported them.
    pub usage: Option<TokenUsage>,
    /// Cost in US dollars, when the agent reported it.
    pub cost_usd: Option<f64>,
    /// The model that did most of the work, when the agent said.
    pub model: Option<String>,
    /// Why it stopped, when the agent said.
    pub stop_reason: Option<String>,
    /// The agent's own report of a failure, even with exit status 0.
    pub error: Option<String>,
}

/// Why stdout could not be read in the expected format.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Unreadable {
    /// What was expected.
    pub expected: &'static str,
}

/// Reads `stdout` as `format` says.
pub(crate) fn parse(format: OutputFormat, stdout: &str) -> Result<AgentOutput, Unreadable> {
    match format {
        OutputFormat::ClaudeJson => claude_result(stdout).ok_or(Unreadable {
            expected: "Claude Code's JSON result object (`--output-format json`)",
        }),
        OutputFormat::CodexJsonl => Ok(codex_events(stdout).unwrap_or_else(|| text(stdout))),
        OutputFormat::Text => Ok(text(stdout)),
        OutputFormat::Auto => Ok(claude_result(stdout).unwrap_or_else(|| text(stdout))),
    }
}

/// Plain text output.
fn text(stdout: &str) -> AgentOutput {
    AgentOutput {
        text: strip_ansi(stdout).trim().to_owned(),
        ..AgentOutput::default()
    }
}

/// Claude Code's result object.
#[derive(Debug, Deserialize)]
struct ClaudeResult {
    #[serde(rename = "type")]
    kind: Option<String>,
    #[serde(default)]
    subtype: Option<String>,
    #[serde(default)]
    is_error: bool,
    result: Option<String>,
    #[serde(default)]
    stop_reason: Option<String>,
    #[serde(default)]
    total_cost_usd: Option<f64>,
    #[serde(default)]
    cost_usd: Option<f64>,
    #[serde(default)]
    usage: Option<ClaudeUsage>,
    #[serde(default, rename = "modelUsage")]
    model_usage: BTreeMap<String, ClaudeModelUsage>,
}

#[derive(Debug, Default, Deserialize)]
struct ClaudeUsage {
    #[serde(default)]
    input_tokens: u64,
    #[serde(default)]
    output_tokens: u64,
    #[serde(default)]
    cache_creation_input_tokens: u64,
    #[serde(default)]
    cache_read_input_tokens: u64,
}

#[derive(Debug, Default, Deserialize)]
struct ClaudeModelUsage {
    #[serde(default, rename = "costUSD")]
    cost_usd: f64,
    #[serde(default, rename = "outputTokens")]
    output_tokens: u64,
}

/// The result object: the whole stdout, or else the last line that is one
/// (so a `stream-json` override, or a warning printed before the JSON, still
/// works).
fn claude_result(stdout: &str) -> Option<AgentOutput> {
    let whole = serde_json::from_str::<ClaudeResult>(stdout.trim()).ok();
    let result = whole.filter(is_result).or_else(|| {
        stdout
            .lines()
            .rev()
            .filter(|line| line.trim_start().starts_with('{'))
            .filter_map(|line| serde_json::from_str::<ClaudeResult>(line).ok())
            .find(is_result)
    })?;
    Some(from_claude(result))
}

/// A result object has a `result`, or says it is one (error results may
/// lack the text).
fn is_result(result: &ClaudeResult) -> bool {
    result.result.is_some() || result.kind.as_deref() == Some("result")
}

fn from_claude(result: ClaudeResult) -> AgentOutput {
    let usage = result.usage.map(|usage| TokenUsage {
        input_tokens: usage.input_tokens
            + usage.cache_creation_input_tokens
            + usage.cache_read_input_tokens,
        output_tokens: usage.output_tokens,
    });
    let model = result
        .model_usage
        .iter()
        .max_by(|a, b| {
            (a.1.cost_usd, a.1.output_tokens)
                .partial_cmp(&(b.1.cost_usd, b.1.output_tokens))
                .unwrap_or(std::cmp::Ordering::Equal)
        })
        .map(|(model, _)| model.clone());
    let text = result.result.unwrap_or_default();
    let error = result.is_error.then(|| {
        if text.trim().is_empty() {
            result.subtype.clone().unwrap_or_else(|| "error".to_owned())
        } else {
            text.trim().to_owned()
        }
    });
    // `error_max_turns` and the like, when not flagged as errors, are
    // stops, not failures.
    let stop_reason = result.stop_reason.or_else(|| {
        result
            .subtype
            .as_deref()
            .and_then(|subtype| subtype.strip_prefix("error_"))
            .map(str::to_owned)
    });
    AgentOutput {
        text: text.trim().to_owned(),
        usage,
        cost_usd: result.total_cost_usd.or(result.cost_usd),
        model,
        stop_reason,
        error,
    }
}

/// Codex's events; `None` when stdout holds none (an override without
/// `--json`), so that it is read as text instead.
fn codex_events(stdout: &str) -> Option<AgentOutput> {
    let mut output = AgentOutput::default();
    let mut seen = false;
    let mut usage: Option<TokenUsage> = None;
    for line in stdout.lines() {
        let Ok(event) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        let Some(kind) = event.get("type").and_then(|t| t.as_str()) else {
            continue;
        };
        seen = true;
        match kind {
            "item.completed" => {
                let item = &event["item"];
                if item["type"] == "agent_message"
                    && let Some(text) = item["text"].as_str()
                {
                    output.text = text.trim().to_owned();
                }
            }
            "turn.completed" => {
                let turn = &event["usage"];
                let total = usage.get_or_insert_with(TokenUsage::default);
                total.input_tokens += turn["input_tokens"].as_u64().unwrap_or(0);
                total.output_tokens += turn["output_tokens"].as_u64().unwrap_or(0);
            }
            "turn.failed" => {
                output.error = event["error"]["message"]
                    .as_str()
                    .map(str::to_owned)
                    .or_else(|| Some("the turn failed".to_owned()));
            }
            "error" => {
                output.error = event["message"]
                    .as_str()
                    .map(str::to_owned)
                    .or_else(|| Some("error".to_owned()));
            }
            _ => {}
        }
    }
    output.usage = usage;
    seen.then_some(output)
}

/// `text` without ANSI escape sequences (colours, cursor moves), which
/// agents print when they think they talk to a terminal.
pub(crate) fn strip_ansi(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\u{1b}' {
            out.push(c);
            continue;
        }
        match chars.peek() {
            // CSI: ESC [ parameters, then one final byte in '@'..='~'.
            Some('[') => {
                chars.next();
                for c in chars.by_ref() {
                    if ('@'..='~').contains(&c) {
                        break;
                    }
                }
            }
            // OSC: ESC ] ... ended by BEL or ESC \.
            Some(']') => {
                chars.next();
                while let Some(c) = chars.next() {
                    if c == '\u{7}' {
                        break;
                    }
                    if c == '\u{1b}' && chars.peek() == Some(&'\\') {
                        chars.next();
                        break;
                    }
                }
            }
            // Any other escape: intermediate characters (`(` in `ESC ( B`,
            // which picks a character set), then one final character.
            Some(_) => {
                while chars.next_if(|c| (' '..='/').contains(c)).is_some() {}
                chars.next();
            }
            None => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const CLAUDE: &str = r#"{"type":"result","subtype":"success","is_error":false,
        "duration_ms":1998,"num_turns":3,"result":"Added the endpoint.\n",
        "stop_reason":"end_turn","session_id":"0e63","total_cost_usd":0.0123,
        "usage":{"input_tokens":3,"cache_creation_input_tokens":100,
                 "cache_read_input_tokens":15635,"output_tokens":6},
        "modelUsage":{"claude-haiku-4-5":{"costUSD":0.001,"outputTokens":50},
                      "claude-sonnet-4-5":{"costUSD":0.0113,"outputTokens":900}}}"#;

    #[test]
    fn claude_codes_result_gives_text_usage_cost_and_model() {
        let out = parse(OutputFormat::ClaudeJson, CLAUDE).unwrap();
        assert_eq!(out.text, "Added the endpoint.");
        assert_eq!(
            out.usage,
            Some(TokenUsage {
                input_tokens: 15738,
                output_tokens: 6
            })
        );
        assert_eq!(out.cost_usd, Some(0.0123));
        assert_eq!(out.model.as_deref(), Some("claude-sonnet-4-5"));
        assert_eq!(out.stop_reason.as_deref(), Some("end_turn"));
        assert_eq!(out.error, None);
    }

    #[test]
    fn claude_errors_and_noise_before_the_json() {
        let stdout = "warning: update available\n\
            {\"type\":\"result\",\"subtype\":\"error_during_execution\",\"is_error\":true,\
            \"cost_usd\":0.5}\n";
        let out = parse(OutputFormat::ClaudeJson, stdout).unwrap();
        assert_eq!(out.error.as_deref(), Some("error_during_execution"));
        assert_eq!(out.cost_usd, Some(0.5), "the legacy field is read too");
        assert_eq!(out.stop_reason.as_deref(), Some("during_execution"));
    }

    #[test]
    fn claude_output_that_is_not_json_is_unreadable() {
        let err = parse(OutputFormat::ClaudeJson, "Hello there").unwrap_err();
        assert!(err.expected.contains("--output-format json"));
        // `{}` has neither a result nor a type.
        assert!(parse(OutputFormat::ClaudeJson, "{}").is_err());
    }

    #[test]
    fn codex_events_give_the_last_message_and_summed_usage() {
        let stdout = r#"{"type":"thread.started","thread_id":"t1"}
{"type":"turn.started"}
{"type":"item.completed","item":{"id":"i0","type":"reasoning","text":"thinking"}}
{"type":"item.completed","item":{"id":"i1","type":"agent_message","text":"first"}}
{"type":"item.completed","item":{"id":"i2","type":"file_change","changes":[],"status":"completed"}}
{"type":"item.completed","item":{"id":"i3","type":"agent_message","text":"Done.\n"}}
{"type":"turn.completed","usage":{"input_tokens":1200,"cached_input_tokens":1000,"output_tokens":80}}
{"type":"turn.completed","usage":{"input_tokens":10,"cached_input_tokens":0,"output_tokens":5}}
"#;
        let out = parse(OutputFormat::CodexJsonl, stdout).unwrap();
        assert_eq!(out.text, "Done.");
        assert_eq!(
            out.usage,
            Some(TokenUsage {
                input_tokens: 1210,
                output_tokens: 85
            })
        );
        assert_eq!(out.cost_usd, None);
        assert_eq!(out.error, None);
    }

    #[test]
    fn codex_failures_and_plain_output() {
        let stdout = r#"{"type":"turn.failed","error":{"message":"quota exceeded"}}"#;
        let out = parse(OutputFormat::CodexJsonl, stdout).unwrap();
        assert_eq!(out.error.as_deref(), Some("quota exceeded"));
        let out = parse(OutputFormat::CodexJsonl, "plain final message\n").unwrap();
        assert_eq!(out.text, "plain final message");
        assert_eq!(out.usage, None);
    }

    #[test]
    fn text_and_auto() {
        let out = parse(
            OutputFormat::Text,
            "\u{1b}[1;32mApplied edit\u{1b}[0m to a.py\n",
        )
        .unwrap();
        assert_eq!(out.text, "Applied edit to a.py");
        let out = parse(OutputFormat::Auto, CLAUDE).unwrap();
        assert_eq!(out.cost_usd, Some(0.0123));
        let out = parse(OutputFormat::Auto, "{\"not\": \"a result\"}").unwrap();
        assert_eq!(out.text, "{\"not\": \"a result\"}");
    }

    #[test]
    fn ansi_sequences_are_removed() {
        assert_eq!(
            strip_ansi("a\u{1b}[2Kb\u{1b}]0;title\u{7}c\u{1b}(Bd"),
            "abcd"
        );
        assert_eq!(strip_ansi("plain é"), "plain é");
        assert_eq!(strip_ansi("end\u{1b}"), "end");
    }
}
