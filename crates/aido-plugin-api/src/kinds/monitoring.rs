//! The `monitoring` kind: where the engine's metrics, events and errors go.

use crate::model::NoInput;
use crate::model::monitoring::{ErrorReport, Metric, MetricsExport, MonitoringEvent};

super::plugin_kind! {
    /// A sink for the engine's telemetry: metrics (runs, steps, plugin calls,
    /// latencies, AI cost), events and errors.
    kind Monitoring, trait Monitoring {
        /// Records one measurement.
        write fn record_metric(Metric) -> ();
        /// Records something that happened.
        write fn record_event(MonitoringEvent) -> ();
        /// Records a failure.
        write fn report_error(ErrorReport) -> ();
        /// Sends whatever is buffered.
        write fn flush(NoInput) -> ();
        /// The metrics recorded so far, in the plugin's exposition format.
        read fn export_metrics(NoInput) -> MetricsExport;
    }
}
