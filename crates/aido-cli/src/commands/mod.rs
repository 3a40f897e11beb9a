//! One module per command group. Commands are glue: they call the engine
//! and print; no business logic lives here.

pub mod completions;
pub mod config;
pub mod demo;
pub mod doctor;
pub mod init;
pub mod metrics;
pub mod plugin;
pub mod plugin_new;
pub mod runs;
pub mod sandbox;
pub mod task;
pub mod workflow;
