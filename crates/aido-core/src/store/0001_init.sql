-- The durable run store. Every run, step, event, cost and idempotency key is
-- written here before the next step starts.

CREATE TABLE runs (
    id               TEXT PRIMARY KEY,
    workflow         TEXT NOT NULL,
    workflow_origin  TEXT NOT NULL,
    -- The workflow's text when the run started: a resumed run follows the
    -- definition it started with, even if the file changed since.
    workflow_source  TEXT NOT NULL,
    task_id          TEXT,
    vars             TEXT NOT NULL,          -- JSON object
    status           TEXT NOT NULL,          -- running | succeeded | failed | cancelled | rolled_back
    error            TEXT,
    workspace        TEXT NOT NULL,
    created_at       TEXT NOT NULL,          -- RFC 3339
    updated_at       TEXT NOT NULL,
    finished_at      TEXT,
    lease_owner      TEXT,
    lease_expires_at INTEGER,                -- unix milliseconds
    cancel_requested INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX runs_status ON runs (status, created_at);

CREATE TABLE steps (
    run_id      TEXT NOT NULL REFERENCES runs (id),
    position    INTEGER NOT NULL,
    name        TEXT NOT NULL,
    status      TEXT NOT NULL,               -- running | succeeded | failed | skipped | rolled_back
    attempt     INTEGER NOT NULL,
    inputs      TEXT,                        -- JSON
    outputs     TEXT,                        -- JSON
    error       TEXT,
    started_at  TEXT NOT NULL,
    finished_at TEXT,
    cost_usd    REAL NOT NULL DEFAULT 0,
    tokens      INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (run_id, name)
);

CREATE TABLE events (
    id     INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id TEXT NOT NULL REFERENCES runs (id),
    step   TEXT,
    kind   TEXT NOT NULL,
    data   TEXT NOT NULL,                    -- JSON
    at     TEXT NOT NULL
);
CREATE INDEX events_run ON events (run_id, id);

CREATE TABLE costs (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id        TEXT NOT NULL REFERENCES runs (id),
    step          TEXT NOT NULL,
    workflow      TEXT NOT NULL,
    provider      TEXT NOT NULL,
    model         TEXT NOT NULL,
    input_tokens  INTEGER NOT NULL,
    output_tokens INTEGER NOT NULL,
    cost_usd      REAL NOT NULL,
    month         TEXT NOT NULL,             -- YYYY-MM, for budgets
    at            TEXT NOT NULL
);
CREATE INDEX costs_month ON costs (month);
CREATE INDEX costs_run ON costs (run_id);

CREATE TABLE idempotency_keys (
    key        TEXT PRIMARY KEY,
    run_id     TEXT NOT NULL REFERENCES runs (id),
    step       TEXT NOT NULL,
    action     TEXT NOT NULL,
    result     TEXT NOT NULL,                -- JSON
    created_at TEXT NOT NULL
);
