//! Configuration problems, each saying where it is and what would be right.

use std::fmt;
use std::path::PathBuf;

use serde::Serialize;

/// Where a configured value came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Origin {
    /// A position in a file.
    File {
        /// The file.
        path: PathBuf,
        /// Line, from 1.
        line: u32,
        /// Column, from 1.
        column: u32,
    },
    /// A file as a whole (it is missing, or unreadable).
    WholeFile {
        /// The file.
        path: PathBuf,
    },
    /// An environment variable.
    Environment {
        /// The variable's name.
        variable: String,
    },
    /// aido's embedded defaults.
    Defaults,
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::File { path, line, column } => write!(f, "{}:{line}:{column}", path.display()),
            Origin::WholeFile { path } => write!(f, "{}", path.display()),
            Origin::Environment { variable } => write!(f, "environment variable {variable}"),
            Origin::Defaults => f.write_str("embedded defaults"),
        }
    }
}

/// One configuration problem.
///
/// Messages never quote a value that may be secret: they say what was
/// expected and what kind of value was found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Diagnostic {
    /// Where it is.
    pub origin: Origin,
    /// The dotted key path (`plugins.task_management.config.connection.api_key`).
    pub path: String,
    /// What is wrong, and what would be valid.
    pub message: String,
    /// A suggestion, such as "did you mean `api_key`?".
    #[serde(skip_serializing_if = "Option::is_none")]
    pub help: Option<String>,
}

impl Diagnostic {
    /// A problem at `origin` and `path`.
    pub fn new(origin: Origin, path: impl Into<String>, message: impl Into<String>) -> Self {
        Diagnostic {
            origin,
            path: path.into(),
            message: message.into(),
            help: None,
        }
    }

    /// Adds a suggestion.
    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: ", self.origin)?;
        if !self.path.is_empty() {
            write!(f, "`{}`: ", self.path)?;
        }
        f.write_str(&self.message)?;
        if let Some(help) = &self.help {
            write!(f, "\n    help: {help}")?;
        }
        Ok(())
    }
}

/// Every problem found in a configuration, reported together.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct Diagnostics(pub Vec<Diagnostic>);

impl Diagnostics {
    /// Whether nothing was found.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    /// How many problems.
    pub fn len(&self) -> usize {
        self.0.len()
    }
    /// Adds one.
    pub fn push(&mut self, diagnostic: Diagnostic) {
        self.0.push(diagnostic);
    }
    /// The problems, in order.
    pub fn iter(&self) -> impl Iterator<Item = &Diagnostic> {
        self.0.iter()
    }
}

impl fmt::Display for Diagnostics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (index, diagnostic) in self.0.iter().enumerate() {
            if index > 0 {
                writeln!(f)?;
            }
            write!(f, "{diagnostic}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Diagnostics {}

/// The closest of `candidates` to `word`, if it is close enough to be a
/// likely typo.
pub fn did_you_mean<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    // Jaro-Winkler catches long words with a slip; an edit distance
    // (swaps count once) catches short ones (`gti` for `git`).
    candidates
        .into_iter()
        .filter(|candidate| *candidate != word)
        .map(|candidate| {
            let edits = strsim::damerau_levenshtein(word, candidate);
            let close_edit = edits <= 1 || (edits == 2 && word.chars().count() >= 5);
            let score = strsim::jaro_winkler(word, candidate) + if close_edit { 1.0 } else { 0.0 };
            (score, candidate)
        })
        .filter(|(score, _)| *score >= 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, candidate)| candidate)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggestions_find_typos_only() {
        let keys = ["api_key", "team_id", "base_url"];
        assert_eq!(did_you_mean("api_kye", keys), Some("api_key"));
        assert_eq!(did_you_mean("teamid", keys), Some("team_id"));
        assert_eq!(did_you_mean("colour", keys), None);
        assert_eq!(did_you_mean("gti", ["git", "github"]), Some("git"));
    }

    #[test]
    fn display_is_file_line_column_path_message() {
        let diagnostic = Diagnostic::new(
            Origin::File {
                path: "aido.yaml".into(),
                line: 3,
                column: 5,
            },
            "system.max_concurrent_agents",
            "expected an integer, found a string",
        )
        .with_help("write a number such as 4");
        assert_eq!(
            diagnostic.to_string(),
            "aido.yaml:3:5: `system.max_concurrent_agents`: expected an integer, found a string\n    help: write a number such as 4"
        );
    }
}
