//! Tests of the `slack` plugin against the emulator of `aido-testkit`,
//! driven through the action catalog as the engine drives it, and against
//! the real Slack when `AIDO_LIVE_SLACK_BOT_TOKEN` and
//! `AIDO_LIVE_SLACK_CHANNEL` are set.

use std::time::Duration;

use aido_plugin_api::ErrorKind;
use aido_testkit::slack::{
    self as emu, ALICE, COMPLETE_UPLOAD, GENERAL, HISTORY, INFO, POST_MESSAGE, RANDOM,
};
use aido_testkit::{Fault, SlackEmulator};
use serde_json::{Value, json};

use super::*;

struct Fixture {
    emulator: SlackEmulator,
    plugin: PluginInstance,
    _dir: tempfile::TempDir,
}

impl Fixture {
    async fn new() -> Fixture {
        Fixture::with_options(json!({"default_channel": "general"})).await
    }

    async fn with_options(options: Value) -> Fixture {
        let emulator = SlackEmulator::start().await.unwrap();
        let token = emulator.token().to_owned();
        let (plugin, dir) = connect(&emulator.base_url(), &token, options)
            .await
            .unwrap();
        Fixture {
            emulator,
            plugin,
            _dir: dir,
        }
    }

    async fn call(&self, action: &str, input: Value) -> aido_plugin_api::Result<Value> {
        self.plugin
            .call(&CallContext::detached(), action, input)
            .await
    }

    fn count(&self, route: &str) -> usize {
        self.emulator
            .requests()
            .iter()
            .filter(|r| r.path == route)
            .count()
    }
}

async fn connect(
    base_url: &str,
    token: &str,
    options: Value,
) -> aido_plugin_api::Result<(PluginInstance, tempfile::TempDir)> {
    let dir = tempfile::tempdir().unwrap();
    let plugin = factory().create();
    let value = json!({
        "connection": {"bot_token": token, "base_url": base_url},
        "options": options,
    });
    let config = PluginConfig::new("communication", value, dir.path(), dir.path().join(".aido"));
    plugin.plugin().connect(&config).await?;
    Ok((plugin, dir))
}

#[tokio::test]
async fn slack_send_message_resolves_the_default_channel_and_posts() {
    let fx = Fixture::new().await;
    let out = fx
        .call("send_message", json!({"text": "Build passed"}))
        .await
        .unwrap();
    assert_eq!(out["channel"], GENERAL);
    assert_eq!(out["text"], "Build passed");
    let sent = fx.emulator.messages();
    assert_eq!(sent.len(), 1);
    assert_eq!(out["id"], sent[0].ts.as_str());
    let post = fx
        .emulator
        .requests()
        .into_iter()
        .find(|r| r.path == POST_MESSAGE)
        .unwrap();
    assert_eq!(
        post.header("authorization"),
        Some(format!("Bearer {}", fx.emulator.token()).as_str())
    );
    assert_eq!(
        post.json().unwrap(),
        json!({"channel": GENERAL, "text": "Build passed"})
    );
    // A reply in the thread.
    let reply = fx
        .call(
            "send_message",
            json!({"channel": GENERAL, "text": "details", "thread_id": out["id"]}),
        )
        .await
        .unwrap();
    assert_eq!(reply["thread_id"], out["id"]);
    assert_eq!(
        fx.emulator.messages()[1].thread_ts.as_deref(),
        out["id"].as_str()
    );
}

#[tokio::test]
async fn slack_direct_messages_find_the_user_by_email() {
    let fx = Fixture::new().await;
    let out = fx
        .call(
            "send_direct_message",
            json!({"user": "alice@example.com", "text": "Your review, please"}),
        )
        .await
        .unwrap();
    let dm = out["channel"].as_str().unwrap();
    assert!(dm.starts_with('D'), "{out}");
    let channel = fx
        .emulator
        .channels()
        .into_iter()
        .find(|c| c.id == dm)
        .unwrap();
    assert_eq!(channel.dm_user.as_deref(), Some(ALICE));
}

#[tokio::test]
async fn slack_channels_are_created_described_and_read() {
    let fx = Fixture::new().await;
    let out = fx
        .call(
            "create_channel",
            json!({"name": "release-1-2", "description": "Release train"}),
        )
        .await
        .unwrap();
    assert_eq!(out["name"], "release-1-2");
    assert_eq!(out["description"], "Release train");
    assert_eq!(out["member_count"], 1);
    let info = fx
        .call("get_channel_info", json!({"channel": "#general"}))
        .await
        .unwrap();
    assert_eq!(info["id"], GENERAL);
    assert_eq!(info["member_count"], 2);
    let err = fx
        .call("create_channel", json!({"name": "release-1-2"}))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    assert!(err.to_string().contains("name_taken"), "{err}");
    // With an idempotency key, a taken name is the channel made earlier.
    let again = fx
        .plugin
        .call(
            &CallContext::with_idempotency_key("step-1"),
            "create_channel",
            json!({"name": "release-1-2"}),
        )
        .await
        .unwrap();
    assert_eq!(again["id"], out["id"]);
}

#[tokio::test]
async fn slack_users_are_found_by_id_and_by_email() {
    let fx = Fixture::new().await;
    let by_id = fx
        .call("get_user_info", json!({"user": ALICE}))
        .await
        .unwrap();
    let by_email = fx
        .call("get_user_info", json!({"user": "alice@example.com"}))
        .await
        .unwrap();
    assert_eq!(by_id, by_email);
    assert_eq!(by_id["email"], "alice@example.com");
    assert_eq!(by_id["name"], "alice");
    let err = fx
        .call("get_user_info", json!({"user": "nobody@example.com"}))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
}

#[tokio::test]
async fn slack_files_go_through_the_external_upload_flow() {
    let fx = Fixture::new().await;
    let out = fx
        .call(
            "upload_file",
            json!({
                "filename": "report.txt",
                "content": "aGVsbG8=",
                "encoding": "base64",
                "title": "Report",
                "comment": "Nightly report"
            }),
        )
        .await
        .unwrap();
    let files = fx.emulator.files();
    assert_eq!(files.len(), 1);
    assert_eq!(files[0].content.as_deref(), Some(&b"hello"[..]));
    assert_eq!(files[0].length, 5);
    assert_eq!(files[0].title.as_deref(), Some("Report"));
    assert_eq!(files[0].channel.as_deref(), Some(GENERAL));
    assert_eq!(out["id"], files[0].id.as_str());
    assert_eq!(out["channel"], GENERAL);
    assert!(out["url"].as_str().unwrap().contains(&files[0].id));
    let shared = fx.emulator.messages();
    assert_eq!(shared[0].text, "Nightly report");
    let complete = fx
        .emulator
        .requests()
        .into_iter()
        .find(|r| r.path == COMPLETE_UPLOAD)
        .unwrap();
    assert_eq!(
        complete.json().unwrap()["files"],
        json!([{"id": files[0].id, "title": "Report"}])
    );
}

#[tokio::test]
async fn slack_errors_map_into_the_taxonomy() {
    let fx = Fixture::new().await;
    let err = fx
        .call("send_message", json!({"channel": RANDOM, "text": "hi"}))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    assert!(err.to_string().contains("not_in_channel"), "{err}");
    let err = fx
        .call(
            "send_message",
            json!({"channel": "C9999999999", "text": "hi"}),
        )
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
    let err = fx
        .call("send_message", json!({"channel": "no-such", "text": "hi"}))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
    assert_eq!(err.plugin(), "slack");
    assert_eq!(err.operation(), "send_message");
}

#[tokio::test]
async fn slack_a_rate_limit_is_waited_out_then_the_call_succeeds() {
    let fx = Fixture::new().await;
    fx.emulator
        .push_fault(POST_MESSAGE, emu::rate_limited(Duration::from_secs(1)));
    let started = std::time::Instant::now();
    fx.call("send_message", json!({"channel": GENERAL, "text": "hi"}))
        .await
        .unwrap();
    assert!(started.elapsed() >= Duration::from_secs(1));
    assert_eq!(fx.count(POST_MESSAGE), 2);
    assert_eq!(fx.emulator.messages().len(), 1);
}

#[tokio::test]
async fn slack_server_errors_on_reads_are_retried_then_succeed() {
    let fx = Fixture::new().await;
    fx.emulator.push_fault(INFO, Fault::status(500));
    let out = fx
        .call("get_channel_info", json!({"channel": GENERAL}))
        .await
        .unwrap();
    assert_eq!(out["name"], "general");
    assert_eq!(fx.count(INFO), 2);
}

#[tokio::test]
async fn slack_a_server_error_on_a_post_is_not_repeated() {
    let fx = Fixture::new().await;
    fx.emulator.push_fault(POST_MESSAGE, Fault::status(500));
    let err = fx
        .call("send_message", json!({"channel": GENERAL, "text": "hi"}))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Connection);
    assert_eq!(fx.count(POST_MESSAGE), 1);
}

#[tokio::test]
async fn slack_malformed_json_is_an_invalid_response() {
    let fx = Fixture::new().await;
    fx.emulator.push_fault(INFO, Fault::MalformedJson);
    let err = fx
        .call("get_channel_info", json!({"channel": GENERAL}))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidResponse);
    assert_eq!(fx.count(INFO), 1);
}

#[tokio::test]
async fn slack_a_slow_answer_is_a_timeout() {
    let fx = Fixture::with_options(json!({"timeout_seconds": 1, "max_retries": 0})).await;
    fx.emulator
        .push_fault(INFO, Fault::Delay(Duration::from_secs(3)));
    let err = fx
        .call("get_channel_info", json!({"channel": GENERAL}))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Timeout);
}

#[tokio::test]
async fn slack_a_wrong_token_is_an_authentication_error_that_never_shows_it() {
    let emulator = SlackEmulator::start().await.unwrap();
    let wrong = "xoxb-1111111111-2222222222-WRONGwrongWRONGwrong";
    let (plugin, _dir) = connect(&emulator.base_url(), wrong, json!({}))
        .await
        .unwrap();
    let err = plugin
        .call(
            &CallContext::detached(),
            "send_message",
            json!({"channel": GENERAL, "text": "hi"}),
        )
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Authentication);
    let shown = format!("{err} {err:?}");
    assert!(shown.contains("invalid_auth"), "{shown}");
    assert!(!shown.contains(wrong), "{shown}");
    match plugin.plugin().health_check().await {
        Health::Unhealthy(reason) => {
            assert!(reason.contains("invalid_auth"), "{reason}");
            assert!(!reason.contains(wrong));
        }
        other => panic!("expected unhealthy, got {other:?}"),
    }
}

#[tokio::test]
async fn slack_the_same_idempotency_key_posts_once() {
    let fx = Fixture::new().await;
    let cx = CallContext::with_idempotency_key("run-1/notify");
    let input = json!({"channel": GENERAL, "text": "Deployed"});
    let first = fx
        .plugin
        .call(&cx, "send_message", input.clone())
        .await
        .unwrap();
    let second = fx.plugin.call(&cx, "send_message", input).await.unwrap();
    assert_eq!(first["id"], second["id"]);
    let sent = fx.emulator.messages();
    assert_eq!(sent.len(), 1);
    assert_eq!(
        sent[0].metadata,
        Some(json!({"event_type": "aido_message", "event_payload": {"key": "run-1/notify"}}))
    );
    assert_eq!(fx.count(HISTORY), 2);
    // Another key posts again.
    fx.plugin
        .call(
            &CallContext::with_idempotency_key("run-2/notify"),
            "send_message",
            json!({"channel": GENERAL, "text": "Deployed"}),
        )
        .await
        .unwrap();
    assert_eq!(fx.emulator.messages().len(), 2);
}

#[tokio::test]
async fn slack_health_is_checked_with_auth_test() {
    let fx = Fixture::new().await;
    assert_eq!(fx.plugin.plugin().health_check().await, Health::Healthy);
}

#[test]
fn slack_metadata_requires_the_token_and_marks_it_secret() {
    let meta = factory().metadata().clone();
    assert_eq!(
        meta.required_config,
        vec!["connection.bot_token".to_owned()]
    );
    assert_eq!(meta.env_prefix, "SLACK");
    let schema = &meta.config_schema;
    let connection = aido_plugin_api::resolve_ref(schema, &schema["properties"]["connection"]);
    assert_eq!(
        connection["properties"]["bot_token"]["x-secret"],
        json!(true)
    );
}

#[test]
fn slack_ids_and_timestamps_are_recognised() {
    assert!(is_conversation_id("C0123456789"));
    assert!(is_conversation_id("D0000000001"));
    assert!(!is_conversation_id("general"));
    assert!(!is_conversation_id("Cgeneral12"));
    let at = ts_time("1700000000.000100");
    assert_eq!(at.timestamp(), 1_700_000_000);
    assert_eq!(at.timestamp_subsec_micros(), 100);
}

/// Against the real Slack, when its credentials are in the environment.
mod live {
    use super::*;

    fn credentials() -> Option<(String, String)> {
        let token = std::env::var("AIDO_LIVE_SLACK_BOT_TOKEN").ok()?;
        let channel = std::env::var("AIDO_LIVE_SLACK_CHANNEL").ok()?;
        Some((token, channel))
    }

    #[tokio::test]
    async fn slack_live_posts_a_message_and_reads_the_channel() {
        let Some((token, channel)) = credentials() else {
            eprintln!(
                "skipped: set AIDO_LIVE_SLACK_BOT_TOKEN and AIDO_LIVE_SLACK_CHANNEL to run \
                 against Slack"
            );
            return;
        };
        let (plugin, _dir) = connect(config::DEFAULT_BASE_URL, &token, json!({}))
            .await
            .unwrap();
        assert_eq!(plugin.plugin().health_check().await, Health::Healthy);
        let info = plugin
            .call(
                &CallContext::detached(),
                "get_channel_info",
                json!({"channel": channel}),
            )
            .await
            .unwrap();
        let key = format!("aido-live-{}", Utc::now().timestamp_micros());
        let cx = CallContext::with_idempotency_key(key);
        let input = json!({"channel": info["id"], "text": "aido live test (safe to ignore)"});
        let first = plugin
            .call(&cx, "send_message", input.clone())
            .await
            .unwrap();
        let second = plugin.call(&cx, "send_message", input).await.unwrap();
        assert_eq!(first["id"], second["id"]);
    }
}
