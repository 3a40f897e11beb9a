//! How relevant a file is to a task: the task's words found in the file's
//! path and content.
//!
//! Deliberately simple and deterministic (no embeddings, no index): the
//! query's terms are its lower-cased words of at least three characters,
//! minus common English and task-verb stop words. A file scores, for each
//! term, [`PATH_WEIGHT`] when the term occurs in its path (plus
//! [`STEM_BONUS`] when it is the file's whole name without extension), plus
//! the number of occurrences in its content capped at [`CONTENT_CAP`], so a
//! long file that repeats one word cannot outrank a file that matches many
//! words. READMEs and project manifests get a small boost
//! ([`README_BOOST`], [`MANIFEST_BOOST`]) because they orient a reader in any
//! task.

/// Score for a term occurring in the path.
pub const PATH_WEIGHT: f64 = 10.0;
/// Extra score when a term is the file's name without extension.
pub const STEM_BONUS: f64 = 5.0;
/// The most one term's occurrences in the content count.
pub const CONTENT_CAP: usize = 8;
/// Boost for `README*` files.
pub const README_BOOST: f64 = 3.0;
/// Boost for project manifests (`Cargo.toml`, `package.json`,
/// `pyproject.toml`, `go.mod`, `Makefile`).
pub const MANIFEST_BOOST: f64 = 2.0;

const MANIFESTS: [&str; 5] = [
    "cargo.toml",
    "package.json",
    "pyproject.toml",
    "go.mod",
    "makefile",
];

const STOP_WORDS: &[&str] = &[
    "about",
    "above",
    "added",
    "adds",
    "after",
    "again",
    "all",
    "also",
    "and",
    "any",
    "are",
    "because",
    "been",
    "before",
    "being",
    "but",
    "can",
    "could",
    "does",
    "doing",
    "each",
    "etc",
    "few",
    "fix",
    "fixed",
    "fixes",
    "for",
    "from",
    "further",
    "had",
    "has",
    "have",
    "having",
    "her",
    "here",
    "his",
    "how",
    "implement",
    "into",
    "its",
    "just",
    "like",
    "make",
    "more",
    "most",
    "must",
    "need",
    "needs",
    "new",
    "not",
    "now",
    "off",
    "once",
    "only",
    "other",
    "our",
    "out",
    "over",
    "own",
    "please",
    "same",
    "she",
    "should",
    "so",
    "some",
    "such",
    "than",
    "that",
    "the",
    "their",
    "them",
    "then",
    "there",
    "these",
    "they",
    "this",
    "those",
    "through",
    "too",
    "under",
    "until",
    "use",
    "using",
    "very",
    "via",
    "was",
    "way",
    "were",
    "what",
    "when",
    "where",
    "which",
    "while",
    "who",
    "why",
    "will",
    "with",
    "would",
    "you",
    "your",
    "add",
];

/// The query's search terms: distinct lower-cased words (letters, digits,
/// `_`) of at least three characters, stop words removed, in first-seen
/// order.
pub fn query_terms(query: &str) -> Vec<String> {
    let mut terms: Vec<String> = Vec::new();
    for word in query
        .split(|c: char| !(c.is_alphanumeric() || c == '_'))
        .map(str::to_lowercase)
    {
        if word.chars().count() >= 3
            && !STOP_WORDS.contains(&word.as_str())
            && !terms.contains(&word)
        {
            terms.push(word);
        }
    }
    terms
}

/// The relevance of the file at `path` (relative, `/`-separated) with
/// `content` to `terms` (from [`query_terms`]).
pub fn score(path: &str, content: &str, terms: &[String]) -> f64 {
    let path_lower = path.to_lowercase();
    let name = path_lower.rsplit('/').next().unwrap_or(&path_lower);
    let stem = name.split('.').next().unwrap_or(name);
    let content_lower = content.to_lowercase();
    let mut total = 0.0;
    for term in terms {
        if path_lower.contains(term.as_str()) {
            total += PATH_WEIGHT;
            if stem == term {
                total += STEM_BONUS;
            }
        }
        let occurrences = content_lower
            .match_indices(term.as_str())
            .take(CONTENT_CAP)
            .count();
        // Capped so a long file repeating one word stays behind a file
        // matching several; `as` is exact for counts this small.
        total += occurrences as f64;
    }
    if name.starts_with("readme") {
        total += README_BOOST;
    } else if MANIFESTS.contains(&name) {
        total += MANIFEST_BOOST;
    }
    total
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terms_drop_short_and_stop_words() {
        assert_eq!(
            query_terms("PROJ-12: Add rate limiting to the login API, and fix the Login form"),
            ["proj", "rate", "limiting", "login", "api", "form"]
        );
        assert!(query_terms("a to of").is_empty());
    }

    #[test]
    fn path_matches_outweigh_content_matches() {
        let terms = query_terms("login rate limit");
        let in_path = score("src/auth/login.rs", "fn handler() {}", &terms);
        let in_content = score(
            "src/other.rs",
            "login login login login login login login login login login",
            &terms,
        );
        assert!(in_path > in_content, "{in_path} vs {in_content}");
        assert_eq!(in_content, CONTENT_CAP as f64);
        assert_eq!(in_path, PATH_WEIGHT + STEM_BONUS);
    }

    #[test]
    fn readmes_and_manifests_get_a_small_boost() {
        let none: Vec<String> = Vec::new();
        assert_eq!(score("README.md", "", &none), README_BOOST);
        assert_eq!(score("Cargo.toml", "", &none), MANIFEST_BOOST);
        assert_eq!(score("web/package.json", "", &none), MANIFEST_BOOST);
        assert_eq!(score("src/main.rs", "", &none), 0.0);
    }
}
