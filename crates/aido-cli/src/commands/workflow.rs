//! `aido workflow validate | list | run`, and the run driver shared with
//! `aido runs resume`.

use std::time::Duration;

use serde_json::{Map, Value};

use aido_core::config::LoadedConfig;
use aido_core::engine::{Engine, EngineError, RunOutcome};
use aido_core::lifecycle::{LifecycleError, shutdown_signal, with_plugins};
use aido_core::store::RunStatus;
use aido_core::workflow::validate;

use crate::cli::{GlobalArgs, WorkflowCommand};
use crate::context;
use crate::exit::{CliError, CliResult, ExitCode};
use crate::output::{Output, Tone};
use crate::progress::Progress;

/// Runs one `aido workflow` subcommand.
pub async fn run(args: &GlobalArgs, command: &WorkflowCommand, out: &Output) -> CliResult {
    let registry = context::registry()?;
    let loaded = context::load_config(args, &registry, out)?;
    match command {
        WorkflowCommand::Validate { files } => validate_files(&loaded, files, out),
        WorkflowCommand::List => {
            list(&loaded, out);
            Ok(())
        }
        WorkflowCommand::Run { workflow, vars } => {
            let library = context::library(&loaded);
            let file = library
                .load(workflow)
                .map_err(|d| context::report_diagnostics(out, &d))?;
            let problems = validate::validate(&file, &context::builtins(&loaded));
            if !problems.is_empty() {
                return Err(context::report_diagnostics(out, &problems));
            }
            let vars: Map<String, Value> = vars
                .iter()
                .map(|(k, v)| (k.clone(), Value::String(v.clone())))
                .collect();
            drive(loaded, out, async |engine, progress| {
                engine.start(&file, vars, progress).await
            })
            .await
        }
    }
}

/// `aido plan DESCRIPTION`: the `project_planning` workflow, then the plan
/// and what was made.
pub async fn plan(
    args: &GlobalArgs,
    description: &str,
    project: Option<&str>,
    dry_run: bool,
    out: &Output,
) -> CliResult {
    let registry = context::registry()?;
    let loaded = context::load_config(args, &registry, out)?;
    let file = context::library(&loaded)
        .load("project_planning")
        .map_err(|d| context::report_diagnostics(out, &d))?;
    let problems = validate::validate(&file, &context::builtins(&loaded));
    if !problems.is_empty() {
        return Err(context::report_diagnostics(out, &problems));
    }
    let mut variables = Map::new();
    variables.insert(
        "description".to_owned(),
        Value::String(description.to_owned()),
    );
    if let Some(project) = project {
        variables.insert("project".to_owned(), Value::String(project.to_owned()));
    }
    variables.insert("dry_run".to_owned(), Value::Bool(dry_run));
    // The run's events go to stderr here (or nowhere with --json): stdout
    // holds the plan.
    let quiet = Output {
        json: false,
        ..*out
    };
    let finished = std::sync::Mutex::new(None);
    let result = drive(loaded, &quiet, async |engine, progress| {
        let outcome = if out.json {
            engine
                .start(&file, variables, &aido_core::engine::NoEvents)
                .await
        } else {
            engine.start(&file, variables, progress).await
        };
        if let Ok(outcome) = &outcome {
            *finished
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner) =
                Some(outcome.variables.clone());
        }
        outcome
    })
    .await;
    let variables = finished
        .into_inner()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    result?;
    let Some(variables) = variables else {
        return Ok(());
    };
    print_plan(&variables, dry_run, out);
    Ok(())
}

fn print_plan(variables: &Value, dry_run: bool, out: &Output) {
    let plan = &variables["plan"];
    if out.json {
        out.json(&serde_json::json!({
            "plan": plan,
            "dry_run": dry_run,
            "epics": variables.get("epics").cloned().unwrap_or(Value::Null),
            "tasks": variables.get("tasks").cloned().unwrap_or(Value::Null),
            "plan_page": variables.get("plan_page").cloned().unwrap_or(Value::Null),
        }));
        return;
    }
    let empty = Vec::new();
    let epics = plan["epics"].as_array().unwrap_or(&empty);
    let tasks = plan["tasks"].as_array().unwrap_or(&empty);
    let made_epics = variables.get("epics").and_then(Value::as_array);
    let made_tasks = variables.get("tasks").and_then(Value::as_array);
    for (e, epic) in epics.iter().enumerate() {
        let id = made_epics
            .and_then(|m| m.get(e))
            .and_then(|m| m["id"].as_str())
            .unwrap_or("epic");
        out.line(&format!(
            "{} {}",
            out.paint(id, Tone::Good),
            epic["title"].as_str().unwrap_or("")
        ));
        for (t, task) in tasks
            .iter()
            .enumerate()
            .filter(|(_, t)| t["epic"].as_u64() == Some(e as u64))
        {
            let id = made_tasks
                .and_then(|m| m.get(t))
                .and_then(|m| m["id"].as_str())
                .unwrap_or("-");
            out.line(&format!(
                "  {id:<8} {} ({}, {} points)",
                task["title"].as_str().unwrap_or(""),
                task["priority"].as_str().unwrap_or("medium"),
                task["story_points"]
            ));
        }
    }
    if dry_run {
        out.line(&out.paint("dry run: nothing was created", Tone::Dim));
    }
}

/// `aido run TASK_ID`: the default (or named) workflow with the task.
pub async fn run_task(
    args: &GlobalArgs,
    task_id: &str,
    workflow: Option<&str>,
    keep_workspace: bool,
    vars: &[(String, String)],
    out: &Output,
) -> CliResult {
    let registry = context::registry()?;
    let loaded = context::load_config(args, &registry, out)?;
    let name = workflow
        .map(str::to_owned)
        .unwrap_or_else(|| loaded.settings.workflows.default.clone());
    let file = context::library(&loaded)
        .load(&name)
        .map_err(|d| context::report_diagnostics(out, &d))?;
    let problems = validate::validate(&file, &context::builtins(&loaded));
    if !problems.is_empty() {
        return Err(context::report_diagnostics(out, &problems));
    }
    let mut variables: Map<String, Value> = vars
        .iter()
        .map(|(k, v)| (k.clone(), Value::String(v.clone())))
        .collect();
    variables.insert("task_id".to_owned(), Value::String(task_id.to_owned()));
    if keep_workspace {
        variables.insert("keep_workspace".to_owned(), Value::Bool(true));
    }
    drive(loaded, out, async |engine, progress| {
        engine.start(&file, variables, progress).await
    })
    .await
}

fn validate_files(loaded: &LoadedConfig, files: &[String], out: &Output) -> CliResult {
    let library = context::library(loaded);
    let builtins = context::builtins(loaded);
    let mut all = aido_core::config::Diagnostics::default();
    let mut valid = Vec::new();
    for name in files {
        match library.load(name) {
            Ok(file) => {
                let problems = validate::validate(&file, &builtins);
                if problems.is_empty() {
                    valid.push(file.origin.display().to_string());
                }
                all.0.extend(problems.0);
            }
            Err(problems) => all.0.extend(problems.0),
        }
    }
    if !all.is_empty() {
        return Err(context::report_diagnostics(out, &all));
    }
    if out.json {
        out.json(&serde_json::json!({ "valid": true, "files": valid }));
    } else {
        for file in valid {
            out.line(&format!("{} {file}", out.paint("ok", Tone::Good)));
        }
    }
    Ok(())
}

fn list(loaded: &LoadedConfig, out: &Output) {
    let entries = context::library(loaded).list();
    if out.json {
        out.json(&entries);
        return;
    }
    let mut rows = vec![vec![
        "NAME".to_owned(),
        "FROM".to_owned(),
        "DESCRIPTION".to_owned(),
    ]];
    for entry in entries {
        let from = if entry.overrides_shipped {
            format!("{} (overrides shipped)", entry.origin)
        } else {
            entry.origin
        };
        rows.push(vec![entry.name, from, entry.description]);
    }
    out.table(&rows);
}

/// Connects the plugins, runs `body` with an engine, always disconnects,
/// and turns the outcome into output and an exit code. On Ctrl-C the run is
/// left interrupted and resumable.
pub async fn drive(
    loaded: LoadedConfig,
    out: &Output,
    body: impl AsyncFnOnce(&Engine, &Progress) -> Result<RunOutcome, EngineError>,
) -> CliResult {
    let store = context::open_store(&loaded).await?;
    let engine = context::engine(&loaded, store);
    let progress = Progress::new(out);
    let timeout = Duration::from_secs(loaded.settings.system.connect_timeout_seconds);
    let result = with_plugins(
        loaded.plugins.clone(),
        timeout,
        shutdown_signal(),
        async |_| body(&engine, &progress).await,
    )
    .await;
    let outcome = match result {
        Ok(Ok(outcome)) => outcome,
        Ok(Err(EngineError::Store(err))) => return Err(CliError::runtime(err)),
        Ok(Err(err)) => return Err(CliError::usage(err)),
        Err(LifecycleError::Interrupted) => {
            let runs = engine.release_active().await;
            for run in &runs {
                out.error(&format!("interrupted; resume with: aido runs resume {run}"));
            }
            return Err(CliError::reported(ExitCode::Interrupted));
        }
        Err(err) => return Err(CliError::runtime(err)),
    };
    if outcome.status == RunStatus::Succeeded {
        return Ok(());
    }
    if !out.json {
        out.error(&format!("see: aido runs show {}", outcome.run_id));
        if outcome.status != RunStatus::Succeeded {
            out.error(&format!("resume with: aido runs resume {}", outcome.run_id));
        }
    }
    Err(CliError::reported(ExitCode::Runtime))
}
