//! One task as its file holds it, and the changes a task can go through.
//!
//! The front matter holds every standard task field plus what the tracker
//! keeps beside them (kind, project, history, comments, the idempotency key
//! that created it); the body is the description. Each change records its
//! history event here, so no caller can change a task without a trace.

use aido_plugin_api::model::Fields;
use aido_plugin_api::model::task::{
    Comment, Epic, NewEpic, NewTask, Priority, Task, TaskChange, TaskHistoryEvent, TaskQuery,
    TaskStatus,
};
use chrono::{DateTime, DurationRound, TimeDelta, Utc};
use serde::{Deserialize, Serialize};

/// Whether a file is a task or an epic. Epics are files like tasks, with
/// `kind: epic` in their front matter; a file without `kind` is a task.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum ItemKind {
    /// A task (the default).
    #[default]
    Task,
    /// An epic: a task that groups others through their `epic_id`.
    Epic,
}

impl ItemKind {
    fn is_task(&self) -> bool {
        *self == ItemKind::Task
    }
}

/// A task file: the front matter, field by field, and the body.
///
/// Unknown front-matter keys are an error rather than dropped, since the next
/// write would silently lose them (a typo such as `asignee:` included).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct TaskFile {
    pub(crate) id: String,
    #[serde(default, skip_serializing_if = "ItemKind::is_task")]
    pub(crate) kind: ItemKind,
    pub(crate) title: String,
    pub(crate) status: TaskStatus,
    #[serde(default)]
    pub(crate) assignee: Option<String>,
    #[serde(default)]
    pub(crate) priority: Priority,
    #[serde(default)]
    pub(crate) labels: Vec<String>,
    pub(crate) created: DateTime<Utc>,
    pub(crate) updated: DateTime<Utc>,
    #[serde(default)]
    pub(crate) due_date: Option<DateTime<Utc>>,
    #[serde(default)]
    pub(crate) epic_id: Option<String>,
    #[serde(default)]
    pub(crate) story_points: Option<f64>,
    #[serde(default)]
    pub(crate) custom_fields: Fields,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) project: Option<String>,
    /// The idempotency key of the call that created the task, so a retried
    /// `create_task` finds it instead of making a second one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) idempotency_key: Option<String>,
    #[serde(default)]
    pub(crate) history: Vec<TaskHistoryEvent>,
    #[serde(default)]
    pub(crate) comments: Vec<CommentEntry>,
    /// The Markdown body, which is not part of the front matter.
    #[serde(skip)]
    pub(crate) description: String,
}

/// A comment as the task file holds it (the task id is the file's).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct CommentEntry {
    pub(crate) id: String,
    #[serde(default)]
    pub(crate) author: Option<String>,
    pub(crate) body: String,
    pub(crate) created: DateTime<Utc>,
    /// The idempotency key of the call that added it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) idempotency_key: Option<String>,
}

/// When a change happens and who makes it.
#[derive(Debug, Clone)]
pub(crate) struct Stamp {
    pub(crate) at: DateTime<Utc>,
    pub(crate) actor: Option<String>,
}

impl Stamp {
    /// Now, by `actor`. Milliseconds are enough and keep the files readable.
    pub(crate) fn now(actor: &str) -> Stamp {
        let now = Utc::now();
        let at = now
            .duration_trunc(TimeDelta::milliseconds(1))
            .unwrap_or(now);
        let actor = (!actor.is_empty()).then(|| actor.to_owned());
        Stamp { at, actor }
    }

    fn event(&self, change: TaskChange) -> TaskHistoryEvent {
        TaskHistoryEvent {
            at: self.at,
            actor: self.actor.clone(),
            change,
        }
    }
}

impl TaskFile {
    /// A new task with id `id`, its creation recorded.
    pub(crate) fn new_task(
        id: String,
        input: NewTask,
        stamp: &Stamp,
        key: Option<String>,
    ) -> TaskFile {
        TaskFile {
            id,
            kind: ItemKind::Task,
            title: input.title,
            status: input.status.unwrap_or(TaskStatus::Todo),
            assignee: input.assignee,
            priority: input.priority.unwrap_or_default(),
            labels: input.labels,
            created: stamp.at,
            updated: stamp.at,
            due_date: input.due_date,
            epic_id: input.epic_id,
            story_points: input.story_points,
            custom_fields: input.custom_fields,
            project: input.project,
            idempotency_key: key,
            history: vec![stamp.event(TaskChange::Created)],
            comments: Vec::new(),
            description: input.description,
        }
    }

    /// A new epic with id `id`, its creation recorded.
    pub(crate) fn new_epic(
        id: String,
        input: NewEpic,
        stamp: &Stamp,
        key: Option<String>,
    ) -> TaskFile {
        let as_task = NewTask {
            title: input.title,
            description: input.description,
            project: input.project,
            labels: input.labels,
            ..NewTask::default()
        };
        TaskFile {
            kind: ItemKind::Epic,
            ..TaskFile::new_task(id, as_task, stamp, key)
        }
    }

    /// Whether this file is an epic.
    pub(crate) fn is_epic(&self) -> bool {
        self.kind == ItemKind::Epic
    }

    /// The task in the standard format.
    pub(crate) fn to_task(&self) -> Task {
        Task {
            id: self.id.clone(),
            title: self.title.clone(),
            description: self.description.clone(),
            status: self.status,
            assignee: self.assignee.clone(),
            priority: self.priority,
            labels: self.labels.clone(),
            created: self.created,
            updated: self.updated,
            due_date: self.due_date,
            epic_id: self.epic_id.clone(),
            story_points: self.story_points,
            custom_fields: self.custom_fields.clone(),
        }
    }

    /// The file as an epic.
    pub(crate) fn to_epic(&self) -> Epic {
        Epic {
            id: self.id.clone(),
            title: self.title.clone(),
            description: self.description.clone(),
            status: self.status,
            url: None,
            created: self.created,
        }
    }

    /// Moves the task to `status`; records the move if it is one.
    pub(crate) fn set_status(&mut self, status: TaskStatus, stamp: &Stamp) {
        if self.status == status {
            return;
        }
        let change = TaskChange::StatusChanged {
            from: self.status,
            to: status,
        };
        self.status = status;
        self.touch(stamp, change);
    }

    /// Assigns the task to `assignee` (or nobody); records the change if it
    /// is one.
    pub(crate) fn assign(&mut self, assignee: Option<String>, stamp: &Stamp) {
        if self.assignee == assignee {
            return;
        }
        let change = TaskChange::Assigned {
            from: self.assignee.clone(),
            to: assignee.clone(),
        };
        self.assignee = assignee;
        self.touch(stamp, change);
    }

    /// Adds a comment and records it, or returns the comment already added
    /// under `key`.
    pub(crate) fn add_comment(
        &mut self,
        body: String,
        stamp: &Stamp,
        key: Option<String>,
    ) -> Comment {
        if let Some(existing) = key.as_deref().and_then(|key| self.comment_with_key(key)) {
            return existing;
        }
        let entry = CommentEntry {
            id: format!("{}#c{}", self.id, self.next_comment_number()),
            author: stamp.actor.clone(),
            body,
            created: stamp.at,
            idempotency_key: key,
        };
        let comment = self.to_comment(&entry);
        self.comments.push(entry);
        self.touch(
            stamp,
            TaskChange::Commented {
                comment_id: comment.id.clone(),
            },
        );
        comment
    }

    /// The task's comments, oldest first.
    pub(crate) fn comments(&self) -> Vec<Comment> {
        self.comments
            .iter()
            .map(|entry| self.to_comment(entry))
            .collect()
    }

    /// Whether the task passes every filter of `query` that is set.
    pub(crate) fn matches(&self, query: &TaskQuery) -> bool {
        let project_ok = query.project.is_none() || self.project == query.project;
        let status_ok = query.status.is_none_or(|status| self.status == status);
        let assignee_ok = query.assignee.is_none() || self.assignee == query.assignee;
        let epic_ok = query.epic_id.is_none() || self.epic_id == query.epic_id;
        let labels_ok = query.labels.iter().all(|label| self.labels.contains(label));
        project_ok && status_ok && assignee_ok && epic_ok && labels_ok
    }

    fn comment_with_key(&self, key: &str) -> Option<Comment> {
        self.comments
            .iter()
            .find(|entry| entry.idempotency_key.as_deref() == Some(key))
            .map(|entry| self.to_comment(entry))
    }

    /// One more than the highest comment number, so a comment removed by
    /// hand never makes two comments share an id.
    fn next_comment_number(&self) -> u64 {
        let prefix = format!("{}#c", self.id);
        let highest = self
            .comments
            .iter()
            .filter_map(|entry| entry.id.strip_prefix(&prefix)?.parse::<u64>().ok())
            .max()
            .unwrap_or(0);
        highest.max(self.comments.len() as u64) + 1
    }

    fn to_comment(&self, entry: &CommentEntry) -> Comment {
        Comment {
            id: entry.id.clone(),
            task_id: self.id.clone(),
            author: entry.author.clone(),
            body: entry.body.clone(),
            created: entry.created,
        }
    }

    fn touch(&mut self, stamp: &Stamp, change: TaskChange) {
        self.updated = stamp.at;
        self.history.push(stamp.event(change));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn task() -> TaskFile {
        let input = NewTask {
            title: "Write the parser".into(),
            ..NewTask::default()
        };
        TaskFile::new_task("TASK-1".into(), input, &Stamp::now("alice"), None)
    }

    #[test]
    fn a_new_task_is_todo_medium_and_records_its_creation() {
        let task = task();
        assert_eq!(task.status, TaskStatus::Todo);
        assert_eq!(task.priority, Priority::Medium);
        assert_eq!(task.history.len(), 1);
        assert_eq!(task.history[0].change, TaskChange::Created);
        assert_eq!(task.history[0].actor.as_deref(), Some("alice"));
    }

    #[test]
    fn a_status_change_is_recorded_once_and_a_no_op_not_at_all() {
        let mut task = task();
        task.set_status(TaskStatus::InProgress, &Stamp::now("bob"));
        task.set_status(TaskStatus::InProgress, &Stamp::now("bob"));
        assert_eq!(task.history.len(), 2);
        assert_eq!(
            task.history[1].change,
            TaskChange::StatusChanged {
                from: TaskStatus::Todo,
                to: TaskStatus::InProgress
            }
        );
    }

    #[test]
    fn assignments_record_both_sides() {
        let mut task = task();
        task.assign(Some("carol".into()), &Stamp::now("aido"));
        task.assign(None, &Stamp::now("aido"));
        let changes: Vec<_> = task.history.iter().map(|e| e.change.clone()).collect();
        assert_eq!(
            changes[1..],
            [
                TaskChange::Assigned {
                    from: None,
                    to: Some("carol".into())
                },
                TaskChange::Assigned {
                    from: Some("carol".into()),
                    to: None
                },
            ]
        );
    }

    #[test]
    fn comment_ids_never_repeat_even_after_one_is_removed_by_hand() {
        let mut task = task();
        let stamp = Stamp::now("aido");
        task.add_comment("one".into(), &stamp, None);
        task.add_comment("two".into(), &stamp, None);
        task.comments.remove(0);
        let third = task.add_comment("three".into(), &stamp, None);
        assert_eq!(third.id, "TASK-1#c3");
        assert_eq!(third.task_id, "TASK-1");
    }

    #[test]
    fn a_comment_key_already_used_returns_the_first_comment() {
        let mut task = task();
        let stamp = Stamp::now("aido");
        let first = task.add_comment("hello".into(), &stamp, Some("k1".into()));
        let again = task.add_comment("hello".into(), &stamp, Some("k1".into()));
        assert_eq!(first, again);
        assert_eq!(task.comments.len(), 1);
        assert_eq!(task.history.len(), 2, "one created, one commented");
    }

    #[test]
    fn queries_combine_their_filters() {
        let mut task = task();
        task.labels = vec!["backend".into(), "bug".into()];
        task.project = Some("shop".into());
        let query = |q: TaskQuery| task.matches(&q);
        assert!(query(TaskQuery::default()));
        assert!(query(TaskQuery {
            labels: vec!["bug".into()],
            project: Some("shop".into()),
            ..Default::default()
        }));
        assert!(!query(TaskQuery {
            labels: vec!["bug".into(), "ui".into()],
            ..Default::default()
        }));
        assert!(!query(TaskQuery {
            project: Some("blog".into()),
            ..Default::default()
        }));
        assert!(!query(TaskQuery {
            status: Some(TaskStatus::Done),
            ..Default::default()
        }));
        assert!(!query(TaskQuery {
            epic_id: Some("TASK-9".into()),
            ..Default::default()
        }));
    }
}
