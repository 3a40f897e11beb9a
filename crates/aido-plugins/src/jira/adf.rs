//! Atlassian Document Format: Jira v3's rich text, for descriptions and
//! comments.
//!
//! A document is `{"type": "doc", "version": 1, "content": [blocks]}`.
//! Markdown-ish text becomes paragraphs (split at blank lines, single line
//! breaks as `hardBreak`s) and fenced code blocks (`codeBlock` with its
//! language). Back to text, paragraphs, headings, lists, quotes, rules and
//! code blocks are written as Markdown; inline nodes give their text
//! (mentions and emoji their label, cards their URL).

use serde_json::{Value, json};

/// `text` as an ADF document.
pub(super) fn from_text(text: &str) -> Value {
    let mut blocks = Vec::new();
    let mut paragraph: Vec<&str> = Vec::new();
    let mut code: Option<(String, Vec<&str>)> = None;
    for line in text.lines() {
        if let Some((language, lines)) = &mut code {
            if line.trim_start().starts_with("```") {
                blocks.push(code_block(language, &lines.join("\n")));
                code = None;
            } else {
                lines.push(line);
            }
            continue;
        }
        if let Some(language) = line.trim_start().strip_prefix("```") {
            flush(&mut paragraph, &mut blocks);
            code = Some((language.trim().to_owned(), Vec::new()));
        } else if line.trim().is_empty() {
            flush(&mut paragraph, &mut blocks);
        } else {
            paragraph.push(line);
        }
    }
    if let Some((language, lines)) = code {
        blocks.push(code_block(&language, &lines.join("\n")));
    }
    flush(&mut paragraph, &mut blocks);
    json!({"type": "doc", "version": 1, "content": blocks})
}

fn code_block(language: &str, text: &str) -> Value {
    let mut block = json!({"type": "codeBlock", "content": []});
    if !language.is_empty() {
        block["attrs"] = json!({"language": language});
    }
    if !text.is_empty() {
        block["content"] = json!([{"type": "text", "text": text}]);
    }
    block
}

fn flush(lines: &mut Vec<&str>, blocks: &mut Vec<Value>) {
    if lines.is_empty() {
        return;
    }
    let mut content = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        if i > 0 {
            content.push(json!({"type": "hardBreak"}));
        }
        content.push(json!({"type": "text", "text": line}));
    }
    blocks.push(json!({"type": "paragraph", "content": content}));
    lines.clear();
}

/// An ADF document (or `null`) as Markdown-ish text.
pub(super) fn to_text(doc: &Value) -> String {
    let blocks: Vec<String> = children(doc)
        .iter()
        .map(block_text)
        .filter(|b| !b.is_empty())
        .collect();
    blocks.join("\n\n")
}

fn children(node: &Value) -> &[Value] {
    node.get("content")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[])
}

fn block_text(node: &Value) -> String {
    let kind = node.get("type").and_then(Value::as_str).unwrap_or("");
    match kind {
        "paragraph" => inline_text(node),
        "heading" => {
            let level = node
                .pointer("/attrs/level")
                .and_then(Value::as_u64)
                .unwrap_or(1)
                .clamp(1, 6) as usize;
            format!("{} {}", "#".repeat(level), inline_text(node))
        }
        "codeBlock" => {
            let language = node
                .pointer("/attrs/language")
                .and_then(Value::as_str)
                .unwrap_or("");
            format!("```{language}\n{}\n```", inline_text(node))
        }
        "bulletList" | "orderedList" => children(node)
            .iter()
            .enumerate()
            .map(|(i, item)| {
                let marker = if kind == "orderedList" {
                    format!("{}.", i + 1)
                } else {
                    "-".to_owned()
                };
                let text = children(item)
                    .iter()
                    .map(block_text)
                    .collect::<Vec<_>>()
                    .join("\n  ");
                format!("{marker} {text}")
            })
            .collect::<Vec<_>>()
            .join("\n"),
        "blockquote" => children(node)
            .iter()
            .map(block_text)
            .map(|text| format!("> {}", text.replace('\n', "\n> ")))
            .collect::<Vec<_>>()
            .join("\n>\n"),
        "rule" => "---".to_owned(),
        _ if node.get("text").is_some() => inline_text(&json!({"content": [node]})),
        _ => children(node)
            .iter()
            .map(block_text)
            .filter(|b| !b.is_empty())
            .collect::<Vec<_>>()
            .join("\n\n"),
    }
}

fn inline_text(node: &Value) -> String {
    let mut out = String::new();
    for child in children(node) {
        match child.get("type").and_then(Value::as_str).unwrap_or("") {
            "text" => out.push_str(child.get("text").and_then(Value::as_str).unwrap_or("")),
            "hardBreak" => out.push('\n'),
            "mention" | "emoji" | "status" => out.push_str(
                child
                    .pointer("/attrs/text")
                    .and_then(Value::as_str)
                    .unwrap_or(""),
            ),
            "inlineCard" => out.push_str(
                child
                    .pointer("/attrs/url")
                    .and_then(Value::as_str)
                    .unwrap_or(""),
            ),
            _ => out.push_str(&inline_text(child)),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jira_adf_paragraphs_and_code_round_trip() {
        let text = "First line\nsecond line\n\n```rust\nfn main() {}\n```\n\nLast";
        let doc = from_text(text);
        assert_eq!(doc["type"], "doc");
        assert_eq!(doc["version"], 1);
        assert_eq!(doc["content"][0]["type"], "paragraph");
        assert_eq!(doc["content"][0]["content"][1]["type"], "hardBreak");
        assert_eq!(doc["content"][1]["type"], "codeBlock");
        assert_eq!(doc["content"][1]["attrs"]["language"], "rust");
        assert_eq!(to_text(&doc), text);
        assert_eq!(to_text(&Value::Null), "");
        assert_eq!(from_text("")["content"], json!([]));
    }

    #[test]
    fn jira_adf_other_nodes_become_markdown() {
        let doc = json!({"type": "doc", "version": 1, "content": [
            {"type": "heading", "attrs": {"level": 2}, "content": [{"type": "text", "text": "Plan"}]},
            {"type": "bulletList", "content": [
                {"type": "listItem", "content": [{"type": "paragraph", "content": [
                    {"type": "text", "text": "ask "},
                    {"type": "mention", "attrs": {"id": "1", "text": "@Alice"}}
                ]}]}
            ]}
        ]});
        assert_eq!(to_text(&doc), "## Plan\n\n- ask @Alice");
    }
}
