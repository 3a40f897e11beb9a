//! The edit format: how a model proposes changes to files.
//!
//! [`EDIT_FORMAT`] is the same description worded for a prompt.
//!
//! # Text form
//!
//! An answer holds any number of blocks; text around them (explanations,
//! Markdown code fences) is ignored, and CRLF line endings are accepted.
//! Each block starts on the line after a line holding only the file's path,
//! relative to the repository root (surrounding backticks, `**`, quotes,
//! leading `#`s and a trailing `:` are tolerated; blank lines and fence
//! lines such as `` ```python `` may stand between path and block). A block
//! with no path line of its own since the previous block reuses that
//! block's path.
//!
//! A **search/replace** block replaces existing lines:
//!
//! ```text
//! path/to/file.py
//! <<<<<<< SEARCH
//! exact existing lines
//! =======
//! replacement lines
//! >>>>>>> REPLACE
//! ```
//!
//! The SEARCH lines must occur exactly once in the file, as whole lines.
//! When they do not occur exactly, they may still match once when trailing
//! whitespace and a uniform indentation difference are ignored; the
//! replacement is then re-indented by that difference. An empty REPLACE
//! section deletes the lines. An empty SEARCH section creates the file,
//! which must not exist yet (or be empty).
//!
//! A **whole-file write** creates a file or replaces all of it:
//!
//! ```text
//! path/to/file.py
//! <<<<<<< WRITE
//! full new content
//! >>>>>>> END
//! ```
//!
//! A **delete** removes a file:
//!
//! ```text
//! path/to/old.py
//! <<<<<<< DELETE
//! >>>>>>> END
//! ```
//!
//! Markers are recognized on lines of their own (surrounding whitespace
//! ignored) with 5 to 9 `<`, `=` or `>` characters; the usual 7 is best.
//! Sections hold whole lines; each non-empty section ends with a newline.
//!
//! # JSON form
//!
//! ```json
//! {"edits": [
//!   {"path": "src/a.py", "search": "old text", "replace": "new text"},
//!   {"path": "src/b.py", "content": "whole new file\n"},
//!   {"path": "src/c.py", "delete": true}
//! ]}
//! ```
//!
//! `search` is matched as a plain substring (not necessarily whole lines),
//! with the same whitespace-tolerant fallback, line by line; an empty
//! `search` creates the file. The `apply_edits` action takes the list
//! (or the whole object, or either as a JSON string) as its `edits` input.
//!
//! Edits apply in order, so several edits may change one file.

use std::fmt;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The edit format worded for a prompt.
pub const EDIT_FORMAT: &str = r#"To change files, answer with edit blocks. Put the file's path (relative to the repository root) alone on the line before each block.

To replace lines of an existing file:
path/to/file.py
<<<<<<< SEARCH
the exact existing lines, copied from the file, enough to be unique
=======
the lines to put in their place
>>>>>>> REPLACE

To create a file, use an empty SEARCH section:
path/to/new_file.py
<<<<<<< SEARCH
=======
the whole content of the new file
>>>>>>> REPLACE

To replace a whole file:
path/to/file.py
<<<<<<< WRITE
the full new content
>>>>>>> END

To delete a file:
path/to/old_file.py
<<<<<<< DELETE
>>>>>>> END

Rules: the SEARCH lines must match exactly one place in the current file; keep them short but unique. Use several blocks for several changes; they apply in order. Never edit files under .git/ or outside the repository. If any block cannot be applied, no change is made and you will be told why."#;

/// One proposed edit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Edit {
    /// The path as the model wrote it (checked later, see
    /// [`super::path_policy`]).
    pub path: String,
    /// What to do to the file.
    pub op: EditOp,
    /// Where the edit came from, for messages: `block at line 12`, `edits[3]`.
    pub origin: String,
}

/// What an edit does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EditOp {
    /// Replaces the one occurrence of `search` with `replace`; an empty
    /// `search` creates the file.
    Replace {
        /// The text to find.
        search: String,
        /// What replaces it.
        replace: String,
        /// Whether `search` must match whole lines (text blocks) or may
        /// match anywhere (the JSON form).
        whole_lines: bool,
    },
    /// Creates the file or replaces all of it.
    Write {
        /// The new content.
        content: String,
    },
    /// Deletes the file.
    Delete,
}

impl EditOp {
    /// A short name for messages.
    pub fn name(&self) -> &'static str {
        match self {
            EditOp::Replace { .. } => "search/replace",
            EditOp::Write { .. } => "write",
            EditOp::Delete => "delete",
        }
    }
}

/// One edit of the JSON form.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct JsonEdit {
    /// The file, relative to the repository root.
    pub path: String,
    /// Text that occurs exactly once in the file (empty: create the file);
    /// needs `replace`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub search: Option<String>,
    /// What replaces `search`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replace: Option<String>,
    /// The whole new content of the file (instead of `search`/`replace`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content: Option<String>,
    /// `true` deletes the file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delete: Option<bool>,
}

/// Why the proposed edits could not be read; lists every problem.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FormatError {
    /// One sentence per problem.
    pub problems: Vec<String>,
}

impl fmt::Display for FormatError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the edits cannot be read")?;
        for problem in &self.problems {
            write!(f, "\n- {problem}")?;
        }
        Ok(())
    }
}

impl std::error::Error for FormatError {}

impl FormatError {
    fn one(problem: impl Into<String>) -> Self {
        FormatError {
            problems: vec![problem.into()],
        }
    }
}

/// Reads edits from the `edits` input: a string (text blocks, or the JSON
/// form as text), a list of JSON edits, or an object with an `edits` list.
pub fn parse_edits(value: &Value) -> Result<Vec<Edit>, FormatError> {
    match value {
        Value::String(text) => parse_text_or_json(text),
        Value::Array(items) => parse_json_list(items),
        Value::Object(map) => match map.get("edits") {
            Some(Value::Array(items)) => parse_json_list(items),
            _ => Err(FormatError::one(
                "an object of edits needs an `edits` list: {\"edits\": [{\"path\": ..., \"search\": ..., \"replace\": ...}]}",
            )),
        },
        _ => Err(FormatError::one(
            "`edits` must be a string of edit blocks or a list of JSON edits",
        )),
    }
}

/// A string holding either text blocks or the JSON form (possibly fenced).
fn parse_text_or_json(text: &str) -> Result<Vec<Edit>, FormatError> {
    let text = text.replace("\r\n", "\n");
    let inner = strip_outer_fence(text.trim());
    if inner.starts_with('{') || inner.starts_with('[') {
        match serde_json::from_str::<Value>(inner) {
            Ok(value @ (Value::Object(_) | Value::Array(_))) => return parse_edits(&value),
            Ok(_) => {}
            Err(err) if !has_marker(&text) => {
                return Err(FormatError::one(format!(
                    "the edits look like JSON but do not parse: {err}"
                )));
            }
            Err(_) => {}
        }
    }
    parse_text(&text)
}

/// The inside of a text wholly wrapped in one Markdown code fence.
fn strip_outer_fence(text: &str) -> &str {
    if !text.starts_with("```") || !text.ends_with("```") || text.len() < 6 {
        return text;
    }
    let Some(first_newline) = text.find('\n') else {
        return text;
    };
    let body = &text[first_newline + 1..text.len() - 3];
    if body.contains("\n```") {
        // Several fences: not one wrapped document.
        return text;
    }
    body.trim()
}

fn has_marker(text: &str) -> bool {
    text.lines().any(|line| marker(line).is_some())
}

/// Reads the JSON form's list.
pub fn parse_json_list(items: &[Value]) -> Result<Vec<Edit>, FormatError> {
    let mut edits = Vec::new();
    let mut problems = Vec::new();
    for (index, item) in items.iter().enumerate() {
        let origin = format!("edits[{index}]");
        let edit: JsonEdit = match serde_json::from_value(item.clone()) {
            Ok(edit) => edit,
            Err(err) => {
                problems.push(format!("{origin}: {err}"));
                continue;
            }
        };
        match json_op(&edit) {
            Ok(op) => edits.push(Edit {
                path: edit.path.trim().to_owned(),
                op,
                origin,
            }),
            Err(problem) => problems.push(format!("{origin} (`{}`): {problem}", edit.path)),
        }
    }
    if problems.is_empty() {
        Ok(edits)
    } else {
        Err(FormatError { problems })
    }
}

fn json_op(edit: &JsonEdit) -> Result<EditOp, &'static str> {
    let delete = edit.delete.unwrap_or(false);
    match (&edit.search, &edit.replace, &edit.content, delete) {
        (None, None, None, true) => Ok(EditOp::Delete),
        (None, None, Some(content), false) => Ok(EditOp::Write {
            content: content.replace("\r\n", "\n"),
        }),
        (Some(search), Some(replace), None, false) => Ok(EditOp::Replace {
            search: search.replace("\r\n", "\n"),
            replace: replace.replace("\r\n", "\n"),
            whole_lines: false,
        }),
        (Some(_), None, None, false) => Err("has `search` but no `replace`"),
        (None, Some(_), None, false) => Err("has `replace` but no `search`"),
        (None, None, None, false) => {
            Err("needs `search` and `replace`, or `content`, or `delete: true`")
        }
        _ => Err("mixes `search`/`replace`, `content` and `delete`; give one kind of edit"),
    }
}

/// A marker line of the text form.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Marker {
    Search,
    Write,
    Delete,
    Divider,
    Replace,
    End,
}

impl Marker {
    fn text(self) -> &'static str {
        match self {
            Marker::Search => "<<<<<<< SEARCH",
            Marker::Write => "<<<<<<< WRITE",
            Marker::Delete => "<<<<<<< DELETE",
            Marker::Divider => "=======",
            Marker::Replace => ">>>>>>> REPLACE",
            Marker::End => ">>>>>>> END",
        }
    }

    fn opens(self) -> bool {
        matches!(self, Marker::Search | Marker::Write | Marker::Delete)
    }
}

fn marker(line: &str) -> Option<Marker> {
    let line = line.trim();
    let first = line.chars().next()?;
    if !matches!(first, '<' | '=' | '>') {
        return None;
    }
    let run = line.chars().take_while(|&c| c == first).count();
    if !(5..=9).contains(&run) {
        return None;
    }
    let word = line[run..].trim();
    match (first, word) {
        ('=', "") => Some(Marker::Divider),
        ('<', "SEARCH") => Some(Marker::Search),
        ('<', "WRITE") => Some(Marker::Write),
        ('<', "DELETE") => Some(Marker::Delete),
        ('>', "REPLACE") => Some(Marker::Replace),
        ('>', "END") => Some(Marker::End),
        _ => None,
    }
}

fn is_fence(line: &str) -> bool {
    let line = line.trim();
    line.starts_with("```") || line.starts_with("~~~")
}

/// The file path on a line before a block, or `None` when the line does not
/// look like one (prose, a sentence with spaces).
fn path_on_line(line: &str) -> Option<String> {
    let mut text = line.trim();
    text = text.trim_start_matches('#').trim();
    for prefix in ["File:", "file:", "Path:", "path:"] {
        if let Some(rest) = text.strip_prefix(prefix) {
            text = rest.trim();
        }
    }
    text = text.strip_suffix(':').unwrap_or(text).trim();
    let mut quoted = false;
    loop {
        let before = text;
        for quote in ["**", "`", "\"", "'"] {
            if let Some(inner) = text.strip_prefix(quote).and_then(|t| t.strip_suffix(quote)) {
                text = inner.trim();
                quoted = true;
            }
        }
        text = text.strip_suffix(':').unwrap_or(text).trim();
        if text == before {
            break;
        }
    }
    if text.is_empty() || (!quoted && text.contains(char::is_whitespace)) {
        return None;
    }
    Some(text.to_owned())
}

/// Reads the text form. Problems are collected, not stopped at, so the model
/// hears about all of them at once.
pub fn parse_text(text: &str) -> Result<Vec<Edit>, FormatError> {
    let text = text.replace("\r\n", "\n");
    let lines: Vec<&str> = text.split('\n').collect();
    let mut edits = Vec::new();
    let mut problems = Vec::new();
    let mut previous_path: Option<String> = None;
    let mut after_block = 0;
    let mut index = 0;
    while index < lines.len() {
        let Some(open) = marker(lines[index]).filter(|m| m.opens()) else {
            if let Some(close @ (Marker::Replace | Marker::End)) = marker(lines[index]) {
                problems.push(format!(
                    "line {}: `{}` without a block opened before it",
                    index + 1,
                    close.text()
                ));
            }
            index += 1;
            continue;
        };
        let line_no = index + 1;
        let origin = format!("block at line {line_no}");
        let path = match find_path(&lines[after_block..index]) {
            PathLine::Found(path) => Some(path),
            PathLine::Missing => previous_path.clone(),
            PathLine::NotAPath(line) => {
                problems.push(format!(
                    "{origin}: the line before it, `{line}`, is not a file path; put the path alone on that line"
                ));
                None
            }
        };
        if path.is_none() && problems.last().is_none_or(|p| !p.starts_with(&origin)) {
            problems.push(format!(
                "{origin}: no file path before it; put the path alone on the line before `{}`",
                open.text()
            ));
        }
        match read_block(&lines, index, open) {
            Ok((op, next)) => {
                if let Some(path) = path {
                    previous_path = Some(path.clone());
                    edits.push(Edit { path, op, origin });
                }
                index = next;
            }
            Err((problem, next)) => {
                problems.push(format!("{origin}: {problem}"));
                index = next;
            }
        }
        after_block = index;
    }
    if edits.is_empty() && problems.is_empty() {
        problems.push(
            "found no edit blocks; write the file's path on a line, then `<<<<<<< SEARCH`, the existing lines, `=======`, the new lines and `>>>>>>> REPLACE` (or `<<<<<<< WRITE`, the whole content, `>>>>>>> END`)".to_owned(),
        );
    }
    if problems.is_empty() {
        Ok(edits)
    } else {
        Err(FormatError { problems })
    }
}

enum PathLine {
    Found(String),
    Missing,
    NotAPath(String),
}

/// The path line: the last line before the block that is neither blank nor
/// a code fence.
fn find_path(lines: &[&str]) -> PathLine {
    match lines
        .iter()
        .rev()
        .find(|line| !line.trim().is_empty() && !is_fence(line))
    {
        None => PathLine::Missing,
        Some(line) => match path_on_line(line) {
            Some(path) => PathLine::Found(path),
            None => PathLine::NotAPath(line.trim().to_owned()),
        },
    }
}

/// Joins section lines as whole lines: each ends with a newline.
fn section(lines: &[&str]) -> String {
    let mut out = String::new();
    for line in lines {
        out.push_str(line);
        out.push('\n');
    }
    out
}

type BlockResult = Result<(EditOp, usize), (String, usize)>;

/// Reads the block opened at `start`; answers the operation and the index
/// of the line after the block, or a problem and where to resume.
fn read_block(lines: &[&str], start: usize, open: Marker) -> BlockResult {
    let body = start + 1;
    let closing = match open {
        Marker::Search => Marker::Replace,
        _ => Marker::End,
    };
    let mut divider = None;
    let mut index = body;
    while index < lines.len() {
        match marker(lines[index]) {
            Some(Marker::Divider) if open == Marker::Search && divider.is_none() => {
                divider = Some(index);
            }
            Some(found) if found == closing => {
                let op = match open {
                    Marker::Search => {
                        let Some(divider) = divider else {
                            return Err((
                                format!(
                                    "`=======` is missing between the SEARCH and REPLACE sections (before line {})",
                                    index + 1
                                ),
                                index + 1,
                            ));
                        };
                        EditOp::Replace {
                            search: section(&lines[body..divider]),
                            replace: section(&lines[divider + 1..index]),
                            whole_lines: true,
                        }
                    }
                    Marker::Write => EditOp::Write {
                        content: section(&lines[body..index]),
                    },
                    _ => {
                        if lines[body..index].iter().any(|l| !l.trim().is_empty()) {
                            return Err((
                                "a DELETE block takes no content; write `<<<<<<< DELETE` then `>>>>>>> END`".to_owned(),
                                index + 1,
                            ));
                        }
                        EditOp::Delete
                    }
                };
                return Ok((op, index + 1));
            }
            Some(other) if other.opens() => {
                return Err((
                    format!(
                        "not closed with `{}` before the next block at line {}",
                        closing.text(),
                        index + 1
                    ),
                    index,
                ));
            }
            _ => {}
        }
        index += 1;
    }
    Err((format!("not closed with `{}`", closing.text()), lines.len()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn replace(path: &str, search: &str, replace: &str, origin: &str) -> Edit {
        Edit {
            path: path.into(),
            op: EditOp::Replace {
                search: search.into(),
                replace: replace.into(),
                whole_lines: true,
            },
            origin: origin.into(),
        }
    }

    #[test]
    fn reads_blocks_among_prose_and_fences() {
        let text = "Here is the fix.\n\n`src/app.py`\n```python\n<<<<<<< SEARCH\ndef a():\n    return 1\n=======\ndef a():\n    return 2\n>>>>>>> REPLACE\n```\n\nAnd a new file:\n\n### docs/new.md\n```\n<<<<<<< WRITE\n# Title\n```rust\ncode\n```\n>>>>>>> END\n```\nold.txt\n<<<<<<< DELETE\n>>>>>>> END\nThat's all.";
        let edits = parse_text(text).unwrap();
        assert_eq!(
            edits,
            vec![
                replace(
                    "src/app.py",
                    "def a():\n    return 1\n",
                    "def a():\n    return 2\n",
                    "block at line 5"
                ),
                Edit {
                    path: "docs/new.md".into(),
                    op: EditOp::Write {
                        content: "# Title\n```rust\ncode\n```\n".into()
                    },
                    origin: "block at line 18".into()
                },
                Edit {
                    path: "old.txt".into(),
                    op: EditOp::Delete,
                    origin: "block at line 26".into()
                },
            ]
        );
    }

    #[test]
    fn accepts_crlf_and_reuses_the_previous_path() {
        let text = "a.txt\r\n<<<<<<< SEARCH\r\none\r\n=======\r\nuno\r\n>>>>>>> REPLACE\r\n\r\n<<<<<<< SEARCH\r\ntwo\r\n=======\r\n>>>>>>> REPLACE\r\n";
        let edits = parse_text(text).unwrap();
        assert_eq!(
            edits,
            vec![
                replace("a.txt", "one\n", "uno\n", "block at line 2"),
                replace("a.txt", "two\n", "", "block at line 8"),
            ]
        );
    }

    #[test]
    fn empty_search_is_a_create() {
        let edits = parse_text("new.txt\n<<<<<<< SEARCH\n=======\nhello\n>>>>>>> REPLACE").unwrap();
        assert_eq!(
            edits,
            vec![replace("new.txt", "", "hello\n", "block at line 2")]
        );
    }

    #[test]
    fn reports_every_malformed_block() {
        let text = "Change it like this:\n<<<<<<< SEARCH\nx\n=======\ny\n>>>>>>> REPLACE\nb.txt\n<<<<<<< SEARCH\nx\n>>>>>>> REPLACE\nc.txt\n<<<<<<< WRITE\nnever closed\n";
        let err = parse_text(text).unwrap_err();
        assert_eq!(err.problems.len(), 3, "{err}");
        assert!(
            err.problems[0].contains("`Change it like this:`, is not a file path"),
            "{err}"
        );
        assert!(err.problems[1].contains("`=======` is missing"), "{err}");
        assert!(
            err.problems[2].contains("not closed with `>>>>>>> END`"),
            "{err}"
        );
        let err = parse_text("no blocks here").unwrap_err();
        assert!(err.to_string().contains("found no edit blocks"), "{err}");
        let err = parse_text(">>>>>>> REPLACE").unwrap_err();
        assert!(err.to_string().contains("without a block opened"), "{err}");
    }

    #[test]
    fn reads_the_json_form_in_every_shape() {
        let list = json!([
            {"path": "a.py", "search": "x = 1\r\n", "replace": "x = 2\r\n"},
            {"path": "b.py", "content": "print()\n"},
            {"path": "c.py", "delete": true}
        ]);
        let expected = vec![
            Edit {
                path: "a.py".into(),
                op: EditOp::Replace {
                    search: "x = 1\n".into(),
                    replace: "x = 2\n".into(),
                    whole_lines: false,
                },
                origin: "edits[0]".into(),
            },
            Edit {
                path: "b.py".into(),
                op: EditOp::Write {
                    content: "print()\n".into(),
                },
                origin: "edits[1]".into(),
            },
            Edit {
                path: "c.py".into(),
                op: EditOp::Delete,
                origin: "edits[2]".into(),
            },
        ];
        assert_eq!(parse_edits(&list).unwrap(), expected);
        let object = json!({ "edits": list });
        assert_eq!(parse_edits(&object).unwrap(), expected);
        let as_text = format!("```json\n{object}\n```");
        assert_eq!(parse_edits(&Value::String(as_text)).unwrap(), expected);
    }

    #[test]
    fn json_problems_name_the_edit() {
        let err = parse_edits(&json!([
            {"path": "a", "search": "x"},
            {"path": "b", "content": "x", "delete": true},
            {"path": "c", "serach": "x"},
            {"path": "d"}
        ]))
        .unwrap_err();
        assert_eq!(err.problems.len(), 4, "{err}");
        assert!(err.problems[0].starts_with("edits[0] (`a`): has `search` but no `replace`"));
        assert!(err.problems[1].contains("mixes"));
        assert!(err.problems[2].contains("unknown field `serach`"));
        assert!(err.problems[3].contains("needs `search` and `replace`"));
        let err = parse_edits(&Value::String("{\"edits\": [".into())).unwrap_err();
        assert!(err.to_string().contains("look like JSON"), "{err}");
    }

    #[test]
    fn path_lines_are_cleaned() {
        assert_eq!(path_on_line("**`src/a.rs`**:").as_deref(), Some("src/a.rs"));
        assert_eq!(
            path_on_line("## File: src/b.rs").as_deref(),
            Some("src/b.rs")
        );
        assert_eq!(
            path_on_line("`dir with space/x.md`").as_deref(),
            Some("dir with space/x.md")
        );
        assert_eq!(path_on_line("Now change this:"), None);
    }
}
