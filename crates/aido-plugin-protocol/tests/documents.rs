//! Keeps the written specification, `docs/plugin-protocol.md`, true.
//!
//! - Its method and type reference is generated from the action catalog;
//!   this test fails when the catalog changed and the document did not.
//!   `AIDO_BLESS=1 cargo test -p aido-plugin-protocol --test documents`
//!   rewrites the generated part.
//! - Every wire example (a `jsonl` block) must parse as a message, and
//!   every `toml` block must be a valid manifest, as must the Python SDK's
//!   example manifest.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::PathBuf;

use aido_plugin_api::PluginKind;
use aido_plugin_api::catalog::{actions, actions_of};
use aido_plugin_protocol::Message;
use aido_plugin_protocol::manifest::Manifest;
use serde_json::Value;

const BEGIN: &str = "<!-- BEGIN GENERATED: catalog -->";
const END: &str = "<!-- END GENERATED: catalog -->";

fn repo_file(path: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(path)
}

fn read(path: &str) -> String {
    let path = repo_file(path);
    std::fs::read_to_string(&path).unwrap_or_else(|err| panic!("{}: {err}", path.display()))
}

/// The code blocks of `markdown` fenced with ```` ```lang ````.
fn blocks<'a>(markdown: &'a str, lang: &str) -> Vec<&'a str> {
    let fence = format!("```{lang}\n");
    let mut found = Vec::new();
    let mut rest = markdown;
    while let Some(start) = rest.find(&fence) {
        let body = &rest[start + fence.len()..];
        let Some(end) = body.find("```") else { break };
        found.push(&body[..end]);
        rest = &body[end..];
    }
    found
}

#[test]
fn the_generated_reference_matches_the_catalog() {
    let path = repo_file("docs/plugin-protocol.md");
    let document = read("docs/plugin-protocol.md");
    let (Some(begin), Some(end)) = (document.find(BEGIN), document.find(END)) else {
        panic!("{} lacks the {BEGIN} ... {END} markers", path.display());
    };
    let current = &document[begin + BEGIN.len()..end];
    let wanted = format!("\n{}", render_reference());
    if current == wanted {
        return;
    }
    if std::env::var_os("AIDO_BLESS").is_some() {
        let updated = format!(
            "{}{wanted}{}",
            &document[..begin + BEGIN.len()],
            &document[end..]
        );
        std::fs::write(&path, updated).unwrap();
        return;
    }
    panic!(
        "the method reference in {} is out of date with the action catalog; \
         run `AIDO_BLESS=1 cargo test -p aido-plugin-protocol --test documents`",
        path.display()
    );
}

#[test]
fn every_wire_example_is_a_valid_message() {
    let document = read("docs/plugin-protocol.md");
    let examples = blocks(&document, "jsonl");
    assert!(
        examples.len() >= 10,
        "found {} jsonl blocks",
        examples.len()
    );
    for block in examples {
        for line in block.lines().filter(|line| !line.trim().is_empty()) {
            if let Err(err) = Message::parse(line) {
                panic!("not a valid message: {line}\n{err}");
            }
        }
    }
}

#[test]
fn every_manifest_example_is_valid() {
    let document = read("docs/plugin-protocol.md");
    let examples = blocks(&document, "toml");
    assert!(!examples.is_empty());
    for text in examples
        .into_iter()
        .map(str::to_owned)
        .chain([read("sdk/python/examples/memory_tasks/plugin.toml")])
    {
        if let Err(err) = Manifest::from_toml(&text) {
            panic!("{text}\n{err}");
        }
    }
}

/// The method table and the types it mentions, as Markdown.
fn render_reference() -> String {
    let mut out = String::new();
    let mut types: BTreeMap<String, Value> = BTreeMap::new();
    for kind in PluginKind::ALL {
        let _ = writeln!(out, "#### {kind}\n");
        out.push_str("| method | effect | parameters | result |\n|---|---|---|---|\n");
        for spec in actions_of(kind) {
            let parameters = fields(&spec.input_schema, &spec.input_schema, ", ");
            let _ = writeln!(
                out,
                "| `{}` | {} | {} | {} |",
                spec.method(),
                match spec.effect {
                    aido_plugin_api::Effect::Read => "read",
                    aido_plugin_api::Effect::Write => "write",
                },
                if parameters.is_empty() {
                    "(none)".to_owned()
                } else {
                    parameters
                },
                type_name(&spec.output_schema, &spec.output_schema),
            );
        }
        out.push('\n');
        for spec in actions_of(kind) {
            // Rustdoc links mean nothing outside rustdoc.
            let description = spec.description.replace("[`", "`").replace("`]", "`");
            let _ = writeln!(out, "- `{}`: {description}", spec.name);
        }
        out.push('\n');
    }

    for spec in actions() {
        for schema in [&spec.input_schema, &spec.output_schema] {
            if let Some(defs) = schema.get("$defs").and_then(Value::as_object) {
                for (name, def) in defs {
                    types.entry(name.clone()).or_insert_with(|| def.clone());
                }
            }
        }
        // An output that is itself a named object has no `$defs` entry.
        let output = &spec.output_schema;
        if output.get("type") == Some(&Value::from("object"))
            && let Some(title) = output.get("title").and_then(Value::as_str)
        {
            types
                .entry(title.to_owned())
                .or_insert_with(|| output.clone());
        }
    }
    out.push_str("#### Types\n\n");
    out.push_str(
        "A field marked `?` may be absent; a required field is always there (it may still be `null` where its type says so).\n\n",
    );
    for (name, schema) in &types {
        let _ = writeln!(out, "- **`{name}`**: {}", describe_type(schema, schema));
    }
    out
}

/// `name: type` for each property, `?` marking the optional ones.
fn fields(root: &Value, schema: &Value, separator: &str) -> String {
    let required: Vec<&str> = schema
        .get("required")
        .and_then(Value::as_array)
        .map(|names| names.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    schema
        .get("properties")
        .and_then(Value::as_object)
        .map(|properties| {
            properties
                .iter()
                .map(|(name, property)| {
                    let mark = if required.contains(&name.as_str()) {
                        ""
                    } else {
                        "?"
                    };
                    format!("`{name}`{mark}: {}", type_name(root, property))
                })
                .collect::<Vec<_>>()
                .join(separator)
        })
        .unwrap_or_default()
}

/// A short name for a schema's type.
fn type_name(root: &Value, schema: &Value) -> String {
    if schema == &Value::Bool(true) || schema.as_object().is_some_and(|map| map.is_empty()) {
        return "any".to_owned();
    }
    if let Some(constant) = schema.get("const") {
        return format!("`{constant}`");
    }
    if let Some(reference) = schema.get("$ref").and_then(Value::as_str) {
        return format!("`{}`", reference.rsplit('/').next().unwrap_or(reference));
    }
    for key in ["anyOf", "oneOf"] {
        if let Some(options) = schema.get(key).and_then(Value::as_array) {
            if let Some(values) = constants(options) {
                return values;
            }
            return options
                .iter()
                .map(|option| type_name(root, option))
                .collect::<Vec<_>>()
                .join(" \\| ");
        }
    }
    let base = |name: &str| -> String {
        match name {
            "array" => format!(
                "array of {}",
                schema
                    .get("items")
                    .map_or("any".to_owned(), |items| type_name(root, items))
            ),
            "string" => match schema.get("format").and_then(Value::as_str) {
                Some("date-time") => "string (date-time)".to_owned(),
                _ => "string".to_owned(),
            },
            // A result that is itself a named object; nested objects
            // without a `$ref` are free-form maps.
            "object" => match (
                schema.get("title").and_then(Value::as_str),
                schema.get("additionalProperties"),
            ) {
                (Some(title), _) if std::ptr::eq(root, schema) => format!("`{title}`"),
                (_, Some(values)) if values.is_object() => {
                    format!("map of {}", type_name(root, values))
                }
                _ => "object".to_owned(),
            },
            other => other.to_owned(),
        }
    };
    match schema.get("type") {
        Some(Value::String(name)) => base(name),
        Some(Value::Array(names)) => names
            .iter()
            .filter_map(Value::as_str)
            .map(base)
            .collect::<Vec<_>>()
            .join(" \\| "),
        _ => "any".to_owned(),
    }
}

/// `"a" \| "b"` when every option is a string constant.
fn constants(options: &[Value]) -> Option<String> {
    let values: Option<Vec<String>> = options
        .iter()
        .map(|option| {
            option
                .get("const")
                .and_then(Value::as_str)
                .map(|value| format!("`\"{value}\"`"))
        })
        .collect();
    values.map(|values| values.join(" \\| "))
}

/// A named type's description: its fields, its values, or its variants.
fn describe_type(root: &Value, schema: &Value) -> String {
    for key in ["oneOf", "anyOf"] {
        if let Some(options) = schema.get(key).and_then(Value::as_array) {
            if let Some(values) = constants(options) {
                return format!("one of {values}");
            }
            let variants: Vec<String> = options
                .iter()
                .map(|option| format!("{{{}}}", fields(root, option, ", ")))
                .collect();
            return format!("one of {}", variants.join("; "));
        }
    }
    if schema.get("properties").is_some() {
        format!("object {{{}}}", fields(root, schema, ", "))
    } else {
        type_name(root, schema)
    }
}
