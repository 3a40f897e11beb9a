//! Conformance suites: what every plugin of a kind must do, checked through
//! the action catalog exactly as the engine calls it, so the same suite runs
//! against a built-in plugin, a real-service plugin on its emulator, or an
//! external plugin process.
//!
//! Each suite takes a connected [`PluginInstance`] and returns a
//! [`Report`]: one [`Check`] per behaviour, passed, failed (with what was
//! seen) or skipped (the plugin answered `unsupported`, which the kind
//! allows for that action, or the check needs something the target lacks).
//!
//! Suites: [`task_management`], [`documentation`], [`communication`] and
//! [`version_control`] (on a [`VersionControlTarget`]: the repository to
//! work on).

mod communication;
mod documentation;
mod task_management;
mod version_control;

use std::fmt;

use serde_json::Value;

use aido_plugin_api::{CallContext, Error, ErrorKind, PluginInstance, PluginKind};

pub use communication::communication;
pub use documentation::documentation;
pub use task_management::task_management;
pub use version_control::{VersionControlTarget, version_control};

/// How a check ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// It did what the kind requires.
    Passed,
    /// It did not.
    Failed,
    /// The plugin said the action is unsupported, or the target lacks
    /// what the check needs.
    Skipped,
}

/// One behaviour checked.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Check {
    /// What was checked.
    pub name: String,
    /// How it ended.
    pub outcome: Outcome,
    /// What was seen, when it failed or was skipped.
    pub detail: String,
}

/// The result of a suite.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Report {
    /// The plugin's name.
    pub plugin: String,
    /// The kind checked.
    pub kind: PluginKind,
    /// Every check, in order.
    pub checks: Vec<Check>,
}

impl Report {
    fn new(plugin: &PluginInstance) -> Self {
        Report {
            plugin: plugin.plugin().metadata().name.clone(),
            kind: plugin.kind(),
            checks: Vec::new(),
        }
    }

    /// Whether no check failed.
    pub fn passed(&self) -> bool {
        self.checks.iter().all(|c| c.outcome != Outcome::Failed)
    }

    /// Panics with the whole report when a check failed (for tests).
    pub fn assert_passed(&self) {
        assert!(self.passed(), "{self}");
    }

    fn pass(&mut self, name: &str) {
        self.checks.push(Check {
            name: name.to_owned(),
            outcome: Outcome::Passed,
            detail: String::new(),
        });
    }

    fn fail(&mut self, name: &str, detail: impl Into<String>) {
        self.checks.push(Check {
            name: name.to_owned(),
            outcome: Outcome::Failed,
            detail: detail.into(),
        });
    }

    fn skip(&mut self, name: &str, detail: impl Into<String>) {
        self.checks.push(Check {
            name: name.to_owned(),
            outcome: Outcome::Skipped,
            detail: detail.into(),
        });
    }

    /// Records `result`: passed when it is `Ok(true)`, skipped for an
    /// `unsupported` error, failed otherwise.
    fn record(&mut self, name: &str, result: Result<Result<(), String>, Error>) {
        match result {
            Ok(Ok(())) => self.pass(name),
            Ok(Err(detail)) => self.fail(name, detail),
            Err(err) if err.kind() == ErrorKind::Unsupported => self.checks.push(Check {
                name: name.to_owned(),
                outcome: Outcome::Skipped,
                detail: err.to_string(),
            }),
            Err(err) => self.fail(name, err.to_string()),
        }
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let failed = self
            .checks
            .iter()
            .filter(|c| c.outcome == Outcome::Failed)
            .count();
        writeln!(
            f,
            "{} conformance of `{}`: {} checks, {failed} failed",
            self.kind,
            self.plugin,
            self.checks.len()
        )?;
        for check in &self.checks {
            let mark = match check.outcome {
                Outcome::Passed => "ok  ",
                Outcome::Failed => "FAIL",
                Outcome::Skipped => "skip",
            };
            write!(f, "  {mark} {}", check.name)?;
            if !check.detail.is_empty() {
                write!(f, ": {}", check.detail)?;
            }
            writeln!(f)?;
        }
        Ok(())
    }
}

/// Runs the suite of `plugin`'s kind, if the kind has one. A
/// `version_control` plugin is checked on
/// [`VersionControlTarget::default`].
pub async fn check(plugin: &PluginInstance) -> Option<Report> {
    match plugin.kind() {
        PluginKind::TaskManagement => Some(task_management(plugin).await),
        PluginKind::Communication => Some(communication(plugin).await),
        PluginKind::Documentation => Some(documentation(plugin).await),
        PluginKind::VersionControl => {
            Some(version_control(plugin, &VersionControlTarget::default()).await)
        }
        _ => None,
    }
}

/// A call context carrying `key` as idempotency key.
fn keyed(key: &str) -> CallContext {
    CallContext::with_idempotency_key(format!("conformance:{key}"))
}

/// `value[field]` as text.
fn text<'a>(value: &'a Value, field: &str) -> &'a str {
    value.get(field).and_then(Value::as_str).unwrap_or("")
}

/// `Ok(())` when `condition`, else the detail.
fn expect(condition: bool, detail: impl FnOnce() -> String) -> Result<(), String> {
    if condition { Ok(()) } else { Err(detail()) }
}
