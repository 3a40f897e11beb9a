//! Tests of the `github_issues` plugin against the GitHub emulator of
//! `aido-testkit`, through the action catalog.

use std::time::Duration;

use aido_plugin_api::ErrorKind;
use aido_testkit::github::{self as emu, ISSUE, ISSUES};
use aido_testkit::{Fault, GitHubEmulator};
use serde_json::{Value, json};

use super::*;

struct Fixture {
    emulator: GitHubEmulator,
    plugin: PluginInstance,
}

async fn connect(base_url: &str, token: &str, extra: Value) -> Result<PluginInstance> {
    let plugin = factory().create();
    let mut value = json!({
        "connection": {"token": token, "base_url": base_url, "owner": "acme", "repo": "widgets"},
    });
    if let (Some(target), Value::Object(extra)) = (value.as_object_mut(), extra) {
        target.extend(extra);
    }
    let config = PluginConfig::new("task_management", value, ".", ".aido");
    plugin.plugin().connect(&config).await?;
    Ok(plugin)
}

impl Fixture {
    async fn new(extra: Value) -> Fixture {
        let emulator = GitHubEmulator::start().await.unwrap();
        emulator.create_repo("acme", "widgets");
        let token = emulator.token().to_owned();
        let plugin = connect(&emulator.base_url(), &token, extra).await.unwrap();
        Fixture { emulator, plugin }
    }

    async fn call(&self, action: &str, input: Value) -> Result<Value> {
        self.plugin
            .call(&CallContext::detached(), action, input)
            .await
    }
}

#[tokio::test]
async fn tasks_map_status_and_priority_onto_labels() {
    let fx = Fixture::new(json!({"mappings": {"priorities": {"critical": "P0"}}})).await;
    let task = fx
        .call(
            "create_task",
            json!({"title": "Login", "description": "Add login.", "priority": "critical",
                   "labels": ["backend"], "assignee": "octocat"}),
        )
        .await
        .unwrap();
    assert_eq!(task["id"], "1");
    assert_eq!(task["status"], "todo");
    assert_eq!(task["priority"], "critical");
    assert_eq!(task["labels"], json!(["backend"]));
    assert_eq!(task["assignee"], "octocat");
    let issue = &fx.emulator.issues("acme", "widgets")[0];
    let labels: Vec<&str> = issue["labels"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["name"].as_str().unwrap())
        .collect();
    assert_eq!(labels, ["backend", "status: todo", "P0"]);

    let moved = fx
        .call(
            "update_task_status",
            json!({"task_id": "1", "status": "in_progress"}),
        )
        .await
        .unwrap();
    assert_eq!(moved["status"], "in_progress");
    let done = fx
        .call(
            "update_task_status",
            json!({"task_id": "acme/widgets#1", "status": "done"}),
        )
        .await
        .unwrap();
    assert_eq!(done["status"], "done");
    assert_eq!(fx.emulator.issues("acme", "widgets")[0]["state"], "closed");
    let fetched = fx.call("get_task", json!({"task_id": "#1"})).await.unwrap();
    assert_eq!(fetched["status"], "done");
    assert_eq!(fetched["priority"], "critical");

    let unassigned = fx
        .call("assign_task", json!({"task_id": "1", "assignee": null}))
        .await
        .unwrap();
    assert_eq!(unassigned["assignee"], Value::Null);

    let history = fx
        .call("get_task_history", json!({"task_id": "1"}))
        .await
        .unwrap();
    let changes: Vec<String> = history
        .as_array()
        .unwrap()
        .iter()
        .map(|e| match e["change"]["type"].as_str().unwrap() {
            "status_changed" => {
                format!("status {}->{}", e["change"]["from"], e["change"]["to"]).replace('"', "")
            }
            other => other.to_owned(),
        })
        .collect();
    assert!(
        changes.contains(&"status todo->in_progress".to_owned()),
        "{changes:?}"
    );
    assert!(
        changes.contains(&"status in_progress->done".to_owned()),
        "{changes:?}"
    );
    assert!(changes.contains(&"assigned".to_owned()), "{changes:?}");
    assert_eq!(changes[0], "created");
}

#[tokio::test]
async fn comments_are_posted_once_per_idempotency_key() {
    let fx = Fixture::new(json!({})).await;
    let number = fx
        .emulator
        .seed_issue("acme", "widgets", "Bug", "It breaks.", &[]);
    let cx = CallContext::with_idempotency_key("run9:comment");
    let input = json!({"task_id": number.to_string(), "body": "Working on it."});
    let first = fx
        .plugin
        .call(&cx, "add_comment", input.clone())
        .await
        .unwrap();
    let second = fx.plugin.call(&cx, "add_comment", input).await.unwrap();
    assert_eq!(first, second);
    assert_eq!(first["body"], "Working on it.");
    let stored = fx.emulator.comments("acme", "widgets", number);
    assert_eq!(stored.len(), 1);
    assert!(
        stored[0]["body"]
            .as_str()
            .unwrap()
            .contains("<!-- aido:run9:comment -->")
    );
    let listed = fx
        .call("get_comments", json!({"task_id": number.to_string()}))
        .await
        .unwrap();
    assert_eq!(listed[0]["body"], "Working on it.");
    let history = fx
        .call("get_task_history", json!({"task_id": number.to_string()}))
        .await
        .unwrap();
    assert!(
        history
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["change"]["type"] == "commented")
    );
}

#[tokio::test]
async fn epics_are_milestones_and_tasks_list_across_pages() {
    let fx = Fixture::new(json!({"options": {"page_size": 2}})).await;
    let epic = fx
        .call(
            "create_epic",
            json!({"title": "Auth", "description": "Users"}),
        )
        .await
        .unwrap();
    assert_eq!(epic["id"], "1");
    let again = fx
        .call("create_epic", json!({"title": "Auth"}))
        .await
        .unwrap();
    assert_eq!(again["id"], "1");
    assert_eq!(fx.emulator.milestones("acme", "widgets").len(), 1);
    for n in 0..5 {
        fx.call(
            "create_task",
            json!({"title": format!("T{n}"), "epic_id": "1"}),
        )
        .await
        .unwrap();
    }
    fx.emulator
        .seed_issue("acme", "widgets", "outside", "", &[]);
    fx.emulator
        .seed_file("acme", "widgets", "feature/pr", "f", "x");
    let all = fx.call("get_project_tasks", json!({})).await.unwrap();
    assert_eq!(all.as_array().unwrap().len(), 6);
    let in_epic = fx
        .call("get_project_tasks", json!({"epic_id": "1"}))
        .await
        .unwrap();
    assert_eq!(in_epic.as_array().unwrap().len(), 5);
    assert!(
        in_epic
            .as_array()
            .unwrap()
            .iter()
            .all(|t| t["epic_id"] == "1")
    );
    let limited = fx
        .call("get_project_tasks", json!({"limit": 3, "status": "todo"}))
        .await
        .unwrap();
    assert_eq!(limited.as_array().unwrap().len(), 3);
    let pages = fx
        .emulator
        .requests()
        .into_iter()
        .filter(|r| r.method == "GET" && r.path == "/repos/acme/widgets/issues")
        .count();
    assert!(pages >= 4, "{pages}");
}

#[tokio::test]
async fn a_429_then_success_and_a_500_retried() {
    let fx = Fixture::new(json!({})).await;
    let number = fx.emulator.seed_issue("acme", "widgets", "Bug", "", &[]);
    fx.emulator.push_fault(ISSUE, emu::rate_limit_error(1));
    fx.emulator.push_fault(ISSUE, emu::server_error());
    let task = fx
        .call("get_task", json!({"task_id": number.to_string()}))
        .await
        .unwrap();
    assert_eq!(task["title"], "Bug");
    let hits = fx
        .emulator
        .requests()
        .into_iter()
        .filter(|r| r.path.ends_with("/issues/1"))
        .count();
    assert_eq!(hits, 3);
}

#[tokio::test]
async fn malformed_json_timeouts_and_wrong_tokens_are_reported() {
    let fx = Fixture::new(json!({"options": {"timeout_seconds": 1, "max_retries": 0}})).await;
    fx.emulator.push_fault(ISSUES, Fault::MalformedJson);
    let err = fx.call("get_project_tasks", json!({})).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidResponse, "{err}");
    fx.emulator
        .push_fault(ISSUES, Fault::Delay(Duration::from_secs(3)));
    let err = fx.call("get_project_tasks", json!({})).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Timeout, "{err}");

    let wrong = "ghp_notTheRightOne0987654321";
    let plugin = connect(&fx.emulator.base_url(), wrong, json!({}))
        .await
        .unwrap();
    let err = plugin
        .call(
            &CallContext::detached(),
            "get_task",
            json!({"task_id": "1"}),
        )
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Authentication, "{err}");
    assert!(!err.to_string().contains(wrong), "{err}");
}

#[test]
fn configuration_problems_are_all_reported() {
    let config = PluginConfig::new(
        "task_management",
        json!({"connection": {"token": ""},
               "mappings": {"statuses": {"done": "status: todo"}},
               "options": {"page_size": 0}}),
        ".",
        ".aido",
    );
    let problems = GitHubIssuesPlugin::default().validate_config(&config);
    let paths: Vec<&str> = problems.iter().map(|p| p.path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "connection.token",
            "options.page_size",
            "mappings.statuses.done"
        ]
    );
    assert_eq!(factory().metadata().env_prefix, "GITHUB");
}
