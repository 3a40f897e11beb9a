//! Tests of the `openai` plugin against the emulator of `aido-testkit`,
//! driven through the action catalog as the engine drives it.

use std::time::{Duration, Instant};

use aido_plugin_api::{ErrorKind, resolve_ref};
use aido_testkit::openai::{self as emu, CHAT_COMPLETIONS, MODELS};
use aido_testkit::{ApiKey, EmulatorOptions, Fault, OpenAiEmulator, OpenAiReply};
use serde_json::{Value, json};

use super::*;

struct Fixture {
    emulator: OpenAiEmulator,
    plugin: PluginInstance,
    _dir: tempfile::TempDir,
}

impl Fixture {
    async fn new() -> Fixture {
        Fixture::with_options(json!({})).await
    }

    async fn with_options(options: Value) -> Fixture {
        let emulator = OpenAiEmulator::start().await.unwrap();
        let key = emulator.api_key().map(str::to_owned);
        let (plugin, dir) = connect(&emulator, key.as_deref(), options).await.unwrap();
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

    fn chat_requests(&self) -> Vec<aido_testkit::RecordedRequest> {
        self.emulator
            .requests()
            .into_iter()
            .filter(|request| request.path == CHAT_COMPLETIONS)
            .collect()
    }
}

async fn connect(
    emulator: &OpenAiEmulator,
    key: Option<&str>,
    options: Value,
) -> aido_plugin_api::Result<(PluginInstance, tempfile::TempDir)> {
    let dir = tempfile::tempdir().unwrap();
    let plugin = factory().create();
    let mut connection = json!({"base_url": emulator.base_url()});
    if let Some(key) = key {
        connection["api_key"] = json!(key);
    }
    let value = json!({"connection": connection, "options": options});
    let config = PluginConfig::new("ai_provider", value, dir.path(), dir.path().join(".aido"));
    plugin.plugin().connect(&config).await?;
    Ok((plugin, dir))
}

fn ask(text: &str) -> Value {
    json!({"system": "Be brief.", "messages": [{"role": "user", "content": text}]})
}

#[tokio::test]
async fn generate_text_sends_a_chat_completion_and_reports_usage_and_cost() {
    let fx = Fixture::new().await;
    fx.emulator
        .push_reply(OpenAiReply::text("Hello back").usage(2_000_000, 1_000_000));
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
                "max_tokens": 300,
                "temperature": 0.5,
                "stop": ["END"]
            }),
        )
        .await
        .unwrap();
    assert_eq!(out["text"], "Hello back");
    assert_eq!(out["model"], "gpt-4o-mini");
    assert_eq!(
        out["usage"],
        json!({"input_tokens": 2_000_000, "output_tokens": 1_000_000})
    );
    // gpt-4o-mini list price: $0.15 in, $0.60 out per million.
    assert!(
        (out["cost_usd"].as_f64().unwrap() - 0.9).abs() < 1e-9,
        "{out}"
    );
    assert_eq!(out["stop_reason"], "stop");

    let sent = &fx.chat_requests()[0];
    let key = fx.emulator.api_key().unwrap();
    assert_eq!(
        sent.header("authorization"),
        Some(format!("Bearer {key}").as_str())
    );
    assert!(sent.header("user-agent").unwrap().starts_with("aido/"));
    // Not api.openai.com: the limit goes in `max_tokens`, which every
    // compatible server knows.
    assert_eq!(
        sent.json().unwrap(),
        json!({
            "model": "gpt-4o-mini",
            "messages": [
                {"role": "system", "content": "Be brief."},
                {"role": "user", "content": "Hi"},
                {"role": "assistant", "content": "Hello"},
                {"role": "user", "content": "How are you?"}
            ],
            "max_tokens": 300,
            "temperature": 0.5,
            "stop": ["END"]
        })
    );
}

#[tokio::test]
async fn the_token_limit_parameter_can_be_chosen() {
    let fx = Fixture::with_options(json!({"max_tokens_parameter": "max_completion_tokens"})).await;
    fx.ask("hello").await.unwrap();
    let body = fx.chat_requests()[0].json().unwrap();
    assert_eq!(body["max_completion_tokens"], 4096);
    assert!(body.get("max_tokens").is_none());
}

#[tokio::test]
async fn schemas_are_sent_as_response_format_or_written_into_the_prompt() {
    let schema = json!({"type": "object", "properties": {"steps": {"type": "array"}}});
    let mut request = ask("plan it");
    request["json_schema"] = schema.clone();

    let fx = Fixture::new().await;
    fx.plugin
        .call(&CallContext::detached(), "generate_text", request.clone())
        .await
        .unwrap();
    let body = fx.chat_requests()[0].json().unwrap();
    assert_eq!(
        body["response_format"],
        json!({"type": "json_schema", "json_schema": {"name": "response", "schema": schema, "strict": false}})
    );
    assert_eq!(body["messages"][0]["content"], "Be brief.");

    let fx = Fixture::with_options(json!({"structured_output": false})).await;
    fx.plugin
        .call(&CallContext::detached(), "generate_text", request)
        .await
        .unwrap();
    let body = fx.chat_requests()[0].json().unwrap();
    assert!(body.get("response_format").is_none());
    let system = body["messages"][0]["content"].as_str().unwrap();
    assert!(
        system.starts_with("Be brief.\n\n") && system.contains("\"steps\""),
        "{system}"
    );
}

#[tokio::test]
async fn local_servers_work_without_a_key() {
    let emulator = OpenAiEmulator::start_with(EmulatorOptions {
        api_key: ApiKey::NotRequired,
        ..EmulatorOptions::default()
    })
    .await
    .unwrap();
    let (plugin, _dir) = connect(&emulator, None, json!({"model": "llama3.1:8b"}))
        .await
        .unwrap();
    let out = plugin
        .call(&CallContext::detached(), "generate_text", ask("hi"))
        .await
        .unwrap();
    assert_eq!(out["model"], "llama3.1:8b");
    // An unpriced local model costs nothing.
    assert_eq!(out["cost_usd"], 0.0);
    assert_eq!(emulator.requests()[0].header("authorization"), None);
    assert_eq!(plugin.plugin().health_check().await, Health::Healthy);
}

#[tokio::test]
async fn a_rate_limit_is_waited_out_by_its_reset_header_then_the_call_succeeds() {
    let fx = Fixture::new().await;
    // OpenAI sends no Retry-After; the reset of the exhausted limit says
    // how long to wait.
    fx.emulator.push_fault(
        CHAT_COMPLETIONS,
        emu::rate_limit_error(Duration::from_millis(1200)),
    );
    let started = Instant::now();
    fx.ask("hello").await.unwrap();
    assert!(started.elapsed() >= Duration::from_millis(1200));
    assert_eq!(fx.chat_requests().len(), 2);
}

#[tokio::test]
async fn a_rate_limit_with_retry_after_is_honoured() {
    let fx = Fixture::new().await;
    fx.emulator.push_fault(
        CHAT_COMPLETIONS,
        Fault::status(429).with_header("retry-after", "1"),
    );
    let started = Instant::now();
    fx.ask("hello").await.unwrap();
    assert!(started.elapsed() >= Duration::from_secs(1));
}

#[tokio::test]
async fn a_server_error_is_retried_then_the_call_succeeds() {
    let fx = Fixture::new().await;
    fx.emulator
        .push_fault(CHAT_COMPLETIONS, emu::server_error());
    fx.emulator
        .push_fault(CHAT_COMPLETIONS, Fault::DropConnection);
    fx.ask("hello").await.unwrap();
    assert_eq!(fx.chat_requests().len(), 3);
}

#[tokio::test]
async fn server_errors_every_time_end_in_a_clear_connection_error() {
    let fx = Fixture::with_options(json!({"max_retries": 1})).await;
    fx.emulator
        .push_faults(CHAT_COMPLETIONS, emu::server_error(), 10);
    let err = fx.ask("hello").await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Connection);
    assert_eq!((err.plugin(), err.operation()), ("openai", "generate_text"));
    let text = err.to_string();
    assert!(text.contains("HTTP 500 Internal Server Error"), "{text}");
    assert!(
        text.contains("server_error: The server had an error"),
        "{text}"
    );
    assert!(text.contains("after 2 attempts"), "{text}");
    assert_eq!(fx.chat_requests().len(), 2);
}

#[tokio::test]
async fn malformed_json_is_an_invalid_response() {
    let fx = Fixture::new().await;
    fx.emulator
        .push_fault(CHAT_COMPLETIONS, Fault::MalformedJson);
    let err = fx.ask("hello").await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidResponse);
    let fx = Fixture::new().await;
    fx.emulator.push_fault(
        CHAT_COMPLETIONS,
        Fault::json(200, &json!({"object": "chat.completion", "choices": []})),
    );
    let err = fx.ask("hello").await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidResponse);
    assert!(err.to_string().contains("no choices"), "{err}");
}

#[tokio::test]
async fn a_slow_answer_is_a_timeout() {
    let fx = Fixture::with_options(json!({"timeout_seconds": 1, "max_retries": 0})).await;
    fx.emulator
        .push_fault(CHAT_COMPLETIONS, Fault::Delay(Duration::from_secs(3)));
    let err = fx.ask("hello").await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Timeout, "{err}");
}

#[tokio::test]
async fn a_wrong_key_is_an_authentication_error_that_never_shows_the_key() {
    let emulator = OpenAiEmulator::start().await.unwrap();
    let wrong_key = "sk-proj-WRONGwrongWRONG1234567890abcdefXYZ";
    let (plugin, _dir) = connect(&emulator, Some(wrong_key), json!({}))
        .await
        .unwrap();
    let err = plugin
        .call(&CallContext::detached(), "generate_text", ask("hello"))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Authentication);
    assert!(err.to_string().contains("invalid_api_key"), "{err}");
    // The service quotes the key masked (`sk-*****XYZ`); not even that is
    // repeated.
    for shown in [err.to_string(), format!("{err:?}"), format!("{plugin:?}")] {
        assert!(!shown.contains(wrong_key), "{shown}");
        assert!(!shown.contains("fXYZ"), "{shown}");
        assert!(!shown.contains("***"), "{shown}");
    }
    let concrete = OpenAiPlugin::default();
    let dir = tempfile::tempdir().unwrap();
    let value = json!({"connection": {"api_key": wrong_key, "base_url": emulator.base_url()}});
    concrete
        .connect(&PluginConfig::new("ai", value, dir.path(), dir.path()))
        .await
        .unwrap();
    assert!(!format!("{concrete:?}").contains(wrong_key));
}

#[tokio::test]
async fn missing_usage_is_estimated_and_refusals_are_answers() {
    let fx = Fixture::new().await;
    fx.emulator.push_fault(
        CHAT_COMPLETIONS,
        Fault::json(
            200,
            &json!({"choices": [{"index": 0, "message": {"role": "assistant", "content": "abcdefgh"}, "finish_reason": "stop"}]}),
        ),
    );
    let out = fx.ask("hello").await.unwrap();
    assert_eq!(out["usage"]["output_tokens"], 2);
    assert!(out["usage"]["input_tokens"].as_u64().unwrap() > 0);
    assert_eq!(out["model"], "gpt-4o-mini");
    fx.emulator.push_fault(
        CHAT_COMPLETIONS,
        Fault::json(
            200,
            &json!({"model": "gpt-4o-mini", "choices": [{"index": 0, "message": {"role": "assistant", "content": null, "refusal": "I can't help with that."}, "finish_reason": "stop"}], "usage": {"prompt_tokens": 5, "completion_tokens": 6, "total_tokens": 11}}),
        ),
    );
    let out = fx.ask("hello").await.unwrap();
    assert_eq!(out["text"], "I can't help with that.");
    assert_eq!(out["stop_reason"], "refusal");
}

#[tokio::test]
async fn analyze_and_generate_code() {
    let fx = Fixture::new().await;
    fx.emulator.push_reply(OpenAiReply::text(
        r#"{"summary": "Fine.", "findings": [{"severity": "info", "line": null, "message": "add docs"}]}"#,
    ));
    let out = fx
        .plugin
        .call(
            &CallContext::detached(),
            "analyze_code",
            json!({"code": "fn main() {}", "instructions": "Check docs."}),
        )
        .await
        .unwrap();
    assert_eq!(out["summary"], "Fine.");
    assert_eq!(out["findings"][0]["message"], "add docs");
    // With structured output on, the analysis schema is enforced.
    let body = fx.chat_requests()[0].json().unwrap();
    assert_eq!(body["response_format"]["type"], "json_schema");
    assert!(body.get("temperature").is_none());

    fx.emulator
        .push_reply(OpenAiReply::text("```ts\nexport const x = 1;\n```"));
    let out = fx
        .plugin
        .call(
            &CallContext::detached(),
            "generate_code",
            json!({"instructions": "Export x", "context": [{"path": "a.ts", "content": "// a"}]}),
        )
        .await
        .unwrap();
    assert_eq!(out["code"], "export const x = 1;");
    assert_eq!(out["language"], "ts");
    let body = fx.chat_requests()[1].json().unwrap();
    assert!(
        body["messages"][1]["content"]
            .as_str()
            .unwrap()
            .contains("File `a.ts`:\n```typescript\n// a\n```")
    );
}

#[tokio::test]
async fn estimates_and_usage_stats() {
    let fx = Fixture::with_options(json!({"max_tokens": 1_000_000})).await;
    let estimate = fx
        .plugin
        .call(&CallContext::detached(), "estimate_cost", ask("abcd"))
        .await
        .unwrap();
    assert_eq!(estimate["max_output_tokens"], 1_000_000);
    assert!(estimate["estimated_cost_usd"].as_f64().unwrap() >= 0.6);
    assert!(fx.emulator.requests().is_empty());
    fx.emulator.push_reply(OpenAiReply::text("a").usage(7, 1));
    fx.ask("x").await.unwrap();
    let stats = fx
        .plugin
        .call(&CallContext::detached(), "get_usage_stats", json!({}))
        .await
        .unwrap();
    assert_eq!(stats["requests"], 1);
    assert_eq!(
        stats["usage"],
        json!({"input_tokens": 7, "output_tokens": 1})
    );
}

#[tokio::test]
async fn health_lists_models() {
    let fx = Fixture::new().await;
    assert_eq!(fx.plugin.plugin().health_check().await, Health::Healthy);
    let paths: Vec<String> = fx.emulator.requests().into_iter().map(|r| r.path).collect();
    assert_eq!(paths, [MODELS]);
    fx.emulator.push_fault(MODELS, Fault::status(404));
    assert!(matches!(
        fx.plugin.plugin().health_check().await,
        Health::Degraded(_)
    ));
    fx.emulator.push_fault(MODELS, Fault::DropConnection);
    assert!(matches!(
        fx.plugin.plugin().health_check().await,
        Health::Unhealthy(_)
    ));
}

#[tokio::test]
async fn calls_before_connect_are_errors() {
    let plugin = factory().create();
    let err = plugin
        .call(&CallContext::detached(), "estimate_cost", ask("x"))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("not connected"), "{err}");
}

#[test]
fn openai_itself_needs_a_key_local_servers_do_not() {
    let plugin = OpenAiPlugin::default();
    let dir = tempfile::tempdir().unwrap();
    let config = |value: Value| PluginConfig::new("ai", value, dir.path(), dir.path());
    let problems = plugin.validate_config(&config(json!({})));
    assert_eq!(problems.len(), 1);
    assert_eq!(problems[0].path, "connection.api_key");
    assert!(problems[0].message.contains("OPENAI_API_KEY"));
    let local = json!({"connection": {"base_url": "http://localhost:11434/v1"}});
    assert!(plugin.validate_config(&config(local)).is_empty());
    let bad = json!({"connection": {"api_key": "", "base_url": "localhost:11434"}});
    let paths: Vec<String> = plugin
        .validate_config(&config(bad))
        .into_iter()
        .map(|p| p.path)
        .collect();
    assert_eq!(paths, ["connection.api_key", "connection.base_url"]);
}

#[test]
fn metadata_marks_the_optional_key_secret() {
    let meta = factory().metadata().clone();
    assert_eq!(meta.name, "openai");
    assert_eq!(meta.env_prefix, "OPENAI");
    assert!(meta.required_config.is_empty());
    let schema = &meta.config_schema;
    let connection = resolve_ref(schema, &schema["properties"]["connection"]);
    let key = resolve_ref(schema, &connection["properties"]["api_key"]);
    assert_eq!(key["x-secret"], json!(true), "{key}");
}
