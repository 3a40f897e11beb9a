//! `aido demo --sandbox`: the demo against the service emulators, as a
//! team's real setup would run it: a Jira (or Linear) task, a GitHub
//! repository and pull request, a Slack message; the AI still replays its
//! recorded answers.
//!
//! The emulators are those of a running `aido sandbox` when its
//! `aido.sandbox.yaml` is in `--dir` or the current folder and they answer;
//! otherwise the demo starts its own for its duration. Either way it talks
//! to them only as any client would, over their HTTP APIs: it creates the
//! repository (`POST /orgs/aido/repos`) and pushes the project into it with
//! git, then runs the shipped `standard_development` workflow with
//! `task_management: jira` (or `linear`), `version_control: github`,
//! `communication: slack`. Tokens go to `.env` beside the demo's
//! `aido.yaml`, never into it, never into output.

use std::net::ToSocketAddrs;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::{Value, json};

use aido_core::config::Environment;
use aido_core::config::yaml;
use aido_core::redact::register_secrets;
use aido_plugin_api::{CallContext, PluginKind};
use aido_testkit::{GitHubEmulator, JiraEmulator, SlackEmulator};

use super::{
    Finished, SETUP, create_task, git, print_rows, project, run_workflow, workflow_vars, write,
};
use crate::commands::sandbox::CONFIG_FILE;
use crate::exit::{CliError, CliResult};
use crate::output::{Output, Tone};

/// The owner (an organisation) the demo's repository is made under.
const OWNER: &str = "aido";
/// The demo repository's name; `calc-2`, `calc-3`... when taken.
const REPO_NAME: &str = "calc";
/// The Slack channel the demo posts in.
const CHANNEL: &str = "aido-demo";
/// How long an emulator may take to accept a connection before the
/// sandbox that named it counts as stopped.
const REACH_TIMEOUT: Duration = Duration::from_secs(2);

/// Where the emulators are and what they accept.
struct Services {
    github: Endpoint,
    tracker: Tracker,
    slack: Endpoint,
}

/// A service's base URL and token.
struct Endpoint {
    base_url: String,
    token: String,
}

/// The task tracker's emulator.
enum Tracker {
    /// Jira Cloud: Basic authentication with an email and an API token.
    Jira {
        endpoint: Endpoint,
        email: String,
        project: String,
    },
    /// Linear: an API key and a team.
    Linear { endpoint: Endpoint, team: String },
}

impl Tracker {
    fn endpoint(&self) -> &Endpoint {
        match self {
            Tracker::Jira { endpoint, .. } | Tracker::Linear { endpoint, .. } => endpoint,
        }
    }

    fn provider(&self) -> &'static str {
        match self {
            Tracker::Jira { .. } => "jira",
            Tracker::Linear { .. } => "linear",
        }
    }
}

/// Emulators the demo started itself; they stop when this is dropped.
struct OwnEmulators {
    _github: GitHubEmulator,
    _jira: JiraEmulator,
    _slack: SlackEmulator,
}

/// Where the services came from.
enum Source {
    /// A running `aido sandbox`, found through its configuration file.
    Running(PathBuf),
    /// Started by the demo, for its duration.
    InProcess {
        /// Held so they keep running.
        _emulators: OwnEmulators,
    },
}

/// The repository the demo made on the GitHub emulator.
struct CreatedRepo {
    full_name: String,
    clone_url: String,
    html_url: String,
}

/// Runs the demo against the emulators.
pub(super) async fn run(dir: Option<PathBuf>, out: &Output) -> CliResult {
    let (services, source) = find_services(dir.as_deref(), out).await?;
    register_secrets([
        services.github.token.clone(),
        services.tracker.endpoint().token.clone(),
        services.slack.token.clone(),
    ]);
    let dir = super::prepare_dir(dir, &[CONFIG_FILE])?;
    if !out.json {
        out.error(&format!("aido demo --sandbox in {}", dir.display()));
        match &source {
            Source::Running(path) => out.error(&format!(
                "using the running sandbox of {} (github {}, {} {}, slack {})",
                path.display(),
                services.github.base_url,
                services.tracker.provider(),
                services.tracker.endpoint().base_url,
                services.slack.base_url
            )),
            Source::InProcess { .. } => out.error(
                "no running `aido sandbox` found here; the demo started the GitHub, Jira and \
                 Slack emulators itself, for its duration",
            ),
        }
    }

    let repo = create_repository(&services.github).await?;
    let env = write_setup(&dir, &services, &repo)?;
    let project_dir = project(&dir)?;
    git(&project_dir, &["remote", "add", "origin", &repo.clone_url])?;

    let workdir = project_dir.display().to_string();
    let full_name = repo.full_name.clone();
    let mut channel = Value::Null;
    let channel_ref = &mut channel;
    let finished = run_workflow(
        &dir,
        Some(env),
        out,
        async move |active| {
            // The project's first commit, pushed with the github plugin:
            // the token travels as a header, never in the saved remote.
            let vcs = active
                .get(PluginKind::VersionControl)
                .ok_or_else(|| CliError::runtime("no version control plugin"))?;
            vcs.call(
                &CallContext::detached(),
                "push_branch",
                json!({"workdir": workdir, "branch": "main"}),
            )
            .await
            .map_err(|err| {
                CliError::runtime(format!(
                    "cannot push the demo project to {full_name}: {err}"
                ))
            })?;
            let chat = active
                .get(PluginKind::Communication)
                .ok_or_else(|| CliError::runtime("no communication plugin"))?;
            // Keyed, so a second demo on the same sandbox reuses the channel.
            *channel_ref = chat
                .call(
                    &CallContext::with_idempotency_key("aido-demo:channel"),
                    "create_channel",
                    json!({"name": CHANNEL, "description": "Messages from `aido demo --sandbox`"}),
                )
                .await
                .map_err(|err| {
                    CliError::runtime(format!("cannot create the Slack channel: {err}"))
                })?;
            let task_id = create_task(active).await?;
            Ok(workflow_vars(&task_id, &full_name))
        },
        async |active, outcome| {
            let tracker = active
                .get(PluginKind::TaskManagement)
                .ok_or_else(|| CliError::runtime("no task plugin"))?;
            let task_id = outcome.variables["task"]["id"].clone();
            tracker
                .call(
                    &CallContext::detached(),
                    "get_task",
                    json!({ "task_id": task_id }),
                )
                .await
                .map_err(|err| CliError::runtime(format!("cannot read the task back: {err}")))
        },
    )
    .await?;
    report(out, &dir, &services, &source, &repo, &channel, &finished);
    Ok(())
}

/// The emulators to use: a running sandbox's when its configuration is
/// found and they answer, else new ones.
async fn find_services(dir: Option<&Path>, out: &Output) -> CliResult<(Services, Source)> {
    let cwd = std::env::current_dir()
        .map_err(|err| CliError::runtime(format!("cannot read the current directory: {err}")))?;
    let candidates = dir
        .map(|dir| cwd.join(dir).join(CONFIG_FILE))
        .into_iter()
        .chain([cwd.join(CONFIG_FILE)]);
    for path in candidates {
        if !path.is_file() {
            continue;
        }
        let services = read_sandbox_config(&path)?;
        if reachable(&services).await {
            return Ok((services, Source::Running(path)));
        }
        if !out.json {
            out.error(&format!(
                "found {} but its emulators do not answer (the sandbox stopped?)",
                path.display()
            ));
        }
    }
    start_emulators().await
}

/// The services named by a sandbox's configuration file.
fn read_sandbox_config(path: &Path) -> CliResult<Services> {
    let text = std::fs::read_to_string(path)
        .map_err(|err| CliError::runtime(format!("cannot read {}: {err}", path.display())))?;
    let doc = yaml::parse(&text).map_err(|err| {
        CliError::usage(format!(
            "{} is not valid YAML: {}",
            path.display(),
            err.message
        ))
    })?;
    let plugins = &doc.value["plugins"];
    let missing = |what: &str| {
        CliError::usage(format!(
            "{} names no {what}, which `aido demo --sandbox` needs; start `aido sandbox` with \
             github, jira (or linear) and slack among its services, or run the demo in another \
             folder to let it start its own emulators",
            path.display()
        ))
    };
    let text_at = |slot: &str, pointer: &str| {
        plugins[slot]["config"]["connection"]
            .pointer(pointer)
            .and_then(Value::as_str)
            .map(str::to_owned)
    };
    let provider = |slot: &str| plugins[slot]["provider"].as_str().unwrap_or("");
    let endpoint = |slot: &str, token_key: &str| -> Option<Endpoint> {
        Some(Endpoint {
            base_url: text_at(slot, "/base_url")?,
            token: text_at(slot, &format!("/{token_key}"))?,
        })
    };
    if provider("version_control") != "github" {
        return Err(missing("GitHub emulator"));
    }
    let github = endpoint("version_control", "token").ok_or_else(|| missing("GitHub token"))?;
    let tracker = match provider("task_management") {
        "jira" => Tracker::Jira {
            endpoint: endpoint("task_management", "api_token")
                .ok_or_else(|| missing("Jira API token"))?,
            email: text_at("task_management", "/email").ok_or_else(|| missing("Jira email"))?,
            project: text_at("task_management", "/project_key")
                .ok_or_else(|| missing("Jira project"))?,
        },
        "linear" => Tracker::Linear {
            endpoint: endpoint("task_management", "api_key")
                .ok_or_else(|| missing("Linear API key"))?,
            team: text_at("task_management", "/team_id").ok_or_else(|| missing("Linear team"))?,
        },
        _ => return Err(missing("Jira or Linear emulator")),
    };
    if provider("communication") != "slack" {
        return Err(missing("Slack emulator"));
    }
    let slack = endpoint("communication", "bot_token").ok_or_else(|| missing("Slack token"))?;
    Ok(Services {
        github,
        tracker,
        slack,
    })
}

/// Whether every service accepts a connection.
async fn reachable(services: &Services) -> bool {
    for url in [
        &services.github.base_url,
        &services.tracker.endpoint().base_url,
        &services.slack.base_url,
    ] {
        let Some(addr) = reqwest::Url::parse(url).ok().and_then(|url| {
            let host = url.host_str()?.to_owned();
            let port = url.port_or_known_default()?;
            (host.as_str(), port).to_socket_addrs().ok()?.next()
        }) else {
            return false;
        };
        let connected = tokio::time::timeout(REACH_TIMEOUT, tokio::net::TcpStream::connect(addr))
            .await
            .is_ok_and(|stream| stream.is_ok());
        if !connected {
            return false;
        }
    }
    true
}

/// Starts the GitHub, Jira and Slack emulators on free loopback ports.
async fn start_emulators() -> CliResult<(Services, Source)> {
    let failed = |name: &str, err: std::io::Error| {
        CliError::runtime(format!("cannot start the {name} emulator: {err}"))
    };
    let github = GitHubEmulator::start()
        .await
        .map_err(|e| failed("GitHub", e))?;
    let jira = JiraEmulator::start().await.map_err(|e| failed("Jira", e))?;
    let slack = SlackEmulator::start()
        .await
        .map_err(|e| failed("Slack", e))?;
    let services = Services {
        github: Endpoint {
            base_url: github.base_url(),
            token: github.token().to_owned(),
        },
        tracker: Tracker::Jira {
            endpoint: Endpoint {
                base_url: jira.base_url(),
                token: jira.api_token().to_owned(),
            },
            email: jira.email().to_owned(),
            project: aido_testkit::jira::PROJECT.to_owned(),
        },
        slack: Endpoint {
            base_url: slack.base_url(),
            token: slack.token().to_owned(),
        },
    };
    let own = OwnEmulators {
        _github: github,
        _jira: jira,
        _slack: slack,
    };
    Ok((services, Source::InProcess { _emulators: own }))
}

/// Makes the demo's repository on the GitHub emulator through its REST
/// API, as any client would: `calc`, or the first free `calc-N`.
async fn create_repository(github: &Endpoint) -> CliResult<CreatedRepo> {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .map_err(|err| CliError::runtime(format!("cannot make an HTTP client: {err}")))?;
    let url = format!(
        "{}/orgs/{OWNER}/repos",
        github.base_url.trim_end_matches('/')
    );
    for n in 1..=100 {
        let name = if n == 1 {
            REPO_NAME.to_owned()
        } else {
            format!("{REPO_NAME}-{n}")
        };
        let answer = client
            .post(&url)
            .bearer_auth(&github.token)
            .header("accept", "application/vnd.github+json")
            .header("user-agent", "aido-demo")
            .json(&json!({
                "name": name,
                "description": "The sandbox project of `aido demo --sandbox`",
            }))
            .send()
            .await
            .map_err(|err| {
                CliError::runtime(format!("cannot reach the GitHub emulator at {url}: {err}"))
            })?;
        let status = answer.status();
        // 422: the name is taken (an earlier demo on this sandbox).
        if status.as_u16() == 422 {
            continue;
        }
        let body: Value = answer.json().await.unwrap_or(Value::Null);
        if !status.is_success() {
            return Err(CliError::runtime(format!(
                "the GitHub emulator answered {status} to POST {url}: {}",
                body["message"].as_str().unwrap_or("no message")
            )));
        }
        let field = |key: &str| body[key].as_str().map(str::to_owned);
        return match (field("full_name"), field("clone_url"), field("html_url")) {
            (Some(full_name), Some(clone_url), Some(html_url)) => Ok(CreatedRepo {
                full_name,
                clone_url,
                html_url,
            }),
            _ => Err(CliError::runtime(format!(
                "the GitHub emulator made a repository at {url} but did not say its name and URLs"
            ))),
        };
    }
    Err(CliError::runtime(format!(
        "every name from {REPO_NAME} to {REPO_NAME}-100 is taken under {OWNER} on the GitHub \
         emulator; restart the sandbox"
    )))
}

/// Writes the recorded answers, `aido.yaml` pointing the plugins at the
/// emulators, and `.env` holding their tokens (readable by the owner
/// only); returns the environment the configuration is loaded with.
fn write_setup(dir: &Path, services: &Services, repo: &CreatedRepo) -> CliResult<Environment> {
    for (name, text) in SETUP.iter().filter(|(name, _)| *name != "aido.yaml") {
        write(&dir.join(name), text)?;
    }
    let quoted = |text: &str| serde_json::to_string(text).unwrap_or_default();
    let repo_name = repo
        .full_name
        .split_once('/')
        .map_or(repo.full_name.as_str(), |(_, name)| name);
    let mut env = vec![
        ("AIDO_DEMO_GITHUB_TOKEN", services.github.token.clone()),
        ("AIDO_DEMO_SLACK_BOT_TOKEN", services.slack.token.clone()),
    ];
    let tracker = match &services.tracker {
        Tracker::Jira {
            endpoint,
            email,
            project,
        } => {
            env.push(("AIDO_DEMO_JIRA_API_TOKEN", endpoint.token.clone()));
            format!(
                "  task_management:\n    provider: jira\n    config:\n      connection:\n        base_url: {}\n        email: {}\n        api_token: ${{AIDO_DEMO_JIRA_API_TOKEN}}\n        project_key: {}\n",
                quoted(&endpoint.base_url),
                quoted(email),
                quoted(project)
            )
        }
        Tracker::Linear { endpoint, team } => {
            env.push(("AIDO_DEMO_LINEAR_API_KEY", endpoint.token.clone()));
            format!(
                "  task_management:\n    provider: linear\n    config:\n      connection:\n        base_url: {}\n        api_key: ${{AIDO_DEMO_LINEAR_API_KEY}}\n        team_id: {}\n",
                quoted(&endpoint.base_url),
                quoted(team)
            )
        }
    };
    let yaml = format!(
        "# Written by `aido demo --sandbox`: the plugins pointed at the service emulators\n\
         # (tokens in .env), with the AI's answers replayed from answers/.\n\
         plugins:\n\
         {tracker}\
         \x20 version_control:\n    provider: github\n    config:\n      connection:\n        base_url: {}\n        token: ${{AIDO_DEMO_GITHUB_TOKEN}}\n        owner: {OWNER}\n        repo: {}\n\
         \x20 communication:\n    provider: slack\n    config:\n      connection:\n        base_url: {}\n        bot_token: ${{AIDO_DEMO_SLACK_BOT_TOKEN}}\n      options:\n        default_channel: {CHANNEL}\n\
         \x20 ai_provider:\n    provider: scripted\n    config:\n      connection: {{ answers: answers }}\n",
        quoted(&services.github.base_url),
        quoted(repo_name),
        quoted(&services.slack.base_url),
    );
    write(&dir.join("aido.yaml"), &yaml)?;
    let mut dotenv = String::from("# The emulators' tokens, for aido.yaml beside this file.\n");
    for (key, value) in &env {
        if value.contains(['\'', '\n', '\r']) {
            return Err(CliError::runtime(format!(
                "an emulator's token for {key} holds a quote or a line break, which .env cannot hold"
            )));
        }
        dotenv.push_str(&format!("{key}='{value}'\n"));
    }
    write_private(&dir.join(".env"), &dotenv)?;
    Ok(Environment::from_vars(env))
}

/// Writes a file only its owner can read.
fn write_private(path: &Path, text: &str) -> CliResult {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options
        .open(path)
        .and_then(|mut file| file.write_all(text.as_bytes()))
        .map_err(|err| CliError::runtime(format!("cannot write {}: {err}", path.display())))
}

/// Prints the summary: JSON with `--json`, else lines and where to look.
fn report(
    out: &Output,
    dir: &Path,
    services: &Services,
    source: &Source,
    repo: &CreatedRepo,
    channel: &Value,
    finished: &Finished,
) {
    let vars = &finished.outcome.variables;
    let task = &finished.after;
    let summary = json!({
        "sandbox": match source {
            Source::Running(_) => "running",
            Source::InProcess { .. } => "in_process",
        },
        "sandbox_config": match source {
            Source::Running(path) => Value::String(path.display().to_string()),
            Source::InProcess { .. } => Value::Null,
        },
        "dir": dir.display().to_string(),
        "repo": dir.join("project").display().to_string(),
        "repository": repo.full_name,
        "repository_url": repo.html_url,
        "origin": repo.clone_url,
        "github_url": services.github.base_url,
        "branch": vars["branch"]["name"],
        "commit": vars["commit"]["sha"],
        "pull_request": vars["pr"]["url"],
        "pull_request_url": vars["pr"]["url"],
        "pull_request_number": vars["pr"]["number"],
        "task_management": services.tracker.provider(),
        "task_management_url": services.tracker.endpoint().base_url,
        "task_id": vars["task"]["id"],
        "task_key": vars["task"]["id"],
        "task_status": task["status"],
        "task_url": task["custom_fields"]["url"],
        "doc_page": super::url_path(vars["doc_page"]["url"].as_str()),
        "slack_url": services.slack.base_url,
        "slack_channel": vars["message"]["channel"],
        "slack_channel_name": channel["name"],
        "message_ts": vars["message"]["id"],
        "run_id": finished.outcome.run_id,
    });
    if out.json {
        out.line(&serde_json::to_string(&summary).unwrap_or_default());
        return;
    }
    out.line("");
    out.line(&format!(
        "{} the {} task became a verified change, a pull request on GitHub, a task in review, a \
         docs page and a Slack message",
        out.paint("done:", Tone::Good),
        summary["task_management"].as_str().unwrap_or("")
    ));
    print_rows(
        out,
        &summary,
        &[
            ("project", "repo"),
            ("repository", "repository_url"),
            ("branch", "branch"),
            ("commit", "commit"),
            ("pull request", "pull_request_url"),
            ("task", "task_key"),
            ("task status", "task_status"),
            ("docs page", "doc_page"),
            ("slack channel", "slack_channel"),
            ("message ts", "message_ts"),
        ],
    );
    out.line("");
    let config = dir.join("aido.yaml");
    match source {
        Source::Running(path) => {
            out.line(&format!(
                "read them back while the sandbox runs (tokens in {}):",
                path.display()
            ));
            let pulls = format!(
                "{}/repos/{}/pulls/{}",
                services.github.base_url, repo.full_name, summary["pull_request_number"]
            );
            out.line(&format!(
                "  curl -H \"Authorization: Bearer $GITHUB_TOKEN\" {pulls}"
            ));
            out.line(&format!(
                "  aido --config {} task show {}",
                config.display(),
                summary["task_key"].as_str().unwrap_or("")
            ));
        }
        Source::InProcess { .. } => out.line(
            "the emulators stopped with the demo; to read all this back over their APIs, run \
             `aido sandbox` in a folder, then `aido demo --sandbox` in the same folder",
        ),
    }
    out.line(&format!(
        "  aido --config {} runs show {}",
        config.display(),
        finished.outcome.run_id
    ));
}
