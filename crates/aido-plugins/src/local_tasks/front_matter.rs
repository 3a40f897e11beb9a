//! Markdown files with YAML front matter: the file format of the local task
//! tracker and of the Markdown documentation pages.
//!
//! A file is a `---` line, a YAML mapping, a closing `---` line, then the
//! Markdown body:
//!
//! ```text
//! ---
//! id: TASK-1
//! title: Fix the login form
//! ---
//!
//! The body, Markdown.
//! ```
//!
//! The blank line after the closing `---` is written for readability and
//! dropped on reading, so a body survives a write/read round trip byte for
//! byte, and a hand-written file without the blank line reads the same.

use std::path::Path;

use aido_plugin_api::{Error, Result};
use serde::Serialize;
use serde::de::DeserializeOwned;

/// The line that opens and closes the front matter.
const DELIMITER: &str = "---";

/// Reads a file's front matter as `T` and returns it with the body.
///
/// Errors are `invalid_response` and name `path` and, for YAML errors, the
/// line and column in the file (not in the front matter).
pub(crate) fn parse<T: DeserializeOwned>(path: &Path, text: &str) -> Result<(T, String)> {
    let (yaml, body) = split(text).map_err(|reason| corrupt(path, &reason))?;
    let front = serde_saphyr::from_str::<T>(yaml).map_err(|err| {
        // The YAML starts on the file's second line, after the opening `---`.
        let options = serde_saphyr::render_options! {
            snippets: serde_saphyr::SnippetMode::Off,
            line_offset: 1,
        };
        corrupt(
            path,
            &format!(
                "its front matter is not valid: {}",
                err.render_with_options(options)
            ),
        )
    })?;
    Ok((front, body.to_owned()))
}

/// Writes `front` as YAML front matter followed by `body`.
pub(crate) fn render<T: Serialize>(path: &Path, front: &T, body: &str) -> Result<String> {
    let yaml = serde_saphyr::to_string(front).map_err(|err| {
        Error::other(format!(
            "could not write the front matter of {}: {err}",
            path.display()
        ))
    })?;
    let mut text = String::with_capacity(yaml.len() + body.len() + 16);
    text.push_str(DELIMITER);
    text.push('\n');
    text.push_str(&yaml);
    if !yaml.ends_with('\n') {
        text.push('\n');
    }
    text.push_str(DELIMITER);
    text.push('\n');
    if !body.is_empty() {
        text.push('\n');
        text.push_str(body);
    }
    Ok(text)
}

/// Splits a file into its front matter and its body.
fn split(text: &str) -> std::result::Result<(&str, &str), String> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let Some(after_open) = strip_delimiter_line(text) else {
        return Err(format!(
            "it does not start with a `{DELIMITER}` line opening its front matter"
        ));
    };
    let mut offset = 0;
    for line in after_open.split_inclusive('\n') {
        if line.trim_end() == DELIMITER {
            let yaml = &after_open[..offset];
            let rest = &after_open[offset + line.len()..];
            let body = rest
                .strip_prefix("\r\n")
                .or_else(|| rest.strip_prefix('\n'))
                .unwrap_or(rest);
            return Ok((yaml, body));
        }
        offset += line.len();
    }
    Err(format!(
        "its front matter has no closing `{DELIMITER}` line"
    ))
}

/// The text after a first line that is exactly the delimiter.
fn strip_delimiter_line(text: &str) -> Option<&str> {
    let (first, rest) = match text.find('\n') {
        Some(end) => (&text[..end], &text[end + 1..]),
        None => (text, ""),
    };
    (first.trim_end() == DELIMITER).then_some(rest)
}

fn corrupt(path: &Path, reason: &str) -> Error {
    Error::invalid_response(format!("{} is corrupt: {reason}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use aido_plugin_api::ErrorKind;
    use serde::Deserialize;

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Front {
        id: String,
        count: u32,
    }

    fn front() -> Front {
        Front {
            id: "A-1".into(),
            count: 3,
        }
    }

    #[test]
    fn bodies_survive_a_round_trip_byte_for_byte() {
        let path = Path::new("a.md");
        for body in [
            "",
            "one line",
            "\nstarts blank",
            "ends blank\n\n",
            "---\nnot a delimiter\n",
            "crlf\r\nbody",
        ] {
            let text = render(path, &front(), body).unwrap();
            let (parsed, parsed_body): (Front, String) = parse(path, &text).unwrap();
            assert_eq!(parsed, front());
            assert_eq!(parsed_body, body, "in {text:?}");
        }
    }

    #[test]
    fn hand_written_files_without_a_blank_line_read_the_same() {
        let (parsed, body): (Front, String) = parse(
            Path::new("a.md"),
            "---\r\nid: A-1\r\ncount: 3\r\n---\r\n# Title\r\n",
        )
        .unwrap();
        assert_eq!(parsed, front());
        assert_eq!(body, "# Title\r\n");
    }

    #[test]
    fn a_file_without_front_matter_is_corrupt() {
        let err = parse::<Front>(Path::new("dir/a.md"), "# Just Markdown\n").unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidResponse);
        assert!(err.message().contains("dir/a.md"), "{err}");
        assert!(
            err.message().contains("does not start with a `---` line"),
            "{err}"
        );
    }

    #[test]
    fn an_unclosed_front_matter_is_corrupt() {
        let err = parse::<Front>(Path::new("a.md"), "---\nid: A-1\ncount: 3\n").unwrap_err();
        assert!(err.message().contains("no closing `---` line"), "{err}");
    }

    #[test]
    fn yaml_errors_name_the_line_in_the_file() {
        let err =
            parse::<Front>(Path::new("a.md"), "---\nid: A-1\ncount: many\n---\n").unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidResponse);
        // `count` is on the file's third line.
        assert!(err.message().contains("line 3"), "{err}");
        assert!(err.message().contains("a.md"), "{err}");
    }
}
