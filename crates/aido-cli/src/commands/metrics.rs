//! `aido metrics`: the project's totals (runs, steps, AI spend and tokens
//! from the run store) in the configured monitoring plugin's exposition
//! format — Prometheus text for `log` and `prometheus`. `aido serve` will
//! serve the live registry at `/metrics`.

use std::time::Duration;

use serde_json::json;

use aido_core::lifecycle::{shutdown_signal, with_plugins};
use aido_plugin_api::model::monitoring::MetricsExport;
use aido_plugin_api::{CallContext, PluginKind};

use crate::cli::GlobalArgs;
use crate::context;
use crate::exit::{CliError, CliResult};
use crate::output::Output;

const HELP: &[(&str, &str)] = &[
    (
        "aido_runs_total",
        "Runs recorded in the run store, by workflow and status.",
    ),
    (
        "aido_steps_total",
        "Steps recorded in the run store, by workflow and status.",
    ),
    (
        "aido_ai_cost_usd_total",
        "AI spend in US dollars, by provider and model.",
    ),
    (
        "aido_ai_tokens_total",
        "AI tokens, by provider, model and direction.",
    ),
];

/// Prints the metrics.
pub async fn run(args: &GlobalArgs, out: &Output) -> CliResult {
    let registry = context::registry()?;
    let loaded = context::load_config(args, &registry, out)?;
    let monitoring = loaded
        .plugin(PluginKind::Monitoring)
        .cloned()
        .ok_or_else(|| CliError::usage("no monitoring plugin is configured"))?;
    let store = context::open_store(&loaded).await?;
    let totals = store.totals().await.map_err(CliError::runtime)?;
    let instance = monitoring.instance.clone();
    let timeout = Duration::from_secs(loaded.settings.system.connect_timeout_seconds);
    let cx = CallContext::detached();
    let export = with_plugins(vec![monitoring], timeout, shutdown_signal(), async |_| {
        for (name, labels, value) in &totals {
            let help = HELP.iter().find(|(n, _)| n == name).map(|(_, h)| *h);
            let labels: serde_json::Map<String, serde_json::Value> = labels.iter().map(|(k, v)| (k.clone(), json!(v))).collect();
            let metric = json!({ "name": name, "kind": "counter", "value": value, "labels": labels, "help": help });
            instance.call(&cx, "record_metric", metric).await?;
        }
        instance.call(&cx, "export_metrics", json!({})).await
    })
    .await?
    .map_err(CliError::runtime)?;
    let export: MetricsExport = serde_json::from_value(export).map_err(|err| {
        CliError::runtime(format!(
            "the monitoring plugin's export does not fit: {err}"
        ))
    })?;
    if out.json {
        out.json(&export);
    } else {
        out.line(export.body.trim_end());
    }
    Ok(())
}
