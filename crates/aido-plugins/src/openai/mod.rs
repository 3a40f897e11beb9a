//! The `openai` AI provider: OpenAI's Chat Completions API, and every
//! server that speaks it.
//!
//! # Configuration
//!
//! ```yaml
//! plugins:
//!   ai_provider:
//!     provider: openai
//!     config:
//!       connection:
//!         api_key: ${OPENAI_API_KEY}          # not needed by local servers
//!         # base_url: https://api.openai.com/v1
//!       options:
//!         model: gpt-4o-mini                  # the default
//!         max_tokens: 4096
//!         structured_output: true             # enforce json_schema via response_format
//!         # max_tokens_parameter: auto        # auto | max_tokens | max_completion_tokens
//!         timeout_seconds: 600
//!         max_retries: 2
//!         # prices: { llama3.1: { input_per_mtok: 0, output_per_mtok: 0 } }
//! ```
//!
//! Environment variables with the prefix `OPENAI_` override keys:
//! `OPENAI_API_KEY` sets `connection.api_key`, `OPENAI_BASE_URL`
//! `connection.base_url`, `OPENAI_MODEL` `options.model`.
//!
//! # OpenAI-compatible servers
//!
//! Point `connection.base_url` at the server's `/v1` and name one of its
//! models; leave `api_key` out unless the server wants one:
//!
//! | server     | base_url                     | model, for example |
//! |------------|------------------------------|--------------------|
//! | Ollama     | `http://localhost:11434/v1`  | `llama3.1:8b`      |
//! | vLLM       | `http://localhost:8000/v1`   | the served model   |
//! | llama.cpp  | `http://localhost:8080/v1`   | any (one is loaded)|
//! | LM Studio  | `http://localhost:1234/v1`   | the loaded model   |
//!
//! Local models have no list price: their calls cost 0 unless
//! `options.prices` says otherwise. The output limit is sent as
//! `max_completion_tokens` to api.openai.com (its reasoning models refuse
//! `max_tokens`) and as `max_tokens` elsewhere (older servers know only
//! that); `options.max_tokens_parameter` overrides the choice. Servers that
//! reject `response_format` work with `structured_output: false`, which
//! puts a request's JSON Schema into the system prompt instead.
//!
//! # Health
//!
//! `health_check` lists the models (`GET <base>/models`): free, and it
//! proves the server is up and the key accepted. A server without that
//! route is reported degraded, not down, since chat calls may still work.

mod api;
mod config;

use std::sync::{Arc, LazyLock};
use std::time::Duration;

use aido_plugin_api::model::ai::{
    AiRequest, CodeAnalysis, CodeAnalysisRequest, CodeGenerationRequest, Completion, CostEstimate,
    GeneratedCode, UsageQuery, UsageStats,
};
use aido_plugin_api::{
    AiProvider, CallContext, ConfigProblem, Error, ErrorKind, Health, Plugin, PluginConfig,
    PluginFactory, PluginInstance, PluginKind, PluginMetadata, Result, async_trait,
};

use self::api::ChatCompletionsApi;
use self::config::{OpenAiConfig, check_config};
use crate::ai_chat::{ChatProvider, http_timeouts, unpriced_warning};
use crate::ai_pricing::PriceTable;
use crate::connected::Connected;
use crate::http::{Auth, HttpClient, HttpConfig};

/// The plugin's name in `provider:`.
const NAME: &str = "openai";

/// How long a health check may take.
const HEALTH_TIMEOUT: Duration = Duration::from_secs(10);

static META: LazyLock<PluginMetadata> = LazyLock::new(|| {
    PluginMetadata::new::<OpenAiConfig>(
        NAME,
        PluginKind::AiProvider,
        env!("CARGO_PKG_VERSION"),
        "OpenAI's Chat Completions API, or any server that speaks it (Ollama, vLLM, llama.cpp, \
         LM Studio).",
    )
});

/// The `openai` plugin's factory, for the registry.
pub fn factory() -> PluginFactory {
    PluginFactory::new(META.clone(), || {
        PluginInstance::AiProvider(Arc::new(OpenAiPlugin::default()))
    })
}

/// The `openai` plugin: unconfigured until `connect`.
#[derive(Debug, Default)]
pub(crate) struct OpenAiPlugin {
    state: Connected<ChatProvider<ChatCompletionsApi>>,
}

impl OpenAiPlugin {
    fn connected(&self) -> Result<Arc<ChatProvider<ChatCompletionsApi>>> {
        self.state.get(NAME)
    }
}

/// The HTTP client for a checked configuration.
fn client(config: &OpenAiConfig) -> Result<HttpClient> {
    let options = &config.options;
    let (connect_timeout, request_timeout) = http_timeouts(options.timeout_seconds);
    let auth = match &config.connection.api_key {
        Some(key) => Auth::Bearer(key.clone()),
        None => Auth::None,
    };
    HttpClient::new(
        HttpConfig::new(NAME, &config.connection.base_url)
            .auth(auth)
            .timeouts(connect_timeout, request_timeout)
            .max_retries(options.max_retries)
            .rate_limit(options.requests_per_second),
    )
}

#[async_trait]
impl Plugin for OpenAiPlugin {
    fn metadata(&self) -> &PluginMetadata {
        &META
    }

    fn validate_config(&self, config: &PluginConfig) -> Vec<ConfigProblem> {
        match config.parse::<OpenAiConfig>() {
            Ok(parsed) => check_config(&parsed),
            Err(err) => vec![ConfigProblem::new("", err.message())],
        }
    }

    async fn connect(&self, config: &PluginConfig) -> Result<()> {
        let parsed: OpenAiConfig = config.parse()?;
        let problems = check_config(&parsed);
        if !problems.is_empty() {
            let text: Vec<String> = problems
                .iter()
                .map(|p| format!("{}: {}", p.path, p.message))
                .collect();
            return Err(Error::configuration(text.join("; ")));
        }
        let api = ChatCompletionsApi {
            client: client(&parsed)?,
            max_completion_tokens: parsed.uses_max_completion_tokens(),
            structured_output: parsed.options.structured_output,
        };
        let is_openai = parsed.is_openai();
        let options = parsed.options;
        let prices = PriceTable::with_overrides(&options.prices);
        // Local models are free and have no list price; only OpenAI's own
        // models priced at 0 would be a surprise.
        if is_openai && !prices.lookup(&options.model).priced {
            tracing::warn!("{}", unpriced_warning(NAME, &options.model));
        }
        self.state.set(ChatProvider::new(
            api,
            options.model,
            options.max_tokens,
            prices,
        ));
        Ok(())
    }

    async fn disconnect(&self) -> Result<()> {
        self.state.clear();
        Ok(())
    }

    async fn health_check(&self) -> Health {
        let provider = match self.connected() {
            Ok(provider) => provider,
            Err(err) => return Health::Unhealthy(err.message().to_owned()),
        };
        // Listing models is free: a real check of the server and the key
        // that spends no money.
        match provider.api().list_models(HEALTH_TIMEOUT).await {
            Ok(()) => Health::Healthy,
            Err(err) if err.kind() == ErrorKind::RateLimited => {
                Health::Degraded(format!("rate limited right now: {}", err.message()))
            }
            Err(err) if err.kind() == ErrorKind::NotFound => Health::Degraded(format!(
                "the server does not list its models, so the key and model were not checked \
                 ({}); chat calls may still work",
                err.message()
            )),
            Err(err) => Health::Unhealthy(err.message().to_owned()),
        }
    }
}

#[async_trait]
impl AiProvider for OpenAiPlugin {
    async fn generate_text(&self, _cx: &CallContext, request: AiRequest) -> Result<Completion> {
        self.connected()?.generate_text(request).await
    }

    async fn analyze_code(
        &self,
        _cx: &CallContext,
        request: CodeAnalysisRequest,
    ) -> Result<CodeAnalysis> {
        self.connected()?.analyze_code(request).await
    }

    async fn generate_code(
        &self,
        _cx: &CallContext,
        request: CodeGenerationRequest,
    ) -> Result<GeneratedCode> {
        self.connected()?.generate_code(request).await
    }

    async fn estimate_cost(&self, _cx: &CallContext, request: AiRequest) -> Result<CostEstimate> {
        Ok(self.connected()?.estimate_cost(&request))
    }

    async fn get_usage_stats(&self, _cx: &CallContext, query: UsageQuery) -> Result<UsageStats> {
        Ok(self.connected()?.usage_stats(&query))
    }
}

#[cfg(test)]
mod tests;
