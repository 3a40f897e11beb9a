//! The `prometheus` monitoring plugin: metrics aggregated in memory and
//! exposed in the Prometheus text exposition format 0.0.4.
//!
//! `export_metrics` returns the exposition, which `aido serve` puts behind
//! `/metrics` for a Prometheus server to scrape. A process that lives too
//! short to be scraped (`aido run` in CI) can instead set
//! `options.textfile`: each `flush`, and the final `disconnect`, then writes
//! the exposition to that file atomically, the way node_exporter's textfile
//! collector expects (point its `--collector.textfile.directory` at the
//! folder and name the file `*.prom`).
//!
//! Events and errors are counted too, as `aido_events_total` and
//! `aido_errors_total`.
//!
//! ```yaml
//! plugins:
//!   monitoring:
//!     provider: prometheus
//!     config:
//!       options:
//!         textfile: /var/lib/node_exporter/textfile/aido.prom
//!         buckets: [0.1, 1, 10, 60, 600]
//! ```

use std::path::{Path, PathBuf};
use std::sync::{Arc, LazyLock, PoisonError, RwLock};

use aido_plugin_api::model::NoInput;
use aido_plugin_api::model::monitoring::{ErrorReport, Metric, MetricsExport, MonitoringEvent};
use aido_plugin_api::{
    CallContext, ConfigProblem, Error, Health, Monitoring, Plugin, PluginConfig, PluginFactory,
    PluginInstance, PluginKind, PluginMetadata, Result, async_trait,
};
use schemars::JsonSchema;
use serde::Deserialize;

use super::registry::{self, CONTENT_TYPE, DEFAULT_BUCKETS, MetricRegistry};
use super::{error_metric, event_metric};
use crate::fs_util::atomic_write;

/// The plugin's name in `provider:`.
const NAME: &str = "prometheus";

/// Configuration of the `prometheus` plugin.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct PrometheusConfig {
    /// How metrics are kept and exposed.
    #[serde(default)]
    options: PrometheusOptions,
}

/// Options of the `prometheus` plugin.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct PrometheusOptions {
    /// A file the exposition is written to, atomically, on every `flush` and
    /// on disconnect (node_exporter's textfile collector reads `*.prom`
    /// files). Relative paths are resolved against the project's root.
    #[serde(default)]
    textfile: Option<PathBuf>,
    /// Upper bounds of histogram buckets, in seconds, strictly increasing;
    /// `+Inf` is always added.
    #[serde(default = "default_buckets")]
    buckets: Vec<f64>,
}

impl Default for PrometheusOptions {
    fn default() -> Self {
        PrometheusOptions {
            textfile: None,
            buckets: default_buckets(),
        }
    }
}

fn default_buckets() -> Vec<f64> {
    DEFAULT_BUCKETS.to_vec()
}

static META: LazyLock<PluginMetadata> = LazyLock::new(|| {
    PluginMetadata::new::<PrometheusConfig>(
        NAME,
        PluginKind::Monitoring,
        env!("CARGO_PKG_VERSION"),
        "Aggregates metrics in memory and exposes them in the Prometheus text format, \
         optionally as a node_exporter textfile.",
    )
});

/// The `prometheus` plugin's factory, for the registry.
pub fn factory() -> PluginFactory {
    PluginFactory::new(META.clone(), || {
        PluginInstance::Monitoring(Arc::new(PrometheusPlugin::default()))
    })
}

/// The `prometheus` plugin: unconfigured until `connect`.
#[derive(Debug, Default)]
pub(crate) struct PrometheusPlugin {
    state: RwLock<Option<Arc<Connected>>>,
}

/// What `connect` sets up.
#[derive(Debug)]
struct Connected {
    registry: MetricRegistry,
    textfile: Option<PathBuf>,
}

impl PrometheusPlugin {
    fn connected(&self) -> Result<Arc<Connected>> {
        let state = self.state.read().unwrap_or_else(PoisonError::into_inner);
        state.clone().ok_or_else(|| {
            Error::other("the prometheus plugin is not connected; `connect` must succeed first")
        })
    }
}

impl Connected {
    /// Writes the exposition to the textfile, if one is configured.
    async fn write_textfile(&self) -> Result<()> {
        let Some(path) = self.textfile.clone() else {
            return Ok(());
        };
        let body = self.registry.render();
        tokio::task::spawn_blocking(move || {
            atomic_write(&path, body.as_bytes()).map_err(|err| {
                Error::other(format!(
                    "could not write the metrics textfile {}: {err}",
                    path.display()
                ))
                .with_source(err)
            })
        })
        .await
        .map_err(|err| Error::other(format!("writing the metrics textfile stopped: {err}")))?
    }
}

/// Parses the configuration, or says why it does not parse.
fn parse_config(config: &PluginConfig) -> std::result::Result<PrometheusConfig, ConfigProblem> {
    config
        .parse()
        .map_err(|err: Error| ConfigProblem::new("", err.message()))
}

fn check_textfile(path: &Path) -> Option<ConfigProblem> {
    path.is_dir().then(|| {
        ConfigProblem::new(
            "options.textfile",
            format!(
                "{} is a directory; name a file in it, such as {}",
                path.display(),
                path.join("aido.prom").display()
            ),
        )
    })
}

#[async_trait]
impl Plugin for PrometheusPlugin {
    fn metadata(&self) -> &PluginMetadata {
        &META
    }

    fn validate_config(&self, config: &PluginConfig) -> Vec<ConfigProblem> {
        let parsed = match parse_config(config) {
            Ok(parsed) => parsed,
            Err(problem) => return vec![problem],
        };
        let mut problems = registry::check_buckets("options.buckets", &parsed.options.buckets);
        if let Some(textfile) = &parsed.options.textfile {
            problems.extend(check_textfile(&config.resolve_path(textfile)));
        }
        problems
    }

    async fn connect(&self, config: &PluginConfig) -> Result<()> {
        let parsed: PrometheusConfig = config.parse()?;
        if let Some(problem) =
            registry::check_buckets("options.buckets", &parsed.options.buckets).first()
        {
            return Err(Error::configuration(format!(
                "{}: {}",
                problem.path, problem.message
            )));
        }
        let connected = Connected {
            registry: MetricRegistry::new(parsed.options.buckets),
            textfile: parsed
                .options
                .textfile
                .map(|path| config.resolve_path(path)),
        };
        *self.state.write().unwrap_or_else(PoisonError::into_inner) = Some(Arc::new(connected));
        Ok(())
    }

    async fn disconnect(&self) -> Result<()> {
        let taken = self
            .state
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        // The last values must reach the textfile, or a short run would
        // leave only what its last explicit flush saw.
        match taken {
            Some(connected) => connected.write_textfile().await,
            None => Ok(()),
        }
    }

    async fn health_check(&self) -> Health {
        let connected = match self.connected() {
            Ok(connected) => connected,
            Err(err) => return Health::Unhealthy(err.message().to_owned()),
        };
        // Writing the textfile is the only thing that can fail; doing it is
        // the real check, and it only writes what a flush would.
        match connected.write_textfile().await {
            Ok(()) => Health::Healthy,
            Err(err) => Health::Unhealthy(err.message().to_owned()),
        }
    }
}

#[async_trait]
impl Monitoring for PrometheusPlugin {
    async fn record_metric(&self, _cx: &CallContext, metric: Metric) -> Result<()> {
        self.connected()?.registry.record(&metric)
    }

    async fn record_event(&self, _cx: &CallContext, event: MonitoringEvent) -> Result<()> {
        self.connected()?.registry.record(&event_metric(&event))
    }

    async fn report_error(&self, _cx: &CallContext, report: ErrorReport) -> Result<()> {
        self.connected()?.registry.record(&error_metric(&report))
    }

    async fn flush(&self, _cx: &CallContext, _input: NoInput) -> Result<()> {
        self.connected()?.write_textfile().await
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
    use super::*;
    use aido_plugin_api::ErrorKind;
    use serde_json::json;

    fn config(dir: &Path, value: serde_json::Value) -> PluginConfig {
        PluginConfig::new("monitoring", value, dir, dir.join(".aido"))
    }

    async fn connected(dir: &Path, value: serde_json::Value) -> PluginInstance {
        let instance = factory().create();
        instance
            .plugin()
            .connect(&config(dir, value))
            .await
            .unwrap();
        instance
    }

    #[tokio::test]
    async fn metrics_recorded_through_the_catalog_are_exported_exactly() {
        let dir = tempfile::tempdir().unwrap();
        let plugin = connected(dir.path(), json!({"options": {"buckets": [1, 10]}})).await;
        let cx = CallContext::default();
        let calls = [
            json!({"name": "aido_ai_cost_usd_total", "kind": "counter", "value": 0.25,
                   "labels": {"model": "claude-sonnet-4"}, "help": "AI spend."}),
            json!({"name": "aido_ai_cost_usd_total", "kind": "counter", "value": 0.5,
                   "labels": {"model": "claude-sonnet-4"}}),
            json!({"name": "aido_step_seconds", "kind": "histogram", "value": 3.5}),
        ];
        for input in calls {
            plugin.call(&cx, "record_metric", input).await.unwrap();
        }
        plugin
            .call(
                &cx,
                "record_event",
                json!({"name": "run.finished", "level": "info"}),
            )
            .await
            .unwrap();
        let export = plugin.call(&cx, "export_metrics", json!({})).await.unwrap();
        assert_eq!(
            export["content_type"],
            "text/plain; version=0.0.4; charset=utf-8"
        );
        assert_eq!(
            export["body"],
            "# HELP aido_ai_cost_usd_total AI spend.\n\
             # TYPE aido_ai_cost_usd_total counter\n\
             aido_ai_cost_usd_total{model=\"claude-sonnet-4\"} 0.75\n\
             # HELP aido_events_total Events recorded, by event name and level.\n\
             # TYPE aido_events_total counter\n\
             aido_events_total{event=\"run.finished\",level=\"info\"} 1\n\
             # TYPE aido_step_seconds histogram\n\
             aido_step_seconds_bucket{le=\"1\"} 0\n\
             aido_step_seconds_bucket{le=\"10\"} 1\n\
             aido_step_seconds_bucket{le=\"+Inf\"} 1\n\
             aido_step_seconds_sum 3.5\n\
             aido_step_seconds_count 1\n"
        );
    }

    #[tokio::test]
    async fn kind_conflicts_are_invalid_input_naming_the_plugin() {
        let dir = tempfile::tempdir().unwrap();
        let plugin = connected(dir.path(), json!({})).await;
        let cx = CallContext::default();
        plugin
            .call(
                &cx,
                "record_metric",
                json!({"name": "x", "kind": "gauge", "value": 1}),
            )
            .await
            .unwrap();
        let err = plugin
            .call(
                &cx,
                "record_metric",
                json!({"name": "x", "kind": "histogram", "value": 1}),
            )
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput);
        assert_eq!(err.plugin(), "prometheus");
        assert_eq!(err.operation(), "record_metric");
    }

    #[tokio::test]
    async fn flush_and_disconnect_write_the_textfile() {
        let dir = tempfile::tempdir().unwrap();
        let plugin = connected(
            dir.path(),
            json!({"options": {"textfile": "metrics/aido.prom"}}),
        )
        .await;
        let cx = CallContext::default();
        let textfile = dir.path().join("metrics/aido.prom");
        plugin
            .call(
                &cx,
                "record_metric",
                json!({"name": "a", "kind": "gauge", "value": 1}),
            )
            .await
            .unwrap();
        plugin.call(&cx, "flush", json!({})).await.unwrap();
        assert_eq!(
            std::fs::read_to_string(&textfile).unwrap(),
            "# TYPE a gauge\na 1\n"
        );

        plugin
            .call(
                &cx,
                "record_metric",
                json!({"name": "a", "kind": "gauge", "value": 2}),
            )
            .await
            .unwrap();
        plugin.plugin().disconnect().await.unwrap();
        assert_eq!(
            std::fs::read_to_string(&textfile).unwrap(),
            "# TYPE a gauge\na 2\n"
        );
    }

    #[tokio::test]
    async fn calls_before_connect_fail_cleanly() {
        let plugin = factory().create();
        let err = plugin
            .call(&CallContext::default(), "export_metrics", json!({}))
            .await
            .unwrap_err();
        assert!(err.message().contains("not connected"), "{err}");
        assert!(!plugin.plugin().health_check().await.is_usable());
    }

    #[tokio::test]
    async fn health_reports_an_unwritable_textfile() {
        let dir = tempfile::tempdir().unwrap();
        // A textfile whose parent is a regular file can never be written.
        std::fs::write(dir.path().join("blocker"), "").unwrap();
        let plugin = connected(
            dir.path(),
            json!({"options": {"textfile": "blocker/aido.prom"}}),
        )
        .await;
        let health = plugin.plugin().health_check().await;
        assert!(
            matches!(&health, Health::Unhealthy(reason) if reason.contains("aido.prom")),
            "{health}"
        );

        let healthy = connected(dir.path(), json!({"options": {"textfile": "ok.prom"}})).await;
        assert_eq!(healthy.plugin().health_check().await, Health::Healthy);
    }

    #[test]
    fn validate_config_reports_bad_buckets_and_a_directory_textfile() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("metrics")).unwrap();
        let plugin = factory().create();
        let problems = plugin.plugin().validate_config(&config(
            dir.path(),
            json!({"options": {"textfile": "metrics", "buckets": [5, 1]}}),
        ));
        let paths: Vec<_> = problems.iter().map(|p| p.path.as_str()).collect();
        assert_eq!(paths, ["options.buckets.1", "options.textfile"]);
        assert!(
            problems[1].message.contains("aido.prom"),
            "{}",
            problems[1].message
        );
    }

    #[test]
    fn metadata_has_a_schema_without_required_keys() {
        let meta = factory().metadata().clone();
        assert_eq!(meta.name, "prometheus");
        assert_eq!(meta.kind, PluginKind::Monitoring);
        assert!(meta.required_config.is_empty());
        assert!(meta.config_schema.to_string().contains("textfile"));
    }
}
