//! The `documentation` kind: Confluence, Notion, Markdown pages.

use crate::model::NoInput;
use crate::model::docs::{
    NewPage, NewSpace, Page, PageLookup, PageRef, PageSearch, PageSummary, PageUpdate, PageVersion,
    Space,
};

super::plugin_kind! {
    /// A documentation space: pages in spaces, every version kept.
    kind Documentation, trait Documentation {
        /// Creates a page.
        write fn create_page(NewPage) -> Page;
        /// Replaces a page's content, making a new version.
        write fn update_page(PageUpdate) -> Page;
        /// Fetches a page.
        read fn get_page(PageRef) -> Page;
        /// Finds a page by its exact title within a space.
        read fn find_page(PageLookup) -> Option<Page>;
        /// Deletes a page.
        write fn delete_page(PageRef) -> ();
        /// Searches pages by text.
        read fn search_pages(PageSearch) -> Vec<PageSummary>;
        /// Creates a space.
        write fn create_space(NewSpace) -> Space;
        /// Lists the spaces.
        read fn list_spaces(NoInput) -> Vec<Space>;
        /// Lists a page's versions, oldest first.
        read fn get_page_history(PageRef) -> Vec<PageVersion>;
        /// Creates the page of this title in the space, or updates it if it
        /// exists; an unchanged page gets no new version.
        /// (Plugins without a single call for it can delegate to
        /// [`publish_page_by_title`].)
        write fn publish_page(NewPage) -> Page;
    }
}

/// `publish_page` built from `find_page`, `update_page` and `create_page`,
/// for plugins whose service has no single call for it.
pub async fn publish_page_by_title<P: Documentation + ?Sized>(
    plugin: &P,
    cx: &crate::CallContext,
    page: NewPage,
) -> crate::Result<Page> {
    let lookup = PageLookup {
        space: page.space.clone(),
        title: page.title.clone(),
    };
    match plugin.find_page(cx, lookup).await? {
        Some(existing) if existing.content == page.content => Ok(existing),
        Some(existing) => {
            let update = PageUpdate {
                page_id: existing.id,
                content: page.content,
                title: None,
                message: None,
            };
            plugin.update_page(cx, update).await
        }
        None => plugin.create_page(cx, page).await,
    }
}
