//! The plugin lifecycle after configuration: connect every plugin
//! concurrently with a timeout, use them, and disconnect them in reverse
//! order of connection, always: on success, on error and on Ctrl-C.
//!
//! Discovery, loading, validation and configuration happen in
//! [`crate::config::load`], which makes unconnected instances and touches
//! nothing; this module takes them from there.

use std::future::Future;
use std::time::{Duration, Instant};

use serde::Serialize;
use tokio::task::JoinSet;

use aido_plugin_api::{Error, Health, PluginInstance, PluginKind};

use crate::config::ConfiguredPlugin;

/// Connected plugins, in the order they finished connecting.
#[derive(Debug)]
pub struct ActivePlugins {
    connected: Vec<ConfiguredPlugin>,
    call_timeout: Duration,
}

/// A plugin that failed to connect.
#[derive(Debug)]
pub struct ConnectFailure {
    /// The kind it serves.
    pub kind: PluginKind,
    /// Its name.
    pub provider: String,
    /// What went wrong.
    pub error: Error,
}

/// Why plugins could not be used.
#[derive(Debug)]
pub enum LifecycleError {
    /// Some plugins did not connect; those that did were disconnected again.
    Connect(Vec<ConnectFailure>),
    /// Ctrl-C (or another shutdown signal) arrived; every plugin was
    /// disconnected.
    Interrupted,
}

impl std::fmt::Display for LifecycleError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LifecycleError::Connect(failures) => {
                let lines: Vec<String> = failures
                    .iter()
                    .map(|fail| {
                        format!(
                            "{} plugin `{}` did not connect: {}",
                            fail.kind, fail.provider, fail.error
                        )
                    })
                    .collect();
                f.write_str(&lines.join("\n"))
            }
            LifecycleError::Interrupted => {
                f.write_str("interrupted; every plugin was disconnected")
            }
        }
    }
}

impl std::error::Error for LifecycleError {}

/// One plugin's health.
#[derive(Debug, Clone, Serialize)]
pub struct HealthReport {
    /// The kind it serves.
    pub kind: PluginKind,
    /// Its name.
    pub provider: String,
    /// Where its configuration came from.
    pub origin: String,
    /// What it said.
    pub health: Health,
    /// How long the check took, in milliseconds.
    pub elapsed_ms: u64,
}

/// Connects every plugin concurrently, each within `timeout`.
///
/// If any fails, the ones that connected are disconnected in reverse order
/// and every failure is returned.
pub async fn connect_all(
    plugins: Vec<ConfiguredPlugin>,
    timeout: Duration,
) -> Result<ActivePlugins, LifecycleError> {
    let (active, failures) = connect_each(plugins, timeout).await;
    if failures.is_empty() {
        Ok(active)
    } else {
        active.shutdown().await;
        Err(LifecycleError::Connect(failures))
    }
}

/// Connects every plugin concurrently, each within `timeout`, and returns
/// those that connected along with those that did not (for `aido doctor`,
/// which reports on each).
pub async fn connect_each(
    plugins: Vec<ConfiguredPlugin>,
    timeout: Duration,
) -> (ActivePlugins, Vec<ConnectFailure>) {
    let mut tasks = JoinSet::new();
    for plugin in plugins {
        tasks.spawn(async move {
            let provider = plugin.provider.clone();
            let outcome =
                tokio::time::timeout(timeout, plugin.instance.plugin().connect(&plugin.config))
                    .await;
            let result = match outcome {
                Ok(Ok(())) => Ok(()),
                Ok(Err(err)) => Err(err.in_call(&provider, "connect")),
                Err(_) => Err(Error::timeout(format!(
                    "did not connect within {}s",
                    timeout.as_secs_f64()
                ))
                .in_call(&provider, "connect")),
            };
            (plugin, result)
        });
    }
    let mut active = ActivePlugins {
        connected: Vec::new(),
        call_timeout: timeout,
    };
    let mut failures = Vec::new();
    while let Some(joined) = tasks.join_next().await {
        match joined {
            Ok((plugin, Ok(()))) => {
                tracing::debug!(kind = %plugin.kind, provider = %plugin.provider, "plugin connected");
                active.connected.push(plugin);
            }
            Ok((plugin, Err(error))) => failures.push(ConnectFailure {
                kind: plugin.kind,
                provider: plugin.provider,
                error,
            }),
            // A panicking plugin is a bug in that plugin; it must not take
            // the others' cleanup down with it.
            Err(join_error) => failures.push(ConnectFailure {
                kind: PluginKind::Monitoring,
                provider: "unknown".to_owned(),
                error: Error::other(format!("a plugin's connect task failed: {join_error}")),
            }),
        }
    }
    failures.sort_by_key(|f| f.kind);
    (active, failures)
}

impl ActivePlugins {
    /// The plugin serving `kind`.
    pub fn get(&self, kind: PluginKind) -> Option<&PluginInstance> {
        self.connected
            .iter()
            .find(|p| p.kind == kind)
            .map(|p| &p.instance)
    }

    /// The connected plugins by the names workflows use for them (their
    /// kind).
    pub fn instances(&self) -> std::collections::BTreeMap<String, PluginInstance> {
        self.connected
            .iter()
            .map(|p| (p.kind.as_str().to_owned(), p.instance.clone()))
            .collect()
    }

    /// The connected plugins, in the order they connected.
    pub fn iter(&self) -> impl Iterator<Item = &ConfiguredPlugin> {
        self.connected.iter()
    }

    /// Asks every plugin for its health, concurrently, each within the
    /// timeout; a plugin that does not answer in time is unhealthy.
    pub async fn health(&self) -> Vec<HealthReport> {
        let checks = self.connected.iter().map(|plugin| async move {
            let started = Instant::now();
            let health =
                tokio::time::timeout(self.call_timeout, plugin.instance.plugin().health_check())
                    .await
                    .unwrap_or_else(|_| {
                        Health::Unhealthy(format!(
                            "no answer within {}s",
                            self.call_timeout.as_secs_f64()
                        ))
                    });
            HealthReport {
                kind: plugin.kind,
                provider: plugin.provider.clone(),
                origin: plugin.origin.clone(),
                health,
                elapsed_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
            }
        });
        let mut reports = futures_util::future::join_all(checks).await;
        reports.sort_by_key(|r| r.kind);
        reports
    }

    /// Disconnects every plugin in reverse order of connection, each within
    /// the timeout, and returns what failed (failures do not stop the rest).
    pub async fn shutdown(mut self) -> Vec<Error> {
        let mut errors = Vec::new();
        while let Some(plugin) = self.connected.pop() {
            let outcome =
                tokio::time::timeout(self.call_timeout, plugin.instance.plugin().disconnect())
                    .await;
            let error = match outcome {
                Ok(Ok(())) => None,
                Ok(Err(err)) => Some(err.in_call(&plugin.provider, "disconnect")),
                Err(_) => Some(
                    Error::timeout("did not disconnect in time")
                        .in_call(&plugin.provider, "disconnect"),
                ),
            };
            match error {
                Some(error) => {
                    tracing::warn!(%error, "plugin did not disconnect cleanly");
                    errors.push(error);
                }
                None => {
                    tracing::debug!(kind = %plugin.kind, provider = %plugin.provider, "plugin disconnected")
                }
            }
        }
        errors
    }
}

/// Connects `plugins`, runs `body` with them, and disconnects them whatever
/// happens: when `body` finishes, and when `shutdown` (Ctrl-C, in the CLI)
/// fires first, in which case `body` is dropped mid-way.
pub async fn with_plugins<T>(
    plugins: Vec<ConfiguredPlugin>,
    timeout: Duration,
    shutdown: impl Future<Output = ()>,
    body: impl AsyncFnOnce(&ActivePlugins) -> T,
) -> Result<T, LifecycleError> {
    let active = connect_all(plugins, timeout).await?;
    let outcome = {
        let run = body(&active);
        tokio::select! {
            value = run => Some(value),
            () = shutdown => None,
        }
    };
    active.shutdown().await;
    outcome.ok_or(LifecycleError::Interrupted)
}

/// Resolves when the process receives Ctrl-C (SIGINT) or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = terminate => {}
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use aido_plugin_api::{PluginConfig, PluginKind};

    use super::*;
    use crate::testing::{Behaviour, Fake};

    fn configured(
        kind: PluginKind,
        name: &str,
        log: &Arc<Mutex<Vec<String>>>,
        behaviour: Behaviour,
    ) -> ConfiguredPlugin {
        let factory = Fake::factory(kind, name, log.clone(), behaviour);
        ConfiguredPlugin {
            kind,
            provider: name.to_owned(),
            origin: "test".to_owned(),
            instance: factory.create(),
            config: PluginConfig::new(kind.as_str(), serde_json::json!({}), ".", ".aido"),
        }
    }

    fn delayed(ms: u64) -> Behaviour {
        Behaviour {
            connect_delay: Duration::from_millis(ms),
            ..Default::default()
        }
    }

    #[tokio::test]
    async fn disconnects_in_reverse_order_of_connection() {
        let log = Arc::new(Mutex::new(Vec::new()));
        let plugins = vec![
            configured(PluginKind::TaskManagement, "slow", &log, delayed(60)),
            configured(PluginKind::VersionControl, "fast", &log, delayed(0)),
            configured(PluginKind::Documentation, "middle", &log, delayed(30)),
        ];
        let out = with_plugins(
            plugins,
            Duration::from_secs(5),
            std::future::pending(),
            async |active: &ActivePlugins| active.health().await.len(),
        )
        .await
        .unwrap();
        assert_eq!(out, 3);
        assert_eq!(
            *log.lock().unwrap(),
            vec![
                "connect fast",
                "connect middle",
                "connect slow",
                "disconnect slow",
                "disconnect middle",
                "disconnect fast"
            ]
        );
    }

    #[tokio::test]
    async fn a_failed_connect_disconnects_the_others_and_reports_it() {
        let log = Arc::new(Mutex::new(Vec::new()));
        let plugins = vec![
            configured(PluginKind::TaskManagement, "good", &log, delayed(0)),
            configured(
                PluginKind::VersionControl,
                "bad",
                &log,
                Behaviour {
                    fail_connect: true,
                    connect_delay: Duration::from_millis(20),
                    ..Default::default()
                },
            ),
            configured(PluginKind::Monitoring, "hangs", &log, delayed(10_000)),
        ];
        let err = connect_all(plugins, Duration::from_millis(200))
            .await
            .unwrap_err();
        let text = err.to_string();
        assert!(text.contains("version_control plugin `bad` did not connect: bad: connect: connection: service unreachable"), "{text}");
        assert!(
            text.contains("monitoring plugin `hangs` did not connect: hangs: connect: timeout"),
            "{text}"
        );
        assert_eq!(
            *log.lock().unwrap(),
            vec!["connect good", "connect-failed bad", "disconnect good"]
        );
    }

    #[tokio::test]
    async fn an_interrupt_drops_the_work_and_still_disconnects() {
        let log = Arc::new(Mutex::new(Vec::new()));
        let plugins = vec![
            configured(PluginKind::TaskManagement, "a", &log, delayed(0)),
            configured(PluginKind::Communication, "b", &log, delayed(5)),
        ];
        let interrupt = tokio::time::sleep(Duration::from_millis(50));
        let finished = Arc::new(Mutex::new(false));
        let flag = finished.clone();
        let err = with_plugins(
            plugins,
            Duration::from_secs(5),
            interrupt,
            async move |_: &ActivePlugins| {
                tokio::time::sleep(Duration::from_secs(30)).await;
                *flag.lock().unwrap() = true;
            },
        )
        .await
        .unwrap_err();
        assert!(matches!(err, LifecycleError::Interrupted));
        assert!(!*finished.lock().unwrap());
        assert_eq!(
            *log.lock().unwrap(),
            vec!["connect a", "connect b", "disconnect b", "disconnect a"]
        );
    }

    #[tokio::test]
    async fn a_failing_disconnect_does_not_stop_the_others() {
        let log = Arc::new(Mutex::new(Vec::new()));
        let plugins = vec![
            configured(PluginKind::TaskManagement, "first", &log, delayed(0)),
            configured(
                PluginKind::Monitoring,
                "broken",
                &log,
                Behaviour {
                    fail_disconnect: true,
                    connect_delay: Duration::from_millis(20),
                    ..Default::default()
                },
            ),
        ];
        let active = connect_all(plugins, Duration::from_secs(5)).await.unwrap();
        let errors = active.shutdown().await;
        assert_eq!(errors.len(), 1);
        assert_eq!(
            *log.lock().unwrap(),
            vec![
                "connect first",
                "connect broken",
                "disconnect broken",
                "disconnect first"
            ]
        );
    }
}
