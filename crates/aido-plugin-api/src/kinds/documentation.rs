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
    }
}
