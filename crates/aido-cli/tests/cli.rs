//! The `aido` binary, run as a user runs it, in temporary project folders.

mod common;

use common::{json, text};

use std::path::Path;
use std::process::Output;

fn aido(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    common::aido_with_env(dir, args, env)
}

const KINDS: [&str; 6] = [
    "task_management",
    "version_control",
    "documentation",
    "communication",
    "ai_provider",
    "monitoring",
];

#[test]
fn plugin_list_json_covers_every_kind() {
    let dir = tempfile::tempdir().unwrap();
    let output = aido(dir.path(), &["plugin", "list", "--json"], &[]);
    assert!(output.status.success(), "{}", text(&output));
    let plugins = json(&output);
    for kind in KINDS {
        assert!(
            plugins
                .as_array()
                .unwrap()
                .iter()
                .any(|p| p["kind"] == kind),
            "no {kind} plugin in {plugins:#}"
        );
    }
    for plugin in plugins.as_array().unwrap() {
        assert!(
            plugin["version"].as_str().is_some_and(|v| !v.is_empty()),
            "{plugin}"
        );
        assert!(
            plugin["description"]
                .as_str()
                .is_some_and(|v| !v.is_empty()),
            "{plugin}"
        );
    }
}

#[test]
fn plugin_actions_json_covers_every_kind_with_schemas() {
    let dir = tempfile::tempdir().unwrap();
    let output = aido(dir.path(), &["plugin", "actions", "--json"], &[]);
    assert!(output.status.success(), "{}", text(&output));
    let actions = json(&output);
    let actions = actions.as_array().unwrap();
    for kind in KINDS {
        assert!(
            actions.iter().any(|a| a["kind"] == kind),
            "no {kind} action"
        );
    }
    let get_task = actions
        .iter()
        .find(|a| a["kind"] == "task_management" && a["name"] == "get_task")
        .unwrap();
    assert_eq!(
        get_task["input_schema"]["required"],
        serde_json::json!(["task_id"])
    );
    assert_eq!(get_task["effect"], "read");
}

#[test]
fn plugin_schema_and_info_describe_a_plugin() {
    let dir = tempfile::tempdir().unwrap();
    let list = json(&aido(dir.path(), &["plugin", "list", "--json"], &[]));
    for plugin in list.as_array().unwrap() {
        let name = plugin["name"].as_str().unwrap();
        let kind = plugin["kind"].as_str().unwrap();
        let schema = aido(dir.path(), &["plugin", "schema", name, "--kind", kind], &[]);
        assert!(schema.status.success(), "{}", text(&schema));
        assert_eq!(json(&schema)["type"], "object", "{name}");
        let info = aido(dir.path(), &["plugin", "info", name, "--kind", kind], &[]);
        assert!(
            info.status.success() && text(&info).contains(name),
            "{}",
            text(&info)
        );
    }
    let unknown = aido(dir.path(), &["plugin", "info", "gti"], &[]);
    assert_eq!(unknown.status.code(), Some(2));
    assert!(
        text(&unknown).contains("did you mean `git`?"),
        "{}",
        text(&unknown)
    );
}

#[test]
fn config_check_names_every_problem_with_its_line_and_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("aido.yaml"),
        "\
system:
  max_concurent_agents: 2
plugins:
  task_management:
    config: {}
limits:
  monthly_budget: lots
workflows:
  dir: ${AIDO_TEST_SURELY_UNSET}
",
    )
    .unwrap();
    let output = aido(dir.path(), &["config", "check"], &[]);
    assert_eq!(output.status.code(), Some(2), "{}", text(&output));
    let all = text(&output);
    assert!(
        all.contains("aido.yaml:2:3: `system.max_concurent_agents`: unknown key"),
        "{all}"
    );
    assert!(
        all.contains("did you mean `max_concurrent_agents`?"),
        "{all}"
    );
    assert!(
        all.contains("aido.yaml:4:3: `plugins.task_management`: missing required key `provider`"),
        "{all}"
    );
    assert!(
        all.contains("aido.yaml:7:3: `limits.monthly_budget`: expected a number, found a string"),
        "{all}"
    );
    assert!(all.contains("aido.yaml:9:3: `workflows.dir`: environment variable `AIDO_TEST_SURELY_UNSET` is not set"), "{all}");
    assert!(all.contains("4 problems"), "{all}");

    let output = aido(dir.path(), &["config", "check", "--json"], &[]);
    assert_eq!(output.status.code(), Some(2));
    let report = json(&output);
    assert_eq!(report["valid"], false);
    assert_eq!(report["problems"].as_array().unwrap().len(), 4);
    assert_eq!(report["problems"][0]["origin"]["line"], 2);
}

#[test]
fn config_check_accepts_a_valid_file_and_the_defaults() {
    let dir = tempfile::tempdir().unwrap();
    let output = aido(dir.path(), &["config", "check"], &[]);
    assert!(output.status.success(), "{}", text(&output));
    assert!(text(&output).contains("embedded defaults is valid"));

    std::fs::write(
        dir.path().join("aido.yaml"),
        "system: { max_concurrent_agents: \"${AGENTS:-2}\" }\nplugins:\n  version_control: { provider: git }\nlimits: { monthly_budget: 20 }\n",
    )
    .unwrap();
    let output = aido(dir.path(), &["config", "check", "--json"], &[]);
    assert!(output.status.success(), "{}", text(&output));
    assert_eq!(json(&output)["valid"], true);
}

#[test]
fn a_missing_config_file_is_a_usage_error() {
    let dir = tempfile::tempdir().unwrap();
    let output = aido(
        dir.path(),
        &["--config", "nope.yaml", "config", "check"],
        &[],
    );
    assert_eq!(output.status.code(), Some(2));
    assert!(text(&output).contains("nope.yaml: the configuration file does not exist"));
}

#[test]
fn doctor_reports_every_default_plugin_healthy() {
    let dir = tempfile::tempdir().unwrap();
    let output = aido(dir.path(), &["doctor", "--json"], &[]);
    let report = json(&output);
    assert!(output.status.success(), "{report:#}\n{}", text(&output));
    assert_eq!(report["healthy"], true);
    let plugins = report["plugins"].as_array().unwrap();
    assert_eq!(plugins.len(), 6);
    for plugin in plugins {
        assert_eq!(plugin["health"]["status"], "healthy", "{plugin}");
    }
}

#[test]
fn doctor_exits_1_when_a_plugin_is_unhealthy() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("aido.yaml"),
        "plugins:\n  version_control: { provider: git, config: { connection: { git_binary: /nonexistent/git } } }\n",
    )
    .unwrap();
    let output = aido(dir.path(), &["doctor"], &[]);
    assert_eq!(output.status.code(), Some(1), "{}", text(&output));
    assert!(text(&output).contains("unhealthy"), "{}", text(&output));
}

#[test]
fn completions_are_generated() {
    let dir = tempfile::tempdir().unwrap();
    let output = aido(dir.path(), &["completions", "bash"], &[]);
    assert!(output.status.success());
    assert!(String::from_utf8_lossy(&output.stdout).contains("aido"));
}

/// A secret written in a config file, substituted from the environment, or
/// only present in the environment never shows in any output of any
/// command, at any verbosity, in either log format, valid config or not.
#[test]
fn secrets_never_appear_in_any_output() {
    let literal = "sk-literal-secret-4411";
    let from_env = "env-secret-value-7733";
    let only_env = "ghp_only_in_env_9922";
    let dir = tempfile::tempdir().unwrap();
    let valid = "plugins:\n  communication:\n    provider: console\n    config:\n      connection: { output: file, path: \"out-${HOOK_TOKEN}.log\" }\n";
    let invalid = format!(
        "plugins:\n  communication:\n    provider: console\n    config:\n      connection: {{ output: 42, pathh: \"{literal}\", token: \"${{HOOK_TOKEN}}\" }}\n  ai_provider:\n    provider: scripted\n    config: {{ connection: {{ answers: \"{literal}\" }}, options: {{ max_tokens: \"{literal}\" }} }}\n"
    );
    let env = [
        ("HOOK_TOKEN", from_env),
        ("GITHUB_TOKEN", only_env),
        ("LINEAR_API_KEY", only_env),
    ];
    let commands: [&[&str]; 6] = [
        &["config", "check"],
        &["doctor"],
        &["plugin", "list"],
        &["plugin", "info", "console"],
        &["config", "check", "--json"],
        &["doctor", "--json"],
    ];
    std::fs::write(dir.path().join("aido.yaml"), valid).unwrap();
    let check = aido(dir.path(), &["config", "check"], &env);
    assert!(
        check.status.success(),
        "the valid configuration must load: {}",
        text(&check)
    );
    for config in [valid.to_owned(), invalid] {
        std::fs::write(dir.path().join("aido.yaml"), &config).unwrap();
        for command in commands {
            for flags in [
                &["-vvv"][..],
                &["-vvv", "--log-format", "json"][..],
                &[][..],
            ] {
                let args: Vec<&str> = flags.iter().chain(command.iter()).copied().collect();
                let all = text(&aido(dir.path(), &args, &env));
                for secret in [literal, from_env, only_env] {
                    assert!(
                        !all.contains(secret),
                        "`aido {}` printed a secret:\n{all}",
                        args.join(" ")
                    );
                }
            }
        }
    }
}
