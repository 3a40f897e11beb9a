//! The one prompt an agent CLI takes, made from each action's request.
//!
//! An agent CLI takes a single task, not a conversation: the system prompt
//! and the turns are written out as one text. A request with only one user
//! message and nothing else is passed exactly as written.

use std::fmt::Write as _;

use aido_plugin_api::model::ai::{AiRequest, CodeAnalysisRequest, CodeGenerationRequest, Role};

/// The prompt of `generate_text`.
pub(crate) fn for_text(request: &AiRequest) -> String {
    if let [only] = request.messages.as_slice()
        && only.role == Role::User
        && request.system.is_none()
        && request.json_schema.is_none()
    {
        return only.content.clone();
    }
    let mut prompt = String::new();
    if let Some(system) = request.system.as_deref().filter(|s| !s.trim().is_empty()) {
        let _ = write!(prompt, "{}\n\n", system.trim_end());
    }
    if let [only] = request.messages.as_slice()
        && only.role == Role::User
    {
        prompt.push_str(&only.content);
    } else {
        prompt.push_str("The conversation so far; answer its last message.\n");
        for message in &request.messages {
            let speaker = match message.role {
                Role::User => "User",
                Role::Assistant => "Assistant",
            };
            let _ = write!(
                prompt,
                "\n### {speaker}\n\n{}\n",
                message.content.trim_end()
            );
        }
    }
    if let Some(schema) = &request.json_schema {
        let _ = write!(
            prompt,
            "\n\nEnd your final message with a JSON value that follows this JSON Schema, \
             and nothing after it:\n\n```json\n{schema:#}\n```\n"
        );
    }
    prompt
}

/// The prompt of `analyze_code`: a review that must leave the files alone.
pub(crate) fn for_analysis(request: &CodeAnalysisRequest) -> String {
    let language = request.language.as_deref().unwrap_or("");
    let what = request
        .instructions
        .as_deref()
        .filter(|i| !i.trim().is_empty())
        .unwrap_or(
            "Review this code: point out bugs, risky constructs and unclear parts, with line \
             numbers.",
        );
    format!(
        "{what}\n\nThis is a review only: do not change any file.\n\n```{language}\n{}\n```\n",
        request.code.trim_end()
    )
}

/// The prompt of `generate_code`: the instructions, the language and the
/// context files.
pub(crate) fn for_generation(request: &CodeGenerationRequest) -> String {
    let mut prompt = request.instructions.trim_end().to_owned();
    if let Some(language) = &request.language {
        let _ = write!(prompt, "\n\nWrite it in {language}.");
    }
    if !request.context.is_empty() {
        prompt.push_str("\n\nFiles to read first:\n");
        for file in &request.context {
            let _ = write!(
                prompt,
                "\n### {}\n\n```\n{}\n```\n",
                file.path,
                file.content.trim_end()
            );
        }
    }
    prompt
}

#[cfg(test)]
mod tests {
    use super::*;
    use aido_plugin_api::model::ai::{ChatMessage, CodeFile};

    #[test]
    fn a_single_user_message_is_passed_as_written() {
        let request = AiRequest {
            messages: vec![ChatMessage::user("  Fix PROJ-1\n")],
            ..AiRequest::default()
        };
        assert_eq!(for_text(&request), "  Fix PROJ-1\n");
    }

    #[test]
    fn system_prompt_conversation_and_schema_are_written_out() {
        let request = AiRequest {
            system: Some("You are careful.".into()),
            messages: vec![
                ChatMessage::user("Plan it"),
                ChatMessage::assistant("1. a"),
                ChatMessage::user("Now do it"),
            ],
            json_schema: Some(serde_json::json!({"type": "object"})),
            ..AiRequest::default()
        };
        let prompt = for_text(&request);
        assert!(prompt.starts_with("You are careful.\n\n"), "{prompt}");
        assert!(prompt.contains("### User\n\nPlan it\n"), "{prompt}");
        assert!(prompt.contains("### Assistant\n\n1. a\n"), "{prompt}");
        assert!(prompt.contains("\"type\": \"object\""), "{prompt}");

        let request = AiRequest {
            system: Some("Be brief.".into()),
            messages: vec![ChatMessage::user("Do it")],
            ..AiRequest::default()
        };
        assert_eq!(for_text(&request), "Be brief.\n\nDo it");
    }

    #[test]
    fn analysis_and_generation_prompts_carry_the_request() {
        let prompt = for_analysis(&CodeAnalysisRequest {
            code: "fn f() {}".into(),
            language: Some("rust".into()),
            instructions: None,
            model: None,
        });
        assert!(prompt.contains("do not change any file"), "{prompt}");
        assert!(prompt.contains("```rust\nfn f() {}\n```"), "{prompt}");

        let prompt = for_generation(&CodeGenerationRequest {
            instructions: "Add retry".into(),
            language: Some("Rust".into()),
            context: vec![CodeFile {
                path: "src/net.rs".into(),
                content: "fn get() {}\n".into(),
            }],
            model: None,
            max_tokens: None,
        });
        assert!(
            prompt.starts_with("Add retry\n\nWrite it in Rust."),
            "{prompt}"
        );
        assert!(
            prompt.contains("### src/net.rs\n\n```\nfn get() {}\n```"),
            "{prompt}"
        );
    }
}
