//! Logging with `tracing`: readable lines or JSON on stderr, with every
//! registered secret redacted before it is written.

use std::io::{self, Write};

use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::MakeWriter;

use aido_core::redact::redact;

use crate::cli::{GlobalArgs, LogFormat};

/// Installs the global subscriber. `AIDO_LOG` (an `EnvFilter` directive)
/// overrides the level chosen by `-v`/`-q`.
pub fn init(args: &GlobalArgs, color: bool) {
    let level = match (args.quiet, args.verbose) {
        (true, _) => "error",
        (false, 0) => "warn",
        (false, 1) => "info",
        (false, 2) => "debug",
        (false, _) => "trace",
    };
    let filter = EnvFilter::try_from_env("AIDO_LOG").unwrap_or_else(|_| EnvFilter::new(level));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(RedactingStderr);
    let result = match args.log_format {
        LogFormat::Text => builder
            .with_ansi(color)
            .with_target(args.verbose >= 2)
            .try_init(),
        LogFormat::Json => builder
            .json()
            .with_ansi(false)
            .flatten_event(true)
            .try_init(),
    };
    // A subscriber already set (in tests) is fine.
    let _ = result;
}

/// Writes log records to stderr with secrets redacted. The formatter writes
/// each record with one call, so a secret is never split across writes.
#[derive(Debug, Clone, Copy)]
struct RedactingStderr;

impl<'a> MakeWriter<'a> for RedactingStderr {
    type Writer = RedactingWriter;
    fn make_writer(&'a self) -> Self::Writer {
        RedactingWriter
    }
}

/// See [`RedactingStderr`].
struct RedactingWriter;

impl Write for RedactingWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let text = String::from_utf8_lossy(buf);
        io::stderr().lock().write_all(redact(&text).as_bytes())?;
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        io::stderr().flush()
    }
}
