//! SQL literals, for the few writes sent as one multi-statement script.
//!
//! A state change of the engine (a step starting, a step ending) touches
//! several tables and must be one transaction. sqlx sends each statement to
//! SQLite's worker thread separately, and that round trip is most of the
//! engine's cost per step; a script (`BEGIN; ...; COMMIT;`) is one round
//! trip. sqlx binds numbered parameters unreliably across the statements of
//! one script, so these scripts carry literals instead. Only values pass
//! through here, never identifiers, and SQLite string literals have exactly
//! one escape (a doubled `'`), which makes the quoting complete.

use std::fmt::Write;

/// A value as an SQL literal.
pub(super) enum Literal<'a> {
    /// `NULL`.
    Null,
    /// A text value.
    Text(&'a str),
    /// An integer.
    Int(i64),
    /// A real.
    Real(f64),
}

impl Literal<'_> {
    /// Appends the literal to `sql`.
    pub(super) fn write_to(&self, sql: &mut String) {
        match self {
            Literal::Null => sql.push_str("NULL"),
            Literal::Text(text) => {
                sql.push('\'');
                for c in text.chars() {
                    if c == '\'' {
                        sql.push('\'');
                    }
                    // NUL cannot appear in an SQLite text literal; JSON
                    // escapes it, and names and times never hold one.
                    if c != '\0' {
                        sql.push(c);
                    }
                }
                sql.push('\'');
            }
            Literal::Int(n) => {
                let _ = write!(sql, "{n}");
            }
            Literal::Real(x) if x.is_finite() => {
                let _ = write!(sql, "{x:?}");
            }
            Literal::Real(_) => sql.push_str("NULL"),
        }
    }
}

impl<'a> From<Option<&'a str>> for Literal<'a> {
    fn from(value: Option<&'a str>) -> Self {
        value.map(Literal::Text).unwrap_or(Literal::Null)
    }
}

/// Fills the `$1`, `$2`, ... placeholders of `template` (up to 19) with
/// `values`, as literals.
pub(super) fn render(template: &str, values: &[Literal<'_>]) -> String {
    let mut sql = String::with_capacity(template.len() + 256);
    let mut rest = template;
    while let Some(pos) = rest.find('$') {
        sql.push_str(&rest[..pos]);
        let after = &rest[pos + 1..];
        let digits: String = after
            .chars()
            .take(2)
            .take_while(char::is_ascii_digit)
            .collect();
        match digits
            .parse::<usize>()
            .ok()
            .and_then(|n| values.get(n.wrapping_sub(1)))
        {
            Some(value) => {
                value.write_to(&mut sql);
                rest = &after[digits.len()..];
            }
            None => {
                sql.push('$');
                rest = after;
            }
        }
    }
    sql.push_str(rest);
    sql
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_quoted_completely() {
        let sql = render(
            "SELECT $1, $2, $3, $4, $10",
            &[
                Literal::Text("it's '; DROP TABLE runs; --"),
                Literal::Null,
                Literal::Int(-3),
                Literal::Real(0.25),
                Literal::Null,
                Literal::Null,
                Literal::Null,
                Literal::Null,
                Literal::Null,
                Literal::Text("ü\"x\""),
            ],
        );
        assert_eq!(
            sql,
            "SELECT 'it''s ''; DROP TABLE runs; --', NULL, -3, 0.25, 'ü\"x\"'"
        );
    }

    #[test]
    fn non_placeholders_are_kept() {
        assert_eq!(render("a $ b $x $9", &[Literal::Int(1)]), "a $ b $x $9");
    }
}
