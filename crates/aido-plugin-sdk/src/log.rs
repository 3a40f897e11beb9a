//! The plugin's log: `log` notifications to the host once the handshake is
//! done, lines on stderr before (and when not serving at all, as in unit
//! tests).
//!
//! ```
//! use aido_plugin_sdk::{LogLevel, log};
//! log(LogLevel::Info, "connected to project DEMO");
//! ```

use std::sync::RwLock;

use aido_plugin_protocol::methods::{Log, NotificationMethod};
use aido_plugin_protocol::{LogLevel, LogParams};

use crate::stdio::Outgoing;

/// Where log lines go while a session is serving.
static SINK: RwLock<Option<Sink>> = RwLock::new(None);

struct Sink {
    out: Outgoing,
    target: String,
}

/// Sends a line of the plugin's log to the host, at `level`.
///
/// The host records it in its own log, attributed to the plugin, and
/// redacts the secrets it knows; still, never log a secret. Before the
/// handshake (or outside [`serve`](crate::serve)) the line goes to stderr,
/// which the host also records.
pub fn log(level: LogLevel, message: impl Into<String>) {
    let message = message.into();
    let sink = SINK
        .read()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let Some(sink) = sink.as_ref() else {
        eprintln!("{level} {message}");
        return;
    };
    let params = LogParams {
        level,
        message,
        target: Some(sink.target.clone()),
    };
    match Log::notification(&params) {
        Ok(notification) => sink.out.send(notification.to_line().into_bytes()),
        Err(err) => eprintln!("{level} {} (not sent: {err})", params.message),
    }
}

/// Sends later log lines to the host through `out`, marked with `target`
/// (the plugin's name).
pub(crate) fn attach(out: Outgoing, target: &str) {
    *SINK
        .write()
        .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(Sink {
        out,
        target: target.to_owned(),
    });
}

/// Sends later log lines to stderr again.
pub(crate) fn detach() {
    *SINK
        .write()
        .unwrap_or_else(std::sync::PoisonError::into_inner) = None;
}
