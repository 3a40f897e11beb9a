//! Spaces: one subfolder of the documentation folder each, named by its key,
//! with a `space.yaml` holding its name and description.
//!
//! A subfolder without `space.yaml` (made by hand) is still a space, named
//! by its key.

use aido_plugin_api::model::docs::{NewSpace, Space};
use aido_plugin_api::{Error, Result};

use super::layout::file_url;
use super::names::{check_space_key, is_space_key};
use super::records::SpaceFile;
use super::store::{DocStore, dir_names, io_error, read_yaml, write_yaml};

impl DocStore {
    /// Creates a space. An existing space is returned if `key` made it, and
    /// refused otherwise.
    pub(crate) fn create_space(&self, input: NewSpace, key: Option<String>) -> Result<Space> {
        check_space_key(&input.key)?;
        if input.name.trim().is_empty() {
            return Err(Error::invalid_input("a space name cannot be empty"));
        }
        let _lock = self.lock()?;
        let path = self.layout.space_file(&input.key);
        if let Some(existing) = read_yaml::<SpaceFile>(&path)? {
            if key.is_some() && existing.idempotency_key == key {
                return Ok(self.to_space(&input.key, existing));
            }
            return Err(Error::invalid_input(format!(
                "space `{}` already exists in {}",
                input.key,
                self.layout.root().display()
            )));
        }
        let file = SpaceFile {
            name: input.name,
            description: input.description,
            idempotency_key: key,
        };
        write_yaml(&path, &file)?;
        Ok(self.to_space(&input.key, file))
    }

    /// Every space, by key.
    pub(crate) fn list_spaces(&self) -> Result<Vec<Space>> {
        self.space_keys()?
            .into_iter()
            .map(|key| self.read_space(&key))
            .collect()
    }

    /// The keys of the space folders.
    pub(super) fn space_keys(&self) -> Result<Vec<String>> {
        let names = dir_names(self.layout.root())?;
        Ok(names
            .into_iter()
            .filter(|name| is_space_key(name))
            .collect())
    }

    /// Makes the space `key` if it does not exist, named after its key, so
    /// pages can be written without creating their space first. Call with
    /// the lock held.
    pub(super) fn ensure_space(&self, key: &str) -> Result<()> {
        let dir = self.layout.space_dir(key);
        if dir.is_dir() {
            return Ok(());
        }
        let file = SpaceFile {
            name: key.to_owned(),
            description: String::new(),
            idempotency_key: None,
        };
        std::fs::create_dir_all(&dir).map_err(|err| io_error("create", &dir, err))?;
        write_yaml(&self.layout.space_file(key), &file)
    }

    fn read_space(&self, key: &str) -> Result<Space> {
        let file =
            read_yaml::<SpaceFile>(&self.layout.space_file(key))?.unwrap_or_else(|| SpaceFile {
                name: key.to_owned(),
                description: String::new(),
                idempotency_key: None,
            });
        Ok(self.to_space(key, file))
    }

    fn to_space(&self, key: &str, file: SpaceFile) -> Space {
        Space {
            key: key.to_owned(),
            name: file.name,
            description: file.description,
            url: Some(file_url(&self.layout.space_dir(key))),
        }
    }
}
