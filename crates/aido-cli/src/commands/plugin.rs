//! `aido plugin list | info | schema | actions | add | check | remove`;
//! `aido plugin new` is in `plugin_new`.

use serde_json::{Value, json};

use aido_core::Registry;
use aido_core::registry::parse_kind;
use aido_plugin_api::catalog;
use aido_plugin_api::{PluginFactory, PluginKind};

use crate::cli::{GlobalArgs, PluginCommand};
use crate::context;
use crate::exit::{CliError, CliResult};
use crate::output::{Output, Tone};

/// Runs one `aido plugin` subcommand.
pub fn run(command: &PluginCommand, args: &GlobalArgs, out: &Output) -> CliResult {
    if let PluginCommand::Add { path } = command {
        return add(path, out);
    }
    if let PluginCommand::Check { path } = command {
        return check(path, args, out);
    }
    if let PluginCommand::New {
        name,
        kind,
        lang,
        dir,
        sdk_path,
    } = command
    {
        let request = super::plugin_new::NewPlugin {
            name: name.clone(),
            kind: kind.clone(),
            lang: *lang,
            dir: dir.clone(),
            sdk_path: sdk_path.clone(),
        };
        return super::plugin_new::run(&request, out);
    }
    if let PluginCommand::Remove { name } = command {
        let project = context::project_dir()?;
        return match aido_core::plugin_host::remove(name, &project).map_err(CliError::runtime)? {
            true => {
                out.line(&format!(
                    "removed `{name}` from {}",
                    aido_core::plugin_host::lockfile::LOCK_FILE
                ));
                Ok(())
            }
            false => Err(CliError::usage(format!(
                "no external plugin `{name}` was added here"
            ))),
        };
    }
    let registry = context::registry()?;
    match command {
        PluginCommand::List { kind } => list(&registry, kind.as_deref(), out),
        PluginCommand::Info { name, kind } => info(find(&registry, name, kind.as_deref())?, out),
        PluginCommand::Schema { name, kind } => {
            let factory = find(&registry, name, kind.as_deref())?;
            out.json(&factory.metadata().config_schema);
            Ok(())
        }
        PluginCommand::Actions { kind } => actions(kind.as_deref(), out),
        PluginCommand::Add { .. }
        | PluginCommand::Remove { .. }
        | PluginCommand::Check { .. }
        | PluginCommand::New { .. } => Ok(()),
    }
}

fn add(path: &str, out: &Output) -> CliResult {
    let project = context::project_dir()?;
    let dir = aido_core::plugin_host::locate(path, &project).map_err(CliError::usage)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|err| CliError::runtime(format!("cannot start the async runtime: {err}")))?;
    let locked = runtime
        .block_on(aido_core::plugin_host::add(&dir, &project))
        .map_err(CliError::usage)?;
    if out.json {
        out.json(&locked);
    } else {
        let kinds: Vec<&str> = locked.info.kinds.iter().map(|k| k.as_str()).collect();
        out.line(&format!(
            "added `{}` {} ({}) from {}; use it as `provider: {}`",
            locked.name,
            locked.info.version,
            kinds.join(", "),
            locked.dir.display(),
            locked.name
        ));
    }
    Ok(())
}

fn kind_filter(kind: Option<&str>) -> CliResult<Option<PluginKind>> {
    kind.map(parse_kind).transpose().map_err(CliError::from)
}

/// The plugin `name`, disambiguated by `kind` when several kinds have one.
fn find<'a>(
    registry: &'a Registry,
    name: &str,
    kind: Option<&str>,
) -> CliResult<&'a PluginFactory> {
    if let Some(kind) = kind_filter(kind)? {
        return Ok(registry.get(kind, name)?);
    }
    let found = registry.find(name)?;
    match found.as_slice() {
        [one] => Ok(one),
        many => {
            let kinds: Vec<_> = many.iter().map(|f| f.metadata().kind.as_str()).collect();
            Err(CliError::usage(format!(
                "several plugins are named `{name}` ({}); choose one with --kind",
                kinds.join(", ")
            )))
        }
    }
}

fn summary(factory: &PluginFactory) -> Value {
    let meta = factory.metadata();
    json!({
        "name": meta.name,
        "kind": meta.kind,
        "version": meta.version,
        "description": meta.description,
        "required_config": meta.required_config,
        "env_prefix": meta.env_prefix,
    })
}

fn list(registry: &Registry, kind: Option<&str>, out: &Output) -> CliResult {
    let kind = kind_filter(kind)?;
    let factories: Vec<&PluginFactory> = registry
        .list()
        .filter(|f| kind.is_none_or(|k| f.metadata().kind == k))
        .collect();
    if out.json {
        out.json(&factories.iter().map(|f| summary(f)).collect::<Vec<_>>());
        return Ok(());
    }
    let mut rows = vec![vec![
        "KIND".to_owned(),
        "NAME".to_owned(),
        "VERSION".to_owned(),
        "DESCRIPTION".to_owned(),
    ]];
    for factory in factories {
        let meta = factory.metadata();
        rows.push(vec![
            meta.kind.to_string(),
            meta.name.clone(),
            meta.version.clone(),
            meta.description.clone(),
        ]);
    }
    out.table(&rows);
    Ok(())
}

fn info(factory: &PluginFactory, out: &Output) -> CliResult {
    let meta = factory.metadata();
    let actions: Vec<&str> = catalog::actions_of(meta.kind).map(|a| a.name).collect();
    if out.json {
        let mut value = summary(factory);
        value["config_schema"] = meta.config_schema.clone();
        value["actions"] = json!(actions);
        out.json(&value);
        return Ok(());
    }
    out.line(&format!(
        "{} {} ({} plugin)",
        meta.name, meta.version, meta.kind
    ));
    out.line(&meta.description);
    out.line("");
    out.line(&out.paint("configuration", Tone::Dim));
    let keys = config_keys(&meta.config_schema);
    if keys.is_empty() {
        out.line("  (none)");
    }
    for (path, description, required, secret) in keys {
        let mut flags = Vec::new();
        if required {
            flags.push("required");
        }
        if secret {
            flags.push("secret");
        }
        let flags = if flags.is_empty() {
            String::new()
        } else {
            format!(" [{}]", flags.join(", "))
        };
        out.line(&format!(
            "  {path}{flags}  {}",
            out.paint(&description, Tone::Dim)
        ));
    }
    out.line(&format!(
        "  environment overrides: {}_<KEY> (for example {}_{})",
        meta.env_prefix,
        meta.env_prefix,
        meta.required_config
            .first()
            .and_then(|k| k.rsplit('.').next())
            .unwrap_or("KEY")
            .to_ascii_uppercase()
    ));
    out.line("");
    out.line(&out.paint("actions", Tone::Dim));
    out.line(&format!("  {}", actions.join(", ")));
    Ok(())
}

/// Flattens a configuration schema into (dotted key, description,
/// required, secret) rows.
fn config_keys(schema: &Value) -> Vec<(String, String, bool, bool)> {
    let mut rows = Vec::new();
    walk_keys(schema, schema, "", &mut rows);
    rows
}

fn walk_keys(
    root: &Value,
    schema: &Value,
    prefix: &str,
    rows: &mut Vec<(String, String, bool, bool)>,
) {
    let schema = aido_core::config::schema::schema_at(root, "")
        .filter(|_| prefix.is_empty())
        .unwrap_or(schema);
    let Some(properties) = schema.get("properties").and_then(Value::as_object) else {
        return;
    };
    let required: Vec<&str> = schema
        .get("required")
        .and_then(Value::as_array)
        .map(|r| r.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    for (key, sub) in properties {
        let path = if prefix.is_empty() {
            key.clone()
        } else {
            format!("{prefix}.{key}")
        };
        let pointer = format!("/{}", path.replace('.', "/"));
        let resolved = aido_core::config::schema::schema_at(root, &pointer).unwrap_or(sub);
        let description = sub
            .get("description")
            .or_else(|| resolved.get("description"))
            .and_then(Value::as_str)
            .unwrap_or("")
            .lines()
            .next()
            .unwrap_or("")
            .to_owned();
        if resolved.get("properties").is_some() {
            walk_keys(root, resolved, &path, rows);
        } else {
            let secret = aido_core::config::schema::is_secret(resolved);
            rows.push((path, description, required.contains(&key.as_str()), secret));
        }
    }
}

fn actions(kind: Option<&str>, out: &Output) -> CliResult {
    let kind = kind_filter(kind)?;
    let specs: Vec<_> = catalog::actions()
        .iter()
        .filter(|a| kind.is_none_or(|k| a.kind == k))
        .collect();
    if out.json {
        out.json(&specs);
        return Ok(());
    }
    let mut rows = vec![vec![
        "METHOD".to_owned(),
        "EFFECT".to_owned(),
        "PARAMETERS".to_owned(),
        "DESCRIPTION".to_owned(),
    ]];
    for spec in specs {
        let effect = match spec.effect {
            aido_plugin_api::Effect::Read => "read",
            aido_plugin_api::Effect::Write => "write",
        };
        rows.push(vec![
            spec.method(),
            effect.to_owned(),
            spec.parameters().join(", "),
            spec.description.clone(),
        ]);
    }
    out.table(&rows);
    Ok(())
}

/// `aido plugin check`: handshake, configuration, conformance.
fn check(path: &str, args: &GlobalArgs, out: &Output) -> CliResult {
    use aido_core::plugin_host::external::{ExternalPlugin, ExternalSpec};
    use aido_core::plugin_host::lockfile;

    let project = context::project_dir()?;
    // A plugin added to this project is found by its name first.
    let added = lockfile::LockFile::read(&project).ok().and_then(|lock| {
        lock.plugins
            .into_iter()
            .find(|p| p.name == path)
            .map(|p| p.dir)
    });
    let dir = match added {
        Some(dir) => dir,
        None => aido_core::plugin_host::locate(path, &project).map_err(CliError::usage)?,
    };
    let manifest = lockfile::read_manifest(&dir).map_err(CliError::usage)?;
    // The configuration it has in this project, if any, as every other
    // command sees it: `${VAR}` substituted, overrides applied.
    let configured = configured_plugin(args, manifest.name(), out)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|err| CliError::runtime(format!("cannot start the async runtime: {err}")))?;
    let mut reports = Vec::new();
    let mut failed = false;
    for kind in manifest.kinds().iter().copied() {
        let Some(metadata) = manifest.metadata(kind) else {
            continue;
        };
        let spec = ExternalSpec {
            spawn: lockfile::spawn_spec(&manifest, &dir),
            metadata,
            secrets: manifest.secrets().to_vec(),
            limits: lockfile::host_limits(&manifest),
            entry: None,
        };
        let instance = aido_plugin_api::Forward::new(ExternalPlugin::new(spec)).into_instance(kind);
        let config = match configured.iter().find(|c| c.kind == kind) {
            Some(configured) => configured.config.clone(),
            None => aido_plugin_api::PluginConfig::new(
                kind.as_str(),
                json!({}),
                &project,
                project.join(".aido").join("plugin-check"),
            ),
        };
        let report = runtime.block_on(async {
            let connected = instance.plugin().connect(&config).await;
            let report = match connected {
                Ok(()) => aido_testkit::conformance::check(&instance).await,
                Err(err) => {
                    failed = true;
                    out.error(&format!("{kind}: {err}"));
                    None
                }
            };
            let _ = instance.plugin().disconnect().await;
            report
        });
        if let Some(report) = report {
            failed |= !report.passed();
            if !out.json {
                out.line(report.to_string().trim_end());
            }
            reports.push(report);
        } else if !failed && !out.json {
            out.line(&format!(
                "{kind}: handshake and configuration passed; this kind has no conformance suite yet"
            ));
        }
    }
    if out.json {
        out.json(&serde_json::json!({ "plugin": manifest.name(), "passed": !failed, "reports": reports }));
    }
    if failed {
        Err(CliError::reported(crate::exit::ExitCode::Runtime))
    } else {
        Ok(())
    }
}

/// The kinds the project's configuration has the plugin `name` serve,
/// configured. A project with no configuration file has none; one whose
/// configuration does not load gets its problems reported.
fn configured_plugin(
    args: &GlobalArgs,
    name: &str,
    out: &Output,
) -> CliResult<Vec<aido_core::config::ConfiguredPlugin>> {
    let cwd = std::env::current_dir()
        .map_err(|err| CliError::runtime(format!("cannot read the current directory: {err}")))?;
    if args.config.is_none() && aido_core::config::find_config_file(&cwd).is_none() {
        return Ok(Vec::new());
    }
    let registry = context::registry()?;
    let loaded = context::load_config(args, &registry, out)?;
    Ok(loaded
        .plugins
        .into_iter()
        .filter(|plugin| plugin.provider == name)
        .collect())
}
