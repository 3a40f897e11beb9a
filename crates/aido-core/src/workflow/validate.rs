//! Static checks of a workflow before anything runs: YAML syntax, unknown
//! fields, kinds and actions (from the action catalog), literal inputs
//! against the action's input schema, variables used before any step defines
//! them, duplicate step names, expression syntax, rollback actions. Every
//! problem is reported at once as `file:line:column: message`.

use std::collections::BTreeSet;
use std::path::Path;

use serde_json::Value;

use aido_plugin_api::{PluginKind, catalog};

use crate::config::schema::{self, property_names};
use crate::config::yaml::{self, YamlDoc, dotted_path, escape_pointer};
use crate::config::{Diagnostic, Diagnostics, Origin, did_you_mean};

use super::builtins::Builtins;
use super::expr::{self, Evaluator};
use super::model::{Outputs, StepType, Workflow};

/// Variables every run has.
pub const BUILTIN_VARIABLES: [&str; 7] = [
    "run_id",
    "task_id",
    "timestamp",
    "workspace",
    "system",
    "steps",
    "vars",
];

/// A workflow read from a file (or embedded), with positions.
#[derive(Debug, Clone)]
pub struct WorkflowFile {
    /// Where it came from, for messages (a path, or `builtin:NAME`).
    pub origin: std::path::PathBuf,
    /// Its text.
    pub source: String,
    /// The parsed document with positions.
    pub doc: YamlDoc,
    /// The typed workflow.
    pub workflow: Workflow,
}

impl WorkflowFile {
    /// Where the node at `pointer` is.
    pub fn origin_of(&self, pointer: &str) -> Origin {
        match self.doc.span_near(pointer) {
            Some(span) => {
                let position = span.primary();
                Origin::File {
                    path: self.origin.clone(),
                    line: position.line,
                    column: position.column,
                }
            }
            None => Origin::WholeFile {
                path: self.origin.clone(),
            },
        }
    }

    fn diagnostic(&self, pointer: &str, message: impl Into<String>) -> Diagnostic {
        Diagnostic::new(self.origin_of(pointer), dotted_path(pointer), message)
    }
}

/// Parses a workflow: YAML syntax and the format's schema. Problems of the
/// content (actions, variables) are [`validate`]'s.
pub fn parse(origin: &Path, source: &str) -> Result<WorkflowFile, Diagnostics> {
    let mut diagnostics = Diagnostics::default();
    let doc = match yaml::parse(source) {
        Ok(doc) => doc,
        Err(err) => {
            let origin = match err.position {
                Some(p) => Origin::File {
                    path: origin.to_owned(),
                    line: p.line,
                    column: p.column,
                },
                None => Origin::WholeFile {
                    path: origin.to_owned(),
                },
            };
            diagnostics.push(Diagnostic::new(
                origin,
                "",
                format!("invalid YAML: {}", err.message),
            ));
            return Err(diagnostics);
        }
    };
    let workflow_schema =
        serde_json::to_value(schemars::schema_for!(Workflow)).unwrap_or(Value::Null);
    let partial = WorkflowFile {
        origin: origin.to_owned(),
        source: source.to_owned(),
        doc: doc.clone(),
        workflow: Workflow {
            name: String::new(),
            description: String::new(),
            version: None,
            metadata: Default::default(),
            variables: Default::default(),
            prerequisites: Vec::new(),
            steps: Vec::new(),
        },
    };
    for violation in schema::check(&workflow_schema, &doc.value) {
        let mut diagnostic = partial.diagnostic(&violation.pointer, violation.message);
        diagnostic.help = violation.help;
        diagnostics.push(diagnostic);
    }
    if !diagnostics.is_empty() {
        return Err(diagnostics);
    }
    match serde_json::from_value::<Workflow>(doc.value.clone()) {
        Ok(workflow) => Ok(WorkflowFile {
            workflow,
            ..partial
        }),
        Err(err) => {
            diagnostics
                .push(partial.diagnostic("", format!("does not match the workflow format: {err}")));
            Err(diagnostics)
        }
    }
}

/// Checks a parsed workflow's content.
pub fn validate(file: &WorkflowFile, builtins: &Builtins) -> Diagnostics {
    let mut checker = Checker {
        file,
        builtins,
        evaluator: Evaluator::new(),
        diagnostics: Diagnostics::default(),
    };
    checker.run();
    let mut diagnostics = checker.diagnostics;
    diagnostics.0.sort_by_key(|d| match &d.origin {
        Origin::File { line, column, .. } => (*line, *column),
        _ => (0, 0),
    });
    diagnostics
}

struct Checker<'a> {
    file: &'a WorkflowFile,
    builtins: &'a Builtins,
    evaluator: Evaluator,
    diagnostics: Diagnostics,
}

impl Checker<'_> {
    fn push(&mut self, pointer: &str, message: impl Into<String>, help: Option<String>) {
        let mut diagnostic = self.file.diagnostic(pointer, message);
        diagnostic.help = help;
        self.diagnostics.push(diagnostic);
    }

    fn run(&mut self) {
        let workflow = &self.file.workflow;
        let mut defined: BTreeSet<String> =
            BUILTIN_VARIABLES.iter().map(|s| s.to_string()).collect();
        defined.extend(workflow.variables.keys().cloned());
        let mut earlier_steps: BTreeSet<String> = BTreeSet::new();

        for (index, prerequisite) in workflow.prerequisites.iter().enumerate() {
            let pointer = format!("/prerequisites/{index}/condition");
            self.check_expression_text(
                &pointer,
                &prerequisite.condition,
                &defined,
                &earlier_steps,
                true,
            );
        }

        let mut seen_names: Vec<&str> = Vec::new();
        for (index, step) in workflow.steps.iter().enumerate() {
            let base = format!("/steps/{index}");
            if seen_names.contains(&step.name.as_str()) {
                self.push(
                    &format!("{base}/name"),
                    format!(
                        "a step named `{}` already exists; step names must be unique",
                        step.name
                    ),
                    None,
                );
            }
            seen_names.push(&step.name);

            if let Some(condition) = &step.condition {
                self.check_expression_text(
                    &format!("{base}/condition"),
                    condition,
                    &defined,
                    &earlier_steps,
                    true,
                );
            }
            for field in ["prompt", "system"] {
                if let Some(Value::String(text)) =
                    self.file.doc.value.pointer(&format!("{base}/{field}"))
                {
                    self.check_expression_text(
                        &format!("{base}/{field}"),
                        text,
                        &defined,
                        &earlier_steps,
                        false,
                    );
                }
            }
            if let Some(list) = &step.for_each {
                self.check_expression_text(
                    &format!("{base}/for_each"),
                    list,
                    &defined,
                    &earlier_steps,
                    true,
                );
                if step.kind() == StepType::AiAction {
                    self.push(
                        &format!("{base}/for_each"),
                        "an AI step cannot use for_each",
                        None,
                    );
                }
            }
            let mut input_scope = defined.clone();
            if step.for_each.is_some() {
                input_scope.insert("item".to_owned());
                input_scope.insert("index".to_owned());
            }
            self.check_values(
                &format!("{base}/inputs"),
                &Value::Object(step.inputs.clone()),
                &input_scope,
                &earlier_steps,
            );

            match step.kind() {
                StepType::PluginAction => self.check_plugin_action(
                    &base,
                    step.plugin.as_deref(),
                    step.action.as_deref(),
                    &step.inputs,
                ),
                StepType::Builtin => {
                    self.check_builtin(&base, step.action.as_deref(), &step.inputs)
                }
                StepType::AiAction => {
                    match (&step.prompt, &step.prompt_template) {
                        (None, None) => self.push(
                            &base,
                            format!(
                                "AI step `{}` needs `prompt` or `prompt_template`",
                                step.name
                            ),
                            None,
                        ),
                        (Some(_), Some(_)) => self.push(
                            &format!("{base}/prompt_template"),
                            "give `prompt` or `prompt_template`, not both",
                            None,
                        ),
                        _ => {}
                    }
                    if let Some(template) = &step.prompt_template {
                        let path = self
                            .file
                            .origin
                            .parent()
                            .unwrap_or(Path::new("."))
                            .join(template);
                        if !self.file.origin.starts_with("builtin:") && !path.is_file() {
                            self.push(
                                &format!("{base}/prompt_template"),
                                format!("the template `{}` does not exist", path.display()),
                                None,
                            );
                        }
                    }
                    if let Some(schema) = &step.output_schema
                        && let Err(err) = jsonschema::validator_for(schema)
                    {
                        self.push(
                            &format!("{base}/output_schema"),
                            format!("not a valid JSON Schema: {err}"),
                            None,
                        );
                    }
                }
            }

            if let Some(validation) = &step.validation {
                let mut with_output = defined.clone();
                with_output.insert("output".to_owned());
                for (i, condition) in validation.conditions.iter().enumerate() {
                    self.check_expression_text(
                        &format!("{base}/validation/conditions/{i}"),
                        condition,
                        &with_output,
                        &earlier_steps,
                        true,
                    );
                }
            }
            if step.retry_count.is_some() && step.on_error != super::model::OnError::Retry {
                self.push(
                    &format!("{base}/retry_count"),
                    "`retry_count` has no effect unless `on_error: retry`",
                    None,
                );
            }

            // What this step makes available to the steps after it.
            earlier_steps.insert(step.name.clone());
            match &step.outputs {
                Some(Outputs::Whole(variable)) => {
                    defined.insert(variable.clone());
                }
                Some(Outputs::Fields(fields)) => {
                    for (field, variable) in fields {
                        match variable.as_str() {
                            Some(variable) => {
                                defined.insert(variable.to_owned());
                            }
                            None => self.push(
                                &format!("{base}/outputs/{}", escape_pointer(field)),
                                "expected a variable name",
                                None,
                            ),
                        }
                    }
                }
                None => {}
            }

            if let Some(rollback) = &step.rollback {
                let rb = format!("{base}/rollback");
                let mut with_output = defined.clone();
                with_output.insert("output".to_owned());
                self.check_values(
                    &format!("{rb}/inputs"),
                    &Value::Object(rollback.inputs.clone()),
                    &with_output,
                    &earlier_steps,
                );
                match rollback.kind() {
                    StepType::PluginAction => self.check_plugin_action(
                        &rb,
                        rollback.plugin.as_deref(),
                        Some(&rollback.action),
                        &rollback.inputs,
                    ),
                    StepType::Builtin => {
                        self.check_builtin(&rb, Some(&rollback.action), &rollback.inputs)
                    }
                    StepType::AiAction => self.push(
                        &format!("{rb}/type"),
                        "a rollback cannot be an AI action",
                        None,
                    ),
                }
            }
        }
    }

    fn check_plugin_action(
        &mut self,
        base: &str,
        plugin: Option<&str>,
        action: Option<&str>,
        inputs: &serde_json::Map<String, Value>,
    ) {
        let Some(plugin) = plugin else {
            self.push(
                base,
                "a plugin action needs `plugin` (a kind such as `version_control`)",
                None,
            );
            return;
        };
        let Some(kind) = PluginKind::from_name(plugin) else {
            let kinds: Vec<&str> = PluginKind::ALL.iter().map(|k| k.as_str()).collect();
            let help =
                did_you_mean(plugin, kinds.iter().copied()).map(|s| format!("did you mean `{s}`?"));
            self.push(
                &format!("{base}/plugin"),
                format!(
                    "`{plugin}` is not a plugin kind; expected one of {}",
                    kinds.join(", ")
                ),
                help,
            );
            return;
        };
        let Some(action) = action else {
            self.push(
                base,
                format!("a plugin action needs `action` (one of the {kind} actions)"),
                None,
            );
            return;
        };
        let Some(spec) = catalog::find_action(kind, action) else {
            let names: Vec<&str> = catalog::actions_of(kind).map(|a| a.name).collect();
            let help = did_you_mean(action, names.iter().copied())
                .map(|s| format!("did you mean `{s}`?"))
                .or_else(|| Some(format!("{kind} actions: {}", names.join(", "))));
            self.push(
                &format!("{base}/action"),
                format!("`{action}` is not an action of {kind}"),
                help,
            );
            return;
        };
        self.check_inputs(base, &spec.input_schema, inputs);
    }

    fn check_builtin(
        &mut self,
        base: &str,
        action: Option<&str>,
        inputs: &serde_json::Map<String, Value>,
    ) {
        let names: Vec<&str> = self.builtins.specs().map(|s| s.name).collect();
        let Some(action) = action else {
            self.push(
                base,
                format!(
                    "a step needs `plugin` and `action`, a prompt, or a built-in `action` ({})",
                    names.join(", ")
                ),
                None,
            );
            return;
        };
        let Some(builtin) = self.builtins.get(action) else {
            let help = did_you_mean(action, names.iter().copied())
                .map(|s| format!("did you mean `{s}`?"))
                .or_else(|| Some(format!("built-in actions: {}", names.join(", "))));
            self.push(
                &format!("{base}/action"),
                format!("`{action}` is not a built-in action"),
                help,
            );
            return;
        };
        let schema = builtin.spec().input_schema.clone();
        self.check_inputs(base, &schema, inputs);
    }

    /// Literal inputs must fit the action's schema; inputs holding `${ }`
    /// are known only at run time, so only their presence counts.
    fn check_inputs(
        &mut self,
        base: &str,
        input_schema: &Value,
        inputs: &serde_json::Map<String, Value>,
    ) {
        let literal: serde_json::Map<String, Value> = inputs
            .iter()
            .filter(|(_, v)| !holds_expression(v))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let dynamic: Vec<&String> = inputs
            .keys()
            .filter(|k| !literal.contains_key(*k))
            .collect();
        let known = property_names(input_schema);
        let open = input_schema
            .get("additionalProperties")
            .is_none_or(|a| a != &Value::Bool(false));
        for key in &dynamic {
            if !open && !known.contains(key) {
                let help = did_you_mean(key, known.iter().map(String::as_str))
                    .map(|s| format!("did you mean `{s}`?"));
                self.push(
                    &format!("{base}/inputs/{}", escape_pointer(key)),
                    format!("unknown input `{key}`"),
                    help,
                );
            }
        }
        for violation in schema::check(input_schema, &Value::Object(literal)) {
            let missing_dynamic = violation.pointer.is_empty()
                && dynamic
                    .iter()
                    .any(|k| violation.message == format!("missing required key `{k}`"));
            if missing_dynamic {
                continue;
            }
            let message = violation
                .message
                .replace("missing required key", "missing required input");
            self.push(
                &format!("{base}/inputs{}", violation.pointer),
                message,
                violation.help,
            );
        }
    }

    fn check_values(
        &mut self,
        pointer: &str,
        value: &Value,
        defined: &BTreeSet<String>,
        steps: &BTreeSet<String>,
    ) {
        match value {
            Value::String(text) => self.check_expression_text(pointer, text, defined, steps, false),
            Value::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    self.check_values(&format!("{pointer}/{i}"), item, defined, steps);
                }
            }
            Value::Object(map) => {
                for (key, item) in map {
                    self.check_values(
                        &format!("{pointer}/{}", escape_pointer(key)),
                        item,
                        defined,
                        steps,
                    );
                }
            }
            _ => {}
        }
    }

    /// Checks the `${ }` in `text` (or, for a condition, `text` itself when
    /// it has none) for syntax and for variables not yet defined.
    fn check_expression_text(
        &mut self,
        pointer: &str,
        text: &str,
        defined: &BTreeSet<String>,
        steps: &BTreeSet<String>,
        is_condition: bool,
    ) {
        let expressions: Vec<String> = match expr::references(text) {
            Ok(refs) if refs.is_empty() && is_condition => vec![text.trim().to_owned()],
            Ok(refs) => refs.iter().map(|r| r.expression.to_owned()).collect(),
            Err(message) => {
                self.push(pointer, message, None);
                return;
            }
        };
        for expression in expressions {
            if let Err(message) = self.evaluator.check_syntax(&expression) {
                self.push(pointer, format!("`{expression}`: {message}"), None);
                continue;
            }
            let Ok(variables) = self.evaluator.variables(&expression) else {
                continue;
            };
            for variable in variables {
                if !defined.contains(&variable) {
                    let help = did_you_mean(&variable, defined.iter().map(String::as_str))
                        .map(|s| format!("did you mean `{s}`?"));
                    self.push(
                        pointer,
                        format!("`{variable}` (in `{expression}`) is not defined by this point: declare it under `variables:` or set it with an earlier step's `outputs:`"),
                        help,
                    );
                }
            }
            for referenced in step_references(&expression) {
                if !steps.contains(&referenced) {
                    self.push(
                        pointer,
                        format!("`steps.{referenced}` (in `{expression}`) names no earlier step"),
                        None,
                    );
                }
            }
        }
    }
}

/// Whether a value contains a `${ }` anywhere.
fn holds_expression(value: &Value) -> bool {
    match value {
        Value::String(s) => expr::references(s).map(|r| !r.is_empty()).unwrap_or(true),
        Value::Array(items) => items.iter().any(holds_expression),
        Value::Object(map) => map.values().any(holds_expression),
        _ => false,
    }
}

/// The step names an expression reads through `steps.<name>`.
fn step_references(expression: &str) -> Vec<String> {
    let mut found = Vec::new();
    let mut rest = expression;
    while let Some(pos) = rest.find("steps.") {
        let before_ok = pos == 0
            || !rest[..pos].ends_with(|c: char| c.is_alphanumeric() || c == '_' || c == '.');
        let after = &rest[pos + 6..];
        let name: String = after
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect();
        if before_ok && !name.is_empty() {
            found.push(name.clone());
        }
        rest = &after[name.len()..];
    }
    found
}
