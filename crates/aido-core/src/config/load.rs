//! Loading a project's configuration: find `aido.yaml`, read `.env`,
//! substitute `${VAR}`, apply environment overrides, check everything against
//! the schemas, and make an unconnected instance of every configured plugin.
//!
//! Every problem is collected before anything is reported, and nothing is
//! connected or written while loading: a bad configuration has no side effect.

use std::path::{Path, PathBuf};

use serde_json::Value;

use aido_plugin_api::{PluginConfig, PluginInstance, PluginKind, PluginMetadata};

use super::diagnostic::{Diagnostic, Diagnostics, Origin};
use super::env::Environment;
use super::interpolate::{Substitution, substitute};
use super::model::{AidoConfig, PluginSlot, default_provider};
use super::schema::{self, is_secret, property_names, schema_at};
use super::yaml::{self, YamlDoc, dotted_path, escape_pointer};
use crate::registry::Registry;

/// The file names looked for in the project directory and its parents.
pub const CONFIG_FILE_NAMES: [&str; 2] = ["aido.yaml", "aido.yml"];

/// What to load.
#[derive(Debug, Clone, Default)]
pub struct LoadOptions {
    /// An explicit configuration file (`--config`); otherwise `aido.yaml` is
    /// looked for from `cwd` upwards.
    pub config_file: Option<PathBuf>,
    /// The directory aido runs in.
    pub cwd: PathBuf,
    /// The environment; read from the process and `.env` when `None`.
    pub environment: Option<Environment>,
}

/// Where the configuration came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigSource {
    /// A file.
    File(PathBuf),
    /// No file: the embedded defaults.
    Defaults,
}

/// A plugin chosen and configured for one kind, not yet connected.
#[derive(Debug, Clone)]
pub struct ConfiguredPlugin {
    /// The kind it serves.
    pub kind: PluginKind,
    /// The plugin's name.
    pub provider: String,
    /// Where its configuration came from, for humans.
    pub origin: String,
    /// The instance.
    pub instance: PluginInstance,
    /// Its validated configuration.
    pub config: PluginConfig,
}

/// A loaded, valid configuration.
#[derive(Debug, Clone)]
pub struct LoadedConfig {
    /// Where it came from.
    pub source: ConfigSource,
    /// The project's root: the configuration file's folder, or the cwd.
    pub project_dir: PathBuf,
    /// The settings of `aido.yaml`.
    pub settings: AidoConfig,
    /// One plugin per kind, in the order of [`PluginKind::ALL`].
    pub plugins: Vec<ConfiguredPlugin>,
    /// Values that must never be shown (for output redaction).
    pub secrets: Vec<String>,
}

impl LoadedConfig {
    /// The data directory, absolute.
    pub fn data_dir(&self) -> PathBuf {
        self.project_dir.join(&self.settings.system.data_dir)
    }

    /// The workspace directory, absolute.
    pub fn workspace_dir(&self) -> PathBuf {
        self.project_dir.join(&self.settings.system.workspace_dir)
    }

    /// The plugin serving `kind`.
    pub fn plugin(&self, kind: PluginKind) -> Option<&ConfiguredPlugin> {
        self.plugins.iter().find(|p| p.kind == kind)
    }
}

/// A configuration that failed to load, with every problem found and the
/// secret values seen (so the caller can keep them out of its output).
#[derive(Debug, Clone)]
pub struct LoadError {
    /// Every problem.
    pub diagnostics: Diagnostics,
    /// Values that must never be shown.
    pub secrets: Vec<String>,
}

impl std::fmt::Display for LoadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.diagnostics.fmt(f)
    }
}

impl std::error::Error for LoadError {}

/// Finds the configuration file for `cwd`: `aido.yaml` in it or the nearest
/// parent.
pub fn find_config_file(cwd: &Path) -> Option<PathBuf> {
    cwd.ancestors()
        .flat_map(|dir| CONFIG_FILE_NAMES.iter().map(move |name| dir.join(name)))
        .find(|path| path.is_file())
}

/// Loads and checks the configuration, making one unconnected plugin per kind.
pub fn load(options: &LoadOptions, registry: &Registry) -> Result<LoadedConfig, LoadError> {
    let mut loader = Loader {
        diagnostics: Diagnostics::default(),
        secrets: Vec::new(),
    };
    let result = loader.load(options, registry);
    loader
        .diagnostics
        .0
        .sort_by_key(|a| origin_order(&a.origin));
    match result {
        Some(config) if loader.diagnostics.is_empty() => Ok(config),
        _ => Err(LoadError {
            diagnostics: loader.diagnostics,
            secrets: loader.secrets,
        }),
    }
}

/// Orders diagnostics by file, then line and column; environment and
/// defaults after files.
fn origin_order(origin: &Origin) -> (u8, String, u32, u32) {
    match origin {
        Origin::WholeFile { path } => (0, path.display().to_string(), 0, 0),
        Origin::File { path, line, column } => (0, path.display().to_string(), *line, *column),
        Origin::Environment { variable } => (1, variable.clone(), 0, 0),
        Origin::Defaults => (2, String::new(), 0, 0),
    }
}

/// A parsed file and where its values sit in it.
struct Located<'a> {
    file: &'a Path,
    doc: &'a YamlDoc,
    /// The pointer of the located value within the document.
    prefix: String,
}

impl Located<'_> {
    fn origin(&self, pointer: &str) -> Origin {
        match self.doc.span_near(&format!("{}{pointer}", self.prefix)) {
            Some(span) => {
                let position = span.primary();
                Origin::File {
                    path: self.file.to_owned(),
                    line: position.line,
                    column: position.column,
                }
            }
            None => Origin::WholeFile {
                path: self.file.to_owned(),
            },
        }
    }
}

struct Loader {
    diagnostics: Diagnostics,
    secrets: Vec<String>,
}

impl Loader {
    fn load(&mut self, options: &LoadOptions, registry: &Registry) -> Option<LoadedConfig> {
        let file = match &options.config_file {
            Some(path) => {
                let path = options.cwd.join(path);
                if !path.is_file() {
                    self.diagnostics.push(Diagnostic::new(
                        Origin::WholeFile { path: path.clone() },
                        "",
                        "the configuration file does not exist",
                    ).with_help("`aido init` writes one; without `--config`, aido runs on its embedded defaults"));
                    return None;
                }
                Some(path)
            }
            None => find_config_file(&options.cwd),
        };
        let project_dir = file
            .as_deref()
            .and_then(Path::parent)
            .map(Path::to_owned)
            .unwrap_or_else(|| options.cwd.clone());

        let env = match &options.environment {
            Some(env) => env.clone(),
            None => match Environment::load(&project_dir) {
                Ok(env) => env,
                Err(message) => {
                    self.diagnostics.push(Diagnostic::new(
                        Origin::WholeFile {
                            path: project_dir.join(".env"),
                        },
                        "",
                        message,
                    ));
                    Environment::default()
                }
            },
        };

        let mut main_whole_references = Vec::new();
        let (doc, value) = match &file {
            Some(path) => {
                let doc = self.parse_file(path)?;
                let mut value = doc.value.clone();
                let located = Located {
                    file: path,
                    doc: &doc,
                    prefix: String::new(),
                };
                let substitution = substitute(&mut value, &env);
                self.report_substitution(&substitution, &located);
                self.remember_env_values(&substitution);
                let aido_schema = aido_schema();
                coerce(&mut value, &aido_schema, &substitution.whole_references);
                main_whole_references = substitution.whole_references;
                for violation in schema::check(&aido_schema, &value) {
                    self.push_violation(&located, violation);
                }
                (Some(doc), value)
            }
            None => (None, Value::Object(Default::default())),
        };
        let settings: AidoConfig = serde_json::from_value(value.clone()).unwrap_or_default();

        let data_dir = project_dir.join(&settings.system.data_dir);
        let mut plugins = Vec::new();
        for kind in PluginKind::ALL {
            let slot_value = value.pointer(&format!("/plugins/{kind}"));
            let main = match (&file, &doc) {
                (Some(path), Some(doc)) => Some(Located {
                    file: path,
                    doc,
                    prefix: format!("/plugins/{kind}"),
                }),
                _ => None,
            };
            let plugin = self.load_plugin(
                kind,
                slot_value,
                main,
                &main_whole_references,
                &project_dir,
                &data_dir,
                &env,
                registry,
            );
            plugins.extend(plugin);
        }

        Some(LoadedConfig {
            source: file
                .map(ConfigSource::File)
                .unwrap_or(ConfigSource::Defaults),
            project_dir,
            settings,
            plugins,
            secrets: self.secrets.clone(),
        })
    }

    fn parse_file(&mut self, path: &Path) -> Option<YamlDoc> {
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(err) => {
                self.diagnostics.push(Diagnostic::new(
                    Origin::WholeFile {
                        path: path.to_owned(),
                    },
                    "",
                    format!("cannot be read: {err}"),
                ));
                return None;
            }
        };
        match yaml::parse(&text) {
            Ok(doc) if doc.value.is_object() => Some(doc),
            Ok(doc) => {
                self.diagnostics.push(Diagnostic::new(
                    Origin::WholeFile {
                        path: path.to_owned(),
                    },
                    "",
                    format!(
                        "expected a mapping of settings, found {}",
                        schema::describe_value(&doc.value)
                    ),
                ));
                None
            }
            Err(err) => {
                let origin = match err.position {
                    Some(p) => Origin::File {
                        path: path.to_owned(),
                        line: p.line,
                        column: p.column,
                    },
                    None => Origin::WholeFile {
                        path: path.to_owned(),
                    },
                };
                self.diagnostics.push(Diagnostic::new(
                    origin,
                    "",
                    format!("invalid YAML: {}", err.message),
                ));
                None
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn load_plugin(
        &mut self,
        kind: PluginKind,
        slot_value: Option<&Value>,
        main: Option<Located<'_>>,
        main_whole_references: &[String],
        project_dir: &Path,
        data_dir: &Path,
        env: &Environment,
        registry: &Registry,
    ) -> Option<ConfiguredPlugin> {
        let slot_path = format!("plugins.{kind}");
        // A slot that fails its own schema was reported already; use what
        // can be read of it so plugin problems are found in the same pass.
        let slot: Option<PluginSlot> =
            slot_value.and_then(|v| serde_json::from_value(v.clone()).ok());
        if slot_value.is_some() && slot.is_none() {
            return None;
        }
        let Some(slot) = slot else {
            return self.configure(
                kind,
                default_provider(kind).to_owned(),
                Origin::Defaults,
                "embedded defaults".to_owned(),
                Value::Object(Default::default()),
                None,
                &[],
                project_dir,
                data_dir,
                env,
                registry,
            );
        };
        let main = main?;

        if slot.config.is_some() && slot.config_file.is_some() {
            self.diagnostics.push(Diagnostic::new(
                main.origin("/config_file"),
                format!("{slot_path}.config_file"),
                "give the configuration inline under `config` or in `config_file`, not both",
            ));
            return None;
        }

        if let Some(config_file) = &slot.config_file {
            let path = main
                .file
                .parent()
                .unwrap_or(Path::new("."))
                .join(config_file);
            if !path.is_file() {
                self.diagnostics.push(Diagnostic::new(
                    main.origin("/config_file"),
                    format!("{slot_path}.config_file"),
                    format!("the file `{}` does not exist", path.display()),
                ));
                return None;
            }
            let doc = self.parse_file(&path)?;
            let mut value = doc.value.clone();
            let located = Located {
                file: &path,
                doc: &doc,
                prefix: String::new(),
            };
            let substitution = substitute(&mut value, env);
            self.report_substitution(&substitution, &located);
            self.remember_env_values(&substitution);
            let file_provider = value.as_object_mut().and_then(|m| m.remove("provider"));
            let provider = match (&slot.provider, file_provider) {
                (Some(p), Some(Value::String(f))) if *p != f => {
                    self.diagnostics.push(Diagnostic::new(
                        located.origin("/provider"),
                        "provider",
                        format!(
                            "this file is for provider `{f}`, but `{slot_path}.provider` says `{p}`"
                        ),
                    ));
                    return None;
                }
                (Some(p), _) => p.clone(),
                (None, Some(Value::String(f))) => f,
                (None, Some(_)) => {
                    self.diagnostics.push(Diagnostic::new(
                        located.origin("/provider"),
                        "provider",
                        "expected a plugin name",
                    ));
                    return None;
                }
                (None, None) => {
                    self.diagnostics.push(self.missing_provider(
                        kind,
                        main.origin(""),
                        &slot_path,
                        registry,
                    ));
                    return None;
                }
            };
            let provider_origin = match slot.provider {
                Some(_) => main.origin("/provider"),
                None => located.origin("/provider"),
            };
            return self.configure(
                kind,
                provider,
                provider_origin,
                path.display().to_string(),
                value,
                Some(&located),
                &substitution.whole_references,
                project_dir,
                data_dir,
                env,
                registry,
            );
        }

        let Some(provider) = slot.provider.clone() else {
            self.diagnostics.push(self.missing_provider(
                kind,
                main.origin(""),
                &slot_path,
                registry,
            ));
            return None;
        };
        let value = Value::Object(slot.config.clone().unwrap_or_default());
        let inline = Located {
            file: main.file,
            doc: main.doc,
            prefix: format!("{}/config", main.prefix),
        };
        // Whole references inside the inline config, relative to it.
        let whole: Vec<String> = main_whole_references
            .iter()
            .filter_map(|p| p.strip_prefix(inline.prefix.as_str()))
            .filter(|rest| rest.starts_with('/'))
            .map(str::to_owned)
            .collect();
        self.configure(
            kind,
            provider,
            main.origin("/provider"),
            main.file.display().to_string(),
            value,
            Some(&inline),
            &whole,
            project_dir,
            data_dir,
            env,
            registry,
        )
    }

    fn missing_provider(
        &self,
        kind: PluginKind,
        origin: Origin,
        slot_path: &str,
        registry: &Registry,
    ) -> Diagnostic {
        let names: Vec<_> = registry
            .list_kind(kind)
            .map(|f| f.metadata().name.clone())
            .collect();
        Diagnostic::new(
            origin,
            slot_path.to_owned(),
            "missing required key `provider`",
        )
        .with_help(format!(
            "name the {kind} plugin to use: {}",
            names.join(", ")
        ))
    }

    #[allow(clippy::too_many_arguments)]
    fn configure(
        &mut self,
        kind: PluginKind,
        provider: String,
        provider_origin: Origin,
        origin: String,
        mut value: Value,
        located: Option<&Located<'_>>,
        whole_references: &[String],
        project_dir: &Path,
        data_dir: &Path,
        env: &Environment,
        registry: &Registry,
    ) -> Option<ConfiguredPlugin> {
        let factory = match registry.get(kind, &provider) {
            Ok(factory) => factory,
            Err(err) => {
                self.diagnostics.push(Diagnostic::new(
                    provider_origin,
                    format!("plugins.{kind}.provider"),
                    err.to_string(),
                ));
                return None;
            }
        };
        let metadata = factory.metadata();
        let schema = &metadata.config_schema;
        coerce(&mut value, schema, whole_references);
        let overridden = apply_env_overrides(&mut value, metadata, env);
        collect_secrets(schema, &value, "", &mut self.secrets);

        let key_prefix = match located {
            Some(l) if l.prefix.is_empty() => String::new(),
            Some(l) => format!("{}.", dotted_path(&l.prefix)),
            None => format!("plugins.{kind}.config."),
        };
        let origin_of = |pointer: &str| -> Origin {
            if let Some((_, var)) = overridden
                .iter()
                .find(|(p, _)| pointer.starts_with(p.as_str()))
            {
                return Origin::Environment {
                    variable: var.clone(),
                };
            }
            located
                .map(|l| l.origin(pointer))
                .unwrap_or(Origin::Defaults)
        };

        let violations = schema::check(schema, &value);
        let valid = violations.is_empty();
        for violation in violations {
            let mut diagnostic = Diagnostic::new(
                origin_of(&violation.pointer),
                format!("{key_prefix}{}", dotted_path(&violation.pointer)),
                violation.message,
            );
            diagnostic.help = violation.help;
            self.diagnostics.push(diagnostic);
        }
        if !valid {
            return None;
        }

        let instance = factory.create();
        let config = PluginConfig::new(kind.as_str(), value, project_dir, data_dir);
        let problems = instance.plugin().validate_config(&config);
        let ok = problems.is_empty();
        for problem in problems {
            let pointer: String = problem
                .path
                .split('.')
                .filter(|s| !s.is_empty())
                .map(|s| format!("/{}", escape_pointer(s)))
                .collect();
            self.diagnostics.push(Diagnostic::new(
                origin_of(&pointer),
                format!("{key_prefix}{}", problem.path),
                problem.message,
            ));
        }
        ok.then_some(ConfiguredPlugin {
            kind,
            provider,
            origin,
            instance,
            config,
        })
    }

    fn push_violation(&mut self, located: &Located<'_>, violation: schema::Violation) {
        let mut diagnostic = Diagnostic::new(
            located.origin(&violation.pointer),
            dotted_path(&format!("{}{}", located.prefix, violation.pointer)),
            violation.message,
        );
        diagnostic.help = violation.help;
        self.diagnostics.push(diagnostic);
    }

    fn report_substitution(&mut self, substitution: &Substitution, located: &Located<'_>) {
        for unset in &substitution.unset {
            self.diagnostics.push(
                Diagnostic::new(
                    located.origin(&unset.pointer),
                    dotted_path(&format!("{}{}", located.prefix, unset.pointer)),
                    format!(
                        "environment variable `{}` is not set (or empty)",
                        unset.name
                    ),
                )
                .with_help(format!(
                    "set it in the environment or in `.env`, or give a default: `${{{}:-value}}`",
                    unset.name
                )),
            );
        }
        for bad in &substitution.malformed {
            self.diagnostics.push(Diagnostic::new(
                located.origin(&bad.pointer),
                dotted_path(&format!("{}{}", located.prefix, bad.pointer)),
                bad.message.clone(),
            ));
        }
    }

    /// Values that came from the environment are treated as secrets for
    /// output purposes: a token may land in a key the schema does not mark
    /// (a misspelled one, say), and it must not show there either.
    fn remember_env_values(&mut self, substitution: &Substitution) {
        self.secrets.extend(
            substitution
                .substituted_values
                .iter()
                .filter(|v| v.len() >= 6)
                .cloned(),
        );
    }
}

fn aido_schema() -> Value {
    serde_json::to_value(schemars::schema_for!(AidoConfig)).unwrap_or(Value::Null)
}

/// A value that was exactly one `${VAR}` is a string; give it the type the
/// schema wants where it parses as one (`${PORT:-8080}` → 8080).
fn coerce(value: &mut Value, schema: &Value, pointers: &[String]) {
    for pointer in pointers {
        let Some(target) = schema_at(schema, pointer) else {
            continue;
        };
        if let Some(slot) = value.pointer_mut(pointer)
            && let Value::String(text) = slot
            && let Some(typed) = typed_scalar(text, target)
        {
            *slot = typed;
        }
    }
}

/// Parses `text` as the scalar type `schema` wants, if it wants one.
fn typed_scalar(text: &str, schema: &Value) -> Option<Value> {
    let types: Vec<&str> = match schema.get("type") {
        Some(Value::String(t)) => vec![t.as_str()],
        Some(Value::Array(ts)) => ts.iter().filter_map(Value::as_str).collect(),
        _ => return None,
    };
    if types.contains(&"string") {
        return None;
    }
    let text = text.trim();
    if types.contains(&"integer")
        && let Ok(n) = text.parse::<i64>()
    {
        return Some(Value::from(n));
    }
    if types.contains(&"number")
        && let Some(n) = text
            .parse::<f64>()
            .ok()
            .and_then(serde_json::Number::from_f64)
    {
        return Some(Value::Number(n));
    }
    if types.contains(&"boolean") {
        match text {
            "true" => return Some(Value::Bool(true)),
            "false" => return Some(Value::Bool(false)),
            _ => {}
        }
    }
    None
}

/// Applies `<PREFIX>_<KEY>` variables: the key is looked up in the plugin's
/// schema under `connection`, at the top level, then under `options`, and
/// only scalar keys the schema declares are set. Returns the pointers set and
/// the variables that set them.
fn apply_env_overrides(
    value: &mut Value,
    metadata: &PluginMetadata,
    env: &Environment,
) -> Vec<(String, String)> {
    let schema = &metadata.config_schema;
    let prefix = format!("{}_", metadata.env_prefix);
    let mut applied = Vec::new();
    for (variable, raw) in env.with_prefix(&prefix) {
        let key = variable[prefix.len()..].to_ascii_lowercase();
        if key.is_empty() {
            continue;
        }
        for section in ["/connection", "", "/options"] {
            let Some(parent) = schema_at(schema, section) else {
                continue;
            };
            if !property_names(parent).contains(&key) {
                continue;
            }
            let pointer = format!("{section}/{}", escape_pointer(&key));
            let Some(target) = schema_at(schema, &pointer) else {
                continue;
            };
            let scalar = match target.get("type") {
                Some(Value::String(t)) => {
                    matches!(t.as_str(), "string" | "integer" | "number" | "boolean")
                }
                Some(Value::Array(ts)) => ts.iter().any(|t| {
                    matches!(
                        t.as_str(),
                        Some("string" | "integer" | "number" | "boolean")
                    )
                }),
                _ => false,
            };
            if !scalar {
                continue;
            }
            let new = typed_scalar(raw, target).unwrap_or_else(|| Value::String(raw.to_owned()));
            if set_pointer(value, section, &key, new) {
                applied.push((pointer, variable.to_owned()));
            }
            break;
        }
    }
    applied
}

/// Sets `value[section][key]`, making `section` an object if it is missing.
fn set_pointer(value: &mut Value, section: &str, key: &str, new: Value) -> bool {
    let parent = if section.is_empty() {
        value
    } else {
        let Some(root) = value.as_object_mut() else {
            return false;
        };
        root.entry(section.trim_start_matches('/').to_owned())
            .or_insert_with(|| Value::Object(Default::default()))
    };
    match parent.as_object_mut() {
        Some(map) => {
            map.insert(key.to_owned(), new);
            true
        }
        None => false,
    }
}

/// Every string at a place the schema marks secret.
fn collect_secrets(schema: &Value, value: &Value, pointer: &str, out: &mut Vec<String>) {
    match value {
        Value::String(s) if schema_at(schema, pointer).is_some_and(is_secret) && !s.is_empty() => {
            out.push(s.clone());
        }
        Value::Object(map) => {
            for (key, item) in map {
                collect_secrets(
                    schema,
                    item,
                    &format!("{pointer}/{}", escape_pointer(key)),
                    out,
                );
            }
        }
        Value::Array(items) => {
            for (index, item) in items.iter().enumerate() {
                collect_secrets(schema, item, &format!("{pointer}/{index}"), out);
            }
        }
        _ => {}
    }
}
