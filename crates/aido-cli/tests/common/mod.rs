//! What every CLI test needs: the `aido` binary run in a folder, as a user
//! runs it (no colours, no inherited configuration), and its output read.

#![allow(dead_code)] // Each test file uses a different part.

use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;

/// `aido ARGS` in `dir`, ready to run or spawn.
pub fn aido_command(dir: &Path, args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_aido"));
    command
        .current_dir(dir)
        .args(args)
        .env("NO_COLOR", "1")
        .env_remove("AIDO_CONFIG")
        .env_remove("AIDO_LOG");
    command
}

/// Runs `aido ARGS` in `dir`.
pub fn aido(dir: &Path, args: &[&str]) -> Output {
    aido_command(dir, args)
        .output()
        .expect("the aido binary runs")
}

/// Runs `aido ARGS` in `dir` with extra environment variables.
pub fn aido_with_env(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = aido_command(dir, args);
    for (key, value) in env {
        command.env(key, value);
    }
    command.output().expect("the aido binary runs")
}

/// Everything a run printed, stdout then stderr.
pub fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// Its stdout as one JSON document.
pub fn json(output: &Output) -> Value {
    serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|err| panic!("stdout is not JSON ({err}):\n{}", text(output)))
}

/// The output, after asserting that the command succeeded.
pub fn ok(output: Output) -> Output {
    assert!(output.status.success(), "{}", text(&output));
    output
}
