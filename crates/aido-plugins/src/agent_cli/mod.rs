//! The `agent_cli` AI provider: runs a coding-agent CLI (Claude Code,
//! Codex, Aider, or any program) headless in the run's workspace with the
//! prompt, and reports its answer and what it changed, so that aido does
//! the plumbing around it (branch, verify, commit, pull request).
//!
//! # Configuration
//!
//! ```yaml
//! plugins:
//!   ai_provider:
//!     provider: agent_cli
//!     config:
//!       connection:
//!         preset: claude_code          # claude_code | codex | aider | custom
//!         # command: ["./bin/agent", "--task", "{prompt}"]   # custom, or to override
//!         pass_env: [ANTHROPIC_API_KEY]
//!         env: { CLAUDE_CODE_MAX_OUTPUT_TOKENS: "16000" }
//!       options:
//!         timeout_seconds: 1800
//!         model: claude-sonnet-4-5
//!         workdir: .aido/workspaces/current
//! ```
//!
//! Environment overrides use the prefix `AIDO_AGENT_CLI_` (the plugin's
//! name alone would be `AGENT_CLI_`, too generic to be ours).
//!
//! # What runs
//!
//! The preset's command ([`preset`] lists the flags and why): the prompt is
//! written to stdin, unless an argument holds `{prompt}`, which is then
//! replaced by it. The model (`options.model`, or a request's own `model`)
//! is added with the preset's `--model` flag. The program is found on
//! `PATH` (or at the configured path) before it is started; a missing one
//! is a configuration error naming the program, the preset and how to
//! install it. It runs directly from an argument list, never through a
//! shell, in its own process group, with a cleared environment holding
//! only `PATH`, `HOME`, `LANG`, `TMPDIR`, the variables named in `pass_env`
//! and those set in `env` ([`mod@env`]).
//!
//! # Where it runs
//!
//! In `options.workdir`, resolved against the project's root (the root
//! itself by default). [`AiRequest`] carries no workspace, so the engine
//! cannot yet point each call at its run's working copy; the run itself is
//! [`agent::Agent::run_in`], which takes the folder as a parameter, so a
//! future `AiRequest.workdir` is one line in [`AgentCliPlugin`]'s actions.
//!
//! # What a call returns
//!
//! - `generate_text`: the agent's final message (Claude Code's JSON
//!   `result`, Codex's last `agent_message`, else its trimmed stdout),
//!   followed by a `## Files changed in the workspace` section ([`changes`])
//!   listing what git reports as uncommitted, with a diff summary.
//! - `generate_code`: the final message as `code`, the changes section as
//!   `explanation` (the agent writes files; the answer says what it did).
//! - `analyze_code`: the final message, and the changes section, as
//!   `summary`. The prompt tells the agent not to change files.
//! - A non-zero exit is an `other` error with the exit code and the end of
//!   stderr; a run past `options.timeout_seconds` is killed with everything
//!   it started and is a `timeout` error.
//!
//! # Tokens and cost
//!
//! Tokens and cost are the agent's own numbers when it reports them
//! (Claude Code: `usage` and `total_cost_usd`; Codex: `usage`, priced from
//! the price table). Otherwise tokens are *estimates* ([`crate::ai_pricing`]:
//! the prompt and the final message at four characters per token), which
//! undercount an agent's many internal calls, and the cost is priced from
//! them. `estimate_cost` is a lower bound for the same reason.
//!
//! # Idempotency
//!
//! A call with an idempotency key records its reply in
//! `<data_dir>/agent-cli-replay.json` ([`replay`]); the same key gets that
//! reply again without running the agent, whose edits are already in the
//! workspace. Replayed calls are not counted again in `get_usage_stats`.

mod agent;
mod changes;
mod config;
mod env;
mod output;
mod preset;
mod process;
mod program;
mod prompt;
mod replay;

use std::path::{Path, PathBuf};
use std::sync::{Arc, LazyLock, PoisonError, RwLock};
use std::time::Duration;

use aido_plugin_api::model::ai::{
    AiRequest, CodeAnalysis, CodeAnalysisRequest, CodeGenerationRequest, Completion, CostEstimate,
    GeneratedCode, TokenUsage, UsageQuery, UsageStats,
};
use aido_plugin_api::{
    AiProvider, CallContext, ConfigProblem, Error, Health, Plugin, PluginConfig, PluginFactory,
    PluginInstance, PluginKind, PluginMetadata, Result, async_trait,
};

use self::agent::Agent;
use self::config::{AgentCliConfig, Preset};
use self::env::ChildEnv;
use self::preset::CommandTemplate;
use self::replay::{Record, Reply};
use crate::ai_pricing::{
    PriceTable, UsageLedger, estimate_message_tokens, estimate_request_tokens, estimate_tokens,
};

/// The plugin's name in `provider:`.
const NAME: &str = "agent_cli";

/// The prefix of environment variables overriding its configuration.
const ENV_PREFIX: &str = "AIDO_AGENT_CLI";

/// How long `health_check` waits for `--version`.
const VERSION_TIMEOUT: Duration = Duration::from_secs(10);

static META: LazyLock<PluginMetadata> = LazyLock::new(|| {
    PluginMetadata::new::<AgentCliConfig>(
        NAME,
        PluginKind::AiProvider,
        env!("CARGO_PKG_VERSION"),
        "Runs a coding-agent CLI (Claude Code, Codex, Aider or your own) headless in the \
         workspace and reports its answer and the files it changed.",
    )
    .with_env_prefix(ENV_PREFIX)
});

/// The `agent_cli` plugin's factory, for the registry.
pub fn factory() -> PluginFactory {
    PluginFactory::new(META.clone(), || {
        PluginInstance::AiProvider(Arc::new(AgentCliPlugin::default()))
    })
}

/// The `agent_cli` plugin: unconfigured until `connect`.
#[derive(Debug, Default)]
pub(crate) struct AgentCliPlugin {
    state: RwLock<Option<Arc<Connected>>>,
}

/// What `connect` sets up.
#[derive(Debug)]
struct Connected {
    agent: Agent,
    /// Where the agent runs.
    workdir: PathBuf,
    /// Where the replay record and lock files go.
    data_dir: PathBuf,
    /// `options.model`.
    model: Option<String>,
    /// Output tokens `estimate_cost` assumes.
    max_tokens: u32,
    prices: PriceTable,
    usage: UsageLedger,
}

impl AgentCliPlugin {
    fn connected(&self) -> Result<Arc<Connected>> {
        let state = self.state.read().unwrap_or_else(PoisonError::into_inner);
        state.clone().ok_or_else(|| {
            Error::other("the agent_cli plugin is not connected; `connect` must succeed first")
        })
    }
}

impl Connected {
    /// The model a call asks for: its own, else the configured one.
    fn requested_model(&self, requested: Option<String>) -> Option<String> {
        requested.or_else(|| self.model.clone())
    }

    /// The name calls are reported under when neither the request, the
    /// configuration nor the agent names a model.
    fn fallback_model(&self) -> String {
        let template = self.agent.template();
        match template.preset() {
            Preset::Custom => Path::new(template.program())
                .file_name()
                .map(|name| name.to_string_lossy().into_owned())
                .unwrap_or_else(|| NAME.to_owned()),
            preset => preset.as_str().to_owned(),
        }
    }

    /// The reply for `prompt`: replayed when `cx`'s idempotency key was
    /// answered before, else from a run of the agent (recorded under the
    /// key).
    async fn reply(
        self: &Arc<Self>,
        cx: &CallContext,
        action: &'static str,
        prompt: String,
        model: Option<String>,
        workdir: Option<PathBuf>,
    ) -> Result<Reply> {
        // The call's working copy (the run's, from the engine) wins over the
        // configured one.
        let workdir = workdir.unwrap_or_else(|| self.workdir.clone());
        let Some(key) = cx.idempotency_key.clone() else {
            return self.run(&workdir, &prompt, model).await;
        };
        // Held for the whole run: a second call with this key waits, then
        // finds the first one's record.
        let key_lock = {
            let path = replay::key_lock_path(&self.data_dir, &key);
            blocking(move || replay::acquire(&path)).await?
        };
        let found = {
            let (data_dir, key) = (self.data_dir.clone(), key.clone());
            blocking(move || replay::lookup(&data_dir, &key)).await?
        };
        if let Some(record) = found {
            if record.action != action {
                return Err(Error::invalid_input(format!(
                    "idempotency key `{key}` already answered `{}`, so it cannot be used for \
                     `{action}`; each call needs its own key",
                    record.action
                )));
            }
            tracing::info!(
                key = %key,
                "replaying the recorded agent answer; the agent is not run again"
            );
            return Ok(record.reply);
        }
        let reply = self.run(&workdir, &prompt, model).await?;
        let record = Record {
            action: action.to_owned(),
            run_id: cx.run_id.clone(),
            step: cx.step.clone(),
            reply: reply.clone(),
            recorded_at: chrono::Utc::now(),
        };
        let data_dir = self.data_dir.clone();
        let stored = {
            let key = key.clone();
            blocking(move || replay::store(&data_dir, &key, record)).await
        };
        if let Err(err) = stored {
            // The agent's edits are made; failing now would make the engine
            // retry and run the agent again over them.
            tracing::warn!(
                key = %key,
                "the agent's answer could not be recorded for replay ({err}); a resumed run \
                 would run the agent again"
            );
        }
        drop(key_lock);
        Ok(reply)
    }

    /// Runs the agent in `workdir`, and bills the run.
    async fn run(&self, workdir: &Path, prompt: &str, model: Option<String>) -> Result<Reply> {
        let requested = self.requested_model(model);
        let run = self
            .agent
            .run_in(workdir, prompt, requested.as_deref())
            .await?;
        let model = run
            .model
            .or(requested)
            .unwrap_or_else(|| self.fallback_model());
        let usage = run.usage.unwrap_or_else(|| {
            tracing::debug!("the agent reported no tokens; estimating them from the text");
            TokenUsage {
                input_tokens: estimate_message_tokens(prompt),
                output_tokens: estimate_tokens(&run.answer),
            }
        });
        let cost_usd = run
            .cost_usd
            .unwrap_or_else(|| self.prices.cost(&model, usage));
        self.usage.record(&model, usage, cost_usd);
        Ok(Reply {
            answer: run.answer,
            changes: run.changes.render(workdir),
            model,
            usage,
            cost_usd,
            stop_reason: run.stop_reason.or_else(|| Some("end_turn".to_owned())),
        })
    }
}

/// Runs blocking file work (locks, the replay file) off the async runtime.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T> + Send + 'static,
) -> Result<T> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|err| Error::other(format!("the replay record update stopped: {err}")))?
}

/// The answer followed by the changes section.
fn with_changes(reply: &Reply) -> String {
    if reply.answer.is_empty() {
        reply.changes.clone()
    } else {
        format!("{}\n\n{}", reply.answer, reply.changes)
    }
}

fn parse_config(config: &PluginConfig) -> Result<AgentCliConfig> {
    config.parse()
}

#[async_trait]
impl Plugin for AgentCliPlugin {
    fn metadata(&self) -> &PluginMetadata {
        &META
    }

    fn validate_config(&self, config: &PluginConfig) -> Vec<ConfigProblem> {
        match parse_config(config) {
            Ok(parsed) => config::check_config(config, &parsed),
            Err(err) => vec![ConfigProblem::new("", err.message())],
        }
    }

    async fn connect(&self, config: &PluginConfig) -> Result<()> {
        let parsed = parse_config(config)?;
        let problems = config::check_values(&parsed);
        if !problems.is_empty() {
            let text: Vec<String> = problems
                .iter()
                .map(|p| format!("{}: {}", p.path, p.message))
                .collect();
            return Err(Error::configuration(text.join("; ")));
        }
        let workdir = config::workdir(config, &parsed);
        let template = CommandTemplate::new(
            parsed.connection.preset,
            parsed.connection.command.as_deref(),
            config.data_dir(),
        );
        let env = ChildEnv::from_process(&parsed.connection.pass_env, &parsed.connection.env);
        let options = parsed.options;
        let agent = Agent::new(
            template,
            env,
            config.project_dir().to_owned(),
            Duration::from_secs(options.timeout_seconds),
            usize::try_from(options.max_output_bytes).unwrap_or(usize::MAX),
        );
        // Not fatal: aido may connect its plugins for work that does not
        // need the agent. Calls and `health_check` report it again.
        if let Err(err) = agent.program() {
            tracing::warn!("{}", err.message());
        }
        let connected = Connected {
            agent,
            workdir,
            data_dir: config.data_dir().to_owned(),
            model: options.model,
            max_tokens: options.max_tokens,
            prices: PriceTable::with_overrides(&options.prices),
            usage: UsageLedger::default(),
        };
        *self.state.write().unwrap_or_else(PoisonError::into_inner) = Some(Arc::new(connected));
        Ok(())
    }

    async fn disconnect(&self) -> Result<()> {
        self.state
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        Ok(())
    }

    /// Healthy when the program is found and, for the presets, answers
    /// `--version` within a few seconds (a `custom` program need not know
    /// `--version`, so for it being found is enough); degraded when the
    /// workspace folder does not exist yet.
    async fn health_check(&self) -> Health {
        let connected = match self.connected() {
            Ok(connected) => connected,
            Err(err) => return Health::Unhealthy(err.message().to_owned()),
        };
        let agent = &connected.agent;
        if let Err(err) = agent.program() {
            return Health::Unhealthy(err.message().to_owned());
        }
        if agent.template().preset() != Preset::Custom {
            match agent.version(VERSION_TIMEOUT).await {
                Ok(version) => tracing::debug!(agent = %agent.who(), %version, "agent found"),
                Err(err) => return Health::Unhealthy(err.message().to_owned()),
            }
        }
        if !connected.workdir.is_dir() {
            return Health::Degraded(format!(
                "the agent's workspace {} does not exist yet; calls fail until it does",
                connected.workdir.display()
            ));
        }
        Health::Healthy
    }
}

#[async_trait]
impl AiProvider for AgentCliPlugin {
    async fn generate_text(&self, cx: &CallContext, request: AiRequest) -> Result<Completion> {
        let connected = self.connected()?;
        let prompt = prompt::for_text(&request);
        let reply = connected
            .reply(
                cx,
                "generate_text",
                prompt,
                request.model,
                request.workdir.map(PathBuf::from),
            )
            .await?;
        Ok(Completion {
            text: with_changes(&reply),
            model: reply.model,
            usage: reply.usage,
            cost_usd: reply.cost_usd,
            stop_reason: reply.stop_reason,
        })
    }

    async fn analyze_code(
        &self,
        cx: &CallContext,
        request: CodeAnalysisRequest,
    ) -> Result<CodeAnalysis> {
        let connected = self.connected()?;
        let prompt = prompt::for_analysis(&request);
        let reply = connected
            .reply(cx, "analyze_code", prompt, request.model, None)
            .await?;
        Ok(CodeAnalysis {
            summary: with_changes(&reply),
            findings: Vec::new(),
            usage: reply.usage,
            cost_usd: reply.cost_usd,
        })
    }

    async fn generate_code(
        &self,
        cx: &CallContext,
        request: CodeGenerationRequest,
    ) -> Result<GeneratedCode> {
        let connected = self.connected()?;
        let prompt = prompt::for_generation(&request);
        let reply = connected
            .reply(cx, "generate_code", prompt, request.model, None)
            .await?;
        Ok(GeneratedCode {
            code: reply.answer,
            language: request.language,
            explanation: reply.changes,
            usage: reply.usage,
            cost_usd: reply.cost_usd,
        })
    }

    /// The cost of one model call reading the request and writing
    /// `max_tokens`. An agent makes many calls per task (reading files,
    /// running tools, retrying), so this is a lower bound, not a ceiling.
    async fn estimate_cost(&self, _cx: &CallContext, request: AiRequest) -> Result<CostEstimate> {
        let connected = self.connected()?;
        let model = connected
            .requested_model(request.model.clone())
            .unwrap_or_else(|| connected.fallback_model());
        let input_tokens = estimate_request_tokens(&request);
        let max_output_tokens = u64::from(request.max_tokens.unwrap_or(connected.max_tokens));
        let usage = TokenUsage {
            input_tokens,
            output_tokens: max_output_tokens,
        };
        Ok(CostEstimate {
            estimated_cost_usd: connected.prices.cost(&model, usage),
            model,
            input_tokens,
            max_output_tokens,
        })
    }

    async fn get_usage_stats(&self, _cx: &CallContext, query: UsageQuery) -> Result<UsageStats> {
        Ok(self.connected()?.usage.stats(query.since))
    }
}

#[cfg(test)]
mod tests;
