-- Every outbound GetCourse API call, for the admin panel next to the webhook
-- log. The URL is stored without the key; nothing here may hold a secret.
CREATE TABLE getcourse_calls (
    id INTEGER PRIMARY KEY,
    account TEXT NOT NULL DEFAULT '',
    op TEXT NOT NULL,
    method TEXT NOT NULL,
    url TEXT NOT NULL,
    started_at BIGINT NOT NULL,
    duration_ms BIGINT NOT NULL DEFAULT 0,
    http_status INTEGER NOT NULL DEFAULT 0,
    ok INTEGER NOT NULL DEFAULT 0,
    error_kind TEXT NOT NULL DEFAULT '',
    error_code INTEGER NOT NULL DEFAULT 0,
    message TEXT NOT NULL DEFAULT '',
    detail TEXT NOT NULL DEFAULT ''
);
CREATE INDEX getcourse_calls_started_at ON getcourse_calls (started_at);

-- The Export API allowance (100 requests per 2 hours per account) is shared
-- by every process on this database. getcourse_budget holds one row per
-- account that a Take locks (FOR UPDATE on PostgreSQL; SQLite serialises
-- writers), so counting and recording a request cannot interleave.
CREATE TABLE getcourse_budget (
    account TEXT PRIMARY KEY
);
CREATE TABLE getcourse_budget_requests (
    id INTEGER PRIMARY KEY,
    account TEXT NOT NULL,
    taken_at BIGINT NOT NULL
);
CREATE INDEX getcourse_budget_requests_account ON getcourse_budget_requests (account, taken_at);

-- The export being built for an account, so that a restart polls it again
-- instead of starting a second one (GetCourse builds one at a time and every
-- request costs allowance). window_to becomes the sync cursor once consumed.
CREATE TABLE getcourse_exports (
    account TEXT NOT NULL,
    kind TEXT NOT NULL,
    export_id BIGINT NOT NULL,
    window_from BIGINT NOT NULL,
    window_to BIGINT NOT NULL,
    started_at BIGINT NOT NULL,
    polls INTEGER NOT NULL DEFAULT 0,
    last_polled_at BIGINT,
    next_poll_at BIGINT NOT NULL,
    PRIMARY KEY (account, kind)
);

-- Sync progress per account: the cursor, the last run and its outcome, and a
-- short lease so that the server's jobs and a CLI run never step at once.
CREATE TABLE getcourse_sync (
    account TEXT PRIMARY KEY,
    cursor_at BIGINT,
    last_run_at BIGINT,
    last_finished_at BIGINT,
    last_ok_at BIGINT,
    state TEXT NOT NULL DEFAULT 'idle',
    message TEXT NOT NULL DEFAULT '',
    error_kind TEXT NOT NULL DEFAULT '',
    retry_at BIGINT,
    rows_found INTEGER NOT NULL DEFAULT 0,
    events_new INTEGER NOT NULL DEFAULT 0,
    events_known INTEGER NOT NULL DEFAULT 0,
    rows_skipped INTEGER NOT NULL DEFAULT 0,
    lock_owner TEXT NOT NULL DEFAULT '',
    lock_until BIGINT NOT NULL DEFAULT 0,
    updated_at BIGINT NOT NULL
);
