//! End-to-end tests of the git plugin against real git: local bare
//! repositories stand in for remotes, temporary folders for workspaces.
//!
//! The plugin under test ignores the machine's global git configuration
//! (`GitPlugin::isolated`), and setup commands pass their identity with
//! `-c`, so results do not depend on who runs the tests.

use std::path::{Path, PathBuf};
use std::process::Command as StdCommand;
use std::sync::Arc;
use std::time::{Duration, Instant};

use aido_plugin_api::model::vcs::*;
use aido_plugin_api::{
    CallContext, ErrorKind, Health, Plugin, PluginConfig, PluginInstance, PluginKind,
    VersionControl,
};
use serde_json::json;
use tempfile::TempDir;

use super::{GitPlugin, factory};

/// Runs git for test setup and checks, isolated from the machine's config.
fn git(dir: &Path, args: &[&str]) -> String {
    let output = StdCommand::new("git")
        .arg("-C")
        .arg(dir)
        .args([
            "-c",
            "user.name=Tester",
            "-c",
            "user.email=tester@example.com",
        ])
        .args([
            "-c",
            "init.defaultBranch=main",
            "-c",
            "commit.gpgsign=false",
        ])
        .args(args)
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "git {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap().trim().to_owned()
}

/// A temporary folder with a bare repository `remote.git` (branch `main`:
/// `README.md`, `src/lib.rs`) and a connected plugin.
struct Fixture {
    dir: TempDir,
    plugin: Arc<GitPlugin>,
}

impl Fixture {
    async fn new() -> Self {
        Fixture::with_config(json!({})).await
    }

    async fn with_config(config: serde_json::Value) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let seed = dir.path().join("seed");
        std::fs::create_dir_all(seed.join("src")).unwrap();
        git(&seed, &["init", "--quiet"]);
        std::fs::write(seed.join("README.md"), "hello\n").unwrap();
        std::fs::write(seed.join("src/lib.rs"), "pub fn answer() -> u32 { 42 }\n").unwrap();
        git(&seed, &["add", "-A"]);
        git(&seed, &["commit", "--quiet", "-m", "Initial commit"]);
        git(
            dir.path(),
            &["clone", "--quiet", "--bare", "seed", "remote.git"],
        );
        let plugin = Arc::new(GitPlugin::isolated());
        plugin
            .connect(&plugin_config(dir.path(), config))
            .await
            .unwrap();
        Fixture { dir, plugin }
    }

    fn path(&self, relative: &str) -> PathBuf {
        self.dir.path().join(relative)
    }

    fn text(&self, relative: &str) -> String {
        self.path(relative).to_string_lossy().into_owned()
    }

    fn remote(&self) -> PathBuf {
        self.path("remote.git")
    }

    fn instance(&self) -> PluginInstance {
        PluginInstance::VersionControl(self.plugin.clone())
    }

    /// Clones the remote into `name` and returns the working copy.
    async fn clone_into(&self, name: &str) -> PathBuf {
        let request = CloneRequest {
            repository: self.text("remote.git"),
            destination: name.to_owned(),
            branch: None,
            depth: None,
        };
        let cloned = self.plugin.clone_repository(&cx(), request).await.unwrap();
        PathBuf::from(cloned.workdir)
    }

    /// A working copy on a new branch `branch` with one commit changing
    /// `README.md`, pushed to the remote.
    async fn pushed_branch(&self, workdir_name: &str, branch: &str) -> (PathBuf, Commit) {
        let workdir = self.clone_into(workdir_name).await;
        self.plugin
            .create_branch(&cx(), new_branch(&workdir, branch))
            .await
            .unwrap();
        std::fs::write(workdir.join("README.md"), format!("hello from {branch}\n")).unwrap();
        let commit = self
            .plugin
            .commit_changes(&cx(), commit_request(&workdir, "Change README"))
            .await
            .unwrap();
        self.plugin
            .push_branch(&cx(), push_request(&workdir, branch))
            .await
            .unwrap();
        (workdir, commit)
    }
}

fn plugin_config(project: &Path, value: serde_json::Value) -> PluginConfig {
    PluginConfig::new("version_control", value, project, project.join(".aido"))
}

fn cx() -> CallContext {
    CallContext::detached()
}

fn text(path: &Path) -> String {
    path.to_string_lossy().into_owned()
}

fn new_branch(workdir: &Path, branch: &str) -> NewBranch {
    NewBranch {
        workdir: text(workdir),
        branch: branch.to_owned(),
        from: None,
    }
}

fn commit_request(workdir: &Path, message: &str) -> CommitRequest {
    CommitRequest {
        workdir: text(workdir),
        message: message.to_owned(),
        files: Vec::new(),
        author: None,
    }
}

fn push_request(workdir: &Path, branch: &str) -> PushRequest {
    PushRequest {
        workdir: text(workdir),
        branch: branch.to_owned(),
        remote: None,
        force: false,
    }
}

fn new_pull_request(repository: &Path, source: &str) -> NewPullRequest {
    NewPullRequest {
        repository: text(repository),
        title: format!("Merge {source}"),
        description: "Does a thing.".to_owned(),
        source_branch: source.to_owned(),
        target_branch: None,
        draft: false,
        labels: vec!["aido".to_owned()],
        reviewers: Vec::new(),
    }
}

fn file_update(repository: &Path, path: &str, content: &str, branch: Option<&str>) -> FileUpdate {
    FileUpdate {
        repository: text(repository),
        path: path.to_owned(),
        content: content.to_owned(),
        message: format!("Update {path}"),
        branch: branch.map(str::to_owned),
    }
}

/// The path of a `file://` URL without percent-escapes.
fn url_path(url: &str) -> PathBuf {
    PathBuf::from(url.strip_prefix("file://").unwrap())
}

// --- lifecycle -------------------------------------------------------------

#[tokio::test]
async fn factory_makes_an_unconnected_version_control_plugin() {
    let factory = factory();
    let meta = factory.metadata();
    assert_eq!(meta.name, "git");
    assert_eq!(meta.kind, PluginKind::VersionControl);
    assert_eq!(meta.env_prefix, "AIDO_GIT");
    assert!(
        meta.required_config.is_empty(),
        "{{}} must be a valid configuration"
    );
    let instance = factory.create();
    assert_eq!(instance.kind(), PluginKind::VersionControl);
    let err = instance
        .call(&cx(), "get_repository_info", json!({"repository": "/tmp"}))
        .await
        .unwrap_err();
    assert!(err.message().contains("not connected"), "{err}");
    assert_eq!(err.plugin(), "git");
    assert!(matches!(
        instance.plugin().health_check().await,
        Health::Unhealthy(_)
    ));
}

#[tokio::test]
async fn connect_fails_with_a_connection_error_naming_a_missing_binary() {
    let dir = tempfile::tempdir().unwrap();
    let plugin = GitPlugin::isolated();
    let config = plugin_config(
        dir.path(),
        json!({"connection": {"git_binary": "/nonexistent/bin/git"}}),
    );
    let err = plugin.connect(&config).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Connection);
    assert!(err.message().contains("/nonexistent/bin/git"), "{err}");
    assert!(matches!(plugin.health_check().await, Health::Unhealthy(_)));
}

#[tokio::test]
async fn connected_plugin_is_healthy_until_disconnected() {
    let fixture = Fixture::new().await;
    assert_eq!(fixture.plugin.health_check().await, Health::Healthy);
    fixture.plugin.disconnect().await.unwrap();
    assert!(matches!(
        fixture.plugin.health_check().await,
        Health::Unhealthy(_)
    ));
}

#[tokio::test]
async fn validate_config_reports_problems_beyond_the_schema() {
    let dir = tempfile::tempdir().unwrap();
    let plugin = GitPlugin::isolated();
    assert!(
        plugin
            .validate_config(&plugin_config(dir.path(), json!({})))
            .is_empty()
    );
    let bad = plugin_config(
        dir.path(),
        json!({"options": {"command_timeout_seconds": 0}}),
    );
    let problems = plugin.validate_config(&bad);
    assert_eq!(problems.len(), 1);
    assert_eq!(problems[0].path, "options.command_timeout_seconds");
}

// --- the whole job, through the JSON dispatcher ------------------------------

#[tokio::test]
async fn clone_branch_commit_push_and_pull_request_through_the_dispatcher() {
    let fixture = Fixture::new().await;
    let plugin = fixture.instance();
    let remote = fixture.text("remote.git");

    let cloned = plugin
        .call(
            &cx(),
            "clone_repository",
            json!({"repository": remote, "destination": "work"}),
        )
        .await
        .unwrap();
    assert_eq!(cloned["branch"], "main");
    assert_eq!(cloned["default_branch"], "main");
    assert_eq!(
        cloned["head"],
        git(&fixture.remote(), &["rev-parse", "main"])
    );
    let workdir = cloned["workdir"].as_str().unwrap().to_owned();

    let branch = plugin
        .call(
            &cx(),
            "create_branch",
            json!({"workdir": workdir, "branch": "feature/PROJ-1-greeting"}),
        )
        .await
        .unwrap();
    assert_eq!(branch["created"], true);

    std::fs::write(Path::new(&workdir).join("greeting.txt"), "hi\n").unwrap();
    let commit = plugin
        .call(
            &cx(),
            "commit_changes",
            json!({"workdir": workdir, "message": "Add greeting"}),
        )
        .await
        .unwrap();
    assert_eq!(commit["files"], json!(["greeting.txt"]));

    let pushed = plugin
        .call(
            &cx(),
            "push_branch",
            json!({"workdir": workdir, "branch": "feature/PROJ-1-greeting"}),
        )
        .await
        .unwrap();
    assert_eq!(pushed["remote"], "origin");
    assert_eq!(pushed["commit"], commit["sha"]);
    // The branch and its commit are in the remote itself.
    let in_remote = git(
        Path::new(&remote),
        &["rev-parse", "feature/PROJ-1-greeting"],
    );
    assert_eq!(in_remote, commit["sha"].as_str().unwrap());
    assert_eq!(
        git(
            Path::new(&workdir),
            &["config", "branch.feature/PROJ-1-greeting.remote"]
        ),
        "origin"
    );

    let pull = plugin
        .call(
            &cx(),
            "create_pull_request",
            json!({"repository": remote, "title": "Add greeting", "source_branch": "feature/PROJ-1-greeting"}),
        )
        .await
        .unwrap();
    assert_eq!(pull["number"], 1);
    assert_eq!(pull["state"], "open");
    assert_eq!(pull["target_branch"], "main");

    let listed = plugin
        .call(
            &cx(),
            "list_pull_requests",
            json!({"repository": remote, "state": "open"}),
        )
        .await
        .unwrap();
    assert_eq!(listed, json!([pull]));
}

// --- clone_repository ----------------------------------------------------------

#[tokio::test]
async fn clone_with_branch_and_depth_is_shallow_and_knows_the_default_branch() {
    let fixture = Fixture::new().await;
    git(&fixture.remote(), &["branch", "develop", "main"]);
    let request = CloneRequest {
        repository: fixture.text("remote.git"),
        destination: "shallow".to_owned(),
        branch: Some("develop".to_owned()),
        depth: Some(1),
    };
    let cloned = fixture
        .plugin
        .clone_repository(&cx(), request)
        .await
        .unwrap();
    assert_eq!(cloned.branch, "develop");
    assert_eq!(cloned.default_branch, "main");
    let workdir = Path::new(&cloned.workdir);
    assert_eq!(
        git(workdir, &["rev-parse", "--is-shallow-repository"]),
        "true"
    );
}

#[tokio::test]
async fn clone_into_an_empty_folder_works_and_into_a_full_one_is_refused() {
    let fixture = Fixture::new().await;
    std::fs::create_dir(fixture.path("empty")).unwrap();
    fixture.clone_into("empty").await;
    let request = CloneRequest {
        repository: fixture.text("remote.git"),
        destination: "empty".to_owned(),
        branch: None,
        depth: None,
    };
    let err = fixture
        .plugin
        .clone_repository(&cx(), request)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    assert!(
        err.message().contains("`empty`") && err.message().contains("not empty"),
        "{err}"
    );
}

#[tokio::test]
async fn clone_with_an_idempotency_key_reuses_the_earlier_clone() {
    let fixture = Fixture::new().await;
    let request = CloneRequest {
        repository: fixture.text("remote.git"),
        destination: "work".to_owned(),
        branch: None,
        depth: None,
    };
    let key = CallContext::with_idempotency_key("run-1/clone");
    let first = fixture
        .plugin
        .clone_repository(&key, request.clone())
        .await
        .unwrap();
    let again = fixture
        .plugin
        .clone_repository(&key, request)
        .await
        .unwrap();
    assert_eq!(first, again);
}

#[tokio::test]
async fn failed_clones_name_the_source_and_leave_nothing_behind() {
    let fixture = Fixture::new().await;
    let missing = CloneRequest {
        repository: "no-such-repo".to_owned(),
        destination: "work".to_owned(),
        branch: None,
        depth: None,
    };
    let err = fixture
        .plugin
        .clone_repository(&cx(), missing)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
    assert!(err.message().contains("no-such-repo"), "{err}");

    std::fs::create_dir(fixture.path("not-a-repo")).unwrap();
    let not_a_repo = CloneRequest {
        repository: fixture.text("not-a-repo"),
        destination: "work".to_owned(),
        branch: None,
        depth: None,
    };
    let err = fixture
        .plugin
        .clone_repository(&cx(), not_a_repo)
        .await
        .unwrap_err();
    assert!(err.message().contains("git clone"), "{err}");
    assert!(
        !fixture.path("work").exists(),
        "a failed clone leaves no folder"
    );
}

// --- create_branch -------------------------------------------------------------

#[tokio::test]
async fn create_branch_twice_reuses_the_branch() {
    let fixture = Fixture::new().await;
    let workdir = fixture.clone_into("work").await;
    let first = fixture
        .plugin
        .create_branch(&cx(), new_branch(&workdir, "feature/x"))
        .await
        .unwrap();
    assert!(first.created);
    git(&workdir, &["checkout", "--quiet", "main"]);
    let again = fixture
        .plugin
        .create_branch(&cx(), new_branch(&workdir, "feature/x"))
        .await
        .unwrap();
    assert!(!again.created);
    assert_eq!(again.commit, first.commit);
    assert_eq!(git(&workdir, &["branch", "--show-current"]), "feature/x");
}

#[tokio::test]
async fn create_branch_checks_names_and_start_points() {
    let fixture = Fixture::new().await;
    let workdir = fixture.clone_into("work").await;
    for bad in ["a..b", "--force", "with space", "trailing.lock"] {
        let err = fixture
            .plugin
            .create_branch(&cx(), new_branch(&workdir, bad))
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput, "{bad}: {err}");
    }
    let from_missing = NewBranch {
        from: Some("no-such-base".to_owned()),
        ..new_branch(&workdir, "feature/y")
    };
    let err = fixture
        .plugin
        .create_branch(&cx(), from_missing)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
    assert!(err.message().contains("no-such-base"), "{err}");

    let from_remote = NewBranch {
        from: Some("origin/main".to_owned()),
        ..new_branch(&workdir, "feature/z")
    };
    let branch = fixture
        .plugin
        .create_branch(&cx(), from_remote)
        .await
        .unwrap();
    assert_eq!(
        branch.commit,
        git(&fixture.remote(), &["rev-parse", "main"])
    );
}

#[tokio::test]
async fn a_folder_inside_a_working_copy_is_not_taken_for_it() {
    let fixture = Fixture::new().await;
    let workdir = fixture.clone_into("work").await;
    let err = fixture
        .plugin
        .create_branch(&cx(), new_branch(&workdir.join("src"), "x"))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    assert!(err.message().contains("lies inside"), "{err}");
}

// --- commit_changes ------------------------------------------------------------

#[tokio::test]
async fn commit_with_an_idempotency_key_is_made_once() {
    let fixture = Fixture::new().await;
    let workdir = fixture.clone_into("work").await;
    std::fs::write(workdir.join("new.txt"), "new\n").unwrap();
    let key = CallContext::with_idempotency_key("run-7/commit");
    let first = fixture
        .plugin
        .commit_changes(&key, commit_request(&workdir, "Add new"))
        .await
        .unwrap();
    assert!(
        first.message.contains("Aido-Idempotency-Key: run-7/commit"),
        "{}",
        first.message
    );
    let again = fixture
        .plugin
        .commit_changes(&key, commit_request(&workdir, "Add new"))
        .await
        .unwrap();
    assert_eq!(again, first);
    assert_eq!(git(&workdir, &["rev-list", "--count", "HEAD"]), "2");

    // A different key is a different commit, which here has nothing to commit.
    let other = CallContext::with_idempotency_key("run-7/commit-2");
    let err = fixture
        .plugin
        .commit_changes(&other, commit_request(&workdir, "Add new"))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
}

#[tokio::test]
async fn commit_without_changes_is_a_clear_error() {
    let fixture = Fixture::new().await;
    let workdir = fixture.clone_into("work").await;
    let err = fixture
        .plugin
        .commit_changes(&cx(), commit_request(&workdir, "Nothing"))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    assert!(err.message().contains("nothing to commit"), "{err}");
    let err = fixture
        .plugin
        .commit_changes(&cx(), commit_request(&workdir, "  "))
        .await
        .unwrap_err();
    assert!(err.message().contains("message is empty"), "{err}");
}

#[tokio::test]
async fn commits_use_the_configured_identity_when_the_repository_has_none() {
    let fixture = Fixture::with_config(
        json!({"options": {"author_name": "Robo", "author_email": "robo@example.com"}}),
    )
    .await;
    let workdir = fixture.clone_into("work").await;
    std::fs::write(workdir.join("a.txt"), "a\n").unwrap();
    fixture
        .plugin
        .commit_changes(&cx(), commit_request(&workdir, "A"))
        .await
        .unwrap();
    assert_eq!(
        git(&workdir, &["log", "-1", "--format=%an <%ae> / %cn <%ce>"]),
        "Robo <robo@example.com> / Robo <robo@example.com>"
    );

    std::fs::write(workdir.join("b.txt"), "b\n").unwrap();
    let author = Signature {
        name: "Ada".to_owned(),
        email: "ada@example.com".to_owned(),
    };
    let request = CommitRequest {
        author: Some(author),
        ..commit_request(&workdir, "B")
    };
    fixture.plugin.commit_changes(&cx(), request).await.unwrap();
    assert_eq!(
        git(&workdir, &["log", "-1", "--format=%an <%ae> / %cn"]),
        "Ada <ada@example.com> / Robo"
    );

    // The repository's own identity wins over the plugin's.
    git(&workdir, &["config", "user.name", "Local Person"]);
    std::fs::write(workdir.join("c.txt"), "c\n").unwrap();
    fixture
        .plugin
        .commit_changes(&cx(), commit_request(&workdir, "C"))
        .await
        .unwrap();
    assert_eq!(
        git(&workdir, &["log", "-1", "--format=%an <%ae>"]),
        "Local Person <robo@example.com>"
    );
}

#[tokio::test]
async fn commit_of_listed_files_leaves_other_changes_alone() {
    let fixture = Fixture::new().await;
    let workdir = fixture.clone_into("work").await;
    std::fs::write(workdir.join("README.md"), "changed\n").unwrap();
    std::fs::remove_file(workdir.join("src/lib.rs")).unwrap();
    std::fs::write(workdir.join("other.txt"), "untouched\n").unwrap();
    let request = CommitRequest {
        files: vec!["README.md".to_owned(), "./src/lib.rs".to_owned()],
        ..commit_request(&workdir, "Two files")
    };
    let commit = fixture.plugin.commit_changes(&cx(), request).await.unwrap();
    assert_eq!(commit.files, ["README.md", "src/lib.rs"]);
    assert_eq!(git(&workdir, &["status", "--porcelain"]), "?? other.txt");

    let unknown = CommitRequest {
        files: vec!["missing.txt".to_owned()],
        ..commit_request(&workdir, "x")
    };
    let err = fixture
        .plugin
        .commit_changes(&cx(), unknown)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
    assert!(err.message().contains("missing.txt"), "{err}");

    let outside = CommitRequest {
        files: vec!["../x".to_owned()],
        ..commit_request(&workdir, "x")
    };
    let err = fixture
        .plugin
        .commit_changes(&cx(), outside)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
}

#[tokio::test]
async fn a_slow_git_command_times_out_and_is_stopped() {
    let fixture = Fixture::with_config(json!({"options": {"command_timeout_seconds": 1}})).await;
    let workdir = fixture.clone_into("work").await;
    let hook = workdir.join(".git/hooks/pre-commit");
    std::fs::write(&hook, "#!/bin/sh\nsleep 5\n").unwrap();
    let executable = <std::fs::Permissions as std::os::unix::fs::PermissionsExt>::from_mode(0o755);
    std::fs::set_permissions(&hook, executable).unwrap();
    std::fs::write(workdir.join("a.txt"), "a\n").unwrap();
    let started = Instant::now();
    let err = fixture
        .plugin
        .commit_changes(&cx(), commit_request(&workdir, "Slow"))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Timeout, "{err}");
    assert!(
        err.message().contains("`git commit`") && err.message().contains("1s"),
        "{err}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "took {:?}",
        started.elapsed()
    );
}

// --- push_branch ---------------------------------------------------------------

#[tokio::test]
async fn push_is_repeatable_and_force_pushes_with_lease() {
    let fixture = Fixture::new().await;
    let (workdir, _) = fixture.pushed_branch("work", "feature/p").await;
    // Pushing what the remote already has succeeds.
    let again = fixture
        .plugin
        .push_branch(&cx(), push_request(&workdir, "feature/p"))
        .await
        .unwrap();
    assert_eq!(
        again.commit,
        git(&fixture.remote(), &["rev-parse", "feature/p"])
    );

    // A rewritten branch needs force.
    git(
        &workdir,
        &["commit", "--quiet", "--amend", "-m", "Reworded"],
    );
    let err = fixture
        .plugin
        .push_branch(&cx(), push_request(&workdir, "feature/p"))
        .await
        .unwrap_err();
    assert!(err.message().contains("rejected"), "{err}");
    let forced = PushRequest {
        force: true,
        ..push_request(&workdir, "feature/p")
    };
    let pushed = fixture.plugin.push_branch(&cx(), forced).await.unwrap();
    assert_eq!(
        pushed.commit,
        git(&fixture.remote(), &["rev-parse", "feature/p"])
    );
    assert_eq!(pushed.commit, git(&workdir, &["rev-parse", "HEAD"]));
}

#[tokio::test]
async fn push_names_missing_remotes_and_branches() {
    let fixture = Fixture::new().await;
    let workdir = fixture.clone_into("work").await;
    let to_nowhere = PushRequest {
        remote: Some("upstream".to_owned()),
        ..push_request(&workdir, "main")
    };
    let err = fixture
        .plugin
        .push_branch(&cx(), to_nowhere)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
    assert!(
        err.message().contains("`upstream`") && err.message().contains("origin"),
        "{err}"
    );
    let err = fixture
        .plugin
        .push_branch(&cx(), push_request(&workdir, "nope"))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
    assert!(err.message().contains("`nope`"), "{err}");
}

// --- pull requests -------------------------------------------------------------

#[tokio::test]
async fn pull_request_record_holds_commits_and_diff_stat() {
    let fixture = Fixture::new().await;
    let (_, commit) = fixture.pushed_branch("work", "feature/pr").await;
    let pull = fixture
        .plugin
        .create_pull_request(&cx(), new_pull_request(&fixture.remote(), "feature/pr"))
        .await
        .unwrap();
    assert_eq!(pull.number, 1);
    assert_eq!(pull.target_branch, "main");
    assert_eq!(pull.state, PullRequestState::Open);
    assert!(pull.url.starts_with("file://"), "{}", pull.url);

    let record_path = url_path(&pull.url);
    assert!(
        record_path.starts_with(fixture.path(".aido/pull_requests")),
        "{}",
        record_path.display()
    );
    assert_eq!(record_path.file_name().unwrap(), "1.json");
    let record: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&record_path).unwrap()).unwrap();
    assert_eq!(record["number"], 1);
    assert_eq!(record["id"], pull.id);
    assert_eq!(record["title"], "Merge feature/pr");
    assert_eq!(record["description"], "Does a thing.");
    assert_eq!(record["source_branch"], "feature/pr");
    assert_eq!(record["target_branch"], "main");
    assert_eq!(record["state"], "open");
    assert_eq!(record["draft"], false);
    assert_eq!(record["labels"], json!(["aido"]));
    assert_eq!(
        record["commits"],
        json!([{"sha": commit.sha, "subject": "Change README"}])
    );
    let diff_stat = record["diff_stat"].as_str().unwrap();
    assert!(
        diff_stat.contains("README.md") && diff_stat.contains("1 file changed"),
        "{diff_stat}"
    );
}

#[tokio::test]
async fn pull_requests_are_not_opened_twice() {
    let fixture = Fixture::new().await;
    let (workdir, _) = fixture.pushed_branch("work", "feature/a").await;
    let first = fixture
        .plugin
        .create_pull_request(&cx(), new_pull_request(&fixture.remote(), "feature/a"))
        .await
        .unwrap();
    let same_branch = fixture
        .plugin
        .create_pull_request(&cx(), new_pull_request(&fixture.remote(), "feature/a"))
        .await
        .unwrap();
    assert_eq!(same_branch, first);

    // Same idempotency key, even with another title: the same pull request.
    fixture
        .plugin
        .create_branch(&cx(), new_branch(&workdir, "feature/b"))
        .await
        .unwrap();
    std::fs::write(workdir.join("b.txt"), "b\n").unwrap();
    fixture
        .plugin
        .commit_changes(&cx(), commit_request(&workdir, "B"))
        .await
        .unwrap();
    fixture
        .plugin
        .push_branch(&cx(), push_request(&workdir, "feature/b"))
        .await
        .unwrap();
    let key = CallContext::with_idempotency_key("run-2/pr");
    let second = fixture
        .plugin
        .create_pull_request(&key, new_pull_request(&fixture.remote(), "feature/b"))
        .await
        .unwrap();
    assert_eq!(second.number, 2);
    let retried = NewPullRequest {
        title: "Another title".to_owned(),
        ..new_pull_request(&fixture.remote(), "feature/b")
    };
    assert_eq!(
        fixture
            .plugin
            .create_pull_request(&key, retried)
            .await
            .unwrap(),
        second
    );

    let query = |state, source: Option<&str>| PullRequestQuery {
        repository: fixture.text("remote.git"),
        state,
        source_branch: source.map(str::to_owned),
    };
    let all = fixture
        .plugin
        .list_pull_requests(&cx(), query(None, None))
        .await
        .unwrap();
    assert_eq!(all, [first.clone(), second]);
    let only_a = fixture
        .plugin
        .list_pull_requests(
            &cx(),
            query(Some(PullRequestState::Open), Some("feature/a")),
        )
        .await
        .unwrap();
    assert_eq!(only_a, [first]);
    let merged = fixture
        .plugin
        .list_pull_requests(&cx(), query(Some(PullRequestState::Merged), None))
        .await
        .unwrap();
    assert!(merged.is_empty());
}

#[tokio::test]
async fn concurrent_pull_requests_get_distinct_numbers() {
    let fixture = Fixture::new().await;
    for n in 0..4 {
        git(&fixture.remote(), &["branch", &format!("base-{n}"), "main"]);
    }
    let workdir = fixture.clone_into("work").await;
    for n in 0..4 {
        let branch = format!("feature/c{n}");
        fixture
            .plugin
            .create_branch(&cx(), new_branch(&workdir, &branch))
            .await
            .unwrap();
        std::fs::write(workdir.join(format!("c{n}.txt")), "c\n").unwrap();
        fixture
            .plugin
            .commit_changes(&cx(), commit_request(&workdir, "C"))
            .await
            .unwrap();
        fixture
            .plugin
            .push_branch(&cx(), push_request(&workdir, &branch))
            .await
            .unwrap();
    }
    let tasks: Vec<_> = (0..4)
        .map(|n| {
            let plugin = fixture.plugin.clone();
            let request = new_pull_request(&fixture.remote(), &format!("feature/c{n}"));
            tokio::spawn(async move {
                plugin
                    .create_pull_request(&cx(), request)
                    .await
                    .unwrap()
                    .number
            })
        })
        .collect();
    let mut numbers = Vec::new();
    for task in tasks {
        numbers.push(task.await.unwrap());
    }
    numbers.sort();
    assert_eq!(numbers, [1, 2, 3, 4]);
}

#[tokio::test]
async fn pull_request_from_a_missing_branch_is_not_found() {
    let fixture = Fixture::new().await;
    let err = fixture
        .plugin
        .create_pull_request(&cx(), new_pull_request(&fixture.remote(), "feature/ghost"))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
    assert!(err.message().contains("`feature/ghost`"), "{err}");
    let same = NewPullRequest {
        target_branch: Some("main".to_owned()),
        ..new_pull_request(&fixture.remote(), "main")
    };
    let err = fixture
        .plugin
        .create_pull_request(&cx(), same)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
}

#[tokio::test]
async fn pull_request_from_a_working_copy_uses_its_branches() {
    let fixture = Fixture::new().await;
    let (workdir, commit) = fixture.pushed_branch("work", "feature/wc").await;
    let pull = fixture
        .plugin
        .create_pull_request(&cx(), new_pull_request(&workdir, "feature/wc"))
        .await
        .unwrap();
    assert_eq!(pull.target_branch, "main");
    let record: serde_json::Value =
        serde_json::from_slice(&std::fs::read(url_path(&pull.url)).unwrap()).unwrap();
    assert_eq!(record["source_commit"], commit.sha);
}

// --- repository info and files ---------------------------------------------------

#[tokio::test]
async fn repository_info_of_a_bare_repository_and_a_working_copy() {
    let fixture = Fixture::new().await;
    let info = fixture
        .plugin
        .get_repository_info(
            &cx(),
            RepositoryRef {
                repository: fixture.text("remote.git"),
            },
        )
        .await
        .unwrap();
    assert_eq!(info.name, "remote");
    assert_eq!(info.default_branch, "main");
    let canonical = std::fs::canonicalize(fixture.remote()).unwrap();
    assert_eq!(info.full_name, text(&canonical));
    assert_eq!(info.clone_url, text(&canonical));
    assert_eq!(
        info.url.as_deref(),
        Some(format!("file://{}", text(&canonical)).as_str())
    );

    let workdir = fixture.clone_into("work").await;
    fixture
        .plugin
        .create_branch(&cx(), new_branch(&workdir, "topic"))
        .await
        .unwrap();
    let info = fixture
        .plugin
        .get_repository_info(
            &cx(),
            RepositoryRef {
                repository: "work".to_owned(),
            },
        )
        .await
        .unwrap();
    assert_eq!(info.name, "work");
    assert_eq!(
        info.default_branch, "main",
        "the remote's default, not the branch checked out"
    );

    let err = fixture
        .plugin
        .get_repository_info(
            &cx(),
            RepositoryRef {
                repository: "nowhere".to_owned(),
            },
        )
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
}

#[tokio::test]
async fn get_file_content_reads_a_file_at_a_revision() {
    let fixture = Fixture::new().await;
    let request = |path: &str, reference: Option<&str>| FileRequest {
        repository: fixture.text("remote.git"),
        path: path.to_owned(),
        reference: reference.map(str::to_owned),
    };
    let file = fixture
        .plugin
        .get_file_content(&cx(), request("README.md", None))
        .await
        .unwrap();
    assert_eq!(file.content, "hello\n");
    assert_eq!(file.reference, "main");
    assert_eq!(
        file.sha.as_deref(),
        Some(git(&fixture.remote(), &["rev-parse", "main:README.md"]).as_str())
    );

    fixture.pushed_branch("work", "feature/f").await;
    let file = fixture
        .plugin
        .get_file_content(&cx(), request("README.md", Some("feature/f")))
        .await
        .unwrap();
    assert_eq!(file.content, "hello from feature/f\n");
    assert_eq!(file.reference, "feature/f");

    let err = fixture
        .plugin
        .get_file_content(&cx(), request("nope.md", None))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
    assert!(err.message().contains("`nope.md`"), "{err}");
    let err = fixture
        .plugin
        .get_file_content(&cx(), request("README.md", Some("v9")))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
    let err = fixture
        .plugin
        .get_file_content(&cx(), request("src", None))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    assert!(err.message().contains("folder"), "{err}");
}

#[tokio::test]
async fn update_file_commits_in_a_working_copy() {
    let fixture = Fixture::new().await;
    let workdir = fixture.clone_into("work").await;
    fixture
        .plugin
        .create_branch(&cx(), new_branch(&workdir, "docs"))
        .await
        .unwrap();
    git(&workdir, &["checkout", "--quiet", "main"]);
    let key = CallContext::with_idempotency_key("run-3/update");
    let update = file_update(&workdir, "docs/guide.md", "# Guide\n", Some("docs"));
    let commit = fixture
        .plugin
        .update_file(&key, update.clone())
        .await
        .unwrap();
    assert_eq!(commit.files, ["docs/guide.md"]);
    assert_eq!(git(&workdir, &["branch", "--show-current"]), "docs");
    assert_eq!(
        std::fs::read_to_string(workdir.join("docs/guide.md")).unwrap(),
        "# Guide\n"
    );
    assert_eq!(git(&workdir, &["show", "docs:docs/guide.md"]), "# Guide");

    assert_eq!(
        fixture
            .plugin
            .update_file(&key, update.clone())
            .await
            .unwrap(),
        commit
    );
    let err = fixture.plugin.update_file(&cx(), update).await.unwrap_err();
    assert!(err.message().contains("nothing to commit"), "{err}");
}

#[tokio::test]
async fn update_file_refuses_paths_outside_the_repository() {
    let fixture = Fixture::new().await;
    let workdir = fixture.clone_into("work").await;
    let outside = fixture.path("outside");
    std::fs::create_dir(&outside).unwrap();
    std::os::unix::fs::symlink(&outside, workdir.join("link")).unwrap();
    for path in [
        "../escape.txt",
        "/etc/passwd",
        ".git/config",
        "sub/../../x",
        "link/x.txt",
    ] {
        let err = fixture
            .plugin
            .update_file(&cx(), file_update(&workdir, path, "x", None))
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput, "{path}: {err}");
    }
    assert!(std::fs::read_dir(&outside).unwrap().next().is_none());
}

#[tokio::test]
async fn update_file_commits_into_a_bare_repository() {
    let fixture = Fixture::new().await;
    let remote = fixture.remote();
    let before = git(&remote, &["rev-parse", "main"]);
    let key = CallContext::with_idempotency_key("run-4/update");
    let update = file_update(&remote, "notes/today.md", "notes\n", None);
    let commit = fixture
        .plugin
        .update_file(&key, update.clone())
        .await
        .unwrap();
    assert_eq!(commit.files, ["notes/today.md"]);
    assert_eq!(git(&remote, &["rev-parse", "main"]), commit.sha);
    assert_eq!(git(&remote, &["rev-parse", "main^"]), before);
    assert_eq!(git(&remote, &["show", "main:notes/today.md"]), "notes");
    assert_eq!(
        git(&remote, &["show", "main:README.md"]),
        "hello",
        "other files are kept"
    );
    assert_eq!(
        git(&remote, &["log", "-1", "--format=%an <%ae>", "main"]),
        "aido <aido@localhost>"
    );

    assert_eq!(
        fixture
            .plugin
            .update_file(&key, update.clone())
            .await
            .unwrap(),
        commit
    );
    let err = fixture.plugin.update_file(&cx(), update).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    let err = fixture
        .plugin
        .update_file(&cx(), file_update(&remote, "x.md", "x", Some("no-branch")))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
    let leftovers: Vec<_> = std::fs::read_dir(&remote)
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().starts_with("aido-index"))
        .collect();
    assert!(leftovers.is_empty(), "temporary indexes are removed");
}

// --- credentials ---------------------------------------------------------------

#[tokio::test]
async fn credentials_in_urls_never_reach_errors() {
    let fixture = Fixture::with_config(json!({"options": {"command_timeout_seconds": 20}})).await;
    // Port 9 on loopback: refused at once, no network involved.
    let url = "http://alice:s3cr3t-token@127.0.0.1:9/org/repo.git";
    let request = CloneRequest {
        repository: url.to_owned(),
        destination: "work".to_owned(),
        branch: None,
        depth: None,
    };
    let err = fixture
        .plugin
        .clone_repository(&cx(), request)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Connection, "{err}");
    assert!(!err.to_string().contains("s3cr3t-token"), "{err}");
    assert!(!err.to_string().contains("alice"), "{err}");

    let err = fixture
        .plugin
        .get_repository_info(
            &cx(),
            RepositoryRef {
                repository: url.to_owned(),
            },
        )
        .await
        .unwrap_err();
    assert!(!err.to_string().contains("s3cr3t-token"), "{err}");

    let file = FileRequest {
        repository: url.to_owned(),
        path: "README.md".to_owned(),
        reference: None,
    };
    let err = fixture
        .plugin
        .get_file_content(&cx(), file)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unsupported);
    assert!(!err.to_string().contains("s3cr3t-token"), "{err}");
}
