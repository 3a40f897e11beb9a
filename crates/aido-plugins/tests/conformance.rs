//! The embedded defaults pass their kinds' conformance suites, called
//! through the action catalog as the engine calls them; so does the
//! `github` plugin against the GitHub emulator (git over smart HTTP
//! included).

use aido_plugin_api::{PluginConfig, PluginInstance, PluginKind};
use aido_testkit::conformance;

async fn connected(kind: PluginKind, name: &str, dir: &std::path::Path) -> PluginInstance {
    let factory = aido_plugins::builtins()
        .into_iter()
        .find(|f| f.metadata().kind == kind && f.metadata().name == name)
        .unwrap_or_else(|| panic!("no built-in {kind} plugin `{name}`"));
    let instance = factory.create();
    let config = PluginConfig::new(kind.as_str(), serde_json::json!({}), dir, dir.join(".aido"));
    instance
        .plugin()
        .connect(&config)
        .await
        .unwrap_or_else(|err| panic!("{name}: {err}"));
    instance
}

#[tokio::test]
async fn local_tasks_conform() {
    let dir = tempfile::tempdir().unwrap();
    let plugin = connected(PluginKind::TaskManagement, "local", dir.path()).await;
    conformance::task_management(&plugin).await.assert_passed();
}

#[tokio::test]
async fn markdown_docs_conform() {
    let dir = tempfile::tempdir().unwrap();
    let plugin = connected(PluginKind::Documentation, "markdown", dir.path()).await;
    conformance::documentation(&plugin).await.assert_passed();
}

#[tokio::test]
async fn console_conforms() {
    let dir = tempfile::tempdir().unwrap();
    let plugin = connected(PluginKind::Communication, "console", dir.path()).await;
    conformance::communication(&plugin).await.assert_passed();
}

/// Runs git in `dir` with the machine's configuration kept out.
fn git(dir: &std::path::Path, args: &[&str]) {
    let status = std::process::Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .status()
        .expect("git runs");
    assert!(status.success(), "git {args:?} failed");
}

#[tokio::test]
async fn git_conforms_on_a_bare_repository() {
    let dir = tempfile::tempdir().unwrap();
    let seed = dir.path().join("seed");
    std::fs::create_dir(&seed).unwrap();
    git(&seed, &["init", "-q", "-b", "main"]);
    std::fs::write(seed.join("README.md"), "# seed\n").unwrap();
    git(&seed, &["add", "README.md"]);
    git(
        &seed,
        &[
            "-c",
            "user.name=Seed",
            "-c",
            "user.email=seed@example.com",
            "commit",
            "-q",
            "-m",
            "Initial commit",
        ],
    );
    git(dir.path(), &["clone", "-q", "--bare", "seed", "origin.git"]);
    let origin = dir.path().join("origin.git");
    let plugin = connected(PluginKind::VersionControl, "git", dir.path()).await;
    // No file named: the suite finds README.md in the working copy.
    let target = conformance::VersionControlTarget::new(origin.to_string_lossy());
    conformance::version_control(&plugin, &target)
        .await
        .assert_passed();
}

#[tokio::test]
async fn github_conforms_against_the_emulator() {
    let emulator = aido_testkit::GitHubEmulator::start().await.unwrap();
    emulator.create_repo("acme", "widgets");
    let dir = tempfile::tempdir().unwrap();
    let factory = aido_plugins::builtins()
        .into_iter()
        .find(|f| f.metadata().kind == PluginKind::VersionControl && f.metadata().name == "github")
        .expect("the github plugin is built in");
    let plugin = factory.create();
    let config = PluginConfig::new(
        "version_control",
        serde_json::json!({"connection": {
            "token": emulator.token(), "base_url": emulator.base_url(), "owner": "acme",
        }}),
        dir.path(),
        dir.path().join(".aido"),
    );
    plugin.plugin().connect(&config).await.unwrap();
    let target = conformance::VersionControlTarget::new("acme/widgets").with_file("README.md");
    let report = conformance::version_control(&plugin, &target).await;
    report.assert_passed();
    // Every check ran: none was skipped.
    assert!(
        report
            .checks
            .iter()
            .all(|c| c.outcome == conformance::Outcome::Passed),
        "{report}"
    );
    // One pull request, from the suite's branch, pushed for real.
    let pulls = emulator.pull_requests("acme", "widgets");
    assert_eq!(pulls.len(), 1, "{pulls:?}");
    let head = pulls[0]["head"]["ref"].as_str().unwrap().to_owned();
    assert!(head.starts_with("aido-conformance-"), "{head}");
    assert!(emulator.branches("acme", "widgets").contains_key(&head));
}

/// A transport that sends every action as JSON to another plugin: what an
/// external plugin process looks like to the engine.
struct Loopback(PluginInstance);

#[aido_plugin_api::async_trait]
impl aido_plugin_api::Plugin for Loopback {
    fn metadata(&self) -> &aido_plugin_api::PluginMetadata {
        self.0.plugin().metadata()
    }
    async fn connect(&self, config: &PluginConfig) -> aido_plugin_api::Result<()> {
        self.0.plugin().connect(config).await
    }
    async fn disconnect(&self) -> aido_plugin_api::Result<()> {
        self.0.plugin().disconnect().await
    }
    async fn health_check(&self) -> aido_plugin_api::Health {
        self.0.plugin().health_check().await
    }
}

#[aido_plugin_api::async_trait]
impl aido_plugin_api::Transport for Loopback {
    async fn call_action(
        &self,
        cx: &aido_plugin_api::CallContext,
        kind: PluginKind,
        action: &str,
        input: serde_json::Value,
    ) -> aido_plugin_api::Result<serde_json::Value> {
        assert_eq!(kind, self.0.kind());
        self.0.call(cx, action, input).await
    }
}

#[tokio::test]
async fn a_plugin_behind_a_json_transport_conforms_too() {
    let dir = tempfile::tempdir().unwrap();
    let inner = connected(PluginKind::TaskManagement, "local", dir.path()).await;
    let forwarded =
        aido_plugin_api::Forward::new(Loopback(inner)).into_instance(PluginKind::TaskManagement);
    conformance::task_management(&forwarded)
        .await
        .assert_passed();
}
