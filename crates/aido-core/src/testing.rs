//! A recording plugin for the engine's own tests.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use aido_plugin_api::model::NoInput;
use aido_plugin_api::model::monitoring::{ErrorReport, Metric, MetricsExport, MonitoringEvent};
use aido_plugin_api::{
    CallContext, ConfigProblem, Error, Health, Monitoring, Plugin, PluginConfig, PluginFactory,
    PluginInstance, PluginKind, PluginMetadata, Result, Secret, async_trait,
};
use schemars::JsonSchema;
use serde::Deserialize;

/// The configuration of the fake: shaped like a service plugin's.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
pub struct FakeConfig {
    #[serde(default)]
    pub connection: Option<FakeConnection>,
    #[serde(default)]
    pub mappings: Option<FakeMappings>,
    #[serde(default)]
    pub options: Option<FakeOptions>,
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
pub struct FakeConnection {
    pub api_key: Secret,
    #[serde(default)]
    pub team_id: Option<String>,
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
pub struct FakeMappings {
    #[serde(default)]
    pub statuses: std::collections::BTreeMap<String, String>,
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
pub struct FakeOptions {
    #[serde(default)]
    pub cache_ttl: Option<u64>,
    #[serde(default)]
    pub verbose: Option<bool>,
}

/// How the fake behaves.
#[derive(Clone, Default)]
pub struct Behaviour {
    pub fail_connect: bool,
    pub connect_delay: Duration,
    pub fail_disconnect: bool,
    /// `validate_config` reports this problem for `mappings.statuses.done`
    /// when set.
    pub reject_done_mapping: bool,
}

/// A plugin that records its lifecycle calls in a shared log.
pub struct Fake {
    meta: PluginMetadata,
    log: Arc<Mutex<Vec<String>>>,
    behaviour: Behaviour,
}

impl Fake {
    pub fn factory(
        kind: PluginKind,
        name: &str,
        log: Arc<Mutex<Vec<String>>>,
        behaviour: Behaviour,
    ) -> PluginFactory {
        let meta = PluginMetadata::new::<FakeConfig>(name, kind, "1.0.0", "A fake for tests.");
        let made = meta.clone();
        PluginFactory::new(meta, move || {
            PluginInstance::Monitoring(Arc::new(Fake {
                meta: made.clone(),
                log: log.clone(),
                behaviour: behaviour.clone(),
            }))
        })
    }

    fn record(&self, what: &str) {
        self.log
            .lock()
            .unwrap()
            .push(format!("{what} {}", self.meta.name));
    }
}

#[async_trait]
impl Plugin for Fake {
    fn metadata(&self) -> &PluginMetadata {
        &self.meta
    }
    fn validate_config(&self, config: &PluginConfig) -> Vec<ConfigProblem> {
        let done = config.value().pointer("/mappings/statuses/done");
        if self.behaviour.reject_done_mapping && done.is_some() {
            return vec![ConfigProblem::new(
                "mappings.statuses.done",
                "no such state in the service",
            )];
        }
        Vec::new()
    }
    async fn connect(&self, _: &PluginConfig) -> Result<()> {
        tokio::time::sleep(self.behaviour.connect_delay).await;
        if self.behaviour.fail_connect {
            self.record("connect-failed");
            return Err(Error::connection("service unreachable"));
        }
        self.record("connect");
        Ok(())
    }
    async fn disconnect(&self) -> Result<()> {
        self.record("disconnect");
        if self.behaviour.fail_disconnect {
            return Err(Error::other("could not close"));
        }
        Ok(())
    }
    async fn health_check(&self) -> Health {
        Health::Healthy
    }
}

#[async_trait]
impl Monitoring for Fake {
    async fn record_metric(&self, _: &CallContext, _: Metric) -> Result<()> {
        Ok(())
    }
    async fn record_event(&self, _: &CallContext, _: MonitoringEvent) -> Result<()> {
        Ok(())
    }
    async fn report_error(&self, _: &CallContext, _: ErrorReport) -> Result<()> {
        Ok(())
    }
    async fn flush(&self, _: &CallContext, _: NoInput) -> Result<()> {
        Ok(())
    }
    async fn export_metrics(&self, _: &CallContext, _: NoInput) -> Result<MetricsExport> {
        Ok(MetricsExport {
            content_type: "text/plain".into(),
            body: String::new(),
        })
    }
}

/// A registry with a fake under every default name, plus `linear`
/// (task_management) and `github` (version_control).
pub fn registry(log: Arc<Mutex<Vec<String>>>) -> crate::Registry {
    let mut factories = Vec::new();
    for kind in PluginKind::ALL {
        factories.push(Fake::factory(
            kind,
            crate::config::default_provider(kind),
            log.clone(),
            Behaviour::default(),
        ));
    }
    factories.push(Fake::factory(
        PluginKind::TaskManagement,
        "linear",
        log.clone(),
        Behaviour {
            reject_done_mapping: true,
            ..Default::default()
        },
    ));
    factories.push(Fake::factory(
        PluginKind::VersionControl,
        "github",
        log,
        Behaviour::default(),
    ));
    crate::Registry::with(factories).unwrap()
}

/// A monitoring plugin whose `record_event` is a counted side effect that
/// can be told to fail: the engine's tests use it as "some plugin action".
pub struct Counter {
    meta: PluginMetadata,
    /// Every `record_event` that got through: (event name, idempotency key).
    pub calls: Mutex<Vec<(String, Option<String>)>>,
    /// How many more calls fail before calls succeed.
    pub failures_left: Mutex<u32>,
    /// Whether failures are rate limits (with a retry-after).
    pub rate_limited: bool,
}

impl Counter {
    pub fn new() -> Arc<Counter> {
        Arc::new(Counter {
            meta: PluginMetadata::new::<FakeConfig>(
                "counter",
                PluginKind::Monitoring,
                "1.0.0",
                "Counts calls.",
            ),
            calls: Mutex::new(Vec::new()),
            failures_left: Mutex::new(0),
            rate_limited: false,
        })
    }

    pub fn names(&self) -> Vec<String> {
        self.calls
            .lock()
            .unwrap()
            .iter()
            .map(|(n, _)| n.clone())
            .collect()
    }
}

#[async_trait]
impl Plugin for Counter {
    fn metadata(&self) -> &PluginMetadata {
        &self.meta
    }
    async fn connect(&self, _: &PluginConfig) -> Result<()> {
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
impl Monitoring for Counter {
    async fn record_metric(&self, _: &CallContext, _: Metric) -> Result<()> {
        Ok(())
    }
    async fn record_event(&self, cx: &CallContext, event: MonitoringEvent) -> Result<()> {
        {
            let mut left = self.failures_left.lock().unwrap();
            if *left > 0 {
                *left -= 1;
                return Err(if self.rate_limited {
                    Error::rate_limited("slow down", Some(Duration::from_millis(20)))
                } else {
                    Error::connection("flaky service")
                });
            }
        }
        self.calls
            .lock()
            .unwrap()
            .push((event.name, cx.idempotency_key.clone()));
        Ok(())
    }
    async fn report_error(&self, _: &CallContext, _: ErrorReport) -> Result<()> {
        Ok(())
    }
    async fn flush(&self, _: &CallContext, _: NoInput) -> Result<()> {
        Ok(())
    }
    async fn export_metrics(&self, _: &CallContext, _: NoInput) -> Result<MetricsExport> {
        Ok(MetricsExport {
            content_type: "text/plain".into(),
            body: String::new(),
        })
    }
}

/// An AI provider answering a fixed text at a fixed estimated cost.
pub struct FakeAi {
    meta: PluginMetadata,
    pub answer: String,
    pub estimate_usd: f64,
    pub cost_usd: f64,
    pub generated: Mutex<u32>,
}

impl FakeAi {
    pub fn new(answer: &str, estimate_usd: f64, cost_usd: f64) -> Arc<FakeAi> {
        Arc::new(FakeAi {
            meta: PluginMetadata::new::<FakeConfig>(
                "fake_ai",
                PluginKind::AiProvider,
                "1.0.0",
                "A fake model.",
            ),
            answer: answer.to_owned(),
            estimate_usd,
            cost_usd,
            generated: Mutex::new(0),
        })
    }
}

#[async_trait]
impl Plugin for FakeAi {
    fn metadata(&self) -> &PluginMetadata {
        &self.meta
    }
    async fn connect(&self, _: &PluginConfig) -> Result<()> {
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
impl aido_plugin_api::AiProvider for FakeAi {
    async fn generate_text(
        &self,
        _: &CallContext,
        request: aido_plugin_api::model::ai::AiRequest,
    ) -> Result<aido_plugin_api::model::ai::Completion> {
        *self.generated.lock().unwrap() += 1;
        Ok(aido_plugin_api::model::ai::Completion {
            text: self
                .answer
                .replace("{prompt}", &request.messages[0].content),
            model: "fake-1".into(),
            usage: aido_plugin_api::model::ai::TokenUsage {
                input_tokens: 10,
                output_tokens: 20,
            },
            cost_usd: self.cost_usd,
            stop_reason: None,
        })
    }
    async fn analyze_code(
        &self,
        _: &CallContext,
        _: aido_plugin_api::model::ai::CodeAnalysisRequest,
    ) -> Result<aido_plugin_api::model::ai::CodeAnalysis> {
        Err(Error::unsupported("not in tests"))
    }
    async fn generate_code(
        &self,
        _: &CallContext,
        _: aido_plugin_api::model::ai::CodeGenerationRequest,
    ) -> Result<aido_plugin_api::model::ai::GeneratedCode> {
        Err(Error::unsupported("not in tests"))
    }
    async fn estimate_cost(
        &self,
        _: &CallContext,
        request: aido_plugin_api::model::ai::AiRequest,
    ) -> Result<aido_plugin_api::model::ai::CostEstimate> {
        Ok(aido_plugin_api::model::ai::CostEstimate {
            model: "fake-1".into(),
            input_tokens: 10,
            max_output_tokens: u64::from(request.max_tokens.unwrap_or(100)),
            estimated_cost_usd: self.estimate_usd,
        })
    }
    async fn get_usage_stats(
        &self,
        _: &CallContext,
        _: aido_plugin_api::model::ai::UsageQuery,
    ) -> Result<aido_plugin_api::model::ai::UsageStats> {
        Ok(Default::default())
    }
}
