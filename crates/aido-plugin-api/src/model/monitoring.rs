//! Metrics, events and error reports: the `monitoring` kind's data.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::Fields;

/// How a metric's values combine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum MetricKind {
    /// Only goes up; each value is added.
    Counter,
    /// Goes up and down; each value replaces the last.
    Gauge,
    /// A distribution; each value is one observation.
    Histogram,
}

/// Input of `record_metric`: one measurement.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Metric {
    /// Its name, in Prometheus style (`aido_steps_total`).
    pub name: String,
    /// How values combine.
    pub kind: MetricKind,
    /// The value (a count, a level, or one observation).
    pub value: f64,
    /// Dimensions, such as `plugin` and `action`.
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    /// What it measures, for the exposition's `# HELP`.
    #[serde(default)]
    pub help: Option<String>,
}

/// How important an event is.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum EventLevel {
    /// Detail.
    Debug,
    /// Normal operation.
    #[default]
    Info,
    /// Something odd.
    Warn,
    /// Something failed.
    Error,
}

/// Input of `record_event`: something that happened.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MonitoringEvent {
    /// A stable name, such as `run.finished`.
    pub name: String,
    /// How important it is.
    #[serde(default)]
    pub level: EventLevel,
    /// A human sentence.
    #[serde(default)]
    pub message: String,
    /// Structured details.
    #[serde(default)]
    pub fields: Fields,
    /// When it happened; now when absent.
    #[serde(default)]
    pub at: Option<DateTime<Utc>>,
}

/// Input of `report_error`: a failure worth tracking.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ErrorReport {
    /// The error's message (never holding a secret).
    pub message: String,
    /// Its kind in aido's taxonomy, such as `rate_limited`.
    #[serde(default)]
    pub error_kind: Option<String>,
    /// The plugin that failed.
    #[serde(default)]
    pub plugin: Option<String>,
    /// The operation that failed.
    #[serde(default)]
    pub operation: Option<String>,
    /// The run it happened in.
    #[serde(default)]
    pub run_id: Option<String>,
    /// The step it happened in.
    #[serde(default)]
    pub step: Option<String>,
    /// Anything else worth knowing.
    #[serde(default)]
    pub context: Fields,
}

/// The result of `export_metrics`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct MetricsExport {
    /// The media type of `body`, such as
    /// `text/plain; version=0.0.4` for Prometheus text.
    pub content_type: String,
    /// The metrics.
    pub body: String,
}
