//! What a run reports while it works: one event per state change, recorded in
//! the store and handed to the caller (the CLI's progress display, or JSON
//! lines with `--json`).

use serde::Serialize;

/// Something that happened in a run.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum RunEvent {
    /// The run started or resumed.
    RunStarted {
        /// The run.
        run_id: String,
        /// The workflow.
        workflow: String,
        /// Whether it continues an earlier run.
        resumed: bool,
        /// The names of its steps, in order.
        steps: Vec<String>,
    },
    /// A step started.
    StepStarted {
        /// The step.
        step: String,
        /// Which try this is, from 1.
        attempt: u32,
    },
    /// A step finished.
    StepSucceeded {
        /// The step.
        step: String,
        /// How long it took.
        duration_ms: u64,
        /// What it cost, in US dollars.
        cost_usd: f64,
    },
    /// A step finished in an earlier attempt of this run; its recorded
    /// output is reused.
    StepReused {
        /// The step.
        step: String,
    },
    /// A step's condition was false.
    StepSkipped {
        /// The step.
        step: String,
    },
    /// A step failed and will be tried again.
    StepRetried {
        /// The step.
        step: String,
        /// The try that failed.
        attempt: u32,
        /// How long until the next try.
        delay_ms: u64,
        /// Why it failed.
        error: String,
    },
    /// A step failed for good.
    StepFailed {
        /// The step.
        step: String,
        /// Why.
        error: String,
        /// Whether the run goes on (`on_error: continue`).
        continued: bool,
    },
    /// A completed step was undone.
    StepRolledBack {
        /// The step.
        step: String,
        /// Why the rollback action failed, if it did.
        error: Option<String>,
    },
    /// The run ended.
    RunFinished {
        /// The run.
        run_id: String,
        /// How it ended.
        status: String,
        /// Why it failed.
        error: Option<String>,
        /// What it cost, in US dollars.
        cost_usd: f64,
    },
}

impl RunEvent {
    /// The event's name, as stored.
    pub fn kind(&self) -> &'static str {
        match self {
            RunEvent::RunStarted { .. } => "run_started",
            RunEvent::StepStarted { .. } => "step_started",
            RunEvent::StepSucceeded { .. } => "step_succeeded",
            RunEvent::StepReused { .. } => "step_reused",
            RunEvent::StepSkipped { .. } => "step_skipped",
            RunEvent::StepRetried { .. } => "step_retried",
            RunEvent::StepFailed { .. } => "step_failed",
            RunEvent::StepRolledBack { .. } => "step_rolled_back",
            RunEvent::RunFinished { .. } => "run_finished",
        }
    }

    /// The step it is about, if any.
    pub fn step(&self) -> Option<&str> {
        match self {
            RunEvent::StepStarted { step, .. }
            | RunEvent::StepSucceeded { step, .. }
            | RunEvent::StepReused { step }
            | RunEvent::StepSkipped { step }
            | RunEvent::StepRetried { step, .. }
            | RunEvent::StepFailed { step, .. }
            | RunEvent::StepRolledBack { step, .. } => Some(step),
            RunEvent::RunStarted { .. } | RunEvent::RunFinished { .. } => None,
        }
    }
}

/// Receives a run's events as they happen.
pub trait EventSink: Send + Sync {
    /// Called once per event, in order.
    fn emit(&self, event: &RunEvent);
}

/// Drops every event.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoEvents;

impl EventSink for NoEvents {
    fn emit(&self, _: &RunEvent) {}
}

impl<F: Fn(&RunEvent) + Send + Sync> EventSink for F {
    fn emit(&self, event: &RunEvent) {
        self(event)
    }
}
