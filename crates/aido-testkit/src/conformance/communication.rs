//! The `communication` suite.

use serde_json::json;

use aido_plugin_api::{CallContext, PluginInstance};

use super::{Report, expect, keyed, text};

/// Checks a connected chat: messages (once per idempotency key), threads,
/// channels, direct messages and files (each may be unsupported).
pub async fn communication(plugin: &PluginInstance) -> Report {
    let mut report = Report::new(plugin);
    let cx = CallContext::detached();
    let sent = plugin
        .call(
            &keyed("message"),
            "send_message",
            json!({ "text": "Conformance message" }),
        )
        .await;
    let message = match sent {
        Ok(message) => message,
        Err(err) => {
            report.fail("send_message posts a message", err.to_string());
            return report;
        }
    };
    let id = text(&message, "id").to_owned();
    report.record(
        "send_message posts a message and returns its id and channel",
        Ok(expect(
            !id.is_empty() && !text(&message, "channel").is_empty(),
            || format!("got {message}"),
        )),
    );
    let again = plugin
        .call(
            &keyed("message"),
            "send_message",
            json!({ "text": "Conformance message" }),
        )
        .await
        .map(|m| {
            expect(text(&m, "id") == id, || {
                format!("the same key posted again as {}", text(&m, "id"))
            })
        });
    report.record(
        "send_message with the same idempotency key posts once",
        again,
    );

    let channel = text(&message, "channel").to_owned();
    let reply = plugin
        .call(
            &keyed("reply"),
            "send_message",
            json!({ "channel": channel, "text": "A reply", "thread_id": id }),
        )
        .await
        .map(|m| {
            expect(
                m.get("thread_id").and_then(|t| t.as_str()) == Some(id.as_str()),
                || format!("got {m}"),
            )
        });
    report.record("send_message replies in a thread", reply);

    let info = plugin
        .call(&cx, "get_channel_info", json!({ "channel": channel }))
        .await
        .map(|c| expect(!text(&c, "id").is_empty(), || format!("got {c}")));
    report.record("get_channel_info describes the channel", info);

    let dm = plugin
        .call(
            &keyed("dm"),
            "send_direct_message",
            json!({ "user": "conformance@example.com", "text": "Hi" }),
        )
        .await;
    report.record(
        "send_direct_message sends a message",
        dm.map(|m| expect(!text(&m, "id").is_empty(), || format!("got {m}"))),
    );

    let file = plugin
        .call(
            &keyed("file"),
            "upload_file",
            json!({ "channel": channel, "filename": "conformance.txt", "content": "hello" }),
        )
        .await
        .map(|f| {
            expect(text(&f, "name").contains("conformance"), || {
                format!("got {f}")
            })
        });
    report.record("upload_file shares a file", file);
    report
}
