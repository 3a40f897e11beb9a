//! Tests of the `local` task plugin through its trait and through the JSON
//! dispatcher, on temporary folders.

use std::fs;
use std::path::Path;
use std::sync::Arc;

use aido_plugin_api::model::task::*;
use aido_plugin_api::{
    CallContext, ErrorKind, Health, Plugin, PluginConfig, PluginInstance, TaskManagement,
};
use serde_json::{Value, json};

use super::LocalTasks;

fn config(dir: &Path, options: Value) -> PluginConfig {
    let value = json!({"connection": {"dir": dir}, "options": options});
    PluginConfig::new(
        "task_management",
        value,
        "/nonexistent-project",
        "/nonexistent-project/.aido",
    )
}

async fn connected(dir: &Path) -> LocalTasks {
    connected_with(dir, json!({})).await
}

async fn connected_with(dir: &Path, options: Value) -> LocalTasks {
    let plugin = LocalTasks::default();
    plugin.connect(&config(dir, options)).await.unwrap();
    plugin
}

/// The task files in `dir`, by name.
fn task_files(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".md"))
        .collect();
    names.sort();
    names
}

fn cx() -> CallContext {
    CallContext::detached()
}

fn new_task(title: &str) -> NewTask {
    NewTask {
        title: title.into(),
        ..NewTask::default()
    }
}

fn task_ref(id: &str) -> TaskRef {
    TaskRef { task_id: id.into() }
}

#[tokio::test]
async fn a_created_task_is_a_readable_markdown_file() {
    let dir = tempfile::tempdir().unwrap();
    let plugin = connected(dir.path()).await;
    let input = NewTask {
        description: "Users log in with email.\n\n- [ ] form\n".into(),
        priority: Some(Priority::High),
        labels: vec!["auth".into()],
        story_points: Some(3.0),
        project: Some("shop".into()),
        ..new_task("Add a login form")
    };
    let task = plugin.create_task(&cx(), input).await.unwrap();
    assert_eq!(task.id, "TASK-1");
    assert_eq!(task.status, TaskStatus::Todo);

    let text = fs::read_to_string(dir.path().join("TASK-1.md")).unwrap();
    assert!(
        text.starts_with("---\nid: TASK-1\ntitle: Add a login form\nstatus: todo\n"),
        "{text}"
    );
    assert!(text.contains("\npriority: high\n"), "{text}");
    assert!(text.contains("\nproject: shop\n"), "{text}");
    assert!(
        text.ends_with("---\n\nUsers log in with email.\n\n- [ ] form\n"),
        "{text}"
    );

    let read = plugin.get_task(&cx(), task_ref("TASK-1")).await.unwrap();
    assert_eq!(read, task);
    assert_eq!(read.description, "Users log in with email.\n\n- [ ] form\n");
}

#[tokio::test]
async fn ids_count_up_with_the_configured_prefix() {
    let dir = tempfile::tempdir().unwrap();
    let plugin = connected_with(dir.path(), json!({"id_prefix": "SHOP"})).await;
    for expected in ["SHOP-1", "SHOP-2", "SHOP-3"] {
        assert_eq!(
            plugin.create_task(&cx(), new_task("t")).await.unwrap().id,
            expected
        );
    }
}

#[tokio::test]
async fn an_unknown_task_is_not_found_naming_the_id_and_the_folder() {
    let dir = tempfile::tempdir().unwrap();
    let plugin = connected(dir.path()).await;
    let err = plugin
        .get_task(&cx(), task_ref("TASK-9"))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
    assert!(err.message().contains("TASK-9"), "{err}");
    assert!(
        err.message().contains(&dir.path().display().to_string()),
        "{err}"
    );
    let err = plugin
        .add_comment(
            &cx(),
            NewComment {
                task_id: "TASK-9".into(),
                body: "x".into(),
            },
        )
        .await;
    assert_eq!(err.unwrap_err().kind(), ErrorKind::NotFound);
}

#[tokio::test]
async fn a_corrupt_file_is_an_invalid_response_naming_the_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let plugin = connected(dir.path()).await;
    plugin.create_task(&cx(), new_task("t")).await.unwrap();
    let path = dir.path().join("TASK-1.md");
    let text = fs::read_to_string(&path)
        .unwrap()
        .replace("status: todo", "status: finished");
    fs::write(&path, text).unwrap();

    let err = plugin
        .get_task(&cx(), task_ref("TASK-1"))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidResponse);
    assert!(err.message().contains("TASK-1.md"), "{err}");
    // `status` is the fourth line: `---`, id, title, status.
    assert!(err.message().contains("line 4"), "{err}");
    assert!(
        err.message().contains("in_progress"),
        "the valid statuses are listed: {err}"
    );
}

#[tokio::test]
async fn a_hand_written_task_file_is_read() {
    let dir = tempfile::tempdir().unwrap();
    let plugin = connected(dir.path()).await;
    fs::write(
        dir.path().join("BUG-7.md"),
        "---\nid: BUG-7\ntitle: Crash on save\nstatus: in_review\ncreated: 2025-01-02T03:04:05Z\nupdated: 2025-01-02T03:04:05Z\n---\nIt crashes.\n",
    )
    .unwrap();
    let task = plugin.get_task(&cx(), task_ref("BUG-7")).await.unwrap();
    assert_eq!(task.title, "Crash on save");
    assert_eq!(task.status, TaskStatus::InReview);
    assert_eq!(task.priority, Priority::Medium);
    assert_eq!(task.description, "It crashes.\n");
    let listed = plugin
        .get_project_tasks(&cx(), TaskQuery::default())
        .await
        .unwrap();
    assert_eq!(listed.len(), 1);
}

#[tokio::test]
async fn status_assignment_and_comments_are_recorded_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let plugin = connected_with(dir.path(), json!({"author": "agent"})).await;
    let id = plugin.create_task(&cx(), new_task("t")).await.unwrap().id;

    let moved = plugin
        .update_task_status(
            &cx(),
            StatusUpdate {
                task_id: id.clone(),
                status: TaskStatus::InProgress,
            },
        )
        .await
        .unwrap();
    assert_eq!(moved.status, TaskStatus::InProgress);
    let assigned = plugin
        .assign_task(
            &cx(),
            Assignment {
                task_id: id.clone(),
                assignee: Some("dana".into()),
            },
        )
        .await
        .unwrap();
    assert_eq!(assigned.assignee.as_deref(), Some("dana"));
    let comment = plugin
        .add_comment(
            &cx(),
            NewComment {
                task_id: id.clone(),
                body: "Started.\nSecond line.".into(),
            },
        )
        .await
        .unwrap();
    assert_eq!(comment.id, "TASK-1#c1");
    assert_eq!(comment.author.as_deref(), Some("agent"));

    let history = plugin.get_task_history(&cx(), task_ref(&id)).await.unwrap();
    let changes: Vec<TaskChange> = history.iter().map(|event| event.change.clone()).collect();
    assert_eq!(
        changes,
        [
            TaskChange::Created,
            TaskChange::StatusChanged {
                from: TaskStatus::Todo,
                to: TaskStatus::InProgress
            },
            TaskChange::Assigned {
                from: None,
                to: Some("dana".into())
            },
            TaskChange::Commented {
                comment_id: "TASK-1#c1".into()
            },
        ]
    );
    assert!(history.windows(2).all(|pair| pair[0].at <= pair[1].at));
    assert!(
        history
            .iter()
            .all(|event| event.actor.as_deref() == Some("agent"))
    );

    let comments = plugin.get_comments(&cx(), task_ref(&id)).await.unwrap();
    assert_eq!(comments, [comment]);
    let task = plugin.get_task(&cx(), task_ref(&id)).await.unwrap();
    assert_eq!(task.updated, history[3].at);
}

#[tokio::test]
async fn epics_group_tasks_and_stay_out_of_task_lists() {
    let dir = tempfile::tempdir().unwrap();
    let plugin = connected(dir.path()).await;
    let epic = plugin
        .create_epic(
            &cx(),
            NewEpic {
                title: "Checkout".into(),
                description: "Pay.".into(),
                ..NewEpic::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(epic.id, "TASK-1");
    assert!(
        fs::read_to_string(dir.path().join("TASK-1.md"))
            .unwrap()
            .contains("\nkind: epic\n")
    );

    let in_epic = NewTask {
        epic_id: Some(epic.id.clone()),
        ..new_task("Cart")
    };
    plugin.create_task(&cx(), in_epic).await.unwrap();
    plugin
        .create_task(&cx(), new_task("Unrelated"))
        .await
        .unwrap();

    let all = plugin
        .get_project_tasks(&cx(), TaskQuery::default())
        .await
        .unwrap();
    assert_eq!(
        all.iter().map(|t| t.title.as_str()).collect::<Vec<_>>(),
        ["Cart", "Unrelated"]
    );
    let query = TaskQuery {
        epic_id: Some(epic.id.clone()),
        ..TaskQuery::default()
    };
    let of_epic = plugin.get_project_tasks(&cx(), query).await.unwrap();
    assert_eq!(
        of_epic.iter().map(|t| t.title.as_str()).collect::<Vec<_>>(),
        ["Cart"]
    );
}

#[tokio::test]
async fn a_task_cannot_join_a_missing_epic_or_a_plain_task() {
    let dir = tempfile::tempdir().unwrap();
    let plugin = connected(dir.path()).await;
    let missing = NewTask {
        epic_id: Some("TASK-5".into()),
        ..new_task("a")
    };
    let err = plugin.create_task(&cx(), missing).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
    assert!(err.message().contains("epic TASK-5"), "{err}");

    let plain = plugin.create_task(&cx(), new_task("plain")).await.unwrap();
    let into_task = NewTask {
        epic_id: Some(plain.id),
        ..new_task("b")
    };
    let err = plugin.create_task(&cx(), into_task).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    let blank = plugin.create_task(&cx(), new_task("  ")).await.unwrap_err();
    assert_eq!(blank.kind(), ErrorKind::InvalidInput);
    assert_eq!(
        task_files(dir.path()),
        ["TASK-1.md"],
        "no file for the refused tasks"
    );
}

#[tokio::test]
async fn project_tasks_filter_by_project_status_assignee_labels_and_limit() {
    let dir = tempfile::tempdir().unwrap();
    let plugin = connected(dir.path()).await;
    let specs = [
        (
            "a",
            Some("shop"),
            TaskStatus::Todo,
            Some("ann"),
            vec!["bug"],
        ),
        ("b", Some("shop"), TaskStatus::Done, None, vec!["bug", "ui"]),
        ("c", Some("blog"), TaskStatus::Todo, Some("ann"), vec![]),
        ("d", None, TaskStatus::Todo, None, vec!["ui"]),
    ];
    for (title, project, status, assignee, labels) in specs {
        let input = NewTask {
            project: project.map(str::to_owned),
            status: Some(status),
            assignee: assignee.map(str::to_owned),
            labels: labels.into_iter().map(str::to_owned).collect(),
            ..new_task(title)
        };
        plugin.create_task(&cx(), input).await.unwrap();
    }
    let titles = |tasks: Vec<Task>| {
        tasks
            .into_iter()
            .map(|t| t.title)
            .collect::<Vec<_>>()
            .join(",")
    };
    let detached = cx();
    let list = |query: TaskQuery| plugin.get_project_tasks(&detached, query);

    assert_eq!(titles(list(TaskQuery::default()).await.unwrap()), "a,b,c,d");
    assert_eq!(
        titles(
            list(TaskQuery {
                project: Some("shop".into()),
                ..Default::default()
            })
            .await
            .unwrap()
        ),
        "a,b"
    );
    assert_eq!(
        titles(
            list(TaskQuery {
                status: Some(TaskStatus::Todo),
                ..Default::default()
            })
            .await
            .unwrap()
        ),
        "a,c,d"
    );
    assert_eq!(
        titles(
            list(TaskQuery {
                assignee: Some("ann".into()),
                ..Default::default()
            })
            .await
            .unwrap()
        ),
        "a,c"
    );
    assert_eq!(
        titles(
            list(TaskQuery {
                labels: vec!["ui".into()],
                ..Default::default()
            })
            .await
            .unwrap()
        ),
        "b,d"
    );
    assert_eq!(
        titles(
            list(TaskQuery {
                limit: Some(2),
                ..Default::default()
            })
            .await
            .unwrap()
        ),
        "a,b"
    );
}

#[tokio::test]
async fn a_retried_create_with_the_same_key_returns_the_first_task() {
    let dir = tempfile::tempdir().unwrap();
    let plugin = connected(dir.path()).await;
    let keyed = CallContext::with_idempotency_key("run-1/step-plan/0");
    let first = plugin.create_task(&keyed, new_task("Once")).await.unwrap();
    let again = plugin.create_task(&keyed, new_task("Once")).await.unwrap();
    assert_eq!(first, again);
    let other = plugin
        .create_task(
            &CallContext::with_idempotency_key("other"),
            new_task("Twice"),
        )
        .await
        .unwrap();
    assert_eq!(other.id, "TASK-2");
    assert_eq!(
        plugin
            .get_project_tasks(&cx(), TaskQuery::default())
            .await
            .unwrap()
            .len(),
        2
    );

    let epic_cx = CallContext::with_idempotency_key("epic-key");
    let epic = plugin
        .create_epic(
            &epic_cx,
            NewEpic {
                title: "E".into(),
                ..NewEpic::default()
            },
        )
        .await
        .unwrap();
    let epic_again = plugin
        .create_epic(
            &epic_cx,
            NewEpic {
                title: "E".into(),
                ..NewEpic::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(epic, epic_again);
}

#[tokio::test]
async fn a_retried_comment_with_the_same_key_is_added_once() {
    let dir = tempfile::tempdir().unwrap();
    let plugin = connected(dir.path()).await;
    let id = plugin.create_task(&cx(), new_task("t")).await.unwrap().id;
    let keyed = CallContext::with_idempotency_key("run-7/step-3");
    let comment = || NewComment {
        task_id: id.clone(),
        body: "PR opened".into(),
    };
    let first = plugin.add_comment(&keyed, comment()).await.unwrap();
    let again = plugin.add_comment(&keyed, comment()).await.unwrap();
    assert_eq!(first, again);
    let unkeyed = plugin.add_comment(&cx(), comment()).await.unwrap();
    assert_ne!(unkeyed.id, first.id);
    assert_eq!(
        plugin
            .get_comments(&cx(), task_ref(&id))
            .await
            .unwrap()
            .len(),
        2
    );
    let text = fs::read_to_string(dir.path().join(format!("{id}.md"))).unwrap();
    assert!(text.contains("idempotency_key: run-7/step-3"), "{text}");
}

#[tokio::test]
async fn the_json_dispatcher_drives_every_kind_of_call() {
    let dir = tempfile::tempdir().unwrap();
    let instance = PluginInstance::TaskManagement(Arc::new(connected(dir.path()).await));
    let created = instance
        .call(
            &cx(),
            "create_task",
            json!({"title": "From JSON", "priority": "critical", "labels": ["x"]}),
        )
        .await
        .unwrap();
    assert_eq!(created["id"], "TASK-1");
    assert_eq!(created["priority"], "critical");
    let moved = instance
        .call(
            &cx(),
            "update_task_status",
            json!({"task_id": "TASK-1", "status": "done"}),
        )
        .await
        .unwrap();
    assert_eq!(moved["status"], "done");
    let history = instance
        .call(&cx(), "get_task_history", json!({"task_id": "TASK-1"}))
        .await
        .unwrap();
    assert_eq!(
        history[1]["change"],
        json!({"type": "status_changed", "from": "todo", "to": "done"})
    );
    let listed = instance
        .call(&cx(), "get_project_tasks", json!({"status": "done"}))
        .await
        .unwrap();
    assert_eq!(listed.as_array().map(Vec::len), Some(1));

    let err = instance
        .call(&cx(), "get_task", json!({"task_id": "TASK-2"}))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
    assert_eq!(err.plugin(), "local");
    assert_eq!(err.operation(), "get_task");
}

#[tokio::test]
async fn calls_before_connect_are_configuration_errors() {
    let plugin = LocalTasks::default();
    let err = plugin
        .get_task(&cx(), task_ref("TASK-1"))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Configuration);
    assert!(err.message().contains("not connected"), "{err}");
    assert!(
        matches!(plugin.health_check().await, Health::Unhealthy(reason) if reason.contains("not connected"))
    );
}

#[tokio::test]
async fn connect_creates_the_folder_and_health_follows_it() {
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("nested/tasks");
    let plugin = connected(&dir).await;
    assert!(dir.is_dir());
    assert_eq!(plugin.health_check().await, Health::Healthy);
    fs::remove_dir_all(&dir).unwrap();
    assert!(
        matches!(plugin.health_check().await, Health::Unhealthy(reason) if reason.contains("tasks"))
    );
    plugin.disconnect().await.unwrap();
    assert!(plugin.get_task(&cx(), task_ref("TASK-1")).await.is_err());
}

#[tokio::test]
async fn a_relative_folder_is_resolved_against_the_project() {
    let project = tempfile::tempdir().unwrap();
    let plugin = LocalTasks::default();
    let config = PluginConfig::new(
        "task_management",
        json!({}),
        project.path(),
        project.path().join(".aido"),
    );
    plugin.connect(&config).await.unwrap();
    plugin.create_task(&cx(), new_task("t")).await.unwrap();
    assert!(project.path().join(".aido/tasks/TASK-1.md").is_file());
}

#[tokio::test]
async fn a_bad_configuration_is_refused_before_any_side_effect() {
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("tasks");
    let plugin = LocalTasks::default();
    let err = plugin
        .connect(&config(&dir, json!({"id_prefix": "no spaces"})))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Configuration);
    assert!(err.message().contains("options.id_prefix"), "{err}");
    assert!(!dir.exists());
    let problems = plugin.validate_config(&config(&dir, json!({"id_prefix": "9"})));
    assert_eq!(problems.len(), 1);
    assert_eq!(problems[0].path, "options.id_prefix");
    let unknown = PluginConfig::new("task_management", json!({"mappings": {}}), ".", ".aido");
    let err = plugin.connect(&unknown).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Configuration);
    assert!(err.message().contains("`connection` or `options`"), "{err}");
}

/// Writers, each with its own plugin instance and runtime, as separate
/// processes would have.
fn run_writers(
    writers: usize,
    each: usize,
    dir: &Path,
    job: fn(&LocalTasks, usize, usize, &tokio::runtime::Runtime),
) {
    let handles: Vec<_> = (0..writers)
        .map(|writer| {
            let dir = dir.to_owned();
            std::thread::spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .unwrap();
                let plugin = runtime.block_on(connected(&dir));
                for n in 0..each {
                    job(&plugin, writer, n, &runtime);
                }
            })
        })
        .collect();
    for handle in handles {
        handle.join().unwrap();
    }
}

#[test]
fn concurrent_writers_lose_no_comment() {
    let dir = tempfile::tempdir().unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        connected(dir.path())
            .await
            .create_task(&cx(), new_task("shared"))
            .await
            .unwrap()
    });

    run_writers(8, 15, dir.path(), |plugin, writer, n, runtime| {
        let input = NewComment {
            task_id: "TASK-1".into(),
            body: format!("writer {writer} comment {n}"),
        };
        runtime.block_on(plugin.add_comment(&cx(), input)).unwrap();
    });

    let comments = runtime.block_on(async {
        connected(dir.path())
            .await
            .get_comments(&cx(), task_ref("TASK-1"))
            .await
            .unwrap()
    });
    assert_comments_complete(&comments, 8, 15);
}

#[test]
fn concurrent_creators_get_distinct_ids() {
    let dir = tempfile::tempdir().unwrap();
    run_writers(6, 10, dir.path(), |plugin, writer, n, runtime| {
        runtime
            .block_on(plugin.create_task(&cx(), new_task(&format!("{writer}/{n}"))))
            .unwrap();
    });
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let tasks = runtime.block_on(async {
        connected(dir.path())
            .await
            .get_project_tasks(&cx(), TaskQuery::default())
            .await
            .unwrap()
    });
    let ids: Vec<String> = tasks.iter().map(|t| t.id.clone()).collect();
    let expected: Vec<String> = (1..=60).map(|n| format!("TASK-{n}")).collect();
    assert_eq!(ids, expected);
}

fn assert_comments_complete(comments: &[Comment], writers: usize, each: usize) {
    assert_eq!(comments.len(), writers * each);
    for writer in 0..writers {
        for n in 0..each {
            let body = format!("writer {writer} comment {n}");
            assert!(comments.iter().any(|c| c.body == body), "missing {body}");
        }
    }
    let mut ids: Vec<&str> = comments.iter().map(|c| c.id.as_str()).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), writers * each, "comment ids are unique");
}

/// The folder a child process writes to; set only by the parent test.
const CHILD_DIR_VAR: &str = "AIDO_TEST_LOCAL_TASKS_DIR";
const CHILD_WRITER_VAR: &str = "AIDO_TEST_LOCAL_TASKS_WRITER";
const CHILD_COMMENTS: usize = 20;

#[test]
fn comments_from_several_processes_are_all_kept() {
    let dir = tempfile::tempdir().unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        connected(dir.path())
            .await
            .create_task(&cx(), new_task("shared"))
            .await
            .unwrap()
    });

    let exe = std::env::current_exe().unwrap();
    let children: Vec<_> = (0..4)
        .map(|writer| {
            std::process::Command::new(&exe)
                .args([
                    "local_tasks::tests::child_process_adds_comments",
                    "--exact",
                    "--ignored",
                    "--test-threads=1",
                ])
                .env(CHILD_DIR_VAR, dir.path())
                .env(CHILD_WRITER_VAR, writer.to_string())
                .output_async()
        })
        .collect();
    for child in children {
        let output = child.wait_with_output().unwrap();
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(
            output.status.success(),
            "child failed: {stdout}{}",
            String::from_utf8_lossy(&output.stderr)
        );
        assert!(
            stdout.contains("1 passed"),
            "the child ran the helper test: {stdout}"
        );
    }

    let comments = runtime.block_on(async {
        connected(dir.path())
            .await
            .get_comments(&cx(), task_ref("TASK-1"))
            .await
            .unwrap()
    });
    assert_comments_complete(&comments, 4, CHILD_COMMENTS);
}

/// Spawns the child without waiting, so all children run at once.
trait SpawnPiped {
    fn output_async(&mut self) -> std::process::Child;
}

impl SpawnPiped for std::process::Command {
    fn output_async(&mut self) -> std::process::Child {
        self.stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap()
    }
}

#[test]
#[ignore = "a helper that `comments_from_several_processes_are_all_kept` runs in child processes"]
fn child_process_adds_comments() {
    let (Ok(dir), Ok(writer)) = (
        std::env::var(CHILD_DIR_VAR),
        std::env::var(CHILD_WRITER_VAR),
    ) else {
        return;
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let plugin = connected(Path::new(&dir)).await;
        for n in 0..CHILD_COMMENTS {
            let input = NewComment {
                task_id: "TASK-1".into(),
                body: format!("writer {writer} comment {n}"),
            };
            plugin.add_comment(&cx(), input).await.unwrap();
        }
    });
}
