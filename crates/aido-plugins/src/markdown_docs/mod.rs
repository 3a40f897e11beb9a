//! The `markdown` documentation plugin: pages as Markdown files with YAML
//! front matter in a folder, every version kept, for working with no
//! account and no network.
//!
//! # On disk
//!
//! ```text
//! <dir>/                                   `.aido/docs` by default
//!   .lock                                  held by writers
//!   <space>/                               one folder per space, named by its key
//!     space.yaml                           name, description
//!     <slug>.md                            a page's current version
//!     .history/<slug>/<version>.md         every version, the current one included
//!     .trash/<slug>-<time>/                a deleted page: its versions and deleted.yaml
//! ```
//!
//! A page's id is `<space>/<slug>`, the slug made from its first title
//! (`Release Notes` → `release-notes`, then `release-notes-2` if taken); it
//! stays when the title changes. A page file:
//!
//! ```text
//! ---
//! id: eng/release-notes
//! title: Release Notes
//! version: 2
//! parent_id: null
//! updated: "2025-01-05T10:02:00Z"
//! author: aido
//! message: Add 1.2
//! ---
//!
//! The content, Markdown.
//! ```
//!
//! Every `<slug>.md` in a space folder is a page and must have this front
//! matter; dot-named entries (`.history`, `.trash`) are not pages.
//! Titles are unique within a space, so `find_page` is exact. A call made
//! under an idempotency key stores it as `idempotency_key` (in the version's
//! front matter, `space.yaml` or `deleted.yaml`), so a retried call returns
//! what the first made. Writing a page into a space that does not exist
//! creates the space, named by its key.

mod config;
mod layout;
mod names;
mod records;
mod search;
mod spaces;
mod store;
#[cfg(test)]
mod tests;

use std::sync::{Arc, LazyLock, RwLock};

use aido_plugin_api::model::NoInput;
use aido_plugin_api::model::docs::{
    NewPage, NewSpace, Page, PageLookup, PageRef, PageSearch, PageSummary, PageUpdate, PageVersion,
    Space,
};
use aido_plugin_api::{
    CallContext, ConfigProblem, Documentation, Error, Health, Plugin, PluginConfig, PluginFactory,
    PluginInstance, PluginKind, PluginMetadata, Result, async_trait,
};

use config::Config;
use store::DocStore;

static META: LazyLock<PluginMetadata> = LazyLock::new(|| {
    PluginMetadata::new::<Config>(
        "markdown",
        PluginKind::Documentation,
        env!("CARGO_PKG_VERSION"),
        "Documentation pages as Markdown files in a local folder, every version kept.",
    )
    .with_env_prefix("AIDO_DOCS")
});

/// The factory of the `markdown` documentation plugin.
pub fn factory() -> PluginFactory {
    PluginFactory::new(META.clone(), || {
        PluginInstance::Documentation(Arc::new(MarkdownDocs::default()))
    })
}

/// The `markdown` documentation plugin: unconnected until
/// [`Plugin::connect`].
#[derive(Debug, Default)]
pub(crate) struct MarkdownDocs {
    store: RwLock<Option<Arc<DocStore>>>,
}

impl MarkdownDocs {
    fn connected(&self) -> Result<Arc<DocStore>> {
        let store = self
            .store
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        store.clone().ok_or_else(|| {
            Error::configuration(
                "the `markdown` documentation plugin is not connected; call connect first",
            )
        })
    }

    /// Runs blocking file work off the async runtime.
    async fn run<R: Send + 'static>(
        &self,
        job: impl FnOnce(&DocStore) -> Result<R> + Send + 'static,
    ) -> Result<R> {
        let store = self.connected()?;
        tokio::task::spawn_blocking(move || job(&store))
            .await
            .map_err(|err| {
                Error::other(format!(
                    "the documentation folder job did not finish: {err}"
                ))
            })?
    }
}

/// Creates the folder and returns its absolute path, which page URLs need.
fn prepare_folder(dir: &std::path::Path) -> std::io::Result<std::path::PathBuf> {
    std::fs::create_dir_all(dir)?;
    let absolute = std::fs::canonicalize(dir)?;
    // Windows' canonical form (`\\?\C:\...`) is no path a user would type.
    let shown = absolute.to_string_lossy();
    Ok(shown
        .strip_prefix(r"\\?\")
        .map(std::path::PathBuf::from)
        .unwrap_or(absolute))
}

#[async_trait]
impl Plugin for MarkdownDocs {
    fn metadata(&self) -> &PluginMetadata {
        &META
    }

    fn validate_config(&self, config: &PluginConfig) -> Vec<ConfigProblem> {
        match config.parse::<Config>() {
            Ok(parsed) => parsed.problems(),
            Err(err) => vec![ConfigProblem::new("", err.message())],
        }
    }

    async fn connect(&self, config: &PluginConfig) -> Result<()> {
        let parsed: Config = config.parse()?;
        if let Some(problem) = parsed.problems().into_iter().next() {
            return Err(Error::configuration(format!(
                "{}: {}",
                problem.path, problem.message
            )));
        }
        let dir = config.resolve_path(&parsed.connection.dir);
        let prepared = dir.clone();
        let root = tokio::task::spawn_blocking(move || prepare_folder(&prepared))
            .await
            .map_err(|err| {
                Error::other(format!(
                    "creating the documentation folder did not finish: {err}"
                ))
            })?
            .map_err(|err| {
                Error::configuration(format!(
                    "cannot create the documentation folder {}: {err}",
                    dir.display()
                ))
            })?;
        let store = DocStore::new(root, parsed.options.author);
        *self
            .store
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = Some(Arc::new(store));
        Ok(())
    }

    async fn disconnect(&self) -> Result<()> {
        *self
            .store
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = None;
        Ok(())
    }

    async fn health_check(&self) -> Health {
        match self.run(|store| Ok(store.check_writable())).await {
            Ok(Ok(())) => Health::Healthy,
            Ok(Err(reason)) => Health::Unhealthy(reason),
            Err(err) => Health::Unhealthy(err.message().to_owned()),
        }
    }
}

#[async_trait]
impl Documentation for MarkdownDocs {
    async fn create_page(&self, cx: &CallContext, input: NewPage) -> Result<Page> {
        let key = cx.idempotency_key.clone();
        self.run(move |store| store.create_page(input, key)).await
    }

    async fn update_page(&self, cx: &CallContext, input: PageUpdate) -> Result<Page> {
        let key = cx.idempotency_key.clone();
        self.run(move |store| store.update_page(input, key)).await
    }

    async fn get_page(&self, _cx: &CallContext, input: PageRef) -> Result<Page> {
        self.run(move |store| store.get_page(&input.page_id)).await
    }

    async fn find_page(&self, _cx: &CallContext, input: PageLookup) -> Result<Option<Page>> {
        self.run(move |store| store.find_page(&input.space, &input.title))
            .await
    }

    async fn delete_page(&self, cx: &CallContext, input: PageRef) -> Result<()> {
        let key = cx.idempotency_key.clone();
        self.run(move |store| store.delete_page(&input.page_id, key))
            .await
    }

    async fn search_pages(&self, _cx: &CallContext, input: PageSearch) -> Result<Vec<PageSummary>> {
        self.run(move |store| store.search_pages(input)).await
    }

    async fn create_space(&self, cx: &CallContext, input: NewSpace) -> Result<Space> {
        let key = cx.idempotency_key.clone();
        self.run(move |store| store.create_space(input, key)).await
    }

    async fn list_spaces(&self, _cx: &CallContext, _input: NoInput) -> Result<Vec<Space>> {
        self.run(|store| store.list_spaces()).await
    }

    async fn get_page_history(
        &self,
        _cx: &CallContext,
        input: PageRef,
    ) -> Result<Vec<PageVersion>> {
        self.run(move |store| store.page_history(&input.page_id))
            .await
    }

    async fn publish_page(&self, cx: &CallContext, input: NewPage) -> Result<Page> {
        // Files hold no transaction across find and write; the store's
        // folder lock makes each half safe, and a racing writer of the same
        // title is refused by create_page's uniqueness check.
        aido_plugin_api::publish_page_by_title(self, cx, input).await
    }
}
