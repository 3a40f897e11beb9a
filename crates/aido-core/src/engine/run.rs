//! One run's execution: the step loop, with conditions, retries, timeouts,
//! validation, outputs, rollback, cancellation and the lease heartbeat.

use std::collections::HashMap;
use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::{Map, Value};
use tokio::sync::watch;

use aido_plugin_api::{CallContext, Effect, Error, ErrorKind, PluginKind, catalog};

use super::events::{EventSink, RunEvent};
use super::{EngineError, Inner, RunOutcome, ai, idempotency_key, retry};
use crate::store::{RunStatus, StepRecord, StepStatus};
use crate::workflow::builtins::BuiltinContext;
use crate::workflow::expr::Scope;
use crate::workflow::model::{OnError, Outputs, RollbackAction, Step, StepType};
use crate::workflow::validate::WorkflowFile;

/// How long a step runs before its start is committed on its own (so that
/// `aido runs show` shows it running, and a crash leaves it visible).
const SHOW_RUNNING_AFTER: Duration = Duration::from_millis(20);

/// What a step's body produced.
pub(super) struct StepResult {
    pub output: Value,
    pub cost_usd: f64,
    pub tokens: u64,
}

/// How the step loop ended.
enum Stop {
    Failed(String),
    Cancelled,
    RolledBack(String),
}

/// Runs (or resumes) the run `run_id` of `file`; the caller holds its lease.
pub(super) async fn execute(
    inner: &Inner,
    run_id: &str,
    file: &WorkflowFile,
    vars: &Value,
    workspace: &Path,
    resumed: bool,
    events: &dyn EventSink,
) -> Result<RunOutcome, EngineError> {
    inner.set_active(run_id, true);
    let result = execute_leased(inner, run_id, file, vars, workspace, resumed, events).await;
    inner.set_active(run_id, false);
    result
}

async fn execute_leased(
    inner: &Inner,
    run_id: &str,
    file: &WorkflowFile,
    vars: &Value,
    workspace: &Path,
    resumed: bool,
    events: &dyn EventSink,
) -> Result<RunOutcome, EngineError> {
    let workflow = &file.workflow;
    let mut runner = Runner {
        inner,
        run_id,
        file,
        events,
        workspace,
        variables: Map::new(),
        cancel: None,
    };
    runner
        .emit(RunEvent::RunStarted {
            run_id: run_id.to_owned(),
            workflow: workflow.name.clone(),
            resumed,
            steps: workflow.steps.iter().map(|s| s.name.clone()).collect(),
        })
        .await;

    let (cancel_tx, cancel_rx) = watch::channel(false);
    runner.cancel = Some(cancel_rx);
    let heartbeat = tokio::spawn(heartbeat(
        inner.store.clone(),
        run_id.to_owned(),
        inner.owner.clone(),
        inner.config.lease,
        cancel_tx,
    ));

    runner.init_variables(vars, resumed);
    // A new run has no steps yet: only a resumed one reads them back.
    let prior: HashMap<String, StepRecord> = if resumed {
        inner
            .store
            .steps(run_id)
            .await?
            .into_iter()
            .map(|s| (s.name.clone(), s))
            .collect()
    } else {
        HashMap::new()
    };
    let result = runner.run_steps(&prior).await;
    heartbeat.abort();

    let (status, error) = match result? {
        None => (RunStatus::Succeeded, None),
        Some(Stop::Failed(error)) => (RunStatus::Failed, Some(error)),
        Some(Stop::Cancelled) => (
            RunStatus::Cancelled,
            Some("cancelled by the user".to_owned()),
        ),
        Some(Stop::RolledBack(error)) => (RunStatus::RolledBack, Some(error)),
    };
    let (cost_usd, _) = inner.store.run_spend(run_id).await?;
    let finished = RunEvent::RunFinished {
        run_id: run_id.to_owned(),
        status: status.as_str().to_owned(),
        error: error.clone(),
        cost_usd,
    };
    // The run's end and its event are one transaction.
    let data = serde_json::to_value(&finished).unwrap_or(Value::Null);
    inner
        .store
        .finish_run_with_event(
            run_id,
            status,
            error.as_deref(),
            Some((finished.kind(), &data)),
        )
        .await?;
    runner.notify(&finished).await;
    Ok(RunOutcome {
        run_id: run_id.to_owned(),
        status,
        error,
        variables: Value::Object(runner.variables),
    })
}

/// Renews the lease until aborted; flags cancellation when the user asked
/// for it or the lease was lost to another process.
async fn heartbeat(
    store: crate::store::RunStore,
    run_id: String,
    owner: String,
    lease: Duration,
    cancel: watch::Sender<bool>,
) {
    let every = (lease / 3).max(Duration::from_millis(50));
    loop {
        tokio::time::sleep(every).await;
        match store.renew_lease(&run_id, &owner, lease).await {
            Ok((held, cancel_requested)) if !held || cancel_requested => {
                let _ = cancel.send(true);
                return;
            }
            Ok(_) => {}
            Err(err) => tracing::warn!(%err, run_id, "could not renew the run's lease"),
        }
    }
}

struct Runner<'a> {
    inner: &'a Inner,
    run_id: &'a str,
    file: &'a WorkflowFile,
    events: &'a dyn EventSink,
    workspace: &'a Path,
    variables: Map<String, Value>,
    cancel: Option<watch::Receiver<bool>>,
}

impl Runner<'_> {
    async fn emit(&self, event: RunEvent) {
        let data = serde_json::to_value(&event).unwrap_or(Value::Null);
        if let Err(err) = self
            .inner
            .store
            .record_event(self.run_id, event.step(), event.kind(), &data)
            .await
        {
            tracing::warn!(%err, "could not record an event");
        }
        self.notify(&event).await;
    }

    /// Hands an event to the caller and to the monitoring plugin.
    async fn notify(&self, event: &RunEvent) {
        self.events.emit(event);
        self.telemetry().event(event).await;
    }

    fn telemetry(&self) -> super::telemetry::Telemetry<'_> {
        super::telemetry::Telemetry::new(
            self.inner.plugins.get("monitoring"),
            &self.file.workflow.name,
        )
    }

    fn init_variables(&mut self, vars: &Value, _resumed: bool) {
        let workflow = &self.file.workflow;
        let mut variables = workflow.variables.clone();
        if let Value::Object(given) = vars {
            for (key, value) in given {
                variables.insert(key.clone(), value.clone());
            }
        }
        let task_id = variables.get("task_id").cloned().unwrap_or(Value::Null);
        variables.insert("run_id".to_owned(), Value::String(self.run_id.to_owned()));
        variables.insert("task_id".to_owned(), task_id);
        variables.insert(
            "timestamp".to_owned(),
            Value::String(chrono::Utc::now().to_rfc3339()),
        );
        variables.insert(
            "workspace".to_owned(),
            Value::String(self.workspace.display().to_string()),
        );
        variables.insert("system".to_owned(), self.inner.config.system.clone());
        variables.insert("vars".to_owned(), vars.clone());
        variables.insert("steps".to_owned(), Value::Object(Map::new()));
        self.variables = variables;
    }

    fn scope(&self) -> Scope {
        Scope::new(Value::Object(self.variables.clone()))
    }

    fn cancelled(&self) -> bool {
        self.cancel.as_ref().is_some_and(|rx| *rx.borrow())
    }

    async fn run_steps(
        &mut self,
        prior: &HashMap<String, StepRecord>,
    ) -> Result<Option<Stop>, EngineError> {
        let workflow = &self.file.workflow;
        let scope = self.scope();
        for prerequisite in &workflow.prerequisites {
            match self
                .inner
                .evaluator
                .condition(&prerequisite.condition, &scope)
            {
                Ok(true) => {}
                Ok(false) => {
                    return Ok(Some(Stop::Failed(format!(
                        "prerequisite not met: {}",
                        prerequisite.error_message
                    ))));
                }
                Err(err) => {
                    return Ok(Some(Stop::Failed(format!(
                        "prerequisite `{}`: {err}",
                        prerequisite.condition
                    ))));
                }
            }
        }
        let mut completed: Vec<usize> = Vec::new();
        for (position, step) in workflow.steps.iter().enumerate() {
            if self.cancelled() {
                return Ok(Some(Stop::Cancelled));
            }
            if let Some(record) = prior.get(&step.name) {
                match record.status {
                    StepStatus::Succeeded => {
                        self.apply_outputs(step, record.outputs.clone().unwrap_or(Value::Null));
                        completed.push(position);
                        self.emit(RunEvent::StepReused {
                            step: step.name.clone(),
                        })
                        .await;
                        continue;
                    }
                    StepStatus::Skipped => {
                        self.emit(RunEvent::StepSkipped {
                            step: step.name.clone(),
                        })
                        .await;
                        continue;
                    }
                    _ => {}
                }
            }
            if let Some(condition) = &step.condition {
                match self.inner.evaluator.condition(condition, &self.scope()) {
                    Ok(true) => {}
                    Ok(false) => {
                        self.inner
                            .store
                            .step_skipped(self.run_id, position, &step.name)
                            .await?;
                        self.emit(RunEvent::StepSkipped {
                            step: step.name.clone(),
                        })
                        .await;
                        continue;
                    }
                    Err(err) => {
                        let message = format!("step `{}`: condition: {err}", step.name);
                        self.inner
                            .store
                            .step_started(self.run_id, position, &step.name, 1, None, None)
                            .await?;
                        self.inner
                            .store
                            .step_finished(
                                self.run_id,
                                &step.name,
                                StepStatus::Failed,
                                None,
                                Some(&message),
                                (0.0, 0),
                                None,
                                None,
                                None,
                            )
                            .await?;
                        self.emit(RunEvent::StepFailed {
                            step: step.name.clone(),
                            error: message.clone(),
                            continued: false,
                        })
                        .await;
                        return Ok(Some(Stop::Failed(message)));
                    }
                }
            }
            let first_attempt = prior
                .get(&step.name)
                .map(|r| r.attempt.max(0) as u32 + 1)
                .unwrap_or(1);
            match self.run_step(position, step, first_attempt).await? {
                Ok(()) => completed.push(position),
                Err(message) => match step.on_error {
                    OnError::Continue => {}
                    OnError::Rollback => {
                        self.roll_back(&completed).await?;
                        return Ok(Some(Stop::RolledBack(message)));
                    }
                    OnError::Fail | OnError::Retry => {
                        if self.cancelled() {
                            return Ok(Some(Stop::Cancelled));
                        }
                        return Ok(Some(Stop::Failed(message)));
                    }
                },
            }
        }
        Ok(None)
    }

    /// Runs one step with its retries. `Ok(Err(message))` is a step that
    /// failed for good (already recorded); `Err` is a store failure.
    async fn run_step(
        &mut self,
        position: usize,
        step: &Step,
        first_attempt: u32,
    ) -> Result<Result<(), String>, EngineError> {
        let retries = if step.on_error == OnError::Retry {
            step.retry_count.unwrap_or(retry::DEFAULT_RETRIES)
        } else {
            0
        };
        let base = step
            .retry_delay
            .map(Duration::from_secs_f64)
            .unwrap_or(retry::DEFAULT_DELAY);
        let key = idempotency_key(self.run_id, &step.name);
        let mut attempt = first_attempt;
        let mut tries = 0;
        loop {
            tries += 1;
            let scope = self.scope();
            // A `for_each` step renders its inputs per item; what is
            // recorded as its inputs is the list of items.
            let inputs = match &step.for_each {
                Some(list) => self.for_each_items(list, &scope),
                None => self
                    .inner
                    .evaluator
                    .render(&Value::Object(step.inputs.clone()), &scope),
            };
            let inputs_for_record = inputs.as_ref().ok().cloned();
            // The step and its event are committed together: one
            // transaction per state change keeps the engine's cost per step
            // low.
            let started_event = RunEvent::StepStarted {
                step: step.name.clone(),
                attempt,
            };
            let data = serde_json::to_value(&started_event).unwrap_or(Value::Null);
            let mut start = Some(self.inner.store.prepare_step_started(
                self.run_id,
                position,
                &step.name,
                attempt,
                inputs_for_record.as_ref(),
                Some((started_event.kind(), &data)),
            ));
            self.notify(&started_event).await;
            let started = Instant::now();
            let outcome = {
                let body = async {
                    match inputs {
                        Ok(inputs) => self.attempt(step, inputs, &key, &scope).await,
                        Err(err) => Err(Error::invalid_input(format!("inputs: {err}"))),
                    }
                };
                tokio::pin!(body);
                // A step that takes a while is recorded as running while it
                // runs; a quick one has its start committed with its end, in
                // one transaction.
                tokio::select! {
                    biased;
                    outcome = &mut body => outcome,
                    () = tokio::time::sleep(SHOW_RUNNING_AFTER) => {
                        if let Some(start) = start.take() {
                            self.inner.store.write_detached(start);
                        }
                        body.await
                    }
                }
            };
            let outcome = match outcome {
                Ok(result) => self.validate_output(step, result),
                Err(err) => Err(err),
            };
            match outcome {
                Ok(result) => {
                    let effect = step_effect(step);
                    let idempotency = (effect == Effect::Write)
                        .then(|| (key.as_str(), step.action.as_deref().unwrap_or("ai_action")));
                    let duration_ms =
                        u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
                    let done = RunEvent::StepSucceeded {
                        step: step.name.clone(),
                        duration_ms,
                        cost_usd: result.cost_usd,
                    };
                    let data = serde_json::to_value(&done).unwrap_or(Value::Null);
                    self.inner
                        .store
                        .step_finished(
                            self.run_id,
                            &step.name,
                            StepStatus::Succeeded,
                            Some(&result.output),
                            None,
                            (result.cost_usd, result.tokens),
                            idempotency,
                            Some((done.kind(), &data)),
                            start.take(),
                        )
                        .await?;
                    self.apply_outputs(step, result.output);
                    self.notify(&done).await;
                    return Ok(Ok(()));
                }
                Err(error) => {
                    let message = format!("step `{}`: {error}", step.name);
                    let again =
                        tries <= retries && retry::worth_retrying(&error) && !self.cancelled();
                    self.inner
                        .store
                        .step_finished(
                            self.run_id,
                            &step.name,
                            StepStatus::Failed,
                            None,
                            Some(&message),
                            (0.0, 0),
                            None,
                            None,
                            start.take(),
                        )
                        .await?;
                    if again {
                        let wait = retry::delay(tries, base, &error);
                        self.emit(RunEvent::StepRetried {
                            step: step.name.clone(),
                            attempt,
                            delay_ms: u64::try_from(wait.as_millis()).unwrap_or(u64::MAX),
                            error: error.to_string(),
                        })
                        .await;
                        self.sleep_unless_cancelled(wait).await;
                        attempt += 1;
                        continue;
                    }
                    let continued = step.on_error == OnError::Continue;
                    self.emit(RunEvent::StepFailed {
                        step: step.name.clone(),
                        error: message.clone(),
                        continued,
                    })
                    .await;
                    return Ok(Err(message));
                }
            }
        }
    }

    async fn sleep_unless_cancelled(&self, wait: Duration) {
        let Some(mut cancel) = self.cancel.clone() else {
            tokio::time::sleep(wait).await;
            return;
        };
        tokio::select! {
            () = tokio::time::sleep(wait) => {}
            _ = cancel.wait_for(|c| *c) => {}
        }
    }

    /// One try of a step's body, with its timeout and cancellation.
    async fn attempt(
        &self,
        step: &Step,
        inputs: Value,
        key: &str,
        scope: &Scope,
    ) -> Result<StepResult, Error> {
        let body = async {
            if step.for_each.is_some() {
                return self.each(step, inputs, key, scope).await;
            }
            match step.kind() {
                StepType::PluginAction => {
                    let output = self
                        .call_plugin(
                            step.plugin.as_deref(),
                            step.action.as_deref(),
                            &step.name,
                            inputs,
                            key,
                        )
                        .await?;
                    Ok(StepResult {
                        output,
                        cost_usd: 0.0,
                        tokens: 0,
                    })
                }
                StepType::Builtin => {
                    let output = self
                        .call_builtin(step.action.as_deref(), &step.name, inputs, key)
                        .await?;
                    Ok(StepResult {
                        output,
                        cost_usd: 0.0,
                        tokens: 0,
                    })
                }
                StepType::AiAction => {
                    ai::run(self.inner, self.run_id, self.file, step, scope, key).await
                }
            }
        };
        let timed = async {
            match step.timeout {
                Some(seconds) => tokio::time::timeout(Duration::from_secs_f64(seconds), body)
                    .await
                    .unwrap_or_else(|_| {
                        Err(Error::timeout(format!(
                            "the step did not finish within {seconds}s and was cancelled"
                        )))
                    }),
                None => body.await,
            }
        };
        let Some(mut cancel) = self.cancel.clone() else {
            return timed.await;
        };
        tokio::select! {
            result = timed => result,
            _ = cancel.wait_for(|c| *c) => Err(Error::new(ErrorKind::Cancelled, "the run was cancelled")),
        }
    }

    /// The items of a `for_each` step.
    fn for_each_items(
        &self,
        list: &str,
        scope: &Scope,
    ) -> Result<Value, crate::workflow::expr::ExprError> {
        let items = self.inner.evaluator.render_str(list, scope)?;
        match items {
            Value::Array(_) => Ok(items),
            Value::Null => Ok(Value::Array(Vec::new())),
            other => Err(crate::workflow::expr::ExprError {
                expression: list.to_owned(),
                message: format!(
                    "for_each needs a list, found {}",
                    crate::config::schema::describe_value(&other)
                ),
            }),
        }
    }

    /// Runs the step's action once per item, in order. Each item's call
    /// has its own idempotency key (`<key>:<index>`), so a resumed step
    /// finds the effects of the items it made before.
    async fn each(
        &self,
        step: &Step,
        items: Value,
        key: &str,
        scope: &Scope,
    ) -> Result<StepResult, Error> {
        let Value::Array(items) = items else {
            return Err(Error::invalid_input("for_each needs a list"));
        };
        let mut outputs = Vec::with_capacity(items.len());
        for (index, item) in items.into_iter().enumerate() {
            let mut variables = match scope.json() {
                Value::Object(map) => map.clone(),
                _ => Map::new(),
            };
            variables.insert("item".to_owned(), item);
            variables.insert("index".to_owned(), Value::from(index));
            let item_scope = Scope::new(Value::Object(variables));
            let inputs = self
                .inner
                .evaluator
                .render(&Value::Object(step.inputs.clone()), &item_scope)
                .map_err(|err| Error::invalid_input(format!("item {index}: inputs: {err}")))?;
            let item_key = format!("{key}:{index}");
            let output = match step.kind() {
                StepType::PluginAction => {
                    self.call_plugin(
                        step.plugin.as_deref(),
                        step.action.as_deref(),
                        &step.name,
                        inputs,
                        &item_key,
                    )
                    .await
                }
                StepType::Builtin => {
                    self.call_builtin(step.action.as_deref(), &step.name, inputs, &item_key)
                        .await
                }
                StepType::AiAction => Err(Error::invalid_input("an AI step cannot use for_each")),
            }
            .map_err(|err| Error::new(err.kind(), format!("item {index}: {err}")))?;
            outputs.push(output);
        }
        Ok(StepResult {
            output: Value::Array(outputs),
            cost_usd: 0.0,
            tokens: 0,
        })
    }

    async fn call_plugin(
        &self,
        plugin: Option<&str>,
        action: Option<&str>,
        step: &str,
        inputs: Value,
        key: &str,
    ) -> Result<Value, Error> {
        let plugin = plugin.ok_or_else(|| Error::invalid_input("the step names no `plugin`"))?;
        let action = action.ok_or_else(|| Error::invalid_input("the step names no `action`"))?;
        let instance =
            self.inner.plugins.get(plugin).ok_or_else(|| {
                Error::configuration(format!("no plugin `{plugin}` is configured"))
            })?;
        let effect = catalog::find_action(instance.kind(), action)
            .map(|a| a.effect)
            .unwrap_or(Effect::Write);
        let cx = CallContext {
            run_id: Some(self.run_id.to_owned()),
            step: Some(step.to_owned()),
            idempotency_key: (effect == Effect::Write).then(|| key.to_owned()),
        };
        let started = Instant::now();
        let result = instance.call(&cx, action, inputs).await;
        let name = &instance.plugin().metadata().name;
        self.telemetry()
            .plugin_call(name, action, started.elapsed(), result.is_ok())
            .await;
        result
    }

    async fn call_builtin(
        &self,
        action: Option<&str>,
        step: &str,
        inputs: Value,
        key: &str,
    ) -> Result<Value, Error> {
        let action = action.ok_or_else(|| Error::invalid_input("the step names no `action`"))?;
        let builtin =
            self.inner.builtins.get(action).ok_or_else(|| {
                Error::invalid_input(format!("`{action}` is not a built-in action"))
            })?;
        let cx = BuiltinContext {
            run_id: self.run_id.to_owned(),
            step: step.to_owned(),
            workspace: self.workspace.to_owned(),
            idempotency_key: key.to_owned(),
        };
        if builtin.spec().name == "run_command" {
            std::fs::create_dir_all(self.workspace).map_err(|err| {
                Error::other(format!(
                    "cannot create the workspace {}: {err}",
                    self.workspace.display()
                ))
            })?;
        }
        builtin
            .run(&cx, inputs)
            .await
            .map_err(|err| err.in_call("builtin", action))
    }

    fn validate_output(&self, step: &Step, result: StepResult) -> Result<StepResult, Error> {
        let Some(validation) = &step.validation else {
            return Ok(result);
        };
        let mut variables = self.variables.clone();
        variables.insert("output".to_owned(), result.output.clone());
        let scope = Scope::new(Value::Object(variables));
        for condition in &validation.conditions {
            match self.inner.evaluator.condition(condition, &scope) {
                Ok(true) => {}
                Ok(false) => {
                    return Err(Error::invalid_response(format!(
                        "validation failed: {} (`{condition}` is false)",
                        validation.error_message
                    )));
                }
                Err(err) => {
                    return Err(Error::invalid_response(format!(
                        "validation `{condition}`: {err}"
                    )));
                }
            }
        }
        Ok(result)
    }

    fn apply_outputs(&mut self, step: &Step, output: Value) {
        match &step.outputs {
            Some(Outputs::Whole(variable)) => {
                self.variables.insert(variable.clone(), output.clone());
            }
            Some(Outputs::Fields(fields)) => {
                for (field, variable) in fields {
                    if let Some(variable) = variable.as_str() {
                        let value = output.get(field).cloned().unwrap_or(Value::Null);
                        self.variables.insert(variable.to_owned(), value);
                    }
                }
            }
            None => {}
        }
        if let Some(Value::Object(steps)) = self.variables.get_mut("steps") {
            steps.insert(step.name.clone(), output);
        }
    }

    /// Runs the rollback actions of the completed steps, last first.
    async fn roll_back(&mut self, completed: &[usize]) -> Result<(), EngineError> {
        let workflow = &self.file.workflow;
        for &position in completed.iter().rev() {
            let step = &workflow.steps[position];
            let Some(rollback) = &step.rollback else {
                continue;
            };
            let output = self
                .variables
                .get("steps")
                .and_then(|s| s.get(&step.name))
                .cloned()
                .unwrap_or(Value::Null);
            let error = self
                .run_rollback(step, rollback, output)
                .await
                .err()
                .map(|e| e.to_string());
            if error.is_none() {
                self.inner
                    .store
                    .step_rolled_back(self.run_id, &step.name)
                    .await?;
            }
            self.emit(RunEvent::StepRolledBack {
                step: step.name.clone(),
                error,
            })
            .await;
        }
        Ok(())
    }

    async fn run_rollback(
        &self,
        step: &Step,
        rollback: &RollbackAction,
        output: Value,
    ) -> Result<Value, Error> {
        let mut variables = self.variables.clone();
        variables.insert("output".to_owned(), output);
        let scope = Scope::new(Value::Object(variables));
        let inputs = self
            .inner
            .evaluator
            .render(&Value::Object(rollback.inputs.clone()), &scope)
            .map_err(|err| Error::invalid_input(format!("rollback inputs: {err}")))?;
        let key = format!("{}:rollback", idempotency_key(self.run_id, &step.name));
        let name = format!("{}:rollback", step.name);
        let call = async {
            match rollback.kind() {
                StepType::PluginAction => {
                    self.call_plugin(
                        rollback.plugin.as_deref(),
                        Some(&rollback.action),
                        &name,
                        inputs,
                        &key,
                    )
                    .await
                }
                _ => {
                    self.call_builtin(Some(&rollback.action), &name, inputs, &key)
                        .await
                }
            }
        };
        match rollback.timeout {
            Some(seconds) => tokio::time::timeout(Duration::from_secs_f64(seconds), call)
                .await
                .unwrap_or_else(|_| {
                    Err(Error::timeout(format!(
                        "the rollback did not finish within {seconds}s"
                    )))
                }),
            None => call.await,
        }
    }
}

/// Whether a step changes anything outside aido (and so gets its result
/// recorded under its idempotency key).
fn step_effect(step: &Step) -> Effect {
    match step.kind() {
        StepType::AiAction => Effect::Write,
        StepType::Builtin => Effect::Read,
        StepType::PluginAction => step
            .plugin
            .as_deref()
            .and_then(PluginKind::from_name)
            .zip(step.action.as_deref())
            .and_then(|(kind, action)| catalog::find_action(kind, action))
            .map(|a| a.effect)
            .unwrap_or(Effect::Write),
    }
}
