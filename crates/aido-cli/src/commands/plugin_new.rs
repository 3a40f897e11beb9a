//! `aido plugin new NAME --kind KIND [--lang python|rust] [--dir DIR]`:
//! scaffolds an external plugin that works at once.
//!
//! The folder holds the plugin's source (every method of the kind
//! implemented in memory), `plugin.toml`, `config.yaml.example`, tests and a
//! README. The templates live in `src/templates/plugin_new/` and are built
//! into the binary; `{{placeholders}}` are filled in here. Everything is
//! written into a temporary folder beside the target first and renamed into
//! place at the end, so a failure leaves nothing behind.

use std::path::{Path, PathBuf};

use aido_plugin_api::PluginKind;

use crate::exit::{CliError, CliResult};
use crate::output::Output;

/// The language of a scaffold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Lang {
    /// A class on the `aido_plugin` Python SDK (sdk/python).
    Python,
    /// A Cargo project on the `aido-plugin-sdk` crate.
    Rust,
}

/// What `aido plugin new` was asked for.
#[derive(Debug, Clone)]
pub struct NewPlugin {
    /// The plugin's name, as in `provider:`.
    pub name: String,
    /// Its kind, as typed.
    pub kind: String,
    /// Its language.
    pub lang: Lang,
    /// The folder to create; `./NAME` when absent.
    pub dir: Option<PathBuf>,
    /// An aido checkout holding `crates/aido-plugin-sdk` (Rust only).
    pub sdk_path: Option<PathBuf>,
}

/// One template, by its path under `templates/plugin_new/`.
macro_rules! template {
    ($path:literal) => {
        include_str!(concat!("../templates/plugin_new/", $path))
    };
}

/// The Python source and tests of each kind.
fn python_sources(kind: PluginKind) -> (&'static str, &'static str) {
    match kind {
        PluginKind::TaskManagement => (
            template!("python/task_management.py"),
            template!("python/test_task_management.py"),
        ),
        PluginKind::VersionControl => (
            template!("python/version_control.py"),
            template!("python/test_version_control.py"),
        ),
        PluginKind::Documentation => (
            template!("python/documentation.py"),
            template!("python/test_documentation.py"),
        ),
        PluginKind::Communication => (
            template!("python/communication.py"),
            template!("python/test_communication.py"),
        ),
        PluginKind::AiProvider => (
            template!("python/ai_provider.py"),
            template!("python/test_ai_provider.py"),
        ),
        PluginKind::Monitoring => (
            template!("python/monitoring.py"),
            template!("python/test_monitoring.py"),
        ),
    }
}

/// The Rust `plugin.rs` of each kind (with its tests).
fn rust_source(kind: PluginKind) -> &'static str {
    match kind {
        PluginKind::TaskManagement => template!("rust/task_management.rs"),
        PluginKind::VersionControl => template!("rust/version_control.rs"),
        PluginKind::Documentation => template!("rust/documentation.rs"),
        PluginKind::Communication => template!("rust/communication.rs"),
        PluginKind::AiProvider => template!("rust/ai_provider.rs"),
        PluginKind::Monitoring => template!("rust/monitoring.rs"),
    }
}

/// Runs `aido plugin new`.
pub fn run(request: &NewPlugin, out: &Output) -> CliResult {
    check_name(&request.name)?;
    let kind: PluginKind = request.kind.parse().map_err(CliError::usage)?;
    let target = request
        .dir
        .clone()
        .unwrap_or_else(|| PathBuf::from(&request.name));
    refuse_existing(&target)?;
    let values = Values::new(&request.name, kind, &target);
    let files = match request.lang {
        Lang::Python => python_files(&values, kind),
        Lang::Rust => {
            let checkout = sdk_checkout(request.sdk_path.as_deref())?;
            rust_files(&values, kind, &checkout)
        }
    };
    write_all(&target, &files)?;
    let lang = match request.lang {
        Lang::Python => "Python",
        Lang::Rust => "Rust",
    };
    out.line(&format!(
        "made {lang} {kind} plugin `{}` in {}",
        request.name,
        target.display()
    ));
    let next = match request.lang {
        Lang::Python => "python3 -m pytest tests -q",
        Lang::Rust => "cargo test && cargo build --release",
    };
    out.line(&format!(
        "next: cd {} && {next} && aido plugin check .",
        target.display()
    ));
    Ok(())
}

/// A plugin name as the manifest allows it: at most 64 lower-case letters,
/// digits, `-` and `_`, starting with a letter.
fn check_name(name: &str) -> CliResult {
    let mut chars = name.chars();
    let valid = name.len() <= 64
        && chars.next().is_some_and(|first| first.is_ascii_lowercase())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_');
    if valid {
        Ok(())
    } else {
        Err(CliError::usage(format!(
            "`{name}` is not a plugin name: use at most 64 lower-case letters, digits, `-` and `_`, starting with a letter (such as `my-tracker`)"
        )))
    }
}

/// Refuses a target that exists and is not an empty folder.
fn refuse_existing(target: &Path) -> CliResult {
    match std::fs::read_dir(target) {
        Ok(mut entries) => {
            if entries.next().is_some() {
                return Err(CliError::usage(format!(
                    "{} already exists and is not empty; choose another --dir or remove it",
                    target.display()
                )));
            }
            Ok(())
        }
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(_) if target.exists() => Err(CliError::usage(format!(
            "{} already exists and is not a folder; choose another --dir",
            target.display()
        ))),
        Err(err) => Err(CliError::runtime(format!("{}: {err}", target.display()))),
    }
}

/// The values the `{{placeholders}}` stand for.
struct Values {
    pairs: Vec<(&'static str, String)>,
}

impl Values {
    fn new(name: &str, kind: PluginKind, target: &Path) -> Self {
        let module = name.replace('-', "_");
        let camel: String = name
            .split(['-', '_'])
            .filter(|part| !part.is_empty())
            .map(|part| {
                let mut chars = part.chars();
                chars.next().map_or_else(String::new, |first| {
                    first.to_ascii_uppercase().to_string() + chars.as_str()
                })
            })
            .collect();
        let kind_variant: String = kind
            .as_str()
            .split('_')
            .map(|part| part[..1].to_ascii_uppercase() + &part[1..])
            .collect();
        let dir_hint = target
            .file_name()
            .map_or_else(|| name.to_owned(), |n| n.to_string_lossy().into_owned());
        Values {
            pairs: vec![
                ("name", name.to_owned()),
                ("module", module),
                ("class", camel.clone()),
                ("struct", camel),
                ("kind", kind.as_str().to_owned()),
                ("kind_variant", kind_variant),
                (
                    "description",
                    format!("A {kind} plugin that keeps its data in memory."),
                ),
                ("dir_hint", dir_hint),
            ],
        }
    }

    fn with(mut self, key: &'static str, value: String) -> Self {
        self.pairs.push((key, value));
        self
    }

    /// `template` with every `{{key}}` replaced.
    fn fill(&self, template: &str) -> String {
        let mut text = template.to_owned();
        for (key, value) in &self.pairs {
            text = text.replace(&format!("{{{{{key}}}}}"), value);
        }
        text
    }

    fn get(&self, key: &str) -> &str {
        self.pairs
            .iter()
            .find(|(k, _)| *k == key)
            .map_or("", |(_, v)| v.as_str())
    }
}

fn python_files(values: &Values, kind: PluginKind) -> Vec<(PathBuf, String)> {
    let module = values.get("module").to_owned();
    let (source, tests) = python_sources(kind);
    vec![
        (PathBuf::from(format!("{module}.py")), values.fill(source)),
        (
            PathBuf::from(format!("tests/test_{module}.py")),
            values.fill(tests),
        ),
        (
            PathBuf::from("plugin.toml"),
            values.fill(template!("python/plugin.toml")),
        ),
        (
            PathBuf::from("config.yaml.example"),
            values.fill(template!("python/config.yaml.example")),
        ),
        (
            PathBuf::from("README.md"),
            values.fill(template!("python/README.md")),
        ),
    ]
}

/// The aido checkout whose crates the Rust scaffold depends on: `--sdk-path`,
/// or the checkout this binary was built from.
fn sdk_checkout(explicit: Option<&Path>) -> CliResult<PathBuf> {
    let (root, origin) = match explicit {
        Some(path) => (path.to_owned(), "--sdk-path"),
        None => (
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../.."),
            "the aido checkout this binary was built from",
        ),
    };
    let sdk = root.join("crates/aido-plugin-sdk/Cargo.toml");
    if !sdk.is_file() {
        return Err(CliError::usage(format!(
            "the Rust plugin SDK is not at {} ({origin}); pass --sdk-path with the folder of an aido checkout (the one holding crates/aido-plugin-sdk)",
            sdk.display()
        )));
    }
    root.canonicalize()
        .map_err(|err| CliError::runtime(format!("{}: {err}", root.display())))
}

fn rust_files(values: &Values, kind: PluginKind, checkout: &Path) -> Vec<(PathBuf, String)> {
    // TOML basic strings: backslashes and quotes escaped.
    let toml_path = |crate_name: &str| {
        checkout
            .join("crates")
            .join(crate_name)
            .display()
            .to_string()
            .replace('\\', "\\\\")
            .replace('"', "\\\"")
    };
    let values = Values {
        pairs: values.pairs.clone(),
    }
    .with("sdk_path", toml_path("aido-plugin-sdk"))
    .with("api_path", toml_path("aido-plugin-api"));
    vec![
        (
            PathBuf::from("Cargo.toml"),
            values.fill(template!("rust/Cargo.toml.tmpl")),
        ),
        (
            PathBuf::from("src/main.rs"),
            values.fill(template!("rust/main.rs")),
        ),
        (
            PathBuf::from("src/config.rs"),
            values.fill(template!("rust/config.rs")),
        ),
        (
            PathBuf::from("src/plugin.rs"),
            values.fill(rust_source(kind)),
        ),
        (
            PathBuf::from("plugin.toml"),
            values.fill(template!("rust/plugin.toml")),
        ),
        (
            PathBuf::from("config.yaml.example"),
            values.fill(template!("rust/config.yaml.example")),
        ),
        (
            PathBuf::from("README.md"),
            values.fill(template!("rust/README.md")),
        ),
        (
            PathBuf::from(".gitignore"),
            template!("rust/gitignore").to_owned(),
        ),
    ]
}

/// Writes every file into a temporary folder beside `target`, then renames
/// it into place: all files or none.
fn write_all(target: &Path, files: &[(PathBuf, String)]) -> CliResult {
    let parent = match target.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_owned(),
        _ => PathBuf::from("."),
    };
    std::fs::create_dir_all(&parent)
        .map_err(|err| CliError::runtime(format!("cannot create {}: {err}", parent.display())))?;
    let staging = parent.join(format!(
        ".{}.aido-new-{}",
        target
            .file_name()
            .map_or_else(|| "plugin".into(), |n| n.to_string_lossy()),
        std::process::id()
    ));
    let written = write_into(&staging, files).and_then(|()| {
        // An empty target folder is replaced; `refuse_existing` let only
        // that through.
        if target.is_dir() {
            std::fs::remove_dir(target)?;
        }
        std::fs::rename(&staging, target)
    });
    if let Err(err) = written {
        let _ = std::fs::remove_dir_all(&staging);
        return Err(CliError::runtime(format!(
            "cannot write the plugin to {}: {err}; nothing was written",
            target.display()
        )));
    }
    Ok(())
}

fn write_into(staging: &Path, files: &[(PathBuf, String)]) -> std::io::Result<()> {
    for (path, content) in files {
        let path = staging.join(path);
        if let Some(folder) = path.parent() {
            std::fs::create_dir_all(folder)?;
        }
        std::fs::write(&path, content)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_checked_with_a_message_naming_the_value() {
        assert!(check_name("my-tracker_2").is_ok());
        for bad in ["", "My", "1st", "has space", "dot.ted", &"x".repeat(65)] {
            let err = check_name(bad).unwrap_err().message;
            assert!(err.contains(&format!("`{bad}`")), "{err}");
        }
    }

    /// Whether `text` holds a `{{word}}` left unfilled (Python's `{{` in
    /// f-strings is not one).
    fn has_placeholder(text: &str) -> bool {
        text.split("{{").skip(1).any(|rest| {
            rest.split_once("}}").is_some_and(|(word, _)| {
                !word.is_empty() && word.chars().all(|c| c.is_ascii_lowercase() || c == '_')
            })
        })
    }

    #[test]
    fn placeholders_are_filled() {
        assert!(has_placeholder("a {{name}} b") && !has_placeholder("f\"{{{x}}}\""));
        let values = Values::new("my-tracker", PluginKind::TaskManagement, Path::new("x/y"));
        assert_eq!(
            values.fill("{{name}} {{module}} {{class}} {{kind_variant}} {{dir_hint}}"),
            "my-tracker my_tracker MyTracker TaskManagement y"
        );
    }

    #[test]
    fn every_python_scaffold_has_a_valid_manifest_and_no_placeholder_left() {
        for kind in PluginKind::ALL {
            let dir = tempfile::tempdir().unwrap();
            let target = dir.path().join("probe");
            let values = Values::new("probe", kind, &target);
            write_all(&target, &python_files(&values, kind)).unwrap();
            let manifest = aido_core::plugin_host::lockfile::read_manifest(&target).unwrap();
            assert_eq!(manifest.kinds(), [kind]);
            for entry in [
                "probe.py",
                "tests/test_probe.py",
                "README.md",
                "config.yaml.example",
            ] {
                let text = std::fs::read_to_string(target.join(entry)).unwrap();
                assert!(!has_placeholder(&text), "{kind} {entry}");
            }
        }
    }

    #[test]
    fn a_non_empty_folder_is_refused_and_nothing_is_left_behind() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("keep.txt"), "mine").unwrap();
        let err = refuse_existing(dir.path()).unwrap_err().message;
        assert!(err.contains("not empty"), "{err}");
        let empty = dir.path().join("empty");
        std::fs::create_dir(&empty).unwrap();
        assert!(refuse_existing(&empty).is_ok());
        let values = Values::new("probe", PluginKind::Monitoring, &empty);
        write_all(&empty, &python_files(&values, PluginKind::Monitoring)).unwrap();
        assert!(empty.join("plugin.toml").is_file());
        let leftovers: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .filter_map(|e| e.ok())
            .filter(|e| e.file_name().to_string_lossy().contains("aido-new"))
            .collect();
        assert!(leftovers.is_empty());
    }

    #[test]
    fn a_missing_sdk_path_is_a_clear_error() {
        let err = sdk_checkout(Some(Path::new("/nonexistent/aido")))
            .unwrap_err()
            .message;
        assert!(
            err.contains("/nonexistent/aido/crates/aido-plugin-sdk") && err.contains("--sdk-path"),
            "{err}"
        );
        assert!(sdk_checkout(None).is_ok());
    }
}
