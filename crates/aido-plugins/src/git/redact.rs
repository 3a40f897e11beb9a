//! Keeps credentials out of everything the plugin says.
//!
//! Git URLs may carry credentials (`https://user:token@host/repo.git`), and
//! git repeats them in its own messages. Every URL or git message that ends
//! up in a log line, an error or an output passes through here first, so a
//! token never leaves the process that was given it.

/// What replaces the user-info part of a URL.
const REDACTED: &str = "[redacted]";

/// `url` with any user-info replaced: `https://user:token@host/x` becomes
/// `https://[redacted]@host/x`. URLs without credentials, local paths and
/// scp-like addresses (`git@host:path`, whose user is not a secret) are
/// returned unchanged.
pub(crate) fn redact_url(url: &str) -> String {
    redact_text(url)
}

/// `text` with the user-info of every `scheme://user@host` URL in it
/// replaced, wherever the URLs appear (quoted, inside a sentence, at the end
/// of a line). Used on git's stderr, which quotes remote URLs verbatim.
pub(crate) fn redact_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(pos) = rest.find("://") {
        let authority_start = pos + 3;
        out.push_str(&rest[..authority_start]);
        let after = &rest[authority_start..];
        let authority_len = after.find(ends_authority).unwrap_or(after.len());
        let authority = &after[..authority_len];
        match authority.rfind('@') {
            // The user-info is everything before the last `@` of the
            // authority; a password may itself contain an (encoded) `@`.
            Some(at) => {
                out.push_str(REDACTED);
                out.push_str(&authority[at..]);
            }
            None => out.push_str(authority),
        }
        rest = &after[authority_len..];
    }
    out.push_str(rest);
    out
}

/// Whether `c` ends a URL's authority: the path, query or fragment starts,
/// or the URL itself ends (whitespace, quotes, brackets in prose).
fn ends_authority(c: char) -> bool {
    matches!(
        c,
        '/' | '?' | '#' | '\'' | '"' | '<' | '>' | '`' | '(' | ')'
    ) || c.is_whitespace()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_and_token_are_redacted() {
        assert_eq!(
            redact_url("https://user:token@example.com/org/repo.git"),
            "https://[redacted]@example.com/org/repo.git"
        );
    }

    #[test]
    fn token_only_user_info_is_redacted() {
        assert_eq!(
            redact_url("https://ghp_abc123@github.com/o/r"),
            "https://[redacted]@github.com/o/r"
        );
        assert_eq!(
            redact_url("http://u:p@host:8080"),
            "http://[redacted]@host:8080"
        );
    }

    #[test]
    fn urls_without_credentials_are_unchanged() {
        for url in [
            "https://example.com/org/repo.git",
            "https://example.com/path/with@sign",
            "file:///tmp/repo.git",
            "/srv/git/repo.git",
            "git@github.com:org/repo.git",
            "ssh://git@host/repo",
        ] {
            let expected = if url.starts_with("ssh://") {
                "ssh://[redacted]@host/repo"
            } else {
                url
            };
            assert_eq!(redact_url(url), expected, "{url}");
        }
    }

    #[test]
    fn passwords_with_encoded_at_signs_are_fully_redacted() {
        let redacted = redact_url("https://me:p%40ss@w0rd@host/repo");
        assert_eq!(redacted, "https://[redacted]@host/repo");
    }

    #[test]
    fn every_url_in_a_message_is_redacted() {
        let stderr = "fatal: unable to access 'https://bob:s3cret@git.example.com/r.git/': \
                      Could not resolve host: git.example.com\n\
                      hint: see also https://alice:hunter2@mirror.example.com";
        let redacted = redact_text(stderr);
        assert!(!redacted.contains("s3cret"), "{redacted}");
        assert!(!redacted.contains("hunter2"), "{redacted}");
        assert!(!redacted.contains("bob"), "{redacted}");
        assert!(
            redacted.contains("'https://[redacted]@git.example.com/r.git/'"),
            "{redacted}"
        );
        assert!(
            redacted.ends_with("https://[redacted]@mirror.example.com"),
            "{redacted}"
        );
    }

    #[test]
    fn text_without_urls_is_unchanged() {
        let text = "error: pathspec 'a@b' did not match any file(s) known to git";
        assert_eq!(redact_text(text), text);
    }
}
