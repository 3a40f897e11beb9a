//! `aido sandbox`: the service emulators of the test kit, running on this
//! machine for anyone developing a plugin or a workflow without accounts.
//! Prints each service's URL and credentials, and writes an aido.yaml that
//! points the plugins at them.

use std::net::{Ipv4Addr, SocketAddr};
use std::path::Path;

use aido_testkit::{
    AnthropicEmulator, EmulatorOptions, GitHubEmulator, JiraEmulator, MyCustomEmulator,
    OpenAiEmulator, SlackEmulator, WebhookEmulator, WebhookFlavor, linear::LinearEmulator,
};

use crate::exit::{CliError, CliResult};
use crate::output::Output;

/// Every service the sandbox can run.
pub const SERVICES: [&str; 8] = [
    "github",
    "linear",
    "jira",
    "mycustom",
    "slack",
    "anthropic",
    "openai",
    "webhook",
];

/// The configuration file the sandbox writes.
pub const CONFIG_FILE: &str = "aido.sandbox.yaml";

/// Runs the emulators until Ctrl-C.
pub async fn run(services: &[String], port_base: u16, out: &Output) -> CliResult {
    let chosen: Vec<&str> = if services.is_empty() {
        SERVICES.to_vec()
    } else {
        services.iter().map(String::as_str).collect()
    };
    for name in &chosen {
        if !SERVICES.contains(name) {
            return Err(CliError::usage(format!(
                "`{name}` is not a sandbox service; choose from {}",
                SERVICES.join(", ")
            )));
        }
    }
    let options = |index: usize| EmulatorOptions {
        addr: SocketAddr::from((
            Ipv4Addr::LOCALHOST,
            if port_base == 0 {
                0
            } else {
                port_base.saturating_add(index as u16)
            },
        )),
        ..EmulatorOptions::default()
    };
    let failed = |name: &str, err: std::io::Error| {
        CliError::runtime(format!("cannot start the {name} emulator: {err}"))
    };
    let mut rows = vec![vec![
        "SERVICE".to_owned(),
        "URL".to_owned(),
        "CREDENTIALS".to_owned(),
    ]];
    let mut yaml = String::from(
        "# Written by `aido sandbox`: the plugins pointed at the emulators it runs.\n# Use it with `aido --config aido.sandbox.yaml ...` while the sandbox runs.\nplugins:\n",
    );
    // Handles keep the servers running; dropping them stops them.
    let mut keep: Vec<Box<dyn std::any::Any>> = Vec::new();
    for (index, name) in chosen.iter().enumerate() {
        let started = start(name, options(index), &chosen)
            .await
            .map_err(|err| failed(name, err))?;
        rows.push(vec![(*name).into(), started.url, started.credentials]);
        if let Some(slot) = started.slot {
            yaml.push_str(&slot);
        }
        keep.push(started.handle);
    }
    write_config(Path::new(CONFIG_FILE), &yaml)?;
    out.table(&rows);
    out.line(&format!(
        "\nwrote {CONFIG_FILE}; try `aido --config {CONFIG_FILE} doctor`. Ctrl-C stops the sandbox."
    ));
    aido_core::lifecycle::shutdown_signal().await;
    drop(keep);
    Ok(())
}

/// An emulator the sandbox started.
struct Started {
    /// Keeps it running.
    handle: Box<dyn std::any::Any>,
    /// Its URL.
    url: String,
    /// What a client needs to use it, for the table.
    credentials: String,
    /// Its plugin slot in the written configuration, if it gets one.
    slot: Option<String>,
}

/// A plugin slot of the written configuration: `kind` served by
/// `provider`, with `connection` as its flow-style mapping.
fn slot(kind: &str, provider: &str, connection: &str) -> String {
    format!(
        "  {kind}:\n    provider: {provider}\n    config:\n      connection: {{ {connection} }}\n"
    )
}

/// Starts the emulator of the service `name`; `chosen` are all the
/// services started, so that one tracker or AI provider gets the slot.
async fn start(name: &str, options: EmulatorOptions, chosen: &[&str]) -> std::io::Result<Started> {
    Ok(match name {
        "github" => {
            let emulator = GitHubEmulator::start_with(options).await?;
            emulator.create_repo("aido", "sandbox");
            Started {
                url: emulator.base_url(),
                credentials: format!("token {}", emulator.token()),
                slot: Some(slot(
                    "version_control",
                    "github",
                    &format!(
                        "token: \"{}\", base_url: \"{}\", owner: aido, repo: sandbox",
                        emulator.token(),
                        emulator.base_url()
                    ),
                )),
                handle: Box::new(emulator),
            }
        }
        "linear" => {
            let emulator = LinearEmulator::start_with(options).await?;
            Started {
                url: emulator.base_url(),
                credentials: format!("api key {}, team ENG", emulator.api_key()),
                slot: (!chosen.contains(&"jira")).then(|| {
                    slot(
                        "task_management",
                        "linear",
                        &format!(
                            "api_key: \"{}\", team_id: ENG, base_url: \"{}\"",
                            emulator.api_key(),
                            emulator.base_url()
                        ),
                    )
                }),
                handle: Box::new(emulator),
            }
        }
        "jira" => {
            let emulator = JiraEmulator::start_with(options).await?;
            let project = aido_testkit::jira::PROJECT;
            Started {
                url: emulator.base_url(),
                credentials: format!(
                    "email {}, api token {}, project {project}",
                    emulator.email(),
                    emulator.api_token(),
                ),
                slot: Some(slot(
                    "task_management",
                    "jira",
                    &format!(
                        "base_url: \"{}\", email: \"{}\", api_token: \"{}\", project_key: {project}",
                        emulator.base_url(),
                        emulator.email(),
                        emulator.api_token(),
                    ),
                )),
                handle: Box::new(emulator),
            }
        }
        "slack" => {
            let emulator = SlackEmulator::start_with(options).await?;
            Started {
                url: emulator.base_url(),
                credentials: format!("bot token {}", emulator.token()),
                slot: Some(slot(
                    "communication",
                    "slack",
                    &format!(
                        "bot_token: \"{}\", base_url: \"{}\"",
                        emulator.token(),
                        emulator.base_url()
                    ),
                )),
                handle: Box::new(emulator),
            }
        }
        "anthropic" => {
            let emulator = AnthropicEmulator::start_with(options).await?;
            Started {
                url: emulator.base_url(),
                credentials: format!("api key {}", emulator.api_key()),
                slot: (!chosen.contains(&"openai")).then(|| {
                    slot(
                        "ai_provider",
                        "anthropic",
                        &format!(
                            "api_key: \"{}\", base_url: \"{}\"",
                            emulator.api_key(),
                            emulator.base_url()
                        ),
                    )
                }),
                handle: Box::new(emulator),
            }
        }
        "openai" => {
            let emulator = OpenAiEmulator::start_with(options).await?;
            let key = emulator.api_key().unwrap_or("").to_owned();
            Started {
                url: emulator.base_url(),
                credentials: format!("api key {key}"),
                slot: Some(slot(
                    "ai_provider",
                    "openai",
                    &format!("api_key: \"{key}\", base_url: \"{}\"", emulator.base_url()),
                )),
                handle: Box::new(emulator),
            }
        }
        "mycustom" => {
            let emulator = start_mycustom(options).await?;
            let project = aido_testkit::mycustom::PROJECT;
            // The example plugin is external: the slot can name it only
            // once it was added here, and a tracker built in wins. Its
            // configuration has no `connection` section.
            let slot = (mycustom_added() && !chosen.contains(&"jira") && !chosen.contains(&"linear"))
                .then(|| {
                    format!(
                        "  task_management:\n    provider: mycustom\n    config: {{ base_url: \"{}\", project: {project} }}\n",
                        emulator.base_url()
                    )
                });
            Started {
                url: emulator.base_url(),
                credentials: format!("MYCUSTOM_API_KEY={}, project {project}", emulator.api_key()),
                slot,
                handle: Box::new(emulator),
            }
        }
        _ => {
            let emulator = WebhookEmulator::start_with(WebhookFlavor::Slack, options).await?;
            Started {
                url: emulator.url(),
                credentials: "the URL holds the token".to_owned(),
                slot: None,
                handle: Box::new(emulator),
            }
        }
    })
}

/// The MyCustom emulator, accepting the key in `MYCUSTOM_API_KEY` when it
/// is set, so that the plugin, which reads its key from there, and the
/// emulator agree without copying a generated key.
async fn start_mycustom(mut options: EmulatorOptions) -> std::io::Result<MyCustomEmulator> {
    if let Some(key) = std::env::var("MYCUSTOM_API_KEY")
        .ok()
        .filter(|key| !key.is_empty())
    {
        options.api_key = aido_testkit::ApiKey::Fixed(key);
    }
    MyCustomEmulator::start_with(options).await
}

/// Whether the `mycustom` plugin was added to this project.
fn mycustom_added() -> bool {
    crate::context::project_dir()
        .ok()
        .and_then(|dir| aido_core::plugin_host::lockfile::LockFile::read(&dir).ok())
        .is_some_and(|lock| lock.plugins.iter().any(|p| p.name == "mycustom"))
}

fn write_config(path: &Path, yaml: &str) -> CliResult {
    std::fs::write(path, yaml)
        .map_err(|err| CliError::runtime(format!("cannot write {}: {err}", path.display())))
}
