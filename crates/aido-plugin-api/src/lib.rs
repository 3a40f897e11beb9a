//! The plugin API of aido: what a plugin author depends on.
//!
//! aido connects a team's tools through plugins of six kinds
//! ([`PluginKind`]): task management, version control, documentation,
//! communication, AI provider and monitoring. This crate defines them and
//! nothing else: no I/O, no engine, no service client.
//!
//! - [`Plugin`] is what every plugin is: [`PluginMetadata`], configuration
//!   checks, `connect`, `disconnect`, [`Health`].
//! - The kind traits ([`TaskManagement`], [`VersionControl`],
//!   [`Documentation`], [`Communication`], [`AiProvider`], [`Monitoring`]) add
//!   the kind's actions. Each action takes a [`CallContext`] and one input
//!   type from [`model`], and returns `Result<Output>`.
//! - [`Error`] and [`ErrorKind`] are the one error taxonomy.
//! - [`catalog`] lists every action with the JSON Schemas of its input and
//!   output, and [`PluginInstance::call`] dispatches JSON to any plugin.
//! - [`PluginFactory`] makes instances of a plugin; the registry holds them.
//! - [`Secret`] holds a credential that is never printed.
//!
//! # A plugin in a few lines
//!
//! ```
//! use std::sync::LazyLock;
//! use aido_plugin_api::*;
//! use aido_plugin_api::model::monitoring::*;
//! use aido_plugin_api::model::NoInput;
//!
//! #[derive(serde::Deserialize, schemars::JsonSchema)]
//! #[serde(deny_unknown_fields)]
//! struct Config {}
//!
//! static META: LazyLock<PluginMetadata> = LazyLock::new(|| {
//!     PluginMetadata::new::<Config>("null", PluginKind::Monitoring, "0.1.0", "Drops everything.")
//! });
//!
//! struct Null;
//!
//! #[async_trait::async_trait]
//! impl Plugin for Null {
//!     fn metadata(&self) -> &PluginMetadata { &META }
//!     async fn connect(&self, _: &PluginConfig) -> Result<()> { Ok(()) }
//!     async fn disconnect(&self) -> Result<()> { Ok(()) }
//!     async fn health_check(&self) -> Health { Health::Healthy }
//! }
//!
//! #[async_trait::async_trait]
//! impl Monitoring for Null {
//!     async fn record_metric(&self, _: &CallContext, _: Metric) -> Result<()> { Ok(()) }
//!     async fn record_event(&self, _: &CallContext, _: MonitoringEvent) -> Result<()> { Ok(()) }
//!     async fn report_error(&self, _: &CallContext, _: ErrorReport) -> Result<()> { Ok(()) }
//!     async fn flush(&self, _: &CallContext, _: NoInput) -> Result<()> { Ok(()) }
//!     async fn export_metrics(&self, _: &CallContext, _: NoInput) -> Result<MetricsExport> {
//!         Ok(MetricsExport { content_type: "text/plain".into(), body: String::new() })
//!     }
//! }
//!
//! # tokio_test_block_on(async {
//! let plugin = PluginInstance::Monitoring(std::sync::Arc::new(Null));
//! let out = plugin.call(&CallContext::detached(), "flush", serde_json::json!({})).await.unwrap();
//! assert!(out.is_null());
//! # });
//! # fn tokio_test_block_on<F: std::future::Future>(f: F) -> F::Output {
//! #     tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(f)
//! # }
//! ```

#![deny(missing_docs)]

pub mod catalog;
mod error;
mod factory;
mod kinds;
pub mod model;
mod plugin;
mod secret;

pub use async_trait::async_trait;
pub use catalog::{ActionSpec, Effect, Forward, PluginInstance, Transport};
pub use error::{Error, ErrorKind, Result};
pub use factory::PluginFactory;
pub use kinds::{
    AiProvider, Communication, Documentation, Monitoring, TaskManagement, VersionControl,
    publish_page_by_title,
};
pub use plugin::{
    CallContext, ConfigProblem, Health, Plugin, PluginConfig, PluginKind, PluginMetadata,
    resolve_ref,
};
pub use secret::Secret;
