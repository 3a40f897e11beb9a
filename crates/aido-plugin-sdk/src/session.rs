//! One conversation with the host: what to do with each line.
//!
//! The session knows nothing of file descriptors: it takes lines from a
//! channel and hands finished lines to an [`Outgoing`], so the unit tests
//! drive it in-process, exactly as [`crate::Server`] drives it over stdin
//! and stdout.
//!
//! `initialize`, `shutdown` and the notifications are handled in order, on
//! the reading loop, so that the state they change is settled before the
//! next line. Every other request runs in a task of its own, at most
//! `max_in_flight` at once; the others wait for a turn in arrival order,
//! and can be cancelled while they wait. (The reading loop itself never
//! waits for a turn, so `$/cancel` and `exit` are always read at once; the
//! host bounds what it sends with the manifest's `max_concurrent_calls`.)

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use serde::Serialize;
use serde::de::Deserialize;
use serde_json::Value;
use tokio::sync::Semaphore;
use tokio::sync::mpsc::UnboundedReceiver;
use tokio::task::AbortHandle;

use aido_plugin_api::catalog::actions_of;
use aido_plugin_api::{PluginConfig, PluginInstance, Secret};
use aido_plugin_protocol::methods::NotificationMethod;
use aido_plugin_protocol::methods::{
    Cancel, Connect, Disconnect, Exit, HealthCheck, Initialize, Initialized, RequestMethod,
    Shutdown, ValidateConfig,
};
use aido_plugin_protocol::{
    ActionMethod, ActionParams, CancelParams, ConnectParams, InitializeParams, InitializeResult,
    Message, Notification, PluginInfo, ProtocolVersion, Request, RequestId, RpcError,
    SUPPORTED_VERSIONS, ValidateConfigParams, ValidateConfigResult, VersionMismatch,
};

use crate::parent::ParentWatch;
use crate::stdio::Outgoing;

/// How long cleanup may wait for the plugin's `disconnect` when the host
/// is gone.
const CLEANUP_TIMEOUT: Duration = Duration::from_secs(2);

/// How a session is run.
#[derive(Debug, Clone)]
pub(crate) struct SessionOptions {
    /// Requests run at once; further ones wait for a turn.
    pub max_in_flight: usize,
    /// Whether `log` lines go to this session's host once it is
    /// initialized (process-wide, so only for the real server).
    pub attach_log: bool,
}

/// The lifecycle flags the protocol's rules depend on.
#[derive(Debug, Default)]
struct State {
    initialized: bool,
    shutdown: bool,
    /// The host's process id, from `initialize`.
    parent_pid: Option<u32>,
}

/// The protocol state of one plugin process.
pub(crate) struct Session {
    instance: PluginInstance,
    info: PluginInfo,
    out: Outgoing,
    options: SessionOptions,
    state: Mutex<State>,
    /// Whether `plugin.connect` succeeded (and no `plugin.disconnect` came
    /// since): read on every call, so an atomic rather than the lock.
    connected: AtomicBool,
    /// Requests running in tasks. Whoever removes an entry answers the
    /// request: the task when it finishes, or `$/cancel` and `shutdown`
    /// when they abort it; so each request gets exactly one answer.
    calls: Mutex<HashMap<RequestId, AbortHandle>>,
    permits: Arc<Semaphore>,
}

/// What the reading loop does after a line.
enum Flow {
    Continue,
    Exit(i32),
}

impl Session {
    /// A session serving `instance`, answering through `out`.
    pub fn new(instance: PluginInstance, out: Outgoing, options: SessionOptions) -> Arc<Self> {
        let info = plugin_info(&instance);
        let permits = Arc::new(Semaphore::new(options.max_in_flight.max(1)));
        Arc::new(Session {
            instance,
            info,
            out,
            options,
            state: Mutex::default(),
            connected: AtomicBool::new(false),
            calls: Mutex::default(),
            permits,
        })
    }

    fn name(&self) -> &str {
        &self.info.name
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn calls(&self) -> MutexGuard<'_, HashMap<RequestId, AbortHandle>> {
        self.calls
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Serves until `exit`, the end of `lines`, or the host's death (when
    /// `parent` watches for it); cleans up and returns the exit status: 0
    /// after `shutdown`, 1 otherwise.
    pub async fn run(
        self: &Arc<Self>,
        mut lines: UnboundedReceiver<String>,
        parent: Option<ParentWatch>,
    ) -> i32 {
        let mut ticks = parent.as_ref().map(|watch| {
            let mut ticks = tokio::time::interval(watch.interval());
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
            ticks
        });
        let code = loop {
            let tick = async {
                match ticks.as_mut() {
                    Some(ticks) => ticks.tick().await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                line = lines.recv() => match line {
                    Some(line) => {
                        if let Flow::Exit(code) = self.handle_line(&line).await {
                            break code;
                        }
                    }
                    None => break self.exit_code(),
                },
                _ = tick => {
                    let pid = self.parent_pid();
                    if parent.as_ref().is_some_and(|watch| watch.is_gone(pid)) {
                        eprintln!("{}: the host process is gone; exiting", self.name());
                        break 1;
                    }
                }
            }
        };
        self.close().await;
        code
    }

    fn exit_code(&self) -> i32 {
        if self.state().shutdown { 0 } else { 1 }
    }

    fn parent_pid(&self) -> Option<u32> {
        self.state().parent_pid
    }

    async fn handle_line(self: &Arc<Self>, line: &str) -> Flow {
        if line.trim().is_empty() {
            return Flow::Continue;
        }
        match Message::parse(line) {
            Ok(Message::Request(request)) => {
                self.on_request(request).await;
                Flow::Continue
            }
            Ok(Message::Notification(notification)) => self.on_notification(&notification),
            // This SDK sends no requests, so no answer is awaited.
            Ok(Message::Response(_)) => Flow::Continue,
            Err(invalid) => {
                self.send_error(invalid.id(), invalid.error());
                Flow::Continue
            }
        }
    }

    fn on_notification(&self, notification: &Notification) -> Flow {
        match notification.method.as_str() {
            Cancel::METHOD => {
                if let Ok(params) = notification.params_as::<CancelParams>() {
                    self.cancel(&params.id);
                }
                Flow::Continue
            }
            Exit::METHOD => Flow::Exit(self.exit_code()),
            // Initialized, and whatever a later minor version adds.
            _ => Flow::Continue,
        }
    }

    async fn on_request(self: &Arc<Self>, request: Request) {
        let id = request.id.clone();
        if self.state().shutdown {
            let error = RpcError::shutting_down(format!(
                "plugin `{}` is shutting down; `{}` was not run",
                self.name(),
                request.method
            ));
            return self.send_error(Some(&id), &error);
        }
        if request.method == Initialize::METHOD {
            let answer = self.initialize(&request);
            return self.answer(&id, answer);
        }
        if !self.state().initialized {
            let error =
                RpcError::not_ready(format!("`{}` came before `initialize`", request.method));
            return self.send_error(Some(&id), &error);
        }
        if request.method == Shutdown::METHOD {
            self.shutdown().await;
            return self.answer(&id, Ok(Value::Null));
        }
        if self.calls().contains_key(&id) {
            let error = RpcError::invalid_request(format!("request {id} is already in flight"));
            return self.send_error(Some(&id), &error);
        }
        let this = self.clone();
        let mut calls = self.calls();
        let task = tokio::spawn(async move {
            let id = request.id.clone();
            // Waiting here rather than in the reading loop keeps `$/cancel`
            // and `exit` flowing while the plugin is saturated. The
            // semaphore is never closed, so this only waits.
            let Ok(permit) = this.permits.clone().acquire_owned().await else {
                return;
            };
            let outcome = this.dispatch(request).await;
            drop(permit);
            if this.calls().remove(&id).is_some() {
                this.answer(&id, outcome);
            }
        });
        calls.insert(id, task.abort_handle());
    }

    /// `$/cancel`: the request is aborted and answered `cancelled`, unless
    /// it was answered already.
    fn cancel(&self, id: &RequestId) {
        let Some(task) = self.calls().remove(id) else {
            return;
        };
        task.abort();
        self.send_error(Some(id), &RpcError::cancelled("cancelled by the host"));
    }

    fn cancel_all(&self) {
        let running: Vec<(RequestId, AbortHandle)> = self.calls().drain().collect();
        for (id, task) in running {
            task.abort();
            self.send_error(
                Some(&id),
                &RpcError::cancelled("cancelled: the plugin is shutting down"),
            );
        }
    }

    fn initialize(&self, request: &Request) -> Result<Value, RpcError> {
        if self.state().initialized {
            return Err(RpcError::invalid_request(
                "`initialize` was already answered",
            ));
        }
        let params: InitializeParams = Initialize::decode_params(request)?;
        let Some(version) =
            ProtocolVersion::negotiate(&params.protocol_versions, SUPPORTED_VERSIONS)
        else {
            let mismatch = VersionMismatch {
                plugin: self.name().to_owned(),
                plugin_versions: SUPPORTED_VERSIONS.to_vec(),
                host_versions: params.protocol_versions,
            };
            return Err(RpcError::from(&mismatch));
        };
        let result = InitializeResult {
            protocol_version: version,
            plugin: self.info.clone(),
            features: Vec::new(),
        };
        let value = encode(&result)?;
        {
            let mut state = self.state();
            state.initialized = true;
            state.parent_pid = params.parent_pid;
        }
        if self.options.attach_log {
            crate::log::attach(self.out.clone(), self.name());
        }
        Ok(value)
    }

    async fn shutdown(&self) {
        self.state().shutdown = true;
        self.cancel_all();
        self.disconnect_plugin().await;
    }

    /// The end of the session: calls in flight are cancelled and a
    /// connected plugin disconnected (within [`CLEANUP_TIMEOUT`]).
    async fn close(&self) {
        self.cancel_all();
        if tokio::time::timeout(CLEANUP_TIMEOUT, self.disconnect_plugin())
            .await
            .is_err()
        {
            eprintln!(
                "{}: disconnect took longer than {}s while exiting",
                self.name(),
                CLEANUP_TIMEOUT.as_secs()
            );
        }
        if self.options.attach_log {
            crate::log::detach();
        }
    }

    async fn disconnect_plugin(&self) {
        if self.connected.swap(false, Ordering::SeqCst)
            && let Err(err) = self.instance.plugin().disconnect().await
        {
            eprintln!("{}: disconnect failed: {err}", self.name());
        }
    }

    async fn dispatch(&self, mut request: Request) -> Result<Value, RpcError> {
        let plugin = self.instance.plugin();
        match request.method.as_str() {
            ValidateConfig::METHOD => {
                let params: ValidateConfigParams = ValidateConfig::decode_params(&request)?;
                let config = self.config(params.config, params.context);
                let problems = plugin.validate_config(&config);
                encode(&ValidateConfigResult { problems })
            }
            Connect::METHOD => {
                let params: ConnectParams = Connect::decode_params(&request)?;
                if self.connected.load(Ordering::SeqCst) {
                    return Err(RpcError::invalid_request(
                        "already connected; send `plugin.disconnect` first",
                    ));
                }
                let secrets: BTreeMap<String, Secret> = params
                    .secrets
                    .iter()
                    .map(|(name, value)| (name.clone(), Secret::new(value.expose())))
                    .collect();
                crate::secrets::set(secrets);
                let config = self.config(params.config, params.context);
                plugin
                    .connect(&config)
                    .await
                    .map_err(|err| RpcError::from(err.in_call(self.name(), "connect")))?;
                self.connected.store(true, Ordering::SeqCst);
                Ok(Value::Null)
            }
            HealthCheck::METHOD => encode(&plugin.health_check().await),
            Disconnect::METHOD => {
                if self.connected.swap(false, Ordering::SeqCst) {
                    plugin
                        .disconnect()
                        .await
                        .map_err(|err| RpcError::from(err.in_call(self.name(), "disconnect")))?;
                }
                Ok(Value::Null)
            }
            Initialized::METHOD | Exit::METHOD | Cancel::METHOD => {
                Err(RpcError::invalid_request(format!(
                    "`{}` is a notification; send it without an `id`",
                    request.method
                )))
            }
            _ => {
                let params = request.params.take().unwrap_or(Value::Null);
                self.call_action(&request.method, params).await
            }
        }
    }

    async fn call_action(&self, method: &str, params: Value) -> Result<Value, RpcError> {
        let action = ActionMethod::parse(method)?;
        let kind = self.instance.kind();
        if action.kind() != kind {
            return Err(RpcError::method_not_found(format!(
                "no method `{method}`: plugin `{}` serves {kind}",
                self.name()
            )));
        }
        if !self.connected.load(Ordering::SeqCst) {
            return Err(RpcError::not_ready(format!(
                "`{method}` came before `plugin.connect` succeeded"
            )));
        }
        let params = ActionParams::deserialize(params).map_err(|err| {
            RpcError::invalid_params(format!("the parameters of `{method}` do not fit: {err}"))
        })?;
        let (input, meta) = params.into_parts();
        self.instance
            .call(&meta.to_context(), action.spec().name, input)
            .await
            .map_err(RpcError::from)
    }

    /// The configuration as the plugin's own [`PluginConfig`], with the
    /// folders it is relative to.
    fn config(&self, value: Value, context: aido_plugin_protocol::ConfigContext) -> PluginConfig {
        let project_dir = context.project_dir.unwrap_or_else(|| ".".to_owned());
        let data_dir = context
            .data_dir
            .unwrap_or_else(|| format!("{project_dir}/.aido"));
        let instance = context
            .instance
            .unwrap_or_else(|| self.instance.kind().as_str().to_owned());
        PluginConfig::new(instance, value, project_dir, data_dir)
    }

    fn answer(&self, id: &RequestId, outcome: Result<Value, RpcError>) {
        match outcome {
            Ok(result) => self.out.send(result_line(id, &result)),
            Err(error) => self.send_error(Some(id), &error),
        }
    }

    fn send_error(&self, id: Option<&RequestId>, error: &RpcError) {
        self.out.send(error_line(id, error));
    }
}

/// What the plugin says about itself in `initialize`: its metadata, and
/// every action of its kind (one it cannot do answers `unsupported`).
pub(crate) fn plugin_info(instance: &PluginInstance) -> PluginInfo {
    let meta = instance.plugin().metadata();
    let kind = instance.kind();
    PluginInfo {
        name: meta.name.clone(),
        version: meta.version.clone(),
        description: meta.description.clone(),
        kinds: vec![kind],
        methods: actions_of(kind).map(|spec| spec.method()).collect(),
        required_config: meta.required_config.clone(),
        config_schema: meta.config_schema.clone(),
    }
}

fn encode<T: Serialize>(value: &T) -> Result<Value, RpcError> {
    serde_json::to_value(value)
        .map_err(|err| RpcError::internal(format!("an answer could not be encoded: {err}")))
}

/// `{"jsonrpc":"2.0","id":..,"result":..}` and a newline, written straight
/// from borrowed parts (no intermediate JSON map).
fn result_line(id: &RequestId, result: &Value) -> Vec<u8> {
    #[derive(Serialize)]
    struct Line<'a> {
        jsonrpc: &'static str,
        id: &'a RequestId,
        result: &'a Value,
    }
    line(&Line {
        jsonrpc: "2.0",
        id,
        result,
    })
}

/// `{"jsonrpc":"2.0","id":..,"error":{..}}` and a newline; `id` is `null`
/// when the request's could not be read.
fn error_line(id: Option<&RequestId>, error: &RpcError) -> Vec<u8> {
    #[derive(Serialize)]
    struct Line<'a> {
        jsonrpc: &'static str,
        id: Option<&'a RequestId>,
        error: &'a RpcError,
    }
    line(&Line {
        jsonrpc: "2.0",
        id,
        error,
    })
}

fn line<T: Serialize>(message: &T) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(128);
    if serde_json::to_writer(&mut bytes, message).is_err() {
        // Only a map with non-string keys fails, which `Value` cannot be.
        bytes.clear();
        bytes.extend_from_slice(
            br#"{"jsonrpc":"2.0","id":null,"error":{"code":-32603,"message":"an answer could not be encoded"}}"#,
        );
    }
    bytes.push(b'\n');
    bytes
}
