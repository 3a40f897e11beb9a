//! Tests of the `anthropic` plugin against the emulator of `aido-testkit`,
//! driven through the action catalog as the engine drives it.

use std::time::Duration;

use aido_plugin_api::{ErrorKind, resolve_ref};
use aido_testkit::anthropic::{self as emu, MESSAGES, MODELS};
use aido_testkit::{AnthropicEmulator, AnthropicReply, Fault};
use serde_json::{Value, json};

use super::*;

struct Fixture {
    emulator: AnthropicEmulator,
    plugin: PluginInstance,
    _dir: tempfile::TempDir,
}

impl Fixture {
    async fn new() -> Fixture {
        Fixture::with_options(json!({})).await
    }

    async fn with_options(options: Value) -> Fixture {
        let emulator = AnthropicEmulator::start().await.unwrap();
        let key = emulator.api_key().to_owned();
        let (plugin, dir) = connect(&emulator, &key, options).await.unwrap();
        Fixture {
            emulator,
            plugin,
            _dir: dir,
        }
    }

    async fn ask(&self, text: &str) -> aido_plugin_api::Result<Value> {
        self.plugin
            .call(&CallContext::detached(), "generate_text", ask(text))
            .await
    }

    fn message_requests(&self) -> Vec<aido_testkit::RecordedRequest> {
        self.emulator
            .requests()
            .into_iter()
            .filter(|request| request.path == MESSAGES)
            .collect()
    }
}

async fn connect(
    emulator: &AnthropicEmulator,
    key: &str,
    options: Value,
) -> aido_plugin_api::Result<(PluginInstance, tempfile::TempDir)> {
    let dir = tempfile::tempdir().unwrap();
    let plugin = factory().create();
    let value = json!({
        "connection": {"api_key": key, "base_url": emulator.base_url()},
        "options": options,
    });
    let config = PluginConfig::new("ai_provider", value, dir.path(), dir.path().join(".aido"));
    plugin.plugin().connect(&config).await?;
    Ok((plugin, dir))
}

fn ask(text: &str) -> Value {
    json!({"system": "Be brief.", "messages": [{"role": "user", "content": text}]})
}

#[tokio::test]
async fn generate_text_sends_the_messages_request_and_reports_usage_and_cost() {
    let fx = Fixture::new().await;
    fx.emulator
        .push_reply(AnthropicReply::text("Hello back").usage(1_000_000, 100_000));
    let out = fx
        .plugin
        .call(
            &CallContext::detached(),
            "generate_text",
            json!({
                "system": "Be brief.",
                "messages": [
                    {"role": "user", "content": "Hi"},
                    {"role": "assistant", "content": "Hello"},
                    {"role": "user", "content": "How are you?"}
                ],
                "max_tokens": 200,
                "temperature": 0.2,
                "stop": ["END"]
            }),
        )
        .await
        .unwrap();
    assert_eq!(out["text"], "Hello back");
    assert_eq!(out["model"], DEFAULT_MODEL_ALIAS);
    assert_eq!(
        out["usage"],
        json!({"input_tokens": 1_000_000, "output_tokens": 100_000})
    );
    // Sonnet list price: $3 in, $15 out per million.
    assert!(
        (out["cost_usd"].as_f64().unwrap() - 4.5).abs() < 1e-9,
        "{out}"
    );
    assert_eq!(out["stop_reason"], "end_turn");

    let sent = &fx.message_requests()[0];
    assert_eq!(sent.header("x-api-key"), Some(fx.emulator.api_key()));
    assert_eq!(sent.header("anthropic-version"), Some("2023-06-01"));
    assert!(sent.header("user-agent").unwrap().starts_with("aido/"));
    assert_eq!(
        sent.json().unwrap(),
        json!({
            "model": DEFAULT_MODEL_ALIAS,
            "max_tokens": 200,
            "system": "Be brief.",
            "messages": [
                {"role": "user", "content": "Hi"},
                {"role": "assistant", "content": "Hello"},
                {"role": "user", "content": "How are you?"}
            ],
            "temperature": 0.2,
            "stop_sequences": ["END"]
        })
    );
}

/// The default model, as the plugin sends it.
const DEFAULT_MODEL_ALIAS: &str = "claude-sonnet-4-5";

#[tokio::test]
async fn defaults_are_the_configured_model_and_max_tokens() {
    let fx = Fixture::with_options(json!({"model": "claude-haiku-4-5", "max_tokens": 77})).await;
    fx.ask("hello").await.unwrap();
    let body = fx.message_requests()[0].json().unwrap();
    assert_eq!(body["model"], "claude-haiku-4-5");
    assert_eq!(body["max_tokens"], 77);
    assert!(body.get("temperature").is_none());
    assert!(body.get("stop_sequences").is_none());
}

#[tokio::test]
async fn a_rate_limit_is_waited_out_then_the_call_succeeds() {
    let fx = Fixture::new().await;
    fx.emulator
        .push_fault(MESSAGES, emu::rate_limit_error(Duration::from_secs(1)));
    let started = std::time::Instant::now();
    let out = fx.ask("hello").await.unwrap();
    assert!(out["text"].as_str().unwrap().contains("hello"));
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "Retry-After honoured"
    );
    assert_eq!(fx.message_requests().len(), 2);
}

#[tokio::test]
async fn server_errors_and_overload_are_retried_then_the_call_succeeds() {
    let fx = Fixture::new().await;
    fx.emulator.push_fault(MESSAGES, emu::api_error());
    fx.emulator.push_fault(MESSAGES, emu::overloaded_error());
    fx.ask("hello").await.unwrap();
    assert_eq!(fx.message_requests().len(), 3);
}

#[tokio::test]
async fn a_dropped_connection_is_retried() {
    let fx = Fixture::new().await;
    fx.emulator.push_fault(MESSAGES, Fault::DropConnection);
    fx.ask("hello").await.unwrap();
    assert_eq!(fx.message_requests().len(), 2);
}

#[tokio::test]
async fn server_errors_every_time_end_in_a_clear_connection_error() {
    let fx = Fixture::with_options(json!({"max_retries": 2})).await;
    fx.emulator.push_faults(MESSAGES, emu::api_error(), 10);
    let err = fx.ask("hello").await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Connection);
    assert_eq!(err.plugin(), "anthropic");
    assert_eq!(err.operation(), "generate_text");
    let text = err.to_string();
    assert!(text.contains("HTTP 500"), "{text}");
    assert!(text.contains("api_error"), "{text}");
    assert!(text.contains("after 3 attempts"), "{text}");
    assert!(err.is_retryable());
    assert_eq!(fx.message_requests().len(), 3);
}

#[tokio::test]
async fn malformed_json_is_an_invalid_response() {
    let fx = Fixture::new().await;
    fx.emulator.push_fault(MESSAGES, Fault::MalformedJson);
    let err = fx.ask("hello").await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidResponse);
    assert!(err.to_string().contains("it starts with: {\"id\""), "{err}");
    // A bad answer is not retried: the service did answer.
    assert_eq!(fx.message_requests().len(), 1);
}

#[tokio::test]
async fn a_slow_answer_is_a_timeout() {
    let fx = Fixture::with_options(json!({"timeout_seconds": 1, "max_retries": 0})).await;
    fx.emulator
        .push_fault(MESSAGES, Fault::Delay(Duration::from_secs(3)));
    let err = fx.ask("hello").await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Timeout, "{err}");
    assert!(err.to_string().contains("within 1s"), "{err}");
}

#[tokio::test]
async fn a_wrong_key_is_an_authentication_error_that_never_shows_the_key() {
    let emulator = AnthropicEmulator::start().await.unwrap();
    let wrong_key = "sk-ant-api03-WRONGwrongWRONG1234567890abcdef";
    let (plugin, _dir) = connect(&emulator, wrong_key, json!({})).await.unwrap();
    let err = plugin
        .call(&CallContext::detached(), "generate_text", ask("hello"))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Authentication);
    assert!(err.to_string().contains("invalid x-api-key"), "{err}");
    for shown in [err.to_string(), format!("{err:?}"), format!("{plugin:?}")] {
        assert!(!shown.contains(wrong_key), "{shown}");
        assert!(!shown.contains(emulator.api_key()), "{shown}");
    }
    // Not retried: the same key would be refused again.
    assert_eq!(emulator.requests().len(), 1);
    // The connected plugin's own Debug shows no key either.
    let concrete = AnthropicPlugin::default();
    let dir = tempfile::tempdir().unwrap();
    let value = json!({"connection": {"api_key": wrong_key, "base_url": emulator.base_url()}});
    concrete
        .connect(&PluginConfig::new("ai", value, dir.path(), dir.path()))
        .await
        .unwrap();
    let debug = format!("{concrete:?}");
    assert!(!debug.contains(wrong_key), "{debug}");
}

#[tokio::test]
async fn analyze_code_parses_the_json_answer() {
    let fx = Fixture::new().await;
    fx.emulator.push_reply(AnthropicReply::text(
        "```json\n{\"summary\": \"One bug.\", \"findings\": [{\"severity\": \"error\", \"line\": 2, \"message\": \"off by one\"}]}\n```",
    ));
    let out = fx
        .plugin
        .call(
            &CallContext::detached(),
            "analyze_code",
            json!({"code": "let a = 1;\nlet b = a + 2;", "language": "rust"}),
        )
        .await
        .unwrap();
    assert_eq!(out["summary"], "One bug.");
    assert_eq!(
        out["findings"],
        json!([{"severity": "error", "line": 2, "message": "off by one"}])
    );
    let body = fx.message_requests()[0].json().unwrap();
    assert!(body["system"].as_str().unwrap().contains("\"findings\""));
    assert!(
        body["messages"][0]["content"]
            .as_str()
            .unwrap()
            .contains("   2 | let b = a + 2;")
    );
}

#[tokio::test]
async fn generate_code_takes_the_fenced_block() {
    let fx = Fixture::new().await;
    fx.emulator.push_reply(AnthropicReply::text(
        "```python\ndef add(a, b):\n    return a + b\n```\nAdds two numbers.",
    ));
    let out = fx
        .plugin
        .call(
            &CallContext::detached(),
            "generate_code",
            json!({"instructions": "Write add()", "language": "python"}),
        )
        .await
        .unwrap();
    assert_eq!(out["code"], "def add(a, b):\n    return a + b");
    assert_eq!(out["language"], "python");
    assert_eq!(out["explanation"], "Adds two numbers.");
}

#[tokio::test]
async fn json_schemas_are_asked_for_in_the_system_prompt() {
    let fx = Fixture::new().await;
    let mut request = ask("plan it");
    request["json_schema"] = json!({"type": "object", "required": ["steps"]});
    fx.plugin
        .call(&CallContext::detached(), "generate_text", request)
        .await
        .unwrap();
    let body = fx.message_requests()[0].json().unwrap();
    let system = body["system"].as_str().unwrap();
    assert!(system.starts_with("Be brief.\n\n"), "{system}");
    assert!(system.contains(r#""required":["steps"]"#), "{system}");
}

#[tokio::test]
async fn estimates_and_usage_stats() {
    let fx = Fixture::with_options(json!({"max_tokens": 1000})).await;
    let estimate = fx
        .plugin
        .call(&CallContext::detached(), "estimate_cost", ask("abcd"))
        .await
        .unwrap();
    assert_eq!(estimate["model"], DEFAULT_MODEL_ALIAS);
    assert_eq!(estimate["max_output_tokens"], 1000);
    assert!(estimate["estimated_cost_usd"].as_f64().unwrap() > 0.015);
    // Estimating sends nothing.
    assert!(fx.emulator.requests().is_empty());

    fx.emulator
        .push_reply(AnthropicReply::text("a").usage(10, 1));
    fx.emulator
        .push_reply(AnthropicReply::text("b").usage(20, 2));
    fx.ask("one").await.unwrap();
    fx.ask("two").await.unwrap();
    let stats = fx
        .plugin
        .call(&CallContext::detached(), "get_usage_stats", json!({}))
        .await
        .unwrap();
    assert_eq!(stats["requests"], 2);
    assert_eq!(
        stats["usage"],
        json!({"input_tokens": 30, "output_tokens": 3})
    );
    assert_eq!(stats["by_model"][DEFAULT_MODEL_ALIAS]["requests"], 2);
}

#[tokio::test]
async fn health_lists_models_and_spends_nothing() {
    let fx = Fixture::new().await;
    assert_eq!(fx.plugin.plugin().health_check().await, Health::Healthy);
    let paths: Vec<String> = fx.emulator.requests().into_iter().map(|r| r.path).collect();
    assert_eq!(paths, [MODELS]);

    let (wrong, _dir) = connect(&fx.emulator, "sk-ant-nope", json!({}))
        .await
        .unwrap();
    match wrong.plugin().health_check().await {
        Health::Unhealthy(reason) => {
            assert!(reason.contains("HTTP 401"), "{reason}");
            assert!(!reason.contains("sk-ant-nope"), "{reason}");
        }
        other => panic!("expected unhealthy, got {other:?}"),
    }
    fx.emulator
        .push_fault(MODELS, emu::rate_limit_error(Duration::from_secs(30)));
    assert!(matches!(
        fx.plugin.plugin().health_check().await,
        Health::Degraded(_)
    ));
}

#[tokio::test]
async fn calls_before_connect_are_errors() {
    let plugin = factory().create();
    let err = plugin
        .call(&CallContext::detached(), "generate_text", ask("x"))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("not connected"), "{err}");
    assert!(matches!(
        plugin.plugin().health_check().await,
        Health::Unhealthy(_)
    ));
}

#[tokio::test]
async fn bad_configurations_are_reported_whole_and_refused_by_connect() {
    let plugin = factory().create();
    let dir = tempfile::tempdir().unwrap();
    let value = json!({
        "connection": {"api_key": " ", "base_url": "api.anthropic.com", "version": ""},
        "options": {"max_tokens": 0}
    });
    let config = PluginConfig::new("ai", value, dir.path(), dir.path());
    let paths: Vec<String> = plugin
        .plugin()
        .validate_config(&config)
        .into_iter()
        .map(|p| p.path)
        .collect();
    assert_eq!(
        paths,
        [
            "connection.api_key",
            "connection.base_url",
            "connection.version",
            "options.max_tokens"
        ]
    );
    let err = plugin.plugin().connect(&config).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Configuration);
    let typo = PluginConfig::new(
        "ai",
        json!({"connection": {"api_key": "k", "modle": "x"}}),
        dir.path(),
        dir.path(),
    );
    assert!(!plugin.plugin().validate_config(&typo).is_empty());
}

#[test]
fn metadata_requires_the_key_and_marks_it_secret() {
    let meta = factory().metadata().clone();
    assert_eq!(meta.name, "anthropic");
    assert_eq!(meta.kind, PluginKind::AiProvider);
    assert_eq!(meta.env_prefix, "ANTHROPIC");
    assert_eq!(meta.required_config, ["connection.api_key"]);
    let schema = &meta.config_schema;
    let connection = resolve_ref(schema, &schema["properties"]["connection"]);
    assert_eq!(connection["properties"]["api_key"]["x-secret"], json!(true));
}
