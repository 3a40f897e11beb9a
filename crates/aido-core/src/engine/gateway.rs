//! Every AI call the engine makes, from an AI step or from a built-in
//! action (the development loop), goes through here: the provider's
//! estimate is checked against the step's, the task's and the month's
//! budgets before the call, and the actual spend is recorded after it.

use std::sync::Arc;

use async_trait::async_trait;

use aido_plugin_api::model::ai::{AiRequest, Completion, CostEstimate};
use aido_plugin_api::{CallContext, Error, PluginInstance};

use crate::config::LimitsConfig;
use crate::store::{CostEntry, RunStore};
use crate::workflow::builtins::{AiAccess, BuiltinContext};

/// Who is calling, for budgets and the cost record.
pub(crate) struct GuardedCall<'a> {
    /// The run.
    pub run_id: &'a str,
    /// The run's workflow.
    pub workflow: &'a str,
    /// The step.
    pub step: &'a str,
    /// The step's own limit, in US dollars.
    pub cost_limit: Option<f64>,
}

/// Budget checks and spend records around AI calls.
#[derive(Clone)]
pub struct AiGateway {
    store: RunStore,
    limits: LimitsConfig,
}

impl AiGateway {
    /// A gateway recording into `store` and enforcing `limits`.
    pub fn new(store: RunStore, limits: LimitsConfig) -> Self {
        AiGateway { store, limits }
    }

    /// Estimates, checks the budgets, calls and records.
    pub(crate) async fn complete(
        &self,
        provider: &PluginInstance,
        cx: &CallContext,
        call: &GuardedCall<'_>,
        request: &AiRequest,
    ) -> Result<Completion, Error> {
        let estimate: CostEstimate =
            decode(provider.call(cx, "estimate_cost", encode(request)?).await?)?;
        self.check_budgets(call, &estimate).await?;
        let completion: Completion =
            decode(provider.call(cx, "generate_text", encode(request)?).await?)?;
        let entry = CostEntry {
            step: call.step.to_owned(),
            workflow: call.workflow.to_owned(),
            provider: provider.plugin().metadata().name.clone(),
            model: completion.model.clone(),
            input_tokens: completion.usage.input_tokens,
            output_tokens: completion.usage.output_tokens,
            cost_usd: completion.cost_usd,
        };
        self.store
            .record_cost(call.run_id, &entry)
            .await
            .map_err(|e| Error::other(e.to_string()))?;
        Ok(completion)
    }

    /// Refuses the call, before it is made, when its most expensive outcome
    /// would exceed the step's, the task's or the month's budget.
    async fn check_budgets(
        &self,
        call: &GuardedCall<'_>,
        estimate: &CostEstimate,
    ) -> Result<(), Error> {
        let limits = &self.limits;
        let cost = estimate.estimated_cost_usd;
        let tokens = estimate.input_tokens + estimate.max_output_tokens;
        let what = format!(
            "the AI call of step `{}` could cost up to ${cost:.4} ({} input + {} output tokens of {})",
            call.step, estimate.input_tokens, estimate.max_output_tokens, estimate.model
        );
        if let Some(limit) = call.cost_limit
            && cost > limit
        {
            return Err(budget(format!(
                "{what}, over the step's cost_limit of ${limit:.4}"
            )));
        }
        let (spent, spent_tokens) = self
            .store
            .run_spend(call.run_id)
            .await
            .map_err(|e| Error::other(e.to_string()))?;
        if spent + cost > limits.max_cost_per_task {
            return Err(budget(format!(
                "{what}; with the ${spent:.4} this run has spent that exceeds limits.max_cost_per_task of ${:.4}",
                limits.max_cost_per_task
            )));
        }
        if spent_tokens + tokens > limits.max_tokens_per_task {
            return Err(budget(format!(
                "{what}; with the {spent_tokens} tokens this run has spent that exceeds limits.max_tokens_per_task of {}",
                limits.max_tokens_per_task
            )));
        }
        let month = chrono::Utc::now().format("%Y-%m").to_string();
        let month_spent = self
            .store
            .month_spend(&month)
            .await
            .map_err(|e| Error::other(e.to_string()))?;
        if month_spent + cost > limits.monthly_budget {
            return Err(budget(format!(
                "{what}; with the ${month_spent:.4} spent in {month} that exceeds limits.monthly_budget of ${:.4}",
                limits.monthly_budget
            )));
        }
        Ok(())
    }

    /// The gateway as built-in actions see it, bound to an AI provider.
    pub fn for_builtins(self, provider: Option<PluginInstance>) -> Arc<dyn AiAccess> {
        Arc::new(BoundGateway {
            gateway: self,
            provider,
        })
    }
}

/// A refused call: not retryable, since waiting does not make money.
fn budget(message: String) -> Error {
    Error::invalid_input(format!("budget exceeded: {message}; the AI was not called"))
}

/// [`AiGateway`] with its provider, for built-in actions.
struct BoundGateway {
    gateway: AiGateway,
    provider: Option<PluginInstance>,
}

#[async_trait]
impl AiAccess for BoundGateway {
    async fn complete(
        &self,
        cx: &BuiltinContext,
        call_index: u32,
        request: AiRequest,
    ) -> Result<Completion, Error> {
        let provider = self
            .provider
            .as_ref()
            .ok_or_else(|| Error::configuration("no AI provider is configured"))?;
        let workflow = self
            .gateway
            .store
            .run(&cx.run_id)
            .await
            .map_err(|e| Error::other(e.to_string()))?
            .map(|run| run.workflow)
            .unwrap_or_default();
        // One key per call of the step, the same on every attempt, so a
        // replaying provider answers a resumed run as it answered before.
        let call_cx = CallContext {
            run_id: Some(cx.run_id.clone()),
            step: Some(cx.step.clone()),
            idempotency_key: Some(format!("{}:call{call_index}", cx.idempotency_key)),
        };
        let call = GuardedCall {
            run_id: &cx.run_id,
            workflow: &workflow,
            step: &cx.step,
            cost_limit: None,
        };
        self.gateway
            .complete(provider, &call_cx, &call, &request)
            .await
    }
}

fn encode<T: serde::Serialize>(value: &T) -> Result<serde_json::Value, Error> {
    serde_json::to_value(value)
        .map_err(|err| Error::other(format!("cannot encode the AI request: {err}")))
}

fn decode<T: serde::de::DeserializeOwned>(value: serde_json::Value) -> Result<T, Error> {
    serde_json::from_value(value).map_err(|err| {
        Error::invalid_response(format!("the AI provider's answer does not fit: {err}"))
    })
}
