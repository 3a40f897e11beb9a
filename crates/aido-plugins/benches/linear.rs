//! The `linear` plugin against its emulator with 20 ms of latency per
//! request: 1,000 `get_task` and 1,000 `update_task_status` calls, 32 at a
//! time. Prints, per action, the wall time as a ratio to the ideal (1,000 /
//! 32 batches × 20 ms) and the requests per call; then the plugin's CPU
//! seconds and peak RSS.
//!
//! The emulator runs in a child process (this same binary, started with
//! `--emulator-child`, driven by lines on its stdin), so this process's
//! CPU time (`getrusage(RUSAGE_SELF)`) and peak RSS (`VmHWM`, see
//! [`peak_rss_kib`]) are the plugin's and its runtime's alone; the
//! emulator's are printed apart.
//!
//! Run: `cargo bench -p aido-plugins --bench linear`.

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
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
/// The argument that makes this binary the emulator's process.
const CHILD_FLAG: &str = "--emulator-child";

/// CPU seconds (user + system) of this process.
fn cpu_seconds() -> f64 {
    // SAFETY: getrusage fills the struct we pass and reads nothing else.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) };
    let seconds = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    seconds(usage.ru_utime) + seconds(usage.ru_stime)
}

/// This process's peak RSS in KiB. On Linux, `VmHWM` of
/// `/proc/self/status`: `ru_maxrss` survives `execve`, so under `cargo
/// bench` it reports cargo's own peak (about 80 MB), not ours.
fn peak_rss_kib() -> i64 {
    let hwm = std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find_map(|line| line.strip_prefix("VmHWM:"))
                .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        });
    hwm.unwrap_or_else(|| {
        // SAFETY: as above.
        let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
        unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) };
        usage.ru_maxrss
    })
}

/// The child: serves the emulator and answers control lines on stdin
/// (`delay <ms> <count>`, `operations`, `usage`) until stdin closes.
fn emulator_child() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    let emulator = runtime
        .block_on(LinearEmulator::start())
        .expect("the emulator starts");
    let mut out = std::io::stdout().lock();
    writeln!(out, "ready {} {}", emulator.base_url(), emulator.api_key()).expect("stdout");
    out.flush().expect("stdout");
    for line in std::io::stdin().lock().lines() {
        let line = line.expect("stdin");
        let words: Vec<&str> = line.split_whitespace().collect();
        match words.as_slice() {
            ["delay", ms, count] => {
                let ms: u64 = ms.parse().expect("milliseconds");
                let count: usize = count.parse().expect("a count");
                emulator.push_faults(GRAPHQL, Fault::Delay(Duration::from_millis(ms)), count);
                writeln!(out, "ok").expect("stdout");
            }
            ["operations"] => writeln!(out, "{}", emulator.operations().len()).expect("stdout"),
            ["usage"] => writeln!(out, "{} {}", cpu_seconds(), peak_rss_kib()).expect("stdout"),
            _ => writeln!(out, "unknown command").expect("stdout"),
        }
        out.flush().expect("stdout");
    }
    drop(emulator);
}

/// The emulator's process, seen from the bench.
struct Emulator {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
    base_url: String,
    api_key: String,
}

impl Emulator {
    fn spawn() -> Emulator {
        let exe = std::env::current_exe().expect("the bench's own path");
        let mut child = Command::new(exe)
            .arg(CHILD_FLAG)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("the emulator process starts");
        let stdin = child.stdin.take().expect("piped stdin");
        let mut stdout = BufReader::new(child.stdout.take().expect("piped stdout"));
        let mut ready = String::new();
        stdout.read_line(&mut ready).expect("the ready line");
        let words: Vec<&str> = ready.split_whitespace().collect();
        let ["ready", base_url, api_key] = words.as_slice() else {
            panic!("unexpected first line from the emulator: {ready:?}");
        };
        Emulator {
            base_url: (*base_url).to_owned(),
            api_key: (*api_key).to_owned(),
            child,
            stdin,
            stdout,
        }
    }

    fn ask(&mut self, command: &str) -> String {
        writeln!(self.stdin, "{command}").expect("the emulator's stdin");
        self.stdin.flush().expect("the emulator's stdin");
        let mut answer = String::new();
        self.stdout
            .read_line(&mut answer)
            .expect("the emulator answers");
        answer.trim().to_owned()
    }

    fn operations(&mut self) -> usize {
        self.ask("operations").parse().expect("a count")
    }

    /// Its CPU seconds and peak RSS in KiB, then it is stopped.
    fn finish(mut self) -> (f64, i64) {
        let answer = self.ask("usage");
        let mut words = answer.split_whitespace();
        let cpu = words.next().and_then(|w| w.parse().ok()).unwrap_or(0.0);
        let peak = words.next().and_then(|w| w.parse().ok()).unwrap_or(0);
        let Emulator {
            mut child, stdin, ..
        } = self;
        drop(stdin);
        child.wait().expect("the emulator exits");
        (cpu, peak)
    }
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
    if std::env::args().any(|arg| arg == CHILD_FLAG) {
        emulator_child();
        return;
    }
    let mut emulator = Emulator::spawn();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    let plugin = aido_plugins::builtins()
        .into_iter()
        .find(|f| f.metadata().name == "linear")
        .expect("the linear plugin is built in")
        .create();
    let config = PluginConfig::new(
        "task_management",
        json!({ "connection": { "api_key": emulator.api_key, "team_id": "ENG", "base_url": emulator.base_url } }),
        ".",
        ".aido",
    );
    let id = runtime.block_on(async {
        plugin
            .plugin()
            .connect(&config)
            .await
            .expect("the plugin connects");
        let task = plugin
            .call(
                &CallContext::detached(),
                "create_task",
                json!({ "title": "Benchmark task" }),
            )
            .await
            .expect("a task");
        let id = task["id"].as_str().expect("an id").to_owned();
        // Warm the plugin's caches (teams, workflow states) before measuring.
        plugin
            .call(
                &CallContext::detached(),
                "update_task_status",
                json!({ "task_id": id, "status": "in_progress" }),
            )
            .await
            .expect("a status update");
        id
    });
    let plugin = Arc::new(plugin);
    // Every request from here on waits 20 ms at the emulator.
    assert_eq!(
        emulator.ask(&format!("delay {} {}", LATENCY.as_millis(), CALLS * 4)),
        "ok"
    );
    let ideal = LATENCY * CALLS.div_ceil(CONCURRENCY) as u32;
    let cpu_before = cpu_seconds();

    let ops_start = emulator.operations();
    let reads = runtime.block_on(run(&plugin, "get_task", |_| json!({ "task_id": id })));
    let ops_reads = emulator.operations();
    let statuses = ["in_review", "in_progress"];
    let writes = runtime.block_on(run(
        &plugin,
        "update_task_status",
        |i| json!({ "task_id": id, "status": statuses[i % 2] }),
    ));
    let ops_writes = emulator.operations();

    let (cpu_after, peak_kib) = (cpu_seconds(), peak_rss_kib());
    let per_call = |from: usize, to: usize| (to - from) as f64 / CALLS as f64;
    let ratio = |took: Duration| took.as_secs_f64() / ideal.as_secs_f64();
    println!(
        "ideal per 1,000 calls: {} ms ({} batches of {CONCURRENCY} x {} ms)",
        ideal.as_millis(),
        CALLS.div_ceil(CONCURRENCY),
        LATENCY.as_millis()
    );
    println!(
        "get_task x1000:           {:>6} ms  = {:.3}x ideal  ({:.2} requests per call)",
        reads.as_millis(),
        ratio(reads),
        per_call(ops_start, ops_reads)
    );
    println!(
        "update_task_status x1000: {:>6} ms  = {:.3}x ideal  ({:.2} requests per call)",
        writes.as_millis(),
        ratio(writes),
        per_call(ops_reads, ops_writes)
    );
    println!(
        "plugin process: {:.2} CPU s for 2,000 calls; peak RSS {:.1} MB",
        cpu_after - cpu_before,
        peak_kib as f64 / 1024.0
    );
    drop(plugin);
    drop(runtime);
    let (emulator_cpu, emulator_kib) = emulator.finish();
    println!(
        "emulator process (apart): {:.2} CPU s in all; peak RSS {:.1} MB",
        emulator_cpu,
        emulator_kib as f64 / 1024.0
    );
}
