//! Runs the git CLI: one place that knows how git is started, bounded in
//! time, and how its failures become [`Error`]s.
//!
//! Git is always started directly with an argument list, never through a
//! shell, so no value is ever interpreted by one. Every invocation:
//!
//! - gets `GIT_TERMINAL_PROMPT=0`, so a missing credential fails at once
//!   instead of waiting for a prompt nobody will answer;
//! - gets `LC_ALL=C`, so git's messages are in English and can be classified;
//! - passes settings with `-c key=value`, never by changing any config file;
//! - has a timeout, after which the child is killed (`kill_on_drop`);
//! - has its stderr trimmed, redacted and put into the error message.

use std::ffi::{OsStr, OsString};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use aido_plugin_api::{Error, ErrorKind, Result};
use tokio::io::AsyncWriteExt;
use tokio::process::Command;

use super::redact::redact_text;

/// How to start git: which binary, how long a call may take, and which
/// extra environment variables it gets.
#[derive(Debug, Clone)]
pub(crate) struct Git {
    binary: PathBuf,
    timeout: Duration,
    extra_env: Vec<(OsString, OsString)>,
}

impl Git {
    /// A runner for `binary` whose calls are stopped after `timeout`.
    pub(crate) fn new(binary: PathBuf, timeout: Duration) -> Self {
        Git {
            binary,
            timeout,
            extra_env: Vec::new(),
        }
    }

    /// Adds environment variables to every call (tests use it to keep the
    /// machine's own git configuration out).
    pub(crate) fn with_env(mut self, env: Vec<(OsString, OsString)>) -> Self {
        self.extra_env = env;
        self
    }

    /// The binary git is started from, for messages.
    pub(crate) fn binary(&self) -> &Path {
        &self.binary
    }

    /// A git command run with no particular repository.
    pub(crate) fn command(&self) -> GitCommand<'_> {
        GitCommand {
            git: self,
            dir: None,
            configs: Vec::new(),
            args: Vec::new(),
            env: Vec::new(),
            stdin: None,
        }
    }

    /// A git command run in `dir` (`git -C <dir> ...`).
    pub(crate) fn in_dir(&self, dir: &Path) -> GitCommand<'_> {
        let mut command = self.command();
        command.dir = Some(dir.to_owned());
        command
    }

    /// `git --version`, which proves the binary can be started.
    pub(crate) async fn version(&self) -> Result<String> {
        self.command().arg("--version").run().await
    }

    /// Checks that git runs and is recent enough, returning its version
    /// line. Failures name the binary, since that is what the user fixes.
    pub(crate) async fn check(&self) -> Result<String> {
        let binary = self.binary().display();
        let version = self.version().await.map_err(|err| match err.kind() {
            ErrorKind::Connection | ErrorKind::Timeout => err,
            _ => Error::connection(format!("`{binary} --version` failed: {}", err.message())),
        })?;
        match parse_version(&version) {
            Some(found) if found < MINIMUM_VERSION => Err(Error::configuration(format!(
                "`{binary}` is {version}, but the git plugin needs git {}.{} or newer; \
                 upgrade git or point connection.git_binary at a newer one",
                MINIMUM_VERSION.0, MINIMUM_VERSION.1
            ))),
            // An unknown format (a vendor build) is given the benefit of the
            // doubt: a real incompatibility still fails with git's message.
            _ => Ok(version),
        }
    }
}

/// The oldest git whose options this plugin uses (`rev-parse
/// --end-of-options` is the newest of them, from git 2.30).
const MINIMUM_VERSION: (u32, u32) = (2, 30);

/// `(major, minor)` from `git version 2.47.3` (or `2.39.3 (Apple Git-146)`,
/// `2.41.0.windows.1`).
fn parse_version(line: &str) -> Option<(u32, u32)> {
    let number = line
        .strip_prefix("git version ")?
        .split_whitespace()
        .next()?;
    let mut parts = number.split('.');
    Some((parts.next()?.parse().ok()?, parts.next()?.parse().ok()?))
}

/// One git invocation being put together.
#[must_use = "a git command does nothing until it is run"]
pub(crate) struct GitCommand<'a> {
    git: &'a Git,
    dir: Option<PathBuf>,
    configs: Vec<String>,
    args: Vec<OsString>,
    env: Vec<(OsString, OsString)>,
    stdin: Option<Vec<u8>>,
}

impl GitCommand<'_> {
    /// Adds one argument.
    pub(crate) fn arg(mut self, arg: impl AsRef<OsStr>) -> Self {
        self.args.push(arg.as_ref().to_owned());
        self
    }

    /// Adds several arguments.
    pub(crate) fn args<I, S>(mut self, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.args
            .extend(args.into_iter().map(|a| a.as_ref().to_owned()));
        self
    }

    /// Sets a configuration value for this call only (`-c key=value`).
    pub(crate) fn config(mut self, key: &str, value: &str) -> Self {
        self.configs.push(format!("{key}={value}"));
        self
    }

    /// Sets an environment variable for this call only.
    pub(crate) fn env(mut self, key: impl AsRef<OsStr>, value: impl AsRef<OsStr>) -> Self {
        self.env
            .push((key.as_ref().to_owned(), value.as_ref().to_owned()));
        self
    }

    /// Makes paths given to git mean exactly those files, never glob
    /// patterns (`GIT_LITERAL_PATHSPECS=1`): a file named `*.rs` is one file.
    pub(crate) fn literal_pathspecs(self) -> Self {
        self.env("GIT_LITERAL_PATHSPECS", "1")
    }

    /// Feeds `input` to git's stdin (otherwise stdin is empty).
    pub(crate) fn stdin(mut self, input: impl Into<Vec<u8>>) -> Self {
        self.stdin = Some(input.into());
        self
    }

    /// Runs git and returns its trimmed stdout; a non-zero exit is an error
    /// carrying git's stderr.
    pub(crate) async fn run(self) -> Result<String> {
        let output = self.output().await?;
        output.ok()?;
        Ok(output.stdout_text())
    }

    /// Runs git and tells whether it exited with status 0; only failures to
    /// run git at all are errors. For questions git answers by exit status
    /// (`rev-parse --verify --quiet`, `diff --quiet`).
    pub(crate) async fn succeeds(self) -> Result<bool> {
        Ok(self.output().await?.success)
    }

    /// Runs git and returns what it did, whatever its exit status. Errors
    /// only when git could not be started or ran out of time.
    pub(crate) async fn output(self) -> Result<GitOutput> {
        let description = self.describe();
        tracing::debug!(command = %self.log_line(), "running git");
        let mut command = self.build();
        let mut child = command.spawn().map_err(|err| {
            Error::connection(format!(
                "git could not be started from `{}` ({err}); install git or set \
                 connection.git_binary to its path",
                self.git.binary.display()
            ))
        })?;
        if let (Some(input), Some(mut pipe)) = (self.stdin, child.stdin.take()) {
            // Written on its own task so that a large input cannot deadlock
            // against git filling its stdout pipe.
            tokio::spawn(async move {
                let _ = pipe.write_all(&input).await;
            });
        }
        let waited = tokio::time::timeout(self.git.timeout, child.wait_with_output()).await;
        // On timeout the future owning the child is dropped here, and
        // `kill_on_drop` kills git.
        let output = waited.map_err(|_| {
            Error::timeout(format!(
                "{description} did not finish within {}s and was stopped; raise \
                 options.command_timeout_seconds if it needs longer",
                self.git.timeout.as_secs()
            ))
        })?;
        let output =
            output.map_err(|err| Error::other(format!("{description} failed to run: {err}")))?;
        Ok(GitOutput {
            description,
            success: output.status.success(),
            stdout: output.stdout,
            stderr: redact_text(String::from_utf8_lossy(&output.stderr).trim()),
        })
    }

    fn build(&self) -> Command {
        let mut command = Command::new(&self.git.binary);
        if let Some(dir) = &self.dir {
            command.arg("-C").arg(dir);
        }
        for config in &self.configs {
            command.arg("-c").arg(config);
        }
        command
            .args(&self.args)
            .env("GIT_TERMINAL_PROMPT", "0")
            .env("LC_ALL", "C")
            .envs(self.git.extra_env.iter().map(|(k, v)| (k, v)))
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .stdin(if self.stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        command
    }

    /// `` `git <subcommand>` in <dir> ``, for messages: the subcommand only,
    /// since other arguments may be long or hold URLs.
    fn describe(&self) -> String {
        let subcommand = self
            .args
            .iter()
            .find(|a| !a.to_string_lossy().starts_with('-'))
            .or(self.args.first())
            .map(|a| a.to_string_lossy())
            .unwrap_or_default();
        match &self.dir {
            Some(dir) => format!("`git {subcommand}` in {}", dir.display()),
            None => format!("`git {subcommand}`"),
        }
    }

    /// The whole command line with credentials redacted, for debug logs.
    fn log_line(&self) -> String {
        let mut line = String::from("git");
        if let Some(dir) = &self.dir {
            line.push_str(&format!(" -C {}", dir.display()));
        }
        for config in &self.configs {
            line.push_str(&format!(" -c {config}"));
        }
        for arg in &self.args {
            line.push(' ');
            line.push_str(&redact_text(&arg.to_string_lossy()));
        }
        line
    }
}

/// What a finished git invocation did.
#[derive(Debug)]
pub(crate) struct GitOutput {
    description: String,
    /// Whether git exited with status 0.
    pub(crate) success: bool,
    /// Its raw stdout.
    pub(crate) stdout: Vec<u8>,
    /// Its stderr, trimmed and with credentials redacted.
    pub(crate) stderr: String,
}

impl GitOutput {
    /// Stdout as text, trimmed.
    pub(crate) fn stdout_text(&self) -> String {
        String::from_utf8_lossy(&self.stdout).trim().to_owned()
    }

    /// `Ok` when git succeeded, else the error describing its failure.
    pub(crate) fn ok(&self) -> Result<()> {
        if self.success {
            Ok(())
        } else {
            Err(self.failure())
        }
    }

    /// The error for a failed invocation: its description and git's own
    /// words, classified as a connection or authentication problem when
    /// git's message says so.
    pub(crate) fn failure(&self) -> Error {
        let reason = if self.stderr.is_empty() {
            "no message from git"
        } else {
            &self.stderr
        };
        Error::new(
            classify(&self.stderr),
            format!("{} failed: {reason}", self.description),
        )
    }
}

/// The error kind git's stderr points at. Only network operations produce
/// these messages, so other failures stay [`ErrorKind::Other`].
pub(crate) fn classify(stderr: &str) -> ErrorKind {
    const AUTHENTICATION: &[&str] = &[
        "Authentication failed",
        "could not read Username",
        "could not read Password",
        "Permission denied (publickey",
        "terminal prompts disabled",
        "The requested URL returned error: 401",
        "The requested URL returned error: 403",
    ];
    const CONNECTION: &[&str] = &[
        "Could not resolve host",
        "Connection refused",
        "Connection timed out",
        "Failed to connect",
        "Could not connect",
        "Network is unreachable",
        "Operation timed out",
        "unable to access",
        "Could not read from remote repository",
        "The remote end hung up unexpectedly",
        "The requested URL returned error: 5",
    ];
    if AUTHENTICATION.iter().any(|p| stderr.contains(p)) {
        ErrorKind::Authentication
    } else if CONNECTION.iter().any(|p| stderr.contains(p)) {
        ErrorKind::Connection
    } else {
        ErrorKind::Other
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn git() -> Git {
        Git::new("git".into(), Duration::from_secs(30))
    }

    #[tokio::test]
    async fn version_runs() {
        let version = git().version().await.unwrap();
        assert!(version.starts_with("git version"), "{version}");
    }

    #[tokio::test]
    async fn a_missing_binary_is_a_connection_error_naming_it() {
        let git = Git::new("/nonexistent/git-binary".into(), Duration::from_secs(5));
        let err = git.version().await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Connection);
        assert!(err.message().contains("/nonexistent/git-binary"), "{err}");
    }

    #[tokio::test]
    async fn failures_carry_trimmed_stderr_and_the_folder() {
        let dir = tempfile::tempdir().unwrap();
        let err = git()
            .in_dir(dir.path())
            .args(["rev-parse", "HEAD"])
            .run()
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Other);
        assert!(err.message().starts_with("`git rev-parse` in "), "{err}");
        assert!(err.message().contains("not a git repository"), "{err}");
        assert!(!err.message().ends_with('\n'));
    }

    #[tokio::test]
    async fn stdin_is_fed_to_git() {
        let hash = git()
            .command()
            .args(["hash-object", "--stdin"])
            .stdin("hello\n")
            .run()
            .await
            .unwrap();
        assert_eq!(hash, "ce013625030ba8dba906f756967f9e9ca394464a");
    }

    #[tokio::test]
    async fn succeeds_reports_the_exit_status() {
        let dir = tempfile::tempdir().unwrap();
        let inside = git()
            .in_dir(dir.path())
            .args(["rev-parse", "--git-dir"])
            .succeeds()
            .await;
        assert!(!inside.unwrap());
    }

    #[test]
    fn versions_are_parsed() {
        assert_eq!(parse_version("git version 2.47.3"), Some((2, 47)));
        assert_eq!(
            parse_version("git version 2.39.3 (Apple Git-146)"),
            Some((2, 39))
        );
        assert_eq!(parse_version("git version 2.41.0.windows.1"), Some((2, 41)));
        assert_eq!(parse_version("hub version 1"), None);
        assert!((2, 29) < MINIMUM_VERSION && (3, 0) > MINIMUM_VERSION);
    }

    #[tokio::test]
    async fn an_old_git_is_refused_naming_the_binary() {
        let dir = tempfile::tempdir().unwrap();
        let fake = dir.path().join("old-git");
        std::fs::write(&fake, "#!/bin/sh\necho 'git version 2.20.1'\n").unwrap();
        let executable =
            <std::fs::Permissions as std::os::unix::fs::PermissionsExt>::from_mode(0o755);
        std::fs::set_permissions(&fake, executable).unwrap();
        let err = Git::new(fake.clone(), Duration::from_secs(5))
            .check()
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Configuration);
        assert!(
            err.message().contains("old-git") && err.message().contains("2.30"),
            "{err}"
        );
        git().check().await.unwrap();
    }

    #[test]
    fn network_messages_are_classified() {
        assert_eq!(
            classify("fatal: Could not resolve host: example.invalid"),
            ErrorKind::Connection
        );
        assert_eq!(
            classify(
                "fatal: could not read Username for 'https://host': terminal prompts disabled"
            ),
            ErrorKind::Authentication
        );
        assert_eq!(
            classify("fatal: pathspec 'x' did not match"),
            ErrorKind::Other
        );
    }

    #[test]
    fn log_lines_hide_credentials() {
        let git = git();
        let command = git
            .command()
            .args(["clone", "https://me:tok@host/r.git", "/tmp/x"]);
        let line = command.log_line();
        assert!(!line.contains("tok"), "{line}");
        assert!(line.contains("https://[redacted]@host/r.git"), "{line}");
    }
}
