-- Sessions live in the database so that every instance sees them and a
-- deactivated or demoted user loses access on the next request. Only the
-- SHA-256 of the session token is stored.
CREATE TABLE sessions (
    id TEXT PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    csrf_token TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    last_seen_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    ip TEXT NOT NULL DEFAULT '',
    user_agent TEXT NOT NULL DEFAULT ''
);
CREATE INDEX sessions_user ON sessions (user_id);
CREATE INDEX sessions_expires ON sessions (expires_at);

-- Failed sign-ins per key (an email or an IP address) in the current window.
CREATE TABLE login_failures (
    key TEXT PRIMARY KEY,
    failures INTEGER NOT NULL,
    window_start BIGINT NOT NULL
);

-- Lower-cased email, names and phone, written by Go: SQLite's LOWER() and
-- LIKE fold only ASCII, and admins search Cyrillic names.
ALTER TABLE users ADD COLUMN search TEXT NOT NULL DEFAULT '';
