//! Tests of the `agent_cli` plugin with small fake agents: shell scripts
//! written into a temporary folder, run against a temporary git repository
//! as the workspace, and driven through the action catalog as the engine
//! drives them.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command as StdCommand;
use std::time::{Duration, Instant};

use aido_plugin_api::ErrorKind;
use serde_json::{Value, json};
use tempfile::TempDir;

use super::*;

/// A fake Claude Code: counts its runs, saves its arguments and stdin, edits
/// the workspace, and answers with a Claude Code result object.
const CLAUDE_LIKE: &str = r#"
echo run >> "$FAKE_DIR/count"
printf '%s' "$*" > "$FAKE_DIR/args"
if [ -n "$1" ] && [ "$1" != "-p" ]; then : > "$FAKE_DIR/stdin"; else cat > "$FAKE_DIR/stdin"; fi
echo "// edited by the agent" >> src/lib.rs
printf 'notes\n' > NOTES.md
cat <<'JSON'
{"type":"result","subtype":"success","is_error":false,"result":"Implemented the change.\n",
 "stop_reason":"end_turn","total_cost_usd":0.0123,
 "usage":{"input_tokens":100,"cache_read_input_tokens":50,"output_tokens":20},
 "modelUsage":{"claude-sonnet-4-5":{"costUSD":0.0123,"outputTokens":20}}}
JSON
"#;

/// A project folder holding a git repository `repo` (the workspace) and the
/// fake agents in `bin`.
struct Fixture {
    dir: TempDir,
}

impl Fixture {
    fn new() -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let repo = dir.path().join("repo");
        fs::create_dir_all(repo.join("src")).unwrap();
        git(&repo, &["init", "--quiet"]);
        fs::write(repo.join("README.md"), "hello\n").unwrap();
        fs::write(repo.join("src/lib.rs"), "pub fn answer() -> u32 { 42 }\n").unwrap();
        git(&repo, &["add", "-A"]);
        git(&repo, &["commit", "--quiet", "-m", "Initial commit"]);
        fs::create_dir_all(dir.path().join("bin")).unwrap();
        fs::create_dir_all(dir.path().join("fake")).unwrap();
        Fixture { dir }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn repo(&self) -> PathBuf {
        self.path().join("repo")
    }

    /// Where the fake agents leave their traces.
    fn fake_dir(&self) -> PathBuf {
        self.path().join("fake")
    }

    fn trace(&self, name: &str) -> String {
        fs::read_to_string(self.fake_dir().join(name)).unwrap_or_default()
    }

    /// Writes an executable `/bin/sh` script `bin/<name>`.
    fn script(&self, name: &str, body: &str) -> PathBuf {
        let path = self.path().join("bin").join(name);
        fs::write(&path, format!("#!/bin/sh\n{body}")).unwrap();
        let mode = <fs::Permissions as std::os::unix::fs::PermissionsExt>::from_mode(0o755);
        fs::set_permissions(&path, mode).unwrap();
        path
    }

    fn config(&self, value: Value) -> PluginConfig {
        PluginConfig::new("ai_provider", value, self.path(), self.path().join(".aido"))
    }

    /// A connected plugin whose `connection` is `connection` plus
    /// `FAKE_DIR` in `env`, working in the repository.
    async fn connect(&self, mut connection: Value, options: Value) -> PluginInstance {
        connection
            .as_object_mut()
            .unwrap()
            .entry("env")
            .or_insert_with(|| json!({}))
            .as_object_mut()
            .unwrap()
            .insert("FAKE_DIR".into(), json!(self.fake_dir()));
        let mut options = options;
        options
            .as_object_mut()
            .unwrap()
            .entry("workdir")
            .or_insert(json!("repo"));
        let plugin = factory().create();
        let config = self.config(json!({"connection": connection, "options": options}));
        assert!(plugin.plugin().validate_config(&config).is_empty());
        plugin.plugin().connect(&config).await.unwrap();
        plugin
    }

    /// A plugin running `script` with preset `custom` and prompt on stdin.
    async fn custom(&self, script: &Path, options: Value) -> PluginInstance {
        self.connect(json!({"preset": "custom", "command": [script]}), options)
            .await
    }
}

/// Runs git for test setup, isolated from the machine's configuration.
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

fn ask(text: &str) -> Value {
    json!({"messages": [{"role": "user", "content": text}]})
}

fn cx() -> CallContext {
    CallContext::detached()
}

#[tokio::test]
async fn generate_text_runs_the_agent_and_lists_the_changed_files() {
    let fx = Fixture::new();
    let script = fx.script("claude", CLAUDE_LIKE);
    let plugin = fx.custom(&script, json!({})).await;

    let out = plugin
        .call(&cx(), "generate_text", ask("Add a comment to src/lib.rs"))
        .await
        .unwrap();

    let text = out["text"].as_str().unwrap();
    assert!(text.starts_with("Implemented the change.\n\n"), "{text}");
    assert!(text.contains("## Files changed in the workspace"), "{text}");
    assert!(text.contains("- modified: `src/lib.rs`"), "{text}");
    assert!(text.contains("- added (untracked): `NOTES.md`"), "{text}");
    assert!(text.contains("src/lib.rs | 1 +"), "the diff stat: {text}");
    assert_eq!(out["model"], "claude-sonnet-4-5");
    assert_eq!(
        out["usage"],
        json!({"input_tokens": 150, "output_tokens": 20}),
        "the agent's own counts, cache reads included"
    );
    assert_eq!(out["cost_usd"], 0.0123);
    assert_eq!(out["stop_reason"], "end_turn");
    assert_eq!(fx.trace("stdin"), "Add a comment to src/lib.rs");
    // The agent ran in the workspace.
    assert!(
        fs::read_to_string(fx.repo().join("src/lib.rs"))
            .unwrap()
            .contains("edited by the agent")
    );

    let stats = plugin
        .call(&cx(), "get_usage_stats", json!({}))
        .await
        .unwrap();
    assert_eq!(stats["requests"], 1);
    assert_eq!(stats["by_model"]["claude-sonnet-4-5"]["cost_usd"], 0.0123);
}

#[tokio::test]
async fn the_prompt_goes_to_stdin_unless_an_argument_holds_the_placeholder() {
    let fx = Fixture::new();
    let script = fx.script(
        "echo-agent",
        r#"
printf '%s' "$1" > "$FAKE_DIR/arg1"
cat > "$FAKE_DIR/stdin"
echo "plain answer"
"#,
    );
    let prompt = "-starts with a dash\nand has \"quotes\" and $HOME";

    let on_stdin = fx.custom(&script, json!({})).await;
    let out = on_stdin
        .call(&cx(), "generate_text", ask(prompt))
        .await
        .unwrap();
    assert!(
        out["text"]
            .as_str()
            .unwrap()
            .starts_with("plain answer\n\n")
    );
    assert_eq!(fx.trace("stdin"), prompt);
    assert_eq!(fx.trace("arg1"), "");

    let in_argument = fx
        .connect(
            json!({"preset": "custom", "command": [script, "{prompt}"]}),
            json!({}),
        )
        .await;
    in_argument
        .call(&cx(), "generate_text", ask(prompt))
        .await
        .unwrap();
    assert_eq!(
        fx.trace("arg1"),
        prompt,
        "passed as one argument, untouched"
    );
    assert_eq!(fx.trace("stdin"), "", "stdin is empty");
}

#[tokio::test]
async fn a_non_zero_exit_is_an_error_with_the_code_and_the_end_of_stderr() {
    let fx = Fixture::new();
    let script = fx.script(
        "failing",
        r#"
i=1
while [ $i -le 40 ]; do echo "progress line $i" >&2; i=$((i+1)); done
echo "fatal: the model refused" >&2
exit 3
"#,
    );
    let plugin = fx.custom(&script, json!({})).await;
    let err = plugin
        .call(&cx(), "generate_text", ask("Do it"))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Other);
    assert_eq!(err.plugin(), "agent_cli");
    let message = err.message();
    assert!(message.contains("exited with code 3"), "{message}");
    assert!(message.contains("(preset custom)"), "{message}");
    assert!(message.contains("failing"), "names the program: {message}");
    assert!(message.contains("fatal: the model refused"), "{message}");
    assert!(
        !message.contains("progress line 1\n"),
        "only the end: {message}"
    );
}

#[tokio::test]
async fn an_agent_reporting_an_error_in_its_json_fails_the_call() {
    let fx = Fixture::new();
    let script = fx.script(
        "claude",
        r#"
cat > /dev/null
echo '{"type":"result","subtype":"error_during_execution","is_error":true,"result":"API key invalid"}'
"#,
    );
    // The Claude Code preset, with its command pointed at the fake.
    let plugin = fx
        .connect(
            json!({"preset": "claude_code", "command": [script, "-p"]}),
            json!({}),
        )
        .await;
    let err = plugin
        .call(&cx(), "generate_text", ask("Do it"))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Other);
    assert!(err.message().contains("API key invalid"), "{err}");
    assert!(err.message().contains("(preset claude_code)"), "{err}");

    let script = fx.script("claude-text", "cat > /dev/null\necho 'not json at all'\n");
    let plugin = fx
        .connect(
            json!({"preset": "claude_code", "command": [script]}),
            json!({}),
        )
        .await;
    let err = plugin
        .call(&cx(), "generate_text", ask("Do it"))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidResponse);
    assert!(err.message().contains("--output-format json"), "{err}");
    assert!(err.message().contains("not json at all"), "{err}");
}

#[tokio::test]
async fn a_run_past_the_timeout_is_killed_with_what_it_started() {
    let fx = Fixture::new();
    let script = fx.script(
        "slow",
        r#"
echo $$ > "$FAKE_DIR/agent.pid"
sleep 30 &
echo $! > "$FAKE_DIR/child.pid"
echo "thinking..." >&2
wait
"#,
    );
    let plugin = fx.custom(&script, json!({"timeout_seconds": 1})).await;
    let started = Instant::now();
    let err = plugin
        .call(&cx(), "generate_text", ask("Take forever"))
        .await
        .unwrap_err();
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(err.kind(), ErrorKind::Timeout);
    assert!(err.message().contains("within 1s"), "{err}");
    assert!(err.message().contains("thinking..."), "{err}");
    for name in ["agent.pid", "child.pid"] {
        let pid: u32 = fx.trace(name).trim().parse().unwrap();
        assert!(
            gone(pid).await,
            "process {pid} ({name}) survived the timeout"
        );
    }
}

#[tokio::test]
async fn a_missing_binary_is_a_configuration_error_naming_it_and_the_preset() {
    let fx = Fixture::new();
    // An empty PATH for the agent: `claude` cannot be found anywhere.
    let empty = fx.path().join("empty");
    fs::create_dir_all(&empty).unwrap();
    let plugin = fx
        .connect(
            json!({"preset": "claude_code", "env": {"PATH": empty}}),
            json!({}),
        )
        .await;
    let err = plugin
        .call(&cx(), "generate_text", ask("Do it"))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Configuration);
    let message = err.message();
    assert!(message.contains("`claude`"), "{message}");
    assert!(message.contains("preset claude_code"), "{message}");
    assert!(message.contains("install Claude Code"), "{message}");
    assert!(matches!(
        plugin.plugin().health_check().await,
        Health::Unhealthy(reason) if reason.contains("`claude`")
    ));

    let plugin = fx
        .connect(
            json!({"preset": "custom", "command": ["./bin/not-there"]}),
            json!({}),
        )
        .await;
    let err = plugin
        .call(&cx(), "generate_code", json!({"instructions": "x"}))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Configuration);
    assert!(err.message().contains("bin/not-there"), "{err}");
    assert!(err.message().contains("preset custom"), "{err}");
}

#[tokio::test]
async fn the_environment_is_cleared_except_the_allowlist_and_pass_env() {
    // Cargo sets this for every test process; it stands for any variable
    // of aido's environment an agent must not see unless asked for.
    assert!(std::env::var_os("CARGO_MANIFEST_DIR").is_some());
    let fx = Fixture::new();
    let script = fx.script("env-agent", "cat > /dev/null\nenv\n");

    let plugin = fx
        .connect(
            json!({"preset": "custom", "command": [script], "env": {"AGENT_MODE": "ci"}}),
            json!({}),
        )
        .await;
    let out = plugin.call(&cx(), "generate_text", ask("x")).await.unwrap();
    let names = variable_names(out["text"].as_str().unwrap());
    let mut expected = vec!["AGENT_MODE", "FAKE_DIR"];
    for name in ["PATH", "HOME", "LANG", "TMPDIR"] {
        if std::env::var_os(name).is_some() {
            expected.push(name);
        }
    }
    expected.sort();
    assert_eq!(names, expected);

    let plugin = fx
        .connect(
            json!({"preset": "custom", "command": [script], "pass_env": ["CARGO_MANIFEST_DIR"]}),
            json!({}),
        )
        .await;
    let out = plugin.call(&cx(), "generate_text", ask("x")).await.unwrap();
    let text = out["text"].as_str().unwrap();
    assert!(
        variable_names(text).contains(&"CARGO_MANIFEST_DIR"),
        "{text}"
    );
    assert!(!variable_names(text).contains(&"AGENT_MODE"), "{text}");
}

/// The variable names in `env` output (before the changes section), less
/// those `sh` sets itself.
fn variable_names(text: &str) -> Vec<&str> {
    let env = text.split("\n\n##").next().unwrap_or("");
    let mut names: Vec<&str> = env
        .lines()
        .filter_map(|line| line.split_once('=').map(|(name, _)| name))
        .filter(|name| !["PWD", "OLDPWD", "SHLVL", "_"].contains(name))
        .collect();
    names.sort();
    names
}

#[tokio::test]
async fn an_idempotency_key_replays_the_answer_without_running_the_agent_again() {
    let fx = Fixture::new();
    let script = fx.script("claude", CLAUDE_LIKE);
    let key = CallContext {
        run_id: Some("run-1".into()),
        step: Some("implement".into()),
        idempotency_key: Some("run-1/implement/0".into()),
    };
    let first = fx.custom(&script, json!({})).await;
    let answer = first
        .call(&key, "generate_text", ask("Implement it"))
        .await
        .unwrap();
    assert_eq!(fx.trace("count").lines().count(), 1);

    // A new process resuming the run: same key, same answer, no run.
    let resumed = fx.custom(&script, json!({})).await;
    let again = resumed
        .call(&key, "generate_text", ask("Implement it"))
        .await
        .unwrap();
    assert_eq!(again, answer);
    assert_eq!(fx.trace("count").lines().count(), 1, "the agent ran again");
    let stats = resumed
        .call(&cx(), "get_usage_stats", json!({}))
        .await
        .unwrap();
    assert_eq!(stats["requests"], 0, "a replay spends nothing");
    assert!(fx.path().join(".aido/agent-cli-replay.json").is_file());

    // A key names one call: using it for another action is refused.
    let err = resumed
        .call(&key, "generate_code", json!({"instructions": "x"}))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    assert!(err.message().contains("generate_text"), "{err}");

    // Another key runs the agent.
    let other = CallContext::with_idempotency_key("run-1/implement/1");
    resumed
        .call(&other, "generate_text", ask("Implement it"))
        .await
        .unwrap();
    assert_eq!(fx.trace("count").lines().count(), 2);
}

#[tokio::test]
async fn codex_preset_reads_its_events_and_passes_the_model_flag() {
    let fx = Fixture::new();
    let script = fx.script(
        "codex",
        r#"
printf '%s' "$*" > "$FAKE_DIR/args"
cat > "$FAKE_DIR/stdin"
echo "new file" > added.txt
cat <<'JSONL'
{"type":"thread.started","thread_id":"t1"}
{"type":"item.completed","item":{"id":"i1","type":"agent_message","text":"Created added.txt."}}
{"type":"turn.completed","usage":{"input_tokens":1000000,"cached_input_tokens":0,"output_tokens":100000}}
JSONL
"#,
    );
    let plugin = fx
        .connect(
            json!({"preset": "codex", "command": [script, "exec", "--json"]}),
            json!({"model": "gpt-5"}),
        )
        .await;
    let out = plugin
        .call(&cx(), "generate_text", ask("Create a file"))
        .await
        .unwrap();
    assert_eq!(fx.trace("args"), "exec --json --model gpt-5");
    assert_eq!(fx.trace("stdin"), "Create a file");
    let text = out["text"].as_str().unwrap();
    assert!(text.starts_with("Created added.txt.\n\n"), "{text}");
    assert!(text.contains("- added (untracked): `added.txt`"), "{text}");
    assert_eq!(out["model"], "gpt-5");
    assert_eq!(
        out["usage"],
        json!({"input_tokens": 1000000, "output_tokens": 100000})
    );
    // Codex reports no cost: priced at gpt-5's list price ($1.25 + $10 per
    // million tokens in and out).
    let cost = out["cost_usd"].as_f64().unwrap();
    assert!((cost - 2.25).abs() < 1e-9, "{cost}");
}

#[tokio::test]
async fn text_answers_get_estimated_usage_and_code_actions_use_the_agent_too() {
    let fx = Fixture::new();
    let script = fx.script(
        "text-agent",
        "cat > /dev/null\necho 'fn retry() {}' > src/retry.rs\necho 'fn retry() {}'\n",
    );
    let plugin = fx
        .custom(&script, json!({"model": "claude-sonnet-4"}))
        .await;

    let out = plugin
        .call(
            &cx(),
            "generate_code",
            json!({"instructions": "Write retry", "language": "rust"}),
        )
        .await
        .unwrap();
    assert_eq!(out["code"], "fn retry() {}");
    assert_eq!(out["language"], "rust");
    let explanation = out["explanation"].as_str().unwrap();
    assert!(explanation.contains("`src/retry.rs`"), "{explanation}");
    // Estimated: ceil(13 chars / 4) output tokens, priced at claude-sonnet-4.
    assert_eq!(out["usage"]["output_tokens"], 4);
    assert!(out["cost_usd"].as_f64().unwrap() > 0.0);

    let out = plugin
        .call(
            &cx(),
            "analyze_code",
            json!({"code": "fn f() {}", "language": "rust"}),
        )
        .await
        .unwrap();
    let summary = out["summary"].as_str().unwrap();
    assert!(
        summary.starts_with("fn retry() {}\n\n## Files changed"),
        "{summary}"
    );
    assert_eq!(out["findings"], json!([]));
}

#[tokio::test]
async fn estimate_cost_prices_one_call_of_the_configured_model() {
    let fx = Fixture::new();
    let script = fx.script("unused", "exit 0\n");
    let plugin = fx
        .custom(
            &script,
            json!({"model": "claude-sonnet-4", "max_tokens": 1000}),
        )
        .await;
    let out = plugin
        .call(&cx(), "estimate_cost", ask("abcdefgh"))
        .await
        .unwrap();
    assert_eq!(out["model"], "claude-sonnet-4");
    // 2 tokens of text + 4 of message overhead.
    assert_eq!(out["input_tokens"], 6);
    assert_eq!(out["max_output_tokens"], 1000);
    let cost = out["estimated_cost_usd"].as_f64().unwrap();
    assert!(
        (cost - (6.0 * 3.0 + 1000.0 * 15.0) / 1e6).abs() < 1e-12,
        "{cost}"
    );
    assert_eq!(fx.trace("count"), "", "estimating runs nothing");
}

#[tokio::test]
async fn health_checks_find_the_binary_and_ask_its_version() {
    let fx = Fixture::new();
    let versioned = fx.script(
        "claude",
        "if [ \"$1\" = --version ]; then echo '2.1.0 (Claude Code)'; exit 0; fi\nexit 1\n",
    );
    let plugin = fx
        .connect(
            json!({"preset": "claude_code", "command": [versioned]}),
            json!({}),
        )
        .await;
    assert_eq!(plugin.plugin().health_check().await, Health::Healthy);

    let broken = fx.script("broken", "echo 'no such option' >&2\nexit 2\n");
    let plugin = fx
        .connect(json!({"preset": "aider", "command": [broken]}), json!({}))
        .await;
    match plugin.plugin().health_check().await {
        Health::Unhealthy(reason) => {
            assert!(reason.contains("--version"), "{reason}");
            assert!(reason.contains("no such option"), "{reason}");
        }
        other => panic!("expected unhealthy, got {other:?}"),
    }

    // A custom program need not know `--version`; a missing workspace is
    // worth knowing but not fatal.
    let plugin = fx
        .connect(
            json!({"preset": "custom", "command": [broken]}),
            json!({"workdir": "not-yet"}),
        )
        .await;
    assert!(matches!(
        plugin.plugin().health_check().await,
        Health::Degraded(reason) if reason.contains("not-yet")
    ));
}

#[tokio::test]
async fn configuration_problems_are_reported_before_connecting() {
    let fx = Fixture::new();
    let plugin = factory().create();
    let config = fx.config(json!({
        "connection": {"preset": "custom"},
        "options": {"timeout_seconds": 0}
    }));
    let problems = plugin.plugin().validate_config(&config);
    let paths: Vec<&str> = problems.iter().map(|p| p.path.as_str()).collect();
    assert_eq!(paths, ["connection.command", "options.timeout_seconds"]);
    let err = plugin.plugin().connect(&config).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Configuration);

    let meta = plugin.plugin().metadata();
    assert_eq!(meta.name, "agent_cli");
    assert_eq!(meta.env_prefix, "AIDO_AGENT_CLI");
    assert!(meta.required_config.is_empty(), "works on defaults");
    // `env` values are secrets in the schema, so aido never prints them.
    let schema = meta.config_schema.to_string();
    assert!(schema.contains("x-secret"), "{schema}");
}

/// Whether process `pid` is gone (or a zombie, which runs nothing), within
/// a few seconds.
async fn gone(pid: u32) -> bool {
    for _ in 0..50 {
        match fs::read_to_string(format!("/proc/{pid}/stat")) {
            Err(_) => return true,
            Ok(stat) => {
                // The state follows the parenthesized command name.
                let state = stat.rsplit(')').next().unwrap_or("").trim_start();
                if state.starts_with('Z') || state.starts_with('X') {
                    return true;
                }
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    false
}
