//! The command line, as clap definitions. Each flag is defined once here and
//! feeds parsing, `--help` and shell completions.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// aido connects your tracker, git host, docs, chat and AI model, and runs
/// the work between them.
#[derive(Debug, Parser)]
#[command(name = "aido", version, propagate_version = true)]
pub struct Cli {
    /// Global options.
    #[command(flatten)]
    pub global: GlobalArgs,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Options every command takes.
#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// The configuration file; by default `aido.yaml` in this folder or the
    /// nearest parent, or the embedded defaults when there is none.
    #[arg(long, global = true, value_name = "FILE", env = "AIDO_CONFIG")]
    pub config: Option<PathBuf>,
    /// Print data as JSON (one document, or one event per line).
    #[arg(long, global = true)]
    pub json: bool,
    /// More log output (-v info, -vv debug, -vvv trace).
    #[arg(short, long, global = true, action = clap::ArgAction::Count, conflicts_with = "quiet")]
    pub verbose: u8,
    /// Only errors.
    #[arg(short, long, global = true)]
    pub quiet: bool,
    /// How logs are written to stderr.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
    /// When to use colours (`NO_COLOR` is respected).
    #[arg(long, global = true, value_enum, default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,
}

/// How logs are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// Readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

/// When to use colours.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    /// On a terminal, unless `NO_COLOR` is set.
    Auto,
    /// Always.
    Always,
    /// Never.
    Never,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// List, describe and inspect plugins and the action catalog.
    #[command(subcommand)]
    Plugin(PluginCommand),
    /// Check the configuration.
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Check the configuration, connect every configured plugin and report
    /// its health; exits non-zero if any plugin is unhealthy.
    Doctor,
    /// Hand one task to the development agent: the configured workflow
    /// (`workflows.default`, standard_development) with this task.
    Run {
        /// The task's identifier.
        task_id: String,
        /// Another workflow (a file or a name).
        #[arg(long, value_name = "WORKFLOW")]
        workflow: Option<String>,
        /// Keep the run's workspace after success too.
        #[arg(long)]
        keep_workspace: bool,
        /// Set a workflow variable (`key=value`; repeatable), such as
        /// `repository=git@host:team/app.git`.
        #[arg(long = "var", value_name = "KEY=VALUE", value_parser = parse_var)]
        vars: Vec<(String, String)>,
    },
    /// Turn a project description into epics and tasks in the tracker, a
    /// plan page and a team message (the `project_planning` workflow).
    Plan {
        /// What to build.
        description: String,
        /// The tracker's project (team, key).
        #[arg(long, value_name = "KEY")]
        project: Option<String>,
        /// Print the plan and create nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Run the whole job offline on a sandbox project: a task becomes a
    /// branch, a tested commit, a pull request, a task in review, a docs
    /// page and a message.
    Demo {
        /// Where to make the sandbox (a new or empty folder); a new
        /// temporary folder when absent. It is kept.
        #[arg(long, value_name = "DIR")]
        dir: Option<PathBuf>,
        /// Run against the service emulators instead: a Jira (or Linear)
        /// task, a GitHub repository and pull request, a Slack message.
        /// Uses a running `aido sandbox` when its aido.sandbox.yaml is in
        /// DIR or the current folder and answers; else starts the
        /// emulators for the demo's duration.
        #[arg(long)]
        sandbox: bool,
    },
    /// Run the service emulators (GitHub, Linear, Jira, Slack, Anthropic,
    /// OpenAI, a webhook) on this machine, print their URLs and
    /// credentials, and write aido.sandbox.yaml pointing the plugins at
    /// them. Runs until Ctrl-C.
    Sandbox {
        /// Only these services (comma separated).
        #[arg(long, value_delimiter = ',', value_name = "LIST")]
        services: Vec<String>,
        /// The first port (services take consecutive ones); free ports when
        /// absent.
        #[arg(long, value_name = "N", default_value_t = 0)]
        port_base: u16,
    },
    /// Write a commented aido.yaml and example plugin files here (never
    /// overwrites).
    Init,
    /// Validate, list and run workflows.
    #[command(subcommand)]
    Workflow(WorkflowCommand),
    /// Inspect, resume and cancel runs.
    #[command(subcommand)]
    Runs(RunsCommand),
    /// Work with tasks in the configured tracker.
    #[command(subcommand)]
    Task(TaskCommand),
    /// The project's metrics (runs, steps, AI spend) in the monitoring
    /// plugin's format (Prometheus text for the defaults).
    Metrics,
    /// AI spend by month, workflow and provider.
    Costs {
        /// Only this month (`YYYY-MM`).
        #[arg(long, value_name = "YYYY-MM")]
        month: Option<String>,
    },
    /// Print a shell completion script.
    Completions {
        /// The shell.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
}

/// `aido plugin ...`
#[derive(Debug, Subcommand)]
pub enum PluginCommand {
    /// List every plugin aido knows.
    List {
        /// Only plugins of this kind.
        #[arg(long, value_name = "KIND")]
        kind: Option<String>,
    },
    /// Describe one plugin: metadata, configuration keys, actions.
    Info {
        /// The plugin's name.
        name: String,
        /// Its kind, when several plugins share the name.
        #[arg(long, value_name = "KIND")]
        kind: Option<String>,
    },
    /// Print a plugin's configuration JSON Schema.
    Schema {
        /// The plugin's name.
        name: String,
        /// Its kind, when several plugins share the name.
        #[arg(long, value_name = "KIND")]
        kind: Option<String>,
    },
    /// Add an external plugin (a folder holding `plugin.toml`, or a name on
    /// the plugin search path): its handshake runs once and its entry
    /// file's sha256 is recorded in `aido-plugins.lock`.
    Add {
        /// The plugin's folder, manifest or name.
        path: String,
    },
    /// Check an external plugin: the handshake, its configuration (from
    /// aido.yaml when it is configured there), then the conformance suite of
    /// each kind it serves. Exits 1 when a check fails.
    Check {
        /// The plugin's folder, manifest or name.
        path: String,
    },
    /// Scaffold an external plugin that works at once: source with every
    /// method of the kind (in memory), plugin.toml, config.yaml.example,
    /// tests and a README.
    New {
        /// The plugin's name: lower-case letters, digits, `-` and `_`.
        name: String,
        /// The kind it serves (task_management, version_control,
        /// documentation, communication, ai_provider, monitoring).
        #[arg(long, value_name = "KIND")]
        kind: String,
        /// Its language.
        #[arg(long, value_enum, default_value = "python")]
        lang: crate::commands::plugin_new::Lang,
        /// The folder to create (./NAME by default); must not exist or be
        /// empty.
        #[arg(long, value_name = "DIR")]
        dir: Option<std::path::PathBuf>,
        /// Rust only: the aido checkout holding crates/aido-plugin-sdk
        /// (by default, the one this aido was built from).
        #[arg(long, value_name = "DIR")]
        sdk_path: Option<std::path::PathBuf>,
    },
    /// Remove an external plugin from `aido-plugins.lock`.
    Remove {
        /// The plugin's name.
        name: String,
    },
    /// List the action catalog: every kind's actions with their schemas.
    Actions {
        /// Only this kind's actions.
        #[arg(long, value_name = "KIND")]
        kind: Option<String>,
    },
}

/// `aido config ...`
#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Check the configuration and report every problem at once; exits 2
    /// when there is any.
    Check,
}

/// `aido workflow ...`
#[derive(Debug, Subcommand)]
pub enum WorkflowCommand {
    /// Check workflow files without running them; every problem is printed
    /// as `file:line:column: message`, and the exit code is 2 if there is any.
    Validate {
        /// Workflow files or names.
        #[arg(required = true, value_name = "FILE")]
        files: Vec<String>,
    },
    /// List the shipped and project workflows.
    List,
    /// Run a workflow.
    Run {
        /// A workflow file, or the name of a shipped or project workflow.
        workflow: String,
        /// Set a variable (`key=value`; repeatable).
        #[arg(long = "var", value_name = "KEY=VALUE", value_parser = parse_var)]
        vars: Vec<(String, String)>,
    },
}

/// `aido runs ...`
#[derive(Debug, Subcommand)]
pub enum RunsCommand {
    /// List runs, newest first.
    List {
        /// Only runs in this status (running, succeeded, failed, cancelled,
        /// rolled_back, interrupted).
        #[arg(long, value_name = "STATUS")]
        status: Option<String>,
        /// At most this many.
        #[arg(long, default_value_t = 50)]
        limit: u32,
    },
    /// Show a run's steps, durations, costs and errors.
    Show {
        /// The run.
        id: String,
    },
    /// Continue a failed, cancelled or interrupted run from its first
    /// unfinished step.
    Resume {
        /// The run.
        id: String,
    },
    /// Stop a run.
    Cancel {
        /// The run.
        id: String,
    },
}

fn parse_var(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((key, value)) if !key.trim().is_empty() => {
            Ok((key.trim().to_owned(), value.to_owned()))
        }
        _ => Err(format!("`{text}` is not KEY=VALUE")),
    }
}

/// `aido task ...`
#[derive(Debug, Subcommand)]
pub enum TaskCommand {
    /// Create a task.
    Add {
        /// Its title.
        title: String,
        /// Its description (Markdown).
        #[arg(long, short)]
        description: Option<String>,
        /// Its priority: low, medium, high or critical.
        #[arg(long, short)]
        priority: Option<String>,
        /// A label (repeatable).
        #[arg(long = "label", short)]
        labels: Vec<String>,
    },
    /// List tasks.
    List {
        /// Only tasks in this status: todo, in_progress, in_review or done.
        #[arg(long)]
        status: Option<String>,
    },
    /// Show a task with its comments and history.
    Show {
        /// The task's identifier.
        id: String,
    },
    /// Move a task to another status.
    Move {
        /// The task's identifier.
        id: String,
        /// todo, in_progress, in_review or done.
        status: String,
    },
    /// Comment on a task.
    Comment {
        /// The task's identifier.
        id: String,
        /// The comment (Markdown).
        text: String,
    },
}
