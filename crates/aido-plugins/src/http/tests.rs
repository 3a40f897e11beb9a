//! The HTTP layer against the emulators of `aido-testkit`: what a plugin's
//! tests do not reach on their own.

use std::time::{Duration, Instant};

use aido_plugin_api::{ErrorKind, Secret};
use aido_testkit::anthropic::MODELS;
use aido_testkit::{AnthropicEmulator, Fault, WebhookEmulator, WebhookFlavor};
use serde_json::json;

use super::*;

fn anthropic_client(emulator: &AnthropicEmulator, retries: u32) -> HttpClient {
    HttpClient::new(
        HttpConfig::new("test", &emulator.base_url())
            .auth(Auth::Header {
                name: "x-api-key".into(),
                value: Secret::new(emulator.api_key()),
            })
            .header("anthropic-version", "2023-06-01")
            .max_retries(retries)
            .backoff(Duration::from_millis(10), Duration::from_millis(20)),
    )
    .unwrap()
}

#[tokio::test]
async fn basic_auth_and_default_headers_are_sent() {
    let hook = WebhookEmulator::start(WebhookFlavor::Slack).await.unwrap();
    let client = HttpClient::new(
        HttpConfig::with_secret_url("test", &Secret::new(hook.url()))
            .auth(Auth::Basic {
                user: "me@example.com".into(),
                password: Secret::new("api-token"),
            })
            .header("x-extra", "yes"),
    )
    .unwrap();
    client
        .post("notify", "")
        .json(&json!({"text": "hi"}))
        .send()
        .await
        .unwrap();
    let sent = &hook.requests()[0];
    // base64("me@example.com:api-token")
    assert_eq!(
        sent.header("authorization"),
        Some("Basic bWVAZXhhbXBsZS5jb206YXBpLXRva2Vu")
    );
    assert_eq!(sent.header("x-extra"), Some("yes"));
}

#[tokio::test]
async fn a_get_is_retried_on_server_errors_and_a_post_is_not() {
    let emulator = AnthropicEmulator::start().await.unwrap();
    let client = anthropic_client(&emulator, 2);
    emulator.push_faults(MODELS, Fault::status(503), 2);
    client.get("list", "v1/models").send().await.unwrap();
    assert_eq!(emulator.requests().len(), 3);

    emulator.reset();
    emulator.push_fault(
        aido_testkit::anthropic::MESSAGES,
        aido_testkit::anthropic::api_error(),
    );
    let err = client
        .post("create", "v1/messages")
        .json(&json!({}))
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Connection);
    assert_eq!(delivery_of(&err), Some(Delivery::Answered(500)));
    assert_eq!(emulator.requests().len(), 1);
}

#[tokio::test]
async fn a_call_that_may_have_arrived_stays_uncertain_whatever_came_after() {
    let emulator = AnthropicEmulator::start().await.unwrap();
    let client = anthropic_client(&emulator, 1);
    emulator.push_fault(MODELS, Fault::DropConnection);
    emulator.push_fault(MODELS, Fault::status(500));
    let err = client.get("list", "v1/models").send().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Connection);
    assert_eq!(delivery_of(&err), Some(Delivery::Unknown));
    assert!(err.to_string().contains("after 2 attempts"), "{err}");
}

#[tokio::test]
async fn a_retry_after_too_long_to_wait_is_returned_at_once() {
    let emulator = AnthropicEmulator::start().await.unwrap();
    let client = anthropic_client(&emulator, 3);
    emulator.push_fault(
        MODELS,
        Fault::status(429).with_header("retry-after", "3600"),
    );
    let started = Instant::now();
    let err = client.get("list", "v1/models").send().await.unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!(err.kind(), ErrorKind::RateLimited);
    assert_eq!(err.retry_after(), Some(Duration::from_secs(3600)));
    assert_eq!(emulator.requests().len(), 1);
}

#[tokio::test]
async fn the_client_side_rate_limit_spaces_requests() {
    let emulator = AnthropicEmulator::start().await.unwrap();
    let client = HttpClient::new(
        HttpConfig::new("test", &emulator.base_url())
            .auth(Auth::Header {
                name: "x-api-key".into(),
                value: Secret::new(emulator.api_key()),
            })
            .rate_limit(Some(10.0)),
    )
    .unwrap();
    let started = Instant::now();
    for _ in 0..3 {
        client.get("list", "v1/models").send().await.unwrap();
    }
    assert!(started.elapsed() >= Duration::from_millis(190));
}

#[tokio::test]
async fn json_bodies_that_do_not_fit_are_invalid_responses() {
    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    struct Expected {
        missing_field: u32,
    }
    let emulator = AnthropicEmulator::start().await.unwrap();
    let client = anthropic_client(&emulator, 0);
    let err = client
        .get("list", "v1/models")
        .send_json::<Expected>()
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidResponse);
    assert!(
        err.to_string().contains("missing field `missing_field`"),
        "{err}"
    );
    assert_eq!((err.plugin(), err.operation()), ("test", "list"));
}
