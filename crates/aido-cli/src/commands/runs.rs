//! `aido runs list | show | resume | cancel` and `aido costs`.

use aido_core::store::RunStore;

use crate::cli::{GlobalArgs, RunsCommand};
use crate::commands::workflow::drive;
use crate::context;
use crate::exit::{CliError, CliResult};
use crate::output::{Output, Tone};

/// Runs one `aido runs` subcommand.
pub async fn run(args: &GlobalArgs, command: &RunsCommand, out: &Output) -> CliResult {
    let registry = context::registry()?;
    let loaded = context::load_config(args, &registry, out)?;
    match command {
        RunsCommand::List { status, limit } => {
            if let Some(status) = status {
                let known = [
                    "running",
                    "succeeded",
                    "failed",
                    "cancelled",
                    "rolled_back",
                    "interrupted",
                ];
                if !known.contains(&status.as_str()) {
                    return Err(CliError::usage(format!(
                        "`{status}` is not a run status; expected one of {}",
                        known.join(", ")
                    )));
                }
            }
            let store = context::open_store(&loaded).await?;
            list(&store, status.as_deref(), *limit, out).await
        }
        RunsCommand::Show { id } => {
            let store = context::open_store(&loaded).await?;
            show(&store, id, out).await
        }
        RunsCommand::Resume { id } => {
            let id = id.clone();
            drive(loaded, out, async move |engine, progress| {
                engine.resume(&id, progress).await
            })
            .await
        }
        RunsCommand::Cancel { id } => {
            let store = context::open_store(&loaded).await?;
            match store.request_cancel(id).await.map_err(CliError::runtime)? {
                None => Err(CliError::usage(format!(
                    "there is no run `{id}`; `aido runs list` shows them"
                ))),
                Some(state) => {
                    if out.json {
                        out.json(&serde_json::json!({ "run_id": id, "status": state }));
                    } else {
                        out.line(&format!("{id}: {state}"));
                    }
                    Ok(())
                }
            }
        }
    }
}

async fn list(store: &RunStore, status: Option<&str>, limit: u32, out: &Output) -> CliResult {
    let runs = store
        .list_runs(status, limit)
        .await
        .map_err(CliError::runtime)?;
    if out.json {
        out.json(&runs);
        return Ok(());
    }
    let mut rows = vec![
        ["RUN", "WORKFLOW", "TASK", "STATUS", "STARTED", "COST"]
            .map(str::to_owned)
            .to_vec(),
    ];
    for run in runs {
        rows.push(vec![
            run.id.clone(),
            run.workflow.clone(),
            run.task_id.clone().unwrap_or_else(|| "-".to_owned()),
            paint_status(out, run.display_status()),
            run.created_at.format("%Y-%m-%d %H:%M:%S").to_string(),
            format!("${:.4}", run.cost_usd),
        ]);
    }
    out.table(&rows);
    Ok(())
}

fn paint_status(out: &Output, status: &str) -> String {
    let tone = match status {
        "succeeded" => Tone::Good,
        "running" | "skipped" | "rolled_back" => Tone::Warn,
        _ => Tone::Bad,
    };
    out.paint(status, tone)
}

async fn show(store: &RunStore, id: &str, out: &Output) -> CliResult {
    let detail = store
        .run_detail(id)
        .await
        .map_err(CliError::runtime)?
        .ok_or_else(|| {
            CliError::usage(format!(
                "there is no run `{id}`; `aido runs list` shows them"
            ))
        })?;
    if out.json {
        out.json(&detail);
        return Ok(());
    }
    let run = &detail.run;
    out.line(&format!("run       {}", run.id));
    out.line(&format!(
        "workflow  {} ({})",
        run.workflow, run.workflow_origin
    ));
    if let Some(task) = &run.task_id {
        out.line(&format!("task      {task}"));
    }
    out.line(&format!(
        "status    {}",
        paint_status(out, run.display_status())
    ));
    out.line(&format!("started   {}", run.created_at.to_rfc3339()));
    if let Some(finished) = run.finished_at {
        let seconds = (finished - run.created_at).num_milliseconds() as f64 / 1000.0;
        out.line(&format!(
            "finished  {} ({seconds:.1} s)",
            finished.to_rfc3339()
        ));
    }
    out.line(&format!(
        "cost      ${:.4} ({} tokens)",
        run.cost_usd, run.tokens
    ));
    out.line(&format!("workspace {}", run.workspace));
    if let Some(error) = &run.error {
        out.line(&format!("error     {}", out.paint(error, Tone::Bad)));
    }
    out.line("");
    let mut rows = vec![
        ["STEP", "STATUS", "ATTEMPT", "DURATION", "COST", "ERROR"]
            .map(str::to_owned)
            .to_vec(),
    ];
    for step in &detail.steps {
        let duration = step
            .finished_at
            .map(|f| {
                format!(
                    "{:.2} s",
                    (f - step.started_at).num_milliseconds() as f64 / 1000.0
                )
            })
            .unwrap_or_else(|| "-".to_owned());
        let cost = if step.cost_usd > 0.0 {
            format!("${:.4}", step.cost_usd)
        } else {
            "-".to_owned()
        };
        let error = step.error.clone().unwrap_or_default();
        let error: String = error
            .lines()
            .next()
            .unwrap_or("")
            .chars()
            .take(160)
            .collect();
        rows.push(vec![
            step.name.clone(),
            paint_status(out, step.status.as_str()),
            step.attempt.to_string(),
            duration,
            cost,
            error,
        ]);
    }
    out.table(&rows);
    Ok(())
}

/// `aido costs [--month YYYY-MM]`.
pub async fn costs(args: &GlobalArgs, month: Option<&str>, out: &Output) -> CliResult {
    if let Some(month) = month {
        let valid = month.len() == 7
            && chrono::NaiveDate::parse_from_str(&format!("{month}-01"), "%Y-%m-%d").is_ok();
        if !valid {
            return Err(CliError::usage(format!(
                "`{month}` is not a month; write it as YYYY-MM, such as 2026-11"
            )));
        }
    }
    let registry = context::registry()?;
    let loaded = context::load_config(args, &registry, out)?;
    let store = context::open_store(&loaded).await?;
    let rows = store.cost_report(month).await.map_err(CliError::runtime)?;
    let total: f64 = rows.iter().map(|r| r.cost_usd).sum();
    if out.json {
        out.json(&serde_json::json!({ "rows": rows, "total_usd": total, "monthly_budget_usd": loaded.settings.limits.monthly_budget }));
        return Ok(());
    }
    let mut table = vec![
        [
            "MONTH",
            "WORKFLOW",
            "PROVIDER",
            "CALLS",
            "TOKENS IN",
            "TOKENS OUT",
            "COST",
        ]
        .map(str::to_owned)
        .to_vec(),
    ];
    for row in &rows {
        table.push(vec![
            row.month.clone(),
            row.workflow.clone(),
            row.provider.clone(),
            row.calls.to_string(),
            row.input_tokens.to_string(),
            row.output_tokens.to_string(),
            format!("${:.4}", row.cost_usd),
        ]);
    }
    out.table(&table);
    out.line(&format!(
        "total ${total:.4} (monthly budget ${:.2})",
        loaded.settings.limits.monthly_budget
    ));
    Ok(())
}
