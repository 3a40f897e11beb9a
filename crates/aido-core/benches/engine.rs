//! The engine's own cost per step: the SQLite run store (WAL, on disk) and
//! an in-memory no-op plugin, so what is measured is aido, not a service.
//!
//! Run: `cargo bench -p aido-core --bench engine` (add `-- --steps 50 --runs 64`
//! to change the shape). Prints microseconds per step and steps per second
//! for one run at a time and for many concurrent runs, on the runtime the
//! CLI uses (one thread); `--multi-thread` measures on tokio's
//! multi-threaded runtime instead.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use aido_core::engine::{Engine, EngineConfig, NoEvents};
use aido_core::store::RunStore;
use aido_core::workflow::builtins::Builtins;
use aido_core::workflow::validate;
use aido_plugin_api::PluginInstance;
use aido_testkit::NoOpMonitoring;

fn workflow(steps: usize) -> String {
    let mut text = String::from("name: bench\nsteps:\n");
    if std::env::args().any(|a| a == "--builtin") {
        // The same with a built-in `set`: no plugin call, no telemetry.
        for i in 0..steps {
            text.push_str(&format!("  - name: s{i}\n    action: set\n    inputs: {{ name: \"step ${{ run_id }} {i}\" }}\n"));
        }
        return text;
    }
    for i in 0..steps {
        // A side-effecting plugin action with an evaluated input: the full
        // path (render, call, idempotency key, durable commit, events).
        text.push_str(&format!(
            "  - name: s{i}\n    plugin: monitoring\n    action: record_event\n    inputs: {{ name: \"step ${{ run_id }} {i}\" }}\n"
        ));
    }
    text
}

fn arg(name: &str, default: usize) -> usize {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

async fn measure(
    engine: &Engine,
    file: &validate::WorkflowFile,
    runs: usize,
    concurrency: usize,
    steps: usize,
) -> (f64, f64) {
    let started = Instant::now();
    let mut pending = Vec::new();
    let engine = Arc::new(engine.clone());
    let file = Arc::new(file.clone());
    for chunk in (0..runs).collect::<Vec<_>>().chunks(concurrency) {
        pending.clear();
        for _ in chunk {
            let engine = engine.clone();
            let file = file.clone();
            pending.push(tokio::spawn(async move {
                let outcome = engine
                    .start(&file, Default::default(), &NoEvents)
                    .await
                    .expect("the run executes");
                assert_eq!(
                    outcome.status,
                    aido_core::store::RunStatus::Succeeded,
                    "{outcome:?}"
                );
            }));
        }
        for task in pending.drain(..) {
            task.await.expect("the run task finishes");
        }
    }
    let elapsed = started.elapsed().as_secs_f64();
    let total_steps = (runs * steps) as f64;
    (elapsed / total_steps * 1e6, total_steps / elapsed)
}

fn main() {
    let steps = arg("--steps", 20);
    let concurrent = arg("--runs", 64);
    // The CLI's runtime has one thread: no wake-up crosses threads but
    // SQLite's own worker. `--multi-thread` for comparison.
    let mut builder = if std::env::args().any(|a| a == "--multi-thread") {
        tokio::runtime::Builder::new_multi_thread()
    } else {
        tokio::runtime::Builder::new_current_thread()
    };
    let runtime = builder.enable_all().build().expect("a runtime");
    runtime.block_on(async {
        let dir = tempfile::tempdir().expect("a temporary folder");
        let store = RunStore::open(&dir.path().join("runs.db")).await.expect("the store opens");
        let mut plugins = BTreeMap::new();
        plugins.insert("monitoring".to_owned(), PluginInstance::Monitoring(Arc::new(NoOpMonitoring)));
        let config = EngineConfig {
            workspace_root: dir.path().join("ws"),
            max_concurrent_runs: concurrent,
            ..Default::default()
        };
        let engine = Engine::new(store, plugins, Builtins::standard(), config);
        let source = workflow(steps);
        let file = validate::parse(Path::new("bench.yaml"), &source).expect("the workflow parses");

        // The store alone: one small transaction.
        let probe = if std::env::var_os("PROBE_MEMORY").is_some() { RunStore::in_memory().await.expect("mem") } else { RunStore::open(&dir.path().join("probe.db")).await.expect("the store opens") };
        let new = aido_core::store::NewRun {
            id: "probe".into(),
            workflow: "probe".into(),
            workflow_origin: "probe".into(),
            workflow_source: String::new(),
            task_id: None,
            vars: serde_json::json!({}),
            workspace: String::new(),
        };
        probe.create_run(&new, "me", std::time::Duration::from_secs(60)).await.expect("a run");
        let started = Instant::now();
        for _ in 0..1000 {
            probe.record_event("probe", None, "probe", &serde_json::json!({"a": 1})).await.expect("an event");
        }
        println!("store: one event insert: {:.1} µs", started.elapsed().as_secs_f64() * 1e3);

        // Warm up the store and the allocator.
        measure(&engine, &file, 4, 1, steps).await;

        let (us_serial, rate_serial) = measure(&engine, &file, 20, 1, steps).await;
        println!("1 run at a time:   {us_serial:>8.1} µs/step  {rate_serial:>9.0} steps/s  ({steps} steps x 20 runs)");
        let (us_parallel, rate_parallel) = measure(&engine, &file, concurrent * 4, concurrent, steps).await;
        println!(
            "{concurrent} concurrent runs: {us_parallel:>8.1} µs/step  {rate_parallel:>9.0} steps/s  ({steps} steps x {} runs)",
            concurrent * 4
        );
    });
}
