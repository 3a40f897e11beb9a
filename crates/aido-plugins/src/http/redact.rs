//! Keeping secrets out of what the HTTP layer says: error snippets and
//! logged URLs.
//!
//! Two nets, because services echo credentials in ways we cannot predict:
//! every secret the client was configured with is replaced wherever it
//! appears, and any word that looks like a credential (a run of `*` as in
//! OpenAI's `sk-ab***yz`, or a long mix of letters and digits) is replaced
//! too, so a partially masked or a different key is not quoted either.

use reqwest::Url;

/// What replaces a secret.
pub(crate) const REDACTED: &str = "[redacted]";

/// The longest snippet of a body quoted in an error, in characters.
pub(crate) const SNIPPET_CHARS: usize = 200;

/// Runs of letters mixed with digits at least this long look like tokens.
const TOKEN_LIKE_CHARS: usize = 20;

/// Identifier prefixes of service answers that look like tokens but are
/// not secret and help support (`req_...`, `msg_...`).
const NOT_SECRET_PREFIXES: &[&str] = &["req_", "msg_", "chatcmpl-", "request_id"];

/// Cuts known secrets and credential-looking words from text.
#[derive(Clone, Default)]
pub(crate) struct Redactor {
    /// Longest first, so a secret containing another is cut whole.
    secrets: Vec<String>,
}

impl std::fmt::Debug for Redactor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The secrets themselves are exactly what must never be shown.
        write!(f, "Redactor({} secrets)", self.secrets.len())
    }
}

impl Redactor {
    /// A redactor for `secrets` (empty values are ignored).
    pub(crate) fn new<I, S>(secrets: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let mut secrets: Vec<String> = secrets
            .into_iter()
            .map(Into::into)
            .filter(|secret| !secret.trim().is_empty())
            .collect();
        secrets.sort_by_key(|secret| std::cmp::Reverse(secret.len()));
        secrets.dedup();
        Redactor { secrets }
    }

    /// A redactor that also cuts the parts of a secret URL: its path
    /// segments and query values long enough to be tokens.
    pub(crate) fn with_secret_url(mut self, url: &Url) -> Self {
        let mut parts: Vec<String> = url
            .path_segments()
            .into_iter()
            .flatten()
            .filter(|segment| segment.len() >= 8)
            .map(str::to_owned)
            .collect();
        parts.extend(
            url.query_pairs()
                .map(|(_, value)| value.into_owned())
                .filter(|value| value.len() >= 8),
        );
        let mut all = std::mem::take(&mut self.secrets);
        all.extend(parts);
        Redactor::new(all)
    }

    /// `text` with every known secret and every credential-looking word
    /// replaced by `[redacted]`.
    pub(crate) fn redact(&self, text: &str) -> String {
        let mut out = text.to_owned();
        for secret in &self.secrets {
            if out.contains(secret.as_str()) {
                out = out.replace(secret.as_str(), REDACTED);
            }
        }
        redact_token_like_words(&out)
    }

    /// A one-line, redacted quote of at most [`SNIPPET_CHARS`] characters
    /// of `body`, for an error message. Redaction happens before cutting,
    /// so a secret cannot survive half-cut.
    pub(crate) fn snippet(&self, body: &[u8]) -> String {
        let text = String::from_utf8_lossy(body);
        let one_line = text.split_whitespace().collect::<Vec<_>>().join(" ");
        truncate_chars(&self.redact(&one_line), SNIPPET_CHARS)
    }
}

/// `text` cut to `max` characters, with `…` when something was cut.
pub(crate) fn truncate_chars(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let mut cut: String = text.chars().take(max.saturating_sub(1)).collect();
    cut.push('…');
    cut
}

/// Replaces each word that looks like a credential.
fn redact_token_like_words(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut word = String::new();
    for c in text.chars() {
        if is_word_char(c) {
            word.push(c);
        } else {
            flush_word(&mut out, &mut word);
            out.push(c);
        }
    }
    flush_word(&mut out, &mut word);
    out
}

fn flush_word(out: &mut String, word: &mut String) {
    if looks_like_credential(word) {
        out.push_str(REDACTED);
    } else {
        out.push_str(word);
    }
    word.clear();
}

/// Characters credentials are made of (base64, base64url, hex, and the `*`
/// services mask them with).
fn is_word_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '*' | '+' | '/' | '=' | '.')
}

/// A masked key (`sk-ab***yz`), or a word holding a long run of letters
/// mixed with digits (API keys, tokens). Model names such as
/// `claude-sonnet-4-5-20250929` are made of short runs and are kept.
fn looks_like_credential(word: &str) -> bool {
    if word.contains("**") {
        return true;
    }
    if NOT_SECRET_PREFIXES
        .iter()
        .any(|prefix| word.starts_with(prefix))
    {
        return false;
    }
    word.split(|c: char| !c.is_ascii_alphanumeric()).any(|run| {
        run.len() >= TOKEN_LIKE_CHARS
            && run.chars().any(|c| c.is_ascii_digit())
            && run.chars().any(|c| c.is_ascii_alphabetic())
    })
}

/// The form of `url` that may be logged: scheme, host, port and path, never
/// the user info, query string or fragment (which may carry tokens). A
/// secret base URL shows only `scheme://host/[redacted]`.
pub(crate) fn loggable_url(url: &Url, secret: bool, redactor: &Redactor) -> String {
    let host = url.host_str().unwrap_or("");
    let port = url
        .port()
        .map(|port| format!(":{port}"))
        .unwrap_or_default();
    if secret {
        return format!("{}://{host}{port}/{REDACTED}", url.scheme());
    }
    let shown = format!("{}://{host}{port}{}", url.scheme(), url.path());
    redactor.redact(&shown)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_secrets_are_replaced_everywhere() {
        let redactor = Redactor::new(["abc123secret", ""]);
        assert_eq!(format!("{redactor:?}"), "Redactor(1 secrets)");
        assert_eq!(
            redactor.redact("key abc123secret and again abc123secret"),
            "key [redacted] and again [redacted]"
        );
    }

    #[test]
    fn masked_and_token_like_words_are_replaced() {
        let redactor = Redactor::default();
        let text = "Incorrect API key provided: sk-wr***ey. You can find your API key at \
                    https://platform.openai.com/account/api-keys.";
        let out = redactor.redact(text);
        assert!(!out.contains("sk-wr"), "{out}");
        assert!(
            out.contains("https://platform.openai.com/account/api-keys"),
            "{out}"
        );
        let out = redactor.redact("token ghp_1234567890abcdefghijABCDEFGHIJ used");
        assert_eq!(out, "token [redacted] used");
        // Model names are made of short runs and stay readable.
        let out = redactor.redact("model claude-sonnet-4-5-20250929 is unknown");
        assert!(out.contains("claude-sonnet-4-5-20250929"), "{out}");
        // Request ids are kept: support needs them.
        let out = redactor.redact("request_id req_011CYhr1kdGzCrPHfrhibMen");
        assert!(out.contains("req_011CYhr1kdGzCrPHfrhibMen"), "{out}");
    }

    #[test]
    fn snippets_are_one_line_short_and_redacted_before_cutting() {
        let secret = "s3cr3t-value-that-is-long";
        let redactor = Redactor::new([secret]);
        let body = format!("{}{secret}\n\nmore", "x ".repeat(95));
        let snippet = redactor.snippet(body.as_bytes());
        assert!(snippet.chars().count() <= SNIPPET_CHARS, "{snippet}");
        assert!(!snippet.contains("s3cr3t"), "{snippet}");
        assert!(!snippet.contains('\n'));
    }

    #[test]
    fn secret_urls_show_only_their_host() {
        let url = Url::parse("https://hooks.slack.com/services/T0/B0/XyZsecretToken?x=1").unwrap();
        let redactor = Redactor::default().with_secret_url(&url);
        assert_eq!(
            loggable_url(&url, true, &redactor),
            "https://hooks.slack.com/[redacted]"
        );
        assert!(!redactor.redact("posted to XyZsecretToken").contains("XyZ"));
    }

    #[test]
    fn public_urls_lose_their_query_string() {
        let url = Url::parse("http://user:pw@127.0.0.1:8080/v1/messages?key=abc#x").unwrap();
        assert_eq!(
            loggable_url(&url, false, &Redactor::default()),
            "http://127.0.0.1:8080/v1/messages"
        );
    }
}
