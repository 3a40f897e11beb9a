//! The engine's metrics, sent to the configured monitoring plugin: runs,
//! steps, plugin calls (by plugin and action), their latencies, errors and
//! AI cost. A monitoring failure never fails a run; it is logged.

use std::collections::BTreeMap;
use std::time::Duration;

use aido_plugin_api::model::monitoring::{Metric, MetricKind};
use aido_plugin_api::{CallContext, PluginInstance};

use super::events::RunEvent;

/// Sends metrics to a monitoring plugin, if one is configured.
pub(crate) struct Telemetry<'a> {
    monitoring: Option<&'a PluginInstance>,
    workflow: &'a str,
}

impl<'a> Telemetry<'a> {
    pub(crate) fn new(monitoring: Option<&'a PluginInstance>, workflow: &'a str) -> Self {
        Telemetry {
            monitoring,
            workflow,
        }
    }

    async fn record(
        &self,
        name: &str,
        kind: MetricKind,
        value: f64,
        labels: &[(&str, &str)],
        help: &str,
    ) {
        let Some(monitoring) = self.monitoring else {
            return;
        };
        let metric = Metric {
            name: name.to_owned(),
            kind,
            value,
            labels: labels
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect::<BTreeMap<_, _>>(),
            help: Some(help.to_owned()),
        };
        // A typed call: no JSON on the way, since this runs for every step.
        let PluginInstance::Monitoring(monitoring) = monitoring else {
            return;
        };
        if let Err(err) = monitoring
            .record_metric(&CallContext::detached(), metric)
            .await
        {
            tracing::debug!(%err, metric = name, "the monitoring plugin refused a metric");
        }
    }

    /// Metrics for one run event.
    pub(crate) async fn event(&self, event: &RunEvent) {
        let workflow = self.workflow;
        match event {
            RunEvent::StepSucceeded {
                duration_ms,
                cost_usd,
                ..
            } => {
                self.record(
                    "aido_steps_total",
                    MetricKind::Counter,
                    1.0,
                    &[("workflow", workflow), ("status", "succeeded")],
                    "Steps finished, by workflow and status.",
                )
                .await;
                self.record(
                    "aido_step_duration_seconds",
                    MetricKind::Histogram,
                    *duration_ms as f64 / 1000.0,
                    &[("workflow", workflow)],
                    "How long steps took.",
                )
                .await;
                if *cost_usd > 0.0 {
                    self.record(
                        "aido_ai_cost_usd_total",
                        MetricKind::Counter,
                        *cost_usd,
                        &[("workflow", workflow)],
                        "AI spend in US dollars.",
                    )
                    .await;
                }
            }
            RunEvent::StepFailed { .. } => {
                self.record(
                    "aido_steps_total",
                    MetricKind::Counter,
                    1.0,
                    &[("workflow", workflow), ("status", "failed")],
                    "Steps finished, by workflow and status.",
                )
                .await;
            }
            RunEvent::StepSkipped { .. } => {
                self.record(
                    "aido_steps_total",
                    MetricKind::Counter,
                    1.0,
                    &[("workflow", workflow), ("status", "skipped")],
                    "Steps finished, by workflow and status.",
                )
                .await;
            }
            RunEvent::StepRetried { .. } => {
                self.record(
                    "aido_step_retries_total",
                    MetricKind::Counter,
                    1.0,
                    &[("workflow", workflow)],
                    "Steps tried again.",
                )
                .await;
            }
            RunEvent::RunFinished { status, .. } => {
                self.record(
                    "aido_runs_total",
                    MetricKind::Counter,
                    1.0,
                    &[("workflow", workflow), ("status", status)],
                    "Runs ended, by workflow and status.",
                )
                .await;
            }
            _ => {}
        }
    }

    /// Metrics for one plugin call.
    pub(crate) async fn plugin_call(
        &self,
        plugin: &str,
        action: &str,
        elapsed: Duration,
        ok: bool,
    ) {
        let outcome = if ok { "ok" } else { "error" };
        self.record(
            "aido_plugin_calls_total",
            MetricKind::Counter,
            1.0,
            &[("plugin", plugin), ("action", action), ("outcome", outcome)],
            "Plugin calls, by plugin, action and outcome.",
        )
        .await;
        self.record(
            "aido_plugin_call_duration_seconds",
            MetricKind::Histogram,
            elapsed.as_secs_f64(),
            &[("plugin", plugin), ("action", action)],
            "How long plugin calls took.",
        )
        .await;
    }
}
