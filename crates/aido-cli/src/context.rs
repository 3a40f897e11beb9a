//! What most commands need: the registry of plugins and the loaded
//! configuration.

use aido_core::Registry;
use aido_core::config::{self, LoadOptions, LoadedConfig};
use aido_core::redact::register_secrets;

use crate::cli::GlobalArgs;
use crate::exit::{CliError, CliResult, ExitCode};
use crate::output::Output;

/// Environment variables whose names say they hold a credential. Their
/// values are redacted from all output even when no configuration uses them.
const SECRET_NAME_MARKERS: [&str; 6] = [
    "TOKEN",
    "SECRET",
    "PASSWORD",
    "API_KEY",
    "PRIVATE_KEY",
    "CREDENTIAL",
];

/// Registers secret-looking environment values for redaction, before
/// anything is logged.
pub fn protect_environment_secrets() {
    let values = std::env::vars_os().filter_map(|(name, value)| {
        let name = name.to_str()?.to_ascii_uppercase();
        let value = value.to_str()?.to_owned();
        SECRET_NAME_MARKERS
            .iter()
            .any(|marker| name.contains(marker))
            .then_some(value)
    });
    register_secrets(values);
}

/// Every plugin built into this binary, and the external plugins the
/// project added (`aido-plugins.lock`; nothing is started here).
pub fn registry() -> CliResult<Registry> {
    let mut registry = Registry::with(aido_plugins::builtins())
        .map_err(|err| CliError::runtime(format!("built-in plugins: {err}")))?;
    let lock = aido_core::plugin_host::lockfile::LockFile::read(&project_dir()?)
        .map_err(CliError::usage)?;
    for factory in lock.factories().map_err(CliError::usage)? {
        registry.register(factory).map_err(|err| {
            CliError::usage(format!(
                "{}: {err}",
                aido_core::plugin_host::lockfile::LOCK_FILE
            ))
        })?;
    }
    Ok(registry)
}

/// The project's root: the folder of the nearest `aido.yaml` (or of
/// `AIDO_CONFIG`), else the current folder.
pub fn project_dir() -> CliResult<std::path::PathBuf> {
    let cwd = std::env::current_dir()
        .map_err(|err| CliError::runtime(format!("cannot read the current directory: {err}")))?;
    if let Some(config) = std::env::var_os("AIDO_CONFIG") {
        let config = cwd.join(config);
        return Ok(config
            .parent()
            .map(std::path::Path::to_owned)
            .unwrap_or(cwd));
    }
    Ok(config::find_config_file(&cwd)
        .and_then(|f| f.parent().map(std::path::Path::to_owned))
        .unwrap_or(cwd))
}

/// Loads the configuration named by the global flags. On failure, prints
/// every problem (as text on stderr, or as JSON on stdout with `--json`) and
/// returns a usage error.
pub fn load_config(
    args: &GlobalArgs,
    registry: &Registry,
    out: &Output,
) -> CliResult<LoadedConfig> {
    let cwd = std::env::current_dir()
        .map_err(|err| CliError::runtime(format!("cannot read the current directory: {err}")))?;
    let options = LoadOptions {
        config_file: args.config.clone(),
        cwd,
        environment: None,
    };
    load_config_with(&options, registry, out)
}

/// Loads the configuration `options` name, printing every problem on
/// failure.
pub fn load_config_with(
    options: &LoadOptions,
    registry: &Registry,
    out: &Output,
) -> CliResult<LoadedConfig> {
    match config::load(options, registry) {
        Ok(loaded) => {
            register_secrets(loaded.secrets.iter().cloned());
            Ok(loaded)
        }
        Err(err) => {
            register_secrets(err.secrets.iter().cloned());
            if out.json {
                out.json(&serde_json::json!({ "valid": false, "problems": err.diagnostics }));
            } else {
                out.error(&err.diagnostics.to_string());
                let count = err.diagnostics.len();
                out.error(&format!(
                    "\n{count} problem{} in the configuration",
                    if count == 1 { "" } else { "s" }
                ));
            }
            Err(CliError::reported(ExitCode::Usage))
        }
    }
}

/// The workflows of the loaded project.
pub fn library(loaded: &LoadedConfig) -> aido_core::workflow::library::WorkflowLibrary {
    aido_core::workflow::library::WorkflowLibrary::new(
        loaded.project_dir.join(&loaded.settings.workflows.dir),
    )
}

/// The built-in actions workflows can use, for checking workflows (their
/// AI access refuses every call).
pub fn builtins(loaded: &LoadedConfig) -> aido_core::workflow::builtins::Builtins {
    aido_core::develop::all_builtins(
        &loaded.settings.security,
        std::sync::Arc::new(aido_core::develop::NoAi),
    )
}

/// The project's run store (`<data_dir>/runs.db`).
pub async fn open_store(loaded: &LoadedConfig) -> CliResult<aido_core::store::RunStore> {
    let path = loaded.data_dir().join("runs.db");
    aido_core::store::RunStore::open(&path)
        .await
        .map_err(CliError::runtime)
}

/// An engine over the project's (not yet connected) plugins.
pub fn engine(
    loaded: &LoadedConfig,
    store: aido_core::store::RunStore,
) -> aido_core::engine::Engine {
    let plugins = loaded
        .plugins
        .iter()
        .map(|p| (p.kind.as_str().to_owned(), p.instance.clone()))
        .collect();
    let system = &loaded.settings.system;
    let config = aido_core::engine::EngineConfig {
        limits: loaded.settings.limits.clone(),
        system: serde_json::json!({
            "project_dir": loaded.project_dir.display().to_string(),
            "data_dir": loaded.data_dir().display().to_string(),
            "workspace_dir": loaded.workspace_dir().display().to_string(),
            "max_concurrent_agents": system.max_concurrent_agents,
        }),
        workspace_root: loaded.workspace_dir(),
        max_concurrent_runs: system.max_concurrent_agents as usize,
        lease: std::time::Duration::from_secs(30),
    };
    let ai = loaded
        .plugin(aido_plugin_api::PluginKind::AiProvider)
        .map(|p| p.instance.clone());
    let gateway = aido_core::engine::AiGateway::new(store.clone(), loaded.settings.limits.clone())
        .for_builtins(ai);
    let builtins = aido_core::develop::all_builtins(&loaded.settings.security, gateway);
    aido_core::engine::Engine::new(store, plugins, builtins, config)
}

/// Prints workflow problems (text on stderr, or JSON on stdout) and returns
/// the usage error.
pub fn report_diagnostics(out: &Output, diagnostics: &aido_core::config::Diagnostics) -> CliError {
    if out.json {
        out.json(&serde_json::json!({ "valid": false, "problems": diagnostics }));
    } else {
        out.error(&diagnostics.to_string());
        let count = diagnostics.len();
        out.error(&format!(
            "\n{count} problem{}",
            if count == 1 { "" } else { "s" }
        ));
    }
    CliError::reported(ExitCode::Usage)
}
