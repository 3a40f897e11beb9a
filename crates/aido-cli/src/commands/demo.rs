//! `aido demo`: the whole job on a fresh machine, offline, on the embedded
//! defaults.
//!
//! It makes, in a folder of its own: a small Python project in a git
//! repository with a bare `origin`, whose test fails; a local task that
//! describes the fix; and a scripted AI provider whose recorded answers make
//! it. Then it runs the shipped `standard_development` workflow end to end
//! and says where to look.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use serde_json::{Map, Value, json};

use aido_core::config::LoadOptions;
use aido_core::engine::EngineError;
use aido_core::lifecycle::{LifecycleError, shutdown_signal, with_plugins};
use aido_core::store::RunStatus;
use aido_plugin_api::{CallContext, PluginKind};

use crate::context;
use crate::exit::{CliError, CliResult, ExitCode};
use crate::output::{Output, Tone};
use crate::progress::Progress;

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

/// Runs the demo in `dir` (a new temporary folder when absent).
pub async fn run(dir: Option<PathBuf>, out: &Output) -> CliResult {
    let dir = prepare_dir(dir)?;
    let sandbox = scaffold(&dir)?;
    if !out.json {
        out.error(&format!("aido demo in {}", dir.display()));
    }

    let registry = context::registry()?;
    let options = LoadOptions {
        config_file: Some(dir.join("aido.yaml")),
        cwd: dir.clone(),
        environment: None,
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

    let result = with_plugins(loaded.plugins.clone(), timeout, shutdown_signal(), async |active| {
        let tracker = active.get(PluginKind::TaskManagement).ok_or_else(|| CliError::runtime("no task plugin"))?;
        let task = tracker
            .call(&CallContext::detached(), "create_task", json!({ "title": TASK_TITLE, "description": TASK_DESCRIPTION, "priority": "high", "labels": ["bug"] }))
            .await
            .map_err(CliError::runtime)?;
        let task_id = task["id"].as_str().unwrap_or_default().to_owned();
        let mut vars = Map::new();
        vars.insert("task_id".into(), Value::String(task_id));
        vars.insert("repository".into(), Value::String(sandbox.origin.display().to_string()));
        vars.insert("test_command".into(), json!(["python3", "-m", "unittest", "-q"]));
        engine.start(&file, vars, &progress).await.map_err(|err| match err {
            EngineError::Store(err) => CliError::runtime(err),
            other => CliError::usage(other),
        })
    })
    .await;
    let outcome = match result {
        Ok(outcome) => outcome?,
        Err(LifecycleError::Interrupted) => {
            for run in engine.release_active().await {
                out.error(&format!(
                    "interrupted; resume with: aido --config {} runs resume {run}",
                    dir.join("aido.yaml").display()
                ));
            }
            return Err(CliError::reported(ExitCode::Interrupted));
        }
        Err(err) => return Err(CliError::runtime(err)),
    };
    if outcome.status != RunStatus::Succeeded {
        out.error(&format!(
            "the demo's run did not succeed; see: aido --config {} runs show {}",
            dir.join("aido.yaml").display(),
            outcome.run_id
        ));
        return Err(CliError::reported(ExitCode::Runtime));
    }

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
    for (label, key) in [
        ("project", "repo"),
        ("origin (bare)", "origin"),
        ("branch", "branch"),
        ("commit", "commit"),
        ("pull request", "pull_request"),
        ("task", "task_file"),
        ("docs page", "doc_page"),
        ("messages", "messages"),
    ] {
        let value = match &summary[key] {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        out.line(&format!("  {label:<14} {value}"));
    }
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

/// Where the sandbox project lives.
struct Sandbox {
    repo: PathBuf,
    origin: PathBuf,
}

/// The demo's folder: `dir` if it is empty or new, else a new one under the
/// system's temporary folder. A folder holding anything is refused, so the
/// demo never mixes with other files.
fn prepare_dir(dir: Option<PathBuf>) -> CliResult<PathBuf> {
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
            if dir.exists()
                && std::fs::read_dir(&dir)
                    .map(|mut d| d.next().is_some())
                    .unwrap_or(true)
            {
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
    let repo = dir.join("project");
    let origin = dir.join("origin.git");
    for (name, text) in PROJECT {
        write(&repo.join(name), text)?;
    }
    for (name, text) in SETUP {
        write(&dir.join(name), text)?;
    }
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
    git(
        &repo,
        &["remote", "add", "origin", &origin.display().to_string()],
    )?;
    git(&repo, &["push", "--quiet", "origin", "main"])?;
    Ok(Sandbox { repo, origin })
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
