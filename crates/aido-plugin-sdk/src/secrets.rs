//! The secrets the host sent in `plugin.connect`.
//!
//! A manifest lists the environment variables holding its secrets
//! (`secrets = ["TRACKER_TOKEN"]`); the host never puts them in the
//! plugin's environment but sends their values inside `plugin.connect`
//! only. The SDK keeps them here, before it calls the plugin's
//! [`Plugin::connect`](aido_plugin_api::Plugin::connect), so `connect` can
//! read them with [`secret`].

use std::collections::BTreeMap;
use std::sync::RwLock;

use aido_plugin_api::Secret;

static SECRETS: RwLock<BTreeMap<String, Secret>> = RwLock::new(BTreeMap::new());

/// The secret the host sent under `name` (an environment variable name the
/// manifest declares), or `None` when it is not set in the host's
/// environment. A plugin that needs it answers a configuration error naming
/// the variable, never its value.
///
/// ```
/// use aido_plugin_api::Error;
/// let token = aido_plugin_sdk::secret("TRACKER_TOKEN")
///     .ok_or_else(|| Error::configuration("set TRACKER_TOKEN in aido's environment"));
/// assert!(token.is_err());
/// ```
pub fn secret(name: &str) -> Option<Secret> {
    SECRETS
        .read()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .get(name)
        .cloned()
}

/// Replaces the secrets with those of a new `plugin.connect`.
pub(crate) fn set(secrets: BTreeMap<String, Secret>) {
    *SECRETS
        .write()
        .unwrap_or_else(std::sync::PoisonError::into_inner) = secrets;
}
