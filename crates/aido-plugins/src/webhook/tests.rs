//! Tests of the `webhook` plugin against the webhook emulator of
//! `aido-testkit`, driven through the action catalog.

use std::path::Path;
use std::time::{Duration, Instant};

use aido_plugin_api::ErrorKind;
use aido_testkit::{Fault, WebhookEmulator, WebhookFlavor};
use serde_json::{Value, json};

use super::*;

struct Fixture {
    hook: WebhookEmulator,
    plugin: PluginInstance,
    dir: tempfile::TempDir,
}

impl Fixture {
    async fn new(flavor: WebhookFlavor) -> Fixture {
        Fixture::with_options(flavor, json!({})).await
    }

    async fn with_options(flavor: WebhookFlavor, options: Value) -> Fixture {
        let hook = WebhookEmulator::start(flavor).await.unwrap();
        let dir = tempfile::tempdir().unwrap();
        let plugin = connect(dir.path(), &hook.url(), flavor, options)
            .await
            .unwrap();
        Fixture { hook, plugin, dir }
    }

    async fn send(&self, cx: &CallContext, input: Value) -> aido_plugin_api::Result<Value> {
        self.plugin.call(cx, "send_message", input).await
    }
}

fn format_of(flavor: WebhookFlavor) -> &'static str {
    match flavor {
        WebhookFlavor::Slack => "slack",
        WebhookFlavor::Discord => "discord",
        WebhookFlavor::Teams => "teams",
    }
}

async fn connect(
    dir: &Path,
    url: &str,
    flavor: WebhookFlavor,
    options: Value,
) -> aido_plugin_api::Result<PluginInstance> {
    let mut options = options;
    options["format"] = json!(format_of(flavor));
    options
        .as_object_mut()
        .unwrap()
        .entry("channel")
        .or_insert(json!("dev-team"));
    let value = json!({"connection": {"url": url}, "options": options});
    let plugin = factory().create();
    plugin
        .plugin()
        .connect(&PluginConfig::new(
            "communication",
            value,
            dir,
            dir.join(".aido"),
        ))
        .await?;
    Ok(plugin)
}

fn keyed(key: &str) -> CallContext {
    CallContext {
        run_id: Some("run-1".into()),
        step: Some("notify".into()),
        idempotency_key: Some(key.into()),
    }
}

#[tokio::test]
async fn slack_messages_are_posted_as_text() {
    let fx = Fixture::new(WebhookFlavor::Slack).await;
    let out = fx
        .send(&CallContext::detached(), json!({"text": "PR #12 is ready"}))
        .await
        .unwrap();
    assert_eq!(out["channel"], "dev-team");
    assert_eq!(out["text"], "PR #12 is ready");
    assert!(!out["id"].as_str().unwrap().is_empty());
    assert_eq!(fx.hook.messages(), [json!({"text": "PR #12 is ready"})]);
    let sent = &fx.hook.requests()[0];
    assert_eq!(sent.header("content-type"), Some("application/json"));
    assert!(sent.header("user-agent").unwrap().starts_with("aido/"));
    // Thread replies use Slack's thread_ts.
    fx.send(
        &CallContext::detached(),
        json!({"text": "tests pass", "thread_id": "1700000000.000100", "channel": "#dev-team"}),
    )
    .await
    .unwrap();
    assert_eq!(
        fx.hook.messages()[1],
        json!({"text": "tests pass", "thread_ts": "1700000000.000100"})
    );
}

#[tokio::test]
async fn discord_messages_wait_for_the_created_message_and_its_id() {
    let fx = Fixture::new(WebhookFlavor::Discord).await;
    let out = fx
        .send(
            &CallContext::detached(),
            json!({"text": "deployed", "thread_id": "42"}),
        )
        .await
        .unwrap();
    assert!(out["id"].as_str().unwrap().parse::<u64>().is_ok(), "{out}");
    assert_eq!(out["thread_id"], "42");
    assert_eq!(fx.hook.messages(), [json!({"content": "deployed"})]);
    assert_eq!(
        fx.hook.requests()[0].query.as_deref(),
        Some("wait=true&thread_id=42")
    );
    // Past Discord's 2000 characters the text is cut, not refused.
    let out = fx
        .send(&CallContext::detached(), json!({"text": "y".repeat(2500)}))
        .await
        .unwrap();
    assert!(out["text"].as_str().unwrap().ends_with("characters cut]"));
}

#[tokio::test]
async fn teams_messages_are_adaptive_cards() {
    let fx = Fixture::new(WebhookFlavor::Teams).await;
    fx.send(&CallContext::detached(), json!({"text": "**done**"}))
        .await
        .unwrap();
    let card = &fx.hook.messages()[0];
    assert_eq!(card["type"], "message");
    assert_eq!(
        card["attachments"][0]["content"]["body"][0],
        json!({"type": "TextBlock", "text": "**done**", "wrap": true})
    );
    let err = fx
        .send(
            &CallContext::detached(),
            json!({"text": "x", "thread_id": "1"}),
        )
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unsupported);
}

#[tokio::test]
async fn a_rate_limit_is_waited_out_then_the_post_succeeds_once() {
    let fx = Fixture::new(WebhookFlavor::Slack).await;
    fx.hook.push_fault(
        Fault::status(429)
            .with_header("retry-after", "1")
            .with_body("rate_limited"),
    );
    let started = Instant::now();
    fx.send(&CallContext::detached(), json!({"text": "hi"}))
        .await
        .unwrap();
    assert!(started.elapsed() >= Duration::from_secs(1));
    assert_eq!(fx.hook.requests().len(), 2);
    assert_eq!(fx.hook.messages().len(), 1);
}

#[tokio::test]
async fn a_server_error_is_not_retried_but_the_same_key_can_post_again() {
    // A post that got a 5xx may or may not have been posted by some
    // services; the layer does not repeat a POST on its own. The service
    // answered with an error, so the record says "failed" and the step's
    // retry (same key) posts.
    let fx = Fixture::new(WebhookFlavor::Slack).await;
    fx.hook
        .push_fault(Fault::status(500).with_body("internal_error"));
    let err = fx
        .send(&keyed("notify-1"), json!({"text": "hi"}))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Connection);
    assert!(err.to_string().contains("HTTP 500"), "{err}");
    assert!(err.to_string().contains("internal_error"), "{err}");
    assert_eq!(fx.hook.requests().len(), 1);
    fx.send(&keyed("notify-1"), json!({"text": "hi"}))
        .await
        .unwrap();
    assert_eq!(fx.hook.messages().len(), 1);
}

#[tokio::test]
async fn server_errors_every_time_end_in_a_clear_connection_error() {
    let fx = Fixture::new(WebhookFlavor::Discord).await;
    fx.hook.push_faults(
        Fault::json(
            500,
            &json!({"message": "500: Internal Server Error", "code": 0}),
        ),
        5,
    );
    let err = fx
        .send(&CallContext::detached(), json!({"text": "hi"}))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Connection);
    assert_eq!((err.plugin(), err.operation()), ("webhook", "send_message"));
    assert!(
        err.to_string().contains("500: Internal Server Error"),
        "{err}"
    );
}

#[tokio::test]
async fn a_dropped_post_is_never_repeated() {
    let fx = Fixture::new(WebhookFlavor::Slack).await;
    fx.hook.push_fault(Fault::DropConnection);
    let err = fx
        .send(&keyed("notify-2"), json!({"text": "hi"}))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Connection);
    assert_eq!(
        fx.hook.requests().len(),
        1,
        "not retried: it may have arrived"
    );
    // The step is retried with the same key: the post may have arrived, so
    // it is reported as made rather than made twice.
    let out = fx
        .send(&keyed("notify-2"), json!({"text": "hi"}))
        .await
        .unwrap();
    assert_eq!(out["text"], "hi");
    assert_eq!(fx.hook.requests().len(), 1);
}

#[tokio::test]
async fn a_refused_connection_is_retried_then_reported() {
    // A port nothing listens on: bound, then closed at once.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let token = "t0kenOfAClosedHook";
    let url = format!("http://127.0.0.1:{port}/hooks/1/{token}");
    let dir = tempfile::tempdir().unwrap();
    let plugin = connect(
        dir.path(),
        &url,
        WebhookFlavor::Slack,
        json!({"max_retries": 1}),
    )
    .await
    .unwrap();
    let err = plugin
        .call(
            &CallContext::detached(),
            "send_message",
            json!({"text": "hi"}),
        )
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Connection);
    assert!(err.to_string().contains("could not connect"), "{err}");
    assert!(err.to_string().contains("after 2 attempts"), "{err}");
    assert!(!err.to_string().contains(token), "{err}");
}

#[tokio::test]
async fn a_malformed_discord_answer_still_counts_as_posted() {
    // The service answered 200: the message is in the channel. An answer
    // that does not decode only loses its id, and an error would make the
    // step post again.
    let fx = Fixture::new(WebhookFlavor::Discord).await;
    fx.hook.push_fault(Fault::MalformedJson);
    let out = fx
        .send(&keyed("notify-3"), json!({"text": "hi"}))
        .await
        .unwrap();
    assert!(
        out["id"].as_str().unwrap().contains('-'),
        "a generated id: {out}"
    );
    let again = fx
        .send(&keyed("notify-3"), json!({"text": "hi"}))
        .await
        .unwrap();
    assert_eq!(again["id"], out["id"]);
    assert_eq!(fx.hook.requests().len(), 1);
}

#[tokio::test]
async fn a_slow_hook_is_a_timeout() {
    let fx = Fixture::with_options(WebhookFlavor::Slack, json!({"timeout_seconds": 1})).await;
    fx.hook.push_fault(Fault::Delay(Duration::from_secs(3)));
    let err = fx
        .send(&CallContext::detached(), json!({"text": "hi"}))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Timeout, "{err}");
    assert_eq!(fx.hook.requests().len(), 1);
}

#[tokio::test]
async fn a_wrong_token_is_an_authentication_error_that_never_shows_the_url() {
    for flavor in [WebhookFlavor::Slack, WebhookFlavor::Discord] {
        let hook = WebhookEmulator::start(flavor).await.unwrap();
        let wrong = format!("{}/hooks/{}/s3cretT0kenWrong", hook.base_url(), hook.id());
        let dir = tempfile::tempdir().unwrap();
        let plugin = connect(dir.path(), &wrong, flavor, json!({}))
            .await
            .unwrap();
        let err = plugin
            .call(
                &CallContext::detached(),
                "send_message",
                json!({"text": "hi"}),
            )
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Authentication, "{err}");
        assert!(err.to_string().contains("/[redacted]"), "{err}");
        for shown in [err.to_string(), format!("{err:?}"), format!("{plugin:?}")] {
            assert!(!shown.contains("s3cretT0kenWrong"), "{shown}");
            assert!(!shown.contains(hook.token()), "{shown}");
        }
        let concrete = WebhookPlugin::default();
        let value = json!({"connection": {"url": wrong}, "options": {"format": format_of(flavor)}});
        concrete
            .connect(&PluginConfig::new("c", value, dir.path(), dir.path()))
            .await
            .unwrap();
        assert!(!format!("{concrete:?}").contains("s3cretT0kenWrong"));
    }
}

#[tokio::test]
async fn a_key_is_posted_once_even_by_a_resumed_process() {
    let fx = Fixture::new(WebhookFlavor::Slack).await;
    let first = fx
        .send(&keyed("notify-4"), json!({"text": "ready"}))
        .await
        .unwrap();
    let again = fx
        .send(&keyed("notify-4"), json!({"text": "ready"}))
        .await
        .unwrap();
    assert_eq!(first, again);
    // A new process on the same data folder, resuming the run.
    let resumed = connect(
        fx.dir.path(),
        &fx.hook.url(),
        WebhookFlavor::Slack,
        json!({}),
    )
    .await
    .unwrap();
    let third = resumed
        .call(&keyed("notify-4"), "send_message", json!({"text": "ready"}))
        .await
        .unwrap();
    assert_eq!(third, first);
    assert_eq!(fx.hook.messages().len(), 1);
    let log = std::fs::read_to_string(fx.dir.path().join(".aido/webhook-sent.jsonl")).unwrap();
    assert!(!log.contains(fx.hook.token()), "the record holds no URL");
    // The same key for another kind of post is a mistake.
    let err = fx
        .plugin
        .call(
            &keyed("notify-4"),
            "upload_file",
            json!({"filename": "a.txt", "content": "x"}),
        )
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
}

#[tokio::test]
async fn text_files_are_posted_as_code_blocks_and_others_are_unsupported() {
    let fx = Fixture::new(WebhookFlavor::Discord).await;
    let out = fx
        .plugin
        .call(
            &CallContext::detached(),
            "upload_file",
            json!({"filename": "report.txt", "content": "all green\n", "comment": "Results:"}),
        )
        .await
        .unwrap();
    assert_eq!(out["name"], "report.txt");
    assert_eq!(out["channel"], "dev-team");
    assert_eq!(
        fx.hook.messages()[0]["content"],
        "Results:\n\n`report.txt`:\n```\nall green\n```"
    );
    // "héllo" in base64.
    fx.plugin
        .call(
            &CallContext::detached(),
            "upload_file",
            json!({"filename": "h.txt", "content": "aMOpbGxv", "encoding": "base64"}),
        )
        .await
        .unwrap();
    assert!(
        fx.hook.messages()[1]["content"]
            .as_str()
            .unwrap()
            .contains("héllo")
    );
    for (content, encoding) in [("AAEC/w==", "base64"), (&*"z".repeat(3000), "text")] {
        let err = fx
            .plugin
            .call(
                &CallContext::detached(),
                "upload_file",
                json!({"filename": "f.bin", "content": content, "encoding": encoding}),
            )
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Unsupported, "{err}");
    }
    assert_eq!(fx.hook.messages().len(), 2);
}

#[tokio::test]
async fn what_a_webhook_cannot_do_is_unsupported_and_says_why() {
    let fx = Fixture::new(WebhookFlavor::Slack).await;
    let cx = CallContext::detached();
    for (action, input) in [
        (
            "send_direct_message",
            json!({"user": "alice", "text": "hi"}),
        ),
        ("create_channel", json!({"name": "new"})),
        ("get_user_info", json!({"user": "alice"})),
    ] {
        let err = fx.plugin.call(&cx, action, input).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Unsupported, "{action}");
        assert!(err.message().contains("incoming webhook"), "{err}");
    }
    let channel = fx
        .plugin
        .call(&cx, "get_channel_info", json!({"channel": "#dev-team"}))
        .await
        .unwrap();
    assert_eq!(channel["name"], "dev-team");
    let err = fx
        .plugin
        .call(&cx, "get_channel_info", json!({"channel": "random"}))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
    let err = fx
        .send(&cx, json!({"channel": "random", "text": "hi"}))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    assert!(fx.hook.requests().is_empty(), "nothing was posted");
    assert_eq!(fx.plugin.plugin().health_check().await, Health::Healthy);
}

#[tokio::test]
async fn calls_before_connect_are_errors() {
    let plugin = factory().create();
    let err = plugin
        .call(
            &CallContext::detached(),
            "send_message",
            json!({"text": "x"}),
        )
        .await
        .unwrap_err();
    assert!(err.to_string().contains("not connected"), "{err}");
    assert!(matches!(
        plugin.plugin().health_check().await,
        Health::Unhealthy(_)
    ));
}

#[test]
fn configuration_problems_never_quote_the_url() {
    let plugin = WebhookPlugin::default();
    let dir = tempfile::tempdir().unwrap();
    let config = |value: Value| PluginConfig::new("c", value, dir.path(), dir.path());
    let problems = plugin.validate_config(&config(json!({
        "connection": {"url": "http://127.0.0.1:9/hooks/1/tok3n-secret-value"}
    })));
    assert_eq!(problems.len(), 1);
    assert_eq!(problems[0].path, "options.format");
    let problems = plugin.validate_config(&config(json!({
        "connection": {"url": "hooks.slack.com/services/tok3n-secret-value"},
        "options": {"channel": "#", "timeout_seconds": 0}
    })));
    let paths: Vec<&str> = problems.iter().map(|p| p.path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "connection.url",
            "options.channel",
            "options.timeout_seconds"
        ]
    );
    assert!(problems.iter().all(|p| !p.message.contains("tok3n")));
    let slack = json!({"connection": {"url": "https://hooks.slack.com/services/T/B/x"}});
    assert!(plugin.validate_config(&config(slack)).is_empty());
    let meta = factory().metadata().clone();
    assert_eq!(meta.required_config, ["connection.url"]);
    assert_eq!(meta.env_prefix, "WEBHOOK");
}
