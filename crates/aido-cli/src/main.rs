//! The `aido` binary: parses the command line, sets up logging, runs one
//! command and maps its outcome to an exit code. Everything else lives in
//! the engine (`aido-core`) and the plugins (`aido-plugins`).

mod cli;
mod commands;
mod context;
mod exit;
mod logging;
mod output;
mod progress;

use clap::Parser;

use crate::cli::{Cli, Command, ConfigCommand};
use crate::exit::{CliError, CliResult, ExitCode};
use crate::output::Output;

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    context::protect_environment_secrets();
    let out = Output::new(cli.global.json, cli.global.color);
    logging::init(&cli.global, out.color);
    match run(&cli, &out) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(err) => {
            if !err.message.is_empty() {
                out.error(&format!("error: {}", err.message));
            }
            std::process::ExitCode::from(err.code as u8)
        }
    }
}

fn run(cli: &Cli, out: &Output) -> CliResult {
    match &cli.command {
        Command::Plugin(command) => commands::plugin::run(command, &cli.global, out),
        Command::Config(ConfigCommand::Check) => commands::config::check(&cli.global, out),
        Command::Doctor => runtime()?.block_on(commands::doctor::run(&cli.global, out)),
        Command::Workflow(command) => {
            runtime()?.block_on(commands::workflow::run(&cli.global, command, out))
        }
        Command::Runs(command) => {
            runtime()?.block_on(commands::runs::run(&cli.global, command, out))
        }
        Command::Run {
            task_id,
            workflow,
            keep_workspace,
            vars,
        } => runtime()?.block_on(commands::workflow::run_task(
            &cli.global,
            task_id,
            workflow.as_deref(),
            *keep_workspace,
            vars,
            out,
        )),
        Command::Plan {
            description,
            project,
            dry_run,
        } => runtime()?.block_on(commands::workflow::plan(
            &cli.global,
            description,
            project.as_deref(),
            *dry_run,
            out,
        )),
        Command::Demo { dir, sandbox } => {
            runtime()?.block_on(commands::demo::run(dir.clone(), *sandbox, out))
        }
        Command::Sandbox {
            services,
            port_base,
        } => runtime()?.block_on(commands::sandbox::run(services, *port_base, out)),
        Command::Init => {
            let dir = std::env::current_dir().map_err(|err| {
                CliError::runtime(format!("cannot read the current directory: {err}"))
            })?;
            commands::init::run(&dir, out)
        }
        Command::Metrics => runtime()?.block_on(commands::metrics::run(&cli.global, out)),
        Command::Task(command) => {
            runtime()?.block_on(commands::task::run(&cli.global, command, out))
        }
        Command::Costs { month } => {
            runtime()?.block_on(commands::runs::costs(&cli.global, month.as_deref(), out))
        }
        Command::Completions { shell } => {
            commands::completions::run(*shell);
            Ok(())
        }
    }
}

/// The async runtime every command runs on: one thread. aido's work is
/// waiting (on services, on child processes, on SQLite, which runs on a
/// thread of its own); blocking work goes to the blocking pool. One thread
/// also means no wake-ups between threads, which on virtual CPUs cost more
/// than the engine's own work per step (see the engine benchmark).
fn runtime() -> CliResult<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|err| CliError {
            code: ExitCode::Runtime,
            message: format!("cannot start the async runtime: {err}"),
        })
}
