//! The host against a small plugin written from the protocol alone (Python,
//! standard library), misbehaving on request.

use std::path::Path;
use std::time::Duration;

use serde_json::json;

use aido_plugin_api::{
    CallContext, ErrorKind, Forward, Health, PluginConfig, PluginInstance, PluginKind,
    PluginMetadata,
};

use super::external::{ExternalPlugin, ExternalSpec, HostLimits};
use super::process::SpawnSpec;

/// A task plugin in 60 lines of Python. `task_management.get_task` answers
/// by task id: `crash` exits, `hang` never answers, `print` writes a stray
/// line first, `secret` returns the environment it sees and its secrets.
const PLUGIN: &str = r#"
import json, os, sys
VERSION = os.environ.get("FAKE_PROTOCOL", "1.0")
secrets = {}
def send(message):
    sys.stdout.write(json.dumps(message) + "\n")
    sys.stdout.flush()
for line in sys.stdin:
    message = json.loads(line)
    method, mid, params = message.get("method"), message.get("id"), message.get("params") or {}
    if method == "initialize":
        send({"jsonrpc": "2.0", "id": mid, "result": {"protocol_version": VERSION, "plugin": {
            "name": "fake", "version": "0.1.0", "description": "A fake.", "kinds": ["task_management"],
            "methods": ["task_management.get_task"], "required_config": [], "config_schema": {"type": "object"}}}})
    elif method == "plugin.validate_config":
        send({"jsonrpc": "2.0", "id": mid, "result": {"problems": []}})
    elif method == "plugin.connect":
        secrets = params.get("secrets", {})
        send({"jsonrpc": "2.0", "id": mid, "result": None})
    elif method == "plugin.health_check":
        send({"jsonrpc": "2.0", "id": mid, "result": {"status": "healthy"}})
    elif method == "task_management.get_task":
        task = params["task_id"]
        if task == "crash":
            sys.exit(3)
        if task == "hang":
            continue
        if task == "print":
            print("a stray debug print")
        if task == "secret":
            send({"jsonrpc": "2.0", "id": mid, "error": {"code": -32000, "message": json.dumps({"env": sorted(os.environ), "secrets": secrets}),
                  "data": {"kind": "other", "retryable": False}}})
            continue
        if task == "missing":
            send({"jsonrpc": "2.0", "id": mid, "error": {"code": -32001, "message": "no task missing", "data": {"kind": "not_found", "retryable": False}}})
            continue
        send({"jsonrpc": "2.0", "id": mid, "result": {"id": task, "title": "From Python", "status": "todo",
              "created": "2026-01-01T00:00:00Z", "updated": "2026-01-01T00:00:00Z"}})
    elif method in ("plugin.disconnect", "shutdown"):
        send({"jsonrpc": "2.0", "id": mid, "result": None})
    elif method == "exit":
        sys.exit(0)
"#;

fn plugin(dir: &Path, env: Vec<(String, String)>, secrets: Vec<String>) -> PluginInstance {
    std::fs::write(dir.join("fake.py"), PLUGIN).unwrap();
    spec_instance(dir, env, secrets, |_| {})
}

/// The fake with its limits changed by `limits`.
fn plugin_with(dir: &Path, limits: impl FnOnce(&mut HostLimits)) -> PluginInstance {
    spec_instance(dir, Vec::new(), Vec::new(), limits)
}

fn spec_instance(
    dir: &Path,
    env: Vec<(String, String)>,
    secrets: Vec<String>,
    change_limits: impl FnOnce(&mut HostLimits),
) -> PluginInstance {
    let metadata = PluginMetadata {
        name: "fake".into(),
        version: "0.1.0".into(),
        description: "A fake.".into(),
        kind: PluginKind::TaskManagement,
        required_config: Vec::new(),
        config_schema: json!({"type": "object"}),
        env_prefix: "FAKE".into(),
    };
    let mut spec = ExternalSpec {
        spawn: SpawnSpec {
            name: "fake".into(),
            program: "python3".into(),
            args: vec!["fake.py".into()],
            cwd: dir.to_owned(),
            env,
        },
        metadata,
        secrets,
        limits: HostLimits {
            call_timeout: Duration::from_millis(1500),
            ..HostLimits::default()
        },
        entry: None,
    };
    change_limits(&mut spec.limits);
    Forward::new(ExternalPlugin::new(spec)).into_instance(PluginKind::TaskManagement)
}

async fn connect(plugin: &PluginInstance, dir: &Path) {
    let config = PluginConfig::new("task_management", json!({}), dir, dir.join(".aido"));
    plugin.plugin().connect(&config).await.unwrap();
}

#[tokio::test]
async fn calls_travel_and_errors_keep_their_kind() {
    let dir = tempfile::tempdir().unwrap();
    let plugin = plugin(dir.path(), Vec::new(), Vec::new());
    connect(&plugin, dir.path()).await;
    let cx = CallContext::detached();
    let task = plugin
        .call(&cx, "get_task", json!({"task_id": "T-1"}))
        .await
        .unwrap();
    assert_eq!(task["title"], "From Python");
    let err = plugin
        .call(&cx, "get_task", json!({"task_id": "missing"}))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
    assert!(
        err.to_string().contains("fake") && err.to_string().contains("no task missing"),
        "{err}"
    );
    assert_eq!(plugin.plugin().health_check().await, Health::Healthy);
    plugin.plugin().disconnect().await.unwrap();
}

#[tokio::test]
async fn a_crash_fails_the_call_and_the_next_call_restarts_the_plugin() {
    let dir = tempfile::tempdir().unwrap();
    let plugin = plugin(dir.path(), Vec::new(), Vec::new());
    connect(&plugin, dir.path()).await;
    let cx = CallContext::detached();
    let err = plugin
        .call(&cx, "get_task", json!({"task_id": "crash"}))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Connection, "{err}");
    let task = plugin
        .call(&cx, "get_task", json!({"task_id": "T-2"}))
        .await
        .unwrap();
    assert_eq!(task["id"], "T-2");
    plugin.plugin().disconnect().await.unwrap();
}

#[tokio::test]
async fn a_hanging_call_times_out_and_a_stray_print_does_not_break_the_connection() {
    let dir = tempfile::tempdir().unwrap();
    let plugin = plugin(dir.path(), Vec::new(), Vec::new());
    connect(&plugin, dir.path()).await;
    let cx = CallContext::detached();
    let err = plugin
        .call(&cx, "get_task", json!({"task_id": "hang"}))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Timeout, "{err}");
    let task = plugin
        .call(&cx, "get_task", json!({"task_id": "print"}))
        .await
        .unwrap();
    assert_eq!(task["id"], "print");
    plugin.plugin().disconnect().await.unwrap();
}

#[tokio::test]
async fn another_protocol_major_is_refused_naming_both_versions() {
    let dir = tempfile::tempdir().unwrap();
    let plugin = plugin(
        dir.path(),
        vec![("FAKE_PROTOCOL".into(), "2.0".into())],
        Vec::new(),
    );
    let config = PluginConfig::new(
        "task_management",
        json!({}),
        dir.path(),
        dir.path().join(".aido"),
    );
    let err = plugin
        .plugin()
        .connect(&config)
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("fake") && err.contains("2.0") && err.contains("1.0"),
        "{err}"
    );
}

#[tokio::test]
async fn the_plugin_sees_only_the_allowlist_and_its_declared_secrets() {
    // SAFETY: set before the plugin starts; no other test reads these.
    unsafe {
        std::env::set_var("AIDO_TEST_DECLARED_SECRET", "declared-value-123");
        std::env::set_var("AIDO_TEST_OTHER_SECRET", "other-value-456");
    }
    let dir = tempfile::tempdir().unwrap();
    let plugin = plugin(
        dir.path(),
        Vec::new(),
        vec!["AIDO_TEST_DECLARED_SECRET".into()],
    );
    connect(&plugin, dir.path()).await;
    let err = plugin
        .call(
            &CallContext::detached(),
            "get_task",
            json!({"task_id": "secret"}),
        )
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("declared-value-123"),
        "the declared secret arrives in plugin.connect: {err}"
    );
    assert!(!err.contains("other-value-456"), "{err}");
    assert!(
        !err.contains("AIDO_TEST_DECLARED_SECRET\", \"AIDO")
            && !err.contains("\"AIDO_TEST_OTHER_SECRET\""),
        "{err}"
    );
    plugin.plugin().disconnect().await.unwrap();
}

/// With one call slot, a second call waits until the first, which hangs,
/// has timed out: it is not sent to the plugin before.
#[tokio::test]
async fn calls_beyond_the_manifests_limit_wait_for_a_free_slot() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("fake.py"), PLUGIN).unwrap();
    let instance = plugin_with(dir.path(), |limits| limits.max_concurrent_calls = 1);
    connect(&instance, dir.path()).await;
    let finished = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let call = |task: &'static str| {
        let instance = instance.clone();
        let finished = finished.clone();
        async move {
            let result = instance
                .call(
                    &CallContext::detached(),
                    "get_task",
                    json!({"task_id": task}),
                )
                .await;
            finished.lock().unwrap().push(task);
            result
        }
    };
    let hanging = tokio::spawn(call("hang"));
    // The hanging call takes the slot first.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let waiting = tokio::spawn(call("after"));
    let hung = hanging.await.unwrap().unwrap_err();
    assert_eq!(hung.kind(), ErrorKind::Timeout, "{hung}");
    let task = waiting.await.unwrap().unwrap();
    assert_eq!(task["id"], "after");
    assert_eq!(*finished.lock().unwrap(), ["hang", "after"]);
    instance.plugin().disconnect().await.unwrap();
}
