//! Exit codes, decided in one place.

use std::fmt;

/// The process exit code of a failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitCode {
    /// Something failed while running (a plugin, a service).
    Runtime = 1,
    /// The command line or the configuration is wrong.
    Usage = 2,
    /// Interrupted by Ctrl-C.
    Interrupted = 130,
}

/// A command's failure: what to print and how to exit.
#[derive(Debug)]
pub struct CliError {
    /// How to exit.
    pub code: ExitCode,
    /// What to print on stderr; empty when the command printed it already.
    pub message: String,
}

impl CliError {
    /// A runtime failure.
    pub fn runtime(message: impl fmt::Display) -> Self {
        CliError {
            code: ExitCode::Runtime,
            message: message.to_string(),
        }
    }
    /// A usage or configuration error.
    pub fn usage(message: impl fmt::Display) -> Self {
        CliError {
            code: ExitCode::Usage,
            message: message.to_string(),
        }
    }
    /// A failure already reported on the output.
    pub fn reported(code: ExitCode) -> Self {
        CliError {
            code,
            message: String::new(),
        }
    }
}

impl From<aido_core::RegistryError> for CliError {
    fn from(err: aido_core::RegistryError) -> Self {
        CliError::usage(err)
    }
}

impl From<aido_core::lifecycle::LifecycleError> for CliError {
    fn from(err: aido_core::lifecycle::LifecycleError) -> Self {
        match err {
            aido_core::lifecycle::LifecycleError::Interrupted => CliError {
                code: ExitCode::Interrupted,
                message: err.to_string(),
            },
            other => CliError::runtime(other),
        }
    }
}

/// The result of a command.
pub type CliResult<T = ()> = Result<T, CliError>;
