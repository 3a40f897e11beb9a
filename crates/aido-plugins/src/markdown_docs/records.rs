//! What the documentation files hold: a page version's front matter, a
//! space's `space.yaml` and a deleted page's `deleted.yaml`.
//!
//! Unknown keys are errors, not dropped, since the next write would lose
//! them.

use aido_plugin_api::model::docs::{Page, PageVersion};
use chrono::{DateTime, DurationRound, TimeDelta, Utc};
use serde::{Deserialize, Serialize};

use super::names::PageId;

/// One version of a page: its front matter and, outside it, its content.
/// The current file and the version's history file hold the same thing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct PageFile {
    pub(crate) id: String,
    pub(crate) title: String,
    pub(crate) version: u32,
    #[serde(default)]
    pub(crate) parent_id: Option<String>,
    pub(crate) updated: DateTime<Utc>,
    #[serde(default)]
    pub(crate) author: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) message: Option<String>,
    /// The idempotency key of the call that wrote this version, so a
    /// retried call finds it instead of writing another.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) idempotency_key: Option<String>,
    /// The Markdown body, which is not part of the front matter.
    #[serde(skip)]
    pub(crate) content: String,
}

/// What a new version is made of.
#[derive(Debug, Clone)]
pub(crate) struct Revision {
    pub(crate) title: String,
    pub(crate) content: String,
    pub(crate) message: Option<String>,
    pub(crate) author: Option<String>,
    pub(crate) idempotency_key: Option<String>,
}

impl PageFile {
    /// Version 1 of the page `id`.
    pub(crate) fn first(id: &PageId, parent_id: Option<String>, revision: Revision) -> PageFile {
        PageFile::from_revision(id.to_string(), 1, parent_id, revision)
    }

    /// The version after this one.
    pub(crate) fn next(&self, revision: Revision) -> PageFile {
        PageFile::from_revision(
            self.id.clone(),
            self.version + 1,
            self.parent_id.clone(),
            revision,
        )
    }

    fn from_revision(
        id: String,
        version: u32,
        parent_id: Option<String>,
        revision: Revision,
    ) -> PageFile {
        PageFile {
            id,
            title: revision.title,
            version,
            parent_id,
            updated: now(),
            author: revision.author,
            message: revision.message,
            idempotency_key: revision.idempotency_key,
            content: revision.content,
        }
    }

    /// The page in the standard format.
    pub(crate) fn to_page(&self, id: &PageId, url: String) -> Page {
        Page {
            id: self.id.clone(),
            space: id.space.clone(),
            title: self.title.clone(),
            content: self.content.clone(),
            version: self.version,
            url: Some(url),
            parent_id: self.parent_id.clone(),
            updated: self.updated,
        }
    }

    /// This version as a history entry.
    pub(crate) fn to_version(&self) -> PageVersion {
        PageVersion {
            version: self.version,
            title: self.title.clone(),
            updated: self.updated,
            author: self.author.clone(),
            message: self.message.clone(),
        }
    }
}

/// A space's `space.yaml`; its key is its folder's name.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct SpaceFile {
    pub(crate) name: String,
    #[serde(default)]
    pub(crate) description: String,
    /// The idempotency key of the call that created the space.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) idempotency_key: Option<String>,
}

/// The `deleted.yaml` left beside a deleted page's versions, so a retried
/// delete knows it already happened.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct DeletedMarker {
    pub(crate) id: String,
    pub(crate) title: String,
    pub(crate) deleted: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) idempotency_key: Option<String>,
}

/// Now, to the millisecond, which keeps the files readable.
pub(crate) fn now() -> DateTime<Utc> {
    let now = Utc::now();
    now.duration_trunc(TimeDelta::milliseconds(1))
        .unwrap_or(now)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn revision(title: &str, content: &str) -> Revision {
        Revision {
            title: title.into(),
            content: content.into(),
            message: None,
            author: Some("aido".into()),
            idempotency_key: None,
        }
    }

    #[test]
    fn versions_count_up_and_keep_the_parent() {
        let id = PageId {
            space: "eng".into(),
            slug: "a".into(),
        };
        let first = PageFile::first(&id, Some("eng/root".into()), revision("A", "one"));
        let second = first.next(Revision {
            message: Some("typo".into()),
            ..revision("A2", "two")
        });
        assert_eq!((first.version, second.version), (1, 2));
        assert_eq!(second.parent_id.as_deref(), Some("eng/root"));
        assert_eq!(second.id, "eng/a");
        let version = second.to_version();
        assert_eq!(
            (version.title.as_str(), version.message.as_deref()),
            ("A2", Some("typo"))
        );
        let page = second.to_page(&id, "file:///x".into());
        assert_eq!((page.space.as_str(), page.content.as_str()), ("eng", "two"));
    }
}
