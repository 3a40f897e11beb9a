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
        match *name {
            "github" => {
                let emulator = GitHubEmulator::start_with(options(index))
                    .await
                    .map_err(|e| failed(name, e))?;
                emulator.create_repo("aido", "sandbox");
                rows.push(vec![
                    (*name).into(),
                    emulator.base_url(),
                    format!("token {}", emulator.token()),
                ]);
                yaml.push_str(&format!(
                    "  version_control:\n    provider: github\n    config:\n      connection: {{ token: \"{}\", base_url: \"{}\", owner: aido, repo: sandbox }}\n",
                    emulator.token(),
                    emulator.base_url()
                ));
                keep.push(Box::new(emulator));
            }
            "linear" => {
                let emulator = LinearEmulator::start_with(options(index))
                    .await
                    .map_err(|e| failed(name, e))?;
                rows.push(vec![
                    (*name).into(),
                    emulator.base_url(),
                    format!("api key {}, team ENG", emulator.api_key()),
                ]);
                if !chosen.contains(&"jira") {
                    yaml.push_str(&format!(
                        "  task_management:\n    provider: linear\n    config:\n      connection: {{ api_key: \"{}\", team_id: ENG, base_url: \"{}\" }}\n",
                        emulator.api_key(),
                        emulator.base_url()
                    ));
                }
                keep.push(Box::new(emulator));
            }
            "jira" => {
                let emulator = JiraEmulator::start_with(options(index))
                    .await
                    .map_err(|e| failed(name, e))?;
                rows.push(vec![
                    (*name).into(),
                    emulator.base_url(),
                    format!(
                        "email {}, api token {}, project {}",
                        emulator.email(),
                        emulator.api_token(),
                        aido_testkit::jira::PROJECT
                    ),
                ]);
                yaml.push_str(&format!(
                    "  task_management:\n    provider: jira\n    config:\n      connection: {{ base_url: \"{}\", email: \"{}\", api_token: \"{}\", project_key: {} }}\n",
                    emulator.base_url(),
                    emulator.email(),
                    emulator.api_token(),
                    aido_testkit::jira::PROJECT
                ));
                keep.push(Box::new(emulator));
            }
            "slack" => {
                let emulator = SlackEmulator::start_with(options(index))
                    .await
                    .map_err(|e| failed(name, e))?;
                rows.push(vec![
                    (*name).into(),
                    emulator.base_url(),
                    format!("bot token {}", emulator.token()),
                ]);
                yaml.push_str(&format!(
                    "  communication:\n    provider: slack\n    config:\n      connection: {{ bot_token: \"{}\", base_url: \"{}\" }}\n",
                    emulator.token(),
                    emulator.base_url()
                ));
                keep.push(Box::new(emulator));
            }
            "anthropic" => {
                let emulator = AnthropicEmulator::start_with(options(index))
                    .await
                    .map_err(|e| failed(name, e))?;
                rows.push(vec![
                    (*name).into(),
                    emulator.base_url(),
                    format!("api key {}", emulator.api_key()),
                ]);
                if !chosen.contains(&"openai") {
                    yaml.push_str(&format!(
                        "  ai_provider:\n    provider: anthropic\n    config:\n      connection: {{ api_key: \"{}\", base_url: \"{}\" }}\n",
                        emulator.api_key(),
                        emulator.base_url()
                    ));
                }
                keep.push(Box::new(emulator));
            }
            "openai" => {
                let emulator = OpenAiEmulator::start_with(options(index))
                    .await
                    .map_err(|e| failed(name, e))?;
                let key = emulator.api_key().unwrap_or("").to_owned();
                rows.push(vec![
                    (*name).into(),
                    emulator.base_url(),
                    format!("api key {key}"),
                ]);
                yaml.push_str(&format!(
                    "  ai_provider:\n    provider: openai\n    config:\n      connection: {{ api_key: \"{key}\", base_url: \"{}\" }}\n",
                    emulator.base_url()
                ));
                keep.push(Box::new(emulator));
            }
            "mycustom" => {
                let emulator = start_mycustom(options(index))
                    .await
                    .map_err(|e| failed(name, e))?;
                rows.push(vec![
                    (*name).into(),
                    emulator.base_url(),
                    format!(
                        "MYCUSTOM_API_KEY={}, project {}",
                        emulator.api_key(),
                        aido_testkit::mycustom::PROJECT
                    ),
                ]);
                // The example plugin is external: the slot can name it
                // only once it was added here, and a tracker built in wins.
                if mycustom_added() && !chosen.contains(&"jira") && !chosen.contains(&"linear") {
                    yaml.push_str(&format!(
                        "  task_management:\n    provider: mycustom\n    config: {{ base_url: \"{}\", project: {} }}\n",
                        emulator.base_url(),
                        aido_testkit::mycustom::PROJECT
                    ));
                }
                keep.push(Box::new(emulator));
            }
            _ => {
                let emulator = WebhookEmulator::start_with(WebhookFlavor::Slack, options(index))
                    .await
                    .map_err(|e| failed(name, e))?;
                rows.push(vec![
                    (*name).into(),
                    emulator.url(),
                    "the URL holds the token".to_owned(),
                ]);
                keep.push(Box::new(emulator));
            }
        }
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
