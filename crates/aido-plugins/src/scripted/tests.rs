//! Tests of the `scripted` plugin, driven through the action catalog as the
//! engine drives it.

use std::fs;
use std::path::Path;

use aido_plugin_api::ErrorKind;
use serde_json::{Value, json};

use super::*;

const ANSWERS: &str = "\
- step: plan
  answer: \"1. Add the endpoint\\n2. Test it\"
  input_tokens: 1000
  output_tokens: 200
- step: plan
  answer: second plan
- match: review
  answer: Looks good.
  findings:
    - { severity: warning, line: 3, message: unused variable }
- answer: generic one
- answer: generic two
";

struct Fixture {
    dir: tempfile::TempDir,
    plugin: PluginInstance,
}

impl Fixture {
    async fn new(options: Value) -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("answers.yaml"), ANSWERS).unwrap();
        let plugin = connect(dir.path(), options).await;
        Fixture { dir, plugin }
    }

    /// Another instance on the same project, as a resumed run's process
    /// would make.
    async fn restarted(&self, options: Value) -> PluginInstance {
        connect(self.dir.path(), options).await
    }
}

fn config(dir: &Path, value: Value) -> PluginConfig {
    PluginConfig::new("ai_provider", value, dir, dir.join(".aido"))
}

async fn connect(dir: &Path, options: Value) -> PluginInstance {
    let plugin = factory().create();
    let value = json!({"connection": {"answers": "answers.yaml"}, "options": options});
    plugin.plugin().connect(&config(dir, value)).await.unwrap();
    plugin
}

fn cx(run: &str, step: Option<&str>, key: Option<&str>) -> CallContext {
    CallContext {
        run_id: Some(run.to_owned()),
        step: step.map(str::to_owned),
        idempotency_key: key.map(str::to_owned),
    }
}

fn ask(text: &str) -> Value {
    json!({"messages": [{"role": "user", "content": text}]})
}

async fn text_of(plugin: &PluginInstance, cx: &CallContext, prompt: &str) -> String {
    let out = plugin.call(cx, "generate_text", ask(prompt)).await.unwrap();
    out["text"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn steps_get_their_answers_in_order_with_recorded_tokens_and_cost() {
    let fx = Fixture::new(json!({"model": "claude-sonnet-4"})).await;
    let plan = cx("run-1", Some("plan"), None);
    let out = fx
        .plugin
        .call(&plan, "generate_text", ask("Plan PROJ-1"))
        .await
        .unwrap();
    assert_eq!(out["text"], "1. Add the endpoint\n2. Test it");
    assert_eq!(out["model"], "claude-sonnet-4");
    assert_eq!(
        out["usage"],
        json!({"input_tokens": 1000, "output_tokens": 200})
    );
    assert_eq!(out["stop_reason"], "end_turn");
    // 1000 × $3/M + 200 × $15/M.
    assert!(
        (out["cost_usd"].as_f64().unwrap() - 0.006).abs() < 1e-12,
        "{out}"
    );
    assert_eq!(
        text_of(&fx.plugin, &plan, "Plan again").await,
        "second plan"
    );

    let err = fx
        .plugin
        .call(&plan, "generate_text", ask("Plan once more"))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
    assert_eq!(err.plugin(), "scripted");
    assert!(err.message().contains("step `plan`"), "{err}");
    assert!(err.message().contains("answers.yaml"), "{err}");
}

#[tokio::test]
async fn other_calls_take_stepless_answers_by_match_and_order() {
    let fx = Fixture::new(json!({})).await;
    let call = cx("run-1", Some("implement"), None);
    assert_eq!(
        text_of(&fx.plugin, &call, "Please write code").await,
        "generic one"
    );
    assert_eq!(
        text_of(&fx.plugin, &call, "Please review this").await,
        "Looks good."
    );
    assert_eq!(text_of(&fx.plugin, &call, "anything").await, "generic two");
    let err = fx
        .plugin
        .call(&call, "generate_text", ask("more"))
        .await
        .unwrap_err();
    assert!(
        err.message().contains("none is for step `implement`"),
        "{err}"
    );
}

#[tokio::test]
async fn runs_replay_the_script_independently() {
    let fx = Fixture::new(json!({})).await;
    let plan = |run: &str| cx(run, Some("plan"), None);
    assert_eq!(
        text_of(&fx.plugin, &plan("a"), "p").await,
        "1. Add the endpoint\n2. Test it"
    );
    assert_eq!(
        text_of(&fx.plugin, &plan("b"), "p").await,
        "1. Add the endpoint\n2. Test it"
    );
    assert_eq!(text_of(&fx.plugin, &plan("a"), "p").await, "second plan");
}

#[tokio::test]
async fn an_idempotency_key_gets_the_same_answer_even_after_a_restart() {
    let fx = Fixture::new(json!({})).await;
    let first = cx("run-1", None, Some("run-1/implement/0"));
    let answer = fx
        .plugin
        .call(&first, "generate_text", ask("code"))
        .await
        .unwrap();
    assert_eq!(answer["text"], "generic one");
    let again = fx
        .plugin
        .call(&first, "generate_text", ask("code"))
        .await
        .unwrap();
    assert_eq!(again, answer, "same key, same answer, nothing consumed");

    let replay: Value = serde_json::from_str(
        &fs::read_to_string(fx.dir.path().join(".aido/scripted-replay.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(
        replay["answers"]["run-1/implement/0"]["text"],
        "generic one"
    );
    assert_eq!(replay["answers"]["run-1/implement/0"]["entry"], 3);

    // The run resumes in a new process: the recorded key replays, and the
    // next call continues after what the run already used.
    let resumed = fx.restarted(json!({})).await;
    let replayed = resumed
        .call(&first, "generate_text", ask("code"))
        .await
        .unwrap();
    assert_eq!(replayed["text"], "generic one");
    let next = cx("run-1", None, Some("run-1/implement/1"));
    assert_eq!(text_of(&resumed, &next, "code").await, "generic two");

    // Another run starts the script afresh.
    let other = cx("run-2", None, Some("run-2/implement/0"));
    assert_eq!(text_of(&resumed, &other, "code").await, "generic one");
}

#[tokio::test]
async fn a_resumed_run_skips_answers_it_used_before_the_crash() {
    let fx = Fixture::new(json!({})).await;
    let step0 = cx("run-1", None, Some("k0"));
    assert_eq!(text_of(&fx.plugin, &step0, "x").await, "generic one");
    // The step that made `k0` completed and is not called again; a later
    // step of the resumed run must not be handed the same answer.
    let resumed = fx.restarted(json!({})).await;
    let step1 = cx("run-1", None, Some("k1"));
    assert_eq!(text_of(&resumed, &step1, "x").await, "generic two");
}

#[tokio::test]
async fn long_answers_are_cut_at_max_tokens() {
    let fx = Fixture::new(json!({"max_tokens": 2})).await;
    let out = fx
        .plugin
        .call(&cx("r", Some("plan"), None), "generate_text", ask("p"))
        .await
        .unwrap();
    // 200 recorded output tokens cut to 2 keep 1% of the 30 characters, none.
    assert_eq!(out["stop_reason"], "max_tokens");
    assert_eq!(out["usage"]["output_tokens"], 2);
    assert_eq!(out["text"], "");

    let out = fx
        .plugin
        .call(
            &cx("r", None, None),
            "generate_text",
            json!({"messages": [{"role": "user", "content": "p"}], "max_tokens": 1}),
        )
        .await
        .unwrap();
    // "generic one": 11 characters, 3 estimated tokens, cut to 1 token.
    assert_eq!(out["text"], "gen");
    assert_eq!(out["usage"]["output_tokens"], 1);
}

#[tokio::test]
async fn estimate_cost_prices_the_request_and_the_output_limit() {
    let fx = Fixture::new(json!({"model": "gpt-4o", "max_tokens": 1000})).await;
    let request = json!({"system": "abcd", "messages": [{"role": "user", "content": "abcdefgh"}]});
    let estimate = fx
        .plugin
        .call(&CallContext::default(), "estimate_cost", request.clone())
        .await
        .unwrap();
    // (1 + 4) + (2 + 4) input tokens; 1000 output tokens at gpt-4o prices.
    assert_eq!(estimate["input_tokens"], 11);
    assert_eq!(estimate["max_output_tokens"], 1000);
    let expected = (11.0 * 2.5 + 1000.0 * 10.0) / 1e6;
    assert!((estimate["estimated_cost_usd"].as_f64().unwrap() - expected).abs() < 1e-12);

    let mut with_limit = request;
    with_limit["max_tokens"] = json!(10);
    let estimate = fx
        .plugin
        .call(&CallContext::default(), "estimate_cost", with_limit)
        .await
        .unwrap();
    assert_eq!(estimate["max_output_tokens"], 10);

    let free = Fixture::new(json!({})).await;
    let estimate = free
        .plugin
        .call(&CallContext::default(), "estimate_cost", ask("hi"))
        .await
        .unwrap();
    assert_eq!(estimate["model"], "scripted");
    assert_eq!(estimate["estimated_cost_usd"], 0.0);
}

#[tokio::test]
async fn configured_prices_override_the_table() {
    let prices = json!({"prices": {"scripted": {"input_per_mtok": 1000000, "output_per_mtok": 0}}});
    let fx = Fixture::new(prices).await;
    let out = fx
        .plugin
        .call(&cx("r", Some("plan"), None), "generate_text", ask("p"))
        .await
        .unwrap();
    assert_eq!(out["cost_usd"], 1000.0, "1000 input tokens at $1 each");
}

#[tokio::test]
async fn code_actions_use_the_script_too() {
    let fx = Fixture::new(json!({})).await;
    let review = cx("r", Some("review"), None);
    let analysis = fx
        .plugin
        .call(
            &review,
            "analyze_code",
            json!({"code": "let x = 1;", "instructions": "review this"}),
        )
        .await
        .unwrap();
    assert_eq!(analysis["summary"], "Looks good.");
    assert_eq!(analysis["findings"][0]["severity"], "warning");
    assert_eq!(analysis["findings"][0]["line"], 3);

    let code = fx
        .plugin
        .call(
            &cx("r", None, None),
            "generate_code",
            json!({"instructions": "write it", "language": "rust"}),
        )
        .await
        .unwrap();
    assert_eq!(code["code"], "generic one");
    assert_eq!(code["language"], "rust");
}

#[tokio::test]
async fn usage_stats_count_calls_by_model_and_time() {
    let fx = Fixture::new(json!({"model": "claude-haiku-4-5"})).await;
    let before = chrono::Utc::now();
    let call = cx("r", Some("plan"), None);
    fx.plugin
        .call(&call, "generate_text", ask("p"))
        .await
        .unwrap();
    fx.plugin
        .call(&call, "generate_text", ask("p"))
        .await
        .unwrap();

    let stats = fx
        .plugin
        .call(&call, "get_usage_stats", json!({}))
        .await
        .unwrap();
    assert_eq!(stats["requests"], 2);
    // 1000 + the estimate of "p" (1 token + 4 overhead).
    assert_eq!(stats["usage"]["input_tokens"], 1005);
    // 200 + "second plan" (11 characters, 3 tokens).
    assert_eq!(stats["usage"]["output_tokens"], 203);
    assert_eq!(stats["by_model"]["claude-haiku-4-5"]["requests"], 2);

    let since = json!({"since": before.to_rfc3339()});
    assert_eq!(
        fx.plugin
            .call(&call, "get_usage_stats", since)
            .await
            .unwrap()["requests"],
        2
    );
    let later = chrono::Utc::now() + chrono::Duration::seconds(5);
    let stats = fx
        .plugin
        .call(
            &call,
            "get_usage_stats",
            json!({"since": later.to_rfc3339()}),
        )
        .await
        .unwrap();
    assert_eq!(stats["requests"], 0);
}

#[tokio::test]
async fn calls_before_connect_fail_cleanly() {
    let plugin = factory().create();
    let err = plugin
        .call(&CallContext::default(), "generate_text", ask("x"))
        .await
        .unwrap_err();
    assert!(err.message().contains("not connected"), "{err}");
    assert!(!plugin.plugin().health_check().await.is_usable());
}

#[test]
fn validate_config_reports_every_problem_with_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("bad.yaml"), "- answer: ok\n- answr: typo\n").unwrap();
    let plugin = factory().create();
    let value = json!({
        "connection": {"answers": "bad.yaml"},
        "options": {"max_tokens": 0, "prices": {"m": {"input_per_mtok": -1, "output_per_mtok": 1}}}
    });
    let problems = plugin.plugin().validate_config(&config(dir.path(), value));
    let paths: Vec<_> = problems.iter().map(|p| p.path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "connection.answers",
            "options.max_tokens",
            "options.prices.m.input_per_mtok"
        ]
    );
    assert!(
        problems[0].message.contains("bad.yaml: line 2"),
        "{}",
        problems[0].message
    );

    let missing = json!({"connection": {"answers": "nope.yaml"}});
    let problems = plugin
        .plugin()
        .validate_config(&config(dir.path(), missing));
    assert!(problems[0].message.contains("nope.yaml"), "{problems:?}");

    fs::write(dir.path().join("empty.yaml"), "").unwrap();
    let empty = json!({"connection": {"answers": "empty.yaml"}});
    let problems = plugin.plugin().validate_config(&config(dir.path(), empty));
    assert!(
        problems[0].message.contains("holds no answers"),
        "{problems:?}"
    );

    // Without a configured file, the default folder is optional.
    let problems = plugin
        .plugin()
        .validate_config(&config(dir.path(), json!({})));
    assert!(problems.is_empty(), "{problems:?}");
}

#[tokio::test]
async fn connect_refuses_a_broken_answers_file() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("answers.yaml"), "- answer: [\n").unwrap();
    let plugin = factory().create();
    let value = json!({"connection": {"answers": "answers.yaml"}});
    let err = plugin
        .plugin()
        .connect(&config(dir.path(), value))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Configuration);
    assert!(err.message().contains("answers.yaml"), "{err}");
}

#[tokio::test]
async fn health_follows_the_answers_file_and_the_price() {
    let fx = Fixture::new(json!({})).await;
    assert_eq!(fx.plugin.plugin().health_check().await, Health::Healthy);
    fs::write(fx.dir.path().join("answers.yaml"), "- answer: [\n").unwrap();
    let health = fx.plugin.plugin().health_check().await;
    assert!(
        matches!(&health, Health::Unhealthy(reason) if reason.contains("answers.yaml")),
        "{health}"
    );

    let unpriced = Fixture::new(json!({"model": "my-local-llm"})).await;
    let health = unpriced.plugin.plugin().health_check().await;
    assert!(
        matches!(&health, Health::Degraded(reason) if reason.contains("my-local-llm")),
        "{health}"
    );
}

#[test]
fn metadata_needs_no_answers_file() {
    let meta = factory().metadata().clone();
    assert_eq!(meta.name, "scripted");
    assert_eq!(meta.kind, PluginKind::AiProvider);
    assert!(
        meta.required_config.is_empty(),
        "{:?}",
        meta.required_config
    );
}
