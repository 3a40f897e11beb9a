//! The prompts of the development loop. Plain text, built from the task,
//! the plan, the codebase context and the edit format.

use std::fmt::Write;

use super::{ContextInput, TaskBrief};
use crate::agent::edit_format::EDIT_FORMAT;

/// The system prompt: who the model is and how it must answer.
pub(super) fn system() -> String {
    format!(
        "You are a careful senior software engineer working in a git repository. \
         You make the smallest change that completes the task, keep the code style, \
         and never touch unrelated files.\n\n{EDIT_FORMAT}"
    )
}

/// The first request: the task, the plan and the relevant code.
pub(super) fn implement(
    task: &TaskBrief,
    plan: Option<&serde_json::Value>,
    context: Option<&ContextInput>,
) -> String {
    let mut prompt = format!("Task {}: {}\n", task.id, task.title);
    if !task.description.trim().is_empty() {
        let _ = write!(prompt, "\n{}\n", task.description.trim());
    }
    if let Some(plan) = plan {
        let plan = match plan {
            serde_json::Value::String(text) => text.clone(),
            other => serde_json::to_string_pretty(other).unwrap_or_default(),
        };
        let _ = write!(prompt, "\nThe plan:\n{plan}\n");
    }
    if let Some(context) = context {
        if !context.tree.is_empty() {
            let _ = write!(
                prompt,
                "\nThe repository's files:\n{}\n",
                context.tree.trim_end()
            );
        }
        for file in &context.files {
            let _ = write!(
                prompt,
                "\n{}\n```\n{}\n```\n",
                file.path,
                file.content.trim_end()
            );
        }
    }
    prompt.push_str(
        "\nMake the change now. Answer with edit blocks, and a short explanation before them.",
    );
    prompt
}

/// A follow-up after edits were refused.
pub(super) fn refused(reasons: &str) -> String {
    format!(
        "None of your edits were applied, because:\n{reasons}\n\nSend corrected edit blocks for the whole change. \
         Copy SEARCH lines exactly from the current files."
    )
}

/// A follow-up after the tests failed.
pub(super) fn tests_failed(command: &[String], output: &str) -> String {
    format!(
        "Your edits were applied, but `{}` fails:\n```\n{}\n```\nFix the code (not the tests, unless they are wrong) with edit blocks.",
        command.join(" "),
        output.trim()
    )
}
