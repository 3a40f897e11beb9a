//! The `task_management` suite.

use serde_json::{Value, json};

use aido_plugin_api::{CallContext, ErrorKind, PluginInstance};

use super::{Report, expect, keyed, text};

/// Checks a connected task tracker: create, read, every status, comments,
/// assignment, history, listing, epics, idempotency and errors.
pub async fn task_management(plugin: &PluginInstance) -> Report {
    let mut report = Report::new(plugin);
    let cx = CallContext::detached();
    let created = plugin
        .call(
            &keyed("create-task"),
            "create_task",
            json!({ "title": "Conformance task", "description": "Made by the conformance suite.", "priority": "high", "labels": ["conformance"] }),
        )
        .await;
    let task = match created {
        Ok(task) => task,
        Err(err) => {
            report.fail("create_task makes a task", err.to_string());
            return report;
        }
    };
    let id = text(&task, "id").to_owned();
    report.record(
        "create_task makes a task in todo with its title and priority",
        Ok(expect(
            !id.is_empty()
                && text(&task, "title") == "Conformance task"
                && text(&task, "status") == "todo"
                && text(&task, "priority") == "high",
            || format!("got {task}"),
        )),
    );

    let again = plugin
        .call(
            &keyed("create-task"),
            "create_task",
            json!({ "title": "Conformance task" }),
        )
        .await
        .map(|t| {
            expect(text(&t, "id") == id, || {
                format!("a second create with the same key made {}", text(&t, "id"))
            })
        });
    report.record(
        "create_task with the same idempotency key returns the first task",
        again,
    );

    let read = plugin
        .call(&cx, "get_task", json!({ "task_id": id }))
        .await
        .map(|t| {
            expect(
                text(&t, "id") == id && text(&t, "title") == "Conformance task",
                || format!("got {t}"),
            )
        });
    report.record("get_task returns the task", read);

    for status in ["in_progress", "in_review", "done"] {
        let moved = plugin
            .call(
                &cx,
                "update_task_status",
                json!({ "task_id": id, "status": status }),
            )
            .await;
        let moved = match moved {
            Ok(t) => Ok(expect(text(&t, "status") == status, || {
                format!("asked for {status}, got {}", text(&t, "status"))
            })),
            Err(err) => Err(err),
        };
        report.record(&format!("update_task_status moves it to {status}"), moved);
    }
    let status = plugin
        .call(&cx, "get_task", json!({ "task_id": id }))
        .await
        .map(|t| expect(text(&t, "status") == "done", || format!("got {t}")));
    report.record("get_task shows the last status", status);

    let body = "A conformance comment.";
    let commented = plugin
        .call(
            &keyed("comment"),
            "add_comment",
            json!({ "task_id": id, "body": body }),
        )
        .await;
    report.record(
        "add_comment returns the comment",
        commented.map(|c| expect(text(&c, "body").contains(body), || format!("got {c}"))),
    );
    let twice = plugin
        .call(
            &keyed("comment"),
            "add_comment",
            json!({ "task_id": id, "body": body }),
        )
        .await;
    if let Err(err) = twice {
        report.fail(
            "add_comment with the same key succeeds again",
            err.to_string(),
        );
    }
    let comments = plugin
        .call(&cx, "get_comments", json!({ "task_id": id }))
        .await
        .map(|list| {
            let count = list
                .as_array()
                .map(|l| l.iter().filter(|c| text(c, "body").contains(body)).count())
                .unwrap_or(0);
            expect(count == 1, || format!("the comment appears {count} times"))
        });
    report.record(
        "get_comments lists the comment once (idempotency key honoured)",
        comments,
    );

    let history = plugin
        .call(&cx, "get_task_history", json!({ "task_id": id }))
        .await
        .map(|events| {
            let changes: Vec<&str> = events
                .as_array()
                .map(|e| {
                    e.iter()
                        .filter_map(|e| e.pointer("/change/type").and_then(Value::as_str))
                        .collect()
                })
                .unwrap_or_default();
            expect(changes.contains(&"status_changed"), || {
                format!("history holds {changes:?}")
            })
        });
    report.record("get_task_history records the status changes", history);

    let listed = plugin
        .call(&cx, "get_project_tasks", json!({}))
        .await
        .map(|tasks| {
            let found = tasks
                .as_array()
                .is_some_and(|t| t.iter().any(|t| text(t, "id") == id));
            expect(found, || "the task is not in get_project_tasks".to_owned())
        });
    report.record("get_project_tasks lists the task", listed);

    let epic = plugin
        .call(
            &keyed("epic"),
            "create_epic",
            json!({ "title": "Conformance epic", "description": "A group." }),
        )
        .await;
    match epic {
        Ok(epic) => {
            let epic_id = text(&epic, "id").to_owned();
            report.record(
                "create_epic makes an epic",
                Ok(expect(!epic_id.is_empty(), || format!("got {epic}"))),
            );
            let child = plugin
                .call(
                    &keyed("child"),
                    "create_task",
                    json!({ "title": "Conformance child", "epic_id": epic_id }),
                )
                .await
                .map(|t| {
                    expect(text(&t, "epic_id") == epic_id, || {
                        format!("the child's epic_id is {:?}", t.get("epic_id"))
                    })
                });
            report.record("create_task with epic_id links the task to the epic", child);
        }
        Err(err) => report.record("create_epic makes an epic", Err(err)),
    }

    let missing = plugin
        .call(&cx, "get_task", json!({ "task_id": "NOPE-999999" }))
        .await;
    report.record(
        "get_task of an unknown task is a not_found error",
        Ok(match missing {
            Err(err) if err.kind() == ErrorKind::NotFound => Ok(()),
            Err(err) => Err(format!("expected not_found, got {err}")),
            Ok(t) => Err(format!("expected an error, got {t}")),
        }),
    );
    let bad = plugin.call(&cx, "get_task", json!({ "id": "x" })).await;
    report.record(
        "bad input is an invalid_input error",
        Ok(match bad {
            Err(err) if err.kind() == ErrorKind::InvalidInput => Ok(()),
            other => Err(format!("expected invalid_input, got {other:?}")),
        }),
    );
    report
}
