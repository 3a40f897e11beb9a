//! `analyze_code` and `generate_code` on a chat model: the prompts, and
//! reading the answers robustly.
//!
//! A model asked for JSON may still wrap it in a fenced block, add a
//! sentence before it, or answer in prose; asked for one code block it may
//! add an explanation around it. The readers here take what is there: the
//! JSON object wherever it is (else the prose as the summary), the first
//! fenced block (else the whole answer as the code).

use aido_plugin_api::model::ai::{CodeAnalysisRequest, CodeGenerationRequest, Finding, Severity};
use serde_json::{Value, json};

/// The system prompt of `analyze_code`.
const ANALYSIS_SYSTEM: &str = "You are a careful code reviewer. Answer with one JSON object \
and nothing else: {\"summary\": \"<a short review in prose>\", \"findings\": [{\"severity\": \
\"info\" | \"warning\" | \"error\", \"line\": <line number counted from 1, or null>, \
\"message\": \"<what is wrong and how to fix it>\"}]}. Report real problems only; an empty \
list is a fine answer.";

/// The system prompt of `generate_code`.
const CODE_SYSTEM: &str = "You are an expert programmer. Answer with exactly one fenced code \
block holding the complete code asked for, then at most a short paragraph explaining it.";

/// The JSON Schema of the analysis answer, for providers that can enforce
/// one.
pub(crate) fn analysis_schema() -> Value {
    json!({
        "type": "object",
        "properties": {
            "summary": {"type": "string"},
            "findings": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "severity": {"type": "string", "enum": ["info", "warning", "error"]},
                        "line": {"type": ["integer", "null"]},
                        "message": {"type": "string"}
                    },
                    "required": ["severity", "line", "message"],
                    "additionalProperties": false
                }
            }
        },
        "required": ["summary", "findings"],
        "additionalProperties": false
    })
}

/// The system and user prompts of an analysis.
pub(crate) fn analysis_prompt(request: &CodeAnalysisRequest) -> (String, String) {
    let language = request.language.as_deref().unwrap_or("");
    let instructions = request
        .instructions
        .as_deref()
        .unwrap_or("Review this code: correctness, security, error handling, clarity.");
    let user = format!(
        "{instructions}\n\n{}",
        fenced(language, &numbered(&request.code))
    );
    (ANALYSIS_SYSTEM.to_owned(), user)
}

/// The system and user prompts of a code generation.
pub(crate) fn code_prompt(request: &CodeGenerationRequest) -> (String, String) {
    let mut user = String::new();
    for file in &request.context {
        let language = language_of_path(&file.path);
        user.push_str(&format!(
            "File `{}`:\n{}\n\n",
            file.path,
            fenced(language, &file.content)
        ));
    }
    if let Some(language) = &request.language {
        user.push_str(&format!("Write it in {language}.\n"));
    }
    user.push_str(&request.instructions);
    (CODE_SYSTEM.to_owned(), user)
}

/// `code` with line numbers, so findings can name lines.
fn numbered(code: &str) -> String {
    code.lines()
        .enumerate()
        .map(|(index, line)| format!("{:>4} | {line}", index + 1))
        .collect::<Vec<_>>()
        .join("\n")
}

/// `text` in a fence long enough that no line of `text` closes it.
fn fenced(language: &str, text: &str) -> String {
    let longest_run = text
        .lines()
        .map(|line| line.trim_start().chars().take_while(|c| *c == '`').count())
        .max()
        .unwrap_or(0);
    let fence = "`".repeat(longest_run.max(2) + 1);
    format!("{fence}{language}\n{text}\n{fence}")
}

/// A language tag from a file extension, for fences.
fn language_of_path(path: &str) -> &'static str {
    match path.rsplit('.').next().unwrap_or("") {
        "rs" => "rust",
        "py" => "python",
        "ts" | "tsx" => "typescript",
        "js" | "jsx" | "mjs" => "javascript",
        "go" => "go",
        "java" => "java",
        "rb" => "ruby",
        "sh" => "bash",
        "toml" => "toml",
        "yaml" | "yml" => "yaml",
        "json" => "json",
        "md" => "markdown",
        _ => "",
    }
}

/// The summary and findings in an analysis answer. An answer without a
/// usable JSON object is taken as a prose summary with no findings.
pub(crate) fn parse_analysis(answer: &str) -> (String, Vec<Finding>) {
    let Some(object) = find_json_object(answer) else {
        return (answer.trim().to_owned(), Vec::new());
    };
    let summary = object
        .get("summary")
        .and_then(Value::as_str)
        .map(str::to_owned)
        .unwrap_or_else(|| answer.trim().to_owned());
    let findings = object
        .get("findings")
        .and_then(Value::as_array)
        .map(|items| items.iter().filter_map(parse_finding).collect())
        .unwrap_or_default();
    (summary, findings)
}

fn parse_finding(item: &Value) -> Option<Finding> {
    let message = item
        .get("message")
        .or_else(|| item.get("description"))
        .and_then(Value::as_str)?
        .trim()
        .to_owned();
    if message.is_empty() {
        return None;
    }
    let severity = match item
        .get("severity")
        .and_then(Value::as_str)
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        Some("error" | "critical" | "high" | "blocker" | "major") => Severity::Error,
        Some("warning" | "warn" | "medium" | "moderate") => Severity::Warning,
        _ => Severity::Info,
    };
    let line = match item.get("line") {
        Some(Value::Number(n)) => n.as_u64().and_then(|n| u32::try_from(n).ok()),
        Some(Value::String(s)) => s.trim().parse().ok(),
        _ => None,
    }
    .filter(|line| *line > 0);
    Some(Finding {
        severity,
        line,
        message,
    })
}

/// The first JSON object in `text`: the whole text, the inside of a fenced
/// block, or the span from the first `{` to its matching `}`.
pub(crate) fn find_json_object(text: &str) -> Option<serde_json::Map<String, Value>> {
    let candidates = std::iter::once(text.trim().to_owned())
        .chain(fenced_blocks(text).into_iter().map(|(_, body)| body))
        .chain(balanced_object(text));
    candidates
        .filter_map(|candidate| serde_json::from_str::<Value>(candidate.trim()).ok())
        .find_map(|value| match value {
            Value::Object(object) => Some(object),
            _ => None,
        })
}

/// The text from the first `{` to the `}` that closes it, skipping braces
/// inside strings.
fn balanced_object(text: &str) -> Option<String> {
    let start = text.find('{')?;
    let mut depth = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    for (offset, c) in text[start..].char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' if in_string => escaped = true,
            '"' => in_string = !in_string,
            '{' if !in_string => depth += 1,
            '}' if !in_string => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    return Some(text[start..start + offset + 1].to_owned());
                }
            }
            _ => {}
        }
    }
    None
}

/// The fenced blocks of a Markdown answer: (info string, body).
fn fenced_blocks(text: &str) -> Vec<(String, String)> {
    let mut blocks = Vec::new();
    let mut lines = text.lines();
    while let Some(line) = lines.next() {
        let trimmed = line.trim_start();
        let fence_len = trimmed.chars().take_while(|c| *c == '`').count();
        if fence_len < 3 {
            continue;
        }
        let info = trimmed[fence_len..].trim().to_owned();
        let mut body = Vec::new();
        let mut closed = false;
        for inner in lines.by_ref() {
            let inner_trimmed = inner.trim();
            if inner_trimmed.len() >= fence_len && inner_trimmed.chars().all(|c| c == '`') {
                closed = true;
                break;
            }
            body.push(inner);
        }
        // An unclosed block (an answer cut at max_tokens) still holds code.
        blocks.push((info, body.join("\n")));
        if !closed {
            break;
        }
    }
    blocks
}

/// The code and the explanation in a generation answer: the first fenced
/// block and the prose around it; without a fence, the whole answer is the
/// code. The language is the block's tag when the request named none.
pub(crate) fn parse_code(answer: &str, language: Option<&str>) -> (String, Option<String>, String) {
    let blocks = fenced_blocks(answer);
    let Some((info, code)) = blocks.into_iter().next() else {
        return (
            answer.trim().to_owned(),
            language.map(str::to_owned),
            String::new(),
        );
    };
    let tag = info.split_whitespace().next().unwrap_or("");
    let language = language
        .map(str::to_owned)
        .or_else(|| (!tag.is_empty()).then(|| tag.to_owned()));
    let explanation = prose_outside_fences(answer);
    (code, language, explanation)
}

/// The lines of `text` outside fenced blocks, trimmed.
fn prose_outside_fences(text: &str) -> String {
    let mut out = Vec::new();
    let mut fence: Option<usize> = None;
    for line in text.lines() {
        let trimmed = line.trim();
        let ticks = trimmed.chars().take_while(|c| *c == '`').count();
        match fence {
            None if ticks >= 3 => fence = Some(ticks),
            None => out.push(line),
            Some(open) if ticks >= open && trimmed.chars().all(|c| c == '`') => fence = None,
            Some(_) => {}
        }
    }
    out.join("\n").trim().to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn analysis_json_is_found_bare_fenced_or_inside_prose() {
        let bare = r#"{"summary": "ok", "findings": [{"severity": "warning", "line": 3, "message": "unused"}]}"#;
        let fenced = format!("Here you go:\n```json\n{bare}\n```\n");
        let prose = format!("My review: {bare} Hope it helps.");
        for answer in [bare.to_owned(), fenced, prose] {
            let (summary, findings) = parse_analysis(&answer);
            assert_eq!(summary, "ok");
            assert_eq!(
                findings,
                vec![Finding {
                    severity: Severity::Warning,
                    line: Some(3),
                    message: "unused".into()
                }]
            );
        }
    }

    #[test]
    fn analysis_tolerates_odd_fields_and_prose_answers() {
        let answer = r#"{"summary": "s", "findings": [
            {"severity": "CRITICAL", "line": "12", "message": "sql injection"},
            {"severity": "nit", "line": 0, "message": "naming"},
            {"severity": "error", "message": ""},
            "not an object"
        ]}"#;
        let (_, findings) = parse_analysis(answer);
        assert_eq!(findings.len(), 2);
        assert_eq!(findings[0].severity, Severity::Error);
        assert_eq!(findings[0].line, Some(12));
        assert_eq!(findings[1].severity, Severity::Info);
        assert_eq!(findings[1].line, None);
        let (summary, findings) = parse_analysis("Looks fine to me.");
        assert_eq!(summary, "Looks fine to me.");
        assert!(findings.is_empty());
        // Braces inside strings do not confuse the scan.
        let (summary, _) = parse_analysis(r#"Note {"summary": "use {} here", "findings": []}"#);
        assert_eq!(summary, "use {} here");
    }

    #[test]
    fn code_is_the_first_fenced_block_and_the_rest_explains_it() {
        let answer = "Here it is:\n```rust\nfn main() {}\n```\nIt does nothing.";
        let (code, language, explanation) = parse_code(answer, None);
        assert_eq!(code, "fn main() {}");
        assert_eq!(language.as_deref(), Some("rust"));
        assert_eq!(explanation, "Here it is:\nIt does nothing.");
        let (code, language, explanation) = parse_code("print('hi')", Some("python"));
        assert_eq!(code, "print('hi')");
        assert_eq!(language.as_deref(), Some("python"));
        assert_eq!(explanation, "");
        // An answer cut inside its block still yields the code so far.
        let (code, _, _) = parse_code("```go\nfunc a() {", None);
        assert_eq!(code, "func a() {");
    }

    #[test]
    fn prompts_fence_code_safely_and_number_lines() {
        let request = CodeAnalysisRequest {
            code: "a\n```\nb".into(),
            language: Some("md".into()),
            instructions: None,
            model: None,
        };
        let (system, user) = analysis_prompt(&request);
        assert!(system.contains("\"findings\""));
        // Numbered lines never start with a fence, so three backticks do.
        assert!(
            user.ends_with("```md\n   1 | a\n   2 | ```\n   3 | b\n```"),
            "{user}"
        );
        let request = CodeGenerationRequest {
            instructions: "Add a test.".into(),
            language: None,
            context: vec![aido_plugin_api::model::ai::CodeFile {
                path: "src/lib.rs".into(),
                content: "```\nx".into(),
            }],
            model: None,
            max_tokens: None,
        };
        let (_, user) = code_prompt(&request);
        assert!(user.contains("````rust\n```\nx\n````"), "{user}");
    }
}
