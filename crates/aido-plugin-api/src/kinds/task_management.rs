//! The `task_management` kind: trackers such as Linear, Jira, GitHub Issues.

use crate::model::task::{
    Assignment, Comment, Epic, NewComment, NewEpic, NewTask, StatusUpdate, Task, TaskHistoryEvent,
    TaskQuery, TaskRef,
};

super::plugin_kind! {
    /// A task tracker. Tasks are in the standard format; each plugin maps its
    /// service's states and priorities through its configuration.
    kind TaskManagement, trait TaskManagement {
        /// Fetches one task by its identifier.
        read fn get_task(TaskRef) -> Task;
        /// Creates a task.
        write fn create_task(NewTask) -> Task;
        /// Moves a task to another status.
        write fn update_task_status(StatusUpdate) -> Task;
        /// Adds a comment to a task.
        write fn add_comment(NewComment) -> Comment;
        /// Lists a task's comments, oldest first.
        read fn get_comments(TaskRef) -> Vec<Comment>;
        /// Creates an epic, a group of tasks.
        write fn create_epic(NewEpic) -> Epic;
        /// Lists a project's tasks, optionally filtered.
        read fn get_project_tasks(TaskQuery) -> Vec<Task>;
        /// Assigns a task to someone, or unassigns it.
        write fn assign_task(Assignment) -> Task;
        /// Lists what happened to a task, oldest first.
        read fn get_task_history(TaskRef) -> Vec<TaskHistoryEvent>;
    }
}
