//! The `webhook` plugin's configuration.

use aido_plugin_api::{ConfigProblem, Secret};
use reqwest::Url;
use schemars::JsonSchema;
use serde::Deserialize;

use crate::http::check_base_url;

/// The channel name reported unless configured.
const DEFAULT_CHANNEL: &str = "webhook";
/// Seconds one attempt may take: a webhook answers in well under a second.
const DEFAULT_TIMEOUT_SECONDS: u64 = 30;
/// Retries of a post refused with 429 or that could not connect.
const DEFAULT_MAX_RETRIES: u32 = 2;

/// Configuration of the `webhook` plugin.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct WebhookConfig {
    /// Where messages are posted.
    pub(super) connection: WebhookConnection,
    /// How messages are written.
    #[serde(default)]
    pub(super) options: WebhookOptions,
}

/// Where the `webhook` plugin posts.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct WebhookConnection {
    /// The incoming-webhook URL (`WEBHOOK_URL`). It embeds the hook's token,
    /// so it is a secret: never logged nor shown.
    pub(super) url: Secret,
}

/// Which service's payload to send.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub(super) enum WebhookFormat {
    /// Tell from the URL's host: hooks.slack.com, discord.com, or a Teams
    /// (webhook.office.com) or Power Automate workflow host.
    #[default]
    Auto,
    /// Slack: `{"text": ...}`.
    Slack,
    /// Discord: `{"content": ...}`.
    Discord,
    /// Microsoft Teams: an Adaptive Card in a `message` envelope.
    Teams,
}

/// How the `webhook` plugin writes messages.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct WebhookOptions {
    /// The service the URL belongs to.
    #[serde(default)]
    pub(super) format: WebhookFormat,
    /// The name of the channel the hook posts to, as reported by
    /// `get_channel_info` and on sent messages. A webhook posts to one
    /// channel only, fixed when the hook was made.
    #[serde(default = "default_channel")]
    pub(super) channel: String,
    /// Seconds one attempt may take.
    #[serde(default = "default_timeout_seconds")]
    pub(super) timeout_seconds: u64,
    /// Retries of a post refused with 429 or that could not connect. Other
    /// failures are not retried: the post may have arrived.
    #[serde(default = "default_max_retries")]
    pub(super) max_retries: u32,
}

impl Default for WebhookOptions {
    fn default() -> Self {
        WebhookOptions {
            format: WebhookFormat::Auto,
            channel: default_channel(),
            timeout_seconds: default_timeout_seconds(),
            max_retries: default_max_retries(),
        }
    }
}

fn default_channel() -> String {
    DEFAULT_CHANNEL.to_owned()
}

fn default_timeout_seconds() -> u64 {
    DEFAULT_TIMEOUT_SECONDS
}

fn default_max_retries() -> u32 {
    DEFAULT_MAX_RETRIES
}

/// The service a webhook URL belongs to, from its host.
pub(super) fn infer_format(url: &str) -> Option<WebhookFormat> {
    let url = Url::parse(url.trim()).ok()?;
    let host = url.host_str()?.to_ascii_lowercase();
    let is = |domain: &str| host == domain || host.ends_with(&format!(".{domain}"));
    if is("slack.com") {
        Some(WebhookFormat::Slack)
    } else if is("discord.com") || is("discordapp.com") {
        Some(WebhookFormat::Discord)
    } else if is("webhook.office.com")
        || is("logic.azure.com")
        || is("powerplatform.com")
        || is("powerautomate.com")
    {
        Some(WebhookFormat::Teams)
    } else {
        None
    }
}

/// The channel name without a leading `#`.
pub(super) fn normalize_channel(name: &str) -> String {
    name.trim().trim_start_matches('#').to_owned()
}

/// Every problem a schema cannot express. Never quotes the URL.
pub(super) fn check_config(config: &WebhookConfig) -> Vec<ConfigProblem> {
    let mut problems = Vec::new();
    let url = config.connection.url.expose();
    let url_problem = check_base_url("connection.url", url, true);
    let url_ok = url_problem.is_none();
    problems.extend(url_problem);
    if url_ok && config.options.format == WebhookFormat::Auto && infer_format(url).is_none() {
        problems.push(ConfigProblem::new(
            "options.format",
            "cannot tell the service from the URL's host; set slack, discord or teams",
        ));
    }
    if normalize_channel(&config.options.channel).is_empty() {
        problems.push(ConfigProblem::new(
            "options.channel",
            "must name the channel the hook posts to",
        ));
    }
    if config.options.timeout_seconds == 0 {
        problems.push(ConfigProblem::new(
            "options.timeout_seconds",
            "must be at least 1 second",
        ));
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_are_inferred_from_known_hosts() {
        let cases = [
            (
                "https://hooks.slack.com/services/T0/B0/x",
                Some(WebhookFormat::Slack),
            ),
            (
                "https://discord.com/api/webhooks/1/x",
                Some(WebhookFormat::Discord),
            ),
            (
                "https://discordapp.com/api/webhooks/1/x",
                Some(WebhookFormat::Discord),
            ),
            (
                "https://contoso.webhook.office.com/webhookb2/x",
                Some(WebhookFormat::Teams),
            ),
            (
                "https://prod-1.westus.logic.azure.com:443/workflows/x",
                Some(WebhookFormat::Teams),
            ),
            ("https://notdiscord.com/x", None),
            ("http://127.0.0.1:9/hooks/1/x", None),
        ];
        for (url, format) in cases {
            assert_eq!(infer_format(url), format, "{url}");
        }
    }
}
