//! AI steps: build the request, check the budgets against the provider's
//! estimate before calling, call, record the spend, and validate a JSON
//! answer against the step's schema.

use serde_json::Value;

use aido_plugin_api::model::ai::{AiRequest, ChatMessage};
use aido_plugin_api::{CallContext, Error};

use super::Inner;
use super::gateway::{AiGateway, GuardedCall};
use super::run::StepResult;
use crate::workflow::expr::Scope;
use crate::workflow::model::Step;
use crate::workflow::validate::WorkflowFile;

/// Runs an AI step.
pub(super) async fn run(
    inner: &Inner,
    run_id: &str,
    file: &WorkflowFile,
    step: &Step,
    scope: &Scope,
    key: &str,
) -> Result<StepResult, Error> {
    let provider_name = step.plugin.as_deref().unwrap_or("ai_provider");
    let provider = inner.plugins.get(provider_name).ok_or_else(|| {
        Error::configuration(format!("no AI provider `{provider_name}` is configured"))
    })?;
    let request = build_request(inner, file, step, scope)?;
    let cx = CallContext {
        run_id: Some(run_id.to_owned()),
        step: Some(step.name.clone()),
        idempotency_key: Some(key.to_owned()),
    };

    let gateway = AiGateway::new(inner.store.clone(), inner.config.limits.clone());
    let call = GuardedCall {
        run_id,
        workflow: &file.workflow.name,
        step: &step.name,
        cost_limit: step.cost_limit,
    };
    let completion = gateway.complete(provider, &cx, &call, &request).await?;

    let Some(schema) = &step.output_schema else {
        return Ok(StepResult {
            output: Value::String(completion.text.clone()),
            cost_usd: completion.cost_usd,
            tokens: completion.usage.total(),
        });
    };
    match parse_answer(&completion.text, schema) {
        Ok(output) => Ok(StepResult {
            output,
            cost_usd: completion.cost_usd,
            tokens: completion.usage.total(),
        }),
        Err(problem) => {
            // The answer goes back once with what is wrong with it; a
            // second miss fails the step clearly.
            let mut retry = request.clone();
            retry
                .messages
                .push(ChatMessage::assistant(completion.text.clone()));
            retry.messages.push(ChatMessage::user(format!(
                "Your answer cannot be used: {}. Answer again with only the JSON, matching this JSON Schema:\n{}",
                problem.message(),
                serde_json::to_string_pretty(schema).unwrap_or_default()
            )));
            let retry_cx = CallContext {
                idempotency_key: Some(format!("{key}:retry")),
                ..cx.clone()
            };
            let second = gateway.complete(provider, &retry_cx, &call, &retry).await?;
            let output = parse_answer(&second.text, schema).map_err(|err| {
                Error::invalid_response(format!(
                    "the answer failed the schema twice; last time: {}",
                    err.message()
                ))
            })?;
            Ok(StepResult {
                output,
                cost_usd: completion.cost_usd + second.cost_usd,
                tokens: completion.usage.total() + second.usage.total(),
            })
        }
    }
}

fn build_request(
    inner: &Inner,
    file: &WorkflowFile,
    step: &Step,
    scope: &Scope,
) -> Result<AiRequest, Error> {
    let prompt = match (&step.prompt, &step.prompt_template) {
        (Some(prompt), _) => render_text(inner, prompt, scope)?,
        (None, Some(template)) => {
            let path = file
                .origin
                .parent()
                .unwrap_or(std::path::Path::new("."))
                .join(template);
            let source = std::fs::read_to_string(&path).map_err(|err| {
                Error::configuration(format!(
                    "cannot read the prompt template {}: {err}",
                    path.display()
                ))
            })?;
            let env = crate::workflow::expr::environment();
            env.render_str(
                &source,
                minijinja::Value::from(minijinja::value::Serde(scope.json())),
            )
            .map_err(|err| {
                Error::invalid_input(format!("prompt template {}: {err}", path.display()))
            })?
        }
        (None, None) => {
            return Err(Error::invalid_input(
                "an AI step needs `prompt` or `prompt_template`",
            ));
        }
    };
    let system = step
        .system
        .as_ref()
        .map(|s| render_text(inner, s, scope))
        .transpose()?;
    Ok(AiRequest {
        system,
        messages: vec![ChatMessage::user(prompt)],
        model: step.model.clone(),
        max_tokens: step.max_tokens,
        temperature: step.temperature,
        stop: Vec::new(),
        json_schema: step.output_schema.clone(),
        workdir: None,
    })
}

fn render_text(inner: &Inner, text: &str, scope: &Scope) -> Result<String, Error> {
    match inner
        .evaluator
        .render_str(text, scope)
        .map_err(|err| Error::invalid_input(format!("prompt: {err}")))?
    {
        Value::String(s) => Ok(s),
        other => Ok(other.to_string()),
    }
}

/// The answer as JSON matching `schema`. Models often wrap JSON in a
/// Markdown fence or add a sentence around it; the first JSON value found is
/// used.
pub(crate) fn parse_answer(text: &str, schema: &Value) -> Result<Value, Error> {
    let value = extract_json(text).ok_or_else(|| {
        Error::invalid_response(format!(
            "the answer is not JSON (it starts with {:?})",
            text.chars().take(80).collect::<String>()
        ))
    })?;
    let validator = jsonschema::validator_for(schema).map_err(|err| {
        Error::configuration(format!("output_schema is not a valid JSON Schema: {err}"))
    })?;
    let problems: Vec<String> = crate::config::schema::check(schema, &value)
        .into_iter()
        .map(|v| {
            format!(
                "{}: {}",
                if v.pointer.is_empty() {
                    "/"
                } else {
                    &v.pointer
                },
                v.message
            )
        })
        .collect();
    if !validator.is_valid(&value) {
        return Err(Error::invalid_response(format!(
            "the answer does not match output_schema: {}",
            problems.join("; ")
        )));
    }
    Ok(value)
}

fn extract_json(text: &str) -> Option<Value> {
    let trimmed = text.trim();
    if let Ok(value) = serde_json::from_str(trimmed) {
        return Some(value);
    }
    let unfenced = trimmed
        .split("```")
        .nth(1)
        .map(|block| block.trim_start_matches("json").trim());
    if let Some(block) = unfenced
        && let Ok(value) = serde_json::from_str(block)
    {
        return Some(value);
    }
    let start = trimmed.find(['{', '['])?;
    let mut stream = serde_json::Deserializer::from_str(&trimmed[start..]).into_iter::<Value>();
    stream.next()?.ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn answers_are_found_in_fences_and_prose() {
        let schema = json!({"type": "object", "required": ["steps"]});
        assert_eq!(
            parse_answer("{\"steps\": [1]}", &schema).unwrap(),
            json!({"steps": [1]})
        );
        assert_eq!(
            parse_answer("Here:\n```json\n{\"steps\": []}\n```\nDone.", &schema).unwrap(),
            json!({"steps": []})
        );
        assert_eq!(
            parse_answer("Sure! {\"steps\": [2]} hope it helps", &schema).unwrap(),
            json!({"steps": [2]})
        );
        let err = parse_answer("{\"plan\": 1}", &schema).unwrap_err();
        assert!(
            err.to_string().contains("missing required key `steps`"),
            "{err}"
        );
        assert!(parse_answer("no json here", &schema).is_err());
    }
}
