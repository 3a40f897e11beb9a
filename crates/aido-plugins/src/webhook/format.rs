//! What each service's incoming webhook expects and answers.
//!
//! - Slack: `{"text": ...}`, with `thread_ts` to reply in a thread;
//!   answers `200 ok`. Slack cuts messages past 40,000 characters.
//! - Discord: `{"content": ...}` (at most 2,000 characters), posted with
//!   `?wait=true` so the answer is the created message and its id (without
//!   it Discord answers `204` and no id); `?thread_id=` posts in a thread.
//! - Teams: an Adaptive Card holding the text in a `{"type": "message",
//!   "attachments": [...]}` envelope, the form both the classic Incoming
//!   Webhook connector and its replacement, Power Automate's "post to a
//!   channel when a webhook request is received" workflow, accept (answers
//!   `200 1` and `202` respectively). Webhooks cannot reply in threads.

use aido_plugin_api::{Error, Result};
use serde_json::{Value, json};

use super::config::WebhookFormat;

/// A service's payload shape, resolved from the configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Service {
    /// Slack.
    Slack,
    /// Discord.
    Discord,
    /// Microsoft Teams.
    Teams,
}

impl Service {
    /// The service of a configured format (`auto` already resolved).
    pub(super) fn of(format: WebhookFormat) -> Option<Service> {
        match format {
            WebhookFormat::Auto => None,
            WebhookFormat::Slack => Some(Service::Slack),
            WebhookFormat::Discord => Some(Service::Discord),
            WebhookFormat::Teams => Some(Service::Teams),
        }
    }

    /// Its name, for messages.
    pub(super) fn name(self) -> &'static str {
        match self {
            Service::Slack => "Slack",
            Service::Discord => "Discord",
            Service::Teams => "Teams",
        }
    }

    /// The longest text one message may hold, in characters.
    pub(super) fn max_chars(self) -> usize {
        match self {
            Service::Slack => 40_000,
            Service::Discord => 2_000,
            // Teams refuses payloads over about 28 KB; the card's envelope
            // and JSON escaping need room.
            Service::Teams => 20_000,
        }
    }

    /// The JSON body posting `text`, in the thread `thread` if any.
    pub(super) fn payload(self, text: &str, thread: Option<&str>) -> Result<Value> {
        Ok(match self {
            Service::Slack => match thread {
                Some(thread) => json!({"text": text, "thread_ts": thread}),
                None => json!({"text": text}),
            },
            Service::Discord => json!({"content": text}),
            Service::Teams => {
                if thread.is_some() {
                    return Err(Error::unsupported(
                        "Teams incoming webhooks cannot reply in a thread; send the message \
                         without thread_id",
                    ));
                }
                json!({
                    "type": "message",
                    "attachments": [{
                        "contentType": "application/vnd.microsoft.card.adaptive",
                        "contentUrl": null,
                        "content": {
                            "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
                            "type": "AdaptiveCard",
                            "version": "1.4",
                            "body": [{"type": "TextBlock", "text": text, "wrap": true}]
                        }
                    }]
                })
            }
        })
    }

    /// Query parameters of the post: Discord's `wait` (to get the message
    /// back) and `thread_id`.
    pub(super) fn query(self, thread: Option<&str>) -> Vec<(&'static str, String)> {
        match self {
            Service::Discord => {
                let mut query = vec![("wait", "true".to_owned())];
                if let Some(thread) = thread {
                    query.push(("thread_id", thread.to_owned()));
                }
                query
            }
            Service::Slack | Service::Teams => Vec::new(),
        }
    }

    /// The message id in a successful answer, when the service sends one
    /// (Discord's created message).
    pub(super) fn message_id(self, body: &[u8]) -> Option<String> {
        match self {
            Service::Discord => serde_json::from_slice::<Value>(body)
                .ok()?
                .get("id")?
                .as_str()
                .map(str::to_owned),
            Service::Slack | Service::Teams => None,
        }
    }
}

/// `text` cut to `max` characters with a note saying how much was cut.
pub(super) fn fit(text: &str, max: usize) -> (String, bool) {
    let total = text.chars().count();
    if total <= max {
        return (text.to_owned(), false);
    }
    let note_room = 40;
    let keep = max.saturating_sub(note_room);
    let mut cut: String = text.chars().take(keep).collect();
    cut.push_str(&format!("\n… [{} characters cut]", total - keep));
    (cut, true)
}

/// A file's text as a message: the comment, the file's name (and title),
/// and its content in a code block fenced so the content cannot close it.
pub(super) fn file_message(
    filename: &str,
    title: Option<&str>,
    comment: Option<&str>,
    content: &str,
) -> String {
    let longest_run = content
        .lines()
        .map(|line| line.trim_start().chars().take_while(|c| *c == '`').count())
        .max()
        .unwrap_or(0);
    let fence = "`".repeat(longest_run.max(2) + 1);
    let mut text = String::new();
    if let Some(comment) = comment.filter(|c| !c.trim().is_empty()) {
        text.push_str(comment.trim_end());
        text.push_str("\n\n");
    }
    match title.filter(|t| !t.trim().is_empty()) {
        Some(title) => text.push_str(&format!("{title} (`{filename}`):\n")),
        None => text.push_str(&format!("`{filename}`:\n")),
    }
    text.push_str(&format!(
        "{fence}\n{}\n{fence}",
        content.trim_end_matches('\n')
    ));
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payloads_have_each_service_shape() {
        assert_eq!(
            Service::Slack.payload("hi", None).unwrap(),
            json!({"text": "hi"})
        );
        assert_eq!(
            Service::Slack.payload("hi", Some("123.45")).unwrap(),
            json!({"text": "hi", "thread_ts": "123.45"})
        );
        assert_eq!(
            Service::Discord.payload("hi", Some("9")).unwrap(),
            json!({"content": "hi"})
        );
        assert_eq!(
            Service::Discord.query(Some("9")),
            [("wait", "true".to_owned()), ("thread_id", "9".to_owned())]
        );
        let card = Service::Teams.payload("hi", None).unwrap();
        assert_eq!(card["type"], "message");
        assert_eq!(
            card["attachments"][0]["contentType"],
            "application/vnd.microsoft.card.adaptive"
        );
        assert_eq!(card["attachments"][0]["content"]["body"][0]["text"], "hi");
        assert!(Service::Teams.payload("hi", Some("1")).is_err());
    }

    #[test]
    fn long_texts_are_cut_with_a_note() {
        let (text, cut) = fit(&"x".repeat(3000), 2000);
        assert!(cut);
        assert!(text.chars().count() <= 2000);
        assert!(text.ends_with("[1040 characters cut]"), "{text}");
        assert_eq!(fit("short", 2000), ("short".to_owned(), false));
    }

    #[test]
    fn files_become_fenced_blocks_that_their_content_cannot_close() {
        let text = file_message("notes.md", Some("Notes"), Some("See:"), "a\n```\nb\n");
        assert_eq!(text, "See:\n\nNotes (`notes.md`):\n````\na\n```\nb\n````");
    }

    #[test]
    fn discord_answers_carry_the_message_id() {
        assert_eq!(
            Service::Discord.message_id(br#"{"id": "123", "content": "x"}"#),
            Some("123".to_owned())
        );
        assert_eq!(Service::Discord.message_id(b"not json"), None);
        assert_eq!(Service::Slack.message_id(b"ok"), None);
    }
}
