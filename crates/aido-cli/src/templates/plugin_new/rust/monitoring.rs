//! The plugin: metrics, events and errors kept in memory, metrics exported
//! in the Prometheus text format. Replace the bodies with calls to your
//! monitoring service.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::{Arc, Mutex, MutexGuard};

use aido_plugin_api::model::NoInput;
use aido_plugin_api::model::monitoring::{
    ErrorReport, Metric, MetricKind, MetricsExport, MonitoringEvent,
};
use aido_plugin_api::{
    CallContext, ConfigProblem, Health, Monitoring, Plugin, PluginConfig, PluginInstance,
    PluginMetadata, Result, async_trait,
};

use crate::config::{Config, META};

/// The plugin, ready to serve.
pub fn instance() -> PluginInstance {
    PluginInstance::Monitoring(Arc::new({{struct}}::default()))
}

/// One series: its kind, value (a histogram's sum), count and help.
struct Series {
    kind: MetricKind,
    value: f64,
    count: u64,
    help: Option<String>,
}

/// What the plugin keeps.
#[derive(Default)]
struct State {
    /// (name, labels rendered) → series.
    metrics: BTreeMap<(String, String), Series>,
    events: Vec<MonitoringEvent>,
    errors: Vec<ErrorReport>,
}

/// A monitoring sink in memory.
#[derive(Default)]
pub struct {{struct}} {
    state: Mutex<State>,
}

impl {{struct}} {
    fn state(&self) -> MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
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
            format!("connected ({})", config.prefix_or("M")),
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
impl Monitoring for {{struct}} {
    async fn record_metric(&self, _cx: &CallContext, input: Metric) -> Result<()> {
        let labels: Vec<String> = input
            .labels
            .iter()
            .map(|(key, value)| format!("{key}={value:?}"))
            .collect();
        let mut state = self.state();
        let series = state
            .metrics
            .entry((input.name, labels.join(",")))
            .or_insert(Series {
                kind: input.kind,
                value: 0.0,
                count: 0,
                help: input.help,
            });
        match input.kind {
            MetricKind::Gauge => series.value = input.value,
            // Counters add; a histogram keeps its sum and count.
            _ => series.value += input.value,
        }
        series.count += 1;
        Ok(())
    }

    async fn record_event(&self, _cx: &CallContext, input: MonitoringEvent) -> Result<()> {
        self.state().events.push(input);
        Ok(())
    }

    async fn report_error(&self, _cx: &CallContext, input: ErrorReport) -> Result<()> {
        self.state().errors.push(input);
        Ok(())
    }

    async fn flush(&self, _cx: &CallContext, _input: NoInput) -> Result<()> {
        // Nothing is buffered; a real sink sends what it holds here.
        Ok(())
    }

    async fn export_metrics(&self, _cx: &CallContext, _input: NoInput) -> Result<MetricsExport> {
        let state = self.state();
        let mut body = String::new();
        for ((name, labels), series) in &state.metrics {
            if let Some(help) = &series.help {
                let _ = writeln!(body, "# HELP {name} {help}");
            }
            let kind = match series.kind {
                MetricKind::Counter => "counter",
                MetricKind::Gauge => "gauge",
                MetricKind::Histogram => "histogram",
            };
            let _ = writeln!(body, "# TYPE {name} {kind}");
            let labels = if labels.is_empty() {
                String::new()
            } else {
                format!("{{{labels}}}")
            };
            if matches!(series.kind, MetricKind::Histogram) {
                let _ = writeln!(body, "{name}_sum{labels} {}", series.value);
                let _ = writeln!(body, "{name}_count{labels} {}", series.count);
            } else {
                let _ = writeln!(body, "{name}{labels} {}", series.value);
            }
        }
        Ok(MetricsExport {
            content_type: "text/plain; version=0.0.4".to_owned(),
            body,
        })
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
        let config = PluginConfig::new("monitoring", json!({}), ".", ".aido");
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
    async fn metrics_are_exported_in_the_prometheus_format() {
        let plugin = connected().await;
        for value in [1, 2] {
            call(&plugin, "record_metric", json!({"name": "runs_total", "kind": "counter", "value": value, "labels": {"status": "ok"}})).await;
        }
        call(
            &plugin,
            "record_metric",
            json!({"name": "queue", "kind": "gauge", "value": 5}),
        )
        .await;
        let export = call(&plugin, "export_metrics", json!({})).await;
        let body = export["body"].as_str().unwrap();
        assert!(body.contains("runs_total{status=\"ok\"} 3"), "{body}");
        assert!(body.contains("queue 5"), "{body}");
    }

    #[tokio::test]
    async fn events_errors_and_bad_input() {
        let plugin = connected().await;
        call(&plugin, "record_event", json!({"name": "deployed"})).await;
        call(&plugin, "report_error", json!({"message": "boom"})).await;
        call(&plugin, "flush", json!({})).await;
        let err = plugin
            .call(
                &CallContext::detached(),
                "record_metric",
                json!({"name": "x", "kind": "summary", "value": 1}),
            )
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput);
    }
}
