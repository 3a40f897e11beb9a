//! The development loop, as the built-in action `implement`: edits from the
//! AI provider in aido's edit format, applied safely, then verified with the
//! repository's own test command, with the failures fed back to the model
//! for a bounded number of rounds.
//!
//! ```text
//! ask for edits ──► apply_edits ──refused──► tell the model why (≤ max_edit_rounds)
//!                      │ applied
//!                      ▼
//!                 test command ──fails──► ask for a fix, apply (≤ max_fix_rounds)
//!                      │ passes
//!                      ▼
//!                 files changed, test result
//! ```
//!
//! A coding-agent CLI provider (`agent_cli`) edits the workspace itself; its
//! answer holds no edit blocks, and a changed working copy counts as the
//! edits having been made. Every AI call goes through [`AiAccess`], so the
//! run's budgets hold here as in AI steps.

mod prompts;

use std::sync::Arc;

use async_trait::async_trait;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use aido_plugin_api::model::ai::{AiRequest, ChatMessage};
use aido_plugin_api::{Effect, Error, ErrorKind, Result};

use crate::workflow::builtins::{AiAccess, BuiltinAction, BuiltinContext, BuiltinSpec, Builtins};

/// The task, as much of it as the loop needs (a whole task from `get_task`
/// fits).
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
pub struct TaskBrief {
    /// Its identifier.
    pub id: String,
    /// Its title.
    pub title: String,
    /// Its description.
    #[serde(default)]
    pub description: String,
}

/// One file of the codebase context.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
pub struct ContextFile {
    /// Its path.
    pub path: String,
    /// Its content.
    pub content: String,
}

/// The output of `codebase_context` (extra fields are ignored).
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
pub struct ContextInput {
    /// The file tree.
    #[serde(default)]
    pub tree: String,
    /// The most relevant files.
    #[serde(default)]
    pub files: Vec<ContextFile>,
}

/// Input of `implement`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ImplementInput {
    /// The task.
    pub task: TaskBrief,
    /// The plan, from an earlier AI step.
    #[serde(default)]
    pub plan: Option<Value>,
    /// The codebase context, from `codebase_context`.
    #[serde(default)]
    pub context: Option<ContextInput>,
    /// The working copy, relative to the workspace (or absolute inside it).
    #[serde(default)]
    pub workdir: Option<String>,
    /// The test command; no verification when absent.
    #[serde(default)]
    pub test_command: Option<Vec<String>>,
    /// How many times refused edits go back to the model (default 3).
    #[serde(default)]
    pub max_edit_rounds: Option<u32>,
    /// How many times failing tests go back to the model (default 2).
    #[serde(default)]
    pub max_fix_rounds: Option<u32>,
    /// The most tokens per answer (default 4096).
    #[serde(default)]
    pub max_tokens: Option<u32>,
    /// Seconds the test command may take (default 600).
    #[serde(default)]
    pub test_timeout: Option<f64>,
}

/// The test command's result.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct TestResult {
    /// The command.
    pub command: Vec<String>,
    /// Whether it passed.
    pub success: bool,
    /// The end of its output.
    pub output: String,
}

/// Output of `implement`.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct ImplementOutput {
    /// What the model said about its change.
    pub summary: String,
    /// The files changed in the working copy.
    pub files: Vec<String>,
    /// Rounds of edits (1 when the first edits applied).
    pub edit_rounds: u32,
    /// Rounds of fixes after failing tests.
    pub fix_rounds: u32,
    /// The last test run, when there was a test command.
    pub test: Option<TestResult>,
}

/// The `implement` built-in action.
pub struct Implement {
    spec: BuiltinSpec,
    ai: Arc<dyn AiAccess>,
    tools: Builtins,
}

impl Implement {
    /// The action, calling the AI through `ai` and the other built-ins
    /// (`apply_edits`, `run_command`, `changed_files`) of `tools`.
    pub fn new(ai: Arc<dyn AiAccess>, tools: Builtins) -> Self {
        Implement {
            spec: BuiltinSpec::new::<ImplementInput, ImplementOutput>(
                "implement",
                "Asks the AI provider for edits to the working copy, applies them safely, runs the test command, and feeds refusals and failures back for a bounded number of rounds.",
                Effect::Write,
            ),
            ai,
            tools,
        }
    }

    async fn tool(&self, cx: &BuiltinContext, name: &str, input: Value) -> Result<Value> {
        let tool = self.tools.get(name).ok_or_else(|| {
            Error::configuration(format!("the built-in action `{name}` is missing"))
        })?;
        tool.run(cx, input).await
    }

    async fn changed(&self, cx: &BuiltinContext, workdir: &Option<String>) -> Result<Vec<String>> {
        let out = self
            .tool(cx, "changed_files", json!({ "workdir": workdir }))
            .await?;
        Ok(out["files"]
            .as_array()
            .map(|files| {
                files
                    .iter()
                    .filter_map(|f| f["path"].as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default())
    }

    /// Asks, applies, and on refusal asks again, up to `rounds` times.
    /// Returns the answers' explanation and the rounds used.
    async fn edit(
        &self,
        cx: &BuiltinContext,
        conversation: &mut Vec<ChatMessage>,
        calls: &mut u32,
        input: &ImplementInput,
        rounds: u32,
    ) -> Result<(String, u32)> {
        let mut last_reasons = String::new();
        for round in 1..=rounds {
            let answer = self.ask(cx, conversation, calls, input).await?;
            let before = self.changed(cx, &input.workdir).await?;
            let applied = self
                .tool(
                    cx,
                    "apply_edits",
                    json!({ "edits": answer, "workdir": input.workdir }),
                )
                .await;
            match applied {
                Ok(_) => return Ok((explanation(&answer), round)),
                Err(err) if err.kind() == ErrorKind::InvalidInput => {
                    // A coding-agent CLI edits the files itself and answers
                    // in prose: a changed working copy is its edit.
                    if !before.is_empty() && no_edit_blocks(err.message()) {
                        return Ok((explanation(&answer), round));
                    }
                    last_reasons = err.message().to_owned();
                    conversation.push(ChatMessage::user(prompts::refused(&last_reasons)));
                }
                Err(err) => return Err(err),
            }
        }
        Err(Error::other(format!(
            "the model's edits did not apply after {rounds} round(s): {last_reasons}"
        )))
    }

    async fn ask(
        &self,
        cx: &BuiltinContext,
        conversation: &mut Vec<ChatMessage>,
        calls: &mut u32,
        input: &ImplementInput,
    ) -> Result<String> {
        *calls += 1;
        let workdir =
            crate::agent::workdir::resolve_workdir(&cx.workspace, input.workdir.as_deref())?;
        let request = AiRequest {
            system: Some(prompts::system()),
            messages: conversation.clone(),
            max_tokens: Some(input.max_tokens.unwrap_or(4096)),
            temperature: Some(0.0),
            workdir: Some(workdir.display().to_string()),
            ..Default::default()
        };
        let completion = self.ai.complete(cx, *calls, request).await?;
        conversation.push(ChatMessage::assistant(completion.text.clone()));
        Ok(completion.text)
    }

    async fn test(
        &self,
        cx: &BuiltinContext,
        command: &[String],
        input: &ImplementInput,
    ) -> Result<TestResult> {
        let workdir = input.workdir.clone();
        let out = self
            .tool(
                cx,
                "run_command",
                json!({
                    "command": command,
                    "cwd": workdir,
                    "timeout": input.test_timeout.unwrap_or(600.0),
                    "allow_failure": true,
                    "max_output_bytes": 6000,
                }),
            )
            .await?;
        let output = [
            out["stdout"].as_str().unwrap_or(""),
            out["stderr"].as_str().unwrap_or(""),
        ]
        .iter()
        .filter(|s| !s.is_empty())
        .copied()
        .collect::<Vec<_>>()
        .join("\n");
        Ok(TestResult {
            command: command.to_vec(),
            success: out["success"] == Value::Bool(true),
            output,
        })
    }
}

/// Whether `apply_edits` refused because the answer held no edits at all.
fn no_edit_blocks(message: &str) -> bool {
    let message = message.to_ascii_lowercase();
    message.contains("no edit") || message.contains("no edits")
}

/// The prose of an answer, without its edit blocks, for the summary.
fn explanation(answer: &str) -> String {
    let mut out = Vec::new();
    let mut in_block = false;
    for line in answer.lines() {
        let trimmed = line.trim();
        if trimmed.starts_with("<<<<<") {
            in_block = true;
            // The path line before the block is not prose either.
            if let Some(last) = out.last()
                && !String::is_empty(last)
            {
                out.pop();
            }
            continue;
        }
        if trimmed.starts_with(">>>>>") {
            in_block = false;
            continue;
        }
        if !in_block && !trimmed.starts_with("```") {
            out.push(line.to_owned());
        }
    }
    let text = out.join("\n");
    let text = text.trim();
    text.chars().take(2000).collect()
}

#[async_trait]
impl BuiltinAction for Implement {
    fn spec(&self) -> &BuiltinSpec {
        &self.spec
    }

    async fn run(&self, cx: &BuiltinContext, input: Value) -> Result<Value> {
        let input: ImplementInput = serde_json::from_value(input).map_err(|err| {
            Error::invalid_input(format!(
                "the input of `implement` does not fit its schema: {err}"
            ))
        })?;
        let mut conversation = vec![ChatMessage::user(prompts::implement(
            &input.task,
            input.plan.as_ref(),
            input.context.as_ref(),
        ))];
        let mut calls = 0;
        let (summary, edit_rounds) = self
            .edit(
                cx,
                &mut conversation,
                &mut calls,
                &input,
                input.max_edit_rounds.unwrap_or(3).max(1),
            )
            .await?;

        let mut fix_rounds = 0;
        let mut test = None;
        if let Some(command) = input.test_command.as_deref().filter(|c| !c.is_empty()) {
            let max_fix_rounds = input.max_fix_rounds.unwrap_or(2);
            let mut result = self.test(cx, command, &input).await?;
            while !result.success && fix_rounds < max_fix_rounds {
                fix_rounds += 1;
                conversation.push(ChatMessage::user(prompts::tests_failed(
                    command,
                    &result.output,
                )));
                self.edit(
                    cx,
                    &mut conversation,
                    &mut calls,
                    &input,
                    input.max_edit_rounds.unwrap_or(3).max(1),
                )
                .await?;
                result = self.test(cx, command, &input).await?;
            }
            if !result.success {
                let tail: String = result
                    .output
                    .chars()
                    .rev()
                    .take(1500)
                    .collect::<Vec<_>>()
                    .into_iter()
                    .rev()
                    .collect();
                return Err(Error::other(format!(
                    "`{}` still fails after {fix_rounds} fix round(s):\n{tail}",
                    command.join(" ")
                )));
            }
            test = Some(result);
        }
        let files = self.changed(cx, &input.workdir).await?;
        if files.is_empty() {
            return Err(Error::other(
                "the model's answer changed no file; nothing to commit",
            ));
        }
        let output = ImplementOutput {
            summary,
            files,
            edit_rounds,
            fix_rounds,
            test,
        };
        serde_json::to_value(output)
            .map_err(|err| Error::other(format!("cannot encode the output: {err}")))
    }
}

/// Every built-in action: the standard ones, the agent's building blocks
/// and `implement`, which calls the AI through `ai`.
pub fn all_builtins(security: &crate::config::SecurityConfig, ai: Arc<dyn AiAccess>) -> Builtins {
    let mut builtins = Builtins::standard();
    for action in crate::agent::agent_builtins(security) {
        builtins.add(action);
    }
    let tools = builtins.clone();
    builtins.add(Arc::new(Implement::new(ai, tools)));
    builtins
}

/// An [`AiAccess`] for checking workflows, where nothing is called.
pub struct NoAi;

#[async_trait]
impl AiAccess for NoAi {
    async fn complete(
        &self,
        _: &BuiltinContext,
        _: u32,
        _: AiRequest,
    ) -> Result<aido_plugin_api::model::ai::Completion> {
        Err(Error::configuration("no AI provider is connected here"))
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;
    use std::sync::Mutex;

    use aido_plugin_api::model::ai::{Completion, TokenUsage};

    use super::*;

    /// Answers from a queue, and remembers what it was asked.
    struct QueuedAi {
        answers: Mutex<Vec<String>>,
        asked: Mutex<Vec<AiRequest>>,
    }

    #[async_trait]
    impl AiAccess for QueuedAi {
        async fn complete(
            &self,
            _: &BuiltinContext,
            _: u32,
            request: AiRequest,
        ) -> Result<Completion> {
            self.asked.lock().unwrap().push(request);
            let text = self.answers.lock().unwrap().remove(0);
            Ok(Completion {
                text,
                model: "queued".into(),
                usage: TokenUsage::default(),
                cost_usd: 0.0,
                stop_reason: None,
            })
        }
    }

    fn git(dir: &Path, args: &[&str]) {
        let status = std::process::Command::new("git")
            .args(["-c", "user.name=t", "-c", "user.email=t@t"])
            .args(args)
            .current_dir(dir)
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .status()
            .unwrap();
        assert!(status.success());
    }

    /// A workspace holding a git working copy `repo` with a failing check.
    fn workspace() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        let repo = dir.path().join("repo");
        std::fs::create_dir_all(&repo).unwrap();
        std::fs::write(repo.join("value.txt"), "answer = 41\n").unwrap();
        git(&repo, &["init", "--quiet"]);
        git(&repo, &["add", "--all"]);
        git(&repo, &["commit", "--quiet", "-m", "start"]);
        dir
    }

    async fn implement(answers: &[&str], dir: &Path) -> (Result<Value>, Vec<AiRequest>) {
        let ai = Arc::new(QueuedAi {
            answers: Mutex::new(answers.iter().map(|s| s.to_string()).collect()),
            asked: Mutex::default(),
        });
        let builtins = all_builtins(&Default::default(), ai.clone());
        let cx = BuiltinContext {
            run_id: "r".into(),
            step: "implement".into(),
            workspace: dir.to_owned(),
            idempotency_key: "k".into(),
        };
        let input = json!({
            "task": {"id": "T-1", "title": "Make the answer 42"},
            "workdir": "repo",
            "test_command": ["grep", "-q", "answer = 42", "value.txt"],
            "max_edit_rounds": 2,
            "max_fix_rounds": 1,
        });
        let result = builtins.get("implement").unwrap().run(&cx, input).await;
        let asked = ai.asked.lock().unwrap().clone();
        (result, asked)
    }

    const GOOD: &str =
        "Fixed.\n\nvalue.txt\n<<<<<<< SEARCH\nanswer = 41\n=======\nanswer = 42\n>>>>>>> REPLACE\n";
    const WRONG_SEARCH: &str =
        "value.txt\n<<<<<<< SEARCH\nanswer = 40\n=======\nanswer = 42\n>>>>>>> REPLACE\n";
    const WRONG_FIX: &str =
        "value.txt\n<<<<<<< SEARCH\nanswer = 41\n=======\nanswer = 43\n>>>>>>> REPLACE\n";
    const SECOND_FIX: &str =
        "value.txt\n<<<<<<< SEARCH\nanswer = 43\n=======\nanswer = 42\n>>>>>>> REPLACE\n";

    #[tokio::test]
    async fn refused_edits_go_back_to_the_model_with_the_reason() {
        let dir = workspace();
        let (result, asked) = implement(&[WRONG_SEARCH, GOOD], dir.path()).await;
        let output = result.unwrap();
        assert_eq!(output["edit_rounds"], 2);
        assert_eq!(output["files"], json!(["value.txt"]));
        assert_eq!(output["test"]["success"], true);
        let feedback = &asked[1].messages.last().unwrap().content;
        assert!(
            feedback.contains("None of your edits were applied")
                && feedback.contains("answer = 40"),
            "{feedback}"
        );
        assert_eq!(
            std::fs::read_to_string(dir.path().join("repo/value.txt")).unwrap(),
            "answer = 42\n"
        );
    }

    #[tokio::test]
    async fn failing_tests_go_back_for_a_fix() {
        let dir = workspace();
        let (result, asked) = implement(&[WRONG_FIX, SECOND_FIX], dir.path()).await;
        let output = result.unwrap();
        assert_eq!(output["fix_rounds"], 1);
        assert!(
            asked[1].messages.last().unwrap().content.contains("fails"),
            "{:?}",
            asked[1].messages
        );
        assert_eq!(
            asked[0].workdir.as_deref(),
            Some(dir.path().join("repo").to_str().unwrap())
        );
    }

    #[tokio::test]
    async fn the_run_fails_clearly_when_tests_still_fail() {
        let dir = workspace();
        let (result, _) = implement(
            &[
                WRONG_FIX,
                "value.txt\n<<<<<<< SEARCH\nanswer = 43\n=======\nanswer = 44\n>>>>>>> REPLACE\n",
            ],
            dir.path(),
        )
        .await;
        let err = result.unwrap_err().to_string();
        assert!(err.contains("still fails after 1 fix round"), "{err}");
    }

    #[tokio::test]
    async fn edits_that_never_apply_fail_and_write_nothing() {
        let dir = workspace();
        let (result, _) = implement(
            &[WRONG_SEARCH, "/etc/passwd\n<<<<<<< WRITE\nx\n>>>>>>> END\n"],
            dir.path(),
        )
        .await;
        let err = result.unwrap_err().to_string();
        assert!(err.contains("did not apply after 2 round"), "{err}");
        assert_eq!(
            std::fs::read_to_string(dir.path().join("repo/value.txt")).unwrap(),
            "answer = 41\n"
        );
    }

    #[test]
    fn explanations_leave_out_edit_blocks() {
        let answer = "I fixed the sign.\n\ncalc.py\n<<<<<<< SEARCH\nreturn a - b\n=======\nreturn a + b\n>>>>>>> REPLACE\nDone.";
        assert_eq!(explanation(answer), "I fixed the sign.\n\nDone.");
    }
}
