//! Checking a configuration value against a JSON Schema, with messages a
//! person can act on.
//!
//! The `jsonschema` crate finds the problems; this module words them. Its
//! own messages quote the offending value, which may be a secret, so they are
//! never shown: each message here says what was expected and what *kind* of
//! value was found, and quotes a value only when the schema does not mark it
//! secret and it is a short word (an enum typo).

use jsonschema::ValidationError;
use jsonschema::error::{TypeKind, ValidationErrorKind};
use serde_json::Value;

use aido_plugin_api::resolve_ref;

use super::diagnostic::did_you_mean;
use super::yaml::escape_pointer;

/// One schema violation, located by JSON pointer in the checked value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// Where, in the checked value.
    pub pointer: String,
    /// What is wrong.
    pub message: String,
    /// A suggestion.
    pub help: Option<String>,
}

/// Every violation of `schema` by `value`.
///
/// A schema that does not compile is reported as one violation at the root;
/// that is a bug in the plugin that declared it, not in the user's file.
pub fn check(schema: &Value, value: &Value) -> Vec<Violation> {
    let validator = match jsonschema::validator_for(schema) {
        Ok(validator) => validator,
        Err(err) => {
            return vec![Violation {
                pointer: String::new(),
                message: format!("the plugin's configuration schema is invalid: {err}"),
                help: None,
            }];
        }
    };
    let mut out = Vec::new();
    for error in validator.iter_errors(value) {
        describe(schema, value, &error, &mut out);
    }
    out.dedup();
    out
}

fn describe(root: &Value, value: &Value, error: &ValidationError<'_>, out: &mut Vec<Violation>) {
    let pointer = error.instance_path().as_str().to_owned();
    let instance = value.pointer(&pointer).unwrap_or(&Value::Null);
    let here = schema_at(root, &pointer);
    let push = |out: &mut Vec<Violation>, message: String, help: Option<String>| {
        out.push(Violation {
            pointer: pointer.clone(),
            message,
            help,
        });
    };
    match error.kind() {
        ValidationErrorKind::AdditionalProperties { unexpected }
        | ValidationErrorKind::UnevaluatedProperties { unexpected } => {
            let known = here.map(property_names).unwrap_or_default();
            for key in unexpected {
                let help = did_you_mean(key, known.iter().map(String::as_str))
                    .map(|s| format!("did you mean `{s}`?"))
                    .or_else(|| {
                        (!known.is_empty())
                            .then(|| format!("known keys here: {}", known.join(", ")))
                    });
                out.push(Violation {
                    pointer: format!("{pointer}/{}", escape_pointer(key)),
                    message: format!("unknown key `{key}`"),
                    help,
                });
            }
        }
        ValidationErrorKind::Required { property } => {
            let name = property.as_str().unwrap_or("?");
            push(out, format!("missing required key `{name}`"), None);
        }
        ValidationErrorKind::Type { kind } => {
            let expected = match kind {
                TypeKind::Single(t) => article(&t.to_string()),
                TypeKind::Multiple(ts) => {
                    // `Option<T>` allows null; saying so to someone who wrote
                    // a string only distracts.
                    let names: Vec<String> = ts
                        .iter()
                        .map(|t| t.to_string())
                        .filter(|t| t != "null" || instance.is_null())
                        .map(|t| article(&t))
                        .collect();
                    names.join(" or ")
                }
            };
            push(
                out,
                format!("expected {expected}, found {}", describe_value(instance)),
                None,
            );
        }
        ValidationErrorKind::Enum { options } => {
            let choices: Vec<String> = options
                .as_array()
                .map(|a| a.iter().map(short_json).collect())
                .unwrap_or_default();
            let secret = here.is_some_and(is_secret);
            let found = instance.as_str().filter(|s| !secret && s.len() <= 40);
            let message = match found {
                Some(s) => format!("`{s}` is not one of {}", choices.join(", ")),
                None => format!("expected one of {}", choices.join(", ")),
            };
            let help = found.and_then(|s| {
                let words: Vec<&str> = options
                    .as_array()
                    .map(|a| a.iter().filter_map(Value::as_str).collect())
                    .unwrap_or_default();
                did_you_mean(s, words).map(|w| format!("did you mean `{w}`?"))
            });
            push(out, message, help);
        }
        ValidationErrorKind::Constant { expected_value } => {
            push(out, format!("must be {}", short_json(expected_value)), None)
        }
        ValidationErrorKind::Minimum { limit } => {
            push(out, format!("must be at least {limit}"), None)
        }
        ValidationErrorKind::Maximum { limit } => {
            push(out, format!("must be at most {limit}"), None)
        }
        ValidationErrorKind::ExclusiveMinimum { limit } => {
            push(out, format!("must be greater than {limit}"), None)
        }
        ValidationErrorKind::ExclusiveMaximum { limit } => {
            push(out, format!("must be less than {limit}"), None)
        }
        ValidationErrorKind::MinLength { limit } => push(
            out,
            format!("must be at least {limit} characters long"),
            None,
        ),
        ValidationErrorKind::MaxLength { limit } => push(
            out,
            format!("must be at most {limit} characters long"),
            None,
        ),
        ValidationErrorKind::MinItems { limit } => {
            push(out, format!("must have at least {limit} items"), None)
        }
        ValidationErrorKind::MaxItems { limit } => {
            push(out, format!("must have at most {limit} items"), None)
        }
        ValidationErrorKind::UniqueItems => push(out, "items must be unique".to_owned(), None),
        ValidationErrorKind::Pattern { pattern } => {
            push(out, format!("must match the pattern `{pattern}`"), None)
        }
        ValidationErrorKind::Format { format } => {
            push(out, format!("must be a valid {format}"), None)
        }
        ValidationErrorKind::AnyOf { context } | ValidationErrorKind::OneOfNotValid { context } => {
            describe_alternatives(root, value, instance, context, out, &pointer)
        }
        ValidationErrorKind::OneOfMultipleValid { .. } => {
            push(out, "matches more than one allowed form".to_owned(), None)
        }
        ValidationErrorKind::Custom { message, .. } => push(out, message.clone(), None),
        _ => push(out, "invalid value".to_owned(), None),
    }
}

/// For `anyOf`/`oneOf` (how schemars writes `Option<T>` and enums), report the
/// errors of the alternative the value was most likely meant to be: the one
/// whose type matches, so that a typo inside an optional section is reported
/// as the typo, not as "matches no alternative".
fn describe_alternatives(
    root: &Value,
    value: &Value,
    instance: &Value,
    context: &[Vec<ValidationError<'static>>],
    out: &mut Vec<Violation>,
    pointer: &str,
) {
    let same_place_type_error = |errors: &Vec<ValidationError<'static>>, null_only: bool| {
        errors.iter().any(|e| {
            e.instance_path().as_str() == pointer
                && match e.kind() {
                    ValidationErrorKind::Type {
                        kind: TypeKind::Single(t),
                    } if null_only => t.to_string() == "null",
                    ValidationErrorKind::Type { .. } => !null_only,
                    _ => false,
                }
        })
    };
    // First drop the `null` branch of an `Option`, then branches of the wrong
    // type; what is left is what the value was meant to be.
    let mut candidates: Vec<&Vec<ValidationError<'static>>> = context
        .iter()
        .filter(|errors| !same_place_type_error(errors, true))
        .collect();
    if candidates.len() > 1 {
        candidates.retain(|errors| !same_place_type_error(errors, false));
    }
    if let [only] = candidates.as_slice() {
        for error in only.iter() {
            describe(root, value, error, out);
        }
        return;
    }
    // No single candidate: gather what each alternative accepts.
    let mut forms = Vec::new();
    for errors in context {
        for error in errors {
            if error.instance_path().as_str() != pointer {
                continue;
            }
            match error.kind() {
                ValidationErrorKind::Constant { expected_value } => {
                    forms.push(short_json(expected_value))
                }
                ValidationErrorKind::Enum { options } => {
                    if let Some(items) = options.as_array() {
                        forms.extend(items.iter().map(short_json));
                    }
                }
                ValidationErrorKind::Type {
                    kind: TypeKind::Single(t),
                } => forms.push(article(&t.to_string())),
                _ => {}
            }
        }
    }
    forms.dedup();
    // An enum whose variants are documented comes as `oneOf` of `const`s:
    // word it like an enum, with a suggestion for a typo.
    let constants: Vec<&str> = forms
        .iter()
        .filter_map(|f| f.strip_prefix('`')?.strip_suffix('`'))
        .collect();
    let secret = schema_at(root, pointer).is_some_and(is_secret);
    if let (Some(found), true) = (
        instance.as_str(),
        constants.len() == forms.len() && !forms.is_empty(),
    ) && !secret
        && found.len() <= 40
    {
        let help =
            did_you_mean(found, constants.iter().copied()).map(|w| format!("did you mean `{w}`?"));
        out.push(Violation {
            pointer: pointer.to_owned(),
            message: format!("`{found}` is not one of {}", forms.join(", ")),
            help,
        });
        return;
    }
    let message = if forms.is_empty() {
        format!(
            "{} does not match any allowed form",
            describe_value(instance)
        )
    } else {
        format!(
            "expected {}, found {}",
            forms.join(" or "),
            describe_value(instance)
        )
    };
    out.push(Violation {
        pointer: pointer.to_owned(),
        message,
        help: None,
    });
}

/// The sub-schema that applies at `pointer`, following `$ref`, `properties`,
/// `additionalProperties`, `items` and the non-null branch of `anyOf`.
pub fn schema_at<'a>(root: &'a Value, pointer: &str) -> Option<&'a Value> {
    let mut schema = unwrap_optional(root, resolve_ref(root, root));
    for segment in pointer.split('/').skip(1) {
        let segment = segment.replace("~1", "/").replace("~0", "~");
        let next = schema
            .get("properties")
            .and_then(|p| p.get(&segment))
            .or_else(|| schema.get("additionalProperties").filter(|a| a.is_object()))
            .or_else(|| schema.get("items").filter(|i| i.is_object()))?;
        schema = unwrap_optional(root, resolve_ref(root, next));
    }
    Some(schema)
}

/// `anyOf: [X, {type: null}]` → X.
fn unwrap_optional<'a>(root: &'a Value, schema: &'a Value) -> &'a Value {
    if let Some(branches) = schema
        .get("anyOf")
        .or_else(|| schema.get("oneOf"))
        .and_then(Value::as_array)
    {
        let non_null: Vec<&Value> = branches
            .iter()
            .filter(|b| b.get("type").and_then(Value::as_str) != Some("null"))
            .collect();
        if let [only] = non_null.as_slice() {
            return resolve_ref(root, only);
        }
    }
    schema
}

/// Whether a sub-schema marks its value as a secret.
pub fn is_secret(schema: &Value) -> bool {
    schema.get("x-secret").and_then(Value::as_bool) == Some(true)
        || schema.get("writeOnly").and_then(Value::as_bool) == Some(true)
}

/// The property names a sub-schema declares.
pub fn property_names(schema: &Value) -> Vec<String> {
    schema
        .get("properties")
        .and_then(Value::as_object)
        .map(|p| p.keys().cloned().collect())
        .unwrap_or_default()
}

fn article(type_name: &str) -> String {
    match type_name {
        "integer" => "an integer".to_owned(),
        "object" => "a mapping".to_owned(),
        "array" => "a list".to_owned(),
        "null" => "nothing (null)".to_owned(),
        other => format!("a {other}"),
    }
}

/// What kind of value this is, without quoting it.
pub fn describe_value(value: &Value) -> &'static str {
    match value {
        Value::Null => "nothing (null)",
        Value::Bool(_) => "a boolean",
        Value::Number(n) if n.is_f64() => "a number with a fraction",
        Value::Number(_) => "an integer",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "a mapping",
    }
}

fn short_json(value: &Value) -> String {
    match value {
        Value::String(s) => format!("`{s}`"),
        other => format!("`{other}`"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[derive(serde::Deserialize, schemars::JsonSchema)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Connection {
        api_key: aido_plugin_api::Secret,
        team_id: Option<String>,
    }

    #[derive(serde::Deserialize, schemars::JsonSchema)]
    #[serde(deny_unknown_fields, rename_all = "snake_case")]
    #[allow(dead_code)]
    enum Mode {
        Fast,
        Careful,
    }

    #[derive(serde::Deserialize, schemars::JsonSchema)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Config {
        connection: Option<Connection>,
        retries: Option<u32>,
        mode: Option<Mode>,
    }

    fn schema() -> Value {
        serde_json::to_value(schemars::schema_for!(Config)).unwrap()
    }

    #[test]
    fn typo_inside_an_optional_section_is_named_with_a_suggestion() {
        let found = check(
            &schema(),
            &json!({"connection": {"api_kye": "sk-secret-1", "api_key": "x"}}),
        );
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].pointer, "/connection/api_kye");
        assert_eq!(found[0].message, "unknown key `api_kye`");
        assert_eq!(found[0].help.as_deref(), Some("did you mean `api_key`?"));
    }

    #[test]
    fn missing_wrong_type_and_enum_are_all_reported() {
        let found = check(
            &schema(),
            &json!({"connection": {}, "retries": "three", "mode": "fsat"}),
        );
        let messages: Vec<_> = found
            .iter()
            .map(|v| (v.pointer.as_str(), v.message.as_str()))
            .collect();
        assert!(
            messages.contains(&("/connection", "missing required key `api_key`")),
            "{messages:?}"
        );
        assert!(
            messages.contains(&("/retries", "expected an integer, found a string")),
            "{messages:?}"
        );
        assert!(
            found
                .iter()
                .any(|v| v.pointer == "/mode" && v.help.as_deref() == Some("did you mean `fast`?")),
            "{found:?}"
        );
    }

    #[test]
    fn secrets_are_never_quoted() {
        let found = check(&schema(), &json!({"connection": {"api_key": 12345678}}));
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(!found[0].message.contains("12345678"));
    }

    #[test]
    fn schema_at_follows_refs_and_options() {
        let schema = schema();
        let at = schema_at(&schema, "/connection/api_key").unwrap();
        assert!(is_secret(at));
    }
}
