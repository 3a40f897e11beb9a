//! The engine's state changes (a run created or ended, a step started or
//! ended, an event), as rows that the group-commit writer merges and
//! commits with one statement per kind of row.
//!
//! Why rows and not SQL: sqlx runs each statement as a round trip to
//! SQLite's worker thread, and a step's end touches three tables. The
//! writer sends the rows of every change waiting for it as JSON arrays to
//! a cached multi-statement query (`json_each` unpacks them), so
//! a commit is one round trip and no parsing, however many changes it
//! carries. Values are bound, never spliced into SQL text.

use serde::Serialize;

/// The rows one or more state changes add, in the order they were made.
#[derive(Debug, Default)]
pub(super) struct Changes {
    /// Steps that started and are still running.
    starts: Vec<StepStarted>,
    /// Steps that started and ended within one change.
    completions: Vec<StepCompleted>,
    /// Ends of steps whose start was written earlier.
    finishes: Vec<StepFinished>,
    /// Events.
    events: Vec<Event>,
    /// Idempotency keys of side effects made.
    keys: Vec<IdempotencyKey>,
    /// Runs that ended.
    finished_runs: Vec<RunFinished>,
    /// Runs created, holding their lease.
    created_runs: Vec<RunCreated>,
}

/// A step's start.
#[derive(Debug, Serialize)]
pub(super) struct StepStarted {
    pub run_id: String,
    pub position: i64,
    pub name: String,
    pub attempt: i64,
    pub inputs: Option<String>,
    pub started_at: String,
}

/// How a step ended.
#[derive(Debug, Serialize)]
pub(super) struct StepEnd {
    pub status: &'static str,
    pub outputs: Option<String>,
    pub error: Option<String>,
    pub finished_at: String,
    pub cost_usd: f64,
    pub tokens: i64,
}

/// A step that started and ended in one change: one row written once.
#[derive(Debug, Serialize)]
pub(super) struct StepCompleted {
    #[serde(flatten)]
    pub start: StepStarted,
    #[serde(flatten)]
    pub end: StepEnd,
}

/// The end of a step whose start is already written.
#[derive(Debug, Serialize)]
pub(super) struct StepFinished {
    pub run_id: String,
    pub name: String,
    #[serde(flatten)]
    pub end: StepEnd,
}

/// An event of a run.
#[derive(Debug, Serialize)]
pub(super) struct Event {
    pub run_id: String,
    pub step: Option<String>,
    pub kind: String,
    pub data: String,
    pub at: String,
}

/// A side effect's idempotency key and the result it gave.
#[derive(Debug, Serialize)]
pub(super) struct IdempotencyKey {
    pub key: String,
    pub run_id: String,
    pub step: String,
    pub action: String,
    pub result: String,
    pub created_at: String,
}

/// A new run, running and leased by its owner until `lease_expires_at`
/// (unix milliseconds).
#[derive(Debug, Serialize)]
pub(super) struct RunCreated {
    pub id: String,
    pub workflow: String,
    pub workflow_origin: String,
    pub workflow_source: String,
    pub task_id: Option<String>,
    pub vars: String,
    pub workspace: String,
    pub at: String,
    pub lease_owner: String,
    pub lease_expires_at: i64,
}

/// A run's end: its status and error; its lease is released.
#[derive(Debug, Serialize)]
pub(super) struct RunFinished {
    pub id: String,
    pub status: &'static str,
    pub error: Option<String>,
    pub at: String,
}

/// The statements that commit [`Changes`], one per kind of row; `$1` to
/// `$7` are JSON arrays of starts, completions, finishes, events, keys,
/// finished runs and created runs. Within one commit new runs are written
/// first (their steps and events refer to them), then the tables in that
/// order, which keeps each run's own order: a step's start always comes
/// before its end, and a change whose end belongs to the same row as a
/// later change is always waited for before that later change is made.
///
/// `WHERE true` is SQLite's documented way to let an upsert follow a
/// `SELECT`.
const STATEMENTS: [&str; 7] = [
    "INSERT INTO runs (id, workflow, workflow_origin, workflow_source, task_id, vars, status, workspace,
        created_at, updated_at, lease_owner, lease_expires_at)
    SELECT value ->> 'id', value ->> 'workflow', value ->> 'workflow_origin', value ->> 'workflow_source',
        value ->> 'task_id', value ->> 'vars', 'running', value ->> 'workspace', value ->> 'at', value ->> 'at',
        value ->> 'lease_owner', value ->> 'lease_expires_at'
    FROM json_each($7);",
    "INSERT INTO steps (run_id, position, name, status, attempt, inputs, started_at)
    SELECT value ->> 'run_id', value ->> 'position', value ->> 'name', 'running', value ->> 'attempt',
        value ->> 'inputs', value ->> 'started_at'
    FROM json_each($1) WHERE true
    ON CONFLICT (run_id, name) DO UPDATE SET status = 'running', attempt = excluded.attempt, inputs = excluded.inputs,
        outputs = NULL, error = NULL, started_at = excluded.started_at, finished_at = NULL;",
    "INSERT INTO steps (run_id, position, name, status, attempt, inputs, outputs, error, started_at, finished_at, cost_usd, tokens)
    SELECT value ->> 'run_id', value ->> 'position', value ->> 'name', value ->> 'status', value ->> 'attempt',
        value ->> 'inputs', value ->> 'outputs', value ->> 'error', value ->> 'started_at', value ->> 'finished_at',
        COALESCE(value ->> 'cost_usd', 0.0), value ->> 'tokens'
    FROM json_each($2) WHERE true
    ON CONFLICT (run_id, name) DO UPDATE SET status = excluded.status, attempt = excluded.attempt, inputs = excluded.inputs,
        outputs = excluded.outputs, error = excluded.error, started_at = excluded.started_at, finished_at = excluded.finished_at,
        cost_usd = excluded.cost_usd, tokens = excluded.tokens;",
    "UPDATE steps SET status = f.status, outputs = f.outputs, error = f.error, finished_at = f.finished_at,
        cost_usd = f.cost_usd, tokens = f.tokens
    FROM (SELECT value ->> 'run_id' AS run_id, value ->> 'name' AS name, value ->> 'status' AS status,
            value ->> 'outputs' AS outputs, value ->> 'error' AS error, value ->> 'finished_at' AS finished_at,
            COALESCE(value ->> 'cost_usd', 0.0) AS cost_usd, value ->> 'tokens' AS tokens
        FROM json_each($3)) AS f
    WHERE steps.run_id = f.run_id AND steps.name = f.name;",
    "INSERT INTO events (run_id, step, kind, data, at)
    SELECT value ->> 'run_id', value ->> 'step', value ->> 'kind', value ->> 'data', value ->> 'at'
    FROM json_each($4);",
    "INSERT INTO idempotency_keys (key, run_id, step, action, result, created_at)
    SELECT value ->> 'key', value ->> 'run_id', value ->> 'step', value ->> 'action', value ->> 'result', value ->> 'created_at'
    FROM json_each($5) WHERE true
    ON CONFLICT (key) DO UPDATE SET result = excluded.result;",
    "UPDATE runs SET status = f.status, error = f.error, finished_at = f.at, updated_at = f.at,
        lease_owner = NULL, lease_expires_at = NULL
    FROM (SELECT value ->> 'id' AS id, value ->> 'status' AS status, value ->> 'error' AS error,
            value ->> 'at' AS at
        FROM json_each($6)) AS f
    WHERE runs.id = f.id;",
];

/// One query per combination of kinds of rows present, so a commit runs
/// only the statements it has rows for (each statement costs a message
/// back from SQLite's worker thread). Each text is prepared once, then
/// served from sqlx's statement cache; parameters keep their numbers, so
/// every query is bound the same way.
static QUERIES: std::sync::LazyLock<Vec<String>> = std::sync::LazyLock::new(|| {
    (0..1usize << STATEMENTS.len())
        .map(|present| {
            let mut query = String::from("BEGIN IMMEDIATE;\n");
            for (i, statement) in STATEMENTS.iter().enumerate() {
                if present & (1 << i) != 0 {
                    query.push_str(statement);
                    query.push('\n');
                }
            }
            query.push_str("COMMIT;");
            query
        })
        .collect()
});

impl Changes {
    /// A step's start.
    pub(super) fn start(&mut self, start: StepStarted) {
        self.starts.push(start);
    }

    /// A step started and ended in one change.
    pub(super) fn complete(&mut self, start: StepStarted, end: StepEnd) {
        self.completions.push(StepCompleted { start, end });
    }

    /// A started step's end.
    pub(super) fn finish(&mut self, run_id: &str, name: &str, end: StepEnd) {
        self.finishes.push(StepFinished {
            run_id: run_id.to_owned(),
            name: name.to_owned(),
            end,
        });
    }

    /// An event.
    pub(super) fn event(&mut self, event: Event) {
        self.events.push(event);
    }

    /// A side effect's key.
    pub(super) fn key(&mut self, key: IdempotencyKey) {
        self.keys.push(key);
    }

    /// A run's end.
    pub(super) fn finish_run(&mut self, run: RunFinished) {
        self.finished_runs.push(run);
    }

    /// A new run.
    pub(super) fn create_run(&mut self, run: RunCreated) {
        self.created_runs.push(run);
    }

    /// The query that commits `all` the changes.
    pub(super) fn query(all: &[&Changes]) -> &'static str {
        let present = |has: fn(&Changes) -> bool| usize::from(all.iter().any(|c| has(c)));
        let index = present(|c| !c.created_runs.is_empty())
            | present(|c| !c.starts.is_empty()) << 1
            | present(|c| !c.completions.is_empty()) << 2
            | present(|c| !c.finishes.is_empty()) << 3
            | present(|c| !c.events.is_empty()) << 4
            | present(|c| !c.keys.is_empty()) << 5
            | present(|c| !c.finished_runs.is_empty()) << 6;
        QUERIES[index].as_str()
    }

    /// The JSON arrays bound to [`query`](Self::query) for `all` the
    /// changes, in order.
    pub(super) fn parameters(all: &[&Changes]) -> serde_json::Result<[String; 7]> {
        Ok([
            json_array(all, |c| &c.starts)?,
            json_array(all, |c| &c.completions)?,
            json_array(all, |c| &c.finishes)?,
            json_array(all, |c| &c.events)?,
            json_array(all, |c| &c.keys)?,
            json_array(all, |c| &c.finished_runs)?,
            json_array(all, |c| &c.created_runs)?,
        ])
    }
}

/// One JSON array of the rows `rows` picks from each of `all`.
fn json_array<T: Serialize>(
    all: &[&Changes],
    rows: impl Fn(&Changes) -> &Vec<T>,
) -> serde_json::Result<String> {
    let mut out = Vec::with_capacity(64);
    out.push(b'[');
    let mut first = true;
    for row in all.iter().flat_map(|changes| rows(changes)) {
        if !first {
            out.push(b',');
        }
        first = false;
        serde_json::to_writer(&mut out, row)?;
    }
    out.push(b']');
    // serde_json writes UTF-8 only.
    String::from_utf8(out).map_err(|err| serde::ser::Error::custom(err.to_string()))
}
