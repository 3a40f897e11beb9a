//! The plugin: spaces and pages with every version, kept in memory.
//! Replace the bodies with calls to your wiki.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use aido_plugin_api::model::NoInput;
use aido_plugin_api::model::docs::{
    NewPage, NewSpace, Page, PageLookup, PageRef, PageSearch, PageSummary, PageUpdate, PageVersion,
    Space,
};
use aido_plugin_api::{
    CallContext, ConfigProblem, Documentation, Error, Health, Plugin, PluginConfig, PluginInstance,
    PluginMetadata, Result, async_trait,
};
use chrono::Utc;

use crate::config::{Config, META};

/// The plugin, ready to serve.
pub fn instance() -> PluginInstance {
    PluginInstance::Documentation(Arc::new({{struct}}::default()))
}

/// A page's versions, oldest first (the last is the page), each with its
/// message.
type Versions = Vec<(Page, Option<String>)>;

/// What the plugin keeps.
#[derive(Default)]
struct State {
    prefix: String,
    next: u64,
    spaces: Vec<Space>,
    /// Page id → every version.
    pages: Vec<(String, Versions)>,
    /// Idempotency key → the page made under it.
    made: HashMap<String, String>,
}

impl State {
    fn versions(&mut self, id: &str) -> Result<&mut Versions> {
        self.pages
            .iter_mut()
            .find(|(page_id, _)| page_id == id)
            .map(|(_, versions)| versions)
            .ok_or_else(|| Error::not_found(format!("no page {id}")))
    }

    fn page(&mut self, id: &str) -> Result<Page> {
        let versions = self.versions(id)?;
        versions
            .last()
            .map(|(page, _)| page.clone())
            .ok_or_else(|| Error::not_found(format!("no page {id}")))
    }

    fn space(&mut self, key: &str) {
        if !self.spaces.iter().any(|space| space.key == key) {
            self.spaces.push(Space {
                key: key.to_owned(),
                name: key.to_owned(),
                description: String::new(),
                url: None,
            });
        }
    }

    fn find(&self, space: &str, title: &str) -> Option<Page> {
        self.pages
            .iter()
            .filter_map(|(_, versions)| versions.last().map(|(page, _)| page))
            .find(|page| page.space == space && page.title == title)
            .cloned()
    }
}

/// A documentation space in memory.
#[derive(Default)]
pub struct {{struct}} {
    state: Mutex<State>,
}

impl {{struct}} {
    fn state(&self) -> MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[async_trait]
impl Plugin for {{struct}} {
    fn metadata(&self) -> &PluginMetadata {
        &META
    }

    fn validate_config(&self, config: &PluginConfig) -> Vec<ConfigProblem> {
        crate::config::problems(config)
    }

    async fn connect(&self, config: &PluginConfig) -> Result<()> {
        let config: Config = config.parse()?;
        self.state().prefix = config.prefix_or("PAGE");
        Ok(())
    }

    async fn disconnect(&self) -> Result<()> {
        Ok(())
    }

    async fn health_check(&self) -> Health {
        Health::Healthy
    }
}

#[async_trait]
impl Documentation for {{struct}} {
    async fn create_page(&self, cx: &CallContext, input: NewPage) -> Result<Page> {
        let mut state = self.state();
        if let Some(id) = cx
            .idempotency_key
            .as_ref()
            .and_then(|key| state.made.get(key))
        {
            let id = id.clone();
            return state.page(&id);
        }
        if let Some(parent) = &input.parent_id {
            state.page(parent)?;
        }
        state.space(&input.space);
        state.next += 1;
        let page = Page {
            id: format!("{}-{}", state.prefix, state.next),
            space: input.space,
            title: input.title,
            content: input.content,
            version: 1,
            url: None,
            parent_id: input.parent_id,
            updated: Utc::now(),
        };
        if let Some(key) = &cx.idempotency_key {
            state.made.insert(key.clone(), page.id.clone());
        }
        state
            .pages
            .push((page.id.clone(), vec![(page.clone(), None)]));
        Ok(page)
    }

    async fn update_page(&self, _cx: &CallContext, input: PageUpdate) -> Result<Page> {
        let mut state = self.state();
        let current = state.page(&input.page_id)?;
        let title = input.title.unwrap_or_else(|| current.title.clone());
        if current.content == input.content && current.title == title {
            // Nothing changed (or a retry): no new version.
            return Ok(current);
        }
        let page = Page {
            content: input.content,
            title,
            version: current.version + 1,
            updated: Utc::now(),
            ..current
        };
        state
            .versions(&input.page_id)?
            .push((page.clone(), input.message));
        Ok(page)
    }

    async fn get_page(&self, _cx: &CallContext, input: PageRef) -> Result<Page> {
        self.state().page(&input.page_id)
    }

    async fn find_page(&self, _cx: &CallContext, input: PageLookup) -> Result<Option<Page>> {
        Ok(self.state().find(&input.space, &input.title))
    }

    async fn delete_page(&self, _cx: &CallContext, input: PageRef) -> Result<()> {
        let mut state = self.state();
        state.page(&input.page_id)?;
        state.pages.retain(|(id, _)| id != &input.page_id);
        Ok(())
    }

    async fn search_pages(&self, _cx: &CallContext, input: PageSearch) -> Result<Vec<PageSummary>> {
        let state = self.state();
        let query = input.query.to_lowercase();
        let limit = input.limit.map_or(usize::MAX, |limit| limit as usize);
        Ok(state
            .pages
            .iter()
            .filter_map(|(_, versions)| versions.last().map(|(page, _)| page))
            .filter(|page| {
                input
                    .space
                    .as_ref()
                    .is_none_or(|space| &page.space == space)
            })
            .filter(|page| {
                format!("{}\n{}", page.title, page.content)
                    .to_lowercase()
                    .contains(&query)
            })
            .take(limit)
            .map(|page| PageSummary {
                id: page.id.clone(),
                space: page.space.clone(),
                title: page.title.clone(),
                url: None,
                excerpt: page.content.chars().take(200).collect(),
            })
            .collect())
    }

    async fn create_space(&self, _cx: &CallContext, input: NewSpace) -> Result<Space> {
        let mut state = self.state();
        state.space(&input.key);
        let space = state
            .spaces
            .iter_mut()
            .find(|space| space.key == input.key)
            .ok_or_else(|| Error::other("the space vanished"))?;
        space.name = input.name;
        space.description = input.description;
        Ok(space.clone())
    }

    async fn list_spaces(&self, _cx: &CallContext, _input: NoInput) -> Result<Vec<Space>> {
        Ok(self.state().spaces.clone())
    }

    async fn get_page_history(
        &self,
        _cx: &CallContext,
        input: PageRef,
    ) -> Result<Vec<PageVersion>> {
        let mut state = self.state();
        Ok(state
            .versions(&input.page_id)?
            .iter()
            .map(|(page, message)| PageVersion {
                version: page.version,
                title: page.title.clone(),
                updated: page.updated,
                author: None,
                message: message.clone(),
            })
            .collect())
    }

    async fn publish_page(&self, cx: &CallContext, input: NewPage) -> Result<Page> {
        let existing = self.state().find(&input.space, &input.title);
        match existing {
            None => self.create_page(cx, input).await,
            Some(page) => {
                let update = PageUpdate {
                    page_id: page.id,
                    content: input.content,
                    title: None,
                    message: None,
                };
                self.update_page(cx, update).await
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use aido_plugin_api::{CallContext, ErrorKind, PluginConfig, PluginInstance};
    use serde_json::{Value, json};

    use super::instance;

    /// The plugin, connected, called through the action catalog exactly as
    /// aido calls it.
    async fn connected() -> PluginInstance {
        let plugin = instance();
        let config = PluginConfig::new("documentation", json!({}), ".", ".aido");
        plugin.plugin().connect(&config).await.unwrap();
        plugin
    }

    async fn call(plugin: &PluginInstance, action: &str, input: Value) -> Value {
        plugin
            .call(&CallContext::detached(), action, input)
            .await
            .unwrap()
    }

    #[tokio::test]
    async fn pages_keep_every_version() {
        let plugin = connected().await;
        let page = call(
            &plugin,
            "create_page",
            json!({"space": "eng", "title": "Setup", "content": "zebra"}),
        )
        .await;
        let updated = call(
            &plugin,
            "update_page",
            json!({"page_id": page["id"], "content": "zebra 2"}),
        )
        .await;
        assert_eq!(updated["version"], 2);
        let history = call(&plugin, "get_page_history", json!({"page_id": page["id"]})).await;
        assert_eq!(history.as_array().unwrap().len(), 2);
        let found = call(
            &plugin,
            "find_page",
            json!({"space": "eng", "title": "Setup"}),
        )
        .await;
        assert_eq!(found["id"], page["id"]);
        let hits = call(&plugin, "search_pages", json!({"query": "ZEBRA"})).await;
        assert_eq!(hits[0]["id"], page["id"]);
    }

    #[tokio::test]
    async fn publishing_unchanged_content_makes_no_version() {
        let plugin = connected().await;
        let input = json!({"space": "eng", "title": "Notes", "content": "a"});
        let first = call(&plugin, "publish_page", input.clone()).await;
        let again = call(&plugin, "publish_page", input).await;
        assert_eq!((&again["id"], &again["version"]), (&first["id"], &json!(1)));
        call(
            &plugin,
            "create_space",
            json!({"key": "eng", "name": "Engineering"}),
        )
        .await;
        let spaces = call(&plugin, "list_spaces", json!({})).await;
        assert_eq!(spaces[0]["name"], "Engineering");
    }

    #[tokio::test]
    async fn a_deleted_page_is_gone() {
        let plugin = connected().await;
        let page = call(
            &plugin,
            "create_page",
            json!({"space": "eng", "title": "Old", "content": "x"}),
        )
        .await;
        call(&plugin, "delete_page", json!({"page_id": page["id"]})).await;
        let err = plugin
            .call(
                &CallContext::detached(),
                "get_page",
                json!({"page_id": page["id"]}),
            )
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::NotFound);
    }
}
