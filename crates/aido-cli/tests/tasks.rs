//! `aido task`: a task round-trips through every status with comments and
//! history, and concurrent processes lose no comment.

mod common;

use common::{aido, ok};

use serde_json::Value;

#[test]
fn a_task_round_trips_through_every_status_with_comments_and_history() {
    let dir = tempfile::tempdir().unwrap();
    let made: Value = serde_json::from_slice(
        &ok(aido(
            dir.path(),
            &[
                "task",
                "add",
                "Fix login",
                "-d",
                "Safari fails",
                "-p",
                "high",
                "-l",
                "bug",
                "--json",
            ],
        ))
        .stdout,
    )
    .unwrap();
    let id = made["id"].as_str().unwrap().to_owned();
    assert_eq!(made["status"], "todo");
    for status in ["in_progress", "in_review", "done", "todo"] {
        let moved: Value = serde_json::from_slice(
            &ok(aido(dir.path(), &["task", "move", &id, status, "--json"])).stdout,
        )
        .unwrap();
        assert_eq!(moved["status"], status);
        ok(aido(
            dir.path(),
            &["task", "comment", &id, &format!("now {status}")],
        ));
    }
    let shown: Value =
        serde_json::from_slice(&ok(aido(dir.path(), &["task", "show", &id, "--json"])).stdout)
            .unwrap();
    assert_eq!(shown["priority"], "high");
    assert_eq!(shown["labels"], serde_json::json!(["bug"]));
    assert_eq!(shown["comments"].as_array().unwrap().len(), 4);
    let changes: Vec<&str> = shown["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["change"]["type"].as_str().unwrap())
        .collect();
    assert_eq!(
        changes.iter().filter(|c| **c == "status_changed").count(),
        4,
        "{changes:?}"
    );
    assert_eq!(
        changes.iter().filter(|c| **c == "commented").count(),
        4,
        "{changes:?}"
    );
    assert_eq!(changes[0], "created");

    let listed: Value = serde_json::from_slice(
        &ok(aido(
            dir.path(),
            &["task", "list", "--status", "todo", "--json"],
        ))
        .stdout,
    )
    .unwrap();
    assert_eq!(listed.as_array().unwrap().len(), 1);
    let bad = aido(dir.path(), &["task", "move", &id, "shipped"]);
    assert_eq!(bad.status.code(), Some(2));
    let missing = aido(dir.path(), &["task", "show", "TASK-99"]);
    assert_eq!(missing.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("TASK-99"));
}

#[test]
fn two_processes_commenting_at_once_lose_no_comment() {
    let dir = tempfile::tempdir().unwrap();
    ok(aido(dir.path(), &["task", "add", "Busy task"]));
    let writers: Vec<_> = (0..2)
        .map(|writer| {
            let dir = dir.path().to_owned();
            std::thread::spawn(move || {
                for n in 0..8 {
                    ok(aido(
                        &dir,
                        &[
                            "task",
                            "comment",
                            "TASK-1",
                            &format!("writer {writer} comment {n}"),
                        ],
                    ));
                }
            })
        })
        .collect();
    for writer in writers {
        writer.join().unwrap();
    }
    let shown: Value =
        serde_json::from_slice(&ok(aido(dir.path(), &["task", "show", "TASK-1", "--json"])).stdout)
            .unwrap();
    assert_eq!(shown["comments"].as_array().unwrap().len(), 16);
}
