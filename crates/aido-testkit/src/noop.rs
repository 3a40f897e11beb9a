//! A monitoring plugin that discards everything: the cheapest plugin there
//! is, for measuring what surrounds a plugin call (the engine's own cost
//! per step, the external plugin host's round trip).

use std::sync::LazyLock;

use aido_plugin_api::model::NoInput;
use aido_plugin_api::model::monitoring::{ErrorReport, Metric, MetricsExport, MonitoringEvent};
use aido_plugin_api::{
    CallContext, Health, Monitoring, Plugin, PluginConfig, PluginKind, PluginMetadata, Result,
};

/// It takes no configuration.
#[derive(serde::Deserialize, schemars::JsonSchema)]
struct NoConfig {}

static META: LazyLock<PluginMetadata> = LazyLock::new(|| {
    PluginMetadata::new::<NoConfig>("noop", PluginKind::Monitoring, "0.1.0", "Does nothing.")
});

/// A `monitoring` plugin named `noop` whose every action does nothing.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoOpMonitoring;

#[async_trait::async_trait]
impl Plugin for NoOpMonitoring {
    fn metadata(&self) -> &PluginMetadata {
        &META
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

#[async_trait::async_trait]
impl Monitoring for NoOpMonitoring {
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
            content_type: String::new(),
            body: String::new(),
        })
    }
}
