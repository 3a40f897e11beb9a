//! `${ expr }` in workflow values: template-engine expressions (minijinja),
//! never `eval`.
//!
//! An expression that is the whole value keeps its JSON type (an object stays
//! an object); expressions inside a longer string are written into it as text.
//! Using an undefined variable is an error naming the expression, unless the
//! expression gives a fallback (`x or 'y'`, `x | default('y')`).

use std::collections::BTreeSet;

use minijinja::{Environment, UndefinedBehavior, Value as JinjaValue};
use serde_json::Value;

/// Why an expression could not be evaluated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExprError {
    /// The expression, without `${ }`.
    pub expression: String,
    /// What went wrong.
    pub message: String,
}

impl std::fmt::Display for ExprError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "`${{ {} }}`: {}", self.expression, self.message)
    }
}

impl std::error::Error for ExprError {}

/// A template environment with aido's filters (`slug`, `truncate`) and
/// undefined values as errors; shared by expressions, prompt templates and
/// `render_template`, so a filter works the same everywhere.
pub fn environment() -> Environment<'static> {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::SemiStrict);
    env.add_filter("slug", slug_filter);
    env.add_filter("truncate", truncate_filter);
    env
}

/// One `${ ... }` found in a string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reference<'a> {
    /// The expression inside the braces, trimmed.
    pub expression: &'a str,
    /// Byte range of the whole `${ ... }` in the string.
    pub range: std::ops::Range<usize>,
}

/// The variables expressions can read, converted once for many evaluations.
#[derive(Debug, Clone)]
pub struct Scope {
    json: Value,
    jinja: JinjaValue,
}

impl Scope {
    /// A scope over `json` (an object of variables).
    pub fn new(json: Value) -> Self {
        let jinja = JinjaValue::from(minijinja::value::Serde(&json));
        Scope { json, jinja }
    }

    /// The variables, as JSON.
    pub fn json(&self) -> &Value {
        &self.json
    }
}

/// Evaluates expressions with aido's filters. Cheap to clone a reference to;
/// build one per process.
pub struct Evaluator {
    env: Environment<'static>,
}

impl Default for Evaluator {
    fn default() -> Self {
        Evaluator::new()
    }
}

impl Evaluator {
    /// An evaluator with the standard filters plus `slug` and `truncate`.
    pub fn new() -> Self {
        Evaluator { env: environment() }
    }

    /// Evaluates one expression (without `${ }`) in `scope`.
    pub fn eval(&self, expression: &str, scope: &Scope) -> Result<Value, ExprError> {
        let error = |message: String| ExprError {
            expression: expression.to_owned(),
            message,
        };
        let compiled = self
            .env
            .compile_expression(expression)
            .map_err(|e| error(describe(&e)))?;
        let result = compiled
            .eval(scope.jinja.clone())
            .map_err(|e| error(describe(&e)))?;
        if result.is_undefined() {
            return Err(error(undefined_message(expression, scope)));
        }
        serde_json::to_value(&result).map_err(|e| error(format!("the result is not JSON: {e}")))
    }

    /// Evaluates a condition: the expression's truthiness.
    pub fn condition(&self, expression: &str, scope: &Scope) -> Result<bool, ExprError> {
        let inner = strip_whole(expression).unwrap_or(expression);
        let value = self.eval(inner, scope)?;
        Ok(truthy(&value))
    }

    /// Replaces every `${ }` in every string of `value`.
    pub fn render(&self, value: &Value, scope: &Scope) -> Result<Value, ExprError> {
        match value {
            Value::String(text) => self.render_str(text, scope),
            Value::Array(items) => items
                .iter()
                .map(|item| self.render(item, scope))
                .collect::<Result<_, _>>()
                .map(Value::Array),
            Value::Object(map) => {
                let mut out = serde_json::Map::with_capacity(map.len());
                for (key, item) in map {
                    out.insert(key.clone(), self.render(item, scope)?);
                }
                Ok(Value::Object(out))
            }
            other => Ok(other.clone()),
        }
    }

    /// Renders one string: a whole-string expression keeps its type.
    pub fn render_str(&self, text: &str, scope: &Scope) -> Result<Value, ExprError> {
        if let Some(inner) = strip_whole(text) {
            return self.eval(inner, scope);
        }
        let references = references(text).map_err(|message| ExprError {
            expression: text.to_owned(),
            message,
        })?;
        if references.is_empty() {
            return Ok(Value::String(unescape(text)));
        }
        let mut out = String::with_capacity(text.len());
        let mut last = 0;
        for reference in references {
            out.push_str(&unescape(&text[last..reference.range.start]));
            match self.eval(reference.expression, scope)? {
                Value::String(s) => out.push_str(&s),
                other => out.push_str(&other.to_string()),
            }
            last = reference.range.end;
        }
        out.push_str(&unescape(&text[last..]));
        Ok(Value::String(out))
    }

    /// The top-level variable names an expression reads, for validation.
    pub fn variables(&self, expression: &str) -> Result<BTreeSet<String>, String> {
        let compiled = self
            .env
            .compile_expression(expression)
            .map_err(|e| describe(&e))?;
        Ok(compiled.undeclared_variables(false).into_iter().collect())
    }

    /// Checks that an expression parses.
    pub fn check_syntax(&self, expression: &str) -> Result<(), String> {
        self.env
            .compile_expression(expression)
            .map(|_| ())
            .map_err(|e| describe(&e))
    }
}

/// Every `${ ... }` in `text`, skipping `$${` escapes. Braces inside the
/// expression (dict literals) and inside quoted strings are balanced.
pub fn references(text: &str) -> Result<Vec<Reference<'_>>, String> {
    let bytes = text.as_bytes();
    let mut found = Vec::new();
    let mut i = 0;
    while i + 1 < bytes.len() {
        if bytes[i] == b'$' && bytes[i + 1] == b'$' && bytes.get(i + 2) == Some(&b'{') {
            i += 3;
            continue;
        }
        if bytes[i] == b'$' && bytes[i + 1] == b'{' {
            let start = i;
            let body_start = i + 2;
            let mut depth = 0usize;
            let mut quote: Option<u8> = None;
            let mut j = body_start;
            let mut end = None;
            while j < bytes.len() {
                let c = bytes[j];
                match quote {
                    Some(_) if c == b'\\' => j += 1,
                    Some(q) if c == q => quote = None,
                    Some(_) => {}
                    None => match c {
                        b'\'' | b'"' => quote = Some(c),
                        b'{' => depth += 1,
                        b'}' if depth == 0 => {
                            end = Some(j);
                            break;
                        }
                        b'}' => depth -= 1,
                        _ => {}
                    },
                }
                j += 1;
            }
            let end = end.ok_or_else(|| "`${` without a closing `}`".to_owned())?;
            let expression = text[body_start..end].trim();
            if expression.is_empty() {
                return Err("empty expression `${}`".to_owned());
            }
            found.push(Reference {
                expression,
                range: start..end + 1,
            });
            i = end + 1;
            continue;
        }
        i += 1;
    }
    Ok(found)
}

/// The expression, if `text` is exactly one `${ ... }` (surrounding blanks
/// allowed).
pub fn strip_whole(text: &str) -> Option<&str> {
    let trimmed = text.trim();
    let refs = references(trimmed).ok()?;
    match refs.as_slice() {
        [only] if only.range == (0..trimmed.len()) => Some(only.expression),
        _ => None,
    }
}

fn unescape(text: &str) -> String {
    text.replace("$${", "${")
}

/// JSON truthiness as templates see it.
pub fn truthy(value: &Value) -> bool {
    match value {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64().is_some_and(|f| f != 0.0),
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => !a.is_empty(),
        Value::Object(o) => !o.is_empty(),
    }
}

fn undefined_message(expression: &str, scope: &Scope) -> String {
    let known: Vec<&str> = scope
        .json
        .as_object()
        .map(|o| o.keys().map(String::as_str).collect())
        .unwrap_or_default();
    let name = expression
        .split(|c: char| !(c.is_alphanumeric() || c == '_'))
        .next()
        .unwrap_or(expression);
    match crate::config::did_you_mean(name, known.iter().copied()) {
        Some(suggestion) if suggestion != name => {
            format!(
                "`{name}` is undefined; did you mean `{suggestion}`? (give a fallback with `or` or `| default(...)`)"
            )
        }
        _ => format!(
            "undefined value; known variables: {} (give a fallback with `or` or `| default(...)`)",
            known.join(", ")
        ),
    }
}

/// minijinja's message, without its debug dump of the whole context (which
/// could hold secrets or pages of task text).
fn describe(err: &minijinja::Error) -> String {
    let mut message = err.kind().to_string();
    if let Some(detail) = err.detail() {
        message.push_str(": ");
        message.push_str(detail);
    }
    message
}

/// `"Fix login: Safari (iOS)!"` → `"fix-login-safari-ios"`; `max` bounds the
/// length (default 50) without cutting in the middle of a dash run.
fn slug_filter(value: String, max: Option<usize>) -> String {
    slug(&value, max.unwrap_or(50))
}

/// Jinja's `truncate(length=255, killwords=false, end='...')`, counting
/// characters: text longer than `length` is cut (at a word boundary unless
/// `killwords`) and `end` appended, the whole within `length`.
fn truncate_filter(
    value: String,
    length: Option<usize>,
    killwords: Option<bool>,
    end: Option<String>,
) -> String {
    let length = length.unwrap_or(255);
    let end = end.unwrap_or_else(|| "...".to_owned());
    if value.chars().count() <= length {
        return value;
    }
    let keep = length.saturating_sub(end.chars().count());
    let mut cut: String = value.chars().take(keep).collect();
    if !killwords.unwrap_or(false)
        && let Some(space) = cut.rfind(char::is_whitespace)
    {
        cut.truncate(space);
    }
    format!("{}{end}", cut.trim_end())
}

/// Lower-case ASCII letters and digits joined by single dashes.
pub fn slug(text: &str, max: usize) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars().flat_map(char::to_lowercase) {
        if c.is_ascii_alphanumeric() {
            out.push(c);
        } else if !out.ends_with('-') && !out.is_empty() {
            out.push('-');
        }
    }
    let mut out: String = out.chars().take(max).collect();
    while out.ends_with('-') {
        out.pop();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn scope() -> Scope {
        Scope::new(json!({
            "task": { "id": "PROJ-7", "title": "Fix Login: Safari (iOS)!", "labels": ["bug", "ios"] },
            "count": 3,
            "empty": "",
        }))
    }

    #[test]
    fn whole_expressions_keep_their_type() {
        let e = Evaluator::new();
        assert_eq!(
            e.render(&json!("${ task }"), &scope()).unwrap(),
            scope().json()["task"]
        );
        assert_eq!(
            e.render(&json!(" ${ count + 1 } "), &scope()).unwrap(),
            json!(4)
        );
        assert_eq!(
            e.render(&json!("${ task.labels }"), &scope()).unwrap(),
            json!(["bug", "ios"])
        );
    }

    #[test]
    fn embedded_expressions_become_text() {
        let e = Evaluator::new();
        let value = json!({"branch": "feature/${ task.id }-${ task.title | slug }", "n": "${count} files", "lit": "$${ not me }"});
        assert_eq!(
            e.render(&value, &scope()).unwrap(),
            json!({"branch": "feature/PROJ-7-fix-login-safari-ios", "n": "3 files", "lit": "${ not me }"})
        );
    }

    #[test]
    fn filters_and_fallbacks() {
        let e = Evaluator::new();
        assert_eq!(
            e.eval("task.title | lower | truncate(9, true, '')", &scope())
                .unwrap(),
            json!("fix login")
        );
        assert_eq!(
            e.eval("task.labels | join(', ') | upper", &scope())
                .unwrap(),
            json!("BUG, IOS")
        );
        assert_eq!(
            e.eval("missing or 'fallback'", &scope()).unwrap(),
            json!("fallback")
        );
        assert_eq!(
            e.eval("missing | default('d')", &scope()).unwrap(),
            json!("d")
        );
        assert_eq!(e.eval("empty or 'x'", &scope()).unwrap(), json!("x"));
        assert_eq!(
            e.eval("task | tojson", &scope())
                .unwrap()
                .as_str()
                .unwrap()
                .chars()
                .next(),
            Some('{')
        );
        assert_eq!(
            e.eval("{'a': [1, 2]}", &scope()).unwrap(),
            json!({"a": [1, 2]})
        );
    }

    #[test]
    fn undefined_variables_are_errors_not_empty_strings() {
        let e = Evaluator::new();
        let err = e.render(&json!("id: ${ taks.id }"), &scope()).unwrap_err();
        assert!(err.to_string().contains("taks.id"), "{err}");
        let err = e.render(&json!("${ tsak }"), &scope()).unwrap_err();
        assert!(err.message.contains("did you mean `task`?"), "{err}");
        assert!(e.render(&json!("x ${ nope } y"), &scope()).is_err());
        assert!(
            e.render(&json!("${ task.nope | upper }"), &scope())
                .is_err()
        );
    }

    #[test]
    fn conditions_and_syntax() {
        let e = Evaluator::new();
        assert!(e.condition("${ count > 2 }", &scope()).unwrap());
        assert!(!e.condition("task.labels | length > 5", &scope()).unwrap());
        assert!(e.check_syntax("a +* b").is_err());
        assert_eq!(
            e.variables("task.id ~ other | default(x)").unwrap(),
            ["other", "task", "x"]
                .iter()
                .map(|s| s.to_string())
                .collect()
        );
    }

    #[test]
    fn references_balance_braces_and_quotes() {
        let text = "a ${ {'k': '}'} } b ${x}";
        let refs = references(text).unwrap();
        assert_eq!(
            refs.iter().map(|r| r.expression).collect::<Vec<_>>(),
            vec!["{'k': '}'}", "x"]
        );
        assert!(references("${ open").is_err());
    }

    #[test]
    fn slugs() {
        assert_eq!(slug("  Hello, World!  ", 50), "hello-world");
        assert_eq!(slug("a---b", 50), "a-b");
        assert_eq!(slug("abcdef ghij", 7), "abcdef");
    }
}
