//! Tests of the `linear` plugin against the emulator of `aido-testkit`,
//! driven through the action catalog as the engine drives it.

use std::time::Duration;

use aido_plugin_api::{CallContext, ErrorKind, PluginConfig, PluginInstance};
use aido_testkit::Fault;
use aido_testkit::linear::{self as emu, GRAPHQL, LinearEmulator};
use serde_json::{Value, json};

use super::factory;

struct Fixture {
    emulator: LinearEmulator,
    plugin: PluginInstance,
}

impl Fixture {
    async fn new() -> Fixture {
        Fixture::with_options(json!({})).await
    }

    async fn with_options(options: Value) -> Fixture {
        let emulator = LinearEmulator::start().await.unwrap();
        let key = emulator.api_key().to_owned();
        let plugin = connect(&emulator, &key, options).await.unwrap();
        Fixture { emulator, plugin }
    }

    async fn call(&self, action: &str, input: Value) -> aido_plugin_api::Result<Value> {
        self.plugin
            .call(&CallContext::detached(), action, input)
            .await
    }

    fn count(&self, operation: &str) -> usize {
        self.emulator
            .operations()
            .iter()
            .filter(|name| name.as_deref() == Some(operation))
            .count()
    }
}

async fn connect(
    emulator: &LinearEmulator,
    key: &str,
    options: Value,
) -> aido_plugin_api::Result<PluginInstance> {
    let mut options = options;
    if options.get("retry_backoff_ms").is_none() {
        options["retry_backoff_ms"] = json!(10);
    }
    let plugin = factory().create();
    let config = PluginConfig::new(
        "task_management",
        json!({
            "connection": {"api_key": key, "team_id": "ENG", "base_url": emulator.base_url()},
            "options": options,
        }),
        ".",
        ".aido",
    );
    let problems = plugin.plugin().validate_config(&config);
    assert!(problems.is_empty(), "{problems:?}");
    plugin.plugin().connect(&config).await?;
    Ok(plugin)
}

#[tokio::test]
async fn a_task_round_trips_through_every_status_with_comments_and_history() {
    let f = Fixture::new().await;
    let ada = f.emulator.user("Ada Lovelace", "ada@example.com");
    let task = f
        .call(
            "create_task",
            json!({
                "title": "Fix the login",
                "description": "It fails on Tuesdays.",
                "priority": "high",
                "labels": ["bug", "auth"],
                "assignee": "ada@example.com",
                "story_points": 3,
                "due_date": "2030-01-31T00:00:00Z",
            }),
        )
        .await
        .unwrap();
    assert_eq!(task["id"], "ENG-1");
    assert_eq!(task["status"], "todo");
    assert_eq!(task["priority"], "high");
    assert_eq!(task["assignee"], "ada@example.com");
    assert_eq!(task["labels"], json!(["bug", "auth"]));
    assert_eq!(task["story_points"], 3.0);
    assert_eq!(task["due_date"], "2030-01-31T00:00:00Z");
    assert!(
        task["custom_fields"]["url"]
            .as_str()
            .unwrap()
            .ends_with("ENG-1")
    );
    let stored = &f.emulator.issues()[0];
    assert_eq!(stored["priority"], 2);
    assert_eq!(stored["assignee"]["id"], json!(ada));

    for status in ["in_progress", "in_review", "done"] {
        let moved = f
            .call(
                "update_task_status",
                json!({"task_id": "ENG-1", "status": status}),
            )
            .await
            .unwrap();
        assert_eq!(moved["status"], status);
        f.call(
            "add_comment",
            json!({"task_id": "ENG-1", "body": format!("now {status}")}),
        )
        .await
        .unwrap();
    }
    // The states were read once and cached.
    assert_eq!(f.count("WorkflowStates"), 1);
    let fetched = f
        .call("get_task", json!({"task_id": "ENG-1"}))
        .await
        .unwrap();
    assert_eq!(fetched["status"], "done");
    assert_eq!(fetched["custom_fields"]["state"], "Done");

    let comments = f
        .call("get_comments", json!({"task_id": "ENG-1"}))
        .await
        .unwrap();
    let bodies: Vec<&str> = comments
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["body"].as_str().unwrap())
        .collect();
    assert_eq!(bodies, ["now in_progress", "now in_review", "now done"]);

    f.call("assign_task", json!({"task_id": "ENG-1", "assignee": null}))
        .await
        .unwrap();
    let history = f
        .call("get_task_history", json!({"task_id": "ENG-1"}))
        .await
        .unwrap();
    let changes: Vec<Value> = history
        .as_array()
        .unwrap()
        .iter()
        .map(|event| event["change"].clone())
        .collect();
    assert_eq!(changes[0], json!({"type": "created"}));
    let statuses: Vec<(&str, &str)> = changes
        .iter()
        .filter(|c| c["type"] == "status_changed")
        .map(|c| (c["from"].as_str().unwrap(), c["to"].as_str().unwrap()))
        .collect();
    assert_eq!(
        statuses,
        [
            ("todo", "in_progress"),
            ("in_progress", "in_review"),
            ("in_review", "done")
        ]
    );
    assert_eq!(
        changes.iter().filter(|c| c["type"] == "commented").count(),
        3
    );
    assert!(changes.contains(&json!({
        "type": "assigned", "from": "ada@example.com", "to": null
    })));
    assert_eq!(
        history[1]["actor"], "owner@example.com",
        "changes name who made them"
    );
}

#[tokio::test]
async fn epics_are_projects_and_filter_tasks() {
    let f = Fixture::new().await;
    let epic = f
        .call(
            "create_epic",
            json!({"title": "Login", "description": "All of it"}),
        )
        .await
        .unwrap();
    assert_eq!(epic["status"], "todo");
    let epic_id = epic["id"].as_str().unwrap();
    f.call(
        "create_task",
        json!({"title": "in the epic", "epic_id": epic_id}),
    )
    .await
    .unwrap();
    f.call(
        "create_task",
        json!({"title": "elsewhere", "labels": ["bug"]}),
    )
    .await
    .unwrap();
    let in_epic = f
        .call("get_project_tasks", json!({"epic_id": epic_id}))
        .await
        .unwrap();
    assert_eq!(in_epic.as_array().unwrap().len(), 1);
    assert_eq!(in_epic[0]["epic_id"], epic_id);
    let bugs = f
        .call(
            "get_project_tasks",
            json!({"labels": ["bug"], "status": "todo"}),
        )
        .await
        .unwrap();
    assert_eq!(bugs[0]["title"], "elsewhere");
    assert_eq!(bugs.as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn project_tasks_follow_the_cursor_across_pages() {
    let f = Fixture::new().await;
    for n in 0..120 {
        f.call("create_task", json!({"title": format!("task {n}")}))
            .await
            .unwrap();
    }
    let all = f.call("get_project_tasks", json!({})).await.unwrap();
    let all = all.as_array().unwrap();
    assert_eq!(all.len(), 120);
    assert_eq!(all[119]["title"], "task 119");
    assert_eq!(f.count("Issues"), 3, "pages of 50, 50 and 20");
    let some = f
        .call("get_project_tasks", json!({"limit": 60}))
        .await
        .unwrap();
    assert_eq!(some.as_array().unwrap().len(), 60);
    assert_eq!(f.count("Issues"), 5);
}

#[tokio::test]
async fn a_rate_limit_is_waited_out_then_the_call_succeeds() {
    let f = Fixture::new().await;
    f.call("create_task", json!({"title": "one"}))
        .await
        .unwrap();
    // Linear's documented answer: HTTP 400 with RATELIMITED.
    f.emulator
        .push_fault(GRAPHQL, emu::rate_limited(Duration::from_millis(20)));
    let task = f
        .call("get_task", json!({"task_id": "ENG-1"}))
        .await
        .unwrap();
    assert_eq!(task["title"], "one");
    // A mutation refused as rate limited was not carried out: it is retried.
    f.emulator
        .push_fault(GRAPHQL, emu::rate_limited(Duration::from_millis(20)));
    f.call("create_task", json!({"title": "two"}))
        .await
        .unwrap();
    assert_eq!(f.emulator.issues().len(), 2);
    // A 429 with Retry-After, waited out by the HTTP layer.
    f.emulator
        .push_fault(GRAPHQL, emu::rate_limited_429(Duration::ZERO));
    f.call("get_task", json!({"task_id": "ENG-2"}))
        .await
        .unwrap();
    // Past the retries, the error says rate limited.
    f.emulator
        .push_faults(GRAPHQL, emu::rate_limited(Duration::from_millis(20)), 3);
    let err = f
        .call("get_task", json!({"task_id": "ENG-2"}))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::RateLimited, "{err}");
}

#[tokio::test]
async fn a_500_is_retried_for_queries_but_not_for_mutations() {
    let f = Fixture::new().await;
    f.call("create_task", json!({"title": "one"}))
        .await
        .unwrap();
    f.emulator.push_faults(GRAPHQL, emu::internal_error(), 2);
    f.call("get_task", json!({"task_id": "ENG-1"}))
        .await
        .unwrap();
    assert_eq!(f.count("Issue"), 3);
    f.emulator.push_fault(GRAPHQL, emu::internal_error());
    let err = f
        .call("create_task", json!({"title": "two"}))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Connection, "{err}");
    assert_eq!(f.count("IssueCreate"), 2, "the failed create was sent once");
    assert_eq!(f.emulator.issues().len(), 1);
}

#[tokio::test]
async fn malformed_json_is_an_invalid_response() {
    let f = Fixture::new().await;
    f.emulator.push_fault(GRAPHQL, Fault::MalformedJson);
    let err = f
        .call("get_task", json!({"task_id": "ENG-1"}))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidResponse, "{err}");
}

#[tokio::test]
async fn a_slow_answer_is_a_timeout() {
    let f = Fixture::with_options(json!({"timeout_seconds": 1, "max_retries": 0})).await;
    f.emulator
        .push_fault(GRAPHQL, Fault::Delay(Duration::from_millis(2500)));
    let err = f
        .call("get_task", json!({"task_id": "ENG-1"}))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Timeout, "{err}");
}

#[tokio::test]
async fn a_wrong_key_is_an_authentication_error_that_never_shows_the_key() {
    let emulator = LinearEmulator::start().await.unwrap();
    let wrong = "lin_api_wrong-key-0123456789";
    let plugin = connect(&emulator, wrong, json!({})).await.unwrap();
    let err = plugin
        .call(
            &CallContext::detached(),
            "get_task",
            json!({"task_id": "ENG-1"}),
        )
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Authentication, "{err}");
    assert_eq!(err.plugin(), "linear");
    assert!(!format!("{err} {err:?}").contains(wrong), "{err}");
    let sent = &emulator.requests()[0];
    assert_eq!(
        sent.header("authorization"),
        Some(wrong),
        "no Bearer prefix"
    );
    assert!(!plugin.plugin().health_check().await.is_usable());
}

#[tokio::test]
async fn an_authentication_error_answered_as_400_is_one_too() {
    let f = Fixture::new().await;
    f.emulator.push_fault(
        GRAPHQL,
        Fault::json(
            400,
            &emu::error_body(
                "Authentication required, not authenticated",
                "authentication error",
                "AUTHENTICATION_ERROR",
                None,
            ),
        ),
    );
    let err = f
        .call("get_task", json!({"task_id": "ENG-1"}))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Authentication, "{err}");
    // Linear's code and words are quoted, with what to check.
    assert!(
        err.message().contains(
            "HTTP 400 Bad Request: AUTHENTICATION_ERROR: Authentication required, not \
             authenticated; check connection.api_key"
        ),
        "{err}"
    );
}

#[tokio::test]
async fn error_answers_are_read_by_their_graphql_code() {
    let f = Fixture::new().await;
    // A 401 quotes the message Linear meant for people.
    let plugin = connect(&f.emulator, "lin_api_wrong", json!({}))
        .await
        .unwrap();
    let err = plugin
        .call(
            &CallContext::detached(),
            "get_task",
            json!({"task_id": "ENG-1"}),
        )
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Authentication, "{err}");
    assert!(
        err.message()
            .contains("AUTHENTICATION_ERROR: You need to authenticate to access this operation."),
        "{err}"
    );
    // An invalid document (HTTP 400) is invalid input naming the code.
    f.emulator.push_fault(
        GRAPHQL,
        Fault::json(
            400,
            &emu::error_body(
                "Cannot query field \"nope\" on type \"Issue\".",
                "graphql error",
                "GRAPHQL_VALIDATION_FAILED",
                None,
            ),
        ),
    );
    let err = f
        .call("get_task", json!({"task_id": "ENG-1"}))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
    assert!(
        err.message()
            .contains("GRAPHQL_VALIDATION_FAILED: Cannot query field"),
        "{err}"
    );
    // A missing entity (HTTP 200 with errors) is not found.
    let err = f
        .call("get_task", json!({"task_id": "ENG-404"}))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound, "{err}");
    assert!(err.message().contains("Entity not found"), "{err}");
}

#[tokio::test]
async fn a_status_update_by_identifier_is_one_request() {
    let f = Fixture::new().await;
    f.call("create_task", json!({"title": "one"}))
        .await
        .unwrap();
    f.call(
        "update_task_status",
        json!({"task_id": "ENG-1", "status": "in_progress"}),
    )
    .await
    .unwrap();
    let before = f.emulator.operations().len();
    for status in ["in_review", "in_review", "done"] {
        let moved = f
            .call(
                "update_task_status",
                json!({"task_id": "ENG-1", "status": status}),
            )
            .await
            .unwrap();
        assert_eq!(moved["status"], status);
    }
    let after = f.emulator.operations();
    assert_eq!(
        &after[before..],
        &[
            Some("IssueUpdate".to_owned()),
            Some("IssueUpdate".to_owned()),
            Some("IssueUpdate".to_owned())
        ]
    );
    // Setting the state it has already changes nothing: one history entry
    // per real change.
    let history = f
        .call("get_task_history", json!({"task_id": "ENG-1"}))
        .await
        .unwrap();
    let changes = history
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["change"]["type"] == "status_changed")
        .count();
    assert_eq!(changes, 3);
    // A UUID, or an issue whose identifier's team is unknown, is looked up.
    let uuid = f.emulator.issues()[0]["id"].as_str().unwrap().to_owned();
    let moved = f
        .call(
            "update_task_status",
            json!({"task_id": uuid, "status": "todo"}),
        )
        .await
        .unwrap();
    assert_eq!(moved["status"], "todo");
    let err = f
        .call(
            "update_task_status",
            json!({"task_id": "ENG-404", "status": "done"}),
        )
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound, "{err}");
}

#[tokio::test]
async fn a_status_update_follows_an_issue_that_moved_team() {
    let f = Fixture::new().await;
    f.call("create_task", json!({"title": "one"}))
        .await
        .unwrap();
    f.call(
        "update_task_status",
        json!({"task_id": "ENG-1", "status": "in_progress"}),
    )
    .await
    .unwrap();
    // The cached states of ENG no longer hold the state mapped to `done`
    // (as after a rename in Linear): the update by identifier fails, the
    // plugin forgets ENG's states, reads the issue and its team's states
    // again, and the update goes through.
    let ops = |f: &Fixture, name: &str| f.count(name);
    let states_before = ops(&f, "WorkflowStates");
    f.emulator.push_fault(
        GRAPHQL,
        Fault::json(
            200,
            &emu::error_body(
                "Entity not found: WorkflowState",
                "invalid input",
                "ENTITY_NOT_FOUND",
                Some(Value::Null),
            ),
        ),
    );
    let moved = f
        .call(
            "update_task_status",
            json!({"task_id": "ENG-1", "status": "done"}),
        )
        .await
        .unwrap();
    assert_eq!(moved["status"], "done");
    assert_eq!(ops(&f, "WorkflowStates"), states_before + 1);
    assert_eq!(ops(&f, "Issue"), 1);
}

#[tokio::test]
async fn a_comment_with_an_idempotency_key_is_made_once() {
    let f = Fixture::new().await;
    f.call("create_task", json!({"title": "one"}))
        .await
        .unwrap();
    let cx = CallContext::with_idempotency_key("aido:run-1:comment");
    let input = json!({"task_id": "ENG-1", "body": "Started work."});
    let first = f
        .plugin
        .call(&cx, "add_comment", input.clone())
        .await
        .unwrap();
    let again = f.plugin.call(&cx, "add_comment", input).await.unwrap();
    assert_eq!(first["id"], again["id"]);
    assert_eq!(first["body"], "Started work.");
    let stored = f.emulator.comments("ENG-1");
    assert_eq!(stored.len(), 1);
    assert!(
        stored[0]["body"]
            .as_str()
            .unwrap()
            .ends_with("aido-key: aido:run-1:comment")
    );
}

#[tokio::test]
async fn unknown_things_are_not_found() {
    let f = Fixture::new().await;
    let err = f
        .call("get_task", json!({"task_id": "ENG-404"}))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound, "{err}");
    f.call("create_task", json!({"title": "one"}))
        .await
        .unwrap();
    let err = f
        .call(
            "assign_task",
            json!({"task_id": "ENG-1", "assignee": "nobody@example.com"}),
        )
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound, "{err}");
}

#[tokio::test]
async fn a_mapping_to_a_missing_state_is_a_configuration_error() {
    let emulator = LinearEmulator::start().await.unwrap();
    let plugin = factory().create();
    let config = PluginConfig::new(
        "task_management",
        json!({
            "connection": {
                "api_key": emulator.api_key(),
                "team_id": "ENG",
                "base_url": emulator.base_url(),
            },
            "mappings": {"statuses": {"in_review": "QA"}},
        }),
        ".",
        ".aido",
    );
    plugin.plugin().connect(&config).await.unwrap();
    let err = plugin
        .call(
            &CallContext::detached(),
            "create_task",
            json!({"title": "x", "status": "in_review"}),
        )
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Configuration, "{err}");
    assert!(err.message().contains("In Progress"), "{err}");
}

#[test]
fn validate_config_reports_every_bad_mapping() {
    let plugin = factory().create();
    let config = PluginConfig::new(
        "task_management",
        json!({
            "connection": {"api_key": "k", "team_id": "ENG"},
            "mappings": {
                "statuses": {"in_review": "todo"},
                "priorities": {"low": 7, "high": 3},
            },
        }),
        ".",
        ".aido",
    );
    let problems = plugin.plugin().validate_config(&config);
    let paths: Vec<&str> = problems.iter().map(|p| p.path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "mappings.statuses.in_review",
            "mappings.priorities.low",
            "mappings.priorities.high"
        ],
        "{problems:?}"
    );
    let meta = factory().metadata().clone();
    assert_eq!(meta.env_prefix, "LINEAR");
    assert_eq!(
        meta.required_config,
        ["connection.api_key", "connection.team_id"]
    );
}

#[tokio::test]
async fn the_task_management_conformance_suite_passes() {
    let f = Fixture::new().await;
    aido_testkit::conformance::task_management(&f.plugin)
        .await
        .assert_passed();
}
