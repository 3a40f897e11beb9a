//! The agent's environment: cleared, then only what it needs.
//!
//! An agent CLI runs model-written commands, so it must not see aido's
//! whole environment (tokens for the git host, the tracker, the chat). It
//! gets [`BASE_VARIABLES`] from aido's environment, the variables the
//! configuration names in `pass_env`, and the configuration's own `env`
//! (which wins over both).

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::fmt;

use aido_plugin_api::Secret;

/// Variables every agent gets from aido's environment when they are set:
/// where programs are (`PATH`), where its login and settings are (`HOME`),
/// its language (`LANG`) and where temporary files go (`TMPDIR`).
pub(crate) const BASE_VARIABLES: &[&str] = &["PATH", "HOME", "LANG", "TMPDIR"];

/// A child process's whole environment. Its `Debug` shows names only, since
/// values may be credentials.
#[derive(Clone, Default)]
pub(crate) struct ChildEnv {
    vars: BTreeMap<String, OsString>,
}

impl ChildEnv {
    /// The environment for an agent: [`BASE_VARIABLES`] and `pass_env` as
    /// `lookup` finds them in aido's environment, then `extra` on top.
    pub(crate) fn build(
        pass_env: &[String],
        extra: &BTreeMap<String, Secret>,
        lookup: impl Fn(&str) -> Option<OsString>,
    ) -> Self {
        let mut vars = BTreeMap::new();
        let names = BASE_VARIABLES
            .iter()
            .copied()
            .chain(pass_env.iter().map(String::as_str));
        for name in names {
            if let Some(value) = lookup(name) {
                vars.insert(name.to_owned(), value);
            }
        }
        for (name, value) in extra {
            vars.insert(name.clone(), OsString::from(value.expose()));
        }
        ChildEnv { vars }
    }

    /// The environment aido itself runs in, filtered the same way.
    pub(crate) fn from_process(pass_env: &[String], extra: &BTreeMap<String, Secret>) -> Self {
        ChildEnv::build(pass_env, extra, |name| std::env::var_os(name))
    }

    /// The value of `name`, if the child gets it.
    pub(crate) fn get(&self, name: &str) -> Option<&OsString> {
        self.vars.get(name)
    }

    /// Every variable, for `Command::envs` after `env_clear`.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (&String, &OsString)> {
        self.vars.iter()
    }
}

impl fmt::Debug for ChildEnv {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.vars.keys()).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parent(name: &str) -> Option<OsString> {
        match name {
            "PATH" => Some("/usr/bin".into()),
            "HOME" => Some("/home/me".into()),
            "ANTHROPIC_API_KEY" => Some("sk-ant-parent".into()),
            "GITHUB_TOKEN" => Some("ghp-never-passed".into()),
            _ => None,
        }
    }

    #[test]
    fn only_the_base_variables_pass_env_and_extra_get_through() {
        let extra = BTreeMap::from([
            ("AGENT_MODE".to_owned(), Secret::new("ci")),
            ("HOME".to_owned(), Secret::new("/home/agent")),
        ]);
        let env = ChildEnv::build(
            &["ANTHROPIC_API_KEY".to_owned(), "UNSET_ONE".to_owned()],
            &extra,
            parent,
        );
        let names: Vec<&str> = env.iter().map(|(name, _)| name.as_str()).collect();
        assert_eq!(names, ["AGENT_MODE", "ANTHROPIC_API_KEY", "HOME", "PATH"]);
        assert_eq!(env.get("HOME").unwrap(), "/home/agent", "extra wins");
        assert_eq!(env.get("PATH").unwrap(), "/usr/bin");
        assert!(env.get("GITHUB_TOKEN").is_none());
    }

    #[test]
    fn debug_shows_names_not_values() {
        let env = ChildEnv::build(&["ANTHROPIC_API_KEY".to_owned()], &BTreeMap::new(), parent);
        let shown = format!("{env:?}");
        assert!(shown.contains("ANTHROPIC_API_KEY"), "{shown}");
        assert!(!shown.contains("sk-ant-parent"), "{shown}");
    }
}
