//! The `mycustom` example plugin (Python, `sdk/python/examples/mycustom`)
//! end to end against the test kit's MyCustom emulator: added, checked by
//! the conformance suite, healthy in `aido doctor`, used by `aido task`
//! and by a workflow, with the emulator's state read back, and its API key
//! never printed. Skipped when `python3` is missing.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use aido_testkit::MyCustomEmulator;
use serde_json::Value;

use common::{aido_with_env, json, ok, text};

/// The Python SDK's folder in this checkout.
fn sdk() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../sdk/python")
}

/// Whether a `python3` new enough for the SDK is on `PATH`.
fn python_available() -> bool {
    Command::new("python3")
        .args(["-c", "import sys; sys.exit(sys.version_info < (3, 9))"])
        .output()
        .is_ok_and(|out| out.status.success())
}

/// A running emulator, served by its own runtime while the test runs the
/// binary synchronously.
struct Service {
    emulator: MyCustomEmulator,
    _runtime: tokio::runtime::Runtime,
}

fn service() -> Service {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime");
    let emulator = runtime
        .block_on(MyCustomEmulator::start())
        .expect("the emulator starts");
    Service {
        emulator,
        _runtime: runtime,
    }
}

/// A project whose task tracker is the `mycustom` plugin on `emulator`.
fn project(emulator: &MyCustomEmulator) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("aido.yaml"),
        format!(
            "plugins:\n  task_management:\n    provider: mycustom\n    config:\n      base_url: \"{}\"\n      project: DEMO\n",
            emulator.base_url()
        ),
    )
    .unwrap();
    dir
}

/// Runs aido with the key in `MYCUSTOM_API_KEY` and the checkout's SDK on
/// `PYTHONPATH`, keeping every output for the secret check.
struct Runner<'a> {
    dir: &'a Path,
    key: String,
    seen: Vec<String>,
}

impl Runner<'_> {
    fn run(&mut self, args: &[&str]) -> Output {
        let sdk_src = sdk().join("src");
        let output = aido_with_env(
            self.dir,
            args,
            &[
                ("MYCUSTOM_API_KEY", &self.key),
                ("PYTHONPATH", &sdk_src.to_string_lossy()),
            ],
        );
        self.seen.push(text(&output));
        output
    }

    fn assert_key_never_shown(&self) {
        for output in &self.seen {
            assert!(
                !output.contains(&self.key),
                "the API key was printed:\n{output}"
            );
        }
    }
}

const FLOW: &str = r#"
name: mycustom_review
description: reads a task, moves it to review and says so in a comment
variables: { task_id: null }
steps:
  - name: fetch
    type: plugin_action
    plugin: task_management
    action: get_task
    inputs: { task_id: "${ task_id }" }
    outputs: task
  - name: review
    type: plugin_action
    plugin: task_management
    action: update_task_status
    inputs: { task_id: "${ task.id }", status: in_review }
  - name: note
    type: plugin_action
    plugin: task_management
    action: add_comment
    inputs: { task_id: "${ task.id }", body: "Ready for review: ${ task.title }" }
"#;

#[test]
fn the_mycustom_plugin_is_added_checked_and_used_by_tasks_and_workflows() {
    if !python_available() {
        eprintln!("skipped: python3 (3.9 or newer) is not on PATH");
        return;
    }
    let service = service();
    let emu = &service.emulator;
    let dir = project(emu);
    let plugin_dir = sdk().join("examples/mycustom");
    let mut aido = Runner {
        dir: dir.path(),
        key: emu.api_key().to_owned(),
        seen: Vec::new(),
    };

    ok(aido.run(&["plugin", "add", &plugin_dir.to_string_lossy()]));
    let check = aido.run(&["plugin", "check", "mycustom"]);
    assert!(check.status.success(), "{}", text(&check));
    assert!(text(&check).contains(", 0 failed"), "{}", text(&check));
    let doctor = aido.run(&["doctor"]);
    assert!(doctor.status.success(), "{}", text(&doctor));
    assert!(
        text(&doctor)
            .lines()
            .any(|l| l.contains("mycustom") && l.contains("healthy")),
        "{}",
        text(&doctor)
    );

    // `aido task`, with aido's priority mapped onto the service's.
    let made = json(&ok(aido.run(&[
        "task", "add", "Ship it", "-p", "critical", "-l", "release", "--json",
    ])));
    let id = made["id"].as_str().unwrap().to_owned();
    let stored = emu.task(&id).expect("the task is in the service");
    assert_eq!(stored["priority"], "urgent");
    assert_eq!(stored["status"], "new");
    ok(aido.run(&["task", "move", &id, "in_progress"]));
    assert_eq!(emu.task(&id).unwrap()["status"], "active");
    ok(aido.run(&["task", "comment", &id, "Working on it."]));
    let shown = json(&ok(aido.run(&["task", "show", &id, "--json"])));
    assert_eq!(shown["status"], "in_progress");
    assert_eq!(shown["labels"], serde_json::json!(["release"]));
    assert_eq!(shown["comments"][0]["body"], "Working on it.");

    // A workflow of plugin actions changes the task in the service.
    std::fs::write(dir.path().join("flow.yaml"), FLOW).unwrap();
    let run = aido.run(&[
        "workflow",
        "run",
        "flow.yaml",
        "--var",
        &format!("task_id={id}"),
    ]);
    assert!(run.status.success(), "{}", text(&run));
    assert_eq!(emu.task(&id).unwrap()["status"], "review");
    let comments = emu.comments(&id);
    let last = comments.last().expect("a comment").clone();
    let body = last["body"].as_str().unwrap_or("");
    assert!(body.starts_with("Ready for review: Ship it"), "{body}");
    // Made under the step's idempotency key, marked so a retry finds it.
    assert!(body.contains("<!-- aido-key: "), "{body}");
    let moves: Vec<Value> = emu
        .history(&id)
        .into_iter()
        .filter(|e| e["type"] == "status_changed")
        .map(|e| e["to"].clone())
        .collect();
    assert_eq!(moves, [Value::from("active"), Value::from("review")]);
    // Every request carried the key as a bearer token.
    assert!(
        emu.requests()
            .iter()
            .filter(|r| r.path != aido_testkit::mycustom::HEALTH)
            .all(|r| r.header("authorization") == Some(&format!("Bearer {}", emu.api_key()))),
    );
    aido.assert_key_never_shown();
}

#[test]
fn a_wrong_key_is_an_authentication_error_that_does_not_show_it() {
    if !python_available() {
        eprintln!("skipped: python3 (3.9 or newer) is not on PATH");
        return;
    }
    let service = service();
    let dir = project(&service.emulator);
    let mut aido = Runner {
        dir: dir.path(),
        key: "mc_wrong-key-0123456789".to_owned(),
        seen: Vec::new(),
    };
    let plugin_dir = sdk().join("examples/mycustom");
    ok(aido.run(&["plugin", "add", &plugin_dir.to_string_lossy()]));
    let doctor = aido.run(&["doctor"]);
    assert!(!doctor.status.success(), "{}", text(&doctor));
    assert!(
        text(&doctor).contains("API key"),
        "the error names the key, not its value:\n{}",
        text(&doctor)
    );
    let task = aido.run(&["task", "show", "DEMO-1"]);
    assert!(!task.status.success(), "{}", text(&task));
    aido.assert_key_never_shown();
}
