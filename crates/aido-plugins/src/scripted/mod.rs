//! The `scripted` AI provider: replays recorded answers, for demos and
//! tests that must run without a model, an account or a network.
//!
//! # The answers file
//!
//! `connection.answers` names a YAML or JSON file (JSON when it ends in
//! `.json`), or a folder whose `.yaml`, `.yml` and `.json` files are read in
//! file-name order as one list. Each file holds a list of answers:
//!
//! ```yaml
//! - step: plan                # optional: the workflow step it answers
//!   answer: |                 # required: the text the model "says"
//!     1. Add the endpoint
//!     2. Test it
//! - step: implement
//!   match: "retry"            # optional: text the prompt must contain
//!   answer: "fn retry() {}"
//!   input_tokens: 1200        # optional: reported instead of the estimate
//!   output_tokens: 300        # optional: reported instead of the estimate
//! - match: review             # no step: for calls of any step without answers of its own
//!   answer: Looks good.
//!   findings:                 # optional: what `analyze_code` reports
//!     - { severity: warning, line: 3, message: unused variable }
//! ```
//!
//! Unknown keys are errors (a typo such as `anwser` would otherwise turn an
//! answer into a silent mismatch), reported with the file and line.
//!
//! # Which answer a call gets
//!
//! - A call from a step that has answers of its own (`cx.step` equal to some
//!   entry's `step`) gets the first of those not used yet whose `match`, if
//!   any, the prompt contains.
//! - Any other call (no step, or a step the script does not mention) gets the
//!   first unused answer *without* a step whose `match` fits.
//! - Nothing left is a `not_found` error naming the step, the file and the
//!   start of the prompt.
//!
//! The prompt is the last user message for `generate_text`, the
//! instructions followed by the code for `analyze_code`, and the
//! instructions for `generate_code`. The answer is the completion's text,
//! the analysis's summary or the generated code.
//!
//! "Used" is remembered in memory by each connected instance, per run
//! (`cx.run_id`), so concurrent runs in one `aido serve` each replay the
//! script from its start. When a call has an idempotency key, its answer is
//! also written to `<data_dir>/scripted-replay.json` (see [`replay`]): the
//! same key gets the same answer again, even from a new process resuming
//! the run, and the answers a resumed run had already used stay used.
//!
//! # Tokens and cost
//!
//! Input tokens are estimated from the request ([`crate::ai_pricing`]) and
//! output tokens from the answer, unless the entry gives them. An answer
//! longer than the call's `max_tokens` is cut, with stop reason
//! `max_tokens`, as a model would, so a call never costs more than
//! `estimate_cost` said. Cost is priced at `options.model` (default
//! `scripted`, which is free) from the shared price table plus
//! `options.prices`; set `model: claude-sonnet-4` to rehearse a budget.

mod replay;
mod script;

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, LazyLock, Mutex, PoisonError, RwLock};

use aido_plugin_api::model::ai::{
    AiRequest, CodeAnalysis, CodeAnalysisRequest, CodeGenerationRequest, Completion, CostEstimate,
    GeneratedCode, Role, TokenUsage, UsageQuery, UsageStats,
};
use aido_plugin_api::{
    AiProvider, CallContext, ConfigProblem, Error, Health, Plugin, PluginConfig, PluginFactory,
    PluginInstance, PluginKind, PluginMetadata, Result, async_trait,
};
use schemars::JsonSchema;
use serde::Deserialize;

use self::replay::{Record, ReplayLog, Reply};
use self::script::{Entry, Script};
use crate::ai_pricing::{
    self, ModelPrice, PriceTable, UsageLedger, estimate_message_tokens, estimate_request_tokens,
    estimate_tokens,
};
use crate::fs_util::FileLock;

/// The plugin's name in `provider:`.
const NAME: &str = "scripted";

/// The default model name: not a real model, so it has no price and every
/// call costs 0.
const DEFAULT_MODEL: &str = "scripted";

/// Output tokens a call may use when neither the call nor the
/// configuration says.
const DEFAULT_MAX_TOKENS: u32 = 4096;

/// Configuration of the `scripted` plugin.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct ScriptedConfig {
    /// Where the answers are.
    #[serde(default)]
    connection: ScriptedConnection,
    /// How calls are reported.
    #[serde(default)]
    options: ScriptedOptions,
}

/// Where the `scripted` plugin's answers are.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct ScriptedConnection {
    /// A YAML or JSON answers file, or a folder of them. Relative paths are
    /// resolved against the project's root. When absent, the folder
    /// `answers/` in aido's data folder is used if it exists; without it
    /// the provider has no answers and says so when asked.
    #[serde(default)]
    answers: Option<PathBuf>,
}

/// The folder, inside the data folder, answers are read from by default.
const DEFAULT_ANSWERS_DIR: &str = "answers";

/// Where the answers are: the configured path, or the default folder.
fn answers_path(config: &PluginConfig, parsed: &ScriptedConfig) -> PathBuf {
    match &parsed.connection.answers {
        Some(path) => config.resolve_path(path),
        None => config.data_dir().join(DEFAULT_ANSWERS_DIR),
    }
}

/// Reads the answers. A configured file must exist; the default folder may
/// be absent, which gives a script with no answers.
fn load_script(path: &Path, configured: bool) -> std::result::Result<Script, script::ScriptError> {
    if !configured && !path.exists() {
        return Ok(Script::empty(path));
    }
    Script::load(path)
}

/// How the `scripted` plugin reports its calls.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct ScriptedOptions {
    /// The model calls are reported and priced as.
    #[serde(default = "default_model")]
    model: String,
    /// Output tokens a call may use when it does not say.
    #[serde(default = "default_max_tokens")]
    max_tokens: u32,
    /// Prices per model, in US dollars per million tokens, replacing or
    /// adding to the built-in list prices.
    #[serde(default)]
    prices: BTreeMap<String, ModelPrice>,
}

impl Default for ScriptedOptions {
    fn default() -> Self {
        ScriptedOptions {
            model: default_model(),
            max_tokens: default_max_tokens(),
            prices: BTreeMap::new(),
        }
    }
}

fn default_model() -> String {
    DEFAULT_MODEL.to_owned()
}

fn default_max_tokens() -> u32 {
    DEFAULT_MAX_TOKENS
}

static META: LazyLock<PluginMetadata> = LazyLock::new(|| {
    PluginMetadata::new::<ScriptedConfig>(
        NAME,
        PluginKind::AiProvider,
        env!("CARGO_PKG_VERSION"),
        "Replays recorded answers from a YAML or JSON file, for demos and tests without a model.",
    )
});

/// The `scripted` plugin's factory, for the registry.
pub fn factory() -> PluginFactory {
    PluginFactory::new(META.clone(), || {
        PluginInstance::AiProvider(Arc::new(ScriptedPlugin::default()))
    })
}

/// The `scripted` plugin: unconfigured until `connect`.
#[derive(Debug, Default)]
pub(crate) struct ScriptedPlugin {
    state: RwLock<Option<Arc<Connected>>>,
}

/// What `connect` sets up.
#[derive(Debug)]
struct Connected {
    /// Whether the answers path was configured (and so must exist).
    configured: bool,
    script: Script,
    data_dir: PathBuf,
    model: String,
    max_tokens: u32,
    prices: PriceTable,
    usage: UsageLedger,
    used: Mutex<UsedEntries>,
}

/// The entries each run has used, in this instance.
#[derive(Debug, Default)]
struct UsedEntries {
    /// By run; calls without a run share the `None` set.
    by_run: HashMap<Option<String>, BTreeSet<usize>>,
    /// Runs whose earlier answers were read from the replay file.
    seeded: HashSet<String>,
}

/// One call to answer: what to match, and how to count it.
#[derive(Debug, Clone)]
struct Call {
    run_id: Option<String>,
    step: Option<String>,
    /// The text entries' `match` is looked for in.
    prompt: String,
    /// The estimated input tokens of the request.
    input_estimate: u64,
    /// The most output tokens the call may report.
    max_tokens: u32,
}

impl ScriptedPlugin {
    fn connected(&self) -> Result<Arc<Connected>> {
        let state = self.state.read().unwrap_or_else(PoisonError::into_inner);
        state.clone().ok_or_else(|| {
            Error::other("the scripted plugin is not connected; `connect` must succeed first")
        })
    }
}

impl UsedEntries {
    fn of_run(&mut self, run_id: &Option<String>) -> &mut BTreeSet<usize> {
        self.by_run.entry(run_id.clone()).or_default()
    }
}

impl Connected {
    fn lock_used(&self) -> std::sync::MutexGuard<'_, UsedEntries> {
        // Each update is one insert or remove, so a poisoned lock still
        // holds a consistent set.
        self.used.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Chooses the answer for `call`, marks it used, and builds the reply.
    fn take_answer(&self, call: &Call) -> Result<(usize, Reply)> {
        let mut used = self.lock_used();
        let run_used = used.of_run(&call.run_id);
        let index = self
            .script
            .choose(run_used, call.step.as_deref(), &call.prompt)?;
        run_used.insert(index);
        let entry = self.script.entry(index).ok_or_else(|| {
            // `choose` only returns indexes of the script's entries.
            Error::other(format!(
                "answer {index} vanished from {}",
                self.script.source().display()
            ))
        })?;
        Ok((
            index,
            build_reply(entry, call.input_estimate, call.max_tokens),
        ))
    }

    /// The reply for `call`, through the replay file when the call has an
    /// idempotency key: a key answered before gets its recorded reply.
    async fn reply(self: &Arc<Self>, cx: &CallContext, call: Call) -> Result<Reply> {
        match cx.idempotency_key.clone() {
            None => self.take_answer(&call).map(|(_, reply)| reply),
            Some(key) => {
                let this = Arc::clone(self);
                tokio::task::spawn_blocking(move || this.reply_with_replay(&key, &call))
                    .await
                    .map_err(|err| {
                        Error::other(format!("the replay record update stopped: {err}"))
                    })?
            }
        }
    }

    /// Blocking: holds the replay file's lock while looking up, choosing
    /// and recording, so two processes never record different answers for
    /// one key.
    fn reply_with_replay(&self, key: &str, call: &Call) -> Result<Reply> {
        let lock_path = replay::lock_path(&self.data_dir);
        let _lock = FileLock::acquire(&lock_path).map_err(|err| {
            Error::other(format!("could not lock {}: {err}", lock_path.display())).with_source(err)
        })?;
        let path = replay::file_path(&self.data_dir);
        let mut log = ReplayLog::load(&path)?;
        self.seed_run(&log, &call.run_id);
        if let Some(record) = log.get(key) {
            self.mark_used(&call.run_id, record.entry);
            return Ok(record.reply.clone());
        }
        let (index, reply) = self.take_answer(call)?;
        let record = Record {
            run_id: call.run_id.clone(),
            step: call.step.clone(),
            entry: index,
            reply: reply.clone(),
            recorded_at: chrono::Utc::now(),
        };
        log.insert(key, record);
        if let Err(err) = log.save(&path) {
            // Not recorded, so not used: a retry must get this answer.
            self.lock_used().of_run(&call.run_id).remove(&index);
            return Err(err);
        }
        Ok(reply)
    }

    /// Marks the answers a run received in earlier processes as used, once
    /// per run, so a resumed run continues the script where it was.
    fn seed_run(&self, log: &ReplayLog, run_id: &Option<String>) {
        let Some(run) = run_id else { return };
        let mut used = self.lock_used();
        if !used.seeded.insert(run.clone()) {
            return;
        }
        let entries: Vec<usize> = log
            .entries_of_run(run)
            .filter(|index| *index < self.script.entries().len())
            .collect();
        used.of_run(run_id).extend(entries);
    }

    fn mark_used(&self, run_id: &Option<String>, index: usize) {
        if index < self.script.entries().len() {
            self.lock_used().of_run(run_id).insert(index);
        }
    }

    /// Counts a reply in the usage stats and returns its cost.
    fn bill(&self, usage: TokenUsage) -> f64 {
        let cost = self.prices.cost(&self.model, usage);
        self.usage.record(&self.model, usage, cost);
        cost
    }

    fn max_tokens(&self, requested: Option<u32>) -> u32 {
        requested.unwrap_or(self.max_tokens)
    }
}

/// The reply an entry gives: its text and tokens, cut at `max_tokens`.
fn build_reply(entry: &Entry, input_estimate: u64, max_tokens: u32) -> Reply {
    let input_tokens = entry.input_tokens.unwrap_or(input_estimate);
    let output_tokens = entry
        .output_tokens
        .unwrap_or_else(|| estimate_tokens(&entry.answer));
    let limit = u64::from(max_tokens);
    if output_tokens <= limit {
        return Reply {
            text: entry.answer.clone(),
            usage: TokenUsage {
                input_tokens,
                output_tokens,
            },
            stop_reason: "end_turn".to_owned(),
            findings: entry.findings.clone(),
        };
    }
    // Keep the share of the text that the allowed tokens cover.
    let chars = entry.answer.chars().count() as u128;
    let kept = chars * u128::from(limit) / u128::from(output_tokens);
    let text = entry
        .answer
        .chars()
        .take(usize::try_from(kept).unwrap_or(usize::MAX))
        .collect();
    Reply {
        text,
        usage: TokenUsage {
            input_tokens,
            output_tokens: limit,
        },
        stop_reason: "max_tokens".to_owned(),
        findings: entry.findings.clone(),
    }
}

/// The last user message: what a script's `match` is looked for in.
fn last_user_message(request: &AiRequest) -> String {
    request
        .messages
        .iter()
        .rev()
        .find(|message| message.role == Role::User)
        .map(|message| message.content.clone())
        .unwrap_or_default()
}

fn parse_config(config: &PluginConfig) -> Result<ScriptedConfig> {
    config.parse()
}

/// Every problem with the configuration a schema cannot express. Reads the
/// answers file, which is what makes it worth checking before a run.
fn check_config(config: &PluginConfig, parsed: &ScriptedConfig) -> Vec<ConfigProblem> {
    let mut problems = Vec::new();
    if parsed.connection.answers.is_none() {
        problems.extend(check_config_values(parsed));
        return problems;
    }
    match Script::load(&answers_path(config, parsed)) {
        Ok(script) if script.entries().is_empty() => problems.push(ConfigProblem::new(
            "connection.answers",
            format!(
                "{} holds no answers; add at least one `- answer: ...`",
                script.source().display()
            ),
        )),
        Ok(_) => {}
        Err(err) => problems.push(ConfigProblem::new("connection.answers", err.to_string())),
    }
    problems.extend(check_config_values(parsed));
    problems
}

/// The checks of [`check_config`] that need no file.
fn check_config_values(parsed: &ScriptedConfig) -> Vec<ConfigProblem> {
    let mut problems = Vec::new();
    if parsed.options.max_tokens == 0 {
        problems.push(ConfigProblem::new(
            "options.max_tokens",
            "must be at least 1",
        ));
    }
    problems.extend(ai_pricing::check_prices(
        "options.prices",
        &parsed.options.prices,
    ));
    problems
}

#[async_trait]
impl Plugin for ScriptedPlugin {
    fn metadata(&self) -> &PluginMetadata {
        &META
    }

    fn validate_config(&self, config: &PluginConfig) -> Vec<ConfigProblem> {
        match parse_config(config) {
            Ok(parsed) => check_config(config, &parsed),
            Err(err) => vec![ConfigProblem::new("", err.message())],
        }
    }

    async fn connect(&self, config: &PluginConfig) -> Result<()> {
        let parsed = parse_config(config)?;
        let problems = check_config_values(&parsed);
        if !problems.is_empty() {
            let text: Vec<String> = problems
                .iter()
                .map(|p| format!("{}: {}", p.path, p.message))
                .collect();
            return Err(Error::configuration(text.join("; ")));
        }
        let answers = answers_path(config, &parsed);
        let configured = parsed.connection.answers.is_some();
        let script = tokio::task::spawn_blocking(move || load_script(&answers, configured))
            .await
            .map_err(|err| Error::other(format!("reading the answers stopped: {err}")))?
            .map_err(|err| Error::configuration(err.to_string()))?;
        let prices = PriceTable::with_overrides(&parsed.options.prices);
        let model = parsed.options.model;
        if model != DEFAULT_MODEL && !prices.lookup(&model).priced {
            tracing::warn!(
                "the scripted plugin's model `{model}` has no known price, so its calls are \
                 reported as free; set options.prices.{model}"
            );
        }
        let connected = Connected {
            configured,
            script,
            data_dir: config.data_dir().to_owned(),
            model,
            max_tokens: parsed.options.max_tokens,
            prices,
            usage: UsageLedger::default(),
            used: Mutex::new(UsedEntries::default()),
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

    async fn health_check(&self) -> Health {
        let connected = match self.connected() {
            Ok(connected) => connected,
            Err(err) => return Health::Unhealthy(err.message().to_owned()),
        };
        // The file is read again: a script edited into a broken state since
        // connect would fail the next resumed run.
        let source = connected.script.source().to_owned();
        let configured = connected.configured;
        let reread = tokio::task::spawn_blocking(move || load_script(&source, configured)).await;
        match reread {
            Ok(Ok(_)) => {}
            Ok(Err(err)) => return Health::Unhealthy(err.to_string()),
            Err(err) => return Health::Unhealthy(format!("reading the answers stopped: {err}")),
        }
        let model = &connected.model;
        if model != DEFAULT_MODEL && !connected.prices.lookup(model).priced {
            return Health::Degraded(format!(
                "model `{model}` has no known price, so calls are reported as free; \
                 set options.prices.{model}"
            ));
        }
        Health::Healthy
    }
}

#[async_trait]
impl AiProvider for ScriptedPlugin {
    async fn generate_text(&self, cx: &CallContext, request: AiRequest) -> Result<Completion> {
        let connected = self.connected()?;
        let call = Call {
            run_id: cx.run_id.clone(),
            step: cx.step.clone(),
            prompt: last_user_message(&request),
            input_estimate: estimate_request_tokens(&request),
            max_tokens: connected.max_tokens(request.max_tokens),
        };
        let reply = connected.reply(cx, call).await?;
        let cost_usd = connected.bill(reply.usage);
        Ok(Completion {
            text: reply.text,
            model: connected.model.clone(),
            usage: reply.usage,
            cost_usd,
            stop_reason: Some(reply.stop_reason),
        })
    }

    async fn analyze_code(
        &self,
        cx: &CallContext,
        request: CodeAnalysisRequest,
    ) -> Result<CodeAnalysis> {
        let connected = self.connected()?;
        let instructions = request.instructions.unwrap_or_default();
        let prompt = format!("{instructions}\n{}", request.code);
        let call = Call {
            run_id: cx.run_id.clone(),
            step: cx.step.clone(),
            input_estimate: estimate_message_tokens(&prompt),
            prompt,
            max_tokens: connected.max_tokens(None),
        };
        let reply = connected.reply(cx, call).await?;
        let cost_usd = connected.bill(reply.usage);
        Ok(CodeAnalysis {
            summary: reply.text,
            findings: reply.findings,
            usage: reply.usage,
            cost_usd,
        })
    }

    async fn generate_code(
        &self,
        cx: &CallContext,
        request: CodeGenerationRequest,
    ) -> Result<GeneratedCode> {
        let connected = self.connected()?;
        let context_tokens: u64 = request
            .context
            .iter()
            .map(|file| estimate_message_tokens(&file.content))
            .sum();
        let call = Call {
            run_id: cx.run_id.clone(),
            step: cx.step.clone(),
            input_estimate: estimate_message_tokens(&request.instructions) + context_tokens,
            prompt: request.instructions,
            max_tokens: connected.max_tokens(request.max_tokens),
        };
        let reply = connected.reply(cx, call).await?;
        let cost_usd = connected.bill(reply.usage);
        Ok(GeneratedCode {
            code: reply.text,
            language: request.language,
            explanation: String::new(),
            usage: reply.usage,
            cost_usd,
        })
    }

    async fn estimate_cost(&self, _cx: &CallContext, request: AiRequest) -> Result<CostEstimate> {
        let connected = self.connected()?;
        let input_tokens = estimate_request_tokens(&request);
        let max_output_tokens = u64::from(connected.max_tokens(request.max_tokens));
        let usage = TokenUsage {
            input_tokens,
            output_tokens: max_output_tokens,
        };
        Ok(CostEstimate {
            model: connected.model.clone(),
            input_tokens,
            max_output_tokens,
            estimated_cost_usd: connected.prices.cost(&connected.model, usage),
        })
    }

    async fn get_usage_stats(&self, _cx: &CallContext, query: UsageQuery) -> Result<UsageStats> {
        Ok(self.connected()?.usage.stats(query.since))
    }
}

#[cfg(test)]
mod tests;
