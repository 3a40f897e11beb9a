//! The standard data model that every plugin of a kind speaks.
//!
//! These types are the action catalog's inputs and outputs: each derives
//! `JsonSchema`, and each input type rejects unknown fields so that a typo in a
//! workflow is an error, not a silently ignored argument.

pub mod ai;
pub mod chat;
pub mod docs;
pub mod monitoring;
pub mod task;
pub mod vcs;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The input of an action that takes no arguments.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NoInput {}

/// Free-form extra fields, as a JSON object.
pub type Fields = serde_json::Map<String, serde_json::Value>;
