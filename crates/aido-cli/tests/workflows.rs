//! Workflows through the `aido` binary: validation, runs, a SIGKILL and a
//! resume that makes every side effect exactly once, budgets.

mod common;

use common::{aido, aido_command, json, text};

use std::process::Stdio;
use std::time::{Duration, Instant};

use serde_json::Value;

const FLOW: &str = r#"
name: demo_flow
description: makes a task, comments, waits, comments again
variables: { title: Hello, pause: null }
steps:
  - name: make
    plugin: task_management
    action: create_task
    inputs: { title: "${ title }", description: made by a workflow }
    outputs: task
  - name: first_comment
    plugin: task_management
    action: add_comment
    inputs: { task_id: "${ task.id }", body: "first from ${ run_id }" }
  - name: pause
    action: wait
    inputs: { seconds: "${ pause | float }" }
    condition: "${ pause }"
  - name: second_comment
    plugin: task_management
    action: add_comment
    inputs: { task_id: "${ task.id }", body: second }
  - name: check
    action: run_command
    inputs: { command: [sh, -c, "echo listed"] }
    outputs: { stdout: listing }
"#;

#[test]
fn broken_workflows_get_every_error_with_its_line() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("bad.yaml"),
        "name: bad\nsteps:\n  - name: a\n    plugin: task_management\n    action: get_tsk\n  - name: a\n    action: run_comand\n",
    )
    .unwrap();
    let output = aido(dir.path(), &["workflow", "validate", "bad.yaml"]);
    assert_eq!(output.status.code(), Some(2), "{}", text(&output));
    let all = text(&output);
    assert!(
        all.contains(
            "bad.yaml:5:5: `steps[0].action`: `get_tsk` is not an action of task_management"
        ),
        "{all}"
    );
    assert!(
        all.contains("bad.yaml:6:5: `steps[1].name`: a step named `a` already exists"),
        "{all}"
    );
    assert!(
        all.contains("bad.yaml:7:5: `steps[1].action`: `run_comand` is not a built-in action"),
        "{all}"
    );
    assert!(all.contains("3 problems"), "{all}");
}

#[test]
fn a_run_reports_json_events_and_is_recorded() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("flow.yaml"), FLOW).unwrap();
    let output = aido(
        dir.path(),
        &[
            "workflow",
            "run",
            "flow.yaml",
            "--var",
            "title=World",
            "--json",
        ],
    );
    assert!(output.status.success(), "{}", text(&output));
    let stdout = String::from_utf8_lossy(&output.stdout);
    let events: Vec<Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    assert_eq!(events[0]["event"], "run_started");
    let last = events.last().unwrap();
    assert_eq!(last["event"], "run_finished");
    assert_eq!(last["status"], "succeeded");
    assert!(
        events
            .iter()
            .any(|e| e["event"] == "step_skipped" && e["step"] == "pause")
    );
    let run_id = last["run_id"].as_str().unwrap();

    let shown = json(&aido(dir.path(), &["runs", "show", run_id, "--json"]));
    let statuses: Vec<&str> = shown["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["status"].as_str().unwrap())
        .collect();
    assert_eq!(
        statuses,
        vec![
            "succeeded",
            "succeeded",
            "skipped",
            "succeeded",
            "succeeded"
        ]
    );
    assert_eq!(shown["steps"][4]["outputs"]["stdout"], "listed");
    let listed = json(&aido(
        dir.path(),
        &["runs", "list", "--status", "succeeded", "--json"],
    ));
    assert_eq!(listed.as_array().unwrap().len(), 1);
}

#[test]
fn a_run_killed_mid_step_resumes_and_makes_each_effect_once() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("flow.yaml"), FLOW).unwrap();
    let mut child = aido_command(
        dir.path(),
        &["workflow", "run", "flow.yaml", "--var", "pause=3", "--json"],
    )
    .stdout(Stdio::piped())
    .stderr(Stdio::null())
    .spawn()
    .unwrap();
    // Wait until the run is inside the `pause` step, then SIGKILL it.
    let started = Instant::now();
    let run_id = loop {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the run never reached its pause"
        );
        std::thread::sleep(Duration::from_millis(100));
        let list = aido(dir.path(), &["runs", "list", "--json"]);
        let Ok(runs) = serde_json::from_slice::<Value>(&list.stdout) else {
            continue;
        };
        let Some(run) = runs.as_array().and_then(|r| r.first()).cloned() else {
            continue;
        };
        let id = run["id"].as_str().unwrap().to_owned();
        let shown = json(&aido(dir.path(), &["runs", "show", &id, "--json"]));
        if shown["steps"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["name"] == "pause" && s["status"] == "running")
        {
            break id;
        }
    };
    child.kill().unwrap();
    child.wait().unwrap();

    let listed = json(&aido(
        dir.path(),
        &["runs", "list", "--status", "interrupted", "--json"],
    ));
    assert_eq!(listed[0]["id"], run_id.as_str(), "{listed:#}");

    // The interrupted step runs again (a wait has no effect to repeat); the
    // finished ones are not.
    let resumed = aido(dir.path(), &["runs", "resume", &run_id, "--json"]);
    assert!(resumed.status.success(), "{}", text(&resumed));

    let shown = json(&aido(dir.path(), &["runs", "show", &run_id, "--json"]));
    assert!(
        shown["steps"]
            .as_array()
            .unwrap()
            .iter()
            .all(|s| s["status"] == "succeeded"),
        "{shown:#}"
    );
    let task = std::fs::read_to_string(dir.path().join(".aido/tasks/TASK-1.md")).unwrap();
    assert_eq!(
        task.matches("\n  body: ").count(),
        2,
        "one comment of each kind:\n{task}"
    );
    assert!(
        !dir.path().join(".aido/tasks/TASK-2.md").exists(),
        "the task was made once"
    );
}

#[test]
fn a_budget_stops_the_run_before_the_ai_is_called() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("aido.yaml"),
        "limits: { max_tokens_per_task: 50 }\n",
    )
    .unwrap();
    std::fs::create_dir_all(dir.path().join(".aido/answers")).unwrap();
    std::fs::write(
        dir.path().join(".aido/answers/a.yaml"),
        "- answer: should never be used\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("think.yaml"),
        "name: think\nsteps:\n  - name: plan\n    prompt: Plan the work\n    max_tokens: 400\n",
    )
    .unwrap();
    let output = aido(dir.path(), &["workflow", "run", "think.yaml"]);
    assert_eq!(output.status.code(), Some(1), "{}", text(&output));
    let run_id = json(&aido(dir.path(), &["runs", "list", "--json"]))[0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let shown = aido(dir.path(), &["runs", "show", &run_id]);
    let all = text(&shown);
    assert!(all.contains("budget exceeded"), "{all}");
    assert!(all.contains("limits.max_tokens_per_task of 50"), "{all}");
    assert!(all.contains("the AI was not called"), "{all}");
    assert!(
        !dir.path().join(".aido/scripted-replay.json").exists(),
        "no answer was replayed"
    );
}

#[test]
fn workflows_are_listed_and_interrupted_runs_can_be_cancelled() {
    let dir = tempfile::tempdir().unwrap();
    let listed = json(&aido(dir.path(), &["workflow", "list", "--json"]));
    assert!(
        listed
            .as_array()
            .unwrap()
            .iter()
            .any(|w| w["name"] == "documentation_only")
    );
    let missing = aido(dir.path(), &["runs", "cancel", "r-nope"]);
    assert_eq!(missing.status.code(), Some(2));
    let bad_month = aido(dir.path(), &["costs", "--month", "2026-13"]);
    assert_eq!(bad_month.status.code(), Some(2));
    let costs = json(&aido(dir.path(), &["costs", "--json"]));
    assert_eq!(costs["total_usd"], 0.0);
}

#[test]
fn a_workflow_using_every_field_validates_and_runs() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join(".aido/answers")).unwrap();
    std::fs::write(
        dir.path().join(".aido/answers/a.yaml"),
        "- step: think\n  answer: '{\"steps\": [\"one\", \"two\"]}'\n- step: summarize\n  answer: Done in two steps.\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("summary.j2"),
        "Summarize: {% for s in plan.steps %}{{ s }}; {% endfor %}",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("every.yaml"),
        r#"
name: every_field
description: uses every field of the format
version: "2.1"
metadata: { owner: team }
variables: { title: Demo, flaky: false }
prerequisites:
  - condition: "${ title }"
    error_message: a title is needed
steps:
  - name: make
    description: a task
    type: plugin_action
    plugin: task_management
    action: create_task
    inputs: { title: "${ title }" }
    outputs: task
    timeout: 30
    on_error: retry
    retry_count: 2
    retry_delay: 0.01
    validation:
      conditions: ["${ output.id }"]
      error_message: the task has no id
    rollback: { plugin: task_management, action: update_task_status, inputs: { task_id: "${ output.id }", status: done } }
  - name: think
    type: ai_action
    prompt: "Plan ${ task.title }"
    system: You plan.
    output_schema: { type: object, required: [steps] }
    max_tokens: 200
    temperature: 0.1
    cost_limit: 1.0
    outputs: plan
  - name: summarize
    prompt_template: summary.j2
    outputs: summary
  - name: skipped
    action: fail
    condition: "${ flaky }"
    inputs: { message: never }
  - name: tolerated
    action: run_command
    inputs: { command: [sh, -c, "exit 3"] }
    on_error: continue
  - name: record
    action: set
    inputs: { summary: "${ summary }", steps: "${ plan.steps | length }" }
    outputs: { steps: step_count }
"#,
    )
    .unwrap();
    let valid = aido(dir.path(), &["workflow", "validate", "every.yaml"]);
    assert!(valid.status.success(), "{}", text(&valid));
    let output = aido(dir.path(), &["workflow", "run", "every.yaml", "--json"]);
    assert!(output.status.success(), "{}", text(&output));
    let stdout = String::from_utf8_lossy(&output.stdout);
    let last: Value = serde_json::from_str(stdout.lines().last().unwrap()).unwrap();
    let run_id = last["run_id"].as_str().unwrap();
    let shown = json(&aido(dir.path(), &["runs", "show", run_id, "--json"]));
    let statuses: Vec<(&str, &str)> = shown["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["name"].as_str().unwrap(), s["status"].as_str().unwrap()))
        .collect();
    assert_eq!(
        statuses,
        vec![
            ("make", "succeeded"),
            ("think", "succeeded"),
            ("summarize", "succeeded"),
            ("skipped", "skipped"),
            ("tolerated", "failed"),
            ("record", "succeeded"),
        ]
    );
    assert_eq!(shown["steps"][5]["outputs"]["steps"], 2);
    assert_eq!(shown["steps"][2]["outputs"], "Done in two steps.");
}
