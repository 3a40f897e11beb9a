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
    instance.plugin().connect(&config).await.unwrap_or_else(|err| panic!("{name}: {err}"));
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
