//! Tests of the `jira` plugin against the emulator of `aido-testkit`,
//! driven through the action catalog as the engine drives it, and against
//! a real site when `AIDO_LIVE_JIRA_BASE_URL`, `AIDO_LIVE_JIRA_EMAIL`,
//! `AIDO_LIVE_JIRA_API_TOKEN` and `AIDO_LIVE_JIRA_PROJECT` are set.

use std::time::Duration;

use aido_testkit::jira::{self as emu, ALICE, COMMENTS, CREATE, ISSUE, PROJECT, SEARCH};
use aido_testkit::{Fault, JiraEmulator};
use serde_json::{Value, json};

use super::*;

struct Fixture {
    emulator: JiraEmulator,
    plugin: PluginInstance,
    _dir: tempfile::TempDir,
}

impl Fixture {
    async fn new() -> Fixture {
        Fixture::with_options(json!({})).await
    }

    async fn with_options(options: Value) -> Fixture {
        let emulator = JiraEmulator::start().await.unwrap();
        let (plugin, dir) = connect(
            &emulator.base_url(),
            emulator.email(),
            emulator.api_token(),
            PROJECT,
            options,
        )
        .await
        .unwrap();
        Fixture {
            emulator,
            plugin,
            _dir: dir,
        }
    }

    async fn call(&self, action: &str, input: Value) -> aido_plugin_api::Result<Value> {
        self.plugin
            .call(&CallContext::detached(), action, input)
            .await
    }

    fn count(&self, route: &str) -> usize {
        let prefix = route.split("/{").next().unwrap_or(route);
        self.emulator
            .requests()
            .iter()
            .filter(|r| {
                if route == ISSUE {
                    r.method == "GET"
                        && r.path.starts_with(prefix)
                        && r.path.matches('/').count() == 5
                } else if route == COMMENTS {
                    r.path.ends_with("/comment")
                } else {
                    r.path == route
                }
            })
            .count()
    }
}

async fn connect(
    base_url: &str,
    email: &str,
    token: &str,
    project: &str,
    options: Value,
) -> aido_plugin_api::Result<(PluginInstance, tempfile::TempDir)> {
    let dir = tempfile::tempdir().unwrap();
    let plugin = factory().create();
    let value = json!({
        "connection": {
            "base_url": base_url,
            "email": email,
            "api_token": token,
            "project_key": project,
        },
        "options": options,
    });
    let config = PluginConfig::new(
        "task_management",
        value,
        dir.path(),
        dir.path().join(".aido"),
    );
    plugin.plugin().connect(&config).await?;
    Ok((plugin, dir))
}

#[tokio::test]
async fn jira_create_task_sends_adf_mapped_priority_and_parent() {
    let fx = Fixture::new().await;
    let epic = fx
        .call(
            "create_epic",
            json!({"title": "Payments", "description": "All of it"}),
        )
        .await
        .unwrap();
    assert_eq!(epic["id"], "PROJ-1");
    assert!(epic["url"].as_str().unwrap().ends_with("/browse/PROJ-1"));
    let task = fx
        .call(
            "create_task",
            json!({
                "title": "Add refunds",
                "description": "Refund flow\n\n```rust\nrefund();\n```",
                "priority": "critical",
                "labels": ["backend"],
                "epic_id": "PROJ-1",
                "assignee": "alice@example.com",
                "status": "in_progress"
            }),
        )
        .await
        .unwrap();
    assert_eq!(task["id"], "PROJ-2");
    assert_eq!(task["title"], "Add refunds");
    assert_eq!(task["priority"], "critical");
    assert_eq!(task["status"], "in_progress");
    assert_eq!(task["epic_id"], "PROJ-1");
    assert_eq!(task["assignee"], "alice@example.com");
    assert_eq!(task["labels"], json!(["backend"]));
    assert_eq!(
        task["description"],
        "Refund flow\n\n```rust\nrefund();\n```"
    );
    let create = fx
        .emulator
        .requests()
        .into_iter()
        .filter(|r| r.path == CREATE)
        .nth(1)
        .unwrap();
    let fields = &create.json().unwrap()["fields"];
    assert_eq!(fields["priority"], json!({"name": "Highest"}));
    assert_eq!(fields["issuetype"], json!({"name": "Task"}));
    assert_eq!(fields["parent"], json!({"key": "PROJ-1"}));
    assert_eq!(fields["assignee"], json!({"accountId": ALICE}));
    assert_eq!(fields["description"]["type"], "doc");
    assert_eq!(fields["description"]["content"][1]["type"], "codeBlock");
    assert!(
        create
            .header("authorization")
            .unwrap()
            .starts_with("Basic ")
    );
    let got = fx
        .call("get_task", json!({"task_id": "PROJ-2"}))
        .await
        .unwrap();
    assert_eq!(got, task);
}

#[tokio::test]
async fn jira_status_changes_go_through_transitions() {
    let fx = Fixture::new().await;
    fx.call("create_task", json!({"title": "A"})).await.unwrap();
    let moved = fx
        .call(
            "update_task_status",
            json!({"task_id": "PROJ-1", "status": "done"}),
        )
        .await
        .unwrap();
    assert_eq!(moved["status"], "done");
    let issue = fx.emulator.issue("PROJ-1").unwrap();
    assert_eq!(issue["fields"]["status"]["name"], "Done");
    // Already there: nothing to do.
    fx.call(
        "update_task_status",
        json!({"task_id": "PROJ-1", "status": "done"}),
    )
    .await
    .unwrap();
}

#[tokio::test]
async fn jira_an_unmapped_status_is_an_invalid_input_naming_the_choices() {
    let fx = Fixture::new().await;
    let (plugin, _dir) = connect(
        &fx.emulator.base_url(),
        fx.emulator.email(),
        fx.emulator.api_token(),
        PROJECT,
        json!({}),
    )
    .await
    .unwrap();
    fx.call("create_task", json!({"title": "A"})).await.unwrap();
    let value = json!({
        "connection": {
            "base_url": fx.emulator.base_url(),
            "email": fx.emulator.email(),
            "api_token": fx.emulator.api_token(),
            "project_key": PROJECT,
        },
        "mappings": {"statuses": {"in_review": "Code Review"}},
    });
    let dir = tempfile::tempdir().unwrap();
    let config = PluginConfig::new("task_management", value, dir.path(), dir.path());
    plugin.plugin().connect(&config).await.unwrap();
    let err = plugin
        .call(
            &CallContext::detached(),
            "update_task_status",
            json!({"task_id": "PROJ-1", "status": "in_review"}),
        )
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    assert!(err.to_string().contains("In Review"), "{err}");
}

#[tokio::test]
async fn jira_comments_are_adf_and_idempotent() {
    let fx = Fixture::new().await;
    fx.call("create_task", json!({"title": "A"})).await.unwrap();
    let cx = CallContext::with_idempotency_key("run-1/comment");
    let input = json!({"task_id": "PROJ-1", "body": "Looks good\nShip it"});
    let first = fx
        .plugin
        .call(&cx, "add_comment", input.clone())
        .await
        .unwrap();
    let second = fx.plugin.call(&cx, "add_comment", input).await.unwrap();
    assert_eq!(first["id"], second["id"]);
    assert_eq!(first["body"], "Looks good\nShip it");
    let stored = fx.emulator.comments("PROJ-1");
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0]["body"]["type"], "doc");
    let listed = fx
        .call("get_comments", json!({"task_id": "PROJ-1"}))
        .await
        .unwrap();
    assert_eq!(listed.as_array().unwrap().len(), 1);
    assert_eq!(listed[0]["body"], "Looks good\nShip it");
}

#[tokio::test]
async fn jira_creates_with_the_same_key_make_one_issue() {
    let fx = Fixture::new().await;
    let cx = CallContext::with_idempotency_key("run-1/create");
    let input = json!({"title": "Once", "labels": ["x"]});
    let first = fx
        .plugin
        .call(&cx, "create_task", input.clone())
        .await
        .unwrap();
    let second = fx.plugin.call(&cx, "create_task", input).await.unwrap();
    assert_eq!(first["id"], second["id"]);
    assert_eq!(first["labels"], json!(["x"]));
    assert_eq!(fx.emulator.issue_count(), 1);
    let labels = &fx.emulator.issue("PROJ-1").unwrap()["fields"]["labels"];
    assert!(
        labels
            .as_array()
            .unwrap()
            .iter()
            .any(|l| l.as_str().unwrap().starts_with("aido-key-"))
    );
}

#[tokio::test]
async fn jira_project_tasks_follow_next_page_tokens_and_filters() {
    let fx = Fixture::new().await;
    for n in 0..120 {
        let labels = if n % 2 == 0 {
            json!(["even"])
        } else {
            json!([])
        };
        fx.call(
            "create_task",
            json!({"title": format!("task {n}"), "labels": labels}),
        )
        .await
        .unwrap();
    }
    let all = fx.call("get_project_tasks", json!({})).await.unwrap();
    assert_eq!(all.as_array().unwrap().len(), 120);
    assert_eq!(all[119]["title"], "task 119");
    assert_eq!(fx.count(SEARCH), 3);
    let body = fx
        .emulator
        .requests()
        .into_iter()
        .find(|r| r.path == SEARCH)
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(body["jql"], "project = \"PROJ\" ORDER BY created ASC");
    assert!(
        body["fields"]
            .as_array()
            .unwrap()
            .contains(&json!("summary"))
    );
    let even = fx
        .call(
            "get_project_tasks",
            json!({"labels": ["even"], "limit": 55}),
        )
        .await
        .unwrap();
    assert_eq!(even.as_array().unwrap().len(), 55);
}

#[tokio::test]
async fn jira_assignment_and_history() {
    let fx = Fixture::new().await;
    fx.call("create_task", json!({"title": "A"})).await.unwrap();
    let assigned = fx
        .call(
            "assign_task",
            json!({"task_id": "PROJ-1", "assignee": "alice@example.com"}),
        )
        .await
        .unwrap();
    assert_eq!(assigned["assignee"], "alice@example.com");
    fx.call(
        "update_task_status",
        json!({"task_id": "PROJ-1", "status": "in_progress"}),
    )
    .await
    .unwrap();
    fx.call("add_comment", json!({"task_id": "PROJ-1", "body": "hi"}))
        .await
        .unwrap();
    let unassigned = fx
        .call(
            "assign_task",
            json!({"task_id": "PROJ-1", "assignee": null}),
        )
        .await
        .unwrap();
    assert_eq!(unassigned["assignee"], Value::Null);
    let history = fx
        .call("get_task_history", json!({"task_id": "PROJ-1"}))
        .await
        .unwrap();
    let types: Vec<&str> = history
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["change"]["type"].as_str().unwrap())
        .collect();
    assert_eq!(types[0], "created");
    for wanted in ["assigned", "status_changed", "commented"] {
        assert!(types.contains(&wanted), "{types:?}");
    }
    let status = history
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["change"]["type"] == "status_changed")
        .unwrap();
    assert_eq!(status["change"]["from"], "todo");
    assert_eq!(status["change"]["to"], "in_progress");
}

#[tokio::test]
async fn jira_a_rate_limit_is_waited_out_then_the_call_succeeds() {
    let fx = Fixture::new().await;
    fx.emulator
        .push_fault(CREATE, emu::rate_limited(Duration::from_secs(1)));
    let started = std::time::Instant::now();
    fx.call("create_task", json!({"title": "A"})).await.unwrap();
    assert!(started.elapsed() >= Duration::from_secs(1));
    assert_eq!(fx.emulator.issue_count(), 1);
}

#[tokio::test]
async fn jira_server_errors_on_gets_are_retried_then_succeed() {
    let fx = Fixture::new().await;
    fx.call("create_task", json!({"title": "A"})).await.unwrap();
    fx.emulator.push_fault(ISSUE, Fault::status(500));
    fx.emulator.push_fault(ISSUE, Fault::status(503));
    let task = fx
        .call("get_task", json!({"task_id": "PROJ-1"}))
        .await
        .unwrap();
    assert_eq!(task["title"], "A");
}

#[tokio::test]
async fn jira_a_server_error_on_create_is_not_repeated() {
    let fx = Fixture::new().await;
    fx.emulator.push_fault(CREATE, Fault::status(500));
    let err = fx
        .call("create_task", json!({"title": "A"}))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Connection);
    assert_eq!(fx.count(CREATE), 1);
}

#[tokio::test]
async fn jira_malformed_json_is_an_invalid_response() {
    let fx = Fixture::new().await;
    fx.call("create_task", json!({"title": "A"})).await.unwrap();
    fx.emulator.push_fault(ISSUE, Fault::MalformedJson);
    let err = fx
        .call("get_task", json!({"task_id": "PROJ-1"}))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidResponse);
}

#[tokio::test]
async fn jira_a_slow_answer_is_a_timeout() {
    let fx = Fixture::with_options(json!({"timeout_seconds": 1, "max_retries": 0})).await;
    fx.emulator
        .push_fault(ISSUE, Fault::Delay(Duration::from_secs(3)));
    let err = fx
        .call("get_task", json!({"task_id": "PROJ-1"}))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Timeout);
}

#[tokio::test]
async fn jira_missing_issues_and_bad_fields_map_into_the_taxonomy() {
    let fx = Fixture::new().await;
    let err = fx
        .call("get_task", json!({"task_id": "PROJ-404"}))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
    // Jira's own words are quoted: `errorMessages` ...
    assert!(
        err.message()
            .ends_with(": Issue does not exist or you do not have permission to see it."),
        "{err}"
    );
    let err = fx
        .call("create_task", json!({"title": "A", "project": "NOPE"}))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    // ... and the per-field `errors`.
    assert!(
        err.message()
            .contains("HTTP 400 Bad Request: project: valid project is required"),
        "{err}"
    );
    let err = fx
        .call("get_task", json!({"task_id": "../etc"}))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
}

#[tokio::test]
async fn jira_a_wrong_token_is_an_authentication_error_that_never_shows_it() {
    let emulator = JiraEmulator::start().await.unwrap();
    let wrong = "ATATTwrongWRONGwrong0123456789abcdef";
    let (plugin, _dir) = connect(
        &emulator.base_url(),
        emulator.email(),
        wrong,
        PROJECT,
        json!({}),
    )
    .await
    .unwrap();
    let err = plugin
        .call(
            &CallContext::detached(),
            "get_task",
            json!({"task_id": "PROJ-1"}),
        )
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Authentication);
    let shown = format!("{err} {err:?}");
    assert!(!shown.contains(wrong), "{shown}");
    match plugin.plugin().health_check().await {
        Health::Unhealthy(reason) => assert!(!reason.contains(wrong)),
        other => panic!("expected unhealthy, got {other:?}"),
    }
}

#[tokio::test]
async fn jira_health_is_checked_with_myself() {
    let fx = Fixture::new().await;
    assert_eq!(fx.plugin.plugin().health_check().await, Health::Healthy);
}

#[test]
fn jira_metadata_requires_the_connection_and_marks_the_token_secret() {
    let meta = factory().metadata().clone();
    assert_eq!(meta.env_prefix, "JIRA");
    assert!(
        meta.required_config
            .contains(&"connection.api_token".to_owned())
    );
    let schema = &meta.config_schema;
    let connection = aido_plugin_api::resolve_ref(schema, &schema["properties"]["connection"]);
    assert_eq!(
        connection["properties"]["api_token"]["x-secret"],
        json!(true)
    );
    assert_eq!(jql_quote("a\"b"), "\"a\\\"b\"");
    assert_eq!(key_hash("k"), key_hash("k"));
    assert_ne!(key_hash("k"), key_hash("l"));
}

/// Against a real Jira Cloud site, when its credentials are set.
mod live {
    use super::*;

    fn credentials() -> Option<[String; 4]> {
        Some([
            std::env::var("AIDO_LIVE_JIRA_BASE_URL").ok()?,
            std::env::var("AIDO_LIVE_JIRA_EMAIL").ok()?,
            std::env::var("AIDO_LIVE_JIRA_API_TOKEN").ok()?,
            std::env::var("AIDO_LIVE_JIRA_PROJECT").ok()?,
        ])
    }

    #[tokio::test]
    async fn jira_live_creates_comments_and_lists() {
        let Some([base_url, email, token, project]) = credentials() else {
            eprintln!(
                "skipped: set AIDO_LIVE_JIRA_BASE_URL, AIDO_LIVE_JIRA_EMAIL, \
                 AIDO_LIVE_JIRA_API_TOKEN and AIDO_LIVE_JIRA_PROJECT to run against Jira"
            );
            return;
        };
        let (plugin, _dir) = connect(&base_url, &email, &token, &project, json!({}))
            .await
            .unwrap();
        assert_eq!(plugin.plugin().health_check().await, Health::Healthy);
        let key = format!("aido-live-{}", Utc::now().timestamp_micros());
        let cx = CallContext::with_idempotency_key(key);
        let input = json!({"title": "aido live test (safe to delete)"});
        let first = plugin
            .call(&cx, "create_task", input.clone())
            .await
            .unwrap();
        let second = plugin.call(&cx, "create_task", input).await.unwrap();
        assert_eq!(first["id"], second["id"]);
        plugin
            .call(
                &cx,
                "add_comment",
                json!({"task_id": first["id"], "body": "live comment"}),
            )
            .await
            .unwrap();
        let listed = plugin
            .call(
                &CallContext::detached(),
                "get_project_tasks",
                json!({"limit": 5}),
            )
            .await
            .unwrap();
        assert!(!listed.as_array().unwrap().is_empty());
    }
}
