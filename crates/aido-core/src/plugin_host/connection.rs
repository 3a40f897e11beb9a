//! One JSON-RPC connection to a running plugin process: requests with ids,
//! answers matched to them, timeouts, `$/cancel` when a caller gives up,
//! the plugin's `log` notifications, and every call in flight failed when
//! the process goes away.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;
use tokio::sync::{mpsc, oneshot};

use aido_plugin_api::Error;
use aido_plugin_protocol::methods::{Cancel, Log, NotificationMethod, RequestMethod};
use aido_plugin_protocol::{
    CancelParams, LogLevel, LogParams, Message, Notification, Outcome, RequestId, Response,
};

use super::process::{PluginProcess, SpawnSpec};

type Pending = Arc<Mutex<HashMap<RequestId, oneshot::Sender<Response>>>>;

/// A connection to one plugin process.
pub struct Connection {
    name: String,
    process: tokio::sync::Mutex<PluginProcess>,
    pending: Pending,
    next_id: AtomicI64,
    alive: Arc<AtomicBool>,
}

impl Connection {
    /// Starts the process and reads its stdout.
    pub fn start(spec: &SpawnSpec) -> Result<Arc<Connection>, Error> {
        let (process, lines) = PluginProcess::spawn(spec).map_err(|err| {
            Error::connection(format!("cannot start `{}`: {err}", spec.program.display()))
                .in_call(&spec.name, "start")
        })?;
        let connection = Arc::new(Connection {
            name: spec.name.clone(),
            process: tokio::sync::Mutex::new(process),
            pending: Arc::default(),
            next_id: AtomicI64::new(1),
            alive: Arc::new(AtomicBool::new(true)),
        });
        tokio::spawn(read_loop(
            spec.name.clone(),
            lines,
            connection.pending.clone(),
            connection.alive.clone(),
        ));
        Ok(connection)
    }

    /// Whether the process still answers (its stdout is open).
    pub fn is_alive(&self) -> bool {
        self.alive.load(Ordering::SeqCst)
    }

    /// Calls a protocol method and decodes its result.
    pub async fn request<M: RequestMethod>(
        &self,
        params: &M::Params,
        timeout: Duration,
    ) -> Result<M::Result, Error> {
        let value = serde_json::to_value(params)
            .map_err(|err| Error::other(format!("cannot encode `{}`: {err}", M::METHOD)))?;
        let result = self.call(M::METHOD, value, timeout).await?;
        serde_json::from_value(result).map_err(|err| {
            Error::invalid_response(format!("the answer to `{}` does not fit: {err}", M::METHOD))
                .in_call(&self.name, M::METHOD)
        })
    }

    /// Sends a notification.
    pub async fn notify<M: NotificationMethod>(&self, params: &M::Params) -> Result<(), Error> {
        let params = serde_json::to_value(params)
            .map_err(|err| Error::other(format!("cannot encode `{}`: {err}", M::METHOD)))?;
        let line = Notification::new(M::METHOD, Some(params)).to_line();
        self.write(&line, M::METHOD).await
    }

    /// Calls `method` with JSON `params`; gives up after `timeout`, and
    /// tells the plugin (`$/cancel`) when it gives up or the caller drops
    /// the call.
    pub async fn call(
        &self,
        method: &str,
        params: Value,
        timeout: Duration,
    ) -> Result<Value, Error> {
        if !self.is_alive() {
            return Err(
                Error::connection("the plugin process has exited").in_call(&self.name, method)
            );
        }
        let id = RequestId::Number(self.next_id.fetch_add(1, Ordering::SeqCst));
        let (sender, answer) = oneshot::channel();
        self.pending
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(id.clone(), sender);
        let mut guard = CancelOnDrop {
            connection: self,
            id: Some(id.clone()),
        };
        let line = aido_plugin_protocol::Request::new(id.clone(), method, Some(params)).to_line();
        self.write(&line, method).await?;
        let response = match tokio::time::timeout(timeout, answer).await {
            Ok(Ok(response)) => response,
            Ok(Err(_)) => {
                guard.id = None;
                return Err(
                    Error::connection("the plugin process exited during the call")
                        .in_call(&self.name, method),
                );
            }
            Err(_) => {
                return Err(Error::timeout(format!(
                    "no answer within {}s; the call was cancelled",
                    timeout.as_secs_f64()
                ))
                .in_call(&self.name, method));
            }
        };
        guard.id = None;
        match response.outcome {
            Outcome::Result(value) => Ok(value),
            Outcome::Error(error) => Err(error.to_api_error().in_call(&self.name, method)),
        }
    }

    async fn write(&self, line: &str, method: &str) -> Result<(), Error> {
        let mut process = self.process.lock().await;
        process
            .send(line.trim_end_matches('\n'))
            .await
            .map_err(|err| {
                Error::connection(format!("cannot write to the plugin: {err}"))
                    .in_call(&self.name, method)
            })
    }

    /// Stops the process: closes stdin, then SIGTERM and SIGKILL to its
    /// group if it does not exit in time.
    pub async fn stop(&self, grace: Duration) {
        self.process.lock().await.stop(grace).await;
        self.alive.store(false, Ordering::SeqCst);
    }
}

/// Sends `$/cancel` for a call that was given up (timed out, or its future
/// dropped by a cancelled step).
struct CancelOnDrop<'a> {
    connection: &'a Connection,
    id: Option<RequestId>,
}

impl Drop for CancelOnDrop<'_> {
    fn drop(&mut self) {
        let Some(id) = self.id.take() else { return };
        self.connection
            .pending
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .remove(&id);
        if !self.connection.is_alive() {
            return;
        }
        let line = match serde_json::to_value(CancelParams { id }) {
            Ok(params) => Notification::new(Cancel::METHOD, Some(params)).to_line(),
            Err(_) => return,
        };
        // The connection outlives its calls only through the plugin's Arc;
        // write through a weak path: try the lock without waiting.
        if let Ok(mut process) = self.connection.process.try_lock() {
            let line = line.trim_end_matches('\n').to_owned();
            // Best effort: a blocked pipe must not block a drop.
            let _ = futures_util::FutureExt::now_or_never(process.send(&line));
        }
    }
}

/// Reads the plugin's stdout: answers go to their callers, `log`
/// notifications to aido's log, anything else is reported with the plugin's
/// name and the offending line. When stdout closes, every call in flight
/// fails.
async fn read_loop(
    name: String,
    mut lines: mpsc::Receiver<String>,
    pending: Pending,
    alive: Arc<AtomicBool>,
) {
    while let Some(line) = lines.recv().await {
        if line.trim().is_empty() {
            continue;
        }
        match Message::parse(&line) {
            Ok(Message::Response(response)) => {
                let waiter = response.id.as_ref().and_then(|id| {
                    pending
                        .lock()
                        .unwrap_or_else(std::sync::PoisonError::into_inner)
                        .remove(id)
                });
                if let Some(waiter) = waiter {
                    let _ = waiter.send(response);
                }
            }
            Ok(Message::Notification(notification)) if notification.method == Log::METHOD => {
                match notification.params_as::<LogParams>() {
                    Ok(log) => log_line(&name, &log),
                    Err(_) => {
                        tracing::warn!(target: "aido::plugin", plugin = %name, "malformed log notification")
                    }
                }
            }
            Ok(other) => {
                tracing::warn!(target: "aido::plugin", plugin = %name, "unexpected message from the plugin: {}", quote(&serde_json::to_string(&other).unwrap_or_default()));
            }
            Err(_) => {
                tracing::error!(
                    target: "aido::plugin",
                    plugin = %name,
                    "plugin `{name}` wrote a line on stdout that is not a protocol message (stdout is reserved for the protocol; log to stderr): {}",
                    quote(&line)
                );
            }
        }
    }
    alive.store(false, Ordering::SeqCst);
    // Dropping the senders fails every call in flight.
    pending
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .clear();
}

fn log_line(name: &str, log: &LogParams) {
    let message = crate::redact::redact(&log.message);
    match log.level {
        LogLevel::Error => tracing::error!(target: "aido::plugin", plugin = %name, "{message}"),
        LogLevel::Warn => tracing::warn!(target: "aido::plugin", plugin = %name, "{message}"),
        LogLevel::Info => tracing::info!(target: "aido::plugin", plugin = %name, "{message}"),
        _ => tracing::debug!(target: "aido::plugin", plugin = %name, "{message}"),
    }
}

/// A line, shortened and quoted for a log.
fn quote(line: &str) -> String {
    let short: String = line.chars().take(200).collect();
    let short = crate::redact::redact(&short).into_owned();
    if line.chars().count() > 200 {
        format!("{short:?}…")
    } else {
        format!("{short:?}")
    }
}
