//! The session driven in-process, line by line, as the host would drive it.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, LazyLock, Mutex};
use std::time::Duration;

use serde_json::{Value, json};
use tokio::sync::mpsc::UnboundedSender;

use aido_plugin_api::model::NoInput;
use aido_plugin_api::model::monitoring::{ErrorReport, Metric, MetricsExport, MonitoringEvent};
use aido_plugin_api::{
    CallContext, ConfigProblem, Error, Health, Monitoring, Plugin, PluginConfig, PluginInstance,
    PluginKind, PluginMetadata, Result,
};

use crate::session::{Session, SessionOptions};
use crate::stdio::Outgoing;

#[derive(serde::Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)] // Read by serde only.
struct Config {
    /// Where metrics go.
    target: Option<String>,
}

static META: LazyLock<PluginMetadata> = LazyLock::new(|| {
    PluginMetadata::new::<Config>("probe", PluginKind::Monitoring, "1.2.3", "A test plugin.")
});

/// What the plugin saw.
#[derive(Default)]
struct Seen {
    connects: AtomicUsize,
    disconnects: AtomicUsize,
    started: AtomicUsize,
    keys: Mutex<Vec<String>>,
    secret: Mutex<Option<String>>,
}

/// A monitoring plugin: `record_event` named `slow` waits forever, one
/// named `fail` fails as rate limited, `report_error` is unsupported.
struct Probe(Arc<Seen>);

#[async_trait::async_trait]
impl Plugin for Probe {
    fn metadata(&self) -> &PluginMetadata {
        &META
    }
    fn validate_config(&self, config: &PluginConfig) -> Vec<ConfigProblem> {
        match config.value().get("target").and_then(Value::as_str) {
            Some("") => vec![ConfigProblem::new("target", "must not be empty")],
            _ => Vec::new(),
        }
    }
    async fn connect(&self, config: &PluginConfig) -> Result<()> {
        config.parse::<Config>()?;
        *self.0.secret.lock().unwrap() =
            crate::secret("PROBE_TEST_TOKEN").map(|s| s.expose().to_owned());
        self.0.connects.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }
    async fn disconnect(&self) -> Result<()> {
        self.0.disconnects.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }
    async fn health_check(&self) -> Health {
        Health::Degraded("slow today".into())
    }
}

#[async_trait::async_trait]
impl Monitoring for Probe {
    async fn record_metric(&self, _: &CallContext, _: Metric) -> Result<()> {
        Ok(())
    }
    async fn record_event(&self, cx: &CallContext, event: MonitoringEvent) -> Result<()> {
        self.0.started.fetch_add(1, Ordering::SeqCst);
        if let Some(key) = &cx.idempotency_key {
            self.0.keys.lock().unwrap().push(key.clone());
        }
        match event.name.as_str() {
            "slow" => std::future::pending().await,
            "fail" => Err(Error::rate_limited(
                "too many events",
                Some(Duration::from_secs(3)),
            )),
            _ => Ok(()),
        }
    }
    async fn report_error(&self, _: &CallContext, _: ErrorReport) -> Result<()> {
        Err(Error::unsupported("errors are not kept"))
    }
    async fn flush(&self, _: &CallContext, _: NoInput) -> Result<()> {
        Ok(())
    }
    async fn export_metrics(&self, _: &CallContext, _: NoInput) -> Result<MetricsExport> {
        Ok(MetricsExport {
            content_type: "text/plain".into(),
            body: "events 1\n".into(),
        })
    }
}

/// A session in a task, fed lines, its answers collected.
struct Host {
    lines: Option<UnboundedSender<String>>,
    answers: std::sync::mpsc::Receiver<Vec<u8>>,
    session: tokio::task::JoinHandle<i32>,
    seen: Arc<Seen>,
}

impl Host {
    fn start(max_in_flight: usize) -> Host {
        let seen = Arc::new(Seen::default());
        let instance = PluginInstance::Monitoring(Arc::new(Probe(seen.clone())));
        let (out, answers) = Outgoing::in_memory();
        let options = SessionOptions {
            max_in_flight,
            attach_log: false,
        };
        let session = Session::new(instance, out, options);
        let (lines, incoming) = tokio::sync::mpsc::unbounded_channel();
        let session = tokio::spawn(async move { session.run(incoming, None).await });
        Host {
            lines: Some(lines),
            answers,
            session,
            seen,
        }
    }

    fn send(&self, message: Value) {
        self.send_line(&message.to_string());
    }

    fn send_line(&self, line: &str) {
        if let Some(lines) = &self.lines {
            lines.send(line.to_owned()).unwrap();
        }
    }

    async fn next(&self) -> Value {
        for _ in 0..5000 {
            if let Ok(line) = self.answers.try_recv() {
                assert_eq!(line.last(), Some(&b'\n'), "a line ends with a newline");
                assert_eq!(line.iter().filter(|b| **b == b'\n').count(), 1);
                return serde_json::from_slice(&line).unwrap();
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        panic!("no answer within 5 s");
    }

    async fn call(&self, id: i64, method: &str, params: Value) -> Value {
        self.send(json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}));
        let answer = self.next().await;
        assert_eq!(answer["id"], id, "{answer}");
        answer
    }

    async fn ready(&self) {
        let answer = self
            .call(
                1,
                "initialize",
                json!({"protocol_versions": ["1.0"], "host": {"name": "test", "version": "0"}}),
            )
            .await;
        assert_eq!(answer["result"]["protocol_version"], "1.0", "{answer}");
        self.send(json!({"jsonrpc": "2.0", "method": "initialized"}));
        let connected = self
            .call(2, "plugin.connect", json!({"config": {}, "secrets": {}}))
            .await;
        assert_eq!(connected["result"], Value::Null, "{connected}");
    }

    fn close_stdin(&mut self) {
        self.lines = None;
    }

    async fn exit_code(self) -> i32 {
        tokio::time::timeout(Duration::from_secs(5), self.session)
            .await
            .expect("the session ends")
            .unwrap()
    }

    fn no_more_answers(&self) {
        assert!(self.answers.try_recv().is_err(), "an extra answer");
    }
}

fn code(answer: &Value) -> i64 {
    answer["error"]["code"].as_i64().unwrap_or(0)
}

#[tokio::test]
async fn the_handshake_describes_the_plugin_from_its_metadata() {
    let host = Host::start(8);
    let early = host.call(7, "plugin.health_check", json!({})).await;
    assert_eq!(code(&early), -32002, "{early}");
    let answer = host
        .call(
            1,
            "initialize",
            json!({"protocol_versions": ["1.3", "2.0"], "host": {"name": "aido", "version": "0.1.0"}, "parent_pid": 1}),
        )
        .await;
    let result = &answer["result"];
    assert_eq!(result["protocol_version"], "1.0");
    assert_eq!(result["plugin"]["name"], "probe");
    assert_eq!(result["plugin"]["version"], "1.2.3");
    assert_eq!(result["plugin"]["kinds"], json!(["monitoring"]));
    assert_eq!(result["plugin"]["methods"][0], "monitoring.record_metric");
    assert_eq!(result["plugin"]["methods"].as_array().unwrap().len(), 5);
    assert_eq!(result["plugin"]["required_config"], json!([]));
    assert!(result["plugin"]["config_schema"]["properties"]["target"].is_object());
    let again = host
        .call(
            2,
            "initialize",
            json!({"protocol_versions": ["1.0"], "host": {"name": "aido", "version": "0"}}),
        )
        .await;
    assert_eq!(code(&again), -32600, "{again}");
}

#[tokio::test]
async fn another_major_version_is_refused_naming_both() {
    let host = Host::start(8);
    let answer = host
        .call(
            1,
            "initialize",
            json!({"protocol_versions": ["2.0"], "host": {"name": "aido", "version": "9"}}),
        )
        .await;
    assert_eq!(code(&answer), -32001, "{answer}");
    let message = answer["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("probe") && message.contains("1.0") && message.contains("2.0"),
        "{message}"
    );
    assert_eq!(answer["error"]["data"]["kind"], "unsupported");
}

#[tokio::test]
async fn calls_need_a_connect_and_carry_their_context() {
    let host = Host::start(8);
    host.call(
        1,
        "initialize",
        json!({"protocol_versions": ["1.0"], "host": {"name": "t", "version": "0"}}),
    )
    .await;
    let early = host
        .call(2, "monitoring.record_event", json!({"name": "x"}))
        .await;
    assert_eq!(code(&early), -32002, "{early}");
    let problems = host
        .call(
            3,
            "plugin.validate_config",
            json!({"config": {"target": ""}, "project_dir": "/p"}),
        )
        .await;
    assert_eq!(
        problems["result"]["problems"],
        json!([{"path": "target", "message": "must not be empty"}])
    );
    let bad = host
        .call(4, "plugin.connect", json!({"config": {"nope": 1}}))
        .await;
    assert_eq!(bad["error"]["data"]["kind"], "configuration", "{bad}");
    host.call(5, "plugin.connect", json!({"config": {}})).await;
    let ok = host
        .call(
            6,
            "monitoring.record_event",
            json!({"name": "x", "_meta": {"run_id": "r-1", "idempotency_key": "aido:r-1:s"}}),
        )
        .await;
    assert_eq!(ok["result"], Value::Null, "{ok}");
    assert_eq!(*host.seen.keys.lock().unwrap(), ["aido:r-1:s"]);
    let exported = host.call(7, "monitoring.export_metrics", json!({})).await;
    assert_eq!(exported["result"]["body"], "events 1\n");
    let health = host.call(8, "plugin.health_check", json!({})).await;
    assert_eq!(
        health["result"],
        json!({"status": "degraded", "reason": "slow today"})
    );
}

#[tokio::test]
async fn errors_keep_their_kind_and_bad_calls_get_the_standard_codes() {
    let host = Host::start(8);
    host.ready().await;
    let limited = host
        .call(3, "monitoring.record_event", json!({"name": "fail"}))
        .await;
    assert_eq!(code(&limited), -32000, "{limited}");
    let data = &limited["error"]["data"];
    assert_eq!(data["kind"], "rate_limited");
    assert_eq!(data["retryable"], true);
    assert_eq!(data["retry_after_seconds"], 3.0);
    assert_eq!(limited["error"]["message"], "too many events");
    let unsupported = host
        .call(4, "monitoring.report_error", json!({"message": "m"}))
        .await;
    assert_eq!(unsupported["error"]["data"]["kind"], "unsupported");
    let bad_input = host
        .call(5, "monitoring.record_event", json!({"title": "x"}))
        .await;
    assert_eq!(
        bad_input["error"]["data"]["kind"], "invalid_input",
        "{bad_input}"
    );
    let other_kind = host
        .call(6, "task_management.get_task", json!({"task_id": "1"}))
        .await;
    assert_eq!(code(&other_kind), -32601, "{other_kind}");
    assert!(
        other_kind["error"]["message"]
            .as_str()
            .unwrap()
            .contains("serves monitoring")
    );
    let unknown = host.call(7, "monitoring.nope", json!({})).await;
    assert_eq!(code(&unknown), -32601, "{unknown}");
    host.send_line("{not json");
    let parse = host.next().await;
    assert_eq!(code(&parse), -32700);
    assert_eq!(parse["id"], Value::Null);
}

#[tokio::test]
async fn a_cancelled_call_is_answered_once_as_cancelled() {
    let host = Host::start(8);
    host.ready().await;
    host.send(json!({"jsonrpc": "2.0", "id": 9, "method": "monitoring.record_event", "params": {"name": "slow"}}));
    while host.seen.started.load(Ordering::SeqCst) == 0 {
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    host.send(json!({"jsonrpc": "2.0", "method": "$/cancel", "params": {"id": 9}}));
    let answer = host.next().await;
    assert_eq!(answer["id"], 9);
    assert_eq!(code(&answer), -32004, "{answer}");
    // A second cancel, and one for an unknown id, are ignored.
    host.send(json!({"jsonrpc": "2.0", "method": "$/cancel", "params": {"id": 9}}));
    host.send(json!({"jsonrpc": "2.0", "method": "$/cancel", "params": {"id": 77}}));
    let after = host.call(10, "monitoring.flush", json!({})).await;
    assert_eq!(after["result"], Value::Null);
    host.no_more_answers();
}

#[tokio::test]
async fn no_more_than_max_in_flight_calls_run_at_once() {
    let host = Host::start(2);
    host.ready().await;
    for id in 10..13 {
        host.send(json!({"jsonrpc": "2.0", "id": id, "method": "monitoring.record_event", "params": {"name": "slow"}}));
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(host.seen.started.load(Ordering::SeqCst), 2);
    host.send(json!({"jsonrpc": "2.0", "method": "$/cancel", "params": {"id": 10}}));
    assert_eq!(host.next().await["id"], 10);
    for _ in 0..1000 {
        if host.seen.started.load(Ordering::SeqCst) == 3 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    assert_eq!(
        host.seen.started.load(Ordering::SeqCst),
        3,
        "the third starts"
    );
}

#[tokio::test]
async fn shutdown_cancels_calls_disconnects_and_refuses_what_follows() {
    let host = Host::start(8);
    host.ready().await;
    host.send(json!({"jsonrpc": "2.0", "id": 5, "method": "monitoring.record_event", "params": {"name": "slow"}}));
    while host.seen.started.load(Ordering::SeqCst) == 0 {
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    host.send(json!({"jsonrpc": "2.0", "id": 6, "method": "shutdown"}));
    let cancelled = host.next().await;
    assert_eq!(
        (cancelled["id"].clone(), code(&cancelled)),
        (json!(5), -32004)
    );
    let done = host.next().await;
    assert_eq!(done, json!({"jsonrpc": "2.0", "id": 6, "result": null}));
    assert_eq!(host.seen.disconnects.load(Ordering::SeqCst), 1);
    let refused = host.call(7, "plugin.health_check", json!({})).await;
    assert_eq!(code(&refused), -32003, "{refused}");
    host.send(json!({"jsonrpc": "2.0", "method": "exit"}));
    let seen = host.seen.clone();
    assert_eq!(host.exit_code().await, 0);
    assert_eq!(
        seen.disconnects.load(Ordering::SeqCst),
        1,
        "disconnected once"
    );
}

#[tokio::test]
async fn the_end_of_stdin_without_shutdown_disconnects_and_exits_1() {
    let mut host = Host::start(8);
    host.ready().await;
    host.close_stdin();
    let seen = host.seen.clone();
    assert_eq!(host.exit_code().await, 1);
    assert_eq!(seen.disconnects.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn exit_without_shutdown_is_status_1() {
    let host = Host::start(8);
    host.send(json!({"jsonrpc": "2.0", "method": "exit"}));
    assert_eq!(host.exit_code().await, 1);
}

#[tokio::test]
async fn connect_hands_over_the_secrets() {
    let host = Host::start(8);
    host.call(
        1,
        "initialize",
        json!({"protocol_versions": ["1.0"], "host": {"name": "t", "version": "0"}}),
    )
    .await;
    host.call(
        2,
        "plugin.connect",
        json!({"config": {}, "secrets": {"PROBE_TEST_TOKEN": "t-123"}}),
    )
    .await;
    assert_eq!(host.seen.secret.lock().unwrap().as_deref(), Some("t-123"));
    let twice = host.call(3, "plugin.connect", json!({"config": {}})).await;
    assert_eq!(code(&twice), -32600, "{twice}");
    host.call(4, "plugin.disconnect", json!({})).await;
    assert_eq!(host.seen.connects.load(Ordering::SeqCst), 1);
    assert_eq!(host.seen.disconnects.load(Ordering::SeqCst), 1);
}
