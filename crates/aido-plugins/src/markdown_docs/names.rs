//! Names that become file names: space keys, page slugs and page ids.
//!
//! Every name is checked before it touches a path, so no input can reach a
//! file outside the documentation folder (`..`, `/`, a leading `.`).

use std::fmt;

use aido_plugin_api::{Error, Result};

/// The longest slug made from a title, in characters.
const MAX_SLUG_CHARS: usize = 60;

/// The longest space key, in characters.
const MAX_SPACE_KEY_CHARS: usize = 64;

/// A page id: `<space>/<slug>`, which is also where the page lives.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct PageId {
    pub(crate) space: String,
    pub(crate) slug: String,
}

impl PageId {
    /// Parses `<space>/<slug>`.
    pub(crate) fn parse(id: &str) -> Result<PageId> {
        let parsed = id
            .split_once('/')
            .filter(|(space, slug)| is_space_key(space) && is_slug(slug));
        match parsed {
            Some((space, slug)) => Ok(PageId {
                space: space.to_owned(),
                slug: slug.to_owned(),
            }),
            None => Err(Error::invalid_input(format!(
                "`{id}` is not a page id of the Markdown documentation; ids look like `<space>/<slug>`, such as `eng/release-notes`"
            ))),
        }
    }
}

impl fmt::Display for PageId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.space, self.slug)
    }
}

/// Checks a space key: ASCII letters, digits, `-` and `_`, starting with a
/// letter or digit.
pub(crate) fn check_space_key(key: &str) -> Result<()> {
    if is_space_key(key) {
        Ok(())
    } else {
        Err(Error::invalid_input(format!(
            "`{key}` is not a valid space key; use up to {MAX_SPACE_KEY_CHARS} ASCII letters, digits, `-` or `_`, starting with a letter or digit, such as `eng`"
        )))
    }
}

/// Whether `key` is a valid space key.
pub(crate) fn is_space_key(key: &str) -> bool {
    key.chars().count() <= MAX_SPACE_KEY_CHARS
        && key.starts_with(|c: char| c.is_ascii_alphanumeric())
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

/// Whether `slug` could have come from [`slugify`] (or be written by hand in
/// the same alphabet).
pub(crate) fn is_slug(slug: &str) -> bool {
    slug.starts_with(char::is_alphanumeric)
        && slug
            .chars()
            .all(|c| c.is_alphanumeric() || c == '-' || c == '_')
}

/// The file-name form of a title: lower case, letters and digits kept
/// (accented ones too), every other run of characters one `-`.
pub(crate) fn slugify(title: &str) -> String {
    let mut slug = String::new();
    for c in title.chars().flat_map(char::to_lowercase) {
        if c.is_alphanumeric() {
            slug.push(c);
        } else if !slug.is_empty() && !slug.ends_with('-') {
            slug.push('-');
        }
    }
    let shortened: String = slug.chars().take(MAX_SLUG_CHARS).collect();
    let trimmed = shortened.trim_end_matches('-');
    if trimmed.is_empty() {
        "page".to_owned()
    } else {
        trimmed.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_are_lower_case_words_joined_by_dashes() {
        assert_eq!(slugify("Release Notes 2.0"), "release-notes-2-0");
        assert_eq!(slugify("  What's new?! "), "what-s-new");
        assert_eq!(slugify("Überblick & Größe"), "überblick-größe");
        assert_eq!(slugify("!!!"), "page");
        assert_eq!(
            slugify(&"long ".repeat(40)).chars().count(),
            59,
            "cut at 60, trailing dash dropped"
        );
    }

    #[test]
    fn every_slug_is_a_valid_slug() {
        for title in [
            "a",
            "../etc/passwd",
            ".hidden",
            "tab\there",
            "x/y\\z",
            "日本語のページ",
        ] {
            let slug = slugify(title);
            assert!(is_slug(&slug), "{title:?} -> {slug:?}");
        }
    }

    #[test]
    fn page_ids_name_a_space_and_a_slug() {
        let id = PageId::parse("eng/release-notes").unwrap();
        assert_eq!(
            (id.space.as_str(), id.slug.as_str()),
            ("eng", "release-notes")
        );
        assert_eq!(id.to_string(), "eng/release-notes");
    }

    #[test]
    fn page_ids_cannot_reach_outside_the_folder() {
        for bad in [
            "eng",
            "eng/",
            "/x",
            "eng/../x",
            "../eng/x",
            "eng/.history",
            "eng/a/b",
            ".eng/x",
            "eng/a.md",
        ] {
            let err = PageId::parse(bad).unwrap_err();
            assert!(err.message().contains("<space>/<slug>"), "{bad}: {err}");
        }
    }

    #[test]
    fn space_keys_are_plain_ascii_names() {
        assert!(check_space_key("eng_2-docs").is_ok());
        for bad in ["", "-x", ".x", "a b", "a/b", "é"] {
            assert!(check_space_key(bad).is_err(), "{bad:?}");
        }
    }
}
