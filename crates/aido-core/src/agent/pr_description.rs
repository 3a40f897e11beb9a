//! `pull_request_description`: a pull request's title and Markdown body,
//! built deterministically from the task, the changed files and the test
//! result (no model involved, so it is always the same for the same run).
//!
//! The body has the sections Summary, Changes, Tests and Task, and a footer
//! naming aido and the run. Long parts are cut so the body stays readable:
//! at most [`MAX_FILES`] files, the last [`MAX_OUTPUT_LINES`] lines (and
//! [`MAX_OUTPUT_CHARS`] characters) of the test output, and a description
//! of at most [`MAX_DESCRIPTION_CHARS`] characters.

use aido_plugin_api::{Effect, Result};
use async_trait::async_trait;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::workflow::builtins::{BuiltinAction, BuiltinContext, BuiltinSpec};

const NAME: &str = "pull_request_description";

/// The most files listed under Changes.
pub const MAX_FILES: usize = 100;
/// The most lines of test output shown.
pub const MAX_OUTPUT_LINES: usize = 40;
/// The most characters of test output shown.
pub const MAX_OUTPUT_CHARS: usize = 4000;
/// The most characters of the task description used as a summary.
pub const MAX_DESCRIPTION_CHARS: usize = 1500;
/// The most characters of the title.
pub const MAX_TITLE_CHARS: usize = 200;

/// The task a pull request implements. Unknown fields are accepted (not
/// denied, unlike the action's other inputs) so a workflow can pass a whole
/// standard `Task` as it is.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
pub struct PrTask {
    /// The task's id, e.g. `PROJ-123`.
    pub id: String,
    /// Its title.
    pub title: String,
    /// Its description.
    #[serde(default)]
    pub description: Option<String>,
    /// Service-specific fields; scalar ones are listed under Task.
    #[serde(default)]
    pub custom_fields: Option<Map<String, Value>>,
}

/// The result of the test command.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PrTestResult {
    /// The command that ran.
    pub command: Vec<String>,
    /// Whether it passed.
    pub success: bool,
    /// Its output; the end is shown.
    #[serde(default)]
    pub output: Option<String>,
}

/// Input of `pull_request_description`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PrDescriptionInput {
    /// The task.
    pub task: PrTask,
    /// What the change does (e.g. from the model's plan); the task's
    /// description is used when absent.
    #[serde(default)]
    pub summary: Option<String>,
    /// The changed files.
    #[serde(default)]
    pub files: Vec<String>,
    /// The test result, when tests ran.
    #[serde(default)]
    pub test_result: Option<PrTestResult>,
    /// A link to the task.
    #[serde(default)]
    pub task_url: Option<String>,
    /// The run that made the change; the current run when absent.
    #[serde(default)]
    pub run_id: Option<String>,
}

/// Output of `pull_request_description`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct PrDescription {
    /// `<task id>: <title>`.
    pub title: String,
    /// The Markdown body.
    pub body: String,
}

/// Builds the title and body.
pub fn pull_request_description(input: &PrDescriptionInput) -> PrDescription {
    let task = &input.task;
    let task_title = one_line(&task.title);
    let title = cut_chars(
        &format!("{}: {task_title}", task.id.trim()),
        MAX_TITLE_CHARS,
    );
    let mut body = String::new();

    body.push_str("## Summary\n\n");
    let summary = input
        .summary
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty());
    let description = task
        .description
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty());
    match (summary, description) {
        (Some(summary), _) => body.push_str(summary),
        (None, Some(description)) => body.push_str(&cut_chars(description, MAX_DESCRIPTION_CHARS)),
        (None, None) => body.push_str(&format!("Implements {}: {task_title}.", task.id.trim())),
    }
    body.push_str("\n\n## Changes\n\n");
    if input.files.is_empty() {
        body.push_str("_No file changes._\n");
    }
    for file in input.files.iter().take(MAX_FILES) {
        body.push_str(&format!("- {}\n", code_span(file)));
    }
    if input.files.len() > MAX_FILES {
        body.push_str(&format!(
            "- ... and {} more\n",
            input.files.len() - MAX_FILES
        ));
    }

    body.push_str("\n## Tests\n\n");
    match &input.test_result {
        None => body.push_str("_No tests were run._\n"),
        Some(result) => {
            let verdict = if result.success { "passed" } else { "failed" };
            body.push_str(&format!(
                "{} **{verdict}**.\n",
                code_span(&result.command.join(" "))
            ));
            let output = result
                .output
                .as_deref()
                .map(|o| tail_lines(o.trim(), MAX_OUTPUT_LINES, MAX_OUTPUT_CHARS))
                .filter(|o| !o.is_empty());
            if let Some(output) = output {
                let fence = "`".repeat(longest_backtick_run(&output).max(2) + 1);
                body.push_str(&format!(
                    "\n<details>\n<summary>Test output</summary>\n\n{fence}text\n{output}\n{fence}\n\n</details>\n"
                ));
            }
        }
    }

    body.push_str("\n## Task\n\n");
    match input
        .task_url
        .as_deref()
        .map(str::trim)
        .filter(|u| !u.is_empty())
    {
        Some(url) => body.push_str(&format!(
            "[{}: {}](<{url}>)\n",
            task.id.trim(),
            escape_link_text(&task_title)
        )),
        None => body.push_str(&format!("{}: {task_title}\n", task.id.trim())),
    }
    if let Some(fields) = &task.custom_fields {
        let scalars: Vec<(String, String)> = fields
            .iter()
            .filter_map(|(key, value)| scalar_text(value).map(|v| (key.clone(), v)))
            .collect();
        if !scalars.is_empty() {
            body.push('\n');
            for (key, value) in scalars {
                body.push_str(&format!("- **{}**: {}\n", one_line(&key), value));
            }
        }
    }

    body.push_str("\n---\n");
    match input
        .run_id
        .as_deref()
        .map(str::trim)
        .filter(|r| !r.is_empty())
    {
        Some(run) => body.push_str(&format!("_Generated by aido in run {}._\n", code_span(run))),
        None => body.push_str("_Generated by aido._\n"),
    }
    PrDescription { title, body }
}

fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn cut_chars(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let mut cut: String = text.chars().take(max.saturating_sub(3)).collect();
    cut.truncate(cut.trim_end().len());
    cut.push_str("...");
    cut
}

/// The last `max_lines` lines of `text`, at most `max_chars` characters,
/// marked when cut (the end of test output is where failures are reported).
fn tail_lines(text: &str, max_lines: usize, max_chars: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    let skipped_lines = lines.len().saturating_sub(max_lines);
    let mut kept = lines[skipped_lines..].join("\n");
    let chars = kept.chars().count();
    if chars > max_chars {
        kept = kept.chars().skip(chars - max_chars).collect();
    }
    if skipped_lines > 0 || chars > max_chars {
        format!("[... output cut ...]\n{kept}")
    } else {
        kept
    }
}

fn longest_backtick_run(text: &str) -> usize {
    text.split(|c| c != '`').map(str::len).max().unwrap_or(0)
}

/// `text` as inline code, with a fence longer than any backtick run in it.
fn code_span(text: &str) -> String {
    let text = one_line(text);
    let ticks = "`".repeat(longest_backtick_run(&text) + 1);
    if text.starts_with('`') || text.ends_with('`') {
        format!("{ticks} {text} {ticks}")
    } else {
        format!("{ticks}{text}{ticks}")
    }
}

fn escape_link_text(text: &str) -> String {
    text.replace('\\', "\\\\")
        .replace('[', "\\[")
        .replace(']', "\\]")
}

fn scalar_text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) if !s.trim().is_empty() => Some(cut_chars(&one_line(s), 200)),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// The `pull_request_description` built-in action.
pub struct PullRequestDescription {
    spec: BuiltinSpec,
}

impl PullRequestDescription {
    /// The action.
    pub fn new() -> Self {
        PullRequestDescription {
            spec: BuiltinSpec::new::<PrDescriptionInput, PrDescription>(
                NAME,
                "A pull request's title (`<task id>: <title>`) and Markdown body (summary, changed files, test result, task link), built deterministically.",
                Effect::Read,
            ),
        }
    }
}

impl Default for PullRequestDescription {
    fn default() -> Self {
        PullRequestDescription::new()
    }
}

#[async_trait]
impl BuiltinAction for PullRequestDescription {
    fn spec(&self) -> &BuiltinSpec {
        &self.spec
    }

    async fn run(&self, cx: &BuiltinContext, input: Value) -> Result<Value> {
        let mut input: PrDescriptionInput = super::decode(NAME, input)?;
        if input.run_id.is_none() {
            input.run_id = Some(cx.run_id.clone());
        }
        super::encode(&pull_request_description(&input))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn input(value: Value) -> PrDescriptionInput {
        serde_json::from_value(value).unwrap()
    }

    #[test]
    fn full_description() {
        let out = pull_request_description(&input(json!({
            "task": {
                "id": "PROJ-42",
                "title": "Rate-limit   login\nattempts",
                "description": "Too many attempts should be refused.",
                "status": "in_progress",
                "custom_fields": {"team": "auth", "points": 3, "meta": {"x": 1}}
            },
            "summary": "Adds a token bucket in front of `POST /login`.",
            "files": ["src/login.rs", "tests/login.rs"],
            "test_result": {"command": ["cargo", "test"], "success": true, "output": "running 2 tests\ntest ok\n\ntest result: ok. 2 passed"},
            "task_url": "https://tracker.example/PROJ-42",
            "run_id": "run-7"
        })));
        assert_eq!(out.title, "PROJ-42: Rate-limit login attempts");
        assert_eq!(
            out.body,
            "## Summary

Adds a token bucket in front of `POST /login`.

## Changes

- `src/login.rs`
- `tests/login.rs`

## Tests

`cargo test` **passed**.

<details>
<summary>Test output</summary>

```text
running 2 tests
test ok

test result: ok. 2 passed
```

</details>

## Task

[PROJ-42: Rate-limit login attempts](<https://tracker.example/PROJ-42>)

- **team**: auth
- **points**: 3

---
_Generated by aido in run `run-7`._
"
        );
    }

    #[test]
    fn minimal_description() {
        let out = pull_request_description(&input(json!({
            "task": {"id": "T-1", "title": "Tidy [docs]"}
        })));
        assert_eq!(out.title, "T-1: Tidy [docs]");
        assert_eq!(
            out.body,
            "## Summary

Implements T-1: Tidy [docs].

## Changes

_No file changes._

## Tests

_No tests were run._

## Task

T-1: Tidy [docs]

---
_Generated by aido._
"
        );
    }

    #[test]
    fn failed_tests_show_the_end_of_the_output_safely_fenced() {
        let output: String =
            (1..=100).map(|i| format!("line {i}\n")).collect::<String>() + "```oops```";
        let out = pull_request_description(&input(json!({
            "task": {"id": "T-2", "title": "x", "description": "From the description."},
            "files": (0..105).map(|i| format!("f{i}.rs")).collect::<Vec<_>>(),
            "test_result": {"command": ["npm", "test"], "success": false, "output": output}
        })));
        let body = &out.body;
        assert!(
            body.starts_with("## Summary\n\nFrom the description.\n"),
            "{body}"
        );
        assert!(body.contains("`npm test` **failed**."), "{body}");
        assert!(
            body.contains("\n````text\n[... output cut ...]\nline 62\n"),
            "{body}"
        );
        assert!(body.contains("line 100\n```oops```\n````\n"), "{body}");
        assert!(!body.contains("line 61\n"), "{body}");
        assert!(body.contains("- `f99.rs`\n- ... and 5 more\n"), "{body}");
    }

    #[tokio::test]
    async fn the_action_names_the_current_run_and_rejects_unknown_fields() {
        let cx = BuiltinContext {
            run_id: "run-9".into(),
            step: "s".into(),
            workspace: std::env::temp_dir(),
            idempotency_key: "k".into(),
        };
        let action = PullRequestDescription::new();
        let out = action
            .run(
                &cx,
                json!({"task": {"id": "A-1", "title": "T"}, "files": ["a"]}),
            )
            .await
            .unwrap();
        assert_eq!(out["title"], "A-1: T");
        assert!(
            out["body"]
                .as_str()
                .unwrap()
                .ends_with("_Generated by aido in run `run-9`._\n")
        );
        let err = action
            .run(
                &cx,
                json!({"task": {"id": "A-1", "title": "T"}, "file": []}),
            )
            .await
            .unwrap_err();
        assert!(err.message().contains("unknown field `file`"), "{err}");
    }
}
