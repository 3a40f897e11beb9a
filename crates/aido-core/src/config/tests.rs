//! Loading configurations end to end: files, variables, overrides, and the
//! messages for everything that can be wrong.

use std::sync::{Arc, Mutex};

use aido_plugin_api::PluginKind;

use super::*;
use crate::testing;

fn load_in(dir: &std::path::Path, vars: &[(&str, &str)]) -> Result<LoadedConfig, LoadError> {
    let registry = testing::registry(Arc::new(Mutex::new(Vec::new())));
    let options = LoadOptions {
        config_file: None,
        cwd: dir.to_owned(),
        environment: Some(Environment::from_vars(vars.iter().map(|(k, v)| (*k, *v)))),
    };
    load(&options, &registry)
}

fn write(dir: &std::path::Path, name: &str, text: &str) {
    std::fs::write(dir.join(name), text).unwrap();
}

#[test]
fn no_file_means_embedded_defaults_for_every_kind() {
    let dir = tempfile::tempdir().unwrap();
    let loaded = load_in(dir.path(), &[]).unwrap();
    assert_eq!(loaded.source, ConfigSource::Defaults);
    let providers: Vec<_> = loaded
        .plugins
        .iter()
        .map(|p| (p.kind, p.provider.as_str()))
        .collect();
    assert_eq!(providers.len(), 6);
    for kind in PluginKind::ALL {
        assert!(providers.contains(&(kind, default_provider(kind))));
    }
    assert_eq!(loaded.settings.system.max_concurrent_agents, 4);
}

#[test]
fn a_valid_file_with_variables_and_a_plugin_file_loads() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("plugins")).unwrap();
    write(
        dir.path(),
        "aido.yaml",
        "\
system:
  max_concurrent_agents: ${AGENTS:-8}
plugins:
  task_management:
    config_file: plugins/linear.config.yaml
  version_control:
    provider: github
    config:
      connection: { api_key: \"${GITHUB_TOKEN}\" }
      options: { cache_ttl: \"${TTL:-30}\" }
limits:
  monthly_budget: 100
",
    );
    write(
        dir.path(),
        "plugins/linear.config.yaml",
        "\
provider: linear
connection:
  api_key: ${LINEAR_API_KEY}
  team_id: ENG
mappings:
  statuses:
    todo: Backlog
",
    );
    let loaded = load_in(
        dir.path(),
        &[
            ("GITHUB_TOKEN", "ghp_secret_value_1"),
            ("LINEAR_API_KEY", "lin_secret_value_2"),
        ],
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(loaded.settings.system.max_concurrent_agents, 8);
    let linear = loaded.plugin(PluginKind::TaskManagement).unwrap();
    assert_eq!(linear.provider, "linear");
    assert_eq!(linear.config.value()["connection"]["team_id"], "ENG");
    let github = loaded.plugin(PluginKind::VersionControl).unwrap();
    assert_eq!(
        github.config.value()["options"]["cache_ttl"],
        30,
        "whole references take the schema's type"
    );
    assert!(loaded.secrets.contains(&"ghp_secret_value_1".to_owned()));
    assert!(loaded.secrets.contains(&"lin_secret_value_2".to_owned()));
}

#[test]
fn environment_overrides_set_connection_keys_by_prefix() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "aido.yaml",
        "plugins:\n  task_management:\n    provider: linear\n    config:\n      options: { cache_ttl: 5 }\n",
    );
    let loaded = load_in(
        dir.path(),
        &[
            ("LINEAR_API_KEY", "from-env-123"),
            ("LINEAR_CACHE_TTL", "60"),
            ("LINEAR_UNKNOWN_THING", "x"),
        ],
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let linear = loaded.plugin(PluginKind::TaskManagement).unwrap();
    assert_eq!(
        linear.config.value()["connection"]["api_key"],
        "from-env-123"
    );
    assert_eq!(linear.config.value()["options"]["cache_ttl"], 60);
    assert!(linear.config.value().pointer("/unknown_thing").is_none());
}

#[test]
fn every_problem_is_reported_at_once_with_file_line_and_path() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "aido.yaml",
        "\
system:
  max_concurent_agents: 3
  connect_timeout_seconds: soon
plugins:
  task_management:
    provider: linear
    config:
      connection:
        team_id: ENG
  version_control:
    provider: github
    config:
      connection: { api_key: \"${MISSING_TOKEN}\" }
",
    );
    let err = load_in(dir.path(), &[]).unwrap_err();
    let text = err.to_string();
    let file = dir.path().join("aido.yaml").display().to_string();
    assert!(
        text.contains(&format!(
            "{file}:2:3: `system.max_concurent_agents`: unknown key `max_concurent_agents`"
        )),
        "{text}"
    );
    assert!(
        text.contains("did you mean `max_concurrent_agents`?"),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "{file}:3:3: `system.connect_timeout_seconds`: expected an integer, found a string"
        )),
        "{text}"
    );
    assert!(text.contains(&format!("{file}:8:7: `plugins.task_management.config.connection`: missing required key `api_key`")), "{text}");
    assert!(text.contains(&format!("{file}:13:21: `plugins.version_control.config.connection.api_key`: environment variable `MISSING_TOKEN` is not set")), "{text}");
    assert_eq!(err.diagnostics.len(), 4, "{text}");
}

#[test]
fn unknown_provider_gets_a_suggestion_and_its_line() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "aido.yaml",
        "plugins:\n  task_management:\n    provider: linaer\n",
    );
    let text = load_in(dir.path(), &[]).unwrap_err().to_string();
    assert!(text.contains(":3:5: `plugins.task_management.provider`: there is no task_management plugin named `linaer`; did you mean `linear`?"), "{text}");
}

#[test]
fn plugin_checks_beyond_the_schema_are_reported_with_their_line() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "aido.yaml",
        "plugins:\n  task_management:\n    provider: linear\n    config:\n      connection: { api_key: k }\n      mappings:\n        statuses:\n          done: Shipped\n",
    );
    let text = load_in(dir.path(), &[]).unwrap_err().to_string();
    assert!(text.contains(":8:11: `plugins.task_management.config.mappings.statuses.done`: no such state in the service"), "{text}");
}

#[test]
fn secrets_never_appear_in_diagnostics() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "aido.yaml",
        "plugins:\n  task_management:\n    provider: linear\n    config:\n      connection: { api_key: 1234567890123, api_kye: \"sk-literal-secret\" }\n      options: { cache_ttl: \"${TOKENISH}\" }\n",
    );
    let err = load_in(dir.path(), &[("TOKENISH", "env-secret-value-9")]).unwrap_err();
    let text = err.to_string();
    assert!(!text.contains("1234567890123"), "{text}");
    assert!(!text.contains("sk-literal-secret"), "{text}");
    assert!(!text.contains("env-secret-value-9"), "{text}");
    assert!(err.secrets.contains(&"env-secret-value-9".to_owned()));
}

#[test]
fn syntax_errors_and_missing_files_are_diagnostics() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "aido.yaml", "system: [unclosed\n");
    let text = load_in(dir.path(), &[]).unwrap_err().to_string();
    assert!(
        text.contains("aido.yaml:") && text.contains("invalid YAML"),
        "{text}"
    );

    let registry = testing::registry(Arc::new(Mutex::new(Vec::new())));
    let options = LoadOptions {
        config_file: Some("nope.yaml".into()),
        cwd: dir.path().to_owned(),
        environment: Some(Environment::default()),
    };
    let text = load(&options, &registry).unwrap_err().to_string();
    assert!(
        text.contains("nope.yaml: the configuration file does not exist"),
        "{text}"
    );
}

#[test]
fn a_plugin_file_for_another_provider_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "aido.yaml",
        "plugins:\n  task_management:\n    provider: local\n    config_file: linear.yaml\n",
    );
    write(dir.path(), "linear.yaml", "provider: linear\n");
    let text = load_in(dir.path(), &[]).unwrap_err().to_string();
    assert!(
        text.contains("linear.yaml:1:1: `provider`: this file is for provider `linear`"),
        "{text}"
    );
}
