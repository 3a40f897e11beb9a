//! Write an external aido plugin in Rust.
//!
//! An external plugin is a program aido starts and talks to over its stdin
//! and stdout (`docs/plugin-protocol.md`). With this crate, a Rust plugin is
//! written exactly as a built-in one: implement [`Plugin`] and the kind's
//! trait from [`aido_plugin_api`], wrap the plugin in its
//! [`PluginInstance`], and hand it to [`serve`] in `main`. The SDK does the
//! protocol:
//!
//! - the handshake (`initialize`, version negotiation, the plugin's name,
//!   version, description, kind, methods, required configuration and
//!   schema, all from its [`PluginMetadata`](aido_plugin_api::PluginMetadata));
//! - `plugin.validate_config`, `plugin.connect` (the secrets it carries are
//!   read with [`secret`]), `plugin.health_check`, `plugin.disconnect`;
//! - every `<kind>.<action>` through the action catalog
//!   ([`PluginInstance::call`]), concurrently, at most
//!   [`Server::max_in_flight`] at once, each with its run, step and
//!   idempotency key in the [`CallContext`](aido_plugin_api::CallContext);
//! - `$/cancel` (the call's future is dropped, as the engine does for
//!   built-in plugins), `shutdown` and `exit`;
//! - errors: every [`Error`](aido_plugin_api::Error) travels with its kind,
//!   message and retry-after;
//! - exiting when stdin closes or the host process is gone, after
//!   disconnecting the plugin;
//! - stdout kept for the protocol: a stray `println!` goes to stderr, which
//!   the host records as the plugin's log, as do [`log`] lines.
//!
//! Plugin authors depend on this crate, `aido-plugin-api` and nothing else
//! of aido.
//!
//! # A plugin
//!
//! ```no_run
//! use std::sync::{Arc, LazyLock};
//! use aido_plugin_api::*;
//! use aido_plugin_api::model::monitoring::*;
//! use aido_plugin_api::model::NoInput;
//!
//! #[derive(serde::Deserialize, schemars::JsonSchema)]
//! #[serde(deny_unknown_fields)]
//! struct Config {}
//!
//! static META: LazyLock<PluginMetadata> = LazyLock::new(|| {
//!     PluginMetadata::new::<Config>("null-sink", PluginKind::Monitoring, "0.1.0", "Drops everything.")
//! });
//!
//! struct Null;
//!
//! #[async_trait::async_trait]
//! impl Plugin for Null {
//!     fn metadata(&self) -> &PluginMetadata { &META }
//!     async fn connect(&self, config: &PluginConfig) -> Result<()> {
//!         config.parse::<Config>().map(|_| ())
//!     }
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
//!         Err(Error::unsupported("this sink keeps nothing"))
//!     }
//! }
//!
//! fn main() {
//!     aido_plugin_sdk::serve(PluginInstance::Monitoring(Arc::new(Null)));
//! }
//! ```
//!
//! Its `plugin.toml` names the built binary as `run.command`; `aido plugin
//! new NAME --kind KIND --lang rust` writes all of this, with tests.

#![deny(missing_docs)]

mod log;
mod parent;
mod secrets;
mod session;
mod stdio;

#[cfg(test)]
mod tests;

use std::time::Duration;

pub use aido_plugin_api::PluginInstance;
pub use aido_plugin_protocol::LogLevel;

pub use crate::log::log;
pub use crate::secrets::secret;

use crate::parent::ParentWatch;
use crate::session::{Session, SessionOptions};

/// Serves `instance` on stdin and stdout until the host is done, then
/// exits the process: status 0 after `shutdown`, 1 otherwise.
///
/// The same as `Server::new(instance).serve()`; see [`Server`] for the
/// options.
pub fn serve(instance: PluginInstance) -> ! {
    Server::new(instance).serve()
}

/// A plugin ready to be served, with its options.
///
/// ```no_run
/// # fn plugin() -> aido_plugin_api::PluginInstance { unimplemented!() }
/// aido_plugin_sdk::Server::new(plugin())
///     .max_in_flight(16)
///     .worker_threads(2)
///     .serve();
/// ```
pub struct Server {
    instance: PluginInstance,
    max_in_flight: usize,
    worker_threads: usize,
    parent_poll: Duration,
}

impl Server {
    /// Requests run at once unless [`Server::max_in_flight`] says
    /// otherwise; further requests wait for a turn, in arrival order.
    pub const DEFAULT_MAX_IN_FLIGHT: usize = 64;

    /// A server for `instance`, with the default options.
    pub fn new(instance: PluginInstance) -> Self {
        Server {
            instance,
            max_in_flight: Self::DEFAULT_MAX_IN_FLIGHT,
            worker_threads: 1,
            parent_poll: Duration::from_secs(1),
        }
    }

    /// How many requests may run at once (at least 1; 64 by default). When
    /// that many run, the next waits until one finishes; a waiting request
    /// can still be cancelled.
    pub fn max_in_flight(mut self, calls: usize) -> Self {
        self.max_in_flight = calls.max(1);
        self
    }

    /// The async runtime's worker threads for [`Server::serve`] and
    /// [`Server::run`]. With 1, the default, everything runs on the main
    /// thread: a call then costs no thread wake-up but the one that brings
    /// its line, which is what makes calls fast. A plugin that does
    /// CPU-heavy or blocking work in its calls should move it to
    /// `tokio::task::spawn_blocking`, or ask for more threads here.
    pub fn worker_threads(mut self, threads: usize) -> Self {
        self.worker_threads = threads.max(1);
        self
    }

    /// How often to check that the host process still lives (every second
    /// by default).
    pub fn parent_poll_interval(mut self, interval: Duration) -> Self {
        self.parent_poll = interval;
        self
    }

    /// Serves, then exits the process with the session's status.
    pub fn serve(self) -> ! {
        let code = self.run();
        std::process::exit(code)
    }

    /// Serves on a runtime of its own and returns the exit status (0 after
    /// `shutdown`, 1 otherwise, 2 when stdin and stdout could not be taken
    /// over). Must not be called from inside an async runtime; use
    /// [`Server::run_async`] there.
    pub fn run(self) -> i32 {
        let runtime = if self.worker_threads == 1 {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
        } else {
            tokio::runtime::Builder::new_multi_thread()
                .worker_threads(self.worker_threads)
                .thread_name("aido-plugin")
                .enable_all()
                .build()
        };
        match runtime {
            Ok(runtime) => {
                let code = runtime.block_on(self.run_async());
                // Calls the plugin left running must not hold the exit.
                runtime.shutdown_timeout(Duration::from_millis(100));
                code
            }
            Err(err) => {
                eprintln!("aido-plugin-sdk: cannot start the async runtime: {err}");
                2
            }
        }
    }

    /// Serves on the current async runtime and returns the exit status; for
    /// a plugin whose `main` is already `#[tokio::main]`.
    pub async fn run_async(self) -> i32 {
        ignore_interrupts();
        // As early as possible, so that a host dying now is still noticed.
        let parent = ParentWatch::new(self.parent_poll);
        let streams = match stdio::take_over() {
            Ok(streams) => streams,
            Err(err) => {
                eprintln!("aido-plugin-sdk: cannot take over stdin and stdout: {err}");
                return 2;
            }
        };
        let out = stdio::spawn_writer(streams.output);
        let (lines, incoming) = tokio::sync::mpsc::unbounded_channel();
        stdio::spawn_reader(streams.input, lines);
        let options = SessionOptions {
            max_in_flight: self.max_in_flight,
            attach_log: true,
        };
        let session = Session::new(self.instance, out.clone(), options);
        let code = session.run(incoming, Some(parent)).await;
        out.flush().await;
        code
    }
}

/// Ctrl-C goes to the whole foreground process group; the plugin must live
/// on until aido has disconnected it, so it ignores SIGINT (as the Python
/// SDK does). End a plugin started by hand with Ctrl-D.
fn ignore_interrupts() {
    #[cfg(unix)]
    // SAFETY: setting a signal's disposition to "ignore" has no
    // preconditions and installs no handler code.
    unsafe {
        libc::signal(libc::SIGINT, libc::SIG_IGN);
    }
}
