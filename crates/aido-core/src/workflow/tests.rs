//! Parsing and validating workflows.

use std::path::Path;

use super::builtins::Builtins;
use super::validate::{parse, validate};

fn problems(source: &str) -> String {
    let path = Path::new("flow.yaml");
    match parse(path, source) {
        Err(diagnostics) => diagnostics.to_string(),
        Ok(file) => validate(&file, &Builtins::standard()).to_string(),
    }
}

const GOOD: &str = r#"
name: good
description: every field
version: 1.2
metadata: { author: team }
variables:
  task_id: null
  prefix: feature
prerequisites:
  - condition: "${ task_id }"
    error_message: a task id is required
steps:
  - name: fetch
    plugin: task_management
    action: get_task
    inputs: { task_id: "${ task_id }" }
    outputs: task
    timeout: 30
    on_error: retry
    retry_count: 2
    retry_delay: 0.5
  - name: branch_name
    action: set
    inputs: { branch: "${ prefix }/${ task.id }-${ task.title | slug }" }
    outputs: { branch: branch }
  - name: plan
    type: ai_action
    prompt: "Plan ${ task.title }"
    output_schema: { type: object, required: [steps] }
    max_tokens: 500
    temperature: 0.2
    cost_limit: 0.5
    outputs: plan
    validation:
      conditions: ["${ output.steps | length > 0 }"]
      error_message: the plan has no steps
  - name: comment
    plugin: task_management
    action: add_comment
    condition: "${ steps.plan.steps | length > 0 }"
    inputs: { task_id: "${ task.id }", body: "Working on ${ branch }" }
    on_error: rollback
    rollback:
      plugin: communication
      action: send_message
      inputs: { text: "rolled back ${ output }" }
  - name: test
    action: run_command
    inputs: { command: [sh, -c, "true"], timeout: 60 }
    on_error: continue
"#;

#[test]
fn a_workflow_using_every_field_is_valid() {
    assert_eq!(problems(GOOD), "");
}

#[test]
fn every_problem_is_named_with_its_line() {
    let source = r#"name: broken
steps:
  - name: one
    plugin: task_managment
    action: get_task
  - name: two
    plugin: task_management
    action: get_tsk
  - name: three
    plugin: version_control
    action: create_pull_request
    inputs: { title: "${ undefined_var }", draft: "yes", labelz: [] }
  - name: one
    action: run_comand
  - name: five
    action: set
    inputs: { x: "${ steps.later.output }" }
    on_eror: fail
"#;
    let text = problems(source);
    // The schema pass stops at the unknown field first.
    assert!(
        text.contains("flow.yaml:18:5: `steps[4].on_eror`: unknown key `on_eror`"),
        "{text}"
    );
    assert!(text.contains("did you mean `on_error`?"), "{text}");

    let text = problems(&source.replace("    on_eror: fail\n", ""));
    for expected in [
        "flow.yaml:4:5: `steps[0].plugin`: `task_managment` is not a plugin kind",
        "did you mean `task_management`?",
        "flow.yaml:8:5: `steps[1].action`: `get_tsk` is not an action of task_management",
        "did you mean `get_task`?",
        "flow.yaml:12:5: `steps[2].inputs`: missing required input `repository`",
        "flow.yaml:12:5: `steps[2].inputs`: missing required input `source_branch`",
        "flow.yaml:12:15: `steps[2].inputs.title`: `undefined_var` (in `undefined_var`) is not defined by this point",
        "flow.yaml:12:44: `steps[2].inputs.draft`: expected a boolean, found a string",
        "flow.yaml:12:58: `steps[2].inputs.labelz`: unknown key `labelz`",
        "flow.yaml:13:5: `steps[3].name`: a step named `one` already exists",
        "flow.yaml:14:5: `steps[3].action`: `run_comand` is not a built-in action",
        "did you mean `run_command`?",
        "flow.yaml:17:15: `steps[4].inputs.x`: `steps.later` (in `steps.later.output`) names no earlier step",
    ] {
        assert!(text.contains(expected), "missing {expected:?} in:\n{text}");
    }
}

#[test]
fn syntax_errors_have_a_position() {
    let text = problems("name: x\nsteps: [\n");
    assert!(text.starts_with("flow.yaml:"), "{text}");
    assert!(text.contains("invalid YAML"), "{text}");
}

#[test]
fn invalid_on_error_and_bad_expressions() {
    let text = problems("name: x\nsteps:\n  - name: a\n    action: set\n    on_error: explode\n");
    assert!(
        text.contains(
            "`steps[0].on_error`: `explode` is not one of `fail`, `continue`, `retry`, `rollback`"
        ),
        "{text}"
    );
    let text =
        problems("name: x\nsteps:\n  - name: a\n    action: set\n    condition: \"${ a +* }\"\n");
    assert!(
        text.contains("`steps[0].condition`: `a +*`: syntax error"),
        "{text}"
    );
}

#[test]
fn rollback_actions_are_checked() {
    let text = problems(
        "name: x\nsteps:\n  - name: a\n    action: set\n    rollback: { plugin: documentation, action: remove_page }\n",
    );
    assert!(
        text.contains(
            "`steps[0].rollback.action`: `remove_page` is not an action of documentation"
        ),
        "{text}"
    );
}
