//! How a plugin is made: a [`PluginFactory`] holds a plugin's metadata and
//! makes unconfigured instances on demand.
//!
//! Built-in plugins hand their factories to the registry in one explicit list;
//! external plugins get a factory made from their manifest.

use std::sync::Arc;

use crate::catalog::PluginInstance;
use crate::plugin::PluginMetadata;

/// Makes instances of one plugin.
#[derive(Clone)]
pub struct PluginFactory {
    metadata: PluginMetadata,
    create: Arc<dyn Fn() -> PluginInstance + Send + Sync>,
}

impl PluginFactory {
    /// A factory for a plugin described by `metadata` and made by `create`.
    pub fn new(
        metadata: PluginMetadata,
        create: impl Fn() -> PluginInstance + Send + Sync + 'static,
    ) -> Self {
        PluginFactory {
            metadata,
            create: Arc::new(create),
        }
    }

    /// What the plugin says about itself.
    pub fn metadata(&self) -> &PluginMetadata {
        &self.metadata
    }

    /// A new, unconfigured instance.
    pub fn create(&self) -> PluginInstance {
        (self.create)()
    }
}

impl std::fmt::Debug for PluginFactory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "PluginFactory({} {})",
            self.metadata.kind, self.metadata.name
        )
    }
}
