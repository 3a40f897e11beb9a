//! The development agent's deterministic building blocks, as built-in
//! actions a workflow calls between its AI steps.
//!
//! The model proposes; these actions do the parts that must be exact and
//! safe, whoever does the coding (an LLM through the AI provider, or a
//! coding-agent CLI run in the workspace):
//!
//! | action | module | what it does |
//! |---|---|---|
//! | `apply_edits` | [`apply_edits`] | applies proposed edits ([`edit_format`]) all-or-nothing, never outside the working copy |
//! | `codebase_context` | [`context`] | the file tree and the files most relevant to a task, within a token budget |
//! | `detect_test_command` | [`test_command`] | the repository's own test command |
//! | `changed_files` | [`changed_files`] | what changed in the working copy (`git status`, diff stat) |
//! | `pull_request_description` | [`pr_description`] | a pull request's title and Markdown body |
//!
//! [`agent_builtins`] builds them; the engine adds them to its
//! [`Builtins`](crate::workflow::builtins::Builtins). Every action works in
//! the run's workspace, or in its input `workdir` (relative to the workspace,
//! or absolute but inside it; see [`workdir`]).
//!
//! Each module holds a pure function (what the tests exercise) and a thin
//! [`BuiltinAction`] wrapper that decodes the input, moves blocking file I/O
//! off the async runtime and encodes the output.

use std::sync::Arc;

use aido_plugin_api::{Error, Result};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::config::SecurityConfig;
use crate::workflow::builtins::BuiltinAction;

pub mod apply_edits;
pub mod atomic;
pub mod changed_files;
pub mod context;
pub mod edit_format;
pub mod matching;
pub mod path_policy;
pub mod pr_description;
pub mod rank;
pub mod test_command;
pub mod workdir;

/// The agent's built-in actions: `apply_edits`, `codebase_context`,
/// `detect_test_command`, `changed_files` and `pull_request_description`.
///
/// `security.forbidden_paths` decides which paths `apply_edits` refuses to
/// write and whose contents `codebase_context` never reads. An invalid
/// pattern there does not fail here: the actions that use the patterns fail
/// closed with a configuration error when they run.
pub fn agent_builtins(security: &SecurityConfig) -> Vec<Arc<dyn BuiltinAction>> {
    let policy = Arc::new(path_policy::PathPolicy::new(&security.forbidden_paths));
    vec![
        Arc::new(apply_edits::ApplyEdits::new(Arc::clone(&policy))),
        Arc::new(context::CodebaseContext::new(policy)),
        Arc::new(test_command::DetectTestCommand::new()),
        Arc::new(changed_files::ChangedFiles::new()),
        Arc::new(pr_description::PullRequestDescription::new()),
    ]
}

/// Decodes an action's input, naming the action when it does not fit.
fn decode<T: DeserializeOwned>(action: &str, input: Value) -> Result<T> {
    serde_json::from_value(input).map_err(|err| {
        Error::invalid_input(format!(
            "the input of `{action}` does not fit its schema: {err}"
        ))
    })
}

/// Encodes an action's output.
fn encode<T: Serialize>(output: &T) -> Result<Value> {
    serde_json::to_value(output)
        .map_err(|err| Error::other(format!("cannot encode the output: {err}")))
}

/// Runs blocking file work on tokio's blocking pool, so a large working copy
/// never stalls the runtime that drives every other run.
async fn blocking<T, F>(work: F) -> Result<T>
where
    F: FnOnce() -> Result<T> + Send + 'static,
    T: Send + 'static,
{
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|err| Error::other(format!("a background file task failed: {err}")))?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_action_has_a_distinct_name_and_object_schemas() {
        let actions = agent_builtins(&SecurityConfig::default());
        let mut names: Vec<_> = actions.iter().map(|a| a.spec().name).collect();
        names.sort_unstable();
        assert_eq!(
            names,
            [
                "apply_edits",
                "changed_files",
                "codebase_context",
                "detect_test_command",
                "pull_request_description"
            ]
        );
        for action in &actions {
            let spec = action.spec();
            assert_eq!(spec.input_schema["type"], "object", "{}", spec.name);
            assert!(spec.output_schema.is_object(), "{}", spec.name);
        }
    }
}
