//! The workflow format, as typed structs that own their schema. Compatible
//! with the design document's examples.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// A workflow file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Workflow {
    /// Its name, unique among the workflows a project sees.
    pub name: String,
    /// What it does.
    #[serde(default)]
    pub description: String,
    /// Its own version (text or number).
    #[serde(default)]
    pub version: Option<Value>,
    /// Free-form information (author, tags).
    #[serde(default)]
    pub metadata: Map<String, Value>,
    /// Variables and their defaults; `--var key=value` overrides them.
    #[serde(default)]
    pub variables: Map<String, Value>,
    /// Conditions checked before any step runs.
    #[serde(default)]
    pub prerequisites: Vec<Prerequisite>,
    /// The steps, run in order.
    pub steps: Vec<Step>,
}

/// A condition that must hold before the workflow starts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Prerequisite {
    /// An expression that must be true.
    pub condition: String,
    /// What to tell the user when it is not.
    pub error_message: String,
}

/// What kind of work a step does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum StepType {
    /// Calls an action of a plugin.
    PluginAction,
    /// Asks the AI provider, optionally for JSON matching a schema.
    AiAction,
    /// Runs one of aido's built-in actions.
    Builtin,
}

/// What to do when a step fails.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum OnError {
    /// Stop the run; it can be resumed.
    #[default]
    Fail,
    /// Record the error and go on with the next step.
    Continue,
    /// Try again up to `retry_count` times, then fail.
    Retry,
    /// Run the rollback steps of the completed steps in reverse order, then
    /// stop.
    Rollback,
}

/// Where a step's output goes: the whole output into one variable, or
/// chosen fields into variables.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum Outputs {
    /// The whole output into this variable.
    Whole(String),
    /// Output field → variable name.
    Fields(Map<String, Value>),
}

/// Checks made on a step's output after it succeeds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Validation {
    /// Expressions that must all be true; `output` is the step's output.
    pub conditions: Vec<String>,
    /// What to say when one is not.
    pub error_message: String,
}

/// An action run to undo a step when the run rolls back.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RollbackAction {
    /// `plugin_action` (the default when `plugin` is set) or `builtin`.
    #[serde(default, rename = "type")]
    pub step_type: Option<StepType>,
    /// A kind or a named plugin instance.
    #[serde(default)]
    pub plugin: Option<String>,
    /// The action.
    pub action: String,
    /// Its inputs; `${ }` sees the step's output as `output`.
    #[serde(default)]
    pub inputs: Map<String, Value>,
    /// Seconds before it is cancelled.
    #[serde(default)]
    pub timeout: Option<f64>,
}

/// One step.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Step {
    /// Unique within the workflow; other steps read its output as
    /// `steps.<name>`.
    pub name: String,
    /// What it does.
    #[serde(default)]
    pub description: String,
    /// `plugin_action` (implied by `plugin`), `ai_action` or `builtin`.
    #[serde(default, rename = "type")]
    pub step_type: Option<StepType>,
    /// A kind (`version_control`) or a named plugin instance.
    #[serde(default)]
    pub plugin: Option<String>,
    /// The action to call.
    #[serde(default)]
    pub action: Option<String>,
    /// The action's named inputs; values may use `${ }`.
    #[serde(default)]
    pub inputs: Map<String, Value>,
    /// Where the output goes.
    #[serde(default)]
    pub outputs: Option<Outputs>,
    /// Skip the step when this expression is false.
    #[serde(default)]
    pub condition: Option<String>,
    /// Run the action once per item of this list (an expression); the
    /// inputs see the item as `item` and its position as `index`, and the
    /// step's output is the list of outputs.
    #[serde(default)]
    pub for_each: Option<String>,
    /// Seconds before the step is cancelled.
    #[serde(default)]
    #[schemars(range(min = 0.001))]
    pub timeout: Option<f64>,
    /// What to do when it fails.
    #[serde(default)]
    pub on_error: OnError,
    /// How many times to try again with `on_error: retry` (default 3).
    #[serde(default)]
    pub retry_count: Option<u32>,
    /// Seconds before the first retry; doubles each time, with jitter.
    #[serde(default)]
    #[schemars(range(min = 0.0))]
    pub retry_delay: Option<f64>,
    /// What undoes this step when the run rolls back.
    #[serde(default)]
    pub rollback: Option<RollbackAction>,
    /// Checks on the output.
    #[serde(default)]
    pub validation: Option<Validation>,
    /// AI steps: a Jinja template file, relative to the workflow file.
    #[serde(default)]
    pub prompt_template: Option<String>,
    /// AI steps: the prompt, with `${ }`.
    #[serde(default)]
    pub prompt: Option<String>,
    /// AI steps: the system prompt, with `${ }`.
    #[serde(default)]
    pub system: Option<String>,
    /// AI steps: the JSON Schema the answer must match; the answer is then
    /// parsed as JSON.
    #[serde(default)]
    pub output_schema: Option<Value>,
    /// AI steps: the most tokens to generate.
    #[serde(default)]
    pub max_tokens: Option<u32>,
    /// AI steps: sampling temperature.
    #[serde(default)]
    #[schemars(range(min = 0.0, max = 2.0))]
    pub temperature: Option<f32>,
    /// AI steps: the most this step may cost, in US dollars.
    #[serde(default)]
    #[schemars(range(min = 0.0))]
    pub cost_limit: Option<f64>,
    /// AI steps: the model, instead of the provider's default.
    #[serde(default)]
    pub model: Option<String>,
}

impl Step {
    /// The step's type: explicit, else `plugin_action` when `plugin` is set,
    /// `ai_action` when a prompt is, else `builtin`.
    pub fn kind(&self) -> StepType {
        self.step_type.unwrap_or(if self.plugin.is_some() {
            StepType::PluginAction
        } else if self.prompt.is_some() || self.prompt_template.is_some() {
            StepType::AiAction
        } else {
            StepType::Builtin
        })
    }
}

impl RollbackAction {
    /// The action's type: explicit, else `plugin_action` when `plugin` is
    /// set, else `builtin`.
    pub fn kind(&self) -> StepType {
        self.step_type.unwrap_or(if self.plugin.is_some() {
            StepType::PluginAction
        } else {
            StepType::Builtin
        })
    }
}
