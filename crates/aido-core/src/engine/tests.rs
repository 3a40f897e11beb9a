//! The engine against counted fakes: outputs, retries, failure, resume,
//! rollback, timeouts, budgets and cancellation.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Map, Value, json};

use aido_plugin_api::PluginInstance;

use super::*;
use crate::store::{RunStatus, RunStore, StepStatus};
use crate::testing::{Counter, FakeAi};
use crate::workflow::builtins::Builtins;
use crate::workflow::validate;

struct Harness {
    engine: Engine,
    counter: Arc<Counter>,
    ai: Arc<FakeAi>,
    events: Arc<Mutex<Vec<RunEvent>>>,
    _dir: tempfile::TempDir,
}

async fn harness(limits: crate::config::LimitsConfig, ai: Arc<FakeAi>) -> Harness {
    let dir = tempfile::tempdir().unwrap();
    let store = RunStore::open(&dir.path().join("runs.db")).await.unwrap();
    let counter = Counter::new();
    let mut plugins = BTreeMap::new();
    plugins.insert(
        "monitoring".to_owned(),
        PluginInstance::Monitoring(counter.clone()),
    );
    plugins.insert(
        "ai_provider".to_owned(),
        PluginInstance::AiProvider(ai.clone()),
    );
    let config = EngineConfig {
        limits,
        workspace_root: dir.path().join("ws"),
        lease: Duration::from_millis(300),
        ..Default::default()
    };
    Harness {
        engine: Engine::new(store, plugins, Builtins::standard(), config),
        counter,
        ai,
        events: Arc::default(),
        _dir: dir,
    }
}

impl Harness {
    async fn run(&self, source: &str, vars: Value) -> RunOutcome {
        let file =
            validate::parse(Path::new("test.yaml"), source).unwrap_or_else(|d| panic!("{d}"));
        let problems = validate::validate(&file, &Builtins::standard());
        assert!(problems.is_empty(), "{problems}");
        let events = self.events.clone();
        let sink = move |e: &RunEvent| events.lock().unwrap().push(e.clone());
        let vars = match vars {
            Value::Object(map) => map,
            _ => Map::new(),
        };
        self.engine.start(&file, vars, &sink).await.unwrap()
    }

    fn event_kinds(&self) -> Vec<&'static str> {
        self.events
            .lock()
            .unwrap()
            .iter()
            .map(|e| e.kind())
            .collect()
    }
}

async fn default_harness() -> Harness {
    harness(
        Default::default(),
        FakeAi::new("answer to: {prompt}", 0.01, 0.005),
    )
    .await
}

const FLOW: &str = r#"
name: flow
variables: { who: world }
steps:
  - name: greet
    action: set
    inputs: { text: "hello ${ who }" }
    outputs: { text: greeting }
  - name: notify
    plugin: monitoring
    action: record_event
    inputs: { name: "${ greeting }" }
  - name: ask
    prompt: "say ${ greeting }"
    outputs: answer
"#;

#[tokio::test]
async fn outputs_flow_between_steps_and_every_step_is_recorded() {
    let h = default_harness().await;
    let outcome = h.run(FLOW, json!({"who": "aido"})).await;
    assert_eq!(outcome.status, RunStatus::Succeeded, "{outcome:?}");
    assert_eq!(outcome.variables["greeting"], "hello aido");
    assert_eq!(outcome.variables["answer"], "answer to: say hello aido");
    assert_eq!(
        outcome.variables["steps"]["greet"],
        json!({"text": "hello aido"})
    );
    let calls = h.counter.calls.lock().unwrap().clone();
    assert_eq!(
        calls,
        vec![(
            "hello aido".to_owned(),
            Some(idempotency_key(&outcome.run_id, "notify"))
        )]
    );
    let steps = h.engine.store().steps(&outcome.run_id).await.unwrap();
    assert!(
        steps.iter().all(|s| s.status == StepStatus::Succeeded),
        "{steps:?}"
    );
    assert_eq!(steps[2].cost_usd, 0.005);
    assert_eq!(
        h.event_kinds(),
        vec![
            "run_started",
            "step_started",
            "step_succeeded",
            "step_started",
            "step_succeeded",
            "step_started",
            "step_succeeded",
            "run_finished"
        ]
    );
    let (cost, tokens) = h.engine.store().run_spend(&outcome.run_id).await.unwrap();
    assert_eq!((cost, tokens), (0.005, 30));
}

#[tokio::test]
async fn retries_with_backoff_then_succeeds() {
    let h = default_harness().await;
    *h.counter.failures_left.lock().unwrap() = 2;
    let outcome = h
        .run("name: r\nsteps:\n  - name: flaky\n    plugin: monitoring\n    action: record_event\n    inputs: { name: x }\n    on_error: retry\n    retry_count: 3\n    retry_delay: 0.01\n", json!({}))
        .await;
    assert_eq!(outcome.status, RunStatus::Succeeded);
    assert_eq!(h.counter.names(), vec!["x"]);
    assert_eq!(
        h.event_kinds()
            .iter()
            .filter(|k| **k == "step_retried")
            .count(),
        2
    );
    let steps = h.engine.store().steps(&outcome.run_id).await.unwrap();
    assert_eq!(steps[0].attempt, 3);
}

#[tokio::test]
async fn a_failed_run_resumes_from_its_first_unfinished_step() {
    let h = default_harness().await;
    *h.counter.failures_left.lock().unwrap() = 1;
    let source = "name: r\nsteps:\n  - name: one\n    plugin: monitoring\n    action: record_event\n    inputs: { name: first }\n  - name: two\n    plugin: monitoring\n    action: record_event\n    inputs: { name: second }\n";
    // `one` fails; nothing is made.
    let outcome = h.run(source, json!({})).await;
    assert_eq!(outcome.status, RunStatus::Failed);
    assert!(
        outcome.error.as_deref().unwrap().contains("flaky service"),
        "{outcome:?}"
    );
    assert!(h.counter.names().is_empty());
    // Resumed: both run once.
    let resumed = h.engine.resume(&outcome.run_id, &NoEvents).await.unwrap();
    assert_eq!(resumed.status, RunStatus::Succeeded);
    assert_eq!(h.counter.names(), vec!["first", "second"]);
    // A finished run cannot be resumed; its effects are not made again.
    assert!(matches!(
        h.engine.resume(&outcome.run_id, &NoEvents).await,
        Err(EngineError::Finished(_))
    ));
    assert_eq!(h.counter.names().len(), 2);
}

#[tokio::test]
async fn resume_reuses_finished_steps_and_their_outputs() {
    let h = default_harness().await;
    let source = "name: r\nvariables: { fail: true }\nsteps:\n  - name: make\n    plugin: monitoring\n    action: record_event\n    inputs: { name: made }\n  - name: id\n    action: set\n    inputs: { value: 42 }\n    outputs: { value: answer }\n  - name: stop\n    action: fail\n    condition: \"${ fail and vars.fail is not defined }\"\n    inputs: { message: stopped on purpose }\n  - name: after\n    plugin: monitoring\n    action: record_event\n    inputs: { name: \"after ${ answer }\" }\n";
    let outcome = h.run(source, json!({})).await;
    assert_eq!(outcome.status, RunStatus::Failed);
    assert!(outcome.error.unwrap().contains("stopped on purpose"));
    // The failed step's condition reads `vars`, which a resume keeps; make
    // it pass by simulating the fix in the store's copy.
    let resumed = h.engine.resume(&outcome.run_id, &NoEvents).await.unwrap();
    assert_eq!(
        resumed.status,
        RunStatus::Failed,
        "the same inputs fail the same way"
    );
    assert_eq!(
        h.counter.names(),
        vec!["made"],
        "the finished step is not run again"
    );
}

#[tokio::test]
async fn continue_goes_on_and_rollback_undoes_in_reverse_order() {
    let h = default_harness().await;
    let source = r#"
name: rb
steps:
  - name: a
    plugin: monitoring
    action: record_event
    inputs: { name: do-a }
    rollback: { plugin: monitoring, action: record_event, inputs: { name: undo-a } }
  - name: soft
    action: fail
    inputs: { message: ignored }
    on_error: continue
  - name: b
    plugin: monitoring
    action: record_event
    inputs: { name: do-b }
    rollback: { plugin: monitoring, action: record_event, inputs: { name: undo-b } }
  - name: boom
    action: fail
    inputs: { message: broken }
    on_error: rollback
"#;
    let outcome = h.run(source, json!({})).await;
    assert_eq!(outcome.status, RunStatus::RolledBack);
    assert_eq!(h.counter.names(), vec!["do-a", "do-b", "undo-b", "undo-a"]);
    let steps = h.engine.store().steps(&outcome.run_id).await.unwrap();
    let statuses: Vec<_> = steps.iter().map(|s| (s.name.as_str(), s.status)).collect();
    assert_eq!(
        statuses,
        vec![
            ("a", StepStatus::RolledBack),
            ("soft", StepStatus::Failed),
            ("b", StepStatus::RolledBack),
            ("boom", StepStatus::Failed)
        ]
    );
}

#[tokio::test]
async fn a_step_timeout_cancels_the_call() {
    let h = default_harness().await;
    let outcome = h.run("name: t\nsteps:\n  - name: slow\n    action: wait\n    inputs: { seconds: 5 }\n    timeout: 0.1\n", json!({})).await;
    assert_eq!(outcome.status, RunStatus::Failed);
    assert!(
        outcome
            .error
            .unwrap()
            .contains("did not finish within 0.1s")
    );
}

#[tokio::test]
async fn a_budget_stops_the_run_before_the_ai_is_called() {
    let limits = crate::config::LimitsConfig {
        max_cost_per_task: 0.05,
        ..Default::default()
    };
    let h = harness(limits, FakeAi::new("x", 0.20, 0.01)).await;
    let outcome = h
        .run(
            "name: b\nsteps:\n  - name: think\n    prompt: hi\n    max_tokens: 1000\n",
            json!({}),
        )
        .await;
    assert_eq!(outcome.status, RunStatus::Failed);
    let error = outcome.error.unwrap();
    assert!(error.contains("budget exceeded"), "{error}");
    assert!(
        error.contains("$0.2000") && error.contains("limits.max_cost_per_task of $0.0500"),
        "{error}"
    );
    assert_eq!(*h.ai.generated.lock().unwrap(), 0);
    let detail = h
        .engine
        .store()
        .run_detail(&outcome.run_id)
        .await
        .unwrap()
        .unwrap();
    assert!(
        detail.steps[0]
            .error
            .as_deref()
            .unwrap()
            .contains("budget exceeded")
    );

    let h = default_harness().await;
    let outcome = h
        .run(
            "name: b\nsteps:\n  - name: think\n    prompt: hi\n    cost_limit: 0.001\n",
            json!({}),
        )
        .await;
    assert!(
        outcome
            .error
            .unwrap()
            .contains("over the step's cost_limit of $0.0010")
    );
}

#[tokio::test]
async fn an_ai_answer_is_validated_against_the_output_schema() {
    let h = harness(
        Default::default(),
        FakeAi::new("```json\n{\"steps\": [\"a\"]}\n```", 0.0, 0.0),
    )
    .await;
    let outcome = h
        .run("name: s\nsteps:\n  - name: plan\n    prompt: plan it\n    output_schema: { type: object, required: [steps] }\n    outputs: plan\n", json!({}))
        .await;
    assert_eq!(outcome.status, RunStatus::Succeeded, "{outcome:?}");
    assert_eq!(outcome.variables["plan"], json!({"steps": ["a"]}));

    let h = harness(Default::default(), FakeAi::new("{\"nope\": 1}", 0.0, 0.0)).await;
    let outcome = h.run("name: s\nsteps:\n  - name: plan\n    prompt: plan it\n    output_schema: { type: object, required: [steps] }\n", json!({})).await;
    assert!(
        outcome
            .error
            .unwrap()
            .contains("does not match output_schema")
    );
}

#[tokio::test]
async fn cancel_stops_a_running_run() {
    let h = Arc::new(default_harness().await);
    let runner = h.clone();
    let task = tokio::spawn(async move {
        runner
            .run(
                "name: c\nsteps:\n  - name: long\n    action: wait\n    inputs: { seconds: 30 }\n",
                json!({}),
            )
            .await
    });
    // Wait for the run to exist, then ask it to stop.
    let run_id = loop {
        tokio::time::sleep(Duration::from_millis(20)).await;
        if let Some(run) = h.engine.store().list_runs(None, 1).await.unwrap().first() {
            break run.id.clone();
        }
    };
    assert_eq!(
        h.engine.store().request_cancel(&run_id).await.unwrap(),
        Some("cancelling")
    );
    let outcome = tokio::time::timeout(Duration::from_secs(5), task)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(outcome.status, RunStatus::Cancelled);
}

#[tokio::test]
async fn validation_failures_fail_the_step() {
    let h = default_harness().await;
    let outcome = h
        .run("name: v\nsteps:\n  - name: s\n    action: set\n    inputs: { n: 1 }\n    validation: { conditions: [\"${ output.n > 5 }\"], error_message: n is too small }\n", json!({}))
        .await;
    let error = outcome.error.unwrap();
    assert!(
        error.contains("validation failed: n is too small"),
        "{error}"
    );
}
