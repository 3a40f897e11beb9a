//! Configuration: `aido.yaml`, per-plugin files, `${VAR}` substitution,
//! `.env`, environment overrides, and validation that reports every problem
//! at once with its file, line, column and key path.

mod diagnostic;
mod env;
mod interpolate;
mod load;
mod model;
pub mod schema;
pub mod yaml;

pub use diagnostic::{Diagnostic, Diagnostics, Origin, did_you_mean};
pub use env::Environment;
pub use load::{
    CONFIG_FILE_NAMES, ConfigSource, ConfiguredPlugin, LoadError, LoadOptions, LoadedConfig,
    find_config_file, load,
};
pub use model::{
    AidoConfig, LimitsConfig, PluginSlot, PluginsConfig, SecurityConfig, SystemConfig,
    WorkflowsConfig, default_provider,
};

#[cfg(test)]
mod tests;
