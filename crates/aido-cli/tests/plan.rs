//! `aido plan`: a project description becomes epics and tasks.

mod common;

use common::{aido, text};

use serde_json::Value;

const PLAN: &str = r#"- step: plan_project
  answer: |
    {"epics": [{"title": "User accounts", "description": "Sign up and log in."},
               {"title": "Catalog", "description": "Products."}],
     "tasks": [
       {"title": "Sign-up endpoint", "description": "POST /users", "acceptance_criteria": ["201 on success"], "priority": "high", "story_points": 3, "labels": ["api"], "epic": 0, "dependencies": []},
       {"title": "Login endpoint", "description": "POST /sessions", "acceptance_criteria": ["returns a token"], "priority": "high", "story_points": 2, "epic": 0, "dependencies": [0]},
       {"title": "Product list", "description": "GET /products", "acceptance_criteria": ["paginated"], "priority": "medium", "story_points": 2, "epic": 1}
     ]}
"#;

fn project(answers: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join(".aido/answers")).unwrap();
    std::fs::write(dir.path().join(".aido/answers/plan.yaml"), answers).unwrap();
    dir
}

#[test]
fn a_dry_run_prints_a_valid_plan_and_creates_nothing() {
    let dir = project(PLAN);
    let output = aido(
        dir.path(),
        &[
            "plan",
            "E-commerce API with user auth",
            "--dry-run",
            "--json",
        ],
    );
    assert!(output.status.success(), "{}", text(&output));
    let report: Value =
        serde_json::from_slice(&output.stdout).unwrap_or_else(|e| panic!("{e}: {}", text(&output)));
    assert_eq!(report["dry_run"], true);
    assert_eq!(report["plan"]["epics"].as_array().unwrap().len(), 2);
    assert_eq!(
        report["plan"]["tasks"][1]["dependencies"],
        serde_json::json!([0])
    );
    let tasks = dir.path().join(".aido/tasks");
    let made = std::fs::read_dir(&tasks)
        .map(|entries| {
            entries
                .filter(|e| {
                    e.as_ref()
                        .is_ok_and(|e| e.path().extension().is_some_and(|x| x == "md"))
                })
                .count()
        })
        .unwrap_or(0);
    assert_eq!(made, 0, "a dry run creates no task");
}

#[test]
fn a_plan_creates_epics_tasks_with_their_epic_a_page_and_a_message() {
    let dir = project(PLAN);
    let output = aido(
        dir.path(),
        &["plan", "E-commerce API with user auth", "--json"],
    );
    assert!(output.status.success(), "{}", text(&output));
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    let epics = report["epics"].as_array().unwrap();
    let tasks = report["tasks"].as_array().unwrap();
    assert_eq!((epics.len(), tasks.len()), (2, 3));
    for (task, epic) in [(0, 0), (1, 0), (2, 1)] {
        let id = tasks[task]["id"].as_str().unwrap();
        let shown: Value =
            serde_json::from_slice(&aido(dir.path(), &["task", "show", id, "--json"]).stdout)
                .unwrap();
        assert_eq!(shown["epic_id"], epics[epic]["id"], "{shown:#}");
    }
    let page = report["plan_page"]["url"]
        .as_str()
        .unwrap()
        .trim_start_matches("file://")
        .to_owned();
    let page = std::fs::read_to_string(page.replace("%20", " ")).unwrap();
    assert!(
        page.contains("Login endpoint") && page.contains("after"),
        "{page}"
    );
    let messages = std::fs::read_to_string(dir.path().join(".aido/messages.jsonl")).unwrap();
    assert!(
        messages.contains("Planned 2 epics and 3 tasks"),
        "{messages}"
    );
}

#[test]
fn an_answer_failing_the_schema_goes_back_once_then_fails_clearly() {
    let dir = project(
        "- step: plan_project\n  answer: '{\"epics\": []}'\n- step: plan_project\n  answer: 'still not a plan'\n",
    );
    let output = aido(dir.path(), &["plan", "Something", "--dry-run"]);
    assert_eq!(output.status.code(), Some(1), "{}", text(&output));
    let all = text(&output);
    assert!(all.contains("the answer failed the schema twice"), "{all}");
}
