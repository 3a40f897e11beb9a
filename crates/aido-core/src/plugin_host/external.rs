//! An external plugin as the engine sees it: a [`Transport`] that starts
//! its process on first use, speaks the protocol to it, restarts it with
//! backoff after a crash (behind a circuit breaker), stops it when idle, and
//! shuts it down in order: `shutdown`, `exit`, stdin closed, SIGTERM and
//! SIGKILL to its process group.

use std::collections::{BTreeMap, VecDeque};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use serde_json::Value;

use aido_plugin_api::{
    CallContext, ConfigProblem, Error, Health, Plugin, PluginConfig, PluginKind, PluginMetadata,
    Transport,
};
use aido_plugin_protocol::methods::{
    Connect, Disconnect, Exit, HealthCheck, Initialize, Initialized, RequestMethod, Shutdown,
    ValidateConfig,
};
use aido_plugin_protocol::{
    ActionParams, CallMeta, ConfigContext, ConnectParams, HostInfo, InitializeParams, NoParams,
    ProtocolVersion, SUPPORTED_VERSIONS, SecretValue, ValidateConfigParams, VersionMismatch,
};

use super::connection::Connection;
use super::process::SpawnSpec;

/// How the host treats one external plugin.
#[derive(Debug, Clone)]
pub struct HostLimits {
    /// How long the handshake may take.
    pub start_timeout: Duration,
    /// How long one call may take.
    pub call_timeout: Duration,
    /// How long `shutdown` and each stop signal may take.
    pub shutdown_timeout: Duration,
    /// A process not called for this long is stopped (and started again on
    /// demand).
    pub idle_timeout: Duration,
    /// Crashes within `crash_window` that open the circuit breaker.
    pub max_crashes: usize,
    /// The window crashes are counted in.
    pub crash_window: Duration,
    /// Calls in flight at once (the manifest's `max_concurrent_calls`);
    /// more wait for a free slot, which does not count against their
    /// `call_timeout`: a slot frees when a call ends or times out.
    pub max_concurrent_calls: usize,
}

impl Default for HostLimits {
    fn default() -> Self {
        HostLimits {
            start_timeout: Duration::from_secs(10),
            call_timeout: Duration::from_secs(120),
            shutdown_timeout: Duration::from_secs(2),
            idle_timeout: Duration::from_secs(300),
            max_crashes: 3,
            crash_window: Duration::from_secs(60),
            max_concurrent_calls: 8,
        }
    }
}

/// What the host knows of an external plugin before starting it.
#[derive(Debug, Clone)]
pub struct ExternalSpec {
    /// How to start it.
    pub spawn: SpawnSpec,
    /// Its metadata for the kind it serves here.
    pub metadata: PluginMetadata,
    /// The environment variables holding its declared secrets.
    pub secrets: Vec<String>,
    /// Limits.
    pub limits: HostLimits,
    /// The entry file and its recorded sha256, checked before each start.
    pub entry: Option<(PathBuf, String)>,
}

/// An external plugin process behind the protocol.
pub struct ExternalPlugin {
    spec: ExternalSpec,
    /// The running process, read by every call without waiting: a call
    /// only takes `lifecycle` when there is none, or it died or idled.
    current: std::sync::RwLock<Option<Arc<Connection>>>,
    /// When a call last used the process, in milliseconds since `epoch`.
    last_used: AtomicU64,
    epoch: Instant,
    /// Held while the process is started, stopped or replaced, so that
    /// only one caller does it.
    lifecycle: tokio::sync::Mutex<()>,
    config: std::sync::Mutex<Option<PluginConfig>>,
    crashes: std::sync::Mutex<VecDeque<Instant>>,
    /// One permit per call the plugin may have in flight.
    call_slots: tokio::sync::Semaphore,
}

impl ExternalPlugin {
    /// A plugin that starts on first use.
    pub fn new(spec: ExternalSpec) -> Self {
        let call_slots = tokio::sync::Semaphore::new(spec.limits.max_concurrent_calls.max(1));
        ExternalPlugin {
            spec,
            call_slots,
            current: std::sync::RwLock::default(),
            last_used: AtomicU64::new(0),
            epoch: Instant::now(),
            lifecycle: tokio::sync::Mutex::default(),
            config: std::sync::Mutex::default(),
            crashes: std::sync::Mutex::default(),
        }
    }

    fn name(&self) -> &str {
        &self.spec.metadata.name
    }

    fn now_millis(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    /// The running connection, if it is alive and was used recently; marks
    /// it used.
    fn usable(&self) -> Option<Arc<Connection>> {
        let current = self
            .current
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let connection = current.as_ref()?;
        let now = self.now_millis();
        let idle =
            Duration::from_millis(now.saturating_sub(self.last_used.load(Ordering::Relaxed)));
        if !connection.is_alive() || idle >= self.spec.limits.idle_timeout {
            return None;
        }
        self.last_used.store(now, Ordering::Relaxed);
        Some(connection.clone())
    }

    fn replace(&self, connection: Option<Arc<Connection>>) -> Option<Arc<Connection>> {
        let mut current = self
            .current
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        std::mem::replace(&mut *current, connection)
    }

    /// The live connection, started (and connected with the stored
    /// configuration) when there is none or the last one died.
    async fn connection(&self) -> Result<Arc<Connection>, Error> {
        // The fast path: no lock but a read lock, no allocation.
        if let Some(connection) = self.usable() {
            return Ok(connection);
        }
        let _lifecycle = self.lifecycle.lock().await;
        // Another caller may have started it while this one waited.
        if let Some(connection) = self.usable() {
            return Ok(connection);
        }
        if let Some(old) = self.replace(None) {
            if old.is_alive() {
                // Idle too long: stop it and start afresh.
                old.stop(self.spec.limits.shutdown_timeout).await;
            } else {
                self.record_crash();
            }
        }
        self.wait_for_restart().await?;
        let connection = self.start().await?;
        self.last_used.store(self.now_millis(), Ordering::Relaxed);
        self.replace(Some(connection.clone()));
        Ok(connection)
    }

    fn record_crash(&self) {
        let mut crashes = self
            .crashes
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        crashes.push_back(Instant::now());
        tracing::warn!(plugin = %self.spec.metadata.name, "plugin process exited; it is started again on the next call");
    }

    /// Backoff after crashes, and the circuit breaker.
    async fn wait_for_restart(&self) -> Result<(), Error> {
        let recent = {
            let mut crashes = self
                .crashes
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            while crashes
                .front()
                .is_some_and(|t| t.elapsed() > self.spec.limits.crash_window)
            {
                crashes.pop_front();
            }
            crashes.len()
        };
        if recent >= self.spec.limits.max_crashes {
            return Err(Error::connection(format!(
                "the plugin crashed {recent} times in the last {}s; not starting it again until that window passes",
                self.spec.limits.crash_window.as_secs()
            ))
            .in_call(self.name(), "start"));
        }
        if recent > 0 {
            let delay = Duration::from_millis(250u64 << recent.min(6));
            tokio::time::sleep(delay).await;
        }
        Ok(())
    }

    /// Starts the process, shakes hands, and connects it with the stored
    /// configuration.
    async fn start(&self) -> Result<Arc<Connection>, Error> {
        if let Some((path, expected)) = &self.spec.entry {
            let actual = super::lockfile::sha256_file(path)
                .map_err(|err| Error::configuration(err).in_call(self.name(), "start"))?;
            if &actual != expected {
                return Err(Error::configuration(format!(
                    "its entry file {} changed since it was added; if the change is yours, add it again with `aido plugin add {}`",
                    path.display(),
                    self.spec.spawn.cwd.display()
                ))
                .in_call(self.name(), "start"));
            }
        }
        let connection = Connection::start(&self.spec.spawn)?;
        let params = InitializeParams {
            protocol_versions: SUPPORTED_VERSIONS.to_vec(),
            host: HostInfo {
                name: "aido".to_owned(),
                version: env!("CARGO_PKG_VERSION").to_owned(),
            },
            parent_pid: Some(std::process::id()),
            features: Vec::new(),
        };
        let answer = connection
            .request::<Initialize>(&params, self.spec.limits.start_timeout)
            .await;
        let answer = match answer {
            Ok(answer) => answer,
            Err(err) => {
                connection.stop(self.spec.limits.shutdown_timeout).await;
                return Err(err);
            }
        };
        if !answer.protocol_version.is_within(SUPPORTED_VERSIONS) {
            connection.stop(self.spec.limits.shutdown_timeout).await;
            let mismatch = VersionMismatch {
                plugin: self.name().to_owned(),
                plugin_versions: vec![answer.protocol_version],
                host_versions: SUPPORTED_VERSIONS.to_vec(),
            };
            return Err(
                Error::configuration(mismatch.to_string()).in_call(self.name(), Initialize::METHOD)
            );
        }
        connection.notify::<Initialized>(&NoParams).await?;
        let config = self
            .config
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone();
        if let Some(config) = config {
            self.connect_remote(&connection, &config).await?;
        }
        Ok(connection)
    }

    async fn connect_remote(
        &self,
        connection: &Connection,
        config: &PluginConfig,
    ) -> Result<(), Error> {
        let timeout = self.spec.limits.call_timeout;
        let context = ConfigContext::of(config);
        let checked = connection
            .request::<ValidateConfig>(
                &ValidateConfigParams {
                    config: config.value().clone(),
                    context: context.clone(),
                },
                timeout,
            )
            .await?;
        if !checked.problems.is_empty() {
            let problems: Vec<String> = checked
                .problems
                .iter()
                .map(|p| format!("{}: {}", p.path, p.message))
                .collect();
            return Err(Error::configuration(problems.join("; "))
                .in_call(self.name(), ValidateConfig::METHOD));
        }
        // Only the secrets the manifest declares, and only here.
        let secrets: BTreeMap<String, SecretValue> = self
            .spec
            .secrets
            .iter()
            .filter_map(|name| {
                std::env::var(name)
                    .ok()
                    .map(|value| (name.clone(), SecretValue::new(value)))
            })
            .collect();
        connection
            .request::<Connect>(
                &ConnectParams {
                    config: config.value().clone(),
                    secrets,
                    context,
                },
                timeout,
            )
            .await
    }
}

#[async_trait]
impl Plugin for ExternalPlugin {
    fn metadata(&self) -> &PluginMetadata {
        &self.spec.metadata
    }

    fn validate_config(&self, _config: &PluginConfig) -> Vec<ConfigProblem> {
        // The schema is checked by the engine; the plugin's own checks run
        // in its process, at connect.
        Vec::new()
    }

    async fn connect(&self, config: &PluginConfig) -> aido_plugin_api::Result<()> {
        *self
            .config
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(config.clone());
        self.connection().await.map(|_| ())
    }

    async fn disconnect(&self) -> aido_plugin_api::Result<()> {
        let _lifecycle = self.lifecycle.lock().await;
        let Some(connection) = self.replace(None) else {
            return Ok(());
        };
        let grace = self.spec.limits.shutdown_timeout;
        let result = if connection.is_alive() {
            let disconnected = connection.request::<Disconnect>(&NoParams, grace).await;
            let _ = connection.request::<Shutdown>(&NoParams, grace).await;
            let _ = connection.notify::<Exit>(&NoParams).await;
            disconnected
        } else {
            Ok(())
        };
        connection.stop(grace).await;
        result
    }

    async fn health_check(&self) -> Health {
        match self.connection().await {
            Ok(connection) => match connection
                .request::<HealthCheck>(&NoParams, self.spec.limits.call_timeout)
                .await
            {
                Ok(health) => health,
                Err(err) => Health::Unhealthy(err.to_string()),
            },
            Err(err) => Health::Unhealthy(err.to_string()),
        }
    }
}

#[async_trait]
impl Transport for ExternalPlugin {
    async fn call_action(
        &self,
        cx: &CallContext,
        kind: PluginKind,
        action: &str,
        input: Value,
    ) -> aido_plugin_api::Result<Value> {
        let method = format!("{kind}.{action}");
        let timeout = self.spec.limits.call_timeout;
        let params = ActionParams::new(input, CallMeta::from_context(cx).with_timeout(timeout))
            .map_err(|err| err.to_api_error().in_call(self.name(), action))?;
        let _slot = self.call_slots.acquire().await.map_err(|_| {
            aido_plugin_api::Error::connection("the plugin is shutting down")
                .in_call(self.name(), action)
        })?;
        let connection = self.connection().await?;
        connection.call(&method, &params.to_value(), timeout).await
    }
}

/// The newest protocol version this host speaks.
pub fn host_protocol() -> ProtocolVersion {
    ProtocolVersion::CURRENT
}
