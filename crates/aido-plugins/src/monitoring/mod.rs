//! The built-in monitoring plugins and what they share.
//!
//! - [`log`]: every metric, event and error becomes a `tracing` event under
//!   the target `aido::monitoring`, and metrics are also aggregated so
//!   `export_metrics` works.
//! - [`prometheus`]: metrics aggregated in memory and exposed in the
//!   Prometheus text format, for `/metrics` or a node_exporter textfile.
//!
//! Both aggregate through one [`registry::MetricRegistry`] per instance, and
//! both count events and errors as metrics ([`event_metric`],
//! [`error_metric`]) so that a dashboard sees them without a log pipeline.

pub(crate) mod log;
pub(crate) mod prometheus;
mod registry;

use std::collections::BTreeMap;

use aido_plugin_api::model::monitoring::{
    ErrorReport, EventLevel, Metric, MetricKind, MonitoringEvent,
};

/// The counter every recorded event increments, labelled `event` and `level`.
pub(crate) const EVENTS_METRIC: &str = "aido_events_total";

/// The counter every reported error increments, labelled by whichever of
/// `error_kind`, `plugin` and `operation` the report has.
pub(crate) const ERRORS_METRIC: &str = "aido_errors_total";

/// The counter increment for one event.
pub(crate) fn event_metric(event: &MonitoringEvent) -> Metric {
    let labels = BTreeMap::from([
        ("event".to_owned(), event.name.clone()),
        ("level".to_owned(), level_name(event.level).to_owned()),
    ]);
    Metric {
        name: EVENTS_METRIC.to_owned(),
        kind: MetricKind::Counter,
        value: 1.0,
        labels,
        help: Some("Events recorded, by event name and level.".to_owned()),
    }
}

/// The counter increment for one error report. Absent fields are left out
/// rather than set to `""`, which Prometheus would treat as absent anyway.
pub(crate) fn error_metric(report: &ErrorReport) -> Metric {
    let labels: BTreeMap<String, String> = [
        ("error_kind", &report.error_kind),
        ("plugin", &report.plugin),
        ("operation", &report.operation),
    ]
    .into_iter()
    .filter_map(|(name, value)| value.as_ref().map(|value| (name.to_owned(), value.clone())))
    .collect();
    Metric {
        name: ERRORS_METRIC.to_owned(),
        kind: MetricKind::Counter,
        value: 1.0,
        labels,
        help: Some("Errors reported, by error kind, plugin and operation.".to_owned()),
    }
}

/// The snake_case name of an event level, as in configuration.
pub(crate) fn level_name(level: EventLevel) -> &'static str {
    match level {
        EventLevel::Debug => "debug",
        EventLevel::Info => "info",
        EventLevel::Warn => "warn",
        EventLevel::Error => "error",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_metric_labels_only_what_the_report_has() {
        let report = ErrorReport {
            message: "boom".into(),
            error_kind: Some("rate_limited".into()),
            plugin: None,
            operation: Some("get_task".into()),
            run_id: None,
            step: None,
            context: Default::default(),
        };
        let metric = error_metric(&report);
        let names: Vec<&str> = metric.labels.keys().map(String::as_str).collect();
        assert_eq!(names, ["error_kind", "operation"]);
    }
}
