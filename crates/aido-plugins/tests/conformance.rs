//! The embedded defaults pass their kinds' conformance suites, called
//! through the action catalog as the engine calls them.

use aido_plugin_api::{PluginConfig, PluginInstance, PluginKind};
use aido_testkit::conformance;

async fn connected(kind: PluginKind, name: &str, dir: &std::path::Path) -> PluginInstance {
    let factory = aido_plugins::builtins()
        .into_iter()
        .find(|f| f.metadata().kind == kind && f.metadata().name == name)
        .unwrap_or_else(|| panic!("no built-in {kind} plugin `{name}`"));
    let instance = factory.create();
    let config = PluginConfig::new(kind.as_str(), serde_json::json!({}), dir, dir.join(".aido"));
    instance
        .plugin()
        .connect(&config)
        .await
        .unwrap_or_else(|err| panic!("{name}: {err}"));
    instance
}

#[tokio::test]
async fn local_tasks_conform() {
    let dir = tempfile::tempdir().unwrap();
    let plugin = connected(PluginKind::TaskManagement, "local", dir.path()).await;
    conformance::task_management(&plugin).await.assert_passed();
}

#[tokio::test]
async fn markdown_docs_conform() {
    let dir = tempfile::tempdir().unwrap();
    let plugin = connected(PluginKind::Documentation, "markdown", dir.path()).await;
    conformance::documentation(&plugin).await.assert_passed();
}

#[tokio::test]
async fn console_conforms() {
    let dir = tempfile::tempdir().unwrap();
    let plugin = connected(PluginKind::Communication, "console", dir.path()).await;
    conformance::communication(&plugin).await.assert_passed();
}

/// A transport that sends every action as JSON to another plugin: what an
/// external plugin process looks like to the engine.
struct Loopback(PluginInstance);

#[aido_plugin_api::async_trait]
impl aido_plugin_api::Plugin for Loopback {
    fn metadata(&self) -> &aido_plugin_api::PluginMetadata {
        self.0.plugin().metadata()
    }
    async fn connect(&self, config: &PluginConfig) -> aido_plugin_api::Result<()> {
        self.0.plugin().connect(config).await
    }
    async fn disconnect(&self) -> aido_plugin_api::Result<()> {
        self.0.plugin().disconnect().await
    }
    async fn health_check(&self) -> aido_plugin_api::Health {
        self.0.plugin().health_check().await
    }
}

#[aido_plugin_api::async_trait]
impl aido_plugin_api::Transport for Loopback {
    async fn call_action(
        &self,
        cx: &aido_plugin_api::CallContext,
        kind: PluginKind,
        action: &str,
        input: serde_json::Value,
    ) -> aido_plugin_api::Result<serde_json::Value> {
        assert_eq!(kind, self.0.kind());
        self.0.call(cx, action, input).await
    }
}

#[tokio::test]
async fn a_plugin_behind_a_json_transport_conforms_too() {
    let dir = tempfile::tempdir().unwrap();
    let inner = connected(PluginKind::TaskManagement, "local", dir.path()).await;
    let forwarded =
        aido_plugin_api::Forward::new(Loopback(inner)).into_instance(PluginKind::TaskManagement);
    conformance::task_management(&forwarded)
        .await
        .assert_passed();
}
