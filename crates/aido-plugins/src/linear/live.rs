//! Read-only checks against the real Linear API, run only when
//! `AIDO_LIVE_LINEAR_API_KEY` and `AIDO_LIVE_LINEAR_TEAM` are set; skipped
//! with a message otherwise. Nothing is created or changed.

use aido_plugin_api::{CallContext, Health, PluginConfig};
use serde_json::json;

use super::factory;

fn credentials() -> Option<(String, String)> {
    let key = std::env::var("AIDO_LIVE_LINEAR_API_KEY").ok()?;
    let team = std::env::var("AIDO_LIVE_LINEAR_TEAM").ok()?;
    Some((key, team))
}

#[tokio::test]
async fn live_linear_reads_the_team_s_tasks() {
    let Some((key, team)) = credentials() else {
        eprintln!(
            "skipped: set AIDO_LIVE_LINEAR_API_KEY and AIDO_LIVE_LINEAR_TEAM to run the live \
             Linear test"
        );
        return;
    };
    let plugin = factory().create();
    let config = PluginConfig::new(
        "task_management",
        json!({"connection": {"api_key": key, "team_id": team}}),
        ".",
        ".aido",
    );
    plugin.plugin().connect(&config).await.unwrap();
    assert_eq!(plugin.plugin().health_check().await, Health::Healthy);
    let tasks = plugin
        .call(
            &CallContext::detached(),
            "get_project_tasks",
            json!({"limit": 3}),
        )
        .await
        .unwrap();
    let tasks = tasks.as_array().unwrap();
    assert!(tasks.len() <= 3);
    if let Some(first) = tasks.first() {
        let id = first["id"].as_str().unwrap();
        let task = plugin
            .call(&CallContext::detached(), "get_task", json!({"task_id": id}))
            .await
            .unwrap();
        assert_eq!(task["id"], id);
        plugin
            .call(
                &CallContext::detached(),
                "get_task_history",
                json!({"task_id": id}),
            )
            .await
            .unwrap();
    }
    plugin.plugin().disconnect().await.unwrap();
}
