//! `aido plugin new` through the binary: a scaffold passes its own tests
//! and `aido plugin check` as generated, in Python for every kind and in
//! Rust for one (a Rust scaffold compiles its dependencies once, into a
//! shared folder of the workspace's target directory).

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{aido, aido_with_env, ok, text};

const KINDS: [&str; 6] = [
    "task_management",
    "version_control",
    "documentation",
    "communication",
    "ai_provider",
    "monitoring",
];

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Whether `program args` runs and succeeds.
fn works(program: &str, args: &[&str]) -> bool {
    Command::new(program)
        .args(args)
        .output()
        .is_ok_and(|output| output.status.success())
}

fn assert_checked(output: &std::process::Output, kind: &str) {
    let report = text(output);
    assert!(output.status.success(), "{kind}: {report}");
    assert!(
        report.contains(", 0 failed") || report.contains("no conformance suite"),
        "{kind}: {report}"
    );
    assert!(!report.contains("FAIL"), "{kind}: {report}");
}

#[test]
fn python_scaffolds_of_every_kind_pass_their_tests_and_the_check() {
    if !works("python3", &["-c", "import pytest"]) {
        eprintln!("skipped: python3 cannot import pytest (pip install pytest)");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let sdk = workspace_root().join("sdk/python/src");
    let sdk = sdk.to_str().unwrap();
    for kind in KINDS {
        let name = format!("py-{}", kind.replace('_', "-"));
        ok(aido(dir.path(), &["plugin", "new", &name, "--kind", kind]));
        let tests = Command::new("python3")
            .args(["-m", "pytest", "tests", "-q", "-p", "no:cacheprovider"])
            .current_dir(dir.path().join(&name))
            .env("PYTHONPATH", sdk)
            .output()
            .unwrap();
        assert!(tests.status.success(), "{kind}: {}", text(&tests));
        let check = aido_with_env(
            dir.path(),
            &["plugin", "check", &name],
            &[("PYTHONPATH", sdk)],
        );
        assert_checked(&check, kind);
    }
}

#[test]
fn a_rust_scaffold_builds_passes_its_tests_and_the_check() {
    if !works("cargo", &["--version"]) {
        eprintln!("skipped: cargo is not on PATH");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    ok(aido(
        dir.path(),
        &[
            "plugin",
            "new",
            "rs-tasks",
            "--kind",
            "task_management",
            "--lang",
            "rust",
        ],
    ));
    let plugin = dir.path().join("rs-tasks");
    // Shared between runs, so dependencies are compiled once.
    let target = workspace_root().join("target/plugin-new");
    let cargo = |args: &[&str]| {
        let output = Command::new("cargo")
            .args(args)
            .args(["--offline", "--quiet"])
            .current_dir(&plugin)
            .env("CARGO_TARGET_DIR", &target)
            .output()
            .unwrap();
        assert!(output.status.success(), "cargo {args:?}: {}", text(&output));
    };
    cargo(&["test"]);
    cargo(&["build"]);
    // Where `cargo build --release` (the README's step) would put it; a
    // release build would compile every dependency again.
    let release = plugin.join("target/release");
    std::fs::create_dir_all(&release).unwrap();
    std::fs::copy(target.join("debug/rs-tasks"), release.join("rs-tasks")).unwrap();
    let check = aido(dir.path(), &["plugin", "check", "rs-tasks"]);
    assert_checked(&check, "task_management");
}

#[test]
fn bad_names_kinds_and_folders_are_refused_and_write_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let output = aido(
        dir.path(),
        &["plugin", "new", "Bad Name", "--kind", "task_management"],
    );
    assert_eq!(output.status.code(), Some(2));
    assert!(
        text(&output).contains("`Bad Name` is not a plugin name"),
        "{}",
        text(&output)
    );
    let output = aido(dir.path(), &["plugin", "new", "ok", "--kind", "tasks"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(text(&output).contains("`tasks` is not a plugin kind"));
    std::fs::create_dir(dir.path().join("taken")).unwrap();
    std::fs::write(dir.path().join("taken/keep.txt"), "mine").unwrap();
    let output = aido(
        dir.path(),
        &["plugin", "new", "taken", "--kind", "monitoring"],
    );
    assert_eq!(output.status.code(), Some(2));
    assert!(text(&output).contains("not empty"), "{}", text(&output));
    let output = aido(
        dir.path(),
        &[
            "plugin",
            "new",
            "rs",
            "--kind",
            "monitoring",
            "--lang",
            "rust",
            "--sdk-path",
            "/nonexistent/aido",
        ],
    );
    assert_eq!(output.status.code(), Some(2));
    assert!(
        text(&output).contains("/nonexistent/aido/crates/aido-plugin-sdk"),
        "{}",
        text(&output)
    );
    let mut left: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    left.sort();
    assert_eq!(left, ["taken"]);
}
