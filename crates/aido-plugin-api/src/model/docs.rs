//! Pages and spaces: the `documentation` kind's data.

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// A documentation page.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Page {
    /// The service's identifier.
    pub id: String,
    /// The space it lives in.
    pub space: String,
    /// Its title.
    pub title: String,
    /// Its content, Markdown.
    pub content: String,
    /// Its version, counting from 1.
    pub version: u32,
    /// A link to it.
    #[serde(default)]
    pub url: Option<String>,
    /// Its parent page, if any.
    #[serde(default)]
    pub parent_id: Option<String>,
    /// When it last changed.
    pub updated: DateTime<Utc>,
}

/// A search hit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct PageSummary {
    /// The page's identifier.
    pub id: String,
    /// Its space.
    pub space: String,
    /// Its title.
    pub title: String,
    /// A link to it.
    #[serde(default)]
    pub url: Option<String>,
    /// Text around the match.
    #[serde(default)]
    pub excerpt: String,
}

/// One version of a page.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct PageVersion {
    /// The version number.
    pub version: u32,
    /// The title at that version.
    pub title: String,
    /// When it was written.
    pub updated: DateTime<Utc>,
    /// Who wrote it.
    #[serde(default)]
    pub author: Option<String>,
    /// Why, when the writer said.
    #[serde(default)]
    pub message: Option<String>,
}

/// A space: a group of pages.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Space {
    /// Its key.
    pub key: String,
    /// Its name.
    pub name: String,
    /// What it is for.
    #[serde(default)]
    pub description: String,
    /// A link to it.
    #[serde(default)]
    pub url: Option<String>,
}

/// Input of `create_page`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NewPage {
    /// The space to create it in.
    pub space: String,
    /// Its title.
    pub title: String,
    /// Its content, Markdown.
    pub content: String,
    /// Its parent page.
    #[serde(default)]
    pub parent_id: Option<String>,
}

/// Input of `update_page`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PageUpdate {
    /// The page.
    pub page_id: String,
    /// The new content, Markdown.
    pub content: String,
    /// A new title; unchanged when absent.
    #[serde(default)]
    pub title: Option<String>,
    /// Why it changed.
    #[serde(default)]
    pub message: Option<String>,
}

/// Names one page.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PageRef {
    /// The page's identifier.
    pub page_id: String,
}

/// Input of `find_page`: a page by its title within a space.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PageLookup {
    /// The space.
    pub space: String,
    /// The exact title.
    pub title: String,
}

/// Input of `search_pages`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PageSearch {
    /// Words to look for.
    pub query: String,
    /// Only this space.
    #[serde(default)]
    pub space: Option<String>,
    /// At most this many hits.
    #[serde(default)]
    pub limit: Option<u32>,
}

/// Input of `create_space`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NewSpace {
    /// Its key.
    pub key: String,
    /// Its name.
    pub name: String,
    /// What it is for.
    #[serde(default)]
    pub description: String,
}
