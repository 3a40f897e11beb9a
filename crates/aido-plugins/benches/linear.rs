//! The `linear` plugin against its emulator with 20 ms of latency per
//! request: 1,000 `get_task` and 1,000 `update_task_status` calls, 32 at a
//! time. Prints wall time as a ratio to the ideal (1,000 / 32 batches × 20
//! ms), CPU seconds and peak memory. The emulator runs in the same process,
//! so CPU and memory include it (an upper bound for the plugin).
//!
//! Run: `cargo bench -p aido-plugins --bench linear`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use aido_plugin_api::{CallContext, PluginConfig, PluginInstance};
use aido_testkit::Fault;
use aido_testkit::linear::{GRAPHQL, LinearEmulator};
use serde_json::json;
use tokio::sync::Semaphore;

const CALLS: usize = 1000;
const CONCURRENCY: usize = 32;
const LATENCY: Duration = Duration::from_millis(20);

fn cpu_seconds_and_peak_kib() -> (f64, i64) {
    // SAFETY: getrusage fills the struct we pass and reads nothing else.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) };
    let seconds = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    (
        seconds(usage.ru_utime) + seconds(usage.ru_stime),
        usage.ru_maxrss,
    )
}

async fn run(
    plugin: &Arc<PluginInstance>,
    action: &'static str,
    input: impl Fn(usize) -> serde_json::Value,
) -> Duration {
    let permits = Arc::new(Semaphore::new(CONCURRENCY));
    let started = Instant::now();
    let mut tasks = Vec::with_capacity(CALLS);
    for i in 0..CALLS {
        let permit = permits
            .clone()
            .acquire_owned()
            .await
            .expect("the semaphore is open");
        let plugin = plugin.clone();
        let input = input(i);
        tasks.push(tokio::spawn(async move {
            let result = plugin.call(&CallContext::detached(), action, input).await;
            drop(permit);
            result.expect("the call succeeds");
        }));
    }
    for task in tasks {
        task.await.expect("the call task finishes");
    }
    started.elapsed()
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    runtime.block_on(async {
        let emulator = LinearEmulator::start().await.expect("the emulator starts");
        let plugin = aido_plugins::builtins()
            .into_iter()
            .find(|f| f.metadata().name == "linear")
            .expect("the linear plugin is built in")
            .create();
        let config = PluginConfig::new(
            "task_management",
            json!({ "connection": { "api_key": emulator.api_key(), "team_id": "ENG", "base_url": emulator.base_url() } }),
            ".",
            ".aido",
        );
        plugin.plugin().connect(&config).await.expect("the plugin connects");
        let task = plugin
            .call(&CallContext::detached(), "create_task", json!({ "title": "Benchmark task" }))
            .await
            .expect("a task");
        let id = task["id"].as_str().expect("an id").to_owned();
        // Warm the plugin's caches (workflow states) before measuring.
        plugin
            .call(&CallContext::detached(), "update_task_status", json!({ "task_id": id, "status": "in_progress" }))
            .await
            .expect("a status update");
        let plugin = Arc::new(plugin);
        // Every request from here on waits 20 ms at the emulator.
        emulator.push_faults(GRAPHQL, Fault::Delay(LATENCY), CALLS * 4);
        let ideal = LATENCY * CALLS.div_ceil(CONCURRENCY) as u32;
        let (cpu_before, _) = cpu_seconds_and_peak_kib();

        let reads = run(&plugin, "get_task", |_| json!({ "task_id": id })).await;
        let statuses = ["in_review", "in_progress"];
        let writes = run(&plugin, "update_task_status", |i| json!({ "task_id": id, "status": statuses[i % 2] })).await;

        let (cpu_after, peak_kib) = cpu_seconds_and_peak_kib();
        let requests_per_update = emulator.operations().len().saturating_sub(3 + CALLS) as f64 / CALLS as f64;
        println!("ideal per 1,000 calls: {} ms ({} batches of {CONCURRENCY} x {} ms)", ideal.as_millis(), CALLS.div_ceil(CONCURRENCY), LATENCY.as_millis());
        println!("get_task x1000:           {:>6} ms  = {:.3}x ideal", reads.as_millis(), reads.as_secs_f64() / ideal.as_secs_f64());
        println!(
            "update_task_status x1000: {:>6} ms  = {:.3}x ideal  ({requests_per_update:.2} requests per update)",
            writes.as_millis(),
            writes.as_secs_f64() / ideal.as_secs_f64()
        );
        println!("CPU: {:.2} s for 2,000 calls; peak RSS {:.1} MB (plugin and emulator in one process)", cpu_after - cpu_before, peak_kib as f64 / 1024.0);
    });
}
