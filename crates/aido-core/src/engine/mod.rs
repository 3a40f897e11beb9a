//! The workflow engine: runs a workflow's steps against connected plugins,
//! recording every step in the run store before the next one starts, so that
//! a run stopped at any point resumes where it stopped without making a side
//! effect twice.
//!
//! - [`Engine::start`] creates a run and executes it.
//! - [`Engine::resume`] continues a failed, cancelled or interrupted run from
//!   its first unfinished step; finished steps are not run again and their
//!   recorded outputs feed the steps after them.
//! - Every side-effecting call carries an idempotency key derived from the
//!   run and the step (never the attempt), so a plugin can find an effect it
//!   made before a crash.

mod ai;
pub mod events;
mod gateway;
pub mod retry;
mod run;
mod telemetry;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{Map, Value};
use tokio::sync::Semaphore;

use aido_plugin_api::PluginInstance;

use crate::config::LimitsConfig;
use crate::store::{NewRun, RunStatus, RunStore, StoreError};
use crate::workflow::builtins::Builtins;
use crate::workflow::expr::Evaluator;
use crate::workflow::validate::{self, WorkflowFile};

pub use events::{EventSink, NoEvents, RunEvent};
pub use gateway::AiGateway;

/// How the engine runs.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// Budgets.
    pub limits: LimitsConfig,
    /// What `${ system }` shows to workflows.
    pub system: Value,
    /// Where run workspaces are made (one folder per run).
    pub workspace_root: PathBuf,
    /// How many runs may execute at once in this process.
    pub max_concurrent_runs: usize,
    /// How long a lease lasts without renewal; a process that dies leaves
    /// its run interrupted after this long.
    pub lease: Duration,
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            limits: LimitsConfig::default(),
            system: Value::Object(Map::new()),
            workspace_root: PathBuf::from(".aido/workspaces"),
            max_concurrent_runs: 4,
            lease: Duration::from_secs(30),
        }
    }
}

/// Why the engine could not run something (as opposed to a run that ran and
/// failed, which is a [`RunOutcome`]).
#[derive(Debug)]
pub enum EngineError {
    /// The store failed.
    Store(StoreError),
    /// No run has that identifier.
    UnknownRun(String),
    /// Another live process is executing the run.
    Busy(String),
    /// The run finished already.
    Finished(String),
    /// The run's recorded workflow no longer parses (a newer aido changed
    /// the format).
    BadWorkflow(String),
}

impl std::fmt::Display for EngineError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            EngineError::Store(err) => err.fmt(f),
            EngineError::UnknownRun(id) => {
                write!(f, "there is no run `{id}`; `aido runs list` shows them")
            }
            EngineError::Busy(id) => write!(f, "run `{id}` is being executed by another process"),
            EngineError::Finished(id) => write!(
                f,
                "run `{id}` already succeeded; there is nothing to resume"
            ),
            EngineError::BadWorkflow(message) => {
                write!(f, "the run's workflow cannot be read: {message}")
            }
        }
    }
}

impl std::error::Error for EngineError {}

impl From<StoreError> for EngineError {
    fn from(err: StoreError) -> Self {
        EngineError::Store(err)
    }
}

/// How a run ended.
#[derive(Debug, Clone, PartialEq)]
pub struct RunOutcome {
    /// The run.
    pub run_id: String,
    /// Its final status.
    pub status: RunStatus,
    /// Why it did not succeed.
    pub error: Option<String>,
    /// Its variables at the end (outputs included).
    pub variables: Value,
}

/// Runs workflows.
#[derive(Clone)]
pub struct Engine {
    inner: Arc<Inner>,
}

struct Inner {
    store: RunStore,
    plugins: BTreeMap<String, PluginInstance>,
    builtins: Builtins,
    evaluator: Evaluator,
    config: EngineConfig,
    permits: Semaphore,
    owner: String,
    /// Runs this process is executing now.
    active: std::sync::Mutex<std::collections::BTreeSet<String>>,
}

impl Engine {
    /// An engine over `store`, calling `plugins` (by kind name, and by
    /// instance name for extra instances).
    pub fn new(
        store: RunStore,
        plugins: BTreeMap<String, PluginInstance>,
        builtins: Builtins,
        config: EngineConfig,
    ) -> Self {
        let owner = crate::store::lease_owner_name();
        let permits = Semaphore::new(config.max_concurrent_runs.max(1));
        Engine {
            inner: Arc::new(Inner {
                store,
                plugins,
                builtins,
                evaluator: Evaluator::new(),
                config,
                permits,
                owner,
                active: Default::default(),
            }),
        }
    }

    /// The store.
    pub fn store(&self) -> &RunStore {
        &self.inner.store
    }

    /// Releases the leases of the runs this process was executing, after
    /// their futures were dropped (Ctrl-C): they show as interrupted and can
    /// be resumed at once. Returns their identifiers.
    pub async fn release_active(&self) -> Vec<String> {
        let runs: Vec<String> = self.inner.active_runs().into_iter().collect();
        for run_id in &runs {
            if let Err(err) = self
                .inner
                .store
                .release_lease(run_id, &self.inner.owner)
                .await
            {
                tracing::warn!(%err, run_id, "could not release the run's lease");
            }
        }
        runs
    }

    /// Creates a run of `file` with `vars` and executes it.
    pub async fn start(
        &self,
        file: &WorkflowFile,
        vars: Map<String, Value>,
        events: &dyn EventSink,
    ) -> Result<RunOutcome, EngineError> {
        let run_id = new_run_id();
        let task_id = vars.get("task_id").and_then(|v| match v {
            Value::String(s) => Some(s.clone()),
            Value::Null => None,
            other => Some(other.to_string()),
        });
        let workspace = self.inner.config.workspace_root.join(&run_id);
        let new = NewRun {
            id: run_id.clone(),
            workflow: file.workflow.name.clone(),
            workflow_origin: file.origin.display().to_string(),
            workflow_source: file.source.clone(),
            task_id,
            vars: Value::Object(vars),
            workspace: workspace.display().to_string(),
        };
        let _permit = self
            .inner
            .permits
            .acquire()
            .await
            .map_err(|_| EngineError::Busy(run_id.clone()))?;
        self.inner
            .store
            .create_run(&new, &self.inner.owner, self.inner.config.lease)
            .await?;
        run::execute(
            &self.inner,
            &run_id,
            file,
            &new.vars,
            &workspace,
            false,
            events,
        )
        .await
    }

    /// Continues a run that did not succeed, from its first unfinished step.
    pub async fn resume(
        &self,
        run_id: &str,
        events: &dyn EventSink,
    ) -> Result<RunOutcome, EngineError> {
        let store = &self.inner.store;
        let summary = store
            .run(run_id)
            .await?
            .ok_or_else(|| EngineError::UnknownRun(run_id.to_owned()))?;
        if summary.status == RunStatus::Succeeded {
            return Err(EngineError::Finished(run_id.to_owned()));
        }
        let (source, origin, vars, _task, workspace) = store
            .run_definition(run_id)
            .await?
            .ok_or_else(|| EngineError::UnknownRun(run_id.to_owned()))?;
        let file = validate::parse(std::path::Path::new(&origin), &source)
            .map_err(|diagnostics| EngineError::BadWorkflow(diagnostics.to_string()))?;
        let _permit = self
            .inner
            .permits
            .acquire()
            .await
            .map_err(|_| EngineError::Busy(run_id.to_owned()))?;
        if !store
            .acquire_lease(run_id, &self.inner.owner, self.inner.config.lease)
            .await?
        {
            return Err(EngineError::Busy(run_id.to_owned()));
        }
        run::execute(
            &self.inner,
            run_id,
            &file,
            &vars,
            &PathBuf::from(workspace),
            true,
            events,
        )
        .await
    }
}

impl Inner {
    fn active_runs(&self) -> std::collections::BTreeSet<String> {
        self.active
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    fn set_active(&self, run_id: &str, active: bool) {
        let mut runs = self
            .active
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if active {
            runs.insert(run_id.to_owned());
        } else {
            runs.remove(run_id);
        }
    }
}

/// A short, unique, sortable run identifier: `r` + time + randomness.
fn new_run_id() -> String {
    let now = chrono::Utc::now();
    format!(
        "r{}-{:06x}",
        now.format("%Y%m%d%H%M%S"),
        rand::random::<u32>() & 0xff_ffff
    )
}

/// The idempotency key of a step: the same for every attempt of the step in
/// this run, different for every other step and run.
pub fn idempotency_key(run_id: &str, step: &str) -> String {
    format!("aido:{run_id}:{step}")
}

#[cfg(test)]
mod tests;
