//! The environment configuration may read: the process environment, then an
//! optional `.env` file beside the configuration (the process wins).
//!
//! The `.env` file is read into a map, never exported into the process, so
//! that plugins and child processes do not inherit it by accident.

use std::collections::BTreeMap;
use std::path::Path;

/// Variables visible to `${VAR}` substitution and to environment overrides.
#[derive(Debug, Clone, Default)]
pub struct Environment {
    vars: BTreeMap<String, String>,
}

impl Environment {
    /// The process environment, plus the `.env` file in `dir` if there is one.
    ///
    /// A `.env` that cannot be parsed is an error naming its line; its values
    /// are never quoted.
    pub fn load(dir: &Path) -> Result<Environment, String> {
        let mut vars = BTreeMap::new();
        let dotenv = dir.join(".env");
        if dotenv.is_file() {
            let iter = dotenvy::from_path_iter(&dotenv)
                .map_err(|err| format!("{}: {}", dotenv.display(), describe_dotenv_error(&err)))?;
            for item in iter {
                let (key, value) = item.map_err(|err| {
                    format!("{}: {}", dotenv.display(), describe_dotenv_error(&err))
                })?;
                vars.insert(key, value);
            }
        }
        for (key, value) in std::env::vars_os() {
            if let (Some(key), Some(value)) = (key.to_str(), value.to_str()) {
                vars.insert(key.to_owned(), value.to_owned());
            }
        }
        Ok(Environment { vars })
    }

    /// An environment holding exactly `vars` (for tests and embedding).
    pub fn from_vars<I, K, V>(vars: I) -> Environment
    where
        I: IntoIterator<Item = (K, V)>,
        K: Into<String>,
        V: Into<String>,
    {
        Environment {
            vars: vars
                .into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        }
    }

    /// The value of `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.vars.get(name).map(String::as_str)
    }

    /// Every variable whose name starts with `prefix`.
    pub fn with_prefix<'a>(&'a self, prefix: &'a str) -> impl Iterator<Item = (&'a str, &'a str)> {
        self.vars
            .range(prefix.to_owned()..)
            .take_while(move |(k, _)| k.starts_with(prefix))
            .map(|(k, v)| (k.as_str(), v.as_str()))
    }
}

/// dotenvy's error without the offending text, which may be a secret.
fn describe_dotenv_error(err: &dotenvy::Error) -> String {
    match err {
        dotenvy::Error::LineParse(_, index) => {
            format!("cannot parse the line at byte {index}; expected KEY=value")
        }
        dotenvy::Error::Io(io) => io.to_string(),
        _ => "cannot be read".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefix_lookup_is_exact() {
        let env = Environment::from_vars([("LINEAR_API_KEY", "k"), ("LINEARX", "x"), ("LIN", "y")]);
        let found: Vec<_> = env.with_prefix("LINEAR_").collect();
        assert_eq!(found, vec![("LINEAR_API_KEY", "k")]);
    }

    #[test]
    fn dotenv_is_read_and_the_process_wins() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join(".env"),
            "AIDO_TEST_ONLY_IN_DOTENV=from-file\nPATH=not-this\n",
        )
        .unwrap();
        let env = Environment::load(dir.path()).unwrap();
        assert_eq!(env.get("AIDO_TEST_ONLY_IN_DOTENV"), Some("from-file"));
        assert_ne!(env.get("PATH"), Some("not-this"));
    }

    #[test]
    fn broken_dotenv_names_the_file_not_the_value() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join(".env"),
            "GOOD=1\nthis is = not 'valid secret-xyz\n",
        )
        .unwrap();
        let err = Environment::load(dir.path()).unwrap_err();
        assert!(err.contains(".env"), "{err}");
        assert!(!err.contains("secret-xyz"), "{err}");
    }
}
