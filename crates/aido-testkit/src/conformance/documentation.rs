//! The `documentation` suite.

use serde_json::json;

use aido_plugin_api::{CallContext, ErrorKind, PluginInstance};

use super::{Report, expect, keyed, text};

/// Checks a connected documentation space: create, read, update with
/// versions, find, search, publish, history and delete.
pub async fn documentation(plugin: &PluginInstance) -> Report {
    let mut report = Report::new(plugin);
    let cx = CallContext::detached();
    let title = "Conformance page";
    let created = plugin
        .call(
            &keyed("page"),
            "create_page",
            json!({ "space": "conformance", "title": title, "content": "# First\n\nzebra words" }),
        )
        .await;
    let page = match created {
        Ok(page) => page,
        Err(err) => {
            report.fail("create_page makes a page", err.to_string());
            return report;
        }
    };
    let id = text(&page, "id").to_owned();
    report.record(
        "create_page makes version 1",
        Ok(expect(
            page["version"] == 1 && text(&page, "title") == title,
            || format!("got {page}"),
        )),
    );
    let read = plugin
        .call(&cx, "get_page", json!({ "page_id": id }))
        .await
        .map(|p| expect(text(&p, "content").contains("zebra"), || format!("got {p}")));
    report.record("get_page returns the content", read);
    let updated = plugin
        .call(
            &keyed("update"),
            "update_page",
            json!({ "page_id": id, "content": "# Second\n\nzebra again" }),
        )
        .await
        .map(|p| expect(p["version"] == 2, || format!("got {p}")));
    report.record("update_page makes version 2", updated);
    let found = plugin
        .call(
            &cx,
            "find_page",
            json!({ "space": "conformance", "title": title }),
        )
        .await
        .map(|p| expect(text(&p, "id") == id, || format!("got {p}")));
    report.record("find_page finds it by title", found);
    let searched = plugin
        .call(&cx, "search_pages", json!({ "query": "zebra" }))
        .await
        .map(|hits| {
            expect(
                hits.as_array()
                    .is_some_and(|h| h.iter().any(|h| text(h, "id") == id)),
                || format!("got {hits}"),
            )
        });
    report.record("search_pages finds it by a word", searched);
    let published = plugin
        .call(
            &keyed("publish"),
            "publish_page",
            json!({ "space": "conformance", "title": title, "content": "# Second\n\nzebra again" }),
        )
        .await
        .map(|p| {
            expect(p["version"] == 2 && text(&p, "id") == id, || {
                format!("publishing the same content made {p}")
            })
        });
    report.record(
        "publish_page of unchanged content makes no version",
        published,
    );
    let history = plugin
        .call(&cx, "get_page_history", json!({ "page_id": id }))
        .await
        .map(|h| {
            expect(h.as_array().map(Vec::len).unwrap_or(0) >= 2, || {
                format!("got {h}")
            })
        });
    report.record("get_page_history keeps every version", history);
    let deleted = plugin
        .call(&keyed("delete"), "delete_page", json!({ "page_id": id }))
        .await
        .map(|_| Ok(()));
    report.record("delete_page deletes it", deleted);
    let gone = plugin.call(&cx, "get_page", json!({ "page_id": id })).await;
    report.record(
        "a deleted page is not found",
        Ok(match gone {
            Err(err) if err.kind() == ErrorKind::NotFound => Ok(()),
            other => Err(format!("expected not_found, got {other:?}")),
        }),
    );
    report
}
