//! `aido config check`.

use aido_core::config::ConfigSource;

use crate::cli::GlobalArgs;
use crate::context;
use crate::exit::CliResult;
use crate::output::{Output, Tone};

/// Checks the configuration; every problem is printed by the loader.
pub fn check(args: &GlobalArgs, out: &Output) -> CliResult {
    let registry = context::registry()?;
    let loaded = context::load_config(args, &registry, out)?;
    let source = match &loaded.source {
        ConfigSource::File(path) => path.display().to_string(),
        ConfigSource::Defaults => "embedded defaults".to_owned(),
    };
    if out.json {
        let plugins: Vec<_> = loaded
            .plugins
            .iter()
            .map(|p| serde_json::json!({ "kind": p.kind, "provider": p.provider, "origin": p.origin }))
            .collect();
        out.json(&serde_json::json!({ "valid": true, "source": source, "plugins": plugins }));
        return Ok(());
    }
    out.line(&format!(
        "{} {source} is valid",
        out.paint("ok", Tone::Good)
    ));
    for plugin in &loaded.plugins {
        out.line(&format!(
            "  {:<16} {:<10} {}",
            plugin.kind.as_str(),
            plugin.provider,
            out.paint(&plugin.origin, Tone::Dim)
        ));
    }
    Ok(())
}
