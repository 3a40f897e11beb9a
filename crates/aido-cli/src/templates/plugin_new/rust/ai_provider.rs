//! The plugin: an echoing model that counts tokens roughly (four characters
//! a token) and costs nothing, so workflows run against it offline. Replace
//! the bodies with calls to your model's API.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};

use aido_plugin_api::model::ai::{
    AiRequest, CodeAnalysis, CodeAnalysisRequest, CodeGenerationRequest, Completion, CostEstimate,
    GeneratedCode, ModelUsage, TokenUsage, UsageQuery, UsageStats,
};
use aido_plugin_api::{
    AiProvider, CallContext, ConfigProblem, Error, Health, Plugin, PluginConfig, PluginInstance,
    PluginMetadata, Result, async_trait,
};

use crate::config::{Config, META};

/// The model named when a call names none.
const DEFAULT_MODEL: &str = "echo-1";

/// The plugin, ready to serve.
pub fn instance() -> PluginInstance {
    PluginInstance::AiProvider(Arc::new({{struct}}::default()))
}

/// A rough token count: four characters a token.
fn tokens(text: &str) -> u64 {
    (text.chars().count() as u64 / 4).max(1)
}

/// The prompt of a request, as one text.
fn prompt(request: &AiRequest) -> Result<String> {
    if request.messages.is_empty() {
        return Err(Error::invalid_input(
            "`messages` must hold at least one message",
        ));
    }
    let mut text = request.system.clone().unwrap_or_default();
    for message in &request.messages {
        text.push('\n');
        text.push_str(&message.content);
    }
    Ok(text)
}

/// An echoing model.
#[derive(Default)]
pub struct {{struct}} {
    usage: Mutex<BTreeMap<String, ModelUsage>>,
}

impl {{struct}} {
    fn usage(&self) -> MutexGuard<'_, BTreeMap<String, ModelUsage>> {
        self.usage
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Counts a call against `model`; returns its usage.
    fn spend(&self, model: &str, prompt: &str, answer: &str) -> TokenUsage {
        let usage = TokenUsage {
            input_tokens: tokens(prompt),
            output_tokens: tokens(answer),
        };
        let mut all = self.usage();
        let entry = all.entry(model.to_owned()).or_default();
        entry.requests += 1;
        entry.usage.input_tokens += usage.input_tokens;
        entry.usage.output_tokens += usage.output_tokens;
        usage
    }
}

#[async_trait]
impl Plugin for {{struct}} {
    fn metadata(&self) -> &PluginMetadata {
        &META
    }

    fn validate_config(&self, config: &PluginConfig) -> Vec<ConfigProblem> {
        crate::config::problems(config)
    }

    async fn connect(&self, config: &PluginConfig) -> Result<()> {
        let config: Config = config.parse()?;
        aido_plugin_sdk::log(
            aido_plugin_sdk::LogLevel::Info,
            format!("connected ({})", config.prefix_or("AI")),
        );
        Ok(())
    }

    async fn disconnect(&self) -> Result<()> {
        Ok(())
    }

    async fn health_check(&self) -> Health {
        Health::Healthy
    }
}

#[async_trait]
impl AiProvider for {{struct}} {
    async fn generate_text(&self, _cx: &CallContext, input: AiRequest) -> Result<Completion> {
        let prompt = prompt(&input)?;
        let model = input
            .model
            .clone()
            .unwrap_or_else(|| DEFAULT_MODEL.to_owned());
        // An answer that fits any object schema when one is asked for.
        let text = match (&input.json_schema, input.messages.last()) {
            (Some(_), _) => "{}".to_owned(),
            (None, Some(last)) => format!("echo: {}", last.content),
            (None, None) => String::new(),
        };
        let usage = self.spend(&model, &prompt, &text);
        Ok(Completion {
            text,
            model,
            usage,
            cost_usd: 0.0,
            stop_reason: Some("end_turn".to_owned()),
        })
    }

    async fn analyze_code(
        &self,
        _cx: &CallContext,
        input: CodeAnalysisRequest,
    ) -> Result<CodeAnalysis> {
        let model = input.model.unwrap_or_else(|| DEFAULT_MODEL.to_owned());
        let summary = format!(
            "{} lines of {}; no findings",
            input.code.lines().count(),
            input.language.as_deref().unwrap_or("code")
        );
        let usage = self.spend(&model, &input.code, &summary);
        Ok(CodeAnalysis {
            summary,
            findings: Vec::new(),
            usage,
            cost_usd: 0.0,
        })
    }

    async fn generate_code(
        &self,
        _cx: &CallContext,
        input: CodeGenerationRequest,
    ) -> Result<GeneratedCode> {
        let model = input.model.unwrap_or_else(|| DEFAULT_MODEL.to_owned());
        let code = format!("// TODO: {}\n", input.instructions);
        let usage = self.spend(&model, &input.instructions, &code);
        Ok(GeneratedCode {
            code,
            language: input.language,
            explanation: "A placeholder.".to_owned(),
            usage,
            cost_usd: 0.0,
        })
    }

    async fn estimate_cost(&self, _cx: &CallContext, input: AiRequest) -> Result<CostEstimate> {
        let prompt = prompt(&input)?;
        Ok(CostEstimate {
            model: input.model.unwrap_or_else(|| DEFAULT_MODEL.to_owned()),
            input_tokens: tokens(&prompt),
            max_output_tokens: u64::from(input.max_tokens.unwrap_or(1024)),
            estimated_cost_usd: 0.0,
        })
    }

    async fn get_usage_stats(&self, _cx: &CallContext, _input: UsageQuery) -> Result<UsageStats> {
        let by_model = self.usage().clone();
        let mut stats = UsageStats::default();
        for usage in by_model.values() {
            stats.requests += usage.requests;
            stats.usage.input_tokens += usage.usage.input_tokens;
            stats.usage.output_tokens += usage.usage.output_tokens;
        }
        stats.by_model = by_model;
        Ok(stats)
    }
}

#[cfg(test)]
mod tests {
    use aido_plugin_api::{CallContext, ErrorKind, PluginConfig, PluginInstance};
    use serde_json::{Value, json};

    use super::instance;

    /// The plugin, connected, called through the action catalog exactly as
    /// aido calls it.
    async fn connected() -> PluginInstance {
        let plugin = instance();
        let config = PluginConfig::new("ai_provider", json!({}), ".", ".aido");
        plugin.plugin().connect(&config).await.unwrap();
        plugin
    }

    async fn call(plugin: &PluginInstance, action: &str, input: Value) -> Value {
        plugin
            .call(&CallContext::detached(), action, input)
            .await
            .unwrap()
    }

    #[tokio::test]
    async fn answers_are_counted_in_the_usage() {
        let plugin = connected().await;
        let answer = call(
            &plugin,
            "generate_text",
            json!({"messages": [{"role": "user", "content": "Hello there"}]}),
        )
        .await;
        assert_eq!(answer["text"], "echo: Hello there");
        call(&plugin, "analyze_code", json!({"code": "fn main() {}\n"})).await;
        call(
            &plugin,
            "generate_code",
            json!({"instructions": "add a test"}),
        )
        .await;
        let stats = call(&plugin, "get_usage_stats", json!({})).await;
        assert_eq!(stats["requests"], 3);
        assert_eq!(stats["by_model"]["echo-1"]["requests"], 3);
    }

    #[tokio::test]
    async fn costs_are_estimated_without_a_call() {
        let plugin = connected().await;
        let estimate = call(
            &plugin,
            "estimate_cost",
            json!({"messages": [{"role": "user", "content": "x"}], "max_tokens": 10}),
        )
        .await;
        assert_eq!(estimate["max_output_tokens"], 10);
        assert_eq!(
            call(&plugin, "get_usage_stats", json!({})).await["requests"],
            0
        );
        let err = plugin
            .call(
                &CallContext::detached(),
                "generate_text",
                json!({"messages": []}),
            )
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput);
    }
}
