//! `detect_test_command`: the repository's own test command, so the agent
//! verifies its change the way the project's developers do.
//!
//! Detection, first match wins:
//! 1. `Cargo.toml` → `cargo test`;
//! 2. `package.json` whose `scripts.test` is not npm's placeholder
//!    (`echo "Error: no test specified" && exit 1`) → `npm test`, or
//!    `pnpm test` / `yarn test` when `pnpm-lock.yaml` / `yarn.lock` is
//!    present;
//! 3. pytest configured in `pyproject.toml`, `pytest.ini` or `setup.cfg`, or
//!    a `tests/` folder holding `test_*.py` → `python3 -m pytest -q`;
//! 4. `go.mod` → `go test ./...`;
//! 5. a `Makefile` (`makefile`, `GNUmakefile`) with a `test` target →
//!    `make test`.
//!
//! An `override` input wins over all of them; without one and without a
//! match, the error says how to give one.

use std::fs;
use std::path::Path;

use aido_plugin_api::{Effect, Error, Result};
use async_trait::async_trait;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::workdir::resolve_workdir;
use crate::workflow::builtins::{BuiltinAction, BuiltinContext, BuiltinSpec};

const NAME: &str = "detect_test_command";

/// Input of `detect_test_command`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DetectTestCommandInput {
    /// A folder inside the workspace to look in; the workspace when absent.
    #[serde(default)]
    pub workdir: Option<String>,
    /// The test command to use instead of detecting one (program and
    /// arguments).
    #[serde(default)]
    pub r#override: Option<Vec<String>>,
}

/// Output of `detect_test_command`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct DetectedTestCommand {
    /// The program and its arguments, for `run_command`.
    pub command: Vec<String>,
    /// What it was detected from: a file name, `tests/`, or `override`.
    pub detected_from: String,
}

fn found(command: &[&str], from: &str) -> DetectedTestCommand {
    DetectedTestCommand {
        command: command.iter().map(|s| (*s).to_owned()).collect(),
        detected_from: from.to_owned(),
    }
}

/// Detects the test command of the project in `dir`. Blocking.
pub fn detect_test_command(dir: &Path) -> Result<DetectedTestCommand> {
    let mut notes = Vec::new();
    if dir.join("Cargo.toml").is_file() {
        return Ok(found(&["cargo", "test"], "Cargo.toml"));
    }
    if let Some(text) = read(dir, "package.json") {
        match serde_json::from_str::<Value>(&text) {
            Ok(package) => {
                let script = package
                    .pointer("/scripts/test")
                    .and_then(Value::as_str)
                    .map(str::trim)
                    .unwrap_or("");
                if !script.is_empty() && !script.contains("no test specified") {
                    let runner = if dir.join("pnpm-lock.yaml").is_file() {
                        "pnpm"
                    } else if dir.join("yarn.lock").is_file() {
                        "yarn"
                    } else {
                        "npm"
                    };
                    return Ok(found(&[runner, "test"], "package.json"));
                }
                notes.push("package.json has no `test` script".to_owned());
            }
            Err(err) => notes.push(format!("package.json cannot be parsed ({err})")),
        }
    }
    let pytest = ["python3", "-m", "pytest", "-q"];
    if read(dir, "pyproject.toml").is_some_and(|t| t.contains("pytest")) {
        return Ok(found(&pytest, "pyproject.toml"));
    }
    if dir.join("pytest.ini").is_file() {
        return Ok(found(&pytest, "pytest.ini"));
    }
    if read(dir, "setup.cfg").is_some_and(|t| t.contains("pytest")) {
        return Ok(found(&pytest, "setup.cfg"));
    }
    if has_python_tests(&dir.join("tests")) {
        return Ok(found(&pytest, "tests/"));
    }
    if dir.join("go.mod").is_file() {
        return Ok(found(&["go", "test", "./..."], "go.mod"));
    }
    for name in ["GNUmakefile", "makefile", "Makefile"] {
        if let Some(text) = read(dir, name) {
            if has_test_target(&text) {
                return Ok(found(&["make", "test"], name));
            }
            notes.push(format!("{name} has no `test` target"));
        }
    }
    let mut message = format!(
        "no test command found in {}: looked for Cargo.toml, package.json with a `test` script, pytest (pyproject.toml, pytest.ini, setup.cfg or tests/test_*.py), go.mod and a Makefile with a `test` target",
        dir.display()
    );
    if !notes.is_empty() {
        message.push_str(&format!(" ({})", notes.join("; ")));
    }
    message.push_str(
        ". Give the command in the step's `override` input, e.g. `override: [\"make\", \"check\"]`",
    );
    Err(Error::not_found(message))
}

fn read(dir: &Path, name: &str) -> Option<String> {
    let path = dir.join(name);
    if !path.is_file() {
        return None;
    }
    fs::read(&path)
        .ok()
        .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
}

fn has_python_tests(tests: &Path) -> bool {
    let Ok(entries) = fs::read_dir(tests) else {
        return false;
    };
    entries.filter_map(|e| e.ok()).any(|entry| {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        name.starts_with("test_") && name.ends_with(".py")
    })
}

/// Whether a Makefile has a rule whose targets include `test`.
fn has_test_target(makefile: &str) -> bool {
    makefile.lines().any(|line| {
        if line.starts_with(char::is_whitespace) || line.starts_with('#') {
            return false;
        }
        let Some(colon) = line.find(':') else {
            return false;
        };
        // `test := ...` and `test ::= ...` are variable assignments.
        let rest = &line[colon..];
        if rest.starts_with(":=") || rest.starts_with("::=") {
            return false;
        }
        line[..colon]
            .split_whitespace()
            .any(|target| target == "test")
    })
}

/// The `detect_test_command` built-in action.
pub struct DetectTestCommand {
    spec: BuiltinSpec,
}

impl DetectTestCommand {
    /// The action.
    pub fn new() -> Self {
        DetectTestCommand {
            spec: BuiltinSpec::new::<DetectTestCommandInput, DetectedTestCommand>(
                NAME,
                "The repository's own test command (cargo, npm/yarn/pnpm, pytest, go, make), detected from its files unless `override` gives one.",
                Effect::Read,
            ),
        }
    }
}

impl Default for DetectTestCommand {
    fn default() -> Self {
        DetectTestCommand::new()
    }
}

#[async_trait]
impl BuiltinAction for DetectTestCommand {
    fn spec(&self) -> &BuiltinSpec {
        &self.spec
    }

    async fn run(&self, cx: &BuiltinContext, input: Value) -> Result<Value> {
        let input: DetectTestCommandInput = super::decode(NAME, input)?;
        let workspace = cx.workspace.clone();
        let detected = super::blocking(move || {
            let workdir = resolve_workdir(&workspace, input.workdir.as_deref())?;
            match input.r#override {
                Some(command) if command.is_empty() => Err(Error::invalid_input(
                    "`override` is empty; give the program and its arguments, e.g. [\"make\", \"check\"]",
                )),
                Some(command) => Ok(DetectedTestCommand {
                    command,
                    detected_from: "override".to_owned(),
                }),
                None => detect_test_command(&workdir),
            }
        })
        .await?;
        super::encode(&detected)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn project(files: &[(&str, &str)]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        for (path, content) in files {
            let path = dir.path().join(path);
            fs::create_dir_all(path.parent().unwrap()).unwrap();
            fs::write(path, content).unwrap();
        }
        dir
    }

    fn detect(files: &[(&str, &str)]) -> Result<DetectedTestCommand> {
        detect_test_command(project(files).path())
    }

    fn ok(files: &[(&str, &str)]) -> (String, String) {
        let d = detect(files).unwrap();
        (d.command.join(" "), d.detected_from)
    }

    const NPM_PLACEHOLDER: &str =
        r#"{"scripts": {"test": "echo \"Error: no test specified\" && exit 1"}}"#;

    #[test]
    fn detects_each_ecosystem() {
        let pair = |c: &str, f: &str| (c.to_owned(), f.to_owned());
        assert_eq!(
            ok(&[("Cargo.toml", "[workspace]"), ("package.json", "{}")]),
            pair("cargo test", "Cargo.toml")
        );
        let jest = r#"{"scripts": {"test": "jest"}}"#;
        assert_eq!(
            ok(&[("package.json", jest)]),
            pair("npm test", "package.json")
        );
        assert_eq!(
            ok(&[("package.json", jest), ("yarn.lock", "")]),
            pair("yarn test", "package.json")
        );
        assert_eq!(
            ok(&[("package.json", jest), ("pnpm-lock.yaml", "")]),
            pair("pnpm test", "package.json")
        );
        let pytest = "python3 -m pytest -q";
        assert_eq!(
            ok(&[("pyproject.toml", "[tool.pytest.ini_options]\n")]),
            pair(pytest, "pyproject.toml")
        );
        assert_eq!(
            ok(&[("pytest.ini", "[pytest]\n")]),
            pair(pytest, "pytest.ini")
        );
        assert_eq!(
            ok(&[("setup.cfg", "[tool:pytest]\n")]),
            pair(pytest, "setup.cfg")
        );
        assert_eq!(
            ok(&[("pyproject.toml", "[project]\n"), ("tests/test_app.py", "")]),
            pair(pytest, "tests/")
        );
        assert_eq!(
            ok(&[("go.mod", "module x\n")]),
            pair("go test ./...", "go.mod")
        );
        assert_eq!(
            ok(&[(
                "Makefile",
                "CC := cc\n.PHONY: all test\nall: build\ntest: build\n\t./run-tests\n"
            )]),
            pair("make test", "Makefile")
        );
        // npm's placeholder does not count; the Makefile behind it does.
        assert_eq!(
            ok(&[
                ("package.json", NPM_PLACEHOLDER),
                ("Makefile", "test:\n\ttrue\n")
            ]),
            pair("make test", "Makefile")
        );
    }

    #[test]
    fn says_how_to_configure_one_when_nothing_is_found() {
        let err = detect(&[
            ("package.json", NPM_PLACEHOLDER),
            ("Makefile", "test := 1\nbuild:\n\tcc\n\ttest: x\n"),
            ("tests/helper.py", ""),
        ])
        .unwrap_err();
        assert_eq!(err.kind(), aido_plugin_api::ErrorKind::NotFound);
        let message = err.message();
        assert!(
            message.starts_with("no test command found in "),
            "{message}"
        );
        assert!(
            message.contains("package.json has no `test` script"),
            "{message}"
        );
        assert!(
            message.contains("Makefile has no `test` target"),
            "{message}"
        );
        assert!(message.contains("`override`"), "{message}");
    }

    #[tokio::test]
    async fn the_action_prefers_the_override() {
        let dir = project(&[("sub/go.mod", "module x\n")]);
        let cx = BuiltinContext {
            run_id: "r".into(),
            step: "s".into(),
            workspace: dir.path().to_owned(),
            idempotency_key: "k".into(),
        };
        let action = DetectTestCommand::new();
        assert_eq!(
            action.run(&cx, json!({"workdir": "sub"})).await.unwrap(),
            json!({"command": ["go", "test", "./..."], "detected_from": "go.mod"})
        );
        assert_eq!(
            action
                .run(&cx, json!({"override": ["make", "check"]}))
                .await
                .unwrap(),
            json!({"command": ["make", "check"], "detected_from": "override"})
        );
        let err = action.run(&cx, json!({"override": []})).await.unwrap_err();
        assert_eq!(err.kind(), aido_plugin_api::ErrorKind::InvalidInput);
        let err = action.run(&cx, json!({})).await.unwrap_err();
        assert_eq!(err.kind(), aido_plugin_api::ErrorKind::NotFound);
    }
}
