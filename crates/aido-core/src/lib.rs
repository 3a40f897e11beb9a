//! The engine of aido: the plugin registry, configuration, and the plugin
//! lifecycle.
//!
//! - [`registry::Registry`] knows every plugin by kind and name.
//! - [`config::load`] reads `aido.yaml` (or the embedded defaults), checks it
//!   against every schema, reports all problems at once, and makes one
//!   unconnected plugin per kind. It has no side effects.
//! - [`lifecycle`] connects those plugins, runs work with them, and always
//!   disconnects them in reverse order.
//! - [`redact`] keeps secret values out of all output.
//!
//! This crate depends on `aido-plugin-api` only: it knows no concrete plugin,
//! no service and nothing of the command line.

#![deny(missing_docs)]

pub mod agent;
pub mod config;
pub mod develop;
pub mod engine;
pub mod lifecycle;
pub mod plugin_host;
pub mod redact;
pub mod registry;
pub mod store;
pub mod workflow;

#[cfg(test)]
mod testing;

pub use registry::{Registry, RegistryError};
