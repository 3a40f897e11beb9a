//! `aido init`: a commented `aido.yaml` for the embedded defaults and example
//! configuration files for real services. Never overwrites a file.

use std::path::{Path, PathBuf};

use crate::exit::{CliError, CliResult};
use crate::output::{Output, Tone};

/// The files `aido init` writes, relative to the project.
const FILES: &[(&str, &str)] = &[
    ("aido.yaml", include_str!("../templates/aido.yaml")),
    (
        "plugins/anthropic.config.yaml",
        include_str!("../templates/anthropic.config.yaml"),
    ),
    (
        "plugins/openai.config.yaml",
        include_str!("../templates/openai.config.yaml"),
    ),
    (
        "plugins/webhook.config.yaml",
        include_str!("../templates/webhook.config.yaml"),
    ),
];

/// Writes the files into `dir`, or nothing if any of them exists.
pub fn run(dir: &Path, out: &Output) -> CliResult {
    let targets: Vec<(PathBuf, &str)> = FILES
        .iter()
        .map(|(name, text)| (dir.join(name), *text))
        .collect();
    let existing: Vec<String> = targets
        .iter()
        .filter(|(path, _)| path.exists())
        .map(|(path, _)| path.display().to_string())
        .collect();
    if !existing.is_empty() {
        return Err(CliError::usage(format!(
            "not overwriting {}; move {} away or edit {} by hand",
            existing.join(", "),
            if existing.len() == 1 { "it" } else { "them" },
            if existing.len() == 1 { "it" } else { "them" }
        )));
    }
    for (path, text) in &targets {
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|err| {
                CliError::runtime(format!("cannot create {}: {err}", parent.display()))
            })?;
        }
        // `create_new` so that a file appearing meanwhile is not clobbered.
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(path)
            .map_err(|err| CliError::runtime(format!("cannot write {}: {err}", path.display())))?;
        std::io::Write::write_all(&mut file, text.as_bytes())
            .map_err(|err| CliError::runtime(format!("cannot write {}: {err}", path.display())))?;
    }
    if out.json {
        let written: Vec<String> = targets
            .iter()
            .map(|(p, _)| p.display().to_string())
            .collect();
        out.json(&serde_json::json!({ "written": written }));
    } else {
        for (path, _) in &targets {
            out.line(&format!(
                "{} {}",
                out.paint("wrote", Tone::Good),
                path.display()
            ));
        }
        out.line("next: `aido config check`, then `aido doctor`");
    }
    Ok(())
}
