//! How an emulator is started: where it listens and which key it accepts.

use std::net::{Ipv4Addr, SocketAddr};

/// The API key an emulator accepts.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum ApiKey {
    /// A fresh key, made up at start; read it with the emulator's
    /// `api_key()`.
    #[default]
    Generated,
    /// This key.
    Fixed(String),
    /// No key at all, as local OpenAI-compatible servers (Ollama,
    /// llama.cpp) work. Emulators of services that always require one
    /// treat this as [`ApiKey::Generated`].
    NotRequired,
}

/// Where an emulator listens and what it accepts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmulatorOptions {
    /// The address to bind; port 0 picks a free port. Loopback by default:
    /// an emulator is for this machine only.
    pub addr: SocketAddr,
    /// The API key requests must carry.
    pub api_key: ApiKey,
}

impl Default for EmulatorOptions {
    fn default() -> Self {
        EmulatorOptions {
            addr: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
            api_key: ApiKey::Generated,
        }
    }
}

impl EmulatorOptions {
    /// The key to accept: the fixed one, a generated one with `prefix`, or
    /// none when not required and `optional` (the service allows it).
    pub(crate) fn resolve_key(&self, prefix: &str, optional: bool) -> Option<String> {
        match &self.api_key {
            ApiKey::Fixed(key) => Some(key.clone()),
            ApiKey::NotRequired if optional => None,
            ApiKey::Generated | ApiKey::NotRequired => Some(crate::synth::api_key(prefix)),
        }
    }
}
