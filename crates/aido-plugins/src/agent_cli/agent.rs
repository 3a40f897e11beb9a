//! One configured agent CLI and its one operation, [`Agent::run_in`]: run
//! the agent headless in a folder with a prompt, and report its answer,
//! what it said it spent, and what it changed in the folder.
//!
//! Everything about a single run lives here: finding the program, building
//! its command line, running it, reading its output, listing the changes,
//! and turning each way it can fail into an [`Error`] that names the
//! program and the preset. Pricing, replay and the usage ledger are the
//! plugin's business, not this type's.

use std::path::{Path, PathBuf};
use std::time::Duration;

use aido_plugin_api::model::ai::TokenUsage;
use aido_plugin_api::{Error, Result};

use super::changes::{self, WorkspaceChanges};
use super::env::ChildEnv;
use super::output::{self, strip_ansi};
use super::preset::{CommandTemplate, PROMPT_PLACEHOLDER, spec};
use super::process::{self, Finished, Invocation, RunError};
use super::program::{self, NotFound};

/// How much of the agent's stderr (or stdout) an error message quotes.
const TAIL_LINES: usize = 20;
const TAIL_CHARS: usize = 2000;

/// A configured agent CLI.
#[derive(Debug, Clone)]
pub(crate) struct Agent {
    template: CommandTemplate,
    env: ChildEnv,
    project_dir: PathBuf,
    timeout: Duration,
    max_output_bytes: usize,
}

/// What one run of the agent did.
#[derive(Debug, Clone)]
pub(crate) struct AgentRun {
    /// The agent's final message.
    pub answer: String,
    /// What is uncommitted in the workspace after the run.
    pub changes: WorkspaceChanges,
    /// The model, when the agent reported it.
    pub model: Option<String>,
    /// Tokens, when the agent reported them.
    pub usage: Option<TokenUsage>,
    /// Cost in US dollars, when the agent reported it.
    pub cost_usd: Option<f64>,
    /// Why the agent stopped, when it said.
    pub stop_reason: Option<String>,
}

impl Agent {
    /// An agent started from `template` with the environment `env`;
    /// relative program paths are resolved against `project_dir`.
    pub(crate) fn new(
        template: CommandTemplate,
        env: ChildEnv,
        project_dir: PathBuf,
        timeout: Duration,
        max_output_bytes: usize,
    ) -> Self {
        Agent {
            template,
            env,
            project_dir,
            timeout,
            max_output_bytes,
        }
    }

    /// The command template.
    pub(crate) fn template(&self) -> &CommandTemplate {
        &self.template
    }

    /// `` `claude` (preset claude_code) ``: what error messages call it.
    pub(crate) fn who(&self) -> String {
        format!(
            "`{}` (preset {})",
            self.template.program(),
            self.template.preset().as_str()
        )
    }

    /// The file to start; a configuration error naming the binary, the
    /// preset and the fix when there is none.
    pub(crate) fn program(&self) -> Result<PathBuf> {
        let name = self.template.program();
        let preset = self.template.preset();
        let spec = spec(preset);
        program::resolve(
            name,
            &self.project_dir,
            self.env.get("PATH").map(|p| p.as_os_str()),
        )
        .map_err(|not_found| {
            let message = match not_found {
                NotFound::OnPath => format!(
                    "the agent program `{name}` (preset {}) was not found on PATH; {}, or \
                     set connection.command to the program's path",
                    preset.as_str(),
                    spec.install_hint
                ),
                NotFound::NoPath => format!(
                    "the agent program `{name}` (preset {}) cannot be looked up: aido has no \
                     PATH to give it; set connection.command to the program's full path",
                    preset.as_str()
                ),
                NotFound::Path(path) => format!(
                    "the agent program {} (preset {}) does not exist or is not an executable \
                     file; fix connection.command",
                    path.display(),
                    preset.as_str()
                ),
            };
            Error::configuration(message)
        })
    }

    /// Runs the agent in `workdir` with `prompt` (and `model`, passed with
    /// the preset's model flag), waits for it within the timeout, and
    /// reports what it did.
    ///
    /// This is the whole run; the workspace is a parameter so that a caller
    /// that knows the run's workspace (a future `AiRequest.workdir`) passes
    /// it in one line.
    pub(crate) async fn run_in(
        &self,
        workdir: &Path,
        prompt: &str,
        model: Option<&str>,
    ) -> Result<AgentRun> {
        if !workdir.is_dir() {
            return Err(Error::configuration(format!(
                "the agent's workspace {} is not a folder; create it, or point \
                 options.workdir at the run's working copy",
                workdir.display()
            )));
        }
        let program = self.program()?;
        if let Some(dir) = self.template.support_dir() {
            std::fs::create_dir_all(dir).map_err(|err| {
                Error::other(format!("could not create {}: {err}", dir.display())).with_source(err)
            })?;
        }
        let line = self.template.render(prompt, model);
        let head_before = changes::head(workdir).await;
        let invocation = Invocation {
            program,
            args: line.args,
            stdin: line.stdin,
            env: self.env.clone(),
            workdir: Some(workdir.to_owned()),
            timeout: self.timeout,
            max_output_bytes: self.max_output_bytes,
        };
        tracing::debug!(
            command = %self.template.describe(),
            workdir = %workdir.display(),
            "running the agent"
        );
        let finished = process::run(&invocation)
            .await
            .map_err(|err| self.run_error(err, workdir, prompt))?;
        let parsed = self.read_output(&finished, workdir)?;
        if finished.stdout.truncated() {
            tracing::warn!(
                "{} printed more than options.max_output_bytes ({} bytes); only the end of its \
                 output was read",
                self.who(),
                self.max_output_bytes
            );
        }
        let changes = changes::collect(workdir, head_before).await;
        Ok(AgentRun {
            answer: parsed.text,
            changes,
            model: parsed.model,
            usage: parsed.usage,
            cost_usd: parsed.cost_usd,
            stop_reason: parsed.stop_reason,
        })
    }

    /// `<program> --version`, within `timeout`: its first line of output.
    pub(crate) async fn version(&self, timeout: Duration) -> Result<String> {
        let invocation = Invocation {
            program: self.program()?,
            args: vec!["--version".to_owned()],
            stdin: None,
            env: self.env.clone(),
            workdir: None,
            timeout,
            max_output_bytes: 64 * 1024,
        };
        let who = self.who();
        let finished = process::run(&invocation).await.map_err(|err| match err {
            RunError::TimedOut { .. } => Error::timeout(format!(
                "{who} did not answer `--version` within {}s",
                timeout.as_secs()
            )),
            RunError::Spawn(err) | RunError::Wait(err) => {
                Error::other(format!("{who} could not be started: {err}")).with_source(err)
            }
        })?;
        if !finished.status.success() {
            return Err(Error::other(format!(
                "`{} --version` {}: {}",
                self.template.program(),
                describe_status(finished.status),
                tail(&finished.stderr.text())
            )));
        }
        let text = strip_ansi(&finished.stdout.text());
        Ok(text
            .lines()
            .map(str::trim)
            .find(|line| !line.is_empty())
            .unwrap_or("")
            .to_owned())
    }

    /// The error for a run that did not finish.
    fn run_error(&self, err: RunError, workdir: &Path, prompt: &str) -> Error {
        let who = self.who();
        match err {
            RunError::Spawn(err) => match err.kind() {
                std::io::ErrorKind::NotFound | std::io::ErrorKind::PermissionDenied => {
                    Error::configuration(format!(
                        "{who} could not be started ({err}); check that it is installed and \
                         executable, or fix connection.command"
                    ))
                    .with_source(err)
                }
                std::io::ErrorKind::ArgumentListTooLong => Error::invalid_input(format!(
                    "the prompt ({} bytes) is too long to pass to {who} as an argument; \
                     remove `{PROMPT_PLACEHOLDER}` from connection.command so that it is \
                     passed on stdin",
                    prompt.len()
                ))
                .with_source(err),
                _ => Error::other(format!("{who} could not be started: {err}")).with_source(err),
            },
            RunError::TimedOut { stderr } => {
                let last = tail(&stderr.text());
                let last = if last.is_empty() {
                    String::new()
                } else {
                    format!(" Its last words on stderr: {last}")
                };
                Error::timeout(format!(
                    "{who} did not finish within {}s in {} and was stopped, with everything \
                     it started; raise options.timeout_seconds if runs need longer.{last}",
                    self.timeout.as_secs(),
                    workdir.display()
                ))
            }
            RunError::Wait(err) => {
                Error::other(format!("waiting for {who} failed: {err}")).with_source(err)
            }
        }
    }

    /// The agent's answer, or the error its exit status or its own output
    /// reports.
    fn read_output(&self, finished: &Finished, workdir: &Path) -> Result<output::AgentOutput> {
        let who = self.who();
        let stdout = finished.stdout.text();
        let parsed = output::parse(self.template.output(), &stdout);
        if !finished.status.success() {
            // The agent's own words first (Claude Code reports errors in its
            // JSON), then stderr, then the end of stdout.
            let reason = parsed
                .as_ref()
                .ok()
                .and_then(|p| p.error.clone())
                .map(|e| tail(&e))
                .or_else(|| Some(tail(&finished.stderr.text())).filter(|t| !t.is_empty()))
                .or_else(|| Some(tail(&stdout)).filter(|t| !t.is_empty()))
                .unwrap_or_else(|| "it printed nothing".to_owned());
            return Err(Error::other(format!(
                "{who} {} in {}: {reason}",
                describe_status(finished.status),
                workdir.display()
            )));
        }
        let parsed = parsed.map_err(|unreadable| {
            let mut start: String = strip_ansi(stdout.trim()).chars().take(200).collect();
            if start.is_empty() {
                start = "nothing".to_owned();
            }
            Error::invalid_response(format!(
                "{who} succeeded but its output is not {}; it printed: {start}{}",
                unreadable.expected,
                if finished.stdout.truncated() {
                    " (the output was longer than options.max_output_bytes, so only its end \
                     was kept)"
                } else {
                    ""
                }
            ))
        })?;
        if let Some(error) = &parsed.error {
            return Err(Error::other(format!(
                "{who} reported a failure: {}",
                tail(error)
            )));
        }
        Ok(parsed)
    }
}

/// `exited with code 3` or `was killed by signal 9`.
fn describe_status(status: std::process::ExitStatus) -> String {
    if let Some(code) = status.code() {
        return format!("exited with code {code}");
    }
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        if let Some(signal) = status.signal() {
            return format!("was killed by signal {signal}");
        }
    }
    "ended without an exit code".to_owned()
}

/// The last lines of `text`, bounded, for error messages.
pub(crate) fn tail(text: &str) -> String {
    let text = strip_ansi(text);
    let lines: Vec<&str> = text.trim_end().lines().collect();
    let start = lines.len().saturating_sub(TAIL_LINES);
    let joined = lines[start..].join("\n");
    let joined = joined.trim();
    let count = joined.chars().count();
    if count <= TAIL_CHARS {
        return joined.to_owned();
    }
    let kept: String = joined.chars().skip(count - TAIL_CHARS).collect();
    format!("…{kept}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tails_keep_the_last_lines_and_characters() {
        let text: String = (0..100).map(|i| format!("line {i}\n")).collect();
        let kept = tail(&text);
        assert!(kept.starts_with("line 80"), "{kept}");
        assert!(kept.ends_with("line 99"), "{kept}");
        let long = "x".repeat(5000);
        let kept = tail(&long);
        assert_eq!(kept.chars().count(), TAIL_CHARS + 1);
        assert!(kept.starts_with('…'));
        assert_eq!(tail("  \n"), "");
    }
}
