-- A deleted slot stays as a tombstone (deleted_at set) so the weekly
-- generator, keyed on starts_at, never recreates a slot an admin removed.
CREATE TABLE slots (
    id INTEGER PRIMARY KEY,
    starts_at BIGINT NOT NULL UNIQUE,
    ends_at BIGINT NOT NULL,
    capacity INTEGER NOT NULL CHECK (capacity >= 0),
    booked INTEGER NOT NULL DEFAULT 0 CHECK (booked >= 0 AND booked <= capacity),
    note TEXT NOT NULL DEFAULT '',
    active INTEGER NOT NULL DEFAULT 1,
    server_login TEXT NOT NULL DEFAULT '',
    server_password TEXT NOT NULL DEFAULT '',
    source TEXT NOT NULL DEFAULT 'manual',
    deleted_at BIGINT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    CHECK (ends_at > starts_at)
);
CREATE INDEX slots_ends_at ON slots (ends_at);

CREATE TABLE bookings (
    id INTEGER PRIMARY KEY,
    slot_id INTEGER NOT NULL REFERENCES slots (id),
    user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    status TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'cancelled', 'finished')),
    created_at BIGINT NOT NULL,
    cancelled_at BIGINT,
    cancelled_by INTEGER,
    cancel_reason TEXT NOT NULL DEFAULT '',
    finished_at BIGINT
);
CREATE UNIQUE INDEX bookings_one_active_per_slot ON bookings (slot_id, user_id) WHERE status = 'active';
CREATE INDEX bookings_user ON bookings (user_id, status);
CREATE INDEX bookings_slot ON bookings (slot_id, status);
