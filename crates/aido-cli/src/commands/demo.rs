//! `aido demo`: the whole job on a fresh machine, offline, on the embedded
//! defaults.
//!
//! It makes, in a folder of its own: a small Python project in a git
//! repository with a bare `origin`, whose test fails; a local task that
//! describes the fix; and a scripted AI provider whose recorded answers make
//! it. Then it runs the shipped `standard_development` workflow end to end
//! and says where to look. With `--sandbox` the same runs against the
//! service emulators (`demo_sandbox.rs`).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use serde_json::{Map, Value, json};

use aido_core::config::{Environment, LoadOptions, LoadedConfig};
use aido_core::engine::{EngineError, RunOutcome};
use aido_core::lifecycle::{ActivePlugins, LifecycleError, shutdown_signal, with_plugins};
use aido_core::store::RunStatus;
use aido_plugin_api::{CallContext, PluginKind};

use crate::context;
use crate::exit::{CliError, CliResult, ExitCode};
use crate::output::{Output, Tone};
use crate::progress::Progress;

#[path = "demo_sandbox.rs"]
mod sandbox;

/// The sandbox project's files.
const PROJECT: &[(&str, &str)] = &[
    ("calc.py", include_str!("../templates/demo/calc.py")),
    (
        "test_calc.py",
        include_str!("../templates/demo/test_calc.py"),
    ),
    ("README.md", include_str!("../templates/demo/README.md")),
];

/// The demo's own configuration and recorded answers.
const SETUP: &[(&str, &str)] = &[
    ("aido.yaml", include_str!("../templates/demo/aido.yaml")),
    (
        "answers/demo.yaml",
        include_str!("../templates/demo/answers.yaml"),
    ),
];

const TASK_TITLE: &str = "Fix add() in calc.py";
const TASK_DESCRIPTION: &str = "`add(2, 3)` returns -1 instead of 5, so `test_add` fails. \
Make `add()` return the sum of its arguments.";

/// Runs the demo in `dir` (a new temporary folder when absent): offline on
/// the embedded defaults, or with `sandbox` against the service emulators.
pub async fn run(dir: Option<PathBuf>, sandbox: bool, out: &Output) -> CliResult {
    if sandbox {
        return sandbox::run(dir, out).await;
    }
    let dir = prepare_dir(dir, &[])?;
    let sandbox = scaffold(&dir)?;
    if !out.json {
        out.error(&format!("aido demo in {}", dir.display()));
    }
    let origin = sandbox.origin.display().to_string();
    let finished = run_workflow(
        &dir,
        None,
        out,
        async |active| {
            let task_id = create_task(active).await?;
            Ok(workflow_vars(&task_id, &origin))
        },
        async |_, _| Ok(Value::Null),
    )
    .await?;
    let Finished {
        outcome, loaded, ..
    } = finished;
    let vars = &outcome.variables;
    let task_id = vars["task"]["id"].as_str().unwrap_or_default();
    let summary = json!({
        "dir": dir.display().to_string(),
        "repo": sandbox.repo.display().to_string(),
        "origin": sandbox.origin.display().to_string(),
        "branch": vars["branch"]["name"],
        "commit": vars["commit"]["sha"],
        "pull_request": url_path(vars["pr"]["url"].as_str()),
        "pull_request_number": vars["pr"]["number"],
        "task_id": task_id,
        "task_file": loaded.data_dir().join("tasks").join(format!("{task_id}.md")).display().to_string(),
        "doc_page": url_path(vars["doc_page"]["url"].as_str()),
        "messages": loaded.data_dir().join("messages.jsonl").display().to_string(),
        "run_id": outcome.run_id,
    });
    if out.json {
        out.line(&serde_json::to_string(&summary).unwrap_or_default());
        return Ok(());
    }
    let config = dir.join("aido.yaml");
    out.line("");
    out.line(&format!(
        "{} the task became a verified change, a pull request, a docs page and a message",
        out.paint("done:", Tone::Good)
    ));
    print_rows(
        out,
        &summary,
        &[
            ("project", "repo"),
            ("origin (bare)", "origin"),
            ("branch", "branch"),
            ("commit", "commit"),
            ("pull request", "pull_request"),
            ("task", "task_file"),
            ("docs page", "doc_page"),
            ("messages", "messages"),
        ],
    );
    out.line("");
    out.line("look closer:");
    out.line(&format!(
        "  aido --config {} runs show {}",
        config.display(),
        outcome.run_id
    ));
    out.line(&format!(
        "  aido --config {} task show {task_id}",
        config.display()
    ));
    out.line(&format!(
        "  git --git-dir {} log --oneline {}",
        sandbox.origin.display(),
        summary["branch"].as_str().unwrap_or("")
    ));
    Ok(())
}

/// The demo's task, made through the configured task plugin; its id.
async fn create_task(active: &ActivePlugins) -> CliResult<String> {
    let tracker = active
        .get(PluginKind::TaskManagement)
        .ok_or_else(|| CliError::runtime("no task plugin"))?;
    let task = tracker
        .call(
            &CallContext::detached(),
            "create_task",
            json!({ "title": TASK_TITLE, "description": TASK_DESCRIPTION, "priority": "high", "labels": ["bug"] }),
        )
        .await
        .map_err(CliError::runtime)?;
    match task["id"].as_str() {
        Some(id) if !id.is_empty() => Ok(id.to_owned()),
        _ => Err(CliError::runtime(
            "the task plugin made the demo's task but answered without its id",
        )),
    }
}

/// The workflow's variables: the task, the repository to change, and the
/// sandbox project's test command.
fn workflow_vars(task_id: &str, repository: &str) -> Map<String, Value> {
    let mut vars = Map::new();
    vars.insert("task_id".into(), Value::String(task_id.to_owned()));
    vars.insert("repository".into(), Value::String(repository.to_owned()));
    vars.insert(
        "test_command".into(),
        json!(["python3", "-m", "unittest", "-q"]),
    );
    vars
}

/// What a finished demo run left.
struct Finished {
    /// The run, which succeeded.
    outcome: RunOutcome,
    /// The configuration it ran with.
    loaded: LoadedConfig,
    /// What `after` read back.
    after: Value,
}

/// Loads `dir/aido.yaml` (with `environment` when given), connects the
/// plugins, lets `prepare` set the stage and name the variables, runs the
/// shipped `standard_development` workflow, and lets `after` read back
/// what it made, with the plugins still connected. A run that did not
/// succeed, or was interrupted, is reported with how to look at it or
/// resume it.
async fn run_workflow(
    dir: &Path,
    environment: Option<Environment>,
    out: &Output,
    prepare: impl AsyncFnOnce(&ActivePlugins) -> CliResult<Map<String, Value>>,
    after: impl AsyncFnOnce(&ActivePlugins, &RunOutcome) -> CliResult<Value>,
) -> CliResult<Finished> {
    let registry = context::registry()?;
    let config_file = dir.join("aido.yaml");
    let options = LoadOptions {
        config_file: Some(config_file.clone()),
        cwd: dir.to_owned(),
        environment,
    };
    let loaded = context::load_config_with(&options, &registry, out)?;
    let library = context::library(&loaded);
    let file = library
        .load("standard_development")
        .map_err(|d| context::report_diagnostics(out, &d))?;
    let store = context::open_store(&loaded).await?;
    let engine = context::engine(&loaded, store);
    let progress = Progress::new(out);
    let timeout = Duration::from_secs(loaded.settings.system.connect_timeout_seconds);
    let (engine_ref, file_ref, progress_ref) = (&engine, &file, &progress);
    let result = with_plugins(
        loaded.plugins.clone(),
        timeout,
        shutdown_signal(),
        async move |active| {
            let vars = prepare(active).await?;
            let outcome = engine_ref
                .start(file_ref, vars, progress_ref)
                .await
                .map_err(|err| match err {
                    EngineError::Store(err) => CliError::runtime(err),
                    other => CliError::usage(other),
                })?;
            let read_back = if outcome.status == RunStatus::Succeeded {
                after(active, &outcome).await?
            } else {
                Value::Null
            };
            Ok::<_, CliError>((outcome, read_back))
        },
    )
    .await;
    let (outcome, after) = match result {
        Ok(outcome) => outcome?,
        Err(LifecycleError::Interrupted) => {
            for run in engine.release_active().await {
                out.error(&format!(
                    "interrupted; resume with: aido --config {} runs resume {run}",
                    config_file.display()
                ));
            }
            return Err(CliError::reported(ExitCode::Interrupted));
        }
        Err(err) => return Err(CliError::runtime(err)),
    };
    if outcome.status != RunStatus::Succeeded {
        out.error(&format!(
            "the demo's run did not succeed; see: aido --config {} runs show {}",
            config_file.display(),
            outcome.run_id
        ));
        return Err(CliError::reported(ExitCode::Runtime));
    }
    Ok(Finished {
        outcome,
        loaded,
        after,
    })
}

/// Prints `label value` rows of `summary`'s `key`s, aligned.
fn print_rows(out: &Output, summary: &Value, rows: &[(&str, &str)]) {
    for (label, key) in rows {
        let value = match &summary[*key] {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        out.line(&format!("  {label:<14} {value}"));
    }
}

/// Where the sandbox project lives.
struct Sandbox {
    repo: PathBuf,
    origin: PathBuf,
}

/// The demo's folder: `dir` if it is empty or new (or holds only files
/// named in `tolerated`), else a new one under the system's temporary
/// folder. A folder holding anything else is refused, so the demo never
/// mixes with other files.
fn prepare_dir(dir: Option<PathBuf>, tolerated: &[&str]) -> CliResult<PathBuf> {
    let dir = match dir {
        Some(dir) => {
            let dir = if dir.is_absolute() {
                dir
            } else {
                std::env::current_dir()
                    .map_err(|err| {
                        CliError::runtime(format!("cannot read the current directory: {err}"))
                    })?
                    .join(dir)
            };
            let holds_other_files = std::fs::read_dir(&dir)
                .map(|mut entries| {
                    entries.any(|entry| {
                        entry.map_or(true, |e| {
                            !tolerated.iter().any(|name| e.file_name() == **name)
                        })
                    })
                })
                .unwrap_or(true);
            if dir.exists() && holds_other_files {
                return Err(CliError::usage(format!(
                    "{} is not empty; give `--dir` a new or empty folder",
                    dir.display()
                )));
            }
            dir
        }
        None => std::env::temp_dir().join(format!(
            "aido-demo-{}",
            chrono::Utc::now().format("%Y%m%d-%H%M%S-%3f")
        )),
    };
    std::fs::create_dir_all(&dir)
        .map_err(|err| CliError::runtime(format!("cannot create {}: {err}", dir.display())))?;
    Ok(dir)
}

/// Writes the project, its git repository and bare origin, the
/// configuration and the recorded answers.
fn scaffold(dir: &Path) -> CliResult<Sandbox> {
    for (name, text) in SETUP {
        write(&dir.join(name), text)?;
    }
    let repo = project(dir)?;
    let origin = dir.join("origin.git");
    git(
        dir,
        &[
            "init",
            "--quiet",
            "--bare",
            "--initial-branch=main",
            &origin.display().to_string(),
        ],
    )?;
    git(
        &repo,
        &["remote", "add", "origin", &origin.display().to_string()],
    )?;
    git(&repo, &["push", "--quiet", "origin", "main"])?;
    Ok(Sandbox { repo, origin })
}

/// Writes the sandbox project in `dir/project` as a git repository with
/// one commit on `main`; its path.
fn project(dir: &Path) -> CliResult<PathBuf> {
    let repo = dir.join("project");
    for (name, text) in PROJECT {
        write(&repo.join(name), text)?;
    }
    git(&repo, &["init", "--quiet", "--initial-branch=main"])?;
    git(&repo, &["add", "--all"])?;
    git(
        &repo,
        &[
            "-c",
            "user.name=aido demo",
            "-c",
            "user.email=demo@aido.invalid",
            "commit",
            "--quiet",
            "-m",
            "calc: a tiny calculator",
        ],
    )?;
    Ok(repo)
}

fn write(path: &Path, text: &str) -> CliResult {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(|err| {
            CliError::runtime(format!("cannot create {}: {err}", parent.display()))
        })?;
    }
    std::fs::write(path, text)
        .map_err(|err| CliError::runtime(format!("cannot write {}: {err}", path.display())))
}

fn git(dir: &Path, args: &[&str]) -> CliResult {
    let output = Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("GIT_TERMINAL_PROMPT", "0")
        .output()
        .map_err(|err| {
            CliError::runtime(format!("the demo needs git, which did not start: {err}"))
        })?;
    if output.status.success() {
        Ok(())
    } else {
        Err(CliError::runtime(format!(
            "`git {}` failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&output.stderr).trim()
        )))
    }
}

/// The path of a `file://` URL (percent-decoded), or the text as it is.
fn url_path(url: Option<&str>) -> Value {
    let Some(url) = url else { return Value::Null };
    let Some(path) = url.strip_prefix("file://") else {
        return Value::String(url.to_owned());
    };
    let bytes = path.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let Ok(byte) = u8::from_str_radix(&path[i + 1..i + 3], 16)
        {
            decoded.push(byte);
            i += 3;
            continue;
        }
        decoded.push(bytes[i]);
        i += 1;
    }
    Value::String(String::from_utf8_lossy(&decoded).into_owned())
}
