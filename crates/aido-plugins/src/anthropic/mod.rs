//! The `anthropic` AI provider: Claude models through the Messages API.
//!
//! # Configuration
//!
//! ```yaml
//! plugins:
//!   ai_provider:
//!     provider: anthropic
//!     config:
//!       connection:
//!         api_key: ${ANTHROPIC_API_KEY}      # required; sent as x-api-key
//!         # base_url: https://api.anthropic.com
//!         # version: 2023-06-01              # the anthropic-version header
//!       options:
//!         model: claude-sonnet-4-5            # the default
//!         max_tokens: 4096
//!         timeout_seconds: 600
//!         max_retries: 2
//!         # requests_per_second: 1
//!         # prices: { claude-sonnet-4-5: { input_per_mtok: 3, output_per_mtok: 15 } }
//! ```
//!
//! Environment variables with the prefix `ANTHROPIC_` override keys:
//! `ANTHROPIC_API_KEY` sets `connection.api_key`, `ANTHROPIC_BASE_URL`
//! `connection.base_url`, `ANTHROPIC_MODEL` `options.model`.
//!
//! # What it does
//!
//! Every action goes through [`crate::ai_chat`]: `generate_text` sends the
//! conversation with its system prompt as `system`; `analyze_code` and
//! `generate_code` ask for JSON or one fenced block; costs come from the
//! API's token counts and the price table; `estimate_cost` prices the
//! estimated input and all of `max_tokens`. Requests go through the shared
//! HTTP layer ([`crate::http`]): 429s are waited out as `retry-after` asks,
//! 5xx and 529 overloaded answers, timeouts and dropped connections are
//! retried with backoff, and errors never quote the key.
//!
//! # Health
//!
//! `health_check` lists the models (`GET /v1/models`): it costs nothing,
//! generates nothing, and proves the key is accepted, which checking that
//! a key is configured cannot. One attempt, ten seconds at most.

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

use self::api::MessagesApi;
use self::config::{AnthropicConfig, check_config};
use crate::ai_chat::{ChatProvider, http_timeouts, unpriced_warning};
use crate::ai_pricing::PriceTable;
use crate::connected::Connected;
use crate::http::{Auth, HttpClient, HttpConfig};

/// The plugin's name in `provider:`.
const NAME: &str = "anthropic";

/// How long a health check may take.
const HEALTH_TIMEOUT: Duration = Duration::from_secs(10);

static META: LazyLock<PluginMetadata> = LazyLock::new(|| {
    PluginMetadata::new::<AnthropicConfig>(
        NAME,
        PluginKind::AiProvider,
        env!("CARGO_PKG_VERSION"),
        "Claude models through Anthropic's Messages API.",
    )
});

/// The `anthropic` plugin's factory, for the registry.
pub fn factory() -> PluginFactory {
    PluginFactory::new(META.clone(), || {
        PluginInstance::AiProvider(Arc::new(AnthropicPlugin::default()))
    })
}

/// The `anthropic` plugin: unconfigured until `connect`.
#[derive(Debug, Default)]
pub(crate) struct AnthropicPlugin {
    state: Connected<ChatProvider<MessagesApi>>,
}

impl AnthropicPlugin {
    fn connected(&self) -> Result<Arc<ChatProvider<MessagesApi>>> {
        self.state.get(NAME)
    }
}

/// The HTTP client for a checked configuration.
fn client(config: &AnthropicConfig) -> Result<HttpClient> {
    let connection = &config.connection;
    let options = &config.options;
    let (connect_timeout, request_timeout) = http_timeouts(options.timeout_seconds);
    HttpClient::new(
        HttpConfig::new(NAME, &connection.base_url)
            .auth(Auth::Header {
                name: "x-api-key".to_owned(),
                value: connection.api_key.clone(),
            })
            .header("anthropic-version", &connection.version)
            .timeouts(connect_timeout, request_timeout)
            .max_retries(options.max_retries)
            .rate_limit(options.requests_per_second),
    )
}

#[async_trait]
impl Plugin for AnthropicPlugin {
    fn metadata(&self) -> &PluginMetadata {
        &META
    }

    fn validate_config(&self, config: &PluginConfig) -> Vec<ConfigProblem> {
        match config.parse::<AnthropicConfig>() {
            Ok(parsed) => check_config(&parsed),
            Err(err) => vec![ConfigProblem::new("", err.message())],
        }
    }

    async fn connect(&self, config: &PluginConfig) -> Result<()> {
        let parsed: AnthropicConfig = config.parse()?;
        let problems = check_config(&parsed);
        if !problems.is_empty() {
            let text: Vec<String> = problems
                .iter()
                .map(|p| format!("{}: {}", p.path, p.message))
                .collect();
            return Err(Error::configuration(text.join("; ")));
        }
        let client = client(&parsed)?;
        let options = parsed.options;
        let prices = PriceTable::with_overrides(&options.prices);
        if !prices.lookup(&options.model).priced {
            tracing::warn!("{}", unpriced_warning(NAME, &options.model));
        }
        self.state.set(ChatProvider::new(
            MessagesApi { client },
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
        // Listing models is free and needs a valid key: a real check of
        // the connection and the credentials that spends no money.
        match provider.api().list_models(HEALTH_TIMEOUT).await {
            Ok(()) => {
                let model = provider.model();
                if provider.prices().lookup(model).priced {
                    Health::Healthy
                } else {
                    Health::Degraded(unpriced_warning(NAME, model))
                }
            }
            Err(err) if err.kind() == ErrorKind::RateLimited => {
                Health::Degraded(format!("rate limited right now: {}", err.message()))
            }
            Err(err) => Health::Unhealthy(err.message().to_owned()),
        }
    }
}

#[async_trait]
impl AiProvider for AnthropicPlugin {
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
