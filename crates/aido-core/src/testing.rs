//! A recording plugin for the engine's own tests.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use aido_plugin_api::model::NoInput;
use aido_plugin_api::model::monitoring::{ErrorReport, Metric, MetricsExport, MonitoringEvent};
use aido_plugin_api::{
    CallContext, ConfigProblem, Error, Health, Monitoring, Plugin, PluginConfig, PluginFactory,
    PluginInstance, PluginKind, PluginMetadata, Result, Secret, async_trait,
};
use schemars::JsonSchema;
use serde::Deserialize;

/// The configuration of the fake: shaped like a service plugin's.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
pub struct FakeConfig {
    #[serde(default)]
    pub connection: Option<FakeConnection>,
    #[serde(default)]
    pub mappings: Option<FakeMappings>,
    #[serde(default)]
    pub options: Option<FakeOptions>,
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
pub struct FakeConnection {
    pub api_key: Secret,
    #[serde(default)]
    pub team_id: Option<String>,
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
pub struct FakeMappings {
    #[serde(default)]
    pub statuses: std::collections::BTreeMap<String, String>,
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
pub struct FakeOptions {
    #[serde(default)]
    pub cache_ttl: Option<u64>,
    #[serde(default)]
    pub verbose: Option<bool>,
}

/// How the fake behaves.
#[derive(Clone, Default)]
pub struct Behaviour {
    pub fail_connect: bool,
    pub connect_delay: Duration,
    pub fail_disconnect: bool,
    /// `validate_config` reports this problem for `mappings.statuses.done`
    /// when set.
    pub reject_done_mapping: bool,
}

/// A plugin that records its lifecycle calls in a shared log.
pub struct Fake {
    meta: PluginMetadata,
    log: Arc<Mutex<Vec<String>>>,
    behaviour: Behaviour,
}

impl Fake {
    pub fn factory(kind: PluginKind, name: &str, log: Arc<Mutex<Vec<String>>>, behaviour: Behaviour) -> PluginFactory {
        let meta = PluginMetadata::new::<FakeConfig>(name, kind, "1.0.0", "A fake for tests.");
        let made = meta.clone();
        PluginFactory::new(meta, move || {
            PluginInstance::Monitoring(Arc::new(Fake { meta: made.clone(), log: log.clone(), behaviour: behaviour.clone() }))
        })
    }

    fn record(&self, what: &str) {
        self.log.lock().unwrap().push(format!("{what} {}", self.meta.name));
    }
}

#[async_trait]
impl Plugin for Fake {
    fn metadata(&self) -> &PluginMetadata {
        &self.meta
    }
    fn validate_config(&self, config: &PluginConfig) -> Vec<ConfigProblem> {
        let done = config.value().pointer("/mappings/statuses/done");
        if self.behaviour.reject_done_mapping && done.is_some() {
            return vec![ConfigProblem::new("mappings.statuses.done", "no such state in the service")];
        }
        Vec::new()
    }
    async fn connect(&self, _: &PluginConfig) -> Result<()> {
        tokio::time::sleep(self.behaviour.connect_delay).await;
        if self.behaviour.fail_connect {
            self.record("connect-failed");
            return Err(Error::connection("service unreachable"));
        }
        self.record("connect");
        Ok(())
    }
    async fn disconnect(&self) -> Result<()> {
        self.record("disconnect");
        if self.behaviour.fail_disconnect {
            return Err(Error::other("could not close"));
        }
        Ok(())
    }
    async fn health_check(&self) -> Health {
        Health::Healthy
    }
}

#[async_trait]
impl Monitoring for Fake {
    async fn record_metric(&self, _: &CallContext, _: Metric) -> Result<()> {
        Ok(())
    }
    async fn record_event(&self, _: &CallContext, _: MonitoringEvent) -> Result<()> {
        Ok(())
    }
    async fn report_error(&self, _: &CallContext, _: ErrorReport) -> Result<()> {
        Ok(())
    }
    async fn flush(&self, _: &CallContext, _: NoInput) -> Result<()> {
        Ok(())
    }
    async fn export_metrics(&self, _: &CallContext, _: NoInput) -> Result<MetricsExport> {
        Ok(MetricsExport { content_type: "text/plain".into(), body: String::new() })
    }
}

/// A registry with a fake under every default name, plus `linear`
/// (task_management) and `github` (version_control).
pub fn registry(log: Arc<Mutex<Vec<String>>>) -> crate::Registry {
    let mut factories = Vec::new();
    for kind in PluginKind::ALL {
        factories.push(Fake::factory(kind, crate::config::default_provider(kind), log.clone(), Behaviour::default()));
    }
    factories.push(Fake::factory(PluginKind::TaskManagement, "linear", log.clone(), Behaviour { reject_done_mapping: true, ..Default::default() }));
    factories.push(Fake::factory(PluginKind::VersionControl, "github", log, Behaviour::default()));
    crate::Registry::with(factories).unwrap()
}
