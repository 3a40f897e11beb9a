//! {{name}}: an aido {{kind}} plugin, scaffolded by `aido plugin new`.
//!
//! aido starts this binary through `plugin.toml` and talks to it over
//! stdin/stdout; `aido_plugin_sdk::serve` does the protocol, and the plugin
//! itself (`plugin.rs`) is written as aido's built-in plugins are.

mod config;
mod plugin;

fn main() {
    aido_plugin_sdk::serve(plugin::instance());
}
