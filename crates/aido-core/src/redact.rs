//! Keeping secret values out of everything aido prints.
//!
//! Secrets are typed ([`aido_plugin_api::Secret`]) and error messages never
//! quote configuration values; this is the second line of defence. Once the
//! configuration is loaded, every secret value it holds is registered here,
//! and the log writer and the CLI's output pass their text through
//! [`redact`] before it reaches a terminal or a file.

use std::borrow::Cow;
use std::sync::RwLock;

/// What a secret is replaced with.
pub const REDACTED: &str = "[redacted]";

/// Secrets shorter than this are not redacted by value: replacing every
/// `true` or `1234` in the output would garble it and protect nothing.
const MIN_SECRET_LEN: usize = 6;

static SECRETS: RwLock<Vec<String>> = RwLock::new(Vec::new());

/// Registers values to keep out of all output from now on.
pub fn register_secrets<I: IntoIterator<Item = String>>(values: I) {
    let mut secrets = SECRETS
        .write()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    for value in values {
        if value.len() >= MIN_SECRET_LEN && !secrets.contains(&value) {
            secrets.push(value);
        }
    }
    // Longest first, so a secret that contains another is replaced whole.
    secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
}

/// `text` with every registered secret replaced by `[redacted]`.
pub fn redact(text: &str) -> Cow<'_, str> {
    let secrets = SECRETS
        .read()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    if secrets.is_empty() || !secrets.iter().any(|s| text.contains(s.as_str())) {
        return Cow::Borrowed(text);
    }
    let mut out = text.to_owned();
    for secret in secrets.iter() {
        if out.contains(secret.as_str()) {
            out = out.replace(secret.as_str(), REDACTED);
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registered_values_are_replaced_everywhere() {
        register_secrets(["xoxb-redact-test-123".to_owned(), "tiny".to_owned()]);
        assert_eq!(
            redact("token=xoxb-redact-test-123 and again xoxb-redact-test-123"),
            "token=[redacted] and again [redacted]"
        );
        assert_eq!(redact("tiny stays"), "tiny stays");
    }
}
