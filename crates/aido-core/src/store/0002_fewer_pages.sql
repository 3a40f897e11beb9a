-- Fewer pages written per step. Every step's commit writes its pages to
-- the write-ahead log, and that write is most of a commit's cost:
-- - steps and idempotency_keys are clustered on their primary key
--   (WITHOUT ROWID), so a row and its key live in one B-tree, not two;
-- - events lose AUTOINCREMENT, whose counter is one more page per insert.
--   Events are never deleted, so ids still only grow.

CREATE TABLE steps_v2 (
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
) WITHOUT ROWID;
INSERT INTO steps_v2 (run_id, position, name, status, attempt, inputs, outputs, error, started_at, finished_at, cost_usd, tokens)
    SELECT run_id, position, name, status, attempt, inputs, outputs, error, started_at, finished_at, cost_usd, tokens FROM steps;
DROP TABLE steps;
ALTER TABLE steps_v2 RENAME TO steps;

CREATE TABLE events_v2 (
    id     INTEGER PRIMARY KEY,
    run_id TEXT NOT NULL REFERENCES runs (id),
    step   TEXT,
    kind   TEXT NOT NULL,
    data   TEXT NOT NULL,                    -- JSON
    at     TEXT NOT NULL
);
INSERT INTO events_v2 (id, run_id, step, kind, data, at) SELECT id, run_id, step, kind, data, at FROM events;
DROP TABLE events;
ALTER TABLE events_v2 RENAME TO events;
CREATE INDEX events_run ON events (run_id, id);

CREATE TABLE idempotency_keys_v2 (
    key        TEXT PRIMARY KEY,
    run_id     TEXT NOT NULL REFERENCES runs (id),
    step       TEXT NOT NULL,
    action     TEXT NOT NULL,
    result     TEXT NOT NULL,                -- JSON
    created_at TEXT NOT NULL
) WITHOUT ROWID;
INSERT INTO idempotency_keys_v2 (key, run_id, step, action, result, created_at)
    SELECT key, run_id, step, action, result, created_at FROM idempotency_keys;
DROP TABLE idempotency_keys;
ALTER TABLE idempotency_keys_v2 RENAME TO idempotency_keys;
