//! What the AI providers that call a chat API over HTTP share: the five
//! `ai_provider` actions written once over a [`ChatApi`].
//!
//! A provider plugin (`anthropic`, `openai`) only maps one conversation to
//! its service's request and back ([`ChatApi::chat`]); [`ChatProvider`]
//! does the rest the same way for all of them:
//!
//! - `generate_text`: the request as it is, with the configured model and
//!   `max_tokens` filled in; cost from the service's token counts and the
//!   price table ([`crate::ai_pricing`]).
//! - `analyze_code` / `generate_code`: a prompt asking for JSON or for one
//!   fenced code block ([`code_tasks`]), read robustly.
//! - `estimate_cost`: the estimated input tokens plus `max_tokens` of
//!   output, priced: the most the call can cost.
//! - `get_usage_stats`: the calls since connect, from a [`UsageLedger`].
//!
//! A request's `json_schema` is passed to the API when it can enforce one
//! ([`ChatApi::enforces_json_schema`]), and otherwise written into the
//! system prompt ([`schema_instruction`]); the engine validates the answer
//! either way.

pub(crate) mod code_tasks;
mod options;

use aido_plugin_api::model::ai::{
    AiRequest, ChatMessage, CodeAnalysis, CodeAnalysisRequest, CodeGenerationRequest, Completion,
    CostEstimate, GeneratedCode, TokenUsage, UsageQuery, UsageStats,
};
use aido_plugin_api::{Error, Result, async_trait};
use serde_json::Value;

pub(crate) use options::{CommonOptions, check_options, http_timeouts};

use crate::ai_pricing::{PriceTable, UsageLedger, estimate_request_tokens};

/// One conversation to send, with everything decided.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ChatCall {
    /// The system prompt.
    pub(crate) system: Option<String>,
    /// The turns.
    pub(crate) messages: Vec<ChatMessage>,
    /// The model.
    pub(crate) model: String,
    /// The most tokens to generate.
    pub(crate) max_tokens: u32,
    /// Sampling temperature.
    pub(crate) temperature: Option<f32>,
    /// Stop sequences.
    pub(crate) stop: Vec<String>,
    /// A JSON Schema for the answer, for APIs that enforce one.
    pub(crate) json_schema: Option<Value>,
}

/// The service's answer to a [`ChatCall`].
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ChatReply {
    /// The text.
    pub(crate) text: String,
    /// The model that answered, as the service names it.
    pub(crate) model: String,
    /// The tokens the service counted.
    pub(crate) usage: TokenUsage,
    /// Why it stopped, in the service's words.
    pub(crate) stop_reason: Option<String>,
}

/// One chat API: sends a conversation, returns the answer.
#[async_trait]
pub(crate) trait ChatApi: Send + Sync + 'static {
    /// Sends `call` for the plugin action `operation`.
    async fn chat(&self, operation: &str, call: &ChatCall) -> Result<ChatReply>;

    /// Whether [`ChatCall::json_schema`] is enforced by the service; when
    /// not, the schema is written into the system prompt instead.
    fn enforces_json_schema(&self) -> bool;
}

/// The `ai_provider` actions over a [`ChatApi`].
#[derive(Debug)]
pub(crate) struct ChatProvider<A> {
    api: A,
    model: String,
    max_tokens: u32,
    prices: PriceTable,
    ledger: UsageLedger,
}

impl<A: ChatApi> ChatProvider<A> {
    /// A provider calling `api` with these defaults.
    pub(crate) fn new(api: A, model: String, max_tokens: u32, prices: PriceTable) -> Self {
        ChatProvider {
            api,
            model,
            max_tokens,
            prices,
            ledger: UsageLedger::default(),
        }
    }

    /// The API it calls.
    pub(crate) fn api(&self) -> &A {
        &self.api
    }

    /// The default model.
    pub(crate) fn model(&self) -> &str {
        &self.model
    }

    /// The prices calls are charged at.
    pub(crate) fn prices(&self) -> &PriceTable {
        &self.prices
    }

    /// Sends `call`, records its usage and cost, and returns the reply with
    /// its cost.
    async fn send(&self, operation: &str, mut call: ChatCall) -> Result<(ChatReply, f64)> {
        if call.messages.is_empty() {
            return Err(Error::invalid_input(
                "the request has no messages; give at least one user message",
            ));
        }
        if let Some(schema) = &call.json_schema
            && !self.api.enforces_json_schema()
        {
            let instruction = schema_instruction(schema);
            call.system = Some(match call.system.take() {
                Some(system) => format!("{system}\n\n{instruction}"),
                None => instruction,
            });
        }
        let reply = self.api.chat(operation, &call).await?;
        let cost = self.prices.cost(&reply.model, reply.usage);
        self.ledger.record(&reply.model, reply.usage, cost);
        Ok((reply, cost))
    }

    /// The call `request` makes, with the defaults filled in.
    fn call_of(&self, request: AiRequest) -> ChatCall {
        ChatCall {
            system: request.system,
            messages: request.messages,
            model: request.model.unwrap_or_else(|| self.model.clone()),
            max_tokens: request.max_tokens.unwrap_or(self.max_tokens),
            temperature: request.temperature,
            stop: request.stop,
            json_schema: request.json_schema,
        }
    }

    /// `generate_text`.
    pub(crate) async fn generate_text(&self, request: AiRequest) -> Result<Completion> {
        let (reply, cost_usd) = self.send("generate_text", self.call_of(request)).await?;
        Ok(Completion {
            text: reply.text,
            model: reply.model,
            usage: reply.usage,
            cost_usd,
            stop_reason: reply.stop_reason,
        })
    }

    /// `analyze_code`.
    pub(crate) async fn analyze_code(&self, request: CodeAnalysisRequest) -> Result<CodeAnalysis> {
        let (system, user) = code_tasks::analysis_prompt(&request);
        let call = ChatCall {
            system: Some(system),
            messages: vec![ChatMessage::user(user)],
            model: request.model.unwrap_or_else(|| self.model.clone()),
            max_tokens: self.max_tokens,
            // Not 0 for determinism: reasoning models (OpenAI's o-series
            // and GPT-5) refuse any temperature but their default.
            temperature: None,
            stop: Vec::new(),
            json_schema: self
                .api
                .enforces_json_schema()
                .then(code_tasks::analysis_schema),
        };
        let (reply, cost_usd) = self.send("analyze_code", call).await?;
        let (summary, findings) = code_tasks::parse_analysis(&reply.text);
        Ok(CodeAnalysis {
            summary,
            findings,
            usage: reply.usage,
            cost_usd,
        })
    }

    /// `generate_code`.
    pub(crate) async fn generate_code(
        &self,
        request: CodeGenerationRequest,
    ) -> Result<GeneratedCode> {
        let (system, user) = code_tasks::code_prompt(&request);
        let call = ChatCall {
            system: Some(system),
            messages: vec![ChatMessage::user(user)],
            model: request.model.unwrap_or_else(|| self.model.clone()),
            max_tokens: request.max_tokens.unwrap_or(self.max_tokens),
            temperature: None,
            stop: Vec::new(),
            json_schema: None,
        };
        let (reply, cost_usd) = self.send("generate_code", call).await?;
        let (code, language, explanation) =
            code_tasks::parse_code(&reply.text, request.language.as_deref());
        Ok(GeneratedCode {
            code,
            language,
            explanation,
            usage: reply.usage,
            cost_usd,
        })
    }

    /// `estimate_cost`: estimated input plus all of `max_tokens`, priced.
    pub(crate) fn estimate_cost(&self, request: &AiRequest) -> CostEstimate {
        let model = request.model.clone().unwrap_or_else(|| self.model.clone());
        let mut input_tokens = estimate_request_tokens(request);
        if let Some(schema) = &request.json_schema {
            // The schema travels too, in the prompt or beside it.
            input_tokens += crate::ai_pricing::estimate_tokens(&schema_instruction(schema));
        }
        let max_output_tokens = u64::from(request.max_tokens.unwrap_or(self.max_tokens));
        let usage = TokenUsage {
            input_tokens,
            output_tokens: max_output_tokens,
        };
        CostEstimate {
            estimated_cost_usd: self.prices.cost(&model, usage),
            model,
            input_tokens,
            max_output_tokens,
        }
    }

    /// `get_usage_stats`.
    pub(crate) fn usage_stats(&self, query: &UsageQuery) -> UsageStats {
        self.ledger.stats(query.since)
    }
}

/// The system-prompt instruction that asks for JSON following `schema`.
pub(crate) fn schema_instruction(schema: &Value) -> String {
    format!(
        "Answer with one JSON value and nothing else (no prose, no code fence). It must follow \
         this JSON Schema:\n{schema}"
    )
}

/// The text of a warning for a model without a known price.
pub(crate) fn unpriced_warning(plugin: &str, model: &str) -> String {
    format!(
        "the {plugin} plugin's model `{model}` has no known price, so its calls are reported as \
         free; set options.prices.{model} (input_per_mtok, output_per_mtok)"
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    /// A fake API that records calls and answers from a list.
    struct Fake {
        enforces: bool,
        calls: Mutex<Vec<ChatCall>>,
        answer: String,
    }

    #[async_trait]
    impl ChatApi for Fake {
        async fn chat(&self, _operation: &str, call: &ChatCall) -> Result<ChatReply> {
            self.calls.lock().unwrap().push(call.clone());
            Ok(ChatReply {
                text: self.answer.clone(),
                model: call.model.clone(),
                usage: TokenUsage {
                    input_tokens: 1_000_000,
                    output_tokens: 1_000_000,
                },
                stop_reason: Some("end_turn".into()),
            })
        }

        fn enforces_json_schema(&self) -> bool {
            self.enforces
        }
    }

    fn provider(enforces: bool, answer: &str) -> ChatProvider<Fake> {
        ChatProvider::new(
            Fake {
                enforces,
                calls: Mutex::default(),
                answer: answer.into(),
            },
            "claude-sonnet-4-5".into(),
            4096,
            PriceTable::default(),
        )
    }

    #[tokio::test]
    async fn defaults_fill_the_request_and_cost_is_priced_and_recorded() {
        let provider = provider(false, "hi");
        let completion = provider
            .generate_text(AiRequest {
                messages: vec![ChatMessage::user("hello")],
                ..AiRequest::default()
            })
            .await
            .unwrap();
        assert_eq!(completion.model, "claude-sonnet-4-5");
        assert!((completion.cost_usd - 18.0).abs() < 1e-9);
        let call = &provider.api().calls.lock().unwrap()[0];
        assert_eq!(call.max_tokens, 4096);
        let stats = provider.usage_stats(&UsageQuery::default());
        assert_eq!(stats.requests, 1);
        assert!((stats.cost_usd - 18.0).abs() < 1e-9);
    }

    #[tokio::test]
    async fn schemas_go_into_the_prompt_unless_the_api_enforces_them() {
        let schema = serde_json::json!({"type": "object"});
        let request = AiRequest {
            system: Some("Plan.".into()),
            messages: vec![ChatMessage::user("go")],
            json_schema: Some(schema.clone()),
            ..AiRequest::default()
        };
        let prompting = provider(false, "{}");
        prompting.generate_text(request.clone()).await.unwrap();
        let call = prompting.api().calls.lock().unwrap()[0].clone();
        let system = call.system.unwrap();
        assert!(system.starts_with("Plan.\n\n") && system.contains(r#"{"type":"object"}"#));
        let enforcing = provider(true, "{}");
        enforcing.generate_text(request).await.unwrap();
        let call = enforcing.api().calls.lock().unwrap()[0].clone();
        assert_eq!(call.system.as_deref(), Some("Plan."));
        assert_eq!(call.json_schema, Some(schema));
    }

    #[tokio::test]
    async fn empty_conversations_are_refused_before_any_call() {
        let provider = provider(false, "x");
        let err = provider
            .generate_text(AiRequest::default())
            .await
            .unwrap_err();
        assert_eq!(err.kind(), aido_plugin_api::ErrorKind::InvalidInput);
        assert!(provider.api().calls.lock().unwrap().is_empty());
    }

    #[test]
    fn estimates_price_all_of_max_tokens() {
        let provider = provider(false, "x");
        let estimate = provider.estimate_cost(&AiRequest {
            messages: vec![ChatMessage::user("abcd")],
            max_tokens: Some(1000),
            ..AiRequest::default()
        });
        assert_eq!(estimate.max_output_tokens, 1000);
        assert_eq!(
            estimate.input_tokens,
            1 + crate::ai_pricing::MESSAGE_OVERHEAD_TOKENS
        );
        let expected = (estimate.input_tokens as f64 * 3.0 + 1000.0 * 15.0) / 1e6;
        assert!((estimate.estimated_cost_usd - expected).abs() < 1e-12);
    }
}
