//! Tests of the `github` plugin against the GitHub emulator of
//! `aido-testkit`, driven through the action catalog as the engine drives
//! it, and a read-only live test.

use std::time::Duration;

use aido_plugin_api::ErrorKind;
use aido_testkit::github::{self as emu, CONTENTS, PULLS, REPO};
use aido_testkit::{Fault, GitHubEmulator};
use serde_json::{Value, json};

use super::*;

struct Fixture {
    emulator: GitHubEmulator,
    plugin: PluginInstance,
    _dir: tempfile::TempDir,
}

fn isolated_git() -> Vec<(OsString, OsString)> {
    vec![
        ("GIT_CONFIG_GLOBAL".into(), "/dev/null".into()),
        ("GIT_CONFIG_NOSYSTEM".into(), "1".into()),
    ]
}

async fn connect(
    base_url: &str,
    token: &str,
    options: Value,
) -> Result<(PluginInstance, tempfile::TempDir)> {
    let dir = tempfile::tempdir().map_err(|e| Error::other(e.to_string()))?;
    let plugin =
        PluginInstance::VersionControl(Arc::new(GitHubPlugin::with_git_env(isolated_git())));
    let config = PluginConfig::new(
        "version_control",
        json!({
            "connection": {"token": token, "base_url": base_url, "owner": "acme"},
            "options": options,
        }),
        dir.path(),
        dir.path().join(".aido"),
    );
    plugin.plugin().connect(&config).await?;
    Ok((plugin, dir))
}

impl Fixture {
    async fn new(options: Value) -> Fixture {
        let emulator = GitHubEmulator::start().await.unwrap();
        emulator.create_repo("acme", "widgets");
        let token = emulator.token().to_owned();
        let (plugin, dir) = connect(&emulator.base_url(), &token, options)
            .await
            .unwrap();
        Fixture {
            emulator,
            plugin,
            _dir: dir,
        }
    }

    async fn call(&self, action: &str, input: Value) -> Result<Value> {
        self.plugin
            .call(&CallContext::detached(), action, input)
            .await
    }

    async fn call_keyed(&self, key: &str, action: &str, input: Value) -> Result<Value> {
        self.plugin
            .call(&CallContext::with_idempotency_key(key), action, input)
            .await
    }
}

#[tokio::test]
async fn repository_info_and_files_round_trip() {
    let fx = Fixture::new(json!({})).await;
    let info = fx
        .call("get_repository_info", json!({"repository": "acme/widgets"}))
        .await
        .unwrap();
    assert_eq!(info["full_name"], "acme/widgets");
    assert_eq!(info["default_branch"], "main");

    let readme = fx
        .call(
            "get_file_content",
            json!({"repository": "widgets", "path": "README.md"}),
        )
        .await
        .unwrap();
    assert_eq!(readme["content"], "# widgets\n");
    assert_eq!(readme["ref"], "main");

    // A new file on a new branch: the branch is made from main first.
    let text = "line one\nsecond line with ünïcode\n";
    let commit = fx
        .call(
            "update_file",
            json!({"repository": "acme/widgets", "path": "docs/a b.md", "content": text,
                   "message": "Add docs", "branch": "feature/docs"}),
        )
        .await
        .unwrap();
    assert_eq!(commit["files"], json!(["docs/a b.md"]));
    assert_eq!(
        fx.emulator
            .file("acme", "widgets", "feature/docs", "docs/a b.md")
            .unwrap(),
        text.as_bytes()
    );
    // Updating sends the current sha; writing the same content again
    // makes no commit.
    fx.call(
        "update_file",
        json!({"repository": "acme/widgets", "path": "docs/a b.md", "content": "v2",
               "message": "Edit docs", "branch": "feature/docs"}),
    )
    .await
    .unwrap();
    let puts = |fx: &Fixture| {
        fx.emulator
            .requests()
            .iter()
            .filter(|r| r.method == "PUT")
            .count()
    };
    assert_eq!(puts(&fx), 2);
    fx.call(
        "update_file",
        json!({"repository": "acme/widgets", "path": "docs/a b.md", "content": "v2",
               "message": "Edit docs", "branch": "feature/docs"}),
    )
    .await
    .unwrap();
    assert_eq!(puts(&fx), 2);
    let read = fx
        .call(
            "get_file_content",
            json!({"repository": "acme/widgets", "path": "docs/a b.md", "ref": "feature/docs"}),
        )
        .await
        .unwrap();
    assert_eq!(read["content"], "v2");

    let missing = fx
        .call(
            "get_file_content",
            json!({"repository": "acme/widgets", "path": "nope.txt"}),
        )
        .await
        .unwrap_err();
    assert_eq!(missing.kind(), ErrorKind::NotFound);
}

#[tokio::test]
async fn pull_requests_are_created_once_per_idempotency_key() {
    let fx = Fixture::new(json!({})).await;
    fx.emulator
        .seed_file("acme", "widgets", "feature/x", "x.txt", "x");
    let input = json!({
        "repository": "acme/widgets", "title": "Add x", "description": "Adds x.",
        "source_branch": "feature/x", "draft": true,
        "labels": ["aido"], "reviewers": ["octocat"],
    });
    let first = fx
        .call_keyed("run1:pr", "create_pull_request", input.clone())
        .await
        .unwrap();
    let second = fx
        .call_keyed("run1:pr", "create_pull_request", input)
        .await
        .unwrap();
    assert_eq!(first, second);
    assert_eq!(first["description"], "Adds x.");
    assert_eq!(first["target_branch"], "main");
    assert_eq!(first["draft"], true);
    let pulls = fx.emulator.pull_requests("acme", "widgets");
    assert_eq!(pulls.len(), 1);
    assert!(
        pulls[0]["body"]
            .as_str()
            .unwrap()
            .contains("<!-- aido:run1:pr -->")
    );
    assert_eq!(pulls[0]["labels"][0]["name"], "aido");
    assert_eq!(pulls[0]["requested_reviewers"][0]["login"], "octocat");
    let created: Vec<_> = fx
        .emulator
        .requests()
        .into_iter()
        .filter(|r| r.method == "POST" && r.path == "/repos/acme/widgets/pulls")
        .collect();
    assert_eq!(created.len(), 1);

    let listed = fx
        .call(
            "list_pull_requests",
            json!({"repository": "acme/widgets", "state": "open"}),
        )
        .await
        .unwrap();
    assert_eq!(listed.as_array().unwrap().len(), 1);
    let merged = fx
        .call(
            "list_pull_requests",
            json!({"repository": "acme/widgets", "state": "merged"}),
        )
        .await
        .unwrap();
    assert_eq!(merged, json!([]));
}

#[tokio::test]
async fn pull_requests_are_listed_across_pages() {
    let fx = Fixture::new(json!({"page_size": 2})).await;
    for n in 0..5 {
        let branch = format!("feature/{n}");
        fx.emulator
            .seed_file("acme", "widgets", &branch, "f.txt", &n.to_string());
        fx.call(
            "create_pull_request",
            json!({"repository": "acme/widgets", "title": format!("PR {n}"), "source_branch": branch}),
        )
        .await
        .unwrap();
    }
    let listed = fx
        .call("list_pull_requests", json!({"repository": "acme/widgets"}))
        .await
        .unwrap();
    let numbers: Vec<u64> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["number"].as_u64().unwrap())
        .collect();
    assert_eq!(numbers, [5, 4, 3, 2, 1]);
    let pages = fx
        .emulator
        .requests()
        .into_iter()
        .filter(|r| r.method == "GET" && r.path == "/repos/acme/widgets/pulls")
        .filter(|r| !r.query.as_deref().unwrap_or("").contains("head="))
        .count();
    assert_eq!(pages, 3);
}

#[tokio::test]
async fn a_429_is_waited_out_then_the_call_succeeds() {
    let fx = Fixture::new(json!({"cache_ttl": 0})).await;
    fx.emulator.push_fault(REPO, emu::rate_limit_error(1));
    let info = fx
        .call("get_repository_info", json!({"repository": "acme/widgets"}))
        .await
        .unwrap();
    assert_eq!(info["name"], "widgets");
    let hits: Vec<_> = fx
        .emulator
        .requests()
        .into_iter()
        .filter(|r| r.path == "/repos/acme/widgets")
        .collect();
    assert_eq!(hits.len(), 2);
    assert_eq!(hits[0].fault.as_deref(), Some("status 429"));
}

#[tokio::test]
async fn a_500_on_a_read_is_retried_then_succeeds() {
    let fx = Fixture::new(json!({})).await;
    fx.emulator.push_fault(CONTENTS, emu::server_error());
    let readme = fx
        .call(
            "get_file_content",
            json!({"repository": "acme/widgets", "path": "README.md", "ref": "main"}),
        )
        .await
        .unwrap();
    assert_eq!(readme["content"], "# widgets\n");
}

#[tokio::test]
async fn a_500_on_a_create_is_not_repeated() {
    let fx = Fixture::new(json!({})).await;
    fx.emulator
        .seed_file("acme", "widgets", "feature/y", "y.txt", "y");
    // The lookup GET gets the 500 first and is retried; the POST then
    // gets the second and is not repeated (it may have had an effect).
    fx.emulator.push_faults(PULLS, emu::server_error(), 1);
    fx.call(
        "create_pull_request",
        json!({"repository": "acme/widgets", "title": "Y", "source_branch": "feature/y"}),
    )
    .await
    .unwrap();
    assert_eq!(fx.emulator.pull_requests("acme", "widgets").len(), 1);
}

#[tokio::test]
async fn malformed_json_is_an_invalid_response() {
    let fx = Fixture::new(json!({})).await;
    fx.emulator.push_fault(REPO, Fault::MalformedJson);
    let err = fx
        .call("get_repository_info", json!({"repository": "acme/widgets"}))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidResponse, "{err}");
}

#[tokio::test]
async fn a_slow_answer_is_a_timeout() {
    let fx = Fixture::new(json!({"timeout_seconds": 1, "max_retries": 0})).await;
    fx.emulator
        .push_fault(REPO, Fault::Delay(Duration::from_secs(3)));
    let err = fx
        .call("get_repository_info", json!({"repository": "acme/widgets"}))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Timeout, "{err}");
}

#[tokio::test]
async fn a_wrong_token_is_an_authentication_error_without_the_token() {
    let emulator = GitHubEmulator::start().await.unwrap();
    emulator.create_repo("acme", "widgets");
    let wrong = "ghp_wrongTokenValue1234567890";
    let (plugin, _dir) = connect(&emulator.base_url(), wrong, json!({}))
        .await
        .unwrap();
    let err = plugin
        .call(
            &CallContext::detached(),
            "get_repository_info",
            json!({"repository": "acme/widgets"}),
        )
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Authentication, "{err}");
    assert!(err.to_string().contains("Bad credentials"), "{err}");
    assert!(!err.to_string().contains(wrong), "{err}");
    assert!(!format!("{err:?}").contains(wrong));
}

/// Every recorded request, header and body of the emulator, as text.
fn everything_sent(emulator: &GitHubEmulator) -> String {
    emulator
        .requests()
        .iter()
        .map(|r| format!("{} {} {:?}", r.method, r.path, r.query))
        .collect::<Vec<_>>()
        .join("\n")
}

#[tokio::test(flavor = "multi_thread")]
async fn git_gets_the_token_as_a_scoped_header_never_in_the_url() {
    let fx = Fixture::new(json!({})).await;
    let destination = fx._dir.path().join("clone");
    let token = fx.emulator.token().to_owned();
    let local = fx
        .call(
            "clone_repository",
            json!({"repository": "acme/widgets", "destination": destination.to_string_lossy()}),
        )
        .await
        .unwrap();
    assert_eq!(local["branch"], "main");
    assert_eq!(local["default_branch"], "main");
    assert_eq!(
        std::fs::read_to_string(destination.join("README.md")).unwrap(),
        "# widgets\n"
    );
    let config = std::fs::read_to_string(destination.join(".git/config")).unwrap();
    assert!(!config.contains(&token), "{config}");
    assert!(
        config.contains(&fx.emulator.clone_url("acme", "widgets")),
        "{config}"
    );
    // git sent the token as GitHub takes it, in a header.
    let git_request = fx
        .emulator
        .requests()
        .into_iter()
        .find(|r| r.path == "/acme/widgets.git/info/refs")
        .expect("git asked the GitHub host");
    let expected = format!(
        "basic {}",
        api::base64_encode(format!("x-access-token:{token}").as_bytes())
    );
    assert_eq!(git_request.header("authorization"), Some(expected.as_str()));
    assert!(!everything_sent(&fx.emulator).contains(&token));
    std::fs::remove_dir_all(&destination).unwrap();

    // A local repository is cloned as given; its saved remote has no token.
    let source = fx._dir.path().join("source");
    std::fs::create_dir_all(&source).unwrap();
    let git = |args: &[&str], dir: &std::path::Path| {
        let status = std::process::Command::new("git")
            .args(args)
            .current_dir(dir)
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .output()
            .unwrap();
        assert!(status.status.success(), "{status:?}");
        String::from_utf8_lossy(&status.stdout).into_owned()
    };
    git(&["init", "-q", "-b", "main"], &source);
    git(
        &[
            "-c",
            "user.name=t",
            "-c",
            "user.email=t@e",
            "commit",
            "-q",
            "--allow-empty",
            "-m",
            "init",
        ],
        &source,
    );
    let local = fx
        .call(
            "clone_repository",
            json!({"repository": source.to_string_lossy(), "destination": destination.to_string_lossy()}),
        )
        .await
        .unwrap();
    assert_eq!(local["branch"], "main");
    let config = std::fs::read_to_string(destination.join(".git/config")).unwrap();
    assert!(!config.contains(&token), "{config}");
}

#[tokio::test(flavor = "multi_thread")]
async fn clone_branch_commit_push_and_pull_request_against_the_emulator() {
    let fx = Fixture::new(json!({})).await;
    let token = fx.emulator.token().to_owned();
    let destination = fx._dir.path().join("work");
    let local = fx
        .call(
            "clone_repository",
            json!({"repository": "acme/widgets", "destination": destination.to_string_lossy()}),
        )
        .await
        .unwrap();
    let workdir = local["workdir"].as_str().unwrap().to_owned();
    fx.call(
        "create_branch",
        json!({"workdir": workdir, "branch": "feature/x"}),
    )
    .await
    .unwrap();
    std::fs::write(destination.join("fix.txt"), "fixed\n").unwrap();
    let commit = fx
        .call(
            "commit_changes",
            json!({"workdir": workdir, "message": "Fix it"}),
        )
        .await
        .unwrap();
    let pushed = fx
        .call_keyed(
            "run1:push",
            "push_branch",
            json!({"workdir": workdir, "branch": "feature/x"}),
        )
        .await
        .unwrap();
    assert_eq!(pushed["commit"], commit["sha"]);
    // The emulator's API sees the push: the branch, its file, a pull
    // request from it.
    assert_eq!(
        fx.emulator.branches("acme", "widgets")["feature/x"],
        commit["sha"].as_str().unwrap()
    );
    let file = fx
        .call(
            "get_file_content",
            json!({"repository": "acme/widgets", "path": "fix.txt", "ref": "feature/x"}),
        )
        .await
        .unwrap();
    assert_eq!(file["content"], "fixed\n");
    let pull = fx
        .call_keyed(
            "run1:pr",
            "create_pull_request",
            json!({"repository": "acme/widgets", "title": "Fix", "description": "Fixes it",
                   "source_branch": "feature/x", "target_branch": "main"}),
        )
        .await
        .unwrap();
    assert_eq!(pull["source_branch"], "feature/x");
    let shown = &fx.emulator.pull_requests("acme", "widgets")[0];
    assert_eq!(shown["head"]["sha"], commit["sha"]);
    assert_eq!(shown["state"], "open");
    // The token went in headers only: not in the saved remote, not in any
    // path or query.
    let config = std::fs::read_to_string(destination.join(".git/config")).unwrap();
    assert!(!config.contains(&token), "{config}");
    assert!(!everything_sent(&fx.emulator).contains(&token));
}

#[test]
fn web_roots_follow_the_api_host() {
    assert_eq!(
        web_root("https://api.github.com").unwrap(),
        "https://github.com"
    );
    assert_eq!(
        web_root("https://ghe.example.com/api/v3").unwrap(),
        "https://ghe.example.com"
    );
    assert_eq!(
        web_root("http://127.0.0.1:8080").unwrap(),
        "http://127.0.0.1:8080"
    );
    assert!(is_git_address("https://github.com/a/b.git"));
    assert!(is_git_address("/tmp/repo"));
    assert!(is_git_address("git@github.com:a/b.git"));
    assert!(!is_git_address("acme/widgets"));
}

#[test]
fn metadata_reads_github_token_from_the_environment() {
    let meta = factory().metadata().clone();
    assert_eq!(meta.env_prefix, "GITHUB");
    assert_eq!(meta.required_config, vec!["connection.token".to_owned()]);
}

/// Read-only checks against github.com, when `AIDO_LIVE_GITHUB_TOKEN` and
/// `AIDO_LIVE_GITHUB_REPO` (`owner/name`) are set.
mod live {
    use super::*;

    #[tokio::test]
    async fn live_get_repository_info() {
        let (Ok(token), Ok(repo)) = (
            std::env::var("AIDO_LIVE_GITHUB_TOKEN"),
            std::env::var("AIDO_LIVE_GITHUB_REPO"),
        ) else {
            eprintln!(
                "skipped: set AIDO_LIVE_GITHUB_TOKEN and AIDO_LIVE_GITHUB_REPO to run the live \
                 GitHub test"
            );
            return;
        };
        let (plugin, _dir) = connect(config::DEFAULT_BASE_URL, &token, json!({}))
            .await
            .unwrap();
        let info = plugin
            .call(
                &CallContext::detached(),
                "get_repository_info",
                json!({"repository": repo}),
            )
            .await
            .unwrap();
        assert_eq!(
            info["full_name"].as_str().unwrap().to_ascii_lowercase(),
            repo.to_ascii_lowercase()
        );
    }
}
