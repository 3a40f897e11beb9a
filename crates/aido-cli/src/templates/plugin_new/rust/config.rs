//! The plugin's configuration and metadata.

use std::sync::LazyLock;

use aido_plugin_api::{ConfigProblem, PluginConfig, PluginKind, PluginMetadata};

/// The configuration, as a project writes it under `config:` in
/// `aido.yaml`. Keep `[config.schema]` in `plugin.toml` in step: aido checks
/// that schema before the plugin starts.
#[derive(Debug, Default, serde::Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The prefix of the identifiers this plugin makes, such as DEMO.
    #[serde(default)]
    pub prefix: Option<String>,
}

impl Config {
    /// The prefix, or `default` when none is configured.
    pub fn prefix_or(&self, default: &str) -> String {
        self.prefix.clone().unwrap_or_else(|| default.to_owned())
    }
}

/// Name, version, kind, description and configuration schema: what the
/// handshake tells aido. The version is the crate's, as in `plugin.toml`.
pub static META: LazyLock<PluginMetadata> = LazyLock::new(|| {
    PluginMetadata::new::<Config>(
        "{{name}}",
        PluginKind::{{kind_variant}},
        env!("CARGO_PKG_VERSION"),
        "{{description}}",
    )
});

/// What is wrong with a configuration beyond its schema; every problem,
/// never a value (a value may be a secret).
pub fn problems(config: &PluginConfig) -> Vec<ConfigProblem> {
    match config.parse::<Config>() {
        Err(err) => vec![ConfigProblem::new("", err.message())],
        Ok(Config {
            prefix: Some(prefix),
        }) if prefix.is_empty() || !prefix.chars().all(|c| c.is_ascii_alphanumeric()) => {
            vec![ConfigProblem::new(
                "prefix",
                "must be letters and digits, such as DEMO",
            )]
        }
        Ok(_) => Vec::new(),
    }
}
