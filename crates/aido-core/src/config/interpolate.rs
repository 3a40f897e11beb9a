//! `${VAR}` and `${VAR:-default}` in configuration values.
//!
//! Substitution happens on parsed string values, never on the YAML text, so a
//! variable can never inject structure into the document, and positions stay
//! those of the file. `$${` writes a literal `${`.

use serde_json::Value;

use super::env::Environment;
use super::yaml::escape_pointer;

/// A variable that is unset and has no default.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnsetVariable {
    /// The variable's name.
    pub name: String,
    /// The JSON pointer of the value that uses it.
    pub pointer: String,
}

/// A malformed `${...}` reference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadReference {
    /// What is wrong.
    pub message: String,
    /// The JSON pointer of the value.
    pub pointer: String,
}

/// What substitution found.
#[derive(Debug, Default)]
pub struct Substitution {
    /// Variables used but unset.
    pub unset: Vec<UnsetVariable>,
    /// Malformed references.
    pub malformed: Vec<BadReference>,
    /// Pointers of values that were entirely one reference, and so may be
    /// coerced to the type the schema wants (`${PORT:-8080}` → a number).
    pub whole_references: Vec<String>,
    /// Values that came from variables, for redaction.
    pub substituted_values: Vec<String>,
}

/// Replaces every reference in every string of `value`, in place.
pub fn substitute(value: &mut Value, env: &Environment) -> Substitution {
    let mut found = Substitution::default();
    walk(value, String::new(), env, &mut found);
    found
}

fn walk(value: &mut Value, pointer: String, env: &Environment, found: &mut Substitution) {
    match value {
        Value::String(text) if text.contains('$') => match expand(text, env, &pointer, found) {
            Ok((expanded, whole)) => {
                if whole {
                    found.whole_references.push(pointer);
                }
                *text = expanded;
            }
            Err(message) => found.malformed.push(BadReference { message, pointer }),
        },
        Value::Array(items) => {
            for (index, item) in items.iter_mut().enumerate() {
                walk(item, format!("{pointer}/{index}"), env, found);
            }
        }
        Value::Object(map) => {
            for (key, item) in map.iter_mut() {
                walk(
                    item,
                    format!("{pointer}/{}", escape_pointer(key)),
                    env,
                    found,
                );
            }
        }
        _ => {}
    }
}

/// Expands one string. Returns the result and whether the string was exactly
/// one reference.
fn expand(
    text: &str,
    env: &Environment,
    pointer: &str,
    found: &mut Substitution,
) -> Result<(String, bool), String> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    let mut references = 0;
    while let Some(start) = rest.find('$') {
        out.push_str(&rest[..start]);
        let after = &rest[start..];
        if let Some(stripped) = after.strip_prefix("$${") {
            out.push_str("${");
            rest = stripped;
            continue;
        }
        let Some(body_start) = after.strip_prefix("${") else {
            out.push('$');
            rest = &after[1..];
            continue;
        };
        let end = body_start
            .find('}')
            .ok_or_else(|| "`${` without a closing `}`".to_owned())?;
        let body = &body_start[..end];
        let (name, default) = match body.split_once(":-") {
            Some((name, default)) => (name.trim(), Some(default)),
            None => (body.trim(), None),
        };
        if !is_variable_name(name) {
            return Err(format!(
                "`${{{name}}}` is not a variable reference; names are letters, digits and `_` (write `$${{` for a literal `${{`)"
            ));
        }
        references += 1;
        match (env.get(name).filter(|v| !v.is_empty()), default) {
            (Some(value), _) => {
                found.substituted_values.push(value.to_owned());
                out.push_str(value);
            }
            (None, Some(default)) => out.push_str(default),
            (None, None) => {
                found.unset.push(UnsetVariable {
                    name: name.to_owned(),
                    pointer: pointer.to_owned(),
                });
            }
        }
        rest = &body_start[end + 1..];
    }
    out.push_str(rest);
    let whole = references == 1 && text.trim().starts_with("${") && text.trim().ends_with('}');
    Ok((out, whole))
}

fn is_variable_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn env() -> Environment {
        Environment::from_vars([("TOKEN", "t0k3n"), ("EMPTY", ""), ("PORT", "8080")])
    }

    #[test]
    fn replaces_references_and_defaults() {
        let mut value = json!({
            "a": "${TOKEN}",
            "b": "Bearer ${TOKEN}!",
            "c": "${MISSING:-fallback}",
            "d": "${EMPTY:-used when empty}",
            "e": ["${PORT}", "cost $5", "$${LITERAL}"],
        });
        let found = substitute(&mut value, &env());
        assert!(found.unset.is_empty() && found.malformed.is_empty());
        assert_eq!(
            value,
            json!({
                "a": "t0k3n",
                "b": "Bearer t0k3n!",
                "c": "fallback",
                "d": "used when empty",
                "e": ["8080", "cost $5", "${LITERAL}"],
            })
        );
        assert_eq!(found.whole_references, vec!["/a", "/c", "/d", "/e/0"]);
        assert!(found.substituted_values.contains(&"t0k3n".to_owned()));
    }

    #[test]
    fn unset_variables_are_reported_with_where_they_are_used() {
        let mut value = json!({"plugins": {"x": {"key": "${NOPE}"}}, "y": "${NOPE2}-${TOKEN}"});
        let found = substitute(&mut value, &env());
        assert_eq!(
            found.unset,
            vec![
                UnsetVariable {
                    name: "NOPE".into(),
                    pointer: "/plugins/x/key".into()
                },
                UnsetVariable {
                    name: "NOPE2".into(),
                    pointer: "/y".into()
                },
            ]
        );
    }

    #[test]
    fn malformed_references_are_errors() {
        let mut value = json!({"a": "${not closed", "b": "${1BAD}", "c": "${}"});
        let found = substitute(&mut value, &env());
        assert_eq!(found.malformed.len(), 3);
    }
}
