//! The `local` task tracker: tasks as Markdown files with YAML front matter
//! in a folder, for working with no account and no network.
//!
//! # On disk
//!
//! One file per task, `<dir>/<ID>.md` (`.aido/tasks/TASK-2.md` by default).
//! Ids are `<options.id_prefix>-<n>`; a new task takes one more than the
//! highest number in the folder. The front matter holds every standard task
//! field, then `project`, `history` (every change, with time and actor) and
//! `comments`; the body is the description:
//!
//! ```text
//! ---
//! id: TASK-2
//! title: Add a login form
//! status: in_progress
//! assignee: null
//! priority: medium
//! labels: []
//! created: "2025-01-05T10:00:00.120Z"
//! updated: "2025-01-05T10:02:00Z"
//! due_date: null
//! epic_id: TASK-1
//! story_points: null
//! custom_fields: {}
//! project: shop
//! history:
//! - at: "2025-01-05T10:00:00.120Z"
//!   actor: aido
//!   change:
//!     type: created
//! - at: "2025-01-05T10:01:00Z"
//!   actor: aido
//!   change:
//!     type: status_changed
//!     from: todo
//!     to: in_progress
//! - at: "2025-01-05T10:02:00Z"
//!   actor: aido
//!   change:
//!     type: commented
//!     comment_id: TASK-2#c1
//! comments:
//! - id: TASK-2#c1
//!   author: aido
//!   body: Started.
//!   created: "2025-01-05T10:02:00Z"
//!   idempotency_key: run-1/step-2
//! ---
//!
//! The description, Markdown.
//! ```
//!
//! An epic is a task file with `kind: epic` (right after `id`; a file
//! without `kind` is a task). `get_project_tasks` lists tasks only, and its
//! `epic_id` filter finds an epic's tasks. Files in the folder whose names
//! are not `<PREFIX>-<n>.md` (a README) are ignored. A task or comment
//! created under an idempotency key stores it as `idempotency_key`, so the
//! retried call returns it instead of creating it twice; a status change or
//! assignment to what is already set records nothing, so retrying one is
//! harmless too.
//!
//! Writers hold the folder's `.lock` file and replace files atomically, so
//! several processes can share one folder.

mod config;
pub(crate) mod front_matter;
mod record;
mod store;
#[cfg(test)]
mod tests;

use std::sync::{Arc, LazyLock, RwLock};

use aido_plugin_api::model::task::{
    Assignment, Comment, Epic, NewComment, NewEpic, NewTask, StatusUpdate, Task, TaskHistoryEvent,
    TaskQuery, TaskRef,
};
use aido_plugin_api::{
    CallContext, ConfigProblem, Error, ErrorKind, Health, Plugin, PluginConfig, PluginFactory,
    PluginInstance, PluginKind, PluginMetadata, Result, TaskManagement, async_trait,
};

use config::Config;
use record::{Stamp, TaskFile};
use store::TaskStore;

static META: LazyLock<PluginMetadata> = LazyLock::new(|| {
    PluginMetadata::new::<Config>(
        "local",
        PluginKind::TaskManagement,
        env!("CARGO_PKG_VERSION"),
        "Tasks as Markdown files with YAML front matter in a local folder.",
    )
    // `LOCAL_DIR` would be too easy to set by accident.
    .with_env_prefix("AIDO_TASKS")
});

/// The factory of the `local` task plugin.
pub fn factory() -> PluginFactory {
    PluginFactory::new(META.clone(), || {
        PluginInstance::TaskManagement(Arc::new(LocalTasks::default()))
    })
}

/// The `local` task plugin: unconnected until [`Plugin::connect`].
#[derive(Debug, Default)]
pub(crate) struct LocalTasks {
    state: RwLock<Option<Arc<Connected>>>,
}

/// What `connect` sets up.
#[derive(Debug)]
struct Connected {
    store: TaskStore,
    author: String,
}

impl Connected {
    fn stamp(&self) -> Stamp {
        Stamp::now(&self.author)
    }
}

impl LocalTasks {
    fn connected(&self) -> Result<Arc<Connected>> {
        let state = self
            .state
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        state.clone().ok_or_else(|| {
            Error::configuration("the `local` task plugin is not connected; call connect first")
        })
    }

    /// Runs blocking file work off the async runtime.
    async fn run<R: Send + 'static>(
        &self,
        job: impl FnOnce(&Connected) -> Result<R> + Send + 'static,
    ) -> Result<R> {
        let state = self.connected()?;
        tokio::task::spawn_blocking(move || job(&state))
            .await
            .map_err(|err| Error::other(format!("the task folder job did not finish: {err}")))?
    }
}

/// Refuses a blank title, which no tracker accepts and no list can show.
fn check_title(title: &str) -> Result<()> {
    if title.trim().is_empty() {
        return Err(Error::invalid_input("a task title cannot be empty"));
    }
    Ok(())
}

/// Checks that `epic_id` names an epic of the store.
fn check_epic(store: &TaskStore, epic_id: &str) -> Result<()> {
    let epic = store.load(epic_id).map_err(|err| match err.kind() {
        ErrorKind::NotFound => Error::not_found(format!(
            "epic {epic_id} does not exist in {}",
            store.dir().display()
        )),
        _ => err,
    })?;
    if epic.is_epic() {
        Ok(())
    } else {
        Err(Error::invalid_input(format!(
            "{epic_id} is a task, not an epic; create epics with create_epic"
        )))
    }
}

#[async_trait]
impl Plugin for LocalTasks {
    fn metadata(&self) -> &PluginMetadata {
        &META
    }

    fn validate_config(&self, config: &PluginConfig) -> Vec<ConfigProblem> {
        match config.parse::<Config>() {
            Ok(parsed) => parsed.problems(),
            Err(err) => vec![ConfigProblem::new("", err.message())],
        }
    }

    async fn connect(&self, config: &PluginConfig) -> Result<()> {
        let parsed: Config = config.parse()?;
        if let Some(problem) = parsed.problems().into_iter().next() {
            return Err(Error::configuration(format!(
                "{}: {}",
                problem.path, problem.message
            )));
        }
        let dir = config.resolve_path(&parsed.connection.dir);
        let created = dir.clone();
        tokio::task::spawn_blocking(move || std::fs::create_dir_all(&created))
            .await
            .map_err(|err| Error::other(format!("creating the task folder did not finish: {err}")))?
            .map_err(|err| {
                Error::configuration(format!(
                    "cannot create the task folder {}: {err}",
                    dir.display()
                ))
            })?;
        let connected = Connected {
            store: TaskStore::new(dir, parsed.options.id_prefix),
            author: parsed.options.author,
        };
        *self
            .state
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = Some(Arc::new(connected));
        Ok(())
    }

    async fn disconnect(&self) -> Result<()> {
        *self
            .state
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = None;
        Ok(())
    }

    async fn health_check(&self) -> Health {
        let checked = self.run(|state| Ok(state.store.check_writable())).await;
        match checked {
            Ok(Ok(())) => Health::Healthy,
            Ok(Err(reason)) => Health::Unhealthy(reason),
            Err(err) => Health::Unhealthy(err.message().to_owned()),
        }
    }
}

#[async_trait]
impl TaskManagement for LocalTasks {
    async fn get_task(&self, _cx: &CallContext, input: TaskRef) -> Result<Task> {
        self.run(move |state| Ok(state.store.load(&input.task_id)?.to_task()))
            .await
    }

    async fn create_task(&self, cx: &CallContext, input: NewTask) -> Result<Task> {
        check_title(&input.title)?;
        let key = cx.idempotency_key.clone();
        self.run(move |state| {
            let task = state.store.create(key.as_deref(), |id| {
                if let Some(epic_id) = &input.epic_id {
                    check_epic(&state.store, epic_id)?;
                }
                Ok(TaskFile::new_task(id, input, &state.stamp(), key.clone()))
            })?;
            Ok(task.to_task())
        })
        .await
    }

    async fn update_task_status(&self, _cx: &CallContext, input: StatusUpdate) -> Result<Task> {
        self.run(move |state| {
            let stamp = state.stamp();
            let (task, ()) = state
                .store
                .update(&input.task_id, |task| task.set_status(input.status, &stamp))?;
            Ok(task.to_task())
        })
        .await
    }

    async fn add_comment(&self, cx: &CallContext, input: NewComment) -> Result<Comment> {
        let key = cx.idempotency_key.clone();
        self.run(move |state| {
            let stamp = state.stamp();
            let (_, comment) = state.store.update(&input.task_id, |task| {
                task.add_comment(input.body, &stamp, key)
            })?;
            Ok(comment)
        })
        .await
    }

    async fn get_comments(&self, _cx: &CallContext, input: TaskRef) -> Result<Vec<Comment>> {
        self.run(move |state| Ok(state.store.load(&input.task_id)?.comments()))
            .await
    }

    async fn create_epic(&self, cx: &CallContext, input: NewEpic) -> Result<Epic> {
        check_title(&input.title)?;
        let key = cx.idempotency_key.clone();
        self.run(move |state| {
            let epic = state.store.create(key.as_deref(), |id| {
                Ok(TaskFile::new_epic(id, input, &state.stamp(), key.clone()))
            })?;
            Ok(epic.to_epic())
        })
        .await
    }

    async fn get_project_tasks(&self, _cx: &CallContext, input: TaskQuery) -> Result<Vec<Task>> {
        self.run(move |state| {
            let limit = input.limit.map_or(usize::MAX, |limit| limit as usize);
            Ok(state
                .store
                .load_all()?
                .iter()
                .filter(|task| !task.is_epic() && task.matches(&input))
                .take(limit)
                .map(TaskFile::to_task)
                .collect())
        })
        .await
    }

    async fn assign_task(&self, _cx: &CallContext, input: Assignment) -> Result<Task> {
        self.run(move |state| {
            let stamp = state.stamp();
            let (task, ()) = state
                .store
                .update(&input.task_id, |task| task.assign(input.assignee, &stamp))?;
            Ok(task.to_task())
        })
        .await
    }

    async fn get_task_history(
        &self,
        _cx: &CallContext,
        input: TaskRef,
    ) -> Result<Vec<TaskHistoryEvent>> {
        self.run(move |state| Ok(state.store.load(&input.task_id)?.history))
            .await
    }
}
