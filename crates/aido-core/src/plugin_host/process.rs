//! A plugin process: spawned from an argument list with a cleared
//! environment, in a process group of its own, told to die with aido, its
//! stderr turned into aido's log lines and its stdout into protocol lines.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, ChildStdin, ChildStdout, Command};

/// Variables every plugin gets from aido's environment; everything else it
/// gets only if its manifest asks (`env.pass`) or inside `plugin.connect`
/// (its secrets).
pub const ALLOWED_ENV: [&str; 4] = ["PATH", "HOME", "LANG", "TMPDIR"];

/// How to start a plugin.
#[derive(Debug, Clone)]
pub struct SpawnSpec {
    /// The plugin's name, for logs and errors.
    pub name: String,
    /// The program.
    pub program: PathBuf,
    /// Its arguments.
    pub args: Vec<String>,
    /// The folder it runs in (its manifest's folder).
    pub cwd: PathBuf,
    /// Variables passed through (`env.pass`), with their values.
    pub env: Vec<(String, String)>,
}

/// A running plugin process.
#[derive(Debug)]
pub struct PluginProcess {
    name: String,
    child: Child,
}

/// The protocol's two pipes of a started process: the connection writes
/// requests to `stdin` and reads answers from `stdout`. Dropping `stdin`
/// closes it, which tells the plugin to exit.
#[derive(Debug)]
pub struct Pipes {
    /// The plugin's stdin.
    pub stdin: ChildStdin,
    /// The plugin's stdout.
    pub stdout: ChildStdout,
}

impl PluginProcess {
    /// Starts the process; its stderr lines go to aido's log. The protocol
    /// pipes are returned apart, so that reading and writing each belong to
    /// one task and never wait on a lock.
    pub fn spawn(spec: &SpawnSpec) -> std::io::Result<(PluginProcess, Pipes)> {
        let mut command = Command::new(&spec.program);
        command
            .args(&spec.args)
            .current_dir(&spec.cwd)
            .env_clear()
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        for name in ALLOWED_ENV {
            if let Some(value) = std::env::var_os(name) {
                command.env(name, value);
            }
        }
        command.envs(spec.env.iter().map(|(k, v)| (k, v)));
        #[cfg(unix)]
        {
            // A group of its own, so that stopping it stops what it started.
            command.process_group(0);
        }
        #[cfg(target_os = "linux")]
        // SAFETY: `prctl` is async-signal-safe and touches only the child.
        unsafe {
            // The plugin dies with aido even after `kill -9` of aido: the
            // kernel sends it SIGKILL when its parent goes.
            command.pre_exec(|| {
                if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) == -1 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let mut child = command.spawn()?;
        let missing = || std::io::Error::other("the plugin's pipes were not set up");
        let stdin = child.stdin.take().ok_or_else(missing)?;
        let stdout = child.stdout.take().ok_or_else(missing)?;
        if let Some(stderr) = child.stderr.take() {
            let name = spec.name.clone();
            tokio::spawn(async move {
                let mut reader = BufReader::new(stderr).lines();
                while let Ok(Some(line)) = reader.next_line().await {
                    tracing::info!(target: "aido::plugin", plugin = %name, "{}", crate::redact::redact(&line));
                }
            });
        }
        Ok((
            PluginProcess {
                name: spec.name.clone(),
                child,
            },
            Pipes { stdin, stdout },
        ))
    }

    /// Whether the process has exited (and how), without waiting.
    pub fn exited(&mut self) -> Option<std::process::ExitStatus> {
        self.child.try_wait().ok().flatten()
    }

    /// Waits up to `grace` for the process to exit (its stdin, owned by the
    /// connection, is closed first); then SIGTERM to its group, another
    /// `grace`, then SIGKILL to its group. Reaps it, so no zombie is left.
    pub async fn stop(&mut self, grace: Duration) {
        if tokio::time::timeout(grace, self.child.wait()).await.is_ok() {
            return;
        }
        self.signal_group(Signal::Terminate);
        if tokio::time::timeout(grace, self.child.wait()).await.is_ok() {
            return;
        }
        self.signal_group(Signal::Kill);
        let _ = self.child.kill().await;
        tracing::debug!(plugin = %self.name, "plugin process killed");
    }

    fn signal_group(&self, signal: Signal) {
        #[cfg(unix)]
        if let Some(pid) = self.child.id() {
            let signal = match signal {
                Signal::Terminate => libc::SIGTERM,
                Signal::Kill => libc::SIGKILL,
            };
            // SAFETY: kill(2) with a negative pid signals the process group
            // we created for this child and nothing else.
            unsafe {
                libc::kill(-(pid as i32), signal);
            }
        }
        #[cfg(not(unix))]
        let _ = signal;
    }
}

enum Signal {
    Terminate,
    Kill,
}
