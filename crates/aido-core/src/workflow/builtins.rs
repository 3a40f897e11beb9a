//! Built-in actions: what workflows need whatever plugins are configured
//! (run a command in the workspace, wait, set variables, fail).
//!
//! Each action declares its input and output schemas like a plugin action,
//! so validation and documentation treat both alike.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio::io::AsyncReadExt;

use aido_plugin_api::{Effect, Error, Result};

/// What a built-in action sees of its run.
#[derive(Debug, Clone)]
pub struct BuiltinContext {
    /// The run.
    pub run_id: String,
    /// The step.
    pub step: String,
    /// The run's workspace folder (commands run here).
    pub workspace: PathBuf,
    /// The step's idempotency key.
    pub idempotency_key: String,
}

/// AI calls for built-in actions (the development loop), with the same
/// budget checks and spend records as AI steps.
#[async_trait]
pub trait AiAccess: Send + Sync {
    /// Makes the `call_index`-th AI call of the step `cx.step`.
    async fn complete(
        &self,
        cx: &BuiltinContext,
        call_index: u32,
        request: aido_plugin_api::model::ai::AiRequest,
    ) -> Result<aido_plugin_api::model::ai::Completion>;
}

/// Describes a built-in action.
#[derive(Debug, Clone, Serialize)]
pub struct BuiltinSpec {
    /// Its name, used as `action:` in a `builtin` step.
    pub name: &'static str,
    /// What it does.
    pub description: &'static str,
    /// Whether it changes anything.
    pub effect: Effect,
    /// Its input's JSON Schema.
    pub input_schema: Value,
    /// Its output's JSON Schema.
    pub output_schema: Value,
}

impl BuiltinSpec {
    /// A spec whose schemas come from `I` and `O`.
    pub fn new<I: JsonSchema, O: JsonSchema>(
        name: &'static str,
        description: &'static str,
        effect: Effect,
    ) -> Self {
        BuiltinSpec {
            name,
            description,
            effect,
            input_schema: serde_json::to_value(schemars::schema_for!(I)).unwrap_or(Value::Null),
            output_schema: serde_json::to_value(schemars::schema_for!(O)).unwrap_or(Value::Null),
        }
    }
}

/// One built-in action.
#[async_trait]
pub trait BuiltinAction: Send + Sync {
    /// Its description and schemas.
    fn spec(&self) -> &BuiltinSpec;
    /// Runs it.
    async fn run(&self, cx: &BuiltinContext, input: Value) -> Result<Value>;
}

/// Every built-in action, by name.
#[derive(Clone, Default)]
pub struct Builtins {
    actions: BTreeMap<&'static str, Arc<dyn BuiltinAction>>,
}

impl Builtins {
    /// The standard set: `run_command`, `wait`, `set`, `fail`,
    /// `remove_workspace`, `render_template`.
    pub fn standard() -> Self {
        let mut builtins = Builtins::default();
        builtins.add(Arc::new(RunCommand::new()));
        builtins.add(Arc::new(Wait::new()));
        builtins.add(Arc::new(SetVariables::new()));
        builtins.add(Arc::new(Fail::new()));
        builtins.add(Arc::new(RemoveWorkspace::new()));
        builtins.add(Arc::new(RenderTemplate::new()));
        builtins
    }

    /// Adds (or replaces) an action.
    pub fn add(&mut self, action: Arc<dyn BuiltinAction>) {
        self.actions.insert(action.spec().name, action);
    }

    /// The action `name`.
    pub fn get(&self, name: &str) -> Option<&Arc<dyn BuiltinAction>> {
        self.actions.get(name)
    }

    /// Every action's spec, by name.
    pub fn specs(&self) -> impl Iterator<Item = &BuiltinSpec> {
        self.actions.values().map(|a| a.spec())
    }
}

impl std::fmt::Debug for Builtins {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.actions.keys()).finish()
    }
}

fn decode<T: for<'de> Deserialize<'de>>(action: &str, input: Value) -> Result<T> {
    serde_json::from_value(input).map_err(|err| {
        Error::invalid_input(format!(
            "the input of `{action}` does not fit its schema: {err}"
        ))
    })
}

fn encode<T: Serialize>(output: &T) -> Result<Value> {
    serde_json::to_value(output)
        .map_err(|err| Error::other(format!("cannot encode the output: {err}")))
}

/// Input of `run_command`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RunCommandInput {
    /// The program and its arguments (no shell is involved).
    pub command: Vec<String>,
    /// A folder inside the workspace to run in; the workspace when absent.
    #[serde(default)]
    pub cwd: Option<String>,
    /// Extra environment variables.
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    /// Seconds before the command is killed (default 600).
    #[serde(default)]
    pub timeout: Option<f64>,
    /// Succeed even when the command exits non-zero (the exit code is in the
    /// output).
    #[serde(default)]
    pub allow_failure: bool,
    /// Keep at most this many bytes of stdout and of stderr, from their ends
    /// (default 16384).
    #[serde(default)]
    pub max_output_bytes: Option<usize>,
}

/// Output of `run_command`.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct RunCommandOutput {
    /// The exit code (-1 when killed by a signal).
    pub exit_code: i32,
    /// Whether it exited 0.
    pub success: bool,
    /// The end of its standard output, trimmed.
    pub stdout: String,
    /// The end of its standard error, trimmed.
    pub stderr: String,
    /// How long it ran.
    pub duration_ms: u64,
}

/// Runs a command in the run's workspace.
pub struct RunCommand {
    spec: BuiltinSpec,
}

impl RunCommand {
    fn new() -> Self {
        RunCommand {
            spec: BuiltinSpec::new::<RunCommandInput, RunCommandOutput>(
                "run_command",
                "Runs a command (an argument list, no shell) in the run's workspace, with a timeout; its output is captured and trimmed.",
                Effect::Write,
            ),
        }
    }
}

#[async_trait]
impl BuiltinAction for RunCommand {
    fn spec(&self) -> &BuiltinSpec {
        &self.spec
    }

    async fn run(&self, cx: &BuiltinContext, input: Value) -> Result<Value> {
        let input: RunCommandInput = decode("run_command", input)?;
        let Some((program, args)) = input.command.split_first() else {
            return Err(Error::invalid_input(
                "`command` is empty; give the program and its arguments as a list",
            ));
        };
        let cwd = match &input.cwd {
            Some(dir) => inside(&cx.workspace, dir)?,
            None => cx.workspace.clone(),
        };
        let limit = input.max_output_bytes.unwrap_or(16 * 1024);
        let timeout = Duration::from_secs_f64(input.timeout.unwrap_or(600.0).max(0.001));
        let started = Instant::now();
        let mut child = tokio::process::Command::new(program)
            .args(args)
            .current_dir(&cwd)
            .envs(&input.env)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .map_err(|err| {
                Error::invalid_input(format!(
                    "cannot start `{program}` in {}: {err}",
                    cwd.display()
                ))
            })?;
        let mut stdout = child.stdout.take();
        let mut stderr = child.stderr.take();
        let read_out = async {
            let mut buf = Vec::new();
            if let Some(out) = stdout.as_mut() {
                let _ = out.read_to_end(&mut buf).await;
            }
            buf
        };
        let read_err = async {
            let mut buf = Vec::new();
            if let Some(err) = stderr.as_mut() {
                let _ = err.read_to_end(&mut buf).await;
            }
            buf
        };
        let finished = tokio::time::timeout(timeout, async {
            let (status, out, err) = tokio::join!(child.wait(), read_out, read_err);
            (status, out, err)
        })
        .await;
        let (status, out, err) = match finished {
            Ok(result) => result,
            Err(_) => {
                let _ = child.kill().await;
                return Err(Error::timeout(format!(
                    "`{}` did not finish within {}s and was killed",
                    input.command.join(" "),
                    timeout.as_secs_f64()
                )));
            }
        };
        let status =
            status.map_err(|err| Error::other(format!("waiting for `{program}` failed: {err}")))?;
        let exit_code = status.code().unwrap_or(-1);
        let output = RunCommandOutput {
            exit_code,
            success: status.success(),
            stdout: tail(&out, limit),
            stderr: tail(&err, limit),
            duration_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
        };
        if !output.success && !input.allow_failure {
            let detail = if output.stderr.is_empty() {
                &output.stdout
            } else {
                &output.stderr
            };
            return Err(Error::other(format!(
                "`{}` exited with code {exit_code}: {}",
                input.command.join(" "),
                tail(detail.as_bytes(), 2000)
            )));
        }
        encode(&output)
    }
}

/// `dir` inside `root`, refusing absolute paths and `..`.
fn inside(root: &Path, dir: &str) -> Result<PathBuf> {
    let path = Path::new(dir);
    if path.is_absolute()
        || path
            .components()
            .any(|c| matches!(c, std::path::Component::ParentDir))
    {
        return Err(Error::invalid_input(format!(
            "`cwd: {dir}` must be a relative path inside the workspace, without `..`"
        )));
    }
    Ok(root.join(path))
}

/// The last `limit` bytes of `bytes` as trimmed text, marked when cut.
fn tail(bytes: &[u8], limit: usize) -> String {
    let text = String::from_utf8_lossy(bytes);
    let text = text.trim();
    if text.len() <= limit {
        return text.to_owned();
    }
    let mut start = text.len() - limit;
    while !text.is_char_boundary(start) {
        start += 1;
    }
    format!("[... {} bytes cut ...]\n{}", start, &text[start..])
}

/// Input of `wait`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WaitInput {
    /// How long to wait, in seconds.
    #[schemars(range(min = 0.0, max = 86400.0))]
    pub seconds: f64,
}

/// Waits.
pub struct Wait {
    spec: BuiltinSpec,
}

impl Wait {
    fn new() -> Self {
        Wait {
            spec: BuiltinSpec::new::<WaitInput, ()>(
                "wait",
                "Waits for a number of seconds.",
                Effect::Read,
            ),
        }
    }
}

#[async_trait]
impl BuiltinAction for Wait {
    fn spec(&self) -> &BuiltinSpec {
        &self.spec
    }
    async fn run(&self, _: &BuiltinContext, input: Value) -> Result<Value> {
        let input: WaitInput = decode("wait", input)?;
        if !(0.0..=86400.0).contains(&input.seconds) {
            return Err(Error::invalid_input(
                "`seconds` must be between 0 and 86400",
            ));
        }
        tokio::time::sleep(Duration::from_secs_f64(input.seconds)).await;
        Ok(Value::Null)
    }
}

/// Sets variables: its output is its inputs, after `${ }` evaluation.
pub struct SetVariables {
    spec: BuiltinSpec,
}

impl SetVariables {
    fn new() -> Self {
        SetVariables {
            spec: BuiltinSpec::new::<serde_json::Map<String, Value>, serde_json::Map<String, Value>>(
                "set",
                "Sets variables: its output is its inputs, so `outputs:` can name them.",
                Effect::Read,
            ),
        }
    }
}

#[async_trait]
impl BuiltinAction for SetVariables {
    fn spec(&self) -> &BuiltinSpec {
        &self.spec
    }
    async fn run(&self, _: &BuiltinContext, input: Value) -> Result<Value> {
        Ok(input)
    }
}

/// Input of `fail`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FailInput {
    /// Why the run stops.
    pub message: String,
}

/// Fails the step with a message.
pub struct Fail {
    spec: BuiltinSpec,
}

impl Fail {
    fn new() -> Self {
        Fail {
            spec: BuiltinSpec::new::<FailInput, ()>(
                "fail",
                "Fails the step with a message (use it with `condition:`).",
                Effect::Read,
            ),
        }
    }
}

#[async_trait]
impl BuiltinAction for Fail {
    fn spec(&self) -> &BuiltinSpec {
        &self.spec
    }
    async fn run(&self, _: &BuiltinContext, input: Value) -> Result<Value> {
        let input: FailInput = decode("fail", input)?;
        Err(Error::other(input.message))
    }
}

/// Output of `remove_workspace`.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct RemoveWorkspaceOutput {
    /// The folder.
    pub path: String,
    /// Whether it existed and was removed.
    pub removed: bool,
}

/// Removes the run's workspace folder (and nothing else).
pub struct RemoveWorkspace {
    spec: BuiltinSpec,
}

impl RemoveWorkspace {
    fn new() -> Self {
        RemoveWorkspace {
            spec: BuiltinSpec::new::<RemoveWorkspaceInput, RemoveWorkspaceOutput>(
                "remove_workspace",
                "Removes the run's workspace folder (unless `keep`); runs that fail before it keep theirs for inspection.",
                Effect::Write,
            ),
        }
    }
}

/// Input of `remove_workspace`.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RemoveWorkspaceInput {
    /// Keep the workspace after all (`--keep-workspace`).
    #[serde(default)]
    pub keep: bool,
}

#[async_trait]
impl BuiltinAction for RemoveWorkspace {
    fn spec(&self) -> &BuiltinSpec {
        &self.spec
    }
    async fn run(&self, cx: &BuiltinContext, input: Value) -> Result<Value> {
        let input: RemoveWorkspaceInput = decode(
            "remove_workspace",
            if input.is_null() {
                Value::Object(Default::default())
            } else {
                input
            },
        )?;
        let path = cx.workspace.clone();
        let removed = path.exists() && !input.keep;
        if removed {
            let target = path.clone();
            tokio::task::spawn_blocking(move || std::fs::remove_dir_all(&target))
                .await
                .map_err(|err| Error::other(format!("removing the workspace stopped: {err}")))?
                .map_err(|err| {
                    Error::other(format!(
                        "cannot remove the workspace {}: {err}",
                        path.display()
                    ))
                })?;
        }
        encode(&RemoveWorkspaceOutput {
            path: path.display().to_string(),
            removed,
        })
    }
}

/// Input of `render_template`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RenderTemplateInput {
    /// A Jinja template (loops, conditions, filters).
    pub template: String,
    /// The values it reads.
    #[serde(default)]
    pub values: serde_json::Map<String, Value>,
}

/// Output of `render_template`.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct RenderTemplateOutput {
    /// The rendered text.
    pub text: String,
}

/// Renders a Jinja template: for text with loops (a plan page, a report)
/// that `${ }` expressions cannot express.
pub struct RenderTemplate {
    spec: BuiltinSpec,
}

impl RenderTemplate {
    fn new() -> Self {
        RenderTemplate {
            spec: BuiltinSpec::new::<RenderTemplateInput, RenderTemplateOutput>(
                "render_template",
                "Renders a Jinja template (loops, conditions, filters) with the given values.",
                Effect::Read,
            ),
        }
    }
}

#[async_trait]
impl BuiltinAction for RenderTemplate {
    fn spec(&self) -> &BuiltinSpec {
        &self.spec
    }
    async fn run(&self, _: &BuiltinContext, input: Value) -> Result<Value> {
        let input: RenderTemplateInput = decode("render_template", input)?;
        let env = crate::workflow::expr::environment();
        let values = minijinja::Value::from(minijinja::value::Serde(&input.values));
        let text = env.render_str(&input.template, values).map_err(|err| {
            Error::invalid_input(format!(
                "template: {}",
                err.detail().unwrap_or(&err.kind().to_string())
            ))
        })?;
        encode(&RenderTemplateOutput { text })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn cx(dir: &Path) -> BuiltinContext {
        BuiltinContext {
            run_id: "r".into(),
            step: "s".into(),
            workspace: dir.to_owned(),
            idempotency_key: "k".into(),
        }
    }

    #[tokio::test]
    async fn run_command_captures_output_and_exit_code() {
        let dir = tempfile::tempdir().unwrap();
        let builtins = Builtins::standard();
        let run = builtins.get("run_command").unwrap();
        let out = run.run(&cx(dir.path()), json!({"command": ["sh", "-c", "echo hi; echo oops >&2; exit 3"], "allow_failure": true})).await.unwrap();
        assert_eq!(out["exit_code"], 3);
        assert_eq!(out["stdout"], "hi");
        assert_eq!(out["stderr"], "oops");
        let err = run
            .run(
                &cx(dir.path()),
                json!({"command": ["sh", "-c", "echo broken >&2; exit 1"]}),
            )
            .await
            .unwrap_err();
        assert!(
            err.to_string().contains("exited with code 1: broken"),
            "{err}"
        );
    }

    #[tokio::test]
    async fn run_command_times_out_and_refuses_escapes() {
        let dir = tempfile::tempdir().unwrap();
        let builtins = Builtins::standard();
        let run = builtins.get("run_command").unwrap();
        let err = run
            .run(
                &cx(dir.path()),
                json!({"command": ["sleep", "5"], "timeout": 0.2}),
            )
            .await
            .unwrap_err();
        assert_eq!(err.kind(), aido_plugin_api::ErrorKind::Timeout);
        let err = run
            .run(&cx(dir.path()), json!({"command": ["ls"], "cwd": "../x"}))
            .await
            .unwrap_err();
        assert_eq!(err.kind(), aido_plugin_api::ErrorKind::InvalidInput);
    }

    #[test]
    fn tail_keeps_the_end() {
        assert_eq!(tail(b"  abc  ", 10), "abc");
        assert!(tail(b"0123456789", 4).ends_with("6789"));
    }

    #[tokio::test]
    async fn templates_render_loops_and_refuse_undefined_values() {
        let dir = tempfile::tempdir().unwrap();
        let builtins = Builtins::standard();
        let render = builtins.get("render_template").unwrap();
        let out = render
            .run(&cx(dir.path()), json!({"template": "{% for e in epics %}- {{ e.title }}\n{% endfor %}", "values": {"epics": [{"title": "A"}, {"title": "B"}]}}))
            .await
            .unwrap();
        assert_eq!(out["text"], "- A\n- B\n");
        assert!(
            render
                .run(&cx(dir.path()), json!({"template": "{{ nope.x }}"}))
                .await
                .is_err()
        );
    }

    #[tokio::test]
    async fn set_and_fail() {
        let dir = tempfile::tempdir().unwrap();
        let builtins = Builtins::standard();
        assert_eq!(
            builtins
                .get("set")
                .unwrap()
                .run(&cx(dir.path()), json!({"a": 1}))
                .await
                .unwrap(),
            json!({"a": 1})
        );
        let err = builtins
            .get("fail")
            .unwrap()
            .run(&cx(dir.path()), json!({"message": "no"}))
            .await
            .unwrap_err();
        assert_eq!(err.message(), "no");
    }
}
