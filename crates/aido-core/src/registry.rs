//! The plugin registry: every plugin aido can use, by kind and name.
//!
//! Built-in plugins are registered from one explicit list
//! (`aido_plugins::builtins()`), not by linker tricks such as `inventory`:
//! the list is plain code a reader can follow, it cannot silently lose a
//! plugin whose crate was not linked, and tests can build a registry holding
//! exactly the plugins they need.

use std::collections::BTreeMap;
use std::fmt;

use aido_plugin_api::{PluginFactory, PluginKind};

use crate::config::did_you_mean;

/// Every plugin known to this process, by (kind, name).
#[derive(Debug, Clone, Default)]
pub struct Registry {
    factories: BTreeMap<(PluginKind, String), PluginFactory>,
}

/// Why a registry lookup or registration failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RegistryError {
    /// Two plugins of one kind with one name.
    Duplicate {
        /// The kind.
        kind: PluginKind,
        /// The name.
        name: String,
    },
    /// No plugin of that kind has that name.
    UnknownPlugin {
        /// The kind asked for.
        kind: PluginKind,
        /// The name asked for.
        name: String,
        /// A close name of the same kind.
        suggestion: Option<String>,
        /// The kind that does have a plugin of that name.
        other_kind: Option<PluginKind>,
        /// Every name of the kind.
        available: Vec<String>,
    },
    /// No plugin of any kind has that name.
    UnknownName {
        /// The name asked for.
        name: String,
        /// A close name.
        suggestion: Option<String>,
    },
    /// Not one of the six kinds.
    UnknownKind {
        /// The kind asked for.
        name: String,
        /// A close kind name.
        suggestion: Option<String>,
    },
}

impl fmt::Display for RegistryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RegistryError::Duplicate { kind, name } => {
                write!(f, "a {kind} plugin named `{name}` is already registered")
            }
            RegistryError::UnknownPlugin {
                kind,
                name,
                suggestion,
                other_kind,
                available,
            } => {
                write!(f, "there is no {kind} plugin named `{name}`")?;
                if let Some(other) = other_kind {
                    write!(f, " (`{name}` is a {other} plugin)")?;
                }
                if let Some(suggestion) = suggestion {
                    write!(f, "; did you mean `{suggestion}`?")?;
                }
                if available.is_empty() {
                    write!(f, "; no {kind} plugin is registered")
                } else {
                    write!(f, "; available: {}", available.join(", "))
                }
            }
            RegistryError::UnknownName { name, suggestion } => {
                write!(f, "there is no plugin named `{name}`")?;
                match suggestion {
                    Some(s) => write!(f, "; did you mean `{s}`?"),
                    None => write!(f, "; `aido plugin list` shows them all"),
                }
            }
            RegistryError::UnknownKind { name, suggestion } => {
                let kinds: Vec<_> = PluginKind::ALL.iter().map(|k| k.as_str()).collect();
                write!(f, "`{name}` is not a plugin kind")?;
                if let Some(s) = suggestion {
                    write!(f, "; did you mean `{s}`?")?;
                }
                write!(f, " (kinds: {})", kinds.join(", "))
            }
        }
    }
}

impl std::error::Error for RegistryError {}

impl Registry {
    /// An empty registry.
    pub fn new() -> Self {
        Registry::default()
    }

    /// A registry holding `factories`.
    pub fn with(factories: impl IntoIterator<Item = PluginFactory>) -> Result<Self, RegistryError> {
        let mut registry = Registry::new();
        for factory in factories {
            registry.register(factory)?;
        }
        Ok(registry)
    }

    /// Adds a plugin; a second plugin of the same kind and name is an error.
    pub fn register(&mut self, factory: PluginFactory) -> Result<(), RegistryError> {
        let key = (factory.metadata().kind, factory.metadata().name.clone());
        if self.factories.contains_key(&key) {
            return Err(RegistryError::Duplicate {
                kind: key.0,
                name: key.1,
            });
        }
        self.factories.insert(key, factory);
        Ok(())
    }

    /// The plugin `name` of `kind`.
    pub fn get(&self, kind: PluginKind, name: &str) -> Result<&PluginFactory, RegistryError> {
        if let Some(factory) = self.factories.get(&(kind, name.to_owned())) {
            return Ok(factory);
        }
        let available: Vec<String> = self
            .list_kind(kind)
            .map(|f| f.metadata().name.clone())
            .collect();
        let suggestion =
            did_you_mean(name, available.iter().map(String::as_str)).map(str::to_owned);
        let other_kind = self
            .factories
            .keys()
            .find(|(_, n)| n == name)
            .map(|(k, _)| *k);
        Err(RegistryError::UnknownPlugin {
            kind,
            name: name.to_owned(),
            suggestion,
            other_kind,
            available,
        })
    }

    /// Like [`get`](Self::get), with the kind given by name.
    pub fn get_by_kind_name(
        &self,
        kind: &str,
        name: &str,
    ) -> Result<&PluginFactory, RegistryError> {
        let kind = parse_kind(kind)?;
        self.get(kind, name)
    }

    /// Every plugin named `name`, of any kind.
    pub fn find(&self, name: &str) -> Result<Vec<&PluginFactory>, RegistryError> {
        let found: Vec<_> = self
            .factories
            .values()
            .filter(|f| f.metadata().name == name)
            .collect();
        if found.is_empty() {
            let suggestion = did_you_mean(name, self.factories.keys().map(|(_, n)| n.as_str()))
                .map(str::to_owned);
            return Err(RegistryError::UnknownName {
                name: name.to_owned(),
                suggestion,
            });
        }
        Ok(found)
    }

    /// Every plugin, by kind then name.
    pub fn list(&self) -> impl Iterator<Item = &PluginFactory> {
        self.factories.values()
    }

    /// The plugins of one kind, by name.
    pub fn list_kind(&self, kind: PluginKind) -> impl Iterator<Item = &PluginFactory> {
        self.factories
            .iter()
            .filter(move |((k, _), _)| *k == kind)
            .map(|(_, f)| f)
    }
}

/// Parses a kind name, with a suggestion for a typo.
pub fn parse_kind(name: &str) -> Result<PluginKind, RegistryError> {
    PluginKind::from_name(name).ok_or_else(|| RegistryError::UnknownKind {
        name: name.to_owned(),
        suggestion: did_you_mean(name, PluginKind::ALL.iter().map(|k| k.as_str()))
            .map(str::to_owned),
    })
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use super::*;
    use crate::testing::{Behaviour, Fake};

    fn registry() -> Registry {
        crate::testing::registry(Arc::new(Mutex::new(Vec::new())))
    }

    #[test]
    fn lookups_by_kind_and_name() {
        let registry = registry();
        assert_eq!(
            registry
                .get(PluginKind::TaskManagement, "linear")
                .unwrap()
                .metadata()
                .name,
            "linear"
        );
        assert_eq!(registry.list_kind(PluginKind::TaskManagement).count(), 2);
        assert_eq!(registry.list().count(), 8);
    }

    #[test]
    fn duplicates_are_refused() {
        let mut registry = registry();
        let again = Fake::factory(
            PluginKind::TaskManagement,
            "linear",
            Arc::new(Mutex::new(Vec::new())),
            Behaviour::default(),
        );
        assert_eq!(
            registry.register(again).unwrap_err().to_string(),
            "a task_management plugin named `linear` is already registered"
        );
    }

    #[test]
    fn unknown_names_suggest_and_point_at_the_right_kind() {
        let registry = registry();
        assert_eq!(
            registry
                .get(PluginKind::TaskManagement, "linaer")
                .unwrap_err()
                .to_string(),
            "there is no task_management plugin named `linaer`; did you mean `linear`?; available: linear, local"
        );
        assert_eq!(
            registry
                .get(PluginKind::TaskManagement, "github")
                .unwrap_err()
                .to_string(),
            "there is no task_management plugin named `github` (`github` is a version_control plugin); available: linear, local"
        );
        assert_eq!(
            registry.find("gihtub").unwrap_err().to_string(),
            "there is no plugin named `gihtub`; did you mean `github`?"
        );
    }

    #[test]
    fn unknown_kinds_list_the_kinds() {
        let err = registry()
            .get_by_kind_name("task_managment", "linear")
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with(
                "`task_managment` is not a plugin kind; did you mean `task_management`?"
            ),
            "{err}"
        );
    }
}
