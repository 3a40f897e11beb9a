//! The `log` monitoring plugin: telemetry as `tracing` events.
//!
//! Every metric, event and error becomes one `tracing` event under the
//! target `aido::monitoring`, so it lands wherever the process sends its logs
//! (the terminal, a JSON log file) with the run and step attached. Events keep
//! their own level and errors are logged at `error`; metrics, which are
//! chatty, at `options.metric_level` (`debug` by default).
//!
//! Metrics are also aggregated in memory, as the `prometheus` plugin does, so
//! `export_metrics` answers with the Prometheus text exposition even when the
//! logs are the only configured sink.
//!
//! ```yaml
//! plugins:
//!   monitoring:
//!     provider: log
//!     config: { options: { metric_level: info } }
//! ```

use std::sync::{Arc, LazyLock, PoisonError, RwLock};

use aido_plugin_api::model::NoInput;
use aido_plugin_api::model::monitoring::{
    ErrorReport, EventLevel, Metric, MetricsExport, MonitoringEvent,
};
use aido_plugin_api::{
    CallContext, ConfigProblem, Error, Health, Monitoring, Plugin, PluginConfig, PluginFactory,
    PluginInstance, PluginKind, PluginMetadata, Result, async_trait,
};
use schemars::JsonSchema;
use serde::Deserialize;

use super::registry::{CONTENT_TYPE, MetricRegistry};
use super::{error_metric, event_metric, level_name};

/// The plugin's name in `provider:`.
const NAME: &str = "log";

/// The `tracing` target of every event this plugin emits, so a log filter
/// can select or silence them (`RUST_LOG=aido::monitoring=debug`).
pub(crate) const TARGET: &str = "aido::monitoring";

/// Configuration of the `log` plugin.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct LogConfig {
    /// How telemetry is logged.
    #[serde(default)]
    options: LogOptions,
}

/// Options of the `log` plugin.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct LogOptions {
    /// The level metrics are logged at (events keep their own level, errors
    /// are logged at `error`).
    #[serde(default)]
    metric_level: MetricLevel,
}

/// The levels metrics can be logged at.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
enum MetricLevel {
    /// Only with the most verbose logging.
    Trace,
    /// With debug logging (the default: a run records many metrics).
    #[default]
    Debug,
    /// With normal logging.
    Info,
}

/// A `tracing` level chosen at run time. `tracing`'s macros need the level
/// as a constant, hence the enum and the `emit!` macro.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Severity {
    Trace,
    Debug,
    Info,
    Warn,
    Error,
}

impl From<MetricLevel> for Severity {
    fn from(level: MetricLevel) -> Self {
        match level {
            MetricLevel::Trace => Severity::Trace,
            MetricLevel::Debug => Severity::Debug,
            MetricLevel::Info => Severity::Info,
        }
    }
}

impl From<EventLevel> for Severity {
    fn from(level: EventLevel) -> Self {
        match level {
            EventLevel::Debug => Severity::Debug,
            EventLevel::Info => Severity::Info,
            EventLevel::Warn => Severity::Warn,
            EventLevel::Error => Severity::Error,
        }
    }
}

/// Emits one `tracing` event at a [`Severity`] known only at run time.
macro_rules! emit {
    ($severity:expr, $($fields:tt)+) => {
        match $severity {
            Severity::Trace => tracing::trace!(target: TARGET, $($fields)+),
            Severity::Debug => tracing::debug!(target: TARGET, $($fields)+),
            Severity::Info => tracing::info!(target: TARGET, $($fields)+),
            Severity::Warn => tracing::warn!(target: TARGET, $($fields)+),
            Severity::Error => tracing::error!(target: TARGET, $($fields)+),
        }
    };
}

static META: LazyLock<PluginMetadata> = LazyLock::new(|| {
    PluginMetadata::new::<LogConfig>(
        NAME,
        PluginKind::Monitoring,
        env!("CARGO_PKG_VERSION"),
        "Logs metrics, events and errors as tracing events (target aido::monitoring) and \
         keeps metric totals for export.",
    )
});

/// The `log` plugin's factory, for the registry.
pub fn factory() -> PluginFactory {
    PluginFactory::new(META.clone(), || {
        PluginInstance::Monitoring(Arc::new(LogPlugin::default()))
    })
}

/// The `log` plugin: unconfigured until `connect`.
#[derive(Debug, Default)]
pub(crate) struct LogPlugin {
    state: RwLock<Option<Arc<Connected>>>,
}

/// What `connect` sets up.
#[derive(Debug)]
struct Connected {
    metric_level: Severity,
    registry: MetricRegistry,
}

impl LogPlugin {
    fn connected(&self) -> Result<Arc<Connected>> {
        let state = self.state.read().unwrap_or_else(PoisonError::into_inner);
        state.clone().ok_or_else(|| {
            Error::other("the log plugin is not connected; `connect` must succeed first")
        })
    }
}

/// JSON text of a map, for a log field (a `tracing` field holds one value).
fn json_text<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_default()
}

#[async_trait]
impl Plugin for LogPlugin {
    fn metadata(&self) -> &PluginMetadata {
        &META
    }

    fn validate_config(&self, config: &PluginConfig) -> Vec<ConfigProblem> {
        // The schema says everything there is to say; only a mismatch with
        // it can be reported.
        match config.parse::<LogConfig>() {
            Ok(_) => Vec::new(),
            Err(err) => vec![ConfigProblem::new("", err.message())],
        }
    }

    async fn connect(&self, config: &PluginConfig) -> Result<()> {
        let parsed: LogConfig = config.parse()?;
        let connected = Connected {
            metric_level: parsed.options.metric_level.into(),
            registry: MetricRegistry::default(),
        };
        *self.state.write().unwrap_or_else(PoisonError::into_inner) = Some(Arc::new(connected));
        Ok(())
    }

    async fn disconnect(&self) -> Result<()> {
        self.state
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        Ok(())
    }

    async fn health_check(&self) -> Health {
        // Logging cannot fail from here: a subscriber that drops events is
        // the process's choice, not a fault of this plugin.
        match self.connected() {
            Ok(_) => Health::Healthy,
            Err(err) => Health::Unhealthy(err.message().to_owned()),
        }
    }
}

#[async_trait]
impl Monitoring for LogPlugin {
    async fn record_metric(&self, cx: &CallContext, metric: Metric) -> Result<()> {
        let connected = self.connected()?;
        // Aggregate first: a metric the registry rejects is an error for
        // the caller, and must not be logged as if it had been recorded.
        connected.registry.record(&metric)?;
        emit!(
            connected.metric_level,
            metric = %metric.name,
            kind = ?metric.kind,
            value = metric.value,
            labels = %json_text(&metric.labels),
            run_id = cx.run_id.as_deref(),
            step = cx.step.as_deref(),
            "metric {} = {}",
            metric.name,
            metric.value
        );
        Ok(())
    }

    async fn record_event(&self, cx: &CallContext, event: MonitoringEvent) -> Result<()> {
        let connected = self.connected()?;
        connected.registry.record(&event_metric(&event))?;
        let at = event.at.unwrap_or_else(chrono::Utc::now).to_rfc3339();
        let text = if event.message.is_empty() {
            event.name.as_str()
        } else {
            event.message.as_str()
        };
        emit!(
            Severity::from(event.level),
            event = %event.name,
            event_level = level_name(event.level),
            at = %at,
            fields = %json_text(&event.fields),
            run_id = cx.run_id.as_deref(),
            step = cx.step.as_deref(),
            "{text}"
        );
        Ok(())
    }

    async fn report_error(&self, cx: &CallContext, report: ErrorReport) -> Result<()> {
        let connected = self.connected()?;
        connected.registry.record(&error_metric(&report))?;
        // The report names its own run and step when the engine forwards an
        // error from elsewhere; the call's context is the fallback.
        let run_id = report.run_id.as_deref().or(cx.run_id.as_deref());
        let step = report.step.as_deref().or(cx.step.as_deref());
        tracing::error!(
            target: TARGET,
            error_kind = report.error_kind.as_deref(),
            plugin = report.plugin.as_deref(),
            operation = report.operation.as_deref(),
            context = %json_text(&report.context),
            run_id,
            step,
            "{}",
            report.message
        );
        Ok(())
    }

    async fn flush(&self, _cx: &CallContext, _input: NoInput) -> Result<()> {
        // `tracing` events are handed to the subscriber as they happen;
        // there is nothing buffered here.
        self.connected().map(|_| ())
    }

    async fn export_metrics(&self, _cx: &CallContext, _input: NoInput) -> Result<MetricsExport> {
        let body = self.connected()?.registry.render();
        Ok(MetricsExport {
            content_type: CONTENT_TYPE.to_owned(),
            body,
        })
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::fmt;
    use std::sync::Mutex;

    use super::*;
    use serde_json::json;
    use tracing::field::{Field, Visit};
    use tracing::span::{Attributes, Id, Record};
    use tracing::{Event, Level, Metadata, Subscriber};

    /// One captured `tracing` event.
    #[derive(Debug, Clone)]
    struct Captured {
        target: String,
        level: Level,
        fields: BTreeMap<String, String>,
    }

    /// A subscriber that keeps every event, for assertions.
    #[derive(Clone, Default)]
    struct Capture(Arc<Mutex<Vec<Captured>>>);

    impl Capture {
        fn events(&self) -> Vec<Captured> {
            self.0.lock().unwrap().clone()
        }
    }

    struct FieldVisitor<'a>(&'a mut BTreeMap<String, String>);

    impl Visit for FieldVisitor<'_> {
        fn record_str(&mut self, field: &Field, value: &str) {
            self.0.insert(field.name().to_owned(), value.to_owned());
        }
        fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
            self.0.insert(field.name().to_owned(), format!("{value:?}"));
        }
    }

    impl Subscriber for Capture {
        fn enabled(&self, _: &Metadata<'_>) -> bool {
            true
        }
        fn new_span(&self, _: &Attributes<'_>) -> Id {
            Id::from_u64(1)
        }
        fn record(&self, _: &Id, _: &Record<'_>) {}
        fn record_follows_from(&self, _: &Id, _: &Id) {}
        fn event(&self, event: &Event<'_>) {
            let mut fields = BTreeMap::new();
            event.record(&mut FieldVisitor(&mut fields));
            self.0.lock().unwrap().push(Captured {
                target: event.metadata().target().to_owned(),
                level: *event.metadata().level(),
                fields,
            });
        }
        fn enter(&self, _: &Id) {}
        fn exit(&self, _: &Id) {}
    }

    async fn connected(options: serde_json::Value) -> PluginInstance {
        let dir = std::env::temp_dir();
        let instance = factory().create();
        let config = PluginConfig::new(
            "monitoring",
            json!({"options": options}),
            &dir,
            dir.join(".aido"),
        );
        instance.plugin().connect(&config).await.unwrap();
        instance
    }

    fn context() -> CallContext {
        CallContext {
            run_id: Some("run-7".into()),
            step: Some("plan".into()),
            ..CallContext::default()
        }
    }

    #[tokio::test]
    async fn metrics_are_logged_at_the_configured_level_and_aggregated() {
        let capture = Capture::default();
        let _guard = tracing::subscriber::set_default(capture.clone());
        let plugin = connected(json!({"metric_level": "info"})).await;
        let input = json!({"name": "aido_steps_total", "kind": "counter", "value": 2, "labels": {"status": "ok"}});
        plugin
            .call(&context(), "record_metric", input)
            .await
            .unwrap();

        let events = capture.events();
        assert_eq!(events.len(), 1, "{events:?}");
        let event = &events[0];
        assert_eq!(event.target, "aido::monitoring");
        assert_eq!(event.level, Level::INFO);
        assert_eq!(event.fields["metric"], "aido_steps_total");
        assert_eq!(event.fields["labels"], r#"{"status":"ok"}"#);
        assert_eq!(event.fields["run_id"], "run-7");
        assert_eq!(event.fields["step"], "plan");

        let export = plugin
            .call(&context(), "export_metrics", json!({}))
            .await
            .unwrap();
        assert_eq!(
            export["body"],
            "# TYPE aido_steps_total counter\naido_steps_total{status=\"ok\"} 2\n"
        );
    }

    #[tokio::test]
    async fn events_keep_their_level_and_errors_log_at_error() {
        let capture = Capture::default();
        let _guard = tracing::subscriber::set_default(capture.clone());
        let plugin = connected(json!({})).await;
        let event = json!({"name": "budget.near", "level": "warn", "message": "90% of the budget spent",
                           "fields": {"spent": 4.5}});
        plugin
            .call(&context(), "record_event", event)
            .await
            .unwrap();
        let report = json!({"message": "token refused", "error_kind": "authentication",
                            "plugin": "linear", "run_id": "run-1"});
        plugin
            .call(&context(), "report_error", report)
            .await
            .unwrap();

        let events = capture.events();
        assert_eq!(events.len(), 2, "{events:?}");
        assert_eq!(events[0].level, Level::WARN);
        assert_eq!(events[0].fields["message"], "90% of the budget spent");
        assert_eq!(events[0].fields["fields"], r#"{"spent":4.5}"#);
        assert_eq!(events[1].level, Level::ERROR);
        assert_eq!(events[1].fields["message"], "token refused");
        assert_eq!(events[1].fields["plugin"], "linear");
        // The report's own run wins over the call's.
        assert_eq!(events[1].fields["run_id"], "run-1");
        assert_eq!(events[1].fields["step"], "plan");

        let body = plugin
            .call(&context(), "export_metrics", json!({}))
            .await
            .unwrap()["body"]
            .as_str()
            .unwrap()
            .to_owned();
        assert!(
            body.contains("aido_events_total{event=\"budget.near\",level=\"warn\"} 1\n"),
            "{body}"
        );
        assert!(
            body.contains("aido_errors_total{error_kind=\"authentication\",plugin=\"linear\"} 1\n"),
            "{body}"
        );
    }

    #[tokio::test]
    async fn rejected_metrics_are_not_logged() {
        let capture = Capture::default();
        let _guard = tracing::subscriber::set_default(capture.clone());
        let plugin = connected(json!({})).await;
        let err = plugin
            .call(
                &context(),
                "record_metric",
                json!({"name": "bad name", "kind": "gauge", "value": 1}),
            )
            .await
            .unwrap_err();
        assert_eq!(err.kind(), aido_plugin_api::ErrorKind::InvalidInput);
        assert!(capture.events().is_empty());
    }

    #[tokio::test]
    async fn calls_before_connect_fail_and_unknown_options_are_rejected() {
        let plugin = factory().create();
        let err = plugin
            .call(&context(), "flush", json!({}))
            .await
            .unwrap_err();
        assert!(err.message().contains("not connected"), "{err}");

        let dir = std::env::temp_dir();
        let config = PluginConfig::new(
            "monitoring",
            json!({"options": {"levle": "info"}}),
            &dir,
            &dir,
        );
        let problems = plugin.plugin().validate_config(&config);
        assert_eq!(problems.len(), 1);
        assert!(plugin.plugin().connect(&config).await.is_err());
    }
}
