//! One JSON-RPC connection to a running plugin process: requests with ids,
//! answers matched to them, timeouts, `$/cancel` when a caller gives up,
//! the plugin's `log` notifications, and every call in flight failed when
//! the process goes away.
//!
//! Two tasks own the pipes, so no call waits on a lock to use them:
//!
//! - the **writer** takes finished lines from a channel and writes
//!   everything that is ready in one `write`, so 64 calls in flight cost a
//!   handful of system calls, not 64 (and a call never waits for another's
//!   write);
//! - the **reader** reads the plugin's stdout into one reused buffer, parses
//!   each line and hands an answer straight to its caller's oneshot.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use serde::Serialize;
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::process::{ChildStdin, ChildStdout};
use tokio::sync::{mpsc, oneshot};

use aido_plugin_api::Error;
use aido_plugin_protocol::methods::{Cancel, Log, NotificationMethod, RequestMethod};
use aido_plugin_protocol::{
    CancelParams, LogLevel, LogParams, Message, Notification, Outcome, RequestId, Response,
};

use super::process::{PluginProcess, SpawnSpec};

/// The longest line read from a plugin (the manifest's default
/// `limits.max_message_bytes`); a longer one is treated as a crash.
pub const MAX_LINE_BYTES: usize = 16 * 1024 * 1024;

/// Calls waiting for their answers, by request id.
#[derive(Default)]
struct Pending(Mutex<HashMap<i64, oneshot::Sender<Response>>>);

impl Pending {
    fn lock(&self) -> MutexGuard<'_, HashMap<i64, oneshot::Sender<Response>>> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// What the writer task is asked to do.
enum Command {
    /// Write a line (JSON and its newline).
    Line(Vec<u8>),
    /// Close stdin, which tells the plugin to exit.
    Close,
}

/// A connection to one plugin process.
pub struct Connection {
    name: String,
    process: tokio::sync::Mutex<PluginProcess>,
    writer: mpsc::UnboundedSender<Command>,
    pending: Arc<Pending>,
    next_id: AtomicI64,
    alive: Arc<AtomicBool>,
}

impl Connection {
    /// Starts the process and the tasks that write its stdin and read its
    /// stdout.
    pub fn start(spec: &SpawnSpec) -> Result<Arc<Connection>, Error> {
        let (process, pipes) = PluginProcess::spawn(spec).map_err(|err| {
            Error::connection(format!("cannot start `{}`: {err}", spec.program.display()))
                .in_call(&spec.name, "start")
        })?;
        let pending = Arc::new(Pending::default());
        let alive = Arc::new(AtomicBool::new(true));
        let (writer, commands) = mpsc::unbounded_channel();
        tokio::spawn(write_loop(
            spec.name.clone(),
            pipes.stdin,
            commands,
            pending.clone(),
            alive.clone(),
        ));
        tokio::spawn(read_loop(
            spec.name.clone(),
            pipes.stdout,
            pending.clone(),
            alive.clone(),
        ));
        Ok(Arc::new(Connection {
            name: spec.name.clone(),
            process: tokio::sync::Mutex::new(process),
            writer,
            pending,
            next_id: AtomicI64::new(1),
            alive,
        }))
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
        let result = self.call(M::METHOD, &value, timeout).await?;
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
        self.send(line.into_bytes(), M::METHOD)
    }

    /// Calls `method` with JSON `params`; gives up after `timeout`, and
    /// tells the plugin (`$/cancel`) when it gives up or the caller drops
    /// the call.
    pub async fn call(
        &self,
        method: &str,
        params: &Value,
        timeout: Duration,
    ) -> Result<Value, Error> {
        if !self.is_alive() {
            return Err(
                Error::connection("the plugin process has exited").in_call(&self.name, method)
            );
        }
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let (sender, answer) = oneshot::channel();
        self.pending.lock().insert(id, sender);
        let mut guard = CancelOnDrop {
            connection: self,
            id: Some(id),
        };
        self.send(request_line(id, method, params), method)?;
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

    /// Queues a line for the writer task.
    fn send(&self, line: Vec<u8>, method: &str) -> Result<(), Error> {
        self.writer.send(Command::Line(line)).map_err(|_| {
            Error::connection("cannot write to the plugin: its stdin is closed")
                .in_call(&self.name, method)
        })
    }

    /// Stops the process: closes stdin, then SIGTERM and SIGKILL to its
    /// group if it does not exit in time.
    pub async fn stop(&self, grace: Duration) {
        // Lines queued before (`shutdown`, `exit`) are written first.
        let _ = self.writer.send(Command::Close);
        self.process.lock().await.stop(grace).await;
        self.alive.store(false, Ordering::SeqCst);
    }
}

/// `{"jsonrpc":"2.0","id":..,"method":..,"params":..}` and a newline,
/// serialized straight from borrowed parts; `null` parameters are left out.
fn request_line(id: i64, method: &str, params: &Value) -> Vec<u8> {
    #[derive(Serialize)]
    struct Line<'a> {
        jsonrpc: &'static str,
        id: i64,
        method: &'a str,
        #[serde(skip_serializing_if = "Option::is_none")]
        params: Option<&'a Value>,
    }
    let mut bytes = Vec::with_capacity(128);
    let line = Line {
        jsonrpc: "2.0",
        id,
        method,
        params: Some(params).filter(|params| !params.is_null()),
    };
    // A `Value` always serializes (its map keys are strings).
    let _ = serde_json::to_writer(&mut bytes, &line);
    bytes.push(b'\n');
    bytes
}

/// Sends `$/cancel` for a call that was given up (timed out, or its future
/// dropped by a cancelled step).
struct CancelOnDrop<'a> {
    connection: &'a Connection,
    id: Option<i64>,
}

impl Drop for CancelOnDrop<'_> {
    fn drop(&mut self) {
        let Some(id) = self.id.take() else { return };
        self.connection.pending.lock().remove(&id);
        if !self.connection.is_alive() {
            return;
        }
        let params = CancelParams {
            id: RequestId::Number(id),
        };
        if let Ok(params) = serde_json::to_value(params) {
            let line = Notification::new(Cancel::METHOD, Some(params)).to_line();
            // Queueing never blocks, so a drop never waits on the pipe.
            let _ = self.connection.send(line.into_bytes(), Cancel::METHOD);
        }
    }
}

/// Writes queued lines to the plugin's stdin: whatever is ready goes out in
/// one write. A failed write means the plugin is gone: every call in flight
/// fails at once rather than at its timeout.
async fn write_loop(
    name: String,
    mut stdin: ChildStdin,
    mut commands: mpsc::UnboundedReceiver<Command>,
    pending: Arc<Pending>,
    alive: Arc<AtomicBool>,
) {
    let mut batch = Vec::with_capacity(16 * 1024);
    while let Some(first) = commands.recv().await {
        let mut close = false;
        let mut next = Some(first);
        while let Some(command) = next {
            match command {
                Command::Line(line) => batch.extend_from_slice(&line),
                Command::Close => {
                    close = true;
                    break;
                }
            }
            next = commands.try_recv().ok();
        }
        if !batch.is_empty() {
            if let Err(err) = stdin.write_all(&batch).await {
                tracing::debug!(target: "aido::plugin", plugin = %name, "cannot write to the plugin: {err}");
                alive.store(false, Ordering::SeqCst);
                pending.lock().clear();
                return;
            }
            batch.clear();
            // One huge message must not pin its buffer for the process's life.
            if batch.capacity() > 1024 * 1024 {
                batch = Vec::with_capacity(16 * 1024);
            }
        }
        if close {
            // Dropping stdin closes it.
            return;
        }
    }
}

/// Reads the plugin's stdout: answers go to their callers, `log`
/// notifications to aido's log, anything else is reported with the plugin's
/// name and the offending line. When stdout closes (or a line is longer
/// than [`MAX_LINE_BYTES`]), every call in flight fails.
async fn read_loop(
    name: String,
    stdout: ChildStdout,
    pending: Arc<Pending>,
    alive: Arc<AtomicBool>,
) {
    let mut reader = BufReader::with_capacity(64 * 1024, stdout);
    let mut buffer = Vec::with_capacity(4096);
    loop {
        buffer.clear();
        let read = (&mut reader)
            .take(MAX_LINE_BYTES as u64 + 1)
            .read_until(b'\n', &mut buffer)
            .await;
        match read {
            Ok(0) | Err(_) => break,
            Ok(_) => {}
        }
        if buffer.len() > MAX_LINE_BYTES {
            tracing::error!(
                target: "aido::plugin",
                plugin = %name,
                "plugin `{name}` wrote a line longer than {MAX_LINE_BYTES} bytes; treating it as a crash"
            );
            break;
        }
        let line = String::from_utf8_lossy(&buffer);
        handle_line(&name, line.trim_end_matches(['\n', '\r']), &pending);
    }
    alive.store(false, Ordering::SeqCst);
    // Dropping the senders fails every call in flight.
    pending.lock().clear();
}

fn handle_line(name: &str, line: &str, pending: &Pending) {
    if line.trim().is_empty() {
        return;
    }
    match Message::parse(line) {
        Ok(Message::Response(response)) => {
            let waiter = match &response.id {
                Some(RequestId::Number(id)) => pending.lock().remove(id),
                _ => None,
            };
            if let Some(waiter) = waiter {
                let _ = waiter.send(response);
            }
        }
        Ok(Message::Notification(notification)) if notification.method == Log::METHOD => {
            match notification.params_as::<LogParams>() {
                Ok(log) => log_line(name, &log),
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
                quote(line)
            );
        }
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_lines_are_one_json_line_without_null_params() {
        let line = request_line(7, "m", &serde_json::json!({"a": "x\ny"}));
        assert_eq!(
            line,
            b"{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"m\",\"params\":{\"a\":\"x\\ny\"}}\n"
        );
        let line = request_line(8, "shutdown", &Value::Null);
        assert_eq!(
            line,
            b"{\"jsonrpc\":\"2.0\",\"id\":8,\"method\":\"shutdown\"}\n"
        );
    }
}
