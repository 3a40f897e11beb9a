//! `aido task add | list | show | move | comment`: the configured tracker
//! from the command line, through the action catalog like any workflow.

use std::time::Duration;

use serde_json::{Value, json};

use aido_core::lifecycle::{shutdown_signal, with_plugins};
use aido_plugin_api::model::task::{Comment, Priority, Task, TaskHistoryEvent, TaskStatus};
use aido_plugin_api::{CallContext, PluginKind};

use crate::cli::{GlobalArgs, TaskCommand};
use crate::context;
use crate::exit::{CliError, CliResult};
use crate::output::{Output, Tone};

/// Runs one `aido task` subcommand.
pub async fn run(args: &GlobalArgs, command: &TaskCommand, out: &Output) -> CliResult {
    // Check the arguments before anything connects.
    let call = plan(command)?;
    let registry = context::registry()?;
    let loaded = context::load_config(args, &registry, out)?;
    let tracker = loaded
        .plugin(PluginKind::TaskManagement)
        .cloned()
        .ok_or_else(|| CliError::usage("no task_management plugin is configured"))?;
    let instance = tracker.instance.clone();
    let timeout = Duration::from_secs(loaded.settings.system.connect_timeout_seconds);
    let cx = CallContext::detached();
    let result = with_plugins(vec![tracker], timeout, shutdown_signal(), async |_| {
        let mut outputs = Vec::new();
        for (action, input) in call {
            outputs.push(instance.call(&cx, action, input).await?);
        }
        Ok::<_, aido_plugin_api::Error>(outputs)
    })
    .await?;
    let outputs = result.map_err(CliError::runtime)?;
    show(command, outputs, out)
}

/// The actions a command makes, with their inputs.
fn plan(command: &TaskCommand) -> CliResult<Vec<(&'static str, Value)>> {
    Ok(match command {
        TaskCommand::Add {
            title,
            description,
            priority,
            labels,
        } => {
            let priority = priority
                .as_deref()
                .map(|p| p.parse::<Priority>())
                .transpose()
                .map_err(CliError::usage)?;
            vec![(
                "create_task",
                json!({ "title": title, "description": description.clone().unwrap_or_default(), "priority": priority, "labels": labels }),
            )]
        }
        TaskCommand::List { status } => {
            let status = status
                .as_deref()
                .map(|s| s.parse::<TaskStatus>())
                .transpose()
                .map_err(CliError::usage)?;
            vec![("get_project_tasks", json!({ "status": status }))]
        }
        TaskCommand::Show { id } => vec![
            ("get_task", json!({ "task_id": id })),
            ("get_comments", json!({ "task_id": id })),
            ("get_task_history", json!({ "task_id": id })),
        ],
        TaskCommand::Move { id, status } => {
            let status = status.parse::<TaskStatus>().map_err(CliError::usage)?;
            vec![(
                "update_task_status",
                json!({ "task_id": id, "status": status }),
            )]
        }
        TaskCommand::Comment { id, text } => {
            vec![("add_comment", json!({ "task_id": id, "body": text }))]
        }
    })
}

fn decode<T: serde::de::DeserializeOwned>(value: Value) -> CliResult<T> {
    serde_json::from_value(value)
        .map_err(|err| CliError::runtime(format!("the tracker's answer does not fit: {err}")))
}

fn show(command: &TaskCommand, mut outputs: Vec<Value>, out: &Output) -> CliResult {
    if out.json {
        let value = match command {
            TaskCommand::Show { .. } if outputs.len() == 3 => {
                let history = outputs.pop().unwrap_or(Value::Null);
                let comments = outputs.pop().unwrap_or(Value::Null);
                let mut task = outputs.pop().unwrap_or(Value::Null);
                task["comments"] = comments;
                task["history"] = history;
                task
            }
            _ => outputs.pop().unwrap_or(Value::Null),
        };
        out.json(&value);
        return Ok(());
    }
    match command {
        TaskCommand::Add { .. } | TaskCommand::Move { .. } => {
            let task: Task = decode(outputs.pop().unwrap_or(Value::Null))?;
            out.line(&format!(
                "{}  {}  {}",
                task.id,
                paint_status(out, task.status),
                task.title
            ));
        }
        TaskCommand::Comment { .. } => {
            let comment: Comment = decode(outputs.pop().unwrap_or(Value::Null))?;
            out.line(&format!(
                "{}: comment {} added",
                comment.task_id, comment.id
            ));
        }
        TaskCommand::List { .. } => {
            let tasks: Vec<Task> = decode(outputs.pop().unwrap_or(Value::Null))?;
            let mut rows = vec![
                ["ID", "STATUS", "PRIORITY", "ASSIGNEE", "TITLE"]
                    .map(str::to_owned)
                    .to_vec(),
            ];
            for task in tasks {
                rows.push(vec![
                    task.id,
                    paint_status(out, task.status),
                    task.priority.to_string(),
                    task.assignee.unwrap_or_else(|| "-".to_owned()),
                    task.title,
                ]);
            }
            out.table(&rows);
        }
        TaskCommand::Show { .. } => {
            let history: Vec<TaskHistoryEvent> = decode(outputs.pop().unwrap_or(Value::Null))?;
            let comments: Vec<Comment> = decode(outputs.pop().unwrap_or(Value::Null))?;
            let task: Task = decode(outputs.pop().unwrap_or(Value::Null))?;
            out.line(&format!("{}  {}", task.id, task.title));
            out.line(&format!(
                "status {}  priority {}  assignee {}",
                paint_status(out, task.status),
                task.priority,
                task.assignee.as_deref().unwrap_or("-")
            ));
            if !task.labels.is_empty() {
                out.line(&format!("labels {}", task.labels.join(", ")));
            }
            if !task.description.is_empty() {
                out.line("");
                out.line(task.description.trim_end());
            }
            if !comments.is_empty() {
                out.line("");
                out.line(&out.paint("comments", Tone::Dim));
                for comment in comments {
                    out.line(&format!(
                        "  {} {}: {}",
                        comment.created.format("%Y-%m-%d %H:%M"),
                        comment.author.as_deref().unwrap_or("?"),
                        comment.body
                    ));
                }
            }
            out.line("");
            out.line(&out.paint("history", Tone::Dim));
            for event in history {
                let change = serde_json::to_value(&event.change).unwrap_or(Value::Null);
                let kind = change
                    .get("type")
                    .and_then(Value::as_str)
                    .unwrap_or("changed");
                let detail = match (change.get("from"), change.get("to")) {
                    (Some(from), Some(to)) => format!(" {} → {}", short(from), short(to)),
                    _ => String::new(),
                };
                out.line(&format!(
                    "  {} {}{detail}",
                    event.at.format("%Y-%m-%d %H:%M:%S"),
                    kind
                ));
            }
        }
    }
    Ok(())
}

fn short(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Null => "-".to_owned(),
        other => other.to_string(),
    }
}

fn paint_status(out: &Output, status: TaskStatus) -> String {
    let tone = match status {
        TaskStatus::Done => Tone::Good,
        TaskStatus::InReview | TaskStatus::InProgress => Tone::Warn,
        TaskStatus::Todo => Tone::Dim,
    };
    out.paint(status.as_str(), tone)
}
