//! The cost of one call to an external plugin: host → plugin process →
//! host, through aido's real host (`ExternalPlugin`, exactly as the engine
//! calls it through `PluginInstance::call`), for a no-op action
//! (`monitoring.flush`).
//!
//! Two plugins are measured: one in Rust on this crate (this very binary,
//! started again with `--as-plugin`), and one in Python on the SDK in
//! `sdk/python` (skipped when `python3` is missing). For each: the p50 and
//! p99 latency of sequential calls, and calls per second with 64 calls in
//! flight; then the CPU time per call (µs, user and system, over every
//! call made) of the host and of the plugin process, which stays steady on
//! a busy machine when latencies do not.
//!
//! Run: `cargo bench -p aido-plugin-sdk --bench roundtrip` (add
//! `-- --calls 20000 --in-flight 64` to change the shape, `--rust` or
//! `--python` for one plugin only, `--on-main-thread` to also measure
//! calls made from `block_on`'s thread rather than a runtime worker).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use aido_core::plugin_host::external::{ExternalPlugin, ExternalSpec, HostLimits};
use aido_core::plugin_host::process::SpawnSpec;
use aido_plugin_api::{CallContext, Forward, Plugin, PluginConfig, PluginInstance, PluginKind};
use aido_testkit::NoOpMonitoring;

const AS_PLUGIN: &str = "--as-plugin";

/// The Python plugin: the same no-op on the Python SDK.
const PYTHON_PLUGIN: &str = r#"
from aido_plugin import MonitoringPlugin, serve

class NoOp(MonitoringPlugin):
    PLUGIN_NAME = "noop"
    PLUGIN_VERSION = "0.1.0"
    PLUGIN_DESCRIPTION = "Does nothing."

    async def connect(self, config):
        pass

    async def flush(self):
        return None

serve(NoOp, log_level=None)
"#;

fn arg(name: &str, default: usize) -> usize {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn flag(name: &str) -> bool {
    std::env::args().any(|a| a == name)
}

fn spec(
    name: &str,
    program: PathBuf,
    args: Vec<String>,
    cwd: &Path,
    env: Vec<(String, String)>,
) -> ExternalSpec {
    ExternalSpec {
        spawn: SpawnSpec {
            name: name.to_owned(),
            program,
            args,
            cwd: cwd.to_owned(),
            env,
        },
        metadata: NoOpMonitoring.metadata().clone(),
        secrets: Vec::new(),
        limits: HostLimits::default(),
        entry: None,
    }
}

/// The figures of one plugin.
struct Figures {
    p50: Duration,
    p99: Duration,
    mean: Duration,
    calls_per_second: f64,
    /// CPU time per call (user and system) of the host and of the plugin
    /// process, over both phases: steadier than latency on a busy machine.
    host_cpu: Duration,
    plugin_cpu: Duration,
}

/// CPU time (user and system) of this process, or of its reaped children.
fn cpu_time(who: libc::c_int) -> Duration {
    // SAFETY: getrusage writes only into the struct it is given.
    let usage = unsafe {
        let mut usage = std::mem::zeroed::<libc::rusage>();
        libc::getrusage(who, &mut usage);
        usage
    };
    let time = |t: libc::timeval| {
        Duration::from_secs(t.tv_sec as u64) + Duration::from_micros(t.tv_usec as u64)
    };
    time(usage.ru_utime) + time(usage.ru_stime)
}

async fn measure(spec: ExternalSpec, calls: usize, in_flight: usize) -> Figures {
    let plugin = Forward::new(ExternalPlugin::new(spec)).into_instance(PluginKind::Monitoring);
    let dir = std::env::temp_dir();
    let config = PluginConfig::new("monitoring", serde_json::json!({}), &dir, dir.join(".aido"));
    plugin
        .plugin()
        .connect(&config)
        .await
        .expect("the plugin connects");
    let cx = CallContext::detached();
    let input = serde_json::json!({});
    let host_before = cpu_time(libc::RUSAGE_SELF);
    let plugin_before = cpu_time(libc::RUSAGE_CHILDREN);

    // Warm up both processes, the allocator and the caches.
    for _ in 0..calls / 10 {
        plugin
            .call(&cx, "flush", input.clone())
            .await
            .expect("a call");
    }

    let mut samples = Vec::with_capacity(calls);
    let started = Instant::now();
    for _ in 0..calls {
        let call = Instant::now();
        plugin
            .call(&cx, "flush", input.clone())
            .await
            .expect("a call");
        samples.push(call.elapsed());
    }
    let mean = started.elapsed() / calls as u32;
    samples.sort_unstable();
    let p50 = samples[samples.len() / 2];
    let p99 = samples[samples.len() * 99 / 100];

    let plugin = Arc::new(plugin);
    let per_task = (calls * 2).div_ceil(in_flight);
    let started = Instant::now();
    let tasks: Vec<_> = (0..in_flight)
        .map(|_| {
            let plugin = plugin.clone();
            tokio::spawn(async move {
                let cx = CallContext::detached();
                for _ in 0..per_task {
                    plugin
                        .call(&cx, "flush", serde_json::json!({}))
                        .await
                        .expect("a call");
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.expect("the caller finishes");
    }
    let calls_per_second = (per_task * in_flight) as f64 / started.elapsed().as_secs_f64();
    plugin
        .plugin()
        .disconnect()
        .await
        .expect("the plugin disconnects");
    // Both phases and the warm-up.
    let total = (calls + calls / 10 + per_task * in_flight) as u32;
    Figures {
        p50,
        p99,
        mean,
        calls_per_second,
        host_cpu: (cpu_time(libc::RUSAGE_SELF) - host_before) / total,
        plugin_cpu: (cpu_time(libc::RUSAGE_CHILDREN) - plugin_before) / total,
    }
}

fn row(name: &str, figures: &Figures, target_p50: u64) {
    println!(
        "{name:<8} {:>9.1} {:>9.1} {:>9.1} {:>12.0} {:>10.1} {:>10.1}   (target p50 ≤ {target_p50} µs)",
        figures.p50.as_secs_f64() * 1e6,
        figures.p99.as_secs_f64() * 1e6,
        figures.mean.as_secs_f64() * 1e6,
        figures.calls_per_second,
        figures.host_cpu.as_secs_f64() * 1e6,
        figures.plugin_cpu.as_secs_f64() * 1e6,
    );
}

fn main() {
    if flag(AS_PLUGIN) {
        aido_plugin_sdk::serve(PluginInstance::Monitoring(Arc::new(NoOpMonitoring)));
    }
    let calls = arg("--calls", 20_000);
    let in_flight = arg("--in-flight", 64);
    let only_rust = flag("--rust");
    let only_python = flag("--python");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    let dir = tempfile::tempdir().expect("a temporary folder");
    println!(
        "no-op call host → plugin → host; {calls} sequential calls, then {} with {in_flight} in flight",
        calls * 2
    );
    println!(
        "{:<8} {:>9} {:>9} {:>9} {:>12} {:>10} {:>10}",
        "plugin", "p50 µs", "p99 µs", "mean µs", "calls/s", "host cpu", "plugin cpu"
    );
    runtime.block_on(async {
        if !only_python {
            let exe = std::env::current_exe().expect("the bench binary's path");
            let spec = spec(
                "noop",
                exe,
                vec![AS_PLUGIN.to_owned()],
                dir.path(),
                Vec::new(),
            );
            // On a worker, as a server's calls run (not on `block_on`'s
            // thread, which every answer would have to wake separately;
            // `--on-main-thread` measures that too).
            let figures = tokio::spawn(measure(spec.clone(), calls, in_flight))
                .await
                .expect("measured");
            row("rust", &figures, 50);
            if flag("--on-main-thread") {
                let figures = measure(spec, calls, in_flight).await;
                row("rust/main", &figures, 50);
            }
        }
        if !only_rust {
            let sdk = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../sdk/python/src");
            let python_ok = std::process::Command::new("python3")
                .arg("--version")
                .output()
                .is_ok();
            if !python_ok {
                println!("python   skipped: python3 is not on PATH");
                return;
            }
            std::fs::write(dir.path().join("noop.py"), PYTHON_PLUGIN)
                .expect("the script is written");
            let env = vec![("PYTHONPATH".to_owned(), sdk.display().to_string())];
            let spec = spec(
                "noop",
                PathBuf::from("python3"),
                vec!["noop.py".to_owned()],
                dir.path(),
                env,
            );
            let figures = tokio::spawn(measure(spec, calls / 4, in_flight))
                .await
                .expect("measured");
            row("python", &figures, 150);
        }
    });
}
