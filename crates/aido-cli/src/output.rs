//! Everything the CLI prints goes through [`Output`]: JSON or text, colours
//! or not, and every line passed through secret redaction.

use std::io::{IsTerminal, Write};

use aido_core::redact::redact;

use crate::cli::ColorChoice;

/// Where and how to print.
#[derive(Debug, Clone, Copy)]
pub struct Output {
    /// Print data as JSON.
    pub json: bool,
    /// Use ANSI colours on stdout.
    pub color: bool,
}

/// A colour for a word in a table.
#[derive(Debug, Clone, Copy)]
pub enum Tone {
    /// Good news.
    Good,
    /// Worth a look.
    Warn,
    /// Bad news.
    Bad,
    /// Less important.
    Dim,
}

impl Output {
    /// Decides colours from the flag, `NO_COLOR` and whether stdout is a
    /// terminal.
    pub fn new(json: bool, color: ColorChoice) -> Self {
        let color = match color {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => {
                std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
                    && std::io::stdout().is_terminal()
            }
        };
        Output {
            json,
            color: color && !json,
        }
    }

    /// Prints a JSON document on stdout (pretty).
    pub fn json(&self, value: &impl serde::Serialize) {
        let text = serde_json::to_string_pretty(value)
            .unwrap_or_else(|err| format!("{{\"error\": \"{err}\"}}"));
        self.line(&text);
    }

    /// Prints a line on stdout.
    pub fn line(&self, text: &str) {
        let mut stdout = std::io::stdout().lock();
        // A closed pipe (`aido plugin list | head`) is not an error worth a
        // panic; stop quietly.
        let _ = writeln!(stdout, "{}", redact(text));
    }

    /// Prints a line on stderr.
    pub fn error(&self, text: &str) {
        let mut stderr = std::io::stderr().lock();
        let _ = writeln!(stderr, "{}", redact(text));
    }

    /// `text` in a tone, when colours are on.
    pub fn paint(&self, text: &str, tone: Tone) -> String {
        if !self.color {
            return text.to_owned();
        }
        let code = match tone {
            Tone::Good => "32",
            Tone::Warn => "33",
            Tone::Bad => "31",
            Tone::Dim => "2",
        };
        format!("\x1b[{code}m{text}\x1b[0m")
    }

    /// Prints rows as aligned columns, the first row as a header.
    /// Cells may hold colour codes; widths count only visible characters.
    pub fn table(&self, rows: &[Vec<String>]) {
        let columns = rows.iter().map(Vec::len).max().unwrap_or(0);
        let mut widths = vec![0; columns];
        for row in rows {
            for (i, cell) in row.iter().enumerate() {
                widths[i] = widths[i].max(visible_len(cell));
            }
        }
        for (index, row) in rows.iter().enumerate() {
            let mut line = String::new();
            for (i, cell) in row.iter().enumerate() {
                let cell = if index == 0 {
                    self.paint(cell, Tone::Dim)
                } else {
                    cell.clone()
                };
                line.push_str(&cell);
                if i + 1 < row.len() {
                    line.push_str(&" ".repeat(widths[i] - visible_len(&cell) + 2));
                }
            }
            self.line(line.trim_end());
        }
    }
}

/// Characters shown, ignoring ANSI colour codes.
fn visible_len(text: &str) -> usize {
    let mut len = 0;
    let mut in_escape = false;
    for c in text.chars() {
        match (in_escape, c) {
            (false, '\x1b') => in_escape = true,
            (true, 'm') => in_escape = false,
            (true, _) => {}
            (false, _) => len += 1,
        }
    }
    len
}
