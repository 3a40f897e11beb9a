//! Tests of the `markdown` documentation plugin through its trait and
//! through the JSON dispatcher, on temporary folders.

use std::fs;
use std::path::Path;
use std::sync::Arc;

use aido_plugin_api::model::NoInput;
use aido_plugin_api::model::docs::*;
use aido_plugin_api::{
    CallContext, Documentation, ErrorKind, Health, Plugin, PluginConfig, PluginInstance,
};
use serde_json::json;

use super::MarkdownDocs;

async fn connected(dir: &Path) -> MarkdownDocs {
    let plugin = MarkdownDocs::default();
    let value = json!({"connection": {"dir": dir}, "options": {"author": "writer"}});
    let config = PluginConfig::new(
        "documentation",
        value,
        "/nonexistent-project",
        "/nonexistent-project/.aido",
    );
    plugin.connect(&config).await.unwrap();
    plugin
}

fn cx() -> CallContext {
    CallContext::detached()
}

fn new_page(space: &str, title: &str, content: &str) -> NewPage {
    NewPage {
        space: space.into(),
        title: title.into(),
        content: content.into(),
        parent_id: None,
    }
}

fn update(page_id: &str, content: &str) -> PageUpdate {
    PageUpdate {
        page_id: page_id.into(),
        content: content.into(),
        title: None,
        message: None,
    }
}

fn page_ref(id: &str) -> PageRef {
    PageRef { page_id: id.into() }
}

#[tokio::test]
async fn a_created_page_is_a_markdown_file_with_its_first_version() {
    let dir = tempfile::tempdir().unwrap();
    let plugin = connected(dir.path()).await;
    let page = plugin
        .create_page(&cx(), new_page("eng", "Release Notes", "# 1.0\n\nFirst.\n"))
        .await
        .unwrap();
    assert_eq!(page.id, "eng/release-notes");
    assert_eq!(page.space, "eng");
    assert_eq!(page.version, 1);

    let file = dir
        .path()
        .canonicalize()
        .unwrap()
        .join("eng/release-notes.md");
    let text = fs::read_to_string(&file).unwrap();
    assert!(
        text.starts_with("---\nid: eng/release-notes\ntitle: Release Notes\nversion: 1\n"),
        "{text}"
    );
    assert!(text.contains("\nauthor: writer\n"), "{text}");
    assert!(text.ends_with("---\n\n# 1.0\n\nFirst.\n"), "{text}");
    assert_eq!(
        fs::read_to_string(dir.path().join("eng/.history/release-notes/1.md")).unwrap(),
        text
    );
    assert_eq!(
        page.url.as_deref(),
        Some(format!("file://{}", file.display()).as_str())
    );

    assert_eq!(
        plugin.get_page(&cx(), page_ref(&page.id)).await.unwrap(),
        page
    );
}

#[tokio::test]
async fn updates_make_new_versions_and_keep_the_old_ones() {
    let dir = tempfile::tempdir().unwrap();
    let plugin = connected(dir.path()).await;
    let id = plugin
        .create_page(&cx(), new_page("eng", "Guide", "one"))
        .await
        .unwrap()
        .id;
    let retitled = PageUpdate {
        title: Some("User Guide".into()),
        message: Some("rename".into()),
        ..update(&id, "two")
    };
    let second = plugin.update_page(&cx(), retitled).await.unwrap();
    assert_eq!(
        (
            second.version,
            second.title.as_str(),
            second.content.as_str()
        ),
        (2, "User Guide", "two")
    );
    assert_eq!(second.id, id, "the id stays when the title changes");
    plugin
        .update_page(&cx(), update(&id, "three"))
        .await
        .unwrap();

    let history = plugin.get_page_history(&cx(), page_ref(&id)).await.unwrap();
    let summary: Vec<(u32, &str, Option<&str>)> = history
        .iter()
        .map(|v| (v.version, v.title.as_str(), v.message.as_deref()))
        .collect();
    assert_eq!(
        summary,
        [
            (1, "Guide", None),
            (2, "User Guide", Some("rename")),
            (3, "User Guide", None)
        ]
    );
    assert!(
        history
            .iter()
            .all(|v| v.author.as_deref() == Some("writer"))
    );
    let first = fs::read_to_string(dir.path().join("eng/.history/guide/1.md")).unwrap();
    assert!(first.ends_with("\none"), "{first}");
    assert_eq!(
        plugin.get_page(&cx(), page_ref(&id)).await.unwrap().content,
        "three"
    );
}

#[tokio::test]
async fn titles_are_unique_within_a_space() {
    let dir = tempfile::tempdir().unwrap();
    let plugin = connected(dir.path()).await;
    plugin
        .create_page(&cx(), new_page("eng", "Setup", "a"))
        .await
        .unwrap();
    let err = plugin
        .create_page(&cx(), new_page("eng", "Setup", "b"))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    assert!(err.message().contains("update_page"), "{err}");
    assert!(err.message().contains("eng/setup"), "{err}");

    let elsewhere = plugin
        .create_page(&cx(), new_page("ops", "Setup", "c"))
        .await
        .unwrap();
    assert_eq!(elsewhere.id, "ops/setup");
    let same_slug = plugin
        .create_page(&cx(), new_page("eng", "setup!", "d"))
        .await
        .unwrap();
    assert_eq!(same_slug.id, "eng/setup-2");

    let other = plugin
        .create_page(&cx(), new_page("eng", "Other", "e"))
        .await
        .unwrap();
    let clash = PageUpdate {
        title: Some("Setup".into()),
        ..update(&other.id, "e2")
    };
    let err = plugin.update_page(&cx(), clash).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
}

#[tokio::test]
async fn retried_writes_with_the_same_key_happen_once() {
    let dir = tempfile::tempdir().unwrap();
    let plugin = connected(dir.path()).await;
    let create_cx = CallContext::with_idempotency_key("run-1/doc/create");
    let first = plugin
        .create_page(&create_cx, new_page("eng", "Plan", "v1"))
        .await
        .unwrap();
    let again = plugin
        .create_page(&create_cx, new_page("eng", "Plan", "v1"))
        .await
        .unwrap();
    assert_eq!(first, again);
    let other_key = CallContext::with_idempotency_key("run-2/doc/create");
    assert_eq!(
        plugin
            .create_page(&other_key, new_page("eng", "Plan", "v1"))
            .await
            .unwrap_err()
            .kind(),
        ErrorKind::InvalidInput
    );

    let update_cx = CallContext::with_idempotency_key("run-1/doc/update");
    let updated = plugin
        .update_page(&update_cx, update(&first.id, "v2"))
        .await
        .unwrap();
    plugin
        .update_page(&cx(), update(&first.id, "v3"))
        .await
        .unwrap();
    let retried = plugin
        .update_page(&update_cx, update(&first.id, "v2"))
        .await
        .unwrap();
    assert_eq!(updated.version, 2);
    assert_eq!(
        (retried.version, retried.content.as_str()),
        (3, "v3"),
        "the current page, no new version"
    );
    assert_eq!(
        plugin
            .get_page_history(&cx(), page_ref(&first.id))
            .await
            .unwrap()
            .len(),
        3
    );
    // The key that made version 1 also marks a retried create after updates.
    assert_eq!(
        plugin
            .create_page(&create_cx, new_page("eng", "Plan", "v1"))
            .await
            .unwrap()
            .version,
        3
    );
}

#[tokio::test]
async fn find_page_matches_the_exact_title_in_one_space() {
    let dir = tempfile::tempdir().unwrap();
    let plugin = connected(dir.path()).await;
    let page = plugin
        .create_page(&cx(), new_page("eng", "API Reference", "x"))
        .await
        .unwrap();
    let lookup = |space: &str, title: &str| PageLookup {
        space: space.into(),
        title: title.into(),
    };
    assert_eq!(
        plugin
            .find_page(&cx(), lookup("eng", "API Reference"))
            .await
            .unwrap(),
        Some(page)
    );
    assert_eq!(
        plugin
            .find_page(&cx(), lookup("eng", "api reference"))
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        plugin
            .find_page(&cx(), lookup("ops", "API Reference"))
            .await
            .unwrap(),
        None
    );
}

#[tokio::test]
async fn search_ranks_title_matches_first_with_excerpts() {
    let dir = tempfile::tempdir().unwrap();
    let plugin = connected(dir.path()).await;
    plugin
        .create_page(
            &cx(),
            new_page("eng", "Runbook", "When the DEPLOY fails, roll back."),
        )
        .await
        .unwrap();
    plugin
        .create_page(&cx(), new_page("eng", "Deploy", "Steps to ship."))
        .await
        .unwrap();
    plugin
        .create_page(&cx(), new_page("ops", "Deploy checklist", "Check twice."))
        .await
        .unwrap();
    plugin
        .create_page(&cx(), new_page("ops", "Lunch", "Nothing to see."))
        .await
        .unwrap();

    let search = |query: &str, space: Option<&str>| PageSearch {
        query: query.into(),
        space: space.map(str::to_owned),
        limit: None,
    };
    let hits = plugin
        .search_pages(&cx(), search("deploy", None))
        .await
        .unwrap();
    let ids: Vec<&str> = hits.iter().map(|h| h.id.as_str()).collect();
    assert_eq!(ids, ["eng/deploy", "ops/deploy-checklist", "eng/runbook"]);
    assert_eq!(hits[2].excerpt, "When the DEPLOY fails, roll back.");

    let in_ops = plugin
        .search_pages(&cx(), search("deploy", Some("ops")))
        .await
        .unwrap();
    assert_eq!(in_ops.len(), 1);
    let limited = PageSearch {
        limit: Some(1),
        ..search("deploy", None)
    };
    assert_eq!(plugin.search_pages(&cx(), limited).await.unwrap().len(), 1);
    let err = plugin
        .search_pages(&cx(), search("  ", None))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
}

#[tokio::test]
async fn spaces_are_folders_with_a_name_and_description() {
    let dir = tempfile::tempdir().unwrap();
    let plugin = connected(dir.path()).await;
    let space = NewSpace {
        key: "eng".into(),
        name: "Engineering".into(),
        description: "How we build.".into(),
    };
    let created = plugin.create_space(&cx(), space.clone()).await.unwrap();
    assert_eq!(
        (created.name.as_str(), created.description.as_str()),
        ("Engineering", "How we build.")
    );
    let yaml = fs::read_to_string(dir.path().join("eng/space.yaml")).unwrap();
    assert!(yaml.contains("name: Engineering"), "{yaml}");

    let err = plugin.create_space(&cx(), space.clone()).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    let keyed = CallContext::with_idempotency_key("k");
    let ops = NewSpace {
        key: "ops".into(),
        name: "Operations".into(),
        description: String::new(),
    };
    let first = plugin.create_space(&keyed, ops.clone()).await.unwrap();
    assert_eq!(plugin.create_space(&keyed, ops).await.unwrap(), first);

    // A page written into a space nobody created makes it.
    plugin
        .create_page(&cx(), new_page("notes", "Scratch", "x"))
        .await
        .unwrap();
    fs::create_dir(dir.path().join("by-hand")).unwrap();
    let spaces = plugin.list_spaces(&cx(), NoInput {}).await.unwrap();
    let listed: Vec<(&str, &str)> = spaces
        .iter()
        .map(|s| (s.key.as_str(), s.name.as_str()))
        .collect();
    assert_eq!(
        listed,
        [
            ("by-hand", "by-hand"),
            ("eng", "Engineering"),
            ("notes", "notes"),
            ("ops", "Operations")
        ]
    );
    let err = plugin
        .create_space(
            &cx(),
            NewSpace {
                key: "../x".into(),
                ..space
            },
        )
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
}

#[tokio::test]
async fn deleted_pages_go_to_the_trash_and_a_retried_delete_succeeds() {
    let dir = tempfile::tempdir().unwrap();
    let plugin = connected(dir.path()).await;
    let id = plugin
        .create_page(&cx(), new_page("eng", "Old", "bye"))
        .await
        .unwrap()
        .id;
    plugin
        .update_page(&cx(), update(&id, "bye 2"))
        .await
        .unwrap();

    let keyed = CallContext::with_idempotency_key("run-3/delete");
    plugin.delete_page(&keyed, page_ref(&id)).await.unwrap();
    assert_eq!(
        plugin
            .get_page(&cx(), page_ref(&id))
            .await
            .unwrap_err()
            .kind(),
        ErrorKind::NotFound
    );
    assert_eq!(
        plugin
            .get_page_history(&cx(), page_ref(&id))
            .await
            .unwrap_err()
            .kind(),
        ErrorKind::NotFound
    );
    plugin.delete_page(&keyed, page_ref(&id)).await.unwrap();
    let err = plugin.delete_page(&cx(), page_ref(&id)).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);

    let trash: Vec<_> = fs::read_dir(dir.path().join("eng/.trash"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(trash.len(), 1);
    assert!(trash[0].join("1.md").is_file() && trash[0].join("2.md").is_file());
    assert!(
        fs::read_to_string(trash[0].join("deleted.yaml"))
            .unwrap()
            .contains("id: eng/old")
    );

    let recreated = plugin
        .create_page(&cx(), new_page("eng", "Old", "again"))
        .await
        .unwrap();
    assert_eq!((recreated.id.as_str(), recreated.version), ("eng/old", 1));
}

#[tokio::test]
async fn parents_must_exist_in_the_same_space() {
    let dir = tempfile::tempdir().unwrap();
    let plugin = connected(dir.path()).await;
    let root = plugin
        .create_page(&cx(), new_page("eng", "Root", "r"))
        .await
        .unwrap();
    let child = NewPage {
        parent_id: Some(root.id.clone()),
        ..new_page("eng", "Child", "c")
    };
    assert_eq!(
        plugin.create_page(&cx(), child).await.unwrap().parent_id,
        Some(root.id.clone())
    );

    let missing = NewPage {
        parent_id: Some("eng/nope".into()),
        ..new_page("eng", "Orphan", "o")
    };
    assert_eq!(
        plugin.create_page(&cx(), missing).await.unwrap_err().kind(),
        ErrorKind::NotFound
    );
    let cross = NewPage {
        parent_id: Some(root.id),
        ..new_page("ops", "Cross", "x")
    };
    assert_eq!(
        plugin.create_page(&cx(), cross).await.unwrap_err().kind(),
        ErrorKind::InvalidInput
    );
}

#[tokio::test]
async fn unknown_pages_and_corrupt_files_are_reported_with_their_place() {
    let dir = tempfile::tempdir().unwrap();
    let plugin = connected(dir.path()).await;
    let err = plugin
        .get_page(&cx(), page_ref("eng/missing"))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
    assert!(err.message().contains("eng/missing"), "{err}");
    let err = plugin
        .get_page(&cx(), page_ref("../../etc/passwd"))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);

    let id = plugin
        .create_page(&cx(), new_page("eng", "Broken", "x"))
        .await
        .unwrap()
        .id;
    let path = dir.path().join("eng/broken.md");
    let text = fs::read_to_string(&path)
        .unwrap()
        .replace("version: 1", "version: one");
    fs::write(&path, text).unwrap();
    let err = plugin.get_page(&cx(), page_ref(&id)).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidResponse);
    assert!(err.message().contains("broken.md"), "{err}");
    assert!(err.message().contains("line 4"), "{err}");
}

#[tokio::test]
async fn the_json_dispatcher_drives_the_plugin() {
    let dir = tempfile::tempdir().unwrap();
    let instance = PluginInstance::Documentation(Arc::new(connected(dir.path()).await));
    let page = instance
        .call(
            &cx(),
            "create_page",
            json!({"space": "eng", "title": "From JSON", "content": "Hello"}),
        )
        .await
        .unwrap();
    assert_eq!(page["id"], "eng/from-json");
    let updated = instance
        .call(
            &cx(),
            "update_page",
            json!({"page_id": "eng/from-json", "content": "Bye"}),
        )
        .await
        .unwrap();
    assert_eq!(updated["version"], 2);
    let found = instance
        .call(
            &cx(),
            "find_page",
            json!({"space": "eng", "title": "From JSON"}),
        )
        .await
        .unwrap();
    assert_eq!(found["content"], "Bye");
    let hits = instance
        .call(&cx(), "search_pages", json!({"query": "bye"}))
        .await
        .unwrap();
    assert_eq!(hits[0]["excerpt"], "Bye");
    let spaces = instance
        .call(&cx(), "list_spaces", json!(null))
        .await
        .unwrap();
    assert_eq!(spaces[0]["key"], "eng");
    let deleted = instance
        .call(&cx(), "delete_page", json!({"page_id": "eng/from-json"}))
        .await
        .unwrap();
    assert!(deleted.is_null());
    let err = instance
        .call(&cx(), "get_page", json!({"page_id": "eng/from-json"}))
        .await
        .unwrap_err();
    assert_eq!((err.plugin(), err.operation()), ("markdown", "get_page"));
}

#[tokio::test]
async fn calls_before_connect_are_configuration_errors() {
    let plugin = MarkdownDocs::default();
    let err = plugin.list_spaces(&cx(), NoInput {}).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Configuration);
    assert!(err.message().contains("not connected"), "{err}");
    assert!(matches!(plugin.health_check().await, Health::Unhealthy(_)));
}

#[tokio::test]
async fn connect_creates_the_folder_and_health_follows_it() {
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("nested/docs");
    let plugin = connected(&dir).await;
    assert!(dir.is_dir());
    assert_eq!(plugin.health_check().await, Health::Healthy);
    fs::remove_dir_all(&dir).unwrap();
    assert!(
        matches!(plugin.health_check().await, Health::Unhealthy(reason) if reason.contains("docs"))
    );
}

#[tokio::test]
async fn the_default_folder_is_in_the_project() {
    let project = tempfile::tempdir().unwrap();
    let plugin = MarkdownDocs::default();
    let config = PluginConfig::new(
        "documentation",
        json!({}),
        project.path(),
        project.path().join(".aido"),
    );
    plugin.connect(&config).await.unwrap();
    plugin
        .create_page(&cx(), new_page("eng", "A", "a"))
        .await
        .unwrap();
    assert!(project.path().join(".aido/docs/eng/a.md").is_file());
}

#[test]
fn concurrent_updates_lose_no_version() {
    let dir = tempfile::tempdir().unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let id = runtime.block_on(async {
        connected(dir.path())
            .await
            .create_page(&cx(), new_page("eng", "Shared", "0"))
            .await
            .unwrap()
            .id
    });

    let writers: Vec<_> = (0..6)
        .map(|writer| {
            let dir = dir.path().to_owned();
            let id = id.clone();
            std::thread::spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .unwrap();
                runtime.block_on(async {
                    let plugin = connected(&dir).await;
                    for n in 0..8 {
                        plugin
                            .update_page(&cx(), update(&id, &format!("writer {writer} edit {n}")))
                            .await
                            .unwrap();
                    }
                });
            })
        })
        .collect();
    for writer in writers {
        writer.join().unwrap();
    }

    let history = runtime.block_on(async {
        connected(dir.path())
            .await
            .get_page_history(&cx(), page_ref(&id))
            .await
            .unwrap()
    });
    let versions: Vec<u32> = history.iter().map(|v| v.version).collect();
    assert_eq!(versions, (1..=49).collect::<Vec<u32>>());
    for writer in 0..6 {
        for n in 0..8 {
            let needle = format!("writer {writer} edit {n}");
            let found = (2..=49).any(|v| {
                fs::read_to_string(dir.path().join(format!("eng/.history/shared/{v}.md")))
                    .unwrap()
                    .ends_with(&needle)
            });
            assert!(found, "missing {needle}");
        }
    }
}
