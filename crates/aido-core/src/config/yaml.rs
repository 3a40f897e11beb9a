//! YAML parsing that remembers where every value came from.
//!
//! Configuration is validated as JSON (against JSON Schemas), but problems
//! must be reported at the file's line and column. [`parse`] turns a YAML
//! document into a `serde_json::Value` plus a map from each node's JSON
//! pointer to its position. serde-saphyr's `Spanned` gives the positions;
//! no YAML is parsed by hand.

use std::collections::HashMap;
use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::Value;
use serde_saphyr::Spanned;

/// A line and column in a file, both counting from 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Position {
    /// The line, from 1.
    pub line: u32,
    /// The column, from 1.
    pub column: u32,
}

impl Position {
    fn of(location: &serde_saphyr::Location) -> Position {
        Position {
            line: u32::try_from(location.line()).unwrap_or(u32::MAX),
            column: u32::try_from(location.column()).unwrap_or(u32::MAX),
        }
    }
}

/// Where a node is: its key (for mapping entries) and its value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct NodeSpan {
    /// The key's position, for values inside a mapping.
    pub key: Option<Position>,
    /// The value's position.
    pub value: Position,
}

impl NodeSpan {
    /// Where to point a reader: the key if there is one, else the value.
    pub fn primary(&self) -> Position {
        self.key.unwrap_or(self.value)
    }
}

/// A parsed YAML document with the position of every node.
#[derive(Debug, Clone, Default)]
pub struct YamlDoc {
    /// The document as JSON. An empty document is an empty object.
    pub value: Value,
    /// JSON pointer (`/plugins/ai_provider/config`) → where it is written.
    pub spans: HashMap<String, NodeSpan>,
}

impl YamlDoc {
    /// The span of the node at `pointer`, or of its nearest ancestor that has
    /// one (a missing key is reported where its parent is).
    pub fn span_near(&self, pointer: &str) -> Option<NodeSpan> {
        let mut pointer = pointer;
        loop {
            if let Some(span) = self.spans.get(pointer) {
                return Some(*span);
            }
            match pointer.rfind('/') {
                Some(cut) => pointer = &pointer[..cut],
                None => return None,
            }
        }
    }
}

/// A YAML syntax error, with its position. The message never quotes the
/// document, since the offending line may hold a secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyntaxError {
    /// What is wrong.
    pub message: String,
    /// Where, when known.
    pub position: Option<Position>,
}

/// Parses `text` into a [`YamlDoc`].
pub fn parse(text: &str) -> Result<YamlDoc, SyntaxError> {
    // YAML 1.2 booleans only: `n`, `no`, `on`, `y` stay strings (a key
    // named `n` or a country code `NO` must not turn into `false`).
    let mut options = serde_saphyr::Options::default();
    options.strict_booleans = true;
    let root: Spanned<Node> =
        serde_saphyr::from_str_with_options(text, options).map_err(|err| SyntaxError {
            message: syntax_message(&err),
            position: err.location().map(|location| Position::of(&location)),
        })?;
    let mut doc = YamlDoc::default();
    let position = Position::of(&root.referenced);
    doc.value = flatten(root.value, String::new(), None, position, &mut doc.spans);
    if doc.value.is_null() {
        doc.value = Value::Object(Default::default());
    }
    Ok(doc)
}

/// The first line of serde-saphyr's message, without any source snippet.
fn syntax_message(err: &serde_saphyr::Error) -> String {
    let text = err.to_string();
    let first = text.lines().next().unwrap_or("invalid YAML").trim();
    // Drop a trailing "at line X column Y": the position is reported apart.
    let first = match first.find(" at line ") {
        Some(cut) => &first[..cut],
        None => first,
    };
    first.to_owned()
}

/// A YAML node with positions on every child.
enum Node {
    Null,
    Bool(bool),
    Number(serde_json::Number),
    String(String),
    Seq(Vec<Spanned<Node>>),
    Map(Vec<(Spanned<Key>, Spanned<Node>)>),
}

/// A mapping key; YAML allows scalars of any type as keys, JSON only strings.
struct Key(String);

fn flatten(
    node: Node,
    pointer: String,
    key: Option<Position>,
    value: Position,
    spans: &mut HashMap<String, NodeSpan>,
) -> Value {
    spans.insert(pointer.clone(), NodeSpan { key, value });
    match node {
        Node::Null => Value::Null,
        Node::Bool(b) => Value::Bool(b),
        Node::Number(n) => Value::Number(n),
        Node::String(s) => Value::String(s),
        Node::Seq(items) => Value::Array(
            items
                .into_iter()
                .enumerate()
                .map(|(index, item)| {
                    let position = Position::of(&item.referenced);
                    flatten(
                        item.value,
                        format!("{pointer}/{index}"),
                        None,
                        position,
                        spans,
                    )
                })
                .collect(),
        ),
        Node::Map(entries) => {
            let mut map = serde_json::Map::new();
            for (k, v) in entries {
                let child = format!("{pointer}/{}", escape_pointer(&k.value.0));
                let key_position = Position::of(&k.referenced);
                let value_position = Position::of(&v.referenced);
                let value = flatten(v.value, child, Some(key_position), value_position, spans);
                map.insert(k.value.0, value);
            }
            Value::Object(map)
        }
    }
}

/// Escapes a key for use in a JSON pointer (RFC 6901).
pub fn escape_pointer(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

/// Turns a JSON pointer into the dotted key path users read
/// (`/plugins/ai_provider/config` → `plugins.ai_provider.config`,
/// `/steps/0/name` → `steps[0].name`).
pub fn dotted_path(pointer: &str) -> String {
    let mut out = String::new();
    for segment in pointer.split('/').skip(1) {
        let segment = segment.replace("~1", "/").replace("~0", "~");
        if !segment.is_empty() && segment.bytes().all(|b| b.is_ascii_digit()) {
            out.push_str(&format!("[{segment}]"));
        } else {
            if !out.is_empty() {
                out.push('.');
            }
            out.push_str(&segment);
        }
    }
    out
}

impl<'de> Deserialize<'de> for Node {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(NodeVisitor)
    }
}

struct NodeVisitor;

impl<'de> Visitor<'de> for NodeVisitor {
    type Value = Node;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a YAML value")
    }
    fn visit_unit<E: de::Error>(self) -> Result<Node, E> {
        Ok(Node::Null)
    }
    fn visit_none<E: de::Error>(self) -> Result<Node, E> {
        Ok(Node::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Node, D::Error> {
        Node::deserialize(d)
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Node, E> {
        Ok(Node::Bool(v))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Node, E> {
        Ok(Node::Number(v.into()))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Node, E> {
        Ok(Node::Number(v.into()))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Node, E> {
        serde_json::Number::from_f64(v)
            .map(Node::Number)
            .ok_or_else(|| E::custom("numbers must be finite (no .inf or .nan)"))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Node, E> {
        Ok(Node::String(v.to_owned()))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Node, E> {
        Ok(Node::String(v))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Node, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element::<Spanned<Node>>()? {
            items.push(item);
        }
        Ok(Node::Seq(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Node, A::Error> {
        let mut entries: Vec<(Spanned<Key>, Spanned<Node>)> = Vec::new();
        while let Some(key) = map.next_key::<Spanned<Key>>()? {
            let value = map.next_value::<Spanned<Node>>()?;
            if entries.iter().any(|(k, _)| k.value.0 == key.value.0) {
                return Err(de::Error::custom(format!(
                    "duplicate key `{}` at line {}",
                    key.value.0,
                    key.referenced.line()
                )));
            }
            entries.push((key, value));
        }
        Ok(Node::Map(entries))
    }
}

impl<'de> Deserialize<'de> for Key {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl Visitor<'_> for KeyVisitor {
            type Value = Key;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a scalar mapping key")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Key, E> {
                Ok(Key(v.to_owned()))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Key, E> {
                Ok(Key(v))
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<Key, E> {
                Ok(Key(v.to_string()))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Key, E> {
                Ok(Key(v.to_string()))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Key, E> {
                Ok(Key(v.to_string()))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Key, E> {
                Ok(Key(v.to_string()))
            }
            fn visit_unit<E: de::Error>(self) -> Result<Key, E> {
                Ok(Key("null".to_owned()))
            }
        }
        deserializer.deserialize_any(KeyVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_of_keys_and_values() {
        let doc = parse("system:\n  workspace_dir: /tmp/w\nplugins:\n  - a\n  - b: 1\n").unwrap();
        let span = doc.spans["/system/workspace_dir"];
        assert_eq!(span.key, Some(Position { line: 2, column: 3 }));
        assert_eq!(span.value.line, 2);
        assert_eq!(doc.spans["/plugins/1/b"].key.unwrap().line, 5);
        assert_eq!(doc.value["plugins"][1]["b"], 1);
    }

    #[test]
    fn empty_document_is_an_empty_object() {
        assert_eq!(parse("").unwrap().value, serde_json::json!({}));
        assert_eq!(
            parse("# only a comment\n").unwrap().value,
            serde_json::json!({})
        );
    }

    #[test]
    fn syntax_errors_have_a_position_and_no_source_text() {
        let err = parse("a: [1, 2\nsecret: hunter2-secret\n").unwrap_err();
        assert!(err.position.is_some(), "{err:?}");
        assert!(!err.message.contains("hunter2-secret"), "{err:?}");
    }

    #[test]
    fn duplicate_keys_are_rejected() {
        let err = parse("a: 1\na: 2\n").unwrap_err();
        assert!(err.message.contains("duplicate"), "{err:?}");
    }

    #[test]
    fn only_yaml_1_2_booleans_are_booleans() {
        let doc = parse("n: no\ny: on\nt: true\nf: False\n").unwrap();
        assert_eq!(
            doc.value,
            serde_json::json!({"n": "no", "y": "on", "t": true, "f": false})
        );
    }

    #[test]
    fn dotted_paths_read_naturally() {
        assert_eq!(
            dotted_path("/plugins/ai_provider/config"),
            "plugins.ai_provider.config"
        );
        assert_eq!(dotted_path("/steps/0/name"), "steps[0].name");
        assert_eq!(dotted_path(""), "");
    }
}
