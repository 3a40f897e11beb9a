//! `aido doctor`: configuration, connection and health of every plugin.

use std::time::Duration;

use serde::Serialize;

use aido_core::lifecycle::connect_each;
use aido_plugin_api::{Health, PluginKind};

use crate::cli::GlobalArgs;
use crate::context;
use crate::exit::{CliError, CliResult, ExitCode};
use crate::output::{Output, Tone};

/// One row of the report.
#[derive(Debug, Serialize)]
struct Row {
    kind: PluginKind,
    provider: String,
    origin: String,
    health: Health,
    elapsed_ms: Option<u64>,
}

/// Validates, connects every plugin, reports their health and disconnects
/// them. Unhealthy or unconnectable plugins make it exit 1.
pub async fn run(args: &GlobalArgs, out: &Output) -> CliResult {
    let registry = context::registry()?;
    let loaded = context::load_config(args, &registry, out)?;
    let timeout = Duration::from_secs(loaded.settings.system.connect_timeout_seconds);
    let origins: Vec<(PluginKind, String)> = loaded
        .plugins
        .iter()
        .map(|p| (p.kind, p.origin.clone()))
        .collect();

    let (active, failures) = connect_each(loaded.plugins.clone(), timeout).await;
    let mut rows: Vec<Row> = active
        .health()
        .await
        .into_iter()
        .map(|report| Row {
            kind: report.kind,
            provider: report.provider,
            origin: report.origin,
            health: report.health,
            elapsed_ms: Some(report.elapsed_ms),
        })
        .collect();
    for failure in failures {
        let origin = origins
            .iter()
            .find(|(k, _)| *k == failure.kind)
            .map(|(_, o)| o.clone())
            .unwrap_or_default();
        rows.push(Row {
            kind: failure.kind,
            provider: failure.provider,
            origin,
            health: Health::Unhealthy(failure.error.to_string()),
            elapsed_ms: None,
        });
    }
    rows.sort_by_key(|row| row.kind);
    for error in active.shutdown().await {
        tracing::warn!(%error, "disconnect failed");
    }

    let unhealthy = rows.iter().filter(|row| !row.health.is_usable()).count();
    // The scripted provider is only ever used when it is the configured
    // one; say so, so nobody mistakes replayed answers for a model.
    let notes: Vec<String> = rows
        .iter()
        .filter(|row| row.kind == PluginKind::AiProvider && row.provider == "scripted")
        .map(|_| {
            "ai_provider is `scripted`: it replays recorded answers (from .aido/answers or connection.answers) and never calls a model; \
             configure anthropic, openai or agent_cli for real work, and scripted is not used"
                .to_owned()
        })
        .collect();
    if out.json {
        out.json(
            &serde_json::json!({ "healthy": unhealthy == 0, "plugins": rows, "notes": notes }),
        );
    } else {
        let mut table = vec![vec![
            "KIND".to_owned(),
            "PLUGIN".to_owned(),
            "HEALTH".to_owned(),
            "TIME".to_owned(),
            "CONFIGURED IN".to_owned(),
        ]];
        for row in &rows {
            let health = match &row.health {
                Health::Healthy => out.paint("healthy", Tone::Good),
                Health::Degraded(reason) => out.paint(&format!("degraded: {reason}"), Tone::Warn),
                Health::Unhealthy(reason) => out.paint(&format!("unhealthy: {reason}"), Tone::Bad),
            };
            let time = row
                .elapsed_ms
                .map(|ms| format!("{ms} ms"))
                .unwrap_or_else(|| "-".to_owned());
            table.push(vec![
                row.kind.to_string(),
                row.provider.clone(),
                health,
                time,
                row.origin.clone(),
            ]);
        }
        out.table(&table);
        for note in &notes {
            out.line(&format!("\n{} {note}", out.paint("note:", Tone::Dim)));
        }
        if unhealthy > 0 {
            out.error(&format!(
                "\n{unhealthy} plugin{} unhealthy",
                if unhealthy == 1 { " is" } else { "s are" }
            ));
        }
    }
    if unhealthy > 0 {
        Err(CliError::reported(ExitCode::Runtime))
    } else {
        Ok(())
    }
}
