//! The answers file: reading it, and choosing the answer for a call.
//!
//! See the [module documentation](super) for the format and the matching
//! rules; this file is their one implementation.

use std::collections::BTreeSet;
use std::fmt;
use std::fs;
use std::path::{Path, PathBuf};

use aido_plugin_api::Error;
use aido_plugin_api::model::ai::Finding;
use serde::Deserialize;
use serde_saphyr::Spanned;

/// File extensions read from an answers folder.
const EXTENSIONS: [&str; 3] = ["yaml", "yml", "json"];

/// How much of a prompt an error quotes, so the script's author can see
/// which call found no answer.
const PROMPT_EXCERPT_CHARS: usize = 80;

/// One recorded answer, as written in the answers file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct EntryDef {
    #[serde(default)]
    step: Option<String>,
    #[serde(default, rename = "match")]
    pattern: Option<String>,
    answer: String,
    #[serde(default)]
    input_tokens: Option<u64>,
    #[serde(default)]
    output_tokens: Option<u64>,
    #[serde(default)]
    findings: Vec<Finding>,
}

/// One recorded answer, with where it was written.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Entry {
    /// The workflow step it answers, if any.
    pub step: Option<String>,
    /// Text the prompt must contain, if any.
    pub pattern: Option<String>,
    /// The answer (for `analyze_code` the summary, for `generate_code` the
    /// code).
    pub answer: String,
    /// Input tokens to report instead of the estimate.
    pub input_tokens: Option<u64>,
    /// Output tokens to report instead of the estimate.
    pub output_tokens: Option<u64>,
    /// Findings `analyze_code` reports with this answer.
    pub findings: Vec<Finding>,
    /// Where it is written.
    pub origin: Origin,
}

/// Where an entry is written: its file, its position in the file's list
/// (from 1) and, for YAML, its line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Origin {
    /// The file.
    pub file: PathBuf,
    /// Its position in that file's list, from 1.
    pub position: usize,
    /// Its line, when the parser reports one.
    pub line: Option<u64>,
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} answer {}", self.file.display(), self.position)?;
        if let Some(line) = self.line {
            write!(f, " (line {line})")?;
        }
        Ok(())
    }
}

impl Entry {
    /// Whether the prompt contains this entry's `match` text (always, when
    /// it has none).
    fn matches(&self, prompt: &str) -> bool {
        self.pattern
            .as_deref()
            .is_none_or(|pattern| prompt.contains(pattern))
    }
}

/// An answers file or folder, read.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Script {
    source: PathBuf,
    entries: Vec<Entry>,
}

/// Why an answers file cannot be used. The message names the file and,
/// where known, the line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ScriptError {
    message: String,
}

impl ScriptError {
    fn new(message: impl Into<String>) -> Self {
        ScriptError {
            message: message.into(),
        }
    }
}

impl fmt::Display for ScriptError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for ScriptError {}

impl Script {
    /// Reads the answers file at `path`, or every `.yaml`, `.yml` and
    /// `.json` file of the folder at `path` in file-name order.
    pub(crate) fn load(path: &Path) -> Result<Script, ScriptError> {
        let metadata = fs::metadata(path).map_err(|err| {
            ScriptError::new(format!(
                "cannot read the answers file {}: {err}",
                path.display()
            ))
        })?;
        let files = if metadata.is_dir() {
            answer_files_in(path)?
        } else {
            vec![path.to_owned()]
        };
        let mut entries = Vec::new();
        for file in &files {
            entries.extend(parse_file(file)?);
        }
        Ok(Script {
            source: path.to_owned(),
            entries,
        })
    }

    /// A script with no answers, for a default folder that does not exist.
    pub(crate) fn empty(path: &Path) -> Script {
        Script {
            source: path.to_owned(),
            entries: Vec::new(),
        }
    }

    /// The file or folder the script was read from.
    pub(crate) fn source(&self) -> &Path {
        &self.source
    }

    /// Every entry, in order.
    pub(crate) fn entries(&self) -> &[Entry] {
        &self.entries
    }

    /// The entry at `index`, if any.
    pub(crate) fn entry(&self, index: usize) -> Option<&Entry> {
        self.entries.get(index)
    }

    /// The index of the entry that answers a call from `step` with
    /// `prompt`, skipping the entries in `used`.
    ///
    /// A step that has entries of its own is answered only by them; any
    /// other call by the entries without a step. Among those, the first
    /// unused one whose `match` the prompt contains wins.
    pub(crate) fn choose(
        &self,
        used: &BTreeSet<usize>,
        step: Option<&str>,
        prompt: &str,
    ) -> Result<usize, Error> {
        let own_step = step.filter(|step| self.has_step(step));
        let candidates: Vec<(usize, &Entry)> = self
            .entries
            .iter()
            .enumerate()
            .filter(|(_, entry)| entry.step.as_deref() == own_step)
            .collect();
        let found = candidates
            .iter()
            .find(|(index, entry)| !used.contains(index) && entry.matches(prompt));
        match found {
            Some((index, _)) => Ok(*index),
            None => Err(self.nothing_left(step, own_step.is_some(), &candidates, used, prompt)),
        }
    }

    fn has_step(&self, step: &str) -> bool {
        self.entries
            .iter()
            .any(|entry| entry.step.as_deref() == Some(step))
    }

    /// The `not_found` error for a call no entry answers, saying which
    /// entries were looked at and why none fit.
    fn nothing_left(
        &self,
        step: Option<&str>,
        step_has_entries: bool,
        candidates: &[(usize, &Entry)],
        used: &BTreeSet<usize>,
        prompt: &str,
    ) -> Error {
        let source = self.source.display();
        let unused = candidates
            .iter()
            .filter(|(index, _)| !used.contains(index))
            .count();
        let looked_at = match (step, step_has_entries) {
            (Some(step), true) => format!("the answers for step `{step}`"),
            (Some(step), false) => {
                format!("the answers without a step (none is for step `{step}`)")
            }
            (None, _) => "the answers without a step".to_owned(),
        };
        let why = if unused == 0 {
            format!("all {} of them are used", candidates.len())
        } else {
            format!(
                "none of the {unused} unused ones matches the prompt, which begins \"{}\"",
                excerpt(prompt)
            )
        };
        Error::not_found(format!(
            "no answer left in {source}: {looked_at} were looked at, and {why}"
        ))
    }
}

/// The first characters of `text`, on one line.
fn excerpt(text: &str) -> String {
    let flat: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    let mut cut: String = flat.chars().take(PROMPT_EXCERPT_CHARS).collect();
    if flat.chars().count() > PROMPT_EXCERPT_CHARS {
        cut.push_str("...");
    }
    cut
}

/// The answer files of a folder, sorted by name.
fn answer_files_in(dir: &Path) -> Result<Vec<PathBuf>, ScriptError> {
    let read_error = |err: std::io::Error| {
        ScriptError::new(format!(
            "cannot list the answers folder {}: {err}",
            dir.display()
        ))
    };
    let mut files = Vec::new();
    for item in fs::read_dir(dir).map_err(read_error)? {
        let path = item.map_err(read_error)?.path();
        let wanted = path
            .extension()
            .and_then(|ext| ext.to_str())
            .is_some_and(|ext| EXTENSIONS.contains(&ext.to_ascii_lowercase().as_str()));
        if wanted && path.is_file() {
            files.push(path);
        }
    }
    if files.is_empty() {
        return Err(ScriptError::new(format!(
            "the answers folder {} holds no .yaml, .yml or .json file",
            dir.display()
        )));
    }
    files.sort();
    Ok(files)
}

/// Reads one answers file: JSON when it ends in `.json`, YAML otherwise.
fn parse_file(path: &Path) -> Result<Vec<Entry>, ScriptError> {
    let text = fs::read_to_string(path).map_err(|err| {
        ScriptError::new(format!(
            "cannot read the answers file {}: {err}",
            path.display()
        ))
    })?;
    let is_json = path
        .extension()
        .is_some_and(|ext| ext.eq_ignore_ascii_case("json"));
    let defs = if is_json {
        parse_json(&text, path)?
    } else {
        parse_yaml(&text, path)?
    };
    defs.into_iter()
        .enumerate()
        .map(|(index, (def, line))| {
            let origin = Origin {
                file: path.to_owned(),
                position: index + 1,
                line,
            };
            check_entry(def, origin)
        })
        .collect()
}

fn parse_yaml(text: &str, path: &Path) -> Result<Vec<(EntryDef, Option<u64>)>, ScriptError> {
    // An empty document (or one of comments only) is an empty list.
    let parsed: Option<Vec<Spanned<EntryDef>>> = serde_saphyr::from_str(text).map_err(|err| {
        let position = err
            .location()
            .filter(|location| location.line() > 0)
            .map(|location| format!("line {}, column {}: ", location.line(), location.column()))
            .unwrap_or_default();
        let message = yaml_message(&err);
        ScriptError::new(format!(
            "{}: {position}{message}{}",
            path.display(),
            list_hint(&message)
        ))
    })?;
    Ok(parsed
        .unwrap_or_default()
        .into_iter()
        .map(|spanned| {
            let line = Some(spanned.referenced.line()).filter(|line| *line > 0);
            (spanned.value, line)
        })
        .collect())
}

/// serde-saphyr's message without its source snippet or position (the
/// position is reported in our own words), on one line.
fn yaml_message(err: &serde_saphyr::Error) -> String {
    use serde_saphyr::MessageFormatter as _;
    let message = serde_saphyr::DefaultMessageFormatter.format_message(err.without_snippet());
    message
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

/// A hint for the one mistake parsers describe cryptically: a file that is
/// not a list.
fn list_hint(message: &str) -> &'static str {
    if message.contains("sequence") {
        " (an answers file is a list: each answer starts with `- ` in YAML, or is an object \
         in a JSON array)"
    } else {
        ""
    }
}

fn parse_json(text: &str, path: &Path) -> Result<Vec<(EntryDef, Option<u64>)>, ScriptError> {
    if text.trim().is_empty() {
        return Ok(Vec::new());
    }
    let defs: Vec<EntryDef> = serde_json::from_str(text).map_err(|err| {
        let message = err.to_string();
        let message = message
            .split(" at line ")
            .next()
            .unwrap_or(&message)
            .to_owned();
        ScriptError::new(format!(
            "{}: line {}, column {}: {message}{}",
            path.display(),
            err.line(),
            err.column(),
            list_hint(&message)
        ))
    })?;
    Ok(defs.into_iter().map(|def| (def, None)).collect())
}

/// Checks what the format cannot: a `step` that names a step.
fn check_entry(def: EntryDef, origin: Origin) -> Result<Entry, ScriptError> {
    if def
        .step
        .as_deref()
        .is_some_and(|step| step.trim().is_empty())
    {
        return Err(ScriptError::new(format!(
            "{origin}: `step` is empty; name a workflow step, or leave `step` out"
        )));
    }
    Ok(Entry {
        step: def.step,
        pattern: def.pattern,
        answer: def.answer,
        input_tokens: def.input_tokens,
        output_tokens: def.output_tokens,
        findings: def.findings,
        origin,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use aido_plugin_api::ErrorKind;

    fn script_from(name: &str, text: &str) -> (tempfile::TempDir, Result<Script, ScriptError>) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(name);
        fs::write(&path, text).unwrap();
        let script = Script::load(&path);
        (dir, script)
    }

    const SCRIPT: &str = "\
# Answers for the demo.
- step: plan
  answer: first plan
- step: plan
  match: again
  answer: second plan
- match: summary
  answer: a summary
- answer: anything
  input_tokens: 10
  output_tokens: 20
";

    fn answers(script: &Script, picks: &[usize]) -> Vec<String> {
        picks
            .iter()
            .map(|i| script.entries()[*i].answer.clone())
            .collect()
    }

    #[test]
    fn yaml_entries_keep_their_lines() {
        let (_dir, script) = script_from("answers.yaml", SCRIPT);
        let script = script.unwrap();
        assert_eq!(script.entries().len(), 4);
        let lines: Vec<_> = script.entries().iter().map(|e| e.origin.line).collect();
        assert_eq!(lines, [Some(2), Some(4), Some(7), Some(9)]);
        assert_eq!(script.entries()[3].output_tokens, Some(20));
        assert_eq!(script.entries()[1].pattern.as_deref(), Some("again"));
    }

    #[test]
    fn steps_take_their_own_answers_in_order() {
        let (_dir, script) = script_from("answers.yaml", SCRIPT);
        let script = script.unwrap();
        let mut used = BTreeSet::new();
        let first = script.choose(&used, Some("plan"), "make a plan").unwrap();
        used.insert(first);
        // The second plan answer needs "again" in the prompt.
        let err = script
            .choose(&used, Some("plan"), "make a plan")
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::NotFound);
        assert!(err.message().contains("step `plan`"), "{err}");
        assert!(err.message().contains("answers.yaml"), "{err}");
        assert!(err.message().contains("\"make a plan\""), "{err}");
        let second = script.choose(&used, Some("plan"), "plan again").unwrap();
        used.insert(second);
        assert_eq!(
            answers(&script, &[first, second]),
            ["first plan", "second plan"]
        );
        let err = script
            .choose(&used, Some("plan"), "plan again")
            .unwrap_err();
        assert!(err.message().contains("all 2 of them are used"), "{err}");
    }

    #[test]
    fn other_calls_take_stepless_answers_whose_match_fits() {
        let (_dir, script) = script_from("answers.yaml", SCRIPT);
        let script = script.unwrap();
        let mut used = BTreeSet::new();
        // A step without answers of its own falls back to stepless ones.
        let pick = script
            .choose(&used, Some("review"), "write a summary")
            .unwrap();
        assert_eq!(answers(&script, &[pick]), ["a summary"]);
        used.insert(pick);
        let pick = script.choose(&used, None, "write a summary").unwrap();
        assert_eq!(answers(&script, &[pick]), ["anything"]);
        used.insert(pick);
        let err = script.choose(&used, Some("review"), "x").unwrap_err();
        assert!(err.message().contains("none is for step `review`"), "{err}");
    }

    #[test]
    fn unknown_fields_are_reported_with_their_line() {
        let (_dir, script) = script_from("a.yaml", "- answer: ok\n- anwser: typo\n");
        let err = script.unwrap_err().to_string();
        assert!(err.contains("a.yaml: line 2"), "{err}");
        assert!(err.contains("anwser"), "{err}");
    }

    #[test]
    fn a_file_that_is_not_a_list_gets_a_hint() {
        let (_dir, script) = script_from("a.yaml", "answer: x\n");
        let err = script.unwrap_err().to_string();
        assert!(err.contains("a.yaml: line 1, column 1"), "{err}");
        assert!(err.contains("an answers file is a list"), "{err}");
        let (_dir, script) = script_from("a.json", r#"{"answer": "x"}"#);
        assert!(
            script
                .unwrap_err()
                .to_string()
                .contains("an answers file is a list")
        );
    }

    #[test]
    fn yaml_syntax_errors_name_the_file_and_line() {
        let (_dir, script) = script_from("a.yaml", "- answer: ok\n- answer: [unclosed\n");
        let err = script.unwrap_err().to_string();
        assert!(err.contains("a.yaml: line "), "{err}");
    }

    #[test]
    fn json_files_are_read_and_located_on_error() {
        let (_dir, script) = script_from("a.json", r#"[{"answer": "x", "step": "s"}]"#);
        assert_eq!(script.unwrap().entries()[0].step.as_deref(), Some("s"));
        let (_dir, script) = script_from("b.json", "[\n{\"answer\": 1}]");
        let err = script.unwrap_err().to_string();
        assert!(err.contains("b.json: line 2"), "{err}");
    }

    #[test]
    fn empty_files_are_empty_scripts_and_empty_steps_are_errors() {
        let (_dir, script) = script_from("a.yaml", "# nothing yet\n");
        assert!(script.unwrap().entries().is_empty());
        let (_dir, script) = script_from("a.yaml", "- step: ''\n  answer: x\n");
        let err = script.unwrap_err().to_string();
        assert!(err.contains("answer 1 (line 1)"), "{err}");
        assert!(err.contains("`step` is empty"), "{err}");
    }

    #[test]
    fn folders_are_read_in_file_name_order() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("02-review.yaml"), "- answer: second\n").unwrap();
        fs::write(dir.path().join("01-plan.json"), r#"[{"answer": "first"}]"#).unwrap();
        fs::write(dir.path().join("notes.txt"), "ignored").unwrap();
        let script = Script::load(dir.path()).unwrap();
        let texts: Vec<_> = script.entries().iter().map(|e| e.answer.as_str()).collect();
        assert_eq!(texts, ["first", "second"]);

        let empty = tempfile::tempdir().unwrap();
        let err = Script::load(empty.path()).unwrap_err().to_string();
        assert!(err.contains("holds no .yaml"), "{err}");
    }

    #[test]
    fn a_missing_file_is_named() {
        let err = Script::load(Path::new("/nonexistent/answers.yaml"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("/nonexistent/answers.yaml"), "{err}");
    }
}
