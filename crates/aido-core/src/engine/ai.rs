//! AI steps: build the request, check the budgets against the provider's
//! estimate before calling, call, record the spend, and validate a JSON
//! answer against the step's schema.

use serde_json::Value;

use aido_plugin_api::model::ai::{AiRequest, ChatMessage, Completion, CostEstimate};
use aido_plugin_api::{CallContext, Error, PluginInstance};

use super::Inner;
use super::run::StepResult;
use crate::store::CostEntry;
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

    let estimate: CostEstimate = decode(
        provider
            .call(&cx, "estimate_cost", encode(&request)?)
            .await?,
    )?;
    check_budgets(inner, run_id, step, &estimate).await?;

    let completion: Completion = decode(
        provider
            .call(&cx, "generate_text", encode(&request)?)
            .await?,
    )?;
    record_spend(inner, run_id, file, step, provider, &completion).await?;

    let output = match &step.output_schema {
        Some(schema) => parse_answer(&completion.text, schema)?,
        None => Value::String(completion.text.clone()),
    };
    Ok(StepResult {
        output,
        cost_usd: completion.cost_usd,
        tokens: completion.usage.total(),
    })
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
            let mut env = minijinja::Environment::new();
            env.set_undefined_behavior(minijinja::UndefinedBehavior::SemiStrict);
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

/// Refuses the call, before it is made, when its most expensive outcome
/// would exceed the step's, the task's or the month's budget.
async fn check_budgets(
    inner: &Inner,
    run_id: &str,
    step: &Step,
    estimate: &CostEstimate,
) -> Result<(), Error> {
    let limits = &inner.config.limits;
    let cost = estimate.estimated_cost_usd;
    let tokens = estimate.input_tokens + estimate.max_output_tokens;
    let what = format!(
        "the AI step `{}` could cost up to ${cost:.4} ({} input + {} output tokens of {})",
        step.name, estimate.input_tokens, estimate.max_output_tokens, estimate.model
    );
    if let Some(limit) = step.cost_limit
        && cost > limit
    {
        return Err(budget(format!(
            "{what}, over the step's cost_limit of ${limit:.4}"
        )));
    }
    let store = &inner.store;
    let (spent, spent_tokens) = store
        .run_spend(run_id)
        .await
        .map_err(|e| Error::other(e.to_string()))?;
    if spent + cost > limits.max_cost_per_task {
        return Err(budget(format!(
            "{what}; with the ${spent:.4} this run has spent that exceeds limits.max_cost_per_task of ${:.4}",
            limits.max_cost_per_task
        )));
    }
    if spent_tokens + tokens > limits.max_tokens_per_task {
        return Err(budget(format!(
            "{what}; with the {spent_tokens} tokens this run has spent that exceeds limits.max_tokens_per_task of {}",
            limits.max_tokens_per_task
        )));
    }
    let month = chrono::Utc::now().format("%Y-%m").to_string();
    let month_spent = store
        .month_spend(&month)
        .await
        .map_err(|e| Error::other(e.to_string()))?;
    if month_spent + cost > limits.monthly_budget {
        return Err(budget(format!(
            "{what}; with the ${month_spent:.4} spent in {month} that exceeds limits.monthly_budget of ${:.4}",
            limits.monthly_budget
        )));
    }
    Ok(())
}

/// A refused call: not retryable, since waiting does not make money.
fn budget(message: String) -> Error {
    Error::invalid_input(format!("budget exceeded: {message}; the AI was not called"))
}

async fn record_spend(
    inner: &Inner,
    run_id: &str,
    file: &WorkflowFile,
    step: &Step,
    provider: &PluginInstance,
    completion: &Completion,
) -> Result<(), Error> {
    let entry = CostEntry {
        step: step.name.clone(),
        workflow: file.workflow.name.clone(),
        provider: provider.plugin().metadata().name.clone(),
        model: completion.model.clone(),
        input_tokens: completion.usage.input_tokens,
        output_tokens: completion.usage.output_tokens,
        cost_usd: completion.cost_usd,
    };
    inner
        .store
        .record_cost(run_id, &entry)
        .await
        .map_err(|e| Error::other(e.to_string()))
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

fn encode<T: serde::Serialize>(value: &T) -> Result<Value, Error> {
    serde_json::to_value(value)
        .map_err(|err| Error::other(format!("cannot encode the AI request: {err}")))
}

fn decode<T: serde::de::DeserializeOwned>(value: Value) -> Result<T, Error> {
    serde_json::from_value(value).map_err(|err| {
        Error::invalid_response(format!("the AI provider's answer does not fit: {err}"))
    })
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
