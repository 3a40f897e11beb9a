//! Text search over pages: case-insensitive, every word must appear in the
//! title or the content, title matches ranked first, with an excerpt around
//! the first match in the content.

/// Characters of context kept before a match in an excerpt.
const EXCERPT_BEFORE: usize = 60;

/// Characters kept from the match on in an excerpt.
const EXCERPT_AFTER: usize = 120;

/// One document that matched.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Hit {
    /// Its position in the searched slice.
    pub(crate) index: usize,
    /// Text around the first match (or the content's start).
    pub(crate) excerpt: String,
}

/// How well a document matched; lower is better.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Rank {
    /// The title holds the whole query.
    TitlePhrase,
    /// The title holds some of the query's words.
    TitleWord,
    /// Only the content matched.
    Content,
}

/// The documents (`(title, content)`) holding every word of `query`, best
/// first; documents of equal rank keep their order.
pub(crate) fn search(query: &str, documents: &[(&str, &str)]) -> Vec<Hit> {
    let words: Vec<String> = query
        .split_whitespace()
        .map(|word| fold(word).text)
        .collect();
    if words.is_empty() {
        return Vec::new();
    }
    let phrase = words.join(" ");
    let mut ranked: Vec<(Rank, Hit)> = documents
        .iter()
        .enumerate()
        .filter_map(|(index, (title, content))| {
            let title = fold(title).text;
            let content_folded = fold(content);
            let found = |word: &String| {
                title.contains(word.as_str()) || content_folded.text.contains(word.as_str())
            };
            if !words.iter().all(found) {
                return None;
            }
            let rank = if title.contains(&phrase) {
                Rank::TitlePhrase
            } else if words.iter().any(|word| title.contains(word.as_str())) {
                Rank::TitleWord
            } else {
                Rank::Content
            };
            let excerpt = excerpt(content, &content_folded, &phrase, &words);
            Some((rank, Hit { index, excerpt }))
        })
        .collect();
    ranked.sort_by_key(|(rank, _)| *rank);
    ranked.into_iter().map(|(_, hit)| hit).collect()
}

/// Lower-cased text that remembers where each of its bytes came from, since
/// lower-casing can change lengths (`İ` becomes two characters).
struct Folded {
    text: String,
    /// For each byte of `text`, and one past its end, the byte offset in
    /// the original text.
    origin: Vec<usize>,
}

fn fold(original: &str) -> Folded {
    let mut text = String::with_capacity(original.len());
    let mut origin = Vec::with_capacity(original.len() + 1);
    for (offset, c) in original.char_indices() {
        for lower in c.to_lowercase() {
            text.push(lower);
            origin.resize(text.len(), offset);
        }
    }
    origin.push(original.len());
    Folded { text, origin }
}

/// Text around the phrase, or else around the earliest word, in `content`.
fn excerpt(content: &str, folded: &Folded, phrase: &str, words: &[String]) -> String {
    let position = folded.text.find(phrase).or_else(|| {
        words
            .iter()
            .filter_map(|word| folded.text.find(word.as_str()))
            .min()
    });
    let start = position.map_or(0, |at| folded.origin[at]);
    window(content, start)
}

/// About `EXCERPT_BEFORE` characters before byte `at` and `EXCERPT_AFTER`
/// from it, whitespace collapsed, `…` where text was cut.
fn window(content: &str, at: usize) -> String {
    let before: Vec<(usize, char)> = content[..at].char_indices().collect();
    let from = before
        .len()
        .checked_sub(EXCERPT_BEFORE)
        .map_or(0, |i| before[i].0);
    let to = content[at..]
        .char_indices()
        .nth(EXCERPT_AFTER)
        .map_or(content.len(), |(i, _)| at + i);
    let body = content[from..to]
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    let mut excerpt = String::new();
    if from > 0 {
        excerpt.push('…');
    }
    excerpt.push_str(&body);
    if to < content.len() {
        excerpt.push('…');
    }
    excerpt
}

#[cfg(test)]
mod tests {
    use super::*;

    fn indexes(hits: &[Hit]) -> Vec<usize> {
        hits.iter().map(|hit| hit.index).collect()
    }

    #[test]
    fn title_matches_rank_before_content_matches() {
        let docs = [
            ("Setup", "How to deploy the service."),
            ("Deploy guide", "Steps."),
            ("Rollback", "If a deploy fails, roll back."),
            ("How to deploy", "Read this."),
            ("Unrelated", "Nothing here."),
        ];
        assert_eq!(indexes(&search("deploy", &docs)), [1, 3, 0, 2]);
        assert_eq!(indexes(&search("to deploy", &docs)), [3, 0]);
    }

    #[test]
    fn every_word_must_match_somewhere_case_insensitively() {
        let docs = [("API", "The REST endpoints."), ("Rest", "Breaks.")];
        assert_eq!(indexes(&search("api ENDPOINTS", &docs)), [0]);
        assert!(search("api graphql", &docs).is_empty());
        assert!(search("   ", &docs).is_empty());
    }

    #[test]
    fn excerpts_surround_the_first_match_with_the_original_case() {
        let content = format!(
            "{}The Needle is here.\n\nAnd {}",
            "word ".repeat(40),
            "more ".repeat(60)
        );
        let hits = search("needle", &[("Doc", content.as_str())]);
        let excerpt = &hits[0].excerpt;
        assert!(
            excerpt.starts_with('…') && excerpt.ends_with('…'),
            "{excerpt}"
        );
        assert!(
            excerpt.contains("The Needle is here. And more"),
            "{excerpt}"
        );
        assert!(excerpt.chars().count() <= EXCERPT_BEFORE + EXCERPT_AFTER + 2);
    }

    #[test]
    fn a_title_only_match_shows_the_start_of_the_content() {
        let hits = search("intro", &[("Intro", "First words. Second words.")]);
        assert_eq!(hits[0].excerpt, "First words. Second words.");
    }

    #[test]
    fn folding_that_changes_lengths_keeps_excerpts_on_the_right_text() {
        // `İ` lower-cases to two characters, so folded offsets drift.
        let content = "İİİİ before the Target after";
        let hits = search("target", &[("x", content)]);
        assert_eq!(hits[0].excerpt, content);
        let folded = fold(content);
        let at = folded.text.find("target").unwrap();
        assert_eq!(&content[folded.origin[at]..], "Target after");
    }
}
