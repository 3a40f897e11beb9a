//! Running one agent process: started directly from an argument list
//! (never through a shell), in its own process group, with a cleared
//! environment, its prompt on stdin or in its arguments, its output
//! captured within a byte limit, and a timeout after which it and
//! everything it started are killed.
//!
//! Why a process group: an agent starts shells, test runners and language
//! servers. Killing only the agent would leave those running, holding its
//! output pipes open. The group is killed on timeout, when the call is
//! dropped (cancellation), and when something the agent started still holds
//! its output open after it exited. `kill_on_drop` stays on as a backstop.

use std::io;
use std::path::PathBuf;
use std::process::{ExitStatus, Stdio};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::process::{Child, Command};
use tokio::task::JoinHandle;

use super::env::ChildEnv;

/// How long output pipes may stay open after the agent exited before
/// whatever holds them (a background process it started) is killed.
const DRAIN_GRACE: Duration = Duration::from_secs(2);

/// How often, and how long apart, a spawn is retried when the program file
/// is busy (`ETXTBSY`: it was just written, and another thread's fork still
/// holds it open).
const BUSY_RETRIES: u32 = 5;
const BUSY_RETRY_DELAY: Duration = Duration::from_millis(50);

/// One process to run.
#[derive(Debug, Clone)]
pub(crate) struct Invocation {
    /// The file to start.
    pub program: PathBuf,
    /// Its arguments.
    pub args: Vec<String>,
    /// What to write to its stdin (otherwise stdin is empty).
    pub stdin: Option<String>,
    /// Its whole environment.
    pub env: ChildEnv,
    /// The folder it runs in; aido's own when absent.
    pub workdir: Option<PathBuf>,
    /// How long it may run.
    pub timeout: Duration,
    /// How many bytes of each output stream are kept (the last ones).
    pub max_output_bytes: usize,
}

/// The end of an output stream.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Captured {
    /// The last bytes written, at most the limit.
    pub bytes: Vec<u8>,
    /// How many bytes before them were dropped.
    pub dropped: u64,
}

impl Captured {
    /// The bytes as text (invalid UTF-8, such as a character cut at the
    /// limit, shown as `�`).
    pub(crate) fn text(&self) -> String {
        String::from_utf8_lossy(&self.bytes).into_owned()
    }

    /// Whether bytes were dropped.
    pub(crate) fn truncated(&self) -> bool {
        self.dropped > 0
    }
}

/// A process that ran to its end.
#[derive(Debug)]
pub(crate) struct Finished {
    /// How it ended.
    pub status: ExitStatus,
    /// Its stdout.
    pub stdout: Captured,
    /// Its stderr.
    pub stderr: Captured,
}

/// Why a process did not run to its end.
#[derive(Debug)]
pub(crate) enum RunError {
    /// It could not be started.
    Spawn(io::Error),
    /// It ran out of time and was killed; what it wrote to stderr so far.
    TimedOut { stderr: Captured },
    /// Waiting for it failed.
    Wait(io::Error),
}

/// Runs `invocation` to its end, or until its timeout.
pub(crate) async fn run(invocation: &Invocation) -> Result<Finished, RunError> {
    let mut command = build(invocation);
    let mut child = spawn(&mut command).await.map_err(RunError::Spawn)?;
    // Armed until the process is known to be gone with everything it
    // started: dropping this future (a cancelled call) kills the group.
    let mut group = GroupGuard::new(child.id());

    if let (Some(input), Some(mut pipe)) = (invocation.stdin.clone(), child.stdin.take()) {
        // On its own task, so that a large prompt cannot deadlock against
        // the agent filling its stdout pipe. An agent that does not read
        // its stdin closes it; the broken pipe is not an error.
        tokio::spawn(async move {
            let _ = pipe.write_all(input.as_bytes()).await;
        });
    }
    let limit = invocation.max_output_bytes;
    let stdout = Arc::new(Mutex::new(Tail::new(limit)));
    let stderr = Arc::new(Mutex::new(Tail::new(limit)));
    let mut readers = [
        child
            .stdout
            .take()
            .map(|pipe| read_into(pipe, Arc::clone(&stdout))),
        child
            .stderr
            .take()
            .map(|pipe| read_into(pipe, Arc::clone(&stderr))),
    ];

    let status = match tokio::time::timeout(invocation.timeout, child.wait()).await {
        Ok(Ok(status)) => status,
        Ok(Err(err)) => {
            stop(&mut child, &mut group, &mut readers).await;
            return Err(RunError::Wait(err));
        }
        Err(_) => {
            stop(&mut child, &mut group, &mut readers).await;
            return Err(RunError::TimedOut {
                stderr: take(&stderr),
            });
        }
    };

    let drained = tokio::time::timeout(DRAIN_GRACE, async {
        for reader in readers.iter_mut().flatten() {
            let _ = reader.await;
        }
    })
    .await;
    if drained.is_err() {
        // Something the agent started still holds its output open.
        group.kill();
        abort(&mut readers);
    }
    group.disarm();
    Ok(Finished {
        status,
        stdout: take(&stdout),
        stderr: take(&stderr),
    })
}

fn build(invocation: &Invocation) -> Command {
    let mut command = Command::new(&invocation.program);
    command
        .args(&invocation.args)
        .env_clear()
        .envs(
            invocation
                .env
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_os_str())),
        )
        .stdin(if invocation.stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    if let Some(dir) = &invocation.workdir {
        command.current_dir(dir);
    }
    #[cfg(unix)]
    command.process_group(0);
    command
}

/// Starts the process, retrying a few times while its file is busy.
async fn spawn(command: &mut Command) -> io::Result<Child> {
    let mut attempt = 0;
    loop {
        match command.spawn() {
            Err(err)
                if err.kind() == io::ErrorKind::ExecutableFileBusy && attempt < BUSY_RETRIES =>
            {
                attempt += 1;
                tokio::time::sleep(BUSY_RETRY_DELAY).await;
            }
            result => return result,
        }
    }
}

/// Kills the process and its group, reaps it, and stops reading.
async fn stop(
    child: &mut Child,
    group: &mut GroupGuard,
    readers: &mut [Option<JoinHandle<()>>; 2],
) {
    group.kill();
    let _ = child.start_kill();
    // Reaped, so no zombie is left; bounded, in case it cannot be killed.
    let _ = tokio::time::timeout(DRAIN_GRACE, child.wait()).await;
    abort(readers);
    group.disarm();
}

fn abort(readers: &mut [Option<JoinHandle<()>>; 2]) {
    for reader in readers.iter_mut().flatten() {
        reader.abort();
    }
}

/// Reads `pipe` to its end into `tail`, on its own task.
fn read_into(
    mut pipe: impl AsyncRead + Unpin + Send + 'static,
    tail: Arc<Mutex<Tail>>,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut buffer = vec![0u8; 16 * 1024];
        loop {
            match pipe.read(&mut buffer).await {
                Ok(0) | Err(_) => break,
                Ok(n) => lock(&tail).push(&buffer[..n]),
            }
        }
    })
}

fn lock(tail: &Mutex<Tail>) -> std::sync::MutexGuard<'_, Tail> {
    // A push is a single append and trim, so a poisoned lock still holds a
    // consistent buffer.
    tail.lock().unwrap_or_else(PoisonError::into_inner)
}

fn take(tail: &Mutex<Tail>) -> Captured {
    std::mem::replace(&mut *lock(tail), Tail::new(0)).finish()
}

/// The last `limit` bytes of a stream.
#[derive(Debug)]
struct Tail {
    bytes: Vec<u8>,
    limit: usize,
    dropped: u64,
}

impl Tail {
    fn new(limit: usize) -> Self {
        Tail {
            bytes: Vec::new(),
            limit,
            dropped: 0,
        }
    }

    fn push(&mut self, chunk: &[u8]) {
        self.bytes.extend_from_slice(chunk);
        // Trimmed only when twice the limit is reached, so that the copy
        // the trim makes is amortized over many chunks.
        if self.bytes.len() > self.limit.saturating_mul(2).max(64 * 1024) {
            self.trim();
        }
    }

    fn trim(&mut self) {
        if self.bytes.len() > self.limit {
            let cut = self.bytes.len() - self.limit;
            self.bytes.drain(..cut);
            self.dropped += cut as u64;
        }
    }

    fn finish(mut self) -> Captured {
        self.trim();
        Captured {
            bytes: self.bytes,
            dropped: self.dropped,
        }
    }
}

/// Kills a process group when dropped, unless disarmed.
struct GroupGuard {
    id: Option<u32>,
}

impl GroupGuard {
    /// A guard for the group led by the process `id` (the child was started
    /// with `process_group(0)`, so its group id is its process id).
    fn new(id: Option<u32>) -> Self {
        GroupGuard { id }
    }

    /// Kills every process of the group now.
    fn kill(&self) {
        if let Some(id) = self.id {
            kill_group(id);
        }
    }

    /// Leaves the group alone from now on.
    fn disarm(&mut self) {
        self.id = None;
    }
}

impl Drop for GroupGuard {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Sends SIGKILL to the process group `id`.
///
/// The standard library has no `killpg`, and this crate takes no `libc`
/// dependency for one call, so the system's `kill` does it
/// (`kill -s KILL -- -<id>`, POSIX). If `kill` is missing, the agent itself
/// is still killed through its `Child` handle.
#[cfg(unix)]
fn kill_group(id: u32) {
    let _ = std::process::Command::new("kill")
        .args(["-s", "KILL", "--", &format!("-{id}")])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
}

/// Other platforms have no process groups to kill; `kill_on_drop` and
/// `start_kill` stop the agent itself.
#[cfg(not(unix))]
fn kill_group(_id: u32) {}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::time::Instant;

    /// An environment of just these variables.
    fn env_of(vars: &[(&str, &str)]) -> ChildEnv {
        let map: std::collections::BTreeMap<String, aido_plugin_api::Secret> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), aido_plugin_api::Secret::new(*v)))
            .collect();
        ChildEnv::build(&[], &map, |_| None)
    }

    fn sh(script: &str, stdin: Option<&str>, timeout: Duration, limit: usize) -> Invocation {
        Invocation {
            program: "/bin/sh".into(),
            args: vec!["-c".into(), script.into()],
            stdin: stdin.map(str::to_owned),
            env: env_of(&[("PATH", "/usr/bin:/bin"), ("ONLY_ME", "yes")]),
            workdir: None,
            timeout,
            max_output_bytes: limit,
        }
    }

    #[tokio::test]
    async fn output_and_status_are_captured() {
        let run = run(&sh(
            "cat; echo out; echo err >&2; exit 3",
            Some("from stdin\n"),
            Duration::from_secs(20),
            1024,
        ))
        .await
        .unwrap();
        assert_eq!(run.status.code(), Some(3));
        assert_eq!(run.stdout.text(), "from stdin\nout\n");
        assert_eq!(run.stderr.text(), "err\n");
    }

    #[tokio::test]
    async fn only_the_given_environment_is_seen() {
        let run = run(&sh("env", None, Duration::from_secs(20), 4096))
            .await
            .unwrap();
        let mut names: Vec<String> = run
            .stdout
            .text()
            .lines()
            .filter_map(|line| line.split('=').next().map(str::to_owned))
            .collect();
        names.sort();
        // `sh` itself may add PWD, SHLVL and `_`.
        names.retain(|name| !["PWD", "SHLVL", "_", "OLDPWD"].contains(&name.as_str()));
        assert_eq!(names, ["ONLY_ME", "PATH"]);
    }

    #[tokio::test]
    async fn only_the_tail_of_a_long_output_is_kept() {
        let run = run(&sh(
            "i=0; while [ $i -lt 30000 ]; do echo line$i; i=$((i+1)); done",
            None,
            Duration::from_secs(30),
            100,
        ))
        .await
        .unwrap();
        assert_eq!(run.stdout.bytes.len(), 100);
        assert!(run.stdout.truncated());
        assert!(
            run.stdout.text().ends_with("line29999\n"),
            "{}",
            run.stdout.text()
        );
    }

    #[tokio::test]
    async fn a_timeout_kills_the_whole_group() {
        let dir = tempfile::tempdir().unwrap();
        let pid_file = dir.path().join("pid");
        let script = format!(
            "sleep 30 & echo $! > {}; echo started >&2; wait",
            pid_file.display()
        );
        let started = Instant::now();
        let err = run(&sh(&script, None, Duration::from_millis(700), 1024))
            .await
            .unwrap_err();
        assert!(started.elapsed() < Duration::from_secs(10));
        match err {
            RunError::TimedOut { stderr } => assert_eq!(stderr.text(), "started\n"),
            other => panic!("expected a timeout, got {other:?}"),
        }
        let pid: u32 = std::fs::read_to_string(&pid_file)
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        assert!(
            wait_until_gone(pid).await,
            "the agent's own child {pid} survived"
        );
    }

    #[tokio::test]
    async fn a_background_process_holding_the_output_does_not_hold_the_call() {
        let started = Instant::now();
        let run = run(&sh(
            "sleep 30 & echo done",
            None,
            Duration::from_secs(20),
            1024,
        ))
        .await
        .unwrap();
        assert!(run.status.success());
        assert_eq!(run.stdout.text(), "done\n");
        assert!(started.elapsed() < Duration::from_secs(10));
    }

    #[tokio::test]
    async fn a_missing_program_is_a_spawn_error() {
        let mut invocation = sh("true", None, Duration::from_secs(5), 10);
        invocation.program = "/nonexistent/agent".into();
        match run(&invocation).await.unwrap_err() {
            RunError::Spawn(err) => assert_eq!(err.kind(), io::ErrorKind::NotFound),
            other => panic!("expected a spawn error, got {other:?}"),
        }
    }

    /// Whether process `pid` is gone (or a zombie nobody reaped yet, which
    /// runs nothing), within a few seconds.
    async fn wait_until_gone(pid: u32) -> bool {
        for _ in 0..50 {
            match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
                Err(_) => return true,
                Ok(stat) => {
                    // The state follows the parenthesized command name.
                    let state = stat.rsplit(')').next().unwrap_or("").trim_start();
                    if state.starts_with('Z') || state.starts_with('X') {
                        return true;
                    }
                }
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        false
    }
}
