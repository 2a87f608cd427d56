-- Issue 15: server access that begins and ends with the booking (SPEC §7).
-- One row per grant of a booking's access: a booking granted again after a
-- revoke (a refund reversed mid-slot) gets a new row with the next seq. The
-- rows have no foreign key to bookings or users on purpose: a booking or a
-- user deleted while access is open must still have its access revoked, so
-- the grant outlives them and keeps what the revoke needs (login, provider).
CREATE TABLE access_grants (
    id INTEGER PRIMARY KEY,
    booking_id BIGINT NOT NULL,
    seq INTEGER NOT NULL DEFAULT 0,
    user_id BIGINT NOT NULL,
    slot_id BIGINT NOT NULL,
    provider TEXT NOT NULL,
    login TEXT NOT NULL DEFAULT '',
    -- pending: to grant; granted: open; revoking: to take back; revoked: done.
    state TEXT NOT NULL CHECK (state IN ('pending', 'granted', 'revoking', 'revoked')),
    credentials TEXT NOT NULL DEFAULT '',
    starts_at BIGINT NOT NULL,
    ends_at BIGINT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_at BIGINT NOT NULL,
    lease_until BIGINT NOT NULL DEFAULT 0,
    last_error TEXT NOT NULL DEFAULT '',
    alerted_at BIGINT,
    revoke_reason TEXT NOT NULL DEFAULT '',
    granted_at BIGINT,
    revoked_at BIGINT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    UNIQUE (booking_id, seq)
);
-- The reconciler's work: rows not yet revoked. Revoked rows are history.
CREATE INDEX access_grants_open ON access_grants (state, next_at) WHERE state <> 'revoked';
CREATE INDEX access_grants_user ON access_grants (user_id, id);
-- What the reconciler promises, kept by the database too: one open grant
-- per booking, and a pool account held by one open grant at a time.
CREATE UNIQUE INDEX access_grants_one_open ON access_grants (booking_id) WHERE state <> 'revoked';
CREATE UNIQUE INDEX access_grants_login_held ON access_grants (login) WHERE state <> 'revoked' AND login <> '';

-- Every grant and revoke call and its outcome, for the admin's history.
CREATE TABLE access_attempts (
    id INTEGER PRIMARY KEY,
    grant_id BIGINT NOT NULL REFERENCES access_grants (id) ON DELETE CASCADE,
    booking_id BIGINT NOT NULL,
    action TEXT NOT NULL CHECK (action IN ('grant', 'revoke')),
    ok INTEGER NOT NULL,
    message TEXT NOT NULL DEFAULT '',
    duration_ms BIGINT NOT NULL DEFAULT 0,
    at BIGINT NOT NULL
);
CREATE INDEX access_attempts_booking ON access_attempts (booking_id, id);
CREATE INDEX access_attempts_at ON access_attempts (at);
