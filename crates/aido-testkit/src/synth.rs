//! Values the emulators make up the way the services do: identifiers,
//! timestamps, API keys and token counts.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// Counter shared by every emulator in the process, so identifiers differ
/// between emulators too.
static NEXT: AtomicU64 = AtomicU64::new(1);

/// A fresh number.
pub(crate) fn next_number() -> u64 {
    NEXT.fetch_add(1, Ordering::Relaxed)
}

/// An identifier with the service's prefix (`msg_`, `chatcmpl-`, `req_`).
pub(crate) fn id(prefix: &str) -> String {
    format!("{prefix}emu{:012}", next_number())
}

/// Seconds since the Unix epoch.
pub(crate) fn unix_seconds() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|elapsed| elapsed.as_secs())
        .unwrap_or(0)
}

/// A random-looking API key with the service's prefix. Unique per process
/// and time; not a secret worth protecting, just one a test cannot guess
/// by accident.
pub(crate) fn api_key(prefix: &str) -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|elapsed| elapsed.as_nanos())
        .unwrap_or(0);
    let mixed = (nanos as u64)
        .wrapping_mul(0x9E37_79B9_7F4A_7C15)
        .rotate_left(17)
        ^ next_number().wrapping_mul(0xBF58_476D_1CE4_E5B9);
    format!("{prefix}emu-{mixed:016x}{:08x}", std::process::id())
}

/// Tokens in `text`, as the emulators count them: one per four
/// characters, rounded up (the usual rule of thumb for English and code).
pub(crate) fn tokens(text: &str) -> u64 {
    (text.chars().count() as u64).div_ceil(4)
}

/// The longest prefix of `text` that fits in `max_tokens` tokens.
pub(crate) fn cut_to_tokens(text: &str, max_tokens: u64) -> String {
    let keep = usize::try_from(max_tokens.saturating_mul(4)).unwrap_or(usize::MAX);
    text.chars().take(keep).collect()
}

/// `text` cut before the first of `stops` it contains, and that stop.
pub(crate) fn cut_at_stop(text: &str, stops: &[String]) -> Option<(String, String)> {
    stops
        .iter()
        .filter(|stop| !stop.is_empty())
        .filter_map(|stop| text.find(stop.as_str()).map(|at| (at, stop)))
        .min_by_key(|(at, _)| *at)
        .map(|(at, stop)| (text[..at].to_owned(), stop.clone()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_unique_and_prefixed() {
        let a = id("msg_");
        let b = id("msg_");
        assert!(a.starts_with("msg_") && a != b);
        assert_ne!(api_key("sk-"), api_key("sk-"));
    }

    #[test]
    fn tokens_and_cuts() {
        assert_eq!(tokens("abcde"), 2);
        assert_eq!(cut_to_tokens("abcdefghij", 2), "abcdefgh");
        let stops = vec!["END".to_owned(), "b".to_owned()];
        assert_eq!(
            cut_at_stop("aaEND b", &stops),
            Some(("aa".to_owned(), "END".to_owned()))
        );
        assert_eq!(cut_at_stop("xyz", &stops), None);
    }
}
