//! External plugins through the binary: added, used by `aido doctor`, and
//! gone when aido is killed with SIGKILL.

mod common;

use std::process::Stdio;
use std::time::{Duration, Instant};

use common::{aido, aido_command, aido_with_env, ok, text};

/// A task plugin written from the protocol alone: every call waits on
/// `hang`, so aido is busy in a call when it is killed. It writes its pid
/// to `plugin.pid` so the test can look for it afterwards.
const PLUGIN: &str = r#"
import json, os, sys
open("plugin.pid", "w").write(str(os.getpid()))
def send(m):
    sys.stdout.write(json.dumps(m) + "\n"); sys.stdout.flush()
for line in sys.stdin:
    m = json.loads(line); mid = m.get("id"); method = m.get("method")
    if method == "initialize":
        send({"jsonrpc": "2.0", "id": mid, "result": {"protocol_version": "1.0", "plugin": {
            "name": "sleepy", "version": "0.1.0", "description": "Slow.", "kinds": ["task_management"],
            "methods": ["task_management.get_task"], "required_config": [], "config_schema": {"type": "object"}}}})
    elif method == "plugin.validate_config":
        send({"jsonrpc": "2.0", "id": mid, "result": {"problems": []}})
    elif method in ("plugin.connect", "plugin.disconnect", "shutdown"):
        send({"jsonrpc": "2.0", "id": mid, "result": None})
    elif method == "plugin.health_check":
        send({"jsonrpc": "2.0", "id": mid, "result": {"status": "healthy"}})
    elif method == "exit":
        sys.exit(0)
"#;

const MANIFEST: &str = "name = \"sleepy\"\nversion = \"0.1.0\"\ndescription = \"A slow task plugin.\"\nprotocol = \"1.0\"\nkinds = [\"task_management\"]\n\n[run]\ncommand = \"python3\"\nargs = [\"sleepy.py\"]\n";

fn project() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let plugin = dir.path().join("sleepy");
    std::fs::create_dir_all(&plugin).unwrap();
    std::fs::write(plugin.join("sleepy.py"), PLUGIN).unwrap();
    std::fs::write(plugin.join("plugin.toml"), MANIFEST).unwrap();
    std::fs::write(
        dir.path().join("aido.yaml"),
        "plugins:\n  task_management: { provider: sleepy }\n",
    )
    .unwrap();
    dir
}

fn alive(pid: u32) -> bool {
    // A zombie is dead too: it holds no resources but its exit status.
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => stat
            .split_whitespace()
            .nth(2)
            .is_none_or(|state| state != "Z"),
        Err(_) => false,
    }
}

#[test]
fn an_added_plugin_is_listed_and_healthy_in_doctor() {
    let dir = project();
    ok(aido(dir.path(), &["plugin", "add", "sleepy"]));
    let listed = ok(aido(
        dir.path(),
        &["plugin", "list", "--kind", "task_management"],
    ));
    assert!(text(&listed).contains("sleepy"), "{}", text(&listed));
    let doctor = aido(dir.path(), &["doctor"]);
    assert!(doctor.status.success(), "{}", text(&doctor));
    assert!(text(&doctor).contains("sleepy"));
    // Changing the entry file after adding it is refused at start.
    std::fs::write(
        dir.path().join("sleepy/sleepy.py"),
        format!("{PLUGIN}\n# changed\n"),
    )
    .unwrap();
    let doctor = aido(dir.path(), &["doctor"]);
    assert_eq!(doctor.status.code(), Some(1), "{}", text(&doctor));
    assert!(
        text(&doctor).contains("changed since it was added"),
        "{}",
        text(&doctor)
    );
}

#[test]
fn no_plugin_process_outlives_a_killed_aido() {
    let dir = project();
    ok(aido(dir.path(), &["plugin", "add", "sleepy"]));
    // `task show` waits for an answer the plugin never gives.
    let mut child = aido_command(dir.path(), &["task", "show", "T-1"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let pid_file = dir.path().join("sleepy/plugin.pid");
    let started = Instant::now();
    // `plugin add` wrote a pid too; wait for the new one.
    let first = std::fs::read_to_string(&pid_file).ok();
    let pid = loop {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "the plugin never started"
        );
        std::thread::sleep(Duration::from_millis(50));
        if let Ok(pid) = std::fs::read_to_string(&pid_file)
            && Some(&pid) != first.as_ref()
            && let Ok(pid) = pid.trim().parse::<u32>()
        {
            break pid;
        }
    };
    assert!(alive(pid));
    child.kill().unwrap();
    child.wait().unwrap();
    let started = Instant::now();
    while alive(pid) {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "plugin process {pid} outlived aido"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// `aido plugin check` gives the plugin the configuration every other
/// command would: `${VAR}` substituted from the environment.
#[test]
fn check_uses_the_projects_configuration_with_variables_substituted() {
    let sdk_importable = std::process::Command::new("python3")
        .args(["-c", "import aido_plugin"])
        .status()
        .is_ok_and(|status| status.success());
    if !sdk_importable {
        eprintln!("skipped: the Python SDK is not installed (pip install -e sdk/python)");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let example = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../sdk/python/examples/memory_tasks")
        .canonicalize()
        .unwrap();
    std::fs::write(
        dir.path().join("aido.yaml"),
        "plugins:\n  task_management:\n    provider: memory-tasks\n    config: { project: \"${CHECK_PROJECT}\" }\n",
    )
    .unwrap();
    ok(aido(
        dir.path(),
        &["plugin", "add", example.to_str().unwrap()],
    ));
    let check = aido_with_env(
        dir.path(),
        &["-v", "plugin", "check", "memory-tasks"],
        &[("CHECK_PROJECT", "XYZ")],
    );
    assert!(check.status.success(), "{}", text(&check));
    assert!(
        text(&check).contains("connected to project XYZ"),
        "{}",
        text(&check)
    );
}
