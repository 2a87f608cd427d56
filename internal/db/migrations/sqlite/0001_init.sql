-- Times are Unix milliseconds (UTC) in both dialects, so the same Go code
-- reads and writes them; the school zone is applied only when showing them.
CREATE TABLE users (
    id INTEGER PRIMARY KEY,
    email TEXT NOT NULL UNIQUE,
    first_name TEXT NOT NULL DEFAULT '',
    last_name TEXT NOT NULL DEFAULT '',
    phone TEXT NOT NULL DEFAULT '',
    role TEXT NOT NULL DEFAULT 'student' CHECK (role IN ('student', 'admin', 'super_admin')),
    password_hash TEXT NOT NULL DEFAULT '',
    paid INTEGER NOT NULL DEFAULT 0,
    active INTEGER NOT NULL DEFAULT 1,
    deactivated_by_admin INTEGER NOT NULL DEFAULT 0,
    booking_limit INTEGER NOT NULL DEFAULT 3,
    getcourse_user_id TEXT NOT NULL DEFAULT '',
    paid_at BIGINT,
    last_login_at BIGINT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX users_getcourse_user_id ON users (getcourse_user_id) WHERE getcourse_user_id <> '';

CREATE TABLE password_tokens (
    id INTEGER PRIMARY KEY,
    token_hash TEXT NOT NULL UNIQUE,
    user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    purpose TEXT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at BIGINT,
    created_at BIGINT NOT NULL
);

CREATE TABLE settings (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL,
    secret INTEGER NOT NULL DEFAULT 0,
    updated_at BIGINT NOT NULL,
    updated_by INTEGER
);

CREATE TABLE webhook_events (
    id INTEGER PRIMARY KEY,
    received_at BIGINT NOT NULL,
    method TEXT NOT NULL,
    path TEXT NOT NULL,
    remote_addr TEXT NOT NULL DEFAULT '',
    content_type TEXT NOT NULL DEFAULT '',
    headers TEXT NOT NULL DEFAULT '{}',
    query TEXT NOT NULL DEFAULT '',
    body TEXT NOT NULL DEFAULT '',
    body_size INTEGER NOT NULL DEFAULT 0,
    auth TEXT NOT NULL,
    outcome TEXT NOT NULL,
    http_status INTEGER NOT NULL,
    reason TEXT NOT NULL DEFAULT '',
    event TEXT NOT NULL DEFAULT '',
    email TEXT NOT NULL DEFAULT '',
    idempotency_key TEXT UNIQUE,
    duplicate_of INTEGER,
    payload TEXT NOT NULL DEFAULT '',
    state TEXT NOT NULL DEFAULT '',
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT NOT NULL DEFAULT '',
    result TEXT NOT NULL DEFAULT '',
    processed_at BIGINT
);
CREATE INDEX webhook_events_received_at ON webhook_events (received_at);
CREATE INDEX webhook_events_outcome ON webhook_events (outcome, received_at);
CREATE INDEX webhook_events_email ON webhook_events (email);
CREATE INDEX webhook_events_state ON webhook_events (state);

CREATE TABLE deals (
    id INTEGER PRIMARY KEY,
    deal_key TEXT NOT NULL UNIQUE,
    getcourse_deal_id TEXT NOT NULL DEFAULT '',
    deal_number TEXT NOT NULL DEFAULT '',
    user_id INTEGER REFERENCES users (id) ON DELETE SET NULL,
    email TEXT NOT NULL DEFAULT '',
    status TEXT NOT NULL DEFAULT '',
    paid INTEGER NOT NULL DEFAULT 0,
    cost TEXT NOT NULL DEFAULT '',
    product_title TEXT NOT NULL DEFAULT '',
    offer_code TEXT NOT NULL DEFAULT '',
    last_event_id INTEGER,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX deals_user_id ON deals (user_id);

CREATE TABLE jobs (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL,
    payload TEXT NOT NULL DEFAULT '{}',
    unique_key TEXT UNIQUE,
    state TEXT NOT NULL DEFAULT 'queued',
    attempts INTEGER NOT NULL DEFAULT 0,
    max_attempts INTEGER NOT NULL DEFAULT 10,
    run_at BIGINT NOT NULL,
    locked_by TEXT NOT NULL DEFAULT '',
    locked_until BIGINT NOT NULL DEFAULT 0,
    last_error TEXT NOT NULL DEFAULT '',
    created_at BIGINT NOT NULL,
    finished_at BIGINT
);
CREATE INDEX jobs_ready ON jobs (state, run_at);

CREATE TABLE mail_outbox (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL,
    to_email TEXT NOT NULL,
    to_name TEXT NOT NULL DEFAULT '',
    user_id INTEGER REFERENCES users (id) ON DELETE SET NULL,
    data TEXT NOT NULL DEFAULT '{}',
    dedupe_key TEXT UNIQUE,
    status TEXT NOT NULL DEFAULT 'queued',
    subject TEXT NOT NULL DEFAULT '',
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT NOT NULL DEFAULT '',
    created_at BIGINT NOT NULL,
    sent_at BIGINT
);
CREATE INDEX mail_outbox_status ON mail_outbox (status, created_at);

CREATE TABLE notices (
    id INTEGER PRIMARY KEY,
    user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    title TEXT NOT NULL,
    body TEXT NOT NULL DEFAULT '',
    created_at BIGINT NOT NULL,
    read_at BIGINT
);
CREATE INDEX notices_user ON notices (user_id, created_at);
