//! Finding a model's SEARCH text in a file: exactly, or else ignoring
//! trailing whitespace and a uniform indentation difference.
//!
//! The fallback exists because models often get indentation or trailing
//! spaces slightly wrong while quoting the right lines; it is only used when
//! it finds exactly one place, so it never guesses between candidates. An
//! exact text that occurs more than once is ambiguous and is refused rather
//! than retried loosely.

/// How a replacement was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Replaced {
    /// The file's new content.
    pub content: String,
    /// Whether the whitespace-tolerant fallback found it.
    pub whitespace_tolerant: bool,
}

/// Why a SEARCH text was not replaced: it matched `count` times (0, or more
/// than 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NoUniqueMatch {
    /// How many places matched.
    pub count: usize,
    /// Whether `count` is from the whitespace-tolerant comparison (the exact
    /// one found nothing).
    pub whitespace_tolerant: bool,
}

/// Replaces the one occurrence of `search` in `content` with `replace`.
/// With `whole_lines`, an exact occurrence must start at the beginning of a
/// line (the text form quotes whole lines; this keeps `x = 1` from matching
/// inside `max = 1`). `search` must not be empty.
pub fn replace_once(
    content: &str,
    search: &str,
    replace: &str,
    whole_lines: bool,
) -> Result<Replaced, NoUniqueMatch> {
    let exact = exact_positions(content, search, whole_lines);
    match exact.as_slice() {
        [position] => {
            let mut out = String::with_capacity(content.len() + replace.len());
            out.push_str(&content[..*position]);
            out.push_str(replace);
            out.push_str(&content[position + search.len()..]);
            return Ok(Replaced {
                content: out,
                whitespace_tolerant: false,
            });
        }
        [] => {}
        many => {
            return Err(NoUniqueMatch {
                count: many.len(),
                whitespace_tolerant: false,
            });
        }
    }
    let file_lines: Vec<&str> = content.split_inclusive('\n').collect();
    let search_lines: Vec<&str> = search.lines().collect();
    let matches = tolerant_matches(&file_lines, &search_lines);
    let [(start, indent)] = matches.as_slice() else {
        return Err(NoUniqueMatch {
            count: matches.len(),
            whitespace_tolerant: true,
        });
    };
    let end = start + search_lines.len();
    let before: usize = file_lines[..*start].iter().map(|l| l.len()).sum();
    let matched: usize = file_lines[*start..end].iter().map(|l| l.len()).sum();
    let ends_with_newline = file_lines[end - 1].ends_with('\n');
    let mut new_text = replace
        .lines()
        .map(|line| indent.apply(line))
        .collect::<Vec<_>>()
        .join("\n");
    if !new_text.is_empty() && (ends_with_newline || replace.ends_with('\n')) {
        new_text.push('\n');
    }
    let mut out = String::with_capacity(content.len() + new_text.len());
    out.push_str(&content[..before]);
    out.push_str(&new_text);
    out.push_str(&content[before + matched..]);
    Ok(Replaced {
        content: out,
        whitespace_tolerant: true,
    })
}

/// Start offsets of every occurrence of `needle`, overlapping ones included
/// (so `aa` in `aaa` is ambiguous, as it is to a reader).
fn exact_positions(haystack: &str, needle: &str, whole_lines: bool) -> Vec<usize> {
    let mut out = Vec::new();
    let Some(first) = needle.chars().next() else {
        return out;
    };
    let mut from = 0;
    while let Some(found) = haystack[from..].find(needle) {
        let position = from + found;
        if !whole_lines || position == 0 || haystack[..position].ends_with('\n') {
            out.push(position);
        }
        from = position + first.len_utf8();
    }
    out
}

/// The indentation difference between the file and the SEARCH text.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Indent {
    /// The file's lines have this extra prefix (or none).
    FileDeeper(String),
    /// The SEARCH lines have this extra prefix.
    SearchDeeper(String),
}

impl Indent {
    /// Re-indents a replacement line the way the file is indented.
    fn apply(&self, line: &str) -> String {
        let line = line.trim_end();
        if line.is_empty() {
            return String::new();
        }
        match self {
            Indent::FileDeeper(extra) => format!("{extra}{line}"),
            Indent::SearchDeeper(extra) => match line.strip_prefix(extra.as_str()) {
                Some(rest) => rest.to_owned(),
                None => {
                    // Less indented than the SEARCH text: remove what
                    // leading whitespace there is, up to the difference.
                    let strip = line
                        .char_indices()
                        .take(extra.chars().count())
                        .take_while(|(_, c)| c.is_whitespace())
                        .map(|(i, c)| i + c.len_utf8())
                        .last()
                        .unwrap_or(0);
                    line[strip..].to_owned()
                }
            },
        }
    }
}

fn split_indent(line: &str) -> (&str, &str) {
    let body = line.trim_start();
    (&line[..line.len() - body.len()], body)
}

/// The line windows equal to `search` up to trailing whitespace and one
/// indentation difference shared by all non-blank lines.
fn tolerant_matches(file: &[&str], search: &[&str]) -> Vec<(usize, Indent)> {
    if search.is_empty() || search.len() > file.len() || search.iter().all(|l| l.trim().is_empty())
    {
        return Vec::new();
    }
    (0..=file.len() - search.len())
        .filter_map(|start| {
            window_indent(&file[start..start + search.len()], search).map(|i| (start, i))
        })
        .collect()
}

fn window_indent(window: &[&str], search: &[&str]) -> Option<Indent> {
    let mut shared: Option<Indent> = None;
    for (file_line, search_line) in window.iter().zip(search) {
        let file_line = file_line.trim_end();
        let search_line = search_line.trim_end();
        match (file_line.is_empty(), search_line.is_empty()) {
            (true, true) => continue,
            (false, false) => {}
            _ => return None,
        }
        let (file_indent, file_body) = split_indent(file_line);
        let (search_indent, search_body) = split_indent(search_line);
        if file_body != search_body {
            return None;
        }
        let indent = if let Some(extra) = file_indent.strip_suffix(search_indent) {
            Indent::FileDeeper(extra.to_owned())
        } else if let Some(extra) = search_indent.strip_suffix(file_indent) {
            Indent::SearchDeeper(extra.to_owned())
        } else {
            return None;
        };
        match &shared {
            None => shared = Some(indent),
            Some(existing) if *existing == indent => {}
            Some(_) => return None,
        }
    }
    shared
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(content: &str, search: &str, replace: &str) -> String {
        replace_once(content, search, replace, true)
            .unwrap()
            .content
    }

    #[test]
    fn exact_match_replaces_in_place() {
        let r = replace_once("a\nb\nc\n", "b\n", "B\n", true).unwrap();
        assert_eq!(r.content, "a\nB\nc\n");
        assert!(!r.whitespace_tolerant);
        assert_eq!(ok("a\nb\nc\n", "b\n", ""), "a\nc\n");
    }

    #[test]
    fn whole_lines_do_not_match_inside_a_line() {
        let err = replace_once("max = 1\n", "x = 1\n", "x = 2\n", true).unwrap_err();
        assert_eq!(err.count, 0);
        // The JSON form matches plain substrings.
        let r = replace_once("max = 1\n", "x = 1", "x = 2", false).unwrap();
        assert_eq!(r.content, "max = 2\n");
    }

    #[test]
    fn ambiguous_exact_text_is_refused() {
        let err = replace_once("x\ny\nx\n", "x\n", "z\n", true).unwrap_err();
        assert_eq!(
            err,
            NoUniqueMatch {
                count: 2,
                whitespace_tolerant: false
            }
        );
        assert_eq!(replace_once("aaa", "aa", "b", false).unwrap_err().count, 2);
    }

    #[test]
    fn tolerant_match_reindents_the_replacement() {
        let file =
            "class A:\n    def f(self):\n        return 1   \n\n    def g(self):\n        pass\n";
        let search = "def f(self):\n    return 1\n";
        let replace = "def f(self):\n    if True:\n        return 2\n";
        let r = replace_once(file, search, replace, true).unwrap();
        assert!(r.whitespace_tolerant);
        assert_eq!(
            r.content,
            "class A:\n    def f(self):\n        if True:\n            return 2\n\n    def g(self):\n        pass\n"
        );
        // The SEARCH text more indented than the file.
        let r = replace_once(
            "fn a() {\n}\n",
            "    fn a() {\n    }\n",
            "    fn b() {\n    }\n",
            true,
        )
        .unwrap();
        assert_eq!(r.content, "fn b() {\n}\n");
    }

    #[test]
    fn tolerant_match_handles_a_missing_final_newline() {
        assert_eq!(ok("a\nlast", "last\n", "LAST\n"), "a\nLAST\n");
        assert_eq!(ok("a\nlast", "last\n", "LAST"), "a\nLAST");
    }

    #[test]
    fn tolerant_match_must_be_unique_and_uniform() {
        let file = "  x\n  y\n\n    x\n    y\n";
        let err = replace_once(file, "x\ny\n", "z\n", true).unwrap_err();
        assert_eq!(
            err,
            NoUniqueMatch {
                count: 2,
                whitespace_tolerant: true
            }
        );
        // Indented by different amounts: not a uniform difference.
        let err = replace_once("  x\n      y\n", "x\ny\n", "z\n", true).unwrap_err();
        assert_eq!(err.count, 0);
        assert!(err.whitespace_tolerant);
        let err = replace_once("a\n", "zzz\n", "b\n", true).unwrap_err();
        assert_eq!(err.count, 0);
    }
}
