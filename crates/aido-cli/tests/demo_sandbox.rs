//! `aido demo --sandbox`, checked the way the issue says it will be tried:
//! `aido sandbox` runs, `aido demo --sandbox --json` runs beside it, and
//! then the pull request, the task's status and comment, and the Slack
//! message are read back from the emulators over their HTTP APIs, as any
//! client of those services would read them. Without a running sandbox the
//! demo starts its own emulators.

mod common;

use common::{aido, aido_command, text};

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Output, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use serde_json::Value;

/// A running `aido sandbox`, stopped (by its process id) when dropped.
struct Sandbox {
    child: Child,
    /// The parsed aido.sandbox.yaml it wrote.
    config: Value,
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Sandbox {
    /// Starts `aido sandbox` for GitHub, Jira and Slack on free ports in
    /// `dir`, and waits until it says it wrote its configuration.
    fn start(dir: &Path) -> Sandbox {
        let mut child = aido_command(dir, &["sandbox", "--services", "github,jira,slack"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("aido sandbox starts");
        let stdout = child.stdout.take().expect("its stdout");
        let (lines, received) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if lines.send(line).is_err() {
                    break;
                }
            }
        });
        let mut sandbox = Sandbox {
            child,
            config: Value::Null,
        };
        loop {
            let line = received
                .recv_timeout(Duration::from_secs(60))
                .expect("aido sandbox says it wrote its configuration");
            if line.starts_with("wrote aido.sandbox.yaml") {
                break;
            }
        }
        let text = std::fs::read_to_string(dir.join("aido.sandbox.yaml")).unwrap();
        sandbox.config = aido_core::config::yaml::parse(&text).unwrap().value;
        sandbox
    }

    fn connection(&self, slot: &str, key: &str) -> String {
        self.config["plugins"][slot]["config"]["connection"][key]
            .as_str()
            .unwrap_or_else(|| panic!("aido.sandbox.yaml has {slot}.{key}"))
            .to_owned()
    }
}

/// The JSON summary: the last line of stdout.
fn summary(output: &Output) -> Value {
    assert!(output.status.success(), "{}", text(output));
    let stdout = String::from_utf8_lossy(&output.stdout);
    let last = stdout.lines().last().expect("a summary line");
    serde_json::from_str(last)
        .unwrap_or_else(|err| panic!("the last line is not JSON ({err}): {last}"))
}

/// Standard base64, as GitHub sends file contents.
fn base64_decode(text: &str) -> Vec<u8> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = Vec::new();
    let (mut buffer, mut bits) = (0u32, 0);
    for byte in text
        .bytes()
        .filter(|b| !b.is_ascii_whitespace() && *b != b'=')
    {
        let value = ALPHABET.iter().position(|c| *c == byte).expect("base64") as u32;
        buffer = (buffer << 6) | value;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((buffer >> bits) as u8);
            buffer &= (1 << bits) - 1;
        }
    }
    out
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// A GET (or POST with `form`) answered 200, as JSON.
async fn read(request: reqwest::RequestBuilder) -> Value {
    let answer = request.send().await.expect("the emulator answers");
    let status = answer.status();
    let body: Value = answer.json().await.expect("a JSON answer");
    assert_eq!(status, 200, "{body}");
    body
}

#[test]
fn the_sandbox_demo_leaves_a_pull_request_a_task_in_review_and_a_message() {
    let root = tempfile::tempdir().unwrap();
    let sandbox = Sandbox::start(root.path());
    let output = aido(
        root.path(),
        &["demo", "--sandbox", "--json", "--dir", "demo"],
    );
    let summary = summary(&output);
    assert_eq!(summary["sandbox"], "running", "{summary}");

    let github = sandbox.connection("version_control", "base_url");
    let github_token = sandbox.connection("version_control", "token");
    let jira = sandbox.connection("task_management", "base_url");
    let jira_email = sandbox.connection("task_management", "email");
    let jira_token = sandbox.connection("task_management", "api_token");
    let slack = sandbox.connection("communication", "base_url");
    let slack_token = sandbox.connection("communication", "bot_token");

    // No token reaches the output, the demo's configuration or the
    // project's saved remote.
    let printed = text(&output);
    let dir = root.path().join("demo");
    let config = std::fs::read_to_string(dir.join("aido.yaml")).unwrap();
    let remote = std::fs::read_to_string(dir.join("project/.git/config")).unwrap();
    for token in [&github_token, &jira_token, &slack_token] {
        assert!(!printed.contains(token.as_str()), "a token was printed");
        assert!(!config.contains(token.as_str()), "a token is in aido.yaml");
        assert!(!remote.contains(token.as_str()), "a token is in the remote");
    }

    let repository = summary["repository"].as_str().unwrap().to_owned();
    let branch = summary["branch"].as_str().unwrap().to_owned();
    let number = summary["pull_request_number"].as_u64().unwrap();
    let key = summary["task_key"].as_str().unwrap().to_owned();
    let pull_url = summary["pull_request_url"].as_str().unwrap().to_owned();
    assert_eq!(summary["github_url"], github.as_str());
    assert!(pull_url.starts_with(&github), "{pull_url}");
    assert_eq!(summary["task_status"], "in_review");

    runtime().block_on(async {
        let client = reqwest::Client::new();

        // The pull request, open, from the demo's branch, at its commit.
        let pull = read(
            client
                .get(format!("{github}/repos/{repository}/pulls/{number}"))
                .bearer_auth(&github_token),
        )
        .await;
        assert_eq!(pull["state"], "open");
        assert_eq!(pull["head"]["ref"], branch.as_str());
        assert_eq!(pull["head"]["sha"], summary["commit"]);
        assert_eq!(pull["base"]["ref"], "main");
        assert_eq!(pull["html_url"], pull_url.as_str());

        // The branch is on GitHub, and its calc.py holds the fix.
        let branches = read(
            client
                .get(format!("{github}/repos/{repository}/branches"))
                .bearer_auth(&github_token),
        )
        .await;
        assert!(
            branches
                .as_array()
                .unwrap()
                .iter()
                .any(|b| b["name"] == branch.as_str()),
            "{branches}"
        );
        let file = read(
            client
                .get(format!(
                    "{github}/repos/{repository}/contents/calc.py?ref={branch}"
                ))
                .bearer_auth(&github_token),
        )
        .await;
        let content = String::from_utf8(base64_decode(file["content"].as_str().unwrap())).unwrap();
        assert!(content.contains("return a + b"), "{content}");
        let base = read(
            client
                .get(format!("{github}/repos/{repository}/contents/calc.py"))
                .bearer_auth(&github_token),
        )
        .await;
        let content = String::from_utf8(base64_decode(base["content"].as_str().unwrap())).unwrap();
        assert!(
            content.contains("return a - b"),
            "main is untouched: {content}"
        );

        // The Jira issue is in review, with a comment linking the pull
        // request.
        let issue = read(
            client
                .get(format!("{jira}/rest/api/3/issue/{key}"))
                .basic_auth(&jira_email, Some(&jira_token)),
        )
        .await;
        assert_eq!(issue["fields"]["status"]["name"], "In Review");
        let comments = read(
            client
                .get(format!("{jira}/rest/api/3/issue/{key}/comment"))
                .basic_auth(&jira_email, Some(&jira_token)),
        )
        .await;
        assert!(
            comments["comments"]
                .as_array()
                .unwrap()
                .iter()
                .any(|c| c["body"].to_string().contains(&pull_url)),
            "{comments}"
        );

        // The Slack message is in the channel's history.
        let channel = summary["slack_channel"].as_str().unwrap();
        let history = read(
            client
                .post(format!("{slack}/conversations.history"))
                .bearer_auth(&slack_token)
                .header("content-type", "application/x-www-form-urlencoded")
                .body(format!("channel={channel}")),
        )
        .await;
        assert_eq!(history["ok"], true, "{history}");
        let message = history["messages"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["ts"] == summary["message_ts"])
            .unwrap_or_else(|| panic!("no message {} in {history}", summary["message_ts"]));
        assert!(
            message["text"].as_str().unwrap().contains(&pull_url),
            "{message}"
        );
    });

    // A second demo on the same sandbox gets its own repository and task,
    // and the same channel.
    let again = summary_of(root.path(), "demo2");
    assert_eq!(again["sandbox"], "running");
    assert_ne!(again["repository"], summary["repository"]);
    assert_ne!(again["task_key"], summary["task_key"]);
    assert_eq!(again["slack_channel"], summary["slack_channel"]);
    drop(sandbox);
}

fn summary_of(root: &Path, dir: &str) -> Value {
    summary(&aido(root, &["demo", "--sandbox", "--json", "--dir", dir]))
}

#[test]
fn without_a_sandbox_the_demo_starts_its_own_emulators() {
    let root = tempfile::tempdir().unwrap();
    let output = aido(
        root.path(),
        &["demo", "--sandbox", "--json", "--dir", "demo"],
    );
    let summary = summary(&output);
    assert_eq!(summary["sandbox"], "in_process", "{summary}");
    assert_eq!(summary["task_management"], "jira");
    assert_eq!(summary["task_status"], "in_review");
    assert_eq!(summary["pull_request_number"], 1);
    assert!(
        summary["pull_request_url"]
            .as_str()
            .unwrap()
            .starts_with("http://127.0.0.1:"),
        "{summary}"
    );
    assert!(
        summary["message_ts"]
            .as_str()
            .is_some_and(|ts| !ts.is_empty())
    );
    assert!(
        summary["slack_channel"]
            .as_str()
            .is_some_and(|c| c.starts_with('C'))
    );
    // The emulators' tokens have these prefixes; none is printed.
    let printed = text(&output);
    for prefix in ["ghp_emu-", "ATATTemu-", "xoxb-emu-"] {
        assert!(!printed.contains(prefix), "a token was printed: {prefix}");
    }
    assert_eq!(summary["branch"], "feature/proj-1-fix-add-in-calc-py");
}

#[test]
fn a_stopped_sandbox_is_noticed_and_the_demo_runs_on_its_own() {
    let root = tempfile::tempdir().unwrap();
    // A configuration left by a sandbox that is gone: nothing listens on
    // port 9 (discard) of loopback.
    std::fs::write(
        root.path().join("aido.sandbox.yaml"),
        "plugins:\n  version_control:\n    provider: github\n    config:\n      connection: { token: \"t\", base_url: \"http://127.0.0.1:9\" }\n  task_management:\n    provider: jira\n    config:\n      connection: { base_url: \"http://127.0.0.1:9\", email: \"e@example.com\", api_token: \"t\", project_key: PROJ }\n  communication:\n    provider: slack\n    config:\n      connection: { bot_token: \"t\", base_url: \"http://127.0.0.1:9/api\" }\n",
    )
    .unwrap();
    let output = aido(root.path(), &["demo", "--sandbox", "--dir", "demo"]);
    let printed = text(&output);
    assert!(output.status.success(), "{printed}");
    assert!(printed.contains("do not answer"), "{printed}");
    assert!(
        printed.contains("started the GitHub, Jira and Slack emulators"),
        "{printed}"
    );
    assert!(printed.contains("pull request"), "{printed}");
    assert!(printed.contains("in_review"), "{printed}");
}

#[test]
fn a_sandbox_without_the_needed_services_is_refused_by_name() {
    let root = tempfile::tempdir().unwrap();
    let _sandbox = {
        let mut child = aido_command(root.path(), &["sandbox", "--services", "github,slack"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("aido sandbox starts");
        let path = root.path().join("aido.sandbox.yaml");
        for _ in 0..600 {
            if std::fs::read_to_string(&path).is_ok_and(|t| t.contains("communication")) {
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = child.try_wait();
        Sandbox {
            child,
            config: Value::Null,
        }
    };
    let output = aido(root.path(), &["demo", "--sandbox", "--dir", "demo"]);
    assert_eq!(output.status.code(), Some(2), "{}", text(&output));
    assert!(
        text(&output).contains("names no Jira or Linear emulator"),
        "{}",
        text(&output)
    );
}
