//! Workflows: YAML files of steps that call plugin actions, AI actions and
//! built-in actions, with `${ }` expressions between them.

pub mod builtins;
pub mod expr;
pub mod library;
pub mod model;
pub mod validate;

#[cfg(test)]
mod tests;
