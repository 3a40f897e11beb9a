//! The plugin: tasks, comments, epics and history, kept in memory. Replace
//! the bodies with calls to your tracker.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use aido_plugin_api::model::task::{
    Assignment, Comment, Epic, NewComment, NewEpic, NewTask, StatusUpdate, Task, TaskChange,
    TaskHistoryEvent, TaskQuery, TaskRef, TaskStatus,
};
use aido_plugin_api::{
    CallContext, ConfigProblem, Error, Health, Plugin, PluginConfig, PluginInstance,
    PluginMetadata, Result, TaskManagement, async_trait,
};
use chrono::Utc;

use crate::config::{Config, META};

/// The plugin, ready to serve.
pub fn instance() -> PluginInstance {
    PluginInstance::TaskManagement(Arc::new({{struct}}::default()))
}

/// What the plugin keeps.
#[derive(Default)]
struct State {
    prefix: String,
    next: u64,
    tasks: Vec<Task>,
    comments: HashMap<String, Vec<Comment>>,
    history: HashMap<String, Vec<TaskHistoryEvent>>,
    epics: Vec<Epic>,
    /// Idempotency key → the id made under it, so a retried step gets the
    /// first result instead of a second one.
    made: HashMap<String, String>,
}

impl State {
    fn next_id(&mut self, project: Option<&str>) -> String {
        self.next += 1;
        format!("{}-{}", project.unwrap_or(&self.prefix), self.next)
    }

    fn task(&mut self, id: &str) -> Result<&mut Task> {
        self.tasks
            .iter_mut()
            .find(|task| task.id == id)
            .ok_or_else(|| Error::not_found(format!("no task {id}")))
    }

    fn record(&mut self, id: &str, change: TaskChange) {
        self.history
            .entry(id.to_owned())
            .or_default()
            .push(TaskHistoryEvent {
                at: Utc::now(),
                actor: None,
                change,
            });
    }
}

/// A task tracker in memory.
#[derive(Default)]
pub struct {{struct}} {
    state: Mutex<State>,
}

impl {{struct}} {
    fn state(&self) -> MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[async_trait]
impl Plugin for {{struct}} {
    fn metadata(&self) -> &PluginMetadata {
        &META
    }

    fn validate_config(&self, config: &PluginConfig) -> Vec<ConfigProblem> {
        crate::config::problems(config)
    }

    async fn connect(&self, config: &PluginConfig) -> Result<()> {
        let config: Config = config.parse()?;
        self.state().prefix = config.prefix_or("TASK");
        Ok(())
    }

    async fn disconnect(&self) -> Result<()> {
        Ok(())
    }

    async fn health_check(&self) -> Health {
        Health::Healthy
    }
}

#[async_trait]
impl TaskManagement for {{struct}} {
    async fn get_task(&self, _cx: &CallContext, input: TaskRef) -> Result<Task> {
        self.state().task(&input.task_id).map(|task| task.clone())
    }

    async fn create_task(&self, cx: &CallContext, input: NewTask) -> Result<Task> {
        let mut state = self.state();
        if let Some(id) = cx
            .idempotency_key
            .as_ref()
            .and_then(|key| state.made.get(key))
        {
            let id = id.clone();
            return state.task(&id).map(|task| task.clone());
        }
        if let Some(epic) = &input.epic_id
            && !state.epics.iter().any(|e| &e.id == epic)
        {
            return Err(Error::not_found(format!("no epic {epic}")));
        }
        let now = Utc::now();
        let task = Task {
            id: state.next_id(input.project.as_deref()),
            title: input.title,
            description: input.description,
            status: input.status.unwrap_or(TaskStatus::Todo),
            assignee: input.assignee,
            priority: input.priority.unwrap_or_default(),
            labels: input.labels,
            created: now,
            updated: now,
            due_date: input.due_date,
            epic_id: input.epic_id,
            story_points: input.story_points,
            custom_fields: input.custom_fields,
        };
        state.record(&task.id, TaskChange::Created);
        if let Some(key) = &cx.idempotency_key {
            state.made.insert(key.clone(), task.id.clone());
        }
        state.tasks.push(task.clone());
        Ok(task)
    }

    async fn update_task_status(&self, _cx: &CallContext, input: StatusUpdate) -> Result<Task> {
        let mut state = self.state();
        let task = state.task(&input.task_id)?;
        let from = task.status;
        if from == input.status {
            return Ok(task.clone());
        }
        task.status = input.status;
        task.updated = Utc::now();
        let task = task.clone();
        state.record(
            &task.id,
            TaskChange::StatusChanged {
                from,
                to: input.status,
            },
        );
        Ok(task)
    }

    async fn add_comment(&self, cx: &CallContext, input: NewComment) -> Result<Comment> {
        let mut state = self.state();
        state.task(&input.task_id)?;
        let comments = state.comments.entry(input.task_id.clone()).or_default();
        let key = cx.idempotency_key.as_deref();
        if let Some(made) =
            key.and_then(|key| comments.iter().find(|c| c.id.ends_with(&format!("#{key}"))))
        {
            return Ok(made.clone());
        }
        let number = comments.len() + 1;
        let comment = Comment {
            // The key in the id lets a retry find the comment it made.
            id: match key {
                Some(key) => format!("{}/c{number}#{key}", input.task_id),
                None => format!("{}/c{number}", input.task_id),
            },
            task_id: input.task_id.clone(),
            author: None,
            body: input.body,
            created: Utc::now(),
        };
        comments.push(comment.clone());
        state.record(
            &input.task_id,
            TaskChange::Commented {
                comment_id: comment.id.clone(),
            },
        );
        Ok(comment)
    }

    async fn get_comments(&self, _cx: &CallContext, input: TaskRef) -> Result<Vec<Comment>> {
        let mut state = self.state();
        state.task(&input.task_id)?;
        Ok(state
            .comments
            .get(&input.task_id)
            .cloned()
            .unwrap_or_default())
    }

    async fn create_epic(&self, cx: &CallContext, input: NewEpic) -> Result<Epic> {
        let mut state = self.state();
        if let Some(id) = cx
            .idempotency_key
            .as_ref()
            .and_then(|key| state.made.get(key))
            && let Some(epic) = state.epics.iter().find(|epic| &epic.id == id)
        {
            return Ok(epic.clone());
        }
        let epic = Epic {
            id: format!("{}-E", state.next_id(input.project.as_deref())),
            title: input.title,
            description: input.description,
            status: TaskStatus::Todo,
            url: None,
            created: Utc::now(),
        };
        if let Some(key) = &cx.idempotency_key {
            state.made.insert(key.clone(), epic.id.clone());
        }
        state.epics.push(epic.clone());
        Ok(epic)
    }

    async fn get_project_tasks(&self, _cx: &CallContext, input: TaskQuery) -> Result<Vec<Task>> {
        let state = self.state();
        let prefix = format!("{}-", input.project.as_deref().unwrap_or(&state.prefix));
        let found = state.tasks.iter().filter(|task| {
            task.id.starts_with(&prefix)
                && input.status.is_none_or(|status| task.status == status)
                && input
                    .assignee
                    .as_ref()
                    .is_none_or(|a| task.assignee.as_ref() == Some(a))
                && input
                    .epic_id
                    .as_ref()
                    .is_none_or(|e| task.epic_id.as_ref() == Some(e))
                && input.labels.iter().all(|label| task.labels.contains(label))
        });
        let limit = input.limit.map_or(usize::MAX, |limit| limit as usize);
        Ok(found.take(limit).cloned().collect())
    }

    async fn assign_task(&self, _cx: &CallContext, input: Assignment) -> Result<Task> {
        let mut state = self.state();
        let task = state.task(&input.task_id)?;
        let from = task.assignee.clone();
        if from == input.assignee {
            return Ok(task.clone());
        }
        task.assignee = input.assignee.clone();
        task.updated = Utc::now();
        let task = task.clone();
        state.record(
            &task.id,
            TaskChange::Assigned {
                from,
                to: input.assignee,
            },
        );
        Ok(task)
    }

    async fn get_task_history(
        &self,
        _cx: &CallContext,
        input: TaskRef,
    ) -> Result<Vec<TaskHistoryEvent>> {
        let mut state = self.state();
        state.task(&input.task_id)?;
        Ok(state
            .history
            .get(&input.task_id)
            .cloned()
            .unwrap_or_default())
    }
}

#[cfg(test)]
mod tests {
    use aido_plugin_api::{CallContext, ErrorKind, PluginConfig};
    use serde_json::{Value, json};

    use super::instance;

    /// The plugin, connected, called through the action catalog exactly as
    /// aido calls it.
    async fn connected() -> aido_plugin_api::PluginInstance {
        let plugin = instance();
        let config = PluginConfig::new("task_management", json!({"prefix": "T"}), ".", ".aido");
        plugin.plugin().connect(&config).await.unwrap();
        plugin
    }

    async fn call(plugin: &aido_plugin_api::PluginInstance, action: &str, input: Value) -> Value {
        plugin
            .call(&CallContext::detached(), action, input)
            .await
            .unwrap()
    }

    #[tokio::test]
    async fn tasks_are_created_moved_assigned_and_listed() {
        let plugin = connected().await;
        let task = call(
            &plugin,
            "create_task",
            json!({"title": "Write tests", "priority": "high"}),
        )
        .await;
        assert_eq!(
            (task["id"].as_str(), task["status"].as_str()),
            (Some("T-1"), Some("todo"))
        );
        let moved = call(
            &plugin,
            "update_task_status",
            json!({"task_id": "T-1", "status": "done"}),
        )
        .await;
        assert_eq!(moved["status"], "done");
        call(
            &plugin,
            "assign_task",
            json!({"task_id": "T-1", "assignee": "ana"}),
        )
        .await;
        let listed = call(&plugin, "get_project_tasks", json!({})).await;
        assert_eq!(listed[0]["assignee"], "ana");
        let history = call(&plugin, "get_task_history", json!({"task_id": "T-1"})).await;
        let changes: Vec<&str> = history
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["change"]["type"].as_str().unwrap())
            .collect();
        assert_eq!(changes, ["created", "status_changed", "assigned"]);
    }

    #[tokio::test]
    async fn a_retried_write_returns_the_first_result() {
        let plugin = connected().await;
        let cx = CallContext::with_idempotency_key("run-1:create");
        let first = plugin
            .call(&cx, "create_task", json!({"title": "Once"}))
            .await
            .unwrap();
        let second = plugin
            .call(&cx, "create_task", json!({"title": "Once"}))
            .await
            .unwrap();
        assert_eq!(first["id"], second["id"]);
        let comment = json!({"task_id": first["id"], "body": "Hi"});
        let cx = CallContext::with_idempotency_key("run-1:comment");
        plugin
            .call(&cx, "add_comment", comment.clone())
            .await
            .unwrap();
        plugin.call(&cx, "add_comment", comment).await.unwrap();
        let comments = call(&plugin, "get_comments", json!({"task_id": first["id"]})).await;
        assert_eq!(comments.as_array().unwrap().len(), 1);
    }

    #[tokio::test]
    async fn epics_group_tasks() {
        let plugin = connected().await;
        let epic = call(&plugin, "create_epic", json!({"title": "Launch"})).await;
        let task = call(
            &plugin,
            "create_task",
            json!({"title": "Child", "epic_id": epic["id"]}),
        )
        .await;
        assert_eq!(task["epic_id"], epic["id"]);
    }

    #[tokio::test]
    async fn unknown_tasks_and_bad_input_are_told_apart() {
        let plugin = connected().await;
        let cx = CallContext::detached();
        let missing = plugin
            .call(&cx, "get_task", json!({"task_id": "T-404"}))
            .await
            .unwrap_err();
        assert_eq!(missing.kind(), ErrorKind::NotFound);
        let bad = plugin
            .call(&cx, "get_task", json!({"id": "x"}))
            .await
            .unwrap_err();
        assert_eq!(bad.kind(), ErrorKind::InvalidInput);
    }
}
