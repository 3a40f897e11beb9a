//! The durable run store: runs, steps, events, costs and idempotency keys in
//! SQLite (one file, WAL).
//!
//! Every write is its own transaction and is committed before the engine
//! moves on, so a run killed at any moment can be resumed from what is here.
//! A run is executed by one process at a time: the process holds a lease
//! (owner and expiry) that it renews while it works; a run whose lease
//! expired while it was `running` was interrupted.

use std::borrow::Cow;
use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;
use sqlx::Row;

use self::changes::Changes;
use sqlx::migrate::{Migration, MigrationType, Migrator};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteConnection, SqliteJournalMode, SqlitePool, SqlitePoolOptions,
    SqliteRow, SqliteSynchronous,
};

mod changes;

/// A failure of the store itself (the disk, the database file).
#[derive(Debug)]
pub struct StoreError(String);

impl std::fmt::Display for StoreError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "run store: {}", self.0)
    }
}

impl std::error::Error for StoreError {}

impl From<sqlx::Error> for StoreError {
    fn from(err: sqlx::Error) -> Self {
        StoreError(err.to_string())
    }
}

impl From<sqlx::migrate::MigrateError> for StoreError {
    fn from(err: sqlx::migrate::MigrateError) -> Self {
        StoreError(err.to_string())
    }
}

/// The result type of store calls.
pub type StoreResult<T> = Result<T, StoreError>;

/// Where a run is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RunStatus {
    /// A process is working on it (or was, until it died: see
    /// [`RunSummary::interrupted`]).
    Running,
    /// Every step finished.
    Succeeded,
    /// A step failed; it can be resumed.
    Failed,
    /// Cancelled by a user; it can be resumed.
    Cancelled,
    /// A step failed and the completed steps were rolled back.
    RolledBack,
}

impl RunStatus {
    /// The name stored and shown.
    pub fn as_str(self) -> &'static str {
        match self {
            RunStatus::Running => "running",
            RunStatus::Succeeded => "succeeded",
            RunStatus::Failed => "failed",
            RunStatus::Cancelled => "cancelled",
            RunStatus::RolledBack => "rolled_back",
        }
    }
}

impl FromStr for RunStatus {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s {
            "running" => RunStatus::Running,
            "succeeded" => RunStatus::Succeeded,
            "failed" => RunStatus::Failed,
            "cancelled" => RunStatus::Cancelled,
            "rolled_back" => RunStatus::RolledBack,
            other => {
                return Err(format!(
                    "`{other}` is not a run status; expected running, succeeded, failed, cancelled, rolled_back or interrupted"
                ));
            }
        })
    }
}

/// Where a step is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StepStatus {
    /// Started and not finished (or its process died).
    Running,
    /// Finished; its outputs are recorded.
    Succeeded,
    /// Failed; its error is recorded.
    Failed,
    /// Its condition was false.
    Skipped,
    /// Undone by its rollback action.
    RolledBack,
}

impl StepStatus {
    /// The name stored and shown.
    pub fn as_str(self) -> &'static str {
        match self {
            StepStatus::Running => "running",
            StepStatus::Succeeded => "succeeded",
            StepStatus::Failed => "failed",
            StepStatus::Skipped => "skipped",
            StepStatus::RolledBack => "rolled_back",
        }
    }

    fn parse(s: &str) -> StepStatus {
        match s {
            "succeeded" => StepStatus::Succeeded,
            "failed" => StepStatus::Failed,
            "skipped" => StepStatus::Skipped,
            "rolled_back" => StepStatus::RolledBack,
            _ => StepStatus::Running,
        }
    }
}

/// A run to create.
#[derive(Debug, Clone)]
pub struct NewRun {
    /// Its identifier.
    pub id: String,
    /// The workflow's name.
    pub workflow: String,
    /// Where the workflow came from.
    pub workflow_origin: String,
    /// The workflow's text.
    pub workflow_source: String,
    /// The task it works on.
    pub task_id: Option<String>,
    /// Its variables.
    pub vars: Value,
    /// Its workspace folder.
    pub workspace: String,
}

/// A run as listed.
#[derive(Debug, Clone, Serialize)]
pub struct RunSummary {
    /// Its identifier.
    pub id: String,
    /// The workflow's name.
    pub workflow: String,
    /// Where the workflow came from.
    pub workflow_origin: String,
    /// The task it works on.
    pub task_id: Option<String>,
    /// Its stored status.
    pub status: RunStatus,
    /// Whether it is `running` but no live process holds it: it was killed
    /// and can be resumed.
    pub interrupted: bool,
    /// Why it failed.
    pub error: Option<String>,
    /// Its workspace.
    pub workspace: String,
    /// When it started.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
    /// When it finished.
    pub finished_at: Option<DateTime<Utc>>,
    /// What it cost so far, in US dollars.
    pub cost_usd: f64,
    /// Tokens it spent so far.
    pub tokens: u64,
}

impl RunSummary {
    /// The status to show: `interrupted` for a run whose process died.
    pub fn display_status(&self) -> &'static str {
        if self.interrupted {
            "interrupted"
        } else {
            self.status.as_str()
        }
    }
}

/// One step of a run.
#[derive(Debug, Clone, Serialize)]
pub struct StepRecord {
    /// Its position in the workflow.
    pub position: i64,
    /// Its name.
    pub name: String,
    /// Its status.
    pub status: StepStatus,
    /// How many times it was tried.
    pub attempt: i64,
    /// Its inputs, after `${ }` evaluation.
    pub inputs: Option<Value>,
    /// Its output.
    pub outputs: Option<Value>,
    /// Why it failed.
    pub error: Option<String>,
    /// When it started.
    pub started_at: DateTime<Utc>,
    /// When it finished.
    pub finished_at: Option<DateTime<Utc>>,
    /// What it cost, in US dollars.
    pub cost_usd: f64,
    /// Tokens it spent.
    pub tokens: u64,
}

/// A recorded event.
#[derive(Debug, Clone, Serialize)]
pub struct EventRecord {
    /// Its sequence number.
    pub id: i64,
    /// The step it is about.
    pub step: Option<String>,
    /// What happened (`step_started`, `step_retried`, ...).
    pub kind: String,
    /// Details.
    pub data: Value,
    /// When.
    pub at: DateTime<Utc>,
}

/// A run with its steps and events.
#[derive(Debug, Clone, Serialize)]
pub struct RunDetail {
    /// The run.
    #[serde(flatten)]
    pub run: RunSummary,
    /// Its variables.
    pub vars: Value,
    /// Its steps, in workflow order.
    pub steps: Vec<StepRecord>,
    /// Its events, in order.
    pub events: Vec<EventRecord>,
}

/// One AI call's spend.
#[derive(Debug, Clone)]
pub struct CostEntry {
    /// The step.
    pub step: String,
    /// The workflow.
    pub workflow: String,
    /// The provider plugin.
    pub provider: String,
    /// The model.
    pub model: String,
    /// Tokens read.
    pub input_tokens: u64,
    /// Tokens written.
    pub output_tokens: u64,
    /// US dollars.
    pub cost_usd: f64,
}

/// Spend grouped for `aido costs`.
#[derive(Debug, Clone, Serialize)]
pub struct CostRow {
    /// `YYYY-MM`.
    pub month: String,
    /// The workflow.
    pub workflow: String,
    /// The provider.
    pub provider: String,
    /// Calls.
    pub calls: i64,
    /// Tokens read.
    pub input_tokens: i64,
    /// Tokens written.
    pub output_tokens: i64,
    /// US dollars.
    pub cost_usd: f64,
}

/// A step's start, made when the step starts and written either on its own
/// (a step that takes a while) or together with the step's end (a quick
/// one).
#[derive(Debug)]
pub struct StepStart {
    row: changes::StepStarted,
    event: Option<(String, String)>,
}

impl StepStart {
    /// The changes recording the start alone.
    fn into_changes(self) -> Changes {
        let mut changes = Changes::default();
        if let Some((kind, data)) = self.event {
            changes.event(start_event(&self.row, kind, data));
        }
        changes.start(self.row);
        changes
    }
}

/// The event of a step's start.
fn start_event(row: &changes::StepStarted, kind: String, data: String) -> changes::Event {
    changes::Event {
        run_id: row.run_id.clone(),
        step: Some(row.name.clone()),
        kind,
        data,
        at: row.started_at.clone(),
    }
}

/// The run store.
#[derive(Debug, Clone)]
pub struct RunStore {
    pool: SqlitePool,
    writer: tokio::sync::mpsc::UnboundedSender<PendingWrite>,
    /// Held by every write of this process. SQLite allows one writer at a
    /// time and makes a second one wait by sleeping (1 ms, then longer);
    /// queueing here instead hands the database over at once.
    write_gate: WriteGate,
}

/// See [`RunStore::write_gate`](RunStore).
type WriteGate = std::sync::Arc<tokio::sync::Mutex<()>>;

/// A state change waiting for the writer.
struct PendingWrite {
    /// The rows to write.
    changes: Changes,
    /// Told when the change is committed (or failed).
    done: tokio::sync::oneshot::Sender<StoreResult<()>>,
}

/// The group-commit writer: state changes that arrive while one is being
/// written are committed together, in one transaction and one round trip to
/// SQLite, and each waiter is told only after the commit. Concurrent runs
/// share the cost of the round trip; a single run loses nothing.
fn spawn_writer(
    mut connection: WriterConnection,
    write_gate: WriteGate,
    checkpoints: Option<tokio::sync::mpsc::Sender<()>>,
) -> tokio::sync::mpsc::UnboundedSender<PendingWrite> {
    let (sender, mut receiver) = tokio::sync::mpsc::unbounded_channel::<PendingWrite>();
    tokio::spawn(async move {
        let mut since_checkpoint = 0usize;
        while let Some(first) = receiver.recv().await {
            let mut batch = vec![first];
            while batch.len() < 256 {
                match receiver.try_recv() {
                    Ok(next) => batch.push(next),
                    Err(_) => break,
                }
            }
            since_checkpoint += batch.len();
            if since_checkpoint >= CHECKPOINT_EVERY {
                if let Some(checkpoints) = &checkpoints {
                    // A full queue means one is already due: nothing lost.
                    let _ = checkpoints.try_send(());
                }
                since_checkpoint = 0;
            }
            let gate = write_gate.lock().await;
            let all: Vec<&Changes> = batch.iter().map(|write| &write.changes).collect();
            let result = commit(&mut connection, &all).await;
            drop(all);
            match result {
                Ok(()) => {
                    for write in batch {
                        let _ = write.done.send(Ok(()));
                    }
                }
                // Nothing of the batch was committed; write each alone so
                // that only the bad one fails (and a detached write's
                // failure is at least logged).
                Err(_) if batch.len() > 1 => {
                    for write in batch {
                        let result = commit(&mut connection, &[&write.changes]).await;
                        if let Err(Err(err)) = write.done.send(result) {
                            tracing::warn!(%err, "a run store write failed");
                        }
                    }
                }
                Err(err) => {
                    for write in batch {
                        let _ = write.done.send(Err(StoreError(err.0.clone())));
                    }
                }
            }
            drop(gate);
        }
    });
    sender
}

/// Transactions between two background checkpoints. Each step's commit
/// adds a handful of pages to the write-ahead log; this keeps it at a few
/// megabytes, near SQLite's own default of 1,000 pages.
const CHECKPOINT_EVERY: usize = 200;

/// The background checkpointer: copies the write-ahead log into the
/// database when the writer asks, off the path of any commit. SQLite's
/// automatic checkpoint would run inside the commit that crosses its
/// threshold and make that step wait for two fsyncs; a passive checkpoint
/// on another connection lets commits go on meanwhile. It ends with the
/// writer.
fn spawn_checkpointer(pool: SqlitePool) -> tokio::sync::mpsc::Sender<()> {
    let (sender, mut receiver) = tokio::sync::mpsc::channel::<()>(1);
    tokio::spawn(async move {
        while receiver.recv().await.is_some() {
            if let Err(err) = sqlx::query("PRAGMA wal_checkpoint(PASSIVE)")
                .execute(&pool)
                .await
            {
                tracing::warn!(%err, "a run store checkpoint failed; the next one will retry");
            }
        }
    });
    sender
}

/// Where the writer commits.
enum WriterConnection {
    /// Its own connection, kept for the store's life: its page cache stays
    /// warm, where a pooled connection would find the database changed by
    /// the others and read its pages again.
    Own(SqliteConnection),
    /// A connection of the pool per commit: for a store in memory, whose
    /// one connection is the database.
    Pool(SqlitePool),
}

/// How long a commit is waited for without letting the runtime's thread
/// sleep. SQLite answers a step's commit in well under this, and a thread
/// that slept must be woken, which costs tens of microseconds on a virtual
/// machine: a large part of a step. Other tasks run in between; only a
/// thread with nothing else to do spins, and at most this long.
const STAY_AWAKE: Duration = Duration::from_micros(300);

/// Awaits `future`, polling it between yields to the runtime for up to
/// [`STAY_AWAKE`] before waiting for its wake-up as usual.
async fn stay_awake<F: std::future::Future>(future: F) -> F::Output {
    let mut future = std::pin::pin!(future);
    let until = std::time::Instant::now() + STAY_AWAKE;
    loop {
        let polled =
            std::future::poll_fn(|cx| std::task::Poll::Ready(future.as_mut().poll(cx))).await;
        match polled {
            std::task::Poll::Ready(output) => return output,
            std::task::Poll::Pending if std::time::Instant::now() < until => {
                tokio::task::yield_now().await;
            }
            std::task::Poll::Pending => return future.await,
        }
    }
}

/// Commits `changes` in one transaction, rolling back on failure.
async fn commit(connection: &mut WriterConnection, changes: &[&Changes]) -> StoreResult<()> {
    let [
        starts,
        completions,
        finishes,
        events,
        keys,
        finished_runs,
        created_runs,
    ] = Changes::parameters(changes)
        .map_err(|err| StoreError(format!("cannot encode a state change: {err}")))?;
    let mut pooled;
    let connection: &mut SqliteConnection = match connection {
        WriterConnection::Own(own) => own,
        WriterConnection::Pool(pool) => {
            pooled = pool.acquire().await?;
            &mut pooled
        }
    };
    let result = stay_awake(
        sqlx::query(Changes::query(changes))
            .bind(starts)
            .bind(completions)
            .bind(finishes)
            .bind(events)
            .bind(keys)
            .bind(finished_runs)
            .bind(created_runs)
            .execute(&mut *connection),
    )
    .await;
    if let Err(err) = result {
        // The statements stop at the failing one, inside the transaction.
        let _ = sqlx::query("ROLLBACK").execute(&mut *connection).await;
        return Err(err.into());
    }
    Ok(())
}

/// The store's schema, one migration per version; a store written by an
/// older aido is brought up to date when it is opened.
fn migrator() -> Migrator {
    let migration = |version, description, sql: &'static str| {
        Migration::new(
            version,
            Cow::Borrowed(description),
            MigrationType::Simple,
            sqlx::SqlSafeStr::into_sql_str(sql),
            false,
        )
    };
    Migrator::with_migrations(vec![
        migration(
            1,
            "runs, steps, events, costs, idempotency keys",
            include_str!("0001_init.sql"),
        ),
        migration(
            2,
            "fewer pages written per step",
            include_str!("0002_fewer_pages.sql"),
        ),
    ])
}

/// A lease owner's name: host, process and a random part, so that a
/// process can tell a dead owner on its own host at once instead of waiting
/// for the lease to expire.
pub fn lease_owner_name() -> String {
    format!(
        "{}:{}:{:08x}",
        host_name(),
        std::process::id(),
        rand::random::<u32>()
    )
}

fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_else(|| "localhost".to_owned())
}

/// Whether `owner` names a process on this host that no longer exists.
/// Only decidable where `/proc` exists; elsewhere the lease's expiry decides.
fn owner_is_dead(owner: &str) -> bool {
    let mut parts = owner.split(':');
    let (Some(host), Some(pid)) = (parts.next(), parts.next()) else {
        return false;
    };
    if host != host_name() || !Path::new("/proc/self").exists() {
        return false;
    }
    pid.parse::<u32>()
        .is_ok_and(|pid| !Path::new(&format!("/proc/{pid}")).exists())
}

fn now() -> String {
    Utc::now().to_rfc3339()
}

fn now_millis() -> i64 {
    Utc::now().timestamp_millis()
}

fn time(row: &SqliteRow, column: &str) -> StoreResult<DateTime<Utc>> {
    let text: String = row.try_get(column)?;
    DateTime::parse_from_rfc3339(&text)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|err| StoreError(format!("bad time in `{column}`: {err}")))
}

fn optional_time(row: &SqliteRow, column: &str) -> StoreResult<Option<DateTime<Utc>>> {
    let text: Option<String> = row.try_get(column)?;
    text.map(|t| {
        DateTime::parse_from_rfc3339(&t)
            .map(|t| t.with_timezone(&Utc))
            .map_err(|err| StoreError(format!("bad time in `{column}`: {err}")))
    })
    .transpose()
}

fn json(row: &SqliteRow, column: &str) -> StoreResult<Option<Value>> {
    let text: Option<String> = row.try_get(column)?;
    text.map(|t| {
        serde_json::from_str(&t).map_err(|err| StoreError(format!("bad JSON in `{column}`: {err}")))
    })
    .transpose()
}

const RUN_COLUMNS: &str = "r.id, r.workflow, r.workflow_origin, r.task_id, r.status, r.error, r.workspace, r.created_at, r.updated_at, r.finished_at, r.lease_owner, r.lease_expires_at, \
    COALESCE((SELECT SUM(cost_usd) FROM costs c WHERE c.run_id = r.id), 0.0) AS cost_usd, \
    COALESCE((SELECT SUM(input_tokens + output_tokens) FROM costs c WHERE c.run_id = r.id), 0) AS tokens";

impl RunStore {
    /// Opens (creating if needed) the store at `path`, and brings its schema
    /// up to date.
    pub async fn open(path: &Path) -> StoreResult<RunStore> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)
                .map_err(|err| StoreError(format!("cannot create {}: {err}", dir.display())))?;
        }
        let options = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            // WAL with NORMAL is durable across process crashes (the case we
            // resume from); FULL adds an fsync per commit for power loss.
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(Duration::from_secs(10))
            .foreign_keys(true)
            // Checkpoints (which fsync) run in the background instead of
            // inside whichever commit crosses the threshold; see
            // `spawn_checkpointer`.
            .pragma("wal_autocheckpoint", "0");
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            // The pool's connections are local and long-lived: a ping
            // before every use would cost a round trip per statement.
            .test_before_acquire(false)
            .connect_with(options.clone())
            .await?;
        migrator().run(&pool).await?;
        let own = sqlx::ConnectOptions::connect(&options).await?;
        let checkpoints = spawn_checkpointer(pool.clone());
        let write_gate = WriteGate::default();
        let writer = spawn_writer(
            WriterConnection::Own(own),
            write_gate.clone(),
            Some(checkpoints),
        );
        Ok(RunStore {
            pool,
            writer,
            write_gate,
        })
    }

    /// A store in memory, for tests and benchmarks.
    pub async fn in_memory() -> StoreResult<RunStore> {
        let options = SqliteConnectOptions::from_str("sqlite::memory:")?.foreign_keys(true);
        // One connection: each in-memory connection is its own database.
        let pool = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(options)
            .await?;
        migrator().run(&pool).await?;
        let write_gate = WriteGate::default();
        let writer = spawn_writer(
            WriterConnection::Pool(pool.clone()),
            write_gate.clone(),
            None,
        );
        Ok(RunStore {
            pool,
            writer,
            write_gate,
        })
    }

    /// Records a new run, held by `owner` for `lease`.
    pub async fn create_run(&self, run: &NewRun, owner: &str, lease: Duration) -> StoreResult<()> {
        let mut changes = Changes::default();
        changes.create_run(changes::RunCreated {
            id: run.id.clone(),
            workflow: run.workflow.clone(),
            workflow_origin: run.workflow_origin.clone(),
            workflow_source: run.workflow_source.clone(),
            task_id: run.task_id.clone(),
            vars: run.vars.to_string(),
            workspace: run.workspace.clone(),
            at: now(),
            lease_owner: owner.to_owned(),
            lease_expires_at: now_millis() + lease.as_millis() as i64,
        });
        self.write(changes).await
    }

    /// Takes the lease of a run for `owner`, if no live process holds it (a
    /// lease expired, or held by a process of this host that died).
    /// Returns whether it was taken.
    pub async fn acquire_lease(
        &self,
        run_id: &str,
        owner: &str,
        lease: Duration,
    ) -> StoreResult<bool> {
        let _gate = self.write_gate.lock().await;
        let current: Option<Option<String>> =
            sqlx::query_scalar("SELECT lease_owner FROM runs WHERE id = ?")
                .bind(run_id)
                .fetch_optional(&self.pool)
                .await?;
        let dead_owner = current.flatten().filter(|holder| owner_is_dead(holder));
        let result = sqlx::query(
            "UPDATE runs SET lease_owner = ?, lease_expires_at = ?, status = 'running', cancel_requested = 0, error = NULL, finished_at = NULL, updated_at = ? \
             WHERE id = ? AND (lease_owner IS NULL OR lease_owner = ? OR lease_owner = ? OR lease_expires_at < ?)",
        )
        .bind(owner)
        .bind(now_millis() + lease.as_millis() as i64)
        .bind(now())
        .bind(run_id)
        .bind(owner)
        .bind(dead_owner.unwrap_or_default())
        .bind(now_millis())
        .execute(&self.pool)
        .await?;
        Ok(result.rows_affected() == 1)
    }

    /// Extends the lease; returns `(still held, cancel requested)`.
    pub async fn renew_lease(
        &self,
        run_id: &str,
        owner: &str,
        lease: Duration,
    ) -> StoreResult<(bool, bool)> {
        let _gate = self.write_gate.lock().await;
        let result =
            sqlx::query("UPDATE runs SET lease_expires_at = ? WHERE id = ? AND lease_owner = ?")
                .bind(now_millis() + lease.as_millis() as i64)
                .bind(run_id)
                .bind(owner)
                .execute(&self.pool)
                .await?;
        let cancel: Option<i64> =
            sqlx::query_scalar("SELECT cancel_requested FROM runs WHERE id = ?")
                .bind(run_id)
                .fetch_optional(&self.pool)
                .await?;
        Ok((result.rows_affected() == 1, cancel.unwrap_or(0) != 0))
    }

    /// Gives up the lease of a run this process can no longer work on (it
    /// was interrupted): the run shows as interrupted at once and can be
    /// resumed without waiting for the lease to expire.
    pub async fn release_lease(&self, run_id: &str, owner: &str) -> StoreResult<()> {
        let _gate = self.write_gate.lock().await;
        sqlx::query("UPDATE runs SET lease_owner = NULL, lease_expires_at = NULL, updated_at = ? WHERE id = ? AND lease_owner = ?")
            .bind(now())
            .bind(run_id)
            .bind(owner)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Marks a run finished with `status` and releases its lease.
    pub async fn finish_run(
        &self,
        run_id: &str,
        status: RunStatus,
        error: Option<&str>,
    ) -> StoreResult<()> {
        self.finish_run_with_event(run_id, status, error, None)
            .await
    }

    /// Marks a run finished, as [`finish_run`](Self::finish_run), and
    /// records `event` (kind, data) with it in the same transaction.
    pub async fn finish_run_with_event(
        &self,
        run_id: &str,
        status: RunStatus,
        error: Option<&str>,
        event: Option<(&str, &Value)>,
    ) -> StoreResult<()> {
        let at = now();
        let mut changes = Changes::default();
        if let Some((kind, data)) = event {
            changes.event(changes::Event {
                run_id: run_id.to_owned(),
                step: None,
                kind: kind.to_owned(),
                data: data.to_string(),
                at: at.clone(),
            });
        }
        changes.finish_run(changes::RunFinished {
            id: run_id.to_owned(),
            status: status.as_str(),
            error: error.map(str::to_owned),
            at,
        });
        self.write(changes).await
    }

    /// Asks for a run to stop. A run no live process holds is cancelled at
    /// once; otherwise its process stops it at its next lease renewal.
    /// Returns the run's status afterwards.
    pub async fn request_cancel(&self, run_id: &str) -> StoreResult<Option<&'static str>> {
        let Some(run) = self.run(run_id).await? else {
            return Ok(None);
        };
        match run.status {
            RunStatus::Running if !run.interrupted => {
                let _gate = self.write_gate.lock().await;
                sqlx::query("UPDATE runs SET cancel_requested = 1, updated_at = ? WHERE id = ?")
                    .bind(now())
                    .bind(run_id)
                    .execute(&self.pool)
                    .await?;
                Ok(Some("cancelling"))
            }
            RunStatus::Running | RunStatus::Failed => {
                self.finish_run(run_id, RunStatus::Cancelled, Some("cancelled by the user"))
                    .await?;
                Ok(Some("cancelled"))
            }
            other => Ok(Some(other.as_str())),
        }
    }

    /// Records that a step started (attempt `attempt`), replacing an earlier
    /// attempt's record, and the event saying so, in one transaction.
    pub async fn step_started(
        &self,
        run_id: &str,
        position: usize,
        name: &str,
        attempt: u32,
        inputs: Option<&Value>,
        event: Option<(&str, &Value)>,
    ) -> StoreResult<()> {
        let start = self.prepare_step_started(run_id, position, name, attempt, inputs, event);
        self.write(start.into_changes()).await
    }

    /// A step's start, not yet written: either sent on its own with
    /// [`write_detached`](Self::write_detached) or committed with the step's
    /// end by [`step_finished`](Self::step_finished).
    pub fn prepare_step_started(
        &self,
        run_id: &str,
        position: usize,
        name: &str,
        attempt: u32,
        inputs: Option<&Value>,
        event: Option<(&str, &Value)>,
    ) -> StepStart {
        StepStart {
            row: changes::StepStarted {
                run_id: run_id.to_owned(),
                position: position as i64,
                name: name.to_owned(),
                attempt: i64::from(attempt),
                inputs: inputs.map(Value::to_string),
                started_at: now(),
            },
            event: event.map(|(kind, data)| (kind.to_owned(), data.to_string())),
        }
    }

    /// Sends a step's start to the writer without waiting for the commit:
    /// it is committed no later than anything this run writes after it. If
    /// the process dies before, the step simply shows as not started, and a
    /// resume runs it (with the same idempotency key) as it would anyway.
    pub fn write_detached(&self, start: StepStart) {
        let (done, _ignored) = tokio::sync::oneshot::channel();
        if self
            .writer
            .send(PendingWrite {
                changes: start.into_changes(),
                done,
            })
            .is_err()
        {
            tracing::warn!("the store's writer has stopped; a step's start is not recorded");
        }
    }

    /// Records a step's end: its status, output or error, spend, and event.
    /// When the step was a side-effecting action that succeeded, its
    /// idempotency key and result are recorded too, all in one transaction.
    #[allow(clippy::too_many_arguments)]
    pub async fn step_finished(
        &self,
        run_id: &str,
        name: &str,
        status: StepStatus,
        outputs: Option<&Value>,
        error: Option<&str>,
        spend: (f64, u64),
        idempotency: Option<(&str, &str)>,
        event: Option<(&str, &Value)>,
        start: Option<StepStart>,
    ) -> StoreResult<()> {
        let idempotency = idempotency.filter(|_| status == StepStatus::Succeeded);
        let outputs = outputs.map(Value::to_string);
        let at = now();
        let end = changes::StepEnd {
            status: status.as_str(),
            outputs: outputs.clone(),
            error: error.map(str::to_owned),
            finished_at: at.clone(),
            cost_usd: spend.0,
            tokens: i64::try_from(spend.1).unwrap_or(i64::MAX),
        };
        let mut changes = Changes::default();
        match start {
            // Started and ended in one: one row written once.
            Some(StepStart { row, event }) => {
                if let Some((kind, data)) = event {
                    changes.event(start_event(&row, kind, data));
                }
                changes.complete(row, end);
            }
            None => changes.finish(run_id, name, end),
        }
        if let Some((kind, data)) = event {
            changes.event(changes::Event {
                run_id: run_id.to_owned(),
                step: Some(name.to_owned()),
                kind: kind.to_owned(),
                data: data.to_string(),
                at: at.clone(),
            });
        }
        if let Some((key, action)) = idempotency {
            changes.key(changes::IdempotencyKey {
                key: key.to_owned(),
                run_id: run_id.to_owned(),
                step: name.to_owned(),
                action: action.to_owned(),
                result: outputs.unwrap_or_else(|| "null".to_owned()),
                created_at: at,
            });
        }
        self.write(changes).await
    }

    /// Commits a state change through the group-commit writer and waits
    /// for the commit.
    async fn write(&self, changes: Changes) -> StoreResult<()> {
        let (done, committed) = tokio::sync::oneshot::channel();
        self.writer
            .send(PendingWrite { changes, done })
            .map_err(|_| StoreError("the store's writer has stopped".to_owned()))?;
        committed
            .await
            .map_err(|_| StoreError("the store's writer has stopped".to_owned()))?
    }

    /// Records a step that was skipped (its condition was false).
    pub async fn step_skipped(&self, run_id: &str, position: usize, name: &str) -> StoreResult<()> {
        let _gate = self.write_gate.lock().await;
        let at = now();
        sqlx::query(
            "INSERT INTO steps (run_id, position, name, status, attempt, started_at, finished_at) VALUES (?, ?, ?, 'skipped', 0, ?, ?) \
             ON CONFLICT (run_id, name) DO UPDATE SET status = 'skipped', finished_at = excluded.finished_at",
        )
        .bind(run_id)
        .bind(position as i64)
        .bind(name)
        .bind(&at)
        .bind(&at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Marks a step rolled back and forgets its idempotency key: its effect
    /// was undone, so a resumed run must make it again.
    pub async fn step_rolled_back(&self, run_id: &str, name: &str) -> StoreResult<()> {
        let _gate = self.write_gate.lock().await;
        let mut tx = self.pool.begin().await?;
        sqlx::query("UPDATE steps SET status = 'rolled_back' WHERE run_id = ? AND name = ?")
            .bind(run_id)
            .bind(name)
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM idempotency_keys WHERE run_id = ? AND step = ?")
            .bind(run_id)
            .bind(name)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The result recorded under an idempotency key, if any.
    pub async fn idempotent_result(&self, key: &str) -> StoreResult<Option<Value>> {
        let text: Option<String> =
            sqlx::query_scalar("SELECT result FROM idempotency_keys WHERE key = ?")
                .bind(key)
                .fetch_optional(&self.pool)
                .await?;
        text.map(|t| {
            serde_json::from_str(&t)
                .map_err(|err| StoreError(format!("bad JSON for key {key}: {err}")))
        })
        .transpose()
    }

    /// Appends an event.
    pub async fn record_event(
        &self,
        run_id: &str,
        step: Option<&str>,
        kind: &str,
        data: &Value,
    ) -> StoreResult<()> {
        let mut changes = Changes::default();
        changes.event(changes::Event {
            run_id: run_id.to_owned(),
            step: step.map(str::to_owned),
            kind: kind.to_owned(),
            data: data.to_string(),
            at: now(),
        });
        self.write(changes).await
    }

    /// Records one AI call's spend.
    pub async fn record_cost(&self, run_id: &str, entry: &CostEntry) -> StoreResult<()> {
        let _gate = self.write_gate.lock().await;
        let at = Utc::now();
        sqlx::query(
            "INSERT INTO costs (run_id, step, workflow, provider, model, input_tokens, output_tokens, cost_usd, month, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(run_id)
        .bind(&entry.step)
        .bind(&entry.workflow)
        .bind(&entry.provider)
        .bind(&entry.model)
        .bind(entry.input_tokens as i64)
        .bind(entry.output_tokens as i64)
        .bind(entry.cost_usd)
        .bind(at.format("%Y-%m").to_string())
        .bind(at.to_rfc3339())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// What a run has spent: US dollars and tokens.
    pub async fn run_spend(&self, run_id: &str) -> StoreResult<(f64, u64)> {
        let row = sqlx::query("SELECT COALESCE(SUM(cost_usd), 0.0) AS cost, COALESCE(SUM(input_tokens + output_tokens), 0) AS tokens FROM costs WHERE run_id = ?")
            .bind(run_id)
            .fetch_one(&self.pool)
            .await?;
        let tokens: i64 = row.try_get("tokens")?;
        Ok((row.try_get("cost")?, tokens.max(0) as u64))
    }

    /// What all runs spent in `month` (`YYYY-MM`), in US dollars.
    pub async fn month_spend(&self, month: &str) -> StoreResult<f64> {
        Ok(
            sqlx::query_scalar("SELECT COALESCE(SUM(cost_usd), 0.0) FROM costs WHERE month = ?")
                .bind(month)
                .fetch_one(&self.pool)
                .await?,
        )
    }

    /// Spend by month, workflow and provider; one month or all.
    pub async fn cost_report(&self, month: Option<&str>) -> StoreResult<Vec<CostRow>> {
        let rows = sqlx::query(
            "SELECT month, workflow, provider, COUNT(*) AS calls, SUM(input_tokens) AS input_tokens, SUM(output_tokens) AS output_tokens, SUM(cost_usd) AS cost_usd \
             FROM costs WHERE (?1 IS NULL OR month = ?1) GROUP BY month, workflow, provider ORDER BY month, workflow, provider",
        )
        .bind(month)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(CostRow {
                    month: row.try_get("month")?,
                    workflow: row.try_get("workflow")?,
                    provider: row.try_get("provider")?,
                    calls: row.try_get("calls")?,
                    input_tokens: row.try_get("input_tokens")?,
                    output_tokens: row.try_get("output_tokens")?,
                    cost_usd: row.try_get("cost_usd")?,
                })
            })
            .collect()
    }

    /// Totals for metrics: (metric, labels, value) for runs by workflow and
    /// status, steps by status, and AI spend and tokens by provider and
    /// model.
    pub async fn totals(&self) -> StoreResult<Vec<(String, Vec<(String, String)>, f64)>> {
        let mut out = Vec::new();
        let runs = sqlx::query(
            "SELECT workflow, status, COUNT(*) AS n FROM runs GROUP BY workflow, status",
        )
        .fetch_all(&self.pool)
        .await?;
        for row in &runs {
            let n: i64 = row.try_get("n")?;
            out.push((
                "aido_runs_total".to_owned(),
                vec![
                    ("workflow".to_owned(), row.try_get("workflow")?),
                    ("status".to_owned(), row.try_get("status")?),
                ],
                n as f64,
            ));
        }
        let steps = sqlx::query("SELECT r.workflow AS workflow, s.status AS status, COUNT(*) AS n FROM steps s JOIN runs r ON r.id = s.run_id GROUP BY r.workflow, s.status")
            .fetch_all(&self.pool)
            .await?;
        for row in &steps {
            let n: i64 = row.try_get("n")?;
            out.push((
                "aido_steps_total".to_owned(),
                vec![
                    ("workflow".to_owned(), row.try_get("workflow")?),
                    ("status".to_owned(), row.try_get("status")?),
                ],
                n as f64,
            ));
        }
        let costs = sqlx::query(
            "SELECT provider, model, SUM(cost_usd) AS cost, SUM(input_tokens) AS input, SUM(output_tokens) AS output FROM costs GROUP BY provider, model",
        )
        .fetch_all(&self.pool)
        .await?;
        for row in &costs {
            let labels = vec![
                ("provider".to_owned(), row.try_get("provider")?),
                ("model".to_owned(), row.try_get("model")?),
            ];
            let input: i64 = row.try_get("input")?;
            let output: i64 = row.try_get("output")?;
            out.push((
                "aido_ai_cost_usd_total".to_owned(),
                labels.clone(),
                row.try_get("cost")?,
            ));
            let mut with_direction = labels.clone();
            with_direction.push(("direction".to_owned(), "input".to_owned()));
            out.push((
                "aido_ai_tokens_total".to_owned(),
                with_direction,
                input as f64,
            ));
            let mut with_direction = labels;
            with_direction.push(("direction".to_owned(), "output".to_owned()));
            out.push((
                "aido_ai_tokens_total".to_owned(),
                with_direction,
                output as f64,
            ));
        }
        Ok(out)
    }

    fn summary(row: &SqliteRow) -> StoreResult<RunSummary> {
        let status: String = row.try_get("status")?;
        let status = RunStatus::from_str(&status).map_err(StoreError)?;
        let expires: Option<i64> = row.try_get("lease_expires_at")?;
        let holder: Option<String> = row.try_get("lease_owner")?;
        let interrupted = status == RunStatus::Running
            && (expires.is_none_or(|e| e < now_millis())
                || holder.as_deref().is_some_and(owner_is_dead));
        let tokens: i64 = row.try_get("tokens")?;
        Ok(RunSummary {
            id: row.try_get("id")?,
            workflow: row.try_get("workflow")?,
            workflow_origin: row.try_get("workflow_origin")?,
            task_id: row.try_get("task_id")?,
            status,
            interrupted,
            error: row.try_get("error")?,
            workspace: row.try_get("workspace")?,
            created_at: time(row, "created_at")?,
            updated_at: time(row, "updated_at")?,
            finished_at: optional_time(row, "finished_at")?,
            cost_usd: row.try_get("cost_usd")?,
            tokens: tokens.max(0) as u64,
        })
    }

    /// One run's summary.
    pub async fn run(&self, run_id: &str) -> StoreResult<Option<RunSummary>> {
        let sql = sqlx::AssertSqlSafe(format!("SELECT {RUN_COLUMNS} FROM runs r WHERE r.id = ?"));
        let row = sqlx::query(sql)
            .bind(run_id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(Self::summary).transpose()
    }

    /// Runs, newest first, optionally only those with a status
    /// (`interrupted` selects running runs whose process died).
    pub async fn list_runs(
        &self,
        status: Option<&str>,
        limit: u32,
    ) -> StoreResult<Vec<RunSummary>> {
        let sql = sqlx::AssertSqlSafe(format!(
            "SELECT {RUN_COLUMNS} FROM runs r ORDER BY r.created_at DESC LIMIT ?"
        ));
        let rows = sqlx::query(sql)
            .bind(limit as i64)
            .fetch_all(&self.pool)
            .await?;
        let mut runs = rows
            .iter()
            .map(Self::summary)
            .collect::<StoreResult<Vec<_>>>()?;
        if let Some(status) = status {
            runs.retain(|run| run.display_status() == status);
        }
        Ok(runs)
    }

    /// What a resumed run needs: its workflow text and origin, its variables
    /// and task.
    pub async fn run_definition(
        &self,
        run_id: &str,
    ) -> StoreResult<Option<(String, String, Value, Option<String>, String)>> {
        let row = sqlx::query("SELECT workflow_source, workflow_origin, vars, task_id, workspace FROM runs WHERE id = ?")
            .bind(run_id)
            .fetch_optional(&self.pool)
            .await?;
        let Some(row) = row else { return Ok(None) };
        Ok(Some((
            row.try_get("workflow_source")?,
            row.try_get("workflow_origin")?,
            json(&row, "vars")?.unwrap_or(Value::Null),
            row.try_get("task_id")?,
            row.try_get("workspace")?,
        )))
    }

    /// A run's steps, in workflow order.
    pub async fn steps(&self, run_id: &str) -> StoreResult<Vec<StepRecord>> {
        // A step's spend is what the costs table holds for it: AI steps and
        // built-in actions that call the AI (the development loop) alike.
        let rows = sqlx::query(
            "SELECT s.position, s.name, s.status, s.attempt, s.inputs, s.outputs, s.error, s.started_at, s.finished_at, \
             COALESCE((SELECT SUM(c.cost_usd) FROM costs c WHERE c.run_id = s.run_id AND c.step = s.name), s.cost_usd) AS cost_usd, \
             COALESCE((SELECT SUM(c.input_tokens + c.output_tokens) FROM costs c WHERE c.run_id = s.run_id AND c.step = s.name), s.tokens) AS tokens \
             FROM steps s WHERE s.run_id = ? ORDER BY s.position",
        )
            .bind(run_id)
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|row| {
                let status: String = row.try_get("status")?;
                let tokens: i64 = row.try_get("tokens")?;
                Ok(StepRecord {
                    position: row.try_get("position")?,
                    name: row.try_get("name")?,
                    status: StepStatus::parse(&status),
                    attempt: row.try_get("attempt")?,
                    inputs: json(row, "inputs")?,
                    outputs: json(row, "outputs")?,
                    error: row.try_get("error")?,
                    started_at: time(row, "started_at")?,
                    finished_at: optional_time(row, "finished_at")?,
                    cost_usd: row.try_get("cost_usd")?,
                    tokens: tokens.max(0) as u64,
                })
            })
            .collect()
    }

    /// A run with its steps and events.
    pub async fn run_detail(&self, run_id: &str) -> StoreResult<Option<RunDetail>> {
        let Some(run) = self.run(run_id).await? else {
            return Ok(None);
        };
        let vars = self
            .run_definition(run_id)
            .await?
            .map(|d| d.2)
            .unwrap_or(Value::Null);
        let steps = self.steps(run_id).await?;
        let rows = sqlx::query("SELECT * FROM events WHERE run_id = ? ORDER BY id")
            .bind(run_id)
            .fetch_all(&self.pool)
            .await?;
        let events = rows
            .iter()
            .map(|row| {
                Ok(EventRecord {
                    id: row.try_get("id")?,
                    step: row.try_get("step")?,
                    kind: row.try_get("kind")?,
                    data: json(row, "data")?.unwrap_or(Value::Null),
                    at: time(row, "at")?,
                })
            })
            .collect::<StoreResult<Vec<_>>>()?;
        Ok(Some(RunDetail {
            run,
            vars,
            steps,
            events,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A store written by an aido that knew only the first schema keeps its
    /// runs, steps, events and keys when a newer aido opens it.
    #[tokio::test]
    async fn a_store_of_the_first_schema_is_migrated_with_its_data() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("runs.db");
        {
            let options = SqliteConnectOptions::new()
                .filename(&path)
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal);
            let pool = SqlitePoolOptions::new()
                .max_connections(1)
                .connect_with(options)
                .await
                .unwrap();
            let first = Migrator::with_migrations(vec![Migration::new(
                1,
                Cow::Borrowed("runs, steps, events, costs, idempotency keys"),
                MigrationType::Simple,
                sqlx::SqlSafeStr::into_sql_str(include_str!("0001_init.sql")),
                false,
            )]);
            first.run(&pool).await.unwrap();
            sqlx::raw_sql(
                "INSERT INTO runs (id, workflow, workflow_origin, workflow_source, vars, status, workspace, created_at, updated_at)
                     VALUES ('r1', 'w', 'shipped', '', '{}', 'failed', '', '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z');
                 INSERT INTO steps (run_id, position, name, status, attempt, outputs, started_at, finished_at)
                     VALUES ('r1', 0, 'a', 'succeeded', 1, '{\"n\":1}', '2026-01-01T00:00:00Z', '2026-01-01T00:00:01Z');
                 INSERT INTO events (run_id, step, kind, data, at)
                     VALUES ('r1', 'a', 'step_succeeded', '{}', '2026-01-01T00:00:01Z');
                 INSERT INTO idempotency_keys (key, run_id, step, action, result, created_at)
                     VALUES ('r1:a', 'r1', 'a', 'add_comment', '{\"id\":\"c1\"}', '2026-01-01T00:00:01Z');",
            )
            .execute(&pool)
            .await
            .unwrap();
            pool.close().await;
        }
        let store = RunStore::open(&path).await.unwrap();
        let steps = store.steps("r1").await.unwrap();
        assert_eq!(steps.len(), 1);
        assert_eq!(steps[0].outputs, Some(serde_json::json!({"n": 1})));
        let detail = store.run_detail("r1").await.unwrap().unwrap();
        assert_eq!(detail.events.len(), 1);
        assert_eq!(
            store.idempotent_result("r1:a").await.unwrap(),
            Some(serde_json::json!({"id": "c1"}))
        );
        // New rows still get ids after the old ones.
        store
            .record_event("r1", None, "run_resumed", &serde_json::json!({}))
            .await
            .unwrap();
        let detail = store.run_detail("r1").await.unwrap().unwrap();
        assert!(detail.events[1].id > detail.events[0].id);
    }
}
