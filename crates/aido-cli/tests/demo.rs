//! `aido demo` and `aido run`, checked the way a newcomer would: every path
//! and id in the summary exists and is what it claims.

mod common;

use common::{aido, aido_command, text};

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

fn git(dir: &Path, args: &[&str]) -> String {
    let output = Command::new("git")
        .current_dir(dir)
        .args(args)
        .output()
        .expect("git runs");
    assert!(
        output.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).trim().to_owned()
}

fn tests_pass(checkout: &Path) -> bool {
    Command::new("python3")
        .args(["-m", "unittest", "-q"])
        .current_dir(checkout)
        .output()
        .expect("python3 runs")
        .status
        .success()
}

fn run_demo(dir: &Path) -> Value {
    let output = aido(
        dir.parent().unwrap(),
        &["demo", "--dir", dir.to_str().unwrap(), "--json"],
    );
    assert!(output.status.success(), "{}", text(&output));
    let stdout = String::from_utf8_lossy(&output.stdout);
    let last = stdout.lines().last().expect("a summary line");
    serde_json::from_str(last)
        .unwrap_or_else(|err| panic!("the last line is not JSON ({err}): {last}"))
}

#[test]
fn the_demo_makes_a_real_verified_change_and_says_where() {
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("demo");
    let summary = run_demo(&dir);
    let origin = Path::new(summary["origin"].as_str().unwrap());
    let branch = summary["branch"].as_str().unwrap();
    let commit = summary["commit"].as_str().unwrap();

    // The branch and commit are in origin.
    assert_eq!(git(origin, &["rev-parse", branch]), commit);
    let message = git(origin, &["log", "-1", "--format=%B", commit]);
    assert!(
        message.starts_with("TASK-1: Fix add() in calc.py"),
        "{message}"
    );
    assert!(
        message.contains(&format!(
            "Aido-Run: {}",
            summary["run_id"].as_str().unwrap()
        )),
        "{message}"
    );

    // The project's tests fail on the base and pass on the branch.
    let checkout = root.path().join("checkout");
    git(
        root.path(),
        &[
            "clone",
            "--quiet",
            origin.to_str().unwrap(),
            checkout.to_str().unwrap(),
        ],
    );
    assert!(!tests_pass(&checkout), "the tests must fail on main");
    git(&checkout, &["checkout", "--quiet", branch]);
    assert!(tests_pass(&checkout), "the tests must pass on the branch");

    // The pull request record names the branch.
    let record: Value = serde_json::from_str(
        &std::fs::read_to_string(summary["pull_request"].as_str().unwrap()).unwrap(),
    )
    .unwrap();
    assert_eq!(record["source_branch"], branch);
    assert_eq!(record["target_branch"], "main");
    assert_eq!(record["state"], "open");

    // The task is in review, with a comment holding the pull request's link.
    let task = std::fs::read_to_string(summary["task_file"].as_str().unwrap()).unwrap();
    assert!(task.contains("status: in_review"), "{task}");
    let pr_path = summary["pull_request"].as_str().unwrap();
    assert!(
        task.lines()
            .any(|l| l.contains("body:") && l.contains(pr_path)),
        "{task}"
    );

    // The docs page and the message exist.
    let page = std::fs::read_to_string(summary["doc_page"].as_str().unwrap()).unwrap();
    assert!(
        page.contains("TASK-1: Fix add() in calc.py") && page.contains(pr_path),
        "{page}"
    );
    let messages = std::fs::read_to_string(summary["messages"].as_str().unwrap()).unwrap();
    assert_eq!(messages.lines().count(), 1, "{messages}");
    assert!(messages.contains("ready for review"), "{messages}");

    // Every step of the run succeeded.
    let config = dir.join("aido.yaml");
    let shown = aido(
        &dir,
        &[
            "--config",
            config.to_str().unwrap(),
            "runs",
            "show",
            summary["run_id"].as_str().unwrap(),
            "--json",
        ],
    );
    let shown: Value = serde_json::from_slice(&shown.stdout).unwrap();
    let steps = shown["steps"].as_array().unwrap();
    assert!(steps.len() >= 15);
    for step in steps {
        assert_eq!(step["status"], "succeeded", "{step}");
    }
    // The workspace was removed after success.
    assert!(!Path::new(shown["workspace"].as_str().unwrap()).exists());
}

#[test]
fn the_demo_refuses_a_folder_with_files() {
    let root = tempfile::tempdir().unwrap();
    std::fs::write(root.path().join("precious.txt"), "keep me").unwrap();
    let output = aido(
        root.path(),
        &["demo", "--dir", root.path().to_str().unwrap()],
    );
    assert_eq!(output.status.code(), Some(2), "{}", text(&output));
    assert!(text(&output).contains("is not empty"));
    assert_eq!(
        std::fs::read_to_string(root.path().join("precious.txt")).unwrap(),
        "keep me"
    );
}

/// A run of the development workflow killed mid-way and resumed ends with
/// one branch, one commit, one pull request, one comment of each kind and
/// one message.
#[test]
fn a_killed_development_run_resumes_without_repeating_an_effect() {
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("demo");
    run_demo(&dir);
    let config = dir.join("aido.yaml");
    let config = config.to_str().unwrap();

    // The shipped workflow with a pause after the pull request, as a
    // project workflow of the same name.
    let shipped = include_str!("../../aido-core/src/workflow/shipped/standard_development.yaml");
    let paused = shipped.replace(
        "  - name: to_review\n",
        "  - name: pause\n    action: wait\n    inputs: { seconds: 2 }\n\n  - name: to_review\n",
    );
    assert_ne!(paused, shipped);
    std::fs::create_dir_all(dir.join("workflows")).unwrap();
    std::fs::write(dir.join("workflows/standard_development.yaml"), paused).unwrap();

    let added = aido(
        &dir,
        &[
            "--config",
            config,
            "task",
            "add",
            "Fix add() again",
            "--json",
        ],
    );
    assert!(added.status.success(), "{}", text(&added));
    let origin = dir.join("origin.git");
    let repository = format!("repository={}", origin.display());
    let mut child = aido_command(
        &dir,
        &[
            "--config",
            config,
            "run",
            "TASK-2",
            "--var",
            &repository,
            "--var",
            "test_command=python3 -m unittest",
            "--json",
        ],
    )
    .stdout(Stdio::null())
    .stderr(Stdio::null())
    .spawn()
    .unwrap();
    let started = Instant::now();
    let run_id = loop {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the run never reached its pause"
        );
        std::thread::sleep(Duration::from_millis(50));
        let listed = aido(&dir, &["--config", config, "runs", "list", "--json"]);
        let Ok(runs) = serde_json::from_slice::<Value>(&listed.stdout) else {
            continue;
        };
        let Some(run) = runs
            .as_array()
            .and_then(|r| r.iter().find(|r| r["task_id"] == "TASK-2"))
            .cloned()
        else {
            continue;
        };
        let id = run["id"].as_str().unwrap().to_owned();
        let shown: Value = serde_json::from_slice(
            &aido(&dir, &["--config", config, "runs", "show", &id, "--json"]).stdout,
        )
        .unwrap_or(Value::Null);
        if shown["steps"].as_array().is_some_and(|s| {
            s.iter()
                .any(|s| s["name"] == "pause" && s["status"] == "running")
        }) {
            break id;
        }
    };
    child.kill().unwrap();
    child.wait().unwrap();

    let resumed = aido(&dir, &["--config", config, "runs", "resume", &run_id]);
    assert!(resumed.status.success(), "{}", text(&resumed));

    let branch = "feature/task-2-fix-add-again";
    assert_eq!(
        git(
            &origin,
            &["rev-list", "--count", &format!("main..{branch}")]
        ),
        "1",
        "one commit"
    );
    let records = std::fs::read_dir(dir.join(".aido/pull_requests"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let for_branch = std::fs::read_dir(&records)
        .unwrap()
        .filter_map(|e| std::fs::read_to_string(e.unwrap().path()).ok())
        .filter(|text| text.contains(&format!("\"source_branch\": \"{branch}\"")))
        .count();
    assert_eq!(for_branch, 1, "one pull request");
    let task = std::fs::read_to_string(dir.join(".aido/tasks/TASK-2.md")).unwrap();
    assert_eq!(task.matches("aido started working").count(), 1, "{task}");
    assert_eq!(task.matches("is ready for review").count(), 1, "{task}");
    let messages = std::fs::read_to_string(dir.join(".aido/messages.jsonl")).unwrap();
    assert_eq!(
        messages.matches("TASK-2").count(),
        1,
        "one message: {messages}"
    );
}
