-- Issue 17: the audit trail (who changed what, what the system did), kept a
-- year, and an admin's note on a booking. actor is a user id or 0 for the
-- system; actor_name is kept as it was, so an entry still says who after the
-- account is renamed or deleted.
CREATE TABLE audit_log (
    id INTEGER PRIMARY KEY,
    at BIGINT NOT NULL,
    actor BIGINT NOT NULL DEFAULT 0,
    actor_name TEXT NOT NULL DEFAULT '',
    action TEXT NOT NULL,
    target TEXT NOT NULL DEFAULT '',
    summary TEXT NOT NULL DEFAULT '',
    -- target and summary lowered by the program, for the text filter:
    -- SQLite's LOWER folds Latin letters only.
    search TEXT NOT NULL DEFAULT ''
);
CREATE INDEX audit_log_at ON audit_log (at);
CREATE INDEX audit_log_action_at ON audit_log (action, at);
CREATE INDEX audit_log_actor_at ON audit_log (actor, at);

ALTER TABLE bookings ADD COLUMN notes TEXT NOT NULL DEFAULT '';
