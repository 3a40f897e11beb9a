//! The state a plugin holds between `connect` and `disconnect`.

use std::sync::{Arc, PoisonError, RwLock};

use aido_plugin_api::{Error, Result};

/// Holds what `connect` set up; empty before and after.
#[derive(Debug)]
pub(crate) struct Connected<T> {
    state: RwLock<Option<Arc<T>>>,
}

impl<T> Default for Connected<T> {
    fn default() -> Self {
        Connected {
            state: RwLock::new(None),
        }
    }
}

impl<T> Connected<T> {
    /// The connected state, or an error naming `plugin` when `connect` has
    /// not succeeded (a call before connect is an error, never a panic).
    pub(crate) fn get(&self, plugin: &str) -> Result<Arc<T>> {
        // Every write replaces the whole value, so a poisoned lock still
        // holds a consistent one.
        let state = self.state.read().unwrap_or_else(PoisonError::into_inner);
        state.clone().ok_or_else(|| {
            Error::other(format!(
                "the {plugin} plugin is not connected; `connect` must succeed first"
            ))
        })
    }

    /// Stores what `connect` set up.
    pub(crate) fn set(&self, value: T) {
        *self.state.write().unwrap_or_else(PoisonError::into_inner) = Some(Arc::new(value));
    }

    /// Forgets it, for `disconnect`.
    pub(crate) fn clear(&self) {
        self.state
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
    }
}
