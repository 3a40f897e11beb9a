//! aido's built-in plugins: the embedded defaults that let aido do its whole
//! job on a fresh machine with no account and no network.
//!
//! Every plugin here implements one kind trait of `aido-plugin-api` and
//! nothing else: this crate never depends on the engine. [`builtins`] is the
//! one list the registry is filled from.

#![deny(missing_docs)]

mod agent_cli;
mod ai_chat;
mod ai_pricing;
mod anthropic;
mod connected;
mod console;
mod fs_util;
mod git;
mod github;
mod github_issues;
mod http;
mod jira;
mod linear;
mod local_tasks;
mod markdown_docs;
mod monitoring;
mod openai;
mod scripted;
mod slack;
mod webhook;

use aido_plugin_api::PluginFactory;

/// Every built-in plugin's factory.
pub fn builtins() -> Vec<PluginFactory> {
    vec![
        local_tasks::factory(),
        markdown_docs::factory(),
        git::factory(),
        github::factory(),
        github_issues::factory(),
        console::factory(),
        webhook::factory(),
        slack::factory(),
        jira::factory(),
        linear::factory(),
        scripted::factory(),
        agent_cli::factory(),
        anthropic::factory(),
        openai::factory(),
        monitoring::log::factory(),
        monitoring::prometheus::factory(),
    ]
}
